/*
 * check_readers.c - the funding, index and mark-kline readers
 * (read_funding.c, read_index.c, read_klines.c's cpo_read_mark_klines), run
 * on a hand-built import context: values against the
 * fixture text, declared zones, BitMEX interval decoding, Deribit's
 * timestamp column, JSON shapes, and the exact message for every file in
 * tests/data/bad/ of these formats.  The real files under
 * ../shared/data/real (beside the repository) are read too when present.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpo/dataset.h"
#include "cpo/import.h"
#include "importer.h"
#include "testutil.h"

typedef int (*reader_fn)(cpo_import_ctx *c);

typedef struct run {
    cpo_import_opts o;
    cpo_import_report rep;
    cpo_error err;
    cpo_import_ctx c;
} run;

static void run_init(run *r)
{
    memset(r, 0, sizeof *r);
    r->o.format = CPO_FMT_AUTO;
    r->o.mode = CPO_IMPORT_STRICT;
    r->o.tz.kind = CPO_TZ_FIXED;
    r->o.tz.offset_ms = 0;
    r->o.kind = CPO_KIND_SPOT;
    r->o.settle = CPO_SETTLE_LINEAR;
    r->o.snapshot_ms = CPO_TIME_NONE;
    r->o.max_listed = 5;
}

static int run_reader(run *r, reader_fn fn, const char *path)
{
    cpo_error_clear(&r->err);
    memset(&r->c, 0, sizeof r->c);
    r->c.path = path;
    r->c.o = &r->o;
    r->c.rep = &r->rep;
    r->c.err = &r->err;
    cpo_bars_init(&r->c.bars);
    cpo_funding_init(&r->c.funding);
    cpo_chain_init(&r->c.chain, "");
    cpo_ivindex_init(&r->c.iv, "");
    cpo_caps_init(&r->c.caps);
    return fn(&r->c);
}

static void run_fini(run *r)
{
    for (size_t k = 0; k < r->c.n_sets; k++) {
        cpo_bars_fini(&r->c.sets[k].bars);
        free(r->c.sets[k].line);
    }
    free(r->c.sets);
    r->c.sets = NULL;
    r->c.n_sets = 0;
    cpo_bars_fini(&r->c.bars);
    cpo_funding_fini(&r->c.funding);
    cpo_chain_fini(&r->c.chain);
    cpo_ivindex_fini(&r->c.iv);
    cpo_caps_fini(&r->c.caps);
    free(r->c.line);
    r->c.line = NULL;
}

static const cpo_import_issue *find_issue(const run *r, cpo_issue_level level)
{
    for (size_t i = 0; i < r->rep.n_issues; i++)
        if (r->rep.issues[i].level == level)
            return &r->rep.issues[i];
    return NULL;
}

static size_t count_issues(const run *r, cpo_issue_level level)
{
    size_t n = 0;
    for (size_t i = 0; i < r->rep.n_issues; i++)
        n += r->rep.issues[i].level == level;
    return n;
}

static int64_t iso(const char *s)
{
    int64_t t;
    ck_assert_int_eq(cpo_time_parse(s, strlen(s), &t, NULL, NULL), 0);
    return t;
}

#define ck_assert_nan(x) ck_assert_msg(isnan(x), "%s is %g, not NaN", #x, (double)(x))

/* --- Binance CSV ------------------------------------------------------------ */

START_TEST(test_binance_funding_mark)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_binance_funding, tu_data("funding_binance_8h.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.stage, CPO_STAGE_FUNDING);
    const cpo_funding *f = &r.c.funding;
    ck_assert_uint_eq(f->n, 5);
    ck_assert_uint_eq(r.c.n_line, 5);
    ck_assert_uint_eq(r.rep.rows_read, 5);
    /* 1704067200000,BTCUSDT,0.00037409,42313.90000000 */
    ck_assert_int_eq(f->ts[0], INT64_C(1704067200000));
    ck_assert_double_eq(f->rate[0], 0.00037409);
    ck_assert_double_eq(f->mark[0], 42313.9);
    ck_assert_nan(f->index[0]);
    ck_assert_int_eq(r.c.line[0], 2);
    /* 1704096000000,BTCUSDT,0.00027213,42525.11019858 */
    ck_assert_int_eq(f->ts[1], INT64_C(1704096000000));
    ck_assert_double_eq(f->rate[1], 0.00027213);
    ck_assert_double_eq(f->mark[1], 42525.11019858);
    ck_assert_int_eq(r.c.line[4], 6);
    ck_assert_int_eq(f->interval_ms, 8 * CPO_MS_HOUR);
    const cpo_instrument *in = &r.c.instr;
    ck_assert_str_eq(in->symbol, "BTCUSDT");
    ck_assert_str_eq(in->exchange, "binance");
    ck_assert_str_eq(in->base, "BTC");
    ck_assert_str_eq(in->quote, "USDT");
    ck_assert_str_eq(in->underlying, "BTC");
    ck_assert_int_eq(in->kind, CPO_KIND_PERP);
    ck_assert_int_eq(in->settle, CPO_SETTLE_LINEAR);
    ck_assert_double_eq(in->contract_size, 1.0);
    ck_assert_int_eq(in->funding_interval_ms, 8 * CPO_MS_HOUR);
    ck_assert_uint_eq(r.rep.n_issues, 0);
    run_fini(&r);
}
END_TEST

START_TEST(test_binance_funding_no_mark)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_binance_funding, tu_data("funding_binance_recent.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const cpo_funding *f = &r.c.funding;
    ck_assert_uint_eq(f->n, 3);
    /* 1768262400007,BTCUSDT,0.00002245 */
    ck_assert_int_eq(f->ts[1], INT64_C(1768262400007));
    ck_assert_double_eq(f->rate[1], 0.00002245);
    ck_assert_nan(f->mark[1]);
    ck_assert_nan(f->index[1]);
    ck_assert_str_eq(r.c.instr.symbol, "BTCUSDT");
    run_fini(&r);

    /* a blank markPrice is missing, not zero */
    run_init(&r);
    rc = run_reader(&r, cpo_read_binance_funding, tu_data("funding_blank_mark.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.funding.n, 1);
    ck_assert_nan(r.c.funding.mark[0]);
    run_fini(&r);
}
END_TEST

START_TEST(test_binance_funding_supervik_tz)
{
    run r;
    run_init(&r);
    ck_assert_int_eq(cpo_tz_parse("+03:00", &r.o.tz), 0);
    int rc = run_reader(&r, cpo_read_binance_funding, tu_data("funding_supervik_btc.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const cpo_funding *f = &r.c.funding;
    ck_assert_uint_eq(f->n, 10);
    /* BTC-USDT,2020-01-01 03:00:00.000,-0.00012359 at +03:00 is 00:00Z */
    ck_assert_int_eq(f->ts[0], INT64_C(1577836800000));
    ck_assert_int_eq(f->ts[0], iso("2020-01-01T00:00:00Z"));
    ck_assert_double_eq(f->rate[0], -0.00012359);
    ck_assert_nan(f->mark[0]);
    ck_assert_int_eq(f->ts[1], iso("2020-01-01T08:00:00Z"));
    ck_assert_int_eq(f->ts[2], iso("2020-01-01T16:00:00Z"));
    /* line 10: BTC-USDT,2020-01-03 19:00:00.001,0.00010000 */
    ck_assert_int_eq(r.c.line[8], 10);
    ck_assert_int_eq(f->ts[8], iso("2020-01-03T16:00:00.001Z"));
    ck_assert_int_eq(f->ts[8], INT64_C(1578067200001));
    for (size_t i = 0; i < f->n; i++)
        ck_assert_int_lt(f->ts[i] % (8 * CPO_MS_HOUR), CPO_MS_SECOND);
    ck_assert_str_eq(r.c.instr.symbol, "BTCUSDT"); /* BTC-USDT normalised */
    ck_assert_str_eq(r.c.instr.base, "BTC");
    ck_assert_str_eq(r.c.instr.quote, "USDT");
    ck_assert_uint_eq(r.rep.n_issues, 0);
    run_fini(&r);

    /* Without the zone the rows stay at 03/11/19 UTC, with a warning. */
    run_init(&r);
    rc = run_reader(&r, cpo_read_binance_funding, tu_data("funding_supervik_btc.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.funding.ts[0], iso("2020-01-01T03:00:00Z"));
    const cpo_import_issue *is = find_issue(&r, CPO_ISSUE_WARNING);
    ck_assert_ptr_nonnull(is);
    ck_assert_str_eq(is->msg,
                     "10 of 10 Date times read in zone UTC fall 3h after the 8h funding marks "
                     "(expected settlement times on the marks: declare the collector's zone, "
                     "e.g. --tz +03:00 for the supervik files)");
    run_fini(&r);

    /* --symbol keeps the name as given; base and quote from the file */
    run_init(&r);
    r.o.symbol = "BTCUSDT-PERP";
    ck_assert_int_eq(cpo_tz_parse("+03:00", &r.o.tz), 0);
    rc = run_reader(&r, cpo_read_binance_funding, tu_data("funding_supervik_btc.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_str_eq(r.c.instr.symbol, "BTCUSDT-PERP");
    ck_assert_str_eq(r.c.instr.base, "BTC");
    ck_assert_str_eq(r.c.instr.quote, "USDT");
    run_fini(&r);
}
END_TEST

/* --- Binance JSON ----------------------------------------------------------- */

START_TEST(test_binance_funding_json)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_binance_funding_json, tu_data("funding_binance.json"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.stage, CPO_STAGE_FUNDING);
    const cpo_funding *f = &r.c.funding;
    ck_assert_uint_eq(f->n, 3);
    /* {"coin": "BTC", "funding_rate": "0.00010000", "time": 1640995200006} */
    ck_assert_int_eq(f->ts[0], INT64_C(1640995200006));
    ck_assert_double_eq(f->rate[0], 0.0001);
    ck_assert_nan(f->mark[0]);
    ck_assert_int_eq(f->ts[2], INT64_C(1641052800000));
    /* each element starts on its "{" line */
    ck_assert_int_eq(r.c.line[0], 2);
    ck_assert_int_eq(r.c.line[1], 7);
    ck_assert_int_eq(r.c.line[2], 12);
    ck_assert_str_eq(r.c.instr.symbol, "BTCUSDT");
    ck_assert_str_eq(r.c.instr.base, "BTC");
    ck_assert_str_eq(r.c.instr.exchange, "binance");
    ck_assert_int_eq(r.c.instr.kind, CPO_KIND_PERP);
    ck_assert_int_eq(r.c.instr.funding_interval_ms, 8 * CPO_MS_HOUR);
    run_fini(&r);

    run_init(&r);
    r.o.symbol = "BTCUSDT-PERP";
    rc = run_reader(&r, cpo_read_binance_funding_json, tu_data("funding_binance.json"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_str_eq(r.c.instr.symbol, "BTCUSDT-PERP");
    ck_assert_str_eq(r.c.instr.base, "BTC");
    run_fini(&r);
}
END_TEST

/* --- BitMEX ----------------------------------------------------------------- */

START_TEST(test_bitmex_funding)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_bitmex_funding, tu_data("bitmex_funding.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const cpo_funding *f = &r.c.funding;
    ck_assert_uint_eq(f->n, 7);
    /* 2016-06-01T12:00:00Z,XBTUSD,2000-01-02T00:00:00Z,0.001285,0.001285 */
    ck_assert_int_eq(f->ts[0], iso("2016-06-01T12:00:00Z"));
    ck_assert_double_eq(f->rate[0], 0.001285);
    ck_assert_nan(f->mark[0]);
    ck_assert_nan(f->index[0]);
    /* 2016-06-04T20:00:00Z,XBTUSD,2000-01-01T08:00:00Z,2.496666666666667e-4,... */
    ck_assert_int_eq(f->ts[4], iso("2016-06-04T20:00:00Z"));
    ck_assert_double_eq(f->rate[4], 2.496666666666667e-4);
    /* the 8h interval prevails; the change is noted where it happens */
    ck_assert_int_eq(f->interval_ms, 8 * CPO_MS_HOUR);
    const cpo_instrument *in = &r.c.instr;
    ck_assert_int_eq(in->funding_interval_ms, 8 * CPO_MS_HOUR);
    ck_assert_str_eq(in->symbol, "XBTUSD");
    ck_assert_str_eq(in->exchange, "bitmex");
    ck_assert_str_eq(in->base, "XBT");
    ck_assert_str_eq(in->quote, "USD");
    ck_assert_str_eq(in->underlying, "BTC");
    ck_assert_int_eq(in->kind, CPO_KIND_PERP);
    ck_assert_int_eq(in->settle, CPO_SETTLE_INVERSE);
    ck_assert_double_eq(in->contract_size, 1.0);
    ck_assert_uint_eq(r.rep.n_issues, 1);
    const cpo_import_issue *is = &r.rep.issues[0];
    ck_assert_int_eq(is->level, CPO_ISSUE_INFO);
    ck_assert_int_eq(is->line, 6);
    ck_assert_int_eq(is->col, 3);
    ck_assert_str_eq(is->msg, "funding interval changes from 1d to 8h at 2016-06-04T20:00:00Z");
    run_fini(&r);

    /* Only the daily rows: the interval is 24h. */
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "bitmex_daily.csv");
    tu_write_file(p, "timestamp,symbol,fundingInterval,fundingRate,fundingRateDaily\n"
                     "2016-05-14T12:00:00Z,XBTUSD,2000-01-02T00:00:00Z,6.900000000000001e-4,"
                     "6.900000000000001e-4\n"
                     "2016-05-15T12:00:00Z,XBTUSD,2000-01-02T00:00:00Z,5.16e-4,5.16e-4\n");
    run_init(&r);
    rc = run_reader(&r, cpo_read_bitmex_funding, p);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.instr.funding_interval_ms, 24 * CPO_MS_HOUR);
    ck_assert_uint_eq(r.rep.n_issues, 0);
    run_fini(&r);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- Deribit ---------------------------------------------------------------- */

START_TEST(test_deribit_funding)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_deribit_funding, tu_data("deribit_funding.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const cpo_funding *f = &r.c.funding;
    ck_assert_uint_eq(f->n, 4);
    /* 2019-04-30 11:00:00,1556618400000,,-0.00045471014938468695,0.0,5150.94,... */
    ck_assert_int_eq(f->ts[0], INT64_C(1556618400000));
    ck_assert_double_eq(f->rate[0], 0.0);
    ck_assert_double_eq(f->index[0], 5150.94);
    ck_assert_nan(f->mark[0]);
    /* ...,1556622000000,5150.94,-0.00040739795153362527,-2.355264834228129e-05,5185.14 */
    ck_assert_double_eq(f->rate[1], -2.355264834228129e-05);
    ck_assert_double_eq(f->index[1], 5185.14);
    ck_assert_int_eq(f->interval_ms, CPO_MS_HOUR);
    const cpo_instrument *in = &r.c.instr;
    ck_assert_str_eq(in->symbol, "BTC-PERPETUAL");
    ck_assert_str_eq(in->exchange, "deribit");
    ck_assert_str_eq(in->base, "BTC");
    ck_assert_str_eq(in->quote, "USD");
    ck_assert_int_eq(in->settle, CPO_SETTLE_INVERSE);
    ck_assert_double_eq(in->contract_size, 10.0);
    ck_assert_int_eq(in->funding_interval_ms, CPO_MS_HOUR);
    const cpo_import_issue *is = find_issue(&r, CPO_ISSUE_INFO);
    ck_assert_ptr_nonnull(is);
    ck_assert_str_eq(is->msg, "time_dt ignored (it is Europe/London local time); times are taken "
                              "from timestamp (ms UTC)");
    run_fini(&r);

    run_init(&r);
    r.o.symbol = "ETH-PERPETUAL";
    rc = run_reader(&r, cpo_read_deribit_funding, tu_data("deribit_funding.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_str_eq(r.c.instr.symbol, "ETH-PERPETUAL");
    ck_assert_str_eq(r.c.instr.base, "ETH");
    run_fini(&r);
}
END_TEST

START_TEST(test_deribit_funding_uses_timestamp)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_deribit_funding, tu_data("deribit_funding_dst.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const cpo_funding *f = &r.c.funding;
    ck_assert_uint_eq(f->n, 14);
    /* time_dt "2019-10-26 15:00:00" (BST), timestamp 1572098400000 = 14:00Z */
    ck_assert_int_eq(f->ts[0], INT64_C(1572098400000));
    ck_assert_int_eq(f->ts[0], iso("2019-10-26T14:00:00Z"));
    /* the DST pair, both with time_dt "2019-10-27 01:00:00": staged in file
     * order (out of order by time); import.c sorts or refuses */
    ck_assert_int_eq(r.c.line[10], 12);
    ck_assert_int_eq(f->ts[10], INT64_C(1572138000000));
    ck_assert_int_eq(f->ts[11], INT64_C(1572134400000));
    ck_assert_double_eq(f->rate[11], 2.7304620360302412e-05);
    ck_assert_double_eq(f->index[11], 9257.43);
    run_fini(&r);
}
END_TEST

/* --- DVOL ------------------------------------------------------------------- */

START_TEST(test_dvol_csv)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_dvol, tu_data("dvol_daily.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.stage, CPO_STAGE_IV);
    const cpo_ivindex *v = &r.c.iv;
    ck_assert_str_eq(v->name, "BTC-DVOL");
    ck_assert_uint_eq(v->n, 4);
    /* 1728000000000,2024-10-04,57.45,57.98,55.29,55.53 */
    ck_assert_int_eq(v->ts[0], INT64_C(1728000000000));
    ck_assert_double_eq(v->open[0], 57.45);
    ck_assert_double_eq(v->high[0], 57.98);
    ck_assert_double_eq(v->low[0], 55.29);
    ck_assert_double_eq(v->close[0], 55.53);
    ck_assert_int_eq(v->ts[3], iso("2024-10-07"));
    ck_assert_int_eq(r.c.line[3], 5);
    ck_assert_uint_eq(r.rep.n_issues, 0);
    run_fini(&r);

    run_init(&r);
    r.o.name = "BTC-DVOL-EGG";
    rc = run_reader(&r, cpo_read_dvol, tu_data("dvol_daily.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_str_eq(r.c.iv.name, "BTC-DVOL-EGG");
    run_fini(&r);

    /* iso_date that is not timestamp_ms's UTC date: kept, with a warning */
    run_init(&r);
    rc = run_reader(&r, cpo_read_dvol, tu_data("dvol_date_mismatch.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.iv.n, 2);
    ck_assert_int_eq(r.c.iv.ts[1], INT64_C(1728086400000));
    ck_assert_uint_eq(r.rep.n_issues, 1);
    const cpo_import_issue *is = &r.rep.issues[0];
    ck_assert_int_eq(is->level, CPO_ISSUE_WARNING);
    ck_assert_int_eq(is->line, 3);
    ck_assert_int_eq(is->col, 2);
    ck_assert_str_eq(is->msg, "iso_date \"2024-10-06\" is not the UTC date of timestamp_ms "
                              "(expected 2024-10-05); the time stamp is used");
    run_fini(&r);
}
END_TEST

START_TEST(test_dvol_json)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_dvol, tu_data("dvol_btc.json"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.stage, CPO_STAGE_IV);
    const cpo_ivindex *v = &r.c.iv;
    ck_assert_str_eq(v->name, "BTC-DVOL");
    ck_assert_uint_eq(v->n, 3);
    /* [1667692800000, 56.76] */
    ck_assert_int_eq(v->ts[0], INT64_C(1667692800000));
    ck_assert_double_eq(v->close[0], 56.76);
    ck_assert_nan(v->open[0]);
    ck_assert_nan(v->high[0]);
    ck_assert_nan(v->low[0]);
    ck_assert_double_eq(v->close[2], 76.66);
    ck_assert_int_eq(r.c.line[0], 2);
    ck_assert_int_eq(r.c.line[1], 6);
    ck_assert_int_eq(r.c.line[2], 10);
    run_fini(&r);
}
END_TEST

/* --- CoinMarketCap ------------------------------------------------------------ */

START_TEST(test_cmc)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_cmc, tu_data("cmc_snapshots.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.stage, CPO_STAGE_CAPS);
    const cpo_caps *k = &r.c.caps;
    ck_assert_uint_eq(k->n, 6);
    /* 1,Bitcoin,BTC,130580829149.587,7200.17439274,18135787.0,18565664996.7884,...,20200101 */
    ck_assert_int_eq(k->ts[0], INT64_C(1577836800000));
    ck_assert_int_eq(k->rank[0], 1);
    ck_assert_str_eq(k->symbol[0], "BTC");
    ck_assert_str_eq(k->name[0], "Bitcoin");
    ck_assert_double_eq(k->market_cap[0], 130580829149.587);
    ck_assert_double_eq(k->price[0], 7200.17439274);
    ck_assert_double_eq(k->supply[0], 18135787.0);
    ck_assert_double_eq(k->volume_24h[0], 18565664996.7884);
    /* BNX twice in 20230301, two different coins */
    ck_assert_int_eq(k->ts[3], iso("2023-03-01"));
    ck_assert_str_eq(k->symbol[3], "BNX");
    ck_assert_str_eq(k->name[3], "BinaryX (old)");
    ck_assert_int_eq(k->rank[3], 126);
    ck_assert_str_eq(k->symbol[4], "BNX");
    ck_assert_str_eq(k->name[4], "BinaryX");
    ck_assert_int_eq(k->rank[4], 132);
    /* Baby Doge Coin's Price 0.0 is below CMC's precision: missing */
    ck_assert_str_eq(k->symbol[5], "BabyDoge");
    ck_assert_nan(k->price[5]);
    ck_assert_double_eq(k->market_cap[5], 209439058.77734447);
    ck_assert_uint_eq(r.rep.n_issues, 1);
    const cpo_import_issue *is = &r.rep.issues[0];
    ck_assert_int_eq(is->level, CPO_ISSUE_WARNING);
    ck_assert_int_eq(is->line, 7);
    ck_assert_int_eq(is->col, 5);
    ck_assert_str_eq(is->msg, "Price is 0 in 1 row, the first for BabyDoge (expected a positive "
                              "price; stored as missing)");
    run_fini(&r);

    run_init(&r);
    rc = run_reader(&r, cpo_read_cmc, tu_data("cmc_blank_volume.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.caps.n, 1);
    ck_assert_nan(r.c.caps.supply[0]);
    ck_assert_nan(r.c.caps.volume_24h[0]);
    ck_assert_double_eq(r.c.caps.price[0], 7200.17439274);
    run_fini(&r);
}
END_TEST

/* --- dated futures ------------------------------------------------------------------ */

/* Names and contract terms (README, "Dated futures"; the weekdays from the
 * calendar: 2026-03-27 and 2026-04-24 are Fridays, 2026-03-26 a Thursday). */
START_TEST(test_future_names)
{
    static const struct {
        const char *name;
        int deribit, rc, quarterly;
        cpo_settle settle;
        double size;
        const char *base, *quote, *expiry, *why;
    } cases[] = {
        {"BTCUSDT_260327", 0, 0, 1, CPO_SETTLE_LINEAR, 1, "BTC", "USDT", "2026-03-27T08:00:00Z", ""},
        {"BTCUSD_260327", 0, 0, 1, CPO_SETTLE_INVERSE, 100, "BTC", "USD", "2026-03-27T08:00:00Z", ""},
        {"ETHUSD_260626", 0, 0, 1, CPO_SETTLE_INVERSE, 10, "ETH", "USD", "2026-06-26T08:00:00Z", ""},
        {"1000PEPEUSDT_260327", 0, 0, 1, CPO_SETTLE_LINEAR, 1, "1000PEPE", "USDT",
         "2026-03-27T08:00:00Z", ""},
        {"BTCUSDT_260424", 0, 0, 0, CPO_SETTLE_LINEAR, 1, "BTC", "USDT", "2026-04-24T08:00:00Z", ""},
        {"BTCUSDT_260326", 0, -2, 0, 0, 0, "", "", "", "2026-03-26, a Thursday"},
        {"BTCUSDT_261327", 0, -1, 0, 0, 0, "", "", "", "date \"261327\" (expected YYMMDD)"},
        {"BTCUSDT_2603", 0, -1, 0, 0, 0, "", "", "", "date \"2603\" (expected YYMMDD)"},
        {"ETHBTC_260327", 0, -1, 0, 0, 0, "", "", "", "pair \"ETHBTC\""},
        {"USDT_260327", 0, -1, 0, 0, 0, "", "", "", "pair \"USDT\""},
        {"BTCUSDT260327", 0, -1, 0, 0, 0, "", "", "", "no '_' between the pair and the date"},
        {"BTC-27MAR26", 1, 0, 0, CPO_SETTLE_INVERSE, 10, "BTC", "USD", "2026-03-27T08:00:00Z", ""},
        {"ETH-3APR26", 1, 0, 0, CPO_SETTLE_INVERSE, 1, "ETH", "USD", "2026-04-03T08:00:00Z", ""},
        {"SOL-27MAR26", 1, 0, 0, CPO_SETTLE_INVERSE, 0, "SOL", "USD", "2026-03-27T08:00:00Z", ""},
        {"BTC-31FEB26", 1, -1, 0, 0, 0, "", "", "", "expiry date \"31FEB26\""},
        {"BTC-27MAR", 1, -1, 0, 0, 0, "", "", "", "expiry date \"27MAR\""},
        {"btc-27MAR26", 1, -1, 0, 0, 0, "", "", "", "coin \"btc\""},
        {"BTC-27MAR26-80000-C", 1, -1, 0, 0, 0, "", "", "", "expiry date \"27MAR26-80000-C\""},
        {"BTCPERPETUAL", 1, -1, 0, 0, 0, "", "", "", "no '-' between the coin and the date"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cpo_instrument in;
        char why[160] = "";
        int q = -1;
        const char *n = cases[i].name;
        int rc = cases[i].deribit ? cpo_future_deribit(n, strlen(n), &in, why, sizeof why)
                                  : cpo_future_binance(n, strlen(n), &in, &q, why, sizeof why);
        ck_assert_msg(rc == cases[i].rc, "%s: rc %d (%s)", n, rc, why);
        if (rc) {
            ck_assert_str_eq(why, cases[i].why);
            continue;
        }
        ck_assert_str_eq(in.symbol, n);
        ck_assert_int_eq(in.kind, CPO_KIND_FUTURE);
        ck_assert_int_eq(in.settle, cases[i].settle);
        ck_assert_double_eq(in.contract_size, cases[i].size);
        ck_assert_str_eq(in.base, cases[i].base);
        ck_assert_str_eq(in.underlying, cases[i].base);
        ck_assert_str_eq(in.quote, cases[i].quote);
        ck_assert_str_eq(in.exchange, cases[i].deribit ? "deribit" : "binance");
        ck_assert_int_eq(in.expiry_ms, iso(cases[i].expiry));
        ck_assert_int_eq(in.funding_interval_ms, 0);
        if (!cases[i].deribit)
            ck_assert_int_eq(q, cases[i].quarterly);
    }
}
END_TEST

/* The fixture tests/data/futures/BTCUSDT_260327_1h.csv (synthetic values):
 * the 4 hourly bars before the 2026-03-27 08:00 delivery; and the COIN-M
 * daily file, whose volume counts contracts and base_asset_volume coins. */
START_TEST(test_delivery_klines)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_delivery_klines, tu_data("futures/BTCUSDT_260327_1h.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const cpo_instrument *in = &r.c.instr;
    ck_assert_str_eq(in->symbol, "BTCUSDT_260327");
    ck_assert_int_eq(in->kind, CPO_KIND_FUTURE);
    ck_assert_int_eq(in->settle, CPO_SETTLE_LINEAR);
    ck_assert_int_eq(in->expiry_ms, iso("2026-03-27T08:00:00Z"));
    ck_assert_uint_eq(r.c.bars.n, 4);
    ck_assert_int_eq(r.c.bars.ts[3], iso("2026-03-27T07:00:00Z"));
    ck_assert_double_eq(r.c.bars.close[3], 87095.3);
    ck_assert_double_eq(r.c.bars.volume[0], 152.3);
    ck_assert_uint_eq(r.rep.n_issues, 0); /* a quarterly: no warning */
    run_fini(&r);

    run_init(&r);
    rc = run_reader(&r, cpo_read_delivery_klines, tu_data("futures/BTCUSD_260327_1d.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.instr.settle, CPO_SETTLE_INVERSE);
    ck_assert_double_eq(r.c.instr.contract_size, 100);
    ck_assert_str_eq(r.c.instr.quote, "USD");
    ck_assert_uint_eq(r.c.bars.n, 3);
    ck_assert_int_eq(r.c.bars.ts[0], iso("2026-03-24"));
    ck_assert_double_eq(r.c.bars.volume[0], 138.7283237); /* base_asset_volume, not 120000 */
    ck_assert_double_eq(r.c.bars.volume[2], 163.66237482);
    run_fini(&r);

    /* a Friday that is not a quarterly expiry: kept, with a warning */
    run_init(&r);
    r.o.symbol = "BTCUSDT_260424";
    rc = run_reader(&r, cpo_read_delivery_klines, tu_data("futures/BTCUSDT_260327_1h.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const cpo_import_issue *is = find_issue(&r, CPO_ISSUE_WARNING);
    ck_assert_ptr_nonnull(is);
    ck_assert_str_eq(is->msg, "BTCUSDT_260424 expires 2026-04-24T08:00:00Z, which is not the last "
                              "Friday of March, June, September or December (Binance's quarterly "
                              "expiries)");
    run_fini(&r);

    /* --symbol decides, lower case is fine; --exchange and --contract-size override */
    run_init(&r);
    r.o.symbol = "ethusd_260327";
    r.o.exchange = "binance-cm";
    r.o.contract_size = 20;
    rc = run_reader(&r, cpo_read_delivery_klines, tu_data("futures/BTCUSD_260327_1d.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_str_eq(r.c.instr.symbol, "ETHUSD_260327");
    ck_assert_str_eq(r.c.instr.exchange, "binance-cm");
    ck_assert_double_eq(r.c.instr.contract_size, 20);
    run_fini(&r);
}
END_TEST

/* Deribit's chart data (tests/data/futures, synthetic values) as CSV and as
 * the API's JSON response; Deribit's volume is in the coin. */
START_TEST(test_deribit_futures)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_deribit_futures, tu_data("futures/deribit_BTC-27MAR26_1h.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_str_eq(r.c.instr.symbol, "BTC-27MAR26");
    ck_assert_int_eq(r.c.instr.settle, CPO_SETTLE_INVERSE);
    ck_assert_double_eq(r.c.instr.contract_size, 10);
    ck_assert_uint_eq(r.c.bars.n, 3);
    ck_assert_int_eq(r.c.bars.ts[0], iso("2026-03-26T10:00:00Z"));
    ck_assert_double_eq(r.c.bars.low[1], 86900.0);
    ck_assert_double_eq(r.c.bars.volume[1], 9.75);
    run_fini(&r);

    run_init(&r);
    rc = run_reader(&r, cpo_read_deribit_futures, tu_data("futures/deribit_ETH-27MAR26_1h.json"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_str_eq(r.c.instr.symbol, "ETH-27MAR26");
    ck_assert_double_eq(r.c.instr.contract_size, 1);
    ck_assert_uint_eq(r.c.bars.n, 3);
    ck_assert_int_eq(r.c.bars.ts[2], iso("2026-03-26T12:00:00Z"));
    ck_assert_double_eq(r.c.bars.open[1], 2061.0);
    ck_assert_double_eq(r.c.bars.high[1], 2064.75);
    ck_assert_double_eq(r.c.bars.low[2], 2051.0);
    ck_assert_double_eq(r.c.bars.close[2], 2052.5);
    ck_assert_double_eq(r.c.bars.volume[0], 120.5);
    ck_assert_nan(r.c.bars.volume[2]); /* null */
    ck_assert_nan(r.c.bars.mark[0]);
    /* each bar's line: its "ticks" element (lines 10-12 of the file) */
    ck_assert_uint_eq(r.c.n_line, 3);
    ck_assert_int_eq(r.c.line[0], 10);
    ck_assert_int_eq(r.c.line[2], 12);
    run_fini(&r);

    /* lenient: the bad bar goes */
    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    char path[1024];
    snprintf(path, sizeof path, "%s/bad/deribit_futures_ETH-27MAR26_string_price.json",
             CPO_TEST_DATA);
    rc = run_reader(&r, cpo_read_deribit_futures, path);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.bars.n, 1);
    ck_assert_uint_eq(r.rep.dropped, 1);
    const cpo_import_issue *is = find_issue(&r, CPO_ISSUE_REPAIRED);
    ck_assert_ptr_nonnull(is);
    ck_assert_int_eq(is->line, 6);
    ck_assert_int_eq(is->col, 21);
    ck_assert_str_eq(is->msg, "close[1]: value is a string (expected a number); bar dropped");
    run_fini(&r);
}
END_TEST

/* tests/data/futures/weekly_futures_20260102.csv: rows copied unchanged from
 * the bundled snapshot deribit_options_snapshot_20260102T091809Z.csv (2 of
 * SYN.BTC-3JAN26, 4 of BTC-27MAR26, 3 of ETH-27MAR26, 1 of BTC-9JAN26), all
 * at 2026-01-02T09:18:09.153333Z.  By hand: BTC-27MAR26 futures_price
 * 89929.44, 89929.5, 89929.5, 89929.5 -> median (89929.5 + 89929.5) / 2 =
 * 89929.5; index_price 89015.38 x3, 89016.93 -> 89015.38; ETH-27MAR26
 * 3059.52 x3 -> 3059.52, index 3033.65; BTC-9JAN26 89158.34, 89016.93. */
START_TEST(test_chain_futures)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_chain_futures, tu_data("futures/weekly_futures_20260102.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.stage, CPO_STAGE_SETS);
    ck_assert_uint_eq(r.rep.rows_read, 10);
    ck_assert_uint_eq(r.c.n_sets, 3);
    static const struct {
        const char *sym, *expiry;
        double size, px, index;
        long line;
    } want[] = {
        {"BTC-27MAR26", "2026-03-27T08:00:00Z", 10, 89929.5, 89015.38, 4},
        {"BTC-9JAN26", "2026-01-09T08:00:00Z", 10, 89158.34, 89016.93, 11},
        {"ETH-27MAR26", "2026-03-27T08:00:00Z", 1, 3059.52, 3033.65, 8},
    };
    for (size_t k = 0; k < 3; k++) {
        const cpo_bar_set *set = &r.c.sets[k];
        ck_assert_str_eq(set->instr.symbol, want[k].sym);
        ck_assert_int_eq(set->instr.kind, CPO_KIND_FUTURE);
        ck_assert_int_eq(set->instr.settle, CPO_SETTLE_INVERSE);
        ck_assert_str_eq(set->instr.exchange, "deribit");
        ck_assert_str_eq(set->instr.quote, "USD");
        ck_assert_int_eq(set->instr.expiry_ms, iso(want[k].expiry));
        ck_assert_double_eq(set->instr.contract_size, want[k].size);
        ck_assert_int_eq(set->bars.bar_ms, CPO_MS_HOUR);
        ck_assert_uint_eq(set->bars.n, 1);
        ck_assert_int_eq(set->bars.ts[0], iso("2026-01-02T09:00:00Z"));
        ck_assert_double_eq(set->bars.open[0], want[k].px);
        ck_assert_double_eq(set->bars.high[0], want[k].px);
        ck_assert_double_eq(set->bars.low[0], want[k].px);
        ck_assert_double_eq(set->bars.close[0], want[k].px);
        ck_assert_double_eq(set->bars.index[0], want[k].index);
        ck_assert_nan(set->bars.volume[0]);
        ck_assert_nan(set->bars.mark[0]);
        ck_assert_int_eq(set->line[0], want[k].line);
    }
    const cpo_import_issue *is = find_issue(&r, CPO_ISSUE_INFO);
    ck_assert_ptr_nonnull(is);
    ck_assert_str_eq(is->msg, "layout: weekly snapshot (timestamp,instrument_name,...,"
                              "implied_volatility; IV decimal)");
    ck_assert_str_eq(r.rep.issues[1].msg, "8 quotes of 3 futures: 3 hourly bars at the median "
                                          "futures_price of each snapshot; 2 rows of synthetic "
                                          "futures (SYN.*) skipped");
    run_fini(&r);

    /* the averaged median: two BTC-27MAR26 rows of the 2026-01-09 snapshot,
     * index_price 90146.56 and 90159.05 -> (90146.56 + 90159.05) / 2 */
    run_init(&r);
    rc = run_reader(&r, cpo_read_chain_futures, tu_data("futures/weekly_futures_20260109.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.n_sets, 1);
    ck_assert_double_eq(r.c.sets[0].bars.close[0], 91082.13);
    ck_assert_double_eq_tol(r.c.sets[0].bars.index[0], (90146.56 + 90159.05) / 2, 1e-9);
    run_fini(&r);

    /* --underlying ETH keeps the ETH futures */
    run_init(&r);
    r.o.symbol = "eth";
    rc = run_reader(&r, cpo_read_chain_futures, tu_data("futures/weekly_futures_20260102.csv"));
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.n_sets, 1);
    ck_assert_str_eq(r.c.sets[0].instr.symbol, "ETH-27MAR26");
    ck_assert_str_eq(r.rep.issues[r.rep.n_issues - 1].msg,
                     "kept the ETH futures; skipped 7 rows of other underlyings (BTC)");
    run_fini(&r);
    run_init(&r);
    r.o.symbol = "SOL";
    rc = run_reader(&r, cpo_read_chain_futures, tu_data("futures/weekly_futures_20260102.csv"));
    ck_assert_int_eq(rc, CPO_ENOTFOUND);
    ck_assert_str_eq(r.err.msg, "the file holds no SOL futures, only BTC, ETH (expected "
                                "--underlying BTC or ETH)");
    run_fini(&r);

    /* a layout without futures */
    run_init(&r);
    rc = run_reader(&r, cpo_read_chain_futures, tu_data("chains/soldnn_btc_2024.csv"));
    ck_assert_int_eq(rc, CPO_EFORMAT);
    ck_assert_str_eq(r.err.msg, "the 2024 chain (option_type,strike,creation,maturity,...; IV "
                                "percent, no snapshot time) names no futures (expected the weekly "
                                "snapshot layout: timestamp, futures_instrument_name, "
                                "futures_price, index_price, currency)");
    run_fini(&r);

    /* lenient: a bad row goes, the rest is kept */
    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    char path[1024];
    snprintf(path, sizeof path, "%s/bad/chain_futures_zero_price.csv", CPO_TEST_DATA);
    rc = run_reader(&r, cpo_read_chain_futures, path);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.n_sets, 1);
    ck_assert_double_eq(r.c.sets[0].bars.close[0], 89929.44); /* the one row left */
    ck_assert_uint_eq(r.rep.dropped, 1);
    is = find_issue(&r, CPO_ISSUE_REPAIRED);
    ck_assert_ptr_nonnull(is);
    ck_assert_str_eq(is->msg, "futures_price 0 is not a positive price (expected a price above "
                              "0); row dropped");
    run_fini(&r);
}
END_TEST

/* --- bad input: the exact message of each file ----------------------------------- */

typedef struct bad_case {
    const char *file;
    reader_fn fn;
    int code;
    const char *msg; /* after the path */
} bad_case;

static const bad_case bad_cases[] = {
    {"funding_no_rate_column.csv", cpo_read_binance_funding, CPO_EFORMAT,
     ":1: missing column \"fundingRate\" (expected one of the layouts "
     "fundingTime,symbol,fundingRate[,markPrice] | timestamp,symbol,funding_rate | "
     "Symbol,Date,Funding Rate)"},
    {"funding_no_time_column.csv", cpo_read_binance_funding, CPO_EFORMAT,
     ":1: missing column \"fundingTime\" (expected columns: fundingTime,symbol,fundingRate)"},
    {"funding_bad_rate.csv", cpo_read_binance_funding, CPO_EDATA,
     ":3:3: fundingRate \"0.000x1\" is not a number (expected a decimal number)"},
    {"funding_mixed_symbols.csv", cpo_read_binance_funding, CPO_EDATA,
     ":3:2: symbol \"ETHUSDT\" differs from \"BTCUSDT\" on line 2 (expected one instrument "
     "per file)"},
    {"funding_bad_date.csv", cpo_read_binance_funding, CPO_EDATA,
     ":3:2: Date \"2020-01-01 27:00:00.000\" is not a time (expected an ISO 8601 date or "
     "date-time)"},
    {"funding_short_row.csv", cpo_read_binance_funding, CPO_EDATA,
     ":3:2: row has 2 fields (expected at least 4, as in the header)"},
    {"funding_bad_mark.csv", cpo_read_binance_funding, CPO_EDATA,
     ":2:4: markPrice \"-42313.9\" is not positive (expected a price > 0)"},
    {"funding_empty.csv", cpo_read_binance_funding, CPO_EFORMAT,
     ": file is empty (expected a header line)"},
    {"funding_json_malformed.json", cpo_read_binance_funding_json, CPO_EPARSE,
     ":7:3: ']' expected near '{' (expected a JSON array)"},
    {"funding_json_object.json", cpo_read_binance_funding_json, CPO_EFORMAT,
     ":1:1: top-level value is an object (expected a JSON array)"},
    {"funding_json_bad_rate.json", cpo_read_binance_funding_json, CPO_EDATA,
     ":7:3: element 2: funding_rate \"abc\" is not a number (expected a decimal number)"},
    {"funding_json_no_time.json", cpo_read_binance_funding_json, CPO_EDATA,
     ":3:3: element 2: no \"time\" (expected ms since 1970)"},
    {"funding_json_mixed_coins.json", cpo_read_binance_funding_json, CPO_EDATA,
     ":3:3: element 2: coin \"ETH\" differs from \"BTC\" in element 1 (expected one coin per "
     "file)"},
    {"bitmex_bad_interval.csv", cpo_read_bitmex_funding, CPO_EDATA,
     ":3:3: fundingInterval \"8 hours\" is not an interval (expected a time after "
     "2000-01-01T00:00:00Z encoding the interval, such as 2000-01-01T08:00:00Z for 8h)"},
    {"bitmex_no_interval_column.csv", cpo_read_bitmex_funding, CPO_EFORMAT,
     ":1: missing column \"fundingInterval\" (expected columns: "
     "timestamp,symbol,fundingInterval,fundingRate)"},
    {"bitmex_bad_time.csv", cpo_read_bitmex_funding, CPO_EDATA,
     ":3:1: timestamp \"2016-06-04 20h\" is not a time (expected an ISO 8601 date or "
     "date-time)"},
    {"deribit_funding_no_timestamp.csv", cpo_read_deribit_funding, CPO_EFORMAT,
     ":1: missing column \"timestamp\" (expected columns: timestamp,interest_1h)"},
    {"deribit_funding_bad_index.csv", cpo_read_deribit_funding, CPO_EDATA,
     ":3:6: index_price \"0\" is not positive (expected a price > 0)"},
    {"deribit_funding_empty_rate.csv", cpo_read_deribit_funding, CPO_EDATA,
     ":2:5: interest_1h is empty (expected a number)"},
    {"dvol_nonpositive.csv", cpo_read_dvol, CPO_EDATA,
     ":3:6: close \"0\" is not positive (expected vol points > 0)"},
    {"dvol_bad_iso_date.csv", cpo_read_dvol, CPO_EDATA,
     ":2:2: iso_date \"04/10/2024\" is not a time (expected an ISO 8601 date or date-time)"},
    {"dvol_no_close_column.csv", cpo_read_dvol, CPO_EFORMAT,
     ":1: missing column \"close\" (expected columns: timestamp_ms|timestamp,close)"},
    {"dvol_json_shape.json", cpo_read_dvol, CPO_EDATA,
     ":3:3: element 2: array has 1 item (expected [ms, close])"},
    {"dvol_json_truncated.json", cpo_read_dvol, CPO_EPARSE,
     ":4: ']' expected near end of file (expected a JSON array)"},
    {"dvol_json_string_time.json", cpo_read_dvol, CPO_EDATA,
     ":3:3: element 2: time is a string (expected ms since 1970)"},
    {"cmc_no_price_column.csv", cpo_read_cmc, CPO_EFORMAT,
     ":1: missing column \"Price\" (expected columns: Rank,Name,Symbol,Market Cap,Price,"
     "snapshot_date)"},
    {"cmc_bad_rank.csv", cpo_read_cmc, CPO_EDATA,
     ":3:1: Rank \"#2\" is not a rank (expected a whole number >= 1)"},
    {"cmc_empty_market_cap.csv", cpo_read_cmc, CPO_EDATA,
     ":2:4: Market Cap is empty (expected a number)"},
    {"cmc_bad_date.csv", cpo_read_cmc, CPO_EDATA,
     ":2:11: snapshot_date \"2020-13-01\" is not a time (expected an ISO 8601 date or "
     "date-time)"},
    /* dated futures (read_futures.c, read_chain.c) */
    {"delivery_BTCUSDT_260326.csv", cpo_read_delivery_klines, CPO_EINVAL,
     ": symbol \"BTCUSDT_260326\" expires 2026-03-26, a Thursday (expected a Friday: Binance's "
     "futures expire on Fridays at 08:00 UTC, the quarterlies on the last Friday of March, June, "
     "September and December)"},
    {"delivery_BTCUSDT_260327_after_expiry.csv", cpo_read_delivery_klines, CPO_EDATA,
     ":6:1: timestamp 2026-03-27T08:00:00Z is at or after the expiry of BTCUSDT_260327, "
     "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"delivery_ETHBTC_260327.csv", cpo_read_delivery_klines, CPO_EINVAL,
     ": symbol \"ETHBTC_260327\" is not a Binance delivery future: bad pair \"ETHBTC\" (expected "
     "PAIR_YYMMDD with PAIR ending in USDT (USD-M) or USD (COIN-M), e.g. BTCUSDT_260327)"},
    {"delivery_1h.csv", cpo_read_delivery_klines, CPO_EINVAL,
     ": cannot tell the future from the file name \"delivery_1h.csv\" (expected a name holding "
     "BTCUSDT_260327 or BTCUSD_260327; or pass --symbol)"},
    {"deribit_futures_BTC-27MAR26_at_expiry.csv", cpo_read_deribit_futures, CPO_EDATA,
     ":5:1: ticks 2026-03-27T08:00:00Z is at or after the expiry of BTC-27MAR26, "
     "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"deribit_futures_SOL-27MAR26.csv", cpo_read_deribit_futures, CPO_EINVAL,
     ": no contract size is known for SOL-27MAR26 (expected --contract-size N in USD: Deribit's "
     "inverse futures are BTC, 10 USD, and ETH, 1 USD)"},
    {"deribit_futures_ETH-27MAR26_at_expiry.json", cpo_read_deribit_futures, CPO_EDATA,
     ":1:27: ticks 2026-03-27T08:00:00Z is at or after the expiry of ETH-27MAR26, "
     "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"deribit_futures_ETH-27MAR26_length.json", cpo_read_deribit_futures, CPO_EFORMAT,
     ": \"close\" has 1 value, \"ticks\" 2 (expected arrays of one length)"},
    {"deribit_futures_ETH-27MAR26_string_price.json", cpo_read_deribit_futures, CPO_EDATA,
     ":6:21: close[1]: value is a string (expected a number)"},
    {"deribit_futures_ETH-27MAR26_no_data.json", cpo_read_deribit_futures, CPO_EDATA,
     ": status is \"no_data\" (expected \"ok\": the API returned no bars)"},
    {"chain_futures_currency.csv", cpo_read_chain_futures, CPO_EDATA,
     ":3:21: currency ETH disagrees with futures_instrument_name \"BTC-27MAR26\" (expected BTC)"},
    {"chain_futures_bad_name.csv", cpo_read_chain_futures, CPO_EDATA,
     ":3:14: futures_instrument_name \"BTC-27MAR\" is not a Deribit future name: bad expiry date "
     "\"27MAR\" (expected COIN-DMMMYY such as BTC-27MAR26, or SYN.COIN-DMMMYY)"},
    {"chain_futures_zero_price.csv", cpo_read_chain_futures, CPO_EDATA,
     ":3:13: futures_price 0 is not a positive price (expected a price above 0)"},
    {"chain_futures_bad_index.csv", cpo_read_chain_futures, CPO_EDATA,
     ":3:22: index_price -1 is not a positive price (expected a price above 0, or blank)"},
    {"chain_futures_expired.csv", cpo_read_chain_futures, CPO_EDATA,
     ":2:1: timestamp 2026-03-27T09:47:09.686Z is at or after the expiry of BTC-27MAR26, "
     "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data disagree "
     "with the symbol)"},
    {"chain_futures_only_synthetic.csv", cpo_read_chain_futures, CPO_EDATA,
     ": no listed futures in the file: 2 rows name synthetic ones (SYN.*), which are skipped "
     "(expected rows of a future such as BTC-27MAR26)"},
    {"chain_futures_header_only.csv", cpo_read_chain_futures, CPO_EDATA,
     ": no data rows (expected at least one row)"},
};

START_TEST(test_bad_input)
{
    const bad_case *bc = &bad_cases[_i];
    char path[1024], want[2048];
    snprintf(path, sizeof path, "%s/bad/%s", CPO_TEST_DATA, bc->file);
    snprintf(want, sizeof want, "%s%s", path, bc->msg);
    run r;
    run_init(&r);
    int rc = run_reader(&r, bc->fn, path);
    ck_assert_msg(rc == bc->code, "%s: rc %d (%s), expected %d", bc->file, rc,
                  tu_errstr(&r.err), bc->code);
    ck_assert_int_eq(r.err.code, bc->code);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);
}
END_TEST

START_TEST(test_bad_files_listed)
{
    /* every bad file of these formats has a case */
    static const char *const prefixes[] = {"funding_", "bitmex_", "deribit_funding_", "dvol_",
                                           "cmc_", "delivery_", "deribit_futures_",
                                           "chain_futures_"};
    size_t n = sizeof bad_cases / sizeof *bad_cases;
    ck_assert_uint_ge(n, 10);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        struct stat sb;
        snprintf(path, sizeof path, "%s/bad/%s", CPO_TEST_DATA, bad_cases[i].file);
        ck_assert_msg(stat(path, &sb) == 0, "missing %s", path);
        int ok = 0;
        for (size_t k = 0; k < sizeof prefixes / sizeof *prefixes; k++)
            ok |= !strncmp(bad_cases[i].file, prefixes[k], strlen(prefixes[k]));
        ck_assert_msg(ok, "%s has no reader prefix", bad_cases[i].file);
    }
}
END_TEST

/* --- lenient mode ------------------------------------------------------------------- */

START_TEST(test_lenient_drops_rows)
{
    run r;
    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    char path[1024];
    snprintf(path, sizeof path, "%s/bad/funding_bad_rate.csv", CPO_TEST_DATA);
    int rc = run_reader(&r, cpo_read_binance_funding, path);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.funding.n, 2);
    ck_assert_uint_eq(r.rep.rows_read, 3);
    ck_assert_uint_eq(r.rep.dropped, 1);
    ck_assert_int_eq(r.c.line[1], 4);
    ck_assert_uint_eq(count_issues(&r, CPO_ISSUE_REPAIRED), 1);
    const cpo_import_issue *is = find_issue(&r, CPO_ISSUE_REPAIRED);
    ck_assert_int_eq(is->line, 3);
    ck_assert_int_eq(is->col, 3);
    ck_assert_int_eq(is->code, CPO_EDATA);
    ck_assert_str_eq(is->msg,
                     "fundingRate \"0.000x1\" is not a number (expected a decimal number); row "
                     "dropped");
    run_fini(&r);

    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    snprintf(path, sizeof path, "%s/bad/funding_mixed_symbols.csv", CPO_TEST_DATA);
    rc = run_reader(&r, cpo_read_binance_funding, path);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.funding.n, 1);
    is = find_issue(&r, CPO_ISSUE_REPAIRED);
    ck_assert_ptr_nonnull(is);
    ck_assert_str_eq(is->msg, "symbol \"ETHUSDT\" differs from \"BTCUSDT\" on line 2 (expected "
                              "one instrument per file); row dropped");
    run_fini(&r);

    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    snprintf(path, sizeof path, "%s/bad/funding_json_bad_rate.json", CPO_TEST_DATA);
    rc = run_reader(&r, cpo_read_binance_funding_json, path);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.funding.n, 1);
    is = find_issue(&r, CPO_ISSUE_REPAIRED);
    ck_assert_ptr_nonnull(is);
    ck_assert_int_eq(is->line, 7);
    ck_assert_int_eq(is->col, 3);
    ck_assert_str_eq(is->msg, "element 2: funding_rate \"abc\" is not a number (expected a "
                              "decimal number); element dropped");
    run_fini(&r);

    /* structural problems stay fatal in lenient mode */
    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    snprintf(path, sizeof path, "%s/bad/funding_json_object.json", CPO_TEST_DATA);
    rc = run_reader(&r, cpo_read_binance_funding_json, path);
    ck_assert_int_eq(rc, CPO_EFORMAT);
    run_fini(&r);

    /* every row dropped: nothing to import */
    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    snprintf(path, sizeof path, "%s/bad/cmc_empty_market_cap.csv", CPO_TEST_DATA);
    rc = run_reader(&r, cpo_read_cmc, path);
    ck_assert_int_eq(rc, CPO_EDATA);
    snprintf(path, sizeof path, "%s/bad/cmc_empty_market_cap.csv: no usable rows: all 1 row was "
                                "dropped (expected at least one valid row)",
             CPO_TEST_DATA);
    ck_assert_str_eq(tu_errstr(&r.err), path);
    run_fini(&r);
}
END_TEST

START_TEST(test_missing_file)
{
    run r;
    run_init(&r);
    int rc = run_reader(&r, cpo_read_dvol, "/nonexistent/dvol.json");
    ck_assert_int_eq(rc, CPO_EIO);
    run_fini(&r);
    run_init(&r);
    rc = run_reader(&r, cpo_read_binance_funding_json, "/nonexistent/f.json");
    ck_assert_int_eq(rc, CPO_EIO);
    ck_assert_str_eq(tu_errstr(&r.err),
                     "/nonexistent/f.json: cannot open: No such file or directory (expected a "
                     "readable file)");
    run_fini(&r);
}
END_TEST

/* --- the real files -------------------------------------------------------------------- */

#define REAL_DIR TU_REAL_DIR

typedef struct real_case {
    const char *file;
    reader_fn fn;
    const char *tz;
    size_t rows;
    const char *first, *last; /* after sorting by time */
    const char *symbol;       /* instrument or index name; NULL for caps */
} real_case;

static const real_case real_cases[] = {
    {"perp/binance_btcusdt_funding_8h.csv", cpo_read_binance_funding, NULL, 2761,
     "2024-01-01T00:00:00Z", "2026-07-09T00:00:00Z", "BTCUSDT"},
    {"perp/binance_ethusdt_funding_8h.csv", cpo_read_binance_funding, NULL, 2761,
     "2024-01-01T00:00:00Z", "2026-07-09T00:00:00Z", "ETHUSDT"},
    {"perp/binance_solusdt_funding_8h.csv", cpo_read_binance_funding, NULL, 2761,
     "2024-01-01T00:00:00Z", "2026-07-09T00:00:00Z", "SOLUSDT"},
    {"perp/BTC-USDT_binance_2020-01-01_2024-01-01_funding_history.csv", cpo_read_binance_funding,
     "+03:00", 4383, "2020-01-01T00:00:00Z", "2023-12-31T16:00:00Z", "BTCUSDT"},
    {"perp/ETH-USDT_binance_2020-01-01_2024-01-01_funding_history.csv", cpo_read_binance_funding,
     "+03:00", 4383, "2020-01-01T00:00:00Z", "2023-12-31T16:00:00Z", "ETHUSDT"},
    {"perp/BTC-USDT_bybit_2021-01-01_2024-01-01_funding_history.csv", cpo_read_binance_funding,
     "+03:00", 3285, "2021-01-01T00:00:00Z", "2023-12-31T16:00:00Z", "BTCUSDT"},
    {"perp/ETH-USDT_bybit_2021-01-01_2024-01-01_funding_history.csv", cpo_read_binance_funding,
     "+03:00", 3285, "2021-01-01T00:00:00Z", "2023-12-31T16:00:00Z", "ETHUSDT"},
    {"perp/binance_BTC_funding_rates.json", cpo_read_binance_funding_json, NULL, 4377,
     "2022-01-01T00:00:00Z", "2025-12-29T16:00:00Z", "BTCUSDT"},
    {"perp/binance_ETH_funding_rates.json", cpo_read_binance_funding_json, NULL, 4377,
     "2022-01-01T00:00:00Z", "2025-12-29T16:00:00Z", "ETHUSDT"},
    {"perp/binance_usdm_funding_recent/BTCUSDT.csv", cpo_read_binance_funding, NULL, 200,
     "2026-01-12T16:00:00Z", "2026-03-20T00:00:00Z", "BTCUSDT"},
    {"perp/binance_usdm_funding_recent/SOLUSDT.csv", cpo_read_binance_funding, NULL, 200,
     "2026-01-12T16:00:00Z", "2026-03-20T00:00:00Z", "SOLUSDT"},
    {"perp/bitmex_xbtusd_funding_data.csv", cpo_read_bitmex_funding, NULL, 4866,
     "2016-05-14T12:00:00Z", "2020-11-05T04:00:00Z", "XBTUSD"},
    {"perp/deribit_btc_perpetual_history.csv", cpo_read_deribit_funding, NULL, 16008,
     "2019-04-30T10:00:00Z", "2021-02-25T11:00:00Z", "BTC-PERPETUAL"},
    {"options/deribit_btc_dvol_daily.csv", cpo_read_dvol, NULL, 641, "2024-10-04", "2026-07-06",
     "BTC-DVOL"},
    {"options/dvol_btc.json", cpo_read_dvol, NULL, 1102, "2022-11-06", "2025-11-12",
     "BTC-DVOL"},
    {"index/coinmarketcap_monthly_all_snapshots.csv", cpo_read_cmc, NULL, 14000, "2020-01-01",
     "2025-10-01", NULL},
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(test_real_files)
{
    const real_case *rc_ = &real_cases[_i];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", REAL_DIR, rc_->file);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return; /* the real data is not part of the repository */
    run r;
    run_init(&r);
    if (rc_->tz)
        ck_assert_int_eq(cpo_tz_parse(rc_->tz, &r.o.tz), 0);
    int rc = run_reader(&r, rc_->fn, path);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
    const int64_t *ts = r.c.stage == CPO_STAGE_FUNDING ? r.c.funding.ts
                        : r.c.stage == CPO_STAGE_IV    ? r.c.iv.ts
                                                       : r.c.caps.ts;
    size_t n = r.c.stage == CPO_STAGE_FUNDING ? r.c.funding.n
               : r.c.stage == CPO_STAGE_IV    ? r.c.iv.n
                                              : r.c.caps.n;
    ck_assert_msg(n == rc_->rows, "%s: %zu rows, expected %zu", rc_->file, n, rc_->rows);
    ck_assert_uint_eq(r.c.n_line, n);
    ck_assert_uint_eq(r.rep.rows_read, n);
    int64_t *s = malloc(n * sizeof *s);
    ck_assert_ptr_nonnull(s);
    memcpy(s, ts, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_i64);
    /* Binance stamps funding a few ms after the mark */
    ck_assert_int_ge(s[0], iso(rc_->first));
    ck_assert_int_lt(s[0], iso(rc_->first) + CPO_MS_SECOND);
    ck_assert_int_ge(s[n - 1], iso(rc_->last));
    ck_assert_int_lt(s[n - 1], iso(rc_->last) + CPO_MS_SECOND);
    free(s);
    if (r.c.stage == CPO_STAGE_FUNDING)
        ck_assert_str_eq(r.c.instr.symbol, rc_->symbol);
    else if (r.c.stage == CPO_STAGE_IV)
        ck_assert_str_eq(r.c.iv.name, rc_->symbol);
    /* no warnings on the real files, given the right zone */
    ck_assert_msg(count_issues(&r, CPO_ISSUE_WARNING) ==
                      (r.c.stage == CPO_STAGE_CAPS ? 1u : 0u),
                  "%s: %zu warnings, the first: %s", rc_->file,
                  count_issues(&r, CPO_ISSUE_WARNING),
                  find_issue(&r, CPO_ISSUE_WARNING) ? find_issue(&r, CPO_ISSUE_WARNING)->msg
                                                    : "");
    if (rc_->fn == cpo_read_bitmex_funding) {
        ck_assert_uint_eq(count_issues(&r, CPO_ISSUE_INFO), 1);
        ck_assert_str_eq(find_issue(&r, CPO_ISSUE_INFO)->msg,
                         "funding interval changes from 1d to 8h at 2016-06-04T20:00:00Z");
        ck_assert_int_eq(r.c.instr.funding_interval_ms, 8 * CPO_MS_HOUR);
    }
    if (rc_->fn == cpo_read_deribit_funding) {
        /* data rows 4311/4312 (lines 4312/4313) are the out-of-order pair */
        size_t bad = 0, at = 0;
        for (size_t i = 1; i < n; i++)
            if (ts[i] <= ts[i - 1]) {
                bad++;
                at = i;
            }
        ck_assert_uint_eq(bad, 1);
        ck_assert_int_eq(r.c.line[at], 4313);
    }
    if (r.c.stage == CPO_STAGE_CAPS)
        ck_assert_str_eq(find_issue(&r, CPO_ISSUE_WARNING)->msg,
                         "Price is 0 in 12 rows, the first for BabyDoge (expected a positive "
                         "price; stored as missing)");
    run_fini(&r);
}
END_TEST

/* --- through cpo_import_file ---------------------------------------------------------- */

typedef struct imp_case {
    const char *file;
    cpo_format fmt;
    const char *tz;
    int sort;
    size_t rows;
    const char *first, *last;
} imp_case;

static const imp_case imp_cases[] = {
    {"perp/binance_btcusdt_funding_8h.csv", CPO_FMT_BINANCE_FUNDING, NULL, 0, 2761,
     "2024-01-01T00:00:00Z", "2026-07-09T00:00:00Z"},
    {"perp/BTC-USDT_binance_2020-01-01_2024-01-01_funding_history.csv",
     CPO_FMT_BINANCE_FUNDING, "+03:00", 0, 4383, "2020-01-01T00:00:00Z", "2023-12-31T16:00:00Z"},
    {"perp/ETH-USDT_bybit_2021-01-01_2024-01-01_funding_history.csv", CPO_FMT_BINANCE_FUNDING,
     "+03:00", 0, 3285, "2021-01-01T00:00:00Z", "2023-12-31T16:00:00Z"},
    {"perp/binance_BTC_funding_rates.json", CPO_FMT_BINANCE_FUNDING_JSON, NULL, 0, 4377,
     "2022-01-01T00:00:00Z", "2025-12-29T16:00:00Z"},
    {"perp/binance_usdm_funding_recent/ETHUSDT.csv", CPO_FMT_BINANCE_FUNDING, NULL, 0, 200,
     "2026-01-12T16:00:00Z", "2026-03-20T00:00:00Z"},
    {"perp/bitmex_xbtusd_funding_data.csv", CPO_FMT_BITMEX_FUNDING, NULL, 0, 4866,
     "2016-05-14T12:00:00Z", "2020-11-05T04:00:00Z"},
    {"perp/deribit_btc_perpetual_history.csv", CPO_FMT_DERIBIT_FUNDING, NULL, 1, 16008,
     "2019-04-30T10:00:00Z", "2021-02-25T11:00:00Z"},
    {"options/deribit_btc_dvol_daily.csv", CPO_FMT_DVOL, NULL, 0, 641, "2024-10-04",
     "2026-07-06"},
    {"options/dvol_btc.json", CPO_FMT_DVOL, NULL, 0, 1102, "2022-11-06", "2025-11-12"},
    {"index/coinmarketcap_monthly_all_snapshots.csv", CPO_FMT_CMC_MONTHLY, NULL, 0, 14000,
     "2020-01-01", "2025-10-01"},
};

static int import_one(cpo_dataset *ds, const char *path, const imp_case *ic, int auto_fmt,
                      cpo_import_report *rep, cpo_error *err)
{
    cpo_import_opts o;
    cpo_import_opts_init(&o);
    o.format = auto_fmt ? CPO_FMT_AUTO : ic->fmt;
    o.sort = ic->sort;
    if (ic->tz)
        ck_assert_int_eq(cpo_tz_parse(ic->tz, &o.tz), 0);
    return cpo_import_file(ds, path, &o, rep, err);
}

START_TEST(test_import_real)
{
    const imp_case *ic = &imp_cases[_i];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", REAL_DIR, ic->file);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return;
    for (int auto_fmt = 0; auto_fmt < 2; auto_fmt++) {
        cpo_dataset *ds = NULL;
        cpo_error err;
        cpo_error_clear(&err);
        ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
        cpo_import_report *rep = calloc(1, sizeof *rep);
        ck_assert_ptr_nonnull(rep);
        int rc = import_one(ds, path, ic, auto_fmt, rep, &err);
        ck_assert_msg(rc == 0, "%s (auto %d): %s", ic->file, auto_fmt, tu_errstr(&err));
        ck_assert_int_eq(rep->format, ic->fmt);
        ck_assert_uint_eq(rep->rows_read, ic->rows);
        ck_assert_uint_eq(rep->rows_kept, ic->rows);
        ck_assert_int_ge(rep->first_ms, iso(ic->first));
        ck_assert_int_lt(rep->first_ms, iso(ic->first) + CPO_MS_SECOND);
        ck_assert_int_ge(rep->last_ms, iso(ic->last));
        ck_assert_int_lt(rep->last_ms, iso(ic->last) + CPO_MS_SECOND);
        ck_assert_uint_eq(ds->n_prov, 1);
        if (ic->fmt == CPO_FMT_DERIBIT_FUNDING) {
            ck_assert_uint_eq(rep->reordered, 1);
            ck_assert_uint_eq(rep->gaps, 1); /* 2020-08-27 06:00-07:00 */
            ck_assert_uint_eq(rep->missing_steps, 2);
        }
        if (ic->fmt == CPO_FMT_BITMEX_FUNDING) {
            ck_assert_uint_eq(ds->n_instr, 1);
            ck_assert_int_eq(ds->instr[0].settle, CPO_SETTLE_INVERSE);
            ck_assert_int_eq(ds->instr[0].funding_interval_ms, 8 * CPO_MS_HOUR);
        }
        free(rep);
        cpo_dataset_free(ds);
    }
}
END_TEST

START_TEST(test_import_deribit_needs_sort)
{
    /* Without --sort the DST pair refuses the file in strict mode. */
    char path[1024];
    snprintf(path, sizeof path, "%s/deribit_funding_dst.csv", CPO_TEST_DATA);
    cpo_dataset *ds = NULL;
    cpo_error err;
    cpo_error_clear(&err);
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    cpo_import_report *rep = calloc(1, sizeof *rep);
    imp_case ic = {"", CPO_FMT_DERIBIT_FUNDING, NULL, 0, 0, NULL, NULL};
    int rc = import_one(ds, path, &ic, 0, rep, &err);
    ck_assert_int_eq(rc, CPO_EORDER);
    ck_assert_int_eq(err.line, 13);
    ck_assert_uint_eq(ds->n_instr, 0);
    ic.sort = 1;
    rc = import_one(ds, path, &ic, 0, rep, &err);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    ck_assert_uint_eq(rep->rows_kept, 14);
    ck_assert_uint_eq(ds->n_instr, 1);
    ck_assert_str_eq(ds->instr[0].symbol, "BTC-PERPETUAL");
    const cpo_funding *f = &ds->funding[0];
    ck_assert_uint_eq(f->n, 14);
    for (size_t i = 1; i < f->n; i++)
        ck_assert_int_eq(f->ts[i] - f->ts[i - 1], CPO_MS_HOUR);
    ck_assert_int_eq(f->ts[0], iso("2019-10-26T14:00:00Z"));
    free(rep);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_import_fixtures)
{
    /* every good fixture imports in strict mode, its format detected */
    static const imp_case fx[] = {
        {"funding_binance_8h.csv", CPO_FMT_BINANCE_FUNDING, NULL, 0, 5, NULL, NULL},
        {"funding_binance_recent.csv", CPO_FMT_BINANCE_FUNDING, NULL, 0, 3, NULL, NULL},
        {"funding_supervik_btc.csv", CPO_FMT_BINANCE_FUNDING, "+03:00", 0, 10, NULL, NULL},
        {"funding_binance.json", CPO_FMT_BINANCE_FUNDING_JSON, NULL, 0, 3, NULL, NULL},
        {"bitmex_funding.csv", CPO_FMT_BITMEX_FUNDING, NULL, 0, 7, NULL, NULL},
        {"deribit_funding.csv", CPO_FMT_DERIBIT_FUNDING, NULL, 0, 4, NULL, NULL},
        {"dvol_daily.csv", CPO_FMT_DVOL, NULL, 0, 4, NULL, NULL},
        {"dvol_btc.json", CPO_FMT_DVOL, NULL, 0, 3, NULL, NULL},
        {"cmc_snapshots.csv", CPO_FMT_CMC_MONTHLY, NULL, 0, 6, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof fx / sizeof *fx; i++) {
        cpo_dataset *ds = NULL;
        cpo_error err;
        cpo_error_clear(&err);
        ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
        cpo_import_report *rep = calloc(1, sizeof *rep);
        int rc = import_one(ds, tu_data(fx[i].file), &fx[i], 1, rep, &err);
        ck_assert_msg(rc == 0, "%s: %s", fx[i].file, tu_errstr(&err));
        ck_assert_msg(rep->format == fx[i].fmt, "%s: detected %s", fx[i].file,
                      cpo_format_name(rep->format));
        ck_assert_uint_eq(rep->rows_kept, fx[i].rows);
        free(rep);
        cpo_dataset_free(ds);
    }
}
END_TEST


/* --- mark-price klines (read_klines.c, cpo_read_mark_klines) ----------------------- */

/* The three layouts of tests/data/mark/ (synthetic, see its README) stage
 * the same rows: the mark's OHLC as written in the files, no volume, the
 * perpetual named by --symbol, and each row's own line. */
START_TEST(test_mark_klines_layouts)
{
    static const struct {
        const char *file;
        long first_line;
    } files[] = {{"mark_BTCUSDT_1h_header.csv", 2},
                 {"mark_BTCUSDT_1h_noheader.csv", 1},
                 {"mark_BTCUSDT_1h.json", 2}};
    static const double o[6] = {42001.5, 42098.7, 42248.9, 41852.2, 41899.6, 41988.4};
    static const double h[6] = {42140.2, 42290.1, 42270.0, 41940.8, 41995.3, 42090.7};
    static const double l[6] = {41910.3, 42060.4, 41760.5, 41720.1, 41885.0, 41955.2};
    static const double c[6] = {42098.7, 42248.9, 41852.2, 41899.6, 41988.4, 42079.9};
    char path[1024];
    snprintf(path, sizeof path, "%s/mark/%s", CPO_TEST_DATA, files[_i].file);
    run r;
    run_init(&r);
    r.o.symbol = "BTCUSDT-PERP";
    ck_assert_msg(run_reader(&r, cpo_read_mark_klines, path) == 0, "%s", tu_errstr(&r.err));
    ck_assert_int_eq(r.c.stage, CPO_STAGE_MARK);
    ck_assert_str_eq(r.c.instr.symbol, "BTCUSDT-PERP");
    const cpo_bars *b = &r.c.bars;
    ck_assert_uint_eq(b->n, 6);
    ck_assert_uint_eq(r.rep.rows_read, 6);
    ck_assert_uint_eq(r.c.n_line, 6);
    for (size_t k = 0; k < 6; k++) {
        ck_assert_int_eq(b->ts[k], iso("2024-01-01T00:00:00Z") + (int64_t)k * CPO_MS_HOUR);
        ck_assert(b->open[k] == o[k] && b->high[k] == h[k] && b->low[k] == l[k] &&
                  b->close[k] == c[k]);
        ck_assert_nan(b->volume[k]);
        ck_assert_nan(b->mark[k]);
        ck_assert_int_eq(r.c.line[k], files[_i].first_line + (long)k);
    }
    ck_assert_ptr_null(b->mark_high);
    /* close_time is open_time + 1h - 1 ms on every row: no warning */
    ck_assert_uint_eq(r.rep.n_issues, 0);
    run_fini(&r);
}
END_TEST

/* Reader problems, strict: the exact message. */
static const struct {
    const char *file;
    int code;
    const char *msg; /* after the path */
} mark_bad[] = {
    {"mark_klines_short_row.csv", CPO_EDATA,
     ":1:3: row has 3 fields (expected at least 5: open_time, open, high, low, close)"},
    {"mark_klines_bad_time.csv", CPO_EDATA,
     ":2:1: open_time \"2024-13-01\" is not a time (expected ms since 1970 or an ISO 8601 "
     "date-time)"},
    {"mark_klines_json_shape.json", CPO_EDATA,
     ":3:3: element 2: array has 3 items (expected [open_time, open, high, low, close, volume, "
     "close_time, ...])"},
    {"mark_klines_json_bad_price.json", CPO_EDATA,
     ":3:3: element 2: high \"high\" is not a number (expected a decimal number)"},
    {"klines_empty.csv", CPO_EDATA,
     ": file is empty (expected rows of open_time,open,high,low,close,...)"},
    {"dvol_json_truncated.json", CPO_EPARSE,
     ":4: ']' expected near end of file (expected a JSON array)"},
};

START_TEST(test_mark_klines_bad)
{
    char path[1024], want[2048];
    snprintf(path, sizeof path, "%s/bad/%s", CPO_TEST_DATA, mark_bad[_i].file);
    snprintf(want, sizeof want, "%s%s", path, mark_bad[_i].msg);
    run r;
    run_init(&r);
    r.o.symbol = "BTCUSDT-PERP";
    int rc = run_reader(&r, cpo_read_mark_klines, path);
    ck_assert_msg(rc == mark_bad[_i].code, "%s: rc %d (%s)", mark_bad[_i].file, rc,
                  tu_errstr(&r.err));
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);
}
END_TEST

/* Lenient: the short row and the bad element are dropped and reported;
 * a close time that is not the open + 1h - 1 ms is a warning. */
START_TEST(test_mark_klines_lenient_and_close_time)
{
    char path[1024], want[2048];
    run r;
    run_init(&r);
    r.o.symbol = "BTCUSDT-PERP";
    r.o.mode = CPO_IMPORT_LENIENT;
    snprintf(path, sizeof path, "%s/bad/mark_klines_short_row.csv", CPO_TEST_DATA);
    ck_assert_int_eq(run_reader(&r, cpo_read_mark_klines, path), 0);
    ck_assert_uint_eq(r.c.bars.n, 3);
    ck_assert_uint_eq(r.rep.dropped, 1);
    const cpo_import_issue *is = find_issue(&r, CPO_ISSUE_REPAIRED);
    ck_assert_ptr_nonnull(is);
    ck_assert_str_eq(is->msg, "row has 3 fields (expected at least 5: open_time, open, high, low, "
                              "close); row dropped");
    run_fini(&r);

    run_init(&r);
    r.o.symbol = "BTCUSDT-PERP";
    r.o.mode = CPO_IMPORT_LENIENT;
    snprintf(path, sizeof path, "%s/bad/mark_klines_json_shape.json", CPO_TEST_DATA);
    ck_assert_int_eq(run_reader(&r, cpo_read_mark_klines, path), 0);
    ck_assert_uint_eq(r.c.bars.n, 2);
    ck_assert_uint_eq(r.rep.dropped, 1);
    run_fini(&r);

    /* Rows of 5 fields (no close time) are fine; a wrong close time warns. */
    char *dir = tu_tmpdir(), *p = tu_path(dir, "mark.csv");
    tu_write_file(p, "1704067200000,1,2,0.5,1.5\n"
                     "1704070800000,1.5,2,1,1.2,0,1704074399999\n"
                     "1704074400000,1.2,1.3,1.1,1.25,0,1704077999999\n"
                     "1704078000000,1.25,1.3,1.2,1.3,0,1704081000000\n");
    run_init(&r);
    r.o.symbol = "BTCUSDT-PERP";
    ck_assert_int_eq(run_reader(&r, cpo_read_mark_klines, p), 0);
    ck_assert_uint_eq(r.c.bars.n, 4);
    ck_assert_uint_eq(r.rep.n_issues, 1);
    is = find_issue(&r, CPO_ISSUE_WARNING);
    ck_assert_ptr_nonnull(is);
    ck_assert_int_eq(is->line, 4);
    ck_assert_int_eq(is->col, 7);
    snprintf(want, sizeof want, "close_time 1704081000000 is not the open time + 1h - 1 ms "
                                "(expected 1704081599999)");
    ck_assert_str_eq(is->msg, want);
    run_fini(&r);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *readers_suite(void)
{
    Suite *s = suite_create("readers");
    TCase *tc = tcase_create("funding");
    tcase_add_test(tc, test_binance_funding_mark);
    tcase_add_test(tc, test_binance_funding_no_mark);
    tcase_add_test(tc, test_binance_funding_supervik_tz);
    tcase_add_test(tc, test_binance_funding_json);
    tcase_add_test(tc, test_bitmex_funding);
    tcase_add_test(tc, test_deribit_funding);
    tcase_add_test(tc, test_deribit_funding_uses_timestamp);
    suite_add_tcase(s, tc);
    tc = tcase_create("index");
    tcase_add_test(tc, test_dvol_csv);
    tcase_add_test(tc, test_dvol_json);
    tcase_add_test(tc, test_cmc);
    suite_add_tcase(s, tc);
    tc = tcase_create("futures");
    tcase_add_test(tc, test_future_names);
    tcase_add_test(tc, test_delivery_klines);
    tcase_add_test(tc, test_deribit_futures);
    tcase_add_test(tc, test_chain_futures);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad");
    tcase_add_loop_test(tc, test_bad_input, 0, (int)(sizeof bad_cases / sizeof *bad_cases));
    tcase_add_test(tc, test_bad_files_listed);
    tcase_add_test(tc, test_lenient_drops_rows);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("mark");
    tcase_add_loop_test(tc, test_mark_klines_layouts, 0, 3);
    tcase_add_loop_test(tc, test_mark_klines_bad, 0, (int)(sizeof mark_bad / sizeof *mark_bad));
    tcase_add_test(tc, test_mark_klines_lenient_and_close_time);
    suite_add_tcase(s, tc);
    tc = tcase_create("real");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_real_files, 0, (int)(sizeof real_cases / sizeof *real_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("import");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_import_fixtures);
    tcase_add_test(tc, test_import_deribit_needs_sort);
    tcase_add_loop_test(tc, test_import_real, 0, (int)(sizeof imp_cases / sizeof *imp_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(readers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
