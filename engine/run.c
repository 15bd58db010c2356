/*
 * run.c - from a config to a market cube: read the store, resolve the
 * universe, build the grid of the period, let go of the dataset.
 *
 * With [options] the universe also holds the index instrument of every
 * underlying (cpo_config_universe), and the grid reaches back, before the
 * period and its warmup, to the bar of the latest chain snapshot taken
 * before the grid's start (at most OPT_REACH_MS earlier): the cube keeps
 * only the chain rows within its grid, and without that snapshot the book
 * could not value an option until the first snapshot of the period.  The
 * run itself still starts at `start` (cfg->run.start_ms).
 */
#include "cpo/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"

#define OPT_REACH_MS (31 * CPO_MS_DAY)

/* The grid's spacing as the cube will choose it: the config's step, else
 * the finest bar spacing of the instruments in it (0 if none is known). */
static int64_t grid_step(const cpo_config *cfg, const cpo_dataset *ds, char **syms, size_t n)
{
    if (cfg->market.step_ms > 0)
        return cfg->market.step_ms;
    int64_t step = 0;
    for (size_t i = 0; i < ds->n_instr; i++) {
        int in = n == 0 && ds->bars[i].n > 0;
        for (size_t k = 0; k < n && !in; k++)
            in = !strcmp(syms[k], ds->instr[i].symbol);
        int64_t b = ds->bars[i].bar_ms;
        if (in && b > 0 && (step == 0 || b < step))
            step = b;
    }
    return step;
}

/* The grid start that takes in the latest snapshot before start_ms of
 * every underlying (start_ms if none is needed or possible). */
static int64_t options_start(const cpo_config *cfg, const cpo_dataset *ds, char **syms, size_t n,
                             int64_t start_ms)
{
    const cpo_option_spec *o = &cfg->run.options;
    if (!o->enabled || start_ms == CPO_TIME_NONE)
        return start_ms;
    int64_t want = start_ms;
    for (size_t u = 0; u < o->n_underlyings; u++)
        for (size_t c = 0; c < ds->n_chains; c++) {
            const cpo_chain *ch = &ds->chains[c];
            if (strcmp(ch->underlying, o->underlying[u]))
                continue;
            /* Rows are sorted by ts: the last one before start_ms. */
            size_t lo = 0, hi = ch->n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ch->ts[mid] < start_ms)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo > 0 && start_ms - ch->ts[lo - 1] <= OPT_REACH_MS && ch->ts[lo - 1] < want)
                want = ch->ts[lo - 1];
        }
    if (want == start_ms)
        return start_ms;
    int64_t step = grid_step(cfg, ds, syms, n);
    if (step <= 0)
        return start_ms;
    int64_t k = (start_ms - want + step - 1) / step;
    return start_ms - k * step;
}

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
    spec.start_ms = options_start(cfg, ds, syms, n, spec.start_ms);
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
