/*
 * read_funding.c - funding readers: Binance (three CSV layouts and a JSON
 * array), BitMEX /api/v1/funding CSV, Deribit get_funding_rate_history
 * CSV.  Each stages CPO_STAGE_FUNDING: the perpetual in c->instr and one
 * funding event per row in c->funding (rate as a decimal per interval,
 * > 0: longs pay shorts; mark and index NaN where the file has none).
 *
 * Symbols.  Binance files name the pair ("BTCUSDT", or "BTC-USDT" in the
 * supervik collector's files, normalised here to "BTCUSDT"); every row
 * must name the same one.  The perp is stored under that symbol, which is
 * also the spot pair's name: to keep Binance spot and perp apart in one
 * store, import the funding with --symbol BTCUSDT-PERP (opts->symbol is
 * used as given, never normalised) and the perp klines likewise.
 */
#include "read_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Turn a field helper's result into the callback's: stop on an error,
 * skip (and count) the row on CPO_IMPORT_DROP.  Needs `c` in scope. */
#define ROW_TRY(expr)                                                                \
    do {                                                                             \
        int r_ = (expr);                                                             \
        if (r_ > 0)                                                                  \
            c->rep->dropped++;                                                       \
        if (r_)                                                                      \
            return r_ < 0 ? r_ : 0;                                                  \
    } while (0)

#define ROW_DROPPED "; row dropped"

/* 2000-01-01T00:00:00Z: BitMEX encodes fundingInterval as this epoch plus
 * the interval. */
#define BITMEX_INTERVAL_EPOCH INT64_C(946684800000)

enum { BN_TIME, BN_SYMBOL, BN_RATE, BN_MARK, BN_NCOL };
enum { BM_TIME, BM_SYMBOL, BM_INTERVAL, BM_RATE, BM_NCOL };
enum { DB_TIME, DB_RATE, DB_INDEX, DB_NCOL };

typedef enum bn_layout {
    BN_FUNDINGTIME = 0, /* fundingTime,symbol,fundingRate[,markPrice] (ms) */
    BN_TIMESTAMP = 1,   /* timestamp,symbol,funding_rate (ms) */
    BN_DATE = 2         /* Symbol,Date,Funding Rate (naive local time) */
} bn_layout;

typedef struct fund_rd {
    cpo_import_ctx *c;
    int header_done;
    bn_layout layout;
    int ix[4];                   /* column indices: BN_*, BM_* or DB_* */
    size_t need;                 /* fields a row must have */
    const char *names[BN_NCOL];  /* column names for messages */
    cpo_ts_unit unit;
    char sym[CPO_SYMBOL_MAX];    /* normalised symbol of the first row */
    long sym_line;
    /* BitMEX fundingInterval */
    int64_t cur_iv;              /* interval of the previous row; 0 before */
    int64_t last_ts, last_iv;    /* interval of the latest event */
} fund_rd;

/* --- symbols and instruments --------------------------------------------- */

/* "BTC-USDT", "btc_usdt", "BTC/USDT" -> "BTCUSDT".  Returns 1 if cut. */
static int norm_symbol(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    int cut = 0;
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '-' || ch == '_' || ch == '/')
            continue;
        if (k + 1 >= cap) {
            cut = 1;
            break;
        }
        out[k++] = (char)toupper(ch);
    }
    out[k] = '\0';
    return cut;
}

/* Fill c->instr: a perp named opts->symbol, else file_sym.  Base and
 * quote come from `pair` (the file's own name for the pair) if not empty,
 * else from the symbol. */
static void set_perp(cpo_import_ctx *c, const char *file_sym, const char *pair,
                     cpo_settle settle, const char *exchange, const char *dflt_quote,
                     double contract_size, int64_t interval_ms)
{
    const cpo_import_opts *o = c->o;
    const char *sym = o->symbol && *o->symbol ? o->symbol : file_sym;
    cpo_instrument_init(&c->instr, sym, CPO_KIND_PERP, settle);
    snprintf(c->instr.exchange, sizeof c->instr.exchange, "%s",
             o->exchange && *o->exchange ? o->exchange : exchange);
    cpo_symbol_split(pair && *pair ? pair : sym, dflt_quote, c->instr.base, c->instr.quote);
    snprintf(c->instr.underlying, sizeof c->instr.underlying, "%s",
             strcmp(c->instr.base, "XBT") ? c->instr.base : "BTC");
    c->instr.contract_size = o->contract_size > 0 ? o->contract_size : contract_size;
    c->instr.funding_interval_ms = interval_ms;
    c->funding.interval_ms = interval_ms;
    c->stage = CPO_STAGE_FUNDING;
}

/* Check the row's symbol against the first row's.  0, or the helper
 * convention (negative: stop, CPO_IMPORT_DROP: skip the row). */
static int check_symbol(fund_rd *st, const cpo_csv_row *row, int col, const char *name)
{
    cpo_import_ctx *c = st->c;
    if (col < 0)
        return 0;
    if (cpo_field_blank(row->f[col], row->len[col]))
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "%s is empty (expected a symbol such as BTCUSDT)", name);
    char norm[CPO_SYMBOL_MAX];
    if (norm_symbol(row->f[col], row->len[col], norm, sizeof norm))
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "%s \"%.20s...\" is too long (expected at most %d characters)",
                                name, row->f[col], CPO_SYMBOL_MAX - 1);
    if (!st->sym[0]) {
        memcpy(st->sym, norm, sizeof norm);
        st->sym_line = row->line;
        return 0;
    }
    if (strcmp(norm, st->sym))
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "%s \"%s\" differs from \"%s\" on line %ld (expected one "
                                "instrument per file)",
                                name, norm, st->sym, st->sym_line);
    return 0;
}

/* Rate sanity: a decimal per interval is far below 1 in magnitude. */
static int check_rate(cpo_import_ctx *c, const cpo_csv_row *row, int col, const char *name,
                      double rate)
{
    if (fabs(rate) < 1.0)
        return 0;
    return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                            "%s \"%.*s\" is not a decimal rate (expected |rate| < 1 per interval)",
                            name, (int)(row->len[col] > 40 ? 40 : row->len[col]), row->f[col]);
}

/* A price that is given must be positive. */
static int check_price(cpo_import_ctx *c, const cpo_csv_row *row, int col, const char *name,
                       double v)
{
    if (isnan(v) || v > 0)
        return 0;
    return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                            "%s \"%.*s\" is not positive (expected a price > 0)", name,
                            (int)(row->len[col] > 40 ? 40 : row->len[col]), row->f[col]);
}

static int stage(cpo_import_ctx *c, int64_t ts, double rate, double mark, double index,
                 long line)
{
    if (cpo_funding_append(&c->funding, ts, rate, mark, index))
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    return cpo_import_push_line(c, line);
}

/* The end of every CSV reader: refuse a file without a header or rows. */
static int check_rows(cpo_import_ctx *c, int header_done, size_t staged)
{
    if (!header_done)
        return cpo_import_fail(c, CPO_EFORMAT, 0, 0, "file is empty (expected a header line)");
    return cpo_read_no_rows(c, staged);
}

static size_t need_of(const int *ix, size_t n)
{
    int m = -1;
    for (size_t k = 0; k < n; k++)
        if (ix[k] > m)
            m = ix[k];
    return (size_t)(m + 1);
}

/* --- Binance CSV ---------------------------------------------------------- */

static int binance_header(fund_rd *st, const cpo_csv_row *hdr)
{
    cpo_import_ctx *c = st->c;
    static const char *const layouts[3][BN_NCOL] = {
        {"fundingTime", "symbol", "fundingRate", "markPrice"},
        {"timestamp", "symbol", "funding_rate", NULL},
        {"Date", "Symbol", "Funding Rate", NULL},
    };
    int layout = -1;
    for (int l = 0; l < 3 && layout < 0; l++)
        if (cpo_csv_find(hdr, layouts[l][BN_RATE]) >= 0)
            layout = l;
    if (layout < 0)
        return cpo_import_fail(c, CPO_EFORMAT, hdr->line, 0,
                               "missing column \"fundingRate\" (expected one of the layouts "
                               "fundingTime,symbol,fundingRate[,markPrice] | "
                               "timestamp,symbol,funding_rate | Symbol,Date,Funding Rate)");
    st->layout = (bn_layout)layout;
    int has_sym = c->o->symbol && *c->o->symbol;
    const char *names[BN_NCOL];
    int req[BN_NCOL];
    size_t n = layout == BN_FUNDINGTIME ? 4 : 3;
    for (size_t k = 0; k < n; k++) {
        names[k] = layouts[layout][k];
        req[k] = 1;
    }
    req[BN_SYMBOL] = !has_sym;
    if (layout == BN_FUNDINGTIME)
        req[BN_MARK] = 0;
    int rc = cpo_csv_map(hdr, c->path, names, req, n, st->ix, c->err);
    c->header_fields = hdr->n;
    if (rc)
        return rc;
    if (n < BN_NCOL)
        st->ix[BN_MARK] = -1;
    for (size_t k = 0; k < BN_NCOL; k++)
        st->names[k] = k < n ? names[k] : "";
    st->need = need_of(st->ix, BN_NCOL);
    st->unit = layout == BN_DATE ? CPO_TS_ISO : CPO_TS_MS;
    c->col_ts = st->ix[BN_TIME] + 1;
    st->header_done = 1;
    return 0;
}

static int on_binance(void *ud, const cpo_csv_row *row)
{
    fund_rd *st = ud;
    cpo_import_ctx *c = st->c;
    if (!st->header_done)
        return binance_header(st, row);
    c->rep->rows_read++;
    ROW_TRY(cpo_import_width(c, row, st->need));
    int64_t ts;
    double rate, mark = NAN;
    ROW_TRY(cpo_import_time(c, row, st->ix[BN_TIME], st->names[BN_TIME], st->unit, &ts));
    ROW_TRY(check_symbol(st, row, st->ix[BN_SYMBOL], st->names[BN_SYMBOL]));
    ROW_TRY(cpo_import_f64(c, row, st->ix[BN_RATE], st->names[BN_RATE], 0, &rate));
    ROW_TRY(check_rate(c, row, st->ix[BN_RATE], st->names[BN_RATE], rate));
    if (st->ix[BN_MARK] >= 0) {
        ROW_TRY(cpo_import_f64(c, row, st->ix[BN_MARK], st->names[BN_MARK], 1, &mark));
        ROW_TRY(check_price(c, row, st->ix[BN_MARK], st->names[BN_MARK], mark));
    }
    return stage(c, ts, rate, mark, NAN, row->line);
}

/* Naive collector times that miss the funding marks by whole hours mean
 * the zone was not declared: say so (the supervik files need +03:00). */
static void check_marks(cpo_import_ctx *c, const char *name, int64_t interval)
{
    const cpo_funding *f = &c->funding;
    size_t off = 0;
    int64_t first_off = 0;
    for (size_t i = 0; i < f->n; i++) {
        int64_t r = f->ts[i] % interval;
        if (r < 0)
            r += interval;
        if (r >= CPO_MS_MINUTE && r <= interval - CPO_MS_MINUTE) {
            if (!off)
                first_off = r;
            off++;
        }
    }
    if (off * 2 <= f->n)
        return;
    char tz[32], d[32], iv[32];
    cpo_tz_format(&c->o->tz, tz, sizeof tz);
    cpo_duration_format(first_off - first_off % CPO_MS_MINUTE, d, sizeof d);
    cpo_duration_format(interval, iv, sizeof iv);
    cpo_import_note(c, CPO_ISSUE_WARNING, CPO_EDATA, 0, 0,
                    "%zu of %zu %s times read in zone %s fall %s after the %s funding marks "
                    "(expected settlement times on the marks: declare the collector's zone, "
                    "e.g. --tz +03:00 for the supervik files)",
                    off, f->n, name, tz, d, iv);
}

int cpo_read_binance_funding(cpo_import_ctx *c)
{
    fund_rd st;
    memset(&st, 0, sizeof st);
    st.c = c;
    int64_t interval = c->o->step_ms > 0 ? c->o->step_ms : 8 * CPO_MS_HOUR;
    int rc = cpo_csv_read(c->path, on_binance, &st, c->err);
    if (rc)
        return rc;
    rc = check_rows(c, st.header_done, c->funding.n);
    if (rc)
        return rc;
    if (st.layout == BN_DATE)
        check_marks(c, st.names[BN_TIME], interval);
    /* USDT-M (linear) unless --settle inverse says the rows are of a
     * COIN-M perpetual (BTCUSD_PERP): funding attaches to the instrument
     * of that settlement. */
    set_perp(c, st.sym, st.sym, c->o->settle, "binance", "USDT", 1.0, interval);
    return 0;
}

/* --- Binance JSON ----------------------------------------------------------- */

int cpo_read_binance_funding_json(cpo_import_ctx *c)
{
    cpo_json_doc d;
    int rc = cpo_json_load_array(c, &d);
    if (rc)
        return rc;
    char coin[CPO_CCY_MAX] = "";
    size_t coin_el = 0;
    int has_sym = c->o->symbol && *c->o->symbol;
    for (size_t i = 0; i < d.n; i++) {
        const json_t *e = json_array_get(d.root, i);
        c->rep->rows_read++;
        int r;
        if (!json_is_object(e)) {
            r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                 "value is %s (expected an object with coin, funding_rate "
                                 "and time)",
                                 cpo_json_type_name(e));
            goto row_done;
        }
        int64_t ts = 0;
        double rate = NAN;
        r = cpo_json_ms(c, &d, i, json_object_get(e, "time"), "time", &ts);
        if (r)
            goto row_done;
        const json_t *jr = json_object_get(e, "funding_rate");
        if (!jr) {
            r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                 "no \"funding_rate\" (expected a decimal number or a "
                                 "numeric string)");
        } else if (json_is_string(jr)) {
            const char *s = json_string_value(jr);
            size_t n = json_string_length(jr);
            if (cpo_parse_f64(s, n, &rate))
                r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                     "funding_rate \"%.40s\" is not a number (expected a "
                                     "decimal number)",
                                     s);
        } else if (json_is_number(jr)) {
            rate = json_number_value(jr);
        } else {
            r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                 "funding_rate is %s (expected a decimal number or a numeric "
                                 "string)",
                                 cpo_json_type_name(jr));
        }
        if (r)
            goto row_done;
        if (fabs(rate) >= 1.0) {
            r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                 "funding_rate %.17g is not a decimal rate (expected |rate| < 1 "
                                 "per interval)",
                                 rate);
            goto row_done;
        }
        const json_t *jc = json_object_get(e, "coin");
        if (jc && !json_is_string(jc)) {
            r = cpo_json_problem(c, &d, i, CPO_EDATA, "coin is %s (expected a string such as BTC)",
                                 cpo_json_type_name(jc));
            goto row_done;
        }
        if (!jc && !has_sym) {
            r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                 "no \"coin\" (expected a coin such as BTC, or --symbol)");
            goto row_done;
        }
        if (jc) {
            char norm[CPO_CCY_MAX];
            const char *s = json_string_value(jc);
            if (norm_symbol(s, json_string_length(jc), norm, sizeof norm) || !norm[0]) {
                r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                     "coin \"%.20s\" is not a coin (expected a short name such "
                                     "as BTC)",
                                     s);
                goto row_done;
            }
            if (!coin[0]) {
                memcpy(coin, norm, sizeof norm);
                coin_el = i;
            } else if (strcmp(coin, norm)) {
                r = cpo_json_problem(c, &d, i, CPO_EDATA,
                                     "coin \"%s\" differs from \"%s\" in element %zu (expected "
                                     "one coin per file)",
                                     norm, coin, coin_el + 1);
                goto row_done;
            }
        }
        if (cpo_funding_append(&c->funding, ts, rate, NAN, NAN)) {
            r = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
            goto row_done;
        }
        r = cpo_import_push_line(c, d.line[i]);
    row_done:
        if (r > 0)
            c->rep->dropped++;
        if (r < 0) {
            rc = r;
            goto cleanup;
        }
    }
    if (c->funding.n == 0) {
        rc = d.n == 0 ? cpo_import_fail(c, CPO_EDATA, 0, 0,
                                        "the array is empty (expected at least one element)")
                      : cpo_read_no_rows(c, 0);
        goto cleanup;
    }
    char sym[CPO_SYMBOL_MAX];
    snprintf(sym, sizeof sym, "%sUSDT", coin);
    set_perp(c, coin[0] ? sym : "", coin[0] ? sym : "", c->o->settle, "binance", "USDT", 1.0,
             c->o->step_ms > 0 ? c->o->step_ms : 8 * CPO_MS_HOUR);
cleanup:
    cpo_json_doc_fini(&d);
    return rc;
}

/* --- BitMEX ------------------------------------------------------------------ */

static int bitmex_header(fund_rd *st, const cpo_csv_row *hdr)
{
    cpo_import_ctx *c = st->c;
    static const char *const names[BM_NCOL] = {"timestamp", "symbol", "fundingInterval",
                                               "fundingRate"};
    int req[BM_NCOL] = {1, !(c->o->symbol && *c->o->symbol), 1, 1};
    int rc = cpo_csv_map(hdr, c->path, names, req, BM_NCOL, st->ix, c->err);
    c->header_fields = hdr->n;
    if (rc)
        return rc;
    st->need = need_of(st->ix, BM_NCOL);
    c->col_ts = st->ix[BM_TIME] + 1;
    st->header_done = 1;
    return 0;
}

/* fundingInterval: "2000-01-01T08:00:00Z" = 8h after 2000-01-01; a plain
 * duration ("8h") is taken too. */
static int bitmex_interval(cpo_import_ctx *c, const cpo_csv_row *row, int col, int64_t *out)
{
    const char *s = row->f[col];
    size_t n = row->len[col];
    int64_t t;
    char buf[64];
    if (cpo_time_parse(s, n, &t, NULL, NULL) == 0 && t > BITMEX_INTERVAL_EPOCH) {
        *out = t - BITMEX_INTERVAL_EPOCH;
        return 0;
    }
    if (n < sizeof buf) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (cpo_duration_parse(buf, out) == 0)
            return 0;
    }
    if (cpo_field_blank(s, n))
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "fundingInterval is empty (expected an interval such as "
                                "2000-01-01T08:00:00Z for 8h)");
    return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                            "fundingInterval \"%.*s\" is not an interval (expected a time after "
                            "2000-01-01T00:00:00Z encoding the interval, such as "
                            "2000-01-01T08:00:00Z for 8h)",
                            (int)(n > 40 ? 40 : n), s);
}

static int on_bitmex(void *ud, const cpo_csv_row *row)
{
    fund_rd *st = ud;
    cpo_import_ctx *c = st->c;
    if (!st->header_done)
        return bitmex_header(st, row);
    c->rep->rows_read++;
    ROW_TRY(cpo_import_width(c, row, st->need));
    int64_t ts, iv;
    double rate;
    ROW_TRY(cpo_import_time(c, row, st->ix[BM_TIME], "timestamp", CPO_TS_ISO, &ts));
    ROW_TRY(check_symbol(st, row, st->ix[BM_SYMBOL], "symbol"));
    ROW_TRY(bitmex_interval(c, row, st->ix[BM_INTERVAL], &iv));
    ROW_TRY(cpo_import_f64(c, row, st->ix[BM_RATE], "fundingRate", 0, &rate));
    ROW_TRY(check_rate(c, row, st->ix[BM_RATE], "fundingRate", rate));
    if (st->cur_iv && iv != st->cur_iv) {
        char a[32], b[32], t[40];
        cpo_duration_format(st->cur_iv, a, sizeof a);
        cpo_duration_format(iv, b, sizeof b);
        cpo_time_format(ts, t, sizeof t);
        cpo_import_note(c, CPO_ISSUE_INFO, 0, row->line, st->ix[BM_INTERVAL] + 1,
                        "funding interval changes from %s to %s at %s", a, b, t);
    }
    if ((!st->cur_iv || iv != st->cur_iv) && c->n_regimes < 8) {
        c->regime_from[c->n_regimes] = ts;
        c->regime_iv[c->n_regimes] = iv;
        c->n_regimes++;
    }
    st->cur_iv = iv;
    if (!st->last_iv || ts >= st->last_ts) {
        st->last_ts = ts;
        st->last_iv = iv;
    }
    return stage(c, ts, rate, NAN, NAN, row->line);
}

int cpo_read_bitmex_funding(cpo_import_ctx *c)
{
    fund_rd st;
    memset(&st, 0, sizeof st);
    st.c = c;
    int rc = cpo_csv_read(c->path, on_bitmex, &st, c->err);
    if (rc)
        return rc;
    rc = check_rows(c, st.header_done, c->funding.n);
    if (rc)
        return rc;
    /* The interval in force at the latest event (BitMEX XBTUSD: 24h until
     * 2016-06-04 12:00, then 8h). */
    set_perp(c, st.sym, st.sym, CPO_SETTLE_INVERSE, "bitmex", "USD", 1.0, st.last_iv);
    return 0;
}

/* --- Deribit ------------------------------------------------------------------ */

static int deribit_header(fund_rd *st, const cpo_csv_row *hdr)
{
    cpo_import_ctx *c = st->c;
    /* Never time_dt: it is Europe/London wall-clock time. */
    static const char *const names[DB_NCOL] = {"timestamp", "interest_1h", "index_price"};
    static const int req[DB_NCOL] = {1, 1, 0};
    int rc = cpo_csv_map(hdr, c->path, names, req, DB_NCOL, st->ix, c->err);
    c->header_fields = hdr->n;
    if (rc)
        return rc;
    int td = cpo_csv_find(hdr, "time_dt");
    if (td >= 0)
        cpo_import_note(c, CPO_ISSUE_INFO, 0, hdr->line, td + 1,
                        "time_dt ignored (it is Europe/London local time); times are taken "
                        "from timestamp (ms UTC)");
    st->need = need_of(st->ix, DB_NCOL);
    c->col_ts = st->ix[DB_TIME] + 1;
    st->header_done = 1;
    return 0;
}

static int on_deribit(void *ud, const cpo_csv_row *row)
{
    fund_rd *st = ud;
    cpo_import_ctx *c = st->c;
    if (!st->header_done)
        return deribit_header(st, row);
    c->rep->rows_read++;
    ROW_TRY(cpo_import_width(c, row, st->need));
    int64_t ts;
    double rate, index = NAN;
    ROW_TRY(cpo_import_time(c, row, st->ix[DB_TIME], "timestamp", CPO_TS_MS, &ts));
    ROW_TRY(cpo_import_f64(c, row, st->ix[DB_RATE], "interest_1h", 0, &rate));
    ROW_TRY(check_rate(c, row, st->ix[DB_RATE], "interest_1h", rate));
    if (st->ix[DB_INDEX] >= 0) {
        ROW_TRY(cpo_import_f64(c, row, st->ix[DB_INDEX], "index_price", 1, &index));
        ROW_TRY(check_price(c, row, st->ix[DB_INDEX], "index_price", index));
    }
    return stage(c, ts, rate, NAN, index, row->line);
}

int cpo_read_deribit_funding(cpo_import_ctx *c)
{
    fund_rd st;
    memset(&st, 0, sizeof st);
    st.c = c;
    int rc = cpo_csv_read(c->path, on_deribit, &st, c->err);
    if (rc)
        return rc;
    rc = check_rows(c, st.header_done, c->funding.n);
    if (rc)
        return rc;
    /* interest_1h is the funding accrued over each hour: a 1h interval. */
    set_perp(c, "BTC-PERPETUAL", NULL, CPO_SETTLE_INVERSE, "deribit", "USD", 10.0, CPO_MS_HOUR);
    return 0;
}
