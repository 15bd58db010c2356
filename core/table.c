/* table.c - tables of named, typed column views (cpo/table.h). */
#include "cpo/table.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"
#include "csvwrite.h"

struct cpo_table {
    char *name;
    size_t n_rows;
    size_t n_cols, cap_cols;
    cpo_col *cols;   /* names owned */
    char *notes;
    void **owned;    /* memory freed with the table */
    size_t n_owned, cap_owned;
};

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

const char *cpo_col_type_name(int type)
{
    static const char *const names[] = {"f64", "time", "i64", "i32", "i8", "str", "chars"};
    return type >= 0 && type <= CPO_COL_CHARS ? names[type] : "?";
}

static size_t type_size(int type)
{
    switch (type) {
    case CPO_COL_F64: return sizeof(double);
    case CPO_COL_TIME:
    case CPO_COL_I64: return sizeof(int64_t);
    case CPO_COL_I32: return sizeof(int32_t);
    case CPO_COL_I8: return sizeof(int8_t);
    case CPO_COL_STR: return sizeof(const char *);
    default: return 0;
    }
}

int cpo_table_new(cpo_table **out, const char *name, size_t n_rows, cpo_error *err)
{
    *out = NULL;
    cpo_table *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name ? name : ""))) {
        free(t);
        return nomem(err);
    }
    t->n_rows = n_rows;
    *out = t;
    return 0;
}

void cpo_table_free(cpo_table *t)
{
    if (!t)
        return;
    for (size_t c = 0; c < t->n_cols; c++)
        free((char *)t->cols[c].name);
    free(t->cols);
    for (size_t k = 0; k < t->n_owned; k++)
        free(t->owned[k]);
    free(t->owned);
    free(t->notes);
    free(t->name);
    free(t);
}

int cpo_table_adopt(cpo_table *t, void *p, cpo_error *err)
{
    if (t->n_owned == t->cap_owned) {
        size_t nc = t->cap_owned ? 2 * t->cap_owned : 16;
        void **no = realloc(t->owned, nc * sizeof *no);
        if (!no) {
            free(p);
            return nomem(err);
        }
        t->owned = no;
        t->cap_owned = nc;
    }
    t->owned[t->n_owned++] = p;
    return 0;
}

void *cpo_table_alloc(cpo_table *t, size_t n, cpo_error *err)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p) {
        nomem(err);
        return NULL;
    }
    return cpo_table_adopt(t, p, err) ? NULL : p;
}

int cpo_table_add(cpo_table *t, const char *name, cpo_col_type type, const void *data,
                  size_t stride, size_t size, cpo_error *err)
{
    if (!size)
        size = type_size(type);
    if (!size || type < CPO_COL_F64 || type > CPO_COL_CHARS)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "column \"%s\": type %d with size %zu (expected a cpo_col_type, "
                             "and a width for chars)",
                             name, (int)type, size);
    if (t->n_cols == t->cap_cols) {
        size_t nc = t->cap_cols ? 2 * t->cap_cols : 16;
        cpo_col *ncols = realloc(t->cols, nc * sizeof *ncols);
        if (!ncols)
            return nomem(err);
        t->cols = ncols;
        t->cap_cols = nc;
    }
    char *nm = strdup(name);
    if (!nm)
        return nomem(err);
    t->cols[t->n_cols++] = (cpo_col){nm, (int)type, t->n_rows ? data : NULL, stride, size};
    return 0;
}

int cpo_table_set_notes(cpo_table *t, const char *notes, cpo_error *err)
{
    char *n = notes ? strdup(notes) : NULL;
    if (notes && !n)
        return nomem(err);
    free(t->notes);
    t->notes = n;
    return 0;
}

const char *cpo_table_name(const cpo_table *t)
{
    return t->name;
}

size_t cpo_table_rows(const cpo_table *t)
{
    return t->n_rows;
}

size_t cpo_table_cols(const cpo_table *t)
{
    return t->n_cols;
}

const cpo_col *cpo_table_col(const cpo_table *t, size_t k)
{
    return k < t->n_cols ? &t->cols[k] : NULL;
}

const cpo_col *cpo_table_find(const cpo_table *t, const char *name)
{
    for (size_t c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c].name, name))
            return &t->cols[c];
    return NULL;
}

const char *cpo_table_notes(const cpo_table *t)
{
    return t->notes;
}

/* One value of column c at row i, as CSV. */
static void put_value(FILE *fp, const cpo_col *c, size_t i, int flags)
{
    const char *p = (const char *)c->data + i * c->stride;
    char b[48];
    switch (c->type) {
    case CPO_COL_F64: {
        double x;
        memcpy(&x, p, sizeof x);
        cpo_fmt_double(b, sizeof b, x);
        fputs(b, fp);
        break;
    }
    case CPO_COL_TIME: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        cpo_time_format(v, b, sizeof b);
        fputs(b, fp);
        break;
    }
    case CPO_COL_I64: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        fprintf(fp, "%" PRId64, v);
        break;
    }
    case CPO_COL_I32: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        fprintf(fp, "%" PRId32, v);
        break;
    }
    case CPO_COL_I8: fprintf(fp, "%d", (int)*(const int8_t *)p); break;
    case CPO_COL_STR: {
        const char *s;
        memcpy(&s, p, sizeof s);
        cpo_csv_text(fp, s ? s : "", flags);
        break;
    }
    case CPO_COL_CHARS: {
        char *s = strndup(p, c->size);
        cpo_csv_text(fp, s ? s : "", flags);
        free(s);
        break;
    }
    default: break;
    }
}

/* Rows [a, b) of cpo_table_write_csv (cpo_csv_rows_fn). */
typedef struct table_csv {
    const cpo_table *t;
    int flags;
} table_csv;

static void table_rows(void *ctx, FILE *fp, size_t a, size_t b)
{
    const table_csv *tc = ctx;
    const cpo_table *t = tc->t;
    for (size_t i = a; i < b; i++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c)
                fputc(',', fp);
            put_value(fp, &t->cols[c], i, tc->flags);
        }
        fputc('\n', fp);
    }
}

void cpo_table_write_csv(const cpo_table *t, FILE *fp, int flags)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        if (c)
            fputc(',', fp);
        cpo_csv_text(fp, t->cols[c].name, flags);
    }
    fputc('\n', fp);
    table_csv tc = {t, flags};
    cpo_csv_put_rows(fp, t->n_rows, 0, table_rows, &tc);
}
