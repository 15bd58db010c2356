/*
 * targets.c - the fuzz targets (see targets.h).
 *
 * Inputs go to files in one private folder made on first use (under
 * /dev/shm when it is writable, else $TMPDIR or /tmp) and removed at exit.
 * File names matter to some readers: klines take the symbol from the name
 * (BTCUSDT_1h.csv), the 2024 chain layout the underlying (btc_chain.csv),
 * the futures readers their future (BTCUSDT_260327_1h.csv,
 * deribit_BTC-27MAR26.csv).
 */
#define _DEFAULT_SOURCE
#include "targets.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/config.h"
#include "cpo/dataset.h"
#include "cpo/import.h"
#include "cpo/metrics.h"
#include "cpo/report.h"
#include "cpo/sweep.h"
#include "cpo/time.h"
#include "csvread.h"
#include "report_priv.h"

/* --- the temporary folder -------------------------------------------------- */

static char fz_dir[256];

static const char *const run_files[] = {
    "summary.json",          "manifest.json",
    "ledger.csv",            "ledger_instruments.csv",
    "trades.csv",            "events.csv",
    "attribution_asset.csv", "attribution_asset_series.csv",
    "attribution_risk.csv",  "attribution_factor.csv",
    "attribution_factor_rolling.csv", "attribution_greek.csv",
};
#define N_RUN_FILES (sizeof run_files / sizeof run_files[0])

static const char *const input_names[] = {
    "BTCUSDT_1h.csv", "funding.csv", "funding.json", "btc_chain.csv", "dvol.csv",
    "cmc.csv",        "input.csv",   "config.ini",   "store.h5",      "mark.csv",
    "BTCUSDT_260327_1h.csv", "deribit_BTC-27MAR26.csv",
};
#define N_INPUT_NAMES (sizeof input_names / sizeof input_names[0])

static void fz_cleanup(void)
{
    char p[512];
    if (!fz_dir[0])
        return;
    for (size_t i = 0; i < N_INPUT_NAMES; i++) {
        snprintf(p, sizeof p, "%s/%s", fz_dir, input_names[i]);
        unlink(p);
    }
    for (size_t i = 0; i < N_RUN_FILES; i++) {
        snprintf(p, sizeof p, "%s/run/%s", fz_dir, run_files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/run", fz_dir);
    rmdir(p);
    rmdir(fz_dir);
    fz_dir[0] = '\0';
}

static const char *tmp_dir(void)
{
    if (fz_dir[0])
        return fz_dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/cpo-fuzz-XXXXXX", base);
    if (!mkdtemp(fz_dir)) {
        perror("cpo fuzz: mkdtemp");
        abort();
    }
    char p[512];
    snprintf(p, sizeof p, "%s/run", fz_dir);
    if (mkdir(p, 0700) != 0) {
        perror("cpo fuzz: mkdir");
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir;
}

/* Write data to dir/name (dir relative to the temporary folder, "" for it). */
static const char *put_file(const char *sub, const char *name, const uint8_t *data, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s%s%s/%s", tmp_dir(), sub[0] ? "/" : "", sub, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w <= 0) {
            perror(path);
            abort();
        }
        data += w;
        n -= (size_t)w;
    }
    close(fd);
    return path;
}

/* The reader kept its contract: 0, or a negative code with a message. */
static int checked(int rc, const cpo_error *err, const char *what)
{
    if (rc > 0 || (rc < 0 && !err->msg[0])) {
        fprintf(stderr, "cpo fuzz: %s returned %d with message \"%s\" (expected 0, or a "
                "negative code with a message)\n", what, rc, err->msg);
        abort();
    }
    return rc;
}

static FILE *dev_null(void)
{
    static FILE *f;
    if (!f && !(f = fopen("/dev/null", "w"))) {
        perror("/dev/null");
        abort();
    }
    return f;
}

/* --- the importers ------------------------------------------------------------ */

/* The formats read in pieces on several threads (cpo_import_opts.split_*). */
static int cut_format(cpo_format fmt)
{
    return fmt == CPO_FMT_BINANCE_KLINES || fmt == CPO_FMT_BINANCE_MARK_KLINES ||
           fmt == CPO_FMT_BINANCE_DELIVERY_KLINES || fmt == CPO_FMT_DERIBIT_FUTURES;
}

/* The import of path with o, the file cut into 3 pieces however small,
 * without a dataset, must give what the serial one gave (rc, err, rep):
 * the same code and message, counts and issues; abort if not. */
static void same_in_pieces(const char *path, cpo_import_opts o, int rc, const cpo_error *err,
                           const cpo_import_report *rep)
{
    o.split_bytes = 1;
    o.split_pieces = 3;
    static cpo_import_report r;
    cpo_error e;
    cpo_error_clear(&e);
    int rc3 = cpo_import_file(NULL, path, &o, &r, &e);
    int same = rc3 == rc && r.rows_read == rep->rows_read && r.rows_kept == rep->rows_kept &&
               r.dropped == rep->dropped && r.n_issues == rep->n_issues &&
               r.n_issues_total == rep->n_issues_total;
    if (rc && same)
        same = e.line == err->line && e.col == err->col && !strcmp(e.msg, err->msg);
    for (size_t i = 0; same && i < r.n_issues; i++)
        same = r.issues[i].line == rep->issues[i].line && r.issues[i].col == rep->issues[i].col &&
               !strcmp(r.issues[i].msg, rep->issues[i].msg);
    if (!same) {
        fprintf(stderr, "cpo fuzz: %s mode %d in 3 pieces: %d \"%s\" (line %ld), %zu rows read, "
                "%zu issues; serially %d \"%s\" (line %ld), %zu rows read, %zu issues\n",
                path, (int)o.mode, rc3, e.msg, e.line, r.rows_read, r.n_issues, rc, err->msg,
                err->line, rep->rows_read, rep->n_issues);
        abort();
    }
}

/*
 * Each import runs twice: strict with the defaults and no dataset (the
 * first problem refuses the file), then lenient with every repair switched
 * on, into a dataset (merge, provenance).  The returned code is the strict
 * one; both must keep the contract.  With `prepare`, the dataset is made by
 * it first (what the file attaches to) and the lenient import runs twice
 * (the second overlaps the first); `symbol` is --symbol (NULL: none).
 */
static int import_with(cpo_format fmt, const char *name, const char *symbol,
                       void (*prepare)(cpo_dataset *), const uint8_t *d, size_t n,
                       cpo_error *err)
{
    const char *path = put_file("", name, d, n);
    cpo_import_opts o;
    cpo_import_opts_init(&o);
    o.format = fmt;
    o.symbol = symbol;
    cpo_import_report rep;
    cpo_error_clear(err);
    int rc = checked(cpo_import_file(NULL, path, &o, &rep, err), err, "strict import");
    if (cut_format(fmt))
        same_in_pieces(path, o, rc, err, &rep);

    cpo_dataset *ds = NULL;
    cpo_error e2;
    cpo_error_clear(&e2);
    if (cpo_dataset_new(&ds, &e2) != 0)
        abort();
    if (prepare)
        prepare(ds);
    o.mode = CPO_IMPORT_LENIENT;
    o.sort = 1;
    o.partial_last = CPO_PARTIAL_DROP;
    o.keep_last_poll = 1;
    o.snapshot_ms = INT64_C(1704096000000); /* 2024-01-01T08:00:00Z */
    /* A named zone of the tz database, read once (a table of its offsets). */
    static cpo_tz london;
    static int have_london;
    if (!have_london) {
        if (cpo_tz_parse("Europe/London", &london) != 0)
            abort();
        have_london = 1;
    }
    o.tz = london;
    if (cut_format(fmt)) {
        cpo_error_clear(&e2);
        int lrc = cpo_import_file(NULL, path, &o, &rep, &e2);
        same_in_pieces(path, o, lrc, &e2, &rep);
    }
    for (int pass = 0; pass < (prepare ? 2 : 1); pass++) {
        cpo_error_clear(&e2);
        checked(cpo_import_file(ds, path, &o, &rep, &e2), &e2, "lenient import");
        cpo_import_report_print(&rep, dev_null());
    }
    cpo_dataset_free(ds);
    return rc;
}

static int import_as(cpo_format fmt, const char *name, const uint8_t *d, size_t n, cpo_error *err)
{
    return import_with(fmt, name, NULL, NULL, d, n, err);
}

static int t_klines(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_BINANCE_KLINES, "BTCUSDT_1h.csv", d, n, err);
}

static int t_ohlcv(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_OHLCV, "BTC-USD.csv", d, n, err);
}

static int t_funding_csv(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_BINANCE_FUNDING, "funding.csv", d, n, err);
}

static int t_funding_json(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_BINANCE_FUNDING_JSON, "funding.json", d, n, err);
}

static int t_bitmex(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_BITMEX_FUNDING, "funding.csv", d, n, err);
}

static int t_deribit_funding(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_DERIBIT_FUNDING, "funding.csv", d, n, err);
}

static int t_chain(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_DERIBIT_CHAIN, "btc_chain.csv", d, n, err);
}

static int t_dvol(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_DVOL, "dvol.csv", d, n, err);
}

static int t_cmc(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_CMC_MONTHLY, "cmc.csv", d, n, err);
}

/* BTCUSDT-PERP with hourly bars over 2024-01-01T00:00Z .. 01-03T23:00Z,
 * the hours of the mark_klines seeds. */
static void add_perp(cpo_dataset *ds)
{
    cpo_instrument in;
    cpo_instrument_init(&in, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR);
    size_t idx = 0;
    if (cpo_dataset_add(ds, &in, &idx, NULL) != 0)
        abort();
    const int64_t t0 = INT64_C(1704067200000); /* 2024-01-01T00:00:00Z */
    ds->bars[idx].bar_ms = CPO_MS_HOUR;
    for (int h = 0; h < 72; h++)
        if (cpo_bars_append(&ds->bars[idx], t0 + h * CPO_MS_HOUR, 42000, 42100, 41900, 42050, 10,
                            NAN, NAN, NAN, NAN) != 0)
            abort();
}

/* binance-mark-klines attaches to the perpetual --symbol names: with no
 * dataset the reader and the checks run, into add_perp's the attaching
 * (matched, unmatched, off-grid and, on the second pass, overlapping bars). */
static int t_mark_klines(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_with(CPO_FMT_BINANCE_MARK_KLINES, "mark.csv", "BTCUSDT-PERP", add_perp, d, n,
                       err);
}

static int t_delivery_klines(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_BINANCE_DELIVERY_KLINES, "BTCUSDT_260327_1h.csv", d, n, err);
}

/* CSV or JSON: the reader tells them apart by the first byte. */
static int t_deribit_futures(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_DERIBIT_FUTURES, "deribit_BTC-27MAR26.csv", d, n, err);
}

static int t_chain_futures(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_DERIBIT_CHAIN_FUTURES, "input.csv", d, n, err);
}

/* Format detection (the header or the first JSON element), then the reader. */
static int t_import_auto(const uint8_t *d, size_t n, cpo_error *err)
{
    return import_as(CPO_FMT_AUTO, "BTCUSDT_1h.csv", d, n, err);
}

/* --- libcsv and the field parsers ---------------------------------------------- */

static int csv_touch(void *ctx, const cpo_csv_row *row)
{
    size_t *count = ctx;
    for (size_t i = 0; i < row->n; i++) {
        double x;
        int64_t v, t;
        cpo_parse_f64(row->f[i], row->len[i], &x);
        cpo_parse_i64(row->f[i], row->len[i], &v);
        cpo_time_parse(row->f[i], row->len[i], &t, NULL, NULL);
        cpo_field_blank(row->f[i], row->len[i]);
        if (strlen(row->f[i]) != row->len[i])
            abort(); /* a field holds a NUL: the reader must refuse it */
    }
    if (row->n) {
        static const char *const names[] = {"timestamp|open_time", "close", "x|y|"};
        static const int req[] = {1, 0, 0};
        int idx[3];
        cpo_csv_map(row, "fuzz.csv", names, req, 3, idx, NULL);
        cpo_csv_find(row, "close");
    }
    (*count)++;
    return 0;
}

static int t_csv(const uint8_t *d, size_t n, cpo_error *err)
{
    size_t rows = 0;
    cpo_error_clear(err);
    int rc = checked(cpo_csv_read_mem("fuzz.csv", (const char *)d, n, csv_touch, &rows, err), err,
                     "cpo_csv_read_mem");
    /* The file reader must agree with the memory reader. */
    size_t rows2 = 0;
    cpo_error e2;
    cpo_error_clear(&e2);
    const char *path = put_file("", "input.csv", d, n);
    int rc2 = checked(cpo_csv_read(path, csv_touch, &rows2, &e2), &e2, "cpo_csv_read");
    if ((rc == 0) != (rc2 == 0) || rows != rows2) {
        fprintf(stderr, "cpo fuzz: cpo_csv_read_mem: %d (%zu rows), cpo_csv_read: %d (%zu rows)\n",
                rc, rows, rc2, rows2);
        abort();
    }
    return rc;
}

/* --- the backtest config -------------------------------------------------------- */

static int t_config(const uint8_t *d, size_t n, cpo_error *err)
{
    /* Never load a plugin named by the input: "plugin" keys are renamed
     * (and then refused as unknown keys). */
    char *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, d, n);
    for (size_t i = 0; i + 6 <= n; i++)
        if (!memcmp(copy + i, "plugin", 6))
            copy[i + 5] = 'N';
    const char *path = put_file("", "config.ini", (const uint8_t *)copy, n);
    free(copy);
    cpo_config *cfg = NULL;
    cpo_error_clear(err);
    int rc = checked(cpo_config_load(&cfg, path, err), err, "cpo_config_load");
    if (rc == 0) {
        /* [sweep] and [walkforward] of the same file (cpo sweep). */
        cpo_sweep *sw = NULL;
        cpo_error e2;
        cpo_error_clear(&e2);
        if (checked(cpo_sweep_load(&sw, cfg, &e2), &e2, "cpo_sweep_load") == 0) {
            size_t last = sw->n_points ? sw->n_points - 1 : 0;
            for (size_t p = 0; p <= last; p += last ? last : 1) {
                cpo_config *pc = NULL;
                cpo_error_clear(&e2);
                if (checked(cpo_sweep_point_config(&pc, sw, p, &e2), &e2,
                            "cpo_sweep_point_config") == 0)
                    cpo_config_free(pc);
            }
            if (sw->has_walkforward && cfg->run.start_ms != CPO_TIME_NONE &&
                cfg->run.end_ms != CPO_TIME_NONE) {
                cpo_wf_window *w = NULL;
                size_t nw = 0;
                cpo_error_clear(&e2);
                if (checked(cpo_sweep_windows(sw, cfg->run.start_ms, cfg->run.end_ms, &w, &nw,
                                              &e2),
                            &e2, "cpo_sweep_windows") == 0)
                    free(w);
            }
            cpo_sweep_free(sw);
        }
        cpo_config_free(cfg);
    }
    return rc;
}

/* --- the HDF5 store ------------------------------------------------------------- */

static int t_store(const uint8_t *d, size_t n, cpo_error *err)
{
    const char *path = put_file("", "store.h5", d, n);
    cpo_dataset *ds = NULL;
    cpo_error_clear(err);
    int rc = checked(cpo_store_read(&ds, path, err), err, "cpo_store_read");
    cpo_dataset_free(ds);
    cpo_error e2;
    cpo_error_clear(&e2);
    checked(cpo_store_info(path, dev_null(), &e2), &e2, "cpo_store_info");
    return rc;
}

/* --- a run folder (cpo compare, cpo report) --------------------------------------- */

/*
 * The input is the run folder's files in the form `head` prints them:
 *     ==> summary.json <==
 *     {...}
 *     ==> ledger.csv <==
 *     ts,equity
 *     ...
 * Names other than those of a run folder are ignored.
 */
static size_t line_end(const uint8_t *d, size_t n, size_t i)
{
    const uint8_t *nl = memchr(d + i, '\n', n - i);
    return nl ? (size_t)(nl - d) : n;
}

static int header_name(const uint8_t *d, size_t b, size_t e, char *name, size_t cap)
{
    if (e - b < 9 || memcmp(d + b, "==> ", 4) || memcmp(d + e - 4, " <==", 4))
        return 0;
    size_t len = e - b - 8;
    if (len >= cap)
        return 0;
    memcpy(name, d + b + 4, len);
    name[len] = '\0';
    return 1;
}

static void put_run(const uint8_t *d, size_t n)
{
    char p[512];
    for (size_t i = 0; i < N_RUN_FILES; i++) {
        snprintf(p, sizeof p, "%s/run/%s", tmp_dir(), run_files[i]);
        unlink(p);
    }
    char name[64];
    size_t i = 0;
    int have = 0;
    size_t start = 0;
    char cur[64] = "";
    while (i <= n) {
        size_t e = i < n ? line_end(d, n, i) : n;
        int hdr = i < n && header_name(d, i, e, name, sizeof name);
        if (hdr || i >= n) {
            if (have)
                for (size_t k = 0; k < N_RUN_FILES; k++)
                    if (!strcmp(cur, run_files[k]))
                        put_file("run", cur, d + start, i - start);
            if (i >= n)
                break;
            snprintf(cur, sizeof cur, "%s", name);
            have = 1;
            start = e < n ? e + 1 : n;
        }
        i = e + 1;
    }
}

static int t_runfolder(const uint8_t *d, size_t n, cpo_error *err)
{
    put_run(d, n);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/run", tmp_dir());
    rp_run r;
    cpo_error_clear(err);
    int rc = checked(rp_run_load(&r, dir, err), err, "rp_run_load");
    if (rc == 0) {
        static const struct {
            const char *cols;
            int mode;
        } specs[] = {{"*", RP_SERIES_AUTO}, {"c_*|residual", RP_SERIES_SUM},
                     {"beta_*", RP_SERIES_AS_IS}};
        for (int a = 0; a < RP_ATTR_COUNT; a++) {
            const rp_attr *at = &r.attr[a];
            if (!at->present)
                continue;
            cpo_error e2;
            cpo_error_clear(&e2);
            if (at->tcol >= 0) {
                for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
                    rp_series v;
                    memset(&v, 0, sizeof v);
                    if (checked(rp_attr_series(at, specs[s].cols, specs[s].mode, &v, &e2), &e2,
                                "rp_attr_series") == 0)
                        rp_series_free(&v);
                }
            } else {
                rp_attr_view v;
                memset(&v, 0, sizeof v);
                checked(rp_attr_view_make(at, &v, &e2), &e2, "rp_attr_view_make");
                rp_attr_view_free(&v);
            }
        }
        rp_dd dd[5];
        rp_drawdowns(r.equity, r.n, r.capital, dd, 5);
        rp_run_free(&r);
    }
    /* cpo compare of the folder with itself: the table only. */
    const char *dirs[2] = {dir, dir};
    cpo_compare_opts co;
    cpo_compare_opts_init(&co);
    co.report.warn = NULL;
    co.out_dir = NULL;
    co.align = 1;
    co.table = dev_null();
    cpo_error e3;
    cpo_error_clear(&e3);
    checked(cpo_compare_build(dirs, 2, &co, NULL, &e3), &e3, "cpo_compare_build");
    return rc;
}

/* --- `cpo metrics FILE` ------------------------------------------------------------ */

static int t_metrics_csv(const uint8_t *d, size_t n, cpo_error *err)
{
    const char *path = put_file("", "input.csv", d, n);
    static cpo_metrics m; /* large: not on the stack */
    cpo_metrics_csv_opts o[2];
    memset(o, 0, sizeof o);
    o[1].returns = 1;
    o[1].bench_column = "bench";
    int rc = 0;
    for (int k = 0; k < 2; k++) {
        cpo_metrics_csv *c = NULL;
        cpo_error e;
        cpo_error_clear(&e);
        int r = checked(cpo_metrics_csv_read(&c, path, &o[k], &e), &e, "cpo_metrics_csv_read");
        if (k == 0) {
            rc = r;
            *err = e;
        }
        if (r == 0) {
            cpo_error_clear(&e);
            checked(cpo_metrics_csv_compute(&m, c, NULL, &e), &e, "cpo_metrics_csv_compute");
        }
        cpo_metrics_csv_free(c);
    }
    return rc;
}

/* --- the table ------------------------------------------------------------------------ */

const fz_target fz_targets[] = {
    {"csv", t_csv, "cpo_csv_read_mem and cpo_csv_read (libcsv), the field parsers"},
    {"klines", t_klines, "cpo_import_file --format binance-klines"},
    {"ohlcv", t_ohlcv, "cpo_import_file --format ohlcv"},
    {"funding_csv", t_funding_csv, "cpo_import_file --format binance-funding"},
    {"funding_json", t_funding_json, "cpo_import_file --format binance-funding-json"},
    {"bitmex", t_bitmex, "cpo_import_file --format bitmex-funding"},
    {"deribit_funding", t_deribit_funding, "cpo_import_file --format deribit-funding"},
    {"chain", t_chain, "cpo_import_file --format deribit-chain"},
    {"dvol", t_dvol, "cpo_import_file --format dvol (CSV and JSON)"},
    {"cmc", t_cmc, "cpo_import_file --format cmc-monthly"},
    {"mark_klines", t_mark_klines,
     "cpo_import_file --format binance-mark-klines (CSV and JSON), attached to a perpetual"},
    {"import_auto", t_import_auto, "cpo_import_file with format detection"},
    {"delivery_klines", t_delivery_klines, "cpo_import_file --format binance-delivery-klines"},
    {"deribit_futures", t_deribit_futures, "cpo_import_file --format deribit-futures (CSV and JSON)"},
    {"chain_futures", t_chain_futures, "cpo_import_file --format deribit-chain-futures"},
    {"config", t_config, "cpo_config_load, cpo_sweep_load and cpo_sweep_windows (INI)"},
    {"store", t_store, "cpo_store_read and cpo_store_info (HDF5)"},
    {"runfolder", t_runfolder, "rp_run_load and cpo_compare_build (a run folder)"},
    {"metrics_csv", t_metrics_csv, "cpo_metrics_csv_read and cpo_metrics_csv_compute"},
};
const size_t fz_n_targets = sizeof fz_targets / sizeof fz_targets[0];

const fz_target *fz_find(const char *name)
{
    for (size_t i = 0; i < fz_n_targets; i++)
        if (!strcmp(fz_targets[i].name, name))
            return &fz_targets[i];
    return NULL;
}
