/*
 * hedge_beta.c - the "hedge_beta" hedge stage: hedge the book with one
 * perpetual (METHODS §6, "Perp hedge"; Hull §3.5).  The book is the
 * weights the earlier stages set (every finite non-zero weight except the
 * hedge's own); its return per unit of equity is r_b,s = sum_i w_i r_i,s.
 * The minimum-variance hedge ratio h = cov(r_b, r_H) / var(r_H) = rho
 * sigma_b / sigma_H is estimated on the lookback window of returns that
 * ends at the PREVIOUS step (t - 1), and the hedge's target weight is
 * -fraction * h.  Re-hedge band: the target is set only when it differs
 * from the hedge's current weight in the book by more than band;
 * otherwise the hedge is left alone (NaN).  The hedge's funding is booked
 * by the engine on the perpetual's own line.  Book instruments without a
 * full window are left out of r_b; without the hedge's own window the
 * hedge is left alone.
 */
#include <math.h>
#include <stdlib.h>

#include "alloc_stages.h"
#include "builtin.h"

static const cpo_param_spec hedge_params[] = {
    {"hedge", CPO_PARAM_STRING, NULL, 0, 0, NULL, "symbol of the hedge, e.g. BTC-PERPETUAL"},
    CPO_AS_P_LOOKBACK("30d"),
    {"band", CPO_PARAM_REAL, "0.05", 0, 10, NULL,
     "re-hedge when the target and current hedge weights differ by more than this"},
    {"fraction", CPO_PARAM_REAL, "1", 0, 10, NULL, "share of the minimum-variance hedge to hold"},
};

typedef struct hedge_state {
    cpo_as_win win;
    long hi; /* market index of the hedge */
    double band, fraction;
    uint8_t *sel;
    double *rb, *rh;
} hedge_state;

static void hedge_fini(void *state)
{
    hedge_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->sel);
    free(s->rb);
    free(s->rh);
    free(s);
}

static int hedge_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_error *err)
{
    const char *sym = h->param_str(p, "hedge");
    long hi = h->find(v, sym);
    if (hi < 0)
        return cpo_builtin_unknown_symbol(h, v, "hedge_beta", sym, err);
    hedge_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "hedge_beta", p, h, v, 0, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->sel = malloc(s->win.n ? s->win.n : 1);
    s->rb = malloc(s->win.k * sizeof *s->rb);
    s->rh = malloc(s->win.k * sizeof *s->rh);
    if (!s->sel || !s->rb || !s->rh) {
        hedge_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    s->hi = hi;
    s->band = h->param_real(p, "band");
    s->fraction = h->param_real(p, "fraction");
    *state = s;
    return 0;
}

static int hedge_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    hedge_state *s = state;
    cpo_as_win *w = &s->win;
    size_t t = h->step(v), H = (size_t)s->hi;
    int any = 0;
    for (size_t i = 0; i < w->n; i++) {
        s->sel[i] = i != H && isfinite(io->weight[i]) && io->weight[i] != 0.0;
        any |= s->sel[i];
    }
    s->sel[H] = 1;
    io->weight[H] = NAN;
    if (t < 1 || cpo_as_win_fill(w, h, v, s->sel, -1, t - 1) == 0)
        return 0;
    size_t jh = w->m;
    for (size_t j = 0; j < w->m; j++)
        if (w->idx[j] == H)
            jh = j;
    if (jh == w->m)
        return 0; /* no window for the hedge yet */
    double target = 0.0;
    if (any && w->m > 1) {
        for (size_t r = 0; r < w->t; r++) {
            double x = 0.0;
            for (size_t j = 0; j < w->m; j++)
                if (j != jh)
                    x += io->weight[w->idx[j]] * w->x[r * w->m + j];
            s->rb[r] = x;
            s->rh[r] = w->x[r * w->m + jh];
        }
        double ratio;
        int rc = cpo_alloc_hedge_ratio(&ratio, NULL, s->rb, s->rh, w->t, err);
        if (rc)
            return rc;
        target = -s->fraction * ratio;
    }
    double cur = h->weight(v, H);
    if (!isfinite(cur))
        cur = 0.0;
    if (fabs(target - cur) > s->band)
        io->weight[H] = target;
    return 0;
}

const cpo_stage_def cpo_stage_hedge_beta = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "hedge_beta", CPO_ROLE_HEDGE,
    "hedge the book with a perpetual at the rolling minimum-variance ratio, re-hedged on a band",
    hedge_params, sizeof hedge_params / sizeof hedge_params[0], hedge_init, hedge_run,
    hedge_fini};
