/*
 * optbook.h - the engine's option positions (internal to libcpo).
 *
 * The book holds Deribit-style inverse options on the market's chains,
 * values them (chain marks or the surface of the latest snapshot), fills
 * orders, settles expiries and explains every position's mark-to-market
 * change by Greek and by full revaluation.  What it does to money is
 * collected per underlying, in coin, as a flow the engine drains after
 * each phase and books into its currencies and P&L lines (ob_drain); the
 * reporting-currency explain of a step is finished by the engine, which
 * knows the step's options line (ob_step_end).
 *
 * Phases of a step t (bar [ts, ts + bar)):
 *   ob_open   settle what expired at or before ts (index open), then fill
 *             the orders of the last pipeline at the model price at ts;
 *   ob_close  settle what expires within the bar (index close), mark every
 *             position at the close and append its row;
 *   ob_orders the pipeline's option targets become orders (for the next
 *             open, or at once with ob_fill_close).
 * See include/cpo/backtest.h (cpo_option_spec) for the rules.
 */
#ifndef CPO_ENGINE_OPTBOOK_H
#define CPO_ENGINE_OPTBOOK_H

#include "cpo/backtest.h"
#include "cpo/stage.h"

typedef struct optbook optbook;

/* Money of one phase for one underlying, in its coin. */
typedef struct ob_flow {
    double cash;     /* change of the coin balance */
    double options;  /* mark-to-market of positions at constant quantity */
    double fees;     /* trading and delivery fees (<= 0) */
    double slippage; /* fills against the model price (<= 0) */
} ob_flow;

/* Reports an event to the engine (kind CPO_EVENT_*). */
typedef int (*ob_event_fn)(void *ctx, int kind, double value, const char *msg);

int ob_new(optbook **out, const cpo_market *m, const cpo_option_spec *spec, double slippage_bps,
           ob_event_fn event, void *event_ctx, cpo_error *err);
void ob_free(optbook *b);

size_t ob_n_underlyings(const optbook *b);
const char *ob_underlying(const optbook *b, size_t u);
long ob_find_underlying(const optbook *b, const char *name); /* -1 if absent */

/* Start step t: rates[u] is the USD per coin used for this step's lines. */
void ob_begin_step(optbook *b, size_t t, const double *rates);
int ob_open(optbook *b, cpo_error *err);
int ob_close(optbook *b, cpo_error *err);
/* The targets of io (tags[k] = the stage that set io->opt[k]). */
int ob_orders(optbook *b, const cpo_stage_io *io, const uint32_t *tags, cpo_error *err);
int ob_fill_close(optbook *b, cpo_error *err); /* fill = close: orders now */
int ob_pending(const optbook *b);

void ob_drain(optbook *b, size_t u, ob_flow *out); /* and zero it */

/*
 * End step t: given the step's options line (reporting currency), write
 * the step's Taylor and waterfall lines so that each set adds up to it
 * (the unexplained and residual lines take the difference) and say
 * whether the step is flagged (|unexplained| > rel |options| and > abs_eq).
 */
void ob_step_end(optbook *b, double options_line, double abs_floor, double *greek, double *wf,
                 int *flagged);

double ob_value_coin(const optbook *b, size_t u);  /* sum q c */
double ob_delta_coin(const optbook *b, size_t u);  /* sum q (c + delta_account) */

/* Host API helpers (valuation at the close of the current step). */
int ob_chain(const optbook *b, const char *underlying, const cpo_chain **ch, size_t *begin,
             size_t *end);
int ob_quote(optbook *b, const cpo_option_key *k, cpo_option_quote *out);
size_t ob_positions(optbook *b, const cpo_option_pos **pos);

/* Hand the rows and trades to the result (the book forgets them). */
void ob_take(optbook *b, cpo_result *r);
/* Position-steps by price source; order-fills put off for a stale quote. */
void ob_counts(const optbook *b, size_t *chain_marks, size_t *surface_marks, size_t *waits);

/* "BTC-27MAR26-90000-C" */
void ob_name(const cpo_option_key *k, char *buf, size_t n);

/* --- margin (engine/margin.c) --- */

/* Asked before every fill: how much of the order dq (contracts) of
 * underlying u, at px coin with fee_per coin a contract, valued at q, the
 * pool of the underlying's coin can carry; dq itself, less (same sign), or
 * 0.  The order is cut to the answer with an event. */
typedef double (*ob_margin_fn)(void *ctx, size_t u, const cpo_option_key *k, double dq,
                               double px, double fee_per, const cpo_option_quote *q);
void ob_set_margin_hook(optbook *b, ob_margin_fn fn, void *ctx);

/* Positions, in order: position k (0 .. ob_npos - 1), its underlying and
 * whether it has been valued. */
size_t ob_npos(const optbook *b);
const cpo_option_pos *ob_pos(const optbook *b, size_t k, size_t *u, int *has_quote);

/* Coin of underlying u's phase that the engine has not drained yet. */
double ob_flow_cash(const optbook *b, size_t u);

/* Forced close: position k changes by dq contracts at its last valuation
 * (no slippage; the liquidation fee is the engine's to book), recorded as
 * a liquidation trade; a position that reaches 0 is removed (positions
 * after k move down by one). */
int ob_liquidate(optbook *b, size_t k, double dq, double fee, cpo_error *err);

#endif
