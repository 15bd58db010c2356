/*
 * surface.c - implied-volatility surface from one chain snapshot: sticky
 * strike (Steffen in log-moneyness, linear total variance in T) and a
 * fitted smile scaled by DVOL.  The definitions are in cpo/surface.h.
 *
 * Layout: the points of all expiries in one set of arrays (k, vol,
 * strike, right), expiry i owning [off[i], off[i] + cnt[i]); one GSL
 * interpolation object per expiry with two or more points.  Queries pass
 * no accelerator to gsl_interp_eval_e (it then bisects), so a built
 * surface is never written to and may be shared between threads.
 */
#include "cpo/surface.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_interp.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/instrument.h"
#include "cpo/time.h"

#define YEAR_MS 31536000000.0 /* ACT/365 */
#define FIT_WING_WEIGHT 0.01  /* vega weight floor, relative to the money */

struct cpo_surface {
    cpo_surface_info info;
    cpo_surface_opts opts;
    size_t n_exp;
    int64_t *expiry_ms;               /* [n_exp] */
    double *t, *fwd, *lnfwd;          /* [n_exp] */
    cpo_surface_fwd_source *fsrc;     /* [n_exp] */
    size_t *off, *cnt;                /* [n_exp] */
    gsl_interp **interp;              /* [n_exp]; NULL with one point */
    double *c0, *c1, *c2, *frms;      /* [n_exp] fit coefficients, rms */
    size_t n_pts;
    double *k, *vol, *strike;         /* [n_pts] */
    int8_t *right;                    /* [n_pts] */
    int has_index;
    double ln_index;
};

/* --- names ------------------------------------------------------------------- */

static const char *const mode_names[CPO_SURFACE_MODE_COUNT] = {"sticky_strike", "dvol_scaled"};

const char *cpo_surface_mode_name(int mode)
{
    return mode >= 0 && mode < CPO_SURFACE_MODE_COUNT ? mode_names[mode] : "unknown";
}

int cpo_surface_mode_parse(const char *s, cpo_surface_mode *out, cpo_error *err)
{
    for (int m = 0; m < CPO_SURFACE_MODE_COUNT; m++)
        if (s && !strcmp(s, mode_names[m])) {
            *out = (cpo_surface_mode)m;
            return 0;
        }
    return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                         "surface mode \"%s\" is not known (expected sticky_strike or "
                         "dvol_scaled)", s ? s : "");
}

void cpo_surface_opts_init(cpo_surface_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mode = CPO_SURFACE_STICKY_STRIKE;
    o->dvol = NULL;
    o->dvol_known_after_ms = CPO_MS_DAY;
    o->parity_by_index = 0;
    o->min_expiries = 1;
    o->fit_vol_floor = 0.01;
}

void cpo_surface_query_init(cpo_surface_query *q)
{
    memset(q, 0, sizeof *q);
    q->fwd = q->index = q->coin_px = NAN;
    q->right = CPO_RIGHT_NONE;
}

/* --- helpers ------------------------------------------------------------------- */

/* "BTC snapshot 2026-01-02T09:18:09.153Z" */
static void where(char *buf, size_t n, const char *und, int64_t t0)
{
    char ts[40];
    cpo_time_format(t0, ts, sizeof ts);
    snprintf(buf, n, "%s snapshot %s", und[0] ? und : "chain", ts);
}

static int pos_finite(double x)
{
    return x > 0.0 && x <= DBL_MAX;
}

/* Median of v[0..n-1] (sorted in place); NaN if n == 0. */
static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    gsl_sort(v, 1, n);
    return gsl_stats_median_from_sorted_data(v, 1, n);
}

typedef struct sort_row {
    int64_t expiry;
    double strike;
    int right;
    size_t row;
} sort_row;

static int cmp_row(const void *a, const void *b)
{
    const sort_row *x = a, *y = b;
    if (x->expiry != y->expiry)
        return x->expiry < y->expiry ? -1 : 1;
    if (x->strike != y->strike)
        return x->strike < y->strike ? -1 : 1;
    if (x->right != y->right)
        return x->right < y->right ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * Put-call parity forward of one expiry's rows r[0..n-1] (sorted by
 * strike, right: the call first): the strike whose call and put marks are
 * closest.  NaN if there is no such pair.
 */
static double parity_forward(const cpo_chain *ch, const sort_row *r, size_t n, int by_index,
                             double index0)
{
    double best = INFINITY, fwd = NAN;
    for (size_t a = 0; a < n; a++) {
        if (r[a].right != CPO_RIGHT_CALL)
            continue;
        size_t b = a + 1;
        while (b < n && r[b].strike == r[a].strike && r[b].right != CPO_RIGHT_PUT)
            b++;
        if (b >= n || r[b].strike != r[a].strike)
            continue;
        size_t ic = r[a].row, ip = r[b].row;
        double d = ch->mark_px[ic] - ch->mark_px[ip];
        double idx = pos_finite(ch->index_px[ic]) ? ch->index_px[ic]
                     : pos_finite(ch->index_px[ip]) ? ch->index_px[ip] : index0;
        if (!isfinite(d) || !(fabs(d) < best) || (by_index && !pos_finite(idx)) ||
            (!by_index && !(d < 1.0)))
            continue;
        double f = by_index ? r[a].strike + d * idx : r[a].strike / (1.0 - d);
        if (!pos_finite(f))
            continue;
        best = fabs(d);
        fwd = f;
    }
    return fwd;
}

/* The smile of expiry i at k: the points' interpolation, flat outside. */
static double smile(const cpo_surface *s, size_t i, double k)
{
    const double *x = s->k + s->off[i], *y = s->vol + s->off[i];
    size_t n = s->cnt[i];
    if (n == 1 || k <= x[0])
        return y[0];
    if (k >= x[n - 1])
        return y[n - 1];
    double v;
    if (gsl_interp_eval_e(s->interp[i], x, y, k, NULL, &v) != GSL_SUCCESS)
        return NAN;
    return v;
}

/* The fitted smile of expiry i at k: flat outside the points, floored. */
static double fit_smile(const cpo_surface *s, size_t i, double k)
{
    const double *x = s->k + s->off[i];
    size_t n = s->cnt[i];
    if (k < x[0])
        k = x[0];
    if (k > x[n - 1])
        k = x[n - 1];
    double v = s->c0[i] + k * (s->c1[i] + k * s->c2[i]);
    return v > s->opts.fit_vol_floor ? v : s->opts.fit_vol_floor;
}

static double eval_smile(const cpo_surface *s, size_t i, double k, int fit)
{
    return fit ? fit_smile(s, i, k) : smile(s, i, k);
}

/* sigma(k, T) from the smiles: linear total variance in T, flat outside. */
static double term(const cpo_surface *s, double k, double T, int fit)
{
    if (!(T > 0.0 && T <= DBL_MAX) || !isfinite(k))
        return NAN;
    size_t n = s->n_exp;
    if (T <= s->t[0])
        return eval_smile(s, 0, k, fit);
    if (T >= s->t[n - 1])
        return eval_smile(s, n - 1, k, fit);
    size_t lo = 0, hi = n - 1; /* t[lo] <= T < t[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->t[mid] <= T)
            lo = mid;
        else
            hi = mid;
    }
    if (T == s->t[lo])
        return eval_smile(s, lo, k, fit);
    double a = eval_smile(s, lo, k, fit), b = eval_smile(s, hi, k, fit);
    double wa = a * a * s->t[lo], wb = b * b * s->t[hi];
    double w = wa + (wb - wa) * (T - s->t[lo]) / (s->t[hi] - s->t[lo]);
    return sqrt(w / T);
}

double cpo_surface_vol_kt(const cpo_surface *s, double k, double t_years)
{
    return term(s, k, t_years, 0);
}

double cpo_surface_fit_vol_kt(const cpo_surface *s, double k, double t_years)
{
    return term(s, k, t_years, 1);
}

double cpo_surface_fwd(const cpo_surface *s, double T)
{
    if (!(T >= 0.0 && T <= DBL_MAX))
        return NAN;
    size_t n = s->n_exp;
    const double *t = s->t, *lf = s->lnfwd;
    if (T < t[0]) {
        if (!s->has_index)
            return s->fwd[0];
        return exp(s->ln_index + (lf[0] - s->ln_index) * (T / t[0]));
    }
    if (T >= t[n - 1]) {
        if (T == t[n - 1])
            return s->fwd[n - 1];
        double slope = 0.0;
        if (n >= 2)
            slope = (lf[n - 1] - lf[n - 2]) / (t[n - 1] - t[n - 2]);
        else if (s->has_index)
            slope = (lf[0] - s->ln_index) / t[0];
        return exp(lf[n - 1] + slope * (T - t[n - 1]));
    }
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] <= T)
            lo = mid;
        else
            hi = mid;
    }
    if (T == t[lo])
        return s->fwd[lo];
    return exp(lf[lo] + (lf[hi] - lf[lo]) * (T - t[lo]) / (t[hi] - t[lo]));
}

/* The close of the last bar of v known at t (ts + lag <= t, close
 * positive): 0, or CPO_ENOTFOUND. */
static int dvol_at(const cpo_ivindex *v, int64_t lag, int64_t t, double *val, int64_t *ts)
{
    if (!v || v->n == 0 || t < INT64_MIN + lag)
        return CPO_ENOTFOUND;
    int64_t lim = t - lag;
    size_t lo = cpo_ts_count_upto(v->ts, v->n, lim);
    while (lo > 0) {
        lo--;
        if (pos_finite(v->close[lo])) {
            *val = v->close[lo];
            *ts = v->ts[lo];
            return 0;
        }
    }
    return CPO_ENOTFOUND;
}

/* --- building -------------------------------------------------------------- */

void cpo_surface_free(cpo_surface *s)
{
    if (!s)
        return;
    if (s->interp)
        for (size_t i = 0; i < s->n_exp; i++)
            gsl_interp_free(s->interp[i]); /* NULL is a no-op */
    free(s->interp);
    free(s->expiry_ms);
    free(s->t);
    free(s->fwd);
    free(s->lnfwd);
    free(s->fsrc);
    free(s->off);
    free(s->cnt);
    free(s->c0);
    free(s->c1);
    free(s->c2);
    free(s->frms);
    free(s->k);
    free(s->vol);
    free(s->strike);
    free(s->right);
    free(s);
}

static int alloc_arrays(cpo_surface *s, size_t n_exp, size_t n_pts)
{
    size_t e = n_exp ? n_exp : 1, p = n_pts ? n_pts : 1;
    s->expiry_ms = calloc(e, sizeof *s->expiry_ms);
    s->t = calloc(e, sizeof(double));
    s->fwd = calloc(e, sizeof(double));
    s->lnfwd = calloc(e, sizeof(double));
    s->fsrc = calloc(e, sizeof *s->fsrc);
    s->off = calloc(e, sizeof(size_t));
    s->cnt = calloc(e, sizeof(size_t));
    s->interp = calloc(e, sizeof *s->interp);
    s->c0 = calloc(e, sizeof(double));
    s->c1 = calloc(e, sizeof(double));
    s->c2 = calloc(e, sizeof(double));
    s->frms = calloc(e, sizeof(double));
    s->k = calloc(p, sizeof(double));
    s->vol = calloc(p, sizeof(double));
    s->strike = calloc(p, sizeof(double));
    s->right = calloc(p, sizeof(int8_t));
    if (!s->expiry_ms || !s->t || !s->fwd || !s->lnfwd || !s->fsrc || !s->off || !s->cnt ||
        !s->interp || !s->c0 || !s->c1 || !s->c2 || !s->frms || !s->k || !s->vol ||
        !s->strike || !s->right)
        return CPO_ENOMEM;
    return 0;
}

/*
 * Fit expiry i: vol = c0 + c1 k + c2 k^2, vega-weighted (see the header).
 * X, y, w, c, cov, ws are scratch of at least cnt[i] rows and 3 columns.
 */
static int fit_expiry(cpo_surface *s, size_t i, double *xbuf, double *ybuf, double *wbuf,
                      gsl_multifit_linear_workspace *ws)
{
    size_t n = s->cnt[i], o = s->off[i];
    const double *k = s->k + o, *v = s->vol + o;
    double T = s->t[i];
    if (n == 1) {
        s->c0[i] = v[0];
        s->c1[i] = s->c2[i] = 0.0;
    } else if (n == 2) {
        s->c1[i] = (v[1] - v[0]) / (k[1] - k[0]);
        s->c0[i] = v[0] - s->c1[i] * k[0];
        s->c2[i] = 0.0;
    } else {
        for (size_t j = 0; j < n; j++) {
            double sd = v[j] * sqrt(T);
            double d1 = -k[j] / sd + 0.5 * sd;
            xbuf[3 * j] = 1.0;
            xbuf[3 * j + 1] = k[j];
            xbuf[3 * j + 2] = k[j] * k[j];
            ybuf[j] = v[j];
            wbuf[j] = exp(-0.5 * d1 * d1) + FIT_WING_WEIGHT;
        }
        gsl_matrix_view X = gsl_matrix_view_array(xbuf, n, 3);
        gsl_vector_view y = gsl_vector_view_array(ybuf, n);
        gsl_vector_view w = gsl_vector_view_array(wbuf, n);
        double cb[3], covb[9], chisq;
        gsl_vector_view c = gsl_vector_view_array(cb, 3);
        gsl_matrix_view cov = gsl_matrix_view_array(covb, 3, 3);
        int st = gsl_multifit_wlinear(&X.matrix, &w.vector, &y.vector, &c.vector, &cov.matrix,
                                      &chisq, ws);
        if (st != GSL_SUCCESS || !isfinite(cb[0]) || !isfinite(cb[1]) || !isfinite(cb[2]))
            return st != GSL_SUCCESS ? st : GSL_EFAILED;
        s->c0[i] = cb[0];
        s->c1[i] = cb[1];
        s->c2[i] = cb[2];
    }
    double ss = 0.0;
    for (size_t j = 0; j < n; j++) {
        double r = fit_smile(s, i, k[j]) - v[j];
        ss += r * r;
    }
    s->frms[i] = sqrt(ss / (double)n);
    return 0;
}

/* Count calendar-arbitrage violations between adjacent expiries. */
static void calendar_check(cpo_surface *s)
{
    cpo_surface_info *in = &s->info;
    for (size_t i = 0; i + 1 < s->n_exp; i++) {
        const double *ka = s->k + s->off[i], *kb = s->k + s->off[i + 1];
        size_t na = s->cnt[i], nb = s->cnt[i + 1];
        double lo = fmax(ka[0], kb[0]), hi = fmin(ka[na - 1], kb[nb - 1]);
        for (int side = 0; side < 2; side++) {
            const double *kk = side ? kb : ka;
            size_t nn = side ? nb : na;
            for (size_t j = 0; j < nn; j++) {
                if (kk[j] < lo || kk[j] > hi)
                    continue;
                double a = smile(s, i, kk[j]), b = smile(s, i + 1, kk[j]);
                double wa = a * a * s->t[i], wb = b * b * s->t[i + 1];
                in->calendar_checked++;
                if (wb < wa) {
                    in->calendar_violations++;
                    if (wa - wb > in->calendar_worst)
                        in->calendar_worst = wa - wb;
                }
            }
        }
    }
}

int cpo_surface_new(cpo_surface **out, const cpo_chain *ch, size_t begin, size_t end,
                    const cpo_surface_opts *o, cpo_error *err)
{
    cpo_surface *s = NULL;
    sort_row *rows = NULL;
    double *tmp = NULL, *xbuf = NULL;
    gsl_multifit_linear_workspace *ws = NULL;
    char at[96];
    int rc = 0;

    if (!out)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0, "no output pointer");
    *out = NULL;
    cpo_surface_opts opts;
    if (o)
        opts = *o;
    else
        cpo_surface_opts_init(&opts);
    if ((int)opts.mode < 0 || opts.mode >= CPO_SURFACE_MODE_COUNT)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "surface mode %d is not known (expected sticky_strike or "
                             "dvol_scaled)", (int)opts.mode);
    if (opts.mode == CPO_SURFACE_DVOL_SCALED && !opts.dvol)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "surface mode dvol_scaled needs a DVOL index (opts.dvol)");
    if (opts.dvol_known_after_ms < 0 || !(opts.fit_vol_floor >= 0.0) ||
        !(opts.fit_vol_floor <= DBL_MAX))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "surface options: dvol_known_after_ms %lld, fit_vol_floor %g "
                             "(expected both 0 or more)",
                             (long long)opts.dvol_known_after_ms, opts.fit_vol_floor);
    if (!ch || begin >= end || end > ch->n)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s snapshot: no rows (rows %zu..%zu of %zu; expected the rows "
                             "of one chain snapshot)",
                             ch && ch->underlying[0] ? ch->underlying : "chain", begin, end,
                             ch ? ch->n : (size_t)0);
    int64_t t0 = ch->ts[begin];
    where(at, sizeof at, ch->underlying, t0);
    for (size_t r = begin; r < end; r++)
        if (ch->ts[r] != t0) {
            char t1[40];
            cpo_time_format(ch->ts[r], t1, sizeof t1);
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "%s: row %zu (%s) is of snapshot %s (expected rows of one "
                                 "snapshot)", at, r, ch->name[r], t1);
        }

    size_t n = end - begin;
    s = calloc(1, sizeof *s);
    rows = calloc(n, sizeof *rows);
    tmp = calloc(n, sizeof *tmp);
    if (!s || !rows || !tmp) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto cleanup;
    }
    s->opts = opts;
    cpo_surface_info *in = &s->info;
    snprintf(in->underlying, sizeof in->underlying, "%s", ch->underlying);
    in->mode = opts.mode;
    in->snapshot_ms = t0;
    in->rows = n;
    in->dvol_ref = NAN;
    in->dvol_ref_ms = CPO_TIME_NONE;

    /* Rows: validate, drop the expired, collect the index. */
    size_t nr = 0, ni = 0;
    for (size_t r = begin; r < end; r++) {
        int right = ch->right[r];
        if (right != CPO_RIGHT_CALL && right != CPO_RIGHT_PUT) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: row %zu (%s): right %d is neither call nor put (expected "
                               "an option)", at, r, ch->name[r], right);
            goto cleanup;
        }
        if (!pos_finite(ch->strike[r])) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: row %zu (%s): strike %g is not positive (expected a "
                               "positive strike in USD)", at, r, ch->name[r], ch->strike[r]);
            goto cleanup;
        }
        if (!isnan(ch->fwd_px[r]) && !pos_finite(ch->fwd_px[r])) {
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: row %zu (%s): forward %g is not positive (expected a "
                               "positive forward in USD, or NaN if not known)",
                               at, r, ch->name[r], ch->fwd_px[r]);
            goto cleanup;
        }
        if (pos_finite(ch->index_px[r]))
            tmp[ni++] = ch->index_px[r];
        if (ch->expiry_ms[r] <= t0) {
            in->dropped_expired++;
            continue;
        }
        rows[nr].expiry = ch->expiry_ms[r];
        rows[nr].strike = ch->strike[r];
        rows[nr].right = right;
        rows[nr].row = r;
        nr++;
    }
    in->index = median(tmp, ni);
    s->has_index = pos_finite(in->index);
    s->ln_index = s->has_index ? log(in->index) : NAN;
    qsort(rows, nr, sizeof *rows, cmp_row);

    size_t n_grp = 0;
    for (size_t a = 0; a < nr; a++)
        if (a == 0 || rows[a].expiry != rows[a - 1].expiry)
            n_grp++;
    if ((rc = alloc_arrays(s, n_grp, nr)) != 0) {
        rc = cpo_error_set(err, rc, NULL, 0, 0, "out of memory");
        goto cleanup;
    }

    /* Per expiry: the forward, then the points. */
    size_t ne = 0, np = 0;
    for (size_t g0 = 0; g0 < nr;) {
        size_t g1 = g0 + 1;
        while (g1 < nr && rows[g1].expiry == rows[g0].expiry)
            g1++;
        int64_t E = rows[g0].expiry;
        size_t nf = 0;
        for (size_t a = g0; a < g1; a++)
            if (!isnan(ch->fwd_px[rows[a].row]))
                tmp[nf++] = ch->fwd_px[rows[a].row];
        cpo_surface_fwd_source src = CPO_SURFACE_FWD_ROWS;
        double F = median(tmp, nf);
        if (!pos_finite(F)) {
            src = CPO_SURFACE_FWD_PARITY;
            F = parity_forward(ch, rows + g0, g1 - g0, opts.parity_by_index, in->index);
        }
        if (!pos_finite(F)) {
            src = CPO_SURFACE_FWD_INDEX;
            F = in->index;
        }
        if (!pos_finite(F)) {
            char te[40];
            cpo_time_format(E, te, sizeof te);
            rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                               "%s: expiry %s has no forward (expected a futures price, a "
                               "call and put at one strike, or an index price)", at, te);
            goto cleanup;
        }
        size_t first = np;
        for (size_t a = g0; a < g1; a++) {
            size_t r = rows[a].row;
            double K = rows[a].strike;
            int otm = rows[a].right == CPO_RIGHT_CALL ? K >= F : K < F;
            if (!otm) {
                in->dropped_itm++;
                continue;
            }
            double iv = ch->mark_iv[r];
            if (!pos_finite(iv)) {
                in->dropped_no_iv++;
                continue;
            }
            if (ch->bid_px[r] > ch->ask_px[r]) { /* false if either is NaN */
                in->dropped_crossed++;
                continue;
            }
            double k = log(K / F);
            if (np > first && (s->strike[np - 1] == K || !(k > s->k[np - 1]))) {
                in->dropped_duplicate++;
                continue;
            }
            s->k[np] = k;
            s->vol[np] = iv;
            s->strike[np] = K;
            s->right[np] = (int8_t)rows[a].right;
            np++;
        }
        if (np == first) {
            in->expiries_empty++;
        } else {
            s->expiry_ms[ne] = E;
            s->t[ne] = (double)(E - t0) / YEAR_MS;
            s->fwd[ne] = F;
            s->lnfwd[ne] = log(F);
            s->fsrc[ne] = src;
            s->off[ne] = first;
            s->cnt[ne] = np - first;
            if (src == CPO_SURFACE_FWD_PARITY)
                in->fwd_parity++;
            else if (src == CPO_SURFACE_FWD_INDEX)
                in->fwd_index++;
            ne++;
        }
        g0 = g1;
    }
    s->n_exp = ne;
    s->n_pts = np;
    in->expiries = ne;
    in->points = np;
    if (np == 0) {
        rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                           "%s: no usable option among %zu rows (%zu expired, %zu in the "
                           "money, %zu without a positive mark IV, %zu crossed, %zu "
                           "duplicates; expected out-of-the-money options with a mark IV)",
                           at, n, in->dropped_expired, in->dropped_itm, in->dropped_no_iv,
                           in->dropped_crossed, in->dropped_duplicate);
        goto cleanup;
    }
    if (ne < opts.min_expiries) {
        rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                           "%s: %zu expir%s with usable options (expected at least %zu)", at,
                           ne, ne == 1 ? "y" : "ies", opts.min_expiries);
        goto cleanup;
    }

    /* The smiles. */
    size_t nmax = 0;
    for (size_t i = 0; i < ne; i++) {
        size_t c = s->cnt[i];
        if (c > nmax)
            nmax = c;
        if (c < 2)
            continue;
        const gsl_interp_type *ty = c >= 3 ? gsl_interp_steffen : gsl_interp_linear;
        s->interp[i] = gsl_interp_alloc(ty, c);
        if (!s->interp[i]) {
            rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
            goto cleanup;
        }
        int st = gsl_interp_init(s->interp[i], s->k + s->off[i], s->vol + s->off[i], c);
        if (st != GSL_SUCCESS) {
            rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                               "%s: interpolating the smile of expiry %zu failed (GSL: %s)",
                               at, i, gsl_strerror(st));
            goto cleanup;
        }
    }

    /* The fits. */
    if (nmax >= 3) {
        xbuf = malloc(5 * nmax * sizeof *xbuf); /* X (3 n), y (n), w (n) */
        ws = gsl_multifit_linear_alloc(nmax, 3);
        if (!xbuf || !ws) {
            rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
            goto cleanup;
        }
    }
    double ss = 0.0;
    for (size_t i = 0; i < ne; i++) {
        int st = fit_expiry(s, i, xbuf, xbuf + 3 * nmax, xbuf + 4 * nmax, ws);
        if (st) {
            rc = cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                               "%s: fitting the smile of expiry %zu failed (GSL: %s)", at, i,
                               gsl_strerror(st));
            goto cleanup;
        }
        ss += s->frms[i] * s->frms[i] * (double)s->cnt[i];
    }
    in->fit_rms = sqrt(ss / (double)np);

    calendar_check(s);

    if (opts.mode == CPO_SURFACE_DVOL_SCALED) {
        if (dvol_at(opts.dvol, opts.dvol_known_after_ms, t0, &in->dvol_ref, &in->dvol_ref_ms)) {
            rc = cpo_error_set(err, CPO_ENOTFOUND, NULL, 0, 0,
                               "%s: no %s value is known at the snapshot (expected a bar "
                               "with a positive close at least %lld ms before it)",
                               at, opts.dvol->name[0] ? opts.dvol->name : "DVOL",
                               (long long)opts.dvol_known_after_ms);
            in->dvol_ref = NAN;
            goto cleanup;
        }
    }
    *out = s;
    s = NULL;

cleanup:
    gsl_multifit_linear_free(ws);
    free(xbuf);
    free(tmp);
    free(rows);
    cpo_surface_free(s);
    return rc;
}

int cpo_surface_find_snapshot(const cpo_chain *ch, int64_t t_ms, size_t *begin, size_t *end)
{
    if (!ch || ch->n == 0)
        return CPO_ENOTFOUND;
    size_t e = cpo_ts_count_upto(ch->ts, ch->n, t_ms);
    if (e == 0)
        return CPO_ENOTFOUND;
    /* The rows of that snapshot: those stamped like the last one. */
    *begin = cpo_ts_count_before(ch->ts, e, ch->ts[e - 1]);
    *end = e;
    return 0;
}

const cpo_surface_info *cpo_surface_info_get(const cpo_surface *s)
{
    return &s->info;
}

size_t cpo_surface_n_expiries(const cpo_surface *s)
{
    return s->n_exp;
}

int cpo_surface_expiry_get(const cpo_surface *s, size_t i, cpo_surface_expiry *out)
{
    if (i >= s->n_exp)
        return CPO_ERANGE;
    size_t o = s->off[i];
    out->expiry_ms = s->expiry_ms[i];
    out->t_years = s->t[i];
    out->fwd = s->fwd[i];
    out->fwd_source = s->fsrc[i];
    out->n = s->cnt[i];
    out->k = s->k + o;
    out->vol = s->vol + o;
    out->strike = s->strike + o;
    out->right = s->right + o;
    out->atm = s->c0[i];
    out->skew = s->c0[i] != 0.0 ? s->c1[i] / s->c0[i] : NAN;
    out->curv = s->c0[i] != 0.0 ? s->c2[i] / s->c0[i] : NAN;
    out->fit_rms = s->frms[i];
    return 0;
}

/* --- queries ------------------------------------------------------------------- */

int cpo_surface_dvol_scale(const cpo_surface *s, int64_t t_ms, double *scale, int64_t *dvol_ms,
                           cpo_error *err)
{
    *scale = NAN;
    if (s->opts.mode != CPO_SURFACE_DVOL_SCALED)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s surface: DVOL scale asked of a sticky_strike surface "
                             "(expected mode dvol_scaled)", s->info.underlying);
    char at[96];
    if (t_ms < s->info.snapshot_ms) {
        char tq[40];
        where(at, sizeof at, s->info.underlying, s->info.snapshot_ms);
        cpo_time_format(t_ms, tq, sizeof tq);
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: query time %s is before the snapshot (expected a time at "
                             "or after it)", at, tq);
    }
    double d;
    int64_t ts;
    if (dvol_at(s->opts.dvol, s->opts.dvol_known_after_ms, t_ms, &d, &ts)) {
        char tq[40];
        where(at, sizeof at, s->info.underlying, s->info.snapshot_ms);
        cpo_time_format(t_ms, tq, sizeof tq);
        return cpo_error_set(err, CPO_ENOTFOUND, NULL, 0, 0,
                             "%s: no DVOL value is known at %s (expected a bar with a "
                             "positive close)", at, tq);
    }
    *scale = d / s->info.dvol_ref;
    if (dvol_ms)
        *dvol_ms = ts;
    return 0;
}

int cpo_surface_vol(const cpo_surface *s, const cpo_surface_query *q, double *vol,
                    cpo_error *err)
{
    *vol = NAN;
    char at[96];
    if (!pos_finite(q->strike) || q->t_ms < s->info.snapshot_ms || q->expiry_ms <= q->t_ms ||
        (s->opts.mode == CPO_SURFACE_DVOL_SCALED && !pos_finite(q->fwd))) {
        char tq[40], te[40];
        where(at, sizeof at, s->info.underlying, s->info.snapshot_ms);
        cpo_time_format(q->t_ms, tq, sizeof tq);
        cpo_time_format(q->expiry_ms, te, sizeof te);
        const char *what = !pos_finite(q->strike)             ? "the strike is not positive"
                           : q->t_ms < s->info.snapshot_ms    ? "the query is before the snapshot"
                           : q->expiry_ms <= q->t_ms          ? "the option has expired"
                                                              : "the forward is not positive";
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: option K %g expiring %s at %s with forward %g: %s (expected "
                             "K > 0, snapshot <= t < expiry%s)",
                             at, q->strike, te, tq, q->fwd, what,
                             s->opts.mode == CPO_SURFACE_DVOL_SCALED ? ", F > 0" : "");
    }
    double v;
    if (s->opts.mode == CPO_SURFACE_STICKY_STRIKE) {
        double T = (double)(q->expiry_ms - s->info.snapshot_ms) / YEAR_MS;
        double F0 = cpo_surface_fwd(s, T);
        v = term(s, log(q->strike / F0), T, 0);
    } else {
        double lam;
        int rc = cpo_surface_dvol_scale(s, q->t_ms, &lam, NULL, err);
        if (rc)
            return rc;
        double T = (double)(q->expiry_ms - q->t_ms) / YEAR_MS;
        v = lam * term(s, log(q->strike / q->fwd), T, 1);
    }
    if (!pos_finite(v)) {
        where(at, sizeof at, s->info.underlying, s->info.snapshot_ms);
        return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                             "%s: the surface gave vol %g at K %g (expected a positive vol)",
                             at, v, q->strike);
    }
    *vol = v;
    return 0;
}

int cpo_surface_price(const cpo_surface *s, const cpo_surface_query *q, cpo_surface_px *out,
                      cpo_error *err)
{
    out->vol = out->t_years = NAN;
    out->usd.price = out->usd.delta = out->usd.gamma = out->usd.vega = NAN;
    out->usd.theta = out->usd.rho = out->usd.vanna = out->usd.volga = NAN;
    out->coin.price = out->coin.delta = out->coin.gamma = out->coin.vega = NAN;
    out->coin.theta = out->coin.rho = out->coin.vanna = out->coin.volga = NAN;
    out->coin.delta_index = out->coin.gamma_index = out->coin.delta_account = NAN;
    if ((q->right != CPO_RIGHT_CALL && q->right != CPO_RIGHT_PUT) || !pos_finite(q->fwd) ||
        !pos_finite(q->index) || !pos_finite(q->coin_px) || !isfinite(q->rate)) {
        char at[96];
        where(at, sizeof at, s->info.underlying, s->info.snapshot_ms);
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: pricing K %g: right %d, forward %g, index %g, coin price %g, "
                             "rate %g (expected call or put, positive F, I and P, finite r)",
                             at, q->strike, q->right, q->fwd, q->index, q->coin_px, q->rate);
    }
    double vol;
    int rc = cpo_surface_vol(s, q, &vol, err);
    if (rc)
        return rc;
    cpo_black76_in bi = {q->fwd, q->strike, (double)(q->expiry_ms - q->t_ms) / YEAR_MS,
                         q->rate, vol, q->right};
    if (cpo_black76(&bi, &out->usd) ||
        cpo_black76_coin_greeks(&out->usd, q->fwd, q->index, q->coin_px, &out->coin))
        return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                             "%s surface: Black-76 refused K %g F %g T %g vol %g",
                             s->info.underlying, q->strike, q->fwd, bi.t_years, vol);
    out->vol = vol;
    out->t_years = bi.t_years;
    return 0;
}
