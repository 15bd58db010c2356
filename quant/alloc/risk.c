/*
 * risk.c - risk contributions (METHODS §4c), the volatility-target
 * leverage and the minimum-variance hedge ratio (METHODS §6).
 */
#include <math.h>

#include "alloc_int.h"

int cpo_alloc_risk_contrib(double *ccr, double *sigma_p, const double *w, const double *cov,
                           size_t n, cpo_error *err)
{
    int rc = cpo_alloc_check_cov("risk contrib", cov, n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]))
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "risk contrib: weight of asset %zu is %g (expected finite "
                                 "weights)",
                                 i, w[i]);
    /* ccr first holds (Sw)_i. */
    double var = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++)
            s += cov[i * n + j] * w[j];
        ccr[i] = s;
        var += w[i] * s;
    }
    if (!(var > 0.0))
        return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                             "risk contrib: portfolio variance %g (expected a portfolio with "
                             "risk)",
                             var);
    double sp = sqrt(var);
    for (size_t i = 0; i < n; i++)
        ccr[i] = w[i] * ccr[i] / sp;
    if (sigma_p)
        *sigma_p = sp;
    return 0;
}

int cpo_alloc_risk_contrib_expost(double *ccr, double *sigma_p, const double *w,
                                  const double *x, size_t t, size_t n, cpo_error *err)
{
    int rc = cpo_alloc_check_returns("risk contrib ex post", x, t, n, 2, err);
    if (rc)
        return rc;
    double mp = 0.0;
    for (size_t s = 0; s < t; s++) {
        double r = 0.0;
        for (size_t i = 0; i < n; i++)
            r += w[i] * x[s * n + i];
        mp += r;
    }
    mp /= (double)t;
    double vp = 0.0;
    for (size_t i = 0; i < n; i++)
        ccr[i] = 0.0;
    for (size_t i = 0; i < n; i++) {
        double mi = 0.0;
        for (size_t s = 0; s < t; s++)
            mi += x[s * n + i];
        mi /= (double)t;
        double c = 0.0;
        for (size_t s = 0; s < t; s++) {
            double r = 0.0;
            for (size_t j = 0; j < n; j++)
                r += w[j] * x[s * n + j];
            c += w[i] * (x[s * n + i] - mi) * (r - mp);
        }
        ccr[i] = c / (double)(t - 1);
        vp += ccr[i]; /* sum_i cov(w_i r_i, r_p) = var(r_p) */
    }
    if (!(vp > 0.0))
        return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                             "risk contrib ex post: portfolio variance %g (expected a "
                             "portfolio with risk)",
                             vp);
    double sp = sqrt(vp);
    for (size_t i = 0; i < n; i++)
        ccr[i] /= sp;
    if (sigma_p)
        *sigma_p = sp;
    return 0;
}

int cpo_alloc_voltarget(double *lev, int *changed, double sigma, double target,
                        double max_lev, double prev_lev, double buffer, cpo_error *err)
{
    if (!(target > 0.0) || !isfinite(target))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "voltarget: target %g (expected an annual volatility > 0)",
                             target);
    if (!(max_lev > 0.0) || !isfinite(max_lev))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "voltarget: max leverage %g (expected > 0)", max_lev);
    if (!(sigma >= 0.0) || !isfinite(sigma))
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                             "voltarget: forecast volatility %g (expected >= 0)", sigma);
    if (!(buffer >= 0.0))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "voltarget: buffer %g (expected >= 0)", buffer);
    double l = sigma > 0.0 ? target / sigma : max_lev;
    if (l > max_lev)
        l = max_lev;
    if (isfinite(prev_lev) && fabs(l - prev_lev) <= buffer)
        l = prev_lev;
    *lev = l;
    if (changed)
        *changed = !(isfinite(prev_lev) && l == prev_lev);
    return 0;
}

int cpo_alloc_hedge_ratio(double *h, double *rho, const double *rp, const double *rh,
                          size_t t, cpo_error *err)
{
    if (t < 2)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "hedge ratio: %zu return pairs (expected at least 2)", t);
    double mp = 0.0, mh = 0.0;
    for (size_t s = 0; s < t; s++) {
        if (!isfinite(rp[s]) || !isfinite(rh[s]))
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "hedge ratio: return pair %zu is (%g, %g) (expected finite "
                                 "returns)",
                                 s, rp[s], rh[s]);
        mp += rp[s];
        mh += rh[s];
    }
    mp /= (double)t;
    mh /= (double)t;
    double cph = 0.0, vh = 0.0, vp = 0.0;
    for (size_t s = 0; s < t; s++) {
        double a = rp[s] - mp, b = rh[s] - mh;
        cph += a * b;
        vh += b * b;
        vp += a * a;
    }
    if (!(vh > 0.0))
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                             "hedge ratio: the hedge did not move in the window (expected "
                             "var(rh) > 0)");
    *h = cph / vh;
    if (rho)
        *rho = vp > 0.0 ? cph / sqrt(vp * vh) : 0.0;
    return 0;
}
