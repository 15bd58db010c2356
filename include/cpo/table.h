/*
 * cpo/table.h - a table as named, typed columns: how cpo hands results
 * and data to a program that embeds it (cpo/api.h, the Python package in
 * python/).
 *
 * A column is a view: a pointer to its first value and the bytes from one
 * value to the next (stride), so a column is an array of its own (stride
 * = the size of a value) or one field of an array of structs (stride =
 * the size of the struct), and can be handed on without a copy (numpy
 * takes pointer, stride and type as they are).  Time is int64_t
 * milliseconds since 1970 UTC; NaN means missing.
 *
 * Ownership: a table belongs to whoever made it (cpo_table_free).  It
 * owns its column names, its notes and the memory given by
 * cpo_table_alloc; a column made over memory the table does not own (a
 * dataset's arrays) lives as long as that memory: the function that makes
 * such a table says so.
 */
#ifndef CPO_TABLE_H
#define CPO_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cpo_col_type {
    CPO_COL_F64 = 0,   /* double; NaN = missing */
    CPO_COL_TIME = 1,  /* int64_t ms since 1970 UTC */
    CPO_COL_I64 = 2,   /* int64_t */
    CPO_COL_I32 = 3,   /* int32_t */
    CPO_COL_I8 = 4,    /* int8_t */
    CPO_COL_STR = 5,   /* const char *: NUL-terminated text, never NULL */
    CPO_COL_CHARS = 6  /* char[size]: text padded with NULs (no NUL when it
                          fills the size) */
} cpo_col_type;

/* "f64", "time", "i64", "i32", "i8", "str", "chars"; "?" otherwise. */
const char *cpo_col_type_name(int type);

typedef struct cpo_col {
    const char *name;
    int type;          /* cpo_col_type */
    const void *data;  /* the first value (NULL when the table has no rows) */
    size_t stride;     /* bytes from one value to the next */
    size_t size;       /* bytes of one value (CPO_COL_CHARS: the width) */
} cpo_col;

typedef struct cpo_table cpo_table;

/* An empty table of n_rows rows and no column, named name ("ledger"). */
int cpo_table_new(cpo_table **out, const char *name, size_t n_rows, cpo_error *err);
void cpo_table_free(cpo_table *t); /* NULL is a no-op */

/* Add a column over data (not copied; see Ownership).  size 0: the size
 * of the type (CPO_COL_CHARS needs it). */
int cpo_table_add(cpo_table *t, const char *name, cpo_col_type type, const void *data,
                  size_t stride, size_t size, cpo_error *err);

/* n bytes (zeroed) that live as long as the table; NULL and CPO_ENOMEM in
 * err when out of memory. */
void *cpo_table_alloc(cpo_table *t, size_t n, cpo_error *err);

/* Keep p (malloc'd) until the table is freed; on failure p is freed. */
int cpo_table_adopt(cpo_table *t, void *p, cpo_error *err);

/* Set the notes ('\n'-separated lines, copied; NULL: none). */
int cpo_table_set_notes(cpo_table *t, const char *notes, cpo_error *err);

const char *cpo_table_name(const cpo_table *t);
size_t cpo_table_rows(const cpo_table *t);
size_t cpo_table_cols(const cpo_table *t);
/* Column k (k < cpo_table_cols), or NULL. */
const cpo_col *cpo_table_col(const cpo_table *t, size_t k);
/* The column named name (exact), or NULL. */
const cpo_col *cpo_table_find(const cpo_table *t, const char *name);
/* The notes, or NULL. */
const char *cpo_table_notes(const cpo_table *t);

/*
 * The table as CSV on fp: a header of the column names, then one line a
 * row: numbers with 17 significant digits ("nan" when missing), times ISO
 * 8601 UTC (2024-01-02T00:00:00Z), text quoted when it holds a comma, a
 * quote or a line break (and '#' with CPO_CSV_QUOTE_HASH of
 * core/csvwrite.h: flags 1).  The notes are not written.  A table of
 * more than 16,384 rows is formatted on every core, in pieces written in
 * row order (the same bytes); only this call writes to fp meanwhile.
 */
void cpo_table_write_csv(const cpo_table *t, FILE *fp, int flags);

#ifdef __cplusplus
}
#endif
#endif
