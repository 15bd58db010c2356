/*
 * config_doc.c - what each key of a config's fixed sections means, for
 * `cpo man config` (cpo-config(5)).  The keys a config takes are declared
 * in run/config.c (cpo_config_section_name, cpo_config_section_keys);
 * `cpo man` refuses to write the page when this table and those lists
 * differ, so the page cannot miss a section or a key, or list one the
 * program does not know.
 */
#include "cpo/config.h"

#include <stddef.h>
#include <string.h>

static const cpo_config_keydoc docs[] = {
    {"backtest", "data", "the store (required); relative to the config's folder"},
    {"backtest", "start", "the first bar of the run: an ISO date or UTC date-time (default: the "
                          "data's start)"},
    {"backtest", "end", "the last bar; a date alone runs to the end of that day (default: the "
                        "data's end)"},
    {"backtest", "warmup", "history loaded before start for the stages' lookbacks, e.g. 90d (0)"},
    {"backtest", "step", "the grid spacing, e.g. 1h, 1d (the finest bar spacing)"},
    {"backtest", "gap_fill", "none or forward: bars missing on the grid (none)"},
    {"backtest", "max_fill", "the longest run of steps filled forward (0: no limit)"},
    {"backtest", "capital", "the starting capital (1000000)"},
    {"backtest", "currency", "the reporting currency: USD, USDT, USDC or BUSD (USD)"},
    {"backtest", "collateral", "a coin (BTC) to hold the capital in, converted at the first step, "
                               "or fractions of it (BTC:0.4, the rest in the currency) (the "
                               "currency)"},
    {"backtest", "seed", "recorded in every result (0)"},
    {"backtest", "cash_buffer", "fraction of equity kept out of the targets, in [0, 1) (0)"},
    {"backtest", "detail", "totals, or instrument for one ledger row per held instrument per "
                           "step (totals)"},
    {"backtest", "benchmark", "a symbol of the store with bars to measure alpha and beta "
                              "against; not added to the universe (none)"},
    {"universe", "spot", "spot coins (BTC) or symbols"},
    {"universe", "perp", "perpetual coins (BTC) or symbols (BTCUSDT-PERP)"},
    {"universe", "futures", "dated futures: symbols (BTC-27MAR26), or a coin (BTC) for every "
                            "future of it in the store that expires after the start and has a "
                            "bar before the end, by expiry"},
    {"universe", "symbols", "symbols of any kind (default for the section: every instrument "
                            "with bars)"},
    {"costs", "fill", "next_open: decided at a close, filled at the next open; close: filled at "
                      "the decision bar's close, optimistic and said so (next_open)"},
    {"costs", "fee_bps", "taker fee of every kind, in basis points (spot 10, perp 5)"},
    {"costs", "spot_fee_bps", "taker fee of spot fills, overriding fee_bps"},
    {"costs", "perp_fee_bps", "taker fee of perpetual and future fills, overriding fee_bps"},
    {"costs", "future_fee_bps", "taker fee of dated futures, overriding perp_fee_bps for them "
                                "(Deribit: 5)"},
    {"costs", "spot_maker_bps", "spot maker fee, reported (fills are taker fills)"},
    {"costs", "perp_maker_bps", "perpetual maker fee, reported"},
    {"costs", "future_maker_bps", "dated futures' maker fee, reported"},
    {"costs", "slippage_bps", "paid on every fill against the reference price (0)"},
    {"costs", "impact_coef", "square-root impact: coef * 1e4 * sqrt(qty / bar volume) more bps "
                             "(0: off)"},
    {"costs", "participation_cap", "largest fill as a fraction of the bar's volume (0: no cap)"},
    {"costs", "lot_rounding", "round quantities down to the lot size (yes)"},
    {"costs", "perp_leverage", "isolated leverage of perpetuals in [1, 200]: imr = 1 / leverage "
                               "(1)"},
    {"costs", "perp_imr", "initial margin rate of perpetuals in [0.005, 1] (1)"},
    {"costs", "perp_mmr", "maintenance margin rate, below the imr (0.005)"},
    {"strategy", "schedule", "when to rebalance (required): stages of role schedule; a list "
                             "fires when any fires"},
    {"strategy", "select", "which instruments: a stage of role select (all)"},
    {"strategy", "weigh", "the target weights (required): a stage of role weigh"},
    {"strategy", "overlay", "stages that scale the weights"},
    {"strategy", "hedge", "stages that add derivative legs"},
    {"strategy", "plugin", "shared objects to load stages from, relative to the config"},
    {"options", "underlyings", "coins whose Deribit-style inverse options the book may hold "
                               "(required, at most 4)"},
    {"options", "index.COIN", "the instrument whose price is the index of COIN (COINUSDT)"},
    {"options", "dvol.COIN", "the volatility index of COIN for surface = dvol_scaled "
                             "(COIN-DVOL)"},
    {"options", "surface", "sticky_strike or dvol_scaled: how options without a snapshot in the "
                           "bar are valued (sticky_strike)"},
    {"options", "coin_price", "forward or index: the coin value is the USD value over it "
                              "(forward)"},
    {"options", "rate", "the continuous rate per year of Black-76 (0)"},
    {"options", "fee_rate", "trading fee in coin per contract (0.0003)"},
    {"options", "fee_cap", "the fee's cap as a fraction of the premium (0.125)"},
    {"options", "delivery_fee", "delivery fee in coin per contract at expiry (0.00015)"},
    {"options", "delivery_cap", "the delivery fee's cap as a fraction of the payoff (0.125)"},
    {"options", "explain_threshold", "flag a step whose unexplained P&L is above this fraction "
                                     "of the options line ... (0.10)"},
    {"options", "explain_floor", "... and above this fraction of equity (1e-5)"},
    {"options", "max_positions", "open option positions at most (64)"},
    {"options", "delivery.COIN", "the instrument whose bars (at their own spacing, minute bars "
                                 "for the exact TWAP) give COIN's delivery price (the index)"},
    {"options", "max_quote_age", "sticky_strike: the oldest snapshot an order may fill on, older "
                                 "it waits (one bar)"},
    {"financing", "cash.CCY", "annual yield of positive CCY balances: a rate (0.04) or a file of "
                              "date,rate (0)"},
    {"financing", "borrow.CCY", "annual cost of negative CCY balances and of the coins of spot "
                                "shorts: a rate or a file of date,rate (0)"},
    {"financing", "rf", "the risk-free rate of the metrics: a rate, a file of date,rate, or cash "
                        "(the reporting currency's cash rate) (0)"},
    {"futures", "index.COIN", "the instrument whose bars are COIN's index for its dated futures: "
                              "the basis, and the delivery price at expiry ([options] "
                              "index.COIN, else COINUSDT)"},
    {"futures", "delivery.COIN", "a finer series of the same index for the 30-minute delivery "
                                 "TWAP (minute bars: exact; coarser: estimated and flagged) "
                                 "(index.COIN)"},
    {"futures", "delivery_fee_bps", "fee on the notional delivered at expiry (Deribit: 2.5 on "
                                    "quarterlies, 0 on the others; else the taker fee)"},
    {"futures", "between_quotes", "none, or basis: a future's steps without a quote of their "
                                  "own follow the index at its latest quote's implied carry, "
                                  "the basis converging to 0 at expiry; counted in the summary "
                                  "(none)"},
    {"margin", "mode", "cross: a pool's margined positions share its wallet; isolated: each "
                       "Binance position risks only the margin posted for it (cross)"},
    {"margin", "brackets", "Binance leverage brackets: a CSV symbol,notional_floor,notional_cap,"
                           "max_leverage,mmr,maintenance_amount[,settle] or the JSON of "
                           "GET /fapi/v1/leverageBracket (none: one bracket at perp_mmr)"},
    {"margin", "options_margin", "Deribit's standard or portfolio margin for option books "
                                 "(standard)"},
    {"margin", "liquidation_price", "mark: liquidate at the mark price; wick: at the bar's "
                                    "last-trade high and low (mark)"},
    {"margin", "liquidation_fee", "Binance's clearance fee, of the notional liquidated (0.0125)"},
    {"margin", "deribit_future_liquidation_fee", "Deribit's liquidation fee of futures, of the "
                                                 "notional (by coin: BTC 0.0075, ETH 0.009)"},
    {"margin", "deribit_option_liquidation_fee", "Deribit's liquidation fee of options, coin per "
                                                 "contract (0.0019)"},
    {"margin", "margin_call", "a margin_call event when maintenance / margin balance reaches it "
                              "(0.8)"},
    {"env", "window", "bars of log returns per instrument in an observation of the step "
                      "interface (cpo/env.h, cpo.Env), oldest first (10)"},
    {"env", "vol_window", "bars of the realised volatility feature: the sample standard "
                          "deviation of log returns, per bar (30)"},
    {"env", "features", "what an observation holds: returns, vol, funding, basis, weights (per "
                        "instrument), equity, margin, greeks (per option underlying) (returns, "
                        "vol, weights, equity)"},
    {"env", "reward", "log_return: ln of the step's equity ratio; differential_sharpe: Moody & "
                      "Saffell's differential Sharpe ratio of the step's return (log_return)"},
    {"env", "sharpe_eta", "the adaptation rate of the differential Sharpe ratio's moving "
                          "averages, in (0, 1) (0.01)"},
    {"env", "drawdown_penalty", "subtracted from the reward times the drawdown from the "
                                "episode's peak equity (0)"},
    {"env", "turnover_penalty", "subtracted from the reward times the action's turnover, the "
                                "sum of |target - weight| (0)"},
    {"env", "action", "weights: the target weights of equity; deltas: changes to the weights "
                      "held (weights)"},
    {"env", "max_weight", "targets are clipped to [-max_weight, max_weight] (1)"},
    {"env", "max_gross", "targets whose sum of |weight| passes it are scaled down to it (1)"},
    {"env", "long_only", "targets are clipped at 0 from below (no)"},
    {"env", "episode_steps", "decisions per episode: a window of that many bars and one more; 0 "
                             "for the whole period (0)"},
    {"env", "random_start", "draw each episode's first bar from the seed, else start at the "
                            "period's first bar (yes)"},
    {"report", "charts", "the images of the report's charts: both (PNG and SVG), png, svg, or "
                         "none (the scripts and data only, no gnuplot) (both)"},
    {NULL, NULL, NULL},
};

const cpo_config_keydoc *cpo_config_keydocs(void)
{
    return docs;
}

int cpo_config_section_has(const char *section, const char *key)
{
    const char *list = cpo_config_section_keys(section);
    size_t n = strlen(key);
    for (const char *p = list ? list : ""; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        if ((size_t)(e - p) == n && !strncmp(p, key, n))
            return 1;
        p = e;
    }
    return 0;
}
