/*
 * select_all.c - the "all" select stage: every instrument with a price
 * (a finite, positive close) at this step, optionally only some kinds.
 *
 * Select stages narrow the universe in turn: the engine starts with every
 * instrument selected and each select stage clears the ones it drops, so
 * "list, top_volume" is the top n of the list.
 */
#include <math.h>
#include <stdlib.h>

#include "builtin.h"

typedef struct all_state {
    int any_kind;   /* kinds empty: every kind */
    uint8_t want[4]; /* by cpo_kind */
} all_state;

static const cpo_param_spec all_params[] = {
    {"kinds", CPO_PARAM_LIST, "", 0, 0, NULL,
     "only these kinds (spot, perp, future); empty = every kind"},
};

static int all_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_error *err)
{
    (void)v;
    all_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    size_t n = h->param_count(p, "kinds");
    s->any_kind = n == 0;
    for (size_t k = 0; k < n; k++) {
        const char *word = h->param_item(p, "kinds", k);
        cpo_kind kind;
        if (cpo_kind_parse(word, &kind)) {
            free(s);
            return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                 "all: kind \"%s\" is not known (expected spot, perp, option or "
                                 "future)",
                                 word);
        }
        s->want[kind] = 1;
    }
    *state = s;
    return 0;
}

static void all_fini(void *state)
{
    free(state);
}

static int all_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    const all_state *s = state;
    for (size_t i = 0; i < io->n; i++) {
        double c = cpo_builtin_close(h, v, i);
        unsigned kind = (unsigned)h->instrument(v, i)->kind;
        int kind_ok = s->any_kind || (kind < 4 && s->want[kind]);
        if (!(isfinite(c) && c > 0.0) || !kind_ok)
            io->selected[i] = 0;
    }
    return 0;
}

const cpo_stage_def cpo_stage_all = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "all", CPO_ROLE_SELECT,
    "every instrument with a price at this step (optionally of some kinds only)", all_params,
    sizeof all_params / sizeof all_params[0], all_init, all_run, all_fini};
