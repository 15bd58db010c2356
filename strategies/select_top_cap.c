/*
 * select_top_cap.c - the "top_cap" select stage: a point-in-time universe.
 * At each rebalance it ranks the coins of the latest market-cap snapshot
 * taken strictly before the step (host->caps: the store's cmc-monthly
 * snapshots), leaves out the tickers of `exclude` (stablecoins by default),
 * and keeps the instruments whose base coin is among the n largest and
 * that have a price at this step; every other instrument is deselected.
 * A coin's cap is that of its best-ranked row in the snapshot (tickers
 * are not unique); ties go to the smaller ticker (strcmp).
 *
 * fill = no (default): the n largest coins of the snapshot; one without
 * bars in the market (LUNA in a store without LUNA bars) or without a
 * price at this step leaves its place empty, so the universe is what an
 * investor of the day could have named, less what the data cannot show.
 * fill = yes: go down the ranking until n instruments with a price are
 * kept (the next-largest coin the store has takes the place).
 *
 * A snapshot older than max_age before the step is stale: nothing is
 * selected (the weigh stage then holds nothing).  Before the first
 * snapshot nothing is selected either.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

static const cpo_param_spec top_cap_params[] = {
    {"n", CPO_PARAM_INT, "10", 1, 1e6, NULL, "how many of the largest coins to keep"},
    {"exclude", CPO_PARAM_LIST, "USDT, USDC, BUSD, DAI, TUSD, USDP, FDUSD, UST, USDD, PYUSD", 0,
     0, NULL, "tickers left out of the ranking (stablecoins); \"\" for none"},
    {"fill", CPO_PARAM_BOOL, "no", 0, 0, NULL,
     "yes: replace a top coin without a price by the next one with a price"},
    {"max_age", CPO_PARAM_DURATION, "62d", 86400000.0, 3650.0 * 86400000.0, NULL,
     "a snapshot older than this before the step is stale (nothing selected)"},
};

typedef struct tc_cand {
    double cap;
    const char *ticker;
    long instr; /* market index with a price, -1 if none */
} tc_cand;

typedef struct tc_state {
    tc_cand *c;
    size_t cap_c;
    uint8_t *keep;
} tc_state;

static void tc_fini(void *state)
{
    tc_state *s = state;
    if (!s)
        return;
    free(s->c);
    free(s->keep);
    free(s);
}

static int tc_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_error *err)
{
    (void)p;
    if (h->struct_size <= offsetof(cpo_host, caps) || !h->caps)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "top_cap: the host has no market caps (expected a host of this "
                             "cpo version)");
    tc_state *s = calloc(1, sizeof *s);
    size_t n = h->n_instr(v);
    if (!s || !(s->keep = malloc(n ? n : 1))) {
        tc_fini(s);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    *state = s;
    return 0;
}

static int cand_cmp(const void *a, const void *b)
{
    const tc_cand *x = a, *y = b;
    if (x->cap != y->cap)
        return x->cap > y->cap ? -1 : 1;
    return strcmp(x->ticker, y->ticker);
}

static const char *base_of(const cpo_instrument *in)
{
    return in->base[0] ? in->base : in->underlying;
}

static int excluded(const cpo_host *h, const cpo_params *p, const char *ticker)
{
    size_t n = h->param_count(p, "exclude");
    for (size_t k = 0; k < n; k++)
        if (!strcmp(h->param_item(p, "exclude", k), ticker))
            return 1;
    return 0;
}

static int tc_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    tc_state *s = state;
    size_t keep_n = (size_t)h->param_int(p, "n");
    int fill = (int)h->param_int(p, "fill");
    int64_t max_age = h->param_int(p, "max_age"), now = h->now(v);
    const cpo_caps *caps = NULL;
    size_t known = h->caps(v, &caps);
    memset(s->keep, 0, io->n);
    if (known > 0 && now - caps->ts[known - 1] <= max_age) {
        /* The rows of the latest snapshot before now. */
        int64_t snap = caps->ts[known - 1];
        size_t r0 = known;
        while (r0 > 0 && caps->ts[r0 - 1] == snap)
            r0--;
        size_t nr = known - r0;
        if (nr > s->cap_c) {
            tc_cand *nc = realloc(s->c, nr * sizeof *nc);
            if (!nc)
                return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
            s->c = nc;
            s->cap_c = nr;
        }
        /* One candidate per ticker: its best-ranked row (rows come by rank). */
        size_t nc = 0;
        for (size_t r = r0; r < known; r++) {
            const char *t = caps->symbol[r];
            double cap = caps->market_cap[r];
            if (!isfinite(cap) || cap <= 0.0 || excluded(h, p, t))
                continue;
            int seen = 0;
            for (size_t q = 0; q < nc && !seen; q++)
                seen = !strcmp(s->c[q].ticker, t);
            if (seen)
                continue;
            s->c[nc].cap = cap;
            s->c[nc].ticker = t;
            s->c[nc].instr = -1;
            nc++;
        }
        qsort(s->c, nc, sizeof *s->c, cand_cmp);
        size_t taken = 0;
        for (size_t q = 0; q < nc && taken < keep_n; q++) {
            long found = -1;
            for (size_t i = 0; i < io->n && found < 0; i++) {
                if (!io->selected[i] || strcmp(base_of(h->instrument(v, i)), s->c[q].ticker))
                    continue;
                double px = cpo_builtin_close(h, v, i);
                if (isfinite(px) && px > 0.0)
                    found = (long)i;
            }
            if (found >= 0) {
                s->keep[found] = 1;
                taken++;
            } else if (!fill) {
                taken++; /* its place stays empty */
            }
        }
    }
    for (size_t i = 0; i < io->n; i++)
        io->selected[i] = io->selected[i] && s->keep[i];
    return 0;
}

const cpo_stage_def cpo_stage_top_cap = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "top_cap", CPO_ROLE_SELECT,
    "the n largest coins by market cap in the latest snapshot before the step (point in time)",
    top_cap_params, sizeof top_cap_params / sizeof top_cap_params[0], tc_init, tc_run, tc_fini};
