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
 *
 * Between rebalances (band > 0): at every step where no schedule fired,
 * the same forecast (or, with vol = realised, the sample volatility of the
 * window) of the book as it stands (w = exposure / equity, host->weight)
 * is compared with the target; outside target * (1 -+ band) every position
 * is scaled by k = target / sigma (host->between; qty = k * position), so
 * that the leverage L_prev * k stays within max_leverage.  band = 0 (the
 * default) acts on rebalance dates only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_stages.h"

static const cpo_param_spec voltarget_params[] = {
    {"target", CPO_PARAM_REAL, "0.4", 1e-4, 10, NULL, "target annual volatility (0.4 = 40%)"},
    {"max_leverage", CPO_PARAM_REAL, "2", 1e-3, 100, NULL, "cap on the leverage multiplier"},
    {"buffer", CPO_PARAM_REAL, "0.1", 0, 100, NULL,
     "no-trade buffer: keep the last leverage when the new one is within it"},
    CPO_AS_P_LOOKBACK("90d"),
    CPO_AS_P_LAMBDA,
    {"band", CPO_PARAM_REAL, "0", 0, 10, NULL,
     "between rebalances, rescale the book when its vol leaves target * (1 -+ band); 0 = off"},
    {"vol", CPO_PARAM_CHOICE, "ewma", 0, 0, "ewma|realised",
     "the volatility compared with the target: EWMA forecast, or the window's sample vol"},
};

typedef struct vt_state {
    cpo_as_win win;
    double target, max_lev, buffer, lambda, per_year, prev, band;
    int realised;
    uint8_t *sel;
    double *rp, *w;
} vt_state;

static void vt_fini(void *state)
{
    vt_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->sel);
    free(s->rp);
    free(s->w);
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
    s->w = malloc((s->win.n ? s->win.n : 1) * sizeof *s->w);
    if (!s->sel || !s->rp || !s->w) {
        vt_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    s->target = h->param_real(p, "target");
    s->max_lev = h->param_real(p, "max_leverage");
    s->buffer = h->param_real(p, "buffer");
    s->lambda = cpo_alloc_ewma_lambda(h->param_real(p, "lambda"), s->win.bar_ms);
    s->per_year = cpo_alloc_periods_per_year(s->win.bar_ms);
    s->prev = NAN;
    s->band = h->param_real(p, "band");
    s->realised = !strcmp(h->param_str(p, "vol"), "realised");
    *state = s;
    if (s->band > 0.0) {
        if (h->struct_size <= offsetof(cpo_host, between) || (rc = h->between(v))) {
            vt_fini(s);
            *state = NULL;
            return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                 "voltarget: band needs a host that runs overlays between "
                                 "rebalances (expected this cpo version)");
        }
    }
    return 0;
}

/* The annualised vol of the window's portfolio returns with weights w (by
 * market index): EWMA forecast or sample vol.  *ok = 0 until the window
 * is filled. */
static int book_vol(vt_state *s, const cpo_host *h, const cpo_view *v, const double *w,
                    double *sigma, int *ok, cpo_error *err)
{
    cpo_as_win *win = &s->win;
    for (size_t i = 0; i < win->n; i++)
        s->sel[i] = isfinite(w[i]) && w[i] != 0.0;
    *ok = cpo_as_win_fill(win, h, v, s->sel, -1, h->step(v)) > 0;
    if (!*ok)
        return 0;
    for (size_t r = 0; r < win->t; r++) {
        double x = 0.0;
        for (size_t j = 0; j < win->m; j++)
            x += w[win->idx[j]] * win->x[r * win->m + j];
        s->rp[r] = x;
    }
    double var;
    int rc = s->realised ? cpo_alloc_cov_sample(&var, s->rp, win->t, 1, 1, win->ws, err)
                         : cpo_alloc_cov_ewma(&var, s->rp, win->t, 1, s->lambda, 0, win->ws, err);
    if (!rc)
        *sigma = sqrt(s->per_year * var);
    return rc;
}

/* Between rebalances: scale the book when its vol is outside the band. */
static int vt_between(vt_state *s, const cpo_host *h, const cpo_view *v, cpo_stage_io *io,
                      cpo_error *err)
{
    if (!isfinite(s->prev) || !(s->prev > 0.0))
        return 0; /* no rebalance yet: nothing to scale */
    for (size_t i = 0; i < io->n; i++) {
        double w = h->weight(v, i);
        s->w[i] = isfinite(w) ? w : 0.0;
    }
    double sigma = NAN;
    int ok = 0, rc = book_vol(s, h, v, s->w, &sigma, &ok, err);
    if (rc || !ok || !isfinite(sigma) || !(sigma > 0.0))
        return rc;
    if (sigma >= s->target * (1.0 - s->band) && sigma <= s->target * (1.0 + s->band))
        return 0;
    double k = s->target / sigma;
    if (s->prev * k > s->max_lev)
        k = s->max_lev / s->prev;
    if (fabs(k - 1.0) < 1e-12)
        return 0;
    for (size_t i = 0; i < io->n; i++)
        if (s->w[i] != 0.0)
            io->qty[i] = k * h->position(v, i);
    io->fire = 1;
    s->prev *= k;
    return 0;
}

static int vt_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    vt_state *s = state;
    if (!io->fire)
        return vt_between(s, h, v, io, err);
    double sigma = NAN, lev;
    int ok = 0, rc = book_vol(s, h, v, io->weight, &sigma, &ok, err);
    if (rc || !ok)
        return rc;
    if ((rc = cpo_alloc_voltarget(&lev, NULL, sigma, s->target, s->max_lev, s->prev, s->buffer,
                                  err)))
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
