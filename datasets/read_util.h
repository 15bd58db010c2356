/*
 * read_util.h - helpers shared by the funding, index, mark-kline and futures
 * readers (read_funding.c, read_index.c, read_klines.c, read_futures.c).
 * Private to libcpo.
 *
 * JSON files are loaded whole with jansson.  Jansson keeps no positions
 * for the values it returns, so after a successful parse the text is
 * scanned once more to find where each element of the top-level array
 * starts; problems with an element are reported at that line and column
 * (the column counts bytes, 1-based) and name the element by its 1-based
 * index: "path:12:3: element 3: time ... (expected ...)".
 */
#ifndef CPO_READ_UTIL_H
#define CPO_READ_UTIL_H

#include <jansson.h>

#include "importer.h"

/* A row- or element-level problem: like cpo_import_problem, but in
 * lenient mode appends `drop_what` ("; row dropped") to the message and
 * returns CPO_IMPORT_DROP.  Strict: the negative code. */
int cpo_read_problem(cpo_import_ctx *c, int code, long line, long col,
                     const char *drop_what, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Nothing staged: "no data rows (expected at least one row)" if the
 * file had none, else "no usable rows: all 3 rows were dropped (expected
 * at least one valid row)" (import.c's wording).  0 if staged > 0. */
int cpo_read_no_rows(cpo_import_ctx *c, size_t staged);

/* The whole of c->path into *out (malloc'd, the caller frees it; *len
 * bytes, not NUL-terminated).  Errors are fatal in both modes: "cannot
 * open: ... (expected a readable file)", "read error: ...". */
int cpo_read_whole(cpo_import_ctx *c, char **out, size_t *len);

/* Load c->path as JSON (after a UTF-8 BOM): *root (the caller's, with
 * json_decref), *text the file (the caller's, to free) and *s, *n the JSON
 * in it (for positions).  A syntax error is fatal in both modes:
 *   path:3:5: <jansson's text> (expected <want>) */
int cpo_json_load(cpo_import_ctx *c, const char *want, char **text, const char **s, size_t *n,
                  json_t **root);

/* A loaded JSON document whose top level is an array. */
typedef struct cpo_json_doc {
    json_t *root;
    size_t n;     /* elements of the top-level array */
    long *line;   /* [n] where each element starts (0 if not known) */
    long *col;
} cpo_json_doc;

/*
 * Load c->path as JSON; the top level must be an array.  Errors (fatal
 * in both modes):
 *   path: cannot read the file: No such file or directory (expected a readable file)
 *   path:3:5: <jansson's text> (expected a JSON array)
 *   path:1:1: top-level value is an object (expected a JSON array)
 */
int cpo_json_load_array(cpo_import_ctx *c, cpo_json_doc *d);
void cpo_json_doc_fini(cpo_json_doc *d);

/* "an object", "a string", "a number", "true", "null", ... */
const char *cpo_json_type_name(const json_t *v);

/* A problem with element i (0-based) of d: the message is prefixed with
 * "element <i+1>: " and, in lenient mode, suffixed "; element dropped". */
int cpo_json_problem(cpo_import_ctx *c, const cpo_json_doc *d, size_t i, int code,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Element i's value v as ms since 1970 (an integer, or a number without a
 * fraction, between 1990 and 2100), or a problem naming it `name`:
 *   element 3: no "time" (expected ms since 1970)          (v NULL)
 *   element 3: time is a string (expected ms since 1970)
 *   element 3: time 1.5 is not a whole number (expected ms since 1970)
 *   element 3: time 12 is out of range (expected ms between 1990 and 2100)
 * 0, or the cpo_json_problem convention. */
int cpo_json_ms(cpo_import_ctx *c, const cpo_json_doc *d, size_t i, const json_t *v,
                const char *name, int64_t *out);

/* Element i's value v as a number: a JSON number or a numeric string
 * (Binance's REST arrays quote prices), or a problem naming it `name`:
 *   element 3: close "abc" is not a number (expected a decimal number)
 *   element 3: close is null (expected a number)
 * 0, or the cpo_json_problem convention. */
int cpo_json_f64(cpo_import_ctx *c, const cpo_json_doc *d, size_t i, const json_t *v,
                 const char *name, double *out);

/* 1 if the first byte of the file that is not blank (after a UTF-8 BOM)
 * is '[' or '{': a JSON file; 0 otherwise (CSV, or unreadable). */
int cpo_looks_like_json(const char *path);

/* Copy at most cap-1 bytes of s[0..n) into dst, cutting only at a UTF-8
 * character boundary.  Returns 1 if the text was cut. */
int cpo_copy_text(char *dst, size_t cap, const char *s, size_t n);

#endif
