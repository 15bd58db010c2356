/*
 * overlay_roll.c - the "roll" overlay: hold a coin's dated futures leg and
 * roll it before expiry.
 *
 * At a rebalance the leg is `weight` of equity (times the weight the
 * stages before gave `of`, when `of` names a symbol: weight = -1, of =
 * BTCUSDT shorts as much future as the spot is long), in one future of
 * `underlying`: the one held while it has more than roll_before to run,
 * else the front future, the nearest expiry at least max(min_tenor,
 * roll_before) after the fill, with a price at this step.  Every other
 * future of the coin goes to 0.
 *
 * Between rebalances (host->between) the stage watches the held futures:
 * once one has roll_before or less to run at the next fill, it is closed
 * and the same notional opened in the front future in the same step
 * (both legs fill together): USD contracts of an inverse future carry
 * over as they are (contract size aside); a linear future's coins are
 * carried at the two prices, qty_new = qty_old cs_old px_old /
 * (cs_new px_new).  With no future to roll into, the leg is closed and a
 * note says so; the engine delivers at expiry what is still held.
 * exchange (optional) keeps to the futures of one exchange.
 *
 * Half a roll: the engine fills nothing at a step without a bar of the
 * instrument (a price carried forward), so one leg of a roll may fill and
 * the other not.  The new future already held while the expiring one is
 * still there (its close dropped): the expiring one is closed again and
 * the new one left as it is, not added to twice.  The expiring one closed
 * and nothing held (the new leg dropped): the roll's notional is opened in
 * the front at the next step, until it fills or a rebalance decides.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

static const cpo_param_spec roll_params[] = {
    {"underlying", CPO_PARAM_STRING, NULL, 0, 0, NULL, "the coin whose futures to hold, e.g. BTC"},
    {"weight", CPO_PARAM_REAL, "-1", -10, 10, NULL,
     "the leg's weight of equity (negative: short), or per unit of the weight of `of`"},
    {"of", CPO_PARAM_STRING, "", 0, 0, NULL,
     "a symbol: the leg is weight times the weight the stages before gave it (none)"},
    {"roll_before", CPO_PARAM_DURATION, "1d", 60000, 90.0 * 86400e3, NULL,
     "roll out of a future this long before its expiry"},
    {"min_tenor", CPO_PARAM_DURATION, "1h", 60000, 400.0 * 86400e3, NULL,
     "the shortest time to expiry of a future entered (the front: the nearest beyond it)"},
    {"exchange", CPO_PARAM_STRING, "", 0, 0, NULL, "only futures of this exchange (any)"},
};

typedef struct roll_state {
    char coin[CPO_CCY_MAX];
    char exchange[CPO_CCY_MAX];
    long of;              /* -1: weight of equity */
    double weight;
    int64_t roll_before, min_tenor;
    double pending;       /* a roll's USD notional (inverse: contracts x
                             size) still to open in the front; 0: none */
    size_t n_fut;
    size_t fut[];         /* the coin's futures, market order */
} roll_state;

static int roll_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_error *err)
{
    const char *coin = h->param_str(p, "underlying"), *of = h->param_str(p, "of");
    const char *ex = h->param_str(p, "exchange");
    size_t n = h->n_instr(v), nf = 0;
    roll_state *s = calloc(1, sizeof *s + (n ? n : 1) * sizeof s->fut[0]);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    snprintf(s->coin, sizeof s->coin, "%s", coin);
    snprintf(s->exchange, sizeof s->exchange, "%s", ex);
    for (size_t i = 0; i < n; i++) {
        const cpo_instrument *in = h->instrument(v, i);
        const char *c = in->underlying[0] ? in->underlying : in->base;
        if (in->kind == CPO_KIND_FUTURE && in->expiry_ms > 0 && !strcmp(c, coin) &&
            (!ex[0] || !strcmp(in->exchange, ex)))
            s->fut[nf++] = i;
    }
    s->n_fut = nf;
    s->weight = h->param_real(p, "weight");
    s->roll_before = h->param_int(p, "roll_before");
    s->min_tenor = h->param_int(p, "min_tenor");
    s->of = -1;
    int rc = 0;
    if (nf == 0)
        rc = cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                           "roll: the market has no dated future of %s%s%s (expected futures of "
                           "the coin in [universe], with an expiry)",
                           coin, ex[0] ? " on " : "", ex);
    else if (of[0] && (s->of = h->find(v, of)) < 0)
        rc = cpo_builtin_unknown_symbol(h, v, "roll", of, err);
    else if (h->struct_size <= offsetof(cpo_host, between) || h->between(v))
        rc = cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                           "roll: needs a host that runs overlays between rebalances (expected "
                           "this cpo version)");
    if (rc) {
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* Time left at the next fill (the next bar's open) of future i. */
static int64_t left(const cpo_host *h, const cpo_view *v, size_t i)
{
    return h->instrument(v, i)->expiry_ms - (h->now(v) + h->bar_ms(v));
}

/* The future to enter: the nearest expiry beyond max(min_tenor,
 * roll_before) at the next fill that has a price now; -1 if none. */
static long front(const roll_state *s, const cpo_host *h, const cpo_view *v)
{
    int64_t need = s->min_tenor > s->roll_before ? s->min_tenor : s->roll_before;
    long best = -1;
    for (size_t k = 0; k < s->n_fut; k++) {
        size_t i = s->fut[k];
        if (left(h, v, i) <= need || !(cpo_builtin_close(h, v, i) > 0.0))
            continue;
        if (best < 0 || h->instrument(v, i)->expiry_ms < h->instrument(v, (size_t)best)->expiry_ms)
            best = (long)i;
    }
    return best;
}

/* The USD notional of q contracts of i at its close (linear: coins x px). */
static double notional(const cpo_host *h, const cpo_view *v, size_t i, double q)
{
    const cpo_instrument *in = h->instrument(v, i);
    double cs = in->contract_size > 0.0 ? in->contract_size : 1.0;
    return in->settle == CPO_SETTLE_INVERSE ? q * cs : q * cs * cpo_builtin_close(h, v, i);
}

static int roll_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    (void)err;
    roll_state *s = state;
    long keep = -1;
    for (size_t k = 0; k < s->n_fut; k++) {
        size_t i = s->fut[k];
        /* held with time to run: kept, with or without a price now (a
         * step without a quote is no reason to roll) */
        if (h->position(v, i) != 0.0 && left(h, v, i) > s->roll_before)
            keep = (long)i;
    }
    if (io->fire) {
        /* A rebalance: the leg at its weight, in the held future while it
         * has time, else the front. */
        s->pending = 0.0;
        long to = keep >= 0 ? keep : front(s, h, v);
        double w = s->weight;
        if (s->of >= 0)
            w *= isfinite(io->weight[s->of]) ? io->weight[s->of] : h->weight(v, (size_t)s->of);
        for (size_t k = 0; k < s->n_fut; k++)
            io->weight[s->fut[k]] = 0.0;
        if (to >= 0)
            io->weight[to] = w;
        else if (w != 0.0 && h->struct_size > offsetof(cpo_host, note))
            return h->note(v, w, "no future of the coin to hold (none with a price and time to "
                                 "run): the leg is 0");
        return 0;
    }
    /* Between rebalances: roll what has roll_before or less to run. */
    double usd = 0.0;
    int due = 0;
    for (size_t k = 0; k < s->n_fut; k++) {
        size_t i = s->fut[k];
        double q = h->position(v, i);
        if (q == 0.0 || (long)i == keep)
            continue;
        due = 1;
        double x = notional(h, v, i, q);
        if (!isfinite(x)) {
            /* No price now: the position's last mark is the engine's. */
            x = h->weight(v, i) * h->equity(v);
        }
        usd += x;
        io->qty[i] = 0.0;
    }
    int held_any = keep >= 0;
    for (size_t k = 0; k < s->n_fut && !held_any; k++)
        held_any = h->position(v, s->fut[k]) != 0.0;
    if (!due && held_any)
        s->pending = 0.0; /* the last roll filled */
    if (!due && !(s->pending != 0.0 && !held_any))
        return 0;
    if (!due)
        usd = s->pending; /* the new leg of the last roll did not fill */
    io->fire = 1;
    if (due && keep >= 0) {
        /* The new future held while an expiring leg is left: the last
         * roll's close did not fill; close it again, add nothing. */
        io->qty[keep] = h->position(v, (size_t)keep);
        s->pending = 0.0;
        return 0;
    }
    s->pending = 0.0;
    long to = front(s, h, v);
    if (to < 0) {
        if (h->struct_size > offsetof(cpo_host, note))
            return h->note(v, usd, "no future to roll into (none with a price and time to run): "
                                   "the expiring leg is closed");
        return 0;
    }
    const cpo_instrument *in = h->instrument(v, (size_t)to);
    double cs = in->contract_size > 0.0 ? in->contract_size : 1.0;
    double add = in->settle == CPO_SETTLE_INVERSE ? usd / cs
                                                  : usd / (cs * cpo_builtin_close(h, v, (size_t)to));
    io->qty[to] = h->position(v, (size_t)to) + add;
    s->pending = usd; /* until a step finds the new leg held */
    return 0;
}

static void roll_fini(void *state) { free(state); }

const cpo_stage_def cpo_stage_roll = {
    CPO_STAGE_ABI_VERSION,
    sizeof(cpo_stage_def),
    "roll",
    CPO_ROLE_OVERLAY,
    "hold a coin's dated futures leg at a weight and roll it into the front future before expiry",
    roll_params,
    sizeof roll_params / sizeof roll_params[0],
    roll_init,
    roll_run,
    roll_fini,
};
