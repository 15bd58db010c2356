/*
 * cpo/attrib.h - performance attribution of a run (METHODS §4a, §4c):
 * by asset (per-step contributions by P&L line, linked with Carino),
 * Euler risk contributions (ex ante and ex post), by factor (CMKT,
 * CSMB, CMOM after Liu, Tsyvinski & Wu: full-sample and rolling
 * regressions, holdings-based exposures), and by Greek (METHODS §3: the
 * change in equity of each step split into delta, gamma, vega, theta,
 * vanna, volga, rho and the cost lines; see cpo_attrib_greeks below).
 *
 * Returns are simple returns.  A step's contribution is its P&L divided
 * by the equity at the start of the step (the capital for the first
 * step), so that the contributions of a step add up to its return R_t.
 * Multi-period contributions are linked with Carino's factors
 *
 *     k_t = ln(1 + R_t) / R_t,   k = ln(1 + R) / R   (both 1 at R = 0),
 *     linked_j = sum_t (k_t / k) c_j,t,
 *
 * which add up to the compounded total return R exactly (in exact
 * arithmetic; to rounding in doubles) whenever every c_j,t of a step adds
 * up to R_t.  Linking needs 1 + R_t > 0 at every step.
 *
 * A run is attributed by a collector (cpo_attrib) that is given the
 * market before the run, receives the engine's per-instrument ledger rows
 * through cpo_attrib_sink (and passes them on to a chained sink), and
 * computes and writes the tables after the run:
 *
 *     cpo_attrib_new / cpo_attrib_new_from_store   before the run
 *     cpo_attrib_chain                             forward rows to a sink
 *     cpo_backtest_run(..., detail = instrument, cpo_attrib_sink, a, ...)
 *     cpo_attrib_compute(a, result)                the tables
 *     cpo_attrib_write(a, result, paths)           the CSV files
 *
 * Memory: the collector keeps one record of 56 bytes per ledger row (one
 * per held instrument per step: at most n_steps * n_instr * 56 bytes) and
 * n_steps * (n_instr + 2) doubles when it computes; a run whose worst
 * case exceeds opts.max_bytes is not attributed (the files say so).
 *
 * Ownership: a cpo_attrib belongs to its creator (cpo_attrib_free); the
 * tables it returns stay owned by it and live until it is freed.
 */
#ifndef CPO_ATTRIB_H
#define CPO_ATTRIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/backtest.h"
#include "cpo/dataset.h"
#include "cpo/error.h"
#include "cpo/market.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Greek attribution (cpo_attrib_greeks, attribution_greek.csv) is
 * implemented: 1. */
#define CPO_ATTRIB_GREEKS 1

/* --- Carino linking ------------------------------------------------------- */

/* ln(1 + r) / r, 1 at r = 0 (log1p, so accurate near 0); NaN if r <= -1. */
double cpo_attrib_carino_k(double r);

/*
 * Link t periods of n contributions: c is t x n row-major (c[s * n + j]),
 * r[s] the return of period s (normally sum_j c[s * n + j]).  linked[j] =
 * sum_s (k_s / k) c[s * n + j] with k from R = prod(1 + r_s) - 1.  R_out
 * (may be NULL) gets R.  CPO_EDATA if some 1 + r_s <= 0 or a value is not
 * finite.
 */
int cpo_attrib_carino_link(double *linked, double *R_out, const double *c, const double *r,
                           size_t t, size_t n, cpo_error *err);

/* --- regression ------------------------------------------------------------- */

#define CPO_ATTRIB_MAX_FACTORS 8

/* OLS of y on an intercept and k factors. */
typedef struct cpo_attrib_ols {
    size_t n;       /* observations */
    size_t k;       /* factors (coefficients: k + 1) */
    double coef[CPO_ATTRIB_MAX_FACTORS + 1];   /* alpha, beta_1 .. beta_k */
    double se[CPO_ATTRIB_MAX_FACTORS + 1];     /* standard errors: sqrt of the
                                                  diagonal of s^2 (X'X)^-1,
                                                  s^2 = RSS / (n - k - 1) */
    double tstat[CPO_ATTRIB_MAX_FACTORS + 1];  /* coef / se */
    double r2;      /* 1 - RSS / TSS (TSS about the mean of y) */
    double adj_r2;  /* 1 - (1 - r2) (n - 1) / (n - k - 1) */
    double rss;     /* sum of squared residuals */
} cpo_attrib_ols;

/*
 * y[s] = alpha + sum_j beta_j f[s * k + j] + e[s] by gsl_multifit_linear
 * (SVD) on the n rows.  resid (may be NULL) gets e.  Refused: k >
 * CPO_ATTRIB_MAX_FACTORS (CPO_EINVAL); n < k + 2, too few rows for a
 * residual degree of freedom (CPO_EDATA: "N periods (expected at least
 * K + 2 ...)"); a non-finite value (CPO_EDATA); collinear factors
 * (CPO_ENUMERIC).
 */
int cpo_attrib_regress(cpo_attrib_ols *out, double *resid, const double *y, const double *f,
                       size_t n, size_t k, cpo_error *err);

/*
 * Rolling OLS without look-ahead: the coefficients used at row s are
 * estimated on the rows s - window .. s - 1 whose use[] is 1 (use may be
 * NULL: all), when there are at least max(min_obs, k + 2) of them.
 * coef is n x (k + 1) (alpha, betas), NaN where there is no estimate;
 * contrib is n x (k + 1): alpha and beta_j f[s * k + j] with the
 * coefficients of row s, 0 where there is none; resid[s] = y[s] - sum of
 * contrib of row s, so that
 *
 *     y[s] = contrib[s][0] + sum_j contrib[s][1 + j] + resid[s]
 *
 * holds on every row (the realised residual closes the identity).  Rows
 * with use[s] = 0 get no estimate.  estimated (may be NULL) gets 1 where
 * a row has coefficients.
 */
int cpo_attrib_rolling(double *coef, double *contrib, double *resid, uint8_t *estimated,
                       const double *y, const double *f, const uint8_t *use, size_t n,
                       size_t k, size_t window, size_t min_obs, cpo_error *err);

/* --- factors ---------------------------------------------------------------- */

typedef enum cpo_factor {
    CPO_FACTOR_CMKT = 0, /* market: value-weighted return of eligible coins - rf */
    CPO_FACTOR_CSMB = 1, /* size: small minus big (30/40/30 on lagged caps) */
    CPO_FACTOR_CMOM = 2, /* momentum: winners minus losers, 2x3 sort */
    CPO_FACTOR_COUNT
} cpo_factor;

const char *cpo_factor_name(cpo_factor f); /* "CMKT", "CSMB", "CMOM" */

/* --- options ---------------------------------------------------------------- */

typedef struct cpo_attrib_opts {
    double rf_annual;     /* risk-free rate, simple per year; per period
                             (1 + rf)^(days / 365) - 1 (0) */
    int64_t period_ms;    /* factor period (one week): periods start on
                             Mondays 00:00 UTC, the first and last of a run
                             may be partial */
    size_t roll_window;   /* rolling regression window, periods (52) */
    size_t roll_min;      /* fewest periods for a rolling estimate (13) */
    size_t mom_periods;   /* momentum look-back, periods: r_{3,0} (3) */
    size_t min_coins;     /* fewest eligible coins to build CSMB, CMOM (3) */
    double min_cap_usd;   /* eligibility: lagged market cap >= (1e6) */
    size_t cov_window;    /* ex-ante risk: trailing bars of returns (90) */
    char proxy[CPO_CCY_MAX]; /* the market proxy without caps ("BTC") */
    size_t max_bytes;     /* largest row store allowed (256 MiB) */
    /* The factor universe: which coins of the store CMKT, CSMB and CMOM
     * are built from (CPO_FACTOR_UNIVERSE_STORE).  The holdings' exposures
     * are measured against the same factors whatever it is. */
    int factor_universe;
    char factor_coins[512]; /* _LIST: base coins, ", "-separated ("BTC, ETH") */
} cpo_attrib_opts;

enum {
    CPO_FACTOR_UNIVERSE_STORE = 0, /* every spot coin of the store with bars (default) */
    CPO_FACTOR_UNIVERSE_RUN = 1,   /* only the coins of the run's universe (the market):
                                      a factor model of the holdings themselves */
    CPO_FACTOR_UNIVERSE_LIST = 2   /* the coins of factor_coins */
};

void cpo_attrib_opts_init(cpo_attrib_opts *o);

/* --- the collector ---------------------------------------------------------- */

typedef struct cpo_attrib cpo_attrib;

/*
 * A collector for runs on m.  It copies what it needs of m (the grid,
 * the instruments, their mark or close prices), so m may be freed before
 * the run's tables are computed.  ds (may be NULL: no factors) is the
 * store's dataset: its spot coins' bars and its market caps make the
 * factors (copied; ds may be freed after).  opts NULL: the defaults.
 */
int cpo_attrib_new(cpo_attrib **out, const cpo_market *m, const cpo_dataset *ds,
                   const cpo_attrib_opts *opts, cpo_error *err);

/* cpo_attrib_new with the dataset read from the store at path. */
int cpo_attrib_new_from_store(cpo_attrib **out, const cpo_market *m, const char *path,
                              const cpo_attrib_opts *opts, cpo_error *err);

void cpo_attrib_free(cpo_attrib *a); /* NULL is a no-op */

/* Rows given to cpo_attrib_sink are passed on to next (NULL: none). */
void cpo_attrib_chain(cpo_attrib *a, cpo_ledger_sink next, void *next_ctx);

/* A cpo_ledger_sink (ctx: the cpo_attrib): keeps the rows, then calls
 * the chained sink. */
int cpo_attrib_sink(void *ctx, const cpo_ledger_row *rows, size_t n, cpo_error *err);

/* --- the tables --------------------------------------------------------------- */

/* instr of the parts and risk rows of the option positions: the options
 * line (marked to market) and what the instrument rows do not hold of the
 * fees and slippage lines (option trading and delivery fees). */
#define CPO_ATTRIB_INSTR_OPTIONS (-3L)
/* The ex-post risk row of the book's financing line ([financing] runs). */
#define CPO_ATTRIB_INSTR_FINANCING (-4L)

/* One part of the return by asset: an instrument's P&L line, or a line of
 * the whole book (instr = -1: revaluation of coin balances, the engine's
 * residual), or of the option positions (CPO_ATTRIB_INSTR_OPTIONS, only
 * for a result with options). */
typedef struct cpo_attrib_part {
    long instr;         /* index in the market, -1 for the book, -3 options */
    cpo_pnl_line line;
    double linked;      /* Carino-linked contribution to the total return */
    double arith;       /* sum over steps of the per-step contribution */
    double pnl;         /* sum of the P&L, reporting currency */
} cpo_attrib_part;

typedef struct cpo_attrib_assets {
    size_t n_parts;          /* n_instr * 5 (price .. liquidation) + 2, + 3
                                with options (options, fees, slippage) */
    cpo_attrib_part *parts;
    size_t n_steps;
    double total_return;     /* equity_T / capital - 1 */
    double total_arith;      /* sum_t R_t */
    double total_pnl;        /* equity_T - capital */
    double sum_linked, sum_arith, sum_pnl; /* sums of the parts */
    int linked_ok;           /* 0 if some 1 + R_t <= 0: linked values NaN */
} cpo_attrib_assets;

/* One row of a risk decomposition. */
typedef struct cpo_attrib_risk_row {
    long instr;          /* index in the market; -1 revaluation, -2 residual,
                            -3 the option positions (ex post, with options) */
    double weight;       /* ex ante: exposure / equity; ex post: mean of the
                            start-of-step weights */
    double marginal;     /* ex ante: (S w)_i / sigma_p; ex post: NaN */
    double contribution; /* CCR_i (return per bar) */
} cpo_attrib_risk_row;

typedef struct cpo_attrib_risk {
    double periods_per_year;
    /* Ex ante, at the last rebalance: w at the close of the step of the
     * last (non-liquidation) fill, S the sample covariance (divisor T - 1)
     * of the held instruments' returns over the cov_window bars ending at
     * that close. */
    int ante_ok;
    char ante_note[256];     /* why not, when ante_ok = 0 */
    int64_t ante_ts;         /* bar open of that step */
    size_t ante_rows;        /* return rows used */
    size_t n_ante;
    cpo_attrib_risk_row *ante;
    double ante_sigma;       /* sqrt(w' S w) per bar */
    double ante_sum;         /* sum of the contributions */
    /* Ex post over the run: CCR_j = cov(c_j, r_p) / sigma_p with c_j,t
     * the per-step contribution of instrument j (all its lines), plus the
     * book's revaluation and residual lines (and the option positions'
     * lines, with options) so that sum_j c_j,t = r_p,t. */
    int post_ok;
    char post_note[256];
    size_t n_post;
    cpo_attrib_risk_row *post;
    double post_sigma;       /* sample sd of the step returns (T - 1) */
    double post_sum;
} cpo_attrib_risk;

/* The factor attribution, one row per period. */
typedef struct cpo_attrib_factors {
    int available;           /* 0: no factor could be built (note says why) */
    int proxy;               /* 1: CMKT is the proxy coin's return - rf */
    int used[CPO_FACTOR_COUNT]; /* in the model */
    size_t k;                /* factors in the model */
    char note[512];          /* what was built from what, or why not */
    size_t n_coins_universe; /* coins considered */
    size_t n_periods;
    int64_t *start_ms, *end_ms; /* [n_periods] first bar open, last bar end */
    size_t *bars;            /* run steps in each period */
    double *r;               /* portfolio return */
    double *rf;              /* risk-free return */
    double *f;               /* [n_periods * CPO_FACTOR_COUNT], NaN = not built */
    size_t *n_coins;         /* eligible coins (caps >= min and returns) */
    uint8_t *in_sample;      /* every factor of the model finite */
    /* full sample (over in-sample periods) */
    int full_ok;
    char full_note[256];
    cpo_attrib_ols full;     /* coefficient j + 1 is the j-th factor used */
    double *full_resid;      /* [n_periods]: e_t, or NaN out of sample */
    /* rolling (coefficients per CPO_FACTOR index; NaN when not used) */
    uint8_t *estimated;
    double *roll_coef;       /* [n_periods * (1 + CPO_FACTOR_COUNT)] alpha, betas */
    double *roll_contrib;    /* [n_periods * (1 + CPO_FACTOR_COUNT)] alpha, beta f */
    double *roll_resid;      /* [n_periods] */
    /* holdings-based: exposures E_k at the start of each period */
    double *expo;            /* [n_periods * CPO_FACTOR_COUNT] */
    double *common, *specific, *tilt, *timing; /* [n_periods] */
} cpo_attrib_factors;

/* Compute every table from the rows received and the run's result.
 * Problems of one table (no caps, too few periods, no rebalance) are
 * notes in that table, not errors; errors are out of memory and a
 * result that does not belong to the market the collector was made on. */
int cpo_attrib_compute(cpo_attrib *a, const cpo_result *r, cpo_error *err);

/* The tables (after cpo_attrib_compute; NULL before). */
const cpo_attrib_assets *cpo_attrib_get_assets(const cpo_attrib *a);
const cpo_attrib_risk *cpo_attrib_get_risk(const cpo_attrib *a);
const cpo_attrib_factors *cpo_attrib_get_factors(const cpo_attrib *a);

/* --- by Greek ------------------------------------------------------------------ */

/*
 * The change in equity of each step, E_t - E_{t-1} (E_-1 = the capital),
 * split into lines in the reporting currency:
 *
 *   delta        the price line (spot, perpetuals and futures marked to
 *                market at constant position: their P&L is delta P&L)
 *                plus the options' Taylor delta term (result.greek)
 *   gamma .. rho the options' Taylor terms (result.greek)
 *   unexplained  the options line less its Taylor terms
 *                (result.greek[CPO_GREEK_UNEXPLAINED]; the whole options
 *                line when the result has no Greek explain)
 *   funding, fees (option trading and delivery fees included: the engine
 *                books them in the fees line), slippage, liquidation,
 *                revaluation: the engine's lines
 *   residual     the change in equity less all the lines above: the
 *                engine's residual line, up to rounding
 *
 * so that the lines of every step add up to its change in equity (in
 * doubles: to the rounding of one sum of 14 terms).  A run without options
 * has the same table with delta = the price line and gamma .. unexplained 0.
 */
typedef enum cpo_attrib_greek_line {
    CPO_AG_DELTA = 0,
    CPO_AG_GAMMA,
    CPO_AG_VEGA,
    CPO_AG_THETA,
    CPO_AG_VANNA,
    CPO_AG_VOLGA,
    CPO_AG_RHO,
    CPO_AG_UNEXPLAINED,
    CPO_AG_FUNDING,
    CPO_AG_FEES,
    CPO_AG_SLIPPAGE,
    CPO_AG_LIQUIDATION,
    CPO_AG_REVALUATION,
    CPO_AG_FINANCING,     /* runs with [financing] only (has_financing) */
    CPO_AG_RESIDUAL,
    CPO_AG_COUNT
} cpo_attrib_greek_line;

/* "delta", ..., "unexplained", "funding", ..., "residual". */
const char *cpo_attrib_greek_name(cpo_attrib_greek_line l);

typedef struct cpo_attrib_greeks {
    size_t n_steps;
    int has_options;         /* the result had options (result.greek set) */
    int64_t *ts;             /* [n_steps] bar opens */
    double *equity;          /* [n_steps] E_t */
    double *change;          /* [n_steps] E_t - E_{t-1} */
    double *line;            /* [n_steps * CPO_AG_COUNT], step-major */
    int has_financing;       /* the financing column is written */
    double total_change;     /* E_T - capital */
    double total[CPO_AG_COUNT]; /* each line summed over the run */
    double max_gap;          /* max over steps of |sum of lines - change| /
                                max(|E_t|, 1): rounding only */
    double max_residual_gap; /* max |residual - engine's residual line| /
                                max(|E_t|, 1): 0 up to rounding when the
                                result's Greek lines add up to its options line */
} cpo_attrib_greeks;

/* The table of r (no collector needed).  CPO_EINVAL for a result without
 * steps, CPO_ENOMEM.  *g is overwritten (free it with cpo_attrib_greeks_free). */
int cpo_attrib_greeks_compute(cpo_attrib_greeks *g, const cpo_result *r, cpo_error *err);
void cpo_attrib_greeks_free(cpo_attrib_greeks *g);

/*
 * attribution_greek.csv: '#' notes, then one row per step: ts (bar open),
 * equity, total (the change in equity), the lines of cpo_attrib_greek_line
 * (per step), then cum_total and cum_<line>: the running sums from the
 * start of the run.  Every step is written (no thinning): the per-step
 * rows add up, line by line, to the change in equity of the step.
 */
int cpo_attrib_greeks_write(const cpo_attrib_greeks *g, const char *path, cpo_error *err);
/* The same bytes to a stream (the caller opens and closes it). */
void cpo_attrib_greeks_put(const cpo_attrib_greeks *g, FILE *fp);

/* --- files ------------------------------------------------------------------ */

/* The files of cpo_attrib_write, in this order (columns: README.md,
 * "Attribution"). */
typedef enum cpo_attrib_file {
    CPO_ATTRIB_FILE_ASSET = 0,      /* attribution_asset.csv */
    CPO_ATTRIB_FILE_ASSET_SERIES,   /* attribution_asset_series.csv */
    CPO_ATTRIB_FILE_RISK,           /* attribution_risk.csv */
    CPO_ATTRIB_FILE_FACTOR,         /* attribution_factor.csv */
    CPO_ATTRIB_FILE_FACTOR_ROLLING, /* attribution_factor_rolling.csv */
    CPO_ATTRIB_FILE_GREEK,          /* attribution_greek.csv (cpo_attrib_greeks_write) */
    CPO_ATTRIB_FILE_COUNT
} cpo_attrib_file;

const char *cpo_attrib_file_name(cpo_attrib_file f);

/*
 * Compute the tables (if not yet) and write each file to paths[f].  Lines
 * starting with '#' are notes; the first other line is the header.
 * Numbers are printed with 17 significant digits ("nan" when missing),
 * so the same run gives the same bytes.
 */
int cpo_attrib_write(cpo_attrib *a, const cpo_result *r,
                     const char *const paths[CPO_ATTRIB_FILE_COUNT], cpo_error *err);

/* The same bytes, each table to its stream fps[f] (the caller opens and
 * closes them: files, or memory for cpo/api.h). */
int cpo_attrib_put(cpo_attrib *a, const cpo_result *r, FILE *const fps[CPO_ATTRIB_FILE_COUNT],
                   cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
