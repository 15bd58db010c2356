/*
 * check_numeric.c - numbers that are not prices, volumes that are zero,
 * quantities too small to trade and leverage too large to have: each is
 * refused with a message or handled with an event, never booked.
 *
 * Where each expected value comes from is in the comment beside it: the
 * validation rules of datasets/market.c (a price is NaN or finite > 0, a
 * volume NaN or finite >= 0), the ranges of run/config.c, and the
 * engine's order rules in engine/backtest.c (participation cap, the
 * 1e-9-of-equity dust rule, buys cut to the available balance).  The
 * importers' refusals of such numbers in files are tested in check_import
 * (tests/data/bad/klines_{zero_open,negative_close,negative_volume,
 * nan_text,inf_text}.csv).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/backtest.h"
#include "cpo/config.h"
#include "cpo/dataset.h"
#include "cpo/market.h"
#include "cpo/time.h"
#include "params.h"
#include "testutil.h"

#define DAY0 INT64_C(1704067200000) /* 2024-01-01T00:00Z */

/* --- the market ------------------------------------------------------------ */

static cpo_dataset *new_ds(void)
{
    cpo_dataset *ds = NULL;
    ck_assert_int_eq(cpo_dataset_new(&ds, NULL), 0);
    return ds;
}

static size_t add(cpo_dataset *ds, const char *sym, cpo_kind kind, cpo_settle settle,
                  const char *base, const char *quote)
{
    cpo_instrument in;
    cpo_instrument_init(&in, sym, kind, settle);
    in.contract_size = 1.0;
    snprintf(in.base, sizeof in.base, "%s", base);
    snprintf(in.quote, sizeof in.quote, "%s", quote);
    size_t i;
    ck_assert_int_eq(cpo_dataset_add(ds, &in, &i, NULL), 0);
    return i;
}

/* n daily bars, every field px (volume vol), except bar `odd` whose field
 * `f` (0 open, 1 high, 2 low, 3 close, 4 volume, 5 mark, 6 index) is x. */
static void bars(cpo_dataset *ds, size_t i, size_t n, double px, double vol, size_t odd, int f,
                 double x)
{
    cpo_bars *b = &ds->bars[i];
    b->bar_ms = CPO_MS_DAY;
    for (size_t k = 0; k < n; k++) {
        double v[7] = {px, px, px, px, vol, NAN, NAN};
        if (k == odd && f >= 0)
            v[f] = x;
        ck_assert_int_eq(cpo_bars_append(b, DAY0 + (int64_t)k * CPO_MS_DAY, v[0], v[1], v[2],
                                         v[3], v[4], v[5], NAN, NAN, v[6]),
                         0);
    }
}

static int build(cpo_market **m, const cpo_dataset *ds, cpo_error *e)
{
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    *m = NULL;
    return cpo_market_build(m, ds, &ms, e);
}

/* --- prices that are not prices: refused when the cube is built ---------- */

START_TEST(test_numeric_market__bad_prices_refused)
{
    static const struct {
        int field;
        double x;
        const char *msg;
    } cases[] = {
        {3, 0.0,
         "AUSDT: close 0 in the bar of 2024-01-03T00:00:00Z is not a price (expected a finite "
         "number > 0, or NaN where the data has none)"},
        {0, -5.0,
         "AUSDT: open -5 in the bar of 2024-01-03T00:00:00Z is not a price (expected a finite "
         "number > 0, or NaN where the data has none)"},
        {1, INFINITY,
         "AUSDT: high inf in the bar of 2024-01-03T00:00:00Z is not a price (expected a finite "
         "number > 0, or NaN where the data has none)"},
        {2, -INFINITY,
         "AUSDT: low -inf in the bar of 2024-01-03T00:00:00Z is not a price (expected a finite "
         "number > 0, or NaN where the data has none)"},
        {5, 0.0,
         "AUSDT: mark 0 in the bar of 2024-01-03T00:00:00Z is not a price (expected a finite "
         "number > 0, or NaN where the data has none)"},
        {6, INFINITY,
         "AUSDT: index inf in the bar of 2024-01-03T00:00:00Z is not a price (expected a finite "
         "number > 0, or NaN where the data has none)"},
        {4, -1.0,
         "AUSDT: volume -1 in the bar of 2024-01-03T00:00:00Z is not a volume (expected a finite "
         "number >= 0, or NaN where the data has none)"},
        {4, INFINITY,
         "AUSDT: volume inf in the bar of 2024-01-03T00:00:00Z is not a volume (expected a "
         "finite number >= 0, or NaN where the data has none)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cpo_dataset *ds = new_ds();
        size_t i = add(ds, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "A", "USDT");
        bars(ds, i, 5, 10.0, 100.0, 2, cases[c].field, cases[c].x);
        cpo_market *m;
        cpo_error e;
        ck_assert_int_eq(build(&m, ds, &e), CPO_EDATA);
        ck_assert_ptr_null(m);
        ck_assert_str_eq(tu_errstr(&e), cases[c].msg);
        cpo_dataset_free(ds);
    }
    /* NaN is "missing", zero volume is a quiet bar: both build. */
    cpo_dataset *ds = new_ds();
    size_t i = add(ds, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "A", "USDT");
    bars(ds, i, 5, 10.0, 0.0, 2, 3, NAN);
    cpo_market *m;
    cpo_error e;
    ck_assert_msg(build(&m, ds, &e) == 0, "%s", tu_errstr(&e));
    ck_assert(isnan(cpo_market_col(m, CPO_F_CLOSE, 0)[2]));
    cpo_market_free(m);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_numeric_market__bad_funding_refused)
{
    /* A funding rate is NaN (not known) or finite; its mark and index
     * prices NaN or > 0. */
    static const struct {
        double rate, mark, index;
        const char *msg;
    } cases[] = {
        {INFINITY, NAN, NAN,
         "APERP: funding rate inf at 2024-01-02T08:00:00Z is not valid (expected a finite rate, "
         "or NaN where the data has none)"},
        {0.0001, 0.0, NAN,
         "APERP: funding mark 0 at 2024-01-02T08:00:00Z is not valid (expected a finite price > "
         "0, or NaN where the data has none)"},
        {0.0001, NAN, -3.0,
         "APERP: funding index -3 at 2024-01-02T08:00:00Z is not valid (expected a finite price "
         "> 0, or NaN where the data has none)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cpo_dataset *ds = new_ds();
        size_t i = add(ds, "APERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, "A", "USDT");
        bars(ds, i, 5, 10.0, 100.0, 0, -1, 0.0);
        ck_assert_int_eq(cpo_funding_append(&ds->funding[i], DAY0 + CPO_MS_DAY + 8 * CPO_MS_HOUR,
                                            cases[c].rate, cases[c].mark, cases[c].index),
                         0);
        cpo_market *m;
        cpo_error e;
        ck_assert_int_eq(build(&m, ds, &e), CPO_EDATA);
        ck_assert_str_eq(tu_errstr(&e), cases[c].msg);
        cpo_dataset_free(ds);
    }
}
END_TEST

/* --- the engine ------------------------------------------------------------ */

/* A hedge stage setting targets from "step:symbol:qty" or "...:w%" (as in
 * check_engine.c), with a schedule firing on the listed steps. */
static const cpo_param_spec at_params[] = {
    {"steps", CPO_PARAM_LIST, "", 0, 0, NULL, "steps at which to fire"}};

static int at_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)st, (void)err;
    for (size_t k = 0; k < h->param_count(p, "steps"); k++)
        if ((size_t)atol(h->param_item(p, "steps", k)) == h->step(v))
            io->fire = 1;
    return 0;
}

static const cpo_stage_def at_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "at", CPO_ROLE_SCHEDULE, "fire at steps",
    at_params, 1, NULL, at_run, NULL};

static const cpo_param_spec plan_params[] = {
    {"plan", CPO_PARAM_LIST, "", 0, 0, NULL, "step:symbol:qty or step:symbol:weight%"}};

static int plan_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_stage_io *io, cpo_error *err)
{
    (void)st, (void)err;
    for (size_t k = 0; k < h->param_count(p, "plan"); k++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", h->param_item(p, "plan", k));
        char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        if ((size_t)atol(buf) != h->step(v))
            continue;
        long i = h->find(v, c1 + 1);
        size_t len = strlen(c2 + 1);
        if (i < 0)
            continue;
        if (len && c2[len] == '%')
            io->weight[i] = strtod(c2 + 1, NULL) / 100.0;
        else
            io->qty[i] = strtod(c2 + 1, NULL);
    }
    return 0;
}

static const cpo_stage_def plan_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "plan", CPO_ROLE_HEDGE, "targets",
    plan_params, 1, NULL, plan_run, NULL};

typedef struct run {
    cpo_market *m;
    cpo_run_spec spec;
    cpo_params *pa, *pp;
    cpo_result *r;
} run;

/* Build ds's cube and run the plan with no fees or slippage (so that the
 * expected numbers below are plain arithmetic), capital 1000. */
static int run_plan(run *x, const cpo_dataset *ds, const char *steps, const char *plan,
                    void (*tweak)(cpo_run_spec *), cpo_error *e)
{
    memset(x, 0, sizeof *x);
    ck_assert_msg(build(&x->m, ds, e) == 0, "%s", tu_errstr(e));
    cpo_run_spec_init(&x->spec);
    x->spec.capital = 1000.0;
    for (int k = 0; k < 4; k++)
        x->spec.costs.kind[k].taker_bps = 0.0;
    x->spec.costs.lot_rounding = 0;
    ck_assert_int_eq(cpo_params_new(&x->pa, &at_def, NULL), 0);
    ck_assert_int_eq(cpo_params_new(&x->pp, &plan_def, NULL), 0);
    ck_assert_int_eq(cpo_params_set(x->pa, "steps", steps, NULL, 0), 0);
    ck_assert_int_eq(cpo_params_set(x->pp, "plan", plan, NULL, 0), 0);
    x->spec.stages[0].def = &at_def;
    x->spec.stages[0].params = x->pa;
    x->spec.stages[1].def = &plan_def;
    x->spec.stages[1].params = x->pp;
    x->spec.n_stages = 2;
    if (tweak)
        tweak(&x->spec);
    return cpo_backtest_run(&x->r, x->m, &x->spec, NULL, NULL, e);
}

static void run_free(run *x)
{
    cpo_result_free(x->r);
    cpo_market_free(x->m);
    cpo_params_free(x->pa);
    cpo_params_free(x->pp);
}

/* Every number of the ledger is finite and the lines add up to the change
 * in equity (to 1e-9 of equity: the identity of engine/backtest.c). */
static void check_ledger(const cpo_result *r, double capital)
{
    double prev = capital;
    for (size_t t = 0; t < r->n_steps; t++) {
        ck_assert_msg(isfinite(r->equity[t]), "equity[%zu] = %g", t, r->equity[t]);
        double s = 0.0;
        for (int l = 0; l < CPO_PNL_COUNT; l++) {
            ck_assert_msg(isfinite(r->pnl[l][t]), "%s[%zu] = %g", cpo_pnl_name((cpo_pnl_line)l), t,
                          r->pnl[l][t]);
            s += r->pnl[l][t];
        }
        ck_assert_msg(fabs(s - (r->equity[t] - prev)) <= 1e-9 * fmax(fabs(r->equity[t]), 1.0),
                      "step %zu: lines %.17g, change %.17g", t, s, r->equity[t] - prev);
        prev = r->equity[t];
    }
    for (size_t c = 0; c < r->n_ccy * r->n_steps; c++)
        ck_assert(isfinite(r->cash[c]));
    for (size_t k = 0; k < r->n_trades; k++)
        ck_assert(isfinite(r->trades[k].qty) && isfinite(r->trades[k].px) &&
                  r->trades[k].px > 0.0 && isfinite(r->trades[k].fee));
}

START_TEST(test_numeric_engine__missing_price_order_dropped)
{
    /* The open of step 2 is NaN (missing; the bar's other fields too): the
     * order decided at the close of step 1 cannot fill there.  The engine
     * drops it with a no_price event; nothing is booked. */
    cpo_dataset *ds = new_ds();
    size_t i = add(ds, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "A", "USDT");
    cpo_bars *b = &ds->bars[i];
    b->bar_ms = CPO_MS_DAY;
    for (int k = 0; k < 4; k++) {
        double px = k == 2 ? NAN : 10.0;
        ck_assert_int_eq(cpo_bars_append(b, DAY0 + k * CPO_MS_DAY, px, px, px, px, 100.0, NAN, NAN,
                                         NAN, NAN),
                         0);
    }
    run x;
    cpo_error e;
    ck_assert_msg(run_plan(&x, ds, "1", "1:AUSDT:5", NULL, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(x.r->n_trades, 0);
    ck_assert_uint_eq(x.r->n_events, 1);
    ck_assert_int_eq(x.r->events[0].kind, CPO_EVENT_NO_PRICE);
    ck_assert_str_eq(x.r->events[0].msg, "AUSDT: no open price at this step; order of 5 dropped");
    ck_assert_double_eq(x.r->equity[3], 1000.0);
    check_ledger(x.r, 1000.0);
    run_free(&x);
    cpo_dataset_free(ds);
}
END_TEST

static void cap_half(cpo_run_spec *s)
{
    s->costs.participation_cap = 0.5;
    s->costs.impact_coef = 0.1;
}

static void impact_only(cpo_run_spec *s)
{
    s->costs.impact_coef = 0.1;
}

START_TEST(test_numeric_engine__zero_volume_cap_and_impact)
{
    /* Every bar has volume 0.  With a participation cap of 50% the largest
     * fill is 0.5 * 0 = 0: the order of 5 is cut to 0 (a capped event), no
     * trade.  With impact alone (no cap), sqrt(qty / 0) is not taken: the
     * impact term is skipped at zero volume (vol > 0 guard), so the fill
     * is at the open, 10, with no slippage. */
    cpo_dataset *ds = new_ds();
    size_t i = add(ds, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "A", "USDT");
    bars(ds, i, 4, 10.0, 0.0, 0, -1, 0.0);
    run x;
    cpo_error e;
    ck_assert_msg(run_plan(&x, ds, "0", "0:AUSDT:5", cap_half, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(x.r->n_trades, 0);
    ck_assert_uint_eq(x.r->n_events, 1);
    ck_assert_int_eq(x.r->events[0].kind, CPO_EVENT_CAPPED);
    ck_assert_str_eq(x.r->events[0].msg, "AUSDT: order of 5 cut to 0 by the participation cap");
    check_ledger(x.r, 1000.0);
    run_free(&x);

    ck_assert_msg(run_plan(&x, ds, "0", "0:AUSDT:5", impact_only, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(x.r->n_trades, 1);
    ck_assert_double_eq(x.r->trades[0].px, 10.0);
    ck_assert_double_eq(x.r->trades[0].slippage, 0.0);
    ck_assert_double_eq(x.r->final_qty[i], 5.0);
    check_ledger(x.r, 1000.0);
    run_free(&x);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_numeric_engine__dust_quantity_not_traded)
{
    /* A target of 1e-300 contracts at 10 is worth 1e-299, under the dust
     * rule's 1e-9 * equity = 1e-6: no order, no trade, no event; the same
     * for a target weight of 1e-300 (1e-300 * 1000 / 10 = 1e-298
     * contracts). */
    cpo_dataset *ds = new_ds();
    size_t i = add(ds, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "A", "USDT");
    bars(ds, i, 4, 10.0, 100.0, 0, -1, 0.0);
    run x;
    cpo_error e;
    ck_assert_msg(run_plan(&x, ds, "0,1", "0:AUSDT:1e-300,1:AUSDT:1e-298%", NULL, &e) == 0, "%s",
                  tu_errstr(&e));
    ck_assert_uint_eq(x.r->n_rebalances, 2);
    ck_assert_uint_eq(x.r->n_trades, 0);
    ck_assert_uint_eq(x.r->n_events, 0);
    ck_assert_double_eq(x.r->final_qty[i], 0.0);
    check_ledger(x.r, 1000.0);
    run_free(&x);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_numeric_engine__huge_weight_capped_to_balance)
{
    /* Target weights of 1e12 (1e14 %) on a spot coin and a linear perp at
     * 10, imr 1 (cpo_costs_init), no fees.  The spot buy is sized at
     * 1e12 * 1000 / 10 = 1e14 coins; the wallet holds 1000, so it is cut to
     * 1000 / 10 * (1 - 1e-12) = 100 coins (to 1e-9) with a margin event,
     * and the wallet is left at about 0, never below.  The perp, decided
     * the step after, has only that crumb (1e-9, below 1e-9 of the
     * capital) to margin: cut to nothing (a second margin event), not to a
     * dust trade.  Equity stays 1000 (flat prices) and every line is
     * finite. */
    cpo_dataset *ds = new_ds();
    size_t s = add(ds, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "A", "USDT");
    size_t p = add(ds, "APERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, "A", "USDT");
    bars(ds, s, 5, 10.0, 1e9, 0, -1, 0.0);
    bars(ds, p, 5, 10.0, 1e9, 0, -1, 0.0);
    run x;
    cpo_error e;
    ck_assert_msg(run_plan(&x, ds, "0,1", "0:AUSDT:1e14%,1:APERP:1e14%", NULL, &e) == 0, "%s",
                  tu_errstr(&e));
    ck_assert_uint_eq(x.r->n_trades, 1);
    ck_assert_double_eq_tol(x.r->trades[0].qty, 100.0, 1e-9);
    ck_assert_double_eq(x.r->final_qty[p], 0.0);
    ck_assert_uint_eq(x.r->n_events, 2);
    ck_assert_ptr_nonnull(strstr(x.r->events[1].msg, "cut to 0 for lack of cash or margin"));
    ck_assert_int_eq(x.r->events[0].kind, CPO_EVENT_MARGIN);
    ck_assert_int_eq(x.r->events[1].kind, CPO_EVENT_MARGIN);
    for (size_t t = 0; t < x.r->n_steps; t++) {
        ck_assert_double_eq_tol(x.r->equity[t], 1000.0, 1e-9);
        ck_assert_msg(x.r->cash[t] >= 0.0, "cash[%zu] = %.17g", t, x.r->cash[t]);
    }
    check_ledger(x.r, 1000.0);
    run_free(&x);
    cpo_dataset_free(ds);
}
END_TEST

static void imr_tenth(cpo_run_spec *s)
{
    s->costs.kind[CPO_KIND_PERP].imr = 0.1;
}

START_TEST(test_numeric_engine__huge_perp_weight_within_margin)
{
    /* A target of 1e12 on a linear perp alone, leverage 10 (imr 0.1): the
     * order of 1e14 contracts needs 1e14 * 10 * 0.1 = 1e14 of margin; the
     * 1000 available buys 1000 / (10 * 0.1) * (1 - 1e-12) = 1000
     * contracts (to 1e-9), with a margin event.  The price then falls 5%
     * (10 -> 9.5): the long loses 1000 * 0.5 = 500, equity 500, still
     * above maintenance (1000 * 9.5 * 0.005 = 47.5); every number finite
     * and the identity holds. */
    cpo_dataset *ds = new_ds();
    size_t p = add(ds, "APERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, "A", "USDT");
    cpo_bars *b = &ds->bars[p];
    b->bar_ms = CPO_MS_DAY;
    static const double px[4] = {10, 10, 9.5, 9.5};
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(cpo_bars_append(b, DAY0 + k * CPO_MS_DAY, px[k], px[k], px[k], px[k], 1e9,
                                         NAN, NAN, NAN, NAN),
                         0);
    run x;
    cpo_error e;
    ck_assert_msg(run_plan(&x, ds, "0", "0:APERP:1e14%", imr_tenth, &e) == 0, "%s",
                  tu_errstr(&e));
    ck_assert_uint_eq(x.r->n_trades, 1);
    ck_assert_double_eq_tol(x.r->trades[0].qty, 1000.0, 1e-6);
    ck_assert_uint_eq(x.r->n_events, 1);
    ck_assert_int_eq(x.r->events[0].kind, CPO_EVENT_MARGIN);
    ck_assert_double_eq_tol(x.r->equity[3], 500.0, 1e-6);
    check_ledger(x.r, 1000.0);
    run_free(&x);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_numeric_engine__huge_spot_short_within_margin)
{
    /* A target of -1e12 on a spot coin at 10, spot imr 1 (cpo_costs_init),
     * no fees: a short sale keeps its proceeds as cash and posts its value
     * again as margin, so the 1000 of capital shorts 1000 / (10 * 1) *
     * (1 - 1e-12) = 100 coins (to 1e-9), with a margin event.  The price
     * then rises 10% (10 -> 11): the short loses 100 * 1 = 100, equity 900.
     * A second order at step 2 buys back 150 coins: 100 cover the short
     * (freeing cash, first pass), the other 50 are a new long that needs
     * 50 * 11 = 550 of cash; the wallet holds 900 after the cover, so they
     * fill whole. */
    cpo_dataset *ds = new_ds();
    size_t sp = add(ds, "AUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "A", "USDT");
    cpo_bars *b = &ds->bars[sp];
    b->bar_ms = CPO_MS_DAY;
    static const double px[5] = {10, 10, 11, 11, 11};
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(cpo_bars_append(b, DAY0 + k * CPO_MS_DAY, px[k], px[k], px[k], px[k], 1e9,
                                         NAN, NAN, NAN, NAN),
                         0);
    run x;
    cpo_error e;
    ck_assert_msg(run_plan(&x, ds, "0,2", "0:AUSDT:-1e14%,2:AUSDT:50", NULL, &e) == 0, "%s",
                  tu_errstr(&e));
    ck_assert_uint_eq(x.r->n_events, 1);
    ck_assert_int_eq(x.r->events[0].kind, CPO_EVENT_MARGIN);
    ck_assert_uint_eq(x.r->n_trades, 3);
    ck_assert_double_eq_tol(x.r->trades[0].qty, -100.0, 1e-9);
    ck_assert_double_eq_tol(x.r->equity[2], 900.0, 1e-9);
    ck_assert_double_eq_tol(x.r->trades[1].qty, 100.0, 1e-9);
    ck_assert_double_eq_tol(x.r->trades[2].qty, 50.0, 1e-9);
    ck_assert_double_eq_tol(x.r->final_qty[sp], 50.0, 1e-9);
    ck_assert_double_eq_tol(x.r->equity[4], 900.0, 1e-9);
    check_ledger(x.r, 1000.0);
    run_free(&x);
    cpo_dataset_free(ds);
}
END_TEST

/* --- the config: leverage and margin out of range -------------------------- */

START_TEST(test_numeric_config__leverage_and_margin_ranges)
{
    /* run/config.c: perp_leverage in [1, 200], perp_imr in [0.005, 1]
     * (1 / 200 .. 1), capital in (0, 1e15], basis points in [0, 1000]. */
    static const struct {
        const char *line;
        const char *msg;
    } cases[] = {
        {"perp_leverage = 1e12",
         ":5: perp_leverage = \"1e12\" is not valid (expected a leverage in [1, 200])"},
        {"perp_leverage = 1e-300",
         ":5: perp_leverage = \"1e-300\" is not valid (expected a leverage in [1, 200])"},
        {"perp_imr = 1e12",
         ":5: perp_imr = \"1e12\" is not valid (expected an initial margin rate in [0.005, 1]: "
         "leverage 1 to 200)"},
        {"perp_imr = 1e-300",
         ":5: perp_imr = \"1e-300\" is not valid (expected an initial margin rate in [0.005, 1]: "
         "leverage 1 to 200)"},
        {"perp_mmr = 1e-300\nperp_imr = 1e-300",
         ":6: perp_imr = \"1e-300\" is not valid (expected an initial margin rate in [0.005, 1]: "
         "leverage 1 to 200)"},
        {"slippage_bps = 1e12",
         ":5: slippage_bps = \"1e12\" is not valid (expected a number of basis points in [0, "
         "1000])"},
        {"participation_cap = nan",
         ":5: participation_cap = \"nan\" is not valid (expected a fraction of bar volume in [0, "
         "1]; 0 = no cap)"},
        {"impact_coef = inf",
         ":5: impact_coef = \"inf\" is not valid (expected a number in [0, 100]; 0 = no impact)"},
    };
    char *dir = tu_tmpdir();
    char *cfg = tu_path(dir, "n.ini");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "[backtest]\ndata = x.h5\ncapital = 1000\n[costs]\n%s\n"
                 "[strategy]\nschedule = once\nweigh = equal\n",
                 cases[c].line);
        tu_write_file(cfg, text);
        cpo_config *cf = NULL;
        cpo_error e;
        ck_assert_int_eq(cpo_config_load(&cf, cfg, &e), CPO_ECONFIG);
        ck_assert_ptr_null(cf);
        char want[1024];
        snprintf(want, sizeof want, "%s%s", cfg, cases[c].msg);
        ck_assert_str_eq(tu_errstr(&e), want);
    }
    /* capital: 1e300 and 1e-300 against (0, 1e15]: the large one is
     * refused; 1e-300 is a positive amount and is taken. */
    tu_write_file(cfg, "[backtest]\ndata = x.h5\ncapital = 1e300\n"
                       "[strategy]\nschedule = once\nweigh = equal\n");
    cpo_config *cf = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_config_load(&cf, cfg, &e), CPO_ECONFIG);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:3: capital = \"1e300\" is not valid (expected a positive amount up to 1e15)", cfg);
    ck_assert_str_eq(tu_errstr(&e), want);
    tu_rmtree(dir);
    free(dir);
    free(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("numeric");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_numeric_market__bad_prices_refused);
    tcase_add_test(tc, test_numeric_market__bad_funding_refused);
    tcase_add_test(tc, test_numeric_engine__missing_price_order_dropped);
    tcase_add_test(tc, test_numeric_engine__zero_volume_cap_and_impact);
    tcase_add_test(tc, test_numeric_engine__dust_quantity_not_traded);
    tcase_add_test(tc, test_numeric_engine__huge_weight_capped_to_balance);
    tcase_add_test(tc, test_numeric_engine__huge_perp_weight_within_margin);
    tcase_add_test(tc, test_numeric_engine__huge_spot_short_within_margin);
    tcase_add_test(tc, test_numeric_config__leverage_and_margin_ranges);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
