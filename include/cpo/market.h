/*
 * cpo/market.h - the market cube: every instrument on one aligned time
 * grid, one column array per field (structure of arrays).
 *
 *     cpo_market_col(m, CPO_F_CLOSE, i)[t]   close of instrument i at step t
 *
 * Missing values are NaN unless the fill policy says otherwise, and every
 * filled cell is marked in `filled`.
 *
 * A field's column may be NULL: CPO_F_MARK, CPO_F_MARK_HIGH and
 * CPO_F_MARK_LOW are allocated only when some selected instrument has at
 * least one finite value in them (perpetuals' and futures' marks,
 * mark-price klines, binance-mark-klines), so a cube of spot bars costs
 * no memory for them.  A NULL column reads as NaN everywhere:
 * cpo_market_col returns NULL for it, and every reader must check (the
 * other fields are always allocated today; code that loops over all
 * fields must check each).  Funding events stay events (not
 * gridded); option chains stay a long table with a per-step row index.
 *
 * Alignment.  The grid is start + k*step.  A series' spacing is its bar_ms,
 * or the median gap between its bars if bar_ms is 0.  Bars are placed by
 * exact time, never interpolated or resampled:
 *   - spacing == step: every bar's open time must be a grid time; the bar
 *     goes to that step.
 *   - spacing == k*step, k > 1 (daily bars on an hourly grid): only with
 *     CPO_FILL_FORWARD.  The bar's open time must be a grid time, and the
 *     bar goes to the LAST step it covers (open + (k-1)*step), the step
 *     whose close is the bar's close, so no cell holds a value before it
 *     was known.  The k-1 steps before it carry the previous bar forward
 *     (filled = 1; NaN before the first bar).  max_fill counts steps past
 *     those k-1.
 *   - anything else (a spacing finer than the step or not a whole multiple
 *     of it, a bar off the grid, a coarse series without forward fill) is
 *     refused with CPO_EDATA naming the instrument.
 * Bars whose step falls outside the grid are left out.  Leading steps
 * before an instrument's first bar are NaN under every policy (no
 * back-fill).
 *
 * A cube owns copies of everything it holds: the dataset it was built
 * from can be freed.  A built cube is read-only and may be shared between
 * threads.
 */
#ifndef CPO_MARKET_H
#define CPO_MARKET_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/dataset.h"
#include "cpo/error.h"
#include "cpo/instrument.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cpo_field {
    CPO_F_OPEN = 0,
    CPO_F_HIGH,
    CPO_F_LOW,
    CPO_F_CLOSE,
    CPO_F_VOLUME,
    CPO_F_MARK,      /* mark price at the bar's close */
    CPO_F_INDEX,
    /* New fields go here, before CPO_F_COUNT: the numbers above stay. */
    CPO_F_MARK_HIGH, /* the mark's high over the bar; the column may be NULL */
    CPO_F_MARK_LOW,  /* the mark's low over the bar; the column may be NULL */
    CPO_F_COUNT
} cpo_field;

const char *cpo_field_name(cpo_field f);

typedef enum cpo_fill {
    CPO_FILL_NONE = 0,    /* leave NaN */
    CPO_FILL_FORWARD = 1  /* a step without a bar (after the first bar):
                             carry the last close into O/H/L/C (volume 0),
                             mark, index, mark_high and mark_low carry
                             their own last value; at most max_fill
                             steps, then NaN */
} cpo_fill;

typedef struct cpo_market_spec {
    int64_t start_ms;    /* first grid time (inclusive); CPO_TIME_NONE = the
                            earliest first bar of the selected instruments */
    int64_t end_ms;      /* last grid time (inclusive, or the last grid time
                            before it); CPO_TIME_NONE = the latest step a
                            selected series covers */
    int64_t step_ms;     /* grid spacing; 0 = the finest bar spacing */
    cpo_fill fill;
    size_t max_fill;     /* CPO_FILL_FORWARD: longest run filled; 0 = no limit */
    const char *const *symbols; /* instruments to include; NULL = all with bars */
    size_t n_symbols;
} cpo_market_spec;

void cpo_market_spec_init(cpo_market_spec *s);

typedef struct cpo_market {
    size_t n_steps;
    size_t n_instr;
    int64_t step_ms;
    int64_t *ts;                 /* [n_steps] grid times (bar open times) */
    cpo_instrument *instr;       /* [n_instr] */
    double *col[CPO_F_COUNT];    /* [n_instr * n_steps], instrument-major;
                                    NULL for a field without values (see
                                    the top of this file) */
    uint8_t *filled;             /* [n_instr * n_steps]: 1 if filled forward,
                                    2 if modelled (run/market.c: a dated
                                    future's basis between its quotes) */
    cpo_funding *funding;        /* [n_instr]: events within the grid span */
    size_t n_chains;
    cpo_chain *chains;           /* rows within the grid span */
    size_t **chain_row;          /* [n_chains][n_steps + 1]: rows of step t
                                    are chain_row[c][t] .. chain_row[c][t+1]-1
                                    (snapshots stamped in [ts[t], ts[t]+step)) */
    size_t n_iv;
    cpo_ivindex *iv;
    /* Bars kept at their own spacing, off the grid (the option book's
     * delivery series: [options] delivery.COIN, for the settlement TWAP),
     * over the grid's span and a day before it; the cube frees them. */
    size_t n_raw;
    cpo_bars *raw;                      /* [n_raw] */
    char (*raw_symbol)[CPO_SYMBOL_MAX]; /* [n_raw] */
    cpo_caps caps;               /* the store's market-cap snapshots, all of
                                    them (sorted by time, then rank), for
                                    stages that pick by cap (host->caps) */
} cpo_market;

int cpo_market_build(cpo_market **out, const cpo_dataset *ds,
                     const cpo_market_spec *spec, cpo_error *err);
void cpo_market_free(cpo_market *m); /* NULL is a no-op */

/* Index of an instrument in the cube, or -1. */
long cpo_market_find(const cpo_market *m, const char *symbol);

/* The column of field f for instrument i: n_steps values, or NULL when
 * the cube has no column of f (every value NaN; see the top). */
static inline const double *cpo_market_col(const cpo_market *m, cpo_field f,
                                           size_t i)
{
    return m->col[f] ? m->col[f] + i * m->n_steps : NULL;
}

/* Step index of the last grid time <= t, or -1 if t is before the grid. */
long cpo_market_step_at(const cpo_market *m, int64_t t_ms);

#ifdef __cplusplus
}
#endif
#endif
