/*
 * optbook.c - option positions: valuation, fills, settlement and the Greek
 * P&L explain (METHODS 2 and 3).  See optbook.h and cpo/backtest.h.
 *
 * Valuation of option k at time t with index I (USD per coin):
 *   chain    the position's row in a snapshot taken during the bar, when
 *            marking at the close: sigma = its mark IV, F = the row's
 *            forward moved with the index (F_row * I / I_row), c =
 *            Black-76 at the close's I, F and T (never the row's coin
 *            mark, which is of the snapshot's moment);
 *   surface  sigma from the surface of the latest snapshot known at t
 *            (sticky strike or DVOL-scaled), F = I exp(b T), b the
 *            expiry's basis rate in that snapshot (ln(F_0(T_0)/I_0)/T_0);
 *   settle   expired: c = the payoff at the delivery price, Greeks 0.
 * Greeks are Black-76's (cpo_black76) turned into coin Greeks with respect
 * to the index (cpo_black76_coin_greeks, P = F or I).
 *
 * Explain of one position over one segment (previous valuation q0 to the
 * new one q1), per contract, in coin:
 *   Taylor:  delta dI + gamma dI^2/2 + vega ds + theta dT + vanna dI ds
 *            + volga ds^2/2 + rho dr, with q0's Greeks, dT the time that
 *            passed in years (near expiry, when dT > T0 / 10, the theta
 *            term is the revaluation model(t1) - model(t0) at q0's inputs
 *            instead); the unexplained term is dc less their sum.
 *   Waterfall: model(t1 | I0, F0, s0) - model(t0 | ...) for time, then
 *            I0,F0 -> I1,F1 for the underlying, s0 -> s1 for vol, the
 *            rate (held constant: 0); the residual is dc less their sum
 *            (a chain mark against the model, rounding).
 */
#include "optbook.h"

#include "delivery.h"

#include "cpo/surface.h"
#include "cpo/time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YEAR_MS (365.0 * 86400000.0)

typedef struct opos {
    cpo_option_pos p;        /* key, name, qty, avg_px, opened, tag, quote */
    size_t u;                /* its underlying: b->u[u] */
    int has_quote;           /* p.quote is the last valuation */
    double seg_mtm;          /* this step, coin */
    double seg_g[CPO_GREEK_COUNT];
    double seg_wf[CPO_WF_COUNT];
    double qty_step;         /* qty held during the step (last segment) */
    int touched;             /* marked during this step */
} opos;

typedef struct under {
    char name[CPO_CCY_MAX];
    const cpo_chain *ch;     /* NULL: no chain for it in the market */
    long index_instr;        /* market instrument giving I */
    const cpo_ivindex *dvol;
    int wait_told;           /* an order waited on snapshot wait_snap */
    size_t wait_snap;
    const cpo_bars *delivery; /* raw bars of the delivery series, or NULL:
                                 the index instrument's grid bars */
    cpo_surface *surf;       /* of snapshot [snap_b, snap_e) */
    size_t snap_b, snap_e;
    int have_snap;
    size_t failed_b;         /* a snapshot whose surface failed (not retried) */
    int have_failed;
    ob_flow flow;
    double rate;             /* USD per coin this step */
} under;

typedef struct pending {
    cpo_option_key key;
    double dq;
    uint32_t tag;
} pending;

struct optbook {
    const cpo_market *m;
    cpo_option_spec spec;
    double slip;             /* slippage_bps * 1e-4 */
    ob_event_fn event;
    void *ev_ctx;
    size_t nu;
    under u[CPO_OPT_MAX_UNDERLYINGS];
    size_t t;
    int64_t ts, ts_end;
    /* positions (order of opening; removal keeps the order) */
    opos *pos;
    cpo_option_pos *view;    /* host view: copies of pos[k].p */
    size_t n_pos, cap_pos;
    pending *pend;
    size_t n_pend, cap_pend;
    /* this step, reporting currency */
    double step_g[CPO_GREEK_COUNT], step_wf[CPO_WF_COUNT];
    /* outputs */
    cpo_option_row *rows;
    size_t n_rows, cap_rows;
    cpo_option_trade *trades;
    size_t n_trades, cap_trades;
    size_t chain_marks, surface_marks;
    size_t n_approx;         /* settlements at an estimated delivery price */
    size_t n_waits;          /* order-fills put off for a stale quote */
    /* margin check of fills (ob_set_margin_hook) */
    ob_margin_fn margin_fn;
    void *margin_ctx;
};

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

void ob_name(const cpo_option_key *k, char *buf, size_t n)
{
    static const char *const mon[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    cpo_civil c;
    cpo_time_to_civil(k->expiry_ms, &c);
    char ks[48];
    if (k->strike == floor(k->strike) && fabs(k->strike) < 1e15)
        snprintf(ks, sizeof ks, "%.0f", k->strike);
    else
        snprintf(ks, sizeof ks, "%g", k->strike);
    int mi = c.month >= 1 && c.month <= 12 ? c.month - 1 : 0;
    snprintf(buf, n, "%s-%d%s%02d-%s-%c", k->underlying, c.day, mon[mi], c.year % 100, ks,
             k->right == CPO_RIGHT_PUT ? 'P' : 'C');
}

static int key_eq(const cpo_option_key *a, const cpo_option_key *b)
{
    return a->expiry_ms == b->expiry_ms && a->strike == b->strike && a->right == b->right &&
           !strcmp(a->underlying, b->underlying);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * size);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* --- setup ------------------------------------------------------------------ */

int ob_new(optbook **out, const cpo_market *m, const cpo_option_spec *spec, double slippage_bps,
           ob_event_fn event, void *event_ctx, cpo_error *err)
{
    *out = NULL;
    if (spec->n_underlyings == 0 || spec->n_underlyings > CPO_OPT_MAX_UNDERLYINGS)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "options: %zu underlyings (expected 1 to %d)", spec->n_underlyings,
                             CPO_OPT_MAX_UNDERLYINGS);
    optbook *b = calloc(1, sizeof *b);
    if (!b)
        return nomem(err);
    b->m = m;
    b->spec = *spec;
    b->slip = slippage_bps * 1e-4;
    b->event = event;
    b->ev_ctx = event_ctx;
    b->nu = spec->n_underlyings;
    int rc = 0;
    for (size_t u = 0; u < b->nu; u++) {
        under *U = &b->u[u];
        snprintf(U->name, sizeof U->name, "%s", spec->underlying[u]);
        for (size_t c = 0; c < m->n_chains; c++)
            if (!strcmp(m->chains[c].underlying, U->name))
                U->ch = &m->chains[c];
        if (!U->ch) {
            rc = cpo_error_set(err, CPO_ENOTFOUND, NULL, 0, 0,
                               "options: the data has no %s option chain (expected a chain "
                               "imported for underlying %s)",
                               U->name, U->name);
            goto fail;
        }
        U->index_instr = cpo_market_find(m, spec->index[u]);
        const char *dsym = spec->delivery[u][0] ? spec->delivery[u] : spec->index[u];
        for (size_t r = 0; r < m->n_raw; r++)
            if (!strcmp(m->raw_symbol[r], dsym))
                U->delivery = &m->raw[r];
        if (U->index_instr < 0) {
            rc = cpo_error_set(err, CPO_ENOTFOUND, NULL, 0, 0,
                               "options: index instrument \"%s\" of %s is not in the market "
                               "(expected a spot or perpetual of %s in the universe)",
                               spec->index[u], U->name, U->name);
            goto fail;
        }
        if (spec->surface_mode == CPO_SURFACE_DVOL_SCALED) {
            for (size_t j = 0; j < m->n_iv; j++)
                if (!strcmp(m->iv[j].name, spec->dvol[u]))
                    U->dvol = &m->iv[j];
            if (!U->dvol) {
                rc = cpo_error_set(err, CPO_ENOTFOUND, NULL, 0, 0,
                                   "options: DVOL index \"%s\" of %s is not in the data "
                                   "(expected an imported volatility index for dvol_scaled)",
                                   spec->dvol[u], U->name);
                goto fail;
            }
        }
        U->rate = NAN;
    }
    size_t cap = spec->max_positions ? spec->max_positions : 64;
    b->pos = calloc(cap, sizeof *b->pos);
    b->view = calloc(cap, sizeof *b->view);
    b->pend = calloc(2 * cap, sizeof *b->pend);
    if (!b->pos || !b->view || !b->pend) {
        rc = nomem(err);
        goto fail;
    }
    b->cap_pos = cap;
    b->cap_pend = 2 * cap;
    *out = b;
    return 0;
fail:
    ob_free(b);
    return rc;
}

void ob_free(optbook *b)
{
    if (!b)
        return;
    for (size_t u = 0; u < b->nu; u++)
        cpo_surface_free(b->u[u].surf);
    free(b->pos);
    free(b->view);
    free(b->pend);
    free(b->rows);
    free(b->trades);
    free(b);
}

size_t ob_n_underlyings(const optbook *b) { return b->nu; }
const char *ob_underlying(const optbook *b, size_t u) { return b->u[u].name; }

long ob_find_underlying(const optbook *b, const char *name)
{
    for (size_t u = 0; u < b->nu; u++)
        if (!strcmp(b->u[u].name, name))
            return (long)u;
    return -1;
}

static int event(optbook *b, int kind, double value, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int event(optbook *b, int kind, double value, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return b->event ? b->event(b->ev_ctx, kind, value, msg) : 0;
}

/* --- market inputs ---------------------------------------------------------- */

/* The index at the open (at_open) or close of the current step; NaN if none. */
static double index_px(const optbook *b, const under *U, int at_open)
{
    const cpo_market *m = b->m;
    size_t i = (size_t)U->index_instr, t = b->t;
    double v;
    if (at_open) {
        v = cpo_market_col(m, CPO_F_OPEN, i)[t];
        if (!(v > 0.0) && t > 0)
            v = cpo_market_col(m, CPO_F_CLOSE, i)[t - 1];
    } else {
        v = cpo_market_col(m, CPO_F_INDEX, i)[t];
        if (!(v > 0.0))
            v = cpo_market_col(m, CPO_F_CLOSE, i)[t];
    }
    return v > 0.0 && isfinite(v) ? v : NAN;
}

/* Make U's surface the one of the latest snapshot taken at or before
 * t_ms (times only move forward). */
static int refresh(optbook *b, under *U, int64_t t_ms, cpo_error *err)
{
    size_t sb, se;
    if (cpo_surface_find_snapshot(U->ch, t_ms, &sb, &se))
        return 0;
    if (U->have_snap && sb == U->snap_b)
        return 0;
    if (U->have_failed && sb == U->failed_b)
        return 0;
    cpo_surface_opts o;
    cpo_surface_opts_init(&o);
    o.mode = (cpo_surface_mode)b->spec.surface_mode;
    o.dvol = U->dvol;
    o.parity_by_index = b->spec.coin_px_index;
    cpo_surface *s = NULL;
    cpo_error e;
    memset(&e, 0, sizeof e);
    int rc = cpo_surface_new(&s, U->ch, sb, se, &o, &e);
    if (rc == CPO_ENOMEM)
        return nomem(err);
    if (rc) {
        U->have_failed = 1;
        U->failed_b = sb;
        char when[40];
        cpo_time_format(U->ch->ts[sb], when, sizeof when);
        return event(b, CPO_EVENT_OPTION, 0.0, "%s snapshot %s: no surface (%s); the previous one stays",
                     U->name, when, e.msg);
    }
    cpo_surface_free(U->surf);
    U->surf = s;
    U->snap_b = sb;
    U->snap_e = se;
    U->have_snap = 1;
    return 0;
}

/* The row of option k in U's current snapshot, or SIZE_MAX. */
static size_t snap_row(const under *U, const cpo_option_key *k)
{
    if (!U->have_snap)
        return (size_t)-1;
    const cpo_chain *ch = U->ch;
    for (size_t r = U->snap_b; r < U->snap_e; r++)
        if (ch->expiry_ms[r] == k->expiry_ms && ch->strike[r] == k->strike &&
            ch->right[r] == k->right)
            return r;
    return (size_t)-1;
}

static double coin_px_of(const optbook *b, double fwd, double index)
{
    return b->spec.coin_px_index ? index : fwd;
}

/* Black-76 coin value of one contract (no Greeks needed by callers that
 * only reprice: the waterfall). */
static double model_coin(const optbook *b, const cpo_option_key *k, double I, double F, double vol,
                         double T)
{
    cpo_black76_in in = {F, k->strike, T > 0.0 ? T : 0.0, b->spec.rate, vol, k->right};
    cpo_black76_out o;
    if (cpo_black76(&in, &o))
        return NAN;
    return o.price / coin_px_of(b, F, I);
}

/* Fill q with price and Greeks at (I, F, vol, T). */
static int fill_quote(const optbook *b, const cpo_option_key *k, double I, double F, double vol,
                      double T, cpo_option_quote *q)
{
    q->index = I;
    q->fwd = F;
    q->vol = vol;
    q->t_years = T;
    cpo_black76_in in = {F, k->strike, T, b->spec.rate, vol, k->right};
    if (cpo_black76(&in, &q->usd))
        return CPO_EDATA;
    if (cpo_black76_coin_greeks(&q->usd, F, I, coin_px_of(b, F, I), &q->coin))
        return CPO_EDATA;
    return 0;
}

/*
 * Value option k of underlying U at t_ms with index I.  chain_ok: a mark
 * of a snapshot taken in [b->ts, b->ts_end) may be used.  Returns 0, or
 * CPO_ENOTFOUND (no snapshot yet), CPO_EDATA (no vol/price).
 */
static int value(optbook *b, under *U, const cpo_option_key *k, int64_t t_ms, double I,
                 int chain_ok, cpo_option_quote *q)
{
    memset(q, 0, sizeof *q);
    q->source = CPO_OPT_SRC_NONE;
    q->bid = q->ask = NAN;
    if (!(I > 0.0))
        return CPO_EDATA;
    if (!U->surf)
        return CPO_ENOTFOUND;
    double T = ((double)k->expiry_ms - (double)t_ms) / YEAR_MS;
    if (!(T > 0.0))
        return CPO_EDATA;
    size_t r = snap_row(U, k);
    const cpo_chain *ch = U->ch;
    if (r != (size_t)-1) {
        q->bid = ch->bid_px[r];
        q->ask = ch->ask_px[r];
    }
    int64_t snap_ts = ch->ts[U->snap_b];
    if (chain_ok && r != (size_t)-1 && snap_ts >= b->ts && snap_ts < b->ts_end &&
        ch->mark_px[r] >= 0.0 && isfinite(ch->mark_px[r]) && ch->mark_iv[r] > 0.0 &&
        isfinite(ch->mark_iv[r])) {
        double F = ch->fwd_px[r], Ir = ch->index_px[r];
        if (F > 0.0 && isfinite(F) && Ir > 0.0 && isfinite(Ir))
            F *= I / Ir;
        else
            F = NAN;
        if (isfinite(F)) {
            /* One time for the whole mark: the row's implied vol at the
             * close's index, forward and time (the row's own coin mark is
             * of the snapshot's moment, not the close's). */
            double bid = q->bid, ask = q->ask;
            if (fill_quote(b, k, I, F, ch->mark_iv[r], T, q) == 0) {
                q->source = CPO_OPT_SRC_CHAIN;
                q->bid = bid;
                q->ask = ask;
                return 0;
            }
            q->bid = bid;
            q->ask = ask;
        }
    }
    const cpo_surface_info *info = cpo_surface_info_get(U->surf);
    double T0 = ((double)k->expiry_ms - (double)info->snapshot_ms) / YEAR_MS;
    double basis = 0.0;
    if (T0 > 0.0 && info->index > 0.0 && isfinite(info->index)) {
        double F0 = cpo_surface_fwd(U->surf, T0);
        if (F0 > 0.0 && isfinite(F0))
            basis = log(F0 / info->index) / T0;
    }
    double F = I * exp(basis * T);
    cpo_surface_query sq;
    cpo_surface_query_init(&sq);
    sq.t_ms = t_ms;
    sq.expiry_ms = k->expiry_ms;
    sq.strike = k->strike;
    sq.fwd = F;
    double vol;
    if (cpo_surface_vol(U->surf, &sq, &vol, NULL) || !(vol > 0.0))
        return CPO_EDATA;
    double bid = q->bid, ask = q->ask;
    if (fill_quote(b, k, I, F, vol, T, q))
        return CPO_EDATA;
    q->bid = bid;
    q->ask = ask;
    q->source = CPO_OPT_SRC_SURFACE;
    return 0;
}

/* When the data behind U's valuations at t_ms was known: the snapshot's
 * time, and with dvol_scaled the DVOL close that moves it (a daily bar is
 * known once its day has ended), whichever is later. */
static int64_t quote_time(const optbook *b, const under *U, int64_t t_ms)
{
    if (!U->have_snap)
        return CPO_TIME_NONE;
    int64_t q = U->ch->ts[U->snap_b];
    if (b->spec.surface_mode == CPO_SURFACE_DVOL_SCALED && U->surf) {
        double scale;
        int64_t dvol_ms = CPO_TIME_NONE;
        if (cpo_surface_dvol_scale(U->surf, t_ms, &scale, &dvol_ms, NULL) == 0 &&
            dvol_ms != CPO_TIME_NONE && dvol_ms + CPO_MS_DAY > q)
            q = dvol_ms + CPO_MS_DAY;
    }
    return q;
}

/* The settled "quote": payoff at the delivery price S. */
static void settle_quote(const cpo_option_key *k, double S, double vol, cpo_option_quote *q)
{
    memset(q, 0, sizeof *q);
    q->source = CPO_OPT_SRC_SETTLE;
    q->index = S;
    q->fwd = S;
    q->vol = vol;
    q->t_years = 0.0;
    q->bid = q->ask = NAN;
    double pay = k->right == CPO_RIGHT_PUT ? fmax(k->strike - S, 0.0) : fmax(S - k->strike, 0.0);
    q->usd.price = pay;
    q->coin.price = pay / S;
    q->coin.delta_index = q->usd.delta = (k->right == CPO_RIGHT_PUT) ? -(S < k->strike)
                                                                     : (S > k->strike);
}

/* --- marking and explain ---------------------------------------------------- */

static double fin(double x) { return isfinite(x) ? x : 0.0; }

/* Move position p from its last valuation to q1, booking the MTM and its
 * explain. */
static void mark(optbook *b, under *U, opos *p, const cpo_option_quote *q1)
{
    const cpo_option_quote *q0 = &p->p.quote;
    double qty = p->p.qty;
    p->touched = 1;
    p->qty_step = qty;
    if (!p->has_quote) {
        p->p.quote = *q1;
        p->has_quote = 1;
        return;
    }
    double dc = q1->coin.price - q0->coin.price;
    double dI = q1->index - q0->index, ds = q1->vol - q0->vol, dT = q0->t_years - q1->t_years;
    if (!isfinite(ds))
        ds = 0.0;
    const cpo_black76_coin *g = &q0->coin;
    double tg[CPO_GREEK_COUNT];
    tg[CPO_GREEK_DELTA] = fin(g->delta * dI);
    tg[CPO_GREEK_GAMMA] = fin(0.5 * g->gamma * dI * dI);
    tg[CPO_GREEK_VEGA] = fin(g->vega * ds);
    tg[CPO_GREEK_THETA] = fin(g->theta * dT);
    tg[CPO_GREEK_VANNA] = fin(g->vanna * dI * ds);
    tg[CPO_GREEK_VOLGA] = fin(0.5 * g->volga * ds * ds);
    tg[CPO_GREEK_RHO] = 0.0; /* the rate is held constant over the run */
    double s = 0.0;
    for (int l = 0; l < CPO_GREEK_UNEXPLAINED; l++)
        s += tg[l];
    tg[CPO_GREEK_UNEXPLAINED] = dc - s;
    /* Waterfall: time, underlying, vol, rate. */
    const cpo_option_key *k = &p->p.key;
    double w0 = model_coin(b, k, q0->index, q0->fwd, q0->vol, q0->t_years);
    double wt = model_coin(b, k, q0->index, q0->fwd, q0->vol, q1->t_years);
    double wu = model_coin(b, k, q1->index, q1->fwd, q0->vol, q1->t_years);
    double wv = model_coin(b, k, q1->index, q1->fwd, isfinite(q1->vol) ? q1->vol : q0->vol,
                           q1->t_years);
    double wf[CPO_WF_COUNT];
    wf[CPO_WF_TIME] = fin(wt - w0);
    wf[CPO_WF_UNDERLYING] = fin(wu - wt);
    wf[CPO_WF_VOL] = fin(wv - wu);
    wf[CPO_WF_RATE] = 0.0;
    wf[CPO_WF_RESIDUAL] = dc - (wf[CPO_WF_TIME] + wf[CPO_WF_UNDERLYING] + wf[CPO_WF_VOL]);
    /* Near expiry theta is measured by revaluation (METHODS 3): when the
     * step is more than a tenth of the time that was left, Theta dt is far
     * off the decay and the time step of the waterfall takes its place. */
    if (dT > 0.1 * q0->t_years && isfinite(wf[CPO_WF_TIME])) {
        double d = wf[CPO_WF_TIME] - tg[CPO_GREEK_THETA];
        tg[CPO_GREEK_THETA] = wf[CPO_WF_TIME];
        tg[CPO_GREEK_UNEXPLAINED] -= d;
    }
    double mtm = qty * dc;
    p->seg_mtm += mtm;
    for (int l = 0; l < CPO_GREEK_COUNT; l++) {
        p->seg_g[l] += qty * tg[l];
        b->step_g[l] += qty * tg[l] * U->rate;
    }
    for (int l = 0; l < CPO_WF_COUNT; l++) {
        p->seg_wf[l] += qty * wf[l];
        b->step_wf[l] += qty * wf[l] * U->rate;
    }
    U->flow.options += mtm;
    p->p.quote = *q1;
}

/* Append p's row for this step and reset its step sums. */
static int emit_row(optbook *b, const under *U, opos *p, int settled, cpo_error *err)
{
    if (grow((void **)&b->rows, &b->cap_rows, b->n_rows + 1, sizeof *b->rows))
        return nomem(err);
    cpo_option_row *r = &b->rows[b->n_rows++];
    memset(r, 0, sizeof *r);
    r->ts = b->ts;
    r->step = b->t;
    memcpy(r->name, p->p.name, sizeof r->name);
    r->key = p->p.key;
    r->tag = p->p.tag;
    r->qty = p->qty_step;
    r->quote = p->p.quote;
    r->value_coin = p->p.qty * p->p.quote.coin.price;
    r->rate = U->rate;
    r->mtm_coin = p->seg_mtm;
    memcpy(r->greek_coin, p->seg_g, sizeof r->greek_coin);
    memcpy(r->wf_coin, p->seg_wf, sizeof r->wf_coin);
    double s = 0.0;
    for (int l = 0; l < CPO_GREEK_UNEXPLAINED; l++)
        s += r->greek_coin[l];
    double un = r->mtm_coin - s;
    r->greek_coin[CPO_GREEK_UNEXPLAINED] = un;
    r->flagged = fabs(un) > b->spec.explain_rel * fabs(r->mtm_coin) && fabs(un) > 1e-9;
    r->settled = settled;
    if (p->p.quote.source == CPO_OPT_SRC_CHAIN)
        b->chain_marks++;
    else if (p->p.quote.source == CPO_OPT_SRC_SURFACE)
        b->surface_marks++;
    p->seg_mtm = 0.0;
    memset(p->seg_g, 0, sizeof p->seg_g);
    memset(p->seg_wf, 0, sizeof p->seg_wf);
    p->touched = 0;
    return 0;
}

static int add_trade(optbook *b, const opos *p, double dq, double px, double ref, double fee,
                     double slip, double index, int settlement, cpo_error *err)
{
    if (grow((void **)&b->trades, &b->cap_trades, b->n_trades + 1, sizeof *b->trades))
        return nomem(err);
    cpo_option_trade *tr = &b->trades[b->n_trades++];
    memset(tr, 0, sizeof *tr);
    tr->ts = settlement ? p->p.key.expiry_ms : b->ts;
    tr->step = b->t;
    memcpy(tr->name, p->p.name, sizeof tr->name);
    tr->key = p->p.key;
    tr->tag = p->p.tag;
    tr->qty = dq;
    tr->px = px;
    tr->ref_px = ref;
    tr->fee = fee;
    tr->slippage = slip;
    tr->index = index;
    tr->settlement = settlement;
    tr->quote_ms = tr->ts;
    tr->delta = NAN;
    return 0;
}

static void remove_pos(optbook *b, size_t k)
{
    memmove(&b->pos[k], &b->pos[k + 1], (b->n_pos - k - 1) * sizeof *b->pos);
    b->n_pos--;
}

static under *under_of(optbook *b, const cpo_option_key *k)
{
    long u = ob_find_underlying(b, k->underlying);
    return u < 0 ? NULL : &b->u[u];
}

/* The delivery price of U's expiry at T (engine/delivery.c): the
 * 30-minute TWAP of the index before it, from U's delivery series (the
 * market's raw bars) or the index instrument's grid bars. */
static double delivery_price(const optbook *b, const under *U, int64_t T, int *approx)
{
    return cpo_delivery_twap(U->delivery, b->m, (size_t)U->index_instr, T, approx);
}

/* Settle position k at delivery price S: mark to the payoff, pay it, charge
 * the delivery fee, close. */
static int settle(optbook *b, size_t k, double S, cpo_error *err)
{
    opos *p = &b->pos[k];
    under *U = &b->u[p->u];
    cpo_option_quote q;
    settle_quote(&p->p.key, S, p->has_quote ? p->p.quote.vol : NAN, &q);
    mark(b, U, p, &q);
    double pay = q.coin.price, qty = p->p.qty;
    double fee = fabs(qty) * fmin(b->spec.delivery_rate, b->spec.delivery_cap * pay);
    U->flow.cash += qty * pay - fee;
    U->flow.fees -= fee;
    int rc = add_trade(b, p, -qty, pay, pay, fee, 0.0, S, 1, err);
    if (rc)
        return rc;
    p->p.qty = 0.0;
    if ((rc = emit_row(b, U, p, 1, err)))
        return rc;
    remove_pos(b, k);
    return 0;
}

/* Settle what expired: at_open, expiries <= ts (index open); else
 * expiries < ts_end (index close). */
static int settle_due(optbook *b, int at_open, cpo_error *err)
{
    for (size_t k = 0; k < b->n_pos;) {
        opos *p = &b->pos[k];
        int due = at_open ? p->p.key.expiry_ms <= b->ts : p->p.key.expiry_ms < b->ts_end;
        if (!due) {
            k++;
            continue;
        }
        under *U = &b->u[p->u];
        int approx = 0;
        double S = delivery_price(b, U, p->p.key.expiry_ms, &approx);
        if (!(S > 0.0)) {
            /* No index bar ends in the window yet: try again at the next
             * phase. */
            k++;
            continue;
        }
        int rc = settle(b, k, S, err);
        if (rc)
            return rc;
        b->trades[b->n_trades - 1].delivery_approx = approx;
        b->n_approx += approx;
    }
    return 0;
}

/* --- steps ---------------------------------------------------------------- */

void ob_begin_step(optbook *b, size_t t, const double *rates)
{
    b->t = t;
    b->ts = b->m->ts[t];
    b->ts_end = b->ts + b->m->step_ms;
    for (size_t u = 0; u < b->nu; u++)
        b->u[u].rate = rates[u];
    memset(b->step_g, 0, sizeof b->step_g);
    memset(b->step_wf, 0, sizeof b->step_wf);
}

static long find_pos(const optbook *b, const cpo_option_key *k)
{
    for (size_t i = 0; i < b->n_pos; i++)
        if (key_eq(&b->pos[i].p.key, k))
            return (long)i;
    return -1;
}

/* Fill the pending orders at time t_ms (at_open: index open, model price;
 * else the close valuation). */
static int fill(optbook *b, int at_open, cpo_error *err)
{
    int64_t t_ms = at_open ? b->ts : b->ts_end - 1;
    int64_t max_age = b->spec.max_quote_age_ms > 0 ? b->spec.max_quote_age_ms : b->m->step_ms;
    size_t kept = 0; /* orders that wait for a fresh quote stay pending */
    for (size_t o = 0; o < b->n_pend; o++) {
        pending *od = &b->pend[o];
        under *U = under_of(b, &od->key);
        char name[CPO_SYMBOL_MAX];
        ob_name(&od->key, name, sizeof name);
        if (!U)
            continue;
        int rc = refresh(b, U, t_ms, err);
        if (rc)
            return rc;
        double I = index_px(b, U, at_open);
        cpo_option_quote q;
        if (od->key.expiry_ms <= t_ms) {
            if ((rc = event(b, CPO_EVENT_OPTION, 0.0, "%s: expired before the fill; order of %.6g ignored",
                            name, od->dq)))
                return rc;
            continue;
        }
        if (value(b, U, &od->key, t_ms, I, !at_open, &q)) {
            if ((rc = event(b, CPO_EVENT_NO_PRICE, 0.0, "%s: no price at the fill; order of %.6g ignored",
                            name, od->dq)))
                return rc;
            continue;
        }
        /* Fresh quotes only (sticky strike): a snapshot older than
         * max_quote_age is no price anyone could trade at; the order waits
         * for the next one.  dvol_scaled moves the surface to the fill time
         * with DVOL, and fills (the quote's age is recorded). */
        int64_t qt = q.source == CPO_OPT_SRC_CHAIN ? U->ch->ts[U->snap_b] : quote_time(b, U, t_ms);
        if (b->spec.surface_mode != CPO_SURFACE_DVOL_SCALED && q.source != CPO_OPT_SRC_CHAIN &&
            (qt == CPO_TIME_NONE || t_ms - qt > max_age)) {
            /* One event per underlying and snapshot: when the wait starts. */
            if (!U->wait_told || U->wait_snap != U->snap_b) {
                U->wait_told = 1;
                U->wait_snap = U->snap_b;
                char when[40];
                cpo_time_format(qt, when, sizeof when);
                if ((rc = event(b, CPO_EVENT_OPTION, 0.0,
                                "%s: the snapshot of %s is %.0f min old (max_quote_age): %s "
                                "and later %s orders wait for a fresh quote",
                                U->name, when, (double)(t_ms - qt) / 60000.0, name, U->name)))
                    return rc;
            }
            b->n_waits++;
            b->pend[kept++] = *od;
            continue;
        }
        long k = find_pos(b, &od->key);
        if (k < 0) {
            if (b->n_pos == b->cap_pos) {
                if ((rc = event(b, CPO_EVENT_OPTION, 0.0,
                                "%s: the option book holds %zu positions (max_positions); order ignored",
                                name, b->n_pos)))
                    return rc;
                continue;
            }
            k = (long)b->n_pos++;
            opos *p = &b->pos[k];
            memset(p, 0, sizeof *p);
            p->u = (size_t)(U - b->u);
            p->p.key = od->key;
            memcpy(p->p.name, name, sizeof p->p.name);
            p->p.opened_ms = t_ms;
            p->p.tag = od->tag;
            p->p.avg_px = 0.0;
        }
        opos *p = &b->pos[k];
        mark(b, U, p, &q); /* to the reference price first */
        double ref = q.coin.price, dq = od->dq;
        double half = 0.0;
        if (isfinite(q.bid) && isfinite(q.ask) && q.ask >= q.bid)
            half = 0.5 * (q.ask - q.bid);
        double px = ref + (dq > 0 ? 1.0 : -1.0) * (half + b->slip * ref);
        if (px < 0.0)
            px = 0.0;
        double fee_per = fmin(b->spec.fee_rate, b->spec.fee_cap * px);
        if (b->margin_fn) {
            /* The pool must carry the order (premium, fee, initial margin). */
            double ok = b->margin_fn(b->margin_ctx, p->u, &od->key, dq, px, fee_per, &q);
            if (ok != dq) {
                if ((rc = event(b, CPO_EVENT_MARGIN, 0.0,
                                "%s: order of %.10g cut to %.10g for lack of margin", name, dq,
                                ok)))
                    return rc;
                dq = ok;
            }
            if (dq == 0.0) {
                if (p->p.qty == 0.0)
                    remove_pos(b, (size_t)k);
                continue;
            }
        }
        double fee = fabs(dq) * fee_per;
        double slip = dq * (ref - px); /* <= 0 */
        U->flow.cash += -dq * px - fee;
        U->flow.fees -= fee;
        U->flow.slippage += slip;
        double q0 = p->p.qty, q1 = q0 + dq;
        if (q0 == 0.0 || (q0 > 0) != (q1 > 0))
            p->p.avg_px = q1 != 0.0 ? px : 0.0;
        else if (fabs(q1) > fabs(q0))
            p->p.avg_px = (q0 * p->p.avg_px + dq * px) / q1;
        if ((rc = add_trade(b, p, dq, px, ref, fee, -slip, I, 0, err)))
            return rc;
        b->trades[b->n_trades - 1].quote_ms = qt;
        b->trades[b->n_trades - 1].delta = q.coin.delta_index;
        p->p.qty = fabs(q1) < 1e-12 ? 0.0 : q1;
        if (p->p.qty == 0.0) {
            p->qty_step = q0;
            if ((rc = emit_row(b, U, p, 0, err)))
                return rc;
            remove_pos(b, (size_t)k);
        }
    }
    b->n_pend = kept;
    return 0;
}

int ob_open(optbook *b, cpo_error *err)
{
    for (size_t u = 0; u < b->nu; u++) {
        int rc = refresh(b, &b->u[u], b->ts, err);
        if (rc)
            return rc;
    }
    int rc = settle_due(b, 1, err);
    if (rc)
        return rc;
    if (b->n_pend)
        return fill(b, 1, err);
    return 0;
}

int ob_close(optbook *b, cpo_error *err)
{
    for (size_t u = 0; u < b->nu; u++) {
        int rc = refresh(b, &b->u[u], b->ts_end - 1, err);
        if (rc)
            return rc;
    }
    int rc = settle_due(b, 0, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < b->n_pos; k++) {
        opos *p = &b->pos[k];
        under *U = &b->u[p->u];
        double I = index_px(b, U, 0);
        cpo_option_quote q;
        if (value(b, U, &p->p.key, b->ts_end - 1, I, 1, &q) == 0)
            mark(b, U, p, &q);
        else {
            /* No price at this close (no index): the last one stays. */
            p->touched = 1;
            p->qty_step = p->p.qty;
        }
        if ((rc = emit_row(b, U, p, 0, err)))
            return rc;
    }
    return 0;
}

int ob_orders(optbook *b, const cpo_stage_io *io, const uint32_t *tags, cpo_error *err)
{
    (void)err;
    b->n_pend = 0;
    for (size_t k = 0; k < io->n_opt && b->n_pend < b->cap_pend; k++) {
        const cpo_option_target *tg = &io->opt[k];
        if (!isfinite(tg->qty) || !under_of(b, &tg->key))
            continue;
        long i = find_pos(b, &tg->key);
        double q = i >= 0 ? b->pos[i].p.qty : 0.0;
        double dq = tg->qty - q;
        if (fabs(dq) < 1e-9)
            continue;
        pending *od = &b->pend[b->n_pend++];
        od->key = tg->key;
        od->dq = dq;
        od->tag = tags ? tags[k] : 0;
    }
    return 0;
}

int ob_fill_close(optbook *b, cpo_error *err)
{
    if (!b->n_pend)
        return 0;
    /* Positions filled at the close were marked already: the fill's
     * reference is the same valuation, so the mark moves nothing. */
    return fill(b, 0, err);
}

int ob_pending(const optbook *b) { return b->n_pend > 0; }

void ob_drain(optbook *b, size_t u, ob_flow *out)
{
    *out = b->u[u].flow;
    memset(&b->u[u].flow, 0, sizeof b->u[u].flow);
}

void ob_step_end(optbook *b, double options_line, double abs_floor, double *greek, double *wf,
                 int *flagged)
{
    double s = 0.0;
    for (int l = 0; l < CPO_GREEK_UNEXPLAINED; l++) {
        greek[l] = b->step_g[l];
        s += greek[l];
    }
    greek[CPO_GREEK_UNEXPLAINED] = options_line - s;
    s = 0.0;
    for (int l = 0; l < CPO_WF_RESIDUAL; l++) {
        wf[l] = b->step_wf[l];
        s += wf[l];
    }
    wf[CPO_WF_RESIDUAL] = options_line - s;
    double un = fabs(greek[CPO_GREEK_UNEXPLAINED]);
    *flagged = un > b->spec.explain_rel * fabs(options_line) && un > abs_floor;
}

double ob_value_coin(const optbook *b, size_t u)
{
    double v = 0.0;
    for (size_t k = 0; k < b->n_pos; k++) {
        const opos *p = &b->pos[k];
        if (p->has_quote && p->u == u)
            v += p->p.qty * p->p.quote.coin.price;
    }
    return v;
}

double ob_delta_coin(const optbook *b, size_t u)
{
    double v = 0.0;
    for (size_t k = 0; k < b->n_pos; k++) {
        const opos *p = &b->pos[k];
        if (p->has_quote && p->u == u)
            v += p->p.qty * (p->p.quote.coin.price + fin(p->p.quote.coin.delta_account));
    }
    return v;
}

int ob_chain(const optbook *b, const char *underlying, const cpo_chain **ch, size_t *begin,
             size_t *end)
{
    long u = ob_find_underlying(b, underlying);
    if (u < 0)
        return CPO_EINVAL; /* not an underlying of [options] */
    const under *U = &b->u[u];
    if (cpo_surface_find_snapshot(U->ch, b->ts_end - 1, begin, end))
        return CPO_ENOTFOUND;
    *ch = U->ch;
    return 0;
}

int ob_quote(optbook *b, const cpo_option_key *k, cpo_option_quote *out)
{
    under *U = under_of(b, k);
    if (!U)
        return CPO_ENOTFOUND;
    int rc = refresh(b, U, b->ts_end - 1, NULL);
    if (rc)
        return rc;
    return value(b, U, k, b->ts_end - 1, index_px(b, U, 0), 1, out);
}

size_t ob_positions(optbook *b, const cpo_option_pos **pos)
{
    for (size_t k = 0; k < b->n_pos; k++)
        b->view[k] = b->pos[k].p;
    *pos = b->view;
    return b->n_pos;
}

void ob_take(optbook *b, cpo_result *r)
{
    r->opt_rows = b->rows;
    r->n_opt_rows = b->n_rows;
    r->opt_trades = b->trades;
    r->n_opt_trades = b->n_trades;
    b->rows = NULL;
    b->trades = NULL;
    b->n_rows = b->n_trades = b->cap_rows = b->cap_trades = 0;
}

void ob_counts(const optbook *b, size_t *chain_marks, size_t *surface_marks, size_t *waits)
{
    *chain_marks = b->chain_marks;
    *surface_marks = b->surface_marks;
    *waits = b->n_waits;
}

/* --- margin ------------------------------------------------------------- */

void ob_set_margin_hook(optbook *b, ob_margin_fn fn, void *ctx)
{
    b->margin_fn = fn;
    b->margin_ctx = ctx;
}

size_t ob_npos(const optbook *b) { return b->n_pos; }

const cpo_option_pos *ob_pos(const optbook *b, size_t k, size_t *u, int *has_quote)
{
    if (u)
        *u = b->pos[k].u;
    if (has_quote)
        *has_quote = b->pos[k].has_quote;
    return &b->pos[k].p;
}

double ob_flow_cash(const optbook *b, size_t u) { return b->u[u].flow.cash; }

int ob_liquidate(optbook *b, size_t k, double dq, double fee, cpo_error *err)
{
    opos *p = &b->pos[k];
    under *U = &b->u[p->u];
    double px = p->has_quote ? p->p.quote.coin.price : NAN;
    if (!isfinite(px) || dq == 0.0)
        return 0;
    U->flow.cash += -dq * px;
    double q0 = p->p.qty, q1 = q0 + dq;
    int rc = add_trade(b, p, dq, px, px, fee, 0.0, p->p.quote.index, 0, err);
    if (rc)
        return rc;
    b->trades[b->n_trades - 1].liquidation = 1;
    p->p.qty = fabs(q1) < 1e-12 ? 0.0 : q1;
    if (p->p.qty == 0.0) {
        p->qty_step = q0;
        if ((rc = emit_row(b, U, p, 0, err)))
            return rc;
        remove_pos(b, k);
    }
    return 0;
}
