/*
 * api.c - cpo inside a program (cpo/api.h): a run in memory through the
 * pipeline of run/run.c, a run folder read back, a sweep's leaderboard;
 * the CSV text of each output read into a table of typed columns by the
 * reader of the report (reports/report_read.c).
 */
#define _DEFAULT_SOURCE
#include "cpo/api.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/config.h"
#include "cpo/run.h"
#include "cpo/sweep.h"
#include "cpo/time.h"
#include "csvread.h"
#include "report_priv.h"
#include "run_files.h"
#include "run_priv.h"

struct cpo_results {
    cpo_result *r;        /* the engine's result (a run; NULL for a folder) */
    char *summary;        /* summary.json's text */
    cpo_table **tables;
    size_t n_tables, cap_tables;
};

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

void cpo_results_free(cpo_results *res)
{
    if (!res)
        return;
    for (size_t k = 0; k < res->n_tables; k++)
        cpo_table_free(res->tables[k]);
    free(res->tables);
    free(res->summary);
    cpo_result_free(res->r);
    free(res);
}

const char *cpo_results_summary(const cpo_results *res)
{
    return res->summary;
}

size_t cpo_results_count(const cpo_results *res)
{
    return res->n_tables;
}

const cpo_table *cpo_results_table(const cpo_results *res, size_t k)
{
    return k < res->n_tables ? res->tables[k] : NULL;
}

const cpo_table *cpo_results_find(const cpo_results *res, const char *name)
{
    for (size_t k = 0; k < res->n_tables; k++)
        if (!strcmp(cpo_table_name(res->tables[k]), name))
            return res->tables[k];
    return NULL;
}

/* Keep t (freed on failure). */
static int add_table(cpo_results *res, cpo_table *t, cpo_error *err)
{
    if (res->n_tables == res->cap_tables) {
        size_t nc = res->cap_tables ? 2 * res->cap_tables : 16;
        cpo_table **nt = realloc(res->tables, nc * sizeof *nt);
        if (!nt) {
            cpo_table_free(t);
            return nomem(err);
        }
        res->tables = nt;
        res->cap_tables = nc;
    }
    res->tables[res->n_tables++] = t;
    return 0;
}

/* --- CSV text into typed columns ------------------------------------------ */

/* An ISO 8601 date-time as the run's files print them ("...T...Z"). */
static int field_time(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    int flags;
    size_t bad;
    return n >= 20 && s[10] == 'T' && cpo_time_parse(s, n, ms, &flags, &bad) == 0;
}

/* The type of column c (cpo/api.h): time, number or text. */
static int col_type(const rp_table *t, size_t c)
{
    size_t blank = 0, times = 0;
    int64_t ms;
    for (size_t i = 0; i < t->nrow; i++) {
        const char *s = t->text[i * t->ncol + c];
        if (cpo_field_blank(s, strlen(s)))
            blank++;
        else if (field_time(s, &ms))
            times++;
    }
    if (t->nrow && times == t->nrow - blank && times)
        return CPO_COL_TIME;
    if (t->is_text[c] || (t->nrow && blank == t->nrow))
        return CPO_COL_STR;
    return CPO_COL_F64;
}

/* The columns of t (read back from a file's text) as a table named name. */
static int table_from_text(cpo_table **out, const char *name, const rp_table *t, cpo_error *err)
{
    cpo_table *tab = NULL;
    int rc = cpo_table_new(&tab, name, t->nrow, err);
    if (!rc)
        rc = cpo_table_set_notes(tab, t->notes, err);
    size_t n = t->nrow;
    for (size_t c = 0; !rc && c < t->ncol; c++) {
        int type = col_type(t, c);
        void *data = NULL;
        size_t size = 0;
        if (type == CPO_COL_STR) {
            size_t bytes = 0;
            for (size_t i = 0; i < n; i++)
                bytes += strlen(t->text[i * t->ncol + c]) + 1;
            const char **p = cpo_table_alloc(tab, n * sizeof *p, err);
            char *pool = p ? cpo_table_alloc(tab, bytes, err) : NULL;
            if (!pool) {
                rc = err ? err->code : CPO_ENOMEM;
                break;
            }
            for (size_t i = 0; i < n; i++) {
                const char *s = t->text[i * t->ncol + c];
                size_t len = strlen(s) + 1;
                memcpy(pool, s, len);
                p[i] = pool;
                pool += len;
            }
            data = p;
            size = sizeof *p;
        } else if (type == CPO_COL_TIME) {
            int64_t *v = cpo_table_alloc(tab, n * sizeof *v, err);
            if (!v) {
                rc = err ? err->code : CPO_ENOMEM;
                break;
            }
            for (size_t i = 0; i < n; i++)
                if (!field_time(t->text[i * t->ncol + c], &v[i]))
                    v[i] = CPO_TIME_NONE;
            data = v;
            size = sizeof *v;
        } else {
            double *v = cpo_table_alloc(tab, n * sizeof *v, err);
            if (!v) {
                rc = err ? err->code : CPO_ENOMEM;
                break;
            }
            for (size_t i = 0; i < n; i++)
                v[i] = t->num[i * t->ncol + c];
            data = v;
            size = sizeof *v;
        }
        rc = cpo_table_add(tab, t->name[c], (cpo_col_type)type, data, size, size, err);
    }
    if (rc) {
        cpo_table_free(tab);
        return rc;
    }
    *out = tab;
    return 0;
}

/* "trades.csv" -> "trades". */
static void stem_of(char *buf, size_t n, const char *file)
{
    snprintf(buf, n, "%s", file);
    char *dot = strrchr(buf, '.');
    if (dot)
        *dot = '\0';
}

/* The output name of a run: summary.json kept as text, a CSV file read
 * into a table; label names it in messages. */
static int keep(cpo_results *res, const char *name, const char *label, char *bytes, size_t len,
                cpo_error *err)
{
    if (!strcmp(name, "summary.json")) {
        while (len && bytes[len - 1] == '\n')
            len--;
        return (res->summary = strndup(bytes, len)) ? 0 : nomem(err);
    }
    rp_table t;
    int rc = rp_table_read_mem(&t, label, bytes, len, err);
    if (rc)
        return rc;
    char stem[64];
    stem_of(stem, sizeof stem, name);
    cpo_table *tab = NULL;
    rc = table_from_text(&tab, stem, &t, err);
    rp_table_free(&t);
    return rc ? rc : add_table(res, tab, err);
}

/* A cpo_run_emit keeping each output. */
static int keep_output(void *ctx, const char *name, char *bytes, size_t len, cpo_error *err)
{
    return keep(ctx, name, name, bytes, len, err);
}

/* --- a run in memory -------------------------------------------------------- */

/* "SECTION.KEY = value" into an override (pointing into a copy in *buf). */
static int parse_override(cpo_config_key *k, char **buf, const char *text, cpo_error *err)
{
    if (!(*buf = strdup(text)))
        return nomem(err);
    char *s = *buf, *eq = strchr(s, '=');
    char *dot = NULL;
    if (eq) {
        char *e = eq;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        *e = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        dot = strrchr(s, '.');
    }
    if (!eq || !dot || dot == s || !dot[1])
        return cpo_error_set(err, CPO_EUSAGE, NULL, 0, 0,
                             "override \"%s\" is not SECTION.KEY = value (expected e.g. "
                             "costs.fee_bps = 5 or weigh.fixed.weights = BTCUSDT:1)",
                             text);
    *dot = '\0';
    char *v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
        v[--n] = '\0';
    k->section = s;
    k->key = dot + 1;
    k->value = v;
    k->line = 0;
    return 0;
}

int cpo_config_load_strings(cpo_config **out, const char *path, const char *text,
                            const char *const *overrides, size_t n_overrides, unsigned flags,
                            cpo_error *err)
{
    *out = NULL;
    cpo_config_key *ov = calloc(n_overrides ? n_overrides : 1, sizeof *ov);
    char **bufs = calloc(n_overrides ? n_overrides : 1, sizeof *bufs);
    int rc = ov && bufs ? 0 : nomem(err);
    for (size_t i = 0; !rc && i < n_overrides; i++)
        rc = parse_override(&ov[i], &bufs[i], overrides[i], err);
    if (!rc)
        rc = cpo_config_load_flags(out, path, text, ov, n_overrides, flags, err);
    for (size_t i = 0; bufs && i < n_overrides; i++)
        free(bufs[i]);
    free(bufs);
    free(ov);
    return rc;
}

int cpo_results_run(cpo_results **out, const char *path, const char *text,
                    const char *const *overrides, size_t n_overrides, cpo_error *err)
{
    *out = NULL;
    cpo_results *res = calloc(1, sizeof *res);
    cpo_config *cfg = NULL;
    cpo_table *ledger = NULL;
    int rc = res ? 0 : nomem(err);
    if (!rc)
        rc = cpo_config_load_strings(&cfg, path, text, overrides, n_overrides, 0, err);
    /* The ledger first (views of the result's arrays), then the files. */
    if (!rc && !(rc = add_table(res, NULL, err)))
        rc = cpo_run_to_memory(cfg, NULL, keep_output, res, &res->r, err);
    if (!rc && !(rc = cpo_result_ledger_table(&ledger, res->r, err)))
        res->tables[0] = ledger;
    cpo_config_free(cfg);
    if (rc) {
        cpo_results_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* --- a run folder -------------------------------------------------------------- */

/* The file name of dir, read as cpo_run_to_memory would have emitted it. */
static int load_file(cpo_results *res, const char *dir, const char *name, int required,
                     cpo_error *err)
{
    char path[1200];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected < 1024 bytes)");
    if (access(path, F_OK) != 0) {
        if (required)
            return cpo_error_set(err, CPO_ENOTFOUND, dir, 0, 0,
                                 "no %s (expected a run folder written by cpo run)", name);
        return 0;
    }
    char *bytes;
    size_t len;
    int rc = rp_slurp(path, &bytes, &len, err);
    if (rc)
        return rc;
    rc = keep(res, name, path, bytes, len, err);
    free(bytes);
    return rc;
}

int cpo_results_load(cpo_results **out, const char *dir, cpo_error *err)
{
    *out = NULL;
    cpo_results *res = calloc(1, sizeof *res);
    if (!res)
        return nomem(err);
    int rc = load_file(res, dir, "summary.json", 1, err);
    for (size_t k = 0; !rc && cpo_run_output_name(k); k++) {
        const char *name = cpo_run_output_name(k);
        if (!strcmp(name, "summary.json"))
            continue;
        rc = load_file(res, dir, name, k == 0, err);
        /* ledger_instruments.csv (detail = instrument) follows the ledger. */
        if (!rc && k == 0)
            rc = load_file(res, dir, "ledger_instruments.csv", 0, err);
    }
    if (rc) {
        cpo_results_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* --- a sweep's leaderboard ------------------------------------------------------ */

int cpo_sweep_leaderboard(cpo_table **out, const char *path, int n_threads,
                          const char *objective, cpo_error *err)
{
    *out = NULL;
    cpo_objective obj = CPO_OBJ_SHARPE;
    if (objective && cpo_objective_parse(objective, &obj))
        return cpo_error_set(err, CPO_EUSAGE, NULL, 0, 0,
                             "objective \"%s\" is not valid (expected one of: %s)", objective,
                             cpo_objective_names());
    cpo_config *cfg = NULL;
    cpo_sweep *sw = NULL;
    cpo_market *m = NULL;
    cpo_sweep_task *tasks = NULL;
    cpo_sweep_result *recs = NULL;
    size_t *order = NULL;
    double *dsr = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = NULL;
    int rc = cpo_config_load(&cfg, path, err);
    if (!rc)
        rc = cpo_sweep_load(&sw, cfg, err);
    if (!rc && sw->has_walkforward)
        rc = cpo_error_set(err, CPO_ECONFIG, path, 0, 0,
                           "[walkforward] is a walk-forward test (expected a grid without "
                           "[walkforward]; cpo sweep %s runs the test)",
                           path);
    if (!rc)
        rc = cpo_run_market(&m, cfg, err);
    if (!rc) {
        size_t n = sw->n_points;
        tasks = malloc(n * sizeof *tasks);
        recs = calloc(n, sizeof *recs);
        order = malloc(n * sizeof *order);
        if (!tasks || !recs || !order)
            rc = nomem(err);
        for (size_t i = 0; !rc && i < n; i++) {
            tasks[i].point = i;
            tasks[i].start_ms = tasks[i].end_ms = CPO_TIME_NONE;
        }
        cpo_sweep_exec x;
        cpo_sweep_exec_init(&x);
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        x.n_threads = n_threads > 0 ? n_threads : cores > 0 ? (int)cores : 1;
        if (!rc)
            rc = cpo_sweep_run_tasks(sw, m, tasks, n, &x, recs, NULL, err);
        if (!rc)
            rc = cpo_sweep_rank(recs, n, obj, order, err);
        if (!rc && !(dsr = malloc(n * sizeof *dsr)))
            rc = nomem(err);
        if (!rc) {
            /* The deflated Sharpe ratios as cpo_sweep_write has them. */
            for (size_t i = 0; i < n; i++)
                dsr[i] = NAN;
            cpo_sweep_overfit ov;
            cpo_error e2;
            if (cpo_sweep_overfit_compute(&ov, dsr, sw, recs, obj, &e2) == CPO_ENOMEM)
                rc = nomem(err);
        }
        if (!rc && !(fp = open_memstream(&text, &len)))
            rc = nomem(err);
        if (!rc) {
            cpo_sweep_put_leaderboard(fp, sw, recs, order, dsr);
            int bad = ferror(fp);
            if (fclose(fp) != 0 || bad)
                rc = nomem(err);
        }
    }
    rp_table t;
    if (!rc && !(rc = rp_table_read_mem(&t, "leaderboard.csv", text, len, err))) {
        rc = table_from_text(out, "leaderboard", &t, err);
        rp_table_free(&t);
    }
    free(text);
    free(tasks);
    free(recs);
    free(order);
    free(dsr);
    cpo_market_free(m);
    cpo_sweep_free(sw);
    cpo_config_free(cfg);
    return rc;
}
