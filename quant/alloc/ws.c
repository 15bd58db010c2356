/* ws.c - the allocation workspace and shared input checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>

#include "alloc_int.h"

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

double *cpo_ws_buf(cpo_alloc_ws *ws, int slot, size_t count, cpo_error *err)
{
    if (count == 0)
        count = 1;
    if (ws->cap[slot] < count) {
        double *p = realloc(ws->buf[slot], count * sizeof *p);
        if (!p) {
            nomem(err);
            return NULL;
        }
        ws->buf[slot] = p;
        ws->cap[slot] = count;
    }
    return ws->buf[slot];
}

size_t *cpo_ws_ibuf(cpo_alloc_ws *ws, int slot, size_t count, cpo_error *err)
{
    if (count == 0)
        count = 1;
    if (ws->icap[slot] < count) {
        size_t *p = realloc(ws->ibuf[slot], count * sizeof *p);
        if (!p) {
            nomem(err);
            return NULL;
        }
        ws->ibuf[slot] = p;
        ws->icap[slot] = count;
    }
    return ws->ibuf[slot];
}

gsl_eigen_symm_workspace *cpo_ws_eigen(cpo_alloc_ws *ws, size_t n, cpo_error *err)
{
    if (ws->eig && ws->eig_n == n)
        return ws->eig;
    if (ws->eig)
        gsl_eigen_symm_free(ws->eig);
    ws->eig = gsl_eigen_symm_alloc(n); /* NULL on failure (n > 0 here) */
    ws->eig_n = ws->eig ? n : 0;
    if (!ws->eig)
        nomem(err);
    return ws->eig;
}

int cpo_alloc_ws_new(cpo_alloc_ws **out, size_t n, size_t t, cpo_error *err)
{
    *out = NULL;
    cpo_alloc_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return nomem(err);
    /* Reserve the common sizes now so that later calls of this size do not
     * allocate: vectors of n, matrices of n x n, returns of t x n. */
    if (n > 0) {
        for (int s = 0; s < WS_COUNT; s++) {
            size_t c = n;
            if (s == WS_XC || s == WS_X3)
                c = (t ? t : 1) * n;
            else if (s == WS_EIG_A || s == WS_CHOL || s == WS_HRP_D || s == WS_HRP_E ||
                     s == WS_LW_A || s == WS_LW_B)
                c = n * n;
            else if (s == WS_BL_A || s == WS_BL_X)
                c = n * 4;
            else if (s == WS_BL_M)
                c = 16;
            else if (s == WS_BL_K || s == WS_BL_K2)
                c = 4;
            if (!cpo_ws_buf(ws, s, c, err))
                goto fail;
        }
        for (int s = 0; s < WSI_COUNT; s++)
            if (!cpo_ws_ibuf(ws, s, 2 * n, err))
                goto fail;
        if (!cpo_ws_eigen(ws, n, err))
            goto fail;
    }
    *out = ws;
    return 0;
fail:
    cpo_alloc_ws_free(ws);
    return CPO_ENOMEM;
}

void cpo_alloc_ws_free(cpo_alloc_ws *ws)
{
    if (!ws)
        return;
    for (int s = 0; s < WS_COUNT; s++)
        free(ws->buf[s]);
    for (int s = 0; s < WSI_COUNT; s++)
        free(ws->ibuf[s]);
    if (ws->eig)
        gsl_eigen_symm_free(ws->eig);
    free(ws);
}

int cpo_ws_use(cpo_alloc_ws **ws, cpo_alloc_ws **own, size_t n, size_t t, cpo_error *err)
{
    *own = NULL;
    if (*ws)
        return 0;
    int rc = cpo_alloc_ws_new(own, n, t, err);
    if (rc == 0)
        *ws = *own;
    return rc;
}

/* --- checks ------------------------------------------------------------------ */

int cpo_alloc_check_n(const char *what, size_t n, cpo_error *err)
{
    if (n == 0)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: no assets (n = 0) (expected at least one asset)", what);
    return 0;
}

int cpo_alloc_check_returns(const char *what, const double *x, size_t t, size_t n,
                            size_t t_min, cpo_error *err)
{
    int rc = cpo_alloc_check_n(what, n, err);
    if (rc)
        return rc;
    if (t < t_min)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: %zu return rows (expected at least %zu)", what, t, t_min);
    for (size_t s = 0; s < t; s++)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[s * n + i]))
                return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                     "%s: return of asset %zu in row %zu is %g (expected "
                                     "finite returns)",
                                     what, i, s, x[s * n + i]);
    return 0;
}

int cpo_alloc_check_cov(const char *what, const double *cov, size_t n, cpo_error *err)
{
    int rc = cpo_alloc_check_n(what, n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            double a = cov[i * n + j];
            if (!isfinite(a))
                return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                     "%s: covariance [%zu][%zu] is %g (expected finite "
                                     "values)",
                                     what, i, j, a);
            if (j > i) {
                double b = cov[j * n + i];
                if (fabs(a - b) > 1e-12 * (fabs(a) + fabs(b)))
                    return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                                         "%s: the covariance matrix is not symmetric "
                                         "([%zu][%zu] = %.17g, [%zu][%zu] = %.17g) (expected "
                                         "a symmetric matrix)",
                                         what, i, j, a, j, i, b);
            }
        }
        if (cov[i * n + i] < 0.0)
            return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                                 "%s: the covariance matrix is not positive semi-definite "
                                 "(variance of asset %zu is %g) (expected variances >= 0)",
                                 what, i, cov[i * n + i]);
    }
    return 0;
}

/* --- linear algebra -------------------------------------------------------- */

/*
 * Cholesky factorisation and solves through gsl_linalg.  A matrix that is
 * not positive definite comes back as GSL_EDOM, which is only an error
 * code when the program has turned GSL's aborting handler off
 * (gsl_set_error_handler_off(); cpo's programs do it at start, and
 * include/cpo/alloc.h asks every program linking libcpo to).
 */
int cpo_alloc_cholesky(double *a, size_t n)
{
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(a[i]))
            return CPO_ENUMERIC;
    gsl_matrix_view m = gsl_matrix_view_array(a, n, n);
    return gsl_linalg_cholesky_decomp1(&m.matrix) == GSL_SUCCESS ? 0 : CPO_ENUMERIC;
}

int cpo_alloc_chol_solve(const double *l, size_t n, double *b)
{
    gsl_matrix_const_view m = gsl_matrix_const_view_array(l, n, n);
    gsl_vector_view v = gsl_vector_view_array(b, n);
    return gsl_linalg_cholesky_svx(&m.matrix, &v.vector) == GSL_SUCCESS ? 0 : CPO_ENUMERIC;
}

int cpo_alloc_symv(double *y, const double *s, const double *x, size_t n)
{
    gsl_matrix_const_view m = gsl_matrix_const_view_array(s, n, n);
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, n);
    gsl_vector_view yv = gsl_vector_view_array(y, n);
    return gsl_blas_dsymv(CblasLower, 1.0, &m.matrix, &xv.vector, 0.0, &yv.vector) ==
                   GSL_SUCCESS
               ? 0
               : CPO_ENUMERIC;
}
