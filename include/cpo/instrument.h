/*
 * cpo/instrument.h - what can be held: spot coins, perpetual swaps,
 * options and dated futures, settled linearly (P&L in the quote currency)
 * or inversely (P&L in the coin; contract size in quote units).
 */
#ifndef CPO_INSTRUMENT_H
#define CPO_INSTRUMENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cpo_kind {
    CPO_KIND_SPOT = 0,
    CPO_KIND_PERP = 1,
    CPO_KIND_OPTION = 2,
    CPO_KIND_FUTURE = 3
} cpo_kind;

typedef enum cpo_settle {
    CPO_SETTLE_LINEAR = 0, /* P&L in the quote currency (USDT/USD) */
    CPO_SETTLE_INVERSE = 1 /* P&L in the base coin; contract size in quote */
} cpo_settle;

typedef enum cpo_right {
    CPO_RIGHT_NONE = 0,
    CPO_RIGHT_CALL = 1,
    CPO_RIGHT_PUT = 2
} cpo_right;

#define CPO_SYMBOL_MAX 48
#define CPO_CCY_MAX 16

typedef struct cpo_instrument {
    char symbol[CPO_SYMBOL_MAX];     /* unique in a dataset: "BTCUSDT", "XBTUSD" */
    char exchange[CPO_CCY_MAX];      /* "binance", "bitmex", "deribit", "" */
    char base[CPO_CCY_MAX];          /* "BTC" */
    char quote[CPO_CCY_MAX];         /* "USDT", "USD" */
    char underlying[CPO_SYMBOL_MAX]; /* options/futures/perps: "BTC"; else "" */
    cpo_kind kind;
    cpo_settle settle;
    /* Linear: base units per contract (1 for spot and Binance perps).
     * Inverse: quote units per contract (BitMEX XBTUSD 1 USD, Deribit
     * BTC-PERPETUAL 10 USD).  Deribit options: 1 coin. */
    double contract_size;
    double tick_size;  /* price increment; 0 = not known */
    double lot_size;   /* quantity increment in contracts; 0 = not known */
    double strike;     /* options; NaN otherwise */
    int64_t expiry_ms; /* options and futures; CPO_TIME_NONE otherwise */
    cpo_right right;   /* options */
    int64_t funding_interval_ms; /* perps: 8h, 1h (Deribit accrual); 0 else */
} cpo_instrument;

/* Fill the defaults of a kind: contract size 1, no strike/expiry, etc. */
void cpo_instrument_init(cpo_instrument *in, const char *symbol, cpo_kind kind,
                         cpo_settle settle);

const char *cpo_kind_name(cpo_kind k);      /* "spot", "perp", ... */
int cpo_kind_parse(const char *s, cpo_kind *out);
const char *cpo_settle_name(cpo_settle s);  /* "linear", "inverse" */
int cpo_settle_parse(const char *s, cpo_settle *out);
const char *cpo_right_name(cpo_right r);    /* "", "call", "put" */

/*
 * Base and quote of a pair name: '-', '_' and '/' are ignored, a contract
 * suffix (PERP, PERPETUAL, SWAP) is dropped, and the longest known quote
 * currency (FDUSD, USDT, USDC, BUSD, USD) the rest ends with is the quote
 * ("BTCUSDT", "BTC-USDT", "BTCUSDT-PERP" -> BTC/USDT; "XBTUSD" -> XBT/USD;
 * "BNBUSDT" -> BNB/USDT).  Without one, the text before the first '-',
 * '_' or '/' and dflt_quote ("BTC-PERPETUAL" -> BTC/dflt), and 0 is
 * returned; 1 if a quote was found.
 */
int cpo_symbol_split(const char *symbol, const char *dflt_quote,
                     char base[CPO_CCY_MAX], char quote[CPO_CCY_MAX]);

/*
 * The first quarterly expiry strictly after t_ms: 08:00 UTC on the last
 * Friday of March, June, September or December (Binance's quarterly
 * futures; Deribit's quarterlies fall on the same days).
 */
int64_t cpo_future_quarterly_after(int64_t t_ms);

#ifdef __cplusplus
}
#endif
#endif
