/*
 * meanvar.c - mean-variance and minimum variance by FISTA with the exact
 * projection onto the bounded simplex (METHODS §6, option 1), the
 * budget-only closed form, and inverse volatility.
 *
 * Projection.  The Euclidean projection of v onto {sum w = 1, l <= w <= u,
 * sum max(-w_i, 0) <= s} (with sum w = 1, sum |w| <= L is the same as a
 * short budget s = (L - 1)/2) has, from its Lagrangian, the form
 *     w_i = clip(phi_kappa(v_i - theta), l_i, u_i),
 *     phi_kappa(z) = z (z > 0), 0 (-kappa <= z <= 0), z + kappa (z < -kappa),
 * with theta the multiplier of the budget and kappa >= 0 that of the short
 * budget (kappa = 0 when it is slack or absent).  For fixed kappa, sum w
 * is a nonincreasing piecewise-linear function of theta, solved exactly by
 * Newton steps on its linear pieces inside a bisection bracket; the total
 * short is nonincreasing in kappa and is solved by Illinois false
 * position.  Without a leverage budget this is the single bisection on
 * theta of METHODS, with an exact finish.
 *
 * FISTA (Beck & Teboulle 2009) with the gradient restart of O'Donoghue &
 * Candes (2015): y is the momentum point, w+ = P(y - grad f(y)/L), the
 * momentum is reset when (y - w+)'(w+ - w) > 0.  Stop when the
 * proximal-gradient step moves every weight by less than tol.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "alloc_int.h"

void cpo_alloc_bounds_init(cpo_alloc_bounds *b)
{
    memset(b, 0, sizeof *b);
    b->lo = 0.0;
    b->hi = 1.0;
    b->leverage = 0.0;
}

void cpo_alloc_opt_init(cpo_alloc_opt *o)
{
    memset(o, 0, sizeof *o);
    cpo_alloc_bounds_init(&o->bounds);
    o->gamma = 1.0;
    o->tol = 1e-10;
    o->max_iter = 20000;
    o->warm_start = 0;
}

/* --- projection -------------------------------------------------------------- */

/* Resolved constraints of one problem. */
typedef struct proj_set {
    const double *lo, *hi;
    size_t n;
    double short_max; /* < 0: no leverage budget */
} proj_set;

/* Per-asset bounds into lo/hi and the feasibility checks. */
static int resolve_bounds(const char *what, proj_set *ps, double *lo, double *hi, size_t n,
                          const cpo_alloc_bounds *b, cpo_error *err)
{
    double slo = 0.0, shi = 0.0, base = 0.0, forced_short = 0.0;
    for (size_t i = 0; i < n; i++) {
        lo[i] = b->lower ? b->lower[i] : b->lo;
        hi[i] = b->upper ? b->upper[i] : b->hi;
        if (!isfinite(lo[i]) || !isfinite(hi[i]))
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "%s: bounds of asset %zu are [%g, %g] (expected finite "
                                 "numbers)",
                                 what, i, lo[i], hi[i]);
        if (lo[i] > hi[i])
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "%s: min weight %g > max weight %g for asset %zu (expected "
                                 "min <= max)",
                                 what, lo[i], hi[i], i);
        slo += lo[i];
        shi += hi[i];
        base += lo[i] > 0.0 ? lo[i] : hi[i] < 0.0 ? hi[i] : 0.0;
        forced_short += hi[i] < 0.0 ? -hi[i] : 0.0;
    }
    const double eps = 1e-12;
    if (slo > 1.0 + eps)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: bounds infeasible: the lower bounds add up to %.10g > 1 "
                             "(expected the sum of min weights <= 1 so that the weights can "
                             "add up to 1)",
                             what, slo);
    if (shi < 1.0 - eps)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: bounds infeasible: the upper bounds add up to %.10g < 1 "
                             "(expected the sum of max weights >= 1, e.g. max weight >= 1/n "
                             "= %.10g)",
                             what, shi, 1.0 / (double)n);
    ps->lo = lo;
    ps->hi = hi;
    ps->n = n;
    ps->short_max = -1.0;
    if (b->leverage != 0.0) {
        if (!(b->leverage >= 1.0) || !isfinite(b->leverage))
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "%s: leverage budget %g < 1 (expected sum |w| <= leverage "
                                 "with leverage >= 1, since the weights add up to 1; 0 = off)",
                                 what, b->leverage);
        ps->short_max = (b->leverage - 1.0) / 2.0;
        /* The least total short any feasible w has: the forced shorts, plus
         * what the forced longs above 1 must be offset by. */
        double need = forced_short + (base > 1.0 ? base - 1.0 : 0.0);
        if (need > ps->short_max + eps)
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "%s: bounds infeasible: they force sum |w| >= %.10g > "
                                 "leverage %g (expected a larger leverage budget or looser "
                                 "bounds)",
                                 what, 1.0 + 2.0 * need, b->leverage);
    }
    return 0;
}

/* w(theta, kappa) into w; returns sum w, *lin = count on slope-1 pieces. */
static double proj_eval(double *w, const double *v, const proj_set *ps, double theta,
                        double kappa, size_t *lin)
{
    double sum = 0.0;
    size_t c = 0;
    for (size_t i = 0; i < ps->n; i++) {
        double z = v[i] - theta, y;
        int on = 1;
        if (z > 0.0)
            y = z;
        else if (z >= -kappa) {
            y = 0.0;
            on = 0;
        } else
            y = z + kappa;
        if (y <= ps->lo[i]) {
            y = ps->lo[i];
            on = 0;
        } else if (y >= ps->hi[i]) {
            y = ps->hi[i];
            on = 0;
        }
        c += (size_t)on;
        w[i] = y;
        sum += y;
    }
    *lin = c;
    return sum;
}

/* Solve sum w(theta) = 1 for fixed kappa; w gets the solution.  *theta is
 * the start and the result. */
static void proj_theta(double *w, const double *v, const proj_set *ps, double kappa,
                       double *theta)
{
    double tl = INFINITY, th = -INFINITY;
    for (size_t i = 0; i < ps->n; i++) {
        double a = v[i] - ps->hi[i], b = v[i] - ps->lo[i] + kappa;
        if (a < tl)
            tl = a;
        if (b > th)
            th = b;
    }
    /* sum w(tl) = sum hi >= 1 and sum w(th) = sum lo <= 1. */
    double t = *theta;
    if (!(t > tl && t < th))
        t = 0.5 * (tl + th);
    size_t cap = 64 + 8 * ps->n;
    double te = t; /* the theta w was last evaluated at */
    for (size_t it = 0; it < cap; it++) {
        size_t lin;
        double f = proj_eval(w, v, ps, t, kappa, &lin) - 1.0;
        te = t;
        if (f == 0.0)
            break;
        if (f > 0.0)
            tl = t;
        else
            th = t;
        double next = lin ? t + f / (double)lin : NAN;
        if (!(next > tl && next < th))
            next = 0.5 * (tl + th);
        if (next == t || !(th - tl > 4.0 * DBL_EPSILON * fmax(1.0, fabs(t)))) {
            if (next != t) {
                proj_eval(w, v, ps, next, kappa, &lin);
                te = next;
            }
            break;
        }
        t = next;
    }
    *theta = te;
}

static double total_short(const double *w, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        if (w[i] < 0.0)
            s -= w[i];
    return s;
}

/* The projection of v onto ps into w (w != v).  *theta and *kappa carry
 * warm starts between calls. */
static void project(double *w, const double *v, const proj_set *ps, double *theta,
                    double *kappa)
{
    proj_theta(w, v, ps, 0.0, theta);
    if (ps->short_max < 0.0) {
        *kappa = 0.0;
        return;
    }
    double g0 = total_short(w, ps->n) - ps->short_max;
    if (g0 <= 0.0) {
        *kappa = 0.0;
        return;
    }
    /* Bracket kappa: g(k_lo) > 0 >= g(k_hi). */
    double k_lo = 0.0, g_lo = g0, k_hi = *kappa > 0.0 ? *kappa : 1e-3, g_hi, th = *theta;
    for (int it = 0; it < 200; it++) {
        proj_theta(w, v, ps, k_hi, &th);
        g_hi = total_short(w, ps->n) - ps->short_max;
        if (g_hi <= 0.0)
            break;
        k_lo = k_hi;
        g_lo = g_hi;
        k_hi *= 4.0;
    }
    if (g_hi > 0.0) { /* cannot happen for a feasible set (checked) */
        *kappa = k_hi;
        *theta = th;
        return;
    }
    /* Illinois false position on the piecewise-linear g(kappa). */
    int side = 0;
    double k = k_hi, thk = th;
    for (int it = 0; it < 200; it++) {
        double next = (k_lo * g_hi - k_hi * g_lo) / (g_hi - g_lo);
        if (!(next > k_lo && next < k_hi))
            next = 0.5 * (k_lo + k_hi);
        k = next;
        proj_theta(w, v, ps, k, &thk);
        double g = total_short(w, ps->n) - ps->short_max;
        if (fabs(g) <= 1e-15 || !(k_hi - k_lo > 4.0 * DBL_EPSILON * k_hi))
            break;
        if (g > 0.0) {
            k_lo = k;
            g_lo = g;
            if (side == -1)
                g_hi *= 0.5;
            side = -1;
        } else {
            k_hi = k;
            g_hi = g;
            if (side == 1)
                g_lo *= 0.5;
            side = 1;
        }
    }
    if (total_short(w, ps->n) > ps->short_max + 1e-14) { /* finish on the feasible side */
        k = k_hi;
        proj_theta(w, v, ps, k, &thk);
    }
    *kappa = k;
    *theta = thk;
}

int cpo_alloc_project(double *w, const double *v, size_t n, const cpo_alloc_bounds *b,
                      cpo_alloc_ws *ws, cpo_error *err)
{
    cpo_alloc_ws *own = NULL;
    int rc = cpo_alloc_check_n("project", n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "project: v[%zu] is %g (expected finite values)", i, v[i]);
    if ((rc = cpo_ws_use(&ws, &own, n, 0, err)))
        return rc;
    proj_set ps;
    double *lo = cpo_ws_buf(ws, WS_LO, n, err), *hi = cpo_ws_buf(ws, WS_HI, n, err);
    double *tmp = cpo_ws_buf(ws, WS_VEC1, n, err);
    if (!lo || !hi || !tmp) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    if ((rc = resolve_bounds("project", &ps, lo, hi, n, b, err)))
        goto cleanup;
    double theta = NAN, kappa = 0.0;
    project(tmp, v, &ps, &theta, &kappa);
    memcpy(w, tmp, n * sizeof *w);
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}

/* --- the proximal map of the transaction costs ------------------------------- */

/* Costs of one problem: z = w - w0; per coordinate t (a_i |z| + b_i
 * |z|^(3/2)) + rho |z| in the proximal step (t = 1/L). */
typedef struct cost_set {
    int on;
    const double *w0, *a, *b; /* NULL = 0 */
    double tmax;              /* turnover limit in force; < 0: none */
} cost_set;

static double cs_w0(const cost_set *c, size_t i) { return c->w0 ? c->w0[i] : 0.0; }

/* argmin_z (1/2)(z - y)^2 + ta |z| + tb |z|^(3/2): soft threshold, then
 * s = sqrt|z| solves s^2 + (3/2) tb s - (|y| - ta) = 0 (the stable root). */
static double prox1(double y, double ta, double tb)
{
    double r = fabs(y) - ta;
    if (!(r > 0.0))
        return 0.0;
    double c = 1.5 * tb, sq = 2.0 * r / (c + sqrt(c * c + 4.0 * r));
    return y > 0.0 ? sq * sq : -sq * sq;
}

/* w(theta, rho) into w; returns sum w, *turn = sum |w - w0|. */
static double cost_eval(double *w, const double *v, const proj_set *ps, const cost_set *c,
                        double t, double theta, double rho, double *turn)
{
    double sum = 0.0, tr = 0.0;
    for (size_t i = 0; i < ps->n; i++) {
        double w0 = cs_w0(c, i), a = c->a ? c->a[i] : 0.0, b = c->b ? c->b[i] : 0.0;
        double x = w0 + prox1(v[i] - theta - w0, t * a + rho, t * b);
        x = x < ps->lo[i] ? ps->lo[i] : x > ps->hi[i] ? ps->hi[i] : x;
        w[i] = x;
        sum += x;
        tr += fabs(x - w0);
    }
    *turn = tr;
    return sum;
}

/*
 * Solve g(x) = 0 for a nonincreasing continuous g by expanding a bracket
 * around the warm start x0, then Illinois false position.  Returns the
 * root's x; the last evaluation was at it.
 */
typedef double (*root_fn)(void *ctx, double x);

static double solve_dec(root_fn g, void *ctx, double x0, double step, double lo_limit)
{
    double x = isfinite(x0) ? x0 : 0.0, gx = g(ctx, x);
    if (gx == 0.0)
        return x;
    double a = x, ga = gx, b = x, gb = gx, d = step;
    /* g decreasing: g > 0 means the root is to the right. */
    for (int it = 0; it < 200 && (ga > 0.0) == (gb > 0.0); it++) {
        if (gx > 0.0) {
            a = b;
            ga = gb;
            b = b + d;
            gb = g(ctx, b);
        } else {
            b = a;
            gb = ga;
            a = a - d;
            if (a < lo_limit)
                a = lo_limit;
            ga = g(ctx, a);
            if (a == lo_limit && ga <= 0.0) { /* the root is at the limit */
                g(ctx, a);
                return a;
            }
        }
        d *= 2.0;
    }
    if (ga > 0.0 && gb > 0.0)
        return b;
    if (ga == 0.0) {
        g(ctx, a);
        return a;
    }
    if (gb == 0.0)
        return b;
    /* ga > 0 > gb, a < b */
    int side = 0;
    double m = b;
    for (int it = 0; it < 300; it++) {
        m = (a * gb - b * ga) / (gb - ga);
        if (!(m > a && m < b))
            m = 0.5 * (a + b);
        double gm = g(ctx, m);
        if (gm == 0.0 || !(b - a > 4.0 * DBL_EPSILON * fmax(1.0, fabs(m))))
            break;
        if (gm > 0.0) {
            a = m;
            ga = gm;
            if (side == -1)
                gb *= 0.5;
            side = -1;
        } else {
            b = m;
            gb = gm;
            if (side == 1)
                ga *= 0.5;
            side = 1;
        }
    }
    g(ctx, m);
    return m;
}

typedef struct cost_ctx {
    double *w;
    const double *v;
    const proj_set *ps;
    const cost_set *c;
    double t, rho, theta, turn;
} cost_ctx;

/* Budget residual at theta (rho fixed). */
static double g_budget(void *vc, double theta)
{
    cost_ctx *x = vc;
    return cost_eval(x->w, x->v, x->ps, x->c, x->t, theta, x->rho, &x->turn) - 1.0;
}

/* Turnover residual at rho (theta solved for it). */
static double g_turnover(void *vc, double rho)
{
    cost_ctx *x = vc;
    x->rho = rho;
    x->theta = solve_dec(g_budget, x, x->theta, 1e-3, -INFINITY);
    return x->turn - x->c->tmax;
}

/* The proximal step with costs into w; *theta and *rho carry warm starts. */
static void prox_cost(double *w, const double *v, const proj_set *ps, const cost_set *c,
                      double t, double *theta, double *rho)
{
    cost_ctx x = {w, v, ps, c, t, 0.0, *theta, 0.0};
    x.theta = solve_dec(g_budget, &x, *theta, 1e-3, -INFINITY);
    if (c->tmax >= 0.0 && x.turn > c->tmax)
        x.rho = solve_dec(g_turnover, &x, *rho > 0.0 ? *rho : 0.0, 1e-4, 0.0);
    else
        x.rho = 0.0;
    *theta = x.theta;
    *rho = x.rho;
}

/* The least sum |w - w0| over the bounds and the budget: clip w0 into the
 * bounds, then move the budget's gap (cpo_alloc_opt.turnover_max). */
static double min_turnover(const proj_set *ps, const cost_set *c)
{
    double tr = 0.0, sum = 0.0;
    for (size_t i = 0; i < ps->n; i++) {
        double w0 = cs_w0(c, i), x = w0 < ps->lo[i] ? ps->lo[i] : w0 > ps->hi[i] ? ps->hi[i] : w0;
        tr += fabs(x - w0);
        sum += x;
    }
    return tr + fabs(1.0 - sum);
}

static double cost_of(const double *w, const cost_set *c, size_t n, double *turn)
{
    double k = 0.0, tr = 0.0;
    for (size_t i = 0; i < n; i++) {
        double z = fabs(w[i] - cs_w0(c, i));
        k += (c->a ? c->a[i] : 0.0) * z + (c->b ? c->b[i] : 0.0) * z * sqrt(z);
        tr += z;
    }
    *turn = tr;
    return k;
}

/* One proximal step: the projection without costs (as it always was), the
 * cost prox with them. */
static void prox_step(double *w, const double *v, const proj_set *ps, const cost_set *c, double t,
                      double *theta, double *kappa, double *rho)
{
    if (c->on)
        prox_cost(w, v, ps, c, t, theta, rho);
    else
        project(w, v, ps, theta, kappa);
}

/* --- FISTA ----------------------------------------------------------------- */

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

int cpo_alloc_meanvar(double *w, cpo_alloc_result *res, const double *cov, const double *mu,
                      size_t n, const cpo_alloc_opt *opt, cpo_alloc_ws *ws, cpo_error *err)
{
    const char *what = mu ? "meanvar" : "minvar";
    cpo_alloc_ws *own = NULL;
    cpo_alloc_opt dflt;
    int rc;
    if (!opt) {
        cpo_alloc_opt_init(&dflt);
        opt = &dflt;
    }
    if ((rc = cpo_alloc_check_cov(what, cov, n, err)))
        return rc;
    if (mu)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(mu[i]))
                return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                     "%s: expected return of asset %zu is %g (expected finite "
                                     "values)",
                                     what, i, mu[i]);
    if (!(opt->gamma > 0.0) || !isfinite(opt->gamma))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: risk aversion %g is not positive (expected gamma > 0)", what,
                             opt->gamma);
    if ((rc = cpo_ws_use(&ws, &own, n, 0, err)))
        return rc;
    double *lo = cpo_ws_buf(ws, WS_LO, n, err), *hi = cpo_ws_buf(ws, WS_HI, n, err);
    double *y = cpo_ws_buf(ws, WS_Y, n, err), *g = cpo_ws_buf(ws, WS_G, n, err);
    double *wo = cpo_ws_buf(ws, WS_WOLD, n, err), *wn = cpo_ws_buf(ws, WS_WNEW, n, err);
    double *a = cpo_ws_buf(ws, WS_EIG_A, n * n, err), *ev = cpo_ws_buf(ws, WS_EIG_V, n, err);
    double *tmp = cpo_ws_buf(ws, WS_VEC1, n, err);
    gsl_eigen_symm_workspace *eig = cpo_ws_eigen(ws, n, err);
    if (!lo || !hi || !y || !g || !wo || !wn || !a || !ev || !tmp || !eig) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    proj_set ps;
    if ((rc = resolve_bounds(what, &ps, lo, hi, n, &opt->bounds, err)))
        goto cleanup;
    cost_set cs = {0, opt->w0, opt->tc_lin, opt->tc_impact, -1.0};
    cs.on = opt->w0 || opt->tc_lin || opt->tc_impact || opt->turnover_max > 0.0;
    double tmin = NAN;
    if (cs.on) {
        if (ps.short_max >= 0.0) {
            rc = cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                               "%s: transaction costs with a leverage budget are not supported "
                               "(expected leverage 0, or no cost terms)",
                               what);
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++) {
            double a = opt->tc_lin ? opt->tc_lin[i] : 0.0, b = opt->tc_impact ? opt->tc_impact[i]
                                                                             : 0.0;
            double w0 = opt->w0 ? opt->w0[i] : 0.0;
            if (!(a >= 0.0) || !(b >= 0.0) || !isfinite(a) || !isfinite(b) || !isfinite(w0)) {
                rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                   "%s: cost terms of asset %zu are w0 %g, linear %g, impact %g "
                                   "(expected finite w0 and costs >= 0)",
                                   what, i, w0, a, b);
                goto cleanup;
            }
        }
        if (!(opt->turnover_max >= 0.0) || !isfinite(opt->turnover_max)) {
            rc = cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                               "%s: turnover limit %g (expected >= 0; 0 = none)", what,
                               opt->turnover_max);
            goto cleanup;
        }
        tmin = min_turnover(&ps, &cs);
        if (opt->turnover_max > 0.0)
            cs.tmax = fmax(opt->turnover_max, tmin * (1.0 + 1e-12) + 1e-15);
    }
    /* L = gamma * lambda_max; the smallest eigenvalue checks convexity. */
    memcpy(a, cov, n * n * sizeof *a);
    {
        gsl_matrix_view av = gsl_matrix_view_array(a, n, n);
        gsl_vector_view evv = gsl_vector_view_array(ev, n);
        if (gsl_eigen_symm(&av.matrix, &evv.vector, eig) != GSL_SUCCESS) {
            rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                               "%s: the eigenvalues of the covariance matrix did not converge",
                               what);
            goto cleanup;
        }
    }
    double lmax = ev[0], lmin = ev[0];
    for (size_t i = 1; i < n; i++) {
        lmax = fmax(lmax, ev[i]);
        lmin = fmin(lmin, ev[i]);
    }
    if (lmin < -1e-10 * fmax(fabs(lmax), DBL_MIN)) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                           "%s: the covariance matrix is not positive semi-definite (smallest "
                           "eigenvalue %.6g) (expected a covariance matrix)",
                           what, lmin);
        goto cleanup;
    }
    double L = opt->gamma * lmax;
    if (!(L > 0.0))
        L = 1.0; /* S = 0: the objective is linear; any step size works */
    const double gam = opt->gamma, tol = opt->tol > 0.0 ? opt->tol : 1e-10;
    size_t max_iter = opt->max_iter ? opt->max_iter : 20000;
    double theta = NAN, kappa = 0.0, rho = 0.0;
    for (size_t i = 0; i < n; i++)
        tmp[i] = opt->warm_start && isfinite(w[i]) ? w[i] : 1.0 / (double)n;
    if (cs.on)
        theta = 0.0;
    prox_step(wo, tmp, &ps, &cs, 1.0 / L, &theta, &kappa, &rho);
    memcpy(y, wo, n * sizeof *y);
    double tk = 1.0;
    size_t it = 0;
    int converged = 0;
    while (it < max_iter) {
        it++;
        if ((rc = cpo_alloc_symv(g, cov, y, n))) {
            cpo_error_set(err, rc, NULL, 0, 0, "%s: BLAS dsymv failed", what);
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++)
            tmp[i] = y[i] - (gam * g[i] - (mu ? mu[i] : 0.0)) / L;
        prox_step(wn, tmp, &ps, &cs, 1.0 / L, &theta, &kappa, &rho);
        double step = 0.0, rs = 0.0;
        for (size_t i = 0; i < n; i++) {
            step = fmax(step, fabs(wn[i] - y[i]));
            rs += (y[i] - wn[i]) * (wn[i] - wo[i]);
        }
        if (rs > 0.0) { /* restart: drop the momentum */
            tk = 1.0;
            memcpy(y, wn, n * sizeof *y);
        } else {
            double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk)), beta = (tk - 1.0) / tn;
            for (size_t i = 0; i < n; i++)
                y[i] = wn[i] + beta * (wn[i] - wo[i]);
            tk = tn;
        }
        double *sw = wo;
        wo = wn;
        wn = sw;
        if (step < tol) {
            converged = 1;
            break;
        }
    }
    /* KKT at the returned point: L * |w - P(w - grad/L)|_inf. */
    if ((rc = cpo_alloc_symv(g, cov, wo, n))) {
        cpo_error_set(err, rc, NULL, 0, 0, "%s: BLAS dsymv failed", what);
        goto cleanup;
    }
    double quad = dot(wo, g, n), lin = mu ? dot(mu, wo, n) : 0.0;
    for (size_t i = 0; i < n; i++)
        tmp[i] = wo[i] - (gam * g[i] - (mu ? mu[i] : 0.0)) / L;
    prox_step(wn, tmp, &ps, &cs, 1.0 / L, &theta, &kappa, &rho);
    double kkt = 0.0;
    for (size_t i = 0; i < n; i++)
        kkt = fmax(kkt, L * fabs(wo[i] - wn[i]));
    memcpy(w, wo, n * sizeof *w);
    if (res) {
        res->kkt = kkt;
        res->objective = 0.5 * gam * quad - lin;
        res->iterations = it;
        res->converged = converged;
        res->cost = res->turnover = res->turnover_min = NAN;
        if (cs.on) {
            res->cost = cost_of(w, &cs, n, &res->turnover);
            res->objective += res->cost;
            res->turnover_min = tmin;
        }
    }
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}

int cpo_alloc_minvar(double *w, cpo_alloc_result *res, const double *cov, size_t n,
                     const cpo_alloc_opt *opt, cpo_alloc_ws *ws, cpo_error *err)
{
    return cpo_alloc_meanvar(w, res, cov, NULL, n, opt, ws, err);
}

/* --- closed forms ------------------------------------------------------------ */

int cpo_alloc_meanvar_budget(double *w, const double *cov, const double *mu, size_t n,
                             double gamma, cpo_alloc_ws *ws, cpo_error *err)
{
    const char *what = "meanvar budget";
    cpo_alloc_ws *own = NULL;
    int rc;
    if ((rc = cpo_alloc_check_cov(what, cov, n, err)))
        return rc;
    if (mu && !(gamma > 0.0))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: risk aversion %g is not positive (expected gamma > 0)", what,
                             gamma);
    if ((rc = cpo_ws_use(&ws, &own, n, 0, err)))
        return rc;
    double *l = cpo_ws_buf(ws, WS_CHOL, n * n, err);
    double *a = cpo_ws_buf(ws, WS_VEC1, n, err), *b = cpo_ws_buf(ws, WS_VEC2, n, err);
    if (!l || !a || !b) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    memcpy(l, cov, n * n * sizeof *l);
    if (cpo_alloc_cholesky(l, n)) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                           "%s: the covariance matrix is not positive definite (expected a "
                           "symmetric positive definite matrix)",
                           what);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        a[i] = 1.0;
        b[i] = mu ? mu[i] : 0.0;
    }
    if (cpo_alloc_chol_solve(l, n, a) || (mu && cpo_alloc_chol_solve(l, n, b))) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "%s: Cholesky solve failed", what);
        goto cleanup;
    }
    double sa = 0.0, sb = 0.0;
    for (size_t i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
    }
    for (size_t i = 0; i < n; i++)
        w[i] = a[i] / sa + (mu ? (b[i] - sb / sa * a[i]) / gamma : 0.0);
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}

int cpo_alloc_invvol(double *w, const double *cov, size_t n, int power, cpo_error *err)
{
    int rc = cpo_alloc_check_n("invvol", n, err);
    if (rc)
        return rc;
    if (power != 1 && power != 2)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "invvol: power %d (expected 1 for 1/sigma or 2 for 1/sigma^2)",
                             power);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = cov[i * n + i];
        if (!(v > 0.0) || !isfinite(v))
            return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                                 "invvol: asset %zu has variance %g (expected positive "
                                 "variances)",
                                 i, v);
        s += power == 1 ? 1.0 / sqrt(v) : 1.0 / v;
    }
    for (size_t i = 0; i < n; i++) {
        double v = cov[i * n + i];
        w[i] = (power == 1 ? 1.0 / sqrt(v) : 1.0 / v) / s;
    }
    return 0;
}
