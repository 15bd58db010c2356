/*
 * run_files.h - writers of the files of a run folder that hold the
 * engine's result as it is (reports/run_files.c; the option files are in
 * cpo/report.h).  Private to libcpo.  Each writes path whole or returns
 * CPO_EIO with the path; the caller removes what a failure left.
 */
#ifndef CPO_RUN_FILES_H
#define CPO_RUN_FILES_H

#include <stdio.h>

#include "cpo/backtest.h"
#include "cpo/error.h"
#include "cpo/table.h"

/* The ledger of r as a table of views into r (which must outlive it):
 * ts, equity, the P&L lines, gross, net, cash_<CCY>: the columns of
 * ledger.csv, which is this table written by cpo_table_write_csv. */
int cpo_result_ledger_table(cpo_table **out, const cpo_result *r, cpo_error *err);

/* ledger.csv: ts, equity, the P&L lines, gross, net, cash per currency. */
int cpo_result_write_ledger_csv(const cpo_result *r, const char *path, cpo_error *err);
/* trades.csv: ts, symbol, qty, px, ref_px, fee, slippage, liquidation. */
int cpo_result_write_trades_csv(const cpo_result *r, const char *path, cpo_error *err);
/* futures.csv (runs with dated futures): per step and future with a
 * price or a position, before its expiry: ts, symbol, expiry, days (from
 * the step's close), price, source (quote, filled, basis, none), index,
 * basis (price / index - 1), basis_annual (basis x 365 / days), qty
 * (cpo_result_put_futures_csv). */
/* events.csv: ts, symbol, kind, value, message. */
int cpo_result_write_events_csv(const cpo_result *r, const char *path, cpo_error *err);

/* The same bytes to a stream (the caller opens and closes it). */
int cpo_result_put_ledger_csv(const cpo_result *r, FILE *fp, cpo_error *err);
void cpo_result_put_trades_csv(const cpo_result *r, FILE *fp);
void cpo_result_put_events_csv(const cpo_result *r, FILE *fp);
void cpo_result_put_futures_csv(const cpo_result *r, FILE *fp);

#endif
