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
 * The generic "ohlcv" format (what pandas, CCXT and most tools write) is
 * read here too: a time column named date, time, timestamp, open_time or
 * datetime, then open, high, low, close and an optional volume (any case,
 * other columns ignored).  Its time form is detected on the first row (an
 * ISO date, an ISO date-time, seconds or milliseconds since 1970) and
 * every other row must have the same form; naive ISO times are in --tz.
 * The symbol: opts->symbol, else the file name as below, else the whole
 * name when it is a pair ("BTC-USD.csv" -> BTCUSD).  The exchange is
 * --exchange, else none.
 *
 * The symbol: opts->symbol, else the first '_'-separated part of the file
 * name (without the extension) that is letters and digits ending in a known
 * quote currency (USDT, USDC, BUSD, USD) after a base of at least two
 * characters: BTCUSDT_1d.csv and binance_ETHUSDT_1h.csv work, a name such
 * as binance_btc_1h.csv needs --symbol.
 *
 * Mark-price klines (binance-mark-klines, cpo_read_mark_klines) have the
 * same layout: Binance's markPriceKlines, open_time, open, high, low,
 * close, an ignored volume (0), close_time, then ignored fields.  Files of
 * data.binance.vision before about 2022-05 have no header line (the
 * columns are taken by position), later ones the klines header; the REST
 * answer of /fapi/v1/markPriceKlines is a JSON array of such arrays, with
 * the prices as strings.  They stage CPO_STAGE_MARK: the mark's OHLC in
 * the bars' open..close (volume NaN), for import.c to attach to the bars
 * of the perpetual or future opts->symbol names (required: the mark file
 * does not say whose mark it is).
 *
 * cpo_read_kline_rows reads the rows for the dated futures' readers
 * (read_futures.c: binance-delivery-klines, deribit-futures as CSV), which
 * set the instrument up themselves; a bar that opens at or after a
 * future's expiry is a problem.
 */
#include "read_util.h"

#include <ctype.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_TS, K_OPEN, K_HIGH, K_LOW, K_CLOSE, K_VOL, K_CT, K_N };

static const char *const knames[K_N] = {"timestamp|open_time", "open", "high", "low",
                                        "close", "volume", "close_time"};
static const char *const onames[K_N] = {"date|time|timestamp|open_time|datetime", "open", "high",
                                        "low", "close", "volume", "close_time"};
static const int kreq[K_N] = {1, 1, 1, 1, 1, 0, 0};

/* The forms of a time field (ohlcv: one form a file). */
enum { TF_NONE = 0, TF_DATE, TF_DATETIME, TF_SEC, TF_MS, TF_US };
static const char *const tf_names[] = {"not a time", "an ISO date", "an ISO date-time",
                                       "seconds since 1970", "milliseconds since 1970",
                                       "microseconds since 1970"};

typedef struct kstate {
    cpo_import_ctx *c;
    const char *names[K_N]; /* the header names looked for */
    int mark;           /* binance-mark-klines: header optional, volume ignored */
    int have_header;    /* the columns are known (from the header, or by position) */
    int positional;     /* mark klines without a header line */
    int generic;        /* the ohlcv format */
    int form;           /* ohlcv: the time form of the first row (TF_*) */
    long form_line;
    int col[K_N];
    char name[K_N][32]; /* the header's names, for messages */
    size_t need;        /* fields a row must have */
    int64_t *ct;        /* close_time of each staged row (CPO_TIME_NONE: blank) */
    size_t cap_ct;
    long ct_col;        /* the column messages about close_time name (0: none) */
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

/* ohlcv: the whole file name (without the extension) when it is a pair
 * ("BTC-USD", "eth_usdt"), its separators dropped; 0 if not. */
static int symbol_from_stem(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strchr(b, '.');
    size_t len = dot ? (size_t)(dot - b) : strlen(b), k = 0;
    char sym[CPO_SYMBOL_MAX];
    if (len == 0 || len >= sizeof sym)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (ch == '-' || ch == '_' || ch == '/')
            continue;
        if (!isalnum(ch))
            return 0;
        sym[k++] = (char)toupper(ch);
    }
    sym[k] = '\0';
    if (k == 0 || !isalpha((unsigned char)sym[0]) || !is_pair(sym))
        return 0;
    snprintf(out, n, "%s", sym);
    return 1;
}

static int setup_instrument(cpo_import_ctx *c, int generic)
{
    const cpo_import_opts *o = c->o;
    char sym[CPO_SYMBOL_MAX];
    if (o->symbol && o->symbol[0]) {
        snprintf(sym, sizeof sym, "%s", o->symbol);
    } else if (!symbol_from_path(c->path, sym, sizeof sym) &&
               !(generic && symbol_from_stem(c->path, sym, sizeof sym))) {
        const char *b = strrchr(c->path, '/');
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "cannot tell the symbol from the file name \"%s\" (expected a name "
                               "like %s; or pass --symbol)",
                               b ? b + 1 : c->path,
                               generic ? "BTCUSDT.csv or BTC-USD.csv" : "BTCUSDT_1d.csv");
    }
    cpo_instrument *in = &c->instr;
    cpo_instrument_init(in, sym, o->kind, o->settle);
    snprintf(in->exchange, sizeof in->exchange, "%s",
             o->exchange ? o->exchange : generic ? "" : "binance");
    cpo_symbol_split(sym, "", in->base, in->quote);
    if (o->kind == CPO_KIND_PERP || o->kind == CPO_KIND_FUTURE)
        snprintf(in->underlying, sizeof in->underlying, "%s", in->base);
    if (o->contract_size > 0)
        in->contract_size = o->contract_size;
    if (o->kind == CPO_KIND_PERP)
        in->funding_interval_ms = 8 * CPO_MS_HOUR;
    return 0;
}

/* Mark klines without a header: Binance's column order; the volume (0 in
 * mark klines) is ignored, the close time read when the row has it. */
static void positional_columns(kstate *k)
{
    static const int pos[K_N] = {0, 1, 2, 3, 4, -1, 6};
    static const char *const name[K_N] = {"open_time", "open", "high", "low", "close", "",
                                          "close_time"};
    for (int q = 0; q < K_N; q++) {
        k->col[q] = pos[q];
        snprintf(k->name[q], sizeof k->name[q], "%s", name[q]);
    }
    k->need = K_CLOSE + 1;
    k->positional = 1;
}

static int on_header(kstate *k, const cpo_csv_row *row)
{
    cpo_import_ctx *c = k->c;
    double dummy;
    int64_t t;
    int data = row->n > 0 && (cpo_parse_f64(row->f[0], row->len[0], &dummy) == 0 ||
                              cpo_time_parse(row->f[0], row->len[0], &t, NULL, NULL) == 0);
    if (data && !k->mark)
        return cpo_import_fail(c, CPO_EFORMAT, row->line, 1,
                               "no header line: the first row holds data (expected column names: "
                               "%s,open,high,low,close[,volume,...])",
                               k->generic ? "date" : "timestamp");
    if (data)
        positional_columns(k);
    int rc = data ? 0
                  : cpo_csv_map(row, c->path, k->names, kreq, K_N, k->col,
                                c->err);
    if (!data)
        c->header_fields = row->n;
    if (rc)
        return rc;
    if (k->mark)
        k->col[K_VOL] = -1; /* a mark price has no volume */
    if (!data)
        k->need = 0;
    for (int q = 0; q < K_N && !data; q++) {
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
    return data ? 1 : 0; /* 1: the row is data, read it */
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

/* Stage one bar and its close time (CPO_TIME_NONE: none); 0 or an error. */
static int stage_bar(kstate *k, int64_t ts, const double v[4], double vol, int64_t ct, long line)
{
    cpo_import_ctx *c = k->c;
    if (k->col[K_CT] >= 0) {
        if (c->bars.n == k->cap_ct) {
            size_t nc = k->cap_ct ? k->cap_ct * 2 : 1024;
            int64_t *p = realloc(k->ct, nc * sizeof *p);
            if (!p)
                return cpo_import_fail(c, CPO_ENOMEM, line, 0, "out of memory");
            k->ct = p;
            k->cap_ct = nc;
        }
        k->ct[c->bars.n] = ct;
    }
    if (cpo_bars_append(&c->bars, ts, v[0], v[1], v[2], v[3], vol, NAN, NAN, NAN, NAN))
        return cpo_import_fail(c, CPO_ENOMEM, line, 0, "out of memory");
    return cpo_import_push_line(c, line);
}

/* The form of a time text (blanks around it ignored). */
static int time_form(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    size_t digits = 0;
    while (digits < n && isdigit((unsigned char)s[digits]))
        digits++;
    if (n > 0 && digits == n)
        return n == 8 ? TF_DATE : n == 13 ? TF_MS : n == 16 ? TF_US : (n == 9 || n == 10) ? TF_SEC
                                                                                          : TF_NONE;
    if (n == 10 && digits == 4 && s[4] == '-')
        return TF_DATE;
    return digits == 4 && n > 10 && s[4] == '-' ? TF_DATETIME : TF_NONE;
}

/*
 * ohlcv: the time of a row in the form of the file's first row.  A row of
 * another form (seconds among milliseconds, a date-time among dates) is a
 * problem, not a guess.
 */
static int generic_time(kstate *k, const cpo_csv_row *row, int64_t *ts)
{
    cpo_import_ctx *c = k->c;
    int col = k->col[K_TS];
    const char *s = row->f[col];
    size_t n = row->len[col];
    int form = time_form(s, n);
    if (form != TF_NONE && k->form == TF_NONE) {
        k->form = form;
        k->form_line = row->line;
    }
    if (form != TF_NONE && form != k->form) {
        char msg[320];
        snprintf(msg, sizeof msg,
                 "%s \"%.*s\" is %s, but line %ld has %s (expected one time form in a file)%s",
                 k->name[K_TS], (int)(n > 40 ? 40 : n), s, tf_names[form], k->form_line,
                 tf_names[k->form], c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
        int rc = cpo_import_problem(c, CPO_EDATA, row->line, col + 1, "%s", msg);
        return rc ? rc : CPO_IMPORT_DROP;
    }
    if (form == TF_US && fast_ms(s, n, ts))
        return 0;
    cpo_ts_unit unit = form == TF_SEC ? CPO_TS_SEC : form == TF_MS ? CPO_TS_MS : CPO_TS_ISO;
    if (form == TF_NONE)
        unit = CPO_TS_AUTO;
    return cpo_import_time(c, row, col, k->name[K_TS], unit, ts);
}

static int on_row(void *ud, const cpo_csv_row *row)
{
    kstate *k = ud;
    cpo_import_ctx *c = k->c;
    if (!k->have_header) {
        int h = on_header(k, row);
        if (h <= 0)
            return h;
    }
    c->rep->rows_read++;
    int rc = 0;
    if (k->positional && row->n < k->need)
        rc = cpo_read_problem(c, CPO_EDATA, row->line, (long)row->n, "; row dropped",
                              "row has %zu field%s (expected at least 5: open_time, open, high, "
                              "low, close)",
                              row->n, row->n == 1 ? "" : "s");
    else if (!k->positional)
        rc = cpo_import_width(c, row, k->need);
    int64_t ts, ct = CPO_TIME_NONE;
    double v[4], vol = NAN;
    int cc = k->col[K_CT];
    if (!rc && k->generic)
        rc = generic_time(k, row, &ts);
    else if (!rc && !fast_ms(row->f[k->col[K_TS]], row->len[k->col[K_TS]], &ts))
        rc = cpo_import_time(c, row, k->col[K_TS], k->name[K_TS], CPO_TS_AUTO, &ts);
    if (!rc) /* dated futures: no bar at or after the expiry */
        rc = cpo_import_before_expiry(c, &c->instr, row->line, k->col[K_TS] + 1, k->name[K_TS], ts);
    for (int q = 0; q < 4 && !rc; q++)
        rc = num_field(c, row, k->col[K_OPEN + q], k->name[K_OPEN + q], 0, &v[q]);
    if (!rc && k->col[K_VOL] >= 0)
        rc = num_field(c, row, k->col[K_VOL], k->name[K_VOL], 1, &vol);
    if (!rc && cc >= 0 && (size_t)cc < row->n && !cpo_field_blank(row->f[cc], row->len[cc]) &&
        !fast_ms(row->f[cc], row->len[cc], &ct))
        rc = cpo_import_time(c, row, cc, k->name[K_CT], CPO_TS_AUTO, &ct);
    if (rc < 0)
        return rc;
    if (rc == CPO_IMPORT_DROP) {
        c->rep->dropped++;
        return 0;
    }
    return stage_bar(k, ts, v, vol, ct, row->line);
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
            cpo_import_note(c, CPO_ISSUE_WARNING, CPO_EDATA, c->line[i], k->ct_col,
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

/* --- one file on several threads --------------------------------------------- */

/*
 * A piece of a large file (csvread.h's cpo_csv_read_pieces): row state
 * with the header's columns and names, and an import context of its own;
 * piece 0 is the reader's own state.  The ohlcv format is read in one
 * piece: its time form is that of the file's first row with a time.
 */
typedef struct kpiece {
    kstate k; /* first: the piece's context is &k */
    cpo_import_ctx c;
    cpo_import_report rep;
} kpiece;

static int piece_open(void *ud, size_t i, cpo_error *perr, void **out)
{
    kstate *k = ud;
    if (i == 0) {
        *out = k;
        return 0;
    }
    kpiece *p = malloc(sizeof *p);
    if (!p)
        return cpo_error_set(perr, CPO_ENOMEM, k->c->path, 0, 0, "out of memory");
    cpo_import_piece_init(&p->c, k->c, &p->rep, perr);
    p->k = *k;
    p->k.c = &p->c;
    p->k.ct = NULL;
    p->k.cap_ct = 0;
    *out = &p->k;
    return 0;
}

/* The close times of piece p after those of k (before its bars join). */
static int join_close_times(kstate *k, const kstate *p)
{
    size_t n0 = k->c->bars.n, n = p->c->bars.n;
    if (k->col[K_CT] < 0 || n == 0)
        return 0;
    if (n0 + n > k->cap_ct) {
        int64_t *ct = realloc(k->ct, (n0 + n) * sizeof *ct);
        if (!ct)
            return cpo_import_fail(k->c, CPO_ENOMEM, 0, 0, "out of memory");
        k->ct = ct;
        k->cap_ct = n0 + n;
    }
    memcpy(k->ct + n0, p->ct, n * sizeof *k->ct);
    return 0;
}

static int piece_join(void *ud, void *piece, size_t i, int use)
{
    kstate *k = ud;
    if (i == 0)
        return 0;
    kpiece *p = piece;
    int rc = use ? join_close_times(k, &p->k) : 0;
    if (use && !rc)
        rc = cpo_import_piece_join(k->c, &p->c);
    cpo_import_piece_fini(&p->c);
    free(p->k.ct);
    free(p);
    return rc;
}

/* The rows of the CSV file into k->c's staging, on the cores when the
 * file is large (see cpo_import_opts.split_bytes). */
static int read_csv(kstate *k)
{
    const cpo_import_opts *o = k->c->o;
    cpo_csv_pieces pc = {k, on_row, piece_open, on_row, piece_join, o->split_bytes,
                         k->generic ? 1 : o->split_pieces};
    return cpo_csv_read_pieces(k->c->path, &pc, k->c->err);
}

/* The rows of a klines-like file into c->bars (the instrument set up). */
static int read_rows(cpo_import_ctx *c, const char *const names[K_N], int generic)
{
    kstate k;
    memset(&k, 0, sizeof k);
    k.c = c;
    k.generic = generic;
    for (int q = 0; q < K_N; q++)
        k.names[q] = names[q];
    int rc = read_csv(&k);
    if (!rc && !k.have_header)
        rc = cpo_import_fail(c, CPO_EDATA, 0, 0, "file is empty (expected a header line and rows)");
    k.ct_col = k.col[K_CT] + 1;
    if (!rc)
        rc = check_close_times(&k);
    free(k.ct);
    return rc;
}

static int read_bars(cpo_import_ctx *c, int generic)
{
    c->stage = CPO_STAGE_BARS;
    int rc = setup_instrument(c, generic);
    return rc ? rc : read_rows(c, generic ? onames : knames, generic);
}

int cpo_read_kline_rows(cpo_import_ctx *c, const char *ts_names, const char *vol_names)
{
    const char *names[K_N];
    for (int q = 0; q < K_N; q++)
        names[q] = q == K_TS ? ts_names : q == K_VOL ? vol_names : knames[q];
    return read_rows(c, names, 0);
}

/* --- mark-price klines ------------------------------------------------------- */

/* One element [open_time, open, high, low, close, volume, close_time, ...]
 * of the REST answer; 0, or the cpo_json_problem convention. */
static int mark_element(kstate *k, const cpo_json_doc *d, size_t i)
{
    cpo_import_ctx *c = k->c;
    const json_t *e = json_array_get(d->root, i);
    static const char want[] = "[open_time, open, high, low, close, volume, close_time, ...]";
    if (!json_is_array(e))
        return cpo_json_problem(c, d, i, CPO_EDATA, "value is %s (expected %s)",
                                cpo_json_type_name(e), want);
    size_t n = json_array_size(e);
    if (n < 5)
        return cpo_json_problem(c, d, i, CPO_EDATA, "array has %zu item%s (expected %s)", n,
                                n == 1 ? "" : "s", want);
    int64_t ts, ct = CPO_TIME_NONE;
    double v[4];
    int rc = cpo_json_ms(c, d, i, json_array_get(e, 0), "open_time", &ts);
    for (int q = 0; q < 4 && !rc; q++)
        rc = cpo_json_f64(c, d, i, json_array_get(e, (size_t)q + 1), knames[K_OPEN + q], &v[q]);
    if (!rc && n > 6 && !json_is_null(json_array_get(e, 6)))
        rc = cpo_json_ms(c, d, i, json_array_get(e, 6), "close_time", &ct);
    return rc ? rc : stage_bar(k, ts, v, NAN, ct, d->line[i]);
}

static int mark_json(kstate *k)
{
    cpo_import_ctx *c = k->c;
    cpo_json_doc d;
    int rc = cpo_json_load_array(c, &d);
    if (rc)
        return rc;
    k->col[K_CT] = 6; /* close times are kept (no CSV column: messages name none) */
    snprintf(k->name[K_CT], sizeof k->name[K_CT], "close_time");
    for (size_t i = 0; i < d.n && !rc; i++) {
        c->rep->rows_read++;
        int r = mark_element(k, &d, i);
        if (r > 0)
            c->rep->dropped++;
        if (r < 0)
            rc = r;
    }
    if (!rc && c->bars.n == 0)
        rc = d.n == 0 ? cpo_import_fail(c, CPO_EDATA, 0, 0,
                                        "the array is empty (expected at least one element)")
                      : cpo_read_no_rows(c, 0);
    cpo_json_doc_fini(&d);
    return rc;
}

int cpo_read_mark_klines(cpo_import_ctx *c)
{
    kstate k;
    memset(&k, 0, sizeof k);
    k.c = c;
    k.mark = 1;
    c->stage = CPO_STAGE_MARK;
    const cpo_import_opts *o = c->o;
    if (!o->symbol || !o->symbol[0])
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "no symbol for the mark prices (expected --symbol, or symbol = in "
                               "the manifest, naming the perpetual or future they belong to, "
                               "e.g. BTCUSDT-PERP)");
    /* Only the symbol matters: the mark attaches to that instrument. */
    cpo_instrument_init(&c->instr, o->symbol, CPO_KIND_PERP, o->settle);
    for (int q = 0; q < K_N; q++) {
        k.col[q] = -1;
        k.names[q] = knames[q];
    }
    int rc;
    if (cpo_looks_like_json(c->path)) {
        rc = mark_json(&k);
    } else {
        rc = read_csv(&k);
        if (!rc && !k.have_header)
            rc = cpo_import_fail(c, CPO_EDATA, 0, 0,
                                 "file is empty (expected rows of open_time,open,high,low,"
                                 "close,...)");
        k.ct_col = k.col[K_CT] + 1;
    }
    if (!rc)
        rc = check_close_times(&k);
    free(k.ct);
    return rc;
}

int cpo_read_klines(cpo_import_ctx *c)
{
    return read_bars(c, 0);
}

int cpo_read_ohlcv(cpo_import_ctx *c)
{
    return read_bars(c, 1);
}
