/*
 * delivery.c - delivery prices (engine/delivery.h).
 *
 * Deribit: "the time-weighted average of the Deribit index over the last
 * 30 min before the expiry" (support.deribit.com, "Prices of Virtual
 * Assets"); Binance delivery futures: "the average of the price index
 * every second for the last 30 minutes before delivery" (since 2024-11-11;
 * the last hour before).  With minute bars the line through each bar's
 * open and close gives the trapezoid over the window; with hourly bars the
 * 07:00 bar's 0.25 open + 0.75 close, an estimate the caller flags.
 */
#include "delivery.h"

#include <math.h>

#include "cpo/time.h"

/* Bar [a, a + sp) with open o and close c: its line's integral over the
 * part of it inside [lo, T] (bars ending after T are not used). */
static void add_bar(int64_t a, int64_t sp, double o, double c, int64_t lo, int64_t T, double *num,
                    int64_t *covered)
{
    int64_t e = a + sp;
    if (e > T || e <= lo || !(o > 0.0) || !(c > 0.0))
        return;
    int64_t x0 = a > lo ? a : lo, x1 = e;
    double f0 = (double)(x0 - a) / (double)sp, f1 = (double)(x1 - a) / (double)sp;
    /* the mean of the line over [f0, f1], times its length */
    *num += (o + (c - o) * 0.5 * (f0 + f1)) * (double)(x1 - x0);
    *covered += x1 - x0;
}

double cpo_delivery_twap(const cpo_bars *raw, const cpo_market *m, size_t i, int64_t T,
                         int *approx)
{
    const int64_t W = 30 * 60 * 1000, lo = T - W;
    double num = 0.0;
    int64_t covered = 0, sp;
    *approx = 0;
    if (raw) {
        sp = raw->bar_ms;
        size_t k = cpo_ts_count_before(raw->ts, raw->n, lo - sp);
        for (; k < raw->n && raw->ts[k] < T; k++)
            add_bar(raw->ts[k], sp, raw->open[k], raw->close[k], lo, T, &num, &covered);
    } else {
        sp = m->step_ms;
        const double *o = cpo_market_col(m, CPO_F_OPEN, i), *c = cpo_market_col(m, CPO_F_CLOSE, i);
        size_t t = cpo_ts_count_before(m->ts, m->n_steps, lo - sp);
        for (; t < m->n_steps && m->ts[t] < T; t++)
            add_bar(m->ts[t], sp, o[t], c[t], lo, T, &num, &covered);
    }
    if (covered <= 0)
        return NAN;
    *approx = sp > 60 * 1000 || covered < W;
    return num / (double)covered;
}
