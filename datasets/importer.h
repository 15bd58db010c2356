/*
 * importer.h - the contract between cpo_import_file (import.c) and the
 * per-format readers (read_*.c).  Private to libcpo.
 *
 * A reader parses one file into the staging area of the context and
 * nothing else: it never touches the dataset.  import.c then validates
 * the staged series (order, duplicates, gaps, OHLC sanity, partial last
 * bar), merges it into the dataset and records provenance.
 *
 * Problems are reported with the exact message form
 *     path:line:col: what is wrong (what was expected)
 * where col is the 1-based CSV field number.
 */
#ifndef CPO_IMPORTER_H
#define CPO_IMPORTER_H

#include "cpo/import.h"
#include "csvread.h"

typedef enum cpo_stage_kind {
    CPO_STAGE_NONE = 0,
    CPO_STAGE_BARS,    /* instr + bars */
    CPO_STAGE_FUNDING, /* instr + funding */
    CPO_STAGE_CHAIN,   /* chain */
    CPO_STAGE_IV,      /* iv */
    CPO_STAGE_CAPS,    /* caps */
    CPO_STAGE_MARK,    /* instr (its symbol) + bars holding the mark price's
                          OHLC (volume NaN), checked like bars, then attached
                          to that instrument's bars as mark (the close),
                          mark_high and mark_low */
    CPO_STAGE_SETS     /* sets: the bars of several instruments */
} cpo_stage_kind;

/* CPO_STAGE_SETS (deribit-chain-futures): one instrument's bars among
 * several a file holds.  Each set is checked like staged bars and merged
 * into its own series; the import takes every set or none. */
typedef struct cpo_bar_set {
    cpo_instrument instr;
    cpo_bars bars;
    long *line; /* [bars.n] source line of each bar */
} cpo_bar_set;

typedef enum cpo_ts_unit {
    CPO_TS_AUTO = 0, /* all digits: ms if >= 1e11, else seconds; otherwise ISO */
    CPO_TS_MS,
    CPO_TS_SEC,
    CPO_TS_ISO       /* naive times are in the declared zone (opts->tz) */
} cpo_ts_unit;

typedef struct cpo_import_ctx {
    const char *path;
    const cpo_import_opts *o;
    cpo_import_report *rep; /* never NULL */
    cpo_error *err;         /* may be NULL */
    cpo_stage_kind stage;   /* what the reader staged */
    cpo_instrument instr;   /* BARS/FUNDING: the instrument the rows belong to;
                               MARK: the symbol of the one they attach to */
    cpo_bars bars;
    cpo_funding funding;
    cpo_chain chain;
    cpo_ivindex iv;
    cpo_caps caps;
    long *line;             /* source line of each staged row, in order */
    size_t n_line, cap_line;
    /* 1-based source columns of the staged values, used in the messages of
     * the checks import.c runs after the reader (0: not known): the time
     * stamp and, for bars and IV indices, OHLC and volume. */
    int col_ts, col_open, col_high, col_low, col_close, col_volume;
    /* Fields of the header line (0: not known): a row with more, other
     * than blank ones at its end, is a problem (cpo_import_width). */
    size_t header_fields;
    /* FUNDING: the nominal interval from each time on, where the file says
     * it (BitMEX fundingInterval): the gap check expects the interval in
     * force at each row rather than the median spacing.  In file order. */
    size_t n_regimes;
    int64_t regime_from[8], regime_iv[8];
    /* SETS: the instruments' bars (owned; import.c frees them). */
    cpo_bar_set *sets;
    size_t n_sets;
} cpo_import_ctx;

/*
 * A problem in the data.  Strict: fills err with path:line:col and the
 * message and returns the (negative) code; the reader must stop and
 * return it.  Lenient: records a CPO_ISSUE_REPAIRED issue and returns 0;
 * the reader repairs or drops the row (say which in the message, e.g.
 * "...; row dropped").
 */
int cpo_import_problem(cpo_import_ctx *c, int code, long line, long col,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* A fatal problem in either mode (missing column, unreadable file). */
int cpo_import_fail(cpo_import_ctx *c, int code, long line, long col,
                    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Record an issue that never fails the import (info, warning). */
void cpo_import_note(cpo_import_ctx *c, cpo_issue_level level, int code,
                     long line, long col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Remember the source line of the row just staged (call once per row). */
int cpo_import_push_line(cpo_import_ctx *c, long line);

/*
 * A piece of c's file parsed on a thread of its own (csvread.h's
 * cpo_csv_read_pieces): p gets c's path, options, stage, instrument and
 * header facts (columns, header_fields), and staging of its own (bars and
 * their lines: only CPO_STAGE_BARS and CPO_STAGE_MARK are joined), report
 * rep (counts and issues) and error err.  cpo_import_piece_join appends
 * what p staged and reported to c as if c had read those rows itself
 * (call it in file order): the bars, their lines, the issues (as many as
 * c's report keeps), rows read and dropped; 0 or CPO_ENOMEM (into c's
 * err).  cpo_import_piece_fini frees p's staging.
 */
void cpo_import_piece_init(cpo_import_ctx *p, const cpo_import_ctx *c, cpo_import_report *rep,
                           cpo_error *err);
int cpo_import_piece_join(cpo_import_ctx *c, const cpo_import_ctx *p);
void cpo_import_piece_fini(cpo_import_ctx *p);

/*
 * Field parsers with the standard messages.  Return 0 on success; on a
 * bad value, the result of cpo_import_problem: negative in strict mode,
 * or CPO_IMPORT_DROP (1) in lenient mode, meaning "drop this row".
 * `name` is the column name used in the message.  A blank field is
 * missing: with allow_blank the value is NaN (time: CPO_TIME_NONE) and 0
 * is returned; without, it is a problem ("close is empty (expected a
 * number)").
 *
 * Messages:
 *   close "abc" is not a number (expected a decimal number)
 *   timestamp "2024-13-01" is not a time (expected ms since 1970 or an ISO 8601 date-time)
 *   row has 4 fields (expected at least 6, as in the header)
 */
#define CPO_IMPORT_DROP 1
int cpo_import_f64(cpo_import_ctx *c, const cpo_csv_row *row, int col,
                   const char *name, int allow_blank, double *out);
int cpo_import_time(cpo_import_ctx *c, const cpo_csv_row *row, int col,
                    const char *name, cpo_ts_unit unit, int64_t *out);
/* Check that the row has at least `need` fields, and no more than the
 * header's (c->header_fields, when a reader set it) unless the extra ones
 * are blank. */
int cpo_import_width(cpo_import_ctx *c, const cpo_csv_row *row, size_t need);

/* Parse a time text (no message); applies opts->tz to naive ISO times. */
int cpo_import_parse_time(const cpo_import_ctx *c, const char *s, size_t n,
                          cpo_ts_unit unit, int64_t *out);

/* --- readers: one per format (read_*.c).  Each fills c->stage and the
 * matching staging series, one cpo_import_push_line per staged row. ---- */
int cpo_read_klines(cpo_import_ctx *c);               /* read_klines.c */
int cpo_read_mark_klines(cpo_import_ctx *c);          /* read_klines.c */
int cpo_read_ohlcv(cpo_import_ctx *c);                /* read_klines.c */
int cpo_read_binance_funding(cpo_import_ctx *c);      /* read_funding.c */
int cpo_read_binance_funding_json(cpo_import_ctx *c); /* read_funding.c */
int cpo_read_bitmex_funding(cpo_import_ctx *c);       /* read_funding.c */
int cpo_read_deribit_funding(cpo_import_ctx *c);      /* read_funding.c */
int cpo_read_dvol(cpo_import_ctx *c);                 /* read_index.c */
int cpo_read_cmc(cpo_import_ctx *c);                  /* read_index.c */
int cpo_read_deribit_chain(cpo_import_ctx *c);        /* read_chain.c */
int cpo_read_delivery_klines(cpo_import_ctx *c);      /* read_futures.c */
int cpo_read_deribit_futures(cpo_import_ctx *c);      /* read_futures.c */
int cpo_read_chain_futures(cpo_import_ctx *c);        /* read_chain.c */

/* The klines reader's rows (read_klines.c) for an instrument already in
 * c->instr: the time column is ts_names ("timestamp|open_time"), the
 * volume vol_names ("volume"; optional), the others open, high, low,
 * close and close_time. */
int cpo_read_kline_rows(cpo_import_ctx *c, const char *ts_names, const char *vol_names);

/* --- dated futures (read_futures.c) ------------------------------------- */

/* "JAN" .. "DEC", as Deribit's names spell the months. */
extern const char *const cpo_month_abbr[12];

/* A Deribit date "27MAR26" or "3APR26": 08:00 UTC of that day.  0, or -1
 * when it is not one. */
int cpo_deribit_date(const char *s, size_t n, int64_t *expiry_ms);

/*
 * The instrument of a dated future's name, kind future with its expiry
 * (08:00 UTC of the name's date), base and underlying the coin:
 *   Deribit  "BTC-27MAR26"    inverse, quote USD, contract 10 USD (BTC),
 *                             1 USD (ETH), 0 for other coins (unknown)
 *   Binance  "BTCUSDT_260327" USD-M: linear, quote USDT, contract 1 coin
 *            "BTCUSD_260327"  COIN-M: inverse, quote USD, contract 100 USD
 *                             (BTC), 10 USD (other coins); the date must
 *                             be a Friday (*quarterly: 1 if it is the last
 *                             Friday of March, June, September or December)
 * Exchange "deribit" or "binance".  0, or -1 with why naming the bad part
 * ("pair \"ETHBTC\""); Binance: -2 for a date that is not a Friday, with
 * why the day ("2026-03-26, a Thursday").
 */
int cpo_future_deribit(const char *s, size_t n, cpo_instrument *out, char *why, size_t wn);
int cpo_future_binance(const char *s, size_t n, cpo_instrument *out, int *quarterly, char *why,
                       size_t wn);

/* A row of instrument in (a future) at time ts: a problem when ts is at
 * or after its expiry ("what" names the time: "timestamp").  0, or the
 * cpo_import_problem convention (negative, or CPO_IMPORT_DROP in lenient
 * mode, with "; row dropped").  0 for an instrument without an expiry. */
int cpo_import_before_expiry(cpo_import_ctx *c, const cpo_instrument *in, long line, long col,
                             const char *what, int64_t ts);

#endif
