/*
 * alloc_stages.h - the allocation stages (weigh, overlay, hedge) built on
 * cpo/alloc.h, and the helpers they share (alloc_stages.c).  Private to
 * libcpo; the stages use the host API only, like a plugin's.
 *
 * Returns are simple returns of closes, r_s = c_s / c_{s-1} - 1, over a
 * window of `lookback` (a whole number of bars) that ends at the current
 * step t (hedge_beta: at t - 1).  An instrument without a positive close
 * at every step of the window is left out of that rebalance (weight 0).
 * Until the window is filled a weigh stage holds nothing (weights 0).
 */
#ifndef CPO_STRATEGIES_ALLOC_STAGES_H
#define CPO_STRATEGIES_ALLOC_STAGES_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/alloc.h"
#include "cpo/stage.h"

/* weigh (weigh_invvol.c, weigh_minvar.c, weigh_meanvar.c, weigh_erc.c,
 * weigh_hrp.c, weigh_bl.c) */
extern const cpo_stage_def cpo_stage_invvol;
extern const cpo_stage_def cpo_stage_minvar;
extern const cpo_stage_def cpo_stage_meanvar;
extern const cpo_stage_def cpo_stage_erc;
extern const cpo_stage_def cpo_stage_hrp;
extern const cpo_stage_def cpo_stage_bl;
/* overlay (overlay_voltarget.c, overlay_caps.c) */
extern const cpo_stage_def cpo_stage_voltarget;
extern const cpo_stage_def cpo_stage_caps;
extern const cpo_stage_def cpo_stage_risk_limits; /* overlay_risk_limits.c */
/* hedge (hedge_beta.c) */
extern const cpo_stage_def cpo_stage_hedge_beta;

/* --- shared parameter specs ------------------------------------------------ */

#define CPO_AS_MS_YEAR (365.0 * 86400000.0)

#define CPO_AS_P_LOOKBACK(def)                                                              \
    {"lookback", CPO_PARAM_DURATION, def, 3600000.0, 10.0 * CPO_AS_MS_YEAR, NULL,            \
     "window of returns for the estimates (a whole number of bars, ending at the "          \
     "current step)"}
#define CPO_AS_P_ESTIMATOR                                                                  \
    {"estimator", CPO_PARAM_CHOICE, "ledoit_wolf", 0, 0,                                     \
     "sample|ewma|ledoit_wolf|ledoit_wolf_cc",                                              \
     "covariance: sample, ewma (RiskMetrics), ledoit_wolf (to scaled identity), "           \
     "ledoit_wolf_cc (to constant correlation)"}
#define CPO_AS_P_LAMBDA                                                                     \
    {"lambda", CPO_PARAM_REAL, "0.94", 0.5, 0.99999, NULL,                                   \
     "EWMA decay per day (RiskMetrics 0.94); applied per bar as lambda^(bar/1d), "          \
     "e.g. 0.94^(1/24) for hourly bars"}
#define CPO_AS_P_MIN_WEIGHT                                                                 \
    {"min_weight", CPO_PARAM_REAL, "0", -10.0, 1.0, NULL,                                    \
     "lower bound per instrument (negative allows shorts)"}
#define CPO_AS_P_MAX_WEIGHT                                                                 \
    {"max_weight", CPO_PARAM_REAL, "1", -10.0, 10.0, NULL,                                   \
     "upper bound per instrument (needs max_weight >= 1/k for k instruments)"}
#define CPO_AS_P_LEVERAGE                                                                   \
    {"leverage", CPO_PARAM_REAL, "0", 0.0, 100.0, NULL,                                      \
     "long/short: sum |w| <= leverage (>= 1; 0 = no such budget)"}

/* Transaction costs of the optimisers (weigh_meanvar.c, weigh_minvar.c):
 * all 0 = off, and the stage solves exactly as without them. */
#define CPO_AS_P_COSTS                                                                      \
    {"tc_bps", CPO_PARAM_REAL, "0", 0, 1000, NULL,                                           \
     "linear cost of a trade in the optimiser, bps of the value traded (fee + half spread)"}, \
    {"impact", CPO_PARAM_REAL, "0", 0, 100, NULL,                                            \
     "market impact coefficient b: b sigma sqrt(equity / bar dollar volume) |dw|^1.5"},    \
    {"turnover", CPO_PARAM_REAL, "0", 0, 100, NULL,                                          \
     "largest sum |w - w_now| a rebalance may trade (0 = no limit)"},                       \
    {"cost_horizon", CPO_PARAM_DURATION, "30d", 3600000.0, 10.0 * CPO_AS_MS_YEAR, NULL,       \
     "the costs are spread over this holding period against the per-bar objective"}

/* --- the return window -------------------------------------------------------- */

typedef struct cpo_as_win {
    size_t n;        /* instruments in the market */
    size_t k;        /* returns in a full window (lookback / bar) */
    size_t t;        /* returns in the current window: k, or 0 if not filled */
    size_t m;        /* usable instruments in the current window */
    int64_t bar_ms;
    size_t *idx;     /* [n] market index of column j < m */
    double *x;       /* [k * n] returns, t x m row-major */
    double *cov;     /* [n * n] m x m */
    double *cov2;    /* [n * n] m x m scratch */
    double *mu;      /* [n] */
    double *w;       /* [n] */
    double *prev;    /* [n] last weights by market index (NaN = none), for warm starts */
    cpo_alloc_cov_spec spec;
    cpo_alloc_ws *ws;
} cpo_as_win;

/* Read lookback (and, with estimator = 1, estimator and lambda) and size
 * the window for the market; every allocation of the run happens here. */
int cpo_as_win_init(cpo_as_win *w, const char *stage, const cpo_params *p, const cpo_host *h,
                    const cpo_view *v, int estimator, cpo_error *err);
void cpo_as_win_fini(cpo_as_win *w); /* zeroed struct is fine */

/* Fill the window with the returns of steps end-k+1 .. end of every
 * instrument i with (sel == NULL || sel[i]) and i != skip (skip < 0: none)
 * that has positive closes at steps end-k .. end.  Sets w->t and w->m;
 * returns m (0 if the window is not filled yet: end < k). */
size_t cpo_as_win_fill(cpo_as_win *w, const cpo_host *h, const cpo_view *v, const uint8_t *sel,
                       long skip, size_t end);

/* The estimator's covariance of the current window into w->cov. */
int cpo_as_win_cov(cpo_as_win *w, cpo_error *err);

/* io->weight = w->w on the usable columns, 0 elsewhere; remembers them in
 * w->prev. */
void cpo_as_win_emit(cpo_as_win *w, cpo_stage_io *io);

/* Warm start for column j from w->prev (1/m when unknown). */
void cpo_as_win_warm(cpo_as_win *w);

/* Parse "SYMBOL:NUMBER" into the market index and the number; CPO_ECONFIG
 * "<stage>: ..." naming the item if malformed or unknown. */
int cpo_as_parse_pair(const char *stage, const char *item, const cpo_host *h,
                      const cpo_view *v, long *index, double *value, cpo_error *err);

/* The cost terms of the window's columns into opt (w0 = the weights held
 * now, per bar: tc_bps / 1e4 and impact * sigma_j * sqrt(equity / mean
 * bar dollar volume_j) over cost_horizon in bars), or nothing when the
 * stage's cost parameters are all 0.  c holds 3 * n doubles. */
void cpo_as_costs(cpo_alloc_opt *opt, double *c, const cpo_as_win *w, const cpo_params *p,
                  const cpo_host *h, const cpo_view *v);

/* Bounds from min_weight / max_weight / leverage (when declared). */
void cpo_as_bounds(cpo_alloc_bounds *b, const cpo_params *p, const cpo_host *h, int leverage);

#endif
