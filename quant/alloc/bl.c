/*
 * bl.c - Black-Litterman posterior (METHODS §6; He & Litterman 1999;
 * Idzorek 2005 with Walters' closed form; PyPortfolioOpt
 * black_litterman.py):
 *
 *     Pi    = delta S w_prior
 *     A     = tau S P'                       (n x k)
 *     M     = P tau S P' + Omega             (k x k, Cholesky)
 *     mu_BL = Pi + A M^-1 (Q - P Pi)
 *     S_BL  = S + tau S - A M^-1 A'
 *
 * M^-1 is never formed: one Cholesky factorisation and k + n triangular
 * solves.
 */
#include <math.h>
#include <string.h>

#include "alloc_int.h"

void cpo_alloc_bl_init(cpo_alloc_bl *b)
{
    memset(b, 0, sizeof *b);
    b->delta = 2.5;
    b->tau = 0.05;
    b->omega = CPO_BL_HE_LITTERMAN;
}

double cpo_alloc_bl_delta(double excess_return, double variance)
{
    return excess_return / variance;
}

int cpo_alloc_bl_posterior(double *pi, double *mu, double *cov_post, const double *cov,
                           size_t n, const cpo_alloc_bl *bl, cpo_alloc_ws *ws, cpo_error *err)
{
    const char *what = "black-litterman";
    cpo_alloc_ws *own = NULL;
    int rc;
    if ((rc = cpo_alloc_check_cov(what, cov, n, err)))
        return rc;
    size_t k = bl->k;
    if (!(bl->tau > 0.0) || !isfinite(bl->tau))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: tau %g is not positive (expected tau > 0, typically "
                             "0.025-0.05)",
                             what, bl->tau);
    if (!isfinite(bl->delta))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: delta %g is not a number (expected a risk aversion such as "
                             "2.5)",
                             what, bl->delta);
    if (k > 0 && (!bl->P || !bl->Q))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: %zu views without P or Q (expected a k x n P and k Q)", what,
                             k);
    for (size_t a = 0; a < k; a++) {
        if (!isfinite(bl->Q[a]))
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "%s: view %zu: Q = %g (expected a finite return)", what, a,
                                 bl->Q[a]);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(bl->P[a * n + i]))
                return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                     "%s: view %zu: P[%zu] = %g (expected finite weights)",
                                     what, a, i, bl->P[a * n + i]);
        if (bl->omega == CPO_BL_IDZOREK) {
            double c = bl->conf ? bl->conf[a] : NAN;
            if (!(c > 0.0 && c <= 1.0))
                return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                     "%s: view %zu: confidence %g (expected 0 < c <= 1; "
                                     "c = 1 makes the view certain)",
                                     what, a, c);
        } else if (bl->omega == CPO_BL_GIVEN) {
            double o = bl->omega_diag ? bl->omega_diag[a] : NAN;
            if (!(o >= 0.0) || !isfinite(o))
                return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                     "%s: view %zu: omega %g (expected a variance >= 0)",
                                     what, a, o);
        } else if (bl->omega != CPO_BL_HE_LITTERMAN) {
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "%s: unknown omega method %d (expected He-Litterman, Idzorek "
                                 "or given)",
                                 what, (int)bl->omega);
        }
    }
    if ((rc = cpo_ws_use(&ws, &own, n, 0, err)))
        return rc;
    size_t kk = k ? k : 1;
    double *p0 = cpo_ws_buf(ws, WS_BL_PI, n, err);
    double *A = cpo_ws_buf(ws, WS_BL_A, n * kk, err), *M = cpo_ws_buf(ws, WS_BL_M, kk * kk, err);
    double *X = cpo_ws_buf(ws, WS_BL_X, kk * n, err), *z = cpo_ws_buf(ws, WS_BL_K, kk, err);
    double *col = cpo_ws_buf(ws, WS_BL_K2, kk, err);
    if (!p0 || !A || !M || !X || !z || !col) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    /* Pi = delta S w. */
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++)
            s += cov[i * n + j] * (bl->w_prior ? bl->w_prior[j] : 1.0 / (double)n);
        p0[i] = bl->delta * s;
    }
    /* A = tau S P'; M = P A + Omega. */
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < k; a++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += cov[i * n + j] * bl->P[a * n + j];
            A[i * k + a] = bl->tau * s;
        }
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++)
                s += bl->P[a * n + i] * A[i * k + b];
            M[a * k + b] = s;
        }
    for (size_t a = 0; a < k; a++) {
        double pp = M[a * k + a]; /* tau p_a S p_a' */
        double om = bl->omega == CPO_BL_HE_LITTERMAN ? pp
                    : bl->omega == CPO_BL_IDZOREK    ? (1.0 - bl->conf[a]) / bl->conf[a] * pp
                                                     : bl->omega_diag[a];
        M[a * k + a] += om;
    }
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < a; b++) /* exact symmetry for the factorisation */
            M[b * k + a] = M[a * k + b] = 0.5 * (M[a * k + b] + M[b * k + a]);
    if (k > 0 && cpo_alloc_cholesky(M, k)) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                           "%s: P tau S P' + Omega is not positive definite (expected "
                           "linearly independent views, or uncertain views: confidence < 1)",
                           what);
        goto cleanup;
    }
    /* z = M^-1 (Q - P Pi). */
    for (size_t a = 0; a < k; a++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += bl->P[a * n + i] * p0[i];
        z[a] = bl->Q[a] - s;
    }
    if (k > 0 && cpo_alloc_chol_solve(M, k, z))
        goto solve_failed;
    if (pi)
        memcpy(pi, p0, n * sizeof *pi);
    if (mu)
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t a = 0; a < k; a++)
                s += A[i * k + a] * z[a];
            mu[i] = p0[i] + s;
        }
    if (cov_post) {
        /* X = M^-1 A' column by column (k x n). */
        for (size_t j = 0; j < n; j++) {
            for (size_t a = 0; a < k; a++)
                col[a] = A[j * k + a];
            if (k > 0 && cpo_alloc_chol_solve(M, k, col))
                goto solve_failed;
            for (size_t a = 0; a < k; a++)
                X[a * n + j] = col[a];
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j <= i; j++) {
                double s = 0.0;
                for (size_t a = 0; a < k; a++)
                    s += A[i * k + a] * X[a * n + j];
                double v = (1.0 + bl->tau) * cov[i * n + j] - s;
                cov_post[i * n + j] = v;
                cov_post[j * n + i] = v;
            }
    }
    goto cleanup;
solve_failed:
    rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "%s: Cholesky solve failed", what);
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}
