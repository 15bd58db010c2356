/*
 * cpo/stage.h - the strategy stage ABI.
 *
 * A strategy is a pipeline of stages: schedule (when?), select (what?),
 * weigh (how much?), overlay (scale or cap), hedge (derivative legs).
 * Every stage, built in or loaded from a shared object, is described by one
 * const cpo_stage_def table.  The table starts with the ABI version and its
 * own size, and only ever grows at the end.
 *
 * A stage sees the market only through the host API and a view that ends
 * at the current step: every series it can get holds steps 0..t, never a
 * later one.  The host API is a table of function pointers, so a plugin
 * needs no symbols from the host.
 *
 * A shared object exports one entry point, CPO_PLUGIN_ENTRY:
 *
 *     const cpo_stage_def *const *cpo_plugin_entry(uint32_t host_abi,
 *                                                  size_t *n_stages);
 *
 * returning a static array of its stage tables (or NULL to refuse).
 */
#ifndef CPO_STAGE_H
#define CPO_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/black76.h"
#include "cpo/error.h"
#include "cpo/instrument.h"
#include "cpo/market.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CPO_STAGE_ABI_VERSION 1u
#define CPO_PLUGIN_ENTRY "cpo_plugin_entry"

typedef enum cpo_stage_role {
    CPO_ROLE_SCHEDULE = 0, /* sets io->fire */
    CPO_ROLE_SELECT = 1,   /* sets io->selected */
    CPO_ROLE_WEIGH = 2,    /* sets io->weight for the selected instruments */
    CPO_ROLE_OVERLAY = 3,  /* scales or caps io->weight */
    CPO_ROLE_HEDGE = 4,    /* adds legs: io->weight or io->qty of derivatives */
    CPO_ROLE_COUNT
} cpo_stage_role;

const char *cpo_role_name(cpo_stage_role r); /* "schedule", ... */

typedef enum cpo_param_type {
    CPO_PARAM_INT = 0,      /* range [min, max] */
    CPO_PARAM_REAL = 1,     /* range [min, max] */
    CPO_PARAM_BOOL = 2,     /* yes/no, true/false, 1/0 */
    CPO_PARAM_DURATION = 3, /* "30d", "8h"; range in ms [min, max] */
    CPO_PARAM_CHOICE = 4,   /* one of `choices` ("a|b|c") */
    CPO_PARAM_STRING = 5,
    CPO_PARAM_LIST = 6,     /* comma-separated words ("BTCUSDT, ETHUSDT") */
    CPO_PARAM_PATH = 7      /* a file: a relative path is taken relative to the
                               config's folder (as [backtest] data is) */
} cpo_param_type;

typedef struct cpo_param_spec {
    const char *name;     /* "lookback" */
    cpo_param_type type;
    const char *def;      /* default as text; NULL = required */
    double min, max;      /* INT, REAL, DURATION (ms) */
    const char *choices;  /* CHOICE: "calendar|band|both" */
    const char *help;     /* one line */
} cpo_param_spec;

/* Parameter values of one stage instance (opaque; read with the host API). */
typedef struct cpo_params cpo_params;

/* The read-only window on the market and the book at the current step
 * (opaque; read with the host API). */
typedef struct cpo_view cpo_view;

/* One option contract of a chain: Deribit style, multiplier 1 coin of the
 * underlying, premium and payoff in coin (inverse). */
typedef struct cpo_option_key {
    char underlying[CPO_CCY_MAX]; /* "BTC": the chain's underlying */
    int64_t expiry_ms;            /* UTC ms (Deribit: 08:00) */
    double strike;                /* USD */
    int right;                    /* cpo_right */
} cpo_option_key;

/* A target position in one option, set by a stage. */
typedef struct cpo_option_target {
    cpo_option_key key;
    double qty;      /* target contracts, signed (short < 0); 0 closes */
} cpo_option_target;

/* An option valued at the close of the current step. */
typedef struct cpo_option_quote {
    int source;           /* CPO_OPT_SRC_*: where the price came from */
    double index;         /* I, USD */
    double fwd;           /* F of the option's expiry, USD */
    double vol;           /* sigma used (decimal) */
    double t_years;       /* (expiry - t) / year */
    double bid, ask;      /* coin, from the latest snapshot; NaN if none */
    cpo_black76_out usd;  /* USD price and Greeks (w.r.t. F) */
    cpo_black76_coin coin;/* coin price and Greeks (w.r.t. I) */
} cpo_option_quote;

enum {
    CPO_OPT_SRC_NONE = 0,    /* no price (no snapshot yet, no index) */
    CPO_OPT_SRC_CHAIN = 1,   /* the IV of a snapshot taken in this bar, at the close */
    CPO_OPT_SRC_SURFACE = 2, /* the surface of the latest snapshot */
    CPO_OPT_SRC_SETTLE = 3   /* expired: the payoff at the delivery price */
};

/* What a stage reads and writes; arrays have n entries (instruments of
 * the market, in market order). */
typedef struct cpo_stage_io {
    size_t n;
    int fire;          /* schedule: 1 to act at this step */
    uint8_t *selected; /* select: 1 if instrument i is in the universe */
    double *weight;    /* target weight of equity per instrument (signed);
                          NaN = leave that instrument alone */
    double *qty;       /* target quantity in contracts; NaN = use weight.
                          A finite qty wins over weight. */
    /* Option targets (appended with host->option_target; positions not
     * named are left alone).  Cleared before the pipeline runs. */
    size_t n_opt, cap_opt;
    cpo_option_target *opt;
} cpo_stage_io;

/* An option position of the book (host->option_positions). */
typedef struct cpo_option_pos {
    cpo_option_key key;
    char name[CPO_SYMBOL_MAX]; /* "BTC-27MAR26-90000-C" */
    double qty;                /* contracts, signed */
    double avg_px;             /* average premium paid, coin per contract */
    int64_t opened_ms;         /* when the position was opened */
    uint32_t tag;              /* the stage that opened it (pipeline index) */
    cpo_option_quote quote;    /* at the close of the current step */
} cpo_option_pos;

/* The host API handed to every stage.  All functions are safe to call from
 * run(); none allocates on the caller's behalf except where stated. */
typedef struct cpo_host {
    uint32_t abi_version;
    uint32_t struct_size;
    /* Market, ending at the current step. */
    size_t (*step)(const cpo_view *v);            /* current step t */
    int64_t (*now)(const cpo_view *v);            /* ts of step t (bar open) */
    int64_t (*bar_ms)(const cpo_view *v);         /* grid spacing */
    size_t (*n_instr)(const cpo_view *v);
    const cpo_instrument *(*instrument)(const cpo_view *v, size_t i);
    long (*find)(const cpo_view *v, const char *symbol); /* -1 if absent */
    /* Steps 0..t of one field: *len = t + 1.  NaN where missing; NULL
     * with *len = 0 for a field the market has no values of (mark_high
     * and mark_low without mark-price klines). */
    const double *(*series)(const cpo_view *v, cpo_field f, size_t i, size_t *len);
    const int64_t *(*times)(const cpo_view *v, size_t *len);
    /* Funding events of instrument i stamped at or before now(). */
    size_t (*funding)(const cpo_view *v, size_t i, const int64_t **ts, const double **rate);
    /* The book, as of the end of step t (after marking). */
    double (*equity)(const cpo_view *v);          /* reporting currency */
    double (*position)(const cpo_view *v, size_t i); /* contracts */
    double (*weight)(const cpo_view *v, size_t i);   /* signed exposure / equity */
    double (*target)(const cpo_view *v, size_t i);   /* last target weight; NaN if none */
    /* Parameters of this stage instance. */
    int64_t (*param_int)(const cpo_params *p, const char *name);
    double (*param_real)(const cpo_params *p, const char *name);
    const char *(*param_str)(const cpo_params *p, const char *name);
    /* LIST parameter: number of items, and item k. */
    size_t (*param_count)(const cpo_params *p, const char *name);
    const char *(*param_item)(const cpo_params *p, const char *name, size_t k);
    /* --- options (tables with struct_size > offsetof(cpo_host, chain)) ---
     * The latest chain snapshot of an underlying taken at or before the
     * close of the current step: rows [*begin, *end) of *chain (columns as
     * in cpo/dataset.h).  0, CPO_ENOTFOUND if none yet, or CPO_EINVAL
     * for an underlying the run holds no options on. */
    int (*chain)(const cpo_view *v, const char *underlying, const cpo_chain **chain,
                 size_t *begin, size_t *end);
    /* Value any option of that underlying at the close of the current
     * step, as the book marks it.  0, or an error code (no price). */
    int (*option_quote)(const cpo_view *v, const cpo_option_key *k, cpo_option_quote *out);
    /* The book's option positions (after marking at this step). */
    size_t (*option_positions)(const cpo_view *v, const cpo_option_pos **pos);
    /* Dollar delta of everything held in the coin `underlying`, in coins:
     * d(USD value)/dI of the coin balance, the option positions (coin
     * value + account delta) and positions in instruments settled in that
     * coin.  Linear instruments are not included: add their positions. */
    double (*coin_delta)(const cpo_view *v, const char *underlying);
    /* Append an option target to io (at most one per option: a second
     * target for the same option replaces the first).  CPO_ERANGE when
     * io holds cap_opt targets already. */
    int (*option_target)(const cpo_view *v, cpo_stage_io *io, const cpo_option_key *k,
                         double qty);
    /* The index of this stage instance in the pipeline (a tag for the
     * positions it opens); set while its init/run is called. */
    uint32_t (*stage_index)(const cpo_view *v);
    /* --- market caps (tables with struct_size > offsetof(cpo_host, caps)) ---
     * The store's market-cap snapshots (cmc-monthly) taken strictly before
     * now(): rows 0 .. return value - 1 of *caps, sorted by time, then
     * rank (*caps NULL and 0 when the store has none). */
    size_t (*caps)(const cpo_view *v, const cpo_caps **caps);
    /* --- between rebalances (struct_size > offsetof(cpo_host, between)) ---
     * Called from an overlay's init: from then on its run() is also called
     * at every step where no schedule fired, with io->fire = 0,
     * io->selected all 1 and io->weight and io->qty all NaN (the other
     * stages do not run).  To trade at that step, run() sets io->fire = 1
     * and targets (weights, or qty: e.g. k times the positions to scale
     * the book); the engine sizes and fills them as at a rebalance.
     * CPO_EINVAL from a stage that is not an overlay. */
    int (*between)(const cpo_view *v);
    /* --- notes (struct_size > offsetof(cpo_host, note)) ---
     * Record something the stage did at this step in the run's events
     * (kind "stage", the stage's name before the text): a limit that
     * bound, say.  value is an amount or a ratio the note is about. */
    int (*note)(const cpo_view *v, double value, const char *msg);
} cpo_host;

typedef struct cpo_stage_def {
    uint32_t abi_version;  /* CPO_STAGE_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(cpo_stage_def) as the plugin saw it */
    const char *name;      /* "monthly", "equal", "drift" */
    cpo_stage_role role;
    const char *help;      /* one line */
    const cpo_param_spec *params;
    size_t n_params;
    /* Make per-run state (may set *state = NULL).  Called once per run,
     * before the first step, with the market of the whole run known only
     * through v at step 0. */
    int (*init)(void **state, const cpo_params *p, const cpo_host *h,
                const cpo_view *v, cpo_error *err);
    /* Act at the current step. */
    int (*run)(void *state, const cpo_params *p, const cpo_host *h,
               const cpo_view *v, cpo_stage_io *io, cpo_error *err);
    void (*fini)(void *state); /* NULL state is fine; fini may be NULL */
} cpo_stage_def;

typedef const cpo_stage_def *const *(*cpo_plugin_entry_fn)(uint32_t host_abi,
                                                           size_t *n_stages);

#ifdef __cplusplus
}
#endif
#endif
