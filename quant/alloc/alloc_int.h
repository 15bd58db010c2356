/*
 * alloc_int.h - private to quant/alloc: the workspace layout and
 * shared input checks.
 */
#ifndef CPO_ALLOC_INT_H
#define CPO_ALLOC_INT_H

#include <stddef.h>

#include <gsl/gsl_eigen.h>

#include "cpo/alloc.h"

/* Double buffers of the workspace, one per purpose.  A function uses only
 * its own slots, so a caller can chain estimators and optimisers on one
 * workspace; outputs always go to the caller's arrays. */
enum ws_slot {
    WS_XC = 0,   /* T x N demeaned returns (cov) */
    WS_X3,       /* T x N cubes (LW constant correlation) */
    WS_CMEAN,    /* N column means / scratch (cov) */
    WS_LW_A,     /* N x N (LW constant correlation) */
    WS_LW_B,     /* N x N (LW constant correlation) */
    WS_EIG_A,    /* N x N copy for the eigen solver (meanvar) */
    WS_EIG_V,    /* N eigenvalues (meanvar) */
    WS_LO,       /* N lower bounds (meanvar, project) */
    WS_HI,       /* N upper bounds */
    WS_Y,        /* N momentum point (meanvar) */
    WS_G,        /* N gradient */
    WS_WOLD,     /* N previous iterate */
    WS_WNEW,     /* N new iterate */
    WS_MU0,      /* N zero mean (minvar) */
    WS_CHOL,     /* N x N Cholesky factor (budget closed form, erc) */
    WS_VEC1,     /* N scratch */
    WS_VEC2,     /* N scratch */
    WS_ERC_X,    /* N */
    WS_ERC_SX,   /* N */
    WS_ERC_B,    /* N */
    WS_HRP_D,    /* N x N distances */
    WS_HRP_E,    /* N x N Euclidean distances / scratch */
    WS_HRP_V,    /* N scratch */
    WS_HRP_W,    /* N MST edge weights */
    WS_BL_A,     /* N x K  tau S P' */
    WS_BL_M,     /* K x K  P tau S P' + Omega, then its Cholesky factor */
    WS_BL_X,     /* K x N  M^-1 A' */
    WS_BL_K,     /* K scratch */
    WS_BL_K2,    /* K scratch */
    WS_BL_PI,    /* N prior */
    WS_COUNT
};

enum ws_islot {
    WSI_HRP_PARENT = 0, /* 2N union-find / tree */
    WSI_HRP_LEFT,       /* N merges: left child */
    WSI_HRP_RIGHT,      /* N merges: right child */
    WSI_HRP_ORDER,      /* N leaf order */
    WSI_HRP_STACK,      /* 2N */
    WSI_HRP_EDGE,       /* N MST edges (i) */
    WSI_HRP_EDGE2,      /* N MST edges (j) */
    WSI_HRP_LABEL,      /* N cluster id of a union-find root / MST flags */
    WSI_COUNT
};

struct cpo_alloc_ws {
    double *buf[WS_COUNT];
    size_t cap[WS_COUNT];
    size_t *ibuf[WSI_COUNT];
    size_t icap[WSI_COUNT];
    gsl_eigen_symm_workspace *eig;
    size_t eig_n;
};

/* A buffer of at least count doubles (grown if needed; never shrinks),
 * or NULL with err set. */
double *cpo_ws_buf(cpo_alloc_ws *ws, int slot, size_t count, cpo_error *err);
size_t *cpo_ws_ibuf(cpo_alloc_ws *ws, int slot, size_t count, cpo_error *err);
gsl_eigen_symm_workspace *cpo_ws_eigen(cpo_alloc_ws *ws, size_t n, cpo_error *err);

/* ws, or a fresh one in *own (freed by the caller with cpo_alloc_ws_free). */
int cpo_ws_use(cpo_alloc_ws **ws, cpo_alloc_ws **own, size_t n, size_t t, cpo_error *err);

/* Input checks; `what` names the caller in messages. */
int cpo_alloc_check_n(const char *what, size_t n, cpo_error *err);
int cpo_alloc_check_returns(const char *what, const double *x, size_t t, size_t n,
                            size_t t_min, cpo_error *err);
int cpo_alloc_check_cov(const char *what, const double *cov, size_t n, cpo_error *err);

/* In-place Cholesky of the n x n row-major a: its lower triangle becomes
 * L with a = L L' (the strict upper triangle is left as it was); 0, or
 * CPO_ENUMERIC if a is not positive definite (no message: the caller knows
 * what the matrix was). */
int cpo_alloc_cholesky(double *a, size_t n);
/* Solve L L' x = b in place (b -> x) with the factor from cpo_alloc_cholesky. */
int cpo_alloc_chol_solve(const double *l, size_t n, double *b);

/* y = S x (S symmetric n x n). */
int cpo_alloc_symv(double *y, const double *s, const double *x, size_t n);

#endif
