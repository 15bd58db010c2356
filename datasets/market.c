/*
 * market.c - the market cube: a dataset's instruments on one aligned grid.
 *
 * The grid is start + k*step, k = 0..n_steps-1.  Each instrument's bars
 * are placed by exact time, in one pass over the grid and the bars (O(n)
 * per instrument, no per-step allocation).  The alignment rule (see
 * market.h): a series whose spacing equals the grid step must have every
 * bar open on a grid time; a coarser series (spacing a whole multiple k of
 * the step, only with CPO_FILL_FORWARD) puts each bar on the last grid step
 * it covers, the step that closes when the bar closes, so no cell shows a
 * value before it was known; anything else is refused with CPO_EDATA.
 */
#include "cpo/market.h"
#include "cpo/time.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cpo_market_spec_init(cpo_market_spec *s)
{
    memset(s, 0, sizeof *s);
    s->start_ms = CPO_TIME_NONE;
    s->end_ms = CPO_TIME_NONE;
    s->step_ms = 0;
    s->fill = CPO_FILL_NONE;
    s->max_fill = 0;
    s->symbols = NULL;
    s->n_symbols = 0;
}

const char *cpo_field_name(cpo_field f)
{
    static const char *const names[CPO_F_COUNT] = {
        "open", "high", "low", "close", "volume", "mark", "index", "mark_high", "mark_low"};
    return (unsigned)f < CPO_F_COUNT ? names[f] : "?";
}

/* --- small helpers ------------------------------------------------------- */

/* floor(a / b) for b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* a mod b in [0, b) for b > 0. */
static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static int64_t sat_add(int64_t a, int64_t b) /* b >= 0 */
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/*
 * The spacing of a bar series: bar_ms if known, else the median of the
 * gaps between consecutive bars (the lower median for an even count), else
 * 0 (a single bar with no declared spacing).  scratch holds n-1 values.
 */
static int64_t series_spacing(const cpo_bars *b, double *scratch)
{
    if (b->bar_ms > 0)
        return b->bar_ms;
    if (b->n < 2)
        return 0;
    for (size_t i = 1; i < b->n; i++)
        scratch[i - 1] = (double)(b->ts[i] - b->ts[i - 1]); /* exact: < 2^53 */
    size_t m = b->n - 1;
    return (int64_t)gsl_stats_select(scratch, 1, m, (m - 1) / 2);
}

/* --- the per-instrument pass -------------------------------------------- */

typedef struct fill_state {
    int fill;       /* CPO_FILL_* */
    size_t limit;   /* longest run filled (SIZE_MAX: no limit) */
    int have;       /* a bar has been placed before */
    size_t run;     /* missing steps since the last placed bar */
    double close, mark, index, mark_high, mark_low; /* last non-NaN values */
} fill_state;

typedef struct cols {
    double *f[CPO_F_COUNT]; /* NULL where the cube has no column */
    uint8_t *filled;
} cols;

/* Steps [from, to) have no bar: fill them or leave NaN. */
static void missing_steps(const cols *c, size_t from, size_t to, fill_state *st)
{
    for (size_t t = from; t < to; t++) {
        st->run++;
        if (st->fill == CPO_FILL_FORWARD && st->have && st->run <= st->limit) {
            c->f[CPO_F_OPEN][t] = c->f[CPO_F_HIGH][t] = st->close;
            c->f[CPO_F_LOW][t] = c->f[CPO_F_CLOSE][t] = st->close;
            c->f[CPO_F_VOLUME][t] = 0.0;
            if (c->f[CPO_F_MARK])
                c->f[CPO_F_MARK][t] = st->mark;
            c->f[CPO_F_INDEX][t] = st->index;
            if (c->f[CPO_F_MARK_HIGH])
                c->f[CPO_F_MARK_HIGH][t] = st->mark_high;
            if (c->f[CPO_F_MARK_LOW])
                c->f[CPO_F_MARK_LOW][t] = st->mark_low;
            c->filled[t] = 1;
        } else {
            for (int f = 0; f < CPO_F_COUNT; f++)
                if (c->f[f])
                    c->f[f][t] = NAN;
            c->filled[t] = 0;
        }
    }
}

/*
 * The numbers a backtest books must be numbers: a price (open, high, low,
 * close, mark, index, mark_high, mark_low) is NaN where the data has none,
 * else finite and > 0; a volume is NaN or finite and >= 0.  A store
 * written by the importers never holds anything else, but a dataset made
 * in code can.
 */
static int bad_bar(const char *sym, const cpo_bars *b, size_t j, cpo_error *err)
{
    enum { VOL = 8 };
    const double v[9] = {b->open[j], b->high[j], b->low[j], b->close[j], b->mark[j],
                         b->index[j], b->mark_high ? b->mark_high[j] : NAN,
                         b->mark_low ? b->mark_low[j] : NAN, b->volume[j]};
    static const char *const name[9] = {"open", "high", "low", "close", "mark", "index",
                                        "mark_high", "mark_low", "volume"};
    for (int f = 0; f < 9; f++) {
        double x = v[f];
        if (isnan(x) || (isfinite(x) && (f == VOL ? x >= 0.0 : x > 0.0)))
            continue;
        char when[40];
        cpo_time_format(b->ts[j], when, sizeof when);
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                             "%s: %s %g in the bar of %s is not %s (expected %s, or NaN where "
                             "the data has none)",
                             sym, name[f], x, when, f == VOL ? "a volume" : "a price",
                             f == VOL ? "a finite number >= 0" : "a finite number > 0");
    }
    return 0;
}

static int place_instrument(cpo_market *m, size_t i, const cpo_bars *b,
                            int64_t k, const cpo_market_spec *spec,
                            cpo_error *err)
{
    const size_t N = m->n_steps;
    const int64_t g = m->step_ms, t0 = m->ts[0];
    const int64_t t_last = m->ts[N - 1];
    const char *sym = m->instr[i].symbol;
    cols c;
    for (int f = 0; f < CPO_F_COUNT; f++)
        c.f[f] = m->col[f] ? m->col[f] + i * N : NULL;
    c.filled = m->filled + i * N;
    double *const mhi = c.f[CPO_F_MARK_HIGH], *const mlo = c.f[CPO_F_MARK_LOW];

    fill_state st = {0};
    st.fill = spec->fill;
    st.limit = spec->max_fill == 0 ? SIZE_MAX : spec->max_fill + (size_t)(k - 1);
    st.close = st.mark = st.index = st.mark_high = st.mark_low = NAN;

    size_t next = 0; /* first grid step not yet written */
    int64_t prev_ts = CPO_TIME_NONE;
    for (size_t j = 0; j < b->n; j++) {
        int64_t ts = b->ts[j];
        if (k > 1 && prev_ts != CPO_TIME_NONE && ts - prev_ts < k * g) {
            char a[40], z[40], s[24];
            cpo_time_format(prev_ts, a, sizeof a);
            cpo_time_format(ts, z, sizeof z);
            cpo_duration_format(k * g, s, sizeof s);
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "%s: bars at %s and %s overlap (expected bars at "
                                 "least the spacing %s apart)", sym, a, z, s);
        }
        prev_ts = ts;
        /* The bar closes at ts + k*g; it lands on the grid step that
         * opens at ts + (k-1)*g. */
        if (ts < t0 && ts + (k - 1) * g < t0)
            continue; /* closes before the grid starts */
        if (ts > t_last)
            break;
        if (floor_mod(ts - t0, g) != 0) {
            char bt[40], gt[40], s[24], bs[24];
            cpo_time_format(ts, bt, sizeof bt);
            cpo_time_format(t0, gt, sizeof gt);
            cpo_duration_format(g, s, sizeof s);
            cpo_duration_format(k * g, bs, sizeof bs);
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "%s: bar at %s is not on the grid %s + k*%s (the "
                                 "instrument's %s bars do not divide the grid: "
                                 "expected bar open times on grid times)",
                                 sym, bt, gt, s, bs);
        }
        int64_t q64 = floor_div(ts - t0, g) + (k - 1);
        if (q64 >= (int64_t)N)
            break; /* closes after the grid ends */
        size_t q = (size_t)q64;
        if (q < next) {
            char bt[40];
            cpo_time_format(ts, bt, sizeof bt);
            return cpo_error_set(err, CPO_EORDER, NULL, 0, 0,
                                 "%s: bar at %s is out of order (expected strictly "
                                 "increasing bar times)", sym, bt);
        }
        int bad = bad_bar(sym, b, j, err);
        if (bad)
            return bad;
        missing_steps(&c, next, q, &st);
        c.f[CPO_F_OPEN][q] = b->open[j];
        c.f[CPO_F_HIGH][q] = b->high[j];
        c.f[CPO_F_LOW][q] = b->low[j];
        c.f[CPO_F_CLOSE][q] = b->close[j];
        c.f[CPO_F_VOLUME][q] = b->volume[j];
        if (c.f[CPO_F_MARK])
            c.f[CPO_F_MARK][q] = b->mark[j];
        c.f[CPO_F_INDEX][q] = b->index[j];
        if (mhi) {
            mhi[q] = b->mark_high ? b->mark_high[j] : NAN;
            if (!isnan(mhi[q]))
                st.mark_high = mhi[q];
        }
        if (mlo) {
            mlo[q] = b->mark_low ? b->mark_low[j] : NAN;
            if (!isnan(mlo[q]))
                st.mark_low = mlo[q];
        }
        c.filled[q] = 0;
        st.have = 1;
        st.run = 0;
        if (!isnan(b->close[j]))
            st.close = b->close[j];
        if (!isnan(b->mark[j]))
            st.mark = b->mark[j];
        if (!isnan(b->index[j]))
            st.index = b->index[j];
        next = q + 1;
    }
    missing_steps(&c, next, N, &st);
    return 0;
}

/* --- copies of events, chains and indices ------------------------------- */

static int copy_funding(cpo_funding *dst, const cpo_funding *src, int64_t lo_t,
                        int64_t hi_t)
{
    cpo_funding_init(dst);
    dst->interval_ms = src->interval_ms;
    size_t lo = cpo_ts_count_before(src->ts, src->n, lo_t);
    size_t hi = cpo_ts_count_before(src->ts, src->n, hi_t);
    if (hi <= lo)
        return 0;
    size_t n = hi - lo;
    if (cpo_funding_reserve(dst, n))
        return CPO_ENOMEM;
    memcpy(dst->ts, src->ts + lo, n * sizeof *dst->ts);
    memcpy(dst->rate, src->rate + lo, n * sizeof *dst->rate);
    memcpy(dst->mark, src->mark + lo, n * sizeof *dst->mark);
    memcpy(dst->index, src->index + lo, n * sizeof *dst->index);
    dst->n = n;
    return 0;
}

static int copy_chain(cpo_chain *dst, const cpo_chain *src, int64_t lo_t,
                      int64_t hi_t)
{
    cpo_chain_init(dst, src->underlying);
    size_t lo = cpo_ts_count_before(src->ts, src->n, lo_t);
    size_t hi = cpo_ts_count_before(src->ts, src->n, hi_t);
    if (hi <= lo)
        return 0;
    size_t n = hi - lo;
    if (cpo_chain_reserve(dst, n))
        return CPO_ENOMEM;
#define CP(f) memcpy(dst->f, src->f + lo, n * sizeof *dst->f)
    CP(ts);
    CP(expiry_ms);
    CP(strike);
    CP(right);
    CP(mark_px);
    CP(bid_px);
    CP(ask_px);
    CP(mark_iv);
    CP(fwd_px);
    CP(index_px);
    CP(delta);
    CP(vega);
    CP(open_interest);
    CP(name);
#undef CP
    dst->n = n;
    return 0;
}

static int copy_ivindex(cpo_ivindex *dst, const cpo_ivindex *src)
{
    cpo_ivindex_init(dst, src->name);
    for (size_t i = 0; i < src->n; i++)
        if (cpo_ivindex_append(dst, src->ts[i], src->open[i], src->high[i],
                               src->low[i], src->close[i]))
            return CPO_ENOMEM;
    return 0;
}

/* --- build --------------------------------------------------------------- */

/* Whether the cube needs a column of field f: always, except the mark,
 * mark_high and mark_low, which only when a selected series has a finite
 * value (a cube of spot bars has no mark: the engine then reads the close
 * alone, and the cube is a seventh smaller). */
static int field_has_values(const cpo_dataset *ds, const size_t *sel, size_t n_sel,
                            cpo_field f)
{
    if (f != CPO_F_MARK && f != CPO_F_MARK_HIGH && f != CPO_F_MARK_LOW)
        return 1;
    for (size_t s = 0; s < n_sel; s++) {
        const cpo_bars *b = &ds->bars[sel[s]];
        const double *v = f == CPO_F_MARK        ? b->mark
                          : f == CPO_F_MARK_HIGH ? b->mark_high
                                                 : b->mark_low;
        for (size_t j = 0; v && j < b->n; j++)
            if (isfinite(v[j]))
                return 1;
    }
    return 0;
}

int cpo_market_build(cpo_market **out, const cpo_dataset *ds,
                     const cpo_market_spec *spec_in, cpo_error *err)
{
    int rc = 0;
    cpo_market *m = NULL;
    size_t *sel = NULL;
    int64_t *spacing = NULL;
    double *scratch = NULL;
    size_t n_sel = 0;
    cpo_market_spec defaults;
    const cpo_market_spec *spec = spec_in;
    char b1[40], b2[40];

    if (!out || !ds)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cpo_market_build: no %s (expected a pointer)",
                             out ? "dataset" : "output");
    *out = NULL;
    if (!spec) {
        cpo_market_spec_init(&defaults);
        spec = &defaults;
    }
    if (spec->step_ms < 0)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "grid step %lld ms is negative (expected > 0, or 0 "
                             "for the finest bar spacing)", (long long)spec->step_ms);
    if (spec->fill != CPO_FILL_NONE && spec->fill != CPO_FILL_FORWARD)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "fill policy %d is unknown (expected none or forward)",
                             (int)spec->fill);

    /* 1. The instruments. */
    size_t want = (spec->symbols && spec->n_symbols) ? spec->n_symbols : ds->n_instr;
    sel = malloc((want ? want : 1) * sizeof *sel);
    spacing = malloc((want ? want : 1) * sizeof *spacing);
    if (!sel || !spacing)
        goto nomem;
    if (spec->symbols && spec->n_symbols) {
        for (size_t s = 0; s < spec->n_symbols; s++) {
            const char *sym = spec->symbols[s];
            long f = sym ? cpo_dataset_find(ds, sym) : -1;
            if (f < 0) {
                rc = cpo_error_set(err, CPO_ENOTFOUND, NULL, 0, 0,
                                   "unknown symbol \"%s\" (expected an instrument "
                                   "of the dataset)", sym ? sym : "(null)");
                goto cleanup;
            }
            for (size_t p = 0; p < n_sel; p++)
                if (sel[p] == (size_t)f) {
                    rc = cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                       "symbol \"%s\" is selected twice (expected "
                                       "each instrument once)", sym);
                    goto cleanup;
                }
            sel[n_sel++] = (size_t)f;
        }
    } else {
        for (size_t i = 0; i < ds->n_instr; i++)
            if (ds->bars[i].n > 0)
                sel[n_sel++] = i;
        if (n_sel == 0) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "the dataset has no bars (expected at least one "
                               "instrument with bars to build a market from)");
            goto cleanup;
        }
    }

    /* 2. The grid step: the finest spacing of the selected series. */
    size_t max_n = 1;
    for (size_t s = 0; s < n_sel; s++)
        if (ds->bars[sel[s]].n > max_n)
            max_n = ds->bars[sel[s]].n;
    scratch = malloc(max_n * sizeof *scratch);
    if (!scratch)
        goto nomem;
    int64_t g = spec->step_ms;
    int64_t finest = 0;
    for (size_t s = 0; s < n_sel; s++) {
        spacing[s] = series_spacing(&ds->bars[sel[s]], scratch);
        if (spacing[s] > 0 && (finest == 0 || spacing[s] < finest))
            finest = spacing[s];
    }
    if (g == 0)
        g = finest;
    if (g <= 0) {
        rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                           "cannot tell the grid step: no selected instrument has a "
                           "known bar spacing (expected step_ms, or bars with bar_ms "
                           "or at least two bars)");
        goto cleanup;
    }

    /* 3. Every series must fit the grid: k = spacing / step bars per step. */
    for (size_t s = 0; s < n_sel; s++) {
        const char *sym = ds->instr[sel[s]].symbol;
        int64_t sp = spacing[s] > 0 ? spacing[s] : g;
        cpo_duration_format(sp, b1, sizeof b1);
        cpo_duration_format(g, b2, sizeof b2);
        if (sp < g) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: bar spacing %s is finer than the grid step %s "
                               "(expected bars no more frequent than the grid: "
                               "resample them or use a step of %s)", sym, b1, b2, b1);
            goto cleanup;
        }
        if (sp % g != 0) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: bar spacing %s does not divide into the %s grid "
                               "(expected a whole multiple of the grid step)",
                               sym, b1, b2);
            goto cleanup;
        }
        if (sp > g && spec->fill != CPO_FILL_FORWARD) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: bar spacing %s is coarser than the %s grid "
                               "(expected fill=forward to spread each bar over %lld "
                               "grid steps, or a grid step of %s)",
                               sym, b1, b2, (long long)(sp / g), b1);
            goto cleanup;
        }
        spacing[s] = sp / g; /* from here on: grid steps per bar */
    }

    /* 4. The span: the union of the grid steps the series cover. */
    int64_t start = spec->start_ms, end = spec->end_ms;
    int64_t data_start = INT64_MAX, data_end = INT64_MIN;
    for (size_t s = 0; s < n_sel; s++) {
        const cpo_bars *b = &ds->bars[sel[s]];
        if (b->n == 0)
            continue;
        if (b->ts[0] < data_start)
            data_start = b->ts[0];
        int64_t last = sat_add(b->ts[b->n - 1], (spacing[s] - 1) * g);
        if (last > data_end)
            data_end = last;
    }
    if ((start == CPO_TIME_NONE || end == CPO_TIME_NONE) && data_start == INT64_MAX) {
        rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                           "the selected instruments have no bars (expected bars, or "
                           "both start and end of the grid)");
        goto cleanup;
    }
    if (start == CPO_TIME_NONE)
        start = data_start;
    if (end == CPO_TIME_NONE)
        end = data_end;
    if (end < start) {
        cpo_time_format(start, b1, sizeof b1);
        cpo_time_format(end, b2, sizeof b2);
        rc = cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                           "grid end %s is before its start %s (expected end >= start)",
                           b2, b1);
        goto cleanup;
    }
    uint64_t steps = ((uint64_t)end - (uint64_t)start) / (uint64_t)g + 1;
    uint64_t cells_max = (uint64_t)(SIZE_MAX / sizeof(double)) / (uint64_t)n_sel;
    if (steps > cells_max || steps > (uint64_t)(SIZE_MAX / sizeof(size_t)) - 1) {
        cpo_duration_format(g, b1, sizeof b1);
        rc = cpo_error_set(err, CPO_ERANGE, NULL, 0, 0,
                           "a grid of %llu steps of %s for %zu instruments is too "
                           "large (expected a shorter span or a coarser step)",
                           (unsigned long long)steps, b1, n_sel);
        goto cleanup;
    }
    size_t N = (size_t)steps;

    /* 5. Allocate: one block per field. */
    m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->n_steps = N;
    m->step_ms = g;
    m->ts = malloc(N * sizeof *m->ts);
    m->instr = malloc(n_sel * sizeof *m->instr);
    m->filled = malloc(n_sel * N);
    if (!m->ts || !m->instr || !m->filled)
        goto nomem;
    for (int f = 0; f < CPO_F_COUNT; f++) {
        if (!field_has_values(ds, sel, n_sel, (cpo_field)f))
            continue; /* col[f] stays NULL: every value would be NaN */
        m->col[f] = malloc(n_sel * N * sizeof(double));
        if (!m->col[f])
            goto nomem;
    }
    m->funding = calloc(n_sel, sizeof *m->funding);
    if (!m->funding)
        goto nomem;
    m->n_instr = n_sel;
    for (size_t t = 0; t < N; t++)
        m->ts[t] = start + (int64_t)t * g;
    for (size_t s = 0; s < n_sel; s++)
        m->instr[s] = ds->instr[sel[s]];

    /* 6. Bars onto the grid. */
    for (size_t s = 0; s < n_sel; s++) {
        rc = place_instrument(m, s, &ds->bars[sel[s]], spacing[s], spec, err);
        if (rc)
            goto cleanup;
    }

    /* 7. Funding events and chain rows stamped in [ts[0], ts[N-1] + step). */
    const int64_t span_lo = m->ts[0], span_hi = sat_add(m->ts[N - 1], g);
    for (size_t s = 0; s < n_sel; s++) {
        if (copy_funding(&m->funding[s], &ds->funding[sel[s]], span_lo, span_hi))
            goto nomem;
        /* A rate is NaN (not known) or finite; a price NaN or > 0. */
        const cpo_funding *f = &m->funding[s];
        for (size_t k = 0; k < f->n; k++) {
            double r = f->rate[k], mk = f->mark[k], ix = f->index[k];
            const char *what = isinf(r) ? "rate" : !isnan(mk) && !(isfinite(mk) && mk > 0) ? "mark"
                               : !isnan(ix) && !(isfinite(ix) && ix > 0)             ? "index"
                                                                                     : NULL;
            if (!what)
                continue;
            char when[40];
            cpo_time_format(f->ts[k], when, sizeof when);
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: funding %s %g at %s is not valid (expected %s, or NaN where "
                               "the data has none)",
                               m->instr[s].symbol, what,
                               what[0] == 'r' ? r : what[0] == 'm' ? mk : ix, when,
                               what[0] == 'r' ? "a finite rate" : "a finite price > 0");
            goto cleanup;
        }
    }

    if (ds->n_chains) {
        m->chains = calloc(ds->n_chains, sizeof *m->chains);
        m->chain_row = calloc(ds->n_chains, sizeof *m->chain_row);
        if (!m->chains || !m->chain_row)
            goto nomem;
        m->n_chains = ds->n_chains;
        if (ds->n_chains > SIZE_MAX / sizeof(size_t) / (N + 1))
            goto nomem;
        size_t *rows = malloc(ds->n_chains * (N + 1) * sizeof *rows);
        if (!rows)
            goto nomem;
        for (size_t c = 0; c < ds->n_chains; c++)
            m->chain_row[c] = rows + c * (N + 1);
        for (size_t c = 0; c < ds->n_chains; c++) {
            cpo_chain *ch = &m->chains[c];
            if (copy_chain(ch, &ds->chains[c], span_lo, span_hi))
                goto nomem;
            size_t r = 0, *row = m->chain_row[c];
            for (size_t t = 0; t <= N; t++) {
                int64_t edge = t < N ? m->ts[t] : span_hi;
                while (r < ch->n && ch->ts[r] < edge)
                    r++;
                row[t] = r;
            }
        }
    }

    if (ds->n_iv) {
        m->iv = calloc(ds->n_iv, sizeof *m->iv);
        if (!m->iv)
            goto nomem;
        m->n_iv = ds->n_iv;
        for (size_t v = 0; v < ds->n_iv; v++)
            if (copy_ivindex(&m->iv[v], &ds->iv[v]))
                goto nomem;
    }

    /* Market caps: copied whole (a few thousand rows); stages see only the
     * snapshots taken before their step (host->caps). */
    for (size_t r = 0; r < ds->caps.n; r++) {
        const cpo_caps *c = &ds->caps;
        if (cpo_caps_append(&m->caps, c->ts[r], c->rank[r], c->symbol[r], c->name[r],
                            c->market_cap[r], c->price[r], c->supply[r], c->volume_24h[r]))
            goto nomem;
    }

    *out = m;
    m = NULL;
    rc = 0;
    goto cleanup;

nomem:
    rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0,
                       "out of memory building the market cube");
cleanup:
    cpo_market_free(m);
    free(sel);
    free(spacing);
    free(scratch);
    return rc;
}

void cpo_market_free(cpo_market *m)
{
    if (!m)
        return;
    free(m->ts);
    free(m->instr);
    for (int f = 0; f < CPO_F_COUNT; f++)
        free(m->col[f]);
    free(m->filled);
    if (m->funding)
        for (size_t i = 0; i < m->n_instr; i++)
            cpo_funding_fini(&m->funding[i]);
    free(m->funding);
    if (m->chains)
        for (size_t c = 0; c < m->n_chains; c++)
            cpo_chain_fini(&m->chains[c]);
    free(m->chains);
    if (m->chain_row) {
        free(m->chain_row[0]); /* one block holds every chain's rows */
        free(m->chain_row);
    }
    if (m->iv)
        for (size_t v = 0; v < m->n_iv; v++)
            cpo_ivindex_fini(&m->iv[v]);
    free(m->iv);
    if (m->raw)
        for (size_t k = 0; k < m->n_raw; k++)
            cpo_bars_fini(&m->raw[k]);
    free(m->raw);
    free(m->raw_symbol);
    cpo_caps_fini(&m->caps);
    free(m);
}

long cpo_market_find(const cpo_market *m, const char *symbol)
{
    if (!m || !symbol)
        return -1;
    for (size_t i = 0; i < m->n_instr; i++)
        if (!strcmp(m->instr[i].symbol, symbol))
            return (long)i;
    return -1;
}

long cpo_market_step_at(const cpo_market *m, int64_t t_ms)
{
    if (!m || m->n_steps == 0 || t_ms < m->ts[0])
        return -1;
    uint64_t k = ((uint64_t)t_ms - (uint64_t)m->ts[0]) / (uint64_t)m->step_ms;
    if (k >= m->n_steps)
        k = m->n_steps - 1;
    return (long)k;
}
