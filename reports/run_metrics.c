/*
 * run_metrics.c - summary numbers of one run: returns, volatility and
 * drawdown on the equity curve, totals of the P&L lines, the ledger
 * identity.  Returns are simple returns per bar; annualisation uses a
 * 365-day year (crypto trades every day): 365 daily bars, 8,760 hourly.
 */
#include "cpo/run.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"

int cpo_run_metrics_compute(cpo_run_metrics *mt, const cpo_result *r, int64_t bar_ms,
                            cpo_error *err)
{
    memset(mt, 0, sizeof *mt);
    size_t n = r->n_steps;
    mt->n_steps = n;
    mt->bar_ms = bar_ms;
    mt->capital = r->capital;
    mt->periods_per_year = bar_ms > 0 ? (double)(365 * CPO_MS_DAY) / (double)bar_ms : NAN;
    mt->drawdown_peak_ms = mt->drawdown_trough_ms = CPO_TIME_NONE;
    mt->n_trades = r->n_trades;
    mt->n_rebalances = r->n_rebalances;
    mt->n_events = r->n_events;
    mt->max_rel_residual = r->max_rel_residual;
    for (size_t k = 0; k < r->n_trades; k++)
        mt->n_liquidations += r->trades[k].liquidation != 0;
    if (n == 0) {
        mt->start_ms = mt->end_ms = CPO_TIME_NONE;
        mt->final_equity = r->capital;
        return 0;
    }
    mt->start_ms = r->ts[0];
    mt->end_ms = r->ts[n - 1] + bar_ms;
    mt->final_equity = r->equity[n - 1];
    mt->total_return = mt->final_equity / r->capital - 1.0;
    double years = (double)n * (double)bar_ms / (double)(365 * CPO_MS_DAY);
    mt->annual_return = mt->final_equity > 0.0 && years > 0.0
                            ? pow(mt->final_equity / r->capital, 1.0 / years) - 1.0
                            : -1.0;

    double *ret = malloc(n * sizeof *ret);
    if (!ret)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    double prev = r->capital, peak = r->capital, gross = 0.0;
    int64_t peak_ts = r->ts[0];
    size_t n_gross = 0;
    for (size_t t = 0; t < n; t++) {
        double eq = r->equity[t];
        ret[t] = prev != 0.0 ? eq / prev - 1.0 : 0.0;
        /* The identity: the lines add up to the change in equity. */
        double sum = 0.0;
        for (int l = 0; l < CPO_PNL_COUNT; l++) {
            mt->pnl[l] += r->pnl[l][t];
            sum += r->pnl[l][t];
        }
        double id = fabs(sum - (eq - prev)) / fmax(fabs(eq), 1.0);
        if (!(id <= mt->max_identity_error)) /* NaN counts */
            mt->max_identity_error = id;
        if (eq > peak) {
            peak = eq;
            peak_ts = r->ts[t];
        }
        double dd = peak > 0.0 ? 1.0 - eq / peak : 0.0;
        if (dd > mt->max_drawdown) {
            mt->max_drawdown = dd;
            mt->drawdown_peak_ms = peak_ts;
            mt->drawdown_trough_ms = r->ts[t];
        }
        if (isfinite(r->gross[t])) {
            gross += r->gross[t];
            n_gross++;
        }
        prev = eq;
    }
    mt->avg_gross = n_gross ? gross / (double)n_gross : NAN;
    if (n >= 2) {
        double sd = gsl_stats_sd(ret, 1, n);
        double mean = gsl_stats_mean(ret, 1, n);
        mt->annual_volatility = sd * sqrt(mt->periods_per_year);
        mt->sharpe = sd > 0.0 ? mean / sd * sqrt(mt->periods_per_year) : NAN;
    } else {
        mt->annual_volatility = NAN;
        mt->sharpe = NAN;
    }
    free(ret);
    return 0;
}
