/*
 * overlay_events.c - the "events" overlay: cut (factor < 1) or raise
 * (factor > 1) the book's exposure in windows around dated events read from
 * a CSV file (FOMC decisions, CPI releases, halvings, token unlocks).
 *
 * The file: a header with a `time` column (ISO date or UTC date-time) and
 * optionally `event` and `kind`; lines starting with '#' are notes.  An
 * event at T opens the window [T - before, T + after).  A step is in a
 * window when the open of the next bar, where its orders fill, is.
 *
 * At a rebalance in a window every target weight is multiplied by factor.
 * Between rebalances (host->between) the overlay trades only when the book
 * enters or leaves a window: entering, every position is scaled by factor
 * (qty = factor * position); leaving, by 1 / factor (or, with factor 0, the
 * last rebalance's unscaled targets come back).  Events are sorted on
 * load; a bad file is refused with its line and column.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "cpo/time.h"
#include "csvread.h"

static const cpo_param_spec events_params[] = {
    {"file", CPO_PARAM_PATH, NULL, 0, 0, NULL,
     "CSV of events: a time column (ISO date or UTC date-time), '#' lines are notes"},
    {"factor", CPO_PARAM_REAL, "0.5", 0, 10, NULL,
     "exposure multiplier inside a window (0 = flat, 0.5 = half, 2 = double)"},
    {"before", CPO_PARAM_DURATION, "1d", 0, 365.0 * 86400000.0, NULL,
     "the window opens this long before an event"},
    {"after", CPO_PARAM_DURATION, "1d", 0, 365.0 * 86400000.0, NULL,
     "and closes this long after it"},
};

typedef struct ev_state {
    int64_t *t;          /* event times, sorted */
    size_t n, cap;
    int scaled;          /* the book is scaled by factor now */
    double *base;        /* [n_instr] unscaled targets of the last rebalance (NaN: none) */
    size_t n_instr;
    /* reading */
    const char *path;
    int col_time;
    cpo_error *err;
} ev_state;

static void ev_fini(void *state)
{
    ev_state *s = state;
    if (!s)
        return;
    free(s->t);
    free(s->base);
    free(s);
}

static int ev_row(void *ctx, const cpo_csv_row *row)
{
    ev_state *s = ctx;
    if (row->n > 0 && row->f[0][0] == '#')
        return 0;
    if (s->col_time < 0) {
        s->col_time = cpo_csv_find(row, "time");
        if (s->col_time < 0)
            s->col_time = cpo_csv_find(row, "date");
        if (s->col_time < 0)
            return cpo_error_set(s->err, CPO_EFORMAT, s->path, row->line, 0,
                                 "events: no time column (expected a header with time or date)");
        return 0;
    }
    size_t c = (size_t)s->col_time;
    if (c >= row->n || cpo_field_blank(row->f[c], row->len[c]))
        return cpo_error_set(s->err, CPO_EPARSE, s->path, row->line, (long)c + 1,
                             "events: empty time (expected an ISO date or UTC date-time)");
    int64_t t;
    if (cpo_time_parse(row->f[c], row->len[c], &t, NULL, NULL))
        return cpo_error_set(s->err, CPO_EPARSE, s->path, row->line, (long)c + 1,
                             "events: time \"%.*s\" is not a date (expected an ISO date or UTC "
                             "date-time like 2024-01-31T19:00:00Z)",
                             (int)(row->len[c] > 40 ? 40 : row->len[c]), row->f[c]);
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        int64_t *nt = realloc(s->t, nc * sizeof *nt);
        if (!nt)
            return cpo_error_set(s->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        s->t = nt;
        s->cap = nc;
    }
    s->t[s->n++] = t;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int ev_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_error *err)
{
    if (h->struct_size <= offsetof(cpo_host, between))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "events: the host cannot run overlays between rebalances (expected "
                             "this cpo version)");
    ev_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    s->n_instr = h->n_instr(v);
    s->base = malloc((s->n_instr ? s->n_instr : 1) * sizeof *s->base);
    if (!s->base) {
        ev_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t i = 0; i < s->n_instr; i++)
        s->base[i] = NAN;
    s->path = h->param_str(p, "file");
    s->col_time = -1;
    s->err = err;
    int rc = cpo_csv_read(s->path, ev_row, s, err);
    if (!rc && s->col_time < 0)
        rc = cpo_error_set(err, CPO_EFORMAT, s->path, 0, 0,
                           "events: the file is empty (expected a header with time)");
    if (!rc && (rc = h->between(v)))
        rc = cpo_error_set(err, rc, NULL, 0, 0, "events: cannot run between rebalances");
    if (rc) {
        ev_fini(s);
        return rc;
    }
    s->err = NULL;
    qsort(s->t, s->n, sizeof *s->t, cmp_i64);
    *state = s;
    return 0;
}

/* Is time x in some window [t - before, t + after)? */
static int in_window(const ev_state *s, int64_t x, int64_t before, int64_t after)
{
    /* The first event with t + after > x; it is in if t - before <= x. */
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->t[mid] + after > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < s->n && s->t[lo] - before <= x;
}

static int ev_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)err;
    ev_state *s = state;
    double f = h->param_real(p, "factor");
    int64_t fill = h->now(v) + h->bar_ms(v);
    int in = in_window(s, fill, h->param_int(p, "before"), h->param_int(p, "after"));
    if (io->fire) {
        /* A rebalance: the targets, scaled when in a window. */
        for (size_t i = 0; i < io->n && i < s->n_instr; i++) {
            s->base[i] = io->weight[i];
            if (in && isfinite(io->weight[i]))
                io->weight[i] *= f;
        }
        s->scaled = in;
        return 0;
    }
    if (in == s->scaled || f == 1.0)
        return 0;
    /* Entering or leaving a window between rebalances. */
    int any = 0;
    for (size_t i = 0; i < io->n; i++) {
        double q = h->position(v, i);
        if (in) {
            if (q != 0.0) {
                io->qty[i] = f * q;
                any = 1;
            }
        } else if (f > 0.0) {
            if (q != 0.0) {
                io->qty[i] = q / f;
                any = 1;
            }
        } else if (i < s->n_instr && isfinite(s->base[i])) {
            io->weight[i] = s->base[i];
            any = 1;
        }
    }
    s->scaled = in;
    if (any)
        io->fire = 1;
    return 0;
}

const cpo_stage_def cpo_stage_events = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "events", CPO_ROLE_OVERLAY,
    "scale exposure by a factor in windows around dated events of a CSV file (FOMC, CPI, ...)",
    events_params, sizeof events_params / sizeof events_params[0], ev_init, ev_run, ev_fini};
