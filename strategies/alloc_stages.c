/* alloc_stages.c - helpers shared by the allocation stages (host API only). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_stages.h"
#include "builtin.h"

int cpo_as_win_init(cpo_as_win *w, const char *stage, const cpo_params *p, const cpo_host *h,
                    const cpo_view *v, int estimator, cpo_error *err)
{
    memset(w, 0, sizeof *w);
    int rc = 0;
    w->n = h->n_instr(v);
    w->bar_ms = h->bar_ms(v);
    int64_t lb = h->param_int(p, "lookback");
    if (w->bar_ms <= 0)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "%s: the market has no bar spacing (expected a regular grid)",
                             stage);
    w->k = (size_t)(lb / w->bar_ms);
    if (w->k < 2)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "%s: lookback %s is %zu bar(s) (expected at least 2 bars of %lld "
                             "ms)",
                             stage, h->param_str(p, "lookback"), w->k, (long long)w->bar_ms);
    cpo_alloc_cov_spec_init(&w->spec);
    if (estimator) {
        if (cpo_alloc_cov_parse(h->param_str(p, "estimator"), &w->spec.kind))
            return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                                 "%s: estimator \"%s\" (expected sample, ewma, ledoit_wolf or "
                                 "ledoit_wolf_cc)",
                                 stage, h->param_str(p, "estimator"));
        w->spec.lambda = cpo_alloc_ewma_lambda(h->param_real(p, "lambda"), w->bar_ms);
    }
    size_t n = w->n ? w->n : 1;
    w->idx = malloc(n * sizeof *w->idx);
    w->x = malloc(w->k * n * sizeof *w->x);
    w->cov = malloc(n * n * sizeof *w->cov);
    w->cov2 = malloc(n * n * sizeof *w->cov2);
    w->mu = malloc(n * sizeof *w->mu);
    w->w = malloc(n * sizeof *w->w);
    w->prev = malloc(n * sizeof *w->prev);
    if (!w->idx || !w->x || !w->cov || !w->cov2 || !w->mu || !w->w || !w->prev) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        w->prev[i] = NAN;
    if ((rc = cpo_alloc_ws_new(&w->ws, w->n, w->k, err)))
        goto fail;
    return 0;
fail:
    cpo_as_win_fini(w);
    return rc;
}

void cpo_as_win_fini(cpo_as_win *w)
{
    free(w->idx);
    free(w->x);
    free(w->cov);
    free(w->cov2);
    free(w->mu);
    free(w->w);
    free(w->prev);
    cpo_alloc_ws_free(w->ws);
    memset(w, 0, sizeof *w);
}

size_t cpo_as_win_fill(cpo_as_win *w, const cpo_host *h, const cpo_view *v, const uint8_t *sel,
                       long skip, size_t end)
{
    w->t = 0;
    w->m = 0;
    if (end < w->k)
        return 0;
    size_t k = w->k, first = end - k; /* closes first .. end */
    for (size_t i = 0; i < w->n; i++) {
        if ((sel && !sel[i]) || (long)i == skip)
            continue;
        size_t len = 0;
        const double *c = h->series(v, CPO_F_CLOSE, i, &len);
        if (!c || len <= end)
            continue;
        int ok = 1;
        for (size_t s = first; s <= end && ok; s++)
            ok = isfinite(c[s]) && c[s] > 0.0;
        if (!ok)
            continue;
        w->idx[w->m++] = i;
    }
    size_t m = w->m;
    for (size_t j = 0; j < m; j++) {
        size_t len = 0;
        const double *c = h->series(v, CPO_F_CLOSE, w->idx[j], &len);
        for (size_t s = 0; s < k; s++)
            w->x[s * m + j] = c[first + s + 1] / c[first + s] - 1.0;
    }
    w->t = m ? k : 0;
    return m;
}

int cpo_as_win_cov(cpo_as_win *w, cpo_error *err)
{
    return cpo_alloc_cov(w->cov, NULL, w->x, w->t, w->m, &w->spec, w->ws, err);
}

void cpo_as_win_emit(cpo_as_win *w, cpo_stage_io *io)
{
    for (size_t i = 0; i < io->n; i++)
        io->weight[i] = 0.0;
    for (size_t i = 0; i < w->n; i++)
        w->prev[i] = NAN;
    for (size_t j = 0; j < w->m; j++) {
        io->weight[w->idx[j]] = w->w[j];
        w->prev[w->idx[j]] = w->w[j];
    }
}

void cpo_as_win_warm(cpo_as_win *w)
{
    for (size_t j = 0; j < w->m; j++) {
        double p = w->prev[w->idx[j]];
        w->w[j] = isfinite(p) ? p : 1.0 / (double)w->m;
    }
}

int cpo_as_parse_pair(const char *stage, const char *item, const cpo_host *h,
                      const cpo_view *v, long *index, double *value, cpo_error *err)
{
    const char *colon = strrchr(item, ':');
    if (!colon || colon == item)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "%s: \"%s\" is not SYMBOL:NUMBER (expected e.g. BTCUSDT:0.5)",
                             stage, item);
    char sym[128];
    size_t len = (size_t)(colon - item);
    while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
        len--;
    if (len >= sizeof sym)
        len = sizeof sym - 1;
    memcpy(sym, item, len);
    sym[len] = '\0';
    const char *num = colon + 1;
    while (*num == ' ' || *num == '\t')
        num++;
    char *end;
    errno = 0;
    double x = strtod(num, &end);
    if (end == num || *end || errno || !isfinite(x))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "%s: \"%s\" of %s is not a number (expected a decimal number)",
                             stage, num, sym);
    long i = h->find(v, sym);
    if (i < 0)
        return cpo_builtin_unknown_symbol(h, v, stage, sym, err);
    *index = i;
    *value = x;
    return 0;
}

void cpo_as_bounds(cpo_alloc_bounds *b, const cpo_params *p, const cpo_host *h, int leverage)
{
    cpo_alloc_bounds_init(b);
    b->lo = h->param_real(p, "min_weight");
    b->hi = h->param_real(p, "max_weight");
    b->leverage = leverage ? h->param_real(p, "leverage") : 0.0;
}

void cpo_as_costs(cpo_alloc_opt *opt, double *c, const cpo_as_win *w, const cpo_params *p,
                  const cpo_host *h, const cpo_view *v)
{
    double tc = h->param_real(p, "tc_bps") * 1e-4, imp = h->param_real(p, "impact");
    double tmax = h->param_real(p, "turnover");
    opt->w0 = opt->tc_lin = opt->tc_impact = NULL;
    opt->turnover_max = 0.0;
    if (tc == 0.0 && imp == 0.0 && tmax == 0.0)
        return;
    double hz = (double)h->param_int(p, "cost_horizon") / (double)w->bar_ms;
    if (!(hz >= 1.0))
        hz = 1.0;
    double eq = h->equity(v);
    size_t m = w->m, k = w->t;
    double *w0 = c, *a = c + m, *b = c + 2 * m;
    for (size_t j = 0; j < m; j++) {
        size_t i = w->idx[j];
        double x = h->weight(v, i);
        w0[j] = isfinite(x) ? x : 0.0;
        a[j] = tc / hz;
        /* sigma per bar and the mean dollar volume of the window's bars */
        double s1 = 0.0, s2 = 0.0;
        for (size_t r = 0; r < k; r++) {
            double y = w->x[r * m + j];
            s1 += y;
            s2 += y * y;
        }
        double mean = k ? s1 / (double)k : 0.0;
        double sd = k > 1 ? sqrt(fmax(0.0, (s2 - (double)k * mean * mean) / (double)(k - 1))) : 0.0;
        size_t lc = 0, lv = 0;
        const double *cl = h->series(v, CPO_F_CLOSE, i, &lc);
        const double *vo = h->series(v, CPO_F_VOLUME, i, &lv);
        double dv = 0.0;
        size_t nv = 0;
        for (size_t s = lc > k ? lc - k : 0; s < lc && s < lv; s++)
            if (isfinite(cl[s]) && isfinite(vo[s])) {
                dv += cl[s] * vo[s];
                nv++;
            }
        dv = nv ? dv / (double)nv : 0.0;
        b[j] = imp > 0.0 && dv > 0.0 && eq > 0.0 ? imp * sd * sqrt(eq / dv) / hz : 0.0;
    }
    opt->w0 = w0;
    opt->tc_lin = tc > 0.0 ? a : NULL;
    opt->tc_impact = imp > 0.0 ? b : NULL;
    opt->turnover_max = tmax;
}
