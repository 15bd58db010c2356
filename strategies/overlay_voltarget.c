/*
 * overlay_voltarget.c - the "voltarget" overlay: scale every weight by
 * L = min(max_leverage, target / sigma) (METHODS §6, volatility
 * targeting), sigma = sqrt(A * v) the annualised EWMA forecast of the
 * portfolio's variance: v is the RiskMetrics EWMA (zero mean, lambda per
 * bar = lambda_daily^(bar/1d)) of r_p,s = sum_i w_i r_i,s over the
 * lookback window ending at this step, w the weights the weigh stage set
 * (which equals w' S_ewma w).  A = bars a year (365 days).  No-trade
 * buffer: if |L - L_prev| <= buffer the previous leverage is kept.  Until
 * the window is filled the weights pass unscaled.
 */
#include <math.h>
#include <stdlib.h>

#include "alloc_stages.h"

static const cpo_param_spec voltarget_params[] = {
    {"target", CPO_PARAM_REAL, "0.4", 1e-4, 10, NULL, "target annual volatility (0.4 = 40%)"},
    {"max_leverage", CPO_PARAM_REAL, "2", 1e-3, 100, NULL, "cap on the leverage multiplier"},
    {"buffer", CPO_PARAM_REAL, "0.1", 0, 100, NULL,
     "no-trade buffer: keep the last leverage when the new one is within it"},
    CPO_AS_P_LOOKBACK("90d"),
    CPO_AS_P_LAMBDA,
};

typedef struct vt_state {
    cpo_as_win win;
    double target, max_lev, buffer, lambda, per_year, prev;
    uint8_t *sel;
    double *rp;
} vt_state;

static void vt_fini(void *state)
{
    vt_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->sel);
    free(s->rp);
    free(s);
}

static int vt_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_error *err)
{
    vt_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "voltarget", p, h, v, 0, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->sel = malloc(s->win.n ? s->win.n : 1);
    s->rp = malloc(s->win.k * sizeof *s->rp);
    if (!s->sel || !s->rp) {
        vt_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    s->target = h->param_real(p, "target");
    s->max_lev = h->param_real(p, "max_leverage");
    s->buffer = h->param_real(p, "buffer");
    s->lambda = cpo_alloc_ewma_lambda(h->param_real(p, "lambda"), s->win.bar_ms);
    s->per_year = cpo_alloc_periods_per_year(s->win.bar_ms);
    s->prev = NAN;
    *state = s;
    return 0;
}

static int vt_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    vt_state *s = state;
    cpo_as_win *w = &s->win;
    for (size_t i = 0; i < w->n; i++)
        s->sel[i] = isfinite(io->weight[i]) && io->weight[i] != 0.0;
    if (cpo_as_win_fill(w, h, v, s->sel, -1, h->step(v)) == 0)
        return 0;
    for (size_t r = 0; r < w->t; r++) {
        double x = 0.0;
        for (size_t j = 0; j < w->m; j++)
            x += io->weight[w->idx[j]] * w->x[r * w->m + j];
        s->rp[r] = x;
    }
    double var, lev;
    int rc = cpo_alloc_cov_ewma(&var, s->rp, w->t, 1, s->lambda, 0, w->ws, err);
    if (rc || (rc = cpo_alloc_voltarget(&lev, NULL, sqrt(s->per_year * var), s->target,
                                        s->max_lev, s->prev, s->buffer, err)))
        return rc;
    s->prev = lev;
    for (size_t i = 0; i < io->n; i++)
        if (isfinite(io->weight[i]))
            io->weight[i] *= lev;
    return 0;
}

const cpo_stage_def cpo_stage_voltarget = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "voltarget", CPO_ROLE_OVERLAY,
    "scale the weights to a target volatility (EWMA forecast, leverage cap, no-trade buffer)",
    voltarget_params, sizeof voltarget_params / sizeof voltarget_params[0], vt_init, vt_run,
    vt_fini};
