/*
 * example_plugin.c - an out-of-tree stage plugin, built as a shared object
 * (CMake target cpo_example_plugin) and loaded by the tests.
 *
 * It includes nothing but the public headers and uses nothing of the host
 * but the cpo_host table it is handed, so it needs no symbol of libcpo:
 *
 *   weigh "inverse_price"     weight proportional to 1/close over the
 *                             selected instruments with a price, summing
 *                             to `total`; 0 for the others.
 *   schedule "every_k_hours"  fire on the first step of each UTC block of
 *                             k hours (blocks start at 00:00 UTC when k
 *                             divides 24), and on the first step of the run.
 *
 * Test hook (not part of the example): the environment variable
 * CPO_EXAMPLE_PLUGIN_TEST makes the entry point misbehave, so that the
 * tests can check the loader on a real shared object:
 *   "null"        return NULL
 *   "empty"       return a table with n_stages = 0
 *   "bad_second"  return inverse_price, then a table of ABI version 2
 *   "slow"        every_k_hours sleeps 5 ms a step, so that a run lasts
 *                 long enough for the signal tests to stop it midway
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep: built out of tree, with no flags of cpo's build */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpo/stage.h"

#define HOUR_MS INT64_C(3600000)

/* Fill err the way the host does (the plugin cannot call cpo_error_set). */
static int fail(cpo_error *err, int code, const char *msg)
{
    if (err) {
        memset(err, 0, sizeof *err);
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return code;
}

/* --- inverse_price ------------------------------------------------------- */

static const cpo_param_spec inv_params[] = {
    {"total", CPO_PARAM_REAL, "1", 0, 10, NULL, "sum of the weights"},
};

static int inv_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_stage_io *io, cpo_error *err)
{
    (void)state, (void)err;
    double total = h->param_real(p, "total"), sum = 0.0;
    for (size_t i = 0; i < io->n; i++) {
        size_t len = 0;
        const double *c = h->series(v, CPO_F_CLOSE, i, &len);
        double px = c && len ? c[len - 1] : NAN;
        io->weight[i] = io->selected[i] && isfinite(px) && px > 0.0 ? 1.0 / px : 0.0;
        sum += io->weight[i];
    }
    for (size_t i = 0; i < io->n; i++)
        io->weight[i] = sum > 0.0 ? total * io->weight[i] / sum : 0.0;
    return 0;
}

static const cpo_stage_def inverse_price = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "inverse_price", CPO_ROLE_WEIGH,
    "weights proportional to 1 / price (example plugin)", inv_params,
    sizeof inv_params / sizeof inv_params[0], NULL, inv_run, NULL};

/* --- every_k_hours ------------------------------------------------------- */

typedef struct hours_state {
    int have;
    int64_t last; /* block of the previous step */
    int slow;     /* test hook "slow" */
} hours_state;

static const cpo_param_spec hours_params[] = {
    {"k", CPO_PARAM_INT, "8", 1, 8760, NULL, "hours per block"},
};

static int hours_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_error *err)
{
    (void)p, (void)v;
    if (h->abi_version != CPO_STAGE_ABI_VERSION)
        return fail(err, CPO_EPLUGIN, "every_k_hours: host ABI mismatch (expected 1)");
    hours_state *s = calloc(1, sizeof *s);
    if (!s)
        return fail(err, CPO_ENOMEM, "out of memory");
    const char *test = getenv("CPO_EXAMPLE_PLUGIN_TEST");
    s->slow = test && !strcmp(test, "slow");
    *state = s;
    return 0;
}

static void hours_fini(void *state)
{
    free(state);
}

static int hours_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)err;
    hours_state *s = state;
    int64_t len = h->param_int(p, "k") * HOUR_MS, t = h->now(v);
    int64_t block = t / len - (t % len < 0); /* floor */
    if (s->slow) {
        struct timespec nap = {0, 5000000};
        nanosleep(&nap, NULL);
    }
    if (!s->have || block != s->last)
        io->fire = 1;
    s->have = 1;
    s->last = block;
    return 0;
}

static const cpo_stage_def every_k_hours = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "every_k_hours", CPO_ROLE_SCHEDULE,
    "rebalance on the first step of each block of k hours (example plugin)", hours_params,
    sizeof hours_params / sizeof hours_params[0], hours_init, hours_run, hours_fini};

/* --- entry point --------------------------------------------------------- */

static const cpo_stage_def *const stages[] = {&inverse_price, &every_k_hours};

/* The test hook's second table: a stage built for a later ABI. */
static const cpo_stage_def from_the_future = {
    CPO_STAGE_ABI_VERSION + 1, sizeof(cpo_stage_def), "from_the_future", CPO_ROLE_WEIGH,
    "built for ABI 2", NULL, 0, NULL, inv_run, NULL};
static const cpo_stage_def *const bad_second[] = {&inverse_price, &from_the_future};

const cpo_stage_def *const *cpo_plugin_entry(uint32_t host_abi, size_t *n_stages);

const cpo_stage_def *const *cpo_plugin_entry(uint32_t host_abi, size_t *n_stages)
{
    *n_stages = 0;
    if (host_abi != CPO_STAGE_ABI_VERSION)
        return NULL; /* built for another host */
    const char *test = getenv("CPO_EXAMPLE_PLUGIN_TEST");
    if (test && !strcmp(test, "null"))
        return NULL;
    if (test && !strcmp(test, "empty"))
        return stages;
    if (test && !strcmp(test, "bad_second")) {
        *n_stages = 2;
        return bad_second;
    }
    *n_stages = sizeof stages / sizeof stages[0];
    return stages;
}
