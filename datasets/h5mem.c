/* h5mem.c - HDF5 files built in memory and written whole (see h5mem.h). */
#include "h5mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

hid_t cpo_h5mem_create(const char *name, hid_t fcpl)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fid = -1;
    /* Grow the image 1 MiB at a time; no backing store: no I/O. */
    /* The library's default format bounds: HDF5 1.10's H5Fget_file_image
     * writes a wrong checksum into the version 2 superblock that a low
     * bound of 1.8 brings (the image does not open); objects that need a
     * later format (creation-order groups) still get it. */
    if (fapl >= 0 && H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) >= 0 &&
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        fid = H5Fcreate(name, H5F_ACC_TRUNC, fcpl, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return fid;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int cpo_h5mem_write_close(hid_t fid, const char *path, int sync, cpo_error *err)
{
    int rc = 0;
    char *buf = NULL;
    ssize_t size = -1;
    if (H5Fflush(fid, H5F_SCOPE_GLOBAL) < 0 || (size = H5Fget_file_image(fid, NULL, 0)) <= 0) {
        rc = cpo_error_set(err, CPO_EIO, path, 0, 0,
                           "cannot make the file's bytes (expected an HDF5 file in memory)");
        goto done;
    }
    if (!(buf = malloc((size_t)size))) {
        rc = cpo_error_set(err, CPO_ENOMEM, path, 0, 0, "out of memory");
        goto done;
    }
    if (H5Fget_file_image(fid, buf, (size_t)size) != size) {
        rc = cpo_error_set(err, CPO_EIO, path, 0, 0,
                           "cannot make the file's bytes (expected an HDF5 file in memory)");
        goto done;
    }
    /* Free the library's copy before ours goes out. */
    H5Fclose(fid);
    fid = -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || write_all(fd, buf, (size_t)size) < 0 || (sync && fsync(fd) < 0)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        rc = cpo_error_set(err, CPO_EIO, path, 0, 0,
                           "cannot write: %s (expected a writable folder with free space)",
                           strerror(e));
        goto done;
    }
    if (close(fd) < 0)
        rc = cpo_error_set(err, CPO_EIO, path, 0, 0,
                           "cannot write: %s (expected a writable folder with free space)",
                           strerror(errno));
done:
    if (fid >= 0)
        H5Fclose(fid);
    free(buf);
    return rc;
}
