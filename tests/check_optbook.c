/*
 * check_optbook.c - option positions in the engine: fills, fees, marks
 * from the chain and the surface, settlement, the Greek P&L explain.
 *
 * The market is built by hand: an hourly BTCUSDT index (close 100 + t/2,
 * open = the previous close) and a BTC chain of two snapshots with a flat
 * 60 % (then 70 %) smile on one expiry.  Expected numbers come from the
 * contract rules of the methods notes (section 2.1: payoff in coin
 * max(S-K,0)/S; section 1.4: fee 0.0003 coin capped at 12.5 % of the
 * premium, delivery fee 0.00015 capped at 12.5 % of the payoff) worked out
 * by hand in the comments, and from cpo_black76 (checked against published
 * values in check_black76) for model prices.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/backtest.h"
#include "cpo/black76.h"
#include "cpo/dataset.h"
#include "cpo/market.h"
#include "cpo/surface.h"
#include "cpo/time.h"
#include "params.h"
#include "testutil.h"

#define HOUR INT64_C(3600000)
static const int64_t T0 = INT64_C(1767312000000); /* 2026-01-02T00:00Z */
#define NSTEPS 40
#define EXPIRY (T0 + 32 * HOUR) /* 2026-01-03T08:00Z, the open of step 32 */

/* --- test stages ------------------------------------------------------------ */

/* schedule: fire at the listed steps. */
static const cpo_param_spec at_params[] = {
    {"steps", CPO_PARAM_LIST, "", 0, 0, NULL, "steps at which to fire"},
};

static int at_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)st;
    (void)err;
    for (size_t k = 0; k < h->param_count(p, "steps"); k++)
        if ((size_t)atol(h->param_item(p, "steps", k)) == h->step(v))
            io->fire = 1;
    return 0;
}

static const cpo_stage_def at_def = {CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "at",
                                     CPO_ROLE_SCHEDULE, "fire at listed steps", at_params, 1,
                                     NULL, at_run, NULL};

/* weigh: option targets "step:C|P:strike:qty" on the one expiry. */
static const cpo_param_spec opt_params[] = {
    {"plan", CPO_PARAM_LIST, "", 0, 0, NULL, "step:C|P:strike:qty"},
};

static int opt_run(void *st, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_stage_io *io, cpo_error *err)
{
    (void)st;
    (void)err;
    for (size_t k = 0; k < h->param_count(p, "plan"); k++) {
        char right;
        double strike, qty;
        unsigned long step;
        if (sscanf(h->param_item(p, "plan", k), "%lu:%c:%lf:%lf", &step, &right, &strike, &qty) != 4 ||
            step != h->step(v))
            continue;
        cpo_option_key key;
        memset(&key, 0, sizeof key);
        snprintf(key.underlying, sizeof key.underlying, "BTC");
        key.expiry_ms = EXPIRY;
        key.strike = strike;
        key.right = right == 'P' ? CPO_RIGHT_PUT : CPO_RIGHT_CALL;
        int rc = h->option_target(v, io, &key, qty);
        if (rc)
            return rc;
    }
    return 0;
}

static const cpo_stage_def opt_def = {CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "optplan",
                                      CPO_ROLE_WEIGH, "option targets from a plan", opt_params, 1,
                                      NULL, opt_run, NULL};

/* --- fixture ------------------------------------------------------------------ */

typedef struct fixture {
    cpo_dataset *ds;
    cpo_market *m;
    cpo_run_spec spec;
    cpo_params *p_at, *p_opt;
    cpo_result *r;
} fixture;

static double idx_close(size_t t) { return 100.0 + 0.5 * (double)t; }

/* One snapshot at ts: calls and puts at strikes 80..120 step 10, flat vol,
 * marks = Black-76 / F (Deribit's convention) at F = I = index. */
static void add_snapshot(cpo_chain *ch, int64_t ts, double index, double vol, int with_book)
{
    for (int s = 80; s <= 120; s += 10)
        for (int right = CPO_RIGHT_CALL; right <= CPO_RIGHT_PUT; right++) {
            size_t r;
            ck_assert_int_eq(cpo_chain_append_row(ch, &r), 0);
            ch->ts[r] = ts;
            ch->expiry_ms[r] = EXPIRY;
            ch->strike[r] = s;
            ch->right[r] = (int8_t)right;
            double T = (double)(EXPIRY - ts) / (365.0 * 86400000.0);
            cpo_black76_in in = {index, s, T, 0.0, vol, right};
            cpo_black76_out o;
            ck_assert_int_eq(cpo_black76(&in, &o), 0);
            ch->mark_px[r] = o.price / index;
            ch->mark_iv[r] = vol;
            ch->fwd_px[r] = index;
            ch->index_px[r] = index;
            if (with_book) {
                ch->bid_px[r] = ch->mark_px[r] - 0.001;
                ch->ask_px[r] = ch->mark_px[r] + 0.001;
            }
            snprintf(ch->name[r], sizeof ch->name[r], "BTC-3JAN26-%d-%c", s,
                     right == CPO_RIGHT_PUT ? 'P' : 'C');
        }
}

static void fx_init(fixture *f, int with_book)
{
    memset(f, 0, sizeof *f);
    ck_assert_int_eq(cpo_dataset_new(&f->ds, NULL), 0);
    cpo_instrument in;
    cpo_instrument_init(&in, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    snprintf(in.base, sizeof in.base, "BTC");
    snprintf(in.quote, sizeof in.quote, "USDT");
    size_t i;
    ck_assert_int_eq(cpo_dataset_add(f->ds, &in, &i, NULL), 0);
    cpo_bars *b = &f->ds->bars[i];
    b->bar_ms = HOUR;
    for (size_t t = 0; t < NSTEPS; t++) {
        double o = t ? idx_close(t - 1) : 100.0, c = idx_close(t);
        ck_assert_int_eq(cpo_bars_append(b, T0 + (int64_t)t * HOUR, o, fmax(o, c), fmin(o, c), c, 1e6,
                                         NAN, NAN, NAN, NAN),
                         0);
    }
    cpo_chain *ch;
    ck_assert_int_eq(cpo_dataset_chain(f->ds, "BTC", &ch, NULL), 0);
    /* Snapshot 1 at 01:30 (in bar 1), snapshot 2 at 05:20 (in bar 5). */
    add_snapshot(ch, T0 + HOUR + HOUR / 2, 100.0, 0.60, with_book);
    add_snapshot(ch, T0 + 5 * HOUR + HOUR / 3, idx_close(5), 0.70, with_book);
    ck_assert_int_eq(cpo_chain_sort(ch), 0);
    cpo_run_spec_init(&f->spec);
    f->spec.capital = 100000.0;
    /* Held in BTC (1,000 coins at the first close, 100), which margins the
     * options and pays their premiums, as on Deribit. */
    snprintf(f->spec.collateral, sizeof f->spec.collateral, "BTC");
    /* The fills of these tests are 1.5 hours after the first snapshot: a
     * quote of up to 6 hours may be traded (the default, one bar, is
     * test_optbook_quotes__stale_waits_fresh_fills's). */
    f->spec.options.max_quote_age_ms = 6 * HOUR;
    f->spec.costs.slippage_bps = 0.0;
    f->spec.options.enabled = 1;
    f->spec.options.n_underlyings = 1;
    snprintf(f->spec.options.underlying[0], sizeof f->spec.options.underlying[0], "BTC");
    snprintf(f->spec.options.index[0], sizeof f->spec.options.index[0], "BTCUSDT");
}

static int fx_run_built(fixture *f, const char *steps, const char *plan, cpo_error *e);

static int fx_run(fixture *f, const char *steps, const char *plan, cpo_error *e)
{
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    ck_assert_msg(cpo_market_build(&f->m, f->ds, &ms, e) == 0, "%s", tu_errstr(e));
    return fx_run_built(f, steps, plan, e);
}

/* fx_run on the market f->m built already. */
static int fx_run_built(fixture *f, const char *steps, const char *plan, cpo_error *e)
{
    ck_assert_int_eq(cpo_params_new(&f->p_at, &at_def, NULL), 0);
    ck_assert_int_eq(cpo_params_new(&f->p_opt, &opt_def, NULL), 0);
    ck_assert_int_eq(cpo_params_set(f->p_at, "steps", steps, NULL, 0), 0);
    ck_assert_int_eq(cpo_params_set(f->p_opt, "plan", plan, NULL, 0), 0);
    ck_assert_int_eq(cpo_params_finish(f->p_at, NULL), 0);
    ck_assert_int_eq(cpo_params_finish(f->p_opt, NULL), 0);
    f->spec.stages[0].def = &at_def;
    f->spec.stages[0].params = f->p_at;
    f->spec.stages[1].def = &opt_def;
    f->spec.stages[1].params = f->p_opt;
    f->spec.n_stages = 2;
    return cpo_backtest_run(&f->r, f->m, &f->spec, NULL, NULL, e);
}

static void fx_fini(fixture *f)
{
    cpo_result_free(f->r);
    cpo_market_free(f->m);
    cpo_dataset_free(f->ds);
    cpo_params_free(f->p_at);
    cpo_params_free(f->p_opt);
}

static const cpo_option_trade *find_trade(const cpo_result *r, const char *name, int settlement)
{
    for (size_t k = 0; k < r->n_opt_trades; k++)
        if (!strcmp(r->opt_trades[k].name, name) && r->opt_trades[k].settlement == settlement)
            return &r->opt_trades[k];
    return NULL;
}

static long ccy_of(const cpo_result *r, const char *name)
{
    for (size_t c = 0; c < r->n_ccy; c++)
        if (!strcmp(r->ccy[c], name))
            return (long)c;
    return -1;
}

/* Every step: the ledger lines add to the change in equity, the Taylor
 * lines and the waterfall lines each add to the options line, and the
 * rows' coin MTM at the step's rate add to it too. */
static void check_explain(const cpo_result *r, double capital)
{
    double prev = capital;
    size_t row = 0;
    for (size_t t = 0; t < r->n_steps; t++) {
        double s = 0.0;
        for (int l = 0; l < CPO_PNL_RESIDUAL; l++)
            s += r->pnl[l][t];
        double d = r->equity[t] - prev, tol = 1e-12 * fmax(fabs(r->equity[t]), 1.0);
        ck_assert_msg(fabs(d - s) <= tol, "step %zu: change %.17g, lines %.17g", t, d, s);
        ck_assert_msg(fabs(r->pnl[CPO_PNL_RESIDUAL][t]) <= tol, "step %zu: residual %.17g", t,
                      r->pnl[CPO_PNL_RESIDUAL][t]);
        double opt = r->pnl[CPO_PNL_OPTIONS][t], g = 0.0, w = 0.0, rows = 0.0;
        for (int l = 0; l < CPO_GREEK_COUNT; l++)
            g += r->greek[l][t];
        for (int l = 0; l < CPO_WF_COUNT; l++)
            w += r->wf[l][t];
        ck_assert_msg(fabs(g - opt) <= 1e-9 * fmax(fabs(opt), 1.0), "step %zu: greeks %.17g vs %.17g", t, g, opt);
        ck_assert_msg(fabs(w - opt) <= 1e-9 * fmax(fabs(opt), 1.0), "step %zu: waterfall %.17g vs %.17g", t, w, opt);
        for (; row < r->n_opt_rows && r->opt_rows[row].ts == r->ts[t]; row++) {
            const cpo_option_row *o = &r->opt_rows[row];
            double gs = 0.0, ws = 0.0;
            for (int l = 0; l < CPO_GREEK_COUNT; l++)
                gs += o->greek_coin[l];
            for (int l = 0; l < CPO_WF_COUNT; l++)
                ws += o->wf_coin[l];
            ck_assert_double_eq_tol(gs, o->mtm_coin, 1e-15);
            ck_assert_double_eq_tol(ws, o->mtm_coin, 1e-15);
            rows += o->mtm_coin * o->rate;
        }
        ck_assert_msg(fabs(rows - opt) <= 1e-9 * fmax(fabs(opt), 1.0), "step %zu: rows %.17g vs line %.17g",
                      t, rows, opt);
        prev = r->equity[t];
    }
    ck_assert_uint_eq(row, r->n_opt_rows);
}

/* --- tests ------------------------------------------------------------------------ */

/*
 * Short strangle (call 110, put 90), decided at step 2 (after the first
 * snapshot), filled at the open of step 3 at the surface price, held to
 * expiry at the open of step 32.
 */
START_TEST(test_optbook_strangle__fills_fees_settlement_by_hand)
{
    fixture f;
    fx_init(&f, 0);
    cpo_error e;
    ck_assert_msg(fx_run(&f, "2", "2:C:110:-2,2:P:90:-3", &e) == 0, "%s", tu_errstr(&e));
    const cpo_result *r = f.r;
    ck_assert_uint_eq(r->n_events, 0);
    ck_assert_uint_eq(r->n_opt_trades, 4);
    /* The fills at the open of step 3: I = close[2] = 101, F = I (the
     * snapshot's forward equals its index: basis 0), sigma = 60 % (flat
     * smile, sticky strike), T = 29 hours; no spread in the data, no
     * slippage: px = the model price. */
    double T = 29.0 / 8760.0;
    cpo_black76_in ci = {101.0, 110.0, T, 0.0, 0.60, CPO_RIGHT_CALL};
    cpo_black76_in pi = {101.0, 90.0, T, 0.0, 0.60, CPO_RIGHT_PUT};
    cpo_black76_out co, po;
    ck_assert_int_eq(cpo_black76(&ci, &co), 0);
    ck_assert_int_eq(cpo_black76(&pi, &po), 0);
    const cpo_option_trade *c = find_trade(r, "BTC-3JAN26-110-C", 0);
    const cpo_option_trade *p = find_trade(r, "BTC-3JAN26-90-P", 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(c->step, 3);
    ck_assert_double_eq_tol(c->px, co.price / 101.0, 1e-16);
    ck_assert_double_eq_tol(p->px, po.price / 101.0, 1e-16);
    ck_assert_double_eq(c->qty, -2.0);
    ck_assert_double_eq(p->qty, -3.0);
    /* Fees: 0.0003 coin a contract, capped at 12.5 % of the premium; both
     * premiums are below 0.0024 coin (7.9e-5 and 3.6e-6), so the cap binds:
     * fee = qty * 0.125 * px. */
    ck_assert(c->px < 0.0024 && p->px < 0.0024);
    ck_assert_double_eq_tol(c->fee, 2 * 0.125 * c->px, 1e-18);
    ck_assert_double_eq_tol(p->fee, 3 * 0.125 * p->px, 1e-18);
    /* Settlement at the open of step 32 (08:00 UTC, the expiry) at the
     * delivery price, the 30-minute TWAP of the index before 08:00: from
     * the hourly bar 07:00-08:00 (open 115, close 115.5) taken as a line,
     * its mean over 07:30-08:00 = 0.25 x 115 + 0.75 x 115.5 = 115.375 (an
     * estimate: flagged).  Call 110: payoff (115.375-110)/115.375 coin a
     * contract, delivery fee min(0.00015, 0.125 * payoff) = 0.00015 a
     * contract; the put 90 expires worthless, no fee. */
    const cpo_option_trade *cs = find_trade(r, "BTC-3JAN26-110-C", 1);
    const cpo_option_trade *ps = find_trade(r, "BTC-3JAN26-90-P", 1);
    ck_assert_ptr_nonnull(cs);
    ck_assert_ptr_nonnull(ps);
    ck_assert_uint_eq(cs->step, 32);
    ck_assert_int_eq(cs->ts == EXPIRY, 1);
    ck_assert_double_eq_tol(cs->index, 115.375, 1e-12);
    ck_assert_double_eq_tol(cs->px, 5.375 / 115.375, 1e-15);
    ck_assert_int_eq(cs->delivery_approx, 1);
    ck_assert_double_eq(cs->qty, 2.0);
    ck_assert_double_eq_tol(cs->fee, 2 * 0.00015, 1e-18);
    ck_assert_double_eq(ps->px, 0.0);
    ck_assert_double_eq(ps->fee, 0.0);
    /* The coin balance: premiums less fees at step 3, then the payoff and
     * the delivery fee at step 32. */
    long btc = ccy_of(r, "BTC");
    ck_assert_int_ge(btc, 0);
    const double *cash = r->cash + (size_t)btc * r->n_steps;
    ck_assert_double_eq(cash[2], 1000.0);
    ck_assert_double_eq_tol(cash[3] - cash[2], 2 * c->px + 3 * p->px - c->fee - p->fee, 1e-12);
    /* (1e-13: a difference of two balances near 1,000 coins) */
    ck_assert_double_eq_tol(cash[32] - cash[31], -2 * 5.375 / 115.375 - 0.0003, 1e-13);
    ck_assert_double_eq(cash[39], cash[32]);
    /* Marks: step 4 from the surface of the 01:30 snapshot (the 05:20 one
     * is not known at 05:00); step 5 from the chain (a snapshot in the
     * bar: 70 %); step 6 from the new surface (70 %). */
    int seen4 = 0, seen5 = 0, seen6 = 0, settled = 0;
    for (size_t k = 0; k < r->n_opt_rows; k++) {
        const cpo_option_row *o = &r->opt_rows[k];
        if (o->step == 4) {
            seen4++;
            ck_assert_int_eq(o->quote.source, CPO_OPT_SRC_SURFACE);
            ck_assert_double_eq(o->quote.vol, 0.60);
        } else if (o->step == 5) {
            seen5++;
            ck_assert_int_eq(o->quote.source, CPO_OPT_SRC_CHAIN);
            ck_assert_double_eq(o->quote.vol, 0.70);
            /* One time for the mark: the snapshot's IV at the close's
             * index (102.5 = its forward, moved with the index: the row's
             * forward equals its index) and time: Black-76 / F, not the
             * row's coin mark of 05:20. */
            double Tc = (double)(EXPIRY - (T0 + 6 * HOUR - 1)) / (365.0 * 86400000.0);
            cpo_black76_in mi = {idx_close(5), o->key.strike, Tc, 0.0, 0.70, o->key.right};
            cpo_black76_out mo;
            ck_assert_int_eq(cpo_black76(&mi, &mo), 0);
            ck_assert_double_eq_tol(o->quote.coin.price, mo.price / idx_close(5), 1e-15);
        } else if (o->step == 6) {
            seen6++;
            ck_assert_int_eq(o->quote.source, CPO_OPT_SRC_SURFACE);
            ck_assert_double_eq(o->quote.vol, 0.70);
        }
        settled += o->settled;
        ck_assert_uint_le(o->step, 32);
    }
    ck_assert_int_eq(seen4, 2);
    ck_assert_int_eq(seen5, 2);
    ck_assert_int_eq(seen6, 2);
    ck_assert_int_eq(settled, 2);
    ck_assert_uint_eq(r->n_chain_marks, 2);
    /* 2 positions marked at steps 3..31 (29 closes), 2 of them from the chain. */
    ck_assert_uint_eq(r->n_surface_marks, 2 * 29 - 2);
    /* The vol rise 60 % -> 70 % at step 5 costs the short book: the vega
     * and waterfall vol terms are negative there, and only there. */
    ck_assert(r->greek[CPO_GREEK_VEGA][5] < 0.0 && r->wf[CPO_WF_VOL][5] < 0.0);
    ck_assert_double_eq(r->greek[CPO_GREEK_VEGA][4], 0.0);
    ck_assert_double_eq(r->wf[CPO_WF_VOL][6], 0.0);
    /* Short options earn theta while held. */
    for (size_t t = 3; t < 31; t++)
        ck_assert_msg(r->greek[CPO_GREEK_THETA][t] > 0.0, "step %zu", t);
    /* Near expiry (the hours where a step is more than a tenth of the time
     * left) theta is revaluation theta: the unexplained part stays within
     * the methods' 10 % of the options line (METHODS 3) on every step
     * with a real move, the last hour before expiry included. */
    for (size_t t = 24; t < 32; t++) {
        double opt = r->pnl[CPO_PNL_OPTIONS][t], un = r->greek[CPO_GREEK_UNEXPLAINED][t];
        ck_assert_msg(fabs(un) <= 0.1 * fabs(opt) || fabs(opt) < 1e-3,
                      "step %zu: unexplained %.17g of %.17g", t, un, opt);
    }
    check_explain(r, 100000.0);
    fx_fini(&f);
}
END_TEST

/*
 * A long call bought at step 2 and sold at step 10 (both filled at the
 * next open) on a chain with a bid-ask of +-0.001 coin around the mark:
 * each fill pays half the spread (0.001 coin) against the model price,
 * booked as slippage, plus the fee.
 */
START_TEST(test_optbook_round_trip__half_spread_and_close)
{
    fixture f;
    fx_init(&f, 1);
    f.spec.costs.slippage_bps = 0.0;
    cpo_error e;
    ck_assert_msg(fx_run(&f, "2,10", "2:C:100:1.5,10:C:100:0", &e) == 0, "%s", tu_errstr(&e));
    const cpo_result *r = f.r;
    ck_assert_uint_eq(r->n_opt_trades, 2);
    const cpo_option_trade *b = &r->opt_trades[0], *s = &r->opt_trades[1];
    ck_assert_double_eq(b->qty, 1.5);
    ck_assert_double_eq(s->qty, -1.5);
    ck_assert_uint_eq(b->step, 3);
    ck_assert_uint_eq(s->step, 11);
    ck_assert_double_eq_tol(b->px - b->ref_px, 0.001, 1e-15);
    ck_assert_double_eq_tol(s->ref_px - s->px, 0.001, 1e-15);
    ck_assert_double_eq_tol(b->slippage, 1.5 * 0.001, 1e-15);
    ck_assert_double_eq_tol(s->slippage, 1.5 * 0.001, 1e-15);
    /* ATM premiums (~0.02 coin) put the cap at ~0.0025: the fee is 0.0003
     * a contract. */
    ck_assert_double_eq_tol(b->fee, 1.5 * 0.0003, 1e-18);
    ck_assert_double_eq_tol(s->fee, 1.5 * 0.0003, 1e-18);
    /* The slippage and fee lines of those steps are those amounts at the
     * BTC rate of the step (the index close). */
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_SLIPPAGE][3], -1.5 * 0.001 * idx_close(3), 1e-12);
    ck_assert_double_eq_tol(r->pnl[CPO_PNL_FEES][11], -1.5 * 0.0003 * idx_close(11), 1e-12);
    /* Closed: no row after step 11, the last row holds the step's MTM. */
    ck_assert_uint_eq(r->opt_rows[r->n_opt_rows - 1].step, 11);
    check_explain(r, 100000.0);
    fx_fini(&f);
}
END_TEST

/* Fill at the close: the order decided at step 2 fills at the close of
 * step 2 at the mark of that close. */
START_TEST(test_optbook_fill_at_close)
{
    fixture f;
    fx_init(&f, 0);
    f.spec.fill = CPO_FILL_THIS_CLOSE;
    cpo_error e;
    ck_assert_msg(fx_run(&f, "2", "2:P:100:-1", &e) == 0, "%s", tu_errstr(&e));
    const cpo_result *r = f.r;
    ck_assert_uint_ge(r->n_opt_trades, 1);
    ck_assert_uint_eq(r->opt_trades[0].step, 2);
    /* I = close[2] = 101, T = (32h - 3h + 1 ms)... the close is valued at
     * the bar's last millisecond: T = (EXPIRY - (ts_end - 1)) / year. */
    double T = ((double)(EXPIRY - (T0 + 3 * HOUR - 1))) / (365.0 * 86400000.0);
    cpo_black76_in in = {101.0, 100.0, T, 0.0, 0.60, CPO_RIGHT_PUT};
    cpo_black76_out o;
    ck_assert_int_eq(cpo_black76(&in, &o), 0);
    ck_assert_double_eq_tol(r->opt_trades[0].px, o.price / 101.0, 1e-16);
    check_explain(r, 100000.0);
    fx_fini(&f);
}
END_TEST


/* Fresh quotes only: with the default max_quote_age (one bar) an order
 * decided at step 2 does not fill on the snapshot of 01:30 (1.5 hours old
 * at the open of step 3); it waits, with one event, until the snapshot of
 * 05:20 makes a fresh quote: filled at the open of step 6 (40 minutes). */
START_TEST(test_optbook_quotes__stale_waits_fresh_fills)
{
    fixture f;
    fx_init(&f, 0);
    f.spec.options.max_quote_age_ms = 0;
    cpo_error e;
    ck_assert_msg(fx_run(&f, "2", "2:P:100:-1", &e) == 0, "%s", tu_errstr(&e));
    const cpo_result *r = f.r;
    ck_assert_uint_eq(r->n_opt_trades, 2); /* the fill and the settlement */
    ck_assert_uint_eq(r->opt_trades[0].step, 6);
    ck_assert_int_eq(r->opt_trades[0].quote_ms, T0 + 5 * HOUR + HOUR / 3);
    ck_assert_int_eq(r->opt_trades[0].ts - r->opt_trades[0].quote_ms, 40 * 60 * 1000);
    ck_assert_uint_eq(r->n_quote_waits, 3); /* steps 3, 4, 5 */
    ck_assert_uint_eq(r->n_events, 1);
    ck_assert_int_eq(r->events[0].kind, CPO_EVENT_OPTION);
    ck_assert_str_eq(r->events[0].msg,
                     "BTC: the snapshot of 2026-01-02T01:30:00Z is 90 min old (max_quote_age): "
                     "BTC-3JAN26-100-P and later BTC orders wait for a fresh quote");
    check_explain(r, 100000.0);
    fx_fini(&f);
}
END_TEST

/* Settlement from minute bars: the delivery price is the TWAP of the
 * index's last 30 minutes before 08:00, here minute bars 07:30 .. 07:59
 * with open k and close k + 1 for k = 100 .. 129 (a line in each minute:
 * its mean is k + 0.5): (100.5 + 101.5 + ... + 129.5) / 30 = 115, exact
 * (not flagged); a bar ending after 08:00 is never used. */
START_TEST(test_optbook_delivery__twap_of_minute_bars)
{
    fixture f;
    fx_init(&f, 0);
    cpo_bars *raw = calloc(1, sizeof *raw);
    char (*sym)[CPO_SYMBOL_MAX] = calloc(1, sizeof *sym);
    ck_assert(raw && sym);
    cpo_bars_init(raw);
    raw->bar_ms = 60000;
    for (int k = 0; k < 40; k++) {
        double o = 100.0 + k, c = o + 1.0;
        if (k >= 30)
            o = c = 1e6; /* 08:00 and later: never used */
        ck_assert_int_eq(cpo_bars_append(raw, EXPIRY - 30 * 60000 + (int64_t)k * 60000, o,
                                         fmax(o, c), fmin(o, c), c, 1.0, NAN, NAN, NAN, NAN),
                         0);
    }
    snprintf(sym[0], CPO_SYMBOL_MAX, "BTC-INDEX-1M");
    snprintf(f.spec.options.delivery[0], CPO_SYMBOL_MAX, "BTC-INDEX-1M");
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    cpo_error e;
    ck_assert_msg(cpo_market_build(&f.m, f.ds, &ms, &e) == 0, "%s", tu_errstr(&e));
    f.m->raw = raw;
    f.m->raw_symbol = sym;
    f.m->n_raw = 1;
    ck_assert_msg(fx_run_built(&f, "2", "2:C:110:-2", &e) == 0, "%s", tu_errstr(&e));
    const cpo_option_trade *cs = find_trade(f.r, "BTC-3JAN26-110-C", 1);
    ck_assert_ptr_nonnull(cs);
    ck_assert_double_eq_tol(cs->index, 115.0, 1e-12);
    ck_assert_double_eq_tol(cs->px, 5.0 / 115.0, 1e-15);
    ck_assert_int_eq(cs->delivery_approx, 0);
    fx_fini(&f);
}
END_TEST

/* Orders without a price, or for an option that expired, are events; the
 * run goes on. */
START_TEST(test_optbook_orders__no_price_and_expired_are_events)
{
    fixture f;
    fx_init(&f, 0);
    cpo_error e;
    /* Step 0's order fills at the open of step 1 (01:00): the first
     * snapshot is taken at 01:30, so there is no price yet.  Step 33's
     * order is for an option that expired at step 32. */
    ck_assert_msg(fx_run(&f, "0,33", "0:C:100:1,33:C:100:1", &e) == 0, "%s", tu_errstr(&e));
    const cpo_result *r = f.r;
    ck_assert_uint_eq(r->n_opt_trades, 0);
    ck_assert_uint_eq(r->n_events, 2);
    ck_assert_int_eq(r->events[0].kind, CPO_EVENT_NO_PRICE);
    ck_assert_str_eq(r->events[0].msg, "BTC-3JAN26-100-C: no price at the fill; order of 1 ignored");
    ck_assert_int_eq(r->events[1].kind, CPO_EVENT_OPTION);
    ck_assert_str_eq(r->events[1].msg, "BTC-3JAN26-100-C: expired before the fill; order of 1 ignored");
    fx_fini(&f);
}
END_TEST

START_TEST(test_optbook_bad_spec__refused_with_messages)
{
    static const struct {
        const char *underlying, *index;
        int dvol;
        const char *msg;
    } cases[] = {
        {"ETH", "BTCUSDT", 0,
         "options: the data has no ETH option chain (expected a chain imported for underlying ETH)"},
        {"BTC", "BTCUSD_PERP", 0,
         "options: index instrument \"BTCUSD_PERP\" of BTC is not in the market (expected a spot "
         "or perpetual of BTC in the universe)"},
        {"BTC", "BTCUSDT", 1,
         "options: DVOL index \"BTC-DVOL\" of BTC is not in the data (expected an imported "
         "volatility index for dvol_scaled)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fixture f;
        fx_init(&f, 0);
        snprintf(f.spec.options.underlying[0], sizeof f.spec.options.underlying[0], "%s",
                 cases[k].underlying);
        snprintf(f.spec.options.index[0], sizeof f.spec.options.index[0], "%s", cases[k].index);
        if (cases[k].dvol) {
            f.spec.options.surface_mode = CPO_SURFACE_DVOL_SCALED;
            snprintf(f.spec.options.dvol[0], sizeof f.spec.options.dvol[0], "BTC-DVOL");
        }
        cpo_error e;
        memset(&e, 0, sizeof e);
        ck_assert_int_ne(fx_run(&f, "2", "2:C:100:1", &e), 0);
        ck_assert_str_eq(e.msg, cases[k].msg);
        ck_assert_ptr_null(f.r);
        fx_fini(&f);
    }
}
END_TEST

/* Same inputs, same result, bit for bit. */
START_TEST(test_optbook_determinism)
{
    fixture a, b;
    fx_init(&a, 1);
    fx_init(&b, 1);
    cpo_error e;
    ck_assert_int_eq(fx_run(&a, "2,7", "2:C:110:-2,2:P:90:-3,7:C:100:1", &e), 0);
    ck_assert_int_eq(fx_run(&b, "2,7", "2:C:110:-2,2:P:90:-3,7:C:100:1", &e), 0);
    ck_assert_uint_eq(a.r->n_opt_rows, b.r->n_opt_rows);
    ck_assert_int_eq(memcmp(a.r->equity, b.r->equity, a.r->n_steps * sizeof(double)), 0);
    for (int l = 0; l < CPO_GREEK_COUNT; l++)
        ck_assert_int_eq(memcmp(a.r->greek[l], b.r->greek[l], a.r->n_steps * sizeof(double)), 0);
    check_explain(a.r, 100000.0);
    fx_fini(&a);
    fx_fini(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optbook");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_optbook_strangle__fills_fees_settlement_by_hand);
    tcase_add_test(tc, test_optbook_round_trip__half_spread_and_close);
    tcase_add_test(tc, test_optbook_fill_at_close);
    tcase_add_test(tc, test_optbook_orders__no_price_and_expired_are_events);
    tcase_add_test(tc, test_optbook_quotes__stale_waits_fresh_fills);
    tcase_add_test(tc, test_optbook_delivery__twap_of_minute_bars);
    tcase_add_test(tc, test_optbook_bad_spec__refused_with_messages);
    tcase_add_test(tc, test_optbook_determinism);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
