/* ledger_out.c - the ledger of a run in HDF5 and CSV (see ledger_out.h).
 *
 * A run with options (result.greek set) also gets, in ledger.h5:
 *   /ledger/greek/<delta .. unexplained>   the Taylor explain of the options
 *                                          line per step (reporting ccy)
 *   /ledger/waterfall/<wf_time .. wf_residual>  the revaluation waterfall
 *   /ledger/explain_flag                   uint8, 1: |unexplained| over the
 *                                          threshold
 * (/ledger/options is the options line, as every P&L line.)  A run without
 * options has none of them. */
#include "ledger_out.h"

#include "csvwrite.h"
#include "h5mem.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpo/time.h"

#define LI_BATCH 8192   /* rows buffered before they go to the files */
#define LI_CHUNK 8192   /* chunk of the extendible datasets (rows) */
#define DEFLATE 4

/* Columns of /ledger_instruments after ts and instr. */
enum { LI_QTY = 0, LI_PX, LI_EXPOSURE, LI_PNL0 };
#define LI_NREAL (LI_PNL0 + CPO_PNL_COUNT)

struct cpo_ledger_out {
    char *h5_path, *csv_path;
    hid_t fid;
    hid_t d_ts, d_instr, d_real[LI_NREAL];
    int rows_open;          /* the /ledger_instruments datasets exist */
    int financing;          /* the run has the financing line */
    FILE *csv;
    size_t n_instr;
    char (*sym)[CPO_SYMBOL_MAX];
    cpo_ledger_row *buf;
    size_t n_buf;
    size_t n_rows;          /* rows written to the files */
    void *scratch;          /* LI_BATCH * 8 bytes */
};

static int h5_fail(const cpo_ledger_out *w, const char *what, cpo_error *err)
{
    return cpo_error_set(err, CPO_EIO, w->h5_path, 0, 0, "cannot write %s (expected a writable "
                         "folder with free space)", what);
}

/* Creation properties that keep the bytes reproducible. */
static hid_t dcpl_new(hsize_t chunk, hid_t type)
{
    static const unsigned char zero[CPO_SYMBOL_MAX + 16]; /* any type we write */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return -1;
    if (H5Tget_size(type) > sizeof zero || H5Pset_obj_track_times(dcpl, 0) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC) < 0 ||
        H5Pset_fill_value(dcpl, type, zero) < 0 ||
        (chunk > 0 && (H5Pset_chunk(dcpl, 1, &chunk) < 0 || H5Pset_shuffle(dcpl) < 0 ||
                       H5Pset_deflate(dcpl, DEFLATE) < 0))) {
        H5Pclose(dcpl);
        return -1;
    }
    return dcpl;
}

static hid_t group_new(hid_t loc, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = -1;
    if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

/* A whole 1-D dataset of n values. */
static int write_col(hid_t loc, const char *name, hid_t type, size_t n, const void *data)
{
    hsize_t dims[1] = {n};
    hsize_t chunk = n == 0 ? 0 : n < 65536 ? n : 65536;
    hid_t space = H5Screate_simple(1, dims, NULL), dcpl = dcpl_new(chunk, type), d = -1;
    int rc = -1;
    if (space >= 0 && dcpl >= 0 &&
        (d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0 &&
        (n == 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0))
        rc = 0;
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* Fixed-length strings, each at most len - 1 characters. */
static int write_strings(hid_t loc, const char *name, size_t n, size_t len, const char *data)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int rc = -1;
    if (t >= 0 && H5Tset_size(t, len) >= 0 && H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0)
        rc = write_col(loc, name, t, n, data);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

static int write_attr(hid_t loc, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (space >= 0 && (a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Awrite(a, type, value) >= 0)
        rc = 0;
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int write_attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int rc = -1;
    if (t >= 0 && H5Tset_size(t, strlen(s) + 1) >= 0)
        rc = write_attr(loc, name, t, s);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

static hid_t ext_dataset(hid_t loc, const char *name, hid_t type)
{
    hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED};
    hid_t space = H5Screate_simple(1, dims, maxd), dcpl = dcpl_new(LI_CHUNK, type), d = -1;
    if (space >= 0 && dcpl >= 0)
        d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return d;
}

static int ext_append(hid_t d, hid_t type, size_t at, size_t n, const void *data)
{
    hsize_t size[1] = {at + n}, start[1] = {at}, count[1] = {n};
    hid_t fs = -1, ms = -1;
    int rc = -1;
    if (H5Dset_extent(d, size) >= 0 && (fs = H5Dget_space(d)) >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        (ms = H5Screate_simple(1, count, NULL)) >= 0 &&
        H5Dwrite(d, type, ms, fs, H5P_DEFAULT, data) >= 0)
        rc = 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

/* Column c of the per-instrument rows is not written: the financing line
 * of a run without [financing] (cpo_pnl_shown). */
static int li_skip(const cpo_ledger_out *w, int c)
{
    return c == LI_PNL0 + CPO_PNL_FINANCING && !w->financing;
}

static void close_rows(cpo_ledger_out *w)
{
    if (!w->rows_open)
        return;
    H5Dclose(w->d_ts);
    H5Dclose(w->d_instr);
    for (int c = 0; c < LI_NREAL; c++)
        if (!li_skip(w, c))
            H5Dclose(w->d_real[c]);
    w->rows_open = 0;
}

static void out_free(cpo_ledger_out *w)
{
    close_rows(w);
    if (w->fid >= 0)
        H5Fclose(w->fid);
    if (w->csv)
        fclose(w->csv);
    free(w->h5_path);
    free(w->csv_path);
    free(w->sym);
    free(w->buf);
    free(w->scratch);
    free(w);
}

static const char *real_name(int c)
{
    switch (c) {
    case LI_QTY: return "qty";
    case LI_PX: return "px";
    case LI_EXPOSURE: return "exposure";
    default: return cpo_pnl_name((cpo_pnl_line)(c - LI_PNL0));
    }
}

int cpo_ledger_out_open(cpo_ledger_out **out, const char *h5_path, const char *csv_path,
                        const cpo_market *m, const char *currency, int financing, cpo_error *err)
{
    *out = NULL;
    cpo_ledger_out *w = calloc(1, sizeof *w);
    if (!w)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    w->fid = -1;
    w->financing = financing;
    int rc = 0;
    size_t n = m->n_instr;
    w->n_instr = n;
    w->h5_path = strdup(h5_path);
    w->csv_path = csv_path ? strdup(csv_path) : NULL;
    w->sym = calloc(n ? n : 1, sizeof *w->sym);
    if (!w->h5_path || (csv_path && !w->csv_path) || !w->sym) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(w->sym[i], m->instr[i].symbol, CPO_SYMBOL_MAX);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* The root group must not record times either (the file creation
     * properties are the root group's object creation properties). */
    /* The file is built in memory and written whole by finish (h5mem.h:
     * a write that fails cannot leave HDF5 holding a half-closed file);
     * its name is taken now, so that a folder that cannot hold it fails
     * before the engine runs. */
    int fd = open(h5_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = cpo_error_set(err, CPO_EIO, h5_path, 0, 0, "cannot create: %s (expected a writable "
                           "folder)", strerror(errno));
        goto fail;
    }
    close(fd);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0)
        w->fid = cpo_h5mem_create(h5_path, fcpl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (w->fid < 0) {
        rc = h5_fail(w, "the file", err);
        goto fail;
    }
    /* The instruments, so that instr indices can be read back. */
    char (*kinds)[CPO_CCY_MAX] = calloc(n ? n : 1, sizeof *kinds);
    if (!kinds) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(kinds[i], sizeof kinds[i], "%s", cpo_kind_name(m->instr[i].kind));
    hid_t g = group_new(w->fid, "instruments");
    int bad = g < 0 || write_strings(g, "symbol", n, CPO_SYMBOL_MAX, (const char *)w->sym) ||
              write_strings(g, "kind", n, CPO_CCY_MAX, (const char *)kinds);
    free(kinds);
    if (g >= 0)
        H5Gclose(g);
    int64_t bar = m->step_ms;
    if (bad || write_attr_str(w->fid, "cpo_version", CPO_VERSION) ||
        write_attr_str(w->fid, "currency", currency) ||
        write_attr(w->fid, "bar_ms", H5T_NATIVE_INT64, &bar)) {
        rc = h5_fail(w, "the instruments", err);
        goto fail;
    }
    if (csv_path) {
        /* Per-instrument rows: the extendible datasets and the CSV. */
        hid_t gl = group_new(w->fid, "ledger_instruments");
        w->d_ts = gl >= 0 ? ext_dataset(gl, "ts", H5T_NATIVE_INT64) : -1;
        w->d_instr = gl >= 0 ? ext_dataset(gl, "instr", H5T_NATIVE_UINT32) : -1;
        int ok = w->d_ts >= 0 && w->d_instr >= 0;
        for (int c = 0; c < LI_NREAL; c++) {
            if (li_skip(w, c))
                continue;
            w->d_real[c] = gl >= 0 ? ext_dataset(gl, real_name(c), H5T_NATIVE_DOUBLE) : -1;
            ok = ok && w->d_real[c] >= 0;
        }
        w->rows_open = 1;
        if (gl >= 0)
            H5Gclose(gl);
        if (!ok) {
            rc = h5_fail(w, "/ledger_instruments", err);
            goto fail;
        }
        w->buf = malloc(LI_BATCH * sizeof *w->buf);
        w->scratch = malloc(LI_BATCH * 8);
        if (!w->buf || !w->scratch) {
            rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
            goto fail;
        }
        if (!(w->csv = fopen(csv_path, "wb"))) {
            rc = cpo_error_set(err, CPO_EIO, csv_path, 0, 0, "cannot create: %s", strerror(errno));
            goto fail;
        }
        fprintf(w->csv, "ts,symbol,qty,px,exposure");
        for (int l = 0; l < CPO_PNL_COUNT; l++)
            if (!li_skip(w, LI_PNL0 + l))
                fprintf(w->csv, ",%s", cpo_pnl_name((cpo_pnl_line)l));
        fputc('\n', w->csv);
    }
    *out = w;
    return 0;
fail:
    out_free(w);
    return rc;
}

static int flush_rows(cpo_ledger_out *w, cpo_error *err)
{
    size_t k = w->n_buf;
    if (!k)
        return 0;
    int64_t *ts = w->scratch;
    uint32_t *ins = w->scratch;
    double *x = w->scratch;
    for (size_t j = 0; j < k; j++)
        ts[j] = w->buf[j].ts;
    if (ext_append(w->d_ts, H5T_NATIVE_INT64, w->n_rows, k, ts))
        return h5_fail(w, "/ledger_instruments/ts", err);
    for (size_t j = 0; j < k; j++)
        ins[j] = w->buf[j].instr;
    if (ext_append(w->d_instr, H5T_NATIVE_UINT32, w->n_rows, k, ins))
        return h5_fail(w, "/ledger_instruments/instr", err);
    for (int c = 0; c < LI_NREAL; c++) {
        if (li_skip(w, c))
            continue;
        for (size_t j = 0; j < k; j++) {
            const cpo_ledger_row *r = &w->buf[j];
            x[j] = c == LI_QTY ? r->qty : c == LI_PX ? r->px : c == LI_EXPOSURE ? r->exposure
                                                                                  : r->pnl[c - LI_PNL0];
        }
        if (ext_append(w->d_real[c], H5T_NATIVE_DOUBLE, w->n_rows, k, x))
            return h5_fail(w, "/ledger_instruments", err);
    }
    /* The same rows as CSV. */
    char when[40], num[40];
    for (size_t j = 0; j < k; j++) {
        const cpo_ledger_row *r = &w->buf[j];
        cpo_time_format(r->ts, when, sizeof when);
        fprintf(w->csv, "%s,%s", when, r->instr < w->n_instr ? w->sym[r->instr] : "?");
        double v[3] = {r->qty, r->px, r->exposure};
        for (int c = 0; c < 3; c++) {
            cpo_fmt_double(num, sizeof num, v[c]);
            fprintf(w->csv, ",%s", num);
        }
        for (int l = 0; l < CPO_PNL_COUNT; l++) {
            if (li_skip(w, LI_PNL0 + l))
                continue;
            cpo_fmt_double(num, sizeof num, r->pnl[l]);
            fprintf(w->csv, ",%s", num);
        }
        fputc('\n', w->csv);
    }
    if (ferror(w->csv))
        return cpo_error_set(err, CPO_EIO, w->csv_path, 0, 0, "cannot write: %s", strerror(errno));
    w->n_rows += k;
    w->n_buf = 0;
    return 0;
}

int cpo_ledger_out_sink(void *ctx, const cpo_ledger_row *rows, size_t n, cpo_error *err)
{
    cpo_ledger_out *w = ctx;
    if (!w->rows_open)
        return 0;
    while (n > 0) {
        size_t take = LI_BATCH - w->n_buf;
        if (take > n)
            take = n;
        memcpy(w->buf + w->n_buf, rows, take * sizeof *rows);
        w->n_buf += take;
        rows += take;
        n -= take;
        if (w->n_buf == LI_BATCH) {
            int rc = flush_rows(w, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

size_t cpo_ledger_out_rows(const cpo_ledger_out *w)
{
    return w->n_rows + w->n_buf;
}

/* The options' explain columns under /ledger (runs with options only). */
static int write_explain(const cpo_ledger_out *w, hid_t g, const cpo_result *r, cpo_error *err)
{
    if (!r->greek[CPO_GREEK_DELTA])
        return 0;
    size_t n = r->n_steps;
    hid_t gg = group_new(g, "greek");
    int bad = gg < 0;
    for (int k = 0; !bad && k < CPO_GREEK_COUNT; k++)
        bad = r->greek[k] &&
              write_col(gg, cpo_greek_name((cpo_greek_line)k), H5T_NATIVE_DOUBLE, n, r->greek[k]);
    if (gg >= 0)
        H5Gclose(gg);
    if (bad)
        return h5_fail(w, "/ledger/greek", err);
    if (r->wf[CPO_WF_TIME]) {
        hid_t gw = group_new(g, "waterfall");
        bad = gw < 0;
        for (int k = 0; !bad && k < CPO_WF_COUNT; k++)
            bad = r->wf[k] &&
                  write_col(gw, cpo_wf_name((cpo_wf_line)k), H5T_NATIVE_DOUBLE, n, r->wf[k]);
        if (gw >= 0)
            H5Gclose(gw);
        if (bad)
            return h5_fail(w, "/ledger/waterfall", err);
    }
    if (r->explain_flag && write_col(g, "explain_flag", H5T_NATIVE_UINT8, n, r->explain_flag))
        return h5_fail(w, "/ledger/explain_flag", err);
    return 0;
}

/* /ledger/margin/<CCY>/{im,mm,margin_balance} for the margined pools. */
static int write_margin(cpo_ledger_out *w, hid_t g, const cpo_result *r, cpo_error *err)
{
    if (!r->im)
        return 0;
    size_t n = r->n_steps;
    int rc = 0;
    hid_t gm = group_new(g, "margin");
    if (gm < 0)
        return h5_fail(w, "/ledger/margin", err);
    for (size_t c = 0; c < r->n_ccy && !rc; c++) {
        if (!r->margin_ccy[c])
            continue;
        hid_t gc = group_new(gm, r->ccy[c]);
        if (gc < 0 || write_col(gc, "im", H5T_NATIVE_DOUBLE, n, r->im + c * n) ||
            write_col(gc, "mm", H5T_NATIVE_DOUBLE, n, r->mm + c * n) ||
            write_col(gc, "margin_balance", H5T_NATIVE_DOUBLE, n, r->mb + c * n))
            rc = h5_fail(w, "/ledger/margin", err);
        if (gc >= 0)
            H5Gclose(gc);
    }
    H5Gclose(gm);
    return rc;
}

/* /ledger/greeks/<COIN>/<cpo_book_greek_name> for runs with options. */
static int write_book_greeks(cpo_ledger_out *w, hid_t g, const cpo_result *r, cpo_error *err)
{
    if (!r->book_greek)
        return 0;
    size_t n = r->n_steps;
    int rc = 0;
    hid_t gg = group_new(g, "greeks");
    if (gg < 0)
        return h5_fail(w, "/ledger/greeks", err);
    for (size_t u = 0; u < r->n_bg_und && !rc; u++) {
        hid_t gu = group_new(gg, r->bg_und[u]);
        if (gu < 0)
            rc = h5_fail(w, "/ledger/greeks", err);
        for (int k = 0; !rc && k < CPO_BG_COUNT; k++)
            if (write_col(gu, cpo_book_greek_name((cpo_book_greek)k), H5T_NATIVE_DOUBLE, n,
                          r->book_greek + (u * CPO_BG_COUNT + (size_t)k) * n))
                rc = h5_fail(w, "/ledger/greeks", err);
        if (gu >= 0)
            H5Gclose(gu);
    }
    H5Gclose(gg);
    return rc;
}

int cpo_ledger_out_finish(cpo_ledger_out *w, const cpo_result *r, cpo_error *err)
{
    int rc = 0;
    hid_t g = -1, gc = -1;
    if (w->rows_open && (rc = flush_rows(w, err)))
        goto done;
    close_rows(w);
    size_t n = r->n_steps;
    uint64_t steps = n;
    if ((g = group_new(w->fid, "ledger")) < 0 ||
        write_attr(w->fid, "n_steps", H5T_NATIVE_UINT64, &steps) ||
        write_col(g, "ts", H5T_NATIVE_INT64, n, r->ts) ||
        write_col(g, "equity", H5T_NATIVE_DOUBLE, n, r->equity)) {
        rc = h5_fail(w, "/ledger", err);
        goto done;
    }
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        if (cpo_pnl_shown(r, (cpo_pnl_line)l) &&
            write_col(g, cpo_pnl_name((cpo_pnl_line)l), H5T_NATIVE_DOUBLE, n, r->pnl[l])) {
            rc = h5_fail(w, "/ledger", err);
            goto done;
        }
    if (write_col(g, "gross", H5T_NATIVE_DOUBLE, n, r->gross) ||
        write_col(g, "net", H5T_NATIVE_DOUBLE, n, r->net) || (gc = group_new(g, "cash")) < 0) {
        rc = h5_fail(w, "/ledger", err);
        goto done;
    }
    for (size_t c = 0; c < r->n_ccy; c++)
        if (write_col(gc, r->ccy[c], H5T_NATIVE_DOUBLE, n, r->cash + c * n)) {
            rc = h5_fail(w, "/ledger/cash", err);
            goto done;
        }
    if ((rc = write_margin(w, g, r, err)) || (rc = write_book_greeks(w, g, r, err)) ||
        (rc = write_explain(w, g, r, err)))
        goto done;
done:
    if (gc >= 0)
        H5Gclose(gc);
    if (g >= 0)
        H5Gclose(g);
    if (rc) {
        H5Fclose(w->fid); /* in memory: frees it */
    } else {
        rc = cpo_h5mem_write_close(w->fid, w->h5_path, 0, err);
    }
    w->fid = -1;
    if (w->csv) {
        int bad = fclose(w->csv) != 0;
        w->csv = NULL;
        if (bad && !rc)
            rc = cpo_error_set(err, CPO_EIO, w->csv_path, 0, 0, "cannot write: %s", strerror(errno));
    }
    out_free(w);
    return rc;
}

void cpo_ledger_out_abort(cpo_ledger_out *w)
{
    if (w)
        out_free(w);
}
