/*
 * outfile.h - what every command that writes a folder shares: temporary
 * names unique to the process, and one writer per folder.
 *
 *   cpo_tmp_path    "<final>.tmp.<pid>": a file is written there and
 *                   renamed to its final name when whole, so two processes
 *                   never write the same temporary file
 *   cpo_dirlock_*   an exclusive flock(2) on DIR/.cpo.lock, taken without
 *                   waiting: a second writer of the folder is refused at
 *                   once with the folder's name; the lock file is removed
 *                   when released (and the lock goes with the process)
 *
 * Private to libcpo and the cpo program.
 */
#ifndef CPO_OUTFILE_H
#define CPO_OUTFILE_H

#include <stddef.h>

#include "cpo/error.h"

/* "<final>.tmp.<pid>" into buf; -1 if it does not fit. */
int cpo_tmp_path(char *buf, size_t n, const char *final);

/* ".tmp.<pid>", the suffix cpo_tmp_path adds. */
void cpo_tmp_suffix(char *buf, size_t n);

#define CPO_DIRLOCK_NAME ".cpo.lock"

typedef struct cpo_dirlock {
    int fd;          /* -1: not held */
    char path[1100]; /* DIR/.cpo.lock */
} cpo_dirlock;

/* Not held (fd -1); cpo_dirlock_release of it is a no-op. */
void cpo_dirlock_init(cpo_dirlock *l);

/*
 * Lock dir (which must exist) for this process.  CPO_EBUSY when another
 * process holds it:
 *   DIR: another cpo is writing this folder (expected one writer per
 *   folder: wait for it to finish, or write to another folder)
 * CPO_EIO when the lock file cannot be made.
 */
int cpo_dirlock_take(cpo_dirlock *l, const char *dir, cpo_error *err);

/* Remove the lock file and let go.  NULL or not held: a no-op. */
void cpo_dirlock_release(cpo_dirlock *l);

#endif
