/* outfile.c - temporary names and folder locks (see outfile.h). */
#define _DEFAULT_SOURCE
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int cpo_tmp_path(char *buf, size_t n, const char *final)
{
    int k = snprintf(buf, n, "%s.tmp.%ld", final, (long)getpid());
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

void cpo_tmp_suffix(char *buf, size_t n)
{
    snprintf(buf, n, ".tmp.%ld", (long)getpid());
}

void cpo_dirlock_init(cpo_dirlock *l)
{
    l->fd = -1;
    l->path[0] = '\0';
}

int cpo_dirlock_take(cpo_dirlock *l, const char *dir, cpo_error *err)
{
    cpo_dirlock_init(l);
    if (snprintf(l->path, sizeof l->path, "%s/%s", dir, CPO_DIRLOCK_NAME) >= (int)sizeof l->path)
        return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected < 1024 bytes)");
    /* The file may be removed by the writer before us between our open
     * and our lock: then the lock is on a file nobody else sees, so take
     * it again on the one that is there. */
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return cpo_error_set(err, CPO_EIO, dir, 0, 0,
                                 "cannot make the lock file %s: %s (expected a writable folder)",
                                 CPO_DIRLOCK_NAME, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return cpo_error_set(err, CPO_EBUSY, dir, 0, 0,
                                     "another cpo is writing this folder (expected one writer per "
                                     "folder: wait for it to finish, or write to another folder)");
            return cpo_error_set(err, CPO_EIO, dir, 0, 0, "cannot lock %s: %s", CPO_DIRLOCK_NAME,
                                 strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            l->fd = fd;
            return 0;
        }
        close(fd);
    }
    return cpo_error_set(err, CPO_EBUSY, dir, 0, 0,
                         "another cpo is writing this folder (expected one writer per folder: "
                         "wait for it to finish, or write to another folder)");
}

void cpo_dirlock_release(cpo_dirlock *l)
{
    if (!l || l->fd < 0)
        return;
    unlink(l->path);
    close(l->fd);
    l->fd = -1;
}
