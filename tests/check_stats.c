/*
 * check_stats.c - cpo/stats.h: the deflated Sharpe ratio against the
 * numerical example of its paper, the probabilistic Sharpe ratio by hand,
 * CSCV / PBO on matrices worked out by hand and against a direct
 * computation, the CPCV splits, paths and purged training sets of Lopez de
 * Prado's example, and the stationary bootstrap against the properties
 * Politis & Romano prove and Lo's (2002) standard error of the Sharpe
 * ratio.
 */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/stats.h"
#include "testutil.h"

/*
 * Bailey & Lopez de Prado (2014), "The Deflated Sharpe Ratio", section
 * "A numerical example": N = 100 trials, the best with an annualised
 * Sharpe ratio of 2.5 over 5 years of daily returns (T = 1250, 250 a
 * year), skewness -3, kurtosis 10, and the variance of the trials'
 * annualised Sharpe ratios 1/2.  Per day: SR = 2.5 / sqrt(250), V = 0.5 /
 * 250.  The paper gives SR0 = 0.1132 (per day) and DSR = 0.9004.
 *   E[max Z](100) = (1 - g) Z(0.99) + g Z(1 - 1/(100 e))
 *                 = 0.42278 * 2.32635 + 0.57722 * 2.68087 = 2.53060
 *   SR0 = sqrt(0.002) * 2.53060 = 0.113172
 */
START_TEST(test_stats_dsr__paper_numerical_example)
{
    double sr = 2.5 / sqrt(250.0), v = 0.5 / 250.0;
    ck_assert_double_eq_tol(cpo_stats_expected_max_z(100.0), 2.53060, 5e-5);
    cpo_stats_dsr d;
    cpo_stats_dsr_compute(&d, sr, v, 100.0, 1250.0, -3.0, 10.0);
    /* The paper prints 4 decimals: half a unit of the last one. */
    ck_assert_double_eq_tol(d.sr0, 0.1132, 5e-5);
    ck_assert_double_eq_tol(d.dsr, 0.9004, 5e-5);
    /* More trials, the same Sharpe: a higher bar, a lower DSR. */
    cpo_stats_dsr d2;
    cpo_stats_dsr_compute(&d2, sr, v, 1000.0, 1250.0, -3.0, 10.0);
    ck_assert(d2.sr0 > d.sr0 && d2.dsr < d.dsr);
    /* Undefined cases are NaN, never an error. */
    cpo_stats_dsr_compute(&d2, sr, v, 1.0, 1250.0, -3.0, 10.0);
    ck_assert(isnan(d2.sr0) && isnan(d2.dsr));
    cpo_stats_dsr_compute(&d2, sr, NAN, 10.0, 1250.0, 0.0, 3.0);
    ck_assert(isnan(d2.dsr));
    ck_assert(isnan(cpo_stats_expected_max_z(1.0)));
}
END_TEST

/*
 * PSR with normal returns (skew 0, kurtosis 3): z = (SR - SR*) sqrt(T - 1)
 * / sqrt(1 + SR^2 / 2).  SR = 0.1, SR* = 0, T = 101: z = 0.1 * 10 /
 * sqrt(1.005) = 0.997509; Phi(0.997509) = 0.840746 (normal table:
 * Phi(1.00) = 0.841345, slope phi(1) = 0.241971: 0.841345 - 0.002491 *
 * 0.241971 = 0.840742, to the table's precision).
 */
START_TEST(test_stats_psr__normal_by_hand)
{
    double p = cpo_stats_psr(0.1, 0.0, 101.0, 0.0, 3.0);
    ck_assert_double_eq_tol(p, 0.840742, 2e-5);
    /* Against itself the PSR is 1/2. */
    ck_assert_double_eq_tol(cpo_stats_psr(0.3, 0.3, 50.0, -1.0, 6.0), 0.5, 1e-15);
    ck_assert(isnan(cpo_stats_psr(0.1, 0.0, 1.0, 0.0, 3.0)));
    ck_assert(isnan(cpo_stats_psr(NAN, 0.0, 10.0, 0.0, 3.0)));
}
END_TEST

/* Sharpe, skewness and kurtosis of {1, 2, 3, 4, 10}: mean 4, deviations
 * -3 -2 -1 0 6, sum of squares 50, sample sd sqrt(12.5); third moment
 * (-27 - 8 - 1 + 0 + 216) / 5 = 36, fourth (81 + 16 + 1 + 0 + 1296) / 5 =
 * 278.8; GSL divides by the sample sd: skew 36 / 12.5^1.5, kurtosis
 * 278.8 / 12.5^2.  NaN is skipped. */
START_TEST(test_stats_moments__by_hand)
{
    double r[6] = {1, 2, NAN, 3, 4, 10}, sr, sk, ku;
    cpo_stats_moments(r, 6, &sr, &sk, &ku);
    ck_assert_double_eq_tol(sr, 4.0 / sqrt(12.5), 1e-14);
    ck_assert_double_eq_tol(sk, 36.0 / pow(12.5, 1.5), 1e-14);
    ck_assert_double_eq_tol(ku, 278.8 / (12.5 * 12.5), 1e-13);
    cpo_stats_block b = {0};
    for (int i = 0; i < 6; i++)
        cpo_stats_block_push(&b, r[i]);
    ck_assert_double_eq_tol(cpo_stats_block_sharpe(&b), sr, 1e-14);
    double c[3] = {0.01, 0.01, 0.01};
    cpo_stats_moments(c, 3, &sr, &sk, &ku);
    ck_assert(isnan(sr) && isnan(sk) && isnan(ku));
}
END_TEST

/*
 * CSCV with S = 2 blocks of 2 rows and N = 3 strategies (rows of a block
 * in brackets):
 *
 *        block 0          block 1          SR0      SR1
 *   A    [.03, .01]       [-.01, -.03]     1.4142   -1.4142
 *   B    [.02, .00]       [.00, .02]       0.7071    0.7071
 *   C    [.01, -.01]      [.03, .01]       0         1.4142
 *
 * (each block's sd is 0.01 sqrt(2); SR = mean / sd).  Split 1 trains on
 * block 0: A is best and ranks 1st of 3 (worst) out of sample: omega = 1/4,
 * logit = ln(1/3) < 0.  Split 2 trains on block 1: C is best, worst on
 * block 0: logit ln(1/3).  PBO = 1; the chosen strategy loses out of
 * sample in split 1 only (SR -1.41; C's 0 is not a loss): 1/2.
 * Flipping block 1 to equal block 0 makes A best on both sides: omega =
 * 3/4, logit ln 3 > 0, PBO = 0.
 */
START_TEST(test_stats_cscv__by_hand)
{
    /* rows t = 0..3, columns A B C */
    double m[4 * 3] = {0.03, 0.02, 0.01,   0.01, 0.00, -0.01,
                       -0.01, 0.00, 0.03,  -0.03, 0.02, 0.01};
    cpo_stats_block bl[3 * 2];
    cpo_error e;
    ck_assert_int_eq(cpo_stats_blocks_from_matrix(bl, m, 4, 3, 2, &e), 0);
    cpo_stats_pbo p;
    double lg[2];
    ck_assert_msg(cpo_stats_cscv(&p, lg, bl, 3, 2, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(p.n_splits, 2);
    ck_assert_double_eq_tol(lg[0], log(1.0 / 3.0), 1e-14);
    ck_assert_double_eq_tol(lg[1], log(1.0 / 3.0), 1e-14);
    ck_assert_double_eq(p.pbo, 1.0);
    ck_assert_double_eq(p.prob_oos_loss, 0.5);
    /* Both splits pick a strategy with IS Sharpe sqrt(2): no slope. */
    ck_assert(isnan(p.degradation));

    double g[4 * 3] = {0.03, 0.02, 0.01, 0.01, 0.00, -0.01,
                       0.03, 0.02, 0.01, 0.01, 0.00, -0.01};
    ck_assert_int_eq(cpo_stats_blocks_from_matrix(bl, g, 4, 3, 2, &e), 0);
    ck_assert_int_eq(cpo_stats_cscv(&p, lg, bl, 3, 2, &e), 0);
    ck_assert_double_eq_tol(lg[0], log(3.0), 1e-14);
    ck_assert_double_eq(p.pbo, 0.0);
    ck_assert_double_eq(p.prob_oos_loss, 0.0);
}
END_TEST

/*
 * Ties share their average rank.  Powers of two keep the tied Sharpe
 * ratios equal to the last bit (0.25 / sqrt(0.125) = 0.125 / sqrt(0.03125)):
 *
 *        block 0          block 1          SR0      SR1
 *   A    [.5, 0]          [.5, 0]          0.7071   0.7071
 *   B    [.25, 0]         [.5, 0]          0.7071   0.7071
 *   C    [.125, -.125]    [-.125, -.375]   0        -1
 *
 * Either way A and B tie in sample (A, the first, is chosen) and tie out
 * of sample: ranks C 1, A and B 2.5; omega = 2.5 / 4, logit ln(2.5 / 1.5).
 */
START_TEST(test_stats_cscv__ties_average_rank)
{
    double m[4 * 3] = {0.5, 0.25, 0.125,  0.0, 0.0, -0.125,
                       0.5, 0.5, -0.125,  0.0, 0.0, -0.375};
    cpo_stats_block bl[6];
    cpo_stats_pbo p;
    double lg[2];
    cpo_error e;
    ck_assert_int_eq(cpo_stats_blocks_from_matrix(bl, m, 4, 3, 2, &e), 0);
    ck_assert_int_eq(cpo_stats_cscv(&p, lg, bl, 3, 2, &e), 0);
    ck_assert_double_eq_tol(lg[0], log(2.5 / 1.5), 1e-14);
    ck_assert_double_eq_tol(lg[1], log(2.5 / 1.5), 1e-14);
    ck_assert_double_eq(p.pbo, 0.0);
}
END_TEST

/* S = 4 blocks, N = 5 strategies of seeded noise: every split's logit
 * recomputed here directly from the returns of the rows of each side. */
START_TEST(test_stats_cscv__matches_direct_computation)
{
    enum { T = 43, N = 5, S = 4 };
    double m[T * N];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    for (int i = 0; i < T * N; i++)
        m[i] = 0.001 * (i % N) + gsl_ran_gaussian(r, 0.02);
    gsl_rng_free(r);
    cpo_stats_block bl[N * S];
    cpo_error e;
    ck_assert_int_eq(cpo_stats_blocks_from_matrix(bl, m, T, N, S, &e), 0);
    cpo_stats_pbo p;
    double lg[6];
    ck_assert_int_eq(cpo_stats_cscv(&p, lg, bl, N, S, &e), 0);
    ck_assert_uint_eq(p.n_splits, 6);
    /* Blocks of 10 rows after dropping the first 3 (43 mod 4). */
    static const int train[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
    int below = 0;
    for (int s = 0; s < 6; s++) {
        double is[N], oos[N];
        for (int j = 0; j < N; j++) {
            double a[20], b[20];
            int na = 0, nb = 0;
            for (int blk = 0; blk < S; blk++)
                for (int t = 3 + blk * 10; t < 3 + (blk + 1) * 10; t++) {
                    if (blk == train[s][0] || blk == train[s][1])
                        a[na++] = m[t * N + j];
                    else
                        b[nb++] = m[t * N + j];
                }
            cpo_stats_moments(a, 20, &is[j], NULL, NULL);
            cpo_stats_moments(b, 20, &oos[j], NULL, NULL);
        }
        int best = 0;
        for (int j = 1; j < N; j++)
            if (is[j] > is[best])
                best = j;
        double rank = 1.0;
        for (int j = 0; j < N; j++)
            rank += oos[j] < oos[best];
        double w = rank / (N + 1), want = log(w / (1 - w));
        ck_assert_double_eq_tol(lg[s], want, 1e-12);
        below += want <= 0.0;
    }
    ck_assert_double_eq_tol(p.pbo, below / 6.0, 1e-15);
}
END_TEST

START_TEST(test_stats_cscv__bad_input)
{
    cpo_stats_block bl[8] = {{0}};
    cpo_stats_pbo p;
    cpo_error e;
    ck_assert_int_eq(cpo_stats_cscv(&p, NULL, bl, 1, 2, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "cscv: 1 strategies (expected at least 2 to rank)");
    ck_assert_int_eq(cpo_stats_cscv(&p, NULL, bl, 2, 3, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "cscv: 3 blocks (expected an even number in [2, 20])");
    double m[6] = {0};
    ck_assert_int_eq(cpo_stats_blocks_from_matrix(bl, m, 3, 2, 2, &e), CPO_EINVAL);
    ck_assert_double_eq(cpo_stats_binom(16, 8), 12870.0);
    ck_assert_double_eq(cpo_stats_binom(6, 2), 15.0);
}
END_TEST

/*
 * Lopez de Prado (2018), AFML 12.4 and figure 12.1: N = 6 groups, k = 2
 * test groups: C(6, 2) = 15 splits and phi = k / N * C(6, 2) = 5 paths.
 * Splits in lexicographic order: 0 = {0,1}, 1 = {0,2}, ..., 4 = {0,5},
 * 5 = {1,2}, ..., 14 = {4,5}.  Group 0's test returns come from splits
 * 0..4 (paths 0..4 in that order), group 5's from splits 4, 8, 11, 13, 14.
 */
START_TEST(test_stats_cpcv__splits_and_paths)
{
    uint8_t test[15 * 6];
    int32_t path[5 * 6];
    cpo_error e;
    ck_assert_int_eq(cpo_stats_cpcv(test, path, 6, 2, &e), 0);
    ck_assert(test[0 * 6 + 0] && test[0 * 6 + 1] && !test[0 * 6 + 2]);
    ck_assert(test[14 * 6 + 4] && test[14 * 6 + 5] && !test[14 * 6 + 0]);
    for (int p = 0; p < 5; p++)
        ck_assert_int_eq(path[p * 6 + 0], p);
    static const int g5[5] = {4, 8, 11, 13, 14};
    for (int p = 0; p < 5; p++)
        ck_assert_int_eq(path[p * 6 + 5], g5[p]);
    /* Every path covers every group once, from a split that tests it. */
    for (int p = 0; p < 5; p++)
        for (int g = 0; g < 6; g++)
            ck_assert(test[path[p * 6 + g] * 6 + g]);
    ck_assert_int_eq(cpo_stats_cpcv(test, path, 6, 6, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "cpcv: 6 test groups of 6 (expected 1 <= test groups < groups "
                            "<= 12)");
}
END_TEST

/* 12 steps, 3 groups of 4, group 1 tested, purge 1, embargo 1: group 0
 * loses its last step (purged), group 2 its first (embargoed):
 * 1 1 1 0 | 0 0 0 0 | 0 1 1 1.  purge + embargo = 4 does not fit. */
START_TEST(test_stats_cpcv__purge_and_embargo)
{
    uint8_t tg[3] = {0, 1, 0}, train[12];
    static const uint8_t want[12] = {1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1};
    cpo_error e;
    ck_assert_int_eq(cpo_stats_cpcv_train(train, 12, tg, 3, 1, 1, &e), 0);
    ck_assert_mem_eq(train, want, 12);
    uint8_t tg2[3] = {1, 0, 1};
    static const uint8_t want2[12] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(cpo_stats_cpcv_train(train, 12, tg2, 3, 2, 1, &e), 0);
    ck_assert_mem_eq(train, want2, 12);
    ck_assert_int_eq(cpo_stats_cpcv_train(train, 12, tg, 3, 2, 2, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "cpcv: purge 2 + embargo 2 steps do not fit in a group of 4 steps "
                            "(expected purge + embargo < the shortest group)");
}
END_TEST

/*
 * The stationary bootstrap (Politis & Romano 1994): a new block starts
 * with probability p (a restart lands on the next index anyway with
 * probability 1/n), so the fraction of breaks is p (1 - 1/n); on the
 * circle every index is equally likely, so the resampled mean is unbiased
 * for the sample mean, and with p = 1 (independent draws) its variance is
 * s^2 / n with s^2 the population variance of the sample (Efron's
 * bootstrap).  Tolerances: 4 standard errors of the Monte Carlo averages.
 */
START_TEST(test_stats_bootstrap__stationary_indices)
{
    enum { N = 50, B = 20000 };
    double x[N], xbar = 0.0, s2 = 0.0;
    for (int i = 0; i < N; i++)
        x[i] = sin(0.7 * i) + 0.01 * i;
    for (int i = 0; i < N; i++)
        xbar += x[i] / N;
    for (int i = 0; i < N; i++)
        s2 += (x[i] - xbar) * (x[i] - xbar) / N;
    size_t idx[N];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 42);
    double p = 0.1, breaks = 0, mean_sum = 0.0, mean_sq = 0.0;
    for (int b = 0; b < B; b++) {
        cpo_stats_stationary_indices(idx, N, p, r);
        double m = 0.0;
        for (int i = 0; i < N; i++) {
            m += x[idx[i]] / N;
            if (i && idx[i] != (idx[i - 1] + 1) % N)
                breaks++;
        }
        mean_sum += m;
    }
    double frac = breaks / ((double)B * (N - 1)), want = p * (1.0 - 1.0 / N);
    ck_assert_double_eq_tol(frac, want, 4.0 * sqrt(want * (1 - want) / (B * (N - 1.0))));
    /* Mean unbiased: the resampled means' sd is at most the sd of x. */
    ck_assert_double_eq_tol(mean_sum / B, xbar, 4.0 * sqrt(s2) / sqrt((double)B));
    mean_sum = 0.0;
    for (int b = 0; b < B; b++) {
        cpo_stats_stationary_indices(idx, N, 1.0, r);
        double m = 0.0;
        for (int i = 0; i < N; i++)
            m += x[idx[i]] / N;
        mean_sum += m;
        mean_sq += m * m;
    }
    double var = mean_sq / B - (mean_sum / B) * (mean_sum / B);
    /* Var of a sample variance estimate: about var * sqrt(2 / B). */
    ck_assert_double_eq_tol(var, s2 / N, 4.0 * (s2 / N) * sqrt(2.0 / B));
    gsl_rng_free(r);
}
END_TEST

/*
 * Confidence intervals of i.i.d. normal daily returns (mu 0.001, sigma
 * 0.02, n = 2000, seeded): the bootstrap standard error of the annualised
 * Sharpe ratio should be Lo's (2002) asymptotic one, sqrt((1 + SR^2 / 2)
 * / n) sqrt(365) with SR per day (0.05: 0.4276), within 15 % (the
 * bootstrap's own noise with 2000 resamples is about 2 %, the block
 * resampling of independent data adds a little).  Same seed, same bytes;
 * another seed, another interval; the estimates are the sample's own.
 */
START_TEST(test_stats_bootstrap__sharpe_se_and_determinism)
{
    enum { N = 2000 };
    double *x = malloc(N * sizeof *x);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    for (int i = 0; i < N; i++)
        x[i] = 0.001 + gsl_ran_gaussian(r, 0.02);
    gsl_rng_free(r);
    cpo_stats_boot_opts o;
    cpo_stats_boot_opts_init(&o);
    o.samples = 2000;
    o.seed = 11;
    cpo_stats_boot b1, b2, b3;
    cpo_error e;
    ck_assert_msg(cpo_stats_bootstrap(&b1, x, N, &o, &e) == 0, "%s", tu_errstr(&e));
    double sr, cg, dd;
    cpo_stats_path_metrics(x, N, 365.0, &sr, &cg, &dd);
    ck_assert_double_eq(b1.sharpe.estimate, sr);
    ck_assert_double_eq(b1.cagr.estimate, cg);
    ck_assert_double_eq(b1.max_drawdown.estimate, dd);
    ck_assert_double_eq(b1.block, 13.0); /* round(2000^(1/3)) = round(12.6) */
    double lo = sqrt((1.0 + 0.05 * 0.05 / 2.0) / N) * sqrt(365.0);
    ck_assert_double_eq_tol(b1.sharpe.se, lo, 0.15 * lo);
    ck_assert(b1.sharpe.lo < sr && sr < b1.sharpe.hi);
    ck_assert(b1.cagr.lo < cg && cg < b1.cagr.hi);
    ck_assert(b1.max_drawdown.lo < dd && dd < b1.max_drawdown.hi);
    ck_assert_int_eq(cpo_stats_bootstrap(&b2, x, N, &o, &e), 0);
    ck_assert_mem_eq(&b1, &b2, sizeof b1);
    o.seed = 12;
    ck_assert_int_eq(cpo_stats_bootstrap(&b3, x, N, &o, &e), 0);
    ck_assert(b3.sharpe.lo != b1.sharpe.lo);
    free(x);
}
END_TEST

/* Path metrics by hand: r = {0.1, -0.5, 0.2}, A = 1: wealth 1.1, 0.55,
 * 0.66; CAGR 0.66^(1/3) - 1; drawdown 1 - 0.55 / 1.1 = 0.5; a loss of 100 %
 * ruins: CAGR -1, drawdown 1. */
START_TEST(test_stats_bootstrap__path_metrics_and_bad_input)
{
    double r[3] = {0.1, -0.5, 0.2}, sr, cg, dd;
    cpo_stats_path_metrics(r, 3, 1.0, &sr, &cg, &dd);
    ck_assert_double_eq_tol(cg, cbrt(0.66) - 1.0, 1e-15);
    ck_assert_double_eq_tol(dd, 0.5, 1e-15);
    double mean = -0.2 / 3.0;
    double var = (pow(0.1 - mean, 2) + pow(-0.5 - mean, 2) + pow(0.2 - mean, 2)) / 2.0;
    ck_assert_double_eq_tol(sr, mean / sqrt(var), 1e-14);
    double ruin[3] = {0.1, -1.0, 0.2};
    cpo_stats_path_metrics(ruin, 3, 1.0, &sr, &cg, &dd);
    ck_assert_double_eq(cg, -1.0);
    ck_assert_double_eq(dd, 1.0);
    cpo_stats_boot b;
    cpo_error e;
    double two[3] = {0.1, NAN, 0.2};
    ck_assert_int_eq(cpo_stats_bootstrap(&b, two, 3, NULL, &e), CPO_EDATA);
    ck_assert_str_eq(e.msg, "bootstrap: 2 finite returns (expected at least 3)");
    cpo_stats_boot_opts o;
    cpo_stats_boot_opts_init(&o);
    o.samples = 1;
    ck_assert_int_eq(cpo_stats_bootstrap(&b, r, 3, &o, &e), CPO_EINVAL);
}
END_TEST

int main(void)
{
    gsl_set_error_handler_off();
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stats_dsr__paper_numerical_example);
    tcase_add_test(tc, test_stats_psr__normal_by_hand);
    tcase_add_test(tc, test_stats_moments__by_hand);
    tcase_add_test(tc, test_stats_cscv__by_hand);
    tcase_add_test(tc, test_stats_cscv__ties_average_rank);
    tcase_add_test(tc, test_stats_cscv__matches_direct_computation);
    tcase_add_test(tc, test_stats_cscv__bad_input);
    tcase_add_test(tc, test_stats_cpcv__splits_and_paths);
    tcase_add_test(tc, test_stats_cpcv__purge_and_embargo);
    tcase_add_test(tc, test_stats_bootstrap__stationary_indices);
    tcase_add_test(tc, test_stats_bootstrap__sharpe_se_and_determinism);
    tcase_add_test(tc, test_stats_bootstrap__path_metrics_and_bad_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
