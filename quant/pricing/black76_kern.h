/*
 * black76_kern.h - private template of the Black-76 kernels, written once
 * and compiled twice: for double (scalar; black76_impl.h) and for a GCC
 * vector of 4 doubles (black76.c).  No include guard: include it after
 * defining
 *
 *   B76_T            the value type (double or b76v)
 *   B76_U            its bits (uint64_t or b76u)
 *   B76_M            a comparison result (int or b76m)
 *   B76_FN(name)     the name of an instance's function
 *   B76_SEL(m, a, b) m ? a : b, lane by lane
 *   B76_NOT(m)       !m, lane by lane
 *   B76_SPLAT(c)     the constant c as a B76_T
 *   B76_BITS(x)      the bits of x as a B76_U; B76_FROMBITS(u) back
 *   B76_SQRT(x)      sqrt, lane by lane
 *   B76_ABS(x)       |x|, lane by lane
 *   B76_ANY(m)       1 if m holds in any lane (work skipped when in none)
 *
 * Only IEEE basic operations (+ - * / sqrt) and exact bit manipulations,
 * so both instances give bit-identical results (C11 mode: no FMA
 * contraction).  No branches: every choice computes both sides and
 * selects, so NaN and out-of-range inputs flow through without traps.
 *
 * Accuracy (by construction; N and phi measured, see cpo/black76.h):
 *   exp2       exp(hi + lo), about 1 ulp (truncation 5e-18, a dozen
 *              roundings damped by |r| < 0.35); 0 below exp(-707.5)
 *              (results under 1e-307 flushed to zero), inf above range
 *   log        ln x for normal positive x, about 1 ulp
 *   tail       N(-y) for y >= 0 from Cody's rational approximations:
 *              N(x) within 8.5e-16, phi within 4.4e-16 (relative)
 */

/*
 * exp(hi + lo) where hi + lo is the exact argument (lo may be 0).  Cody &
 * Waite reduction x = k ln2 + r, |r| <= ln2/2, with ln2 split so that
 * k*LN2_HI is exact; exp(r) by its Taylor series to degree 13 (truncation
 * below 5e-18 relative); the scale 2^k built from the bits of
 * x/ln2 + 1.5*2^52.  NaN in, NaN out; +inf and overflow give inf;
 * arguments below -707.5 give 0.
 */
B76_KDECL B76_T B76_FN(exp2)(B76_T hi, B76_T lo)
{
    const double LOG2E = 1.44269504088896338700e+00;
    const double LN2_HI = 6.93147180369123816490e-01; /* 0x3fe62e42fee00000 */
    const double LN2_LO = 1.90821492927058770002e-10;
    const double SHIFT = 6755399441055744.0;          /* 1.5 * 2^52 */
    B76_T x = hi + lo;
    B76_M under = x < -707.5;
    B76_M over = x > 710.0;
    B76_T h = B76_SEL(under, B76_SPLAT(-707.5), B76_SEL(over, B76_SPLAT(710.0), hi));
    B76_T l = B76_SEL(under | over, B76_SPLAT(0.0), lo);
    B76_T t = (h + l) * LOG2E + SHIFT;
    B76_T kd = t - SHIFT;
    B76_T r = (h - kd * LN2_HI) + l - kd * LN2_LO;
    B76_T p = r * (1.0 / 6227020800.0) + 1.0 / 479001600.0; /* 1/13!, 1/12! */
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* k = bits(t) - bits(SHIFT); 2p * 2^(k-1), k-1 in [-1022, 1023]. */
    B76_U kb = B76_BITS(t) - UINT64_C(0x4338000000000000);
    B76_T scale = B76_FROMBITS((kb + 1022) << 52);
    B76_T e = (p + p) * scale;
    return B76_SEL(under, B76_SPLAT(0.0), e);
}

B76_KDECL B76_T B76_FN(exp)(B76_T x)
{
    return B76_FN(exp2)(x, B76_SPLAT(0.0));
}

/*
 * exp(-y*y/2) for y in [0, B76_YMAX] (or NaN), without the rounding error
 * of y*y: Cody's split y = ys + (y - ys) with ys = y rounded to a multiple
 * of 1/16, so that ys*ys is exact and del = (y - ys)(y + ys) is small.
 */
B76_KDECL B76_T B76_FN(exp_mhalfsq)(B76_T y)
{
    const double SHIFT = 6755399441055744.0;
    B76_T ys = ((y * 16.0 + SHIFT) - SHIFT) * 0.0625;
    B76_T del = (y - ys) * (y + ys);
    return B76_FN(exp2)(-0.5 * (ys * ys), -0.5 * del);
}

/*
 * ln x for x positive, normal and finite (callers substitute 1 for other
 * values and select NaN themselves).  x = m 2^E with m in [sqrt(1/2),
 * sqrt(2)); ln m = 2 atanh(u), u = (m-1)/(m+1), |u| < 0.1716, by its
 * series to u^23 (truncation below 1e-18 relative).
 */
B76_KDECL B76_T B76_FN(log)(B76_T x)
{
    const double LN2_HI = 6.93147180369123816490e-01;
    const double LN2_LO = 1.90821492927058770002e-10;
    B76_U bits = B76_BITS(x);
    /* The exponent as a double without an int-to-double conversion
     * (which SSE2/AVX2 cannot do on vectors): 2^52 + E - (2^52 + 1023). */
    B76_T ed = B76_FROMBITS((bits >> 52) | UINT64_C(0x4330000000000000)) - 4503599627371519.0;
    B76_T m = B76_FROMBITS((bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000));
    B76_M big = m > 1.41421356237309504880;
    m = B76_SEL(big, m * 0.5, m);
    ed = B76_SEL(big, ed + 1.0, ed);
    B76_T f = m - 1.0;
    B76_T u = f / (f + 2.0);
    B76_T z = u * u;
    B76_T q = z * (1.0 / 23.0) + 1.0 / 21.0;
    q = q * z + 1.0 / 19.0;
    q = q * z + 1.0 / 17.0;
    q = q * z + 1.0 / 15.0;
    q = q * z + 1.0 / 13.0;
    q = q * z + 1.0 / 11.0;
    q = q * z + 1.0 / 9.0;
    q = q * z + 1.0 / 7.0;
    q = q * z + 1.0 / 5.0;
    q = q * z + 1.0 / 3.0;
    /* ln m = 2u + 2u z q = f - u (f - 2 z q), since 2u = f - u f: the
     * large term f is exact. */
    B76_T lnm = f - u * (f - 2.0 * z * q);
    return ed * LN2_HI + (lnm + ed * LN2_LO);
}

/*
 * The rational part of Cody's three intervals as one quotient q = num/den
 * (one division; the interval is chosen per lane before dividing):
 *   y <= THRSH:            N(-y) = 1/2 - q
 *   THRSH < y <= ROOT32:   N(-y) = exp(-y^2/2) q
 *   y > ROOT32:            N(-y) = exp(-y^2/2) q
 * In the third interval Cody's rational function of 1/y^2 is multiplied
 * out by y^10 (a rational function of y^2: no second division).
 * y in [0, B76_YMAX] or NaN.
 */
B76_KDECL B76_T B76_FN(cody_q)(B76_T y)
{
    B76_T z = y * y;
    B76_T na = ((((z * B76_A4 + B76_A0) * z + B76_A1) * z + B76_A2) * z + B76_A3) * y;
    B76_T da = (((z + B76_B0) * z + B76_B1) * z + B76_B2) * z + B76_B3;
    B76_T nb = y * B76_C8 + B76_C0;
    nb = nb * y + B76_C1;
    nb = nb * y + B76_C2;
    nb = nb * y + B76_C3;
    nb = nb * y + B76_C4;
    nb = nb * y + B76_C5;
    nb = nb * y + B76_C6;
    nb = nb * y + B76_C7;
    B76_T db = y + B76_D0;
    db = db * y + B76_D1;
    db = db * y + B76_D2;
    db = db * y + B76_D3;
    db = db * y + B76_D4;
    db = db * y + B76_D5;
    db = db * y + B76_D6;
    db = db * y + B76_D7;
    B76_M ra = y <= B76_THRSH;
    B76_M rb = y <= B76_ROOT32;
    B76_T num = B76_SEL(ra, na, nb);
    B76_T den = B76_SEL(ra, da, db);
    if (B76_ANY(B76_NOT(rb))) {
        /* z^5 P(1/z) and z^5 Q(1/z), with Cody's P(u) = p5 u^5 + p0 u^4 +
         * ... + p4 and Q(u) = u^5 + q0 u^4 + ... + q4. */
        B76_T pt = z * B76_P4 + B76_P3;
        pt = pt * z + B76_P2;
        pt = pt * z + B76_P1;
        pt = pt * z + B76_P0;
        pt = pt * z + B76_P5;
        B76_T qt = z * B76_Q4 + B76_Q3;
        qt = qt * z + B76_Q2;
        qt = qt * z + B76_Q1;
        qt = qt * z + B76_Q0;
        qt = qt * z + 1.0;
        /* N(-y) e^{y^2/2} = (1/sqrt(2pi) - P/(z Q))/y = (z Q/sqrt(2pi) - P)/(y z Q) */
        B76_T nc = z * qt * B76_INV_SQRT_2PI - pt;
        B76_T dc = y * z * qt;
        num = B76_SEL(rb, num, nc);
        den = B76_SEL(rb, den, dc);
    }
    return num / den;
}

/* N(-y) for y in [0, B76_YMAX] (or NaN), given e = exp(-y^2/2). */
B76_KDECL B76_T B76_FN(tail)(B76_T y, B76_T e)
{
    B76_T q = B76_FN(cody_q)(y);
    return B76_SEL(y <= B76_THRSH, 0.5 - q, e * q);
}

/*
 * Price and Greeks of one option per lane (cpo/black76.h for the units and
 * the degenerate cases).  call, put: the right as masks.  Returns the mask
 * of invalid lanes (every output NaN there).
 */
B76_KDECL B76_M B76_FN(price)(B76_T F, B76_T K, B76_T T, B76_T r, B76_T v, B76_M call,
                               B76_M put, B76_T *o)
{
    const double DBL_MAX_ = 1.7976931348623157e308;
    B76_T fk = F / K;
    B76_M valid = (call | put) & (F > 0.0) & (F <= DBL_MAX_) & (K > 0.0) & (K <= DBL_MAX_) &
                  (fk >= 2.2250738585072014e-308) & (fk <= DBL_MAX_) & (T >= 0.0) &
                  (T <= DBL_MAX_) & (v >= 0.0) & (v <= DBL_MAX_) & (r >= -DBL_MAX_) &
                  (r <= DBL_MAX_);
    B76_T one = B76_SPLAT(1.0), zero = B76_SPLAT(0.0), nan = B76_SPLAT(NAN);
    B76_T Fs = B76_SEL(valid, F, one);
    B76_T Ks = B76_SEL(valid, K, one);
    B76_T Ts = B76_SEL(valid, T, one);
    B76_T vs = B76_SEL(valid, v, one);
    B76_T rs = B76_SEL(valid, r, zero);
    B76_T fks = B76_SEL(valid, fk, one);

    B76_T sqT = B76_SQRT(Ts);
    B76_T s = vs * sqT;
    B76_M deg = B76_NOT(s >= 1e-150); /* s -> 0: the limits */
    B76_T ss = B76_SEL(deg, one, s);
    B76_T vv = B76_SEL(deg, one, vs);
    B76_T sq = B76_SEL(deg, one, sqT);

    B76_T x = B76_FN(log)(fks);
    B76_T is = 1.0 / ss; /* divisions are the slowest vector operation: one here */
    B76_T d1 = x * is + 0.5 * ss;
    B76_T d2 = d1 - ss;
    B76_T D = one;
    if (B76_ANY(rs != 0.0))
        D = B76_FN(exp)(zero - rs * Ts);

    B76_T y1 = B76_ABS(d1), y2 = B76_ABS(d2);
    y1 = B76_SEL(y1 > B76_YMAX, B76_SPLAT(B76_YMAX), y1);
    y2 = B76_SEL(y2 > B76_YMAX, B76_SPLAT(B76_YMAX), y2);
    B76_T e1 = B76_FN(exp_mhalfsq)(y1);
    /* exp(-d2^2/2) = exp(-d1^2/2) F/K (as phi(d2) K = phi(d1) F): one exp
     * fewer, and a deep out-of-the-money F N(d1) - K N(d2) becomes
     * F e1 (R1 - R2) with a common factor. */
    B76_T e2 = e1 * fks;
    B76_T q1 = B76_FN(tail)(y1, e1); /* N(-|d1|) */
    B76_T q2 = B76_FN(tail)(y2, e2);
    B76_M p1 = d1 > 0.0, p2 = d2 > 0.0;
    B76_T n1 = B76_SEL(p1, 1.0 - q1, q1); /* N(d1) */
    B76_T m1 = B76_SEL(p1, q1, 1.0 - q1); /* N(-d1) */
    B76_T n2 = B76_SEL(p2, 1.0 - q2, q2);
    B76_T m2 = B76_SEL(p2, q2, 1.0 - q2);
    B76_T pdf1 = e1 * B76_INV_SQRT_2PI;

    /* Undiscounted value; its s -> 0 limit is the intrinsic value. */
    B76_T und = B76_SEL(call, Fs * n1 - Ks * n2, Ks * m2 - Fs * m1);
    B76_T intr = B76_SEL(call, B76_SEL(Fs > Ks, Fs - Ks, zero), B76_SEL(Ks > Fs, Ks - Fs, zero));
    und = B76_SEL(deg, intr, und);
    B76_T price = D * und;

    B76_T delta = B76_SEL(call, D * n1, zero - D * m1);
    B76_M itm = (call & (Fs > Ks)) | (B76_NOT(call) & (Ks > Fs));
    B76_T w0 = B76_SEL(itm, one, B76_SEL(Fs == Ks, B76_SPLAT(0.5), zero));
    delta = B76_SEL(deg, B76_SEL(call, D * w0, zero - D * w0), delta);

    /* 1/sigma = sqrt(T)/s and sigma/sqrt(T) = sigma^2/s: no more divisions
     * than the one for gamma. */
    B76_T iv = sq * is;
    B76_T gamma = D * pdf1 * is / Fs;
    B76_T vega = D * Fs * pdf1 * sq;
    B76_T theta = rs * price - 0.5 * (D * Fs * pdf1) * (vv * vv * is);
    B76_T rho = zero - Ts * price;
    B76_T vanna = zero - (D * pdf1 * d2) * iv;
    B76_T volga = vega * d1 * d2 * iv;
    B76_T lim = B76_SEL(Fs == Ks, nan, zero);
    gamma = B76_SEL(deg, lim, gamma);
    vega = B76_SEL(deg, lim, vega);
    vanna = B76_SEL(deg, lim, vanna);
    volga = B76_SEL(deg, lim, volga);
    theta = B76_SEL(deg, rs * price, theta);

    o[0] = B76_SEL(valid, price, nan);
    o[1] = B76_SEL(valid, delta, nan);
    o[2] = B76_SEL(valid, gamma, nan);
    o[3] = B76_SEL(valid, vega, nan);
    o[4] = B76_SEL(valid, theta, nan);
    o[5] = B76_SEL(valid, rho, nan);
    o[6] = B76_SEL(valid, vanna, nan);
    o[7] = B76_SEL(valid, volga, nan);
    return B76_NOT(valid);
}
