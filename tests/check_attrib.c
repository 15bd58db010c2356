/*
 * check_attrib.c - attribution (cpo/attrib.h): Carino linking against a
 * hand calculation, the asset lines of real engine runs against the
 * portfolio's return, Euler risk contributions, the factors built from a
 * hand-made store, a regression with known coefficients, the rolling
 * identity, and bad inputs with their exact messages.
 */
#include <check.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/attrib.h"
#include "cpo/backtest.h"
#include "cpo/dataset.h"
#include "cpo/market.h"
#include "cpo/registry.h"
#include "cpo/synth.h"
#include "cpo/time.h"
#include "params.h"
#include "testutil.h"

static const int64_t JAN1 = INT64_C(1704067200000); /* 2024-01-01T00:00Z, a Monday */

/* --- a run driven by built-in stages -------------------------------------- */

typedef struct bench {
    cpo_registry *reg;
    cpo_run_spec spec;
    cpo_dataset *ds;
    cpo_market *m;
    cpo_result *r;
    cpo_attrib *a;
} bench;

static void bench_init(bench *b)
{
    memset(b, 0, sizeof *b);
    cpo_error err;
    ck_assert_msg(cpo_registry_new(&b->reg, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_int_eq(cpo_dataset_new(&b->ds, &err), 0);
    cpo_run_spec_init(&b->spec);
    b->spec.capital = 100000.0;
    b->spec.detail = CPO_DETAIL_INSTRUMENT;
    b->spec.costs.slippage_bps = 5.0;
}

/* Add a built-in stage with "key=value;key=value" parameters. */
static void bench_stage(bench *b, cpo_stage_role role, const char *name, const char *kv)
{
    const cpo_stage_def *def = cpo_registry_find(b->reg, role, name);
    ck_assert_msg(def != NULL, "no %s stage %s", cpo_role_name(role), name);
    cpo_params *p = NULL;
    ck_assert_int_eq(cpo_params_new(&p, def, NULL), 0);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *item = strtok(buf, ";"); item; item = strtok(NULL, ";")) {
        char *eq = strchr(item, '=');
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        char why[256];
        ck_assert_msg(cpo_params_set(p, item, eq + 1, why, sizeof why) == 0, "%s", why);
    }
    ck_assert_int_eq(cpo_params_finish(p, NULL), 0);
    b->spec.stages[b->spec.n_stages].def = def;
    b->spec.stages[b->spec.n_stages].params = p;
    b->spec.n_stages++;
}

/* Build the market of ms on b->ds, make the collector, run. */
static void bench_run(bench *b, const cpo_market_spec *ms, const cpo_attrib_opts *opts)
{
    cpo_error err;
    ck_assert_msg(cpo_market_build(&b->m, b->ds, ms, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_msg(cpo_attrib_new(&b->a, b->m, b->ds, opts, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_msg(cpo_backtest_run(&b->r, b->m, &b->spec, cpo_attrib_sink, b->a, &err) == 0, "%s",
                  tu_errstr(&err));
    ck_assert_msg(cpo_attrib_compute(b->a, b->r, &err) == 0, "%s", tu_errstr(&err));
}

static void bench_fini(bench *b)
{
    for (size_t s = 0; s < b->spec.n_stages; s++)
        cpo_params_free(b->spec.stages[s].params);
    cpo_attrib_free(b->a);
    cpo_result_free(b->r);
    cpo_market_free(b->m);
    cpo_dataset_free(b->ds);
    cpo_registry_free(b->reg);
}

/* A synthetic hourly market of n_assets coins with perps (funding every
 * 8h) from seed, perp leverage 4, rebalanced daily: the weigh stage is the
 * caller's. */
static void synth_market(bench *b, size_t n_assets, size_t n_steps, uint64_t seed)
{
    bench_init(b);
    cpo_synth_spec ss;
    cpo_synth_spec_init(&ss);
    ss.n_assets = n_assets;
    ss.n_steps = n_steps;
    ss.start_ms = JAN1;
    ss.perps = 1;
    ss.seed = seed;
    cpo_error err;
    ck_assert_msg(cpo_synth_generate(b->ds, &ss, &err) == 0, "%s", tu_errstr(&err));
    b->spec.costs.kind[CPO_KIND_PERP].imr = 0.25;
    bench_stage(b, CPO_ROLE_SCHEDULE, "every_n", "n=24");
}

/* 3 coins, long spot and long/short perps. */
static void synth_run(bench *b, size_t days, const cpo_attrib_opts *opts)
{
    synth_market(b, 3, days * 24, 11);
    bench_stage(b, CPO_ROLE_WEIGH, "fixed",
                "weights=SYN000USDT:0.4, SYN001USDT:0.3, SYN000USDT-PERP:-0.2, "
                "SYN002USDT-PERP:0.3");
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    bench_run(b, &ms, opts);
}

/* The number in column col (0-based) of the first CSV line starting
 * with prefix. */
static double csv_field(const char *text, const char *prefix, int col)
{
    const char *p = text;
    size_t n = strlen(prefix);
    while (p && *p) {
        if (!strncmp(p, prefix, n)) {
            for (int c = 0; c < col; c++) {
                p = strchr(p, ',');
                ck_assert_ptr_nonnull(p);
                p++;
            }
            return strtod(p, NULL);
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    ck_abort_msg("no line starting with %s", prefix);
    return NAN;
}

/* The attribution's files of a run (cpo_attrib_write) in a folder of
 * their own; files_free removes them. */
typedef struct files {
    char *dir;
    char *path[CPO_ATTRIB_FILE_COUNT];
} files;

static void files_write(files *fs, cpo_attrib *a, const cpo_result *r)
{
    fs->dir = tu_tmpdir();
    for (int f = 0; f < CPO_ATTRIB_FILE_COUNT; f++)
        fs->path[f] = tu_path(fs->dir, cpo_attrib_file_name((cpo_attrib_file)f));
    cpo_error err;
    ck_assert_msg(cpo_attrib_write(a, r, (const char *const *)fs->path, &err) == 0, "%s",
                  tu_errstr(&err));
}

static void files_free(files *fs)
{
    for (int f = 0; f < CPO_ATTRIB_FILE_COUNT; f++)
        free(fs->path[f]);
    tu_rmtree(fs->dir);
    free(fs->dir);
}

/* --- Carino ----------------------------------------------------------------- */

START_TEST(test_attrib_carino__three_periods_two_assets_by_hand)
{
    /* Contributions (asset A, asset B) and period returns:
     *   t1: 0.06 + 0.04 =  0.10   k1 = ln(1.10)/0.10    = 0.953101798043249
     *   t2: -0.03 - 0.02 = -0.05  k2 = ln(0.95)/(-0.05) = 1.025865887751011
     *   t3: 0.01 - 0.01 =  0      k3 = 1 (the limit)
     * R = 1.10 * 0.95 * 1 - 1 = 0.045, k = ln(1.045)/0.045 = 0.978153009261652.
     * A = (0.06 k1 - 0.03 k2 + 0.01) / k = 0.036410131 / k = 0.037223349420096
     * B = (0.04 k1 - 0.02 k2 - 0.01) / k = 0.007606754 / k = 0.007776650579904
     * A + B = 0.045 = R.  (Arithmetic sums would be 0.04 and 0.01: 0.05.) */
    const double c[] = {0.06, 0.04, -0.03, -0.02, 0.01, -0.01};
    const double r[] = {0.10, -0.05, 0.0};
    double linked[2], R = 0.0;
    ck_assert_double_eq_tol(cpo_attrib_carino_k(0.10), 0.953101798043249, 1e-15);
    ck_assert_double_eq_tol(cpo_attrib_carino_k(-0.05), 1.025865887751011, 1e-15);
    ck_assert_double_eq(cpo_attrib_carino_k(0.0), 1.0);
    /* Near 0 log1p keeps k continuous: k(r) = 1 - r/2 + r^2/3 - ... */
    ck_assert_double_eq_tol(cpo_attrib_carino_k(1e-12), 1.0 - 5e-13, 1e-15);
    ck_assert(isnan(cpo_attrib_carino_k(-1.0)));
    ck_assert_int_eq(cpo_attrib_carino_link(linked, &R, c, r, 3, 2, NULL), 0);
    ck_assert_double_eq_tol(R, 0.045, 1e-15);
    ck_assert_double_eq_tol(linked[0], 0.037223349420096, 1e-14);
    ck_assert_double_eq_tol(linked[1], 0.007776650579904, 1e-14);
    ck_assert_double_eq_tol(linked[0] + linked[1], R, 1e-12);
}
END_TEST

START_TEST(test_attrib_carino__bad_return_message)
{
    const double c[] = {-1.2, 0.1};
    const double r[] = {-1.2, 0.1};
    double linked[1];
    cpo_error err;
    ck_assert_int_eq(cpo_attrib_carino_link(linked, NULL, c, r, 2, 1, &err), CPO_EDATA);
    ck_assert_str_eq(err.msg, "carino: the return of period 0 is -1.2 (expected a finite return "
                              "above -1)");
}
END_TEST

/* --- by asset on engine runs ---------------------------------------------------- */

START_TEST(test_attrib_assets__lines_add_up_to_the_run_return)
{
    bench b;
    cpo_attrib_opts o;
    cpo_attrib_opts_init(&o);
    snprintf(o.proxy, sizeof o.proxy, "SYN000");
    synth_run(&b, 60, &o);
    const cpo_attrib_assets *as = cpo_attrib_get_assets(b.a);
    ck_assert_ptr_nonnull(as);
    const cpo_result *r = b.r;
    double R = r->equity[r->n_steps - 1] / r->capital - 1.0;
    ck_assert_double_eq(as->total_return, R);
    ck_assert(as->linked_ok);
    ck_assert_uint_eq(as->n_parts, r->n_instr * 5 + 2);
    /* The asset lines add up to the run's return (Carino-linked), the
     * arithmetic ones to sum R_t. */
    ck_assert_msg(fabs(as->sum_linked - R) <= 1e-10, "sum %.17g, R %.17g", as->sum_linked, R);
    double sum_rt = 0.0, prev = r->capital;
    for (size_t t = 0; t < r->n_steps; t++) {
        sum_rt += r->equity[t] / prev - 1.0;
        prev = r->equity[t];
    }
    ck_assert_double_eq_tol(as->sum_arith, sum_rt, 1e-10);
    /* Each instrument's P&L by line is the engine's own total of it. */
    int funding_seen = 0;
    for (size_t j = 0; j < as->n_parts; j++) {
        const cpo_attrib_part *q = &as->parts[j];
        if (q->instr < 0)
            continue;
        double want = r->pnl_instr[(size_t)q->instr * CPO_PNL_COUNT + q->line];
        ck_assert_double_eq_tol(q->pnl, want, 1e-9 * fmax(1.0, fabs(want)));
        funding_seen |= q->line == CPO_PNL_FUNDING && q->pnl != 0.0;
    }
    ck_assert(funding_seen);
    ck_assert_double_eq_tol(as->sum_pnl, as->total_pnl, 1e-6);

    /* The file says total, sum of parts and residual. */
    files fs;
    files_write(&fs, b.a, b.r);
    char *text = tu_read_file(fs.path[CPO_ATTRIB_FILE_ASSET], NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "\nkind,instrument,line,contribution,share,arithmetic,pnl\n"));
    double tot = csv_field(text, "total,(all),total_return,", 3);
    double sum = csv_field(text, "sum_of_parts,(all),", 3);
    double res = csv_field(text, "residual,(all),", 3);
    ck_assert_double_eq_tol(tot, R, 1e-15);
    ck_assert_double_eq_tol(sum, R, 1e-10);
    ck_assert(fabs(res) <= 1e-10);
    long perp = cpo_market_find(b.m, "SYN000USDT-PERP");
    ck_assert_int_ge(perp, 0);
    ck_assert_double_eq_tol(csv_field(text, "part,SYN000USDT-PERP,funding,", 6),
                            r->pnl_instr[(size_t)perp * CPO_PNL_COUNT + CPO_PNL_FUNDING], 1e-6);
    free(text);
    /* The cumulative series ends at the total return. */
    text = tu_read_file(fs.path[CPO_ATTRIB_FILE_ASSET_SERIES], NULL);
    ck_assert_ptr_nonnull(strstr(text, "\nts,total_return,SYN000USDT,"));
    char last[40];
    cpo_time_format(r->ts[r->n_steps - 1], last, sizeof last);
    strcat(last, ",");
    ck_assert_double_eq_tol(csv_field(text, last, 1), R, 1e-12);
    free(text);
    files_free(&fs);
    bench_fini(&b);
}
END_TEST

/*
 * attribution_asset_series.csv of a run long and wide enough that its rows
 * are thinned (6,000 hourly steps over SERIES_MAX 5,000: every 2nd step
 * and the last) and formatted in pieces on the cores (28 instruments:
 * about 2,100 rows a piece).  Expected by hand: 3,001 rows, row k at the
 * open of step 2k, the last at the last step, its total return the run's.
 * Fails if a row is lost or the rows come out of order.
 */
START_TEST(test_attrib_series__thinned_rows_in_pieces)
{
    bench b;
    synth_market(&b, 14, 6000, 5);
    bench_stage(&b, CPO_ROLE_WEIGH, "equal", "");
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    bench_run(&b, &ms, NULL);
    const cpo_result *r = b.r;
    ck_assert_uint_eq(r->n_instr, 28);
    ck_assert_uint_eq(r->n_steps, 6000);
    files fs;
    files_write(&fs, b.a, b.r);
    char *text = tu_read_file(fs.path[CPO_ATTRIB_FILE_ASSET_SERIES], NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "# one row every 2 step(s) and the last step;"));
    const char *p = strstr(text, "\nts,total_return,");
    ck_assert_ptr_nonnull(p);
    p = strchr(p + 1, '\n') + 1;
    size_t rows = 0;
    double last_total = NAN;
    for (; *p; p = strchr(p, '\n') + 1, rows++) {
        size_t t = rows * 2 < r->n_steps ? rows * 2 : r->n_steps - 1;
        if (rows == 3000)
            t = r->n_steps - 1;
        char when[40];
        cpo_time_format(r->ts[t], when, sizeof when);
        ck_assert_msg(strncmp(p, when, strlen(when)) == 0 && p[strlen(when)] == ',',
                      "row %zu: %.30s, expected %s", rows, p, when);
        last_total = strtod(p + strlen(when) + 1, NULL);
    }
    ck_assert_uint_eq(rows, 3001);
    double R = r->equity[r->n_steps - 1] / r->capital - 1.0;
    ck_assert_double_eq_tol(last_total, R, 1e-12);
    free(text);
    files_free(&fs);
    bench_fini(&b);
}
END_TEST

START_TEST(test_attrib_risk__euler_contributions_add_up_to_sigma)
{
    bench b;
    synth_run(&b, 40, NULL);
    const cpo_attrib_risk *k = cpo_attrib_get_risk(b.a);
    ck_assert_ptr_nonnull(k);
    ck_assert_msg(k->ante_ok, "%s", k->ante_note);
    ck_assert_msg(k->post_ok, "%s", k->post_note);
    ck_assert_uint_eq(k->n_ante, 4);
    ck_assert_double_eq_tol(k->ante_sum, k->ante_sigma, 1e-12 * k->ante_sigma);
    ck_assert_double_eq_tol(k->post_sum, k->post_sigma, 1e-12 * k->post_sigma);
    /* sigma_p = sqrt(w'Sw), recomputed here with gsl_stats_covariance on
     * the 90 bar returns (mark, else close) up to the rebalance's close. */
    const cpo_market *m = b.m;
    long step = cpo_market_step_at(m, k->ante_ts);
    ck_assert_int_ge(step, 90);
    ck_assert_uint_eq(k->ante_rows, 90);
    size_t n = k->n_ante;
    double x[4][90];
    for (size_t h = 0; h < n; h++) {
        size_t i = (size_t)k->ante[h].instr;
        const double *mk = cpo_market_col(m, CPO_F_MARK, i), *cl = cpo_market_col(m, CPO_F_CLOSE, i);
        for (size_t s = 0; s < 90; s++) {
            size_t t = (size_t)step - 89 + s;
            double p1 = isfinite(mk[t]) ? mk[t] : cl[t], p0 = isfinite(mk[t - 1]) ? mk[t - 1] : cl[t - 1];
            x[h][s] = p1 / p0 - 1.0;
        }
    }
    double var = 0.0;
    for (size_t h = 0; h < n; h++)
        for (size_t g = 0; g < n; g++)
            var += k->ante[h].weight * k->ante[g].weight * gsl_stats_covariance(x[h], 1, x[g], 1, 90);
    ck_assert_double_eq_tol(k->ante_sigma, sqrt(var), 1e-12 * sqrt(var));
    /* Marginals: ccr_i = w_i * mcr_i. */
    for (size_t h = 0; h < n; h++)
        ck_assert_double_eq_tol(k->ante[h].contribution, k->ante[h].weight * k->ante[h].marginal,
                                1e-15);
    /* Ex post sigma is the sd of the step returns. */
    const cpo_result *r = b.r;
    double *rt = malloc(r->n_steps * sizeof *rt);
    for (size_t t = 0; t < r->n_steps; t++)
        rt[t] = r->equity[t] / (t ? r->equity[t - 1] : r->capital) - 1.0;
    double sd = gsl_stats_sd(rt, 1, r->n_steps);
    free(rt);
    ck_assert_double_eq_tol(k->post_sigma, sd, 1e-10 * sd);
    bench_fini(&b);
}
END_TEST

/* --- factors from a hand-made store ---------------------------------------------------- */

/* Five coins with daily bars growing at a constant rate g from 100, from
 * 2023-11-27 (a Monday) for 70 days; closes P(d) = 100 (1 + g)^d. */
static const struct {
    const char *base;
    double g;
} COINS[5] = {{"AAA", 0.01}, {"BBB", -0.005}, {"CCC", 0.002}, {"DDD", 0.02}, {"EEE", 0.03}};

static void caps_store(bench *b, int with_caps)
{
    const int64_t d0 = JAN1 - 35 * CPO_MS_DAY;
    for (int c = 0; c < 5; c++) {
        cpo_instrument in;
        char sym[32];
        snprintf(sym, sizeof sym, "%sUSDT", COINS[c].base);
        cpo_instrument_init(&in, sym, CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
        snprintf(in.base, sizeof in.base, "%s", COINS[c].base);
        snprintf(in.quote, sizeof in.quote, "USDT");
        size_t i;
        ck_assert_int_eq(cpo_dataset_add(b->ds, &in, &i, NULL), 0);
        cpo_bars *bars = &b->ds->bars[i];
        bars->bar_ms = CPO_MS_DAY;
        double prev = 100.0;
        for (int d = 0; d < 70; d++) {
            double cl = 100.0 * pow(1.0 + COINS[c].g, d);
            ck_assert_int_eq(cpo_bars_append(bars, d0 + d * CPO_MS_DAY, prev, fmax(prev, cl),
                                             fmin(prev, cl), cl, 1e6, NAN, NAN, NAN, NAN),
                             0);
            prev = cl;
        }
    }
    if (!with_caps)
        return;
    /* Snapshot 2023-12-01: AAA 1e9, BBB 5e8, CCC 2e8, DDD 5e7, EEE 5e5
     * (below $1M: not eligible).  Snapshot 2024-01-01 00:00: AAA and DDD
     * swap; it is not strictly before the period starting 2024-01-01, so
     * the first period must still use 2023-12-01. */
    const int64_t s1 = JAN1 - 31 * CPO_MS_DAY;
    const double c1[5] = {1e9, 5e8, 2e8, 5e7, 5e5}, c2[5] = {5e7, 5e8, 2e8, 1e9, 5e5};
    const int ord1[5] = {0, 1, 2, 3, 4}, ord2[5] = {3, 1, 2, 0, 4};
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(cpo_caps_append(&b->ds->caps, s1, k + 1, COINS[ord1[k]].base, "coin",
                                         c1[ord1[k]], NAN, NAN, NAN),
                         0);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(cpo_caps_append(&b->ds->caps, JAN1, k + 1, COINS[ord2[k]].base, "coin",
                                         c2[ord2[k]], NAN, NAN, NAN),
                         0);
}

/* Hold AAA (half the book) over 2024-01-01 .. 2024-01-21: three weeks. */
static void caps_run(bench *b, int with_caps, const cpo_attrib_opts *o)
{
    bench_init(b);
    caps_store(b, with_caps);
    bench_stage(b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(b, CPO_ROLE_WEIGH, "fixed", "weights=AAAUSDT:0.5");
    static const char *const syms[] = {"AAAUSDT"};
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ms.start_ms = JAN1;
    ms.end_ms = JAN1 + 20 * CPO_MS_DAY;
    ms.symbols = syms;
    ms.n_symbols = 1;
    bench_run(b, &ms, o);
}

START_TEST(test_attrib_factors__built_by_hand_from_caps)
{
    bench b;
    caps_run(&b, 1, NULL);
    const cpo_attrib_factors *F = cpo_attrib_get_factors(b.a);
    ck_assert_ptr_nonnull(F);
    ck_assert(F->available);
    ck_assert(!F->proxy);
    ck_assert_uint_eq(F->n_periods, 3);
    ck_assert_uint_eq(F->n_coins_universe, 5);
    ck_assert_int_eq(F->start_ms[1], JAN1 + 7 * CPO_MS_DAY);
    ck_assert_int_eq(F->end_ms[1], JAN1 + 14 * CPO_MS_DAY);
    ck_assert_uint_eq(F->bars[1], 7);
    /* A full week's return of a coin is (1 + g)^7 - 1 (close of Sunday to
     * close of Sunday). */
    double rw[5];
    for (int c = 0; c < 5; c++)
        rw[c] = pow(1.0 + COINS[c].g, 7) - 1.0;
    /* Period 0 uses the 2023-12-01 caps: CMKT = cap-weighted over AAA..DDD
     * (EEE is below $1M).  Sorted caps 5e7 2e8 5e8 1e9: P30 = 5e7 + 0.9 *
     * 1.5e8 = 1.85e8 -> small = {DDD}; P70 = 5e8 + 0.1 * 5e8 = 5.5e8 -> big
     * = {AAA}: CSMB = r_D - r_A.  Momentum r_{3,0} = (1+g)^21 - 1, sorted
     * BBB < CCC < AAA < DDD: P30 between BBB and CCC -> losers {BBB}; P70
     * between AAA and DDD -> winners {DDD}; size median 3.5e8: DDD small,
     * BBB big, so CMOM = (VW small winners) - (VW big losers) = r_D - r_B.
     * Period 1 uses the 2024-01-01 caps (AAA and DDD swapped): CSMB = r_A
     * - r_D; CMOM: winners {DDD} now big, losers {BBB} big: r_D - r_B. */
    const double c1[4] = {1e9, 5e8, 2e8, 5e7}, c2[4] = {5e7, 5e8, 2e8, 1e9};
    double m1 = 0.0, w1 = 0.0, m2 = 0.0, w2 = 0.0;
    for (int c = 0; c < 4; c++) {
        m1 += c1[c] * rw[c];
        w1 += c1[c];
        m2 += c2[c] * rw[c];
        w2 += c2[c];
    }
    for (size_t p = 0; p < 3; p++)
        ck_assert_uint_eq(F->n_coins[p], 4);
    ck_assert_double_eq_tol(F->f[0 * 3 + CPO_FACTOR_CMKT], m1 / w1, 1e-14);
    ck_assert_double_eq_tol(F->f[0 * 3 + CPO_FACTOR_CSMB], rw[3] - rw[0], 1e-14);
    ck_assert_double_eq_tol(F->f[0 * 3 + CPO_FACTOR_CMOM], rw[3] - rw[1], 1e-14);
    ck_assert_double_eq_tol(F->f[1 * 3 + CPO_FACTOR_CMKT], m2 / w2, 1e-14);
    ck_assert_double_eq_tol(F->f[1 * 3 + CPO_FACTOR_CSMB], rw[0] - rw[3], 1e-14);
    ck_assert_double_eq_tol(F->f[1 * 3 + CPO_FACTOR_CMOM], rw[3] - rw[1], 1e-14);
    /* The run's return of each period. */
    const cpo_result *r = b.r;
    ck_assert_double_eq_tol(F->r[1], r->equity[13] / r->equity[6] - 1.0, 1e-15);
    /* Holdings: nothing is held at the start of period 0; after that AAA
     * only, loading 1 on CMKT, +1 on CSMB (small in the 2024-01-01 caps),
     * 0 on CMOM (neither winner nor loser). */
    ck_assert_double_eq(F->expo[0 * 3 + CPO_FACTOR_CMKT], 0.0);
    double w = F->expo[1 * 3 + CPO_FACTOR_CMKT];
    ck_assert_msg(w > 0.45 && w < 0.6, "weight %g", w);
    ck_assert_double_eq(F->expo[1 * 3 + CPO_FACTOR_CSMB], w);
    ck_assert_double_eq(F->expo[1 * 3 + CPO_FACTOR_CMOM], 0.0);
    /* Three periods and three factors: too few for a regression. */
    ck_assert(!F->full_ok);
    ck_assert_str_eq(F->full_note, "not estimated: regression: 3 periods (expected at least 5: "
                                   "4 coefficients and one degree of freedom for the residual)");
    /* Nothing estimated: every period's excess return is not_estimated,
     * and the factor file still reconciles. */
    for (size_t p = 0; p < 3; p++) {
        ck_assert(!F->estimated[p]);
        ck_assert_double_eq(F->roll_resid[p], F->r[p] - F->rf[p]);
    }
    files fs;
    files_write(&fs, b.a, b.r);
    char *text = tu_read_file(fs.path[CPO_ATTRIB_FILE_FACTOR], NULL);
    ck_assert_ptr_nonnull(strstr(text, "# CMKT, CSMB and CMOM built from the 5 coins of the factor "
                                       "universe (every coin the store has spot bars for), "
                                       "weighted by their market caps, not from the holdings\n"));
    ck_assert_ptr_nonnull(strstr(text, "# full: OLS (gsl_multifit_linear) on the in-sample periods; "
                                       "not estimated: regression: 3 periods"));
    double R = r->equity[r->n_steps - 1] / r->capital - 1.0;
    ck_assert_double_eq_tol(csv_field(text, "total,full,", 7), R, 1e-12);
    ck_assert(fabs(csv_field(text, "residual,full,", 7)) <= 1e-12);
    ck_assert(fabs(csv_field(text, "residual,holdings,", 7)) <= 1e-12);
    free(text);
    files_free(&fs);
    bench_fini(&b);
}
END_TEST

/*
 * The declared factor universe.  The run holds AAA; the store has AAA ..
 * EEE.  factor_universe = list "BBB, CCC, DDD, EEE": 4 coins; period 0's
 * CMKT is cap-weighted over BBB, CCC, DDD with the 2023-12-01 caps (5e8,
 * 2e8, 5e7; EEE is below $1M).  factor_universe = run: AAA alone, which
 * the header calls mechanical; CSMB and CMOM need 3 coins and are not
 * built.
 */
START_TEST(test_attrib_factors__declared_universe)
{
    double rw[5];
    for (int c = 0; c < 5; c++)
        rw[c] = pow(1.0 + COINS[c].g, 7) - 1.0;
    bench b;
    cpo_attrib_opts o;
    cpo_attrib_opts_init(&o);
    o.factor_universe = CPO_FACTOR_UNIVERSE_LIST;
    snprintf(o.factor_coins, sizeof o.factor_coins, "BBB, CCC, DDD, EEE");
    caps_run(&b, 1, &o);
    const cpo_attrib_factors *F = cpo_attrib_get_factors(b.a);
    ck_assert_uint_eq(F->n_coins_universe, 4);
    double m = (5e8 * rw[1] + 2e8 * rw[2] + 5e7 * rw[3]) / (5e8 + 2e8 + 5e7);
    ck_assert_double_eq_tol(F->f[0 * 3 + CPO_FACTOR_CMKT], m, 1e-14);
    ck_assert_uint_eq(F->n_coins[0], 3);
    ck_assert_ptr_nonnull(strstr(F->note, "built from the 4 coins of the factor universe (the "
                                          "coins listed in [attribution] factor_universe)"));
    bench_fini(&b);

    cpo_attrib_opts_init(&o);
    o.factor_universe = CPO_FACTOR_UNIVERSE_RUN;
    caps_run(&b, 1, &o);
    F = cpo_attrib_get_factors(b.a);
    ck_assert_uint_eq(F->n_coins_universe, 1);
    ck_assert_double_eq_tol(F->f[1 * 3 + CPO_FACTOR_CMKT], rw[0], 1e-14);
    ck_assert(isnan(F->f[1 * 3 + CPO_FACTOR_CSMB]));
    ck_assert_ptr_nonnull(strstr(F->note, "(the coins of the run's universe only), weighted by "
                                          "their market caps; they are the coins the run holds: "
                                          "the fit is mechanical"));
    bench_fini(&b);
}
END_TEST

START_TEST(test_attrib_factors__no_caps_uses_the_declared_proxy)
{
    /* The same store without caps: CMKT is the proxy coin's return. */
    bench b;
    cpo_attrib_opts o;
    cpo_attrib_opts_init(&o);
    snprintf(o.proxy, sizeof o.proxy, "DDD");
    caps_run(&b, 0, &o);
    const cpo_attrib_factors *F = cpo_attrib_get_factors(b.a);
    ck_assert(F->available);
    ck_assert(F->proxy);
    ck_assert(F->used[CPO_FACTOR_CMKT] && !F->used[CPO_FACTOR_CSMB] && !F->used[CPO_FACTOR_CMOM]);
    ck_assert_str_eq(F->note, "the store has no market caps: CMKT is the return of DDD (DDDUSDT), "
                              "the declared proxy, minus rf; CSMB and CMOM need caps and are not "
                              "built");
    ck_assert_double_eq_tol(F->f[1 * 3 + CPO_FACTOR_CMKT], pow(1.02, 7) - 1.0, 1e-14);
    ck_assert(isnan(F->f[1 * 3 + CPO_FACTOR_CSMB]));
    bench_fini(&b);

    /* The default proxy (BTC) is not in a synthetic store: no factor, said
     * so, and the asset attribution is unaffected. */
    synth_run(&b, 20, NULL);
    F = cpo_attrib_get_factors(b.a);
    ck_assert(!F->available);
    ck_assert_str_eq(F->note, "the store has no market caps and no BTC instrument for the proxy: "
                              "no factor is built");
    ck_assert_str_eq(F->full_note, "no factor is built");
    ck_assert_ptr_nonnull(cpo_attrib_get_assets(b.a));
    bench_fini(&b);
}
END_TEST

/* --- regressions -------------------------------------------------------------------- */

/* r = alpha + sum beta_k f_k + e with f_k ~ N(0, 0.03^2), e ~ N(0, 0.01^2),
 * seeded (mt19937, seed 20240601). */
static void synth_factors(double *y, double *f, size_t n, const double *beta, double alpha)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 20240601);
    for (size_t s = 0; s < n; s++) {
        y[s] = alpha;
        for (int k = 0; k < 3; k++) {
            f[s * 3 + k] = gsl_ran_gaussian(g, 0.03);
            y[s] += beta[k] * f[s * 3 + k];
        }
        y[s] += gsl_ran_gaussian(g, 0.01);
    }
    gsl_rng_free(g);
}

START_TEST(test_attrib_regress__recovers_known_betas)
{
    enum { N = 2000 };
    const double beta[3] = {1.2, -0.5, 0.3}, alpha = 0.001;
    double *y = malloc(N * sizeof *y), *f = malloc(N * 3 * sizeof *f), *e = malloc(N * sizeof *e);
    synth_factors(y, f, N, beta, alpha);
    cpo_attrib_ols o;
    cpo_error err;
    ck_assert_msg(cpo_attrib_regress(&o, e, y, f, N, 3, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_uint_eq(o.n, N);
    /* With independent factors of sd 0.03 and noise of sd 0.01, the
     * standard error of each beta is about 0.01 / (0.03 sqrt(2000)) =
     * 0.0075 and of alpha 0.01 / sqrt(2000) = 0.00022: the reported ones
     * must be within 15 % of that, and the estimates within 5 of them
     * (a 5-sigma miss has probability 6e-7; the data are seeded). */
    double se_b = 0.01 / (0.03 * sqrt((double)N)), se_a = 0.01 / sqrt((double)N);
    ck_assert_double_eq_tol(o.se[0], se_a, 0.15 * se_a);
    ck_assert_double_eq_tol(o.coef[0], alpha, 5.0 * o.se[0]);
    for (int k = 0; k < 3; k++) {
        ck_assert_double_eq_tol(o.se[1 + k], se_b, 0.15 * se_b);
        ck_assert_double_eq_tol(o.coef[1 + k], beta[k], 5.0 * o.se[1 + k]);
        ck_assert_double_eq_tol(o.tstat[1 + k], o.coef[1 + k] / o.se[1 + k], 1e-12);
    }
    /* R^2 = signal / (signal + noise) = 1.78 * 9e-4 / (1.78 * 9e-4 + 1e-4)
     * = 0.9412, within sampling error (0.01). */
    ck_assert_double_eq_tol(o.r2, 0.9412, 0.01);
    /* The residuals close the identity and sum to 0 (intercept). */
    double se = 0.0;
    for (size_t s = 0; s < N; s++) {
        double fit = o.coef[0] + o.coef[1] * f[s * 3] + o.coef[2] * f[s * 3 + 1] +
                     o.coef[3] * f[s * 3 + 2];
        ck_assert_double_eq_tol(y[s], fit + e[s], 1e-15);
        se += e[s];
    }
    ck_assert(fabs(se) < 1e-12);
    /* One factor: the same numbers as GSL's simple regression. */
    double *x1 = malloc(N * sizeof *x1);
    for (size_t s = 0; s < N; s++)
        x1[s] = f[s * 3];
    double c0, c1, v00, v01, v11, ss;
    ck_assert_int_eq(gsl_fit_linear(x1, 1, y, 1, N, &c0, &c1, &v00, &v01, &v11, &ss), 0);
    ck_assert_int_eq(cpo_attrib_regress(&o, NULL, y, x1, N, 1, NULL), 0);
    ck_assert_double_eq_tol(o.coef[1], c1, 1e-12);
    ck_assert_double_eq_tol(o.se[1], sqrt(v11), 1e-12 * sqrt(v11));
    ck_assert_double_eq_tol(o.se[0], sqrt(v00), 1e-12 * sqrt(v00));
    ck_assert_double_eq_tol(o.rss, ss, 1e-12 * ss);
    free(x1);
    free(y);
    free(f);
    free(e);
}
END_TEST

START_TEST(test_attrib_rolling__identity_exact_and_no_look_ahead)
{
    enum { N = 300, W = 52 };
    const double beta[3] = {0.9, 0.4, -0.2};
    double *y = malloc(N * sizeof *y), *f = malloc(N * 3 * sizeof *f);
    synth_factors(y, f, N, beta, 0.0005);
    /* A break at 150: later betas differ, which a look-ahead would leak. */
    for (size_t s = 150; s < N; s++)
        y[s] += 0.8 * f[s * 3];
    uint8_t use[N], est[N];
    for (size_t s = 0; s < N; s++)
        use[s] = s % 17 != 5; /* some periods out of sample */
    double *coef = malloc(N * 4 * sizeof *coef), *ct = malloc(N * 4 * sizeof *ct),
           *res = malloc(N * sizeof *res);
    cpo_error err;
    ck_assert_msg(cpo_attrib_rolling(coef, ct, res, est, y, f, use, N, 3, W, 13, &err) == 0, "%s",
                  tu_errstr(&err));
    size_t n_est = 0;
    double yw[W], fw[W * 3];
    for (size_t s = 0; s < N; s++) {
        /* r - rf = alpha_{t-1} + sum beta_{k,t-1} f_k,t + e_t on every row. */
        double fit = ct[s * 4] + ct[s * 4 + 1] + ct[s * 4 + 2] + ct[s * 4 + 3];
        ck_assert_msg(fabs(y[s] - (fit + res[s])) <= 1e-12, "row %zu", s);
        if (!est[s]) {
            ck_assert_double_eq(res[s], y[s]);
            ck_assert(isnan(coef[s * 4]));
            continue;
        }
        n_est++;
        ck_assert(use[s]);
        for (int k = 0; k < 3; k++)
            ck_assert_double_eq_tol(ct[s * 4 + 1 + k], coef[s * 4 + 1 + k] * f[s * 3 + k], 1e-18);
        /* The coefficients of row s are those of the in-sample rows
         * s - W .. s - 1 alone. */
        size_t m = 0;
        for (size_t q = s > W ? s - W : 0; q < s; q++)
            if (use[q]) {
                yw[m] = y[q];
                memcpy(fw + m * 3, f + q * 3, 3 * sizeof *f);
                m++;
            }
        cpo_attrib_ols o;
        ck_assert_int_eq(cpo_attrib_regress(&o, NULL, yw, fw, m, 3, NULL), 0);
        for (int j = 0; j < 4; j++)
            ck_assert_double_eq(coef[s * 4 + j], o.coef[j]);
    }
    /* First estimate once 13 in-sample rows precede it (row 5 is out). */
    ck_assert(!est[12] && est[14]);
    ck_assert_uint_gt(n_est, 250);
    /* After the break the window adapts: beta_1 near 1.7 by the end. */
    ck_assert_double_eq_tol(coef[(N - 1) * 4 + 1], 1.7, 0.15);
    free(y);
    free(f);
    free(coef);
    free(ct);
    free(res);
}
END_TEST

START_TEST(test_attrib_factors__rolling_identity_on_a_run)
{
    /* The daily synthetic market over a year, SYN001 as the proxy, a book
     * of 98 % SYN001 rebalanced weekly: every period's r - rf is c_alpha
     * + sum c_k + residual exactly. */
    bench b;
    bench_init(&b);
    cpo_synth_spec ss;
    cpo_synth_spec_init(&ss);
    ss.n_assets = 4;
    ss.n_steps = 365;
    ss.step_ms = CPO_MS_DAY;
    ss.start_ms = JAN1;
    cpo_error err;
    ck_assert_int_eq(cpo_synth_generate(b.ds, &ss, &err), 0);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "every_n", "n=7");
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=SYN001USDT:0.98");
    cpo_attrib_opts o;
    cpo_attrib_opts_init(&o);
    snprintf(o.proxy, sizeof o.proxy, "SYN001");
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    bench_run(&b, &ms, &o);
    const cpo_attrib_factors *F = cpo_attrib_get_factors(b.a);
    ck_assert(F->proxy && F->full_ok);
    ck_assert_uint_eq(F->n_periods, 53);
    size_t n_est = 0;
    for (size_t p = 0; p < F->n_periods; p++) {
        const double *c = F->roll_contrib + p * 4;
        double lhs = F->r[p] - F->rf[p], rhs = c[0] + c[1] + c[2] + c[3] + F->roll_resid[p];
        ck_assert_msg(fabs(lhs - rhs) <= 1e-12, "period %zu: %.17g vs %.17g", p, lhs, rhs);
        if (F->estimated[p]) {
            n_est++;
            ck_assert_double_eq(c[1], F->roll_coef[p * 4 + 1] * F->f[p * 3]);
        }
    }
    /* 53 periods (52 weeks and a day); the first has no price before its
     * start (the data begin with it), so it is out of sample, and the
     * first estimate comes after 13 in-sample periods: 53 - 14. */
    ck_assert(!F->in_sample[0] && F->in_sample[1]);
    ck_assert_uint_eq(n_est, 53 - 14);
    /* The book is 98 % of the proxy coin at each rebalance, and drifts by
     * 0.02 * 0.98 * r (a few 1e-4) in between; fees are 10 bps of a small
     * turnover: beta 0.98 within 0.005, R^2 near 1, alpha near 0.  A
     * period misaligned between book and factor would break all three. */
    ck_assert_double_eq_tol(F->full.coef[1], 0.98, 0.005);
    ck_assert(F->full.r2 > 0.9999);
    ck_assert(fabs(F->full.coef[0]) < 1e-4);
    bench_fini(&b);
}
END_TEST

/* --- bad inputs ---------------------------------------------------------------- */

START_TEST(test_attrib_bad_input__messages)
{
    cpo_attrib_ols o;
    cpo_error err;
    const double y[3] = {0.01, 0.02, NAN}, f[3] = {0.1, 0.2, 0.3};
    ck_assert_int_eq(cpo_attrib_regress(&o, NULL, y, f, 2, 1, &err), CPO_EDATA);
    ck_assert_str_eq(err.msg, "regression: 2 periods (expected at least 3: 2 coefficients and one "
                              "degree of freedom for the residual)");
    ck_assert_int_eq(cpo_attrib_regress(&o, NULL, y, f, 3, 1, &err), CPO_EDATA);
    ck_assert_str_eq(err.msg, "regression: period 2 has a value that is not finite (expected "
                              "finite returns and factors)");
    const double y2[4] = {0.01, 0.02, 0.0, 0.03}, fc[4] = {0.5, 0.5, 0.5, 0.5};
    ck_assert_int_eq(cpo_attrib_regress(&o, NULL, y2, fc, 4, 1, &err), CPO_ENUMERIC);
    ck_assert_str_eq(err.msg, "regression: the factors are collinear (rank 1 of 2: a factor is "
                              "constant or a combination of the others)");
    ck_assert_int_eq(cpo_attrib_regress(&o, NULL, y2, fc, 4, 9, &err), CPO_EINVAL);

    /* A result from another market is refused. */
    bench a, b2;
    synth_run(&a, 12, NULL);
    caps_run(&b2, 1, NULL);
    ck_assert_int_eq(cpo_attrib_compute(a.a, b2.r, &err), CPO_EINVAL);
    ck_assert_str_eq(err.msg, "attribution: the run's result is not of the market the "
                              "attribution was made for (expected the same instruments and time "
                              "grid)");
    bench_fini(&a);
    bench_fini(&b2);

    /* Bad options. */
    cpo_attrib_opts op;
    cpo_attrib_opts_init(&op);
    op.period_ms = 0;
    cpo_market m;
    memset(&m, 0, sizeof m);
    cpo_attrib *at = NULL;
    ck_assert_int_eq(cpo_attrib_new(&at, &m, NULL, &op, &err), CPO_EINVAL);
    ck_assert_ptr_null(at);
    cpo_attrib_free(NULL);
}
END_TEST

START_TEST(test_attrib_limits__too_big_is_said_not_crashed)
{
    /* A row store over the limit: no attribution, a note in every file. */
    bench b;
    cpo_attrib_opts o;
    cpo_attrib_opts_init(&o);
    o.max_bytes = 1000;
    synth_run(&b, 10, &o);
    ck_assert_ptr_null(cpo_attrib_get_assets(b.a));
    const cpo_attrib_risk *k = cpo_attrib_get_risk(b.a);
    ck_assert(!k->ante_ok && !k->post_ok);
    ck_assert_ptr_nonnull(strstr(k->ante_note, "not attributed: 240 steps x 6 instruments need up to"));
    files fs;
    files_write(&fs, b.a, b.r);
    for (int f = 0; f < CPO_ATTRIB_FILE_COUNT; f++) {
        char *text = tu_read_file(fs.path[f], NULL);
        /* The Greek table reads the result's lines, not the row store: whole. */
        if (f == CPO_ATTRIB_FILE_GREEK)
            ck_assert_msg(strstr(text, "not attributed") == NULL &&
                              strstr(text, "\n240 steps") == NULL &&
                              strstr(text, "# 240 steps;") != NULL,
                          "%s", fs.path[f]);
        else
            ck_assert_msg(strstr(text, "not attributed") != NULL, "%s", fs.path[f]);
        free(text);
    }
    files_free(&fs);
    bench_fini(&b);
}
END_TEST

/* --- by Greek ------------------------------------------------------------------------- */

/* One CSV data line of text (after the header) split at commas into x
 * (numbers; the first field, ts, is left as NaN); returns the fields. */
static size_t split_nums(const char *line, double *x, size_t max)
{
    size_t k = 0;
    const char *p = line;
    while (k < max) {
        x[k] = k == 0 ? NAN : strtod(p, NULL);
        k++;
        p = strchr(p, ',');
        if (!p || p > strchr(line, '\n'))
            break;
        p++;
    }
    return k;
}

/*
 * An engine run without options (the synthetic perps book): every step's
 * Greek lines add up to its change in equity (to 1e-9 of equity, the
 * engine's own identity bound in check_run), delta is the engine's price
 * line, gamma .. unexplained are 0, funding and fees are the engine's
 * lines.  The file: its header, one row per step, each row's lines adding
 * up to its total column, and the cum_ columns of the last row the run's
 * totals.
 */
START_TEST(test_attrib_greeks__run_without_options_adds_up)
{
    bench b;
    synth_run(&b, 20, NULL);
    const cpo_result *r = b.r;
    cpo_attrib_greeks g;
    cpo_error err;
    ck_assert_msg(cpo_attrib_greeks_compute(&g, r, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_int_eq(g.has_options, 0);
    ck_assert_uint_eq(g.n_steps, r->n_steps);
    double prev = r->capital, fund = 0.0;
    for (size_t t = 0; t < r->n_steps; t++) {
        const double *x = g.line + t * CPO_AG_COUNT;
        double sum = 0.0;
        for (int l = 0; l < CPO_AG_COUNT; l++)
            sum += x[l];
        double dE = r->equity[t] - prev;
        ck_assert_msg(fabs(sum - dE) <= 1e-9 * fabs(r->equity[t]),
                      "step %zu: lines %.17g, change in equity %.17g", t, sum, dE);
        ck_assert_double_eq(x[CPO_AG_DELTA], r->pnl[CPO_PNL_PRICE][t]);
        for (int l = CPO_AG_GAMMA; l <= CPO_AG_UNEXPLAINED; l++)
            ck_assert_double_eq(x[l], 0.0);
        ck_assert_double_eq(x[CPO_AG_FUNDING], r->pnl[CPO_PNL_FUNDING][t]);
        ck_assert_double_eq(x[CPO_AG_FEES], r->pnl[CPO_PNL_FEES][t]);
        ck_assert_double_eq_tol(x[CPO_AG_RESIDUAL], r->pnl[CPO_PNL_RESIDUAL][t],
                                1e-9 * fabs(r->equity[t]));
        fund += r->pnl[CPO_PNL_FUNDING][t];
        prev = r->equity[t];
    }
    ck_assert(fund != 0.0); /* the book pays funding: the line is not trivially 0 */
    ck_assert_double_eq(g.total[CPO_AG_FUNDING], fund);
    ck_assert(g.max_gap <= 1e-12);
    ck_assert_double_eq_tol(g.total_change, r->equity[r->n_steps - 1] - r->capital,
                            1e-9 * r->capital);

    char *dir = tu_tmpdir();
    char *path = tu_path(dir, cpo_attrib_file_name(CPO_ATTRIB_FILE_GREEK));
    ck_assert_str_eq(cpo_attrib_file_name(CPO_ATTRIB_FILE_GREEK), "attribution_greek.csv");
    ck_assert_msg(cpo_attrib_greeks_write(&g, path, &err) == 0, "%s", tu_errstr(&err));
    char *text = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "# the run holds no options"));
    static const char *header =
        "\nts,equity,total,delta,gamma,vega,theta,vanna,volga,rho,unexplained,funding,fees,"
        "slippage,liquidation,revaluation,residual,cum_total,cum_delta,cum_gamma,cum_vega,"
        "cum_theta,cum_vanna,cum_volga,cum_rho,cum_unexplained,cum_funding,cum_fees,"
        "cum_slippage,cum_liquidation,cum_revaluation,cum_residual\n";
    const char *line = strstr(text, header);
    ck_assert_ptr_nonnull(line);
    line += strlen(header);
    size_t rows = 0;
    /* (no financing column: the run has no [financing]) */
    enum { NAG = CPO_AG_COUNT - 1 };
    double x[5 + 2 * NAG]; /* one more than the columns: an extra one shows */
    for (; *line; rows++) {
        ck_assert_uint_eq(split_nums(line, x, 5 + 2 * NAG), 4 + 2 * NAG);
        double sum = 0.0;
        for (int l = 0; l < NAG; l++)
            sum += x[3 + l];
        ck_assert_msg(fabs(sum - x[2]) <= 1e-9 * fabs(x[1]), "row %zu", rows);
        ck_assert_double_eq(x[1], r->equity[rows]);
        const char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        if (!nl[1]) {
            /* The last row: cum_ columns are the run's totals. */
            ck_assert_double_eq_tol(x[3 + NAG], g.total_change, 1e-9 * r->capital);
            for (int l = 0, c = 0; l < CPO_AG_COUNT; l++)
                if (l != CPO_AG_FINANCING)
                    ck_assert_double_eq_tol(x[4 + NAG + c++], g.total[l], 1e-9 * r->capital);
        }
        line = nl + 1;
    }
    ck_assert_uint_eq(rows, r->n_steps);
    free(text);
    free(path);
    tu_rmtree(dir);
    free(dir);
    cpo_attrib_greeks_free(&g);
    bench_fini(&b);
}
END_TEST

/*
 * Option P&L grafted onto an engine run: an options line o_t = 50 sin(t)
 * with Taylor terms (delta 0.6 o_t, gamma 0.3 o_t, unexplained the rest)
 * and an option fee of -1 a step in the fees line (held by no instrument
 * row), the equity moved by both.  By Greek: delta = price line + 0.6 o_t,
 * unexplained = the rest, lines adding up per step.  By asset: three
 * (options) parts whose P&L is sum o_t, -T (the fees the rows do not
 * hold) and 0 (slippage); the parts still add up to the run's return.
 */
START_TEST(test_attrib_greeks__options_grafted_on_a_run)
{
    bench b;
    synth_run(&b, 20, NULL);
    cpo_result *r = b.r;
    size_t T = r->n_steps;
    double *gd = calloc(T, sizeof *gd), *gg = calloc(T, sizeof *gg), *gu = calloc(T, sizeof *gu);
    double shift = 0.0, osum = 0.0;
    for (size_t t = 0; t < T; t++) {
        double o = 50.0 * sin((double)t);
        r->pnl[CPO_PNL_OPTIONS][t] = o;
        gd[t] = 0.6 * o;
        gg[t] = 0.3 * o;
        gu[t] = o - gd[t] - gg[t];
        r->pnl[CPO_PNL_FEES][t] += -1.0;
        shift += o - 1.0;
        osum += o;
        r->equity[t] += shift;
    }
    r->greek[CPO_GREEK_DELTA] = gd;
    r->greek[CPO_GREEK_GAMMA] = gg;
    r->greek[CPO_GREEK_UNEXPLAINED] = gu;
    for (int k = CPO_GREEK_VEGA; k < CPO_GREEK_UNEXPLAINED; k++)
        r->greek[k] = calloc(T, sizeof(double));
    cpo_attrib_greeks g;
    cpo_error err;
    ck_assert_int_eq(cpo_attrib_greeks_compute(&g, r, &err), 0);
    ck_assert_int_eq(g.has_options, 1);
    double prev = r->capital;
    for (size_t t = 0; t < T; t++) {
        const double *x = g.line + t * CPO_AG_COUNT;
        double sum = 0.0;
        for (int l = 0; l < CPO_AG_COUNT; l++)
            sum += x[l];
        ck_assert_msg(fabs(sum - (r->equity[t] - prev)) <= 1e-9 * r->equity[t], "step %zu", t);
        ck_assert_double_eq(x[CPO_AG_DELTA], r->pnl[CPO_PNL_PRICE][t] + gd[t]);
        ck_assert_double_eq(x[CPO_AG_GAMMA], gg[t]);
        ck_assert_double_eq(x[CPO_AG_UNEXPLAINED], gu[t]);
        /* The engine's residual was made for the equity before the graft:
         * the residual line is unchanged (to rounding). */
        ck_assert_double_eq_tol(x[CPO_AG_RESIDUAL], r->pnl[CPO_PNL_RESIDUAL][t],
                                1e-9 * r->equity[t]);
        prev = r->equity[t];
    }
    cpo_attrib_greeks_free(&g);
    /* By asset, recomputed on the grafted result. */
    ck_assert_int_eq(cpo_attrib_compute(b.a, r, &err), 0);
    const cpo_attrib_assets *as = cpo_attrib_get_assets(b.a);
    ck_assert_uint_eq(as->n_parts, r->n_instr * 5 + 2 + 3);
    size_t base = r->n_instr * 5 + 2;
    ck_assert_int_eq(as->parts[base].instr, CPO_ATTRIB_INSTR_OPTIONS);
    ck_assert_int_eq(as->parts[base].line, CPO_PNL_OPTIONS);
    ck_assert_double_eq_tol(as->parts[base].pnl, osum, 1e-9);
    ck_assert_int_eq(as->parts[base + 1].line, CPO_PNL_FEES);
    ck_assert_double_eq_tol(as->parts[base + 1].pnl, -(double)T, 1e-6);
    ck_assert_double_eq_tol(as->parts[base + 2].pnl, 0.0, 1e-6);
    double R = r->equity[T - 1] / r->capital - 1.0;
    ck_assert_msg(fabs(as->sum_linked - R) <= 1e-10, "sum %.17g, R %.17g", as->sum_linked, R);
    ck_assert_double_eq_tol(as->sum_pnl, as->total_pnl, 1e-6);
    const cpo_attrib_risk *k = cpo_attrib_get_risk(b.a);
    ck_assert(k->post_ok);
    ck_assert_uint_eq(k->n_post, r->n_instr + 3);
    ck_assert_int_eq(k->post[r->n_instr + 2].instr, CPO_ATTRIB_INSTR_OPTIONS);
    ck_assert_double_eq_tol(k->post_sum, k->post_sigma, 1e-12 * k->post_sigma);
    /* The files name the (options) parts. */
    files fs;
    files_write(&fs, b.a, r);
    char *text = tu_read_file(fs.path[CPO_ATTRIB_FILE_ASSET], NULL);
    ck_assert_double_eq_tol(csv_field(text, "part,(options),options,", 6), osum, 1e-9);
    ck_assert(fabs(csv_field(text, "residual,(all),", 3)) <= 1e-10);
    free(text);
    text = tu_read_file(fs.path[CPO_ATTRIB_FILE_ASSET_SERIES], NULL);
    ck_assert_ptr_nonnull(strstr(text, ",revaluation,residual,options\n"));
    free(text);
    text = tu_read_file(fs.path[CPO_ATTRIB_FILE_RISK], NULL);
    ck_assert_ptr_nonnull(strstr(text, "\npart,ex_post,(options),options,"));
    free(text);
    files_free(&fs);
    /* bench_fini frees the result, and with it the grafted arrays. */
    bench_fini(&b);
}
END_TEST

int main(void)
{
    gsl_set_error_handler_off();
    Suite *s = suite_create("attrib");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_attrib_carino__three_periods_two_assets_by_hand);
    tcase_add_test(tc, test_attrib_carino__bad_return_message);
    tcase_add_test(tc, test_attrib_assets__lines_add_up_to_the_run_return);
    tcase_add_test(tc, test_attrib_series__thinned_rows_in_pieces);
    tcase_add_test(tc, test_attrib_risk__euler_contributions_add_up_to_sigma);
    tcase_add_test(tc, test_attrib_factors__built_by_hand_from_caps);
    tcase_add_test(tc, test_attrib_factors__no_caps_uses_the_declared_proxy);
    tcase_add_test(tc, test_attrib_factors__declared_universe);
    tcase_add_test(tc, test_attrib_regress__recovers_known_betas);
    tcase_add_test(tc, test_attrib_rolling__identity_exact_and_no_look_ahead);
    tcase_add_test(tc, test_attrib_factors__rolling_identity_on_a_run);
    tcase_add_test(tc, test_attrib_bad_input__messages);
    tcase_add_test(tc, test_attrib_limits__too_big_is_said_not_crashed);
    tcase_add_test(tc, test_attrib_greeks__run_without_options_adds_up);
    tcase_add_test(tc, test_attrib_greeks__options_grafted_on_a_run);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
