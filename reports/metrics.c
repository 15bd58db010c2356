/*
 * metrics.c - the performance metrics of cpo/metrics.h: a return series,
 * an equity curve or a backtest result to one table (METHODS.md section 5;
 * definitions after empyrical stats.py, deviations in the header).
 *
 * Layout: the series (wealth path, finite returns), the distribution
 * metrics (GSL statistics on the finite returns), the drawdown table
 * (pyfolio's algorithm on the wealth path), the benchmark, the
 * result-only metrics (turnover, exposure, costs, round trips), the JSON
 * and text output, and the CSV reader of `cpo metrics FILE`.
 */
#include "cpo/metrics.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"
#include "csvread.h"

#define YEAR_MS (365 * CPO_MS_DAY)

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

void cpo_metrics_opts_init(cpo_metrics_opts *o)
{
    memset(o, 0, sizeof *o);
    o->periods_per_year = 0.0;
    o->rf = 0.0;
    o->required_return = 0.0;
    o->cutoff = 0.05;
    o->top_drawdowns = 5;
}

/* --- helpers ------------------------------------------------------------ */

double cpo_metrics_periods_per_year(int64_t spacing_ms)
{
    return spacing_ms > 0 ? (double)YEAR_MS / (double)spacing_ms : NAN;
}

int64_t cpo_metrics_median_spacing(const int64_t *ts_ms, size_t n, cpo_error *err)
{
    if (n < 2)
        return 0;
    /* Gaps in ms are exact in a double (< 2^53). */
    size_t m = n - 1;
    double *d = malloc(m * sizeof *d);
    if (!d) {
        nomem(err);
        return 0;
    }
    for (size_t k = 0; k < m; k++)
        d[k] = (double)(ts_ms[k + 1] - ts_ms[k]);
    int64_t med = (int64_t)gsl_stats_select(d, 1, m, (m - 1) / 2);
    free(d);
    return med;
}

size_t cpo_metrics_returns(double *out, const double *equity, size_t n_points)
{
    if (n_points < 2)
        return 0;
    for (size_t k = 0; k + 1 < n_points; k++) {
        double a = equity[k], b = equity[k + 1];
        out[k] = isfinite(a) && isfinite(b) && a > 0.0 ? b / a - 1.0 : NAN;
    }
    return n_points - 1;
}

void cpo_metrics_wealth(double *out, const double *r, size_t n, double start)
{
    out[0] = start;
    for (size_t k = 0; k < n; k++)
        out[k + 1] = isfinite(r[k]) ? out[k] * (1.0 + r[k]) : out[k];
}

/* --- drawdowns ------------------------------------------------------------ */

static void drawdown_none(cpo_drawdown *d)
{
    d->depth = 0.0;
    d->peak = d->trough = d->recovery = CPO_METRICS_NO_INDEX;
    d->peak_ms = d->trough_ms = d->recovery_ms = CPO_TIME_NONE;
    d->duration_bars = NAN;
    d->duration_days = NAN;
}

static int64_t time_at(const int64_t *ts, size_t k)
{
    return ts && k != CPO_METRICS_NO_INDEX ? ts[k] : CPO_TIME_NONE;
}

long cpo_metrics_drawdowns(cpo_drawdown *out, size_t max_rows, const double *w,
                           const int64_t *ts_ms, size_t n_points, cpo_error *err)
{
    if (n_points == 0 || max_rows == 0)
        return 0;
    double *u = malloc(n_points * sizeof *u);
    unsigned char *live = malloc(n_points);
    if (!u || !live) {
        free(u);
        free(live);
        return nomem(err);
    }
    /* Underwater curve: W_k / max_{s <= k} W_s - 1 (exactly 0 at a new
     * maximum or back at it); NaN points are skipped. */
    double peak = NAN;
    for (size_t k = 0; k < n_points; k++) {
        live[k] = 0;
        u[k] = NAN;
        if (!isfinite(w[k]))
            continue;
        if (!(w[k] <= peak))
            peak = w[k];
        if (peak > 0.0) {
            u[k] = w[k] / peak - 1.0;
            live[k] = 1;
        }
    }
    size_t rows = 0;
    while (rows < max_rows) {
        size_t v = CPO_METRICS_NO_INDEX, p = CPO_METRICS_NO_INDEX, r = CPO_METRICS_NO_INDEX;
        double best = 0.0;
        for (size_t k = 0; k < n_points; k++)
            if (live[k] && u[k] < best) {
                best = u[k];
                v = k;
            }
        if (v == CPO_METRICS_NO_INDEX)
            break;
        /* The peak: the last point at the running maximum before the
         * trough.  Cut points all lie under water, so it is never cut. */
        for (size_t k = v; k-- > 0;)
            if (live[k] && u[k] == 0.0) {
                p = k;
                break;
            }
        for (size_t k = v + 1; k < n_points; k++)
            if (live[k] && u[k] == 0.0) {
                r = k;
                break;
            }
        if (p == CPO_METRICS_NO_INDEX) /* cannot happen: the first live point is 0 */
            p = 0;
        cpo_drawdown *d = &out[rows++];
        d->depth = best;
        d->peak = p;
        d->trough = v;
        d->recovery = r;
        d->peak_ms = time_at(ts_ms, p);
        d->trough_ms = time_at(ts_ms, v);
        d->recovery_ms = time_at(ts_ms, r);
        if (r != CPO_METRICS_NO_INDEX) {
            d->duration_bars = (double)(r - p);
            d->duration_days = d->peak_ms != CPO_TIME_NONE && d->recovery_ms != CPO_TIME_NONE
                                   ? (double)(d->recovery_ms - d->peak_ms) / (double)CPO_MS_DAY
                                   : NAN;
            for (size_t k = p + 1; k < r; k++)
                live[k] = 0;
        } else {
            d->duration_bars = NAN;
            d->duration_days = NAN;
            for (size_t k = p + 1; k < n_points; k++)
                live[k] = 0;
        }
    }
    free(u);
    free(live);
    return (long)rows;
}

/* --- the table ------------------------------------------------------------ */

static void metrics_blank(cpo_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->periods_per_year = m->rf = m->required_return = m->cutoff = NAN;
    m->start_ms = m->end_ms = CPO_TIME_NONE;
    m->cumulative_return = m->cagr = m->annual_volatility = m->sharpe = NAN;
    m->downside_risk = m->sortino = m->calmar = m->omega = m->tail_ratio = NAN;
    m->var = m->cvar = m->stability = m->hit_rate = NAN;
    m->max_drawdown = NAN;
    drawdown_none(&m->max_dd);
    m->alpha = m->beta = NAN;
    m->turnover = m->turnover_annual = NAN;
    m->leverage_mean = m->leverage_max = m->net_leverage_mean = NAN;
    m->gross_exposure_mean = m->gross_exposure_max = NAN;
    m->net_exposure_mean = m->net_exposure_min = m->net_exposure_max = NAN;
    m->fees_paid = m->funding_paid = m->slippage_paid = NAN;
    m->hit_rate_round_trips = NAN;
}

/*
 * The distribution metrics of x[0..nv), the finite returns.  y is scratch
 * of nv doubles, t of nv doubles.
 */
static int distribution(cpo_metrics *m, const double *x, const double *xe, size_t nv, double *y,
                        double *t, cpo_error *err)
{
    double A = m->periods_per_year;
    if (nv == 0)
        return 0;

    /* Hit rate: #(r > 0) / #(r != 0). */
    size_t up = 0, nz = 0;
    for (size_t k = 0; k < nv; k++) {
        up += x[k] > 0.0;
        nz += x[k] != 0.0;
    }
    m->hit_rate = nz ? (double)up / (double)nz : NAN;

    /* Downside risk over all nv returns, minimum acceptable return rf. */
    double ss = 0.0;
    for (size_t k = 0; k < nv; k++) {
        double d = fmin(xe[k], 0.0);
        ss += d * d;
    }
    m->downside_risk = sqrt(ss / (double)nv) * sqrt(A);

    /* Percentiles: VaR, CVaR, tail ratio (sorted copy). */
    memcpy(y, x, nv * sizeof *y);
    gsl_sort(y, 1, nv);
    double p95 = gsl_stats_quantile_from_sorted_data(y, 1, nv, 0.95);
    double p5 = gsl_stats_quantile_from_sorted_data(y, 1, nv, 0.05);
    m->tail_ratio = p5 != 0.0 ? fabs(p95) / fabs(p5) : NAN;
    m->var = gsl_stats_quantile_from_sorted_data(y, 1, nv, m->cutoff);
    size_t kc = (size_t)floor((double)(nv - 1) * m->cutoff);
    m->cvar = gsl_stats_mean(y, 1, kc + 1);

    if (nv < 2)
        return 0;

    /* Volatility, Sharpe, Sortino. */
    m->annual_volatility = gsl_stats_sd(x, 1, nv) * sqrt(A);
    for (size_t k = 0; k < nv; k++)
        y[k] = xe[k];
    double mean = gsl_stats_mean(y, 1, nv);
    double sd = gsl_stats_sd_m(y, 1, nv, mean);
    m->sharpe = sd > 0.0 ? mean / sd * sqrt(A) : NAN;
    m->sortino = m->downside_risk > 0.0 ? mean * A / m->downside_risk : NAN;

    /* Omega. */
    if (m->required_return > -1.0) {
        double tau = A == 1.0 ? m->required_return : pow(1.0 + m->required_return, 1.0 / A) - 1.0;
        double num = 0.0, den = 0.0;
        for (size_t k = 0; k < nv; k++) {
            double d = xe[k] - tau;
            if (d > 0.0)
                num += d;
            else if (d < 0.0)
                den -= d;
        }
        m->omega = den > 0.0 ? num / den : NAN;
    }

    /* Stability: R^2 of cumsum(log1p r) on t. */
    double cum = 0.0;
    int finite = 1;
    for (size_t k = 0; k < nv; k++) {
        cum += log1p(x[k]);
        y[k] = cum;
        t[k] = (double)k;
        finite &= isfinite(cum) != 0;
    }
    if (finite) {
        double c0, c1, cov00, cov01, cov11, sumsq;
        int rc = gsl_fit_linear(t, 1, y, 1, nv, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        if (rc != GSL_SUCCESS)
            return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "stability: OLS fit failed: %s",
                                 gsl_strerror(rc));
        double tss = gsl_stats_tss(y, 1, nv);
        if (tss > 0.0 && isfinite(sumsq))
            m->stability = 1.0 - sumsq / tss;
    }
    return 0;
}

/* Alpha and beta on the jointly finite pairs (a, b are scratch of n). */
static void benchmark(cpo_metrics *m, const double *r, const double *bench, const double *rfs,
                      size_t n, double *a, double *b)
{
    size_t np = 0;
    for (size_t k = 0; k < n; k++)
        if (isfinite(r[k]) && isfinite(bench[k])) {
            double rf = rfs ? (isfinite(rfs[k]) ? rfs[k] : 0.0) : m->rf;
            a[np] = r[k] - rf;
            b[np] = bench[k] - rf;
            np++;
        }
    m->has_benchmark = 1;
    m->n_pairs = np;
    if (np < 2)
        return;
    /* cov / var with population moments; the ratio is the same with the
     * sample moments GSL gives. */
    double var_b = gsl_stats_variance(b, 1, np);
    if (!(var_b * (double)(np - 1) / (double)np >= 1e-30))
        return;
    m->beta = gsl_stats_covariance(a, 1, b, 1, np) / var_b;
    double s = 0.0;
    for (size_t k = 0; k < np; k++)
        a[k] -= m->beta * b[k];
    s = gsl_stats_mean(a, 1, np);
    m->alpha = pow(1.0 + s, m->periods_per_year) - 1.0;
}

int cpo_metrics_compute(cpo_metrics *m, const cpo_metrics_input *in, const cpo_metrics_opts *opts,
                        cpo_error *err)
{
    cpo_metrics_opts def;
    if (!opts) {
        cpo_metrics_opts_init(&def);
        opts = &def;
    }
    metrics_blank(m);
    if (!in || (in->n > 0 && !in->returns && !in->equity))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "metrics: no series (expected returns or an equity curve)");
    if (!(opts->periods_per_year > 0.0) || !isfinite(opts->periods_per_year))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "metrics: periods per year %g is not valid (expected a number > 0, "
                             "e.g. 365 for daily bars)",
                             opts->periods_per_year);
    if (!(opts->cutoff > 0.0 && opts->cutoff < 1.0))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "metrics: VaR cutoff %g is not valid (expected 0 < cutoff < 1)",
                             opts->cutoff);
    if (!isfinite(opts->rf) || !isfinite(opts->required_return))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "metrics: the risk-free and required returns must be finite");
    if (in->equity && !(isfinite(in->equity[0]) && in->equity[0] > 0.0))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "metrics: the equity curve starts at %g (expected a value > 0)",
                             in->equity[0]);
    size_t n = in->n;
    m->n_periods = n;
    m->periods_per_year = opts->periods_per_year;
    m->rf = opts->rf;
    m->required_return = opts->required_return;
    m->cutoff = opts->cutoff;
    if (in->ts_ms) {
        m->start_ms = in->ts_ms[0];
        m->end_ms = in->ts_ms[n];
    }
    size_t top = opts->top_drawdowns < CPO_METRICS_MAX_DRAWDOWNS ? opts->top_drawdowns
                                                                 : CPO_METRICS_MAX_DRAWDOWNS;
    int rc = 0;
    /* r[n] own returns, w[n + 1] wealth, x[n] finite returns, xe[n] their
     * excess over rf, y[n], t[n] scratch */
    double *buf = malloc((6 * n + 1) * sizeof *buf);
    if (!buf)
        return nomem(err);
    double *r = buf, *w = r + n, *x = w + n + 1, *y = x + n, *t = y + n, *xe = t + n;
    const double *ret = in->returns;
    if (!ret) {
        cpo_metrics_returns(r, in->equity, n + 1);
        ret = r;
    }
    /* The wealth path: the equity itself (drawdowns are scale-free, and the
     * ratios are then those of the equity values), or 1 grown by the returns. */
    if (in->equity)
        memcpy(w, in->equity, (n + 1) * sizeof *w);
    else
        cpo_metrics_wealth(w, ret, n, 1.0);

    size_t nv = 0;
    const double *rfs = opts->rf_series;
    double rf_sum = 0.0;
    for (size_t k = 0; k < n; k++) {
        double rk = rfs ? (isfinite(rfs[k]) ? rfs[k] : 0.0) : m->rf;
        rf_sum += rk;
        if (isfinite(ret[k])) {
            xe[nv] = ret[k] - rk;
            x[nv++] = ret[k];
        }
    }
    if (rfs)
        m->rf = n ? rf_sum / (double)n : 0.0;
    m->n_valid = nv;

    if (n > 0) {
        double last = w[0];
        for (size_t k = n + 1; k-- > 0;)
            if (isfinite(w[k])) {
                last = w[k];
                break;
            }
        double growth = last / w[0];
        m->cumulative_return = growth - 1.0;
        m->cagr = growth > 0.0 ? pow(growth, m->periods_per_year / (double)n) - 1.0 : -1.0;

        cpo_drawdown dd[CPO_METRICS_MAX_DRAWDOWNS];
        long rows = cpo_metrics_drawdowns(dd, top ? top : 1, w, in->ts_ms, n + 1, err);
        if (rows < 0) {
            rc = (int)rows;
            goto cleanup;
        }
        m->max_drawdown = 0.0;
        if (rows > 0) {
            m->max_dd = dd[0];
            m->max_drawdown = dd[0].depth;
        }
        m->n_drawdowns = (size_t)rows < top ? (size_t)rows : top;
        memcpy(m->drawdowns, dd, m->n_drawdowns * sizeof *dd);
        if (m->max_drawdown < 0.0) {
            double c = m->cagr / fabs(m->max_drawdown);
            m->calmar = isfinite(c) ? c : NAN;
        }
    }
    if ((rc = distribution(m, x, xe, nv, y, t, err)))
        goto cleanup;
    if (in->bench)
        benchmark(m, ret, in->bench, rfs, n, y, t);
cleanup:
    free(buf);
    return rc;
}

/* --- a backtest result ----------------------------------------------------- */

int cpo_trip_fill(cpo_trip *s, double qty, double px, double fee, double cs, int inv,
                  int64_t ts_ms, cpo_trip_done *done)
{
    double dq = qty;
    fee = isfinite(fee) ? fee : 0.0;
    if (dq == 0.0 || !isfinite(dq) || !(px > 0.0))
        return 0;
    double term = inv ? 1.0 / px : px, adq = fabs(dq);
    if (s->q == 0.0) {
        s->q = dq;
        s->avg = term;
        s->pnl = -fee;
        s->qmax = adq;
        s->open_ms = ts_ms;
        return 0;
    }
    double aq = fabs(s->q), sg = s->q > 0.0 ? 1.0 : -1.0;
    if ((dq > 0.0) == (s->q > 0.0)) {
        s->avg = (aq * s->avg + adq * term) / (aq + adq);
        s->q += dq;
        s->pnl -= fee;
        s->qmax = fmax(s->qmax, fabs(s->q));
        return 0;
    }
    double tol = 1e-9 * fmax(s->qmax, adq);
    double closed = fmin(adq, aq), share = closed / adq;
    s->pnl += inv ? sg * closed * cs * (s->avg - term) : sg * closed * cs * (px - s->avg);
    s->pnl -= fee * share;
    double rest_q = aq - closed, rest_dq = adq - closed;
    if (rest_q > tol) {
        s->q = sg * rest_q;
        return 0;
    }
    done->pnl = s->pnl;
    done->open_ms = s->open_ms;
    done->close_ms = ts_ms;
    s->q = 0.0;
    s->pnl = 0.0;
    s->qmax = 0.0;
    if (rest_dq > tol) {
        s->q = -sg * rest_dq;
        s->avg = term;
        s->pnl = -fee * (1.0 - share);
        s->qmax = rest_dq;
        s->open_ms = ts_ms;
    }
    return 1;
}

static int result_only(cpo_metrics *m, const cpo_result *r, cpo_error *err)
{
    size_t n = r->n_steps;
    m->has_result = 1;
    /* Exposure. */
    double sl = 0.0, sn = 0.0, sg = 0.0, sx = 0.0;
    size_t nl = 0, nn = 0, ng = 0, nx = 0;
    for (size_t t = 0; t < n; t++) {
        double g = r->gross[t], x = r->net[t], e = r->equity[t];
        if (isfinite(g)) {
            sl += g;
            nl++;
            if (!(g <= m->leverage_max))
                m->leverage_max = g;
            if (isfinite(e)) {
                double v = g * e;
                sg += v;
                ng++;
                if (!(v <= m->gross_exposure_max))
                    m->gross_exposure_max = v;
            }
        }
        if (isfinite(x)) {
            sn += x;
            nn++;
            if (isfinite(e)) {
                double v = x * e;
                sx += v;
                nx++;
                if (!(v <= m->net_exposure_max))
                    m->net_exposure_max = v;
                if (!(v >= m->net_exposure_min))
                    m->net_exposure_min = v;
            }
        }
    }
    m->leverage_mean = nl ? sl / (double)nl : NAN;
    m->net_leverage_mean = nn ? sn / (double)nn : NAN;
    m->gross_exposure_mean = ng ? sg / (double)ng : NAN;
    m->net_exposure_mean = nx ? sx / (double)nx : NAN;

    /* Costs. */
    double fees = 0.0, funding = 0.0, slip = 0.0;
    for (size_t t = 0; t < n; t++) {
        fees += r->pnl[CPO_PNL_FEES][t];
        funding += r->pnl[CPO_PNL_FUNDING][t];
        slip += r->pnl[CPO_PNL_SLIPPAGE][t];
    }
    m->fees_paid = -fees;
    m->funding_paid = -funding;
    m->slippage_paid = -slip;

    /* Turnover and round trips. */
    double *traded = calloc(n ? n : 1, sizeof *traded);
    cpo_trip *st = calloc(r->n_instr ? r->n_instr : 1, sizeof *st);
    if (!traded || !st) {
        free(traded);
        free(st);
        return nomem(err);
    }
    for (size_t k = 0; k < r->n_trades; k++) {
        const cpo_trade *tr = &r->trades[k];
        if (tr->instr >= r->n_instr)
            continue;
        const cpo_instrument *in = &r->instr[tr->instr];
        double cs = in->contract_size > 0.0 ? in->contract_size : 1.0;
        int inv = in->settle == CPO_SETTLE_INVERSE;
        double v = inv ? fabs(tr->qty) * cs : fabs(tr->qty) * cs * tr->px;
        if (tr->step < n && isfinite(v))
            traded[tr->step] += v;
        cpo_trip_done done;
        if (cpo_trip_fill(&st[tr->instr], tr->qty, tr->px, tr->fee, cs, inv, tr->ts, &done)) {
            m->round_trips++;
            m->round_trips_won += done.pnl > 0.0;
        }
    }
    /* Options trade at their delta-adjusted notional, |qty delta| index
     * (settlements and forced closes are not trading). */
    for (size_t k = 0; k < r->n_opt_trades; k++) {
        const cpo_option_trade *tr = &r->opt_trades[k];
        double v = fabs(tr->qty * tr->delta) * tr->index;
        if (!tr->settlement && !tr->liquidation && tr->step < n && isfinite(v))
            traded[tr->step] += v;
    }
    double sum = 0.0;
    size_t cnt = 0;
    for (size_t t = 0; t < n; t++) {
        double prev = t ? r->gross[t - 1] * r->equity[t - 1] : 0.0;
        double den = 0.5 * (prev + r->gross[t] * r->equity[t]);
        if (den > 0.0) {
            sum += traded[t] / den;
            cnt++;
        } else if (traded[t] == 0.0) {
            cnt++;
        }
    }
    m->turnover = cnt ? sum / (double)cnt : NAN;
    m->turnover_annual = m->turnover * m->periods_per_year;
    m->hit_rate_round_trips =
        m->round_trips ? (double)m->round_trips_won / (double)m->round_trips : NAN;
    free(traded);
    free(st);
    return 0;
}

int cpo_metrics_from_result(cpo_metrics *m, const cpo_result *r, int64_t bar_ms,
                            const cpo_metrics_opts *opts, cpo_error *err)
{
    cpo_metrics_opts o;
    if (opts)
        o = *opts;
    else
        cpo_metrics_opts_init(&o);
    if (!(o.periods_per_year > 0.0))
        o.periods_per_year = cpo_metrics_periods_per_year(bar_ms);
    if (!(bar_ms > 0)) {
        metrics_blank(m);
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "metrics: bar length %lld ms is not valid (expected > 0)",
                             (long long)bar_ms);
    }
    size_t n = r->n_steps;
    double *eq = malloc((n + 1) * sizeof *eq);
    int64_t *ts = malloc((n + 1) * sizeof *ts);
    int rc = 0;
    if (!eq || !ts) {
        metrics_blank(m);
        rc = nomem(err);
        goto cleanup;
    }
    eq[0] = r->capital;
    if (n) {
        memcpy(eq + 1, r->equity, n * sizeof *eq);
        memcpy(ts + 1, r->ts, n * sizeof *ts);
        ts[0] = r->ts[0] - bar_ms;
    }
    cpo_metrics_input in = {.n = n, .equity = eq, .ts_ms = n ? ts : NULL, .bench = o.bench};
    if ((rc = cpo_metrics_compute(m, &in, &o, err)))
        goto cleanup;
    rc = result_only(m, r, err);
cleanup:
    free(eq);
    free(ts);
    return rc;
}

/* --- JSON ----------------------------------------------------------------- */

static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x == 0.0 ? 0.0 : x) : json_null();
}

static json_t *jtime(int64_t t)
{
    char b[40];
    if (t == CPO_TIME_NONE)
        return json_null();
    cpo_time_format(t, b, sizeof b);
    return json_string(b);
}

/* A wealth point: its time, or its index when the series has no times. */
static json_t *jpoint(size_t k, int64_t t)
{
    if (k == CPO_METRICS_NO_INDEX)
        return json_null();
    if (t == CPO_TIME_NONE)
        return json_integer((json_int_t)k);
    return jtime(t);
}

static json_t *drawdown_json(const cpo_drawdown *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "depth", jnum(d->depth));
    json_object_set_new(o, "peak", jpoint(d->peak, d->peak_ms));
    json_object_set_new(o, "trough", jpoint(d->trough, d->trough_ms));
    json_object_set_new(o, "recovery", jpoint(d->recovery, d->recovery_ms));
    json_object_set_new(o, "duration_bars", jnum(d->duration_bars));
    json_object_set_new(o, "duration_days", jnum(d->duration_days));
    return o;
}

struct json_t *cpo_metrics_json(const cpo_metrics *m)
{
    json_t *o = json_object(), *dds = json_array();
    if (!o || !dds) {
        json_decref(o);
        json_decref(dds);
        return NULL;
    }
    json_object_set_new(o, "periods", json_integer((json_int_t)m->n_periods));
    json_object_set_new(o, "valid_periods", json_integer((json_int_t)m->n_valid));
    json_object_set_new(o, "periods_per_year", jnum(m->periods_per_year));
    json_object_set_new(o, "risk_free", jnum(m->rf));
    json_object_set_new(o, "required_return", jnum(m->required_return));
    json_object_set_new(o, "var_cutoff", jnum(m->cutoff));
    json_object_set_new(o, "start", jtime(m->start_ms));
    json_object_set_new(o, "end", jtime(m->end_ms));
    json_object_set_new(o, "cumulative_return", jnum(m->cumulative_return));
    json_object_set_new(o, "cagr", jnum(m->cagr));
    json_object_set_new(o, "annual_volatility", jnum(m->annual_volatility));
    json_object_set_new(o, "sharpe", jnum(m->sharpe));
    json_object_set_new(o, "downside_risk", jnum(m->downside_risk));
    json_object_set_new(o, "sortino", jnum(m->sortino));
    json_object_set_new(o, "calmar", jnum(m->calmar));
    json_object_set_new(o, "omega", jnum(m->omega));
    json_object_set_new(o, "tail_ratio", jnum(m->tail_ratio));
    json_object_set_new(o, "var", jnum(m->var));
    json_object_set_new(o, "cvar", jnum(m->cvar));
    json_object_set_new(o, "stability", jnum(m->stability));
    json_object_set_new(o, "hit_rate", jnum(m->hit_rate));
    json_object_set_new(o, "max_drawdown", jnum(m->max_drawdown));
    json_object_set_new(o, "max_drawdown_peak", jpoint(m->max_dd.peak, m->max_dd.peak_ms));
    json_object_set_new(o, "max_drawdown_trough", jpoint(m->max_dd.trough, m->max_dd.trough_ms));
    json_object_set_new(o, "max_drawdown_recovery",
                        jpoint(m->max_dd.recovery, m->max_dd.recovery_ms));
    json_object_set_new(o, "max_drawdown_duration_bars", jnum(m->max_dd.duration_bars));
    json_object_set_new(o, "max_drawdown_duration_days", jnum(m->max_dd.duration_days));
    for (size_t k = 0; k < m->n_drawdowns; k++)
        json_array_append_new(dds, drawdown_json(&m->drawdowns[k]));
    json_object_set_new(o, "drawdowns", dds);
    if (m->has_benchmark) {
        json_object_set_new(o, "alpha", jnum(m->alpha));
        json_object_set_new(o, "beta", jnum(m->beta));
        json_object_set_new(o, "benchmark_pairs", json_integer((json_int_t)m->n_pairs));
    }
    if (m->has_result) {
        json_object_set_new(o, "turnover", jnum(m->turnover));
        json_object_set_new(o, "turnover_annual", jnum(m->turnover_annual));
        json_object_set_new(o, "leverage_mean", jnum(m->leverage_mean));
        json_object_set_new(o, "leverage_max", jnum(m->leverage_max));
        json_object_set_new(o, "net_leverage_mean", jnum(m->net_leverage_mean));
        json_object_set_new(o, "gross_exposure_mean", jnum(m->gross_exposure_mean));
        json_object_set_new(o, "gross_exposure_max", jnum(m->gross_exposure_max));
        json_object_set_new(o, "net_exposure_mean", jnum(m->net_exposure_mean));
        json_object_set_new(o, "net_exposure_min", jnum(m->net_exposure_min));
        json_object_set_new(o, "net_exposure_max", jnum(m->net_exposure_max));
        json_object_set_new(o, "fees_paid", jnum(m->fees_paid));
        json_object_set_new(o, "funding_paid", jnum(m->funding_paid));
        json_object_set_new(o, "slippage_paid", jnum(m->slippage_paid));
        json_object_set_new(o, "round_trips", json_integer((json_int_t)m->round_trips));
        json_object_set_new(o, "round_trips_won", json_integer((json_int_t)m->round_trips_won));
        json_object_set_new(o, "hit_rate_round_trips", jnum(m->hit_rate_round_trips));
    }
    return o;
}

/* --- text ----------------------------------------------------------------- */

/* A percentage: 2 decimals, 4 under 1 % so that small numbers still show. */
static const char *fpct(char *b, size_t n, double x)
{
    double p = 100.0 * x;
    if (isfinite(p))
        snprintf(b, n, p != 0.0 && fabs(p) < 0.995 ? "%.4f %%" : "%.2f %%", p);
    else
        snprintf(b, n, "n/a");
    return b;
}

static const char *fnum(char *b, size_t n, double x, int prec)
{
    if (isfinite(x))
        snprintf(b, n, "%.*f", prec, x);
    else
        snprintf(b, n, "n/a");
    return b;
}

/* A wealth point: a date (dates = 1) or the full time; "none" when it
 * does not exist, "#k" for a series without times. */
static const char *fpoint(char *b, size_t n, size_t k, int64_t t, int dates)
{
    if (k == CPO_METRICS_NO_INDEX)
        snprintf(b, n, "none");
    else if (t == CPO_TIME_NONE)
        snprintf(b, n, "#%zu", k);
    else if (dates)
        cpo_time_format_date(t, b, n);
    else
        cpo_time_format(t, b, n);
    return b;
}

static int at_midnight(int64_t t)
{
    return t == CPO_TIME_NONE || t % CPO_MS_DAY == 0;
}

/* 1 if every time the table shows is a whole day: print dates only. */
static int all_dates(const cpo_metrics *m)
{
    int d = at_midnight(m->start_ms) && at_midnight(m->end_ms);
    for (size_t k = 0; k < m->n_drawdowns; k++)
        d = d && at_midnight(m->drawdowns[k].peak_ms) && at_midnight(m->drawdowns[k].trough_ms) &&
            at_midnight(m->drawdowns[k].recovery_ms);
    return d && at_midnight(m->max_dd.peak_ms) && at_midnight(m->max_dd.trough_ms) &&
           at_midnight(m->max_dd.recovery_ms);
}

#define ROW(name, ...)                                 \
    do {                                               \
        fprintf(out, "  %-28s ", name);                \
        fprintf(out, __VA_ARGS__);                     \
        fputc('\n', out);                              \
    } while (0)

void cpo_metrics_print(const cpo_metrics *m, FILE *out)
{
    char a[64], b[64], c[64];
    int dates = all_dates(m);
    ROW("periods", "%zu (%zu valid; %s a year)", m->n_periods, m->n_valid,
        fnum(a, sizeof a, m->periods_per_year, 2));
    ROW("start .. end", "%s .. %s", fpoint(a, sizeof a, 0, m->start_ms, dates),
        fpoint(b, sizeof b, m->n_periods, m->end_ms, dates));
    ROW("risk_free", "%s per period", fpct(a, sizeof a, m->rf));
    ROW("cumulative_return", "%s", fpct(a, sizeof a, m->cumulative_return));
    ROW("cagr", "%s", fpct(a, sizeof a, m->cagr));
    ROW("annual_volatility", "%s", fpct(a, sizeof a, m->annual_volatility));
    ROW("sharpe", "%s", fnum(a, sizeof a, m->sharpe, 3));
    ROW("sortino", "%s", fnum(a, sizeof a, m->sortino, 3));
    ROW("downside_risk", "%s", fpct(a, sizeof a, m->downside_risk));
    ROW("calmar", "%s", fnum(a, sizeof a, m->calmar, 3));
    ROW("omega", "%s (required return %s a year)", fnum(a, sizeof a, m->omega, 3),
        fpct(b, sizeof b, m->required_return));
    ROW("tail_ratio", "%s", fnum(a, sizeof a, m->tail_ratio, 3));
    ROW("var", "%s (historical, cutoff %s)", fpct(a, sizeof a, m->var),
        fpct(b, sizeof b, m->cutoff));
    ROW("cvar", "%s", fpct(a, sizeof a, m->cvar));
    ROW("stability", "%s", fnum(a, sizeof a, m->stability, 3));
    ROW("hit_rate", "%s of non-zero periods", fpct(a, sizeof a, m->hit_rate));
    ROW("max_drawdown", "%s", fpct(a, sizeof a, m->max_drawdown));
    if (m->max_dd.trough != CPO_METRICS_NO_INDEX) {
        const cpo_drawdown *d = &m->max_dd;
        ROW("max_drawdown_peak", "%s", fpoint(a, sizeof a, d->peak, d->peak_ms, dates));
        ROW("max_drawdown_trough", "%s", fpoint(a, sizeof a, d->trough, d->trough_ms, dates));
        if (m->max_dd.recovery != CPO_METRICS_NO_INDEX)
            ROW("max_drawdown_recovery", "%s (%s bars, %s days)",
                fpoint(a, sizeof a, m->max_dd.recovery, m->max_dd.recovery_ms, dates),
                fnum(b, sizeof b, m->max_dd.duration_bars, 0),
                fnum(c, sizeof c, m->max_dd.duration_days, 2));
        else
            ROW("max_drawdown_recovery", "not recovered");
    }
    if (m->has_benchmark) {
        ROW("alpha", "%s a year", fpct(a, sizeof a, m->alpha));
        ROW("beta", "%s (%zu pairs)", fnum(a, sizeof a, m->beta, 3), m->n_pairs);
    }
    if (m->has_result) {
        ROW("turnover", "%s per period (%s a year)", fpct(a, sizeof a, m->turnover),
            fpct(b, sizeof b, m->turnover_annual));
        ROW("leverage", "mean %s, max %s", fnum(a, sizeof a, m->leverage_mean, 3),
            fnum(b, sizeof b, m->leverage_max, 3));
        ROW("net_leverage_mean", "%s", fnum(a, sizeof a, m->net_leverage_mean, 3));
        ROW("gross_exposure", "mean %s, max %s", fnum(a, sizeof a, m->gross_exposure_mean, 2),
            fnum(b, sizeof b, m->gross_exposure_max, 2));
        ROW("net_exposure", "mean %s, min %s, max %s", fnum(a, sizeof a, m->net_exposure_mean, 2),
            fnum(b, sizeof b, m->net_exposure_min, 2), fnum(c, sizeof c, m->net_exposure_max, 2));
        ROW("fees_paid", "%s", fnum(a, sizeof a, m->fees_paid, 2));
        ROW("funding_paid", "%s", fnum(a, sizeof a, m->funding_paid, 2));
        ROW("slippage_paid", "%s", fnum(a, sizeof a, m->slippage_paid, 2));
        ROW("round_trips", "%zu, %zu profitable (%s)", m->round_trips, m->round_trips_won,
            fpct(a, sizeof a, m->hit_rate_round_trips));
    }
    if (m->n_drawdowns) {
        fprintf(out, "  drawdowns\n");
        fprintf(out, "    %2s  %9s  %-20s  %-20s  %-20s  %7s  %9s\n", "#", "depth", "peak", "trough",
                "recovery", "bars", "days");
        for (size_t k = 0; k < m->n_drawdowns; k++) {
            const cpo_drawdown *d = &m->drawdowns[k];
            char p[40], t[40], r[40], bars[24], days[24];
            fprintf(out, "    %2zu  %9s  %-20s  %-20s  %-20s  %7s  %9s\n", k + 1,
                    fpct(a, sizeof a, d->depth), fpoint(p, sizeof p, d->peak, d->peak_ms, dates),
                    fpoint(t, sizeof t, d->trough, d->trough_ms, dates),
                    fpoint(r, sizeof r, d->recovery, d->recovery_ms, dates),
                    fnum(bars, sizeof bars, d->duration_bars, 0),
                    fnum(days, sizeof days, d->duration_days, 2));
        }
    }
}

/* --- CSV series ------------------------------------------------------------ */

typedef struct csv_ctx {
    const char *path;
    const cpo_metrics_csv_opts *o;
    cpo_metrics_csv *c;
    cpo_error *err;
    int header_done;
    int col_ts, col_v, col_b;
    char ts_name[64];
    size_t need;   /* fields a row must have */
    size_t cap;
    long *lines;   /* line of each row */
    /* A run's ledger.csv (ts,equity,<the P&L lines>,...): the columns of
     * the P&L lines, and their sum on the first row. */
    int ledger;
    int col_pnl[CPO_PNL_COUNT];
    int col_rf;    /* the run's risk-free return of each step, or -1 */
    double pnl0;
} csv_ctx;

static const char *const time_names[] = {"ts", "date", "time", "timestamp", "datetime"};
static const char *const equity_names[] = {"equity", "value", "nav", "close"};
static const char *const return_names[] = {"return", "returns", "value"};

/* The header text of a field, trimmed, truncated to fit. */
static void field_name(char *dst, size_t n, const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* A field as shown in a message: at most 40 bytes. */
static const char *shown(const char *s, size_t n, char *b, size_t bn)
{
    size_t k = n < 40 ? n : 40;
    if (k >= bn)
        k = bn - 1;
    memcpy(b, s, k);
    b[k] = '\0';
    return b;
}

static int find_any(const cpo_csv_row *hdr, const char *const *names, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int i = cpo_csv_find(hdr, names[k]);
        if (i >= 0)
            return i;
    }
    return -1;
}

static int csv_header(csv_ctx *x, const cpo_csv_row *row)
{
    const cpo_metrics_csv_opts *o = x->o;
    if (o->time_column) {
        x->col_ts = cpo_csv_find(row, o->time_column);
        if (x->col_ts < 0)
            return cpo_error_set(x->err, CPO_EFORMAT, x->path, row->line, 0,
                                 "missing column \"%s\" (expected the --time-column named in the "
                                 "header)",
                                 o->time_column);
    } else {
        x->col_ts = find_any(row, time_names, sizeof time_names / sizeof *time_names);
        if (x->col_ts < 0)
            return cpo_error_set(x->err, CPO_EFORMAT, x->path, row->line, 0,
                                 "no time column (expected one named ts, date, time, timestamp or "
                                 "datetime, or --time-column NAME)");
    }
    if (o->value_column) {
        x->col_v = cpo_csv_find(row, o->value_column);
        if (x->col_v < 0)
            return cpo_error_set(x->err, CPO_EFORMAT, x->path, row->line, 0,
                                 "missing column \"%s\" (expected the --column named in the header)",
                                 o->value_column);
    } else if (o->returns) {
        x->col_v = find_any(row, return_names, sizeof return_names / sizeof *return_names);
        if (x->col_v < 0)
            return cpo_error_set(x->err, CPO_EFORMAT, x->path, row->line, 0,
                                 "no returns column (expected one named return, returns or value, "
                                 "or --column NAME)");
    } else {
        x->col_v = find_any(row, equity_names, sizeof equity_names / sizeof *equity_names);
        if (x->col_v < 0)
            return cpo_error_set(x->err, CPO_EFORMAT, x->path, row->line, 0,
                                 "no value column (expected one named equity, value, nav or close, "
                                 "or --column NAME; --returns for returns)");
    }
    x->col_b = -1;
    if (o->bench_column) {
        x->col_b = cpo_csv_find(row, o->bench_column);
        if (x->col_b < 0)
            return cpo_error_set(x->err, CPO_EFORMAT, x->path, row->line, 0,
                                 "missing column \"%s\" (expected the --benchmark-column named in "
                                 "the header)",
                                 o->bench_column);
    }
    field_name(x->ts_name, sizeof x->ts_name, row->f[x->col_ts], row->len[x->col_ts]);
    field_name(x->c->value_name, sizeof x->c->value_name, row->f[x->col_v], row->len[x->col_v]);
    if (x->col_b >= 0)
        field_name(x->c->bench_name, sizeof x->c->bench_name, row->f[x->col_b], row->len[x->col_b]);
    int mx = x->col_ts > x->col_v ? x->col_ts : x->col_v;
    if (x->col_b > mx)
        mx = x->col_b;
    /* A run's ledger: "ts,equity" first and every P&L line of cpo/backtest.h
     * a run always shows (the financing line only when it had one). */
    x->ledger = !o->returns && x->col_b < 0 && x->col_ts == 0 && x->col_v == 1 && row->n > 2 &&
                !strcmp(x->ts_name, "ts") && !strcmp(x->c->value_name, "equity");
    for (int l = 0; l < CPO_PNL_COUNT && x->ledger; l++) {
        x->col_pnl[l] = cpo_csv_find(row, cpo_pnl_name((cpo_pnl_line)l));
        if (x->col_pnl[l] < 0 && cpo_pnl_shown(NULL, (cpo_pnl_line)l))
            x->ledger = 0;
        else if (x->col_pnl[l] > mx)
            mx = x->col_pnl[l];
    }
    x->col_rf = x->ledger ? cpo_csv_find(row, "rf") : -1;
    if (x->col_rf > mx)
        mx = x->col_rf;
    x->need = (size_t)mx + 1;
    return 0;
}

/*
 * The capital of a run ledger, the wealth before its first row: the
 * summary.json beside it says it ("capital", when its period starts at
 * the ledger's first row), else the first row less its P&L lines (which
 * add up to the change in equity).  *from says which.
 */
static double ledger_capital(const csv_ctx *x, const char **from)
{
    const cpo_metrics_csv *c = x->c;
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s", x->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        dir[0] = '\0';
    snprintf(path, sizeof path, "%ssummary.json", dir);
    json_t *s = json_load_file(path, 0, NULL);
    const json_t *cap = json_object_get(s, "capital");
    const char *first = json_string_value(json_object_get(json_object_get(s, "period"), "first_bar"));
    int64_t t;
    double v = NAN;
    if (json_is_number(cap) && first && cpo_time_parse(first, strlen(first), &t, NULL, NULL) == 0 &&
        t == c->ts_ms[0])
        v = json_number_value(cap);
    json_decref(s);
    if (isfinite(v) && v > 0.0) {
        *from = "summary.json";
        return v;
    }
    *from = "the first row less its P&L lines";
    return c->value[0] - x->pnl0;
}

/* A time: an integer (ms, or s for 10 digits) or ISO 8601. */
static int csv_time(csv_ctx *x, const cpo_csv_row *row, int64_t *out)
{
    const char *s = row->f[x->col_ts];
    size_t n = row->len[x->col_ts];
    long col = x->col_ts + 1;
    char b[48];
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, col,
                             "%s is empty (expected a time)", x->ts_name);
    int digits = 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            digits = 0;
    if (digits && n != 8) {
        int64_t v;
        if (cpo_parse_i64(s, n, &v) == 0) {
            if (v < INT64_C(100000000000))
                v *= 1000; /* ten digits: seconds */
            if (v >= INT64_C(631152000000) && v <= INT64_C(4102444800000)) {
                *out = v;
                return 0;
            }
        }
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, col,
                             "%s \"%s\" is out of range (expected a time between 1990 and 2100)",
                             x->ts_name, shown(s, n, b, sizeof b));
    }
    if (cpo_time_parse(s, n, out, NULL, NULL) != 0)
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, col,
                             "%s \"%s\" is not a time (expected an ISO 8601 date or date-time, or ms "
                             "since 1970)",
                             x->ts_name, shown(s, n, b, sizeof b));
    return 0;
}

static int csv_number(csv_ctx *x, const cpo_csv_row *row, int col, const char *name, int blank_ok,
                      double *out)
{
    const char *s = row->f[col];
    size_t n = row->len[col];
    char b[48];
    if (cpo_field_blank(s, n)) {
        if (blank_ok) {
            *out = NAN;
            return 0;
        }
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, col + 1,
                             "%s is empty (expected a number)", name);
    }
    if (cpo_parse_f64(s, n, out) != 0)
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, col + 1,
                             "%s \"%s\" is not a number (expected a decimal number)", name,
                             shown(s, n, b, sizeof b));
    if (!x->o->returns && !(*out > 0.0))
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, col + 1,
                             "%s \"%s\" is not positive (expected a value above 0; --returns if the "
                             "column holds returns)",
                             name, shown(s, n, b, sizeof b));
    return 0;
}

static const char *ftime(char *b, size_t n, int64_t t)
{
    if (t % CPO_MS_DAY == 0)
        cpo_time_format_date(t, b, n);
    else
        cpo_time_format(t, b, n);
    return b;
}

static int csv_row(void *ctx, const cpo_csv_row *row)
{
    csv_ctx *x = ctx;
    cpo_metrics_csv *c = x->c;
    if (!x->header_done) {
        x->header_done = 1;
        return csv_header(x, row);
    }
    if (row->n < x->need)
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, (long)row->n,
                             "row has %zu field%s (expected at least %zu, as in the header)", row->n,
                             row->n == 1 ? "" : "s", x->need);
    if (c->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 256;
        int64_t *t = realloc(c->ts_ms, nc * sizeof *t);
        if (t)
            c->ts_ms = t;
        double *v = realloc(c->value, nc * sizeof *v);
        if (v)
            c->value = v;
        long *l = realloc(x->lines, nc * sizeof *l);
        if (l)
            x->lines = l;
        double *bb = NULL, *rr = NULL;
        if (x->col_b >= 0) {
            bb = realloc(c->bench, nc * sizeof *bb);
            if (bb)
                c->bench = bb;
        }
        if (x->col_rf >= 0) {
            rr = realloc(c->rf, nc * sizeof *rr);
            if (rr)
                c->rf = rr;
        }
        if (!t || !v || !l || (x->col_b >= 0 && !bb) || (x->col_rf >= 0 && !rr))
            return cpo_error_set(x->err, CPO_ENOMEM, x->path, row->line, 0, "out of memory");
        x->cap = nc;
    }
    int64_t ts;
    int rc = csv_time(x, row, &ts);
    if (rc)
        return rc;
    if (c->n > 0) {
        int64_t prev = c->ts_ms[c->n - 1];
        char a[48], b[48];
        if (ts == prev)
            return cpo_error_set(x->err, CPO_EDUP, x->path, row->line, x->col_ts + 1,
                                 "duplicate %s %s (first at line %ld; expected one row per time)",
                                 x->ts_name, ftime(a, sizeof a, ts), x->lines[c->n - 1]);
        if (ts < prev)
            return cpo_error_set(x->err, CPO_EORDER, x->path, row->line, x->col_ts + 1,
                                 "%s %s is earlier than the previous row's %s (expected increasing "
                                 "times)",
                                 x->ts_name, ftime(a, sizeof a, ts), ftime(b, sizeof b, prev));
    }
    double v, bv = NAN;
    if ((rc = csv_number(x, row, x->col_v, c->value_name, 0, &v)))
        return rc;
    if (x->col_b >= 0 && (rc = csv_number(x, row, x->col_b, c->bench_name, 1, &bv)))
        return rc;
    if (x->col_rf >= 0) {
        /* a return: any finite number, blank = missing (0) */
        const char *s = row->f[x->col_rf];
        size_t len = row->len[x->col_rf];
        c->rf[c->n] = NAN;
        if (!cpo_field_blank(s, len) && (cpo_parse_f64(s, len, &c->rf[c->n]) ||
                                         !isfinite(c->rf[c->n])))
            return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, x->col_rf + 1,
                                 "rf \"%.40s\" is not a number (expected a return per period)",
                                 s);
    }
    c->ts_ms[c->n] = ts;
    c->value[c->n] = v;
    if (x->col_b >= 0)
        c->bench[c->n] = bv;
    x->lines[c->n] = row->line;
    if (x->ledger && c->n == 0) {
        x->pnl0 = 0.0;
        for (int l = 0; l < CPO_PNL_COUNT && x->ledger; l++) {
            double p;
            if (x->col_pnl[l] < 0)
                continue; /* a line the run did not have */
            if (cpo_parse_f64(row->f[x->col_pnl[l]], row->len[x->col_pnl[l]], &p) || !isfinite(p))
                x->ledger = 0; /* not a ledger we know: read as a plain series */
            else
                x->pnl0 += p;
        }
    }
    c->n++;
    return 0;
}

void cpo_metrics_csv_free(cpo_metrics_csv *c)
{
    if (!c)
        return;
    free(c->ts_ms);
    free(c->value);
    free(c->bench);
    free(c->rf);
    free(c);
}

int cpo_metrics_csv_read(cpo_metrics_csv **out, const char *path, const cpo_metrics_csv_opts *opts,
                         cpo_error *err)
{
    cpo_metrics_csv_opts def;
    if (!opts) {
        memset(&def, 0, sizeof def);
        opts = &def;
    }
    *out = NULL;
    csv_ctx x;
    memset(&x, 0, sizeof x);
    x.path = path;
    x.o = opts;
    x.err = err;
    x.c = calloc(1, sizeof *x.c);
    if (!x.c)
        return nomem(err);
    x.c->returns = opts->returns != 0;
    int rc = cpo_csv_read(path, csv_row, &x, err);
    if (rc)
        goto fail;
    if (!x.header_done) {
        rc = cpo_error_set(err, CPO_EFORMAT, path, 0, 0,
                           "empty file (expected a header and at least 2 rows)");
        goto fail;
    }
    if (x.c->n < 2) {
        rc = cpo_error_set(err, CPO_EDATA, path, 0, 0, "%s (expected at least 2)",
                           x.c->n ? "only 1 data row" : "no data rows");
        goto fail;
    }
    x.c->spacing_ms = cpo_metrics_median_spacing(x.c->ts_ms, x.c->n, err);
    if (x.c->spacing_ms <= 0) {
        rc = err && err->code ? err->code : CPO_ENOMEM;
        goto fail;
    }
    if (x.ledger) {
        /* A run's ledger has no row for the capital: put it first, at the
         * open of the bar before the first, as the run's summary does. */
        const char *from = NULL;
        double cap = ledger_capital(&x, &from);
        if (isfinite(cap) && cap > 0.0) {
            if (x.c->n == x.cap) {
                int64_t *t = realloc(x.c->ts_ms, (x.cap + 1) * sizeof *t);
                if (t)
                    x.c->ts_ms = t;
                double *v = realloc(x.c->value, (x.cap + 1) * sizeof *v);
                if (v)
                    x.c->value = v;
                if (!t || !v) {
                    rc = nomem(err);
                    goto fail;
                }
                x.cap++;
            }
            memmove(x.c->ts_ms + 1, x.c->ts_ms, x.c->n * sizeof *x.c->ts_ms);
            memmove(x.c->value + 1, x.c->value, x.c->n * sizeof *x.c->value);
            x.c->ts_ms[0] = x.c->ts_ms[1] - x.c->spacing_ms;
            x.c->value[0] = cap;
            x.c->n++;
            x.c->run_ledger = 1;
            x.c->capital_from = from;
        }
    }
    if (!x.c->run_ledger) {
        free(x.c->rf);
        x.c->rf = NULL;
    }
    free(x.lines);
    *out = x.c;
    return 0;
fail:
    free(x.lines);
    cpo_metrics_csv_free(x.c);
    return rc;
}

int cpo_metrics_csv_compute(cpo_metrics *m, const cpo_metrics_csv *c, const cpo_metrics_opts *opts,
                            cpo_error *err)
{
    cpo_metrics_opts o;
    if (opts)
        o = *opts;
    else
        cpo_metrics_opts_init(&o);
    if (!(o.periods_per_year > 0.0))
        o.periods_per_year = cpo_metrics_periods_per_year(c->spacing_ms);
    /* A run's own risk-free series (its ledger's rf column), unless the
     * caller gives one. */
    if (c->rf && c->run_ledger && !o.rf_series && o.rf == 0.0)
        o.rf_series = c->rf;
    size_t n = c->returns ? c->n : c->n - 1;
    int64_t *ts = malloc((n + 1) * sizeof *ts);
    double *b = c->bench ? malloc((n ? n : 1) * sizeof *b) : NULL;
    int rc = 0;
    if (!ts || (c->bench && !b)) {
        metrics_blank(m);
        rc = nomem(err);
        goto cleanup;
    }
    cpo_metrics_input in = {.n = n, .ts_ms = ts};
    if (c->returns) {
        ts[0] = c->ts_ms[0] - c->spacing_ms;
        memcpy(ts + 1, c->ts_ms, n * sizeof *ts);
        in.returns = c->value;
        if (b) {
            memcpy(b, c->bench, n * sizeof *b);
            in.bench = b;
        }
    } else {
        memcpy(ts, c->ts_ms, (n + 1) * sizeof *ts);
        in.equity = c->value;
        if (b) {
            cpo_metrics_returns(b, c->bench, n + 1);
            in.bench = b;
        }
    }
    rc = cpo_metrics_compute(m, &in, &o, err);
cleanup:
    free(ts);
    free(b);
    return rc;
}
