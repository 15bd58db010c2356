/* check_sweep.c - `cpo sweep`: grid parsing (lists, ranges, decimal steps,
 * refusals with their lines), the same leaderboard bytes on 1 and 2
 * threads, ranking, the heatmap files, the output folder, and a
 * walk-forward test that only look-ahead could fool. */
#define _DEFAULT_SOURCE
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/config.h"
#include "cpo/run.h"
#include "cpo/sweep.h"
#include "cpo/time.h"
#include "testutil.h"

/* 2024-01-01. */
#define T0 INT64_C(1704067200000)

/* --- stores -------------------------------------------------------------- */

static void add_coin(cpo_dataset *ds, const char *sym, const char *base, const double *close,
                     size_t n)
{
    cpo_error e;
    cpo_instrument in;
    cpo_instrument_init(&in, sym, CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    snprintf(in.base, sizeof in.base, "%s", base);
    snprintf(in.quote, sizeof in.quote, "USDT");
    size_t idx;
    ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
    cpo_bars *b = &ds->bars[idx];
    b->bar_ms = CPO_MS_DAY;
    double prev = close[0];
    for (size_t t = 0; t < n; t++) {
        double c = close[t];
        ck_assert_int_eq(cpo_bars_append(b, T0 + (int64_t)t * CPO_MS_DAY, prev,
                                         fmax(prev, c) * 1.001, fmin(prev, c) * 0.999, c, 1e6,
                                         NAN, NAN, NAN, NAN),
                         0);
        prev = c;
    }
}

static char *save_store(cpo_dataset *ds, const char *dir)
{
    cpo_error e;
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

/* Three coins, 120 daily bars of a seeded random walk. */
static char *write_walk_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    static const char *const syms[3] = {"AAAUSDT", "BBBUSDT", "CCCUSDT"};
    static const char *const bases[3] = {"AAA", "BBB", "CCC"};
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int k = 0; k < 3; k++) {
        double c[120], px = 100.0 * (k + 1);
        for (int t = 0; t < 120; t++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            px *= exp(0.06 * u + 0.002 * (k - 1));
            c[t] = px;
        }
        add_coin(ds, syms[k], bases[k], c, 120);
    }
    return save_store(ds, dir);
}

static char *write_config(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);
    tu_write_file(p, text);
    return p;
}

static int same_file(const char *a_dir, const char *b_dir, const char *name)
{
    char *a = tu_path(a_dir, name), *b = tu_path(b_dir, name);
    size_t la = 0, lb = 0;
    char *x = tu_read_file(a, &la), *y = tu_read_file(b, &lb);
    ck_assert_msg(x && y, "missing %s or %s", a, b);
    int same = la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    free(a);
    free(b);
    return same;
}

/* Lines of a file (its newlines). */
static size_t lines_of(const char *path)
{
    size_t len, rows = 0;
    char *text = tu_read_file(path, &len);
    ck_assert_msg(text != NULL, "missing %s", path);
    for (char *p = text; (p = strchr(p, '\n')); p++)
        rows++;
    free(text);
    return rows;
}

/* Run the cpo binary; returns its exit status, output in *out. */
static int cpo(const char *args, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", CPO_BINARY, args);
    return tu_run(cmd, out);
}

/* --- grid parsing ---------------------------------------------------------- */

static int load_sweep(const char *file, cpo_config **cfg, cpo_sweep **sw, cpo_error *e)
{
    *cfg = NULL;
    *sw = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/sweep/%s", CPO_TEST_DATA, file);
    int rc = cpo_config_load(cfg, path, e);
    if (!rc)
        rc = cpo_sweep_load(sw, *cfg, e);
    return rc;
}

START_TEST(test_grid__lists_and_ranges)
{
    cpo_config *cfg;
    cpo_sweep *sw;
    cpo_error e;
    ck_assert_msg(load_sweep("grid.ini", &cfg, &sw, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(sw->n_axes, 3);
    ck_assert_str_eq(sw->axes[0].name, "schedule.every_n.n");
    ck_assert_str_eq(sw->axes[0].section, "schedule.every_n");
    ck_assert_str_eq(sw->axes[0].key, "n");
    ck_assert_uint_eq(sw->axes[0].n_values, 4);
    ck_assert_str_eq(sw->axes[0].values[3], "10");
    static const char *const slip[] = {"0", "2", "4", "6", "8", "10"};
    ck_assert_uint_eq(sw->axes[1].n_values, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(sw->axes[1].values[i], slip[i]);
    /* A decimal step: exactly 7 values, each as written in decimal. */
    static const char *const cb[] = {"0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"};
    ck_assert_uint_eq(sw->axes[2].n_values, 7);
    for (size_t i = 0; i < 7; i++)
        ck_assert_str_eq(sw->axes[2].values[i], cb[i]);
    ck_assert_uint_eq(sw->n_points, 4 * 6 * 7);
    ck_assert_int_eq(sw->has_walkforward, 0);
    /* Row-major: the last key varies fastest. */
    ck_assert_str_eq(cpo_sweep_value(sw, 0, 0), "1");
    ck_assert_str_eq(cpo_sweep_value(sw, 1, 2), "0.3");
    ck_assert_str_eq(cpo_sweep_value(sw, 7, 1), "2");
    ck_assert_str_eq(cpo_sweep_value(sw, 7, 2), "0.2");
    ck_assert_str_eq(cpo_sweep_value(sw, 42, 0), "3");
    ck_assert_str_eq(cpo_sweep_value(sw, 167, 0), "10");
    ck_assert_str_eq(cpo_sweep_value(sw, 167, 1), "10");
    ck_assert_str_eq(cpo_sweep_value(sw, 167, 2), "0.8");
    /* A point's config has its values in place of the file's. */
    cpo_config *pc = NULL;
    ck_assert_msg(cpo_sweep_point_config(&pc, sw, 167, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_double_eq_tol(pc->run.cash_buffer, 0.8, 1e-15);
    ck_assert_double_eq_tol(pc->run.costs.slippage_bps, 10.0, 1e-15);
    ck_assert_str_eq(cpo_config_get(pc, "schedule.every_n", "n"), "10");
    ck_assert_double_eq(pc->run.costs.kind[CPO_KIND_SPOT].taker_bps, 10.0); /* the file's */
    cpo_config_free(pc);
    /* The base config is untouched. */
    ck_assert_double_eq(cfg->run.cash_buffer, 0.0);
    cpo_sweep_free(sw);
    cpo_config_free(cfg);
}
END_TEST

START_TEST(test_grid__decimal_ranges)
{
    /* Through the range parser alone, on a throwaway config. */
    char *dir = tu_tmpdir();
    static const struct {
        const char *range;
        size_t n;
        const char *first, *last;
    } cases[] = {
        {"0.2:0.8:0.1", 7, "0.2", "0.8"},   {"0:1:0.25", 5, "0.00", "1.00"},
        {"0.25:1:0.5", 2, "0.25", "0.75"},  {"1.0:2.0:0.5", 3, "1.0", "2.0"},
        {"0:0.3:0.1", 4, "0.0", "0.3"},       {"5:5:1", 1, "5", "5"},
        {"0.1:0.7:0.3", 3, "0.1", "0.7"},   {"0:0.00003:0.00001", 4, "0.00000", "0.00003"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char text[512];
        snprintf(text, sizeof text,
                 "[backtest]\ndata = x.h5\n[strategy]\nschedule = once\nweigh = equal\n"
                 "[sweep]\ncosts.slippage_bps = %s\n",
                 cases[c].range);
        char *p = write_config(dir, "r.ini", text);
        cpo_config *cfg;
        cpo_sweep *sw;
        cpo_error e;
        ck_assert_int_eq(cpo_config_load(&cfg, p, &e), 0);
        ck_assert_msg(cpo_sweep_load(&sw, cfg, &e) == 0, "%s: %s", cases[c].range, tu_errstr(&e));
        ck_assert_uint_eq(sw->axes[0].n_values, cases[c].n);
        ck_assert_str_eq(sw->axes[0].values[0], cases[c].first);
        ck_assert_str_eq(sw->axes[0].values[cases[c].n - 1], cases[c].last);
        cpo_sweep_free(sw);
        cpo_config_free(cfg);
        free(p);
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

typedef struct bad_case {
    const char *file;
    long line;
    const char *msg; /* exact, or a prefix when the text ends in "..." */
} bad_case;

static const bad_case bad_cases[] = {
    {"bad_range.ini", 9,
     "[sweep] costs.slippage_bps = \"5:1:1\" is not a range (expected start:stop:step with "
     "start <= stop and step > 0)"},
    {"zero_step.ini", 10,
     "[sweep] costs.slippage_bps = \"0:10:0\" is not a range (expected start:stop:step with "
     "start <= stop and step > 0)"},
    {"unknown_key.ini", 12,
     "unknown key \"costs.fee_bsp\" in [sweep] (expected SECTION.KEY, one of: "
     "backtest.{capital, currency, collateral, seed, cash_buffer}, costs.{fill, fee_bps, "
     "spot_fee_bps, perp_fee_bps, future_fee_bps, spot_maker_bps, perp_maker_bps, "
     "future_maker_bps, slippage_bps, impact_coef, "
     "participation_cap, lot_rounding, perp_leverage, perp_imr, perp_mmr}, "
     "schedule.every_n.{n, offset})"},
    {"market_key.ini", 9, "[sweep] backtest.start cannot vary in a sweep (it sets the market data "
                          "or the outputs, which every point shares; expected one of: ..."},
    {"bad_value.ini", 10,
     "slippage_bps = \"5000\" is not valid (expected a number of basis points in [0, 1000])"},
    {"bad_stage_value.ini", 12,
     "[schedule.every_n] n = \"0\" is not valid (expected an integer in [1, 1000000000])"},
    {"duplicate_value.ini", 9,
     "[sweep] costs.fee_bps gives the value \"1\" twice (expected each value once)"},
    /* The first value that repeats an earlier one: "1" (4th) before "3" (5th). */
    {"duplicate_first.ini", 9,
     "[sweep] costs.fee_bps gives the value \"1\" twice (expected each value once)"},
    /* 100,000 values of the range, then one of them again (found by
     * fuzz_config: comparing values pairwise took 18 s for 168,000). */
    {"duplicate_in_range.ini", 9,
     "[sweep] costs.slippage_bps gives the value \"50.000\" twice (expected each value once)"},
    {"no_sweep.ini", 0,
     "no [sweep] section (expected [sweep] with SECTION.KEY = values, e.g. "
     "costs.slippage_bps = 0:10:2)"},
    {"walkforward_bad.ini", 14,
     "[walkforward] mode = \"sideways\" is not valid (expected rolling, expanding or cpcv)"},
    {"cpcv_train.ini", 16,
     "[walkforward] train is not used with mode = cpcv (expected groups, test_groups, purge and "
     "embargo)"},
    {"cpcv_objective.ini", 17,
     "[walkforward] objective = max_drawdown is not available with mode = cpcv (expected sharpe, "
     "cagr, total_return or volatility: a score of non-adjacent groups)"},
    {"cpcv_groups.ini", 17,
     "[walkforward] test_groups = 4 with groups = 4 (expected 1 <= test_groups < groups)"},
    {"cpcv_keys_rolling.ini", 17,
     "[walkforward] groups, test_groups, purge and embargo are for mode = cpcv (expected mode = "
     "cpcv, or train and test)"},
    {"overfit_blocks.ini", 15, "[overfit] blocks = \"7\" is not valid (expected an even number "
                               "in [2, 20])"},
    {"overfit_key.ini", 15, "unknown key \"splits\" in [overfit] (expected blocks)"},
    {"walkforward_missing.ini", 12,
     "[walkforward] has no \"test\" (expected test = a duration like 30d)"},
};

START_TEST(test_grid__refusals)
{
    const bad_case *c = &bad_cases[_i];
    cpo_config *cfg;
    cpo_sweep *sw;
    cpo_error e;
    cpo_error_clear(&e);
    int rc = load_sweep(c->file, &cfg, &sw, &e);
    ck_assert_msg(rc == CPO_ECONFIG, "%s: rc %d (%s)", c->file, rc, tu_errstr(&e));
    ck_assert_ptr_null(sw);
    ck_assert_msg(strstr(e.path, c->file) != NULL, "%s: path %s", c->file, e.path);
    ck_assert_msg(e.line == c->line, "%s: line %ld, expected %ld (%s)", c->file, e.line, c->line,
                  e.msg);
    size_t n = strlen(c->msg);
    if (n > 3 && !strcmp(c->msg + n - 3, "..."))
        ck_assert_msg(!strncmp(e.msg, c->msg, n - 3), "%s:\n got  %s\n want %s", c->file, e.msg,
                      c->msg);
    else
        ck_assert_msg(!strcmp(e.msg, c->msg), "%s:\n got  %s\n want %s", c->file, e.msg, c->msg);
    cpo_config_free(cfg);
}
END_TEST

/* A [sweep] section does not disturb `cpo run`: the file's values run. */
START_TEST(test_grid__run_ignores_sweep)
{
    cpo_config *cfg = NULL;
    cpo_error e;
    char path[1024];
    snprintf(path, sizeof path, "%s/sweep/grid.ini", CPO_TEST_DATA);
    ck_assert_msg(cpo_config_load(&cfg, path, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_double_eq(cfg->run.costs.slippage_bps, 0.0);
    ck_assert_str_eq(cpo_config_get(cfg, "schedule.every_n", "n"), "10");
    cpo_config_free(cfg);
}
END_TEST

/* --- the leaderboard -------------------------------------------------------- */

static const char *const cfg_grid =
    "[backtest]\ndata = store.h5\ncapital = 100000\n"
    "[costs]\nfee_bps = 10\n"
    "[strategy]\nschedule = every_n\nweigh = equal\n"
    "[schedule.every_n]\nn = 10\n"
    "[sweep]\n"
    "schedule.every_n.n = 1, 3, 7, 20\n"
    "costs.slippage_bps = 0:30:7.5\n";

/* Column k of every data row of a CSV (no quoted fields in those). */
static size_t csv_column(const char *path, const char *name, double *out, size_t max)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    long col = -1, k = 0;
    for (char *s = line, *f; (f = strsep(&s, ",")); k++)
        if (!strcmp(f, name))
            col = k;
    ck_assert_msg(col >= 0, "no column %s in %s", name, path);
    size_t n = 0;
    while ((line = strtok_r(NULL, "\n", &save)) && n < max) {
        k = 0;
        for (char *s = line, *f; (f = strsep(&s, ",")); k++)
            if (k == col)
                out[n++] = strtod(f, NULL);
    }
    free(text);
    return n;
}

/* The point of the first row of DIR/leaderboard.csv. */
static double pt_first(const char *dir)
{
    char *lb = tu_path(dir, "leaderboard.csv");
    double pt[64];
    ck_assert_uint_ge(csv_column(lb, "point", pt, 64), 1);
    free(lb);
    return pt[0];
}

START_TEST(test_leaderboard__same_bytes_any_threads)
{
    char *dir = tu_tmpdir();
    free(write_walk_store(dir));
    char *cfg = write_config(dir, "grid.ini", cfg_grid);
    char *d1 = tu_path(dir, "j1"), *d2 = tu_path(dir, "j2"), *d3 = tu_path(dir, "j3");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -j 1 -o %s", cfg, d1);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "20 points") != NULL, "%s", out);
    free(out);
    snprintf(args, sizeof args, "sweep %s -j 2 -o %s --no-plot --quiet", cfg, d2);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    ck_assert_str_eq(out, ""); /* quiet, and no progress off a terminal */
    free(out);
    snprintf(args, sizeof args, "sweep %s -j 3 -o %s --no-plot --quiet", cfg, d3);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    static const char *const files[] = {"leaderboard.csv", "heatmap.dat", "heatmap.gp",
                                        "summary.json", "best/summary.json", "best/ledger.csv"};
    for (size_t f = 0; f < 6; f++) {
        ck_assert_msg(same_file(d1, d2, files[f]), "%s differs for -j 1 and -j 2", files[f]);
        ck_assert_msg(same_file(d1, d3, files[f]), "%s differs for -j 1 and -j 3", files[f]);
    }
    /* The page shows the heatmap's image when it was drawn: the same bytes
     * for the same plotting, whatever -j. */
    ck_assert_msg(same_file(d2, d3, "leaderboard.html"), "leaderboard.html differs for -j 2 and -j 3");
    ck_assert_msg(same_file(d2, d3, "best/report.html"), "best/report.html differs");
    /* Sorted by the objective (sharpe by default), best first. */
    char *lb = tu_path(d1, "leaderboard.csv");
    double sh[64], rank[64], pt[64];
    ck_assert_uint_eq(csv_column(lb, "sharpe", sh, 64), 20);
    ck_assert_uint_eq(csv_column(lb, "rank", rank, 64), 20);
    ck_assert_uint_eq(csv_column(lb, "point", pt, 64), 20);
    int seen[20] = {0};
    for (size_t i = 0; i < 20; i++) {
        ck_assert_double_eq(rank[i], (double)(i + 1));
        seen[(int)pt[i]]++;
        if (i)
            ck_assert_msg(sh[i - 1] > sh[i] || (sh[i - 1] == sh[i] && pt[i - 1] < pt[i]),
                          "row %zu: sharpe %.17g after %.17g", i, sh[i], sh[i - 1]);
    }
    for (size_t i = 0; i < 20; i++)
        ck_assert_int_eq(seen[i], 1);
    /* More slippage never helps at the same schedule. */
    size_t len;
    char *text = tu_read_file(lb, &len);
    ck_assert_ptr_nonnull(strstr(text, "rank,point,schedule.every_n.n,costs.slippage_bps,"
                                       "total_return,cagr,annual_vol,sharpe,max_drawdown,calmar,"
                                       "final_equity,fees,slippage,funding,avg_gross,steps,trades,"
                                       "rebalances,liquidations,skew,kurtosis,dsr,gross_return,"
                                       "gross_cagr,error\n"));
    free(text);
    /* The page: self-contained; the chosen point (the first row) with its
     * small report from best/ (a run folder with its report), the heatmap,
     * the leaderboard, and the place of the overfitting statistics. */
    char *html = tu_path(d1, "leaderboard.html");
    text = tu_read_file(html, &len);
    ck_assert_ptr_nonnull(strstr(text, "<table class=\"lb\">"));
    ck_assert_ptr_null(strstr(text, "<script"));
    ck_assert_ptr_null(strstr(text, "http"));
    static const char *const sec[] = {"best", "heatmap", "leaderboard", "overfitting"};
    for (size_t k = 0; k < 4; k++) {
        char id[64];
        snprintf(id, sizeof id, "<section id=\"%s\">", sec[k]);
        ck_assert_msg(strstr(text, id) != NULL, "no %s", id);
        snprintf(id, sizeof id, "<a href=\"#%s\">", sec[k]);
        ck_assert_msg(strstr(text, id) != NULL, "no link to %s", sec[k]);
    }
    {
        char pt[64];
        snprintf(pt, sizeof pt, "<p>Point %d, the best by sharpe", (int)pt_first(d1));
        ck_assert_msg(strstr(text, pt) != NULL, "%s", pt);
    }
    ck_assert_ptr_nonnull(strstr(text, "<a href=\"best/report.html\">"));
    ck_assert_ptr_nonnull(strstr(text, "<section id=\"overfitting\"><h2>Overfitting: can the best "
                                       "point be trusted?</h2>\n<table class=\"of\">"));
    ck_assert(tu_file_in(d1, "best/report.html"));
    ck_assert(tu_file_in(d1, "best/manifest.json"));
    if (tu_run("command -v gnuplot", NULL) == 0) {
        ck_assert_ptr_nonnull(strstr(text, "<img src=\"heatmap.png\""));
        ck_assert_ptr_nonnull(strstr(text, "<img src=\"best/charts/equity.png\""));
    }
    free(text);
    /* Without plots: the page says so and has no image. */
    char *html2 = tu_path(d2, "leaderboard.html");
    text = tu_read_file(html2, &len);
    ck_assert_ptr_null(strstr(text, "<img "));
    ck_assert_ptr_nonnull(strstr(text, "heatmap.png is not drawn"));
    free(text);
    free(html2);
    /* best/'s manifest says which point it is. */
    char *bm = tu_path(d1, "best/manifest.json");
    text = tu_read_file(bm, &len);
    ck_assert_ptr_nonnull(strstr(text, "\"command\": \"cpo sweep "));
    ck_assert_ptr_nonnull(strstr(text, ": point "));
    free(text);
    free(bm);
    /* Heatmap: 4 x 5 values, a gnuplot script, the PNG when gnuplot exists. */
    char *dat = tu_path(d1, "heatmap.dat");
    text = tu_read_file(dat, &len);
    size_t rows = 0;
    for (char *p = text; (p = strchr(p, '\n')); p++)
        rows++;
    ck_assert_uint_eq(rows, 2 + 20 + 3); /* 2 comments, 20 cells, 3 block breaks */
    free(text);
    char *gp = tu_path(d1, "heatmap.gp");
    text = tu_read_file(gp, &len);
    ck_assert_ptr_nonnull(strstr(text, "set terminal pngcairo"));
    ck_assert_ptr_nonnull(strstr(text, "set xtics ('1' 0, '3' 1, '7' 2, '20' 3)"));
    ck_assert_ptr_nonnull(strstr(text, "set ytics ('0.0' 0, '7.5' 1, '15.0' 2, '22.5' 3, '30.0' 4)"));
    free(text);
    if (tu_run("command -v gnuplot", NULL) == 0)
        ck_assert(tu_file_in(d1, "heatmap.png"));
    ck_assert(!tu_file_in(d2, "heatmap.png"));
    char left[2048] = "";
    ck_assert_msg(tu_count_tmp(d1, left, sizeof left) == 0, "%s left", left);
    free(lb);
    free(html);
    free(dat);
    free(gp);

    /* Another objective: lowest drawdown first. */
    snprintf(args, sizeof args, "sweep %s -o %s --force --no-plot --quiet --objective max_drawdown",
             cfg, d2);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    lb = tu_path(d2, "leaderboard.csv");
    double dd[64];
    ck_assert_uint_eq(csv_column(lb, "max_drawdown", dd, 64), 20);
    for (size_t i = 1; i < 20; i++)
        ck_assert(dd[i - 1] <= dd[i]);
    free(lb);
    free(d1);
    free(d2);
    free(d3);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* With -j 2 the heatmap's gnuplot runs while best/ runs (with -j 1,
 * before it): the same files either way; and a gnuplot that fails is
 * said, leaves no heatmap.png and no temporary file, and the sweep still
 * ends well. */
START_TEST(test_leaderboard__heatmap_beside_best)
{
    if (tu_run("command -v gnuplot", NULL) != 0)
        return; /* the heatmap needs gnuplot (deps.sh installs it) */
    char *dir = tu_tmpdir();
    free(write_walk_store(dir));
    char *cfg = write_config(dir, "grid.ini", cfg_grid);
    char *d1 = tu_path(dir, "j1"), *d2 = tu_path(dir, "j2"), *d3 = tu_path(dir, "bad");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -j 1 -o %s --quiet", cfg, d1);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    snprintf(args, sizeof args, "sweep %s -j 2 -o %s --quiet", cfg, d2);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    static const char *const files[] = {"heatmap.png", "leaderboard.html", "best/report.html",
                                        "best/charts/equity.png"};
    for (size_t f = 0; f < 4; f++)
        ck_assert_msg(same_file(d1, d2, files[f]), "%s differs for -j 1 and -j 2", files[f]);
    char first[1200] = "";
    ck_assert_msg(tu_count_tmp(d2, first, sizeof first) == 0, "left behind: %s", first);
    /* A gnuplot that fails (first on PATH). */
    char *bin = tu_path(dir, "bin"), *gp = tu_path(bin, "gnuplot");
    char cmd[3200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", bin);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    tu_write_file(gp, "#!/bin/sh\necho 'gnuplot: broken' >&2\nexit 1\n");
    snprintf(cmd, sizeof cmd, "chmod +x '%s' && PATH='%s':\"$PATH\" %s sweep %s -j 2 -o %s", gp,
             bin, CPO_BINARY, cfg, d3);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "gnuplot failed on ") &&
                      strstr(out, "heatmap.gp (kept; no heatmap.png)"),
                  "%s", out);
    free(out);
    ck_assert(!tu_file_in(d3, "heatmap.png"));
    ck_assert(tu_file_in(d3, "heatmap.gp"));
    ck_assert(tu_file_in(d3, "best/report.html"));
    ck_assert_msg(tu_count_tmp(d3, first, sizeof first) == 0, "left behind: %s", first);
    free(gp);
    free(bin);
    free(d1);
    free(d2);
    free(d3);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_leaderboard__folder_refused)
{
    char *dir = tu_tmpdir();
    free(write_walk_store(dir));
    char *cfg = write_config(dir, "grid.ini",
                             "[backtest]\ndata = store.h5\n[strategy]\nschedule = once\n"
                             "weigh = equal\n[sweep]\ncosts.fee_bps = 0, 10, 20\n");
    char *d = tu_path(dir, "out");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -o %s -q", cfg, d);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    ck_assert(tu_file_in(d, "leaderboard.csv"));
    ck_assert(!tu_file_in(d, "heatmap.gp")); /* one key: no heatmap */
    /* Again: refused, the files untouched. */
    ck_assert_int_eq(cpo(args, &out), 1);
    ck_assert_msg(strstr(out, "the sweep folder already exists (expected -o NEW_DIR or --force)"),
                  "%s", out);
    free(out);
    ck_assert(tu_file_in(d, "leaderboard.csv"));
    /* --force replaces them. */
    snprintf(args, sizeof args, "sweep %s -o %s -q --force", cfg, d);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    /* A bad objective or -j is a usage error. */
    snprintf(args, sizeof args, "sweep %s -o %s --objective luck", cfg, d);
    ck_assert_int_eq(cpo(args, &out), 2);
    ck_assert_ptr_nonnull(strstr(out, "--objective \"luck\" is not valid (expected one of: sharpe"));
    free(out);
    snprintf(args, sizeof args, "sweep %s -j 0", cfg);
    ck_assert_int_eq(cpo(args, &out), 2);
    free(out);
    free(d);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A [backtest] benchmark in a swept config: checked against the store at
 * its line before any backtest; a sweep's rows have no alpha or beta, so
 * the files are those of the config without it. */
START_TEST(test_leaderboard__benchmark)
{
    char *dir = tu_tmpdir();
    free(write_walk_store(dir));
    static const char *const body =
        "[universe]\nspot = AAA, BBB\n[strategy]\nschedule = once\nweigh = equal\n"
        "[sweep]\ncosts.fee_bps = 0, 10, 20\n";
    char text[1024];
    snprintf(text, sizeof text, "[backtest]\ndata = store.h5\n%s", body);
    char *c0 = write_config(dir, "none.ini", text);
    snprintf(text, sizeof text, "[backtest]\ndata = store.h5\nbenchmark = CCCUSDT\n%s", body);
    char *c1 = write_config(dir, "ccc.ini", text);
    snprintf(text, sizeof text, "[backtest]\ndata = store.h5\nbenchmark = DDDUSDT\n%s", body);
    char *c2 = write_config(dir, "ddd.ini", text);
    char *d0 = tu_path(dir, "none"), *d1 = tu_path(dir, "ccc"), *d2 = tu_path(dir, "ddd");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -j 2 -o %s -q --no-plot", c0, d0);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    snprintf(args, sizeof args, "sweep %s -j 2 -o %s -q --no-plot", c1, d1);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    ck_assert_msg(same_file(d0, d1, "leaderboard.csv"), "leaderboard.csv differs");
    snprintf(args, sizeof args, "sweep %s -j 2 -o %s -q --no-plot", c2, d2);
    ck_assert_int_eq(cpo(args, &out), 1);
    char want[2048];
    snprintf(want, sizeof want,
             "%s:3: benchmark \"DDDUSDT\" is not in %s/store.h5 (expected an instrument with "
             "bars: AAAUSDT, BBBUSDT, CCCUSDT)",
             c2, dir);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    free(out);
    ck_assert(!tu_exists(d2));
    free(d0);
    free(d1);
    free(d2);
    free(c0);
    free(c1);
    free(c2);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A point that fails is reported in its row; the others still rank. */
START_TEST(test_leaderboard__failed_point)
{
    char *dir = tu_tmpdir();
    free(write_walk_store(dir));
    /* perp_mmr >= perp_imr only for leverage 150 with mmr 0.01: a
     * combination that each value alone does not show. */
    char *cfg = write_config(dir, "f.ini",
                             "[backtest]\ndata = store.h5\n"
                             "[strategy]\nschedule = once\nweigh = equal\n"
                             "[sweep]\ncosts.perp_leverage = 2, 150\ncosts.perp_mmr = 0.001, 0.01\n");
    char *d = tu_path(dir, "out");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -o %s -q -j 2 --no-plot", cfg, d);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "warning: 1 of 4 points failed") != NULL, "%s", out);
    free(out);
    char *lb = tu_path(d, "leaderboard.csv");
    size_t len;
    char *text = tu_read_file(lb, &len);
    ck_assert_ptr_nonnull(strstr(text, "\n4,3,150,0.01,,,,,,,,,,,,,,,,"));
    ck_assert_ptr_nonnull(strstr(text, "is not below the initial margin rate"));
    free(text);
    free(lb);
    free(d);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- overfitting: the deflated Sharpe ratio and PBO of the grid ------------- */

/* The grid's summary.json against the leaderboard it came from: the DSR of
 * the best point recomputed here from the leaderboard's columns (per-bar
 * Sharpe = sharpe / sqrt(365), the trials' variance, skewness, kurtosis,
 * steps) with cpo_stats (whose formula check_stats tests against the
 * paper), and the PBO of 16 blocks of 120 daily bars (7 bars each, the
 * first 8 dropped): C(16, 8) = 12870 splits. */
START_TEST(test_overfit__summary_matches_leaderboard)
{
    char *dir = tu_tmpdir();
    free(write_walk_store(dir));
    char *cfg = write_config(dir, "grid.ini", cfg_grid);
    char *d = tu_path(dir, "out");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -o %s --no-plot", cfg, d);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "deflated Sharpe ratio ") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "probability of backtest overfitting ") != NULL, "%s", out);
    free(out);
    char *lb = tu_path(d, "leaderboard.csv");
    double sh[64], sk[64], ku[64], st[64], dsr[64];
    ck_assert_uint_eq(csv_column(lb, "sharpe", sh, 64), 20);
    csv_column(lb, "skew", sk, 64);
    csv_column(lb, "kurtosis", ku, 64);
    csv_column(lb, "steps", st, 64);
    csv_column(lb, "dsr", dsr, 64);
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < 20; i++)
        mean += sh[i] / sqrt(365.0) / 20.0;
    for (int i = 0; i < 20; i++)
        var += pow(sh[i] / sqrt(365.0) - mean, 2) / 19.0;
    cpo_stats_dsr want;
    cpo_stats_dsr_compute(&want, sh[0] / sqrt(365.0), var, 20.0, st[0], sk[0], ku[0]);
    /* The leaderboard prints 17 digits: the recomputation agrees to 1e-9. */
    ck_assert_double_eq_tol(dsr[0], want.dsr, 1e-9);
    for (int i = 0; i < 20; i++) {
        double w = cpo_stats_psr(sh[i] / sqrt(365.0), want.sr0, st[i], sk[i], ku[i]);
        ck_assert_double_eq_tol(dsr[i], w, 1e-9);
    }
    char *sp = tu_path(d, "summary.json");
    size_t len;
    char *text = tu_read_file(sp, &len);
    ck_assert_ptr_nonnull(text);
    char buf[128];
    snprintf(buf, sizeof buf, "\"trials\": 20");
    ck_assert_msg(strstr(text, buf) != NULL, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\"splits\": 12870"));
    ck_assert_ptr_nonnull(strstr(text, "\"blocks\": 16"));
    const char *q = strstr(text, "\"dsr\": ");
    ck_assert_ptr_nonnull(q);
    ck_assert_double_eq_tol(strtod(q + 7, NULL), want.dsr, 1e-12);
    q = strstr(text, "\"pbo\": 0");
    ck_assert_msg(q != NULL, "%s", text);
    double pbo = strtod(q + 7, NULL);
    ck_assert(pbo >= 0.0 && pbo <= 1.0);
    free(text);
    /* The page shows both. */
    char *hp = tu_path(d, "leaderboard.html");
    text = tu_read_file(hp, &len);
    ck_assert_ptr_nonnull(strstr(text, "deflated Sharpe ratio</th>"));
    ck_assert_ptr_nonnull(strstr(text, "probability of backtest overfitting</th>"));
    free(text);
    /* [overfit] blocks = 40 leaves 3 bars a block of 120: no PBO, said so. */
    char big[2048];
    snprintf(big, sizeof big, "%s[overfit]\nblocks = 20\n", cfg_grid);
    char *cfg2 = write_config(dir, "grid2.ini", big);
    snprintf(args, sizeof args, "sweep %s -o %s --force --no-plot -q", cfg2, d);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    text = tu_read_file(sp, &len);
    ck_assert_msg(strstr(text, "\"blocks\": 20") != NULL, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\"splits\": 184756"));
    free(text);
    free(cfg2);
    free(hp);
    free(sp);
    free(lb);
    free(d);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- walk-forward: a signal only look-ahead could use ------------------------- */

/*
 * Two coins over 100 daily bars in ten periods of ten days.  In period p
 * AAA's log price moves 0.01 * d[p] a day and BBB's the opposite, and d
 * is built so that in every walk-forward window (train 20 days, test the
 * next 10, rolling by 10) the coin that did better on the training bars
 * does worse on training + test: the test period reverses the training
 * winner by more than it won.  Holding the honest choice loses in every
 * test window; a training run that saw the test data would choose the
 * other coin every time.
 */
#define WF_PERIOD 10
#define WF_N 100

static void planted_prices(double *a, double *b)
{
    double d[WF_N / WF_PERIOD];
    d[0] = 1.0;
    d[1] = 1.0;
    for (int p = 2; p < WF_N / WF_PERIOD; p++) {
        /* The training log gap of the window whose test is period p:
         * closes from bar 10(p-2) to bar 10p - 1: 9 days of d[p-2] and 10
         * of d[p-1]. */
        double s = 9.0 * d[p - 2] + 10.0 * d[p - 1];
        d[p] = (s > 0 ? -1.0 : 1.0) * (fabs(s) / 10.0 + 1.0);
    }
    double la = log(100.0), lb = log(100.0);
    for (int t = 0; t < WF_N; t++) {
        if (t) {
            la += 0.01 * d[t / WF_PERIOD] / 2.0;
            lb -= 0.01 * d[t / WF_PERIOD] / 2.0;
        }
        a[t] = exp(la);
        b[t] = exp(lb);
    }
}

static char *write_planted_store(const char *dir, double *a, double *b)
{
    planted_prices(a, b);
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    add_coin(ds, "AAAUSDT", "AAA", a, WF_N);
    add_coin(ds, "BBBUSDT", "BBB", b, WF_N);
    return save_store(ds, dir);
}

static const char *const cfg_wf =
    "[backtest]\ndata = store.h5\ncapital = 1000\n"
    "[costs]\nfill = close\nfee_bps = 0\nslippage_bps = 0\nlot_rounding = no\n"
    "[strategy]\nschedule = once\nweigh = fixed\n"
    "[weigh.fixed]\nweights = AAAUSDT:1\n"
    "[sweep]\nweigh.fixed.weights = AAAUSDT:1, BBBUSDT:1\n"
    "[walkforward]\ntrain = 20d\ntest = 10d\nmode = rolling\nobjective = total_return\n";

/* The fields of data row `row` (0-based) of a CSV, split on commas. */
static size_t csv_row(const char *text, size_t row, char fields[][64], size_t max)
{
    const char *p = strchr(text, '\n');
    for (size_t r = 0; p && r < row; r++)
        p = strchr(p + 1, '\n');
    ck_assert_ptr_nonnull(p);
    p++;
    size_t n = 0;
    while (*p && *p != '\n' && n < max) {
        const char *e = p;
        while (*e && *e != ',' && *e != '\n')
            e++;
        snprintf(fields[n++], 64, "%.*s", (int)(e - p), p);
        p = *e == ',' ? e + 1 : e;
        if (*e == ',' && (*p == '\n' || !*p) && n < max)
            fields[n++][0] = '\0';
    }
    return n;
}

START_TEST(test_walkforward__no_look_ahead)
{
    char *dir = tu_tmpdir();
    double a[WF_N], b[WF_N];
    free(write_planted_store(dir, a, b));
    char *cfg = write_config(dir, "wf.ini", cfg_wf);
    char *d1 = tu_path(dir, "wf1"), *d2 = tu_path(dir, "wf2");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -o %s -j 1", cfg, d1);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "8 windows (rolling), 2 points each, by total_return"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "sweep %s -o %s -j 2 -q", cfg, d2);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    ck_assert(same_file(d1, d2, "walkforward.csv"));
    ck_assert(same_file(d1, d2, "oos_equity.csv"));
    ck_assert(same_file(d1, d2, "oos_summary.csv"));
    ck_assert(!tu_file_in(d1, "leaderboard.csv"));

    char *wp = tu_path(d1, "walkforward.csv");
    size_t len;
    char *text = tu_read_file(wp, &len);
    ck_assert_ptr_nonnull(strstr(text, "window,train_start,train_end,test_start,test_end,point,"
                                       "weigh.fixed.weights,train_total_return,test_total_return,"));
    double oos = 1.0;
    for (size_t w = 0; w < 8; w++) {
        char f[40][64];
        size_t nf = csv_row(text, w, f, 40);
        ck_assert_uint_ge(nf, 9);
        /* The dates: rolling by 10 days, the test right after the training. */
        int64_t ts, te, xs, xe;
        ck_assert_int_eq(cpo_time_parse(f[1], strlen(f[1]), &ts, NULL, NULL), 0);
        ck_assert_int_eq(cpo_time_parse(f[2], strlen(f[2]), &te, NULL, NULL), 0);
        ck_assert_int_eq(cpo_time_parse(f[3], strlen(f[3]), &xs, NULL, NULL), 0);
        ck_assert_int_eq(cpo_time_parse(f[4], strlen(f[4]), &xe, NULL, NULL), 0);
        ck_assert_int_eq(ts, T0 + (int64_t)(10 * w) * CPO_MS_DAY);
        ck_assert_int_eq(te, ts + 20 * CPO_MS_DAY);
        ck_assert_int_eq(xs, te);
        ck_assert_int_eq(xe, xs + 10 * CPO_MS_DAY);
        /* What the training bars alone support, and what look-ahead would pick. */
        size_t t0 = 10 * w, t1 = t0 + 19, t2 = t0 + 29;
        int honest_a = a[t1] / a[t0] > b[t1] / b[t0];
        int cheat_a = a[t2] / a[t0] > b[t2] / b[t0];
        ck_assert_msg(honest_a != cheat_a, "window %zu: the planted signal is not there", w);
        ck_assert_msg(!strcmp(f[6], honest_a ? "AAAUSDT:1" : "BBBUSDT:1"),
                      "window %zu chose %s: the training saw the test data", w, f[6]);
        /* Its training return is the honest one. */
        double want = honest_a ? a[t1] / a[t0] - 1 : b[t1] / b[t0] - 1;
        ck_assert_double_eq_tol(strtod(f[7], NULL), want, 1e-9);
        /* And it loses in the test window, as planted. */
        double test = strtod(f[8], NULL);
        ck_assert_msg(test < 0, "window %zu: test return %g", w, test);
        oos *= 1.0 + test;
    }
    free(text);
    /* The out-of-sample equity chains the test windows' returns. */
    char *sp = tu_path(d1, "oos_summary.csv");
    text = tu_read_file(sp, &len);
    char f[40][64];
    size_t nf = csv_row(text, 0, f, 40);
    ck_assert_uint_ge(nf, 8);
    ck_assert_str_eq(f[0], "8");
    ck_assert_double_eq_tol(strtod(f[7], NULL), oos - 1.0, 1e-9);
    free(text);
    char *ep = tu_path(d1, "oos_equity.csv");
    ck_assert_uint_eq(lines_of(ep), 1 + 80);
    free(sp);
    free(ep);
    free(wp);
    free(d1);
    free(d2);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Expanding windows all train from the start. */
START_TEST(test_walkforward__expanding)
{
    char *dir = tu_tmpdir();
    double a[WF_N], b[WF_N];
    free(write_planted_store(dir, a, b));
    char text[2048];
    snprintf(text, sizeof text, "%.*s", (int)(strstr(cfg_wf, "mode = rolling") - cfg_wf), cfg_wf);
    strcat(text, "mode = expanding\nobjective = total_return\n");
    char *cfg = write_config(dir, "wf.ini", text);
    cpo_config *c = NULL;
    cpo_sweep *sw = NULL;
    cpo_market *m = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_sweep_load(&sw, c, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(sw->wf.mode, CPO_WF_EXPANDING);
    ck_assert_msg(cpo_run_market(&m, c, &e) == 0, "%s", tu_errstr(&e));
    int64_t s, en;
    cpo_sweep_period(sw, m, &s, &en);
    ck_assert_int_eq(s, T0);
    ck_assert_int_eq(en, T0 + WF_N * CPO_MS_DAY - 1);
    cpo_wf_window *w = NULL;
    size_t n = 0;
    ck_assert_int_eq(cpo_sweep_windows(sw, s, en, &w, &n, &e), 0);
    ck_assert_uint_eq(n, 8);
    for (size_t k = 0; k < n; k++) {
        ck_assert_int_eq(w[k].train_start, T0);
        ck_assert_int_eq(w[k].train_end, T0 + (int64_t)(20 + 10 * k) * CPO_MS_DAY);
        ck_assert_int_eq(w[k].test_start, w[k].train_end);
    }
    free(w);
    /* Too long a training window: refused at its line. */
    sw->wf.train_ms = 200 * CPO_MS_DAY;
    ck_assert_int_eq(cpo_sweep_windows(sw, s, en, &w, &n, &e), CPO_ECONFIG);
    ck_assert_int_eq(e.line, 17);
    ck_assert_ptr_nonnull(strstr(e.msg, "leaves no test window"));
    cpo_market_free(m);
    cpo_sweep_free(sw);
    cpo_config_free(c);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- CPCV: the planted store, recomputed here step by step ------------------ */

/*
 * CPCV on the planted two-coin store (100 daily bars): 4 groups of 25 bars,
 * 2 tested a split: C(4, 2) = 6 splits and C(3, 1) = 3 paths; purge and
 * embargo 2 days.  The two points hold AAA or BBB from the first close
 * (fill = close, no costs), so their returns are the coins' own (0 on the
 * first bar).  Each split's choice and test Sharpe ratio are recomputed
 * here from the prices with the training mask of cpo_stats_cpcv_train,
 * not from block sums; the files are the same for -j 1 and -j 2.
 */
START_TEST(test_cpcv__planted_store_by_hand)
{
    char *dir = tu_tmpdir();
    double a[WF_N], b[WF_N];
    free(write_planted_store(dir, a, b));
    char text[2048];
    snprintf(text, sizeof text, "%.*s", (int)(strstr(cfg_wf, "[walkforward]") - cfg_wf), cfg_wf);
    strcat(text, "[walkforward]\nmode = cpcv\ngroups = 4\ntest_groups = 2\npurge = 2d\n"
                 "embargo = 2d\nobjective = sharpe\n");
    char *cfg = write_config(dir, "cpcv.ini", text);
    char *d1 = tu_path(dir, "c1"), *d2 = tu_path(dir, "c2");
    char args[3000], *out = NULL;
    snprintf(args, sizeof args, "sweep %s -o %s -j 1", cfg, d1);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "cpcv     6 splits, 3 paths") != NULL, "%s", out);
    free(out);
    snprintf(args, sizeof args, "sweep %s -o %s -j 2 -q", cfg, d2);
    ck_assert_msg(cpo(args, &out) == 0, "%s", out);
    free(out);
    static const char *const files[] = {"cpcv.csv", "cpcv_paths.csv", "summary.json",
                                        "leaderboard.csv"};
    for (int f = 0; f < 4; f++)
        ck_assert_msg(same_file(d1, d2, files[f]), "%s differs", files[f]);
    double ra[WF_N], rb[WF_N];
    for (int t = 0; t < WF_N; t++) {
        ra[t] = t ? a[t] / a[t - 1] - 1.0 : 0.0;
        rb[t] = t ? b[t] / b[t - 1] - 1.0 : 0.0;
    }
    uint8_t test[6 * 4];
    cpo_error e;
    ck_assert_int_eq(cpo_stats_cpcv(test, NULL, 4, 2, &e), 0);
    char *cp = tu_path(d1, "cpcv.csv");
    size_t len;
    char *csv = tu_read_file(cp, &len);
    ck_assert_ptr_nonnull(strstr(csv, "split,test_groups,point,weigh.fixed.weights,train_sharpe,"
                                      "test_sharpe,test_return,oos_rank,logit\n"));
    for (int s = 0; s < 6; s++) {
        uint8_t train[WF_N];
        ck_assert_int_eq(cpo_stats_cpcv_train(train, WF_N, test + s * 4, 4, 2, 2, &e), 0);
        double tra[WF_N], trb[WF_N], tea[WF_N], teb[WF_N];
        size_t n1 = 0, n2 = 0;
        for (int t = 0; t < WF_N; t++) {
            if (train[t]) {
                tra[n1] = ra[t];
                trb[n1++] = rb[t];
            }
            if (test[s * 4 + t / 25]) {
                tea[n2] = ra[t];
                teb[n2++] = rb[t];
            }
        }
        double sa, sb, ta, tb;
        cpo_stats_moments(tra, n1, &sa, NULL, NULL);
        cpo_stats_moments(trb, n1, &sb, NULL, NULL);
        cpo_stats_moments(tea, n2, &ta, NULL, NULL);
        cpo_stats_moments(teb, n2, &tb, NULL, NULL);
        int pick_a = sa >= sb;
        char f[40][64];
        ck_assert_uint_ge(csv_row(csv, (size_t)s, f, 40), 9);
        ck_assert_str_eq(f[3], pick_a ? "AAAUSDT:1" : "BBBUSDT:1");
        ck_assert_double_eq_tol(strtod(f[4], NULL), (pick_a ? sa : sb) * sqrt(365.0), 1e-9);
        ck_assert_double_eq_tol(strtod(f[5], NULL), (pick_a ? ta : tb) * sqrt(365.0), 1e-9);
        /* Two points: the chosen one ranks 2 (logit ln 2) or 1 (ln 1/2). */
        double rank = (pick_a ? ta > tb : tb > ta) ? 2.0 : 1.0;
        ck_assert_double_eq(strtod(f[7], NULL), rank);
    }
    free(csv);
    free(cp);
    char *pp = tu_path(d1, "cpcv_paths.csv");
    ck_assert_uint_eq(lines_of(pp), 1 + 3);
    free(pp);
    /* A purge longer than a group is refused with its line. */
    strcpy(strstr(text, "purge = 2d"), "purge = 30d\nembargo = 2d\nobjective = sharpe\n");
    char *cfg2 = write_config(dir, "cpcv2.ini", text);
    snprintf(args, sizeof args, "sweep %s -o %s --force -q", cfg2, d2);
    ck_assert_int_eq(cpo(args, &out), 1);
    ck_assert_msg(strstr(out, "cpcv2.ini:20: [walkforward] purge and embargo take 32 of the 25 "
                              "bars of the shortest group") != NULL,
                  "%s", out);
    free(out);
    free(cfg2);
    free(d1);
    free(d2);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *sweep_suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *g = tcase_create("grid");
    tcase_add_test(g, test_grid__lists_and_ranges);
    tcase_add_test(g, test_grid__decimal_ranges);
    tcase_add_loop_test(g, test_grid__refusals, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(g, test_grid__run_ignores_sweep);
    suite_add_tcase(s, g);
    TCase *l = tcase_create("leaderboard");
    tcase_set_timeout(l, 120);
    tcase_add_test(l, test_leaderboard__same_bytes_any_threads);
    tcase_add_test(l, test_leaderboard__heatmap_beside_best);
    tcase_add_test(l, test_leaderboard__folder_refused);
    tcase_add_test(l, test_leaderboard__benchmark);
    tcase_add_test(l, test_leaderboard__failed_point);
    tcase_add_test(l, test_overfit__summary_matches_leaderboard);
    suite_add_tcase(s, l);
    TCase *w = tcase_create("walkforward");
    tcase_set_timeout(w, 120);
    tcase_add_test(w, test_walkforward__no_look_ahead);
    tcase_add_test(w, test_walkforward__expanding);
    tcase_add_test(w, test_cpcv__planted_store_by_hand);
    suite_add_tcase(s, w);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sweep_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
