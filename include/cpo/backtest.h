/*
 * cpo/backtest.h - one backtest: a run spec, the engine loop, the ledger.
 *
 * The engine makes one pass over the market's time grid.  At step t (the
 * bar [ts[t], ts[t] + bar)):
 *
 *   1. orders decided at t-1 fill at open[t] (fill = next_open);
 *   2. funding events stamped in [ts[t], ts[t+1]) are paid on the position
 *      held just before the event (a fill at open[t] is stamped ts[t], so
 *      it counts for an event stamped after ts[t], not for one at ts[t]);
 *   3. perpetual positions whose liquidation price lies inside the bar's
 *      adverse extreme (low for longs, high for shorts, of the mark where
 *      the data has one) are closed at that price and the rest of their
 *      isolated margin is charged;
 *   4. positions are marked at close[t] (the mark column where present);
 *   5. the pipeline runs if the schedule fires, on data of steps 0..t;
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
#include "cpo/market.h"
#include "cpo/stage.h"

#ifdef __cplusplus
extern "C" {
#endif

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
 * An option is valued at the close of each step: from the mark of its row
 * in a snapshot taken during the bar when there is one (CPO_OPT_SRC_CHAIN),
 * else from the volatility surface of the latest snapshot of its chain
 * (cpo/surface.h, `surface` mode) with the index I at the close of the
 * `index` instrument and F = I exp(b T), b the basis rate of the expiry in
 * that snapshot.  Coin value c = V/P with P = F (Deribit's marks; coin_px)
 * or I.  Orders fill at the next open (or this close) at the model price
 * then, against the trader by half the snapshot's bid-ask spread
 * (slippage) plus costs.slippage_bps; fee = min(fee_rate, fee_cap * c) coin
 * per contract.  At expiry (Deribit 08:00 UTC) the position is settled in
 * coin at the delivery price: the index's open of the step that starts at
 * the expiry, else its close of the step whose bar holds the expiry
 * (CPO_OPT_SRC_SETTLE); payoff max(S-K,0)/S (call) or max(K-S,0)/S (put),
 * less the delivery fee min(delivery_rate, delivery_cap * payoff).
 *
 * Greek P&L explain (METHODS 3), per position and step, in coin:
 *   dc = delta dI + gamma dI^2/2 + vega ds + theta dt + vanna dI ds
 *        + volga ds^2/2 + rho dr + unexplained
 * with start-of-step coin Greeks (cpo_black76_coin, w.r.t. the index),
 * and the full-revaluation waterfall time -> underlying (I and F) -> vol
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
} cpo_option_spec;

void cpo_option_spec_init(cpo_option_spec *o);

/* One stage of the pipeline: its table and its parameter values. */
typedef struct cpo_stage_inst {
    const cpo_stage_def *def;
    cpo_params *params; /* owned by the run spec */
} cpo_stage_inst;

typedef struct cpo_run_spec {
    int64_t start_ms, end_ms;  /* CPO_TIME_NONE: the market's span */
    double capital;            /* in the reporting currency */
    char currency[CPO_CCY_MAX];/* reporting currency: "USD" (USDT counted 1:1) */
    char collateral[CPO_CCY_MAX]; /* "" = the capital is held in the reporting
                                 currency; "BTC" = converted to BTC at the
                                 first step's rate (coin-margined books) */
    cpo_fill_at fill;
    double cash_buffer;        /* fraction of equity kept uninvested */
    cpo_costs costs;
    cpo_detail detail;
    uint64_t seed;             /* recorded in every result */
    cpo_stage_inst stages[CPO_ROLE_COUNT * 4];
    size_t n_stages;           /* in pipeline order */
    cpo_option_spec options;   /* option positions (cpo_option_spec_init) */
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
    CPO_EVENT_STAGE = 6         /* a stage's note (host->note): a limit that bound */
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
    CPO_PNL_RESIDUAL,     /* change in equity not explained by the above */
    CPO_PNL_COUNT
} cpo_pnl_line;

const char *cpo_pnl_name(cpo_pnl_line l); /* "price", "funding", ... */

#define CPO_MAX_CCY 8

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
} cpo_option_trade;

/* The result of a run.  Owned by the caller (cpo_result_free). */
typedef struct cpo_result {
    size_t n_steps;
    int64_t *ts;                    /* [n_steps] */
    double *equity;                 /* [n_steps], after step t */
    double *pnl[CPO_PNL_COUNT];     /* [n_steps] each */
    double *gross;                  /* [n_steps] sum |exposure| / equity */
    double *net;                    /* [n_steps] sum exposure / equity */
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
} cpo_result;

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
