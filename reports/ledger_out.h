/*
 * ledger_out.h - the ledger of a run as HDF5 (ledger.h5) and, for the
 * per-instrument rows, CSV (ledger_instruments.csv).  Private to libcpo.
 *
 * ledger.h5:
 *   /                     attributes cpo_version, currency, bar_ms, n_steps
 *   /instruments/symbol   fixed-length strings, market order
 *   /instruments/kind     "spot", "perp", ... (fixed-length strings)
 *   /ledger/ts            int64 ms, bar open of each step
 *   /ledger/equity, /ledger/<P&L line> (price, funding, fees, slippage,
 *   liquidation, revaluation, residual), /ledger/gross, /ledger/net
 *   /ledger/cash/<CCY>    cash per currency after each step
 *   /ledger_instruments/  (detail = instrument) ts, instr (index into
 *                         /instruments), qty, px, exposure, <P&L lines>;
 *                         extendible chunked datasets, appended in batches
 *                         as the engine hands rows to the sink, so memory
 *                         stays bounded by one batch.
 *
 * No object records a modification time, so the same ledger gives the
 * same bytes.
 */
#ifndef CPO_LEDGER_OUT_H
#define CPO_LEDGER_OUT_H

#include "cpo/backtest.h"
#include "cpo/market.h"

typedef struct cpo_ledger_out cpo_ledger_out;

/* Create h5_path (and csv_path for per-instrument rows; NULL: none);
 * financing: the run has the financing line (else its column is left out). */
int cpo_ledger_out_open(cpo_ledger_out **out, const char *h5_path, const char *csv_path,
                        const cpo_market *m, const char *currency, int financing,
                        cpo_error *err);

/* A cpo_ledger_sink: ctx is the cpo_ledger_out. */
int cpo_ledger_out_sink(void *ctx, const cpo_ledger_row *rows, size_t n, cpo_error *err);

/* Write the per-step ledger of r, flush the rows, close both files.
 * The object is freed whatever the outcome. */
int cpo_ledger_out_finish(cpo_ledger_out *w, const cpo_result *r, cpo_error *err);

/* Close without writing more (after a failed run).  NULL is a no-op. */
void cpo_ledger_out_abort(cpo_ledger_out *w);

/* Rows handed to the sink so far. */
size_t cpo_ledger_out_rows(const cpo_ledger_out *w);

#endif
