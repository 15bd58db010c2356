/*
 * sidejob.h - one piece of work beside the caller's: started on a thread
 * of its own, joined later with its error; run in line at the join when
 * no thread can be made (and then only if the caller's own work
 * succeeded).  Whichever way it ran, the caller reports the error its
 * own order gives: its own first.  Private to libcpo.
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

/* Wait for the job, or run it now if it has no thread and rc is 0.
 * Returns rc if it is not 0, else the job's result (its error in err). */
int cpo_side_join(cpo_side_job *j, int rc, cpo_error *err);

#endif
