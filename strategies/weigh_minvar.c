/*
 * weigh_minvar.c - the "minvar" weigh stage: minimum variance subject to
 * sum w = 1, min_weight <= w <= max_weight and, with leverage > 0, sum |w|
 * <= leverage, solved by FISTA with the exact bounded-simplex projection
 * (cpo_alloc_minvar) on the chosen covariance of the lookback window.
 * The last weights are the warm start of the next rebalance.
 * If the solver stops at its iteration cap, its last iterate (feasible)
 * is used.
 */
#include <stdlib.h>

#include "alloc_stages.h"

static const cpo_param_spec minvar_params[] = {
    CPO_AS_P_LOOKBACK("30d"),  CPO_AS_P_ESTIMATOR,  CPO_AS_P_LAMBDA,
    CPO_AS_P_MIN_WEIGHT,       CPO_AS_P_MAX_WEIGHT, CPO_AS_P_LEVERAGE,
    CPO_AS_P_COSTS,
};

typedef struct minvar_state {
    cpo_as_win win;
    cpo_alloc_opt opt;
    double *cost; /* [3 n]: w0, linear and impact terms of the window's columns */
} minvar_state;

static void minvar_fini(void *state);

static int minvar_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                       cpo_error *err)
{
    minvar_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "minvar", p, h, v, 1, err);
    if (rc) {
        free(s);
        return rc;
    }
    cpo_alloc_opt_init(&s->opt);
    cpo_as_bounds(&s->opt.bounds, p, h, 1);
    s->opt.warm_start = 1;
    if (!(s->cost = malloc(3 * (s->win.n ? s->win.n : 1) * sizeof *s->cost))) {
        minvar_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    *state = s;
    return 0;
}

static void minvar_fini(void *state)
{
    minvar_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->cost);
    free(s);
}

static int minvar_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_stage_io *io, cpo_error *err)
{
    minvar_state *s = state;
    cpo_as_win *w = &s->win;
    int rc;
    if (cpo_as_win_fill(w, h, v, io->selected, -1, h->step(v)) > 0) {
        cpo_as_win_warm(w);
        cpo_as_costs(&s->opt, s->cost, w, p, h, v);
        if ((rc = cpo_as_win_cov(w, err)) ||
            (rc = cpo_alloc_minvar(w->w, NULL, w->cov, w->m, &s->opt, w->ws, err)))
            return rc;
    }
    cpo_as_win_emit(w, io);
    return 0;
}

const cpo_stage_def cpo_stage_minvar = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "minvar", CPO_ROLE_WEIGH,
    "minimum variance with bounds (and a leverage budget for long/short)", minvar_params,
    sizeof minvar_params / sizeof minvar_params[0], minvar_init, minvar_run, minvar_fini};
