/*
 * select_top.c - the "top_volume" select stage: of the instruments still
 * selected that have a price at this step, the n with the largest dollar
 * volume sum(close * volume) over the trailing window of steps whose time
 * lies in (now - lookback, now], so steps t-k+1 .. t, never a later one.
 * Missing cells count 0.  Ties go to the smaller symbol (strcmp), so the
 * choice does not depend on the order of the market.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

typedef struct top_cand {
    double score;
    const char *symbol;
    size_t i;
} top_cand;

static const cpo_param_spec top_params[] = {
    {"n", CPO_PARAM_INT, "10", 1, 1e6, NULL, "how many instruments to keep"},
    {"lookback", CPO_PARAM_DURATION, "30d", 1, 3650.0 * 86400000.0, NULL,
     "trailing window of the dollar volume, ending at this step"},
};

static int top_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_error *err)
{
    (void)p;
    size_t n = h->n_instr(v);
    top_cand *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    *state = c;
    return 0;
}

static void top_fini(void *state)
{
    free(state);
}

static int cand_cmp(const void *a, const void *b)
{
    const top_cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->symbol, y->symbol);
}

static int top_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_stage_io *io, cpo_error *err)
{
    (void)err;
    top_cand *c = state;
    size_t keep = (size_t)h->param_int(p, "n");
    int64_t lookback = h->param_int(p, "lookback");
    size_t len = 0;
    const int64_t *ts = h->times(v, &len);
    int64_t now = h->now(v);
    /* First step of the window: the earliest s with ts[s] > now - lookback. */
    size_t s0 = len;
    while (s0 > 0 && ts[s0 - 1] > now - lookback)
        s0--;
    size_t nc = 0;
    for (size_t i = 0; i < io->n; i++) {
        size_t lc = 0, lv = 0;
        const double *cl = h->series(v, CPO_F_CLOSE, i, &lc);
        const double *vo = h->series(v, CPO_F_VOLUME, i, &lv);
        double last = lc ? cl[lc - 1] : NAN;
        if (!io->selected[i])
            continue;
        if (!(isfinite(last) && last > 0.0)) {
            io->selected[i] = 0;
            continue;
        }
        double sum = 0.0;
        for (size_t s = s0; s < lc && s < lv; s++)
            if (isfinite(cl[s]) && isfinite(vo[s]))
                sum += cl[s] * vo[s];
        c[nc].score = sum;
        c[nc].symbol = h->instrument(v, i)->symbol;
        c[nc].i = i;
        nc++;
    }
    qsort(c, nc, sizeof *c, cand_cmp);
    for (size_t k = keep; k < nc; k++)
        io->selected[c[k].i] = 0;
    return 0;
}

const cpo_stage_def cpo_stage_top_volume = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "top_volume", CPO_ROLE_SELECT,
    "the n instruments with the largest dollar volume over the trailing lookback", top_params,
    sizeof top_params / sizeof top_params[0], top_init, top_run, top_fini};
