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

/* The futures' numbers: deliveries, rolls and how the held futures were
 * marked. */
static void fut_metrics(cpo_run_metrics *mt, const cpo_result *r)
{
    size_t T = r->n_steps;
    mt->n_deliveries = r->n_deliveries;
    mt->n_delivery_approx = r->n_delivery_approx;
    mt->delivery_fees = r->delivery_fees;
    for (size_t f = 0; f < r->n_fut; f++)
        for (size_t t = 0; t < T; t++) {
            if (r->fut_qty[f * T + t] == 0.0)
                continue;
            int src = r->fut_src[f * T + t];
            mt->n_fut_held_modelled += src == CPO_FUT_SRC_BASIS;
            mt->n_fut_held_stale += src == CPO_FUT_SRC_FILLED || src == CPO_FUT_SRC_NONE;
        }
    /* A roll: at one step, a future of a coin reduced and another of the
     * same coin grown on the same side (positions before and after the
     * step from fut_qty; the trades of the step give the costs). */
    for (size_t t = 0; t < T && r->n_fut > 1; t++) {
        for (size_t a = 0; a < r->n_fut; a++) {
            const cpo_instrument *ia = &r->instr[r->fut_instr[a]];
            double qa0 = t ? r->fut_qty[a * T + t - 1] : 0.0, qa1 = r->fut_qty[a * T + t];
            if (!(fabs(qa1) < fabs(qa0)))
                continue;
            int rolled = 0;
            for (size_t b = 0; b < r->n_fut && !rolled; b++) {
                const cpo_instrument *ib = &r->instr[r->fut_instr[b]];
                double qb0 = t ? r->fut_qty[b * T + t - 1] : 0.0, qb1 = r->fut_qty[b * T + t];
                rolled = b != a && !strcmp(ia->base, ib->base) && fabs(qb1) > fabs(qb0) &&
                         (qa0 > 0) == (qb1 > 0);
            }
            if (!rolled)
                continue;
            mt->n_rolls++;
            for (size_t k = 0; k < r->n_trades; k++) {
                const cpo_trade *tr = &r->trades[k];
                if (tr->delivery || tr->ts < r->ts[t] ||
                    (t + 1 < T && tr->ts >= r->ts[t + 1]))
                    continue;
                const cpo_instrument *in = &r->instr[tr->instr];
                if (in->kind != CPO_KIND_FUTURE || strcmp(in->base, ia->base))
                    continue;
                double c = tr->fee + tr->slippage;
                mt->roll_costs += in->settle == CPO_SETTLE_INVERSE ? c * tr->px : c;
            }
            break; /* one roll per step (and coin pair found) */
        }
    }
}

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
    fut_metrics(mt, r);

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
