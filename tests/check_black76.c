/*
 * check_black76.c - Black-76 prices, Greeks, coin Greeks, the normal
 * distribution, implied vol (quant/pricing/black76.c, quant/pricing/iv.c) and the
 * `cpo options price` calculator (cli/cmd_options.c).
 *
 * References: the py_vollib doctest vectors quoted in METHODS.md 2.2;
 * put-call parity; central finite differences for every Greek; 50-digit
 * mpmath values and glibc's long double erfcl for N(x); round trips for
 * the implied vol; every row of the Deribit weekly snapshots against the
 * exchange's mark IV (read from ../shared/data/real beside the repository, else from the
 * bundled gzip copies in datasets/sample/csv/options, else skipped).
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <float.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "black76_impl.h"
#include "cpo/black76.h"
#include "cpo/import.h"
#include "cpo/instrument.h"
#include "testutil.h"

#define REAL_WEEKLY TU_REAL_DIR "/options/deribit_weekly_snapshots"

static cpo_black76_out px(double F, double K, double T, double r, double v, int right)
{
    cpo_black76_in in = {F, K, T, r, v, right};
    cpo_black76_out o;
    ck_assert_int_eq(cpo_black76(&in, &o), 0);
    return o;
}

/* |a - b| <= tol, with a message naming what is compared. */
#define NEAR(a, b, tol, what)                                                           \
    ck_assert_msg(fabs((a) - (b)) <= (tol), "%s: %.17g vs %.17g (diff %.3g, tol %.3g)", \
                  (what), (double)(a), (double)(b), fabs((double)(a) - (double)(b)),    \
                  (double)(tol))

/* --- published values ------------------------------------------------------ */

/*
 * py_vollib's doctests (vollib/py_vollib, py_vollib/black/greeks/
 * analytical.py and black/__init__.py), as reproduced in METHODS.md 2.2
 * to 12 digits; py_vollib quotes vega per vol point (/100), theta per day
 * (/365) and rho per 1 % (/100).  Tolerance 1e-10 absolute (the values
 * are given to 1e-12 or better).
 */
START_TEST(test_black76_pyvollib__vectors)
{
    cpo_black76_out c = px(49, 50, 0.3846, 0.05, 0.2, CPO_RIGHT_CALL);
    NEAR(c.delta, 0.451070174822, 1e-10, "call delta");
    NEAR(c.gamma, 0.0640646705882, 1e-10, "call gamma");
    NEAR(c.vega / 100.0, 0.118317785624, 1e-10, "call vega/100");
    NEAR(c.theta / 365.0, -0.00816236877462, 1e-10, "call theta/365");
    NEAR(c.rho / 100.0, -0.00747053800596, 1e-10, "call rho/100");
    cpo_black76_out p = px(49, 50, 0.3846, 0.05, 0.2, CPO_RIGHT_PUT);
    NEAR(p.theta / 365.0, -0.00802799155312, 1e-10, "put theta/365");
    NEAR(p.rho / 100.0, -0.0112432860013, 1e-10, "put rho/100");
    NEAR(px(100, 100, 0.5, 0.02, 0.2, CPO_RIGHT_CALL).price, 5.5811067246, 1e-10, "discounted");
    NEAR(px(100, 100, 0.5, 0.0, 0.2, CPO_RIGHT_CALL).price, 5.6371977797, 1e-10, "undiscounted");
}
END_TEST

/* C - P = D (F - K): to 1e-13 of max(F, K) (a few roundings of terms of
 * that size). */
START_TEST(test_black76_parity__call_minus_put)
{
    const double K[] = {20, 60, 90, 100, 110, 150, 400};
    const double T[] = {1.0 / 8760, 0.02, 0.25, 1, 2};
    const double V[] = {0.05, 0.3, 0.8, 2.5};
    const double R[] = {0, 0.05, -0.01};
    for (size_t a = 0; a < 7; a++)
        for (size_t b = 0; b < 5; b++)
            for (size_t c = 0; c < 4; c++)
                for (size_t d = 0; d < 3; d++) {
                    cpo_black76_out C = px(100, K[a], T[b], R[d], V[c], CPO_RIGHT_CALL);
                    cpo_black76_out P = px(100, K[a], T[b], R[d], V[c], CPO_RIGHT_PUT);
                    double D = exp(-R[d] * T[b]);
                    NEAR(C.price - P.price, D * (100 - K[a]), 1e-13 * fmax(100, K[a]), "parity");
                    NEAR(C.delta - P.delta, D, 1e-15, "delta parity");
                    NEAR(C.gamma, P.gamma, 0.0, "gamma equal");
                    NEAR(C.vega, P.vega, 0.0, "vega equal");
                }
}
END_TEST

/*
 * Every Greek against a central difference of the price (delta, vega,
 * theta, rho) or of another analytic Greek (gamma and vanna from delta,
 * volga from vega), steps h = 1e-4 F sigma sqrt(T) in F (the scale of
 * d1), 1e-4 vol in vol, 1e-4 in the rate, 1e-4 T in T.  Truncation error ~h^2/6 f''' (about 1e-8 relative here),
 * rounding ~1e-16 f/h: tolerance 2e-6 of the Greek, plus 1e-8 of the
 * same Greek of the at-the-money option (for Greeks near zero in the
 * wings).
 */
START_TEST(test_black76_greeks__finite_differences)
{
    const double K[] = {60, 90, 100, 110, 160};
    const double T[] = {0.01, 0.25, 2};
    const double V[] = {0.1, 0.5, 1.2};
    const double R[] = {0, 0.05};
    const double F = 100;
    for (int w = CPO_RIGHT_CALL; w <= CPO_RIGHT_PUT; w++)
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 3; b++)
                for (size_t c = 0; c < 3; c++)
                    for (size_t d = 0; d < 2; d++) {
                        double k = K[a], t = T[b], v = V[c], r = R[d];
                        cpo_black76_out g = px(F, k, t, r, v, w);
                        cpo_black76_out atm = px(F, F, t, r, v, w);
                        double hF = 1e-4 * F * v * sqrt(t), hv = 1e-4 * v, hr = 1e-4, hT = 1e-4 * t;
                        cpo_black76_out fu = px(F + hF, k, t, r, v, w), fd = px(F - hF, k, t, r, v, w);
                        cpo_black76_out vu = px(F, k, t, r, v + hv, w), vd = px(F, k, t, r, v - hv, w);
                        cpo_black76_out ru = px(F, k, t, r + hr, v, w), rd = px(F, k, t, r - hr, v, w);
                        cpo_black76_out tu = px(F, k, t + hT, r, v, w), td = px(F, k, t - hT, r, v, w);
#define FD_CHECK(an, fdv, ref, what)                                                        \
    ck_assert_msg(fabs((an) - (fdv)) <= 2e-6 * fabs(an) + 1e-8 * fabs(ref),                 \
                  "%s K=%g T=%g v=%g r=%g %s: analytic %.12g fd %.12g", what, k, t, v, r,   \
                  w == CPO_RIGHT_CALL ? "call" : "put", (double)(an), (double)(fdv))
                        FD_CHECK(g.delta, (fu.price - fd.price) / (2 * hF), atm.delta, "delta");
                        FD_CHECK(g.gamma, (fu.delta - fd.delta) / (2 * hF), atm.gamma, "gamma");
                        FD_CHECK(g.vega, (vu.price - vd.price) / (2 * hv), atm.vega, "vega");
                        FD_CHECK(g.theta, -(tu.price - td.price) / (2 * hT), atm.theta, "theta");
                        FD_CHECK(g.rho, (ru.price - rd.price) / (2 * hr), atm.rho, "rho");
                        FD_CHECK(g.vanna, (vu.delta - vd.delta) / (2 * hv), atm.vega / F, "vanna");
                        FD_CHECK(g.volga, (vu.vega - vd.vega) / (2 * hv), atm.vega, "volga");
#undef FD_CHECK
                    }
}
END_TEST

/*
 * Coin Greeks (METHODS 2.3) against central differences of c(I) =
 * V(F = I g)/(I p) with the basis g = F/I and p = P/I held fixed, for both
 * conversions (P = I, P = F); step 1e-4 I.  Tolerance as above.
 */
START_TEST(test_black76_coin__finite_differences)
{
    const double I = 90000, K[] = {60000, 85000, 90000, 100000, 150000};
    const double g = 1.012; /* F/I: a 1.2 % basis */
    for (int conv = 0; conv < 2; conv++)
        for (int w = CPO_RIGHT_CALL; w <= CPO_RIGHT_PUT; w++)
            for (size_t a = 0; a < 5; a++) {
                double T = 0.1, v = 0.6, p = conv ? g : 1.0;
                double h = 1e-4 * I;
#define COIN(i) (px((i) * g, K[a], T, 0, v, w).price / ((i) * p))
                cpo_black76_out u = px(I * g, K[a], T, 0, v, w);
                cpo_black76_coin c;
                ck_assert_int_eq(cpo_black76_coin_greeks(&u, I * g, I, I * p, &c), 0);
                double c0 = COIN(I), cu = COIN(I + h), cd = COIN(I - h);
                NEAR(c.price, c0, 1e-15, "coin price");
                double fd1 = (cu - cd) / (2 * h), fd2 = (cu - 2 * c0 + cd) / (h * h);
                ck_assert_msg(fabs(c.delta - fd1) <= 2e-6 * fabs(c.delta) + 1e-14,
                              "conv %d K=%g coin delta %.12g fd %.12g", conv, K[a], c.delta, fd1);
                ck_assert_msg(fabs(c.gamma - fd2) <= 1e-4 * fabs(c.gamma) + 1e-16,
                              "conv %d K=%g coin gamma %.12g fd %.12g", conv, K[a], c.gamma, fd2);
                NEAR(c.delta_account, I * c.delta, 1e-15, "account delta = I dc/dI");
                /* vanna: d(vega_c)/dI */
                double vu = px((I + h) * g, K[a], T, 0, v, w).vega / ((I + h) * p);
                double vd = px((I - h) * g, K[a], T, 0, v, w).vega / ((I - h) * p);
                ck_assert_msg(fabs(c.vanna - (vu - vd) / (2 * h)) <= 2e-6 * fabs(c.vanna) + 1e-14,
                              "coin vanna %.12g fd %.12g", c.vanna, (vu - vd) / (2 * h));
#undef COIN
                if (conv == 0) {
                    /* METHODS 2.3 literally: dc/dI = (Delta_I - c)/I. */
                    NEAR(c.delta, (u.delta * g - c.price) / I, 1e-18, "METHODS dc/dI");
                    NEAR(c.delta_account, u.delta * g - c.price, 1e-15, "METHODS account delta");
                } else {
                    /* Deribit: account delta = Black delta - coin price. */
                    NEAR(c.delta_account, u.delta - c.price, 1e-15, "Deribit account delta");
                }
            }
    cpo_black76_out u = px(100, 100, 1, 0, 0.5, CPO_RIGHT_CALL);
    cpo_black76_coin c;
    ck_assert_int_eq(cpo_black76_coin_greeks(&u, 100, 0.0, 100, &c), CPO_EINVAL);
    ck_assert(isnan(c.price) && isnan(c.delta_account));
}
END_TEST

/* --- batch = single, degenerate and invalid inputs ----------------------------- */

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* The batch (both code paths) gives bit-identical results to the single
 * call, odd lengths included, invalid and degenerate inputs included. */
START_TEST(test_black76_batch__bitwise_equal_to_single)
{
    enum { N = 1003 };
    static double F[N], K[N], T[N], R[N], V[N], o[8][N];
    static int8_t W[N];
    uint64_t s = 42;
    for (size_t i = 0; i < N; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u1 = (double)(s >> 11) / 9007199254740992.0;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        F[i] = 1000 + 99000 * u1;
        K[i] = F[i] * exp(4 * u2 - 2);
        T[i] = exp(-9 + 10 * u1 * u2);
        V[i] = 0.05 + 3 * u2;
        R[i] = (i % 3) ? 0.0 : 0.05 * u1;
        W[i] = (int8_t)(1 + (i & 1));
    }
    /* edge cases */
    V[0] = 0.0;
    T[1] = 0.0;
    K[2] = F[2];
    V[2] = 0.0;
    F[3] = -1;
    K[4] = NAN;
    W[5] = 0;
    T[6] = INFINITY;
    V[7] = 1e-200;
    K[8] = F[8] * 1e-250;
    R[9] = NAN;
    cpo_black76_cols c = {o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]};
    for (int isa = 0; isa <= 2; isa++) {
        for (int k = 0; k < 8; k++)
            for (size_t i = 0; i < N; i++)
                o[k][i] = 12345.0;
        size_t bad = cpo_black76_batch_isa(isa, N, F, K, T, R, V, W, &c);
        if (bad == (size_t)-1) {
            printf("black76: code path %d not available on this CPU\n", isa);
            continue;
        }
        ck_assert_uint_eq(bad, 5); /* F<0, K NaN, right 0, T inf, R NaN */
        for (size_t i = 0; i < N; i++) {
            cpo_black76_in in = {F[i], K[i], T[i], R[i], V[i], W[i]};
            cpo_black76_out e;
            int rc = cpo_black76(&in, &e);
            double ev[8] = {e.price, e.delta, e.gamma, e.vega, e.theta, e.rho, e.vanna, e.volga};
            for (int k = 0; k < 8; k++)
                ck_assert_msg(same(o[k][i], ev[k]), "isa %d option %zu output %d: %.17g vs %.17g",
                              isa, i, k, o[k][i], ev[k]);
            ck_assert_int_eq(rc != 0, i == 3 || i == 4 || i == 5 || i == 6 || i == 9);
        }
    }
    /* NULL rate is r = 0 */
    double p0[3], d0[3], x[6][3];
    cpo_black76_cols c3 = {p0, d0, x[0], x[1], x[2], x[3], x[4], x[5]};
    double Rz[3] = {0, 0, 0};
    ck_assert_uint_eq(cpo_black76_batch(3, F + 10, K + 10, T + 10, NULL, V + 10, W + 10, &c3), 0);
    double p1[3];
    memcpy(p1, p0, sizeof p1);
    cpo_black76_batch(3, F + 10, K + 10, T + 10, Rz, V + 10, W + 10, &c3);
    for (int i = 0; i < 3; i++)
        ck_assert(same(p0[i], p1[i]));
}
END_TEST

START_TEST(test_black76_degenerate__limits_and_invalid)
{
    /* sigma = 0: intrinsic; delta D 1{ITM}; the rest 0 off the money. */
    cpo_black76_out o = px(100, 90, 1, 0.05, 0.0, CPO_RIGHT_CALL);
    double D = exp(-0.05);
    NEAR(o.price, D * 10, 1e-13, "sigma 0 call price");
    NEAR(o.delta, D, 1e-15, "sigma 0 call delta");
    ck_assert(o.gamma == 0 && o.vega == 0 && o.vanna == 0 && o.volga == 0);
    NEAR(o.theta, 0.05 * o.price, 1e-14, "sigma 0 theta = rV");
    NEAR(o.rho, -o.price, 1e-14, "sigma 0 rho = -TV");
    o = px(100, 90, 1, 0.05, 0.0, CPO_RIGHT_PUT);
    ck_assert(o.price == 0 && o.delta == 0);
    /* T = 0 at the money: delta D/2 (call), -D/2 (put); gamma etc. NaN. */
    o = px(100, 100, 0, 0.05, 0.5, CPO_RIGHT_CALL);
    ck_assert(o.price == 0 && o.delta == 0.5);
    ck_assert(isnan(o.gamma) && isnan(o.vega) && isnan(o.vanna) && isnan(o.volga));
    o = px(100, 100, 0, 0.05, 0.5, CPO_RIGHT_PUT);
    ck_assert(o.delta == -0.5);
    /* a tiny s tends to the limit */
    cpo_black76_out a = px(100, 101, 1e-12, 0, 0.2, CPO_RIGHT_PUT);
    NEAR(a.price, 1.0, 1e-12, "tiny T put");
    NEAR(a.delta, -1.0, 1e-15, "tiny T put delta");
    /* invalid */
    cpo_black76_in bad[] = {{0, 100, 1, 0, 0.2, 1},      {100, -1, 1, 0, 0.2, 1},
                            {100, 100, -1, 0, 0.2, 1},   {100, 100, 1, 0, -0.2, 1},
                            {100, 100, 1, NAN, 0.2, 1},  {NAN, 100, 1, 0, 0.2, 1},
                            {100, 100, 1, 0, 0.2, 3},    {INFINITY, 100, 1, 0, 0.2, 2},
                            {1e300, 1e-300, 1, 0, 0.2, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cpo_black76_out e;
        ck_assert_int_eq(cpo_black76(&bad[i], &e), CPO_EINVAL);
        ck_assert(isnan(e.price) && isnan(e.delta) && isnan(e.gamma) && isnan(e.vega) &&
                  isnan(e.theta) && isnan(e.rho) && isnan(e.vanna) && isnan(e.volga));
    }
}
END_TEST

/* --- the normal distribution ------------------------------------------------ */

/* 50-digit values from mpmath 1.3 (ncdf, npdf) at the exact double x,
 * printed to 20 digits. */
static const double NORM_REF[][3] = {
    {-37.5, 4.6053530095819548438e-308, 1.7282337322841052208e-306},
    {-30, 4.9067139271481870595e-198, 1.473646134878547519e-196},
    {-20, 2.7536241186062336951e-89, 5.5209483621597631896e-88},
    {-10, 7.619853024160526066e-24, 7.6945986267064193463e-23},
    {-5.5, 1.8989562465887719384e-8, 1.0769760042543276359e-7},
    {-3, 1.3498980316300945267e-3, 4.4318484119380071756e-3},
    {-1, 1.5865525393145705141e-1, 2.419707245191433498e-1},
    {-0.5, 3.0853753872598689636e-1, 3.5206532676429947777e-1},
    {-0.001, 4.9960105778608893741e-1, 3.98942080930342345e-1},
    {0, 5.0e-1, 3.9894228040143267794e-1},
    {0.25, 5.9870632568292372424e-1, 3.8666811680284920694e-1},
    {0.66, 7.4537308532866386236e-1, 3.2086380377117248766e-1},
    {1.5, 9.33192798731141934e-1, 1.2951759566589172761e-1},
    {3, 9.9865010196836990547e-1, 4.4318484119380071756e-3},
    {5.7, 9.9999999400962859894e-1, 3.5139550948204335922e-8},
    {8, 9.999999999999993779e-1, 5.052271083536892288e-15},
};

/*
 * N(x) to 1e-15 relative (the documented accuracy) at the mpmath points and
 * against 0.5 erfcl(-x/sqrt 2) in long double (64-bit mantissa, a
 * reference about 1000 times finer) on 400,001 points of [-37.5, 8.3];
 * phi(x) to 5e-16.  Measured maxima are printed.
 */
START_TEST(test_black76_norm__accuracy)
{
    for (size_t i = 0; i < sizeof NORM_REF / sizeof NORM_REF[0]; i++) {
        double x = NORM_REF[i][0];
        double c = cpo_black76_norm_cdf(x), p = cpo_black76_norm_pdf(x);
        ck_assert_msg(fabs(c - NORM_REF[i][1]) <= 1e-15 * NORM_REF[i][1], "N(%g) = %.17g", x, c);
        ck_assert_msg(fabs(p - NORM_REF[i][2]) <= 5e-16 * NORM_REF[i][2], "phi(%g) = %.17g", x, p);
    }
    double worst = 0, worst_x = 0, worst_p = 0;
    for (int i = 0; i <= 400000; i++) {
        double x = -37.5 + 45.8 * i / 400000.0;
        long double r = 0.5L * erfcl(-(long double)x / sqrtl(2.0L));
        double e = (double)fabsl(((long double)cpo_black76_norm_cdf(x) - r) / r);
        if (e > worst) {
            worst = e;
            worst_x = x;
        }
        long double rp = expl(-(long double)x * x / 2) * 0.398942280401432677939946059934L;
        if (rp > 1e-300L) {
            double ep = (double)fabsl(((long double)cpo_black76_norm_pdf(x) - rp) / rp);
            if (ep > worst_p)
                worst_p = ep;
        }
    }
    printf("black76: N(x) max relative error %.2e (at x = %.4f), phi(x) %.2e, on [-37.5, 8.3]\n",
           worst, worst_x, worst_p);
    ck_assert_msg(worst <= 1e-15, "N(x) error %.3g at %g", worst, worst_x);
    ck_assert_msg(worst_p <= 5e-16, "phi(x) error %.3g", worst_p);
    ck_assert(cpo_black76_norm_cdf(-40) == 0.0);
    ck_assert(cpo_black76_norm_cdf(40) == 1.0);
    ck_assert(cpo_black76_norm_cdf(-INFINITY) == 0.0 && cpo_black76_norm_cdf(INFINITY) == 1.0);
    ck_assert(isnan(cpo_black76_norm_cdf(NAN)) && isnan(cpo_black76_norm_pdf(NAN)));
}
END_TEST

/* --- implied volatility --------------------------------------------------------- */

/*
 * Round trip over moneyness z = -3..3 standard deviations (K = F e^{z s},
 * step 0.25), expiries 1 hour .. 2 years, vols 0.05 .. 3, calls and puts,
 * r = 0 and 5 %: price -> implied vol -> |sigma - vol| <= 1e-10.
 */
START_TEST(test_black76_iv__round_trip)
{
    const double T[] = {1.0 / 8760, 1.0 / 365, 7.0 / 365, 30.0 / 365, 0.25, 1, 2};
    const double V[] = {0.05, 0.2, 0.5, 1.0, 3.0};
    const double R[] = {0, 0.05};
    double worst = 0;
    long n = 0;
    for (size_t a = 0; a < 7; a++)
        for (size_t b = 0; b < 5; b++)
            for (size_t d = 0; d < 2; d++)
                for (int zi = -12; zi <= 12; zi++)
                    for (int w = CPO_RIGHT_CALL; w <= CPO_RIGHT_PUT; w++) {
                        double F = 50000, s = V[b] * sqrt(T[a]);
                        double K = F * exp(0.25 * zi * s);
                        double p = px(F, K, T[a], R[d], V[b], w).price;
                        double iv;
                        cpo_iv_status st = cpo_black76_iv(p, F, K, T[a], R[d], w, &iv);
                        ck_assert_msg(st == CPO_IV_OK, "T=%g v=%g z=%g %d: status %s", T[a],
                                      V[b], 0.25 * zi, w, cpo_iv_status_name(st));
                        double e = fabs(iv - V[b]);
                        if (e > 1e-11)
                            printf("black76: round trip T=%g v=%g z=%g right %d r=%g: dvol %.2e\n",
                                   T[a], V[b], 0.25 * zi, w, R[d], e);
                        ck_assert_msg(e <= 1e-10, "T=%g v=%g z=%g right %d r=%g: iv %.17g", T[a],
                                      V[b], 0.25 * zi, w, R[d], iv);
                        if (e > worst)
                            worst = e;
                        n++;
                    }
    printf("black76: IV round trip, %ld options (z -3..3, 1h..2y, vol 0.05..3): max |dvol| %.2e\n",
           n, worst);
}
END_TEST

/*
 * Far wings and extreme vols: never a wrong number.  |ln F/K| up to 10,
 * sigma sqrt T from 1e-3 to 7.4.  Every option whose price carries vol
 * information (time value and distance to the maximum above 1e-12 of the
 * price scale) is solved; a solved vol is within 1e-9 (relative) of the
 * true one where a few ulps of the price move the vol by less than 1e-11,
 * and elsewhere reprices to the input within 1e-12; anything else is NaN
 * or AT_INTRINSIC (vol 0, time value lost in the rounding).
 */
START_TEST(test_black76_iv__wings)
{
    long n = 0, informative = 0, solved = 0;
    for (int a = -40; a <= 40; a++)
        for (int b = 0; b <= 30; b++) {
            double x = 0.25 * a;               /* ln(F/K) -10..10 */
            double s = exp(-7 + 9.0 * b / 30); /* sigma sqrt T 1e-3..7.4 */
            double F = 100, K = F * exp(-x), T = 0.5, v = s / sqrt(T);
            for (int w = CPO_RIGHT_CALL; w <= CPO_RIGHT_PUT; w++) {
                cpo_black76_out o = px(F, K, T, 0, v, w);
                double p = o.price;
                double intr = w == CPO_RIGHT_CALL ? fmax(F - K, 0) : fmax(K - F, 0);
                double tv = p - intr, bmax = w == CPO_RIGHT_CALL ? F : K;
                int info = tv > 1e-12 * fmax(F, K) && bmax - p > 1e-12 * bmax;
                double iv;
                cpo_iv_status st = cpo_black76_iv(p, F, K, T, 0, w, &iv);
                n++;
                informative += info;
                if (st != CPO_IV_OK) {
                    ck_assert_msg(!info, "x=%g s=%g right %d: %s with time value %.3g", x, s, w,
                                  cpo_iv_status_name(st), tv);
                    ck_assert_msg(st == CPO_IV_AT_INTRINSIC ? iv == 0.0 : isnan(iv), "%s %g",
                                  cpo_iv_status_name(st), iv);
                    continue;
                }
                solved++;
                double cond = 4 * DBL_EPSILON * fmax(p, intr) / (o.vega * v);
                if (cond < 1e-11) {
                    ck_assert_msg(fabs(iv / v - 1) <= 1e-9, "x=%g s=%g right %d: iv %.17g vs %.17g",
                                  x, s, w, iv, v);
                } else {
                    /* The vol is not determined to 1e-9 by a double price:
                     * it must reproduce the price. */
                    double p2 = px(F, K, T, 0, iv, w).price;
                    ck_assert_msg(fabs(p2 - p) <= 1e-12 * fmax(p, intr),
                                  "x=%g s=%g right %d: reprice %.17g vs %.17g", x, s, w, p2, p);
                }
            }
        }
    printf("black76: IV wings |ln F/K| <= 10, s 1e-3..7.4: %ld options, %ld with vol "
           "information, %ld solved\n", n, informative, solved);
    ck_assert_int_ge(solved, informative);
}
END_TEST

START_TEST(test_black76_iv__bounds)
{
    double iv = 0;
    /* call F=100 K=90: intrinsic 10, maximum 100 */
    ck_assert_int_eq(cpo_black76_iv(9.99, 100, 90, 1, 0, CPO_RIGHT_CALL, &iv), CPO_IV_BELOW_INTRINSIC);
    ck_assert(isnan(iv));
    ck_assert_int_eq(cpo_black76_iv(10.0, 100, 90, 1, 0, CPO_RIGHT_CALL, &iv), CPO_IV_AT_INTRINSIC);
    ck_assert(iv == 0.0);
    ck_assert_int_eq(cpo_black76_iv(100.0, 100, 90, 1, 0, CPO_RIGHT_CALL, &iv), CPO_IV_ABOVE_MAX);
    ck_assert(isnan(iv));
    ck_assert_int_eq(cpo_black76_iv(150.0, 100, 90, 1, 0, CPO_RIGHT_CALL, &iv), CPO_IV_ABOVE_MAX);
    /* put: maximum K; intrinsic 0 out of the money */
    ck_assert_int_eq(cpo_black76_iv(90.0, 100, 90, 1, 0, CPO_RIGHT_PUT, &iv), CPO_IV_ABOVE_MAX);
    ck_assert_int_eq(cpo_black76_iv(0.0, 100, 90, 1, 0, CPO_RIGHT_PUT, &iv), CPO_IV_AT_INTRINSIC);
    /* discounting: beta = V e^{rT}; D*intrinsic is the bound */
    double D = exp(-0.1);
    ck_assert_int_eq(cpo_black76_iv(D * 10 * 0.999, 100, 90, 1, 0.1, CPO_RIGHT_CALL, &iv),
                     CPO_IV_BELOW_INTRINSIC);
    ck_assert_int_eq(cpo_black76_iv(D * 100, 100, 90, 1, 0.1, CPO_RIGHT_CALL, &iv), CPO_IV_ABOVE_MAX);
    /* bad input */
    ck_assert_int_eq(cpo_black76_iv(1, 100, 90, 0, 0, CPO_RIGHT_CALL, &iv), CPO_IV_BAD_INPUT);
    ck_assert_int_eq(cpo_black76_iv(1, -100, 90, 1, 0, CPO_RIGHT_CALL, &iv), CPO_IV_BAD_INPUT);
    ck_assert_int_eq(cpo_black76_iv(-1, 100, 90, 1, 0, CPO_RIGHT_CALL, &iv), CPO_IV_BAD_INPUT);
    ck_assert_int_eq(cpo_black76_iv(NAN, 100, 90, 1, 0, CPO_RIGHT_CALL, &iv), CPO_IV_BAD_INPUT);
    ck_assert_int_eq(cpo_black76_iv(1, 100, 90, 1, 0, 7, &iv), CPO_IV_BAD_INPUT);
    ck_assert(isnan(iv));
    ck_assert_str_eq(cpo_iv_status_name(CPO_IV_BELOW_INTRINSIC), "below_intrinsic");
    ck_assert_str_eq(cpo_iv_status_name(99), "unknown");
    /* batch: statuses per option */
    double P[4] = {px(100, 110, 0.5, 0, 0.7, 1).price, 5.0, 200.0, 1.0};
    double F[4] = {100, 100, 100, 100}, K[4] = {110, 90, 110, 100}, T[4] = {0.5, 0.5, 0.5, -1};
    int8_t W[4] = {1, 1, 1, 1}, S[4];
    double out[4];
    ck_assert_uint_eq(cpo_black76_iv_batch(4, P, F, K, T, NULL, W, out, S), 3);
    NEAR(out[0], 0.7, 1e-12, "batch iv");
    ck_assert_int_eq(S[0], CPO_IV_OK);
    ck_assert_int_eq(S[1], CPO_IV_BELOW_INTRINSIC);
    ck_assert_int_eq(S[2], CPO_IV_ABOVE_MAX);
    ck_assert_int_eq(S[3], CPO_IV_BAD_INPUT);
    ck_assert(isnan(out[1]) && isnan(out[2]) && isnan(out[3]));
}
END_TEST

/* --- the Deribit weekly snapshots --------------------------------------------- */


typedef struct agree {
    long rows, solved, within, below, at, zero_mark;
    long out_quantum, out_fwd, out_other;
    long otm_long, otm_long_within;
    double ratio_i[20000], ratio_f[20000];
    long nratio;
} agree;

/*
 * The implied vol of every row's mark price against the exchange's mark
 * IV.  T = (expiry 08:00 UTC - snapshot time)/365 days, F = the row's
 * underlying (futures_price), r = 0; the coin price converted to USD at
 * coin_px (the index, as METHODS 2.1 has it, or the forward).  Rows
 * outside the tolerance are sorted by cause (in this order):
 *   quantum  the mark's price step (1e-8 BTC, 1e-6 ETH, half a step of
 *            rounding) alone moves the IV by more than tol/4;
 *   forward  a 2 bp difference in F moves the IV by more than tol/2
 *            (|delta| 2e-4 F / vega): the marks and the recorded forward
 *            disagree at that level (the forward implied by put-call
 *            parity of the coin marks differs from the row's by a median
 *            0.1 bp, 1 bp at the 90th and 3 bp at the 99th percentile);
 *   other    the rest.
 */
static void weekly_agree(const char *path, const char *und, int by_index, double tol, agree *a)
{
    cpo_dataset *ds = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    cpo_import_opts o;
    cpo_import_opts_init(&o);
    o.format = CPO_FMT_DERIBIT_CHAIN;
    o.symbol = und;
    o.kind = CPO_KIND_OPTION;
    o.settle = CPO_SETTLE_INVERSE;
    ck_assert_msg(cpo_import_file(ds, path, &o, NULL, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_uint_eq(ds->n_chains, 1);
    const cpo_chain *ch = &ds->chains[0];
    double quantum = !strcmp(und, "BTC") ? 1e-8 : 1e-6;
    for (size_t i = 0; i < ch->n; i++) {
        double T = (double)(ch->expiry_ms[i] - ch->ts[i]) / 31536000000.0;
        double F = ch->fwd_px[i], I = ch->index_px[i], K = ch->strike[i];
        double P = by_index ? I : F;
        double iv;
        a->rows++;
        cpo_iv_status st = cpo_black76_iv(ch->mark_px[i] * P, F, K, T, 0, ch->right[i], &iv);
        cpo_black76_out m = px(F, K, T, 0, ch->mark_iv[i], ch->right[i]);
        if (ch->mark_px[i] > 1e-3 && a->nratio < 20000) {
            a->ratio_i[a->nratio] = m.price / ch->mark_px[i] / I;
            a->ratio_f[a->nratio++] = m.price / ch->mark_px[i] / F;
        }
        int otm = ch->right[i] == CPO_RIGHT_CALL ? K > F : K < F;
        int long_t = T >= 1.5 / 365;
        if (otm && long_t)
            a->otm_long++;
        if (ch->mark_px[i] == 0)
            a->zero_mark++;
        if (st == CPO_IV_BELOW_INTRINSIC)
            a->below++;
        if (st == CPO_IV_AT_INTRINSIC)
            a->at++;
        ck_assert_msg(st == CPO_IV_OK || st == CPO_IV_BELOW_INTRINSIC || st == CPO_IV_AT_INTRINSIC,
                      "%s %s: %s", path, ch->name[i], cpo_iv_status_name(st));
        if (st != CPO_IV_OK)
            continue;
        a->solved++;
        double d = fabs(iv - ch->mark_iv[i]);
        if (d <= tol) {
            a->within++;
            if (otm && long_t)
                a->otm_long_within++;
            continue;
        }
        double dq = 0.5 * quantum * P / m.vega;
        double df = fabs(m.delta) * 2e-4 * F / m.vega;
        if (dq > tol / 4)
            a->out_quantum++;
        else if (df > tol / 2)
            a->out_fwd++;
        else
            a->out_other++;
    }
    cpo_dataset_free(ds);
}

static int cmp_dbl(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/*
 * Every row of the 12 weekly snapshots (BTC and ETH, 18,682 rows).
 * Tolerance: |IV(mark price) - mark IV| <= 0.001 (0.1 vol point; the
 * file's IV has 4 decimals).
 *
 * Measured (2026 snapshots): with the coin price x index (as METHODS 2.1
 * states the conversion) only about a third of the rows agree and 13 %
 * are below intrinsic: Deribit's mark price is the Black USD price divided
 * by the forward, not the index (model USD price / coin mark / F has
 * median 1.000001; / I has median 1.0049, the basis).  With the coin price
 * x forward 82.8 % of all rows agree within 0.001, 96.7 % of the
 * out-of-the-money options expiring in 1.5 days or more; every row outside
 * is explained but 5: 265 cannot be solved (mark 0, or an in-the-money
 * mark below intrinsic), 452 are priced within a few price steps
 * (quantum), 2,493 are deep in the money or short-dated near the money
 * where a 2 bp forward mismatch moves the IV by 0.0005 (forward).
 */
START_TEST(test_black76_deribit__weekly_mark_iv)
{
    char *dir = tu_tmpdir();
    glob_t g;
    size_t nf = tu_weekly_snapshots(&g, dir);
    if (nf == 0) {
        printf("black76: no Deribit weekly snapshots found (%s, %s): skipped\n", REAL_WEEKLY,
               CPO_SAMPLE_DIR "/csv/options");
        tu_rmtree(dir);
        free(dir);
        return;
    }
    const double tol = 1e-3;
    static agree ai, af;
    memset(&ai, 0, sizeof ai);
    memset(&af, 0, sizeof af);
    for (size_t i = 0; i < nf; i++)
        for (int u = 0; u < 2; u++) {
            weekly_agree(g.gl_pathv[i], u ? "ETH" : "BTC", 1, tol, &ai);
            weekly_agree(g.gl_pathv[i], u ? "ETH" : "BTC", 0, tol, &af);
        }
    globfree(&g);
    qsort(af.ratio_i, (size_t)af.nratio, sizeof(double), cmp_dbl);
    qsort(af.ratio_f, (size_t)af.nratio, sizeof(double), cmp_dbl);
    double med_i = af.ratio_i[af.nratio / 2], med_f = af.ratio_f[af.nratio / 2];
    printf("black76: Deribit weekly snapshots, %zu files, %ld rows; |IV(mark) - mark IV| <= %.3g:\n",
           nf, af.rows, tol);
    printf("  coin x index:   %ld within (%.1f %%); %ld below intrinsic, %ld at intrinsic; "
           "outside: quantum %ld, forward %ld, other %ld\n",
           ai.within, 100.0 * ai.within / ai.rows, ai.below, ai.at, ai.out_quantum, ai.out_fwd,
           ai.out_other);
    printf("  coin x forward: %ld within (%.1f %%; OTM with T >= 1.5 d: %.1f %%); %ld below "
           "intrinsic, %ld at intrinsic (%ld marks of 0); outside: quantum %ld, forward %ld, "
           "other %ld\n",
           af.within, 100.0 * af.within / af.rows, 100.0 * af.otm_long_within / af.otm_long,
           af.below, af.at, af.zero_mark, af.out_quantum, af.out_fwd, af.out_other);
    printf("  model USD / coin mark / index: median %.6f; / forward: median %.6f\n", med_i, med_f);
    /* Deribit converts at the forward. */
    ck_assert_msg(fabs(med_f - 1) < 1e-4 && med_i - 1 > 2e-3, "medians %g %g", med_f, med_i);
    ck_assert_int_eq(af.rows, ai.rows);
    ck_assert_msg(af.within >= 0.80 * af.rows, "within %ld of %ld", af.within, af.rows);
    ck_assert_msg(af.otm_long_within >= 0.95 * af.otm_long, "OTM within %ld of %ld",
                  af.otm_long_within, af.otm_long);
    ck_assert_msg(af.out_other <= af.rows / 1000, "unexplained %ld", af.out_other);
    ck_assert_msg(ai.within < af.within / 2, "index %ld forward %ld", ai.within, af.within);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- the calculator ------------------------------------------------------------- */

static char *run_cli(const char *args, int *status)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", CPO_BINARY, args);
    char *out = NULL;
    *status = tu_run(cmd, &out);
    return out;
}

/* Field k (0-based) of line `line` (0 = header) of CSV text, into buf. */
static const char *field(const char *text, int line, int k, char *buf, size_t n)
{
    const char *p = text;
    for (int l = 0; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    ck_assert_ptr_nonnull(p);
    for (int j = 0; j < k; j++) {
        p = strpbrk(p, ",\n");
        ck_assert_msg(p && *p == ',', "line %d has no field %d", line, k);
        p++;
    }
    size_t m = strcspn(p, ",\n");
    ck_assert_uint_lt(m, n);
    memcpy(buf, p, m);
    buf[m] = '\0';
    return buf;
}

static double fnum(const char *text, int line, int k)
{
    char b[64];
    field(text, line, k, b, sizeof b);
    return b[0] ? strtod(b, NULL) : NAN;
}

START_TEST(test_black76_cli__plain_table)
{
    char *dir = tu_tmpdir();
    char *out = tu_path(dir, "out.csv");
    char args[2048];
    int st;
    snprintf(args, sizeof args, "options price %s -o %s", tu_data("options/plain.csv"), out);
    char *msg = run_cli(args, &st);
    ck_assert_msg(st == 0, "%s", msg);
    free(msg);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    struct stat sb;
    ck_assert_int_ne(stat(tmp, &sb), 0); /* renamed */
    char *t = tu_read_file(out, NULL);
    ck_assert_ptr_nonnull(t);
    char b[64];
    ck_assert_str_eq(field(t, 0, 8, b, sizeof b), "model_price");
    /* row 1: the py_vollib call */
    NEAR(fnum(t, 1, 9), 0.451070174822, 1e-12, "cli delta");
    NEAR(fnum(t, 1, 11) / 100, 0.118317785624, 1e-12, "cli vega");
    ck_assert_str_eq(field(t, 1, 17, b, sizeof b), "");
    /* row 3: price only -> iv 0.2 (price given to 11 digits) */
    NEAR(fnum(t, 3, 16), 0.2, 1e-9, "cli iv");
    ck_assert_str_eq(field(t, 3, 17, b, sizeof b), "ok");
    NEAR(fnum(t, 3, 7), fnum(t, 3, 16), 0, "vol_used = iv");
    ck_assert_str_eq(field(t, 4, 17, b, sizeof b), "below_intrinsic");
    ck_assert_str_eq(field(t, 4, 16, b, sizeof b), "");
    ck_assert_str_eq(field(t, 4, 8, b, sizeof b), "");
    /* row 5: vol and price: Greeks at the vol, iv from the price */
    cpo_black76_out o = px(100, 90, 1, 0, 0.3, CPO_RIGHT_CALL);
    NEAR(fnum(t, 5, 8), o.price, 1e-12 * o.price, "cli model price");
    double iv;
    cpo_black76_iv(16.5, 100, 90, 1, 0, CPO_RIGHT_CALL, &iv);
    NEAR(fnum(t, 5, 16), iv, 1e-14, "cli iv 2");
    ck_assert_str_eq(field(t, 6, 17, b, sizeof b), "above_max");
    ck_assert_str_eq(field(t, 7, 17, b, sizeof b), "at_intrinsic");
    ck_assert_str_eq(field(t, 7, 0, b, sizeof b), "put");
    free(t);
    /* stdout when no -o */
    snprintf(args, sizeof args, "options price %s", tu_data("options/plain.csv"));
    msg = run_cli(args, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strncmp(msg, "type,forward,strike", 19) == 0);
    free(msg);
    tu_rmtree(dir);
    free(dir);
    free(out);
}
END_TEST

START_TEST(test_black76_cli__deribit_chain)
{
    char args[2048];
    int st;
    /* weekly layout: the IV of the mark reproduces the mark IV */
    snprintf(args, sizeof args, "options price %s --underlying BTC",
             tu_data("options/weekly_20260102_excerpt.csv"));
    char *t = run_cli(args, &st);
    ck_assert_msg(st == 0, "%s", t);
    char b[64];
    ck_assert_str_eq(field(t, 0, 29, b, sizeof b), "iv");
    int rows = 0;
    for (int l = 1; l <= 8; l++) {
        ck_assert_str_eq(field(t, l, 2, b, sizeof b), "BTC");
        ck_assert_str_eq(field(t, l, 8, b, sizeof b), "exchange");
        ck_assert_str_eq(field(t, l, 10, b, sizeof b), "forward");
        ck_assert_str_eq(field(t, l, 30, b, sizeof b), "ok");
        NEAR(fnum(t, l, 29), fnum(t, l, 12), 2e-4, "iv vs mark iv");
        /* coin price = model USD / forward; account delta = delta - c */
        NEAR(fnum(t, l, 16), fnum(t, l, 15) / fnum(t, l, 7), 1e-15, "coin price");
        NEAR(fnum(t, l, 28), fnum(t, l, 17) - fnum(t, l, 16), 1e-14, "account delta");
        rows++;
    }
    ck_assert_int_eq(rows, 8);
    free(t);
    /* --coin-usd index */
    snprintf(args, sizeof args, "options price %s --underlying ETH --coin-usd index",
             tu_data("options/weekly_20260102_excerpt.csv"));
    t = run_cli(args, &st);
    ck_assert_msg(st == 0, "%s", t);
    ck_assert_str_eq(field(t, 1, 10, b, sizeof b), "index");
    NEAR(fnum(t, 1, 14), fnum(t, 1, 13) * fnum(t, 1, 9), 1e-9, "mark usd = coin x index");
    free(t);
    /* 2024 layout at the index: F = K + (c_C - c_P) I */
    snprintf(args, sizeof args,
             "options price %s --snapshot-time 2024-05-24T14:00:00Z --coin-usd index",
             tu_data("options/soldnn_btc_2024_excerpt.csv"));
    t = run_cli(args, &st);
    ck_assert_msg(st == 0, "%s", t);
    NEAR(fnum(t, 1, 7), 70000 + (0.0738 - 0.0531) * 68797.77, 1e-6, "parity forward, index");
    free(t);
    /* 2024 layout: no forward (parity), no snapshot time (given) */
    snprintf(args, sizeof args, "options price %s --snapshot-time 2024-05-24T14:00:00Z",
             tu_data("options/soldnn_btc_2024_excerpt.csv"));
    t = run_cli(args, &st);
    ck_assert_msg(st == 0, "%s", t);
    ck_assert_str_eq(field(t, 1, 8, b, sizeof b), "parity");
    /* parity at K = 70000 (the closest marks, 0.0738 and 0.0531 BTC): with
     * coin prices at the forward c_C - c_P = 1 - K/F, F = K/(1 - 0.0207) */
    NEAR(fnum(t, 1, 7), 70000 / (1 - (0.0738 - 0.0531)), 1e-6, "parity forward");
    NEAR(fnum(t, 1, 6), (double)(1719561600000LL - 1716559200000LL) / 31536000000.0, 1e-15,
         "T ACT/365");
    free(t);
}
END_TEST

/* Bad input: the exact message and exit 1; usage: exit 2. */
START_TEST(test_black76_cli__errors)
{
    static const struct {
        const char *file, *extra, *msg;
    } cases[] = {
        {"options/bad_type.csv", "",
         "bad_type.csv:3:1: type \"straddle\" is not an option type (expected call, put, C or P)"},
        {"options/bad_number.csv", "",
         "bad_number.csv:2:3: strike \"abc\" is not a number (expected a decimal number)"},
        {"options/bad_expiry.csv", "",
         "bad_expiry.csv:2:4: expiry_years -0.5 is out of range (expected a number > 0)"},
        {"options/bad_neither.csv", "",
         "bad_neither.csv:2: neither vol nor price given (expected at least one of them)"},
        {"options/bad_no_vol_price.csv", "",
         "bad_no_vol_price.csv:1: no vol and no price column (expected vol, price or both)"},
        /* the chain reader's messages (datasets/read_chain.c), passed on */
        {"options/weekly_20260102_excerpt.csv", "", "(expected --underlying BTC or ETH"},
        {"options/soldnn_btc_2024_excerpt.csv", "", "(expected --snapshot-time ISO)"},
    };
    char args[2048];
    int st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = tu_tmpdir();
        char *out = tu_path(dir, "o.csv");
        snprintf(args, sizeof args, "options price %s %s -o %s", tu_data(cases[i].file),
                 cases[i].extra, out);
        char *msg = run_cli(args, &st);
        ck_assert_msg(st == 1, "%s: status %d: %s", cases[i].file, st, msg);
        ck_assert_msg(strstr(msg, cases[i].msg) != NULL, "%s: %s", cases[i].file, msg);
        struct stat sb;
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp", out);
        ck_assert_int_ne(stat(out, &sb), 0); /* nothing written */
        ck_assert_int_ne(stat(tmp, &sb), 0);
        free(msg);
        tu_rmtree(dir);
        free(dir);
        free(out);
    }
    char *msg = run_cli("options price", &st);
    ck_assert_int_eq(st, 2);
    ck_assert(strstr(msg, "cpo: no input file") != NULL);
    free(msg);
    msg = run_cli("options price a.csv --coin-usd spot", &st);
    ck_assert_int_eq(st, 2);
    ck_assert(strstr(msg, "--coin-usd spot is not valid (expected forward or index)") != NULL);
    free(msg);
    msg = run_cli("options frobnicate", &st);
    ck_assert_int_eq(st, 2);
    free(msg);
    msg = run_cli("options price /nonexistent/x.csv", &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(msg, "cpo: /nonexistent/x.csv: cannot open") != NULL);
    free(msg);
}
END_TEST

static Suite *black76_suite(void)
{
    Suite *s = suite_create("black76");
    TCase *tc = tcase_create("pricing");
    tcase_add_test(tc, test_black76_pyvollib__vectors);
    tcase_add_test(tc, test_black76_parity__call_minus_put);
    tcase_add_test(tc, test_black76_greeks__finite_differences);
    tcase_add_test(tc, test_black76_coin__finite_differences);
    tcase_add_test(tc, test_black76_batch__bitwise_equal_to_single);
    tcase_add_test(tc, test_black76_degenerate__limits_and_invalid);
    tcase_add_test(tc, test_black76_norm__accuracy);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("iv");
    tcase_set_timeout(ti, 300);
    tcase_add_test(ti, test_black76_iv__round_trip);
    tcase_add_test(ti, test_black76_iv__wings);
    tcase_add_test(ti, test_black76_iv__bounds);
    tcase_add_test(ti, test_black76_deribit__weekly_mark_iv);
    suite_add_tcase(s, ti);
    TCase *tl = tcase_create("cli");
    tcase_set_timeout(tl, 120);
    tcase_add_test(tl, test_black76_cli__plain_table);
    tcase_add_test(tl, test_black76_cli__deribit_chain);
    tcase_add_test(tl, test_black76_cli__errors);
    suite_add_tcase(s, tl);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(black76_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
