/* check_store.c - the HDF5 store (write, read, info) and SHA-256. */
#include "cpo/dataset.h"
#include "cpo/error.h"
#include "cpo/instrument.h"
#include "cpo/time.h"
#include "testutil.h"

#include <check.h>
#include <hdf5.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2024-01-01T00:00:00Z in ms (1704067200 s, `date -u -d 2024-01-01 +%s`). */
#define T0 INT64_C(1704067200000)

/* --- helpers ------------------------------------------------------------- */

static uint64_t rng_state;

static double rnd(void)
{
    /* xorshift64: any deterministic sequence does. */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void add_instr(cpo_dataset *ds, const char *sym, cpo_kind kind,
                      cpo_settle settle, const char *exchange, size_t *idx)
{
    cpo_instrument in;
    cpo_error err;
    cpo_instrument_init(&in, sym, kind, settle);
    snprintf(in.exchange, sizeof in.exchange, "%s", exchange);
    snprintf(in.base, sizeof in.base, "BTC");
    snprintf(in.quote, sizeof in.quote, "USDT");
    if (kind == CPO_KIND_OPTION) {
        snprintf(in.underlying, sizeof in.underlying, "BTC");
        in.strike = 70000;
        in.expiry_ms = T0 + 90 * CPO_MS_DAY;
        in.right = CPO_RIGHT_CALL;
        in.tick_size = 0.0005;
    }
    ck_assert_int_eq(cpo_dataset_add(ds, &in, idx, &err), 0);
}

/*
 * A dataset with every kind of series: a perp with 150,000 hourly bars
 * (three chunks) and funding, NaNs with payloads, -0 and infinities; a
 * spot with '/' in its symbol and a 3-hour gap; an option with empty
 * series whose bar_ms/interval_ms must survive; odd symbols with '%' and a
 * leading '.'; two chains (one empty), two IV indices, caps, provenance.
 */
static cpo_dataset *build_dataset(void)
{
    cpo_dataset *ds = NULL;
    cpo_error err;
    size_t i0, i1, i2, i3, i4;
    rng_state = 88172645463325252ULL;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);

    add_instr(ds, "BTCUSDT", CPO_KIND_PERP, CPO_SETTLE_LINEAR, "binance", &i0);
    add_instr(ds, "BTC/USD", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "coinbase", &i1);
    add_instr(ds, "BTC-28MAR24-70000-C", CPO_KIND_OPTION, CPO_SETTLE_INVERSE,
              "deribit", &i2);
    add_instr(ds, "100%.odd/sym", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, "", &i3);
    add_instr(ds, ".hidden", CPO_KIND_FUTURE, CPO_SETTLE_INVERSE, "bitmex", &i4);

    cpo_bars *b = &ds->bars[i0];
    b->bar_ms = CPO_MS_HOUR;
    double px = 40000;
    for (size_t k = 0; k < 150000; k++) {
        px *= 1 + (rnd() - 0.5) * 0.01;
        double mark = k % 7 ? px * 1.0001 : NAN;
        /* the mark's high and low (mark-price klines) on most bars */
        double mh = k % 5 ? px * 1.002 : NAN, ml = k % 5 ? px * 0.998 : NAN;
        ck_assert_int_eq(cpo_bars_append(b, T0 + (int64_t)k * CPO_MS_HOUR, px,
                                         px * 1.01, px * 0.99, px, rnd() * 100,
                                         mark, mh, ml, k % 11 ? px : NAN), 0);
    }
    b->volume[5] = bits_to_double(UINT64_C(0x7ff8000000000123)); /* NaN payload */
    b->volume[6] = bits_to_double(UINT64_C(0xfff0000000000001)); /* -sNaN */
    b->open[7] = -0.0;
    b->high[8] = INFINITY;
    b->low[9] = -INFINITY;
    b->close[10] = 5e-324; /* denormal */

    cpo_funding *f = &ds->funding[i0];
    f->interval_ms = 8 * CPO_MS_HOUR;
    for (size_t k = 0; k < 500; k++)
        ck_assert_int_eq(cpo_funding_append(f, T0 + (int64_t)k * 8 * CPO_MS_HOUR,
                                            (rnd() - 0.4) * 1e-3,
                                            k % 3 ? 40000 + k : NAN, NAN), 0);

    /* BTC/USD: 10 hourly bars, then a jump of 4 hours (3 missing bars). */
    b = &ds->bars[i1];
    b->bar_ms = CPO_MS_HOUR;
    for (int64_t k = 0; k < 14; k++) {
        if (k >= 10 && k < 13)
            continue;
        ck_assert_int_eq(cpo_bars_append(b, T0 + k * CPO_MS_HOUR, 1, 2, 0.5, 1.5,
                                         NAN, NAN, NAN, NAN, NAN), 0);
    }

    ds->bars[i2].bar_ms = CPO_MS_DAY;        /* empty, but bar_ms kept */
    ds->funding[i4].interval_ms = CPO_MS_HOUR; /* empty, but interval kept */
    /* "100%.odd/sym": 3 bars, no bar_ms (frequency inferred). */
    b = &ds->bars[i3];
    for (int64_t k = 0; k < 3; k++)
        ck_assert_int_eq(cpo_bars_append(b, T0 + k * CPO_MS_MINUTE, 1, 1, 1, 1, 1,
                                         1, NAN, NAN, 1), 0);

    cpo_chain *c = NULL;
    ck_assert_int_eq(cpo_dataset_chain(ds, "BTC", &c, &err), 0);
    for (size_t k = 0; k < 70000; k++) {
        size_t row;
        ck_assert_int_eq(cpo_chain_append_row(c, &row), 0);
        c->ts[row] = T0 + (int64_t)(k / 100) * CPO_MS_HOUR;
        c->expiry_ms[row] = T0 + (int64_t)(1 + k % 4) * 7 * CPO_MS_DAY;
        c->strike[row] = 50000 + 1000.0 * (double)(k % 25);
        c->right[row] = (int8_t)(k % 2 ? CPO_RIGHT_PUT : CPO_RIGHT_CALL);
        c->mark_px[row] = rnd() * 0.1;
        if (k % 5)
            c->bid_px[row] = c->mark_px[row] * 0.99;
        c->ask_px[row] = c->mark_px[row] * 1.01;
        c->mark_iv[row] = 0.4 + rnd() * 0.2;
        c->fwd_px[row] = 42000;
        c->index_px[row] = 41900;
        c->open_interest[row] = (double)k;
        snprintf(c->name[row], CPO_SYMBOL_MAX, "BTC-%zu-%d-%c", k % 4,
                 50000 + 1000 * (int)(k % 25), k % 2 ? 'P' : 'C');
    }
    ck_assert_int_eq(cpo_dataset_chain(ds, "ETH", &c, &err), 0); /* empty */

    cpo_ivindex *v = NULL;
    ck_assert_int_eq(cpo_dataset_ivindex(ds, "BTC-DVOL", &v, &err), 0);
    for (int64_t k = 0; k < 400; k++)
        ck_assert_int_eq(cpo_ivindex_append(v, T0 + k * CPO_MS_DAY, 50, 55, 45,
                                            k % 9 ? 52 : NAN), 0);
    ck_assert_int_eq(cpo_dataset_ivindex(ds, "ETH/DVOL", &v, &err), 0); /* empty */

    for (int64_t k = 0; k < 300; k++)
        ck_assert_int_eq(cpo_caps_append(&ds->caps, T0 + (k / 100) * CPO_MS_WEEK,
                                         (int32_t)(k % 100 + 1),
                                         k % 2 ? "ETH" : "BTC",
                                         k % 2 ? "Ethereum" : "Bitcoin",
                                         1e12 / (double)(k + 1), 100.0,
                                         k % 4 ? 1e7 : NAN, 1e9), 0);

    cpo_provenance p;
    memset(&p, 0, sizeof p);
    snprintf(p.source, sizeof p.source, "/data/binance/BTCUSDT-1h-2024.csv");
    snprintf(p.sha256, sizeof p.sha256, "%s",
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    snprintf(p.format, sizeof p.format, "binance-klines");
    snprintf(p.target, sizeof p.target, "BTCUSDT");
    p.rows_read = 150001;
    p.rows_kept = 150000;
    p.import_ms = T0 + 12345;
    snprintf(p.options, sizeof p.options, "tz=UTC bar=1h");
    ck_assert_int_eq(cpo_dataset_add_provenance(ds, &p, &err), 0);
    snprintf(p.source, sizeof p.source, "deribit/options.csv");
    snprintf(p.format, sizeof p.format, "deribit-chain");
    snprintf(p.target, sizeof p.target, "BTC");
    p.options[0] = '\0';
    ck_assert_int_eq(cpo_dataset_add_provenance(ds, &p, &err), 0);
    return ds;
}

/* Bitwise equality of two arrays (so NaN == NaN, -0 != 0). */
#define SAME(a, b, n, what)                                                   \
    ck_assert_msg((n) == 0 || memcmp((a), (b), (n) * sizeof *(a)) == 0,       \
                  "%s differs", what)

static void assert_same_instr(const cpo_instrument *a, const cpo_instrument *b)
{
    ck_assert_str_eq(a->symbol, b->symbol);
    ck_assert_str_eq(a->exchange, b->exchange);
    ck_assert_str_eq(a->base, b->base);
    ck_assert_str_eq(a->quote, b->quote);
    ck_assert_str_eq(a->underlying, b->underlying);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_int_eq(a->settle, b->settle);
    ck_assert_int_eq(a->right, b->right);
    SAME(&a->contract_size, &b->contract_size, 1, "contract_size");
    SAME(&a->tick_size, &b->tick_size, 1, "tick_size");
    SAME(&a->lot_size, &b->lot_size, 1, "lot_size");
    SAME(&a->strike, &b->strike, 1, "strike");
    ck_assert_int_eq(a->expiry_ms, b->expiry_ms);
    ck_assert_int_eq(a->funding_interval_ms, b->funding_interval_ms);
}

static void assert_same(const cpo_dataset *a, const cpo_dataset *b)
{
    ck_assert_uint_eq(a->n_instr, b->n_instr);
    for (size_t i = 0; i < a->n_instr; i++) {
        const cpo_bars *x = &a->bars[i], *y = &b->bars[i];
        const cpo_funding *f = &a->funding[i], *g = &b->funding[i];
        assert_same_instr(&a->instr[i], &b->instr[i]);
        ck_assert_uint_eq(x->n, y->n);
        ck_assert_int_eq(x->bar_ms, y->bar_ms);
        SAME(x->ts, y->ts, x->n, "bars ts");
        SAME(x->open, y->open, x->n, "bars open");
        SAME(x->high, y->high, x->n, "bars high");
        SAME(x->low, y->low, x->n, "bars low");
        SAME(x->close, y->close, x->n, "bars close");
        SAME(x->volume, y->volume, x->n, "bars volume");
        SAME(x->mark, y->mark, x->n, "bars mark");
        SAME(x->index, y->index, x->n, "bars index");
        /* NULL (no mark klines) on both sides, or the same values */
        ck_assert_int_eq(x->mark_high == NULL, y->mark_high == NULL);
        ck_assert_int_eq(x->mark_low == NULL, y->mark_low == NULL);
        if (x->mark_high) {
            SAME(x->mark_high, y->mark_high, x->n, "bars mark_high");
            SAME(x->mark_low, y->mark_low, x->n, "bars mark_low");
        }
        ck_assert_uint_eq(f->n, g->n);
        ck_assert_int_eq(f->interval_ms, g->interval_ms);
        SAME(f->ts, g->ts, f->n, "funding ts");
        SAME(f->rate, g->rate, f->n, "funding rate");
        SAME(f->mark, g->mark, f->n, "funding mark");
        SAME(f->index, g->index, f->n, "funding index");
    }
    ck_assert_uint_eq(a->n_chains, b->n_chains);
    for (size_t i = 0; i < a->n_chains; i++) {
        const cpo_chain *x = &a->chains[i], *y = &b->chains[i];
        ck_assert_str_eq(x->underlying, y->underlying);
        ck_assert_uint_eq(x->n, y->n);
        SAME(x->ts, y->ts, x->n, "chain ts");
        SAME(x->expiry_ms, y->expiry_ms, x->n, "chain expiry_ms");
        SAME(x->strike, y->strike, x->n, "chain strike");
        SAME(x->right, y->right, x->n, "chain right");
        SAME(x->mark_px, y->mark_px, x->n, "chain mark_px");
        SAME(x->bid_px, y->bid_px, x->n, "chain bid_px");
        SAME(x->ask_px, y->ask_px, x->n, "chain ask_px");
        SAME(x->mark_iv, y->mark_iv, x->n, "chain mark_iv");
        SAME(x->fwd_px, y->fwd_px, x->n, "chain fwd_px");
        SAME(x->index_px, y->index_px, x->n, "chain index_px");
        SAME(x->delta, y->delta, x->n, "chain delta");
        SAME(x->vega, y->vega, x->n, "chain vega");
        SAME(x->open_interest, y->open_interest, x->n, "chain open_interest");
        SAME(x->name, y->name, x->n, "chain name");
    }
    ck_assert_uint_eq(a->n_iv, b->n_iv);
    for (size_t i = 0; i < a->n_iv; i++) {
        const cpo_ivindex *x = &a->iv[i], *y = &b->iv[i];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_uint_eq(x->n, y->n);
        SAME(x->ts, y->ts, x->n, "iv ts");
        SAME(x->open, y->open, x->n, "iv open");
        SAME(x->high, y->high, x->n, "iv high");
        SAME(x->low, y->low, x->n, "iv low");
        SAME(x->close, y->close, x->n, "iv close");
    }
    const cpo_caps *x = &a->caps, *y = &b->caps;
    ck_assert_uint_eq(x->n, y->n);
    SAME(x->ts, y->ts, x->n, "caps ts");
    SAME(x->rank, y->rank, x->n, "caps rank");
    SAME(x->market_cap, y->market_cap, x->n, "caps market_cap");
    SAME(x->price, y->price, x->n, "caps price");
    SAME(x->supply, y->supply, x->n, "caps supply");
    SAME(x->volume_24h, y->volume_24h, x->n, "caps volume_24h");
    SAME(x->symbol, y->symbol, x->n, "caps symbol");
    SAME(x->name, y->name, x->n, "caps name");
    ck_assert_uint_eq(a->n_prov, b->n_prov);
    for (size_t i = 0; i < a->n_prov; i++) {
        const cpo_provenance *p = &a->prov[i], *q = &b->prov[i];
        ck_assert_str_eq(p->source, q->source);
        ck_assert_str_eq(p->sha256, q->sha256);
        ck_assert_str_eq(p->format, q->format);
        ck_assert_str_eq(p->target, q->target);
        ck_assert_str_eq(p->options, q->options);
        ck_assert_int_eq(p->rows_read, q->rows_read);
        ck_assert_int_eq(p->rows_kept, q->rows_kept);
        ck_assert_int_eq(p->import_ms, q->import_ms);
    }
}

/* Write the test dataset to dir/name and return the path (caller frees). */
static char *write_valid_store(const char *dir, const char *name)
{
    cpo_dataset *ds = build_dataset();
    cpo_error err;
    char *path = tu_path(dir, name);
    int rc = cpo_store_write(ds, path, &err);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    cpo_dataset_free(ds);
    return path;
}

/* Expect cpo_store_read(path) to fail with CPO_ESTORE and a message
 * containing want; the formatted error must start with the path. */
static void expect_store_error(const char *path, const char *want)
{
    cpo_dataset *ds = (cpo_dataset *)&ds; /* must be reset to NULL */
    cpo_error err;
    cpo_error_clear(&err);
    int rc = cpo_store_read(&ds, path, &err);
    ck_assert_int_eq(rc, CPO_ESTORE);
    ck_assert_int_eq(err.code, CPO_ESTORE);
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(err.msg, want) != NULL, "got \"%s\", want \"%s\"",
                  tu_errstr(&err), want);
    ck_assert_str_eq(err.path, path);
    ck_assert_msg(strchr(err.msg, '(') != NULL, "no (expected ...) in \"%s\"",
                  err.msg);
}

/* Open a store read-write with the raw HDF5 API. */
static hid_t h5_open_rw(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_msg(fid >= 0, "H5Fopen %s", path);
    return fid;
}

/* Make obj a 1-D dataset of n native values of type t (replacing it). */
static void h5_put(hid_t fid, const char *obj, hid_t t, size_t n, const void *data)
{
    hsize_t dims[1] = {n};
    if (H5Lexists(fid, obj, H5P_DEFAULT) > 0)
        ck_assert_int_ge(H5Ldelete(fid, obj, H5P_DEFAULT), 0);
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(fid, obj, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    H5Dclose(d);
    H5Sclose(sp);
}

/* A valid store in dir whose obj is made n values of type t (h5_put):
 * reading it must fail with want (expect_store_error). */
static void expect_damaged(const char *dir, const char *obj, hid_t t, size_t n, const void *data,
                           const char *want)
{
    char *path = write_valid_store(dir, "damaged.h5");
    hid_t fid = h5_open_rw(path);
    h5_put(fid, obj, t, n, data);
    H5Fclose(fid);
    expect_store_error(path, want);
    free(path);
}

static void sha_of(const char *path, char hex[65])
{
    cpo_error err;
    int rc = cpo_sha256_file(path, hex, &err);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
}

/* --- SHA-256 -------------------------------------------------------------- */

static void check_sha(const char *dir, const char *content, size_t len,
                      const char *want)
{
    char *path = tu_path(dir, "sha.bin"), hex[65];
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(content, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    sha_of(path, hex);
    ck_assert_str_eq(hex, want);
    free(path);
}

START_TEST(test_sha256_vectors)
{
    char *dir = tu_tmpdir();
    /* FIPS 180-4 / NIST CSRC "SHA256.pdf" example values, and the empty
     * message as printed by `printf '' | sha256sum`. */
    check_sha(dir, "", 0,
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha(dir, "abc", 3,
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha(dir, m448, strlen(m448),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* One million 'a' (NIST long-message example); spans 16 read blocks. */
    char *million = malloc(1000000);
    ck_assert_ptr_nonnull(million);
    memset(million, 'a', 1000000);
    check_sha(dir, million, 1000000,
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_sha256_padding_boundaries)
{
    /* Lengths around the 55/56/64-byte padding edges and the 64 KiB read
     * block, checked against coreutils sha256sum (skipped if absent). */
    static const size_t lens[] = {1, 55, 56, 57, 63, 64, 65, 119, 120, 128,
                                  65535, 65536, 65537, 131072 + 56};
    char *dir = tu_tmpdir(), *out = NULL;
    if (tu_run("sha256sum --version", &out) != 0) {
        free(out);
        tu_rmtree(dir);
        free(dir);
        return;
    }
    free(out);
    char *path = tu_path(dir, "pad.bin");
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char hex[65], cmd[1024];
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        for (size_t k = 0; k < lens[i]; k++)
            fputc((int)((k * 131 + 7) & 0xff), f);
        ck_assert_int_eq(fclose(f), 0);
        sha_of(path, hex);
        snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
        ck_assert_int_eq(tu_run(cmd, &out), 0);
        ck_assert_msg(strncmp(out, hex, 64) == 0, "len %zu: %s vs %.64s",
                      lens[i], hex, out);
        free(out);
    }
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_sha256_missing_file)
{
    char hex[65];
    cpo_error err;
    ck_assert_int_eq(cpo_sha256_file("/nonexistent/cpo/file", hex, &err), CPO_EIO);
    ck_assert_str_eq(err.path, "/nonexistent/cpo/file");
}
END_TEST

/* --- round trip ----------------------------------------------------------- */

START_TEST(test_round_trip)
{
    char *dir = tu_tmpdir();
    cpo_dataset *ds = build_dataset(), *back = NULL;
    cpo_error err;
    char *path = tu_path(dir, "rt.h5");
    int rc = cpo_store_write(ds, path, &err);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    rc = cpo_store_read(&back, path, &err);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    assert_same(ds, back);
    /* Spot checks that the comparison itself is not vacuous. */
    ck_assert_uint_eq(back->bars[0].n, 150000);
    ck_assert(isnan(back->bars[0].volume[5]));
    ck_assert(signbit(back->bars[0].open[7]) && back->bars[0].open[7] == 0);
    ck_assert_str_eq(back->instr[1].symbol, "BTC/USD");
    ck_assert_str_eq(back->instr[3].symbol, "100%.odd/sym");
    ck_assert_int_eq(back->bars[2].bar_ms, CPO_MS_DAY);
    ck_assert_int_eq(back->funding[4].interval_ms, CPO_MS_HOUR);
    ck_assert_str_eq(back->chains[1].underlying, "ETH");
    ck_assert_str_eq(back->iv[1].name, "ETH/DVOL");
    ck_assert_ptr_nonnull(back->bars[0].mark_high);
    ck_assert(isnan(back->bars[0].mark_high[0]) && back->bars[0].mark_low[1] > 0);
    ck_assert_ptr_null(back->bars[1].mark_high); /* BTC/USD has none */
    /* Writing what was read gives the same data again. */
    char *path2 = tu_path(dir, "rt2.h5");
    cpo_dataset *again = NULL;
    ck_assert_int_eq(cpo_store_write(back, path2, &err), 0);
    ck_assert_int_eq(cpo_store_read(&again, path2, &err), 0);
    assert_same(ds, again);
    cpo_dataset_free(again);
    cpo_dataset_free(back);
    cpo_dataset_free(ds);
    free(path2);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* cpo compresses a column's chunks on every core (datasets/store.c,
 * w_chunks); HDF5's filter pipeline does it on one.  The files must be the
 * same bytes: full chunks, and a last chunk one row short (100,001 rows in
 * chunks of 50,001), whose missing row both fill with zeros. */
START_TEST(test_chunks_compressed_as_hdf5_does)
{
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    char *dir = tu_tmpdir();
    cpo_dataset *ds = build_dataset(), *back = NULL;
    cpo_error err;
    for (int trim = 0; trim < 2; trim++) {
        if (trim)
            ds->bars[0].n = 100001;
        char *pa = tu_path(dir, "pipeline.h5"), *pb = tu_path(dir, "cores.h5");
        cpo_store_opts o;
        cpo_store_opts_init(&o);
        o.hdf5_filters = 1;
        ck_assert_int_eq(cpo_store_write_opts(ds, pa, &o, &err), 0);
        o.hdf5_filters = 0;
        ck_assert_int_eq(cpo_store_write_opts(ds, pb, &o, &err), 0);
        size_t na = 0, nb = 0;
        char *a = tu_read_file(pa, &na), *b = tu_read_file(pb, &nb);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_gt(na, 100000);
        ck_assert_uint_eq(na, nb);
        ck_assert(memcmp(a, b, na) == 0);
        ck_assert_int_eq(cpo_store_read(&back, pb, &err), 0);
        assert_same(ds, back);
        ck_assert_uint_eq(back->bars[0].n, trim ? 100001 : 150000);
        cpo_dataset_free(back);
        back = NULL;
        free(a);
        free(b);
        free(pa);
        free(pb);
    }
    unsetenv("SOURCE_DATE_EPOCH");
    cpo_dataset_free(ds);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A deflated chunk of a bars column whose bytes were damaged (the middle
 * byte of chunk 1 of BTCUSDT's close flipped) is refused, naming the
 * column: the chunks are inflated together after the walk (store.c,
 * z_run), and a chunk that does not inflate to its size is an error. */
START_TEST(test_read_damaged_chunk)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "dmg.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(fid, 0);
    hid_t d = H5Dopen2(fid, "/bars/BTCUSDT/close", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t space = H5Dget_space(d);
    hsize_t off = 0, size = 0;
    haddr_t addr = 0;
    unsigned mask = 0;
    ck_assert_int_ge(H5Dget_chunk_info(d, space, 1, &off, &mask, &addr, &size), 0);
    ck_assert_uint_eq(off, 50000); /* chunk 1 of 3 x 50,000 rows */
    ck_assert_uint_gt(size, 100);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(fid);
    FILE *fp = fopen(path, "r+b");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, (long)(addr + size / 2), SEEK_SET), 0);
    int c = fgetc(fp);
    ck_assert_int_ne(c, EOF);
    ck_assert_int_eq(fseek(fp, (long)(addr + size / 2), SEEK_SET), 0);
    ck_assert_int_ne(fputc(c ^ 0x5a, fp), EOF);
    ck_assert_int_eq(fclose(fp), 0);
    expect_store_error(path, "/bars/BTCUSDT/close");
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_round_trip_empty)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "empty.h5");
    cpo_dataset *ds = NULL, *back = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    int rc = cpo_store_write(ds, path, &err);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    rc = cpo_store_read(&back, path, &err);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    assert_same(ds, back);
    ck_assert_uint_eq(back->n_instr, 0);
    cpo_dataset_free(back);
    cpo_dataset_free(ds);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_layout)
{
    /* The documented layout, checked with the raw HDF5 API. */
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "l.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(fid, 0);
    int32_t version = 0;
    hid_t a = H5Aopen(fid, "cpo_store_version", H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_INT32, &version), 0);
    ck_assert_int_eq(version, 1); /* store version 1 (the brief) */
    H5Aclose(a);
    /* '/' -> %2F, '%' -> %25, leading '.' -> %2E */
    ck_assert_int_gt(H5Lexists(fid, "/bars/BTC%2FUSD", H5P_DEFAULT), 0);
    ck_assert_int_gt(H5Lexists(fid, "/bars/100%25.odd%2Fsym", H5P_DEFAULT), 0);
    ck_assert_int_gt(H5Lexists(fid, "/funding/%2Ehidden", H5P_DEFAULT), 0);
    ck_assert_int_gt(H5Lexists(fid, "/ivindex/ETH%2FDVOL", H5P_DEFAULT), 0);
    /* mark_high and mark_low only where the bars have values in them. */
    ck_assert_int_gt(H5Lexists(fid, "/bars/BTCUSDT/mark_high", H5P_DEFAULT), 0);
    ck_assert_int_gt(H5Lexists(fid, "/bars/BTCUSDT/mark_low", H5P_DEFAULT), 0);
    ck_assert_int_eq(H5Lexists(fid, "/bars/BTC%2FUSD/mark_high", H5P_DEFAULT), 0);
    ck_assert_int_eq(H5Lexists(fid, "/bars/BTC%2FUSD/mark_low", H5P_DEFAULT), 0);
    ck_assert_int_gt(H5Lexists(fid, "/bars/BTC%2FUSD/mark", H5P_DEFAULT), 0);
    /* Non-empty columns are chunked and deflated with shuffle. */
    hid_t d = H5Dopen2(fid, "/bars/BTCUSDT/close", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t dcpl = H5Dget_create_plist(d);
    ck_assert_int_eq(H5Pget_layout(dcpl), H5D_CHUNKED);
    hsize_t chunk = 0;
    ck_assert_int_eq(H5Pget_chunk(dcpl, 1, &chunk), 1);
    /* At most 512 KiB (65,536 doubles) per chunk, split evenly: 150,000
     * rows -> 3 chunks of 50,000. */
    ck_assert_uint_eq(chunk, 50000);
    ck_assert_int_eq(H5Pget_nfilters(dcpl), 2);
    unsigned flags, cd[4];
    size_t ncd = 4;
    ck_assert_int_eq(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL),
                     H5Z_FILTER_SHUFFLE);
    ncd = 4;
    ck_assert_int_eq(H5Pget_filter2(dcpl, 1, &flags, &ncd, cd, 0, NULL, NULL),
                     H5Z_FILTER_DEFLATE);
    ck_assert_uint_eq(cd[0], 4); /* deflate level 4 */
    H5Pclose(dcpl);
    H5Dclose(d);
    H5Fclose(fid);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- atomic replacement --------------------------------------------------- */

/* Names in dir other than keep (a leftover temporary file, say). */
static int count_other_files(const char *dir, const char *keep)
{
    char cmd[1200], *out = NULL;
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -v -x '%s' | wc -l", dir, keep);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    int n = atoi(out);
    free(out);
    return n;
}

START_TEST(test_failed_write_keeps_old_file)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "keep.h5");
    char before[65], after[65];
    cpo_error err;
    sha_of(path, before);

    /* A dataset that fails half-way: two instruments with one symbol (the
     * bars group of the second cannot be created). */
    cpo_dataset *ds = build_dataset();
    snprintf(ds->instr[1].symbol, sizeof ds->instr[1].symbol, "BTCUSDT");
    int rc = cpo_store_write(ds, path, &err);
    ck_assert_int_eq(rc, CPO_EINVAL);
    ck_assert_msg(strstr(err.msg, "duplicate symbol \"BTCUSDT\"") != NULL, "%s",
                  tu_errstr(&err));
    sha_of(path, after);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(count_other_files(dir, "keep.h5"), 0); /* no temp file */
    cpo_dataset_free(ds);

    /* The old file still reads. */
    cpo_dataset *back = NULL;
    ck_assert_int_eq(cpo_store_read(&back, path, &err), 0);
    ck_assert_uint_eq(back->n_instr, 5);
    cpo_dataset_free(back);

    /* A read-only directory (only meaningful when not running as root). */
    if (geteuid() != 0) {
        ds = build_dataset();
        ck_assert_int_eq(chmod(dir, 0555), 0);
        rc = cpo_store_write(ds, path, &err);
        ck_assert_int_eq(chmod(dir, 0755), 0);
        ck_assert_int_eq(rc, CPO_EIO);
        ck_assert_msg(strstr(err.msg, "cannot create temporary file") != NULL,
                      "%s", tu_errstr(&err));
        sha_of(path, after);
        ck_assert_str_eq(before, after);
        cpo_dataset_free(ds);
    }

    /* The rename fails (the target is a non-empty directory): the temp
     * file goes away and the directory stays. */
    char *blocker = tu_path(dir, "blocked.h5"), *inside = tu_path(blocker, "x");
    ck_assert_int_eq(mkdir(blocker, 0755), 0);
    tu_write_file(inside, "x");
    ds = build_dataset();
    rc = cpo_store_write(ds, blocker, &err);
    ck_assert_int_eq(rc, CPO_EIO);
    ck_assert_msg(strstr(err.msg, "cannot rename") != NULL, "%s", tu_errstr(&err));
    ck_assert_int_eq(count_other_files(dir, "keep.h5"), 1); /* blocked.h5 only */
    cpo_dataset_free(ds);

    /* A directory that does not exist. */
    ds = build_dataset();
    char *nowhere = tu_path(dir, "no/such/dir.h5");
    ck_assert_int_eq(cpo_store_write(ds, nowhere, &err), CPO_EIO);
    cpo_dataset_free(ds);

    free(nowhere);
    free(inside);
    free(blocker);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- bad stores ------------------------------------------------------------ */

START_TEST(test_read_missing_file)
{
    cpo_dataset *ds = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_store_read(&ds, "/nonexistent/store.h5", &err), CPO_EIO);
    ck_assert_ptr_null(ds);
    ck_assert_str_eq(err.path, "/nonexistent/store.h5");
}
END_TEST

START_TEST(test_read_not_hdf5)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "prices.csv");
    tu_write_file(path, "ts,open,high,low,close\n1,2,3,4,5\n");
    expect_store_error(path, "not an HDF5 file");
    tu_write_file(path, ""); /* empty file */
    expect_store_error(path, "not an HDF5 file");
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_truncated)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "full.h5");
    char *cut = tu_path(dir, "cut.h5");
    size_t len = 0;
    char *bytes = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_gt(len, 100000);
    /* Truncations at several places: inside the superblock, in the
     * metadata, in the middle of the raw data, one byte short. */
    const size_t at[] = {16, 1000, 5000, len / 3, len / 2, len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        FILE *f = fopen(cut, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(truncate(cut, (off_t)at[i]), 0);
        cpo_dataset *ds = NULL;
        cpo_error err;
        int rc = cpo_store_read(&ds, cut, &err);
        ck_assert_msg(rc == CPO_ESTORE, "cut at %zu: rc %d (%s)", at[i], rc,
                      tu_errstr(&err));
        ck_assert_ptr_null(ds);
    }
    /* HDF5 notices the end of file is before the recorded end. */
    expect_store_error(cut, "cannot open the HDF5 file: truncated file");
    free(bytes);
    free(cut);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_missing_column)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "m.h5");
    hid_t fid = h5_open_rw(path);
    ck_assert_int_ge(H5Ldelete(fid, "/bars/BTC%2FUSD/close", H5P_DEFAULT), 0);
    H5Fclose(fid);
    expect_store_error(path, "missing dataset /bars/BTC%2FUSD/close");
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_missing_group)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "g.h5");
    hid_t fid = h5_open_rw(path);
    ck_assert_int_ge(H5Ldelete(fid, "/funding/BTCUSDT", H5P_DEFAULT), 0);
    H5Fclose(fid);
    expect_store_error(path, "missing group /funding/BTCUSDT");
    fid = h5_open_rw(path);
    ck_assert_int_ge(H5Ldelete(fid, "/instruments", H5P_DEFAULT), 0);
    H5Fclose(fid);
    expect_store_error(path, "missing dataset /instruments");
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_length_mismatch)
{
    char *dir = tu_tmpdir();
    /* BTC/USD has 11 bars (build_dataset); make its volume 10 long. */
    double vol[10] = {0};
    expect_damaged(dir, "/bars/BTC%2FUSD/volume", H5T_NATIVE_DOUBLE, 10, vol,
                   "/bars/BTC%2FUSD/volume has 10 rows (expected 11, as /bars/BTC%2FUSD/ts)");
    /* A chain column of the wrong length too. */
    int8_t right[3] = {1, 2, 1};
    expect_damaged(dir, "/chains/BTC/right", H5T_NATIVE_INT8, 3, right,
                   "/chains/BTC/right has 3 rows (expected 70000");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_wrong_type)
{
    char *dir = tu_tmpdir();
    int64_t ints[11] = {0};
    expect_damaged(dir, "/bars/BTC%2FUSD/close", H5T_NATIVE_INT64, 11, ints,
                   "/bars/BTC%2FUSD/close is not a 64-bit float");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_version_too_new)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "v.h5");
    int32_t v = 2;
    hid_t fid = h5_open_rw(path);
    hid_t a = H5Aopen(fid, "cpo_store_version", H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT32, &v), 0);
    H5Aclose(a);
    H5Fclose(fid);
    expect_store_error(path, "store version 2, written by cpo " CPO_VERSION
                             ", is too new (expected version 1 or older");
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Make obj a chunked, deflated 1-D dataset of `rows` doubles (chunks of
 * `chunk` rows, growable), with only the first `n` of them written. */
static void h5_put_chunked(hid_t fid, const char *obj, hsize_t rows, hsize_t chunk,
                           size_t n, const double *data)
{
    hsize_t dims[1] = {rows}, maxd[1] = {H5S_UNLIMITED}, cd[1] = {chunk};
    if (H5Lexists(fid, obj, H5P_DEFAULT) > 0)
        ck_assert_int_ge(H5Ldelete(fid, obj, H5P_DEFAULT), 0);
    hid_t sp = H5Screate_simple(1, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 1, cd), 0);
    ck_assert_int_ge(H5Pset_deflate(dcpl, 4), 0);
    hid_t d = H5Dcreate2(fid, obj, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    if (n > 0) {
        hsize_t start[1] = {0}, count[1] = {n};
        hid_t mem = H5Screate_simple(1, count, NULL);
        ck_assert_int_ge(H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL), 0);
        ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, mem, sp, H5P_DEFAULT, data), 0);
        H5Sclose(mem);
    }
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

/* A valid store (write_valid_store) whose BTC/USD close is h5_put_chunked's
 * dataset, with the first n of 1, 2, ..., 11 written. */
static char *store_chunked_close(const char *dir, const char *name, hsize_t rows,
                                 hsize_t chunk, size_t n)
{
    static const double v[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    char *path = write_valid_store(dir, name);
    hid_t fid = h5_open_rw(path);
    h5_put_chunked(fid, "/bars/BTC%2FUSD/close", rows, chunk, n, v);
    H5Fclose(fid);
    return path;
}

/*
 * Sizes a damaged file gives that libhdf5 would allocate before it reads:
 * refused with a message before any H5Dread.
 */
START_TEST(test_read_sizes_beyond_file)
{
    /* Found by fuzz_store: a deflated chunk of /instruments whose index entry
     * says 2,488,533,099 bytes in a 45,130-byte file; H5Dread allocated the
     * 2.4 GB before finding the file short. */
    expect_store_error(CPO_SOURCE_DIR "/tests/fuzz/regress/store/hdf5_filtered_chunk_claims_2gb",
                       "/instruments has chunks of 2488533099 bytes in all in a file of "
                       "45130 bytes");

    char *dir = tu_tmpdir();
    /* 10^9 rows with no chunk written: they would read as 8 GB of fill. */
    char *path = store_chunked_close(dir, "fill.h5", 1000000000, 65536, 0);
    expect_store_error(path, "/bars/BTC%2FUSD/close has 1000000000 rows of 8 bytes in 0 "
                             "stored bytes (expected at most 1100 times");
    free(path);

    /* Chunks of 10^7 doubles (80 MB, over the 64 MiB limit), 11 rows used:
     * cpo writes at most 512 KiB. */
    path = store_chunked_close(dir, "chunk.h5", 11, 10000000, 11);
    expect_store_error(path, "/bars/BTC%2FUSD/close has chunks of 10000000 rows of 8 bytes "
                             "(expected at most 67108864 bytes a chunk)");
    free(path);

    /* The same 11 rows in ordinary chunks read (the control). */
    path = store_chunked_close(dir, "ok.h5", 11, 4, 11);
    cpo_dataset *ds = NULL;
    cpo_error err;
    ck_assert_msg(cpo_store_read(&ds, path, &err) == 0, "%s", tu_errstr(&err));
    cpo_dataset_free(ds);
    free(path);

    /* Rows of 5,000 bytes: a string column no cpo table has. */
    path = write_valid_store(dir, "row.h5");
    hid_t fid = h5_open_rw(path);
    hid_t st = H5Tcopy(H5T_C_S1);
    ck_assert_int_ge(H5Tset_size(st, 5000), 0);
    static char wide[2][5000];
    h5_put(fid, "/instruments", st, 2, wide);
    H5Tclose(st);
    H5Fclose(fid);
    expect_store_error(path, "/instruments has rows of 5000 bytes (expected at most 4096");
    free(path);

    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_read_plain_hdf5)
{
    /* An HDF5 file that is not a cpo store. */
    char *dir = tu_tmpdir(), *path = tu_path(dir, "other.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(fid, 0);
    double x[2] = {1, 2};
    h5_put(fid, "/x", H5T_NATIVE_DOUBLE, 2, x);
    H5Fclose(fid);
    expect_store_error(path, "no cpo_store_version attribute");
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- mark_high and mark_low: optional columns ------------------------------- */

/* Stores written before the columns existed (the fuzz seeds of
 * tests/fuzz/corpus/store/, written by cpo before binance-mark-klines)
 * load as before, with no mark high/low; so does a store whose columns
 * were removed. */
START_TEST(test_read_store_without_mark_hl)
{
    static const char *const old[] = {"plain_1instr.h5", "deflate_spot_perp.h5",
                                      "repacked_latest.h5"};
    for (size_t f = 0; f < 3; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/store/%s", CPO_SOURCE_DIR, old[f]);
        cpo_dataset *ds = NULL;
        cpo_error err;
        ck_assert_msg(cpo_store_read(&ds, path, &err) == 0, "%s", tu_errstr(&err));
        ck_assert_uint_ge(ds->n_instr, 1);
        size_t bars = 0;
        for (size_t i = 0; i < ds->n_instr; i++) {
            ck_assert_ptr_null(ds->bars[i].mark_high);
            ck_assert_ptr_null(ds->bars[i].mark_low);
            bars += ds->bars[i].n;
        }
        ck_assert_uint_gt(bars, 0);
        cpo_dataset_free(ds);
    }
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "old.h5");
    hid_t fid = h5_open_rw(path);
    ck_assert_int_ge(H5Ldelete(fid, "/bars/BTCUSDT/mark_high", H5P_DEFAULT), 0);
    ck_assert_int_ge(H5Ldelete(fid, "/bars/BTCUSDT/mark_low", H5P_DEFAULT), 0);
    H5Fclose(fid);
    cpo_dataset *back = NULL, *ds = build_dataset();
    cpo_error err;
    ck_assert_msg(cpo_store_read(&back, path, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_ptr_null(back->bars[0].mark_high);
    ck_assert_ptr_null(back->bars[0].mark_low);
    /* everything else as written */
    free(ds->bars[0].mark_high);
    free(ds->bars[0].mark_low);
    ds->bars[0].mark_high = ds->bars[0].mark_low = NULL;
    assert_same(ds, back);
    cpo_dataset_free(back);
    /* Only one of the two: the other reads as NaN. */
    free(path);
    path = write_valid_store(dir, "half.h5");
    fid = h5_open_rw(path);
    ck_assert_int_ge(H5Ldelete(fid, "/bars/BTCUSDT/mark_low", H5P_DEFAULT), 0);
    H5Fclose(fid);
    ck_assert_msg(cpo_store_read(&back, path, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_ptr_nonnull(back->bars[0].mark_low);
    for (size_t k = 0; k < back->bars[0].n; k++)
        ck_assert(isnan(back->bars[0].mark_low[k]));
    ck_assert(back->bars[0].mark_high[1] > 0);
    cpo_dataset_free(back);
    cpo_dataset_free(ds);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* When they are there, they are checked like every column. */
START_TEST(test_read_bad_mark_hl)
{
    char *dir = tu_tmpdir();
    /* BTC/USD (11 bars, no mark klines) given a mark_high of 10 rows */
    double v[10] = {0};
    expect_damaged(dir, "/bars/BTC%2FUSD/mark_high", H5T_NATIVE_DOUBLE, 10, v,
                   "/bars/BTC%2FUSD/mark_high has 10 rows (expected 11, as /bars/BTC%2FUSD/ts)");
    int64_t ints[11] = {0};
    expect_damaged(dir, "/bars/BTC%2FUSD/mark_low", H5T_NATIVE_INT64, 11, ints,
                   "/bars/BTC%2FUSD/mark_low is not a 64-bit float");
    /* 10^9 rows with no chunk written: the size checks hold for them too. */
    char *path = write_valid_store(dir, "fill.h5");
    hid_t fid = h5_open_rw(path);
    h5_put_chunked(fid, "/bars/BTC%2FUSD/mark_high", 1000000000, 65536, 0, v);
    H5Fclose(fid);
    expect_store_error(path, "/bars/BTC%2FUSD/mark_high has 1000000000 rows of 8 bytes in 0 "
                             "stored bytes (expected at most 1100 times");
    /* A group where a column should be. */
    free(path);
    path = write_valid_store(dir, "grp.h5");
    fid = h5_open_rw(path);
    hid_t g = H5Gcreate2(fid, "/bars/BTC%2FUSD/mark_low", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    H5Gclose(g);
    H5Fclose(fid);
    expect_store_error(path, "/bars/BTC%2FUSD/mark_low");
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- info ------------------------------------------------------------------ */

/* The line of text that starts (after spaces) with key. */
static const char *line_of(const char *text, const char *key)
{
    for (const char *p = text; p && *p;) {
        const char *s = p;
        while (*s == ' ')
            s++;
        if (!strncmp(s, key, strlen(key)) && s[strlen(key)] == ' ')
            return p;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

/* Does the line at p (up to its newline) contain the words of want, in
 * order, separated by any amount of space? */
static int line_has(const char *p, const char *want)
{
    char line[512], words[256];
    size_t n = strcspn(p, "\n");
    snprintf(line, sizeof line, "%.*s", (int)n, p);
    snprintf(words, sizeof words, "%s", want);
    const char *at = line;
    for (char *w = strtok(words, " "); w; w = strtok(NULL, " ")) {
        at = strstr(at, w);
        if (!at)
            return 0;
        at += strlen(w);
    }
    return 1;
}

START_TEST(test_info)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "info.h5");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cpo_error err;
    ck_assert_ptr_nonnull(out);
    int rc = cpo_store_info(path, out, &err);
    fclose(out);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    const char *l;
    /* BTCUSDT: 150,000 hourly bars from T0, none missing; its last bar is
     * T0 + 149,999 h = 2041-02-09T23:00:00Z (`date -u -d @$((1704067200 +
     * 149999*3600))`). */
    ck_assert_ptr_nonnull(l = line_of(text, "BTCUSDT"));
    ck_assert_msg(line_has(l, "perp linear binance 150000 2024-01-01T00:00:00Z "
                              "2041-02-09T23:00:00Z 1h 0 0"), "%s", text);
    /* BTC/USD: 11 bars, one 4 h spacing = 1 gap of 3 missing bars. */
    ck_assert_ptr_nonnull(l = line_of(text, "BTC/USD"));
    ck_assert_msg(line_has(l, "spot linear coinbase 11 2024-01-01T00:00:00Z "
                              "2024-01-01T13:00:00Z 1h 1 3"), "%s", text);
    /* No bar_ms: the median spacing (1 minute), marked as inferred. */
    ck_assert_ptr_nonnull(l = line_of(text, "100%.odd/sym"));
    ck_assert_msg(line_has(l, "3 ~1m 0 0"), "%s", text);
    /* Funding: 500 events 8 h apart from T0; last T0 + 499*8 h
     * = 2024-06-15T08:00:00Z. */
    ck_assert_ptr_nonnull(strstr(text, "funding (1)"));
    l = strstr(text, "funding (1)");
    ck_assert_ptr_nonnull(l = line_of(l, "BTCUSDT"));
    ck_assert_msg(line_has(l, "500 2024-01-01T00:00:00Z 2024-06-15T08:00:00Z 8h"),
                  "%s", text);
    /* Chain BTC: 70,000 rows, 100 per hour -> 700 snapshots, 4 expiries. */
    ck_assert_ptr_nonnull(l = line_of(text, "BTC"));
    ck_assert_msg(line_has(l, "70000 700 4 2024-01-01T00:00:00Z"), "%s", text);
    ck_assert_ptr_nonnull(l = line_of(text, "BTC-DVOL"));
    ck_assert_msg(line_has(l, "400 2024-01-01T00:00:00Z"), "%s", text);
    /* Mark-price klines: BTCUSDT's high and low on the bars k % 5 != 0 of
     * 150,000 (120,000), the first at k = 1, the last at k = 149,999. */
    ck_assert_ptr_nonnull(l = strstr(text, "mark price klines (1)"));
    ck_assert_ptr_nonnull(l = line_of(l, "BTCUSDT"));
    ck_assert_msg(line_has(l, "120000 of 150000 2024-01-01T01:00:00Z 2041-02-09T23:00:00Z"),
                  "%s", text);
    /* The future ".hidden" has no expiry and no underlying; inverse, 1 USDT
     * a contract (its quote). */
    ck_assert_ptr_nonnull(l = strstr(text, "\nfutures (1)\n"));
    ck_assert_ptr_nonnull(l = line_of(l, ".hidden"));
    ck_assert_msg(line_has(l, "- none 1 USDT inverse"), "%s", text);
    /* Caps: 300 rows, 3 weekly snapshots. */
    ck_assert_msg(strstr(text, "market caps: 300 rows, 3 snapshots") != NULL,
                  "%s", text);
    /* Provenance: first 12 hex of the digest, rows, import time T0+12.345 s. */
    ck_assert_ptr_nonnull(l = line_of(text, "/data/binance/BTCUSDT-1h-2024.csv"));
    ck_assert_msg(line_has(l, "e3b0c44298fc binance-klines BTCUSDT 150001 150000 "
                              "2024-01-01T00:00:12.345Z"), "%s", text);
    free(text);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Dated futures keep their expiry and contract terms through the store,
 * and `cpo data info` lists them (terms as README "Dated futures" gives
 * them: Binance USD-M 1 coin, Deribit BTC 10 USD). */
START_TEST(test_futures_round_trip_and_info)
{
    cpo_dataset *ds = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    const int64_t exp = INT64_C(1774598400000); /* 2026-03-27T08:00:00Z */
    static const struct {
        const char *sym, *quote;
        cpo_settle settle;
        double size;
    } fut[] = {{"BTCUSDT_260327", "USDT", CPO_SETTLE_LINEAR, 1},
               {"BTC-27MAR26", "USD", CPO_SETTLE_INVERSE, 10}};
    for (size_t k = 0; k < 2; k++) {
        cpo_instrument in;
        size_t i;
        cpo_instrument_init(&in, fut[k].sym, CPO_KIND_FUTURE, fut[k].settle);
        snprintf(in.base, sizeof in.base, "BTC");
        snprintf(in.underlying, sizeof in.underlying, "BTC");
        snprintf(in.quote, sizeof in.quote, "%s", fut[k].quote);
        snprintf(in.exchange, sizeof in.exchange, k ? "deribit" : "binance");
        in.expiry_ms = exp;
        in.contract_size = fut[k].size;
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &i, &err), 0);
        ds->bars[i].bar_ms = CPO_MS_HOUR;
        ck_assert_int_eq(cpo_bars_append(&ds->bars[i], exp - CPO_MS_HOUR, 87000, 87100, 86900,
                                         87050, 1, NAN, NAN, NAN, 87040),
                         0);
    }
    char *dir = tu_tmpdir(), *path = tu_path(dir, "futures.h5");
    ck_assert_msg(cpo_store_write(ds, path, &err) == 0, "%s", tu_errstr(&err));
    cpo_dataset *back = NULL;
    ck_assert_msg(cpo_store_read(&back, path, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_uint_eq(back->n_instr, 2);
    for (size_t k = 0; k < 2; k++) {
        const cpo_instrument *a = &ds->instr[k], *b = &back->instr[k];
        ck_assert_str_eq(b->symbol, a->symbol);
        ck_assert_int_eq(b->kind, CPO_KIND_FUTURE);
        ck_assert_int_eq(b->settle, a->settle);
        ck_assert_int_eq(b->expiry_ms, exp);
        ck_assert_double_eq(b->contract_size, a->contract_size);
        ck_assert_str_eq(b->underlying, "BTC");
        ck_assert_str_eq(b->quote, a->quote);
        ck_assert_int_eq(back->bars[k].ts[0], exp - CPO_MS_HOUR);
        ck_assert_double_eq(back->bars[k].index[0], 87040);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_int_eq(cpo_store_info(path, out, &err), 0);
    fclose(out);
    const char *l = strstr(text, "\nfutures (2)\n");
    ck_assert_msg(l != NULL, "%s", text);
    ck_assert_ptr_nonnull(l = line_of(l, "BTCUSDT_260327"));
    ck_assert_msg(line_has(l, "BTC 2026-03-27T08:00:00Z 1 BTC linear"), "%s", text);
    l = strstr(text, "\nfutures (2)\n");
    ck_assert_ptr_nonnull(l = line_of(l, "BTC-27MAR26"));
    ck_assert_msg(line_has(l, "BTC 2026-03-27T08:00:00Z 10 USD inverse"), "%s", text);
    free(text);
    cpo_dataset_free(back);
    cpo_dataset_free(ds);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Timestamps at the ends of int64: the spacings are held to the range
 * (found by fuzz_store: INT64_MIN then 9.2e18 overflowed ts[k] - ts[k-1]). */
START_TEST(test_info_extreme_times)
{
    char *dir = tu_tmpdir(), *path = write_valid_store(dir, "ends.h5");
    int64_t ts[11];
    for (int i = 0; i < 10; i++)
        ts[i] = INT64_MIN + (int64_t)i * CPO_MS_HOUR;
    ts[10] = INT64_MAX;
    hid_t fid = h5_open_rw(path);
    h5_put(fid, "/bars/BTC%2FUSD/ts", H5T_NATIVE_INT64, 11, ts);
    H5Fclose(fid);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    cpo_error err;
    int rc = cpo_store_info(path, out, &err);
    fclose(out);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&err));
    /* One gap; its spacing is held at INT64_MAX ms, so the missing bars are
     * 9223372036854775807 / 3600000 - 1 = 2562047788014. */
    const char *l = line_of(text, "BTC/USD");
    ck_assert_ptr_nonnull(l);
    ck_assert_msg(line_has(l, "1h 1 2562047788014"), "%s", text);
    free(text);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_info_bad_store)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "x.h5");
    cpo_error err;
    tu_write_file(path, "not a store");
    FILE *out = tmpfile();
    ck_assert_int_eq(cpo_store_info(path, out, &err), CPO_ESTORE);
    fclose(out);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_sha256_padding_boundaries);
    tcase_add_test(tc, test_sha256_missing_file);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_chunks_compressed_as_hdf5_does);
    tcase_add_test(tc, test_read_damaged_chunk);
    tcase_add_test(tc, test_round_trip_empty);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_failed_write_keeps_old_file);
    tcase_add_test(tc, test_read_missing_file);
    tcase_add_test(tc, test_read_not_hdf5);
    tcase_add_test(tc, test_read_truncated);
    tcase_add_test(tc, test_read_missing_column);
    tcase_add_test(tc, test_read_missing_group);
    tcase_add_test(tc, test_read_length_mismatch);
    tcase_add_test(tc, test_read_wrong_type);
    tcase_add_test(tc, test_read_version_too_new);
    tcase_add_test(tc, test_read_sizes_beyond_file);
    tcase_add_test(tc, test_read_plain_hdf5);
    tcase_add_test(tc, test_read_store_without_mark_hl);
    tcase_add_test(tc, test_read_bad_mark_hl);
    tcase_add_test(tc, test_info);
    tcase_add_test(tc, test_futures_round_trip_and_info);
    tcase_add_test(tc, test_info_extreme_times);
    tcase_add_test(tc, test_info_bad_store);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
