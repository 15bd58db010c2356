/*
 * run_metrics.c - summary numbers of one run.  The performance metrics
 * come from cpo_metrics_from_result (cpo/metrics.h, METHODS.md section 5):
 * returns, volatility, Sharpe and drawdown on the equity curve with the
 * capital prepended, exposure, costs.  What is left here is the run's own
 * bookkeeping: totals of the P&L lines and the ledger identity.  Returns
 * are simple returns per bar; annualisation uses a 365-day year (crypto
 * trades every day): 365 daily bars, 8,760 hourly.  With a [backtest]
 * benchmark its returns on the run's steps (cpo_run_bench_returns) give
 * the table's alpha and beta.
 */
#include "cpo/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/metrics.h"
#include "cpo/time.h"

int cpo_run_metrics_compute(cpo_run_metrics *mt, const cpo_result *r, int64_t bar_ms,
                            const cpo_run_bench *bench, cpo_error *err)
{
    memset(mt, 0, sizeof *mt);
    mt->rf_annual = mt->annual_over_rf = NAN;
    size_t n = r->n_steps;
    mt->n_steps = n;
    mt->bar_ms = bar_ms;
    mt->capital = r->capital;
    mt->periods_per_year = cpo_metrics_periods_per_year(bar_ms);
    mt->drawdown_peak_ms = mt->drawdown_trough_ms = CPO_TIME_NONE;
    mt->n_trades = r->n_trades;
    mt->n_rebalances = r->n_rebalances;
    mt->n_events = r->n_events;
    mt->max_rel_residual = r->max_rel_residual;
    /* Forced closes, of options too (the engine counts them). */
    for (size_t k = 0; k < r->n_trades; k++)
        mt->n_liquidations += r->trades[k].liquidation != 0;
    for (size_t k = 0; k < r->n_opt_trades; k++)
        mt->n_liquidations += r->opt_trades[k].liquidation != 0;

    /* The table, with the benchmark's returns on the run's steps when
     * there is one.  Without a bar length there is no annualisation: the
     * table stays blank (NaN), as the call leaves it. */
    cpo_metrics_opts mo;
    cpo_metrics_opts_init(&mo);
    mo.rf_series = r->rf; /* [financing] rf, per step; NULL: 0 */
    double *b = NULL;
    if (bench && bench->close) {
        if (!(b = malloc((n ? n : 1) * sizeof *b)))
            return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        cpo_run_bench_returns(b, bench, r->ts, n);
        mo.bench = b;
    }
    if (bar_ms > 0) {
        int rc = cpo_metrics_from_result(&mt->table, r, bar_ms, &mo, err);
        if (rc) {
            free(b);
            return rc;
        }
    } else {
        (void)cpo_metrics_from_result(&mt->table, r, bar_ms, &mo, NULL);
    }
    free(b);

    if (n == 0) {
        mt->start_ms = mt->end_ms = CPO_TIME_NONE;
        mt->final_equity = r->capital;
        return 0;
    }
    mt->start_ms = r->ts[0];
    mt->end_ms = r->ts[n - 1] + bar_ms;
    mt->final_equity = r->equity[n - 1];

    /* The identity: the lines add up to the change in equity. */
    double prev = r->capital;
    for (size_t t = 0; t < n; t++) {
        double eq = r->equity[t], sum = 0.0;
        for (int l = 0; l < CPO_PNL_COUNT; l++) {
            mt->pnl[l] += r->pnl[l][t];
            sum += r->pnl[l][t];
        }
        double id = fabs(sum - (eq - prev)) / fmax(fabs(eq), 1.0);
        if (!(id <= mt->max_identity_error)) /* NaN counts */
            mt->max_identity_error = id;
        prev = eq;
    }

    /* After a ruin the returns are 0/0: the ratios built on them are not
     * defined, whatever the steps before it gave (the total return, -100 %,
     * the CAGR and the drawdown are). */
    if (r->ruined) {
        cpo_metrics *w = &mt->table;
        w->annual_volatility = w->sharpe = w->downside_risk = w->sortino = w->calmar = NAN;
        w->omega = w->tail_ratio = w->var = w->cvar = w->stability = w->hit_rate = NAN;
        w->alpha = w->beta = NAN;
    }
    const cpo_metrics *m = &mt->table;
    mt->total_return = m->cumulative_return;
    mt->annual_return = m->cagr;
    mt->annual_volatility = m->annual_volatility;
    mt->sharpe = m->sharpe;
    /* The summary's max drawdown is a positive fraction (the table's is <= 0). */
    mt->max_drawdown = m->max_drawdown < 0.0 ? -m->max_drawdown : 0.0;
    mt->drawdown_peak_ms = m->max_dd.peak_ms;
    mt->drawdown_trough_ms = m->max_dd.trough_ms;
    mt->avg_gross = m->leverage_mean;
    mt->rf_annual = mt->annual_over_rf = NAN;
    if (r->rf && n) {
        double g = 0.0;
        for (size_t t = 0; t < n; t++)
            g += log1p(r->rf[t]);
        mt->rf_annual = expm1(g / (double)n * mt->periods_per_year);
        mt->annual_over_rf = (1.0 + mt->annual_return) / (1.0 + mt->rf_annual) - 1.0;
    }
    return 0;
}
