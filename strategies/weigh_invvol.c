/*
 * weigh_invvol.c - the "invvol" weigh stage: inverse volatility, w_i ~
 * 1/sigma_i (power = vol) or inverse variance, w_i ~ 1/sigma_i^2 (power =
 * var), with sigma_i from the diagonal of the chosen covariance estimator
 * over the lookback window (METHODS §6).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc_stages.h"

static const cpo_param_spec invvol_params[] = {
    CPO_AS_P_LOOKBACK("30d"),
    CPO_AS_P_ESTIMATOR,
    CPO_AS_P_LAMBDA,
    {"power", CPO_PARAM_CHOICE, "vol", 0, 0, "vol|var",
     "vol: weights ~ 1/sigma; var: weights ~ 1/sigma^2"},
};

typedef struct invvol_state {
    cpo_as_win win;
    int power;
} invvol_state;

static int invvol_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                       cpo_error *err)
{
    invvol_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "invvol", p, h, v, 1, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->power = strcmp(h->param_str(p, "power"), "var") ? 1 : 2;
    *state = s;
    return 0;
}

static void invvol_fini(void *state)
{
    invvol_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s);
}

static int invvol_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    invvol_state *s = state;
    cpo_as_win *w = &s->win;
    int rc;
    if (cpo_as_win_fill(w, h, v, io->selected, -1, h->step(v)) > 0) {
        if ((rc = cpo_as_win_cov(w, err)) || (rc = cpo_alloc_invvol(w->w, w->cov, w->m, s->power, err)))
            return rc;
    }
    cpo_as_win_emit(w, io);
    return 0;
}

const cpo_stage_def cpo_stage_invvol = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "invvol", CPO_ROLE_WEIGH,
    "inverse volatility (or inverse variance) weights over the lookback window", invvol_params,
    sizeof invvol_params / sizeof invvol_params[0], invvol_init, invvol_run, invvol_fini};
