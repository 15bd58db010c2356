/*
 * report_read.c - a run folder read back for the report and for compare
 * (see report_priv.h): summary and manifest as JSON, the ledgers as
 * columns, the other CSV files as tables found by their header names.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cpo/time.h"
#include "csvread.h"
#include "report_priv.h"
#include "sidejob.h"

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

static size_t atleast1(size_t n)
{
    return n ? n : 1;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* A field as a number: 0 and *x, or -1 (blank: *x = NaN, 1). */
static int field_num(const char *s, size_t n, double *x)
{
    if (cpo_field_blank(s, n)) {
        *x = NAN;
        return 1;
    }
    if (cpo_parse_f64(s, n, x) == 0)
        return 0;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 3 && !strncasecmp(s, "nan", 3)) {
        *x = NAN;
        return 0;
    }
    if ((n == 3 && !strncasecmp(s, "inf", 3)) || (n == 4 && !strncasecmp(s, "+inf", 4))) {
        *x = INFINITY;
        return 0;
    }
    if (n == 4 && !strncasecmp(s, "-inf", 4)) {
        *x = -INFINITY;
        return 0;
    }
    return -1;
}

int rp_parse_time(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    int flags;
    size_t bad;
    if (cpo_time_parse(s, n, ms, &flags, &bad) == 0)
        return 0;
    double x;
    if (field_num(s, n, &x) == 0 && isfinite(x)) {
        *ms = fabs(x) > 1e11 ? (int64_t)llround(x) : (int64_t)llround(x * 1000.0);
        return 0;
    }
    return -1;
}

/* --- tables ------------------------------------------------------------------ */

typedef struct table_rd {
    rp_table *t;
    char *pool;
    size_t pool_n, pool_cap;
    size_t *off;          /* [cells] offsets into pool */
    size_t off_cap, num_cap;
    cpo_error *err;
} table_rd;

static int pool_add(table_rd *r, const char *s, size_t n, size_t *at)
{
    if (grow((void **)&r->pool, &r->pool_cap, r->pool_n + n + 1, 1))
        return -1;
    memcpy(r->pool + r->pool_n, s, n);
    r->pool[r->pool_n + n] = '\0';
    *at = r->pool_n;
    r->pool_n += n + 1;
    return 0;
}

static int table_row(void *ctx, const cpo_csv_row *row)
{
    table_rd *r = ctx;
    rp_table *t = r->t;
    if (!t->name) {
        t->ncol = row->n;
        t->name = calloc(row->n ? row->n : 1, sizeof *t->name);
        t->is_text = calloc(row->n ? row->n : 1, sizeof *t->is_text);
        if (!t->name || !t->is_text)
            return nomem(r->err);
        for (size_t c = 0; c < row->n; c++) {
            const char *f = row->f[c];
            size_t n = row->len[c];
            while (n && (*f == ' ' || *f == '\t')) {
                f++;
                n--;
            }
            while (n && (f[n - 1] == ' ' || f[n - 1] == '\t'))
                n--;
            if (!(t->name[c] = strndup(f, n)))
                return nomem(r->err);
        }
        return 0;
    }
    size_t base = t->nrow * t->ncol, need = base + t->ncol;
    if (grow((void **)&r->off, &r->off_cap, need, sizeof *r->off) ||
        grow((void **)&t->num, &r->num_cap, need, sizeof *t->num))
        return nomem(r->err);
    for (size_t c = 0; c < t->ncol; c++) {
        const char *f = c < row->n ? row->f[c] : "";
        size_t n = c < row->n ? row->len[c] : 0;
        if (pool_add(r, f, n, &r->off[base + c]))
            return nomem(r->err);
        double x;
        if (field_num(f, n, &x) < 0) {
            x = NAN;
            t->is_text[c] = 1;
        }
        t->num[base + c] = x;
    }
    t->nrow++;
    return 0;
}

int rp_slurp(const char *path, char **out, size_t *len, cpo_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return nomem(err);
    }
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                fclose(f);
                return nomem(err);
            }
            buf = b;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot read: %s", strerror(EIO));
    }
    buf[n] = '\0'; /* n < cap: the loop grows the buffer when it is full */
    *out = buf;
    *len = n;
    return 0;
}

/* Lines starting with '#' become empty lines (so line numbers stay) and
 * are kept, without the '#', in *notes.  *n shrinks. */
static int take_notes(char *buf, size_t *n, char **notes)
{
    *notes = NULL;
    size_t nn = 0, w = 0, len = *n;
    for (size_t i = 0; i < len;) {
        size_t start = i;
        if (i == 0 && len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
            start = 3;
        size_t end = start;
        while (end < len && buf[end] != '\n')
            end++;
        if (start < len && buf[start] == '#') {
            size_t from = start + 1, to = end;
            while (from < to && buf[from] == ' ')
                from++;
            while (to > from && (buf[to - 1] == '\r' || buf[to - 1] == ' '))
                to--;
            char *q = realloc(*notes, nn + (to - from) + 2);
            if (!q)
                return -1;
            *notes = q;
            memcpy(q + nn, buf + from, to - from);
            nn += to - from;
            q[nn++] = '\n';
            q[nn] = '\0';
            if (end < len)
                buf[w++] = '\n';
        } else {
            size_t k = (end < len ? end + 1 : end) - i;
            memmove(buf + w, buf + i, k);
            w += k;
        }
        i = end + 1;
    }
    *n = w;
    if (nn)
        (*notes)[nn - 1] = '\0';
    return 0;
}

int rp_table_read(rp_table *t, const char *path, cpo_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = rp_slurp(path, &buf, &len, err);
    if (rc) {
        memset(t, 0, sizeof *t);
        snprintf(t->path, sizeof t->path, "%s", path);
        return rc;
    }
    rc = rp_table_read_mem(t, path, buf, len, err);
    free(buf);
    return rc;
}

int rp_table_read_mem(rp_table *t, const char *path, char *buf, size_t len, cpo_error *err)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    table_rd r = {.t = t, .err = err};
    char *notes = NULL;
    int rc = 0;
    if (take_notes(buf, &len, &notes))
        rc = nomem(err);
    if (!rc)
        rc = cpo_csv_read_mem(path, buf, len, table_row, &r, err);
    if (!rc && !t->name)
        rc = cpo_error_set(err, CPO_EFORMAT, path, 0, 0, "empty file (expected a header line)");
    if (!rc) {
        size_t cells = t->nrow * t->ncol;
        t->text = malloc(atleast1(cells) * sizeof *t->text);
        if (!t->text)
            rc = nomem(err);
        /* The pool stays: the texts point into it; text[0] owns it. */
        for (size_t i = 0; !rc && i < cells; i++)
            t->text[i] = r.pool + r.off[i];
        if (!rc && cells == 0)
            free(r.pool);
        if (!rc)
            r.pool = NULL;
    }
    free(r.off);
    if (rc) {
        free(r.pool);
        free(notes);
        rp_table_free(t);
        snprintf(t->path, sizeof t->path, "%s", path);
        return rc;
    }
    t->notes = notes;
    return 0;
}

void rp_table_free(rp_table *t)
{
    if (!t)
        return;
    if (t->text && t->nrow != 0 && t->ncol != 0)
        free(t->text[0]);
    free(t->text);
    if (t->name)
        for (size_t c = 0; c < t->ncol; c++)
            free(t->name[c]);
    free(t->name);
    free(t->num);
    free(t->is_text);
    free(t->notes);
    memset(t, 0, sizeof *t);
}

int rp_table_col(const rp_table *t, const char *name)
{
    for (size_t c = 0; c < t->ncol; c++)
        if (!strcasecmp(t->name[c], name))
            return (int)c;
    return -1;
}

/* --- attribution files ------------------------------------------------------------ */

static const char *const time_names[] = {"ts", "time", "timestamp", "date", "datetime",
                                         "period_end", "period_start"};

static void attr_detect(rp_attr *a)
{
    rp_table *t = &a->t;
    a->tcol = -1;
    for (size_t k = 0; k < sizeof time_names / sizeof time_names[0] && a->tcol < 0; k++)
        a->tcol = rp_table_col(t, time_names[k]);
    a->kindcol = rp_table_col(t, "kind");
    if (a->kindcol >= 0 && !t->is_text[a->kindcol])
        a->kindcol = -1;
}

int rp_attr_key_role(const char *key)
{
    if (!strcasecmp(key, "total") || !strcasecmp(key, "total_return") ||
        !strcasecmp(key, "portfolio"))
        return RP_ROLE_TOTAL;
    if (!strcasecmp(key, "residual"))
        return RP_ROLE_RESIDUAL;
    if (!strcasecmp(key, "sum_of_parts"))
        return RP_ROLE_SUM;
    return RP_ROLE_PART;
}

static int kind_role(const char *kind)
{
    if (!strcasecmp(kind, "part"))
        return RP_ROLE_PART;
    if (!strcasecmp(kind, "total"))
        return RP_ROLE_TOTAL;
    if (!strcasecmp(kind, "residual"))
        return RP_ROLE_RESIDUAL;
    if (!strcasecmp(kind, "sum_of_parts"))
        return RP_ROLE_SUM;
    return RP_ROLE_OTHER;
}

void rp_attr_view_free(rp_attr_view *v)
{
    if (!v)
        return;
    for (size_t k = 0; k < v->nkey; k++)
        free(v->key[k]);
    for (size_t k = 0; k < v->nval; k++)
        free(v->val[k]);
    free(v->key);
    free(v->role);
    free(v->val);
    free(v->v);
    memset(v, 0, sizeof *v);
}

int rp_attr_view_make(const rp_attr *a, rp_attr_view *v, cpo_error *err)
{
    memset(v, 0, sizeof *v);
    const rp_table *t = &a->t;
    size_t nv = 0, nr = t->nrow;
    v->has_kind = a->kindcol >= 0;
    v->key = calloc(atleast1(nr), sizeof *v->key);
    v->role = calloc(atleast1(nr), sizeof *v->role);
    v->val = calloc(atleast1(t->ncol), sizeof *v->val);
    if (!v->key || !v->role || !v->val)
        goto oom;
    /* nval counts as the copies are made, so that a failure frees them. */
    for (size_t c = 0; c < t->ncol; c++)
        if ((int)c != a->tcol && !t->is_text[c] && !(v->val[v->nval++] = strdup(t->name[c])))
            goto oom;
    nv = v->nval;
    v->v = calloc(atleast1(nr * nv), sizeof *v->v);
    if (!v->v)
        goto oom;
    for (size_t r = 0; r < nr; r++) {
        char key[512];
        size_t w = 0;
        key[0] = '\0';
        for (size_t c = 0; c < t->ncol; c++) {
            if ((int)c == a->kindcol || (int)c == a->tcol || !t->is_text[c])
                continue;
            const char *f = t->text[r * t->ncol + c];
            if (!f[0])
                continue;
            int k = snprintf(key + w, sizeof key - w, "%s%s", w ? " " : "", f);
            if (k < 0 || (size_t)k >= sizeof key - w)
                break;
            w += (size_t)k;
        }
        if (!w && a->tcol >= 0)
            snprintf(key, sizeof key, "%s", t->text[r * t->ncol + (size_t)a->tcol]);
        else if (!w)
            snprintf(key, sizeof key, "%zu", r + 1);
        if (!(v->key[r] = strdup(key)))
            goto oom;
        v->nkey = r + 1;
        v->role[r] = a->kindcol >= 0 ? kind_role(t->text[r * t->ncol + (size_t)a->kindcol])
                                     : rp_attr_key_role(key);
        size_t k = 0;
        for (size_t c = 0; c < t->ncol; c++)
            if ((int)c != a->tcol && !t->is_text[c])
                v->v[r * nv + k++] = t->num[r * t->ncol + c];
    }
    v->nkey = nr;
    return 0;
oom:
    rp_attr_view_free(v);
    return nomem(err);
}

void rp_series_free(rp_series *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->ns; k++)
        free(s->name[k]);
    free(s->name);
    free(s->ts);
    free(s->s);
    memset(s, 0, sizeof *s);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static long find_ts(const int64_t *ts, size_t n, int64_t t)
{
    size_t lo = cpo_ts_count_before(ts, n, t);
    return lo < n && ts[lo] == t ? (long)lo : -1;
}

/* name matches one of the '|'-separated patterns ("x*": prefix). */
static int col_match(const char *cols, const char *name)
{
    const char *p = cols;
    while (*p) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len && p[len - 1] == '*') {
            if (!strncasecmp(name, p, len - 1))
                return 1;
        } else if (strlen(name) == len && !strncasecmp(name, p, len)) {
            return 1;
        }
        p += len + (end ? 1 : 0);
    }
    return 0;
}

int rp_attr_series(const rp_attr *a, const char *cols, int mode, rp_series *s, cpo_error *err)
{
    memset(s, 0, sizeof *s);
    const rp_table *t = &a->t;
    if (a->tcol < 0)
        return 0;
    if (mode == RP_SERIES_AUTO) {
        const char *n = t->notes;
        size_t len = n ? strcspn(n, "\n") : 0;
        int cum = 0;
        for (size_t i = 0; i + 10 <= len && !cum; i++)
            cum = !strncasecmp(n + i, "cumulative", 10);
        mode = cum ? RP_SERIES_AS_IS : RP_SERIES_SUM;
    }
    s->cumulated = mode == RP_SERIES_SUM;
    size_t *cidx = calloc(atleast1(t->ncol), sizeof *cidx);
    int64_t *rts = malloc(atleast1(t->nrow) * sizeof *rts);
    char *ok = calloc(atleast1(t->nrow), 1);
    s->ts = malloc(atleast1(t->nrow) * sizeof *s->ts);
    s->name = calloc(atleast1(t->ncol), sizeof *s->name);
    if (!cidx || !rts || !ok || !s->ts || !s->name)
        goto oom;
    for (size_t c = 0; c < t->ncol; c++) {
        if ((int)c == a->tcol || t->is_text[c] || !col_match(cols, t->name[c]))
            continue;
        if (!(s->name[s->ns] = strdup(t->name[c])))
            goto oom;
        cidx[s->ns++] = c;
    }
    for (size_t r = 0; r < t->nrow; r++)
        if (!rp_parse_time(t->text[r * t->ncol + (size_t)a->tcol], &rts[r])) {
            ok[r] = 1;
            s->ts[s->nt++] = rts[r];
        }
    qsort(s->ts, s->nt, sizeof *s->ts, cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < s->nt; i++)
        if (u == 0 || s->ts[u - 1] != s->ts[i])
            s->ts[u++] = s->ts[i];
    s->nt = u;
    s->s = malloc(atleast1(s->nt * s->ns) * sizeof *s->s);
    if (!s->s)
        goto oom;
    for (size_t i = 0; i < s->nt * s->ns; i++)
        s->s[i] = NAN;
    for (size_t r = 0; r < t->nrow; r++) {
        if (!ok[r])
            continue;
        long i = find_ts(s->ts, s->nt, rts[r]);
        for (size_t k = 0; i >= 0 && k < s->ns; k++) {
            double x = t->num[r * t->ncol + cidx[k]], *cell = &s->s[(size_t)i * s->ns + k];
            if (!isnan(x))
                *cell = isnan(*cell) ? x : *cell + x;
        }
    }
    if (mode == RP_SERIES_SUM)
        for (size_t k = 0; k < s->ns; k++) {
            double run = 0.0;
            for (size_t i = 0; i < s->nt; i++) {
                double *cell = &s->s[i * s->ns + k];
                if (!isnan(*cell))
                    run += *cell;
                *cell = run;
            }
        }
    free(cidx);
    free(rts);
    free(ok);
    return 0;
oom:
    free(cidx);
    free(rts);
    free(ok);
    rp_series_free(s);
    return nomem(err);
}

/* --- the run folder ----------------------------------------------------------------- */

static const struct {
    const char *file, *title;
} attr_files[RP_ATTR_COUNT] = {
    {"attribution_asset.csv", "Attribution by asset"},
    {"attribution_asset_series.csv", "Attribution by asset over time"},
    {"attribution_risk.csv", "Risk contributions"},
    {"attribution_factor.csv", "Attribution by factor"},
    {"attribution_factor_rolling.csv", "Factor attribution per period"},
    {"attribution_greek.csv", "Attribution by Greek"},
};

static int path_of(char *buf, size_t n, const char *dir, const char *name, cpo_error *err)
{
    if (snprintf(buf, n, "%s/%s", dir, name) >= (int)n)
        return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected < 1024 bytes)");
    return 0;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* jansson's callback loader, fed by fread: json_load_file takes the file a
 * byte at a time through getc (a fifth of reading a run folder). */
static size_t read_block(void *buf, size_t n, void *f)
{
    size_t got = fread(buf, 1, n, f);
    return got == 0 && ferror((FILE *)f) ? (size_t)-1 : got;
}

static int load_json(json_t **out, const char *path, cpo_error *err)
{
    json_error_t je;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot open: %s (expected a readable "
                             "file)", strerror(errno));
    *out = json_load_callback(read_block, f, 0, &je);
    fclose(f);
    if (!*out)
        return cpo_error_set(err, CPO_EPARSE, path, je.line > 0 ? je.line : 0,
                             je.column > 0 ? je.column : 0, "%s (expected JSON written by cpo run)",
                             je.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return cpo_error_set(err, CPO_EFORMAT, path, 0, 0, "not a JSON object (expected the "
                             "object written by cpo run)");
    }
    return 0;
}

/* ledger.csv: ts, equity, and every other column as numbers. */
typedef struct ledger_rd {
    rp_run *r;
    const char *path;
    int c_ts, c_eq;
    int *src;             /* [r->ncol] field index of each kept column */
    size_t cap;
    cpo_error *err;
} ledger_rd;

/* The header: ts and equity required, the other names kept in one block. */
static int ledger_header(ledger_rd *L, const cpo_csv_row *row)
{
    rp_run *r = L->r;
    static const char *const names[] = {"ts", "equity"};
    static const int req[] = {1, 1};
    int idx[2];
    int rc = cpo_csv_map(row, L->path, names, req, 2, idx, L->err);
    if (rc)
        return rc;
    L->c_ts = idx[0];
    L->c_eq = idx[1];
    size_t bytes = 0;
    for (size_t c = 0; c < row->n; c++)
        bytes += row->len[c] + 1;
    r->col = malloc(atleast1(row->n) * sizeof *r->col);
    L->src = malloc(atleast1(row->n) * sizeof *L->src);
    char *block = malloc(atleast1(bytes));
    if (!r->col || !L->src || !block) {
        free(block);
        return nomem(L->err);
    }
    size_t w = 0;
    for (size_t c = 0; c < row->n; c++) {
        if ((int)c == L->c_ts)
            continue;
        r->col[r->ncol] = block + w;
        memcpy(block + w, row->f[c], row->len[c] + 1);
        w += row->len[c] + 1;
        L->src[r->ncol++] = (int)c;
    }
    if (r->ncol == 0)
        free(block);
    return 0;
}

static int ledger_row(void *ctx, const cpo_csv_row *row)
{
    ledger_rd *L = ctx;
    rp_run *r = L->r;
    if (L->c_ts < 0)
        return ledger_header(L, row);
    if ((size_t)L->c_ts >= row->n || (size_t)L->c_eq >= row->n)
        return cpo_error_set(L->err, CPO_EFORMAT, L->path, row->line, 0,
                             "%zu fields (expected the columns of the header)", row->n);
    if (r->n == L->cap) {
        size_t c = L->cap ? 2 * L->cap : 1024;
        int64_t *ts = realloc(r->ts, c * sizeof *ts);
        if (ts)
            r->ts = ts;
        double *eq = realloc(r->equity, c * sizeof *eq);
        if (eq)
            r->equity = eq;
        double *cell = ts && eq ? realloc(r->cell, c * atleast1(r->ncol) * sizeof *cell) : NULL;
        if (cell)
            r->cell = cell;
        if (!ts || !eq || !cell)
            return nomem(L->err);
        L->cap = c;
    }
    int flags;
    size_t bad;
    if (cpo_time_parse(row->f[L->c_ts], row->len[L->c_ts], &r->ts[r->n], &flags, &bad))
        return cpo_error_set(L->err, CPO_EPARSE, L->path, row->line, L->c_ts + 1,
                             "ts \"%s\" is not a time (expected ISO 8601 UTC)", row->f[L->c_ts]);
    if (r->n && r->ts[r->n] <= r->ts[r->n - 1])
        return cpo_error_set(L->err, CPO_EORDER, L->path, row->line, L->c_ts + 1,
                             "ts %s is not after the row before (expected rising times)",
                             row->f[L->c_ts]);
    if (field_num(row->f[L->c_eq], row->len[L->c_eq], &r->equity[r->n]) < 0)
        return cpo_error_set(L->err, CPO_EPARSE, L->path, row->line, L->c_eq + 1,
                             "equity \"%s\" is not a number (expected a decimal number)",
                             row->f[L->c_eq]);
    /* The other columns: a number, else NaN (columns of later versions). */
    double *cell = r->cell + r->n * r->ncol;
    for (size_t c = 0; c < r->ncol; c++) {
        size_t f = (size_t)L->src[c];
        if (f >= row->n || field_num(row->f[f], row->len[f], &cell[c]) < 0)
            cell[c] = NAN;
    }
    r->n++;
    return 0;
}

int rp_ledger_col(const rp_run *r, const char *name)
{
    for (size_t c = 0; c < r->ncol; c++)
        if (!strcmp(r->col[c], name))
            return (int)c;
    return -1;
}

long rp_run_step(const rp_run *r, int64_t ts)
{
    return find_ts(r->ts, r->n, ts);
}

/* ledger_instruments.csv, read twice: the symbols, then the matrices. */
typedef struct instr_rd {
    rp_run *r;
    const char *path;
    int pass;
    int c_ts, c_sym, c_expo, c_px;
    size_t last_sym;
    long cursor;
    cpo_error *err;
} instr_rd;

static long sym_index(instr_rd *I, const char *s)
{
    rp_run *r = I->r;
    if (r->n_sym) {
        size_t g = (I->last_sym + 1) % r->n_sym;
        if (!strcmp(r->sym[g], s))
            return (long)(I->last_sym = g);
        for (size_t k = 0; k < r->n_sym; k++)
            if (!strcmp(r->sym[k], s))
                return (long)(I->last_sym = k);
    }
    return -1;
}

static int instr_row(void *ctx, const cpo_csv_row *row)
{
    instr_rd *I = ctx;
    rp_run *r = I->r;
    if (I->c_ts < 0) {
        static const char *const names[] = {"ts", "symbol", "exposure", "px"};
        static const int req[] = {1, 1, 1, 1};
        int idx[4];
        int rc = cpo_csv_map(row, I->path, names, req, 4, idx, I->err);
        if (rc)
            return rc;
        I->c_ts = idx[0];
        I->c_sym = idx[1];
        I->c_expo = idx[2];
        I->c_px = idx[3];
        return 0;
    }
    int cmax = I->c_ts;
    if (I->c_sym > cmax)
        cmax = I->c_sym;
    if (I->c_expo > cmax)
        cmax = I->c_expo;
    if (I->c_px > cmax)
        cmax = I->c_px;
    if ((size_t)cmax >= row->n)
        return cpo_error_set(I->err, CPO_EFORMAT, I->path, row->line, 0,
                             "%zu fields (expected the columns of the header)", row->n);
    const char *sym = row->f[I->c_sym];
    long k = sym_index(I, sym);
    if (I->pass == 0) {
        if (k >= 0)
            return 0;
        char **l = realloc(r->sym, (r->n_sym + 1) * sizeof *l);
        if (!l)
            return nomem(I->err);
        r->sym = l;
        if (!(l[r->n_sym] = strdup(sym)))
            return nomem(I->err);
        I->last_sym = r->n_sym++;
        return 0;
    }
    int64_t ts;
    int flags;
    size_t bad;
    if (cpo_time_parse(row->f[I->c_ts], row->len[I->c_ts], &ts, &flags, &bad))
        return cpo_error_set(I->err, CPO_EPARSE, I->path, row->line, I->c_ts + 1,
                             "ts \"%s\" is not a time (expected ISO 8601 UTC)", row->f[I->c_ts]);
    long t = I->cursor;
    if (t < 0 || (size_t)t >= r->n || r->ts[t] != ts) {
        if (t >= 0 && (size_t)t + 1 < r->n && r->ts[t + 1] == ts)
            t++;
        else
            t = rp_run_step(r, ts);
    }
    if (t < 0)
        return cpo_error_set(I->err, CPO_EDATA, I->path, row->line, I->c_ts + 1,
                             "ts %s is not a step of ledger.csv (expected the ledger's times)",
                             row->f[I->c_ts]);
    I->cursor = t;
    double e, p;
    if (field_num(row->f[I->c_expo], row->len[I->c_expo], &e) < 0)
        return cpo_error_set(I->err, CPO_EPARSE, I->path, row->line, I->c_expo + 1,
                             "exposure \"%s\" is not a number (expected a decimal number)",
                             row->f[I->c_expo]);
    if (field_num(row->f[I->c_px], row->len[I->c_px], &p) < 0)
        return cpo_error_set(I->err, CPO_EPARSE, I->path, row->line, I->c_px + 1,
                             "px \"%s\" is not a number (expected a decimal number)", row->f[I->c_px]);
    size_t cell = (size_t)t * r->n_sym + (size_t)k;
    if (!isnan(e))
        r->expo[cell] += e;
    if (!isnan(p))
        r->px[cell] = p;
    return 0;
}

static int load_instr(rp_run *r, const char *path, cpo_error *err)
{
    instr_rd I = {.r = r, .path = path, .c_ts = -1, .cursor = -1, .err = err};
    int rc = cpo_csv_read(path, instr_row, &I, err);
    if (rc)
        return rc;
    size_t cells = r->n * r->n_sym;
    r->expo = calloc(cells ? cells : 1, sizeof *r->expo);
    r->px = malloc((cells ? cells : 1) * sizeof *r->px);
    if (!r->expo || !r->px)
        return nomem(err);
    for (size_t i = 0; i < cells; i++)
        r->px[i] = NAN;
    I.pass = 1;
    I.c_ts = -1;
    I.cursor = -1;
    I.last_sym = 0;
    if ((rc = cpo_csv_read(path, instr_row, &I, err)))
        return rc;
    r->has_instr = 1;
    return 0;
}

/* The step whose bar holds time ts (the last step at or before it), or -1. */
static long step_at_or_before(const rp_run *r, long *cursor, int64_t ts)
{
    long t = *cursor;
    if (t >= 0 && (size_t)t < r->n && r->ts[t] == ts)
        return t;
    if (t >= 0 && (size_t)t + 1 < r->n && r->ts[t + 1] == ts)
        return *cursor = t + 1;
    size_t k = cpo_ts_count_before(r->ts, r->n, ts + 1);
    return *cursor = k ? (long)k - 1 : -1;
}

/* benchmark.csv: ts and return of each step. */
typedef struct bench_rd {
    rp_run *r;
    const char *path;
    int c_ts, c_ret;
    long cursor;
    cpo_error *err;
} bench_rd;

static int bench_row(void *ctx, const cpo_csv_row *row)
{
    bench_rd *B = ctx;
    rp_run *r = B->r;
    if (B->c_ts < 0) {
        static const char *const names[] = {"ts", "return"};
        static const int req[] = {1, 1};
        int idx[2];
        int rc = cpo_csv_map(row, B->path, names, req, 2, idx, B->err);
        B->c_ts = idx[0];
        B->c_ret = idx[1];
        return rc;
    }
    if ((size_t)B->c_ts >= row->n || (size_t)B->c_ret >= row->n)
        return cpo_error_set(B->err, CPO_EFORMAT, B->path, row->line, 0,
                             "%zu fields (expected the columns of the header)", row->n);
    int64_t ts;
    int flags;
    size_t bad;
    if (cpo_time_parse(row->f[B->c_ts], row->len[B->c_ts], &ts, &flags, &bad))
        return cpo_error_set(B->err, CPO_EPARSE, B->path, row->line, B->c_ts + 1,
                             "ts \"%s\" is not a time (expected ISO 8601 UTC)", row->f[B->c_ts]);
    long t = step_at_or_before(r, &B->cursor, ts);
    if (t < 0 || r->ts[t] != ts)
        return cpo_error_set(B->err, CPO_EDATA, B->path, row->line, B->c_ts + 1,
                             "ts %s is not a step of ledger.csv (expected the ledger's times)",
                             row->f[B->c_ts]);
    double x;
    if (field_num(row->f[B->c_ret], row->len[B->c_ret], &x) < 0)
        return cpo_error_set(B->err, CPO_EPARSE, B->path, row->line, B->c_ret + 1,
                             "return \"%s\" is not a number (expected a decimal number)",
                             row->f[B->c_ret]);
    r->bench_ret[t] = x;
    return 0;
}

static int load_bench(rp_run *r, const char *path, cpo_error *err)
{
    r->bench_ret = malloc(atleast1(r->n) * sizeof *r->bench_ret);
    if (!r->bench_ret)
        return nomem(err);
    for (size_t t = 0; t < r->n; t++)
        r->bench_ret[t] = NAN;
    bench_rd B = {.r = r, .path = path, .c_ts = -1, .cursor = -1, .err = err};
    int rc = cpo_csv_read(path, bench_row, &B, err);
    if (!rc)
        r->has_bench = 1;
    return rc;
}

/* --- the option files ---------------------------------------------------------------- */

enum { OC_TS = 0, OC_NAME, OC_UND, OC_EXPIRY, OC_QTY, OC_RATE, OC_MTM, OC_INDEX, OC_DELTA,
       OC_GAMMA, OC_VEGA, OC_THETA, OC_COUNT };

typedef struct opt_rd {
    rp_run *r;
    const char *path;
    int trades;           /* 0: options.csv, 1: option_trades.csv */
    int c[OC_COUNT];
    long cursor;
    size_t con_cap, last;
    cpo_error *err;
} opt_rd;

/* The underlying of a row into *u (-1: not one of options.csv's, for a
 * trade); 0 or an error. */
static int und_index(opt_rd *O, const cpo_csv_row *row, int col, int *u)
{
    rp_opt *o = &O->r->opt;
    const char *name = row->f[col];
    for (size_t k = 0; k < o->nu; k++)
        if (!strcmp(o->und[k], name)) {
            *u = (int)k;
            return 0;
        }
    *u = -1;
    if (O->trades)
        return 0;
    if (o->nu == RP_MAX_UNDERLYINGS || row->len[col] >= sizeof o->und[0])
        return cpo_error_set(O->err, CPO_ERANGE, O->path, row->line, col + 1,
                             "underlying \"%s\": more than %d underlyings or a name of more "
                             "than %zu characters (expected the option book of cpo run)", name,
                             RP_MAX_UNDERLYINGS, sizeof o->und[0] - 1);
    memcpy(o->und[o->nu], name, row->len[col] + 1);
    *u = (int)o->nu++;
    return 0;
}

/* The contract of a row into *k (added when new); 0 or CPO_ENOMEM. */
static int con_index(opt_rd *O, const cpo_csv_row *row, size_t *k)
{
    rp_opt *o = &O->r->opt;
    const char *name = row->f[O->c[OC_NAME]];
    size_t g = O->last < o->ncon ? O->last : 0;
    for (size_t i = 0; i < o->ncon; i++, g = (g + 1) % o->ncon)
        if (!strcmp(o->con[g].name, name)) {
            *k = O->last = g;
            return 0;
        }
    if (o->ncon == O->con_cap) {
        size_t c = O->con_cap ? 2 * O->con_cap : 16;
        rp_contract *q = realloc(o->con, c * sizeof *q);
        if (!q)
            return nomem(O->err);
        o->con = q;
        O->con_cap = c;
    }
    rp_contract *x = &o->con[o->ncon];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->underlying, sizeof x->underlying, "%s", row->f[O->c[OC_UND]]);
    snprintf(x->expiry, sizeof x->expiry, "%s", row->f[O->c[OC_EXPIRY]]);
    int flags;
    size_t bad;
    if (cpo_time_parse(x->expiry, strlen(x->expiry), &x->expiry_ms, &flags, &bad))
        x->expiry_ms = CPO_TIME_NONE;
    *k = O->last = o->ncon++;
    return 0;
}

/* A number of a row; NaN when blank or not one. */
static double row_num(const cpo_csv_row *row, int col)
{
    double x;
    if (col < 0 || (size_t)col >= row->n || field_num(row->f[col], row->len[col], &x) < 0)
        return NAN;
    return x;
}

static int opt_row(void *ctx, const cpo_csv_row *row)
{
    opt_rd *O = ctx;
    rp_run *r = O->r;
    rp_opt *o = &r->opt;
    if (O->c[OC_TS] < 0) {
        static const char *const names[OC_COUNT] = {
            "ts", "name", "underlying", "expiry", "qty", "rate", "mtm_coin", "index",
            "coin_delta_account", "coin_gamma", "coin_vega", "coin_theta"};
        static const int req_pos[OC_COUNT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        static const char *const tnames[] = {"ts", "name", "underlying", "expiry", "fee",
                                             "slippage", "index"};
        static const int req_tr[] = {1, 1, 1, 1, 1, 1, 1};
        if (!O->trades)
            return cpo_csv_map(row, O->path, names, req_pos, OC_COUNT, O->c, O->err);
        int idx[7];
        int rc = cpo_csv_map(row, O->path, tnames, req_tr, 7, idx, O->err);
        /* fee and slippage take the places of qty and rate. */
        O->c[OC_TS] = idx[0];
        O->c[OC_NAME] = idx[1];
        O->c[OC_UND] = idx[2];
        O->c[OC_EXPIRY] = idx[3];
        O->c[OC_QTY] = idx[4];
        O->c[OC_RATE] = idx[5];
        O->c[OC_INDEX] = idx[6];
        return rc;
    }
    int need[] = {OC_TS, OC_NAME, OC_UND, OC_EXPIRY};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
        if ((size_t)O->c[need[k]] >= row->n)
            return cpo_error_set(O->err, CPO_EFORMAT, O->path, row->line, 0,
                                 "%zu fields (expected the columns of the header)", row->n);
    int64_t ts;
    int flags;
    size_t bad;
    int ct = O->c[OC_TS];
    if (cpo_time_parse(row->f[ct], row->len[ct], &ts, &flags, &bad))
        return cpo_error_set(O->err, CPO_EPARSE, O->path, row->line, ct + 1,
                             "ts \"%s\" is not a time (expected ISO 8601 UTC)", row->f[ct]);
    long t = step_at_or_before(r, &O->cursor, ts);
    if (t < 0)
        return cpo_error_set(O->err, CPO_EDATA, O->path, row->line, ct + 1,
                             "ts %s is before the first step of ledger.csv (expected the "
                             "ledger's times)", row->f[ct]);
    int u = -1;
    size_t k = 0;
    int rc = und_index(O, row, O->c[OC_UND], &u);
    if (rc || (rc = con_index(O, row, &k)))
        return rc;
    rp_contract *c = &o->con[k];
    size_t nu = RP_MAX_UNDERLYINGS;
    if (O->trades) {
        /* Fees and slippage (coin) at the rate of the step, as the engine books them. */
        double rate = u >= 0 ? o->rate[(size_t)t * nu + (size_t)u] : NAN;
        if (!isfinite(rate)) {
            rate = row_num(row, O->c[OC_INDEX]);
            o->approx++;
        }
        double fee = row_num(row, O->c[OC_QTY]), slip = row_num(row, O->c[OC_RATE]);
        if (isfinite(fee * rate))
            c->fees -= fee * rate;
        if (isfinite(slip * rate))
            c->slippage -= slip * rate;
        c->trades++;
        return 0;
    }
    double qty = row_num(row, O->c[OC_QTY]), rate = row_num(row, O->c[OC_RATE]);
    double mtm = row_num(row, O->c[OC_MTM]), idx = row_num(row, O->c[OC_INDEX]);
    if (isfinite(mtm * rate))
        c->options += mtm * rate;
    if (isfinite(rate))
        o->rate[(size_t)t * nu + (size_t)u] = rate;
    double *g = o->greek + ((size_t)t * nu + (size_t)u) * RP_OG_COUNT;
    const double scale[RP_OG_COUNT] = {1.0, isfinite(idx) ? idx * idx / 100.0 : NAN, 0.01,
                                       1.0 / 365.0};
    for (int q = 0; q < RP_OG_COUNT; q++) {
        double x = qty * row_num(row, O->c[OC_DELTA + q]) * scale[q];
        if (isfinite(x))
            g[q] += x;
    }
    return 0;
}

static int cmp_contract(const void *a, const void *b)
{
    const rp_contract *x = a, *y = b;
    if (x->expiry_ms != y->expiry_ms)
        return x->expiry_ms < y->expiry_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* options.csv, then option_trades.csv (fees at the rates of options.csv)
 * and explain_by.csv when they are there.  The greek and rate arrays are
 * laid out for RP_MAX_UNDERLYINGS while reading and packed to nu after. */
static int load_opt(rp_run *r, const char *dir, cpo_error *err)
{
    rp_opt *o = &r->opt;
    char p[1200];
    size_t nu = RP_MAX_UNDERLYINGS, cells = atleast1(r->n * nu);
    o->greek = calloc(cells * RP_OG_COUNT, sizeof *o->greek);
    o->rate = malloc(cells * sizeof *o->rate);
    if (!o->greek || !o->rate)
        return nomem(err);
    for (size_t i = 0; i < cells; i++)
        o->rate[i] = NAN;
    int rc = path_of(p, sizeof p, dir, "options.csv", err);
    opt_rd O = {.r = r, .path = p, .cursor = -1, .err = err};
    for (int k = 0; k < OC_COUNT; k++)
        O.c[k] = -1;
    if (rc || (rc = cpo_csv_read(p, opt_row, &O, err)))
        return rc;
    if ((rc = path_of(p, sizeof p, dir, "option_trades.csv", err)))
        return rc;
    if (file_exists(p)) {
        opt_rd T = {.r = r, .path = p, .trades = 1, .cursor = -1, .con_cap = O.con_cap,
                    .err = err};
        for (int k = 0; k < OC_COUNT; k++)
            T.c[k] = -1;
        if ((rc = cpo_csv_read(p, opt_row, &T, err)))
            return rc;
        o->has_trades = 1;
    }
    /* Pack to nu underlyings (in place: the packed index is never ahead). */
    for (size_t t = 0; t < r->n; t++)
        for (size_t u = 0; u < o->nu; u++) {
            o->rate[t * o->nu + u] = o->rate[t * nu + u];
            for (int q = 0; q < RP_OG_COUNT; q++)
                o->greek[(t * o->nu + u) * RP_OG_COUNT + q] =
                    o->greek[(t * nu + u) * RP_OG_COUNT + q];
        }
    if (o->ncon)
        qsort(o->con, o->ncon, sizeof *o->con, cmp_contract);
    if ((rc = path_of(p, sizeof p, dir, "explain_by.csv", err)))
        return rc;
    if (file_exists(p)) {
        if ((rc = rp_table_read(&o->explain_by, p, err)))
            return rc;
        o->has_explain_by = 1;
    }
    r->has_opt = 1;
    return 0;
}

/* dir is a folder with a summary.json: 0, or the error. */
static int run_dir_ok(const char *dir, cpo_error *err)
{
    char p[1200];
    struct stat st;
    if (stat(dir, &st) != 0)
        return cpo_error_set(err, CPO_ENOTFOUND, dir, 0, 0, "no such folder (expected a run "
                             "folder written by cpo run)");
    if (!S_ISDIR(st.st_mode))
        return cpo_error_set(err, CPO_EINVAL, dir, 0, 0, "not a folder (expected a run folder "
                             "written by cpo run)");
    int rc = path_of(p, sizeof p, dir, "summary.json", err);
    if (rc)
        return rc;
    if (!file_exists(p))
        return cpo_error_set(err, CPO_ENOTFOUND, dir, 0, 0,
                             "no summary.json (expected a run folder written by cpo run)");
    return 0;
}

/* The files of a run folder (run_dir_ok) into r but the attribution's
 * (attr_load_run): 0, or the error of the first that cannot be read.  r
 * is freed by the caller on failure. */
static int load_files(rp_run *r, const char *dir, cpo_error *err)
{
    char p[1200];
    int rc = path_of(p, sizeof p, dir, "summary.json", err);
    if (rc)
        return rc;
    if ((rc = load_json(&r->summary, p, err)))
        goto fail;
    if ((rc = path_of(p, sizeof p, dir, "manifest.json", err)))
        goto fail;
    if (file_exists(p) && (rc = load_json(&r->manifest, p, err)))
        goto fail;
    if ((rc = path_of(p, sizeof p, dir, "ledger.csv", err)))
        goto fail;
    if (!file_exists(p)) {
        rc = cpo_error_set(err, CPO_ENOTFOUND, dir, 0, 0,
                           "no ledger.csv (expected a run folder written by cpo run)");
        goto fail;
    }
    ledger_rd L = {.r = r, .path = p, .c_ts = -1, .err = err};
    rc = cpo_csv_read(p, ledger_row, &L, err);
    free(L.src);
    if (rc)
        goto fail;

    const json_t *cap = json_object_get(r->summary, "capital");
    r->capital = json_is_number(cap) ? json_number_value(cap) : r->n ? r->equity[0] : NAN;
    const json_t *ccy = json_object_get(r->summary, "currency");
    snprintf(r->currency, sizeof r->currency, "%s", json_is_string(ccy) ? json_string_value(ccy) : "");
    const json_t *ppy = json_object_get(json_object_get(r->summary, "period"), "periods_per_year");
    if (json_is_number(ppy) && json_number_value(ppy) > 0.0) {
        r->ppy = json_number_value(ppy);
        r->bar_ms = (int64_t)llround((double)(365 * CPO_MS_DAY) / r->ppy);
    } else {
        /* The smallest spacing of the ledger (a gap is not a bar). */
        r->bar_ms = 0;
        for (size_t t = 1; t < r->n; t++)
            if (r->bar_ms == 0 || r->ts[t] - r->ts[t - 1] < r->bar_ms)
                r->bar_ms = r->ts[t] - r->ts[t - 1];
        if (r->bar_ms <= 0)
            r->bar_ms = CPO_MS_DAY;
        r->ppy = (double)(365 * CPO_MS_DAY) / (double)r->bar_ms;
    }

    if ((rc = path_of(p, sizeof p, dir, "ledger_instruments.csv", err)))
        goto fail;
    if (file_exists(p) && (rc = load_instr(r, p, err)))
        goto fail;
    if ((rc = path_of(p, sizeof p, dir, "trades.csv", err)))
        goto fail;
    if (file_exists(p)) {
        if ((rc = rp_table_read(&r->trades, p, err)))
            goto fail;
        r->has_trades = 1;
    }
    if ((rc = path_of(p, sizeof p, dir, "events.csv", err)))
        goto fail;
    if (file_exists(p)) {
        if ((rc = rp_table_read(&r->events, p, err)))
            goto fail;
        r->has_events = 1;
    }
    const json_t *bn = json_object_get(r->summary, "benchmark");
    if (json_is_string(bn))
        snprintf(r->bench, sizeof r->bench, "%s", json_string_value(bn));
    if ((rc = path_of(p, sizeof p, dir, "benchmark.csv", err)))
        goto fail;
    if (r->bench[0] && file_exists(p) && (rc = load_bench(r, p, err)))
        goto fail;
    if ((rc = path_of(p, sizeof p, dir, "options.csv", err)))
        goto fail;
    if (file_exists(p) && (rc = load_opt(r, dir, err)))
        goto fail;
    if ((rc = path_of(p, sizeof p, dir, "futures.csv", err)))
        goto fail;
    if (file_exists(p)) {
        if ((rc = rp_table_read(&r->fut, p, err)))
            goto fail;
        r->has_fut = 1;
    }
    return 0;
fail:
    return rc;
}

/* The attribution files of a run folder into r->attr (what rp_run_load
 * reads last), on a thread of their own: they are about half the bytes
 * of a run's files, and touch nothing of r but r->attr. */
typedef struct attr_load {
    rp_run *r;
    const char *dir;
} attr_load;

static int attr_load_run(void *ctx, cpo_error *err)
{
    attr_load *j = ctx;
    char p[1200];
    int rc = 0;
    for (int a = 0; a < RP_ATTR_COUNT && !rc; a++) {
        rp_attr *at = &j->r->attr[a];
        if ((rc = path_of(p, sizeof p, j->dir, at->file, err)))
            break;
        if (!file_exists(p))
            continue;
        if ((rc = rp_table_read(&at->t, p, err)))
            break;
        at->present = 1;
        attr_detect(at);
    }
    return rc;
}

int rp_run_load(rp_run *r, const char *dir, cpo_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    for (int a = 0; a < RP_ATTR_COUNT; a++) {
        r->attr[a].file = attr_files[a].file;
        r->attr[a].title = attr_files[a].title;
        r->attr[a].tcol = r->attr[a].kindcol = -1;
    }
    /* The attribution files beside the others (in line when no thread
     * can be made); the error reported is the one the files' order gives:
     * theirs only when the others read. */
    int rc = run_dir_ok(dir, err);
    if (rc)
        return rc;
    attr_load aj = {r, dir};
    cpo_side_job side;
    cpo_side_start(&side, attr_load_run, &aj);
    rc = cpo_side_join(&side, load_files(r, dir, err), err);
    if (rc)
        rp_run_free(r);
    return rc;
}

void rp_run_free(rp_run *r)
{
    if (!r)
        return;
    json_decref(r->summary);
    json_decref(r->manifest);
    free(r->ts);
    free(r->equity);
    if (r->col && r->ncol)
        free(r->col[0]);
    free(r->col);
    free(r->cell);
    free(r->bench_ret);
    free(r->opt.greek);
    free(r->opt.rate);
    free(r->opt.con);
    rp_table_free(&r->opt.explain_by);
    for (size_t k = 0; k < r->n_sym; k++)
        free(r->sym[k]);
    free(r->sym);
    free(r->expo);
    free(r->px);
    rp_table_free(&r->trades);
    rp_table_free(&r->events);
    rp_table_free(&r->fut);
    for (int a = 0; a < RP_ATTR_COUNT; a++)
        rp_table_free(&r->attr[a].t);
    char dir[sizeof r->dir];
    memcpy(dir, r->dir, sizeof dir);
    memset(r, 0, sizeof *r);
    memcpy(r->dir, dir, sizeof dir);
}

/* --- drawdowns ------------------------------------------------------------------------ */

static int cmp_dd(const void *a, const void *b)
{
    const rp_dd *x = a, *y = b;
    if (x->depth != y->depth)
        return x->depth > y->depth ? -1 : 1;
    return x->trough < y->trough ? -1 : x->trough > y->trough;
}

long rp_drawdowns(const double *eq, size_t n, double base, rp_dd *out, size_t k)
{
    /* Every episode: from a peak to the first step back at or above it. */
    size_t cap = 16, m = 0;
    if (k == 0)
        return 0;
    rp_dd *all = malloc(cap * sizeof *all);
    if (!all)
        return -1;
    double peak = base;
    size_t peak_at = SIZE_MAX;
    int in = 0;
    rp_dd cur = {0};
    for (size_t t = 0; t < n; t++) {
        double e = eq[t];
        if (!isfinite(e))
            continue;
        if (e >= peak) {
            if (in) {
                cur.recovery = t;
                if (m == cap) {
                    rp_dd *q = realloc(all, 2 * cap * sizeof *q);
                    if (!q) {
                        free(all);
                        return -1;
                    }
                    all = q;
                    cap *= 2;
                }
                all[m++] = cur;
                in = 0;
            }
            peak = e;
            peak_at = t;
            continue;
        }
        double d = peak > 0.0 ? 1.0 - e / peak : 0.0;
        if (!in) {
            in = 1;
            cur.peak = peak_at;
            cur.trough = t;
            cur.depth = d;
            cur.recovery = SIZE_MAX;
        } else if (d > cur.depth) {
            cur.depth = d;
            cur.trough = t;
        }
    }
    if (in) {
        if (m == cap) {
            rp_dd *q = realloc(all, (cap + 1) * sizeof *q);
            if (!q) {
                free(all);
                return -1;
            }
            all = q;
            cap++;
        }
        all[m++] = cur;
    }
    qsort(all, m, sizeof *all, cmp_dd);
    size_t got = m < k ? m : k;
    memcpy(out, all, got * sizeof *out);
    free(all);
    return (long)got;
}
