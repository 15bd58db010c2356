/*
 * weigh_meanvar.c - the "meanvar" weigh stage: max mu'w - (gamma/2) w'Sw
 * subject to sum w = 1, min_weight <= w <= max_weight and, with leverage >
 * 0, sum |w| <= leverage (cpo_alloc_meanvar, FISTA).  mu is the historical
 * or EWMA mean of the window's returns, S the chosen covariance; both per
 * bar, so gamma does not depend on the bar.
 * If the solver stops at its iteration cap, its last iterate (feasible)
 * is used.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc_stages.h"

static const cpo_param_spec meanvar_params[] = {
    CPO_AS_P_LOOKBACK("30d"),
    CPO_AS_P_ESTIMATOR,
    CPO_AS_P_LAMBDA,
    CPO_AS_P_MIN_WEIGHT,
    CPO_AS_P_MAX_WEIGHT,
    CPO_AS_P_LEVERAGE,
    {"risk_aversion", CPO_PARAM_REAL, "2.5", 1e-6, 1e6, NULL,
     "gamma in mu'w - (gamma/2) w'Sw"},
    {"mean", CPO_PARAM_CHOICE, "hist", 0, 0, "hist|ewma",
     "expected returns: historical mean, or EWMA mean with lambda"},
    CPO_AS_P_COSTS,
};

typedef struct meanvar_state {
    cpo_as_win win;
    cpo_alloc_opt opt;
    int ewma_mean;
    double *cost; /* [3 n]: w0, linear and impact terms of the window's columns */
} meanvar_state;

static void meanvar_fini(void *state);

static int meanvar_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                        cpo_error *err)
{
    meanvar_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "meanvar", p, h, v, 1, err);
    if (rc) {
        free(s);
        return rc;
    }
    cpo_alloc_opt_init(&s->opt);
    cpo_as_bounds(&s->opt.bounds, p, h, 1);
    s->opt.gamma = h->param_real(p, "risk_aversion");
    s->opt.warm_start = 1;
    s->ewma_mean = !strcmp(h->param_str(p, "mean"), "ewma");
    if (!(s->cost = malloc(3 * (s->win.n ? s->win.n : 1) * sizeof *s->cost))) {
        meanvar_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    *state = s;
    return 0;
}

static void meanvar_fini(void *state)
{
    meanvar_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->cost);
    free(s);
}

static int meanvar_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                       cpo_stage_io *io, cpo_error *err)
{
    meanvar_state *s = state;
    cpo_as_win *w = &s->win;
    int rc;
    if (cpo_as_win_fill(w, h, v, io->selected, -1, h->step(v)) > 0) {
        cpo_as_win_warm(w);
        rc = s->ewma_mean ? cpo_alloc_mean_ewma(w->mu, w->x, w->t, w->m, w->spec.lambda, err)
                          : cpo_alloc_mean_hist(w->mu, w->x, w->t, w->m, err);
        cpo_as_costs(&s->opt, s->cost, w, p, h, v);
        if (rc || (rc = cpo_as_win_cov(w, err)) ||
            (rc = cpo_alloc_meanvar(w->w, NULL, w->cov, w->mu, w->m, &s->opt, w->ws, err)))
            return rc;
    }
    cpo_as_win_emit(w, io);
    return 0;
}

const cpo_stage_def cpo_stage_meanvar = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "meanvar", CPO_ROLE_WEIGH,
    "mean-variance with bounds (and a leverage budget for long/short)", meanvar_params,
    sizeof meanvar_params / sizeof meanvar_params[0], meanvar_init, meanvar_run, meanvar_fini};
