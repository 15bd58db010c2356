/*
 * backtest.c - the engine: one pass over the time grid, one book, an exact
 * ledger.  The order of events within a step is documented in
 * include/cpo/backtest.h; the formulas (linear and inverse P&L, harmonic
 * entry, funding) are those of the project's methods notes, sections 0
 * and 1; margin, liquidation and ruin are engine/margin.c's.
 *
 * Accounting.  Every instrument settles in one currency: linear ones in
 * their quote (USDT, counted 1:1 with the reporting USD), inverse ones in
 * their base coin.  Per currency c the book holds cash_c (the wallet) and
 * the value of the positions settled in c:
 *
 *     spot           q * cs * mark                (the holding itself)
 *     linear perp    q * cs * (mark - entry)      (unrealised P&L)
 *     inverse perp   q * cs * (1/entry - 1/mark)  (unrealised P&L, coin)
 *
 * E_c = cash_c + sum of values; equity = sum_c E_c * rate_c(t).  Every
 * amount booked during step t in currency c goes to its P&L line at
 * rate_c(t), and E_c(t-1) * (rate_c(t) - rate_c(t-1)) is the revaluation
 * line, so that the lines add up to the change in equity by construction
 * of the identity, while equity itself is recomputed from cash and
 * positions at the end of every step: the residual line is the honest
 * difference between the two.
 */
#include "engine.h"

#include "cpo/time.h"
#include "params.h"

/* ------------------------------------------------------------------------ */

void cpo_costs_init(cpo_costs *c)
{
    memset(c, 0, sizeof *c);
    for (int k = 0; k < 4; k++) {
        c->kind[k].taker_bps = 5.0;
        c->kind[k].maker_bps = 2.0;
        c->kind[k].imr = 1.0;
        c->kind[k].mmr = 0.005;
    }
    c->kind[CPO_KIND_SPOT].taker_bps = 10.0;
    c->kind[CPO_KIND_SPOT].maker_bps = 10.0;
    c->lot_rounding = 1;
}

void cpo_run_spec_init(cpo_run_spec *s)
{
    memset(s, 0, sizeof *s);
    s->start_ms = CPO_TIME_NONE;
    s->end_ms = CPO_TIME_NONE;
    s->capital = 1e6;
    snprintf(s->currency, sizeof s->currency, "USD");
    s->fill = CPO_FILL_NEXT_OPEN;
    cpo_costs_init(&s->costs);
    cpo_option_spec_init(&s->options);
    cpo_margin_spec_init(&s->margin);
    s->futures.delivery_fee_bps = NAN;
}

const char *cpo_pnl_name(cpo_pnl_line l)
{
    static const char *const names[CPO_PNL_COUNT] = {
        "price",       "funding", "fees",      "slippage", "liquidation",
        "revaluation", "options", "financing", "residual"};
    return (unsigned)l < CPO_PNL_COUNT ? names[l] : "?";
}

int cpo_pnl_shown(const cpo_result *r, cpo_pnl_line l)
{
    return l != CPO_PNL_FINANCING || (r && r->has_financing);
}

double cpo_rate_at(const cpo_rate *r, int64_t t_ms)
{
    if (!r->n)
        return r->constant;
    size_t k = cpo_ts_count_before(r->ts, r->n, t_ms + 1); /* dated <= t */
    return r->rate[k ? k - 1 : 0];
}

const char *cpo_greek_name(cpo_greek_line g)
{
    static const char *const names[CPO_GREEK_COUNT] = {
        "delta", "gamma", "vega", "theta", "vanna", "volga", "rho", "unexplained"};
    return (unsigned)g < CPO_GREEK_COUNT ? names[g] : "?";
}

const char *cpo_book_greek_name(cpo_book_greek g)
{
    static const char *const names[CPO_BG_COUNT] = {"delta", "delta_usd", "gamma", "vega",
                                                    "theta", "vanna", "volga"};
    return (unsigned)g < CPO_BG_COUNT ? names[g] : "?";
}

const char *cpo_wf_name(cpo_wf_line w)
{
    static const char *const names[CPO_WF_COUNT] = {"wf_time", "wf_underlying", "wf_vol",
                                                    "wf_rate", "wf_residual"};
    return (unsigned)w < CPO_WF_COUNT ? names[w] : "?";
}

void cpo_option_spec_init(cpo_option_spec *o)
{
    memset(o, 0, sizeof *o);
    o->fee_rate = 0.0003;
    o->fee_cap = 0.125;
    o->delivery_rate = 0.00015;
    o->delivery_cap = 0.125;
    o->explain_rel = 0.10;
    o->explain_abs = 1e-5;
    o->max_positions = 64;
}

void cpo_result_free(cpo_result *r)
{
    if (!r)
        return;
    free(r->ts);
    free(r->equity);
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        free(r->pnl[l]);
    free(r->gross);
    free(r->net);
    free(r->cash);
    free(r->instr);
    free(r->final_qty);
    free(r->pnl_instr);
    free(r->trades);
    free(r->events);
    free(r->mark_from_close);
    for (int g = 0; g < CPO_GREEK_COUNT; g++)
        free(r->greek[g]);
    for (int w = 0; w < CPO_WF_COUNT; w++)
        free(r->wf[w]);
    free(r->explain_flag);
    free(r->opt_rows);
    free(r->opt_trades);
    free(r->im);
    free(r->mm);
    free(r->mb);
    free(r->mark_source);
    free(r->margin_model);
    free(r->book_greek);
    free(r->rf);
    free(r->fut_instr);
    free(r->fut_px);
    free(r->fut_index);
    free(r->fut_qty);
    free(r->fut_src);
    free(r);
}

int eng_event(engine *e, int kind, long instr, double value, const char *fmt, ...)
{
    cpo_result *r = e->r;
    if (r->n_events == e->cap_events) {
        size_t nc = e->cap_events ? e->cap_events * 2 : 16;
        cpo_event *p = realloc(r->events, nc * sizeof *p);
        if (!p)
            return nomem(e);
        r->events = p;
        e->cap_events = nc;
    }
    cpo_event *ev = &r->events[r->n_events++];
    memset(ev, 0, sizeof *ev);
    ev->ts = e->m->ts[e->t];
    ev->step = e->t;
    ev->instr = (int32_t)instr;
    ev->kind = kind;
    ev->value = value;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->msg, sizeof ev->msg, fmt, ap);
    va_end(ap);
    return 0;
}


int eng_trade(engine *e, size_t i, int64_t ts, double dq, double px, double ref, double fee,
              double slip, int liq)
{
    cpo_result *r = e->r;
    if (r->n_trades == e->cap_trades) {
        size_t nc = e->cap_trades ? e->cap_trades * 2 : 64;
        cpo_trade *p = realloc(r->trades, nc * sizeof *p);
        if (!p)
            return nomem(e);
        r->trades = p;
        e->cap_trades = nc;
    }
    cpo_trade *tr = &r->trades[r->n_trades++];
    memset(tr, 0, sizeof *tr); /* padding too: results compare byte for byte */
    tr->ts = ts;
    tr->step = e->t;
    tr->instr = (uint32_t)i;
    tr->qty = dq;
    tr->px = px;
    tr->ref_px = ref;
    tr->fee = fee;
    tr->slippage = slip;
    tr->liquidation = liq;
    return 0;
}

/*
 * Change the position of i by dq contracts at price px, measured against
 * the reference price ref (the position has been marked to ref already).
 * Books slippage (against ref) and the fee; moves realised P&L to cash.
 */
void eng_fill(engine *e, size_t i, double dq, double px, double ref, double fee)
{
    int c = e->ccy[i];
    double cs = e->cs[i];
    double q = e->q[i];
    int was = marg_pos(e, i);
    if (!e->perp[i]) {
        /* Spot: pay for the coins, hold them at ref. */
        e->cash[c] -= dq * cs * px;
        e->q[i] = q + dq;
        book(e, (long)i, c, CPO_PNL_SLIPPAGE, dq * cs * (ref - px));
    } else {
        double rest = dq;
        /* Reduce (and possibly close) first. */
        if (q != 0.0 && (q > 0) != (dq > 0)) {
            double closed = fabs(dq) < fabs(q) ? dq : -q; /* same sign as dq */
            double realised;
            if (e->inv[i])
                realised = -closed * cs * (1.0 / e->ep[i] - 1.0 / px);
            else
                realised = -closed * cs * (px - e->ep[i]);
            e->cash[c] += realised;
            e->q[i] = q + closed;
            rest = dq - closed;
            if (e->q[i] == 0.0)
                e->ep[i] = NAN;
        }
        if (rest != 0.0) {
            double q0 = e->q[i];
            if (q0 == 0.0)
                e->ep[i] = px;
            else if (e->inv[i]) /* harmonic mean, weighted by contracts */
                e->ep[i] = (q0 + rest) / (q0 / e->ep[i] + rest / px);
            else
                e->ep[i] = (q0 * e->ep[i] + rest * px) / (q0 + rest);
            e->q[i] = q0 + rest;
        }
        double slip = e->inv[i] ? dq * cs * (1.0 / px - 1.0 / ref) : dq * cs * (ref - px);
        book(e, (long)i, c, CPO_PNL_SLIPPAGE, slip);
        eng_after_fill(e, i, q, dq, px);
    }
    if (marg_pos(e, i) != was) {
        e->n_marg[c] = was ? e->n_marg[c] - 1 : e->n_marg[c] + 1;
        e->mbits[i / 64] ^= UINT64_C(1) << (i % 64);
    }
    e->cash[c] -= fee;
    book(e, (long)i, c, CPO_PNL_FEES, -fee);
}

/* Round toward zero to a whole number of lots. */
static double lot_round(const engine *e, size_t i, double dq)
{
    double lot = e->m->instr[i].lot_size;
    /* A derivative sized in contracts (inverse, or a contract that is not
     * one unit) trades whole contracts when the data gives no lot. */
    if (!(lot > 0.0) && e->m->instr[i].kind != CPO_KIND_SPOT && (e->inv[i] || e->cs[i] != 1.0))
        lot = 1.0;
    if (!e->spec->costs.lot_rounding || !(lot > 0.0))
        return dq;
    double k = trunc(dq / lot + (dq > 0 ? 1e-9 : -1e-9));
    return k * lot;
}

/*
 * Execute orders dq[i] (contracts) at reference prices of field `f` of
 * step t, stamped at `ts`: sells (reductions) first, then buys, buys cut
 * to the cash available.
 */
static int execute(engine *e, double *dq, cpo_field f, int64_t ts)
{
    const cpo_market *m = e->m;
    const cpo_costs *costs = &e->spec->costs;
    size_t t = e->t;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < e->n; i++) {
            double d = dq[i];
            if (d == 0.0 || !isfinite(d))
                continue;
            int reducing = e->q[i] != 0.0 && (e->q[i] > 0) != (d > 0) && fabs(d) <= fabs(e->q[i]);
            double rest = 0.0;
            if (!e->perp[i]) {
                /* Spot: selling coins held, or buying back a short, frees
                 * cash (first pass); an order that goes through zero is
                 * split, and what opens or grows a position on either
                 * side waits for the second pass and its cash check. */
                reducing = e->q[i] != 0.0 && (e->q[i] > 0) != (d > 0);
                if (reducing && fabs(d) > fabs(e->q[i])) {
                    rest = d + e->q[i];
                    d = -e->q[i];
                }
            }
            if ((pass == 0) != reducing)
                continue;
            dq[i] = rest;
            int gone = eng_fut_refuse(e, i, ts, d, !reducing);
            if (gone < 0)
                return gone;
            if (gone)
                continue;
            double ref = px_col(m, f, i, t);
            if (!isfinite(ref)) {
                if (eng_event(e, CPO_EVENT_NO_PRICE, (long)i, 0.0,
                              "%s: no %s price at this step; order of %.10g dropped",
                              m->instr[i].symbol, cpo_field_name(f), d))
                    return e->err ? e->err->code : CPO_ENOMEM;
                continue;
            }
            /* A price carried forward over a step without a bar is no
             * quote: nothing traded then (an exchange outage, a listing
             * gap, a future between its sparse quotes), so nothing
             * fills.  A modelled price (filled = 2) does. */
            if (m->filled && m->filled[i * m->n_steps + t] == 1) {
                if (eng_event(e, CPO_EVENT_NO_PRICE, (long)i, 0.0,
                              "%s: no bar at this step (its price carried forward from the last "
                              "one); order of %.10g dropped",
                              m->instr[i].symbol, d))
                    return e->err ? e->err->code : CPO_ENOMEM;
                continue;
            }
            /* Participation cap on the bar's volume (base units). */
            double vol = px_col(m, CPO_F_VOLUME, i, t);
            double base_qty = e->inv[i] ? fabs(d) * e->cs[i] / ref : fabs(d) * e->cs[i];
            if (costs->participation_cap > 0.0 && isfinite(vol)) {
                double cap = costs->participation_cap * vol;
                if (base_qty > cap) {
                    double nd = lot_round(e, i, d * cap / base_qty);
                    if (eng_event(e, CPO_EVENT_CAPPED, (long)i, 0.0,
                                  "%s: order of %.10g cut to %.10g by the participation cap",
                                  m->instr[i].symbol, d, nd))
                        return e->err ? e->err->code : CPO_ENOMEM;
                    d = nd;
                    base_qty = e->inv[i] ? fabs(d) * e->cs[i] / ref : fabs(d) * e->cs[i];
                    if (d == 0.0)
                        continue;
                }
            }
            double bps = costs->slippage_bps;
            if (costs->impact_coef > 0.0 && isfinite(vol) && vol > 0.0)
                bps += costs->impact_coef * 1e4 * sqrt(base_qty / vol);
            double px = ref * (1.0 + (d > 0 ? 1.0 : -1.0) * bps * 1e-4);
            double rate = costs->kind[m->instr[i].kind].taker_bps * 1e-4;
            double fee_per = e->inv[i] ? e->cs[i] / px * rate : e->cs[i] * px * rate;
            if (!reducing) {
                /* What the pool can carry (engine/margin.c): the price of
                 * spot buys, the spot imr of short sales, the initial
                 * margin of margined instruments, and the fee. */
                int why = 0;
                double room = eng_order_room(e, i, d, px, fee_per, &why);
                if (why) {
                    double nd = room != 0.0 ? lot_round(e, i, room) : 0.0;
                    e->r->n_orders_cut++;
                    if (eng_event(e, CPO_EVENT_MARGIN, (long)i, 0.0,
                                  why == 2 ? "%s: order of %.10g cut to %.10g: the leverage "
                                             "brackets allow no more at this leverage"
                                           : "%s: order of %.10g cut to %.10g for lack of cash "
                                             "or margin",
                                  m->instr[i].symbol, d, nd))
                        return e->err ? e->err->code : CPO_ENOMEM;
                    d = nd;
                    if (d == 0.0)
                        continue;
                }
            }
            double fee = fabs(d) * fee_per;
            mark_to(e, i, ref);
            eng_fill(e, i, d, px, ref, fee);
            double slip = fabs(e->inv[i] ? d * e->cs[i] * (1.0 / px - 1.0 / ref) : d * e->cs[i] * (ref - px));
            int rc = eng_trade(e, i, ts, d, px, ref, fee, slip, 0);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/*
 * The nominal time of a funding stamp: exchanges pay funding on the hour
 * (Binance at 00/08/16 UTC or its 4 h / 1 h grids, BitMEX at 04/12/20,
 * Deribit every hour), and stamp the event up to a few ms after it
 * (Binance: 961 of 2,761 BTCUSDT stamps).  A stamp within FUND_TOL of an
 * hour is that hour; one further off stays as stamped and is counted as a
 * data problem (cpo_result.n_funding_off_grid).  One rule then holds for
 * every event at nominal time T: the position held just before T pays
 * (fills stamped before T count, fills at or after T do not).
 */
#define FUND_TOL (60 * 1000)

static int64_t fund_nominal(int64_t ts, int *off)
{
    int64_t h = CPO_MS_HOUR;
    int64_t q = ts >= 0 ? (ts + h / 2) / h : -((-ts + h / 2) / h);
    int64_t nominal = q * h, d = ts - nominal;
    *off = d > FUND_TOL || d < -FUND_TOL;
    return *off ? ts : nominal;
}

/* Funding events of instrument i at nominal times in [from, to); after
 * each, the position's margin at the event's mark (engine/margin.c). */
static int fund(engine *e, size_t i, int64_t from, int64_t to)
{
    const cpo_funding *f = &e->m->funding[i];
    size_t k = e->fund_pos[i];
    int off = 0;
    while (k < f->n && fund_nominal(f->ts[k], &off) < from)
        k++;
    for (; k < f->n && fund_nominal(f->ts[k], &off) < to; k++) {
        if (off)
            e->r->n_funding_off_grid++;
        if (e->q[i] == 0.0 || !isfinite(f->rate[k]))
            continue;
        double px = e->inv[i] && isfinite(f->index[k]) ? f->index[k]
                    : isfinite(f->mark[k])             ? f->mark[k]
                                                       : e->mk[i];
        if (!isfinite(px) || px <= 0.0)
            continue;
        /* Longs pay when the rate is positive. */
        double cf = e->inv[i] ? -(e->q[i] * e->cs[i] / px) * f->rate[k]
                              : -e->q[i] * e->cs[i] * px * f->rate[k];
        e->cash[e->ccy[i]] += cf;
        book(e, (long)i, e->ccy[i], CPO_PNL_FUNDING, cf);
        int rc = eng_after_funding(e, i, cf, isfinite(f->mark[k]) ? f->mark[k] : e->mk[i]);
        if (rc) {
            e->fund_pos[i] = k + 1;
            return rc;
        }
    }
    e->fund_pos[i] = k;
    return 0;
}

/* The [financing] rates of currency c (NULL: none named). */
static const cpo_financing_spec *fin_of(const engine *e, int c, size_t *k)
{
    const cpo_financing_spec *f = &e->spec->financing;
    if (!f->enabled)
        return NULL;
    for (size_t j = 0; j < f->n; j++)
        if (is_usd(f->ccy[j]) ? c == 0 : !strcmp(f->ccy[j], e->ccy_name[c])) {
            *k = j;
            return f;
        }
    return NULL;
}

/* Interest for the step on what is held over it (cpo_financing_spec):
 * balances, and the coins of spot shorts. */
static void finance(engine *e)
{
    if (!e->spec->financing.enabled)
        return;
    int64_t now = e->m->ts[e->t];
    double dt = (double)e->bar_ms / (365.0 * CPO_MS_DAY);
    for (size_t c = 0; c < e->n_ccy; c++) {
        size_t k;
        const cpo_financing_spec *f = fin_of(e, (int)c, &k);
        double b = e->cash[c];
        if (!f || b == 0.0)
            continue;
        double rate = cpo_rate_at(b > 0.0 ? &f->cash[k] : &f->borrow[k], now);
        double v = b * rate * dt;
        if (v != 0.0 && isfinite(v)) {
            e->cash[c] += v;
            book(e, -1, (int)c, CPO_PNL_FINANCING, v);
        }
    }
    for (size_t i = 0; i < e->n; i++) {
        if (e->perp[i] || e->q[i] >= 0.0 || !isfinite(e->mk[i]))
            continue;
        /* A spot short owes its base coin: that coin's borrow rate. */
        const cpo_financing_spec *f = e->spec->financing.enabled ? &e->spec->financing : NULL;
        size_t k = 0;
        int found = 0;
        for (size_t j = 0; f && j < f->n && !found; j++)
            if (!strcmp(f->ccy[j], e->m->instr[i].base)) {
                k = j;
                found = 1;
            }
        if (!found)
            continue;
        double v = e->q[i] * e->cs[i] * e->mk[i] * cpo_rate_at(&f->borrow[k], now) * dt;
        if (v != 0.0 && isfinite(v)) {
            e->cash[e->ccy[i]] += v;
            book(e, (long)i, e->ccy[i], CPO_PNL_FINANCING, v);
        }
    }
}

/* Rates of the currencies at step t (carry the last known rate). */
static void update_rates(engine *e)
{
    for (size_t c = 1; c < e->n_ccy; c++) {
        for (int k = 0; k < 4 && e->rate_src[c][k] >= 0; k++) {
            size_t i = (size_t)e->rate_src[c][k];
            double v = px_col(e->m, CPO_F_INDEX, i, e->t);
            if (!isfinite(v) && !e->inv[i])
                v = mark_at(e->m, i, e->t);
            if (!isfinite(v) && e->inv[i])
                v = mark_at(e->m, i, e->t);
            if (isfinite(v) && v > 0.0) {
                e->rate[c] = v;
                break;
            }
        }
    }
}

/* --- host API for stages -------------------------------------------------- */

static size_t h_step(const cpo_view *v) { return v->e->t; }
static int64_t h_now(const cpo_view *v) { return v->e->m->ts[v->e->t]; }
static int64_t h_bar_ms(const cpo_view *v) { return v->e->bar_ms; }
static size_t h_n_instr(const cpo_view *v) { return v->e->n; }

static const cpo_instrument *h_instrument(const cpo_view *v, size_t i)
{
    return i < v->e->n ? &v->e->m->instr[i] : NULL;
}

static long h_find(const cpo_view *v, const char *symbol)
{
    return cpo_market_find(v->e->m, symbol);
}

static const double *h_series(const cpo_view *v, cpo_field f, size_t i, size_t *len)
{
    const engine *e = v->e;
    if (i >= e->n || (unsigned)f >= CPO_F_COUNT || !e->m->col[f]) {
        *len = 0;
        return NULL;
    }
    *len = e->t + 1;
    return e->m->col[f] + i * e->m->n_steps;
}

static const int64_t *h_times(const cpo_view *v, size_t *len)
{
    *len = v->e->t + 1;
    return v->e->m->ts;
}

static size_t h_funding(const cpo_view *v, size_t i, const int64_t **ts, const double **rate)
{
    const engine *e = v->e;
    if (i >= e->n) {
        *ts = NULL;
        *rate = NULL;
        return 0;
    }
    const cpo_funding *f = &e->m->funding[i];
    /* Events known at the close of step t: stamped before ts[t] + bar. */
    int64_t until = e->m->ts[e->t] + e->bar_ms;
    size_t lo = cpo_ts_count_before(f->ts, f->n, until);
    *ts = f->ts;
    *rate = f->rate;
    return lo;
}

static double equity_now(const engine *e);

static double h_equity(const cpo_view *v) { return equity_now(v->e); }
static double h_position(const cpo_view *v, size_t i) { return i < v->e->n ? v->e->q[i] : NAN; }

static double h_weight(const cpo_view *v, size_t i)
{
    const engine *e = v->e;
    double eq = equity_now(e);
    return i < e->n && eq != 0.0 ? exposure_of(e, i) / eq : NAN;
}

static double h_target(const cpo_view *v, size_t i) { return i < v->e->n ? v->e->target[i] : NAN; }

/* --- options ------------------------------------------------------------- */

static int h_chain(const cpo_view *v, const char *underlying, const cpo_chain **chain,
                   size_t *begin, size_t *end)
{
    if (!v->e->ob)
        return CPO_EINVAL;
    return ob_chain(v->e->ob, underlying, chain, begin, end);
}

static int h_option_quote(const cpo_view *v, const cpo_option_key *k, cpo_option_quote *out)
{
    if (!v->e->ob) {
        memset(out, 0, sizeof *out);
        return CPO_ENOTFOUND;
    }
    return ob_quote(v->e->ob, k, out);
}

static size_t h_option_positions(const cpo_view *v, const cpo_option_pos **pos)
{
    *pos = NULL;
    return v->e->ob ? ob_positions(v->e->ob, pos) : 0;
}

static double h_coin_delta(const cpo_view *v, const char *coin)
{
    const engine *e = v->e;
    long c = -1;
    for (size_t k = 1; k < e->n_ccy; k++)
        if (!strcmp(e->ccy_name[k], coin))
            c = (long)k;
    if (c < 0)
        return 0.0;
    /* USD value of the coin's holdings: I * E_c; d/dI = E_c + I dE_c/dI. */
    double d = e->cash[c];
    for (size_t i = 0; i < e->n; i++)
        if (e->ccy[i] == c && e->q[i] != 0.0 && isfinite(e->mk[i])) {
            d += value_of(e, i, e->mk[i]);
            if (e->inv[i] && e->perp[i])
                d += e->q[i] * e->cs[i] / e->mk[i];
        }
    if (e->ob) {
        long u = ob_find_underlying(e->ob, coin);
        if (u >= 0)
            d += ob_delta_coin(e->ob, (size_t)u);
    }
    return d;
}

static int h_option_target(const cpo_view *v, cpo_stage_io *io, const cpo_option_key *k,
                           double qty)
{
    engine *e = v->e;
    if (!k || !isfinite(qty))
        return cpo_error_set(e->err, CPO_EINVAL, NULL, 0, 0,
                             "option target %.6g is not valid (expected a finite quantity)", qty);
    for (size_t j = 0; j < io->n_opt; j++)
        if (io->opt[j].key.expiry_ms == k->expiry_ms && io->opt[j].key.strike == k->strike &&
            io->opt[j].key.right == k->right &&
            !strcmp(io->opt[j].key.underlying, k->underlying)) {
            io->opt[j].qty = qty;
            if (e->opt_tags)
                e->opt_tags[j] = e->cur_stage;
            return 0;
        }
    if (io->n_opt >= io->cap_opt)
        return cpo_error_set(e->err, CPO_ERANGE, NULL, 0, 0,
                             "more than %zu option targets in one step (expected at most "
                             "2 x max_positions)",
                             io->cap_opt);
    io->opt[io->n_opt].key = *k;
    io->opt[io->n_opt].qty = qty;
    if (e->opt_tags)
        e->opt_tags[io->n_opt] = e->cur_stage;
    io->n_opt++;
    return 0;
}

static uint32_t h_stage_index(const cpo_view *v) { return v->e->cur_stage; }

static int h_between(const cpo_view *v)
{
    engine *e = v->e;
    if (e->cur_stage >= e->spec->n_stages || e->cur_stage >= 64 ||
        e->spec->stages[e->cur_stage].def->role != CPO_ROLE_OVERLAY)
        return CPO_EINVAL;
    e->between_mask |= UINT64_C(1) << e->cur_stage;
    return 0;
}

static int h_note(const cpo_view *v, double value, const char *msg)
{
    engine *e = v->e;
    const char *who = e->cur_stage < e->spec->n_stages ? e->spec->stages[e->cur_stage].def->name
                                                       : "stage";
    return eng_event(e, CPO_EVENT_STAGE, -1, value, "%s: %s", who, msg ? msg : "");
}

static size_t h_caps(const cpo_view *v, const cpo_caps **caps)
{
    const cpo_caps *c = &v->e->m->caps;
    *caps = c->n ? c : NULL;
    return c->n ? cpo_ts_count_before(c->ts, c->n, v->e->m->ts[v->e->t]) : 0;
}

static const cpo_host host_api = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_host), h_step, h_now, h_bar_ms, h_n_instr, h_instrument,
    h_find, h_series, h_times, h_funding, h_equity, h_position, h_weight, h_target,
    cpo_params_int, cpo_params_real, cpo_params_str, cpo_params_count, cpo_params_item,
    h_chain, h_option_quote, h_option_positions, h_coin_delta, h_option_target, h_stage_index,
    h_caps, h_between, h_note};

const cpo_host *cpo_engine_host(void);
const cpo_host *cpo_engine_host(void) { return &host_api; }

/* --- equity ------------------------------------------------------------- */

static void equity_by_ccy(const engine *e, double *eq)
{
    for (size_t c = 0; c < e->n_ccy; c++)
        eq[c] = e->cash[c];
    for (size_t i = 0; i < e->n; i++)
        if (e->q[i] != 0.0 && isfinite(e->mk[i]))
            eq[e->ccy[i]] += value_of(e, i, e->mk[i]);
    if (e->ob)
        for (size_t u = 0; u < ob_n_underlyings(e->ob); u++)
            eq[e->opt_ccy[u]] += ob_value_coin(e->ob, u);
}

static double equity_now(const engine *e)
{
    double eq[CPO_MAX_CCY], s = 0.0;
    equity_by_ccy(e, eq);
    for (size_t c = 0; c < e->n_ccy; c++)
        s += eq[c] * e->rate[c];
    return s;
}

/* --- exposures and Greeks --------------------------------------------------- */

/* The coin currency of a linear instrument's base, or -1. */
static long base_ccy(const engine *e, size_t i)
{
    const cpo_instrument *in = &e->m->instr[i];
    for (size_t c = 1; c < e->n_ccy; c++)
        if (!strcmp(in->base, e->ccy_name[c]))
            return (long)c;
    return -1;
}

/* The book's Greeks on option underlying u (cpo_book_greek), at the marks. */
static void book_greeks(const engine *e, size_t u, double *g)
{
    int c = e->opt_ccy[u];
    double I = e->rate[c];
    for (int k = 0; k < CPO_BG_COUNT; k++)
        g[k] = 0.0;
    /* Coins: the balance and what settles in the coin (an inverse
     * contract's USD value is fixed: N cs / I coins held against it), and
     * linear instruments on the coin. */
    double d = e->cash[c];
    for (size_t i = 0; i < e->n; i++) {
        if (e->q[i] == 0.0 || !isfinite(e->mk[i]))
            continue;
        if (e->ccy[i] == c) {
            d += value_of(e, i, e->mk[i]);
            if (e->inv[i] && e->perp[i])
                d += e->q[i] * e->cs[i] / e->mk[i];
        } else if (!e->inv[i] && base_ccy(e, i) == c) {
            d += e->q[i] * e->cs[i];
        }
    }
    /* Options: USD value c I of q contracts; dI: q (c + I dc/dI). */
    for (size_t k = 0; k < ob_npos(e->ob); k++) {
        size_t uu;
        int hq;
        const cpo_option_pos *o = ob_pos(e->ob, k, &uu, &hq);
        const cpo_black76_coin *x = &o->quote.coin;
        if (uu != u || !hq || o->qty == 0.0 || !isfinite(x->price))
            continue;
        double q = o->qty, Ii = o->quote.index;
        if (!(Ii > 0.0))
            continue;
        d += q * (x->price + Ii * x->delta);
        g[CPO_BG_GAMMA] += q * (2.0 * x->delta + Ii * x->gamma) * Ii * 0.01;
        g[CPO_BG_VEGA] += q * x->vega * Ii * 0.01;
        g[CPO_BG_THETA] += q * x->theta * Ii / 365.0;
        g[CPO_BG_VANNA] += q * (x->vega + Ii * x->vanna) * 0.01;
        g[CPO_BG_VOLGA] += q * x->volga * Ii * 1e-4;
    }
    g[CPO_BG_DELTA] = d;
    g[CPO_BG_DELTA_USD] = d * I;
}

/* What gross and net leave out of the instruments' exposures: the coin
 * balances (their USD value) and the options' delta-adjusted notional. */
static void extra_exposure(const engine *e, double *gross, double *net)
{
    for (size_t c = 1; c < e->n_ccy; c++) {
        double x = e->cash[c] * (isfinite(e->rate[c]) ? e->rate[c] : 0.0);
        *gross += fabs(x);
        *net += x;
    }
    for (size_t k = 0; e->ob && k < ob_npos(e->ob); k++) {
        size_t u;
        int hq;
        const cpo_option_pos *o = ob_pos(e->ob, k, &u, &hq);
        const cpo_black76_coin *c = &o->quote.coin;
        double I = o->quote.index, x = o->qty * (c->price + I * c->delta) * I;
        if (hq && isfinite(x)) {
            *gross += fabs(x);
            *net += x;
        }
    }
}

/* --- setup ---------------------------------------------------------------- */

static int ccy_index(engine *e, const char *name)
{
    if (is_usd(name))
        return 0;
    for (size_t c = 1; c < e->n_ccy; c++)
        if (!strcmp(e->ccy_name[c], name))
            return (int)c;
    if (e->n_ccy == CPO_MAX_CCY)
        return -1;
    size_t c = e->n_ccy++;
    size_t len = strlen(name);
    if (len >= sizeof e->ccy_name[c])
        len = sizeof e->ccy_name[c] - 1;
    memcpy(e->ccy_name[c], name, len);
    e->ccy_name[c][len] = '\0';
    for (int k = 0; k < 4; k++)
        e->rate_src[c][k] = -1;
    return (int)c;
}

/* Collateral currency k: parsed by the config, or the whole text when a
 * program set only cpo_run_spec.collateral ("BTC"). */
static const char *coll_ccy(const cpo_run_spec *s, size_t k)
{
    return s->n_collateral ? s->collateral_ccy[k] : s->collateral;
}

static int setup(engine *e)
{
    const cpo_market *m = e->m;
    size_t n = e->n;
    double *blocks[] = {NULL};
    (void)blocks;
    e->q = calloc(n ? n : 1, sizeof *e->q);
    e->ep = malloc((n ? n : 1) * sizeof *e->ep);
    e->mk = malloc((n ? n : 1) * sizeof *e->mk);
    e->cs = malloc((n ? n : 1) * sizeof *e->cs);
    e->pend = calloc(n ? n : 1, sizeof *e->pend);
    e->target = malloc((n ? n : 1) * sizeof *e->target);
    e->tq = malloc((n ? n : 1) * sizeof *e->tq);
    e->ccy = calloc(n ? n : 1, 1);
    e->inv = calloc(n ? n : 1, 1);
    e->perp = calloc(n ? n : 1, 1);
    e->fund_pos = calloc(n ? n : 1, sizeof *e->fund_pos);
    e->held = malloc((n ? n : 1) * sizeof *e->held);
    e->funded = malloc((n ? n : 1) * sizeof *e->funded);
    e->io.selected = malloc(n ? n : 1);
    e->io.weight = malloc((n ? n : 1) * sizeof(double));
    e->io.qty = malloc((n ? n : 1) * sizeof(double));
    e->io.n = n;
    /* About 128 KB of window (it stays in L2), 8 to 256 steps: a multiple
     * of the 8 doubles of a cache line. */
    e->win_cap = (16384 / (n ? n : 1)) & ~(size_t)7;
    e->win_cap = e->win_cap < 8 ? 8 : e->win_cap > 256 ? 256 : e->win_cap;
    e->mwin = malloc((n ? n : 1) * e->win_cap * sizeof *e->mwin);
    if (!e->q || !e->ep || !e->mk || !e->cs || !e->pend || !e->target || !e->tq ||
        !e->ccy || !e->inv || !e->perp || !e->fund_pos || !e->held || !e->funded ||
        !e->io.selected || !e->io.weight || !e->io.qty || !e->mwin)
        return nomem(e);
    if (e->spec->detail == CPO_DETAIL_INSTRUMENT) {
        e->line_i = calloc((n ? n : 1) * CPO_PNL_COUNT, sizeof *e->line_i);
        e->rows = malloc((n ? n : 1) * sizeof *e->rows);
        if (!e->line_i || !e->rows)
            return nomem(e);
    }
    e->n_ccy = 1;
    snprintf(e->ccy_name[0], sizeof e->ccy_name[0], "%s", e->spec->currency);
    for (int k = 0; k < 4; k++)
        e->rate_src[0][k] = -1;
    for (size_t i = 0; i < n; i++) {
        const cpo_instrument *in = &m->instr[i];
        e->ep[i] = NAN;
        e->mk[i] = NAN;
        e->target[i] = NAN;
        e->cs[i] = in->contract_size > 0.0 ? in->contract_size : 1.0;
        e->inv[i] = in->settle == CPO_SETTLE_INVERSE;
        e->perp[i] = in->kind == CPO_KIND_PERP || in->kind == CPO_KIND_FUTURE;
        if (in->kind == CPO_KIND_OPTION)
            return cpo_error_set(e->err, CPO_EINVAL, NULL, 0, 0,
                                 "%s is an option instrument: options are held from the chains "
                                 "([options] section), not as bars (expected spot, perpetual or "
                                 "future instruments)",
                                 in->symbol);
        const char *settle = e->inv[i] ? (in->base[0] ? in->base : in->underlying) : in->quote;
        int c = ccy_index(e, settle);
        if (c < 0)
            return cpo_error_set(e->err, CPO_ERANGE, NULL, 0, 0,
                                 "more than %d settlement currencies (expected at most %d)",
                                 CPO_MAX_CCY, CPO_MAX_CCY);
        e->ccy[i] = (uint8_t)c;
    }
    size_t n_coll = e->spec->n_collateral ? e->spec->n_collateral : e->spec->collateral[0] != 0;
    for (size_t k = 0; k < n_coll; k++)
        if (!is_usd(coll_ccy(e->spec, k)) && ccy_index(e, coll_ccy(e->spec, k)) < 0)
            return cpo_error_set(e->err, CPO_ERANGE, NULL, 0, 0,
                                 "more than %d settlement currencies (expected at most %d)",
                                 CPO_MAX_CCY, CPO_MAX_CCY);
    /* Rate sources for coin currencies: inverse instruments of that coin
     * (their index column), then linear instruments whose base is that
     * coin and whose quote is a dollar. */
    for (size_t c = 1; c < e->n_ccy; c++) {
        int k = 0;
        for (size_t i = 0; i < n && k < 4; i++)
            if (e->inv[i] && e->ccy[i] == c)
                e->rate_src[c][k++] = (long)i;
        for (size_t i = 0; i < n && k < 4; i++) {
            const cpo_instrument *in = &m->instr[i];
            if (!e->inv[i] && !strcmp(in->base, e->ccy_name[c]) && is_usd(in->quote))
                e->rate_src[c][k++] = (long)i;
        }
        e->rate[c] = NAN;
    }
    e->rate[0] = 1.0;
    return 0;
}

static int ob_event(void *ctx, int kind, double value, const char *msg)
{
    return eng_event(ctx, kind, -1, value, "%s", msg);
}

/* The option book, its coins' currencies and the option targets' room. */
static int setup_options(engine *e)
{
    const cpo_option_spec *o = &e->spec->options;
    if (!o->enabled)
        return 0;
    int rc = ob_new(&e->ob, e->m, o, e->spec->costs.slippage_bps, ob_event, e, e->err);
    if (rc)
        return rc;
    for (size_t u = 0; u < o->n_underlyings; u++) {
        int c = ccy_index(e, o->underlying[u]);
        if (c <= 0)
            return cpo_error_set(e->err, CPO_ERANGE, NULL, 0, 0,
                                 "options: underlying %s cannot be a settlement currency "
                                 "(expected a coin, at most %d currencies)",
                                 o->underlying[u], CPO_MAX_CCY);
        e->opt_ccy[u] = c;
        if (e->rate_src[c][0] < 0) {
            /* A coin new to the book: priced by the option index. */
            long i = cpo_market_find(e->m, o->index[u]);
            e->rate_src[c][0] = i;
            e->rate[c] = NAN;
        }
    }
    size_t cap = 2 * (o->max_positions ? o->max_positions : 64);
    e->io.opt = calloc(cap, sizeof *e->io.opt);
    e->opt_tags = calloc(cap, sizeof *e->opt_tags);
    if (!e->io.opt || !e->opt_tags)
        return nomem(e);
    e->io.cap_opt = cap;
    return 0;
}

/* Book what the option book did in the last phase. */
void eng_drain_options(engine *e)
{
    for (size_t u = 0; u < ob_n_underlyings(e->ob); u++) {
        ob_flow f;
        ob_drain(e->ob, u, &f);
        int c = e->opt_ccy[u];
        e->cash[c] += f.cash;
        if (f.options != 0.0)
            book(e, -1, c, CPO_PNL_OPTIONS, f.options);
        if (f.fees != 0.0)
            book(e, -1, c, CPO_PNL_FEES, f.fees);
        if (f.slippage != 0.0)
            book(e, -1, c, CPO_PNL_SLIPPAGE, f.slippage);
    }
}

static void teardown(engine *e)
{
    for (size_t s = 0; s < e->spec->n_stages; s++) {
        const cpo_stage_def *d = e->spec->stages[s].def;
        if (d && d->fini)
            d->fini(e->state[s]);
    }
    free(e->q);
    free(e->ep);
    free(e->mk);
    eng_margin_free(e);
    eng_fut_free(e);
    free(e->cs);
    free(e->pend);
    free(e->target);
    free(e->tq);
    free(e->ccy);
    free(e->inv);
    free(e->perp);
    free(e->fund_pos);
    free(e->held);
    free(e->funded);
    free(e->mwin);
    free(e->io.selected);
    free(e->io.weight);
    free(e->io.qty);
    free(e->line_i);
    free(e->rows);
    free(e->io.opt);
    free(e->opt_tags);
    ob_free(e->ob);
}

static int alloc_result(engine *e, size_t steps)
{
    cpo_result *r = calloc(1, sizeof *r);
    if (!r)
        return nomem(e);
    e->r = r;
    size_t s = steps ? steps : 1, n = e->n ? e->n : 1;
    r->ts = malloc(s * sizeof *r->ts);
    r->equity = malloc(s * sizeof *r->equity);
    r->gross = malloc(s * sizeof *r->gross);
    r->net = malloc(s * sizeof *r->net);
    r->instr = malloc(n * sizeof *r->instr);
    r->final_qty = malloc(n * sizeof *r->final_qty);
    r->pnl_instr = calloc(n * CPO_PNL_COUNT, sizeof *r->pnl_instr);
    r->mark_from_close = calloc(n, 1);
    int ok = r->ts && r->equity && r->gross && r->net && r->instr && r->final_qty && r->pnl_instr &&
             r->mark_from_close;
    r->has_financing = e->spec->financing.enabled;
    if (e->spec->financing.enabled && e->spec->financing.rf_kind != CPO_RF_NONE)
        ok = ok && (r->rf = calloc(s, sizeof *r->rf)) != NULL;
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        ok = ok && (r->pnl[l] = malloc(s * sizeof(double))) != NULL;
    if (e->spec->options.enabled) {
        for (int g = 0; g < CPO_GREEK_COUNT; g++)
            ok = ok && (r->greek[g] = calloc(s, sizeof(double))) != NULL;
        for (int w = 0; w < CPO_WF_COUNT; w++)
            ok = ok && (r->wf[w] = calloc(s, sizeof(double))) != NULL;
        ok = ok && (r->explain_flag = calloc(s, 1)) != NULL;
        r->surface_mode = e->spec->options.surface_mode;
        r->n_bg_und = e->spec->options.n_underlyings;
        for (size_t u = 0; u < r->n_bg_und && u < CPO_OPT_MAX_UNDERLYINGS; u++)
            snprintf(r->bg_und[u], sizeof r->bg_und[u], "%s", e->spec->options.underlying[u]);
        ok = ok && (r->book_greek = calloc(r->n_bg_und * CPO_BG_COUNT * s, sizeof(double))) != NULL;
    }
    if (!ok)
        return nomem(e);
    return 0;
}

/* --- the pipeline ----------------------------------------------------------- */

static int run_stages(engine *e, cpo_stage_role role, cpo_view *v)
{
    for (size_t s = 0; s < e->spec->n_stages; s++) {
        const cpo_stage_inst *in = &e->spec->stages[s];
        if (in->def->role != role)
            continue;
        e->cur_stage = (uint32_t)s;
        int rc = in->def->run(e->state[s], in->params, &host_api, v, &e->io, e->err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Run the pipeline at step t; on a rebalance, fill e->tq (NaN = leave). */
static int pipeline(engine *e, cpo_view *v, int *rebalance)
{
    *rebalance = 0;
    e->io.fire = 0;
    e->io.n_opt = 0;
    int rc = run_stages(e, CPO_ROLE_SCHEDULE, v);
    if (rc)
        return rc;
    size_t n = e->n;
    int fired = e->io.fire;
    if (!fired && !e->between_mask)
        return 0;
    memset(e->io.selected, 1, n);
    for (size_t i = 0; i < n; i++) {
        e->io.weight[i] = NAN;
        e->io.qty[i] = NAN;
    }
    if (!fired) {
        /* No schedule fired: overlays that asked (host->between) may trade. */
        for (size_t s = 0; s < e->spec->n_stages && !rc; s++) {
            const cpo_stage_inst *in = &e->spec->stages[s];
            if (!(e->between_mask >> s & 1u))
                continue;
            e->cur_stage = (uint32_t)s;
            rc = in->def->run(e->state[s], in->params, &host_api, v, &e->io, e->err);
        }
        if (rc || !e->io.fire)
            return rc;
    } else if ((rc = run_stages(e, CPO_ROLE_SELECT, v)) || (rc = run_stages(e, CPO_ROLE_WEIGH, v)) ||
               (rc = run_stages(e, CPO_ROLE_OVERLAY, v)) || (rc = run_stages(e, CPO_ROLE_HEDGE, v)))
        return rc;
    double eq = equity_now(e);
    double investable = eq * (1.0 - e->spec->cash_buffer);
    for (size_t i = 0; i < n; i++) {
        double w = e->io.weight[i], q = e->io.qty[i];
        e->tq[i] = NAN;
        if (isfinite(q)) {
            e->tq[i] = q;
            continue;
        }
        if (!isfinite(w))
            continue;
        /* The target as a weight of equity, comparable with h->weight(). */
        e->target[i] = w * (1.0 - e->spec->cash_buffer);
        /* Size at this step's mark: only held instruments are marked every
         * step, so an instrument not held may carry an old one. */
        double px = mark_at(e->m, i, e->t);
        if (isfinite(px))
            e->mk[i] = px;
        else
            px = e->mk[i];
        if (w == 0.0) {
            e->tq[i] = 0.0;
            continue;
        }
        if (!isfinite(px) || px <= 0.0) {
            rc = eng_event(e, CPO_EVENT_NO_PRICE, (long)i, 0.0,
                           "%s: no price yet; target weight %.6g ignored", e->m->instr[i].symbol, w);
            if (rc)
                return rc;
            continue;
        }
        double x = w * investable;
        if (e->inv[i])
            e->tq[i] = x / e->cs[i];
        else
            e->tq[i] = x / (e->cs[i] * px * e->rate[e->ccy[i]]);
    }
    *rebalance = 1;
    e->r->n_rebalances++;
    return 0;
}

/* --- the loop ------------------------------------------------------------- */

static int emit_rows(engine *e)
{
    size_t k = 0;
    for (size_t i = 0; i < e->n; i++) {
        double *li = &e->line_i[i * CPO_PNL_COUNT];
        int any = e->q[i] != 0.0;
        for (int l = 0; l < CPO_PNL_COUNT && !any; l++)
            any = li[l] != 0.0;
        if (!any)
            continue;
        cpo_ledger_row *row = &e->rows[k++];
        row->ts = e->m->ts[e->t];
        row->step = e->t;
        row->instr = (uint32_t)i;
        row->qty = e->q[i];
        row->px = e->mk[i];
        row->exposure = exposure_of(e, i);
        memcpy(row->pnl, li, sizeof row->pnl);
        memset(li, 0, CPO_PNL_COUNT * sizeof *li);
    }
    if (k && e->sink)
        return e->sink(e->sink_ctx, e->rows, k, e->err);
    return 0;
}

/*
 * The run in three parts, so that a caller can drive it a step at a time
 * (engine.h): eng_begin (checks, state, the capital, the stages' init),
 * then for each step eng_to_close (the open's fills, funding, financing,
 * liquidation, marks, margin: the book at the close) and eng_decide (the
 * pipeline, its orders, the ledger row), then eng_end (the result) or, on
 * any error, eng_abort.
 */
int eng_begin(engine *e, const cpo_market *m, const cpo_run_spec *spec, cpo_ledger_sink sink,
              void *sink_ctx, cpo_error *err)
{
    memset(e, 0, sizeof *e);
    e->m = m;
    e->spec = spec;
    e->err = err;
    e->n = m->n_instr;
    e->sink = sink;
    e->sink_ctx = sink_ctx;
    e->bar_ms = m->step_ms;
    e->view.e = e;
    int rc = 0;
    if (m->n_steps == 0)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0, "the market has no steps (expected data in the period)");
    if (!(spec->capital > 0.0) || !isfinite(spec->capital))
        return cpo_error_set(err, CPO_ERANGE, NULL, 0, 0,
                             "capital %.10g is not valid (expected a positive amount)", spec->capital);
    size_t t0 = 0, t1 = m->n_steps - 1;
    if (spec->start_ms != CPO_TIME_NONE) {
        long s = cpo_market_step_at(m, spec->start_ms);
        t0 = s < 0 ? 0 : (size_t)s;
        if (m->ts[t0] < spec->start_ms)
            t0++;
    }
    if (spec->end_ms != CPO_TIME_NONE) {
        long s = cpo_market_step_at(m, spec->end_ms);
        if (s < 0)
            return cpo_error_set(err, CPO_ERANGE, NULL, 0, 0,
                                 "the period ends before the data starts (expected an end after the first bar)");
        t1 = (size_t)s;
    }
    if (t0 > t1 || t0 >= m->n_steps)
        return cpo_error_set(err, CPO_ERANGE, NULL, 0, 0,
                             "the period holds no bar of the data (expected start <= end within the data)");
    size_t steps = t1 - t0 + 1;
    e->t0 = t0;
    e->t1 = t1;
    e->steps = steps;
    if ((rc = setup(e)) || (rc = setup_options(e)) || (rc = alloc_result(e, steps)))
        return rc;
    cpo_result *r = e->r;
    r->n_steps = steps;
    r->capital = spec->capital;
    r->seed = spec->seed;
    r->fill = spec->fill;
    r->n_instr = e->n;
    memcpy(r->instr, m->instr, e->n * sizeof *m->instr);
    r->n_ccy = 0;
    if ((rc = eng_margin_setup(e)) || (rc = eng_fut_setup(e, steps)))
        return rc;
    if (e->ob)
        ob_set_margin_hook(e->ob, eng_option_room, e);
    /* Margined instruments whose data has no mark over the run are marked
     * at their close: say so in the result. */
    for (size_t i = 0; i < e->n; i++) {
        if (!e->perp[i])
            continue;
        const double *mk = cpo_market_col(m, CPO_F_MARK, i);
        int any = 0;
        for (size_t t = t0; mk && t <= t1 && !any; t++)
            any = isfinite(mk[t]);
        r->mark_from_close[i] = !any;
    }

    e->t = t0;
    update_rates(e);
    /* The capital: in the reporting currency, or partly or wholly in the
     * collateral coins at the first step's rate. */
    size_t n_coll = spec->n_collateral ? spec->n_collateral : spec->collateral[0] != 0;
    double in_usd = 1.0;
    for (size_t k = 0; k < n_coll; k++) {
        const char *cc = coll_ccy(spec, k);
        if (is_usd(cc))
            continue;
        int c = ccy_index(e, cc);
        if (!(e->rate[c] > 0.0))
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "no %s price at the first step to convert the capital "
                                 "(expected an instrument quoting %s in dollars)",
                                 cc, cc);
        double frac = spec->n_collateral ? spec->collateral_frac[k] : 1.0;
        e->cash[c] = spec->capital * frac / e->rate[c];
        in_usd -= frac;
    }
    if (in_usd > 1e-12)
        e->cash[0] = in_usd == 1.0 ? spec->capital : spec->capital * in_usd;
    for (size_t c = 0; c < CPO_MAX_CCY; c++)
        e->rate_prev[c] = e->rate[c];
    for (size_t s = 0; s < spec->n_stages; s++) {
        const cpo_stage_inst *in = &spec->stages[s];
        e->cur_stage = (uint32_t)s;
        if (in->def->init &&
            (rc = in->def->init(&e->state[s], in->params, &host_api, &e->view, err)))
            return rc;
    }
    /* Funding before the first step is not ours. */
    for (size_t i = 0; i < e->n; i++) {
        const cpo_funding *f = &m->funding[i];
        size_t k = 0;
        if (f->n)
            e->funded[e->n_funded++] = (uint32_t)i;
        int off;
        while (k < f->n && fund_nominal(f->ts[k], &off) < m->ts[t0])
            k++;
        e->fund_pos[i] = k;
    }
    e->eq_prev = spec->capital;
    equity_by_ccy(e, e->eq_ccy_prev);
    return 0;
}

/* The marks at the close of step t, one per instrument: from the window,
 * refilled with the next win_cap steps when t has left it. */
static const double *marks_at(engine *e, size_t t)
{
    if (t < e->win_t || t >= e->win_t + e->win_len) {
        const cpo_market *m = e->m;
        size_t n = e->n, len = e->t1 + 1 - t;
        if (len > e->win_cap)
            len = e->win_cap;
        for (size_t i = 0; i < n; i++) {
            const double *mk = cpo_market_col(m, CPO_F_MARK, i);
            const double *cl = cpo_market_col(m, CPO_F_CLOSE, i);
            double *w = e->mwin + i;
            if (!mk && cl) /* no marks in the cube (spot bars): the close */
                for (size_t k = 0; k < len; k++)
                    w[k * n] = cl[t + k];
            else
                for (size_t k = 0; k < len; k++) {
                    double v = mk ? mk[t + k] : NAN;
                    w[k * n] = isfinite(v) ? v : cl ? cl[t + k] : NAN;
                }
        }
        e->win_t = t;
        e->win_len = len;
    }
    return e->mwin + (t - e->win_t) * e->n;
}

int eng_to_close(engine *e)
{
    const cpo_market *m = e->m;
    const cpo_run_spec *spec = e->spec;
    cpo_error *err = e->err;
    size_t t = e->t;
    int rc;
    if (spec->cancel && *spec->cancel)
        return cpo_error_set(err, CPO_EINTR, NULL, 0, 0,
                             "interrupted at step %zu of %zu (expected the run to go to its end)",
                             t - e->t0, e->steps);
    int64_t ts = m->ts[t], ts_end = ts + e->bar_ms;
    e->ts_now = ts;
    memset(e->line, 0, sizeof e->line);
    update_rates(e);
    /* Revaluation of last step's balances at this step's rates. */
    for (size_t c = 1; c < e->n_ccy; c++) {
        if (isfinite(e->rate[c]) && isfinite(e->rate_prev[c]))
            e->line[CPO_PNL_REVALUATION] += e->eq_ccy_prev[c] * (e->rate[c] - e->rate_prev[c]);
    }
    if (e->ob) {
        double rates[CPO_OPT_MAX_UNDERLYINGS];
        for (size_t u = 0; u < ob_n_underlyings(e->ob); u++)
            rates[u] = e->rate[e->opt_ccy[u]];
        ob_begin_step(e->ob, t, rates);
    }
    /* 0. Futures expired by the open are delivered. */
    if ((rc = eng_fut_open(e, ts)))
        return rc;
    /* 1. Funding stamped exactly at the open, then next-open fills. */
    if (e->any_pending || t == e->t0) {
        for (size_t k = 0; k < e->n_funded; k++)
            if ((rc = fund(e, e->funded[k], ts, ts + 1)))
                return rc;
    }
    if (e->any_pending) {
        e->any_pending = 0;
        if ((rc = execute(e, e->pend, CPO_F_OPEN, ts)))
            return rc;
    }
    /* Options: settle what expired by the open, fill their orders. */
    if (e->ob) {
        if ((rc = ob_open(e->ob, err)))
            return rc;
        eng_drain_options(e);
    }
    /* 2. Funding during the bar; interest on what is held over it. */
    for (size_t k = 0; k < e->n_funded; k++)
        if ((rc = fund(e, e->funded[k], ts, ts_end)))
            return rc;
    finance(e);
    /* 3. Liquidation on the bar's adverse extreme; 4. mark at close;
     * the positions' values and exposures in the same pass. */
    size_t nh = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->q[i] != 0.0 || !isfinite(e->mk[i]))
            e->held[nh++] = (uint32_t)i;
    e->n_held = nh;
    memset(e->val, 0, sizeof e->val);
    double gross = 0.0, net = 0.0;
    if ((rc = eng_liq_bar(e)))
        return rc;
    /* One pass: mark_to, then the value and the exposure.  The sums run in
     * registers and in the instruments' order, as mark_to's book() and
     * equity_by_ccy() would add them (the same bits): price is the step's
     * price line, val0 the positions in currency 0, eqx[c] the equity of
     * currency c summed from its cash as equity_by_ccy does. */
    const double *mark = marks_at(e, t);
    double price = e->line[CPO_PNL_PRICE], val0 = 0.0, eqx[CPO_MAX_CCY];
    double *pnl_i = e->r->pnl_instr, *line_i = e->line_i;
    memcpy(eqx, e->cash, sizeof eqx);
    double eq0 = eqx[0];
    for (size_t k = 0; k < nh; k++) {
        size_t i = e->held[k];
        double px = mark[i], old = e->mk[i];
        int c = e->ccy[i];
        if (isfinite(px)) {
            if (e->q[i] != 0.0 && isfinite(old) && px != old) {
                double v = mark_move(e, i, old, px) * e->rate[c];
                price += v;
                pnl_i[i * CPO_PNL_COUNT + CPO_PNL_PRICE] += v;
                if (line_i)
                    line_i[i * CPO_PNL_COUNT + CPO_PNL_PRICE] += v;
            }
            e->mk[i] = old = px;
        }
        if (e->q[i] != 0.0 && isfinite(old)) {
            double x = exposure_of(e, i), v = value_of(e, i, old);
            if (c == 0) {
                val0 += v;
                eq0 += v;
            } else {
                e->val[c] += v;
                eqx[c] += v;
            }
            gross += fabs(x);
            net += x;
        }
    }
    e->line[CPO_PNL_PRICE] = price;
    e->val[0] = val0;
    eqx[0] = eq0;
    /* Options: settle what expires in the bar, mark the rest. */
    if (e->ob) {
        if ((rc = ob_close(e->ob, err)))
            return rc;
        eng_drain_options(e);
        for (size_t u = 0; u < ob_n_underlyings(e->ob); u++)
            e->val[e->opt_ccy[u]] += ob_value_coin(e->ob, u);
    }
    /* Margin at the close: positions and pools below maintenance are
     * liquidated; an account whose equity reached 0 is ruined. */
    int filled_now = 0, ruined_now = 0;
    size_t n_liq = e->r->n_liquidations;
    double cash0[CPO_MAX_CCY];
    memcpy(cash0, e->cash, sizeof cash0);
    if ((rc = eng_margin_close(e, &filled_now)))
        return rc;
    /* The equity for the ruin check: eqx's sums unless options or the
     * margin check moved something since (then summed again). */
    double eq_close = 0.0;
    if (!e->ob && e->r->n_liquidations == n_liq && !memcmp(cash0, e->cash, sizeof cash0))
        for (size_t c = 0; c < e->n_ccy; c++)
            eq_close += eqx[c] * e->rate[c];
    else
        eq_close = equity_now(e);
    if ((rc = eng_ruin(e, eq_close, &ruined_now)))
        return rc;
    e->gross_now = gross;
    e->net_now = net;
    e->filled_now = filled_now | ruined_now;
    return 0;
}

int eng_decide(engine *e)
{
    const cpo_run_spec *spec = e->spec;
    cpo_error *err = e->err;
    cpo_result *r = e->r;
    size_t t = e->t, steps = e->steps;
    int64_t ts = e->ts_now, ts_end = ts + e->bar_ms;
    double gross = e->gross_now, net = e->net_now;
    int filled_now = e->filled_now, rc;
    /* 5-6. The pipeline, and orders (none after ruin). */
    int rebalance = 0;
    if (!e->ruined && (rc = pipeline(e, &e->view, &rebalance)))
        return rc;
    if (rebalance) {
        int any = 0;
        /* An order worth less than 1e-9 of equity is rounding noise of
         * the sizing arithmetic (1e-13 contracts), not a trade. */
        double dust = 1e-9 * fabs(equity_now(e));
        for (size_t i = 0; i < e->n; i++) {
            double d = 0.0;
            if (isfinite(e->tq[i]))
                d = lot_round(e, i, e->tq[i] - e->q[i]);
            if (d != 0.0 && isfinite(e->mk[i]) &&
                fabs(e->inv[i] ? d * e->cs[i] : d * e->cs[i] * e->mk[i] * e->rate[e->ccy[i]]) <
                    dust)
                d = 0.0;
            if (spec->fill == CPO_FILL_NEXT_OPEN)
                e->pend[i] = d;
            else
                e->tq[i] = d;
            any |= d != 0.0;
        }
        if (spec->fill == CPO_FILL_NEXT_OPEN)
            e->any_pending = any && t < e->t1;
        else if (any) {
            if ((rc = execute(e, e->tq, CPO_F_CLOSE, ts_end - 1)))
                return rc;
            filled_now = 1;
        }
        if (e->ob) {
            if ((rc = ob_orders(e->ob, &e->io, e->opt_tags, err)))
                return rc;
            if (spec->fill == CPO_FILL_THIS_CLOSE && ob_pending(e->ob)) {
                if ((rc = ob_fill_close(e->ob, err)))
                    return rc;
                eng_drain_options(e);
                filled_now = 1;
            }
        }
    }
    /* 7. The ledger row (equity recomputed whole after fills at the
     * close, else from the pass above). */
    double eq_ccy[CPO_MAX_CCY];
    if (filled_now) {
        equity_by_ccy(e, eq_ccy);
        gross = net = 0.0;
        for (size_t i = 0; i < e->n; i++)
            if (e->q[i] != 0.0) {
                double x = exposure_of(e, i);
                gross += fabs(x);
                net += x;
            }
    } else {
        for (size_t c = 0; c < e->n_ccy; c++)
            eq_ccy[c] = e->cash[c] + e->val[c];
    }
    double eq = 0.0;
    for (size_t c = 0; c < e->n_ccy; c++)
        eq += eq_ccy[c] * (isfinite(e->rate[c]) ? e->rate[c] : 0.0);
    size_t row = t - e->t0;
    double explained = 0.0;
    for (int l = 0; l < CPO_PNL_RESIDUAL; l++)
        explained += e->line[l];
    e->line[CPO_PNL_RESIDUAL] = (eq - e->eq_prev) - explained;
    double rel = fabs(e->line[CPO_PNL_RESIDUAL]) / fmax(fabs(eq), 1.0);
    if (rel > r->max_rel_residual)
        r->max_rel_residual = rel;
    extra_exposure(e, &gross, &net);
    if (r->rf) {
        const cpo_financing_spec *f = &spec->financing;
        size_t k = 0;
        double a = f->rf_kind == CPO_RF_RATE ? cpo_rate_at(&f->rf, ts)
                   : fin_of(e, 0, &k)        ? cpo_rate_at(&f->cash[k], ts)
                                             : 0.0;
        r->rf[row] = pow(1.0 + a, (double)e->bar_ms / (365.0 * CPO_MS_DAY)) - 1.0;
    }
    eng_fut_record(e, row, steps);
    r->ts[row] = ts;
    r->equity[row] = eq;
    r->gross[row] = eq != 0.0 ? gross / eq : NAN;
    r->net[row] = eq != 0.0 ? net / eq : NAN;
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        r->pnl[l][row] = e->line[l];
    for (size_t u = 0; e->ob && u < r->n_bg_und; u++) {
        double bg[CPO_BG_COUNT];
        book_greeks(e, u, bg);
        for (int k = 0; k < CPO_BG_COUNT; k++)
            r->book_greek[(u * CPO_BG_COUNT + (size_t)k) * steps + row] = bg[k];
    }
    if (e->ob) {
        double g[CPO_GREEK_COUNT], w[CPO_WF_COUNT];
        int flag = 0;
        ob_step_end(e->ob, e->line[CPO_PNL_OPTIONS], spec->options.explain_abs * fabs(eq), g, w,
                    &flag);
        for (int l = 0; l < CPO_GREEK_COUNT; l++)
            r->greek[l][row] = g[l];
        for (int l = 0; l < CPO_WF_COUNT; l++)
            r->wf[l][row] = w[l];
        r->explain_flag[row] = (uint8_t)flag;
        r->n_explain_flagged += (size_t)flag;
    }
    if (e->line_i && (rc = emit_rows(e)))
        return rc;
    e->eq_prev = eq;
    memcpy(e->eq_ccy_prev, eq_ccy, sizeof eq_ccy);
    memcpy(e->rate_prev, e->rate, sizeof e->rate);
    /* Cash per currency: grown at the end (few currencies). */
    if (r->n_ccy != e->n_ccy) {
        double *nc = realloc(r->cash, e->n_ccy * steps * sizeof *nc);
        if (!nc)
            return nomem(e);
        r->cash = nc;
        r->n_ccy = e->n_ccy;
    }
    for (size_t c = 0; c < e->n_ccy; c++)
        r->cash[c * steps + row] = e->cash[c];
    /* Margin per currency, the same way (runs with margined pools). */
    if (e->any_pool) {
        if (!r->im) {
            r->im = calloc(e->n_ccy * steps, sizeof *r->im);
            r->mm = calloc(e->n_ccy * steps, sizeof *r->mm);
            r->mb = calloc(e->n_ccy * steps, sizeof *r->mb);
            if (!r->im || !r->mm || !r->mb)
                return nomem(e);
        }
        double im[CPO_MAX_CCY], mm[CPO_MAX_CCY], mb[CPO_MAX_CCY];
        if ((rc = eng_margin_record(e, im, mm, mb)))
            return rc;
        for (size_t c = 0; c < e->n_ccy; c++) {
            r->im[c * steps + row] = im[c];
            r->mm[c * steps + row] = mm[c];
            r->mb[c * steps + row] = mb[c];
        }
    }
    e->t++;
    return 0;
}

double eng_equity(const engine *e)
{
    return equity_now(e);
}

double eng_close_equity(const engine *e)
{
    double eq_ccy[CPO_MAX_CCY], eq = 0.0;
    if (e->filled_now) {
        equity_by_ccy(e, eq_ccy);
    } else {
        for (size_t c = 0; c < e->n_ccy; c++)
            eq_ccy[c] = e->cash[c] + e->val[c];
    }
    for (size_t c = 0; c < e->n_ccy; c++)
        eq += eq_ccy[c] * (isfinite(e->rate[c]) ? e->rate[c] : 0.0);
    return eq;
}

void eng_book_greeks(const engine *e, size_t u, double *g)
{
    book_greeks(e, u, g);
}

int eng_reserve_trades(engine *e, size_t n)
{
    if (n <= e->cap_trades)
        return 0;
    cpo_trade *p = realloc(e->r->trades, n * sizeof *p);
    if (!p)
        return nomem(e);
    e->r->trades = p;
    e->cap_trades = n;
    return 0;
}

cpo_result *eng_end(engine *e)
{
    cpo_result *r = e->r;
    for (size_t c = 0; c < e->n_ccy; c++)
        snprintf(r->ccy[c], sizeof r->ccy[c], "%s", e->ccy_name[c]);
    memcpy(r->final_qty, e->q, e->n * sizeof *e->q);
    if (e->ob) {
        ob_take(e->ob, r);
        ob_counts(e->ob, &r->n_chain_marks, &r->n_surface_marks, &r->n_quote_waits);
    }
    teardown(e);
    e->r = NULL;
    return r;
}

void eng_abort(engine *e)
{
    teardown(e);
    cpo_result_free(e->r);
    e->r = NULL;
}

int cpo_backtest_run(cpo_result **out, const cpo_market *m, const cpo_run_spec *spec,
                     cpo_ledger_sink sink, void *sink_ctx, cpo_error *err)
{
    engine e;
    *out = NULL;
    int rc = eng_begin(&e, m, spec, sink, sink_ctx, err);
    while (!rc && e.t <= e.t1)
        if (!(rc = eng_to_close(&e)))
            rc = eng_decide(&e);
    if (rc) {
        eng_abort(&e);
        return rc;
    }
    *out = eng_end(&e);
    return 0;
}
