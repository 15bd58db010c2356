/*
 * market.c - from a config to a market cube: read the store, resolve the
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

#include <math.h>
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
            size_t lo = cpo_ts_count_before(ch->ts, ch->n, start_ms);
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

void cpo_run_bench_free(cpo_run_bench *b)
{
    if (!b)
        return;
    free(b->close);
    memset(b, 0, sizeof *b);
}

/* The benchmark's closes on the grid of m: a cube of the benchmark alone
 * with m's step and the config's fill, one step longer at the front. */
static int bench_closes(cpo_run_bench *b, const cpo_market *m, const cpo_dataset *ds,
                        const cpo_config *cfg, cpo_error *err)
{
    const char *sym = cfg->benchmark;
    long line = 0; /* of the key, for the messages */
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, "backtest") && !strcmp(cfg->keys[i].key, "benchmark"))
            line = cfg->keys[i].line;
    cpo_market_spec spec = cfg->market;
    spec.symbols = &sym;
    spec.n_symbols = 1;
    spec.step_ms = m->step_ms;
    spec.start_ms = m->ts[0] - m->step_ms;
    spec.end_ms = m->ts[m->n_steps - 1];
    cpo_market *bm = NULL;
    int rc = cpo_market_build(&bm, ds, &spec, err);
    if (rc) {
        char msg[CPO_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return cpo_error_set(err, rc, cfg->path, line, 0, "benchmark = \"%s\": %s: %s", sym,
                             cfg->data_path, msg);
    }
    /* The grid is start + k * step up to the cube's last step: n_steps + 1. */
    if (bm->n_steps != m->n_steps + 1 || bm->ts[0] != spec.start_ms) {
        cpo_market_free(bm);
        return cpo_error_set(err, CPO_EINVAL, cfg->path, line, 0,
                             "benchmark = \"%s\": its grid does not match the run's (expected "
                             "%zu steps of the same spacing)", sym, m->n_steps + 1);
    }
    b->close = malloc(bm->n_steps * sizeof *b->close);
    if (!b->close) {
        cpo_market_free(bm);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    memcpy(b->close, cpo_market_col(bm, CPO_F_CLOSE, 0), bm->n_steps * sizeof *b->close);
    snprintf(b->symbol, sizeof b->symbol, "%s", sym);
    b->start_ms = bm->ts[0];
    b->step_ms = bm->step_ms;
    b->n = bm->n_steps;
    cpo_market_free(bm);
    return 0;
}

/*
 * The option book's delivery series, kept off the grid: for every
 * underlying, the bars of [options] delivery.COIN (default: its index
 * instrument) at their own spacing, over the grid and the day before it.
 * Settlement is on the 30-minute TWAP of the index before 08:00 UTC: the
 * bars that give it must end at 08:00, so a spacing that is not a whole
 * divisor of 8 hours (daily bars) is refused with what the run needs.
 */
/* The line of [options] KEY.COIN (0 if not written). */
static long option_key_line(const cpo_config *cfg, const char *key, const char *coin)
{
    char k[64];
    snprintf(k, sizeof k, "%s.%s", key, coin);
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, "options") && !strcmp(cfg->keys[i].key, k))
            return cfg->keys[i].line;
    return 0;
}

static int delivery_series(cpo_market *m, const cpo_dataset *ds, const cpo_config *cfg,
                           cpo_error *err)
{
    const cpo_option_spec *o = &cfg->run.options;
    if (!o->enabled || m->n_steps == 0)
        return 0;
    m->raw = calloc(o->n_underlyings, sizeof *m->raw);
    m->raw_symbol = calloc(o->n_underlyings, sizeof *m->raw_symbol);
    if (!m->raw || !m->raw_symbol)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int64_t lo = m->ts[0] - CPO_MS_DAY, hi = m->ts[m->n_steps - 1] + m->step_ms;
    for (size_t u = 0; u < o->n_underlyings; u++) {
        const char *sym = o->delivery[u][0] ? o->delivery[u] : o->index[u];
        long line = option_key_line(cfg, o->delivery[u][0] ? "delivery" : "index",
                                    o->underlying[u]);
        long f = cpo_dataset_find(ds, sym);
        if (f < 0 || ds->bars[f].n == 0)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                                 "options: delivery series %s of %s has no bars in %s (expected "
                                 "an instrument of the store with bars of the index)",
                                 sym, o->underlying[u], cfg->data_path);
        const cpo_bars *b = &ds->bars[f];
        int64_t sp = b->bar_ms;
        if (sp <= 0 && b->n > 1)
            sp = b->ts[1] - b->ts[0];
        if (sp <= 0 || 8 * CPO_MS_HOUR % sp != 0) {
            char d[40] = "unknown";
            if (sp > 0)
                cpo_duration_format(sp, d, sizeof d);
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                                 "options: %s expiries settle at 08:00 UTC on the 30-minute TWAP "
                                 "of the index, and the %s bars of %s do not end at 08:00 "
                                 "(expected bars of %s at 1h or finer, minute bars for the exact "
                                 "TWAP: delivery.%s = a symbol of the store that has them)",
                                 o->underlying[u], d, sym, sym, o->underlying[u]);
        }
        /* Counted before it is filled: cpo_market_free frees a part. */
        cpo_bars *r = &m->raw[m->n_raw];
        cpo_bars_init(r);
        snprintf(m->raw_symbol[m->n_raw], CPO_SYMBOL_MAX, "%s", sym);
        m->n_raw++;
        r->bar_ms = sp;
        size_t a = cpo_ts_count_before(b->ts, b->n, lo), z = cpo_ts_count_before(b->ts, b->n, hi);
        for (size_t k = a; k < z; k++)
            if (cpo_bars_append(r, b->ts[k], b->open[k], b->high[k], b->low[k], b->close[k],
                                b->volume[k], b->mark[k], b->index[k]))
                return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return 0;
}

int cpo_run_market_bench(cpo_market **out, cpo_run_bench *bench, const cpo_config *cfg,
                         cpo_error *err)
{
    cpo_dataset *ds = NULL;
    char **syms = NULL;
    size_t n = 0;
    *out = NULL;
    if (bench)
        memset(bench, 0, sizeof *bench);
    int rc = cpo_store_read(&ds, cfg->data_path, err);
    if (rc)
        goto cleanup;
    if ((rc = cpo_config_universe(cfg, ds, &syms, &n, err)) ||
        (rc = cpo_run_check_period(cfg, ds, syms, n, err)))
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
    if (!rc && (rc = delivery_series(*out, ds, cfg, err))) {
        cpo_market_free(*out);
        *out = NULL;
    }
    if (!rc && bench && cfg->benchmark[0] && (*out)->n_steps > 0 &&
        (rc = bench_closes(bench, *out, ds, cfg, err))) {
        cpo_market_free(*out);
        *out = NULL;
    }
cleanup:
    cpo_config_symbols_free(syms, n);
    cpo_dataset_free(ds);
    return rc;
}

int cpo_run_market(cpo_market **out, const cpo_config *cfg, cpo_error *err)
{
    return cpo_run_market_bench(out, NULL, cfg, err);
}

void cpo_run_bench_returns(double *out, const cpo_run_bench *b, const int64_t *ts, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        out[k] = NAN;
        if (!b || !b->close || !(b->step_ms > 0) || ts[k] <= b->start_ms)
            continue;
        int64_t d = ts[k] - b->start_ms;
        if (d % b->step_ms)
            continue;
        uint64_t i = (uint64_t)(d / b->step_ms);
        if (i >= b->n)
            continue;
        double now = b->close[i], before = b->close[i - 1];
        if (isfinite(now) && isfinite(before) && before > 0.0)
            out[k] = now / before - 1.0;
    }
}
