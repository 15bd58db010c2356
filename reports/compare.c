/*
 * compare.c - `cpo compare`: run folders side by side (see cpo/report.h).
 *
 * Only the files of the run folders are read; nothing is re-run.  Runs
 * must share the store (data sha256 of manifest.json) and the period
 * (first and last bar) unless align is asked for; then the comparison
 * covers the bars every run has (the intersection of their ledger times).
 *
 * One table, each metric once, one sign convention: the returns, risk and
 * benchmark metrics over the compared bars, computed from ledger.csv by
 * cpo_metrics_compute (the wealth path: the equity before the first
 * compared bar, the capital for a run's first bar, then the equity after
 * each compared bar; so without align they equal the summaries'); the P&L
 * lines summed over the compared bars from ledger.csv (P&L: costs
 * negative); the trading counts of the summaries (whole runs, said so when
 * the periods differ).  Drawdowns, VaR and CVaR are negative percentages
 * everywhere.  The better value of a row is marked (higher or lower as
 * the row says; rows without a direction are not marked).
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cpo/metrics.h"
#include "cpo/time.h"
#include "outfile.h"
#include "report_priv.h"

void cpo_compare_opts_init(cpo_compare_opts *o)
{
    memset(o, 0, sizeof *o);
    cpo_report_opts_init(&o->report);
}

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

static const char *data_sha(const rp_run *r)
{
    const json_t *d = json_object_get(r->manifest, "data");
    const json_t *s = json_object_get(d, "sha256");
    return json_is_string(s) ? json_string_value(s) : "";
}

/* mkdir -p */
static int make_dirs(const char *dir, cpo_error *err)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected < 1024 bytes)");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        struct stat st;
        if (stat(p, &st) != 0) {
            int rc = rp_mkdir(p, err);
            if (rc)
                return rc;
        }
        *s = '/';
    }
    return rp_mkdir(p, err);
}

/* A list of distinct strings, first seen first. */
typedef struct keylist {
    size_t n;
    char **k;
} keylist;

static int keys_add(keylist *l, const char *k)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->k[i], k))
            return 0;
    char **q = realloc(l->k, (l->n + 1) * sizeof *q);
    if (!q)
        return -1;
    l->k = q;
    if (!(q[l->n] = strdup(k)))
        return -1;
    l->n++;
    return 0;
}

static void keys_free(keylist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->k[i]);
    free(l->k);
}

/* --- the rows of the table ------------------------------------------------------------ */

enum { K_PCT = 0, K_RATIO, K_MONEY, K_DAYS, K_COUNT };

/* The metrics computed over the compared bars (cpo_metrics_compute). */
static const struct {
    const char *key, *label;
    int kind, better, bench;
} metric_rows[] = {
    {"cumulative_return", "total return", K_PCT, 1, 0},
    {"cagr", "CAGR", K_PCT, 1, 0},
    {"annual_volatility", "volatility, annual", K_PCT, -1, 0},
    {"sharpe", "Sharpe", K_RATIO, 1, 0},
    {"sortino", "Sortino", K_RATIO, 1, 0},
    {"calmar", "Calmar", K_RATIO, 1, 0},
    {"max_drawdown", "max drawdown", K_PCT, 1, 0},
    {"max_drawdown_days", "max drawdown, peak to recovery (days)", K_DAYS, -1, 0},
    {"omega", "Omega", K_RATIO, 1, 0},
    {"tail_ratio", "tail ratio", K_RATIO, 1, 0},
    {"stability", "stability", K_RATIO, 1, 0},
    {"var", "VaR (5 %, a bar)", K_PCT, 1, 0},
    {"cvar", "CVaR (5 %, a bar)", K_PCT, 1, 0},
    {"hit_rate", "bars up / bars moved", K_PCT, 1, 0},
    {"beta", "beta to the benchmark", K_RATIO, 0, 1},
    {"alpha", "alpha to the benchmark, annual", K_PCT, 1, 1},
    {"final_equity", "final equity", K_MONEY, 1, 0},
};
#define N_METRIC_ROWS (sizeof metric_rows / sizeof metric_rows[0])

/* The summaries' counts of trading (whole runs). */
static const struct {
    const char *key, *label;
    int kind, better;
} summary_rows[] = {
    {"trades", "fills", K_COUNT, 0},
    {"rebalances", "rebalances", K_COUNT, 0},
    {"metrics.turnover_annual", "turnover, annual", K_PCT, 0},
    {"metrics.leverage_mean", "gross leverage, mean", K_RATIO, 0},
    {"metrics.round_trips", "round trips", K_COUNT, 0},
    {"metrics.hit_rate_round_trips", "round trips won", K_PCT, 1},
    {"liquidations", "liquidations", K_COUNT, -1},
};
#define N_SUMMARY_ROWS (sizeof summary_rows / sizeof summary_rows[0])

static double metric_of(const cpo_metrics *m, const char *key, double final)
{
    static const struct {
        const char *key;
        size_t off;
    } f[] = {
#define F(x) {#x, offsetof(cpo_metrics, x)}
        F(cumulative_return), F(cagr), F(annual_volatility), F(sharpe), F(sortino), F(calmar),
        F(max_drawdown), F(omega), F(tail_ratio), F(stability), F(var), F(cvar), F(hit_rate),
        F(beta), F(alpha),
#undef F
    };
    if (!strcmp(key, "final_equity"))
        return final;
    if (!strcmp(key, "max_drawdown_days"))
        return m->max_dd.duration_days;
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        if (!strcmp(f[k].key, key))
            return *(const double *)(const void *)((const char *)m + f[k].off);
    return NAN;
}

/* "metrics.round_trips" style keys of a summary. */
static const json_t *key_get(const json_t *s, const char *key)
{
    const char *dot = strchr(key, '.');
    if (!dot)
        return json_object_get(s, key);
    char a[256];
    snprintf(a, sizeof a, "%.*s", (int)(dot - key), key);
    return json_object_get(json_object_get(s, a), dot + 1);
}

static void fmt_cell(char *b, size_t n, int kind, double x)
{
    if (!isfinite(x))
        snprintf(b, n, "n/a");
    else if (kind == K_PCT)
        rp_fmt_pct(b, n, x);
    else if (kind == K_MONEY)
        rp_fmt_money(b, n, x, 2);
    else if (kind == K_DAYS)
        snprintf(b, n, "%.1f", x);
    else if (kind == K_COUNT)
        snprintf(b, n, "%.0f", x);
    else
        snprintf(b, n, "%.3f", x);
}

/* The table: rows x runs, values and the marks of the better ones. */
typedef struct cmp_row {
    char label[112];
    int kind, better;
} cmp_row;

typedef struct cmp_table {
    size_t nrow, nrun, cap;
    cmp_row *row;
    double *v;            /* [nrow * nrun] */
    int *best;            /* [nrow * nrun] */
} cmp_table;

static void table_free(cmp_table *t)
{
    free(t->row);
    free(t->v);
    free(t->best);
}

/* A row; v[0..nrun) its values.  -1 when out of memory. */
static int table_add(cmp_table *t, const char *label, int kind, int better, const double *v)
{
    if (t->nrow == t->cap) {
        size_t c = t->cap ? 2 * t->cap : 32;
        cmp_row *r = realloc(t->row, c * sizeof *r);
        if (r)
            t->row = r;
        double *x = r ? realloc(t->v, c * t->nrun * sizeof *x) : NULL;
        if (x)
            t->v = x;
        int *b = x ? realloc(t->best, c * t->nrun * sizeof *b) : NULL;
        if (b)
            t->best = b;
        if (!b)
            return -1;
        t->cap = c;
    }
    cmp_row *r = &t->row[t->nrow];
    snprintf(r->label, sizeof r->label, "%s", label);
    r->kind = kind;
    r->better = better;
    double *x = &t->v[t->nrow * t->nrun];
    int *b = &t->best[t->nrow * t->nrun];
    memcpy(x, v, t->nrun * sizeof *x);
    /* The better value: the highest (lowest) of the finite ones, when at
     * least two are finite and they are not all equal. */
    size_t finite = 0;
    double top = NAN, low = NAN;
    for (size_t k = 0; k < t->nrun; k++) {
        b[k] = 0;
        if (!isfinite(x[k]))
            continue;
        finite++;
        if (isnan(top) || (better > 0 ? x[k] > top : x[k] < top))
            top = x[k];
        if (isnan(low) || (better > 0 ? x[k] < low : x[k] > low))
            low = x[k];
    }
    for (size_t k = 0; better && finite >= 2 && top != low && k < t->nrun; k++)
        b[k] = isfinite(x[k]) && x[k] == top;
    t->nrow++;
    return 0;
}

/* --- per run over the compared bars ------------------------------------------------------- */

typedef struct cmp_run {
    cpo_metrics m;
    double base, final;
    int has_metrics;
} cmp_run;

/* The metrics of run k over the common bars: its wealth path (the equity
 * before the first compared bar, then after each), stamped with the bar
 * opens (the start one bar before the first). */
static int run_metrics(const rp_run *r, const long *idx, size_t nt, const int64_t *ts,
                       int64_t bar, double ppy, cmp_run *out, cpo_error *err)
{
    long first = idx[0];
    out->base = first > 0 ? r->equity[first - 1] : r->capital;
    out->final = r->equity[idx[nt - 1]];
    if (!(isfinite(out->base) && out->base > 0.0))
        return 0; /* no wealth path to measure: the row shows n/a */
    double *w = malloc((nt + 1) * (sizeof *w + sizeof(int64_t)) + nt * sizeof(double));
    if (!w)
        return nomem(err);
    int64_t *tw = (int64_t *)(void *)(w + nt + 1);
    double *b = (double *)(void *)(tw + nt + 1);
    w[0] = out->base;
    tw[0] = ts[0] - bar;
    for (size_t i = 0; i < nt; i++) {
        w[i + 1] = r->equity[idx[i]];
        tw[i + 1] = ts[i];
        b[i] = r->has_bench ? r->bench_ret[idx[i]] : NAN;
    }
    cpo_metrics_input in = {.n = nt, .equity = w, .ts_ms = tw, .bench = r->has_bench ? b : NULL};
    cpo_metrics_opts o;
    cpo_metrics_opts_init(&o);
    o.periods_per_year = ppy;
    int rc = cpo_metrics_compute(&out->m, &in, &o, err);
    free(w);
    if (rc == CPO_EINVAL)
        return 0;
    out->has_metrics = rc == 0;
    return rc;
}

/* The rolling Sharpe ratio of the compared equity (30 days of bars):
 * sh[i] for i >= w - 1, NaN before; w into *win. */
static void rolling_sharpe(const double *eq, double base, size_t nt, double ppy, size_t w,
                           double *sh)
{
    for (size_t i = 0; i < nt; i++) {
        sh[i] = NAN;
        if (i + 1 < w)
            continue;
        double m = 0.0, ss = 0.0;
        int ok = 1;
        for (size_t k = i + 1 - w; k <= i && ok; k++) {
            double p = k ? eq[k - 1] : base, x = p > 0.0 ? eq[k] / p - 1.0 : NAN;
            ok = isfinite(x);
            m += x;
        }
        if (!ok)
            continue;
        m /= (double)w;
        for (size_t k = i + 1 - w; k <= i; k++) {
            double p = k ? eq[k - 1] : base, x = eq[k] / p - 1.0;
            ss += (x - m) * (x - m);
        }
        double sd = sqrt(ss / (double)(w - 1));
        sh[i] = sd > 0.0 ? m / sd * sqrt(ppy) : NAN;
    }
}

/* --- attribution as bars --------------------------------------------------------------------- */

#define MAX_BAR_KEYS 12

/*
 * The parts of an attribution file of a run as (key, value): by asset,
 * each instrument's contribution (its lines summed); by factor, the full
 * model's terms (linked); by Greek, each line's P&L at the last step.
 */
static int attr_parts(const rp_run *r, int which, keylist *keys, double **val, cpo_error *err)
{
    const rp_attr *a = &r->attr[which];
    const rp_table *t = &a->t;
    *val = NULL;
    if (!a->present || t->nrow == 0)
        return 0;
    double *v = malloc((t->ncol + t->nrow + 1) * sizeof *v);
    if (!v)
        return nomem(err);
    *val = v;
    if (which == RP_ATTR_GREEK) {
        int ctot = rp_table_col(t, "cum_total");
        for (size_t c = 0; c < t->ncol; c++) {
            if ((int)c == ctot || strncmp(t->name[c], "cum_", 4) || t->is_text[c])
                continue;
            if (keys_add(keys, t->name[c] + 4))
                return nomem(err);
            v[keys->n - 1] = t->num[(t->nrow - 1) * t->ncol + c];
        }
        return 0;
    }
    int ck = rp_table_col(t, "kind"), cm = rp_table_col(t, "model");
    int ckey = rp_table_col(t, which == RP_ATTR_ASSET ? "instrument" : "term");
    int cv = rp_table_col(t, which == RP_ATTR_ASSET ? "contribution" : "linked");
    if (cv < 0)
        cv = rp_table_col(t, "contribution");
    if (ck < 0 || ckey < 0 || cv < 0)
        return 0;
    for (size_t i = 0; i < t->nrow; i++) {
        const char *const *f = (const char *const *)t->text + i * t->ncol;
        if (strcmp(f[ck], "part") || (which == RP_ATTR_FACTOR && cm >= 0 && strcmp(f[cm], "full")))
            continue;
        size_t before = keys->n;
        if (keys_add(keys, f[ckey]))
            return nomem(err);
        size_t at = 0;
        while (strcmp(keys->k[at], f[ckey]))
            at++;
        if (keys->n > before)
            v[at] = 0.0;
        double x = t->num[i * t->ncol + (size_t)cv];
        if (!isnan(x))
            v[at] += x;
    }
    return 0;
}

/* The bars of one attribution file across the runs (nothing when fewer
 * than two runs have it). */
static int attr_bars(rp_run *runs, size_t n, int which, rp_bars *b, cpo_error *err)
{
    static const char *const name[] = {[RP_ATTR_ASSET] = "attribution_asset",
                                       [RP_ATTR_FACTOR] = "attribution_factor",
                                       [RP_ATTR_GREEK] = "attribution_greek"};
    static const char *const title[] = {
        [RP_ATTR_ASSET] = "Contribution to the return by instrument (attribution_asset.csv, "
                          "whole runs)",
        [RP_ATTR_FACTOR] = "Factor attribution, full model, linked (attribution_factor.csv, "
                           "whole runs)",
        [RP_ATTR_GREEK] = "P&L by line of the Greek attribution (attribution_greek.csv, whole "
                          "runs)"};
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name[which]);
    snprintf(b->title, sizeof b->title, "%s", title[which]);
    b->pct = which != RP_ATTR_GREEK;
    keylist all = {0};
    keylist *per = calloc(n, sizeof *per);
    double **val = calloc(n, sizeof *val);
    int rc = 0;
    size_t have = 0;
    if (!per || !val) {
        rc = nomem(err);
        goto out;
    }
    for (size_t k = 0; k < n && !rc; k++) {
        if ((rc = attr_parts(&runs[k], which, &per[k], &val[k], err)))
            break;
        have += per[k].n > 0;
        for (size_t i = 0; !rc && i < per[k].n; i++)
            if (keys_add(&all, per[k].k[i]))
                rc = nomem(err);
    }
    if (rc || have < 2 || all.n == 0)
        goto out;
    /* The keys with the largest values somewhere, at most MAX_BAR_KEYS. */
    size_t nk = all.n < MAX_BAR_KEYS ? all.n : MAX_BAR_KEYS;
    double *mat = malloc(all.n * n * sizeof *mat);
    double *size = malloc(all.n * sizeof *size);
    b->key = malloc(nk * sizeof *b->key);
    if (!mat || !size || !b->key) {
        free(mat);
        free(size);
        rc = nomem(err);
        goto out;
    }
    for (size_t i = 0; i < all.n; i++) {
        size[i] = 0.0;
        for (size_t k = 0; k < n; k++) {
            double x = NAN;
            for (size_t j = 0; j < per[k].n; j++)
                if (!strcmp(per[k].k[j], all.k[i]))
                    x = val[k][j];
            mat[k * all.n + i] = x;
            if (isfinite(x))
                size[i] = fmax(size[i], fabs(x));
        }
    }
    b->v = malloc(n * nk * sizeof *b->v);
    if (!b->v) {
        free(mat);
        free(size);
        rc = nomem(err);
        goto out;
    }
    /* The largest first (ties: first seen); keys that are 0 in every run left out. */
    size_t nz = 0;
    for (size_t i = 0; i < all.n; i++)
        nz += size[i] > 0.0;
    if (nk > nz)
        nk = nz;
    for (size_t j = 0; j < nk; j++) {
        size_t best = 0;
        for (size_t i = 1; i < all.n; i++)
            if (size[i] > size[best])
                best = i;
        snprintf(b->key[j], sizeof b->key[0], "%s", all.k[best]);
        for (size_t k = 0; k < n; k++)
            b->v[k * nk + j] = mat[k * all.n + best];
        size[best] = -1.0;
    }
    b->nkey = nk;
    if (nz > nk)
        snprintf(b->note, sizeof b->note, "the %zu largest of %zu, by their largest value", nk,
                 nz);
    free(mat);
    free(size);
out:
    for (size_t k = 0; per && k < n; k++)
        keys_free(&per[k]);
    for (size_t k = 0; val && k < n; k++)
        free(val[k]);
    free(per);
    free(val);
    keys_free(&all);
    return rc;
}

/* --- attribution differences --------------------------------------------------------------- */

/* The value of row key, column val of a view; NaN if it has none. */
static double view_value(const rp_attr_view *v, const char *key, const char *val)
{
    for (size_t r = 0; r < v->nkey; r++)
        if (!strcmp(v->key[r], key))
            for (size_t q = 0; q < v->nval; q++)
                if (!strcmp(v->val[q], val))
                    return v->v[r * v->nval + q];
    return NAN;
}

#define MAX_DIFF_VALS 6
#define MAX_DIFF_ROWS 60

/* The columns a difference table shows: contribution and linked where
 * the file has them, else its first value column. */
static int diff_col(const char *name, const rp_attr_view *v)
{
    static const char *const pref[] = {"contribution", "linked", "value", "total"};
    int any = 0;
    for (size_t p = 0; p < sizeof pref / sizeof pref[0]; p++)
        for (size_t q = 0; q < v->nval; q++)
            if (!strcasecmp(v->val[q], pref[p])) {
                any = 1;
                if (!strcasecmp(name, pref[p]))
                    return 1;
            }
    return !any && v->nval && !strcmp(name, v->val[0]);
}

static int attr_diff(FILE *fp, rp_run *runs, size_t n, const char *const *labels,
                     const rp_chart *ch, size_t nch, cpo_error *err)
{
    fputs("<section id=\"attribution\"><h2>Attribution: differences between the runs</h2>\n"
          "<p>The attribution tables of the run folders (whole runs, as in the files): the "
          "parts side by side as bars, then each run's value and each run minus the first; "
          "n/a where a run has no such row.</p>\n", fp);
    if (nch) {
        fputs("<div class=\"grid\">\n", fp);
        for (size_t k = 0; k < nch; k++)
            rp_html_chart(fp, &ch[k]);
        fputs("</div>\n", fp);
    }
    static const int files[] = {RP_ATTR_ASSET, RP_ATTR_RISK, RP_ATTR_FACTOR, RP_ATTR_GREEK};
    int rc = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        int a = files[f];
        size_t have = 0;
        for (size_t k = 0; k < n; k++)
            have += runs[k].attr[a].present && runs[k].attr[a].tcol < 0;
        if (have == 0 && a == RP_ATTR_GREEK)
            continue;
        fputs("<h3>", fp);
        rp_html(fp, runs[0].attr[a].title);
        fputs("</h3>\n", fp);
        if (have < 2) {
            fputs("<p class=\"note\">", fp);
            rp_html(fp, runs[0].attr[a].file);
            fprintf(fp, " is in %zu of the %zu runs: no difference to show.</p>\n", have, n);
            continue;
        }
        rp_attr_view *v = calloc(n, sizeof *v);
        if (!v)
            return nomem(err);
        keylist keys = {0}, vals = {0};
        for (size_t k = 0; k < n && !rc; k++) {
            if (!runs[k].attr[a].present || runs[k].attr[a].tcol >= 0)
                continue;
            rc = rp_attr_view_make(&runs[k].attr[a], &v[k], err);
            for (size_t i = 0; !rc && i < v[k].nkey; i++)
                if (keys_add(&keys, v[k].key[i]))
                    rc = nomem(err);
            for (size_t i = 0; !rc && i < v[k].nval; i++)
                if (diff_col(v[k].val[i], &v[k]) && keys_add(&vals, v[k].val[i]))
                    rc = nomem(err);
        }
        for (size_t c = 0; !rc && c < vals.n && c < MAX_DIFF_VALS; c++) {
            fputs("<table>\n<tr><th>", fp);
            rp_html(fp, vals.k[c]);
            fputs("</th>", fp);
            for (size_t k = 0; k < n; k++) {
                fputs("<th class=\"n\">", fp);
                rp_html(fp, labels[k]);
                fputs("</th>", fp);
            }
            for (size_t k = 1; k < n; k++) {
                fputs("<th class=\"n\">", fp);
                rp_html(fp, labels[k]);
                fputs(" − ", fp);
                rp_html(fp, labels[0]);
                fputs("</th>", fp);
            }
            fputs("</tr>\n", fp);
            for (size_t i = 0; i < keys.n && i < MAX_DIFF_ROWS; i++) {
                int role = rp_attr_key_role(keys.k[i]);
                for (size_t k = 0; k < n; k++)
                    for (size_t r = 0; r < v[k].nkey; r++)
                        if (!strcmp(v[k].key[r], keys.k[i]))
                            role = v[k].role[r];
                fprintf(fp, "<tr%s><td>", role == RP_ROLE_TOTAL ? " class=\"total\""
                                          : role == RP_ROLE_PART || role == RP_ROLE_OTHER
                                              ? ""
                                              : " class=\"check\"");
                rp_html(fp, keys.k[i]);
                fputs("</td>", fp);
                double x0 = view_value(&v[0], keys.k[i], vals.k[c]);
                for (size_t k = 0; k < 2 * n - 1; k++) {
                    double x = view_value(&v[k < n ? k : k - n + 1], keys.k[i], vals.k[c]);
                    char b[64];
                    rp_fmt_gen(b, sizeof b, k < n ? x : x - x0);
                    fprintf(fp, "<td class=\"n\">%s</td>", b);
                }
                fputs("</tr>\n", fp);
            }
            fputs("</table>\n", fp);
            if (keys.n > MAX_DIFF_ROWS)
                fprintf(fp, "<p>… %zu more rows in the files.</p>\n", keys.n - MAX_DIFF_ROWS);
        }
        for (size_t k = 0; k < n; k++)
            rp_attr_view_free(&v[k]);
        free(v);
        keys_free(&keys);
        keys_free(&vals);
        if (rc)
            return rc;
    }
    fputs("</section>\n", fp);
    return 0;
}

/* --- the build -------------------------------------------------------------------------------- */

/* The table as text: a column per run, "*" after the better value. */
static void text_table(FILE *fp, const cmp_table *t, const char *const *dirs, size_t n)
{
    size_t w = 12, lw = 20;
    for (size_t k = 0; k < n; k++)
        if (strlen(dirs[k]) > w)
            w = strlen(dirs[k]);
    for (size_t i = 0; i < t->nrow; i++)
        if (strlen(t->row[i].label) > lw)
            lw = strlen(t->row[i].label);
    w = w > 40 ? 40 : w;
    lw = lw > 60 ? 60 : lw;
    fprintf(fp, "  %-*s", (int)lw, "");
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(dirs[k]);
        fprintf(fp, " %*s ", (int)w, len > w ? dirs[k] + len - w : dirs[k]);
    }
    fputs("  better\n", fp);
    for (size_t i = 0; i < t->nrow; i++) {
        const cmp_row *r = &t->row[i];
        fprintf(fp, "  %-*s", (int)lw, r->label);
        for (size_t k = 0; k < n; k++) {
            char b[64];
            fmt_cell(b, sizeof b, r->kind, t->v[i * n + k]);
            fprintf(fp, " %*s%c", (int)w, b, t->best[i * n + k] ? '*' : ' ');
        }
        fprintf(fp, "  %s\n", r->better > 0 ? "higher" : r->better < 0 ? "lower" : "");
    }
}

static void html_table(FILE *fp, const cmp_table *t, const char *const *dirs, size_t n,
                       int diff_period)
{
    fputs("<section id=\"metrics\"><h2>Metrics</h2>\n<p>One row a metric. Returns, risk and the "
          "P&amp;L lines are over the compared bars (ledger.csv, the metrics of cpo metrics); "
          "drawdowns, VaR and CVaR are negative percentages, costs are P&amp;L (negative: paid). "
          "The better value of a row is marked; rows without a direction are not.", fp);
    if (diff_period)
        fputs(" Rows marked “whole run” are the summaries' own, over each run's full period.", fp);
    fputs("</p>\n<table>\n<tr><th>metric</th>", fp);
    for (size_t k = 0; k < n; k++) {
        fputs("<th class=\"n\">", fp);
        rp_html(fp, dirs[k]);
        fputs("</th>", fp);
    }
    fputs("<th>better</th></tr>\n", fp);
    for (size_t i = 0; i < t->nrow; i++) {
        const cmp_row *r = &t->row[i];
        fputs("<tr>", fp);
        rp_td_text(fp, r->label);
        for (size_t k = 0; k < n; k++) {
            char b[64];
            fmt_cell(b, sizeof b, r->kind, t->v[i * n + k]);
            fprintf(fp, "<td class=\"n%s\">", t->best[i * n + k] ? " best" : "");
            rp_html(fp, b);
            fputs("</td>", fp);
        }
        rp_td_text(fp, r->better > 0 ? "higher" : r->better < 0 ? "lower" : "");
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n</section>\n", fp);
}

int cpo_compare_build(const char *const *dirs, size_t n, const cpo_compare_opts *opts,
                      cpo_report_info *info, cpo_error *err)
{
    cpo_compare_opts def;
    if (!opts) {
        cpo_compare_opts_init(&def);
        opts = &def;
    }
    if (info)
        memset(info, 0, sizeof *info);
    if (n < 2)
        return cpo_error_set(err, CPO_EUSAGE, NULL, 0, 0,
                             "%zu run folder (expected two or more to compare)", n);
    int rc = 0;
    rp_run *runs = calloc(n, sizeof *runs);
    size_t loaded = 0, nt = 0, nbars = 0;
    int64_t *ts = NULL;
    long *idx = NULL;
    double *eq = NULL, *growth = NULL, *dd = NULL, *sh = NULL, *row = NULL;
    cmp_run *cm = NULL;
    cmp_table tab = {0};
    rp_bars bars[3];
    memset(bars, 0, sizeof bars);
    rp_out o = {0};
    int diff_data = 0, diff_period = 0;
    cpo_dirlock lock;
    cpo_dirlock_init(&lock);
    if (!runs)
        return nomem(err);
    /* One writer per folder: an output folder that is there is locked
     * before any work (a new one once it is made, below). */
    struct stat st;
    if (opts->out_dir && stat(opts->out_dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        (rc = cpo_dirlock_take(&lock, opts->out_dir, err)))
        goto cleanup;
    for (; loaded < n; loaded++) {
        if ((rc = rp_run_load(&runs[loaded], dirs[loaded], err)))
            goto cleanup;
        if (!runs[loaded].manifest) {
            rc = cpo_error_set(err, CPO_ENOTFOUND, dirs[loaded], 0, 0,
                               "no manifest.json (expected a run folder written by cpo run)");
            loaded++;
            goto cleanup;
        }
        if (runs[loaded].n == 0) {
            rc = cpo_error_set(err, CPO_EDATA, dirs[loaded], 0, 0,
                               "ledger.csv has no rows (expected a run with at least one bar)");
            loaded++;
            goto cleanup;
        }
    }
    /* Same store, same period, or --align. */
    for (size_t k = 1; k < n; k++) {
        const char *a = data_sha(&runs[0]), *b = data_sha(&runs[k]);
        if (strcmp(a, b)) {
            diff_data = 1;
            if (!opts->align) {
                rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                   "%s vs %s: different data (store sha256 %.12s... vs %.12s...) "
                                   "(expected runs on the same store, or --align)",
                                   dirs[0], dirs[k], a, b);
                goto cleanup;
            }
        }
    }
    for (size_t k = 1; k < n; k++) {
        const rp_run *a = &runs[0], *b = &runs[k];
        if (a->ts[0] != b->ts[0] || a->ts[a->n - 1] != b->ts[b->n - 1] || a->n != b->n) {
            diff_period = 1;
            if (!opts->align) {
                char a0[40], a1[40], b0[40], b1[40];
                rp_iso(a0, sizeof a0, a->ts[0], 0);
                rp_iso(a1, sizeof a1, a->ts[a->n - 1], 0);
                rp_iso(b0, sizeof b0, b->ts[0], 0);
                rp_iso(b1, sizeof b1, b->ts[b->n - 1], 0);
                rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                                   "%s vs %s: different periods (%s .. %s, %zu bars vs %s .. %s, "
                                   "%zu bars) (expected runs over the same period, or --align)",
                                   dirs[0], dirs[k], a0, a1, a->n, b0, b1, b->n);
                goto cleanup;
            }
        }
    }
    /* The common bars. */
    ts = malloc(runs[0].n * sizeof *ts);
    if (!ts) {
        rc = nomem(err);
        goto cleanup;
    }
    for (size_t t = 0; t < runs[0].n; t++) {
        int all = 1;
        for (size_t k = 1; k < n && all; k++)
            all = rp_run_step(&runs[k], runs[0].ts[t]) >= 0;
        if (all)
            ts[nt++] = runs[0].ts[t];
    }
    if (nt == 0) {
        rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0, "%s vs %s: no bar in common (expected "
                           "overlapping periods on the same time grid)", dirs[0], dirs[1]);
        goto cleanup;
    }
    idx = malloc(n * nt * sizeof *idx);
    eq = malloc(n * nt * sizeof *eq);
    growth = malloc(n * nt * sizeof *growth);
    dd = malloc(n * nt * sizeof *dd);
    sh = malloc(n * nt * sizeof *sh);
    row = malloc(n * sizeof *row);
    cm = calloc(n, sizeof *cm);
    if (!idx || !eq || !growth || !dd || !sh || !row || !cm) {
        rc = nomem(err);
        goto cleanup;
    }
    int64_t bar = 0;
    for (size_t i = 1; i < nt; i++)
        if (bar == 0 || ts[i] - ts[i - 1] < bar)
            bar = ts[i] - ts[i - 1];
    if (bar <= 0)
        bar = runs[0].bar_ms;
    double ppy = (double)(365 * CPO_MS_DAY) / (double)bar;
    size_t win = (size_t)llround((double)(30 * CPO_MS_DAY) / (double)bar);
    win = win < 2 ? 2 : win;
    int any_bench = 0;
    for (size_t k = 0; k < n; k++) {
        const rp_run *r = &runs[k];
        for (size_t i = 0; i < nt; i++) {
            idx[k * nt + i] = rp_run_step(r, ts[i]);
            eq[k * nt + i] = r->equity[idx[k * nt + i]];
        }
        if ((rc = run_metrics(r, &idx[k * nt], nt, ts, bar, ppy, &cm[k], err)))
            goto cleanup;
        any_bench |= r->has_bench;
        double base = cm[k].base, peak = base;
        for (size_t i = 0; i < nt; i++) {
            double e = eq[k * nt + i];
            growth[k * nt + i] = base > 0.0 ? e / base : NAN;
            if (e > peak)
                peak = e;
            dd[k * nt + i] = peak > 0.0 ? e / peak - 1.0 : NAN;
        }
        rolling_sharpe(&eq[k * nt], base, nt, ppy, win, &sh[k * nt]);
    }

    /* The table. */
    tab.nrun = n;
    for (size_t m = 0; m < N_METRIC_ROWS; m++) {
        if (metric_rows[m].bench && !any_bench)
            continue;
        for (size_t k = 0; k < n; k++)
            row[k] = cm[k].has_metrics ? metric_of(&cm[k].m, metric_rows[m].key, cm[k].final)
                   : !strcmp(metric_rows[m].key, "final_equity") ? cm[k].final : NAN;
        char lab[112];
        snprintf(lab, sizeof lab, "%s", metric_rows[m].label);
        if (metric_rows[m].bench) {
            /* Name the benchmark when the runs share one. */
            const char *b0 = runs[0].bench;
            int same = 1;
            for (size_t k = 1; k < n; k++)
                same &= !strcmp(runs[k].bench, b0);
            if (same && b0[0])
                snprintf(lab, sizeof lab, "%s %s%s", !strcmp(metric_rows[m].key, "beta")
                         ? "beta to" : "alpha to", b0, strcmp(metric_rows[m].key, "beta")
                         ? ", annual" : "");
        }
        if (table_add(&tab, lab, metric_rows[m].kind, metric_rows[m].better, row)) {
            rc = nomem(err);
            goto cleanup;
        }
    }
    /* The P&L lines over the compared bars, those not 0 in every run. */
    const char *names[RP_MAX_PNL];
    keylist lines = {0};
    for (size_t k = 0; k < n && !rc; k++) {
        size_t nl = rp_pnl_lines(&runs[k], names, RP_MAX_PNL);
        for (size_t l = 0; l < nl && !rc; l++)
            if (rp_ledger_col(&runs[k], names[l]) >= 0 && keys_add(&lines, names[l]))
                rc = nomem(err);
    }
    for (size_t l = 0; !rc && l < lines.n; l++) {
        int nonzero = 0;
        for (size_t k = 0; k < n; k++) {
            int c = rp_ledger_col(&runs[k], lines.k[l]);
            double s = c >= 0 ? 0.0 : NAN;
            for (size_t i = 0; c >= 0 && i < nt; i++) {
                double x = rp_ledger(&runs[k], c, (size_t)idx[k * nt + i]);
                if (!isnan(x))
                    s += x;
            }
            row[k] = s;
            nonzero |= s != 0.0 && !isnan(s);
        }
        char lab[112];
        snprintf(lab, sizeof lab, "P&L: %s", lines.k[l]);
        /* More P&L is better, but for the engine's residual (rounding). */
        if (nonzero && table_add(&tab, lab, K_MONEY, strcmp(lines.k[l], "residual") ? 1 : 0, row))
            rc = nomem(err);
    }
    keys_free(&lines);
    if (rc)
        goto cleanup;
    for (size_t m = 0; m < N_SUMMARY_ROWS; m++) {
        int any = 0;
        for (size_t k = 0; k < n; k++) {
            const json_t *v = key_get(runs[k].summary, summary_rows[m].key);
            row[k] = json_is_number(v) ? json_number_value(v) : NAN;
            any |= v != NULL;
        }
        if (!any)
            continue;
        char lab[112];
        snprintf(lab, sizeof lab, "%s%s", summary_rows[m].label, diff_period ? " (whole run)" : "");
        if (table_add(&tab, lab, summary_rows[m].kind, summary_rows[m].better, row)) {
            rc = nomem(err);
            goto cleanup;
        }
    }

    char p0[40], p1[40], bar_s[24];
    rp_iso(p0, sizeof p0, ts[0], 0);
    rp_iso(p1, sizeof p1, ts[nt - 1], 0);
    cpo_duration_format(bar, bar_s, sizeof bar_s);
    if (opts->table) {
        FILE *fp = opts->table;
        fprintf(fp, "cpo compare: %zu runs, %s .. %s: %zu common bars of %s\n", n, p0, p1, nt,
                bar_s);
        if (diff_data)
            fprintf(fp, "  note: the runs are on different stores (--align)\n");
        if (diff_period)
            fprintf(fp, "  note: the periods differ; compared on the bars they share (--align)\n");
        text_table(fp, &tab, dirs, n);
        fputs("  (* the better value of the row; drawdowns, VaR and CVaR are negative, costs are "
              "P&L)\n", fp);
        fflush(fp);
    }
    if (!opts->out_dir)
        goto cleanup;

    /* compare.html and charts/, one writer at a time (outfile.h). */
    if ((rc = make_dirs(opts->out_dir, err)) ||
        (lock.fd < 0 && (rc = cpo_dirlock_take(&lock, opts->out_dir, err))))
        goto cleanup;
    char cdir[1200];
    if (snprintf(cdir, sizeof cdir, "%s/charts", opts->out_dir) >= (int)sizeof cdir) {
        rc = cpo_error_set(err, CPO_ERANGE, opts->out_dir, 0, 0, "path too long (expected < 1024 "
                           "bytes)");
        goto cleanup;
    }
    static const int attr_files[] = {RP_ATTR_ASSET, RP_ATTR_FACTOR, RP_ATTR_GREEK};
    for (size_t f = 0; f < 3; f++) {
        if ((rc = attr_bars(runs, n, attr_files[f], &bars[nbars], err)))
            goto cleanup;
        if (bars[nbars].nkey)
            nbars++;
        else
            rp_bars_free(&bars[nbars]);
    }
    rp_gnuplot g;
    rp_gnuplot_init(&g, &opts->report);
    rp_chart ch[3 + 3];
    memset(ch, 0, sizeof ch);
    if ((rc = rp_charts_compare(cdir, n, dirs, nt, ts, growth, dd, sh, win, bars, nbars, &g, ch,
                                err)))
        goto cleanup;
    rp_info_add(info, ch, 3 + nbars, &g);
    if ((rc = rp_out_open(&o, opts->out_dir, "compare.html", err)))
        goto cleanup;
    FILE *fp = o.fp;
    fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>cpo compare: %zu runs</title>\n<style>%s</style>\n</head>\n<body>\n"
            "<header><h1>Comparison of %zu runs</h1>\n<p>%s .. %s (bar opens): %zu common bars "
            "of %s, %.0f a year (365-day year)</p>\n</header>\n<main>\n",
            n, rp_css, n, p0, p1, nt, bar_s, ppy);
    fputs("<nav id=\"contents\"><h2>Contents</h2>\n<ol>\n<li><a href=\"#runs\">Runs</a></li>\n"
          "<li><a href=\"#metrics\">Metrics</a></li>\n<li><a href=\"#charts\">Charts</a></li>\n"
          "<li><a href=\"#attribution\">Attribution</a></li>\n</ol>\n</nav>\n", fp);
    if (g.looked && !g.found)
        fputs("<p class=\"warn\">gnuplot was not found on PATH: the charts are not drawn. charts/ "
              "holds their scripts (.gp) and data (.dat).</p>\n", fp);
    if (diff_data)
        fputs("<p class=\"note\">The runs are on different stores (compared with --align).</p>\n",
              fp);
    if (diff_period)
        fputs("<p class=\"note\">The periods differ: metrics and charts cover the bars every run "
              "has (--align); rows marked “whole run” are the summaries' own.</p>\n", fp);
    fputs("<section id=\"runs\"><h2>Runs</h2>\n<table>\n<tr><th>run folder</th><th>config</th>"
          "<th>period (bar opens)</th><th class=\"n\">bars</th><th>store sha256</th></tr>\n", fp);
    for (size_t k = 0; k < n; k++) {
        const rp_run *r = &runs[k];
        const json_t *c = json_object_get(r->summary, "config");
        char a[40], b[40];
        rp_iso(a, sizeof a, r->ts[0], 0);
        rp_iso(b, sizeof b, r->ts[r->n - 1], 0);
        fputs("<tr><td>", fp);
        rp_html(fp, dirs[k]);
        fputs("</td><td>", fp);
        rp_html(fp, json_is_string(c) ? json_string_value(c) : "");
        fprintf(fp, "</td><td>%s .. %s</td><td class=\"n\">%zu</td><td class=\"mono\">", a, b, r->n);
        rp_html(fp, data_sha(r));
        fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n</section>\n", fp);
    html_table(fp, &tab, dirs, n, diff_period);
    fputs("<section id=\"charts\"><h2>Charts</h2>\n<div class=\"grid\">\n", fp);
    for (size_t k = 0; k < 3; k++)
        rp_html_chart(fp, &ch[k]);
    fputs("</div>\n</section>\n", fp);
    if ((rc = attr_diff(fp, runs, n, dirs, ch + 3, nbars, err)))
        goto cleanup;
    fputs("<footer>Made by cpo compare from the files of the run folders (nothing re-run; no "
          "script, no external resource).</footer>\n</main>\n</body>\n</html>\n", fp);

cleanup:
    if (o.fp) {
        int rc2 = rp_out_close(&o, rc == 0, err);
        if (!rc)
            rc = rc2;
    }
    cpo_dirlock_release(&lock);
    for (size_t k = 0; k < loaded; k++)
        rp_run_free(&runs[k]);
    for (size_t k = 0; k < 3; k++)
        rp_bars_free(&bars[k]);
    free(runs);
    free(ts);
    free(idx);
    free(eq);
    free(growth);
    free(dd);
    free(sh);
    free(row);
    free(cm);
    table_free(&tab);
    return rc;
}
