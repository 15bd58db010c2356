/*
 * cpo/import.h - reading exchange exports into a dataset.
 *
 * Each format declares the header names it maps (never column positions),
 * the time stamp form and the units.  Every problem is reported with the
 * file, line and column (the 1-based CSV field number).  Strict mode
 * refuses the file at the first problem; lenient mode repairs what is safe
 * (drops exact duplicates and unusable rows, sorts when asked, drops a
 * partial last bar), keeps going, and reports what it did.
 */
#ifndef CPO_IMPORT_H
#define CPO_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/dataset.h"
#include "cpo/error.h"
#include "cpo/instrument.h"
#include "cpo/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(id, name, help) */
#define CPO_FORMAT_LIST(X)                                                          \
    X(AUTO, "auto", "detect the format from the header line")                       \
    X(BINANCE_KLINES, "binance-klines",                                             \
      "Binance klines (spot or USDT-M perp): timestamp,open,high,low,close,volume[,quote_volume,trades,close_time]; date or ms times") \
    X(BINANCE_MARK_KLINES, "binance-mark-klines",                                   \
      "Binance mark-price klines (markPriceKlines: open_time,open,high,low,close,volume,close_time,...; header optional, or the REST JSON array), attached to the bars of --symbol") \
    X(OHLCV, "ohlcv",                                                               \
      "generic bars: date|time|timestamp|open_time|datetime,open,high,low,close[,volume]; ISO dates or date-times, seconds or ms (one form a file); --symbol or the file name") \
    X(BINANCE_FUNDING, "binance-funding",                                           \
      "Binance funding CSV: fundingTime,symbol,fundingRate[,markPrice] | timestamp,symbol,funding_rate | Symbol,Date,Funding Rate") \
    X(BINANCE_FUNDING_JSON, "binance-funding-json",                                 \
      "Binance funding JSON array of {coin, funding_rate, time}")                   \
    X(BITMEX_FUNDING, "bitmex-funding",                                             \
      "BitMEX /api/v1/funding CSV: timestamp,symbol,fundingInterval,fundingRate,fundingRateDaily") \
    X(DERIBIT_FUNDING, "deribit-funding",                                           \
      "Deribit get_funding_rate_history CSV: timestamp,interest_1h,interest_8h,index_price,...") \
    X(DERIBIT_CHAIN, "deribit-chain",                                               \
      "Deribit option chain snapshot (any of the known layouts; IV percent or decimal)") \
    X(DVOL, "dvol",                                                                 \
      "Deribit DVOL: CSV timestamp_ms,iso_date,open,high,low,close or JSON [[ms, close], ...]") \
    X(CMC_MONTHLY, "cmc-monthly",                                                   \
      "CoinMarketCap snapshots: Rank,Name,Symbol,Market Cap,Price,Circulating Supply,Volume (24h),...,snapshot_date") \
    X(BINANCE_DELIVERY_KLINES, "binance-delivery-klines",                           \
      "Binance quarterly futures klines (the klines layout): BTCUSDT_260327 USD-M linear, BTCUSD_260327 COIN-M inverse; expiry 08:00 UTC of the symbol's date") \
    X(DERIBIT_FUTURES, "deribit-futures",                                           \
      "Deribit futures OHLCV (get_tradingview_chart_data): CSV ticks,open,high,low,close[,volume] or the API's JSON result; BTC-27MAR26, inverse") \
    X(DERIBIT_CHAIN_FUTURES, "deribit-chain-futures",                               \
      "the futures quotes of Deribit weekly chain snapshots (futures_instrument_name, futures_price, index_price): one 1h bar per future and snapshot")

typedef enum cpo_format {
#define CPO_X_FMT(id, name, help) CPO_FMT_##id,
    CPO_FORMAT_LIST(CPO_X_FMT)
#undef CPO_X_FMT
    CPO_FMT_COUNT
} cpo_format;

const char *cpo_format_name(cpo_format f);
const char *cpo_format_help(cpo_format f);
int cpo_format_parse(const char *s, cpo_format *out);

typedef enum cpo_import_mode {
    CPO_IMPORT_STRICT = 0,  /* refuse the file at the first problem */
    CPO_IMPORT_LENIENT = 1  /* repair what is safe and report it */
} cpo_import_mode;

typedef enum cpo_partial_policy {
    CPO_PARTIAL_FLAG = 0, /* keep the last bar; warn if it looks partial */
    CPO_PARTIAL_DROP = 1, /* drop the last bar (declared partial) */
    CPO_PARTIAL_KEEP = 2  /* keep it silently */
} cpo_partial_policy;

typedef enum cpo_iv_unit {
    CPO_IV_AUTO = 0,    /* detect: a column whose values exceed 5 is percent */
    CPO_IV_DECIMAL = 1,
    CPO_IV_PERCENT = 2
} cpo_iv_unit;

typedef struct cpo_import_opts {
    cpo_format format;
    cpo_import_mode mode;
    int sort;                 /* 1: sort rows by time before validating */
    cpo_tz tz;                /* zone of naive time stamps (default UTC) */
    cpo_partial_policy partial_last;
    /* The instrument the rows belong to (klines, funding): */
    const char *symbol;       /* NULL: from the file name or symbol column */
    cpo_kind kind;            /* spot or perp (dated futures: from the symbol) */
    cpo_settle settle;
    const char *exchange;     /* NULL: from the format */
    double contract_size;     /* 0: the format's default */
    int64_t step_ms;          /* expected spacing; 0: infer (the median) */
    /* Option chains: */
    cpo_iv_unit iv_unit;
    int64_t snapshot_ms;      /* layouts without a snapshot time; CPO_TIME_NONE = refuse */
    int keep_last_poll;       /* files holding two polls: keep the later quote */
    /* Dataset-level: */
    const char *name;         /* IV index name (default "BTC-DVOL") */
    int max_listed;           /* how many examples each report line lists (default 5) */
    /* Parsing on the cores (the klines-like CSV formats: binance-klines,
     * binance-mark-klines, binance-delivery-klines, deribit-futures as
     * CSV; the result is that of a serial read): a file of at least
     * split_bytes is cut at line ends into up to split_pieces pieces
     * parsed at once.  0: the defaults, 4 MiB and one piece a core online;
     * split_pieces = 1 reads serially.  Tests set them small to run the
     * cut on small files. */
    size_t split_bytes;
    size_t split_pieces;
} cpo_import_opts;

/* The defaults: auto format, strict, UTC, flag a partial last bar, spot,
 * linear, IV unit auto, no snapshot time. */
void cpo_import_opts_init(cpo_import_opts *o);

typedef enum cpo_issue_level {
    CPO_ISSUE_INFO = 0,
    CPO_ISSUE_WARNING = 1, /* kept, but the user should know */
    CPO_ISSUE_REPAIRED = 2, /* lenient mode changed or dropped something */
    CPO_ISSUE_ERROR = 3     /* strict mode refused the file for this */
} cpo_issue_level;

#define CPO_REPORT_MAX_ISSUES 64

typedef struct cpo_import_issue {
    cpo_issue_level level;
    int code;       /* CPO_E* */
    long line, col; /* 0 if not about one place */
    char msg[320];
} cpo_import_issue;

typedef struct cpo_import_report {
    char path[512];
    cpo_format format;        /* the format used (after detection) */
    char target[CPO_SYMBOL_MAX]; /* symbol, underlying or index name */
    size_t rows_read, rows_kept;
    size_t dropped;           /* rows dropped (lenient) */
    size_t duplicates;        /* duplicate time stamps seen */
    size_t reordered;         /* rows out of order seen */
    size_t gaps;              /* gaps (spacing larger than step) */
    size_t missing_steps;     /* steps missing inside the gaps */
    int64_t step_ms;          /* spacing used for gap checks */
    /* binance-mark-klines (attached to the bars of an instrument): */
    size_t marked;            /* bars that got their mark from this file */
    size_t unmatched;         /* mark bars with no bar of the instrument at their
                                 time (strict refuses the file, lenient drops them) */
    size_t unmarked;          /* bars of the instrument within the file's span
                                 that have no mark bar in it (a warning) */
    int64_t first_ms, last_ms;
    size_t n_issues;          /* issues recorded (at most CPO_REPORT_MAX_ISSUES) */
    size_t n_issues_total;    /* issues found */
    cpo_import_issue issues[CPO_REPORT_MAX_ISSUES];
} cpo_import_report;

/*
 * Import one file into ds (rows merged into the series already there for
 * the same target: identical overlaps are fine, conflicting ones are an
 * error in strict mode and keep the new value in lenient mode).  On
 * success fills rep (if not NULL) and adds a provenance record.  On
 * failure ds is left as it was.
 */
int cpo_import_file(cpo_dataset *ds, const char *path,
                    const cpo_import_opts *o, cpo_import_report *rep,
                    cpo_error *err);

/* Print a report: one summary line, then the issues. */
void cpo_import_report_print(const cpo_import_report *rep, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
