/* read_util.c - JSON loading with element positions, problem helpers. */
#include "read_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int vproblem(cpo_import_ctx *c, int code, long line, long col,
                    const char *prefix, const char *drop_what, const char *fmt,
                    va_list ap)
{
    char msg[CPO_ERROR_MSG_MAX];
    size_t k = (size_t)snprintf(msg, sizeof msg, "%s", prefix ? prefix : "");
    if (k < sizeof msg)
        vsnprintf(msg + k, sizeof msg - k, fmt, ap);
    int lenient = c->o->mode == CPO_IMPORT_LENIENT;
    int rc = cpo_import_problem(c, code, line, col, "%s%s", msg,
                                lenient && drop_what ? drop_what : "");
    return rc ? rc : CPO_IMPORT_DROP;
}

int cpo_read_problem(cpo_import_ctx *c, int code, long line, long col,
                     const char *drop_what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vproblem(c, code, line, col, NULL, drop_what, fmt, ap);
    va_end(ap);
    return rc;
}

int cpo_json_problem(cpo_import_ctx *c, const cpo_json_doc *d, size_t i, int code,
                     const char *fmt, ...)
{
    char prefix[48];
    snprintf(prefix, sizeof prefix, "element %zu: ", i + 1);
    va_list ap;
    va_start(ap, fmt);
    int rc = vproblem(c, code, d->line ? d->line[i] : 0, d->col ? d->col[i] : 0,
                      prefix, "; element dropped", fmt, ap);
    va_end(ap);
    return rc;
}

int cpo_read_no_rows(cpo_import_ctx *c, size_t staged)
{
    size_t n = c->rep->rows_read;
    if (staged)
        return 0;
    if (n == 0)
        return cpo_import_fail(c, CPO_EDATA, 0, 0, "no data rows (expected at least one row)");
    return cpo_import_fail(c, CPO_EDATA, 0, 0,
                           "no usable rows: all %zu %s dropped (expected at least one valid row)",
                           n, n == 1 ? "row was" : "rows were");
}

int cpo_json_ms(cpo_import_ctx *c, const cpo_json_doc *d, size_t i, const json_t *v,
                const char *name, int64_t *out)
{
    if (!v)
        return cpo_json_problem(c, d, i, CPO_EDATA, "no \"%s\" (expected ms since 1970)", name);
    int64_t t;
    if (json_is_integer(v)) {
        t = (int64_t)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        t = (int64_t)json_real_value(v);
    } else if (json_is_real(v)) {
        return cpo_json_problem(c, d, i, CPO_EDATA,
                                "%s %.17g is not a whole number (expected ms since 1970)", name,
                                json_real_value(v));
    } else {
        return cpo_json_problem(c, d, i, CPO_EDATA, "%s is %s (expected ms since 1970)", name,
                                cpo_json_type_name(v));
    }
    if (t < INT64_C(631152000000) || t > INT64_C(4102444800000))
        return cpo_json_problem(c, d, i, CPO_EDATA,
                                "%s %lld is out of range (expected ms between 1990 and 2100)",
                                name, (long long)t);
    *out = t;
    return 0;
}

int cpo_json_f64(cpo_import_ctx *c, const cpo_json_doc *d, size_t i, const json_t *v,
                 const char *name, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        if (cpo_parse_f64(json_string_value(v), json_string_length(v), out) == 0)
            return 0;
        return cpo_json_problem(c, d, i, CPO_EDATA,
                                "%s \"%.40s\" is not a number (expected a decimal number)", name,
                                json_string_value(v));
    }
    return cpo_json_problem(c, d, i, CPO_EDATA, "%s is %s (expected a number)", name,
                            cpo_json_type_name(v));
}

int cpo_looks_like_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int ch, json = 0, pos = 0;
    while ((ch = fgetc(f)) != EOF) {
        if (pos < 3 && (unsigned char)ch == "\xEF\xBB\xBF"[pos]) {
            pos++;
            continue;
        }
        pos = 3;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        json = ch == '[' || ch == '{';
        break;
    }
    fclose(f);
    return json;
}

const char *cpo_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "?";
}

int cpo_copy_text(char *dst, size_t cap, const char *s, size_t n)
{
    int cut = 0;
    if (n >= cap) {
        n = cap - 1;
        /* back off over UTF-8 continuation bytes so no character is split */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return cut;
}

int cpo_read_whole(cpo_import_ctx *c, char **out, size_t *len)
{
    FILE *f = fopen(c->path, "rb");
    if (!f)
        return cpo_import_fail(c, CPO_EIO, 0, 0, "cannot open: %s (expected a readable file)",
                               strerror(errno));
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    int rc = 0;
    if (!buf) {
        rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        goto cleanup;
    }
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
                goto cleanup;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        rc = cpo_import_fail(c, CPO_EIO, 0, 0, "read error: %s", strerror(errno));
        goto cleanup;
    }
    *out = buf;
    *len = n;
    buf = NULL;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

/* Record where each element of the top-level array starts.  The text is
 * known to be valid JSON; returns the number of starts found. */
static size_t scan_starts(const char *s, size_t n, long *line, long *col, size_t max,
                          long *root_line, long *root_col)
{
    long ln = 1, cl = 0;
    int depth = 0, in_str = 0, esc = 0, expect = 0, root_seen = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        cl++;
        if (ch == '\n') {
            ln++;
            cl = 0;
            continue;
        }
        if (in_str) {
            if (esc)
                esc = 0;
            else if (ch == '\\')
                esc = 1;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r')
            continue;
        if (!root_seen) {
            root_seen = 1;
            *root_line = ln;
            *root_col = cl;
        }
        if (depth == 1 && expect && ch != ']') {
            if (k < max) {
                line[k] = ln;
                col[k] = cl;
            }
            k++;
            expect = 0;
        }
        switch (ch) {
        case '"': in_str = 1; break;
        case '[':
        case '{':
            depth++;
            if (depth == 1)
                expect = 1;
            break;
        case ']':
        case '}': depth--; break;
        case ',':
            if (depth == 1)
                expect = 1;
            break;
        default: break;
        }
    }
    return k;
}

int cpo_json_load(cpo_import_ctx *c, const char *want, char **text, const char **s, size_t *n,
                  json_t **root)
{
    *root = NULL;
    int rc = cpo_read_whole(c, text, n);
    if (rc)
        return rc;
    *s = *text;
    if (*n >= 3 && !memcmp(*s, "\xEF\xBB\xBF", 3)) {
        *s += 3;
        *n -= 3;
    }
    json_error_t jerr;
    *root = json_loadb(*s, *n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (*root)
        return 0;
    free(*text);
    *text = NULL;
    return cpo_import_fail(c, CPO_EPARSE, jerr.line > 0 ? jerr.line : 0,
                           jerr.column > 0 ? jerr.column : 0, "%s (expected %s)", jerr.text, want);
}

int cpo_json_load_array(cpo_import_ctx *c, cpo_json_doc *d)
{
    memset(d, 0, sizeof *d);
    char *buf = NULL;
    const char *s = NULL;
    size_t n = 0;
    int rc = cpo_json_load(c, "a JSON array", &buf, &s, &n, &d->root);
    if (rc)
        return rc;
    long rl = 0, rcol = 0;
    if (!json_is_array(d->root)) {
        scan_starts(s, n, NULL, NULL, 0, &rl, &rcol);
        rc = cpo_import_fail(c, CPO_EFORMAT, rl, rcol,
                             "top-level value is %s (expected a JSON array)",
                             cpo_json_type_name(d->root));
        goto cleanup;
    }
    d->n = json_array_size(d->root);
    if (d->n) {
        d->line = calloc(d->n, sizeof *d->line);
        d->col = calloc(d->n, sizeof *d->col);
        if (!d->line || !d->col) {
            rc = cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
            goto cleanup;
        }
        if (scan_starts(s, n, d->line, d->col, d->n, &rl, &rcol) != d->n) {
            /* cannot happen for valid JSON; fall back to "not known" */
            memset(d->line, 0, d->n * sizeof *d->line);
            memset(d->col, 0, d->n * sizeof *d->col);
        }
    }
cleanup:
    free(buf);
    if (rc)
        cpo_json_doc_fini(d);
    return rc;
}

void cpo_json_doc_fini(cpo_json_doc *d)
{
    if (d->root)
        json_decref(d->root);
    free(d->line);
    free(d->col);
    memset(d, 0, sizeof *d);
}
