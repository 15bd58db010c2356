/*
 * compare.c - `cpo compare`: run folders side by side (see cpo/report.h).
 *
 * Only the files of the run folders are read; nothing is re-run.  Runs
 * must share the store (data sha256 of manifest.json) and the period
 * (first and last bar) unless align is asked for; then the comparison
 * covers the bars every run has (the intersection of their ledger times).
 *
 * Metrics over the compared bars are worked out here from ledger.csv, the
 * same way as the run's summary (simple returns per bar, the return of
 * the first bar measured from the equity before it, the capital for a
 * run's first bar; sample sd; 365-day year), so without align they equal
 * the summaries'.  The summaries' own numbers (whole runs) follow.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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

/* Metrics over the compared bars. */
typedef struct cmp_metrics {
    double total_return, annual_return, annual_volatility, sharpe, max_drawdown, final_equity;
    double start_equity;
} cmp_metrics;

static void metrics_of(const double *e, size_t nt, double base, double ppy, cmp_metrics *m)
{
    m->start_equity = base;
    m->final_equity = nt ? e[nt - 1] : base;
    m->total_return = m->final_equity / base - 1.0;
    double years = (double)nt / ppy;
    m->annual_return = m->final_equity > 0.0 && years > 0.0
                           ? pow(m->final_equity / base, 1.0 / years) - 1.0
                           : -1.0;
    double prev = base, sum = 0.0, peak = base, mdd = 0.0;
    for (size_t i = 0; i < nt; i++) {
        sum += e[i] / prev - 1.0;
        prev = e[i];
        if (e[i] > peak)
            peak = e[i];
        double dd = peak > 0.0 ? 1.0 - e[i] / peak : 0.0;
        if (dd > mdd)
            mdd = dd;
    }
    m->max_drawdown = mdd;
    m->annual_volatility = m->sharpe = NAN;
    if (nt >= 2) {
        double mean = sum / (double)nt, ss = 0.0;
        prev = base;
        for (size_t i = 0; i < nt; i++) {
            double r = e[i] / prev - 1.0;
            ss += (r - mean) * (r - mean);
            prev = e[i];
        }
        double sd = sqrt(ss / (double)(nt - 1));
        m->annual_volatility = sd * sqrt(ppy);
        m->sharpe = sd > 0.0 ? mean / sd * sqrt(ppy) : NAN;
    }
}

/* The summaries' scalar keys ("period.bars" for nested ones), first seen first. */
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

static int keys_of(keylist *l, const json_t *s)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)s, key, v)
    {
        if (json_is_array(v) || (rp_metric_skip(key) && strcmp(key, "period")))
            continue;
        if (json_is_object(v)) {
            const char *k2;
            const json_t *v2;
            json_object_foreach((json_t *)v, k2, v2)
            {
                if (json_is_object(v2) || json_is_array(v2))
                    continue;
                char full[256];
                snprintf(full, sizeof full, "%s.%s", key, k2);
                if (keys_add(l, full))
                    return -1;
            }
            continue;
        }
        if (keys_add(l, key))
            return -1;
    }
    return 0;
}

static const json_t *key_get(const json_t *s, const char *key)
{
    const char *dot = strchr(key, '.');
    if (!dot)
        return json_object_get(s, key);
    char a[256];
    snprintf(a, sizeof a, "%.*s", (int)(dot - key), key);
    return json_object_get(json_object_get(s, a), dot + 1);
}

/* --- the text table --------------------------------------------------------------------------- */

static void text_row(FILE *fp, const char *label, size_t lw, char cells[][64], size_t n, size_t w)
{
    fprintf(fp, "  %-*s", (int)lw, label);
    for (size_t k = 0; k < n; k++)
        fprintf(fp, " %*s", (int)w, cells[k]);
    fputc('\n', fp);
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

static int attr_diff(FILE *fp, rp_run *runs, size_t n, const char *const *labels, cpo_error *err)
{
    fputs("<section id=\"attribution\"><h2>Attribution: differences between the runs</h2>\n"
          "<p>The attribution tables of the run folders (whole runs, as in the files), each "
          "run's value and each run minus the first; n/a where a run has no such row.</p>\n", fp);
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
    size_t loaded = 0, nt = 0;
    int64_t *ts = NULL;
    long *idx = NULL;
    double *eq = NULL, *growth = NULL, *dd = NULL;
    cmp_metrics *cm = NULL;
    keylist keys = {0};
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
    cm = calloc(n, sizeof *cm);
    if (!idx || !eq || !growth || !dd || !cm) {
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
    for (size_t k = 0; k < n; k++) {
        const rp_run *r = &runs[k];
        for (size_t i = 0; i < nt; i++) {
            idx[k * nt + i] = rp_run_step(r, ts[i]);
            eq[k * nt + i] = r->equity[idx[k * nt + i]];
        }
        long first = idx[k * nt];
        double base = first > 0 ? r->equity[first - 1] : r->capital;
        metrics_of(&eq[k * nt], nt, base, ppy, &cm[k]);
        double peak = base;
        for (size_t i = 0; i < nt; i++) {
            double e = eq[k * nt + i];
            growth[k * nt + i] = e / base;
            if (e > peak)
                peak = e;
            dd[k * nt + i] = peak > 0.0 ? e / peak - 1.0 : NAN;
        }
    }
    for (size_t k = 0; k < n; k++)
        if (keys_of(&keys, runs[k].summary)) {
            rc = nomem(err);
            goto cleanup;
        }

    char p0[40], p1[40], bar_s[24];
    rp_iso(p0, sizeof p0, ts[0], 0);
    rp_iso(p1, sizeof p1, ts[nt - 1], 0);
    cpo_duration_format(bar, bar_s, sizeof bar_s);
    static const char *const cm_names[] = {"total_return", "annual_return", "annual_volatility",
                                           "sharpe", "max_drawdown", "final_equity"};
    /* The text table. */
    if (opts->table) {
        FILE *fp = opts->table;
        size_t w = 20, lw = 20; /* an ISO time is 20 characters */
        for (size_t k = 0; k < n; k++)
            if (strlen(dirs[k]) > w)
                w = strlen(dirs[k]);
        for (size_t i = 0; i < keys.n; i++)
            if (strlen(keys.k[i]) > lw)
                lw = strlen(keys.k[i]);
        if (w > 40)
            w = 40;
        if (lw > 40)
            lw = 40;
        fprintf(fp, "cpo compare: %zu runs, %s .. %s: %zu common bars of %s\n", n, p0, p1, nt,
                bar_s);
        if (diff_data)
            fprintf(fp, "  note: the runs are on different stores (--align)\n");
        if (diff_period)
            fprintf(fp, "  note: the periods differ; compared on the bars they share (--align)\n");
        char (*cells)[64] = calloc(n, sizeof *cells);
        if (!cells) {
            rc = nomem(err);
            goto cleanup;
        }
        for (size_t k = 0; k < n; k++) {
            const char *d = dirs[k];
            size_t len = strlen(d);
            snprintf(cells[k], sizeof cells[k], "%s", len > w ? d + len - w : d);
        }
        text_row(fp, "", lw, cells, n, w);
        fprintf(fp, "over the compared bars\n");
        for (size_t m = 0; m < 6; m++) {
            for (size_t k = 0; k < n; k++) {
                double x = m == 0 ? cm[k].total_return : m == 1 ? cm[k].annual_return
                         : m == 2 ? cm[k].annual_volatility : m == 3 ? cm[k].sharpe
                         : m == 4 ? -cm[k].max_drawdown : cm[k].final_equity;
                json_t *j = json_real(x);
                rp_fmt_metric(cells[k], sizeof cells[k], m == 4 ? "drawdown" : cm_names[m],
                              isfinite(x) ? j : json_null());
                json_decref(j);
            }
            char lab[64];
            snprintf(lab, sizeof lab, "%s", cm_names[m]);
            for (char *c = lab; *c; c++)
                if (*c == '_')
                    *c = ' ';
            text_row(fp, lab, lw, cells, n, w);
        }
        fprintf(fp, "as reported in summary.json (whole runs)\n");
        for (size_t i = 0; i < keys.n; i++) {
            for (size_t k = 0; k < n; k++) {
                rp_fmt_metric(cells[k], sizeof cells[k], keys.k[i], key_get(runs[k].summary, keys.k[i]));
                size_t len = strlen(cells[k]);
                if (len > w)
                    memmove(cells[k], cells[k] + len - w, w + 1);
            }
            char lab[64];
            snprintf(lab, sizeof lab, "%s", keys.k[i]);
            for (char *c = lab; *c; c++)
                if (*c == '_')
                    *c = ' ';
            text_row(fp, lab, lw, cells, n, w);
        }
        free(cells);
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
    rp_gnuplot g;
    rp_gnuplot_init(&g, &opts->report);
    rp_chart ch[2];
    memset(ch, 0, sizeof ch);
    if ((rc = rp_charts_compare(cdir, n, dirs, nt, ts, growth, dd, &g, ch, err)))
        goto cleanup;
    rp_info_add(info, ch, 2, &g);
    if ((rc = rp_out_open(&o, opts->out_dir, "compare.html", err)))
        goto cleanup;
    FILE *fp = o.fp;
    fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>cpo compare: %zu runs</title>\n<style>%s</style>\n</head>\n<body>\n"
            "<header><h1>Comparison of %zu runs</h1>\n<p>%s .. %s (bar opens): %zu common bars "
            "of %s, %.0f a year (365-day year)</p>\n</header>\n<main>\n",
            n, rp_css, n, p0, p1, nt, bar_s, ppy);
    if (g.looked && !g.found)
        fputs("<p class=\"warn\">gnuplot was not found on PATH: the charts are not drawn. charts/ "
              "holds their scripts (.gp) and data (.dat).</p>\n", fp);
    if (diff_data)
        fputs("<p class=\"note\">The runs are on different stores (compared with --align).</p>\n",
              fp);
    if (diff_period)
        fputs("<p class=\"note\">The periods differ: metrics and charts cover the bars every run "
              "has (--align); the summaries' numbers are for the whole runs.</p>\n", fp);
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
    fputs("<section id=\"metrics\"><h2>Metrics</h2>\n<table>\n<tr><th>metric</th>", fp);
    for (size_t k = 0; k < n; k++) {
        fputs("<th class=\"n\">", fp);
        rp_html(fp, dirs[k]);
        fputs("</th>", fp);
    }
    fprintf(fp, "</tr>\n<tr><th colspan=\"%zu\">over the compared bars (from ledger.csv)</th></tr>\n",
            n + 1);
    for (size_t m = 0; m < 6; m++) {
        fputs("<tr><td>", fp);
        for (const char *c = cm_names[m]; *c; c++)
            fputc(*c == '_' ? ' ' : *c, fp);
        fputs("</td>", fp);
        for (size_t k = 0; k < n; k++) {
            double x = m == 0 ? cm[k].total_return : m == 1 ? cm[k].annual_return
                     : m == 2 ? cm[k].annual_volatility : m == 3 ? cm[k].sharpe
                     : m == 4 ? -cm[k].max_drawdown : cm[k].final_equity;
            json_t *j = json_real(x);
            char b[64];
            rp_fmt_metric(b, sizeof b, m == 4 ? "drawdown" : cm_names[m], isfinite(x) ? j : json_null());
            json_decref(j);
            fputs("<td class=\"n\">", fp);
            rp_html(fp, b);
            fputs("</td>", fp);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n</section>\n<section id=\"charts\"><h2>Charts</h2>\n", fp);
    for (int k = 0; k < 2; k++)
        rp_html_chart(fp, &ch[k]);
    fputs("</section>\n<section id=\"summaries\"><h2>As reported in summary.json (whole runs)"
          "</h2>\n<table>\n<tr><th>metric</th>", fp);
    for (size_t k = 0; k < n; k++) {
        fputs("<th class=\"n\">", fp);
        rp_html(fp, dirs[k]);
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    for (size_t i = 0; i < keys.n; i++) {
        fputs("<tr><td>", fp);
        for (const char *c = keys.k[i]; *c; c++) {
            if (*c == '_')
                fputc(' ', fp);
            else {
                char one[2] = {*c, 0};
                rp_html(fp, one);
            }
        }
        fputs("</td>", fp);
        for (size_t k = 0; k < n; k++) {
            char b[256];
            rp_fmt_metric(b, sizeof b, keys.k[i], key_get(runs[k].summary, keys.k[i]));
            fputs("<td class=\"n\">", fp);
            rp_html(fp, b);
            fputs("</td>", fp);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n</section>\n", fp);
    if ((rc = attr_diff(fp, runs, n, dirs, err)))
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
    free(runs);
    free(ts);
    free(idx);
    free(eq);
    free(growth);
    free(dd);
    free(cm);
    keys_free(&keys);
    return rc;
}
