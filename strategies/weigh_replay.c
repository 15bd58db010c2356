/*
 * weigh_replay.c - the "replay" weigh stage: target weights read from a
 * CSV file, row by row at the bars they name: an episode of a learning
 * agent (the actions.csv of cpo_env_write_episode) run again by `cpo run`.
 *
 * The file: a header `ts` then one column per symbol of the market; each
 * row the open time of a bar (ISO 8601) and the target weight of each
 * symbol at that bar's decision (blank: leave the instrument alone); '#'
 * lines are notes.  Rows are in time order, each on a bar of the run's
 * grid; rows before the run's first bar or after its last are not used.
 * At a step whose bar has a row the stage sets those weights (of the
 * selected instruments); at other steps none.  With schedule = every, the
 * run's orders are those of the episode, and so are its ledger's bytes.
 * Numbers are read exactly (cpo_parse_f64: the correctly rounded double of
 * the text; the episode writes 17 significant digits).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "cpo/time.h"
#include "csvread.h"

static const cpo_param_spec replay_params[] = {
    {"path", CPO_PARAM_PATH, NULL, 0, 0, NULL,
     "CSV of ts (bar open times) and one target weight column per symbol (an episode's "
     "actions.csv)"},
};

typedef struct rp_state {
    int64_t *ts;     /* [n] row times, increasing */
    double *w;       /* [n * n_cols] weights; NaN: leave */
    size_t n, cap;
    long *instr;     /* [n_cols] instrument of each weight column */
    size_t n_cols;
    size_t next;     /* the first row not passed yet */
    /* reading */
    const char *path;
    const cpo_host *h;
    const cpo_view *v;
    int64_t grid0, bar_ms;
    cpo_error *err;
} rp_state;

static void rp_fini(void *state)
{
    rp_state *s = state;
    if (!s)
        return;
    free(s->ts);
    free(s->w);
    free(s->instr);
    free(s);
}

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

static int rp_header(rp_state *s, const cpo_csv_row *row)
{
    if (row->n == 0 || strcmp(row->f[0], "ts"))
        return cpo_error_set(s->err, CPO_EFORMAT, s->path, row->line, 1,
                             "replay: the first column is \"%.40s\" (expected ts, then one "
                             "column per symbol)",
                             row->n ? row->f[0] : "");
    if (row->n < 2)
        return cpo_error_set(s->err, CPO_EFORMAT, s->path, row->line, 0,
                             "replay: no symbol columns (expected ts, then one column per "
                             "symbol)");
    s->n_cols = row->n - 1;
    if (!(s->instr = malloc(s->n_cols * sizeof *s->instr)))
        return nomem(s->err);
    for (size_t c = 0; c < s->n_cols; c++) {
        const char *sym = row->f[c + 1];
        long i = s->h->find(s->v, sym);
        if (i < 0) {
            char names[512];
            size_t k = 0;
            names[0] = '\0';
            for (size_t j = 0; j < s->h->n_instr(s->v) && k + 64 < sizeof names; j++)
                k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", j ? ", " : "",
                                      s->h->instrument(s->v, j)->symbol);
            return cpo_error_set(s->err, CPO_ECONFIG, s->path, row->line, (long)c + 2,
                                 "replay: symbol \"%.40s\" is not in the market (expected one "
                                 "of: %s)",
                                 sym, names);
        }
        for (size_t d = 0; d < c; d++)
            if (s->instr[d] == i)
                return cpo_error_set(s->err, CPO_EFORMAT, s->path, row->line, (long)c + 2,
                                     "replay: symbol \"%.40s\" is given twice (expected each "
                                     "symbol once)",
                                     sym);
        s->instr[c] = i;
    }
    return 0;
}

static int rp_row(void *ctx, const cpo_csv_row *row)
{
    rp_state *s = ctx;
    if (row->n > 0 && row->f[0][0] == '#')
        return 0;
    if (!s->instr)
        return rp_header(s, row);
    if (row->n != s->n_cols + 1)
        return cpo_error_set(s->err, CPO_EFORMAT, s->path, row->line, 0,
                             "replay: %zu fields (expected %zu: ts and %zu weights)", row->n,
                             s->n_cols + 1, s->n_cols);
    int64_t t;
    char when[40];
    if (cpo_time_parse(row->f[0], row->len[0], &t, NULL, NULL))
        return cpo_error_set(s->err, CPO_EPARSE, s->path, row->line, 1,
                             "replay: time \"%.40s\" is not a date (expected the open time of "
                             "a bar like 2024-01-31T00:00:00Z)",
                             row->f[0]);
    cpo_time_format(t, when, sizeof when);
    if (s->n && t <= s->ts[s->n - 1])
        return cpo_error_set(s->err, CPO_EORDER, s->path, row->line, 1,
                             "replay: %s is not after the row before (expected rows in time "
                             "order, each time once)",
                             when);
    if (((t - s->grid0) % s->bar_ms + s->bar_ms) % s->bar_ms) {
        char g0[40], bar[32];
        cpo_time_format(s->grid0, g0, sizeof g0);
        cpo_duration_format(s->bar_ms, bar, sizeof bar);
        return cpo_error_set(s->err, CPO_EDATA, s->path, row->line, 1,
                             "replay: %s is not a bar of the run's grid (expected open times "
                             "every %s from %s)",
                             when, bar, g0);
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 256;
        int64_t *nt = realloc(s->ts, nc * sizeof *nt);
        if (nt)
            s->ts = nt;
        double *nw = nt ? realloc(s->w, nc * s->n_cols * sizeof *nw) : NULL;
        if (!nw)
            return nomem(s->err);
        s->w = nw;
        s->cap = nc;
    }
    double *w = s->w + s->n * s->n_cols;
    for (size_t c = 0; c < s->n_cols; c++) {
        const char *f = row->f[c + 1];
        size_t len = row->len[c + 1];
        if (cpo_field_blank(f, len))
            w[c] = NAN;
        else if (cpo_parse_f64(f, len, &w[c]))
            return cpo_error_set(s->err, CPO_EPARSE, s->path, row->line, (long)c + 2,
                                 "replay: weight \"%.40s\" is not a number (expected a weight "
                                 "of equity like 0.125, or blank to leave the instrument)",
                                 f);
    }
    s->ts[s->n++] = t;
    return 0;
}

static int rp_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_error *err)
{
    rp_state *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err);
    size_t len = 0;
    const int64_t *ts = h->times(v, &len);
    s->path = h->param_str(p, "path");
    s->h = h;
    s->v = v;
    s->grid0 = len ? ts[0] : 0;
    s->bar_ms = h->bar_ms(v) > 0 ? h->bar_ms(v) : 1;
    s->err = err;
    int rc = cpo_csv_read(s->path, rp_row, s, err);
    if (!rc && !s->instr)
        rc = cpo_error_set(err, CPO_EFORMAT, s->path, 0, 0,
                           "replay: the file is empty (expected a header ts, then one column "
                           "per symbol)");
    if (rc) {
        rp_fini(s);
        return rc;
    }
    s->h = NULL;
    s->v = NULL;
    s->err = NULL;
    *state = s;
    return 0;
}

static int rp_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    rp_state *s = state;
    int64_t now = h->now(v);
    while (s->next < s->n && s->ts[s->next] < now)
        s->next++;
    if (s->next == s->n || s->ts[s->next] != now)
        return 0;
    const double *w = s->w + s->next * s->n_cols;
    for (size_t c = 0; c < s->n_cols; c++) {
        size_t i = (size_t)s->instr[c];
        if (i < io->n && io->selected[i] && !isnan(w[c]))
            io->weight[i] = w[c];
    }
    s->next++;
    return 0;
}

const cpo_stage_def cpo_stage_replay = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "replay", CPO_ROLE_WEIGH,
    "target weights read from a CSV of ts and one column per symbol, at the bars it names (a "
    "learning agent's episode: use with schedule = every)",
    replay_params, sizeof replay_params / sizeof replay_params[0], rp_init, rp_run, rp_fini};
