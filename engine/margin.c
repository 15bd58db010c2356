/*
 * margin.c - margin, liquidation and ruin as the exchanges do them
 * (cpo/backtest.h, cpo_margin_spec; the formulas are cpo/margin.h's, with
 * their sources).
 *
 * Pools.  Currency c is one margin pool; its wallet is cash[c].  A
 * margined instrument (perpetual or future) follows its exchange:
 * Deribit's instruments the Deribit futures margin [D2]; every other one
 * Binance's: IM = notional / leverage (the notional at the mark, as
 * Binance's "Available for Order" counts cross positions), MM from the
 * symbol's leverage brackets [B1, B2] (or one bracket at [costs] perp_mmr,
 * cum 0, when none is given).  Spot shorts owe their coins: their value
 * (negative) counts in the pool with IM and MM at the spot rates.  Short
 * options hold Deribit's standard margin [D1] (long ones count for
 * nothing: their premium is paid); with options_margin = portfolio the
 * pool's options and inverse futures hold the portfolio margin of [D3]
 * instead, and every option's value counts.
 *
 * Isolated positions (Binance, mode = isolated) have their own wallet: the
 * initial margin posted at each fill (notional at the fill price /
 * leverage), less the share released when the position is reduced, plus
 * their funding.  Their unrealised P&L funds nothing and their losses stop
 * at that wallet.  Cross positions share the pool:
 *
 *   margin balance MB_c = cash_c - isolated wallets + unrealised P&L of
 *                         cross positions + value of spot shorts
 *                         (+ short options' value; all options' with PM)
 *   free collateral     = MB_c - IM_c (orders that raise margin need it)
 *
 * Liquidation.  An isolated position is liquidated when the mark reaches
 * its liquidation price [B1, B2]: inside the bar on the mark's adverse
 * extreme (mark klines' low/high), at every funding event on its mark, and
 * at the close; it closes at the liquidation price (at the mark if the
 * mark was already past it), the clearance fee (liquidation_fee of the
 * notional) and the rest of its wallet go to the insurance fund, which
 * also pays what the close cost beyond the wallet: the account loses the
 * wallet, no more.  A Binance cross pool is liquidated whole when one of
 * its positions' mark reaches the price where MB = MM (the others held at
 * their last marks) or MB <= MM at the close; the fee is taken from what
 * is left, and a pool left below 0 is brought back to 0 by the fund.  A
 * Deribit pool (options or Deribit futures) is liquidated step by step at
 * the close: futures first (largest first), then short options (largest
 * maintenance first), each cut by what brings MB above MM, with Deribit's
 * liquidation fees.  Ruin: the account's equity at 0 (to 1e-9 of the
 * capital) closes everything at the mark and ends trading.
 */
#include "engine.h"

#include "cpo/time.h"

const char *cpo_mark_source_name(int src)
{
    switch (src) {
    case CPO_MARK_SRC_CLOSE: return "close";
    case CPO_MARK_SRC_FUNDING: return "funding_marks_and_close";
    case CPO_MARK_SRC_KLINES: return "mark_klines";
    case CPO_MARK_SRC_WICK: return "last_trade_high_low";
    default: return "none";
    }
}

const char *cpo_margin_model_name(int model)
{
    switch (model) {
    case CPO_MARGIN_MODEL_BRACKETS: return "binance_brackets";
    case CPO_MARGIN_MODEL_FLAT: return "binance_one_bracket_at_perp_mmr";
    case CPO_MARGIN_MODEL_DERIBIT: return "deribit";
    default: return "none";
    }
}

void cpo_margin_spec_init(cpo_margin_spec *m)
{
    memset(m, 0, sizeof *m);
    m->mode = CPO_MARGIN_CROSS;
    m->options_margin = CPO_OPTIONS_MARGIN_STANDARD;
    m->liq_price = CPO_LIQ_MARK;
    m->liquidation_fee = 0.0125;
    m->deribit_future_liq_fee = NAN;
    m->deribit_option_liq_fee = 0.0019;
    m->call_ratio = 0.8;
    cpo_pm_params_init(&m->pm);
}

/* --- setup ----------------------------------------------------------------- */

static int any_finite(const double *c, size_t n)
{
    for (size_t t = 0; c && t < n; t++)
        if (isfinite(c[t]))
            return 1;
    return 0;
}

/* The mark's low (low = 1) or high in bar t from mark klines
 * (binance-mark-klines: CPO_F_MARK_LOW / CPO_F_MARK_HIGH); NaN where the
 * cube has none, and in a cell filled forward (an old bar's extreme is
 * not this bar's). */
static double mark_extreme(const engine *e, size_t i, size_t t, int low)
{
    const cpo_market *m = e->m;
    if (m->filled && m->filled[i * m->n_steps + t])
        return NAN;
    return px_col(m, low ? CPO_F_MARK_LOW : CPO_F_MARK_HIGH, i, t);
}

static int has_mark_klines(const engine *e, size_t i)
{
    for (size_t t = 0; t < e->m->n_steps; t++)
        if (isfinite(mark_extreme(e, i, t, 1)))
            return 1;
    return 0;
}

int eng_margin_setup(engine *e)
{
    const cpo_market *m = e->m;
    const cpo_costs *costs = &e->spec->costs;
    size_t n = e->n ? e->n : 1;
    e->mg = &e->spec->margin;
    e->model = calloc(n, 1);
    e->brk = calloc(n, sizeof *e->brk);
    e->dfut = calloc(n, sizeof *e->dfut);
    e->imr = calloc(n, sizeof *e->imr);
    e->iso = calloc(n, 1);
    e->iso_wb = calloc(n, sizeof *e->iso_wb);
    e->mcache = malloc(4 * n * sizeof *e->mcache);
    e->mbits = calloc((n + 63) / 64, sizeof *e->mbits);
    e->r->mark_source = calloc(n, 1);
    e->r->margin_model = calloc(n, 1);
    if (!e->model || !e->brk || !e->dfut || !e->imr || !e->iso || !e->iso_wb || !e->mcache ||
        !e->mbits || !e->r->mark_source || !e->r->margin_model)
        return nomem(e);
    for (size_t k = 0; k < 4 * n; k++)
        e->mcache[k] = NAN; /* no q matches: computed at first use */
    for (int inv = 0; inv < 2; inv++) {
        cpo_brackets *f = &e->flat[inv];
        const cpo_kind_costs *k = &costs->kind[CPO_KIND_PERP];
        f->inverse = inv;
        f->n = 1;
        f->b[0].floor = 0.0;
        f->b[0].cap = INFINITY;
        f->b[0].max_leverage = 1.0 / k->imr;
        f->b[0].mmr = k->mmr;
        f->b[0].cum = 0.0;
    }
    for (size_t i = 0; i < e->n; i++) {
        if (!e->perp[i])
            continue;
        const cpo_instrument *in = &m->instr[i];
        e->imr[i] = costs->kind[in->kind].imr;
        e->pool_on[e->ccy[i]] = 1;
        if (!strcmp(in->exchange, "deribit")) {
            e->model[i] = ENG_MODEL_DERIBIT;
            cpo_deribit_fut_params(in->base[0] ? in->base : in->underlying, &e->dfut[i], NULL);
            e->pool_deribit[e->ccy[i]] = 1;
            e->r->margin_model[i] = CPO_MARGIN_MODEL_DERIBIT;
        } else {
            e->model[i] = ENG_MODEL_BINANCE;
            e->any_binance = 1;
            const cpo_brackets *t = cpo_brackets_find(e->mg->brackets, e->mg->n_brackets,
                                                      in->symbol, e->inv[i]);
            e->brk[i] = t ? t : &e->flat[e->inv[i]];
            e->r->margin_model[i] = t ? CPO_MARGIN_MODEL_BRACKETS : CPO_MARGIN_MODEL_FLAT;
            double lev = 1.0 / e->imr[i];
            if (t && lev > t->b[0].max_leverage * (1.0 + 1e-12))
                return cpo_error_set(e->err, CPO_ECONFIG, NULL, 0, 0,
                                     "%s: leverage %.10g is above the %.10g its leverage "
                                     "brackets allow (expected perp_leverage <= %.10g)",
                                     in->symbol, lev, t->b[0].max_leverage,
                                     t->b[0].max_leverage);
            e->iso[i] = e->mg->mode == CPO_MARGIN_ISOLATED;
        }
        uint8_t src;
        if (e->mg->liq_price == CPO_LIQ_WICK)
            src = CPO_MARK_SRC_WICK;
        else if (has_mark_klines(e, i))
            src = CPO_MARK_SRC_KLINES;
        else if (any_finite(m->funding[i].mark, m->funding[i].n))
            src = CPO_MARK_SRC_FUNDING;
        else
            src = CPO_MARK_SRC_CLOSE;
        e->r->mark_source[i] = src;
    }
    if (e->ob)
        for (size_t u = 0; u < ob_n_underlyings(e->ob); u++) {
            e->pool_on[e->opt_ccy[u]] = 1;
            e->pool_deribit[e->opt_ccy[u]] = 1;
        }
    size_t cap = (e->ob ? ob_npos(e->ob) + 2 * (e->spec->options.max_positions + 1) : 0) + n + 1;
    if (!(e->pm_pos = malloc(cap * sizeof *e->pm_pos)))
        return nomem(e);
    e->pm_cap = cap;
    for (size_t c = 0; c < CPO_MAX_CCY; c++) {
        e->r->margin_ccy[c] = e->pool_on[c];
        e->any_pool |= e->pool_on[c];
    }
    return 0;
}

void eng_margin_free(engine *e)
{
    free(e->model);
    free(e->brk);
    free(e->dfut);
    free(e->imr);
    free(e->iso);
    free(e->iso_wb);
    free(e->mcache);
    free(e->mbits);
    free(e->pm_pos);
}

/* --- one position ------------------------------------------------------------ */

/* Notional of qty contracts of i at px in its settlement currency: linear
 * |q| cs px (quote), inverse |q| cs / px (coin). */
static double notional(const engine *e, size_t i, double q, double px)
{
    return e->inv[i] ? fabs(q) * e->cs[i] / px : fabs(q) * e->cs[i] * px;
}

/* Unrealised P&L of qty contracts of perp i entered at ep, at px. */
static double upnl_at(const engine *e, size_t i, double q, double px)
{
    if (q == 0.0)
        return 0.0;
    return e->inv[i] ? q * e->cs[i] * (1.0 / e->ep[i] - 1.0 / px) : q * e->cs[i] * (px - e->ep[i]);
}

/* Initial and maintenance margin of qty contracts of i at px. */
static void pos_margin(const engine *e, size_t i, double q, double px, double *im, double *mm)
{
    double n = notional(e, i, q, px);
    if (e->model[i] == ENG_MODEL_DERIBIT) {
        double size = e->inv[i] ? n : fabs(q) * e->cs[i]; /* coin */
        double a, b;
        cpo_deribit_fut_margin(&e->dfut[i], size, &a, &b);
        double k = e->inv[i] ? 1.0 : px;
        *im = a * k;
        *mm = b * k;
        return;
    }
    *im = n * e->imr[i];
    *mm = cpo_binance_mm(e->brk[i], n);
}

/* pos_margin of position i (q = e->q[i]) at px, from e->mcache when q and
 * px are the bits it was last worked out for: a pure function of them, so
 * the same numbers.  A rebalance's orders look at the pool once each, at
 * the same marks: without it, every order worked out every position's
 * brackets again (O(n^2) a rebalance of n perpetuals). */
static void held_margin(const engine *e, size_t i, double q, double px, double *im, double *mm)
{
    double *m = e->mcache + 4 * i;
    if (memcmp(&m[0], &q, sizeof q) != 0 || memcmp(&m[1], &px, sizeof px) != 0) {
        pos_margin(e, i, q, px, &m[2], &m[3]);
        m[0] = q;
        m[1] = px;
    }
    *im = m[2];
    *mm = m[3];
}

/* --- a pool ------------------------------------------------------------------ */

typedef struct pool_st {
    double mb, im, mm;
    double upnl; /* cross margined positions' unrealised P&L (in mb) */
} pool_st;

/* The price of instrument i for a pool computation: px for `ovr`, else
 * its last mark. */
static double price_of(const engine *e, size_t i, long ovr, double ovr_px)
{
    return (long)i == ovr ? ovr_px : e->mk[i];
}

/* Options of pool c: standard margin, or the portfolio margin of the
 * options and the pool's inverse margined instruments (whose own IM/MM are
 * then left out: *pm_done = 1).  `extra` (may be NULL) is an order to
 * count as held. */
static int pool_options(const engine *e, int c, pool_st *p, const cpo_pm_pos *extra,
                        long ovr, double ovr_px, int *pm_done)
{
    *pm_done = 0;
    if (!e->ob)
        return 0;
    const cpo_margin_spec *mg = e->mg;
    int pm = mg->options_margin == CPO_OPTIONS_MARGIN_PORTFOLIO;
    size_t np = 0;
    int any = 0;
    for (size_t k = 0; k < ob_npos(e->ob); k++) {
        size_t u;
        int hq;
        const cpo_option_pos *op = ob_pos(e->ob, k, &u, &hq);
        if (e->opt_ccy[u] != c || !hq || op->qty == 0.0)
            continue;
        const cpo_option_quote *q = &op->quote;
        double px = q->coin.price;
        if (!isfinite(px))
            continue;
        any = 1;
        if (pm) {
            p->mb += op->qty * px;
            cpo_pm_pos *x = &((engine *)e)->pm_pos[np++];
            memset(x, 0, sizeof *x);
            x->kind = CPO_KIND_OPTION;
            x->qty = op->qty;
            x->right = op->key.right;
            x->strike = op->key.strike;
            x->t_years = q->t_years;
            x->vol = q->vol;
            x->fwd = q->fwd;
            x->rate = e->spec->options.rate;
            continue;
        }
        if (op->qty > 0.0)
            continue; /* a long option is paid for: no margin, no collateral */
        double im, mm;
        if (cpo_deribit_option_margin(op->key.right, op->key.strike, q->fwd, px, &im, &mm))
            continue;
        p->mb += op->qty * px;
        p->im += -op->qty * im;
        p->mm += -op->qty * mm;
    }
    if (!pm)
        return 0;
    if (extra)
        ((engine *)e)->pm_pos[np++] = *extra, any = 1;
    /* The pool's inverse margined instruments go into the grid too. */
    for (size_t i = 0; i < e->n; i++) {
        if (e->ccy[i] != c || !e->perp[i] || !e->inv[i] || e->q[i] == 0.0 || e->iso[i])
            continue;
        double px = price_of(e, i, ovr, ovr_px);
        if (!isfinite(px))
            continue;
        cpo_pm_pos *x = &((engine *)e)->pm_pos[np++];
        memset(x, 0, sizeof *x);
        x->kind = CPO_KIND_FUTURE;
        x->qty = e->q[i];
        x->cs = e->cs[i];
        x->fwd = px;
        any = 1;
    }
    if (!any)
        return 0;
    cpo_pm_result r;
    size_t bad = 0;
    if (cpo_pm_margin(&mg->pm, e->pm_pos, np, &r, &bad) == 0) {
        p->im += r.im;
        p->mm += r.mm;
        *pm_done = 1;
    }
    return 0;
}

/*
 * Pool c at the last marks (instrument ovr at ovr_px instead; -1 for
 * none).  cross: the cross part only (what liquidation and orders look
 * at); else isolated positions too (their wallets, IM and MM: what the
 * ledger reports).
 */
static void pool_state(const engine *e, int c, int cross, long ovr, double ovr_px,
                       const cpo_pm_pos *extra, pool_st *p)
{
    const cpo_costs *costs = &e->spec->costs;
    p->mb = e->cash[c];
    p->im = p->mm = p->upnl = 0.0;
    int pm_done = 0;
    pool_options(e, c, p, extra, ovr, ovr_px, &pm_done);
    /* The positions that count (e->mbits, in instrument order: the sums
     * of a walk over every instrument); none: nothing to walk (a spot
     * book's orders would make it O(n^2) a rebalance). */
    size_t nw = e->n_marg[c] ? (e->n + 63) / 64 : 0;
    for (size_t w = 0; w < nw; w++) {
        for (uint64_t bits = e->mbits[w]; bits; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            if (e->ccy[i] != c || e->q[i] == 0.0)
                continue;
            double px = price_of(e, i, ovr, ovr_px);
            if (!isfinite(px))
                continue;
            if (!e->perp[i]) {
                if (e->q[i] < 0.0) {
                    double v = value_of(e, i, px); /* < 0: the coins owed */
                    p->mb += v;
                    p->im += -v * costs->kind[CPO_KIND_SPOT].imr;
                    p->mm += -v * costs->kind[CPO_KIND_SPOT].mmr;
                }
                continue;
            }
            double im, mm;
            held_margin(e, i, e->q[i], px, &im, &mm);
            if (e->iso[i]) {
                p->mb -= e->iso_wb[i];
                if (!cross) {
                    p->mb += e->iso_wb[i] + upnl_at(e, i, e->q[i], px);
                    p->im += im;
                    p->mm += mm;
                }
                continue;
            }
            double u = upnl_at(e, i, e->q[i], px);
            p->mb += u;
            p->upnl += u;
            if (pm_done && e->inv[i])
                continue;
            p->im += im;
            p->mm += mm;
        }
    }
}

double eng_free(const engine *e, int c)
{
    pool_st p;
    pool_state(e, c, 1, -1, 0.0, NULL, &p);
    return p.mb - p.im;
}

/* What spot purchases may spend: the free collateral less the margined
 * positions' unrealised profit, which is collateral but not cash (Binance
 * lets no unrealised profit leave the futures wallet): never a loan. */
static double spot_room(const engine *e, int c)
{
    pool_st p;
    pool_state(e, c, 1, -1, 0.0, NULL, &p);
    return p.mb - p.im - fmax(p.upnl, 0.0);
}

/* --- orders ------------------------------------------------------------------ */

/* What d contracts of i at px need from the pool's free collateral: for
 * spot the price (buys) or the spot imr of the value (short sales), for
 * margined instruments the rise of their initial margin; and the fee. */
static double need_of(const engine *e, size_t i, double d, double px, double fee_per)
{
    const cpo_costs *costs = &e->spec->costs;
    if (!e->perp[i]) {
        /* As the engine always counted it: per contract, then times |d|. */
        double per = d > 0 ? e->cs[i] * px : e->cs[i] * px * costs->kind[CPO_KIND_SPOT].imr;
        return fabs(d) * (per + fee_per);
    }
    if (e->model[i] == ENG_MODEL_BINANCE && (e->q[i] == 0.0 || (e->q[i] > 0) == (d > 0)))
        /* Linear in d: IM = notional x imr. */
        return fabs(d) * ((e->inv[i] ? e->cs[i] / px : e->cs[i] * px) * e->imr[i] + fee_per);
    double im0, im1, mm;
    pos_margin(e, i, e->q[i], px, &im0, &mm);
    pos_margin(e, i, e->q[i] + d, px, &im1, &mm);
    return im1 - im0 + fabs(d) * fee_per;
}

/* The largest |position| of i whose notional's bracket allows its
 * leverage (INFINITY if any). */
static double lev_cap_qty(const engine *e, size_t i, double px)
{
    const cpo_brackets *t = e->brk[i];
    double lev = 1.0 / e->imr[i];
    if (!t || t->b[t->n - 1].max_leverage * (1.0 + 1e-12) >= lev)
        return INFINITY;
    double cap = 0.0;
    for (size_t k = 0; k < t->n && t->b[k].max_leverage * (1.0 + 1e-12) >= lev; k++)
        cap = t->b[k].cap;
    /* notional < cap */
    double q = e->inv[i] ? cap * px / e->cs[i] : cap / (e->cs[i] * px);
    return q * (1.0 - 1e-9);
}

double eng_order_room(engine *e, size_t i, double d, double px, double fee_per, int *why)
{
    *why = 0;
    if (d == 0.0)
        return 0.0;
    if (e->perp[i] && e->model[i] == ENG_MODEL_BINANCE) {
        double qmax = lev_cap_qty(e, i, px);
        double q1 = e->q[i] + d;
        if (fabs(q1) > qmax && fabs(q1) > fabs(e->q[i])) {
            double nd = (q1 > 0 ? qmax : -qmax) - e->q[i];
            if ((nd > 0) != (d > 0))
                nd = 0.0;
            d = nd;
            *why = 2;
            if (d == 0.0)
                return 0.0;
        }
    }
    double avail = !e->perp[i] && d > 0 ? spot_room(e, e->ccy[i]) : eng_free(e, e->ccy[i]);
    double need = need_of(e, i, d, px, fee_per);
    if (need <= avail)
        return d;
    *why = *why ? *why : 1;
    if (!(avail * e->rate[e->ccy[i]] > 1e-9 * e->spec->capital))
        return 0.0; /* nothing, or rounding dust */
    /* Linear needs (spot, Binance): the fraction that fits, as the engine
     * always cut orders; otherwise (Deribit's size-dependent rate) the
     * largest fraction that fits, by bisection. */
    double nd = d * avail / need * (1 - 1e-12);
    if (need_of(e, i, nd, px, fee_per) <= avail)
        return nd;
    double lo = 0.0, hi = 1.0;
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (need_of(e, i, d * mid, px, fee_per) <= avail)
            lo = mid;
        else
            hi = mid;
    }
    return d * lo;
}

void eng_after_fill(engine *e, size_t i, double q0, double dq, double px)
{
    if (!e->perp[i] || !e->iso[i])
        return;
    double q1 = q0 + dq;
    if (q1 == 0.0) {
        e->iso_wb[i] = 0.0;
        return;
    }
    if (q0 != 0.0 && (q0 > 0) != (q1 > 0)) {
        /* Through zero: the old position's wallet is released whole. */
        e->iso_wb[i] = 0.0;
        q0 = 0.0;
        dq = q1;
    }
    if (fabs(q1) < fabs(q0)) {
        e->iso_wb[i] *= fabs(q1) / fabs(q0); /* released with the part closed */
        return;
    }
    /* Opened or added: the initial margin at the fill price is posted. */
    e->iso_wb[i] += notional(e, i, fabs(q1) - fabs(q0), px) * e->imr[i];
}

/* The change of pool c's free collateral if x contracts of option k are
 * filled at px (held: the position now). */
static double option_dfree(const engine *e, int c, const cpo_option_key *k, double held,
                           double x, double px, double fee_per, const cpo_option_quote *q,
                           double im0)
{
    if (e->mg->options_margin == CPO_OPTIONS_MARGIN_PORTFOLIO) {
        /* Cash -x px - fee; the position's value +x c; the grid's IM with
         * the order in it. */
        cpo_pm_pos ex;
        memset(&ex, 0, sizeof ex);
        ex.kind = CPO_KIND_OPTION;
        ex.qty = x;
        ex.right = k->right;
        ex.strike = k->strike;
        ex.t_years = q->t_years;
        ex.vol = q->vol;
        ex.fwd = q->fwd;
        ex.rate = e->spec->options.rate;
        pool_st p1;
        pool_state(e, c, 1, -1, 0.0, &ex, &p1);
        return -x * px - fabs(x) * fee_per + x * q->coin.price - (p1.im - im0);
    }
    double im = 0.0, mm = 0.0;
    if (cpo_deribit_option_margin(k->right, k->strike, q->fwd, q->coin.price, &im, &mm))
        return -INFINITY;
    /* Cash -x px - fee; short options' value -(s1 - s0) c (a long one
     * counts for nothing); their IM (s1 - s0) im. */
    double q1 = held + x;
    double s0 = held < 0 ? -held : 0.0, s1 = q1 < 0 ? -q1 : 0.0;
    return -x * px - fabs(x) * fee_per - (s1 - s0) * q->coin.price - (s1 - s0) * im;
}

/* Option fills (ob_set_margin_hook): a buy's premium and fee from the
 * pool's free collateral, a sale's initial margin. */
double eng_option_room(void *ctx, size_t u, const cpo_option_key *k, double dq, double px,
                       double fee_per, const cpo_option_quote *q)
{
    engine *e = ctx;
    int c = e->opt_ccy[u];
    double held = 0.0;
    for (size_t j = 0; j < ob_npos(e->ob); j++) {
        const cpo_option_pos *op = ob_pos(e->ob, j, NULL, NULL);
        if (op->key.expiry_ms == k->expiry_ms && op->key.strike == k->strike &&
            op->key.right == k->right && !strcmp(op->key.underlying, k->underlying))
            held = op->qty;
    }
    pool_st p0;
    pool_state(e, c, 1, -1, 0.0, NULL, &p0);
    /* The option book's flows of this phase are not in cash yet. */
    double free0 = p0.mb + ob_flow_cash(e->ob, u) - p0.im;
    double d = option_dfree(e, c, k, held, dq, px, fee_per, q, p0.im);
    if (free0 + d >= 0.0 || d >= 0.0)
        return dq;
    if (!(free0 > 0.0))
        return 0.0;
    double lo = 0.0, hi = 1.0;
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (free0 + option_dfree(e, c, k, held, dq * mid, px, fee_per, q, p0.im) >= 0.0)
            lo = mid;
        else
            hi = mid;
    }
    double r = dq * lo;
    return fabs(r) < 1e-9 ? 0.0 : r;
}

/* --- liquidation ----------------------------------------------------------- */

static double fee_rate_of(const engine *e, size_t i)
{
    if (e->model[i] != ENG_MODEL_DERIBIT)
        return e->mg->liquidation_fee;
    if (isfinite(e->mg->deribit_future_liq_fee))
        return e->mg->deribit_future_liq_fee;
    /* [D2]: BTC 0.75 %, ETH 0.9 %. */
    const cpo_instrument *in = &e->m->instr[i];
    return !strcmp(in->base, "ETH") ? 0.009 : 0.0075;
}

static void fmt_when(const engine *e, char *b, size_t n)
{
    cpo_time_format(e->m->ts[e->t], b, n);
}

/* Close |dq| of position i at px (a forced close, no fee on the trade:
 * the liquidation line carries it). */
static int force_close(engine *e, size_t i, double dq, double px)
{
    mark_to(e, i, px);
    eng_fill(e, i, dq, px, px, 0.0);
    e->r->n_liquidations++;
    return eng_trade(e, i, e->m->ts[e->t], dq, px, px, 0.0, 0.0, 1);
}

/* Book a liquidation's charges on pool c: fee and what the fund takes
 * (<= 0 for the account), what the fund covers (>= 0). */
static void book_liq(engine *e, long i, int c, double fee, double taken, double cover)
{
    double v = -fee - taken + cover;
    e->cash[c] += v;
    if (v != 0.0)
        book(e, i, c, CPO_PNL_LIQUIDATION, v);
    e->r->liquidation_fees += fee * e->rate[c];
    e->r->insurance_taken += taken * e->rate[c];
    e->r->insurance_covered += cover * e->rate[c];
}

static int liq_isolated(engine *e, size_t i, double px, double lp)
{
    int c = e->ccy[i];
    double q = e->q[i], wb = e->iso_wb[i];
    double n = notional(e, i, q, px);
    double realised = upnl_at(e, i, q, px);
    int rc = force_close(e, i, -q, px);
    if (rc)
        return rc;
    double left = wb + realised; /* the isolated margin balance after the close */
    double fee = fmin(fee_rate_of(e, i) * n, fmax(left, 0.0));
    double taken = fmax(left - fee, 0.0), cover = left < 0.0 ? -left : 0.0;
    e->iso_wb[i] = 0.0;
    book_liq(e, (long)i, c, fee, taken, cover);
    char when[40];
    fmt_when(e, when, sizeof when);
    return eng_event(e, CPO_EVENT_LIQUIDATION, (long)i, -(fee + taken - cover) * e->rate[c],
                     "%s: isolated %s of %.10g liquidated at %.10g (liquidation price %.10g) in "
                     "the bar of %s; fee %.10g, to the fund %.10g, covered %.10g %s",
                     e->m->instr[i].symbol, q > 0 ? "long" : "short", q, px, lp, when, fee,
                     taken, cover, e->ccy_name[c]);
}

/* Close every cross position of Binance pool c (trigger j at px_j, the
 * others at their marks). */
static int liq_cross(engine *e, int c, long j, double px_j, const char *why)
{
    double n_total = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (e->ccy[i] != c || e->q[i] == 0.0 || e->iso[i])
            continue;
        if (!e->perp[i] && e->q[i] > 0.0)
            continue; /* spot holdings are not collateral, nor liquidated */
        double px = price_of(e, i, j, px_j);
        if (!isfinite(px))
            continue;
        if (e->perp[i])
            n_total += notional(e, i, e->q[i], px);
        int rc = force_close(e, i, -e->q[i], px);
        if (rc)
            return rc;
        count++;
    }
    pool_st p;
    pool_state(e, c, 1, -1, 0.0, NULL, &p);
    double left = p.mb;
    double fee = fmin(e->mg->liquidation_fee * n_total, fmax(left, 0.0));
    double cover = left < 0.0 ? -left : 0.0;
    book_liq(e, -1, c, fee, 0.0, cover);
    char when[40];
    fmt_when(e, when, sizeof when);
    return eng_event(e, CPO_EVENT_LIQUIDATION, j, -(fee - cover) * e->rate[c],
                     "%s pool: %zu cross positions liquidated in the bar of %s (%s); fee %.10g, "
                     "covered %.10g %s",
                     e->ccy_name[c], count, when, why, fee, cover, e->ccy_name[c]);
}

/* Deribit: reduce pool c's positions at the mark until MB > MM. */
static int liq_deribit(engine *e, int c)
{
    int pm = e->mg->options_margin == CPO_OPTIONS_MARGIN_PORTFOLIO;
    double fees = 0.0;
    size_t rounds = 0;
    char when[40];
    fmt_when(e, when, sizeof when);
    for (; rounds < 256; rounds++) {
        pool_st p;
        pool_state(e, c, 1, -1, 0.0, NULL, &p);
        if (p.mb > p.mm)
            break;
        double deficit = p.mm - p.mb;
        /* Futures first, the largest notional first. */
        long best = -1;
        double best_n = 0.0;
        for (size_t i = 0; i < e->n; i++)
            if (e->ccy[i] == c && e->perp[i] && e->q[i] != 0.0 && !e->iso[i] &&
                isfinite(e->mk[i])) {
                double nn = notional(e, i, e->q[i], e->mk[i]);
                if (nn > best_n) {
                    best_n = nn;
                    best = (long)i;
                }
            }
        if (best >= 0) {
            size_t i = (size_t)best;
            double px = e->mk[i], im, mm;
            pos_margin(e, i, e->q[i], px, &im, &mm);
            double fr = fee_rate_of(e, i);
            double per_mm = mm / fabs(e->q[i]), per_fee = notional(e, i, 1.0, px) * fr;
            double k = fabs(e->q[i]);
            if (!pm && per_mm > per_fee) {
                k = ceil(deficit / (per_mm - per_fee));
                if (k > fabs(e->q[i]))
                    k = fabs(e->q[i]);
            } else if (pm && rounds % 8 != 7) {
                k = fmax(ceil(0.5 * fabs(e->q[i])), fmin(1.0, fabs(e->q[i])));
            }
            double dq = e->q[i] > 0 ? -k : k;
            double fee = notional(e, i, dq, px) * fr;
            int rc = force_close(e, i, dq, px);
            if (rc)
                return rc;
            book_liq(e, (long)i, c, fee, 0.0, 0.0);
            fees += fee;
            continue;
        }
        /* Then short options, the largest maintenance first. */
        long bk = -1;
        double bmm = 0.0, bpx = 0.0, bq = 0.0;
        for (size_t kk = 0; e->ob && kk < ob_npos(e->ob); kk++) {
            size_t u;
            int hq;
            const cpo_option_pos *op = ob_pos(e->ob, kk, &u, &hq);
            if (e->opt_ccy[u] != c || !hq || op->qty >= 0.0 || !isfinite(op->quote.coin.price))
                continue;
            double im, mm;
            if (cpo_deribit_option_margin(op->key.right, op->key.strike, op->quote.fwd,
                                          op->quote.coin.price, &im, &mm))
                continue;
            if (-op->qty * mm > bmm) {
                bmm = -op->qty * mm;
                bk = (long)kk;
                bpx = mm;
                bq = op->qty;
            }
        }
        if (bk < 0)
            break; /* nothing left to reduce: the fund covers below */
        double fee_per = e->mg->deribit_option_liq_fee;
        double k = -bq;
        if (!pm && bpx > fee_per) {
            k = ceil(deficit / (bpx - fee_per));
            if (k > -bq)
                k = -bq;
        } else if (pm && rounds % 8 != 7) {
            k = fmax(ceil(0.5 * -bq), fmin(1.0, -bq));
        }
        double fee = k * fee_per;
        int rc = ob_liquidate(e->ob, (size_t)bk, k, fee, e->err);
        if (rc)
            return rc;
        eng_drain_options(e);
        e->r->n_liquidations++;
        book_liq(e, -1, c, fee, 0.0, 0.0);
        fees += fee;
    }
    pool_st p;
    pool_state(e, c, 1, -1, 0.0, NULL, &p);
    double cover = 0.0;
    if (p.mb < 0.0) {
        /* Nothing left and still below 0: close what remains, the fund
         * brings the pool back to 0. */
        cover = -p.mb;
        book_liq(e, -1, c, 0.0, 0.0, cover);
    }
    return eng_event(e, CPO_EVENT_LIQUIDATION, -1, -(fees - cover) * e->rate[c],
                     "%s pool: below maintenance at the close of %s, reduced at the mark in %zu "
                     "rounds; fees %.10g, covered %.10g %s",
                     e->ccy_name[c], when, rounds, fees, cover, e->ccy_name[c]);
}

/* The liquidation price of isolated (or, with the pool, cross Binance)
 * position i; NaN if it has none. */
static double liq_price(const engine *e, size_t i)
{
    int side = e->q[i] > 0 ? 1 : -1;
    double wb, tmm = 0.0, upnl = 0.0;
    if (e->iso[i]) {
        wb = e->iso_wb[i];
    } else {
        /* Cross: WB the pool's wallet less isolated wallets; TMM1, UPNL1
         * the other cross positions' at their marks [B1]. */
        int c = e->ccy[i];
        pool_st p;
        pool_state(e, c, 1, -1, 0.0, NULL, &p);
        double im, mm;
        pos_margin(e, i, e->q[i], e->mk[i], &im, &mm);
        double own = upnl_at(e, i, e->q[i], e->mk[i]);
        wb = e->cash[c];
        for (size_t j = 0; j < e->n; j++)
            if (e->iso[j] && e->ccy[j] == c)
                wb -= e->iso_wb[j];
        upnl = p.mb - wb - own;
        tmm = p.mm - mm;
    }
    if (e->inv[i])
        return cpo_binance_liq_inverse(wb, tmm, upnl, side, fabs(e->q[i]), e->cs[i], e->ep[i],
                                       e->brk[i]);
    return cpo_binance_liq_linear(wb, tmm, upnl, side, fabs(e->q[i]) * e->cs[i], e->ep[i],
                                  e->brk[i]);
}

/* Is position i (Binance) at or below maintenance with its mark at px? */
static int below_mm(const engine *e, size_t i, double px)
{
    if (e->iso[i]) {
        double im, mm;
        pos_margin(e, i, e->q[i], px, &im, &mm);
        return e->iso_wb[i] + upnl_at(e, i, e->q[i], px) <= mm;
    }
    pool_st p;
    pool_state(e, e->ccy[i], 1, (long)i, px, NULL, &p);
    return p.mm > 0.0 && p.mb <= p.mm;
}

int eng_after_funding(engine *e, size_t i, double cf, double px)
{
    if (e->ruined || !e->perp[i] || e->model[i] != ENG_MODEL_BINANCE)
        return 0;
    if (e->iso[i])
        e->iso_wb[i] += cf;
    if (e->q[i] == 0.0 || !isfinite(px) || !below_mm(e, i, px))
        return 0;
    if (e->iso[i])
        return liq_isolated(e, i, px, liq_price(e, i));
    return liq_cross(e, e->ccy[i], (long)i, px, "below maintenance at a funding event's mark");
}

int eng_liq_bar(engine *e)
{
    if (e->ruined || !e->any_binance)
        return 0;
    const cpo_market *m = e->m;
    size_t t = e->t;
    for (size_t k = 0; k < e->n_held; k++) {
        size_t i = e->held[k];
        if (!e->perp[i] || e->q[i] == 0.0 || e->model[i] != ENG_MODEL_BINANCE)
            continue;
        int src = e->r->mark_source[i];
        double x;
        int longp = e->q[i] > 0;
        if (src == CPO_MARK_SRC_KLINES)
            x = mark_extreme(e, i, t, longp);
        else if (src == CPO_MARK_SRC_WICK)
            x = px_col(m, longp ? CPO_F_LOW : CPO_F_HIGH, i, t);
        else
            continue; /* the funding marks and the close: checked there */
        if (!isfinite(x))
            continue;
        double lp = liq_price(e, i);
        if (!isfinite(lp) || (longp ? !(x <= lp) : !(x >= lp)))
            continue;
        /* Closed at the liquidation price, or at the mark if the bar began
         * past it. */
        double px = lp, cur = e->mk[i];
        if (isfinite(cur) && (longp ? cur < lp : cur > lp))
            px = cur;
        int rc = e->iso[i] ? liq_isolated(e, i, px, lp)
                           : liq_cross(e, e->ccy[i], (long)i, px,
                                       "a mark reached the liquidation price");
        if (rc)
            return rc;
    }
    return 0;
}

int eng_margin_close(engine *e, int *changed)
{
    *changed = 0;
    if (e->ruined)
        return 0;
    size_t n0 = e->r->n_liquidations;
    int rc;
    for (size_t c = 0; c < e->n_ccy; c++) {
        if (!e->pool_on[c])
            continue;
        /* Isolated positions at the close. */
        for (size_t i = 0; i < e->n; i++)
            if (e->ccy[i] == c && e->iso[i] && e->q[i] != 0.0 && isfinite(e->mk[i]) &&
                below_mm(e, i, e->mk[i]) &&
                (rc = liq_isolated(e, i, e->mk[i], liq_price(e, i))))
                return rc;
        pool_st p;
        pool_state(e, (int)c, 1, -1, 0.0, NULL, &p);
        if (p.mm > 0.0 && p.mb <= p.mm) {
            rc = e->pool_deribit[c] ? liq_deribit(e, (int)c)
                                    : liq_cross(e, (int)c, -1, 0.0,
                                                "below maintenance at the close");
            if (rc)
                return rc;
        }
    }
    *changed = e->r->n_liquidations != n0;
    return 0;
}

/* The step's margin per pool (im[c], mm[c], mb[c]), and margin calls. */
double eng_margin_ratio(const engine *e)
{
    double worst = 0.0;
    for (size_t c = 0; c < e->n_ccy; c++) {
        if (!e->pool_on[c])
            continue;
        pool_st p;
        pool_state(e, (int)c, 0, -1, 0.0, NULL, &p);
        double ratio = p.mb > 0.0 ? p.mm / p.mb : (p.mm > 0.0 ? INFINITY : 0.0);
        if (ratio > worst)
            worst = ratio;
    }
    return worst;
}

int eng_margin_record(engine *e, double *im, double *mm, double *mb)
{
    for (size_t c = 0; c < e->n_ccy; c++) {
        im[c] = mm[c] = mb[c] = 0.0;
        if (!e->pool_on[c])
            continue;
        pool_st p;
        pool_state(e, (int)c, 0, -1, 0.0, NULL, &p);
        im[c] = p.im;
        mm[c] = p.mm;
        mb[c] = p.mb;
        double ratio = p.mb > 0.0 ? p.mm / p.mb : (p.mm > 0.0 ? INFINITY : 0.0);
        if (ratio > e->r->peak_margin_ratio[c])
            e->r->peak_margin_ratio[c] = ratio;
        if (ratio >= e->mg->call_ratio && !e->in_call[c] && !e->ruined) {
            e->in_call[c] = 1;
            e->r->n_margin_calls++;
            int rc = eng_event(e, CPO_EVENT_MARGIN_CALL, -1, ratio,
                               "%s pool: maintenance margin %.10g is %.4g of the margin balance "
                               "%.10g (margin call at %.4g)",
                               e->ccy_name[c], p.mm, ratio, p.mb, e->mg->call_ratio);
            if (rc)
                return rc;
        } else if (ratio < 0.9 * e->mg->call_ratio) {
            e->in_call[c] = 0; /* re-armed once well below the call */
        }
    }
    return 0;
}

int eng_ruin(engine *e, double equity, int *ruined_now)
{
    *ruined_now = 0;
    if (e->ruined || equity > 1e-9 * e->spec->capital)
        return 0;
    /* Everything closed at the mark; pools below 0 brought back by the fund. */
    for (size_t i = 0; i < e->n; i++)
        if (e->q[i] != 0.0 && isfinite(e->mk[i])) {
            int rc = force_close(e, i, -e->q[i], e->mk[i]);
            if (rc)
                return rc;
        }
    for (size_t k = e->ob ? ob_npos(e->ob) : 0; k-- > 0;) {
        /* (a position without a valuation cannot be closed: it stays) */
        const cpo_option_pos *op = ob_pos(e->ob, k, NULL, NULL);
        int rc = ob_liquidate(e->ob, k, -op->qty, 0.0, e->err);
        if (rc)
            return rc;
    }
    if (e->ob)
        eng_drain_options(e);
    for (size_t c = 0; c < e->n_ccy; c++) {
        if (e->cash[c] < 0.0)
            book_liq(e, -1, (int)c, 0.0, 0.0, -e->cash[c]);
    }
    for (size_t i = 0; i < e->n; i++) {
        e->iso_wb[i] = 0.0;
        e->pend[i] = 0.0;
    }
    e->any_pending = 0;
    e->ruined = 1;
    e->r->ruined = 1;
    e->r->ruin_ms = e->m->ts[e->t];
    *ruined_now = 1;
    char when[40];
    fmt_when(e, when, sizeof when);
    return eng_event(e, CPO_EVENT_RUIN, -1, equity,
                     "ruin: the account's equity reached %.10g at the close of %s; every position "
                     "closed at the mark, no more trading",
                     equity, when);
}
