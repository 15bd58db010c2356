/*
 * sched_every.c - schedule stages that count steps: "every" (every step),
 * "once" (the first step of the run: buy and hold) and "every_n" (every
 * N steps counted from the first step of the run, after an offset).
 *
 * Schedule stages only ever set io->fire; the engine ORs every schedule
 * stage of the pipeline.
 */
#include <stdlib.h>

#include "builtin.h"

/* --- every ---------------------------------------------------------------- */

static int every_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)state, (void)p, (void)h, (void)v, (void)err;
    io->fire = 1;
    return 0;
}

const cpo_stage_def cpo_stage_every = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "every", CPO_ROLE_SCHEDULE,
    "rebalance at every step", NULL, 0, NULL, every_run, NULL};

/* --- once and every_n: steps counted from the first step of the run ------- */

typedef struct count_state {
    int started;
    size_t first; /* step of the first run() */
} count_state;

static int count_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_error *err)
{
    (void)p, (void)h, (void)v;
    count_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    *state = s;
    return 0;
}

static void count_fini(void *state)
{
    free(state);
}

/* Steps since the first step of the run (0 at the first). */
static size_t count_since(count_state *s, const cpo_host *h, const cpo_view *v)
{
    size_t t = h->step(v);
    if (!s->started) {
        s->started = 1;
        s->first = t;
    }
    return t - s->first;
}

static int once_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    if (count_since(state, h, v) == 0)
        io->fire = 1;
    return 0;
}

const cpo_stage_def cpo_stage_once = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "once", CPO_ROLE_SCHEDULE,
    "rebalance on the first step of the run only (buy and hold)", NULL, 0, count_init, once_run,
    count_fini};

static const cpo_param_spec every_n_params[] = {
    {"n", CPO_PARAM_INT, NULL, 1, 1e9, NULL, "rebalance every n steps"},
    {"offset", CPO_PARAM_INT, "0", 0, 1e9, NULL,
     "steps to wait after the first step of the run before the first rebalance"},
};

static int every_n_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                       cpo_stage_io *io, cpo_error *err)
{
    (void)err;
    size_t k = count_since(state, h, v);
    size_t n = (size_t)h->param_int(p, "n"), off = (size_t)h->param_int(p, "offset");
    if (n > 0 && k >= off && (k - off) % n == 0)
        io->fire = 1;
    return 0;
}

const cpo_stage_def cpo_stage_every_n = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "every_n", CPO_ROLE_SCHEDULE,
    "rebalance every n steps, counted from the first step of the run (after offset steps)",
    every_n_params, sizeof every_n_params / sizeof every_n_params[0], count_init, every_n_run,
    count_fini};
