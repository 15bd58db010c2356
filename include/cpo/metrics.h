/*
 * cpo/metrics.h - performance metrics of a return series, of an equity
 * curve, or of a backtest result (METHODS.md section 5).
 *
 * The definitions follow empyrical's stats.py (0.5.x) [S21]; where cpo
 * deviates from it, or where quantstats [S22] or pyfolio [S24] define a
 * metric differently, the comment of the field says so.  README.md,
 * section "Metrics", documents the same table for users.
 *
 * Conventions.
 *   - Returns are SIMPLE returns per period (r = V_t / V_{t-1} - 1), never
 *     log returns.  NaN means missing.
 *   - A = periods per year, from the bar spacing on a 365-day year
 *     (crypto trades every day): 365 for daily bars, 8,760 for hourly
 *     ones, 1,095 for 8-hour funding periods.  Never 252.  See
 *     cpo_metrics_periods_per_year.
 *   - The wealth path has n + 1 points for n periods: point 0 is the start
 *     (wealth 1, or the starting capital), point k the wealth after
 *     period k - 1.  Drawdowns are measured on it, so a loss in the first
 *     period is a drawdown (empyrical 0.5 prepends the start too).
 *   - A missing (NaN) return is a period in which wealth did not change
 *     for the wealth-path metrics (cumulative return, CAGR, drawdowns; as
 *     empyrical's cum_returns), and is left out of the distribution
 *     metrics (mean, standard deviation, percentiles, counts; as
 *     empyrical's nanmean/nanstd).  CAGR counts it as a period.
 *   - Every metric that is not defined on the data (too few returns, a
 *     zero denominator) is NaN, never +-inf; times that do not exist are
 *     CPO_TIME_NONE.
 */
#ifndef CPO_METRICS_H
#define CPO_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/backtest.h"
#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest drawdown table a cpo_metrics holds. */
#define CPO_METRICS_MAX_DRAWDOWNS 10
/* An index that does not exist (a drawdown not recovered). */
#define CPO_METRICS_NO_INDEX ((size_t)-1)

/* Settings of a computation.  cpo_metrics_opts_init gives the defaults. */
typedef struct cpo_metrics_opts {
    double periods_per_year; /* A; 0 = from the bar spacing (results, CSV files) */
    double rf;               /* risk-free return PER PERIOD (0); Sharpe, Sortino's
                                minimum acceptable return, Omega, alpha */
    double required_return;  /* ANNUAL required return of Omega (0) */
    double cutoff;           /* tail probability of VaR and CVaR (0.05) */
    size_t top_drawdowns;    /* rows of the drawdown table (5; at most
                                CPO_METRICS_MAX_DRAWDOWNS) */
    const double *rf_series; /* [n] risk-free return of each period (NaN =
                                0), in place of rf, or NULL; m->rf is then
                                their mean */
    const double *bench;     /* cpo_metrics_from_result only: [r->n_steps]
                                benchmark simple returns, bench[k] over the
                                same period as the equity's return k (from
                                the close of the bar before r->ts[k] to the
                                close of r->ts[k]; NaN = missing), or NULL
                                (none).  cpo_metrics_compute takes its
                                benchmark from the input, not from here. */
} cpo_metrics_opts;

void cpo_metrics_opts_init(cpo_metrics_opts *o);

/*
 * One drawdown (pyfolio's gen_drawdown_table [S24], on the wealth path
 * with its start prepended).  Indices are wealth points (0 = the start).
 *   peak      the last point before the trough at the running maximum
 *   trough    the lowest point (the first, if it is reached twice)
 *   recovery  the first point after the trough back at the peak's wealth
 *             (CPO_METRICS_NO_INDEX / CPO_TIME_NONE if not recovered)
 *   depth     W_trough / W_peak - 1 (< 0)
 *   duration  peak to recovery: bars = recovery - peak (periods elapsed),
 *             days = (recovery_ms - peak_ms) / 86,400,000 (calendar time);
 *             NaN if not recovered (days: NaN too without times).
 *             pyfolio counts business days from peak to recovery
 *             inclusive; crypto trades every day, so cpo counts elapsed
 *             bars and calendar days.
 */
typedef struct cpo_drawdown {
    double depth;
    size_t peak, trough, recovery;
    int64_t peak_ms, trough_ms, recovery_ms;
    double duration_bars;
    double duration_days;
} cpo_drawdown;

/*
 * The input of cpo_metrics_compute: n periods, given as returns, as an
 * equity curve, or both (returns for the distribution metrics, equity for
 * the wealth path).  The caller owns every array.
 */
typedef struct cpo_metrics_input {
    size_t n;               /* periods */
    const double *returns;  /* [n] simple returns (NaN = missing), or NULL */
    const double *equity;   /* [n + 1] equity, [0] the start (> 0), or NULL */
    const int64_t *ts_ms;   /* [n + 1] times of the wealth points, or NULL;
                               a period's point is stamped with the time
                               that labels the period (a bar's open time
                               in a run, the row's date in a CSV file) */
    const double *bench;    /* [n] benchmark simple returns (NaN = missing), or NULL */
} cpo_metrics_input;

/*
 * The metrics table.  Fractions are fractions (0.05 = 5 %).  [S21]
 * references are to empyrical stats.py, [S24] to pyfolio, [S22] to
 * quantstats (METHODS.md, Sources).
 */
typedef struct cpo_metrics {
    /* --- the series ---------------------------------------------------- */
    size_t n_periods;         /* n, missing returns included */
    size_t n_valid;           /* finite returns */
    double periods_per_year;  /* A */
    double rf;                /* per period, as given */
    double required_return;   /* annual, as given */
    double cutoff;            /* VaR / CVaR tail probability */
    int64_t start_ms, end_ms; /* times of wealth points 0 and n (or NONE) */

    /* --- returns ------------------------------------------------------- */
    /* Pi(1 + r) - 1, i.e. W_n / W_0 - 1 ([S21] cum_returns_final). */
    double cumulative_return;
    /* (Pi(1 + r))^(A / n) - 1 ([S21] cagr, annual_return): n counts every
     * period; -1 if the wealth ends at or below 0.  quantstats has used
     * calendar days / 365 and, in one version, days / periods. */
    double cagr;
    /* std(r, ddof = 1) * sqrt(A); NaN for fewer than 2 returns. */
    double annual_volatility;
    /* mean(r - rf) / std(r - rf, ddof = 1) * sqrt(A); NaN for fewer than 2
     * returns or a zero standard deviation (empyrical 0.5 returns inf for
     * a constant series; cpo NaN). */
    double sharpe;
    /* sqrt(mean(min(r - rf, 0)^2)) * sqrt(A): divides by all n, not by the
     * number of losses ([S21] downside_risk with required_return = rf). */
    double downside_risk;
    /* mean(r - rf) * A / downside_risk.  The minimum acceptable return is
     * the risk-free rate, as in quantstats (empyrical's required_return
     * defaults to 0; equal when rf = 0).  NaN for fewer than 2 returns or
     * a zero downside risk (empyrical: +-inf). */
    double sortino;
    /* CAGR / |max drawdown|; NaN if there is no drawdown ([S21]). */
    double calmar;
    /* Omega ([S21] omega_ratio): tau = (1 + required_return)^(1/A) - 1
     * (tau = required_return when A = 1), then
     * sum max(r - rf - tau, 0) / sum max(tau - r + rf, 0); NaN if the
     * denominator is 0, for fewer than 2 returns, or required_return <= -1.
     * empyrical's default A here is 252; cpo always uses the series' A. */
    double omega;
    /* |pct95(r)| / |pct5(r)|, percentiles with linear interpolation
     * (numpy's default); NaN if pct5 is 0 ([S21] tail_ratio: inf). */
    double tail_ratio;
    /* Historical VaR: pct_{100 cutoff}(r), linear interpolation ([S21]
     * value_at_risk).  A return (negative for a loss), not a loss amount.
     * quantstats' VaR is parametric, pyfolio's mean - 2 sd. */
    double var;
    /* Historical CVaR: the mean of the k + 1 smallest returns,
     * k = floor((n_valid - 1) * cutoff) ([S21] conditional_value_at_risk). */
    double cvar;
    /* R^2 of the OLS fit of cumsum(log1p(r)) on t = 0, 1, ... (finite
     * returns only; [S21] stability_of_timeseries).  NaN for fewer than 2
     * returns or if the cumulative log return is constant (scipy's
     * linregress then gives r = 0). */
    double stability;
    /* #(r > 0) / #(r != 0) (quantstats win_rate); NaN if no return is
     * non-zero. */
    double hit_rate;

    /* --- drawdowns ----------------------------------------------------- */
    /* min_k (W_k / max_{s <= k} W_s - 1) <= 0 on the wealth path with the
     * start prepended ([S21] max_drawdown, empyrical 0.5); NaN if n = 0. */
    double max_drawdown;
    cpo_drawdown max_dd;      /* its peak, trough, recovery (depth 0 and
                                 every index NO_INDEX if none) */
    size_t n_drawdowns;       /* rows of the table */
    /* The deepest drawdowns, deepest first, as pyfolio's
     * get_top_drawdowns: find the deepest, cut the points strictly between
     * its peak and recovery (or everything after its peak if it is not
     * recovered), repeat. */
    cpo_drawdown drawdowns[CPO_METRICS_MAX_DRAWDOWNS];

    /* --- against a benchmark (NaN without one) -------------------------- */
    int has_benchmark;
    size_t n_pairs;           /* periods where both returns are finite */
    /* beta = cov(r - rf, b - rf) / var(b - rf), population moments on the
     * jointly finite pairs; NaN for fewer than 2 pairs or var < 1e-30
     * ([S21] beta_aligned). */
    double beta;
    /* (1 + mean(r - rf - beta (b - rf)))^A - 1 ([S21] alpha_aligned,
     * empyrical 0.5; quantstats: (mean r - beta mean b) * A). */
    double alpha;

    /* --- from a backtest result (has_result; else NaN / 0) -------------- */
    int has_result;
    /* pyfolio get_turnover (denominator 'AGB') [S24]: per period, the
     * value traded / mean(GMV_{t-1}, GMV_t), with GMV_{-1} = 0 (all cash
     * before the first step: pyfolio's first denominator GMV_0 / 2); GMV = gross exposure
     * in the reporting currency (gross * equity).  A period with a zero
     * denominator counts 0 if nothing traded and is left out otherwise.
     * Value traded: |qty| * contract size * price for linear instruments
     * (quote currency, counted 1:1 with the reporting currency, the
     * engine's rule for USDT), |qty| * contract size for inverse ones
     * (USD contracts).  turnover = the mean per period; turnover_annual =
     * turnover * A. */
    double turnover;
    double turnover_annual;
    /* Exposure.  leverage = gross = sum |exposure_i| / equity per step,
     * net_leverage = sum exposure_i / equity; the *_exposure fields are the
     * same in the reporting currency (times equity).  Means over the steps
     * where they are finite. */
    double leverage_mean, leverage_max, net_leverage_mean;
    double gross_exposure_mean, gross_exposure_max;
    double net_exposure_mean, net_exposure_min, net_exposure_max;
    /* Costs paid over the run, reporting currency: minus the sums of the
     * ledger's fees, funding and slippage lines (funding_paid < 0 when
     * funding was received on balance). */
    double fees_paid, funding_paid, slippage_paid;
    /*
     * Hit rate by round trip.  A round trip is a position in one
     * instrument opened from 0 and closed back to 0 (|q| at most 1e-9 of
     * the largest |q| of the trip counts as 0); a fill that crosses 0
     * closes one trip and opens the next with the rest, its fee split pro
     * rata.  Its P&L, in the instrument's settlement currency, is realised
     * with average-cost accounting at fill prices (so slippage is in it)
     * minus its fees: linear  (px - avg entry) * closed qty * contract
     * size; inverse  closed qty * contract size * (1/avg entry - 1/px),
     * the average of 1/price weighted by contracts (the harmonic entry of
     * an inverse contract).  A trip is profitable if that P&L is > 0.
     * Positions still open at the end are not counted.  NaN if no trip
     * closed.
     */
    size_t round_trips, round_trips_won;
    double hit_rate_round_trips;
} cpo_metrics;

/*
 * Compute the table of a series.  opts->periods_per_year must be > 0 here
 * (NULL opts are the defaults, whose A is 0: refused).  Empty and
 * one-period series are fine: the metrics that need more are NaN.
 * CPO_EINVAL for a missing series, A <= 0, a cutoff outside (0, 1) or an
 * equity curve that does not start above 0; CPO_ENOMEM.
 */
int cpo_metrics_compute(cpo_metrics *m, const cpo_metrics_input *in,
                        const cpo_metrics_opts *opts, cpo_error *err);

/*
 * The table of a backtest result: the wealth path is the capital then the
 * equity after every step; point k >= 1 is stamped with the open of the
 * bar it closes (r->ts[k-1]) and the start with the open of the bar before
 * the first (r->ts[0] - bar_ms).  A = 365 days / bar_ms unless opts gives
 * it.  Adds the result-only fields (turnover, exposure, costs, round
 * trips).  With opts->bench, the benchmark fields (alpha, beta, n_pairs;
 * has_benchmark = 1); without it they are NaN and has_benchmark is 0.
 */
int cpo_metrics_from_result(cpo_metrics *m, const cpo_result *r, int64_t bar_ms,
                            const cpo_metrics_opts *opts, cpo_error *err);

/* --- helpers ------------------------------------------------------------- */

/* 365 days / spacing: 365 for 1d, 8760 for 1h, 1095 for 8h; NaN if
 * spacing_ms <= 0. */
double cpo_metrics_periods_per_year(int64_t spacing_ms);

/* The median of ts[k+1] - ts[k] (the lower middle one for an even count);
 * 0 if n < 2.  ts need not be sorted; the differences are taken in order. */
int64_t cpo_metrics_median_spacing(const int64_t *ts_ms, size_t n, cpo_error *err);

/* Simple returns of an equity curve: out[k] = equity[k+1] / equity[k] - 1
 * for k < n_points - 1 (NaN where either value is not finite or
 * equity[k] <= 0).  Returns the number written (n_points - 1, or 0). */
size_t cpo_metrics_returns(double *out, const double *equity, size_t n_points);

/* Wealth of returns: out[0] = start, out[k+1] = out[k] * (1 + r[k]) (a NaN
 * return leaves it unchanged).  Writes n + 1 values. */
void cpo_metrics_wealth(double *out, const double *r, size_t n, double start);

/*
 * The drawdown table of a wealth path w[0..n_points) (NaN points are
 * skipped), with optional times.  Writes at most max_rows rows to out,
 * deepest first, and returns how many (0 if there is no drawdown).
 * CPO_ENOMEM as a negative return.
 */
long cpo_metrics_drawdowns(cpo_drawdown *out, size_t max_rows, const double *w,
                           const int64_t *ts_ms, size_t n_points, cpo_error *err);

/*
 * Round trips of one instrument, fill by fill: the definition of the
 * table's round_trips (see the field above).  Start from a zeroed
 * cpo_trip; each fill (signed qty in contracts, fill price px > 0, fee >=
 * 0 in the settlement currency, at ts_ms) updates it.  Returns 1 when the
 * fill closed a trip (then *done holds it; a fill that crosses 0 also
 * opens the next trip with the rest of its quantity and fee), else 0.
 * A fill with qty 0, a quantity that is not finite or a price not > 0
 * is ignored.
 */
typedef struct cpo_trip {
    double q;        /* open position, contracts; 0: flat */
    double avg;      /* average entry: price (linear) or 1/price (inverse) */
    double pnl;      /* realised P&L minus fees so far, settlement currency */
    double qmax;     /* largest |q| of the trip */
    int64_t open_ms; /* time of the fill that opened it */
} cpo_trip;

typedef struct cpo_trip_done {
    double pnl;                 /* realised P&L minus fees, settlement currency */
    int64_t open_ms, close_ms;  /* the fills that opened and closed it */
} cpo_trip_done;

int cpo_trip_fill(cpo_trip *s, double qty, double px, double fee, double contract_size,
                  int inverse, int64_t ts_ms, cpo_trip_done *done);

/* --- output -------------------------------------------------------------- */

/* The table as a JSON object (jansson; the caller owns the reference, NULL
 * when out of memory).  Keys are the field names above (max_drawdown_peak,
 * ..._trough, ..._recovery as ISO times; NaN as null; the result-only keys
 * only when has_result; the benchmark keys only when has_benchmark). */
struct json_t *cpo_metrics_json(const cpo_metrics *m);

/* The same table as aligned text, one "  name  value" line per metric. */
void cpo_metrics_print(const cpo_metrics *m, FILE *out);

/* --- CSV series (`cpo metrics FILE`) -------------------------------------- */

typedef struct cpo_metrics_csv_opts {
    const char *time_column;  /* NULL: ts, date, time, timestamp or datetime */
    const char *value_column; /* NULL: equity, value, nav or close; with
                                 returns: return, returns or value */
    const char *bench_column; /* NULL: no benchmark */
    int returns;              /* 1: the value and benchmark columns hold simple
                                 returns; 0: equity / prices */
} cpo_metrics_csv_opts;

/* A series read from a CSV file.  Owned by the caller (cpo_metrics_csv_free). */
typedef struct cpo_metrics_csv {
    size_t n;            /* data rows (>= 2) */
    int64_t *ts_ms;      /* [n] strictly increasing */
    double *value;       /* [n] finite; > 0 for equity */
    double *bench;       /* [n] or NULL; NaN where blank */
    int returns;         /* as read */
    int64_t spacing_ms;  /* median spacing of ts_ms */
    char value_name[64], bench_name[64];
    int run_ledger;      /* 1: a run's ledger.csv, with its capital put first
                            (row 0, one spacing before the file's first row) */
    const char *capital_from; /* run_ledger: "summary.json" (the one beside
                            the file) or "the first row less its P&L lines" */
    double *rf;          /* run_ledger with an rf column (a [financing] rf):
                            [n - 1] the risk-free return of each period,
                            used when opts give no rf; else NULL */
} cpo_metrics_csv;

/*
 * Read a CSV with a time column (ISO 8601 dates or date-times, or integer
 * ms since 1970; a 10-digit integer is seconds) and a value column.
 * A run's ledger.csv (header "ts,equity," and every P&L line of
 * cpo/backtest.h, read as equity) gets the run's capital as its first
 * point, so that its table is the one of the run's summary.json: the
 * capital of the summary.json beside it when that run starts at the
 * ledger's first row, else the first equity less the first row's P&L
 * lines.
 * Errors name the file, line and column: a missing column, a value that is
 * not a number (or not > 0 for equity), a bad time, times out of order or
 * duplicated, fewer than 2 data rows (CPO_EFORMAT, CPO_EDATA, CPO_EORDER,
 * CPO_EDUP; CPO_EIO if the file cannot be read).
 */
int cpo_metrics_csv_read(cpo_metrics_csv **out, const char *path,
                         const cpo_metrics_csv_opts *opts, cpo_error *err);

void cpo_metrics_csv_free(cpo_metrics_csv *c); /* NULL is a no-op */

/*
 * The table of a CSV series.  Equity: n rows are n - 1 periods, each
 * stamped with its row's date, the start with the first row's.  Returns:
 * n rows are n periods; the start is stamped one median spacing before
 * the first row.  A = 365 days / median spacing unless opts gives it.
 */
int cpo_metrics_csv_compute(cpo_metrics *m, const cpo_metrics_csv *c,
                            const cpo_metrics_opts *opts, cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
