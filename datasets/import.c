/*
 * import.c - cpo_import_file: detect the format, run the reader, check the
 * staged rows (order, duplicates, OHLC sanity, partial last bar, gaps),
 * merge them into the dataset and record where they came from.
 *
 * Nothing touches the dataset until every check has passed and the merged
 * series is built: on failure ds is left as it was.
 */
#include "importer.h"

#include <errno.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sidejob.h"

/* --- formats -------------------------------------------------------------- */

static const char *const fmt_names[] = {
#define CPO_X_NAME(id, name, help) name,
    CPO_FORMAT_LIST(CPO_X_NAME)
#undef CPO_X_NAME
};

static const char *const fmt_helps[] = {
#define CPO_X_HELP(id, name, help) help,
    CPO_FORMAT_LIST(CPO_X_HELP)
#undef CPO_X_HELP
};

const char *cpo_format_name(cpo_format f)
{
    return (unsigned)f < CPO_FMT_COUNT ? fmt_names[f] : "?";
}

const char *cpo_format_help(cpo_format f)
{
    return (unsigned)f < CPO_FMT_COUNT ? fmt_helps[f] : "";
}

int cpo_format_parse(const char *s, cpo_format *out)
{
    if (!s)
        return CPO_EINVAL;
    for (int i = 0; i < CPO_FMT_COUNT; i++)
        if (!strcasecmp(s, fmt_names[i])) {
            *out = (cpo_format)i;
            return 0;
        }
    return CPO_EINVAL;
}

void cpo_import_opts_init(cpo_import_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = CPO_FMT_AUTO;
    o->mode = CPO_IMPORT_STRICT;
    o->sort = 0;
    o->tz.kind = CPO_TZ_FIXED;
    o->tz.offset_ms = 0;
    o->partial_last = CPO_PARTIAL_FLAG;
    o->kind = CPO_KIND_SPOT;
    o->settle = CPO_SETTLE_LINEAR;
    o->iv_unit = CPO_IV_AUTO;
    o->snapshot_ms = CPO_TIME_NONE;
    o->max_listed = 5;
}

/* --- small helpers ---------------------------------------------------------- */

/* The shortest decimal text that reads back as v, without an exponent for
 * ordinary magnitudes ("4200", "4300.5", "0.0001"). */
static const char *num(double v, char *buf, size_t n)
{
    if (isnan(v)) {
        snprintf(buf, n, "NaN");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, n, v < 0 ? "-inf" : "inf");
        return buf;
    }
    double a = fabs(v);
    if (a == 0 || (a >= 1e-6 && a < 1e16)) {
        for (int p = 0; p <= 20; p++) {
            snprintf(buf, n, "%.*f", p, v);
            if (strtod(buf, NULL) == v)
                return buf;
        }
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* A time for a message: the date alone for daily data, else ISO UTC. */
static const char *tstr(int64_t t, int dates, char *buf, size_t n)
{
    if (t == CPO_TIME_NONE)
        snprintf(buf, n, "(none)");
    else if (dates && t % CPO_MS_DAY == 0)
        cpo_time_format_date(t, buf, n);
    else
        cpo_time_format(t, buf, n);
    return buf;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* The import time of the provenance: the wall clock, or SOURCE_DATE_EPOCH
 * (seconds since 1970, the reproducible-builds convention) when it is set
 * to a whole number, so that the same files make the same store bytes. */
static int64_t now_ms(void)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        errno = 0;
        long long v = strtoll(sde, &end, 10);
        if (!*end && !errno && v >= 0 && v < INT64_MAX / 1000)
            return (int64_t)v * 1000;
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rep_issue(cpo_import_report *r, cpo_issue_level level, int code,
                      long line, long col, const char *msg)
{
    r->n_issues_total++;
    if (r->n_issues >= CPO_REPORT_MAX_ISSUES)
        return;
    cpo_import_issue *is = &r->issues[r->n_issues++];
    is->level = level;
    is->code = code;
    is->line = line;
    is->col = col;
    size_t n = strlen(msg);
    if (n >= sizeof is->msg)
        n = sizeof is->msg - 1;
    memcpy(is->msg, msg, n);
    is->msg[n] = '\0';
}

static int lenient(const cpo_import_ctx *c)
{
    return c->o->mode == CPO_IMPORT_LENIENT;
}

static int max_listed(const cpo_import_ctx *c)
{
    return c->o->max_listed > 0 ? c->o->max_listed : 5;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* --- format detection ------------------------------------------------------- */

typedef struct hdr_peek {
    int got;
    int fmt;
} hdr_peek;

static int has(const cpo_csv_row *h, const char *name)
{
    return cpo_csv_find(h, name) >= 0;
}

static int on_header(void *ud, const cpo_csv_row *h)
{
    hdr_peek *p = ud;
    p->got = 1;
    cpo_format f = CPO_FMT_AUTO;
    if (has(h, "instrument_name") || has(h, "mark_iv") || has(h, "implied_volatility") ||
        (has(h, "option_type") && has(h, "strike")))
        f = CPO_FMT_DERIBIT_CHAIN;
    else if (has(h, "timestamp_ms") && has(h, "iso_date"))
        f = CPO_FMT_DVOL;
    else if (has(h, "Market Cap") && has(h, "snapshot_date"))
        f = CPO_FMT_CMC_MONTHLY;
    else if (has(h, "fundingInterval"))
        f = CPO_FMT_BITMEX_FUNDING;
    else if (has(h, "interest_1h"))
        f = CPO_FMT_DERIBIT_FUNDING;
    else if (has(h, "fundingTime") || has(h, "funding_rate") || has(h, "Funding Rate"))
        f = CPO_FMT_BINANCE_FUNDING;
    else if ((has(h, "timestamp") || has(h, "open_time")) && has(h, "open") && has(h, "high") &&
             has(h, "low") && has(h, "close"))
        f = CPO_FMT_BINANCE_KLINES;
    else if (has(h, "ticks") && has(h, "open") && has(h, "close"))
        f = CPO_FMT_DERIBIT_FUTURES;
    else if ((has(h, "date") || has(h, "time") || has(h, "datetime")) && has(h, "open") &&
             has(h, "high") && has(h, "low") && has(h, "close"))
        f = CPO_FMT_OHLCV;
    p->fmt = f;
    return 1; /* stop after the header */
}

static void format_list(char *buf, size_t n)
{
    size_t w = 0;
    buf[0] = '\0';
    for (int i = 1; i < CPO_FMT_COUNT && w < n; i++) {
        int m = snprintf(buf + w, n - w, "%s%s", i > 1 ? ", " : "", fmt_names[i]);
        if (m < 0)
            break;
        w += (size_t)m;
    }
}

/* Detect the format from the first bytes of the file (head, n bytes, BOM
 * already skipped and not blank). */
static int detect(const char *path, const char *head, size_t n, cpo_format *out,
                  cpo_error *err)
{
    char list[256];
    format_list(list, sizeof list);
    size_t i = 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    if (i < n && head[i] == '{') {
        /* Deribit's chart data, alone or in the API's response (the head
         * may end before "ticks" when "volume" comes first and is long). */
        static const char *const keys[] = {"\"ticks\"", "\"result\"", "\"volume\""};
        for (size_t q = 0; q < 3; q++)
            for (size_t k = i, kl = strlen(keys[q]); k + kl <= n; k++)
                if (!memcmp(head + k, keys[q], kl)) {
                    *out = CPO_FMT_DERIBIT_FUTURES;
                    return 0;
                }
        return cpo_error_set(err, CPO_EFORMAT, path, 1, 0,
                             "cannot tell the format of the JSON object (expected {\"ticks\": "
                             "[...], \"open\": [...], ...} for deribit-futures; or pass --format)");
    }
    if (i < n && head[i] == '[') {
        i++;
        while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
            i++;
        if (i < n && head[i] == '[') {
            *out = CPO_FMT_DVOL;
            return 0;
        }
        if (i < n && head[i] == '{') {
            const char *obj = head + i;
            const char *end = memchr(obj, '}', n - i);
            size_t len = end ? (size_t)(end - obj) : n - i;
            static const char key[] = "\"funding_rate\"";
            for (size_t k = 0; k + sizeof key - 1 <= len; k++)
                if (!memcmp(obj + k, key, sizeof key - 1)) {
                    *out = CPO_FMT_BINANCE_FUNDING_JSON;
                    return 0;
                }
        }
        return cpo_error_set(err, CPO_EFORMAT, path, 1, 0,
                             "cannot tell the format of the JSON array (expected one of: "
                             "[{\"funding_rate\": ...}, ...] for binance-funding-json, "
                             "[[ms, value], ...] for dvol; or pass --format)");
    }
    /* The header line: the first physical line that is not blank. */
    const char *line = head + i;
    const char *nl = memchr(line, '\n', n - i);
    size_t len = nl ? (size_t)(nl - line) : n - i;
    hdr_peek p = {0, CPO_FMT_AUTO};
    cpo_error tmp;
    cpo_error_clear(&tmp);
    cpo_csv_read_mem(path, line, len, on_header, &p, &tmp);
    if (p.got && p.fmt != CPO_FMT_AUTO) {
        *out = (cpo_format)p.fmt;
        return 0;
    }
    /* Line number of the header: count the blank lines skipped. */
    long ln = 1;
    for (size_t k = 0; k < i; k++)
        if (head[k] == '\n')
            ln++;
    return cpo_error_set(err, CPO_EFORMAT, path, ln, 0,
                         "cannot tell the format from the header (expected one of: %s; "
                         "or pass --format)",
                         list);
}

/* --- generic access to the staged series ------------------------------------ */

/* Field types: d double*, l int64_t*, i int32_t*, b int8_t*, s name[SYMBOL],
 * c symbol[CCY].  An array may be NULL where the series allows it (bars'
 * mark_high and mark_low): every value of it is NaN. */
typedef struct fld {
    const char *name;
    size_t off;   /* offset of the array pointer in the series struct */
    char type;
    int attached; /* filled by another import (bars' mark prices): where
                     the rows being merged have NaN, the old value stays */
} fld;

typedef struct kind_ops {
    const char *what;
    const fld *f;   /* key fields first */
    size_t nf;
    size_t n_key;
    size_t off_n;   /* offset of the row count */
    int (*append_blank)(void *s);
    int (*reserve)(void *s, size_t cap); /* NULL: grow by appending */
    void (*empty_like)(void *dst, const void *src);
    void (*fini)(void *s);
    size_t size;    /* sizeof the series struct */
    int (*alloc_null)(void *s); /* give the series its arrays that may be NULL */
} kind_ops;

#define FB(m, t) {#m, offsetof(cpo_bars, m), t, 0}
#define FM(m) {#m, offsetof(cpo_bars, m), 'd', 1}
static const fld bars_f[] = {FB(ts, 'l'),    FB(open, 'd'),   FB(high, 'd'),
                             FB(low, 'd'),   FB(close, 'd'),  FB(volume, 'd'),
                             FM(mark),       FB(index, 'd'),  FM(mark_high),
                             FM(mark_low)};
#undef FM
#undef FB
#define FF(m, t) {#m, offsetof(cpo_funding, m), t, 0}
static const fld funding_f[] = {FF(ts, 'l'), FF(rate, 'd'), FF(mark, 'd'), FF(index, 'd')};
#undef FF
#define FC(m, t) {#m, offsetof(cpo_chain, m), t, 0}
static const fld chain_f[] = {FC(ts, 'l'),       FC(name, 's'),    FC(expiry_ms, 'l'),
                              FC(strike, 'd'),   FC(right, 'b'),   FC(mark_px, 'd'),
                              FC(bid_px, 'd'),   FC(ask_px, 'd'),  FC(mark_iv, 'd'),
                              FC(fwd_px, 'd'),   FC(index_px, 'd'), FC(delta, 'd'),
                              FC(vega, 'd'),     FC(open_interest, 'd')};
#undef FC
#define FV(m, t) {#m, offsetof(cpo_ivindex, m), t, 0}
static const fld iv_f[] = {FV(ts, 'l'), FV(open, 'd'), FV(high, 'd'), FV(low, 'd'),
                           FV(close, 'd')};
#undef FV
#define FK(m, t) {#m, offsetof(cpo_caps, m), t, 0}
static const fld caps_f[] = {FK(ts, 'l'),         FK(rank, 'i'),  FK(market_cap, 'd'),
                             FK(price, 'd'),      FK(supply, 'd'), FK(volume_24h, 'd'),
                             FK(symbol, 'c'),     FK(name, 's')};
#undef FK

static int bars_blank(void *s) { return cpo_bars_append(s, 0, 0, 0, 0, 0, 0, 0, NAN, NAN, 0); }
static int bars_alloc_null(void *s) { return cpo_bars_alloc_mark_hl(s); }
static int funding_blank(void *s) { return cpo_funding_append(s, 0, 0, 0, 0); }
static int chain_blank(void *s) { return cpo_chain_append_row(s, NULL); }
static int iv_blank(void *s) { return cpo_ivindex_append(s, 0, 0, 0, 0, 0); }
static int caps_blank(void *s) { return cpo_caps_append(s, 0, 0, NULL, NULL, 0, 0, 0, 0); }
static int bars_reserve(void *s, size_t n) { return cpo_bars_reserve(s, n); }
static int funding_reserve(void *s, size_t n) { return cpo_funding_reserve(s, n); }
static int chain_reserve(void *s, size_t n) { return cpo_chain_reserve(s, n); }

static void bars_like(void *d, const void *s)
{
    cpo_bars_init(d);
    ((cpo_bars *)d)->bar_ms = ((const cpo_bars *)s)->bar_ms;
}
static void funding_like(void *d, const void *s)
{
    cpo_funding_init(d);
    ((cpo_funding *)d)->interval_ms = ((const cpo_funding *)s)->interval_ms;
}
static void chain_like(void *d, const void *s) { cpo_chain_init(d, ((const cpo_chain *)s)->underlying); }
static void iv_like(void *d, const void *s) { cpo_ivindex_init(d, ((const cpo_ivindex *)s)->name); }
static void caps_like(void *d, const void *s)
{
    (void)s;
    cpo_caps_init(d);
}
static void bars_fini(void *s) { cpo_bars_fini(s); }
static void funding_fini(void *s) { cpo_funding_fini(s); }
static void chain_fini(void *s) { cpo_chain_fini(s); }
static void iv_fini(void *s) { cpo_ivindex_fini(s); }
static void caps_fini(void *s) { cpo_caps_fini(s); }

#define NF(a) (sizeof(a) / sizeof((a)[0]))
static const kind_ops ops_bars = {"bars", bars_f, NF(bars_f), 1, offsetof(cpo_bars, n),
                                  bars_blank, bars_reserve, bars_like, bars_fini, sizeof(cpo_bars),
                                  bars_alloc_null};
static const kind_ops ops_funding = {"funding", funding_f, NF(funding_f), 1,
                                     offsetof(cpo_funding, n), funding_blank, funding_reserve,
                                     funding_like, funding_fini, sizeof(cpo_funding), NULL};
static const kind_ops ops_chain = {"chain", chain_f, NF(chain_f), 2, offsetof(cpo_chain, n),
                                   chain_blank, chain_reserve, chain_like, chain_fini,
                                   sizeof(cpo_chain), NULL};
static const kind_ops ops_iv = {"IV index", iv_f, NF(iv_f), 1, offsetof(cpo_ivindex, n),
                                iv_blank, NULL, iv_like, iv_fini, sizeof(cpo_ivindex), NULL};
static const kind_ops ops_caps = {"caps", caps_f, NF(caps_f), 2, offsetof(cpo_caps, n),
                                  caps_blank, NULL, caps_like, caps_fini, sizeof(cpo_caps), NULL};

typedef union any_series {
    cpo_bars b;
    cpo_funding f;
    cpo_chain c;
    cpo_ivindex v;
    cpo_caps k;
} any_series;

static const kind_ops *ops_of(cpo_stage_kind k)
{
    switch (k) {
    case CPO_STAGE_BARS:
    case CPO_STAGE_MARK: return &ops_bars;
    case CPO_STAGE_FUNDING: return &ops_funding;
    case CPO_STAGE_CHAIN: return &ops_chain;
    case CPO_STAGE_IV: return &ops_iv;
    case CPO_STAGE_CAPS: return &ops_caps;
    default: return NULL;
    }
}

static void *staged(cpo_import_ctx *c)
{
    switch (c->stage) {
    case CPO_STAGE_BARS:
    case CPO_STAGE_MARK: return &c->bars;
    case CPO_STAGE_FUNDING: return &c->funding;
    case CPO_STAGE_CHAIN: return &c->chain;
    case CPO_STAGE_IV: return &c->iv;
    case CPO_STAGE_CAPS: return &c->caps;
    default: return NULL;
    }
}

static size_t sz_of(char t)
{
    switch (t) {
    case 'd': case 'l': return 8;
    case 'i': return 4;
    case 'b': return 1;
    case 's': return CPO_SYMBOL_MAX;
    default: return CPO_CCY_MAX;
    }
}

static size_t rows(const kind_ops *k, const void *s)
{
    return *(const size_t *)((const char *)s + k->off_n);
}

static void *arr(const fld *f, const void *s)
{
    return *(void *const *)((const char *)s + f->off);
}

static const int64_t *ts_arr(const kind_ops *k, const void *s)
{
    return arr(&k->f[0], s);
}

/* Value i of a double field; NaN where the array is NULL. */
static double dval(const fld *f, const void *s, size_t i)
{
    const double *p = arr(f, s);
    return p ? p[i] : NAN;
}

/* Compare one field of row i of a with row j of b: <0, 0, >0 (NaN == NaN). */
static int fcmp(const fld *f, const void *a, size_t i, const void *b, size_t j)
{
    const void *pa = arr(f, a), *pb = arr(f, b);
    switch (f->type) {
    case 'd': {
        double x = dval(f, a, i), y = dval(f, b, j);
        if (x == y || (isnan(x) && isnan(y)))
            return 0;
        return isnan(x) ? -1 : isnan(y) ? 1 : (x < y ? -1 : 1);
    }
    case 'l': {
        int64_t x = ((const int64_t *)pa)[i], y = ((const int64_t *)pb)[j];
        return x < y ? -1 : x > y;
    }
    case 'i': {
        int32_t x = ((const int32_t *)pa)[i], y = ((const int32_t *)pb)[j];
        return x < y ? -1 : x > y;
    }
    case 'b': {
        int8_t x = ((const int8_t *)pa)[i], y = ((const int8_t *)pb)[j];
        return x < y ? -1 : x > y;
    }
    default: {
        size_t w = sz_of(f->type);
        return strncmp((const char *)pa + i * w, (const char *)pb + j * w, w);
    }
    }
}

static int key_cmp(const kind_ops *k, const void *a, size_t i, const void *b, size_t j)
{
    for (size_t q = 0; q < k->n_key; q++) {
        int r = fcmp(&k->f[q], a, i, b, j);
        if (r)
            return r;
    }
    return 0;
}

static const char *fval(const fld *f, const void *s, size_t i, char *buf, size_t n)
{
    const void *p = arr(f, s);
    switch (f->type) {
    case 'd': return num(dval(f, s, i), buf, n);
    case 'l': return tstr(((const int64_t *)p)[i], 0, buf, n);
    case 'i': snprintf(buf, n, "%d", (int)((const int32_t *)p)[i]); return buf;
    case 'b': snprintf(buf, n, "%d", (int)((const int8_t *)p)[i]); return buf;
    default: {
        size_t w = sz_of(f->type);
        snprintf(buf, n, "\"%.*s\"", (int)w, (const char *)p + i * w);
        return buf;
    }
    }
}

/* If row i of a and row j of b differ, describe the first difference as
 * "close 4108.37 there, 4110 here" and return 1.  merging (b's rows are
 * being merged over a's): an attached field that is NaN in b or in a is
 * no difference (b keeps a's value, or gives the one a lacked). */
static int row_diff(const kind_ops *k, const void *a, size_t i, const void *b, size_t j,
                    int merging, char *buf, size_t n)
{
    for (size_t q = 0; q < k->nf; q++) {
        if (fcmp(&k->f[q], a, i, b, j) == 0)
            continue;
        if (merging && k->f[q].attached &&
            (isnan(dval(&k->f[q], a, i)) || isnan(dval(&k->f[q], b, j))))
            continue;
        char x[80], y[80];
        snprintf(buf, n, "%s %s there, %s here", k->f[q].name, fval(&k->f[q], a, i, x, sizeof x),
                 fval(&k->f[q], b, j, y, sizeof y));
        return 1;
    }
    return 0;
}

/* "timestamp 2024-01-01", "row for BTC-...-C at ...", "rank 5 at ..." */
static const char *key_text(const kind_ops *k, const void *s, size_t i, int dates, char *buf,
                            size_t n)
{
    char t[48];
    tstr(ts_arr(k, s)[i], dates, t, sizeof t);
    if (k == &ops_chain)
        snprintf(buf, n, "row for %s at %s", ((const cpo_chain *)s)->name[i], t);
    else if (k == &ops_caps)
        snprintf(buf, n, "rank %d at %s", (int)((const cpo_caps *)s)->rank[i], t);
    else
        snprintf(buf, n, "timestamp %s", t);
    return buf;
}

/* Append row i of src to dst.  A NULL array of src is NaN there (the
 * blank row of dst is NaN, or its array NULL too); a value for a NULL
 * array of dst allocates it. */
static int copy_row(const kind_ops *k, void *dst, const void *src, size_t i)
{
    int rc = k->append_blank(dst);
    if (rc)
        return rc;
    size_t o = rows(k, dst) - 1;
    for (size_t q = 0; q < k->nf; q++) {
        const fld *f = &k->f[q];
        size_t w = sz_of(f->type);
        if (!arr(f, src) || (!arr(f, dst) && isnan(dval(f, src, i))))
            continue;
        if (!arr(f, dst) && (!k->alloc_null || k->alloc_null(dst)))
            return CPO_ENOMEM;
        memcpy((char *)arr(f, dst) + o * w, (const char *)arr(f, src) + i * w, w);
    }
    return 0;
}

/* Row o of dst came from rows being merged over row i of old: where an
 * attached field of it is NaN, put old's value back. */
static int keep_attached(const kind_ops *k, void *dst, size_t o, const void *old, size_t i)
{
    for (size_t q = 0; q < k->nf; q++) {
        const fld *f = &k->f[q];
        double v = f->attached ? dval(f, old, i) : NAN;
        if (isnan(v) || !isnan(dval(f, dst, o)))
            continue;
        if (!arr(f, dst) && (!k->alloc_null || k->alloc_null(dst)))
            return CPO_ENOMEM;
        ((double *)arr(f, dst))[o] = v;
    }
    return 0;
}

static long line_at(const cpo_import_ctx *c, size_t i)
{
    return i < c->n_line ? c->line[i] : 0;
}

/* Replace the staged series by its rows idx[0..m), in that order; the
 * source lines follow. */
static int rebuild(cpo_import_ctx *c, const kind_ops *k, const size_t *idx, size_t m)
{
    void *s = staged(c);
    any_series t;
    k->empty_like(&t, s);
    long *nl = malloc((m ? m : 1) * sizeof *nl);
    int rc = nl ? 0 : CPO_ENOMEM;
    if (!rc && k->reserve)
        rc = k->reserve(&t, m);
    for (size_t r = 0; r < m && !rc; r++) {
        rc = copy_row(k, &t, s, idx[r]);
        nl[r] = line_at(c, idx[r]);
    }
    if (rc) {
        k->fini(&t);
        free(nl);
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    }
    k->fini(s);
    memcpy(s, &t, k->size);
    free(c->line);
    c->line = nl;
    c->n_line = c->cap_line = m;
    return 0;
}

/* Rebuild keeping the rows with keep[i] != 0. */
static int compact(cpo_import_ctx *c, const kind_ops *k, const unsigned char *keep)
{
    size_t n = rows(k, staged(c)), m = 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            idx[m++] = i;
    int rc = m == n ? 0 : rebuild(c, k, idx, m);
    free(idx);
    return rc;
}

/* --- sorting ---------------------------------------------------------------- */

static void msort(const kind_ops *k, const void *s, size_t *p, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    if (n < 16) { /* insertion sort: stable */
        for (size_t i = 1; i < n; i++) {
            size_t v = p[i], j = i;
            while (j > 0 && key_cmp(k, s, v, s, p[j - 1]) < 0) {
                p[j] = p[j - 1];
                j--;
            }
            p[j] = v;
        }
        return;
    }
    size_t h = n / 2;
    msort(k, s, p, tmp, h);
    msort(k, s, p + h, tmp, n - h);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        tmp[o++] = key_cmp(k, s, p[j], s, p[i]) < 0 ? p[j++] : p[i++];
    while (i < h)
        tmp[o++] = p[i++];
    while (j < n)
        tmp[o++] = p[j++];
    memcpy(p, tmp, n * sizeof *p);
}

static int sort_staged(cpo_import_ctx *c, const kind_ops *k)
{
    void *s = staged(c);
    size_t n = rows(k, s);
    size_t *p = malloc((n ? n : 1) * sizeof *p), *tmp = malloc((n ? n : 1) * sizeof *tmp);
    int rc;
    if (!p || !tmp) {
        rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    msort(k, s, p, tmp, n);
    rc = rebuild(c, k, p, n);
cleanup:
    free(p);
    free(tmp);
    return rc;
}

/* --- checks ----------------------------------------------------------------- */

typedef struct vstate {
    const kind_ops *k;
    int timed; /* keyed by time alone: order, gaps */
    int dates; /* every time is a midnight: show dates */
} vstate;

static int col_of(const cpo_import_ctx *c, const char *field)
{
    if (!strcmp(field, "ts"))
        return c->col_ts;
    if (c->stage != CPO_STAGE_BARS && c->stage != CPO_STAGE_MARK && c->stage != CPO_STAGE_IV)
        return 0;
    if (!strcmp(field, "open"))
        return c->col_open;
    if (!strcmp(field, "high"))
        return c->col_high;
    if (!strcmp(field, "low"))
        return c->col_low;
    if (!strcmp(field, "close"))
        return c->col_close;
    if (!strcmp(field, "volume"))
        return c->col_volume;
    return 0;
}

static int required_number(const cpo_import_ctx *c, const char *field)
{
    switch (c->stage) {
    case CPO_STAGE_BARS:
    case CPO_STAGE_MARK:
        return !strcmp(field, "open") || !strcmp(field, "high") || !strcmp(field, "low") ||
               !strcmp(field, "close");
    case CPO_STAGE_FUNDING: return !strcmp(field, "rate");
    case CPO_STAGE_CHAIN: return !strcmp(field, "strike");
    case CPO_STAGE_IV: return !strcmp(field, "close");
    default: return 0;
    }
}

/* The tail of a row problem's message in lenient mode. */
#define SFX (lenient(c) ? "; row dropped" : "")

/* OHLC sanity of one row (bars, IV).  Values that are NaN are skipped (IV
 * indices may carry only a close). */
static int check_ohlc(cpo_import_ctx *c, double o, double h, double l, double cl, double vol,
                      long ln, int check_pos, int *drop)
{
    const double v[4] = {o, h, l, cl};
    static const char *const nm[4] = {"open", "high", "low", "close"};
    const int cols[4] = {c->col_open, c->col_high, c->col_low, c->col_close};
    char a[64], b[64];
    int rc = 0;
    for (int q = 0; q < 4 && !*drop && check_pos; q++)
        if (!isnan(v[q]) && !(v[q] > 0)) {
            rc = cpo_import_problem(c, CPO_EDATA, ln, cols[q], "%s %s is not positive (expected a price > 0)%s",
                                    nm[q], num(v[q], a, sizeof a), SFX);
            *drop = 1;
        }
    if (!*drop && (vol < 0 || isinf(vol))) {
        rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_volume,
                                "volume %s is negative (expected a volume >= 0)%s",
                                num(vol, a, sizeof a), SFX);
        *drop = 1;
    }
    static const char want[] = "expected low <= open, close <= high";
    if (!*drop && l > o) {
        rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_low, "low %s is above open %s (%s)%s",
                                num(l, a, sizeof a), num(o, b, sizeof b), want, SFX);
        *drop = 1;
    } else if (!*drop && l > cl) {
        rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_low, "low %s is above close %s (%s)%s",
                                num(l, a, sizeof a), num(cl, b, sizeof b), want, SFX);
        *drop = 1;
    } else if (!*drop && h < o) {
        rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_high, "high %s is below open %s (%s)%s",
                                num(h, a, sizeof a), num(o, b, sizeof b), want, SFX);
        *drop = 1;
    } else if (!*drop && h < cl) {
        rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_high, "high %s is below close %s (%s)%s",
                                num(h, a, sizeof a), num(cl, b, sizeof b), want, SFX);
        *drop = 1;
    } else if (!*drop && l > h) {
        rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_low, "low %s is above high %s (%s)%s",
                                num(l, a, sizeof a), num(h, b, sizeof b), want, SFX);
        *drop = 1;
    }
    return rc;
}

/* Numbers: no infinities anywhere, no NaN where a number is required, a
 * time on every row; OHLC sanity for bars and IV indices. */
static int check_values(cpo_import_ctx *c, const vstate *v)
{
    const kind_ops *k = v->k;
    void *s = staged(c);
    size_t n = rows(k, s), dropped = 0;
    unsigned char *keep = malloc(n ? n : 1);
    if (!keep)
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    int rc = 0;
    const int64_t *ts = ts_arr(k, s);
    /* Per field: required, and its column for messages. */
    int req[16], fcol[16];
    const double *fa[16];
    for (size_t q = 0; q < k->nf && q < 16; q++) {
        req[q] = required_number(c, k->f[q].name);
        fcol[q] = col_of(c, k->f[q].name);
        fa[q] = k->f[q].type == 'd' ? arr(&k->f[q], s) : NULL;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        long ln = line_at(c, i);
        int drop = 0;
        keep[i] = 1;
        if (ts[i] == CPO_TIME_NONE) {
            rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_ts, "time is missing (expected a time)%s", SFX);
            drop = 1;
        }
        for (size_t q = 1; q < k->nf && !drop; q++) {
            const fld *f = &k->f[q];
            if (!fa[q])
                continue;
            double x = fa[q][i];
            if (isfinite(x) || (isnan(x) && !req[q]))
                continue;
            rc = cpo_import_problem(c, CPO_EDATA, ln, fcol[q], "%s is %s (expected a finite number)%s",
                                    f->name, isnan(x) ? "missing" : "infinite", SFX);
            drop = 1;
        }
        if (!drop && (c->stage == CPO_STAGE_BARS || c->stage == CPO_STAGE_MARK)) {
            const cpo_bars *b = &c->bars;
            rc = check_ohlc(c, b->open[i], b->high[i], b->low[i], b->close[i],
                            isnan(b->volume[i]) ? 0 : b->volume[i], ln, 1, &drop);
        } else if (!drop && c->stage == CPO_STAGE_IV) {
            const cpo_ivindex *x = &c->iv;
            double lo = isnan(x->low[i]) ? -INFINITY : x->low[i];
            double hi = isnan(x->high[i]) ? INFINITY : x->high[i];
            double op = isnan(x->open[i]) ? x->close[i] : x->open[i];
            /* An index may carry only a close: the parts not given are
             * replaced by neutral values for the OHLC relations. */
            for (int q = 0; q < 4 && !drop; q++) {
                double val = q == 0 ? x->open[i] : q == 1 ? x->high[i] : q == 2 ? x->low[i] : x->close[i];
                static const char *const nm[4] = {"open", "high", "low", "close"};
                const int cols[4] = {c->col_open, c->col_high, c->col_low, c->col_close};
                char a[64];
                if (!isnan(val) && !(val > 0)) {
                    rc = cpo_import_problem(c, CPO_EDATA, ln, cols[q],
                                            "%s %s is not positive (expected a value > 0)%s", nm[q],
                                            num(val, a, sizeof a), SFX);
                    drop = 1;
                }
            }
            if (!drop)
                rc = check_ohlc(c, op, hi, lo, x->close[i], 0, ln, 0, &drop);
        }
        if (drop) {
            keep[i] = 0;
            dropped++;
        }
    }
    if (!rc && dropped) {
        c->rep->dropped += dropped;
        rc = compact(c, k, keep);
    }
    free(keep);
    return rc;
}

/* Order: time-keyed series must increase; chains and caps are sorted by
 * their key (the order of their rows in a file carries no meaning). */
static int check_order(cpo_import_ctx *c, const vstate *v)
{
    const kind_ops *k = v->k;
    void *s = staged(c);
    size_t n = rows(k, s), desc = 0, first = 0;
    const int64_t *ts = ts_arr(k, s);
    int key_sorted = 1;
    for (size_t i = 1; i < n; i++) {
        if (ts[i] < ts[i - 1]) {
            if (!desc)
                first = i;
            desc++;
        }
        if (key_sorted && key_cmp(k, s, i, s, i - 1) < 0)
            key_sorted = 0;
    }
    if (!v->timed)
        return key_sorted ? 0 : sort_staged(c, k);
    if (!desc)
        return 0;
    c->rep->reordered = desc;
    if (c->o->sort) {
        cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0, "sorted by time: %zu %s out of order", desc,
                        plural(desc, "row was", "rows were"));
    } else {
        char a[48], b[48];
        int rc = cpo_import_problem(c, CPO_EORDER, line_at(c, first), c->col_ts,
                                    "timestamp %s is earlier than the previous row's %s "
                                    "(expected increasing times; pass --sort to sort)%s",
                                    tstr(ts[first], v->dates, a, sizeof a),
                                    tstr(ts[first - 1], v->dates, b, sizeof b),
                                    lenient(c) ? "; rows sorted by time" : "");
        if (rc)
            return rc;
        if (desc > 1)
            cpo_import_note(c, CPO_ISSUE_REPAIRED, CPO_EORDER, 0, 0,
                            "sorted by time: %zu rows were out of order", desc);
    }
    return sort_staged(c, k);
}

/* Duplicate keys (the rows are sorted). */
static int check_dups(cpo_import_ctx *c, const vstate *v)
{
    const kind_ops *k = v->k;
    void *s = staged(c);
    size_t n = rows(k, s), dropped = 0;
    if (n < 2)
        return 0;
    unsigned char *keep = malloc(n);
    if (!keep)
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    memset(keep, 1, n);
    int rc = 0;
    size_t prev = 0;
    for (size_t i = 1; i < n && !rc; i++) {
        if (key_cmp(k, s, prev, s, i) != 0) {
            prev = i;
            continue;
        }
        char key[128], d[200];
        key_text(k, s, i, v->dates, key, sizeof key);
        long lp = line_at(c, prev), li = line_at(c, i);
        c->rep->duplicates++;
        if (!row_diff(k, s, prev, s, i, 0, d, sizeof d)) {
            if (lenient(c))
                rc = cpo_import_problem(c, CPO_EDUP, li, c->col_ts,
                                        "duplicate %s (same values as line %ld); row dropped", key, lp);
            else
                rc = cpo_import_problem(c, CPO_EDUP, li, c->col_ts,
                                        "duplicate %s (first at line %ld; expected one row per %s)",
                                        key, lp, v->timed ? "time" : "key");
            keep[i] = 0;
        } else {
            if (lenient(c))
                rc = cpo_import_problem(c, CPO_EDUP, li, c->col_ts,
                                        "duplicate %s with different values (first at line %ld: %s); "
                                        "kept this row, dropped line %ld",
                                        key, lp, d, lp);
            else
                rc = cpo_import_problem(c, CPO_EDUP, li, c->col_ts,
                                        "duplicate %s with different values (first at line %ld: %s; "
                                        "expected one row per %s)",
                                        key, lp, d, v->timed ? "time" : "key");
            keep[prev] = 0;
            prev = i;
        }
        dropped++;
    }
    if (!rc) {
        c->rep->dropped += dropped;
        if (dropped)
            rc = compact(c, k, keep);
    }
    free(keep);
    return rc;
}

/* The expected spacing: the option, else the median spacing (rounded to
 * the second when that is within the jitter tolerance). */
static int find_step(cpo_import_ctx *c, const vstate *v, int64_t *step)
{
    *step = c->o->step_ms > 0 ? c->o->step_ms : 0;
    void *s = staged(c);
    size_t n = rows(v->k, s);
    if (*step || n < 2)
        return 0;
    const int64_t *ts = ts_arr(v->k, s);
    /* Spacings in ms are exact as doubles (< 2^53). */
    double *d = malloc((n - 1) * sizeof *d);
    if (!d)
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    for (size_t i = 1; i < n; i++)
        d[i - 1] = (double)(ts[i] - ts[i - 1]);
    int64_t m = (int64_t)gsl_stats_select(d, 1, n - 1, (n - 1) / 2);
    free(d);
    if (m >= CPO_MS_MINUTE) {
        int64_t r = (m + CPO_MS_SECOND / 2) / CPO_MS_SECOND * CPO_MS_SECOND;
        m = r;
    }
    *step = m;
    return 0;
}

static int64_t tolerance(int64_t step)
{
    int64_t t = step / 10;
    return t < CPO_MS_MINUTE ? t : CPO_MS_MINUTE;
}

/* The funding interval in force at time t: the regime (as the file gave
 * it) with the latest start at or before t, else the median spacing. */
static int64_t interval_at(const cpo_import_ctx *c, int64_t t, int64_t step)
{
    int64_t best_from = 0, iv = 0;
    for (size_t k = 0; k < c->n_regimes; k++)
        if (c->regime_from[k] <= t && (!iv || c->regime_from[k] >= best_from) &&
            c->regime_iv[k] > 0) {
            best_from = c->regime_from[k];
            iv = c->regime_iv[k];
        }
    return iv > 0 ? iv : step;
}

static void count_gaps(cpo_import_ctx *c, const vstate *v, int64_t step)
{
    cpo_import_report *r = c->rep;
    void *s = staged(c);
    size_t n = rows(v->k, s);
    const int64_t *ts = ts_arr(v->k, s);
    r->step_ms = step;
    if (step <= 0 || n < 2)
        return;
    char list[CPO_ERROR_MSG_MAX], t[48], sd[32];
    size_t w = 0, listed = 0;
    long first_line = 0;
    list[0] = '\0';
    for (size_t i = 1; i < n; i++) {
        int64_t d = ts[i] - ts[i - 1], st = step;
        if (c->stage == CPO_STAGE_FUNDING)
            st = interval_at(c, ts[i - 1], step);
        if (d <= st + tolerance(st))
            continue;
        int64_t miss = (int64_t)llround((double)d / (double)st) - 1;
        if (miss < 1)
            miss = 1;
        r->gaps++;
        r->missing_steps += (size_t)miss;
        if (listed < (size_t)max_listed(c)) {
            if (!listed)
                first_line = line_at(c, i);
            int m = snprintf(list + w, w < sizeof list ? sizeof list - w : 0,
                             "%sgap after %s: %lld missing %s", listed ? "; " : "",
                             tstr(ts[i - 1], v->dates, t, sizeof t), (long long)miss,
                             miss == 1 ? "step" : "steps");
            if (m > 0 && w + (size_t)m < sizeof list)
                w += (size_t)m;
            listed++;
        }
    }
    if (!r->gaps)
        return;
    cpo_duration_format(step, sd, sizeof sd);
    char more[48] = "";
    if (r->gaps > listed)
        snprintf(more, sizeof more, "; (and %zu more)", r->gaps - listed);
    cpo_import_note(c, CPO_ISSUE_WARNING, 0, first_line, 0, "%zu %s (%zu missing %s at step %s): %s%s",
                    r->gaps, plural(r->gaps, "gap", "gaps"), r->missing_steps,
                    plural(r->missing_steps, "step", "steps"), sd, list, more);
}

static int partial_last(cpo_import_ctx *c, const vstate *v)
{
    cpo_bars *b = &c->bars;
    size_t n = b->n;
    if ((c->stage != CPO_STAGE_BARS && c->stage != CPO_STAGE_MARK) || n == 0 ||
        c->o->partial_last == CPO_PARTIAL_KEEP)
        return 0;
    char t[48];
    tstr(b->ts[n - 1], v->dates, t, sizeof t);
    long ln = line_at(c, n - 1);
    if (c->o->partial_last == CPO_PARTIAL_DROP) {
        cpo_import_note(c, CPO_ISSUE_INFO, 0, ln, 0, "last bar %s dropped as partial (declared)", t);
        b->n--;
        if (c->n_line > b->n)
            c->n_line = b->n;
        c->rep->dropped++;
        return 0;
    }
    /* FLAG: a last volume under half the median of the 20 before it. */
    double last = b->volume[n - 1], w[20];
    size_t m = 0;
    for (size_t i = n - 1; i > 0 && m < 20; i--)
        if (isfinite(b->volume[i - 1]))
            w[m++] = b->volume[i - 1];
    if (m < 5 || !isfinite(last))
        return 0;
    double med = gsl_stats_median(w, 1, m);
    if (med > 0 && last < 0.5 * med) {
        char a[64];
        if (fabs(last) >= 100)
            snprintf(a, sizeof a, "%.0f", last);
        else
            snprintf(a, sizeof a, "%.4g", last);
        cpo_import_note(c, CPO_ISSUE_WARNING, 0, ln, c->col_volume,
                        "last bar %s looks partial: volume %s is %.0f%% of the recent median "
                        "(expected a whole bar; pass --partial-last=drop)",
                        t, a, floor(100.0 * last / med + 0.5));
    }
    return 0;
}

static int validate(cpo_import_ctx *c)
{
    vstate v;
    v.k = ops_of(c->stage);
    v.timed = c->stage == CPO_STAGE_BARS || c->stage == CPO_STAGE_MARK ||
              c->stage == CPO_STAGE_FUNDING || c->stage == CPO_STAGE_IV;
    void *s = staged(c);
    size_t n = rows(v.k, s);
    /* Keep the line numbers in step with the rows whatever the reader did. */
    if (c->n_line != n) {
        long *nl = realloc(c->line, (n ? n : 1) * sizeof *nl);
        if (!nl)
            return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        for (size_t i = c->n_line; i < n; i++)
            nl[i] = 0;
        c->line = nl;
        c->n_line = n;
        c->cap_line = n ? n : 1;
    }
    const int64_t *ts = ts_arr(v.k, s);
    v.dates = n > 0;
    for (size_t i = 0; i < n && v.dates; i++)
        if (ts[i] == CPO_TIME_NONE || ts[i] % CPO_MS_DAY != 0)
            v.dates = 0;
    int rc = check_values(c, &v);
    if (!rc)
        rc = check_order(c, &v);
    if (!rc)
        rc = check_dups(c, &v);
    if (rc)
        return rc;
    int64_t step = 0;
    if (v.timed && (rc = find_step(c, &v, &step)) != 0)
        return rc;
    if ((c->stage == CPO_STAGE_BARS || c->stage == CPO_STAGE_MARK) && step > 0)
        c->bars.bar_ms = step;
    if (c->stage == CPO_STAGE_FUNDING && c->funding.interval_ms <= 0 && step > 0)
        c->funding.interval_ms = step;
    if ((rc = partial_last(c, &v)) != 0)
        return rc;
    s = staged(c);
    n = rows(v.k, s);
    ts = ts_arr(v.k, s);
    if (v.timed)
        count_gaps(c, &v, step);
    if (n) {
        c->rep->first_ms = ts[0];
        c->rep->last_ms = ts[n - 1];
    }
    c->rep->rows_kept = n;
    return 0;
}

/* --- merging into the dataset ------------------------------------------------ */

/* Merge the staged series (sorted, unique keys) with old (may be NULL) into
 * out.  Rows in both: identical ones are counted in *same; differing ones
 * refuse the import (strict) or keep the new row (lenient). */
static int merge_rows(cpo_import_ctx *c, const kind_ops *k, const void *old, void *s, void *out,
                      int dates, size_t *same)
{
    size_t na = old ? rows(k, old) : 0, nb = rows(k, s);
    *same = 0;
    if (na == 0) { /* move */
        memcpy(out, s, k->size);
        memset(s, 0, k->size); /* the staging area no longer owns the arrays */
        return 0;
    }
    k->empty_like(out, s);
    int rc = k->reserve ? k->reserve(out, na + nb) : 0;
    size_t i = 0, j = 0;
    while (!rc && (i < na || j < nb)) {
        int cmp = i < na && j < nb ? key_cmp(k, old, i, s, j) : (i < na ? -1 : 1);
        if (cmp < 0) {
            rc = copy_row(k, out, old, i++);
            continue;
        }
        if (cmp > 0) {
            rc = copy_row(k, out, s, j++);
            continue;
        }
        char d[200], key[128];
        if (row_diff(k, old, i, s, j, 1, d, sizeof d)) {
            key_text(k, s, j, dates, key, sizeof key);
            rc = cpo_import_problem(c, CPO_EDATA, line_at(c, j), c->col_ts,
                                    lenient(c) ? "%s is already in the dataset with different values (%s); "
                                                 "kept the new row"
                                               : "%s is already in the dataset with different values (%s; "
                                                 "expected the same values where imports overlap)",
                                    key, d);
            if (rc)
                break;
        } else {
            (*same)++;
        }
        rc = copy_row(k, out, s, j++);
        if (!rc)
            rc = keep_attached(k, out, rows(k, out) - 1, old, i);
        i++;
    }
    if (rc) {
        k->fini(out);
        if (rc == CPO_ENOMEM)
            return cpo_import_fail(c, rc, 0, 0, "out of memory");
        return rc;
    }
    return 0;
}

/* --- attaching mark prices (binance-mark-klines) ------------------------------- */

/* a mod b in [0, b) for b > 0. */
static int64_t mod_pos(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/*
 * The staged bars hold the mark price's OHLC (checked like any bars).  Each
 * goes onto the bar of instrument c->instr.symbol (a perpetual or future
 * already in ds) that opens at the same time: mark = its close, mark_high
 * and mark_low.  A mark bar with no such bar would be lost: strict refuses
 * the file there, lenient drops it and says so (as the readers do with a
 * row they cannot use); bars of the instrument within the file's span that
 * get no mark bar are a warning (nothing is lost; gaps are warnings too).
 * Marks already there: the same values are fine, different ones refuse
 * the file (strict) or are replaced (lenient), as in every merge.
 */
static int attach_mark(cpo_dataset *ds, cpo_import_ctx *c, const cpo_provenance *prov)
{
    const cpo_bars *mk = &c->bars;
    const char *sym = c->instr.symbol;
    cpo_import_report *r = c->rep;
    size_t n = mk->n;
    int dates = 1;
    for (size_t j = 0; j < n && dates; j++)
        dates = mk->ts[j] % CPO_MS_DAY == 0;
    long idx = cpo_dataset_find(ds, sym);
    if (idx < 0)
        return cpo_import_fail(c, CPO_ENOTFOUND, line_at(c, 0), c->col_ts,
                               "%s is not in the dataset (expected its klines imported first: "
                               "before this file on the command line, or in a section above "
                               "this one in the manifest)",
                               sym);
    const cpo_instrument *in = &ds->instr[idx];
    cpo_bars *ob = &ds->bars[idx];
    if (in->kind != CPO_KIND_PERP && in->kind != CPO_KIND_FUTURE)
        return cpo_import_fail(c, CPO_EINVAL, line_at(c, 0), c->col_ts,
                               "%s is a %s instrument (expected a perpetual or future: mark "
                               "prices belong to derivatives)",
                               sym, cpo_kind_name(in->kind));
    if (ob->n == 0)
        return cpo_import_fail(c, CPO_ENOTFOUND, line_at(c, 0), c->col_ts,
                               "%s has no bars in the dataset (expected its klines imported "
                               "first: before this file on the command line, or in a section "
                               "above this one in the manifest)",
                               sym);
    int64_t step = ob->bar_ms > 0 ? ob->bar_ms : mk->bar_ms;
    char a[48], b[48], d[200];
    if (ob->bar_ms > 0 && mk->bar_ms > 0 && ob->bar_ms != mk->bar_ms) {
        cpo_duration_format(ob->bar_ms, a, sizeof a);
        cpo_duration_format(mk->bar_ms, b, sizeof b);
        return cpo_import_fail(c, CPO_EDATA, 0, 0,
                               "the bars of %s in the dataset are %s, these mark bars are %s "
                               "(expected mark-price klines of the bars' interval)",
                               sym, a, b);
    }
    /* Pass 1: where each mark bar goes (SIZE_MAX: nowhere), problems. */
    size_t *at = malloc((n ? n : 1) * sizeof *at);
    if (!at)
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    static const char *const nm[3] = {"mark", "mark_high", "mark_low"};
    size_t on = ob->n, i = 0, matched = 0, unmatched = 0, same = 0;
    int rc = 0;
    for (size_t j = 0; j < n && !rc; j++) {
        int64_t t = mk->ts[j];
        while (i < on && ob->ts[i] < t)
            i++;
        long ln = line_at(c, j);
        at[j] = SIZE_MAX;
        if (i == on || ob->ts[i] != t) {
            unmatched++;
            tstr(t, dates, a, sizeof a);
            if (step > 0 && mod_pos(t - ob->ts[0], step) != 0) {
                char st[32];
                cpo_duration_format(step, st, sizeof st);
                rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_ts,
                                        "mark bar at %s is not on the %s grid of the bars of %s "
                                        "(expected open times %s + k*%s)%s",
                                        a, st, sym, tstr(ob->ts[0], dates, b, sizeof b), st, SFX);
            } else {
                rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_ts,
                                        lenient(c) ? "mark bar at %s has no bar of %s at that "
                                                     "time (expected a bar to attach it to); row "
                                                     "dropped"
                                                   : "mark bar at %s has no bar of %s at that "
                                                     "time (expected a bar to attach it to: "
                                                     "import the klines that cover it first, "
                                                     "or pass --lenient to drop such rows)",
                                        a, sym);
            }
            continue;
        }
        const double nv[3] = {mk->close[j], mk->high[j], mk->low[j]};
        const double ov[3] = {ob->mark[i], ob->mark_high ? ob->mark_high[i] : NAN,
                              ob->mark_low ? ob->mark_low[i] : NAN};
        int q = 0, known = 0;
        while (q < 3 && (isnan(ov[q]) || ov[q] == nv[q])) {
            known += !isnan(ov[q]);
            q++;
        }
        if (q < 3) {
            char x[48], y[48];
            snprintf(d, sizeof d, "%s %s there, %s here", nm[q], num(ov[q], x, sizeof x),
                     num(nv[q], y, sizeof y));
            tstr(t, dates, a, sizeof a);
            rc = cpo_import_problem(c, CPO_EDATA, ln, c->col_ts,
                                    lenient(c) ? "mark of %s at %s is already in the dataset "
                                                 "with different values (%s); kept the new "
                                                 "values"
                                               : "mark of %s at %s is already in the dataset "
                                                 "with different values (%s; expected the same "
                                                 "values where imports overlap)",
                                    sym, a, d);
        } else if (known == 3) {
            same++;
        }
        at[j] = i;
        matched++;
    }
    if (!rc && matched == 0)
        rc = cpo_import_fail(c, CPO_EDATA, 0, 0,
                             "none of the %zu mark bars falls on a bar of %s, %s .. %s "
                             "(expected mark-price klines over the period of its klines)",
                             n, sym, tstr(ob->ts[0], dates, a, sizeof a),
                             tstr(ob->ts[on - 1], dates, b, sizeof b));
    cpo_provenance p = *prov;
    p.rows_kept = (int64_t)matched;
    if (!rc && (rc = cpo_dataset_add_provenance(ds, &p, c->err)) == 0 &&
        cpo_bars_alloc_mark_hl(ob) != 0) {
        ds->n_prov--;
        rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    }
    if (rc) {
        free(at);
        return rc;
    }
    /* Pass 2: write (nothing can fail from here on). */
    for (size_t j = 0; j < n; j++) {
        if (at[j] == SIZE_MAX)
            continue;
        ob->mark[at[j]] = mk->close[j];
        ob->mark_high[at[j]] = mk->high[j];
        ob->mark_low[at[j]] = mk->low[j];
    }
    /* Bars within the file's span without a mark bar in it. */
    size_t lo = cpo_ts_count_before(ob->ts, on, mk->ts[0]);
    size_t hi = cpo_ts_count_before(ob->ts, on, mk->ts[n - 1] + 1);
    size_t unmarked = hi > lo ? hi - lo - matched : 0, listed = 0, w = 0, jj = 0;
    if (unmarked) {
        char list[CPO_ERROR_MSG_MAX] = "";
        for (size_t k = lo; k < hi && listed < (size_t)max_listed(c); k++) {
            while (jj < n && (at[jj] == SIZE_MAX || at[jj] < k))
                jj++;
            if (jj < n && at[jj] == k)
                continue;
            int m = snprintf(list + w, sizeof list - w, "%s%s", listed ? ", " : "",
                             tstr(ob->ts[k], dates, a, sizeof a));
            if (m > 0 && w + (size_t)m < sizeof list)
                w += (size_t)m;
            listed++;
        }
        char more[48] = "";
        if (unmarked > listed)
            snprintf(more, sizeof more, " (and %zu more)", unmarked - listed);
        cpo_import_note(c, CPO_ISSUE_WARNING, 0, 0, 0,
                        "%zu %s of %s within this file's span %s no mark bar in it: %s%s",
                        unmarked, plural(unmarked, "bar", "bars"), sym,
                        plural(unmarked, "has", "have"), list, more);
    }
    free(at);
    size_t have = 0;
    for (size_t k = 0; k < on; k++)
        have += !isnan(ob->mark_high[k]);
    if (same)
        cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                        "%zu %s already in the dataset with the same values", same,
                        plural(same, "row was", "rows were"));
    cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0, "%s: %zu of %zu bars have a mark price", sym,
                    have, on);
    r->marked = matched;
    r->unmatched = unmatched;
    r->unmarked = unmarked;
    r->rows_kept = matched;
    r->dropped += unmatched;
    return 0;
}

/* The series of ds that the staged bars or funding of c->instr go into
 * (*old NULL and *idx -1 for a new instrument), once the instrument and
 * the bar size agree with those of ds. */
static int old_series(cpo_dataset *ds, cpo_import_ctx *c, const void **old, long *idx)
{
    *old = NULL;
    *idx = cpo_dataset_find(ds, c->instr.symbol);
    if (*idx < 0)
        return 0;
    size_t dummy;
    int rc = cpo_dataset_add(ds, &c->instr, &dummy, c->err); /* checks only */
    if (rc) {
        /* The message is about this file: name it. */
        char msg[CPO_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", c->err ? c->err->msg : "");
        return cpo_import_fail(c, rc, 0, 0, "%s%s", msg,
                               c->stage == CPO_STAGE_FUNDING
                                   ? "; --settle says which perpetual the funding is of"
                                   : "");
    }
    if (c->stage != CPO_STAGE_BARS) {
        *old = &ds->funding[*idx];
        return 0;
    }
    const cpo_bars *ob = &ds->bars[*idx];
    *old = ob;
    if (ob->n && ob->bar_ms && c->bars.bar_ms && ob->bar_ms != c->bars.bar_ms) {
        char x[32], y[32];
        cpo_duration_format(ob->bar_ms, x, sizeof x);
        cpo_duration_format(c->bars.bar_ms, y, sizeof y);
        return cpo_import_fail(c, CPO_EDATA, 0, 0,
                               "the bars of %s in the dataset are %s, these are %s "
                               "(expected the same bar size; import them under another --symbol)",
                               c->instr.symbol, x, y);
    }
    return 0;
}

static int merge(cpo_dataset *ds, cpo_import_ctx *c, const cpo_provenance *prov)
{
    if (c->stage == CPO_STAGE_MARK)
        return attach_mark(ds, c, prov);
    const kind_ops *k = ops_of(c->stage);
    void *s = staged(c);
    const void *old = NULL;
    long idx = -1;
    int dates = 1;
    const int64_t *ts = ts_arr(k, s);
    for (size_t i = 0; i < rows(k, s) && dates; i++)
        if (ts[i] % CPO_MS_DAY)
            dates = 0;
    switch (c->stage) {
    case CPO_STAGE_BARS:
    case CPO_STAGE_FUNDING: {
        int rc = old_series(ds, c, &old, &idx);
        if (rc)
            return rc;
        break;
    }
    case CPO_STAGE_CHAIN:
        for (size_t i = 0; i < ds->n_chains; i++)
            if (!strcmp(ds->chains[i].underlying, c->chain.underlying))
                old = &ds->chains[i];
        break;
    case CPO_STAGE_IV:
        for (size_t i = 0; i < ds->n_iv; i++)
            if (!strcmp(ds->iv[i].name, c->iv.name))
                old = &ds->iv[i];
        break;
    case CPO_STAGE_CAPS: old = &ds->caps; break;
    default: break;
    }
    any_series out;
    size_t same = 0;
    int rc = merge_rows(c, k, old, s, &out, dates, &same);
    if (rc)
        return rc;
    if ((rc = cpo_dataset_add_provenance(ds, prov, c->err)) != 0)
        goto fail;
    void *dst = NULL;
    switch (c->stage) {
    case CPO_STAGE_BARS:
    case CPO_STAGE_FUNDING: {
        size_t at = (size_t)idx;
        if (idx < 0 && (rc = cpo_dataset_add(ds, &c->instr, &at, c->err)) != 0)
            goto undo;
        dst = c->stage == CPO_STAGE_BARS ? (void *)&ds->bars[at] : (void *)&ds->funding[at];
        break;
    }
    case CPO_STAGE_CHAIN: {
        cpo_chain *ch;
        if ((rc = cpo_dataset_chain(ds, c->chain.underlying, &ch, c->err)) != 0)
            goto undo;
        dst = ch;
        break;
    }
    case CPO_STAGE_IV: {
        cpo_ivindex *iv;
        if ((rc = cpo_dataset_ivindex(ds, c->iv.name, &iv, c->err)) != 0)
            goto undo;
        dst = iv;
        break;
    }
    default: dst = &ds->caps; break;
    }
    k->fini(dst);
    memcpy(dst, &out, k->size);
    if (same)
        cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                        "%zu %s already in the dataset with the same values", same,
                        plural(same, "row was", "rows were"));
    return 0;
undo:
    ds->n_prov--;
fail:
    k->fini(&out);
    return rc;
}

/* --- several instruments' bars from one file (CPO_STAGE_SETS) ------------------ */

/* Move set k into the staging area as bars (load) or back (store). */
static void set_swap(cpo_import_ctx *c, size_t k, int load)
{
    cpo_bar_set *set = &c->sets[k];
    if (load) {
        c->stage = CPO_STAGE_BARS;
        c->instr = set->instr;
        cpo_bars_fini(&c->bars);
        c->bars = set->bars;
        free(c->line);
        c->line = set->line;
        c->n_line = c->cap_line = set->bars.n;
        set->line = NULL;
        cpo_bars_init(&set->bars);
    } else {
        c->stage = CPO_STAGE_SETS;
        set->bars = c->bars;
        set->line = c->line;
        cpo_bars_init(&c->bars);
        c->line = NULL;
        c->n_line = c->cap_line = 0;
    }
}

/*
 * The checks of validate() on each set in turn, with its own bar spacing
 * (the reader's: sparse quotes are not spaced by their bar) and no partial
 * last bar; the report adds them up.
 */
static int validate_sets(cpo_import_ctx *c)
{
    cpo_import_report *r = c->rep;
    const cpo_import_opts *given = c->o;
    cpo_import_opts o = *given;
    o.partial_last = CPO_PARTIAL_KEEP;
    c->o = &o;
    size_t kept = 0, gaps = 0, missing = 0;
    int64_t first = CPO_TIME_NONE, last = CPO_TIME_NONE;
    int rc = 0;
    for (size_t k = 0; k < c->n_sets && !rc; k++) {
        int64_t bar_ms = c->sets[k].bars.bar_ms;
        set_swap(c, k, 1);
        r->gaps = r->missing_steps = 0;
        rc = validate(c);
        c->bars.bar_ms = bar_ms;
        set_swap(c, k, 0);
        if (rc)
            break;
        kept += r->rows_kept;
        gaps += r->gaps;
        missing += r->missing_steps;
        if (r->rows_kept && (first == CPO_TIME_NONE || r->first_ms < first))
            first = r->first_ms;
        if (r->rows_kept && (last == CPO_TIME_NONE || r->last_ms > last))
            last = r->last_ms;
    }
    c->o = given;
    r->rows_kept = kept;
    r->gaps = gaps;
    r->missing_steps = missing;
    r->first_ms = first;
    r->last_ms = last;
    r->step_ms = 0;
    return rc;
}

/* Merge every set into its instrument's series: each merged apart first,
 * then all put in ds; ds does not change unless all of them go in. */
static int merge_sets(cpo_dataset *ds, cpo_import_ctx *c, const cpo_provenance *prov)
{
    size_t n = c->n_sets, same = 0;
    cpo_bars *out = calloc(n ? n : 1, sizeof *out);
    long *idx = calloc(n ? n : 1, sizeof *idx);
    int rc = out && idx ? 0 : cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    for (size_t k = 0; k < n && !rc; k++)
        cpo_bars_init(&out[k]);
    for (size_t k = 0; k < n && !rc; k++) {
        const void *old = NULL;
        size_t sk = 0;
        set_swap(c, k, 1);
        int dates = 1;
        for (size_t i = 0; i < c->bars.n && dates; i++)
            dates = c->bars.ts[i] % CPO_MS_DAY == 0;
        rc = old_series(ds, c, &old, &idx[k]);
        if (!rc)
            rc = merge_rows(c, &ops_bars, old, &c->bars, &out[k], dates, &sk);
        set_swap(c, k, 0);
        same += sk;
    }
    /* The new instruments go at the end of ds (with empty series): taken
     * back by their count if one of them or the provenance cannot go in. */
    size_t n0 = ds->n_instr;
    for (size_t k = 0; k < n && !rc; k++) {
        size_t at;
        if (idx[k] < 0 && (rc = cpo_dataset_add(ds, &c->sets[k].instr, &at, c->err)) == 0)
            idx[k] = (long)at;
    }
    if (!rc)
        rc = cpo_dataset_add_provenance(ds, prov, c->err);
    if (rc)
        ds->n_instr = n0;
    for (size_t k = 0; k < n && !rc; k++) { /* nothing can fail from here on */
        cpo_bars_fini(&ds->bars[idx[k]]);
        ds->bars[idx[k]] = out[k];
        cpo_bars_init(&out[k]);
    }
    for (size_t k = 0; out && k < n; k++)
        cpo_bars_fini(&out[k]);
    free(out);
    free(idx);
    if (!rc && same)
        cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                        "%zu %s already in the dataset with the same values", same,
                        plural(same, "row was", "rows were"));
    return rc;
}

static void free_sets(cpo_import_ctx *c)
{
    for (size_t k = 0; k < c->n_sets; k++) {
        cpo_bars_fini(&c->sets[k].bars);
        free(c->sets[k].line);
    }
    free(c->sets);
    c->sets = NULL;
    c->n_sets = 0;
}

/* --- the import ------------------------------------------------------------- */

static int run_reader(cpo_import_ctx *c, cpo_format f)
{
    switch (f) {
    case CPO_FMT_BINANCE_KLINES: return cpo_read_klines(c);
    case CPO_FMT_BINANCE_MARK_KLINES: return cpo_read_mark_klines(c);
    case CPO_FMT_OHLCV: return cpo_read_ohlcv(c);
    case CPO_FMT_BINANCE_FUNDING: return cpo_read_binance_funding(c);
    case CPO_FMT_BINANCE_FUNDING_JSON: return cpo_read_binance_funding_json(c);
    case CPO_FMT_BITMEX_FUNDING: return cpo_read_bitmex_funding(c);
    case CPO_FMT_DERIBIT_FUNDING: return cpo_read_deribit_funding(c);
    case CPO_FMT_DERIBIT_CHAIN: return cpo_read_deribit_chain(c);
    case CPO_FMT_DVOL: return cpo_read_dvol(c);
    case CPO_FMT_CMC_MONTHLY: return cpo_read_cmc(c);
    case CPO_FMT_BINANCE_DELIVERY_KLINES: return cpo_read_delivery_klines(c);
    case CPO_FMT_DERIBIT_FUTURES: return cpo_read_deribit_futures(c);
    case CPO_FMT_DERIBIT_CHAIN_FUTURES: return cpo_read_chain_futures(c);
    default:
        return cpo_import_fail(c, CPO_EINVAL, 0, 0, "no reader for format %d (expected a known format)",
                               (int)f);
    }
}

static void options_text(const cpo_import_opts *o, int64_t step, char *buf, size_t n)
{
    char tz[32], st[32], snap[48];
    static const char *const modes[] = {"strict", "lenient"};
    static const char *const partial[] = {"flag", "drop", "keep"};
    static const char *const ivu[] = {"auto", "decimal", "percent"};
    cpo_tz_format(&o->tz, tz, sizeof tz);
    if (o->step_ms > 0)
        cpo_duration_format(o->step_ms, st, sizeof st);
    else if (step > 0) {
        char d[24];
        cpo_duration_format(step, d, sizeof d);
        snprintf(st, sizeof st, "auto(%s)", d);
    } else
        snprintf(st, sizeof st, "auto");
    if (o->snapshot_ms == CPO_TIME_NONE)
        snprintf(snap, sizeof snap, "none");
    else
        cpo_time_format(o->snapshot_ms, snap, sizeof snap);
    snprintf(buf, n,
             "mode=%s sort=%d tz=%s partial_last=%s step=%s kind=%s settle=%s symbol=%s "
             "exchange=%s contract_size=%g iv_unit=%s snapshot=%s keep_last_poll=%d name=%s",
             modes[o->mode == CPO_IMPORT_LENIENT], o->sort ? 1 : 0, tz,
             (unsigned)o->partial_last < 3 ? partial[o->partial_last] : "?", st,
             cpo_kind_name(o->kind), cpo_settle_name(o->settle), o->symbol ? o->symbol : "auto",
             o->exchange ? o->exchange : "auto", o->contract_size,
             (unsigned)o->iv_unit < 3 ? ivu[o->iv_unit] : "?", snap, o->keep_last_poll ? 1 : 0,
             o->name ? o->name : "auto");
}

/* The target of sets: "14 futures of BTC, ETH" (at most 3 coins named). */
static void set_target_sets(cpo_import_ctx *c)
{
    char list[CPO_SYMBOL_MAX] = "";
    const char *seen[3];
    size_t w = 0, named = 0;
    for (size_t k = 0; k < c->n_sets && named <= 3; k++) {
        const char *u = c->sets[k].instr.underlying;
        size_t j = 0;
        while (j < named && j < 3 && strcmp(seen[j], u))
            j++;
        if (j < named)
            continue;
        int m = snprintf(list + w, sizeof list - w, "%s%s", named ? ", " : "",
                         named < 3 ? u : "...");
        if (m > 0 && w + (size_t)m < sizeof list)
            w += (size_t)m;
        if (named < 3)
            seen[named] = u;
        named++;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "%zu %s of %s", c->n_sets, plural(c->n_sets, "future", "futures"),
             list);
    size_t n = strlen(buf); /* cut to the target's size */
    if (n >= sizeof c->rep->target)
        n = sizeof c->rep->target - 1;
    memcpy(c->rep->target, buf, n);
    c->rep->target[n] = '\0';
}

static void set_target(cpo_import_ctx *c)
{
    const char *t = "";
    switch (c->stage) {
    case CPO_STAGE_BARS:
    case CPO_STAGE_MARK:
    case CPO_STAGE_FUNDING: t = c->instr.symbol; break;
    case CPO_STAGE_CHAIN: t = c->chain.underlying; break;
    case CPO_STAGE_IV: t = c->iv.name; break;
    case CPO_STAGE_CAPS: t = "caps"; break;
    case CPO_STAGE_SETS: set_target_sets(c); return;
    default: break;
    }
    copy_str(c->rep->target, sizeof c->rep->target, t);
}

static int blank_bytes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* The SHA-256 of the file, a side job of the parse (core/sidejob.h). */
typedef struct hash_job {
    const char *path;
    char hex[65];
} hash_job;

static int hash_run(void *ctx, cpo_error *err)
{
    hash_job *j = ctx;
    return cpo_sha256_file(j->path, j->hex, err);
}

/* The provenance record of the file c read: its SHA-256 (the side job hs,
 * joined here), format, target, rows, the options and the time. */
static int provenance(cpo_import_ctx *c, cpo_format fmt, const hash_job *hj, cpo_side_job *hs,
                      cpo_error *lerr, cpo_provenance *prov)
{
    cpo_import_report *r = c->rep;
    memset(prov, 0, sizeof *prov);
    copy_str(prov->source, sizeof prov->source, c->path);
    int rc = cpo_side_join(hs, 0, lerr);
    if (rc)
        return rc;
    memcpy(prov->sha256, hj->hex, sizeof prov->sha256);
    copy_str(prov->format, sizeof prov->format, cpo_format_name(fmt));
    copy_str(prov->target, sizeof prov->target, r->target);
    prov->rows_read = (int64_t)r->rows_read;
    prov->rows_kept = (int64_t)r->rows_kept;
    prov->import_ms = now_ms();
    options_text(c->o, r->step_ms, prov->options, sizeof prov->options);
    return 0;
}

int cpo_import_file(cpo_dataset *ds, const char *path, const cpo_import_opts *opts,
                    cpo_import_report *rep, cpo_error *err)
{
    cpo_import_opts defaults;
    if (!opts) {
        cpo_import_opts_init(&defaults);
        opts = &defaults;
    }
    cpo_import_report *r = rep ? rep : malloc(sizeof *r);
    if (!r)
        return cpo_error_set(err, CPO_ENOMEM, path, 0, 0, "out of memory");
    memset(r, 0, sizeof *r);
    copy_str(r->path, sizeof r->path, path);
    r->format = opts->format;
    r->first_ms = r->last_ms = CPO_TIME_NONE;

    cpo_error lerr;
    cpo_error_clear(&lerr);
    cpo_import_ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.o = opts;
    c.rep = r;
    c.err = &lerr;
    cpo_bars_init(&c.bars);
    cpo_funding_init(&c.funding);
    cpo_chain_init(&c.chain, "");
    cpo_ivindex_init(&c.iv, "");
    cpo_caps_init(&c.caps);

    int rc = 0, rerr = 0, whole = 0;
    hash_job hj;
    memset(&hj, 0, sizeof hj);
    hj.path = path;
    cpo_side_job hs;
    cpo_side_defer(&hs, NULL, NULL); /* nothing to join until the hash is set up */
    enum { HEAD = 1 << 16 };
    FILE *f = NULL;
    size_t got = 0;
    const char *h = NULL;
    cpo_format fmt = opts->format;
    char *head = malloc(HEAD);
    if (!head) {
        rc = cpo_error_set(&lerr, CPO_ENOMEM, path, 0, 0, "out of memory");
        goto cleanup;
    }
    if (!path) {
        rc = cpo_error_set(&lerr, CPO_EINVAL, NULL, 0, 0, "no file given (expected a path)");
        goto cleanup;
    }
    f = fopen(path, "rb");
    if (!f) {
        rc = cpo_error_set(&lerr, CPO_EIO, path, 0, 0, "cannot open: %s (expected a readable file)",
                           strerror(errno));
        goto cleanup;
    }
    got = fread(head, 1, HEAD, f);
    whole = got < HEAD;
    rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (rerr) {
        rc = cpo_error_set(&lerr, CPO_EIO, path, 0, 0, "cannot read: %s (expected a readable file)",
                           strerror(rerr));
        goto cleanup;
    }
    h = head;
    if (got >= 3 && !memcmp(h, "\xEF\xBB\xBF", 3)) {
        h += 3;
        got -= 3;
    }
    if (blank_bytes(h, got)) {
        rc = cpo_error_set(&lerr, CPO_EDATA, path, 0, 0,
                           "file is empty (expected a header line and rows)");
        goto cleanup;
    }
    if (fmt == CPO_FMT_AUTO && (rc = detect(path, h, got, &fmt, &lerr)) != 0)
        goto cleanup;
    if ((unsigned)fmt >= CPO_FMT_COUNT) {
        rc = cpo_error_set(&lerr, CPO_EINVAL, path, 0, 0, "unknown format %d (expected one of the known formats)",
                           (int)fmt);
        goto cleanup;
    }
    r->format = fmt;

    /* A large file's SHA-256 is computed on a second thread while it is
     * parsed.  One that fits in the head is hashed after the parse: starting
     * a thread costs more than hashing 64 KiB (and, under ASan, ~20 % of a
     * small import).  Without a store (ds NULL) there is no provenance. */
    if (ds && !whole)
        cpo_side_start(&hs, hash_run, &hj);
    else
        cpo_side_defer(&hs, ds ? hash_run : NULL, &hj);
    rc = run_reader(&c, fmt);
    set_target(&c);
    {
        /* Rows the reader read: at least those staged and those dropped. */
        const kind_ops *k = ops_of(c.stage);
        size_t n = k ? rows(k, staged(&c)) : 0;
        if (r->rows_read < n + r->dropped)
            r->rows_read = n + r->dropped;
    }
    if (rc)
        goto cleanup;
    if (c.stage == CPO_STAGE_SETS) {
        cpo_provenance prov;
        if ((rc = validate_sets(&c)) == 0 && r->rows_kept == 0)
            rc = cpo_import_fail(&c, CPO_EDATA, 0, 0,
                                 "no usable rows: all %zu %s dropped (expected at least one valid row)",
                                 r->rows_read, plural(r->rows_read, "row was", "rows were"));
        if (!rc && ds && (rc = provenance(&c, fmt, &hj, &hs, &lerr, &prov)) == 0)
            rc = merge_sets(ds, &c, &prov);
        goto cleanup;
    }
    if (!ops_of(c.stage)) {
        rc = cpo_import_fail(&c, CPO_EINVAL, 0, 0, "the %s reader staged nothing (internal error)",
                             cpo_format_name(fmt));
        goto cleanup;
    }
    if (c.stage == CPO_STAGE_BARS || c.stage == CPO_STAGE_FUNDING || c.stage == CPO_STAGE_MARK) {
        if (!c.instr.symbol[0]) {
            rc = cpo_import_fail(&c, CPO_EINVAL, 0, 0, "no symbol for the rows (expected --symbol)");
            goto cleanup;
        }
    } else if (c.stage == CPO_STAGE_CHAIN && !c.chain.underlying[0]) {
        rc = cpo_import_fail(&c, CPO_EINVAL, 0, 0, "no underlying for the chain (expected e.g. BTC)");
        goto cleanup;
    } else if (c.stage == CPO_STAGE_IV && !c.iv.name[0]) {
        copy_str(c.iv.name, sizeof c.iv.name, opts->name ? opts->name : "BTC-DVOL");
        set_target(&c);
    }
    if (r->rows_read == 0) {
        rc = cpo_import_fail(&c, CPO_EDATA, 0, 0, "no data rows (expected at least one row)");
        goto cleanup;
    }
    if ((rc = validate(&c)) != 0)
        goto cleanup;
    if (r->rows_kept == 0) {
        rc = cpo_import_fail(&c, CPO_EDATA, 0, 0,
                             "no usable rows: all %zu %s dropped (expected at least one valid row)",
                             r->rows_read, plural(r->rows_read, "row was", "rows were"));
        goto cleanup;
    }
    if (ds) {
        cpo_provenance prov;
        if ((rc = provenance(&c, fmt, &hj, &hs, &lerr, &prov)) != 0 ||
            (rc = merge(ds, &c, &prov)) != 0)
            goto cleanup;
    }

cleanup:
    cpo_side_join(&hs, -1, NULL); /* a thread still hashing is waited for; nothing runs */
    if (rc) {
        if (lerr.code == CPO_OK)
            cpo_error_set(&lerr, rc, path, 0, 0, "%s", cpo_strerror(rc));
        if (!lerr.path[0] && path)
            copy_str(lerr.path, sizeof lerr.path, path);
        r->rows_kept = 0;
        rep_issue(r, CPO_ISSUE_ERROR, rc, lerr.line, lerr.col, lerr.msg);
        if (err)
            *err = lerr;
    }
    cpo_bars_fini(&c.bars);
    cpo_funding_fini(&c.funding);
    cpo_chain_fini(&c.chain);
    cpo_ivindex_fini(&c.iv);
    cpo_caps_fini(&c.caps);
    free_sets(&c);
    free(c.line);
    free(head);
    if (!rep)
        free(r);
    return rc;
}

/* --- the report ---------------------------------------------------------------- */

void cpo_import_report_print(const cpo_import_report *r, FILE *out)
{
    static const char *const lv[] = {"info", "warning", "repaired", "error"};
    fprintf(out, "%s: %s -> %s: %zu %s read, %zu kept", r->path, cpo_format_name(r->format),
            r->target[0] ? r->target : "?", r->rows_read, plural(r->rows_read, "row", "rows"),
            r->rows_kept);
    int dates = r->first_ms != CPO_TIME_NONE && r->first_ms % CPO_MS_DAY == 0 &&
                r->last_ms % CPO_MS_DAY == 0 && (r->step_ms <= 0 || r->step_ms % CPO_MS_DAY == 0);
    if (r->rows_kept && r->first_ms != CPO_TIME_NONE) {
        char a[48], b[48];
        fprintf(out, ", %s .. %s", tstr(r->first_ms, dates, a, sizeof a),
                tstr(r->last_ms, dates, b, sizeof b));
    }
    if (r->rows_kept && r->step_ms > 0) {
        char s[32];
        cpo_duration_format(r->step_ms, s, sizeof s);
        fprintf(out, ", step %s, %zu %s (%zu missing %s)", s, r->gaps, plural(r->gaps, "gap", "gaps"),
                r->missing_steps, plural(r->missing_steps, "step", "steps"));
    }
    if (r->rows_kept && r->format == CPO_FMT_BINANCE_MARK_KLINES)
        fprintf(out, "; %zu %s marked, %zu mark %s without a bar, %zu %s without a mark bar",
                r->marked, plural(r->marked, "bar", "bars"), r->unmatched,
                plural(r->unmatched, "bar", "bars"), r->unmarked,
                plural(r->unmarked, "bar", "bars"));
    fputc('\n', out);
    for (size_t i = 0; i < r->n_issues && i < CPO_REPORT_MAX_ISSUES; i++) {
        const cpo_import_issue *is = &r->issues[i];
        const char *l = (unsigned)is->level < 4 ? lv[is->level] : "issue";
        if (is->line > 0 && is->col > 0)
            fprintf(out, "  %s: %s:%ld:%ld: %s\n", l, r->path, is->line, is->col, is->msg);
        else if (is->line > 0)
            fprintf(out, "  %s: %s:%ld: %s\n", l, r->path, is->line, is->msg);
        else
            fprintf(out, "  %s: %s: %s\n", l, r->path, is->msg);
    }
    if (r->n_issues_total > r->n_issues)
        fprintf(out, "  (and %zu more)\n", r->n_issues_total - r->n_issues);
}
