/*
 * opt_stages.c - the option stages: Deribit-style inverse options held in
 * the book through the host's option API (cpo/stage.h), never the engine's
 * internals.  They need a run with an [options] section listing their
 * underlying; the engine tags every position with the pipeline index of
 * the stage that opened it (host->stage_index).
 *
 * Weigh stages (they set option targets, and covered_call / protective_put
 * the weight of one spot instrument; they leave every other weight alone):
 *
 *   strangle        an out-of-the-money call and put of one expiry, each
 *                   of absolute Black delta `delta` (side sell: both short);
 *                   delta = 0.5 is the straddle below.
 *   straddle        the call and the put at the strike closest to the
 *                   forward of the expiry (the same code as strangle; a
 *                   name of its own so that a config says what it holds).
 *   covered_call    hold `spot` at `weight` of equity and sell calls of
 *                   `delta` on cover x the coins that weight buys.
 *   protective_put  hold `spot` at `weight` and buy puts of `delta` on
 *                   cover x those coins.
 *
 * Choosing the options, at a step where legs are to be opened, from the
 * latest snapshot of the underlying's chain (host->chain):
 *   - the expiry whose time to expiry at now() (the bar's open) is closest
 *     to `tenor`, among those at least `min_tenor` away (and, with roll =
 *     before, at least `roll_before` away); a tie goes to the earlier one;
 *   - for each leg, the out-of-the-money row of that expiry and right
 *     (call: strike >= F, put: strike <= F, F the forward of the expiry:
 *     quote.fwd, else the row's fwd_px) whose absolute Black delta
 *     (quote.usd.delta: dV/dF, N(d1) for a call at r = 0) is closest to
 *     `delta`.  The delta is the book's valuation at this close
 *     (host->option_quote); a row the host cannot price is judged by its
 *     own delta column, and a row with neither is skipped.  A tie goes to
 *     the strike further out of the money (higher for calls, lower for
 *     puts).  With no such row for a leg nothing is opened at this step
 *     (after a large move the latest snapshot may list no strike on the
 *     right side of the forward until the next snapshot).
 *   - straddle (and delta = 0.5): the strike of that expiry, among those
 *     with both a call and a put row, closest to the forward F of the
 *     expiry (quote.fwd, else the rows' fwd_px); a tie goes to the lower
 *     strike.
 * Sizing: strangle and straddle hold qty = size x equity / I contracts per
 * leg (I the index of the quote, else the row's index_px), or `contracts`
 * when that is given (> 0); covered_call and protective_put hold cover x
 * weight x equity / S contracts, S the close of `spot`.  Sold legs are
 * negative.  The spot weight is set when legs are opened (and at the first
 * step the stage runs): it is rebalanced at each roll, left alone between.
 *
 * Rolling: the legs are held until they expire (roll = expiry), or closed
 * at the first step where their time to expiry is under `roll_before`
 * (roll = before).  Legs whose expiry falls before the end of the current
 * bar are settled by the engine; at that step, or at the roll, new legs are
 * chosen as above (if the latest snapshot has no suitable expiry, at the
 * next step where the schedule fires and it has).  A leg that the book
 * does not hold at all (its order could not be filled) is asked for again
 * each time the stage runs; legs are not resized between rolls.
 *
 * Hedge stage:
 *
 *   delta_hedge     keep the book's delta in the coin at zero with one
 *                   instrument of that coin (a linear perpetual such as
 *                   BTCUSDT-PERP, an inverse one such as BTC-PERPETUAL, or
 *                   spot).  Net delta in coins:
 *                       N = host->coin_delta(U)  (coin balance, options,
 *                                                 inverse instruments)
 *                         + sum over linear instruments with base U
 *                           (spot, linear perps, the hedge itself) of
 *                           qty x contract_size;
 *                   (an instrument's coin is its base, or the base of its
 *                   symbol where the store records no coin as the base:
 *                   "BTCUSDT-PERP" -> BTC);
 *                   Re-hedged whenever the schedule fires, or when
 *                   |N| x price / equity is over `band`, or (band_rule =
 *                   whalley_wilmott) when |N| leaves the Whalley-Wilmott
 *                   band H = (3 lambda S Gamma^2 / (2 gamma))^(1/3) coins
 *                   (lambda the cost of a trade, Gamma the options' dollar
 *                   gamma, gamma = risk_aversion / equity), to its edge;
 *                   with pending = yes the quantities are the targets that
 *                   earlier stages set at this step (io->qty, else
 *                   io->weight x equity / (contract_size x price), the
 *                   cash buffer not counted), and option targets in io add
 *                   (target - held) x quote.coin.delta_account.  An
 *                   option that expires at the next open (the hedge's
 *                   fill) counts as the coins of its payoff at the index
 *                   now: qty x (payoff - (c + delta_account)) is added,
 *                   so that the hedge is not left over a settled option
 *                   for a bar.  The
 *                   hedge's target: linear, q_H - N / cs; inverse,
 *                   q_H - N P / cs (a contract of cs USD is cs / P coins),
 *                   q_H its (pending) quantity, P its price (mark, else
 *                   close).  It is set (io->qty of the hedge; nothing else
 *                   is touched) when |N| P / equity > band, every time with
 *                   band = 0.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "cpo/time.h"

/* --- parameters ----------------------------------------------------------- */

#define OPT_P_UNDERLYING(def)                                                                   \
    {"underlying", CPO_PARAM_STRING, def, 0, 0, NULL,                                            \
     "coin of the option chain, e.g. BTC (one of [options] underlyings)"}
#define OPT_P_DELTA(what)                                                                        \
    {"delta", CPO_PARAM_REAL, "0.25", 0.01, 0.5, NULL,                                           \
     "absolute Black delta of the " what " (0.5: at the money)"}
#define OPT_P_ROLLING                                                                           \
    {"tenor", CPO_PARAM_DURATION, "7d", CPO_MS_HOUR, 3650.0 * CPO_MS_DAY, NULL,                 \
     "time to expiry wanted when legs are opened (the closest expiry is taken)"},             \
        {"min_tenor", CPO_PARAM_DURATION, "1d", 1, 3650.0 * CPO_MS_DAY, NULL,                   \
         "expiries closer than this are never opened"},                                       \
        {"roll", CPO_PARAM_CHOICE, "expiry", 0, 0, "expiry|before",                              \
         "expiry: hold to settlement; before: close and reopen roll_before ahead of expiry"}, \
        {"roll_before", CPO_PARAM_DURATION, "1d", CPO_MS_MINUTE, 3650.0 * CPO_MS_DAY, NULL,    \
         "roll = before: roll when the time to expiry is under this"}
#define OPT_P_SIZE                                                                              \
    {"size", CPO_PARAM_REAL, "1", 0, 100, NULL,                                                 \
     "contracts per leg as a fraction of equity / index price (1: one coin per coin of equity)"}, \
        {"contracts", CPO_PARAM_REAL, "0", 0, 1e9, NULL,                                        \
         "fixed contracts per leg; 0 = use size"}
#define OPT_P_SPOT                                                                              \
    {"spot", CPO_PARAM_STRING, "BTCUSDT", 0, 0, NULL, "the spot instrument held, e.g. BTCUSDT"}, \
        {"weight", CPO_PARAM_REAL, "1", 0, 10, NULL, "weight of equity in spot"},               \
        {"cover", CPO_PARAM_REAL, "1", 0, 10, NULL,                                              \
         "option contracts per coin the spot weight buys"}

static const cpo_param_spec strangle_params[] = {
    OPT_P_UNDERLYING("BTC"),
    {"side", CPO_PARAM_CHOICE, "sell", 0, 0, "sell|buy", "sell (short both legs) or buy"},
    OPT_P_DELTA("call and of the put"),
    OPT_P_ROLLING,
    OPT_P_SIZE,
};

static const cpo_param_spec straddle_params[] = {
    OPT_P_UNDERLYING("BTC"),
    {"side", CPO_PARAM_CHOICE, "sell", 0, 0, "sell|buy", "sell (short both legs) or buy"},
    OPT_P_ROLLING,
    OPT_P_SIZE,
};

static const cpo_param_spec covered_params[] = {
    OPT_P_SPOT,
    OPT_P_UNDERLYING(""),
    OPT_P_DELTA("calls sold"),
    OPT_P_ROLLING,
};

static const cpo_param_spec protective_params[] = {
    OPT_P_SPOT,
    OPT_P_UNDERLYING(""),
    OPT_P_DELTA("puts bought"),
    OPT_P_ROLLING,
};

/* --- shared state ------------------------------------------------------------ */

typedef enum opt_kind { OPT_STRANGLE, OPT_STRADDLE, OPT_COVERED_CALL, OPT_PROTECTIVE_PUT } opt_kind;

typedef struct opt_leg {
    cpo_option_key key;
    double qty; /* target, signed */
} opt_leg;

typedef struct opt_state {
    opt_kind kind;
    const char *name;          /* stage name for messages */
    char und[CPO_CCY_MAX];
    int sell;                  /* 1: legs are short */
    int atm;                   /* 1: straddle strike (closest to F) */
    double delta;
    int64_t tenor, min_tenor, roll_before;
    int roll_early;            /* roll = before */
    double size, contracts;    /* strangle, straddle */
    long spot;                 /* covered_call, protective_put: -1 otherwise */
    double weight, cover;
    int spot_set;              /* the spot weight was set once */
    size_t n_legs;
    opt_leg legs[2];
} opt_state;

/* The host must have the option API (tables from before it stop at
 * param_item). */
static int host_has_options(const cpo_host *h)
{
    return h->struct_size >= offsetof(cpo_host, stage_index) + sizeof h->stage_index && h->chain &&
           h->option_quote && h->option_positions && h->coin_delta && h->option_target &&
           h->stage_index;
}

static int no_option_api(const char *stage, cpo_error *err)
{
    return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                         "%s: this engine has no option positions (expected a cpo whose host "
                         "API has chain, option_quote and option_target)",
                         stage);
}

static int coin_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= CPO_CCY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* The coin of a spot, perpetual or future: its base when that is a coin
 * code, else the base of its symbol ("BTCUSDT-PERP" -> BTC: stores that
 * record a perp's symbol as its base, as the demo store's Binance perps
 * do). */
static void instr_coin(const cpo_instrument *in, char coin[CPO_CCY_MAX])
{
    char quote[CPO_CCY_MAX];
    if (coin_ok(in->base) && strcmp(in->base, in->symbol)) {
        snprintf(coin, CPO_CCY_MAX, "%s", in->base);
        return;
    }
    cpo_symbol_split(in->symbol, "USD", coin, quote);
}

/* "BTC 2026-01-09T08:00:00Z 95000 put" (for messages). */
static void key_text(const cpo_option_key *k, char *buf, size_t n)
{
    char when[40];
    cpo_time_format(k->expiry_ms, when, sizeof when);
    snprintf(buf, n, "%s %s %.10g %s", k->underlying, when, k->strike,
             k->right == CPO_RIGHT_CALL ? "call" : k->right == CPO_RIGHT_PUT ? "put" : "?");
}

static int key_eq(const cpo_option_key *a, const cpo_option_key *b)
{
    return a->expiry_ms == b->expiry_ms && a->strike == b->strike && a->right == b->right &&
           !strcmp(a->underlying, b->underlying);
}

/* Contracts of option k the book holds, opened by stage `tag` (tag_any:
 * by any stage). */
static double held_qty(const cpo_host *h, const cpo_view *v, const cpo_option_key *k,
                       uint32_t tag, int tag_any)
{
    const cpo_option_pos *pos = NULL;
    size_t n = h->option_positions(v, &pos);
    double q = 0.0;
    for (size_t j = 0; j < n; j++)
        if ((tag_any || pos[j].tag == tag) && key_eq(&pos[j].key, k))
            q += pos[j].qty;
    return q;
}

static int put_target(const opt_state *s, const cpo_host *h, const cpo_view *v, cpo_stage_io *io,
                      const cpo_option_key *k, double qty, cpo_error *err)
{
    int rc = h->option_target(v, io, k, qty);
    if (!rc)
        return 0;
    char kt[160];
    key_text(k, kt, sizeof kt);
    if (rc == CPO_ERANGE)
        return cpo_error_set(err, CPO_ERANGE, NULL, 0, 0,
                             "%s: no room for the target of %s (expected at most %zu option "
                             "targets at a step)",
                             s->name, kt, io->cap_opt);
    return cpo_error_set(err, rc, NULL, 0, 0,
                         "%s: the engine refused the target of %s: %s (expected underlying %s "
                         "in [options] underlyings)",
                         s->name, kt, cpo_strerror(rc), s->und);
}

static void read_rolling(opt_state *s, const cpo_params *p, const cpo_host *h)
{
    s->tenor = h->param_int(p, "tenor");
    s->min_tenor = h->param_int(p, "min_tenor");
    s->roll_before = h->param_int(p, "roll_before");
    s->roll_early = !strcmp(h->param_str(p, "roll"), "before");
}

static int opt_init_common(void **state, opt_kind kind, const char *name, const cpo_params *p,
                           const cpo_host *h, const cpo_view *v, cpo_error *err)
{
    if (!host_has_options(h))
        return no_option_api(name, err);
    opt_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    s->kind = kind;
    s->name = name;
    s->spot = -1;
    read_rolling(s, p, h);
    const char *und = h->param_str(p, "underlying");
    char coin[CPO_CCY_MAX]; /* und may point here: it lives as long as und */
    if (kind == OPT_COVERED_CALL || kind == OPT_PROTECTIVE_PUT) {
        const char *sym = h->param_str(p, "spot");
        long i = h->find(v, sym);
        if (i < 0) {
            free(s);
            return cpo_builtin_unknown_symbol(h, v, name, sym, err);
        }
        const cpo_instrument *in = h->instrument(v, (size_t)i);
        if (in->kind != CPO_KIND_SPOT) {
            free(s);
            return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                 "%s: spot \"%s\" is a %s instrument (expected a spot "
                                 "instrument such as BTCUSDT)",
                                 name, sym, cpo_kind_name(in->kind));
        }
        instr_coin(in, coin);
        if (!und[0])
            und = coin;
        if (strcmp(und, coin)) {
            free(s);
            return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                 "%s: spot \"%s\" is in %s, not in the underlying %s (expected "
                                 "the spot of the option's coin)",
                                 name, sym, coin[0] ? coin : "no known coin", und);
        }
        s->spot = i;
        s->weight = h->param_real(p, "weight");
        s->cover = h->param_real(p, "cover");
        s->delta = h->param_real(p, "delta");
        s->sell = kind == OPT_COVERED_CALL;
    } else {
        s->sell = !strcmp(h->param_str(p, "side"), "sell");
        s->delta = kind == OPT_STRADDLE ? 0.5 : h->param_real(p, "delta");
        s->size = h->param_real(p, "size");
        s->contracts = h->param_real(p, "contracts");
    }
    s->atm = s->delta >= 0.5;
    if (!coin_ok(und)) {
        free(s);
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "%s: underlying \"%s\" is not a coin (expected a code like BTC)",
                             name, und);
    }
    snprintf(s->und, sizeof s->und, "%s", und);
    *state = s;
    return 0;
}

static void opt_fini(void *state)
{
    free(state);
}

/* --- choosing the legs ---------------------------------------------------- */

/* The expiry of the snapshot rows [b, e) closest to the tenor; 0 if none
 * qualifies. */
static int pick_expiry(const opt_state *s, const cpo_chain *ch, size_t b, size_t e, int64_t now,
                       int64_t *out)
{
    int found = 0;
    int64_t best = 0, best_gap = 0;
    int64_t floor_t = s->min_tenor;
    if (s->roll_early && s->roll_before > floor_t)
        floor_t = s->roll_before;
    for (size_t r = b; r < e; r++) {
        int64_t ex = ch->expiry_ms[r], left = ex - now;
        if (left < floor_t)
            continue;
        int64_t gap = left > s->tenor ? left - s->tenor : s->tenor - left;
        if (!found || gap < best_gap || (gap == best_gap && ex < best)) {
            best = ex;
            best_gap = gap;
            found = 1;
        }
    }
    *out = best;
    return found;
}

static void row_key(const opt_state *s, const cpo_chain *ch, size_t r, cpo_option_key *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->underlying, sizeof k->underlying, "%s", s->und);
    k->expiry_ms = ch->expiry_ms[r];
    k->strike = ch->strike[r];
    k->right = ch->right[r];
}

/* The absolute Black delta of row r: the host's valuation, else the row's
 * own delta column; NaN if neither. */
static double row_delta(const opt_state *s, const cpo_host *h, const cpo_view *v,
                        const cpo_chain *ch, size_t r, double *index, double *fwd)
{
    cpo_option_key k;
    cpo_option_quote q;
    row_key(s, ch, r, &k);
    *index = ch->index_px[r];
    *fwd = ch->fwd_px[r];
    if (h->option_quote(v, &k, &q) == 0 && q.source != CPO_OPT_SRC_NONE && isfinite(q.usd.delta)) {
        if (isfinite(q.index) && q.index > 0.0)
            *index = q.index;
        if (isfinite(q.fwd) && q.fwd > 0.0)
            *fwd = q.fwd;
        return fabs(q.usd.delta);
    }
    return isfinite(ch->delta[r]) ? fabs(ch->delta[r]) : NAN;
}

/* Row of right `right` and expiry ex whose delta is closest to s->delta;
 * -1 if none. */
static long pick_by_delta(const opt_state *s, const cpo_host *h, const cpo_view *v,
                          const cpo_chain *ch, size_t b, size_t e, int64_t ex, int right,
                          double *index)
{
    long best = -1;
    double best_gap = INFINITY;
    for (size_t r = b; r < e; r++) {
        if (ch->expiry_ms[r] != ex || ch->right[r] != right || !(ch->strike[r] > 0.0))
            continue;
        double I, F, d = row_delta(s, h, v, ch, r, &I, &F);
        if (!isfinite(d))
            continue;
        /* Out of the money only: a put above the forward (or a call below
         * it) of an old snapshot's strikes after a big move is not the
         * leg wanted, whatever its delta. */
        if (isfinite(F) && (right == CPO_RIGHT_CALL ? ch->strike[r] < F : ch->strike[r] > F))
            continue;
        double gap = fabs(d - s->delta);
        int further = best >= 0 && (right == CPO_RIGHT_CALL ? ch->strike[r] > ch->strike[best]
                                                             : ch->strike[r] < ch->strike[best]);
        if (best < 0 || gap < best_gap || (gap == best_gap && further)) {
            best = (long)r;
            best_gap = gap;
            *index = I;
        }
    }
    return best;
}

/* The strike of expiry ex closest to its forward among strikes with both
 * a call and a put row; the two rows in *call, *put.  0 if none. */
static int pick_atm(const opt_state *s, const cpo_host *h, const cpo_view *v, const cpo_chain *ch,
                    size_t b, size_t e, int64_t ex, long *call, long *put, double *index)
{
    double F = NAN, I = NAN;
    for (size_t r = b; r < e && !isfinite(F); r++) {
        if (ch->expiry_ms[r] != ex || !(ch->strike[r] > 0.0))
            continue;
        cpo_option_key k;
        cpo_option_quote q;
        row_key(s, ch, r, &k);
        if (h->option_quote(v, &k, &q) == 0 && q.source != CPO_OPT_SRC_NONE && q.fwd > 0.0 &&
            isfinite(q.fwd)) {
            F = q.fwd;
            I = q.index;
        }
    }
    for (size_t r = b; r < e && !isfinite(F); r++)
        if (ch->expiry_ms[r] == ex && isfinite(ch->fwd_px[r]) && ch->fwd_px[r] > 0.0) {
            F = ch->fwd_px[r];
            I = ch->index_px[r];
        }
    if (!isfinite(F))
        return 0;
    *call = *put = -1;
    double best_gap = INFINITY, best_k = NAN;
    for (size_t r = b; r < e; r++) {
        if (ch->expiry_ms[r] != ex || ch->right[r] != CPO_RIGHT_CALL || !(ch->strike[r] > 0.0))
            continue;
        long p = -1;
        for (size_t j = b; j < e && p < 0; j++)
            if (ch->expiry_ms[j] == ex && ch->right[j] == CPO_RIGHT_PUT &&
                ch->strike[j] == ch->strike[r])
                p = (long)j;
        if (p < 0)
            continue;
        double gap = fabs(ch->strike[r] - F);
        if (*call < 0 || gap < best_gap || (gap == best_gap && ch->strike[r] < best_k)) {
            *call = (long)r;
            *put = p;
            best_gap = gap;
            best_k = ch->strike[r];
        }
    }
    if (*call < 0)
        return 0;
    *index = I;
    if (!(*index > 0.0) || !isfinite(*index))
        *index = ch->index_px[*call];
    return 1;
}

/* Contracts per leg (unsigned). */
static double leg_size(const opt_state *s, const cpo_host *h, const cpo_view *v, double index)
{
    double eq = h->equity(v);
    if (s->spot >= 0) {
        double px = cpo_builtin_close(h, v, (size_t)s->spot);
        if (!(px > 0.0) || !isfinite(px))
            return NAN;
        return s->cover * s->weight * eq / px;
    }
    if (s->contracts > 0.0)
        return s->contracts;
    if (!(index > 0.0) || !isfinite(index))
        return NAN;
    return s->size * eq / index;
}

/* Choose new legs from the latest snapshot into s->legs (s->n_legs; 0 if
 * the snapshot has nothing suitable or there is none yet). */
static int choose_legs(opt_state *s, const cpo_host *h, const cpo_view *v, cpo_error *err)
{
    const cpo_chain *ch = NULL;
    size_t b = 0, e = 0;
    s->n_legs = 0;
    int rc = h->chain(v, s->und, &ch, &b, &e);
    if (rc == CPO_ENOTFOUND || (!rc && (!ch || b >= e)))
        return 0;
    if (rc)
        return cpo_error_set(err, rc, NULL, 0, 0,
                             "%s: no chain of %s: %s (expected underlying %s in [options] "
                             "underlyings)",
                             s->name, s->und, cpo_strerror(rc), s->und);
    int64_t ex;
    if (!pick_expiry(s, ch, b, e, h->now(v), &ex))
        return 0;
    long row[2] = {-1, -1};
    double index = NAN;
    size_t n = 0;
    if (s->kind == OPT_COVERED_CALL || s->kind == OPT_PROTECTIVE_PUT) {
        int right = s->kind == OPT_COVERED_CALL ? CPO_RIGHT_CALL : CPO_RIGHT_PUT;
        if (s->atm) {
            long c, p;
            if (pick_atm(s, h, v, ch, b, e, ex, &c, &p, &index))
                row[n++] = right == CPO_RIGHT_CALL ? c : p;
        } else if ((row[0] = pick_by_delta(s, h, v, ch, b, e, ex, right, &index)) >= 0) {
            n = 1;
        }
    } else if (s->atm) {
        if (pick_atm(s, h, v, ch, b, e, ex, &row[0], &row[1], &index))
            n = 2;
    } else {
        double ic = NAN, ip = NAN;
        row[0] = pick_by_delta(s, h, v, ch, b, e, ex, CPO_RIGHT_CALL, &ic);
        row[1] = pick_by_delta(s, h, v, ch, b, e, ex, CPO_RIGHT_PUT, &ip);
        if (row[0] >= 0 && row[1] >= 0)
            n = 2;
        index = isfinite(ic) && ic > 0.0 ? ic : ip;
    }
    if (n == 0)
        return 0;
    double q = leg_size(s, h, v, index);
    if (!isfinite(q) || q <= 0.0)
        return 0;
    for (size_t k = 0; k < n; k++) {
        row_key(s, ch, (size_t)row[k], &s->legs[k].key);
        s->legs[k].qty = s->sell ? -q : q;
    }
    s->n_legs = n;
    return 0;
}

/* --- the weigh stages ------------------------------------------------------ */

static int opt_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    opt_state *s = state;
    int64_t now = h->now(v), bar = h->bar_ms(v);
    uint32_t tag = h->stage_index(v);
    int rc;
    if (io->cap_opt == 0 || !io->opt)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "%s: the run holds no options (expected an [options] section with "
                             "underlyings = %s)",
                             s->name, s->und);
    if (s->n_legs) {
        int64_t ex = s->legs[0].key.expiry_ms;
        if (ex < now + bar) {
            s->n_legs = 0; /* settled by the engine at or before this close */
        } else if (s->roll_early && ex - now < s->roll_before) {
            for (size_t k = 0; k < s->n_legs; k++)
                if ((rc = put_target(s, h, v, io, &s->legs[k].key, 0.0, err)))
                    return rc;
            s->n_legs = 0;
        } else {
            /* Held: ask again for a leg the book does not hold at all. */
            for (size_t k = 0; k < s->n_legs; k++)
                if (held_qty(h, v, &s->legs[k].key, tag, 0) == 0.0 &&
                    (rc = put_target(s, h, v, io, &s->legs[k].key, s->legs[k].qty, err)))
                    return rc;
            return 0;
        }
    }
    if ((rc = choose_legs(s, h, v, err)))
        return rc;
    for (size_t k = 0; k < s->n_legs; k++)
        if ((rc = put_target(s, h, v, io, &s->legs[k].key, s->legs[k].qty, err)))
            return rc;
    if (s->spot >= 0 && (s->n_legs || !s->spot_set)) {
        io->weight[s->spot] = s->weight;
        s->spot_set = 1;
    }
    return 0;
}

static int strangle_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                         cpo_error *err)
{
    return opt_init_common(state, OPT_STRANGLE, "strangle", p, h, v, err);
}

static int straddle_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                         cpo_error *err)
{
    return opt_init_common(state, OPT_STRADDLE, "straddle", p, h, v, err);
}

static int covered_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                        cpo_error *err)
{
    return opt_init_common(state, OPT_COVERED_CALL, "covered_call", p, h, v, err);
}

static int protective_init(void **state, const cpo_params *p, const cpo_host *h,
                           const cpo_view *v, cpo_error *err)
{
    return opt_init_common(state, OPT_PROTECTIVE_PUT, "protective_put", p, h, v, err);
}

const cpo_stage_def cpo_stage_strangle = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "strangle", CPO_ROLE_WEIGH,
    "an out-of-the-money call and put of one expiry at a delta, sold or bought, rolled at "
    "expiry or before",
    strangle_params, sizeof strangle_params / sizeof strangle_params[0], strangle_init, opt_run,
    opt_fini};

const cpo_stage_def cpo_stage_straddle = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "straddle", CPO_ROLE_WEIGH,
    "the call and put at the strike closest to the forward, sold or bought, rolled at expiry "
    "or before",
    straddle_params, sizeof straddle_params / sizeof straddle_params[0], straddle_init, opt_run,
    opt_fini};

const cpo_stage_def cpo_stage_covered_call = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "covered_call", CPO_ROLE_WEIGH,
    "hold a spot coin and sell calls of a delta on it, rolled at expiry or before",
    covered_params, sizeof covered_params / sizeof covered_params[0], covered_init, opt_run,
    opt_fini};

const cpo_stage_def cpo_stage_protective_put = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "protective_put", CPO_ROLE_WEIGH,
    "hold a spot coin and buy puts of a delta on it, rolled at expiry or before",
    protective_params, sizeof protective_params / sizeof protective_params[0], protective_init,
    opt_run, opt_fini};

/* --- delta_hedge ----------------------------------------------------------- */

static const cpo_param_spec hedge_params[] = {
    {"instrument", CPO_PARAM_STRING, "BTCUSDT-PERP", 0, 0, NULL,
     "the hedge: a linear or inverse perpetual (or spot) of the coin, e.g. BTCUSDT-PERP"},
    {"underlying", CPO_PARAM_STRING, "", 0, 0, NULL,
     "the coin whose delta is hedged; \"\" = the hedge's base coin"},
    {"band", CPO_PARAM_REAL, "0", 0, 10, NULL,
     "re-hedge when |net delta| x price / equity is over this (0: whenever the schedule fires)"},
    {"band_rule", CPO_PARAM_CHOICE, "fixed", 0, 0, "fixed|whalley_wilmott",
     "fixed: the band above; whalley_wilmott: a no-trade band from costs and the options' "
     "gamma, re-hedged to its edge"},
    {"cost_bps", CPO_PARAM_REAL, "6", 0, 1000, NULL,
     "whalley_wilmott: the cost of a hedge trade, fee and slippage, in bps of its notional"},
    {"risk_aversion", CPO_PARAM_REAL, "300", 1e-6, 1e9, NULL,
     "whalley_wilmott: risk aversion relative to equity (gamma x equity)"},
    {"pending", CPO_PARAM_BOOL, "yes", 0, 0, NULL,
     "count the targets earlier stages set at this step (else the positions held)"},
};

typedef struct dh_state {
    char und[CPO_CCY_MAX];
    size_t hi;     /* the hedge's index */
    int inverse;
    double cs;     /* its contract size */
    double band;
    int pending;
    int ww;        /* band_rule = whalley_wilmott */
    double cost;   /* cost_bps / 1e4 */
    double gamma_rel; /* risk_aversion */
} dh_state;

static int dh_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_error *err)
{
    if (!host_has_options(h))
        return no_option_api("delta_hedge", err);
    const char *sym = h->param_str(p, "instrument");
    long i = h->find(v, sym);
    if (i < 0)
        return cpo_builtin_unknown_symbol(h, v, "delta_hedge", sym, err);
    const cpo_instrument *in = h->instrument(v, (size_t)i);
    const char *und = h->param_str(p, "underlying");
    char coin[CPO_CCY_MAX];
    instr_coin(in, coin);
    if (!und[0])
        und = coin;
    if (!coin_ok(und))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "delta_hedge: underlying \"%s\" is not a coin (expected a code "
                             "like BTC)",
                             und);
    if (in->kind == CPO_KIND_OPTION || strcmp(coin, und))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "delta_hedge: instrument \"%s\" (%s, base %s) cannot hedge %s "
                             "(expected a perpetual, future or spot whose base is %s)",
                             sym, cpo_kind_name(in->kind), coin[0] ? coin : "unknown", und,
                             und);
    if (!(in->contract_size > 0.0) || !isfinite(in->contract_size))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "delta_hedge: instrument \"%s\" has contract size %g (expected a "
                             "positive size)",
                             sym, in->contract_size);
    dh_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    snprintf(s->und, sizeof s->und, "%s", und);
    s->hi = (size_t)i;
    s->inverse = in->settle == CPO_SETTLE_INVERSE;
    s->cs = in->contract_size;
    s->band = h->param_real(p, "band");
    s->pending = (int)h->param_int(p, "pending");
    s->ww = !strcmp(h->param_str(p, "band_rule"), "whalley_wilmott");
    s->cost = h->param_real(p, "cost_bps") * 1e-4;
    s->gamma_rel = h->param_real(p, "risk_aversion");
    *state = s;
    return 0;
}

/* Price of instrument i at the current step: mark, else close. */
static double last_px(const cpo_host *h, const cpo_view *v, size_t i)
{
    size_t len = 0;
    const double *m = h->series(v, CPO_F_MARK, i, &len);
    if (m && len && isfinite(m[len - 1]) && m[len - 1] > 0.0)
        return m[len - 1];
    return cpo_builtin_close(h, v, i);
}

/* The quantity of instrument i after this step's orders (pending) or now. */
static double qty_of(const dh_state *s, const cpo_host *h, const cpo_view *v,
                     const cpo_stage_io *io, size_t i, double eq)
{
    double q = h->position(v, i);
    if (!isfinite(q))
        q = 0.0;
    if (!s->pending)
        return q;
    if (isfinite(io->qty[i]))
        return io->qty[i];
    if (isfinite(io->weight[i])) {
        const cpo_instrument *in = h->instrument(v, i);
        double px = last_px(h, v, i);
        if (io->weight[i] == 0.0)
            return 0.0;
        if (!(px > 0.0) || !isfinite(px) || !(in->contract_size > 0.0))
            return q; /* no price: the engine will not trade it */
        return in->settle == CPO_SETTLE_INVERSE ? io->weight[i] * eq / in->contract_size
                                                : io->weight[i] * eq / (in->contract_size * px);
    }
    return q;
}

static int dh_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    dh_state *s = state;
    double P = last_px(h, v, s->hi);
    if (!(P > 0.0) || !isfinite(P))
        return 0; /* no price for the hedge yet: leave it alone */
    double eq = h->equity(v);
    double net = h->coin_delta(v, s->und);
    if (!isfinite(net))
        return 0;
    size_t n = h->n_instr(v);
    for (size_t i = 0; i < n; i++) {
        const cpo_instrument *in = h->instrument(v, i);
        char coin[CPO_CCY_MAX];
        instr_coin(in, coin);
        if (in->kind == CPO_KIND_OPTION || strcmp(coin, s->und))
            continue;
        double q = qty_of(s, h, v, io, i, eq);
        if (in->settle == CPO_SETTLE_LINEAR) {
            net += q * in->contract_size;
        } else {
            /* coin_delta holds what is held; a pending change of an
             * inverse contract of cs USD adds cs / price coins. */
            double q0 = h->position(v, i), px = last_px(h, v, i);
            if (isfinite(q0) && px > 0.0 && isfinite(px))
                net += (q - q0) * in->contract_size / px;
        }
    }
    /* Options that expire at the next open are settled before the hedge
     * is in place (fill = next_open; with fill = close, at the same
     * instant): count them as the coins their payoff will be at the index
     * now, not as options whose delta is about to vanish. */
    const cpo_option_pos *pos = NULL;
    size_t n_pos = h->option_positions(v, &pos);
    int64_t next_open = h->now(v) + h->bar_ms(v);
    for (size_t k = 0; k < n_pos; k++) {
        const cpo_option_pos *o = &pos[k];
        double S = o->quote.index, c = o->quote.coin.price, da = o->quote.coin.delta_account;
        if (strcmp(o->key.underlying, s->und) || o->key.expiry_ms > next_open || !(S > 0.0) ||
            !isfinite(S) || !isfinite(c) || !isfinite(da))
            continue;
        double pay = o->key.right == CPO_RIGHT_CALL ? fmax(S - o->key.strike, 0.0) / S
                                                    : fmax(o->key.strike - S, 0.0) / S;
        net += o->qty * (pay - (c + da));
    }
    if (s->pending)
        for (size_t k = 0; k < io->n_opt; k++) {
            const cpo_option_target *t = &io->opt[k];
            cpo_option_quote qt;
            if (strcmp(t->key.underlying, s->und) || h->option_quote(v, &t->key, &qt) ||
                qt.source == CPO_OPT_SRC_NONE || !isfinite(qt.coin.delta_account))
                continue;
            net += (t->qty - held_qty(h, v, &t->key, 0, 1)) * qt.coin.delta_account;
        }
    double to = 0.0; /* the net delta to leave (coins) */
    if (s->ww) {
        /*
         * Whalley & Wilmott (1997), the asymptotic no-trade band of a
         * delta hedge with proportional costs: re-hedge only when the net
         * delta leaves +-H, H = (3 lambda S Gamma^2 / (2 gamma))^(1/3)
         * coins, and then to the band's edge.  lambda = cost_bps, S the
         * index, Gamma the book's dollar gamma in coins per USD (per
         * option 2 dc/dI + I d2c/dI2: the inverse option's USD value is
         * c I), gamma = risk_aversion / equity.
         */
        double G = 0.0, S = 0.0;
        for (size_t k = 0; k < n_pos; k++) {
            const cpo_option_pos *o = &pos[k];
            const cpo_black76_coin *c = &o->quote.coin;
            double I = o->quote.index;
            if (strcmp(o->key.underlying, s->und) || !(I > 0.0) || !isfinite(c->delta) ||
                !isfinite(c->gamma))
                continue;
            G += o->qty * (2.0 * c->delta + I * c->gamma);
            S = I;
        }
        if (!(S > 0.0))
            S = P;
        double H = eq > 0.0 ? cbrt(3.0 * s->cost * S * G * G * eq / (2.0 * s->gamma_rel)) : 0.0;
        if (fabs(net) <= H)
            return 0;
        to = net > 0 ? H : -H;
    } else if (s->band > 0.0 && !(eq > 0.0 && fabs(net) * P / eq > s->band)) {
        return 0;
    }
    double qh = qty_of(s, h, v, io, s->hi, eq);
    double d = net - to;
    io->qty[s->hi] = s->inverse ? qh - d * P / s->cs : qh - d / s->cs;
    return 0;
}

static void dh_fini(void *state)
{
    free(state);
}

const cpo_stage_def cpo_stage_delta_hedge = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "delta_hedge", CPO_ROLE_HEDGE,
    "keep the book's delta in a coin (options, spot, perps) at zero with one perpetual, "
    "re-hedged on a band",
    hedge_params, sizeof hedge_params / sizeof hedge_params[0], dh_init, dh_run, dh_fini};
