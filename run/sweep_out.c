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

/* Every file a sweep can make (removed when stale after --force). */
static const char *const out_files[] = {
    "leaderboard.csv", "leaderboard.html", "heatmap.dat",     "heatmap.gp",
    "heatmap.png",     "walkforward.csv",  "oos_equity.csv", "oos_summary.csv"};
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

#define BATCH_MAX 8

/* Files written whole, waiting for their renames. */
typedef struct obatch {
    size_t n;
    char tmp[BATCH_MAX][1130], fin[BATCH_MAX][1100];
} obatch;

typedef struct ofile {
    char fin[1100], tmp[1130];
    FILE *fp;
    obatch *b;
} ofile;

static int of_open(ofile *f, obatch *b, const cpo_sweep_out *o, const char *name, cpo_error *err)
{
    f->fp = NULL;
    f->b = b;
    if (snprintf(f->fin, sizeof f->fin, "%s/%s", o->dir, name) >= (int)sizeof f->fin ||
        cpo_tmp_path(f->tmp, sizeof f->tmp, f->fin) != 0)
        return cpo_error_set(err, CPO_ERANGE, o->dir, 0, 0, "path too long (expected < 1024 bytes)");
    if (!(f->fp = fopen(f->tmp, "wb")))
        return cpo_error_set(err, CPO_EIO, f->tmp, 0, 0,
                             "cannot create: %s (expected a writable folder)", strerror(errno));
    return 0;
}

/* Close; a whole file joins the batch (rc == 0), else it is removed. */
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
    if (!rc && f->b->n == BATCH_MAX)
        rc = cpo_error_set(err, CPO_ERANGE, f->tmp, 0, 0, "too many files (expected at most %d)",
                           BATCH_MAX);
    if (rc) {
        unlink(f->tmp);
        return rc;
    }
    snprintf(f->b->tmp[f->b->n], sizeof f->b->tmp[0], "%s", f->tmp);
    snprintf(f->b->fin[f->b->n], sizeof f->b->fin[0], "%s", f->fin);
    f->b->n++;
    return 0;
}

/* Remove the batch's files (a call that failed). */
static void batch_drop(obatch *b)
{
    for (size_t k = 0; k < b->n; k++)
        unlink(b->tmp[k]);
    b->n = 0;
}

/* Every file of the call is whole: rename them. */
static int batch_commit(obatch *b, cpo_error *err)
{
    for (size_t k = 0; k < b->n; k++)
        if (rename(b->tmp[k], b->fin[k]) != 0) {
            int rc = cpo_error_set(err, CPO_EIO, b->fin[k], 0, 0, "cannot rename %s: %s",
                                   b->tmp[k], strerror(errno));
            for (size_t j = k; j < b->n; j++)
                unlink(b->tmp[j]);
            b->n = 0;
            return rc;
        }
    b->n = 0;
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
                               const size_t *order)
{
    fputs("rank,point", fp);
    for (size_t a = 0; a < sw->n_axes; a++) {
        fputc(',', fp);
        put_csv(fp, sw->axes[a].name);
    }
    for (size_t k = 0; k < N_METRICS; k++)
        fprintf(fp, ",%s", metrics[k].name);
    fputs(",error\n", fp);
    for (size_t i = 0; i < sw->n_points; i++) {
        const cpo_sweep_result *r = &res[order[i]];
        fprintf(fp, "%zu,%zu", i + 1, order[i]);
        for (size_t a = 0; a < sw->n_axes; a++) {
            fputc(',', fp);
            put_csv(fp, cpo_sweep_value(sw, order[i], a));
        }
        put_metrics_csv(fp, r);
        fputc(',', fp);
        put_csv(fp, r->status ? r->error : r->done ? "" : "not run");
        fputc('\n', fp);
    }
}

static int write_csv(obatch *b, const cpo_sweep_out *o, const cpo_sweep *sw,
                     const cpo_sweep_result *res, const size_t *order, cpo_error *err)
{
    ofile f;
    int rc = of_open(&f, b, o, "leaderboard.csv", err);
    if (rc)
        return rc;
    cpo_sweep_put_leaderboard(f.fp, sw, res, order);
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

static int write_html(obatch *b, const cpo_sweep_out *o, const cpo_sweep *sw,
                      const cpo_sweep_result *res, const size_t *order, cpo_error *err)
{
    ofile f;
    int rc = of_open(&f, b, o, "leaderboard.html", err);
    if (rc)
        return rc;
    FILE *fp = f.fp;
    size_t failed = 0;
    for (size_t i = 0; i < sw->n_points; i++)
        failed += res[i].status != 0 || !res[i].done;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>cpo sweep: ",
          fp);
    put_html(fp, sw->cfg->stem);
    fputs("</title>\n<style>\n"
          "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\n"
          "h1{font-size:1.3em}\n"
          "table{border-collapse:collapse;font-size:13px}\n"
          "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;white-space:nowrap}\n"
          "th{background:#eef;position:sticky;top:0}\n"
          "th.obj,td.obj{background:#fff6d5;font-weight:bold}\n"
          "td.v{text-align:left;font-family:monospace}\n"
          "tr.best td{background:#e5f5e5}\n"
          "tr.err td{color:#a00}\n"
          "</style>\n</head>\n<body>\n<h1>cpo sweep: ",
          fp);
    put_html(fp, sw->cfg->path);
    fprintf(fp, "</h1>\n<p>%zu points", sw->n_points);
    if (failed)
        fprintf(fp, " (%zu failed)", failed);
    fprintf(fp, ", ranked by <b>%s</b> (%s first; ties by point).  Returns and drawdowns in "
                "percent; fees, slippage and funding are P&amp;L in %s.</p>\n",
            cpo_objective_name(o->objective),
            o->objective == CPO_OBJ_MAX_DRAWDOWN || o->objective == CPO_OBJ_VOLATILITY ? "lowest"
                                                                                      : "highest",
            sw->cfg->run.currency);
    fputs("<table>\n<thead><tr><th>rank</th><th>point</th>", fp);
    for (size_t a = 0; a < sw->n_axes; a++) {
        fputs("<th>", fp);
        put_html(fp, sw->axes[a].name);
        fputs("</th>", fp);
    }
    static const int obj_col[CPO_OBJ_COUNT] = {3, 1, 0, 4, 2, 5, 6};
    for (size_t k = 0; k < N_METRICS; k++)
        fprintf(fp, "<th%s>%s</th>", (int)k == obj_col[o->objective] ? " class=\"obj\"" : "",
                metrics[k].name);
    fputs("<th>error</th></tr></thead>\n<tbody>\n", fp);
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
            fprintf(fp, "<td%s>", (int)k == obj_col[o->objective] ? " class=\"obj\"" : "");
            if (!bad) {
                if (metrics[k].is_count)
                    fprintf(fp, "%llu", (unsigned long long)metric_value(r, k));
                else
                    html_num(fp, metric_value(r, k), k <= 2 || k == 4);
            }
            fputs("</td>", fp);
        }
        fputs("<td class=\"v\">", fp);
        put_html(fp, r->status ? r->error : r->done ? "" : "not run");
        fputs("</td></tr>\n", fp);
    }
    fputs("</tbody>\n</table>\n</body>\n</html>\n", fp);
    return of_close(&f, 0, err);
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

/* Run gnuplot on heatmap.gp in the folder: heatmap.png.tmp.<pid>, renamed. */
static void run_gnuplot(const cpo_sweep_out *o)
{
    if (!on_path("gnuplot")) {
        if (o->warn)
            fprintf(o->warn,
                    "cpo: warning: gnuplot is not on PATH: %s/heatmap.gp kept (expected "
                    "gnuplot for heatmap.png; run `gnuplot heatmap.gp` in that folder)\n",
                    o->dir);
        return;
    }
    if (o->warn)
        fflush(o->warn);
    fflush(stdout);
    char sfx[32], out[64];
    cpo_tmp_suffix(sfx, sizeof sfx);
    snprintf(out, sizeof out, "out='heatmap.png%s'", sfx);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(o->dir) != 0)
            _exit(126);
        char *const argv[] = {"gnuplot", "-e", out, "heatmap.gp", NULL};
        execvp("gnuplot", argv);
        _exit(127);
    }
    int status = 0;
    char tmp[1140], fin[1100];
    snprintf(fin, sizeof fin, "%s/heatmap.png", o->dir);
    snprintf(tmp, sizeof tmp, "%s%s", fin, sfx);
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        unlink(tmp);
        if (o->warn)
            fprintf(o->warn, "cpo: warning: gnuplot failed on %s/heatmap.gp (kept; no heatmap.png)\n",
                    o->dir);
        return;
    }
    if (rename(tmp, fin) != 0) {
        unlink(tmp);
        if (o->warn)
            fprintf(o->warn, "cpo: warning: cannot rename %s: %s\n", tmp, strerror(errno));
    }
}

static int write_heatmap(obatch *b, const cpo_sweep_out *o, const cpo_sweep *sw,
                         const cpo_sweep_result *res, cpo_error *err)
{
    const cpo_sweep_axis *ax = &sw->axes[0], *ay = &sw->axes[1];
    const char *obj = cpo_objective_name(o->objective);
    ofile f;
    int rc = of_open(&f, b, o, "heatmap.dat", err);
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

    if ((rc = of_open(&f, b, o, "heatmap.gp", err)))
        return rc;
    FILE *fp = f.fp;
    fputs("# heatmap.gp - made by cpo sweep; run `gnuplot heatmap.gp` in this folder\n"
          "if (!exists(\"out\")) out = 'heatmap.png'\n"
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
        fputs("plot 'heatmap.dat' using 1:2:3 with image, \\\n"
              "     '' using 1:2:(sprintf('%.3g', $3)) with labels font ',8'\n",
              fp);
    else
        fputs("plot 'heatmap.dat' using 1:2:3 with image\n", fp);
    return of_close(&f, 0, err);
}

int cpo_sweep_write(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_sweep_result *res,
                    cpo_error *err)
{
    size_t *order = malloc((sw->n_points ? sw->n_points : 1) * sizeof *order);
    if (!order)
        return nomem(err);
    obatch b;
    b.n = 0;
    int rc = cpo_sweep_rank(res, sw->n_points, o->objective, order, err);
    if (!rc)
        rc = write_csv(&b, o, sw, res, order, err);
    if (!rc)
        rc = write_html(&b, o, sw, res, order, err);
    int heat = sw->n_axes == 2;
    if (!rc && heat)
        rc = write_heatmap(&b, o, sw, res, err);
    free(order);
    if (rc)
        batch_drop(&b);
    else
        rc = batch_commit(&b, err);
    if (!rc && heat) {
        /* An older heatmap.png would not show this sweep's data. */
        char png[1100];
        snprintf(png, sizeof png, "%s/heatmap.png", o->dir);
        unlink(png);
        if (o->plot)
            run_gnuplot(o);
    }
    if (!rc) {
        static const char *const keep[] = {"leaderboard.csv", "leaderboard.html", "heatmap.dat",
                                           "heatmap.gp", "heatmap.png"};
        tidy(o, keep, heat ? 5 : 2);
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
    obatch b;
    b.n = 0;
    int rc = of_open(&f, &b, o, "walkforward.csv", err);
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

    if ((rc = of_open(&f, &b, o, "oos_equity.csv", err)))
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

    if ((rc = of_open(&f, &b, o, "oos_summary.csv", err)))
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
    if ((rc = of_close(&f, 0, err)) || (rc = batch_commit(&b, err)))
        goto fail;
    static const char *const keep[] = {"walkforward.csv", "oos_equity.csv", "oos_summary.csv"};
    tidy(o, keep, 3);
    return 0;
fail:
    if (f.fp)
        of_close(&f, rc, err);
    batch_drop(&b);
    return rc;
}
