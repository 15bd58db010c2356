/*
 * check_engine.c - the engine loop and the book, against hand calculations.
 *
 * Every market here is built by hand; every expected number is worked out
 * in the comment beside it from the formulas of the project's methods
 * notes (sections 0 and 1).  Two stages defined in this file drive the
 * engine: "at" (schedule: fire at listed steps) and "plan" (hedge: set
 * target quantities or weights "step:symbol:q" / "step:symbol:w%").
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/backtest.h"
#include "cpo/dataset.h"
#include "cpo/market.h"
#include "cpo/registry.h"
#include "cpo/run.h"
#include "cpo/synth.h"
#include "cpo/time.h"
#include "params.h"
#include "testutil.h"

/* --- test stages ---------------------------------------------------------- */

static const cpo_param_spec at_params[] = {
    {"steps", CPO_PARAM_LIST, "", 0, 0, NULL, "steps at which to fire"},
    {"every", CPO_PARAM_INT, "0", 0, 1e9, NULL, "also fire every N steps (0 = off)"},
};

static int at_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)st;
    (void)err;
    size_t t = h->step(v);
    int64_t every = h->param_int(p, "every");
    if (every > 0 && t % (size_t)every == 0)
        io->fire = 1;
    for (size_t k = 0; k < h->param_count(p, "steps"); k++)
        if ((size_t)atol(h->param_item(p, "steps", k)) == t)
            io->fire = 1;
    return 0;
}

static const cpo_stage_def at_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "at", CPO_ROLE_SCHEDULE, "fire at listed steps",
    at_params, 2, NULL, at_run, NULL};

static const cpo_param_spec plan_params[] = {
    {"plan", CPO_PARAM_LIST, "", 0, 0, NULL, "step:symbol:qty or step:symbol:weight%"},
    {"wave", CPO_PARAM_BOOL, "no", 0, 0, NULL, "weights 0.4*sin(step/7 + i) for every instrument"},
};

static int plan_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_stage_io *io, cpo_error *err)
{
    (void)st;
    (void)err;
    size_t t = h->step(v);
    if (h->param_int(p, "wave")) {
        for (size_t i = 0; i < io->n; i++) {
            double w = 0.4 * sin((double)t / 7.0 + (double)i);
            if (h->instrument(v, i)->kind == CPO_KIND_SPOT)
                w = fabs(w) / (double)io->n;
            io->weight[i] = w;
        }
        return 0;
    }
    for (size_t k = 0; k < h->param_count(p, "plan"); k++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", h->param_item(p, "plan", k));
        char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        if ((size_t)atol(buf) != t)
            continue;
        long i = h->find(v, c1 + 1);
        if (i < 0)
            continue;
        size_t len = strlen(c2 + 1);
        if (len && c2[1 + len - 1] == '%')
            io->weight[i] = atof(c2 + 1) / 100.0;
        else
            io->qty[i] = atof(c2 + 1);
    }
    return 0;
}

static const cpo_stage_def plan_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "plan", CPO_ROLE_HEDGE, "targets from a plan",
    plan_params, 2, NULL, plan_run, NULL};

/* --- fixtures ------------------------------------------------------------- */

typedef struct fixture {
    cpo_dataset *ds;
    cpo_market *m;
    cpo_run_spec spec;
    cpo_params *p_at, *p_plan;
    cpo_result *r;
    cpo_fill fill; /* the market's fill policy (CPO_FILL_NONE) */
} fixture;

static void fx_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    ck_assert_int_eq(cpo_dataset_new(&f->ds, NULL), 0);
    cpo_run_spec_init(&f->spec);
    f->spec.capital = 1000.0;
    for (int k = 0; k < 4; k++) {
        f->spec.costs.kind[k].taker_bps = 0.0;
        f->spec.costs.kind[k].imr = 1.0;
        f->spec.costs.kind[k].mmr = 0.005;
    }
    f->spec.costs.slippage_bps = 0.0;
}

static size_t fx_add(fixture *f, const char *sym, cpo_kind kind, cpo_settle settle, double cs,
                     const char *base, const char *quote)
{
    cpo_instrument in;
    cpo_instrument_init(&in, sym, kind, settle);
    in.contract_size = cs;
    snprintf(in.base, sizeof in.base, "%s", base);
    snprintf(in.quote, sizeof in.quote, "%s", quote);
    size_t i;
    ck_assert_int_eq(cpo_dataset_add(f->ds, &in, &i, NULL), 0);
    return i;
}

/* Bars as rows of {open, high, low, close}; index = close when idx != 0. */
static void fx_bars(fixture *f, size_t i, int64_t t0, int64_t step, const double (*ohlc)[4],
                    size_t n, int idx)
{
    cpo_bars *b = &f->ds->bars[i];
    b->bar_ms = step;
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(cpo_bars_append(b, t0 + (int64_t)k * step, ohlc[k][0], ohlc[k][1], ohlc[k][2],
                                         ohlc[k][3], 1e9, NAN, NAN, NAN, idx ? ohlc[k][3] : NAN),
                         0);
}

static void fx_run(fixture *f, const char *steps, const char *plan, int wave)
{
    cpo_error e;
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ms.fill = f->fill;
    ck_assert_msg(cpo_market_build(&f->m, f->ds, &ms, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(cpo_params_new(&f->p_at, &at_def, NULL), 0);
    ck_assert_int_eq(cpo_params_new(&f->p_plan, &plan_def, NULL), 0);
    if (steps && strchr(steps, '/'))
        ck_assert_int_eq(cpo_params_set(f->p_at, "every", steps + 1, NULL, 0), 0);
    else
        ck_assert_int_eq(cpo_params_set(f->p_at, "steps", steps, NULL, 0), 0);
    ck_assert_int_eq(cpo_params_set(f->p_plan, "plan", plan, NULL, 0), 0);
    if (wave)
        ck_assert_int_eq(cpo_params_set(f->p_plan, "wave", "yes", NULL, 0), 0);
    ck_assert_int_eq(cpo_params_finish(f->p_at, NULL), 0);
    ck_assert_int_eq(cpo_params_finish(f->p_plan, NULL), 0);
    f->spec.stages[0].def = &at_def;
    f->spec.stages[0].params = f->p_at;
    f->spec.stages[1].def = &plan_def;
    f->spec.stages[1].params = f->p_plan;
    f->spec.n_stages = 2;
    ck_assert_msg(cpo_backtest_run(&f->r, f->m, &f->spec, NULL, NULL, &e) == 0, "%s", tu_errstr(&e));
}

static void fx_fini(fixture *f)
{
    cpo_result_free(f->r);
    cpo_market_free(f->m);
    cpo_dataset_free(f->ds);
    cpo_params_free(f->p_at);
    cpo_params_free(f->p_plan);
}

/* The lines of every step add up to the change in equity. */
static void check_identity(const cpo_result *r, double capital, double tol_rel)
{
    double prev = capital;
    for (size_t t = 0; t < r->n_steps; t++) {
        double s = 0.0;
        for (int l = 0; l < CPO_PNL_RESIDUAL; l++)
            s += r->pnl[l][t];
        double d = r->equity[t] - prev;
        ck_assert_msg(fabs(d - s) <= tol_rel * fmax(fabs(r->equity[t]), 1.0),
                      "step %zu: change %.17g, lines %.17g", t, d, s);
        ck_assert_msg(fabs(r->pnl[CPO_PNL_RESIDUAL][t]) <= tol_rel * fmax(fabs(r->equity[t]), 1.0),
                      "step %zu: residual %.17g", t, r->pnl[CPO_PNL_RESIDUAL][t]);
        prev = r->equity[t];
    }
}

static const int64_t DAY0 = INT64_C(1704067200000); /* 2024-01-01T00:00Z */

/* --- tests ---------------------------------------------------------------- */

START_TEST(test_engine_linear_perp__pnl_fee_slippage_next_open)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    static const double bars[4][4] = {
        {100, 100, 100, 100}, {100, 112, 99, 110}, {110, 111, 100, 105}, {105, 106, 104, 105}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 4, 0);
    f.spec.costs.kind[CPO_KIND_PERP].taker_bps = 5.0;
    f.spec.costs.slippage_bps = 10.0;
    fx_run(&f, "0", "0:BTCUSDT-PERP:2", 0);
    const cpo_result *r = f.r;
    /* Decided at close 0, filled at open 1 = 100: px = 100 * (1 + 10e-4) =
     * 100.1; fee = 2 * 100.1 * 5e-4 = 0.1001; slippage = 2 * (100 - 100.1)
     * = -0.2; price P&L at close 1 = 2 * (110 - 100) = 20. */
    ck_assert_uint_eq(r->n_trades, 1);
    ck_assert_double_eq_tol(r->trades[0].px, 100.1, 1e-12);
    ck_assert_double_eq_tol(r->trades[0].fee, 0.1001, 1e-12);
    ck_assert_int_eq(r->trades[0].ts, DAY0 + CPO_MS_DAY);
    ck_assert_double_eq_tol(r->equity[0], 1000.0, 1e-12);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_SLIPPAGE][1], -0.2, 1e-12);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_FEES][1], -0.1001, 1e-12);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_PRICE][1], 20.0, 1e-12);
    ck_assert_double_eq_tol(r->equity[1], 1019.6999, 1e-9);
    /* Step 2: 2 * (105 - 110) = -10. */
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_PRICE][2], -10.0, 1e-12);
    ck_assert_double_eq_tol(r->equity[2], 1009.6999, 1e-9);
    /* The wallet: only the fee left it (margin is reserved, not paid). */
    ck_assert_double_eq_tol(r->cash[0 * r->n_steps + 1], 999.8999, 1e-9);
    ck_assert_double_eq(r->final_qty[i], 2.0);
    /* The bars carry no mark: the perp was marked at its close, and the
     * result says so. */
    ck_assert_int_eq(r->mark_from_close[i], 1);
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/*
 * A step without a bar of its own (BTCUSDT has none on day 2, ETHUSDT
 * does, so the grid has the day) carries the last close forward, but
 * nothing traded then: an order to fill there is dropped with an event,
 * and the next decision fills at the next real bar's open.
 */
START_TEST(test_engine_no_fill_on_a_carried_price)
{
    fixture f;
    fx_init(&f);
    f.fill = CPO_FILL_FORWARD;
    size_t b = fx_add(&f, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    size_t x = fx_add(&f, "ETHUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "ETH", "USDT");
    static const double btc[4][4] = {
        {100, 100, 100, 100}, {100, 101, 99, 100}, {120, 121, 119, 120}, {120, 121, 119, 120}};
    static const double eth[5][4] = {
        {10, 10, 10, 10}, {10, 10, 10, 10}, {10, 10, 10, 10}, {10, 10, 10, 10}, {10, 10, 10, 10}};
    cpo_bars *bb = &f.ds->bars[b];
    bb->bar_ms = CPO_MS_DAY;
    static const int day[4] = {0, 1, 3, 4};
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(cpo_bars_append(bb, DAY0 + day[k] * CPO_MS_DAY, btc[k][0], btc[k][1],
                                         btc[k][2], btc[k][3], 1e9, NAN, NAN, NAN, NAN),
                         0);
    fx_bars(&f, x, DAY0, CPO_MS_DAY, eth, 5, 0);
    fx_run(&f, "1,2", "1:BTCUSDT:1,2:BTCUSDT:1", 0);
    const cpo_result *r = f.r;
    ck_assert_uint_eq(f.m->filled[b * f.m->n_steps + 2], 1);
    /* Decided at close 1, to fill at open 2 (carried from close 1: 100):
     * dropped.  Decided again at close 2, filled at open 3 = 120. */
    ck_assert_uint_eq(r->n_trades, 1);
    ck_assert_int_eq(r->trades[0].ts, DAY0 + 3 * CPO_MS_DAY);
    ck_assert_double_eq(r->trades[0].px, 120.0);
    int dropped = 0;
    for (size_t k = 0; k < r->n_events; k++)
        if (r->events[k].kind == CPO_EVENT_NO_PRICE && r->events[k].step == 2 &&
            strstr(r->events[k].msg, "BTCUSDT: no bar at this step"))
            dropped++;
    ck_assert_int_eq(dropped, 1);
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_fill_at_close__same_bar)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    static const double bars[3][4] = {{100, 100, 100, 100}, {100, 112, 99, 110}, {110, 111, 100, 105}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 3, 0);
    f.spec.costs.kind[CPO_KIND_PERP].taker_bps = 5.0;
    f.spec.costs.slippage_bps = 10.0;
    f.spec.fill = CPO_FILL_THIS_CLOSE;
    fx_run(&f, "0", "0:BTCUSDT-PERP:2", 0);
    const cpo_result *r = f.r;
    /* Filled at close 0 = 100 (px 100.1), stamped at the bar's last ms;
     * step 0 carries the fee and slippage: 1000 - 0.2 - 0.1001. */
    ck_assert_uint_eq(r->n_trades, 1);
    ck_assert_int_eq(r->trades[0].ts, DAY0 + CPO_MS_DAY - 1);
    ck_assert_double_eq_tol(r->equity[0], 999.6999, 1e-9);
    /* Step 1: 2 * (110 - 100) = 20. */
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_PRICE][1], 20.0, 1e-12);
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_inverse_perp__coin_pnl_harmonic_entry_coin_fees)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTC-PERPETUAL", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 10.0, "BTC", "USD");
    static const double bars[4][4] = {{50000, 50000, 50000, 50000},
                                      {50000, 50000, 40000, 40000},
                                      {40000, 40000, 40000, 40000},
                                      {40000, 45000, 40000, 45000}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 4, 1);
    f.spec.costs.kind[CPO_KIND_PERP].taker_bps = 5.0;
    snprintf(f.spec.collateral, sizeof f.spec.collateral, "BTC");
    f.spec.capital = 50000.0;
    fx_run(&f, "0,1", "0:BTC-PERPETUAL:100,1:BTC-PERPETUAL:200", 0);
    const cpo_result *r = f.r;
    /* Capital 50000 USD at 50000 = 1 BTC of collateral. */
    ck_assert_uint_eq(r->n_ccy, 2);
    ck_assert_str_eq(r->ccy[1], "BTC");
    ck_assert_double_eq_tol(r->cash[1 * r->n_steps + 0], 1.0, 1e-15);
    /* Step 1: buy 100 contracts at 50000; fee in coin = 100 * 10 / 50000 *
     * 5e-4 = 0.00001 BTC (0.4 USD at 40000).  Coin P&L at 40000 = 100 * 10
     * * (1/50000 - 1/40000) = -0.005 BTC = -200 USD.  Revaluation of the 1
     * BTC of step 0 = 1 * (40000 - 50000) = -10000.  Equity = (1 - 0.00001
     * - 0.005) * 40000 = 39799.6. */
    ck_assert_double_eq_tol(r->trades[0].fee, 0.00001, 1e-16);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_FEES][1], -0.4, 1e-9);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_PRICE][1], -200.0, 1e-9);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_REVALUATION][1], -10000.0, 1e-9);
    ck_assert_double_eq_tol(r->equity[1], 39799.6, 1e-9);
    /* Step 2: buy 100 more at 40000; fee 100 * 10 / 40000 * 5e-4 =
     * 0.0000125 BTC.  Harmonic entry = 200 / (100/50000 + 100/40000) =
     * 44444.44...  Step 3 at 45000: uPnL = 2000 * (1/44444.44 - 1/45000) =
     * 2000 * (0.0000225 - 0.0000222...) = 0.000555... BTC; cash = 1 -
     * 0.00001 - 0.0000125 = 0.9999775; equity = (0.9999775 + 0.000555556)
     * * 45000 = 44998.9875 + 25 = 45023.9875. */
    ck_assert_uint_eq(r->n_trades, 2);
    ck_assert_double_eq_tol(r->trades[1].fee, 0.0000125, 1e-16);
    ck_assert_double_eq_tol(r->equity[3], 45023.9875, 1e-8);
    ck_assert_double_eq_tol(r->cash[1 * r->n_steps + 3], 0.9999775, 1e-15);
    check_identity(r, 50000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_inverse_perp__harmonic_entry_realised)
{
    /* Buy 100 at 50000, 100 at 40000 (entry 44444.44), then sell all 200
     * at 44444.44...: realised = 0 by the harmonic mean, so the coin cash
     * only loses the three fees.  Fees: 100*10/50000*5e-4 = 0.00001,
     * 100*10/40000*5e-4 = 0.0000125, 200*10/44444.44*5e-4 = 0.0000225. */
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTC-PERPETUAL", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 10.0, "BTC", "USD");
    double ep = 200.0 / (100.0 / 50000.0 + 100.0 / 40000.0);
    double bars[4][4] = {{50000, 50000, 50000, 50000},
                         {50000, 50000, 40000, 40000},
                         {40000, 40000, 40000, 40000},
                         {ep, ep, ep, ep}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, (const double(*)[4])bars, 4, 1);
    f.spec.costs.kind[CPO_KIND_PERP].taker_bps = 5.0;
    snprintf(f.spec.collateral, sizeof f.spec.collateral, "BTC");
    f.spec.capital = 50000.0;
    fx_run(&f, "0,1,2", "0:BTC-PERPETUAL:100,1:BTC-PERPETUAL:200,2:BTC-PERPETUAL:0", 0);
    const cpo_result *r = f.r;
    ck_assert_uint_eq(r->n_trades, 3);
    ck_assert_double_eq(r->final_qty[i], 0.0);
    ck_assert_double_eq_tol(r->cash[1 * r->n_steps + 3], 1.0 - 0.00001 - 0.0000125 - 0.0000225, 1e-15);
    check_identity(r, 50000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

static void funding_case(cpo_fill_at fill, double *out)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    static const double bars[4][4] = {
        {100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 100, 100}};
    int64_t h8 = 8 * CPO_MS_HOUR;
    fx_bars(&f, i, DAY0, h8, bars, 4, 0);
    cpo_funding *fu = &f.ds->funding[i];
    fu->interval_ms = h8;
    /* At the open of step 1 exactly; 5 ms after the open of step 2; at
     * the open of step 3 (negative: shorts pay longs). */
    ck_assert_int_eq(cpo_funding_append(fu, DAY0 + h8, 0.001, 100.0, NAN), 0);
    ck_assert_int_eq(cpo_funding_append(fu, DAY0 + 2 * h8 + 5, 0.001, 100.0, NAN), 0);
    ck_assert_int_eq(cpo_funding_append(fu, DAY0 + 3 * h8, -0.002, 100.0, NAN), 0);
    f.spec.fill = fill;
    fx_run(&f, "0", "0:BTCUSDT-PERP:1", 0);
    for (int t = 0; t < 4; t++)
        out[t] = f.r->pnl[CPO_PNL_FUNDING][t];
    check_identity(f.r, 1000.0, 1e-12);
    fx_fini(&f);
}

START_TEST(test_engine_funding__sign_and_boundary)
{
    double fl[4];
    /* Next-open fill at 08:00:00.000 is not before the event stamped
     * 08:00:00.000: nothing paid at step 1.  At 16:00:00.005 the long of 1
     * pays 1 * 100 * 0.001 = 0.1; at 00:00 of the next day it receives
     * 1 * 100 * 0.002 = 0.2 (negative rate). */
    funding_case(CPO_FILL_NEXT_OPEN, fl);
    ck_assert_double_eq(fl[0], 0.0);
    ck_assert_double_eq(fl[1], 0.0);
    ck_assert_double_eq_tol(fl[2], -0.1, 1e-12);
    ck_assert_double_eq_tol(fl[3], 0.2, 1e-12);
    /* A fill at the close of step 0 is stamped 07:59:59.999, before the
     * 08:00 event, so step 1 pays 0.1 too. */
    funding_case(CPO_FILL_THIS_CLOSE, fl);
    ck_assert_double_eq_tol(fl[1], -0.1, 1e-12);
    ck_assert_double_eq_tol(fl[2], -0.1, 1e-12);
    ck_assert_double_eq_tol(fl[3], 0.2, 1e-12);
}
END_TEST

START_TEST(test_engine_funding__short_receives_inverse_in_coin)
{
    /* Short 1000 contracts of 10 USD (10000 USD) at 50000; hourly interest
     * 0.0001 with index 50000: the short receives 10000/50000 * 0.0001 =
     * 0.00002 BTC = 1 USD at 50000. */
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTC-PERPETUAL", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 10.0, "BTC", "USD");
    static const double bars[3][4] = {{50000, 50000, 50000, 50000}, {50000, 50000, 50000, 50000},
                                      {50000, 50000, 50000, 50000}};
    fx_bars(&f, i, DAY0, CPO_MS_HOUR, bars, 3, 1);
    ck_assert_int_eq(cpo_funding_append(&f.ds->funding[i], DAY0 + 2 * CPO_MS_HOUR, 0.0001, NAN, 50000.0), 0);
    snprintf(f.spec.collateral, sizeof f.spec.collateral, "BTC");
    f.spec.capital = 50000.0;
    fx_run(&f, "0", "0:BTC-PERPETUAL:-1000", 0);
    ck_assert_double_eq_tol(f.r->pnl[CPO_PNL_FUNDING][2], 1.0, 1e-9);
    ck_assert_double_eq_tol(f.r->cash[1 * f.r->n_steps + 2], 1.00002, 1e-15);
    check_identity(f.r, 50000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_funding__stamps_snapped_to_the_hour)
{
    /* Binance stamps funding a few ms after the hour (961 of 2,761 BTCUSDT
     * stamps).  An event at 08:00:00.003 is the 08:00 payment: the fill at
     * the 08:00 open was not held before it and pays nothing; one at
     * 16:02:00 (2 min off) is paid as stamped and counted off the grid. */
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    static const double bars[4][4] = {
        {100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 100, 100}};
    int64_t h8 = 8 * CPO_MS_HOUR;
    fx_bars(&f, i, DAY0, h8, bars, 4, 0);
    cpo_funding *fu = &f.ds->funding[i];
    ck_assert_int_eq(cpo_funding_append(fu, DAY0 + h8 + 3, 0.001, 100.0, NAN), 0);
    ck_assert_int_eq(cpo_funding_append(fu, DAY0 + 2 * h8 + 2 * CPO_MS_MINUTE, 0.001, 100.0, NAN),
                     0);
    fx_run(&f, "0", "0:BTCUSDT-PERP:1", 0);
    ck_assert_double_eq(f.r->pnl[CPO_PNL_FUNDING][1], 0.0);
    ck_assert_double_eq_tol(f.r->pnl[CPO_PNL_FUNDING][2], -0.1, 1e-12);
    ck_assert_uint_eq(f.r->n_funding_off_grid, 1);
    check_identity(f.r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_financing__cash_yield_and_short_borrow)
{
    /* Daily steps, flat 100.  cash.USD 3.65 % a year = 0.0001 a day on
     * positive balances; borrow.BTC 36.5 % = 0.001 a day on the coins a
     * spot short owes, at the mark.  Short 2 BTC at the open of day 1. */
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    static const double bars[3][4] = {{100, 100, 100, 100}, {100, 100, 100, 100},
                                      {100, 100, 100, 100}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 3, 0);
    cpo_financing_spec *fs = &f.spec.financing;
    fs->enabled = 1;
    fs->n = 2;
    snprintf(fs->ccy[0], sizeof fs->ccy[0], "USD");
    fs->cash[0].constant = 0.0365;
    snprintf(fs->ccy[1], sizeof fs->ccy[1], "BTC");
    fs->borrow[1].constant = 0.365;
    fs->rf_kind = CPO_RF_CASH;
    fx_run(&f, "0", "0:BTCUSDT:-2", 0);
    const cpo_result *r = f.r;
    ck_assert_int_eq(r->has_financing, 1);
    /* Day 0: 1000 x 0.0001 = 0.1.  Day 1: the sale brings 200, cash
     * 1200.1 earns 0.12001; the short owes 2 x 100 x 0.001 = 0.2. */
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_FINANCING][0], 0.1, 1e-12);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_FINANCING][1], 0.12001 - 0.2, 1e-12);
    ck_assert_double_eq_tol(r->pnl_instr[i * CPO_PNL_COUNT + CPO_PNL_FINANCING], -0.4, 1e-12);
    /* rf = cash: the cash rate compounded over a day. */
    ck_assert_double_eq_tol(r->rf[1], pow(1.0365, 1.0 / 365.0) - 1.0, 1e-15);
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_liquidation__price_event_and_charge)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    static const double bars[4][4] = {
        {100, 100, 100, 100}, {100, 101, 95, 99}, {99, 99, 90, 92}, {92, 93, 91, 92}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 4, 0);
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.1; /* 10x */
    f.spec.costs.kind[CPO_KIND_PERP].mmr = 0.005;
    /* Isolated, on the bar's last-trade low (the data has no mark). */
    f.spec.margin.mode = CPO_MARGIN_ISOLATED;
    f.spec.margin.liq_price = CPO_LIQ_WICK;
    fx_run(&f, "0", "0:BTCUSDT-PERP:50", 0);
    const cpo_result *r = f.r;
    /* Long 50 at 100 with isolated margin WB = 50 * 100 * 0.1 = 500.
     * LP = (WB - Q*EP) / (Q*MMR - Q) = (500 - 5000) / (0.25 - 50)
     *    = 4500 / 49.75 = 90.452261306532663.
     * Step 1: low 95 > LP; price P&L 50 * (99 - 100) = -50.
     * Step 2: low 90 <= LP: closed at LP; price P&L 50 * (LP - 99) =
     * -427.38693467; the margin left = MM = 50 * LP * 0.005 = 22.613065
     * is below the clearance fee 1.25 % x 50 x LP = 56.5: all of it is
     * the fee; the account loses its isolated margin, equity = 1000 - 500
     * = 500. */
    double lp = 4500.0 / 49.75;
    ck_assert_double_eq_tol(r->equity[1], 950.0, 1e-9);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_PRICE][2], 50.0 * (lp - 99.0), 1e-9);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_LIQUIDATION][2], -50.0 * lp * 0.005, 1e-9);
    ck_assert_double_eq_tol(r->equity[2], 500.0, 1e-9);
    ck_assert_double_eq(r->final_qty[i], 0.0);
    ck_assert_uint_eq(r->n_events, 1);
    ck_assert_int_eq(r->events[0].kind, CPO_EVENT_LIQUIDATION);
    ck_assert_int_eq(r->events[0].step, 2);
    ck_assert_uint_eq(r->n_trades, 2);
    ck_assert_int_eq(r->trades[1].liquidation, 1);
    ck_assert_double_eq_tol(r->trades[1].px, lp, 1e-9);
    ck_assert_double_eq_tol(r->liquidation_fees, 50.0 * lp * 0.005, 1e-9);
    ck_assert_double_eq(r->insurance_covered, 0.0);
    ck_assert_uint_eq(r->n_liquidations, 1);
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_liquidation__short_on_the_high)
{
    /* Short 50 at 100, 10x: LP = (WB + Q*EP) / (Q*MMR + Q) = 5500 / 50.25
     * = 109.452736; the high of step 2 (110) breaches it. */
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    static const double bars[4][4] = {
        {100, 100, 100, 100}, {100, 105, 99, 104}, {104, 110, 103, 109}, {109, 109, 109, 109}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 4, 0);
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.1;
    f.spec.margin.mode = CPO_MARGIN_ISOLATED;
    f.spec.margin.liq_price = CPO_LIQ_WICK;
    fx_run(&f, "0", "0:BTCUSDT-PERP:-50", 0);
    double lp = 5500.0 / 50.25;
    ck_assert_uint_eq(f.r->n_events, 1);
    ck_assert_double_eq_tol(f.r->trades[1].px, lp, 1e-9);
    ck_assert_double_eq_tol(f.r->equity[2], 500.0, 1e-9);
    check_identity(f.r, 1000.0, 1e-12);
    (void)i;
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_lot_rounding__and_cash_buffer)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    f.ds->instr[i].lot_size = 0.001;
    static const double bars[3][4] = {{81, 81, 81, 81}, {81, 81, 81, 81}, {81, 81, 81, 81}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 3, 0);
    f.spec.cash_buffer = 0.1;
    fx_run(&f, "0", "0:BTCUSDT:100%", 0);
    /* Target 100% of 1000 less a 10% buffer = 900 / 81 = 11.111111...
     * contracts, rounded down to the lot of 0.001 = 11.111. */
    ck_assert_uint_eq(f.r->n_trades, 1);
    ck_assert_double_eq_tol(f.r->final_qty[i], 11.111, 1e-12);
    ck_assert_double_eq_tol(f.r->cash[1], 1000.0 - 11.111 * 81.0, 1e-9);
    check_identity(f.r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* An inverse perpetual without a lot size in the data trades whole
 * contracts with lot_rounding = yes (issue 20: -9999.9999999999982
 * contracts came out).  Capital 50000 USD held as 1 BTC at 50000; target
 * weight 12.34567 % of 50000 USD = 6172.835 USD = 617.2835 contracts of 10
 * USD, rounded toward zero to 617; without rounding the 617.2835 stays. */
START_TEST(test_engine_lot_rounding__whole_contracts_of_inverse_perps)
{
    for (int round = 1; round >= 0; round--) {
        fixture f;
        fx_init(&f);
        size_t i = fx_add(&f, "BTC-PERPETUAL", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 10.0, "BTC", "USD");
        static const double bars[3][4] = {
            {50000, 50000, 50000, 50000}, {50000, 50000, 50000, 50000}, {50000, 50000, 50000, 50000}};
        fx_bars(&f, i, DAY0, CPO_MS_DAY, bars, 3, 1);
        snprintf(f.spec.collateral, sizeof f.spec.collateral, "BTC");
        f.spec.capital = 50000.0;
        f.spec.costs.lot_rounding = round;
        fx_run(&f, "0", "0:BTC-PERPETUAL:12.34567%", 0);
        ck_assert_uint_eq(f.r->n_trades, 1);
        if (round) {
            ck_assert_double_eq(f.r->trades[0].qty, 617.0);
            ck_assert_double_eq(f.r->final_qty[i], 617.0);
        } else {
            ck_assert_double_eq_tol(f.r->final_qty[i], 617.2835, 1e-9);
        }
        fx_fini(&f);
    }
}
END_TEST

START_TEST(test_engine_orders__sells_before_buys_and_cash_cap)
{
    /* Two spot coins at 100 and 50, fee 10 bps.  Step 0: 99% in A = 990 /
     * 100 = 9.9 A, filled at open 1: cash 1000 - 990 - 0.99 = 9.01.  Step
     * 1: all in B: equity 999.01 -> 19.9802 B, and A to 0.  At open 2 the
     * sale of A comes first (cash 9.01 + 990 - 0.99 = 998.02); the buy of
     * 19.9802 B would cost 19.9802 * 50 * 1.001 = 1000.00 > 998.02, so it is
     * cut (an event says so) and cash never goes below zero. */
    fixture f;
    fx_init(&f);
    size_t a = fx_add(&f, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "A", "USDT");
    size_t b = fx_add(&f, "BUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "B", "USDT");
    static const double pa[4][4] = {{100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 100, 100},
                                    {100, 100, 100, 100}};
    static const double pb[4][4] = {{50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}};
    fx_bars(&f, a, DAY0, CPO_MS_DAY, pa, 4, 0);
    fx_bars(&f, b, DAY0, CPO_MS_DAY, pb, 4, 0);
    f.spec.costs.kind[CPO_KIND_SPOT].taker_bps = 10.0;
    f.spec.costs.lot_rounding = 0;
    fx_run(&f, "0,1", "0:AUSDT:99%,1:AUSDT:0%,1:BUSDT:100%", 0);
    const cpo_result *r = f.r;
    ck_assert_uint_eq(r->n_trades, 3);
    /* The sale of A is the first fill of step 2. */
    ck_assert_int_eq(r->trades[1].instr, a);
    ck_assert_double_lt(r->trades[1].qty, 0.0);
    ck_assert_int_eq(r->trades[2].instr, b);
    for (size_t t = 0; t < r->n_steps; t++)
        ck_assert_double_ge(r->cash[t], -1e-9);
    ck_assert_uint_ge(r->n_events, 1);
    ck_assert_int_eq(r->events[0].kind, CPO_EVENT_MARGIN);
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_identity__synthetic_long_run_and_determinism)
{
    /* 6 spot coins and their perps with funding, weights changed every 24
     * hourly steps for 2000 steps, fees, slippage and impact on: every
     * step's lines add up to the change in equity to 1e-9 relative, and
     * two runs give identical bytes. */
    cpo_result *rr[2] = {NULL, NULL};
    for (int run = 0; run < 2; run++) {
        fixture f;
        fx_init(&f);
        cpo_synth_spec s;
        cpo_synth_spec_init(&s);
        s.n_assets = 6;
        s.n_steps = 2000;
        s.perps = 1;
        ck_assert_int_eq(cpo_synth_generate(f.ds, &s, NULL), 0);
        f.spec.capital = 1e6;
        f.spec.costs.kind[CPO_KIND_SPOT].taker_bps = 10.0;
        f.spec.costs.kind[CPO_KIND_PERP].taker_bps = 5.0;
        f.spec.costs.kind[CPO_KIND_PERP].imr = 0.2;
        f.spec.costs.slippage_bps = 3.0;
        f.spec.costs.impact_coef = 0.1;
        fx_run(&f, "/24", "", 1);
        ck_assert_uint_gt(f.r->n_trades, 100);
        check_identity(f.r, 1e6, 1e-9);
        /* The synthetic perps have a mark column: no approximation. */
        for (size_t i = 0; i < f.r->n_instr; i++)
            ck_assert_int_eq(f.r->mark_from_close[i], 0);
        double funding = 0.0;
        for (size_t t = 0; t < f.r->n_steps; t++)
            funding += f.r->pnl[CPO_PNL_FUNDING][t];
        ck_assert_double_ne(funding, 0.0);
        rr[run] = f.r;
        f.r = NULL;
        fx_fini(&f);
    }
    ck_assert_uint_eq(rr[0]->n_steps, rr[1]->n_steps);
    ck_assert_int_eq(memcmp(rr[0]->equity, rr[1]->equity, rr[0]->n_steps * sizeof(double)), 0);
    ck_assert_uint_eq(rr[0]->n_trades, rr[1]->n_trades);
    /* Field by field: the structs' padding bytes are whatever the heap held. */
    for (size_t k = 0; k < rr[0]->n_trades; k++) {
        const cpo_trade *a = &rr[0]->trades[k], *b = &rr[1]->trades[k];
        ck_assert_msg(a->ts == b->ts && a->step == b->step && a->instr == b->instr &&
                          !memcmp(&a->qty, &b->qty, sizeof a->qty) &&
                          !memcmp(&a->px, &b->px, sizeof a->px) &&
                          !memcmp(&a->ref_px, &b->ref_px, sizeof a->ref_px) &&
                          !memcmp(&a->fee, &b->fee, sizeof a->fee) &&
                          !memcmp(&a->slippage, &b->slippage, sizeof a->slippage) &&
                          a->liquidation == b->liquidation,
                      "trade %zu differs between two runs", k);
    }
    cpo_result_free(rr[0]);
    cpo_result_free(rr[1]);
}
END_TEST

/* A stage that fails the run if the host ever shows it more than steps
 * 0..t: series and times of length t + 1 whose last value is the close of
 * step t as the data has it (close = t + 1 here), and funding events all
 * stamped before the end of bar t. */
static int probe_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)st;
    (void)p;
    (void)io;
    size_t t = h->step(v), len = 0, tl = 0;
    const double *c = h->series(v, CPO_F_CLOSE, 0, &len);
    const int64_t *ts = h->times(v, &tl);
    const int64_t *fts;
    const double *fr;
    size_t nf = h->funding(v, 0, &fts, &fr);
    if (len != t + 1 || tl != t + 1 || c[t] != (double)(t + 1) || ts[t] != h->now(v))
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0, "step %zu: saw %zu values", t, len);
    for (size_t k = 0; k < nf; k++)
        if (fts[k] >= h->now(v) + h->bar_ms(v))
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0, "step %zu: saw a future event", t);
    if (nf != t + 1) /* one event per bar, at the bar's middle */
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0, "step %zu: saw %zu events", t, nf);
    io->fire = 1;
    return 0;
}

static const cpo_stage_def probe_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "probe", CPO_ROLE_SCHEDULE, "look-ahead probe",
    NULL, 0, NULL, probe_run, NULL};

START_TEST(test_engine_view__no_look_ahead)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "AUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "A", "USDT");
    static const double pa[5][4] = {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}, {4, 4, 4, 4}, {5, 5, 5, 5}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, pa, 5, 0);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(cpo_funding_append(&f.ds->funding[i], DAY0 + k * CPO_MS_DAY + CPO_MS_DAY / 2,
                                            0.0001, NAN, NAN), 0);
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ck_assert_int_eq(cpo_market_build(&f.m, f.ds, &ms, NULL), 0);
    cpo_params *pp;
    ck_assert_int_eq(cpo_params_new(&pp, &probe_def, NULL), 0);
    f.spec.stages[0].def = &probe_def;
    f.spec.stages[0].params = pp;
    f.spec.n_stages = 1;
    cpo_error e;
    ck_assert_msg(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(f.r->n_rebalances, 5);
    cpo_params_free(pp);
    fx_fini(&f);
}
END_TEST

/* Stages that check the mark's high and low as the host shows them: with
 * no mark klines in the market, NULL and length 0 (every step); with them,
 * steps 0..t, the high being close + 0.5 here and the low close - 0.5. */
static int mark_probe(const cpo_host *h, const cpo_view *v, int want, cpo_stage_io *io,
                      cpo_error *err)
{
    size_t t = h->step(v), lc = 0, lh = 1, ll = 1;
    const double *c = h->series(v, CPO_F_CLOSE, 0, &lc);
    const double *hi = h->series(v, CPO_F_MARK_HIGH, 0, &lh);
    const double *lo = h->series(v, CPO_F_MARK_LOW, 0, &ll);
    int ok = want ? hi && lo && lh == t + 1 && ll == t + 1 && hi[t] == c[t] + 0.5 &&
                        lo[t] == c[t] - 0.5
                  : !hi && !lo && lh == 0 && ll == 0;
    if (!ok)
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0, "step %zu: mark high/low %s, length %zu",
                             t, hi ? "shown" : "NULL", lh);
    io->fire = 1;
    return 0;
}

static int probe_no_mark_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                             cpo_stage_io *io, cpo_error *err)
{
    (void)st;
    (void)p;
    return mark_probe(h, v, 0, io, err);
}

static int probe_mark_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                          cpo_stage_io *io, cpo_error *err)
{
    (void)st;
    (void)p;
    return mark_probe(h, v, 1, io, err);
}

static const cpo_stage_def probe_no_mark_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "probe_no_mark", CPO_ROLE_SCHEDULE,
    "mark high/low absent", NULL, 0, NULL, probe_no_mark_run, NULL};
static const cpo_stage_def probe_mark_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "probe_mark", CPO_ROLE_SCHEDULE,
    "mark high/low present", NULL, 0, NULL, probe_mark_run, NULL};

START_TEST(test_engine_view__mark_high_low)
{
    for (int with = 0; with < 2; with++) {
        fixture f;
        fx_init(&f);
        size_t i = fx_add(&f, "AUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "A", "USDT");
        cpo_bars *b = &f.ds->bars[i];
        b->bar_ms = CPO_MS_DAY;
        for (int k = 0; k < 5; k++) {
            double c = 10 + k;
            ck_assert_int_eq(cpo_bars_append(b, DAY0 + k * CPO_MS_DAY, c, c + 1, c - 1, c, 1e9, c,
                                             with ? c + 0.5 : NAN, with ? c - 0.5 : NAN, NAN),
                             0);
        }
        cpo_market_spec ms;
        cpo_market_spec_init(&ms);
        ck_assert_int_eq(cpo_market_build(&f.m, f.ds, &ms, NULL), 0);
        ck_assert_int_eq(f.m->col[CPO_F_MARK_HIGH] != NULL, with);
        const cpo_stage_def *def = with ? &probe_mark_def : &probe_no_mark_def;
        cpo_params *pp;
        ck_assert_int_eq(cpo_params_new(&pp, def, NULL), 0);
        f.spec.stages[0].def = def;
        f.spec.stages[0].params = pp;
        f.spec.n_stages = 1;
        cpo_error e;
        ck_assert_msg(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e) == 0, "%s",
                      tu_errstr(&e));
        ck_assert_uint_eq(f.r->n_rebalances, 5);
        cpo_params_free(pp);
        fx_fini(&f);
    }
}
END_TEST

START_TEST(test_engine_bad_input__refused)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "A", "USDT");
    static const double pa[2][4] = {{1, 1, 1, 1}, {2, 2, 2, 2}};
    fx_bars(&f, i, DAY0, CPO_MS_DAY, pa, 2, 0);
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ck_assert_int_eq(cpo_market_build(&f.m, f.ds, &ms, NULL), 0);
    cpo_error e;
    f.spec.capital = -5;
    ck_assert_int_eq(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e), CPO_ERANGE);
    ck_assert_str_eq(tu_errstr(&e), "capital -5 is not valid (expected a positive amount)");
    f.spec.capital = 1000;
    f.spec.start_ms = DAY0 + 10 * CPO_MS_DAY;
    ck_assert_int_eq(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e), CPO_ERANGE);
    ck_assert_str_eq(tu_errstr(&e),
                     "the period holds no bar of the data (expected start <= end within the data)");
    f.spec.start_ms = CPO_TIME_NONE;
    snprintf(f.spec.collateral, sizeof f.spec.collateral, "ETH");
    ck_assert_int_eq(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e), CPO_EDATA);
    ck_assert_str_eq(tu_errstr(&e), "no ETH price at the first step to convert the capital "
                                    "(expected an instrument quoting ETH in dollars)");
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_targets__net_of_cash_buffer)
{
    /* Two flat coins, equal weight, a 10% cash buffer and a drift band of
     * 5% relative: after the first fill each weight is 0.5 * 0.9 = 0.45,
     * which is the target as the host reports it, so the band never fires
     * again: 1 rebalance in 8 steps. */
    fixture f;
    fx_init(&f);
    size_t a = fx_add(&f, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "A", "USDT");
    size_t b = fx_add(&f, "BUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "B", "USDT");
    double flat[8][4];
    for (int k = 0; k < 8; k++)
        flat[k][0] = flat[k][1] = flat[k][2] = flat[k][3] = 10.0;
    fx_bars(&f, a, DAY0, CPO_MS_DAY, (const double(*)[4])flat, 8, 0);
    fx_bars(&f, b, DAY0, CPO_MS_DAY, (const double(*)[4])flat, 8, 0);
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ck_assert_int_eq(cpo_market_build(&f.m, f.ds, &ms, NULL), 0);
    cpo_registry *reg = NULL;
    ck_assert_int_eq(cpo_registry_new(&reg, NULL), 0);
    const cpo_stage_def *drift = cpo_registry_find(reg, CPO_ROLE_SCHEDULE, "drift");
    const cpo_stage_def *equal = cpo_registry_find(reg, CPO_ROLE_WEIGH, "equal");
    ck_assert_ptr_nonnull(drift);
    ck_assert_ptr_nonnull(equal);
    cpo_params *pd, *pe;
    ck_assert_int_eq(cpo_params_new(&pd, drift, NULL), 0);
    ck_assert_int_eq(cpo_params_new(&pe, equal, NULL), 0);
    ck_assert_int_eq(cpo_params_set(pd, "abs", "0", NULL, 0), 0);
    ck_assert_int_eq(cpo_params_set(pd, "rel", "0.05", NULL, 0), 0);
    ck_assert_int_eq(cpo_params_finish(pd, NULL), 0);
    ck_assert_int_eq(cpo_params_finish(pe, NULL), 0);
    f.spec.stages[0].def = drift;
    f.spec.stages[0].params = pd;
    f.spec.stages[1].def = equal;
    f.spec.stages[1].params = pe;
    f.spec.n_stages = 2;
    f.spec.cash_buffer = 0.1;
    cpo_error e;
    ck_assert_msg(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(f.r->n_rebalances, 1);
    ck_assert_uint_eq(f.r->n_trades, 2);
    cpo_params_free(pd);
    cpo_params_free(pe);
    cpo_registry_free(reg);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_sizing__at_this_steps_price_when_not_held)
{
    /* B is not held until step 2; its price goes 10 -> 20 -> 40.  The
     * order decided at step 2 is sized at step 2's close (40): 50% of
     * 1000 / 40 = 12.5 B (not 500 / 10 = 50 with the first price seen). */
    fixture f;
    fx_init(&f);
    size_t a = fx_add(&f, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "A", "USDT");
    size_t b = fx_add(&f, "BUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "B", "USDT");
    static const double pa[4][4] = {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}};
    static const double pb[4][4] = {{10, 10, 10, 10}, {20, 20, 20, 20}, {40, 40, 40, 40}, {40, 40, 40, 40}};
    fx_bars(&f, a, DAY0, CPO_MS_DAY, pa, 4, 0);
    fx_bars(&f, b, DAY0, CPO_MS_DAY, pb, 4, 0);
    fx_run(&f, "2", "2:BUSDT:50%", 0);
    ck_assert_uint_eq(f.r->n_trades, 1);
    ck_assert_double_eq_tol(f.r->trades[0].qty, 12.5, 1e-12);
    ck_assert_double_eq_tol(f.r->final_qty[b], 12.5, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_margin__unrealised_pnl_is_available)
{
    /* Short 5 perp at 100, imr 1, cross.  The perp falls to 50: the
     * short's initial margin at the mark is 5 x 50 = 250, so the wallet's
     * 1000 less it leaves 750 for spot (its unrealised gain of 250 is
     * collateral for margined orders, not cash): a spot buy of 12 at 50 =
     * 600 fills whole. */
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "PUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "P", "USDT");
    size_t sp = fx_add(&f, "SUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "S", "USDT");
    static const double pp[4][4] = {{100, 100, 100, 100}, {100, 100, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}};
    static const double ps[4][4] = {{50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}};
    fx_bars(&f, p, DAY0, CPO_MS_DAY, pp, 4, 0);
    fx_bars(&f, sp, DAY0, CPO_MS_DAY, ps, 4, 0);
    fx_run(&f, "0,1", "0:PUSDT-PERP:-5,1:SUSDT:12", 0);
    ck_assert_uint_eq(f.r->n_events, 0);
    ck_assert_double_eq_tol(f.r->final_qty[sp], 12.0, 1e-12);
    check_identity(f.r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST


/* Exposures count coin balances: 1 BTC of collateral (50,000 USD at the
 * index 50,000) hedged by a short of 5,000 inverse contracts of 10 USD
 * (50,000 USD): the book's net exposure is 1 x 50,000 - 50,000 = 0 (it was
 * -1.0 of equity when coin balances were left out), its gross 2.0. */
START_TEST(test_engine_exposure__hedged_coin_collateral_is_flat)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_add(&f, "BTC-PERPETUAL", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 10.0, "BTC", "USD");
    static const double bars[3][4] = {{50000, 50000, 50000, 50000}, {50000, 50000, 50000, 50000},
                                      {50000, 50000, 50000, 50000}};
    fx_bars(&f, i, DAY0, CPO_MS_HOUR, bars, 3, 1);
    snprintf(f.spec.collateral, sizeof f.spec.collateral, "BTC");
    f.spec.capital = 50000.0;
    fx_run(&f, "0", "0:BTC-PERPETUAL:-5000", 0);
    ck_assert_double_eq(f.r->final_qty[i], -5000.0);
    ck_assert_double_eq_tol(f.r->net[2], 0.0, 1e-12);
    ck_assert_double_eq_tol(f.r->gross[2], 2.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* --- margin (engine/margin.c) ---------------------------------------------- */

/* A cross pool below maintenance at the close is liquidated whole; spot
 * holdings are not collateral and stay.  Hand calculation: cash after the
 * fills 1000 - 400 (spot) = 600, long 20 perp at 100, imr 0.1, one bracket
 * at mmr 0.005: MB = 600 + 20 (P - 100), MM = 0.1 P; MB <= MM for P <=
 * 1400 / 19.9 = 70.35.  The close of step 3 is 70.2: closed there,
 * realised 20 x (70.2 - 100) = -596, 4 left; the clearance fee (1.25 % of
 * 1404 = 17.55) takes the 4; equity = the spot's 400. */
START_TEST(test_engine_margin__cross_pool_liquidated_at_the_close)
{
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "PUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "P", "USDT");
    size_t sp = fx_add(&f, "SUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "S", "USDT");
    static const double pp[5][4] = {{100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 80, 80},
                                    {80, 80, 70.2, 70.2}, {70.2, 70.2, 70.2, 70.2}};
    static const double ps[5][4] = {{400, 400, 400, 400}, {400, 400, 400, 400},
                                    {400, 400, 400, 400}, {400, 400, 400, 400},
                                    {400, 400, 400, 400}};
    fx_bars(&f, p, DAY0, CPO_MS_DAY, pp, 5, 0);
    fx_bars(&f, sp, DAY0, CPO_MS_DAY, ps, 5, 0);
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.1;
    fx_run(&f, "0", "0:SUSDT:1,0:PUSDT-PERP:20", 0);
    const cpo_result *r = f.r;
    size_t N = r->n_steps;
    ck_assert_ptr_nonnull(r->im);
    ck_assert_int_eq(r->margin_ccy[0], 1);
    /* Step 2: MB 600 - 400 = 200, MM 0.1 x 80 = 8, IM 20 x 80 x 0.1. */
    ck_assert_double_eq_tol(r->mb[2], 200.0, 1e-9);
    ck_assert_double_eq_tol(r->mm[2], 8.0, 1e-12);
    ck_assert_double_eq_tol(r->im[2], 160.0, 1e-9);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_LIQUIDATION][3], -4.0, 1e-9);
    ck_assert_double_eq_tol(r->liquidation_fees, 4.0, 1e-9);
    ck_assert_double_eq_tol(r->equity[3], 400.0, 1e-9);
    ck_assert_double_eq(r->final_qty[p], 0.0);
    ck_assert_double_eq(r->final_qty[sp], 1.0);
    ck_assert_uint_eq(r->n_liquidations, 1);
    ck_assert_int_eq(r->mark_source[p], CPO_MARK_SRC_CLOSE);
    ck_assert_int_eq(r->margin_model[p], CPO_MARGIN_MODEL_FLAT);
    ck_assert_int_eq(r->trades[r->n_trades - 1].liquidation, 1);
    ck_assert_double_eq_tol(r->trades[r->n_trades - 1].px, 70.2, 1e-12);
    ck_assert_int_eq(r->ruined, 0);
    (void)N;
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* The same book on the bar's last-trade low (liquidation_price = wick):
 * the cross liquidation price with WB = 600 (the wallet; the spot holding
 * is not collateral), no other position: (600 - 2000) / (0.1 - 20) =
 * 70.351758...; the low 70.2 crosses it, the mark (80) had not: closed at
 * LP, and the 0.1 x LP left equals the maintenance margin there, all of
 * it the fee. */
START_TEST(test_engine_margin__cross_wick_at_the_liquidation_price)
{
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "PUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "P", "USDT");
    size_t sp = fx_add(&f, "SUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "S", "USDT");
    static const double pp[4][4] = {{100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 80, 80},
                                    {80, 81, 70.2, 79}};
    static const double ps[4][4] = {{400, 400, 400, 400}, {400, 400, 400, 400},
                                    {400, 400, 400, 400}, {400, 400, 400, 400}};
    fx_bars(&f, p, DAY0, CPO_MS_DAY, pp, 4, 0);
    fx_bars(&f, sp, DAY0, CPO_MS_DAY, ps, 4, 0);
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.1;
    f.spec.margin.liq_price = CPO_LIQ_WICK;
    fx_run(&f, "0", "0:SUSDT:1,0:PUSDT-PERP:20", 0);
    const cpo_result *r = f.r;
    double lp = 1400.0 / 19.9;
    ck_assert_double_eq_tol(r->trades[r->n_trades - 1].px, lp, 1e-9);
    ck_assert_double_eq_tol(r->liquidation_fees, 0.1 * lp, 1e-9);
    ck_assert_double_eq_tol(r->equity[3], 400.0, 1e-9);
    ck_assert_int_eq(r->mark_source[p], CPO_MARK_SRC_WICK);
    (void)sp;
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* Unrealised profit margins derivatives but pays for no spot: cash 1000,
 * short 20 perp at 100 (imr 0.1: IM at the mark), the perp falls to 50:
 * +1000 unrealised, IM 20 x 50 x 0.1 = 100.  A spot buy of 30 at 50 =
 * 1500 is cut to 1000 - 100 = 900 / 50 = 18 coins (the free collateral,
 * 1900, would have lent it the gain). */
START_TEST(test_engine_margin__unrealised_profit_is_not_cash)
{
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "PUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "P", "USDT");
    size_t sp = fx_add(&f, "SUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "S", "USDT");
    static const double pp[4][4] = {{100, 100, 100, 100}, {100, 100, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}};
    static const double ps[4][4] = {{50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}};
    fx_bars(&f, p, DAY0, CPO_MS_DAY, pp, 4, 0);
    fx_bars(&f, sp, DAY0, CPO_MS_DAY, ps, 4, 0);
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.1;
    fx_run(&f, "0,1", "0:PUSDT-PERP:-20,1:SUSDT:30", 0);
    ck_assert_double_eq_tol(f.r->final_qty[sp], 18.0, 1e-9);
    for (size_t t = 0; t < f.r->n_steps; t++)
        ck_assert_msg(f.r->cash[t] >= -1e-9, "cash[%zu] = %.17g", t, f.r->cash[t]);
    check_identity(f.r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* The engine marks from a window of steps refilled as the run goes
 * (marks_at): 70 coins hold 232 steps a window, so 1000 daily steps
 * cross it four times.  One of each coin is bought at the start and held:
 * from step 2 on, each step's change of equity is the sum of the coins'
 * price changes (by hand), at every step, refills included; the price is
 * the close, or the mark where the cube has one (coin 0 in the second
 * case: mark = close + 0.5 at even steps, none at odd ones). */
START_TEST(test_engine_marks__window_refills)
{
    enum { N = 70, T = 1000 };
    for (int with_mark = 0; with_mark < 2; with_mark++) {
        fixture f;
        fx_init(&f);
        f.spec.capital = 1e6;
        char plan[N * 16] = "";
        static double c[N][T];
        for (size_t i = 0; i < N; i++) {
            char sym[16];
            snprintf(sym, sizeof sym, "C%02zuUSDT", i);
            size_t k = fx_add(&f, sym, CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, sym, "USDT");
            ck_assert_uint_eq(k, i);
            cpo_bars *b = &f.ds->bars[i];
            b->bar_ms = CPO_MS_DAY;
            for (size_t t = 0; t < T; t++) {
                c[i][t] = 100.0 + (double)i + 10.0 * sin(0.05 * (double)t + (double)i);
                double mk = with_mark && i == 0 && t % 2 == 0 ? c[i][t] + 0.5 : NAN;
                ck_assert_int_eq(cpo_bars_append(b, DAY0 + (int64_t)t * CPO_MS_DAY, c[i][t],
                                                 c[i][t], c[i][t], c[i][t], 1e9, mk, NAN, NAN,
                                                 NAN),
                                 0);
            }
            snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s0:%s:1", i ? "," : "",
                     sym);
        }
        fx_run(&f, "0", plan, 0);
        ck_assert_uint_eq(f.r->n_steps, T);
        for (size_t t = 2; t < T; t++) {
            double want = 0.0;
            for (size_t i = 0; i < N; i++) {
                /* coin 0 with marks: the mark at even steps, the close at odd */
                double now = c[i][t], before = c[i][t - 1];
                if (with_mark && i == 0) {
                    now += t % 2 == 0 ? 0.5 : 0.0;
                    before += (t - 1) % 2 == 0 ? 0.5 : 0.0;
                }
                want += now - before;
            }
            double got = f.r->equity[t] - f.r->equity[t - 1];
            ck_assert_msg(fabs(got - want) < 1e-8, "mark %d, step %zu: equity moved %.17g, "
                          "the coins %.17g", with_mark, t, got, want);
        }
        check_identity(f.r, 1e6, 1e-12);
        fx_fini(&f);
    }
}
END_TEST

/* A spot short's margin holds back later buys (by hand): cash 1000, spot
 * imr 0.5, short 10 B at 100: cash 2000, the coins owed -1000, so the
 * margin balance is 1000 and the IM 10 x 100 x 0.5 = 500.  A buy of 8 S
 * at 100 = 800 the next day is cut to the 500 free: 5 coins.  (Counting
 * the short out of the pool would leave 2000 free and fill all 8.) */
START_TEST(test_engine_margin__spot_short_holds_back_buys)
{
    fixture f;
    fx_init(&f);
    size_t b = fx_add(&f, "BUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "B", "USDT");
    size_t s = fx_add(&f, "SUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "S", "USDT");
    static const double flat[3][4] = {{100, 100, 100, 100}, {100, 100, 100, 100},
                                      {100, 100, 100, 100}};
    fx_bars(&f, b, DAY0, CPO_MS_DAY, flat, 3, 0);
    fx_bars(&f, s, DAY0, CPO_MS_DAY, flat, 3, 0);
    f.spec.costs.kind[CPO_KIND_SPOT].imr = 0.5;
    fx_run(&f, "0,1", "0:BUSDT:-10,1:SUSDT:8", 0);
    ck_assert_double_eq_tol(f.r->final_qty[b], -10.0, 1e-9);
    ck_assert_double_eq_tol(f.r->final_qty[s], 5.0, 1e-9);
    check_identity(f.r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* Isolated: the short's unrealised gain funds nothing.  Short 5 at 100,
 * imr 1: its wallet holds 500 of the 1000.  The perp falls to 50 (+250
 * unrealised, isolated): a spot buy of 12 at 50 = 600 is cut to what the
 * cross wallet has, 500 / 50 = 10 (cross margin would fill it whole:
 * test_engine_margin__unrealised_pnl_is_available). */
START_TEST(test_engine_margin__isolated_gain_funds_nothing)
{
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "PUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "P", "USDT");
    size_t sp = fx_add(&f, "SUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "S", "USDT");
    static const double pp[4][4] = {{100, 100, 100, 100}, {100, 100, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}};
    static const double ps[4][4] = {{50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}, {50, 50, 50, 50}};
    fx_bars(&f, p, DAY0, CPO_MS_DAY, pp, 4, 0);
    fx_bars(&f, sp, DAY0, CPO_MS_DAY, ps, 4, 0);
    f.spec.margin.mode = CPO_MARGIN_ISOLATED;
    fx_run(&f, "0,1", "0:PUSDT-PERP:-5,1:SUSDT:12", 0);
    ck_assert_double_eq_tol(f.r->final_qty[sp], 10.0, 1e-9);
    ck_assert_uint_eq(f.r->n_events, 1);
    ck_assert_int_eq(f.r->events[0].kind, CPO_EVENT_MARGIN);
    ck_assert_uint_eq(f.r->n_orders_cut, 1);
    check_identity(f.r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

static void brackets_p(cpo_brackets *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->symbol, sizeof t->symbol, "PUSDT");
    /* 0-1000 20x 1 %; 1000-5000 10x 2 % (cum 1000 x 0.01 = 10); 5000+ 2x
     * 10 % (cum 10 + 5000 x 0.08 = 410). */
    const double b[3][5] = {{0, 1000, 20, 0.01, 0}, {1000, 5000, 10, 0.02, 10},
                            {5000, 1e12, 2, 0.10, 410}};
    for (int k = 0; k < 3; k++) {
        t->b[k].floor = b[k][0];
        t->b[k].cap = b[k][1];
        t->b[k].max_leverage = b[k][2];
        t->b[k].mmr = b[k][3];
        t->b[k].cum = b[k][4];
    }
    t->n = 3;
}

/* Brackets: maintenance from the notional's bracket, and an order whose
 * notional would need a bracket that does not allow the leverage is cut
 * below that bracket's floor.  At 10x (imr 0.1) and price 100, 80
 * contracts (8,000) would be in the 2x bracket: cut to 5,000 / 100 = 50
 * (less 1e-9 of it); MM there = 0.02 x 5,000 - 10 = 90. */
START_TEST(test_engine_margin__brackets_cap_the_leverage)
{
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "PUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "P", "USDT");
    static const double pp[3][4] = {{100, 100, 100, 100}, {100, 100, 100, 100}, {100, 100, 100, 100}};
    fx_bars(&f, p, DAY0, CPO_MS_DAY, pp, 3, 0);
    cpo_brackets t;
    brackets_p(&t);
    f.spec.margin.brackets = &t;
    f.spec.margin.n_brackets = 1;
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.1;
    f.spec.capital = 10000.0;
    fx_run(&f, "0", "0:PUSDT-PERP:80", 0);
    const cpo_result *r = f.r;
    ck_assert_double_eq_tol(r->final_qty[p], 50.0, 1e-6);
    ck_assert(r->final_qty[p] < 50.0);
    ck_assert_int_eq(r->margin_model[p], CPO_MARGIN_MODEL_BRACKETS);
    ck_assert_double_eq_tol(r->mm[1], 90.0, 1e-5);
    ck_assert_uint_eq(r->n_events, 1);
    ck_assert_ptr_nonnull(strstr(r->events[0].msg, "leverage brackets"));
    fx_fini(&f);
    /* 100x (imr 0.01) is above bracket 1's 20x: refused. */
    fx_init(&f);
    p = fx_add(&f, "PUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "P", "USDT");
    fx_bars(&f, p, DAY0, CPO_MS_DAY, pp, 3, 0);
    f.spec.margin.brackets = &t;
    f.spec.margin.n_brackets = 1;
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.01;
    cpo_error e;
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ck_assert_int_eq(cpo_market_build(&f.m, f.ds, &ms, &e), 0);
    f.spec.n_stages = 0;
    ck_assert_int_eq(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e), CPO_ECONFIG);
    ck_assert_str_eq(e.msg, "PUSDT-PERP: leverage 100 is above the 20 its leverage brackets "
                            "allow (expected perp_leverage <= 20)");
    fx_fini(&f);
}
END_TEST

/* Hourly bars at a flat 100 with funding every 8 hours. */
static void flat_hours(fixture *f, size_t i, size_t n, double px)
{
    cpo_bars *b = &f->ds->bars[i];
    b->bar_ms = CPO_MS_HOUR;
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(cpo_bars_append(b, DAY0 + (int64_t)k * CPO_MS_HOUR, px, px, px, px, 1e9,
                                         NAN, NAN, NAN, NAN),
                         0);
}

/*
 * The wiped-out account of the margin issue: 0.5 of equity in BTC spot
 * against -0.5 in the perpetual at 5x isolated, re-set every day, with
 * funding of +0.5 per 8 hours for 5 days and then -0.9 per 8 hours for 5
 * days (the short pays 90 % of its notional every 8 hours).  Each -0.9
 * payment is beyond the isolated wallet (20 % of the notional): the
 * position is bankrupt at the event's mark, liquidated, and the insurance
 * fund pays what the wallet could not; the account loses the wallet, never
 * more: its equity never goes below 0 (the spot stays).
 */
START_TEST(test_engine_margin__isolated_loss_stops_at_the_wallet)
{
    fixture f;
    fx_init(&f);
    size_t s = fx_add(&f, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    size_t p = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    size_t n = 24 * 10;
    /* Daily weights: the plan stage takes step:symbol:weight% items. */
    flat_hours(&f, s, n, 100.0);
    flat_hours(&f, p, n, 100.0);
    for (size_t k = 1; k * 8 < n; k++)
        ck_assert_int_eq(cpo_funding_append(&f.ds->funding[p], DAY0 + (int64_t)(k * 8) * CPO_MS_HOUR,
                                            k * 8 < n / 2 ? 0.5 : -0.9, 100.0, NAN),
                         0);
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.2;
    f.spec.margin.mode = CPO_MARGIN_ISOLATED;
    char plan[2048] = "", steps[256] = "";
    for (size_t d = 0; d < 10; d++) {
        char b[96];
        snprintf(b, sizeof b, "%s%zu:BTCUSDT:50%%,%zu:BTCUSDT-PERP:-50%%", d ? "," : "", d * 24,
                 d * 24);
        strcat(plan, b);
        snprintf(b, sizeof b, "%s%zu", d ? "," : "", d * 24);
        strcat(steps, b);
    }
    fx_run(&f, steps, plan, 0);
    const cpo_result *r = f.r;
    double lowest = INFINITY;
    for (size_t t = 0; t < r->n_steps; t++)
        lowest = fmin(lowest, r->equity[t]);
    ck_assert_msg(lowest >= 0.0, "equity fell to %.17g", lowest);
    /* Days 7, 8 and 9 each open a short that the first -0.9 payment
     * bankrupts (on days 5 and 6 the cross wallet has nothing left to post
     * after the spot: those orders are cut). */
    ck_assert_uint_eq(r->n_liquidations, 3);
    ck_assert(r->insurance_covered > 0.0);
    ck_assert_int_eq(r->ruined, 0);
    ck_assert_int_eq(r->mark_source[p], CPO_MARK_SRC_FUNDING);
    ck_assert(r->equity[r->n_steps - 1] > 0.0);
    for (size_t k = 0; k < r->n_events; k++)
        ck_assert_msg(!strstr(r->events[k].msg, "e-1"), "a cut to dust: %s", r->events[k].msg);
    check_identity(r, 1000.0, 1e-9);
    fx_fini(&f);
}
END_TEST

/*
 * Mark klines (binance-mark-klines): the mark's low inside a bar reaches
 * an isolated long's liquidation price while the last-trade low does not.
 * 1 contract at 100, 5x (imr 0.2: a wallet of 20), mmr 0.005, no
 * maintenance amount: LP = (WB - Q EP) / (Q mmr - Q) = (20 - 100) /
 * (0.005 - 1) = 80.40201... (Binance, "How to Calculate Liquidation Price
 * of USDⓈ-M Futures Contracts", one-way isolated).  The mark's low at step
 * 5 is 79: liquidated at LP with the clearance fee; a filled-forward cell
 * of the same low would not count.
 */
START_TEST(test_engine_margin__liquidated_on_the_marks_low)
{
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    cpo_bars *b = &f.ds->bars[p];
    b->bar_ms = CPO_MS_HOUR;
    for (int k = 0; k < 10; k++) {
        double lo = k == 5 ? 79.0 : 99.0;
        ck_assert_int_eq(cpo_bars_append(b, DAY0 + k * CPO_MS_HOUR, 100, 101, 90, 100, 1e9, 100.0,
                                         101.0, lo, NAN),
                         0);
    }
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.2;
    f.spec.margin.mode = CPO_MARGIN_ISOLATED;
    fx_run(&f, "0", "0:BTCUSDT-PERP:1", 0);
    const cpo_result *r = f.r;
    ck_assert_int_eq(r->mark_source[p], CPO_MARK_SRC_KLINES);
    ck_assert_uint_eq(r->n_liquidations, 1);
    ck_assert_uint_eq(r->n_trades, 2);
    const cpo_trade *liq = &r->trades[1];
    ck_assert_int_eq(liq->liquidation, 1);
    ck_assert_int_eq(liq->ts, DAY0 + 5 * CPO_MS_HOUR);
    ck_assert_double_eq_tol(liq->px, 80.0 / 0.995, 1e-9);
    ck_assert_double_eq(r->final_qty[p], 0.0);
    check_identity(r, 1000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* --- dated futures (engine/futures.c) ------------------------------------- */

/* A future of the fixture: expiry and exchange. */
static size_t fx_future(fixture *f, const char *sym, cpo_settle settle, double cs,
                        const char *quote, int64_t expiry, const char *exchange)
{
    size_t i = fx_add(f, sym, CPO_KIND_FUTURE, settle, cs, "BTC", quote);
    f->ds->instr[i].expiry_ms = expiry;
    snprintf(f->ds->instr[i].underlying, sizeof f->ds->instr[i].underlying, "BTC");
    snprintf(f->ds->instr[i].exchange, sizeof f->ds->instr[i].exchange, "%s", exchange);
    return i;
}

/* 2024-03-29 (the last Friday of March: a quarterly expiry) at 08:00. */
static const int64_t MAR29 = INT64_C(1711670400000), MAR29_08 = INT64_C(1711670400000) + 8 * 3600000;

START_TEST(test_engine_futures__deribit_quarterly_delivered_at_the_twap)
{
    fixture f;
    fx_init(&f);
    /* Hourly bars 00:00 .. 10:00 of the index (BTCUSD spot) and of the
     * future up to its last bar before the expiry (07:00). */
    size_t x = fx_add(&f, "BTCUSD", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USD");
    size_t i = fx_future(&f, "BTC-29MAR24", CPO_SETTLE_INVERSE, 10.0, "USD", MAR29_08, "deribit");
    double ix[11][4], fu[8][4];
    for (int k = 0; k < 11; k++)
        ix[k][0] = ix[k][1] = ix[k][2] = ix[k][3] = 40000.0;
    /* The 07:00 bar of the index: open 40000, close 40400. */
    ix[7][3] = ix[7][1] = 40400.0;
    for (int k = 0; k < 8; k++)
        fu[k][0] = fu[k][1] = fu[k][2] = fu[k][3] = 40100.0;
    fx_bars(&f, x, MAR29, CPO_MS_HOUR, (const double(*)[4])ix, 11, 1);
    fx_bars(&f, i, MAR29, CPO_MS_HOUR, (const double(*)[4])fu, 8, 0);
    snprintf(f.spec.collateral, sizeof f.spec.collateral, "BTC");
    f.spec.capital = 40000.0;
    snprintf(f.spec.futures.coin[0], sizeof f.spec.futures.coin[0], "BTC");
    snprintf(f.spec.futures.index[0], sizeof f.spec.futures.index[0], "BTCUSD");
    f.spec.futures.n = 1;
    /* Long 100 contracts (1,000 USD) filled at 01:00; an order for the
     * expired future at 09:00. */
    fx_run(&f, "0,8", "0:BTC-29MAR24:100,8:BTC-29MAR24:5", 0);
    const cpo_result *r = f.r;
    /* Delivery at the open of 08:00 at the 30-min TWAP of the index from
     * its hourly bars: the 07:00 bar's line over 07:30-08:00, 40000 + 400
     * x 0.75 = 40300 (estimated: bars coarser than a minute).  Deribit's
     * delivery fee on a quarterly: 0.025 % of 100 x 10 / 40300 BTC.
     * Realised: 100 x 10 x (1/40100 - 1/40300) BTC. */
    ck_assert_uint_eq(r->n_trades, 2);
    const cpo_trade *d = &r->trades[1];
    ck_assert_int_eq(d->delivery, 1);
    ck_assert_int_eq(d->ts, MAR29_08);
    ck_assert_double_eq_tol(d->px, 40300.0, 1e-9);
    ck_assert_double_eq(d->qty, -100.0);
    ck_assert_double_eq_tol(d->fee, 1000.0 / 40300.0 * 2.5e-4, 1e-18);
    ck_assert_uint_eq(r->n_deliveries, 1);
    ck_assert_uint_eq(r->n_delivery_approx, 1);
    ck_assert_double_eq(r->final_qty[i], 0.0);
    /* The coin wallet: the capital (1 BTC at 40000), the realised P&L and
     * the fee (the trade at 01:00 paid no fee: taker 0 in the fixture). */
    double coin = 1000.0 * (1.0 / 40100.0 - 1.0 / 40300.0) - 1000.0 / 40300.0 * 2.5e-4;
    ck_assert_double_eq_tol(r->cash[1 * r->n_steps + 8] - r->cash[1 * r->n_steps + 7], coin, 1e-15);
    /* The order at 09:00 for the expired future: dropped with an event. */
    ck_assert_uint_eq(r->n_expired_orders, 1);
    int dropped = 0, delivered = 0;
    for (size_t k = 0; k < r->n_events; k++) {
        dropped += r->events[k].kind == CPO_EVENT_DELIVERY && strstr(r->events[k].msg, "dropped");
        delivered += r->events[k].kind == CPO_EVENT_DELIVERY && strstr(r->events[k].msg, "estimated");
    }
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(delivered, 1);
    /* The futures record: the leg held 01:00 .. 07:00, quoted. */
    ck_assert_uint_eq(r->n_fut, 1);
    ck_assert_double_eq(r->fut_qty[1], 100.0);
    ck_assert_double_eq(r->fut_qty[8], 0.0);
    ck_assert_int_eq(r->fut_src[3], CPO_FUT_SRC_QUOTE);
    ck_assert_int_eq(r->fut_src[9], CPO_FUT_SRC_NONE);
    check_identity(r, 40000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_futures__binance_linear_exact_twap_and_fee)
{
    fixture f;
    fx_init(&f);
    size_t x = fx_add(&f, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    size_t i = fx_future(&f, "BTCUSDT_240329", CPO_SETTLE_LINEAR, 1.0, "USDT", MAR29_08,
                         "binance");
    double ix[10][4], fu[8][4];
    for (int k = 0; k < 10; k++)
        ix[k][0] = ix[k][1] = ix[k][2] = ix[k][3] = 40000.0;
    for (int k = 0; k < 8; k++)
        fu[k][0] = fu[k][1] = fu[k][2] = fu[k][3] = 40050.0;
    fx_bars(&f, x, MAR29, CPO_MS_HOUR, (const double(*)[4])ix, 10, 0);
    fx_bars(&f, i, MAR29, CPO_MS_HOUR, (const double(*)[4])fu, 8, 0);
    f.spec.capital = 100000.0;
    f.spec.costs.kind[CPO_KIND_FUTURE].taker_bps = 5.0;
    snprintf(f.spec.futures.coin[0], sizeof f.spec.futures.coin[0], "BTC");
    snprintf(f.spec.futures.index[0], sizeof f.spec.futures.index[0], "BTCUSDT");
    snprintf(f.spec.futures.delivery[0], sizeof f.spec.futures.delivery[0], "BTCUSDT-1M");
    f.spec.futures.n = 1;
    /* Build the cube, then give it a minute delivery series 07:00 .. 07:59
     * (as run/market.c does): the bar of 07:30 + k opens and closes at
     * 40000 + k, so the 30-min TWAP is the mean of 40000 .. 40029 =
     * 40014.5, from minute bars covering the window: exact. */
    cpo_error e;
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ck_assert_msg(cpo_market_build(&f.m, f.ds, &ms, &e) == 0, "%s", tu_errstr(&e));
    f.m->raw = calloc(1, sizeof *f.m->raw);
    f.m->raw_symbol = calloc(1, sizeof *f.m->raw_symbol);
    ck_assert(f.m->raw && f.m->raw_symbol);
    f.m->n_raw = 1;
    snprintf(f.m->raw_symbol[0], CPO_SYMBOL_MAX, "BTCUSDT-1M");
    cpo_bars_init(&f.m->raw[0]);
    f.m->raw[0].bar_ms = 60000;
    for (int k = 0; k < 60; k++) {
        double px = k < 30 ? 39000.0 : 40000.0 + (k - 30);
        ck_assert_int_eq(cpo_bars_append(&f.m->raw[0], MAR29_08 - CPO_MS_HOUR + k * 60000, px, px,
                                         px, px, 1.0, NAN, NAN, NAN, NAN),
                         0);
    }
    cpo_market *m = f.m;
    f.m = NULL;
    /* fx_run builds its own cube: swap ours in after it (same dataset). */
    fx_run(&f, "0", "0:BTCUSDT_240329:-2", 0);
    cpo_result_free(f.r);
    cpo_market_free(f.m);
    f.m = m;
    ck_assert_msg(cpo_backtest_run(&f.r, f.m, &f.spec, NULL, NULL, &e) == 0, "%s", tu_errstr(&e));
    const cpo_result *r = f.r;
    /* Short 2 BTC at 40050 (fee 2 x 40050 x 5e-4 = 40.05); delivered at
     * 40014.5: realised 2 x (40050 - 40014.5) = 71; Binance's delivery fee
     * at the taker rate: 2 x 40014.5 x 5e-4 = 40.0145. */
    ck_assert_uint_eq(r->n_trades, 2);
    ck_assert_int_eq(r->trades[1].delivery, 1);
    ck_assert_double_eq_tol(r->trades[1].px, 40014.5, 1e-9);
    ck_assert_double_eq_tol(r->trades[1].fee, 40.0145, 1e-9);
    ck_assert_uint_eq(r->n_delivery_approx, 0);
    ck_assert_double_eq_tol(r->equity[8], 100000.0 - 40.05 + 71.0 - 40.0145, 1e-8);
    ck_assert_double_eq_tol(r->delivery_fees, 40.0145, 1e-9);
    check_identity(r, 100000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_futures__binance_opens_nothing_in_the_last_10_minutes)
{
    fixture f;
    fx_init(&f);
    size_t i = fx_future(&f, "BTCUSDT_240329", CPO_SETTLE_LINEAR, 1.0, "USDT", MAR29_08,
                         "binance");
    /* Minute bars 07:40 .. 07:59. */
    double fu[20][4];
    for (int k = 0; k < 20; k++)
        fu[k][0] = fu[k][1] = fu[k][2] = fu[k][3] = 40000.0;
    fx_bars(&f, i, MAR29_08 - 20 * 60000, 60000, (const double(*)[4])fu, 20, 0);
    f.spec.capital = 100000.0;
    /* Buy 1 at 07:41 (19 min left), ask for 2 at 07:50 (10 min left:
     * refused), sell to 0 at 07:52 (a reduction: allowed). */
    fx_run(&f, "0,9,11", "0:BTCUSDT_240329:1,9:BTCUSDT_240329:2,11:BTCUSDT_240329:0", 0);
    const cpo_result *r = f.r;
    ck_assert_uint_eq(r->n_trades, 2);
    ck_assert_double_eq(r->trades[0].qty, 1.0);
    ck_assert_double_eq(r->trades[1].qty, -1.0);
    ck_assert_uint_eq(r->n_expired_orders, 1);
    ck_assert_ptr_nonnull(strstr(r->events[0].msg, "last 10 minutes"));
    ck_assert_double_eq(r->final_qty[i], 0.0);
    fx_fini(&f);
}
END_TEST

START_TEST(test_engine_futures__weekly_no_fee_and_no_index_is_loud)
{
    fixture f;
    fx_init(&f);
    /* A Deribit weekly (2024-03-22, not the last Friday of March): no
     * delivery fee.  No index bars in the cube: delivered at the last
     * mark, and the event says so. */
    int64_t mar22 = MAR29_08 - 7 * CPO_MS_DAY;
    size_t i = fx_future(&f, "BTC-22MAR24", CPO_SETTLE_INVERSE, 10.0, "USD", mar22, "deribit");
    double fu[10][4];
    for (int k = 0; k < 10; k++)
        fu[k][0] = fu[k][1] = fu[k][2] = fu[k][3] = 50000.0 + 100.0 * k;
    fx_bars(&f, i, mar22 - 8 * CPO_MS_HOUR, CPO_MS_HOUR, (const double(*)[4])fu, 8, 1);
    /* The grid goes on past the expiry (another coin's bars). */
    size_t y = fx_add(&f, "ETHUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "ETH", "USDT");
    fx_bars(&f, y, mar22 - 8 * CPO_MS_HOUR, CPO_MS_HOUR, (const double(*)[4])fu, 10, 0);
    snprintf(f.spec.collateral, sizeof f.spec.collateral, "BTC");
    f.spec.capital = 50000.0;
    fx_run(&f, "0", "0:BTC-22MAR24:-10", 0);
    const cpo_result *r = f.r;
    /* The last mark: the 07:00 bar's close, 50700. */
    ck_assert_uint_eq(r->n_trades, 2);
    ck_assert_double_eq_tol(r->trades[1].px, 50700.0, 1e-9);
    ck_assert_double_eq(r->trades[1].fee, 0.0);
    ck_assert_uint_eq(r->n_delivery_approx, 1);
    int loud = 0;
    for (size_t k = 0; k < r->n_events; k++)
        loud += strstr(r->events[k].msg, "no index bars") != NULL;
    ck_assert_int_eq(loud, 1);
    check_identity(r, 50000.0, 1e-12);
    fx_fini(&f);
}
END_TEST

/* Ruin: a cross long paying 90 % of its notional every 8 hours.  At the
 * second payment the pool is below 0: liquidated at the event's mark, the
 * fund brings it back to 0, the account's equity is 0: a ruin event, no
 * more trading, and the metrics that need returns after it are NaN. */
START_TEST(test_engine_margin__ruin_stops_the_run)
{
    fixture f;
    fx_init(&f);
    size_t p = fx_add(&f, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT");
    size_t n = 48;
    flat_hours(&f, p, n, 100.0);
    for (size_t k = 1; k * 8 < n; k++)
        ck_assert_int_eq(cpo_funding_append(&f.ds->funding[p], DAY0 + (int64_t)(k * 8) * CPO_MS_HOUR,
                                            0.9, 100.0, NAN),
                         0);
    f.spec.costs.kind[CPO_KIND_PERP].imr = 0.2;
    fx_run(&f, "0,20,30", "0:BTCUSDT-PERP:10,20:BTCUSDT-PERP:10,30:BTCUSDT-PERP:10", 0);
    const cpo_result *r = f.r;
    /* Long 10 at 100 (notional 1000): the 08:00 payment takes 900 (MB
     * 100 > MM 5); the 16:00 one leaves MB -800: liquidated, covered. */
    ck_assert_int_eq(r->ruined, 1);
    ck_assert_int_eq(r->ruin_ms, DAY0 + 16 * CPO_MS_HOUR);
    ck_assert_double_eq_tol(r->insurance_covered, 800.0, 1e-9);
    ck_assert_double_eq_tol(r->equity[16], 0.0, 1e-9);
    ck_assert_double_eq(r->final_qty[p], 0.0);
    size_t ruins = 0;
    for (size_t k = 0; k < r->n_events; k++)
        ruins += r->events[k].kind == CPO_EVENT_RUIN;
    ck_assert_uint_eq(ruins, 1);
    /* Nothing traded after the ruin (steps 20 and 30 wanted to). */
    for (size_t k = 0; k < r->n_trades; k++)
        ck_assert(r->trades[k].step <= 16);
    for (size_t t = 16; t < r->n_steps; t++)
        ck_assert_double_eq(r->equity[t], 0.0);
    check_identity(r, 1000.0, 1e-9);
    /* The summary numbers: -100 %, and no Sharpe, Sortino or Calmar. */
    cpo_run_metrics mt;
    cpo_error e;
    ck_assert_int_eq(cpo_run_metrics_compute(&mt, r, CPO_MS_HOUR, NULL, &e), 0);
    ck_assert_double_eq_tol(mt.total_return, -1.0, 1e-12);
    ck_assert(isnan(mt.sharpe) && isnan(mt.table.sortino) && isnan(mt.table.calmar));
    fx_fini(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_engine_linear_perp__pnl_fee_slippage_next_open);
    tcase_add_test(tc, test_engine_fill_at_close__same_bar);
    tcase_add_test(tc, test_engine_no_fill_on_a_carried_price);
    tcase_add_test(tc, test_engine_inverse_perp__coin_pnl_harmonic_entry_coin_fees);
    tcase_add_test(tc, test_engine_inverse_perp__harmonic_entry_realised);
    tcase_add_test(tc, test_engine_funding__sign_and_boundary);
    tcase_add_test(tc, test_engine_funding__short_receives_inverse_in_coin);
    tcase_add_test(tc, test_engine_liquidation__price_event_and_charge);
    tcase_add_test(tc, test_engine_liquidation__short_on_the_high);
    tcase_add_test(tc, test_engine_lot_rounding__and_cash_buffer);
    tcase_add_test(tc, test_engine_lot_rounding__whole_contracts_of_inverse_perps);
    tcase_add_test(tc, test_engine_orders__sells_before_buys_and_cash_cap);
    tcase_add_test(tc, test_engine_identity__synthetic_long_run_and_determinism);
    tcase_add_test(tc, test_engine_view__no_look_ahead);
    tcase_add_test(tc, test_engine_view__mark_high_low);
    tcase_add_test(tc, test_engine_bad_input__refused);
    tcase_add_test(tc, test_engine_targets__net_of_cash_buffer);
    tcase_add_test(tc, test_engine_sizing__at_this_steps_price_when_not_held);
    tcase_add_test(tc, test_engine_exposure__hedged_coin_collateral_is_flat);
    tcase_add_test(tc, test_engine_margin__unrealised_pnl_is_available);
    tcase_add_test(tc, test_engine_margin__cross_pool_liquidated_at_the_close);
    tcase_add_test(tc, test_engine_margin__cross_wick_at_the_liquidation_price);
    tcase_add_test(tc, test_engine_margin__isolated_gain_funds_nothing);
    tcase_add_test(tc, test_engine_margin__unrealised_profit_is_not_cash);
    tcase_add_test(tc, test_engine_margin__spot_short_holds_back_buys);
    tcase_add_test(tc, test_engine_marks__window_refills);
    tcase_add_test(tc, test_engine_margin__brackets_cap_the_leverage);
    tcase_add_test(tc, test_engine_margin__isolated_loss_stops_at_the_wallet);
    tcase_add_test(tc, test_engine_margin__ruin_stops_the_run);
    tcase_add_test(tc, test_engine_margin__liquidated_on_the_marks_low);
    tcase_add_test(tc, test_engine_funding__stamps_snapped_to_the_hour);
    tcase_add_test(tc, test_engine_financing__cash_yield_and_short_borrow);
    tcase_add_test(tc, test_engine_futures__deribit_quarterly_delivered_at_the_twap);
    tcase_add_test(tc, test_engine_futures__binance_linear_exact_twap_and_fee);
    tcase_add_test(tc, test_engine_futures__binance_opens_nothing_in_the_last_10_minutes);
    tcase_add_test(tc, test_engine_futures__weekly_no_fee_and_no_index_is_loud);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
