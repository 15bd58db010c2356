/*
 * overlay_risk_limits.c - the "risk_limits" overlay: limits on the book a
 * rebalance would build, enforced by scaling its targets down, and noted
 * in the run's events (host->note, kind "stage") whenever one binds.
 *
 *   max_gross   sum |w| of the target weights
 *   max_delta   |net delta| of any coin as a fraction of equity: the sum
 *               of the target weights of the coin's spot and perpetuals,
 *               plus the account delta of the options held in it
 *               (qty x coin delta_account x index / equity)
 *   var_limit   the historical VaR at var_level of the target weights over
 *               var_horizon, from the lookback window's returns (non-
 *               overlapping var_horizon returns, compounded), as a
 *               fraction of equity
 *   max_vega    |USD vega per vol point| / equity of this step's option
 *               targets (qty x Black-76 vega / 100 x index / forward)
 *
 * The weights are multiplied by k = min(1, max_gross / gross, max_delta /
 * max |delta|, var_limit / VaR) (one factor for the whole book, so its
 * shape is kept); the option targets by min(1, max_vega / vega).  0 turns
 * a limit off.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "alloc_stages.h"

static const cpo_param_spec rl_params[] = {
    {"max_gross", CPO_PARAM_REAL, "0", 0, 100, NULL, "largest sum |w| (0 = no limit)"},
    {"max_delta", CPO_PARAM_REAL, "0", 0, 100, NULL,
     "largest |net delta| of a coin, fraction of equity (0 = no limit)"},
    {"var_limit", CPO_PARAM_REAL, "0", 0, 10, NULL,
     "largest historical VaR of the targets, fraction of equity (0 = no limit)"},
    {"var_level", CPO_PARAM_REAL, "0.99", 0.5, 0.9999, NULL, "the VaR's confidence level"},
    {"var_horizon", CPO_PARAM_DURATION, "1d", 3600000.0, 30.0 * 86400000.0, NULL,
     "the VaR's horizon (whole bars)"},
    {"max_vega", CPO_PARAM_REAL, "0", 0, 100, NULL,
     "largest |USD vega per vol point| of the option targets, fraction of equity (0 = none)"},
    CPO_AS_P_LOOKBACK("90d"),
};

typedef struct rl_state {
    cpo_as_win win;
    double *pnl;
    uint8_t *sel;
} rl_state;

static void rl_fini(void *state)
{
    rl_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->pnl);
    free(s->sel);
    free(s);
}

static int rl_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_error *err)
{
    if (h->struct_size <= offsetof(cpo_host, note))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "risk_limits: the host cannot take notes (expected this cpo "
                             "version)");
    rl_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "risk_limits", p, h, v, 0, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->pnl = malloc(s->win.k * sizeof *s->pnl);
    s->sel = malloc(s->win.n ? s->win.n : 1);
    if (!s->pnl || !s->sel) {
        rl_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    *state = s;
    return 0;
}

static const char *base_of(const cpo_instrument *in)
{
    return in->base[0] ? in->base : in->underlying;
}

/* The historical VaR of the target weights over h bars; NaN before the
 * window is filled. */
static double targets_var(rl_state *s, const cpo_host *h, const cpo_view *v,
                          const cpo_stage_io *io, size_t hbars, double level)
{
    cpo_as_win *w = &s->win;
    for (size_t i = 0; i < w->n; i++)
        s->sel[i] = isfinite(io->weight[i]) && io->weight[i] != 0.0;
    if (cpo_as_win_fill(w, h, v, s->sel, -1, h->step(v)) == 0)
        return NAN;
    size_t n = 0;
    /* Non-overlapping blocks of hbars rows, newest last. */
    for (size_t end = w->t; end >= hbars && n < w->k; end -= hbars) {
        double x = 0.0;
        for (size_t j = 0; j < w->m; j++) {
            double g = 1.0;
            for (size_t r = end - hbars; r < end; r++)
                g *= 1.0 + w->x[r * w->m + j];
            x += io->weight[w->idx[j]] * (g - 1.0);
        }
        s->pnl[n++] = x;
        if (end < 2 * hbars)
            break;
    }
    if (n < 2)
        return NAN;
    gsl_sort(s->pnl, 1, n);
    return -gsl_stats_quantile_from_sorted_data(s->pnl, 1, n, 1.0 - level);
}

static int rl_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)err;
    rl_state *s = state;
    double eq = h->equity(v);
    if (!(eq > 0.0))
        return 0;
    double k = 1.0;
    char why[120] = "";
    /* Gross. */
    double lim = h->param_real(p, "max_gross"), gross = 0.0;
    for (size_t i = 0; i < io->n; i++)
        if (isfinite(io->weight[i]))
            gross += fabs(io->weight[i]);
    if (lim > 0.0 && gross > lim && lim / gross < k) {
        k = lim / gross;
        snprintf(why, sizeof why, "gross %.4g > %.4g", gross, lim);
    }
    /* Net delta per coin: linear targets plus the options held. */
    lim = h->param_real(p, "max_delta");
    if (lim > 0.0) {
        const cpo_option_pos *op = NULL;
        size_t nop = h->option_positions(v, &op);
        for (size_t i = 0; i < io->n; i++) {
            const char *coin = base_of(h->instrument(v, i));
            int first = 1;
            for (size_t j = 0; j < i && first; j++)
                first = strcmp(base_of(h->instrument(v, j)), coin) != 0;
            if (!first)
                continue;
            double d = 0.0;
            for (size_t j = i; j < io->n; j++)
                if (isfinite(io->weight[j]) && !strcmp(base_of(h->instrument(v, j)), coin))
                    d += io->weight[j];
            for (size_t o = 0; o < nop; o++)
                if (!strcmp(op[o].key.underlying, coin) && isfinite(op[o].quote.coin.delta_account))
                    d += op[o].qty * op[o].quote.coin.delta_account * op[o].quote.index / eq;
            if (fabs(d) > lim && lim / fabs(d) < k) {
                k = lim / fabs(d);
                snprintf(why, sizeof why, "%s delta %.4g > %.4g", coin, d, lim);
            }
        }
    }
    /* VaR of the targets. */
    lim = h->param_real(p, "var_limit");
    if (lim > 0.0) {
        size_t hb = (size_t)(h->param_int(p, "var_horizon") / h->bar_ms(v));
        double var = targets_var(s, h, v, io, hb ? hb : 1, h->param_real(p, "var_level"));
        if (isfinite(var) && var > lim && lim / var < k) {
            k = lim / var;
            snprintf(why, sizeof why, "VaR %.4g > %.4g", var, lim);
        }
    }
    if (k < 1.0) {
        for (size_t i = 0; i < io->n; i++)
            if (isfinite(io->weight[i]))
                io->weight[i] *= k;
        char msg[200];
        snprintf(msg, sizeof msg, "%s: targets x %.4g", why, k);
        h->note(v, k, msg);
    }
    /* Vega of the option targets. */
    lim = h->param_real(p, "max_vega");
    if (lim > 0.0 && io->n_opt) {
        double vega = 0.0;
        for (size_t o = 0; o < io->n_opt; o++) {
            cpo_option_quote q;
            if (h->option_quote(v, &io->opt[o].key, &q) || !isfinite(q.usd.vega) || !(q.fwd > 0.0))
                continue;
            vega += io->opt[o].qty * q.usd.vega / 100.0 * q.index / q.fwd;
        }
        vega = fabs(vega) / eq;
        if (vega > lim) {
            double kv = lim / vega;
            for (size_t o = 0; o < io->n_opt; o++)
                io->opt[o].qty *= kv;
            char msg[200];
            snprintf(msg, sizeof msg, "vega %.4g > %.4g of equity a vol point: option targets x %.4g",
                     vega, lim, kv);
            h->note(v, kv, msg);
        }
    }
    return 0;
}

const cpo_stage_def cpo_stage_risk_limits = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "risk_limits", CPO_ROLE_OVERLAY,
    "scale the targets down to limits on gross, net delta per coin, VaR and vega (noted when "
    "they bind)",
    rl_params, sizeof rl_params / sizeof rl_params[0], rl_init, rl_run, rl_fini};
