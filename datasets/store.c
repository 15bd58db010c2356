/*
 * store.c - the HDF5 store: write, read and describe a cpo_dataset.
 *
 * Layout (store version 1):
 *
 *   /                    attributes cpo_store_version (int32), cpo_version
 *   /instruments         compound table, one record per cpo_instrument
 *   /bars/<sym>/         ts open high low close volume mark index
 *                        [mark_high mark_low]; attributes bar_ms, symbol
 *   /funding/<sym>/      ts rate mark index; attributes interval_ms, symbol
 *   /chains/<und>/       one column per cpo_chain field; attribute underlying
 *   /ivindex/<name>/     ts open high low close; attribute name
 *   /caps/               ts rank market_cap price supply volume_24h symbol name
 *   /provenance          compound table, one record per cpo_provenance
 *
 * Every instrument has a bars and a funding group, possibly with 0-length
 * columns.  Columns in [brackets] are optional: written only when the
 * series holds a value in them (mark_high and mark_low: the mark price's
 * high and low over the bar, from binance-mark-klines), read as NaN when
 * absent, so a store written before they existed loads as it did; when
 * present they are checked like every column (type, length, storage).  Group names are the symbol with '/' and '%' (and a leading
 * '.') percent-encoded; the real name is kept in an attribute.  Chains and
 * indices keep their order through link creation order.  Non-empty columns
 * are chunked, shuffled and deflated; empty ones are 0-length contiguous.
 */
#include "cpo/dataset.h"
#include "cpo/error.h"
#include "cpo/instrument.h"
#include "cpo/time.h"

#include <hdf5.h>
#include <pthread.h>
#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h> /* shuffle8_sse2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5mem.h"
#include "sidejob.h"

#define STORE_VERSION 1
#define STORE_CHUNK_BYTES (512 * 1024) /* 65536 doubles */
#define STORE_DEFLATE 4
#define STORE_ESC_MAX (3 * CPO_SYMBOL_MAX + 2)
#define STORE_OBJ_MAX 256
#define STORE_MAX_COLS 16
#define STORE_ROW_MAX 4096 /* bytes in one stored row; cpo's widest is about 200 */
#define STORE_CHUNK_MAX (64 * 1024 * 1024) /* bytes of rows in one chunk read */
#define STORE_RATIO_MAX 1100 /* row bytes per stored byte; deflate reaches 1032 */

/* --- columns and record fields -------------------------------------------- */

typedef enum col_kind { COL_I64, COL_I32, COL_I8, COL_F64, COL_STR } col_kind;

/* A column of a series: data points at n elements of size bytes each.  An
 * optional column (COL_F64) is written only when it holds a number (data
 * may be NULL: none), and a store without it reads as NaN: columns added
 * since store version 1 are optional, so older stores still load. */
typedef struct colspec {
    const char *name;
    col_kind kind;
    size_t size;
    void *data;
    int optional;
} colspec;

/* A field of a compound record. */
typedef struct field {
    const char *name;
    size_t off; /* in the memory struct */
    col_kind kind;
    size_t size;
} field;

/* What the instruments table holds, with fixed-size enums. */
typedef struct instr_rec {
    char symbol[CPO_SYMBOL_MAX];
    char exchange[CPO_CCY_MAX];
    char base[CPO_CCY_MAX];
    char quote[CPO_CCY_MAX];
    char underlying[CPO_SYMBOL_MAX];
    int32_t kind, settle, right;
    double contract_size, tick_size, lot_size, strike;
    int64_t expiry_ms, funding_interval_ms;
} instr_rec;

#define FLD(type, m, k) {#m, offsetof(type, m), k, sizeof(((type *)0)->m)}

static const field instr_fields[] = {
    FLD(instr_rec, symbol, COL_STR),
    FLD(instr_rec, exchange, COL_STR),
    FLD(instr_rec, base, COL_STR),
    FLD(instr_rec, quote, COL_STR),
    FLD(instr_rec, underlying, COL_STR),
    FLD(instr_rec, kind, COL_I32),
    FLD(instr_rec, settle, COL_I32),
    FLD(instr_rec, contract_size, COL_F64),
    FLD(instr_rec, tick_size, COL_F64),
    FLD(instr_rec, lot_size, COL_F64),
    FLD(instr_rec, strike, COL_F64),
    FLD(instr_rec, expiry_ms, COL_I64),
    FLD(instr_rec, right, COL_I32),
    FLD(instr_rec, funding_interval_ms, COL_I64),
};

static const field prov_fields[] = {
    FLD(cpo_provenance, source, COL_STR),
    FLD(cpo_provenance, sha256, COL_STR),
    FLD(cpo_provenance, format, COL_STR),
    FLD(cpo_provenance, target, COL_STR),
    FLD(cpo_provenance, rows_read, COL_I64),
    FLD(cpo_provenance, rows_kept, COL_I64),
    FLD(cpo_provenance, import_ms, COL_I64),
    FLD(cpo_provenance, options, COL_STR),
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const char *kind_text(col_kind k, size_t size)
{
    switch (k) {
    case COL_I64: return "64-bit integer";
    case COL_I32: return "32-bit integer";
    case COL_I8: return "8-bit integer";
    case COL_F64: return "64-bit float";
    case COL_STR: return size ? "fixed-length string" : "string";
    }
    return "?";
}

/* A new type id (to be closed) for a column kind, in memory or on file. */
static hid_t col_type(col_kind k, size_t size, int on_file)
{
    hid_t t = -1;
    switch (k) {
    case COL_I64: t = H5Tcopy(on_file ? H5T_STD_I64LE : H5T_NATIVE_INT64); break;
    case COL_I32: t = H5Tcopy(on_file ? H5T_STD_I32LE : H5T_NATIVE_INT32); break;
    case COL_I8: t = H5Tcopy(on_file ? H5T_STD_I8LE : H5T_NATIVE_INT8); break;
    case COL_F64: t = H5Tcopy(on_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE); break;
    case COL_STR:
        t = H5Tcopy(H5T_C_S1);
        if (t >= 0 && (H5Tset_size(t, size) < 0 ||
                       H5Tset_strpad(t, H5T_STR_NULLTERM) < 0)) {
            H5Tclose(t);
            t = -1;
        }
        break;
    }
    return t;
}

/* A compound type of fields: memory layout of rec_size bytes, or packed. */
static hid_t compound_type(const field *f, size_t nf, size_t rec_size,
                           int on_file)
{
    size_t total = 0;
    if (on_file) {
        for (size_t i = 0; i < nf; i++)
            total += f[i].size;
    } else {
        total = rec_size;
    }
    hid_t t = H5Tcreate(H5T_COMPOUND, total);
    if (t < 0)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < nf; i++) {
        hid_t m = col_type(f[i].kind, f[i].size, on_file);
        herr_t st = m < 0 ? -1 : H5Tinsert(t, f[i].name, on_file ? off : f[i].off, m);
        if (m >= 0)
            H5Tclose(m);
        if (st < 0) {
            H5Tclose(t);
            return -1;
        }
        off += f[i].size;
    }
    return t;
}

/* --- HDF5 error text ------------------------------------------------------- */

typedef struct h5_why {
    char text[200];
} h5_why;

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    h5_why *w = data;
    if (n == 0 && e && e->desc) {
        /* "unable to open file: name = '...', errno = 2, error message =
         * 'No such file or directory', ..." -> the system's message */
        const char *m = strstr(e->desc, "error message = '");
        if (m) {
            m += strlen("error message = '");
            snprintf(w->text, sizeof w->text, "%.*s", (int)strcspn(m, "'"), m);
        } else {
            snprintf(w->text, sizeof w->text, "%s", e->desc);
        }
    }
    return 0;
}

/* The innermost message of the current HDF5 error stack, or "HDF5 error". */
static const char *h5_reason(h5_why *w)
{
    w->text[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, w);
    if (!w->text[0])
        snprintf(w->text, sizeof w->text, "HDF5 error");
    return w->text;
}

/* --- names ---------------------------------------------------------------- */

/* Percent-encode '/', '%' and a leading '.'; "" becomes "%". */
static void esc_name(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    if (!*s) {
        snprintf(out, n, "%%");
        return;
    }
    for (size_t i = 0; s[i] && j + 4 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/' || c == '%' || (i == 0 && c == '.')) {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        } else {
            out[j++] = (char)c;
        }
    }
    out[j] = '\0';
}

/* --- writing --------------------------------------------------------------- */

typedef struct wctx {
    const char *path; /* the final path, for messages */
    cpo_error *err;
    int deflate;      /* 0 = no compression, else the deflate level */
    const volatile sig_atomic_t *cancel; /* stop when set (cpo_store_opts) */
    int pipeline;     /* 1: HDF5's own filters compress every column (tests) */
} wctx;

/* A signal asked the write to stop (checked between series). */
static int w_cancelled(const wctx *w)
{
    if (w->cancel && *w->cancel)
        return cpo_error_set(w->err, CPO_EINTR, w->path, 0, 0,
                             "interrupted while writing the store (expected the write to go to "
                             "its end; nothing was written)");
    return 0;
}

static int w_fail(const wctx *w, const char *what, const char *obj)
{
    h5_why why;
    return cpo_error_set(w->err, CPO_ESTORE, w->path, 0, 0,
                         "cannot write %s %s: %s", what, obj, h5_reason(&why));
}

static int w_attr(const wctx *w, hid_t loc, const char *obj, const char *name,
                  col_kind kind, const void *value)
{
    int rc = 0;
    hid_t space = -1, ftype = -1, mtype = -1, attr = -1;
    size_t size = kind == COL_STR ? strlen(value) + 1 : 0;
    char what[STORE_OBJ_MAX + 64];

    snprintf(what, sizeof what, "%s/%s", strcmp(obj, "/") ? obj : "", name);
    space = H5Screate(H5S_SCALAR);
    ftype = col_type(kind, size, 1);
    mtype = col_type(kind, size, 0);
    if (space < 0 || ftype < 0 || mtype < 0 ||
        (attr = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(attr, mtype, value) < 0)
        rc = w_fail(w, "attribute", what);
    if (attr >= 0)
        H5Aclose(attr);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* --- chunks compressed on every core ------------------------------------------- */

/*
 * HDF5 runs a dataset's filters chunk by chunk on the thread that writes.
 * A column whose bytes are the same in memory and on file (numbers, fixed
 * strings) is compressed here instead, its chunks shared among the cores,
 * by the two steps HDF5's filters take: shuffle (H5Z_filter_shuffle: byte
 * b of element i goes to b * elements + i) and zlib's compress2 at the
 * level (H5Z_filter_deflate); then written in chunk order with
 * H5Dwrite_chunk.  A full chunk's stored bytes are those HDF5's own
 * pipeline makes (check_store compares them); the last chunk's rows past
 * the end are zeros.  The file does not depend on the number of cores.
 */
#if defined(__SSE2__)
/*
 * 16 elements of 8 bytes at a time in eight SSE2 registers.  A byte's
 * place is 7 bits, register (3) then lane (4).  A round interleaves
 * registers r and r + 4 byte by byte, the low halves into register 2r and
 * the high ones into 2r + 1: that rotates the 7 bits left by one.  In
 * element-major order a byte of element e (4 bits) and index b (3 bits)
 * sits at (e, b); in planes at (b, e): four rounds are the shuffle, three
 * the unshuffle.  About 4x the 64-bit swaps below (5.5 against 1.4 GB/s
 * on one core, either way).
 */
#define SHUF_ROUND(a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7)             \
    do {                                                                                    \
        b0 = _mm_unpacklo_epi8(a0, a4);                                                     \
        b1 = _mm_unpackhi_epi8(a0, a4);                                                     \
        b2 = _mm_unpacklo_epi8(a1, a5);                                                     \
        b3 = _mm_unpackhi_epi8(a1, a5);                                                     \
        b4 = _mm_unpacklo_epi8(a2, a6);                                                     \
        b5 = _mm_unpackhi_epi8(a2, a6);                                                     \
        b6 = _mm_unpacklo_epi8(a3, a7);                                                     \
        b7 = _mm_unpackhi_epi8(a3, a7);                                                     \
    } while (0)

/* Rows [0, rows - rows % 16) of shuffle_bytes for 8-byte elements; the
 * rows done. */
static size_t shuffle8_sse2(unsigned char *planes, unsigned char *elems, size_t rows,
                            size_t chunk, int back)
{
    size_t i = 0;
    for (; i + 16 <= rows; i += 16) {
        __m128i x[8], y0, y1, y2, y3, y4, y5, y6, y7;
        __m128i *e = (__m128i *)(elems + i * 8);
        for (int k = 0; k < 8; k++)
            x[k] = back ? _mm_loadu_si128((const __m128i *)(planes + (size_t)k * chunk + i))
                        : _mm_loadu_si128(e + k);
        SHUF_ROUND(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], y0, y1, y2, y3, y4, y5, y6, y7);
        SHUF_ROUND(y0, y1, y2, y3, y4, y5, y6, y7, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
        SHUF_ROUND(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], y0, y1, y2, y3, y4, y5, y6, y7);
        if (back) {
            _mm_storeu_si128(e + 0, y0);
            _mm_storeu_si128(e + 1, y1);
            _mm_storeu_si128(e + 2, y2);
            _mm_storeu_si128(e + 3, y3);
            _mm_storeu_si128(e + 4, y4);
            _mm_storeu_si128(e + 5, y5);
            _mm_storeu_si128(e + 6, y6);
            _mm_storeu_si128(e + 7, y7);
        } else {
            SHUF_ROUND(y0, y1, y2, y3, y4, y5, y6, y7, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
            for (int k = 0; k < 8; k++)
                _mm_storeu_si128((__m128i *)(planes + (size_t)k * chunk + i), x[k]);
        }
    }
    return i;
}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* An 8 x 8 matrix of bytes, row r = r[r] (byte c of it at bit 8c),
 * transposed in place: three rounds of swaps of 1-, 2- and 4-byte blocks.
 * Shuffling 8-byte elements is this transpose on blocks of 8 elements. */
static void transpose8(uint64_t r[8])
{
    for (int k = 0; k < 8; k += 2) {
        uint64_t t = ((r[k] >> 8) ^ r[k + 1]) & UINT64_C(0x00FF00FF00FF00FF);
        r[k + 1] ^= t;
        r[k] ^= t << 8;
    }
    for (int k = 0; k < 8; k += (k & 1) ? 3 : 1) {
        uint64_t t = ((r[k] >> 16) ^ r[k + 2]) & UINT64_C(0x0000FFFF0000FFFF);
        r[k + 2] ^= t;
        r[k] ^= t << 16;
    }
    for (int k = 0; k < 4; k++) {
        uint64_t t = ((r[k] >> 32) ^ r[k + 4]) & UINT64_C(0x00000000FFFFFFFF);
        r[k + 4] ^= t;
        r[k] ^= t << 32;
    }
}

static size_t shuffle8_swap(unsigned char *planes, unsigned char *elems, size_t rows, size_t chunk,
                            int back)
{
    size_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        uint64_t r[8];
        for (int k = 0; k < 8; k++)
            memcpy(&r[k], back ? planes + (size_t)k * chunk + i : elems + (i + k) * 8, 8);
        transpose8(r);
        for (int k = 0; k < 8; k++)
            memcpy(back ? elems + (i + k) * 8 : planes + (size_t)k * chunk + i, &r[k], 8);
    }
    return i;
}
#endif

/* HDF5's shuffle of `rows` elements of esize bytes (in: element-major) into
 * planes of `chunk` bytes (plane b = byte b of every element), or back
 * (unshuffle); rows <= chunk.  8-byte elements go 16 at a time through
 * SSE2 (x86-64), else 8 at a time on a little-endian machine. */
static void shuffle_bytes(unsigned char *planes, unsigned char *elems, size_t rows, size_t chunk,
                          size_t esize, int back)
{
    size_t i = 0;
#if defined(__SSE2__)
    if (esize == 8)
        i = shuffle8_sse2(planes, elems, rows, chunk, back);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (esize == 8)
        i = shuffle8_swap(planes, elems, rows, chunk, back);
#endif
    for (; i < rows; i++)
        for (size_t b = 0; b < esize; b++) {
            if (back)
                elems[i * esize + b] = planes[b * chunk + i];
            else
                planes[b * chunk + i] = elems[i * esize + b];
        }
}

typedef struct zchunk {
    unsigned char *out;
    uLongf len;
    int rc; /* zlib's */
} zchunk;

typedef struct zjob {
    const unsigned char *data;
    size_t n, esize, chunk, nchunks;
    int level;
    zchunk *ch;
    size_t next; /* the next chunk to take (atomic) */
} zjob;

static void *z_work(void *arg)
{
    zjob *j = arg;
    size_t cb = j->chunk * j->esize;
    unsigned char *in = malloc(cb), *sh = malloc(cb);
    for (;;) {
        size_t k = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (k >= j->nchunks)
            break;
        zchunk *c = &j->ch[k];
        size_t r0 = k * j->chunk, rows = j->n - r0 < j->chunk ? j->n - r0 : j->chunk;
        uLongf bound = compressBound((uLong)cb);
        if (!in || !sh || !(c->out = malloc(bound))) {
            c->rc = Z_MEM_ERROR;
            continue;
        }
        memcpy(in, j->data + r0 * j->esize, rows * j->esize);
        memset(in + rows * j->esize, 0, cb - rows * j->esize);
        if (j->chunk > 1 && j->esize > 1) {
            shuffle_bytes(sh, in, j->chunk, j->chunk, j->esize, 0);
        } else {
            memcpy(sh, in, cb);
        }
        c->len = bound;
        c->rc = compress2(c->out, &c->len, sh, (uLong)cb, j->level);
    }
    free(in);
    free(sh);
    return NULL;
}

/* Write n elements of esize bytes at data into dset (chunked by chunk,
 * shuffle + deflate at level) through the cores; 0 or -1 (HDF5 or zlib
 * failed; CPO_ENOMEM out of memory). */
static int w_chunks(hid_t dset, const void *data, size_t n, size_t esize, size_t chunk,
                    int level)
{
    size_t nchunks = (n + chunk - 1) / chunk;
    zjob j = {data, n, esize, chunk, nchunks, level, calloc(nchunks, sizeof(zchunk)), 0};
    if (!j.ch)
        return CPO_ENOMEM;
    cpo_on_cores(z_work, &j, nchunks);
    int rc = 0;
    for (size_t k = 0; k < nchunks && !rc; k++) {
        hsize_t off = (hsize_t)(k * chunk);
        if (j.ch[k].rc != Z_OK)
            rc = j.ch[k].rc == Z_MEM_ERROR ? CPO_ENOMEM : -1;
        else if (H5Dwrite_chunk(dset, H5P_DEFAULT, 0, &off, (size_t)j.ch[k].len, j.ch[k].out) < 0)
            rc = -1;
    }
    for (size_t k = 0; k < nchunks; k++)
        free(j.ch[k].out);
    free(j.ch);
    return rc;
}

/* One 1-D dataset of n elements of fsize bytes on file. */
static int w_dataset(const wctx *w, hid_t loc, const char *obj, const char *name,
                     hid_t ftype, hid_t mtype, size_t fsize, size_t n,
                     const void *data)
{
    int rc = 0;
    hid_t space = -1, dcpl = -1, dset = -1;
    hsize_t dims[1] = {n};
    char what[STORE_OBJ_MAX + 64];

    snprintf(what, sizeof what, "%s/%s", strcmp(obj, "/") ? obj : "", name);
    if ((space = H5Screate_simple(1, dims, NULL)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0 ||
        H5Pset_obj_track_times(dcpl, 0) < 0) { /* no clock in the bytes */
        rc = w_fail(w, "dataset", what);
        goto cleanup;
    }
    hsize_t chunk = 0;
    if (n > 0) {
        /* At most STORE_CHUNK_BYTES per chunk, split evenly: HDF5 stores and
         * inflates the last chunk whole, so 87,600 rows as 65,536 + 22,064
         * would cost a third more than 2 x 43,800. */
        hsize_t most = STORE_CHUNK_BYTES / (fsize ? fsize : 1);
        if (most < 1)
            most = 1;
        hsize_t nchunks = (n + most - 1) / most;
        chunk = (n + nchunks - 1) / nchunks;
        if (H5Pset_chunk(dcpl, 1, &chunk) < 0 ||
            (w->deflate > 0 && (H5Pset_shuffle(dcpl) < 0 ||
                                H5Pset_deflate(dcpl, (unsigned)w->deflate) < 0))) {
            rc = w_fail(w, "dataset", what);
            goto cleanup;
        }
    }
    dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0) {
        rc = w_fail(w, "dataset", what);
    } else if (n > 0 && w->deflate > 0 && !w->pipeline && H5Tequal(ftype, mtype) > 0) {
        int zr = w_chunks(dset, data, n, fsize, (size_t)chunk, w->deflate);
        if (zr == CPO_ENOMEM)
            rc = cpo_error_set(w->err, CPO_ENOMEM, w->path, 0, 0, "out of memory");
        else if (zr)
            rc = w_fail(w, "dataset", what);
    } else if (n > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        rc = w_fail(w, "dataset", what);
    }

cleanup:
    if (dset >= 0)
        H5Dclose(dset);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int w_column(const wctx *w, hid_t loc, const char *obj, const colspec *c,
                    size_t n)
{
    int rc;
    hid_t ft = col_type(c->kind, c->size, 1), mt = col_type(c->kind, c->size, 0);
    if (ft < 0 || mt < 0) {
        char what[STORE_OBJ_MAX + 64];
        snprintf(what, sizeof what, "%s/%s", obj, c->name);
        rc = w_fail(w, "dataset", what);
    } else {
        rc = w_dataset(w, loc, obj, c->name, ft, mt, c->size, n, c->data);
    }
    if (ft >= 0)
        H5Tclose(ft);
    if (mt >= 0)
        H5Tclose(mt);
    return rc;
}

static int w_table(const wctx *w, hid_t fid, const char *name, const field *f,
                   size_t nf, size_t rec_size, size_t n, const void *data)
{
    int rc;
    hid_t ft = compound_type(f, nf, rec_size, 1);
    hid_t mt = compound_type(f, nf, rec_size, 0);
    char obj[STORE_OBJ_MAX];
    snprintf(obj, sizeof obj, "/%s", name);
    if (ft < 0 || mt < 0)
        rc = w_fail(w, "table", obj);
    else
        rc = w_dataset(w, fid, "/", name, ft, mt, H5Tget_size(ft), n, data);
    if (ft >= 0)
        H5Tclose(ft);
    if (mt >= 0)
        H5Tclose(mt);
    return rc;
}

/* A group that keeps link creation order (for chains and indices). */
static hid_t w_group(const wctx *w, hid_t loc, const char *name,
                     const char *obj, int ordered, int *rc)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = -1;
    if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0 &&
        (!ordered || H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED |
                                                          H5P_CRT_ORDER_INDEXED) >= 0))
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0)
        *rc = w_fail(w, "group", obj);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

/* Whether an optional (COL_F64) column holds a value that is not NaN. */
static int has_number(const colspec *c, size_t n)
{
    const double *v = c->data;
    for (size_t i = 0; v && i < n; i++)
        if (!isnan(v[i]))
            return 1;
    return 0;
}

/*
 * A series group parent/<esc(label)> holding ncols columns of n rows, with
 * the string attribute sattr = label and, if iattr, an int64 attribute.
 */
static int w_series(const wctx *w, hid_t parent, const char *ppath,
                    const char *label, const char *what, const char *sattr,
                    const char *iattr, int64_t ival, const colspec *cols,
                    size_t ncols, size_t n)
{
    int rc = 0;
    hid_t g = -1;
    char esc[STORE_ESC_MAX], obj[STORE_OBJ_MAX];

    esc_name(label, esc, sizeof esc);
    snprintf(obj, sizeof obj, "%s/%s", ppath, esc);
    htri_t ex = H5Lexists(parent, esc, H5P_DEFAULT);
    if (ex > 0)
        return cpo_error_set(w->err, CPO_EINVAL, w->path, 0, 0,
                             "duplicate %s \"%s\" (expected unique names)",
                             what, label);
    g = w_group(w, parent, esc, obj, 0, &rc);
    if (g < 0)
        return rc;
    if ((rc = w_attr(w, g, obj, sattr, COL_STR, label)) ||
        (iattr && (rc = w_attr(w, g, obj, iattr, COL_I64, &ival))))
        goto cleanup;
    for (size_t i = 0; i < ncols && !rc; i++)
        if (!cols[i].optional || has_number(&cols[i], n))
            rc = w_column(w, g, obj, &cols[i], n);

cleanup:
    H5Gclose(g);
    return rc;
}

static size_t bars_cols(const cpo_bars *b, colspec *c)
{
    colspec t[] = {
        {"ts", COL_I64, 8, b->ts, 0},       {"open", COL_F64, 8, b->open, 0},
        {"high", COL_F64, 8, b->high, 0},   {"low", COL_F64, 8, b->low, 0},
        {"close", COL_F64, 8, b->close, 0}, {"volume", COL_F64, 8, b->volume, 0},
        {"mark", COL_F64, 8, b->mark, 0},   {"index", COL_F64, 8, b->index, 0},
        /* since the binance-mark-klines format; NULL when the bars have none */
        {"mark_high", COL_F64, 8, b->mark_high, 1},
        {"mark_low", COL_F64, 8, b->mark_low, 1},
    };
    memcpy(c, t, sizeof t);
    return NFIELDS(t);
}

static size_t funding_cols(const cpo_funding *f, colspec *c)
{
    colspec t[] = {
        {"ts", COL_I64, 8, f->ts, 0},
        {"rate", COL_F64, 8, f->rate, 0},
        {"mark", COL_F64, 8, f->mark, 0},
        {"index", COL_F64, 8, f->index, 0},
    };
    memcpy(c, t, sizeof t);
    return NFIELDS(t);
}

static size_t chain_cols(const cpo_chain *ch, colspec *c)
{
    colspec t[] = {
        {"ts", COL_I64, 8, ch->ts, 0},
        {"expiry_ms", COL_I64, 8, ch->expiry_ms, 0},
        {"strike", COL_F64, 8, ch->strike, 0},
        {"right", COL_I8, 1, ch->right, 0},
        {"mark_px", COL_F64, 8, ch->mark_px, 0},
        {"bid_px", COL_F64, 8, ch->bid_px, 0},
        {"ask_px", COL_F64, 8, ch->ask_px, 0},
        {"mark_iv", COL_F64, 8, ch->mark_iv, 0},
        {"fwd_px", COL_F64, 8, ch->fwd_px, 0},
        {"index_px", COL_F64, 8, ch->index_px, 0},
        {"delta", COL_F64, 8, ch->delta, 0},
        {"vega", COL_F64, 8, ch->vega, 0},
        {"open_interest", COL_F64, 8, ch->open_interest, 0},
        {"name", COL_STR, CPO_SYMBOL_MAX, ch->name, 0},
    };
    memcpy(c, t, sizeof t);
    return NFIELDS(t);
}

static size_t iv_cols(const cpo_ivindex *v, colspec *c)
{
    colspec t[] = {
        {"ts", COL_I64, 8, v->ts, 0},       {"open", COL_F64, 8, v->open, 0},
        {"high", COL_F64, 8, v->high, 0},   {"low", COL_F64, 8, v->low, 0},
        {"close", COL_F64, 8, v->close, 0},
    };
    memcpy(c, t, sizeof t);
    return NFIELDS(t);
}

static size_t caps_cols(const cpo_caps *k, colspec *c)
{
    colspec t[] = {
        {"ts", COL_I64, 8, k->ts, 0},
        {"rank", COL_I32, 4, k->rank, 0},
        {"market_cap", COL_F64, 8, k->market_cap, 0},
        {"price", COL_F64, 8, k->price, 0},
        {"supply", COL_F64, 8, k->supply, 0},
        {"volume_24h", COL_F64, 8, k->volume_24h, 0},
        {"symbol", COL_STR, CPO_CCY_MAX, k->symbol, 0},
        {"name", COL_STR, CPO_SYMBOL_MAX, k->name, 0},
    };
    memcpy(c, t, sizeof t);
    return NFIELDS(t);
}

static void instr_to_rec(const cpo_instrument *in, instr_rec *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->symbol, sizeof r->symbol, "%s", in->symbol);
    snprintf(r->exchange, sizeof r->exchange, "%s", in->exchange);
    snprintf(r->base, sizeof r->base, "%s", in->base);
    snprintf(r->quote, sizeof r->quote, "%s", in->quote);
    snprintf(r->underlying, sizeof r->underlying, "%s", in->underlying);
    r->kind = (int32_t)in->kind;
    r->settle = (int32_t)in->settle;
    r->right = (int32_t)in->right;
    r->contract_size = in->contract_size;
    r->tick_size = in->tick_size;
    r->lot_size = in->lot_size;
    r->strike = in->strike;
    r->expiry_ms = in->expiry_ms;
    r->funding_interval_ms = in->funding_interval_ms;
}

static int w_instruments(const wctx *w, hid_t fid, const cpo_dataset *ds)
{
    int rc;
    instr_rec *recs = calloc(ds->n_instr ? ds->n_instr : 1, sizeof *recs);
    if (!recs)
        return cpo_error_set(w->err, CPO_ENOMEM, w->path, 0, 0, "out of memory");
    for (size_t i = 0; i < ds->n_instr; i++)
        instr_to_rec(&ds->instr[i], &recs[i]);
    rc = w_table(w, fid, "instruments", instr_fields, NFIELDS(instr_fields),
                 sizeof(instr_rec), ds->n_instr, recs);
    free(recs);
    return rc;
}

static int w_all(const wctx *w, hid_t fid, const cpo_dataset *ds)
{
    int rc = 0;
    hid_t g = -1;
    colspec cols[STORE_MAX_COLS];
    size_t nc;
    int32_t version = STORE_VERSION;

    if ((rc = w_attr(w, fid, "/", "cpo_store_version", COL_I32, &version)) ||
        (rc = w_attr(w, fid, "/", "cpo_version", COL_STR, CPO_VERSION)) ||
        (rc = w_instruments(w, fid, ds)))
        return rc;

    if ((g = w_group(w, fid, "bars", "/bars", 0, &rc)) < 0)
        return rc;
    for (size_t i = 0; i < ds->n_instr && !rc; i++) {
        if ((rc = w_cancelled(w)))
            break;
        nc = bars_cols(&ds->bars[i], cols);
        rc = w_series(w, g, "/bars", ds->instr[i].symbol, "symbol", "symbol",
                      "bar_ms", ds->bars[i].bar_ms, cols, nc, ds->bars[i].n);
    }
    H5Gclose(g);
    if (rc || (g = w_group(w, fid, "funding", "/funding", 0, &rc)) < 0)
        return rc;
    for (size_t i = 0; i < ds->n_instr && !rc; i++) {
        nc = funding_cols(&ds->funding[i], cols);
        rc = w_series(w, g, "/funding", ds->instr[i].symbol, "symbol", "symbol",
                      "interval_ms", ds->funding[i].interval_ms, cols, nc,
                      ds->funding[i].n);
    }
    H5Gclose(g);
    if (rc || (g = w_group(w, fid, "chains", "/chains", 1, &rc)) < 0)
        return rc;
    for (size_t i = 0; i < ds->n_chains && !rc; i++) {
        if ((rc = w_cancelled(w)))
            break;
        nc = chain_cols(&ds->chains[i], cols);
        rc = w_series(w, g, "/chains", ds->chains[i].underlying, "underlying",
                      "underlying", NULL, 0, cols, nc, ds->chains[i].n);
    }
    H5Gclose(g);
    if (rc || (g = w_group(w, fid, "ivindex", "/ivindex", 1, &rc)) < 0)
        return rc;
    for (size_t i = 0; i < ds->n_iv && !rc; i++) {
        nc = iv_cols(&ds->iv[i], cols);
        rc = w_series(w, g, "/ivindex", ds->iv[i].name, "index name", "name",
                      NULL, 0, cols, nc, ds->iv[i].n);
    }
    H5Gclose(g);
    if (rc || (g = w_group(w, fid, "caps", "/caps", 0, &rc)) < 0)
        return rc;
    nc = caps_cols(&ds->caps, cols);
    for (size_t i = 0; i < nc && !rc; i++)
        rc = w_column(w, g, "/caps", &cols[i], ds->caps.n);
    H5Gclose(g);
    if (rc)
        return rc;
    return w_table(w, fid, "provenance", prov_fields, NFIELDS(prov_fields),
                   sizeof(cpo_provenance), ds->n_prov, ds->prov);
}

static int check_filters(const char *path, cpo_error *err)
{
    static const struct { H5Z_filter_t id; const char *name; } f[] = {
        {H5Z_FILTER_DEFLATE, "deflate"}, {H5Z_FILTER_SHUFFLE, "shuffle"}};
    for (size_t i = 0; i < 2; i++) {
        unsigned cfg = 0;
        if (H5Zfilter_avail(f[i].id) <= 0 || H5Zget_filter_info(f[i].id, &cfg) < 0 ||
            !(cfg & H5Z_FILTER_CONFIG_ENCODE_ENABLED))
            return cpo_error_set(err, CPO_ESTORE, path, 0, 0,
                                 "the HDF5 library has no %s encoder (expected "
                                 "an HDF5 built with zlib)", f[i].name);
    }
    return 0;
}

void cpo_store_opts_init(cpo_store_opts *o)
{
    o->deflate = STORE_DEFLATE;
    o->cancel = NULL;
    o->hdf5_filters = 0;
}

int cpo_store_write(const cpo_dataset *ds, const char *path, cpo_error *err)
{
    cpo_store_opts o;
    cpo_store_opts_init(&o);
    return cpo_store_write_opts(ds, path, &o, err);
}

int cpo_store_write_opts(const cpo_dataset *ds, const char *path,
                         const cpo_store_opts *opts, cpo_error *err)
{
    int rc = 0, created = 0;
    hid_t fid = -1;
    char tmp[4096];
    wctx w = {path, err, opts ? opts->deflate : STORE_DEFLATE, opts ? opts->cancel : NULL,
              opts ? opts->hdf5_filters : 0};
    if (w.deflate < 0 || w.deflate > 9)
        return cpo_error_set(err, CPO_ERANGE, path, 0, 0,
                             "deflate level %d (expected 0 for none, or 1 to 9)", w.deflate);

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!ds || !path || !*path)
        return cpo_error_set(err, CPO_EINVAL, path, 0, 0,
                             "no dataset or no path (expected both)");
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        sizeof tmp)
        return cpo_error_set(err, CPO_EINVAL, path, 0, 0,
                             "path too long (expected < %zu bytes)", sizeof tmp - 32);
    if ((rc = check_filters(path, err)))
        return rc;

    /* The temporary name first, so that a folder that cannot take it
     * fails before the work; the file itself is built in memory and
     * written whole (h5mem.h: a failed write cannot crash HDF5). */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = cpo_error_set(err, CPO_EIO, path, 0, 0,
                           "cannot create temporary file %s: %s (expected a "
                           "writable directory)", tmp, strerror(errno));
        goto cleanup;
    }
    close(fd);
    created = 1;
    /* The root group without times either: the same dataset, the same
     * bytes (the import time of the provenance aside: SOURCE_DATE_EPOCH). */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0)
        fid = cpo_h5mem_create(tmp, fcpl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fid < 0) {
        rc = w_fail(&w, "file", tmp);
        goto cleanup;
    }
    if ((rc = w_all(&w, fid, ds)) || (rc = w_cancelled(&w)))
        goto cleanup;
    /* durable before the rename makes it visible */
    rc = cpo_h5mem_write_close(fid, tmp, 1, err);
    fid = -1;
    if (!rc)
        rc = w_cancelled(&w);
    if (rc)
        goto cleanup;
    if (rename(tmp, path) < 0) {
        rc = cpo_error_set(err, CPO_EIO, path, 0, 0,
                           "cannot rename %s over it: %s (expected a "
                           "replaceable file)", tmp, strerror(errno));
        goto cleanup;
    }

cleanup:
    if (fid >= 0)
        H5Fclose(fid);
    if (rc && created)
        remove(tmp);
    return rc;
}

/* --- reading --------------------------------------------------------------- */

struct zread;

typedef struct rctx {
    const char *path;
    cpo_error *err;
    int times_only; /* read only ts and expiry_ms columns (for info) */
    struct zread *zq; /* NULL, or where compressed chunks wait (z_queue) */
} rctx;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int r_fail(const rctx *r, const char *fmt, ...)
{
    char msg[CPO_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cpo_error_set(r->err, CPO_ESTORE, r->path, 0, 0, "%s", msg);
}

static int r_nomem(const rctx *r)
{
    return cpo_error_set(r->err, CPO_ENOMEM, r->path, 0, 0, "out of memory");
}

/* Check that type t can hold a column of this kind. */
static int r_check_type(const rctx *r, hid_t t, const char *obj, col_kind kind,
                        size_t size)
{
    H5T_class_t cls = H5Tget_class(t);
    size_t tsize = H5Tget_size(t);
    const char *want = kind_text(kind, 0);
    if (cls < 0 || tsize == 0)
        return r_fail(r, "%s has an unreadable type (expected %s)", obj, want);
    switch (kind) {
    case COL_STR:
        if (cls != H5T_STRING || H5Tis_variable_str(t) != 0)
            return r_fail(r, "%s is not a fixed-length string (expected a "
                          "string of at most %zu bytes)", obj, size);
        if (tsize > size)
            return r_fail(r, "%s is a string of %zu bytes (expected at most %zu)",
                          obj, tsize, size);
        return 0;
    case COL_F64:
        if (cls != H5T_FLOAT || tsize != 8)
            return r_fail(r, "%s is not a 64-bit float (expected %s)", obj, want);
        return 0;
    default:
        if (cls != H5T_INTEGER || tsize != size || H5Tget_sign(t) != H5T_SGN_2)
            return r_fail(r, "%s is not a signed %zu-bit integer (expected %s)",
                          obj, size * 8, want);
        return 0;
    }
}

static int r_open_group(const rctx *r, hid_t loc, const char *name,
                        const char *obj, hid_t *out)
{
    htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
    *out = -1;
    if (ex <= 0)
        return r_fail(r, "missing group %s (expected a cpo store of version %d)",
                      obj, STORE_VERSION);
    if ((*out = H5Gopen2(loc, name, H5P_DEFAULT)) < 0) {
        h5_why why;
        return r_fail(r, "%s cannot be opened: %s (expected a group)", obj,
                      h5_reason(&why));
    }
    return 0;
}

/*
 * Check that the stored bytes of a dataset cover its rows before H5Dread
 * copies them.  libhdf5 1.10 trusts the sizes a damaged file gives it:
 *  - a compact dataset keeps its bytes in its object header, and H5Dread
 *    copies rows x type size out of them whatever the header holds;
 *  - an unfiltered chunk is read into a buffer of the size its index entry
 *    gives, then used as a whole chunk;
 *  - a filtered chunk is read into a buffer of the size its index entry
 *    gives, gigabytes if the entry says so, before the read finds the file
 *    shorter;
 *  - rows the file has no bytes for read as the fill value: a header that
 *    claims 10^12 rows is 10^12 rows of memory.
 * The first two are heap overflows inside H5Dread, the last two allocations
 * of any size.  So the chunks and contiguous blocks must lie inside the
 * file, a chunk hold at most STORE_CHUNK_MAX bytes of rows, and the rows be
 * at most STORE_RATIO_MAX times the bytes stored for them (deflate's limit
 * is 1032).  cpo never writes compact datasets, but another tool may
 * (h5repack), so sizes are checked rather than layouts refused.
 */
static int r_check_storage(const rctx *r, hid_t dset, const char *obj, size_t n)
{
    hid_t dcpl = H5Dget_create_plist(dset), t = -1, file = -1;
    int rc = 0;
    if (dcpl < 0)
        return r_fail(r, "%s has no creation properties (expected a readable dataset)", obj);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    size_t tsize = (t = H5Dget_type(dset)) < 0 ? 0 : H5Tget_size(t);
    hsize_t fsize = 0, stored = H5Dget_storage_size(dset);
    if ((file = H5Iget_file_id(dset)) < 0 || H5Fget_filesize(file, &fsize) < 0) {
        rc = r_fail(r, "%s is in a file of unknown size (expected a readable store)", obj);
    } else if (tsize == 0) {
        rc = r_fail(r, "%s has no type (expected a column)", obj);
    } else if (tsize > STORE_ROW_MAX) {
        /* H5Dread sizes its conversion buffer to one row at least. */
        rc = r_fail(r, "%s has rows of %zu bytes (expected at most %d: a whole, "
                    "uncorrupted cpo store)", obj, tsize, STORE_ROW_MAX);
    } else if (n > 0 && (double)n * (double)tsize > (double)stored * STORE_RATIO_MAX) {
        rc = r_fail(r, "%s has %zu rows of %zu bytes in %llu stored bytes (expected at most "
                    "%d times the bytes stored: a whole, uncorrupted cpo store)", obj, n, tsize,
                    (unsigned long long)stored, STORE_RATIO_MAX);
    } else if (layout == H5D_COMPACT) {
        if (n > 0 && (hsize_t)n > stored / tsize)
            rc = r_fail(r, "%s holds %llu bytes, too few for %zu rows of %zu bytes (expected a "
                        "whole, uncorrupted cpo store)", obj, (unsigned long long)stored, n,
                        tsize);
    } else if (layout == H5D_CONTIGUOUS) {
        haddr_t addr = H5Dget_offset(dset);
        if (stored > 0 && (addr == HADDR_UNDEF || addr > fsize || stored > fsize - addr))
            rc = r_fail(r, "%s has %llu bytes that lie outside the file of %llu bytes "
                        "(expected a whole, uncorrupted cpo store)", obj,
                        (unsigned long long)stored, (unsigned long long)fsize);
    } else if (layout == H5D_CHUNKED && stored > fsize) {
        /* Chunks do not overlap: all of them fit in the file, and so each. */
        rc = r_fail(r, "%s has chunks of %llu bytes in all in a file of %llu bytes (expected "
                    "a whole, uncorrupted cpo store)", obj, (unsigned long long)stored,
                    (unsigned long long)fsize);
    } else if (layout == H5D_CHUNKED) {
        int filtered = H5Pget_nfilters(dcpl) != 0;
        hsize_t dim = 0, nchunks = 0;
        hid_t space = H5Dget_space(dset); /* 1.10.8 takes no H5S_ALL here */
        if (space < 0 || H5Pget_chunk(dcpl, 1, &dim) != 1 || dim == 0 ||
            H5Dget_num_chunks(dset, space, &nchunks) < 0) {
            rc = r_fail(r, "%s has unreadable chunks (expected a whole, uncorrupted cpo store)",
                        obj);
        } else if (dim > STORE_CHUNK_MAX / tsize) {
            rc = r_fail(r, "%s has chunks of %llu rows of %zu bytes (expected at most %d bytes "
                        "a chunk)", obj, (unsigned long long)dim, tsize, STORE_CHUNK_MAX);
        }
        /* Each chunk in the file; an unfiltered one, or a filtered one
         * whose filter mask says its filters were skipped, must hold its
         * rows whole: HDF5 1.10 copies a chunk's rows out of the bytes
         * stored for it without looking (a damaged mask over 18 deflated
         * bytes read past them: fuzz_store). */
        for (hsize_t i = 0; !rc && i < nchunks; i++) {
            hsize_t off = 0, size = 0;
            haddr_t addr = 0;
            unsigned mask = 0;
            if (H5Dget_chunk_info(dset, space, i, &off, &mask, &addr, &size) < 0)
                rc = r_fail(r, "%s has an unreadable chunk (expected a whole, uncorrupted cpo "
                            "store)", obj);
            else if (addr == HADDR_UNDEF || addr > fsize || size > fsize - addr)
                rc = r_fail(r, "%s has a chunk of %llu bytes at row %llu that lies outside the "
                            "file of %llu bytes (expected a whole, uncorrupted cpo store)", obj,
                            (unsigned long long)size, (unsigned long long)off,
                            (unsigned long long)fsize);
            else if ((!filtered || mask != 0) && size / tsize < dim)
                rc = r_fail(r, "%s has a chunk of %llu bytes at row %llu (expected %llu rows of "
                            "%zu bytes%s: a whole, uncorrupted cpo store)", obj,
                            (unsigned long long)size, (unsigned long long)off,
                            (unsigned long long)dim, tsize,
                            filtered ? ", its filters being skipped" : "");
        }
        if (space >= 0)
            H5Sclose(space);
    }
    if (file >= 0)
        H5Fclose(file);
    if (t >= 0)
        H5Tclose(t);
    H5Pclose(dcpl);
    return rc;
}

/* Open a 1-D dataset and return its length. */
static int r_open_dataset(const rctx *r, hid_t loc, const char *name,
                          const char *obj, hid_t *out, size_t *n)
{
    htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
    hid_t space = -1;
    hsize_t dims[1] = {0};
    int rc = 0;
    *out = -1;
    if (ex <= 0)
        return r_fail(r, "missing dataset %s (expected a cpo store of version %d)",
                      obj, STORE_VERSION);
    if ((*out = H5Dopen2(loc, name, H5P_DEFAULT)) < 0) {
        h5_why why;
        return r_fail(r, "%s cannot be opened: %s (expected a dataset)", obj,
                      h5_reason(&why));
    }
    space = H5Dget_space(*out);
    int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (rank != 1 || H5Sget_simple_extent_dims(space, dims, NULL) != 1) {
        rc = r_fail(r, "%s has %d dimensions (expected 1)", obj, rank);
    } else if (dims[0] > (hsize_t)(SIZE_MAX / 1024)) {
        rc = r_fail(r, "%s has %llu rows (expected fewer)", obj,
                    (unsigned long long)dims[0]);
    } else {
        *n = (size_t)dims[0];
        rc = r_check_storage(r, *out, obj, *n);
    }
    if (space >= 0)
        H5Sclose(space);
    if (rc) {
        H5Dclose(*out);
        *out = -1;
    }
    return rc;
}

static void close_all(hid_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0) {
            H5Dclose(ids[i]);
            ids[i] = -1;
        }
}

/* Open and check every column of a series group; all must have one
 * length.  An optional column that is absent keeps ids[i] = -1. */
static int r_open_columns(const rctx *r, hid_t g, const char *obj,
                          const colspec *cols, size_t nc, hid_t *ids, size_t *n)
{
    int rc = 0;
    char what[STORE_OBJ_MAX + 64], first[STORE_OBJ_MAX + 64] = "";
    for (size_t i = 0; i < nc; i++)
        ids[i] = -1;
    for (size_t i = 0; i < nc && !rc; i++) {
        size_t len = 0;
        if (cols[i].optional && H5Lexists(g, cols[i].name, H5P_DEFAULT) == 0)
            continue;
        snprintf(what, sizeof what, "%s/%s", obj, cols[i].name);
        if ((rc = r_open_dataset(r, g, cols[i].name, what, &ids[i], &len)))
            break;
        hid_t t = H5Dget_type(ids[i]);
        rc = t < 0 ? r_fail(r, "%s has no type (expected %s)", what,
                            kind_text(cols[i].kind, cols[i].size))
                   : r_check_type(r, t, what, cols[i].kind, cols[i].size);
        if (t >= 0)
            H5Tclose(t);
        if (rc)
            break;
        if (i == 0) {
            *n = len;
            snprintf(first, sizeof first, "%s", what);
        } else if (len != *n) {
            rc = r_fail(r, "%s has %zu rows (expected %zu, as %s)", what, len,
                        *n, first);
        }
    }
    if (rc)
        close_all(ids, nc);
    return rc;
}

/* --- chunks inflated on every core ------------------------------------------- */

/*
 * The reverse of w_chunks.  A numeric column stored as cpo writes it
 * (chunked; shuffle, then deflate; the same bytes in memory as on file)
 * has its chunks read raw with H5Dread_chunk as the store is walked, then
 * inflated and unshuffled into their arrays on every core at once
 * (z_run).  Anything else (strings, no or other filters, a chunk missing
 * or stored with a filter skipped) is read by H5Dread as before.  A chunk
 * that does not inflate to its size is refused, as HDF5 refuses it.
 */
typedef struct zpiece {
    unsigned char *raw, *dest; /* dest: rows x esize bytes of the column */
    size_t rawlen, rows, chunk, esize;
    int bad;
    char what[STORE_OBJ_MAX + 64];
} zpiece;

typedef struct zread {
    zpiece *p;
    size_t n, cap, next;
} zread;

static void z_free(zread *q)
{
    for (size_t k = 0; k < q->n; k++)
        free(q->p[k].raw);
    free(q->p);
    memset(q, 0, sizeof *q);
}

/* Whether dset is chunked with exactly shuffle then deflate, in mt's bytes;
 * its chunk rows in *chunk. */
static int z_fits(hid_t dset, hid_t mt, hsize_t *chunk)
{
    hid_t dcpl = H5Dget_create_plist(dset), ft = H5Dget_type(dset);
    unsigned flags, cd[8];
    size_t ncd = 8;
    int ok = dcpl >= 0 && ft >= 0 && H5Tequal(ft, mt) > 0 &&
             H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_nfilters(dcpl) == 2 &&
             H5Pget_chunk(dcpl, 1, chunk) == 1 && *chunk > 0 &&
             H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL) == H5Z_FILTER_SHUFFLE;
    ncd = 8;
    ok = ok && H5Pget_filter2(dcpl, 1, &flags, &ncd, cd, 0, NULL, NULL) == H5Z_FILTER_DEFLATE;
    if (ft >= 0)
        H5Tclose(ft);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return ok;
}

/* Queue the chunks of n rows of dset for z_run into data.  0: queued; 1:
 * not this column (read it with H5Dread); CPO_ENOMEM. */
static int z_queue(const rctx *r, hid_t dset, hid_t mt, const char *what, void *data, size_t n,
                   size_t esize)
{
    zread *q = r->zq;
    hsize_t chunk = 0;
    if (!z_fits(dset, mt, &chunk))
        return 1;
    size_t start = q->n, nch = (n + (size_t)chunk - 1) / (size_t)chunk;
    for (size_t k = 0; k < nch; k++) {
        hsize_t off = (hsize_t)k * chunk, nbytes = 0;
        uint32_t mask = 0;
        if (q->n == q->cap) {
            size_t cap = q->cap ? 2 * q->cap : 256;
            zpiece *p = realloc(q->p, cap * sizeof *p);
            if (!p)
                return r_nomem(r);
            q->p = p;
            q->cap = cap;
        }
        zpiece *z = &q->p[q->n];
        memset(z, 0, sizeof *z);
        if (H5Dget_chunk_storage_size(dset, &off, &nbytes) < 0 || nbytes == 0 ||
            !(z->raw = malloc((size_t)nbytes)) ||
            H5Dread_chunk(dset, H5P_DEFAULT, &off, &mask, z->raw) < 0 || mask != 0) {
            int oom = nbytes > 0 && !z->raw;
            free(z->raw);
            while (q->n > start)
                free(q->p[--q->n].raw);
            return oom ? r_nomem(r) : 1;
        }
        z->rawlen = (size_t)nbytes;
        z->dest = (unsigned char *)data + k * (size_t)chunk * esize;
        z->rows = n - k * (size_t)chunk < (size_t)chunk ? n - k * (size_t)chunk : (size_t)chunk;
        z->chunk = (size_t)chunk;
        z->esize = esize;
        snprintf(z->what, sizeof z->what, "%s", what);
        q->n++;
    }
    return 0;
}

static void *z_inflate(void *arg)
{
    zread *q = arg;
    unsigned char *buf = NULL;
    size_t have = 0;
    for (;;) {
        size_t k = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
        if (k >= q->n)
            break;
        zpiece *z = &q->p[k];
        size_t want = z->chunk * z->esize;
        if (want > have) {
            free(buf);
            have = 0;
            if (!(buf = malloc(want))) {
                z->bad = 2;
                continue;
            }
            have = want;
        }
        uLongf got = (uLongf)want;
        if (uncompress(buf, &got, z->raw, (uLong)z->rawlen) != Z_OK || got != want) {
            z->bad = 1;
            continue;
        }
        if (z->chunk > 1 && z->esize > 1) {
            shuffle_bytes(buf, z->dest, z->rows, z->chunk, z->esize, 1);
        } else {
            memcpy(z->dest, buf, z->rows * z->esize);
        }
    }
    free(buf);
    return NULL;
}

/* Inflate every queued chunk on every core, then free the queue. */
static int z_run(const rctx *r, zread *q)
{
    q->next = 0;
    cpo_on_cores(z_inflate, q, q->n);
    int rc = 0;
    for (size_t k = 0; k < q->n && !rc; k++)
        if (q->p[k].bad == 2)
            rc = r_nomem(r);
        else if (q->p[k].bad)
            rc = r_fail(r, "cannot read %s: a chunk of it does not inflate to %zu bytes (expected "
                        "a whole, uncorrupted cpo store)", q->p[k].what,
                        q->p[k].chunk * q->p[k].esize);
    z_free(q);
    return rc;
}

/* Read n rows of every column that is open (ids[i] >= 0) into
 * cols[i].data (each n elements).  times_only: the times, and mark_high
 * (mark coverage for info). */
static int r_read_columns(const rctx *r, const char *obj, const colspec *cols,
                          size_t nc, const hid_t *ids, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < nc; i++) {
        if (ids[i] < 0 || (r->times_only && strcmp(cols[i].name, "ts") &&
                           strcmp(cols[i].name, "expiry_ms") &&
                           strcmp(cols[i].name, "mark_high")))
            continue;
        hid_t mt = col_type(cols[i].kind, cols[i].size, 0);
        int queued = 1;
        if (mt >= 0 && r->zq && cols[i].kind != COL_STR) {
            char what[STORE_OBJ_MAX + 64];
            snprintf(what, sizeof what, "%s/%s", obj, cols[i].name);
            queued = z_queue(r, ids[i], mt, what, cols[i].data, n, cols[i].size);
            if (queued == CPO_ENOMEM) {
                H5Tclose(mt);
                return queued;
            }
        }
        herr_t st = mt < 0 ? -1
                    : queued == 0 ? 0
                                  : H5Dread(ids[i], mt, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                            cols[i].data);
        if (mt >= 0)
            H5Tclose(mt);
        if (st < 0) {
            h5_why why;
            return r_fail(r, "cannot read %s/%s: %s (expected a readable column)",
                          obj, cols[i].name, h5_reason(&why));
        }
        if (cols[i].kind == COL_STR) {
            char *s = cols[i].data;
            for (size_t k = 0; k < n; k++)
                s[k * cols[i].size + cols[i].size - 1] = '\0';
        }
    }
    return 0;
}

static int r_attr(const rctx *r, hid_t loc, const char *obj, const char *name,
                  col_kind kind, void *value, size_t size)
{
    int rc = 0;
    hid_t attr = -1, t = -1, mt = -1, space = -1;
    char what[STORE_OBJ_MAX + 64];
    char *buf = NULL;

    snprintf(what, sizeof what, "%s/%s", strcmp(obj, "/") ? obj : "", name);
    htri_t ex = H5Aexists(loc, name);
    if (ex <= 0)
        return r_fail(r, "missing attribute %s (expected %s)", what,
                      kind_text(kind, size));
    if ((attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(attr)) < 0 ||
        (space = H5Aget_space(attr)) < 0) {
        rc = r_fail(r, "attribute %s cannot be opened (expected %s)", what,
                    kind_text(kind, size));
        goto cleanup;
    }
    if (H5Sget_simple_extent_npoints(space) != 1) {
        rc = r_fail(r, "attribute %s is not a single value (expected %s)", what,
                    kind_text(kind, size));
        goto cleanup;
    }
    if (kind == COL_STR) {
        /* Any fixed string; it must fit in size bytes with its NUL. */
        size_t ts = H5Tget_size(t);
        if ((rc = r_check_type(r, t, what, COL_STR, ts ? ts : 1)))
            goto cleanup;
        if (ts > STORE_ROW_MAX) {
            rc = r_fail(r, "attribute %s is a string of %zu bytes (expected at most %zu)",
                        what, ts, size - 1);
            goto cleanup;
        }
        if (!(buf = calloc(ts + 1, 1))) {
            rc = r_nomem(r);
            goto cleanup;
        }
        mt = col_type(COL_STR, ts, 0);
        if (mt < 0 || H5Aread(attr, mt, buf) < 0) {
            rc = r_fail(r, "attribute %s cannot be read (expected a string)", what);
            goto cleanup;
        }
        if (strlen(buf) >= size) {
            rc = r_fail(r, "attribute %s \"%.40s...\" is too long (expected at "
                        "most %zu bytes)", what, buf, size - 1);
            goto cleanup;
        }
        memcpy(value, buf, strlen(buf) + 1);
    } else {
        /* Integers of any size are accepted and converted. */
        if (H5Tget_class(t) != H5T_INTEGER) {
            rc = r_fail(r, "attribute %s is not an integer (expected %s)", what,
                        kind_text(kind, size));
            goto cleanup;
        }
        mt = col_type(kind, size, 0);
        if (mt < 0 || H5Aread(attr, mt, value) < 0) {
            rc = r_fail(r, "attribute %s cannot be read (expected %s)", what,
                        kind_text(kind, size));
            goto cleanup;
        }
    }

cleanup:
    free(buf);
    if (mt >= 0)
        H5Tclose(mt);
    if (space >= 0)
        H5Sclose(space);
    if (t >= 0)
        H5Tclose(t);
    if (attr >= 0)
        H5Aclose(attr);
    return rc;
}

/* Read a compound table into a new array of n records of rec_size bytes. */
static int r_table(const rctx *r, hid_t fid, const char *name, const field *f,
                   size_t nf, size_t rec_size, void **out, size_t *n)
{
    int rc = 0;
    hid_t dset = -1, t = -1, mt = -1;
    char obj[STORE_OBJ_MAX], what[STORE_OBJ_MAX + 64];
    unsigned char *recs = NULL;

    *out = NULL;
    *n = 0;
    snprintf(obj, sizeof obj, "/%s", name);
    if ((rc = r_open_dataset(r, fid, name, obj, &dset, n)))
        return rc;
    if ((t = H5Dget_type(dset)) < 0 || H5Tget_class(t) != H5T_COMPOUND) {
        rc = r_fail(r, "%s is not a compound table (expected records with "
                    "field %s, ...)", obj, f[0].name);
        goto cleanup;
    }
    for (size_t i = 0; i < nf; i++) {
        int idx = H5Tget_member_index(t, f[i].name);
        snprintf(what, sizeof what, "%s field %s", obj, f[i].name);
        if (idx < 0) {
            rc = r_fail(r, "%s is missing (expected %s)", what,
                        kind_text(f[i].kind, f[i].size));
            goto cleanup;
        }
        hid_t mtype = H5Tget_member_type(t, (unsigned)idx);
        rc = mtype < 0 ? r_fail(r, "%s has no type", what)
                       : r_check_type(r, mtype, what, f[i].kind, f[i].size);
        if (mtype >= 0)
            H5Tclose(mtype);
        if (rc)
            goto cleanup;
    }
    if (!(recs = calloc(*n ? *n : 1, rec_size))) {
        rc = r_nomem(r);
        goto cleanup;
    }
    mt = compound_type(f, nf, rec_size, 0);
    if (mt < 0 ||
        (*n > 0 && H5Dread(dset, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, recs) < 0)) {
        h5_why why;
        rc = r_fail(r, "cannot read %s: %s (expected a readable table)", obj,
                    h5_reason(&why));
        goto cleanup;
    }
    for (size_t k = 0; k < *n; k++)
        for (size_t i = 0; i < nf; i++)
            if (f[i].kind == COL_STR)
                recs[k * rec_size + f[i].off + f[i].size - 1] = '\0';
    *out = recs;
    recs = NULL;

cleanup:
    free(recs);
    if (mt >= 0)
        H5Tclose(mt);
    if (t >= 0)
        H5Tclose(t);
    if (dset >= 0)
        H5Dclose(dset);
    return rc;
}

static int r_instruments(const rctx *r, hid_t fid, cpo_dataset *ds)
{
    int rc;
    instr_rec *recs = NULL;
    size_t n = 0;
    if ((rc = r_table(r, fid, "instruments", instr_fields, NFIELDS(instr_fields),
                      sizeof(instr_rec), (void **)&recs, &n)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        const instr_rec *x = &recs[i];
        cpo_instrument in;
        size_t idx = 0;
        if (x->kind < CPO_KIND_SPOT || x->kind > CPO_KIND_FUTURE ||
            x->settle < CPO_SETTLE_LINEAR || x->settle > CPO_SETTLE_INVERSE ||
            x->right < CPO_RIGHT_NONE || x->right > CPO_RIGHT_PUT) {
            rc = r_fail(r, "/instruments row %zu (%s): kind %d, settle %d, right "
                        "%d (expected kind 0-3, settle 0-1, right 0-2)", i + 1,
                        x->symbol, (int)x->kind, (int)x->settle, (int)x->right);
            break;
        }
        memset(&in, 0, sizeof in);
        memcpy(in.symbol, x->symbol, sizeof in.symbol);
        memcpy(in.exchange, x->exchange, sizeof in.exchange);
        memcpy(in.base, x->base, sizeof in.base);
        memcpy(in.quote, x->quote, sizeof in.quote);
        memcpy(in.underlying, x->underlying, sizeof in.underlying);
        in.kind = (cpo_kind)x->kind;
        in.settle = (cpo_settle)x->settle;
        in.right = (cpo_right)x->right;
        in.contract_size = x->contract_size;
        in.tick_size = x->tick_size;
        in.lot_size = x->lot_size;
        in.strike = x->strike;
        in.expiry_ms = x->expiry_ms;
        in.funding_interval_ms = x->funding_interval_ms;
        if ((rc = cpo_dataset_add(ds, &in, &idx, r->err)))
            break;
        if (idx != i || ds->n_instr != i + 1)
            rc = r_fail(r, "/instruments row %zu: duplicate symbol \"%s\" "
                        "(expected unique symbols)", i + 1, x->symbol);
    }
    free(recs);
    return rc;
}

/* Open parent/<esc(label)> and check that its name attribute is label. */
static int r_series_group(const rctx *r, hid_t parent, const char *ppath,
                          const char *label, const char *attr, hid_t *g,
                          char *obj, size_t objsz)
{
    int rc;
    char esc[STORE_ESC_MAX], got[CPO_SYMBOL_MAX];
    esc_name(label, esc, sizeof esc);
    snprintf(obj, objsz, "%s/%s", ppath, esc);
    if ((rc = r_open_group(r, parent, esc, obj, g)))
        return rc;
    if ((rc = r_attr(r, *g, obj, attr, COL_STR, got, sizeof got)))
        return rc;
    if (strcmp(got, label))
        return r_fail(r, "%s/%s is \"%s\" (expected \"%s\")", obj, attr, got, label);
    return 0;
}

/*
 * Load the columns of series group g into a series: open and check them,
 * grow the series to their length (and, when an optional column is there,
 * give it its optional arrays), then read each straight into its array
 * (the colspecs are taken again after the growth: the arrays moved).
 */
typedef size_t (*cols_fn)(const void *series, colspec *c);
typedef int (*reserve_fn)(void *series, size_t n);
typedef int (*optional_fn)(void *series); /* allocate the optional arrays */

static int r_load_series(const rctx *r, hid_t g, const char *obj, void *series,
                         cols_fn cols_of, reserve_fn reserve, optional_fn alloc_opt,
                         size_t *n)
{
    colspec cols[STORE_MAX_COLS] = {{0}};
    hid_t ids[STORE_MAX_COLS];
    size_t nc = cols_of(series, cols);
    int rc = r_open_columns(r, g, obj, cols, nc, ids, n), any_opt = 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < nc; i++)
        any_opt |= cols[i].optional && ids[i] >= 0;
    if (*n > 0 && (reserve(series, *n) || (any_opt && alloc_opt && alloc_opt(series))))
        rc = r_nomem(r);
    if (!rc) {
        nc = cols_of(series, cols);
        rc = r_read_columns(r, obj, cols, nc, ids, *n);
    }
    close_all(ids, nc);
    return rc;
}

static size_t bars_cols_v(const void *s, colspec *c) { return bars_cols(s, c); }
static size_t funding_cols_v(const void *s, colspec *c) { return funding_cols(s, c); }
static size_t chain_cols_v(const void *s, colspec *c) { return chain_cols(s, c); }
static int bars_reserve_v(void *s, size_t n) { return cpo_bars_reserve(s, n); }
static int bars_mark_hl_v(void *s) { return cpo_bars_alloc_mark_hl(s); }
static int funding_reserve_v(void *s, size_t n) { return cpo_funding_reserve(s, n); }
static int chain_reserve_v(void *s, size_t n) { return cpo_chain_reserve(s, n); }

static int r_bars_funding(const rctx *r0, hid_t fid, cpo_dataset *ds)
{
    /* The columns' chunks are inflated together at the end (z_run). */
    zread q = {0};
    rctx rz = *r0;
    if (!rz.times_only)
        rz.zq = &q;
    const rctx *r = &rz;
    int rc = 0;
    hid_t gb = -1, gf = -1, g = -1;
    char obj[STORE_OBJ_MAX];
    size_t n = 0;

    if ((rc = r_open_group(r, fid, "bars", "/bars", &gb)) ||
        (rc = r_open_group(r, fid, "funding", "/funding", &gf)))
        goto cleanup;
    for (size_t i = 0; i < ds->n_instr; i++) {
        const char *sym = ds->instr[i].symbol;
        cpo_bars *b = &ds->bars[i];
        cpo_funding *f = &ds->funding[i];

        if ((rc = r_series_group(r, gb, "/bars", sym, "symbol", &g, obj, sizeof obj)) ||
            (rc = r_attr(r, g, obj, "bar_ms", COL_I64, &b->bar_ms, 8)))
            goto cleanup;
        if ((rc = r_load_series(r, g, obj, b, bars_cols_v, bars_reserve_v, bars_mark_hl_v, &n)))
            goto cleanup;
        b->n = n;
        H5Gclose(g);
        g = -1;

        if ((rc = r_series_group(r, gf, "/funding", sym, "symbol", &g, obj,
                                 sizeof obj)) ||
            (rc = r_attr(r, g, obj, "interval_ms", COL_I64, &f->interval_ms, 8)))
            goto cleanup;
        if ((rc = r_load_series(r, g, obj, f, funding_cols_v, funding_reserve_v, NULL, &n)))
            goto cleanup;
        f->n = n;
        H5Gclose(g);
        g = -1;
    }

cleanup:
    if (g >= 0)
        H5Gclose(g);
    if (gf >= 0)
        H5Gclose(gf);
    if (gb >= 0)
        H5Gclose(gb);
    if (!rc)
        rc = z_run(r, &q);
    z_free(&q);
    return rc;
}

/* The name of the i-th link of g, in creation order if tracked. */
static int r_link_name(const rctx *r, hid_t g, const char *gpath, hsize_t i,
                       char *name, size_t size)
{
    ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i,
                                     name, size, H5P_DEFAULT);
    if (len < 0)
        len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                 size, H5P_DEFAULT);
    if (len < 0)
        return r_fail(r, "cannot list %s (expected a readable group)", gpath);
    if ((size_t)len >= size)
        return r_fail(r, "%s has a member with a %zd-byte name (expected at most "
                      "%zu)", gpath, len, size - 1);
    return 0;
}

static int r_count_links(const rctx *r, hid_t g, const char *gpath, hsize_t *n)
{
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0)
        return r_fail(r, "cannot list %s (expected a readable group)", gpath);
    *n = info.nlinks;
    return 0;
}

static int r_chains(const rctx *r, hid_t fid, cpo_dataset *ds)
{
    int rc;
    hid_t gp = -1, g = -1;
    char esc[STORE_ESC_MAX], obj[STORE_OBJ_MAX], und[CPO_CCY_MAX];
    hsize_t nlinks = 0;
    size_t n = 0;

    if ((rc = r_open_group(r, fid, "chains", "/chains", &gp)) ||
        (rc = r_count_links(r, gp, "/chains", &nlinks)))
        goto cleanup;
    for (hsize_t i = 0; i < nlinks; i++) {
        cpo_chain *c = NULL;
        size_t before = ds->n_chains;
        if ((rc = r_link_name(r, gp, "/chains", i, esc, sizeof esc)))
            goto cleanup;
        snprintf(obj, sizeof obj, "/chains/%s", esc);
        if ((rc = r_open_group(r, gp, esc, obj, &g)) ||
            (rc = r_attr(r, g, obj, "underlying", COL_STR, und, sizeof und)))
            goto cleanup;
        if ((rc = cpo_dataset_chain(ds, und, &c, r->err)))
            goto cleanup;
        if (ds->n_chains == before) {
            rc = r_fail(r, "%s: duplicate chain of \"%s\" (expected one chain "
                        "per underlying)", obj, und);
            goto cleanup;
        }
        if ((rc = r_load_series(r, g, obj, c, chain_cols_v, chain_reserve_v, NULL, &n)))
            goto cleanup;
        c->n = n;
        H5Gclose(g);
        g = -1;
    }

cleanup:
    if (g >= 0)
        H5Gclose(g);
    if (gp >= 0)
        H5Gclose(gp);
    return rc;
}

/* Free the arrays of a colspec list (temporary read buffers). */
static void free_cols(colspec *cols, size_t nc)
{
    for (size_t i = 0; i < nc; i++) {
        free(cols[i].data);
        cols[i].data = NULL;
    }
}

/* Allocate n rows for every column of a colspec list. */
static int alloc_cols(const rctx *r, colspec *cols, size_t nc, size_t n)
{
    for (size_t i = 0; i < nc; i++)
        if (!(cols[i].data = calloc(n ? n : 1, cols[i].size))) {
            free_cols(cols, nc);
            return r_nomem(r);
        }
    return 0;
}

static int r_ivindex(const rctx *r, hid_t fid, cpo_dataset *ds)
{
    int rc;
    hid_t gp = -1, g = -1, ids[STORE_MAX_COLS];
    colspec cols[STORE_MAX_COLS];
    cpo_ivindex proto;
    char esc[STORE_ESC_MAX], obj[STORE_OBJ_MAX], name[CPO_SYMBOL_MAX];
    hsize_t nlinks = 0;
    size_t nc, n = 0;

    memset(&proto, 0, sizeof proto);
    nc = iv_cols(&proto, cols); /* names and kinds; data allocated below */
    for (size_t i = 0; i < STORE_MAX_COLS; i++)
        ids[i] = -1;
    if ((rc = r_open_group(r, fid, "ivindex", "/ivindex", &gp)) ||
        (rc = r_count_links(r, gp, "/ivindex", &nlinks)))
        goto cleanup;
    for (hsize_t i = 0; i < nlinks; i++) {
        cpo_ivindex *v = NULL;
        size_t before = ds->n_iv;
        if ((rc = r_link_name(r, gp, "/ivindex", i, esc, sizeof esc)))
            goto cleanup;
        snprintf(obj, sizeof obj, "/ivindex/%s", esc);
        if ((rc = r_open_group(r, gp, esc, obj, &g)) ||
            (rc = r_attr(r, g, obj, "name", COL_STR, name, sizeof name)) ||
            (rc = r_open_columns(r, g, obj, cols, nc, ids, &n)) ||
            (rc = alloc_cols(r, cols, nc, n)) ||
            (rc = r_read_columns(r, obj, cols, nc, ids, n)) ||
            (rc = cpo_dataset_ivindex(ds, name, &v, r->err)))
            goto cleanup;
        if (ds->n_iv == before) {
            rc = r_fail(r, "%s: duplicate index \"%s\" (expected unique names)",
                        obj, name);
            goto cleanup;
        }
        const int64_t *ts = cols[0].data;
        const double *o = cols[1].data, *h = cols[2].data, *l = cols[3].data,
                     *c = cols[4].data;
        for (size_t k = 0; k < n && !rc; k++)
            if (cpo_ivindex_append(v, ts[k], o[k], h[k], l[k], c[k]))
                rc = r_nomem(r);
        if (rc)
            goto cleanup;
        free_cols(cols, nc);
        close_all(ids, nc);
        H5Gclose(g);
        g = -1;
    }

cleanup:
    free_cols(cols, nc);
    close_all(ids, STORE_MAX_COLS);
    if (g >= 0)
        H5Gclose(g);
    if (gp >= 0)
        H5Gclose(gp);
    return rc;
}

static int r_caps(const rctx *r, hid_t fid, cpo_dataset *ds)
{
    int rc;
    hid_t g = -1, ids[STORE_MAX_COLS];
    colspec cols[STORE_MAX_COLS];
    cpo_caps proto;
    size_t nc, n = 0;

    memset(&proto, 0, sizeof proto);
    nc = caps_cols(&proto, cols);
    for (size_t i = 0; i < STORE_MAX_COLS; i++)
        ids[i] = -1;
    if ((rc = r_open_group(r, fid, "caps", "/caps", &g)) ||
        (rc = r_open_columns(r, g, "/caps", cols, nc, ids, &n)) ||
        (rc = alloc_cols(r, cols, nc, n)) ||
        (rc = r_read_columns(r, "/caps", cols, nc, ids, n)))
        goto cleanup;
    const int64_t *ts = cols[0].data;
    const int32_t *rank = cols[1].data;
    const double *mc = cols[2].data, *px = cols[3].data, *sup = cols[4].data,
                 *vol = cols[5].data;
    const char(*sym)[CPO_CCY_MAX] = cols[6].data;
    const char(*name)[CPO_SYMBOL_MAX] = cols[7].data;
    for (size_t k = 0; k < n && !rc; k++)
        if (cpo_caps_append(&ds->caps, ts[k], rank[k], sym[k], name[k], mc[k],
                            px[k], sup[k], vol[k]))
            rc = r_nomem(r);

cleanup:
    free_cols(cols, nc);
    close_all(ids, STORE_MAX_COLS);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

static int r_provenance(const rctx *r, hid_t fid, cpo_dataset *ds)
{
    int rc;
    cpo_provenance *p = NULL;
    size_t n = 0;
    if ((rc = r_table(r, fid, "provenance", prov_fields, NFIELDS(prov_fields),
                      sizeof(cpo_provenance), (void **)&p, &n)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++)
        rc = cpo_dataset_add_provenance(ds, &p[i], r->err);
    free(p);
    return rc;
}

/* Open path read-only as a cpo store and check its version. */
static int r_open_file(const rctx *r, hid_t *fid)
{
    int rc = 0;
    hid_t fapl = -1;
    int32_t version = 0;
    char cpo_version[64];
    h5_why why;
    FILE *f;

    *fid = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!(f = fopen(r->path, "rb")))
        return cpo_error_set(r->err, CPO_EIO, r->path, 0, 0,
                             "cannot open: %s (expected a readable store file)",
                             strerror(errno));
    fclose(f);
    if (H5Fis_hdf5(r->path) <= 0)
        return r_fail(r, "not an HDF5 file (expected a cpo store)");
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        rc = r_fail(r, "cannot set up HDF5: %s", h5_reason(&why));
        goto cleanup;
    }
    if ((*fid = H5Fopen(r->path, H5F_ACC_RDONLY, fapl)) < 0) {
        rc = r_fail(r, "cannot open the HDF5 file: %s (expected a whole, "
                    "uncorrupted cpo store)", h5_reason(&why));
        goto cleanup;
    }
    if (H5Aexists(*fid, "cpo_store_version") <= 0) {
        rc = r_fail(r, "no cpo_store_version attribute (expected a cpo store)");
        goto cleanup;
    }
    if ((rc = r_attr(r, *fid, "/", "cpo_store_version", COL_I32, &version, 4)) ||
        (rc = r_attr(r, *fid, "/", "cpo_version", COL_STR, cpo_version,
                     sizeof cpo_version)))
        goto cleanup;
    if (version > STORE_VERSION)
        rc = r_fail(r, "store version %d, written by cpo %s, is too new (expected "
                    "version %d or older; upgrade cpo)", (int)version, cpo_version,
                    STORE_VERSION);
    else if (version < 1)
        rc = r_fail(r, "store version %d is not valid (expected 1 to %d)",
                    (int)version, STORE_VERSION);

cleanup:
    if (rc && *fid >= 0) {
        H5Fclose(*fid);
        *fid = -1;
    }
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}

/* Read a store; with times_only, only the time columns get filled (the
 * other arrays are allocated but left undefined). */
static int store_read(cpo_dataset **out, const char *path, int times_only,
                      cpo_error *err)
{
    int rc;
    hid_t fid = -1;
    cpo_dataset *ds = NULL;
    rctx r = {path, err, times_only, NULL};

    if (!out || !path)
        return cpo_error_set(err, CPO_EINVAL, path, 0, 0,
                             "no output or no path (expected both)");
    *out = NULL;
    if ((rc = r_open_file(&r, &fid)) || (rc = cpo_dataset_new(&ds, err)) ||
        (rc = r_instruments(&r, fid, ds)) || (rc = r_bars_funding(&r, fid, ds)) ||
        (rc = r_chains(&r, fid, ds)) || (rc = r_ivindex(&r, fid, ds)) ||
        (rc = r_caps(&r, fid, ds)) || (rc = r_provenance(&r, fid, ds)))
        goto cleanup;
    *out = ds;
    ds = NULL;

cleanup:
    if (fid >= 0)
        H5Fclose(fid);
    cpo_dataset_free(ds);
    return rc;
}

int cpo_store_read(cpo_dataset **out, const char *path, cpo_error *err)
{
    return store_read(out, path, 0, err);
}

/* --- info ------------------------------------------------------------------ */

#define TBL_CELL 72

/* A text table: cells row by row, the first row is the header. */
typedef struct tbl {
    size_t ncol, ncell, cap;
    const char *align; /* 'l' or 'r' per column */
    char (*cell)[TBL_CELL];
    int oom;
} tbl;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void tbl_add(tbl *t, const char *fmt, ...)
{
    va_list ap;
    if (t->oom)
        return;
    if (t->ncell == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        void *p = realloc(t->cell, cap * sizeof *t->cell);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->cell = p;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->cell[t->ncell++], TBL_CELL, fmt, ap);
    va_end(ap);
}

static void tbl_print(const tbl *t, FILE *out)
{
    size_t w[32] = {0};
    for (size_t i = 0; i < t->ncell; i++) {
        size_t len = strlen(t->cell[i]);
        if (len > w[i % t->ncol])
            w[i % t->ncol] = len;
    }
    for (size_t i = 0; i < t->ncell; i++) {
        size_t c = i % t->ncol;
        int last = c + 1 == t->ncol;
        if (c == 0)
            fputs("  ", out);
        if (t->align[c] == 'r')
            fprintf(out, "%*s", (int)w[c], t->cell[i]);
        else
            fprintf(out, "%-*s", last ? 0 : (int)w[c], t->cell[i]);
        fputs(last ? "\n" : "  ", out);
    }
}

static void fmt_bytes(double b, char *buf, size_t n)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0f B", b);
    else
        snprintf(buf, n, "%.1f %s", b, unit[u]);
}

static void fmt_ts(const int64_t *ts, size_t n, int last, char *buf, size_t size)
{
    if (n == 0)
        snprintf(buf, size, "-");
    else
        cpo_time_format(last ? ts[n - 1] : ts[0], buf, size);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct values of v[0..n). */
static size_t count_distinct(const int64_t *v, size_t n, int *oom)
{
    size_t d = 0;
    if (n == 0)
        return 0;
    int64_t *c = malloc(n * sizeof *c);
    if (!c) {
        *oom = 1;
        return 0;
    }
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_i64);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || c[i] != c[i - 1])
            d++;
    free(c);
    return d;
}

/* Median spacing of ts[0..n), n >= 2. */
/* b - a, held to the int64_t range: a damaged store may hold any
 * timestamps (found by fuzz_store: INT64_MIN then 9.2e18). */
static int64_t spacing(int64_t a, int64_t b)
{
    if (a < 0 && b > INT64_MAX + a)
        return INT64_MAX;
    if (a > 0 && b < INT64_MIN + a)
        return INT64_MIN;
    return b - a;
}

static int64_t median_spacing(const int64_t *ts, size_t n, int *oom)
{
    int64_t *d = malloc((n - 1) * sizeof *d), m;
    if (!d) {
        *oom = 1;
        return 0;
    }
    for (size_t i = 1; i < n; i++)
        d[i - 1] = spacing(ts[i - 1], ts[i]);
    qsort(d, n - 1, sizeof *d, cmp_i64);
    m = d[(n - 1) / 2];
    free(d);
    return m;
}

/* Bytes on disk of every dataset in group gpath (0 if it is absent). */
static hsize_t group_storage(hid_t fid, const char *gpath)
{
    hsize_t total = 0;
    H5G_info_t info;
    hid_t g = H5Gopen2(fid, gpath, H5P_DEFAULT);
    if (g < 0)
        return 0;
    if (H5Gget_info(g, &info) >= 0)
        for (hsize_t i = 0; i < info.nlinks; i++) {
            hid_t o = H5Oopen_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i,
                                     H5P_DEFAULT);
            if (o < 0)
                continue;
            if (H5Iget_type(o) == H5I_DATASET)
                total += H5Dget_storage_size(o);
            H5Oclose(o);
        }
    H5Gclose(g);
    return total;
}

/* The dated futures: expiry and contract terms (nothing without any). */
static void info_futures(const cpo_dataset *ds, FILE *out, tbl *t, int *oom)
{
    size_t nf = 0;
    for (size_t i = 0; i < ds->n_instr; i++)
        nf += ds->instr[i].kind == CPO_KIND_FUTURE;
    if (nf == 0)
        return;
    char e[40];
    fprintf(out, "\nfutures (%zu)\n", nf);
    *t = (tbl){.ncol = 5, .align = "lllrl"};
    tbl_add(t, "symbol");
    tbl_add(t, "underlying");
    tbl_add(t, "expiry");
    tbl_add(t, "contract");
    tbl_add(t, "settle");
    for (size_t i = 0; i < ds->n_instr; i++) {
        const cpo_instrument *in = &ds->instr[i];
        if (in->kind != CPO_KIND_FUTURE)
            continue;
        if (in->expiry_ms == CPO_TIME_NONE)
            snprintf(e, sizeof e, "none");
        else
            cpo_time_format(in->expiry_ms, e, sizeof e);
        tbl_add(t, "%s", in->symbol);
        tbl_add(t, "%s", in->underlying[0] ? in->underlying : "-");
        tbl_add(t, "%s", e);
        /* Inverse: quote units a contract; linear: coins. */
        tbl_add(t, "%.10g %s", in->contract_size,
                in->settle == CPO_SETTLE_INVERSE ? (in->quote[0] ? in->quote : "USD")
                                                 : (in->base[0] ? in->base : "coin"));
        tbl_add(t, "%s", cpo_settle_name(in->settle));
    }
    tbl_print(t, out);
    free(t->cell);
    *oom |= t->oom;
}

static void info_instruments(const cpo_dataset *ds, hid_t fid, FILE *out,
                             tbl *t, int *oom)
{
    char a[40], b[40], f[40], sz[40], esc[STORE_ESC_MAX], gp[STORE_OBJ_MAX];
    fprintf(out, "\ninstruments (%zu)\n", ds->n_instr);
    if (ds->n_instr == 0)
        return;
    *t = (tbl){.ncol = 11, .align = "llllrllrrrr"};
    tbl_add(t, "symbol");
    tbl_add(t, "kind");
    tbl_add(t, "settle");
    tbl_add(t, "exchange");
    tbl_add(t, "bars");
    tbl_add(t, "first");
    tbl_add(t, "last");
    tbl_add(t, "freq");
    tbl_add(t, "gaps");
    tbl_add(t, "missing");
    tbl_add(t, "disk");
    for (size_t i = 0; i < ds->n_instr; i++) {
        const cpo_instrument *in = &ds->instr[i];
        const cpo_bars *bb = &ds->bars[i];
        int64_t freq = bb->bar_ms;
        long long gaps = 0, missing = 0;
        int inferred = 0;
        if (freq <= 0 && bb->n >= 2) {
            freq = median_spacing(bb->ts, bb->n, oom);
            inferred = 1;
        }
        if (freq > 0) {
            for (size_t k = 1; k < bb->n; k++) {
                int64_t d = spacing(bb->ts[k - 1], bb->ts[k]);
                if (d > freq) {
                    gaps++;
                    long long m = d / freq - 1;
                    missing = missing > LLONG_MAX - m ? LLONG_MAX : missing + m;
                }
            }
            f[0] = '~';
            cpo_duration_format(freq, f + inferred, sizeof f - 1);
        } else {
            snprintf(f, sizeof f, "-");
        }
        esc_name(in->symbol, esc, sizeof esc);
        snprintf(gp, sizeof gp, "/bars/%s", esc);
        hsize_t disk = group_storage(fid, gp);
        snprintf(gp, sizeof gp, "/funding/%s", esc);
        disk += group_storage(fid, gp);
        fmt_bytes((double)disk, sz, sizeof sz);
        fmt_ts(bb->ts, bb->n, 0, a, sizeof a);
        fmt_ts(bb->ts, bb->n, 1, b, sizeof b);
        tbl_add(t, "%s", in->symbol);
        tbl_add(t, "%s", cpo_kind_name(in->kind));
        tbl_add(t, "%s", cpo_settle_name(in->settle));
        tbl_add(t, "%s", in->exchange[0] ? in->exchange : "-");
        tbl_add(t, "%zu", bb->n);
        tbl_add(t, "%s", a);
        tbl_add(t, "%s", b);
        tbl_add(t, "%s", f);
        if (bb->n >= 2 && freq > 0) {
            tbl_add(t, "%lld", gaps);
            tbl_add(t, "%lld", missing);
        } else {
            tbl_add(t, "-");
            tbl_add(t, "-");
        }
        tbl_add(t, "%s", sz);
    }
    tbl_print(t, out);
    free(t->cell);
    *oom |= t->oom;

    info_futures(ds, out, t, oom);

    size_t nf = 0;
    for (size_t i = 0; i < ds->n_instr; i++)
        nf += ds->funding[i].n > 0;
    fprintf(out, "\nfunding (%zu)\n", nf);
    if (nf == 0)
        return;
    *t = (tbl){.ncol = 5, .align = "lrllr"};
    tbl_add(t, "symbol");
    tbl_add(t, "events");
    tbl_add(t, "first");
    tbl_add(t, "last");
    tbl_add(t, "interval");
    for (size_t i = 0; i < ds->n_instr; i++) {
        const cpo_funding *fu = &ds->funding[i];
        if (fu->n == 0)
            continue;
        fmt_ts(fu->ts, fu->n, 0, a, sizeof a);
        fmt_ts(fu->ts, fu->n, 1, b, sizeof b);
        if (fu->interval_ms > 0)
            cpo_duration_format(fu->interval_ms, f, sizeof f);
        else
            snprintf(f, sizeof f, "-");
        tbl_add(t, "%s", ds->instr[i].symbol);
        tbl_add(t, "%zu", fu->n);
        tbl_add(t, "%s", a);
        tbl_add(t, "%s", b);
        tbl_add(t, "%s", f);
    }
    tbl_print(t, out);
    free(t->cell);
    *oom |= t->oom;
}

/* Mark-price klines: per instrument with a mark high/low, the bars that
 * have one and the first and last of them. */
static void info_marks(const cpo_dataset *ds, FILE *out, tbl *t, int *oom)
{
    char a[40], b[40];
    size_t nm = 0;
    for (size_t i = 0; i < ds->n_instr; i++)
        nm += ds->bars[i].mark_high != NULL && ds->bars[i].n > 0;
    fprintf(out, "\nmark price klines (%zu)\n", nm);
    if (nm == 0)
        return;
    *t = (tbl){.ncol = 4, .align = "lrll"};
    tbl_add(t, "symbol");
    tbl_add(t, "bars with a mark");
    tbl_add(t, "first");
    tbl_add(t, "last");
    for (size_t i = 0; i < ds->n_instr; i++) {
        const cpo_bars *bb = &ds->bars[i];
        if (!bb->mark_high || bb->n == 0)
            continue;
        size_t have = 0, first = 0, last = 0;
        for (size_t k = 0; k < bb->n; k++)
            if (!isnan(bb->mark_high[k])) {
                if (!have)
                    first = k;
                last = k;
                have++;
            }
        if (have) {
            cpo_time_format(bb->ts[first], a, sizeof a);
            cpo_time_format(bb->ts[last], b, sizeof b);
        } else {
            snprintf(a, sizeof a, "-");
            snprintf(b, sizeof b, "-");
        }
        tbl_add(t, "%s", ds->instr[i].symbol);
        tbl_add(t, "%zu of %zu", have, bb->n);
        tbl_add(t, "%s", a);
        tbl_add(t, "%s", b);
    }
    tbl_print(t, out);
    free(t->cell);
    *oom |= t->oom;
}

static void info_chains_iv_caps(const cpo_dataset *ds, hid_t fid, FILE *out,
                                tbl *t, int *oom)
{
    char a[40], b[40], sz[40], esc[STORE_ESC_MAX], gp[STORE_OBJ_MAX];

    fprintf(out, "\noption chains (%zu)\n", ds->n_chains);
    if (ds->n_chains) {
        *t = (tbl){.ncol = 7, .align = "lrrrllr"};
        tbl_add(t, "underlying");
        tbl_add(t, "rows");
        tbl_add(t, "snapshots");
        tbl_add(t, "expiries");
        tbl_add(t, "first");
        tbl_add(t, "last");
        tbl_add(t, "disk");
        for (size_t i = 0; i < ds->n_chains; i++) {
            const cpo_chain *c = &ds->chains[i];
            esc_name(c->underlying, esc, sizeof esc);
            snprintf(gp, sizeof gp, "/chains/%s", esc);
            fmt_bytes((double)group_storage(fid, gp), sz, sizeof sz);
            fmt_ts(c->ts, c->n, 0, a, sizeof a);
            fmt_ts(c->ts, c->n, 1, b, sizeof b);
            tbl_add(t, "%s", c->underlying);
            tbl_add(t, "%zu", c->n);
            tbl_add(t, "%zu", count_distinct(c->ts, c->n, oom));
            tbl_add(t, "%zu", count_distinct(c->expiry_ms, c->n, oom));
            tbl_add(t, "%s", a);
            tbl_add(t, "%s", b);
            tbl_add(t, "%s", sz);
        }
        tbl_print(t, out);
        free(t->cell);
        *oom |= t->oom;
    }

    fprintf(out, "\niv indices (%zu)\n", ds->n_iv);
    if (ds->n_iv) {
        *t = (tbl){.ncol = 5, .align = "lrllr"};
        tbl_add(t, "name");
        tbl_add(t, "rows");
        tbl_add(t, "first");
        tbl_add(t, "last");
        tbl_add(t, "disk");
        for (size_t i = 0; i < ds->n_iv; i++) {
            const cpo_ivindex *v = &ds->iv[i];
            esc_name(v->name, esc, sizeof esc);
            snprintf(gp, sizeof gp, "/ivindex/%s", esc);
            fmt_bytes((double)group_storage(fid, gp), sz, sizeof sz);
            fmt_ts(v->ts, v->n, 0, a, sizeof a);
            fmt_ts(v->ts, v->n, 1, b, sizeof b);
            tbl_add(t, "%s", v->name);
            tbl_add(t, "%zu", v->n);
            tbl_add(t, "%s", a);
            tbl_add(t, "%s", b);
            tbl_add(t, "%s", sz);
        }
        tbl_print(t, out);
        free(t->cell);
        *oom |= t->oom;
    }

    if (ds->caps.n == 0) {
        fprintf(out, "\nmarket caps: none\n");
    } else {
        fmt_ts(ds->caps.ts, ds->caps.n, 0, a, sizeof a);
        fmt_ts(ds->caps.ts, ds->caps.n, 1, b, sizeof b);
        fmt_bytes((double)group_storage(fid, "/caps"), sz, sizeof sz);
        fprintf(out, "\nmarket caps: %zu rows, %zu snapshots, %s .. %s, %s\n",
                ds->caps.n, count_distinct(ds->caps.ts, ds->caps.n, oom), a, b,
                sz);
    }
}

/* The last width-1 bytes of a long path, behind "...". */
static const char *tail(const char *s, size_t width)
{
    size_t n = strlen(s);
    return n <= width ? s : s + (n - width);
}

static void info_provenance(const cpo_dataset *ds, FILE *out, tbl *t, int *oom)
{
    char when[40];
    fprintf(out, "\nprovenance (%zu)\n", ds->n_prov);
    if (ds->n_prov == 0)
        return;
    *t = (tbl){.ncol = 7, .align = "llllrrl"};
    tbl_add(t, "source");
    tbl_add(t, "sha256");
    tbl_add(t, "format");
    tbl_add(t, "target");
    tbl_add(t, "read");
    tbl_add(t, "kept");
    tbl_add(t, "imported");
    for (size_t i = 0; i < ds->n_prov; i++) {
        const cpo_provenance *p = &ds->prov[i];
        size_t w = TBL_CELL - 4;
        if (strlen(p->source) > w)
            tbl_add(t, "...%s", tail(p->source, w - 3));
        else
            tbl_add(t, "%s", p->source);
        tbl_add(t, "%.12s", p->sha256);
        tbl_add(t, "%s", p->format);
        tbl_add(t, "%s", p->target);
        tbl_add(t, "%lld", (long long)p->rows_read);
        tbl_add(t, "%lld", (long long)p->rows_kept);
        cpo_time_format(p->import_ms, when, sizeof when);
        tbl_add(t, "%s", when);
    }
    tbl_print(t, out);
    free(t->cell);
    *oom |= t->oom;
}

int cpo_store_info(const char *path, FILE *out, cpo_error *err)
{
    int rc, oom = 0;
    hid_t fid = -1;
    cpo_dataset *ds = NULL;
    rctx r = {path, err, 1, NULL};
    struct stat st;
    char size[40], ver[64] = "?";
    tbl t = {0};
    int32_t version = 0;

    if (!out)
        return cpo_error_set(err, CPO_EINVAL, path, 0, 0,
                             "no output stream (expected one)");
    if ((rc = store_read(&ds, path, 1, err)) || (rc = r_open_file(&r, &fid)))
        goto cleanup;
    r_attr(&r, fid, "/", "cpo_version", COL_STR, ver, sizeof ver);
    r_attr(&r, fid, "/", "cpo_store_version", COL_I32, &version, 4);
    fmt_bytes(stat(path, &st) == 0 ? (double)st.st_size : 0.0, size, sizeof size);

    size_t rows = 0;
    for (size_t i = 0; i < ds->n_instr; i++)
        rows += ds->bars[i].n;
    fprintf(out, "%s: %s, store version %d, written by cpo %s\n", path, size,
            (int)version, ver);
    fprintf(out, "  %zu instruments, %zu bars, %zu option chains, %zu iv "
            "indices, %zu market-cap rows, %zu provenance records\n",
            ds->n_instr, rows, ds->n_chains, ds->n_iv, ds->caps.n, ds->n_prov);
    info_instruments(ds, fid, out, &t, &oom);
    info_marks(ds, out, &t, &oom);
    info_chains_iv_caps(ds, fid, out, &t, &oom);
    info_provenance(ds, out, &t, &oom);
    if (oom)
        rc = r_nomem(&r);
    else if (ferror(out))
        rc = cpo_error_set(err, CPO_EIO, NULL, 0, 0,
                           "cannot write the store report: %s", strerror(errno));

cleanup:
    if (fid >= 0)
        H5Fclose(fid);
    cpo_dataset_free(ds);
    return rc;
}
