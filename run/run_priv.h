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

/* cpo_config_load_text, with flags: CPO_CONFIG_LOAD_ENV for a config of
 * cpo_env (run/env.c), whose [strategy] the agent replaces: a [strategy]
 * without schedule or weigh, or none, is not refused. */
#define CPO_CONFIG_LOAD_ENV 1u
int cpo_config_load_flags(cpo_config **out, const char *path, const char *text,
                          const cpo_config_key *overrides, size_t n_overrides, unsigned flags,
                          cpo_error *err);

/* cpo_config_load_flags with overrides as text, "SECTION.KEY = value"
 * (cpo_results_run's; CPO_EUSAGE for one that is not). */
int cpo_config_load_strings(cpo_config **out, const char *path, const char *text,
                            const char *const *overrides, size_t n_overrides, unsigned flags,
                            cpo_error *err);

/* The outputs of cpo_run_to_memory, ledger.csv first, in folder order:
 * name k, or NULL past the last. */
const char *cpo_run_output_name(size_t k);

#endif
