/*
 * read_klines.c - Binance klines (spot or USDT-M perp), CSV with a header.
 *
 * Columns, by header name: timestamp|open_time (required), open, high,
 * low, close (required), volume and close_time (optional); others are
 * ignored.  Times are dates (YYYY-MM-DD, the bar's open at 00:00 UTC),
 * ISO date-times or ms since 1970 (ten-digit seconds and sixteen-digit
 * microseconds, as in Binance's spot dumps since 2025, are accepted too).
 * These are last-trade klines: the mark and index columns stay NaN.
 *
 * The symbol: opts->symbol, else the first '_'-separated part of the file
 * name (without the extension) that is letters and digits ending in a known
 * quote currency (USDT, USDC, BUSD, USD) after a base of at least two
 * characters: BTCUSDT_1d.csv and binance_ETHUSDT_1h.csv work, a name such
 * as binance_btc_1h.csv needs --symbol.
 *
 * cpo_read_kline_rows reads the rows for the dated futures' readers
 * (read_futures.c: binance-delivery-klines, deribit-futures as CSV), which
 * set the instrument up themselves; a bar that opens at or after a
 * future's expiry is a problem.
 */
#include "importer.h"

#include <ctype.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_TS, K_OPEN, K_HIGH, K_LOW, K_CLOSE, K_VOL, K_CT, K_N };

static const char *const knames[K_N] = {"timestamp|open_time", "open", "high", "low",
                                        "close", "volume", "close_time"};
static const int kreq[K_N] = {1, 1, 1, 1, 1, 0, 0};

typedef struct kstate {
    cpo_import_ctx *c;
    const char *names[K_N]; /* the header names looked for */
    int have_header;
    int col[K_N];
    char name[K_N][32]; /* the header's names, for messages */
    size_t need;        /* fields a row must have */
    int64_t *ct;        /* close_time of each staged row (CPO_TIME_NONE: blank) */
    size_t cap_ct;
} kstate;

/* A token that is a whole pair name: a base of at least two characters
 * followed by a known quote ("BTCUSDT"), nothing after it. */
static int is_pair(const char *tok)
{
    char base[CPO_CCY_MAX], quote[CPO_CCY_MAX];
    return cpo_symbol_split(tok, "", base, quote) && strlen(base) >= 2 &&
           strlen(base) + strlen(quote) == strlen(tok);
}

/* The symbol from the file name (see the top of the file); 0 if none. */
static int symbol_from_path(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strchr(b, '.');
    size_t len = dot ? (size_t)(dot - b) : strlen(b);
    const char *p = b, *end = b + len;
    while (p < end) {
        const char *us = memchr(p, '_', (size_t)(end - p));
        size_t tl = us ? (size_t)(us - p) : (size_t)(end - p);
        char tok[CPO_SYMBOL_MAX];
        int ok = tl > 0 && tl < sizeof tok;
        for (size_t i = 0; ok && i < tl; i++) {
            if (!isalnum((unsigned char)p[i]))
                ok = 0;
            else
                tok[i] = (char)toupper((unsigned char)p[i]);
        }
        if (ok) {
            tok[tl] = '\0';
            if (isalpha((unsigned char)tok[0]) && is_pair(tok)) {
                snprintf(out, n, "%s", tok);
                return 1;
            }
        }
        p += tl + 1;
    }
    return 0;
}

static int setup_instrument(cpo_import_ctx *c)
{
    const cpo_import_opts *o = c->o;
    char sym[CPO_SYMBOL_MAX];
    if (o->symbol && o->symbol[0]) {
        snprintf(sym, sizeof sym, "%s", o->symbol);
    } else if (!symbol_from_path(c->path, sym, sizeof sym)) {
        const char *b = strrchr(c->path, '/');
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "cannot tell the symbol from the file name \"%s\" (expected a name "
                               "like BTCUSDT_1d.csv; or pass --symbol)",
                               b ? b + 1 : c->path);
    }
    cpo_instrument *in = &c->instr;
    cpo_instrument_init(in, sym, o->kind, o->settle);
    snprintf(in->exchange, sizeof in->exchange, "%s", o->exchange ? o->exchange : "binance");
    cpo_symbol_split(sym, "", in->base, in->quote);
    if (o->kind == CPO_KIND_PERP || o->kind == CPO_KIND_FUTURE)
        snprintf(in->underlying, sizeof in->underlying, "%s", in->base);
    if (o->contract_size > 0)
        in->contract_size = o->contract_size;
    if (o->kind == CPO_KIND_PERP)
        in->funding_interval_ms = 8 * CPO_MS_HOUR;
    return 0;
}

static int on_header(kstate *k, const cpo_csv_row *row)
{
    cpo_import_ctx *c = k->c;
    double dummy;
    int64_t t;
    if (row->n > 0 && (cpo_parse_f64(row->f[0], row->len[0], &dummy) == 0 ||
                       cpo_time_parse(row->f[0], row->len[0], &t, NULL, NULL) == 0))
        return cpo_import_fail(c, CPO_EFORMAT, row->line, 1,
                               "no header line: the first row holds data (expected column names: "
                               "timestamp,open,high,low,close[,volume,...])");
    int rc = cpo_csv_map(row, c->path, k->names, kreq, K_N, k->col, c->err);
    if (rc)
        return rc;
    k->need = 0;
    for (int q = 0; q < K_N; q++) {
        if (k->col[q] < 0)
            continue;
        const char *s = row->f[k->col[q]];
        size_t n = row->len[k->col[q]];
        while (n && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        snprintf(k->name[q], sizeof k->name[q], "%.*s", (int)n, s);
        if ((size_t)k->col[q] + 1 > k->need)
            k->need = (size_t)k->col[q] + 1;
    }
    c->col_ts = k->col[K_TS] + 1;
    c->col_open = k->col[K_OPEN] + 1;
    c->col_high = k->col[K_HIGH] + 1;
    c->col_low = k->col[K_LOW] + 1;
    c->col_close = k->col[K_CLOSE] + 1;
    c->col_volume = k->col[K_VOL] + 1;
    k->have_header = 1;
    return 0;
}

/* A field as a number: the fast path, else the standard message. */
static int num_field(cpo_import_ctx *c, const cpo_csv_row *row, int col, const char *name,
                     int allow_blank, double *out)
{
    if (cpo_parse_f64(row->f[col], row->len[col], out) == 0)
        return 0;
    return cpo_import_f64(c, row, col, name, allow_blank, out);
}

/* Plain ms time stamps without the general parser (the common case); 16
 * digits are microseconds (Binance spot dumps since 2025), cut to ms. */
static int fast_ms(const char *s, size_t n, int64_t *out)
{
    if (n != 13 && n != 16)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return 0;
        v = v * 10 + (int64_t)d;
    }
    if (n == 16)
        v /= 1000;
    if (v < INT64_C(631152000000) || v > INT64_C(4102444800000))
        return 0;
    *out = v;
    return 1;
}

static int on_row(void *ud, const cpo_csv_row *row)
{
    kstate *k = ud;
    cpo_import_ctx *c = k->c;
    if (!k->have_header)
        return on_header(k, row);
    c->rep->rows_read++;
    int rc = cpo_import_width(c, row, k->need);
    int64_t ts, ct = CPO_TIME_NONE;
    double v[4], vol = NAN;
    if (!rc && !fast_ms(row->f[k->col[K_TS]], row->len[k->col[K_TS]], &ts))
        rc = cpo_import_time(c, row, k->col[K_TS], k->name[K_TS], CPO_TS_AUTO, &ts);
    if (!rc) /* dated futures: no bar at or after the expiry */
        rc = cpo_import_before_expiry(c, &c->instr, row->line, k->col[K_TS] + 1, k->name[K_TS], ts);
    for (int q = 0; q < 4 && !rc; q++)
        rc = num_field(c, row, k->col[K_OPEN + q], k->name[K_OPEN + q], 0, &v[q]);
    if (!rc && k->col[K_VOL] >= 0)
        rc = num_field(c, row, k->col[K_VOL], k->name[K_VOL], 1, &vol);
    if (!rc && k->col[K_CT] >= 0 && !cpo_field_blank(row->f[k->col[K_CT]], row->len[k->col[K_CT]]) &&
        !fast_ms(row->f[k->col[K_CT]], row->len[k->col[K_CT]], &ct))
        rc = cpo_import_time(c, row, k->col[K_CT], k->name[K_CT], CPO_TS_AUTO, &ct);
    if (rc < 0)
        return rc;
    if (rc == CPO_IMPORT_DROP) {
        c->rep->dropped++;
        return 0;
    }
    if (k->col[K_CT] >= 0) {
        if (c->bars.n == k->cap_ct) {
            size_t nc = k->cap_ct ? k->cap_ct * 2 : 1024;
            int64_t *p = realloc(k->ct, nc * sizeof *p);
            if (!p)
                return cpo_import_fail(c, CPO_ENOMEM, row->line, 0, "out of memory");
            k->ct = p;
            k->cap_ct = nc;
        }
        k->ct[c->bars.n] = ct;
    }
    if (cpo_bars_append(&c->bars, ts, v[0], v[1], v[2], v[3], vol, NAN, NAN))
        return cpo_import_fail(c, CPO_ENOMEM, row->line, 0, "out of memory");
    return cpo_import_push_line(c, row->line);
}

/* close_time should be open time + bar - 1 ms, the bar being the common
 * (median) one; mismatches are warnings. */
static int check_close_times(kstate *k)
{
    cpo_import_ctx *c = k->c;
    const cpo_bars *b = &c->bars;
    size_t n = b->n, m = 0;
    if (k->col[K_CT] < 0 || n == 0)
        return 0;
    double *d = malloc(n * sizeof *d);
    if (!d)
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (k->ct[i] != CPO_TIME_NONE)
            d[m++] = (double)(k->ct[i] + 1 - b->ts[i]); /* exact: < 2^53 */
    if (m == 0) {
        free(d);
        return 0;
    }
    int64_t bar = (int64_t)gsl_stats_select(d, 1, m, m / 2);
    free(d);
    if (bar <= 0)
        return 0;
    char bs[32];
    cpo_duration_format(bar, bs, sizeof bs);
    size_t bad = 0, listed = (size_t)(c->o->max_listed > 0 ? c->o->max_listed : 5);
    for (size_t i = 0; i < n; i++) {
        if (k->ct[i] == CPO_TIME_NONE || k->ct[i] == b->ts[i] + bar - 1)
            continue;
        if (bad < listed)
            cpo_import_note(c, CPO_ISSUE_WARNING, CPO_EDATA, c->line[i], k->col[K_CT] + 1,
                            "%s %lld is not the open time + %s - 1 ms (expected %lld)",
                            k->name[K_CT], (long long)k->ct[i], bs,
                            (long long)(b->ts[i] + bar - 1));
        bad++;
    }
    if (bad > listed)
        cpo_import_note(c, CPO_ISSUE_WARNING, CPO_EDATA, 0, 0,
                        "(and %zu more rows whose %s is not the open time + %s - 1 ms)",
                        bad - listed, k->name[K_CT], bs);
    return 0;
}

int cpo_read_klines(cpo_import_ctx *c)
{
    c->stage = CPO_STAGE_BARS;
    int rc = setup_instrument(c);
    return rc ? rc : cpo_read_kline_rows(c, knames[K_TS], knames[K_VOL]);
}

int cpo_read_kline_rows(cpo_import_ctx *c, const char *ts_names, const char *vol_names)
{
    kstate k;
    memset(&k, 0, sizeof k);
    k.c = c;
    for (int q = 0; q < K_N; q++)
        k.names[q] = q == K_TS ? ts_names : q == K_VOL ? vol_names : knames[q];
    int rc = cpo_csv_read(c->path, on_row, &k, c->err);
    if (!rc && !k.have_header)
        rc = cpo_import_fail(c, CPO_EDATA, 0, 0, "file is empty (expected a header line and rows)");
    if (!rc)
        rc = check_close_times(&k);
    free(k.ct);
    return rc;
}
