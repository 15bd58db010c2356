/*
 * check_optout.c - the option outputs of a run (cpo/report.h): options.csv,
 * option_trades.csv, explain.csv, explain_by.csv, the "options" block of
 * summary.json and the explain columns of ledger.h5, from a cpo_result
 * built here by hand (known positions, known numbers), and nothing of
 * them for a result without options.
 *
 * The hand-built result: 3 daily steps from 2024-01-01, three positions
 * held on every step,
 *
 *   A  BTC-26JAN24-50000-C  qty -1  tag 0 (hedge.short_strangle)
 *   B  BTC-29MAR24-40000-P  qty -1  tag 0
 *   C  ETH-26JAN24-2500-C   qty  2  tag 7 (past the spec's stages: "stage7")
 *
 * BTC at 40960 USD a coin (rate), ETH at 2048.  Every coin number is a
 * small multiple of a power of two, so the sums below are exact in
 * doubles; each row's Greek terms are chosen and its unexplained term is
 * mtm_coin less them (likewise the waterfall's residual), as the engine
 * makes them.  The result's per-step lines are the rows' coin terms x
 * rate summed over the positions, as cpo/backtest.h defines them.
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpo/attrib.h"
#include "cpo/backtest.h"
#include "cpo/report.h"
#include "cpo/time.h"
#include "ledger_out.h"
#include "testutil.h"

#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00Z */
#define E1 INT64_C(1706256000000) /* 2024-01-26T08:00Z */
#define E2 INT64_C(1711699200000) /* 2024-03-29T08:00Z */
#define NT 3
#define NPOS 3

static const cpo_stage_def strangle = {CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def),
                                       "short_strangle", CPO_ROLE_HEDGE, "test",
                                       NULL, 0, NULL, NULL, NULL};
static const cpo_stage_def every = {CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "every_n",
                                    CPO_ROLE_SCHEDULE, "test", NULL, 0, NULL, NULL, NULL};

/* Position p's coin mtm at step t (qty included): k / 64 coin. */
static double mtm_of(size_t p, size_t t)
{
    static const double m[NPOS][NT] = {{-1, 2, -3}, {0.5, -0.25, 1}, {2, 2, -1}};
    return m[p][t] / 64.0;
}

/* Build the result; spec gets stage 0 = hedge.short_strangle and 1 =
 * schedule.every_n. */
static cpo_result *build(cpo_run_spec *spec)
{
    cpo_run_spec_init(spec);
    spec->stages[0].def = &strangle;
    spec->stages[1].def = &every;
    spec->n_stages = 2;
    cpo_result *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->n_steps = NT;
    r->capital = 1e6;
    r->ts = calloc(NT, sizeof *r->ts);
    r->equity = calloc(NT, sizeof *r->equity);
    r->gross = calloc(NT, sizeof *r->gross);
    r->net = calloc(NT, sizeof *r->net);
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        r->pnl[l] = calloc(NT, sizeof(double));
    for (int g = 0; g < CPO_GREEK_COUNT; g++)
        r->greek[g] = calloc(NT, sizeof(double));
    for (int w = 0; w < CPO_WF_COUNT; w++)
        r->wf[w] = calloc(NT, sizeof(double));
    r->explain_flag = calloc(NT, 1);
    r->opt_rows = calloc(NT * NPOS, sizeof *r->opt_rows);
    r->opt_trades = calloc(4, sizeof *r->opt_trades);
    static const char *const names[NPOS] = {"BTC-26JAN24-50000-C", "BTC-29MAR24-40000-P",
                                            "ETH-26JAN24-2500-C"};
    static const char *const und[NPOS] = {"BTC", "BTC", "ETH"};
    static const int64_t exp[NPOS] = {E1, E2, E1};
    static const double strike[NPOS] = {50000, 40000, 2500}, qty[NPOS] = {-1, -1, 2};
    static const int right[NPOS] = {CPO_RIGHT_CALL, CPO_RIGHT_PUT, CPO_RIGHT_CALL};
    static const uint32_t tag[NPOS] = {0, 0, 7};
    static const double rate[NPOS] = {40960, 40960, 2048};
    double eq = r->capital;
    for (size_t t = 0; t < NT; t++) {
        r->ts[t] = T0 + (int64_t)t * CPO_MS_DAY;
        for (size_t p = 0; p < NPOS; p++) {
            cpo_option_row *o = &r->opt_rows[r->n_opt_rows++];
            o->ts = r->ts[t];
            o->step = t;
            snprintf(o->name, sizeof o->name, "%s", names[p]);
            snprintf(o->key.underlying, sizeof o->key.underlying, "%s", und[p]);
            o->key.expiry_ms = exp[p];
            o->key.strike = strike[p];
            o->key.right = right[p];
            o->tag = tag[p];
            o->qty = qty[p];
            o->quote.source = t == 1 ? CPO_OPT_SRC_CHAIN : CPO_OPT_SRC_SURFACE;
            o->quote.index = rate[p];
            o->quote.fwd = rate[p] * 1.0078125;
            o->quote.vol = 0.5;
            o->quote.t_years = 0.25;
            o->quote.coin.price = 0.03125;
            o->quote.coin.delta = 0.5 / rate[p];
            o->quote.coin.delta_account = 0.25;
            o->value_coin = qty[p] * 0.03125;
            o->rate = rate[p];
            double m = mtm_of(p, t);
            o->mtm_coin = m;
            /* Greek terms: (g + 1) / 1024 signed by p, unexplained the rest. */
            double rest = m;
            for (int g = 0; g < CPO_GREEK_UNEXPLAINED; g++) {
                o->greek_coin[g] = (p == 1 ? -1.0 : 1.0) * (g + 1) / 1024.0;
                rest -= o->greek_coin[g];
            }
            o->greek_coin[CPO_GREEK_UNEXPLAINED] = rest;
            rest = m;
            for (int w = 0; w < CPO_WF_RESIDUAL; w++) {
                o->wf_coin[w] = (w + 1) / 512.0 - (double)p / 256.0;
                rest -= o->wf_coin[w];
            }
            o->wf_coin[CPO_WF_RESIDUAL] = rest;
            o->flagged = t == 1 && p == 2;
            o->settled = 0;
            r->pnl[CPO_PNL_OPTIONS][t] += m * rate[p];
            for (int g = 0; g < CPO_GREEK_COUNT; g++)
                r->greek[g][t] += o->greek_coin[g] * rate[p];
            for (int w = 0; w < CPO_WF_COUNT; w++)
                r->wf[w][t] += o->wf_coin[w] * rate[p];
        }
        /* A spot leg: its price line; option fees in the fees line. */
        r->pnl[CPO_PNL_PRICE][t] = 1000.0 * (double)(t + 1);
        r->pnl[CPO_PNL_FEES][t] = t == 0 ? -12.5 : 0.0;
        eq += r->pnl[CPO_PNL_PRICE][t] + r->pnl[CPO_PNL_FEES][t] + r->pnl[CPO_PNL_OPTIONS][t];
        r->equity[t] = eq;
    }
    r->explain_flag[1] = 1;
    r->n_explain_flagged = 1;
    r->surface_mode = 1;
    r->n_chain_marks = NPOS;
    r->n_surface_marks = 2 * NPOS;
    for (size_t k = 0; k < 3; k++) {
        cpo_option_trade *tr = &r->opt_trades[r->n_opt_trades++];
        tr->ts = T0;
        tr->step = 0;
        snprintf(tr->name, sizeof tr->name, "%s", names[k]);
        tr->key = r->opt_rows[k].key;
        tr->tag = tag[k];
        tr->qty = qty[k];
        tr->px = 0.03125;
        tr->ref_px = 0.0302734375;
        tr->fee = 0.0003;
        tr->slippage = 0.0009765625;
        tr->index = rate[k];
    }
    return r;
}

/* --- CSV read back ----------------------------------------------------------- */

typedef struct csv {
    size_t nrow, ncol;
    char **name;
    char **text; /* [nrow * ncol] */
} csv;

static void csv_read(csv *c, const char *path)
{
    memset(c, 0, sizeof *c);
    char *all = tu_read_file(path, NULL);
    ck_assert_msg(all != NULL, "cannot read %s", path);
    char *save = NULL;
    int head = 1;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t k = 0;
        if (!head)
            c->text = realloc(c->text, (c->nrow + 1) * c->ncol * sizeof *c->text);
        for (char *s = line, *f; (f = strsep(&s, ",")); k++) {
            if (head) {
                c->name = realloc(c->name, (k + 1) * sizeof *c->name);
                c->name[k] = strdup(f);
            } else {
                ck_assert_msg(k < c->ncol, "%s: row %zu has too many fields", path, c->nrow + 1);
                c->text[c->nrow * c->ncol + k] = strdup(f);
            }
        }
        if (head)
            c->ncol = k;
        else {
            ck_assert_msg(k == c->ncol, "%s: row %zu has %zu fields", path, c->nrow + 1, k);
            c->nrow++;
        }
        head = 0;
    }
    free(all);
}

static long csv_col(const csv *c, const char *name)
{
    for (size_t k = 0; k < c->ncol; k++)
        if (!strcmp(c->name[k], name))
            return (long)k;
    ck_abort_msg("no column %s", name);
    return -1;
}

static const char *csv_text(const csv *c, size_t row, const char *name)
{
    return c->text[row * c->ncol + (size_t)csv_col(c, name)];
}

static double csv_num(const csv *c, size_t row, const char *name)
{
    return strtod(csv_text(c, row, name), NULL);
}

static void csv_free(csv *c)
{
    for (size_t k = 0; k < c->ncol; k++)
        free(c->name[k]);
    for (size_t k = 0; k < c->nrow * c->ncol; k++)
        free(c->text[k]);
    free(c->name);
    free(c->text);
}

static char *first_line(const char *path)
{
    char *t = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(t);
    char *nl = strchr(t, '\n');
    if (nl)
        *nl = '\0';
    return t;
}

static void write_all(const cpo_result *r, const cpo_run_spec *spec, const char *dir,
                      char *paths[CPO_OPT_FILE_COUNT])
{
    for (int f = 0; f < CPO_OPT_FILE_COUNT; f++)
        paths[f] = tu_path(dir, cpo_opt_file_name((cpo_opt_file)f));
    cpo_error e;
    ck_assert_msg(cpo_run_write_options(r, spec, (const char *const *)paths, &e) == 0, "%s",
                  tu_errstr(&e));
}

/* --- tests ------------------------------------------------------------------- */

/* The headers: the names of cpo/report.h, the Greek and waterfall columns
 * named by the engine (cpo_greek_name, cpo_wf_name). */
START_TEST(test_optout_headers__as_documented)
{
    cpo_run_spec spec;
    cpo_result *r = build(&spec);
    char *dir = tu_tmpdir(), *paths[CPO_OPT_FILE_COUNT];
    write_all(r, &spec, dir, paths);
    static const char *const want[CPO_OPT_FILE_COUNT] = {
        "ts,step,name,underlying,expiry,strike,right,tag,stage,qty,source,index,fwd,vol,t_years,"
        "coin_price,coin_delta,coin_gamma,coin_vega,coin_theta,coin_vanna,coin_volga,coin_rho,"
        "coin_delta_account,rate,value_coin,value_usd,mtm_coin,delta,gamma,vega,theta,vanna,"
        "volga,rho,unexplained,wf_time,wf_underlying,wf_vol,wf_rate,wf_residual,flagged,settled",
        "ts,step,name,underlying,expiry,strike,right,tag,stage,qty,px,ref_px,fee,slippage,index,"
        "settlement,liquidation,quote_age_s,delta,delivery_approx",
        "ts,options,delta,gamma,vega,theta,vanna,volga,rho,unexplained,wf_time,wf_underlying,"
        "wf_vol,wf_rate,wf_residual,flag",
        "kind,by,key,options,delta,gamma,vega,theta,vanna,volga,rho,unexplained,wf_time,"
        "wf_underlying,wf_vol,wf_rate,wf_residual,rows"};
    for (int f = 0; f < CPO_OPT_FILE_COUNT; f++) {
        char *h = first_line(paths[f]);
        ck_assert_str_eq(h, want[f]);
        free(h);
    }
    ck_assert_str_eq(cpo_opt_file_name(CPO_OPT_FILE_POSITIONS), "options.csv");
    ck_assert_str_eq(cpo_opt_file_name(CPO_OPT_FILE_TRADES), "option_trades.csv");
    ck_assert_str_eq(cpo_opt_file_name(CPO_OPT_FILE_EXPLAIN), "explain.csv");
    ck_assert_str_eq(cpo_opt_file_name(CPO_OPT_FILE_EXPLAIN_BY), "explain_by.csv");
    ck_assert_ptr_null(cpo_opt_file_name(CPO_OPT_FILE_COUNT));
    for (int f = 0; f < CPO_OPT_FILE_COUNT; f++)
        free(paths[f]);
    tu_rmtree(dir);
    free(dir);
    cpo_result_free(r);
}
END_TEST

/* options.csv and option_trades.csv: one row per position per step and per
 * trade, the fields of the rows as built. */
START_TEST(test_optout_rows__positions_and_trades)
{
    cpo_run_spec spec;
    cpo_result *r = build(&spec);
    char *dir = tu_tmpdir(), *paths[CPO_OPT_FILE_COUNT];
    write_all(r, &spec, dir, paths);
    csv c;
    csv_read(&c, paths[CPO_OPT_FILE_POSITIONS]);
    ck_assert_uint_eq(c.nrow, NT * NPOS);
    /* Row 0: A at step 0, valued from the surface. */
    ck_assert_str_eq(csv_text(&c, 0, "ts"), "2024-01-01T00:00:00Z");
    ck_assert_str_eq(csv_text(&c, 0, "name"), "BTC-26JAN24-50000-C");
    ck_assert_str_eq(csv_text(&c, 0, "expiry"), "2024-01-26T08:00:00Z");
    ck_assert_str_eq(csv_text(&c, 0, "right"), "call");
    ck_assert_str_eq(csv_text(&c, 0, "stage"), "hedge.short_strangle");
    ck_assert_str_eq(csv_text(&c, 0, "source"), "surface");
    ck_assert_str_eq(csv_text(&c, 4, "source"), "chain"); /* step 1 */
    ck_assert_str_eq(csv_text(&c, 2, "stage"), "stage7"); /* tag 7: no such stage */
    ck_assert_str_eq(csv_text(&c, 1, "right"), "put");
    /* value_usd = value_coin x rate: -1 x 1/32 x 40960 = -1280 (exact). */
    ck_assert_double_eq(csv_num(&c, 0, "value_usd"), -1280.0);
    ck_assert_double_eq(csv_num(&c, 0, "value_coin"), -0.03125);
    /* The coin terms add up to mtm_coin on every row (as built: 17 digits
     * round-trip, the terms are exact binary fractions). */
    for (size_t k = 0; k < c.nrow; k++) {
        double m = csv_num(&c, k, "mtm_coin"), sg = 0.0, sw = 0.0;
        for (int g = 0; g < CPO_GREEK_COUNT; g++)
            sg += csv_num(&c, k, cpo_greek_name((cpo_greek_line)g));
        for (int w = 0; w < CPO_WF_COUNT; w++)
            sw += csv_num(&c, k, cpo_wf_name((cpo_wf_line)w));
        ck_assert_double_eq(m, mtm_of(k % NPOS, k / NPOS));
        ck_assert_double_eq_tol(sg, m, 1e-15);
        ck_assert_double_eq_tol(sw, m, 1e-15);
    }
    ck_assert_str_eq(csv_text(&c, 5, "flagged"), "1"); /* C at step 1 */
    ck_assert_str_eq(csv_text(&c, 4, "flagged"), "0");
    csv_free(&c);
    csv_read(&c, paths[CPO_OPT_FILE_TRADES]);
    ck_assert_uint_eq(c.nrow, 3);
    ck_assert_str_eq(csv_text(&c, 2, "name"), "ETH-26JAN24-2500-C");
    ck_assert_double_eq(csv_num(&c, 2, "qty"), 2.0);
    ck_assert_double_eq(csv_num(&c, 2, "slippage"), 0.0009765625);
    ck_assert_str_eq(csv_text(&c, 2, "settlement"), "0");
    csv_free(&c);
    for (int f = 0; f < CPO_OPT_FILE_COUNT; f++)
        free(paths[f]);
    tu_rmtree(dir);
    free(dir);
    cpo_result_free(r);
}
END_TEST

/* explain.csv: the result's per-step lines; each step's Greek lines and
 * waterfall lines add up to its options line. */
START_TEST(test_optout_explain__steps_add_up)
{
    cpo_run_spec spec;
    cpo_result *r = build(&spec);
    char *dir = tu_tmpdir(), *paths[CPO_OPT_FILE_COUNT];
    write_all(r, &spec, dir, paths);
    csv c;
    csv_read(&c, paths[CPO_OPT_FILE_EXPLAIN]);
    ck_assert_uint_eq(c.nrow, NT);
    for (size_t t = 0; t < NT; t++) {
        double opt = csv_num(&c, t, "options"), sg = 0.0, sw = 0.0;
        /* The options line by hand: sum over positions of mtm_coin x rate. */
        double want = mtm_of(0, t) * 40960 + mtm_of(1, t) * 40960 + mtm_of(2, t) * 2048;
        ck_assert_double_eq(opt, want);
        for (int g = 0; g < CPO_GREEK_COUNT; g++)
            sg += csv_num(&c, t, cpo_greek_name((cpo_greek_line)g));
        for (int w = 0; w < CPO_WF_COUNT; w++)
            sw += csv_num(&c, t, cpo_wf_name((cpo_wf_line)w));
        ck_assert_double_eq_tol(sg, opt, 1e-9 * fmax(fabs(opt), 1.0));
        ck_assert_double_eq_tol(sw, opt, 1e-9 * fmax(fabs(opt), 1.0));
        ck_assert_str_eq(csv_text(&c, t, "flag"), t == 1 ? "1" : "0");
    }
    csv_free(&c);
    for (int f = 0; f < CPO_OPT_FILE_COUNT; f++)
        free(paths[f]);
    tu_rmtree(dir);
    free(dir);
    cpo_result_free(r);
}
END_TEST

/*
 * explain_by.csv: by underlying, expiry and strategy, the part rows of
 * every column add up to the run's total (the options line, the Greek and
 * waterfall lines summed over the steps); the residual row is 0 here
 * (exact binary fractions).  One cell by hand: ETH's options P&L is C's
 * mtm over the 3 steps, (2 + 2 - 1)/64 coin x 2048 = 96.
 */
START_TEST(test_optout_explain_by__tables_add_up_to_the_total)
{
    cpo_run_spec spec;
    cpo_result *r = build(&spec);
    char *dir = tu_tmpdir(), *paths[CPO_OPT_FILE_COUNT];
    write_all(r, &spec, dir, paths);
    csv c;
    csv_read(&c, paths[CPO_OPT_FILE_EXPLAIN_BY]);
    double run_total = 0.0;
    for (size_t t = 0; t < NT; t++)
        run_total += r->pnl[CPO_PNL_OPTIONS][t];
    static const char *const bys[] = {"underlying", "expiry", "strategy"};
    static const size_t nparts[] = {2, 2, 2};
    static const char *const keys[3][2] = {{"BTC", "ETH"},
                                           {"2024-01-26T08:00:00Z", "2024-03-29T08:00:00Z"},
                                           {"hedge.short_strangle", "stage7"}};
    size_t row = 0;
    for (size_t b = 0; b < 3; b++) {
        double sum[32] = {0};
        size_t k = 0;
        for (; row < c.nrow && !strcmp(csv_text(&c, row, "kind"), "part") &&
               !strcmp(csv_text(&c, row, "by"), bys[b]);
             row++, k++) {
            ck_assert_uint_lt(k, nparts[b]);
            ck_assert_str_eq(csv_text(&c, row, "key"), keys[b][k]); /* in order */
            for (size_t col = 3; col < c.ncol; col++)
                sum[col] += strtod(c.text[row * c.ncol + col], NULL);
        }
        ck_assert_uint_eq(k, nparts[b]);
        ck_assert_str_eq(csv_text(&c, row, "kind"), "total");
        ck_assert_double_eq_tol(csv_num(&c, row, "options"), run_total, 1e-12);
        for (size_t col = 3; col < c.ncol; col++) {
            double tot = strtod(c.text[row * c.ncol + col], NULL);
            ck_assert_msg(fabs(sum[col] - tot) <= 1e-9 * fmax(fabs(tot), 1.0),
                          "by %s, %s: parts %.17g, total %.17g", bys[b], c.name[col], sum[col],
                          tot);
        }
        ck_assert_str_eq(csv_text(&c, row + 1, "kind"), "sum_of_parts");
        ck_assert_str_eq(csv_text(&c, row + 2, "kind"), "residual");
        ck_assert_double_eq_tol(csv_num(&c, row + 2, "options"), 0.0, 1e-9);
        ck_assert_double_eq(csv_num(&c, row, "rows"), NT * NPOS);
        row += 3;
    }
    ck_assert_uint_eq(row, c.nrow);
    ck_assert_double_eq(csv_num(&c, 1, "options"), 96.0); /* by underlying: ETH */
    csv_free(&c);
    for (int f = 0; f < CPO_OPT_FILE_COUNT; f++)
        free(paths[f]);
    tu_rmtree(dir);
    free(dir);
    cpo_result_free(r);
}
END_TEST

/* The "options" block of summary.json: the counts as built, the totals as
 * summed here from the result's lines. */
START_TEST(test_optout_summary__options_block)
{
    cpo_run_spec spec;
    cpo_result *r = build(&spec);
    ck_assert_int_eq(cpo_run_has_options(r), 1);
    json_t *j = cpo_run_options_json(r);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "surface_mode")), "dvol_scaled");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "chain_marks")), NPOS);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "surface_marks")), 2 * NPOS);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "flagged_steps")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "positions")), NT * NPOS);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "trades")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "settlements")), 0);
    double opt = 0.0, delta = 0.0, wft = 0.0;
    for (size_t t = 0; t < NT; t++) {
        opt += r->pnl[CPO_PNL_OPTIONS][t];
        delta += r->greek[CPO_GREEK_DELTA][t];
        wft += r->wf[CPO_WF_TIME][t];
    }
    ck_assert_double_eq(json_real_value(json_object_get(j, "options")), opt);
    ck_assert_double_eq(json_real_value(json_object_get(json_object_get(j, "greek"), "delta")),
                        delta);
    ck_assert_double_eq(
        json_real_value(json_object_get(json_object_get(j, "waterfall"), "wf_time")), wft);
    ck_assert(json_real_value(json_object_get(j, "explain_gap")) <= 1e-15);
    ck_assert(json_real_value(json_object_get(j, "waterfall_gap")) <= 1e-15);
    json_decref(j);
    cpo_result_free(r);
}
END_TEST

/* A result without options: no option files are due (cpo_run_has_options
 * 0), no summary block. */
START_TEST(test_optout_none__without_options)
{
    cpo_result r;
    memset(&r, 0, sizeof r);
    double z[2] = {0, 0};
    r.n_steps = 2;
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        r.pnl[l] = z;
    ck_assert_int_eq(cpo_run_has_options(&r), 0);
    ck_assert_ptr_null(cpo_run_options_json(&r));
    /* Any option field makes it a run with options. */
    cpo_option_trade tr;
    memset(&tr, 0, sizeof tr);
    r.opt_trades = &tr;
    r.n_opt_trades = 1;
    ck_assert_int_eq(cpo_run_has_options(&r), 1);
}
END_TEST

/* ledger.h5 of a result with options holds /ledger/greek/<line>,
 * /ledger/waterfall/<line> and /ledger/explain_flag, the result's arrays. */
START_TEST(test_optout_ledger_h5__explain_columns)
{
    cpo_run_spec spec;
    cpo_result *r = build(&spec);
    char *dir = tu_tmpdir();
    char *h5 = tu_path(dir, "ledger.h5");
    cpo_market m;
    memset(&m, 0, sizeof m);
    m.step_ms = CPO_MS_DAY;
    cpo_ledger_out *lo = NULL;
    cpo_error e;
    ck_assert_msg(cpo_ledger_out_open(&lo, h5, NULL, &m, "USD", 0, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_ledger_out_finish(lo, r, &e) == 0, "%s", tu_errstr(&e));
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    double x[NT];
    for (int g = 0; g < CPO_GREEK_COUNT; g++) {
        char path[80];
        snprintf(path, sizeof path, "/ledger/greek/%s", cpo_greek_name((cpo_greek_line)g));
        hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
        ck_assert_msg(d >= 0, "%s missing", path);
        ck_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
        H5Dclose(d);
        for (size_t t = 0; t < NT; t++)
            ck_assert_double_eq(x[t], r->greek[g][t]);
    }
    hid_t d = H5Dopen2(f, "/ledger/waterfall/wf_residual", H5P_DEFAULT);
    ck_assert(d >= 0);
    ck_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(d);
    for (size_t t = 0; t < NT; t++)
        ck_assert_double_eq(x[t], r->wf[CPO_WF_RESIDUAL][t]);
    uint8_t fl[NT];
    d = H5Dopen2(f, "/ledger/explain_flag", H5P_DEFAULT);
    ck_assert(d >= 0);
    ck_assert(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, fl) >= 0);
    H5Dclose(d);
    ck_assert(fl[0] == 0 && fl[1] == 1 && fl[2] == 0);
    d = H5Dopen2(f, "/ledger/options", H5P_DEFAULT); /* the P&L line, as every line */
    ck_assert(d >= 0);
    H5Dclose(d);
    H5Fclose(f);
    /* Without options: no such group. */
    for (int g = 0; g < CPO_GREEK_COUNT; g++) {
        free(r->greek[g]);
        r->greek[g] = NULL;
    }
    ck_assert_int_eq(cpo_ledger_out_open(&lo, h5, NULL, &m, "USD", 0, &e), 0);
    ck_assert_int_eq(cpo_ledger_out_finish(lo, r, &e), 0);
    f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert(H5Lexists(f, "/ledger/greek", H5P_DEFAULT) == 0);
    ck_assert(H5Lexists(f, "/ledger/explain_flag", H5P_DEFAULT) == 0);
    H5Fclose(f);
    free(h5);
    tu_rmtree(dir);
    free(dir);
    cpo_result_free(r);
}
END_TEST

/*
 * The attribution by Greek of the hand-built result: per step, delta = the
 * price line + the options' Taylor delta, gamma .. rho and unexplained the
 * options' terms, fees the fees line, and the 14 lines add up to the change
 * in equity (equity was built as capital + price + fees + options).
 */
START_TEST(test_optout_greek_attribution__adds_up_per_step)
{
    cpo_run_spec spec;
    cpo_result *r = build(&spec);
    cpo_attrib_greeks g;
    cpo_error e;
    ck_assert_int_eq(cpo_attrib_greeks_compute(&g, r, &e), 0);
    ck_assert_int_eq(g.has_options, 1);
    double prev = r->capital;
    for (size_t t = 0; t < NT; t++) {
        const double *x = g.line + t * CPO_AG_COUNT;
        ck_assert_double_eq(x[CPO_AG_DELTA],
                            r->pnl[CPO_PNL_PRICE][t] + r->greek[CPO_GREEK_DELTA][t]);
        ck_assert_double_eq(x[CPO_AG_VOLGA], r->greek[CPO_GREEK_VOLGA][t]);
        ck_assert_double_eq(x[CPO_AG_UNEXPLAINED], r->greek[CPO_GREEK_UNEXPLAINED][t]);
        ck_assert_double_eq(x[CPO_AG_FEES], r->pnl[CPO_PNL_FEES][t]);
        double sum = 0.0;
        for (int l = 0; l < CPO_AG_COUNT; l++)
            sum += x[l];
        double dE = r->equity[t] - prev;
        ck_assert_double_eq_tol(sum, dE, 1e-9 * r->equity[t]);
        ck_assert_double_eq_tol(x[CPO_AG_RESIDUAL], 0.0, 1e-9 * r->equity[t]);
        prev = r->equity[t];
    }
    ck_assert(g.max_gap <= 1e-15);
    cpo_attrib_greeks_free(&g);
    cpo_result_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optout");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_optout_headers__as_documented);
    tcase_add_test(tc, test_optout_rows__positions_and_trades);
    tcase_add_test(tc, test_optout_explain__steps_add_up);
    tcase_add_test(tc, test_optout_explain_by__tables_add_up_to_the_total);
    tcase_add_test(tc, test_optout_summary__options_block);
    tcase_add_test(tc, test_optout_none__without_options);
    tcase_add_test(tc, test_optout_ledger_h5__explain_columns);
    tcase_add_test(tc, test_optout_greek_attribution__adds_up_per_step);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
