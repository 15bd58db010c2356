/*
 * run.c - from a config to a market cube: read the store, resolve the
 * universe, build the grid of the period, let go of the dataset.
 */
#include "cpo/run.h"

#include <stdio.h>
#include <stdlib.h>

int cpo_run_market(cpo_market **out, const cpo_config *cfg, cpo_error *err)
{
    cpo_dataset *ds = NULL;
    char **syms = NULL;
    size_t n = 0;
    *out = NULL;
    int rc = cpo_store_read(&ds, cfg->data_path, err);
    if (rc)
        goto cleanup;
    if ((rc = cpo_config_universe(cfg, ds, &syms, &n, err)))
        goto cleanup;
    cpo_market_spec spec = cfg->market;
    spec.symbols = (const char *const *)syms;
    spec.n_symbols = n;
    if ((rc = cpo_market_build(out, ds, &spec, err)) && err && !err->path[0]) {
        /* The cube's complaints are about the config's period and the
         * store: name both. */
        char msg[CPO_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        cpo_error_set(err, rc, cfg->path, 0, 0, "%s: %s", cfg->data_path, msg);
    }
cleanup:
    cpo_config_symbols_free(syms, n);
    cpo_dataset_free(ds);
    return rc;
}
