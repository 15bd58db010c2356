/*
 * risk.c - the risk of a run's book at one step (cpo/risk.h): the book
 * read back from the run folder, full revaluation under moves of the
 * coins, the implied vols, time, funding and the dollar stablecoin, VaR
 * and ES, filtered historical simulation, and [stress] scenarios.
 */
#define _DEFAULT_SOURCE
#include "cpo/risk.h"

#include <ctype.h>
#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/black76.h"
#include "cpo/time.h"
#include "csvread.h"

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

const char *cpo_risk_part_name(int part)
{
    static const char *const names[CPO_RISK_PARTS] = {
        "delta", "gamma", "vega", "theta", "vanna", "volga", "funding", "depeg", "residual"};
    return part >= 0 && part < CPO_RISK_PARTS ? names[part] : "?";
}

void cpo_risk_book_fini(cpo_risk_book *b)
{
    if (!b)
        return;
    free(b->lin);
    free(b->opt);
    free(b->cash);
    memset(b, 0, sizeof *b);
}

long cpo_risk_coin(const cpo_risk_book *b, const char *coin)
{
    for (size_t c = 0; c < b->n_coins; c++)
        if (!strcmp(b->coins[c], coin))
            return (long)c;
    return -1;
}

static int add_coin(cpo_risk_book *b, const char *coin, const char *path, cpo_error *err)
{
    if (cpo_risk_coin(b, coin) >= 0)
        return 0;
    if (b->n_coins == CPO_RISK_MAX_COINS)
        return cpo_error_set(err, CPO_ERANGE, path, 0, 0,
                             "the book depends on more than %d coins (expected at most %d)",
                             CPO_RISK_MAX_COINS, CPO_RISK_MAX_COINS);
    snprintf(b->coins[b->n_coins++], CPO_CCY_MAX, "%s", coin);
    return 0;
}

/* --- reading the run folder ------------------------------------------------------ */

typedef struct rd {
    cpo_risk_book *b;
    const char *path;
    const cpo_market *m;
    cpo_error *err;
    int64_t at, sel;  /* the wanted step and the one found */
    int hdr;
    int col[24];
    int pass;         /* ledger.csv: 0 find the step, 1 read it */
    size_t ncash;
    char cash_name[8][CPO_CCY_MAX];
    int px_index;
} rd;

static int field_time(rd *x, const cpo_csv_row *row, int c, int64_t *t)
{
    if (c < 0 || (size_t)c >= row->n ||
        cpo_time_parse(row->f[c], row->len[c], t, NULL, NULL))
        return cpo_error_set(x->err, CPO_EPARSE, x->path, row->line, c + 1,
                             "time \"%.*s\" is not valid (expected an ISO date-time)",
                             c >= 0 && (size_t)c < row->n ? (int)row->len[c] : 0,
                             c >= 0 && (size_t)c < row->n ? row->f[c] : "");
    return 0;
}

static int field_num(rd *x, const cpo_csv_row *row, int c, double *v)
{
    if (c < 0 || (size_t)c >= row->n)
        return cpo_error_set(x->err, CPO_EPARSE, x->path, row->line, c + 1,
                             "missing field (expected a number)");
    if (row->len[c] == 3 && !strncmp(row->f[c], "nan", 3)) {
        *v = NAN;
        return 0;
    }
    if (cpo_parse_f64(row->f[c], row->len[c], v))
        return cpo_error_set(x->err, CPO_EPARSE, x->path, row->line, c + 1,
                             "\"%.*s\" is not a number (expected a decimal number)",
                             (int)(row->len[c] > 40 ? 40 : row->len[c]), row->f[c]);
    return 0;
}

/* ledger.csv: pass 0 finds the last ts <= at; pass 1 reads equity and cash. */
static int ledger_row(void *ctx, const cpo_csv_row *row)
{
    rd *x = ctx;
    if (!x->hdr) {
        x->hdr = 1;
        static const char *const names[] = {"ts", "equity"};
        static const int req[] = {1, 1};
        int rc = cpo_csv_map(row, x->path, names, req, 2, x->col, x->err);
        if (rc)
            return rc;
        x->ncash = 0;
        for (size_t k = 0; k < row->n && x->ncash < 8; k++)
            if (row->len[k] > 5 && !strncmp(row->f[k], "cash_", 5)) {
                x->col[2 + x->ncash] = (int)k;
                snprintf(x->cash_name[x->ncash], CPO_CCY_MAX, "%s", row->f[k] + 5);
                x->ncash++;
            }
        return 0;
    }
    int64_t t;
    int rc = field_time(x, row, x->col[0], &t);
    if (rc)
        return rc;
    if (x->pass == 0) {
        if (x->at == CPO_TIME_NONE || t <= x->at)
            x->sel = t;
        return 0;
    }
    if (t != x->sel)
        return 0;
    cpo_risk_book *b = x->b;
    if ((rc = field_num(x, row, x->col[1], &b->equity)))
        return rc;
    for (size_t k = 0; k < x->ncash; k++) {
        double v;
        if ((rc = field_num(x, row, x->col[2 + k], &v)))
            return rc;
        if (v == 0.0)
            continue;
        cpo_risk_cash *c = &b->cash[b->n_cash++];
        snprintf(c->ccy, sizeof c->ccy, "%s", x->cash_name[k]);
        c->amount = v;
        c->dollar = k == 0; /* the first is the reporting currency */
        c->px = c->dollar ? 1.0 : NAN;
    }
    return 0;
}

static const char *base_of(const cpo_instrument *in)
{
    return in->base[0] ? in->base : in->underlying;
}

/* The latest funding rate of instrument i known at t, 0 if none. */
static double funding_at(const cpo_market *m, size_t i, int64_t t)
{
    const cpo_funding *f = &m->funding[i];
    size_t k = cpo_ts_count_upto(f->ts, f->n, t);
    return k ? f->rate[k - 1] : 0.0;
}

static int lin_row(void *ctx, const cpo_csv_row *row)
{
    rd *x = ctx;
    if (!x->hdr) {
        x->hdr = 1;
        static const char *const names[] = {"ts", "symbol", "qty", "px", "exposure"};
        static const int req[] = {1, 1, 1, 1, 1};
        return cpo_csv_map(row, x->path, names, req, 5, x->col, x->err);
    }
    int64_t t;
    int rc = field_time(x, row, x->col[0], &t);
    if (rc || t != x->sel)
        return rc;
    cpo_risk_book *b = x->b;
    cpo_risk_linear *l = &b->lin[b->n_lin];
    memset(l, 0, sizeof *l);
    snprintf(l->symbol, sizeof l->symbol, "%.*s", (int)row->len[x->col[1]], row->f[x->col[1]]);
    if ((rc = field_num(x, row, x->col[2], &l->qty)) || (rc = field_num(x, row, x->col[3], &l->px)) ||
        (rc = field_num(x, row, x->col[4], &l->exposure)))
        return rc;
    if (l->qty == 0.0)
        return 0;
    long i = cpo_market_find(x->m, l->symbol);
    if (i < 0)
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, x->col[1] + 1,
                             "symbol %s is not in the run's market (expected the run's config "
                             "and store)",
                             l->symbol);
    const cpo_instrument *in = &x->m->instr[i];
    snprintf(l->coin, sizeof l->coin, "%.15s", base_of(in));
    l->perp = in->kind == CPO_KIND_PERP || in->kind == CPO_KIND_FUTURE;
    l->funding = l->perp ? funding_at(x->m, (size_t)i, t) : 0.0;
    b->n_lin++;
    return add_coin(b, l->coin, x->path, x->err);
}

static int opt_row(void *ctx, const cpo_csv_row *row)
{
    rd *x = ctx;
    if (!x->hdr) {
        x->hdr = 1;
        static const char *const names[] = {"ts",   "name",  "underlying", "strike", "right",
                                            "qty",  "index", "fwd",        "vol",    "t_years",
                                            "rate", "settled"};
        static const int req[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        return cpo_csv_map(row, x->path, names, req, 12, x->col, x->err);
    }
    int64_t t;
    int rc = field_time(x, row, x->col[0], &t);
    if (rc || t != x->sel)
        return rc;
    double settled;
    if ((rc = field_num(x, row, x->col[11], &settled)) || settled != 0.0)
        return rc;
    cpo_risk_book *b = x->b;
    cpo_risk_option *o = &b->opt[b->n_opt];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%.*s", (int)row->len[x->col[1]], row->f[x->col[1]]);
    snprintf(o->coin, sizeof o->coin, "%.*s", (int)row->len[x->col[2]], row->f[x->col[2]]);
    const char *rt = row->f[x->col[4]];
    o->right = !strcmp(rt, "call") ? CPO_RIGHT_CALL : !strcmp(rt, "put") ? CPO_RIGHT_PUT : -1;
    if (o->right < 0)
        return cpo_error_set(x->err, CPO_EPARSE, x->path, row->line, x->col[4] + 1,
                             "right \"%s\" (expected call or put)", rt);
    if ((rc = field_num(x, row, x->col[3], &o->strike)) ||
        (rc = field_num(x, row, x->col[5], &o->qty)) ||
        (rc = field_num(x, row, x->col[6], &o->index)) ||
        (rc = field_num(x, row, x->col[7], &o->fwd)) ||
        (rc = field_num(x, row, x->col[8], &o->vol)) ||
        (rc = field_num(x, row, x->col[9], &o->t_years)) ||
        (rc = field_num(x, row, x->col[10], &o->rate)))
        return rc;
    if (o->qty == 0.0)
        return 0;
    if (!(o->index > 0.0) || !(o->fwd > 0.0) || !(o->vol >= 0.0) || !(o->t_years >= 0.0))
        return cpo_error_set(x->err, CPO_EDATA, x->path, row->line, 0,
                             "option %s has index %g, forward %g, vol %g, T %g (expected "
                             "positive prices, vol and T >= 0)",
                             o->name, o->index, o->fwd, o->vol, o->t_years);
    o->px_index = x->px_index;
    b->n_opt++;
    return add_coin(b, o->coin, x->path, x->err);
}

/* Rows of a file at most (for the arrays). */
static size_t count_lines(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(fp)) != EOF)
        n += c == '\n';
    fclose(fp);
    return n + 1;
}

/* The USD price of a coin at time t from the market: a spot instrument of
 * that coin quoted in dollars, else any instrument of it (its mark, else
 * close); NaN if none. */
static double coin_price(const cpo_market *m, const char *coin, int64_t t)
{
    long s = cpo_market_step_at(m, t);
    if (s < 0)
        return NAN;
    double best = NAN;
    for (size_t i = 0; i < m->n_instr; i++) {
        const cpo_instrument *in = &m->instr[i];
        if (strcmp(base_of(in), coin))
            continue;
        const double *mc = cpo_market_col(m, CPO_F_MARK, i);
        double mk = mc ? mc[s] : NAN, cl = cpo_market_col(m, CPO_F_CLOSE, i)[s];
        double v = isfinite(mk) ? mk : cl;
        if (isfinite(v) && (in->kind == CPO_KIND_SPOT || !isfinite(best)))
            best = v;
    }
    return best;
}

int cpo_risk_book_load(cpo_risk_book *b, const char *run_dir, int64_t at_ms,
                       const cpo_market *m, int coin_px_index, cpo_error *err)
{
    memset(b, 0, sizeof *b);
    char path[1200];
    rd x;
    memset(&x, 0, sizeof x);
    x.b = b;
    x.m = m;
    x.err = err;
    x.at = at_ms;
    x.sel = CPO_TIME_NONE;
    x.px_index = coin_px_index;
    x.path = path;
    snprintf(path, sizeof path, "%s/ledger.csv", run_dir);
    b->cash = calloc(8, sizeof *b->cash);
    if (!b->cash)
        return nomem(err);
    int rc = cpo_csv_read(path, ledger_row, &x, err);
    if (!rc && x.sel == CPO_TIME_NONE) {
        char a[40];
        cpo_time_format(at_ms, a, sizeof a);
        rc = cpo_error_set(err, CPO_ERANGE, path, 0, 0,
                           "no step at or before %s (expected a date within the run)", a);
    }
    if (!rc) {
        x.hdr = 0;
        x.pass = 1;
        rc = cpo_csv_read(path, ledger_row, &x, err);
    }
    b->ts = x.sel;
    if (!rc) {
        snprintf(path, sizeof path, "%s/ledger_instruments.csv", run_dir);
        size_t n = count_lines(path);
        if (!n)
            rc = cpo_error_set(err, CPO_EIO, path, 0, 0,
                               "cannot read (expected a run with detail = instrument: the "
                               "positions of each step)");
        else if (!(b->lin = calloc(n, sizeof *b->lin)))
            rc = nomem(err);
        x.hdr = 0;
        if (!rc)
            rc = cpo_csv_read(path, lin_row, &x, err);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/options.csv", run_dir);
        size_t n = count_lines(path);
        if (n) {
            if (!(b->opt = calloc(n, sizeof *b->opt)))
                rc = nomem(err);
            x.hdr = 0;
            if (!rc)
                rc = cpo_csv_read(path, opt_row, &x, err);
        }
    }
    /* Coin cash: valued at the coin's price; its coin is a risk factor. */
    for (size_t k = 0; !rc && k < b->n_cash; k++) {
        cpo_risk_cash *c = &b->cash[k];
        if (c->dollar)
            continue;
        c->px = coin_price(m, c->ccy, b->ts);
        for (size_t o = 0; !isfinite(c->px) && o < b->n_opt; o++)
            if (!strcmp(b->opt[o].coin, c->ccy))
                c->px = b->opt[o].index;
        if (!isfinite(c->px))
            rc = cpo_error_set(err, CPO_EDATA, run_dir, 0, 0,
                               "no price for the %s balance at the step (expected an instrument "
                               "of %s in the run's market)",
                               c->ccy, c->ccy);
        else
            rc = add_coin(b, c->ccy, run_dir, err);
    }
    if (rc)
        cpo_risk_book_fini(b);
    return rc;
}

/* --- revaluation ------------------------------------------------------------------ */

double cpo_risk_revalue(const cpo_risk_book *b, const cpo_risk_move *mv, double *by_pos,
                        double *by_part)
{
    double part[CPO_RISK_PARTS] = {0}, total = 0.0;
    size_t k = 0;
    double hours = mv->dt_years * 365.0 * 24.0;
    for (size_t i = 0; i < b->n_lin; i++, k++) {
        const cpo_risk_linear *l = &b->lin[i];
        long c = cpo_risk_coin(b, l->coin);
        double r = c >= 0 ? mv->ret[c] : 0.0;
        double d = l->exposure * r;
        double fund = l->perp ? -l->exposure * (mv->funding_flip ? -l->funding : l->funding) *
                                    hours / 8.0
                              : 0.0;
        part[CPO_RISK_DELTA] += d;
        part[CPO_RISK_FUNDING] += fund;
        if (by_pos)
            by_pos[k] = d + fund;
        total += d + fund;
    }
    for (size_t i = 0; i < b->n_opt; i++, k++) {
        const cpo_risk_option *o = &b->opt[i];
        long c = cpo_risk_coin(b, o->coin);
        double r = c >= 0 ? mv->ret[c] : 0.0, dv = c >= 0 && mv->dvol ? mv->dvol[c] : 0.0;
        double mult = o->qty * (o->px_index ? 1.0 : o->index / o->fwd);
        cpo_black76_in in0 = {o->fwd, o->strike, o->t_years, o->rate, o->vol, o->right};
        cpo_black76_in in1 = in0;
        in1.fwd = o->fwd * (1.0 + r);
        in1.vol = o->vol * (1.0 + dv);
        in1.t_years = o->t_years - mv->dt_years > 0.0 ? o->t_years - mv->dt_years : 0.0;
        cpo_black76_out g0, g1;
        cpo_black76(&in0, &g0);
        cpo_black76(&in1, &g1);
        double full = mult * (g1.price - g0.price);
        if (!isfinite(full))
            full = 0.0;
        double dF = in1.fwd - in0.fwd, ds = in1.vol - in0.vol, dt = in0.t_years - in1.t_years;
        /* theta of cpo_black76 is the change per year of time passing (< 0
         * for a long option): dt of time changes V by theta * dt. */
        double tay[6] = {g0.delta * dF, 0.5 * g0.gamma * dF * dF, g0.vega * ds, g0.theta * dt,
                         g0.vanna * dF * ds, 0.5 * g0.volga * ds * ds};
        double sum = 0.0;
        for (int q = 0; q < 6; q++) {
            double v = isfinite(tay[q]) ? mult * tay[q] : 0.0;
            part[CPO_RISK_DELTA + q] += v;
            sum += v;
        }
        part[CPO_RISK_RESIDUAL] += full - sum;
        if (by_pos)
            by_pos[k] = full;
        total += full;
    }
    for (size_t i = 0; i < b->n_cash; i++, k++) {
        const cpo_risk_cash *c = &b->cash[i];
        double v;
        if (c->dollar) {
            v = c->amount * mv->depeg;
            part[CPO_RISK_DEPEG] += v;
        } else {
            long ci = cpo_risk_coin(b, c->ccy);
            v = c->amount * c->px * (ci >= 0 ? mv->ret[ci] : 0.0);
            part[CPO_RISK_DELTA] += v;
        }
        if (by_pos)
            by_pos[k] = v;
        total += v;
    }
    if (by_part) {
        double s = 0.0;
        for (int q = 0; q < CPO_RISK_PARTS - 1; q++)
            s += part[q];
        part[CPO_RISK_RESIDUAL] += total - s - part[CPO_RISK_RESIDUAL];
        memcpy(by_part, part, sizeof part);
    }
    return total;
}

/* --- VaR, ES, FHS ------------------------------------------------------------------ */

void cpo_risk_var_hist(double *pnl, size_t n, double level, double *var, double *es)
{
    *var = *es = NAN;
    if (n < 2)
        return;
    gsl_sort(pnl, 1, n);
    double q = gsl_stats_quantile_from_sorted_data(pnl, 1, n, 1.0 - level);
    double s = 0.0;
    size_t k = 0;
    for (size_t i = 0; i < n && pnl[i] <= q; i++, k++)
        s += pnl[i];
    *var = -q;
    *es = k ? -s / (double)k : -q;
}

void cpo_risk_var_normal(double mu, double s, double level, double *var, double *es)
{
    double z = gsl_cdf_ugaussian_Pinv(1.0 - level);
    double phi = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
    *var = -(mu + z * s);
    *es = -(mu - s * phi / (1.0 - level));
}

void cpo_risk_fhs(double *out, const double *r, size_t n, double lambda)
{
    if (n == 0)
        return;
    size_t m = n < 30 ? n : 30;
    double v = 0.0;
    for (size_t i = 0; i < m; i++)
        v += r[i] * r[i] / (double)m;
    double *sig = out; /* sigma_t, then overwritten */
    for (size_t t = 0; t < n; t++) {
        sig[t] = sqrt(v);
        v = lambda * v + (1.0 - lambda) * r[t] * r[t];
    }
    double now = sqrt(v);
    for (size_t t = 0; t < n; t++)
        out[t] = sig[t] > 0.0 ? r[t] * now / sig[t] : r[t];
}

/* --- [stress] ------------------------------------------------------------------------ */

static int stress_bad(const char *name, const char *term, size_t len, const char *why,
                      cpo_error *err)
{
    return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                         "[stress] %s: \"%.*s\" is not valid (expected %s)", name, (int)len, term,
                         why);
}

/* "X%" or "X" (a fraction) after a word: the number as a fraction. */
static int pct(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || errno || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    if (*end == '%') {
        v /= 100.0;
        end++;
    }
    while (*end == ' ')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int cpo_risk_stress_parse(cpo_risk_stress *s, const char *name, const char *value,
                          cpo_error *err)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->days = 1.0;
    static const char *const expect =
        "spot X%, vol X%, funding flip, corr 1, depeg X% or days N, comma-separated";
    const char *p = value;
    int any = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t len = (size_t)(e - p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (!len)
            return stress_bad(name, value, strlen(value), expect, err);
        const char *sp = memchr(p, ' ', len);
        size_t wl = sp ? (size_t)(sp - p) : len;
        const char *arg = sp ? sp + 1 : p + len;
        size_t al = sp ? len - wl - 1 : 0;
        double v;
        if (wl == 4 && !strncmp(p, "spot", 4) && !pct(arg, al, &v) && v > -1.0)
            s->spot = v;
        else if (wl == 3 && !strncmp(p, "vol", 3) && !pct(arg, al, &v) && v > -1.0)
            s->vol = v;
        else if (wl == 5 && !strncmp(p, "depeg", 5) && !pct(arg, al, &v) && v > -1.0 && v <= 0.0)
            s->depeg = v;
        else if (wl == 4 && !strncmp(p, "days", 4) && !pct(arg, al, &v) && v >= 0.0 && v <= 3650.0)
            s->days = v;
        else if (wl == 7 && !strncmp(p, "funding", 7) && al == 4 && !strncmp(arg, "flip", 4))
            s->funding_flip = 1;
        else if (wl == 4 && !strncmp(p, "corr", 4) && al == 1 && arg[0] == '1')
            s->corr_one = 1;
        else
            return stress_bad(name, p, len, expect, err);
        any = 1;
        if (!*e)
            break;
        p = e + 1;
    }
    return any ? 0 : stress_bad(name, value, strlen(value), expect, err);
}
