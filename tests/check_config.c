/* check_config.c - backtest configs: every key parsed, every mistake refused
 * with its line and what was expected. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpo/config.h"
#include "cpo/report.h"
#include "cpo/surface.h"
#include "cpo/time.h"
#include "params.h"
#include "run_brackets.h"
#include "run_priv.h"
#include "testutil.h"

static int64_t day(int y, int m, int d)
{
    return cpo_days_from_civil(y, m, d) * CPO_MS_DAY;
}

static const char *cfg_path(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/configs/%s", CPO_TEST_DATA, name);
    return buf;
}

START_TEST(test_config_good__every_key)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    const char *p = cfg_path("good.ini");
    ck_assert_msg(cpo_config_load(&c, p, &e) == 0, "%s", tu_errstr(&e));
    char want[1100];
    snprintf(want, sizeof want, "%s/configs/stores/x.h5", CPO_TEST_DATA);
    ck_assert_str_eq(c->data_path, want);
    ck_assert_str_eq(c->stem, "good");
    /* [backtest]: the grid starts warmup (30 days) before start; a date
     * alone as end means the end of that day. */
    ck_assert_int_eq(c->run.start_ms, day(2021, 1, 1));
    ck_assert_int_eq(c->run.end_ms, day(2021, 7, 1) - 1);
    ck_assert_int_eq(c->warmup_ms, 30 * CPO_MS_DAY);
    ck_assert_int_eq(c->market.start_ms, day(2021, 1, 1) - 30 * CPO_MS_DAY);
    ck_assert_int_eq(c->market.end_ms, day(2021, 7, 1) - 1);
    ck_assert_int_eq(c->market.step_ms, CPO_MS_DAY);
    ck_assert_int_eq(c->market.fill, CPO_FILL_FORWARD);
    ck_assert_uint_eq(c->market.max_fill, 3);
    ck_assert_ptr_null(c->market.symbols);
    ck_assert_double_eq(c->run.capital, 250000.0);
    ck_assert_str_eq(c->run.currency, "USDT");
    ck_assert_str_eq(c->run.collateral, "BTC");
    ck_assert_uint_eq(c->run.seed, 42);
    ck_assert_double_eq(c->run.cash_buffer, 0.02);
    ck_assert_int_eq(c->run.detail, CPO_DETAIL_INSTRUMENT);
    /* [costs]: fee_bps for every kind, perp_fee_bps over it for perps and
     * futures; leverage 4 = imr 0.25. */
    const cpo_costs *k = &c->run.costs;
    ck_assert_int_eq(c->run.fill, CPO_FILL_THIS_CLOSE);
    ck_assert_double_eq(k->kind[CPO_KIND_SPOT].taker_bps, 7.0);
    ck_assert_double_eq(k->kind[CPO_KIND_OPTION].taker_bps, 7.0);
    ck_assert_double_eq(k->kind[CPO_KIND_PERP].taker_bps, 4.0);
    ck_assert_double_eq(k->kind[CPO_KIND_FUTURE].taker_bps, 4.0);
    ck_assert_double_eq(k->kind[CPO_KIND_SPOT].maker_bps, 6.0);
    ck_assert_double_eq(k->kind[CPO_KIND_PERP].maker_bps, -1.0);
    ck_assert_double_eq(k->kind[CPO_KIND_PERP].imr, 0.25);
    ck_assert_double_eq(k->kind[CPO_KIND_PERP].mmr, 0.01);
    ck_assert_double_eq(k->kind[CPO_KIND_SPOT].imr, 1.0);
    ck_assert_double_eq(k->slippage_bps, 3.0);
    ck_assert_double_eq(k->impact_coef, 0.5);
    ck_assert_double_eq(k->participation_cap, 0.1);
    ck_assert_int_eq(k->lot_rounding, 0);
    /* [universe]: names in file order, with kind and line. */
    ck_assert_uint_eq(c->n_universe, 4);
    ck_assert_str_eq(c->universe[0].name, "BTC");
    ck_assert_int_eq(c->universe[0].kind, CPO_KIND_SPOT);
    ck_assert_int_eq(c->universe[0].line, 18);
    ck_assert_str_eq(c->universe[1].name, "ETHUSDT");
    ck_assert_str_eq(c->universe[2].name, "BTCUSDT-PERP");
    ck_assert_int_eq(c->universe[2].kind, CPO_KIND_PERP);
    ck_assert_int_eq(c->universe[2].line, 19);
    ck_assert_str_eq(c->universe[3].name, "SOLUSDT");
    ck_assert_int_eq(c->universe[3].kind, -1);
    /* The pipeline in role order: schedule monthly, drift (OR), select all,
     * weigh fixed; parameters set, defaults filled. */
    ck_assert_uint_eq(c->run.n_stages, 4);
    ck_assert_str_eq(c->run.stages[0].def->name, "monthly");
    ck_assert_str_eq(c->run.stages[1].def->name, "drift");
    ck_assert_str_eq(c->run.stages[2].def->name, "all");
    ck_assert_str_eq(c->run.stages[3].def->name, "fixed");
    ck_assert_int_eq(c->run.stages[3].def->role, CPO_ROLE_WEIGH);
    ck_assert_double_eq(cpo_params_real(c->run.stages[1].params, "abs"), 0.1);
    ck_assert_double_eq(cpo_params_real(c->run.stages[1].params, "rel"), 0.0); /* default */
    ck_assert_str_eq(cpo_params_str(c->run.stages[1].params, "mode"), "all");
    /* The continuation line joined to its key. */
    const cpo_params *fx = c->run.stages[3].params;
    ck_assert_uint_eq(cpo_params_count(fx, "weights"), 2);
    ck_assert_str_eq(cpo_params_item(fx, "weights", 0), "BTCUSDT:0.5");
    ck_assert_str_eq(cpo_params_item(fx, "weights", 1), "BTCUSDT-PERP:-0.5");
    /* The text of every key, as written, for the manifest. */
    ck_assert_uint_eq(c->n_keys, 33); /* 13 + 3 + 11 + 3 + 2 + 1 */
    ck_assert_str_eq(cpo_config_get(c, "backtest", "data"), "stores/x.h5");
    ck_assert_str_eq(cpo_config_get(c, "costs", "perp_maker_bps"), "-1");
    ck_assert_str_eq(cpo_config_get(c, "weigh.fixed", "weights"), "BTCUSDT:0.5, BTCUSDT-PERP:-0.5");
    ck_assert_ptr_null(cpo_config_get(c, "costs", "nope"));
    cpo_config_free(c);
}
END_TEST

START_TEST(test_config_good__defaults)
{
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, cfg_path("minimal.ini"), &e) == 0, "%s", tu_errstr(&e));
    ck_assert_str_eq(c->data_path, "/abs/store.h5"); /* absolute: as written */
    ck_assert_int_eq(c->run.start_ms, CPO_TIME_NONE);
    ck_assert_int_eq(c->run.end_ms, CPO_TIME_NONE);
    ck_assert_int_eq(c->market.step_ms, 0);
    ck_assert_int_eq(c->market.fill, CPO_FILL_NONE);
    ck_assert_double_eq(c->run.capital, 1e6);
    ck_assert_str_eq(c->run.currency, "USD");
    ck_assert_int_eq(c->run.fill, CPO_FILL_NEXT_OPEN);
    ck_assert_int_eq(c->run.detail, CPO_DETAIL_TOTALS);
    /* cpo_costs_init: 10 bps spot, 5 bps perps, imr 1, mmr 0.005, lots. */
    ck_assert_double_eq(c->run.costs.kind[CPO_KIND_SPOT].taker_bps, 10.0);
    ck_assert_double_eq(c->run.costs.kind[CPO_KIND_PERP].taker_bps, 5.0);
    ck_assert_double_eq(c->run.costs.kind[CPO_KIND_PERP].imr, 1.0);
    ck_assert_int_eq(c->run.costs.lot_rounding, 1);
    ck_assert_uint_eq(c->n_universe, 0);
    ck_assert_str_eq(c->benchmark, ""); /* no benchmark: alpha and beta stay out */
    ck_assert_uint_eq(c->run.n_stages, 2);
    cpo_config_free(c);
    cpo_config_free(NULL);
}
END_TEST

/* Bad configs: file, line (0: none) and the exact message. */
typedef struct bad_case {
    const char *file;
    long line;
    const char *msg;
} bad_case;

static const bad_case bad_cases[] = {
    {"margin_mode.ini", 4, "mode = \"leveraged\" is not valid (expected cross or isolated)"},
    {"margin_unknown_key.ini", 8,
     "unknown key \"liquidation_fees\" in [margin] (expected one of: mode, brackets, "
     "options_margin, liquidation_price, liquidation_fee, deribit_future_liquidation_fee, "
     "deribit_option_liquidation_fee, margin_call)"},
    {"unknown_section.ini", 4,
     "unknown section [costz] (expected one of: backtest, universe, costs, strategy, options, "
     "margin, financing, futures, env, report, or ROLE.STAGE for the parameters of a stage, e.g. [weigh.fixed])"},
    {"unknown_key.ini", 5,
     "unknown key \"fee_bsp\" in [costs] (expected one of: fill, fee_bps, spot_fee_bps, "
     "perp_fee_bps, future_fee_bps, spot_maker_bps, perp_maker_bps, future_maker_bps, "
     "slippage_bps, impact_coef, "
     "participation_cap, lot_rounding, perp_leverage, perp_imr, perp_mmr)"},
    {"bad_date.ini", 3,
     "start = \"2021-13-01\" is not valid (expected an ISO 8601 date like 2021-01-01 or a UTC "
     "date-time like 2021-01-01T08:00:00Z)"},
    {"bad_duration.ini", 4,
     "step = \"1 day\" is not valid (expected a duration like 1d, 8h or 15m)"},
    {"bad_fill.ini", 6, "fill = \"tomorrow\" is not valid (expected next_open or close)"},
    {"unknown_stage_key.ini", 9,
     "unknown key \"weight\" in [weigh.fixed] (expected one of: weights)"},
    {"missing_data.ini", 0, "[backtest] has no \"data\" (expected data = PATH to a store)"},
    {"out_of_range.ini", 3,
     "capital = \"-5\" is not valid (expected a positive amount up to 1e15)"},
    {"cash_buffer_range.ini", 3,
     "cash_buffer = \"1\" is not valid (expected a fraction of equity in [0, 1))"},
    {"missing_plugin.ini", 5,
     "plugin \"plugins/nope.so\" does not exist (expected the path of a shared object, "
     "relative to the config file)"},
    {"duplicate_key.ini", 10,
     "\"capital\" is given twice in [backtest] (first on line 3; expected each key once)"},
    {"not_in_pipeline.ini", 8,
     "[schedule.drift] is for a stage that is not in the pipeline (expected schedule = drift "
     "in [strategy], or no such section)"},
    {"end_before_start.ini", 4,
     "end = \"2021-01-01\" is before start = \"2022-01-01\" (expected end >= start)"},
    {"leverage_and_imr.ini", 6,
     "perp_imr and perp_leverage are both given (expected one of them: perp_imr = 1 / "
     "perp_leverage)"},
    {"mmr_above_imr.ini", 6,
     "the maintenance margin rate 0.05 is not below the initial margin rate 0.02 (expected "
     "perp_mmr < perp_imr = 1 / perp_leverage)"},
    {"key_outside_section.ini", 1,
     "key \"data\" is outside a section (expected [backtest], [universe], [costs] or "
     "[strategy] before it)"},
    {"bad_detail.ini", 3, "detail = \"everything\" is not valid (expected totals or instrument)"},
    /* One symbol; whether the store has it is checked with the universe. */
    {"bad_benchmark.ini", 3,
     "benchmark = \"BTC, ETH\" is not valid (expected one symbol of the store like BTCUSDT, at "
     "most 47 characters)"},
    {"stage_twice.ini", 5,
     "schedule stage \"monthly\" is listed twice (expected each stage once)"},
    {"syntax_error.ini", 3, "syntax error (expected [section] or key = value)"},
    /* inih reads 200-byte lines; the rest of a longer one must not become
     * a key of its own. */
    {"long_line.ini", 9,
     "line longer than 199 characters (expected shorter lines: continue a long value on the "
     "next line, indented)"},
    /* [options]: every key checked, with the range it takes (the files
     * put [options] on line 7, its keys from line 8). */
    {"options_unknown_key.ini", 9,
     "unknown key \"fee\" in [options] (expected one of: underlyings, index.COIN, dvol.COIN, "
     "delivery.COIN, surface, coin_price, rate, fee_rate, fee_cap, delivery_fee, delivery_cap, "
     "explain_threshold, explain_floor, max_positions, max_quote_age)"},
    {"options_no_underlyings.ini", 7,
     "[options] has no \"underlyings\" (expected underlyings = the coins of the option chains "
     "held, like BTC)"},
    {"options_many_underlyings.ini", 8,
     "underlyings = \"BTC, ETH, SOL, XRP, DOGE\" is not valid (expected a comma-separated list "
     "of at most 4 coins like BTC, ETH)"},
    {"options_twice_underlying.ini", 8,
     "underlyings = \"BTC, ETH, BTC\" is not valid (expected each coin once)"},
    {"options_bad_coin.ini", 8,
     "underlyings = \"BTC-USD\" is not valid (expected a comma-separated list of at most 4 "
     "coins like BTC, ETH)"},
    {"options_index_coin.ini", 9,
     "index.ETH is for ETH, which is not in underlyings (expected index.COIN for a coin of: "
     "BTC)"},
    /* dvol.SOL comes before underlyings in the file: underlyings is read
     * first all the same. */
    {"options_dvol_coin.ini", 8,
     "dvol.SOL is for SOL, which is not in underlyings (expected dvol.COIN for a coin of: BTC)"},
    {"options_bad_index.ini", 9,
     "index.BTC = \"BTC USDT\" is not valid (expected the symbol of an instrument of the store, "
     "like BTCUSDT)"},
    {"options_surface.ini", 9,
     "surface = \"sticky\" is not valid (expected sticky_strike or dvol_scaled)"},
    {"options_coin_price.ini", 9,
     "coin_price = \"mark\" is not valid (expected forward or index)"},
    {"options_rate.ini", 9,
     "rate = \"1.5\" is not valid (expected a continuous rate per year in [-1, 1])"},
    {"options_fee_rate.ini", 9,
     "fee_rate = \"0.02\" is not valid (expected coin per contract in [0, 0.01])"},
    {"options_fee_cap.ini", 9,
     "fee_cap = \"-0.1\" is not valid (expected a fraction of the option price in [0, 1])"},
    {"options_delivery_fee.ini", 9,
     "delivery_fee = \"1bp\" is not valid (expected coin per contract in [0, 0.01])"},
    {"options_delivery_cap.ini", 9,
     "delivery_cap = \"2\" is not valid (expected a fraction of the payoff in [0, 1])"},
    {"options_explain_threshold.ini", 9,
     "explain_threshold = \"1.5\" is not valid (expected a fraction of the options line in "
     "[0, 1])"},
    {"options_explain_floor.ini", 9,
     "explain_floor = \"nan\" is not valid (expected a fraction of equity in [0, 1])"},
    {"options_max_positions.ini", 9,
     "max_positions = \"0\" is not valid (expected a whole number of positions in [1, "
     "100000])"},
    {"options_max_positions_big.ini", 9,
     "max_positions = \"100001\" is not valid (expected a whole number of positions in [1, "
     "100000])"},
    /* [financing] and [futures] (the files put the section on line 6, its
     * key on line 7). */
    {"financing_rate.ini", 7,
     "cash.USD = \"3\" is not valid (expected an annual rate in [-0.5, 2] (0.04 = 4 % a year), "
     "or a file of date,rate)"},
    {"financing_coin.ini", 7,
     "cash.US-D: \"US-D\" is not a currency (expected cash.CCY, a code like USD or BTC)"},
    {"financing_unknown_key.ini", 7,
     "unknown key \"yield.USD\" in [financing] (expected one of: cash.CCY, borrow.CCY, rf)"},
    {"futures_between.ini", 7,
     "between_quotes = \"linear\" is not valid (expected none or basis)"},
    {"futures_fee.ini", 7,
     "delivery_fee_bps = \"200\" is not valid (expected a number of basis points in [0, 100])"},
    {"futures_unknown_key.ini", 7,
     "unknown key \"roll\" in [futures] (expected one of: index.COIN, delivery.COIN, "
     "delivery_fee_bps, between_quotes)"},
    {"futures_index.ini", 7,
     "index.BTC = \"BTC USDT\" is not valid (expected the symbol of an instrument of the store, "
     "like BTCUSDT)"},
    {"futures_coin.ini", 7,
     "index.B-TC: \"B-TC\" is not a coin (expected index.COIN, a code like BTC)"},
    /* [report] (the section on line 6, its key on line 7). */
    {"report_charts.ini", 7,
     "charts = \"jpeg\" is not valid (expected both, png, svg or none)"},
    {"report_unknown_key.ini", 7, "unknown key \"format\" in [report] (expected one of: charts)"},
    /* An option stage's underlying must be one of [options]: at its key,
     * or (the default) at underlyings. */
    {"options_stage_underlying.ini", 12,
     "[weigh.strangle] underlying = \"ETH\" is not in [options] underlyings (expected one of: "
     "BTC)"},
    {"options_stage_default.ini", 9,
     "[weigh.strangle] underlying = \"BTC\" is not in [options] underlyings (expected one of: "
     "ETH)"},
};

static void expect_error(const char *file, long line, const char *msg)
{
    cpo_config *c = (cpo_config *)1;
    cpo_error e;
    cpo_error_clear(&e);
    const char *p = cfg_path(file);
    char path[1024];
    snprintf(path, sizeof path, "%s", p);
    int rc = cpo_config_load(&c, path, &e);
    ck_assert_msg(rc < 0, "%s: accepted", file);
    ck_assert_ptr_null(c);
    char want[2048];
    if (line > 0)
        snprintf(want, sizeof want, "%s:%ld: %s", path, line, msg);
    else
        snprintf(want, sizeof want, "%s: %s", path, msg);
    ck_assert_str_eq(tu_errstr(&e), want);
}

START_TEST(test_config_bad__exact_messages)
{
    const bad_case *b = &bad_cases[_i];
    expect_error(b->file, b->line, b->msg);
}
END_TEST


/* [margin] brackets = FILE: tables read from CSV or Binance's JSON, and
 * bad tables refused at their own file's line, naming the config line. */
static void expect_bracket_error(const char *cfg, const char *csv, long line, const char *msg)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    char path[1024], want[2048];
    snprintf(path, sizeof path, "%s", cfg_path(cfg));
    ck_assert_int_lt(cpo_config_load(&c, path, &e), 0);
    ck_assert_ptr_null(c);
    snprintf(want, sizeof want, "%s/configs/../margin/%s:%ld:1: %s (the brackets of %s:7)",
             CPO_TEST_DATA, csv, line, msg, path);
    ck_assert_str_eq(tu_errstr(&e), want);
}

/* [financing] rates from files: read whole, or refused at the file's own
 * line and column, naming the config's line (7). */
static void expect_rates_error(const char *cfg, const char *csv, long line, long col,
                               const char *msg)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    char path[1024], want[2048];
    snprintf(path, sizeof path, "%s", cfg_path(cfg));
    ck_assert_int_lt(cpo_config_load(&c, path, &e), 0);
    ck_assert_ptr_null(c);
    snprintf(want, sizeof want, "%s/configs/../rates/%s:%ld:%ld: %s (the rates of %s:7)",
             CPO_TEST_DATA, csv, line, col, msg, path);
    ck_assert_str_eq(tu_errstr(&e), want);
}

START_TEST(test_config_financing__rates)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_config_load(&c, cfg_path("financing_good.ini"), &e) == 0, "%s",
                  tu_errstr(&e));
    const cpo_financing_spec *f = &c->run.financing;
    ck_assert_int_eq(f->enabled, 1);
    ck_assert_uint_eq(f->n, 1);
    ck_assert_str_eq(f->ccy[0], "USD");
    ck_assert_uint_eq(f->cash[0].n, 3);
    ck_assert_double_eq(f->borrow[0].constant, 0.08);
    ck_assert_int_eq(f->rf_kind, CPO_RF_CASH);
    /* The rate in force: the latest dated at or before t (the first one
     * before the series starts). */
    int64_t d1 = INT64_C(1704067200000), day = INT64_C(86400000);
    ck_assert_double_eq(cpo_rate_at(&f->cash[0], d1 - day), 0.05);
    ck_assert_double_eq(cpo_rate_at(&f->cash[0], d1 + day + 1), 0.04);
    ck_assert_double_eq(cpo_rate_at(&f->cash[0], d1 + 6 * day), 0.04);
    ck_assert_double_eq(cpo_rate_at(&f->cash[0], d1 + 30 * day), 0.03);
    cpo_config_free(c);
    expect_rates_error("financing_rates_gap.ini", "gap.csv", 5, 1,
                       "a gap of 15d after 2024-01-05 (expected a rate at least every 7 days)");
    expect_rates_error("financing_rates_bad.ini", "bad_rate.csv", 3, 2,
                       "rate \"5%\" is not valid (expected an annual rate in [-0.5, 2]: 0.04 = "
                       "4 % a year)");
    expect_rates_error("financing_rates_header.ini", "bad_header.csv", 1, 1,
                       "the header is not date,rate (expected the columns date,rate: an ISO "
                       "date and an annual rate, 0.04 = 4 %)");
}
END_TEST

/* A config of the minimal [backtest] and [strategy] with `rest` after
 * them, loaded as /tmp/x.ini (its first line of rest is line 6): 0 and
 * *out, or the error in *e. */
static const char TEXT_HEAD[] =
    "[backtest]\ndata = x.h5\n[strategy]\nschedule = once\nweigh = equal\n";

static int load_with(cpo_config **out, const char *rest, cpo_error *e)
{
    char text[1024];
    snprintf(text, sizeof text, "%s%s", TEXT_HEAD, rest);
    *out = NULL;
    cpo_error_clear(e);
    return cpo_config_load_text(out, "/tmp/x.ini", text, NULL, 0, e);
}

/* load_with that must succeed. */
static cpo_config *load_ok(const char *rest)
{
    cpo_config *c;
    cpo_error e;
    ck_assert_msg(load_with(&c, rest, &e) == 0, "%s", tu_errstr(&e));
    return c;
}

/* future_fee_bps and future_maker_bps give dated futures their own fees
 * wherever they stand in [costs] (before perp_* here); without them the
 * futures take perp_*. */
START_TEST(test_config_costs__future_fees)
{
    cpo_config *c = load_ok("[costs]\nfuture_fee_bps = 5\nfuture_maker_bps = 0\n"
                            "perp_fee_bps = 4\nperp_maker_bps = -1\nfee_bps = 10\n");
    const cpo_costs *k = &c->run.costs;
    ck_assert_double_eq(k->kind[CPO_KIND_PERP].taker_bps, 4.0);
    ck_assert_double_eq(k->kind[CPO_KIND_FUTURE].taker_bps, 5.0);
    ck_assert_double_eq(k->kind[CPO_KIND_PERP].maker_bps, -1.0);
    ck_assert_double_eq(k->kind[CPO_KIND_FUTURE].maker_bps, 0.0);
    ck_assert_double_eq(k->kind[CPO_KIND_SPOT].taker_bps, 10.0);
    cpo_config_free(c);
    c = load_ok("[costs]\nperp_fee_bps = 4\nperp_maker_bps = -1\n");
    ck_assert_double_eq(c->run.costs.kind[CPO_KIND_FUTURE].taker_bps, 4.0);
    ck_assert_double_eq(c->run.costs.kind[CPO_KIND_FUTURE].maker_bps, -1.0);
    cpo_config_free(c);
    cpo_error e;
    ck_assert_int_lt(load_with(&c, "[costs]\nfuture_fee_bps = 2000\n", &e), 0);
    ck_assert_str_eq(tu_errstr(&e), "/tmp/x.ini:7: future_fee_bps = \"2000\" is not valid "
                                    "(expected a number of basis points in [0, 1000])");
}
END_TEST

START_TEST(test_config_futures__keys)
{
    cpo_config *c = load_ok("[futures]\nindex.BTC = BTC-INDEX\ndelivery.BTC = BTC-INDEX-1M\n"
                            "delivery_fee_bps = 2.5\nbetween_quotes = basis\n");
    const cpo_futures_spec *f = &c->run.futures;
    ck_assert_uint_eq(f->n, 1);
    ck_assert_str_eq(f->coin[0], "BTC");
    ck_assert_str_eq(f->index[0], "BTC-INDEX");
    ck_assert_str_eq(f->delivery[0], "BTC-INDEX-1M");
    ck_assert_double_eq(f->delivery_fee_bps, 2.5);
    ck_assert_int_eq(f->between_quotes, CPO_FUT_GAP_BASIS);
    /* The index of a coin: [futures], else [options], else COINUSDT. */
    char buf[CPO_SYMBOL_MAX];
    ck_assert_str_eq(cpo_futures_index(&c->run, "BTC", 1, buf, sizeof buf), "BTC-INDEX-1M");
    ck_assert_str_eq(cpo_futures_index(&c->run, "BTC", 0, buf, sizeof buf), "BTC-INDEX");
    ck_assert_str_eq(cpo_futures_index(&c->run, "ETH", 0, buf, sizeof buf), "ETHUSDT");
    cpo_config_free(c);
    /* Without [futures]: the exchange's delivery fee (NaN), no modelling. */
    cpo_error e;
    ck_assert_int_eq(cpo_config_load(&c, cfg_path("minimal.ini"), &e), 0);
    ck_assert(isnan(c->run.futures.delivery_fee_bps));
    ck_assert_int_eq(c->run.futures.between_quotes, CPO_FUT_GAP_NONE);
    cpo_config_free(c);
}
END_TEST

/* [report] charts: each name to its cpo_charts value (cpo/report.h);
 * without the section, both images. */
START_TEST(test_config_report__charts)
{
    static const struct {
        const char *name;
        int want;
    } cases[] = {{"both", CPO_CHARTS_BOTH},
                 {"png", CPO_CHARTS_PNG},
                 {"svg", CPO_CHARTS_SVG},
                 {"none", CPO_CHARTS_NONE}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char rest[64];
        snprintf(rest, sizeof rest, "[report]\ncharts = %s\n", cases[k].name);
        cpo_config *c = load_ok(rest);
        ck_assert_int_eq(c->report_charts, cases[k].want);
        ck_assert_str_eq(cpo_config_get(c, "report", "charts"), cases[k].name);
        ck_assert_str_eq(cpo_charts_name(cases[k].want), cases[k].name);
        cpo_config_free(c);
    }
    ck_assert_int_eq(cpo_charts_parse("PNG"), -1); /* names are lower case, as documented */
    ck_assert_int_eq(cpo_charts_parse(NULL), -1);
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_config_load(&c, cfg_path("minimal.ini"), &e), 0);
    ck_assert_int_eq(c->report_charts, CPO_CHARTS_BOTH);
    cpo_config_free(c);
}
END_TEST

START_TEST(test_config_margin__brackets)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_config_load(&c, cfg_path("margin_brackets_json.ini"), &e) == 0, "%s",
                  tu_errstr(&e));
    ck_assert_uint_eq(c->run.margin.n_brackets, 2);
    const cpo_brackets *eth = &c->run.margin.brackets[0], *btc = &c->run.margin.brackets[1];
    ck_assert_str_eq(eth->symbol, "ETHUSDT");
    ck_assert_uint_eq(eth->n, 2);
    ck_assert_double_eq(eth->b[1].cum, 35.0);
    ck_assert_int_eq(eth->inverse, 0);
    ck_assert_str_eq(btc->symbol, "BTCUSD_PERP");
    ck_assert_int_eq(btc->inverse, 1); /* qtyCap: COIN-M */
    ck_assert_str_eq(c->run.margin.brackets_source, "../margin/brackets.json");
    cpo_config_free(c);
    /* The bundled table: three symbols, every bracket checked. */
    char bundled[1024];
    snprintf(bundled, sizeof bundled, "%s/binance_usdm_brackets.csv", CPO_SAMPLE_DIR);
    cpo_brackets *t = NULL;
    size_t n = 0;
    ck_assert_msg(cpo_brackets_read(bundled, &t, &n, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(t[0].n, 12);
    ck_assert_double_eq(t[0].b[2].cum, 950.0);
    free(t);
    expect_bracket_error("margin_brackets_gap.ini", "brackets_gap.csv", 5,
                         "BTCUSDT: bracket 3 starts at 700000 but bracket 2 ends at 600000 "
                         "(expected each floor to be the cap before it: a gap)");
    expect_bracket_error("margin_brackets_overlap.ini", "brackets_overlap.csv", 3,
                         "BTCUSDT: bracket 2 starts at 40000 but bracket 1 ends at 50000 "
                         "(expected each floor to be the cap before it: an overlap)");
    expect_bracket_error("margin_brackets_cum.ini", "brackets_cum.csv", 4,
                         "ETHUSDT: bracket 3 has maintenance amount 1000 (expected 950: the "
                         "amount below plus floor x (mmr - mmr below), as Binance derives it)");
    cpo_error_clear(&e);
    ck_assert_int_eq(cpo_config_load(&c, cfg_path("margin_brackets_text.ini"), &e), CPO_EPARSE);
    ck_assert_ptr_nonnull(strstr(tu_errstr(&e), "brackets_text.csv:2:5: mmr|maintenance_margin_rate "
                                                "\"half\" is not a number"));
}
END_TEST

/* The messages that list what the registry holds: built from it, so that
 * a stage added later does not break them. */
START_TEST(test_config_bad__stage_messages)
{
    cpo_registry *reg = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_registry_new(&reg, &e), 0);
    char names[1024], msg[2048];
    cpo_registry_names(reg, CPO_ROLE_WEIGH, names, sizeof names);
    ck_assert_ptr_nonnull(strstr(names, "equal"));
    ck_assert_ptr_nonnull(strstr(names, "fixed"));
    snprintf(msg, sizeof msg, "unknown weigh stage \"kelly\" (expected one of: %s)", names);
    expect_error("unknown_stage.ini", 6, msg);
    /* A section of an unknown stage is refused at its header. */
    expect_error("unknown_stage_section.ini", 8, msg);
    /* drift's abs: the range as the stage declares it. */
    const cpo_stage_def *d = cpo_registry_find(reg, CPO_ROLE_SCHEDULE, "drift");
    ck_assert_ptr_nonnull(d);
    const cpo_param_spec *abs_spec = NULL;
    for (size_t k = 0; k < d->n_params; k++)
        if (!strcmp(d->params[k].name, "abs"))
            abs_spec = &d->params[k];
    ck_assert_ptr_nonnull(abs_spec);
    ck_assert(abs_spec->max < 50); /* so that 50 is out of range */
    snprintf(msg, sizeof msg,
             "[schedule.drift] abs = \"fast\" is not valid (expected a number in [%.15g, %.15g])",
             abs_spec->min, abs_spec->max);
    expect_error("bad_stage_param.ini", 9, msg);
    snprintf(msg, sizeof msg,
             "[schedule.drift] abs = \"50\" is not valid (expected a number in [%.15g, %.15g])",
             abs_spec->min, abs_spec->max);
    expect_error("stage_param_range.ini", 10, msg);
    /* A required parameter without a value: the stage's help says what. */
    d = cpo_registry_find(reg, CPO_ROLE_WEIGH, "fixed");
    ck_assert_ptr_nonnull(d);
    snprintf(msg, sizeof msg, "[weigh.fixed] has no \"weights\" (expected weights = %s)",
             d->params[0].help);
    expect_error("missing_stage_param.ini", 0, msg);
    cpo_registry_names(reg, CPO_ROLE_SCHEDULE, names, sizeof names);
    snprintf(msg, sizeof msg, "[strategy] has no \"schedule\" (expected schedule = one of: %s)",
             names);
    expect_error("missing_schedule.ini", 0, msg);
    cpo_registry_free(reg);
}
END_TEST

START_TEST(test_config_bad__missing_file)
{
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_config_load(&c, cfg_path("does_not_exist.ini"), &e), CPO_EIO);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(tu_errstr(&e), "does_not_exist.ini: cannot open: "));
}
END_TEST

/* A plugin named by the config is loaded before its stages are looked up,
 * wherever the key is in [strategy]. */
START_TEST(test_config_plugin__stages_from_a_shared_object)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "plug.ini");
    char text[2048];
    snprintf(text, sizeof text,
             "[backtest]\ndata = s.h5\n[strategy]\nschedule = every_k_hours\nweigh = inverse_price\n"
             "plugin = %s\n[schedule.every_k_hours]\nk = 8\n",
             CPO_EXAMPLE_PLUGIN);
    tu_write_file(p, text);
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    int rc = cpo_config_load(&c, p, &e);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(c->n_plugins, 1);
    ck_assert_str_eq(c->plugins[0], CPO_EXAMPLE_PLUGIN);
    ck_assert_uint_eq(c->run.n_stages, 2);
    ck_assert_str_eq(c->run.stages[0].def->name, "every_k_hours");
    ck_assert_str_eq(c->run.stages[1].def->name, "inverse_price");
    ck_assert_int_eq(cpo_params_int(c->run.stages[0].params, "k"), 8);
    cpo_config_free(c);
    tu_rmtree(dir);
    free(p);
    free(dir);
}
END_TEST

/* `plugin = x.so` in a config run from its own folder is the file there
 * (issue 20: resolve_path kept "x.so" and dlopen searched the system's
 * library paths: "cannot load plugin: x.so: cannot open shared object
 * file"). */
START_TEST(test_config_plugin__bare_name_is_relative_to_the_config)
{
    char *dir = tu_tmpdir();
    char *so = tu_path(dir, "x.so");
    size_t n = 0;
    char *bytes = tu_read_file(CPO_EXAMPLE_PLUGIN, &n);
    ck_assert_ptr_nonnull(bytes);
    FILE *f = fopen(so, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    free(bytes);
    char *p = tu_path(dir, "plug.ini");
    tu_write_file(p, "[backtest]\ndata = s.h5\n[strategy]\nschedule = every_k_hours\n"
                     "weigh = inverse_price\nplugin = x.so\n[schedule.every_k_hours]\nk = 8\n");
    ck_assert_int_eq(chdir(dir), 0);
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    int rc = cpo_config_load(&c, "plug.ini", &e);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
    ck_assert_str_eq(c->plugins[0], "x.so");
    ck_assert_str_eq(c->run.stages[0].def->name, "every_k_hours");
    cpo_config_free(c);
    tu_rmtree(dir);
    free(so);
    free(p);
    free(dir);
}
END_TEST

/* The universe against a store's instruments. */
static cpo_dataset *universe_store(void)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    static const struct {
        const char *sym, *base;
        cpo_kind kind;
    } in[] = {{"BTCUSDT", "BTC", CPO_KIND_SPOT},       {"ETHUSDT", "ETH", CPO_KIND_SPOT},
              {"BTCUSDT-PERP", "BTC", CPO_KIND_PERP}, {"SOLUSDT", "SOL", CPO_KIND_SPOT},
              {"SOLBUSD", "SOL", CPO_KIND_SPOT}};
    for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
        cpo_instrument x;
        cpo_instrument_init(&x, in[k].sym, in[k].kind, CPO_SETTLE_LINEAR);
        snprintf(x.base, sizeof x.base, "%s", in[k].base);
        size_t idx;
        ck_assert_int_eq(cpo_dataset_add(ds, &x, &idx, &e), 0);
    }
    return ds;
}

static int universe_of(const char *text, char ***syms, size_t *n, cpo_error *e, char **path_out)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "u.ini");
    char buf[1024];
    snprintf(buf, sizeof buf, "[backtest]\ndata = s.h5\n[universe]\n%s\n[strategy]\nschedule = once\n"
             "weigh = equal\n", text);
    tu_write_file(p, buf);
    cpo_config *c = NULL;
    ck_assert_msg(cpo_config_load(&c, p, e) == 0, "%s", tu_errstr(e));
    cpo_dataset *ds = universe_store();
    int rc = cpo_config_universe(c, ds, syms, n, e);
    cpo_dataset_free(ds);
    cpo_config_free(c);
    tu_rmtree(dir);
    free(dir);
    *path_out = p;
    return rc;
}

/* The store path of the config at p: its folder + "s.h5". */
static void store_of(const char *p, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s/s.h5", (int)(strrchr(p, '/') - p), p);
}

START_TEST(test_config_universe__coins_and_symbols)
{
    char **s = NULL, *p = NULL;
    size_t n = 0;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_int_eq(universe_of("spot = BTC, ETHUSDT\nperp = BTC", &s, &n, &e, &p), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(s[0], "BTCUSDT");
    ck_assert_str_eq(s[1], "ETHUSDT");
    ck_assert_str_eq(s[2], "BTCUSDT-PERP");
    cpo_config_symbols_free(s, n);
    free(p);

    char want[2048], store[1024];
    ck_assert_int_eq(universe_of("spot = SOL", &s, &n, &e, &p), CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:4: spot \"SOL\" matches both SOLUSDT and SOLBUSD in %s (expected one symbol: "
             "name it)", p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    ck_assert_int_eq(universe_of("spot = BTCUSDT-PERP", &s, &n, &e, &p), CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:4: spot \"BTCUSDT-PERP\" is a perp instrument in %s (expected a spot "
             "instrument or its coin)", p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    ck_assert_int_eq(universe_of("spot = DOT", &s, &n, &e, &p), CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:4: spot \"DOT\" is not in %s (expected one of: BTCUSDT, ETHUSDT, SOLUSDT, "
             "SOLBUSD)", p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    ck_assert_int_eq(universe_of("spot = BTC\nsymbols = BTCUSDT", &s, &n, &e, &p), CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:5: BTCUSDT is in the universe twice (as \"BTC\" on line 4 and \"BTCUSDT\"; "
             "expected each instrument once)", p);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    ck_assert_int_eq(universe_of("symbols = BTC", &s, &n, &e, &p), CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:4: symbols \"BTC\" is not in %s (expected one of: BTCUSDT, ETHUSDT, "
             "BTCUSDT-PERP, SOLUSDT, SOLBUSD)", p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
}
END_TEST

/* The universe of "[universe] spot = ETH" with "[backtest] benchmark =
 * bench" on line 3, in universe_store() where BTCUSDT and ETHUSDT have a
 * bar and the others none. */
static int bench_universe(const char *bench, char ***syms, size_t *n, cpo_error *e,
                          char **path_out)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "b.ini");
    char buf[1024];
    snprintf(buf, sizeof buf,
             "[backtest]\ndata = s.h5\nbenchmark = %s\n[universe]\nspot = ETH\n[strategy]\n"
             "schedule = once\nweigh = equal\n",
             bench);
    tu_write_file(p, buf);
    cpo_config *c = NULL;
    ck_assert_msg(cpo_config_load(&c, p, e) == 0, "%s", tu_errstr(e));
    ck_assert_str_eq(c->benchmark, bench);
    cpo_dataset *ds = universe_store();
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_eq(ds->instr[i].symbol, i ? "ETHUSDT" : "BTCUSDT");
        ds->bars[i].bar_ms = CPO_MS_DAY;
        ck_assert_int_eq(cpo_bars_append(&ds->bars[i], 0, 10, 11, 9, 10, 1, NAN, NAN, NAN, NAN), 0);
    }
    int rc = cpo_config_universe(c, ds, syms, n, e);
    cpo_dataset_free(ds);
    cpo_config_free(c);
    tu_rmtree(dir);
    free(dir);
    *path_out = p;
    return rc;
}

/* [backtest] benchmark: checked against the store with the universe, at
 * its line, and never added to the universe. */
START_TEST(test_config_universe__benchmark)
{
    char **s = NULL, *p = NULL;
    size_t n = 0;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(bench_universe("BTCUSDT", &s, &n, &e, &p) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(n, 1); /* ETHUSDT alone: the benchmark stays out */
    ck_assert_str_eq(s[0], "ETHUSDT");
    cpo_config_symbols_free(s, n);
    free(p);

    char want[2048], store[1024];
    ck_assert_int_eq(bench_universe("DOTUSDT", &s, &n, &e, &p), CPO_ECONFIG);
    ck_assert_ptr_null(s);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:3: benchmark \"DOTUSDT\" is not in %s (expected an instrument with bars: "
             "BTCUSDT, ETHUSDT)", p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    /* In the store, but without a bar to measure against. */
    ck_assert_int_eq(bench_universe("SOLUSDT", &s, &n, &e, &p), CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:3: benchmark \"SOLUSDT\" has no bars in %s (expected an instrument with bars: "
             "BTCUSDT, ETHUSDT)", p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
}
END_TEST

/* [options]: every key to its field of spec.options (values from
 * tests/data/configs/options_good.ini; the defaults: cpo_option_spec_init
 * as include/cpo/backtest.h documents them, index <COIN>USDT and dvol
 * <COIN>-DVOL as config.h does). */
START_TEST(test_config_options__every_key)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_config_load(&c, cfg_path("options_good.ini"), &e) == 0, "%s", tu_errstr(&e));
    const cpo_option_spec *o = &c->run.options;
    ck_assert_int_eq(o->enabled, 1);
    ck_assert_uint_eq(o->n_underlyings, 2);
    ck_assert_str_eq(o->underlying[0], "BTC");
    ck_assert_str_eq(o->underlying[1], "ETH");
    ck_assert_str_eq(o->index[0], "BTCUSDT");      /* default */
    ck_assert_str_eq(o->index[1], "ETHUSDT-PERP"); /* index.ETH */
    ck_assert_str_eq(o->dvol[0], "BTCDVOL");       /* dvol.BTC */
    ck_assert_str_eq(o->dvol[1], "ETH-DVOL");      /* default */
    ck_assert_int_eq(o->surface_mode, CPO_SURFACE_DVOL_SCALED);
    ck_assert_int_eq(o->coin_px_index, 1);
    ck_assert_double_eq(o->rate, 0.05);
    ck_assert_double_eq(o->fee_rate, 0.0004);
    ck_assert_double_eq(o->fee_cap, 0.1);
    ck_assert_double_eq(o->delivery_rate, 0.0002);
    ck_assert_double_eq(o->delivery_cap, 0.2);
    ck_assert_double_eq(o->explain_rel, 0.25);
    ck_assert_double_eq(o->explain_abs, 0.001);
    ck_assert_uint_eq(o->max_positions, 12);
    /* The option stages of the pipeline, the strangle on ETH (one of the
     * underlyings: accepted). */
    ck_assert_uint_eq(c->run.n_stages, 3);
    ck_assert_str_eq(c->run.stages[1].def->name, "strangle");
    ck_assert_str_eq(cpo_params_str(c->run.stages[1].params, "underlying"), "ETH");
    ck_assert_str_eq(o->delivery[1], "ETHUSDT-1M");
    ck_assert_int_eq(o->max_quote_age_ms, 2 * CPO_MS_HOUR);
    ck_assert_str_eq(cpo_config_section_keys("options"),
                     "underlyings, index.COIN, dvol.COIN, delivery.COIN, surface, coin_price, "
                     "rate, fee_rate, fee_cap, delivery_fee, delivery_cap, explain_threshold, "
                     "explain_floor, max_positions, max_quote_age");
    cpo_config_free(c);

    /* Just underlyings: the documented defaults. */
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "o.ini");
    tu_write_file(p, "[backtest]\ndata = s.h5\n[strategy]\nschedule = once\nweigh = equal\n"
                     "[options]\nunderlyings = ETH\n");
    ck_assert_msg(cpo_config_load(&c, p, &e) == 0, "%s", tu_errstr(&e));
    o = &c->run.options;
    ck_assert_int_eq(o->enabled, 1);
    ck_assert_str_eq(o->index[0], "ETHUSDT");
    ck_assert_str_eq(o->dvol[0], "ETH-DVOL");
    ck_assert_int_eq(o->surface_mode, CPO_SURFACE_STICKY_STRIKE);
    ck_assert_int_eq(o->coin_px_index, 0);
    ck_assert_double_eq(o->rate, 0.0);
    ck_assert_double_eq(o->fee_rate, 0.0003);
    ck_assert_double_eq(o->fee_cap, 0.125);
    ck_assert_double_eq(o->delivery_rate, 0.00015);
    ck_assert_double_eq(o->delivery_cap, 0.125);
    ck_assert_double_eq(o->explain_rel, 0.10);
    ck_assert_double_eq(o->explain_abs, 1e-5);
    ck_assert_uint_eq(o->max_positions, 64);
    cpo_config_free(c);
    /* No [options]: no option positions. */
    ck_assert_msg(cpo_config_load(&c, cfg_path("minimal.ini"), &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(c->run.options.enabled, 0);
    ck_assert_uint_eq(c->run.options.n_underlyings, 0);
    cpo_config_free(c);
    tu_rmtree(dir);
    free(p);
    free(dir);
}
END_TEST

/* A store for [options]: universe_store()'s instruments, a BTC chain (one
 * row) and an IV index "BTCDVOL". */
static cpo_dataset *options_store(void)
{
    cpo_dataset *ds = universe_store();
    cpo_error e;
    cpo_chain *ch = NULL;
    size_t row;
    ck_assert_int_eq(cpo_dataset_chain(ds, "BTC", &ch, &e), 0);
    ck_assert_int_eq(cpo_chain_append_row(ch, &row), 0);
    cpo_ivindex *iv = NULL;
    ck_assert_int_eq(cpo_dataset_ivindex(ds, "BTCDVOL", &iv, &e), 0);
    return ds;
}

/* The universe of a config with [universe] `uni` and [options] `opt`
 * against options_store(); the config's path in *path_out (free it). */
static int options_universe(const char *uni, const char *opt, char ***syms, size_t *n,
                            cpo_error *e, char **path_out)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "u.ini");
    char buf[1024];
    snprintf(buf, sizeof buf,
             "[backtest]\ndata = s.h5\n[universe]\n%s\n[strategy]\nschedule = once\n"
             "weigh = equal\n[options]\n%s\n",
             uni, opt);
    tu_write_file(p, buf);
    cpo_config *c = NULL;
    ck_assert_msg(cpo_config_load(&c, p, e) == 0, "%s", tu_errstr(e));
    cpo_dataset *ds = options_store();
    int rc = cpo_config_universe(c, ds, syms, n, e);
    cpo_dataset_free(ds);
    cpo_config_free(c);
    tu_rmtree(dir);
    free(dir);
    *path_out = p;
    return rc;
}

START_TEST(test_config_options__universe_and_store)
{
    char **s = NULL, *p = NULL, want[2048], store[1024];
    size_t n = 0;
    cpo_error e;
    cpo_error_clear(&e);
    /* The index instrument (default BTCUSDT) joins the universe after the
     * names of [universe]... */
    ck_assert_int_eq(options_universe("spot = ETH\nperp = BTC", "underlyings = BTC", &s, &n, &e, &p),
                     0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(s[0], "ETHUSDT");
    ck_assert_str_eq(s[1], "BTCUSDT-PERP");
    ck_assert_str_eq(s[2], "BTCUSDT");
    cpo_config_symbols_free(s, n);
    free(p);
    /* ... once: here it is in [universe] already. */
    ck_assert_int_eq(options_universe("spot = BTC", "underlyings = BTC", &s, &n, &e, &p), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(s[0], "BTCUSDT");
    cpo_config_symbols_free(s, n);
    free(p);
    ck_assert_int_eq(options_universe("spot = ETH", "underlyings = BTC\nindex.BTC = BTCUSDT-PERP",
                                      &s, &n, &e, &p),
                     0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(s[1], "BTCUSDT-PERP");
    cpo_config_symbols_free(s, n);
    free(p);
    /* The names of [options] against the store, at their lines (the
     * config: [options] on line 8, its first key on line 9). */
    ck_assert_int_eq(options_universe("spot = ETH", "underlyings = BTC\nindex.BTC = XBTUSD", &s,
                                      &n, &e, &p),
                     CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:10: index.BTC = \"XBTUSD\" is not in %s (expected a spot or perpetual of BTC "
             "giving its index: BTCUSDT, BTCUSDT-PERP)",
             p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    ck_assert_int_eq(options_universe("spot = ETH", "underlyings = SOL", &s, &n, &e, &p),
                     CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:9: underlying SOL has no option chain in %s (expected a coin with a chain: BTC)",
             p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    ck_assert_int_eq(options_universe("spot = ETH", "underlyings = BTC\nsurface = dvol_scaled", &s,
                                      &n, &e, &p),
                     CPO_ECONFIG);
    store_of(p, store, sizeof store);
    snprintf(want, sizeof want,
             "%s:10: dvol.BTC = \"BTC-DVOL\" (the default) is not in %s (expected a volatility "
             "index of the store for surface = dvol_scaled: BTCDVOL)",
             p, store);
    ck_assert_str_eq(tu_errstr(&e), want);
    free(p);
    ck_assert_int_eq(options_universe("spot = ETH",
                                      "underlyings = BTC\nsurface = dvol_scaled\ndvol.BTC = BTCDVOL",
                                      &s, &n, &e, &p),
                     0);
    cpo_config_symbols_free(s, n);
    free(p);
}
END_TEST


/* --- [env]: the step interface (cpo/env.h) ------------------------------------ */

/* A config with strategy (3 lines: [env] on line 8, its first key on line 9;
 * none: [env] on line 6). */
static int load_env(cpo_config **c, const char *env_keys, unsigned flags, const char *strategy,
                    cpo_error *e)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[backtest]\ndata = x.h5\n%s\n\n\n[env]\n%s", strategy, env_keys);
    return cpo_config_load_flags(c, "env.ini", text, NULL, 0, flags, e);
}

START_TEST(test_config_env__every_key)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    /* Defaults: cpo/env.h's comments. */
    ck_assert_msg(load_env(&c, "", 0, "[strategy]\nschedule = every\nweigh = equal", &e) == 0,
                  "%s", tu_errstr(&e));
    ck_assert_int_eq(c->env.present, 0); /* an empty section has no key */
    ck_assert_uint_eq(c->env.window, 10);
    ck_assert_uint_eq(c->env.vol_window, 30);
    ck_assert_uint_eq(c->env.features, CPO_ENV_F_RETURNS | CPO_ENV_F_VOL | CPO_ENV_F_WEIGHTS |
                                           CPO_ENV_F_EQUITY);
    ck_assert_int_eq(c->env.reward, CPO_ENV_REWARD_LOG_RETURN);
    ck_assert_double_eq(c->env.sharpe_eta, 0.01);
    ck_assert_double_eq(c->env.max_weight, 1.0);
    ck_assert_double_eq(c->env.max_gross, 1.0);
    ck_assert_int_eq(c->env.long_only, 0);
    ck_assert_uint_eq(c->env.episode_steps, 0);
    ck_assert_int_eq(c->env.random_start, 1);
    cpo_config_free(c);
    c = NULL;
    ck_assert_msg(load_env(&c,
                           "window = 20\nvol_window = 60\nfeatures = funding, basis, margin, "
                           "returns\nreward = differential_sharpe\nsharpe_eta = 0.05\n"
                           "drawdown_penalty = 0.5\nturnover_penalty = 0.001\naction = deltas\n"
                           "max_weight = 0.4\nmax_gross = 2\nlong_only = yes\n"
                           "episode_steps = 256\nrandom_start = no\n",
                           0, "[strategy]\nschedule = every\nweigh = equal", &e) == 0,
                  "%s", tu_errstr(&e));
    ck_assert_int_eq(c->env.present, 1);
    ck_assert_uint_eq(c->env.window, 20);
    ck_assert_uint_eq(c->env.vol_window, 60);
    ck_assert_uint_eq(c->env.features,
                      CPO_ENV_F_FUNDING | CPO_ENV_F_BASIS | CPO_ENV_F_MARGIN | CPO_ENV_F_RETURNS);
    ck_assert_int_eq(c->env.reward, CPO_ENV_REWARD_DIFF_SHARPE);
    ck_assert_double_eq(c->env.sharpe_eta, 0.05);
    ck_assert_double_eq(c->env.drawdown_penalty, 0.5);
    ck_assert_double_eq(c->env.turnover_penalty, 0.001);
    ck_assert_int_eq(c->env.action, CPO_ENV_ACTION_DELTAS);
    ck_assert_double_eq(c->env.max_weight, 0.4);
    ck_assert_double_eq(c->env.max_gross, 2.0);
    ck_assert_int_eq(c->env.long_only, 1);
    ck_assert_uint_eq(c->env.episode_steps, 256);
    ck_assert_int_eq(c->env.random_start, 0);
    cpo_config_free(c);
    /* An env's config may leave [strategy] out (the agent replaces it);
     * a run's may not. */
    c = NULL;
    ck_assert_msg(load_env(&c, "window = 5\n", CPO_CONFIG_LOAD_ENV, "", &e) == 0, "%s",
                  tu_errstr(&e));
    ck_assert_uint_eq(c->run.n_stages, 0);
    cpo_config_free(c);
    c = NULL;
    ck_assert_int_eq(load_env(&c, "window = 5\n", 0, "", &e), CPO_ECONFIG);
    ck_assert_str_eq(e.msg, "[strategy] has no \"schedule\" (expected schedule = one of: every, "
                            "once, every_n, daily, weekly, monthly, drift)");
    /* Names of features both ways. */
    ck_assert_uint_eq(cpo_env_feature("greeks"), CPO_ENV_F_GREEKS);
    ck_assert_uint_eq(cpo_env_feature("Returns"), 0);
    ck_assert_str_eq(cpo_env_feature_name(CPO_ENV_F_MARGIN), "margin");
    ck_assert_ptr_null(cpo_env_feature_name(3));
}
END_TEST

/* Bad [env] keys: the key on line 9, the exact message. */
static const struct {
    const char *key;
    const char *msg;
} env_bad[] = {
    {"window = 0", "window = \"0\" is not valid (expected a number of bars in [1, 1000])"},
    {"window = 1001", "window = \"1001\" is not valid (expected a number of bars in [1, 1000])"},
    {"window = -3", "window = \"-3\" is not valid (expected a number of bars in [1, 1000])"},
    {"vol_window = 1", "vol_window = \"1\" is not valid (expected a number of bars in [2, 10000])"},
    {"features = returns, volume",
     "features = \"returns, volume\" is not valid (expected a comma-separated list of: returns, "
     "vol, funding, basis, weights, equity, margin, greeks)"},
    {"features = returns,, vol",
     "features = \"returns,, vol\" is not valid (expected a comma-separated list of: returns, "
     "vol, funding, basis, weights, equity, margin, greeks)"},
    {"features = vol, returns, vol",
     "features: \"vol\" is listed twice (expected each feature once)"},
    {"features = returns, greeks",
     "features: greeks needs an option book (expected an [options] section, or features "
     "without greeks)"},
    {"reward = sharpe", "reward = \"sharpe\" is not valid (expected log_return or "
                        "differential_sharpe)"},
    {"sharpe_eta = 1", "sharpe_eta = \"1\" is not valid (expected an adaptation rate in (0, 1))"},
    {"sharpe_eta = 0", "sharpe_eta = \"0\" is not valid (expected an adaptation rate in (0, 1))"},
    {"drawdown_penalty = -1",
     "drawdown_penalty = \"-1\" is not valid (expected a penalty coefficient in [0, 1000])"},
    {"turnover_penalty = nan",
     "turnover_penalty = \"nan\" is not valid (expected a penalty coefficient in [0, 1000])"},
    {"action = targets", "action = \"targets\" is not valid (expected weights or deltas)"},
    {"max_weight = 0", "max_weight = \"0\" is not valid (expected a weight bound in (0, 100])"},
    {"max_gross = 101",
     "max_gross = \"101\" is not valid (expected a bound on the sum of |weights| in (0, 100] (1: "
     "fully invested))"},
    {"long_only = maybe", "long_only = \"maybe\" is not valid (expected yes or no)"},
    {"episode_steps = 1.5",
     "episode_steps = \"1.5\" is not valid (expected 0 (the whole period) or a number of steps "
     "up to 1e8)"},
    {"random_start = 2", "random_start = \"2\" is not valid (expected yes or no)"},
    {"windows = 3",
     "unknown key \"windows\" in [env] (expected one of: window, vol_window, features, reward, "
     "sharpe_eta, drawdown_penalty, turnover_penalty, action, max_weight, max_gross, long_only, "
     "episode_steps, random_start)"},
};

START_TEST(test_config_env__bad_keys)
{
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    char keys[256], want[1024];
    snprintf(keys, sizeof keys, "%s\n", env_bad[_i].key);
    /* Refused in a run's config and in an env's alike. */
    for (unsigned flags = 0; flags <= CPO_CONFIG_LOAD_ENV; flags++) {
        ck_assert_int_eq(load_env(&c, keys, flags, "[strategy]\nschedule = every\nweigh = equal",
                                  &e),
                         CPO_ECONFIG);
        ck_assert_ptr_null(c);
        snprintf(want, sizeof want, "env.ini:9: %s", env_bad[_i].msg);
        ck_assert_str_eq(tu_errstr(&e), want);
    }
}
END_TEST

Suite *config_suite(void);
Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_config_good__every_key);
    tcase_add_test(tc, test_config_good__defaults);
    tcase_add_test(tc, test_config_env__every_key);
    tcase_add_loop_test(tc, test_config_env__bad_keys, 0, sizeof env_bad / sizeof env_bad[0]);
    tcase_add_loop_test(tc, test_config_bad__exact_messages, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_config_bad__stage_messages);
    tcase_add_test(tc, test_config_margin__brackets);
    tcase_add_test(tc, test_config_financing__rates);
    tcase_add_test(tc, test_config_futures__keys);
    tcase_add_test(tc, test_config_costs__future_fees);
    tcase_add_test(tc, test_config_report__charts);
    tcase_add_test(tc, test_config_bad__missing_file);
    tcase_add_test(tc, test_config_plugin__stages_from_a_shared_object);
    tcase_add_test(tc, test_config_plugin__bare_name_is_relative_to_the_config);
    tcase_add_test(tc, test_config_universe__coins_and_symbols);
    tcase_add_test(tc, test_config_universe__benchmark);
    tcase_add_test(tc, test_config_options__every_key);
    tcase_add_test(tc, test_config_options__universe_and_store);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
