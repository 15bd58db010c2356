/*
 * cscv.c - combinatorially symmetric cross-validation and the probability
 * of backtest overfitting (Bailey, Borwein, Lopez de Prado & Zhu, "The
 * Probability of Backtest Overfitting", J. of Computational Finance 2017;
 * SSRN 2326253), and the split and path bookkeeping of combinatorial purged
 * cross-validation (Lopez de Prado, "Advances in Financial Machine
 * Learning", 2018, ch. 12).  See cpo/stats.h.
 *
 * The Sharpe ratio of a union of blocks comes from the blocks' sums (count,
 * sum of r, sum of r^2), so a split costs N x S additions, not a pass over
 * the returns.
 */
#include "cpo/stats.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

double cpo_stats_binom(size_t n, size_t k)
{
    if (k > n)
        return 0.0;
    if (k > n - k)
        k = n - k;
    double c = 1.0;
    for (size_t i = 1; i <= k; i++)
        c = c * (double)(n - k + i) / (double)i;
    return round(c);
}

/* The next k-combination of 0..n-1 in lexicographic order; 0 after the
 * last. */
static int next_comb(size_t *c, size_t k, size_t n)
{
    size_t i = k;
    while (i > 0 && c[i - 1] == n - k + i - 1)
        i--;
    if (i == 0)
        return 0;
    c[i - 1]++;
    for (size_t j = i; j < k; j++)
        c[j] = c[j - 1] + 1;
    return 1;
}

int cpo_stats_blocks_from_matrix(cpo_stats_block *blocks, const double *m, size_t t, size_t n,
                                 size_t s, cpo_error *err)
{
    if (s == 0 || t < 2 * s)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cscv: %zu rows for %zu blocks (expected at least 2 rows a block)",
                             t, s);
    size_t drop = t % s, len = t / s;
    memset(blocks, 0, n * s * sizeof *blocks);
    for (size_t b = 0; b < s; b++)
        for (size_t r = drop + b * len; r < drop + (b + 1) * len; r++)
            for (size_t j = 0; j < n; j++)
                cpo_stats_block_push(&blocks[j * s + b], m[r * n + j]);
    return 0;
}

/* The average rank (1 = smallest; NaN ranks below everything, NaNs tie)
 * of v[who] among v[0..n-1]: below = how many rank strictly lower, tied =
 * how many equal it (itself included), rank = mean of below+1 .. below+tied.
 * A count, not a sort: a split of the CSCV asks for one rank only. */
static double rank_of(const double *v, size_t n, size_t who)
{
    double x = v[who];
    size_t below = 0, tied = 0;
    if (isnan(x)) {
        for (size_t i = 0; i < n; i++)
            tied += isnan(v[i]) != 0;
    } else {
        for (size_t i = 0; i < n; i++) {
            below += isnan(v[i]) || v[i] < x;
            tied += v[i] == x;
        }
    }
    return 0.5 * (double)(2 * below + 1 + tied);
}

int cpo_stats_cscv(cpo_stats_pbo *out, double *logits, const cpo_stats_block *blocks,
                   size_t n_strategies, size_t n_blocks, cpo_error *err)
{
    memset(out, 0, sizeof *out);
    out->pbo = out->logit_mean = out->logit_median = out->prob_oos_loss = out->degradation = NAN;
    size_t N = n_strategies, S = n_blocks;
    if (N < 2)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cscv: %zu strategies (expected at least 2 to rank)", N);
    if (S < 2 || S % 2 || S > CPO_STATS_CSCV_MAX_BLOCKS)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cscv: %zu blocks (expected an even number in [2, %d])", S,
                             CPO_STATS_CSCV_MAX_BLOCKS);
    size_t ns = (size_t)cpo_stats_binom(S, S / 2), h = S / 2;
    double *is = malloc(N * sizeof *is), *oos = malloc(N * sizeof *oos);
    double *lg = malloc(ns * sizeof *lg), *ris = malloc(ns * sizeof *ris);
    double *roos = malloc(ns * sizeof *roos);
    size_t c[CPO_STATS_CSCV_MAX_BLOCKS];
    uint8_t in[CPO_STATS_CSCV_MAX_BLOCKS];
    int rc = 0;
    if (!is || !oos || !lg || !ris || !roos) {
        rc = nomem(err);
        goto cleanup;
    }
    for (size_t i = 0; i < h; i++)
        c[i] = i;
    size_t s = 0, below = 0, loss = 0;
    do {
        memset(in, 0, sizeof in);
        for (size_t i = 0; i < h; i++)
            in[c[i]] = 1;
        size_t best = 0;
        for (size_t j = 0; j < N; j++) {
            cpo_stats_block a = {0}, b = {0};
            for (size_t q = 0; q < S; q++)
                cpo_stats_block_add(in[q] ? &a : &b, &blocks[j * S + q]);
            is[j] = cpo_stats_block_sharpe(&a);
            oos[j] = cpo_stats_block_sharpe(&b);
            if (!isnan(is[j]) && (isnan(is[best]) || is[j] > is[best]))
                best = j;
        }
        double w = rank_of(oos, N, best) / (double)(N + 1);
        lg[s] = log(w / (1.0 - w));
        ris[s] = is[best];
        roos[s] = oos[best];
        below += lg[s] <= 0.0;
        loss += roos[s] < 0.0;
        s++;
    } while (next_comb(c, h, S));
    out->n_strategies = N;
    out->n_blocks = S;
    out->n_splits = ns;
    out->pbo = (double)below / (double)ns;
    out->prob_oos_loss = (double)loss / (double)ns;
    out->logit_mean = gsl_stats_mean(lg, 1, ns);
    if (logits)
        memcpy(logits, lg, ns * sizeof *lg);
    gsl_sort(lg, 1, ns);
    out->logit_median = gsl_stats_median_from_sorted_data(lg, 1, ns);
    /* Degradation: OLS slope of OOS on IS over the splits with both. */
    double mx = 0.0, my = 0.0, sxx = 0.0, sxy = 0.0;
    size_t m = 0;
    for (size_t q = 0; q < ns; q++)
        if (isfinite(ris[q]) && isfinite(roos[q])) {
            mx += ris[q];
            my += roos[q];
            m++;
        }
    if (m >= 2) {
        mx /= (double)m;
        my /= (double)m;
        for (size_t q = 0; q < ns; q++)
            if (isfinite(ris[q]) && isfinite(roos[q])) {
                sxx += (ris[q] - mx) * (ris[q] - mx);
                sxy += (ris[q] - mx) * (roos[q] - my);
            }
        out->degradation = sxx > 0.0 ? sxy / sxx : NAN;
    }
cleanup:
    free(is);
    free(oos);
    free(lg);
    free(ris);
    free(roos);
    return rc;
}

/* --- CPCV ------------------------------------------------------------------- */

int cpo_stats_cpcv(uint8_t *test, int32_t *path_split, size_t n_groups, size_t k,
                   cpo_error *err)
{
    if (k < 1 || k >= n_groups || n_groups > CPO_STATS_CPCV_MAX_GROUPS)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cpcv: %zu test groups of %zu (expected 1 <= test groups < "
                             "groups <= %d)",
                             k, n_groups, CPO_STATS_CPCV_MAX_GROUPS);
    size_t c[CPO_STATS_CPCV_MAX_GROUPS], used[CPO_STATS_CPCV_MAX_GROUPS] = {0};
    for (size_t i = 0; i < k; i++)
        c[i] = i;
    size_t s = 0;
    do {
        memset(test + s * n_groups, 0, n_groups);
        for (size_t i = 0; i < k; i++) {
            test[s * n_groups + c[i]] = 1;
            if (path_split)
                path_split[used[c[i]]++ * n_groups + c[i]] = (int32_t)s;
        }
        s++;
    } while (next_comb(c, k, n_groups));
    return 0;
}

size_t cpo_stats_group_start(size_t g, size_t t, size_t n_groups)
{
    return (size_t)((unsigned long long)g * t / n_groups);
}

int cpo_stats_cpcv_train(uint8_t *train, size_t t, const uint8_t *test_groups, size_t n_groups,
                         size_t purge, size_t embargo, cpo_error *err)
{
    if (n_groups == 0 || t < n_groups)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cpcv: %zu steps for %zu groups (expected at least one step a "
                             "group)",
                             t, n_groups);
    size_t shortest = t;
    for (size_t g = 0; g < n_groups; g++) {
        size_t len = cpo_stats_group_start(g + 1, t, n_groups) - cpo_stats_group_start(g, t, n_groups);
        if (len < shortest)
            shortest = len;
    }
    if (purge + embargo >= shortest)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cpcv: purge %zu + embargo %zu steps do not fit in a group of %zu "
                             "steps (expected purge + embargo < the shortest group)",
                             purge, embargo, shortest);
    for (size_t g = 0; g < n_groups; g++) {
        size_t a = cpo_stats_group_start(g, t, n_groups), b = cpo_stats_group_start(g + 1, t, n_groups);
        int is_test = test_groups[g] != 0;
        for (size_t i = a; i < b; i++)
            train[i] = !is_test;
        if (is_test)
            continue;
        if (g + 1 < n_groups && test_groups[g + 1])
            for (size_t i = b - purge; i < b; i++)
                train[i] = 0;
        if (g > 0 && test_groups[g - 1])
            for (size_t i = a; i < a + embargo; i++)
                train[i] = 0;
    }
    return 0;
}
