/* sidejob.c - work on a thread beside the caller's (core/sidejob.h). */
#include "sidejob.h"

#include <string.h>
#include <unistd.h>

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

void cpo_side_defer(cpo_side_job *j, int (*fn)(void *ctx, cpo_error *err), void *ctx)
{
    memset(j, 0, sizeof *j);
    j->fn = fn;
    j->ctx = ctx;
    cpo_error_clear(&j->err);
}

int cpo_side_join(cpo_side_job *j, int rc, cpo_error *err)
{
    if (j->threaded)
        pthread_join(j->th, NULL);
    else if (j->fn && !rc)
        side_main(j);
    int had = j->fn != NULL;
    j->fn = NULL; /* joined */
    j->threaded = 0;
    if (rc || !had || !j->rc)
        return rc;
    if (err)
        *err = j->err;
    return j->rc;
}

size_t cpo_cores(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        return 1;
    return (size_t)cores < CPO_CORES_MAX ? (size_t)cores : CPO_CORES_MAX;
}

void cpo_on_cores(void *(*fn)(void *), void *arg, size_t most)
{
    size_t nt = cpo_cores(), started = 0;
    if (nt > most)
        nt = most;
    pthread_t th[CPO_CORES_MAX];
    for (size_t t = 1; t < nt; t++)
        if (pthread_create(&th[started], NULL, fn, arg) == 0)
            started++;
    fn(arg);
    for (size_t t = 0; t < started; t++)
        pthread_join(th[t], NULL);
}
