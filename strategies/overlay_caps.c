/*
 * overlay_caps.c - the "caps" overlay: per-position and leverage caps.
 * First every |w_i| is cut to max_position, then, if the gross exposure
 * sum |w_i| exceeds max_leverage, every weight is scaled down by
 * max_leverage / gross, so both caps hold afterwards.  0 turns a cap off.
 * NaN weights (leave alone) are neither changed nor counted.
 */
#include <math.h>

#include "alloc_stages.h"

static const cpo_param_spec caps_params[] = {
    {"max_leverage", CPO_PARAM_REAL, "1", 0, 100, NULL,
     "cap on gross exposure sum |w| (0 = off)"},
    {"max_position", CPO_PARAM_REAL, "0", 0, 100, NULL, "cap on each |w_i| (0 = off)"},
};

static int caps_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_stage_io *io, cpo_error *err)
{
    (void)state, (void)v, (void)err;
    double lmax = h->param_real(p, "max_leverage"), pmax = h->param_real(p, "max_position");
    double gross = 0.0;
    for (size_t i = 0; i < io->n; i++) {
        double w = io->weight[i];
        if (!isfinite(w))
            continue;
        if (pmax > 0.0 && fabs(w) > pmax)
            io->weight[i] = w = copysign(pmax, w);
        gross += fabs(w);
    }
    if (lmax > 0.0 && gross > lmax)
        for (size_t i = 0; i < io->n; i++)
            if (isfinite(io->weight[i]))
                io->weight[i] *= lmax / gross;
    return 0;
}

const cpo_stage_def cpo_stage_caps = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "caps", CPO_ROLE_OVERLAY,
    "cap each position (max_position) and the gross exposure (max_leverage)", caps_params,
    sizeof caps_params / sizeof caps_params[0], NULL, caps_run, NULL};
