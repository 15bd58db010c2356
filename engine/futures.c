/*
 * futures.c - dated futures in the engine (cpo_futures_spec): delivery at
 * expiry, orders after it, the per-step record of cpo_result.fut_*.
 *
 * Delivery.  At the open of the first step at or after a future's expiry
 * T, a position still held is closed at the delivery price D, the 30-min
 * TWAP of its coin's index before T (engine/delivery.c), as the exchanges
 * do it:
 *   - Deribit: futures "are cash-settled at the delivery price", the
 *     time-weighted index of the last 30 minutes (support.deribit.com,
 *     "Futures" and "Prices of Virtual Assets"); a delivery fee of 0.025 %
 *     on quarterly futures and none on weeklies (support.deribit.com,
 *     "Fees": delivery fees);
 *   - Binance: quarterly futures deliver at 08:00 UTC of their date at the
 *     average index of the last 30 minutes (the last hour before
 *     2024-11-11), the delivery fee charged at the taker rate, and no
 *     position may be opened in the last 10 minutes (binance.com FAQ
 *     "Delivery & Settlement of Quarterly Futures").
 * The position is first marked to D (the price line carries the move from
 * the last close to D, the convergence of the basis), then closed at D:
 * the realised P&L goes to the wallet, the fee to the fees line, and the
 * trade is recorded with delivery = 1 and an event.
 */
#include "engine.h"

#include "cpo/time.h"
#include "delivery.h"

const char *cpo_futures_index(const cpo_run_spec *s, const char *coin, int delivery, char *buf,
                              size_t n)
{
    const cpo_futures_spec *f = &s->futures;
    for (size_t k = 0; k < f->n; k++) {
        if (strcmp(f->coin[k], coin))
            continue;
        if (delivery && f->delivery[k][0])
            return f->delivery[k];
        if (f->index[k][0])
            return f->index[k];
    }
    const cpo_option_spec *o = &s->options;
    for (size_t u = 0; u < o->n_underlyings; u++)
        if (!strcmp(o->underlying[u], coin)) {
            if (delivery && o->delivery[u][0])
                return o->delivery[u];
            return o->index[u];
        }
    snprintf(buf, n, "%sUSDT", coin);
    return buf;
}

/* Deribit's quarterly expiries: the last Friday of March, June, September
 * and December (the others, weeklies and monthlies, pay no delivery fee). */
static int quarterly(int64_t T)
{
    cpo_civil c;
    cpo_time_to_civil(T, &c);
    int64_t day = T >= 0 ? T / CPO_MS_DAY : -((-T + CPO_MS_DAY - 1) / CPO_MS_DAY);
    int friday = ((day % 7) + 7 + 4) % 7 == 5; /* 1970-01-01 was a Thursday */
    cpo_civil w;
    cpo_time_to_civil(T + 7 * CPO_MS_DAY, &w);
    return friday && c.month % 3 == 0 && w.month != c.month;
}

/* The delivery fee of future i as a fraction of the notional at D. */
static double fee_rate(const engine *e, size_t i)
{
    const cpo_instrument *in = &e->m->instr[i];
    double bps = e->spec->futures.delivery_fee_bps;
    if (isfinite(bps))
        return bps * 1e-4;
    if (!strcmp(in->exchange, "deribit"))
        return quarterly(in->expiry_ms) ? 2.5e-4 : 0.0;
    return e->spec->costs.kind[CPO_KIND_FUTURE].taker_bps * 1e-4;
}

static const cpo_bars *raw_of(const cpo_market *m, const char *sym)
{
    for (size_t r = 0; r < m->n_raw; r++)
        if (!strcmp(m->raw_symbol[r], sym))
            return &m->raw[r];
    return NULL;
}

int eng_fut_setup(engine *e, size_t steps)
{
    const cpo_market *m = e->m;
    size_t nf = 0;
    for (size_t i = 0; i < e->n; i++)
        nf += m->instr[i].kind == CPO_KIND_FUTURE;
    if (!nf)
        return 0;
    size_t n = e->n;
    e->fut_exp = malloc(n * sizeof *e->fut_exp);
    e->fut_raw = calloc(n, sizeof *e->fut_raw);
    e->fut_idx = malloc(n * sizeof *e->fut_idx);
    e->fut_fee = calloc(n, sizeof *e->fut_fee);
    e->fut_binance = calloc(n, 1);
    cpo_result *r = e->r;
    r->fut_instr = malloc(nf * sizeof *r->fut_instr);
    r->fut_px = malloc(nf * steps * sizeof *r->fut_px);
    r->fut_index = malloc(nf * steps * sizeof *r->fut_index);
    r->fut_qty = malloc(nf * steps * sizeof *r->fut_qty);
    r->fut_src = malloc(nf * steps);
    if (!e->fut_exp || !e->fut_raw || !e->fut_idx || !e->fut_fee || !e->fut_binance ||
        !r->fut_instr || !r->fut_px || !r->fut_index || !r->fut_qty || !r->fut_src)
        return nomem(e);
    for (size_t i = 0; i < n; i++) {
        const cpo_instrument *in = &m->instr[i];
        e->fut_exp[i] = CPO_TIME_NONE;
        e->fut_idx[i] = -1;
        if (in->kind != CPO_KIND_FUTURE)
            continue;
        r->fut_instr[r->n_fut++] = (uint32_t)i;
        if (in->expiry_ms == CPO_TIME_NONE || in->expiry_ms <= 0)
            continue; /* undated: held like a perpetual without funding */
        e->fut_exp[i] = in->expiry_ms;
        const char *coin = in->underlying[0] ? in->underlying : in->base;
        char buf[CPO_SYMBOL_MAX];
        e->fut_idx[i] = cpo_market_find(m, cpo_futures_index(e->spec, coin, 0, buf, sizeof buf));
        e->fut_raw[i] = raw_of(m, cpo_futures_index(e->spec, coin, 1, buf, sizeof buf));
        if (!e->fut_raw[i])
            e->fut_raw[i] = raw_of(m, cpo_futures_index(e->spec, coin, 0, buf, sizeof buf));
        e->fut_fee[i] = fee_rate(e, i);
        e->fut_binance[i] = !strcmp(in->exchange, "binance");
    }
    e->any_fut = 1;
    return 0;
}

void eng_fut_free(engine *e)
{
    free(e->fut_exp);
    free(e->fut_raw);
    free(e->fut_idx);
    free(e->fut_fee);
    free(e->fut_binance);
}

/* Deliver future i at its expiry T. */
static int deliver(engine *e, size_t i, int64_t T)
{
    const cpo_instrument *in = &e->m->instr[i];
    int approx = 0;
    double D = NAN;
    const char *how = "30-min index TWAP";
    if (e->fut_raw[i] || e->fut_idx[i] >= 0)
        D = cpo_delivery_twap(e->fut_raw[i], e->m, (size_t)(e->fut_idx[i] >= 0 ? e->fut_idx[i] : 0),
                              T, &approx);
    if (!(D > 0.0) || !isfinite(D)) {
        /* No index bars before the expiry: the last mark, said loudly. */
        D = e->mk[i];
        approx = 1;
        how = "no index bars in the 30 min before the expiry: its last mark";
    } else if (approx) {
        how = "30-min index TWAP estimated from bars coarser than a minute";
    }
    if (!(D > 0.0) || !isfinite(D))
        return eng_event(e, CPO_EVENT_DELIVERY, (long)i, 0.0,
                         "%s: expired with no price to deliver %.10g contracts at; held at 0",
                         in->symbol, e->q[i]);
    double q = e->q[i];
    double fee = fabs(q) * e->cs[i] * (e->inv[i] ? 1.0 / D : D) * e->fut_fee[i];
    mark_to(e, i, D);
    eng_fill(e, i, -q, D, D, fee);
    int rc = eng_trade(e, i, T, -q, D, D, fee, 0.0, 0);
    if (rc)
        return rc;
    e->r->trades[e->r->n_trades - 1].delivery = 1;
    e->r->n_deliveries++;
    e->r->n_delivery_approx += (size_t)approx;
    e->r->delivery_fees += fee * e->rate[e->ccy[i]];
    return eng_event(e, CPO_EVENT_DELIVERY, (long)i, -fee * e->rate[e->ccy[i]],
                     "%s: %.10g contracts delivered at %.10g (%s), fee %.6g %s", in->symbol, q, D,
                     how, fee, e->ccy_name[e->ccy[i]]);
}

int eng_fut_open(engine *e, int64_t ts)
{
    if (!e->any_fut)
        return 0;
    for (size_t i = 0; i < e->n; i++) {
        int64_t T = e->fut_exp[i];
        if (T == CPO_TIME_NONE || ts < T || e->q[i] == 0.0)
            continue;
        int rc = deliver(e, i, T);
        if (rc)
            return rc;
    }
    return 0;
}

int eng_fut_refuse(engine *e, size_t i, int64_t ts, double d, int opening)
{
    if (!e->any_fut)
        return 0;
    int64_t T = e->fut_exp[i];
    if (T == CPO_TIME_NONE)
        return 0;
    const char *sym = e->m->instr[i].symbol;
    int why = ts >= T ? 1 : e->fut_binance[i] && opening && ts >= T - 10 * 60 * 1000 ? 2 : 0;
    if (!why)
        return 0;
    e->r->n_expired_orders++;
    char when[40];
    cpo_time_format(T, when, sizeof when);
    int rc = eng_event(e, CPO_EVENT_DELIVERY, (long)i, 0.0,
                       why == 1 ? "%s: expired at %s; order of %.10g dropped"
                                : "%s: expires at %s, and Binance opens no position in its last "
                                  "10 minutes; order of %.10g dropped",
                       sym, when, d);
    return rc ? rc : 1;
}

void eng_fut_record(engine *e, size_t row, size_t steps)
{
    if (!e->any_fut)
        return;
    const cpo_market *m = e->m;
    cpo_result *r = e->r;
    size_t t = e->t;
    for (size_t f = 0; f < r->n_fut; f++) {
        size_t i = r->fut_instr[f], k = f * steps + row;
        double px = mark_at(m, i, t);
        uint8_t fl = m->filled ? m->filled[i * m->n_steps + t] : 0;
        r->fut_px[k] = px;
        r->fut_src[k] = !isfinite(px) ? CPO_FUT_SRC_NONE
                        : fl == 2     ? CPO_FUT_SRC_BASIS
                        : fl == 1     ? CPO_FUT_SRC_FILLED
                                      : CPO_FUT_SRC_QUOTE;
        double I = px_col(m, CPO_F_INDEX, i, t);
        if (!isfinite(I) && e->fut_idx[i] >= 0)
            I = mark_at(m, (size_t)e->fut_idx[i], t);
        r->fut_index[k] = I;
        r->fut_qty[k] = e->q[i];
    }
}
