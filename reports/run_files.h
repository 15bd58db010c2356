/*
 * run_files.h - writers of the files of a run folder that hold the
 * engine's result as it is (reports/run_files.c; the option files are in
 * cpo/report.h).  Private to libcpo.  Each writes path whole or returns
 * CPO_EIO with the path; the caller removes what a failure left.
 */
#ifndef CPO_RUN_FILES_H
#define CPO_RUN_FILES_H

#include "cpo/backtest.h"
#include "cpo/error.h"

/* ledger.csv: ts, equity, the P&L lines, gross, net, cash per currency. */
int cpo_result_write_ledger_csv(const cpo_result *r, const char *path, cpo_error *err);
/* trades.csv: ts, symbol, qty, px, ref_px, fee, slippage, liquidation. */
int cpo_result_write_trades_csv(const cpo_result *r, const char *path, cpo_error *err);
/* events.csv: ts, symbol, kind, value, message. */
int cpo_result_write_events_csv(const cpo_result *r, const char *path, cpo_error *err);

#endif
