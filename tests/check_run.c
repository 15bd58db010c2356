/* check_run.c - `cpo run`: a config to a run folder; every file, the ledger
 * identity, byte-identical reruns, refusals and clean failures. */
#define _DEFAULT_SOURCE
#include <check.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/attrib.h"
#include "cpo/config.h"
#include "cpo/run.h"
#include "cpo/time.h"
#include "testutil.h"

/* 2024-01-01, a Monday. */
#define T0 INT64_C(1704067200000)

/* Two spot coins, 60 daily bars (tu_two_coin_store). */
static char *write_store(const char *dir)
{
    return tu_two_coin_store(dir);
}

/* Write dir/name with the text (data = store.h5 relative to it). */
static char *write_config(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);
    tu_write_file(p, text);
    return p;
}

static const char *const cfg_equal =
    "; equal weight, rebalanced every 10 days, with costs\n"
    "[backtest]\ndata = store.h5\ncapital = 100000\ndetail = instrument\n"
    "[costs]\nfee_bps = 10\nslippage_bps = 5\n"
    "[strategy]\nschedule = every_n\nweigh = equal\n"
    "[schedule.every_n]\nn = 10\n";

static int run_cfg(const char *cfg_path, const char *out, int force, cpo_run_report *rep,
                   cpo_error *e)
{
    cpo_config *c = NULL;
    int rc = cpo_config_load(&c, cfg_path, e);
    if (rc)
        return rc;
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = out;
    o.force = force;
    rc = cpo_run_to_dir(c, &o, rep, e);
    cpo_config_free(c);
    return rc;
}

/* --- ledger.csv read back ------------------------------------------------ */

typedef struct ledger {
    size_t n, ncol;
    char **col;      /* header names */
    double *v;       /* [n * ncol]; ts column holds 0 */
    char (*ts)[32];
} ledger;

static void ledger_read(ledger *L, const char *path)
{
    memset(L, 0, sizeof *L);
    size_t len;
    char *text = tu_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    ck_assert_ptr_nonnull(line);
    for (char *s = line, *f; (f = strsep(&s, ","));) {
        L->col = realloc(L->col, (L->ncol + 1) * sizeof *L->col);
        L->col[L->ncol++] = strdup(f);
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        L->v = realloc(L->v, (L->n + 1) * L->ncol * sizeof *L->v);
        L->ts = realloc(L->ts, (L->n + 1) * sizeof *L->ts);
        size_t k = 0;
        for (char *s = line, *f; (f = strsep(&s, ",")); k++) {
            ck_assert_uint_lt(k, L->ncol);
            if (k == 0) {
                snprintf(L->ts[L->n], sizeof L->ts[0], "%s", f);
                L->v[L->n * L->ncol] = 0.0;
            } else {
                char *end;
                double x = strtod(f, &end);
                L->v[L->n * L->ncol + k] = *end || end == f ? NAN : x; /* symbol: NaN */
            }
        }
        ck_assert_uint_eq(k, L->ncol);
        L->n++;
    }
    free(text);
}

static long ledger_col(const ledger *L, const char *name)
{
    for (size_t k = 0; k < L->ncol; k++)
        if (!strcmp(L->col[k], name))
            return (long)k;
    ck_abort_msg("no column %s", name);
    return -1;
}

static double ledger_at(const ledger *L, size_t row, const char *name)
{
    return L->v[row * L->ncol + (size_t)ledger_col(L, name)];
}

static void ledger_free(ledger *L)
{
    for (size_t k = 0; k < L->ncol; k++)
        free(L->col[k]);
    free(L->col);
    free(L->v);
    free(L->ts);
}

/*
 * The identity on every step: the P&L lines other than the residual add
 * up to the change in equity, to 1e-9 of equity (the engine's sums are
 * exact to ~1e-16; 1e-9 leaves room for the 17-digit text round trip and
 * still catches a missing cent on a million).  Returns the largest
 * relative gap.
 */
static double check_identity(const char *ledger_csv, double capital)
{
    ledger L;
    ledger_read(&L, ledger_csv);
    ck_assert_uint_gt(L.n, 0);
    const char *lines[] = {"price", "funding", "fees", "slippage", "liquidation", "revaluation",
                           "options", "financing"};
    int has_fin = 0; /* the financing column: runs with [financing] only */
    for (size_t k = 0; k < L.ncol; k++)
        has_fin |= !strcmp(L.col[k], "financing");
    double prev = capital, worst = 0.0;
    for (size_t t = 0; t < L.n; t++) {
        double eq = ledger_at(&L, t, "equity"), sum = 0.0;
        for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++)
            if (strcmp(lines[l], "financing") || has_fin)
                sum += ledger_at(&L, t, lines[l]);
        double gap = fabs(sum - (eq - prev)) / fmax(fabs(eq), 1.0);
        ck_assert_msg(gap <= 1e-9, "%s: step %zu (%s): lines %.17g, change in equity %.17g",
                      ledger_csv, t, L.ts[t], sum, eq - prev);
        double with_res = fabs(sum + ledger_at(&L, t, "residual") - (eq - prev)) / fmax(fabs(eq), 1.0);
        ck_assert_msg(with_res <= 1e-9, "%s: step %zu with the residual", ledger_csv, t);
        if (gap > worst)
            worst = gap;
        prev = eq;
    }
    ledger_free(&L);
    return worst;
}

/* --- tests --------------------------------------------------------------- */

START_TEST(test_run_files__all_written)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *cfg = write_config(dir, "equal.ini", cfg_equal);
    char *out = tu_path(dir, "runs/equal");
    cpo_run_report rep;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_str_eq(rep.dir, out);
    static const char *const files[] = {"summary.json", "ledger.csv", "ledger.h5",
                                        "ledger_instruments.csv", "trades.csv", "events.csv",
                                        "attribution_asset.csv", "attribution_asset_series.csv",
                                        "attribution_risk.csv", "attribution_factor.csv",
                                        "attribution_factor_rolling.csv",
                                        "attribution_greek.csv", "manifest.json"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
        ck_assert_msg(tu_file_in(out, files[k]), "%s missing", files[k]);
    ck_assert_uint_eq(rep.n_files, sizeof files / sizeof files[0]);
    /* No temporary file (NAME.tmp.<pid>) and no lock file left behind. */
    char left[2048] = "";
    ck_assert_msg(tu_count_tmp(out, left, sizeof left) == 0, "%s left", left);
    /* 60 daily bars: rebalanced on days 0, 10, ..., 50 (every_n n = 10). */
    ck_assert_uint_eq(rep.metrics.n_steps, 60);
    ck_assert_uint_eq(rep.metrics.n_rebalances, 6);
    ck_assert_double_eq(rep.metrics.periods_per_year, 365.0);
    ck_assert(rep.metrics.pnl[CPO_PNL_FEES] < 0.0);
    ck_assert(rep.metrics.pnl[CPO_PNL_SLIPPAGE] < 0.0);
    ck_assert_double_eq(rep.metrics.pnl[CPO_PNL_FUNDING], 0.0);

    char *lcsv = tu_path(out, "ledger.csv");
    ck_assert(check_identity(lcsv, 100000.0) <= 1e-9);
    ledger L, I;
    ledger_read(&L, lcsv);
    ck_assert_uint_eq(L.n, 60);
    ck_assert_str_eq(L.ts[0], "2024-01-01T00:00:00Z");
    ck_assert_str_eq(L.ts[59], "2024-02-29T00:00:00Z");
    ck_assert_str_eq(L.col[L.ncol - 1], "cash_USD");
    ck_assert_double_eq(ledger_at(&L, 59, "equity"), rep.metrics.final_equity);
    /* The per-instrument rows add up to the step's lines. */
    char *icsv = tu_path(out, "ledger_instruments.csv");
    ledger_read(&I, icsv);
    ck_assert_uint_gt(I.n, 0);
    size_t r = 0;
    for (size_t t = 0; t < L.n; t++) {
        double price = 0.0, fees = 0.0;
        for (; r < I.n && !strcmp(I.ts[r], L.ts[t]); r++) {
            price += ledger_at(&I, r, "price");
            fees += ledger_at(&I, r, "fees");
        }
        ck_assert_double_eq_tol(price, ledger_at(&L, t, "price"), 1e-9 * 1e5);
        ck_assert_double_eq_tol(fees, ledger_at(&L, t, "fees"), 1e-9 * 1e5);
    }
    ck_assert_uint_eq(r, I.n);

    /* ledger.h5 holds the same numbers. */
    char *h5 = tu_path(out, "ledger.h5");
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    double eq[60];
    hid_t d = H5Dopen2(f, "/ledger/equity", H5P_DEFAULT);
    ck_assert(d >= 0);
    ck_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, eq) >= 0);
    H5Dclose(d);
    for (size_t t = 0; t < 60; t++)
        ck_assert_double_eq(eq[t], ledger_at(&L, t, "equity")); /* %.17g round-trips */
    d = H5Dopen2(f, "/ledger_instruments/qty", H5P_DEFAULT);
    ck_assert(d >= 0);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[1];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    ck_assert_uint_eq(dims[0], I.n);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);

    /* summary.json: what the run was. */
    char *sj = tu_path(out, "summary.json");
    json_error_t je;
    json_t *s = json_load_file(sj, 0, &je);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(json_string_value(json_object_get(s, "fill")), "next_open");
    ck_assert_ptr_null(json_object_get(s, "fill_note"));
    ck_assert_int_eq(json_integer_value(json_object_get(s, "rebalances")), 6);
    ck_assert_double_eq(json_real_value(json_object_get(s, "final_equity")),
                        rep.metrics.final_equity);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(s, "settings"), "schedule.every_n"), "n")),
                     "10");
    json_decref(s);
    /* manifest.json: hashes of the inputs and of every output. */
    char *mj = tu_path(out, "manifest.json");
    json_t *m = json_load_file(mj, 0, &je);
    ck_assert_ptr_nonnull(m);
    char hex[65];
    ck_assert_int_eq(cpo_sha256_file(cfg, hex, &e), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "config"), "sha256")), hex);
    ck_assert_int_eq(cpo_sha256_file(store, hex, &e), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "data"), "sha256")), hex);
    ck_assert_int_eq(cpo_sha256_file(lcsv, hex, &e), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "files"), "ledger.csv")), hex);
    ck_assert_str_eq(json_string_value(json_object_get(m, "cpo_version")), CPO_VERSION);
    json_decref(m);

    ledger_free(&L);
    ledger_free(&I);
    free(sj);
    free(mj);
    free(h5);
    free(icsv);
    free(lcsv);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

/*
 * Known numbers: all in AAA at day 0's close, no costs, fill = close.
 * 1,000,000 / 100 = 10,000 AAA; on day 59 AAA closes at 159, so the final
 * equity is 1,590,000 and the total return 0.59.  AAA only rises: no
 * drawdown.
 */
START_TEST(test_run_known__buy_and_hold)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *cfg = write_config(dir, "bh.ini",
                             "[backtest]\ndata = store.h5\n"
                             "[costs]\nfill = close\nfee_bps = 0\nslippage_bps = 0\n"
                             "[strategy]\nschedule = once\nweigh = fixed\n"
                             "[weigh.fixed]\nweights = AAAUSDT:1\n");
    char *out = tu_path(dir, "bh");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_double_eq_tol(rep.metrics.final_equity, 1590000.0, 1e-9 * 1590000.0);
    ck_assert_double_eq_tol(rep.metrics.total_return, 0.59, 1e-12);
    ck_assert_double_eq(rep.metrics.max_drawdown, 0.0);
    ck_assert_uint_eq(rep.metrics.n_trades, 1);
    ck_assert_uint_eq(rep.metrics.n_rebalances, 1);
    ck_assert_int_eq(rep.fill, CPO_FILL_THIS_CLOSE);
    ck_assert(!tu_file_in(out, "ledger_instruments.csv")); /* detail = totals */
    char *sj = tu_path(out, "summary.json");
    json_error_t je;
    json_t *s = json_load_file(sj, 0, &je);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(json_string_value(json_object_get(s, "fill")), "close");
    ck_assert_str_eq(json_string_value(json_object_get(s, "fill_note")),
                     "fills at the decision bar's close: optimistic");
    json_decref(s);
    char *tc = tu_path(out, "trades.csv");
    char *t = tu_read_file(tc, NULL);
    /* Filled at day 0's close (stamped at the end of the bar). */
    ck_assert_str_eq(t, "ts,symbol,qty,px,ref_px,fee,slippage,liquidation\n"
                        "2024-01-01T23:59:59.999Z,AAAUSDT,10000,100,100,0,0,0\n");
    free(t);
    free(tc);
    free(sj);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

/*
 * Metrics by hand.  Capital 1,000,000; equity 1.1e6, 0.99e6, 1.089e6,
 * 1.089e6: returns 0.1, -0.1, 0.1, 0 (mean 0.025, sample variance
 * (0.075^2 + 0.125^2 + 0.075^2 + 0.025^2) / 3 = 0.0275 / 3).  Max drawdown
 * 1 - 0.99 / 1.1 = 0.1 from the first step to the second.
 */
START_TEST(test_run_metrics__by_hand)
{
    double eq[4] = {1.1e6, 0.99e6, 1.089e6, 1.089e6}, zero[4] = {0}, gross[4] = {1, 1, 1, 1};
    int64_t ts[4];
    double pnl_price[4] = {1e5, -1.1e5, 0.99e5, 0};
    cpo_result r;
    memset(&r, 0, sizeof r);
    r.n_steps = 4;
    r.ts = ts;
    r.equity = eq;
    r.gross = gross;
    r.net = gross;
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        r.pnl[l] = l == CPO_PNL_PRICE ? pnl_price : zero;
    r.capital = 1e6;
    for (int k = 0; k < 4; k++)
        ts[k] = T0 + k * CPO_MS_HOUR;
    cpo_run_metrics mt;
    cpo_error e;
    double sd = sqrt(0.0275 / 3.0);
    ck_assert_int_eq(cpo_run_metrics_compute(&mt, &r, CPO_MS_HOUR, NULL, &e), 0);
    ck_assert_double_eq(mt.periods_per_year, 8760.0); /* 365 * 24, never 252 */
    ck_assert_double_eq_tol(mt.annual_volatility, sd * sqrt(8760.0), 1e-12);
    ck_assert_double_eq_tol(mt.sharpe, 0.025 / sd * sqrt(8760.0), 1e-9);
    ck_assert_double_eq_tol(mt.total_return, 0.089, 1e-15);
    ck_assert_double_eq_tol(mt.max_drawdown, 0.1, 1e-15);
    ck_assert_int_eq(mt.drawdown_peak_ms, T0);
    ck_assert_int_eq(mt.drawdown_trough_ms, T0 + CPO_MS_HOUR);
    ck_assert_double_eq_tol(mt.pnl[CPO_PNL_PRICE], 0.89e5, 1e-9);
    ck_assert_int_eq(mt.end_ms, T0 + 4 * CPO_MS_HOUR);
    ck_assert_int_eq(cpo_run_metrics_compute(&mt, &r, CPO_MS_DAY, NULL, &e), 0);
    ck_assert_double_eq(mt.periods_per_year, 365.0);
    ck_assert_double_eq_tol(mt.annual_volatility, sd * sqrt(365.0), 1e-12);
    /* 4 days = 4/365 of a year: (1.089)^(365/4) - 1. */
    ck_assert_double_eq_tol(mt.annual_return, pow(1.089, 365.0 / 4.0) - 1.0, 1e-6);
}
END_TEST

static void assert_same_files(const char *a, const char *b)
{
    static const char *const files[] = {"summary.json", "ledger.csv", "ledger.h5",
                                        "ledger_instruments.csv", "trades.csv", "events.csv",
                                        "manifest.json"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char *pa = tu_path(a, files[k]), *pb = tu_path(b, files[k]);
        size_t na, nb;
        char *ta = tu_read_file(pa, &na), *tb = tu_read_file(pb, &nb);
        ck_assert_msg(ta && tb, "%s missing", files[k]);
        ck_assert_msg(na == nb && !memcmp(ta, tb, na), "%s differs between two runs", files[k]);
        free(ta);
        free(tb);
        free(pa);
        free(pb);
    }
}

START_TEST(test_run_bytes__identical_reruns)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *cfg = write_config(dir, "equal.ini", cfg_equal);
    char *o1 = tu_path(dir, "one"), *o2 = tu_path(dir, "two");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, o1, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    sleep(1); /* a time stamp anywhere (HDF5 object times have seconds) would show */
    ck_assert_msg(run_cfg(cfg, o2, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    assert_same_files(o1, o2);
    /* Rerun over the first with --force: still the same bytes. */
    ck_assert_msg(run_cfg(cfg, o1, 1, &rep, &e) == 0, "%s", tu_errstr(&e));
    assert_same_files(o1, o2);
    tu_rmtree(dir);
    free(o1);
    free(o2);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

START_TEST(test_run_folder__existing_refused)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *cfg = write_config(dir, "equal.ini", cfg_equal);
    char *out = tu_path(dir, "r");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    char *mj = tu_path(out, "manifest.json");
    char *before = tu_read_file(mj, NULL);
    ck_assert_int_eq(run_cfg(cfg, out, 0, &rep, &e), CPO_EEXIST);
    char want[1200];
    snprintf(want, sizeof want, "%s: the run folder already exists (expected -o NEW_DIR or --force)",
             out);
    ck_assert_str_eq(tu_errstr(&e), want);
    char *after = tu_read_file(mj, NULL);
    ck_assert_str_eq(before, after);
    free(after);
    /* --force replaces it; a file of the earlier run that this one does
     * not make (detail = instrument, then totals) goes. */
    ck_assert(tu_file_in(out, "ledger_instruments.csv"));
    char *cfg2 = write_config(dir, "equal2.ini",
                              "[backtest]\ndata = store.h5\n[strategy]\nschedule = once\n"
                              "weigh = equal\n");
    ck_assert_msg(run_cfg(cfg2, out, 1, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert(!tu_file_in(out, "ledger_instruments.csv"));
    ck_assert(tu_file_in(out, "manifest.json"));
    free(before);
    free(mj);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(cfg2);
    free(store);
    free(dir);
}
END_TEST

/*
 * cpo run --no-report (cpo_run_opts no_report): the run's files, the same
 * bytes as with the report, and no report.html or charts/.  Over a folder
 * with an earlier report (--force), that report goes, as it would show
 * another run; a file of the user's in charts/ stays, and so does charts/.
 */
START_TEST(test_run_files__no_report)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *cfg = write_config(dir, "equal.ini", cfg_equal);
    char *with = tu_path(dir, "with"), *without = tu_path(dir, "without");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, with, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert(tu_file_in(with, "report.html"));
    ck_assert(tu_file_in(with, "charts/equity.gp"));
    cpo_config *c = NULL;
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = without;
    o.no_report = 1;
    ck_assert_msg(cpo_run_to_dir(c, &o, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert(!tu_file_in(without, "report.html"));
    ck_assert(!tu_file_in(without, "charts"));
    assert_same_files(with, without);
    /* Over the folder with a report: it goes; the user's file stays. */
    char *mine = tu_path(with, "charts/notes.txt");
    tu_write_file(mine, "mine\n");
    o.out_dir = with;
    o.force = 1;
    ck_assert_msg(cpo_run_to_dir(c, &o, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert(!tu_file_in(with, "report.html"));
    ck_assert(!tu_file_in(with, "charts/equity.gp"));
    ck_assert(!tu_file_in(with, "charts/equity.dat"));
    ck_assert(!tu_file_in(with, "charts/equity.png"));
    ck_assert(tu_file_in(with, "charts/notes.txt"));
    assert_same_files(with, without);
    cpo_config_free(c);
    /* The command: --no-report, and the same files but the manifest's
     * command line. */
    char *cli = tu_path(dir, "cli");
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd, "%s run -q --no-report %s -o %s", CPO_BINARY, cfg, cli);
    ck_assert_int_eq(tu_run(cmd, &text), 0);
    ck_assert_str_eq(text, "");
    free(text);
    ck_assert(tu_file_in(cli, "summary.json"));
    ck_assert(tu_file_in(cli, "ledger.csv"));
    ck_assert(!tu_file_in(cli, "report.html"));
    ck_assert(!tu_file_in(cli, "charts"));
    /* cpo report makes the report of that folder afterwards. */
    snprintf(cmd, sizeof cmd, "%s report -q %s", CPO_BINARY, cli);
    ck_assert_int_eq(tu_run(cmd, &text), 0);
    free(text);
    ck_assert(tu_file_in(cli, "report.html"));
    ck_assert(tu_file_in(cli, "charts/equity.gp"));
    /* cpo report --charts: none keeps the scripts and data, no image;
     * a kind it does not know is refused with the kinds. */
    snprintf(cmd, sizeof cmd, "%s report -q --charts none %s", CPO_BINARY, cli);
    ck_assert_int_eq(tu_run(cmd, &text), 0);
    free(text);
    ck_assert(tu_file_in(cli, "charts/equity.gp"));
    ck_assert(!tu_file_in(cli, "charts/equity.png"));
    ck_assert(!tu_file_in(cli, "charts/equity.svg"));
    snprintf(cmd, sizeof cmd, "%s report --charts jpeg %s", CPO_BINARY, cli);
    ck_assert_int_eq(tu_run(cmd, &text), 2);
    ck_assert_ptr_nonnull(strstr(text, "cpo: --charts jpeg is not valid (expected both, png, svg "
                                       "or none)"));
    free(text);
    tu_rmtree(dir);
    free(cli);
    free(mine);
    free(with);
    free(without);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

/*
 * [report] charts = none: the report and its charts' scripts and data,
 * no image (gnuplot is not run); charts = svg: the SVG only.
 */
START_TEST(test_run_files__report_charts)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char text[1024];
    snprintf(text, sizeof text, "%s[report]\ncharts = none\n", cfg_equal);
    char *cfg = write_config(dir, "none.ini", text);
    char *out = tu_path(dir, "none");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert(tu_file_in(out, "report.html"));
    ck_assert(tu_file_in(out, "charts/equity.gp"));
    ck_assert(tu_file_in(out, "charts/equity.dat"));
    ck_assert(!tu_file_in(out, "charts/equity.png"));
    ck_assert(!tu_file_in(out, "charts/equity.svg"));
    free(out);
    free(cfg);
    if (tu_run("command -v gnuplot > /dev/null", NULL) == 0) {
        snprintf(text, sizeof text, "%s[report]\ncharts = svg\n", cfg_equal);
        cfg = write_config(dir, "svg.ini", text);
        out = tu_path(dir, "svg");
        ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
        ck_assert(tu_file_in(out, "charts/equity.svg"));
        ck_assert(!tu_file_in(out, "charts/equity.png"));
        free(out);
        free(cfg);
    }
    tu_rmtree(dir);
    free(store);
    free(dir);
}
END_TEST

/* A run that fails leaves no file under a final name, and no folder it
 * made. */
START_TEST(test_run_fail__nothing_left)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *out = tu_path(dir, "runs/x");
    cpo_run_report rep;
    cpo_error e;
    /* A missing store: refused before the folder is made. */
    char *cfg = write_config(dir, "missing.ini",
                             "[backtest]\ndata = nope.h5\n[strategy]\nschedule = once\n"
                             "weigh = equal\n");
    ck_assert_int_lt(run_cfg(cfg, out, 0, &rep, &e), 0);
    ck_assert_ptr_nonnull(strstr(tu_errstr(&e), "nope.h5"));
    ck_assert(!tu_exists(out));
    /* A stage that refuses its parameters when the run starts (the folder
     * was made by then): blamed on its config section, folder removed. */
    char *cfg2 = write_config(dir, "badw.ini",
                              "[backtest]\ndata = store.h5\n[strategy]\nschedule = once\n"
                              "weigh = fixed\n[weigh.fixed]\nweights = AAAUSDT:0.5, ZZZUSDT:0.5\n");
    ck_assert_int_lt(run_cfg(cfg2, out, 0, &rep, &e), 0);
    char want[1200];
    snprintf(want, sizeof want, "%s:7: [weigh.fixed] symbol \"ZZZUSDT\"", cfg2);
    ck_assert_msg(!strncmp(tu_errstr(&e), want, strlen(want)), "%s", tu_errstr(&e));
    ck_assert(!tu_exists(out));
    /* A period outside the data. */
    char *cfg3 = write_config(dir, "late.ini",
                              "[backtest]\ndata = store.h5\nstart = 2030-01-01\n"
                              "[strategy]\nschedule = once\nweigh = equal\n");
    ck_assert_int_lt(run_cfg(cfg3, out, 0, &rep, &e), 0);
    ck_assert(!tu_exists(out));
    /* An existing folder with --force and a failing run: the earlier
     * run's files stay whole, no .tmp is left. */
    char *cfg4 = write_config(dir, "ok.ini",
                              "[backtest]\ndata = store.h5\n[strategy]\nschedule = once\n"
                              "weigh = equal\n");
    ck_assert_msg(run_cfg(cfg4, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    char *mj = tu_path(out, "manifest.json");
    char *before = tu_read_file(mj, NULL);
    ck_assert_int_lt(run_cfg(cfg2, out, 1, &rep, &e), 0);
    char *after = tu_read_file(mj, NULL);
    ck_assert_str_eq(before, after);
    char left[2048] = "";
    ck_assert_msg(tu_count_tmp(out, left, sizeof left) == 0, "%s left", left);
    free(before);
    free(after);
    free(mj);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(cfg2);
    free(cfg3);
    free(cfg4);
    free(store);
    free(dir);
}
END_TEST

START_TEST(test_run_cli__command)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *cfg = write_config(dir, "equal.ini", cfg_equal);
    char *out = tu_path(dir, "cli");
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd, "%s run %s -o %s", CPO_BINARY, cfg, out);
    ck_assert_int_eq(tu_run(cmd, &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "final equity"));
    ck_assert_ptr_nonnull(strstr(text, "max drawdown"));
    ck_assert_ptr_nonnull(strstr(text, "60 bars of 1d (365 a year)"));
    ck_assert_ptr_nonnull(strstr(text, "fill            next_open"));
    free(text);
    ck_assert_int_eq(tu_run(cmd, &text), 1);
    char want[1200];
    snprintf(want, sizeof want,
             "cpo: %s: the run folder already exists (expected -o NEW_DIR or --force)\n", out);
    ck_assert_str_eq(text, want);
    free(text);
    snprintf(cmd, sizeof cmd, "%s run %s -o %s --force --quiet", CPO_BINARY, cfg, out);
    ck_assert_int_eq(tu_run(cmd, &text), 0);
    ck_assert_str_eq(text, "");
    free(text);
    snprintf(cmd, sizeof cmd, "%s run", CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &text), 2);
    ck_assert_ptr_nonnull(strstr(text, "cpo: no config (expected cpo run CONFIG)"));
    free(text);
    /* The default folder: runs/<config stem> under the working folder. */
    snprintf(cmd, sizeof cmd, "cd %s && %s run -q equal.ini && test -f runs/equal/manifest.json",
             dir, CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &text), 0);
    free(text);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

/*
 * A run without options: none of the option files, no "options" block in
 * summary.json, none listed in the manifest; the ledger has the options
 * column (0 on every step), and attribution_greek.csv is there (delta =
 * the price line) and listed with its SHA-256.
 */
START_TEST(test_run_options__none_without_options)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir);
    char *cfg = write_config(dir, "equal.ini", cfg_equal);
    char *out = tu_path(dir, "noopt");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    static const char *const opt_files[] = {"options.csv", "option_trades.csv", "explain.csv",
                                            "explain_by.csv"};
    char *mj = tu_path(out, "manifest.json"), *sj = tu_path(out, "summary.json");
    json_error_t je;
    json_t *m = json_load_file(mj, 0, &je), *s = json_load_file(sj, 0, &je);
    ck_assert(m && s);
    json_t *files = json_object_get(m, "files");
    for (size_t k = 0; k < sizeof opt_files / sizeof opt_files[0]; k++) {
        ck_assert_msg(!tu_file_in(out, opt_files[k]), "%s written", opt_files[k]);
        ck_assert_ptr_null(json_object_get(files, opt_files[k]));
    }
    /* No benchmark either: no benchmark.csv. */
    ck_assert(!tu_file_in(out, "benchmark.csv"));
    ck_assert_ptr_null(json_object_get(files, "benchmark.csv"));
    ck_assert_ptr_null(json_object_get(s, "options"));
    ck_assert_ptr_null(json_object_get(json_object_get(m, "resolved"), "options"));
    ck_assert_double_eq(json_real_value(json_object_get(json_object_get(s, "pnl"), "options")),
                        0.0);
    char *gp = tu_path(out, "attribution_greek.csv");
    char hex[65];
    ck_assert_int_eq(cpo_sha256_file(gp, hex, &e), 0);
    ck_assert_str_eq(json_string_value(json_object_get(files, "attribution_greek.csv")), hex);
    json_decref(m);
    json_decref(s);
    char *lcsv = tu_path(out, "ledger.csv");
    ledger L;
    ledger_read(&L, lcsv);
    for (size_t t = 0; t < L.n; t++)
        ck_assert_double_eq(ledger_at(&L, t, "options"), 0.0);
    ledger_free(&L);
    /* The Greek table: delta is the ledger's price line, step by step. */
    ledger G, P;
    ledger_read(&P, lcsv);
    char *text = tu_read_file(gp, NULL);
    char *body = strstr(text, "\nts,equity,total,");
    ck_assert_ptr_nonnull(body);
    char *gcsv = tu_path(dir, "greek_body.csv");
    tu_write_file(gcsv, body + 1);
    ledger_read(&G, gcsv);
    ck_assert_uint_eq(G.n, P.n);
    for (size_t t = 0; t < G.n; t++) {
        ck_assert_double_eq(ledger_at(&G, t, "delta"), ledger_at(&P, t, "price"));
        ck_assert_double_eq(ledger_at(&G, t, "gamma"), 0.0);
    }
    ledger_free(&G);
    ledger_free(&P);
    free(text);
    free(gcsv);
    free(lcsv);
    free(gp);
    free(mj);
    free(sj);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

/* --- real data --------------------------------------------------------- */

static void real_run(const char *tmp, const char *config, const char *store, cpo_run_report *rep)
{
    double capital;
    char *out = tu_run_example(tmp, config, store, rep, &capital);
    char *lcsv = tu_path(out, "ledger.csv");
    double worst = check_identity(lcsv, capital);
    fprintf(stderr,
            "check_run: %s: %zu bars, final equity %.2f, return %.4f, funding %.2f, fees %.2f, "
            "max residual %.3g, identity gap (csv) %.3g\n",
            config, rep->metrics.n_steps, rep->metrics.final_equity, rep->metrics.total_return,
            rep->metrics.pnl[CPO_PNL_FUNDING], rep->metrics.pnl[CPO_PNL_FEES],
            rep->metrics.max_rel_residual, worst);
    ck_assert(rep->metrics.max_rel_residual <= 1e-9);
    free(lcsv);
    free(out);
}

START_TEST(test_run_real__ledger_identity)
{
    char *tmp = tu_tmpdir();
    char *hourly = NULL, *daily = NULL;
    if (!tu_real_store(tmp, "hourly", &hourly) || !tu_real_store(tmp, "daily", &daily)) {
        free(hourly);
        tu_rmtree(tmp);
        free(tmp);
        return;
    }
    cpo_run_report rep;
    /* BTC spot long, BTCUSDT-PERP short, hourly, with 8-hourly funding. */
    real_run(tmp, "btc_perp_hedge.ini", hourly, &rep);
    ck_assert_double_eq(rep.metrics.periods_per_year, 8760.0);
    ck_assert(rep.metrics.pnl[CPO_PNL_FUNDING] != 0.0);
    ck_assert_uint_eq(rep.metrics.n_liquidations, 0);
    /* The hedge: equity moves far less than BTC. */
    ck_assert(fabs(rep.metrics.total_return) < 0.05);
    /* BTC collateral against short Deribit BTC futures, rolled (the
     * store's futures quoted weekly in the chain snapshots): three rolls
     * (02-20, 03-20, 04-17, each 7 days before an expiry, into the next
     * with 30 days or more), nothing delivered, every held step but the
     * quotes' modelled, and a dollar value that hardly moves while BTC
     * fell from about 90,000 to 70,000 (an inverse short against coins
     * worth its notional keeps their dollar value). */
    real_run(tmp, "basis_carry.ini", hourly, &rep);
    ck_assert_uint_eq(rep.metrics.n_rolls, 3);
    ck_assert_uint_eq(rep.metrics.n_deliveries, 0);
    ck_assert_uint_gt(rep.metrics.n_fut_held_modelled, 2000);
    ck_assert_uint_eq(rep.metrics.n_fut_held_stale, 0);
    ck_assert(fabs(rep.metrics.total_return) < 0.02);
    ck_assert(rep.metrics.max_drawdown > -0.01);
    /* Monthly equal weight on the 8 daily majors. */
    real_run(tmp, "monthly_equal_8.ini", daily, &rep);
    ck_assert_double_eq(rep.metrics.periods_per_year, 365.0);
    ck_assert_double_eq(rep.metrics.pnl[CPO_PNL_FUNDING], 0.0);
    ck_assert_uint_ge(rep.metrics.n_rebalances, 60);
    free(hourly);
    free(daily);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* A leverage above the first bracket's is refused with the config's line,
 * before any folder is made: btc_perp_hedge.ini with perp_leverage = 150
 * against BTCUSDT's 125x ([margin] brackets, the bundled table). */
START_TEST(test_run_real__leverage_above_the_brackets)
{
    char *tmp = tu_tmpdir();
    char *hourly = NULL;
    if (!tu_real_store(tmp, "hourly", &hourly)) {
        tu_rmtree(tmp);
        free(tmp);
        return;
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/configs/btc_perp_hedge.ini", CPO_SOURCE_DIR);
    cpo_config_key ov = {"costs", "perp_leverage", "150", 0};
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load_with(&c, p, &ov, 1, &e) == 0, "%s", tu_errstr(&e));
    free(c->data_path);
    c->data_path = strdup(hourly);
    char *out = tu_path(tmp, "lev");
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = out;
    cpo_run_report rep;
    ck_assert_int_eq(cpo_run_to_dir(c, &o, &rep, &e), CPO_ECONFIG);
    ck_assert_str_eq(e.msg, "BTCUSDT-PERP: leverage 150 is above the 125 its leverage brackets "
                            "allow (expected perp_leverage <= 125)");
    ck_assert_str_eq(e.path, p);
    ck_assert_int_gt(e.line, 0);
    ck_assert(!tu_exists(out));
    cpo_config_free(c);
    free(out);
    free(hourly);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* --- options end to end ------------------------------------------------ */

/* The part of a file after its '#' notes, as a file of its own (for
 * ledger_read). */
static char *strip_notes(const char *dir, const char *path, const char *name)
{
    char *text = tu_read_file(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    char *body = text;
    while (*body == '#') {
        body = strchr(body, '\n');
        ck_assert_ptr_nonnull(body);
        body++;
    }
    char *out = tu_path(dir, name);
    tu_write_file(out, body);
    free(text);
    return out;
}

static size_t count_in(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/*
 * configs/short_strangle_hedged.ini on the hourly demo store (a short BTC
 * strangle from the weekly Deribit snapshots, delta-hedged with the perp),
 * end to end.  On every step: the Greek lines of explain.csv add up to its
 * options line, and so do the waterfall lines (1e-9 of max(|options|, 1):
 * the engine closes both with the unexplained / residual term, so only the
 * rounding of the 17-digit text remains); explain.csv's options line is the
 * ledger's; the ledger identity holds with the options line; the Greek
 * attribution's lines add up to the change in equity.  explain_by.csv's
 * part rows add up to each total row; summary.json's options block agrees
 * with the files (marks by source counted in options.csv, flagged steps in
 * explain.csv, the options line summed from ledger.csv); every option file
 * is in the manifest with its SHA-256; a second run gives the same bytes.
 * Skipped without the data or the config.
 */
START_TEST(test_run_real__options_explain)
{
    char cfgp[1024];
    snprintf(cfgp, sizeof cfgp, "%s/configs/short_strangle_hedged.ini", CPO_SOURCE_DIR);
    if (!tu_exists(cfgp)) {
        fprintf(stderr, "check_run: %s missing: options end to end skipped\n", cfgp);
        return;
    }
    char *tmp = tu_tmpdir();
    char *hourly = NULL;
    if (!tu_real_store(tmp, "hourly", &hourly)) {
        tu_rmtree(tmp);
        free(tmp);
        return;
    }
    cpo_run_report rep;
    real_run(tmp, "short_strangle_hedged.ini", hourly, &rep);
    char *out = tu_path(tmp, "short_strangle_hedged.ini");
    char *lcsv = tu_path(out, "ledger.csv");
    /* (real_run checked the ledger identity, the options line included.) */
    ck_assert(rep.metrics.pnl[CPO_PNL_OPTIONS] != 0.0);

    /* explain.csv */
    char *xp = tu_path(out, "explain.csv");
    ledger X, L;
    ledger_read(&X, xp);
    ledger_read(&L, lcsv);
    ck_assert_uint_eq(X.n, L.n);
    size_t flagged = 0, traded = 0;
    double worst_g = 0.0, worst_w = 0.0, opt_sum = 0.0;
    for (size_t t = 0; t < X.n; t++) {
        ck_assert_str_eq(X.ts[t], L.ts[t]);
        double opt = ledger_at(&X, t, "options"), sg = 0.0, sw = 0.0;
        ck_assert_double_eq(opt, ledger_at(&L, t, "options"));
        for (int g = 0; g < CPO_GREEK_COUNT; g++)
            sg += ledger_at(&X, t, cpo_greek_name((cpo_greek_line)g));
        for (int w = 0; w < CPO_WF_COUNT; w++)
            sw += ledger_at(&X, t, cpo_wf_name((cpo_wf_line)w));
        double scale = fmax(fabs(opt), 1.0);
        ck_assert_msg(fabs(sg - opt) <= 1e-9 * scale, "step %zu (%s): Greek lines %.17g, options "
                      "line %.17g", t, X.ts[t], sg, opt);
        ck_assert_msg(fabs(sw - opt) <= 1e-9 * scale, "step %zu (%s): waterfall %.17g, options "
                      "line %.17g", t, X.ts[t], sw, opt);
        worst_g = fmax(worst_g, fabs(sg - opt) / scale);
        worst_w = fmax(worst_w, fabs(sw - opt) / scale);
        flagged += ledger_at(&X, t, "flag") != 0.0;
        traded += opt != 0.0;
        opt_sum += opt;
    }
    ck_assert_uint_gt(traded, X.n / 2); /* options held most of the run */
    /* Deribit's standard margin held at every close: the BTC pool's
     * maintenance stays below its margin balance (what falls below is
     * liquidated at that close), and the dollar pool's too. */
    for (size_t t = 0; t < L.n; t++) {
        ck_assert_msg(ledger_at(&L, t, "margin_ratio_BTC") < 1.0, "step %zu: BTC margin ratio %.17g",
                      t, ledger_at(&L, t, "margin_ratio_BTC"));
        ck_assert(ledger_at(&L, t, "margin_ratio_USD") < 1.0);
        ck_assert(ledger_at(&L, t, "im_BTC") >= 0.0);
    }
    fprintf(stderr, "check_run: short_strangle_hedged.ini: options %.2f, %zu flagged steps, "
                    "largest explain gap %.3g, waterfall gap %.3g\n",
            opt_sum, flagged, worst_g, worst_w);

    /* attribution_greek.csv: the lines of every step add up to its change
     * in equity (the ledger's), delta .. unexplained included. */
    char *gp = tu_path(out, "attribution_greek.csv");
    char *gb = strip_notes(tmp, gp, "greek_body.csv");
    ledger G;
    ledger_read(&G, gb);
    ck_assert_uint_eq(G.n, L.n);
    double prev = 1e6;
    for (size_t t = 0; t < G.n; t++) {
        double eq = ledger_at(&L, t, "equity"), sum = 0.0;
        for (int l = 0; l < CPO_AG_COUNT; l++)
            if (l != CPO_AG_FINANCING) /* the example has no [financing] */
                sum += ledger_at(&G, t, cpo_attrib_greek_name((cpo_attrib_greek_line)l));
        ck_assert_msg(fabs(sum - (eq - prev)) <= 1e-9 * fabs(eq), "Greek attribution, step %zu", t);
        ck_assert_double_eq(ledger_at(&G, t, "total"), eq - prev);
        prev = eq;
    }

    /* explain_by.csv: the part rows of each table add up to its total. */
    char *bp = tu_path(out, "explain_by.csv");
    ledger B;
    ledger_read(&B, bp);
    double acc[64];
    size_t tables = 0;
    ck_assert_uint_le(B.ncol, 64);
    memset(acc, 0, sizeof acc);
    for (size_t k = 0; k < B.n; k++) {
        const char *kind = B.ts[k];
        if (!strcmp(kind, "part")) {
            for (size_t c = 3; c < B.ncol; c++)
                acc[c] += B.v[k * B.ncol + c];
        } else if (!strcmp(kind, "total")) {
            for (size_t c = 3; c < B.ncol; c++) {
                double tot = B.v[k * B.ncol + c];
                ck_assert_msg(fabs(acc[c] - tot) <= 1e-9 * fmax(fabs(tot), 1.0),
                              "explain_by table %zu, %s: parts %.17g, total %.17g", tables,
                              B.col[c], acc[c], tot);
            }
            ck_assert_double_eq_tol(B.v[k * B.ncol + 3], opt_sum, 1e-9 * fmax(fabs(opt_sum), 1.0));
            memset(acc, 0, sizeof acc);
            tables++;
        }
    }
    ck_assert_uint_eq(tables, 3); /* by underlying, expiry, strategy */

    /* summary.json against the files. */
    char *op = tu_path(out, "options.csv");
    char *otext = tu_read_file(op, NULL);
    ck_assert_ptr_nonnull(otext);
    size_t rows = count_in(otext, "\n") - 1;
    char *sj = tu_path(out, "summary.json");
    json_error_t je;
    json_t *s = json_load_file(sj, 0, &je), *o = json_object_get(s, "options");
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq((size_t)json_integer_value(json_object_get(o, "positions")), rows);
    ck_assert_uint_eq((size_t)json_integer_value(json_object_get(o, "chain_marks")),
                      count_in(otext, ",chain,"));
    ck_assert_uint_eq((size_t)json_integer_value(json_object_get(o, "surface_marks")),
                      count_in(otext, ",surface,"));
    ck_assert_uint_eq((size_t)json_integer_value(json_object_get(o, "flagged_steps")), flagged);
    ck_assert_str_eq(json_string_value(json_object_get(o, "surface_mode")), "dvol_scaled");
    ck_assert_double_eq_tol(json_real_value(json_object_get(o, "options")), opt_sum,
                            1e-9 * fmax(fabs(opt_sum), 1.0));
    ck_assert_double_eq(json_real_value(json_object_get(o, "options")),
                        json_real_value(json_object_get(json_object_get(s, "pnl"), "options")));
    ck_assert(json_real_value(json_object_get(o, "explain_gap")) <= 1e-12);
    json_decref(s);
    free(otext);

    /* The manifest lists the option files with their hashes. */
    char *mj = tu_path(out, "manifest.json");
    json_t *m = json_load_file(mj, 0, &je);
    ck_assert_ptr_nonnull(m);
    static const char *const opt_files[] = {"options.csv", "option_trades.csv", "explain.csv",
                                            "explain_by.csv", "attribution_greek.csv"};
    for (size_t k = 0; k < sizeof opt_files / sizeof opt_files[0]; k++) {
        char *p = tu_path(out, opt_files[k]), hex[65];
        cpo_error e;
        ck_assert_int_eq(cpo_sha256_file(p, hex, &e), 0);
        const char *h = json_string_value(json_object_get(json_object_get(m, "files"), opt_files[k]));
        ck_assert_msg(h && !strcmp(h, hex), "%s: manifest %s", opt_files[k], h ? h : "(none)");
        free(p);
    }
    ck_assert_ptr_nonnull(json_object_get(json_object_get(m, "resolved"), "options"));
    json_decref(m);

    /* The same config again: the same bytes. */
    char *out2 = tu_path(tmp, "again");
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, cfgp, &e) == 0, "%s", tu_errstr(&e));
    free(c->data_path);
    c->data_path = strdup(hourly);
    cpo_run_opts ro;
    cpo_run_opts_init(&ro);
    ro.out_dir = out2;
    cpo_run_report rep2;
    ck_assert_msg(cpo_run_to_dir(c, &ro, &rep2, &e) == 0, "%s", tu_errstr(&e));
    cpo_config_free(c);
    static const char *const same[] = {"options.csv", "option_trades.csv", "explain.csv",
                                       "explain_by.csv", "attribution_greek.csv", "ledger.h5",
                                       "summary.json", "manifest.json"};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        char *pa = tu_path(out, same[k]), *pb = tu_path(out2, same[k]);
        size_t na, nb;
        char *ta = tu_read_file(pa, &na), *tb = tu_read_file(pb, &nb);
        ck_assert_msg(ta && tb && na == nb && !memcmp(ta, tb, na), "%s differs", same[k]);
        free(ta);
        free(tb);
        free(pa);
        free(pb);
    }

    ledger_free(&X);
    ledger_free(&L);
    ledger_free(&G);
    ledger_free(&B);
    free(out2);
    free(mj);
    free(sj);
    free(op);
    free(bp);
    free(gb);
    free(gp);
    free(xp);
    free(lcsv);
    free(out);
    free(hourly);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* --- a benchmark ([backtest] benchmark) ----------------------------------- */

/*
 * BTCUSDT and TWINUSDT, two spot coins with the same 12 daily closes
 * BENCH_CLOSE (up and down in turn, so that returns one step out of line
 * with the equity's would not fit it); each bar opens at the previous
 * close, high/low one above/below, volume 1e6.  Days 1 and 2 both close
 * at 100: a run from day 2 buys at 100 and the benchmark's first return
 * (day 1 -> day 2, from the bar before the run's grid) is 0, as the
 * equity's first one is.  HHHUSDT has 12-hour bars (24 of them, closing
 * at 100 + k): too fine for the daily grid of the other two.
 */
static const double BENCH_CLOSE[12] = {95, 100, 100, 104, 98, 107, 101, 110, 99, 105, 112, 103};

static char *write_bench_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    const char *syms[2] = {"BTCUSDT", "TWINUSDT"}, *bases[2] = {"BTC", "TWIN"};
    for (int k = 0; k < 2; k++) {
        cpo_instrument in;
        cpo_instrument_init(&in, syms[k], CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
        snprintf(in.base, sizeof in.base, "%s", bases[k]);
        snprintf(in.quote, sizeof in.quote, "USDT");
        size_t idx;
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
        cpo_bars *b = &ds->bars[idx];
        b->bar_ms = CPO_MS_DAY;
        double prev = BENCH_CLOSE[0];
        for (int t = 0; t < 12; t++) {
            double c = BENCH_CLOSE[t];
            ck_assert_int_eq(cpo_bars_append(b, T0 + t * CPO_MS_DAY, prev, fmax(prev, c) + 1,
                                             fmin(prev, c) - 1, c, 1e6, NAN, NAN, NAN, NAN),
                             0);
            prev = c;
        }
    }
    cpo_instrument in;
    cpo_instrument_init(&in, "HHHUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    snprintf(in.base, sizeof in.base, "HHH");
    snprintf(in.quote, sizeof in.quote, "USDT");
    size_t idx;
    ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
    ds->bars[idx].bar_ms = 12 * CPO_MS_HOUR;
    for (int k = 0; k < 24; k++)
        ck_assert_int_eq(cpo_bars_append(&ds->bars[idx], T0 + k * 12 * CPO_MS_HOUR, 100 + k,
                                         101 + k, 99 + k, 100 + k, 1e6, NAN, NAN, NAN, NAN),
                         0);
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

/*
 * Buy and hold of the benchmark itself: all in BTCUSDT at day 2's close
 * (fill = close, no costs: 1e6 / 100 = 10,000 BTC, no cash left), run
 * from day 2 to day 11.  The equity's return of step k is then BTC's
 * close-to-close return of that step (0 on day 2, bought at its close;
 * the benchmark's is 100 / 100 - 1 = 0 too), so the returns are equal
 * pair by pair: beta = cov(b, b) / var(b) = 1 and alpha = (1 + mean(0))^A
 * - 1 = 0.  The 10 pairs include day 2, whose benchmark return needs the
 * close of day 1, a bar before the run's grid.
 */
START_TEST(test_run_bench__self_beta_one)
{
    char *dir = tu_tmpdir();
    char *store = write_bench_store(dir);
    char *cfg = write_config(dir, "self.ini",
                             "[backtest]\ndata = store.h5\nstart = 2024-01-03\n"
                             "benchmark = BTCUSDT\n"
                             "[universe]\nsymbols = BTCUSDT\n"
                             "[costs]\nfill = close\nfee_bps = 0\nslippage_bps = 0\n"
                             "[strategy]\nschedule = once\nweigh = fixed\n"
                             "[weigh.fixed]\nweights = BTCUSDT:1\n");
    char *out = tu_path(dir, "self");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    const cpo_metrics *m = &rep.metrics.table;
    ck_assert_uint_eq(rep.metrics.n_steps, 10);
    ck_assert_double_eq_tol(rep.metrics.final_equity, 1e6 * 103.0 / 100.0, 1e-9 * 1e6);
    ck_assert_int_eq(m->has_benchmark, 1);
    ck_assert_uint_eq(m->n_pairs, 10);
    ck_assert_double_eq_tol(m->beta, 1.0, 1e-12);
    ck_assert_double_eq_tol(m->alpha, 0.0, 1e-12);
    /* summary.json: the symbol, and the table's keys. */
    json_t *s = tu_load_json(out, "summary.json");
    ck_assert_str_eq(json_string_value(json_object_get(s, "benchmark")), "BTCUSDT");
    json_t *mj = json_object_get(s, "metrics");
    ck_assert_double_eq(json_real_value(json_object_get(mj, "beta")), m->beta);
    ck_assert_ptr_nonnull(json_object_get(mj, "alpha"));
    ck_assert_int_eq(json_integer_value(json_object_get(mj, "benchmark_pairs")), 10);
    json_decref(s);
    /* manifest.json: resolved settings name it too, and it lists
     * benchmark.csv. */
    json_t *mf = tu_load_json(out, "manifest.json");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(mf, "resolved"), "benchmark")),
        "BTCUSDT");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(mf, "files"), "benchmark.csv"));
    json_decref(mf);
    /* benchmark.csv: a row per step, the close of the step and its return
     * from the step before (BENCH_CLOSE[k + 2] / BENCH_CLOSE[k + 1] - 1 for
     * the run's step k: day 2 is step 0, 100 / 100 - 1 = 0). */
    char *bp = tu_path(out, "benchmark.csv");
    char *bt = tu_read_file(bp, NULL);
    ck_assert_ptr_nonnull(bt);
    ck_assert_ptr_nonnull(strstr(bt, "ts,close,return\n2024-01-03T00:00:00Z,100,0\n"));
    const char *line = strchr(bt, '\n') + 1;
    for (int k = 0; k < 10; k++) {
        const char *c1 = strchr(line, ','), *c2 = strchr(c1 + 1, ',');
        ck_assert_double_eq(strtod(c1 + 1, NULL), BENCH_CLOSE[k + 2]);
        ck_assert_double_eq_tol(strtod(c2 + 1, NULL), BENCH_CLOSE[k + 2] / BENCH_CLOSE[k + 1] - 1.0,
                                1e-15);
        line = strchr(line, '\n') + 1;
    }
    ck_assert_str_eq(line, "");
    free(bt);
    free(bp);
    /* report.html: the note and the table's rows (beta 1 to 1e-12 prints
     * as "1" or "1.0000", alpha as a percentage). */
    char *hp = tu_path(out, "report.html");
    char *html = tu_read_file(hp, NULL);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "<p>alpha and beta against BTCUSDT "));
    ck_assert_ptr_nonnull(strstr(html, "<tr><td>beta</td><td class=\"n\">1"));
    ck_assert_ptr_nonnull(strstr(html, "<tr><td>alpha</td><td class=\"n\">"));
    ck_assert_ptr_nonnull(strstr(html, "<tr><td>benchmark pairs</td><td class=\"n\">10</td></tr>"));
    free(html);
    free(hp);

    /* A benchmark whose bars do not fit the run's grid: refused at its
     * line with the cube's reason, before the run folder is made. */
    char *bad = write_config(dir, "fine.ini",
                             "[backtest]\ndata = store.h5\nstart = 2024-01-03\n"
                             "benchmark = HHHUSDT\n"
                             "[universe]\nsymbols = BTCUSDT\n"
                             "[strategy]\nschedule = once\nweigh = equal\n");
    char *bad_out = tu_path(dir, "fine");
    ck_assert_int_eq(run_cfg(bad, bad_out, 0, &rep, &e), CPO_EDATA);
    char want[4096];
    snprintf(want, sizeof want,
             "%s:4: benchmark = \"HHHUSDT\": %s: HHHUSDT: bar spacing 12h is finer than the "
             "grid step 1d (expected bars no more frequent than the grid: resample them or use a "
             "step of 12h)",
             bad, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert(!tu_exists(bad_out));
    free(bad_out);
    free(bad);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

/*
 * Half in cash.  The universe is TWINUSDT (the same closes as BTCUSDT, the
 * benchmark), cash_buffer = 0.5, select = all, weigh = equal, rebalanced
 * at every close (fill = close, no costs, no lot rounding): after each
 * step 0.5 of equity is in TWIN and 0.5 in cash, so over the next step
 * r = 0.5 * (c_t / c_(t-1) - 1) = 0.5 b, and on day 2 r = 0 = 0.5 * 0.
 * Then beta = cov(0.5 b, b) / var(b) = 0.5 and alpha = (1 + mean(0.5 b -
 * 0.5 b))^A - 1 = 0.  select = all picks TWINUSDT alone: the benchmark is
 * not in the run's market (it is not held, not in summary's instruments
 * nor in the resolved universe).
 *
 * The same config without the key: the same ledger and trades, and the
 * summary and manifest are the keyed run's without the benchmark's
 * fields (no "benchmark", no alpha, beta or benchmark_pairs).
 */
START_TEST(test_run_bench__half_cash_and_without)
{
    char *dir = tu_tmpdir();
    char *store = write_bench_store(dir);
    static const char *const body =
        "[universe]\nsymbols = TWINUSDT\n"
        "[costs]\nfill = close\nfee_bps = 0\nslippage_bps = 0\nlot_rounding = no\n"
        "[strategy]\nschedule = every\nselect = all\nweigh = equal\n";
    char text[1024];
    snprintf(text, sizeof text,
             "[backtest]\ndata = store.h5\nstart = 2024-01-03\ncash_buffer = 0.5\n"
             "benchmark = BTCUSDT\n%s", body);
    char *cfg = write_config(dir, "half.ini", text);
    snprintf(text, sizeof text,
             "[backtest]\ndata = store.h5\nstart = 2024-01-03\ncash_buffer = 0.5\n%s", body);
    char *cfg0 = write_config(dir, "none.ini", text);
    char *out = tu_path(dir, "half"), *out0 = tu_path(dir, "none");
    cpo_run_report rep, rep0;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(run_cfg(cfg0, out0, 0, &rep0, &e) == 0, "%s", tu_errstr(&e));
    const cpo_metrics *m = &rep.metrics.table;
    ck_assert_uint_eq(rep.metrics.n_rebalances, 10);
    ck_assert_int_eq(m->has_benchmark, 1);
    ck_assert_uint_eq(m->n_pairs, 10);
    ck_assert_double_eq_tol(m->beta, 0.5, 1e-12);
    ck_assert_double_eq_tol(m->alpha, 0.0, 1e-12);
    /* By hand: the final equity is 1e6 * prod(1 + 0.5 b) over days 3..11. */
    double want = 1e6;
    for (int t = 3; t < 12; t++)
        want *= 1.0 + 0.5 * (BENCH_CLOSE[t] / BENCH_CLOSE[t - 1] - 1.0);
    ck_assert_double_eq_tol(rep.metrics.final_equity, want, 1e-9 * want);
    /* Not in the universe. */
    json_t *s = tu_load_json(out, "summary.json"), *s0 = tu_load_json(out0, "summary.json");
    json_t *ins = json_object_get(s, "instruments");
    ck_assert_uint_eq(json_array_size(ins), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ins, 0), "symbol")),
                     "TWINUSDT");
    json_t *mf = tu_load_json(out, "manifest.json"), *mf0 = tu_load_json(out0, "manifest.json");
    json_t *uni = json_object_get(json_object_get(mf, "resolved"), "universe");
    ck_assert_uint_eq(json_array_size(uni), 1);
    ck_assert_str_eq(json_string_value(json_array_get(uni, 0)), "TWINUSDT");

    /* Without the key: no benchmark fields... */
    ck_assert_int_eq(rep0.metrics.table.has_benchmark, 0);
    ck_assert(isnan(rep0.metrics.table.beta) && isnan(rep0.metrics.table.alpha));
    ck_assert_ptr_null(json_object_get(s0, "benchmark"));
    ck_assert_ptr_null(json_object_get(json_object_get(s0, "metrics"), "alpha"));
    ck_assert_ptr_null(json_object_get(json_object_get(s0, "metrics"), "beta"));
    ck_assert_ptr_null(json_object_get(json_object_get(mf0, "resolved"), "benchmark"));
    /* ... and otherwise the same run. */
    static const char *const same[] = {"ledger.csv", "trades.csv", "events.csv"};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        char *pa = tu_path(out, same[k]), *pb = tu_path(out0, same[k]);
        size_t na, nb;
        char *ta = tu_read_file(pa, &na), *tb = tu_read_file(pb, &nb);
        ck_assert_msg(ta && tb && na == nb && !memcmp(ta, tb, na), "%s differs", same[k]);
        free(ta);
        free(tb);
        free(pa);
        free(pb);
    }
    json_object_del(s, "benchmark");
    json_object_del(json_object_get(s, "metrics"), "alpha");
    json_object_del(json_object_get(s, "metrics"), "beta");
    json_object_del(json_object_get(s, "metrics"), "benchmark_pairs");
    json_object_del(json_object_get(json_object_get(s, "settings"), "backtest"), "benchmark");
    json_object_del(s, "config");
    json_object_del(s0, "config");
    ck_assert_msg(json_equal(s, s0), "summary.json differs beyond the benchmark's fields");
    json_t *r = json_object_get(mf, "resolved"), *r0 = json_object_get(mf0, "resolved");
    json_object_del(r, "benchmark");
    ck_assert(json_equal(r, r0));
    json_decref(s);
    json_decref(s0);
    json_decref(mf);
    json_decref(mf0);
    tu_rmtree(dir);
    free(out);
    free(out0);
    free(cfg);
    free(cfg0);
    free(store);
    free(dir);
}
END_TEST

/*
 * cpo_run_bench_returns by hand: closes 100, 110, 99, 99, NaN, 120 at
 * T0 - 1d .. T0 + 4d.  Steps at T0 .. T0 + 3d get 110/100 - 1 = 0.1,
 * 99/110 - 1 = -0.1, 0 and NaN (no close at T0 + 3d); T0 + 4d has no
 * close before it: NaN; a time off the grid, at or before the first close
 * or past the last is NaN too.
 */
START_TEST(test_run_bench__returns_aligned)
{
    double close[6] = {100, 110, 99, 99, NAN, 120};
    cpo_run_bench b;
    memset(&b, 0, sizeof b);
    snprintf(b.symbol, sizeof b.symbol, "BTCUSDT");
    b.start_ms = T0 - CPO_MS_DAY;
    b.step_ms = CPO_MS_DAY;
    b.n = 6;
    b.close = close;
    int64_t ts[8] = {T0, T0 + CPO_MS_DAY, T0 + 2 * CPO_MS_DAY, T0 + 3 * CPO_MS_DAY,
                     T0 + 4 * CPO_MS_DAY, T0 + CPO_MS_HOUR, T0 - CPO_MS_DAY, T0 + 5 * CPO_MS_DAY};
    double out[8];
    cpo_run_bench_returns(out, &b, ts, 8);
    ck_assert_double_eq_tol(out[0], 0.1, 1e-15);
    ck_assert_double_eq_tol(out[1], -0.1, 1e-15);
    ck_assert_double_eq(out[2], 0.0);
    for (int k = 3; k < 8; k++)
        ck_assert_msg(isnan(out[k]), "out[%d] = %g", k, out[k]);
    /* Without closes: all NaN. */
    cpo_run_bench none;
    memset(&none, 0, sizeof none);
    cpo_run_bench_returns(out, &none, ts, 3);
    ck_assert(isnan(out[0]) && isnan(out[1]) && isnan(out[2]));
}
END_TEST

/*
 * [bootstrap]: summary.json gets the stationary-bootstrap intervals of the
 * run's Sharpe ratio, CAGR and maximum drawdown.  Their estimates are the
 * run's own numbers (the summary's sharpe, annual_return, max_drawdown:
 * the same returns, the same formulas); the interval holds the estimate;
 * block = 5d on daily bars is 5 bars; the same config gives the same
 * bytes, another seed another interval; a bad key is refused with its
 * line before anything is written.  Without the section the summary has
 * no "bootstrap" key.
 */
START_TEST(test_run_bootstrap__summary_and_refusals)
{
    char *dir = tu_tmpdir();
    free(write_store(dir));
    char text[2048];
    snprintf(text, sizeof text, "%s[bootstrap]\nsamples = 400\nblock = 5d\nlevel = 0.9\n",
             cfg_equal);
    char *cfg = write_config(dir, "boot.ini", text);
    char *o1 = tu_path(dir, "b1"), *o2 = tu_path(dir, "b2"), *o3 = tu_path(dir, "b3");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, o1, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(run_cfg(cfg, o2, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    json_t *j = tu_load_json(o1, "summary.json");
    json_t *b = json_object_get(j, "bootstrap");
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "samples")), 400);
    ck_assert_double_eq(json_real_value(json_object_get(b, "block_bars")), 5.0);
    ck_assert_double_eq(json_real_value(json_object_get(b, "level")), 0.9);
    static const char *const ci[3] = {"sharpe", "cagr", "max_drawdown"};
    static const char *const top[3] = {"sharpe", "annual_return", "max_drawdown"};
    for (int k = 0; k < 3; k++) {
        json_t *c = json_object_get(b, ci[k]);
        double est = json_real_value(json_object_get(c, "estimate"));
        ck_assert_double_eq_tol(est, json_real_value(json_object_get(j, top[k])),
                                1e-12 * fmax(1.0, fabs(est)));
        double lo = json_real_value(json_object_get(c, "lo"));
        double hi = json_real_value(json_object_get(c, "hi"));
        ck_assert_msg(lo <= est && est <= hi, "%s: %g not in [%g, %g]", ci[k], est, lo, hi);
    }
    json_decref(j);
    char *s1 = tu_path(o1, "summary.json"), *s2 = tu_path(o2, "summary.json");
    size_t l1, l2;
    char *x = tu_read_file(s1, &l1), *y = tu_read_file(s2, &l2);
    ck_assert(l1 == l2 && !memcmp(x, y, l1));
    free(y);
    /* Another seed, another resample. */
    char *seeded = strstr(text, "capital = 100000\n");
    memmove(seeded + 9, seeded, strlen(seeded) + 1);
    memcpy(seeded, "seed = 7\n", 9);
    char *cfg3 = write_config(dir, "boot3.ini", text);
    ck_assert_msg(run_cfg(cfg3, o3, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    char *s3 = tu_path(o3, "summary.json");
    y = tu_read_file(s3, &l2);
    ck_assert(l1 != l2 || memcmp(x, y, l1));
    free(x);
    free(y);
    /* Refused before the folder exists, at the key's line (15). */
    static const char *const refused[3][2] = {
        {"[bootstrap]\nlevel = 2\n",
         "[bootstrap] level = \"2\" is not valid (expected a confidence level in [0.5, 0.999])"},
        {"[bootstrap]\nsample = 10\n",
         "unknown key \"sample\" in [bootstrap] (expected one of: samples, block, level)"},
        {"[attribution]\nfactor_universe = btc\n",
         "[attribution] factor_universe = \"btc\" is not valid (expected store, run, or coins "
         "like BTC, ETH, SOL)"}};
    char *bad = NULL, *o4 = tu_path(dir, "b4");
    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof text, "%s%s", cfg_equal, refused[k][0]);
        free(bad);
        bad = write_config(dir, "bad.ini", text);
        ck_assert_int_eq(run_cfg(bad, o4, 0, &rep, &e), CPO_ECONFIG);
        ck_assert_int_eq(e.line, 15);
        ck_assert_str_eq(e.msg, refused[k][1]);
        ck_assert(!tu_exists(o4));
    }
    /* No section, no key. */
    char *cfg0 = write_config(dir, "plain.ini", cfg_equal);
    ck_assert_msg(run_cfg(cfg0, o4, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    j = tu_load_json(o4, "summary.json");
    ck_assert_ptr_null(json_object_get(j, "bootstrap"));
    json_decref(j);
    free(cfg0);
    free(bad);
    free(o4);
    free(s1);
    free(s2);
    free(s3);
    free(cfg3);
    free(o1);
    free(o2);
    free(o3);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- dated futures: sparse quotes modelled, rolled, delivered ------------ */

/* 2024-03-20T00:00Z; the March quarterly expires 2024-03-29T08:00Z. */
static const int64_t FUT_T0 = INT64_C(1710892800000);
static const int64_t MAR29_EXP = INT64_C(1711699200000);
static const int64_t JUN28_EXP = INT64_C(1719561600000);

/* The index at hour h: 40000 + 10 h; the futures' quotes at 09:00 of days
 * 0, 2 and 6 at basis b (F = I (1 + b)), I their snapshot's index, taken
 * at 09:18 (the index's line from 09:00 to 10:00: 40000 + 10 (h - 1) + 3),
 * their bar's index. */
static double fut_index(int h) { return 40000.0 + 10.0 * h; }

static char *futures_store_with(const char *dir, int march_dense, int june_dense);

static char *futures_store(const char *dir) { return futures_store_with(dir, 0, 0); }

/* As futures_store; a dense future has a quote every hour before its
 * expiry (the June one: to h = 239); beside a dense one, the sparse June
 * has one more quote at 12:00 of day 7 (h = 180), the sparse March two
 * more at 10:00 and 11:00 of day 0 (h = 10, 11). */
static char *futures_store_with(const char *dir, int march_dense, int june_dense)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    cpo_instrument in;
    cpo_instrument_init(&in, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    snprintf(in.base, sizeof in.base, "BTC");
    snprintf(in.quote, sizeof in.quote, "USDT");
    size_t x;
    ck_assert_int_eq(cpo_dataset_add(ds, &in, &x, &e), 0);
    ds->bars[x].bar_ms = CPO_MS_HOUR;
    for (int h = 0; h < 240; h++) {
        double o = fut_index(h - 1), c = fut_index(h);
        ck_assert_int_eq(cpo_bars_append(&ds->bars[x], FUT_T0 + h * CPO_MS_HOUR, o, c, o, c, 10.0,
                                         NAN, NAN, NAN, NAN),
                         0);
    }
    static const char *const names[2] = {"BTC-29MAR24", "BTC-28JUN24"};
    const int64_t exps[2] = {MAR29_EXP, JUN28_EXP};
    const double basis[2] = {0.002, 0.02};
    for (int k = 0; k < 2; k++) {
        cpo_instrument_init(&in, names[k], CPO_KIND_FUTURE, CPO_SETTLE_INVERSE);
        snprintf(in.base, sizeof in.base, "BTC");
        snprintf(in.underlying, sizeof in.underlying, "BTC");
        snprintf(in.quote, sizeof in.quote, "USD");
        snprintf(in.exchange, sizeof in.exchange, "deribit");
        in.contract_size = 10.0;
        in.expiry_ms = exps[k];
        size_t f;
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &f, &e), 0);
        ds->bars[f].bar_ms = CPO_MS_HOUR;
        static const int days[3] = {0, 2, 6};
        int dense = k == 0 ? march_dense : june_dense, hours[240], nh = 0;
        if (dense) {
            for (int h = 0; h < 240 && FUT_T0 + (h + 1) * CPO_MS_HOUR <= exps[k]; h++)
                hours[nh++] = h;
        } else {
            for (int d = 0; d < 3; d++) {
                hours[nh++] = 24 * days[d] + 9;
                if (d == 0 && k == 0 && june_dense) /* the entry's decision and fill */
                    hours[nh++] = 10, hours[nh++] = 11;
            }
            if (k == 1 && march_dense)
                hours[nh++] = 180;
        }
        for (int q = 0; q < nh; q++) {
            int h = hours[q];
            double I = fut_index(h - 1) + 3.0, F = I * (1.0 + basis[k]);
            ck_assert_int_eq(cpo_bars_append(&ds->bars[f], FUT_T0 + h * CPO_MS_HOUR, F, F, F, F,
                                             NAN, NAN, NAN, NAN, I),
                             0);
        }
    }
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

static const char *const cfg_basis =
    "[backtest]\ndata = store.h5\nstart = 2024-03-20T10:00:00Z\ncapital = 1000000\n"
    "collateral = BTC:0.3\n"
    "[costs]\nfee_bps = 5\n"
    "[futures]\nindex.BTC = BTCUSDT\nbetween_quotes = basis\n"
    "[strategy]\nschedule = once\nweigh = fixed\noverlay = roll\n"
    "[weigh.fixed]\nweights = BTCUSDT:0.5\n"
    "[overlay.roll]\nunderlying = BTC\nweight = -1\nof = BTCUSDT\nroll_before = %s\n";

/* futures.csv: the rows of one symbol. */
typedef struct fut_row {
    char ts[32];
    double price, index, qty;
    char source[16];
} fut_row;

static size_t fut_rows(const char *dir, const char *symbol, fut_row *out, size_t cap)
{
    char *p = tu_path(dir, "futures.csv");
    size_t len, n = 0;
    char *text = tu_read_file(p, &len);
    free(p);
    ck_assert_ptr_nonnull(text);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    ck_assert_str_eq(line, "ts,symbol,expiry,days,price,source,index,basis,basis_annual,qty");
    while ((line = strtok_r(NULL, "\n", &save)) && n < cap) {
        char *f[10];
        int k = 0;
        for (char *q = line, *t; k < 10 && (t = strsep(&q, ","));)
            f[k++] = t;
        ck_assert_int_eq(k, 10);
        if (strcmp(f[1], symbol))
            continue;
        snprintf(out[n].ts, sizeof out[n].ts, "%s", f[0]);
        out[n].price = atof(f[4]);
        snprintf(out[n].source, sizeof out[n].source, "%s", f[5]);
        out[n].index = atof(f[6]);
        out[n].qty = atof(f[9]);
        n++;
    }
    free(text);
    return n;
}

/* The row of trades.csv (its text) for sym at ts: qty, px, ref_px in v;
 * the test fails without one. */
static void trade_row(const char *text, const char *ts, const char *sym, double v[3])
{
    char key[96];
    snprintf(key, sizeof key, "\n%s,%s,", ts, sym);
    const char *l = strstr(text, key);
    ck_assert_msg(l != NULL, "no trade %s %s in trades.csv", ts, sym);
    ck_assert_int_eq(sscanf(l + strlen(key), "%lf,%lf,%lf", &v[0], &v[1], &v[2]), 3);
}

/* trade_row's qty. */
static double trade_qty(const char *text, const char *ts, const char *sym)
{
    double v[3];
    trade_row(text, ts, sym, v);
    return v[0];
}

static size_t fut_find(const fut_row *r, size_t n, const char *ts)
{
    size_t k = 0;
    while (k < n && strcmp(r[k].ts, ts))
        k++;
    ck_assert_msg(k < n, "no row at %s", ts);
    return k;
}

START_TEST(test_run_futures__modelled_between_quotes_and_rolled)
{
    char *tmp = tu_tmpdir();
    char *store = futures_store(tmp);
    char cfg_text[2048];
    snprintf(cfg_text, sizeof cfg_text, cfg_basis, "2d");
    char *cfg = write_config(tmp, "basis.ini", cfg_text);
    char *out = tu_path(tmp, "out");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    /* The March future: quoted at 09:00 of days 0, 2 and 6, modelled in
     * between from the index and the latest quote's implied carry:
     * F = I (1.002)^((T - t) / (T - t_q)), from the quote's close (10:00
     * of day 0) to 03-29 08:00: 9 d - 2 h.  At the 15:00 step (its close
     * 16:00; h = 15): I = 40150, T - t = 9 d - 8 h. */
    static fut_row r[300];
    size_t n = fut_rows(out, "BTC-29MAR24", r, 300);
    ck_assert_uint_gt(n, 100);
    size_t k15 = fut_find(r, n, "2024-03-20T15:00:00Z");
    ck_assert_str_eq(r[k15].source, "basis");
    double want = 40150.0 * pow(1.002, (9.0 * 24 - 8) / (9.0 * 24 - 2));
    ck_assert_double_eq_tol(r[k15].price, want, 1e-9);
    ck_assert_double_eq_tol(r[k15].index, 40150.0, 1e-9);
    ck_assert_str_eq(r[fut_find(r, n, "2024-03-22T09:00:00Z")].source, "quote");
    /* The leg: short the spot's notional in March from the first fill;
     * rolled to June (roll_before 2d) at the step whose next fill leaves 2
     * days or less: decided 03-27 07:00, filled at 08:00. */
    ck_assert_double_lt(r[1].qty, 0.0);
    ck_assert_uint_eq(rep.metrics.n_rolls, 1);
    ck_assert_uint_eq(rep.metrics.n_deliveries, 0);
    ck_assert_uint_eq(rep.metrics.n_fut_held_stale, 0);
    ck_assert_uint_gt(rep.metrics.n_fut_held_modelled, 100);
    static fut_row j[300];
    size_t nj = fut_rows(out, "BTC-28JUN24", j, 300);
    size_t first = 0;
    while (first < nj && j[first].qty == 0.0)
        first++;
    ck_assert_uint_lt(first, nj);
    ck_assert_str_eq(j[first].ts, "2024-03-27T08:00:00Z");
    /* The same USD contracts carried over (inverse, 10 USD each both). */
    ck_assert_double_eq_tol(j[first].qty, r[fut_find(r, n, "2024-03-27T07:00:00Z")].qty, 1e-9);
    /* trades.csv has the delivery column; the summary the futures block. */
    char *trades = tu_path(out, "trades.csv");
    size_t len;
    char *text = tu_read_file(trades, &len);
    ck_assert_ptr_nonnull(strstr(text, "slippage,liquidation,delivery\n"));
    /* The roll's June leg fills at the 08:00 open of 03-27 (h = 176): the
     * modelled open is the index's open then (fut_index(175) = 41750) at
     * the carry from the open to the expiry, F = 41750 x 1.02^((T - t_o) /
     * (T - t_q)), t_q the close of the day-6 quote (h = 154): not the
     * close's index an hour later (41760). */
    double row[3];
    trade_row(text, "2024-03-27T08:00:00Z", "BTC-28JUN24", row);
    double t_o = (double)(FUT_T0 + 176 * CPO_MS_HOUR), t_q = (double)(FUT_T0 + 154 * CPO_MS_HOUR);
    double want_o = 41750.0 * pow(1.02, ((double)JUN28_EXP - t_o) / ((double)JUN28_EXP - t_q));
    ck_assert_double_eq_tol(row[2], want_o, 1e-9);
    free(text);
    free(trades);
    char *sum = tu_path(out, "summary.json");
    text = tu_read_file(sum, &len);
    ck_assert_ptr_nonnull(strstr(text, "\"rolls\": 1"));
    ck_assert_ptr_nonnull(strstr(text, "\"between_quotes\": \"basis\""));
    free(text);
    free(sum);
    /* The report: a Futures section with the basis chart's script. */
    char *html = tu_path(out, "report.html");
    text = tu_read_file(html, &len);
    ck_assert_ptr_nonnull(strstr(text, "<section id=\"futures\">"));
    ck_assert_ptr_nonnull(strstr(text, "<td>BTC-28JUN24</td>"));
    free(text);
    free(html);
    char *gp = tu_path(out, "charts/basis.gp");
    ck_assert(tu_exists(gp));
    free(gp);
    free(out);
    free(cfg);
    free(store);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_run_futures__held_to_delivery_and_refusals)
{
    char *tmp = tu_tmpdir();
    char *store = futures_store(tmp);
    char cfg_text[2048];
    /* roll_before 1m: the leg stays in March to its delivery. */
    snprintf(cfg_text, sizeof cfg_text, cfg_basis, "1m");
    char *cfg = write_config(tmp, "deliver.ini", cfg_text);
    char *out = tu_path(tmp, "out");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    /* Delivered at the 08:00 open of 03-29 on the TWAP of the index's 07:00
     * bar (h = 223: open 40000 + 10 x 222, close 40000 + 10 x 223), its
     * line over 07:30-08:00: open + 0.75 x 10; estimated (hourly bars). */
    ck_assert_uint_eq(rep.metrics.n_deliveries, 1);
    ck_assert_uint_eq(rep.metrics.n_delivery_approx, 1);
    char *sum = tu_path(out, "summary.json");
    size_t len;
    char *text = tu_read_file(sum, &len);
    char want[64];
    snprintf(want, sizeof want, "\"price\": %.17g", fut_index(222) + 7.5);
    ck_assert_msg(strstr(text, want) != NULL, "no %s in the summary", want);
    free(text);
    free(sum);
    free(out);
    free(cfg);
    /* Refused before anything is made: a future that expires in the run
     * without its index's bars. */
    static const char *const bad =
        "[backtest]\ndata = store.h5\nstart = 2024-03-20T10:00:00Z\ncollateral = BTC:0.3\n"
        "[futures]\nindex.BTC = BTC-INDEX\n"
        "[strategy]\nschedule = once\nweigh = fixed\n[weigh.fixed]\nweights = BTCUSDT:0.5\n";
    cfg = write_config(tmp, "bad.ini", bad);
    out = tu_path(tmp, "out2");
    ck_assert_int_eq(run_cfg(cfg, out, 0, &rep, &e), CPO_ECONFIG);
    char msg[2048];
    snprintf(msg, sizeof msg,
             "%s:6: futures: BTC-29MAR24 expires at 2024-03-29T08:00:00Z within the run and "
             "delivers at its index's 30-minute TWAP, but BTC-INDEX is not in %s (expected "
             "[futures] index.BTC = an instrument of the store with the index's bars)",
             cfg, store);
    ck_assert_str_eq(tu_errstr(&e), msg);
    ck_assert(!tu_exists(out));
    free(out);
    free(cfg);
    free(store);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/*
 * A fill at the open of a snapshot's quote bar (the day-2 quote at 09:00,
 * a price of 09:00..10:00 with no volume, as the chain's futures are) pays
 * the previous quote's carry on the index's open, not the quote that
 * arrives later in the hour: started 03-22 08:00, the leg is decided at
 * that step's close and filled at 09:00, F = fut_index(56) x
 * 1.002^((T - t_o) / (T - t_q)), t_q the close of the day-0 quote (h =
 * 10), where the quote is (fut_index(56) + 3) x 1.002.
 */
START_TEST(test_run_futures__quote_bar_open_not_ahead)
{
    char *tmp = tu_tmpdir();
    char *store = futures_store(tmp);
    char cfg_text[2048];
    snprintf(cfg_text, sizeof cfg_text, cfg_basis, "1m");
    char *at = strstr(cfg_text, "2024-03-20T10:00:00Z");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "2024-03-22T08:00:00Z", 20);
    char *cfg = write_config(tmp, "quote.ini", cfg_text);
    char *out = tu_path(tmp, "out");
    cpo_run_report rep;
    cpo_error e;
    ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
    char *trades = tu_path(out, "trades.csv");
    char *text = tu_read_file(trades, NULL);
    double row[3];
    trade_row(text, "2024-03-22T09:00:00Z", "BTC-29MAR24", row);
    double ref = row[2];
    double t_o = (double)(FUT_T0 + 57 * CPO_MS_HOUR), t_q = (double)(FUT_T0 + 10 * CPO_MS_HOUR);
    double want = fut_index(56) * pow(1.002, ((double)MAR29_EXP - t_o) / ((double)MAR29_EXP - t_q));
    ck_assert_double_eq_tol(ref, want, 1e-9);
    ck_assert_double_ne_tol(ref, (fut_index(56) + 3.0) * 1.002, 1.0);
    /* The quote bar's close: the snapshot's basis (1.002) on the index at
     * the close, fut_index(57), both in futures.csv, not the quote of
     * 09:18 beside the close's index. */
    static fut_row r[300];
    size_t n = fut_rows(out, "BTC-29MAR24", r, 300);
    size_t k = fut_find(r, n, "2024-03-22T09:00:00Z");
    ck_assert_str_eq(r[k].source, "quote");
    ck_assert_double_eq_tol(r[k].price, fut_index(57) * 1.002, 1e-9);
    ck_assert_double_eq_tol(r[k].index, fut_index(57), 1e-9);
    free(text);
    free(trades);
    free(out);
    free(cfg);
    free(store);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Universe symbols of a config over futures_store (NULL-terminated list
 * compared), or its error. */
static void expect_universe(const char *dir, const char *store, const char *lines,
                            const char *const *want, const char *want_err)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[backtest]\ndata = store.h5\n%s\n[strategy]\nschedule = once\nweigh = fixed\n"
             "[weigh.fixed]\nweights = BTCUSDT:0.5\n",
             lines);
    char *cfg = write_config(dir, "uni.ini", text);
    cpo_config *c = NULL;
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_store_read(&ds, store, &e) == 0, "%s", tu_errstr(&e));
    char **sym = NULL;
    size_t n = 0;
    int rc = cpo_config_universe(c, ds, &sym, &n, &e);
    if (want_err) {
        ck_assert_int_eq(rc, CPO_ECONFIG);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s:%s", cfg, want_err);
        ck_assert_str_eq(tu_errstr(&e), msg);
    } else {
        ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
        size_t k = 0;
        for (; want[k]; k++) {
            ck_assert_uint_lt(k, n);
            ck_assert_str_eq(sym[k], want[k]);
        }
        ck_assert_uint_eq(n, k);
    }
    cpo_config_symbols_free(sym, n);
    cpo_dataset_free(ds);
    cpo_config_free(c);
    free(cfg);
}

/* futures = BTC: every future of the coin alive in the run, by expiry;
 * futures named one by one keep the order written; one expired before the
 * start is left out; a coin without futures and a future named twice are
 * refused with the config's line. */
START_TEST(test_run_futures__universe_of_a_coin)
{
    char *tmp = tu_tmpdir();
    char *store = futures_store(tmp);
    static const char *const both[] = {"BTCUSDT", "BTC-29MAR24", "BTC-28JUN24", NULL};
    expect_universe(tmp, store, "start = 2024-03-20T10:00:00Z\n[universe]\nspot = BTCUSDT\n"
                                "futures = BTC",
                    both, NULL);
    /* Listed in reverse: symbols keep the order written. */
    static const char *const rev[] = {"BTC-28JUN24", "BTC-29MAR24", NULL};
    expect_universe(tmp, store, "start = 2024-03-20T10:00:00Z\n[universe]\n"
                                "futures = BTC-28JUN24, BTC-29MAR24",
                    rev, NULL);
    /* March has expired by 03-29 09:00: June only. */
    static const char *const june[] = {"BTC-28JUN24", NULL};
    expect_universe(tmp, store, "start = 2024-03-29T09:00:00Z\n[universe]\nfutures = BTC", june,
                    NULL);
    /* A coin without futures; a future named twice. */
    char eth[1024];
    snprintf(eth, sizeof eth,
             "5: futures \"ETH\": no dated future of ETH in %s is alive in the run (expected "
             "futures that expire after the start and have bars before the end, or a future's "
             "symbol)",
             store);
    expect_universe(tmp, store, "start = 2024-03-20T10:00:00Z\n[universe]\nfutures = ETH", NULL,
                    eth);
    expect_universe(tmp, store, "start = 2024-03-20T10:00:00Z\n[universe]\nfutures = BTC\n"
                                "symbols = BTC-28JUN24",
                    NULL,
                    "6: BTC-28JUN24 is in the universe twice (as \"BTC\" on line 5 and "
                    "\"BTC-28JUN24\"; expected each instrument once)");
    free(store);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/*
 * Half a roll.  With between_quotes = none a future fills only where it
 * has a bar (a carried price is no quote: the order is dropped).  Roll
 * decided 03-27 07:00 (roll_before 2d), to fill at 08:00:
 *   - March quoted every hour, June not at 08:00: March is closed, June
 *     dropped; the roll's notional is asked again each step and fills at
 *     June's next bar, 12:00 of day 7, the same USD contracts (10 USD both);
 *   - June quoted every hour, March not: June opens, March's close is
 *     dropped; the next steps close March again without adding to June
 *     (not twice the leg), and March, still held at its expiry, is
 *     delivered.
 */
START_TEST(test_run_futures__half_a_roll)
{
    for (int c = 0; c < 2; c++) {
        char *tmp = tu_tmpdir();
        char *store = futures_store_with(tmp, c == 0, c == 1);
        char cfg_text[2048];
        snprintf(cfg_text, sizeof cfg_text, cfg_basis, "2d");
        char *at = strstr(cfg_text, "between_quotes = basis\n");
        ck_assert_ptr_nonnull(at);
        memcpy(at, "between_quotes = none \n", 23);
        char *bt = strstr(cfg_text, "collateral = BTC:0.3\n");
        ck_assert_ptr_nonnull(bt);
        char full[2300];
        snprintf(full, sizeof full, "%.*sgap_fill = forward\n%s", (int)(bt - cfg_text), cfg_text,
                 bt);
        char *cfg = write_config(tmp, "half.ini", full);
        char *out = tu_path(tmp, "out");
        cpo_run_report rep;
        cpo_error e;
        ck_assert_msg(run_cfg(cfg, out, 0, &rep, &e) == 0, "%s", tu_errstr(&e));
        char *trades = tu_path(out, "trades.csv");
        char *text = tu_read_file(trades, NULL);
        static fut_row r[300];
        size_t n = fut_rows(out, "BTC-29MAR24", r, 300);
        double q0 = r[fut_find(r, n, "2024-03-27T07:00:00Z")].qty;
        ck_assert_msg(q0 < 0.0, "case %d: %s", c, text);
        static fut_row j[300];
        size_t nj = fut_rows(out, "BTC-28JUN24", j, 300);
        if (c == 0) {
            ck_assert_double_eq_tol(trade_qty(text, "2024-03-27T08:00:00Z", "BTC-29MAR24"), -q0,
                                    1e-9);
            ck_assert_ptr_null(strstr(text, "\n2024-03-27T08:00:00Z,BTC-28JUN24,"));
            ck_assert_double_eq_tol(trade_qty(text, "2024-03-27T12:00:00Z", "BTC-28JUN24"), q0,
                                    1e-9);
            ck_assert_uint_eq(rep.metrics.n_deliveries, 0);
        } else {
            ck_assert_double_eq_tol(trade_qty(text, "2024-03-27T08:00:00Z", "BTC-28JUN24"), q0,
                                    1e-9);
            ck_assert_ptr_null(strstr(text, "\n2024-03-27T08:00:00Z,BTC-29MAR24,"));
            /* June stays at q0 to the end: never added to twice. */
            ck_assert_double_eq_tol(j[nj - 1].qty, q0, 1e-9);
            ck_assert_uint_eq(rep.metrics.n_deliveries, 1);
        }
        free(text);
        free(trades);
        free(out);
        free(cfg);
        free(store);
        tu_rmtree(tmp);
        free(tmp);
    }
}
END_TEST

Suite *run_suite(void);
Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_run_files__all_written);
    tcase_add_test(tc, test_run_known__buy_and_hold);
    tcase_add_test(tc, test_run_metrics__by_hand);
    tcase_add_test(tc, test_run_bytes__identical_reruns);
    tcase_add_test(tc, test_run_files__no_report);
    tcase_add_test(tc, test_run_files__report_charts);
    tcase_add_test(tc, test_run_folder__existing_refused);
    tcase_add_test(tc, test_run_fail__nothing_left);
    tcase_add_test(tc, test_run_cli__command);
    tcase_add_test(tc, test_run_real__ledger_identity);
    tcase_add_test(tc, test_run_real__leverage_above_the_brackets);
    tcase_add_test(tc, test_run_options__none_without_options);
    tcase_add_test(tc, test_run_real__options_explain);
    tcase_add_test(tc, test_run_bench__self_beta_one);
    tcase_add_test(tc, test_run_bench__half_cash_and_without);
    tcase_add_test(tc, test_run_bench__returns_aligned);
    tcase_add_test(tc, test_run_bootstrap__summary_and_refusals);
    tcase_add_test(tc, test_run_futures__modelled_between_quotes_and_rolled);
    tcase_add_test(tc, test_run_futures__held_to_delivery_and_refusals);
    tcase_add_test(tc, test_run_futures__quote_bar_open_not_ahead);
    tcase_add_test(tc, test_run_futures__universe_of_a_coin);
    tcase_add_test(tc, test_run_futures__half_a_roll);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(run_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
