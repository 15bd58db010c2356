/*
 * sharpe.c - moments of return series, the probabilistic Sharpe ratio
 * (Bailey & Lopez de Prado, "The Sharpe Ratio Efficient Frontier", J. of
 * Risk 2012) and the deflated Sharpe ratio (Bailey & Lopez de Prado, "The
 * Deflated Sharpe Ratio: Correcting for Selection Bias, Backtest
 * Overfitting and Non-Normality", J. of Portfolio Management 40(5), 2014).
 * See cpo/stats.h.
 */
#include "cpo/stats.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>

/* Euler-Mascheroni constant (the DSR paper's gamma). */
#define EULER_GAMMA 0.57721566490153286061
#define E_CONST 2.71828182845904523536

void cpo_stats_block_add(cpo_stats_block *acc, const cpo_stats_block *b)
{
    acc->n += b->n;
    acc->sum += b->sum;
    acc->sumsq += b->sumsq;
    acc->sumlog += b->sumlog;
}

void cpo_stats_block_push(cpo_stats_block *acc, double r)
{
    if (!isfinite(r))
        return;
    acc->n += 1.0;
    acc->sum += r;
    acc->sumsq += r * r;
    acc->sumlog += r > -1.0 ? log1p(r) : -INFINITY;
}

double cpo_stats_block_sharpe(const cpo_stats_block *b)
{
    if (!(b->n >= 2.0))
        return NAN;
    double mean = b->sum / b->n;
    double var = (b->sumsq - b->n * mean * mean) / (b->n - 1.0);
    if (!(var > 0.0))
        return NAN;
    return mean / sqrt(var);
}

void cpo_stats_moments(const double *r, size_t n, double *sharpe, double *skew, double *kurt)
{
    size_t m = 0;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (sharpe)
        *sharpe = NAN;
    if (skew)
        *skew = NAN;
    if (kurt)
        *kurt = NAN;
    if (!x)
        return;
    for (size_t i = 0; i < n; i++)
        if (isfinite(r[i]))
            x[m++] = r[i];
    if (m >= 2) {
        double mean = gsl_stats_mean(x, 1, m);
        double sd = gsl_stats_sd_m(x, 1, m, mean);
        if (sd > 0.0) {
            if (sharpe)
                *sharpe = mean / sd;
            if (m >= 3 && skew)
                *skew = gsl_stats_skew_m_sd(x, 1, m, mean, sd);
            if (m >= 3 && kurt)
                *kurt = gsl_stats_kurtosis_m_sd(x, 1, m, mean, sd) + 3.0;
        }
    }
    free(x);
}

double cpo_stats_expected_max_z(double n_trials)
{
    if (!(n_trials >= 2.0) || !isfinite(n_trials))
        return NAN;
    return (1.0 - EULER_GAMMA) * gsl_cdf_ugaussian_Pinv(1.0 - 1.0 / n_trials) +
           EULER_GAMMA * gsl_cdf_ugaussian_Pinv(1.0 - 1.0 / (n_trials * E_CONST));
}

/* The PSR statistic (before Phi). */
static double psr_z(double sr, double sr_star, double n_obs, double skew, double kurt)
{
    if (!isfinite(sr) || !isfinite(sr_star) || !isfinite(skew) || !isfinite(kurt) ||
        !(n_obs >= 2.0))
        return NAN;
    double v = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr;
    if (!(v > 0.0))
        return NAN;
    return (sr - sr_star) * sqrt(n_obs - 1.0) / sqrt(v);
}

double cpo_stats_psr(double sr, double sr_star, double n_obs, double skew, double kurt)
{
    double z = psr_z(sr, sr_star, n_obs, skew, kurt);
    return isfinite(z) ? gsl_cdf_ugaussian_P(z) : NAN;
}

void cpo_stats_dsr_compute(cpo_stats_dsr *out, double sr, double var_trials, double n_trials,
                           double n_obs, double skew, double kurt)
{
    double ez = cpo_stats_expected_max_z(n_trials);
    out->sr0 = isfinite(var_trials) && var_trials >= 0.0 ? sqrt(var_trials) * ez : NAN;
    out->z = psr_z(sr, out->sr0, n_obs, skew, kurt);
    out->dsr = isfinite(out->z) ? gsl_cdf_ugaussian_P(out->z) : NAN;
}
