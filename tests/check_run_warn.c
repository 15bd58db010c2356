/*
 * check_run_warn.c - runs that would mislead (issue 20): periods outside
 * the data and fixed spot books that need leverage are refused before
 * anything runs; a leg without a price, targets ignored, orders cut and a
 * `once` schedule that could not invest are said on stderr, in
 * summary.json ("warnings") and in the report; the example configs say
 * nothing, and `cpo metrics runs/X/ledger.csv` gives their summary's table.
 *
 * The store: AAAUSDT and BBBUSDT spot, 60 daily bars from 2024-01-01
 * (a leap year: the last bar opens 2024-02-29 and ends 2024-03-01), and
 * the perpetual CCC-PERP whose bars start on day 20 (2024-01-21).
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/config.h"
#include "cpo/run.h"
#include "cpo/time.h"
#include "testutil.h"

#define T0 INT64_C(1704067200000) /* 2024-01-01 */

static char *write_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    static const struct {
        const char *sym, *base;
        cpo_kind kind;
        int from;
    } in[] = {{"AAAUSDT", "AAA", CPO_KIND_SPOT, 0},
              {"BBBUSDT", "BBB", CPO_KIND_SPOT, 0},
              {"CCC-PERP", "CCC", CPO_KIND_PERP, 20}};
    for (int k = 0; k < 3; k++) {
        cpo_instrument ins;
        cpo_instrument_init(&ins, in[k].sym, in[k].kind, CPO_SETTLE_LINEAR);
        snprintf(ins.base, sizeof ins.base, "%s", in[k].base);
        snprintf(ins.quote, sizeof ins.quote, "USDT");
        size_t idx;
        ck_assert_int_eq(cpo_dataset_add(ds, &ins, &idx, &e), 0);
        cpo_bars *b = &ds->bars[idx];
        b->bar_ms = CPO_MS_DAY;
        for (int t = in[k].from; t < 60; t++) {
            double c = k == 0 ? 100.0 + t : k == 1 ? 200.0 - t : 50.0 + 0.5 * t;
            ck_assert_int_eq(cpo_bars_append(b, T0 + t * CPO_MS_DAY, c, c + 1, c - 1, c, 1000.0,
                                             NAN, NAN, NAN, NAN),
                             0);
        }
    }
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

typedef struct fx {
    char *dir, *store, *cfg, *out;
    cpo_run_report rep;
    cpo_error err;
} fx;

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->dir = tu_tmpdir();
    f->store = write_store(f->dir);
    f->cfg = tu_path(f->dir, "cfg.ini");
    f->out = tu_path(f->dir, "run");
}

static void fx_fini(fx *f)
{
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->store);
    free(f->cfg);
    free(f->out);
}

/* Write the config (data = store.h5) and run it into f->out. */
static int fx_run(fx *f, const char *text)
{
    char full[4096];
    snprintf(full, sizeof full, "[backtest]\ndata = store.h5\ncapital = 100000\n%s", text);
    tu_write_file(f->cfg, full);
    cpo_config *c = NULL;
    cpo_error_clear(&f->err);
    int rc = cpo_config_load(&c, f->cfg, &f->err);
    if (rc)
        return rc;
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = f->out;
    o.force = 1;
    rc = cpo_run_to_dir(c, &o, &f->rep, &f->err);
    cpo_config_free(c);
    return rc;
}

static const char *const spot2 = "[universe]\nspot = AAAUSDT, BBBUSDT\n"
                                 "[strategy]\nschedule = every\nweigh = equal\n";

/* --- refused before the run ------------------------------------------------ */

/* issue 20: start before the data (a drift schedule fired once before any
 * price and never again: +0.00 %, exit 0), dates wholly outside it (a run
 * of zeros, sharpe nan), and an end after it (926 steps without prices
 * diluted the annual return from 49.4 % to 31.6 %) all ran.  Now refused
 * with the span: the first bar's open to the last bar's end. */
START_TEST(test_period__outside_the_data_is_refused)
{
    fx f;
    fx_init(&f);
    static const struct {
        const char *keys, *key, *value;
        long line;
    } cases[] = {
        {"start = 2023-06-01\n", "start", "2023-06-01", 4},
        {"start = 2015-01-01\nend = 2016-12-31\n", "start", "2015-01-01", 4},
        {"start = 2024-01-10\nend = 2024-03-01\n", "end", "2024-03-01", 5},
        {"end = 2023-12-31\n", "end", "2023-12-31", 4},
        {"start = 2024-03-01\n", "start", "2024-03-01", 4},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[1024], want[2048];
        snprintf(text, sizeof text, "%s%s", cases[k].keys, spot2);
        ck_assert_int_eq(fx_run(&f, text), CPO_ECONFIG);
        snprintf(want, sizeof want,
                 "%s:%ld: %s = \"%s\" is outside the data: the bars of the universe in %s/store.h5 "
                 "run from 2024-01-01T00:00:00Z to 2024-03-01T00:00:00Z (expected a period inside "
                 "that span; leave out end to run to the end of the data)",
                 f.cfg, cases[k].line, cases[k].key, cases[k].value, f.dir);
        ck_assert_str_eq(tu_errstr(&f.err), want);
        ck_assert(!tu_exists(f.out)); /* nothing made */
    }
    /* The last day of the data, and no end at all (to the end), run. */
    char text[1024];
    snprintf(text, sizeof text, "start = 2024-01-10\nend = 2024-02-29\n%s", spot2);
    ck_assert_msg(fx_run(&f, text) == 0, "%s", tu_errstr(&f.err));
    ck_assert_uint_eq(f.rep.metrics.n_steps, 51); /* Jan 10 .. Feb 29 */
    snprintf(text, sizeof text, "start = 2024-01-10\n%s", spot2);
    ck_assert_msg(fx_run(&f, text) == 0, "%s", tu_errstr(&f.err));
    ck_assert_uint_eq(f.rep.metrics.n_steps, 51);
    ck_assert_uint_eq(f.rep.n_warnings, 0);
    fx_fini(&f);
}
END_TEST

/* issue 20: fixed spot weights adding up to 1.1 without leverage ran: 787
 * trades under 1e-6 units, 3,520 "cut to 2.78e-13" events.  Spot is bought
 * with cash: 0.55 + 0.55 = 1.1 > 1, refused at the weights' line.  A
 * perpetual leg needs its margin only (imr 1: 0.5 + 0.5 = 1, allowed); an
 * overlay may scale the weights, so with one the run goes ahead. */
START_TEST(test_plan__fixed_spot_book_needing_leverage_is_refused)
{
    fx f;
    fx_init(&f);
    ck_assert_int_eq(fx_run(&f, "[universe]\nspot = AAAUSDT, BBBUSDT\n"
                                "[strategy]\nschedule = every\nweigh = fixed\n"
                                "[weigh.fixed]\nweights = AAAUSDT:0.55, BBBUSDT:0.55\n"),
                     CPO_ECONFIG);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:10: [weigh.fixed] weights = \"AAAUSDT:0.55, BBBUSDT:0.55\" need 1.1 of equity in "
             "cash (long spot 1.1) (expected at most 1: spot is bought with cash and the book has "
             "no leverage for it; lower the weights, or trade perpetuals)",
             f.cfg);
    ck_assert_str_eq(tu_errstr(&f.err), want);
    ck_assert(!tu_exists(f.out));
    /* With cash_buffer = 0.1 the engine buys 0.9 x 1.1 = 0.99: it fits. */
    ck_assert_msg(fx_run(&f, "cash_buffer = 0.1\n[universe]\nspot = AAAUSDT, BBBUSDT\n"
                             "[strategy]\nschedule = once\nweigh = fixed\n"
                             "[weigh.fixed]\nweights = AAAUSDT:0.55, BBBUSDT:0.55\n") == 0,
                  "%s", tu_errstr(&f.err));
    /* The points of a sweep of that book fail the same way. */
    char *sw = tu_path(f.dir, "sweep.ini"), *swo = tu_path(f.dir, "sweep"), cmd[4096], *out = NULL;
    tu_write_file(sw, "[backtest]\ndata = store.h5\ncapital = 100000\n"
                      "[universe]\nspot = AAAUSDT, BBBUSDT\n"
                      "[strategy]\nschedule = every\nweigh = fixed\n"
                      "[weigh.fixed]\nweights = AAAUSDT:0.55, BBBUSDT:0.55\n"
                      "[sweep]\ncosts.fee_bps = 5, 10\n");
    snprintf(cmd, sizeof cmd, "%s sweep --quiet -j 1 -o %s %s", CPO_BINARY, swo, sw);
    ck_assert_int_eq(tu_run(cmd, &out), 1);
    snprintf(want, sizeof want,
             "cpo: every point failed; point 0: %s:10: [weigh.fixed] weights = \"AAAUSDT:0.55, "
             "BBBUSDT:0.55\" need 1.1 of equity in cash (long spot 1.1) (expected at most 1: spot "
             "is bought with cash and the book has no leverage for it; lower the weights, or "
             "trade perpetuals)\n",
             sw);
    ck_assert_str_eq(out, want);
    free(out);
    free(sw);
    free(swo);
    ck_assert_msg(fx_run(&f, "start = 2024-01-21\n[universe]\nspot = AAAUSDT\nperp = CCC-PERP\n"
                             "[strategy]\nschedule = every\nweigh = fixed\n"
                             "[weigh.fixed]\nweights = AAAUSDT:0.5, CCC-PERP:-0.5\n") == 0,
                  "%s", tu_errstr(&f.err));
    ck_assert_uint_eq(f.rep.n_warnings, 0);
    fx_fini(&f);
}
END_TEST

/* --- said after the run ---------------------------------------------------- */

/* issue 20: a hedge leg with no price yet (btc_perp_hedge without start):
 * +65.32 %, BTC spot re-traded every hour, 15,164 "target weight ignored"
 * lines only in events.csv.  Here CCC-PERP has no bar on days 0 .. 19 of
 * the 60: 20 steps without a price, and the daily schedule's 20 targets
 * for it on those days ignored (2024-01-01 .. 2024-01-20). */
START_TEST(test_warnings__leg_without_a_price)
{
    fx f;
    fx_init(&f);
    const char *text = "[universe]\nspot = AAAUSDT\nperp = CCC-PERP\n"
                       "[strategy]\nschedule = every\nweigh = fixed\n"
                       "[weigh.fixed]\nweights = AAAUSDT:0.5, CCC-PERP:-0.5\n";
    ck_assert_msg(fx_run(&f, text) == 0, "%s", tu_errstr(&f.err));
    ck_assert_uint_eq(f.rep.n_warnings, 2);
    const cpo_run_warning *w = f.rep.warnings;
    ck_assert_str_eq(w[0].kind, "no_price");
    ck_assert_str_eq(w[0].symbol, "CCC-PERP");
    ck_assert_uint_eq(w[0].count, 20);
    ck_assert_uint_eq(w[0].of, 60);
    ck_assert_int_eq(w[0].first_ms, T0);
    ck_assert_int_eq(w[0].last_ms, T0 + 19 * CPO_MS_DAY);
    ck_assert_str_eq(w[0].text, "CCC-PERP: no price at 20 of the 60 steps of the run, from "
                                "2024-01-01T00:00:00Z to 2024-01-20T00:00:00Z");
    ck_assert_str_eq(w[1].kind, "target_ignored");
    ck_assert_str_eq(w[1].text, "CCC-PERP: 20 target weights ignored for want of a price: from "
                                "2024-01-01T00:00:00Z to 2024-01-20T00:00:00Z");
    /* summary.json "warnings" */
    json_t *s = tu_load_json(f.out, "summary.json");
    json_t *ws = json_object_get(s, "warnings");
    ck_assert_uint_eq(json_array_size(ws), 2);
    json_t *w0 = json_array_get(ws, 0);
    ck_assert_str_eq(json_string_value(json_object_get(w0, "kind")), "no_price");
    ck_assert_int_eq(json_integer_value(json_object_get(w0, "count")), 20);
    ck_assert_int_eq(json_integer_value(json_object_get(w0, "of")), 60);
    ck_assert_str_eq(json_string_value(json_object_get(w0, "first")), "2024-01-01T00:00:00Z");
    ck_assert_str_eq(json_string_value(json_object_get(w0, "last")), "2024-01-20T00:00:00Z");
    ck_assert_str_eq(json_string_value(json_object_get(w0, "message")), w[0].text);
    json_decref(s);
    /* the report's banner, at the top */
    char *html_path = tu_path(f.out, "report.html");
    char *html = tu_read_file(html_path, NULL);
    ck_assert_ptr_nonnull(html);
    const char *banner = strstr(html, "<div class=\"warn\" id=\"warnings\">");
    ck_assert_ptr_nonnull(banner);
    ck_assert_ptr_nonnull(strstr(banner, "<li>CCC-PERP: 20 target weights ignored for want of a "
                                         "price: from 2024-01-01T00:00:00Z to "
                                         "2024-01-20T00:00:00Z</li>"));
    ck_assert(banner < strstr(html, "<section id=\"summary\">"));
    free(html);
    free(html_path);
    /* the console: one line a problem on stderr, exit 0 */
    char cmd[4096];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run --quiet --force -o %s %s", CPO_BINARY, f.out, f.cfg);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_str_eq(out, "cpo: warning: CCC-PERP: no price at 20 of the 60 steps of the run, "
                          "from 2024-01-01T00:00:00Z to 2024-01-20T00:00:00Z\n"
                          "cpo: warning: CCC-PERP: 20 target weights ignored for want of a price: "
                          "from 2024-01-01T00:00:00Z to 2024-01-20T00:00:00Z\n");
    free(out);
    fx_fini(&f);
}
END_TEST

/* issue 20: with schedule = once the book that could not buy a leg at the
 * only rebalance held cash for it all along, silently. */
START_TEST(test_warnings__once_that_could_not_invest)
{
    fx f;
    fx_init(&f);
    ck_assert_msg(fx_run(&f, "[universe]\nspot = AAAUSDT\nperp = CCC-PERP\n"
                             "[strategy]\nschedule = once\nweigh = fixed\n"
                             "[weigh.fixed]\nweights = AAAUSDT:0.5, CCC-PERP:-0.5\n") == 0,
                  "%s", tu_errstr(&f.err));
    ck_assert_uint_eq(f.rep.n_warnings, 3);
    ck_assert_str_eq(f.rep.warnings[1].text, "CCC-PERP: 1 target weights ignored for want of a "
                                             "price: at 2024-01-01T00:00:00Z");
    ck_assert_str_eq(f.rep.warnings[2].kind, "once_not_invested");
    ck_assert_str_eq(f.rep.warnings[2].text,
                     "the once schedule could not invest in CCC-PERP (no price at its only "
                     "rebalance); the run holds cash for them, at 2024-01-01T00:00:00Z");
    fx_fini(&f);
}
END_TEST

/* Spot weights of 0.8 + 0.8 behind a caps overlay (which could have scaled
 * them, so the run is not refused): the buy of BBBUSDT filled at the open
 * of day 1 finds 0.2 of equity left and is cut to a quarter, under half;
 * the later ones find nothing.  Said, with the first at 2024-01-02. */
START_TEST(test_warnings__orders_cut_for_lack_of_cash)
{
    fx f;
    fx_init(&f);
    ck_assert_msg(fx_run(&f, "[universe]\nspot = AAAUSDT, BBBUSDT\n"
                             "[strategy]\nschedule = every\nweigh = fixed\noverlay = caps\n"
                             "[weigh.fixed]\nweights = AAAUSDT:0.8, BBBUSDT:0.8\n"
                             "[overlay.caps]\nmax_leverage = 2\n") == 0,
                  "%s", tu_errstr(&f.err));
    size_t k = 0;
    while (k < f.rep.n_warnings && strcmp(f.rep.warnings[k].kind, "order_cut"))
        k++;
    ck_assert_uint_lt(k, f.rep.n_warnings);
    const cpo_run_warning *w = &f.rep.warnings[k];
    ck_assert_str_eq(w->symbol, "BBBUSDT");
    ck_assert_uint_ge(w->count, 1);
    ck_assert_uint_le(w->count, 59); /* fills at the opens of days 1 .. 59 */
    ck_assert_int_eq(w->first_ms, T0 + CPO_MS_DAY);
    ck_assert_ptr_nonnull(strstr(w->text, "orders cut to less than half for lack of cash or margin: "));
    fx_fini(&f);
}
END_TEST

/* --- the examples ------------------------------------------------------------ */

/*
 * Every example config on the stores imported from datasets/sample, as
 * scripts/demo.sh makes them (configs/ copied, datasets/ linked, for the
 * configs' other relative paths): `cpo run` prints no warning (stderr empty
 * with --quiet), and `cpo metrics runs/X/ledger.csv --json` gives the
 * same value for every key as summary.json's "metrics" (issue 20: the
 * ledger has no row for the starting capital, so CAGR came out 0.90483
 * against 0.90420); summary.json has more keys, only those of a backtest.
 */
START_TEST(test_examples__no_warning_and_metrics_of_the_ledger)
{
    char *dir = tu_tmpdir(), cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "set -e; cd %s; mkdir -p out/demo/csv configs; "
             "(cd %s/csv && find . -name '*.gz') | while read -r f; do "
             "mkdir -p out/demo/csv/$(dirname $f); gzip -dc %s/csv/$f > out/demo/csv/${f%%.gz}; "
             "done; "
             "for s in daily hourly broad; do %s data import --quiet --force -o out/demo/crypto-$s.h5 "
             "-m %s/$s.ini --root out/demo/csv; done; cp %s/configs/*.ini configs/; "
             "ln -s %s/datasets datasets",
             dir, CPO_SAMPLE_DIR, CPO_SAMPLE_DIR, CPO_BINARY, CPO_SAMPLE_DIR, CPO_SOURCE_DIR,
             CPO_SOURCE_DIR);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    free(out);
    static const char *const backtest_only[] = {
        "alpha", "beta", "benchmark_pairs", "fees_paid", "funding_paid", "slippage_paid",
        "gross_exposure_max", "gross_exposure_mean", "net_exposure_max", "net_exposure_mean",
        "net_exposure_min", "leverage_max", "leverage_mean", "net_leverage_mean", "round_trips",
        "round_trips_won", "hit_rate_round_trips", "turnover", "turnover_annual"};
    glob_t g;
    char pat[1200];
    snprintf(pat, sizeof pat, "%s/configs/*.ini", dir);
    ck_assert_int_eq(glob(pat, 0, NULL, &g), 0);
    size_t runs = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *text = tu_read_file(g.gl_pathv[i], NULL);
        /* Sweeps, and the configs of the step interface (their [env]: the
         * agent is their strategy, cpo run refuses them). */
        int skip = strstr(text, "\n[sweep]") != NULL || strstr(text, "\n[env]") != NULL;
        free(text);
        if (skip)
            continue;
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - 4), base);
        snprintf(cmd, sizeof cmd, "cd %s && %s run --quiet -o runs/%s configs/%s.ini", dir,
                 CPO_BINARY, name, name);
        out = NULL;
        int rc = tu_run(cmd, &out);
        ck_assert_msg(rc == 0 && !strcmp(out, ""), "%s: exit %d: %s", name, rc, out);
        free(out);
        snprintf(cmd, sizeof cmd, "cd %s && %s metrics runs/%s/ledger.csv --json", dir, CPO_BINARY,
                 name);
        out = NULL;
        ck_assert_msg(tu_run(cmd, &out) == 0, "%s: %s", name, out);
        json_error_t je;
        json_t *m = json_loads(out, 0, &je);
        ck_assert_msg(m != NULL, "%s: %s", name, je.text);
        free(out);
        char rd[1300];
        snprintf(rd, sizeof rd, "%s/runs/%s", dir, name);
        json_t *s = tu_load_json(rd, "summary.json");
        json_t *sm = json_object_get(s, "metrics");
        const char *key;
        json_t *v;
        json_object_foreach(m, key, v)
        {
            ck_assert_msg(json_equal(v, json_object_get(sm, key)), "%s: %s differs", name, key);
        }
        json_object_foreach(sm, key, v)
        {
            if (json_object_get(m, key))
                continue;
            int ok = 0;
            for (size_t k = 0; k < sizeof backtest_only / sizeof *backtest_only; k++)
                ok |= !strcmp(key, backtest_only[k]);
            ck_assert_msg(ok, "%s: %s only in summary.json", name, key);
        }
        json_decref(m);
        json_decref(s);
        runs++;
    }
    globfree(&g);
    ck_assert_uint_ge(runs, 10);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_warn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_period__outside_the_data_is_refused);
    tcase_add_test(tc, test_plan__fixed_spot_book_needing_leverage_is_refused);
    tcase_add_test(tc, test_warnings__leg_without_a_price);
    tcase_add_test(tc, test_warnings__once_that_could_not_invest);
    tcase_add_test(tc, test_warnings__orders_cut_for_lack_of_cash);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("examples");
    tcase_set_timeout(te, 1200);
    tcase_add_test(te, test_examples__no_warning_and_metrics_of_the_ledger);
    suite_add_tcase(s, te);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
