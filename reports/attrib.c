/*
 * attrib.c - attribution of a run by asset, with Euler risk
 * contributions (METHODS §4c), and the collector that feeds it and the
 * factor attribution (attrib_factor.c).  See cpo/attrib.h.
 *
 * By asset.  Let E_t be the equity after step t (E_-1 = the capital) and
 * R_t = E_t / E_{t-1} - 1.  A ledger row books instrument i's P&L of
 * step t by line (price, funding, fees, slippage, liquidation); its
 * contribution is pnl / E_{t-1}.  The book's revaluation and residual
 * lines are parts of their own, so the parts of a step add up to R_t (the
 * engine's lines add up to the change in equity).  Linked with Carino:
 * linked_j = sum_t (k_t / k) c_j,t adds up to R = E_T / E_-1 - 1.
 *
 * Risk.  Ex ante at the last rebalance: w_i = exposure_i / equity at the
 * close of the step of the last fill, S the sample covariance of the
 * held instruments' bar returns (mark, else close) over the cov_window
 * bars up to that close; sigma_p = sqrt(w'Sw), MCR_i = (Sw)_i / sigma_p,
 * CCR_i = w_i MCR_i, sum CCR = sigma_p (cpo_alloc_cov_sample,
 * cpo_alloc_risk_contrib).  Ex post over the run: CCR_j = cov(c_j, r_p) /
 * sigma_p with c_j,t the contribution of instrument j (its lines summed)
 * and r_p,t = sum_j c_j,t; sum CCR = var(r_p) / sigma_p = sigma_p.
 */
#include "attrib_impl.h"

#include <errno.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/alloc.h"
#include "cpo/time.h"

#define MIB ((size_t)1 << 20)

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

/*
 * A result with options gets parts of its own for the option positions:
 * their options line, and the fees and slippage the instrument rows do not
 * hold (option trading and delivery fees, booked on the book's lines).  A
 * result whose options line is all 0 and that has no Greek explain has
 * none, so that the files of runs without options do not change.
 */
static int result_has_opt(const cpo_result *r)
{
    if (r->greek[CPO_GREEK_DELTA] || r->n_opt_rows || r->n_opt_trades)
        return 1;
    for (size_t t = 0; r->pnl[CPO_PNL_OPTIONS] && t < r->n_steps; t++)
        if (r->pnl[CPO_PNL_OPTIONS][t] != 0.0)
            return 1;
    return 0;
}

#define AT_OPT_PARTS 3 /* options, fees, slippage */

/* The book's own parts: revaluation, residual, and financing when the run
 * has it. */
static size_t at_nbk(const cpo_attrib *a)
{
    return 2 + (size_t)a->has_fin;
}

/* The computed assets table has the option parts. */
static int at_has_opt(const cpo_attrib *a)
{
    return a->assets.n_parts == a->n_instr * AT_LINES + at_nbk(a) + AT_OPT_PARTS;
}

void cpo_attrib_opts_init(cpo_attrib_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rf_annual = 0.0;
    o->period_ms = CPO_MS_WEEK;
    o->roll_window = 52;
    o->roll_min = 13;
    o->mom_periods = 3;
    o->min_coins = 3;
    o->min_cap_usd = 1e6;
    o->cov_window = 90;
    snprintf(o->proxy, sizeof o->proxy, "BTC");
    o->max_bytes = 256 * MIB;
    o->factor_universe = CPO_FACTOR_UNIVERSE_STORE;
}

const char *cpo_attrib_file_name(cpo_attrib_file f)
{
    static const char *const names[CPO_ATTRIB_FILE_COUNT] = {
        "attribution_asset.csv", "attribution_asset_series.csv", "attribution_risk.csv",
        "attribution_factor.csv", "attribution_factor_rolling.csv", "attribution_greek.csv"};
    return (unsigned)f < CPO_ATTRIB_FILE_COUNT ? names[f] : NULL;
}

/* --- the collector ------------------------------------------------------------ */

int cpo_attrib_new(cpo_attrib **out, const cpo_market *m, const cpo_dataset *ds,
                   const cpo_attrib_opts *opts, cpo_error *err)
{
    *out = NULL;
    cpo_attrib *a = calloc(1, sizeof *a);
    if (!a)
        return nomem(err);
    int rc = 0;
    if (opts)
        a->opts = *opts;
    else
        cpo_attrib_opts_init(&a->opts);
    a->proxy_coin = -1;
    if (a->opts.period_ms <= 0 || a->opts.roll_window == 0 || a->opts.mom_periods == 0) {
        rc = cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                           "attribution: period %lld ms, rolling window %zu, momentum %zu periods "
                           "(expected positive values)",
                           (long long)a->opts.period_ms, a->opts.roll_window,
                           a->opts.mom_periods);
        goto fail;
    }
    size_t n = m->n_instr, T = m->n_steps;
    a->n_instr = n;
    a->n_steps = T;
    a->step_ms = m->step_ms;
    a->ts = malloc((T ? T : 1) * sizeof *a->ts);
    size_t cells = n * T;
    a->px = malloc((cells > 0 ? cells : 1) * sizeof *a->px);
    a->instr = malloc((n ? n : 1) * sizeof *a->instr);
    if (!a->ts || !a->px || !a->instr) {
        rc = nomem(err);
        goto fail;
    }
    if (T)
        memcpy(a->ts, m->ts, T * sizeof *a->ts);
    if (n)
        memcpy(a->instr, m->instr, n * sizeof *a->instr);
    for (size_t i = 0; i < n; i++) {
        const double *mk = cpo_market_col(m, CPO_F_MARK, i);
        const double *cl = cpo_market_col(m, CPO_F_CLOSE, i);
        for (size_t t = 0; t < T; t++)
            a->px[i * T + t] = mk && isfinite(mk[t]) ? mk[t] : cl[t];
    }
    /* Worst case of the row store and the per-step series. */
    double worst = (double)T * (double)n * (double)sizeof(at_row) +
                   (double)T * (double)(n + 4) * (double)sizeof(double);
    if (worst > (double)a->opts.max_bytes) {
        a->too_big = 1;
        snprintf(a->big_note, sizeof a->big_note,
                 "not attributed: %zu steps x %zu instruments need up to %.0f MiB "
                 "(the limit is %.0f MiB)",
                 T, n, worst / (double)MIB, (double)a->opts.max_bytes / (double)MIB);
    }
    if (ds) {
        if ((rc = at_factor_inputs(a, ds, err)))
            goto fail;
    } else {
        snprintf(a->in_note, sizeof a->in_note, "no dataset was given: no factors");
    }
    *out = a;
    return 0;
fail:
    cpo_attrib_free(a);
    return rc;
}

int cpo_attrib_new_from_store(cpo_attrib **out, const cpo_market *m, const char *path,
                              const cpo_attrib_opts *opts, cpo_error *err)
{
    cpo_dataset *ds = NULL;
    *out = NULL;
    int rc = cpo_store_read(&ds, path, err);
    if (!rc)
        rc = cpo_attrib_new(out, m, ds, opts, err);
    cpo_dataset_free(ds);
    return rc;
}

static void assets_free(cpo_attrib_assets *x)
{
    free(x->parts);
    memset(x, 0, sizeof *x);
}

static void risk_free(cpo_attrib_risk *x)
{
    free(x->ante);
    free(x->post);
    memset(x, 0, sizeof *x);
}

static void results_free(cpo_attrib *a)
{
    assets_free(&a->assets);
    risk_free(&a->risk);
    at_factor_free(&a->factors);
    free(a->ser_c);
    free(a->ser_r);
    free(a->ser_ts);
    free(a->w_period);
    a->ser_c = a->ser_r = a->w_period = NULL;
    a->ser_ts = NULL;
    a->ser_steps = 0;
    a->computed = 0;
}

void cpo_attrib_free(cpo_attrib *a)
{
    if (!a)
        return;
    results_free(a);
    at_factor_inputs_free(a);
    free(a->ts);
    free(a->px);
    free(a->instr);
    free(a->rows);
    free(a);
}

void cpo_attrib_chain(cpo_attrib *a, cpo_ledger_sink next, void *next_ctx)
{
    a->next = next;
    a->next_ctx = next_ctx;
}

int cpo_attrib_sink(void *ctx, const cpo_ledger_row *rows, size_t n, cpo_error *err)
{
    cpo_attrib *a = ctx;
    if (!a->too_big && n) {
        if (a->n_rows + n > a->cap_rows) {
            size_t nc = a->cap_rows ? a->cap_rows : 1024;
            while (nc < a->n_rows + n)
                nc *= 2;
            at_row *p = realloc(a->rows, nc * sizeof *p);
            if (!p)
                return nomem(err);
            a->rows = p;
            a->cap_rows = nc;
        }
        for (size_t k = 0; k < n; k++) {
            const cpo_ledger_row *s = &rows[k];
            at_row *d = &a->rows[a->n_rows];
            if (a->n_rows && s->step < a->rows[a->n_rows - 1].step)
                a->disorder = 1;
            d->step = (uint32_t)s->step;
            d->instr = s->instr;
            d->exposure = s->exposure;
            for (int l = 0; l < AT_LINES; l++)
                d->pnl[l] = s->pnl[l];
            a->n_rows++;
        }
    }
    return a->next ? a->next(a->next_ctx, rows, n, err) : 0;
}

/* --- compute -------------------------------------------------------------------- */

/* Market step of r->ts[0], checking that r lies on this market's grid. */
static int locate(const cpo_attrib *a, const cpo_result *r, size_t *t0, cpo_error *err)
{
    static const char *bad = "attribution: the run's result is not of the market the attribution "
                             "was made for (expected the same instruments and time grid)";
    if (r->n_instr != a->n_instr || r->n_steps == 0 || r->n_steps > a->n_steps)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0, "%s", bad);
    for (size_t i = 0; i < a->n_instr; i++)
        if (strcmp(r->instr[i].symbol, a->instr[i].symbol))
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0, "%s", bad);
    size_t lo = cpo_ts_count_before(a->ts, a->n_steps, r->ts[0]);
    if (lo + r->n_steps > a->n_steps)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0, "%s", bad);
    for (size_t t = 0; t < r->n_steps; t++)
        if (a->ts[lo + t] != r->ts[t])
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0, "%s", bad);
    *t0 = lo;
    return 0;
}

/* Row index of the last rebalance (last fill that is not a liquidation),
 * or -1. */
static long last_rebalance(const cpo_result *r, size_t t0)
{
    long best = -1;
    for (size_t k = 0; k < r->n_trades; k++) {
        const cpo_trade *tr = &r->trades[k];
        if (tr->liquidation || tr->step < t0 || tr->step >= t0 + r->n_steps)
            continue;
        if ((long)(tr->step - t0) > best)
            best = (long)(tr->step - t0);
    }
    return best;
}

/* Ex ante at the last rebalance: w (n) are the weights at row tf. */
static int risk_ante(cpo_attrib *a, size_t t0, long tf, const double *w, cpo_error *err)
{
    cpo_attrib_risk *k = &a->risk;
    size_t n = a->n_instr, T = a->n_steps;
    if (tf < 0) {
        snprintf(k->ante_note, sizeof k->ante_note, "no rebalance in the run (no fill)");
        return 0;
    }
    size_t step = t0 + (size_t)tf;
    k->ante_ts = a->ts[step];
    size_t nh = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] != 0.0 && isfinite(w[i]))
            nh++;
    if (nh == 0) {
        snprintf(k->ante_note, sizeof k->ante_note,
                 "nothing held after the last rebalance");
        return 0;
    }
    size_t W = a->opts.cov_window;
    size_t first = step + 1 > W ? step + 1 - W : 1; /* return rows first..step */
    if (first < 1)
        first = 1;
    size_t rows_max = step >= first ? step - first + 1 : 0;
    size_t *idx = malloc(nh * sizeof *idx);
    double *x = malloc((rows_max ? rows_max : 1) * nh * sizeof *x);
    double *cov = malloc(nh * nh * sizeof *cov);
    double *wv = malloc(nh * sizeof *wv);
    double *ccr = malloc(nh * sizeof *ccr);
    int rc = 0;
    if (!idx || !x || !cov || !wv || !ccr) {
        rc = nomem(err);
        goto cleanup;
    }
    nh = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] != 0.0 && isfinite(w[i])) {
            idx[nh] = i;
            wv[nh] = w[i];
            nh++;
        }
    size_t rows = 0;
    for (size_t s = first; s <= step && s < T; s++) {
        int ok = 1;
        for (size_t h = 0; h < nh && ok; h++) {
            double p0 = a->px[idx[h] * T + s - 1], p1 = a->px[idx[h] * T + s];
            double v = p1 / p0 - 1.0;
            ok = p0 > 0.0 && isfinite(v);
            x[rows * nh + h] = v;
        }
        if (ok)
            rows++;
    }
    k->ante_rows = rows;
    if (rows < 2) {
        snprintf(k->ante_note, sizeof k->ante_note,
                 "%zu bar(s) of returns of the held instruments up to the last rebalance "
                 "(expected at least 2: a warmup in [backtest] gives history before the start)",
                 rows);
        goto cleanup;
    }
    cpo_error e2;
    if (cpo_alloc_cov_sample(cov, x, rows, nh, 1, NULL, &e2) ||
        cpo_alloc_risk_contrib(ccr, &k->ante_sigma, wv, cov, nh, &e2)) {
        if (e2.code == CPO_ENOMEM) {
            rc = nomem(err);
            goto cleanup;
        }
        snprintf(k->ante_note, sizeof k->ante_note, "%.250s", e2.msg);
        goto cleanup;
    }
    k->ante = calloc(nh, sizeof *k->ante);
    if (!k->ante) {
        rc = nomem(err);
        goto cleanup;
    }
    k->n_ante = nh;
    k->ante_sum = 0.0;
    for (size_t h = 0; h < nh; h++) {
        cpo_attrib_risk_row *q = &k->ante[h];
        q->instr = (long)idx[h];
        q->weight = wv[h];
        q->contribution = ccr[h];
        q->marginal = ccr[h] / wv[h];
        k->ante_sum += ccr[h];
    }
    k->ante_ok = 1;
cleanup:
    free(idx);
    free(x);
    free(cov);
    free(wv);
    free(ccr);
    return rc;
}

/* Ex post from the per-step contributions (ser_c). */
static int risk_post(cpo_attrib *a, const double *wmean, cpo_error *err)
{
    cpo_attrib_risk *k = &a->risk;
    size_t T = a->ser_steps, n = a->n_instr, J = n + at_nbk(a) + (size_t)at_has_opt(a);
    if (T < 2) {
        snprintf(k->post_note, sizeof k->post_note, "%zu steps (expected at least 2)", T);
        return 0;
    }
    double *rp = malloc(T * sizeof *rp);
    if (!rp)
        return nomem(err);
    int finite = 1;
    for (size_t t = 0; t < T; t++) {
        double s = 0.0;
        for (size_t j = 0; j < J; j++)
            s += a->ser_c[t * J + j];
        rp[t] = s;
        finite &= isfinite(s);
    }
    if (!finite) {
        snprintf(k->post_note, sizeof k->post_note,
                 "a step return is not finite (equity at or below zero)");
        free(rp);
        return 0;
    }
    double sd = gsl_stats_sd(rp, 1, T);
    if (!(sd > 0.0)) {
        snprintf(k->post_note, sizeof k->post_note, "the step returns do not vary");
        free(rp);
        return 0;
    }
    k->post = calloc(J, sizeof *k->post);
    if (!k->post) {
        free(rp);
        return nomem(err);
    }
    k->n_post = J;
    k->post_sigma = sd;
    k->post_sum = 0.0;
    for (size_t j = 0; j < J; j++) {
        cpo_attrib_risk_row *q = &k->post[j];
        q->instr = j < n               ? (long)j
                   : j == n            ? -1
                   : j == n + 1        ? -2
                   : j == n + 2 && a->has_fin ? CPO_ATTRIB_INSTR_FINANCING
                                              : CPO_ATTRIB_INSTR_OPTIONS;
        q->weight = j < n ? wmean[j] : NAN;
        q->marginal = NAN;
        q->contribution = gsl_stats_covariance(a->ser_c + j, J, rp, 1, T) / sd;
        k->post_sum += q->contribution;
    }
    k->post_ok = 1;
    free(rp);
    return 0;
}

int cpo_attrib_compute(cpo_attrib *a, const cpo_result *r, cpo_error *err)
{
    size_t t0 = 0, *starts = NULL, np = 0;
    double *lacc = NULL, *expo = NULL, *wsum = NULL, *wante = NULL;
    int rc;
    results_free(a);
    if ((rc = locate(a, r, &t0, err)))
        return rc;
    size_t T = r->n_steps, n = a->n_instr;
    int has_opt = result_has_opt(r);
    a->has_fin = r->has_financing != 0;
    size_t nbk = at_nbk(a);
    size_t J = n + nbk + (size_t)has_opt;
    cpo_attrib_assets *as = &a->assets;
    cpo_attrib_risk *rk = &a->risk;
    rk->periods_per_year = a->step_ms > 0 ? (double)(365 * CPO_MS_DAY) / (double)a->step_ms : NAN;
    as->n_steps = T;
    as->total_return = r->equity[T - 1] / r->capital - 1.0;
    as->total_pnl = r->equity[T - 1] - r->capital;
    if (a->too_big) {
        snprintf(rk->ante_note, sizeof rk->ante_note, "%s", a->big_note);
        snprintf(rk->post_note, sizeof rk->post_note, "%s", a->big_note);
        snprintf(a->factors.note, sizeof a->factors.note, "%s", a->big_note);
        a->computed = 1;
        return 0;
    }
    if (a->disorder)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "attribution: ledger rows came out of step order (expected the "
                             "rows of one run, as the engine makes them)");
    if ((rc = at_factor_periods(a, r, &starts, &np, err)))
        goto cleanup;
    as->n_parts = n * AT_LINES + nbk + (has_opt ? AT_OPT_PARTS : 0);
    as->parts = calloc(as->n_parts, sizeof *as->parts);
    lacc = calloc(as->n_parts, sizeof *lacc);
    expo = calloc(n ? n : 1, sizeof *expo);
    wsum = calloc(n ? n : 1, sizeof *wsum);
    wante = calloc(n ? n : 1, sizeof *wante);
    a->ser_c = calloc(T * J, sizeof *a->ser_c);
    a->ser_r = malloc(T * sizeof *a->ser_r);
    a->ser_ts = malloc(T * sizeof *a->ser_ts);
    a->w_period = calloc((np ? np : 1) * (n ? n : 1), sizeof *a->w_period);
    if (!as->parts || !lacc || !expo || !wsum || !wante || !a->ser_c || !a->ser_r || !a->ser_ts ||
        !a->w_period) {
        rc = nomem(err);
        goto cleanup;
    }
    a->ser_steps = T;
    for (size_t i = 0; i < n; i++)
        for (int l = 0; l < AT_LINES; l++) {
            as->parts[i * AT_LINES + l].instr = (long)i;
            as->parts[i * AT_LINES + l].line = (cpo_pnl_line)l;
        }
    as->parts[n * AT_LINES].instr = -1;
    as->parts[n * AT_LINES].line = CPO_PNL_REVALUATION;
    as->parts[n * AT_LINES + 1].instr = -1;
    as->parts[n * AT_LINES + 1].line = CPO_PNL_RESIDUAL;
    if (a->has_fin) {
        as->parts[n * AT_LINES + 2].instr = -1;
        as->parts[n * AT_LINES + 2].line = CPO_PNL_FINANCING;
    }
    static const cpo_pnl_line opt_lines[AT_OPT_PARTS] = {CPO_PNL_OPTIONS, CPO_PNL_FEES,
                                                          CPO_PNL_SLIPPAGE};
    for (size_t b = 0; has_opt && b < AT_OPT_PARTS; b++) {
        as->parts[n * AT_LINES + nbk + b].instr = CPO_ATTRIB_INSTR_OPTIONS;
        as->parts[n * AT_LINES + nbk + b].line = opt_lines[b];
    }
    long tf = last_rebalance(r, t0);
    as->linked_ok = 1;
    size_t k = 0, p = 0;
    while (k < a->n_rows && a->rows[k].step < t0)
        k++;
    for (size_t t = 0; t < T; t++) {
        double e0 = t ? r->equity[t - 1] : r->capital;
        while (p < np && starts[p] == t) {
            for (size_t i = 0; i < n; i++)
                a->w_period[p * n + i] = expo[i] / e0;
            p++;
        }
        for (size_t i = 0; i < n; i++)
            wsum[i] += expo[i] / e0;
        double Rt = r->equity[t] / e0 - 1.0;
        double kt = cpo_attrib_carino_k(Rt);
        if (!isfinite(kt))
            as->linked_ok = 0;
        a->ser_r[t] = Rt;
        a->ser_ts[t] = r->ts[t];
        as->total_arith += Rt;
        memset(expo, 0, n * sizeof *expo);
        double *cs = a->ser_c + t * J;
        double rows_fees = 0.0, rows_slip = 0.0; /* the instrument rows' of this step */
        for (; k < a->n_rows && a->rows[k].step == t0 + t; k++) {
            const at_row *w = &a->rows[k];
            if (w->instr >= n)
                continue;
            for (int l = 0; l < AT_LINES; l++) {
                cpo_attrib_part *q = &as->parts[w->instr * AT_LINES + l];
                double c = w->pnl[l] / e0;
                q->arith += c;
                q->pnl += w->pnl[l];
                lacc[w->instr * AT_LINES + l] += kt * c;
                cs[w->instr] += c;
            }
            rows_fees += w->pnl[CPO_PNL_FEES];
            rows_slip += w->pnl[CPO_PNL_SLIPPAGE];
            expo[w->instr] = w->exposure;
        }
        for (size_t b = 0; b < nbk; b++) {
            cpo_pnl_line l = b == 0 ? CPO_PNL_REVALUATION : b == 1 ? CPO_PNL_RESIDUAL
                                                                 : CPO_PNL_FINANCING;
            cpo_attrib_part *q = &as->parts[n * AT_LINES + b];
            double v = r->pnl[l][t], c = v / e0;
            q->arith += c;
            q->pnl += v;
            lacc[n * AT_LINES + b] += kt * c;
            cs[n + b] += c;
        }
        if (has_opt) {
            double v[AT_OPT_PARTS] = {r->pnl[CPO_PNL_OPTIONS][t],
                                      r->pnl[CPO_PNL_FEES][t] - rows_fees,
                                      r->pnl[CPO_PNL_SLIPPAGE][t] - rows_slip};
            for (size_t b = 0; b < AT_OPT_PARTS; b++) {
                cpo_attrib_part *q = &as->parts[n * AT_LINES + nbk + b];
                double c = v[b] / e0;
                q->arith += c;
                q->pnl += v[b];
                lacc[n * AT_LINES + nbk + b] += kt * c;
                cs[n + nbk] += c;
            }
        }
        if ((long)t == tf)
            for (size_t i = 0; i < n; i++)
                wante[i] = expo[i] / r->equity[t];
    }
    double K = cpo_attrib_carino_k(as->total_return);
    if (!isfinite(K))
        as->linked_ok = 0;
    for (size_t j = 0; j < as->n_parts; j++) {
        cpo_attrib_part *q = &as->parts[j];
        q->linked = as->linked_ok ? lacc[j] / K : NAN;
        as->sum_linked += q->linked;
        as->sum_arith += q->arith;
        as->sum_pnl += q->pnl;
    }
    for (size_t i = 0; i < n; i++)
        wsum[i] /= (double)T;
    if ((rc = risk_ante(a, t0, tf, wante, err)) || (rc = risk_post(a, wsum, err)) ||
        (rc = at_factor_compute(a, r, starts, np, err)))
        goto cleanup;
    a->computed = 1;
cleanup:
    free(starts);
    free(lacc);
    free(expo);
    free(wsum);
    free(wante);
    if (rc)
        results_free(a);
    return rc;
}

const cpo_attrib_assets *cpo_attrib_get_assets(const cpo_attrib *a)
{
    return a->computed && !a->too_big ? &a->assets : NULL;
}

const cpo_attrib_risk *cpo_attrib_get_risk(const cpo_attrib *a)
{
    return a->computed ? &a->risk : NULL;
}

const cpo_attrib_factors *cpo_attrib_get_factors(const cpo_attrib *a)
{
    return a->computed ? &a->factors : NULL;
}

/* --- files ------------------------------------------------------------------------ */

static const char *instr_name(const cpo_attrib *a, long i)
{
    if (i == CPO_ATTRIB_INSTR_OPTIONS)
        return "(options)";
    return i >= 0 && (size_t)i < a->n_instr ? a->instr[i].symbol : "(book)";
}

/* The run's span as a note line. */
static void put_span(FILE *fp, const cpo_attrib *a, const cpo_result *r)
{
    char t0[40], t1[40], bar[24];
    cpo_time_format(r->ts[0], t0, sizeof t0);
    cpo_time_format(r->ts[r->n_steps - 1] + a->step_ms, t1, sizeof t1);
    cpo_duration_format(a->step_ms, bar, sizeof bar);
    fprintf(fp, "# run: %s .. %s, %zu bars of %s; capital %.17g\n", t0, t1, r->n_steps, bar,
            r->capital);
}

static void asset_row(FILE *fp, const char *kind, const char *instr, const char *line, double c,
                      double R, double arith, double pnl)
{
    fputs(kind, fp);
    fputc(',', fp);
    cpo_csv_text(fp, instr, CPO_CSV_QUOTE_HASH);
    fputc(',', fp);
    fputs(line, fp);
    cpo_csv_num(fp, c);
    cpo_csv_num(fp, R != 0.0 ? c / R : NAN);
    cpo_csv_num(fp, arith);
    cpo_csv_num(fp, pnl);
    fputc('\n', fp);
}

static void write_asset(const cpo_attrib *a, const cpo_result *r, FILE *fp)
{
    const cpo_attrib_assets *as = &a->assets;
    fputs("# attribution by asset (METHODS 4c): each instrument's P&L lines as contributions "
          "to the run's total return (simple returns)\n",
          fp);
    put_span(fp, a, r);
    fputs("# contribution: Carino-linked, sum_t (k_t/k) pnl_t / equity_{t-1}, k_t = ln(1+R_t)/R_t, "
          "k = ln(1+R)/R (1 at 0)\n"
          "# share: contribution / total return; arithmetic: sum_t pnl_t / equity_{t-1} "
          "(unlinked); pnl: reporting currency\n"
          "# (book) lines: revaluation of coin balances and the engine's residual, not of one "
          "instrument\n"
          "# rows of kind 'part' add up to the row of kind 'total'; 'residual' = total - "
          "sum_of_parts\n",
          fp);
    if (at_has_opt(a))
        fputs("# (options) lines: the option positions marked to market (options), and the "
              "fees and slippage of the book's lines that no instrument row holds (option "
              "trading and delivery fees, option fills)\n",
              fp);
    if (a->too_big)
        fprintf(fp, "# %s\n", a->big_note);
    else if (a->n_rows == 0 && r->n_trades > 0)
        fputs("# no per-instrument ledger rows were received (the run needs detail = instrument "
              "and cpo_attrib_sink): the instrument lines are 0 and the residual row holds the "
              "return\n",
              fp);
    if (!a->too_big && !as->linked_ok)
        fputs("# the equity fell to zero or below in some step: contributions cannot be linked "
              "(nan); see arithmetic\n",
              fp);
    fputs("kind,instrument,line,contribution,share,arithmetic,pnl\n", fp);
    double R = as->total_return;
    for (size_t j = 0; j < as->n_parts; j++) {
        const cpo_attrib_part *q = &as->parts[j];
        asset_row(fp, "part", instr_name(a, q->instr), cpo_pnl_name(q->line), q->linked, R,
                  q->arith, q->pnl);
    }
    double tot = as->linked_ok ? R : NAN;
    double sum = a->too_big ? NAN : as->sum_linked;
    double sa = a->too_big ? NAN : as->sum_arith, sp = a->too_big ? NAN : as->sum_pnl;
    double ta = a->too_big ? NAN : as->total_arith;
    asset_row(fp, "total", "(all)", "total_return", tot, R, ta, as->total_pnl);
    asset_row(fp, "sum_of_parts", "(all)", "sum_of_parts", sum, R, sa, sp);
    asset_row(fp, "residual", "(all)", "residual", tot - sum, R, ta - sa, as->total_pnl - sp);
}

/* Cumulative linked contributions at the end of each step, at most
 * SERIES_MAX rows (every k-th step and the last). */
#define SERIES_MAX 5000

/* The series' rows worked out (write_series), for cpo_csv_put_rows: row k
 * is ts[k] and val[k * (J + 1) ..] (the total return, then each column). */
#define SERIES_MEM ((size_t)256 << 20)

typedef struct series_rows {
    const cpo_attrib *a;
    size_t J;
    int64_t *ts;
    double *val;
} series_rows;

static void series_put(void *ctx, FILE *fp, size_t a, size_t b)
{
    const series_rows *sr = ctx;
    char when[40];
    for (size_t k = a; k < b; k++) {
        const double *v = sr->val + k * (sr->J + 1);
        cpo_time_format(sr->ts[k], when, sizeof when);
        fputs(when, fp);
        for (size_t j = 0; j <= sr->J; j++)
            cpo_csv_num(fp, v[j]);
        fputc('\n', fp);
    }
}

static int write_series(const cpo_attrib *a, const cpo_result *r, FILE *fp, cpo_error *err)
{
    size_t n = a->n_instr, J = n + at_nbk(a) + (size_t)at_has_opt(a), T = a->ser_steps;
    double *acc = calloc(J, sizeof *acc);
    if (!acc)
        return nomem(err);
    size_t stride = T > SERIES_MAX ? (T + SERIES_MAX - 1) / SERIES_MAX : 1;
    fputs("# cumulative attribution by asset: the Carino-linked contribution of each instrument "
          "(all its lines) to the return from the start of the run to the end of each step\n",
          fp);
    put_span(fp, a, r);
    fprintf(fp, "# one row every %zu step(s) and the last step; ts is the bar open; the columns "
                "after total_return add up to it\n",
            stride);
    if (a->too_big)
        fprintf(fp, "# %s\n", a->big_note);
    fputs("ts,total_return", fp);
    for (size_t i = 0; i < n; i++) {
        fputc(',', fp);
        cpo_csv_text(fp, a->instr[i].symbol, CPO_CSV_QUOTE_HASH);
    }
    fputs(",revaluation,residual", fp);
    if (a->has_fin)
        fputs(",financing", fp);
    fputs(at_has_opt(a) ? ",options\n" : "\n", fp);
    /* The rows' numbers first (running sums, in step order), then their
     * text on the cores (cpo_csv_put_rows), in batches of at most
     * SERIES_MEM bytes of numbers: the bytes of one row at a time. */
    size_t cap = SERIES_MEM / ((J + 1) * sizeof(double));
    cap = cap < 1 ? 1 : cap > SERIES_MAX + 1 ? SERIES_MAX + 1 : cap;
    series_rows sr = {a, J, malloc(cap * sizeof *sr.ts), malloc(cap * (J + 1) * sizeof *sr.val)};
    if (!sr.ts || !sr.val) {
        free(sr.ts);
        free(sr.val);
        free(acc);
        return nomem(err);
    }
    size_t piece = J + 1 < 1024 ? 65536 / (J + 1) : 64, row = 0;
    double logsum = 0.0;
    for (size_t t = 0; t < T; t++) {
        double Rt = a->ser_r[t];
        double kt = cpo_attrib_carino_k(Rt);
        for (size_t j = 0; j < J; j++)
            acc[j] += kt * a->ser_c[t * J + j];
        logsum += log1p(Rt);
        if (t % stride && t != T - 1)
            continue;
        double Rc = expm1(logsum), kc = cpo_attrib_carino_k(Rc);
        double *v = sr.val + row * (J + 1);
        sr.ts[row] = a->ser_ts[t];
        v[0] = Rc;
        for (size_t j = 0; j < J; j++)
            v[1 + j] = acc[j] / kc;
        if (++row == cap || t == T - 1) {
            cpo_csv_put_rows(fp, row, piece, series_put, &sr);
            row = 0;
        }
    }
    free(sr.val);
    free(sr.ts);
    free(acc);
    return 0;
}

static void risk_line(FILE *fp, const char *kind, const char *view, const char *instr,
                      const char *line, double w, double mcr, double ccr, double sigma, double ann)
{
    fprintf(fp, "%s,%s,", kind, view);
    cpo_csv_text(fp, instr, CPO_CSV_QUOTE_HASH);
    fprintf(fp, ",%s", line);
    cpo_csv_num(fp, w);
    cpo_csv_num(fp, mcr);
    cpo_csv_num(fp, ccr);
    cpo_csv_num(fp, sigma > 0.0 ? ccr / sigma : NAN);
    cpo_csv_num(fp, ccr * ann);
    fputc('\n', fp);
}

static void risk_block(FILE *fp, const cpo_attrib *a, const char *view, int ok,
                       const cpo_attrib_risk_row *rows, size_t nr, double sigma, double sum)
{
    double ann = sqrt(a->risk.periods_per_year);
    double wsum = 0.0;
    for (size_t h = 0; h < nr; h++) {
        const cpo_attrib_risk_row *q = &rows[h];
        const char *line = q->instr >= 0                           ? "all"
                           : q->instr == -1                        ? "revaluation"
                           : q->instr == CPO_ATTRIB_INSTR_OPTIONS   ? "options"
                           : q->instr == CPO_ATTRIB_INSTR_FINANCING ? "financing"
                                                                   : "residual";
        risk_line(fp, "part", view, instr_name(a, q->instr), line, q->weight, q->marginal,
                  q->contribution, sigma, ann);
        if (q->instr >= 0)
            wsum += q->weight;
    }
    if (!ok) {
        sigma = sum = wsum = NAN;
    }
    risk_line(fp, "total", view, "(all)", "sigma", wsum, NAN, sigma, sigma, ann);
    risk_line(fp, "sum_of_parts", view, "(all)", "sum_of_parts", wsum, NAN, sum, sigma, ann);
    risk_line(fp, "residual", view, "(all)", "residual", NAN, NAN, sigma - sum, sigma, ann);
}

static void write_risk(const cpo_attrib *a, const cpo_result *r, FILE *fp)
{
    const cpo_attrib_risk *k = &a->risk;
    char when[40];
    fputs("# risk contributions (Euler, METHODS 4c); contribution in return per bar, "
          "contribution_annual = contribution * sqrt(bars a year)\n",
          fp);
    put_span(fp, a, r);
    fprintf(fp, "# bars a year: %.17g (365-day year)\n", k->periods_per_year);
    if (k->ante_ok) {
        cpo_time_format(k->ante_ts, when, sizeof when);
        fprintf(fp, "# ex_ante: at the last rebalance (bar of %s): weight = exposure / equity at "
                    "its close; sample covariance (divisor T-1) of %zu bar returns (mark, else "
                    "close) up to that close; marginal = (S w)_i / sigma_p; contribution = w_i * "
                    "marginal\n",
                when, k->ante_rows);
    } else {
        fputs("# ex_ante: not available: ", fp);
        fputs(k->ante_note, fp);
        fputc('\n', fp);
    }
    if (k->post_ok)
        fputs("# ex_post: over the run: contribution = cov(c_j, r_p) / sigma_p, c_j the "
              "per-step contribution of instrument j (all its lines), r_p = sum_j c_j; weight = "
              "mean start-of-step weight; (book) rows are the revaluation and residual lines\n",
              fp);
    else {
        fputs("# ex_post: not available: ", fp);
        fputs(k->post_note, fp);
        fputc('\n', fp);
    }
    if (k->post_ok && at_has_opt(a))
        fputs("# ex_post: the (options) row is the option positions' lines (options line, option "
              "fees and slippage)\n",
              fp);
    fputs("# rows of kind 'part' add up to the row of kind 'total' (sigma_p); 'residual' = "
          "total - sum_of_parts\n",
          fp);
    fputs("kind,view,instrument,line,weight,marginal,contribution,share,contribution_annual\n", fp);
    risk_block(fp, a, "ex_ante", k->ante_ok, k->ante, k->n_ante, k->ante_sigma, k->ante_sum);
    risk_block(fp, a, "ex_post", k->post_ok, k->post, k->n_post, k->post_sigma, k->post_sum);
}

/* --- by Greek ---------------------------------------------------------------------- */

/* The financing column only for runs that have the line. */
static int ag_shown(const cpo_attrib_greeks *g, int l)
{
    return l != CPO_AG_FINANCING || g->has_financing;
}

const char *cpo_attrib_greek_name(cpo_attrib_greek_line l)
{
    static const char *const names[CPO_AG_COUNT] = {
        "delta",   "gamma",    "vega",        "theta",       "vanna",
        "volga",   "rho",      "unexplained", "funding",     "fees",
        "slippage", "liquidation", "revaluation", "financing", "residual"};
    return (unsigned)l < CPO_AG_COUNT ? names[l] : "?";
}

void cpo_attrib_greeks_free(cpo_attrib_greeks *g)
{
    if (!g)
        return;
    free(g->ts);
    free(g->equity);
    free(g->change);
    free(g->line);
    memset(g, 0, sizeof *g);
}

/* The engine's line l at step t (0 where the result has no such column). */
static double pnl_at(const cpo_result *r, cpo_pnl_line l, size_t t)
{
    return r->pnl[l] ? r->pnl[l][t] : 0.0;
}

int cpo_attrib_greeks_compute(cpo_attrib_greeks *g, const cpo_result *r, cpo_error *err)
{
    memset(g, 0, sizeof *g);
    size_t T = r->n_steps;
    if (T == 0 || !r->equity || !r->ts)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "attribution by Greek: the result has no steps (expected a run "
                             "of at least one step)");
    g->ts = malloc(T * sizeof *g->ts);
    g->equity = malloc(T * sizeof *g->equity);
    g->change = malloc(T * sizeof *g->change);
    g->line = calloc(T * CPO_AG_COUNT, sizeof *g->line);
    if (!g->ts || !g->equity || !g->change || !g->line) {
        cpo_attrib_greeks_free(g);
        return nomem(err);
    }
    g->n_steps = T;
    g->has_options = r->greek[CPO_GREEK_DELTA] != NULL;
    g->has_financing = r->has_financing != 0;
    /* The engine's lines that map one to one. */
    static const struct {
        cpo_attrib_greek_line ag;
        cpo_pnl_line pl;
    } same[] = {{CPO_AG_FUNDING, CPO_PNL_FUNDING},         {CPO_AG_FEES, CPO_PNL_FEES},
                {CPO_AG_SLIPPAGE, CPO_PNL_SLIPPAGE},       {CPO_AG_LIQUIDATION, CPO_PNL_LIQUIDATION},
                {CPO_AG_REVALUATION, CPO_PNL_REVALUATION},
                {CPO_AG_FINANCING, CPO_PNL_FINANCING}};
    double prev = r->capital;
    for (size_t t = 0; t < T; t++) {
        double *x = g->line + t * CPO_AG_COUNT;
        x[CPO_AG_DELTA] = pnl_at(r, CPO_PNL_PRICE, t);
        if (g->has_options) {
            /* Taylor terms: delta .. rho, and the options' unexplained term. */
            for (int k = CPO_GREEK_DELTA; k <= CPO_GREEK_UNEXPLAINED; k++)
                x[CPO_AG_DELTA + k] += r->greek[k] ? r->greek[k][t] : 0.0;
        } else {
            x[CPO_AG_UNEXPLAINED] = pnl_at(r, CPO_PNL_OPTIONS, t);
        }
        for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
            x[same[k].ag] = pnl_at(r, same[k].pl, t);
        double dE = r->equity[t] - prev, rest = 0.0;
        for (int l = 0; l < CPO_AG_COUNT; l++)
            if (l != CPO_AG_RESIDUAL)
                rest += x[l];
        x[CPO_AG_RESIDUAL] = dE - rest;
        double sum = 0.0;
        for (int l = 0; l < CPO_AG_COUNT; l++) {
            sum += x[l];
            g->total[l] += x[l];
        }
        double scale = fmax(fabs(r->equity[t]), 1.0);
        double gap = fabs(sum - dE) / scale;
        double rgap = fabs(x[CPO_AG_RESIDUAL] - pnl_at(r, CPO_PNL_RESIDUAL, t)) / scale;
        if (!(gap <= g->max_gap)) /* NaN counts */
            g->max_gap = gap;
        if (!(rgap <= g->max_residual_gap))
            g->max_residual_gap = rgap;
        g->ts[t] = r->ts[t];
        g->equity[t] = r->equity[t];
        g->change[t] = dE;
        g->total_change += dE;
        prev = r->equity[t];
    }
    return 0;
}

int cpo_attrib_greeks_write(const cpo_attrib_greeks *g, const char *path, cpo_error *err)
{
    FILE *fp = cpo_csv_create(path, err);
    if (!fp)
        return err ? err->code : CPO_EIO;
    cpo_attrib_greeks_put(g, fp);
    return cpo_csv_close(fp, path, err);
}

void cpo_attrib_greeks_put(const cpo_attrib_greeks *g, FILE *fp)
{
    fputs("# attribution by Greek (METHODS 3): the change in equity of each step split into "
          "Greek and cost lines (reporting currency); cumulative columns cum_* from the start "
          "of the run\n",
          fp);
    fputs("# delta: the price line (spot, perpetuals, futures at constant position) + the "
          "options' Taylor delta term; gamma .. rho: the options' Taylor terms (start-of-step "
          "coin Greeks); unexplained: the options line less its Taylor terms\n"
          "# funding, fees (option trading and delivery fees included), slippage, liquidation, "
          "revaluation: the engine's lines; residual: the change in equity less every line "
          "above\n"
          "# total = equity_t - equity_{t-1} (the capital before the first step) = the sum of "
          "the lines of the row\n",
          fp);
    if (!g->has_options)
        fputs("# the run holds no options: delta is the price line, gamma .. unexplained are "
              "0\n",
              fp);
    fprintf(fp, "# %zu steps; largest |sum of lines - total| / equity %.3g; largest |residual - "
                "engine residual| / equity %.3g\n",
            g->n_steps, g->max_gap, g->max_residual_gap);
    fputs("ts,equity,total", fp);
    for (int l = 0; l < CPO_AG_COUNT; l++)
        if (ag_shown(g, l))
            fprintf(fp, ",%s", cpo_attrib_greek_name((cpo_attrib_greek_line)l));
    fputs(",cum_total", fp);
    for (int l = 0; l < CPO_AG_COUNT; l++)
        if (ag_shown(g, l))
            fprintf(fp, ",cum_%s", cpo_attrib_greek_name((cpo_attrib_greek_line)l));
    fputc('\n', fp);
    double cum[CPO_AG_COUNT] = {0}, cum_total = 0.0;
    char when[40];
    for (size_t t = 0; t < g->n_steps; t++) {
        const double *x = g->line + t * CPO_AG_COUNT;
        cpo_time_format(g->ts[t], when, sizeof when);
        fputs(when, fp);
        cum_total += g->change[t];
        cpo_csv_num(fp, g->equity[t]);
        cpo_csv_num(fp, g->change[t]);
        for (int l = 0; l < CPO_AG_COUNT; l++) {
            cum[l] += x[l];
            if (ag_shown(g, l))
                cpo_csv_num(fp, x[l]);
        }
        cpo_csv_num(fp, cum_total);
        for (int l = 0; l < CPO_AG_COUNT; l++)
            if (ag_shown(g, l))
                cpo_csv_num(fp, cum[l]);
        fputc('\n', fp);
    }
}

int cpo_attrib_put(cpo_attrib *a, const cpo_result *r, FILE *const fps[CPO_ATTRIB_FILE_COUNT],
                   cpo_error *err)
{
    int rc;
    if (!a->computed && (rc = cpo_attrib_compute(a, r, err)))
        return rc;
    write_asset(a, r, fps[CPO_ATTRIB_FILE_ASSET]);
    if ((rc = write_series(a, r, fps[CPO_ATTRIB_FILE_ASSET_SERIES], err)))
        return rc;
    write_risk(a, r, fps[CPO_ATTRIB_FILE_RISK]);
    if ((rc = at_factor_write(a, r, fps[CPO_ATTRIB_FILE_FACTOR],
                              fps[CPO_ATTRIB_FILE_FACTOR_ROLLING], err)))
        return rc;
    cpo_attrib_greeks g;
    if ((rc = cpo_attrib_greeks_compute(&g, r, err)))
        return rc;
    cpo_attrib_greeks_put(&g, fps[CPO_ATTRIB_FILE_GREEK]);
    cpo_attrib_greeks_free(&g);
    return 0;
}

int cpo_attrib_write(cpo_attrib *a, const cpo_result *r,
                     const char *const paths[CPO_ATTRIB_FILE_COUNT], cpo_error *err)
{
    FILE *fps[CPO_ATTRIB_FILE_COUNT];
    int rc = cpo_csv_create_all(fps, paths, CPO_ATTRIB_FILE_COUNT, err);
    if (!rc)
        rc = cpo_csv_close_all(fps, paths, CPO_ATTRIB_FILE_COUNT, cpo_attrib_put(a, r, fps, err),
                               err);
    return rc;
}
