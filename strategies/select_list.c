/*
 * select_list.c - the "list" select stage: the listed symbols that have a
 * price (a finite, positive close) at this step.  A symbol the market does
 * not hold is refused when the run starts.
 */
#include <math.h>
#include <stdlib.h>

#include "builtin.h"

static const cpo_param_spec list_params[] = {
    {"symbols", CPO_PARAM_LIST, NULL, 0, 0, NULL,
     "the instruments to hold, e.g. BTCUSDT, ETHUSDT"},
};

static int list_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_error *err)
{
    size_t n = h->n_instr(v), k_max = h->param_count(p, "symbols");
    if (k_max == 0)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "list: no symbols (expected at least one, e.g. symbols = BTCUSDT)");
    uint8_t *in = calloc(n ? n : 1, 1);
    if (!in)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t k = 0; k < k_max; k++) {
        const char *sym = h->param_item(p, "symbols", k);
        long i = h->find(v, sym);
        if (i < 0) {
            free(in);
            return cpo_builtin_unknown_symbol(h, v, "list", sym, err);
        }
        in[i] = 1;
    }
    *state = in;
    return 0;
}

static void list_fini(void *state)
{
    free(state);
}

static int list_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    const uint8_t *in = state;
    for (size_t i = 0; i < io->n; i++) {
        double c = cpo_builtin_close(h, v, i);
        if (!in[i] || !(isfinite(c) && c > 0.0))
            io->selected[i] = 0;
    }
    return 0;
}

const cpo_stage_def cpo_stage_list = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "list", CPO_ROLE_SELECT,
    "the listed instruments that have a price at this step", list_params,
    sizeof list_params / sizeof list_params[0], list_init, list_run, list_fini};
