/*
 * cpo/backtest.h - one backtest: a run spec, the engine loop, the ledger.
 *
 * The engine makes one pass over the market's time grid.  At step t (the
 * bar [ts[t], ts[t] + bar)):
 *
 *   1. orders decided at t-1 fill at open[t] (fill = next_open);
 *   2. funding events whose nominal time (the stamp on the hour, within a
 *      minute: exchanges stamp them a few ms late) is in [ts[t], ts[t+1])
 *      are paid on the position held just before that time (a fill at
 *      open[t] is stamped ts[t], so it counts for an event after ts[t],
 *      not for one at ts[t]);
 *      a position below maintenance at the event's mark is liquidated;
 *   3. positions whose liquidation price the mark's adverse extreme in the
 *      bar reaches (mark klines' low for longs, high for shorts; the
 *      last-trade low/high with liquidation_price = wick) are liquidated
 *      at that price (cpo_margin_spec);
 *   4. positions are marked at close[t] (the mark column where present);
 *      what is below maintenance there is liquidated, and an account whose
 *      equity reached 0 is ruined;
 *   5. the pipeline runs if the schedule fires, on data of steps 0..t
 *      (never after a ruin);
 *   6. with fill = close its orders fill at close[t] now, else at open[t+1];
 *   7. a ledger row is appended.
 *
 * Every step's P&L lines (price, funding, fees, slippage, liquidation,
 * revaluation of coin balances) add up to the change in equity; what they
 * do not explain is the residual line, reported, never hidden.
 */
#ifndef CPO_BACKTEST_H
#define CPO_BACKTEST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/error.h"
#include "cpo/instrument.h"
#include "cpo/margin.h"
#include "cpo/market.h"
#include "cpo/stage.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CPO_MAX_CCY 8 /* settlement currencies of one run */

typedef enum cpo_fill_at {
    CPO_FILL_NEXT_OPEN = 0, /* default: decided at close t, filled at open t+1 */
    CPO_FILL_THIS_CLOSE = 1 /* filled at close t (optimistic; reported) */
} cpo_fill_at;

typedef enum cpo_detail {
    CPO_DETAIL_TOTALS = 0,    /* one ledger row per step */
    CPO_DETAIL_INSTRUMENT = 1 /* and one row per held instrument per step */
} cpo_detail;

/* Costs and margin of one instrument kind (spot, perp, option, future). */
typedef struct cpo_kind_costs {
    double taker_bps;   /* fee on market orders (all simulated fills) */
    double maker_bps;   /* reported; fills are taker fills */
    double imr;         /* initial margin rate (1/leverage); perps */
    double mmr;         /* maintenance margin rate; perps */
} cpo_kind_costs;

typedef struct cpo_costs {
    cpo_kind_costs kind[4];   /* by cpo_kind */
    double slippage_bps;      /* paid on every fill, against the trader */
    double impact_coef;       /* square-root impact: bps += coef * 1e4 *
                                 sqrt(qty / bar volume); 0 = off */
    double participation_cap; /* max fraction of bar volume per fill; 0 = no cap */
    int lot_rounding;         /* 1: round quantities down to the lot size */
} cpo_costs;

void cpo_costs_init(cpo_costs *c); /* 10 bps taker spot, 5 bps perp, imr 1, mmr 0.005 */

/*
 * Option positions (Deribit inverse options on the market's chains).
 *
 * An option is valued at the close of each step, at that one time: with a
 * snapshot taken during the bar, its row's implied vol at the close's
 * index, forward and time (CPO_OPT_SRC_CHAIN); else from the volatility
 * surface of the latest snapshot of its chain (cpo/surface.h, `surface`
 * mode) with the index I at the close of the `index` instrument and F = I
 * exp(b T), b the basis rate of the expiry in that snapshot.  Coin value c
 * = V/P with P = F (Deribit's marks; coin_px) or I.  Orders fill at the
 * next open (or this close) at the model price then, against the trader by
 * half the snapshot's bid-ask spread (slippage) plus costs.slippage_bps;
 * fee = min(fee_rate, fee_cap * c) coin per contract; with sticky strike
 * only on a snapshot at most max_quote_age old (else the order waits).  At
 * expiry (Deribit 08:00 UTC) the position is settled in coin at the
 * delivery price, the 30-minute TWAP of the index before the expiry from
 * the delivery series (market raw bars, else the index's grid bars; bars
 * coarser than a minute give a flagged estimate) (CPO_OPT_SRC_SETTLE);
 * payoff max(S-K,0)/S (call) or max(K-S,0)/S (put), less the delivery fee
 * min(delivery_rate, delivery_cap * payoff).
 *
 * Greek P&L explain (METHODS 3), per position and step, in coin:
 *   dc = delta dI + gamma dI^2/2 + vega ds + theta dt + vanna dI ds
 *        + volga ds^2/2 + rho dr + unexplained
 * with start-of-step coin Greeks (cpo_black76_coin, w.r.t. the index;
 * near expiry, dt > T/10, theta by revaluation), and the full-revaluation
 * waterfall time -> underlying (I and F) -> vol
 * -> rate, the rest a residual line; both converted to the reporting
 * currency at the coin's rate of the step, as the options line is.
 */
typedef enum cpo_greek_line {
    CPO_GREEK_DELTA = 0,
    CPO_GREEK_GAMMA,
    CPO_GREEK_VEGA,
    CPO_GREEK_THETA,
    CPO_GREEK_VANNA,
    CPO_GREEK_VOLGA,
    CPO_GREEK_RHO,
    CPO_GREEK_UNEXPLAINED, /* the options line less the terms above */
    CPO_GREEK_COUNT
} cpo_greek_line;

const char *cpo_greek_name(cpo_greek_line g); /* "delta", ..., "unexplained" */

typedef enum cpo_wf_line {
    CPO_WF_TIME = 0,       /* reprice at t1 (I0, F0, sigma0, r0) */
    CPO_WF_UNDERLYING,     /* then at I1, F1 */
    CPO_WF_VOL,            /* then at sigma1 */
    CPO_WF_RATE,           /* then at r1 */
    CPO_WF_RESIDUAL,       /* the options line less the steps above (a mark
                              from the chain against the model price) */
    CPO_WF_COUNT
} cpo_wf_line;

const char *cpo_wf_name(cpo_wf_line w); /* "wf_time", ... */

#define CPO_OPT_MAX_UNDERLYINGS 4

typedef struct cpo_option_spec {
    int enabled;               /* 0: no option positions (chains ignored) */
    int surface_mode;          /* cpo_surface_mode */
    int coin_px_index;         /* 0: c = V/F (Deribit marks), 1: c = V/I */
    size_t n_underlyings;      /* underlyings that may hold positions */
    char underlying[CPO_OPT_MAX_UNDERLYINGS][CPO_CCY_MAX]; /* "BTC" */
    char index[CPO_OPT_MAX_UNDERLYINGS][CPO_SYMBOL_MAX];  /* instrument whose
                                  price is the index I ("BTCUSDT") */
    char dvol[CPO_OPT_MAX_UNDERLYINGS][CPO_SYMBOL_MAX];   /* DVOL index
                                  name ("BTC-DVOL"), dvol_scaled mode */
    double rate;               /* r, continuous per year (Deribit: 0) */
    double fee_rate;           /* coin per contract (0.0003) */
    double fee_cap;            /* fraction of the premium (0.125) */
    double delivery_rate;      /* coin per contract at expiry (0.00015) */
    double delivery_cap;       /* fraction of the payoff (0.125) */
    double explain_rel;        /* flag a step when |unexplained| > explain_rel
                                  * |options line| ... (0.10) */
    double explain_abs;        /* ... and > explain_abs * equity (1e-5) */
    size_t max_positions;      /* open option positions at most (64) */
    int64_t max_quote_age_ms;  /* sticky_strike: an order fills only on a
                                  snapshot at most this old (0: one bar);
                                  older, it waits with an event */
    char delivery[CPO_OPT_MAX_UNDERLYINGS][CPO_SYMBOL_MAX]; /* instrument of
                                  the store whose bars (at their own
                                  spacing, minute bars ideally) give the
                                  delivery price; "" = the index instrument */
} cpo_option_spec;

void cpo_option_spec_init(cpo_option_spec *o);

/*
 * Margin and liquidation as the exchanges do them ([margin] section; the
 * formulas in cpo/margin.h, their application in engine/margin.c).
 *
 * Pools.  Each settlement currency is one margin pool (Binance's USDⓈ-M
 * wallet for USD/USDT, a coin's COIN-M or Deribit account for a coin);
 * its wallet is the engine's cash in that currency.  Spot holdings are
 * bought with that cash but are not collateral; spot shorts are
 * liabilities of the pool.  Margined instruments (perpetuals, futures,
 * options) follow the rules of their exchange:
 *   - Binance (and any exchange but Deribit): initial margin notional /
 *     leverage, maintenance from the symbol's leverage brackets (or one
 *     bracket at perp_mmr when no table is given), liquidation when the
 *     mark reaches the liquidation price ([B1], [B2]), the clearance fee
 *     on the notional liquidated; cross (positions share the pool's
 *     wallet) or isolated (each position risks only the margin posted
 *     for it; its unrealised P&L does not fund orders);
 *   - Deribit futures and perpetuals: IM/MM 2 %/1 % + size x 0.005 % (BTC)
 *     [D2]; inverse options: standard margin [D1] or portfolio margin
 *     [D3]; a pool holding them is cross and liquidated step by step at
 *     the mark until it is back above maintenance.
 * Orders that raise margin need the pool's free collateral (margin
 * balance less initial margin) for their initial margin and fee; an
 * order that lacks it is cut, with an event.  A position or pool below
 * maintenance is liquidated; what a liquidation costs beyond the margin
 * is the insurance fund's.  When the whole account's equity reaches 0 the
 * run is ruined: a ruin event, every position closed, no more trading.
 */
typedef enum cpo_margin_mode {
    CPO_MARGIN_CROSS = 0,      /* Binance's default */
    CPO_MARGIN_ISOLATED = 1
} cpo_margin_mode;

typedef enum cpo_options_margin {
    CPO_OPTIONS_MARGIN_STANDARD = 0,
    CPO_OPTIONS_MARGIN_PORTFOLIO = 1
} cpo_options_margin;

typedef enum cpo_liq_price {
    CPO_LIQ_MARK = 0,  /* the mark: mark klines' high/low where the data has
                          them, else the funding events' marks and the close */
    CPO_LIQ_WICK = 1   /* the bar's last-trade high/low (asked for) */
} cpo_liq_price;

typedef struct cpo_margin_spec {
    cpo_margin_mode mode;
    cpo_options_margin options_margin;
    cpo_liq_price liq_price;
    double liquidation_fee;   /* Binance clearance fee, of the notional
                                 liquidated (0.0125: BTCUSDT/ETHUSDT) */
    double deribit_future_liq_fee; /* NaN: by coin (BTC 0.0075, ETH 0.009) */
    double deribit_option_liq_fee; /* coin per option contract (0.0019) */
    double call_ratio;        /* a margin_call event when maintenance /
                                 margin balance reaches it (0.8) */
    size_t n_brackets;
    const cpo_brackets *brackets; /* [n_brackets] by symbol (borrowed: the
                                 config owns them) */
    char brackets_source[256];/* where they came from (summary) */
    cpo_pm_params pm;         /* options_margin = portfolio */
} cpo_margin_spec;

void cpo_margin_spec_init(cpo_margin_spec *m);

/*
 * Financing ([financing] section): interest on what the book holds, accrued
 * every step on the balances held over it (after the open's fills), simple
 * interest for the step's length at an annual rate (365-day year):
 *   cash_c > 0        cash.CCY, the yield of idle cash or coins
 *   cash_c < 0        borrow.CCY, the cost of what is owed
 *   spot short        borrow.COIN on the coins owed, at the mark, charged
 *                     in the instrument's currency (Binance margin's
 *                     hourly interest: daily rate / 24 an hour)
 * A rate is a constant or a dated series (the latest rate dated at or
 * before the step).  The risk-free rate of the metrics is rf: a constant,
 * a series, or the reporting currency's cash rate.
 */
typedef struct cpo_rate {
    double constant;      /* annual; used when n == 0 */
    size_t n;             /* a series: ts[k] (UTC ms, ascending), rate[k] */
    const int64_t *ts;    /* borrowed: the config owns it */
    const double *rate;
} cpo_rate;

/* The rate in force at t_ms: the latest dated at or before it (the first
 * one before the series starts); the constant for n == 0. */
double cpo_rate_at(const cpo_rate *r, int64_t t_ms);

typedef struct cpo_financing_spec {
    int enabled;
    size_t n;                            /* currencies named */
    char ccy[CPO_MAX_CCY][CPO_CCY_MAX];  /* "USD" stands for every dollar */
    cpo_rate cash[CPO_MAX_CCY];          /* on positive balances */
    cpo_rate borrow[CPO_MAX_CCY];        /* on negative balances and shorts */
    int rf_kind;                         /* CPO_RF_* */
    cpo_rate rf;                         /* CPO_RF_RATE: annual */
    char rf_source[256];                 /* as written (summary) */
} cpo_financing_spec;

enum { CPO_RF_NONE = 0, CPO_RF_RATE = 1, CPO_RF_CASH = 2 };

/*
 * Dated futures ([futures] section).  A future (CPO_KIND_FUTURE with an
 * expiry) is margined like a perpetual of its exchange and pays no
 * funding.  At its expiry it is delivered: the position is closed at the
 * delivery price, the time-weighted average of its coin's index over the
 * 30 minutes before the expiry (engine/delivery.c: Deribit, "Prices of
 * Virtual Assets"; Binance since 2024-11-11), less a delivery fee of the
 * notional at that price: delivery_fee_bps if given, else the exchange's
 * (Deribit: 2.5 bps on quarterly futures, none on the others, support.
 * deribit.com "Fees"; Binance and others: the taker fee of futures).
 * Orders for a future at or after its expiry are dropped with an event.
 *
 * index.COIN names the instrument whose bars are the coin's index
 * (default: [options] index.COIN, else COINUSDT); delivery.COIN a finer
 * series of the same index for the TWAP (minute bars: exact; hourly:
 * estimated and flagged).  between_quotes = basis fills the steps of a
 * future without a quote of their own after its first one (sparse quotes:
 * a weekly chain snapshot) from the index and the latest quote's implied
 * carry, F(t) = I(t) (F_q / I_q)^((T - t) / (T - t_q)), a basis that
 * converges to 0 at the expiry T (run/market.c); those cells are counted
 * in the summary and marked in futures.csv.
 */
typedef enum cpo_fut_gap {
    CPO_FUT_GAP_NONE = 0,  /* the cube's cells as they are (NaN or filled) */
    CPO_FUT_GAP_BASIS = 1  /* the last quote's basis on the index */
} cpo_fut_gap;

typedef struct cpo_futures_spec {
    size_t n;                                           /* coins named */
    char coin[CPO_OPT_MAX_UNDERLYINGS][CPO_CCY_MAX];
    char index[CPO_OPT_MAX_UNDERLYINGS][CPO_SYMBOL_MAX];    /* "" = default */
    char delivery[CPO_OPT_MAX_UNDERLYINGS][CPO_SYMBOL_MAX]; /* "" = index */
    double delivery_fee_bps;   /* NaN: the exchange's */
    int between_quotes;        /* cpo_fut_gap */
} cpo_futures_spec;


/* One stage of the pipeline: its table and its parameter values. */
typedef struct cpo_stage_inst {
    const cpo_stage_def *def;
    cpo_params *params; /* owned by the run spec */
} cpo_stage_inst;

typedef struct cpo_run_spec {
    int64_t start_ms, end_ms;  /* CPO_TIME_NONE: the market's span */
    double capital;            /* in the reporting currency */
    char currency[CPO_CCY_MAX];/* reporting currency: "USD" (USDT counted 1:1) */
    char collateral[64];       /* as written: "" = the capital is held in the
                                 reporting currency; "BTC" = converted to BTC
                                 at the first step's rate (coin-margined
                                 books); "BTC:0.3, ETH:0.2" = those fractions
                                 of it, the rest in the reporting currency */
    size_t n_collateral;       /* parsed: coins and their fractions (sum <= 1) */
    char collateral_ccy[4][CPO_CCY_MAX];
    double collateral_frac[4];
    cpo_fill_at fill;
    double cash_buffer;        /* fraction of equity kept uninvested */
    cpo_costs costs;
    cpo_detail detail;
    uint64_t seed;             /* recorded in every result */
    cpo_stage_inst stages[CPO_ROLE_COUNT * 4];
    size_t n_stages;           /* in pipeline order */
    cpo_option_spec options;   /* option positions (cpo_option_spec_init) */
    cpo_margin_spec margin;    /* margin and liquidation (cpo_margin_spec_init) */
    cpo_financing_spec financing; /* interest ([financing]; zeroed: none) */
    cpo_futures_spec futures;  /* dated futures ([futures]; cpo_run_spec_init) */
    const volatile sig_atomic_t *cancel; /* NULL, or a flag (set by a signal
                                 handler, say) checked before every step:
                                 once it is non-zero the run stops with
                                 CPO_EINTR and frees what it made */
} cpo_run_spec;

void cpo_run_spec_init(cpo_run_spec *s);

/* A fill. */
typedef struct cpo_trade {
    int64_t ts;
    size_t step;
    uint32_t instr;
    double qty;        /* signed contracts */
    double px;         /* fill price */
    double ref_px;     /* the price the fill is measured against (open or close) */
    double fee;        /* in the settlement currency, >= 0 */
    double slippage;   /* cost against ref_px in settlement currency, >= 0 */
    int liquidation;   /* 1 if a forced close */
    int delivery;      /* 1 if a future delivered at expiry (px: the
                          delivery price, fee: the delivery fee) */
} cpo_trade;

/* Something the engine did that the user should know about. */
typedef struct cpo_event {
    int64_t ts;
    size_t step;
    int32_t instr;     /* -1 if not about one instrument */
    int kind;          /* CPO_EVENT_* */
    double value;      /* the amount (reporting currency) */
    char msg[160];
} cpo_event;

enum {
    CPO_EVENT_LIQUIDATION = 1,
    CPO_EVENT_CAPPED = 2,       /* order cut by the participation cap */
    CPO_EVENT_NO_PRICE = 3,     /* target on an instrument without a price */
    CPO_EVENT_MARGIN = 4,       /* order cut for lack of margin */
    CPO_EVENT_OPTION = 5,       /* an option order or surface left out */
    CPO_EVENT_MARGIN_CALL = 6,  /* maintenance / margin balance reached
                                   margin.call_ratio */
    CPO_EVENT_RUIN = 7,         /* the account's equity reached 0 */
    CPO_EVENT_STAGE = 8,        /* a stage's note (host->note): a limit that bound */
    CPO_EVENT_DELIVERY = 9      /* a future delivered at expiry, or an
                                   order for an expired one dropped */
};

/* P&L lines of a ledger row (reporting currency). */
typedef enum cpo_pnl_line {
    CPO_PNL_PRICE = 0,    /* mark-to-market at constant position */
    CPO_PNL_FUNDING,      /* perpetual funding paid (-) or received (+) */
    CPO_PNL_FEES,         /* trading fees (<= 0) */
    CPO_PNL_SLIPPAGE,     /* fills against their reference price (<= 0) */
    CPO_PNL_LIQUIDATION,  /* margin charged on liquidation (<= 0) */
    CPO_PNL_REVALUATION,  /* coin balances revalued at the new index */
    CPO_PNL_OPTIONS,      /* option positions marked to market at constant
                             position (split by Greek in cpo_result.greek) */
    CPO_PNL_FINANCING,    /* interest: cash yield on positive balances,
                             borrow cost of negative balances and of the
                             coins of short spot positions ([financing];
                             only in runs that have it: cpo_pnl_shown) */
    CPO_PNL_RESIDUAL,     /* change in equity not explained by the above */
    CPO_PNL_COUNT
} cpo_pnl_line;

const char *cpo_pnl_name(cpo_pnl_line l); /* "price", "funding", ... */

struct cpo_result;
/* Whether line l is one of r's: every line but financing, which only runs
 * with a [financing] section have (so that the files of other runs keep
 * their columns). */
int cpo_pnl_shown(const struct cpo_result *r, cpo_pnl_line l);


/* One option position at the close of one step (cpo_result.opt_rows). */
typedef struct cpo_option_row {
    int64_t ts;
    size_t step;
    char name[CPO_SYMBOL_MAX];  /* "BTC-27MAR26-90000-C" */
    cpo_option_key key;
    uint32_t tag;               /* pipeline index of the stage that opened it */
    double qty;                 /* contracts held during the step (signed) */
    cpo_option_quote quote;     /* the valuation at the close */
    double value_coin;          /* qty * coin price */
    double rate;                /* USD per coin used for the lines */
    double mtm_coin;            /* qty * (c1 - c0): the options line, coin */
    double greek_coin[CPO_GREEK_COUNT]; /* explain of mtm_coin */
    double wf_coin[CPO_WF_COUNT];
    int flagged;                /* |unexplained| over the threshold */
    int settled;                /* 1 at the step it expired */
} cpo_option_row;

/* An option fill or settlement (cpo_result.opt_trades). */
typedef struct cpo_option_trade {
    int64_t ts;
    size_t step;
    char name[CPO_SYMBOL_MAX];
    cpo_option_key key;
    uint32_t tag;
    double qty;        /* signed contracts */
    double px;         /* coin per contract (fill or payoff) */
    double ref_px;     /* model price the fill is measured against, coin */
    double fee;        /* coin, >= 0 (trading or delivery fee) */
    double slippage;   /* coin, >= 0 */
    double index;      /* I at the fill (the delivery price at settlement) */
    int settlement;    /* 1: expiry */
    int liquidation;   /* 1: a forced close (engine/margin.c) */
    int64_t quote_ms;  /* when the data the price came from was known: the
                          snapshot (sticky strike), or the later of the
                          snapshot and the DVOL close used (dvol_scaled);
                          the delivery time for settlements */
    double delta;      /* the option's delta to the index (Delta_I) at the
                          fill: delta-adjusted notional = |qty delta| index */
    int delivery_approx; /* settlements: 1 if the delivery price was
                          estimated from bars coarser than a minute */
} cpo_option_trade;

/* The result of a run.  Owned by the caller (cpo_result_free). */
typedef struct cpo_result {
    size_t n_steps;
    int64_t *ts;                    /* [n_steps] */
    double *equity;                 /* [n_steps], after step t */
    double *pnl[CPO_PNL_COUNT];     /* [n_steps] each */
    double *gross;                  /* [n_steps] sum |exposure| / equity */
    double *net;                    /* [n_steps] sum exposure / equity;
                                       exposures: each instrument's, each
                                       coin balance's (its USD value), each
                                       option's delta-adjusted notional */
    size_t n_ccy;
    char ccy[CPO_MAX_CCY][CPO_CCY_MAX];
    double *cash;                   /* [n_ccy * n_steps], ccy-major */
    size_t n_instr;
    cpo_instrument *instr;          /* [n_instr] copies */
    double *final_qty;              /* [n_instr] */
    double *pnl_instr;              /* [n_instr * CPO_PNL_COUNT] summed over the run */
    cpo_trade *trades;
    size_t n_trades;
    cpo_event *events;
    size_t n_events;
    size_t n_rebalances;
    double capital;
    uint64_t seed;
    cpo_fill_at fill;
    double max_rel_residual;        /* max |residual| / max(|equity|, 1) */
    uint8_t *mark_from_close;       /* [n_instr]: 1 for a margined instrument the
                                       data gives no mark price for: it was
                                       marked (and liquidated) at its last-trade
                                       close, an approximation of the mark */
    /* Options (NULL / 0 unless spec.options.enabled). */
    double *greek[CPO_GREEK_COUNT]; /* [n_steps] Taylor explain of the options
                                       line (reporting ccy); sums to it exactly */
    double *wf[CPO_WF_COUNT];       /* [n_steps] waterfall; sums to it exactly */
    uint8_t *explain_flag;          /* [n_steps] 1: |unexplained| over threshold */
    size_t n_explain_flagged;
    cpo_option_row *opt_rows;       /* per position per step */
    size_t n_opt_rows;
    cpo_option_trade *opt_trades;
    size_t n_opt_trades;
    int surface_mode;               /* cpo_surface_mode used */
    size_t n_chain_marks, n_surface_marks; /* position-steps by price source */
    size_t n_quote_waits;           /* option order-fills put off: the
                                       quote was older than max_quote_age */
    /* The book's Greeks per option underlying and step (runs with
     * options): book_greek[(u * CPO_BG_COUNT + g) * n_steps + t], u in the
     * order of cpo_option_spec.underlying. */
    size_t n_bg_und;
    char bg_und[CPO_OPT_MAX_UNDERLYINGS][CPO_CCY_MAX]; /* their coins */
    double *book_greek;
    /* Margin (engine/margin.c).  Per currency and step, ccy-major as cash,
     * in that currency: initial and maintenance margin of the pool's cross
     * positions plus the isolated positions' maintenance, and the margin
     * balance they are measured against; NULL unless some pool holds
     * margined instruments (margin_ccy[c] = 1 for those pools). */
    double *im, *mm, *mb;
    uint8_t margin_ccy[CPO_MAX_CCY];
    uint8_t *mark_source;           /* [n_instr] margined instruments: where
                                       liquidation looked for the mark
                                       (CPO_MARK_SRC_*) */
    uint8_t *margin_model;          /* [n_instr] CPO_MARGIN_MODEL_* */
    size_t n_liquidations;          /* forced closes (isolated or cross) */
    size_t n_margin_calls;
    size_t n_orders_cut;            /* cut or refused for lack of margin */
    double liquidation_fees;        /* reporting currency, >= 0 */
    double insurance_taken;         /* margin left that went to the fund */
    double insurance_covered;       /* losses beyond the margin it paid */
    double peak_margin_ratio[CPO_MAX_CCY]; /* max maintenance / balance */
    size_t n_funding_off_grid;      /* funding stamps more than a minute off
                                       the hour: paid as stamped */
    int has_financing;              /* the run had [financing]: the
                                       financing line is one of its lines */
    double *rf;                     /* [n_steps] risk-free return of each
                                       step (per period), or NULL (0) */
    int ruined;                     /* 1: the account's equity reached 0 */
    int64_t ruin_ms;                /* when (the bar's open); 0 unless ruined */
    /* Dated futures (engine/futures.c; 0 / NULL when the cube has none):
     * per future f (fut_instr[f], in cube order) and step, f-major like
     * cash: the mark used (NaN when the cube has no price), its source
     * (CPO_FUT_SRC_*), the coin's index, the position in contracts. */
    size_t n_fut;
    uint32_t *fut_instr;            /* [n_fut] */
    double *fut_px, *fut_index, *fut_qty; /* [n_fut * n_steps] */
    uint8_t *fut_src;               /* [n_fut * n_steps] */
    size_t n_deliveries;            /* positions delivered at expiry */
    size_t n_delivery_approx;       /* ... at an estimated delivery price
                                       (bars coarser than a minute, or the
                                       window not covered: see events) */
    double delivery_fees;           /* reporting currency, >= 0 */
    size_t n_expired_orders;        /* orders for expired futures dropped */
} cpo_result;

/* Where a future's price of a step came from (cpo_result.fut_src). */
enum {
    CPO_FUT_SRC_NONE = 0,    /* no price: NaN */
    CPO_FUT_SRC_QUOTE = 1,   /* a bar of the data */
    CPO_FUT_SRC_FILLED = 2,  /* the last bar carried forward (gap_fill) */
    CPO_FUT_SRC_BASIS = 3    /* between_quotes = basis: the index times the
                                last quote's basis */
};

/* The symbol of coin's index for dated futures (cpo_futures_spec): its
 * index.COIN, else [options] index.COIN, else COINUSDT written to buf;
 * delivery != 0: delivery.COIN when given. */
const char *cpo_futures_index(const cpo_run_spec *s, const char *coin, int delivery, char *buf,
                              size_t n);

/*
 * The book's Greeks on one underlying coin U (cpo_result.book_greek), at
 * the close, every holding that moves with U's index I counted: the coin
 * balance, instruments settled in U, linear instruments whose base is U
 * (spot, perpetuals, futures) and options (their USD value c I, c the coin
 * price):
 *   delta      coins: the book's USD P&L per USD of I (an option q Delta_I)
 *   delta_usd  delta x I: the delta-adjusted notional, USD
 *   gamma      coins: the change of delta for a 1 % rise of I
 *              (options: q (2 dc/dI + I d2c/dI2) x I / 100)
 *   vega       USD per vol point (0.01) of every option's vol
 *   theta      USD per day
 *   vanna      coins: the change of delta per vol point
 *   volga      USD: the change of vega per vol point
 */
typedef enum cpo_book_greek {
    CPO_BG_DELTA = 0,
    CPO_BG_DELTA_USD,
    CPO_BG_GAMMA,
    CPO_BG_VEGA,
    CPO_BG_THETA,
    CPO_BG_VANNA,
    CPO_BG_VOLGA,
    CPO_BG_COUNT
} cpo_book_greek;

const char *cpo_book_greek_name(cpo_book_greek g); /* "delta", "delta_usd", ... */

/* Where liquidation looked for an instrument's mark (cpo_result.mark_source). */
enum {
    CPO_MARK_SRC_NONE = 0,     /* not margined */
    CPO_MARK_SRC_CLOSE = 1,    /* no mark in the data: the close */
    CPO_MARK_SRC_FUNDING = 2,  /* the funding events' marks and the close */
    CPO_MARK_SRC_KLINES = 3,   /* mark klines: the bar's mark high/low */
    CPO_MARK_SRC_WICK = 4      /* the bar's last-trade high/low (asked for) */
};

const char *cpo_mark_source_name(int src); /* "close", "funding", ... */

/* The margin rules an instrument followed (cpo_result.margin_model). */
enum {
    CPO_MARGIN_MODEL_NONE = 0,        /* not margined (spot) */
    CPO_MARGIN_MODEL_BRACKETS = 1,    /* Binance, the symbol's bracket table */
    CPO_MARGIN_MODEL_FLAT = 2,        /* Binance rules, one bracket at perp_mmr */
    CPO_MARGIN_MODEL_DERIBIT = 3      /* Deribit futures margin */
};

const char *cpo_margin_model_name(int model); /* "brackets", "flat", ... */

void cpo_result_free(cpo_result *r); /* NULL is a no-op */

/*
 * Per-instrument ledger rows (detail = instrument) go to a sink as they
 * are made, so that memory stays bounded: one row per held instrument per
 * step.  pnl[] is in the reporting currency.
 */
typedef struct cpo_ledger_row {
    int64_t ts;
    size_t step;
    uint32_t instr;
    double qty;
    double px;       /* the mark used */
    double exposure; /* signed, reporting currency */
    double pnl[CPO_PNL_COUNT];
} cpo_ledger_row;

typedef int (*cpo_ledger_sink)(void *ctx, const cpo_ledger_row *rows,
                               size_t n, cpo_error *err);

/*
 * Run one backtest on m.  The market is only read, so one market can serve
 * many runs at once.  sink may be NULL (no per-instrument rows).
 */
int cpo_backtest_run(cpo_result **out, const cpo_market *m,
                     const cpo_run_spec *spec, cpo_ledger_sink sink,
                     void *sink_ctx, cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
