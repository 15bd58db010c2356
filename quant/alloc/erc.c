/*
 * erc.c - equal risk contribution (and risk budgets) by cyclical
 * coordinate descent on Spinu's convex formulation (METHODS §6; Spinu
 * 2013; Griveau-Billion, Richard & Roncalli 2013; dppalomar/
 * riskParityPortfolio cyclical_coordinate_descent.cc):
 *
 *     min (1/2) x'Sx - sum_i b_i ln x_i,   x > 0,
 *
 * whose solution has x_i (Sx)_i = b_i.  Coordinate i solves S_ii x_i^2 -
 * a x_i - b_i = 0 with a = S_ii x_i - (Sx)_i, i.e. x_i = [a + sqrt(a^2 + 4
 * S_ii b_i)] / (2 S_ii); Sx is updated incrementally after each
 * coordinate and recomputed exactly after each sweep.  The stopping rule
 * is max_i |x_i (Sx)_i - b_i| < tol (METHODS notes that the reference
 * code tests (Sx)_i - b_i instead).  w = x / 1'x.
 */
#include <math.h>
#include <string.h>

#include "alloc_int.h"

int cpo_alloc_erc(double *w, double *shares, cpo_alloc_result *res, const double *cov,
                  const double *budget, size_t n, double tol, size_t max_iter,
                  cpo_alloc_ws *ws, cpo_error *err)
{
    const char *what = "erc";
    cpo_alloc_ws *own = NULL;
    int rc;
    if ((rc = cpo_alloc_check_cov(what, cov, n, err)))
        return rc;
    if (budget) {
        for (size_t i = 0; i < n; i++)
            if (!(budget[i] > 0.0) || !isfinite(budget[i]))
                return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                     "%s: risk budget of asset %zu is %g (expected positive "
                                     "budgets)",
                                     what, i, budget[i]);
    }
    if (tol <= 0.0)
        tol = 1e-12;
    if (max_iter == 0)
        max_iter = 10000;
    if ((rc = cpo_ws_use(&ws, &own, n, 0, err)))
        return rc;
    double *l = cpo_ws_buf(ws, WS_CHOL, n * n, err);
    double *x = cpo_ws_buf(ws, WS_ERC_X, n, err), *sx = cpo_ws_buf(ws, WS_ERC_SX, n, err);
    double *b = cpo_ws_buf(ws, WS_ERC_B, n, err);
    if (!l || !x || !sx || !b) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    memcpy(l, cov, n * n * sizeof *l);
    if (cpo_alloc_cholesky(l, n)) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                           "%s: the covariance matrix is not positive definite (expected a "
                           "symmetric positive definite matrix; with fewer returns than "
                           "assets use a shrinkage estimator)",
                           what);
        goto cleanup;
    }
    double bs = 0.0;
    for (size_t i = 0; i < n; i++)
        bs += budget ? budget[i] : 1.0;
    for (size_t i = 0; i < n; i++)
        b[i] = (budget ? budget[i] : 1.0) / bs;
    /* Start at inverse volatility scaled to x'Sx = 1 (= sum b at the
     * solution). */
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0 / sqrt(cov[i * n + i]);
    if ((rc = cpo_alloc_symv(sx, cov, x, n)))
        goto blas;
    double q = 0.0;
    for (size_t i = 0; i < n; i++)
        q += x[i] * sx[i];
    double sc = 1.0 / sqrt(q);
    for (size_t i = 0; i < n; i++) {
        x[i] *= sc;
        sx[i] *= sc;
    }
    size_t it = 0;
    int converged = 0;
    double maxerr = INFINITY;
    while (it < max_iter) {
        it++;
        for (size_t i = 0; i < n; i++) {
            const double *row = cov + i * n;
            double sii = row[i];
            double a = sii * x[i] - sx[i];
            double xn = (a + sqrt(a * a + 4.0 * sii * b[i])) / (2.0 * sii);
            double d = xn - x[i];
            x[i] = xn;
            for (size_t j = 0; j < n; j++)
                sx[j] += d * row[j]; /* column i = row i (symmetric) */
        }
        if ((rc = cpo_alloc_symv(sx, cov, x, n)))
            goto blas;
        maxerr = 0.0;
        for (size_t i = 0; i < n; i++)
            maxerr = fmax(maxerr, fabs(x[i] * sx[i] - b[i]));
        if (maxerr < tol) {
            converged = 1;
            break;
        }
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    for (size_t i = 0; i < n; i++)
        w[i] = x[i] / sum;
    if (shares) {
        /* x_i (Sx)_i / x'Sx: the shares do not depend on the scale of x. */
        double tot = 0.0;
        for (size_t i = 0; i < n; i++)
            tot += x[i] * sx[i];
        for (size_t i = 0; i < n; i++)
            shares[i] = x[i] * sx[i] / tot;
    }
    if (res) {
        res->kkt = maxerr;
        res->objective = NAN;
        res->iterations = it;
        res->converged = converged;
    }
    goto cleanup;
blas:
    cpo_error_set(err, rc, NULL, 0, 0, "%s: BLAS dsymv failed", what);
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}
