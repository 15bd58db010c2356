/*
 * weigh_erc.c - the "erc" weigh stage: equal risk contribution, or risk
 * budgets b_i ("BTCUSDT:2, ETHUSDT:1": shares of risk proportional to
 * them), by cyclical coordinate descent (cpo_alloc_erc) on the chosen
 * covariance of the lookback window.  With budgets, instruments that are
 * not listed get no weight.  The covariance must be positive definite:
 * with fewer returns than instruments use a shrinkage estimator.
 */
#include <math.h>
#include <stdlib.h>

#include "alloc_stages.h"

static const cpo_param_spec erc_params[] = {
    CPO_AS_P_LOOKBACK("30d"),
    CPO_AS_P_ESTIMATOR,
    CPO_AS_P_LAMBDA,
    {"budgets", CPO_PARAM_LIST, "", 0, 0, NULL,
     "risk budgets SYMBOL:B (B > 0), e.g. BTCUSDT:2, ETHUSDT:1; empty = equal risk"},
};

typedef struct erc_state {
    cpo_as_win win;
    double *budget; /* [n] by market index; NULL = equal */
    double *b;      /* [n] by column */
    uint8_t *sel;   /* [n] */
} erc_state;

static void erc_fini(void *state)
{
    erc_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->budget);
    free(s->b);
    free(s->sel);
    free(s);
}

static int erc_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_error *err)
{
    erc_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "erc", p, h, v, 1, err);
    if (rc) {
        free(s);
        return rc;
    }
    size_t n = s->win.n ? s->win.n : 1, nb = h->param_count(p, "budgets");
    s->b = malloc(n * sizeof *s->b);
    s->sel = malloc(n);
    if (!s->b || !s->sel || (nb && !(s->budget = malloc(n * sizeof *s->budget)))) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    if (nb) {
        for (size_t i = 0; i < n; i++)
            s->budget[i] = NAN;
        for (size_t k = 0; k < nb; k++) {
            long i;
            double b;
            if ((rc = cpo_as_parse_pair("erc", h->param_item(p, "budgets", k), h, v, &i, &b, err)))
                goto fail;
            if (!(b > 0.0)) {
                rc = cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                   "erc: budget %g of %s (expected a positive number)", b,
                                   h->instrument(v, (size_t)i)->symbol);
                goto fail;
            }
            if (!isnan(s->budget[i])) {
                rc = cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                   "erc: symbol \"%s\" is listed twice (expected each symbol "
                                   "once)",
                                   h->instrument(v, (size_t)i)->symbol);
                goto fail;
            }
            s->budget[i] = b;
        }
    }
    *state = s;
    return 0;
fail:
    erc_fini(s);
    return rc;
}

static int erc_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    erc_state *s = state;
    cpo_as_win *w = &s->win;
    int rc;
    for (size_t i = 0; i < w->n; i++)
        s->sel[i] = io->selected[i] && (!s->budget || !isnan(s->budget[i]));
    if (cpo_as_win_fill(w, h, v, s->sel, -1, h->step(v)) > 0) {
        for (size_t j = 0; j < w->m; j++)
            s->b[j] = s->budget ? s->budget[w->idx[j]] : 1.0;
        if ((rc = cpo_as_win_cov(w, err)) ||
            (rc = cpo_alloc_erc(w->w, NULL, NULL, w->cov, s->b, w->m, 0.0, 0, w->ws, err)))
            return rc;
    }
    cpo_as_win_emit(w, io);
    return 0;
}

const cpo_stage_def cpo_stage_erc = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "erc", CPO_ROLE_WEIGH,
    "equal risk contribution (or risk budgets) over the lookback window", erc_params,
    sizeof erc_params / sizeof erc_params[0], erc_init, erc_run, erc_fini};
