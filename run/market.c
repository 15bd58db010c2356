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
#include "run_priv.h"

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

/* The line of [SECTION] KEY.COIN (0 if not written). */
static long coin_key_line(const cpo_config *cfg, const char *section, const char *key,
                          const char *coin)
{
    char k[64];
    snprintf(k, sizeof k, "%s.%s", key, coin);
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, section) && !strcmp(cfg->keys[i].key, k))
            return cfg->keys[i].line;
    return 0;
}

/*
 * One delivery series kept off the grid: the bars of sym at their own
 * spacing over the grid and the day before it (a no-op if m has it).
 * Delivery is on the 30-minute TWAP of the index before 08:00 UTC: the
 * bars that give it must end at 08:00, so a spacing that is not a whole
 * divisor of 8 hours (daily bars) is refused with what the run needs.
 * who ("options", "futures") and coin name the owner in the messages,
 * line the config's key.
 */
static int add_raw(cpo_market *m, const cpo_dataset *ds, const cpo_config *cfg, const char *sym,
                   const char *who, const char *coin, long line, cpo_error *err)
{
    for (size_t r = 0; r < m->n_raw; r++)
        if (!strcmp(m->raw_symbol[r], sym))
            return 0;
    long f = cpo_dataset_find(ds, sym);
    if (f < 0 || ds->bars[f].n == 0)
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                             "%s: delivery series %s of %s has no bars in %s (expected "
                             "an instrument of the store with bars of the index)",
                             who, sym, coin, cfg->data_path);
    const cpo_bars *b = &ds->bars[f];
    int64_t sp = b->bar_ms;
    if (sp <= 0 && b->n > 1)
        sp = b->ts[1] - b->ts[0];
    if (sp <= 0 || 8 * CPO_MS_HOUR % sp != 0) {
        char d[40] = "unknown";
        if (sp > 0)
            cpo_duration_format(sp, d, sizeof d);
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                             "%s: %s expiries settle at 08:00 UTC on the 30-minute TWAP "
                             "of the index, and the %s bars of %s do not end at 08:00 "
                             "(expected bars of %s at 1h or finer, minute bars for the exact "
                             "TWAP: delivery.%s = a symbol of the store that has them)",
                             who, coin, d, sym, sym, coin);
    }
    cpo_bars *nr = realloc(m->raw, (m->n_raw + 1) * sizeof *nr);
    if (nr)
        m->raw = nr;
    char(*ns)[CPO_SYMBOL_MAX] = nr ? realloc(m->raw_symbol, (m->n_raw + 1) * sizeof *ns) : NULL;
    if (ns)
        m->raw_symbol = ns;
    if (!nr || !ns)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    /* Counted before it is filled: cpo_market_free frees a part. */
    cpo_bars *r = &m->raw[m->n_raw];
    cpo_bars_init(r);
    snprintf(m->raw_symbol[m->n_raw], CPO_SYMBOL_MAX, "%s", sym);
    m->n_raw++;
    r->bar_ms = sp;
    int64_t lo = m->ts[0] - CPO_MS_DAY, hi = m->ts[m->n_steps - 1] + m->step_ms;
    size_t a = cpo_ts_count_before(b->ts, b->n, lo), z = cpo_ts_count_before(b->ts, b->n, hi);
    for (size_t k = a; k < z; k++)
        if (cpo_bars_append(r, b->ts[k], b->open[k], b->high[k], b->low[k], b->close[k],
                            b->volume[k], b->mark[k], b->mark_high ? b->mark_high[k] : NAN,
                            b->mark_low ? b->mark_low[k] : NAN, b->index[k]))
            return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    return 0;
}

/* The coin of a future: its underlying, else its base. */
static const char *fut_coin(const cpo_instrument *in)
{
    return in->underlying[0] ? in->underlying : in->base;
}

/*
 * The delivery series the run needs, kept off the grid: for every option
 * underlying [options] delivery.COIN (default: its index instrument); for
 * every dated future that expires within the grid, its coin's [futures]
 * delivery.COIN, else its index (cpo_futures_index).
 */
static int delivery_series(cpo_market *m, const cpo_dataset *ds, const cpo_config *cfg,
                           cpo_error *err)
{
    const cpo_option_spec *o = &cfg->run.options;
    if (m->n_steps == 0)
        return 0;
    for (size_t u = 0; o->enabled && u < o->n_underlyings; u++) {
        const char *sym = o->delivery[u][0] ? o->delivery[u] : o->index[u];
        long line = coin_key_line(cfg, "options", o->delivery[u][0] ? "delivery" : "index",
                                  o->underlying[u]);
        int rc = add_raw(m, ds, cfg, sym, "options", o->underlying[u], line, err);
        if (rc)
            return rc;
    }
    int64_t end = m->ts[m->n_steps - 1] + m->step_ms;
    for (size_t i = 0; i < m->n_instr; i++) {
        const cpo_instrument *in = &m->instr[i];
        if (in->kind != CPO_KIND_FUTURE || in->expiry_ms <= 0 || in->expiry_ms > end ||
            in->expiry_ms <= m->ts[0])
            continue;
        const char *coin = fut_coin(in);
        char buf[CPO_SYMBOL_MAX];
        const char *sym = cpo_futures_index(&cfg->run, coin, 1, buf, sizeof buf);
        long line = coin_key_line(cfg, "futures", "delivery", coin);
        if (!line) {
            /* No delivery series named: the index, which must have bars. */
            sym = cpo_futures_index(&cfg->run, coin, 0, buf, sizeof buf);
            line = coin_key_line(cfg, "futures", "index", coin);
        }
        if (cpo_dataset_find(ds, sym) < 0) {
            char when[40];
            cpo_time_format(in->expiry_ms, when, sizeof when);
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                                 "futures: %s expires at %s within the run and delivers at its "
                                 "index's 30-minute TWAP, but %s is not in %s (expected [futures] "
                                 "index.%s = an instrument of the store with the index's bars)",
                                 in->symbol, when, sym, cfg->data_path, coin);
        }
        int rc = add_raw(m, ds, cfg, sym, "futures", coin, line, err);
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * [futures] between_quotes = basis: a dated future quoted sparsely (the
 * futures of a weekly chain snapshot) gets, at each step after its first
 * quote and before its expiry T whose cell has no quote of its own (NaN,
 * or filled forward), the implied carry of its latest quote q on the
 * index:
 *     F(t) = I(t) x (F_q / I_q)^((T - t) / (T - t_q))
 * a constant annualised basis log(F_q / I_q) / (T - t_q): the basis
 * shrinks with the time left and is gone at the expiry, as a future's
 * basis converges to the index it delivers on.  t and t_q are the closes
 * of their steps; I(t) the close of the coin's index instrument
 * (cpo_futures_index) at the step's close, I_q the quote's own index (the
 * chain snapshot's index_price) when its bar has one, else the same
 * close.  The close is F at the step's close; the open is F at the step's
 * open from the index's open (a next_open fill pays what the index said
 * then, not an hour later); high and low carry the index's high and low
 * at the close's carry, widened to take in the open and the close.
 * Volume and mark NaN, filled = 2, and the run counts them (summary
 * futures, futures.csv source = basis).  A snapshot's quote (a bar of one
 * price and no volume, as deribit-chain-futures makes) is of a moment
 * inside its bar: the bar's close is the quote's basis to the snapshot's
 * index on the index at the close (the future and the index marked at one
 * time; futures.csv shows the close's index and the quote's basis), and
 * its open follows the previous quote's carry, so that a fill at its open
 * does not trade on a price from later in the hour.  The latest quote before the grid (up to 31 days
 * back) counts.  A future without an expiry is left as it is.
 */
/* The index over the step [ts, ts + step): the open of its first bar, the
 * high and low of its bars, the close of its last (v[0..3]); 0 if no bar
 * of b opens inside it. */
static int index_ohlc(const cpo_bars *b, int64_t ts, int64_t step, double v[4])
{
    size_t lo = cpo_ts_count_before(b->ts, b->n, ts);
    size_t hi = cpo_ts_count_before(b->ts, b->n, ts + step);
    if (hi <= lo)
        return 0;
    v[0] = b->open[lo];
    v[1] = b->high[lo];
    v[2] = b->low[lo];
    v[3] = b->close[hi - 1];
    for (size_t k = lo + 1; k < hi; k++) {
        v[1] = fmax(v[1], b->high[k]);
        v[2] = fmin(v[2], b->low[k]);
    }
    return 1;
}

/* The index at the close of the step [ts, ts + step): the close of the
 * last bar of b that opens inside it, else NaN. */
static double index_at(const cpo_bars *b, int64_t ts, int64_t step)
{
    double v[4];
    return index_ohlc(b, ts, step, v) ? v[3] : NAN;
}

static int model_basis(cpo_market *m, const cpo_dataset *ds, const cpo_config *cfg,
                       cpo_error *err)
{
    if (cfg->run.futures.between_quotes != CPO_FUT_GAP_BASIS)
        return 0;
    size_t T = m->n_steps;
    for (size_t i = 0; i < m->n_instr; i++) {
        const cpo_instrument *in = &m->instr[i];
        if (in->kind != CPO_KIND_FUTURE)
            continue;
        char buf[CPO_SYMBOL_MAX];
        const char *isym = cpo_futures_index(&cfg->run, fut_coin(in), 0, buf, sizeof buf);
        long f = cpo_dataset_find(ds, isym);
        if (f < 0)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path,
                                 coin_key_line(cfg, "futures", "index", fut_coin(in)), 0,
                                 "futures: between_quotes = basis carries %s's basis on its "
                                 "index %s, which is not in %s (expected [futures] index.%s = "
                                 "an instrument of the store)",
                                 in->symbol, isym, cfg->data_path, fut_coin(in));
        const cpo_bars *ib = &ds->bars[f];
        double *col[CPO_F_COUNT];
        for (int k = 0; k < CPO_F_COUNT; k++) /* NULL: the cube has no such column */
            col[k] = m->col[k] ? m->col[k] + i * T : NULL;
        uint8_t *fl = m->filled + i * T;
        int64_t Tx = in->expiry_ms;
        if (Tx <= 0 || Tx == CPO_TIME_NONE)
            continue;
        double log_ratio = NAN; /* log(F_q / I_q) */
        int64_t tq = 0;         /* the quote's close */
        /* The latest quote before the grid (a month back at most) carries
         * into its first steps, as the chain's latest snapshot does. */
        long fi = cpo_dataset_find(ds, in->symbol);
        if (fi >= 0) {
            const cpo_bars *fb = &ds->bars[fi];
            size_t k = cpo_ts_count_before(fb->ts, fb->n, m->ts[0]);
            if (k > 0 && m->ts[0] - fb->ts[k - 1] <= 31 * CPO_MS_DAY && fb->close[k - 1] > 0.0) {
                double Iq = isfinite(fb->index[k - 1]) ? fb->index[k - 1]
                                                       : index_at(ib, fb->ts[k - 1], m->step_ms);
                log_ratio = Iq > 0.0 ? log(fb->close[k - 1] / Iq) : NAN;
                tq = fb->ts[k - 1] + m->step_ms;
            }
        }
        for (size_t t = 0; t < T; t++) {
            int64_t close = m->ts[t] + m->step_ms;
            if (close > Tx)
                break;
            if (isfinite(col[CPO_F_CLOSE][t]) && fl[t] == 0) {
                /* A snapshot's quote (one price, no volume: the chain's
                 * futures) is of its time inside the bar.  Its basis to
                 * the snapshot's own index is what it tells: the close is
                 * that basis on the index at the close (marks of one
                 * time, as the option book's), the open the previous
                 * quote's carry on the index at the open (the quote was
                 * not known then; the first quote has none, and its own
                 * basis is used). */
                double q = col[CPO_F_CLOSE][t], iv[4];
                double Iq = isfinite(col[CPO_F_INDEX][t]) ? col[CPO_F_INDEX][t]
                                                          : index_at(ib, m->ts[t], m->step_ms);
                if (col[CPO_F_OPEN][t] == q && col[CPO_F_HIGH][t] == q &&
                    col[CPO_F_LOW][t] == q && isnan(col[CPO_F_VOLUME][t]) && Iq > 0.0 &&
                    index_ohlc(ib, m->ts[t], m->step_ms, iv) && iv[0] > 0.0 && iv[3] > 0.0) {
                    double Fc = q * (iv[3] / Iq);
                    double Fo = isfinite(log_ratio) && tq < Tx
                                    ? iv[0] * exp(log_ratio * (double)(Tx - m->ts[t]) /
                                                  (double)(Tx - tq))
                                    : q * (iv[0] / Iq);
                    col[CPO_F_OPEN][t] = Fo;
                    col[CPO_F_HIGH][t] = fmax(Fo, Fc);
                    col[CPO_F_LOW][t] = fmin(Fo, Fc);
                    col[CPO_F_CLOSE][t] = Fc;
                    col[CPO_F_INDEX][t] = iv[3];
                }
                log_ratio = Iq > 0.0 ? log(q / Iq) : NAN;
                tq = close;
                continue;
            }
            if (!isfinite(log_ratio) || tq >= Tx)
                continue;
            double iv[4];
            if (!index_ohlc(ib, m->ts[t], m->step_ms, iv) || !(iv[3] > 0.0))
                continue;
            double I = iv[3];
            double fc = exp(log_ratio * (double)(Tx - close) / (double)(Tx - tq));
            double F = I * fc;
            /* The open at the open's carry; a missing or bad index open
             * leaves the close. */
            double Fo = iv[0] > 0.0 ? iv[0] * exp(log_ratio * (double)(Tx - m->ts[t]) /
                                                   (double)(Tx - tq))
                                    : F;
            double Fh = iv[1] > 0.0 ? iv[1] * fc : F, Fl = iv[2] > 0.0 ? iv[2] * fc : F;
            col[CPO_F_OPEN][t] = Fo;
            col[CPO_F_HIGH][t] = fmax(Fh, fmax(Fo, F));
            col[CPO_F_LOW][t] = fmin(Fl, fmin(Fo, F));
            col[CPO_F_CLOSE][t] = F;
            col[CPO_F_VOLUME][t] = NAN;
            static const cpo_field unmodelled[] = {CPO_F_MARK, CPO_F_MARK_HIGH, CPO_F_MARK_LOW};
            for (size_t k = 0; k < sizeof unmodelled / sizeof *unmodelled; k++)
                if (col[unmodelled[k]])
                    col[unmodelled[k]][t] = NAN; /* the mark is not modelled */
            col[CPO_F_INDEX][t] = I;
            fl[t] = 2;
        }
    }
    return 0;
}

/* cpo_run_market_bench; with keep, the dataset read goes to *keep instead
 * of being freed (NULL on failure). */
static int market_bench(cpo_market **out, cpo_run_bench *bench, cpo_dataset **keep,
                        const cpo_config *cfg, cpo_error *err)
{
    cpo_dataset *ds = NULL;
    char **syms = NULL;
    size_t n = 0;
    *out = NULL;
    if (keep)
        *keep = NULL;
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
    if (!rc && ((rc = delivery_series(*out, ds, cfg, err)) || (rc = model_basis(*out, ds, cfg, err)))) {
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
    if (keep && !rc)
        *keep = ds;
    else
        cpo_dataset_free(ds);
    return rc;
}

int cpo_run_market_bench(cpo_market **out, cpo_run_bench *bench, const cpo_config *cfg,
                         cpo_error *err)
{
    return market_bench(out, bench, NULL, cfg, err);
}

int cpo_run_market_keep(cpo_market **out, cpo_run_bench *bench, cpo_dataset **ds,
                        const cpo_config *cfg, cpo_error *err)
{
    return market_bench(out, bench, ds, cfg, err);
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
