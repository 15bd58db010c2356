/*
 * iv.c - Black-76 implied volatility (METHODS.md 2.4).
 *
 * 1. Undiscounted price beta = V/D; bounds in raw units: below intrinsic
 *    (NaN), at intrinsic (vol 0), at or above the maximum F (call) or K
 *    (put) (NaN).
 * 2. Normalisation (Jaeckel, "Let's Be Rational", Wilmott 2015): x =
 *    ln(F/K), s = sigma sqrt(T), prices divided by sqrt(FK).  An
 *    in-the-money option is replaced by the out-of-the-money one of the
 *    other right through parity, and a put by the call at -x, so that the
 *    solver only sees an out-of-the-money call: x <= 0, 0 < b < e^{x/2},
 *
 *        b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2).
 *
 *    b is increasing in s with one inflection point at s_c = sqrt(2|x|).
 * 3. b is evaluated without cancellation or underflow: in the lower tail
 *    through Mills ratios m(z) = N(-z)/phi(z) (b = phi0 exp(-(h^2+t^2)/2)
 *    (m(-a1) - m(-a2)), h = x/s, t = s/2, a1,2 = h +- t), near the money
 *    through N(a) - 1/2 (Cody's first interval, no cancellation), and its
 *    complement w = e^{x/2} - b directly as a sum of two positive terms.
 * 4. Three objectives with the same root, each nearly linear where it is
 *    used: low prices (below 0.3 b(s_c)) f = 1/sqrt(-2 ln b) (~ s/|x| as
 *    s -> 0), middle f = b, high prices (w below half its value at s_c)
 *    f = ln w (~ -s^2/8).  b, w and db/ds at s_c are closed forms (a1 =
 *    0 there).  The initial guess: the tangent at s_c (middle), a
 *    monotone cubic Hermite interpolation of s as a function of f between
 *    s = 0 and s_c (low), or the inverse of w ~ 2 cosh(x/2) N(-s/2)
 *    (high).  Then third-order Householder steps (order-4 convergence;
 *    db/ds and the ratios b''/b', b'''/b' are closed forms), Newton steps
 *    where the two disagree by more than a factor 2 (far from the root),
 *    kept inside a bracket that every evaluation narrows.  A step below
 *    1e-4 s ends it: the error after it is of the order of (1e-4)^4.
 *    Typically 2 or 3 evaluations of b (measured: about 3.7 million
 *    solves a second on one core, cpo_black76_bench).
 * 5. Fallback: GSL's Brent solver on ln b(s) - ln b_target over the
 *    bracket; NO_CONVERGENCE if that fails too (never seen in the tests).
 *
 * Accuracy: the vol is exact to a few ulps where the price determines it
 * (round trips over +-3 sd, 1 hour..2 years, vol 0.05..3: max |dvol|
 * 4.5e-11, at deep in-the-money options whose time value is 1e-6 of the
 * price); evaluating b near the money with s small loses about log10(1/s)
 * digits, so the relative error in vol is up to about 1e-15/s (measured:
 * 9e-13 at s >= 1e-3, which is 1 hour at 9 % vol; 8e-14 at s >= 0.01).
 */
#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <math.h>

#include "black76_impl.h"
#include "cpo/black76.h"
#include "cpo/instrument.h"

#define LN_PHI0 (-0.918938533204672741780329736406) /* ln(1/sqrt(2 pi)) */
#define MAX_STEPS 12
#define STEP_TOL 1e-4 /* a step below this x s: converged (see solve_s) */

/* --- names ------------------------------------------------------------------- */

const char *cpo_iv_status_name(int status)
{
    static const char *const names[] = {
#define CPO_X_IVS(id, name, text) name,
        CPO_IV_STATUS_LIST(CPO_X_IVS)
#undef CPO_X_IVS
    };
    if (status < 0 || status >= CPO_IV_STATUS_COUNT)
        return "unknown";
    return names[status];
}

/* --- the normal distribution, scalar ---------------------------------------------- */

/*
 * Cody's rational part for y >= 0, only the interval y falls in (the
 * scalar solver branches; black76_kern.h's vector form computes all and
 * selects): y <= THRSH: N(-y) = 1/2 - q; else N(-y) = exp(-y^2/2) q, with
 * beyond B76_YMAX Cody's third-interval function of 1/y^2 unexpanded.
 */
static double cody1(double y)
{
    double z = y * y;
    if (y <= B76_THRSH) {
        double na = ((((z * B76_A4 + B76_A0) * z + B76_A1) * z + B76_A2) * z + B76_A3) * y;
        double da = (((z + B76_B0) * z + B76_B1) * z + B76_B2) * z + B76_B3;
        return na / da;
    }
    if (y <= B76_ROOT32) {
        double nb = ((((((y * B76_C8 + B76_C0) * y + B76_C1) * y + B76_C2) * y + B76_C3) * y +
                      B76_C4) * y + B76_C5) * y + B76_C6;
        nb = nb * y + B76_C7;
        double db = ((((((y + B76_D0) * y + B76_D1) * y + B76_D2) * y + B76_D3) * y + B76_D4) *
                         y + B76_D5) * y + B76_D6;
        db = db * y + B76_D7;
        return nb / db;
    }
    if (y <= B76_YMAX) {
        double pt = ((((z * B76_P4 + B76_P3) * z + B76_P2) * z + B76_P1) * z + B76_P0) * z + B76_P5;
        double qt = ((((z * B76_Q4 + B76_Q3) * z + B76_Q2) * z + B76_Q1) * z + B76_Q0) * z + 1.0;
        return (z * qt * B76_INV_SQRT_2PI - pt) / (y * z * qt);
    }
    double u = 1.0 / z;
    double num = ((((B76_P5 * u + B76_P0) * u + B76_P1) * u + B76_P2) * u + B76_P3) * u + B76_P4;
    double den = ((((u + B76_Q0) * u + B76_Q1) * u + B76_Q2) * u + B76_Q3) * u + B76_Q4;
    return (B76_INV_SQRT_2PI - u * num / den) / y;
}

/* For y = |a| and e = exp(-a^2/2): N(-y) in *tail and 1/2 - N(-y) (= |N(a)
 * - 1/2|, without cancellation near 0) in *half. */
static void ncdf_parts(double y, double e, double *tail, double *half)
{
    double q = cody1(y);
    if (y <= B76_THRSH) {
        *tail = 0.5 - q;
        *half = q;
    } else {
        *tail = e * q;
        *half = 0.5 - *tail;
    }
}

/* Mills ratio m(z) = N(-z)/phi(z) for z >= 0: Cody's second and third
 * intervals give it directly (N(-z) = exp(-z^2/2) q, so m = q sqrt(2pi)). */
static double mills(double z)
{
    double q = cody1(z);
    if (z <= B76_THRSH)
        return (0.5 - q) / (exp(-0.5 * z * z) * B76_INV_SQRT_2PI); /* z small: exact enough */
    return q * B76_SQRT_2PI;
}

/* --- the normalised Black price --------------------------------------------------- */

typedef struct nb {
    double b;   /* b(x, s) (NEED_B); may underflow to 0 where lnb is finite */
    double w;   /* e^{x/2} - b (NEED_B) */
    double bp;  /* db/ds = e^{x/2} phi(a1) (NEED_B) */
    double lnb; /* ln b (NEED_LOG) */
    double l1;  /* b'/b (NEED_LOG) */
    double r2;  /* b''/b' */
    double r3;  /* b'''/b' */
} nb;

#define NEED_B 1
#define NEED_LOG 2

/*
 * b and its derivatives at s; x <= 0, s > 0; ex = e^{x/2}, emx = e^{-x/2}.
 * need: NEED_B (b, w, db/ds) and/or NEED_LOG (ln b, b'/b); r2, r3 always.
 * exp(-a1^2/2) = sqrt(2pi) db/ds e^{-x/2}, exp(-a2^2/2) = sqrt(2pi) db/ds
 * e^{x/2}, with db/ds = phi0 exp(-(h^2+t^2)/2): one exp at most.
 */
static void nb_eval(double x, double ex, double emx, double s, int need, nb *o)
{
    double h = x / s, t = 0.5 * s;
    double a1 = h + t, a2 = h - t;
    double hh = 0.5 * (h * h + t * t);
    double q = h * h;
    o->r2 = q / s - 0.25 * s;
    o->r3 = o->r2 * o->r2 - 3.0 * q / (s * s) - 0.25;
    if (a1 < -1.0) {
        /* Lower tail: b = phi0 exp(-(h^2+t^2)/2) (m(-a1) - m(-a2)), no
         * underflow, b'/b = 1/(m(-a1) - m(-a2)) without any exp. */
        double dm = mills(-a1) - mills(-a2);
        o->l1 = 1.0 / dm;
        o->lnb = LN_PHI0 - hh + log(dm);
        if (need & NEED_B) {
            o->bp = exp(LN_PHI0 - hh);
            o->b = o->bp * dm;
            o->w = ex - o->b;
        }
        return;
    }
    o->bp = exp(LN_PHI0 - hh);
    double t1, p1, t2, p2;
    ncdf_parts(fabs(a1), B76_SQRT_2PI * o->bp * emx, &t1, &p1); /* exp(-a1^2/2) */
    ncdf_parts(fabs(a2), B76_SQRT_2PI * o->bp * ex, &t2, &p2);  /* exp(-a2^2/2) */
    double n1m = a1 > 0.0 ? t1 : 1.0 - t1; /* N(-a1) */
    double n2 = a2 < 0.0 ? t2 : 1.0 - t2;  /* N(a2) */
    if (a1 <= 1.0 && a2 >= -1.0) {
        /* Near the money: b = sinh(x/2) + e^{x/2}(N(a1) - 1/2) -
         * e^{-x/2}(N(a2) - 1/2), free of the cancellation of N(a1) -
         * N(a2) when s is small. */
        double P1 = a1 < 0.0 ? -p1 : p1, P2 = a2 < 0.0 ? -p2 : p2;
        o->b = sinh(0.5 * x) + ex * P1 - emx * P2;
    } else {
        o->b = ex * (1.0 - n1m) - emx * n2;
    }
    o->w = ex * n1m + emx * n2;
    if (need & NEED_LOG) {
        o->lnb = log(o->b);
        o->l1 = o->bp / o->b;
    }
}

/* --- the solver ------------------------------------------------------------------------ */

enum { OBJ_LOW, OBJ_MID, OBJ_HIGH };

typedef struct solve_ctx {
    double x, ex, emx, bt; /* target b */
    double lnbt, gt, lnwt; /* its transforms */
} solve_ctx;

/* f, f' and the ratios f''/f', f'''/f' of an objective at s. */
static void objective(const solve_ctx *c, int obj, double s, double *f, double *f1,
                     double *g2, double *g3)
{
    nb e;
    nb_eval(c->x, c->ex, c->emx, s, obj == OBJ_LOW ? NEED_LOG : NEED_B, &e);
    if (obj == OBJ_LOW) {
        double g = -2.0 * e.lnb;
        double L1 = e.l1;
        double L2 = L1 * e.r2 - L1 * L1;
        double L3 = L1 * e.r3 - 3.0 * L1 * L1 * e.r2 + 2.0 * L1 * L1 * L1;
        double rg = 1.0 / sqrt(g);
        double G1 = rg / g;
        *f = rg - c->gt;
        *f1 = G1 * L1;
        *g2 = 3.0 / g * L1 + L2 / L1;
        *g3 = 15.0 / (g * g) * L1 * L1 + 9.0 / g * L2 + L3 / L1;
    } else if (obj == OBJ_MID) {
        *f = e.b - c->bt;
        *f1 = e.bp;
        *g2 = e.r2;
        *g3 = e.r3;
    } else {
        double F1 = -e.bp / e.w;
        double F2 = F1 * e.r2 - F1 * F1;
        double F3 = F1 * e.r3 - 3.0 * F1 * F1 * e.r2 + 2.0 * F1 * F1 * F1;
        *f = log(e.w) - c->lnwt;
        *f1 = F1;
        *g2 = F2 / F1;
        *g3 = F3 / F1;
    }
}

typedef struct brent_ctx {
    const solve_ctx *c;
} brent_ctx;

static double brent_fn(double s, void *p)
{
    const solve_ctx *c = ((const brent_ctx *)p)->c;
    nb e;
    nb_eval(c->x, c->ex, c->emx, s, NEED_LOG, &e);
    return e.lnb - c->lnbt;
}

/*
 * Brent on ln b(s) - ln bt over [lo, hi]; 0 or -1.  GSL only ever sees a
 * bracket with finite values of opposite signs here, so its error handler
 * (global state, left alone) is not reached except when out of memory.
 */
static int brent(const solve_ctx *c, double lo, double hi, double *s_out)
{
    brent_ctx bc = {c};
    gsl_function fn = {brent_fn, &bc};
    if (!(hi < INFINITY)) {
        /* Find an upper end: b -> e^{x/2} as s grows. */
        hi = lo > 1.0 ? 2.0 * lo : 2.0;
        while (brent_fn(hi, &bc) < 0.0) {
            hi *= 2.0;
            if (hi > 1e6)
                return -1;
        }
    }
    if (!(lo > 0.0)) {
        /* Find a lower end: b -> 0 as s -> 0. */
        lo = 0.5 * hi;
        while (brent_fn(lo, &bc) > 0.0) {
            lo *= 0.5;
            if (lo < 1e-200)
                return -1;
        }
    }
    double flo = brent_fn(lo, &bc), fhi = brent_fn(hi, &bc);
    if (!(flo <= 0.0 && fhi >= 0.0 && isfinite(flo) && isfinite(fhi)))
        return -1;
    gsl_root_fsolver *sv = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    int rc = -1;
    if (sv && gsl_root_fsolver_set(sv, &fn, lo, hi) == GSL_SUCCESS) {
        for (int it = 0; it < 300; it++) {
            if (gsl_root_fsolver_iterate(sv) != GSL_SUCCESS)
                break;
            double a = gsl_root_fsolver_x_lower(sv), b = gsl_root_fsolver_x_upper(sv);
            if (gsl_root_test_interval(a, b, 0.0, 4.0 * DBL_EPSILON) == GSL_SUCCESS) {
                *s_out = gsl_root_fsolver_root(sv);
                rc = 0;
                break;
            }
        }
    }
    gsl_root_fsolver_free(sv);
    return rc;
}

/*
 * Solve b(x, s) = bt for s, x <= 0, 0 < bt < e^{x/2}.  Returns 0, or -1
 * (no convergence).  *steps gets the Householder steps taken (-1 if Brent
 * was used).
 */
static int solve_s(double x, double bt, double *s_out, int *steps)
{
    solve_ctx c;
    c.x = x;
    c.ex = exp(0.5 * x);
    c.emx = 1.0 / c.ex;
    c.bt = bt;
    c.lnbt = log(bt);
    c.gt = c.lnwt = NAN; /* set with the objective that uses them */

    /* At the inflection point s_c = sqrt(2|x|): a1 = 0, a2 = -s_c, so b_c =
     * e^{x/2}/2 - e^{-x/2} N(-s_c) (near the money sinh(x/2) + e^{-x/2}
     * (1/2 - N(-s_c)), without cancellation), w_c = e^{x/2}/2 + e^{-x/2}
     * N(-s_c), db/ds = e^{x/2} phi(0). */
    double sc = sqrt(-2.0 * x);
    double tl, hf;
    ncdf_parts(sc, c.ex * c.ex, &tl, &hf); /* exp(-s_c^2/2) = e^x */
    double bc = sc <= 1.0 ? sinh(0.5 * x) + c.emx * hf : 0.5 * c.ex - c.emx * tl;
    double wc = 0.5 * c.ex + c.emx * tl;
    double vc = c.ex * B76_INV_SQRT_2PI;
    double lo = 0.0, hi = INFINITY, s;
    int obj;
    if (bt < bc) {
        /* Below the inflection point: the root is in (0, s_c). */
        hi = sc;
        double st = sc - (bc - bt) / vc; /* the tangent at s_c */
        if (bt > 0.3 * bc && st > 0.0) {
            obj = OBJ_MID;
            s = st;
        } else {
            /*
             * f = G(b) = 1/sqrt(-2 ln b) goes from 0 (slope 1/|x|) at s = 0
             * to G(b_c) at s_c: a cubic Hermite interpolation of the inverse
             * s(G) between the two ends, its end slopes limited (Fritsch &
             * Carlson) so that it is monotone and stays inside (0, s_c).
             */
            obj = OBJ_LOW;
            c.gt = 1.0 / sqrt(-2.0 * c.lnbt);
            double g = -2.0 * log(bc);
            double gc = 1.0 / sqrt(g);
            double sec = sc / gc;
            double d0 = -x;                          /* ds/dG at G = 0 */
            double d1 = 1.0 / (gc / g * (vc / bc)); /* ds/dG at G = G(b_c) */
            double r = (d0 * d0 + d1 * d1) / (sec * sec);
            if (r > 9.0) {
                d0 *= 3.0 / sqrt(r);
                d1 *= 3.0 / sqrt(r);
            }
            double u = c.gt / gc, um = u - 1.0;
            s = u * um * um * gc * d0 + u * u * (3.0 - 2.0 * u) * sc + u * u * um * gc * d1;
        }
    } else {
        /* Above: the root is in [s_c, inf). */
        lo = sc;
        if (c.ex - bt > 0.5 * wc) {
            obj = OBJ_MID;
            s = sc + (bt - bc) / vc;
        } else {
            /* Near the maximum: w = e^{x/2} - b ~ (e^{x/2} + e^{-x/2}) N(-s/2). */
            obj = OBJ_HIGH;
            c.lnwt = log(c.ex - bt);
            s = -2.0 * gsl_cdf_ugaussian_Pinv((c.ex - bt) / (c.ex + c.emx));
            if (!(s > sc))
                s = sc + (bt - bc) / vc;
        }
    }
    if (!(s > 0.0 && s >= lo && s <= hi))
        s = hi < INFINITY ? 0.5 * (lo + hi) : 2.0 * lo + 1.0;

    for (int it = 1; it <= MAX_STEPS; it++) {
        double f, f1, g2, g3;
        objective(&c, obj, s, &f, &f1, &g2, &g3);
        if (f == 0.0) {
            *s_out = s;
            *steps = it;
            return 0;
        }
        /* f > 0: s above the root (f increases with s; the high-price
         * objective ln w decreases). */
        if ((f > 0.0) == (obj != OBJ_HIGH))
            hi = s;
        else
            lo = s;
        /* Householder's third-order step from the Newton step nu and the
         * ratios f''/f', f'''/f'; Newton where the two disagree (far from
         * the root, where the higher terms are not small). */
        double nu = -f / f1;
        double ds = nu * (1.0 + 0.5 * g2 * nu) / (1.0 + nu * (g2 + g3 * nu / 6.0));
        if (!isfinite(ds))
            break;
        int newton = !(ds / nu > 0.5 && ds / nu < 2.0);
        if (newton)
            ds = nu;
        double sn = s + ds;
        if (fabs(ds) <= (newton ? 8.0 * DBL_EPSILON : STEP_TOL) * s) {
            /* Order-4 convergence: the error after this step is of the
             * order of (STEP_TOL)^4, far below the rounding of s (a
             * Newton step only at the rounding level). */
            *s_out = sn < lo ? lo : (sn > hi ? hi : sn); /* the root is in [lo, hi] */
            *steps = it;
            return 0;
        }
        if (!(sn > lo && sn < hi)) {
            /* Outside the bracket: Newton, else bisection. */
            sn = s + nu;
            if (!(sn > lo && sn < hi))
                sn = hi < INFINITY ? (lo > 0.0 ? 0.5 * (lo + hi) : 0.5 * hi) : 2.0 * lo + 1.0;
        }
        s = sn;
    }
    *steps = -1;
    return brent(&c, lo, hi, s_out);
}

cpo_iv_status cpo_black76_iv(double price, double fwd, double strike, double t_years,
                             double rate, int right, double *vol)
{
    *vol = NAN;
    int call = right == CPO_RIGHT_CALL;
    if (!(call || right == CPO_RIGHT_PUT) || !(price >= 0.0 && price <= DBL_MAX) ||
        !(fwd > 0.0 && fwd <= DBL_MAX) || !(strike > 0.0 && strike <= DBL_MAX) ||
        !(t_years > 0.0 && t_years <= DBL_MAX) || !(fabs(rate) <= DBL_MAX))
        return CPO_IV_BAD_INPUT;
    double fk = fwd / strike;
    if (!(fk >= DBL_MIN && fk <= DBL_MAX))
        return CPO_IV_BAD_INPUT;
    double beta = rate == 0.0 ? price : price * exp(rate * t_years);
    double intr = call ? (fwd > strike ? fwd - strike : 0.0) : (strike > fwd ? strike - fwd : 0.0);
    double bmax = call ? fwd : strike;
    double tol = 4.0 * DBL_EPSILON * intr; /* the rounding of beta - intrinsic */
    if (beta < intr - tol)
        return CPO_IV_BELOW_INTRINSIC;
    if (fabs(beta - intr) <= tol) {
        *vol = 0.0;
        return CPO_IV_AT_INTRINSIC;
    }
    if (beta >= bmax)
        return CPO_IV_ABOVE_MAX;
    /* The out-of-the-money option, as a call in normalised units. */
    double x = log(fk);
    double ax = -fabs(x);
    double bt = (beta - intr) / sqrt(fwd) / sqrt(strike);
    if (!(bt < exp(0.5 * ax)))
        return CPO_IV_ABOVE_MAX;
    if (!(bt > 0.0))
        return CPO_IV_AT_INTRINSIC;
    double s;
    int steps;
    if (solve_s(ax, bt, &s, &steps))
        return CPO_IV_NO_CONVERGENCE;
    *vol = s / sqrt(t_years);
    return CPO_IV_OK;
}

size_t cpo_black76_iv_batch(size_t n, const double *price, const double *fwd,
                            const double *strike, const double *t_years, const double *rate,
                            const int8_t *right, double *vol, int8_t *status)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        cpo_iv_status st = cpo_black76_iv(price[i], fwd[i], strike[i], t_years[i],
                                          rate ? rate[i] : 0.0, right[i], &vol[i]);
        if (status)
            status[i] = (int8_t)st;
        if (st != CPO_IV_OK && st != CPO_IV_AT_INTRINSIC)
            bad++;
    }
    return bad;
}
