/*
 * weigh_hrp.c - the "hrp" weigh stage: hierarchical risk parity (Lopez de
 * Prado 2016; cpo_alloc_hrp) on the chosen covariance of the lookback
 * window.  distance = dtilde links on the Euclidean distance between the
 * columns of d = sqrt((1 - rho)/2) as the paper does; distance = d links
 * on d itself as PyPortfolioOpt does.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc_stages.h"

static const cpo_param_spec hrp_params[] = {
    CPO_AS_P_LOOKBACK("30d"),
    CPO_AS_P_ESTIMATOR,
    CPO_AS_P_LAMBDA,
    {"distance", CPO_PARAM_CHOICE, "dtilde", 0, 0, "dtilde|d",
     "linkage on dtilde (Euclidean distance of the columns of d; the paper) or on d = "
     "sqrt((1 - rho)/2) (PyPortfolioOpt)"},
};

typedef struct hrp_state {
    cpo_as_win win;
    cpo_alloc_hrp_dist dist;
} hrp_state;

static int hrp_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_error *err)
{
    hrp_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "hrp", p, h, v, 1, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->dist = strcmp(h->param_str(p, "distance"), "d") ? CPO_HRP_D_EUCLID : CPO_HRP_D;
    *state = s;
    return 0;
}

static void hrp_fini(void *state)
{
    hrp_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s);
}

static int hrp_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    hrp_state *s = state;
    cpo_as_win *w = &s->win;
    int rc;
    if (cpo_as_win_fill(w, h, v, io->selected, -1, h->step(v)) > 0) {
        if ((rc = cpo_as_win_cov(w, err)) ||
            (rc = cpo_alloc_hrp(w->w, NULL, w->cov, w->m, s->dist, w->ws, err)))
            return rc;
    }
    cpo_as_win_emit(w, io);
    return 0;
}

const cpo_stage_def cpo_stage_hrp = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "hrp", CPO_ROLE_WEIGH,
    "hierarchical risk parity over the lookback window", hrp_params,
    sizeof hrp_params / sizeof hrp_params[0], hrp_init, hrp_run, hrp_fini};
