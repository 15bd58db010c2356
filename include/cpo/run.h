/*
 * cpo/run.h - one backtest from a config to a run folder.
 *
 *     cpo_config_load        the config (cpo/config.h)
 *     cpo_run_market         its store read, universe resolved, cube built
 *                            (the dataset is freed as soon as the cube is)
 *     cpo_backtest_run       the engine (cpo/backtest.h)
 *     cpo_run_metrics_compute  summary numbers of a result
 *     cpo_run_to_dir         all of the above, writing the run folder:
 *
 *   summary.json            metrics and settings (with [bootstrap]: the
 *                           stationary-bootstrap intervals of Sharpe, CAGR
 *                           and drawdown; with [backtest] benchmark:
 *                           its symbol, and alpha and beta in the table)
 *   ledger.csv, ledger.h5   one row per step: equity, the P&L lines, gross,
 *                           net, cash per currency (ledger.h5 also holds
 *                           the per-instrument rows when detail = instrument,
 *                           appended in chunks as the engine makes them)
 *   ledger_instruments.csv  detail = instrument only: one row per held
 *                           instrument per step
 *   trades.csv, events.csv  fills and engine events
 *   manifest.json           SHA-256 of the config, the store and every
 *                           output, cpo version, seed, command, settings
 *
 * Every file is written to "<name>.tmp" in the run folder and renamed when
 * whole (the manifest last); on failure the .tmp files are removed, and
 * the folder too if the run made it.  No wall-clock time is recorded, and
 * numbers are printed with 17 significant digits, so two runs of the same
 * config on the same store give byte-identical files.
 */
#ifndef CPO_RUN_H
#define CPO_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/backtest.h"
#include "cpo/config.h"
#include "cpo/error.h"
#include "cpo/market.h"
#include "cpo/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read the config's store, resolve its universe, build the cube for its
 * period (warmup included), and free the dataset.  *out belongs to the
 * caller (cpo_market_free).  A [backtest] benchmark is checked against
 * the store (cpo_config_universe) but not loaded: see cpo_run_market_bench. */
int cpo_run_market(cpo_market **out, const cpo_config *cfg, cpo_error *err);

/*
 * The benchmark of a run ([backtest] benchmark): its closes on the cube's
 * grid, kept apart from the cube so that no stage sees it through the
 * key (select = all does not pick it; it is in the cube only if the
 * universe has it: named, or every instrument when the universe is empty).
 * close[0] is the close of the step before the cube's first (start_ms),
 * close[t + 1] that of the cube's step t; NaN where the benchmark has no
 * bar (after the config's gap_fill and max_fill, as in the cube).
 */
typedef struct cpo_run_bench {
    char symbol[CPO_SYMBOL_MAX]; /* "" without a benchmark (close NULL, n 0) */
    int64_t start_ms;            /* time of close[0]: the cube's ts[0] - step */
    int64_t step_ms;             /* the cube's step */
    size_t n;                    /* the cube's steps + 1 */
    double *close;               /* [n], owned (cpo_run_bench_free) */
} cpo_run_bench;

/* cpo_run_market, and with a [backtest] benchmark its closes into *bench
 * (built as the cube is: same step and fill, from one step before the
 * cube's start to its end; refused with the key's line when its bars do
 * not fit the grid).  bench may be NULL (then as cpo_run_market); without
 * a benchmark *bench is empty.  On failure nothing is left to free. */
int cpo_run_market_bench(cpo_market **out, cpo_run_bench *bench, const cpo_config *cfg,
                         cpo_error *err);

/* Free the closes; *b is empty after.  NULL is a no-op. */
void cpo_run_bench_free(cpo_run_bench *b);

/* The benchmark's simple returns over the steps of a run on that grid,
 * aligned with the equity returns of cpo_metrics_from_result: out[k] =
 * close at ts[k] / close at ts[k] - step - 1 (the first one from the close
 * of the step before the run's first), NaN where either close is missing
 * or ts[k] is not a step of b.  Writes n values. */
void cpo_run_bench_returns(double *out, const cpo_run_bench *b, const int64_t *ts, size_t n);

/* Summary numbers of a run, computed by cpo_metrics_from_result
 * (cpo/metrics.h).  Returns are simple returns per bar; they are
 * annualised with a 365-day year (periods_per_year = 365 days / bar: 365
 * for daily bars, 8,760 for hourly ones).  Drawdown times are bar opens:
 * the equity after a step is stamped with its bar's open time, the
 * capital with the open of the bar before the first. */
typedef struct cpo_run_metrics {
    size_t n_steps;
    int64_t bar_ms;
    int64_t start_ms;          /* open of the first bar */
    int64_t end_ms;            /* end of the last bar */
    double periods_per_year;
    double capital;
    double final_equity;
    double total_return;       /* final / capital - 1 */
    double annual_return;      /* (final / capital)^(year / span) - 1 */
    double annual_volatility;  /* sample sd of bar returns * sqrt(periods_per_year) */
    double sharpe;             /* mean excess / sd * sqrt(periods_per_year): the
                                  excess over [financing] rf, else over 0 */
    double max_drawdown;       /* largest fall from a peak, as a fraction (>= 0) */
    int64_t drawdown_peak_ms, drawdown_trough_ms; /* bar opens; CPO_TIME_NONE if none */
    double pnl[CPO_PNL_COUNT]; /* each line summed over the run */
    size_t n_trades;           /* fills, liquidations included */
    size_t n_liquidations;
    size_t n_rebalances;
    size_t n_events;
    double max_rel_residual;   /* the engine's: max |residual| / max(|equity|, 1) */
    double max_identity_error; /* max |sum of lines - change in equity| / max(|equity|, 1) */
    double avg_gross;          /* mean of gross exposure / equity */
    double rf_annual;          /* [financing] rf: the steps' risk-free returns
                                  compounded to a year; NaN without one */
    double annual_over_rf;     /* (1 + annual return) / (1 + rf_annual) - 1 */
    /* Dated futures (cpo_result.fut_*; 0 without them). */
    size_t n_deliveries, n_delivery_approx;
    double delivery_fees;      /* reporting currency */
    size_t n_rolls;            /* steps where a coin's position moved from
                                  one future to another on the same side */
    double roll_costs;         /* their fees and slippage, USD */
    size_t n_fut_held_modelled;/* position-steps marked between_quotes = basis */
    size_t n_fut_held_stale;   /* position-steps marked on a price carried
                                  forward or on none: a stale mark */
    cpo_metrics table;         /* the full table of cpo/metrics.h (the fields
                                  above come from it); summary.json "metrics" */
} cpo_run_metrics;

/* bench: the run's benchmark (its returns go to the table's alpha and
 * beta), or NULL / empty for none. */
int cpo_run_metrics_compute(cpo_run_metrics *mt, const cpo_result *r, int64_t bar_ms,
                            const cpo_run_bench *bench, cpo_error *err);

/*
 * What could make a run's numbers mislead, refused or said (run_warn.c).
 *
 * Before the run: a period outside the span of the universe's bars in the
 * store (cpo_run_check_period, called by cpo_run_market), and a fixed
 * weigh stage without overlays whose spot weights need more cash than the
 * book has (cpo_run_check_plan): refused with the config line.
 *
 * After it: cpo_run_warnings finds an instrument of the universe without
 * a price on steps of the run where the run wanted it (targets, orders, a
 * position held to the end), targets ignored and orders dropped for want
 * of a price, orders cut to less than half for lack of cash or margin (at
 * least 5 % of the run's orders),
 * a `once` schedule that could not invest; one
 * warning per problem and instrument (kind, symbol, count, first and last
 * time, one line of text).  A run prints them on stderr at its end, writes
 * them to summary.json ("warnings") and the report shows them at the top.
 */
#define CPO_RUN_MAX_WARNINGS 16

typedef struct cpo_run_warning {
    char kind[24];               /* "no_price", "target_ignored", "order_dropped",
                                    "order_cut", "once_not_invested", "more" */
    char symbol[CPO_SYMBOL_MAX]; /* "" when about the whole run */
    size_t count;                /* steps, targets or orders */
    size_t of;                   /* out of (steps of the run), 0 if not a share */
    int64_t first_ms, last_ms;
    char text[320];              /* the line printed */
} cpo_run_warning;

/* Refuse a start or end outside the span of the bars of syms[n] (every
 * instrument when n is 0) in ds, naming the span: CPO_ECONFIG. */
int cpo_run_check_period(const cpo_config *cfg, const cpo_dataset *ds, char *const *syms,
                         size_t n, cpo_error *err);

/* Refuse a fixed spot book that needs leverage it does not have (see above). */
int cpo_run_check_plan(const cpo_config *cfg, const cpo_market *m, cpo_error *err);

/* The warnings of a run of cfg on m (at most max, the last "more" when
 * there were more) into out[*n]. */
int cpo_run_warnings(cpo_run_warning *out, size_t max, size_t *n, const cpo_config *cfg,
                     const cpo_market *m, const cpo_result *r, cpo_error *err);

typedef struct cpo_run_opts {
    const char *out_dir;  /* NULL: runs/<config stem> */
    int force;            /* 1: replace the files of an existing run folder */
    const char *command;  /* recorded in the manifest; NULL: "cpo run <config>" */
    const volatile sig_atomic_t *cancel; /* NULL, or a flag (a signal handler's):
                             once set, the run stops (in the engine, between
                             its phases, and in the report) with CPO_EINTR;
                             its .tmp files are removed, and no file of a run
                             that stopped before its renames is left */
    int no_plot;          /* 1: the report writes its charts' scripts and data
                             but runs no gnuplot (cpo sweep --no-plot) */
    int no_report;        /* 1: no report.html and no charts/ (cpo run
                             --no-report); an earlier run's report in the
                             folder is removed, as it would not match */
    int jobs;             /* gnuplot processes at once for the report's charts;
                             0: one per core (cpo sweep -j N gives N to its
                             best/ run).  The files do not depend on it */
} cpo_run_opts;

void cpo_run_opts_init(cpo_run_opts *o);

#define CPO_RUN_MAX_FILES 24

/* What a run made. */
typedef struct cpo_run_report {
    char dir[1024];
    size_t n_files;
    char files[CPO_RUN_MAX_FILES][32];   /* names within dir, as written */
    cpo_run_metrics metrics;
    cpo_fill_at fill;
    char currency[CPO_CCY_MAX];
    char config_sha256[65];
    char data_sha256[65];
    size_t n_warnings;           /* what could mislead (cpo_run_warnings) */
    cpo_run_warning warnings[CPO_RUN_MAX_WARNINGS];
} cpo_run_report;

/* Run cfg and write its folder.  An existing folder is refused
 * (CPO_EEXIST) unless opts->force. */
int cpo_run_to_dir(const cpo_config *cfg, const cpo_run_opts *opts,
                   cpo_run_report *rep, cpo_error *err);

/* The one-screen summary of a run. */
void cpo_run_report_print(const cpo_run_report *rep, const cpo_config *cfg,
                          FILE *out);

/* The run's warnings, one line each: "cpo: warning: ..." (cpo run prints
 * them on stderr whether or not it prints the summary). */
void cpo_run_warnings_print(const cpo_run_report *rep, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
