/*
 * attrib_factor.c - attribution by factor (METHODS §4a): the crypto
 * factors of Liu, Tsyvinski & Wu (2022) built from the store, the
 * regression of the run's returns on them (full sample, and rolling with
 * coefficients estimated up to the previous period), and the
 * holdings-based exposures.  See cpo/attrib.h and README "Attribution".
 *
 * Periods.  Weeks starting Monday 00:00 UTC (opts.period_ms from Monday
 * 1970-01-05); the first and last period of a run may be partial.  The
 * portfolio's return of a period is E(last step) / E(step before) - 1.
 *
 * Coins.  One spot instrument quoted in dollars (USD, USDT, USDC, BUSD,
 * FDUSD) per base coin of the store (the one with most bars).  A coin's
 * price at time T is the close of its last bar that ended at or before T,
 * if that bar ended less than two of its bars before T (else missing).
 * Its return over a period is price(end) / price(start) - 1; its
 * momentum at the start of a period is r_{3,0} = price(start) /
 * price(start - 3 periods) - 1.
 *
 * Caps.  For a period starting at S, the latest snapshot strictly before
 * S; a coin's cap is that of the best-ranked row of its ticker.  Eligible:
 * cap >= min_cap_usd and a return over the period.
 *
 *   CMKT = sum cap_i r_i / sum cap_i - rf                  (eligible coins)
 *   CSMB = VW(cap <= P30(cap)) - VW(cap >= P70(cap))       (>= min_coins)
 *   CMOM = mean_s VW(s, mom >= P70) - mean_s VW(s, mom <= P30), s in
 *          {cap <= median, cap > median}, independent sorts over the
 *          eligible coins with a momentum (>= min_coins); empty buckets
 *          are left out of the means.  [U] breakpoints assumed (METHODS).
 *
 * Percentiles interpolate linearly between order statistics
 * (gsl_stats_quantile_from_sorted_data).  Without caps, CMKT is the
 * proxy coin's return - rf and CSMB, CMOM are not built.
 *
 * A factor is in the model if it is built in at least half the periods
 * where CMKT is (CMKT: in any).  A period is in sample when every factor
 * of the model and the return are finite.
 */
#include "attrib_impl.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"

const char *cpo_factor_name(cpo_factor f)
{
    static const char *const names[CPO_FACTOR_COUNT] = {"CMKT", "CSMB", "CMOM"};
    return (unsigned)f < CPO_FACTOR_COUNT ? names[f] : "?";
}

#define K_ALL CPO_FACTOR_COUNT
#define MONDAY0 (4 * CPO_MS_DAY) /* 1970-01-05T00:00Z, a Monday */

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

static int is_dollar(const char *c)
{
    return !strcmp(c, "USD") || !strcmp(c, "USDT") || !strcmp(c, "USDC") || !strcmp(c, "BUSD") ||
           !strcmp(c, "FDUSD");
}

/* --- OLS ----------------------------------------------------------------------- */

int cpo_attrib_regress(cpo_attrib_ols *out, double *resid, const double *y, const double *f,
                       size_t n, size_t k, cpo_error *err)
{
    memset(out, 0, sizeof *out);
    if (k > CPO_ATTRIB_MAX_FACTORS)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "regression: %zu factors (expected at most %d)", k,
                             CPO_ATTRIB_MAX_FACTORS);
    size_t p = k + 1;
    if (n < p + 1)
        return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                             "regression: %zu periods (expected at least %zu: %zu coefficients "
                             "and one degree of freedom for the residual)",
                             n, p + 1, p);
    for (size_t s = 0; s < n; s++) {
        int ok = isfinite(y[s]);
        for (size_t j = 0; j < k && ok; j++)
            ok = isfinite(f[s * k + j]);
        if (!ok)
            return cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                 "regression: period %zu has a value that is not finite "
                                 "(expected finite returns and factors)",
                                 s);
    }
    gsl_matrix *X = gsl_matrix_alloc(n, p);
    gsl_vector *yv = gsl_vector_alloc(n);
    gsl_vector *c = gsl_vector_alloc(p);
    gsl_vector *rv = gsl_vector_alloc(n);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, p);
    int rc = 0;
    if (!X || !yv || !c || !rv || !cov || !w) {
        rc = nomem(err);
        goto cleanup;
    }
    for (size_t s = 0; s < n; s++) {
        gsl_matrix_set(X, s, 0, 1.0);
        for (size_t j = 0; j < k; j++)
            gsl_matrix_set(X, s, j + 1, f[s * k + j]);
        gsl_vector_set(yv, s, y[s]);
    }
    double chisq = 0.0;
    size_t rank = 0;
    int st = gsl_multifit_linear_tsvd(X, yv, 1e-12, c, cov, &chisq, &rank, w);
    if (st) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "regression: %s (GSL)",
                           gsl_strerror(st));
        goto cleanup;
    }
    if (rank < p) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                           "regression: the factors are collinear (rank %zu of %zu: a factor "
                           "is constant or a combination of the others)",
                           rank, p);
        goto cleanup;
    }
    if ((st = gsl_multifit_linear_residuals(X, yv, c, rv))) {
        rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "regression: %s (GSL)",
                           gsl_strerror(st));
        goto cleanup;
    }
    out->n = n;
    out->k = k;
    double rss = 0.0;
    for (size_t s = 0; s < n; s++) {
        double e = gsl_vector_get(rv, s);
        rss += e * e;
        if (resid)
            resid[s] = e;
    }
    /* GSL's cov is chisq / (n - p) (X'X)^-1; set it from our RSS so the
     * divisor is explicit. */
    double s2 = rss / (double)(n - p);
    double s2_gsl = chisq / (double)(n - p);
    for (size_t j = 0; j < p; j++) {
        double v = gsl_matrix_get(cov, j, j);
        if (s2_gsl > 0.0)
            v *= s2 / s2_gsl;
        out->coef[j] = gsl_vector_get(c, j);
        out->se[j] = sqrt(v);
        out->tstat[j] = out->se[j] > 0.0 ? out->coef[j] / out->se[j] : NAN;
    }
    double tss = gsl_stats_tss(y, 1, n);
    out->rss = rss;
    out->r2 = tss > 0.0 ? 1.0 - rss / tss : NAN;
    out->adj_r2 = tss > 0.0 ? 1.0 - (1.0 - out->r2) * (double)(n - 1) / (double)(n - p) : NAN;
cleanup:
    gsl_matrix_free(X);
    gsl_vector_free(yv);
    gsl_vector_free(c);
    gsl_vector_free(rv);
    gsl_matrix_free(cov);
    if (w)
        gsl_multifit_linear_free(w);
    return rc;
}

int cpo_attrib_rolling(double *coef, double *contrib, double *resid, uint8_t *estimated,
                       const double *y, const double *f, const uint8_t *use, size_t n,
                       size_t k, size_t window, size_t min_obs, cpo_error *err)
{
    if (k > CPO_ATTRIB_MAX_FACTORS)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "rolling regression: %zu factors (expected at most %d)", k,
                             CPO_ATTRIB_MAX_FACTORS);
    if (window == 0)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "rolling regression: window 0 (expected at least 1 period)");
    size_t p = k + 1, need = min_obs > p + 1 ? min_obs : p + 1;
    double *yw = malloc(window * sizeof *yw);
    double *fw = malloc(window * (k ? k : 1) * sizeof *fw);
    if (!yw || !fw) {
        free(yw);
        free(fw);
        return nomem(err);
    }
    int rc = 0;
    for (size_t s = 0; s < n; s++) {
        double *cf = coef + s * p, *ct = contrib + s * p;
        for (size_t j = 0; j < p; j++) {
            cf[j] = NAN;
            ct[j] = 0.0;
        }
        if (estimated)
            estimated[s] = 0;
        resid[s] = y[s];
        if (use && !use[s])
            continue;
        size_t m = 0;
        for (size_t q = s > window ? s - window : 0; q < s; q++) {
            if (use && !use[q])
                continue;
            yw[m] = y[q];
            memcpy(fw + m * k, f + q * k, k * sizeof *f);
            m++;
        }
        if (m < need)
            continue;
        cpo_attrib_ols o;
        cpo_error e2;
        int st = cpo_attrib_regress(&o, NULL, yw, fw, m, k, &e2);
        if (st == CPO_ENOMEM) {
            rc = nomem(err);
            break;
        }
        if (st == CPO_ENUMERIC)
            continue; /* a collinear window: no estimate for this period */
        if (st) {
            rc = cpo_error_set(err, st, NULL, 0, 0, "rolling %s", e2.msg);
            break;
        }
        double e = y[s];
        ct[0] = o.coef[0];
        e -= ct[0];
        for (size_t j = 0; j < k; j++) {
            ct[1 + j] = o.coef[1 + j] * f[s * k + j];
            e -= ct[1 + j];
        }
        for (size_t j = 0; j < p; j++)
            cf[j] = o.coef[j];
        resid[s] = e;
        if (estimated)
            estimated[s] = 1;
    }
    free(yw);
    free(fw);
    return rc;
}

/* --- inputs from the store ------------------------------------------------------ */

static int64_t bar_spacing(const cpo_bars *b)
{
    if (b->bar_ms > 0)
        return b->bar_ms;
    int64_t best = 0;
    for (size_t i = 1; i < b->n && i < 200; i++) {
        int64_t g = b->ts[i] - b->ts[i - 1];
        if (g > 0 && (best == 0 || g < best))
            best = g;
    }
    return best > 0 ? best : CPO_MS_DAY;
}

static long coin_find(const cpo_attrib *a, const char *base)
{
    for (size_t c = 0; c < a->n_coins; c++)
        if (!strcmp(a->coins[c].base, base))
            return (long)c;
    return -1;
}

static const char *instr_base(const cpo_instrument *in)
{
    return in->base[0] ? in->base : in->underlying;
}

/* Is base in the ", "-separated list? */
static int in_coin_list(const char *list, const char *base)
{
    size_t n = strlen(base);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && n && !strncmp(p, base, n))
            return 1;
        p = e;
    }
    return 0;
}

/* A coin of the store the declared factor universe takes. */
static int in_universe(const cpo_attrib *a, const char *base)
{
    switch (a->opts.factor_universe) {
    case CPO_FACTOR_UNIVERSE_LIST: return in_coin_list(a->opts.factor_coins, base);
    case CPO_FACTOR_UNIVERSE_RUN:
        for (size_t i = 0; i < a->n_instr; i++) {
            const cpo_instrument *in = &a->instr[i];
            if (!strcmp(in->base[0] ? in->base : in->underlying, base))
                return 1;
        }
        return 0;
    default: return 1;
    }
}

int at_factor_inputs(cpo_attrib *a, const cpo_dataset *ds, cpo_error *err)
{
    size_t n = ds->n_instr;
    long *pick = malloc((n ? n : 1) * sizeof *pick);
    size_t np = 0;
    int rc = 0;
    if (!pick)
        return nomem(err);
    /* One spot instrument per base coin: the one with most bars. */
    for (size_t i = 0; i < n; i++) {
        const cpo_instrument *in = &ds->instr[i];
        if (in->kind != CPO_KIND_SPOT || !is_dollar(in->quote) || !in->base[0] ||
            ds->bars[i].n < 2 || !in_universe(a, in->base))
            continue;
        size_t c = 0;
        while (c < np && strcmp(ds->instr[pick[c]].base, in->base))
            c++;
        if (c == np)
            pick[np++] = (long)i;
        else if (ds->bars[i].n > ds->bars[pick[c]].n)
            pick[c] = (long)i;
    }
    /* The proxy coin from a linear perp when the store has no spot of it. */
    int have_proxy = 0;
    for (size_t c = 0; c < np; c++)
        have_proxy |= !strcmp(ds->instr[pick[c]].base, a->opts.proxy);
    if (!have_proxy)
        for (size_t i = 0; i < n; i++) {
            const cpo_instrument *in = &ds->instr[i];
            if ((in->kind == CPO_KIND_PERP || in->kind == CPO_KIND_FUTURE) &&
                in->settle == CPO_SETTLE_LINEAR && is_dollar(in->quote) &&
                !strcmp(instr_base(in), a->opts.proxy) && ds->bars[i].n >= 2) {
                pick[np++] = (long)i;
                break;
            }
        }
    a->coins = calloc(np ? np : 1, sizeof *a->coins);
    if (!a->coins) {
        rc = nomem(err);
        goto cleanup;
    }
    int64_t lo = a->n_steps ? a->ts[0] : 0, hi = a->n_steps ? a->ts[a->n_steps - 1] : 0;
    lo -= (int64_t)(a->opts.mom_periods + 2) * a->opts.period_ms;
    hi += a->step_ms + a->opts.period_ms;
    for (size_t c = 0; c < np; c++) {
        const cpo_bars *b = &ds->bars[pick[c]];
        at_coin *k = &a->coins[a->n_coins];
        snprintf(k->base, sizeof k->base, "%.15s", instr_base(&ds->instr[pick[c]]));
        snprintf(k->symbol, sizeof k->symbol, "%s", ds->instr[pick[c]].symbol);
        k->bar_ms = bar_spacing(b);
        size_t i0 = 0, i1 = b->n;
        while (i0 < b->n && b->ts[i0] < lo - 2 * k->bar_ms)
            i0++;
        while (i1 > i0 && b->ts[i1 - 1] > hi)
            i1--;
        k->n = i1 - i0;
        k->ts = malloc((k->n ? k->n : 1) * sizeof *k->ts);
        k->close = malloc((k->n ? k->n : 1) * sizeof *k->close);
        a->n_coins++;
        if (!k->ts || !k->close) {
            rc = nomem(err);
            goto cleanup;
        }
        if (k->n) {
            memcpy(k->ts, b->ts + i0, k->n * sizeof *k->ts);
            memcpy(k->close, b->close + i0, k->n * sizeof *k->close);
        }
    }
    a->proxy_coin = coin_find(a, a->opts.proxy);
    /* Caps: one column per coin, one row per snapshot. */
    const cpo_caps *cp = &ds->caps;
    size_t ns = 0;
    for (size_t r = 0; r < cp->n; r++)
        if (r == 0 || cp->ts[r] != cp->ts[r - 1])
            ns++;
    if (ns && a->n_coins) {
        a->snap_ts = malloc(ns * sizeof *a->snap_ts);
        a->cap = malloc(ns * a->n_coins * sizeof *a->cap);
        int32_t *rank = malloc(ns * a->n_coins * sizeof *rank);
        if (!a->snap_ts || !a->cap || !rank) {
            free(rank);
            rc = nomem(err);
            goto cleanup;
        }
        for (size_t q = 0; q < ns * a->n_coins; q++) {
            a->cap[q] = NAN;
            rank[q] = INT32_MAX;
        }
        size_t s = 0;
        for (size_t r = 0; r < cp->n; r++) {
            if (r > 0 && cp->ts[r] != cp->ts[r - 1])
                s++;
            a->snap_ts[s] = cp->ts[r];
            long c = coin_find(a, cp->symbol[r]);
            if (c < 0 || !isfinite(cp->market_cap[r]))
                continue;
            size_t q = s * a->n_coins + (size_t)c;
            if (cp->rank[r] < rank[q] || !isfinite(a->cap[q])) {
                rank[q] = cp->rank[r];
                a->cap[q] = cp->market_cap[r];
                a->has_caps = 1;
            }
        }
        a->n_snap = ns;
        free(rank);
    }
    if (!a->has_caps)
        snprintf(a->in_note, sizeof a->in_note, "%s",
                 cp->n ? "the store's market caps list none of its coins"
                       : "the store has no market caps");
cleanup:
    free(pick);
    return rc;
}

void at_factor_inputs_free(cpo_attrib *a)
{
    for (size_t c = 0; c < a->n_coins; c++) {
        free(a->coins[c].ts);
        free(a->coins[c].close);
    }
    free(a->coins);
    free(a->snap_ts);
    free(a->cap);
    a->coins = NULL;
    a->snap_ts = NULL;
    a->cap = NULL;
    a->n_coins = a->n_snap = 0;
}

/* Close of coin k at time T (see the top of the file), or NaN. */
static double coin_px(const at_coin *k, int64_t T)
{
    /* Last bar with ts + bar <= T. */
    size_t lo = T < INT64_MIN + k->bar_ms ? 0 : cpo_ts_count_upto(k->ts, k->n, T - k->bar_ms);
    if (lo == 0)
        return NAN;
    int64_t end = k->ts[lo - 1] + k->bar_ms;
    double v = k->close[lo - 1];
    if (T - end >= 2 * k->bar_ms || !(v > 0.0) || !isfinite(v))
        return NAN;
    return v;
}

/* Latest snapshot strictly before T, or -1. */
static long snap_before(const cpo_attrib *a, int64_t T)
{
    return (long)cpo_ts_count_before(a->snap_ts, a->n_snap, T) - 1;
}

/* --- periods ---------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int at_factor_periods(const cpo_attrib *a, const cpo_result *r, size_t **starts,
                      size_t *n_periods, cpo_error *err)
{
    size_t T = r->n_steps;
    size_t *s = malloc((T + 1) * sizeof *s);
    if (!s)
        return nomem(err);
    size_t np = 0;
    int64_t prev = 0;
    for (size_t t = 0; t < T; t++) {
        int64_t id = floor_div(r->ts[t] - MONDAY0, a->opts.period_ms);
        if (t == 0 || id != prev)
            s[np++] = t;
        prev = id;
    }
    s[np] = T;
    *starts = s;
    *n_periods = np;
    return 0;
}

/* --- factors ----------------------------------------------------------------------- */

void at_factor_free(cpo_attrib_factors *f)
{
    free(f->start_ms);
    free(f->end_ms);
    free(f->bars);
    free(f->r);
    free(f->rf);
    free(f->f);
    free(f->n_coins);
    free(f->in_sample);
    free(f->full_resid);
    free(f->estimated);
    free(f->roll_coef);
    free(f->roll_contrib);
    free(f->roll_resid);
    free(f->expo);
    free(f->common);
    free(f->specific);
    free(f->tilt);
    free(f->timing);
    memset(f, 0, sizeof *f);
}

/* Value-weighted mean of ret over the members (cap weights); NaN if none. */
static double vw(const double *cap, const double *ret, const uint8_t *mem, size_t n)
{
    double sw = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++)
        if (mem[i]) {
            sw += cap[i];
            s += cap[i] * ret[i];
        }
    return sw > 0.0 ? s / sw : NAN;
}


/* Factor values of period p and the coins' loadings (load: n_coins x
 * K_ALL, +1/-1/0 for CSMB and CMOM). */
typedef struct fwork {
    double *cap, *ret, *mom, *tmp;
    uint8_t *elig, *mem;
} fwork;

static void build_period(const cpo_attrib *a, fwork *w, cpo_attrib_factors *F, size_t p,
                         int8_t *load)
{
    size_t nc = a->n_coins;
    double *f = F->f + p * K_ALL;
    for (int k = 0; k < K_ALL; k++)
        f[k] = NAN;
    memset(load, 0, nc * K_ALL);
    F->n_coins[p] = 0;
    int64_t S = F->start_ms[p], E = F->end_ms[p];
    if (!a->has_caps) {
        if (a->proxy_coin < 0)
            return;
        const at_coin *k = &a->coins[a->proxy_coin];
        double r = coin_px(k, E) / coin_px(k, S) - 1.0;
        if (isfinite(r)) {
            f[CPO_FACTOR_CMKT] = r - F->rf[p];
            F->n_coins[p] = 1;
        }
        return;
    }
    long s = snap_before(a, S);
    size_t ne = 0;
    for (size_t c = 0; c < nc; c++) {
        const at_coin *k = &a->coins[c];
        double p0 = coin_px(k, S);
        w->cap[c] = s >= 0 ? a->cap[(size_t)s * nc + c] : NAN;
        w->ret[c] = coin_px(k, E) / p0 - 1.0;
        w->mom[c] = p0 / coin_px(k, S - (int64_t)a->opts.mom_periods * a->opts.period_ms) - 1.0;
        w->elig[c] = isfinite(w->cap[c]) && w->cap[c] >= a->opts.min_cap_usd && isfinite(w->ret[c]);
        ne += w->elig[c];
    }
    F->n_coins[p] = ne;
    if (ne == 0)
        return;
    f[CPO_FACTOR_CMKT] = vw(w->cap, w->ret, w->elig, nc) - F->rf[p];
    if (ne >= a->opts.min_coins) {
        size_t m = 0;
        for (size_t c = 0; c < nc; c++)
            if (w->elig[c])
                w->tmp[m++] = w->cap[c];
        gsl_sort(w->tmp, 1, m);
        double q30 = gsl_stats_quantile_from_sorted_data(w->tmp, 1, m, 0.3);
        double q70 = gsl_stats_quantile_from_sorted_data(w->tmp, 1, m, 0.7);
        for (size_t c = 0; c < nc; c++)
            w->mem[c] = w->elig[c] && w->cap[c] <= q30;
        double rs = vw(w->cap, w->ret, w->mem, nc);
        for (size_t c = 0; c < nc; c++) {
            if (w->mem[c])
                load[c * K_ALL + CPO_FACTOR_CSMB] = 1;
            w->mem[c] = w->elig[c] && w->cap[c] >= q70;
            if (w->mem[c])
                load[c * K_ALL + CPO_FACTOR_CSMB] = -1;
        }
        double rb = vw(w->cap, w->ret, w->mem, nc);
        f[CPO_FACTOR_CSMB] = rs - rb;
    }
    /* Momentum: independent 2 x 3 sort over the eligible coins with a
     * momentum. */
    size_t nm = 0;
    for (size_t c = 0; c < nc; c++)
        nm += w->elig[c] && isfinite(w->mom[c]);
    if (nm < a->opts.min_coins || nm < 2)
        return;
    size_t m = 0;
    for (size_t c = 0; c < nc; c++)
        if (w->elig[c] && isfinite(w->mom[c]))
            w->tmp[m++] = w->cap[c];
    gsl_sort(w->tmp, 1, m);
    double med = gsl_stats_quantile_from_sorted_data(w->tmp, 1, m, 0.5);
    m = 0;
    for (size_t c = 0; c < nc; c++)
        if (w->elig[c] && isfinite(w->mom[c]))
            w->tmp[m++] = w->mom[c];
    gsl_sort(w->tmp, 1, m);
    double m30 = gsl_stats_quantile_from_sorted_data(w->tmp, 1, m, 0.3);
    double m70 = gsl_stats_quantile_from_sorted_data(w->tmp, 1, m, 0.7);
    double win = 0.0, lose = 0.0;
    int nwin = 0, nlose = 0;
    for (int big = 0; big < 2; big++)
        for (int side = 0; side < 2; side++) { /* 0 losers, 1 winners */
            for (size_t c = 0; c < nc; c++) {
                int in = w->elig[c] && isfinite(w->mom[c]);
                in = in && (big ? w->cap[c] > med : w->cap[c] <= med);
                in = in && (side ? w->mom[c] >= m70 : w->mom[c] <= m30);
                w->mem[c] = (uint8_t)in;
                if (in)
                    load[c * K_ALL + CPO_FACTOR_CMOM] = side ? 1 : -1;
            }
            double v = vw(w->cap, w->ret, w->mem, nc);
            if (!isfinite(v))
                continue;
            if (side) {
                win += v;
                nwin++;
            } else {
                lose += v;
                nlose++;
            }
        }
    if (nwin && nlose)
        f[CPO_FACTOR_CMOM] = win / nwin - lose / nlose;
}

/* The parts of a model over the periods, for linking. */
static int alloc_periods(cpo_attrib_factors *F, size_t np)
{
    size_t n = np ? np : 1;
    F->start_ms = malloc(n * sizeof *F->start_ms);
    F->end_ms = malloc(n * sizeof *F->end_ms);
    F->bars = malloc(n * sizeof *F->bars);
    F->r = malloc(n * sizeof *F->r);
    F->rf = malloc(n * sizeof *F->rf);
    F->f = malloc(n * K_ALL * sizeof *F->f);
    F->n_coins = calloc(n, sizeof *F->n_coins);
    F->in_sample = calloc(n, 1);
    F->full_resid = malloc(n * sizeof *F->full_resid);
    F->estimated = calloc(n, 1);
    F->roll_coef = malloc(n * (1 + K_ALL) * sizeof *F->roll_coef);
    F->roll_contrib = calloc(n * (1 + K_ALL), sizeof *F->roll_contrib);
    F->roll_resid = malloc(n * sizeof *F->roll_resid);
    F->expo = calloc(n * K_ALL, sizeof *F->expo);
    F->common = malloc(n * sizeof *F->common);
    F->specific = malloc(n * sizeof *F->specific);
    F->tilt = malloc(n * sizeof *F->tilt);
    F->timing = malloc(n * sizeof *F->timing);
    return F->start_ms && F->end_ms && F->bars && F->r && F->rf && F->f && F->n_coins &&
           F->in_sample && F->full_resid && F->estimated && F->roll_coef && F->roll_contrib &&
           F->roll_resid && F->expo && F->common && F->specific && F->tilt && F->timing;
}

static void describe(const cpo_attrib *a, cpo_attrib_factors *F)
{
    char *b = F->note;
    size_t cap = sizeof F->note, len = 0;
    if (a->too_big) {
        snprintf(b, cap, "%s", a->big_note);
        return;
    }
    static const char *const uni[] = {"every coin the store has spot bars for",
                                       "the coins of the run's universe only",
                                       "the coins listed in [attribution] factor_universe"};
    int u = a->opts.factor_universe >= 0 && a->opts.factor_universe <= 2 ? a->opts.factor_universe
                                                                          : 0;
    /* Every coin the run can hold is a factor coin and nothing else is: the
     * factors are the holdings' own returns. */
    int same = a->n_coins > 0;
    for (size_t c = 0; c < a->n_coins && same; c++) {
        int held = 0;
        for (size_t i = 0; i < a->n_instr && !held; i++)
            held = !strcmp(a->instr[i].base[0] ? a->instr[i].base : a->instr[i].underlying,
                           a->coins[c].base);
        same = held;
    }
    if (a->has_caps)
        len += (size_t)snprintf(b + len, cap - len,
                                "CMKT, CSMB and CMOM built from the %zu coins of the factor "
                                "universe (%s), weighted by their market caps%s",
                                a->n_coins, uni[u],
                                same ? "; they are the coins the run holds: the fit is "
                                       "mechanical (a store with more coins gives a broader "
                                       "universe)"
                                     : ", not from the holdings");
    else if (a->proxy_coin >= 0)
        len += (size_t)snprintf(b + len, cap - len,
                                "%s: CMKT is the return of %s (%s), the declared proxy, minus rf; "
                                "CSMB and CMOM need caps and are not built",
                                a->in_note[0] ? a->in_note : "no market caps", a->opts.proxy,
                                a->coins[a->proxy_coin].symbol);
    else
        len += (size_t)snprintf(b + len, cap - len,
                                "%s and no %s instrument for the proxy: no factor is built",
                                a->in_note[0] ? a->in_note : "no market caps", a->opts.proxy);
    if (F->available && len < cap) {
        int first = 1;
        for (int k = 0; k < K_ALL; k++)
            if (!F->used[k] && (a->has_caps || k == CPO_FACTOR_CMKT) && len < cap) {
                len += (size_t)snprintf(b + len, cap - len, "%s%s", first ? "; not in the model: "
                                                                            : ", ",
                                        cpo_factor_name((cpo_factor)k));
                first = 0;
            }
    }
}

int at_factor_compute(cpo_attrib *a, const cpo_result *r, const size_t *starts, size_t np,
                      cpo_error *err)
{
    cpo_attrib_factors *F = &a->factors;
    size_t nc = a->n_coins, n = a->n_instr;
    fwork w;
    memset(&w, 0, sizeof w);
    int8_t *load = NULL;
    double *y = NULL, *fx = NULL, *res = NULL, *cf = NULL, *ct = NULL;
    long *coin_of = NULL;
    int rc = 0;
    F->n_periods = np;
    F->n_coins_universe = a->has_caps ? nc : (a->proxy_coin >= 0 ? 1 : 0);
    size_t nn = nc ? nc : 1;
    w.cap = malloc(nn * sizeof(double));
    w.ret = malloc(nn * sizeof(double));
    w.mom = malloc(nn * sizeof(double));
    w.tmp = malloc(nn * sizeof(double));
    w.elig = malloc(nn);
    w.mem = malloc(nn);
    load = calloc((np ? np : 1) * nn * K_ALL, 1);
    coin_of = malloc((n ? n : 1) * sizeof *coin_of);
    if (!alloc_periods(F, np) || !w.cap || !w.ret || !w.mom || !w.tmp || !w.elig || !w.mem ||
        !load || !coin_of) {
        rc = nomem(err);
        goto cleanup;
    }
    /* Periods, returns, factors. */
    size_t cnt[K_ALL] = {0};
    for (size_t p = 0; p < np; p++) {
        size_t s = starts[p], e = starts[p + 1] - 1;
        double e0 = s ? r->equity[s - 1] : r->capital;
        F->start_ms[p] = r->ts[s];
        F->end_ms[p] = r->ts[e] + a->step_ms;
        F->bars[p] = e - s + 1;
        F->r[p] = r->equity[e] / e0 - 1.0;
        double days = (double)(F->end_ms[p] - F->start_ms[p]) / (double)CPO_MS_DAY;
        F->rf[p] = a->opts.rf_annual != 0.0 ? pow(1.0 + a->opts.rf_annual, days / 365.0) - 1.0 : 0.0;
        build_period(a, &w, F, p, load + p * nn * K_ALL);
        for (int k = 0; k < K_ALL; k++)
            cnt[k] += isfinite(F->f[p * K_ALL + k]);
    }
    F->used[CPO_FACTOR_CMKT] = cnt[CPO_FACTOR_CMKT] > 0;
    for (int k = 1; k < K_ALL; k++)
        F->used[k] = F->used[CPO_FACTOR_CMKT] && cnt[k] > 0 && 2 * cnt[k] >= cnt[CPO_FACTOR_CMKT];
    F->available = F->used[CPO_FACTOR_CMKT];
    F->proxy = !a->has_caps && a->proxy_coin >= 0;
    int idx[K_ALL];
    size_t K = 0;
    for (int k = 0; k < K_ALL; k++)
        if (F->used[k])
            idx[K++] = k;
    F->k = K;
    size_t ns = 0;
    for (size_t p = 0; p < np; p++) {
        int ok = F->available && isfinite(F->r[p]);
        for (size_t j = 0; j < K && ok; j++)
            ok = isfinite(F->f[p * K_ALL + idx[j]]);
        F->in_sample[p] = (uint8_t)ok;
        ns += (size_t)ok;
        F->full_resid[p] = NAN;
    }
    describe(a, F);
    /* Full sample. */
    y = malloc((np ? np : 1) * sizeof *y);
    fx = malloc((np ? np : 1) * (K ? K : 1) * sizeof *fx);
    res = malloc((np ? np : 1) * sizeof *res);
    cf = malloc((np ? np : 1) * (K + 1) * sizeof *cf);
    ct = malloc((np ? np : 1) * (K + 1) * sizeof *ct);
    if (!y || !fx || !res || !cf || !ct) {
        rc = nomem(err);
        goto cleanup;
    }
    if (!F->available) {
        snprintf(F->full_note, sizeof F->full_note, "no factor is built");
    } else {
        size_t m = 0;
        for (size_t p = 0; p < np; p++) {
            if (!F->in_sample[p])
                continue;
            y[m] = F->r[p] - F->rf[p];
            for (size_t j = 0; j < K; j++)
                fx[m * K + j] = F->f[p * K_ALL + idx[j]];
            m++;
        }
        cpo_error e2;
        int st = cpo_attrib_regress(&F->full, res, y, fx, m, K, &e2);
        if (st == CPO_ENOMEM) {
            rc = nomem(err);
            goto cleanup;
        }
        if (st) {
            snprintf(F->full_note, sizeof F->full_note, "not estimated: %.230s", e2.msg);
        } else {
            F->full_ok = 1;
            m = 0;
            for (size_t p = 0; p < np; p++)
                if (F->in_sample[p])
                    F->full_resid[p] = res[m++];
        }
    }
    /* Rolling, on every period (out-of-sample ones get no estimate). */
    for (size_t p = 0; p < np; p++) {
        y[p] = F->r[p] - F->rf[p];
        for (size_t j = 0; j < K; j++)
            fx[p * K + j] = F->in_sample[p] ? F->f[p * K_ALL + idx[j]] : 0.0;
    }
    if (F->available &&
        (rc = cpo_attrib_rolling(cf, ct, F->roll_resid, F->estimated, y, fx, F->in_sample, np, K,
                                 a->opts.roll_window, a->opts.roll_min, err)))
        goto cleanup;
    for (size_t p = 0; p < np; p++) {
        double *rc_ = F->roll_coef + p * (1 + K_ALL), *rt = F->roll_contrib + p * (1 + K_ALL);
        for (int j = 0; j <= K_ALL; j++) {
            rc_[j] = NAN;
            rt[j] = 0.0;
        }
        if (!F->available) {
            F->roll_resid[p] = y[p];
            continue;
        }
        rc_[0] = cf[p * (K + 1)];
        rt[0] = ct[p * (K + 1)];
        for (size_t j = 0; j < K; j++) {
            rc_[1 + idx[j]] = cf[p * (K + 1) + 1 + j];
            rt[1 + idx[j]] = ct[p * (K + 1) + 1 + j];
        }
    }
    /* Holdings: exposures at the start of each period. */
    for (size_t i = 0; i < n; i++)
        coin_of[i] = coin_find(a, instr_base(&a->instr[i]));
    double mean_e[K_ALL] = {0};
    for (size_t p = 0; p < np; p++) {
        const int8_t *ld = load + p * nn * K_ALL;
        for (size_t i = 0; i < n; i++) {
            double wi = a->w_period[p * n + i];
            if (wi == 0.0)
                continue;
            F->expo[p * K_ALL + CPO_FACTOR_CMKT] += wi;
            if (coin_of[i] >= 0)
                for (int k = 1; k < K_ALL; k++)
                    F->expo[p * K_ALL + k] += wi * ld[(size_t)coin_of[i] * K_ALL + (size_t)k];
        }
        if (F->in_sample[p])
            for (int k = 0; k < K_ALL; k++)
                mean_e[k] += F->expo[p * K_ALL + k];
    }
    for (int k = 0; k < K_ALL; k++)
        mean_e[k] = ns ? mean_e[k] / (double)ns : NAN;
    for (size_t p = 0; p < np; p++) {
        if (!F->in_sample[p]) {
            F->common[p] = F->specific[p] = F->tilt[p] = F->timing[p] = NAN;
            continue;
        }
        double common = 0.0, tilt = 0.0;
        for (size_t j = 0; j < K; j++) {
            double fv = F->f[p * K_ALL + idx[j]];
            common += F->expo[p * K_ALL + idx[j]] * fv;
            tilt += mean_e[idx[j]] * fv;
        }
        F->common[p] = common;
        F->tilt[p] = tilt;
        F->timing[p] = common - tilt;
        F->specific[p] = F->r[p] - F->rf[p] - common;
    }
cleanup:
    free(w.cap);
    free(w.ret);
    free(w.mom);
    free(w.tmp);
    free(w.elig);
    free(w.mem);
    free(load);
    free(coin_of);
    free(y);
    free(fx);
    free(res);
    free(cf);
    free(ct);
    return rc;
}

/* --- files -------------------------------------------------------------------------- */

#define MAX_PARTS 8

/* A model's parts over the periods (np values each, summing to r per
 * period), with the estimate columns of the summary. */
typedef struct model {
    const char *name;
    size_t n;
    const char *term[MAX_PARTS];
    double est[MAX_PARTS], se[MAX_PARTS], t[MAX_PARTS];
    double *c[MAX_PARTS];
} model;

static void model_add(model *m, const char *term, double est, double se, double t, double *c)
{
    m->term[m->n] = term;
    m->est[m->n] = est;
    m->se[m->n] = se;
    m->t[m->n] = t;
    m->c[m->n] = c;
    m->n++;
}

static void sum_row(FILE *fp, const char *kind, const char *model, const char *term, double est,
                    double se, double t, double c, double linked, double total)
{
    fprintf(fp, "%s,%s,%s", kind, model, term);
    cpo_csv_num(fp, est);
    cpo_csv_num(fp, se);
    cpo_csv_num(fp, t);
    cpo_csv_num(fp, c);
    cpo_csv_num(fp, linked);
    cpo_csv_num(fp, total != 0.0 ? linked / total : NAN);
    fputc('\n', fp);
}

static int model_write(FILE *fp, const model *m, const cpo_attrib_factors *F, cpo_error *err)
{
    size_t np = F->n_periods, J = m->n;
    double *c = calloc((np ? np : 1) * J, sizeof *c), lk[MAX_PARTS], R = NAN;
    if (!c)
        return nomem(err);
    for (size_t p = 0; p < np; p++)
        for (size_t j = 0; j < J; j++)
            c[p * J + j] = m->c[j][p];
    int linked = cpo_attrib_carino_link(lk, &R, c, F->r, np, J, NULL) == 0;
    double tot = 0.0, sum_c = 0.0, sum_l = 0.0;
    for (size_t p = 0; p < np; p++)
        tot += F->r[p];
    if (!linked)
        R = NAN;
    for (size_t j = 0; j < J; j++) {
        double s = 0.0;
        for (size_t p = 0; p < np; p++)
            s += c[p * J + j];
        double l = linked ? lk[j] : NAN;
        sum_c += s;
        sum_l += l;
        sum_row(fp, "part", m->name, m->term[j], m->est[j], m->se[j], m->t[j], s, l, R);
    }
    sum_row(fp, "total", m->name, "total_return", NAN, NAN, NAN, tot, R, R);
    sum_row(fp, "sum_of_parts", m->name, "sum_of_parts", NAN, NAN, NAN, sum_c, sum_l, R);
    sum_row(fp, "residual", m->name, "residual", NAN, NAN, NAN, tot - sum_c, R - sum_l, R);
    free(c);
    return 0;
}

static void stat_row(FILE *fp, const char *model, const char *term, double v)
{
    fprintf(fp, "stat,%s,%s", model, term);
    cpo_csv_num(fp, v);
    fputs(",nan,nan,nan,nan,nan\n", fp);
}

static void note(FILE *fp, const char *text)
{
    fputs("# ", fp);
    for (; *text; text++)
        fputc(*text == '\n' ? ' ' : *text, fp);
    fputc('\n', fp);
}

static int write_summary(const cpo_attrib *a, const cpo_result *r, FILE *fp, cpo_error *err)
{
    const cpo_attrib_factors *F = &a->factors;
    size_t np = F->n_periods;
    int rc = 0;
    double *buf = malloc((np ? np : 1) * 20 * sizeof *buf);
    if (!buf) {
        return nomem(err);
    }
    char t0[40], t1[40], per[24], msg[600];
    cpo_time_format(r->ts[0], t0, sizeof t0);
    cpo_time_format(r->ts[r->n_steps - 1] + a->step_ms, t1, sizeof t1);
    cpo_duration_format(a->opts.period_ms, per, sizeof per);
    fputs("# attribution by factor (METHODS 4a): r - rf = alpha + sum_k beta_k f_k + e on "
          "periods of the run; simple returns\n",
          fp);
    fprintf(fp, "# run: %s .. %s; %zu periods of %s starting Mondays 00:00 UTC (the first and "
                "last may be partial)\n",
            t0, t1, np, per);
    note(fp, F->note);
    if (a->has_caps) {
        char coins[400];
        size_t len = 0;
        coins[0] = '\0';
        for (size_t c = 0; c < a->n_coins && len < sizeof coins; c++)
            len += (size_t)snprintf(coins + len, sizeof coins - len, "%s%s", c ? " " : "",
                                    a->coins[c].symbol);
        snprintf(msg, sizeof msg, "coins: %s", coins);
        note(fp, msg);
        snprintf(msg, sizeof msg,
                 "caps: CoinMarketCap, the latest snapshot strictly before each period, "
                 "eligible if >= %.17g USD%s",
                 a->opts.min_cap_usd,
                 a->n_coins < 30 ? "; with so few coins the size and momentum sorts are a "
                                   "small-universe stand-in for the Liu-Tsyvinski-Wu factors"
                                 : "");
        note(fp, msg);
        snprintf(msg, sizeof msg,
                 "CMKT = value-weighted return of the eligible coins - rf; CSMB = VW(cap <= "
                 "P30) - VW(cap >= P70); CMOM = 2x3 independent sort, size at the median, "
                 "momentum r_{%zu,0} at P30/P70: mean over sizes of VW winners - VW losers "
                 "[U: assumed breakpoints, METHODS 4a]; at least %zu eligible coins",
                 a->opts.mom_periods, a->opts.min_coins);
        note(fp, msg);
    }
    snprintf(msg, sizeof msg, "rf: %.17g a year, per period (1 + rf)^(days/365) - 1",
             a->opts.rf_annual);
    note(fp, msg);
    snprintf(msg, sizeof msg,
             "full: OLS (gsl_multifit_linear) on the in-sample periods; %s",
             F->full_ok ? "estimate = coefficient, std_err and t_stat from s^2 (X'X)^-1"
                        : F->full_note);
    note(fp, msg);
    snprintf(msg, sizeof msg,
             "rolling: coefficients of period t from the in-sample periods t-%zu .. t-1 (at "
             "least %zu), realised residual e_t = r_t - rf_t - alpha_{t-1} - sum_k "
             "beta_{k,t-1} f_{k,t}; estimate = mean coefficient",
             a->opts.roll_window, a->opts.roll_min);
    note(fp, msg);
    note(fp, "holdings: E_k = sum_i w_i l_ik at the start of each period (w = exposure / "
             "equity; l = 1 for CMKT, +1 small / -1 big for CSMB, +1 winner / -1 loser for CMOM, "
             "by the instrument's base coin); common = sum_k E_k f_k, specific = r - rf - common; "
             "holdings_timing: tilt = sum_k mean(E_k) f_k, timing = common - tilt; estimate = "
             "mean exposure");
    note(fp, "not_estimated: r - rf of the periods without an estimate (out of sample, or "
             "before the first rolling window)");
    note(fp, "contribution: sum over periods; linked: Carino-linked to the compounded return "
             "of the run; share = linked / total; rows of kind 'part' add up to 'total', "
             "'residual' = total - sum_of_parts; kind 'stat' holds its value in estimate");
    fputs("kind,model,term,estimate,std_err,t_stat,contribution,linked,share\n", fp);
    stat_row(fp, "all", "periods", (double)np);
    size_t ns = 0, ne = 0;
    for (size_t p = 0; p < np; p++) {
        ns += F->in_sample[p];
        ne += F->estimated[p];
    }
    stat_row(fp, "all", "periods_in_sample", (double)ns);
    stat_row(fp, "all", "coins", (double)F->n_coins_universe);
    stat_row(fp, "full", "periods", F->full_ok ? (double)F->full.n : NAN);
    stat_row(fp, "full", "r_squared", F->full_ok ? F->full.r2 : NAN);
    stat_row(fp, "full", "adj_r_squared", F->full_ok ? F->full.adj_r2 : NAN);
    stat_row(fp, "rolling", "periods", (double)ne);
    stat_row(fp, "rolling", "window", (double)a->opts.roll_window);
    stat_row(fp, "rolling", "min_periods", (double)a->opts.roll_min);
    /* Per-period columns in buf: 0 rf; full 1 alpha, 2..4 factors, 5
     * residual, 6 not estimated; rolling 7 alpha, 8..10 factors, 11
     * residual, 12 not estimated; holdings 13..15 factors, 16 specific,
     * 17 not estimated; timing 18 tilt, 19 timing. */
#define COL(j) (buf + (size_t)(j) * (np ? np : 1))
    double est[K_ALL + 1], se[K_ALL + 1], ts_[K_ALL + 1];
    for (int j = 0; j <= K_ALL; j++)
        est[j] = se[j] = ts_[j] = NAN;
    if (F->full_ok) {
        est[0] = F->full.coef[0];
        se[0] = F->full.se[0];
        ts_[0] = F->full.tstat[0];
        size_t j = 1;
        for (int k = 0; k < K_ALL; k++)
            if (F->used[k]) {
                est[1 + k] = F->full.coef[j];
                se[1 + k] = F->full.se[j];
                ts_[1 + k] = F->full.tstat[j];
                j++;
            }
    }
    double rmean[K_ALL + 1] = {0}, emean[K_ALL] = {0};
    for (size_t p = 0; p < np; p++) {
        double ex = F->r[p] - F->rf[p];
        int full = F->full_ok && F->in_sample[p];
        COL(0)[p] = F->rf[p];
        COL(1)[p] = full ? est[0] : 0.0;
        for (int k = 0; k < K_ALL; k++)
            COL(2 + k)[p] = full && F->used[k] ? est[1 + k] * F->f[p * K_ALL + k] : 0.0;
        COL(5)[p] = full ? F->full_resid[p] : 0.0;
        COL(6)[p] = full ? 0.0 : ex;
        int est_ = F->estimated[p];
        for (int j = 0; j <= K_ALL; j++) {
            COL(7 + j)[p] = F->roll_contrib[p * (1 + K_ALL) + j];
            if (est_)
                rmean[j] += F->roll_coef[p * (1 + K_ALL) + j];
        }
        COL(11)[p] = est_ ? F->roll_resid[p] : 0.0;
        COL(12)[p] = est_ ? 0.0 : ex;
        int in = F->in_sample[p];
        for (int k = 0; k < K_ALL; k++) {
            COL(13 + k)[p] = in && F->used[k] ? F->expo[p * K_ALL + k] * F->f[p * K_ALL + k] : 0.0;
            if (in)
                emean[k] += F->expo[p * K_ALL + k];
        }
        COL(16)[p] = in ? F->specific[p] : 0.0;
        COL(17)[p] = in ? 0.0 : ex;
        COL(18)[p] = in ? F->tilt[p] : 0.0;
        COL(19)[p] = in ? F->timing[p] : 0.0;
    }
    for (int j = 0; j <= K_ALL; j++)
        rmean[j] = ne && (j == 0 || F->used[j - 1]) ? rmean[j] / (double)ne : NAN;
    for (int k = 0; k < K_ALL; k++)
        emean[k] = ns && F->used[k] ? emean[k] / (double)ns : NAN;
    model m;
    memset(&m, 0, sizeof m);
    m.name = "full";
    model_add(&m, "rf", NAN, NAN, NAN, COL(0));
    model_add(&m, "alpha", est[0], se[0], ts_[0], COL(1));
    for (int k = 0; k < K_ALL; k++)
        model_add(&m, cpo_factor_name((cpo_factor)k), est[1 + k], se[1 + k], ts_[1 + k],
                  COL(2 + k));
    model_add(&m, "residual", NAN, NAN, NAN, COL(5));
    model_add(&m, "not_estimated", NAN, NAN, NAN, COL(6));
    if ((rc = model_write(fp, &m, F, err)))
        goto cleanup;
    memset(&m, 0, sizeof m);
    m.name = "rolling";
    model_add(&m, "rf", NAN, NAN, NAN, COL(0));
    model_add(&m, "alpha", rmean[0], NAN, NAN, COL(7));
    for (int k = 0; k < K_ALL; k++)
        model_add(&m, cpo_factor_name((cpo_factor)k), rmean[1 + k], NAN, NAN, COL(8 + k));
    model_add(&m, "residual", NAN, NAN, NAN, COL(11));
    model_add(&m, "not_estimated", NAN, NAN, NAN, COL(12));
    if ((rc = model_write(fp, &m, F, err)))
        goto cleanup;
    memset(&m, 0, sizeof m);
    m.name = "holdings";
    model_add(&m, "rf", NAN, NAN, NAN, COL(0));
    for (int k = 0; k < K_ALL; k++)
        model_add(&m, cpo_factor_name((cpo_factor)k), emean[k], NAN, NAN, COL(13 + k));
    model_add(&m, "specific", NAN, NAN, NAN, COL(16));
    model_add(&m, "not_estimated", NAN, NAN, NAN, COL(17));
    if ((rc = model_write(fp, &m, F, err)))
        goto cleanup;
    memset(&m, 0, sizeof m);
    m.name = "holdings_timing";
    model_add(&m, "rf", NAN, NAN, NAN, COL(0));
    model_add(&m, "tilt", NAN, NAN, NAN, COL(18));
    model_add(&m, "timing", NAN, NAN, NAN, COL(19));
    model_add(&m, "specific", NAN, NAN, NAN, COL(16));
    model_add(&m, "not_estimated", NAN, NAN, NAN, COL(17));
    rc = model_write(fp, &m, F, err);
#undef COL
cleanup:
    free(buf);
    return rc;
}

static void write_rolling(const cpo_attrib *a, FILE *fp)
{
    const cpo_attrib_factors *F = &a->factors;
    fputs("# factor attribution per period: factor returns, rolling coefficients (estimated on "
          "periods before this one), contributions and the realised residual, holdings-based "
          "exposures\n",
          fp);
    note(fp, F->note);
    fputs("# r - rf = c_alpha + c_CMKT + c_CSMB + c_CMOM + residual on every row (residual = r - "
          "rf where estimated = 0); full_residual: of the full-sample fit (nan out of sample); "
          "f_ columns are nan where a factor is not built\n",
          fp);
    fputs("period_start,period_end,bars,r,rf,f_CMKT,f_CSMB,f_CMOM,n_coins,in_sample,estimated,"
          "alpha,beta_CMKT,beta_CSMB,beta_CMOM,c_alpha,c_CMKT,c_CSMB,c_CMOM,residual,"
          "full_residual,E_CMKT,E_CSMB,E_CMOM,common,specific,tilt,timing\n",
          fp);
    char b0[40], b1[40];
    for (size_t p = 0; p < F->n_periods; p++) {
        cpo_time_format(F->start_ms[p], b0, sizeof b0);
        cpo_time_format(F->end_ms[p], b1, sizeof b1);
        fprintf(fp, "%s,%s,%zu", b0, b1, F->bars[p]);
        cpo_csv_num(fp, F->r[p]);
        cpo_csv_num(fp, F->rf[p]);
        for (int k = 0; k < K_ALL; k++)
            cpo_csv_num(fp, F->f[p * K_ALL + k]);
        fprintf(fp, ",%zu,%d,%d", F->n_coins[p], F->in_sample[p], F->estimated[p]);
        for (int j = 0; j <= K_ALL; j++)
            cpo_csv_num(fp, F->roll_coef[p * (1 + K_ALL) + j]);
        for (int j = 0; j <= K_ALL; j++)
            cpo_csv_num(fp, F->roll_contrib[p * (1 + K_ALL) + j]);
        cpo_csv_num(fp, F->roll_resid[p]);
        cpo_csv_num(fp, F->full_resid[p]);
        for (int k = 0; k < K_ALL; k++)
            cpo_csv_num(fp, F->expo[p * K_ALL + k]);
        cpo_csv_num(fp, F->common[p]);
        cpo_csv_num(fp, F->specific[p]);
        cpo_csv_num(fp, F->tilt[p]);
        cpo_csv_num(fp, F->timing[p]);
        fputc('\n', fp);
    }
}

int at_factor_write(const cpo_attrib *a, const cpo_result *r, FILE *fp_sum, FILE *fp_roll,
                    cpo_error *err)
{
    int rc = write_summary(a, r, fp_sum, err);
    if (!rc)
        write_rolling(a, fp_roll);
    return rc;
}
