/*
 * cpo/stats.h - statistics that say how far a backtest can be trusted:
 * the probabilistic and deflated Sharpe ratios (Bailey & Lopez de Prado
 * 2012, 2014), the probability of backtest overfitting by combinatorially
 * symmetric cross-validation (Bailey, Borwein, Lopez de Prado & Zhu 2015),
 * the splits and paths of combinatorial purged cross-validation (Lopez de
 * Prado 2018, ch. 12), and confidence intervals from the stationary block
 * bootstrap (Politis & Romano 1994).
 *
 * Conventions.
 *   - Returns are simple returns per bar.  Sharpe ratios here are per bar
 *     (not annualised) unless a name says otherwise: SR = mean / sd with
 *     the sample standard deviation (divisor n - 1).
 *   - Kurtosis is the plain (non-excess) kurtosis: 3 for a normal
 *     distribution.  Skewness and kurtosis of a sample are GSL's
 *     (gsl_stats_skew, gsl_stats_kurtosis + 3): central moments over n
 *     divided by powers of the sample standard deviation.
 *   - The normal distribution is GSL's (gsl_cdf_ugaussian_P / _Pinv);
 *     random numbers are GSL's Mersenne Twister (gsl_rng_mt19937) seeded
 *     with the caller's seed, so a result depends only on its inputs.
 *   - Every fallible function returns 0 or a negative CPO_E* code and
 *     fills the optional err with "what: what is wrong (what was
 *     expected)".  Statistics that are not defined on the data are NaN.
 *   - Nothing here allocates on the caller's behalf; arrays belong to
 *     the caller.  No global state: any function may run on any thread.
 */
#ifndef CPO_STATS_H
#define CPO_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- moments of a return series ------------------------------------------ */

/* Sufficient statistics of a stretch of returns: count, sum of r, sum of
 * r^2 and sum of log(1 + r).  Stretches add (cpo_stats_block_add). */
typedef struct cpo_stats_block {
    double n, sum, sumsq, sumlog;
} cpo_stats_block;

void cpo_stats_block_add(cpo_stats_block *acc, const cpo_stats_block *b);
/* Add one return (a NaN is skipped). */
void cpo_stats_block_push(cpo_stats_block *acc, double r);
/* mean / sd (sample sd, n - 1) of the stretch; NaN if n < 2 or sd = 0. */
double cpo_stats_block_sharpe(const cpo_stats_block *b);

/* Sharpe (per bar), skewness and kurtosis (non-excess) of the finite
 * values of r; NaN where fewer than 2 (3 for skewness and kurtosis)
 * finite values or a zero standard deviation.  Any out may be NULL. */
void cpo_stats_moments(const double *r, size_t n, double *sharpe, double *skew, double *kurt);

/* --- probabilistic and deflated Sharpe ratios ------------------------------ */

/* E[max of N independent standard normals], Bailey & Lopez de Prado 2014
 * eq. (the "False Strategy" theorem): (1 - g) Z(1 - 1/N) + g Z(1 - 1/(N e))
 * with g the Euler-Mascheroni constant and Z the standard normal
 * quantile.  NaN for N < 2. */
double cpo_stats_expected_max_z(double n_trials);

/*
 * Probabilistic Sharpe ratio (Bailey & Lopez de Prado 2012): the
 * probability that the true Sharpe ratio exceeds sr_star, given sr
 * observed on n_obs returns with skewness skew and kurtosis kurt:
 *
 *   PSR = Phi( (sr - sr_star) sqrt(n_obs - 1) /
 *              sqrt(1 - skew sr + (kurt - 1) / 4 sr^2) )
 *
 * sr and sr_star per bar.  NaN if an input is not finite, n_obs < 2 or
 * the variance term is not positive.
 */
double cpo_stats_psr(double sr, double sr_star, double n_obs, double skew, double kurt);

typedef struct cpo_stats_dsr {
    double sr0;  /* expected maximum Sharpe of the trials under the null:
                    sqrt(var_trials) * E[max Z] (per bar) */
    double z;    /* the PSR statistic against sr0 */
    double dsr;  /* Phi(z): the deflated Sharpe ratio */
} cpo_stats_dsr;

/*
 * Deflated Sharpe ratio (Bailey & Lopez de Prado 2014): the PSR of the
 * chosen trial against sr0 = sqrt(var_trials) E[max Z](n_trials), with
 * var_trials the variance of the trials' (per-bar) Sharpe ratios.
 * Fields are NaN when not defined (n_trials < 2, var_trials not finite,
 * n_obs < 2); never an error.
 */
void cpo_stats_dsr_compute(cpo_stats_dsr *out, double sr, double var_trials, double n_trials,
                           double n_obs, double skew, double kurt);

/* --- CSCV: the probability of backtest overfitting ----------------------- */

#define CPO_STATS_CSCV_MAX_BLOCKS 20

typedef struct cpo_stats_pbo {
    size_t n_strategies;  /* N: strategies with a statistic in every block */
    size_t n_blocks;      /* S */
    size_t n_splits;      /* C(S, S/2) */
    double pbo;           /* fraction of splits whose logit <= 0 */
    double logit_mean;    /* mean of the logits */
    double logit_median;
    double prob_oos_loss; /* fraction of splits where the chosen strategy's
                             out-of-sample Sharpe is < 0 */
    double degradation;   /* slope of OOS on IS Sharpe of the chosen strategy
                             over the splits (least squares); NaN if the IS
                             values do not vary */
} cpo_stats_pbo;

/*
 * The probability of backtest overfitting by combinatorially symmetric
 * cross-validation (Bailey, Borwein, Lopez de Prado & Zhu 2015, as in
 * their reference code and pypbo): blocks[j * n_blocks + s] holds the
 * returns of strategy j in block s (S = n_blocks, even, 2 .. 20).  For
 * every one of the C(S, S/2) ways to pick S/2 blocks as the training set
 * (lexicographic order), the strategy with the highest Sharpe ratio on the
 * training blocks (the first on ties) is ranked by its Sharpe ratio on the
 * other S/2 blocks among all N (rank 1 = worst, ties share their average
 * rank); omega = rank / (N + 1), logit = ln(omega / (1 - omega)).
 * PBO = the fraction of splits with logit <= 0.
 *
 * A strategy whose Sharpe ratio is not defined on some union (too few
 * returns, zero variance) ranks lowest there.  logits (may be NULL) gets
 * n_splits values.  CPO_EINVAL for N < 2 or a bad S.
 */
int cpo_stats_cscv(cpo_stats_pbo *out, double *logits, const cpo_stats_block *blocks,
                   size_t n_strategies, size_t n_blocks, cpo_error *err);

/* Split rows 0 .. t-1 of a t x n row-major return matrix into s blocks as
 * pypbo does (the first t mod s rows dropped, then s blocks of t / s
 * rows) and fill blocks[j * s + b].  CPO_EINVAL if t < 2 s. */
int cpo_stats_blocks_from_matrix(cpo_stats_block *blocks, const double *m, size_t t, size_t n,
                                 size_t s, cpo_error *err);

/* n choose k as a double (exact below 2^53). */
double cpo_stats_binom(size_t n, size_t k);

/* --- CPCV: combinatorial purged cross-validation ---------------------------- */

#define CPO_STATS_CPCV_MAX_GROUPS 12

/*
 * The splits of CPCV with n_groups groups and k test groups each, in
 * lexicographic order of the test groups: test[s * n_groups + g] = 1 if
 * group g is a test group of split s.  n_splits = C(n_groups, k) (the
 * caller sizes test from cpo_stats_binom).  The paths (Lopez de Prado 2018,
 * 12.4): every group is a test group of C(n_groups - 1, k - 1) splits;
 * path p takes group g's test returns from the p-th of those splits, so
 * path_split[p * n_groups + g] is that split and there are
 * n_paths = C(n_groups - 1, k - 1) paths (may be NULL).
 * CPO_EINVAL unless 1 <= k < n_groups <= CPO_STATS_CPCV_MAX_GROUPS.
 */
int cpo_stats_cpcv(uint8_t *test, int32_t *path_split, size_t n_groups, size_t k,
                   cpo_error *err);

/* The first step of group g when t steps are cut into n_groups groups:
 * floor(g t / n_groups) (g = n_groups gives t). */
size_t cpo_stats_group_start(size_t g, size_t t, size_t n_groups);

/*
 * The training steps of one split: train[i] = 1 for the steps of groups
 * that are not test groups, less the purge steps before each test group
 * (the last `purge` steps of the group just before it, whose outcomes
 * overlap the test period) and the embargo steps after each test group
 * (the first `embargo` steps of the group just after it).  CPO_EINVAL when
 * purge + embargo is not less than the shortest group.
 */
int cpo_stats_cpcv_train(uint8_t *train, size_t t, const uint8_t *test_groups, size_t n_groups,
                         size_t purge, size_t embargo, cpo_error *err);

/* --- the stationary bootstrap ------------------------------------------------ */

/*
 * Indices of one stationary-bootstrap resample of n observations (Politis
 * & Romano 1994): idx[0] uniform on 0 .. n-1; then with probability p a
 * new block starts at a uniform index, else idx[i] = idx[i-1] + 1 (mod n,
 * the series wrapped on a circle).  Block lengths are geometric with mean
 * 1/p.  rng is a gsl_rng * (void * keeps GSL out of this header).
 */
void cpo_stats_stationary_indices(size_t *idx, size_t n, double p, void *rng);

typedef struct cpo_stats_boot_opts {
    size_t samples;          /* resamples (1000) */
    double block;            /* mean block length in bars; 0: n^(1/3) rounded, >= 1 */
    double level;            /* two-sided confidence level (0.95) */
    uint64_t seed;           /* of gsl_rng_mt19937 (0 is GSL's default seed) */
    double periods_per_year; /* for Sharpe and CAGR (365) */
} cpo_stats_boot_opts;

void cpo_stats_boot_opts_init(cpo_stats_boot_opts *o);

/* A statistic and its bootstrap distribution. */
typedef struct cpo_stats_ci {
    double estimate; /* on the sample itself */
    double lo, hi;   /* percentile interval: the (1 - level)/2 and
                        (1 + level)/2 quantiles of the resampled values
                        (linear interpolation between order statistics) */
    double se;       /* standard deviation of the resampled values */
} cpo_stats_ci;

typedef struct cpo_stats_boot {
    size_t n_obs, samples;
    double block, level;
    uint64_t seed;
    cpo_stats_ci sharpe;       /* annualised: mean / sd * sqrt(A) */
    cpo_stats_ci cagr;         /* prod(1 + r)^(A / n) - 1 (-1 once wealth <= 0) */
    cpo_stats_ci max_drawdown; /* 1 - min W / running max W, a positive fraction */
} cpo_stats_boot;

/*
 * Percentile confidence intervals of the Sharpe ratio, CAGR and maximum
 * drawdown of the returns r (NaN entries are dropped first) from
 * o->samples stationary-bootstrap resamples with mean block length
 * o->block.  Deterministic under o->seed.  CPO_EDATA for fewer than 3
 * finite returns; CPO_EINVAL for bad options.
 */
int cpo_stats_bootstrap(cpo_stats_boot *out, const double *r, size_t n,
                        const cpo_stats_boot_opts *o, cpo_error *err);

/* The three statistics of one series (wealth path starting at 1): the
 * estimates the bootstrap reports.  A as periods per year. */
void cpo_stats_path_metrics(const double *r, size_t n, double periods_per_year, double *sharpe,
                            double *cagr, double *max_drawdown);

#ifdef __cplusplus
}
#endif
#endif
