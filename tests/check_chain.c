/*
 * check_chain.c - the Deribit option chain reader (read_chain.c), run on a
 * hand-built import context: values against the fixture text of every
 * layout (tests/data/chains/, excerpts of the real files), the snapshot
 * rule, polls and keep_last_poll, IV units, underlying selection, and the
 * exact message for every tests/data/bad/chain_* file.  The real files
 * under ../shared/data/real (beside the repository) are read too when present.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "importer.h"
#include "testutil.h"

#define REAL_DIR TU_REAL_DIR

typedef struct run {
    cpo_import_opts o;
    cpo_import_report rep;
    cpo_error err;
    cpo_import_ctx c;
} run;

static void run_init(run *r)
{
    memset(r, 0, sizeof *r);
    r->o.format = CPO_FMT_DERIBIT_CHAIN;
    r->o.mode = CPO_IMPORT_STRICT;
    r->o.tz.kind = CPO_TZ_FIXED;
    r->o.tz.offset_ms = 0;
    r->o.kind = CPO_KIND_OPTION;
    r->o.settle = CPO_SETTLE_INVERSE;
    r->o.iv_unit = CPO_IV_AUTO;
    r->o.snapshot_ms = CPO_TIME_NONE;
    r->o.max_listed = 5;
}

static int run_read(run *r, const char *path)
{
    cpo_error_clear(&r->err);
    memset(&r->rep, 0, sizeof r->rep);
    memset(&r->c, 0, sizeof r->c);
    r->c.path = path;
    r->c.o = &r->o;
    r->c.rep = &r->rep;
    r->c.err = &r->err;
    cpo_chain_init(&r->c.chain, "");
    int rc = cpo_read_deribit_chain(&r->c);
    if (rc == 0) {
        ck_assert_int_eq(r->c.stage, CPO_STAGE_CHAIN);
        ck_assert_uint_eq(r->c.n_line, r->c.chain.n);
    }
    return rc;
}

static void run_fini(run *r)
{
    cpo_chain_fini(&r->c.chain);
    free(r->c.line);
    r->c.line = NULL;
}

static int64_t T(const char *iso)
{
    int64_t t;
    ck_assert_int_eq(cpo_time_parse(iso, strlen(iso), &t, NULL, NULL), 0);
    return t;
}

/* The staged row that came from this source line. */
static size_t row_at(const run *r, long line)
{
    for (size_t i = 0; i < r->c.n_line; i++)
        if (r->c.line[i] == line)
            return i;
    ck_abort_msg("no row from line %ld", line);
    return 0;
}

/* 1 if an issue of this level contains text. */
static int has_issue(const run *r, cpo_issue_level level, const char *text)
{
    for (size_t i = 0; i < r->rep.n_issues; i++)
        if (r->rep.issues[i].level == level && strstr(r->rep.issues[i].msg, text))
            return 1;
    return 0;
}

#define EQ(a, b) ck_assert_double_eq_tol((a), (b), 1e-12 * (fabs(b) + 1))

/* --- weekly snapshots ------------------------------------------------------ */

START_TEST(weekly_btc)
{
    run r;
    run_init(&r);
    r.o.symbol = "btc";
    ck_assert_msg(run_read(&r, tu_data("chains/weekly_20260102.csv")) == 0, "%s",
                  tu_errstr(&r.err));
    const cpo_chain *ch = &r.c.chain;
    ck_assert_str_eq(ch->underlying, "BTC");
    ck_assert_str_eq(r.rep.target, "BTC");
    ck_assert_uint_eq(ch->n, 5);
    ck_assert_uint_eq(r.rep.rows_read, 8);
    ck_assert(has_issue(&r, CPO_ISSUE_INFO, "skipped 3 rows of other underlyings (ETH)"));
    size_t i = row_at(&r, 2);
    ck_assert_str_eq(ch->name[i], "BTC-3JAN26-88000-C");
    ck_assert_int_eq(ch->ts[i], T("2026-01-02T09:18:09.153Z"));
    ck_assert_int_eq(ch->expiry_ms[i], T("2026-01-03T08:00:00Z"));
    EQ(ch->strike[i], 88000.0);
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_CALL);
    EQ(ch->mark_px[i], 0.01469084);
    EQ(ch->bid_px[i], 0.0145);
    EQ(ch->ask_px[i], 0.016);
    EQ(ch->mark_iv[i], 0.3735); /* decimal already */
    EQ(ch->fwd_px[i], 89029.42091675257);
    EQ(ch->index_px[i], 89009.1);
    EQ(ch->delta[i], 0.73277);
    EQ(ch->vega[i], 14.90757);
    EQ(ch->open_interest[i], 316.7);
    i = row_at(&r, 4);
    ck_assert_str_eq(ch->name[i], "BTC-25DEC26-40000-P");
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_PUT);
    ck_assert_int_eq(ch->expiry_ms[i], T("2026-12-25T08:00:00Z"));
    i = row_at(&r, 6); /* no bid */
    ck_assert_str_eq(ch->name[i], "BTC-27MAR26-340000-C");
    ck_assert(isnan(ch->bid_px[i]));
    EQ(ch->ask_px[i], 0.0002);
    EQ(ch->mark_px[i], 8.218e-05);
    for (size_t k = 0; k < ch->n; k++)
        ck_assert_int_eq(ch->ts[k], T("2026-01-02T09:18:09.153Z"));
    run_fini(&r);
}
END_TEST

START_TEST(weekly_eth)
{
    run r;
    run_init(&r);
    r.o.symbol = "ETH";
    ck_assert_msg(run_read(&r, tu_data("chains/weekly_20260102.csv")) == 0, "%s",
                  tu_errstr(&r.err));
    ck_assert_str_eq(r.c.chain.underlying, "ETH");
    ck_assert_uint_eq(r.c.chain.n, 3);
    size_t i = row_at(&r, 8);
    ck_assert_str_eq(r.c.chain.name[i], "ETH-26JUN26-13000-C");
    EQ(r.c.chain.mark_iv[i], 0.8062999999999999);
    run_fini(&r);
}
END_TEST

START_TEST(weekly_needs_underlying)
{
    run r;
    run_init(&r);
    const char *p = tu_data("chains/weekly_20260102.csv");
    char path[1024], want[1400];
    snprintf(path, sizeof path, "%s", p);
    ck_assert_int_eq(run_read(&r, path), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s: the file holds options on 2 underlyings (BTC, ETH) (expected --underlying "
             "BTC or ETH to choose one)", path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);

    run_init(&r);
    r.o.symbol = "SOL";
    ck_assert_int_eq(run_read(&r, path), CPO_ENOTFOUND);
    snprintf(want, sizeof want,
             "%s: the file holds no SOL options, only BTC, ETH (expected --underlying BTC or ETH)",
             path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);
}
END_TEST

/* --- schepal 2020 ------------------------------------------------------------ */

START_TEST(schepal_2020)
{
    run r;
    run_init(&r);
    ck_assert_msg(run_read(&r, tu_data("chains/schepal_20200514.csv")) == 0, "%s",
                  tu_errstr(&r.err));
    const cpo_chain *ch = &r.c.chain;
    ck_assert_str_eq(ch->underlying, "BTC");
    ck_assert_uint_eq(ch->n, 6);
    /* Snapshot time: the earliest quote (line 3), not the first row. */
    for (size_t k = 0; k < ch->n; k++)
        ck_assert_int_eq(ch->ts[k], INT64_C(1589434900514));
    ck_assert(has_issue(&r, CPO_ISSUE_INFO, "6 quotes taken from 2020-05-14T05:41:40.514Z to "
                                            "2020-05-14T05:43:39.524Z; snapshot time set to "
                                            "the earliest"));
    size_t i = row_at(&r, 2);
    ck_assert_str_eq(ch->name[i], "BTC-25DEC20-36000-C");
    ck_assert_int_eq(ch->expiry_ms[i], INT64_C(1608883200000));
    ck_assert_int_eq(ch->expiry_ms[i], T("2020-12-25T08:00:00Z"));
    EQ(ch->strike[i], 36000.0);
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_CALL);
    EQ(ch->mark_px[i], 0.02712972);
    EQ(ch->mark_iv[i], 1.0031); /* 100.31 % */
    EQ(ch->bid_px[i], 0.0255);
    EQ(ch->ask_px[i], 0.029);
    EQ(ch->fwd_px[i], 9513.55);
    EQ(ch->index_px[i], 9350.4);
    EQ(ch->open_interest[i], 307.2);
    EQ(ch->delta[i], 0.09757); /* from the dict string */
    EQ(ch->vega[i], 12.87724);
    i = row_at(&r, 3);
    EQ(ch->delta[i], -0.20453);
    EQ(ch->vega[i], 16.22803);
    EQ(ch->mark_iv[i], 0.883);
    i = row_at(&r, 4); /* best_bid_price 0.0: no bid */
    ck_assert_str_eq(ch->name[i], "BTC-15MAY20-7000-P");
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_PUT);
    ck_assert(isnan(ch->bid_px[i]));
    EQ(ch->ask_px[i], 0.001);
    EQ(ch->mark_px[i], 2.356e-05);
    i = row_at(&r, 5); /* mark 0 is allowed */
    EQ(ch->mark_px[i], 0.0);
    EQ(ch->delta[i], 0.0);
    run_fini(&r);
}
END_TEST

/* --- bottama 2021: two polls --------------------------------------------------- */

START_TEST(bottama_two_polls)
{
    run r;
    run_init(&r);
    ck_assert_msg(run_read(&r, tu_data("chains/bottama_btc_20210211.csv")) == 0, "%s",
                  tu_errstr(&r.err));
    const cpo_chain *ch = &r.c.chain;
    ck_assert_str_eq(ch->underlying, "BTC");
    ck_assert_uint_eq(ch->n, 8);
    for (long ln = 2; ln <= 5; ln++)
        ck_assert_int_eq(ch->ts[row_at(&r, ln)], INT64_C(1613068625262));
    for (long ln = 6; ln <= 9; ln++)
        ck_assert_int_eq(ch->ts[row_at(&r, ln)], INT64_C(1613068943476));
    ck_assert(has_issue(&r, CPO_ISSUE_INFO, "poll 2 of 2 (starts where an instrument repeats)"));
    size_t i = row_at(&r, 2);
    ck_assert_str_eq(ch->name[i], "BTC-13FEB21-37500-C");
    ck_assert_int_eq(ch->expiry_ms[i], T("2021-02-13T08:00:00Z"));
    EQ(ch->strike[i], 37500.0);
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_CALL);
    EQ(ch->mark_px[i], 0.17910112);
    EQ(ch->mark_iv[i], 1.2425);
    ck_assert(isnan(ch->bid_px[i]));
    EQ(ch->ask_px[i], 0.221);
    EQ(ch->delta[i], 0.99323);
    EQ(ch->vega[i], 0.56428);
    EQ(ch->fwd_px[i], 45671.64);
    EQ(ch->index_px[i], 47795.22);
    EQ(ch->open_interest[i], 2.1);
    i = row_at(&r, 3); /* one-digit day */
    ck_assert_str_eq(ch->name[i], "BTC-5MAR21-57500-C");
    ck_assert_int_eq(ch->expiry_ms[i], T("2021-03-05T08:00:00Z"));
    i = row_at(&r, 4);
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_PUT);
    EQ(ch->strike[i], 7000.0);
    ck_assert_int_eq(ch->expiry_ms[i], T("2021-09-24T08:00:00Z"));
    run_fini(&r);
}
END_TEST

START_TEST(bottama_keep_last_poll)
{
    run r;
    run_init(&r);
    r.o.keep_last_poll = 1;
    ck_assert_msg(run_read(&r, tu_data("chains/bottama_btc_20210211.csv")) == 0, "%s",
                  tu_errstr(&r.err));
    const cpo_chain *ch = &r.c.chain;
    ck_assert_uint_eq(ch->n, 4);
    for (size_t k = 0; k < ch->n; k++) {
        ck_assert_int_ge(r.c.line[k], 6);
        ck_assert_int_eq(ch->ts[k], INT64_C(1613068943476));
    }
    ck_assert(has_issue(&r, CPO_ISSUE_INFO, "keep_last_poll: dropped 4 earlier quotes"));
    size_t i = row_at(&r, 6);
    ck_assert_str_eq(ch->name[i], "BTC-13FEB21-37500-C");
    EQ(ch->mark_px[i], 0.17892472);
    EQ(ch->mark_iv[i], 1.2418);
    run_fini(&r);
}
END_TEST

/* --- sol-dnn 2024 ---------------------------------------------------------------- */

START_TEST(soldnn_2024)
{
    run r;
    run_init(&r);
    r.o.snapshot_ms = T("2024-05-24T13:30:00Z");
    /* no --underlying: "btc" in the file name */
    ck_assert_msg(run_read(&r, tu_data("chains/soldnn_btc_2024.csv")) == 0, "%s",
                  tu_errstr(&r.err));
    const cpo_chain *ch = &r.c.chain;
    ck_assert_str_eq(ch->underlying, "BTC");
    ck_assert(has_issue(&r, CPO_ISSUE_INFO, "underlying BTC taken from the file name"));
    ck_assert_uint_eq(ch->n, 8);
    ck_assert(has_issue(&r, CPO_ISSUE_WARNING,
                        "2 rows have mark_iv 100.0, which looks like a placeholder"));
    size_t i = row_at(&r, 2);
    ck_assert_str_eq(ch->name[i], "BTC-25MAY24-63000-C");
    ck_assert_int_eq(ch->ts[i], T("2024-05-24T13:30:00Z"));
    ck_assert_int_eq(ch->expiry_ms[i], T("2024-05-25T08:00:00Z"));
    EQ(ch->mark_iv[i], 1.0);
    EQ(ch->mark_px[i], 0.0852);
    EQ(ch->index_px[i], 68777.9);
    ck_assert(isnan(ch->fwd_px[i]));
    ck_assert(isnan(ch->bid_px[i]));
    ck_assert(isnan(ch->delta[i]));
    ck_assert_str_eq(ch->name[row_at(&r, 3)], "BTC-25MAY24-63000-P");
    i = row_at(&r, 9);
    ck_assert_str_eq(ch->name[i], "BTC-28MAR25-200000-P");
    ck_assert_int_eq(ch->expiry_ms[i], T("2025-03-28T08:00:00Z"));
    EQ(ch->mark_px[i], 1.6376);
    EQ(ch->mark_iv[i], 0.7601);
    run_fini(&r);

    /* declared underlying wins over the file name */
    run_init(&r);
    r.o.snapshot_ms = T("2024-05-24T13:30:00Z");
    r.o.symbol = "ETH";
    ck_assert_int_eq(run_read(&r, tu_data("chains/soldnn_btc_2024.csv")), 0);
    ck_assert_str_eq(r.c.chain.name[row_at(&r, 2)], "ETH-25MAY24-63000-C");
    run_fini(&r);
}
END_TEST

START_TEST(soldnn_needs_underlying_and_time)
{
    run r;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "chain2024.csv");
    char *src = tu_read_file(tu_data("chains/soldnn_btc_2024.csv"), NULL);
    ck_assert_ptr_nonnull(src);
    tu_write_file(path, src);
    char want[1200];

    run_init(&r);
    r.o.snapshot_ms = T("2024-05-24T13:30:00Z");
    ck_assert_int_eq(run_read(&r, path), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s:1: this layout names no underlying (expected --underlying BTC or ETH)", path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);

    run_init(&r);
    r.o.symbol = "BTC";
    ck_assert_int_eq(run_read(&r, path), CPO_EINVAL);
    snprintf(want, sizeof want,
             "%s:1: this layout has no snapshot time (expected --snapshot-time ISO)", path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);

    /* a snapshot before the latest listing (2024-05-24 13:06, line 8) */
    run_init(&r);
    r.o.symbol = "BTC";
    r.o.snapshot_ms = T("2024-05-24T12:00:00Z");
    ck_assert_int_eq(run_read(&r, path), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:8:3: creation 2024-05-24T13:06:00Z is after the snapshot time "
             "2024-05-24T12:00:00Z (expected a snapshot time after every listing)", path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);

    /* a snapshot after the first expiry: those rows are problems */
    run_init(&r);
    r.o.symbol = "BTC";
    r.o.snapshot_ms = T("2024-05-25T08:00:00Z");
    ck_assert_int_eq(run_read(&r, path), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:2:4: maturity 2024-05-25T08:00:00Z of BTC-25MAY24-63000-C is not after the "
             "snapshot time 2024-05-25T08:00:00Z (expected an option that has not expired)",
             path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);
    /* lenient: the 6 expired rows are dropped */
    run_init(&r);
    r.o.symbol = "BTC";
    r.o.mode = CPO_IMPORT_LENIENT;
    r.o.snapshot_ms = T("2024-05-25T08:00:00Z");
    ck_assert_int_eq(run_read(&r, path), 0);
    ck_assert_uint_eq(r.c.chain.n, 2);
    ck_assert_uint_eq(r.rep.dropped, 6);
    ck_assert(has_issue(&r, CPO_ISSUE_REPAIRED, "; row dropped"));
    run_fini(&r);

    free(src);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- tessicin 2026 ---------------------------------------------------------------- */

START_TEST(tessicin_2026)
{
    run r;
    run_init(&r);
    r.o.snapshot_ms = T("2026-03-01T00:00:00Z");
    ck_assert_msg(run_read(&r, tu_data("chains/tessicin_btc_2026.csv")) == 0, "%s",
                  tu_errstr(&r.err));
    const cpo_chain *ch = &r.c.chain;
    ck_assert_str_eq(ch->underlying, "BTC");
    ck_assert_uint_eq(ch->n, 5);
    size_t i = row_at(&r, 2);
    ck_assert_str_eq(ch->name[i], "BTC-13MAR26-61000-C");
    ck_assert_int_eq(ch->ts[i], T("2026-03-01T00:00:00Z"));
    ck_assert_int_eq(ch->expiry_ms[i], INT64_C(1773388800000));
    EQ(ch->strike[i], 61000.0);
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_CALL);
    EQ(ch->mark_px[i], 0.0951);
    EQ(ch->bid_px[i], 0.0815);
    EQ(ch->ask_px[i], 0.101);
    EQ(ch->fwd_px[i], 66342.3);
    EQ(ch->index_px[i], 66742.5678); /* spot_ref */
    EQ(ch->mark_iv[i], 0.6329);
    EQ(ch->delta[i], 0.78695);
    EQ(ch->vega[i], 34.6075);
    EQ(ch->open_interest[i], 2.0);
    i = row_at(&r, 6);
    ck_assert_str_eq(ch->name[i], "BTC-25DEC26-72000-P");
    ck_assert_int_eq(ch->right[i], CPO_RIGHT_PUT);
    EQ(ch->delta[i], -0.45505);
    run_fini(&r);
}
END_TEST

/* --- IV units ----------------------------------------------------------------------- */

START_TEST(iv_units_declared)
{
    run r;
    char want[1200];
    const char *p = tu_data("chains/tessicin_btc_2026.csv");
    char path[1024];
    snprintf(path, sizeof path, "%s", p);
    run_init(&r);
    r.o.snapshot_ms = T("2026-03-01T00:00:00Z");
    r.o.iv_unit = CPO_IV_DECIMAL;
    ck_assert_int_eq(run_read(&r, path), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:1:16: mark_iv is declared decimal but its median is 59.4 (expected decimal "
             "values such as 0.45; the column looks like percent)", path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);

    run_init(&r);
    r.o.snapshot_ms = T("2026-03-01T00:00:00Z");
    r.o.iv_unit = CPO_IV_PERCENT; /* agrees with the layout */
    ck_assert_int_eq(run_read(&r, path), 0);
    EQ(r.c.chain.mark_iv[row_at(&r, 2)], 0.6329);
    run_fini(&r);

    p = tu_data("chains/weekly_20260102.csv");
    snprintf(path, sizeof path, "%s", p);
    run_init(&r);
    r.o.symbol = "BTC";
    r.o.iv_unit = CPO_IV_PERCENT;
    ck_assert_int_eq(run_read(&r, path), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s:1:15: implied_volatility is declared percent but every value is below 3 "
             "(max 0.8296) (expected percent values such as 45.0; the column looks like "
             "decimal)", path);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    run_fini(&r);

    /* declared percent overrides the layout: a percent-valued weekly file is read */
    p = tu_data("bad/chain_iv_percent_in_weekly.csv");
    snprintf(path, sizeof path, "%s", p);
    run_init(&r);
    r.o.iv_unit = CPO_IV_PERCENT;
    ck_assert_int_eq(run_read(&r, path), 0);
    EQ(r.c.chain.mark_iv[row_at(&r, 2)], 0.3735);
    run_fini(&r);
}
END_TEST

/* --- lenient mode --------------------------------------------------------------------- */

START_TEST(lenient_drops_bad_rows)
{
    run r;
    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    ck_assert_int_eq(run_read(&r, tu_data("bad/chain_bad_name.csv")), 0);
    ck_assert_uint_eq(r.c.chain.n, 1);
    ck_assert_str_eq(r.c.chain.name[0], "BTC-5MAR21-57500-C");
    ck_assert_uint_eq(r.rep.dropped, 1);
    ck_assert(has_issue(&r, CPO_ISSUE_REPAIRED, "\"BTC-13FEX21-37500-C\" is not a Deribit "
                                                "option name: bad expiry date"));
    ck_assert(has_issue(&r, CPO_ISSUE_REPAIRED, "; row dropped"));
    run_fini(&r);

    run_init(&r);
    r.o.mode = CPO_IMPORT_LENIENT;
    r.o.snapshot_ms = T("2026-03-01T00:00:00Z");
    ck_assert_int_eq(run_read(&r, tu_data("bad/chain_bad_mark.csv")), 0);
    ck_assert_uint_eq(r.c.chain.n, 1);
    run_fini(&r);
}
END_TEST

/* --- small generated files: names, dicts, polls ------------------------------------------- */

/* Write text to a temporary file and read it; *dir must be freed with
 * tu_rmtree + free, *path with free. */
static int read_text(run *r, const char *text, char **dir, char **path)
{
    *dir = tu_tmpdir();
    *path = tu_path(*dir, "chain.csv");
    tu_write_file(*path, text);
    return run_read(r, *path);
}

static void drop_text(char *dir, char *path)
{
    tu_rmtree(dir);
    free(dir);
    free(path);
}

#define MINI_2021 "instrument_name,timestamp,mark_price,mark_iv,greeks.delta,greeks.vega\n"

static const struct {
    const char *name;
    const char *why; /* NULL: valid */
} NAMES[] = {
    {"BTC-13FEB21-37500-C", NULL},
    {"ETH-1MAR21-1750-P", NULL},
    {"SOL_USDC-28JUN24-0d5-C", NULL},
    {"BTC-29FEB21-37500-C", "bad expiry date \"29FEB21\""},
    {"BTC-29FEB24-37500-C", NULL},
    {"BTC-13Feb21-37500-C", "bad expiry date \"13Feb21\""},
    {"BTC-113FEB21-37500-C", "bad expiry date \"113FEB21\""},
    {"BTC-13FEB2021-37500-C", "bad expiry date \"13FEB2021\""},
    {"BTC-13FEB21-37500", "bad 3 parts"},
    {"BTC-13FEB21-37500-C-X", "bad more than 4 parts"},
    {"BTC-13FEB21-0-C", "bad strike \"0\""},
    {"BTC-13FEB21-37500.-C", "bad strike \"37500.\""},
    {"BTC-13FEB21-3e4-C", "bad strike \"3e4\""},
    {"BTC-13FEB21-37500-c", "bad right \"c\""},
    {"BTC-13FEB21-37500-CALL", "bad right \"CALL\""},
    {"btc-13FEB21-37500-C", "bad underlying \"btc\""},
    {"-13FEB21-37500-C", "bad underlying \"\""},
    {"BTC-PERPETUAL", "bad 2 parts"},
};

START_TEST(instrument_names)
{
    char text[512], want[512];
    snprintf(text, sizeof text, MINI_2021 "%s,1613068625266,0.1,50.0,0.5,1.0\n", NAMES[_i].name);
    run r;
    run_init(&r);
    char *dir, *path;
    int rc = read_text(&r, text, &dir, &path);
    if (!NAMES[_i].why) {
        ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
        ck_assert_str_eq(r.c.chain.name[0], NAMES[_i].name);
        ck_assert_int_eq(r.c.chain.expiry_ms[0] % CPO_MS_DAY, 8 * CPO_MS_HOUR);
    } else {
        ck_assert_int_eq(rc, CPO_EDATA);
        snprintf(want, sizeof want,
                 "%s:2:1: instrument_name \"%s\" is not a Deribit option name: %s (expected "
                 "UNDERLYING-DMMMYY-STRIKE-C|P, e.g. BTC-13FEB21-37500-C)",
                 path, NAMES[_i].name, NAMES[_i].why);
        ck_assert_str_eq(tu_errstr(&r.err), want);
    }
    run_fini(&r);
    drop_text(dir, path);
}
END_TEST

START_TEST(instrument_name_values)
{
    run r;
    run_init(&r);
    char *dir, *path;
    ck_assert_int_eq(read_text(&r, MINI_2021
                               "SOL_USDC-28JUN24-0d5-C,1613068625266,0.1,50.0,0.5,1.0\n"
                               "BTC-29FEB24-37500-P,1613068625267,0.1,50.0,0.5,1.0\n",
                               &dir, &path), CPO_EINVAL);
    /* two underlyings: refused without --underlying */
    ck_assert_ptr_nonnull(strstr(r.err.msg, "2 underlyings (SOL_USDC, BTC)"));
    run_fini(&r);
    run_init(&r);
    r.o.symbol = "sol_usdc";
    ck_assert_int_eq(run_read(&r, path), 0);
    ck_assert_uint_eq(r.c.chain.n, 1);
    EQ(r.c.chain.strike[0], 0.5);
    ck_assert_int_eq(r.c.chain.right[0], CPO_RIGHT_CALL);
    ck_assert_int_eq(r.c.chain.expiry_ms[0], T("2024-06-28T08:00:00Z"));
    ck_assert_str_eq(r.c.chain.underlying, "SOL_USDC");
    run_fini(&r);
    run_init(&r);
    r.o.symbol = "BTC";
    ck_assert_int_eq(run_read(&r, path), 0);
    ck_assert_int_eq(r.c.chain.expiry_ms[0], T("2024-02-29T08:00:00Z"));
    ck_assert_int_eq(r.c.chain.right[0], CPO_RIGHT_PUT);
    run_fini(&r);
    drop_text(dir, path);
}
END_TEST

#define MINI_2020 \
    ",expiration_timestamp,option_type,instrument_name,strike,timestamp,mark_price,mark_iv,greeks\n"
#define MINI_2020_ROW "0,1590134400000,put,BTC-22MAY20-9250-P,9250.0,1589434896486,0.04,76.87,"

static const struct {
    const char *dict; /* CSV-quoted */
    double delta, vega;
    long bad_at; /* 0: valid */
} DICTS[] = {
    {"\"{'vega': 5.49167, 'theta': -26.07217, 'rho': -0.99385, 'gamma': 0.00037, "
     "'delta': -0.43897}\"", -0.43897, 5.49167, 0},
    {"\"{}\"", NAN, NAN, 0},
    {"", NAN, NAN, 0},
    {"\"{'delta': None, 'vega': 7e-05}\"", NAN, 7e-05, 0},
    {"\"{ \"\"delta\"\" : -0.5 , 'vega':2, }\"", -0.5, 2.0, 0},
    {"\"{'delta': -0.4\"", 0, 0, 15},
    {"\"{'delta': abc}\"", 0, 0, 11},
    {"\"{'delta': -0.4}}\"", 0, 0, 16},
    {"\"['delta', 1]\"", 0, 0, 1},
    {"\"{'delta': -0.4 'vega': 1}\"", 0, 0, 16},
    {"\"{delta: 1}\"", 0, 0, 2},
    {"\"{'delta': }\"", 0, 0, 11},
};

START_TEST(greeks_dicts)
{
    char text[1024];
    snprintf(text, sizeof text, MINI_2020 MINI_2020_ROW "%s\n", DICTS[_i].dict);
    run r;
    run_init(&r);
    char *dir, *path;
    int rc = read_text(&r, text, &dir, &path);
    if (!DICTS[_i].bad_at) {
        ck_assert_msg(rc == 0, "%s", tu_errstr(&r.err));
        if (isnan(DICTS[_i].delta))
            ck_assert(isnan(r.c.chain.delta[0]));
        else
            EQ(r.c.chain.delta[0], DICTS[_i].delta);
        if (isnan(DICTS[_i].vega))
            ck_assert(isnan(r.c.chain.vega[0]));
        else
            EQ(r.c.chain.vega[0], DICTS[_i].vega);
    } else {
        char at[64];
        ck_assert_int_eq(rc, CPO_EDATA);
        snprintf(at, sizeof at, "is malformed at character %ld (", DICTS[_i].bad_at);
        ck_assert_msg(strstr(r.err.msg, at) != NULL, "%s", tu_errstr(&r.err));
        ck_assert_int_eq(r.err.line, 2);
        ck_assert_int_eq(r.err.col, 9);
    }
    run_fini(&r);
    drop_text(dir, path);
}
END_TEST

START_TEST(polls_rule)
{
    /* A B C | A B | A: three polls; C is missing from the later ones. */
    const char *text = MINI_2021
        "BTC-13FEB21-37500-C,1613068625300,0.1,50.0,0.5,1.0\n"
        "BTC-13FEB21-38000-C,1613068625200,0.1,50.0,0.5,1.0\n"
        "BTC-13FEB21-39000-C,1613068625400,0.1,50.0,0.5,1.0\n"
        "BTC-13FEB21-37500-C,1613068925000,0.2,51.0,0.5,1.0\n"
        "BTC-13FEB21-38000-C,1613068924000,0.2,51.0,0.5,1.0\n"
        "BTC-13FEB21-37500-C,1613069225000,0.3,52.0,0.5,1.0\n";
    run r;
    run_init(&r);
    char *dir, *path;
    ck_assert_msg(read_text(&r, text, &dir, &path) == 0, "%s", tu_errstr(&r.err));
    ck_assert_uint_eq(r.c.chain.n, 6);
    static const int64_t want[6] = {1613068625200, 1613068625200, 1613068625200,
                                    1613068924000, 1613068924000, 1613069225000};
    for (long ln = 2; ln <= 7; ln++)
        ck_assert_int_eq(r.c.chain.ts[row_at(&r, ln)], want[ln - 2]);
    ck_assert(has_issue(&r, CPO_ISSUE_INFO, "poll 3 of 3: 1 quotes"));
    run_fini(&r);

    run_init(&r);
    r.o.keep_last_poll = 1;
    ck_assert_int_eq(run_read(&r, path), 0);
    ck_assert_uint_eq(r.c.chain.n, 3);
    ck_assert_int_eq(r.c.chain.ts[row_at(&r, 4)], 1613068625200); /* C: poll 1 */
    ck_assert_int_eq(r.c.chain.ts[row_at(&r, 6)], 1613068924000); /* B: poll 2 */
    ck_assert_int_eq(r.c.chain.ts[row_at(&r, 7)], 1613069225000); /* A: poll 3 */
    EQ(r.c.chain.mark_iv[row_at(&r, 7)], 0.52);
    ck_assert(has_issue(&r, CPO_ISSUE_INFO, "keep_last_poll: dropped 3 earlier quotes"));
    ck_assert(has_issue(&r, CPO_ISSUE_WARNING, "2 instruments are missing from the last poll"));
    run_fini(&r);
    drop_text(dir, path);
}
END_TEST

/* --- bad files: the exact messages ------------------------------------------------------ */

typedef struct bad_case {
    const char *file;
    const char *symbol;
    const char *snapshot;
    int code;
    const char *msg; /* after "path" */
    cpo_iv_unit iv_unit; /* 0: auto */
} bad_case;

static const bad_case BAD[] = {
    {"chain_bad_name.csv", NULL, NULL, CPO_EDATA,
     ":2:11: instrument_name \"BTC-13FEX21-37500-C\" is not a Deribit option name: bad expiry "
     "date \"13FEX21\" (expected UNDERLYING-DMMMYY-STRIKE-C|P, e.g. BTC-13FEB21-37500-C)", CPO_IV_AUTO},
    {"chain_bad_greeks.csv", NULL, NULL, CPO_EDATA,
     ":3:20: greeks \"{'vega': 16.22803, 'theta': -5.34299,...\" is malformed at character 80 "
     "(expected a Python dict such as {'delta': -0.43, 'vega': 5.49})", CPO_IV_AUTO},
    {"chain_name_mismatch.csv", NULL, NULL, CPO_EDATA,
     ":2:5: strike 37000 disagrees with instrument_name \"BTC-25DEC20-36000-C\" (expected "
     "36000)", CPO_IV_AUTO},
    {"chain_iv_percent_in_weekly.csv", NULL, NULL, CPO_EDATA,
     ":1:15: implied_volatility has values above 5 (max 44.0, median 40.675), which look like "
     "percent, but this layout's IV is decimal (expected --iv-unit percent or decimal to say "
     "which)", CPO_IV_AUTO},
    {"chain_no_snapshot.csv", NULL, NULL, CPO_EINVAL,
     ":1: this layout has no snapshot time (expected --snapshot-time ISO)", CPO_IV_AUTO},
    {"chain_trades.csv", NULL, NULL, CPO_EFORMAT,
     ":1: the file is a trade list, not a chain snapshot (expected a Deribit option chain)", CPO_IV_AUTO},
    {"chain_expired.csv", NULL, NULL, CPO_EDATA,
     ":3:7: expiry_datetime 2026-01-03T08:00:00Z of BTC-3JAN26-88000-C is not after the "
     "snapshot time 2026-01-03T09:18:09.153Z (expected an option that has not expired)", CPO_IV_AUTO},
    {"chain_neg_strike.csv", "BTC", "2024-05-24T13:30:00Z", CPO_EDATA,
     ":3:2: strike -65000 is not positive (expected a strike above 0)", CPO_IV_AUTO},
    {"chain_bad_mark.csv", NULL, "2026-03-01T00:00:00Z", CPO_EDATA,
     ":3:12: mark_price \"abc\" is not a number (expected a decimal number)", CPO_IV_AUTO},
    {"chain_bad_right.csv", "BTC", "2024-05-24T13:30:00Z", CPO_EDATA,
     ":2:1: option_type \"straddle\" is not call or put (expected call or put)", CPO_IV_AUTO},
    /* issue 20: accepted before (a warning at most); the negative index
     * took the strangle example to -1,002,382 USD of equity */
    {"chain_absurd_iv.csv", NULL, "2026-03-01T00:00:00Z", CPO_EDATA,
     ":3:16: mark_iv 1e+300 is out of range (expected an implied volatility of 0 to 1000 % or 0 "
     "to 10 as a decimal)", CPO_IV_AUTO},
    {"chain_decimal_iv_over_10.csv", "BTC", NULL, CPO_EDATA,
     ":3:15: implied_volatility 50 (decimal) is out of range (expected an implied volatility of 0 "
     "to 10 as a decimal, 1000 %)",
     CPO_IV_DECIMAL},
    {"chain_negative_index.csv", NULL, "2026-03-01T00:00:00Z", CPO_EDATA,
     ":3:11: spot_ref -66742.6 is not positive (expected an index price above 0)", CPO_IV_AUTO},
    {"chain_zero_underlying.csv", NULL, "2026-03-01T00:00:00Z", CPO_EDATA,
     ":3:15: underlying_price 0 is not positive (expected an underlying price above 0)", CPO_IV_AUTO},
    {"chain_unknown_layout.csv", NULL, NULL, CPO_EFORMAT,
     ":1: header matches no known Deribit chain layout (expected the columns of the weekly, "
     "2020, 2021, 2024 or 2026 layouts, e.g. instrument_name,...,mark_price,...,mark_iv)", CPO_IV_AUTO},
};

START_TEST(bad_files)
{
    const bad_case *b = &BAD[_i];
    char name[256], path[1024], want[1600];
    snprintf(name, sizeof name, "bad/%s", b->file);
    snprintf(path, sizeof path, "%s", tu_data(name));
    run r;
    run_init(&r);
    r.o.symbol = b->symbol;
    r.o.iv_unit = b->iv_unit;
    if (b->snapshot)
        r.o.snapshot_ms = T(b->snapshot);
    int rc = run_read(&r, path);
    ck_assert_msg(rc == b->code, "%s: rc %d (%s), expected %d", b->file, rc, tu_errstr(&r.err),
                  b->code);
    snprintf(want, sizeof want, "%s%s", path, b->msg);
    ck_assert_str_eq(tu_errstr(&r.err), want);
    ck_assert_int_eq(r.err.code, b->code);
    run_fini(&r);
}
END_TEST

/* The row problems of issue 20 under --lenient: the row is dropped and
 * reported with the same message, the others kept (3 rows each). */
START_TEST(bad_rows_lenient)
{
    static const struct {
        const char *file, *snapshot, *needle;
        cpo_iv_unit iv_unit;
        size_t kept; /* the file's rows of the underlying less the bad one */
    } L[] = {
        {"chain_absurd_iv.csv", "2026-03-01T00:00:00Z",
         "mark_iv 1e+300 is out of range (expected an implied volatility of 0 to 1000 % or 0 to "
         "10 as a decimal); row dropped", CPO_IV_AUTO, 2},
        {"chain_decimal_iv_over_10.csv", NULL,
         "implied_volatility 50 (decimal) is out of range (expected an implied volatility of 0 to "
         "10 as a decimal, 1000 %); row dropped", CPO_IV_DECIMAL, 4},
        {"chain_negative_index.csv", "2026-03-01T00:00:00Z",
         "spot_ref -66742.6 is not positive (expected an index price above 0); row dropped",
         CPO_IV_AUTO, 2},
        {"chain_zero_underlying.csv", "2026-03-01T00:00:00Z",
         "underlying_price 0 is not positive (expected an underlying price above 0); row dropped",
         CPO_IV_AUTO, 2},
    };
    for (size_t k = 0; k < sizeof L / sizeof L[0]; k++) {
        char name[256], path[1024];
        snprintf(name, sizeof name, "bad/%s", L[k].file);
        snprintf(path, sizeof path, "%s", tu_data(name));
        run r;
        run_init(&r);
        r.o.mode = CPO_IMPORT_LENIENT;
        r.o.iv_unit = L[k].iv_unit;
        r.o.symbol = "BTC";
        if (L[k].snapshot)
            r.o.snapshot_ms = T(L[k].snapshot);
        int rc = run_read(&r, path);
        ck_assert_msg(rc == 0, "%s: %s", L[k].file, tu_errstr(&r.err));
        /* every data row of the file but the bad one */
        ck_assert_msg(r.c.chain.n == L[k].kept, "%s: %zu rows kept of %zu", L[k].file,
                      r.c.chain.n, r.rep.rows_read);
        int found = 0;
        for (size_t i = 0; i < r.rep.n_issues; i++)
            if (r.rep.issues[i].level == CPO_ISSUE_REPAIRED && r.rep.issues[i].line == 3 &&
                !strcmp(r.rep.issues[i].msg, L[k].needle))
                found = 1;
        ck_assert_msg(found, "%s: no issue \"%s\"", L[k].file, L[k].needle);
        run_fini(&r);
    }
}
END_TEST

/* --- the real files ---------------------------------------------------------------------- */

static int real_present(void)
{
    struct stat sb;
    return stat(REAL_DIR "/options", &sb) == 0 && S_ISDIR(sb.st_mode);
}

typedef struct real_case {
    const char *file;
    const char *symbol;
    const char *snapshot;
    int keep_last_poll;
    size_t rows;
    size_t n_ts; /* distinct snapshot times */
} real_case;

static const real_case REAL[] = {
    {"deribit_btc_chain_20200514_btc_options_data.csv", NULL, NULL, 0, 310, 1},
    {"deribit_btc_chain_20200521_options_data.csv", NULL, NULL, 0, 326, 1},
    {"deribit_btc_chain_20210211_btc_option_data.csv", NULL, NULL, 0, 976, 2},
    {"deribit_btc_chain_20210211_btc_option_data.csv", NULL, NULL, 1, 488, 1},
    {"deribit_eth_chain_20210211_eth_option_data.csv", NULL, NULL, 0, 996, 2},
    {"deribit_eth_chain_20210211_eth_option_data.csv", NULL, NULL, 1, 498, 1},
    {"deribit_btc_chain_2024_btc_options.csv", "BTC", "2024-05-24T13:30:00Z", 0, 578, 1},
    {"deribit_eth_chain_2024_eth_options.csv", "ETH", "2024-05-24T13:30:00Z", 0, 502, 1},
    {"deribit_btc_chain_2026_deribit_options.csv", NULL, "2026-03-01T00:00:00Z", 0, 166, 1},
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static size_t distinct_ts(const cpo_chain *ch)
{
    if (ch->n == 0)
        return 0;
    int64_t *t = malloc(ch->n * sizeof *t);
    ck_assert_ptr_nonnull(t);
    memcpy(t, ch->ts, ch->n * sizeof *t);
    qsort(t, ch->n, sizeof *t, cmp_i64);
    size_t n = 1;
    for (size_t i = 1; i < ch->n; i++)
        n += t[i] != t[i - 1];
    free(t);
    return n;
}

/* Import through cpo_import_file (format detection, validation, merge). */
static int import_real(cpo_dataset *ds, const char *path, const char *symbol,
                       const char *snapshot, int keep_last_poll, cpo_import_report *rep,
                       cpo_error *err)
{
    cpo_import_opts o;
    cpo_import_opts_init(&o); /* format auto */
    o.symbol = symbol;
    o.keep_last_poll = keep_last_poll;
    if (snapshot)
        o.snapshot_ms = T(snapshot);
    cpo_error_clear(err);
    return cpo_import_file(ds, path, &o, rep, err);
}

static int rep_has(const cpo_import_report *rep, cpo_issue_level level, const char *text)
{
    for (size_t i = 0; i < rep->n_issues; i++)
        if (rep->issues[i].level == level && strstr(rep->issues[i].msg, text))
            return 1;
    return 0;
}

START_TEST(real_single_snapshots)
{
    if (!real_present())
        return;
    const real_case *rc = &REAL[_i];
    char path[1024];
    snprintf(path, sizeof path, REAL_DIR "/options/%s", rc->file);
    cpo_dataset *ds;
    cpo_error err;
    static cpo_import_report rep;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    ck_assert_msg(import_real(ds, path, rc->symbol, rc->snapshot, rc->keep_last_poll, &rep,
                              &err) == 0, "%s", tu_errstr(&err));
    ck_assert_int_eq(rep.format, CPO_FMT_DERIBIT_CHAIN);
    ck_assert_uint_eq(rep.rows_kept, rc->rows);
    ck_assert_uint_eq(ds->n_chains, 1);
    const cpo_chain *ch = &ds->chains[0];
    ck_assert_uint_eq(ch->n, rc->rows);
    ck_assert_uint_eq(distinct_ts(ch), rc->n_ts);
    for (size_t i = 0; i < ch->n; i++) {
        ck_assert(ch->expiry_ms[i] > ch->ts[i]);
        ck_assert(ch->mark_iv[i] < 5);
        ck_assert(ch->right[i] == CPO_RIGHT_CALL || ch->right[i] == CPO_RIGHT_PUT);
        ck_assert(ch->strike[i] > 0);
        ck_assert(ch->mark_px[i] >= 0);
    }
    if (!strcmp(rc->file, "deribit_btc_chain_2024_btc_options.csv"))
        ck_assert(rep_has(&rep, CPO_ISSUE_WARNING,
                          "34 rows have mark_iv 100.0, which looks like a placeholder"));
    if (rc->keep_last_poll)
        ck_assert(rep_has(&rep, CPO_ISSUE_INFO, "keep_last_poll: dropped"));
    ck_assert_uint_eq(ds->n_prov, 1);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(real_weekly)
{
    if (!real_present())
        return;
    static const char *const files[] = {
        "20260102T091809Z", "20260109T092126Z", "20260116T092000Z", "20260123T092319Z",
        "20260130T093122Z", "20260206T093516Z", "20260213T093610Z", "20260220T093342Z",
        "20260306T093046Z", "20260313T093305Z", "20260320T093339Z", "20260327T094709Z"};
    const size_t nf = sizeof files / sizeof files[0];
    cpo_dataset *ds;
    cpo_error err;
    static cpo_import_report rep;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    size_t kept = 0;
    for (size_t f = 0; f < nf; f++) {
        char path[1024];
        snprintf(path, sizeof path,
                 REAL_DIR "/options/deribit_weekly_snapshots/deribit_options_snapshot_%s.csv",
                 files[f]);
        /* no underlying: refused, listing both */
        ck_assert_int_eq(import_real(ds, path, NULL, NULL, 0, &rep, &err), CPO_EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "(expected --underlying BTC or ETH to choose one)"));
        size_t both = 0;
        for (int u = 0; u < 2; u++) {
            const char *und = u ? "ETH" : "BTC";
            ck_assert_msg(import_real(ds, path, und, NULL, 0, &rep, &err) == 0, "%s",
                          tu_errstr(&err));
            ck_assert_str_eq(rep.target, und);
            both += rep.rows_kept;
        }
        ck_assert_uint_eq(both, rep.rows_read);
        kept += both;
    }
    /* SOURCES.md: 18,682 rows in total.  (It lists 13 Fridays, but the
     * 2026-02-27 file is not in the directory; the 12 present hold them all.) */
    ck_assert_uint_eq(kept, 18682);
    ck_assert_uint_eq(ds->n_chains, 2);
    size_t total = 0;
    for (size_t k = 0; k < ds->n_chains; k++) {
        const cpo_chain *ch = &ds->chains[k];
        ck_assert(!strcmp(ch->underlying, "BTC") || !strcmp(ch->underlying, "ETH"));
        ck_assert_uint_eq(distinct_ts(ch), nf);
        for (size_t i = 0; i < ch->n; i++)
            ck_assert(strncmp(ch->name[i], ch->underlying, 3) == 0);
        total += ch->n;
    }
    ck_assert_uint_eq(total, 18682);
    ck_assert_uint_eq(ds->n_prov, 2 * nf);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(real_trades_refused)
{
    if (!real_present())
        return;
    cpo_dataset *ds;
    cpo_error err;
    static cpo_import_report rep;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    ck_assert_int_eq(import_real(ds, REAL_DIR "/options/deribit_trades_BTC-28JUN24-70000-C.csv",
                                 NULL, NULL, 0, &rep, &err),
                     CPO_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "is a trade list, not a chain snapshot"));
    ck_assert_uint_eq(ds->n_chains, 0);
    ck_assert_uint_eq(ds->n_prov, 0);
    cpo_dataset_free(ds);
}
END_TEST

static Suite *chain_suite(void)
{
    Suite *s = suite_create("chain");
    TCase *tc = tcase_create("layouts");
    tcase_add_test(tc, weekly_btc);
    tcase_add_test(tc, weekly_eth);
    tcase_add_test(tc, weekly_needs_underlying);
    tcase_add_test(tc, schepal_2020);
    tcase_add_test(tc, bottama_two_polls);
    tcase_add_test(tc, bottama_keep_last_poll);
    tcase_add_test(tc, soldnn_2024);
    tcase_add_test(tc, soldnn_needs_underlying_and_time);
    tcase_add_test(tc, tessicin_2026);
    tcase_add_test(tc, iv_units_declared);
    tcase_add_test(tc, lenient_drops_bad_rows);
    suite_add_tcase(s, tc);
    TCase *tg = tcase_create("generated");
    tcase_add_loop_test(tg, instrument_names, 0, (int)(sizeof NAMES / sizeof NAMES[0]));
    tcase_add_test(tg, instrument_name_values);
    tcase_add_loop_test(tg, greeks_dicts, 0, (int)(sizeof DICTS / sizeof DICTS[0]));
    tcase_add_test(tg, polls_rule);
    suite_add_tcase(s, tg);
    TCase *tb = tcase_create("bad");
    tcase_add_loop_test(tb, bad_files, 0, (int)(sizeof BAD / sizeof BAD[0]));
    tcase_add_test(tb, bad_rows_lenient);
    suite_add_tcase(s, tb);
    TCase *tr = tcase_create("real");
    tcase_set_timeout(tr, 120);
    tcase_add_loop_test(tr, real_single_snapshots, 0, (int)(sizeof REAL / sizeof REAL[0]));
    tcase_add_test(tr, real_weekly);
    tcase_add_test(tr, real_trades_refused);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(chain_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
