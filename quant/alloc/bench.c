/*
 * bench.c - time one rebalance of each optimiser: a covariance estimate
 * from a 90-return window (Ledoit-Wolf to the identity, which is positive
 * definite even with more assets than returns) and the solve, for 20 and
 * 100 assets, best of several runs on seeded one-factor data.  One
 * workspace serves every run, as it serves every rebalance of a backtest.
 * Optimisers start cold each run (no warm start).  Mean-variance uses
 * gamma = 200: with per-bar means from 90 returns a small gamma puts the
 * solution on a vertex in a few iterations, which would time nothing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "alloc_int.h"

#define BENCH_T 90
#define BENCH_SEED 20240101UL

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

typedef enum { B_INVVOL, B_MINVAR, B_MEANVAR, B_MEANVAR_LS, B_ERC, B_HRP, B_BL, B_COUNT } bkind;
static const char *const bnames[B_COUNT] = {"invvol", "minvar", "meanvar", "meanvar_ls",
                                            "erc",    "hrp",    "bl"};

typedef struct bench_ctx {
    size_t n;
    const double *x;
    double *cov, *mu, *w, *mu2, *cov2, *P, *Q;
    cpo_alloc_ws *ws;
    cpo_alloc_result res;
} bench_ctx;

/* One rebalance; 0 or a negative code. */
static int rebalance(bench_ctx *c, bkind k, cpo_error *err)
{
    size_t n = c->n;
    double sh;
    int rc = cpo_alloc_cov_ledoit_wolf(c->cov, &sh, c->x, BENCH_T, n, 0, c->ws, err);
    if (rc)
        return rc;
    cpo_alloc_opt o;
    cpo_alloc_opt_init(&o);
    memset(&c->res, 0, sizeof c->res);
    switch (k) {
    case B_INVVOL:
        return cpo_alloc_invvol(c->w, c->cov, n, 1, err);
    case B_MINVAR:
        o.bounds.hi = 0.5;
        return cpo_alloc_minvar(c->w, &c->res, c->cov, n, &o, c->ws, err);
    case B_MEANVAR:
        if ((rc = cpo_alloc_mean_hist(c->mu, c->x, BENCH_T, n, err)))
            return rc;
        o.gamma = 200.0;
        o.bounds.hi = 0.5;
        return cpo_alloc_meanvar(c->w, &c->res, c->cov, c->mu, n, &o, c->ws, err);
    case B_MEANVAR_LS:
        if ((rc = cpo_alloc_mean_hist(c->mu, c->x, BENCH_T, n, err)))
            return rc;
        o.gamma = 200.0;
        o.bounds.lo = -0.3;
        o.bounds.hi = 0.5;
        o.bounds.leverage = 1.5;
        return cpo_alloc_meanvar(c->w, &c->res, c->cov, c->mu, n, &o, c->ws, err);
    case B_ERC:
        return cpo_alloc_erc(c->w, NULL, &c->res, c->cov, NULL, n, 0.0, 0, c->ws, err);
    case B_HRP:
        return cpo_alloc_hrp(c->w, NULL, c->cov, n, CPO_HRP_D_EUCLID, c->ws, err);
    case B_BL: {
        cpo_alloc_bl bl;
        cpo_alloc_bl_init(&bl);
        bl.k = 2;
        bl.P = c->P;
        bl.Q = c->Q;
        if ((rc = cpo_alloc_bl_posterior(NULL, c->mu2, c->cov2, c->cov, n, &bl, c->ws, err)))
            return rc;
        o.gamma = bl.delta;
        o.bounds.hi = 0.5;
        return cpo_alloc_meanvar(c->w, &c->res, c->cov2, c->mu2, n, &o, c->ws, err);
    }
    default:
        return CPO_EINVAL;
    }
}

static int bench_size(FILE *out, size_t n, int reps, cpo_error *err)
{
    int rc = 0;
    bench_ctx c;
    memset(&c, 0, sizeof c);
    c.n = n;
    double *x = malloc(BENCH_T * n * sizeof *x);
    c.cov = malloc(n * n * sizeof(double));
    c.cov2 = malloc(n * n * sizeof(double));
    c.mu = malloc(n * sizeof(double));
    c.mu2 = malloc(n * sizeof(double));
    c.w = malloc(n * sizeof(double));
    c.P = calloc(2 * n, sizeof(double));
    c.Q = malloc(2 * sizeof(double));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!x || !c.cov || !c.cov2 || !c.mu || !c.mu2 || !c.w || !c.P || !c.Q || !r) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto cleanup;
    }
    gsl_rng_set(r, BENCH_SEED + n);
    /* Hourly-like returns: vol 0.6/sqrt(8760), correlation 0.5 through one
     * factor, asset vols spread over [0.5, 1.5] of that. */
    const double sd = 0.6 / sqrt(8760.0);
    for (size_t s = 0; s < BENCH_T; s++) {
        double f = gsl_ran_gaussian(r, 1.0);
        for (size_t i = 0; i < n; i++) {
            double scale = 0.5 + (double)i / (double)(n > 1 ? n - 1 : 1);
            x[s * n + i] = sd * scale * (sqrt(0.5) * f + sqrt(0.5) * gsl_ran_gaussian(r, 1.0));
        }
    }
    c.x = x;
    /* Two BL views: asset 0 beats asset 1 by 1e-4 per bar; asset 2 returns 2e-4. */
    c.P[0] = 1.0;
    c.P[1] = -1.0;
    c.P[n + 2] = 1.0;
    c.Q[0] = 1e-4;
    c.Q[1] = 2e-4;
    if ((rc = cpo_alloc_ws_new(&c.ws, n, BENCH_T, err)))
        goto cleanup;
    for (int k = 0; k < B_COUNT; k++) {
        double best = INFINITY;
        for (int rep = 0; rep < reps; rep++) {
            double t0 = now_ms();
            if ((rc = rebalance(&c, (bkind)k, err)))
                goto cleanup;
            double dt = now_ms() - t0;
            if (dt < best)
                best = dt;
        }
        char note[96] = "";
        if (k == B_MINVAR || k == B_MEANVAR || k == B_MEANVAR_LS || k == B_BL)
            snprintf(note, sizeof note, "  FISTA %zu iterations, kkt %.1e%s", c.res.iterations,
                     c.res.kkt, c.res.converged ? "" : ", NOT converged");
        else if (k == B_ERC)
            snprintf(note, sizeof note, "  %zu sweeps, max |x(Sx) - b| %.1e%s", c.res.iterations,
                     c.res.kkt, c.res.converged ? "" : ", NOT converged");
        fprintf(out, "alloc  %-10s n=%-4zu T=%d  %9.3f ms  (best of %d; cov ledoit_wolf)%s\n",
                bnames[k], n, BENCH_T, best, reps, note);
    }
cleanup:
    gsl_rng_free(r);
    cpo_alloc_ws_free(c.ws);
    free(x);
    free(c.cov);
    free(c.cov2);
    free(c.mu);
    free(c.mu2);
    free(c.w);
    free(c.P);
    free(c.Q);
    return rc;
}

int cpo_alloc_bench(FILE *out)
{
    /* A benchmark is a program-level entry: make GSL report errors as codes. */
    gsl_set_error_handler_off();
    cpo_error e;
    cpo_error_clear(&e);
    int rc = bench_size(out, 20, 200, &e);
    if (!rc)
        rc = bench_size(out, 100, 20, &e);
    if (rc) {
        char buf[CPO_ERROR_MSG_MAX + 64];
        cpo_error_format(&e, buf, sizeof buf);
        fprintf(out, "alloc  bench failed: %s\n", buf);
    }
    return rc;
}
