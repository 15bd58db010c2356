/*
 * sidejob.h - one piece of work beside the caller's: started on a thread
 * of its own, joined later with its error; run in line at the join when
 * no thread can be made (and then only if the caller's own work
 * succeeded).  Whichever way it ran, the caller reports the error its
 * own order gives: its own first.  And work shared among the cores
 * (cpo_on_cores).  Private to libcpo.
 */
#ifndef CPO_SIDEJOB_H
#define CPO_SIDEJOB_H

#include <pthread.h>

#include "cpo/error.h"

typedef struct cpo_side_job {
    int (*fn)(void *ctx, cpo_error *err);
    void *ctx;
    int rc;
    cpo_error err;
    pthread_t th;
    int threaded;
} cpo_side_job;

/* Start fn(ctx, &j->err) on a thread (fn NULL: nothing to do). */
void cpo_side_start(cpo_side_job *j, int (*fn)(void *ctx, cpo_error *err), void *ctx);

/* fn(ctx, &j->err) set up to run at the join, on the caller's thread
 * (work too small to pay for a thread; fn NULL: nothing to do). */
void cpo_side_defer(cpo_side_job *j, int (*fn)(void *ctx, cpo_error *err), void *ctx);

/* Wait for the job, or run it now if it has no thread and rc is 0.
 * Returns rc if it is not 0, else the job's result (its error in err).
 * A job is joined once: a later join waits for nothing and runs nothing
 * (it returns rc), so a cleanup path may join what may have been joined. */
int cpo_side_join(cpo_side_job *j, int rc, cpo_error *err);

/* The cores online (sysconf), at least 1 and at most CPO_CORES_MAX. */
#define CPO_CORES_MAX 16
size_t cpo_cores(void);

/*
 * fn(arg) on this thread and on up to one more thread per other core (at
 * most `most` in all, CPO_CORES_MAX at most); returns when all are done.
 * The workers take their pieces of arg from a shared counter, so the
 * result must not depend on how many start (none when no thread can be
 * made: then this thread does it all).
 */
void cpo_on_cores(void *(*fn)(void *), void *arg, size_t most);

#endif
