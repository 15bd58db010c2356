/*
 * cpo/sweep.h - parameter sweeps and walk-forward tests of one config.
 *
 * A [sweep] section names the keys to vary and their values:
 *
 *     [sweep]
 *     weigh.meanvar.risk_aversion = 1, 2, 5, 10     ; a list
 *     costs.slippage_bps          = 0:10:2          ; start:stop:step
 *     overlay.voltarget.target    = 0.2:0.8:0.1     ; 0.2, 0.3, ... 0.8
 *
 * A key is SECTION.KEY: a key of [backtest] that leaves the market as it
 * is (capital, currency, collateral, seed, cash_buffer), any key of
 * [costs], or ROLE.STAGE.PARAM for a declared parameter of a stage of the
 * pipeline.  A value is a comma-separated list (each item as the key
 * would take it), or one range start:stop:step of decimal numbers with
 * start <= stop and step > 0, stop included; the values are start + k *
 * step computed in integers of the finest decimal of start and step, so
 * 0.2:0.8:0.1 is exactly 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8.
 *
 * The grid is the Cartesian product of the keys' values.  Points are
 * numbered 0 .. n-1 in row-major order of the keys as written: the last
 * key varies fastest, point 0 takes the first value of every key.  Every
 * point is a backtest of the config with its values in place of the
 * file's (cpo_config_load_with), run on the one market the caller loaded,
 * which the workers only read.
 *
 * A [walkforward] section turns the sweep into a walk-forward test:
 *
 *     [walkforward]
 *     train     = 180d                ; length of a training window
 *     test      = 30d                 ; length of a test window
 *     mode      = rolling             ; or expanding (train from the start)
 *     objective = sharpe              ; what the training maximises
 *
 * Windows cover the config's period (start .. end): window k trains on
 * [s + k*test, s + k*test + train) (expanding: [s, s + train + k*test))
 * and tests on the next `test` (the last test window may be shorter).  On
 * each training window every grid point runs restricted to the window
 * (spec start/end), the best by the objective (ties: the lowest point
 * index) is chosen, and the test window runs it.  Stages only ever see
 * data up to their current step, so nothing after a training window can
 * reach its choice.
 *
 * mode = cpcv (keys groups, test_groups, purge, embargo) is combinatorial
 * purged cross-validation instead: every point runs once over the whole
 * period, and the splits choose and measure points on the block sums of
 * those runs (cpo_sweep_cpcv).  Every grid also gets the deflated Sharpe
 * ratio of its best point and the probability of backtest overfitting of
 * the choice ([overfit] blocks; cpo_sweep_overfit_compute).
 *
 * Results do not depend on the number of threads: every point is computed
 * on its own and the records are kept in point order, then sorted stably.
 */
#ifndef CPO_SWEEP_H
#define CPO_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/backtest.h"
#include "cpo/config.h"
#include "cpo/error.h"
#include "cpo/market.h"
#include "cpo/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a sweep ranks by.  Every objective is turned into a score where
 * higher is better (drawdown and volatility are negated); NaN ranks last. */
typedef enum cpo_objective {
    CPO_OBJ_SHARPE = 0,
    CPO_OBJ_CAGR,
    CPO_OBJ_TOTAL_RETURN,
    CPO_OBJ_MAX_DRAWDOWN,  /* lower is better */
    CPO_OBJ_VOLATILITY,    /* lower is better */
    CPO_OBJ_CALMAR,        /* cagr / max drawdown */
    CPO_OBJ_FINAL_EQUITY,
    CPO_OBJ_COUNT
} cpo_objective;

const char *cpo_objective_name(cpo_objective o); /* "sharpe", ... */
/* 0 and *out, or CPO_ENOTFOUND for an unknown name. */
int cpo_objective_parse(const char *name, cpo_objective *out);
/* The names as "sharpe, cagr, ..." (for messages). */
const char *cpo_objective_names(void);

/* One key of [sweep] and its values. */
typedef struct cpo_sweep_axis {
    char *name;      /* "costs.slippage_bps", as written */
    char *section;   /* "costs", "weigh.meanvar" */
    char *key;       /* "slippage_bps" */
    char **values;   /* [n_values] text of each value */
    size_t n_values;
    long line;
} cpo_sweep_axis;

typedef enum cpo_wf_mode {
    CPO_WF_ROLLING = 0,
    CPO_WF_EXPANDING = 1,
    CPO_WF_CPCV = 2 /* combinatorial purged cross-validation (below) */
} cpo_wf_mode;

typedef struct cpo_walkforward {
    int64_t train_ms, test_ms;     /* rolling, expanding */
    cpo_wf_mode mode;
    cpo_objective objective;
    size_t groups, test_groups;    /* cpcv: N groups, k of them tested (6, 2) */
    int64_t purge_ms, embargo_ms;  /* cpcv: training time dropped before and
                                      after each test group (0, 0) */
} cpo_walkforward;

/* One walk-forward window: [train_start, train_end) then [test_start,
 * test_end) with test_start = train_end. */
typedef struct cpo_wf_window {
    int64_t train_start, train_end;
    int64_t test_start, test_end;
} cpo_wf_window;

typedef struct cpo_sweep {
    const cpo_config *cfg;   /* the base config (not owned) */
    cpo_sweep_axis *axes;    /* in [sweep] order */
    size_t n_axes;
    size_t n_points;         /* product of the axes' value counts */
    int has_walkforward;
    cpo_walkforward wf;
    size_t cscv_blocks;      /* [overfit] blocks: S of the PBO (16) */
} cpo_sweep;

#define CPO_SWEEP_MAX_POINTS 1000000u

/*
 * Read cfg's [sweep] (required) and [walkforward] (optional) sections and
 * check every value of every key against the config (each value is loaded
 * once in place of the file's).  *out belongs to the caller
 * (cpo_sweep_free) and must not outlive cfg.  Messages name the line:
 *
 *   config.ini:9: [sweep] costs.slippage_bps = "5:1:1" is not a range
 *   (expected start:stop:step with start <= stop and step > 0)
 */
int cpo_sweep_load(cpo_sweep **out, const cpo_config *cfg, cpo_error *err);
void cpo_sweep_free(cpo_sweep *sw); /* NULL is a no-op */

/* The index into axis a's values of point p. */
size_t cpo_sweep_value_index(const cpo_sweep *sw, size_t p, size_t a);
/* The text of axis a's value at point p. */
const char *cpo_sweep_value(const cpo_sweep *sw, size_t p, size_t a);

/* The config of point p: cfg's file with p's values in place.  *out
 * belongs to the caller (cpo_config_free). */
int cpo_sweep_point_config(cpo_config **out, const cpo_sweep *sw, size_t p, cpo_error *err);

/* The summary of one backtest of a sweep: a fixed-size record (plain
 * bytes, so that MPI ranks can send it as it is). */
#define CPO_SWEEP_MSG_MAX 256
/* Block statistics a record can hold: CSCV's S blocks, or CPCV's groups
 * cut in three (embargo head, body, purge tail). */
#define CPO_SWEEP_MAX_BLOCKS (3 * CPO_STATS_CPCV_MAX_GROUPS)
typedef struct cpo_sweep_result {
    uint64_t point;           /* grid point */
    int64_t start_ms, end_ms; /* the requested period (CPO_TIME_NONE: config's) */
    int32_t status;           /* 0, or the CPO_E* code the point failed with */
    int32_t done;             /* 1 once computed */
    double total_return;
    double cagr;              /* annual_return of cpo_run_metrics */
    double annual_vol;
    double sharpe;
    double max_drawdown;
    double calmar;            /* cagr / max_drawdown (NaN if no drawdown) */
    double final_equity;
    double fees;              /* P&L lines summed over the run (<= 0 for costs) */
    double slippage;
    double funding;
    double avg_gross;
    uint64_t n_steps;
    uint64_t n_trades;
    uint64_t n_rebalances;
    uint64_t n_liquidations;
    char error[CPO_SWEEP_MSG_MAX]; /* "path:line: message" when status != 0 */
    /* The run's per-bar returns (equity over the equity a bar before; the
     * capital before the first): Sharpe per bar, skewness, kurtosis (not
     * excess), and the bars a year used to annualise. */
    double sharpe_bar, skew, kurtosis, periods_per_year;
    /* Sums of the returns by block of steps (whole-period runs of a grid:
     * cpo_sweep_blocks); n_blocks = 0 when not kept. */
    uint32_t n_blocks, reserved;
    cpo_stats_block blocks[CPO_SWEEP_MAX_BLOCKS];
    /* Gross of trading costs: the fees and slippage paid added back to
     * the final equity ((final - fees - slippage) / capital - 1), and its
     * CAGR. */
    double gross_return, gross_cagr;
} cpo_sweep_result;

/* The score of r under o: higher is better; NaN for failed points. */
double cpo_sweep_score(const cpo_sweep_result *r, cpo_objective o);

/* One backtest to run: a grid point on a period ([start_ms, end_ms] as in
 * cpo_run_spec; CPO_TIME_NONE: the config's). */
typedef struct cpo_sweep_task {
    size_t point;
    int64_t start_ms, end_ms;
} cpo_sweep_task;

typedef struct cpo_sweep_exec {
    int n_threads;     /* < 1: one */
    size_t stride;     /* run tasks i with i % stride == offset (MPI ranks); */
    size_t offset;     /* 0/0: every task */
    FILE *progress;    /* done/total, rate, ETA; NULL: silent */
    const char *label; /* progress prefix ("sweep") */
    const volatile sig_atomic_t *cancel; /* NULL, or a flag (a signal handler's):
                          once set, no task starts, the running backtests
                          stop, and the call returns CPO_EINTR */
} cpo_sweep_exec;

void cpo_sweep_exec_init(cpo_sweep_exec *x);

/*
 * Run the tasks this process takes (every task, or i % stride == offset)
 * on m with n_threads workers.  out[i] gets the record of task i (the
 * others are left as they are, done = 0).  A failing backtest is recorded
 * in its record (status, error), not returned: the return value is
 * non-zero only when the sweep itself cannot go on (out of memory, no
 * thread).  When keep is not NULL, keep[i] gets the result of task i (the
 * caller frees each with cpo_result_free).
 */
int cpo_sweep_run_tasks(const cpo_sweep *sw, const cpo_market *m, const cpo_sweep_task *tasks,
                        size_t n_tasks, const cpo_sweep_exec *x, cpo_sweep_result *out,
                        cpo_result **keep, cpo_error *err);

/* The order of a leaderboard: point indices by score under o, best first,
 * ties (and NaN scores, last) by point index.  order has n entries. */
int cpo_sweep_rank(const cpo_sweep_result *res, size_t n, cpo_objective o, size_t *order,
                   cpo_error *err);

/* The best point of n records (as cpo_sweep_rank orders them) among those
 * that ran; *score its score (NaN if every score is NaN: then the lowest
 * point that ran).  CPO_EDATA when none ran, with the first failure. */
int cpo_sweep_choose(const cpo_sweep_result *res, size_t n, cpo_objective o, size_t *point,
                     double *score, cpo_error *err);

/* The walk-forward windows over [start, end] (end inclusive, as in a run
 * spec).  *out is malloc'd (free it); CPO_ECONFIG naming the
 * [walkforward] section when not even one window fits. */
int cpo_sweep_windows(const cpo_sweep *sw, int64_t start, int64_t end, cpo_wf_window **out,
                      size_t *n, cpo_error *err);

/*
 * The out-of-sample equity: the test runs chained end to end, each one
 * starting from the equity the previous one ended with (its equity and
 * P&L lines scaled by that factor / capital), so the chain's returns are
 * the test windows' returns.  Trades and events are concatenated.
 * *window_of_step (if not NULL) gets a malloc'd array: the window of each
 * step.  *out belongs to the caller (cpo_result_free).
 */
int cpo_sweep_chain(cpo_result **out, cpo_result *const *tests, size_t n, double capital,
                    int32_t **window_of_step, cpo_error *err);

/* A record from a result: the metrics of cpo_run_metrics_compute. */
int cpo_sweep_record(cpo_sweep_result *rec, const cpo_result *r, int64_t bar_ms,
                     cpo_error *err);

/*
 * The blocks of steps a whole-period run of sw is cut into, for n_steps
 * steps of bar_ms: *n blocks, block k holding steps [lo[k], hi[k]).
 * Grid: CSCV's S = sw->cscv_blocks blocks of floor(T / S) steps after the
 * first T mod S (as pypbo cuts them); none when T < 2 S.  CPCV: each
 * group g (cpo_stats_group_start) as blocks 3g (its first embargo
 * steps), 3g + 1 (the middle) and 3g + 2 (its last purge steps), with
 * purge and embargo rounded up to whole steps.
 */
void cpo_sweep_block_layout(const cpo_sweep *sw, size_t n_steps, int64_t bar_ms, size_t *n,
                            size_t *lo, size_t *hi);

/* Fill rec's blocks from the result r of a whole-period run. */
void cpo_sweep_blocks(cpo_sweep_result *rec, const cpo_sweep *sw, const cpo_result *r,
                      int64_t bar_ms);

/* --- overfitting: deflated Sharpe, PBO, CPCV ------------------------------- */

typedef struct cpo_sweep_overfit {
    size_t chosen;         /* the best point by the objective */
    size_t n_trials;       /* points with a per-bar Sharpe ratio */
    double var_sharpe;     /* sample variance of their per-bar Sharpe ratios */
    double n_obs;          /* the chosen point's returns */
    cpo_stats_dsr dsr;     /* of the chosen point */
    double psr0;           /* its PSR against 0 */
    int has_pbo;
    cpo_stats_pbo pbo;     /* CSCV over the points (has_pbo) */
    char pbo_note[160];    /* why there is no PBO */
} cpo_sweep_overfit;

/*
 * The deflated Sharpe ratio of the point the objective chooses (per-bar
 * Sharpe, skewness and kurtosis of its returns, the number of points that
 * ran and the variance of their Sharpe ratios) and, when every point that
 * ran holds the same CSCV blocks, the probability of backtest overfitting.
 * dsr (may be NULL) gets every point's DSR against the same SR0 (NaN for
 * failed points).  CPO_EDATA when no point ran.
 */
int cpo_sweep_overfit_compute(cpo_sweep_overfit *out, double *dsr, const cpo_sweep *sw,
                              const cpo_sweep_result *res, cpo_objective o, cpo_error *err);

/* One split of CPCV: the point chosen on its training steps and how it did
 * on its test groups. */
typedef struct cpo_cpcv_split {
    uint8_t test[CPO_STATS_CPCV_MAX_GROUPS]; /* 1: group tested */
    size_t point;
    double train_score;      /* the objective on the training steps */
    double test_sharpe;      /* annualised, on the test groups */
    double test_return;      /* compounded over the test groups */
    double oos_rank;         /* of the chosen point's test Sharpe among all
                                points (1 = worst; ties averaged) */
    double logit;            /* ln(w / (1 - w)), w = rank / (N + 1) */
} cpo_cpcv_split;

/* One CPCV path: every group's test returns, each from its split. */
typedef struct cpo_cpcv_path {
    int32_t split[CPO_STATS_CPCV_MAX_GROUPS];
    double sharpe, cagr, total_return, annual_vol;
} cpo_cpcv_path;

typedef struct cpo_cpcv {
    size_t n_groups, k, n_splits, n_paths, n_points;
    size_t purge_steps, embargo_steps;
    cpo_cpcv_split *splits; /* [n_splits] */
    cpo_cpcv_path *paths;   /* [n_paths] */
    double pbo;             /* fraction of splits with logit <= 0 */
    double path_sharpe_mean, path_sharpe_sd, path_sharpe_min, path_sharpe_max;
} cpo_cpcv;

/*
 * CPCV over the whole-period records of every point (their blocks laid out
 * by cpo_sweep_block_layout for mode = cpcv): on each split the training
 * steps (cpo_stats_cpcv_train) choose the point by sw->wf.objective
 * (sharpe, cagr, total_return or volatility: what block sums give), the
 * test groups measure it, and the paths chain the test groups.  *out is
 * filled; free it with cpo_cpcv_fini.
 */
int cpo_sweep_cpcv(cpo_cpcv *out, const cpo_sweep *sw, const cpo_sweep_result *res,
                   cpo_error *err);
void cpo_cpcv_fini(cpo_cpcv *c); /* zeroed struct is fine */

/* The period of the config's run on m: [*start, *end], end inclusive. */
void cpo_sweep_period(const cpo_sweep *sw, const cpo_market *m, int64_t *start, int64_t *end);

/* --- the output folder (run/sweep_out.c) --------------------------------- */

/*
 *   leaderboard.csv   one row per point, best first: rank, point, the keys'
 *                     values, score, metrics, skewness, kurtosis, deflated
 *                     Sharpe ratio, return and CAGR gross of fees and
 *                     slippage, error
 *   summary.json      the sweep: points, the best, its deflated Sharpe ratio,
 *                     the probability of backtest overfitting (CSCV), and
 *                     with mode = cpcv the splits' and paths' summary
 *   cpcv.csv          mode = cpcv: one row per split
 *   cpcv_paths.csv    mode = cpcv: one row per path
 *   leaderboard.html  the same as one self-contained table
 *   heatmap.dat       two-key grids: the score by value index (gnuplot)
 *   heatmap.gp        a gnuplot script (pngcairo) drawing heatmap.png
 *   heatmap.png       when gnuplot is on PATH
 *   walkforward.csv   [walkforward]: one row per window: its dates, the
 *                     chosen point and values, train score, test metrics
 *   oos_equity.csv    the chained equity of the test windows
 *   oos_summary.csv   the metrics of that out-of-sample equity
 *
 * Every file is written to NAME.tmp and renamed when whole.  An existing
 * folder is refused (CPO_EEXIST) unless force; with force, the files of
 * an earlier sweep that this one does not make are removed.
 */
typedef struct cpo_sweep_out {
    const char *dir;
    int force;
    int plot;          /* 1: run gnuplot for heatmap.png if on PATH */
    FILE *warn;        /* warnings (no gnuplot); NULL: silent */
    cpo_objective objective;
    int best;          /* 1: run the chosen point (the best) again into DIR/best/,
                          a run folder with its report, shown on leaderboard.html */
    int jobs;          /* at most this many gnuplot processes at once for best/'s
                          charts (cpo sweep -j N: N, so that -j 1 uses one core
                          throughout); 0: one per core */
    cpo_sweep_overfit *overfit; /* NULL, or where cpo_sweep_write leaves the overfitting
                          figures summary.json holds (n_trials 0 if there are
                          none), so that a caller does not compute them again */
} cpo_sweep_out;

/* Check (and make) the folder: refused if it exists unless force. */
int cpo_sweep_out_prepare(const cpo_sweep_out *o, cpo_error *err);

/* The bytes of leaderboard.csv to fp: the points in order (order[i]: the
 * point ranked i, as cpo_sweep_rank makes it), dsr[p] the deflated Sharpe
 * ratio of point p (cpo_sweep_overfit_compute; NULL: none). */
void cpo_sweep_put_leaderboard(FILE *fp, const cpo_sweep *sw, const cpo_sweep_result *res,
                               const size_t *order, const double *dsr);

/* leaderboard.csv, leaderboard.html, summary.json, for two keys the
 * heatmap, with [walkforward] mode = cpcv cpcv.csv and cpcv_paths.csv, and
 * with o->best the chosen point's run folder best/. */
int cpo_sweep_write(const cpo_sweep_out *o, const cpo_sweep *sw, const cpo_sweep_result *res,
                    cpo_error *err);

/* One walk-forward window's outcome. */
typedef struct cpo_wf_outcome {
    cpo_wf_window w;
    size_t point;          /* chosen on the training window */
    double train_score;
    cpo_sweep_result test; /* the test window's record */
} cpo_wf_outcome;

/* walkforward.csv, oos_equity.csv (the chained equity, as made by
 * cpo_sweep_chain) and oos_summary.csv (oos: its metrics, as made by
 * cpo_sweep_record). */
int cpo_sweep_write_walkforward(const cpo_sweep_out *o, const cpo_sweep *sw,
                                const cpo_wf_outcome *wo, size_t n_windows,
                                const cpo_result *chained, const int32_t *window_of_step,
                                const cpo_sweep_result *oos, cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
