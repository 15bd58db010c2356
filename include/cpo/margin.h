/*
 * cpo/margin.h - the exchanges' published margin formulas, as pure
 * functions (quant/margin/): Binance USDⓈ-M and COIN-M leverage brackets,
 * maintenance margin and liquidation prices; Deribit standard margin for
 * inverse options and futures; Deribit-style portfolio margin by full
 * revaluation over a grid of price and volatility shocks.  The engine
 * (engine/margin.c) applies them to a book; nothing here reads files.
 *
 * Sources, cited again beside each formula in quant/margin/margin.c:
 *   [B1] Binance, "How to Calculate Liquidation Price of USDⓈ-M Futures
 *        Contracts", FAQ b3c689c1f50a44cabb3a84e663b81d93
 *   [B2] Binance, "How to Calculate Liquidation Price of COIN-M Futures
 *        Contracts", FAQ ceccfcfb4e3a45e3b48b0b1bb1a8ae46
 *   [B3] Binance, "Leverage and Margin of USDⓈ-M Futures", FAQ 360033162192;
 *        API GET /fapi/v1/leverageBracket (notionalFloor, notionalCap,
 *        initialLeverage, maintMarginRatio, cum)
 *   [B4] Binance, "Binance Futures Liquidation Protocols", FAQ 360033525271
 *        (margin ratio = maintenance margin / margin balance; liquidation
 *        when the mark price reaches the liquidation price)
 *   [D1] Deribit, "Standard Margin" (support.deribit.com 25944811528477):
 *        short options IM max(0.15 - OTM/S, 0.10) + mark, MM 0.075 + mark
 *   [D2] Deribit, "11 January 2022" margin change note (support.deribit.com
 *        25944826427293): BTC futures IM 2% + size x 0.005%, MM 1% + size x
 *        0.005%; ETH 0.0004% a coin; "Linear Perpetual" (25944738177565)
 *        for the worked table
 *   [D3] Deribit, "Portfolio Margin" (support.deribit.com 25944756247837)
 *        and the parameters of docs.deribit.com private/pme/simulate
 *        (2024-06-17): price range 16 % in 9 buckets, volatility range up
 *        50 % / down 25 %, vega powers 0.3 / 0.13, mm_factor 0.8
 */
#ifndef CPO_MARGIN_H
#define CPO_MARGIN_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/error.h"
#include "cpo/instrument.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Binance leverage brackets [B3] ------------------------------------- */

#define CPO_BRACKETS_MAX 24

/* One bracket: a position whose notional N (at the mark; USDⓈ-M in the
 * quote currency, COIN-M in the coin) satisfies floor <= N < cap. */
typedef struct cpo_bracket {
    double floor, cap;    /* notional floor and cap */
    double max_leverage;  /* initialLeverage: the most this bracket allows */
    double mmr;           /* maintenance margin rate */
    double cum;           /* maintenance amount: cum_k = cum_{k-1} +
                             floor_k (mmr_k - mmr_{k-1}) [B1] */
} cpo_bracket;

/* The bracket table of one symbol, lowest bracket first. */
typedef struct cpo_brackets {
    char symbol[CPO_SYMBOL_MAX];
    int inverse;          /* 1: notionals in the coin (COIN-M) */
    size_t n;
    cpo_bracket b[CPO_BRACKETS_MAX];
} cpo_brackets;

/*
 * Check a table: at least one bracket, the first floor 0, each floor the
 * cap before it (no gap, no overlap), caps above floors, leverage >= 1
 * and not rising, 0 <= mmr < 1 and not falling, and every cum equal to
 * the recurrence of [B1] to 1e-6 of the notional.  Returns 0, or
 * CPO_EDATA with what is wrong in why (the bracket's number, 1-based,
 * in *bad; 0 for the table).
 */
int cpo_brackets_check(const cpo_brackets *t, size_t *bad, char *why, size_t why_len);

/* The table of a symbol among n: the symbol itself, else one whose symbol
 * has the same base and quote (cpo_symbol_split) and settlement ("BTCUSDT"
 * serves "BTCUSDT-PERP"); NULL if none. */
const cpo_brackets *cpo_brackets_find(const cpo_brackets *t, size_t n, const char *symbol,
                                      int inverse);

/* The bracket of a notional (>= 0): the last one if it is beyond every
 * cap.  t->n must be > 0. */
const cpo_bracket *cpo_bracket_for(const cpo_brackets *t, double notional);

/* Maintenance margin N x mmr - cum of the notional's bracket [B1]. */
double cpo_binance_mm(const cpo_brackets *t, double notional);

/* The most leverage a position of this notional may use (the bracket's
 * initialLeverage). */
double cpo_binance_max_leverage(const cpo_brackets *t, double notional);

/*
 * One-way liquidation price of position 1 [B1] (USDⓈ-M, linear):
 *
 *   LP = (WB - TMM1 + UPNL1 + cum - s Q EP) / (Q mmr - s Q)
 *
 * wb: the cross wallet balance (cross) or the position's isolated wallet
 * (isolated, where tmm_other = upnl_other = 0); s = +1 long, -1 short;
 * qty = |position| in base units; ep its entry price.  The bracket is the
 * one whose notional range holds qty x LP (tried lowest first, as [B1]
 * says: recompute with the other bracket's mmr and cum).  Returns the
 * price, 0 for a long that cannot be liquidated (LP <= 0), INFINITY for
 * a short that cannot.
 */
double cpo_binance_liq_linear(double wb, double tmm_other, double upnl_other, int side,
                              double qty, double ep, const cpo_brackets *t);

/*
 * The same for COIN-M (inverse) [B2], contracts of cs USD each:
 *
 *   LP = cs N (mmr + s) / (WB - TMM1 + UPNL1 + cum + s N cs / EP)
 *
 * with WB, TMM1, UPNL1 and cum in the coin and the bracket chosen by the
 * coin notional N cs / LP.  Same conventions for no liquidation.
 */
double cpo_binance_liq_inverse(double wb, double tmm_other, double upnl_other, int side,
                               double contracts, double cs, double ep, const cpo_brackets *t);

/* --- Deribit standard margin [D1, D2] ------------------------------------ */

/*
 * Initial and maintenance margin of ONE short inverse option, in coin
 * (Deribit standard margin [D1]); a long option needs none (its premium
 * is paid in full).  und = the underlying's mark price (USD, > 0), mark
 * = the option's mark in coin (>= 0); OTM = max(K - und, 0) for a call,
 * max(und - K, 0) for a put:
 *
 *   call  IM = max(0.15 - OTM/und, 0.10) + mark     MM = 0.075 + mark
 *   put   MM = max(0.075, 0.075 mark) + mark
 *         IM = max(max(0.15 - OTM/und, 0.10) + mark, MM)
 *
 * Returns 0, or CPO_EINVAL (outputs NaN) for bad inputs.
 */
int cpo_deribit_option_margin(int right, double strike, double und, double mark, double *im,
                              double *mm);

/* Deribit futures and perpetuals [D2]: rates of a position of `size` coin
 * (|contracts| x cs / mark for inverse ones): IM = size (im_base +
 * size x size_rate), MM = size (mm_base + size x size_rate). */
typedef struct cpo_deribit_fut {
    double im_base;    /* 0.02 */
    double mm_base;    /* 0.01 */
    double size_rate;  /* per coin of size: BTC 0.00005, ETH 0.000004 */
} cpo_deribit_fut;

/* BTC's parameters for "BTC", ETH's for "ETH", BTC's otherwise (and
 * *known = 0). */
void cpo_deribit_fut_params(const char *coin, cpo_deribit_fut *p, int *known);

void cpo_deribit_fut_margin(const cpo_deribit_fut *p, double size, double *im, double *mm);

/* --- portfolio margin [D3] ----------------------------------------------- */

typedef struct cpo_pm_params {
    double price_range;       /* 0.16: moves -r .. +r */
    size_t buckets;           /* 4 a side: 9 moves with 0 */
    double vol_up, vol_down;  /* 0.5, 0.25: relative shocks at 30 days */
    double min_vol_shock_up;  /* 0.5: the shocked-up vol is at least this */
    double short_vega_power;  /* 0.3 for expiries within 30 days */
    double long_vega_power;   /* 0.13 beyond */
    double mm_factor;         /* 0.8: MM = mm_factor x IM, IM = worst loss
                                 + contingency */
    double contingency_option;/* coin per net short option per strike (0.01,
                                 the documented contingency of the older
                                 model; 0 leaves it out) */
} cpo_pm_params;

void cpo_pm_params_init(cpo_pm_params *p);

/* One position of a currency's book, revalued in that coin. */
typedef struct cpo_pm_pos {
    int kind;         /* CPO_KIND_OPTION, CPO_KIND_PERP or CPO_KIND_FUTURE */
    double qty;       /* options: contracts of 1 coin; futures: contracts */
    /* options */
    int right;
    double strike, t_years, vol, fwd, rate;
    /* inverse futures and perpetuals: contracts of cs USD at price fwd */
    double cs;
} cpo_pm_pos;

typedef struct cpo_pm_result {
    double worst;        /* the worst scenario's P&L, coin (<= 0) */
    double contingency;  /* coin */
    double im, mm;       /* coin */
    double move;         /* the worst scenario's price move (-0.16 ...) */
    int vol_scenario;    /* -1 down, 0 same, +1 up */
} cpo_pm_result;

/*
 * The currency's portfolio margin: every position revalued in full
 * (Black-76 on the shocked forward and vol, the coin value V/F as Deribit
 * marks it; inverse futures at the shocked price) in each of the
 * (2 buckets + 1) x 3 scenarios; IM = -worst + contingency, MM =
 * mm_factor x IM.  The index I of the coin moves with the forwards:
 * every forward is F (1 + move).  Returns 0, or CPO_EINVAL for a position
 * that cannot be valued (its index in *bad).
 */
int cpo_pm_margin(const cpo_pm_params *p, const cpo_pm_pos *pos, size_t n, cpo_pm_result *out,
                  size_t *bad);

#ifdef __cplusplus
}
#endif
#endif
