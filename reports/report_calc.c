/*
 * report_calc.c - the numbers of a report that are worked out from the run
 * folder rather than read from it (see report_priv.h): step returns,
 * calendar periods (days, weeks, months, years) of the equity and the
 * benchmark, the distribution of returns, and round trips of trades.csv.
 *
 * Returns are simple returns.  A step belongs to the period holding its
 * bar's open (a daily bar opening 2024-01-01 is that day's return); a
 * period's return is the equity after its last step over the equity
 * before its first (the capital before the run's first step) - 1, so the
 * periods of a run chain to its total return.
 */
#define _DEFAULT_SOURCE
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/metrics.h"
#include "cpo/time.h"
#include "report_priv.h"

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

void rp_step_returns(const rp_run *r, double *out)
{
    double prev = isfinite(r->capital) ? r->capital : r->n ? r->equity[0] : NAN;
    for (size_t t = 0; t < r->n; t++) {
        double e = r->equity[t];
        out[t] = isfinite(prev) && prev > 0.0 && isfinite(e) ? e / prev - 1.0 : NAN;
        prev = e;
    }
}

int64_t rp_period_start(int kind, int64_t ms)
{
    cpo_civil c;
    int64_t t = 0;
    switch (kind) {
    case RP_PER_DAY:
        return ms - (((ms % CPO_MS_DAY) + CPO_MS_DAY) % CPO_MS_DAY);
    case RP_PER_WEEK: {
        /* Mondays: 1970-01-05 was one. */
        int64_t mon = 4 * CPO_MS_DAY;
        return ms - (((ms - mon) % CPO_MS_WEEK) + CPO_MS_WEEK) % CPO_MS_WEEK;
    }
    case RP_PER_MONTH:
        cpo_time_to_civil(ms, &c);
        c.day = 1;
        c.hour = c.minute = c.second = c.ms = 0;
        cpo_time_from_civil(&c, &t);
        return t;
    default:
        cpo_time_to_civil(ms, &c);
        c.month = c.day = 1;
        c.hour = c.minute = c.second = c.ms = 0;
        cpo_time_from_civil(&c, &t);
        return t;
    }
}

int rp_periods(const rp_run *r, int kind, rp_period **out, size_t *n, cpo_error *err)
{
    *out = NULL;
    *n = 0;
    size_t np = 0;
    for (size_t t = 0; t < r->n; t++)
        if (t == 0 || rp_period_start(kind, r->ts[t]) != rp_period_start(kind, r->ts[t - 1]))
            np++;
    rp_period *p = malloc((np ? np : 1) * sizeof *p);
    if (!p)
        return nomem(err);
    size_t k = 0;
    double before = isfinite(r->capital) ? r->capital : r->n ? r->equity[0] : NAN;
    for (size_t t = 0; t < r->n; t++) {
        int64_t s = rp_period_start(kind, r->ts[t]);
        if (t == 0 || s != p[k - 1].start_ms) {
            if (k)
                before = r->equity[p[k - 1].last];
            p[k].start_ms = s;
            p[k].first = t;
            p[k].bench = NAN;
            p[k].base = before;
            k++;
        }
        rp_period *q = &p[k - 1];
        q->last = t;
        double b = r->has_bench ? r->bench_ret[t] : NAN;
        if (isfinite(b))
            q->bench = isnan(q->bench) ? b : (1.0 + q->bench) * (1.0 + b) - 1.0;
    }
    for (size_t i = 0; i < k; i++) {
        double e = r->equity[p[i].last], b = p[i].base;
        p[i].ret = isfinite(b) && b > 0.0 && isfinite(e) ? e / b - 1.0 : NAN;
    }
    *out = p;
    *n = k;
    return 0;
}

int rp_distribution(const double *x, size_t n, rp_dist *d)
{
    memset(d, 0, sizeof *d);
    d->mean = d->sd = d->skew = d->kurt = d->min = d->max = NAN;
    d->n = n;
    if (n == 0)
        return 0;
    d->min = d->max = x[0];
    for (size_t i = 1; i < n; i++) {
        d->min = fmin(d->min, x[i]);
        d->max = fmax(d->max, x[i]);
    }
    d->mean = gsl_stats_mean(x, 1, n);
    if (n >= 2)
        d->sd = gsl_stats_sd_m(x, 1, n, d->mean);
    /* GSL's skewness and (excess) kurtosis use the sample sd. */
    if (n >= 3 && d->sd > 0.0) {
        d->skew = gsl_stats_skew_m_sd(x, 1, n, d->mean, d->sd);
        d->kurt = gsl_stats_kurtosis_m_sd(x, 1, n, d->mean, d->sd);
    }
    return 0;
}

/* --- P&L lines ------------------------------------------------------------------------------ */

size_t rp_pnl_lines(const rp_run *r, const char **names, size_t max)
{
    static const char *const order[] = {"price",       "funding", "financing",
                                        "fees",        "slippage", "liquidation",
                                        "options",     "revaluation", "residual"};
    const json_t *p = json_object_get(r->summary, "pnl");
    size_t n = 0;
    for (size_t k = 0; k < sizeof order / sizeof order[0] && n < max; k++)
        if (json_object_get(p, order[k]) || rp_ledger_col(r, order[k]) >= 0)
            names[n++] = order[k];
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)p, key, v)
    {
        size_t k = 0;
        while (k < sizeof order / sizeof order[0] && strcmp(order[k], key))
            k++;
        if (k == sizeof order / sizeof order[0] && n < max)
            names[n++] = key;
    }
    return n;
}

/* --- drawdown spans ----------------------------------------------------------------------- */

long rp_dd_spans(const rp_run *r, rp_span *out, size_t k)
{
    const json_t *tab = json_object_get(json_object_get(r->summary, "metrics"), "drawdowns");
    size_t m = 0;
    if (json_is_array(tab) && json_array_size(tab)) {
        size_t i;
        const json_t *row;
        json_array_foreach(tab, i, row)
        {
            const json_t *pk = json_object_get(row, "peak"), *rc = json_object_get(row, "recovery"),
                         *dp = json_object_get(row, "depth");
            if (m == k || !json_is_string(pk))
                continue;
            rp_span *s = &out[m];
            if (rp_parse_time(json_string_value(pk), &s->from_ms))
                continue;
            s->recovered = json_is_string(rc) && !rp_parse_time(json_string_value(rc), &s->to_ms);
            if (!s->recovered)
                s->to_ms = r->n ? r->ts[r->n - 1] : s->from_ms;
            s->depth = json_is_number(dp) ? fabs(json_number_value(dp)) : NAN;
            m++;
        }
        return (long)m;
    }
    rp_dd dd[16];
    long got = rp_drawdowns(r->equity, r->n, r->capital, dd, k < 16 ? k : 16);
    for (long j = 0; j < got; j++) {
        rp_span *s = &out[j];
        /* The capital as the peak: the open of the bar before the first. */
        s->from_ms = dd[j].peak == SIZE_MAX ? r->ts[0] - r->bar_ms : r->ts[dd[j].peak];
        s->recovered = dd[j].recovery != SIZE_MAX;
        s->to_ms = s->recovered ? r->ts[dd[j].recovery] : r->ts[r->n - 1];
        s->depth = dd[j].depth;
    }
    return got;
}

/* --- round trips ----------------------------------------------------------------------- */

size_t rp_sym_index(const char **names, size_t *n, const char *sym, size_t hint)
{
    if (hint + 1 < *n && !strcmp(names[hint + 1], sym))
        return hint + 1;
    if (hint < *n && !strcmp(names[hint], sym))
        return hint;
    size_t k = 0;
    while (k < *n && strcmp(names[k], sym))
        k++;
    if (k == *n)
        names[(*n)++] = sym;
    return k;
}

int rp_round_trips(const rp_run *r, rp_trip_sum **out, size_t *n, cpo_error *err)
{
    *out = NULL;
    *n = 0;
    const rp_table *t = &r->trades;
    if (!r->has_trades)
        return 0;
    int cs = rp_table_col(t, "symbol"), cq = rp_table_col(t, "qty"), cp = rp_table_col(t, "px"),
        cf = rp_table_col(t, "fee"), ct = rp_table_col(t, "ts");
    if (cs < 0 || cq < 0 || cp < 0 || ct < 0)
        return 0;
    /* One summary per symbol (in the order first traded) and the total last. */
    rp_trip_sum *s = calloc(t->nrow + 1, sizeof *s);
    cpo_trip *st = calloc(t->nrow + 1, sizeof *st);
    const char **names = calloc(t->nrow + 1, sizeof *names);
    if (!s || !st || !names) {
        free(s);
        free(st);
        free(names);
        return nomem(err);
    }
    size_t nsym = 0, k = 0;
    for (size_t i = 0; i < t->nrow; i++) {
        const char *sym = t->text[i * t->ncol + (size_t)cs];
        size_t had = nsym;
        k = rp_sym_index(names, &nsym, sym, k);
        if (nsym > had) {
            s[k].symbol = sym;
            s[k].best = s[k].worst = NAN;
        }
        int64_t ts = 0;
        if (rp_parse_time(t->text[i * t->ncol + (size_t)ct], &ts))
            continue;
        double fee = cf >= 0 ? t->num[i * t->ncol + (size_t)cf] : 0.0;
        cpo_trip_done d;
        if (!cpo_trip_fill(&st[k], t->num[i * t->ncol + (size_t)cq],
                           t->num[i * t->ncol + (size_t)cp], fee, 1.0, 0, ts, &d))
            continue;
        rp_trip_sum *x = &s[k];
        x->trips++;
        if (d.pnl > 0.0) {
            x->won++;
            x->win_sum += d.pnl;
        } else {
            x->lost++;
            x->loss_sum += d.pnl;
        }
        x->best = isnan(x->best) ? d.pnl : fmax(x->best, d.pnl);
        x->worst = isnan(x->worst) ? d.pnl : fmin(x->worst, d.pnl);
        x->hold_ms += (double)(d.close_ms - d.open_ms);
    }
    rp_trip_sum *tot = &s[nsym];
    tot->symbol = NULL;
    tot->best = tot->worst = NAN;
    for (size_t k = 0; k < nsym; k++) {
        s[k].open = st[k].q != 0.0;
        tot->trips += s[k].trips;
        tot->won += s[k].won;
        tot->lost += s[k].lost;
        tot->win_sum += s[k].win_sum;
        tot->loss_sum += s[k].loss_sum;
        tot->hold_ms += s[k].hold_ms;
        tot->open += s[k].open;
        if (!isnan(s[k].best))
            tot->best = isnan(tot->best) ? s[k].best : fmax(tot->best, s[k].best);
        if (!isnan(s[k].worst))
            tot->worst = isnan(tot->worst) ? s[k].worst : fmin(tot->worst, s[k].worst);
    }
    free(st);
    free(names);
    *out = s;
    *n = nsym + 1;
    return 0;
}
