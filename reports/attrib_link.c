/*
 * attrib_link.c - Carino linking of per-period contributions (cpo/attrib.h;
 * the methods notes, section 4c): the one piece of arithmetic that the
 * asset and the factor attribution share.
 */
#include "cpo/attrib.h"

#include <math.h>

double cpo_attrib_carino_k(double r)
{
    if (!(r > -1.0) || !isfinite(r))
        return NAN;
    if (r == 0.0)
        return 1.0;
    return log1p(r) / r;
}

int cpo_attrib_carino_link(double *linked, double *R_out, const double *c, const double *r,
                           size_t t, size_t n, cpo_error *err)
{
    double logsum = 0.0;
    for (size_t s = 0; s < t; s++) {
        if (!(r[s] > -1.0) || !isfinite(r[s]))
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "carino: the return of period %zu is %.17g (expected a finite "
                                 "return above -1)",
                                 s, r[s]);
        logsum += log1p(r[s]);
    }
    double R = expm1(logsum);
    double k = cpo_attrib_carino_k(R);
    for (size_t j = 0; j < n; j++)
        linked[j] = 0.0;
    for (size_t s = 0; s < t; s++) {
        double ks = cpo_attrib_carino_k(r[s]);
        for (size_t j = 0; j < n; j++) {
            double v = c[s * n + j];
            if (!isfinite(v))
                return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                     "carino: contribution %zu of period %zu is %g (expected a "
                                     "finite number)",
                                     j, s, v);
            linked[j] += ks * v;
        }
    }
    for (size_t j = 0; j < n; j++)
        linked[j] /= k;
    if (R_out)
        *R_out = R;
    return 0;
}

