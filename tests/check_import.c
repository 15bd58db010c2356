/* check_import.c - cpo_import_file: detection, the klines reader, the
 * checks (order, duplicates, gaps, OHLC, partial last bar), merging,
 * provenance, the report, and the exact messages for bad files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpo/dataset.h"
#include "cpo/import.h"
#include "cpo/time.h"
#include "testutil.h"

/* --- helpers ------------------------------------------------------------------ */

static char *dpath(const char *name)
{
    return strdup(tu_data(name));
}

static cpo_dataset *new_ds(void)
{
    cpo_dataset *ds = NULL;
    ck_assert_int_eq(cpo_dataset_new(&ds, NULL), 0);
    return ds;
}

static cpo_import_opts opts(void)
{
    cpo_import_opts o;
    cpo_import_opts_init(&o);
    return o;
}

/* Import a file that must import; returns the report in *rep. */
static void must_import(cpo_dataset *ds, const char *path, const cpo_import_opts *o,
                        cpo_import_report *rep)
{
    cpo_error e;
    cpo_error_clear(&e);
    int rc = cpo_import_file(ds, path, o, rep, &e);
    ck_assert_msg(rc == 0, "import of %s failed: %s", path, tu_errstr(&e));
}

static const cpo_bars *bars_of(const cpo_dataset *ds, const char *sym)
{
    long i = cpo_dataset_find(ds, sym);
    ck_assert_msg(i >= 0, "%s not in the dataset", sym);
    return &ds->bars[i];
}

/* The first issue whose message contains `needle`, or NULL. */
static const cpo_import_issue *find_issue(const cpo_import_report *r, const char *needle)
{
    for (size_t i = 0; i < r->n_issues; i++)
        if (strstr(r->issues[i].msg, needle))
            return &r->issues[i];
    return NULL;
}

/* Issue formatted as in the report: "level: path:line:col: msg". */
static const char *issue_str(const cpo_import_report *r, const cpo_import_issue *is)
{
    static char buf[1024];
    static const char *const lv[] = {"info", "warning", "repaired", "error"};
    if (is->line > 0 && is->col > 0)
        snprintf(buf, sizeof buf, "%s: %s:%ld:%ld: %s", lv[is->level], r->path, is->line, is->col,
                 is->msg);
    else if (is->line > 0)
        snprintf(buf, sizeof buf, "%s: %s:%ld: %s", lv[is->level], r->path, is->line, is->msg);
    else
        snprintf(buf, sizeof buf, "%s: %s: %s", lv[is->level], r->path, is->msg);
    return buf;
}

static int64_t day(const char *iso)
{
    int64_t t;
    ck_assert_int_eq(cpo_time_parse(iso, strlen(iso), &t, NULL, NULL), 0);
    return t;
}

/* Parse a klines CSV text by hand (strtod, every row) and compare it with
 * the bars, row by row. */
static void check_round_trip(const char *path, const cpo_bars *b, size_t skip_last)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    char *save = NULL, *line = strtok_r(text, "\r\n", &save); /* header */
    int has_ct = strstr(line, "close_time") != NULL;
    size_t i = 0;
    for (line = strtok_r(NULL, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char *f[16];
        size_t nf = 0;
        for (char *p = line, *c; nf < 16; p = c + 1) {
            f[nf++] = p;
            c = strchr(p, ',');
            if (!c)
                break;
            *c = '\0';
        }
        ck_assert_uint_ge(nf, 5);
        if (i >= b->n) {
            ck_assert_uint_eq(skip_last, 1);
            break;
        }
        int64_t ts;
        if (strchr(f[0], '-'))
            ts = day(f[0]);
        else
            ts = strtoll(f[0], NULL, 10);
        ck_assert_int_eq(b->ts[i], ts);
        ck_assert_msg(b->open[i] == strtod(f[1], NULL), "row %zu open", i);
        ck_assert_msg(b->high[i] == strtod(f[2], NULL), "row %zu high", i);
        ck_assert_msg(b->low[i] == strtod(f[3], NULL), "row %zu low", i);
        ck_assert_msg(b->close[i] == strtod(f[4], NULL), "row %zu close", i);
        if (nf > 5)
            ck_assert_msg(b->volume[i] == strtod(f[5], NULL), "row %zu volume", i);
        ck_assert(isnan(b->mark[i]) && isnan(b->index[i]));
        (void)has_ct;
        i++;
    }
    ck_assert_uint_eq(i, b->n);
    free(text);
}

/* --- formats and options -------------------------------------------------------- */

START_TEST(test_format_names)
{
    cpo_format f;
    ck_assert_str_eq(cpo_format_name(CPO_FMT_AUTO), "auto");
    ck_assert_str_eq(cpo_format_name(CPO_FMT_BINANCE_KLINES), "binance-klines");
    ck_assert_str_eq(cpo_format_name(CPO_FMT_BINANCE_MARK_KLINES), "binance-mark-klines");
    ck_assert_str_eq(cpo_format_name(CPO_FMT_CMC_MONTHLY), "cmc-monthly");
    ck_assert_str_eq(cpo_format_name(CPO_FMT_BINANCE_DELIVERY_KLINES), "binance-delivery-klines");
    ck_assert_str_eq(cpo_format_name(CPO_FMT_DERIBIT_FUTURES), "deribit-futures");
    ck_assert_str_eq(cpo_format_name(CPO_FMT_DERIBIT_CHAIN_FUTURES), "deribit-chain-futures");
    ck_assert_str_eq(cpo_format_name((cpo_format)99), "?");
    for (int i = 0; i < CPO_FMT_COUNT; i++) {
        ck_assert_int_eq(cpo_format_parse(cpo_format_name((cpo_format)i), &f), 0);
        ck_assert_int_eq(f, i);
        ck_assert(strlen(cpo_format_help((cpo_format)i)) > 10);
    }
    ck_assert_int_eq(cpo_format_parse("Binance-Klines", &f), 0);
    ck_assert_int_eq(f, CPO_FMT_BINANCE_KLINES);
    ck_assert_int_eq(cpo_format_parse("klines-of-sorts", &f), CPO_EINVAL);
    ck_assert_int_eq(cpo_format_parse(NULL, &f), CPO_EINVAL);
}
END_TEST

START_TEST(test_opts_defaults)
{
    cpo_import_opts o = opts();
    ck_assert_int_eq(o.format, CPO_FMT_AUTO);
    ck_assert_int_eq(o.mode, CPO_IMPORT_STRICT);
    ck_assert_int_eq(o.sort, 0);
    ck_assert_int_eq(o.tz.kind, CPO_TZ_FIXED);
    ck_assert_int_eq(o.tz.offset_ms, 0);
    ck_assert_int_eq(o.partial_last, CPO_PARTIAL_FLAG);
    ck_assert_int_eq(o.kind, CPO_KIND_SPOT);
    ck_assert_int_eq(o.settle, CPO_SETTLE_LINEAR);
    ck_assert_int_eq(o.iv_unit, CPO_IV_AUTO);
    ck_assert(o.snapshot_ms == CPO_TIME_NONE);
    ck_assert_int_eq(o.max_listed, 5);
    ck_assert_ptr_null(o.symbol);
    ck_assert_ptr_null(o.exchange);
}
END_TEST

/* --- detection ---------------------------------------------------------------------- */

static const struct {
    const char *file;
    cpo_format fmt;
} DETECT[] = {
    {"detect/detect_funding_8h.csv", CPO_FMT_BINANCE_FUNDING},
    {"detect/detect_funding_recent.csv", CPO_FMT_BINANCE_FUNDING},
    {"detect/detect_funding_supervik.csv", CPO_FMT_BINANCE_FUNDING},
    {"detect/detect_funding.json", CPO_FMT_BINANCE_FUNDING_JSON},
    {"detect/detect_bitmex.csv", CPO_FMT_BITMEX_FUNDING},
    {"detect/detect_deribit_funding.csv", CPO_FMT_DERIBIT_FUNDING},
    {"detect/detect_chain_weekly.csv", CPO_FMT_DERIBIT_CHAIN},
    {"detect/detect_chain_2024.csv", CPO_FMT_DERIBIT_CHAIN},
    {"detect/detect_chain_typed.csv", CPO_FMT_DERIBIT_CHAIN},
    {"detect/detect_dvol.csv", CPO_FMT_DVOL},
    {"detect/detect_dvol.json", CPO_FMT_DVOL},
    {"detect/detect_cmc.csv", CPO_FMT_CMC_MONTHLY},
    {"detect/detect_klines.csv", CPO_FMT_BINANCE_KLINES},
    {"klines/klines_BTCUSDT_1d.csv", CPO_FMT_BINANCE_KLINES},
    {"klines/klines_BTCUSDT_open_time.csv", CPO_FMT_BINANCE_KLINES},
    {"klines/klines_BTCUSDT_bom_crlf.csv", CPO_FMT_BINANCE_KLINES},
    {"futures/deribit_BTC-27MAR26_1h.csv", CPO_FMT_DERIBIT_FUTURES},
    {"futures/deribit_ETH-27MAR26_1h.json", CPO_FMT_DERIBIT_FUTURES},
    {"bad/deribit_futures_ETH-27MAR26_length.json", CPO_FMT_DERIBIT_FUTURES},
};

/* The format detected is in the report whether or not the reader (not
 * all of which are this suite's business) accepts the sample. */
START_TEST(test_detect)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.symbol = "BTCUSDT";
    o.snapshot_ms = day("2024-05-24T14:00:00Z");
    static cpo_import_report rep;
    cpo_error e;
    char *p = dpath(DETECT[_i].file);
    cpo_import_file(ds, p, &o, &rep, &e);
    ck_assert_msg(rep.format == DETECT[_i].fmt, "%s: detected %s, expected %s", DETECT[_i].file,
                  cpo_format_name(rep.format), cpo_format_name(DETECT[_i].fmt));
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_detect_klines_after_blank_lines)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.symbol = "BTCUSDT";
    static cpo_import_report rep;
    char *p = dpath("detect/detect_klines.csv");
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 1);
    ck_assert_int_eq(bars_of(ds, "BTCUSDT")->ts[0], day("2024-01-01"));
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_detect_unknown_json)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_error e;
    char *p = dpath("detect/detect_json_unknown.json"), want[1024];
    ck_assert_int_eq(cpo_import_file(ds, p, NULL, &rep, &e), CPO_EFORMAT);
    snprintf(want, sizeof want,
             "%s:1: cannot tell the format of the JSON array (expected one of: "
             "[{\"funding_rate\": ...}, ...] for binance-funding-json, [[ms, value], ...] for dvol; "
             "or pass --format)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* --- happy paths ---------------------------------------------------------------------- */

START_TEST(test_klines_daily_round_trip)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_1d.csv");
    must_import(ds, p, &o, &rep);
    ck_assert_int_eq(rep.format, CPO_FMT_BINANCE_KLINES);
    ck_assert_str_eq(rep.target, "BTCUSDT");
    ck_assert_uint_eq(rep.rows_read, 40);
    ck_assert_uint_eq(rep.rows_kept, 40);
    ck_assert_uint_eq(rep.dropped, 0);
    ck_assert_uint_eq(rep.gaps, 0);
    ck_assert_int_eq(rep.step_ms, CPO_MS_DAY);
    ck_assert_int_eq(rep.first_ms, day("2017-08-17"));
    ck_assert_int_eq(rep.last_ms, day("2017-09-25"));
    ck_assert_uint_eq(rep.n_issues, 0);
    const cpo_bars *b = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(b->n, 40);
    ck_assert_int_eq(b->bar_ms, CPO_MS_DAY);
    check_round_trip(p, b, 0);
    /* the instrument */
    const cpo_instrument *in = &ds->instr[0];
    ck_assert_str_eq(in->symbol, "BTCUSDT");
    ck_assert_str_eq(in->exchange, "binance");
    ck_assert_str_eq(in->base, "BTC");
    ck_assert_str_eq(in->quote, "USDT");
    ck_assert_str_eq(in->underlying, "");
    ck_assert_int_eq(in->kind, CPO_KIND_SPOT);
    ck_assert(in->contract_size == 1.0);
    ck_assert_int_eq(in->funding_interval_ms, 0);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_klines_perp_hourly_ms_close_time)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.kind = CPO_KIND_PERP;
    static cpo_import_report rep;
    char *p = dpath("klines/klines_ETHUSDT_1h_perp.csv");
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 30);
    ck_assert_uint_eq(rep.n_issues, 0); /* close_time consistent */
    ck_assert_int_eq(rep.step_ms, CPO_MS_HOUR);
    const cpo_bars *b = bars_of(ds, "ETHUSDT");
    ck_assert_int_eq(b->bar_ms, CPO_MS_HOUR);
    check_round_trip(p, b, 0);
    const cpo_instrument *in = &ds->instr[0];
    ck_assert_int_eq(in->kind, CPO_KIND_PERP);
    ck_assert_str_eq(in->underlying, "ETH");
    ck_assert_int_eq(in->funding_interval_ms, 8 * CPO_MS_HOUR);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_klines_bom_crlf)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_bom_crlf.csv");
    must_import(ds, p, NULL, &rep);
    ck_assert_uint_eq(rep.rows_kept, 5);
    check_round_trip(p, bars_of(ds, "BTCUSDT"), 0);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_klines_open_time_no_volume)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_open_time.csv");
    must_import(ds, p, NULL, &rep);
    const cpo_bars *b = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(b->n, 2);
    ck_assert(isnan(b->volume[0]) && isnan(b->volume[1]));
    ck_assert(b->close[1] == 151);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* Sixteen-digit stamps are microseconds (Binance spot dumps since 2025). */
START_TEST(test_klines_microseconds)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_us.csv");
    must_import(ds, p, NULL, &rep);
    ck_assert_uint_eq(rep.n_issues, 0); /* close_time consistent too */
    const cpo_bars *b = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(b->n, 2);
    ck_assert_int_eq(b->ts[0], day("2025-01-01"));
    ck_assert_int_eq(b->ts[1], day("2025-01-01T01:00:00Z"));
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_klines_close_time_mismatch_warns)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_close_time.csv"), want[1024];
    must_import(ds, p, NULL, &rep);
    ck_assert_uint_eq(rep.rows_kept, 6);
    ck_assert_uint_eq(rep.n_issues, 1);
    snprintf(want, sizeof want,
             "warning: %s:5:7: close_time 1704081599998 is not the open time + 1h - 1 ms "
             "(expected 1704081599999)",
             p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_symbol_from_file_name)
{
    static const struct {
        const char *name, *sym, *base, *quote;
    } cases[] = {
        {"BTCUSDT_1d.csv", "BTCUSDT", "BTC", "USDT"},
        {"binance_ETHUSDT_1h.csv", "ETHUSDT", "ETH", "USDT"},
        {"solusdc.csv", "SOLUSDC", "SOL", "USDC"},
        {"XBTUSD.csv", "XBTUSD", "XBT", "USD"},
        {"BTCBUSD_4h.data.csv", "BTCBUSD", "BTC", "BUSD"},
        {"binance_btc_1h.csv", NULL, NULL, NULL},
        {"BTC_1d.csv", NULL, NULL, NULL},
        {"1INCHUSDT.csv", NULL, NULL, NULL}, /* must start with a letter */
    };
    char *dir = tu_tmpdir();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = tu_path(dir, cases[i].name);
        tu_write_file(p, "timestamp,open,high,low,close\n2024-01-01,1,2,0.5,1.5\n");
        cpo_dataset *ds = new_ds();
        static cpo_import_report rep;
        cpo_error e;
        int rc = cpo_import_file(ds, p, NULL, &rep, &e);
        if (cases[i].sym) {
            ck_assert_msg(rc == 0, "%s: %s", cases[i].name, tu_errstr(&e));
            ck_assert_str_eq(ds->instr[0].symbol, cases[i].sym);
            ck_assert_str_eq(ds->instr[0].base, cases[i].base);
            ck_assert_str_eq(ds->instr[0].quote, cases[i].quote);
        } else {
            char want[1024];
            ck_assert_int_eq(rc, CPO_EINVAL);
            snprintf(want, sizeof want,
                     "%s: cannot tell the symbol from the file name \"%s\" (expected a name like "
                     "BTCUSDT_1d.csv; or pass --symbol)",
                     p, cases[i].name);
            ck_assert_str_eq(tu_errstr(&e), want);
            ck_assert_uint_eq(ds->n_instr, 0);
        }
        cpo_dataset_free(ds);
        free(p);
    }
    /* --symbol wins, and sets base/quote; an unknown quote leaves the base whole */
    char *p = tu_path(dir, "binance_btc_1h.csv");
    cpo_import_opts o = opts();
    o.symbol = "BTCEUR";
    o.exchange = "kraken";
    o.contract_size = 0.001;
    cpo_dataset *ds = new_ds();
    must_import(ds, p, &o, NULL);
    ck_assert_str_eq(ds->instr[0].symbol, "BTCEUR");
    ck_assert_str_eq(ds->instr[0].base, "BTCEUR");
    ck_assert_str_eq(ds->instr[0].quote, "");
    ck_assert_str_eq(ds->instr[0].exchange, "kraken");
    ck_assert(ds->instr[0].contract_size == 0.001);
    cpo_dataset_free(ds);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- checks --------------------------------------------------------------------------- */

START_TEST(test_sort_option)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.sort = 1;
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_unsorted.csv"), want[1024];
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.reordered, 2);
    ck_assert_uint_eq(rep.rows_kept, 6);
    snprintf(want, sizeof want, "info: %s: sorted by time: 2 rows were out of order", p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    const cpo_bars *b = bars_of(ds, "BTCUSDT");
    for (size_t i = 0; i < b->n; i++) {
        ck_assert_int_eq(b->ts[i], day("2024-01-01") + (int64_t)i * CPO_MS_HOUR);
        ck_assert(b->close[i] == 100.0 + (double)i); /* the values moved with their times */
    }
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* After sorting, a later problem still names the right source lines. */
START_TEST(test_sort_keeps_lines)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.sort = 1;
    static cpo_import_report rep;
    cpo_error e;
    char *p = dpath("klines/klines_BTCUSDT_unsorted_dup.csv"), want[1024];
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EDUP);
    snprintf(want, sizeof want,
             "%s:5:1: duplicate timestamp 2024-01-01T02:00:00Z (first at line 3; expected one row per time)", p);
    ck_assert_str_eq(tu_errstr(&e), want);
    /* lenient: the duplicate goes, the rest stays */
    o.mode = CPO_IMPORT_LENIENT;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 4);
    ck_assert_uint_eq(rep.dropped, 1);
    ck_assert_uint_eq(rep.duplicates, 1);
    snprintf(want, sizeof want,
             "repaired: %s:5:1: duplicate timestamp 2024-01-01T02:00:00Z (same values as line 3); row dropped", p);
    ck_assert_ptr_nonnull(find_issue(&rep, "duplicate"));
    ck_assert_str_eq(issue_str(&rep, find_issue(&rep, "duplicate")), want);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_unsorted_lenient)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.mode = CPO_IMPORT_LENIENT;
    o.symbol = "BTCUSDT";
    static cpo_import_report rep;
    char *p = dpath("bad/klines_unsorted.csv"), want[1024];
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.reordered, 1);
    ck_assert_uint_eq(rep.rows_kept, 4);
    snprintf(want, sizeof want,
             "repaired: %s:4:1: timestamp 2024-01-01T01:00:00Z is earlier than the previous row's "
             "2024-01-01T02:00:00Z (expected increasing times; pass --sort to sort); rows sorted by time",
             p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    const cpo_bars *b = bars_of(ds, "BTCUSDT");
    for (size_t i = 1; i < b->n; i++)
        ck_assert_int_gt(b->ts[i], b->ts[i - 1]);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_duplicates_lenient)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.mode = CPO_IMPORT_LENIENT;
    o.symbol = "BTCUSDT";
    static cpo_import_report rep;
    char *p = dpath("bad/klines_dup_exact.csv"), want[1024];
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_read, 4);
    ck_assert_uint_eq(rep.rows_kept, 3);
    ck_assert_uint_eq(rep.duplicates, 1);
    ck_assert_uint_eq(rep.dropped, 1);
    snprintf(want, sizeof want,
             "repaired: %s:4:1: duplicate timestamp 2024-01-02 (same values as line 3); row dropped", p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    free(p);

    /* conflicting: the later row is kept */
    cpo_dataset_free(ds);
    ds = new_ds();
    p = dpath("bad/klines_dup_conflict.csv");
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 3);
    ck_assert_uint_eq(rep.duplicates, 1);
    snprintf(want, sizeof want,
             "repaired: %s:4:1: duplicate timestamp 2024-01-02 with different values (first at line 3: "
             "close 4250 there, 4260 here); kept this row, dropped line 3",
             p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    const cpo_bars *b = bars_of(ds, "BTCUSDT");
    ck_assert_int_eq(b->ts[1], day("2024-01-02"));
    ck_assert(b->close[1] == 4260);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_gaps)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_gap.csv"), want[1024];
    must_import(ds, p, NULL, &rep);
    ck_assert_uint_eq(rep.rows_kept, 8);
    ck_assert_uint_eq(rep.gaps, 2);
    ck_assert_uint_eq(rep.missing_steps, 3);
    ck_assert_int_eq(rep.step_ms, CPO_MS_HOUR);
    snprintf(want, sizeof want,
             "warning: %s:5: 2 gaps (3 missing steps at step 1h): gap after 2024-01-01T02:00:00Z: "
             "2 missing steps; gap after 2024-01-01T07:00:00Z: 1 missing step",
             p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    /* max_listed 1 */
    cpo_import_opts o = opts();
    o.max_listed = 1;
    cpo_dataset_free(ds);
    ds = new_ds();
    must_import(ds, p, &o, &rep);
    snprintf(want, sizeof want,
             "warning: %s:5: 2 gaps (3 missing steps at step 1h): gap after 2024-01-01T02:00:00Z: "
             "2 missing steps; (and 1 more)",
             p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    /* a declared step */
    o = opts();
    o.step_ms = 30 * CPO_MS_MINUTE;
    cpo_dataset_free(ds);
    ds = new_ds();
    must_import(ds, p, &o, &rep);
    ck_assert_int_eq(rep.step_ms, 30 * CPO_MS_MINUTE);
    ck_assert_uint_eq(rep.gaps, 7);
    ck_assert_int_eq(bars_of(ds, "BTCUSDT")->bar_ms, 30 * CPO_MS_MINUTE);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* Millisecond jitter in time stamps (as Binance funding has) is no gap. */
START_TEST(test_gaps_jitter)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "BTCUSDT_8h.csv");
    char text[4096] = "timestamp,open,high,low,close,volume\n";
    static const int jitter[] = {0, 5, 0, 11, 2, 0, 30000, 0};
    for (int i = 0; i < 8; i++) {
        char row[128];
        snprintf(row, sizeof row, "%lld,1,2,0.5,1.5,1\n",
                 (long long)(day("2024-01-01") + i * 8 * CPO_MS_HOUR + jitter[i]));
        strcat(text, row);
    }
    tu_write_file(p, text);
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    must_import(ds, p, NULL, &rep);
    ck_assert_int_eq(rep.step_ms, 8 * CPO_MS_HOUR);
    ck_assert_uint_eq(rep.gaps, 0);
    cpo_dataset_free(ds);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_partial_last_flag)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_partial.csv"), want[1024];
    must_import(ds, p, NULL, &rep);
    ck_assert_uint_eq(rep.rows_kept, 25);
    ck_assert_uint_eq(rep.n_issues, 1);
    snprintf(want, sizeof want,
             "warning: %s:26:6: last bar 2026-01-06 looks partial: volume 5043 is 41%% of the recent "
             "median (expected a whole bar; pass --partial-last=drop)",
             p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_partial_last_drop_keep)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.partial_last = CPO_PARTIAL_DROP;
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_partial.csv"), want[1024];
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_read, 25);
    ck_assert_uint_eq(rep.rows_kept, 24);
    ck_assert_uint_eq(rep.dropped, 1);
    ck_assert_int_eq(rep.last_ms, day("2026-01-05"));
    snprintf(want, sizeof want, "info: %s:26: last bar 2026-01-06 dropped as partial (declared)", p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    ck_assert_uint_eq(bars_of(ds, "BTCUSDT")->n, 24);
    cpo_dataset_free(ds);

    ds = new_ds();
    o.partial_last = CPO_PARTIAL_KEEP;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 25);
    ck_assert_uint_eq(rep.n_issues, 0);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* --- the generic ohlcv format ----------------------------------------------------------- */

/* issue 20: date,open,high,low,close,volume files (pandas, CCXT, yfinance)
 * were refused ("cannot tell the format from the header").  Values: the
 * fixture files, copied by hand. */
START_TEST(test_ohlcv__forms_symbols_and_zones)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    /* yfinance: Date,Open,High,Low,Close,Adj Close,Volume; dates; the
     * symbol from the file name BTC-USD.csv. */
    char *p = dpath("ohlcv/BTC-USD.csv");
    must_import(ds, p, NULL, &rep);
    ck_assert_int_eq(rep.format, CPO_FMT_OHLCV);
    const cpo_bars *b = bars_of(ds, "BTCUSD");
    ck_assert_uint_eq(b->n, 5);
    ck_assert_int_eq(b->ts[0], day("2024-01-01"));
    ck_assert_int_eq(b->ts[4], day("2024-01-05"));
    ck_assert_double_eq(b->close[2], 42848.18);
    ck_assert_double_eq(b->volume[4], 32336029347.0);
    ck_assert_int_eq(b->bar_ms, CPO_MS_DAY);
    long i = cpo_dataset_find(ds, "BTCUSD");
    ck_assert_str_eq(ds->instr[i].base, "BTC");
    ck_assert_str_eq(ds->instr[i].quote, "USD");
    free(p);
    /* seconds since 1970 in a "time" column (--format ohlcv, --symbol) */
    cpo_import_opts o = opts();
    o.format = CPO_FMT_OHLCV;
    o.symbol = "ETHUSDT";
    p = dpath("ohlcv/eth_seconds.csv");
    must_import(ds, p, &o, &rep);
    b = bars_of(ds, "ETHUSDT");
    ck_assert_uint_eq(b->n, 3);
    ck_assert_int_eq(b->ts[1], INT64_C(1704153600000));
    ck_assert(isnan(b->volume[0]));
    free(p);
    /* milliseconds in a "datetime" column, detected */
    o = opts();
    o.symbol = "SOLUSDT";
    p = dpath("ohlcv/sol_ms.csv");
    must_import(ds, p, &o, &rep);
    ck_assert_int_eq(rep.format, CPO_FMT_OHLCV);
    b = bars_of(ds, "SOLUSDT");
    ck_assert_uint_eq(b->n, 3);
    ck_assert_int_eq(b->bar_ms, CPO_MS_HOUR);
    ck_assert_int_eq(b->ts[2], INT64_C(1704074400000));
    free(p);
    /* New York local time over the spring change of 2024-03-10 (02:00 EST
     * -> 03:00 EDT): the local hours 23, 0, 1, 3, 4 are the UTC hours 04
     * .. 08, one bar an hour without a gap. */
    o = opts();
    ck_assert_int_eq(cpo_tz_parse("America/New_York", &o.tz), 0);
    p = dpath("ohlcv/BTCUSDT_ny_local.csv");
    must_import(ds, p, &o, &rep);
    b = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(b->n, 5);
    for (size_t k = 0; k < 5; k++)
        ck_assert_int_eq(b->ts[k], day("2024-03-10") + (int64_t)(4 + k) * CPO_MS_HOUR);
    ck_assert_uint_eq(rep.gaps, 0);
    free(p);
    /* lenient: a row with more fields than the header is dropped and
     * reported (klines); a blank field at the end of a row is no field */
    {
        cpo_dataset *d2 = new_ds();
        cpo_import_opts lo = opts();
        lo.mode = CPO_IMPORT_LENIENT;
        lo.symbol = "BTCUSDT";
        char *x = dpath("bad/klines_extra_fields.csv");
        must_import(d2, x, &lo, &rep);
        ck_assert_uint_eq(bars_of(d2, "BTCUSDT")->n, 2);
        const cpo_import_issue *is = find_issue(&rep, "row has 14 fields");
        ck_assert_ptr_nonnull(is);
        ck_assert_str_eq(issue_str(&rep, is),
                         "repaired: " CPO_TEST_DATA "/bad/klines_extra_fields.csv:3:7: row has 14 "
                         "fields (expected 6, as in the header); row dropped");
        free(x);
        cpo_dataset_free(d2);
        char *dir = tu_tmpdir(), *f = tu_path(dir, "BTCUSDT_1d.csv");
        tu_write_file(f, "timestamp,open,high,low,close,volume\n"
                         "2024-01-01,4200,4400,4100,4250,10,\n2024-01-02,4250,4400,4100,4300,10, ,\n");
        d2 = new_ds();
        must_import(d2, f, NULL, &rep);
        ck_assert_uint_eq(bars_of(d2, "BTCUSDT")->n, 2);
        cpo_dataset_free(d2);
        tu_rmtree(dir);
        free(f);
        free(dir);
    }
    /* lenient: the row of another time form is dropped and reported */
    cpo_dataset_free(ds);
    ds = new_ds();
    o = opts();
    o.format = CPO_FMT_OHLCV;
    o.mode = CPO_IMPORT_LENIENT;
    o.symbol = "SOLUSDT";
    p = dpath("bad/ohlcv_mixed_forms.csv");
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(bars_of(ds, "SOLUSDT")->n, 3);
    ck_assert_uint_eq(rep.dropped, 1);
    ck_assert_ptr_nonnull(find_issue(&rep, "is seconds since 1970, but line 2 has milliseconds since "
                                           "1970 (expected one time form in a file); row dropped"));
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* --- bad files: the exact messages ---------------------------------------------------- */

static const struct {
    const char *file;
    cpo_format fmt;
    const char *symbol;
    int code;
    const char *msg; /* after "path" */
} BAD[] = {
    {"bad/klines_low_above_open.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:4: low 4300.5 is above open 4200 (expected low <= open, close <= high)"},
    {"bad/klines_low_above_close.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:4: low 4150 is above close 4100 (expected low <= open, close <= high)"},
    {"bad/klines_high_below_open.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:3: high 4400 is below open 4500 (expected low <= open, close <= high)"},
    {"bad/klines_high_below_close.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:3: high 4400 is below close 4450.25 (expected low <= open, close <= high)"},
    {"bad/klines_zero_open.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:2: open 0 is not positive (expected a price > 0)"},
    {"bad/klines_negative_close.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:5: close -5 is not positive (expected a price > 0)"},
    {"bad/klines_negative_volume.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:6: volume -1.5 is negative (expected a volume >= 0)"},
    {"bad/klines_bad_number.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:5: close \"abc\" is not a number (expected a decimal number)"},
    {"bad/klines_nan_text.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:3: high \"NaN\" is not a number (expected a decimal number)"},
    {"bad/klines_inf_text.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:4: low \"inf\" is not a number (expected a decimal number)"},
    {"bad/klines_empty_field.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:3: high is empty (expected a number)"},
    {"bad/klines_empty_timestamp.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:1: timestamp is empty (expected a time)"},
    /* issue 20: a 14-field row under a 6-column header was accepted */
    {"bad/klines_extra_fields.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:7: row has 14 fields (expected 6, as in the header)"},
    {"bad/klines_short_row.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:4: row has 4 fields (expected at least 6, as in the header)"},
    {"bad/klines_bad_date.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:1: timestamp \"2024-13-01\" is not a time (expected ms since 1970 or an ISO 8601 date-time)"},
    {"bad/klines_time_out_of_range.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:1: timestamp \"4200000000000\" is out of range (expected a time between 1990 and 2100)"},
    {"bad/klines_bad_close_time.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:7: close_time \"soon\" is not a time (expected ms since 1970 or an ISO 8601 date-time)"},
    {"bad/klines_missing_close.csv", CPO_FMT_BINANCE_KLINES, "BTCUSDT", CPO_EFORMAT,
     ":1: missing column \"close\" (expected columns: timestamp|open_time,open,high,low,close)"},
    {"bad/klines_missing_timestamp.csv", CPO_FMT_BINANCE_KLINES, "BTCUSDT", CPO_EFORMAT,
     ":1: missing column \"timestamp|open_time\" (expected columns: timestamp|open_time,open,high,low,close)"},
    {"bad/klines_no_header.csv", CPO_FMT_BINANCE_KLINES, "BTCUSDT", CPO_EFORMAT,
     ":1:1: no header line: the first row holds data (expected column names: "
     "timestamp,open,high,low,close[,volume,...])"},
    {"bad/klines_no_header.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EFORMAT,
     ":1: cannot tell the format from the header (expected one of: binance-klines, "
     "binance-mark-klines, ohlcv, binance-funding, "
     "binance-funding-json, bitmex-funding, deribit-funding, deribit-chain, dvol, cmc-monthly, "
     "binance-delivery-klines, deribit-futures, deribit-chain-futures; or pass --format)"},
    {"bad/klines_unknown_header.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EFORMAT,
     ":1: cannot tell the format from the header (expected one of: binance-klines, "
     "binance-mark-klines, ohlcv, binance-funding, "
     "binance-funding-json, bitmex-funding, deribit-funding, deribit-chain, dvol, cmc-monthly, "
     "binance-delivery-klines, deribit-futures, deribit-chain-futures; or pass --format)"},
    {"bad/klines_unterminated_quote.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EPARSE,
     ":4: unterminated quoted field at end of file (expected a closing quote)"},
    {"bad/klines_nul_byte.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EPARSE,
     ":3:4: NUL byte inside a field (expected text)"},
    {"bad/klines_stray_quote.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EPARSE,
     ":3:2: malformed CSV: a quote inside an unquoted field or after a closing quote "
     "(expected RFC 4180 quoting)"},
    {"bad/klines_unsorted.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EORDER,
     ":4:1: timestamp 2024-01-01T01:00:00Z is earlier than the previous row's 2024-01-01T02:00:00Z "
     "(expected increasing times; pass --sort to sort)"},
    {"bad/klines_dup_exact.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDUP,
     ":4:1: duplicate timestamp 2024-01-02 (first at line 3; expected one row per time)"},
    {"bad/klines_dup_conflict.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDUP,
     ":4:1: duplicate timestamp 2024-01-02 with different values (first at line 3: close 4250 there, "
     "4260 here; expected one row per time)"},
    {"bad/klines_header_only.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ": no data rows (expected at least one row)"},
    {"bad/klines_empty.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ": file is empty (expected a header line and rows)"},
    {"bad/klines_empty.csv", CPO_FMT_BINANCE_KLINES, "BTCUSDT", CPO_EDATA,
     ": file is empty (expected a header line and rows)"},
    {"bad/klines_blank_lines.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ": file is empty (expected a header line and rows)"},
    {"bad/klines_all_rows_bad.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":2:5: close \"x\" is not a number (expected a decimal number)"},
    {"bad/klines_btc_1h.csv", CPO_FMT_AUTO, NULL, CPO_EINVAL,
     ": cannot tell the symbol from the file name \"klines_btc_1h.csv\" (expected a name like "
     "BTCUSDT_1d.csv; or pass --symbol)"},
    /* ohlcv: one time form a file, the klines checks, a symbol */
    {"bad/ohlcv_mixed_forms.csv", CPO_FMT_OHLCV, "SOLUSDT", CPO_EDATA,
     ":4:1: timestamp \"1704074400\" is seconds since 1970, but line 2 has milliseconds since "
     "1970 (expected one time form in a file)"},
    {"bad/ohlcv_date_among_datetimes.csv", CPO_FMT_AUTO, "SOLUSDT", CPO_EDATA,
     ":3:1: date \"2024-01-02\" is an ISO date, but line 2 has an ISO date-time (expected one "
     "time form in a file)"},
    {"bad/ohlcv_high_below_close.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EDATA,
     ":3:3: high 4400 is below close 4450.25 (expected low <= open, close <= high)"},
    {"bad/ohlcv_prices.csv", CPO_FMT_AUTO, NULL, CPO_EINVAL,
     ": cannot tell the symbol from the file name \"ohlcv_prices.csv\" (expected a name like "
     "BTCUSDT.csv or BTC-USD.csv; or pass --symbol)"},
    {"bad/no_such_file.csv", CPO_FMT_AUTO, "BTCUSDT", CPO_EIO,
     ": cannot open: No such file or directory (expected a readable file)"},
    {"bad", CPO_FMT_AUTO, "BTCUSDT", CPO_EIO,
     ": cannot read: Is a directory (expected a readable file)"},
    /* dated futures: expiries that disagree with the symbol, duplicates */
    {"bad/delivery_BTCUSDT_260327_after_expiry.csv", CPO_FMT_BINANCE_DELIVERY_KLINES, NULL,
     CPO_EDATA,
     ":6:1: timestamp 2026-03-27T08:00:00Z is at or after the expiry of BTCUSDT_260327, "
     "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"futures/BTCUSDT_260327_1h.csv", CPO_FMT_BINANCE_DELIVERY_KLINES, "BTCUSDT_260320", CPO_EDATA,
     ":2:1: timestamp 2026-03-27T04:00:00Z is at or after the expiry of BTCUSDT_260320, "
     "2026-03-20T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"bad/deribit_futures_ETH-27MAR26_at_expiry.json", CPO_FMT_AUTO, NULL, CPO_EDATA,
     ":1:27: ticks 2026-03-27T08:00:00Z is at or after the expiry of ETH-27MAR26, "
     "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"bad/chain_futures_expired.csv", CPO_FMT_DERIBIT_CHAIN_FUTURES, NULL, CPO_EDATA,
     ":2:1: timestamp 2026-03-27T09:47:09.686Z is at or after the expiry of BTC-27MAR26, "
     "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"bad/chain_futures_two_snapshots.csv", CPO_FMT_DERIBIT_CHAIN_FUTURES, NULL, CPO_EDUP,
     ":3:1: duplicate timestamp 2026-01-02T09:00:00Z with different values (first at line 2: "
     "open 89929.44 there, 89950.5 here; expected one row per time)"},
    {"bad/delivery_BTCUSDT_260326.csv", CPO_FMT_BINANCE_DELIVERY_KLINES, NULL, CPO_EINVAL,
     ": symbol \"BTCUSDT_260326\" expires 2026-03-26, a Thursday (expected a Friday: Binance's "
     "futures expire on Fridays at 08:00 UTC, the quarterlies on the last Friday of March, June, "
     "September and December)"},
};

START_TEST(test_bad_file_strict)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.format = BAD[_i].fmt;
    o.symbol = BAD[_i].symbol;
    static cpo_import_report rep;
    cpo_error e;
    char *p = dpath(BAD[_i].file), want[1024];
    int rc = cpo_import_file(ds, p, &o, &rep, &e);
    snprintf(want, sizeof want, "%s%s", p, BAD[_i].msg);
    ck_assert_msg(rc == BAD[_i].code, "%s: rc %d (%s), expected %d", BAD[_i].file, rc,
                  tu_errstr(&e), BAD[_i].code);
    ck_assert_str_eq(tu_errstr(&e), want);
    /* nothing reached the dataset; the report ends with the error */
    ck_assert_uint_eq(ds->n_instr, 0);
    ck_assert_uint_eq(ds->n_prov, 0);
    ck_assert_uint_eq(rep.rows_kept, 0);
    ck_assert_uint_ge(rep.n_issues, 1);
    const cpo_import_issue *last = &rep.issues[rep.n_issues - 1];
    ck_assert_int_eq(last->level, CPO_ISSUE_ERROR);
    ck_assert_int_eq(last->code, rc);
    char line[1100];
    snprintf(line, sizeof line, "error: %s", want);
    ck_assert_str_eq(issue_str(&rep, last), line);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* Lenient: the bad row goes, the rest is kept, the report says so. */
static const struct {
    const char *file;
    size_t kept;
    const char *msg; /* "repaired: path" + msg */
} LENIENT[] = {
    {"bad/klines_low_above_open.csv", 2,
     ":3:4: low 4300.5 is above open 4200 (expected low <= open, close <= high); row dropped"},
    {"bad/klines_high_below_close.csv", 2,
     ":3:3: high 4400 is below close 4450.25 (expected low <= open, close <= high); row dropped"},
    {"bad/klines_zero_open.csv", 2, ":3:2: open 0 is not positive (expected a price > 0); row dropped"},
    {"bad/klines_negative_volume.csv", 2,
     ":3:6: volume -1.5 is negative (expected a volume >= 0); row dropped"},
    {"bad/klines_bad_number.csv", 2,
     ":3:5: close \"abc\" is not a number (expected a decimal number); row dropped"},
    {"bad/klines_empty_field.csv", 2, ":3:3: high is empty (expected a number); row dropped"},
    {"bad/klines_short_row.csv", 2,
     ":3:4: row has 4 fields (expected at least 6, as in the header); row dropped"},
    {"bad/klines_bad_date.csv", 2,
     ":3:1: timestamp \"2024-13-01\" is not a time (expected ms since 1970 or an ISO 8601 "
     "date-time); row dropped"},
};

START_TEST(test_bad_file_lenient)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.mode = CPO_IMPORT_LENIENT;
    o.symbol = "BTCUSDT";
    static cpo_import_report rep;
    char *p = dpath(LENIENT[_i].file), want[1024];
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_read, 3);
    ck_assert_uint_eq(rep.rows_kept, LENIENT[_i].kept);
    ck_assert_uint_eq(rep.dropped, 3 - LENIENT[_i].kept);
    snprintf(want, sizeof want, "repaired: %s%s", p, LENIENT[_i].msg);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    const cpo_bars *b = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(b->n, LENIENT[_i].kept);
    for (size_t i = 0; i < b->n; i++)
        ck_assert(isfinite(b->open[i]) && isfinite(b->high[i]) && isfinite(b->low[i]) &&
                  isfinite(b->close[i]));
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_all_rows_dropped)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.mode = CPO_IMPORT_LENIENT;
    o.symbol = "BTCUSDT";
    static cpo_import_report rep;
    cpo_error e;
    char *p = dpath("bad/klines_all_rows_bad.csv"), want[1024];
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s: no usable rows: all 2 rows were dropped (expected at least one valid row)", p);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_uint_eq(rep.rows_read, 2);
    ck_assert_uint_eq(rep.dropped, 2);
    ck_assert_uint_eq(rep.n_issues, 3);
    ck_assert_uint_eq(ds->n_instr, 0);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* More issues than the report holds: counted, and "(and N more)". */
START_TEST(test_many_issues)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "BTCUSDT_1d.csv");
    size_t cap = 200 * 64, w = 0; /* 200 rows, every other one bad */
    char *text = malloc(cap);
    w += (size_t)snprintf(text + w, cap - w, "timestamp,open,high,low,close,volume\n");
    for (int i = 0; i < 200; i++) {
        char d[16];
        cpo_time_format_date(day("2024-01-01") + i * CPO_MS_DAY, d, sizeof d);
        w += (size_t)snprintf(text + w, cap - w, "%s,1,2,0.5,%s,1\n", d, i % 2 ? "x" : "1.5");
    }
    tu_write_file(p, text);
    free(text);
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.mode = CPO_IMPORT_LENIENT;
    static cpo_import_report rep;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 100);
    ck_assert_uint_eq(rep.dropped, 100);
    ck_assert_uint_eq(rep.n_issues, CPO_REPORT_MAX_ISSUES);
    ck_assert_uint_eq(rep.n_issues_total, 100);
    ck_assert_int_eq(rep.step_ms, 2 * CPO_MS_DAY); /* what is left is every other day */
    char *out = NULL;
    size_t outn = 0;
    FILE *f = open_memstream(&out, &outn);
    cpo_import_report_print(&rep, f);
    fclose(f);
    const char *tail = "\n  (and 36 more)\n";
    ck_assert_uint_ge(outn, strlen(tail));
    ck_assert_str_eq(out + outn - strlen(tail), tail);
    free(out);
    cpo_dataset_free(ds);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- merging ---------------------------------------------------------------------------- */

START_TEST(test_merge_overlap_identical)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *a = dpath("klines/klines_BTCUSDT_1d.csv"), *b = dpath("klines/klines_BTCUSDT_1d_overlap.csv");
    char want[1024];
    must_import(ds, a, NULL, &rep);
    must_import(ds, b, NULL, &rep);
    ck_assert_uint_eq(rep.rows_kept, 30);
    snprintf(want, sizeof want, "info: %s: 10 rows were already in the dataset with the same values", b);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    const cpo_bars *bb = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(bb->n, 60);
    for (size_t i = 1; i < bb->n; i++)
        ck_assert_int_eq(bb->ts[i] - bb->ts[i - 1], CPO_MS_DAY);
    ck_assert_uint_eq(ds->n_instr, 1);
    ck_assert_uint_eq(ds->n_prov, 2);
    free(a);
    free(b);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_merge_conflict)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_error e;
    char *a = dpath("klines/klines_BTCUSDT_1d.csv"), *b = dpath("klines/klines_BTCUSDT_1d_overlap.csv");
    char *c = dpath("klines/klines_BTCUSDT_1d_conflict.csv");
    char want[1024];
    must_import(ds, a, NULL, &rep);
    must_import(ds, b, NULL, &rep);
    /* strict: refused, the dataset as it was */
    const cpo_bars *bb = bars_of(ds, "BTCUSDT");
    int64_t t = day("2017-09-20");
    size_t at = 0;
    while (bb->ts[at] != t)
        at++;
    ck_assert(bb->close[at] == 3900.0);
    ck_assert_int_eq(cpo_import_file(ds, c, NULL, &rep, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:6:1: timestamp 2017-09-20 is already in the dataset with different values (close 3900 "
             "there, 3950.5 here; expected the same values where imports overlap)",
             c);
    ck_assert_str_eq(tu_errstr(&e), want);
    bb = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(bb->n, 60);
    ck_assert(bb->close[at] == 3900.0);
    ck_assert_uint_eq(ds->n_prov, 2);
    /* lenient: the new value wins */
    cpo_import_opts o = opts();
    o.mode = CPO_IMPORT_LENIENT;
    must_import(ds, c, &o, &rep);
    snprintf(want, sizeof want,
             "repaired: %s:6:1: timestamp 2017-09-20 is already in the dataset with different values "
             "(close 3900 there, 3950.5 here); kept the new row",
             c);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    bb = bars_of(ds, "BTCUSDT");
    ck_assert_uint_eq(bb->n, 60);
    ck_assert(bb->close[at] == 3950.5);
    ck_assert_uint_eq(ds->n_prov, 3);
    free(a);
    free(b);
    free(c);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_merge_kind_and_bar_size_mismatch)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_error e;
    char *a = dpath("klines/klines_BTCUSDT_1d.csv"), *g = dpath("klines/klines_BTCUSDT_gap.csv");
    char want[1024];
    must_import(ds, a, NULL, &rep);
    cpo_import_opts o = opts();
    o.kind = CPO_KIND_PERP;
    ck_assert_int_eq(cpo_import_file(ds, a, &o, &rep, &e), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s: instrument BTCUSDT is already in the dataset as linear spot (expected the same kind "
             "and settlement, got linear perp)",
             a);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_int_eq(cpo_import_file(ds, g, NULL, &rep, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s: the bars of BTCUSDT in the dataset are 1d, these are 1h (expected the same bar size; "
             "import them under another --symbol)",
             g);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_uint_eq(ds->n_instr, 1);
    ck_assert_uint_eq(ds->n_prov, 1);
    ck_assert_uint_eq(bars_of(ds, "BTCUSDT")->n, 40);
    free(a);
    free(g);
    cpo_dataset_free(ds);
}
END_TEST

/* Binance funding of a COIN-M perpetual: --settle inverse attaches it to
 * the inverse perp imported from klines (issue 20: the reader made a linear
 * perp whatever --settle said, and the import failed with "already in the
 * dataset as inverse perp").  Without --settle the message says why. */
START_TEST(test_funding_settle_inverse)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_error e;
    char *k = dpath("klines/klines_BTCUSDT_1d.csv"), *f = dpath("funding_binance_8h.csv");
    cpo_import_opts o = opts();
    o.symbol = "BTCUSD-PERP";
    o.kind = CPO_KIND_PERP;
    o.settle = CPO_SETTLE_INVERSE;
    o.contract_size = 100.0;
    must_import(ds, k, &o, &rep);
    cpo_import_opts fo = opts();
    fo.symbol = "BTCUSD-PERP";
    char want[1024];
    ck_assert_int_eq(cpo_import_file(ds, f, &fo, &rep, &e), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s: instrument BTCUSD-PERP is already in the dataset as inverse perp (expected the "
             "same kind and settlement, got linear perp); --settle says which perpetual the "
             "funding is of",
             f);
    ck_assert_str_eq(tu_errstr(&e), want);
    fo.settle = CPO_SETTLE_INVERSE;
    must_import(ds, f, &fo, &rep);
    long i = cpo_dataset_find(ds, "BTCUSD-PERP");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(ds->instr[i].settle, CPO_SETTLE_INVERSE);
    ck_assert_double_eq(ds->instr[i].contract_size, 100.0);
    /* the 5 rows of the file */
    ck_assert_uint_eq(ds->funding[i].n, 5);
    ck_assert_double_eq(ds->funding[i].rate[0], 0.00037409);
    free(k);
    free(f);
    cpo_dataset_free(ds);
}
END_TEST

/* A failed import of a new symbol adds nothing. */
START_TEST(test_failure_leaves_dataset)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *a = dpath("klines/klines_ETHUSDT_1h_perp.csv"), *bad = dpath("bad/klines_zero_open.csv");
    must_import(ds, a, NULL, &rep);
    cpo_import_opts o = opts();
    o.symbol = "SOLUSDT";
    ck_assert_int_eq(cpo_import_file(ds, bad, &o, &rep, NULL), CPO_EDATA);
    ck_assert_uint_eq(ds->n_instr, 1);
    ck_assert_uint_eq(ds->n_prov, 1);
    ck_assert_int_eq(cpo_dataset_find(ds, "SOLUSDT"), -1);
    free(a);
    free(bad);
    cpo_dataset_free(ds);
}
END_TEST

/* --- dated futures ------------------------------------------------------------------------ */

static const cpo_instrument *instr_of(const cpo_dataset *ds, const char *sym)
{
    long i = cpo_dataset_find(ds, sym);
    ck_assert_msg(i >= 0, "%s not in the dataset", sym);
    return &ds->instr[i];
}

/* Binance delivery klines and Deribit chart data into one dataset: the
 * instruments the symbols name (README, "Dated futures"), the bars as the
 * fixtures of tests/data/futures/ hold them. */
START_TEST(test_futures_import)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_import_opts o = opts();
    o.format = CPO_FMT_BINANCE_DELIVERY_KLINES;
    char *a = dpath("futures/BTCUSDT_260327_1h.csv"), *b = dpath("futures/BTCUSD_260327_1d.csv");
    char *c = dpath("futures/deribit_BTC-27MAR26_1h.csv"), *d = dpath("futures/deribit_ETH-27MAR26_1h.json");
    must_import(ds, a, &o, &rep);
    ck_assert_str_eq(rep.target, "BTCUSDT_260327");
    check_round_trip(a, bars_of(ds, "BTCUSDT_260327"), 0);
    must_import(ds, b, &o, &rep);
    must_import(ds, c, NULL, &rep); /* detected: ticks,open,... */
    ck_assert_int_eq(rep.format, CPO_FMT_DERIBIT_FUTURES);
    must_import(ds, d, NULL, &rep); /* detected: a JSON object */
    ck_assert_int_eq(rep.format, CPO_FMT_DERIBIT_FUTURES);
    ck_assert_uint_eq(ds->n_instr, 4);
    int64_t exp = day("2026-03-27T08:00:00Z");
    static const struct {
        const char *sym, *exchange, *quote;
        cpo_settle settle;
        double size;
        size_t bars;
    } want[] = {
        {"BTCUSDT_260327", "binance", "USDT", CPO_SETTLE_LINEAR, 1, 4},
        {"BTCUSD_260327", "binance", "USD", CPO_SETTLE_INVERSE, 100, 3},
        {"BTC-27MAR26", "deribit", "USD", CPO_SETTLE_INVERSE, 10, 3},
        {"ETH-27MAR26", "deribit", "USD", CPO_SETTLE_INVERSE, 1, 3},
    };
    for (size_t k = 0; k < 4; k++) {
        const cpo_instrument *in = instr_of(ds, want[k].sym);
        ck_assert_int_eq(in->kind, CPO_KIND_FUTURE);
        ck_assert_int_eq(in->settle, want[k].settle);
        ck_assert_int_eq(in->expiry_ms, exp);
        ck_assert_double_eq(in->contract_size, want[k].size);
        ck_assert_str_eq(in->exchange, want[k].exchange);
        ck_assert_str_eq(in->quote, want[k].quote);
        ck_assert_str_eq(in->underlying, k == 3 ? "ETH" : "BTC");
        ck_assert_int_eq(in->funding_interval_ms, 0);
        ck_assert_uint_eq(bars_of(ds, want[k].sym)->n, want[k].bars);
        ck_assert_uint_eq(ds->funding[cpo_dataset_find(ds, want[k].sym)].n, 0);
    }
    ck_assert_int_eq(bars_of(ds, "BTCUSD_260327")->bar_ms, CPO_MS_DAY);
    ck_assert_int_eq(bars_of(ds, "ETH-27MAR26")->bar_ms, CPO_MS_HOUR);

    /* the same future again with other contract terms: refused */
    cpo_error e;
    char want_msg[1024];
    o = opts();
    o.contract_size = 5;
    ck_assert_int_eq(cpo_import_file(ds, c, &o, &rep, &e), CPO_EINVAL);
    snprintf(want_msg, sizeof want_msg,
             "%s: future BTC-27MAR26 is already in the dataset expiring 2026-03-27T08:00:00Z, 10 a "
             "contract (expected the same expiry and contract size, got 2026-03-27T08:00:00Z, 5)",
             c);
    ck_assert_str_eq(tu_errstr(&e), want_msg);
    ck_assert_uint_eq(ds->n_prov, 4);
    free(a);
    free(b);
    free(c);
    free(d);
    cpo_dataset_free(ds);
}
END_TEST

/* Two snapshot files into one sparse series per future.  The values:
 * tests/data/futures/weekly_futures_*.csv (real rows of the bundled
 * snapshots), medians by hand in check_readers.c (test_chain_futures). */
START_TEST(test_futures_chain_import)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_import_opts o = opts();
    o.format = CPO_FMT_DERIBIT_CHAIN_FUTURES;
    char *a = dpath("futures/weekly_futures_20260102.csv"), *b = dpath("futures/weekly_futures_20260109.csv");
    char want[1024];
    /* the later file first: the series comes out sorted */
    must_import(ds, b, &o, &rep);
    must_import(ds, a, &o, &rep);
    ck_assert_str_eq(rep.target, "3 futures of BTC, ETH");
    ck_assert_uint_eq(rep.rows_read, 10);
    ck_assert_uint_eq(rep.rows_kept, 3);
    ck_assert_int_eq(rep.first_ms, day("2026-01-02T09:00:00Z"));
    ck_assert_uint_eq(ds->n_instr, 3);
    ck_assert_uint_eq(ds->n_prov, 2);
    ck_assert_str_eq(ds->prov[1].format, "deribit-chain-futures");
    ck_assert_str_eq(ds->prov[1].target, "3 futures of BTC, ETH");
    const cpo_bars *bb = bars_of(ds, "BTC-27MAR26");
    ck_assert_uint_eq(bb->n, 2);
    ck_assert_int_eq(bb->bar_ms, CPO_MS_HOUR);
    ck_assert_int_eq(bb->ts[0], day("2026-01-02T09:00:00Z"));
    ck_assert_int_eq(bb->ts[1], day("2026-01-09T09:00:00Z"));
    ck_assert_double_eq(bb->close[0], 89929.5);
    ck_assert_double_eq(bb->close[1], 91082.13);
    ck_assert_double_eq(bb->index[0], 89015.38);
    ck_assert_uint_eq(bars_of(ds, "ETH-27MAR26")->n, 1);
    ck_assert_int_eq(instr_of(ds, "BTC-9JAN26")->expiry_ms, day("2026-01-09T08:00:00Z"));

    /* the same file again: nothing new, and the report says so */
    must_import(ds, a, &o, &rep);
    snprintf(want, sizeof want, "info: %s: 3 rows were already in the dataset with the same values",
             a);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[rep.n_issues - 1]), want);
    ck_assert_uint_eq(bars_of(ds, "BTC-27MAR26")->n, 2);

    /* report print: one line, then the notes */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cpo_import_report_print(&rep, f);
    fclose(f);
    snprintf(want, sizeof want,
             "%s: deribit-chain-futures -> 3 futures of BTC, ETH: 10 rows read, 3 kept, "
             "2026-01-02T09:00:00Z .. 2026-01-02T09:00:00Z\n",
             a);
    ck_assert_msg(!strncmp(buf, want, strlen(want)), "%s", buf);
    free(buf);
    free(a);
    free(b);
    cpo_dataset_free(ds);
}
END_TEST

/* One file, several futures: refused as a whole when one of them cannot
 * go in (here BTC-27MAR26 is already a spot instrument), so ETH-27MAR26
 * and BTC-9JAN26 do not go in either; and a conflicting quote is refused
 * in strict mode, kept in lenient mode. */
START_TEST(test_futures_chain_all_or_nothing)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_error e;
    cpo_import_opts o = opts();
    o.format = CPO_FMT_DERIBIT_CHAIN_FUTURES;
    char *a = dpath("futures/weekly_futures_20260102.csv"), want[1024];
    cpo_instrument spot;
    cpo_instrument_init(&spot, "BTC-27MAR26", CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    ck_assert_int_eq(cpo_dataset_add(ds, &spot, NULL, NULL), 0);
    ck_assert_int_eq(cpo_import_file(ds, a, &o, &rep, &e), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s: instrument BTC-27MAR26 is already in the dataset as linear spot (expected the same "
             "kind and settlement, got inverse future)",
             a);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_uint_eq(ds->n_instr, 1);
    ck_assert_uint_eq(ds->n_prov, 0);
    cpo_dataset_free(ds);

    /* a quote that disagrees with the one in the dataset */
    ds = new_ds();
    must_import(ds, a, &o, &rep);
    char *dir = tu_tmpdir(), *p = tu_path(dir, "snapshot.csv");
    size_t n;
    char *text = tu_read_file(a, &n);
    char *hit = strstr(text, ",3059.52,ETH-27MAR26,"); /* the first ETH-27MAR26 row */
    ck_assert_ptr_nonnull(hit);
    memcpy(hit, ",3069.52,ETH-27MAR26,", 21);
    char *again = strstr(hit + 1, ",3059.52,ETH-27MAR26,");
    while (again) { /* every ETH row: the median moves to 3069.52 */
        memcpy(again, ",3069.52,ETH-27MAR26,", 21);
        again = strstr(again + 1, ",3059.52,ETH-27MAR26,");
    }
    tu_write_file(p, text);
    free(text);
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:8:1: timestamp 2026-01-02T09:00:00Z is already in the dataset with different values "
             "(open 3059.52 there, 3069.52 here; expected the same values where imports overlap)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_double_eq(bars_of(ds, "ETH-27MAR26")->close[0], 3059.52);
    ck_assert_uint_eq(ds->n_prov, 1);
    o.mode = CPO_IMPORT_LENIENT;
    must_import(ds, p, &o, &rep);
    ck_assert_double_eq(bars_of(ds, "ETH-27MAR26")->close[0], 3069.52);
    ck_assert_double_eq(bars_of(ds, "BTC-27MAR26")->close[0], 89929.5);
    ck_assert_uint_eq(ds->n_prov, 2);
    tu_rmtree(dir);
    free(dir);
    free(p);
    free(a);
    cpo_dataset_free(ds);
}
END_TEST

/* Lenient: a bar at or after the expiry is dropped and reported. */
START_TEST(test_futures_lenient_expiry)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_import_opts o = opts();
    o.format = CPO_FMT_BINANCE_DELIVERY_KLINES;
    o.mode = CPO_IMPORT_LENIENT;
    char *p = dpath("bad/delivery_BTCUSDT_260327_after_expiry.csv"), want[1024];
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_read, 5);
    ck_assert_uint_eq(rep.rows_kept, 4);
    ck_assert_uint_eq(rep.dropped, 1);
    snprintf(want, sizeof want,
             "repaired: %s:6:1: timestamp 2026-03-27T08:00:00Z is at or after the expiry of "
             "BTCUSDT_260327, 2026-03-27T08:00:00Z (expected times before the expiry its name "
             "gives: the data disagree with the symbol); row dropped",
             p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    ck_assert_int_eq(bars_of(ds, "BTCUSDT_260327")->ts[3], day("2026-03-27T07:00:00Z"));
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* ds NULL: check only. */
START_TEST(test_check_only)
{
    static cpo_import_report rep;
    char *a = dpath("klines/klines_BTCUSDT_gap.csv");
    ck_assert_int_eq(cpo_import_file(NULL, a, NULL, &rep, NULL), 0);
    ck_assert_uint_eq(rep.rows_kept, 8);
    ck_assert_uint_eq(rep.gaps, 2);
    free(a);
}
END_TEST

/* BitMEX XBTUSD paid funding daily until 2016-06-04 12:00, then every 8h
 * (fundingInterval says so on every row): the daily rows are not gaps of
 * the 8h median spacing.  A missing 8h row still is: 1 gap, 1 step. */
START_TEST(test_gaps_funding_interval_regimes)
{
    static cpo_import_report rep;
    memset(&rep, 0, sizeof rep);
    char *a = dpath("bitmex_funding.csv");
    ck_assert_int_eq(cpo_import_file(NULL, a, NULL, &rep, NULL), 0);
    ck_assert_uint_eq(rep.rows_kept, 7);
    ck_assert_uint_eq(rep.gaps, 0);
    free(a);
    memset(&rep, 0, sizeof rep);
    a = dpath("bitmex_funding_gap.csv");
    ck_assert_int_eq(cpo_import_file(NULL, a, NULL, &rep, NULL), 0);
    ck_assert_uint_eq(rep.rows_kept, 6);
    ck_assert_uint_eq(rep.gaps, 1);
    ck_assert_uint_eq(rep.missing_steps, 1);
    free(a);
}
END_TEST

/* --- mark-price klines (binance-mark-klines) ------------------------------------------------ */

/* The synthetic files of tests/data/mark/ (see its README): six hourly
 * bars of BTCUSDT-PERP from 2024-01-01T00:00:00Z and the mark's klines. */
#define MK_T0 INT64_C(1704067200000)
static const double MK_CLOSE[6] = {42098.7, 42248.9, 41852.2, 41899.6, 41988.4, 42079.9};
static const double MK_HIGH[6] = {42140.2, 42290.1, 42270.0, 41940.8, 41995.3, 42090.7};
static const double MK_LOW[6] = {41910.3, 42060.4, 41760.5, 41720.1, 41885.0, 41955.2};

/* A dataset holding the perpetual's klines (perp_BTCUSDT_1h.csv). */
static cpo_dataset *ds_perp(void)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    cpo_import_opts o = opts();
    o.symbol = "BTCUSDT-PERP";
    o.kind = CPO_KIND_PERP;
    char *p = dpath("mark/perp_BTCUSDT_1h.csv");
    must_import(ds, p, &o, &rep);
    free(p);
    ck_assert_ptr_null(bars_of(ds, "BTCUSDT-PERP")->mark_high);
    return ds;
}

static cpo_import_opts mark_opts(cpo_import_mode mode)
{
    cpo_import_opts o = opts();
    o.format = CPO_FMT_BINANCE_MARK_KLINES;
    o.symbol = "BTCUSDT-PERP";
    o.mode = mode;
    return o;
}

/* The perpetual's own klines, untouched by the marks (perp_BTCUSDT_1h.csv). */
static void expect_trade_bars(const cpo_bars *b)
{
    static const double close[6] = {42100, 42250, 41850, 41900, 41990, 42080};
    ck_assert_uint_eq(b->n, 6);
    for (size_t k = 0; k < 6; k++) {
        ck_assert_int_eq(b->ts[k], MK_T0 + (int64_t)k * CPO_MS_HOUR);
        ck_assert(b->close[k] == close[k]);
        ck_assert(isnan(b->index[k]));
    }
    ck_assert(b->open[0] == 42000 && b->high[2] == 42280 && b->low[2] == 41800);
    ck_assert(b->volume[1] == 1200.25);
}

/* Each layout (header of data.binance.vision since 2022, no header before,
 * the REST JSON answer) puts the same marks on the same bars: mark = the
 * mark's close, mark_high and mark_low its high and low, as written in the
 * files (MK_* above). */
START_TEST(test_mark_klines__layouts_attach)
{
    static const char *const files[] = {"mark/mark_BTCUSDT_1h_header.csv",
                                        "mark/mark_BTCUSDT_1h_noheader.csv",
                                        "mark/mark_BTCUSDT_1h.json"};
    cpo_dataset *ds = ds_perp();
    static cpo_import_report rep;
    cpo_import_opts o = mark_opts(CPO_IMPORT_STRICT);
    char *p = dpath(files[_i]), want[1024];
    must_import(ds, p, &o, &rep);
    const cpo_bars *b = bars_of(ds, "BTCUSDT-PERP");
    expect_trade_bars(b);
    ck_assert_ptr_nonnull(b->mark_high);
    ck_assert_ptr_nonnull(b->mark_low);
    for (size_t k = 0; k < 6; k++) {
        ck_assert_msg(b->mark[k] == MK_CLOSE[k], "bar %zu mark %g", k, b->mark[k]);
        ck_assert_msg(b->mark_high[k] == MK_HIGH[k], "bar %zu mark_high %g", k, b->mark_high[k]);
        ck_assert_msg(b->mark_low[k] == MK_LOW[k], "bar %zu mark_low %g", k, b->mark_low[k]);
    }
    ck_assert_int_eq(rep.format, CPO_FMT_BINANCE_MARK_KLINES);
    ck_assert_str_eq(rep.target, "BTCUSDT-PERP");
    ck_assert_uint_eq(rep.rows_read, 6);
    ck_assert_uint_eq(rep.rows_kept, 6);
    ck_assert_uint_eq(rep.marked, 6);
    ck_assert_uint_eq(rep.unmatched, 0);
    ck_assert_uint_eq(rep.unmarked, 0);
    ck_assert_int_eq(rep.step_ms, CPO_MS_HOUR);
    ck_assert_uint_eq(rep.n_issues, 1);
    snprintf(want, sizeof want, "info: %s: BTCUSDT-PERP: 6 of 6 bars have a mark price", p);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    /* Provenance: the file, as attached to the perpetual; no new instrument. */
    ck_assert_uint_eq(ds->n_instr, 1);
    ck_assert_uint_eq(ds->n_prov, 2);
    ck_assert_str_eq(ds->prov[1].format, "binance-mark-klines");
    ck_assert_str_eq(ds->prov[1].target, "BTCUSDT-PERP");
    ck_assert_str_eq(ds->prov[1].source, p);
    ck_assert_int_eq(ds->prov[1].rows_read, 6);
    ck_assert_int_eq(ds->prov[1].rows_kept, 6);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* mark_BTCUSDT_1h_extra.csv: a mark bar an hour before the perpetual's
 * first bar (line 2), one after its last (line 8), none at 03:00. */
START_TEST(test_mark_klines__unmatched_and_unmarked)
{
    cpo_dataset *ds = ds_perp();
    static cpo_import_report rep;
    cpo_error e;
    char *p = dpath("mark/mark_BTCUSDT_1h_extra.csv"), want[1024];
    /* strict: the first mark bar without a bar refuses the file */
    cpo_import_opts o = mark_opts(CPO_IMPORT_STRICT);
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:2:1: mark bar at 2023-12-31T23:00:00Z has no bar of BTCUSDT-PERP at that time "
             "(expected a bar to attach it to: import the klines that cover it first, or pass "
             "--lenient to drop such rows)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_ptr_null(bars_of(ds, "BTCUSDT-PERP")->mark_high);
    ck_assert(isnan(bars_of(ds, "BTCUSDT-PERP")->mark[0]));
    ck_assert_uint_eq(ds->n_prov, 1);
    /* lenient: both dropped and listed, the bar without a mark a warning */
    o.mode = CPO_IMPORT_LENIENT;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_read, 7);
    ck_assert_uint_eq(rep.rows_kept, 5);
    ck_assert_uint_eq(rep.dropped, 2);
    ck_assert_uint_eq(rep.marked, 5);
    ck_assert_uint_eq(rep.unmatched, 2);
    ck_assert_uint_eq(rep.unmarked, 1);
    ck_assert_uint_eq(ds->prov[1].rows_kept, 5);
    const char *const lines[] = {
        "warning: %s:6: 1 gap (1 missing step at step 1h): gap after 2024-01-01T02:00:00Z: 1 "
        "missing step",
        "repaired: %s:2:1: mark bar at 2023-12-31T23:00:00Z has no bar of BTCUSDT-PERP at that "
        "time (expected a bar to attach it to); row dropped",
        "repaired: %s:8:1: mark bar at 2024-01-01T06:00:00Z has no bar of BTCUSDT-PERP at that "
        "time (expected a bar to attach it to); row dropped",
        "warning: %s: 1 bar of BTCUSDT-PERP within this file's span has no mark bar in it: "
        "2024-01-01T03:00:00Z",
        "info: %s: BTCUSDT-PERP: 5 of 6 bars have a mark price",
    };
    ck_assert_uint_eq(rep.n_issues, 5);
    for (size_t k = 0; k < 5; k++) {
        snprintf(want, sizeof want, lines[k], p);
        ck_assert_str_eq(issue_str(&rep, &rep.issues[k]), want);
    }
    const cpo_bars *b = bars_of(ds, "BTCUSDT-PERP");
    expect_trade_bars(b);
    for (size_t k = 0; k < 6; k++) {
        if (k == 3) {
            ck_assert(isnan(b->mark[k]) && isnan(b->mark_high[k]) && isnan(b->mark_low[k]));
            continue;
        }
        ck_assert(b->mark[k] == MK_CLOSE[k] && b->mark_high[k] == MK_HIGH[k] &&
                  b->mark_low[k] == MK_LOW[k]);
    }
    /* The summary line of the report counts them. */
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    cpo_import_report_print(&rep, f);
    fclose(f);
    snprintf(want, sizeof want,
             "%s: binance-mark-klines -> BTCUSDT-PERP: 7 rows read, 5 kept, 2023-12-31T23:00:00Z .. "
             "2024-01-01T06:00:00Z, step 1h, 1 gap (1 missing step); 5 bars marked, 2 mark bars "
             "without a bar, 1 bar without a mark bar\n",
             p);
    ck_assert_int_eq(strncmp(out, want, strlen(want)), 0);
    free(out);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* Marks already there: the same values are counted, different ones refuse
 * the file (strict) or are replaced (lenient). */
START_TEST(test_mark_klines__overlap)
{
    cpo_dataset *ds = ds_perp();
    static cpo_import_report rep;
    cpo_error e;
    cpo_import_opts o = mark_opts(CPO_IMPORT_STRICT);
    char *a = dpath("mark/mark_BTCUSDT_1h_header.csv"), want[1024];
    must_import(ds, a, &o, &rep);
    must_import(ds, a, &o, &rep);
    snprintf(want, sizeof want, "info: %s: 6 rows were already in the dataset with the same values",
             a);
    ck_assert_str_eq(issue_str(&rep, find_issue(&rep, "already")), want);
    /* 01:00 with another high */
    char *dir = tu_tmpdir(), *c = tu_path(dir, "mark_conflict.csv");
    tu_write_file(c, "1704070800000,42098.7,42295.5,42060.4,42248.9,0,1704074399999,0,0,0,0,0\n");
    ck_assert_int_eq(cpo_import_file(ds, c, &o, &rep, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:1:1: mark of BTCUSDT-PERP at 2024-01-01T01:00:00Z is already in the dataset with "
             "different values (mark_high 42290.1 there, 42295.5 here; expected the same values "
             "where imports overlap)",
             c);
    ck_assert_str_eq(tu_errstr(&e), want);
    const cpo_bars *b = bars_of(ds, "BTCUSDT-PERP");
    ck_assert(b->mark_high[1] == 42290.1);
    ck_assert_uint_eq(ds->n_prov, 3);
    o.mode = CPO_IMPORT_LENIENT;
    must_import(ds, c, &o, &rep);
    snprintf(want, sizeof want,
             "repaired: %s:1:1: mark of BTCUSDT-PERP at 2024-01-01T01:00:00Z is already in the "
             "dataset with different values (mark_high 42290.1 there, 42295.5 here); kept the new "
             "values",
             c);
    ck_assert_str_eq(issue_str(&rep, &rep.issues[0]), want);
    ck_assert(b->mark_high[1] == 42295.5 && b->mark[1] == 42248.9 && b->mark_low[1] == 42060.4);
    ck_assert_uint_eq(rep.unmarked, 0); /* one bar, its own span */
    free(c);
    tu_rmtree(dir);
    free(dir);
    free(a);
    cpo_dataset_free(ds);
}
END_TEST

/* Klines merged over bars that have marks keep the marks (a klines row has
 * none: NaN there is "not given", not a different value); new bars have
 * none. */
START_TEST(test_mark_klines__survive_klines_merge)
{
    cpo_dataset *ds = ds_perp();
    static cpo_import_report rep;
    cpo_import_opts o = mark_opts(CPO_IMPORT_STRICT);
    char *a = dpath("mark/mark_BTCUSDT_1h_header.csv"), *k = dpath("mark/perp_BTCUSDT_1h.csv");
    must_import(ds, a, &o, &rep);
    cpo_import_opts ko = opts();
    ko.symbol = "BTCUSDT-PERP";
    ko.kind = CPO_KIND_PERP;
    must_import(ds, k, &ko, &rep); /* the same klines again: identical */
    ck_assert_ptr_nonnull(find_issue(&rep, "6 rows were already in the dataset"));
    char *dir = tu_tmpdir(), *more = tu_path(dir, "perp_more.csv");
    tu_write_file(more, "open_time,open,high,low,close,volume\n"
                        "1704085200000,41990,42100,41950,42080,950\n"
                        "1704088800000,42080,42200,42000,42150,700\n");
    must_import(ds, more, &ko, &rep);
    const cpo_bars *b = bars_of(ds, "BTCUSDT-PERP");
    ck_assert_uint_eq(b->n, 7);
    for (size_t i = 0; i < 6; i++)
        ck_assert(b->mark[i] == MK_CLOSE[i] && b->mark_high[i] == MK_HIGH[i] &&
                  b->mark_low[i] == MK_LOW[i]);
    ck_assert(isnan(b->mark[6]) && isnan(b->mark_high[6]) && isnan(b->mark_low[6]));
    ck_assert(b->close[6] == 42150);
    free(more);
    tu_rmtree(dir);
    free(dir);
    free(a);
    free(k);
    cpo_dataset_free(ds);
}
END_TEST

/* Bad mark files, strict, into a dataset holding the perpetual: the exact
 * message, and the dataset as it was. */
static const struct {
    const char *file;
    const char *msg; /* after the path */
    int code;
} MARK_BAD[] = {
    {"bad/mark_klines_low_above_open.csv",
     ":3:4: low 42300 is above open 42098.7 (expected low <= open, close <= high)", CPO_EDATA},
    {"bad/mark_klines_zero_close.csv", ":3:5: close 0 is not positive (expected a price > 0)",
     CPO_EDATA},
    {"bad/mark_klines_off_grid.csv",
     ":4:1: mark bar at 2024-01-01T01:30:00Z is not on the 1h grid of the bars of BTCUSDT-PERP "
     "(expected open times 2024-01-01T00:00:00Z + k*1h)",
     CPO_EDATA},
    {"bad/mark_klines_unsorted.csv",
     ":3:1: timestamp 2024-01-01T01:00:00Z is earlier than the previous row's 2024-01-01T02:00:00Z "
     "(expected increasing times; pass --sort to sort)",
     CPO_EORDER},
    {"bad/mark_klines_dup.csv",
     ":3:1: duplicate timestamp 2024-01-01T01:00:00Z with different values (first at line 2: "
     "close 42248.9 there, 42250 here; expected one row per time)",
     CPO_EDUP},
    {"bad/mark_klines_short_row.csv",
     ":1:3: row has 3 fields (expected at least 5: open_time, open, high, low, close)", CPO_EDATA},
    {"bad/mark_klines_bad_time.csv",
     ":2:1: open_time \"2024-13-01\" is not a time (expected ms since 1970 or an ISO 8601 "
     "date-time)",
     CPO_EDATA},
    {"bad/mark_klines_1d.csv",
     ": the bars of BTCUSDT-PERP in the dataset are 1h, these mark bars are 1d (expected "
     "mark-price klines of the bars' interval)",
     CPO_EDATA},
    {"bad/mark_klines_header_only.csv", ": no data rows (expected at least one row)", CPO_EDATA},
    {"bad/mark_klines_nothing_matches.csv",
     ":2:1: mark bar at 2023-12-27T20:00:00Z has no bar of BTCUSDT-PERP at that time (expected a "
     "bar to attach it to: import the klines that cover it first, or pass --lenient to drop such "
     "rows)",
     CPO_EDATA},
    {"bad/mark_klines_json_shape.json",
     ":3:3: element 2: array has 3 items (expected [open_time, open, high, low, close, volume, "
     "close_time, ...])",
     CPO_EDATA},
    {"bad/mark_klines_json_bad_price.json",
     ":3:3: element 2: high \"high\" is not a number (expected a decimal number)", CPO_EDATA},
};

START_TEST(test_mark_klines__bad_strict)
{
    cpo_dataset *ds = ds_perp();
    static cpo_import_report rep;
    cpo_error e;
    cpo_import_opts o = mark_opts(CPO_IMPORT_STRICT);
    char *p = dpath(MARK_BAD[_i].file), want[1024];
    int rc = cpo_import_file(ds, p, &o, &rep, &e);
    ck_assert_msg(rc == MARK_BAD[_i].code, "%s: rc %d (%s)", MARK_BAD[_i].file, rc, tu_errstr(&e));
    snprintf(want, sizeof want, "%s%s", p, MARK_BAD[_i].msg);
    ck_assert_str_eq(tu_errstr(&e), want);
    const cpo_bars *b = bars_of(ds, "BTCUSDT-PERP");
    ck_assert_ptr_null(b->mark_high);
    for (size_t k = 0; k < b->n; k++)
        ck_assert(isnan(b->mark[k]));
    ck_assert_uint_eq(ds->n_prov, 1);
    ck_assert_uint_eq(rep.rows_kept, 0);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* Lenient drops what strict refuses; a file none of whose bars attaches is
 * refused in both modes. */
START_TEST(test_mark_klines__lenient)
{
    cpo_dataset *ds = ds_perp();
    static cpo_import_report rep;
    cpo_error e;
    cpo_import_opts o = mark_opts(CPO_IMPORT_LENIENT);
    char *p = dpath("bad/mark_klines_off_grid.csv"), want[1024];
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.marked, 5);
    ck_assert_uint_eq(rep.unmatched, 1);
    snprintf(want, sizeof want,
             "repaired: %s:4:1: mark bar at 2024-01-01T01:30:00Z is not on the 1h grid of the bars "
             "of BTCUSDT-PERP (expected open times 2024-01-01T00:00:00Z + k*1h); row dropped",
             p);
    ck_assert_str_eq(issue_str(&rep, find_issue(&rep, "grid")), want);
    free(p);
    p = dpath("bad/mark_klines_nothing_matches.csv");
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s: none of the 4 mark bars falls on a bar of BTCUSDT-PERP, 2024-01-01T00:00:00Z .. "
             "2024-01-01T05:00:00Z (expected mark-price klines over the period of its klines)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_uint_eq(ds->n_prov, 2);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* What the mark attaches to must be there, and be a derivative. */
START_TEST(test_mark_klines__refusals)
{
    static cpo_import_report rep;
    cpo_error e;
    char *p = dpath("mark/mark_BTCUSDT_1h_header.csv"), want[1024];
    cpo_import_opts o = mark_opts(CPO_IMPORT_STRICT);
    /* no symbol */
    o.symbol = NULL;
    cpo_dataset *ds = new_ds();
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s: no symbol for the mark prices (expected --symbol, or symbol = in the manifest, "
             "naming the perpetual or future they belong to, e.g. BTCUSDT-PERP)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    /* not in the dataset (the klines not imported first) */
    o.symbol = "BTCUSDT-PERP";
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_ENOTFOUND);
    snprintf(want, sizeof want,
             "%s:2:1: BTCUSDT-PERP is not in the dataset (expected its klines imported first: "
             "before this file on the command line, or in a section above this one in the "
             "manifest)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_uint_eq(ds->n_instr, 0);
    ck_assert_uint_eq(ds->n_prov, 0);
    /* a perpetual with funding but no bars */
    char *f = dpath("funding_binance_8h.csv");
    cpo_import_opts fo = opts();
    fo.symbol = "BTCUSDT-PERP";
    fo.kind = CPO_KIND_PERP;
    must_import(ds, f, &fo, &rep);
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_ENOTFOUND);
    snprintf(want, sizeof want,
             "%s:2:1: BTCUSDT-PERP has no bars in the dataset (expected its klines imported "
             "first: before this file on the command line, or in a section above this one in the "
             "manifest)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_uint_eq(ds->n_prov, 1);
    cpo_dataset_free(ds);
    /* a spot pair */
    ds = new_ds();
    cpo_import_opts so = opts();
    so.symbol = "BTCUSDT";
    char *k = dpath("mark/perp_BTCUSDT_1h.csv");
    must_import(ds, k, &so, &rep);
    o.symbol = "BTCUSDT";
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s:2:1: BTCUSDT is a spot instrument (expected a perpetual or future: mark prices "
             "belong to derivatives)",
             p);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert_ptr_null(bars_of(ds, "BTCUSDT")->mark_high);
    /* Without a dataset the file is only checked. */
    o.symbol = "BTCUSDT-PERP";
    ck_assert_int_eq(cpo_import_file(NULL, p, &o, &rep, &e), 0);
    ck_assert_uint_eq(rep.rows_kept, 6);
    free(k);
    free(f);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* --- provenance and the report ---------------------------------------------------------- */

/* A klines file of `rows` 1m rows (about 50 bytes each), the last one's
 * close not a number when bad_last. */
static void big_klines(const char *path, int rows, int bad_last)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("open_time,open,high,low,close,volume\n", f);
    for (int i = 0; i < rows; i++)
        fprintf(f, "%lld,100.5,101,100,%s,%d.5\n",
                (long long)(TU_T0 + (int64_t)i * CPO_MS_MINUTE),
                bad_last && i == rows - 1 ? "x" : "100.25", i);
    ck_assert_int_eq(fclose(f), 0);
}

/* A file larger than the 64 KiB the importer looks at first is hashed on
 * a thread beside the parse: the provenance holds the file's SHA-256 (as
 * cpo_sha256_file gives it); when the parse fails (strict, a bad last
 * row), the hash is waited for and nothing reaches the dataset. */
START_TEST(test_provenance_large_file_hashed_beside)
{
    char *dir = tu_tmpdir(), *p = tu_path(dir, "BTCUSDT_1m.csv");
    big_klines(p, 4000, 0);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_gt(st.st_size, 1 << 17);
    char hex[65];
    ck_assert_int_eq(cpo_sha256_file(p, hex, NULL), 0);
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    static cpo_import_report rep;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(ds->n_prov, 1);
    ck_assert_str_eq(ds->prov[0].sha256, hex);
    ck_assert_int_eq(ds->prov[0].rows_kept, 4000);
    cpo_dataset_free(ds);

    big_klines(p, 4000, 1);
    ds = new_ds();
    cpo_error e;
    ck_assert_int_ne(cpo_import_file(ds, p, &o, &rep, &e), 0);
    ck_assert_ptr_nonnull(strstr(tu_errstr(&e), ":4001:")); /* the header is line 1 */
    ck_assert_uint_eq(ds->n_prov, 0);
    ck_assert_uint_eq(ds->n_instr, 0);
    cpo_dataset_free(ds);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_provenance)
{
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    o.partial_last = CPO_PARTIAL_DROP;
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_partial.csv");
    char hex[65];
    ck_assert_int_eq(cpo_sha256_file(p, hex, NULL), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    must_import(ds, p, &o, &rep);
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t after = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ck_assert_uint_eq(ds->n_prov, 1);
    const cpo_provenance *pv = &ds->prov[0];
    ck_assert_str_eq(pv->source, p);
    ck_assert_str_eq(pv->sha256, hex);
    ck_assert_str_eq(pv->format, "binance-klines");
    ck_assert_str_eq(pv->target, "BTCUSDT");
    ck_assert_int_eq(pv->rows_read, 25);
    ck_assert_int_eq(pv->rows_kept, 24);
    ck_assert_int_ge(pv->import_ms, before);
    ck_assert_int_le(pv->import_ms, after);
    ck_assert_str_eq(pv->options,
                     "mode=strict sort=0 tz=UTC partial_last=drop step=auto(1d) kind=spot settle=linear "
                     "symbol=auto exchange=auto contract_size=0 iv_unit=auto snapshot=none "
                     "keep_last_poll=0 name=auto");
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_report_print)
{
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    char *p = dpath("klines/klines_BTCUSDT_gap.csv");
    must_import(ds, p, NULL, &rep);
    char *out = NULL, want[2048];
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    cpo_import_report_print(&rep, f);
    fclose(f);
    snprintf(want, sizeof want,
             "%s: binance-klines -> BTCUSDT: 8 rows read, 8 kept, 2024-01-01T00:00:00Z .. "
             "2024-01-01T10:00:00Z, step 1h, 2 gaps (3 missing steps)\n"
             "  warning: %s:5: 2 gaps (3 missing steps at step 1h): gap after 2024-01-01T02:00:00Z: "
             "2 missing steps; gap after 2024-01-01T07:00:00Z: 1 missing step\n",
             p, p);
    ck_assert_str_eq(out, want);
    free(out);
    free(p);

    /* daily: dates; a failure: the error line */
    p = dpath("bad/klines_dup_exact.csv");
    cpo_import_opts o = opts();
    o.symbol = "BTCUSDT";
    cpo_import_file(ds, p, &o, &rep, NULL);
    out = NULL;
    f = open_memstream(&out, &n);
    cpo_import_report_print(&rep, f);
    fclose(f);
    snprintf(want, sizeof want,
             "%s: binance-klines -> BTCUSDT: 4 rows read, 0 kept\n"
             "  error: %s:4:1: duplicate timestamp 2024-01-02 (first at line 3; expected one row per time)\n",
             p, p);
    ck_assert_str_eq(out, want);
    free(out);
    free(p);

    p = dpath("klines/klines_BTCUSDT_1d.csv");
    cpo_import_file(NULL, p, NULL, &rep, NULL);
    out = NULL;
    f = open_memstream(&out, &n);
    cpo_import_report_print(&rep, f);
    fclose(f);
    snprintf(want, sizeof want,
             "%s: binance-klines -> BTCUSDT: 40 rows read, 40 kept, 2017-08-17 .. 2017-09-25, step 1d, "
             "0 gaps (0 missing steps)\n",
             p);
    ck_assert_str_eq(out, want);
    free(out);
    free(p);
    cpo_dataset_free(ds);
}
END_TEST

/* --- the real files (if the shared data is beside the repository) -------------------------- */

static char *real(const char *rel)
{
    const char *env = getenv("CPO_REAL_DATA");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", env ? env : CPO_SOURCE_DIR "/../shared/data/real", rel);
    if (access(buf, R_OK) != 0)
        return NULL;
    return strdup(buf);
}

START_TEST(test_real_daily)
{
    char *p = real("spot/daily/BTCUSDT_1d.csv");
    if (!p) {
        fprintf(stderr, "check_import: real data not found, test_real_daily skipped\n");
        return;
    }
    cpo_dataset *ds = new_ds();
    static cpo_import_report rep;
    must_import(ds, p, NULL, &rep);
    ck_assert_uint_eq(rep.rows_read, 3065);
    ck_assert_uint_eq(rep.rows_kept, 3065);
    ck_assert_uint_eq(rep.gaps, 0);
    ck_assert_int_eq(rep.step_ms, CPO_MS_DAY);
    ck_assert_int_eq(rep.first_ms, day("2017-08-17"));
    ck_assert_int_eq(rep.last_ms, day("2026-01-06"));
    const cpo_import_issue *is = find_issue(&rep, "looks partial");
    ck_assert_ptr_nonnull(is);
    ck_assert_int_eq(is->level, CPO_ISSUE_WARNING);
    check_round_trip(p, bars_of(ds, "BTCUSDT"), 0);
    cpo_dataset_free(ds);

    ds = new_ds();
    cpo_import_opts o = opts();
    o.partial_last = CPO_PARTIAL_DROP;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 3064);
    ck_assert_int_eq(rep.last_ms, day("2026-01-05"));
    check_round_trip(p, bars_of(ds, "BTCUSDT"), 1);
    cpo_dataset_free(ds);
    free(p);
}
END_TEST

START_TEST(test_real_hourly)
{
    char *p = real("spot/hourly/binance_btc_1h.csv");
    if (!p) {
        fprintf(stderr, "check_import: real data not found, test_real_hourly skipped\n");
        return;
    }
    cpo_dataset *ds = new_ds();
    cpo_import_opts o = opts();
    static cpo_import_report rep;
    cpo_error e;
    /* the name gives no symbol */
    ck_assert_int_eq(cpo_import_file(ds, p, &o, &rep, &e), CPO_EINVAL);
    o.symbol = "BTCUSDT";
    o.partial_last = CPO_PARTIAL_DROP;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_read, 22100);
    ck_assert_uint_eq(rep.rows_kept, 22099);
    ck_assert_uint_eq(rep.gaps, 0);
    ck_assert_int_eq(rep.step_ms, CPO_MS_HOUR);
    ck_assert_int_eq(rep.first_ms, day("2024-01-01T00:00:00Z"));
    ck_assert_int_eq(rep.last_ms, day("2026-07-09T18:00:00Z"));
    check_round_trip(p, bars_of(ds, "BTCUSDT"), 1);
    cpo_dataset_free(ds);
    free(p);

    /* perp klines with close_time: all consistent */
    p = real("perp/binance_usdm_1h/BTCUSDT.csv");
    if (!p)
        return;
    ds = new_ds();
    o = opts();
    o.kind = CPO_KIND_PERP;
    o.partial_last = CPO_PARTIAL_KEEP;
    must_import(ds, p, &o, &rep);
    ck_assert_uint_eq(rep.rows_kept, 4500);
    ck_assert_uint_eq(rep.n_issues, 0);
    check_round_trip(p, bars_of(ds, "BTCUSDT"), 0);
    cpo_dataset_free(ds);
    free(p);
}
END_TEST

/* Every number of the file, read back from a store, equals the file's text
 * parsed by strtod: CSV -> dataset -> HDF5 store -> dataset. */
static size_t csv_numbers(const char *path, int col, double *out, size_t max)
{
    size_t len, n = 0;
    char *text = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save); /* the header */
    while ((line = strtok_r(NULL, "\n", &save)) && n < max) {
        char *f = line;
        for (int k = 0; k < col && f; k++) {
            f = strchr(f, ',');
            if (f)
                f++;
        }
        ck_assert_ptr_nonnull(f);
        out[n++] = strtod(f, NULL);
    }
    free(text);
    return n;
}

START_TEST(test_import_store__round_trip)
{
    char *dir = tu_tmpdir();
    char *store = tu_path(dir, "rt.h5");
    cpo_dataset *ds = NULL, *back = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    cpo_import_opts o;
    cpo_import_opts_init(&o);
    o.partial_last = CPO_PARTIAL_KEEP;
    char kl[1024], fu[1024];
    snprintf(kl, sizeof kl, "%s/klines/klines_BTCUSDT_1d.csv", CPO_TEST_DATA);
    snprintf(fu, sizeof fu, "%s/funding_binance_8h.csv", CPO_TEST_DATA);
    ck_assert_msg(cpo_import_file(ds, kl, &o, NULL, &e) == 0, "%s", tu_errstr(&e));
    o.symbol = "BTCUSDT-PERP";
    o.kind = CPO_KIND_PERP;
    ck_assert_msg(cpo_import_file(ds, fu, &o, NULL, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_store_write(ds, store, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_store_read(&back, store, &e) == 0, "%s", tu_errstr(&e));
    static double want[4096];
    long i = cpo_dataset_find(back, "BTCUSDT");
    ck_assert_int_ge(i, 0);
    const cpo_bars *b = &back->bars[i];
    const double *cols[5] = {b->open, b->high, b->low, b->close, b->volume};
    for (int c = 0; c < 5; c++) {
        size_t n = csv_numbers(kl, c + 1, want, 4096);
        ck_assert_uint_eq(n, b->n);
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(memcmp(&want[k], &cols[c][k], sizeof(double)) == 0,
                          "column %d row %zu: %.17g vs %.17g", c + 1, k, want[k], cols[c][k]);
    }
    long j = cpo_dataset_find(back, "BTCUSDT-PERP");
    ck_assert_int_ge(j, 0);
    const cpo_funding *f = &back->funding[j];
    size_t n = csv_numbers(fu, 2, want, 4096);
    ck_assert_uint_eq(n, f->n);
    for (size_t k = 0; k < n; k++)
        ck_assert(memcmp(&want[k], &f->rate[k], sizeof(double)) == 0);
    n = csv_numbers(fu, 3, want, 4096);
    for (size_t k = 0; k < n; k++)
        ck_assert(memcmp(&want[k], &f->mark[k], sizeof(double)) == 0);
    n = csv_numbers(fu, 0, want, 4096);
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq((int64_t)want[k], f->ts[k]);
    ck_assert_uint_eq(back->n_prov, 2);
    ck_assert_str_eq(back->prov[0].format, "binance-klines");
    cpo_dataset_free(ds);
    cpo_dataset_free(back);
    tu_rmtree(dir);
    free(store);
    free(dir);
}
END_TEST

/* --- the parse on several threads (cpo_import_opts.split_*) --------------------------- */

/* All an import shows: its code and message, its report and the dataset. */
typedef struct outcome {
    int rc;
    char err[1200];
    cpo_import_report rep;
    cpo_dataset *ds;
} outcome;

/* Import path into a fresh dataset (the perpetual of ds_perp in it first,
 * when perp) with the file cut into at most `pieces` pieces, whatever its
 * size (split_bytes 1); pieces 1 reads it serially. */
static void import_in(outcome *out, const char *path, cpo_import_opts o, size_t pieces, int perp)
{
    o.split_bytes = 1;
    o.split_pieces = pieces;
    out->ds = perp ? ds_perp() : new_ds();
    cpo_error e;
    cpo_error_clear(&e);
    out->rc = cpo_import_file(out->ds, path, &o, &out->rep, &e);
    snprintf(out->err, sizeof out->err, "%s", out->rc ? tu_errstr(&e) : "");
}

/* n doubles (or int64s) the same, bit for bit (NaN too); both NULL is. */
static int same_bits(const void *a, const void *b, size_t n)
{
    if (!a || !b)
        return a == b;
    return n == 0 || memcmp(a, b, n * 8) == 0;
}

/* b the same as serial, the outcome of the serial read (what: for the
 * messages). */
static void same_outcome(const outcome *serial, const outcome *b, const char *what)
{
    const cpo_import_report *x = &serial->rep, *y = &b->rep;
    ck_assert_msg(serial->rc == b->rc, "%s: rc %d, serial %d (%s)", what, b->rc, serial->rc, b->err);
    ck_assert_msg(!strcmp(serial->err, b->err), "%s: \"%s\", serial \"%s\"", what, b->err,
                  serial->err);
    ck_assert_msg(x->rows_read == y->rows_read && x->rows_kept == y->rows_kept &&
                      x->dropped == y->dropped && x->duplicates == y->duplicates &&
                      x->reordered == y->reordered && x->gaps == y->gaps &&
                      x->missing_steps == y->missing_steps && x->step_ms == y->step_ms &&
                      x->marked == y->marked && x->unmatched == y->unmatched &&
                      x->unmarked == y->unmarked && x->first_ms == y->first_ms &&
                      x->last_ms == y->last_ms && x->format == y->format &&
                      !strcmp(x->target, y->target),
                  "%s: report counts differ (rows read %zu kept %zu dropped %zu; serial %zu %zu "
                  "%zu)",
                  what, y->rows_read, y->rows_kept, y->dropped, x->rows_read, x->rows_kept,
                  x->dropped);
    ck_assert_msg(x->n_issues == y->n_issues && x->n_issues_total == y->n_issues_total,
                  "%s: %zu issues (%zu in all), serial %zu (%zu)", what, y->n_issues,
                  y->n_issues_total, x->n_issues, x->n_issues_total);
    for (size_t i = 0; i < x->n_issues; i++) {
        char a[1100];
        snprintf(a, sizeof a, "%s", issue_str(x, &x->issues[i]));
        ck_assert_msg(!strcmp(a, issue_str(y, &y->issues[i])) &&
                          x->issues[i].code == y->issues[i].code,
                      "%s: issue %zu \"%s\", serial \"%s\"", what, i, issue_str(y, &y->issues[i]),
                      a);
    }
    const cpo_dataset *d = serial->ds, *e = b->ds;
    ck_assert_msg(d->n_instr == e->n_instr && d->n_prov == e->n_prov, "%s: dataset differs", what);
    for (size_t i = 0; i < d->n_instr; i++) {
        const cpo_bars *p = &d->bars[i], *q = &e->bars[i];
        ck_assert_str_eq(d->instr[i].symbol, e->instr[i].symbol);
        ck_assert_msg(p->n == q->n && p->bar_ms == q->bar_ms, "%s: %s: %zu bars, serial %zu", what,
                      d->instr[i].symbol, q->n, p->n);
        ck_assert_msg(same_bits(p->ts, q->ts, p->n) && same_bits(p->open, q->open, p->n) &&
                          same_bits(p->high, q->high, p->n) && same_bits(p->low, q->low, p->n) &&
                          same_bits(p->close, q->close, p->n) &&
                          same_bits(p->volume, q->volume, p->n) &&
                          same_bits(p->mark, q->mark, p->n) &&
                          same_bits(p->index, q->index, p->n) &&
                          same_bits(p->mark_high, q->mark_high, p->n) &&
                          same_bits(p->mark_low, q->mark_low, p->n),
                      "%s: %s: bars differ", what, d->instr[i].symbol);
    }
    for (size_t i = 0; i < d->n_prov; i++) {
        const cpo_provenance *p = &d->prov[i], *q = &e->prov[i];
        ck_assert_msg(!strcmp(p->sha256, q->sha256) && !strcmp(p->format, q->format) &&
                          !strcmp(p->target, q->target) && p->rows_read == q->rows_read &&
                          p->rows_kept == q->rows_kept && !strcmp(p->options, q->options),
                      "%s: provenance %zu differs", what, i);
    }
}

/* path with o read serially and in 2, 3 and 7 pieces, strict and lenient
 * (and lenient with --sort): the serial outcome is the expected one (the
 * tests above check it against the files by hand). */
static void as_serial(const char *path, cpo_import_opts o, int perp)
{
    static const size_t counts[] = {2, 3, 7};
    for (int m = 0; m < 3; m++) {
        o.mode = m ? CPO_IMPORT_LENIENT : CPO_IMPORT_STRICT;
        o.sort = m == 2;
        static outcome serial, cut;
        import_in(&serial, path, o, 1, perp);
        for (size_t k = 0; k < 3; k++) {
            char what[700];
            snprintf(what, sizeof what, "%s, mode %d, %zu pieces", path, m, counts[k]);
            import_in(&cut, path, o, counts[k], perp);
            same_outcome(&serial, &cut, what);
            cpo_dataset_free(cut.ds);
        }
        cpo_dataset_free(serial.ds);
    }
}

/* The files of the tests above, good and bad, in pieces. */
static const struct {
    const char *file;
    cpo_format fmt;
    const char *symbol;
    int perp; /* mark klines: on ds_perp's perpetual */
} PIECE_FILES[] = {
    {"klines/klines_BTCUSDT_1d.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_1d_conflict.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_bom_crlf.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_close_time.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_gap.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_open_time.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_partial.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_unsorted.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_unsorted_dup.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_BTCUSDT_us.csv", CPO_FMT_AUTO, NULL, 0},
    {"klines/klines_ETHUSDT_1h_perp.csv", CPO_FMT_AUTO, NULL, 0},
    {"futures/BTCUSDT_260327_1h.csv", CPO_FMT_BINANCE_DELIVERY_KLINES, NULL, 0},
    {"futures/BTCUSD_260327_1d.csv", CPO_FMT_BINANCE_DELIVERY_KLINES, NULL, 0},
    {"mark/mark_BTCUSDT_1h_header.csv", CPO_FMT_BINANCE_MARK_KLINES, "BTCUSDT-PERP", 1},
    {"mark/mark_BTCUSDT_1h_noheader.csv", CPO_FMT_BINANCE_MARK_KLINES, "BTCUSDT-PERP", 1},
    {"mark/mark_BTCUSDT_1h_extra.csv", CPO_FMT_BINANCE_MARK_KLINES, "BTCUSDT-PERP", 1},
};

#define N_PIECE_FILES (sizeof PIECE_FILES / sizeof PIECE_FILES[0])
#define N_BAD (sizeof BAD / sizeof BAD[0])
#define N_LENIENT (sizeof LENIENT / sizeof LENIENT[0])
#define N_MARK_BAD (sizeof MARK_BAD / sizeof MARK_BAD[0])

START_TEST(test_pieces__fixtures_as_serial)
{
    cpo_import_opts o = opts();
    const char *file;
    int perp = 0;
    size_t i = (size_t)_i;
    if (i < N_PIECE_FILES) {
        file = PIECE_FILES[i].file;
        o.format = PIECE_FILES[i].fmt;
        o.symbol = PIECE_FILES[i].symbol;
        perp = PIECE_FILES[i].perp;
    } else if ((i -= N_PIECE_FILES) < N_BAD) {
        file = BAD[i].file;
        o.format = BAD[i].fmt;
        o.symbol = BAD[i].symbol;
    } else if ((i -= N_BAD) < N_LENIENT) {
        file = LENIENT[i].file;
        o.symbol = "BTCUSDT";
    } else {
        i -= N_LENIENT;
        file = MARK_BAD[i].file;
        o = mark_opts(CPO_IMPORT_STRICT);
        perp = 1;
    }
    char *p = dpath(file);
    as_serial(p, o, perp);
    free(p);
}
END_TEST

/*
 * A 1m klines file of PR rows, each PR_W bytes (close_time too), after a
 * header of PR_H: row i (1-based) opens at TU_T0 + (i - 1) min, on line
 * i + 1.  Row j made bad in one way (DEFECTS), or rows j and j + 1.
 */
enum { PR = 24, PR_H = 48, PR_W = 54 };

static const char *const DEFECTS[] = {
    "none",        "number",  "short",        "dup",   "order", "quote",
    "quoted line", "ct",      "blank",        "crlf",  "width", "nul",
};
#define N_DEFECTS (sizeof DEFECTS / sizeof DEFECTS[0])

static size_t defect_row(char *buf, size_t n, int i, const char *defect)
{
    int64_t t = TU_T0 + (int64_t)(i - 1) * CPO_MS_MINUTE, ct = t + CPO_MS_MINUTE - 1;
    const char *close = "100.25", *pre = "", *end = "\n";
    if (!strcmp(defect, "number"))
        close = "abcdef"; /* as wide as 100.25: the cuts stay where they were */
    else if (!strcmp(defect, "dup"))
        t -= CPO_MS_MINUTE;
    else if (!strcmp(defect, "order"))
        t -= 3 * CPO_MS_MINUTE / 2;
    else if (!strcmp(defect, "quote"))
        close = "\"100.25\"";
    else if (!strcmp(defect, "quoted line"))
        close = "\"100\n.25\"";
    else if (!strcmp(defect, "ct"))
        ct += 1000;
    else if (!strcmp(defect, "blank"))
        pre = "\n \n";
    else if (!strcmp(defect, "crlf"))
        end = "\r\n";
    else if (!strcmp(defect, "width"))
        end = ",,1\n";
    if (!strcmp(defect, "short"))
        return (size_t)snprintf(buf, n, "%s%lld,100.5,101%s", pre, (long long)t, end);
    return (size_t)snprintf(buf, n, "%s%lld,100.5,101,100,%s,%02d.5,%lld%s", pre, (long long)t,
                            close, i, (long long)ct, end);
}

/* The file with `defect` on rows from..to (1-based; none: 0, 0); no line
 * end after the last row unless final_nl.  Returns its size. */
static size_t defect_file(const char *path, const char *defect, int from, int to, int final_nl)
{
    char text[8192];
    size_t w = (size_t)snprintf(text, sizeof text,
                                "open_time,open,high,low,close,volume,close_time\n");
    for (int i = 1; i <= PR; i++)
        w += defect_row(text + w, sizeof text - w, i, i >= from && i <= to ? defect : "none");
    if (!final_nl)
        text[--w] = '\0';
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, w, f), w);
    if (!strcmp(defect, "nul") && from > 0) { /* a NUL byte for row from's open */
        ck_assert_int_eq(fseek(f, PR_H + (from - 1) * PR_W + 14, SEEK_SET), 0);
        ck_assert_int_eq(fputc('\0', f), 0);
    }
    fclose(f);
    return w;
}

/* Each defect on each row in turn, so that in 2, 3 and 7 pieces some
 * fall on the first and on the last row of a piece, and on the last row
 * without a line end: the outcome is the serial one. */
START_TEST(test_pieces__defect_on_every_row)
{
    const char *defect = DEFECTS[_i];
    char *dir = tu_tmpdir(), *p = tu_path(dir, "BTCUSDT_1m.csv");
    cpo_import_opts o = opts();
    for (int j = 1; j <= PR; j++)
        for (int nl = 0; nl < 2; nl++) {
            defect_file(p, defect, j, j, nl);
            as_serial(p, o, 0);
        }
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Problems on both sides of a cut, by hand: 24 rows of 54 bytes after a
 * 48-byte header, in two pieces, are cut at the line end after byte
 * 48 + 24 * 54 / 2 = 696, the first byte of row 13 (48 + 12 * 54): row 13
 * (line 14) is the last row of piece 0 and row 14 (line 15) the first of
 * piece 1.  (A bad close as wide as a good one leaves the cut there.) */
START_TEST(test_pieces__problems_at_a_cut)
{
    char *dir = tu_tmpdir(), *p = tu_path(dir, "BTCUSDT_1m.csv"), want[1024];
    ck_assert_uint_eq(defect_file(p, "none", 0, 0, 1), PR_H + PR * PR_W);
    cpo_import_opts o = opts();
    static outcome serial, cut;
    for (size_t pieces = 1; pieces <= 2; pieces++) {
        /* strict: the first of two problems, the last row of piece 0 */
        o.mode = CPO_IMPORT_STRICT;
        defect_file(p, "number", 13, 14, 1);
        import_in(&cut, p, o, pieces, 0);
        snprintf(want, sizeof want,
                 "%s:14:5: close \"abcdef\" is not a number (expected a decimal number)", p);
        ck_assert_int_eq(cut.rc, CPO_EDATA);
        ck_assert_str_eq(cut.err, want);
        cpo_dataset_free(cut.ds);
        /* strict, one problem: the first row of piece 1 */
        defect_file(p, "number", 14, 14, 1);
        import_in(&cut, p, o, pieces, 0);
        snprintf(want, sizeof want,
                 "%s:15:5: close \"abcdef\" is not a number (expected a decimal number)", p);
        ck_assert_str_eq(cut.err, want);
        ck_assert_uint_eq(cut.rep.rows_read, 14); /* rows 1..14: where the serial read stopped */
        cpo_dataset_free(cut.ds);
        /* lenient: both rows dropped, reported in file order */
        o.mode = CPO_IMPORT_LENIENT;
        defect_file(p, "number", 13, 14, 1);
        import_in(&cut, p, o, pieces, 0);
        ck_assert_int_eq(cut.rc, 0);
        ck_assert_uint_eq(cut.rep.rows_read, PR);
        ck_assert_uint_eq(cut.rep.rows_kept, PR - 2);
        ck_assert_uint_eq(cut.rep.n_issues, 3); /* and the gap the two rows leave */
        ck_assert_int_eq(cut.rep.issues[2].level, CPO_ISSUE_WARNING);
        ck_assert_ptr_nonnull(strstr(cut.rep.issues[2].msg, "1 gap (2 missing steps"));
        snprintf(want, sizeof want,
                 "repaired: %s:14:5: close \"abcdef\" is not a number (expected a decimal "
                 "number); row dropped",
                 p);
        ck_assert_str_eq(issue_str(&cut.rep, &cut.rep.issues[0]), want);
        snprintf(want, sizeof want,
                 "repaired: %s:15:5: close \"abcdef\" is not a number (expected a decimal "
                 "number); row dropped",
                 p);
        ck_assert_str_eq(issue_str(&cut.rep, &cut.rep.issues[1]), want);
        cpo_dataset_free(cut.ds);
    }
    /* More problems than a report keeps, spread over 7 pieces: every other
     * row of 200 bad, 100 problems; the first 64 kept, in file order, the
     * others counted. */
    char *text = malloc(200 * 64);
    size_t w = (size_t)snprintf(text, 200 * 64, "open_time,open,high,low,close,volume\n");
    for (int i = 0; i < 200; i++)
        w += (size_t)snprintf(text + w, 200 * 64 - w, "%lld,1,2,0.5,%s,1\n",
                              (long long)(TU_T0 + i * CPO_MS_MINUTE), i % 2 ? "x" : "1.5");
    tu_write_file(p, text);
    free(text);
    o.mode = CPO_IMPORT_LENIENT;
    import_in(&serial, p, o, 1, 0);
    import_in(&cut, p, o, 7, 0);
    ck_assert_uint_eq(cut.rep.n_issues, CPO_REPORT_MAX_ISSUES);
    ck_assert_uint_eq(cut.rep.n_issues_total, 100);
    ck_assert_int_eq(cut.rep.issues[63].line, 2 + 2 * 63 + 1); /* row 2k + 1 (0-based) on line 2k + 3 */
    same_outcome(&serial, &cut, "every other row bad, 7 pieces");
    cpo_dataset_free(serial.ds);
    cpo_dataset_free(cut.ds);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *import_suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_format_names);
    tcase_add_test(tc, test_import_store__round_trip);
    tcase_add_test(tc, test_opts_defaults);
    tcase_add_loop_test(tc, test_detect, 0, sizeof DETECT / sizeof DETECT[0]);
    tcase_add_test(tc, test_detect_klines_after_blank_lines);
    tcase_add_test(tc, test_detect_unknown_json);
    tcase_add_test(tc, test_klines_daily_round_trip);
    tcase_add_test(tc, test_klines_perp_hourly_ms_close_time);
    tcase_add_test(tc, test_klines_bom_crlf);
    tcase_add_test(tc, test_klines_open_time_no_volume);
    tcase_add_test(tc, test_klines_microseconds);
    tcase_add_test(tc, test_klines_close_time_mismatch_warns);
    tcase_add_test(tc, test_symbol_from_file_name);
    tcase_add_test(tc, test_sort_option);
    tcase_add_test(tc, test_sort_keeps_lines);
    tcase_add_test(tc, test_unsorted_lenient);
    tcase_add_test(tc, test_duplicates_lenient);
    tcase_add_test(tc, test_gaps);
    tcase_add_test(tc, test_gaps_jitter);
    tcase_add_test(tc, test_partial_last_flag);
    tcase_add_test(tc, test_partial_last_drop_keep);
    tcase_add_loop_test(tc, test_bad_file_strict, 0, sizeof BAD / sizeof BAD[0]);
    tcase_add_loop_test(tc, test_bad_file_lenient, 0, sizeof LENIENT / sizeof LENIENT[0]);
    tcase_add_test(tc, test_all_rows_dropped);
    tcase_add_test(tc, test_many_issues);
    tcase_add_test(tc, test_merge_overlap_identical);
    tcase_add_test(tc, test_merge_conflict);
    tcase_add_test(tc, test_merge_kind_and_bar_size_mismatch);
    tcase_add_test(tc, test_failure_leaves_dataset);
    tcase_add_test(tc, test_funding_settle_inverse);
    tcase_add_test(tc, test_ohlcv__forms_symbols_and_zones);
    tcase_add_test(tc, test_check_only);
    tcase_add_test(tc, test_futures_import);
    tcase_add_test(tc, test_futures_chain_import);
    tcase_add_test(tc, test_futures_chain_all_or_nothing);
    tcase_add_test(tc, test_futures_lenient_expiry);
    tcase_add_test(tc, test_gaps_funding_interval_regimes);
    tcase_add_loop_test(tc, test_mark_klines__layouts_attach, 0, 3);
    tcase_add_test(tc, test_mark_klines__unmatched_and_unmarked);
    tcase_add_test(tc, test_mark_klines__overlap);
    tcase_add_test(tc, test_mark_klines__survive_klines_merge);
    tcase_add_loop_test(tc, test_mark_klines__bad_strict, 0,
                        sizeof MARK_BAD / sizeof MARK_BAD[0]);
    tcase_add_test(tc, test_mark_klines__lenient);
    tcase_add_test(tc, test_mark_klines__refusals);
    tcase_add_test(tc, test_provenance);
    tcase_add_test(tc, test_provenance_large_file_hashed_beside);
    tcase_add_test(tc, test_report_print);
    tcase_add_test(tc, test_real_daily);
    tcase_add_test(tc, test_real_hourly);
    tcase_add_loop_test(tc, test_pieces__fixtures_as_serial, 0,
                        (int)(N_PIECE_FILES + N_BAD + N_LENIENT + N_MARK_BAD));
    tcase_add_loop_test(tc, test_pieces__defect_on_every_row, 0, (int)N_DEFECTS);
    tcase_add_test(tc, test_pieces__problems_at_a_cut);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(import_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
