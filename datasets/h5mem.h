/*
 * h5mem.h - HDF5 files written whole: built in memory, then written out.
 * Private to libcpo (the store, datasets/store.c, and a run's ledger.h5,
 * reports/ledger_out.c).
 *
 * Why: in HDF5 1.10 a H5Fclose that fails (a write refused: disk full,
 * file size limit) leaves the file's id pointing at freed memory; the
 * library touches it again at exit (or at the next H5Fget_obj_count) and
 * the process crashes.  A file in memory (the core driver without a
 * backing store) makes HDF5 do no I/O at all, so its close cannot fail
 * for want of space; the bytes are then written with plain write(2),
 * whose errors are ours to report.  The memory held is the file's size
 * (compressed columns).
 */
#ifndef CPO_H5MEM_H
#define CPO_H5MEM_H

#include <hdf5.h>

#include "cpo/error.h"

/* A new empty HDF5 file in memory, named name (the name is only an
 * identifier until cpo_h5mem_write_close), with the file creation
 * properties fcpl (or H5P_DEFAULT), the library's default format bounds
 * and the strong close degree.  A negative id on failure. */
hid_t cpo_h5mem_create(const char *name, hid_t fcpl);

/*
 * Flush fid, write its bytes to path (created or truncated, 0666 less the
 * umask; fsync'd when sync is set), and close fid.  fid is closed whatever happens (a file
 * in memory closes without I/O).  On failure path may hold part of the
 * bytes: the caller removes it.  Errors: CPO_EIO with path and the reason
 * ("cannot write: No space left on device (expected a writable folder with
 * free space)"), CPO_ENOMEM.
 */
int cpo_h5mem_write_close(hid_t fid, const char *path, int sync, cpo_error *err);

#endif
