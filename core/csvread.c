/* csvread.c - libcsv with line numbers, header lookup and number parsing. */
#include "csvread.h"
#include "dtoa.h"
#include "sidejob.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
    /* cpo_csv_read_pieces: after the first record (to fn, ctx), open
     * piece 0 of `then` and give it the rest; opened once it is. */
    const cpo_csv_pieces *then;
    int opened;
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

/* The first record is read: the rest goes to piece 0 of r->then. */
static void open_first_piece(reader *r)
{
    const cpo_csv_pieces *pc = r->then;
    r->then = NULL;
    r->rc = pc->open(pc->ctx, 0, r->err, &r->ctx);
    if (!r->rc) {
        r->fn = pc->row;
        r->opened = 1;
    }
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
    if (r->nf > 0) {
        r->rc = r->fn(r->ctx, &row);
        if (!r->rc && r->then)
            open_first_piece(r);
    }
    r->nf = 0;
    r->blen = 0;
}

/* Feed s[0..n) a line at a time, counting lines; with head, only up to
 * the end of the line on which the first record ended.  Returns the bytes
 * fed (all of them unless an error or head stopped it). */
static size_t feed(reader *r, struct csv_parser *p, const char *s, size_t n, int head)
{
    const char *begin = s, *end = s + n;
    while (s < end && !r->rc && !(head && !r->then)) {
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
            break;
        }
        if (q)
            r->line++;
        s += k;
    }
    return (size_t)(s - begin);
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
    feed(&r, &p, buf, n, 0);
    return finish(&r, &p);
}

/* Files are read in 64 KiB blocks: as fast as 1 MiB ones here, and a
 * small file does not pay for a large allocation (an mmap and munmap per
 * file under ASan). */
enum { BLOCK = 1 << 16 };

/* The rest of f, fed in blocks (r and p started). */
static void read_blocks(reader *r, struct csv_parser *p, FILE *f)
{
    char *blk = malloc(BLOCK);
    if (!blk) {
        r->rc = cpo_error_set(r->err, CPO_ENOMEM, r->path, 0, 0, "out of memory");
        return;
    }
    size_t got;
    int first = 1;
    while (!r->rc && (got = fread(blk, 1, BLOCK, f)) > 0) {
        const char *s = blk;
        if (first && got >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
            s += 3;
            got -= 3;
        }
        first = 0;
        feed(r, p, s, got, 0);
    }
    if (!r->rc && ferror(f))
        r->rc = cpo_error_set(r->err, CPO_EIO, r->path, r->line, 0, "read error: %s",
                              strerror(errno));
    free(blk);
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
    read_blocks(&r, &p, f);
    fclose(f);
    return finish(&r, &p);
}

/* --- one file on several threads ---------------------------------------------- */

/* A piece of a file cut at line ends: where it is (read with pread, so
 * that the pieces share the descriptor), its block buffer, its parser and
 * reader (line set to the piece's first line) and, after the first piece,
 * the error its rows report. */
typedef struct piece {
    reader r;
    struct csv_parser p;
    int fd;
    off_t off, end; /* its bytes: [off, end); end -1: to the end of the file */
    char *blk;      /* BLOCK bytes */
    size_t lines;   /* line ends in it */
    int quote;      /* a quote char in it */
    int bad;        /* a read error while counting */
    int live;       /* r and p started and not finished */
    cpo_error err;
} piece;

typedef struct cut {
    piece *q;
    size_t n;
    size_t next; /* the next piece to take (atomic) */
} cut;

static piece *take(cut *c)
{
    size_t k = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
    return k < c->n ? &c->q[k] : NULL;
}

/* Up to n bytes of fd at off: how many, 0 at the end of the file, -1 on
 * an error (errno). */
static ssize_t read_at(int fd, char *buf, size_t n, off_t off)
{
    ssize_t got;
    do
        got = pread(fd, buf, n, off);
    while (got < 0 && errno == EINTR);
    return got;
}

/* The next block of x from *at into x->blk: its length, 0 at the piece's
 * end, -1 on a read error. */
static ssize_t next_block(piece *x, off_t *at)
{
    size_t want = BLOCK;
    if (x->end >= 0) {
        if (*at >= x->end)
            return 0;
        if (x->end - *at < (off_t)want)
            want = (size_t)(x->end - *at);
    }
    ssize_t got = read_at(x->fd, x->blk, want, *at);
    if (got > 0)
        *at += got;
    return got;
}

/* Worker: count each piece's line ends and look for a quote char. */
static void *count_main(void *arg)
{
    piece *x;
    while ((x = take(arg)) != NULL) {
        off_t at = x->off;
        ssize_t got;
        while ((got = next_block(x, &at)) > 0) {
            const char *s = x->blk, *end = x->blk + got;
            x->quote |= memchr(s, '"', (size_t)got) != NULL;
            while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
                x->lines++;
                s++;
            }
        }
        x->bad = got < 0;
    }
    return NULL;
}

/* Worker: parse each piece to its end. */
static void *parse_main(void *arg)
{
    piece *x;
    while ((x = take(arg)) != NULL) {
        off_t at = x->off;
        ssize_t got = 0;
        while (!x->r.rc && (got = next_block(x, &at)) > 0)
            feed(&x->r, &x->p, x->blk, (size_t)got, 0);
        if (!x->r.rc && got < 0)
            x->r.rc = cpo_error_set(x->r.err, CPO_EIO, x->r.path, x->r.line, 0,
                                    "read error: %s", strerror(errno));
        finish(&x->r, &x->p);
        x->live = 0;
    }
    return NULL;
}

/* Where the line that holds byte `at` of x's file ends (just past its
 * '\n'), or -1: no line end after it, or a read error. */
static off_t line_end(piece *x, off_t at)
{
    ssize_t got;
    while ((got = read_at(x->fd, x->blk, BLOCK, at)) > 0) {
        const char *nl = memchr(x->blk, '\n', (size_t)got);
        if (nl)
            return at + (nl - x->blk) + 1;
        at += got;
    }
    return -1;
}

/* Cut the file from q[0].off to size into at most `most` pieces, each
 * but the last ending at the first line end past its equal share, the
 * last going on to the end of the file (none empty); returns how many. */
static size_t cut_lines(piece *q, size_t most, off_t size)
{
    off_t from = q[0].off, share = (size - from) / (off_t)most;
    size_t k = 0;
    for (size_t i = 1; i < most && from < size; i++) {
        off_t at = q[0].off + share * (off_t)i;
        off_t to = line_end(&q[0], at > from ? at : from);
        if (to < 0 || to >= size)
            break;
        q[k].off = from;
        q[k].end = to;
        k++;
        from = to;
    }
    q[k].off = from;
    q[k].end = -1;
    return k + 1;
}

/* Pieces 1..np-1 of q started at their first lines and opened; 0, or the
 * error (in err). */
static int open_pieces(const cpo_csv_pieces *pc, piece *q, size_t np, cpo_error *err)
{
    long line = q[0].r.line + (long)q[0].lines;
    for (size_t k = 1; k < np; k++) {
        piece *x = &q[k];
        cpo_error_clear(&x->err);
        int rc = start(&x->r, &x->p, q[0].r.path, pc->row, NULL, &x->err);
        if (!rc) {
            x->live = 1;
            x->r.line = line;
            line += (long)x->lines;
            rc = pc->open(pc->ctx, k, &x->err, &x->r.ctx);
            x->r.opened = rc == 0;
        }
        if (rc) {
            if (err)
                *err = x->err;
            return rc;
        }
    }
    return 0;
}

/* Join the pieces in order (see csvread.h); rc: an error before them.
 * The first error in file order is the one returned, in err. */
static int join_pieces(const cpo_csv_pieces *pc, piece *q, size_t np, int rc, cpo_error *err)
{
    for (size_t k = 0; k < np; k++) {
        piece *x = &q[k];
        int prc = rc ? 0 : x->r.rc;
        if (prc && k > 0 && err)
            *err = x->err;
        int jrc = 0;
        if (x->r.opened) {
            /* A join after an error must not replace it. */
            cpo_error keep;
            int guard = (rc || prc) && err;
            if (guard)
                keep = *err;
            jrc = pc->join(pc->ctx, x->r.ctx, k, !rc);
            if (guard)
                *err = keep;
        }
        if (!rc)
            rc = prc ? prc : jrc;
    }
    return rc;
}

/* The first record of the file, on this thread: q[0] reads from the
 * start up to the end of the block line on which it ends; q[0].off is
 * where it stopped.  Returns 1 if what it read holds no quote char. */
static int read_head(piece *x)
{
    reader *r = &x->r;
    off_t at = 0;
    ssize_t got = 0;
    int quote = 0;
    while (!r->rc && r->then && (got = read_at(x->fd, x->blk, BLOCK, at)) > 0) {
        const char *s = x->blk;
        size_t n = (size_t)got;
        if (at == 0 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
            s += 3;
            n -= 3;
        }
        size_t used = feed(r, &x->p, s, n, 1);
        quote |= memchr(s, '"', used) != NULL;
        at += (off_t)(s - x->blk) + (off_t)used;
    }
    if (!r->rc && got < 0)
        r->rc = cpo_error_set(r->err, CPO_EIO, r->path, r->line, 0, "read error: %s",
                              strerror(errno));
    x->off = at;
    x->end = -1;
    return !quote;
}

/* The file (fd, size bytes) parsed in *np pieces on the cores (q: room
 * for `most`, with their block buffers); 0, or an error opening them
 * (every piece is finished either way, and joined by the caller). */
static int read_cut(const char *path, const cpo_csv_pieces *pc, piece *q, size_t most,
                    off_t size, size_t *np, cpo_error *err)
{
    *np = 0;
    int rc = start(&q[0].r, &q[0].p, path, pc->first, pc->ctx, err);
    if (rc)
        return rc;
    *np = 1;
    q[0].live = 1;
    q[0].r.then = pc;
    if (read_head(&q[0]) && !q[0].r.rc && !q[0].r.then)
        *np = cut_lines(q, most, size);
    cut c = {q, *np, 0};
    if (*np > 1) {
        cpo_on_cores(count_main, &c, *np);
        int serial = 0;
        for (size_t k = 0; k < *np; k++)
            serial |= q[k].quote || q[k].bad;
        if (serial) { /* one piece, read as a serial read would */
            q[0].end = -1;
            *np = c.n = 1;
        }
    }
    rc = open_pieces(pc, q, *np, err);
    if (!rc) {
        c.next = 0;
        cpo_on_cores(parse_main, &c, *np);
        return 0;
    }
    for (size_t k = 0; k < *np; k++)
        if (q[k].live) {
            if (!q[k].r.rc)
                q[k].r.rc = rc; /* no csv_fini: nothing more is parsed */
            finish(&q[k].r, &q[k].p);
        }
    return rc;
}

int cpo_csv_read_pieces(const char *path, const cpo_csv_pieces *pc, cpo_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot open: %s (expected a readable file)",
                             strerror(errno));
    size_t most = pc->max_pieces ? pc->max_pieces : cpo_cores();
    size_t min = pc->min_bytes ? pc->min_bytes : CPO_CSV_SPLIT_MIN;
    struct stat st;
    int rc;
    if (most > 1 && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uintmax_t)st.st_size >= min) {
        if (most > CPO_CORES_MAX)
            most = CPO_CORES_MAX;
        piece *q = calloc(most, sizeof *q);
        char *blocks = malloc(most * BLOCK);
        size_t np = 0;
        if (!q || !blocks) {
            rc = cpo_error_set(err, CPO_ENOMEM, path, 0, 0, "out of memory");
        } else {
            for (size_t k = 0; k < most; k++) {
                q[k].fd = fileno(f);
                q[k].blk = blocks + k * BLOCK;
            }
            rc = read_cut(path, pc, q, most, st.st_size, &np, err);
        }
        fclose(f);
        free(blocks);
        if (np)
            rc = join_pieces(pc, q, np, rc, err);
        free(q);
        return rc;
    }
    piece one;
    memset(&one, 0, sizeof one);
    rc = start(&one.r, &one.p, path, pc->first, pc->ctx, err);
    if (!rc) {
        one.r.then = pc;
        read_blocks(&one.r, &one.p, f);
        finish(&one.r, &one.p);
    }
    fclose(f);
    return rc ? rc : join_pieces(pc, &one, 1, 0, err);
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
