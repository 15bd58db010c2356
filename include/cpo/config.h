/*
 * cpo/config.h - a backtest config: an INI file read into a run plan.
 *
 *     [backtest]   data, start, end, warmup, step, gap_fill, max_fill,
 *                  capital, currency, collateral, seed, cash_buffer, detail,
 *                  benchmark (a symbol of the store whose closes the
 *                  run's alpha and beta are measured against; checked
 *                  against the store by cpo_config_universe, never part of
 *                  the universe)
 *     [universe]   spot, perp, symbols
 *     [costs]      fill, fee_bps, spot_fee_bps, perp_fee_bps, ...
 *     [strategy]   schedule, select, weigh, overlay, hedge, plugin
 *     [options]    underlyings, index.COIN, dvol.COIN, surface, coin_price,
 *                  rate, fee_rate, fee_cap, delivery_fee, delivery_cap,
 *                  explain_threshold, explain_floor, max_positions: option
 *                  positions (run.options, cpo/backtest.h), enabled by the
 *                  section being there.  underlyings (required, at most
 *                  CPO_OPT_MAX_UNDERLYINGS coins) are read first; index.COIN
 *                  (default COIN "USDT", e.g. BTCUSDT) names the instrument
 *                  whose price is the index, dvol.COIN (default COIN
 *                  "-DVOL") the volatility index of surface = dvol_scaled;
 *                  both are checked against the store by
 *                  cpo_config_universe.  A stage parameter "underlying"
 *                  (the option stages) must name one of the underlyings.
 *     [ROLE.NAME]  the declared parameters of one stage ([weigh.fixed])
 *     [sweep], [walkforward], [overfit]  read by `cpo sweep` (cpo/sweep.h);
 *                  a run ignores them
 *     [bootstrap], [attribution]  read and checked by cpo_run_to_dir
 *                  (cpo/run.h) before anything runs
 *     [stress]     read by `cpo risk` (cpo/risk.h)
 *     [env]        window, vol_window, features, reward, sharpe_eta,
 *                  drawdown_penalty, turnover_penalty, action, max_weight,
 *                  max_gross, long_only, episode_steps, random_start: the
 *                  step interface of cpo/env.h (cpo_config.env); checked
 *                  by every load, used only by cpo_env, which replaces the
 *                  [strategy] (a config it loads may leave [strategy] out)
 *
 * Every section and key is declared: an unknown one, a bad value or a
 * missing required key is refused with the file, the line and what was
 * expected:
 *
 *     config.ini:12: fill = "tomorrow" is not valid (expected next_open or close)
 *
 * Paths (data, plugin) are relative to the config file's folder unless
 * absolute.  Dates are ISO 8601; an `end` given as a date alone means the
 * end of that day.  The text of every key is kept as written, to echo it
 * into the manifest of a run.
 *
 * Ownership: cpo_config_load returns a config the caller frees with
 * cpo_config_free; the config owns the stage parameters of its run spec
 * and the registry its stage tables come from (plugins stay loaded until
 * the config is freed, so the config must outlive every run of it).
 */
#ifndef CPO_CONFIG_H
#define CPO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/backtest.h"
#include "cpo/dataset.h"
#include "cpo/env.h"
#include "cpo/error.h"
#include "cpo/market.h"
#include "cpo/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One key as written (continuation lines joined by a space). */
typedef struct cpo_config_key {
    char *section; /* "costs", "weigh.fixed" */
    char *key;
    char *value;
    long line;
} cpo_config_key;

/* One name of the [universe] section: a symbol ("BTCUSDT") or, for spot
 * and perp, also a coin ("BTC": the one instrument of that kind with that
 * base in the store). */
typedef struct cpo_config_name {
    char *name;
    int kind;   /* cpo_kind for spot/perp; -1 for symbols = */
    long line;
} cpo_config_name;

typedef struct cpo_config {
    char *path;       /* the config file as given */
    char *dir;        /* its folder ("." if none) */
    char *stem;       /* its file name without the extension */
    char *data_path;  /* the store, resolved against dir */
    int64_t warmup_ms;       /* history loaded before start (0: none) */
    cpo_market_spec market;  /* grid: start - warmup .. end; symbols NULL
                                (see cpo_config_universe) */
    cpo_config_name *universe; /* empty: every instrument with bars */
    size_t n_universe;
    char benchmark[CPO_SYMBOL_MAX]; /* [backtest] benchmark: a symbol, or ""
                                       (none); not added to the universe */
    cpo_run_spec run;        /* stages[k].params owned by the config */
    char **plugins;          /* resolved paths, loaded into registry */
    size_t n_plugins;
    cpo_registry *registry;
    cpo_config_key *keys;    /* every key in file order */
    size_t n_keys;
    cpo_brackets *brackets;  /* [margin] brackets = FILE: the tables
                                (run.margin.brackets points here) */
    size_t n_brackets;
    struct cpo_rate_series { int64_t *ts; double *rate; } *rates; /* [financing]
                                rate files (run.financing's rates point here) */
    size_t n_rates;
    cpo_env_spec env;        /* [env]: read by cpo_env (cpo/env.h); a run
                                checks its keys and ignores it */
    int report_charts;       /* [report] charts: cpo_charts of cpo/report.h
                                (CPO_CHARTS_BOTH) */
} cpo_config;

typedef struct cpo_rate_series cpo_rate_series;

/* Read and check path.  *out belongs to the caller (cpo_config_free). */
int cpo_config_load(cpo_config **out, const char *path, cpo_error *err);

/*
 * Read path as cpo_config_load does, with n_overrides keys put in place of
 * the keys of the same section and name as written (or added when the file
 * has none): each override's value is checked like the file's, and its
 * line is the one messages name.  `cpo sweep` makes the config of a grid
 * point this way ([sweep] costs.fee_bps = 5, 10 gives the override
 * {"costs", "fee_bps", "5", line}).
 */
int cpo_config_load_with(cpo_config **out, const char *path,
                         const cpo_config_key *overrides, size_t n_overrides,
                         cpo_error *err);

/* cpo_config_load_with over text, the INI text of a config (NUL-terminated;
 * NULL: read path).  path is not read: it names the config in messages
 * and its folder is where relative paths (data, plugin) start. */
int cpo_config_load_text(cpo_config **out, const char *path, const char *text,
                         const cpo_config_key *overrides, size_t n_overrides,
                         cpo_error *err);

/* The declared keys of a fixed section ("backtest", "universe", "costs",
 * "strategy", "options") as ", "-separated text in message order, or
 * NULL. */
const char *cpo_config_section_keys(const char *section);

/* The name of fixed section k ("backtest", ...), or NULL past the last. */
const char *cpo_config_section_name(size_t k);

/* 1 if key is one of cpo_config_section_keys(section), else 0. */
int cpo_config_section_has(const char *section, const char *key);

/* What a key of a fixed section means (cpo-config(5), `cpo man config`). */
typedef struct cpo_config_keydoc {
    const char *section; /* "backtest" */
    const char *key;     /* "data"; "index.COIN" for a key per coin */
    const char *help;    /* one sentence, the default in parentheses */
} cpo_config_keydoc;

/* Every key of the fixed sections, in the order of cpo_config_section_keys
 * section by section, ended by a NULL section. */
const cpo_config_keydoc *cpo_config_keydocs(void);

/* NULL is a no-op.  Frees the stage parameters and closes the plugins. */
void cpo_config_free(cpo_config *cfg);

/*
 * The symbols of the universe in the store ds, in config order: a name
 * that is a symbol of the right kind is taken as it is; a spot or perp
 * coin name ("BTC") is the one instrument of that kind whose base it is.
 * Refused with the config line when absent, ambiguous or given twice.
 * With [options], the index instrument of each underlying not named
 * already follows them, and the names of [options] are checked against
 * the store first (a chain per underlying, its index instrument, its DVOL
 * index with surface = dvol_scaled), refused with the line of the key.
 * A [backtest] benchmark is checked too (an instrument of the store with
 * bars, refused with the line of the key) but is not put in *symbols.
 * *symbols is an array of *n strings owned by the caller: free each and
 * the array (cpo_config_symbols_free).  An empty universe gives *n = 0
 * (every instrument with bars, the index among them).
 */
int cpo_config_universe(const cpo_config *cfg, const cpo_dataset *ds,
                        char ***symbols, size_t *n, cpo_error *err);
void cpo_config_symbols_free(char **symbols, size_t n); /* NULL is a no-op */

/* The value of a key as written, or NULL. */
const char *cpo_config_get(const cpo_config *cfg, const char *section,
                           const char *key);

#ifdef __cplusplus
}
#endif
#endif
