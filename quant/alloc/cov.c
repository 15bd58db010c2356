/*
 * cov.c - covariance estimators (sample, EWMA, Ledoit-Wolf to the scaled
 * identity and to constant correlation) and expected returns (METHODS §6).
 *
 * Every estimator forms its matrix with one BLAS rank-k update (dsyrk) of
 * a T x N buffer in the workspace, and mirrors the lower triangle so that
 * the result is exactly symmetric.
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>

#include "alloc_int.h"
#include "cpo/time.h"

static const char *const cov_names[] = {"sample", "ewma", "ledoit_wolf", "ledoit_wolf_cc"};

const char *cpo_alloc_cov_name(cpo_alloc_cov_kind k)
{
    return (unsigned)k < 4 ? cov_names[k] : "?";
}

int cpo_alloc_cov_parse(const char *s, cpo_alloc_cov_kind *out)
{
    for (int k = 0; k < 4; k++)
        if (!strcmp(s, cov_names[k])) {
            *out = (cpo_alloc_cov_kind)k;
            return 0;
        }
    return CPO_EINVAL;
}

void cpo_alloc_cov_spec_init(cpo_alloc_cov_spec *s)
{
    memset(s, 0, sizeof *s);
    s->kind = CPO_COV_SAMPLE;
    s->lambda = 0.94;
    s->seed_rows = 0;
    s->ddof = 1;
}

double cpo_alloc_ewma_lambda(double lambda_daily, int64_t bar_ms)
{
    return pow(lambda_daily, (double)bar_ms / (double)CPO_MS_DAY);
}

double cpo_alloc_periods_per_year(int64_t bar_ms)
{
    return bar_ms > 0 ? 365.0 * (double)CPO_MS_DAY / (double)bar_ms : NAN;
}

/* cov = alpha * Y'Y for the t x n row-major y, full symmetric. */
static int gram(double *cov, const double *y, size_t t, size_t n, double alpha, cpo_error *err)
{
    gsl_matrix_const_view a = gsl_matrix_const_view_array(y, t, n);
    gsl_matrix_view c = gsl_matrix_view_array(cov, n, n);
    if (gsl_blas_dsyrk(CblasLower, CblasTrans, alpha, &a.matrix, 0.0, &c.matrix) != GSL_SUCCESS)
        return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "cov: BLAS dsyrk failed");
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            cov[i * n + j] = cov[j * n + i];
    return 0;
}

/* Demeaned copy of x into the workspace (WS_XC); means in WS_CMEAN. */
static double *demean(cpo_alloc_ws *ws, const double *x, size_t t, size_t n, cpo_error *err)
{
    double *xc = cpo_ws_buf(ws, WS_XC, t * n, err);
    double *m = cpo_ws_buf(ws, WS_CMEAN, n, err);
    if (!xc || !m)
        return NULL;
    for (size_t i = 0; i < n; i++)
        m[i] = 0.0;
    for (size_t s = 0; s < t; s++)
        for (size_t i = 0; i < n; i++)
            m[i] += x[s * n + i];
    for (size_t i = 0; i < n; i++)
        m[i] /= (double)t;
    for (size_t s = 0; s < t; s++)
        for (size_t i = 0; i < n; i++)
            xc[s * n + i] = x[s * n + i] - m[i];
    return xc;
}

int cpo_alloc_cov_sample(double *cov, const double *x, size_t t, size_t n, int ddof,
                         cpo_alloc_ws *ws, cpo_error *err)
{
    cpo_alloc_ws *own = NULL;
    int rc;
    if (ddof < 0)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cov sample: ddof %d is negative (expected 0 or 1)", ddof);
    if ((rc = cpo_alloc_check_returns("cov sample", x, t, n, (size_t)ddof + 1, err)))
        return rc;
    if ((rc = cpo_ws_use(&ws, &own, n, t, err)))
        return rc;
    const double *xc = demean(ws, x, t, n, err);
    rc = xc ? gram(cov, xc, t, n, 1.0 / (double)(t - (size_t)ddof), err) : CPO_ENOMEM;
    cpo_alloc_ws_free(own);
    return rc;
}

int cpo_alloc_cov_ewma(double *cov, const double *x, size_t t, size_t n, double lambda,
                       size_t seed_rows, cpo_alloc_ws *ws, cpo_error *err)
{
    cpo_alloc_ws *own = NULL;
    int rc;
    if (!(lambda > 0.0 && lambda < 1.0))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cov ewma: lambda %g is out of range (expected 0 < lambda < 1)",
                             lambda);
    if ((rc = cpo_alloc_check_returns("cov ewma", x, t, n, 1, err)))
        return rc;
    size_t m = seed_rows ? seed_rows : (t < 10 ? t : 10);
    if (m > t)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cov ewma: %zu seed rows but only %zu returns (expected seed "
                             "rows <= returns)",
                             m, t);
    if ((rc = cpo_ws_use(&ws, &own, n, t, err)))
        return rc;
    /* The recursion unrolled: S = lambda^(T-m) S_0 + (1 - lambda) sum_{s>=m}
     * lambda^(T-1-s) r_s r_s', S_0 = (1/m) sum_{s<m} r_s r_s'.  Each row is
     * scaled by the square root of its weight and the sum is one dsyrk. */
    double *y = cpo_ws_buf(ws, WS_XC, t * n, err);
    if (!y) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    double seed_w = pow(lambda, (double)(t - m)) / (double)m;
    for (size_t s = 0; s < t; s++) {
        double wt = s < m ? seed_w : (1.0 - lambda) * pow(lambda, (double)(t - 1 - s));
        double sq = sqrt(wt);
        for (size_t i = 0; i < n; i++)
            y[s * n + i] = sq * x[s * n + i];
    }
    rc = gram(cov, y, t, n, 1.0, err);
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}

/* LW 2004 to m*I (scikit-learn's ledoit_wolf_shrinkage). */
static double lw_identity(const double *s, const double *xc, size_t t, size_t n, double *m_out)
{
    double tr = 0.0, fro2 = 0.0, x4 = 0.0;
    for (size_t i = 0; i < n; i++)
        tr += s[i * n + i];
    for (size_t k = 0; k < n * n; k++)
        fro2 += s[k] * s[k];
    for (size_t r = 0; r < t; r++) {
        double q = 0.0;
        for (size_t i = 0; i < n; i++)
            q += xc[r * n + i] * xc[r * n + i];
        x4 += q * q;
    }
    double N = (double)n, T = (double)t;
    double m = tr / N;
    double d2 = (fro2 - 2.0 * m * tr + N * m * m) / N;
    double b2 = (x4 / T - fro2) / (N * T);
    if (b2 < 0.0)
        b2 = 0.0;
    *m_out = m;
    if (!(d2 > 0.0))
        return 0.0; /* S = mI already: any intensity gives the same matrix */
    return (b2 < d2 ? b2 : d2) / d2;
}

int cpo_alloc_cov_ledoit_wolf(double *cov, double *shrinkage, const double *x, size_t t,
                              size_t n, int constcorr, cpo_alloc_ws *ws, cpo_error *err)
{
    cpo_alloc_ws *own = NULL;
    const char *what = constcorr ? "cov ledoit_wolf_cc" : "cov ledoit_wolf";
    int rc;
    if ((rc = cpo_alloc_check_returns(what, x, t, n, 2, err)))
        return rc;
    if ((rc = cpo_ws_use(&ws, &own, n, t, err)))
        return rc;
    const double *xc = demean(ws, x, t, n, err);
    if (!xc) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    double *s = cov; /* S = X'X/T, shrunk in place */
    if ((rc = gram(s, xc, t, n, 1.0 / (double)t, err)))
        goto cleanup;
    double T = (double)t, N = (double)n, sh = 0.0;
    if (!constcorr) {
        double m;
        sh = lw_identity(s, xc, t, n, &m);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                s[i * n + j] = (1.0 - sh) * s[i * n + j] + (i == j ? sh * m : 0.0);
        goto done;
    }
    if (n == 1)
        goto done; /* the target is S itself */
    /* LW 2003 (covCor.m): rbar, pi = sum pi_ij, rho, gamma. */
    double *sd = cpo_ws_buf(ws, WS_CMEAN, n, err); /* means are no longer needed */
    double *y = cpo_ws_buf(ws, WS_X3, t * n, err);
    double *a = cpo_ws_buf(ws, WS_LW_A, n * n, err);
    double *b = cpo_ws_buf(ws, WS_LW_B, n * n, err);
    if (!sd || !y || !a || !b) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(s[i * n + i] > 0.0)) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: asset %zu has zero variance in the window (expected "
                               "every asset to move, or use ledoit_wolf)",
                               what, i);
            goto cleanup;
        }
        sd[i] = sqrt(s[i * n + i]);
    }
    double rsum = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j)
                rsum += s[i * n + j] / (sd[i] * sd[j]);
    double rbar = rsum / (N * (N - 1.0));
    /* pi_ij = (1/T) sum_t x_ti^2 x_tj^2 - S_ij^2: a = Y'Y/T with Y = X.^2. */
    for (size_t k = 0; k < t * n; k++)
        y[k] = xc[k] * xc[k];
    if ((rc = gram(a, y, t, n, 1.0 / T, err)))
        goto cleanup;
    double pi = 0.0, pi_diag = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double p = a[i * n + j] - s[i * n + j] * s[i * n + j];
            pi += p;
            if (i == j)
                pi_diag += p;
        }
    /* theta_ij = (1/T) sum_t x_ti^3 x_tj - S_ii S_ij: b = (X.^3)'X / T. */
    for (size_t k = 0; k < t * n; k++)
        y[k] *= xc[k];
    {
        gsl_matrix_const_view y3 = gsl_matrix_const_view_array(y, t, n);
        gsl_matrix_const_view xv = gsl_matrix_const_view_array(xc, t, n);
        gsl_matrix_view bv = gsl_matrix_view_array(b, n, n);
        if (gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0 / T, &y3.matrix, &xv.matrix, 0.0,
                           &bv.matrix) != GSL_SUCCESS) {
            rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "%s: BLAS dgemm failed", what);
            goto cleanup;
        }
    }
    double rho_off = 0.0, gamma = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            double theta = b[i * n + j] - s[i * n + i] * s[i * n + j];
            rho_off += sd[j] / sd[i] * theta;
            double f = rbar * sd[i] * sd[j] - s[i * n + j];
            gamma += f * f;
        }
    double rho = pi_diag + rbar * rho_off, fro2 = 0.0;
    for (size_t k = 0; k < n * n; k++)
        fro2 += s[k] * s[k];
    /* gamma at rounding level means F = S (always so for N = 2): then the
     * intensity does not matter and is reported as 0. */
    if (gamma > 1e-24 * fro2) {
        double kappa = (pi - rho) / gamma;
        sh = kappa / T;
        sh = sh < 0.0 ? 0.0 : sh > 1.0 ? 1.0 : sh;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j)
                s[i * n + j] = (1.0 - sh) * s[i * n + j] + sh * rbar * sd[i] * sd[j];
done:
    if (shrinkage)
        *shrinkage = sh;
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}

int cpo_alloc_cov(double *cov, double *shrinkage, const double *x, size_t t, size_t n,
                  const cpo_alloc_cov_spec *spec, cpo_alloc_ws *ws, cpo_error *err)
{
    if (shrinkage)
        *shrinkage = 0.0;
    switch (spec->kind) {
    case CPO_COV_SAMPLE:
        return cpo_alloc_cov_sample(cov, x, t, n, spec->ddof, ws, err);
    case CPO_COV_EWMA:
        return cpo_alloc_cov_ewma(cov, x, t, n, spec->lambda, spec->seed_rows, ws, err);
    case CPO_COV_LW_IDENTITY:
        return cpo_alloc_cov_ledoit_wolf(cov, shrinkage, x, t, n, 0, ws, err);
    case CPO_COV_LW_CONSTCORR:
        return cpo_alloc_cov_ledoit_wolf(cov, shrinkage, x, t, n, 1, ws, err);
    }
    return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                         "cov: unknown estimator %d (expected sample, ewma, ledoit_wolf or "
                         "ledoit_wolf_cc)",
                         (int)spec->kind);
}

/* --- expected returns -------------------------------------------------------- */

int cpo_alloc_mean_hist(double *mu, const double *x, size_t t, size_t n, cpo_error *err)
{
    int rc = cpo_alloc_check_returns("mean", x, t, n, 1, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        mu[i] = 0.0;
    for (size_t s = 0; s < t; s++)
        for (size_t i = 0; i < n; i++)
            mu[i] += x[s * n + i];
    for (size_t i = 0; i < n; i++)
        mu[i] /= (double)t;
    return 0;
}

int cpo_alloc_mean_ewma(double *mu, const double *x, size_t t, size_t n, double lambda,
                        cpo_error *err)
{
    if (!(lambda > 0.0 && lambda <= 1.0))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "mean ewma: lambda %g is out of range (expected 0 < lambda <= 1)",
                             lambda);
    int rc = cpo_alloc_check_returns("mean ewma", x, t, n, 1, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        mu[i] = 0.0;
    double wsum = 0.0, wt = 1.0;
    for (size_t s = t; s-- > 0;) {
        for (size_t i = 0; i < n; i++)
            mu[i] += wt * x[s * n + i];
        wsum += wt;
        wt *= lambda;
    }
    for (size_t i = 0; i < n; i++)
        mu[i] /= wsum;
    return 0;
}
