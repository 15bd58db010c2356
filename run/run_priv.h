/*
 * run_priv.h - a run into memory, for the embedding API (run/api.c).
 * Private to libcpo.
 */
#ifndef CPO_RUN_PRIV_H
#define CPO_RUN_PRIV_H

#include <signal.h>
#include <stddef.h>

#include "cpo/backtest.h"
#include "cpo/config.h"
#include "cpo/error.h"
#include "cpo/market.h"
#include "cpo/run.h"

/* Called with each output of a run: its file name ("trades.csv",
 * "summary.json") and its bytes (NUL-terminated, len without the NUL),
 * which the callee may change but not keep. */
typedef int (*cpo_run_emit)(void *ctx, const char *name, char *bytes, size_t len,
                            cpo_error *err);

/*
 * Run cfg through the pipeline of cpo_run_to_dir (market, attribution,
 * engine, metrics) and hand every output cpo_run_to_dir writes as a CSV
 * file or summary.json, byte for byte, to emit, in folder order, except
 * ledger.csv: the caller has its columns in *result (owned by the caller,
 * cpo_result_free).  Nothing is written to disk (no ledger.h5, manifest
 * or report).
 */
int cpo_run_to_memory(const cpo_config *cfg, const volatile sig_atomic_t *cancel,
                      cpo_run_emit emit, void *ctx, cpo_result **result, cpo_error *err);

/* cpo_run_market_bench (cpo/run.h) that hands back the dataset it read
 * from the store as well, in *ds (the caller's: cpo_dataset_free), so that
 * what else a run needs of the store (the attribution's factor inputs)
 * does not read it a second time.  On failure *ds is NULL. */
int cpo_run_market_keep(cpo_market **out, cpo_run_bench *bench, cpo_dataset **ds,
                        const cpo_config *cfg, cpo_error *err);

/* The outputs of cpo_run_to_memory, ledger.csv first, in folder order:
 * name k, or NULL past the last. */
const char *cpo_run_output_name(size_t k);

#endif
