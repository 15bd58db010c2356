/*
 * weigh_bl.c - the "bl" weigh stage: Black-Litterman (He & Litterman 1999;
 * cpo_alloc_bl_posterior) on the chosen covariance S of the lookback
 * window, then mean-variance (cpo_alloc_meanvar, gamma = delta) on the
 * posterior mean and covariance with the bounds.
 *
 * Prior: Pi = delta S w, w equal weights or market caps given per symbol
 * (caps = "BTCUSDT:1.2e12, ETHUSDT:4e11"; instruments without a cap get
 * prior weight 0).  Views, one list item each:
 *     A>B:Q[:C]   A outperforms B by Q a year (relative view)
 *     A:Q[:C]     A returns Q a year (absolute view)
 * Q is an annual simple return (0.02 = 2%), applied per bar as Q / (bars
 * a year); C in (0, 1] is the confidence, required with omega = idzorek
 * (omega_k = tau (1 - C)/C p_k S p_k', Walters' form of Idzorek 2005) and
 * ignored by he_litterman (omega_k = tau p_k S p_k').  A view on an
 * instrument that is not usable at a rebalance is left out of it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_stages.h"
#include "builtin.h"

static const cpo_param_spec bl_params[] = {
    CPO_AS_P_LOOKBACK("30d"),
    CPO_AS_P_ESTIMATOR,
    CPO_AS_P_LAMBDA,
    CPO_AS_P_MIN_WEIGHT,
    CPO_AS_P_MAX_WEIGHT,
    {"risk_aversion", CPO_PARAM_REAL, "2.5", 1e-6, 1e6, NULL,
     "delta: prior Pi = delta S w and the optimiser's gamma"},
    {"tau", CPO_PARAM_REAL, "0.05", 1e-6, 10, NULL, "uncertainty of the prior (0.025-0.05)"},
    {"prior", CPO_PARAM_CHOICE, "equal", 0, 0, "equal|caps",
     "prior weights: equal, or proportional to caps"},
    {"caps", CPO_PARAM_LIST, "", 0, 0, NULL, "market caps SYMBOL:CAP for prior = caps"},
    {"views", CPO_PARAM_LIST, "", 0, 0, NULL,
     "A>B:Q[:C] (A beats B by Q a year) or A:Q[:C] (A returns Q a year), C = confidence in "
     "(0, 1]; e.g. BTCUSDT>ETHUSDT:0.02:0.6"},
    {"omega", CPO_PARAM_CHOICE, "he_litterman", 0, 0, "he_litterman|idzorek",
     "view uncertainty: tau p S p' (He-Litterman) or from the confidences C (Idzorek)"},
};

typedef struct bl_view {
    long a, b; /* market indices; b = -1 for an absolute view */
    double q;  /* annual */
    double c;  /* NaN if not given */
} bl_view;

typedef struct bl_state {
    cpo_as_win win;
    cpo_alloc_opt opt;
    cpo_alloc_bl bl;
    bl_view *views;
    size_t nv;
    double *caps;    /* [n] or NULL */
    double *wp;      /* [n] prior by column */
    long *pos;       /* [n] column of a market index, -1 */
    double *P, *Q, *conf; /* [nv * n], [nv], [nv] */
    double per_year;
} bl_state;

static void bl_fini(void *state)
{
    bl_state *s = state;
    if (!s)
        return;
    cpo_as_win_fini(&s->win);
    free(s->views);
    free(s->caps);
    free(s->wp);
    free(s->pos);
    free(s->P);
    free(s->Q);
    free(s->conf);
    free(s);
}

static int parse_num(const char *s, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

static int bad_view(const char *item, cpo_error *err)
{
    return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                         "bl: view \"%s\" is not A>B:Q[:C] or A:Q[:C] (expected e.g. "
                         "BTCUSDT>ETHUSDT:0.02:0.6, Q a year, C in (0, 1])",
                         item);
}

static int parse_view(bl_view *vw, const char *item, const cpo_host *h, const cpo_view *v,
                      int need_conf, cpo_error *err)
{
    char buf[256];
    if (strlen(item) >= sizeof buf)
        return bad_view(item, err);
    strcpy(buf, item);
    char *c1 = strchr(buf, ':');
    if (!c1)
        return bad_view(item, err);
    *c1 = '\0';
    char *c2 = strchr(c1 + 1, ':');
    if (c2)
        *c2 = '\0';
    vw->c = NAN;
    if (parse_num(c1 + 1, &vw->q) || (c2 && parse_num(c2 + 1, &vw->c)))
        return bad_view(item, err);
    if (c2 && !(vw->c > 0.0 && vw->c <= 1.0))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "bl: view \"%s\": confidence %g (expected 0 < C <= 1)", item,
                             vw->c);
    if (need_conf && !c2)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "bl: view \"%s\" has no confidence (expected A>B:Q:C with omega "
                             "= idzorek)",
                             item);
    char *gt = strchr(buf, '>');
    if (gt)
        *gt = '\0';
    const char *sa = buf, *sb = gt ? gt + 1 : NULL;
    if (!*sa || (sb && !*sb))
        return bad_view(item, err);
    vw->a = h->find(v, sa);
    if (vw->a < 0)
        return cpo_builtin_unknown_symbol(h, v, "bl", sa, err);
    vw->b = -1;
    if (sb) {
        vw->b = h->find(v, sb);
        if (vw->b < 0)
            return cpo_builtin_unknown_symbol(h, v, "bl", sb, err);
        if (vw->b == vw->a)
            return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                 "bl: view \"%s\" compares %s with itself (expected two "
                                 "symbols)",
                                 item, sa);
    }
    return 0;
}

static int bl_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                   cpo_error *err)
{
    bl_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = cpo_as_win_init(&s->win, "bl", p, h, v, 1, err);
    if (rc) {
        free(s);
        return rc;
    }
    size_t n = s->win.n ? s->win.n : 1;
    s->nv = h->param_count(p, "views");
    size_t nv = s->nv ? s->nv : 1;
    int idz = !strcmp(h->param_str(p, "omega"), "idzorek");
    s->views = calloc(nv, sizeof *s->views);
    s->wp = malloc(n * sizeof *s->wp);
    s->pos = malloc(n * sizeof *s->pos);
    s->P = malloc(nv * n * sizeof *s->P);
    s->Q = malloc(nv * sizeof *s->Q);
    s->conf = malloc(nv * sizeof *s->conf);
    if (!s->views || !s->wp || !s->pos || !s->P || !s->Q || !s->conf) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < s->nv; k++)
        if ((rc = parse_view(&s->views[k], h->param_item(p, "views", k), h, v, idz, err)))
            goto fail;
    if (!strcmp(h->param_str(p, "prior"), "caps")) {
        size_t nc = h->param_count(p, "caps");
        if (nc == 0) {
            rc = cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                               "bl: prior = caps but no caps (expected caps = SYMBOL:CAP, ...)");
            goto fail;
        }
        if (!(s->caps = calloc(n, sizeof *s->caps))) {
            rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < nc; k++) {
            long i;
            double c;
            if ((rc = cpo_as_parse_pair("bl", h->param_item(p, "caps", k), h, v, &i, &c, err)))
                goto fail;
            if (!(c >= 0.0)) {
                rc = cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                   "bl: cap %g of %s (expected a cap >= 0)", c,
                                   h->instrument(v, (size_t)i)->symbol);
                goto fail;
            }
            s->caps[i] = c;
        }
    }
    cpo_alloc_opt_init(&s->opt);
    cpo_as_bounds(&s->opt.bounds, p, h, 0);
    s->opt.gamma = h->param_real(p, "risk_aversion");
    s->opt.warm_start = 1;
    cpo_alloc_bl_init(&s->bl);
    s->bl.delta = s->opt.gamma;
    s->bl.tau = h->param_real(p, "tau");
    s->bl.omega = idz ? CPO_BL_IDZOREK : CPO_BL_HE_LITTERMAN;
    s->per_year = cpo_alloc_periods_per_year(s->win.bar_ms);
    *state = s;
    return 0;
fail:
    bl_fini(s);
    return rc;
}

static int bl_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                  cpo_stage_io *io, cpo_error *err)
{
    (void)p;
    bl_state *s = state;
    cpo_as_win *w = &s->win;
    int rc;
    if (cpo_as_win_fill(w, h, v, io->selected, -1, h->step(v)) > 0) {
        size_t m = w->m, k = 0;
        for (size_t i = 0; i < w->n; i++)
            s->pos[i] = -1;
        for (size_t j = 0; j < m; j++)
            s->pos[w->idx[j]] = (long)j;
        for (size_t a = 0; a < s->nv; a++) {
            const bl_view *vw = &s->views[a];
            long ja = s->pos[vw->a], jb = vw->b >= 0 ? s->pos[vw->b] : -2;
            if (ja < 0 || jb == -1)
                continue; /* an instrument of the view is not usable now */
            for (size_t j = 0; j < m; j++)
                s->P[k * m + j] = 0.0;
            s->P[k * m + (size_t)ja] = 1.0;
            if (jb >= 0)
                s->P[k * m + (size_t)jb] = -1.0;
            s->Q[k] = vw->q / s->per_year;
            s->conf[k] = vw->c;
            k++;
        }
        const double *wp = NULL;
        if (s->caps) {
            double tot = 0.0;
            for (size_t j = 0; j < m; j++)
                tot += s->caps[w->idx[j]];
            for (size_t j = 0; j < m; j++)
                s->wp[j] = tot > 0.0 ? s->caps[w->idx[j]] / tot : 1.0 / (double)m;
            wp = s->wp;
        }
        s->bl.w_prior = wp;
        s->bl.k = k;
        s->bl.P = s->P;
        s->bl.Q = s->Q;
        s->bl.conf = s->conf;
        cpo_as_win_warm(w);
        if ((rc = cpo_as_win_cov(w, err)) ||
            (rc = cpo_alloc_bl_posterior(NULL, w->mu, w->cov2, w->cov, m, &s->bl, w->ws, err)) ||
            (rc = cpo_alloc_meanvar(w->w, NULL, w->cov2, w->mu, m, &s->opt, w->ws, err)))
            return rc;
    }
    cpo_as_win_emit(w, io);
    return 0;
}

const cpo_stage_def cpo_stage_bl = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "bl", CPO_ROLE_WEIGH,
    "Black-Litterman posterior (equal or cap prior, views) into mean-variance with bounds",
    bl_params, sizeof bl_params / sizeof bl_params[0], bl_init, bl_run, bl_fini};
