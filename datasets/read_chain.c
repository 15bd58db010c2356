/*
 * read_chain.c - Deribit option chain snapshots, in every layout we know.
 *
 * The layout is recognised from the header (names, never positions):
 *
 *   weekly   timestamp,instrument_name,...,implied_volatility,...,currency
 *            (znmahbub weekly snapshots): ISO snapshot time per file, IV
 *            decimal, bid/ask empty when there is no quote, BTC and ETH
 *            rows in one file.
 *   2020     <unnamed index>,expiration_timestamp,...,greeks,...
 *            (schepal): ms times per row, IV percent, greeks as a Python
 *            dict string, best bid/ask 0 when there is no quote.
 *   2021     ...,greeks.delta,... (bottama): ticker fields flattened, no
 *            option_type/strike/expiry (taken from instrument_name), ms
 *            times per row, two polls in one file.
 *   2024     option_type,strike,creation,maturity,... (sol-dnn): no
 *            snapshot time, no instrument name, IV percent.
 *   2026     instrument_name,currency,type,...,expiration_timestamp,...
 *            (tessicin): no snapshot time, IV percent.
 *
 * Rules:
 *
 *  - Snapshot time.  A layout with one recorded time per file (weekly)
 *    uses it.  Layouts with a quote time per row (2020, 2021) are split
 *    into polls: reading in file order, a new poll starts at the first row
 *    whose instrument was already quoted in the current poll.  Every row
 *    of a poll gets the poll's earliest quote time as its snapshot time
 *    (INFO notes give each poll's span).  Layouts without any time (2024,
 *    2026) need opts->snapshot_ms.
 *  - keep_last_poll: of the rows of an instrument quoted in several polls
 *    only the last is kept (INFO: how many were dropped).
 *  - Underlying: opts->symbol ("BTC", case-insensitive) selects it; rows
 *    of other underlyings are skipped (INFO).  Without it a file holding
 *    more than one underlying is refused.  The 2024 layout names no
 *    underlying: opts->symbol, else "btc" or "eth" as a word of the file
 *    name (INFO), else refused.
 *  - Instrument names (UNDERLYING-DMMMYY-STRIKE-C|P, expiry 08:00 UTC)
 *    are parsed wherever present and must agree with the option_type,
 *    strike and expiry columns when the layout has them.
 *  - IV unit: as declared (opts->iv_unit), else the layout's own unit.
 *    Refused when the data contradict it: declared decimal but median
 *    above 5, declared percent but every value below 3; auto: a decimal
 *    layout with a value above 5, a percent layout with every value below
 *    3.  Stored as decimal.  A value shared by many rows (100 %, or one
 *    value on 10 % of the rows) is kept with a WARNING (placeholder).
 *  - Prices stay in coin.  A bid or ask of 0 or blank is "no quote" (NaN).
 *  - Row problems: strike <= 0, mark < 0, unknown right, malformed name or
 *    greeks dict, expiry not after the snapshot time, listing (creation)
<<<<<<< HEAD
 *    after the snapshot time, an implied vol outside 0 .. 1000 % (0 .. 10
 *    as a decimal; a value above 1000 in the file is refused whatever the
 *    unit), an index or underlying price that is not blank or above 0, a
 *    row with more fields than the header.  Strict: the file is refused
 *    with path:line:col; lenient: the row is dropped and reported.
=======
 *    after the snapshot time.
 *
 * deribit-chain-futures (cpo_read_chain_futures) reads the same files with
 * the same header and field parsing, and keeps the futures quotes instead
 * of the options: the weekly layout's futures_instrument_name,
 * futures_price, index_price, currency and timestamp.  Synthetic futures
 * (SYN.BTC-3JAN26: Deribit's forward for an expiry without a future) are
 * skipped; every listed future (BTC-27MAR26: inverse, 10 USD a contract
 * for BTC, 1 USD for ETH, expiry 08:00 UTC of its date) gets one bar per
 * snapshot time: bar_ms 1h, opening at the hour that holds the snapshot,
 * open = high = low = close = the median futures_price of its rows in that
 * snapshot, index = their median index_price, volume and mark NaN.  A
 * quote at or after the future's expiry is a problem.  Every underlying
 * of the file is kept unless opts->symbol (--underlying) names one.  The
 * bars are staged as sets (CPO_STAGE_SETS), one per future.
>>>>>>> futdata
 */
#include "importer.h"

#include <ctype.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- layouts ------------------------------------------------------------- */

enum {
    C_NAME, C_CCY, C_TS, C_RIGHT, C_STRIKE, C_EXPIRY, C_CREATION, C_MARK,
    C_BID, C_ASK, C_IV, C_FWD, C_INDEX, C_DELTA, C_VEGA, C_GREEKS, C_OI,
    C_FUT, C_NCOL
};

typedef enum layout_id {
    L_WEEKLY = 0,
    L_SCHEPAL,
    L_BOTTAMA,
    L_SOLDNN,
    L_TESSICIN,
    L_COUNT
} layout_id;

typedef struct layout_spec {
    const char *label;
    cpo_iv_unit iv_unit;     /* the unit the source uses */
    int per_row_ts;          /* quote time per row: split into polls */
    int needs_snapshot;      /* no time at all: opts->snapshot_ms */
    cpo_ts_unit ts_unit, expiry_unit, creation_unit;
    const char *names[C_NCOL]; /* NULL: not in this layout */
    unsigned required;       /* bit k: names[k] must be present */
} layout_spec;

#define RQ(k) (1u << (k))
/* The columns deribit-chain-futures needs (layouts that name C_FUT). */
#define FUT_REQUIRED (RQ(C_TS) | RQ(C_CCY) | RQ(C_FUT) | RQ(C_FWD))

static const layout_spec LAYOUTS[L_COUNT] = {
    [L_WEEKLY] = {
        "weekly snapshot (timestamp,instrument_name,...,implied_volatility; IV decimal)",
        CPO_IV_DECIMAL, 0, 0, CPO_TS_ISO, CPO_TS_ISO, CPO_TS_ISO,
        {[C_NAME] = "instrument_name", [C_CCY] = "currency", [C_TS] = "timestamp",
         [C_RIGHT] = "option_type", [C_STRIKE] = "strike", [C_EXPIRY] = "expiry_datetime",
         [C_MARK] = "mark_price", [C_BID] = "bid_price", [C_ASK] = "ask_price",
         [C_IV] = "implied_volatility", [C_FWD] = "futures_price|underlying",
         [C_INDEX] = "index_price", [C_DELTA] = "delta", [C_VEGA] = "vega",
         [C_OI] = "open_interest", [C_FUT] = "futures_instrument_name"},
        RQ(C_NAME) | RQ(C_CCY) | RQ(C_TS) | RQ(C_RIGHT) | RQ(C_STRIKE) | RQ(C_EXPIRY) |
            RQ(C_MARK) | RQ(C_IV)},
    [L_SCHEPAL] = {
        "2020 ticker dump (expiration_timestamp,...,greeks dict; IV percent)",
        CPO_IV_PERCENT, 1, 0, CPO_TS_MS, CPO_TS_MS, CPO_TS_MS,
        {[C_NAME] = "instrument_name", [C_TS] = "timestamp", [C_RIGHT] = "option_type",
         [C_STRIKE] = "strike", [C_EXPIRY] = "expiration_timestamp",
         [C_MARK] = "mark_price", [C_BID] = "best_bid_price", [C_ASK] = "best_ask_price",
         [C_IV] = "mark_iv", [C_FWD] = "underlying_price", [C_INDEX] = "index_price",
         [C_GREEKS] = "greeks", [C_OI] = "open_interest"},
        RQ(C_NAME) | RQ(C_TS) | RQ(C_RIGHT) | RQ(C_STRIKE) | RQ(C_EXPIRY) | RQ(C_MARK) |
            RQ(C_IV) | RQ(C_GREEKS)},
    [L_BOTTAMA] = {
        "2021 flattened ticker (instrument_name,...,greeks.delta; IV percent)",
        CPO_IV_PERCENT, 1, 0, CPO_TS_MS, CPO_TS_MS, CPO_TS_MS,
        {[C_NAME] = "instrument_name", [C_TS] = "timestamp", [C_RIGHT] = "option_type",
         [C_STRIKE] = "strike", [C_EXPIRY] = "expiration_timestamp",
         [C_MARK] = "mark_price", [C_BID] = "best_bid_price", [C_ASK] = "best_ask_price",
         [C_IV] = "mark_iv", [C_FWD] = "underlying_price", [C_INDEX] = "index_price",
         [C_DELTA] = "greeks.delta", [C_VEGA] = "greeks.vega", [C_OI] = "open_interest"},
        RQ(C_NAME) | RQ(C_TS) | RQ(C_MARK) | RQ(C_IV)},
    [L_SOLDNN] = {
        "2024 chain (option_type,strike,creation,maturity,...; IV percent, no snapshot time)",
        CPO_IV_PERCENT, 0, 1, CPO_TS_ISO, CPO_TS_ISO, CPO_TS_ISO,
        {[C_RIGHT] = "option_type", [C_STRIKE] = "strike", [C_EXPIRY] = "maturity",
         [C_CREATION] = "creation", [C_MARK] = "mark_price", [C_IV] = "mark_iv",
         [C_INDEX] = "index_price"},
        RQ(C_RIGHT) | RQ(C_STRIKE) | RQ(C_EXPIRY) | RQ(C_MARK) | RQ(C_IV)},
    [L_TESSICIN] = {
        "2026 instrument list (instrument_name,currency,type,...; IV percent, no snapshot time)",
        CPO_IV_PERCENT, 0, 1, CPO_TS_MS, CPO_TS_MS, CPO_TS_MS,
        {[C_NAME] = "instrument_name", [C_CCY] = "currency", [C_RIGHT] = "type",
         [C_STRIKE] = "strike", [C_EXPIRY] = "expiration_timestamp",
         [C_CREATION] = "creation_timestamp", [C_MARK] = "mark_price",
         [C_BID] = "best_bid_price", [C_ASK] = "best_ask_price", [C_IV] = "mark_iv",
         [C_FWD] = "underlying_price", [C_INDEX] = "index_price|spot_ref",
         [C_DELTA] = "delta", [C_VEGA] = "vega", [C_OI] = "open_interest"},
        RQ(C_NAME) | RQ(C_CCY) | RQ(C_RIGHT) | RQ(C_STRIKE) | RQ(C_EXPIRY) | RQ(C_MARK) |
            RQ(C_IV)},
};

/* --- reader state ------------------------------------------------------- */

#define MAX_OTHERS 8
/* The implied vols a chain may hold: 0 to 1000 % (0 to 10 as a decimal);
 * more is a broken row, not a market (Deribit's marks stay far below). */
#define IV_MAX_PERCENT 1000.0
#define ROW_SKIP 2 /* a row of another underlying */

typedef struct chain_reader {
    cpo_import_ctx *c;
    const layout_spec *spec;
    layout_id layout;
    int col[C_NCOL];              /* 0-based field index or -1 */
    char hname[C_NCOL][48];       /* the header text of each mapped column */
    size_t need;                  /* fields a row must have */
    int64_t snapshot;             /* the fixed snapshot time, or CPO_TIME_NONE */
    char want[CPO_CCY_MAX];       /* the underlying asked for ("" = any) */
    char chosen[CPO_CCY_MAX];     /* the underlying staged */
    char others[MAX_OTHERS][CPO_CCY_MAX];
    size_t n_others, skipped;
    size_t rows;                  /* data records read */
    size_t dropped;               /* rows dropped as problems (lenient) */
    /* polls (per_row_ts layouts): */
    size_t *poll;                 /* [chain.n] poll of each staged row */
    size_t cap_poll, n_polls;
    size_t *slot;                 /* name -> latest row index + 1; 0 = empty */
    size_t cap_slot, n_slot;
    long first_repeat_line;       /* where poll 2 starts */
    /* deribit-chain-futures: the futures quotes instead of the options */
    int futures;
    struct fut_quote *fq;
    size_t n_fq, cap_fq, n_syn;
} chain_reader;

/* A parsed row before it is staged. */
typedef struct chain_row {
    int64_t ts, expiry, creation;
    double strike, mark, bid, ask, iv, fwd, index, delta, vega, oi;
    int right;
    char name[CPO_SYMBOL_MAX];
    char und[CPO_CCY_MAX];
} chain_row;

/* A row problem: like cpo_import_problem, with "; row dropped" appended in
 * lenient mode; returns the negative code (strict) or CPO_IMPORT_DROP. */
static int row_problem(chain_reader *st, int code, long line, int col0, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int row_problem(chain_reader *st, int code, long line, int col0, const char *fmt, ...)
{
    char msg[CPO_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int lenient = st->c->o->mode == CPO_IMPORT_LENIENT;
    int rc = cpo_import_problem(st->c, code, line, col0 >= 0 ? col0 + 1 : 0, "%s%s", msg,
                                lenient ? "; row dropped" : "");
    return rc ? rc : CPO_IMPORT_DROP;
}

/* Copy a field into buf (shortened with "..." past 40 bytes) for messages. */
static const char *shown(const char *s, size_t n, char *buf, size_t bn)
{
    if (n > 40)
        snprintf(buf, bn, "%.37s...", s);
    else
        snprintf(buf, bn, "%.*s", (int)n, s);
    return buf;
}

/* Trim blanks: *s and *n are narrowed. */
static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Upper-case copy of s[0..n) into dst (cap bytes); -1 if it does not fit. */
static int upper_copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)toupper((unsigned char)s[i]);
    dst[n] = '\0';
    return 0;
}

/* "100.0", "0.45", "80.0": %.10g with ".0" added to whole numbers. */
static void fmt_num(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%.10g", v);
    if (!strpbrk(buf, ".eEn") && strlen(buf) + 2 < n)
        strcat(buf, ".0");
}

/* --- Deribit instrument names --------------------------------------------- */

typedef struct deribit_name {
    char und[CPO_CCY_MAX];
    int64_t expiry; /* 08:00 UTC on the date */
    double strike;
    int right;
} deribit_name;

/*
 * Parse "BTC-13FEB21-37500-C".  On failure returns -1 with *why set to
 * the bad part ("expiry date \"13FEX21\"").
 */
static int parse_deribit_name(const char *s, size_t n, deribit_name *out, char *why,
                              size_t wn)
{
    const char *part[4];
    size_t plen[4], np = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '-') {
            if (np == 4) {
                snprintf(why, wn, "more than 4 parts");
                return -1;
            }
            part[np] = s + start;
            plen[np++] = i - start;
            start = i + 1;
        }
    }
    if (np != 4) {
        snprintf(why, wn, "%zu part%s", np, np == 1 ? "" : "s");
        return -1;
    }
    /* underlying: letters, digits, '_' */
    if (plen[0] == 0 || plen[0] >= CPO_CCY_MAX) {
        snprintf(why, wn, "underlying \"%.*s\"", (int)plen[0], part[0]);
        return -1;
    }
    for (size_t i = 0; i < plen[0]; i++) {
        unsigned char ch = (unsigned char)part[0][i];
        if (!(isupper(ch) || isdigit(ch) || ch == '_')) {
            snprintf(why, wn, "underlying \"%.*s\"", (int)plen[0], part[0]);
            return -1;
        }
    }
    memcpy(out->und, part[0], plen[0]);
    out->und[plen[0]] = '\0';
    /* date: D or DD, MMM, YY */
    if (cpo_deribit_date(part[1], plen[1], &out->expiry)) {
        snprintf(why, wn, "expiry date \"%.*s\"", (int)plen[1], part[1]);
        return -1;
    }
    /* strike: digits, optionally 'd' or '.' and digits (1d5 = 1.5) */
    {
        char num[32];
        size_t sl = plen[2], k = 0, dots = 0;
        int ok = sl > 0 && sl < sizeof num;
        for (size_t i = 0; ok && i < sl; i++) {
            char ch = part[2][i];
            if (isdigit((unsigned char)ch)) {
                num[k++] = ch;
            } else if ((ch == 'd' || ch == '.') && i > 0 && i + 1 < sl && !dots++) {
                num[k++] = '.';
            } else {
                ok = 0;
            }
        }
        if (ok && (cpo_parse_f64(num, k, &out->strike) || !(out->strike > 0)))
            ok = 0;
        if (!ok) {
            snprintf(why, wn, "strike \"%.*s\"", (int)plen[2], part[2]);
            return -1;
        }
    }
    if (plen[3] == 1 && part[3][0] == 'C') {
        out->right = CPO_RIGHT_CALL;
    } else if (plen[3] == 1 && part[3][0] == 'P') {
        out->right = CPO_RIGHT_PUT;
    } else {
        snprintf(why, wn, "right \"%.*s\"", (int)plen[3], part[3]);
        return -1;
    }
    return 0;
}

/* Format a strike the Deribit way: 63000, 0d5 for fractional strikes. */
static void fmt_strike(double k, char *buf, size_t n)
{
    if (k == floor(k) && k < 1e15) {
        snprintf(buf, n, "%.0f", k);
        return;
    }
    snprintf(buf, n, "%.10g", k);
    char *dot = strchr(buf, '.');
    if (dot)
        *dot = 'd';
}

/* "BTC-25MAY24-63000-C"; -1 if it does not fit. */
static int build_name(char *dst, size_t cap, const char *und, int64_t expiry, double strike,
                      int right)
{
    cpo_civil cv;
    char ks[40];
    cpo_time_to_civil(expiry, &cv);
    fmt_strike(strike, ks, sizeof ks);
    int m = snprintf(dst, cap, "%s-%d%s%02d-%s-%c", und, cv.day, cpo_month_abbr[cv.month - 1],
                     cv.year % 100, ks, right == CPO_RIGHT_CALL ? 'C' : 'P');
    return m < 0 || (size_t)m >= cap ? -1 : 0;
}

/* --- greeks as a Python dict string --------------------------------------- */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    return i;
}

/*
 * Parse "{'vega': 5.49, 'theta': -26.07, 'delta': -0.43}" and take delta
 * and vega (NaN if absent; None and nan give NaN).  Returns 0, or -1 with
 * *bad the 0-based offset of the offending character.
 */
static int parse_pydict(const char *s, size_t n, double *delta, double *vega, size_t *bad)
{
    size_t i = skip_ws(s, n, 0);
    *delta = *vega = NAN;
    if (i >= n || s[i] != '{')
        goto fail;
    i = skip_ws(s, n, i + 1);
    if (i < n && s[i] == '}')
        goto done;
    for (;;) {
        if (i >= n || (s[i] != '\'' && s[i] != '"'))
            goto fail;
        char q = s[i++];
        size_t k0 = i;
        while (i < n && s[i] != q && s[i] != '\\')
            i++;
        if (i >= n || s[i] != q)
            goto fail;
        size_t klen = i - k0;
        const char *key = s + k0;
        i = skip_ws(s, n, i + 1);
        if (i >= n || s[i] != ':')
            goto fail;
        i = skip_ws(s, n, i + 1);
        size_t v0 = i;
        while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' ||
                         s[i] == '+'))
            i++;
        size_t vlen = i - v0;
        double v;
        if (vlen == 0) {
            goto fail;
        } else if ((vlen == 4 && !memcmp(s + v0, "None", 4)) ||
                   (vlen == 3 && !strncasecmp(s + v0, "nan", 3))) {
            v = NAN;
        } else if (cpo_parse_f64(s + v0, vlen, &v)) {
            i = v0;
            goto fail;
        }
        if (klen == 5 && !memcmp(key, "delta", 5))
            *delta = v;
        else if (klen == 4 && !memcmp(key, "vega", 4))
            *vega = v;
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',') {
            i = skip_ws(s, n, i + 1);
            if (i < n && s[i] == '}')
                break;
            continue;
        }
        if (i < n && s[i] == '}')
            break;
        goto fail;
    }
done:
    i = skip_ws(s, n, i + 1);
    if (i != n)
        goto fail;
    return 0;
fail:
    *bad = i;
    return -1;
}

/* --- the name table (polls, keep_last_poll) ------------------------------- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t slot_find(const chain_reader *st, const cpo_chain *ch, const char *name)
{
    size_t mask = st->cap_slot - 1, i = (size_t)hash_name(name) & mask;
    while (st->slot[i] && strcmp(ch->name[st->slot[i] - 1], name))
        i = (i + 1) & mask;
    return i;
}

static int slot_grow(chain_reader *st, const cpo_chain *ch)
{
    size_t nc = st->cap_slot ? st->cap_slot * 2 : 1024;
    size_t *old = st->slot, oc = st->cap_slot;
    st->slot = calloc(nc, sizeof *st->slot);
    if (!st->slot) {
        st->slot = old;
        return CPO_ENOMEM;
    }
    st->cap_slot = nc;
    for (size_t i = 0; i < oc; i++)
        if (old[i])
            st->slot[slot_find(st, ch, ch->name[old[i] - 1])] = old[i];
    free(old);
    return 0;
}

/* --- header --------------------------------------------------------------- */

static int detect_layout(chain_reader *st, const cpo_csv_row *hdr)
{
    cpo_import_ctx *c = st->c;
#define HAS(nm) (cpo_csv_find(hdr, nm) >= 0)
    if (HAS("trade_id") && HAS("tick_direction"))
        return cpo_import_fail(c, CPO_EFORMAT, hdr->line, 0,
                               "the file is a trade list, not a chain snapshot (expected a "
                               "Deribit option chain)");
    if (HAS("implied_volatility") && HAS("expiry_datetime"))
        st->layout = L_WEEKLY;
    else if (HAS("greeks") && HAS("expiration_timestamp"))
        st->layout = L_SCHEPAL;
    else if (HAS("greeks.delta") && HAS("instrument_name"))
        st->layout = L_BOTTAMA;
    else if (HAS("creation") && HAS("maturity"))
        st->layout = L_SOLDNN;
    else if (HAS("instrument_name") && HAS("expiration_timestamp") && HAS("mark_iv"))
        st->layout = L_TESSICIN;
    else
        return cpo_import_fail(c, CPO_EFORMAT, hdr->line, 0,
                               "header matches no known Deribit chain layout (expected the "
                               "columns of the weekly, 2020, 2021, 2024 or 2026 layouts, e.g. "
                               "instrument_name,...,mark_price,...,mark_iv)");
#undef HAS
    st->spec = &LAYOUTS[st->layout];
    return 0;
}

/* The underlying from the file name: "btc" or "eth" as a word. */
static int und_from_file_name(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int found = 0;
    const char *p = base;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && isalnum((unsigned char)*p))
            p++;
        size_t wl = (size_t)(p - w);
        const char *hit = NULL;
        if (wl == 3 && !strncasecmp(w, "btc", 3))
            hit = "BTC";
        else if (wl == 3 && !strncasecmp(w, "eth", 3))
            hit = "ETH";
        if (hit) {
            if (found && strcmp(out, hit))
                return -1; /* both */
            snprintf(out, cap, "%s", hit);
            found = 1;
        }
    }
    return found ? 0 : -1;
}

static int on_header(chain_reader *st, const cpo_csv_row *hdr)
{
    cpo_import_ctx *c = st->c;
    int rc = detect_layout(st, hdr);
    if (rc)
        return rc;
    const layout_spec *sp = st->spec;
    if (st->futures && !sp->names[C_FUT])
        return cpo_import_fail(c, CPO_EFORMAT, hdr->line, 0,
                               "the %s names no futures (expected the weekly snapshot layout: "
                               "timestamp, futures_instrument_name, futures_price, index_price, "
                               "currency)",
                               sp->label);
    unsigned required = st->futures ? FUT_REQUIRED : sp->required;
    const char *names[C_NCOL];
    int req[C_NCOL], idx[C_NCOL];
    size_t k_of[C_NCOL], m = 0;
    for (size_t k = 0; k < C_NCOL; k++) {
        st->col[k] = -1;
        st->hname[k][0] = '\0';
        if (!sp->names[k])
            continue;
        names[m] = sp->names[k];
        req[m] = (required & RQ(k)) != 0;
        k_of[m++] = k;
    }
    rc = cpo_csv_map(hdr, c->path, names, req, m, idx, c->err);
    if (rc)
        return rc;
    c->header_fields = hdr->n;
    st->need = 0;
    for (size_t j = 0; j < m; j++) {
        size_t k = k_of[j];
        st->col[k] = idx[j];
        if (idx[j] < 0)
            continue;
        const char *s = hdr->f[idx[j]];
        size_t n = hdr->len[idx[j]];
        trim(&s, &n);
        snprintf(st->hname[k], sizeof st->hname[k], "%.*s", (int)(n < 40 ? n : 40), s);
        if ((size_t)idx[j] + 1 > st->need)
            st->need = (size_t)idx[j] + 1;
    }
    c->col_ts = st->col[C_TS] >= 0 ? st->col[C_TS] + 1 : 0;
    cpo_import_note(c, CPO_ISSUE_INFO, 0, hdr->line, 0, "layout: %s", sp->label);

    /* The snapshot time. */
    st->snapshot = CPO_TIME_NONE;
    if (sp->needs_snapshot) {
        if (c->o->snapshot_ms == CPO_TIME_NONE)
            return cpo_import_fail(c, CPO_EINVAL, hdr->line, 0,
                                   "this layout has no snapshot time (expected --snapshot-time ISO)");
        st->snapshot = c->o->snapshot_ms;
    } else if (c->o->snapshot_ms != CPO_TIME_NONE) {
        cpo_import_note(c, CPO_ISSUE_WARNING, 0, hdr->line, 0,
                        "the snapshot time given is ignored: this layout records its own quote times");
    }

    /* The underlying asked for. */
    st->want[0] = '\0';
    if (c->o->symbol && c->o->symbol[0]) {
        const char *s = c->o->symbol;
        size_t n = strlen(s);
        trim(&s, &n);
        if (n == 0 || upper_copy(st->want, sizeof st->want, s, n))
            return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                                   "underlying \"%s\" is not a currency code (expected e.g. BTC or ETH)",
                                   c->o->symbol);
    }
    if (!sp->names[C_NAME] && !sp->names[C_CCY]) {
        /* No underlying in the rows. */
        if (st->want[0]) {
            snprintf(st->chosen, sizeof st->chosen, "%s", st->want);
        } else if (und_from_file_name(c->path, st->chosen, sizeof st->chosen) == 0) {
            cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                            "underlying %s taken from the file name (this layout names none; "
                            "--underlying overrides it)", st->chosen);
        } else {
            return cpo_import_fail(c, CPO_EINVAL, hdr->line, 0,
                                   "this layout names no underlying (expected --underlying BTC or ETH)");
        }
    }
    if (c->o->keep_last_poll && !sp->per_row_ts)
        cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                        "keep_last_poll has no effect: this layout holds one snapshot per file");
    return 0;
}

/* --- rows ----------------------------------------------------------------- */

static int num(chain_reader *st, const cpo_csv_row *row, int k, int allow_blank, double *out)
{
    *out = NAN;
    if (st->col[k] < 0)
        return 0;
    return cpo_import_f64(st->c, row, st->col[k], st->hname[k], allow_blank, out);
}

static int tm(chain_reader *st, const cpo_csv_row *row, int k, cpo_ts_unit unit, int64_t *out)
{
    *out = CPO_TIME_NONE;
    if (st->col[k] < 0)
        return 0;
    return cpo_import_time(st->c, row, st->col[k], st->hname[k], unit, out);
}

static void note_other(chain_reader *st, const char *und)
{
    st->skipped++;
    for (size_t i = 0; i < st->n_others; i++)
        if (!strcmp(st->others[i], und))
            return;
    if (st->n_others < MAX_OTHERS)
        snprintf(st->others[st->n_others++], CPO_CCY_MAX, "%s", und);
}

/* Parse one data row into r: 0, CPO_IMPORT_DROP, ROW_SKIP or negative. */
static int parse_row(chain_reader *st, const cpo_csv_row *row, chain_row *r)
{
    cpo_import_ctx *c = st->c;
    const layout_spec *sp = st->spec;
    long ln = row->line;
    char b[64];
    int rc = cpo_import_width(c, row, st->need);
    if (rc)
        return rc;

    /* The underlying first, so that rows of others are skipped unchecked. */
    deribit_name dn;
    int have_name = st->col[C_NAME] >= 0;
    const char *ns = NULL;
    size_t nn = 0;
    if (have_name) {
        ns = row->f[st->col[C_NAME]];
        nn = row->len[st->col[C_NAME]];
        trim(&ns, &nn);
    }
    r->und[0] = '\0';
    if (st->col[C_CCY] >= 0) {
        const char *s = row->f[st->col[C_CCY]];
        size_t n = row->len[st->col[C_CCY]];
        trim(&s, &n);
        if (n == 0 || upper_copy(r->und, sizeof r->und, s, n))
            return row_problem(st, CPO_EDATA, ln, st->col[C_CCY],
                               "%s \"%s\" is not a currency code (expected e.g. BTC or ETH)",
                               st->hname[C_CCY], shown(s, n, b, sizeof b));
    }
    if (have_name) {
        char why[96];
        if (nn == 0)
            return row_problem(st, CPO_EDATA, ln, st->col[C_NAME],
                               "%s is empty (expected a Deribit option name such as "
                               "BTC-13FEB21-37500-C)", st->hname[C_NAME]);
        if (nn >= CPO_SYMBOL_MAX || parse_deribit_name(ns, nn, &dn, why, sizeof why)) {
            if (nn >= CPO_SYMBOL_MAX)
                snprintf(why, sizeof why, "longer than %d characters", CPO_SYMBOL_MAX - 1);
            return row_problem(st, CPO_EDATA, ln, st->col[C_NAME],
                               "%s \"%s\" is not a Deribit option name: bad %s (expected "
                               "UNDERLYING-DMMMYY-STRIKE-C|P, e.g. BTC-13FEB21-37500-C)",
                               st->hname[C_NAME], shown(ns, nn, b, sizeof b), why);
        }
        if (!r->und[0])
            snprintf(r->und, sizeof r->und, "%s", dn.und);
        else if (strcmp(r->und, dn.und))
            return row_problem(st, CPO_EDATA, ln, st->col[C_CCY],
                               "%s %s disagrees with %s \"%s\" (expected %s)", st->hname[C_CCY],
                               r->und, st->hname[C_NAME], shown(ns, nn, b, sizeof b), dn.und);
    }
    if (!r->und[0])
        snprintf(r->und, sizeof r->und, "%s", st->chosen); /* the 2024 layout */
    else if (st->want[0] ? strcmp(r->und, st->want) != 0
                         : st->chosen[0] && strcmp(r->und, st->chosen) != 0) {
        note_other(st, r->und);
        return ROW_SKIP;
    }

    /* Times. */
    if ((rc = tm(st, row, C_TS, sp->ts_unit, &r->ts)) != 0 ||
        (rc = tm(st, row, C_EXPIRY, sp->expiry_unit, &r->expiry)) != 0 ||
        (rc = tm(st, row, C_CREATION, sp->creation_unit, &r->creation)) != 0)
        return rc;
    if (r->ts == CPO_TIME_NONE)
        r->ts = st->snapshot;

    /* Right, strike and expiry: columns, the name, or both (must agree). */
    r->right = CPO_RIGHT_NONE;
    if (st->col[C_RIGHT] >= 0) {
        const char *s = row->f[st->col[C_RIGHT]];
        size_t n = row->len[st->col[C_RIGHT]];
        trim(&s, &n);
        if ((n == 4 && !strncasecmp(s, "call", 4)) || (n == 1 && (*s == 'C' || *s == 'c')))
            r->right = CPO_RIGHT_CALL;
        else if ((n == 3 && !strncasecmp(s, "put", 3)) || (n == 1 && (*s == 'P' || *s == 'p')))
            r->right = CPO_RIGHT_PUT;
        else
            return row_problem(st, CPO_EDATA, ln, st->col[C_RIGHT],
                               "%s \"%s\" is not call or put (expected call or put)",
                               st->hname[C_RIGHT], shown(s, n, b, sizeof b));
    }
    if ((rc = num(st, row, C_STRIKE, 0, &r->strike)) != 0)
        return rc;
    if (st->col[C_STRIKE] >= 0 && !(r->strike > 0))
        return row_problem(st, CPO_EDATA, ln, st->col[C_STRIKE],
                           "%s %g is not positive (expected a strike above 0)",
                           st->hname[C_STRIKE], r->strike);
    if (have_name) {
        char t1[40], t2[40];
        if (r->right == CPO_RIGHT_NONE)
            r->right = dn.right;
        else if (r->right != dn.right)
            return row_problem(st, CPO_EDATA, ln, st->col[C_RIGHT],
                               "%s %s disagrees with %s \"%s\" (expected %s)",
                               st->hname[C_RIGHT], cpo_right_name((cpo_right)r->right),
                               st->hname[C_NAME], shown(ns, nn, b, sizeof b),
                               cpo_right_name((cpo_right)dn.right));
        if (st->col[C_STRIKE] < 0)
            r->strike = dn.strike;
        else if (fabs(r->strike - dn.strike) > 1e-9 * dn.strike)
            return row_problem(st, CPO_EDATA, ln, st->col[C_STRIKE],
                               "%s %.10g disagrees with %s \"%s\" (expected %.10g)",
                               st->hname[C_STRIKE], r->strike, st->hname[C_NAME],
                               shown(ns, nn, b, sizeof b), dn.strike);
        if (r->expiry == CPO_TIME_NONE) {
            r->expiry = dn.expiry;
        } else if (r->expiry != dn.expiry) {
            cpo_time_format(r->expiry, t1, sizeof t1);
            cpo_time_format(dn.expiry, t2, sizeof t2);
            return row_problem(st, CPO_EDATA, ln, st->col[C_EXPIRY],
                               "%s %s disagrees with %s \"%s\" (expected %s, 08:00 UTC on the "
                               "name's date)", st->hname[C_EXPIRY], t1, st->hname[C_NAME],
                               shown(ns, nn, b, sizeof b), t2);
        }
        memcpy(r->name, ns, nn);
        r->name[nn] = '\0';
    } else if (build_name(r->name, sizeof r->name, r->und, r->expiry, r->strike, r->right)) {
        return row_problem(st, CPO_EDATA, ln, st->col[C_STRIKE],
                           "%s %g makes an instrument name that is too long (expected a "
                           "name of at most %d characters)", st->hname[C_STRIKE], r->strike,
                           CPO_SYMBOL_MAX - 1);
    }

    /* Listing time (2024, 2026): the snapshot must be after it. */
    if (r->creation != CPO_TIME_NONE && st->snapshot != CPO_TIME_NONE &&
        r->creation > st->snapshot) {
        char t1[40], t2[40];
        cpo_time_format(r->creation, t1, sizeof t1);
        cpo_time_format(st->snapshot, t2, sizeof t2);
        return row_problem(st, CPO_EDATA, ln, st->col[C_CREATION],
                           "%s %s is after the snapshot time %s (expected a snapshot time "
                           "after every listing)", st->hname[C_CREATION], t1, t2);
    }

    /* Prices, IV, greeks. */
    if ((rc = num(st, row, C_MARK, 0, &r->mark)) != 0 ||
        (rc = num(st, row, C_BID, 1, &r->bid)) != 0 ||
        (rc = num(st, row, C_ASK, 1, &r->ask)) != 0 ||
        (rc = num(st, row, C_IV, 1, &r->iv)) != 0 ||
        (rc = num(st, row, C_FWD, 1, &r->fwd)) != 0 ||
        (rc = num(st, row, C_INDEX, 1, &r->index)) != 0 ||
        (rc = num(st, row, C_DELTA, 1, &r->delta)) != 0 ||
        (rc = num(st, row, C_VEGA, 1, &r->vega)) != 0 ||
        (rc = num(st, row, C_OI, 1, &r->oi)) != 0)
        return rc;
    if (r->mark < 0)
        return row_problem(st, CPO_EDATA, ln, st->col[C_MARK],
                           "%s %g is negative (expected a price of 0 or more)",
                           st->hname[C_MARK], r->mark);
    if (r->bid < 0 || r->ask < 0) {
        int k = r->bid < 0 ? C_BID : C_ASK;
        return row_problem(st, CPO_EDATA, ln, st->col[k],
                           "%s %g is negative (expected a price of 0 or more)", st->hname[k],
                           k == C_BID ? r->bid : r->ask);
    }
    if (r->bid == 0) /* Deribit: 0 = no bid */
        r->bid = NAN;
    if (r->ask == 0)
        r->ask = NAN;
    if (r->iv < 0)
        return row_problem(st, CPO_EDATA, ln, st->col[C_IV],
                           "%s %g is negative (expected an implied volatility of 0 or more)",
                           st->hname[C_IV], r->iv);
    /* Above 1000 in either unit (1000 % or 1000 as a decimal) is no
     * volatility; decimal values above 10 are caught once the unit is
     * known (finish_iv). */
    if (r->iv > IV_MAX_PERCENT)
        return row_problem(st, CPO_EDATA, ln, st->col[C_IV],
                           "%s %g is out of range (expected an implied volatility of 0 to %g %% "
                           "or 0 to %g as a decimal)",
                           st->hname[C_IV], r->iv, IV_MAX_PERCENT, IV_MAX_PERCENT / 100.0);
    /* The index and the underlying (forward) are prices: NaN (blank) or > 0. */
    if (!isnan(r->index) && !(r->index > 0))
        return row_problem(st, CPO_EDATA, ln, st->col[C_INDEX],
                           "%s %g is not positive (expected an index price above 0)",
                           st->hname[C_INDEX], r->index);
    if (!isnan(r->fwd) && !(r->fwd > 0))
        return row_problem(st, CPO_EDATA, ln, st->col[C_FWD],
                           "%s %g is not positive (expected an underlying price above 0)",
                           st->hname[C_FWD], r->fwd);
    if (st->col[C_GREEKS] >= 0) {
        const char *s = row->f[st->col[C_GREEKS]];
        size_t n = row->len[st->col[C_GREEKS]], bad = 0;
        if (!cpo_field_blank(s, n) && parse_pydict(s, n, &r->delta, &r->vega, &bad))
            return row_problem(st, CPO_EDATA, ln, st->col[C_GREEKS],
                               "%s \"%s\" is malformed at character %zu (expected a Python "
                               "dict such as {'delta': -0.43, 'vega': 5.49})",
                               st->hname[C_GREEKS], shown(s, n, b, sizeof b), bad + 1);
    }
    return 0;
}

static int stage_row(chain_reader *st, const chain_row *r, long line)
{
    cpo_import_ctx *c = st->c;
    cpo_chain *ch = &c->chain;
    size_t i;
    if (cpo_chain_append_row(ch, &i))
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    ch->ts[i] = r->ts;
    ch->expiry_ms[i] = r->expiry;
    ch->strike[i] = r->strike;
    ch->right[i] = (int8_t)r->right;
    ch->mark_px[i] = r->mark;
    ch->bid_px[i] = r->bid;
    ch->ask_px[i] = r->ask;
    ch->mark_iv[i] = r->iv; /* in the source unit until finish_iv */
    ch->fwd_px[i] = r->fwd;
    ch->index_px[i] = r->index;
    ch->delta[i] = r->delta;
    ch->vega[i] = r->vega;
    ch->open_interest[i] = r->oi;
    snprintf(ch->name[i], CPO_SYMBOL_MAX, "%s", r->name);
    int rc = cpo_import_push_line(c, line);
    if (rc)
        return rc;
    if (!st->spec->per_row_ts)
        return 0;
    /* Polls: a new one starts where an instrument of this poll repeats. */
    if (st->n_polls == 0)
        st->n_polls = 1;
    if (i >= st->cap_poll) {
        size_t nc = st->cap_poll ? st->cap_poll * 2 : 1024;
        size_t *p = realloc(st->poll, nc * sizeof *p);
        if (!p)
            return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        st->poll = p;
        st->cap_poll = nc;
    }
    if ((st->n_slot + 1) * 2 > st->cap_slot && slot_grow(st, ch))
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    size_t s = slot_find(st, ch, ch->name[i]);
    if (st->slot[s] && st->poll[st->slot[s] - 1] == st->n_polls - 1) {
        if (st->n_polls == 1)
            st->first_repeat_line = line;
        st->n_polls++;
    }
    if (!st->slot[s])
        st->n_slot++;
    st->slot[s] = i + 1;
    st->poll[i] = st->n_polls - 1;
    return 0;
}

/* --- deribit-chain-futures: the futures quotes of the rows ----------------- */

/* One row's quote of a future. */
typedef struct fut_quote {
    char name[CPO_SYMBOL_MAX]; /* "BTC-27MAR26" */
    int64_t ts;                /* the snapshot time */
    double px, index;          /* futures_price, index_price (NaN if blank) */
    long line;
} fut_quote;

/* Read one row's future: 0 (quote kept), ROW_SKIP (a synthetic future, or
 * another underlying), CPO_IMPORT_DROP or a negative code. */
static int fut_row(chain_reader *st, const cpo_csv_row *row)
{
    cpo_import_ctx *c = st->c;
    long ln = row->line;
    char b[64], why[160], und[CPO_CCY_MAX];
    int rc = cpo_import_width(c, row, st->need);
    if (rc)
        return rc;
    const char *s = row->f[st->col[C_CCY]];
    size_t n = row->len[st->col[C_CCY]];
    trim(&s, &n);
    if (n == 0 || upper_copy(und, sizeof und, s, n))
        return row_problem(st, CPO_EDATA, ln, st->col[C_CCY],
                           "%s \"%s\" is not a currency code (expected e.g. BTC or ETH)",
                           st->hname[C_CCY], shown(s, n, b, sizeof b));
    if (st->want[0] && strcmp(und, st->want)) {
        note_other(st, und);
        return ROW_SKIP;
    }
    const char *ns = row->f[st->col[C_FUT]];
    size_t nn = row->len[st->col[C_FUT]];
    trim(&ns, &nn);
    if (nn == 0)
        return row_problem(st, CPO_EDATA, ln, st->col[C_FUT],
                           "%s is empty (expected a Deribit future such as BTC-27MAR26, or "
                           "SYN.BTC-3JAN26 for a synthetic one)",
                           st->hname[C_FUT]);
    if (nn > 4 && !memcmp(ns, "SYN.", 4)) {
        st->n_syn++;
        return ROW_SKIP;
    }
    cpo_instrument in;
    if (cpo_future_deribit(ns, nn, &in, why, sizeof why))
        return row_problem(st, CPO_EDATA, ln, st->col[C_FUT],
                           "%s \"%s\" is not a Deribit future name: bad %s (expected "
                           "COIN-DMMMYY such as BTC-27MAR26, or SYN.COIN-DMMMYY)",
                           st->hname[C_FUT], shown(ns, nn, b, sizeof b), why);
    if (strcmp(in.base, und))
        return row_problem(st, CPO_EDATA, ln, st->col[C_CCY],
                           "%s %s disagrees with %s \"%s\" (expected %s)", st->hname[C_CCY], und,
                           st->hname[C_FUT], in.symbol, in.base);
    if (!(in.contract_size > 0))
        return row_problem(st, CPO_EDATA, ln, st->col[C_FUT],
                           "%s \"%s\" is a future of %s, whose contract size is not known "
                           "(expected a BTC or ETH future: 10 USD and 1 USD a contract)",
                           st->hname[C_FUT], in.symbol, in.base);
    int64_t ts;
    double px, ix;
    if ((rc = tm(st, row, C_TS, st->spec->ts_unit, &ts)) != 0 ||
        (rc = num(st, row, C_FWD, 0, &px)) != 0 || (rc = num(st, row, C_INDEX, 1, &ix)) != 0)
        return rc;
    if (!(px > 0) || isinf(px))
        return row_problem(st, CPO_EDATA, ln, st->col[C_FWD],
                           "%s %g is not a positive price (expected a price above 0)",
                           st->hname[C_FWD], px);
    if (!isnan(ix) && (!(ix > 0) || isinf(ix)))
        return row_problem(st, CPO_EDATA, ln, st->col[C_INDEX],
                           "%s %g is not a positive price (expected a price above 0, or blank)",
                           st->hname[C_INDEX], ix);
    if ((rc = cpo_import_before_expiry(c, &in, ln, st->col[C_TS] + 1, st->hname[C_TS], ts)) != 0)
        return rc;
    if (st->n_fq == st->cap_fq) {
        size_t nc = st->cap_fq ? st->cap_fq * 2 : 256;
        fut_quote *p = realloc(st->fq, nc * sizeof *p);
        if (!p)
            return cpo_import_fail(c, CPO_ENOMEM, ln, 0, "out of memory");
        st->fq = p;
        st->cap_fq = nc;
    }
    fut_quote *q = &st->fq[st->n_fq++];
    snprintf(q->name, sizeof q->name, "%s", in.symbol);
    q->ts = ts;
    q->px = px;
    q->index = ix;
    q->line = ln;
    return 0;
}

static int on_row(void *ctx, const cpo_csv_row *row)
{
    chain_reader *st = ctx;
    if (!st->spec)
        return on_header(st, row);
    st->rows++;
    if (st->futures) {
        int rc = fut_row(st, row);
        st->dropped += rc == CPO_IMPORT_DROP;
        return rc > 0 ? 0 : rc;
    }
    chain_row r;
    int rc = parse_row(st, row, &r);
    if (rc == CPO_IMPORT_DROP) {
        st->dropped++;
        return 0;
    }
    if (rc == ROW_SKIP)
        return 0;
    if (rc)
        return rc;
    if (!st->chosen[0])
        snprintf(st->chosen, sizeof st->chosen, "%s", r.und);
    return stage_row(st, &r, row->line);
}

/* --- after the rows ------------------------------------------------------- */

/* Remove the rows with keep[i] == 0 from the chain, the lines and polls. */
static void compact(chain_reader *st, const unsigned char *keep)
{
    cpo_import_ctx *c = st->c;
    cpo_chain *ch = &c->chain;
    size_t j = 0;
    for (size_t i = 0; i < ch->n; i++) {
        if (!keep[i])
            continue;
        if (i != j) {
            ch->ts[j] = ch->ts[i];
            ch->expiry_ms[j] = ch->expiry_ms[i];
            ch->strike[j] = ch->strike[i];
            ch->right[j] = ch->right[i];
            ch->mark_px[j] = ch->mark_px[i];
            ch->bid_px[j] = ch->bid_px[i];
            ch->ask_px[j] = ch->ask_px[i];
            ch->mark_iv[j] = ch->mark_iv[i];
            ch->fwd_px[j] = ch->fwd_px[i];
            ch->index_px[j] = ch->index_px[i];
            ch->delta[j] = ch->delta[i];
            ch->vega[j] = ch->vega[i];
            ch->open_interest[j] = ch->open_interest[i];
            memcpy(ch->name[j], ch->name[i], CPO_SYMBOL_MAX);
            c->line[j] = c->line[i];
            if (st->poll)
                st->poll[j] = st->poll[i];
        }
        j++;
    }
    ch->n = j;
    c->n_line = j;
}

/* "ETH", "BTC or ETH", "BTC, ETH or SOL" from first + others into buf. */
static void alternatives(const chain_reader *st, const char *first, const char *sep_last,
                         char *buf, size_t cap)
{
    size_t k = 0, total = st->n_others + (first ? 1 : 0), at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < total && k < cap; i++) {
        const char *s = first ? (i == 0 ? first : st->others[i - 1]) : st->others[i];
        const char *sep = at == 0 ? "" : at + 1 == total ? sep_last : ", ";
        int m = snprintf(buf + k, cap - k, "%s%s", sep, s);
        if (m < 0)
            break;
        k += (size_t)m;
        at++;
    }
}

/* Underlying checks once every row is seen; what: "options" or "futures",
 * staged: how many rows of them were kept. */
static int finish_underlying(chain_reader *st, const char *what, size_t staged)
{
    cpo_import_ctx *c = st->c;
    char list[200], alts[200];
    if (st->want[0] && staged == 0 && st->n_others) {
        alternatives(st, NULL, ", ", list, sizeof list);
        alternatives(st, NULL, " or ", alts, sizeof alts);
        return cpo_import_fail(c, CPO_ENOTFOUND, 0, 0,
                               "the file holds no %s %s, only %s (expected --underlying %s)",
                               st->want, what, list, alts);
    }
    if (!st->want[0] && st->n_others) {
        alternatives(st, st->chosen, ", ", list, sizeof list);
        alternatives(st, st->chosen, " or ", alts, sizeof alts);
        return cpo_import_fail(c, CPO_EINVAL, 0, 0,
                               "the file holds options on %zu underlyings (%s) (expected "
                               "--underlying %s to choose one)", st->n_others + 1, list, alts);
    }
    if (st->skipped) {
        alternatives(st, NULL, ", ", list, sizeof list);
        cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                        "kept the %s %s; skipped %zu rows of other underlyings (%s)",
                        st->chosen, what, st->skipped, list);
    }
    return 0;
}

/* Snapshot time of each poll = its earliest quote time; keep_last_poll. */
static int finish_polls(chain_reader *st)
{
    cpo_import_ctx *c = st->c;
    cpo_chain *ch = &c->chain;
    int rc = 0;
    size_t np = st->n_polls;
    int64_t *lo = malloc(np * sizeof *lo), *hi = malloc(np * sizeof *hi);
    size_t *cnt = calloc(np, sizeof *cnt);
    unsigned char *keep = NULL;
    if (!lo || !hi || !cnt) {
        rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        goto cleanup;
    }
    for (size_t p = 0; p < np; p++) {
        lo[p] = INT64_MAX;
        hi[p] = INT64_MIN;
    }
    for (size_t i = 0; i < ch->n; i++) {
        size_t p = st->poll[i];
        if (ch->ts[i] < lo[p])
            lo[p] = ch->ts[i];
        if (ch->ts[i] > hi[p])
            hi[p] = ch->ts[i];
        cnt[p]++;
    }
    for (size_t p = 0; p < np; p++) {
        char t1[40], t2[40];
        if (!cnt[p])
            continue;
        cpo_time_format(lo[p], t1, sizeof t1);
        cpo_time_format(hi[p], t2, sizeof t2);
        if (np == 1)
            cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                            "%zu quotes taken from %s to %s; snapshot time set to the earliest",
                            cnt[p], t1, t2);
        else
            cpo_import_note(c, CPO_ISSUE_INFO, 0, p == 1 ? st->first_repeat_line : 0, 0,
                            "poll %zu of %zu%s: %zu quotes taken from %s to %s; snapshot time "
                            "set to the earliest", p + 1, np,
                            p == 1 ? " (starts where an instrument repeats)" : "", cnt[p], t1,
                            t2);
    }
    for (size_t i = 0; i < ch->n; i++)
        ch->ts[i] = lo[st->poll[i]];
    if (!c->o->keep_last_poll || np < 2)
        goto cleanup;
    keep = calloc(ch->n ? ch->n : 1, 1);
    if (!keep) {
        rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        goto cleanup;
    }
    /* The table maps each name to its latest row, i.e. its last poll. */
    size_t kept = 0, early = 0;
    for (size_t s = 0; s < st->cap_slot; s++)
        if (st->slot[s]) {
            size_t i = st->slot[s] - 1;
            keep[i] = 1;
            kept++;
            if (st->poll[i] != np - 1)
                early++;
        }
    size_t dropped = ch->n - kept;
    compact(st, keep);
    cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                    "keep_last_poll: dropped %zu earlier quotes of instruments quoted again "
                    "later; %zu rows kept", dropped, kept);
    if (early)
        cpo_import_note(c, CPO_ISSUE_WARNING, 0, 0, 0,
                        "%zu instruments are missing from the last poll; their latest quotes "
                        "are kept at their own poll's snapshot time", early);
cleanup:
    free(lo);
    free(hi);
    free(cnt);
    free(keep);
    return rc;
}

/* Every option must expire after its snapshot time. */
/* Mark staged row i dropped (its problem was reported in lenient mode);
 * *keep is made at the first.  0, or CPO_ENOMEM. */
static int drop_row(chain_reader *st, unsigned char **keep, size_t i)
{
    cpo_chain *ch = &st->c->chain;
    if (!*keep) {
        if (!(*keep = malloc(ch->n)))
            return cpo_import_fail(st->c, CPO_ENOMEM, 0, 0, "out of memory");
        memset(*keep, 1, ch->n);
    }
    (*keep)[i] = 0;
    st->dropped++;
    return 0;
}

/* Keep the rows keep says (NULL: all) and let go of keep. */
static void drop_rows(chain_reader *st, unsigned char *keep)
{
    if (keep)
        compact(st, keep);
    free(keep);
}

static int finish_expiry(chain_reader *st)
{
    cpo_import_ctx *c = st->c;
    cpo_chain *ch = &c->chain;
    unsigned char *keep = NULL;
    int col0 = st->col[C_EXPIRY] >= 0 ? st->col[C_EXPIRY] : st->col[C_NAME];
    const char *what = st->col[C_EXPIRY] >= 0 ? st->hname[C_EXPIRY] : "expiry";
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->expiry_ms[i] > ch->ts[i])
            continue;
        char t1[40], t2[40];
        cpo_time_format(ch->expiry_ms[i], t1, sizeof t1);
        cpo_time_format(ch->ts[i], t2, sizeof t2);
        int rc = row_problem(st, CPO_EDATA, c->line[i], col0,
                             "%s %s of %s is not after the snapshot time %s (expected an "
                             "option that has not expired)", what, t1, ch->name[i], t2);
        if (rc < 0 || (rc = drop_row(st, &keep, i))) {
            free(keep);
            return rc;
        }
    }
    drop_rows(st, keep);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Decimal implied vols above 10 (1000 %), once the unit is known: problems
 * of their rows (refused, or dropped under --lenient). */
static int iv_range(chain_reader *st)
{
    cpo_import_ctx *c = st->c;
    cpo_chain *ch = &c->chain;
    unsigned char *keep = NULL;
    double lim = IV_MAX_PERCENT / 100.0;
    for (size_t i = 0; i < ch->n; i++) {
        if (!(ch->mark_iv[i] > lim))
            continue;
        int rc = row_problem(st, CPO_EDATA, c->line[i], st->col[C_IV],
                             "%s %g (decimal) is out of range (expected an implied volatility of "
                             "0 to %g as a decimal, %g %%)",
                             st->hname[C_IV], ch->mark_iv[i], lim, IV_MAX_PERCENT);
        if (rc < 0 || (rc = drop_row(st, &keep, i))) {
            free(keep);
            return rc;
        }
    }
    drop_rows(st, keep);
    return 0;
}

/* Resolve the IV unit, store decimal, warn about placeholder values. */
static int finish_iv(chain_reader *st)
{
    cpo_import_ctx *c = st->c;
    cpo_chain *ch = &c->chain;
    const char *col = st->hname[C_IV];
    long cc = st->col[C_IV] + 1;
    size_t n = 0;
    double *v = malloc((ch->n ? ch->n : 1) * sizeof *v);
    if (!v)
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    for (size_t i = 0; i < ch->n; i++)
        if (!isnan(ch->mark_iv[i]))
            v[n++] = ch->mark_iv[i];
    int rc = 0;
    if (n == 0)
        goto cleanup;
    qsort(v, n, sizeof *v, cmp_double);
    double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), mx = v[n - 1];
    char smed[32], smx[32];
    fmt_num(med, smed, sizeof smed);
    fmt_num(mx, smx, sizeof smx);
    cpo_iv_unit u = c->o->iv_unit;
    if (u == CPO_IV_DECIMAL && med > 5) {
        rc = cpo_import_fail(c, CPO_EDATA, 1, cc,
                             "%s is declared decimal but its median is %s (expected decimal "
                             "values such as 0.45; the column looks like percent)", col, smed);
        goto cleanup;
    }
    if (u == CPO_IV_PERCENT && mx < 3) {
        rc = cpo_import_fail(c, CPO_EDATA, 1, cc,
                             "%s is declared percent but every value is below 3 (max %s) "
                             "(expected percent values such as 45.0; the column looks like "
                             "decimal)", col, smx);
        goto cleanup;
    }
    if (u == CPO_IV_AUTO) {
        u = st->spec->iv_unit;
        if (u == CPO_IV_DECIMAL && mx > 5) {
            rc = cpo_import_fail(c, CPO_EDATA, 1, cc,
                                 "%s has values above 5 (max %s, median %s), which look like "
                                 "percent, but this layout's IV is decimal (expected "
                                 "--iv-unit percent or decimal to say which)", col, smx, smed);
            goto cleanup;
        }
        if (u == CPO_IV_PERCENT && mx < 3) {
            rc = cpo_import_fail(c, CPO_EDATA, 1, cc,
                                 "%s has every value below 3 (max %s), which looks like decimal, "
                                 "but this layout's IV is percent (expected --iv-unit decimal "
                                 "or percent to say which)", col, smx);
            goto cleanup;
        }
    }
    int pct = u == CPO_IV_PERCENT;
    cpo_import_note(c, CPO_ISSUE_INFO, 0, 1, cc,
                    "%s read as %s (%s; median %s) and stored as decimal", col,
                    pct ? "percent" : "decimal",
                    c->o->iv_unit == CPO_IV_AUTO ? "the layout's unit" : "as declared", smed);
    /* Placeholders: exactly 100 %, or one value on at least 10 % of rows. */
    double hundred = pct ? 100.0 : 1.0;
    size_t n100 = 0, best = 0;
    double best_v = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j] == v[i])
            j++;
        if (v[i] == hundred)
            n100 = j - i;
        else if (j - i > best) {
            best = j - i;
            best_v = v[i];
        }
        i = j;
    }
    char sv[32];
    if (n100) {
        fmt_num(hundred, sv, sizeof sv);
        cpo_import_note(c, CPO_ISSUE_WARNING, 0, 0, cc,
                        "%zu row%s %s %s %s, which looks like a placeholder", n100,
                        n100 == 1 ? "" : "s", n100 == 1 ? "has" : "have", col, sv);
    }
    if (best >= 10 && best * 10 >= n) {
        fmt_num(best_v, sv, sizeof sv);
        cpo_import_note(c, CPO_ISSUE_WARNING, 0, 0, cc,
                        "%zu rows have %s %s, which looks like a placeholder", best, col, sv);
    }
    if (pct)
        for (size_t i = 0; i < ch->n; i++)
            ch->mark_iv[i] /= 100.0;
    rc = iv_range(st);
cleanup:
    free(v);
    return rc;
}

int cpo_read_deribit_chain(cpo_import_ctx *c)
{
    chain_reader st;
    memset(&st, 0, sizeof st);
    st.c = c;
    st.snapshot = CPO_TIME_NONE;
    cpo_chain_init(&c->chain, c->o->symbol);
    c->stage = CPO_STAGE_CHAIN;
    int rc = cpo_csv_read(c->path, on_row, &st, c->err);
    if (rc)
        goto cleanup;
    if (!st.spec) {
        rc = cpo_import_fail(c, CPO_EFORMAT, 0, 0,
                             "the file is empty (expected a header line and option rows)");
        goto cleanup;
    }
    c->rep->rows_read = st.rows;
    if ((rc = finish_underlying(&st, "options", c->chain.n)) != 0)
        goto cleanup;
    if (st.spec->per_row_ts && c->chain.n && (rc = finish_polls(&st)) != 0)
        goto cleanup;
    if ((rc = finish_expiry(&st)) != 0)
        goto cleanup;
    if ((rc = finish_iv(&st)) != 0)
        goto cleanup;
    c->rep->dropped += st.dropped;
    if (c->chain.n == 0) {
        rc = cpo_import_fail(c, CPO_EDATA, 0, 0, "no option rows%s (expected at least one)",
                             st.rows ? " left" : "");
        goto cleanup;
    }
    snprintf(c->chain.underlying, sizeof c->chain.underlying, "%s", st.chosen);
    snprintf(c->rep->target, sizeof c->rep->target, "%s", st.chosen);
cleanup:
    free(st.poll);
    free(st.slot);
    return rc;
}

/* --- deribit-chain-futures ------------------------------------------------ */

static int cmp_quote(const void *a, const void *b)
{
    const fut_quote *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* The median of v[0..n) (sorted in place; NaN left out; NaN if none). */
static double median_of(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(v, m, sizeof *v, cmp_double);
    return gsl_stats_median_from_sorted_data(v, 1, m);
}

/* One set per future: a bar per snapshot time, at the hour that holds it. */
static int fut_sets(chain_reader *st)
{
    cpo_import_ctx *c = st->c;
    const cpo_import_opts *o = c->o;
    size_t nq = st->n_fq, bars = 0;
    if (nq)
        qsort(st->fq, nq, sizeof *st->fq, cmp_quote);
    size_t nf = 0;
    for (size_t i = 0; i < nq; i++)
        nf += i == 0 || strcmp(st->fq[i].name, st->fq[i - 1].name) != 0;
    c->sets = calloc(nf ? nf : 1, sizeof *c->sets);
    double *px = malloc((nq ? nq : 1) * sizeof *px), *ix = malloc((nq ? nq : 1) * sizeof *ix);
    if (!c->sets || !px || !ix) {
        free(px);
        free(ix);
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < nq && !rc;) {
        size_t j = i;
        while (j < nq && !strcmp(st->fq[j].name, st->fq[i].name))
            j++;
        cpo_bar_set *set = &c->sets[c->n_sets++];
        char why[160];
        cpo_instrument_init(&set->instr, "", CPO_KIND_FUTURE, CPO_SETTLE_INVERSE);
        cpo_bars_init(&set->bars);
        cpo_future_deribit(st->fq[i].name, strlen(st->fq[i].name), &set->instr, why, sizeof why);
        if (o->exchange && o->exchange[0])
            snprintf(set->instr.exchange, sizeof set->instr.exchange, "%s", o->exchange);
        set->bars.bar_ms = CPO_MS_HOUR;
        set->line = malloc((j - i) * sizeof *set->line);
        if (!set->line) {
            rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
            break;
        }
        for (size_t a = i; a < j && !rc;) {
            size_t e = a, m = 0;
            while (e < j && st->fq[e].ts == st->fq[a].ts) {
                px[m] = st->fq[e].px;
                ix[m++] = st->fq[e].index;
                e++;
            }
            double p = median_of(px, m), x = median_of(ix, m);
            int64_t t = st->fq[a].ts - ((st->fq[a].ts % CPO_MS_HOUR) + CPO_MS_HOUR) % CPO_MS_HOUR;
            if (cpo_bars_append(&set->bars, t, p, p, p, p, NAN, NAN, NAN, NAN, x))
                rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
            else
                set->line[set->bars.n - 1] = st->fq[a].line;
            a = e;
        }
        bars += set->bars.n;
        i = j;
    }
    free(px);
    free(ix);
    if (rc)
        return rc;
    /* Without quotes: refused, naming the underlyings there are (if one
     * was asked for); with them: the rows of the others, in a note. */
    snprintf(st->chosen, sizeof st->chosen, "%s", st->want);
    if (st->rows == 0)
        return cpo_import_fail(c, CPO_EDATA, 0, 0, "no data rows (expected at least one row)");
    if (nq == 0 && (rc = finish_underlying(st, "futures", 0)) != 0)
        return rc;
    if (nq == 0 && st->dropped)
        return cpo_import_fail(c, CPO_EDATA, 0, 0,
                               "no futures quotes left: all %zu %s of listed futures %s dropped "
                               "(expected at least one valid row)",
                               st->dropped, st->dropped == 1 ? "row" : "rows",
                               st->dropped == 1 ? "was" : "were");
    if (nq == 0)
        return cpo_import_fail(c, CPO_EDATA, 0, 0,
                               "no listed futures in the file: %zu %s synthetic ones (SYN.*), "
                               "which are skipped (expected rows of a future such as BTC-27MAR26)",
                               st->n_syn, st->n_syn == 1 ? "row names" : "rows name");
    cpo_import_note(c, CPO_ISSUE_INFO, 0, 0, 0,
                    "%zu quotes of %zu futures: %zu hourly %s at the median %s of each "
                    "snapshot; %zu rows of synthetic futures (SYN.*) skipped",
                    nq, nf, bars, bars == 1 ? "bar" : "bars", st->hname[C_FWD], st->n_syn);
    return finish_underlying(st, "futures", nq);
}

int cpo_read_chain_futures(cpo_import_ctx *c)
{
    chain_reader st;
    memset(&st, 0, sizeof st);
    st.c = c;
    st.futures = 1;
    st.snapshot = CPO_TIME_NONE;
    c->stage = CPO_STAGE_SETS;
    int rc = cpo_csv_read(c->path, on_row, &st, c->err);
    if (!rc && !st.spec)
        rc = cpo_import_fail(c, CPO_EFORMAT, 0, 0,
                             "the file is empty (expected a header line and rows)");
    c->rep->rows_read = st.rows;
    c->rep->dropped += st.dropped;
    if (!rc)
        rc = fut_sets(&st);
    free(st.fq);
    free(st.poll);
    free(st.slot);
    return rc;
}
