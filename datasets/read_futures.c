/*
 * read_futures.c - dated futures: their names and contract terms, and the
 * readers of binance-delivery-klines and deribit-futures.
 *
 * The instrument comes from the symbol (opts->symbol, else the file name),
 * never from --kind or --settle:
 *
 *   Binance USD-M   BTCUSDT_260327  linear, quote USDT, contract 1 coin
 *   Binance COIN-M  BTCUSD_260327   inverse, quote USD, contract 100 USD for
 *                                   BTC, 10 USD for every other coin
 *   Deribit         BTC-27MAR26     inverse, quote USD, contract 10 USD for
 *                                   BTC, 1 USD for ETH (other coins need
 *                                   --contract-size)
 *
 * The expiry is 08:00 UTC of the date in the name.  Binance's quarterlies
 * settle on the last Friday of March, June, September and December: a date
 * that is not a Friday is refused, a Friday that is not one of those gets a
 * warning.  Kind future, base and underlying the coin, no funding.
 * opts->exchange and opts->contract_size override the exchange ("binance",
 * "deribit") and the contract size.  A bar that opens at or after the
 * expiry is a problem (strict: refused; lenient: dropped).
 *
 * binance-delivery-klines reads the klines layout (read_klines.c); the
 * volume of USD-M klines is in the coin, that of COIN-M klines counts
 * contracts, so COIN-M bars take base_asset_volume (the coin) and have no
 * volume without that column.
 * deribit-futures reads the chart data of Deribit's
 * public/get_tradingview_chart_data: as CSV with a header (ticks, open,
 * high, low, close, volume; ticks in ms; read by the klines reader), or as
 * the API's JSON, the result object {"ticks": [...], "open": [...], ...,
 * "status": "ok"} alone or inside the response {"result": {...}}.  Deribit's
 * volume is in the coin, as the store's volume is; "cost" (USD) is ignored.
 */
#include "read_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cpo_month_abbr[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const WEEKDAYS[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

int cpo_deribit_date(const char *d, size_t dl, int64_t *expiry)
{
    size_t k = 0;
    int day = 0, mon = 0, yy = 0;
    while (k < dl && k < 2 && isdigit((unsigned char)d[k]))
        day = day * 10 + (d[k++] - '0');
    if (k < 1 || dl != k + 5)
        return -1;
    for (int m = 0; m < 12; m++)
        if (!memcmp(d + k, cpo_month_abbr[m], 3))
            mon = m + 1;
    if (!mon || !isdigit((unsigned char)d[k + 3]) || !isdigit((unsigned char)d[k + 4]))
        return -1;
    yy = (d[k + 3] - '0') * 10 + (d[k + 4] - '0');
    cpo_civil cv = {2000 + yy, mon, day, 8, 0, 0, 0};
    return day >= 1 && cpo_time_from_civil(&cv, expiry) == 0 ? 0 : -1;
}

/* A coin code: 1 to 15 upper-case letters and digits, a letter among them. */
static int coin_code(const char *s, size_t n)
{
    int letter = 0;
    if (n == 0 || n >= CPO_CCY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isupper(ch) || isdigit(ch)))
            return 0;
        letter |= isupper(ch) != 0;
    }
    return letter;
}

static void future_init(cpo_instrument *out, const char *sym, size_t n, const char *coin,
                        size_t coin_n, cpo_settle settle, const char *quote, const char *exchange,
                        int64_t expiry, double contract_size)
{
    char s[CPO_SYMBOL_MAX];
    snprintf(s, sizeof s, "%.*s", (int)n, sym);
    cpo_instrument_init(out, s, CPO_KIND_FUTURE, settle);
    snprintf(out->base, sizeof out->base, "%.*s", (int)coin_n, coin);
    snprintf(out->underlying, sizeof out->underlying, "%s", out->base);
    snprintf(out->quote, sizeof out->quote, "%s", quote);
    snprintf(out->exchange, sizeof out->exchange, "%s", exchange);
    out->expiry_ms = expiry;
    out->contract_size = contract_size;
    out->funding_interval_ms = 0;
}

int cpo_future_deribit(const char *s, size_t n, cpo_instrument *out, char *why, size_t wn)
{
    const char *dash = memchr(s, '-', n);
    if (n >= CPO_SYMBOL_MAX) {
        snprintf(why, wn, "longer than %d characters", CPO_SYMBOL_MAX - 1);
        return -1;
    }
    if (!dash) {
        snprintf(why, wn, "no '-' between the coin and the date");
        return -1;
    }
    size_t cn = (size_t)(dash - s), dn = n - cn - 1;
    if (!coin_code(s, cn)) {
        snprintf(why, wn, "coin \"%.*s\"", (int)cn, s);
        return -1;
    }
    int64_t expiry;
    if (memchr(dash + 1, '-', dn) || cpo_deribit_date(dash + 1, dn, &expiry)) {
        snprintf(why, wn, "expiry date \"%.*s\"", (int)dn, dash + 1);
        return -1;
    }
    double size = cn == 3 && !memcmp(s, "BTC", 3) ? 10.0 : cn == 3 && !memcmp(s, "ETH", 3) ? 1.0 : 0.0;
    future_init(out, s, n, s, cn, CPO_SETTLE_INVERSE, "USD", "deribit", expiry, size);
    return 0;
}

int cpo_future_binance(const char *s, size_t n, cpo_instrument *out, int *quarterly, char *why,
                       size_t wn)
{
    const char *us = memchr(s, '_', n);
    *quarterly = 0;
    if (n >= CPO_SYMBOL_MAX) {
        snprintf(why, wn, "longer than %d characters", CPO_SYMBOL_MAX - 1);
        return -1;
    }
    if (!us) {
        snprintf(why, wn, "no '_' between the pair and the date");
        return -1;
    }
    size_t pn = (size_t)(us - s), dn = n - pn - 1;
    const char *quote = NULL;
    size_t qn = 0;
    if (pn > 4 && !memcmp(us - 4, "USDT", 4)) {
        quote = "USDT";
        qn = 4;
    } else if (pn > 3 && !memcmp(us - 3, "USD", 3)) {
        quote = "USD";
        qn = 3;
    }
    if (!quote || pn - qn < 2 || !coin_code(s, pn - qn)) {
        snprintf(why, wn, "pair \"%.*s\"", (int)pn, s);
        return -1;
    }
    const char *d = us + 1;
    int ok = dn == 6;
    for (size_t i = 0; ok && i < 6; i++)
        ok = isdigit((unsigned char)d[i]) != 0;
    int64_t expiry = 0;
    cpo_civil cv = {0, 0, 0, 8, 0, 0, 0};
    if (ok) {
        cv.year = 2000 + (d[0] - '0') * 10 + (d[1] - '0');
        cv.month = (d[2] - '0') * 10 + (d[3] - '0');
        cv.day = (d[4] - '0') * 10 + (d[5] - '0');
        ok = cpo_time_from_civil(&cv, &expiry) == 0;
    }
    if (!ok) {
        snprintf(why, wn, "date \"%.*s\" (expected YYMMDD)", (int)(dn < 20 ? dn : 20), d);
        return -1;
    }
    int64_t day = cpo_days_from_civil(cv.year, cv.month, cv.day);
    int wd = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    if (wd != 5) {
        snprintf(why, wn, "%04d-%02d-%02d, a %s", cv.year, cv.month, cv.day, WEEKDAYS[wd]);
        return -2;
    }
    *quarterly = cpo_future_quarterly_after(expiry - 1) == expiry;
    int inverse = qn == 3;
    double size = !inverse ? 1.0 : (pn - qn == 3 && !memcmp(s, "BTC", 3)) ? 100.0 : 10.0;
    future_init(out, s, n, s, pn - qn, inverse ? CPO_SETTLE_INVERSE : CPO_SETTLE_LINEAR, quote,
                "binance", expiry, size);
    return 0;
}

int cpo_import_before_expiry(cpo_import_ctx *c, const cpo_instrument *in, long line, long col,
                             const char *what, int64_t ts)
{
    if (in->expiry_ms == CPO_TIME_NONE || ts < in->expiry_ms)
        return 0;
    char a[40], b[40];
    cpo_time_format(ts, a, sizeof a);
    cpo_time_format(in->expiry_ms, b, sizeof b);
    return cpo_read_problem(c, CPO_EDATA, line, col, "; row dropped",
                            "%s %s is at or after the expiry of %s, %s (expected times before the "
                            "expiry its name gives: the data disagree with the symbol)",
                            what, a, in->symbol, b);
}

/* --- the instrument of a file -------------------------------------------------- */

/* Upper-case copy of s[0..n) into out (cap bytes); 0 if it does not fit. */
static int upper(const char *s, size_t n, char *out, size_t cap)
{
    if (n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    out[n] = '\0';
    return 1;
}

/*
 * A future's name in a file name: a run of letters and digits, then sep,
 * then a date (Binance: six digits; Deribit: D or DD, three letters, two
 * digits), then anything that is not a letter or digit.  The first such
 * name is copied upper-case into out (the caller parses it and says what
 * is wrong with it); 0 if none.
 */
static int name_from_path(const char *path, char sep, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    for (size_t i = 1; i < n; i++) {
        if (b[i] != sep || !isalnum((unsigned char)b[i - 1]))
            continue;
        size_t s = i;
        while (s > 0 && isalnum((unsigned char)b[s - 1]))
            s--;
        size_t e = i + 1;
        while (e < n && isalnum((unsigned char)b[e]))
            e++;
        char tok[CPO_SYMBOL_MAX];
        int64_t t;
        if (!upper(b + s, e - s, tok, sizeof tok))
            continue;
        const char *d = tok + (i - s) + 1;
        size_t dn = e - i - 1;
        int date = sep == '_' ? dn == 6 && strspn(d, "0123456789") == 6
                              : cpo_deribit_date(d, dn, &t) == 0;
        if (date) {
            snprintf(out, cap, "%s", tok);
            return 1;
        }
    }
    return 0;
}

/* c->instr from opts->symbol or the file name; binance: the Binance form. */
static int setup(cpo_import_ctx *c, int binance)
{
    const cpo_import_opts *o = c->o;
    const char *eg = binance ? "BTCUSDT_260327 or BTCUSD_260327" : "BTC-27MAR26";
    char sym[CPO_SYMBOL_MAX], why[200];
    if (o->symbol && o->symbol[0]) {
        if (!upper(o->symbol, strlen(o->symbol), sym, sizeof sym))
            return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                                   "symbol \"%.40s...\" is longer than %d characters (expected "
                                   "a future such as %s)",
                                   o->symbol, CPO_SYMBOL_MAX - 1, eg);
    } else if (!name_from_path(c->path, binance ? '_' : '-', sym, sizeof sym)) {
        const char *b = strrchr(c->path, '/');
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "cannot tell the future from the file name \"%s\" (expected a "
                               "name holding %s; or pass --symbol)",
                               b ? b + 1 : c->path, eg);
    }
    int quarterly = 0;
    cpo_instrument *in = &c->instr;
    int bad = binance ? cpo_future_binance(sym, strlen(sym), in, &quarterly, why, sizeof why)
                      : cpo_future_deribit(sym, strlen(sym), in, why, sizeof why);
    if (bad == -2)
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "symbol \"%s\" expires %s (expected a Friday: Binance's futures "
                               "expire on Fridays at 08:00 UTC, the quarterlies on the last "
                               "Friday of March, June, September and December)",
                               sym, why);
    if (bad)
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "symbol \"%s\" is not a %s future: bad %s (expected %s)", sym,
                               binance ? "Binance delivery" : "Deribit", why,
                               binance ? "PAIR_YYMMDD with PAIR ending in USDT (USD-M) or USD "
                                         "(COIN-M), e.g. BTCUSDT_260327"
                                       : "COIN-DMMMYY, e.g. BTC-27MAR26");
    if (o->exchange && o->exchange[0])
        snprintf(in->exchange, sizeof in->exchange, "%s", o->exchange);
    if (o->contract_size > 0)
        in->contract_size = o->contract_size;
    if (!(in->contract_size > 0))
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "no contract size is known for %s (expected --contract-size N in "
                               "USD: Deribit's inverse futures are BTC, 10 USD, and ETH, 1 USD)",
                               sym);
    if (binance && !quarterly) {
        char e[40];
        cpo_time_format(in->expiry_ms, e, sizeof e);
        cpo_import_note(c, CPO_ISSUE_WARNING, 0, 0, 0,
                        "%s expires %s, which is not the last Friday of March, June, September "
                        "or December (Binance's quarterly expiries)",
                        sym, e);
    }
    c->stage = CPO_STAGE_BARS;
    return 0;
}

int cpo_read_delivery_klines(cpo_import_ctx *c)
{
    int rc = setup(c, 1);
    if (rc)
        return rc;
    /* COIN-M klines count volume in contracts; base_asset_volume is the coin. */
    int coin_m = c->instr.settle == CPO_SETTLE_INVERSE;
    rc = cpo_read_kline_rows(c, "timestamp|open_time", coin_m ? "base_asset_volume" : "volume");
    if (!rc && coin_m && c->col_volume == 0)
        cpo_import_note(c, CPO_ISSUE_INFO, 0, 1, 0,
                        "no base_asset_volume column: COIN-M volume counts contracts, so the "
                        "bars of %s carry no volume (the store's volume is in the coin)",
                        c->instr.symbol);
    return rc;
}

/* --- Deribit's chart data as JSON ----------------------------------------------- */

enum { J_TICKS, J_OPEN, J_HIGH, J_LOW, J_CLOSE, J_VOL, J_N };
static const char *const JKEYS[J_N] = {"ticks", "open", "high", "low", "close", "volume"};

/* Where each element of an array value starts, for the keys of JKEYS (the
 * first array each key names, at any depth). */
typedef struct jpos {
    size_t n[J_N];    /* elements seen */
    size_t cap[J_N];
    long *line[J_N], *col[J_N];
    int done[J_N];    /* its array was scanned */
} jpos;

static void jpos_fini(jpos *p)
{
    for (int k = 0; k < J_N; k++) {
        free(p->line[k]);
        free(p->col[k]);
    }
}

static int jpos_push(jpos *p, int k, long line, long col)
{
    if (p->n[k] == p->cap[k]) {
        size_t nc = p->cap[k] ? p->cap[k] * 2 : 256;
        long *a = realloc(p->line[k], nc * sizeof *a);
        if (!a)
            return -1;
        p->line[k] = a;
        long *b = realloc(p->col[k], nc * sizeof *b);
        if (!b)
            return -1;
        p->col[k] = b;
        p->cap[k] = nc;
    }
    p->line[k][p->n[k]] = line;
    p->col[k][p->n[k]++] = col;
    return 0;
}

/* Scan valid JSON text for the element starts of the arrays under the keys
 * of JKEYS.  -1 when out of memory. */
static int scan_positions(const char *s, size_t n, jpos *p)
{
    enum { MAXD = 64 };
    int arr_key[MAXD]; /* per open container: the JKEYS index of an array, -1 */
    int expect[MAXD];  /* an array whose next value starts an element */
    int depth = 0, last_key = -1, after_colon = 0;
    long ln = 1, cl = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        cl++;
        if (ch == '\n') {
            ln++;
            cl = 0;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r')
            continue;
        /* The start of a value inside a scanned array. */
        if (depth > 0 && depth <= MAXD && arr_key[depth - 1] >= 0 && expect[depth - 1] &&
            ch != ']') {
            if (jpos_push(p, arr_key[depth - 1], ln, cl))
                return -1;
            expect[depth - 1] = 0;
        }
        if (ch == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            /* A key: the string is followed by ':'. */
            size_t k = j + 1;
            while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n'))
                k++;
            last_key = -1;
            if (k < n && s[k] == ':')
                for (int q = 0; q < J_N; q++)
                    if (j - i - 1 == strlen(JKEYS[q]) && !memcmp(s + i + 1, JKEYS[q], j - i - 1))
                        last_key = q;
            for (size_t m = i + 1; m <= j && m < n; m++) {
                cl++;
                if (s[m] == '\n') {
                    ln++;
                    cl = 0;
                }
            }
            i = j;
            after_colon = 0;
            continue;
        }
        if (ch == ':') {
            after_colon = 1;
            continue;
        }
        if (ch == '[' || ch == '{') {
            int k = -1;
            if (ch == '[' && after_colon && last_key >= 0 && !p->done[last_key]) {
                k = last_key;
                p->done[k] = 1;
            }
            if (depth < MAXD) {
                arr_key[depth] = k;
                expect[depth] = 1;
            }
            depth++;
        } else if (ch == ']' || ch == '}') {
            depth--;
        } else if (ch == ',' && depth > 0 && depth <= MAXD) {
            expect[depth - 1] = 1;
        }
        after_colon = 0;
        last_key = -1;
    }
    return 0;
}

/* The position of element i of JKEYS[k] (0, 0 when not known). */
static void jat(const jpos *p, int k, size_t i, size_t len, long *line, long *col)
{
    int ok = p->done[k] && p->n[k] == len && i < len;
    *line = ok ? p->line[k][i] : 0;
    *col = ok ? p->col[k][i] : 0;
}

static int json_problem(cpo_import_ctx *c, const jpos *p, int k, size_t i, size_t len,
                        const char *fmt, const char *a, const char *b)
{
    long line, col;
    jat(p, k, i, len, &line, &col);
    char msg[256];
    snprintf(msg, sizeof msg, fmt, a, b);
    return cpo_read_problem(c, CPO_EDATA, line, col, "; bar dropped", "%s[%zu]: %s", JKEYS[k], i,
                            msg);
}

/* One number of array k at i (a JSON number); NaN and 0 for a null volume. */
static int json_num(cpo_import_ctx *c, const jpos *p, int k, const json_t *a, size_t i,
                    size_t len, double *out)
{
    const json_t *v = json_array_get(a, i);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (k == J_VOL && json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    return json_problem(c, p, k, i, len, "value is %s (expected a number%s)", cpo_json_type_name(v),
                        k == J_VOL ? " or null" : "");
}

static int read_json(cpo_import_ctx *c)
{
    char *text = NULL;
    const char *s = NULL;
    size_t n = 0;
    jpos pos;
    memset(&pos, 0, sizeof pos);
    json_t *root = NULL;
    int rc = cpo_json_load(c, "a JSON object", &text, &s, &n, &root);
    if (rc)
        return rc;
    const json_t *res = root;
    if (json_is_object(root) && json_is_object(json_object_get(root, "result")))
        res = json_object_get(root, "result");
    if (!json_is_object(res)) {
        rc = cpo_import_fail(c, CPO_EFORMAT, 1, 1,
                             "top-level value is %s (expected the JSON object of "
                             "get_tradingview_chart_data: {\"ticks\": [...], \"open\": [...], ...})",
                             cpo_json_type_name(res));
        goto cleanup;
    }
    const json_t *st = json_object_get(res, "status");
    if (json_is_string(st) && strcmp(json_string_value(st), "ok")) {
        rc = cpo_import_fail(c, CPO_EDATA, 0, 0,
                             "status is \"%.40s\" (expected \"ok\": the API returned no bars)",
                             json_string_value(st));
        goto cleanup;
    }
    const json_t *a[J_N];
    for (int k = 0; k < J_N; k++) {
        a[k] = json_object_get(res, JKEYS[k]);
        if (!a[k] && k == J_VOL)
            continue;
        if (!json_is_array(a[k])) {
            rc = cpo_import_fail(c, CPO_EFORMAT, 0, 0,
                                 a[k] ? "\"%s\" is %s (expected an array)"
                                      : "no \"%s\" array%s (expected ticks, open, high, low, close "
                                        "and volume arrays)",
                                 JKEYS[k], a[k] ? cpo_json_type_name(a[k]) : "");
            goto cleanup;
        }
    }
    size_t len = json_array_size(a[J_TICKS]);
    for (int k = 1; k < J_N; k++)
        if (a[k] && json_array_size(a[k]) != len) {
            rc = cpo_import_fail(c, CPO_EFORMAT, 0, 0,
                                 "\"%s\" has %zu value%s, \"ticks\" %zu (expected arrays of one "
                                 "length)",
                                 JKEYS[k], json_array_size(a[k]),
                                 json_array_size(a[k]) == 1 ? "" : "s", len);
            goto cleanup;
        }
    if (scan_positions(s, n, &pos)) {
        rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < len; i++) {
        c->rep->rows_read++;
        const json_t *t = json_array_get(a[J_TICKS], i);
        double v[J_N];
        int r = 0;
        int64_t ts = 0;
        json_int_t ms = json_is_integer(t) ? json_integer_value(t) : 0;
        char tx[32];
        snprintf(tx, sizeof tx, "%lld", (long long)ms);
        if (!json_is_integer(t))
            r = json_problem(c, &pos, J_TICKS, i, len, "value is %s (expected ms since 1970%s)",
                             cpo_json_type_name(t), "");
        else if (ms < INT64_C(631152000000) || ms > INT64_C(4102444800000))
            r = json_problem(c, &pos, J_TICKS, i, len,
                             "%s is out of range (expected ms since 1970 between 1990 and 2100%s)",
                             tx, "");
        else
            ts = (int64_t)ms;
        for (int k = 1; k < J_N && !r; k++)
            r = a[k] ? json_num(c, &pos, k, a[k], i, len, &v[k]) : (v[k] = NAN, 0);
        long line, col;
        jat(&pos, J_TICKS, i, len, &line, &col);
        if (!r)
            r = cpo_import_before_expiry(c, &c->instr, line, col, "ticks", ts);
        if (r < 0) {
            rc = r;
            goto cleanup;
        }
        if (r) {
            c->rep->dropped++;
            continue;
        }
        if (cpo_bars_append(&c->bars, ts, v[J_OPEN], v[J_HIGH], v[J_LOW], v[J_CLOSE], v[J_VOL],
                            NAN, NAN, NAN, NAN) ||
            (rc = cpo_import_push_line(c, line)) != 0) {
            rc = rc ? rc : cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
            goto cleanup;
        }
    }
    if (len == 0)
        rc = cpo_import_fail(c, CPO_EDATA, 0, 0, "the arrays are empty (expected at least one bar)");
cleanup:
    if (root)
        json_decref(root);
    jpos_fini(&pos);
    free(text);
    return rc;
}

/* 1 if the first byte that is not blank (after a BOM) is '{'. */
static int json_object_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int ch, at = 0;
    while ((ch = getc(f)) != EOF) {
        if (at < 3 && (unsigned char)ch == (unsigned char)"\xEF\xBB\xBF"[at]) {
            at++;
            continue;
        }
        at = 3;
        if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
            break;
    }
    fclose(f);
    return ch == '{';
}

int cpo_read_deribit_futures(cpo_import_ctx *c)
{
    int rc = setup(c, 0);
    if (rc)
        return rc;
    if (json_object_file(c->path))
        return read_json(c);
    return cpo_read_kline_rows(c, "ticks|timestamp", "volume");
}
