/*
 * weigh_equal.c - the "equal" weigh stage: 1/k of equity in each of the k
 * selected instruments, 0 in the others (none selected: all 0, flat).
 */
#include "builtin.h"

static int equal_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)state, (void)p, (void)h, (void)v, (void)err;
    size_t k = 0;
    for (size_t i = 0; i < io->n; i++)
        k += io->selected[i] != 0;
    for (size_t i = 0; i < io->n; i++)
        io->weight[i] = io->selected[i] ? 1.0 / (double)k : 0.0;
    return 0;
}

const cpo_stage_def cpo_stage_equal = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "equal", CPO_ROLE_WEIGH,
    "the same weight 1/k in each of the k selected instruments", NULL, 0, NULL, equal_run, NULL};
