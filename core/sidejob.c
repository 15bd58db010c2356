/* sidejob.c - work on a thread beside the caller's (core/sidejob.h). */
#include "sidejob.h"

#include <string.h>

static void *side_main(void *arg)
{
    cpo_side_job *j = arg;
    j->rc = j->fn(j->ctx, &j->err);
    return NULL;
}

void cpo_side_start(cpo_side_job *j, int (*fn)(void *ctx, cpo_error *err), void *ctx)
{
    memset(j, 0, sizeof *j);
    j->fn = fn;
    j->ctx = ctx;
    cpo_error_clear(&j->err);
    if (fn)
        j->threaded = pthread_create(&j->th, NULL, side_main, j) == 0;
}

int cpo_side_join(cpo_side_job *j, int rc, cpo_error *err)
{
    if (j->threaded)
        pthread_join(j->th, NULL);
    else if (j->fn && !rc)
        side_main(j);
    if (rc || !j->fn || !j->rc)
        return rc;
    if (err)
        *err = j->err;
    return j->rc;
}
