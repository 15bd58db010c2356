/*
 * cpo/dataset.h - a dataset: what one store file holds.
 *
 * Per instrument, bars and funding events on the instrument's own time
 * stamps; option chains as long tables; implied-vol indices (DVOL);
 * market-cap snapshots; and the provenance of every imported file.
 * Every series is a structure of arrays, sorted by time, strictly
 * increasing (chains: sorted by time, then by instrument name).  NaN
 * means missing, always.
 *
 * Ownership: a cpo_dataset owns every array it points to.  The series
 * structs are embedded (init/fini), the dataset is allocated (new/free).
 */
#ifndef CPO_DATASET_H
#define CPO_DATASET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/error.h"
#include "cpo/hash.h" /* cpo_sha256_file, once declared here */
#include "cpo/instrument.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * OHLCV bars of one instrument; ts is the bar's open time (UTC ms).
 * open..close and volume are the last trade's; mark, mark_high and
 * mark_low the mark price's (binance-mark-klines): its close, high and low
 * over the bar.
 *
 * mark_high and mark_low are allocated only when the series has a value
 * in them: both are NULL when every value would be NaN (no mark-price
 * klines), so a store without them costs neither memory nor load time.
 * Read a NULL one as NaN; cpo_bars_append and cpo_bars_alloc_mark_hl
 * allocate them (both at once, NaN-filled) when a value comes.
 */
typedef struct cpo_bars {
    size_t n, cap;
    int64_t bar_ms;  /* bar spacing; 0 if not known */
    int64_t *ts;
    double *open, *high, *low, *close;
    double *volume;  /* base units; NaN if not given */
    double *mark;    /* mark price at the bar's close; NaN where the source has none */
    double *index;   /* index price; NaN where the source has none */
    double *mark_high, *mark_low; /* the mark's high and low over the bar; NaN
                                     where the source has none; both NULL when
                                     none has any (see above) */
} cpo_bars;

/* Realised funding events of one perpetual. */
typedef struct cpo_funding {
    size_t n, cap;
    int64_t interval_ms; /* nominal spacing: 8h (Binance), 1h (Deribit) */
    int64_t *ts;         /* event time (UTC ms) as the exchange stamps it */
    double *rate;        /* decimal per interval; > 0: longs pay shorts */
    double *mark;        /* mark price at the event; NaN if not given */
    double *index;       /* index price at the event; NaN if not given */
} cpo_funding;

/* Option chain snapshots of one underlying, as a long table. */
typedef struct cpo_chain {
    char underlying[CPO_CCY_MAX]; /* "BTC" */
    size_t n, cap;
    int64_t *ts;        /* snapshot (quote) time, UTC ms */
    int64_t *expiry_ms; /* expiry, UTC ms (Deribit: 08:00) */
    double *strike;     /* USD */
    int8_t *right;      /* cpo_right */
    double *mark_px;    /* coin per option for inverse (Deribit) options */
    double *bid_px;     /* coin; NaN if no bid */
    double *ask_px;     /* coin; NaN if no ask */
    double *mark_iv;    /* decimal (0.45 = 45%), whatever the source used */
    double *fwd_px;     /* the forward the exchange used for this expiry, USD */
    double *index_px;   /* spot index, USD */
    double *delta;      /* exchange delta; NaN if not given */
    double *vega;       /* exchange vega (USD per vol point); NaN if not given */
    double *open_interest; /* contracts */
    char (*name)[CPO_SYMBOL_MAX]; /* "BTC-28JUN24-70000-C" */
} cpo_chain;

/* An implied-volatility index (Deribit DVOL): daily OHLC in vol points. */
typedef struct cpo_ivindex {
    char name[CPO_SYMBOL_MAX]; /* "BTC-DVOL" */
    size_t n, cap;
    int64_t *ts;
    double *open, *high, *low, *close; /* annualised vol in percent */
} cpo_ivindex;

/* Market-cap snapshots (CoinMarketCap), a long table sorted by ts, rank. */
typedef struct cpo_caps {
    size_t n, cap;
    int64_t *ts;
    int32_t *rank;
    double *market_cap;  /* USD */
    double *price;       /* USD */
    double *supply;      /* circulating supply */
    double *volume_24h;  /* USD */
    char (*symbol)[CPO_CCY_MAX];
    char (*name)[CPO_SYMBOL_MAX];
} cpo_caps;

/* Where a piece of the dataset came from. */
typedef struct cpo_provenance {
    char source[512];          /* the path as given to the importer */
    char sha256[65];           /* hex digest of the file's bytes */
    char format[32];           /* "binance-klines", ... */
    char target[CPO_SYMBOL_MAX]; /* symbol, underlying or index name */
    int64_t rows_read;         /* data rows in the file */
    int64_t rows_kept;         /* rows that made it into the dataset */
    int64_t import_ms;         /* when it was imported (UTC ms) */
    char options[512];         /* the options used, "key=value ..." */
} cpo_provenance;

typedef struct cpo_dataset {
    size_t n_instr, cap_instr;
    cpo_instrument *instr; /* [n_instr] */
    cpo_bars *bars;        /* [n_instr]: bars of instr[i]; n == 0 if none */
    cpo_funding *funding;  /* [n_instr]: funding of instr[i]; n == 0 if none */
    size_t n_chains, cap_chains;
    cpo_chain *chains;
    size_t n_iv, cap_iv;
    cpo_ivindex *iv;
    cpo_caps caps;
    size_t n_prov, cap_prov;
    cpo_provenance *prov;
} cpo_dataset;

/* --- series: init, reserve (grow to at least cap), append, fini --------- */

void cpo_bars_init(cpo_bars *b);
int cpo_bars_reserve(cpo_bars *b, size_t cap);
/* mark_high and mark_low NaN leave b->mark_high and b->mark_low as they
 * are (NULL stays NULL); a value allocates them. */
int cpo_bars_append(cpo_bars *b, int64_t ts, double open, double high,
                    double low, double close, double volume, double mark,
                    double mark_high, double mark_low, double index);
/* Give b its mark_high and mark_low arrays (cap values, NaN) if they are
 * NULL; 0 or CPO_ENOMEM (nothing changed). */
int cpo_bars_alloc_mark_hl(cpo_bars *b);
void cpo_bars_fini(cpo_bars *b);

void cpo_funding_init(cpo_funding *f);
int cpo_funding_reserve(cpo_funding *f, size_t cap);
int cpo_funding_append(cpo_funding *f, int64_t ts, double rate, double mark,
                       double index);
void cpo_funding_fini(cpo_funding *f);

void cpo_chain_init(cpo_chain *c, const char *underlying);
int cpo_chain_reserve(cpo_chain *c, size_t cap);
/* Append one empty row (all NaN, right NONE, name "") and return its
 * index in *row; the caller fills the columns. */
int cpo_chain_append_row(cpo_chain *c, size_t *row);
/* Stable sort by (ts, name). */
int cpo_chain_sort(cpo_chain *c);
void cpo_chain_fini(cpo_chain *c);

void cpo_ivindex_init(cpo_ivindex *v, const char *name);
int cpo_ivindex_append(cpo_ivindex *v, int64_t ts, double open, double high,
                       double low, double close);
void cpo_ivindex_fini(cpo_ivindex *v);

void cpo_caps_init(cpo_caps *c);
int cpo_caps_append(cpo_caps *c, int64_t ts, int32_t rank, const char *symbol,
                    const char *name, double market_cap, double price,
                    double supply, double volume_24h);
void cpo_caps_fini(cpo_caps *c);

/* --- the dataset --------------------------------------------------------- */

int cpo_dataset_new(cpo_dataset **out, cpo_error *err);
void cpo_dataset_free(cpo_dataset *ds); /* NULL is a no-op */

/* Index of the instrument with this symbol, or -1. */
long cpo_dataset_find(const cpo_dataset *ds, const char *symbol);

/* Add an instrument (copied), or return the existing one with the same
 * symbol if its kind and settlement agree (CPO_EINVAL if not). */
int cpo_dataset_add(cpo_dataset *ds, const cpo_instrument *in, size_t *idx,
                    cpo_error *err);

/* The chain of an underlying, created empty if absent. */
int cpo_dataset_chain(cpo_dataset *ds, const char *underlying,
                      cpo_chain **out, cpo_error *err);

/* The IV index of this name, created empty if absent. */
int cpo_dataset_ivindex(cpo_dataset *ds, const char *name, cpo_ivindex **out,
                        cpo_error *err);

int cpo_dataset_add_provenance(cpo_dataset *ds, const cpo_provenance *p,
                               cpo_error *err);

/*
 * A part of ds as a table of views into ds's arrays (cpo/table.h: no copy
 * but the names of enumerations; ds must outlive the table, which belongs
 * to the caller):
 *
 *   "instruments"   symbol, exchange, base, quote, underlying, kind, settle,
 *                   contract_size, tick_size, lot_size, strike, expiry,
 *                   right, funding_interval_ms (name unused)
 *   "bars"          ts, open, high, low, close, volume, mark, index of the
 *                   instrument name, then mark_high, mark_low when it has
 *                   mark-price klines (the arrays are not NULL)
 *   "funding"       ts, rate, mark, index of the perpetual name
 *   "chain"         ts, expiry, strike, right, name, mark_px, bid_px, ask_px,
 *                   mark_iv, fwd_px, index_px, delta, vega, open_interest of
 *                   the underlying name ("BTC")
 *   "ivindex"       ts, open, high, low, close of the index name ("BTC-DVOL")
 *   "caps"          ts, rank, symbol, name, market_cap, price, supply,
 *                   volume_24h
 *   "provenance"    source, sha256, format, target, rows_read, rows_kept,
 *                   import_time, options
 *
 * CPO_ENOTFOUND names what the store has when name is not there (bars and
 * funding: an instrument without rows is not there); CPO_EINVAL for an
 * unknown part.
 */
struct cpo_table;
int cpo_dataset_table(struct cpo_table **out, const cpo_dataset *ds, const char *part,
                      const char *name, cpo_error *err);

/* --- the HDF5 store ------------------------------------------------------- */

/*
 * Write ds to path: to "path.tmp.<pid>" first, renamed over path when the
 * file is whole and closed.  Bars, funding, chains and indices are chunked
 * and deflate-compressed.
 */
int cpo_store_write(const cpo_dataset *ds, const char *path, cpo_error *err);

/* How a store is written. */
typedef struct cpo_store_opts {
    int deflate; /* 0: columns uncompressed (fastest load); 1..9: shuffle +
                    deflate at that level (default 4: smaller files, load
                    bound by zlib at about 0.3 GB/s per core) */
    const volatile sig_atomic_t *cancel; /* NULL, or a flag (a signal
                    handler's): once set, the write stops with CPO_EINTR
                    before the rename and removes its temporary file */
    int hdf5_filters; /* 1: HDF5's filter pipeline compresses, on one core;
                    0 (default): cpo compresses the chunks of a column on
                    every core, to the same bytes (only the rows past the
                    end of a last chunk may differ: cpo's are zeros) */
} cpo_store_opts;

void cpo_store_opts_init(cpo_store_opts *o);
int cpo_store_write_opts(const cpo_dataset *ds, const char *path,
                         const cpo_store_opts *o, cpo_error *err);

/* Read a whole store.  *out belongs to the caller (cpo_dataset_free). */
int cpo_store_read(cpo_dataset **out, const char *path, cpo_error *err);

/* Print what a store holds: instruments, date ranges, frequencies, gaps,
 * row counts and sizes on disk, then the provenance table. */
int cpo_store_info(const char *path, FILE *out, cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
