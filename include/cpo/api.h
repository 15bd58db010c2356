/*
 * cpo/api.h - cpo inside a program: a backtest run in memory, a run folder
 * read back, a sweep's leaderboard, each as tables (cpo/table.h).  The
 * Python package (python/cpo) is these functions and cpo_store_tables of
 * cpo/dataset.h, through libcpo.so.
 *
 *     cpo_results *res;
 *     const char *ov[] = {"costs.fee_bps = 5", "weigh.meanvar.risk_aversion = 2"};
 *     if (cpo_results_run(&res, "configs/meanvar_lw_voltarget.ini", NULL, ov, 2, &err))
 *         ... err ...
 *     const cpo_table *ledger = cpo_results_find(res, "ledger");
 *     const cpo_col *eq = cpo_table_find(ledger, "equity");  // doubles, stride 8
 *     cpo_results_free(res);
 *
 * A run in memory is the run of `cpo run` (the same pipeline: market,
 * attribution, engine, metrics, run/run.c), with nothing written: no run
 * folder, no ledger.h5, no manifest, no report.  Its tables are the run
 * folder's CSV files, named by their file name without ".csv", in folder
 * order:
 *
 *   ledger                 ts, equity, the P&L lines, gross, net, cash_<CCY>:
 *                          views of the engine's arrays (no copy)
 *   trades, events         as trades.csv and events.csv
 *   attribution_asset, attribution_asset_series, attribution_risk,
 *   attribution_factor, attribution_factor_rolling, attribution_greek
 *   options, option_trades, explain, explain_by    (runs with options)
 *
 * and the summary is summary.json's text.  Every table but the ledger is
 * made by the writer of its file, into memory, and read back, so a table
 * holds what the file holds: the same columns, every number the same
 * double (files print 17 significant digits), the file's '#' lines as the
 * table's notes.  A column read back from text is typed by its values:
 * CPO_COL_TIME when every field is an ISO 8601 date-time
 * (2024-01-02T00:00:00Z) and there is one; else CPO_COL_F64 when every
 * field is a number, "nan", "inf" or blank (NaN) and one is not blank
 * (or the table has no rows); else CPO_COL_STR.  A run folder read back
 * (cpo_results_load) goes through the same reader, so the two give the
 * same tables, plus ledger_instruments when the folder has it.
 *
 * Errors are those of `cpo run`, in err (path:line:col: what is wrong);
 * an override that is not SECTION.KEY = value is CPO_EUSAGE.
 *
 * Ownership: a cpo_results belongs to the caller (cpo_results_free); its
 * tables and summary live until it is freed.  Tables made by
 * cpo_sweep_leaderboard belong to the caller (cpo_table_free).
 */
#ifndef CPO_API_H
#define CPO_API_H

#include <stddef.h>

#include "cpo/error.h"
#include "cpo/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cpo_results cpo_results;

/*
 * Run a config in memory.  path is the config file; with text (the INI
 * text of a config, NUL-terminated) the file is not read and path only
 * names the config in messages and gives the folder relative paths start
 * from.  overrides[0..n_overrides) are "SECTION.KEY = value" (as a
 * [sweep] key names them: "costs.fee_bps = 5", "weigh.fixed.weights =
 * BTCUSDT:1"), each put in place of the key of that section and name or
 * added, and checked as the file's keys are.
 */
int cpo_results_run(cpo_results **out, const char *path, const char *text,
                    const char *const *overrides, size_t n_overrides, cpo_error *err);

/* Read the run folder dir (written by `cpo run`): summary.json and its CSV
 * files.  CPO_ENOTFOUND when dir has no summary.json. */
int cpo_results_load(cpo_results **out, const char *dir, cpo_error *err);

void cpo_results_free(cpo_results *res); /* NULL is a no-op */

/* summary.json's text (as the file, without its last newline). */
const char *cpo_results_summary(const cpo_results *res);

/* The tables, in folder order, and the one named name (NULL if none). */
size_t cpo_results_count(const cpo_results *res);
const cpo_table *cpo_results_table(const cpo_results *res, size_t k);
const cpo_table *cpo_results_find(const cpo_results *res, const char *name);

/*
 * The [sweep] grid of the config at path run on n_threads threads (< 1:
 * every core), as `cpo sweep` runs it, and its leaderboard as a table:
 * the columns of leaderboard.csv (rank, point, the keys' values, the
 * metrics, error), best first by objective ("sharpe" ... as `cpo sweep
 * --objective`; NULL: sharpe).  Points that failed keep their row and
 * error; a config with [walkforward] is refused (CPO_ECONFIG: `cpo sweep`
 * runs walk-forward tests).  *out belongs to the caller.
 */
int cpo_sweep_leaderboard(cpo_table **out, const char *path, int n_threads,
                          const char *objective, cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
