/*
 * sweep_out.c - the files of a sweep: the leaderboard as CSV and as one
 * self-contained HTML table, the heatmap of a two-key grid (data, gnuplot
 * script, and the PNG when gnuplot is on PATH), and the walk-forward
 * report.  Every file is written to NAME.tmp.<pid>, and the files of a
 * call are renamed together once they are all whole (a full disk leaves
 * none of them under its final name); gnuplot then draws heatmap.png.  No
 * time or host is recorded, so the same records give the same bytes.
 */
#define _DEFAULT_SOURCE
#include "cpo/sweep.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpo/run.h"
#include "cpo/time.h"
#include "csvwrite.h"
#include "outfile.h"
#include "report_priv.h"

/* Every file a sweep can make (removed when stale after --force). */
static const char *const out_files[] = {
    "leaderboard.csv", "leaderboard.html", "heatmap.dat",     "heatmap.gp",
    "heatmap.png",     "walkforward.csv",  "oos_equity.csv", "oos_summary.csv",
    "summary.json",    "cpcv.csv",         "cpcv_paths.csv"};
#define N_OUT_FILES (sizeof out_files / sizeof out_files[0])

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

/* --- the folder ------------------------------------------------------------ */

static int make_dirs(const char *dir, cpo_error *err)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected < 1024 bytes)");
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return cpo_error_set(err, CPO_EIO, p, 0, 0, "cannot create the folder: %s",
                                 strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return cpo_error_set(err, CPO_EIO, p, 0, 0, "cannot create the folder: %s", strerror(errno));
    return 0;
}

int cpo_sweep_out_prepare(const cpo_sweep_out *o, cpo_error *err)
{
    struct stat st;
    if (stat(o->dir, &st) == 0) {
        if (!o->force)
            return cpo_error_set(err, CPO_EEXIST, o->dir, 0, 0,
                                 "the sweep folder already exists (expected -o NEW_DIR or --force)");
        if (!S_ISDIR(st.st_mode))
            return cpo_error_set(err, CPO_EEXIST, o->dir, 0, 0,
                                 "exists and is not a folder (expected a folder for the sweep)");
        return 0;
    }
    return make_dirs(o->dir, err);
}

/* Remove the files of an earlier sweep this one did not make. */
static void tidy(const cpo_sweep_out *o, const char *const *keep, size_t n_keep)
{
    for (size_t f = 0; f < N_OUT_FILES; f++) {
        int kept = 0;
        for (size_t k = 0; k < n_keep; k++)
            kept |= !strcmp(out_files[f], keep[k]);
        if (kept)
            continue;
        char p[1100];
        snprintf(p, sizeof p, "%s/%s", o->dir, out_files[f]);
        unlink(p);
    }
}

/* --- the files of a call, written whole and renamed together --------------- */

typedef struct ofile {
    char fin[1100], tmp[1130];
    FILE *fp;
} ofile;

static int of_open(ofile *f, const cpo_sweep_out *o, const char *name, cpo_error *err)
{
    f->fp = NULL;
    if (snprintf(f->fin, sizeof f->fin, "%s/%s", o->dir, name) >= (int)sizeof f->fin ||
        cpo_tmp_path(f->tmp, sizeof f->tmp, f->fin) != 0)
        return cpo_error_set(err, CPO_ERANGE, o->dir, 0, 0, "path too long (expected < 1024 bytes)");
    if (!(f->fp = fopen(f->tmp, "wb")))
        return cpo_error_set(err, CPO_EIO, f->tmp, 0, 0,
                             "cannot create: %s (expected a writable folder)", strerror(errno));
    return 0;
}

/* Close: a whole file waits under its temporary name for files_commit;
 * one that is not is removed. */
static int of_close(ofile *f, int rc, cpo_error *err)
{
    if (!f->fp)
        return rc;
    int bad = ferror(f->fp);
    errno = 0;
    if (fclose(f->fp) != 0)
        bad = 1;
    f->fp = NULL;
    if (!rc && bad)
        rc = cpo_error_set(err, CPO_EIO, f->tmp, 0, 0,
                           "cannot write: %s (expected a writable folder with free space)",
                           strerror(errno ? errno : EIO));
    if (rc)
        unlink(f->tmp);
    return rc;
}

/* The temporary name of dir/name (outfile.h); -1 if too long. */
static int tmp_of(const cpo_sweep_out *o, const char *name, char *fin, size_t nf, char *tmp,
                  size_t nt)
{
    if (snprintf(fin, nf, "%s/%s", o->dir, name) >= (int)nf)
        return -1;
    return cpo_tmp_path(tmp, nt, fin);
}

/* A call failed: remove the temporary files it made. */
static void files_drop(const cpo_sweep_out *o)
{
    for (size_t f = 0; f < N_OUT_FILES; f++) {
        char fin[1100], tmp[1130];
        if (!tmp_of(o, out_files[f], fin, sizeof fin, tmp, sizeof tmp))
            unlink(tmp);
    }
}

/* Every file of a call is whole: rename them all. */
static int files_commit(const cpo_sweep_out *o, cpo_error *err)
{
    for (size_t f = 0; f < N_OUT_FILES; f++) {
        char fin[1100], tmp[1130];
        if (tmp_of(o, out_files[f], fin, sizeof fin, tmp, sizeof tmp) || access(tmp, F_OK))
            continue;
        if (rename(tmp, fin) != 0) {
            int rc = cpo_error_set(err, CPO_EIO, fin, 0, 0, "cannot rename %s: %s", tmp,
                                   strerror(errno));
            files_drop(o);
            return rc;
        }
    }
    return 0;
}

static void put_num(FILE *fp, double x)
{
    char b[40];
    cpo_fmt_double(b, sizeof b, x);
    fputs(b, fp);
}

/* A CSV field, quoted when it needs to be. */
static void put_csv(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void put_html(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* A gnuplot single-quoted string: no escapes but '' for a quote. */
static void put_gp(FILE *fp, const char *s)
{
    fputc('\'', fp);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', fp);
        if (*s != '\n' && *s != '\r')
            fputc(*s, fp);
    }
    fputc('\'', fp);
}

static void put_time(FILE *fp, int64_t t)
{
    char b[40];
    cpo_time_format(t, b, sizeof b);
    fputs(b, fp);
}

/* --- the metrics of a record ------------------------------------------------ */

typedef struct metric {
    const char *name;
    int is_count;
} metric;

static const metric metrics[] = {
    {"total_return", 0}, {"cagr", 0},       {"annual_vol", 0},   {"sharpe", 0},
    {"max_drawdown", 0}, {"calmar", 0},     {"final_equity", 0}, {"fees", 0},
    {"slippage", 0},     {"funding", 0},    {"avg_gross", 0},    {"steps", 1},
    {"trades", 1},       {"rebalances", 1}, {"liquidations", 1}};
#define N_METRICS (sizeof metrics / sizeof metrics[0])

static double metric_value(const cpo_sweep_result *r, size_t k)
{
    switch (k) {
    case 0: return r->total_return;
    case 1: return r->cagr;
    case 2: return r->annual_vol;
    case 3: return r->sharpe;
    case 4: return r->max_drawdown;
    case 5: return r->calmar;
    case 6: return r->final_equity;
    case 7: return r->fees;
    case 8: return r->slippage;
    case 9: return r->funding;
    case 10: return r->avg_gross;
    case 11: return (double)r->n_steps;
    case 12: return (double)r->n_trades;
    case 13: return (double)r->n_rebalances;
    default: return (double)r->n_liquidations;
    }
}

/* The metric an objective ranks by, as reported (not negated). */
static double objective_value(const cpo_sweep_result *r, cpo_objective o)
{
    if (r->status || !r->done)
        return NAN;
    switch (o) {
    case CPO_OBJ_MAX_DRAWDOWN: return r->max_drawdown;
    case CPO_OBJ_VOLATILITY: return r->annual_vol;
    default: return cpo_sweep_score(r, o);
    }
}

static void put_metrics_csv(FILE *fp, const cpo_sweep_result *r)
{
    for (size_t k = 0; k < N_METRICS; k++) {
        fputc(',', fp);
        if (r->status || !r->done)
            continue;
        if (metrics[k].is_count)
            fprintf(fp, "%llu", (unsigned long long)metric_value(r, k));
        else
            put_num(fp, metric_value(r, k));
    }
}

/* --- leaderboard ------------------------------------------------------------ */

void cpo_sweep_put_leaderboard(FILE *fp, const cpo_sweep *sw, const cpo_sweep_result *res,
                               const size_t *order, const double *dsr)
{
    fputs("rank,point", fp);
    for (size_t a = 0; a < sw->n_axes; a++) {
        fputc(',', fp);
        put_csv(fp, sw->axes[a].name);
    }
    for (size_t k = 0; k < N_METRICS; k++)
        fprintf(fp, ",%s", metrics[k].name);
    fputs(",skew,kurtosis,dsr,gross_return,gross_cagr,error\n", fp);
    for (size_t i = 0; i < sw->n_points; i++) {
        const cpo_sweep_result *r = &res[order[i]];
        fprintf(fp, "%zu,%zu", i + 1, order[i]);
        for (size_t a = 0; a < sw->n_axes; a++) {
            fputc(',', fp);
            put_csv(fp, cpo_sweep_value(sw, order[i], a));
        }
        put_metrics_csv(fp, r);
        double extra[5] = {r->skew, r->kurtosis, dsr ? dsr[order[i]] : NAN, r->gross_return,
                           r->gross_cagr};
        for (int k = 0; k < 5; k++) {
            fputc(',', fp);
            if (!r->status && r->done)
                put_num(fp, extra[k]);
        }
        fputc(',', fp);
        put_csv(fp, r->status ? r->error : r->done ? "" : "not run");
        fputc('\n', fp);
    }
}

static int write_csv(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_sweep_result *res,
                     const size_t *order, const double *dsr, cpo_error *err)
{
    ofile f;
    int rc = of_open(&f, o, "leaderboard.csv", err);
    if (rc)
        return rc;
    cpo_sweep_put_leaderboard(f.fp, sw, res, order, dsr);
    return of_close(&f, 0, err);
}

static void html_num(FILE *fp, double x, int pct)
{
    if (!isfinite(x))
        fputs(isnan(x) ? "&ndash;" : x > 0 ? "inf" : "-inf", fp);
    else if (pct)
        fprintf(fp, "%.2f%%", x * 100.0 == 0.0 ? 0.0 : x * 100.0);
    else
        fprintf(fp, "%.6g", x == 0.0 ? 0.0 : x);
}

/* The overfitting paragraph of the page (and its wording for the console). */
static void html_overfit(FILE *fp, const cpo_sweep *sw, const cpo_sweep_overfit *ov,
                         const cpo_cpcv *cp)
{
    fputs("<table class=\"of\">\n", fp);
    fprintf(fp, "<tr><th>chosen point</th><td>%zu (", ov->chosen);
    for (size_t a = 0; a < sw->n_axes; a++) {
        if (a)
            fputs(", ", fp);
        put_html(fp, sw->axes[a].name);
        fputc('=', fp);
        put_html(fp, cpo_sweep_value(sw, ov->chosen, a));
    }
    fputs(")</td></tr>\n<tr><th>deflated Sharpe ratio</th><td>", fp);
    html_num(fp, ov->dsr.dsr, 0);
    fputs(" (probability that its true Sharpe ratio beats the best of ", fp);
    fprintf(fp, "%zu trials by luck: SR0 = ", ov->n_trials);
    html_num(fp, ov->dsr.sr0, 0);
    fputs(" a bar, from the variance ", fp);
    html_num(fp, ov->var_sharpe, 0);
    fputs(" of the trials' Sharpe ratios; Bailey &amp; L&oacute;pez de Prado 2014)</td></tr>\n"
          "<tr><th>probabilistic Sharpe ratio (vs 0)</th><td>",
          fp);
    html_num(fp, ov->psr0, 0);
    fputs("</td></tr>\n<tr><th>probability of backtest overfitting</th><td>", fp);
    if (ov->has_pbo) {
        html_num(fp, ov->pbo.pbo, 0);
        fprintf(fp, " (CSCV: %zu blocks, %zu splits; median logit ", ov->pbo.n_blocks,
                ov->pbo.n_splits);
        html_num(fp, ov->pbo.logit_median, 0);
        fputs(", out-of-sample loss in ", fp);
        html_num(fp, ov->pbo.prob_oos_loss, 1);
        fputs(" of splits; Bailey, Borwein, L&oacute;pez de Prado &amp; Zhu 2015)", fp);
    } else if (cp && cp->n_splits) {
        html_num(fp, cp->pbo, 0);
        fprintf(fp, " (CPCV: the chosen point ranks at or below the median on the test groups "
                    "in this fraction of %zu splits)",
                cp->n_splits);
    } else {
        fputs("&ndash; (", fp);
        put_html(fp, ov->pbo_note);
        fputc(')', fp);
    }
    fputs("</td></tr>\n", fp);
    if (cp && cp->n_splits) {
        fprintf(fp, "<tr><th>CPCV paths</th><td>%zu groups, %zu tested a split: %zu splits, %zu "
                    "paths; purge %zu, embargo %zu bars; path Sharpe mean ",
                cp->n_groups, cp->k, cp->n_splits, cp->n_paths, cp->purge_steps,
                cp->embargo_steps);
        html_num(fp, cp->path_sharpe_mean, 0);
        fputs(", sd ", fp);
        html_num(fp, cp->path_sharpe_sd, 0);
        fputs(", min ", fp);
        html_num(fp, cp->path_sharpe_min, 0);
        fputs(", max ", fp);
        html_num(fp, cp->path_sharpe_max, 0);
        fputs(" (cpcv.csv, cpcv_paths.csv)</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
}

/* The chosen point's run folder (DIR/best/), its small report on the page. */
#define BEST_DIR "best"

/*
 * leaderboard.html, the sweep's page: the chosen point (the best by the
 * objective) and its small report (key figures and charts of the run
 * folder best/ when it was made), the heatmap of a two-key grid, the
 * leaderboard, and the overfitting statistics (html_overfit).  Drawdowns
 * are shown as negative percentages (the CSV keeps the positive fraction).
 */
static int write_html(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_sweep_result *res,
                      const size_t *order, const double *dsr, const cpo_sweep_overfit *ov,
                      const cpo_cpcv *cp, int best_made, int heat_png, cpo_error *err)
{
    ofile f;
    int rc = of_open(&f, o, "leaderboard.html", err);
    if (rc)
        return rc;
    FILE *fp = f.fp;
    size_t failed = 0;
    for (size_t i = 0; i < sw->n_points; i++)
        failed += res[i].status != 0 || !res[i].done;
    int heat = sw->n_axes == 2;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>cpo sweep: ", fp);
    rp_html(fp, sw->cfg->stem);
    fprintf(fp, "</title>\n<style>%s"
            "table.lb th,table.lb td{white-space:nowrap}"
            "table.lb th.obj,table.lb td.obj{background:#fff6d5;font-weight:bold}"
            "table.lb td.v{font-family:'DejaVu Sans Mono',monospace}"
            "table.lb tr.best td{background:#e5f5e5}table.lb tr.err td{color:#a00}"
            "table.of th{text-align:left}table.of td{text-align:left}"
            "</style>\n</head>\n<body>\n<header><h1>Sweep: ", rp_css);
    rp_html(fp, sw->cfg->path);
    fprintf(fp, "</h1>\n<p>%zu points", sw->n_points);
    if (failed)
        fprintf(fp, " (%zu failed)", failed);
    fprintf(fp, ", ranked by %s (%s first; ties by point)</p>\n</header>\n<main>\n",
            cpo_objective_name(o->objective),
            o->objective == CPO_OBJ_MAX_DRAWDOWN || o->objective == CPO_OBJ_VOLATILITY ? "lowest"
                                                                                      : "highest");
    fputs("<nav id=\"contents\"><h2>Contents</h2>\n<ol>\n<li><a href=\"#best\">The chosen point"
          "</a></li>\n", fp);
    if (heat)
        fputs("<li><a href=\"#heatmap\">Heatmap</a></li>\n", fp);
    fputs("<li><a href=\"#leaderboard\">Leaderboard</a></li>\n<li><a href=\"#overfitting\">"
          "Overfitting</a></li>\n</ol>\n</nav>\n", fp);
    /* The chosen point. */
    const cpo_sweep_result *top = sw->n_points ? &res[order[0]] : NULL;
    fputs("<section id=\"best\"><h2>The chosen point</h2>\n", fp);
    if (!top || top->status || !top->done) {
        fputs("<p class=\"note\">No point ran: nothing to choose.</p>\n", fp);
    } else {
        fprintf(fp, "<p>Point %zu, the best by %s:", order[0], cpo_objective_name(o->objective));
        for (size_t a = 0; a < sw->n_axes; a++) {
            fputs(a ? ", <code>" : " <code>", fp);
            rp_html(fp, sw->axes[a].name);
            fputs(" = ", fp);
            rp_html(fp, cpo_sweep_value(sw, order[0], a));
            fputs("</code>", fp);
        }
        fputs(". Its backtest again, as cpo run makes it, in " BEST_DIR "/.</p>\n", fp);
        if (best_made) {
            char dir[1200];
            snprintf(dir, sizeof dir, "%s/" BEST_DIR, o->dir);
            if ((rc = rp_html_brief(fp, dir, BEST_DIR, err)))
                return of_close(&f, rc, err);
        } else {
            fputs("<p class=\"note\">Its run folder was not made (the sweep was asked for the "
                  "leaderboard only).</p>\n", fp);
        }
    }
    fputs("</section>\n", fp);
    if (heat) {
        fputs("<section id=\"heatmap\"><h2>Heatmap</h2>\n<p>", fp);
        rp_html(fp, cpo_objective_name(o->objective));
        fputs(" by <code>", fp);
        rp_html(fp, sw->axes[0].name);
        fputs("</code> and <code>", fp);
        rp_html(fp, sw->axes[1].name);
        fputs("</code> (heatmap.dat, heatmap.gp).</p>\n", fp);
        if (heat_png)
            fputs("<figure><img src=\"heatmap.png\" alt=\"heatmap of the objective\" "
                  "width=\"1000\" height=\"750\"></figure>\n", fp);
        else
            fputs("<p class=\"note\">heatmap.png is not drawn (no gnuplot, or --no-plot): "
                  "<code>gnuplot heatmap.gp</code> in this folder draws it.</p>\n", fp);
        fputs("</section>\n", fp);
    }
    fprintf(fp, "<section id=\"leaderboard\"><h2>Leaderboard</h2>\n<p>Returns and drawdowns in "
            "percent (drawdowns negative); fees, slippage and funding are P&amp;L in %s. "
            "leaderboard.csv holds the same rows.</p>\n", sw->cfg->run.currency);
    fputs("<div class=\"scroll\"><table class=\"lb\">\n<thead><tr><th>rank</th><th>point</th>", fp);
    for (size_t a = 0; a < sw->n_axes; a++) {
        fputs("<th>", fp);
        put_html(fp, sw->axes[a].name);
        fputs("</th>", fp);
    }
    static const int obj_col[CPO_OBJ_COUNT] = {3, 1, 0, 4, 2, 5, 6};
    for (size_t k = 0; k < N_METRICS; k++)
        fprintf(fp, "<th class=\"n%s\">%s</th>", (int)k == obj_col[o->objective] ? " obj" : "",
                metrics[k].name);
    fputs("<th class=\"n\">dsr</th><th class=\"n\">gross_return</th><th class=\"n\">"
          "gross_cagr</th><th>error</th></tr></thead>\n<tbody>\n", fp);
    for (size_t i = 0; i < sw->n_points; i++) {
        const cpo_sweep_result *r = &res[order[i]];
        int bad = r->status != 0 || !r->done;
        fprintf(fp, "<tr%s><td>%zu</td><td>%zu</td>", bad ? " class=\"err\"" : i == 0 ? " class=\"best\"" : "",
                i + 1, order[i]);
        for (size_t a = 0; a < sw->n_axes; a++) {
            fputs("<td class=\"v\">", fp);
            put_html(fp, cpo_sweep_value(sw, order[i], a));
            fputs("</td>", fp);
        }
        for (size_t k = 0; k < N_METRICS; k++) {
            fprintf(fp, "<td class=\"n%s\">", (int)k == obj_col[o->objective] ? " obj" : "");
            if (!bad) {
                char b[64];
                if (metrics[k].is_count)
                    fprintf(fp, "%llu", (unsigned long long)metric_value(r, k));
                else if (k >= 6 && k <= 9) { /* final equity and the costs: money */
                    rp_fmt_money(b, sizeof b, metric_value(r, k), 0);
                    rp_html(fp, b);
                } else
                    html_num(fp, k == 4 ? -metric_value(r, k) : metric_value(r, k),
                             k <= 2 || k == 4);
            }
            fputs("</td>", fp);
        }
        fputs("<td class=\"n\">", fp);
        if (!bad)
            html_num(fp, dsr[order[i]], 0);
        fputs("</td><td class=\"n\">", fp);
        if (!bad)
            html_num(fp, r->gross_return, 1);
        fputs("</td><td class=\"n\">", fp);
        if (!bad)
            html_num(fp, r->gross_cagr, 1);
        fputs("</td><td class=\"v\">", fp);
        put_html(fp, r->status ? r->error : r->done ? "" : "not run");
        fputs("</td></tr>\n", fp);
    }
    fputs("</tbody>\n</table></div>\n<p>dsr: the deflated Sharpe ratio of the point (see "
          "<a href=\"#overfitting\">Overfitting</a>); gross_return and gross_cagr: before "
          "costs.</p>\n</section>\n", fp);
    fputs("<section id=\"overfitting\"><h2>Overfitting: can the best point be trusted?</h2>\n",
          fp);
    if (ov)
        html_overfit(fp, sw, ov, cp);
    else
        fputs("<p class=\"note\">No statistics of overfitting: no point ran to the end.</p>\n",
              fp);
    fputs("</section>\n", fp);
    fputs("<footer>Made by cpo sweep (no script, no external resource).</footer>\n</main>\n"
          "</body>\n</html>\n", fp);
    return of_close(&f, 0, err);
}

/* Run the chosen point again into DIR/best/ (a run folder with its report). */
static int run_best(const cpo_sweep_out *o, const cpo_sweep *sw, size_t p, cpo_error *err)
{
    cpo_config *pc = NULL;
    int rc = cpo_sweep_point_config(&pc, sw, p, err);
    if (rc)
        return rc;
    char dir[1100], cmd[2048];
    snprintf(dir, sizeof dir, "%s/" BEST_DIR, o->dir);
    int w = snprintf(cmd, sizeof cmd, "cpo sweep %s: point %zu (", sw->cfg->path, p);
    for (size_t a = 0; a < sw->n_axes && w > 0 && (size_t)w < sizeof cmd; a++)
        w += snprintf(cmd + w, sizeof cmd - (size_t)w, "%s%s = %s", a ? ", " : "",
                      sw->axes[a].name, cpo_sweep_value(sw, p, a));
    if (w > 0 && (size_t)w < sizeof cmd)
        snprintf(cmd + w, sizeof cmd - (size_t)w, ")");
    cpo_run_opts ro;
    cpo_run_opts_init(&ro);
    ro.out_dir = dir;
    ro.force = 1;
    ro.command = cmd;
    ro.no_plot = !o->plot;
    ro.jobs = o->jobs;
    cpo_run_report rep;
    rc = cpo_run_to_dir(pc, &ro, &rep, err);
    cpo_config_free(pc);
    return rc;
}

/* --- heatmap ------------------------------------------------------------------ */

/* The path of prog on PATH, or 0. */
static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *e = strchr(path, ':');
        size_t n = e ? (size_t)(e - path) : strlen(path);
        char p[1200];
        if (n == 0)
            snprintf(p, sizeof p, "./%s", prog);
        else
            snprintf(p, sizeof p, "%.*s/%s", (int)n, path, prog);
        if (access(p, X_OK) == 0)
            return 1;
        path += n + (e ? 1 : 0);
        if (!e)
            break;
    }
    return 0;
}

/*
 * Start gnuplot on the heatmap's temporary script and data (heatmap.gp and
 * heatmap.dat .tmp.<pid>), drawing heatmap.png.tmp.<pid>: its pid, or 0
 * when it does not run (no gnuplot: said), or -1 when it could not start.
 * heat_wait takes its status.
 */
static pid_t heat_start(const cpo_sweep_out *o)
{
    if (!on_path("gnuplot")) {
        if (o->warn)
            fprintf(o->warn,
                    "cpo: warning: gnuplot is not on PATH: %s/heatmap.gp kept (expected "
                    "gnuplot for heatmap.png; run `gnuplot heatmap.gp` in that folder)\n",
                    o->dir);
        return 0;
    }
    if (o->warn)
        fflush(o->warn);
    fflush(stdout);
    char sfx[32], vars[128], script[64];
    cpo_tmp_suffix(sfx, sizeof sfx);
    snprintf(vars, sizeof vars, "out='heatmap.png%s'; data='heatmap.dat%s'", sfx, sfx);
    snprintf(script, sizeof script, "heatmap.gp%s", sfx);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(o->dir) != 0)
            _exit(126);
        char *const argv[] = {"gnuplot", "-e", vars, script, NULL};
        execvp("gnuplot", argv);
        _exit(127);
    }
    return pid;
}

/*
 * The heatmap's gnuplot (*pid from heat_start) has ended: heatmap.png.tmp.
 * <pid> is renamed with the other files by files_commit, or removed (and
 * said) when gnuplot failed.  *pid is 0 after.
 */
static void heat_wait(const cpo_sweep_out *o, pid_t *pid)
{
    if (*pid == 0)
        return;
    char sfx[32], tmp[1140];
    cpo_tmp_suffix(sfx, sizeof sfx);
    snprintf(tmp, sizeof tmp, "%s/heatmap.png%s", o->dir, sfx);
    int status = 0;
    pid_t r;
    do
        r = *pid > 0 ? waitpid(*pid, &status, 0) : -1;
    while (r < 0 && errno == EINTR);
    if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(tmp);
        if (o->warn)
            fprintf(o->warn, "cpo: warning: gnuplot failed on %s/heatmap.gp (kept; no heatmap.png)\n",
                    o->dir);
    }
    *pid = 0;
}

/* heatmap.dat and heatmap.gp, and gnuplot started on them (*heat: its pid
 * for heat_wait, 0 if none). */
static int write_heatmap(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_sweep_result *res,
                         pid_t *heat, cpo_error *err)
{
    const cpo_sweep_axis *ax = &sw->axes[0], *ay = &sw->axes[1];
    const char *obj = cpo_objective_name(o->objective);
    ofile f;
    int rc = of_open(&f, o, "heatmap.dat", err);
    if (rc)
        return rc;
    fprintf(f.fp, "# cpo sweep heatmap: %s by value index of x = %s and y = %s\n", obj, ax->name,
            ay->name);
    fputs("# x y value (blocks by x; nan: the point failed)\n", f.fp);
    for (size_t i = 0; i < ax->n_values; i++) {
        if (i)
            fputc('\n', f.fp);
        for (size_t j = 0; j < ay->n_values; j++) {
            size_t p = i * ay->n_values + j;
            fprintf(f.fp, "%zu %zu ", i, j);
            put_num(f.fp, objective_value(&res[p], o->objective));
            fputc('\n', f.fp);
        }
    }
    if ((rc = of_close(&f, 0, err)))
        return rc;

    if ((rc = of_open(&f, o, "heatmap.gp", err)))
        return rc;
    FILE *fp = f.fp;
    fputs("# heatmap.gp - made by cpo sweep; run `gnuplot heatmap.gp` in this folder\n"
          "if (!exists(\"out\")) out = 'heatmap.png'\n"
          "if (!exists(\"data\")) data = 'heatmap.dat'\n"
          "set terminal pngcairo size 1000,750 noenhanced font ',10'\n"
          "set output out\n",
          fp);
    char title[600];
    snprintf(title, sizeof title, "%s of %s by %s and %s", obj, sw->cfg->stem, ax->name, ay->name);
    fputs("set title ", fp);
    put_gp(fp, title);
    fputs("\nset xlabel ", fp);
    put_gp(fp, ax->name);
    fputs("\nset ylabel ", fp);
    put_gp(fp, ay->name);
    fputs("\nset cblabel ", fp);
    put_gp(fp, obj);
    const cpo_sweep_axis *axs[2] = {ax, ay};
    for (int d = 0; d < 2; d++) {
        fprintf(fp, "\nset %ctics (", d ? 'y' : 'x');
        for (size_t i = 0; i < axs[d]->n_values; i++) {
            if (i)
                fputs(", ", fp);
            put_gp(fp, axs[d]->values[i]);
            fprintf(fp, " %zu", i);
        }
        fprintf(fp, ")%s\nset %crange [-0.5:%zu.5]", d ? "" : " rotate by 45 right", d ? 'y' : 'x',
                axs[d]->n_values - 1);
    }
    fputs("\nset palette defined (0 '#3b4cc0', 0.5 '#f2f2f2', 1 '#b40426')\n"
          "set datafile missing 'nan'\n"
          "unset key\n",
          fp);
    if (ax->n_values * ay->n_values <= 400)
        fputs("plot data using 1:2:3 with image, \\\n"
              "     '' using 1:2:(sprintf('%.3g', $3)) with labels font ',8'\n",
              fp);
    else
        fputs("plot data using 1:2:3 with image\n", fp);
    if ((rc = of_close(&f, 0, err)))
        return rc;
    /* An older heatmap.png would not show this sweep's data. */
    char png[1100];
    snprintf(png, sizeof png, "%s/heatmap.png", o->dir);
    unlink(png);
    if (o->plot)
        *heat = heat_start(o);
    return 0;
}

/* --- summary.json and the CPCV files -------------------------------------- */

static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x == 0.0 ? 0.0 : x) : json_null();
}

static json_t *point_json(const cpo_sweep *sw, size_t p)
{
    json_t *v = json_object();
    for (size_t a = 0; a < sw->n_axes; a++)
        json_object_set_new(v, sw->axes[a].name, json_string(cpo_sweep_value(sw, p, a)));
    return v;
}

static int write_summary(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_sweep_result *res,
                         const cpo_sweep_overfit *ov, const cpo_cpcv *cp, cpo_error *err)
{
    json_t *j = json_object();
    if (!j)
        return nomem(err);
    size_t failed = 0;
    for (size_t i = 0; i < sw->n_points; i++)
        failed += res[i].status != 0 || !res[i].done;
    json_object_set_new(j, "cpo_version", json_string(CPO_VERSION));
    json_object_set_new(j, "config", json_string(sw->cfg->path));
    json_object_set_new(j, "points", json_integer((json_int_t)sw->n_points));
    json_object_set_new(j, "failed", json_integer((json_int_t)failed));
    json_object_set_new(j, "objective", json_string(cpo_objective_name(o->objective)));
    const cpo_sweep_result *b = &res[ov->chosen];
    json_t *best = json_object();
    json_object_set_new(best, "point", json_integer((json_int_t)ov->chosen));
    json_object_set_new(best, "values", point_json(sw, ov->chosen));
    for (size_t k = 0; k < N_METRICS; k++)
        json_object_set_new(best, metrics[k].name,
                            metrics[k].is_count ? json_integer((json_int_t)metric_value(b, k))
                                                : jnum(metric_value(b, k)));
    json_object_set_new(best, "gross_return", jnum(b->gross_return));
    json_object_set_new(best, "gross_cagr", jnum(b->gross_cagr));
    json_object_set_new(j, "best", best);
    json_t *d = json_object();
    json_object_set_new(d, "dsr", jnum(ov->dsr.dsr));
    json_object_set_new(d, "z", jnum(ov->dsr.z));
    json_object_set_new(d, "sr0_per_bar", jnum(ov->dsr.sr0));
    json_object_set_new(d, "sr0_annual", jnum(ov->dsr.sr0 * sqrt(b->periods_per_year)));
    json_object_set_new(d, "sharpe_per_bar", jnum(b->sharpe_bar));
    json_object_set_new(d, "psr_vs_0", jnum(ov->psr0));
    json_object_set_new(d, "trials", json_integer((json_int_t)ov->n_trials));
    json_object_set_new(d, "var_trial_sharpe_per_bar", jnum(ov->var_sharpe));
    json_object_set_new(d, "observations", jnum(ov->n_obs));
    json_object_set_new(d, "skew", jnum(b->skew));
    json_object_set_new(d, "kurtosis", jnum(b->kurtosis));
    json_object_set_new(d, "method",
                        json_string("Bailey & Lopez de Prado (2014): PSR of the chosen point "
                                    "against SR0 = sqrt(var) E[max of N standard normals]; "
                                    "Sharpe ratios per bar, kurtosis not excess"));
    json_object_set_new(j, "deflated_sharpe", d);
    json_t *p = json_object();
    if (ov->has_pbo) {
        json_object_set_new(p, "pbo", jnum(ov->pbo.pbo));
        json_object_set_new(p, "blocks", json_integer((json_int_t)ov->pbo.n_blocks));
        json_object_set_new(p, "splits", json_integer((json_int_t)ov->pbo.n_splits));
        json_object_set_new(p, "strategies", json_integer((json_int_t)ov->pbo.n_strategies));
        json_object_set_new(p, "logit_mean", jnum(ov->pbo.logit_mean));
        json_object_set_new(p, "logit_median", jnum(ov->pbo.logit_median));
        json_object_set_new(p, "prob_oos_loss", jnum(ov->pbo.prob_oos_loss));
        json_object_set_new(p, "degradation_slope", jnum(ov->pbo.degradation));
        json_object_set_new(p, "method",
                            json_string("CSCV (Bailey, Borwein, Lopez de Prado & Zhu 2015): "
                                        "Sharpe ratio of each half of the blocks, the first "
                                        "T mod S bars dropped"));
    } else {
        json_object_set_new(p, "pbo", json_null());
        json_object_set_new(p, "note", json_string(ov->pbo_note));
    }
    json_object_set_new(j, "pbo", p);
    if (cp && cp->n_splits) {
        json_t *c = json_object();
        json_object_set_new(c, "groups", json_integer((json_int_t)cp->n_groups));
        json_object_set_new(c, "test_groups", json_integer((json_int_t)cp->k));
        json_object_set_new(c, "splits", json_integer((json_int_t)cp->n_splits));
        json_object_set_new(c, "paths", json_integer((json_int_t)cp->n_paths));
        json_object_set_new(c, "purge_bars", json_integer((json_int_t)cp->purge_steps));
        json_object_set_new(c, "embargo_bars", json_integer((json_int_t)cp->embargo_steps));
        json_object_set_new(c, "objective", json_string(cpo_objective_name(sw->wf.objective)));
        json_object_set_new(c, "pbo", jnum(cp->pbo));
        json_object_set_new(c, "path_sharpe_mean", jnum(cp->path_sharpe_mean));
        json_object_set_new(c, "path_sharpe_sd", jnum(cp->path_sharpe_sd));
        json_object_set_new(c, "path_sharpe_min", jnum(cp->path_sharpe_min));
        json_object_set_new(c, "path_sharpe_max", jnum(cp->path_sharpe_max));
        json_object_set_new(j, "cpcv", c);
    }
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(j);
    if (!text)
        return nomem(err);
    ofile f;
    int rc = of_open(&f, o, "summary.json", err);
    if (!rc) {
        fputs(text, f.fp);
        fputc('\n', f.fp);
        rc = of_close(&f, 0, err);
    }
    free(text);
    return rc;
}

static void put_groups(FILE *fp, const uint8_t *test, size_t G)
{
    int first = 1;
    for (size_t g = 0; g < G; g++)
        if (test[g]) {
            fprintf(fp, "%s%zu", first ? "" : " ", g);
            first = 0;
        }
}

static int write_cpcv(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_cpcv *cp,
                      cpo_error *err)
{
    ofile f;
    int rc = of_open(&f, o, "cpcv.csv", err);
    if (rc)
        return rc;
    FILE *fp = f.fp;
    fputs("split,test_groups,point", fp);
    for (size_t a = 0; a < sw->n_axes; a++) {
        fputc(',', fp);
        put_csv(fp, sw->axes[a].name);
    }
    fprintf(fp, ",train_%s,test_sharpe,test_return,oos_rank,logit\n",
            cpo_objective_name(sw->wf.objective));
    for (size_t s = 0; s < cp->n_splits; s++) {
        const cpo_cpcv_split *x = &cp->splits[s];
        fprintf(fp, "%zu,", s);
        put_groups(fp, x->test, cp->n_groups);
        fprintf(fp, ",%zu", x->point);
        for (size_t a = 0; a < sw->n_axes; a++) {
            fputc(',', fp);
            put_csv(fp, cpo_sweep_value(sw, x->point, a));
        }
        double v[5] = {sw->wf.objective == CPO_OBJ_VOLATILITY ? -x->train_score : x->train_score,
                       x->test_sharpe, x->test_return, x->oos_rank, x->logit};
        for (int k = 0; k < 5; k++) {
            fputc(',', fp);
            put_num(fp, v[k]);
        }
        fputc('\n', fp);
    }
    if ((rc = of_close(&f, 0, err)))
        return rc;
    if ((rc = of_open(&f, o, "cpcv_paths.csv", err)))
        return rc;
    fp = f.fp;
    fputs("path,sharpe,cagr,total_return,annual_vol", fp);
    for (size_t g = 0; g < cp->n_groups; g++)
        fprintf(fp, ",split_g%zu,point_g%zu", g, g);
    fputc('\n', fp);
    for (size_t p = 0; p < cp->n_paths; p++) {
        const cpo_cpcv_path *x = &cp->paths[p];
        fprintf(fp, "%zu", p);
        double v[4] = {x->sharpe, x->cagr, x->total_return, x->annual_vol};
        for (int k = 0; k < 4; k++) {
            fputc(',', fp);
            put_num(fp, v[k]);
        }
        for (size_t g = 0; g < cp->n_groups; g++)
            fprintf(fp, ",%d,%zu", (int)x->split[g], cp->splits[x->split[g]].point);
        fputc('\n', fp);
    }
    return of_close(&f, 0, err);
}

int cpo_sweep_write(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_sweep_result *res,
                    cpo_error *err)
{
    size_t n = sw->n_points ? sw->n_points : 1;
    size_t *order = malloc(n * sizeof *order);
    double *dsr = malloc(n * sizeof *dsr);
    cpo_sweep_overfit ov;
    cpo_cpcv cp;
    memset(&cp, 0, sizeof cp);
    int have_ov = 0, is_cpcv = sw->has_walkforward && sw->wf.mode == CPO_WF_CPCV;
    if (!order || !dsr) {
        free(order);
        free(dsr);
        return nomem(err);
    }
    for (size_t i = 0; i < n; i++)
        dsr[i] = NAN;
    int rc = cpo_sweep_rank(res, sw->n_points, o->objective, order, err);
    /* Every point failed: the leaderboard says why, there is nothing to deflate. */
    if (!rc) {
        cpo_error e2;
        int orc = cpo_sweep_overfit_compute(&ov, dsr, sw, res, o->objective, &e2);
        if (orc == CPO_ENOMEM)
            rc = nomem(err);
        have_ov = orc == 0;
    }
    if (o->overfit) {
        memset(o->overfit, 0, sizeof *o->overfit);
        if (have_ov)
            *o->overfit = ov;
    }
    if (!rc && have_ov && is_cpcv)
        rc = cpo_sweep_cpcv(&cp, sw, res, err);
    if (!rc)
        rc = write_csv(o, sw, res, order, dsr, err);
    int heat = sw->n_axes == 2;
    pid_t heat_pid = 0;
    if (!rc && heat)
        rc = write_heatmap(o, sw, res, &heat_pid, err);
    /* With more than one job the heatmap is drawn while best/ runs; with
     * -j 1, before it (one core throughout). */
    if (o->jobs == 1)
        heat_wait(o, &heat_pid);
    int best = 0;
    if (!rc && o->best && sw->n_points && !res[order[0]].status && res[order[0]].done) {
        rc = run_best(o, sw, order[0], err);
        best = rc == 0;
    }
    heat_wait(o, &heat_pid);
    /* the heatmap drawn (under its temporary name until the commit) */
    char png[1100], png_tmp[1140];
    snprintf(png, sizeof png, "%s/heatmap.png", o->dir);
    cpo_tmp_path(png_tmp, sizeof png_tmp, png);
    if (!rc)
        rc = write_html(o, sw, res, order, dsr, have_ov ? &ov : NULL, is_cpcv ? &cp : NULL, best,
                        heat && access(png_tmp, F_OK) == 0, err);
    if (!rc && have_ov)
        rc = write_summary(o, sw, res, &ov, is_cpcv ? &cp : NULL, err);
    if (!rc && is_cpcv && cp.n_splits)
        rc = write_cpcv(o, sw, &cp, err);
    free(order);
    free(dsr);
    cpo_cpcv_fini(&cp);
    /* All whole, or none under a final name. */
    if (rc)
        files_drop(o);
    else
        rc = files_commit(o, err);
    if (!rc) {
        const char *keep[8];
        size_t nk = 0;
        keep[nk++] = "leaderboard.csv";
        keep[nk++] = "leaderboard.html";
        if (have_ov)
            keep[nk++] = "summary.json";
        if (is_cpcv) {
            keep[nk++] = "cpcv.csv";
            keep[nk++] = "cpcv_paths.csv";
        }
        if (heat) {
            keep[nk++] = "heatmap.dat";
            keep[nk++] = "heatmap.gp";
            keep[nk++] = "heatmap.png";
        }
        tidy(o, keep, nk);
    }
    return rc;
}

/* --- walk-forward ------------------------------------------------------------ */

int cpo_sweep_write_walkforward(const cpo_sweep_out *o, const cpo_sweep *sw,
                                const cpo_wf_outcome *wo, size_t n_windows,
                                const cpo_result *chained, const int32_t *window_of_step,
                                const cpo_sweep_result *oos, cpo_error *err)
{
    const char *obj = cpo_objective_name(sw->wf.objective);
    ofile f;
    int rc = of_open(&f, o, "walkforward.csv", err);
    if (rc)
        goto fail;
    FILE *fp = f.fp;
    fputs("window,train_start,train_end,test_start,test_end,point", fp);
    for (size_t a = 0; a < sw->n_axes; a++) {
        fputc(',', fp);
        put_csv(fp, sw->axes[a].name);
    }
    fprintf(fp, ",train_%s", obj);
    for (size_t k = 0; k < N_METRICS; k++)
        fprintf(fp, ",test_%s", metrics[k].name);
    fputs(",error\n", fp);
    for (size_t w = 0; w < n_windows; w++) {
        const cpo_wf_outcome *x = &wo[w];
        fprintf(fp, "%zu,", w);
        put_time(fp, x->w.train_start);
        fputc(',', fp);
        put_time(fp, x->w.train_end);
        fputc(',', fp);
        put_time(fp, x->w.test_start);
        fputc(',', fp);
        put_time(fp, x->w.test_end);
        fprintf(fp, ",%zu", x->point);
        for (size_t a = 0; a < sw->n_axes; a++) {
            fputc(',', fp);
            put_csv(fp, cpo_sweep_value(sw, x->point, a));
        }
        fputc(',', fp);
        put_num(fp, sw->wf.objective == CPO_OBJ_MAX_DRAWDOWN || sw->wf.objective == CPO_OBJ_VOLATILITY
                        ? -x->train_score
                        : x->train_score);
        put_metrics_csv(fp, &x->test);
        fputc(',', fp);
        put_csv(fp, x->test.status ? x->test.error : "");
        fputc('\n', fp);
    }
    if ((rc = of_close(&f, 0, err)))
        goto fail;

    if ((rc = of_open(&f, o, "oos_equity.csv", err)))
        goto fail;
    fp = f.fp;
    fputs("ts,window,equity,return\n", fp);
    double prev = chained->capital;
    for (size_t t = 0; t < chained->n_steps; t++) {
        put_time(fp, chained->ts[t]);
        fprintf(fp, ",%d,", window_of_step ? (int)window_of_step[t] : 0);
        put_num(fp, chained->equity[t]);
        fputc(',', fp);
        put_num(fp, prev != 0.0 ? chained->equity[t] / prev - 1.0 : NAN);
        fputc('\n', fp);
        prev = chained->equity[t];
    }
    if ((rc = of_close(&f, 0, err)))
        goto fail;

    if ((rc = of_open(&f, o, "oos_summary.csv", err)))
        goto fail;
    fp = f.fp;
    fputs("windows,start,end,mode,train,test,objective", fp);
    for (size_t k = 0; k < N_METRICS; k++)
        fprintf(fp, ",%s", metrics[k].name);
    fprintf(fp, "\n%zu,", n_windows);
    put_time(fp, n_windows ? wo[0].w.test_start : CPO_TIME_NONE);
    fputc(',', fp);
    put_time(fp, n_windows ? wo[n_windows - 1].w.test_end : CPO_TIME_NONE);
    char tr[32], ts[32];
    cpo_duration_format(sw->wf.train_ms, tr, sizeof tr);
    cpo_duration_format(sw->wf.test_ms, ts, sizeof ts);
    fprintf(fp, ",%s,%s,%s,%s", sw->wf.mode == CPO_WF_EXPANDING ? "expanding" : "rolling", tr, ts,
            obj);
    put_metrics_csv(fp, oos);
    fputc('\n', fp);
    if ((rc = of_close(&f, 0, err)))
        goto fail;
    if ((rc = files_commit(o, err)))
        return rc;
    static const char *const keep[] = {"walkforward.csv", "oos_equity.csv", "oos_summary.csv"};
    tidy(o, keep, 3);
    return 0;
fail:
    files_drop(o);
    return rc;
}
