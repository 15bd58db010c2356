/* csvwrite.c - numbers, text fields and whole files of CSV output. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "csvwrite.h"
#include "dtoa.h"
#include "sidejob.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* The 17 digits printf's %.17g gives |x| when x is exactly halfway between
 * two 17-digit decimals: printf rounds the tie to even, double-conversion
 * away from zero.  Such an x is m 2^e (m odd) with e in -25..-1 and
 * m 5^-e a decimal of exactly 18 digits ending in 5 (x = that decimal x
 * 10^e; e >= 0 or e < -25 would need more than 18 digits, or m > 2^53).
 * Returns 17 and the digits rounded to even if x is such a tie and the
 * even neighbour is the lower one; 0 otherwise (the library's digits are
 * then printf's). */
static int halfway_to_even(double a, char *d, int *point)
{
    int ex;
    uint64_t m = (uint64_t)ldexp(frexp(a, &ex), 53);
    int tz = __builtin_ctzll(m);
    int e = ex - 53 + tz;
    m >>= tz;
    if (e > -1 || e < -25)
        return 0;
    for (int k = 0; k < -e; k++)
        if (__builtin_mul_overflow(m, 5u, &m))
            return 0;
    if (m < 100000000000000000u || m >= 1000000000000000000u || m % 10 != 5)
        return 0;
    m /= 10;
    if (m & 1)
        return 0;
    for (int k = 16; k >= 0; k--, m /= 10)
        d[k] = (char)('0' + m % 10);
    d[17] = 0;
    *point = 18 + e;
    return 17;
}

/* s[0..k) into buf as snprintf would: cut to n - 1 bytes, NUL-terminated;
 * the length written. */
static size_t put_cut(char *buf, size_t n, const char *s, size_t k)
{
    if (n == 0)
        return 0;
    if (k >= n)
        k = n - 1;
    memcpy(buf, s, k);
    buf[k] = 0;
    return k;
}

/* printf's %.17g from the correctly rounded digits (core/dtoa.h): the same
 * bytes, about 3.5 times faster than glibc's multi-precision printf. */
size_t cpo_fmt_double(char *buf, size_t n, double x)
{
    char d[24], out[40], *p = out;
    int point, len;
    if (isnan(x) || isinf(x) || x == 0.0) {
        const char *t = isnan(x) ? "nan" : x > 0 ? "inf" : x < 0 ? "-inf" : "0"; /* no "-0" */
        return put_cut(buf, n, t, strlen(t)); /* not snprintf: 0 is a common number */
    }
    double a = fabs(x);
    if (!(len = halfway_to_even(a, d, &point)))
        len = cpo_dtoa_precision(a, 17, d, sizeof d, &point);
    while (len > 1 && d[len - 1] == '0')
        len--;
    if (x < 0)
        *p++ = '-';
    if (point - 1 >= -4 && point - 1 < 17) { /* %f's layout, no trailing zeros */
        if (point <= 0) {
            *p++ = '0';
            *p++ = '.';
            for (int k = 0; k < -point; k++)
                *p++ = '0';
            memcpy(p, d, (size_t)len);
            p += len;
        } else {
            for (int k = 0; k < point; k++)
                *p++ = k < len ? d[k] : '0';
            if (len > point) {
                *p++ = '.';
                memcpy(p, d + point, (size_t)(len - point));
                p += len - point;
            }
        }
    } else { /* %e's: d.ddde+XX, at least two exponent digits */
        int x10 = point - 1, ax = abs(x10);
        *p++ = d[0];
        if (len > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)(len - 1));
            p += len - 1;
        }
        *p++ = 'e';
        *p++ = x10 < 0 ? '-' : '+';
        if (ax >= 100) {
            *p++ = (char)('0' + ax / 100);
            ax %= 100;
        }
        *p++ = (char)('0' + ax / 10);
        *p++ = (char)('0' + ax % 10);
    }
    return put_cut(buf, n, out, (size_t)(p - out));
}

void cpo_csv_num(FILE *fp, double x)
{
    char b[40];
    b[0] = ',';
    fwrite(b, 1, 1 + cpo_fmt_double(b + 1, sizeof b - 1, x), fp); /* one locked call */
}

void cpo_csv_text(FILE *fp, const char *s, int flags)
{
    if (!strpbrk(s, (flags & CPO_CSV_QUOTE_HASH) ? ",\"\n\r#" : ",\"\n\r")) {
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

/* --- rows formatted on the cores ------------------------------------------ */

typedef struct rows_piece {
    char *buf;
    size_t len;
    int ok;
} rows_piece;

/* A round: pieces first .. first + count - 1 of the file, taken by the
 * workers from a shared counter. */
typedef struct rows_round {
    cpo_csv_rows_fn put;
    void *ctx;
    size_t n, piece, first, count;
    size_t next; /* atomic */
    rows_piece p[CPO_CORES_MAX];
} rows_round;

static void *rows_work(void *arg)
{
    rows_round *r = arg;
    for (;;) {
        size_t k = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
        if (k >= r->count)
            break;
        rows_piece *pc = &r->p[k];
        size_t a = (r->first + k) * r->piece, b = a + r->piece < r->n ? a + r->piece : r->n;
        FILE *m = open_memstream(&pc->buf, &pc->len);
        if (!m)
            continue;
        r->put(r->ctx, m, a, b);
        int bad = ferror(m);
        pc->ok = fclose(m) == 0 && !bad;
    }
    return NULL;
}

void cpo_csv_put_rows(FILE *fp, size_t n, size_t piece, cpo_csv_rows_fn put, void *ctx)
{
    size_t cores = cpo_cores();
    if (piece == 0)
        piece = CPO_CSV_PIECE_ROWS;
    if (cores < 2 || n <= piece) {
        put(ctx, fp, 0, n);
        return;
    }
    size_t pieces = (n + piece - 1) / piece;
    rows_round r;
    for (size_t first = 0; first < pieces; first += cores) {
        r = (rows_round){.put = put, .ctx = ctx, .n = n, .piece = piece, .first = first,
                         .count = pieces - first < cores ? pieces - first : cores};
        cpo_on_cores(rows_work, &r, r.count);
        for (size_t k = 0; k < r.count; k++) {
            rows_piece *pc = &r.p[k];
            if (pc->ok) {
                fwrite(pc->buf, 1, pc->len, fp);
            } else {
                size_t a = (first + k) * piece;
                put(ctx, fp, a, a + piece < n ? a + piece : n);
            }
            free(pc->buf);
        }
    }
}

FILE *cpo_csv_create(const char *path, cpo_error *err)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot create: %s (expected a writable folder)",
                      strerror(errno));
    return fp;
}

int cpo_csv_close(FILE *fp, const char *path, cpo_error *err)
{
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad)
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot write: %s",
                             strerror(errno ? errno : EIO));
    return 0;
}

int cpo_csv_create_all(FILE **fps, const char *const *paths, size_t n, cpo_error *err)
{
    for (size_t k = 0; k < n; k++)
        if (!(fps[k] = cpo_csv_create(paths[k], err))) {
            while (k--)
                fclose(fps[k]);
            return err ? err->code : CPO_EIO;
        }
    return 0;
}

int cpo_csv_close_all(FILE **fps, const char *const *paths, size_t n, int rc, cpo_error *err)
{
    for (size_t k = 0; k < n; k++) {
        if (rc)
            fclose(fps[k]);
        else
            rc = cpo_csv_close(fps[k], paths[k], err);
    }
    return rc;
}
