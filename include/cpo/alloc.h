/*
 * cpo/alloc.h - allocation building blocks (METHODS §6 and §4c):
 * covariance and mean estimators, portfolio optimisers, risk
 * contributions, volatility targeting and hedge ratios.
 *
 * Conventions.
 *   - Returns are simple returns per bar in row-major T x N arrays:
 *     x[t * n + i] is the return of asset i in period t, oldest first.
 *     They must be finite (NaN is refused with CPO_EDATA).
 *   - Covariance matrices are N x N, row-major, symmetric, in units of
 *     (return per bar)^2.  Expected returns are per bar.
 *   - Weights are fractions of equity; the budget is sum w = 1.
 *   - Output arrays belong to the caller; on error their contents are
 *     unspecified.
 *   - Every fallible function returns 0 or a negative CPO_E* code and
 *     fills the optional err with "what: what is wrong (what was
 *     expected)".  Bad inputs: n = 0 or a NaN (CPO_EINVAL / CPO_EDATA), a
 *     covariance that is not symmetric or not positive (semi-)definite
 *     (CPO_ENUMERIC), infeasible bounds (CPO_EINVAL).
 *   - ws is an optional workspace (cpo_alloc_ws_new).  A workspace grows
 *     to the largest problem it has seen and is then reused, so calls
 *     that pass one allocate nothing in steady state.  With ws = NULL a
 *     call allocates and frees its own.  A workspace serves one thread at
 *     a time; nothing else is shared, and there is no global state.
 *   - GSL does the linear algebra (BLAS, gsl_eigen_symm, Cholesky) and
 *     its return codes are checked, so a matrix that is not positive
 *     definite is an error code.  GSL's default error handler aborts the
 *     process instead: a program linking libcpo calls
 *     gsl_set_error_handler_off() once at start, as cpo's own do.
 */
#ifndef CPO_ALLOC_H
#define CPO_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- workspace -------------------------------------------------------------- */

typedef struct cpo_alloc_ws cpo_alloc_ws;

/* A workspace sized up front for n assets and t return rows (either may be
 * 0: it grows on first use).  Owned by the caller (cpo_alloc_ws_free).
 * Buffers only grow; the eigen-solver workspace of the mean-variance
 * solver fits one size exactly and is remade when n changes. */
int cpo_alloc_ws_new(cpo_alloc_ws **out, size_t n, size_t t, cpo_error *err);
void cpo_alloc_ws_free(cpo_alloc_ws *ws); /* NULL is a no-op */

/* --- covariance ------------------------------------------------------------- */

typedef enum cpo_alloc_cov_kind {
    CPO_COV_SAMPLE = 0,      /* "sample": demeaned, divided by T - ddof */
    CPO_COV_EWMA = 1,        /* "ewma": RiskMetrics, zero mean */
    CPO_COV_LW_IDENTITY = 2, /* "ledoit_wolf": shrunk to m*I (LW 2004) */
    CPO_COV_LW_CONSTCORR = 3 /* "ledoit_wolf_cc": shrunk to constant correlation (LW 2003) */
} cpo_alloc_cov_kind;

const char *cpo_alloc_cov_name(cpo_alloc_cov_kind k);          /* "sample", ... */
int cpo_alloc_cov_parse(const char *s, cpo_alloc_cov_kind *out); /* CPO_EINVAL if unknown */

typedef struct cpo_alloc_cov_spec {
    cpo_alloc_cov_kind kind;
    double lambda;    /* EWMA decay per bar, in (0, 1) (0.94; see cpo_alloc_ewma_lambda) */
    size_t seed_rows; /* EWMA: seed with the first m rows; 0 = min(T, 10) */
    int ddof;         /* sample: divisor T - ddof (1) */
} cpo_alloc_cov_spec;

void cpo_alloc_cov_spec_init(cpo_alloc_cov_spec *s); /* sample, ddof 1, lambda 0.94 */

/* The estimator of spec on x (t x n) into cov (n x n).  shrinkage (may be
 * NULL) gets the Ledoit-Wolf intensity in [0, 1], 0 for the others. */
int cpo_alloc_cov(double *cov, double *shrinkage, const double *x, size_t t, size_t n,
                  const cpo_alloc_cov_spec *spec, cpo_alloc_ws *ws, cpo_error *err);

/* Sample covariance: S = Xc'Xc / (T - ddof), Xc demeaned; T > ddof. */
int cpo_alloc_cov_sample(double *cov, const double *x, size_t t, size_t n, int ddof,
                         cpo_alloc_ws *ws, cpo_error *err);

/*
 * EWMA (RiskMetrics 1996, ch. 5): S_0 = (1/m) sum_{s<m} r_s r_s' (taken
 * about zero, like the recursion), then S_s = lambda S_{s-1} +
 * (1 - lambda) r_s r_s' for s = m .. T-1.  seed_rows = 0 means
 * m = min(T, 10).
 */
int cpo_alloc_cov_ewma(double *cov, const double *x, size_t t, size_t n, double lambda,
                       size_t seed_rows, cpo_alloc_ws *ws, cpo_error *err);

/*
 * Ledoit-Wolf shrinkage on demeaned X with S = X'X/T.
 *   constcorr = 0: target m*I, m = tr(S)/N; d^2 = |S - mI|_F^2 / N;
 *     b^2 = (1/(NT)) [ (1/T) sum_t |x_t|^4 - |S|_F^2 ]; s = min(b^2, d^2)/d^2
 *     (scikit-learn ledoit_wolf_shrinkage; LW 2004).
 *   constcorr = 1: target F_ii = S_ii, F_ij = rbar sqrt(S_ii S_jj) with
 *     rbar the mean off-diagonal correlation; s = max(0, min(1, (pi - rho)
 *     / gamma / T)) (LW 2003, "Honey, I shrunk...", their covCor.m).
 * cov = (1 - s) S + s F.  T >= 2.
 */
int cpo_alloc_cov_ledoit_wolf(double *cov, double *shrinkage, const double *x, size_t t,
                              size_t n, int constcorr, cpo_alloc_ws *ws, cpo_error *err);

/* The decay per bar with the same half-life in time as a daily lambda:
 * lambda_daily^(bar_ms / 1 day); hourly bars: lambda_d^(1/24).  (METHODS
 * marks this conversion [U]: a derivation, not a RiskMetrics parameter.) */
double cpo_alloc_ewma_lambda(double lambda_daily, int64_t bar_ms);

/* Bars per year for annualising (365 days a year; hourly bars 8760). */
double cpo_alloc_periods_per_year(int64_t bar_ms);

/* --- expected returns ---------------------------------------------------- */

/* Historical mean per column. */
int cpo_alloc_mean_hist(double *mu, const double *x, size_t t, size_t n, cpo_error *err);

/* Exponentially weighted mean: sum_s lambda^(T-1-s) r_s / sum_s
 * lambda^(T-1-s) (the newest row has weight 1). */
int cpo_alloc_mean_ewma(double *mu, const double *x, size_t t, size_t n, double lambda,
                        cpo_error *err);

/* --- constraints and solver options -------------------------------------- */

typedef struct cpo_alloc_bounds {
    const double *lower; /* [n] per-asset minimum weight, or NULL: lo for all */
    const double *upper; /* [n] per-asset maximum weight, or NULL: hi for all */
    double lo, hi;       /* 0 and 1: long-only */
    double leverage;     /* > 0: also sum |w| <= leverage (>= 1; long/short);
                            0 = no leverage budget */
} cpo_alloc_bounds;

void cpo_alloc_bounds_init(cpo_alloc_bounds *b); /* long-only, 0 <= w <= 1 */

typedef struct cpo_alloc_opt {
    cpo_alloc_bounds bounds;
    double gamma;    /* risk aversion (mean-variance), > 0; 1 */
    double tol;      /* stop when a proximal-gradient step moves every
                        weight by less than tol; 1e-10 */
    size_t max_iter; /* 20000 */
    int warm_start;  /* 1: start from w as given (projected); 0: from 1/n */
    /* Transaction costs of moving from the current weights w0 (all NULL
     * and turnover_max 0: none, and the solver is the cost-free one,
     * bit for bit).  With z = w - w0 the objective gains
     *     sum_i tc_lin[i] |z_i| + tc_impact[i] |z_i|^(3/2)
     * (cvxportfolio's model: linear fees and spread, and market impact
     * b sigma_i sqrt(V / volume_i) |z_i|^(3/2) per unit of value, in the
     * same units as the objective), and with turnover_max > 0 the
     * constraint sum_i |z_i| <= turnover_max (raised to the least turnover
     * the bounds allow when that is larger: res->turnover_min says so).
     * Not with a leverage budget (CPO_EINVAL). */
    const double *w0;        /* [n] current weights; NULL = 0 */
    const double *tc_lin;    /* [n] >= 0, or NULL = 0 */
    const double *tc_impact; /* [n] >= 0, or NULL = 0 */
    double turnover_max;     /* > 0: a turnover limit; 0: none */
} cpo_alloc_opt;

void cpo_alloc_opt_init(cpo_alloc_opt *o);

typedef struct cpo_alloc_result {
    /* Optimality at the returned w.  Mean-variance: the projected-gradient
     * residual L * max_i |w_i - P(w - g/L)_i| with g the gradient, L the
     * step constant and P the projection onto the constraints; it is 0
     * exactly when the KKT conditions hold.  ERC: max_i |x_i (Sx)_i - b_i|
     * of the unnormalised solution.  HRP and closed forms: 0. */
    double kkt;
    double objective; /* mean-variance: (gamma/2) w'Sw - mu'w; NaN otherwise */
    size_t iterations;
    int converged;    /* 1: the stopping rule was met before max_iter */
    /* With costs: the cost term at w (included in objective), the
     * turnover sum |w - w0|, and the least turnover the bounds allow. */
    double cost, turnover, turnover_min;
} cpo_alloc_result;

/*
 * Exact Euclidean projection of v onto {sum w = 1, lower <= w <= upper}
 * and, when b->leverage > 0, sum |w| <= leverage: w_i = clip(phi(v_i -
 * theta), l_i, u_i) with phi(z) = z for z > 0, 0 for -kappa <= z <= 0,
 * z + kappa below (kappa = 0 without a leverage budget), theta and kappa
 * found by safeguarded Newton / bisection (METHODS: "Sigma is monotone in
 * theta").  w and v may be the same array.
 */
int cpo_alloc_project(double *w, const double *v, size_t n, const cpo_alloc_bounds *b,
                      cpo_alloc_ws *ws, cpo_error *err);

/* --- optimisers ------------------------------------------------------------ */

/*
 * Mean-variance: max mu'w - (gamma/2) w'Sw subject to the bounds, by FISTA
 * with adaptive restart and the exact projection; step 1/L with L =
 * gamma * lambda_max(S) (gsl_eigen_symm, which also refuses a matrix with
 * a negative eigenvalue).  mu = NULL is minimum variance.  res may be NULL.
 * On entry w holds the warm start when opt->warm_start.  With the cost
 * terms of opt the step is the proximal map of the costs restricted to the
 * bounds and the budget (exact per coordinate: soft threshold, then the
 * root of a quadratic in sqrt|z| for the 3/2 power; the budget's and the
 * turnover's multipliers by bisection).
 */
int cpo_alloc_meanvar(double *w, cpo_alloc_result *res, const double *cov, const double *mu,
                      size_t n, const cpo_alloc_opt *opt, cpo_alloc_ws *ws, cpo_error *err);

/* Minimum variance: cpo_alloc_meanvar with mu = NULL. */
int cpo_alloc_minvar(double *w, cpo_alloc_result *res, const double *cov, size_t n,
                     const cpo_alloc_opt *opt, cpo_alloc_ws *ws, cpo_error *err);

/*
 * The budget-only closed form (METHODS §6, by Cholesky): w = S^-1 1 / (1'S^-1 1)
 * + (1/gamma) [S^-1 mu - (1'S^-1 mu / 1'S^-1 1) S^-1 1].  mu = NULL gives
 * the unconstrained minimum-variance portfolio.  S must be positive
 * definite.
 */
int cpo_alloc_meanvar_budget(double *w, const double *cov, const double *mu, size_t n,
                             double gamma, cpo_alloc_ws *ws, cpo_error *err);

/* Inverse volatility (power 1: w ~ 1/sigma_i) or inverse variance (power 2). */
int cpo_alloc_invvol(double *w, const double *cov, size_t n, int power, cpo_error *err);

/*
 * Equal risk contribution (Spinu 2013) by cyclical coordinate descent on
 * min (1/2) x'Sx - sum b_i ln x_i (METHODS §6), w = x / 1'x.  budget = NULL
 * gives b_i = 1/n; otherwise b > 0, normalised to sum 1.  shares (may be
 * NULL) gets the risk shares w_i (Sw)_i / w'Sw.  Stops when max_i |x_i
 * (Sx)_i - b_i| < tol (0: 1e-12) or after max_iter sweeps (0: 10000).
 * S must be positive definite (checked by Cholesky).
 */
int cpo_alloc_erc(double *w, double *shares, cpo_alloc_result *res, const double *cov,
                  const double *budget, size_t n, double tol, size_t max_iter,
                  cpo_alloc_ws *ws, cpo_error *err);

typedef enum cpo_alloc_hrp_dist {
    CPO_HRP_D = 0,      /* linkage on d_ij = sqrt((1 - rho_ij)/2) (PyPortfolioOpt) */
    CPO_HRP_D_EUCLID = 1 /* on the Euclidean distance between columns of d
                            (Lopez de Prado 2016) */
} cpo_alloc_hrp_dist;

/*
 * Hierarchical risk parity (Lopez de Prado 2016): single-linkage
 * clustering (minimum spanning tree, merges in order of distance, the
 * smaller cluster id on the left as scipy labels them), quasi-diagonal
 * order (left before right), recursive bisection of that order into
 * halves with alpha = 1 - V1/(V1 + V2), V the variance of a half's
 * inverse-variance portfolio.  order (may be NULL) gets the leaf order.
 */
int cpo_alloc_hrp(double *w, size_t *order, const double *cov, size_t n,
                  cpo_alloc_hrp_dist dist, cpo_alloc_ws *ws, cpo_error *err);

/* --- Black-Litterman --------------------------------------------------------- */

typedef enum cpo_alloc_bl_omega {
    CPO_BL_HE_LITTERMAN = 0, /* omega_k = tau p_k S p_k' */
    CPO_BL_IDZOREK = 1,      /* omega_k = tau alpha_k p_k S p_k', alpha = (1 - c)/c
                                (Walters' closed form of Idzorek 2005) */
    CPO_BL_GIVEN = 2         /* omega_diag as given */
} cpo_alloc_bl_omega;

typedef struct cpo_alloc_bl {
    const double *w_prior; /* [n] market (cap) weights; NULL = equal weights */
    double delta;          /* risk aversion: prior Pi = delta S w_prior; 2.5 */
    double tau;            /* 0.05 */
    size_t k;              /* number of views (0: posterior = prior) */
    const double *P;       /* [k * n] view portfolios, row-major */
    const double *Q;       /* [k] view returns (per bar, like S) */
    cpo_alloc_bl_omega omega;
    const double *conf;       /* [k] Idzorek confidences in (0, 1] */
    const double *omega_diag; /* [k] CPO_BL_GIVEN: view variances >= 0 */
} cpo_alloc_bl;

void cpo_alloc_bl_init(cpo_alloc_bl *b); /* equal prior, delta 2.5, tau 0.05, no views */

/* delta = (E[r_m] - r_f) / sigma_m^2. */
double cpo_alloc_bl_delta(double excess_return, double variance);

/*
 * Posterior (He-Litterman form, by Cholesky solves, no explicit inverse):
 *   mu_BL = Pi + tau S P' (P tau S P' + Omega)^-1 (Q - P Pi)
 *   S_BL  = S + tau S - tau S P' (P tau S P' + Omega)^-1 P tau S
 * pi, mu (n) and cov_post (n x n) may each be NULL.
 */
int cpo_alloc_bl_posterior(double *pi, double *mu, double *cov_post, const double *cov,
                           size_t n, const cpo_alloc_bl *bl, cpo_alloc_ws *ws,
                           cpo_error *err);

/* --- risk ------------------------------------------------------------------ */

/* Ex-ante Euler contributions (METHODS §4c): sigma_p = sqrt(w'Sw), ccr_i =
 * w_i (Sw)_i / sigma_p, sum ccr = sigma_p.  sigma_p may be NULL. */
int cpo_alloc_risk_contrib(double *ccr, double *sigma_p, const double *w, const double *cov,
                           size_t n, cpo_error *err);

/* Ex-post: r_p = x w per row; ccr_i = cov(w_i r_i, r_p) / sigma_p (sample
 * moments, divisor T - 1), sum ccr = sigma_p = std(r_p).  t >= 2. */
int cpo_alloc_risk_contrib_expost(double *ccr, double *sigma_p, const double *w,
                                  const double *x, size_t t, size_t n, cpo_error *err);

/*
 * Volatility-target leverage (METHODS §6): L = min(max_lev, target /
 * sigma), sigma the annualised forecast; when prev_lev is finite and
 * |L - prev_lev| <= buffer the old leverage stays (no trade).  *changed
 * (may be NULL) is 1 when *lev differs from prev_lev.  sigma = 0 gives
 * max_lev.
 */
int cpo_alloc_voltarget(double *lev, int *changed, double sigma, double target,
                        double max_lev, double prev_lev, double buffer, cpo_error *err);

/*
 * Minimum-variance hedge ratio (Hull §3.5): h = cov(rp, rh) / var(rh), rho
 * their correlation (effectiveness rho^2), on the t pairs given; the
 * caller passes a window that ends at the previous step.  rho may be NULL.
 */
int cpo_alloc_hedge_ratio(double *h, double *rho, const double *rp, const double *rh,
                          size_t t, cpo_error *err);

/* --- benchmark ----------------------------------------------------------- */

/*
 * Time one rebalance (covariance from a 90-return window + solve) for 20
 * and 100 assets per optimiser, best of several runs on seeded data, one
 * line each to out.  Returns 0 or a negative code.
 */
int cpo_alloc_bench(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
