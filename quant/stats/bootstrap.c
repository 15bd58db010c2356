/*
 * bootstrap.c - the stationary bootstrap of Politis & Romano ("The
 * Stationary Bootstrap", JASA 89(428), 1994) and percentile confidence
 * intervals of a return series' Sharpe ratio, CAGR and maximum drawdown.
 * See cpo/stats.h.
 *
 * Random numbers: gsl_rng_mt19937 seeded with the caller's seed; the
 * uniform index is gsl_rng_uniform_int and the block restart a
 * gsl_rng_uniform draw < p, so a resample is a fixed function of the seed.
 */
#include "cpo/stats.h"

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cpo_stats_stationary_indices(size_t *idx, size_t n, double p, void *rng)
{
    gsl_rng *r = rng;
    if (n == 0)
        return;
    idx[0] = (size_t)gsl_rng_uniform_int(r, (unsigned long)n);
    for (size_t i = 1; i < n; i++) {
        if (gsl_rng_uniform(r) < p)
            idx[i] = (size_t)gsl_rng_uniform_int(r, (unsigned long)n);
        else
            idx[i] = idx[i - 1] + 1 == n ? 0 : idx[i - 1] + 1;
    }
}

void cpo_stats_boot_opts_init(cpo_stats_boot_opts *o)
{
    memset(o, 0, sizeof *o);
    o->samples = 1000;
    o->block = 0.0;
    o->level = 0.95;
    o->seed = 0;
    o->periods_per_year = 365.0;
}

void cpo_stats_path_metrics(const double *r, size_t n, double A, double *sharpe, double *cagr,
                            double *max_drawdown)
{
    double s = 0.0, ss = 0.0, w = 1.0, peak = 1.0, dd = 0.0;
    int ruined = 0;
    for (size_t i = 0; i < n; i++) {
        s += r[i];
        if (!ruined) {
            w *= 1.0 + r[i];
            if (w <= 0.0) {
                ruined = 1;
                w = 0.0;
            }
            if (w > peak)
                peak = w;
            double d = 1.0 - w / peak;
            if (d > dd)
                dd = d;
        }
    }
    double mean = n ? s / (double)n : NAN;
    for (size_t i = 0; i < n; i++)
        ss += (r[i] - mean) * (r[i] - mean);
    double sd = n >= 2 ? sqrt(ss / (double)(n - 1)) : NAN;
    if (sharpe)
        *sharpe = sd > 0.0 ? mean / sd * sqrt(A) : NAN;
    if (cagr)
        *cagr = n == 0 ? NAN : ruined ? -1.0 : pow(w, A / (double)n) - 1.0;
    if (max_drawdown)
        *max_drawdown = dd;
}

/* Percentile interval and sd of v (sorted in place, NaN dropped first). */
static void interval(cpo_stats_ci *ci, double *v, size_t m, double level)
{
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (isfinite(v[i]))
            v[k++] = v[i];
    ci->lo = ci->hi = ci->se = NAN;
    if (k < 2)
        return;
    gsl_sort(v, 1, k);
    ci->lo = gsl_stats_quantile_from_sorted_data(v, 1, k, (1.0 - level) / 2.0);
    ci->hi = gsl_stats_quantile_from_sorted_data(v, 1, k, (1.0 + level) / 2.0);
    ci->se = gsl_stats_sd(v, 1, k);
}

int cpo_stats_bootstrap(cpo_stats_boot *out, const double *r, size_t n,
                        const cpo_stats_boot_opts *o, cpo_error *err)
{
    cpo_stats_boot_opts dflt;
    if (!o) {
        cpo_stats_boot_opts_init(&dflt);
        o = &dflt;
    }
    memset(out, 0, sizeof *out);
    if (o->samples < 2 || o->samples > 1000000 || !(o->level > 0.0 && o->level < 1.0) ||
        !(o->block == 0.0 || o->block >= 1.0) || !isfinite(o->block) ||
        !(o->periods_per_year > 0.0))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "bootstrap: samples %zu, block %g, level %g (expected samples in "
                             "[2, 1000000], block 0 or >= 1, level in (0, 1))",
                             o->samples, o->block, o->level);
    size_t m = 0;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (isfinite(r[i]))
            x[m++] = r[i];
    if (m < 3) {
        free(x);
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                             "bootstrap: %zu finite returns (expected at least 3)", m);
    }
    double L = o->block > 0.0 ? o->block : fmax(1.0, round(cbrt((double)m)));
    if (L > (double)m)
        L = (double)m;
    size_t B = o->samples;
    double *y = malloc(m * sizeof *y);
    size_t *idx = malloc(m * sizeof *idx);
    double *vs = malloc(B * sizeof *vs), *vc = malloc(B * sizeof *vc), *vd = malloc(B * sizeof *vd);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = 0;
    if (!y || !idx || !vs || !vc || !vd || !rng) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto cleanup;
    }
    gsl_rng_set(rng, (unsigned long)o->seed);
    for (size_t b = 0; b < B; b++) {
        cpo_stats_stationary_indices(idx, m, 1.0 / L, rng);
        for (size_t i = 0; i < m; i++)
            y[i] = x[idx[i]];
        cpo_stats_path_metrics(y, m, o->periods_per_year, &vs[b], &vc[b], &vd[b]);
    }
    out->n_obs = m;
    out->samples = B;
    out->block = L;
    out->level = o->level;
    out->seed = o->seed;
    cpo_stats_path_metrics(x, m, o->periods_per_year, &out->sharpe.estimate, &out->cagr.estimate,
                           &out->max_drawdown.estimate);
    interval(&out->sharpe, vs, B, o->level);
    interval(&out->cagr, vc, B, o->level);
    interval(&out->max_drawdown, vd, B, o->level);
cleanup:
    free(x);
    free(y);
    free(idx);
    free(vs);
    free(vc);
    free(vd);
    if (rng)
        gsl_rng_free(rng);
    return rc;
}
