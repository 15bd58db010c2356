/*
 * engine.h - the engine's run state and the small helpers that
 * engine/backtest.c (the loop, fills, funding, the pipeline) and
 * engine/margin.c (margin, liquidation, ruin) share.  Private to libcpo.
 *
 * Accounting (see backtest.c): every instrument settles in one currency;
 * cash_c is the wallet of currency c, and a position's value in it is
 *     spot           q * cs * mark                (the holding itself)
 *     linear perp    q * cs * (mark - entry)      (unrealised P&L)
 *     inverse perp   q * cs * (1/entry - 1/mark)  (unrealised P&L, coin)
 * Every amount booked in currency c goes to its P&L line at rate_c(t).
 */
#ifndef CPO_ENGINE_ENGINE_H
#define CPO_ENGINE_ENGINE_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/backtest.h"
#include "cpo/margin.h"
#include "optbook.h"

/* The margin model of a margined instrument (engine/margin.c). */
enum { ENG_MODEL_NONE = 0, ENG_MODEL_BINANCE = 1, ENG_MODEL_DERIBIT = 2 };

struct cpo_view {
    struct engine *e;
};

typedef struct engine {
    const cpo_market *m;
    const cpo_run_spec *spec;
    cpo_error *err;
    size_t n;          /* instruments */
    size_t t;          /* current step */
    int64_t bar_ms;
    /* per instrument */
    double *q;         /* contracts held */
    double *ep;        /* entry price (perps) */
    double *mk;        /* last mark used; NaN before the first price */
    double *cs;        /* contract size */
    double *pend;      /* order to fill at the next open (contracts) */
    double *target;    /* last target weight; NaN if none */
    double *tq;        /* scratch: target quantity */
    uint8_t *ccy;      /* settlement currency index */
    uint8_t *inv;      /* 1 if inverse */
    uint8_t *perp;     /* 1 if margined (perp or future) */
    size_t *fund_pos;  /* next funding event per instrument */
    double *line_i;    /* [n * CPO_PNL_COUNT] this step, reporting ccy (detail) */
    uint32_t *held;    /* scratch: instruments to mark (eng_to_close) */
    size_t n_held;     /* their count; every position is among them */
    uint32_t *funded;  /* instruments with funding events, in order */
    size_t n_funded;
    /* The marks at the close (mark_at) of steps win_t .. win_t + win_len - 1,
     * time-major: row k holds every instrument's mark at step win_t + k.
     * The cube is instrument-major, so marking step by step reads one
     * cache line per instrument and field per step; the window reads each
     * instrument's run of win_cap steps at once (eng_to_close). */
    double *mwin;
    size_t win_t, win_len, win_cap;
    int any_pending;
    /* currencies */
    size_t n_ccy;
    char ccy_name[CPO_MAX_CCY][CPO_CCY_MAX];
    long rate_src[CPO_MAX_CCY][4]; /* instruments whose price gives the rate */
    double cash[CPO_MAX_CCY];
    double rate[CPO_MAX_CCY];
    double rate_prev[CPO_MAX_CCY];
    double eq_ccy_prev[CPO_MAX_CCY];
    /* this step's lines, reporting ccy */
    double line[CPO_PNL_COUNT];
    /* pipeline */
    cpo_stage_io io;
    void *state[CPO_ROLE_COUNT * 4];
    /* result */
    cpo_result *r;
    size_t cap_trades, cap_events;
    cpo_ledger_sink sink;
    void *sink_ctx;
    cpo_ledger_row *rows;
    /* options (spec.options.enabled) */
    optbook *ob;
    int opt_ccy[CPO_OPT_MAX_UNDERLYINGS]; /* currency of each underlying's coin */
    uint32_t *opt_tags;                    /* [io.cap_opt]: stage of io.opt[k] */
    uint32_t cur_stage;                    /* pipeline index of the running stage */
    uint64_t between_mask;                 /* overlays run between rebalances (bit s) */
    /* margin (engine/margin.c) */
    const cpo_margin_spec *mg;
    uint8_t *model;            /* [n] ENG_MODEL_* of margined instruments */
    const cpo_brackets **brk;  /* [n] the instrument's bracket table */
    cpo_brackets flat[2];      /* one bracket at [costs] perp_mmr: linear, inverse */
    cpo_deribit_fut *dfut;     /* [n] Deribit futures' parameters */
    double *imr;               /* [n] initial margin rate (1 / leverage) */
    cpo_pm_pos *pm_pos;        /* scratch for portfolio margin */
    size_t pm_cap;
    uint8_t *iso;              /* [n] 1: an isolated position */
    double *iso_wb;            /* [n] its isolated wallet, settlement ccy */
    uint64_t *mbits;           /* [(n + 63) / 64] bit i: marg_pos(i), kept by
                                  eng_fill; pool_state walks these only */
    double *mcache;            /* [4n] pool_state's IM and MM of each position
                                  (q, px, im, mm): pos_margin again only when
                                  q or the price moved */
    uint8_t pool_on[CPO_MAX_CCY];      /* holds margined instruments or options */
    uint8_t pool_deribit[CPO_MAX_CCY]; /* liquidated step by step (Deribit) */
    uint8_t in_call[CPO_MAX_CCY];
    size_t n_marg[CPO_MAX_CCY];        /* positions pool_state counts, per
                                          settlement ccy (marg_pos), kept by
                                          eng_fill: with none, its walk over
                                          the instruments would add nothing */
    int any_pool;              /* some pool is margined */
    int any_binance;           /* some instrument has ENG_MODEL_BINANCE */
    int ruined;
    /* dated futures (engine/futures.c; NULL unless the cube has some) */
    int any_fut;
    int64_t *fut_exp;          /* [n] expiry, CPO_TIME_NONE if none */
    const cpo_bars **fut_raw;  /* [n] the delivery series, or NULL */
    long *fut_idx;             /* [n] the coin's index in the cube, or -1 */
    double *fut_fee;           /* [n] delivery fee, fraction of notional */
    uint8_t *fut_binance;      /* [n] Binance: no opening in the last 10 min */
    /* the loop (eng_begin .. eng_end) */
    cpo_view view;             /* the stages' window: view.e is this engine */
    size_t t0, t1, steps;      /* the run's first and last step, their count */
    double eq_prev;            /* equity at the last step's close */
    /* the step between eng_to_close and eng_decide */
    int64_t ts_now;
    double val[CPO_MAX_CCY];   /* positions' values per settlement ccy */
    double gross_now, net_now; /* exposures at the close */
    int filled_now;            /* something filled or was liquidated */
} engine;



static inline int nomem(engine *e)
{
    return cpo_error_set(e->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

/* A cell of the cube; NaN for a field the cube does not hold (NULL). */
static inline double px_col(const cpo_market *m, cpo_field f, size_t i, size_t t)
{
    const double *c = m->col[f];
    return c ? c[i * m->n_steps + t] : NAN;
}

/* The mark of instrument i at the close of step t: the mark column where
 * the data has one, else the close. */
static inline double mark_at(const cpo_market *m, size_t i, size_t t)
{
    double v = px_col(m, CPO_F_MARK, i, t);
    return isfinite(v) ? v : px_col(m, CPO_F_CLOSE, i, t);
}

static inline int is_usd(const char *c)
{
    return !strcmp(c, "USD") || !strcmp(c, "USDT") || !strcmp(c, "USDC") || !strcmp(c, "BUSD") ||
           !c[0];
}

/* An event of the current step (backtest.c). */
int eng_event(engine *e, int kind, long instr, double value, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* A fill or a forced close of instrument i (backtest.c). */
int eng_trade(engine *e, size_t i, int64_t ts, double dq, double px, double ref, double fee,
              double slip, int liq);

/* Whether position i counts in its pool's margin (engine/margin.c,
 * pool_state): a margined instrument held, or a spot one sold short. */
static inline int marg_pos(const engine *e, size_t i)
{
    return e->q[i] != 0.0 && (e->perp[i] || e->q[i] < 0.0);
}

/* Book an amount of currency c on line l for instrument i (or -1). */
static inline void book(engine *e, long i, int c, cpo_pnl_line l, double amount)
{
    double v = amount * e->rate[c];
    e->line[l] += v;
    if (i >= 0) {
        e->r->pnl_instr[(size_t)i * CPO_PNL_COUNT + l] += v;
        if (e->line_i)
            e->line_i[(size_t)i * CPO_PNL_COUNT + l] += v;
    }
}

/* Value of a position per the table at the top, settlement currency. */
static inline double value_of(const engine *e, size_t i, double mark)
{
    double q = e->q[i];
    if (q == 0.0)
        return 0.0;
    if (!e->perp[i])
        return q * e->cs[i] * mark;
    if (e->inv[i])
        return q * e->cs[i] * (1.0 / e->ep[i] - 1.0 / mark);
    return q * e->cs[i] * (mark - e->ep[i]);
}

/* Signed exposure of instrument i in the reporting currency. */
static inline double exposure_of(const engine *e, size_t i)
{
    if (e->q[i] == 0.0 || !isfinite(e->mk[i]))
        return 0.0;
    if (e->inv[i])
        return e->q[i] * e->cs[i]; /* contracts of cs USD */
    return e->q[i] * e->cs[i] * e->mk[i] * e->rate[e->ccy[i]];
}

/* The price P&L of instrument i's position when its mark moves from old
 * to px, settlement currency. */
static inline double mark_move(const engine *e, size_t i, double old, double px)
{
    if (e->inv[i])
        return e->q[i] * e->cs[i] * (1.0 / old - 1.0 / px);
    return e->q[i] * e->cs[i] * (px - old);
}

/* Move the mark of instrument i to px, booking the price P&L.  (The
 * close's pass in eng_to_close does the same for every held instrument.) */
static inline void mark_to(engine *e, size_t i, double px)
{
    double old = e->mk[i];
    if (!isfinite(px))
        return;
    if (e->q[i] != 0.0 && isfinite(old) && px != old)
        book(e, (long)i, e->ccy[i], CPO_PNL_PRICE, mark_move(e, i, old, px));
    e->mk[i] = px;
}


/* --- backtest.c ------------------------------------------------------------ */

/* Change position i by dq contracts at px against reference ref, with fee
 * (settlement ccy): cash, entry price, slippage and fee lines. */
void eng_fill(engine *e, size_t i, double dq, double px, double ref, double fee);
/* Book what the option book did since the last call. */
void eng_drain_options(engine *e);

/* --- margin.c -------------------------------------------------------------- */

int eng_margin_setup(engine *e);  /* after the result is allocated */
void eng_margin_free(engine *e);
/* Free collateral of pool c: margin balance less initial margin. */
double eng_free(const engine *e, int c);
/* How much of order d of instrument i at px (fee_per a contract) margin
 * and the leverage brackets allow; *why 0 (all of it), 1 (cut: collateral),
 * 2 (cut: the brackets' leverage). */
double eng_order_room(engine *e, size_t i, double d, double px, double fee_per, int *why);
/* After a fill of dq at px of a position that was q0: isolated wallets. */
void eng_after_fill(engine *e, size_t i, double q0, double dq, double px);
/* The option book's margin hook (ob_margin_fn; ctx is the engine). */
double eng_option_room(void *ctx, size_t u, const cpo_option_key *k, double dq, double px,
                       double fee_per, const cpo_option_quote *q);
/* A funding payment cf on i at mark px: isolated wallet, liquidation. */
int eng_after_funding(engine *e, size_t i, double cf, double px);
/* Liquidations on the mark's adverse extreme inside the bar. */
int eng_liq_bar(engine *e);
/* Positions and pools below maintenance at the close; *changed = 1 if
 * anything was liquidated. */
int eng_margin_close(engine *e, int *changed);
/* The step's IM, MM and margin balance per currency; margin calls. */
int eng_margin_record(engine *e, double *im, double *mm, double *mb);
/* Ruin when equity has reached 0: close everything, stop trading. */
int eng_ruin(engine *e, double equity, int *ruined_now);

/* --- the loop (backtest.c) ------------------------------------------------- */

/* Check the run and make its state: the capital, the stages' init.  On an
 * error call eng_abort.  e->t is the first step. */
int eng_begin(engine *e, const cpo_market *m, const cpo_run_spec *spec, cpo_ledger_sink sink,
              void *sink_ctx, cpo_error *err);
/* Step e->t from its open to its close: fills at the open, funding,
 * financing, liquidation, marks, margin. */
int eng_to_close(engine *e);
/* The decision at the close of step e->t: the pipeline, its orders, the
 * ledger row; then e->t moves to the next step (the run is over when
 * e->t > e->t1). */
int eng_decide(engine *e);
/* The result (the caller's), the state freed. */
cpo_result *eng_end(engine *e);
/* Free the state and the result after an error. */
void eng_abort(engine *e);

/* --- for a caller that drives the loop itself (run/env.c) ----------------- */

/* Equity now, in the reporting currency (what host->equity gives). */
double eng_equity(const engine *e);
/* The equity at the current close before the decision (after
 * eng_to_close), summed as the step's ledger row sums it: the value `cpo
 * run` writes unless the decision fills at this close.  eng_equity adds
 * the same terms in another order (it may differ in the last bit). */
double eng_close_equity(const engine *e);
/* The book's Greeks on option underlying u at the marks (cpo_book_greek;
 * the run holds options). */
void eng_book_greeks(const engine *e, size_t u, double *g);
/* The highest maintenance / margin balance of the margined pools (0 when
 * none is margined; 1 and above is liquidation), without the events of
 * eng_margin_record (margin.c). */
double eng_margin_ratio(const engine *e);
/* Room for n trades in the result (after eng_begin), so that the steps of
 * a run that trades at most that much append without allocating. */
int eng_reserve_trades(engine *e, size_t n);

/* --- futures.c ------------------------------------------------------------ */

/* The futures' state and the result's fut_* arrays (after alloc_result). */
int eng_fut_setup(engine *e, size_t steps);
void eng_fut_free(engine *e);
/* Deliver the positions in futures expired by ts (the open of a step). */
int eng_fut_open(engine *e, int64_t ts);
/* 1 (with an event) if an order d of i at ts must be dropped: the future
 * has expired, or (Binance) it opens a position in the last 10 minutes;
 * 0 if it may fill; or an error code < 0. */
int eng_fut_refuse(engine *e, size_t i, int64_t ts, double d, int opening);
/* The step's futures record (row of steps). */
void eng_fut_record(engine *e, size_t row, size_t steps);

#endif
