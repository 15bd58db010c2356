/* check_report.c - report.html and charts/ of a run folder, `cpo report`,
 * `cpo compare`: every chart's script and data, the images when gnuplot
 * is there, escaping of hostile names (gnuplot and HTML), byte-identical
 * rebuilds, gnuplot missing, refusals with their exact messages. */
#define _DEFAULT_SOURCE
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/config.h"
#include "cpo/report.h"
#include "cpo/run.h"
#include "cpo/time.h"
#include "report_priv.h"
#include "testutil.h"

/* 2024-01-01, a Monday. */
#define T0 INT64_C(1704067200000)

/* The charts every run with detail = instrument, two coins and 60 daily
 * bars gets (the attribution charts depend on the attribution files). */
static const char *const run_charts[] = {"equity",          "drawdown",       "rolling_vol",
                                         "rolling_sharpe",  "weights",        "correlation",
                                         "monthly_returns", "yearly_returns", "return_distribution",
                                         "pnl_lines"};
#define N_RUN_CHARTS (sizeof run_charts / sizeof run_charts[0])

static long size_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static int have_gnuplot(void)
{
    return tu_run("command -v gnuplot > /dev/null", NULL) == 0;
}

/* Occurrences of needle in hay. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/*
 * The checks a reader's browser would make of a page, without a browser:
 * every <img src="..."> names a file that exists (relative to the page's
 * folder), every link of the table of contents (href="#id") has its
 * element (id="id"), and every id of want[] is there.  Returns the number
 * of images.
 */
static size_t check_page(const char *dir, const char *page, const char *const *want,
                         size_t nwant)
{
    char *path = tu_path(dir, page);
    char *text = tu_read_file(path, NULL);
    ck_assert_msg(text != NULL, "%s missing", path);
    size_t imgs = 0;
    for (const char *p = text; (p = strstr(p, "<img src=\"")); p++) {
        p += strlen("<img src=\"");
        const char *e = strchr(p, '"');
        ck_assert_ptr_nonnull(e);
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(e - p), p);
        ck_assert_msg(!strstr(name, "://") && name[0] != '/', "%s: image %s is not relative",
                      page, name);
        ck_assert_msg(tu_file_in(dir, name), "%s: image %s does not exist", page, name);
        imgs++;
    }
    const char *toc = strstr(text, "<nav id=\"contents\">");
    ck_assert_msg(toc != NULL, "%s: no table of contents", page);
    const char *toc_end = strstr(toc, "</nav>");
    size_t links = 0;
    for (const char *p = toc; (p = strstr(p, "href=\"#")) && p < toc_end; p++) {
        p += strlen("href=\"#");
        const char *e = strchr(p, '"');
        char id[128];
        snprintf(id, sizeof id, "id=\"%.*s\"", (int)(e - p), p);
        ck_assert_msg(strstr(text, id) != NULL, "%s: the contents link to %s, not in the page",
                      page, id);
        links++;
    }
    ck_assert_uint_ge(links, 3);
    for (size_t k = 0; k < nwant; k++) {
        char id[128];
        snprintf(id, sizeof id, "<section id=\"%s\">", want[k]);
        ck_assert_msg(strstr(text, id) != NULL, "%s: no section %s", page, want[k]);
        snprintf(id, sizeof id, "href=\"#%s\"", want[k]);
        ck_assert_msg(strstr(toc, id) != NULL && strstr(toc, id) < toc_end,
                      "%s: section %s not in the contents", page, want[k]);
    }
    ck_assert_ptr_null(strstr(text, "<script"));
    free(text);
    free(path);
    return imgs;
}

/* The sections every report has. */
static const char *const run_sections[] = {"summary", "performance", "returns", "risk",
                                           "metrics", "pnl", "drawdowns", "attribution",
                                           "trades", "events", "settings", "manifest"};
#define N_RUN_SECTIONS (sizeof run_sections / sizeof run_sections[0])

/* The text of the number cell after the first occurrence of label in text
 * ("<td>label</td>...<td class=\"n...\">X</td>"), into buf. */
static const char *cell_after(const char *text, const char *label, char *buf, size_t n)
{
    const char *p = strstr(text, label);
    ck_assert_msg(p != NULL, "%s not in the page", label);
    p = strstr(p, "<td class=\"n");
    ck_assert_ptr_nonnull(p);
    p = strchr(p, '>') + 1;
    const char *e = strstr(p, "</td>");
    snprintf(buf, n, "%.*s", (int)(e - p), p);
    return buf;
}

/*
 * Two spot coins, 60 daily bars from T0: AAA closes at 100 + t + wiggle,
 * BBB at 200 - t + wiggle (the wiggles make the returns differ); `bump`
 * shifts every price (another store: other bytes).
 */
static char *write_store(const char *dir, const char *name, double bump)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    const char *syms[2] = {"AAAUSDT", "BBBUSDT"}, *bases[2] = {"AAA", "BBB"};
    for (int k = 0; k < 2; k++) {
        cpo_bars *b = tu_add_spot(ds, syms[k], bases[k], CPO_MS_DAY);
        double prev = (k == 0 ? 100.0 : 200.0) + bump;
        for (int t = 0; t < 60; t++) {
            double c = (k == 0 ? 100.0 + t + 3.0 * sin(t) : 200.0 - t + 4.0 * cos(0.7 * t)) + bump;
            ck_assert_int_eq(cpo_bars_append(b, T0 + t * CPO_MS_DAY, prev, fmax(prev, c) + 1,
                                             fmin(prev, c) - 1, c, 1000.0, NAN, NAN, NAN, NAN),
                             0);
            prev = c;
        }
    }
    char *p = tu_path(dir, name);
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

static char *write_config(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);
    tu_write_file(p, text);
    return p;
}

static const char *const cfg_text =
    "[backtest]\ndata = store.h5\ncapital = 100000\ndetail = instrument\n"
    "[costs]\nfee_bps = 10\nslippage_bps = 5\n"
    "[strategy]\nschedule = every_n\nweigh = equal\n"
    "[schedule.every_n]\nn = 10\n";

/* Run cfg into out (the run writes its report too). */
static void run_cfg(const char *cfg_path, const char *out)
{
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, cfg_path, &e) == 0, "%s", tu_errstr(&e));
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = out;
    o.force = 1;
    cpo_run_report rep;
    ck_assert_msg(cpo_run_to_dir(c, &o, &rep, &e) == 0, "%s", tu_errstr(&e));
    cpo_config_free(c);
}

/* A copy of tests/data/report/NAME in a fresh temporary folder. */
static char *fixture(const char *tmp, const char *name)
{
    char cmd[4096];
    char *dst = tu_path(tmp, name);
    snprintf(cmd, sizeof cmd, "cp -r '%s/report/%s' '%s'", CPO_TEST_DATA, name, dst);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    return dst;
}

/* --- gnuplot quoting --------------------------------------------------------- */

START_TEST(test_report_quote__escapes)
{
    static const struct {
        const char *in, *out;
        int flags;
    } cases[] = {
        {"BTCUSDT", "\"BTCUSDT\"", 0},
        {"", "\"\"", 0},
        {"a\"b", "\"a\\\"b\"", 0},
        {"a\\b", "\"a\\\\b\"", 0},
        {"`rm -rf /`", "\"\\140rm -rf /\\140\"", 0},
        {"l1\nl2\tx\r", "\"l1 l2 x \"", 0},
        {"<script>\"@x", "\"<script>\\\"@x\"", 0},
        /* enhanced text: @ ^ _ { } & ~ get \\ and a backslash needs four */
        {"<script>\"@x", "\"<script>\\\"\\\\@x\"", CPO_GP_ENHANCED},
        {"a_b^c{d}e&f~g", "\"a\\\\_b\\\\^c\\\\{d\\\\}e\\\\&f\\\\~g\"", CPO_GP_ENHANCED},
        {"x\\y", "\"x\\\\\\\\y\"", CPO_GP_ENHANCED},
        {"ü€", "\"ü€\"", 0}, /* UTF-8 as it is */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char buf[128];
        size_t n = cpo_report_gp_quote(buf, sizeof buf, cases[k].in, cases[k].flags);
        ck_assert_str_eq(buf, cases[k].out);
        ck_assert_uint_eq(n, strlen(cases[k].out));
    }
    /* Too small: cut at a whole escape, still quoted and terminated; the
     * return value is the whole length. */
    char small[8];
    size_t n = cpo_report_gp_quote(small, sizeof small, "ab`cdef", 0);
    ck_assert_str_eq(small, "\"ab\"");
    ck_assert_uint_eq(n, strlen("\"ab\\140cdef\""));
    n = cpo_report_gp_quote(small, sizeof small, "abcdefgh", 0);
    ck_assert_str_eq(small, "\"abcde\"");
    ck_assert_uint_eq(n, 10);
    ck_assert_uint_eq(cpo_report_gp_quote(NULL, 0, "abc", 0), 5);
}
END_TEST

/* gnuplot itself reads the quoted strings back as the original text, and
 * runs no command hidden in one. */
START_TEST(test_report_quote__gnuplot_reads_back)
{
    if (!have_gnuplot()) {
        fprintf(stderr, "check_report: gnuplot not on PATH: round trip skipped\n");
        return;
    }
    char *dir = tu_tmpdir();
    static const char *const hostile[] = {"<script>\"@x", "B`touch PWNED`\\", "a\\\"b`c`\\",
                                          "@x @@ $y %s {z}", "'single' \"double\""};
    char script[4096] = "";
    for (size_t k = 0; k < sizeof hostile / sizeof hostile[0]; k++) {
        char q[256];
        cpo_report_gp_quote(q, sizeof q, hostile[k], 0);
        strcat(script, "print ");
        strcat(script, q);
        strcat(script, "\n");
    }
    char *gp = tu_path(dir, "t.gp");
    tu_write_file(gp, script);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot t.gp", dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    char want[1024] = "";
    for (size_t k = 0; k < sizeof hostile / sizeof hostile[0]; k++) {
        strcat(want, hostile[k]);
        strcat(want, "\n");
    }
    ck_assert_str_eq(out, want);
    ck_assert(!tu_file_in(dir, "PWNED"));
    free(out);
    free(gp);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- a run's report -------------------------------------------------------------- */

START_TEST(test_report_run__charts_and_html)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir, "store.h5", 0.0);
    char *cfg = write_config(dir, "equal.ini", cfg_text);
    char *out = tu_path(dir, "run");
    run_cfg(cfg, out);
    char *charts = tu_path(out, "charts");
    int gp = have_gnuplot();
    for (size_t k = 0; k < N_RUN_CHARTS; k++) {
        static const char *const ext[] = {".gp", ".dat", ".png", ".svg"};
        for (int x = 0; x < (gp ? 4 : 2); x++) {
            char name[128];
            snprintf(name, sizeof name, "%s%s", run_charts[k], ext[x]);
            char *p = tu_path(charts, name);
            ck_assert_msg(size_of(p) > 0, "%s missing or empty", name);
            free(p);
        }
    }
    /* Nothing half-written is left. */
    DIR *d = opendir(charts);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)))
        ck_assert_msg(!strstr(de->d_name, ".tmp"), "%s left", de->d_name);
    closedir(d);
    char left[2048] = "";
    ck_assert_msg(tu_count_tmp(out, left, sizeof left) == 0, "%s left", left);
    /* The data of the equity chart: time (s) and equity, 60 rows. */
    char *eqd = tu_path(charts, "equity.dat");
    char *text = tu_read_file(eqd, NULL);
    ck_assert_ptr_nonnull(strstr(text, "\n1704067200 "));
    ck_assert_uint_eq(count_of(text, "\n") - count_of(text, "# "), 60);
    free(text);
    /* The script runs gnuplot on it, both terminals, outputs by name. */
    char *eqg = tu_path(charts, "equity.gp");
    text = tu_read_file(eqg, NULL);
    ck_assert_ptr_nonnull(strstr(text, "set terminal pngcairo noenhanced"));
    ck_assert_ptr_nonnull(strstr(text, "set output \"equity.png\".cpo_suffix"));
    ck_assert_ptr_nonnull(strstr(text, "set terminal svg noenhanced"));
    ck_assert_ptr_nonnull(strstr(text, "set logscale y"));
    free(text);
    /* The rolling window: 30 days of daily bars. */
    char *rv = tu_path(charts, "rolling_vol.dat");
    text = tu_read_file(rv, NULL);
    ck_assert_ptr_nonnull(strstr(text, "over the last 30 bar returns"));
    ck_assert_uint_eq(count_of(text, "\n") - count_of(text, "# "), 60 - 30 + 1);
    free(text);
    /* The page. */
    char *html = tu_path(out, "report.html");
    text = tu_read_file(html, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "<section id=\"metrics\"><h2>Metrics</h2>"));
    ck_assert_ptr_nonnull(strstr(text, "<td>sharpe</td>"));
    ck_assert_ptr_nonnull(strstr(text, "<section id=\"drawdowns\">"));
    ck_assert_ptr_nonnull(strstr(text, "<section id=\"manifest\">"));
    ck_assert_ptr_nonnull(strstr(text, "<section id=\"trades\">"));
    if (gp) {
        ck_assert_ptr_nonnull(strstr(text, "<img src=\"charts/equity.png\""));
        ck_assert_ptr_nonnull(strstr(text, "<a href=\"charts/equity.svg\">SVG</a>"));
    }
    /* Every image there, every section in the contents and the page. */
    check_page(out, "report.html", run_sections, N_RUN_SECTIONS);
    /* Not for this run: no option book, no margin columns, no benchmark;
     * the first two are not mentioned, the benchmark's chart says why. */
    ck_assert_ptr_null(strstr(text, "<section id=\"options\">"));
    ck_assert_ptr_null(strstr(text, "Margin utilisation"));
    ck_assert_ptr_null(strstr(text, "Greek exposures"));
    ck_assert(!tu_file_in(charts, "margin.gp") && !tu_file_in(charts, "greeks.dat"));
    ck_assert_ptr_nonnull(strstr(text, "Not drawn: no benchmark: [backtest] benchmark = SYMBOL"));
    /* Self-contained: no script, nothing fetched from elsewhere. */
    ck_assert_ptr_null(strstr(text, "<script"));
    ck_assert_ptr_null(strstr(text, "http://"));
    ck_assert_ptr_null(strstr(text, "https://"));
    /* The Greek slot: attribution_greek.csv over the run, a line per row
     * and the check row (the run's lines add up to its change in equity). */
    const char *gk = strstr(text, "<h3>Attribution by Greek</h3>");
    ck_assert_ptr_nonnull(gk);
    ck_assert_ptr_nonnull(strstr(gk, "<th class=\"n\">P&amp;L over the run</th>"));
    ck_assert_ptr_nonnull(strstr(gk, "<td>delta</td>"));
    ck_assert_ptr_nonnull(strstr(gk, "<td>vanna</td>"));
    ck_assert_ptr_nonnull(strstr(gk, "<td>change in equity</td>"));
    ck_assert_ptr_null(strstr(text, "comes with a later release"));
    /* Its chart: the cumulative lines that are not 0 throughout (a spot book:
     * the total, delta = the price line, fees, slippage), titled without cum_. */
    char *gd = tu_path(charts, "attribution_greek.dat");
    char *gtext = tu_read_file(gd, NULL);
    ck_assert_ptr_nonnull(gtext);
    ck_assert_ptr_nonnull(strstr(gtext, "the lines: total, "));
    ck_assert_ptr_nonnull(strstr(gtext, " delta"));
    ck_assert_ptr_nonnull(strstr(gtext, " fees"));
    ck_assert_ptr_null(strstr(gtext, "gamma"));
    ck_assert_ptr_null(strstr(gtext, "cum_"));
    /* One block of 60 steps per line (gnuplot index k), two blank lines
     * apart: total, delta, fees, slippage, residual. */
    ck_assert_ptr_nonnull(strstr(gtext, "the lines: total, delta, fees, slippage, residual\n"));
    ck_assert_uint_eq(count_of(gtext, "\n\n\n"), 4);
    ck_assert_uint_eq(count_of(gtext, "\n") - count_of(gtext, "# ") - 2 * 4, 5 * 60);
    free(gtext);
    free(gd);
    /* Not the run folder's path (the same run elsewhere gives the same
     * bytes); the config's path is in it, as in summary.json. */
    ck_assert_ptr_null(strstr(text, out));
    ck_assert_ptr_nonnull(strstr(text, cfg));
    free(text);
    free(html);
    free(rv);
    free(eqg);
    free(eqd);
    free(charts);
    tu_rmtree(dir);
    free(out);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

/* Every file of a's charts/ and report.html equals b's. */
static void assert_same_report(const char *a, const char *b)
{
    char *ca = tu_path(a, "charts"), *cb = tu_path(b, "charts");
    DIR *d = opendir(ca);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *pa = tu_path(ca, de->d_name), *pb = tu_path(cb, de->d_name);
        size_t na, nb;
        char *ta = tu_read_file(pa, &na), *tb = tu_read_file(pb, &nb);
        ck_assert_msg(ta && tb, "%s missing", de->d_name);
        ck_assert_msg(na == nb && !memcmp(ta, tb, na), "charts/%s differs", de->d_name);
        free(ta);
        free(tb);
        free(pa);
        free(pb);
        n++;
    }
    closedir(d);
    ck_assert_uint_ge(n, 2 * N_RUN_CHARTS);
    char *ha = tu_path(a, "report.html"), *hb = tu_path(b, "report.html");
    size_t na, nb;
    char *ta = tu_read_file(ha, &na), *tb = tu_read_file(hb, &nb);
    ck_assert(ta && tb && na == nb && !memcmp(ta, tb, na));
    free(ta);
    free(tb);
    free(ha);
    free(hb);
    free(ca);
    free(cb);
}

/*
 * A long run (20,000 hourly bars, more than 8 a pixel column of every
 * chart) has its time-series charts' data cut by M4 (report_charts.c,
 * m4_keep): far fewer rows, the note saying how many, the first and last
 * steps kept, and each line's extremes kept: the deepest drawdown of
 * drawdown.dat is the one found over every step of ledger.csv (by hand,
 * below: equity / running peak - 1, the capital the first peak).
 */
START_TEST(test_report_long_run__m4_rows)
{
    char *tmp = tu_tmpdir();
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    cpo_bars *b = tu_add_spot(ds, "AAAUSDT", "AAA", CPO_MS_HOUR);
    enum { N = 20000 };
    double prev = 100.0;
    for (int t = 0; t < N; t++) {
        double c = 100.0 + 30.0 * sin(t / 900.0) + 2.0 * sin(t * 0.37) + 0.5 * cos(t * 2.1);
        ck_assert_int_eq(cpo_bars_append(b, T0 + (int64_t)t * CPO_MS_HOUR, prev, fmax(prev, c),
                                         fmin(prev, c), c, 10.0, NAN, NAN, NAN, NAN), 0);
        prev = c;
    }
    char *store = tu_path(tmp, "store.h5");
    ck_assert_msg(cpo_store_write(ds, store, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    char *cfg = write_config(tmp, "long.ini",
                             "[backtest]\ndata = store.h5\ncapital = 100000\n"
                             "[costs]\nfee_bps = 10\n"
                             "[strategy]\nschedule = every_n\nweigh = equal\n"
                             "[schedule.every_n]\nn = 500\n");
    char *out = tu_path(tmp, "run");
    cpo_config *c = NULL;
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = out;
    o.force = 1;
    o.no_plot = 1; /* the data and scripts are what is checked */
    cpo_run_report rep;
    ck_assert_msg(cpo_run_to_dir(c, &o, &rep, &e) == 0, "%s", tu_errstr(&e));
    cpo_config_free(c);
    /* Every step's drawdown, from ledger.csv's equity. */
    char *lp = tu_path(out, "ledger.csv"), *ltext = tu_read_file(lp, NULL);
    ck_assert_ptr_nonnull(ltext);
    int col = -1, k = 0;
    char *line = strtok(ltext, "\n");
    for (char *f = line, *comma; f; f = comma ? comma + 1 : NULL, k++) {
        comma = strchr(f, ',');
        if (strncmp(f, "equity", 6) == 0 && (f[6] == ',' || f[6] == 0))
            col = k;
    }
    ck_assert_int_ge(col, 0);
    double peak = 100000.0, worst = 0.0;
    size_t steps = 0;
    while ((line = strtok(NULL, "\n"))) {
        const char *f = line;
        for (int q = 0; q < col; q++)
            f = strchr(f, ',') + 1;
        double eq = strtod(f, NULL);
        peak = fmax(peak, eq);
        worst = fmin(worst, eq / peak - 1.0);
        steps++;
    }
    ck_assert_uint_eq(steps, N);
    ck_assert(worst < -0.05);
    char *charts = tu_path(out, "charts"), *dp = tu_path(charts, "drawdown.dat");
    char *dtext = tu_read_file(dp, NULL);
    ck_assert_ptr_nonnull(dtext);
    size_t rows = 0, noted = 0;
    double dmin = 0.0, first = NAN, last = NAN;
    char *sv = NULL;
    for (char *l = strtok_r(dtext, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
        if (l[0] == '#') {
            if (sscanf(l, "# rows: %zu of the 20000 steps", &noted) == 1)
                continue;
            continue;
        }
        char *end;
        double t = strtod(l, &end), v = strtod(end, NULL);
        if (rows == 0)
            first = t;
        last = t;
        dmin = fmin(dmin, v);
        rows++;
    }
    /* At most 4 rows a pixel column of the 660-pixel chart. */
    ck_assert_uint_le(rows, 4 * 660);
    ck_assert_uint_gt(rows, 660);
    ck_assert_uint_eq(noted, rows);
    ck_assert(first == (double)(T0 / 1000));
    ck_assert(last == (double)(T0 / 1000 + (int64_t)(N - 1) * 3600));
    /* drawdown.dat holds the drawdown in %, as drawn. */
    ck_assert_msg(fabs(dmin - 100.0 * worst) <= 1e-10, "deepest %.17g %%, by hand %.17g %%", dmin,
                  100.0 * worst);
    free(dtext);
    free(dp);
    free(charts);
    free(ltext);
    free(lp);
    free(out);
    free(cfg);
    free(store);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(test_report_bytes__identical)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir, "store.h5", 0.0);
    char *cfg = write_config(dir, "equal.ini", cfg_text);
    char *a = tu_path(dir, "one"), *b = tu_path(dir, "another/two");
    run_cfg(cfg, a);
    sleep(1); /* a time stamp anywhere would show */
    run_cfg(cfg, b);
    assert_same_report(a, b);
    /* cpo report over an existing report: the same bytes again. */
    cpo_error e;
    ck_assert_msg(cpo_report_build(a, NULL, NULL, &e) == 0, "%s", tu_errstr(&e));
    assert_same_report(a, b);
    tu_rmtree(dir);
    free(a);
    free(b);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

START_TEST(test_report_html__hostile_names)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "hostile");
    /* Reported from another folder: a command run by gnuplot would leave
     * PWNED in its folder (charts/) or here. */
    char cwd[1024];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    cpo_report_opts o;
    cpo_report_opts_init(&o);
    cpo_report_info info;
    cpo_error e;
    ck_assert_msg(cpo_report_build(run, &o, &info, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(chdir(cwd), 0);
    char *charts = tu_path(run, "charts");
    ck_assert(!tu_file_in(charts, "PWNED"));
    ck_assert(!tu_file_in(dir, "PWNED"));
    ck_assert(!tu_file_in(run, "PWNED"));
    /* The scripts hold the names quoted. */
    char *wg = tu_path(charts, "weights.gp");
    char *text = tu_read_file(wg, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "title \"<script>\\\"@x\""));
    ck_assert_ptr_nonnull(strstr(text, "title \"B\\140touch PWNED\\140\\\\\""));
    ck_assert_ptr_null(strstr(text, "`"));
    free(text);
    char *cg = tu_path(charts, "correlation.gp");
    text = tu_read_file(cg, NULL);
    ck_assert_ptr_nonnull(strstr(text, "(\"<script>\\\"@x\" 0, \"B\\140touch PWNED\\140\\\\\" 1)"));
    free(text);
    if (have_gnuplot()) {
        ck_assert_uint_eq(info.n_failed, 0);
        ck_assert_uint_ge(info.n_drawn, 6);
        /* gnuplot's SVG holds the name as text, XML-escaped ('<' only). */
        char *svg = tu_path(charts, "weights.svg");
        text = tu_read_file(svg, NULL);
        ck_assert_ptr_nonnull(text);
        ck_assert_ptr_nonnull(strstr(text, "&lt;script>\"@x"));
        ck_assert_ptr_null(strstr(text, "<script"));
        free(text);
        free(svg);
    }
    /* The page escapes every text of data and config. */
    char *html = tu_path(run, "report.html");
    text = tu_read_file(html, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_null(strstr(text, "<script"));
    ck_assert_ptr_null(strstr(text, "<img src=x"));
    ck_assert_ptr_null(strstr(text, "<b>hostile"));
    ck_assert_uint_ge(count_of(text, "&lt;script&gt;&quot;@x"), 4); /* P&L, trades, events, attribution */
    ck_assert_ptr_nonnull(strstr(text, "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;"));
    ck_assert_ptr_nonnull(strstr(text, "configs/&lt;b&gt;hostile&lt;/b&gt;.ini"));
    ck_assert_ptr_nonnull(strstr(text, "x&quot;&lt;y&gt;.h5"));
    ck_assert_ptr_nonnull(strstr(text, "B`touch PWNED`\\"));
    /* The attribution table and its own reconciliation rows. */
    ck_assert_ptr_nonnull(strstr(text, "<tr class=\"total\"><td>total</td><td>(all)</td><td>total_return</td>"));
    ck_assert_ptr_nonnull(strstr(text, "<td>sum_of_parts</td>"));
    ck_assert_ptr_nonnull(strstr(text, "attribution by asset: a hand-made fixture with hostile names &lt;b&gt;"));
    /* A folder without attribution_greek.csv (made before it): the slot says so. */
    ck_assert_ptr_nonnull(strstr(text, "No attribution_greek.csv in this run folder"));
    free(text);
    free(html);
    free(cg);
    free(wg);
    free(charts);
    tu_rmtree(dir);
    free(run);
    free(dir);
}
END_TEST

/* An attribution file without a kind column: total, sum of parts and
 * residual are worked out. */
START_TEST(test_report_attr__reconciles_without_kind)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "hostile");
    char *p = tu_path(run, "attribution_risk.csv");
    /* parts 0.5 + 0.25, residual 0.125, total 1: gap 0.125 */
    tu_write_file(p, "asset,contribution\nAAA,0.5\nBBB,0.25\nresidual,0.125\ntotal,1\n");
    cpo_error e;
    ck_assert_msg(cpo_report_build(run, NULL, NULL, &e) == 0, "%s", tu_errstr(&e));
    char *html = tu_path(run, "report.html");
    char *text = tu_read_file(html, NULL);
    /* a role column first, then the file's columns (asset: text) */
    ck_assert_ptr_nonnull(strstr(text, "<tr class=\"total\"><td>total</td><td></td><td class=\"n\">1</td></tr>"));
    ck_assert_ptr_nonnull(strstr(text, "<tr class=\"check\"><td>sum of parts</td><td></td><td class=\"n\">0.75</td></tr>"));
    ck_assert_ptr_nonnull(strstr(text, "<tr class=\"check\"><td>residual</td><td></td><td class=\"n\">0.125</td></tr>"));
    ck_assert_ptr_nonnull(strstr(text, "<td>total − sum of parts − residual</td><td></td><td class=\"n\">0.125</td>"));
    free(text);
    free(html);
    free(p);
    tu_rmtree(dir);
    free(run);
    free(dir);
}
END_TEST

/* --- cpo report ------------------------------------------------------------------- */

START_TEST(test_report_cli__not_a_run_folder)
{
    char *dir = tu_tmpdir();
    char cmd[2048], *out = NULL, want[2048];
    snprintf(cmd, sizeof cmd, "%s report '%s'", CPO_BINARY, dir);
    ck_assert_int_eq(tu_run(cmd, &out), 1);
    snprintf(want, sizeof want,
             "cpo: %s: no summary.json (expected a run folder written by cpo run)\n", dir);
    ck_assert_str_eq(out, want);
    free(out);
    ck_assert(!tu_file_in(dir, "report.html"));
    ck_assert(!tu_file_in(dir, "charts"));
    /* The library says the same. */
    cpo_error e;
    ck_assert_int_eq(cpo_report_build(dir, NULL, NULL, &e), CPO_ENOTFOUND);
    snprintf(want, sizeof want, "%s: no summary.json (expected a run folder written by cpo run)",
             dir);
    ck_assert_str_eq(tu_errstr(&e), want);
    snprintf(cmd, sizeof cmd, "%s report", CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &out), 2);
    ck_assert_ptr_nonnull(strstr(out, "cpo: no run folder (expected cpo report RUN_DIR)"));
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* gnuplot not on PATH: one warning, scripts and data kept, images of an
 * earlier report removed, the page says so. */
START_TEST(test_report_cli__no_gnuplot)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "hostile");
    char *empty = tu_path(dir, "empty");
    ck_assert_int_eq(mkdir(empty, 0777), 0);
    char cmd[4096], *out = NULL;
    int gp = have_gnuplot();
    if (gp) { /* an earlier report with images */
        snprintf(cmd, sizeof cmd, "%s report -q '%s'", CPO_BINARY, run);
        ck_assert_int_eq(tu_run(cmd, &out), 0);
        free(out);
        ck_assert(tu_file_in(run, "charts/equity.png"));
    }
    snprintf(cmd, sizeof cmd, "PATH='%s' %s report '%s'", empty, CPO_BINARY, run);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_uint_eq(count_of(out, "cpo: warning: gnuplot not found on PATH: charts/ keeps the "
                                    "scripts and data, no images (install gnuplot-nox)\n"),
                      1);
    ck_assert_uint_eq(count_of(out, "warning"), 1);
    ck_assert_ptr_nonnull(strstr(out, "scripts and data only (no gnuplot)"));
    free(out);
    static const char *const names[] = {"equity", "drawdown", "rolling_vol", "rolling_sharpe",
                                        "weights", "correlation", "attribution_asset"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char p[256];
        snprintf(p, sizeof p, "charts/%s.gp", names[k]);
        ck_assert_msg(tu_file_in(run, p), "%s missing", p);
        snprintf(p, sizeof p, "charts/%s.dat", names[k]);
        ck_assert_msg(tu_file_in(run, p), "%s missing", p);
        snprintf(p, sizeof p, "charts/%s.png", names[k]);
        ck_assert_msg(!tu_file_in(run, p), "%s left from before", p);
        snprintf(p, sizeof p, "charts/%s.svg", names[k]);
        ck_assert_msg(!tu_file_in(run, p), "%s left from before", p);
    }
    char *html = tu_path(run, "report.html");
    char *text = tu_read_file(html, NULL);
    ck_assert_ptr_nonnull(strstr(text, "gnuplot was not found on PATH when this report was made"));
    ck_assert_ptr_null(strstr(text, "<img "));
    ck_assert_ptr_nonnull(strstr(text, "<a href=\"charts/equity.gp\">script</a>"));
    free(text);
    free(html);
    /* cpo run: the run succeeds, one warning, the scripts are there. */
    char *store = write_store(dir, "store.h5", 0.0);
    char *cfg = write_config(dir, "equal.ini", cfg_text);
    char *rdir = tu_path(dir, "fresh");
    snprintf(cmd, sizeof cmd, "PATH='%s' %s run -q '%s' -o '%s'", empty, CPO_BINARY, cfg, rdir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_str_eq(out, "cpo: warning: gnuplot not found on PATH: charts/ keeps the scripts "
                          "and data, no images (install gnuplot-nox)\n");
    free(out);
    ck_assert(tu_file_in(rdir, "manifest.json"));
    ck_assert(tu_file_in(rdir, "report.html"));
    ck_assert(tu_file_in(rdir, "charts/equity.gp"));
    ck_assert(tu_file_in(rdir, "charts/weights.dat"));
    ck_assert(!tu_file_in(rdir, "charts/equity.png"));
    free(rdir);
    free(cfg);
    free(store);
    /* The library: no warning stream, the info says it. */
    cpo_report_opts o;
    cpo_report_opts_init(&o);
    o.warn = NULL;
    o.gnuplot = "/nonexistent/gnuplot";
    cpo_report_info info;
    cpo_error e;
    ck_assert_msg(cpo_report_build(run, &o, &info, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(info.gnuplot_missing, 1);
    ck_assert_uint_eq(info.n_drawn, 0);
    /* Every chart but the three of option books and margin columns
     * (Greeks, P&L by expiry, margin) and the futures' basis, which are
     * not for this folder. */
    ck_assert_uint_eq(info.n_charts, RP_RUN_CHARTS - 4);
    tu_rmtree(dir);
    free(empty);
    free(run);
    free(dir);
}
END_TEST

/*
 * gnuplot processes in parallel (cpo_report_opts jobs): a stand-in
 * gnuplot that draws every chart but fails on drawdown with a message.
 * Whatever the number of processes at once, the same charts are drawn,
 * drawdown fails with its own message (not another chart's), no .tmp is
 * left, and the page and the charts' files are the same bytes.
 */
START_TEST(test_report_draw__parallel_jobs)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "hostile");
    char *fake = tu_path(dir, "fake-gnuplot");
    /* argv: -e "cpo_suffix = '.tmp.<pid>'" NAME.gp, run in charts/. */
    tu_write_file(fake, "#!/bin/sh\n"
                        "name=${3%.gp}\n"
                        "sfx=$(printf %s \"${2##* }\" | tr -d \"'\")\n"
                        "if [ \"$name\" = drawdown ]; then echo \"line 7: boom in $name\" >&2; "
                        "exit 3; fi\n"
                        "sleep 0.05\n"
                        "printf 'png %s' \"$name\" > \"$name.png$sfx\"\n"
                        "printf 'svg %s' \"$name\" > \"$name.svg$sfx\"\n");
    ck_assert_int_eq(chmod(fake, 0755), 0);
    char *page[3] = {NULL, NULL, NULL};
    size_t drawn = 0;
    static const int jobs[3] = {1, 4, 0};
    for (int k = 0; k < 3; k++) {
        cpo_report_opts o;
        cpo_report_opts_init(&o);
        o.warn = NULL;
        o.gnuplot = fake;
        o.jobs = jobs[k];
        cpo_report_info info;
        cpo_error e;
        ck_assert_msg(cpo_report_build(run, &o, &info, &e) == 0, "%s", tu_errstr(&e));
        ck_assert_uint_eq(info.n_failed, 1);
        ck_assert_uint_ge(info.n_drawn, 7);
        if (k == 0)
            drawn = info.n_drawn;
        ck_assert_uint_eq(info.n_drawn, drawn);
        char *html = tu_path(run, "report.html");
        page[k] = tu_read_file(html, NULL);
        free(html);
        ck_assert_ptr_nonnull(strstr(page[k], "gnuplot drawdown.gp exited with status 3: "
                                              "line 7: boom in drawdown"));
        ck_assert_uint_eq(count_of(page[k], "boom"), 1);
        char *png = tu_path(run, "charts/equity.png");
        char *text = tu_read_file(png, NULL);
        ck_assert_str_eq(text, "png equity");
        free(text);
        free(png);
        ck_assert(!tu_file_in(run, "charts/drawdown.png"));
        ck_assert(!tu_file_in(run, "charts/drawdown.svg"));
        ck_assert(tu_file_in(run, "charts/drawdown.gp"));
        char *charts = tu_path(run, "charts");
        DIR *d = opendir(charts);
        ck_assert_ptr_nonnull(d);
        struct dirent *de;
        while ((de = readdir(d)))
            ck_assert_msg(!strstr(de->d_name, ".tmp"), "%s left", de->d_name);
        closedir(d);
        free(charts);
    }
    ck_assert_str_eq(page[0], page[1]);
    ck_assert_str_eq(page[0], page[2]);
    for (int k = 0; k < 3; k++)
        free(page[k]);
    tu_rmtree(dir);
    free(fake);
    free(run);
    free(dir);
}
END_TEST

/*
 * cpo_report_opts charts ([report] charts): a stand-in gnuplot that writes
 * the images its script names (a "set terminal pngcairo" line for the PNG,
 * "set terminal svg" for the SVG).  After a report with both images, one
 * with svg (or png) only leaves that image alone, its script draws only it,
 * and the page shows it without the other's link; none runs no gnuplot,
 * keeps the scripts and data and leaves no image.
 */
START_TEST(test_report_charts__png_svg_none)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "hostile");
    char *fake = tu_path(dir, "fake-gnuplot");
    /* argv: -e "cpo_suffix = '.tmp.<pid>'" NAME.gp, run in charts/. */
    tu_write_file(fake, "#!/bin/sh\n"
                        "name=${3%.gp}\n"
                        "sfx=$(printf %s \"${2##* }\" | tr -d \"'\")\n"
                        "if grep -q 'set terminal pngcairo' \"$3\"; then "
                        "printf 'png %s' \"$name\" > \"$name.png$sfx\"; fi\n"
                        "if grep -q 'set terminal svg' \"$3\"; then "
                        "printf 'svg %s' \"$name\" > \"$name.svg$sfx\"; fi\n");
    ck_assert_int_eq(chmod(fake, 0755), 0);
    static const struct {
        int charts;
        int png, svg; /* the images after it */
    } steps[] = {{CPO_CHARTS_BOTH, 1, 1},
                 {CPO_CHARTS_SVG, 0, 1},
                 {CPO_CHARTS_PNG, 1, 0},
                 {CPO_CHARTS_NONE, 0, 0}};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        cpo_report_opts o;
        cpo_report_opts_init(&o);
        o.warn = NULL;
        o.gnuplot = fake;
        o.charts = steps[k].charts;
        cpo_report_info info;
        cpo_error e;
        ck_assert_msg(cpo_report_build(run, &o, &info, &e) == 0, "%s", tu_errstr(&e));
        ck_assert_uint_eq(info.n_failed, 0);
        if (steps[k].charts == CPO_CHARTS_NONE)
            ck_assert_uint_eq(info.n_drawn, 0);
        else
            ck_assert_uint_ge(info.n_drawn, 7);
        ck_assert_int_eq(tu_file_in(run, "charts/equity.png"), steps[k].png);
        ck_assert_int_eq(tu_file_in(run, "charts/equity.svg"), steps[k].svg);
        ck_assert_int_eq(tu_file_in(run, "charts/weights.png"), steps[k].png);
        ck_assert_int_eq(tu_file_in(run, "charts/weights.svg"), steps[k].svg);
        ck_assert(tu_file_in(run, "charts/equity.gp"));
        ck_assert(tu_file_in(run, "charts/equity.dat"));
        /* The scripts: one terminal each for one image, both for both
         * (equity: PNG then SVG by replot; weights: a loop of panels). */
        char *gp = tu_path(run, "charts/equity.gp");
        char *text = tu_read_file(gp, NULL);
        int want_png = steps[k].charts != CPO_CHARTS_SVG;
        int want_svg = steps[k].charts != CPO_CHARTS_PNG;
        ck_assert_int_eq(strstr(text, "set terminal pngcairo") != NULL, want_png);
        ck_assert_int_eq(strstr(text, "set terminal svg") != NULL, want_svg);
        ck_assert_int_eq(strstr(text, "replot") != NULL, want_png && want_svg);
        free(text);
        free(gp);
        char *html = tu_path(run, "report.html");
        text = tu_read_file(html, NULL);
        if (steps[k].png)
            ck_assert_ptr_nonnull(strstr(text, "<img src=\"charts/equity.png\""));
        else if (steps[k].svg)
            ck_assert_ptr_nonnull(strstr(text, "<img src=\"charts/equity.svg\""));
        else
            ck_assert_ptr_null(strstr(text, "<img "));
        /* The SVG link under an image: only when there are both. */
        ck_assert_int_eq(strstr(text, "charts/equity.svg\">SVG</a>") != NULL,
                         steps[k].png && steps[k].svg);
        free(text);
        free(html);
    }
    tu_rmtree(dir);
    free(fake);
    free(run);
    free(dir);
}
END_TEST

/* --- cpo compare -------------------------------------------------------------------- */

/* Two runs on two stores (bump differs) and one more on the first store
 * with a later start.  Paths into *a, *b, *c. */
static void three_runs(const char *dir, char **a, char **b, char **c, char **sa, char **sb)
{
    *sa = write_store(dir, "store.h5", 0.0);
    *sb = write_store(dir, "other.h5", 1.0);
    char *c1 = write_config(dir, "a.ini", cfg_text);
    char text[2048];
    snprintf(text, sizeof text, "%s", cfg_text);
    char *at = strstr(text, "store.h5");
    memcpy(at, "other.h5", 8);
    char *c2 = write_config(dir, "b.ini", text);
    char *c3 = write_config(dir, "c.ini",
                            "[backtest]\ndata = store.h5\ncapital = 100000\nstart = 2024-01-11\n"
                            "[strategy]\nschedule = once\nweigh = equal\n");
    *a = tu_path(dir, "runs/a");
    *b = tu_path(dir, "runs/b");
    *c = tu_path(dir, "runs/c");
    run_cfg(c1, *a);
    run_cfg(c2, *b);
    run_cfg(c3, *c);
    free(c1);
    free(c2);
    free(c3);
}

START_TEST(test_compare__refusals_and_align)
{
    char *dir = tu_tmpdir();
    char *a, *b, *c, *sa, *sb;
    three_runs(dir, &a, &b, &c, &sa, &sb);
    char ha[65], hb[65];
    cpo_error e;
    ck_assert_int_eq(cpo_sha256_file(sa, ha, &e), 0);
    ck_assert_int_eq(cpo_sha256_file(sb, hb, &e), 0);
    ck_assert_str_ne(ha, hb);
    /* Different stores. */
    const char *ab[2] = {a, b};
    cpo_compare_opts o;
    cpo_compare_opts_init(&o);
    char *out = tu_path(dir, "cmp");
    o.out_dir = out;
    ck_assert_int_eq(cpo_compare_build(ab, 2, &o, NULL, &e), CPO_EDATA);
    char want[2048];
    snprintf(want, sizeof want,
             "%s vs %s: different data (store sha256 %.12s... vs %.12s...) (expected runs on "
             "the same store, or --align)",
             a, b, ha, hb);
    ck_assert_str_eq(tu_errstr(&e), want);
    ck_assert(!tu_exists(out));
    /* The command line: the same words after "cpo: ". */
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd, "cd '%s' && %s compare runs/a runs/b -o cmp", dir, CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &text), 1);
    snprintf(want, sizeof want,
             "cpo: runs/a vs runs/b: different data (store sha256 %.12s... vs %.12s...) "
             "(expected runs on the same store, or --align)\n",
             ha, hb);
    ck_assert_str_eq(text, want);
    free(text);
    /* Different periods. */
    const char *ac[2] = {a, c};
    ck_assert_int_eq(cpo_compare_build(ac, 2, &o, NULL, &e), CPO_EDATA);
    snprintf(want, sizeof want,
             "%s vs %s: different periods (2024-01-01T00:00:00Z .. 2024-02-29T00:00:00Z, 60 bars "
             "vs 2024-01-11T00:00:00Z .. 2024-02-29T00:00:00Z, 50 bars) (expected runs over the "
             "same period, or --align)",
             a, c);
    ck_assert_str_eq(tu_errstr(&e), want);
    /* --align: compared on the common bars; table, page, charts. */
    snprintf(cmd, sizeof cmd, "cd '%s' && %s compare runs/a runs/b runs/c --align -o cmp", dir,
             CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "cpo compare: 3 runs, 2024-01-11T00:00:00Z .. "
                                       "2024-02-29T00:00:00Z: 50 common bars of 1d\n"));
    ck_assert_ptr_nonnull(strstr(text, "note: the runs are on different stores (--align)"));
    ck_assert_ptr_nonnull(strstr(text, "runs/a"));
    ck_assert_ptr_nonnull(strstr(text, "total return"));
    ck_assert_ptr_nonnull(strstr(text, "compare: cmp/compare.html\n"));
    free(text);
    ck_assert(tu_file_in(out, "compare.html"));
    ck_assert(tu_file_in(out, "charts/equity.gp"));
    ck_assert(tu_file_in(out, "charts/equity.dat"));
    ck_assert(tu_file_in(out, "charts/drawdown.gp"));
    if (have_gnuplot()) {
        ck_assert(tu_file_in(out, "charts/equity.png"));
        ck_assert(tu_file_in(out, "charts/drawdown.svg"));
    }
    char *eqd = tu_path(out, "charts/equity.dat");
    text = tu_read_file(eqd, NULL);
    ck_assert_uint_eq(count_of(text, "\n") - count_of(text, "# "), 50);
    /* Growth of 1: run c starts at the common period, its first bar is
     * measured from its capital; every value is a positive number. */
    ck_assert_ptr_nonnull(strstr(text, "\n1704931200 "));
    free(text);
    free(eqd);
    char *html = tu_path(out, "compare.html");
    text = tu_read_file(html, NULL);
    ck_assert_ptr_nonnull(strstr(text, "Attribution: differences between the runs"));
    ck_assert_ptr_nonnull(strstr(text, "over the compared bars"));
    free(text);
    free(html);
    free(out);
    tu_rmtree(dir);
    free(a);
    free(b);
    free(c);
    free(sa);
    free(sb);
    free(dir);
}
END_TEST

/* Runs on the same store and period: the metrics over the compared bars
 * are the summaries' (same formulas), the attribution differences 0. */
START_TEST(test_compare__same_period_metrics)
{
    char *dir = tu_tmpdir();
    char *store = write_store(dir, "store.h5", 0.0);
    char *c1 = write_config(dir, "a.ini", cfg_text);
    char *c2 = write_config(dir, "b.ini",
                            "[backtest]\ndata = store.h5\ncapital = 100000\n"
                            "[strategy]\nschedule = once\nweigh = equal\n");
    char *a = tu_path(dir, "a"), *b = tu_path(dir, "b");
    run_cfg(c1, a);
    run_cfg(c2, b);
    const char *ab[2] = {a, b};
    char *tpath = tu_path(dir, "table.txt");
    FILE *tf = fopen(tpath, "w");
    ck_assert_ptr_nonnull(tf);
    cpo_compare_opts o;
    cpo_compare_opts_init(&o);
    o.table = tf;
    o.out_dir = NULL; /* the table only */
    cpo_error e;
    ck_assert_msg(cpo_compare_build(ab, 2, &o, NULL, &e) == 0, "%s", tu_errstr(&e));
    fclose(tf);
    char *text = tu_read_file(tpath, NULL);
    /* Both runs' total return as the summary has it, on the compared row. */
    for (int k = 0; k < 2; k++) {
        rp_run r;
        ck_assert_int_eq(rp_run_load(&r, ab[k], &e), 0);
        char pct[64];
        rp_fmt_pct(pct, sizeof pct, json_real_value(json_object_get(r.summary, "total_return")));
        const char *row = strstr(text, "  total return");
        ck_assert_ptr_nonnull(row);
        const char *eol = strchr(row, '\n');
        ck_assert_msg(strstr(row, pct) && strstr(row, pct) < eol, "%s not in %.*s", pct,
                      (int)(eol - row), row);
        rp_run_free(&r);
    }
    ck_assert(!tu_file_in(dir, "compare"));
    free(text);
    free(tpath);
    tu_rmtree(dir);
    free(a);
    free(b);
    free(c1);
    free(c2);
    free(store);
    free(dir);
}
END_TEST

/* --- columns of later versions, benchmark, trades, options ------------------------------- */

/* The forward fixture (tests/data/report/forward/README says how its
 * numbers were made): margin, Greek and financing columns in ledger.csv,
 * a benchmark, round trips, an option book. */
START_TEST(test_report_forward__columns)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "forward");
    cpo_report_info info;
    cpo_error e;
    ck_assert_msg(cpo_report_build(run, NULL, &info, &e) == 0, "%s", tu_errstr(&e));
    /* Every chart but the futures' basis (the fixture has no futures.csv). */
    ck_assert_uint_eq(info.n_charts, RP_RUN_CHARTS - 1);
    char *charts = tu_path(run, "charts");
    /* Margin: the ratio column as it is, and im / margin balance; the
     * first step: mm 50, im 100, balance = equity 1000 + 100/31 + 2. */
    char *p = tu_path(charts, "margin.dat");
    char *text = tu_read_file(p, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "margin_ratio_CCY"));
    const char *row = strstr(text, "\n1704067200 ");
    ck_assert_ptr_nonnull(row);
    double t, ratio, im;
    ck_assert_int_eq(sscanf(row + 1, "%lf %lf %lf", &t, &ratio, &im), 3);
    double bal = 1000.0 + 100.0 / 31.0 + 2.0;
    ck_assert_double_eq_tol(ratio, 50.0 / bal, 1e-15);
    ck_assert_double_eq_tol(im, 100.0 / bal, 1e-15);
    free(text);
    free(p);
    /* Greeks from the ledger's columns, seven panels of one underlying:
     * delta_usd 20000, delta 0.5, gamma 0.001, vega -0.02, theta 0.003,
     * vanna 0, volga 0 on the first step. */
    p = tu_path(charts, "greeks.dat");
    text = tu_read_file(p, NULL);
    ck_assert_ptr_nonnull(strstr(text, "ledger.csv's columns"));
    row = strstr(text, "\n1704067200 ");
    double g[7];
    ck_assert_int_eq(sscanf(row + 1, "%lf %lf %lf %lf %lf %lf %lf %lf", &t, &g[0], &g[1], &g[2],
                            &g[3], &g[4], &g[5], &g[6]),
                     8);
    const double want_g[7] = {20000, 0.5, 0.001, -0.02, 0.003, 0, 0};
    for (int k = 0; k < 7; k++)
        ck_assert_double_eq(g[k], want_g[k]);
    free(text);
    free(p);
    char *gp = tu_path(charts, "greeks.gp");
    text = tu_read_file(gp, NULL);
    ck_assert_ptr_nonnull(strstr(text, "set multiplot layout 4,2"));
    ck_assert_ptr_nonnull(strstr(text, "set title \"BTC: vanna\""));
    free(text);
    free(gp);
    /* financing: in the ledger only; its running sum ends at 40 x -0.5. */
    p = tu_path(charts, "pnl_lines.dat");
    text = tu_read_file(p, NULL);
    ck_assert_ptr_nonnull(strstr(text, "one per line: price, funding, financing, fees, slippage, "
                                       "options, revaluation"));
    free(text);
    free(p);
    char *html = tu_path(run, "report.html");
    text = tu_read_file(html, NULL);
    char b[64];
    ck_assert_str_eq(cell_after(text, "<td>financing</td>", b, sizeof b), "-20.00");
    /* P&L by instrument: the perpetual 139, the options 70 and -144, the
     * instruments 65, financing -20 of the book, 45 = 1045 - 1000. */
    ck_assert_ptr_nonnull(strstr(text, "<td>BTC-26JAN24-45000-C</td><td>option</td><td class=\"n\">0.00</td>"));
    ck_assert_str_eq(cell_after(text, "<td>BTCUSDT-PERP</td><td>perp</td>", b, sizeof b), "132.70");
    const char *inst = strstr(text, "<h3>P&amp;L by instrument</h3>");
    ck_assert_ptr_nonnull(inst);
    ck_assert_ptr_nonnull(strstr(inst, "<td class=\"n\">70.00</td></tr>"));
    ck_assert_ptr_nonnull(strstr(inst, "<td class=\"n\">-144.00</td></tr>"));
    ck_assert_ptr_nonnull(strstr(inst, "<td class=\"n\">-12.40</td><td class=\"n\">-20.00</td>"
                                       "<td class=\"n\">65.00</td></tr>"));
    ck_assert_ptr_nonnull(strstr(inst, "<td colspan=\"8\">change in equity (final − capital)</td>"
                                       "<td class=\"n\">45.00</td>"));
    /* Monthly returns: January 10 %, February -5 %, the year 4.5 %; the
     * benchmark's year 1.01^31 x 0.99^9 - 1. */
    ck_assert_ptr_nonnull(strstr(text, "<tr><td>2024</td><td class=\"n pos\">10.0</td>"
                                       "<td class=\"n neg\">-5.0</td>"));
    char bench[64];
    rp_fmt_pct(bench, sizeof bench, pow(1.01, 31) * pow(0.99, 9) - 1.0);
    char want[256];
    snprintf(want, sizeof want, "<td class=\"n pos\">4.50 %%</td><td class=\"n pos\">%s</td></tr>",
             bench);
    ck_assert_msg(strstr(text, want) != NULL, "%s", want);
    /* The key figures name the benchmark and its return. */
    snprintf(want, sizeof want, "<div class=\"v\">%s</div><div class=\"k\">BTCUSDT total return",
             bench);
    ck_assert_msg(strstr(text, want) != NULL, "%s", want);
    /* Round trips (the README): 4, 3 won, 6.40 / -10.40, profit factor
     * 19.2 / 10.4, best 9.8, worst -10.4, 8.80 in all, 3.75 days, 1 open. */
    ck_assert_ptr_nonnull(strstr(text, "<tr><td>BTCUSDT-PERP</td><td class=\"n\">4</td><td "
                                       "class=\"n\">3</td><td class=\"n\">75.00 %</td><td "
                                       "class=\"n\">6.40</td><td class=\"n\">-10.40</td><td "
                                       "class=\"n\">1.85</td><td class=\"n\">9.80</td><td "
                                       "class=\"n\">-10.40</td><td class=\"n\">8.80</td><td "
                                       "class=\"n\">3.8 d</td><td class=\"n\">1</td></tr>"));
    ck_assert_ptr_nonnull(strstr(text, "summary.json counts 4 round trips the same way"));
    /* The option book's sections and tables. */
    ck_assert_ptr_nonnull(strstr(text, "<h3>P&amp;L by Greek, by expiry</h3>"));
    static const char *const with_options[] = {"summary", "performance", "returns", "risk",
                                               "metrics", "pnl", "options", "drawdowns",
                                               "attribution", "trades", "events", "settings",
                                               "manifest"};
    size_t imgs = check_page(run, "report.html", with_options, 13);
    if (have_gnuplot())
        ck_assert_uint_ge(imgs, 10);
    free(text);
    free(html);
    free(charts);
    tu_rmtree(dir);
    free(run);
    free(dir);
}
END_TEST

/* The numbers behind the tables, by hand (the fixture's README). */
START_TEST(test_report_calc__periods_and_trips)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "forward");
    rp_run r;
    cpo_error e;
    ck_assert_msg(rp_run_load(&r, run, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(r.has_bench, 1);
    ck_assert_int_eq(r.has_opt, 1);
    rp_period *p = NULL;
    size_t n = 0;
    ck_assert_int_eq(rp_periods(&r, RP_PER_MONTH, &p, &n, &e), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_double_eq_tol(p[0].ret, 0.10, 1e-15);
    ck_assert_double_eq_tol(p[1].ret, 1045.0 / 1100.0 - 1.0, 1e-15);
    ck_assert_double_eq_tol(p[0].bench, pow(1.01, 31) - 1.0, 1e-12);
    ck_assert_double_eq_tol(p[1].bench, pow(0.99, 9) - 1.0, 1e-12);
    ck_assert_uint_eq(p[1].first, 31);
    ck_assert_uint_eq(p[1].last, 39);
    free(p);
    /* Weeks from Monday: 2024-01-01 was one; 40 days make 6 weeks. */
    ck_assert_int_eq(rp_periods(&r, RP_PER_WEEK, &p, &n, &e), 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(p[1].start_ms, T0 + 7 * CPO_MS_DAY);
    free(p);
    rp_trip_sum *s = NULL;
    ck_assert_int_eq(rp_round_trips(&r, &s, &n, &e), 0);
    ck_assert_uint_eq(n, 2); /* the perpetual and the total */
    ck_assert_str_eq(s[0].symbol, "BTCUSDT-PERP");
    ck_assert_uint_eq(s[0].trips, 4);
    ck_assert_uint_eq(s[0].won, 3);
    ck_assert_double_eq_tol(s[0].win_sum, 9.8 + 5.8 + 3.6, 1e-12);
    ck_assert_double_eq_tol(s[0].loss_sum, -10.4, 1e-12);
    ck_assert_double_eq_tol(s[0].hold_ms, 15.0 * CPO_MS_DAY, 1e-3);
    ck_assert_uint_eq(s[0].open, 1);
    ck_assert_ptr_null(s[1].symbol);
    ck_assert_uint_eq(s[1].trips, 4);
    free(s);
    /* Option contracts: options line, fees and slippage at 40,000 USD a coin. */
    ck_assert_uint_eq(r.opt.ncon, 2);
    ck_assert_str_eq(r.opt.con[0].name, "BTC-26JAN24-45000-C");
    ck_assert_double_eq_tol(r.opt.con[0].options, 92.0, 1e-9);
    ck_assert_double_eq_tol(r.opt.con[0].fees, -18.0, 1e-9);
    ck_assert_double_eq_tol(r.opt.con[0].slippage, -4.0, 1e-9);
    ck_assert_double_eq_tol(r.opt.con[1].options, -112.0, 1e-9);
    ck_assert_uint_eq(r.opt.approx, 0);
    /* Their Greeks at step 3 (the call, qty -1): delta -0.1, gamma per 1 %
     * -1e-9 x 40000^2 / 100 = -0.016, vega per point -0.005, theta a day -0.01. */
    const double *g = &r.opt.greek[(3 * r.opt.nu + 0) * RP_OG_COUNT];
    ck_assert_double_eq_tol(g[RP_OG_DELTA], -0.1, 1e-15);
    ck_assert_double_eq_tol(g[RP_OG_GAMMA], -0.016, 1e-15);
    ck_assert_double_eq_tol(g[RP_OG_VEGA], -0.005, 1e-15);
    ck_assert_double_eq_tol(g[RP_OG_THETA], -0.01, 1e-15);
    /* ledger.csv's other columns, by name. */
    int c = rp_ledger_col(&r, "financing");
    ck_assert_int_ge(c, 0);
    ck_assert_double_eq(rp_ledger(&r, c, 0), -0.5);
    ck_assert_int_eq(rp_ledger_col(&r, "nonesuch"), -1);
    rp_run_free(&r);
    tu_rmtree(dir);
    free(run);
    free(dir);
}
END_TEST

/* A benchmark.csv that does not fit the ledger is refused with its line. */
START_TEST(test_report_bench__bad_file)
{
    char *dir = tu_tmpdir();
    char *run = fixture(dir, "forward");
    char *p = tu_path(run, "benchmark.csv");
    tu_write_file(p, "ts,close,return\n2024-01-01T00:00:00Z,101,0.01\n2023-12-01T00:00:00Z,1,x\n");
    cpo_error e;
    ck_assert_int_eq(cpo_report_build(run, NULL, NULL, &e), CPO_EDATA);
    char want[1200];
    snprintf(want, sizeof want, "%s:3:1: ts 2023-12-01T00:00:00Z is not a step of ledger.csv "
             "(expected the ledger's times)", p);
    ck_assert_str_eq(tu_errstr(&e), want);
    tu_write_file(p, "ts,close,return\n2024-01-01T00:00:00Z,101,abc\n");
    ck_assert_int_eq(cpo_report_build(run, NULL, NULL, &e), CPO_EPARSE);
    snprintf(want, sizeof want, "%s:2:3: return \"abc\" is not a number (expected a decimal "
             "number)", p);
    ck_assert_str_eq(tu_errstr(&e), want);
    tu_write_file(p, "ts,close\n");
    ck_assert_int_eq(cpo_report_build(run, NULL, NULL, &e), CPO_EFORMAT);
    ck_assert_ptr_nonnull(strstr(tu_errstr(&e), "missing column \"return\""));
    /* Without the file: the run alone, and the page says why. */
    unlink(p);
    ck_assert_msg(cpo_report_build(run, NULL, NULL, &e) == 0, "%s", tu_errstr(&e));
    char *html = tu_path(run, "report.html");
    char *text = tu_read_file(html, NULL);
    ck_assert_ptr_nonnull(strstr(text, "summary.json names the benchmark BTCUSDT but this run "
                                       "folder has no benchmark.csv"));
    ck_assert_ptr_null(strstr(text, "BTCUSDT total return"));
    free(text);
    free(html);
    free(p);
    tu_rmtree(dir);
    free(run);
    free(dir);
}
END_TEST

/* --- the examples on real data -------------------------------------------------------- */

/* The "difference" of the P&L-by-instrument table: its total less the
 * change in equity. */
static double instrument_gap(const char *page_text)
{
    const char *inst = strstr(page_text, "<h3>P&amp;L by instrument</h3>");
    ck_assert_ptr_nonnull(inst);
    const char *d = strstr(inst, "difference</td><td class=\"n\">");
    ck_assert_ptr_nonnull(d);
    return strtod(d + strlen("difference</td><td class=\"n\">"), NULL);
}

/*
 * The examples' reports as a reader opens them: the spot book with its
 * benchmark (monthly_equal_8: BTCUSDT), the perpetual hedge
 * (btc_perp_hedge) and the option book (short_strangle_hedged).  Every
 * image of each page exists, every section is there; the P&L by
 * instrument adds up to the change in equity (its difference row, against
 * the capital: rounding only); each view of the issue is there.  Then
 * cpo compare of two examples on one store: one table, each row once,
 * drawdowns negative.
 */
START_TEST(test_report_examples__pages)
{
    char *tmp = tu_tmpdir();
    char *daily = NULL, *hourly = NULL;
    if (!tu_real_store(tmp, "daily", &daily) || !tu_real_store(tmp, "hourly", &hourly)) {
        free(daily);
        tu_rmtree(tmp);
        free(tmp);
        return;
    }
    static const char *const with_options[] = {"summary", "performance", "returns", "risk",
                                               "metrics", "pnl", "options", "drawdowns",
                                               "attribution", "trades", "events", "settings",
                                               "manifest"};
    static const struct {
        const char *name;
        int hourly, options;
        const char *views[6]; /* texts the page must hold */
    } ex[] = {
        {"monthly_equal_8", 0, 0,
         {"Growth of 1: the run and its benchmark BTCUSDT", "Rolling beta and correlation to "
          "BTCUSDT", "<h3>Monthly returns (%)</h3>", "Yearly returns (%): the run and its "
          "benchmark", "<h3>Worst periods</h3>", "<h3>Round trips</h3>"}},
        {"btc_perp_hedge", 1, 0,
         {"<td>funding</td>", "P&amp;L by line, cumulative", "<h3>Distribution of daily "
          "returns</h3>", "<td>BTCUSDT-PERP</td>", "Weights over time", NULL}},
        {"short_strangle_hedged", 1, 1,
         {"Greek exposures", "Options: P&amp;L by expiry and Greek",
          "<h3>P&amp;L by Greek, by expiry</h3>", "<td>BTC-9JAN26-94000-C</td><td>option</td>",
          "options expiring 2026-01-09", NULL}},
    };
    char *dirs[3];
    for (size_t k = 0; k < 3; k++) {
        char cfg[128];
        snprintf(cfg, sizeof cfg, "%s.ini", ex[k].name);
        dirs[k] = tu_run_example(tmp, cfg, ex[k].hourly ? hourly : daily, NULL, NULL);
        size_t imgs = check_page(dirs[k], "report.html", ex[k].options ? with_options : run_sections,
                                 ex[k].options ? 13 : N_RUN_SECTIONS);
        if (have_gnuplot())
            ck_assert_uint_ge(imgs, 12);
        char *html = tu_path(dirs[k], "report.html");
        char *text = tu_read_file(html, NULL);
        for (size_t v = 0; v < 6 && ex[k].views[v]; v++)
            ck_assert_msg(strstr(text, ex[k].views[v]) != NULL, "%s: no \"%s\"", ex[k].name,
                          ex[k].views[v]);
        /* Capital 1,000,000: rounding of the sums only. */
        double gap = instrument_gap(text);
        fprintf(stderr, "check_report: %s: P&L by instrument - change in equity = %.3g\n",
                ex[k].name, gap);
        ck_assert_msg(fabs(gap) < 1e-6, "%s: P&L by instrument off by %g", ex[k].name, gap);
        free(text);
        free(html);
    }
    /* cpo compare: monthly equal weight and its drift-band twin. */
    char *drift = tu_run_example(tmp, "drift_band_5.ini", daily, NULL, NULL);
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s compare '%s' '%s' -o '%s/cmp'", CPO_BINARY, dirs[0], drift, tmp);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    /* Each row's label once; the drawdown rows negative. */
    size_t rows = 0;
    for (const char *l = strstr(out, "\n  total return"); l && *l; l = strchr(l + 1, '\n')) {
        const char *s = l + 1;
        if (strncmp(s, "  ", 2) || strncmp(s, "  (", 3) == 0)
            break;
        /* The label runs to the first two spaces (labels have single ones). */
        const char *end = strstr(s + 2, "  ");
        ck_assert_ptr_nonnull(end);
        size_t n = (size_t)(end - (s + 2));
        char label[80], needle[96];
        snprintf(label, sizeof label, "%.*s", (int)(n < 79 ? n : 79), s + 2);
        snprintf(needle, sizeof needle, "\n  %s  ", label);
        ck_assert_msg(count_of(out, needle) == 1, "row \"%s\" more than once", label);
        rows++;
    }
    ck_assert_uint_ge(rows, 20);
    ck_assert_ptr_null(strstr(out, "metrics."));
    const char *dd = strstr(out, "\n  max drawdown  ");
    ck_assert_ptr_nonnull(dd);
    ck_assert_ptr_nonnull(strstr(dd, "-77."));
    ck_assert(strstr(dd, "-77.") < strchr(dd + 1, '\n'));
    free(out);
    char *cmp = tu_path(tmp, "cmp");
    static const char *const cmp_sections[] = {"runs", "metrics", "charts", "attribution"};
    check_page(cmp, "compare.html", cmp_sections, 4);
    ck_assert(tu_file_in(cmp, "charts/rolling_sharpe.gp"));
    ck_assert(tu_file_in(cmp, "charts/attribution_asset.dat"));
    free(cmp);
    free(drift);
    for (size_t k = 0; k < 3; k++)
        free(dirs[k]);
    free(daily);
    free(hourly);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* --- pieces --------------------------------------------------------------------------- */

/* Drawdown episodes by hand: capital 100, equity 110 90 120 60 80. */
START_TEST(test_report_drawdowns__by_hand)
{
    const double eq[] = {110, 90, 120, 60, 80};
    rp_dd d[3];
    size_t n = rp_drawdowns(eq, 5, 100.0, d, 3);
    ck_assert_uint_eq(n, 2);
    /* 120 -> 60: 50 %, not recovered; 110 -> 90: 2/11, recovered at 120. */
    ck_assert_double_eq_tol(d[0].depth, 0.5, 1e-15);
    ck_assert_uint_eq(d[0].peak, 2);
    ck_assert_uint_eq(d[0].trough, 3);
    ck_assert_uint_eq(d[0].recovery, SIZE_MAX);
    ck_assert_double_eq_tol(d[1].depth, 20.0 / 110.0, 1e-15);
    ck_assert_uint_eq(d[1].peak, 0);
    ck_assert_uint_eq(d[1].trough, 1);
    ck_assert_uint_eq(d[1].recovery, 2);
    /* A fall from the capital itself. */
    const double eq2[] = {95, 100};
    n = rp_drawdowns(eq2, 2, 100.0, d, 3);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(d[0].peak, SIZE_MAX);
    ck_assert_uint_eq(d[0].recovery, 1);
}
END_TEST

START_TEST(test_report_html__escape)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "h.txt");
    FILE *f = fopen(p, "w");
    rp_html(f, "<a href=\"x\">'&'</a>");
    fclose(f);
    char *text = tu_read_file(p, NULL);
    ck_assert_str_eq(text, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    free(text);
    char b[64];
    rp_fmt_money(b, sizeof b, -1234567.891, 2);
    ck_assert_str_eq(b, "-1,234,567.89");
    rp_fmt_money(b, sizeof b, -0.001, 2);
    ck_assert_str_eq(b, "0.00");
    rp_fmt_pct(b, sizeof b, -0.00001);
    ck_assert_str_eq(b, "0.00 %");
    /* A metric that is a small rate (the risk-free return of an hour at 4 %
     * a year: 1.04^(1/8760) - 1) keeps its digits; 0 stays 0.00 %. */
    json_t *v = json_real(pow(1.04, 1.0 / 8760.0) - 1.0);
    rp_fmt_metric(b, sizeof b, "risk_free", v);
    ck_assert_str_eq(b, "0.000448 %");
    json_real_set(v, 0.0);
    rp_fmt_metric(b, sizeof b, "risk_free", v);
    ck_assert_str_eq(b, "0.00 %");
    json_real_set(v, 0.1234);
    rp_fmt_metric(b, sizeof b, "annual_volatility", v);
    ck_assert_str_eq(b, "12.34 %");
    json_decref(v);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *report_suite(void);
Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_report_quote__escapes);
    tcase_add_test(tc, test_report_quote__gnuplot_reads_back);
    tcase_add_test(tc, test_report_run__charts_and_html);
    tcase_add_test(tc, test_report_long_run__m4_rows);
    tcase_add_test(tc, test_report_bytes__identical);
    tcase_add_test(tc, test_report_html__hostile_names);
    tcase_add_test(tc, test_report_charts__png_svg_none);
    tcase_add_test(tc, test_report_attr__reconciles_without_kind);
    tcase_add_test(tc, test_report_cli__not_a_run_folder);
    tcase_add_test(tc, test_report_cli__no_gnuplot);
    tcase_add_test(tc, test_report_draw__parallel_jobs);
    tcase_add_test(tc, test_compare__refusals_and_align);
    tcase_add_test(tc, test_compare__same_period_metrics);
    tcase_add_test(tc, test_report_drawdowns__by_hand);
    tcase_add_test(tc, test_report_html__escape);
    tcase_add_test(tc, test_report_forward__columns);
    tcase_add_test(tc, test_report_calc__periods_and_trips);
    tcase_add_test(tc, test_report_bench__bad_file);
    TCase *tr = tcase_create("examples");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, test_report_examples__pages);
    suite_add_tcase(s, tr);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
