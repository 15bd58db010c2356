/* csvread.c - libcsv with line numbers, header lookup and number parsing. */
#include "csvread.h"
#include "dtoa.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct reader {
    const char *path;
    cpo_csv_fn fn;
    void *ctx;
    cpo_error *err;
    long line;       /* physical line being fed */
    int rc;          /* first non-zero from fn or an internal error */
    char *buf;       /* field texts, NUL-separated */
    size_t blen, bcap;
    size_t *off;     /* field offsets into buf */
    size_t *len;
    const char **ptr;
    size_t nf, fcap;
} reader;

static void on_field(void *data, size_t n, void *ud)
{
    reader *r = ud;
    if (r->rc)
        return;
    if (data && memchr(data, '\0', n)) {
        r->rc = cpo_error_set(r->err, CPO_EPARSE, r->path, r->line, (long)r->nf + 1,
                              "NUL byte inside a field (expected text)");
        return;
    }
    if (r->nf == r->fcap) {
        size_t nc = r->fcap ? r->fcap * 2 : 32;
        size_t *no = realloc(r->off, nc * sizeof *no);
        if (no)
            r->off = no;
        size_t *nl = realloc(r->len, nc * sizeof *nl);
        if (nl)
            r->len = nl;
        const char **np = realloc(r->ptr, nc * sizeof *np);
        if (np)
            r->ptr = np;
        if (!no || !nl || !np) {
            r->rc = cpo_error_set(r->err, CPO_ENOMEM, r->path, r->line, 0, "out of memory");
            return;
        }
        r->fcap = nc;
    }
    if (r->blen + n + 1 > r->bcap) {
        size_t nc = r->bcap ? r->bcap : 1024;
        while (nc < r->blen + n + 1)
            nc *= 2;
        char *nb = realloc(r->buf, nc);
        if (!nb) {
            r->rc = cpo_error_set(r->err, CPO_ENOMEM, r->path, r->line, 0, "out of memory");
            return;
        }
        r->buf = nb;
        r->bcap = nc;
    }
    if (n)
        memcpy(r->buf + r->blen, data, n);
    r->buf[r->blen + n] = '\0';
    r->off[r->nf] = r->blen;
    r->len[r->nf] = n;
    r->blen += n + 1;
    r->nf++;
}

static void on_record(int c, void *ud)
{
    reader *r = ud;
    (void)c;
    if (r->rc) {
        r->nf = 0;
        r->blen = 0;
        return;
    }
    for (size_t i = 0; i < r->nf; i++)
        r->ptr[i] = r->buf + r->off[i];
    cpo_csv_row row = {r->line, r->nf, r->ptr, r->len};
    if (r->nf > 0)
        r->rc = r->fn(r->ctx, &row);
    r->nf = 0;
    r->blen = 0;
}

static int feed(reader *r, struct csv_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end && !r->rc) {
        const char *q = memchr(s, '\n', (size_t)(end - s));
        size_t k = q ? (size_t)(q - s) + 1 : (size_t)(end - s);
        if (csv_parse(p, s, k, on_field, on_record, r) != k) {
            if (!r->rc && csv_error(p) == CSV_EPARSE)
                r->rc = cpo_error_set(r->err, CPO_EPARSE, r->path, r->line, (long)r->nf + 1,
                                      "malformed CSV: a quote inside an unquoted field or "
                                      "after a closing quote (expected RFC 4180 quoting)");
            else if (!r->rc)
                r->rc = cpo_error_set(r->err, CPO_EPARSE, r->path, r->line, 0,
                                      "malformed CSV: %s (expected RFC 4180 quoting)",
                                      csv_strerror(csv_error(p)));
            return r->rc;
        }
        if (q)
            r->line++;
        s += k;
    }
    return r->rc;
}

static int finish(reader *r, struct csv_parser *p)
{
    if (!r->rc) {
        /* A field still inside quotes at end of file is an error. */
        if (csv_fini(p, on_field, on_record, r) != 0 && !r->rc)
            r->rc = cpo_error_set(r->err, CPO_EPARSE, r->path, r->line, 0,
                                  "unterminated quoted field at end of file "
                                  "(expected a closing quote)");
    }
    csv_free(p);
    free(r->buf);
    free(r->off);
    free(r->len);
    free(r->ptr);
    return r->rc;
}

static int start(reader *r, struct csv_parser *p, const char *path, cpo_csv_fn fn,
                 void *ctx, cpo_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->fn = fn;
    r->ctx = ctx;
    r->err = err;
    r->line = 1;
    if (csv_init(p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return cpo_error_set(err, CPO_ENOMEM, path, 0, 0, "out of memory");
    return 0;
}

int cpo_csv_read_mem(const char *path, const char *buf, size_t n, cpo_csv_fn fn,
                     void *ctx, cpo_error *err)
{
    reader r;
    struct csv_parser p;
    int rc = start(&r, &p, path, fn, ctx, err);
    if (rc)
        return rc;
    if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) {
        buf += 3;
        n -= 3;
    }
    feed(&r, &p, buf, n);
    return finish(&r, &p);
}

int cpo_csv_read(const char *path, cpo_csv_fn fn, void *ctx, cpo_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot open: %s (expected a readable file)",
                             strerror(errno));
    reader r;
    struct csv_parser p;
    int rc = start(&r, &p, path, fn, ctx, err);
    if (rc) {
        fclose(f);
        return rc;
    }
    /* 64 KiB blocks: as fast as 1 MiB ones here, and a small file does not
     * pay for a large allocation (an mmap and munmap per file under ASan). */
    enum { BLOCK = 1 << 16 };
    char *blk = malloc(BLOCK);
    if (!blk) {
        fclose(f);
        r.rc = cpo_error_set(err, CPO_ENOMEM, path, 0, 0, "out of memory");
        return finish(&r, &p);
    }
    size_t got;
    int first = 1;
    while (!r.rc && (got = fread(blk, 1, BLOCK, f)) > 0) {
        const char *s = blk;
        if (first && got >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
            s += 3;
            got -= 3;
        }
        first = 0;
        feed(&r, &p, s, got);
    }
    if (!r.rc && ferror(f))
        r.rc = cpo_error_set(err, CPO_EIO, path, r.line, 0, "read error: %s", strerror(errno));
    free(blk);
    fclose(f);
    return finish(&r, &p);
}

static int name_eq(const char *a, size_t an, const char *b, size_t bn)
{
    while (an && isspace((unsigned char)*a)) {
        a++;
        an--;
    }
    while (an && isspace((unsigned char)a[an - 1]))
        an--;
    return an == bn && strncasecmp(a, b, bn) == 0;
}

int cpo_csv_find(const cpo_csv_row *hdr, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < hdr->n; i++)
        if (name_eq(hdr->f[i], hdr->len[i], name, nl))
            return (int)i;
    return -1;
}

int cpo_csv_map(const cpo_csv_row *hdr, const char *path, const char *const *names,
                const int *required, size_t n, int *idx, cpo_error *err)
{
    for (size_t k = 0; k < n; k++) {
        idx[k] = -1;
        const char *s = names[k];
        while (*s && idx[k] < 0) {
            const char *bar = strchr(s, '|');
            size_t len = bar ? (size_t)(bar - s) : strlen(s);
            for (size_t i = 0; i < hdr->n; i++)
                if (name_eq(hdr->f[i], hdr->len[i], s, len)) {
                    idx[k] = (int)i;
                    break;
                }
            s += len + (bar ? 1 : 0);
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (idx[k] >= 0 || !required[k])
            continue;
        char want[512];
        size_t w = 0;
        want[0] = '\0';
        for (size_t j = 0; j < n && w < sizeof want; j++) {
            if (!required[j])
                continue;
            int m = snprintf(want + w, sizeof want - w, "%s%s", w ? "," : "", names[j]);
            if (m < 0)
                break;
            w += (size_t)m;
        }
        return cpo_error_set(err, CPO_EFORMAT, path, hdr->line, 0,
                             "missing column \"%s\" (expected columns: %s)", names[k], want);
    }
    return 0;
}

int cpo_field_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

int cpo_parse_f64(const char *s, size_t n, double *out)
{
    size_t i = 0;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i == n)
        return CPO_EPARSE;
    size_t begin = i;
    int neg = 0;
    if (s[i] == '+' || s[i] == '-') {
        neg = s[i] == '-';
        i++;
    }
    /* The syntax: digits, '.' and digits (either part may be empty, not
     * both), then an exponent; no hex, inf or nan. */
    size_t digits = i;
    int any = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        any = 1, i++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            any = 1;
    if (!any)
        return CPO_EPARSE;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!(i < n && s[i] >= '0' && s[i] <= '9'))
            return CPO_EPARSE;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i != n)
        return CPO_EPARSE;
    /* The nearest double (std::from_chars, core/dtoa.h); strtod decides
     * what a number out of a double's range reads as. */
    double v;
    int pr = cpo_dtoa_parse(s + digits, n - digits, &v);
    if (pr < 0)
        return CPO_EPARSE;
    if (pr == 0) {
        *out = neg ? -v : v;
        return 0;
    }
    char tmp[128];
    size_t len = n - begin;
    char *heap = NULL, *p = tmp;
    if (len >= sizeof tmp) {
        heap = malloc(len + 1);
        if (!heap)
            return CPO_ENOMEM;
        p = heap;
    }
    memcpy(p, s + begin, len);
    p[len] = '\0';
    char *end;
    v = strtod(p, &end);
    int ok = end == p + len;
    free(heap);
    if (!ok || !isfinite(v))
        return CPO_EPARSE; /* overflow to inf */
    *out = v;
    return 0;
}

int cpo_parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == n)
        return CPO_EPARSE;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CPO_EPARSE;
        if (v > (UINT64_MAX - 9) / 10)
            return CPO_ERANGE;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return CPO_ERANGE;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return CPO_ERANGE;
        *out = (int64_t)v;
    }
    return 0;
}
