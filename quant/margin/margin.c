/*
 * margin.c - the exchanges' margin formulas (cpo/margin.h).  Each formula
 * names its source page; tests/check_margin.c reproduces the worked
 * examples those pages give.
 */
#include "cpo/margin.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpo/black76.h"

/* --- Binance brackets ---------------------------------------------------- */

int cpo_brackets_check(const cpo_brackets *t, size_t *bad, char *why, size_t why_len)
{
    size_t dummy;
    if (!bad)
        bad = &dummy;
    *bad = 0;
    if (!t || t->n == 0) {
        snprintf(why, why_len, "no bracket (expected at least one)");
        return CPO_EDATA;
    }
    if (t->n > CPO_BRACKETS_MAX) {
        snprintf(why, why_len, "%zu brackets (expected at most %d)", t->n, CPO_BRACKETS_MAX);
        return CPO_EDATA;
    }
    double cum = 0.0, prev_mmr = 0.0;
    for (size_t k = 0; k < t->n; k++) {
        const cpo_bracket *b = &t->b[k];
        *bad = k + 1;
        if (!isfinite(b->floor) || !isfinite(b->cap) || !isfinite(b->max_leverage) ||
            !isfinite(b->mmr) || !isfinite(b->cum)) {
            snprintf(why, why_len, "bracket %zu has a value that is not a number (expected "
                     "finite numbers)", k + 1);
            return CPO_EDATA;
        }
        if (k == 0 && b->floor != 0.0) {
            snprintf(why, why_len, "the first bracket starts at %.10g (expected a floor of 0)",
                     b->floor);
            return CPO_EDATA;
        }
        if (k > 0 && b->floor != t->b[k - 1].cap) {
            snprintf(why, why_len, "bracket %zu starts at %.10g but bracket %zu ends at %.10g "
                     "(expected each floor to be the cap before it: %s)", k + 1, b->floor, k,
                     t->b[k - 1].cap, b->floor > t->b[k - 1].cap ? "a gap" : "an overlap");
            return CPO_EDATA;
        }
        if (!(b->cap > b->floor)) {
            snprintf(why, why_len, "bracket %zu has cap %.10g at or below its floor %.10g "
                     "(expected cap > floor)", k + 1, b->cap, b->floor);
            return CPO_EDATA;
        }
        if (!(b->max_leverage >= 1.0) || (k > 0 && b->max_leverage > t->b[k - 1].max_leverage)) {
            snprintf(why, why_len, "bracket %zu allows leverage %.10g (expected >= 1 and no "
                     "more than the bracket below)", k + 1, b->max_leverage);
            return CPO_EDATA;
        }
        if (!(b->mmr >= 0.0 && b->mmr < 1.0) || (k > 0 && b->mmr < prev_mmr)) {
            snprintf(why, why_len, "bracket %zu has maintenance margin rate %.10g (expected "
                     "[0, 1) and no less than the bracket below)", k + 1, b->mmr);
            return CPO_EDATA;
        }
        /* [B1]: cum_k = cum_{k-1} + floor_k (mmr_k - mmr_{k-1}), cum_1 = 0. */
        if (k > 0)
            cum += b->floor * (b->mmr - prev_mmr);
        if (fabs(b->cum - cum) > 1e-6 * fmax(b->floor, 1.0)) {
            snprintf(why, why_len, "bracket %zu has maintenance amount %.10g (expected %.10g: "
                     "the amount below plus floor x (mmr - mmr below), as Binance derives it)",
                     k + 1, b->cum, cum);
            return CPO_EDATA;
        }
        prev_mmr = b->mmr;
    }
    *bad = 0;
    return 0;
}

const cpo_brackets *cpo_brackets_find(const cpo_brackets *t, size_t n, const char *symbol,
                                      int inverse)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(t[k].symbol, symbol))
            return &t[k];
    char b1[CPO_CCY_MAX], q1[CPO_CCY_MAX];
    cpo_symbol_split(symbol, "", b1, q1);
    for (size_t k = 0; k < n; k++) {
        char b2[CPO_CCY_MAX], q2[CPO_CCY_MAX];
        cpo_symbol_split(t[k].symbol, "", b2, q2);
        if (!strcmp(b1, b2) && !strcmp(q1, q2) && t[k].inverse == inverse)
            return &t[k];
    }
    return NULL;
}

const cpo_bracket *cpo_bracket_for(const cpo_brackets *t, double notional)
{
    for (size_t k = 0; k + 1 < t->n; k++)
        if (notional < t->b[k].cap)
            return &t->b[k];
    return &t->b[t->n - 1];
}

/* [B1]: "Maintenance Margin = Position Notional x Maintenance Margin Rate
 * on the level of position notional - Maintenance Amount on that level". */
double cpo_binance_mm(const cpo_brackets *t, double notional)
{
    const cpo_bracket *b = cpo_bracket_for(t, notional);
    double mm = notional * b->mmr - b->cum;
    return mm > 0.0 ? mm : 0.0;
}

double cpo_binance_max_leverage(const cpo_brackets *t, double notional)
{
    return cpo_bracket_for(t, notional)->max_leverage;
}

/*
 * [B1], one-way mode (Position1LONG = Position1SHORT = 0):
 *   LP = (WB - TMM1 + UPNL1 + cumB - Side1BOTH x Position1BOTH x EP1BOTH)
 *        / (Position1BOTH x MMR_B - Side1BOTH x Position1BOTH)
 * "If there is a discrepancy between the position notional (determined by
 * the liquidation price calculation) and the assumed margin level, ... use
 * the maintenance margin rate and amount of the other level": each bracket
 * is tried until the notional at LP lies in it.
 */
double cpo_binance_liq_linear(double wb, double tmm_other, double upnl_other, int side,
                              double qty, double ep, const cpo_brackets *t)
{
    double s = side > 0 ? 1.0 : -1.0;
    if (!(qty > 0.0) || !(ep > 0.0) || !t || t->n == 0)
        return NAN;
    double lp = NAN;
    for (size_t k = 0; k < t->n; k++) {
        const cpo_bracket *b = &t->b[k];
        double den = qty * b->mmr - s * qty;
        double x = (wb - tmm_other + upnl_other + b->cum - s * qty * ep) / den;
        double notional = qty * x;
        lp = x;
        if (x > 0.0 && notional >= b->floor && (notional < b->cap || k + 1 == t->n))
            break;
    }
    if (s > 0)
        return lp > 0.0 ? lp : 0.0;
    return lp > 0.0 ? lp : INFINITY;
}

/*
 * [B2], one-way mode; derived from "margin balance = maintenance margin at
 * LP" in coin: WB + s N cs (1/EP - 1/LP) = N cs mmr / LP - cum, i.e.
 *   LP = cs N (mmr + s) / (WB - TMM1 + UPNL1 + cum + s N cs / EP);
 * it gives Binance's calculator value on the thread the tests cite.
 */
double cpo_binance_liq_inverse(double wb, double tmm_other, double upnl_other, int side,
                               double contracts, double cs, double ep, const cpo_brackets *t)
{
    double s = side > 0 ? 1.0 : -1.0;
    if (!(contracts > 0.0) || !(cs > 0.0) || !(ep > 0.0) || !t || t->n == 0)
        return NAN;
    double lp = NAN;
    for (size_t k = 0; k < t->n; k++) {
        const cpo_bracket *b = &t->b[k];
        double den = wb - tmm_other + upnl_other + b->cum + s * contracts * cs / ep;
        double x = den != 0.0 ? cs * contracts * (b->mmr + s) / den : -1.0;
        lp = x;
        if (!(x > 0.0))
            continue;
        double notional = contracts * cs / x;
        if (notional >= b->floor && (notional < b->cap || k + 1 == t->n))
            break;
    }
    if (s > 0)
        return lp > 0.0 ? lp : 0.0;
    return lp > 0.0 ? lp : INFINITY;
}

/* --- Deribit ------------------------------------------------------------- */

/* [D1] Standard margin of a short inverse option, per contract, in coin. */
int cpo_deribit_option_margin(int right, double strike, double und, double mark, double *im,
                              double *mm)
{
    *im = *mm = NAN;
    if (!(strike > 0.0) || !(und > 0.0) || !(mark >= 0.0) || !isfinite(mark) ||
        (right != CPO_RIGHT_CALL && right != CPO_RIGHT_PUT))
        return CPO_EINVAL;
    double otm = right == CPO_RIGHT_CALL ? fmax(strike - und, 0.0) : fmax(und - strike, 0.0);
    double base = fmax(0.15 - otm / und, 0.10) + mark;
    if (right == CPO_RIGHT_CALL) {
        *mm = 0.075 + mark;
        *im = base;
    } else {
        *mm = fmax(0.075, 0.075 * mark) + mark;
        *im = fmax(base, *mm);
    }
    return 0;
}

/* [D2] "11 January 2022": BTC IM 2% + size x 0.005%, MM 1% + size x
 * 0.005%; ETH IM 2% + size x 0.0004%, MM 1% + size x 0.0004%. */
void cpo_deribit_fut_params(const char *coin, cpo_deribit_fut *p, int *known)
{
    p->im_base = 0.02;
    p->mm_base = 0.01;
    p->size_rate = 0.00005;
    int k = coin && !strcmp(coin, "BTC");
    if (coin && !strcmp(coin, "ETH")) {
        p->size_rate = 0.000004;
        k = 1;
    }
    if (known)
        *known = k;
}

void cpo_deribit_fut_margin(const cpo_deribit_fut *p, double size, double *im, double *mm)
{
    double a = fabs(size);
    *im = a * (p->im_base + a * p->size_rate);
    *mm = a * (p->mm_base + a * p->size_rate);
}

/* --- portfolio margin [D3] --------------------------------------------- */

void cpo_pm_params_init(cpo_pm_params *p)
{
    memset(p, 0, sizeof *p);
    p->price_range = 0.16;
    p->buckets = 4;
    p->vol_up = 0.5;
    p->vol_down = 0.25;
    p->min_vol_shock_up = 0.5;
    p->short_vega_power = 0.3;
    p->long_vega_power = 0.13;
    p->mm_factor = 0.8;
    p->contingency_option = 0.01;
}

/* Coin value of one option (V / F, Deribit's mark convention). */
static double opt_coin(const cpo_pm_pos *q, double fwd, double vol)
{
    cpo_black76_in in = {fwd, q->strike, q->t_years, q->rate, vol, q->right};
    cpo_black76_out o;
    if (cpo_black76(&in, &o))
        return NAN;
    return o.price / fwd;
}

/* The shocked vol of an option: relative shocks scaled by
 * (30 days / days to expiry)^power, power by tenor [D3]. */
static double shocked_vol(const cpo_pm_params *p, const cpo_pm_pos *q, int sc)
{
    if (sc == 0)
        return q->vol;
    double days = q->t_years * 365.0;
    double pw = days < 30.0 ? p->short_vega_power : p->long_vega_power;
    double scale = pow(30.0 / fmax(days, 1.0 / 24.0), pw);
    if (sc > 0)
        return fmax(q->vol * (1.0 + p->vol_up * scale), p->min_vol_shock_up);
    return fmax(q->vol * (1.0 - p->vol_down * scale), 0.0);
}

int cpo_pm_margin(const cpo_pm_params *p, const cpo_pm_pos *pos, size_t n, cpo_pm_result *out,
                  size_t *bad)
{
    memset(out, 0, sizeof *out);
    out->move = 0.0;
    /* Values now, and a check of every position. */
    double v0 = 0.0;
    for (size_t k = 0; k < n; k++) {
        const cpo_pm_pos *q = &pos[k];
        if (!(q->fwd > 0.0) || !isfinite(q->qty)) {
            if (bad)
                *bad = k;
            return CPO_EINVAL;
        }
        if (q->kind == CPO_KIND_OPTION) {
            double c = opt_coin(q, q->fwd, q->vol);
            if (!isfinite(c)) {
                if (bad)
                    *bad = k;
                return CPO_EINVAL;
            }
            v0 += q->qty * c;
        } else if (!(q->cs > 0.0)) {
            if (bad)
                *bad = k;
            return CPO_EINVAL;
        }
    }
    double worst = 0.0;
    size_t nb = p->buckets;
    for (size_t b = 0; b <= 2 * nb; b++) {
        double move = nb ? p->price_range * ((double)b - (double)nb) / (double)nb : 0.0;
        for (int sc = -1; sc <= 1; sc++) {
            double v1 = 0.0, fut = 0.0;
            for (size_t k = 0; k < n; k++) {
                const cpo_pm_pos *q = &pos[k];
                double f1 = q->fwd * (1.0 + move);
                if (q->kind == CPO_KIND_OPTION)
                    v1 += q->qty * opt_coin(q, f1, shocked_vol(p, q, sc));
                else /* inverse: N cs (1/F - 1/F') coin */
                    fut += q->qty * q->cs * (1.0 / q->fwd - 1.0 / f1);
            }
            double pnl = (v1 - v0) + fut;
            if (pnl < worst) {
                worst = pnl;
                out->move = move;
                out->vol_scenario = sc;
            }
        }
    }
    /* Contingency: per strike, the net short options (older model [D3]). */
    double cont = 0.0;
    if (p->contingency_option > 0.0)
        for (size_t k = 0; k < n; k++) {
            if (pos[k].kind != CPO_KIND_OPTION)
                continue;
            int first = 1;
            for (size_t j = 0; j < k && first; j++)
                if (pos[j].kind == CPO_KIND_OPTION && pos[j].strike == pos[k].strike &&
                    pos[j].t_years == pos[k].t_years)
                    first = 0;
            if (!first)
                continue;
            double net = 0.0;
            for (size_t j = k; j < n; j++)
                if (pos[j].kind == CPO_KIND_OPTION && pos[j].strike == pos[k].strike &&
                    pos[j].t_years == pos[k].t_years)
                    net += pos[j].qty;
            if (net < 0.0)
                cont += -net * p->contingency_option;
        }
    out->worst = worst;
    out->contingency = cont;
    out->im = -worst + cont;
    out->mm = p->mm_factor * out->im;
    return 0;
}
