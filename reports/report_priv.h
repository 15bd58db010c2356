/*
 * report_priv.h - what the report modules share (report_read.c,
 * report_charts.c, report_html.c, compare.c).  Private to libcpo.
 *
 * A run folder is read into an rp_run: summary.json and manifest.json as
 * JSON, ledger.csv as columns, ledger_instruments.csv (when present) as
 * dense step x instrument matrices, trades.csv, events.csv and the
 * attribution_*.csv files as tables of text and numbers.
 */
#ifndef CPO_REPORT_PRIV_H
#define CPO_REPORT_PRIV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpo/error.h"
#include "cpo/report.h"

/* --- a CSV file read whole ------------------------------------------------ */

typedef struct rp_table {
    char path[1100];
    size_t ncol, nrow;
    char **name;   /* [ncol] header fields */
    char **text;   /* [nrow * ncol] field texts ("" past the end of a short row) */
    double *num;   /* [nrow * ncol] the numbers; NaN where blank, "nan" or not a number */
    int *is_text;  /* [ncol] 1 if a field of the column is neither blank nor a number */
    char *notes;   /* lines starting with '#' (without it), '\n'-separated; NULL if none */
} rp_table;

/* The whole file into *out (malloc'd, *len bytes and a NUL after them, so
 * it may be searched as a string); CPO_EIO if it cannot be read. */
int rp_slurp(const char *path, char **out, size_t *len, cpo_error *err);

/* Read path.  Lines starting with '#' are notes (kept in notes), the
 * first other line is the header.  CPO_EIO if it cannot be read,
 * CPO_EPARSE if it is not CSV. */
int rp_table_read(rp_table *t, const char *path, cpo_error *err);
/* The same over the bytes of such a file (changed in place: the notes are
 * blanked); path names it in messages. */
int rp_table_read_mem(rp_table *t, const char *path, char *buf, size_t len, cpo_error *err);
void rp_table_free(rp_table *t);
/* Index of the column (case-insensitive), or -1. */
int rp_table_col(const rp_table *t, const char *name);

/* A field as a time: ISO 8601 or a number of ms (> 1e11) or s since 1970. */
int rp_parse_time(const char *s, int64_t *ms);

/* --- attribution files ------------------------------------------------------ */

/*
 * The attribution files are read by their header (README "Attribution"
 * documents them; anything else of the same shape works too):
 *  - a column named ts, time, timestamp, date, datetime, period_end or
 *    period_start (the first found, in that order) makes a file a series,
 *    one row per step or period; without one it is a table;
 *  - a column "kind" gives each row's role: part, total, sum_of_parts,
 *    residual (anything else, e.g. stat, is shown as it is); without it a
 *    row whose label is total / total_return / portfolio is the total and
 *    residual the residual;
 *  - the other text columns label the row, the number columns are values.
 */
enum { RP_ATTR_ASSET = 0, RP_ATTR_ASSET_SERIES, RP_ATTR_RISK, RP_ATTR_FACTOR,
       RP_ATTR_FACTOR_ROLLING, RP_ATTR_GREEK, RP_ATTR_COUNT };

typedef struct rp_attr {
    const char *file;     /* "attribution_asset.csv" */
    const char *title;    /* "Attribution by asset" */
    int present;
    rp_table t;
    int tcol, kindcol;    /* time and kind columns, -1 if none */
} rp_attr;

enum { RP_ROLE_PART = 0, RP_ROLE_TOTAL, RP_ROLE_RESIDUAL, RP_ROLE_SUM, RP_ROLE_OTHER };

/* Role of a row label without a kind column. */
int rp_attr_key_role(const char *key);

/* A table file as rows (label) x values. */
typedef struct rp_attr_view {
    size_t nkey, nval;
    char **key;           /* [nkey] row labels: the text columns but kind, joined by ' ' */
    int *role;            /* [nkey] RP_ROLE_* */
    char **val;           /* [nval] value column names */
    double *v;            /* [nkey * nval] */
    int has_kind;         /* roles from a kind column (the file reconciles itself) */
} rp_attr_view;

int rp_attr_view_make(const rp_attr *a, rp_attr_view *v, cpo_error *err);
void rp_attr_view_free(rp_attr_view *v);

/* Lines of a series file for a chart. */
typedef struct rp_series {
    size_t nt, ns;
    int64_t *ts;          /* [nt] rising */
    char **name;          /* [ns] column names */
    double *s;            /* [nt * ns]; NaN: none */
    int cumulated;        /* 1: running sums made here; 0: drawn as in the file */
} rp_series;

/*
 * The columns of a series file matching cols ("*" every number column;
 * "c_*|residual": names starting with c_, and residual) at its times.
 * mode RP_SERIES_SUM: running sums of the per-step values; RP_SERIES_AS_IS:
 * as they are; RP_SERIES_AUTO: as they are if the file's first note says
 * "cumulative", else running sums.  Rows with the same time add up.
 */
enum { RP_SERIES_AUTO = 0, RP_SERIES_SUM, RP_SERIES_AS_IS };
int rp_attr_series(const rp_attr *a, const char *cols, int mode, rp_series *s, cpo_error *err);
void rp_series_free(rp_series *s);

/* --- a run folder ------------------------------------------------------------ */

/* The option Greeks a report draws per underlying and step (options.csv). */
enum { RP_OG_DELTA = 0, RP_OG_GAMMA, RP_OG_VEGA, RP_OG_THETA, RP_OG_COUNT };
#define RP_MAX_UNDERLYINGS 8

/* One option contract over the run (options.csv and option_trades.csv). */
typedef struct rp_contract {
    char name[64];
    char underlying[16];
    char expiry[32];      /* as in the files (ISO 8601) */
    int64_t expiry_ms;    /* CPO_TIME_NONE if it does not parse */
    double options;       /* the options line: sum of mtm_coin x rate (reporting currency) */
    double fees;          /* fees paid, as P&L (<= 0): fee (coin) x the step's rate */
    double slippage;      /* slippage, as P&L (<= 0), likewise */
    size_t trades;        /* fills and settlements */
} rp_contract;

/* The option files of a run (cpo/report.h); has_opt 0 if the folder has
 * no options.csv.  Read by streaming: nothing is kept per row. */
typedef struct rp_opt {
    size_t nu;
    char und[RP_MAX_UNDERLYINGS][16];  /* underlyings, in the order first seen */
    double *greek;        /* [n * nu * RP_OG_COUNT] sum over positions of qty x the
                             contract's coin Greek (delta: coin_delta_account; gamma
                             per 1 % index move: coin_gamma x index^2 / 100; vega per
                             vol point: coin_vega / 100; theta per day: coin_theta /
                             365), coin */
    double *rate;         /* [n * nu] USD per coin at each step (NaN: no row) */
    size_t ncon;
    rp_contract *con;     /* [ncon] by expiry, then name */
    size_t approx;        /* trades converted at their own index for want of a
                             rate at their step */
    int has_trades;       /* option_trades.csv read */
    int has_explain_by;
    rp_table explain_by;  /* explain_by.csv */
} rp_opt;

typedef struct rp_run {
    char dir[1024];
    json_t *summary;      /* owned */
    json_t *manifest;     /* owned; NULL if the folder has none */
    size_t n;             /* steps (rows of ledger.csv) */
    int64_t *ts;          /* [n] bar opens, ms */
    double *equity;       /* [n] after each step */
    double capital;       /* summary.json capital (else the first equity) */
    int64_t bar_ms;       /* bar spacing (from periods_per_year, else the data) */
    double ppy;           /* periods a year, 365-day year */
    char currency[16];
    /* ledger.csv: every column after ts (equity among them) as numbers */
    size_t ncol;
    char **col;           /* [ncol] header names (one block, col[0] owns it) */
    double *cell;         /* [n * ncol] row-major; NaN where blank or not a number */
    /* ledger_instruments.csv (detail = instrument); has_instr 0 if absent */
    int has_instr;
    size_t n_sym;
    char **sym;           /* [n_sym] in the order first seen */
    double *expo;         /* [n * n_sym] exposure; 0 when not held */
    double *px;           /* [n * n_sym] mark; NaN when not held */
    int has_trades, has_events;
    rp_table trades, events;
    rp_attr attr[RP_ATTR_COUNT];
    /* benchmark.csv (summary.json names a benchmark); has_bench 0 if absent */
    char bench[64];       /* summary.json "benchmark"; "" without one */
    int has_bench;
    double *bench_ret;    /* [n] the benchmark's simple return of each step; NaN: unknown */
    int has_opt;
    rp_opt opt;
    /* futures.csv (runs with dated futures); has_fut 0 if absent */
    int has_fut;
    rp_table fut;
} rp_run;

/* Read the run folder dir.  Refused without summary.json or ledger.csv:
 *   DIR: no summary.json (expected a run folder written by cpo run) */
int rp_run_load(rp_run *r, const char *dir, cpo_error *err);
void rp_run_free(rp_run *r);

/* Index of the step at time ts (exact), or -1. */
long rp_run_step(const rp_run *r, int64_t ts);

/* Index of a ledger.csv column (exact name), or -1; its value at step t. */
int rp_ledger_col(const rp_run *r, const char *name);
static inline double rp_ledger(const rp_run *r, int c, size_t t)
{
    return r->cell[t * r->ncol + (size_t)c];
}

/* A drawdown episode of an equity curve (capital prepended as the first peak). */
typedef struct rp_dd {
    size_t peak, trough, recovery; /* step indices; peak == SIZE_MAX: the capital before step 0;
                                      recovery == SIZE_MAX: not recovered */
    double depth;                  /* fraction below the peak, > 0 */
} rp_dd;

/* The k deepest drawdowns, deepest first; returns how many (<= k), -1
 * when out of memory. */
long rp_drawdowns(const double *eq, size_t n, double base, rp_dd *out, size_t k);

/* --- numbers worked out from the run folder (report_calc.c) ---------------------- */

/* out[t] = equity[t] / equity[t-1] - 1 (the capital before step 0); NaN
 * where undefined.  out has r->n values. */
void rp_step_returns(const rp_run *r, double *out);

/* Calendar periods (UTC): days, weeks from Monday, months, years. */
enum { RP_PER_DAY = 0, RP_PER_WEEK, RP_PER_MONTH, RP_PER_YEAR };

/* Start of the period of kind holding time ms. */
int64_t rp_period_start(int kind, int64_t ms);

typedef struct rp_period {
    int64_t start_ms;     /* the period's start */
    size_t first, last;   /* its steps (by bar open) */
    double base;          /* equity before its first step (the capital for the run's first) */
    double ret;           /* equity after its last step / base - 1 */
    double bench;         /* the benchmark's returns of its steps compounded (the known
                             ones); NaN without a benchmark or none known */
} rp_period;

/* The periods of kind that hold steps, in order; *out is the caller's
 * (free).  0 or CPO_ENOMEM. */
int rp_periods(const rp_run *r, int kind, rp_period **out, size_t *n, cpo_error *err);

/* Moments of a sample: mean, sample sd, skewness and excess kurtosis (GSL,
 * with the sample sd), min, max; NaN where undefined (fewer than 2 or 3
 * values, sd 0). */
typedef struct rp_dist {
    size_t n;
    double mean, sd, skew, kurt, min, max;
} rp_dist;
int rp_distribution(const double *x, size_t n, rp_dist *d);

/* The returns a report's distribution is of: daily (UTC days, steps
 * compounded) when the bars are a day or shorter, else the bar returns;
 * *what is "daily" or "bar".  *x is the caller's (free), NaNs left out. */
int rp_dist_returns(const rp_run *r, double **x, size_t *n, const char **what, cpo_error *err);

/* The P&L lines of a run, in the order a report shows them: price,
 * funding, financing, fees, slippage, liquidation, options, revaluation,
 * residual where summary.json's pnl or ledger.csv has them, then the
 * other keys of summary.json's pnl.  Writes at most max names (pointers
 * to static text or into the summary); returns how many. */
#define RP_MAX_PNL 24
size_t rp_pnl_lines(const rp_run *r, const char **names, size_t max);

/* A drawdown from its peak to its recovery (or the last step). */
typedef struct rp_span {
    int64_t from_ms, to_ms; /* bar opens */
    double depth;           /* fraction below the peak, > 0 */
    int recovered;
} rp_span;

/* The drawdowns of summary.json's metrics.drawdowns (the table the report
 * shows), else the k deepest worked out from ledger.csv (rp_drawdowns):
 * how many (<= k), or -1 when out of memory. */
long rp_dd_spans(const rp_run *r, rp_span *out, size_t k);

/*
 * Round trips of trades.csv per symbol (cpo_trip_fill: opened from 0,
 * closed back to 0, average-cost P&L at fill prices minus fees), with
 * qty x price as the P&L of a unit move (the trades table's notional:
 * linear contracts of size 1).
 */
typedef struct rp_trip_sum {
    const char *symbol;   /* into trades.csv's text; NULL: the total */
    size_t trips, won, lost;
    double win_sum;       /* P&L of the trips won (> 0) */
    double loss_sum;      /* P&L of the others (<= 0) */
    double best, worst;   /* NaN without trips */
    double hold_ms;       /* summed over the trips, opening fill to closing fill */
    size_t open;          /* positions still open at the end (not counted) */
} rp_trip_sum;

/* One per symbol in the order first traded, then the total: *n rows (0
 * without trades.csv or its columns); *out is the caller's (free). */
int rp_round_trips(const rp_run *r, rp_trip_sum **out, size_t *n, cpo_error *err);

/* The index of sym among names[0..*n), the symbols in the order they were
 * first seen, appending it when new (names has room for one more).  hint
 * is the index of the row before: trades.csv lists a rebalance's fills in
 * instrument order, so hint + 1 and hint are tried before the search. */
size_t rp_sym_index(const char **names, size_t *n, const char *sym, size_t hint);

/* --- text --------------------------------------------------------------------- */

/* s HTML-escaped (& < > " ') to fp. */
void rp_html(FILE *fp, const char *s);
/* "2024-01-01T00:00:00Z" (or "2024-01-01" if date_only). */
void rp_iso(char *buf, size_t n, int64_t ms, int date_only);
/* 1234567.891 -> "1,234,567.89" (decimals digits after the point). */
void rp_fmt_money(char *buf, size_t n, double x, int decimals);
/* A metric's value as shown (by its key: percent, money, count, plain). */
void rp_fmt_metric(char *buf, size_t n, const char *key, const json_t *v);
/* A number of unknown kind: thousands separators from 1e4, else 6 digits. */
void rp_fmt_gen(char *buf, size_t n, double x);
/* 0.1234 -> "12.34 %". */
void rp_fmt_pct(char *buf, size_t n, double x);
/* summary.json keys shown outside the metrics table (settings, P&L...). */
int rp_metric_skip(const char *key);
/* An attribution table file as HTML: its rows, total, sum of parts and
 * residual (its own when it has a kind column, else worked out here). */
int rp_html_attr_table(FILE *fp, const rp_attr *a, const rp_attr_view *v); /* 0 or CPO_ENOMEM */
/* Table cells: text (escaped), a number as text (right-aligned), money
 * (2 decimals, separators), a number of unknown kind (rp_fmt_gen). */
void rp_td_text(FILE *fp, const char *s);
void rp_td_num(FILE *fp, const char *s);
void rp_td_money(FILE *fp, double x);
void rp_td_gen(FILE *fp, double x);
/* The string of o[key], or NULL. */
const char *rp_jstr(const json_t *o, const char *key);
/* Shared CSS of report.html and compare.html. */
extern const char rp_css[];

/* --- charts --------------------------------------------------------------------- */

typedef enum rp_chart_state {
    RP_CHART_DRAWN = 0,   /* NAME.png and NAME.svg made */
    RP_CHART_SKIPPED,     /* no data for it (note says why); no files */
    RP_CHART_NOT_DRAWN,   /* gnuplot missing: NAME.gp and NAME.dat only */
    RP_CHART_FAILED,      /* gnuplot failed (note holds its message) */
    RP_CHART_PENDING,     /* NAME.gp and NAME.dat written, for rp_charts_draw */
    RP_CHART_ABSENT       /* not for this run (its columns or files are not there): no
                             files, and the page does not mention it */
} rp_chart_state;

typedef struct rp_chart {
    char name[40];        /* file stem in charts/ */
    char title[240];      /* may hold data text: escape it */
    rp_chart_state state;
    char note[600];
    int w, h;             /* image size in px (0: not written) */
    unsigned img;         /* DRAWN: the images made, RP_IMG_PNG | RP_IMG_SVG */
} rp_chart;

/* The images of a chart (rp_gnuplot img, rp_chart img). */
#define RP_IMG_PNG 1u
#define RP_IMG_SVG 2u

typedef struct rp_gnuplot {
    char path[4096];      /* the program found on PATH */
    int looked, found;
    FILE *warn;
    int warned;
    const volatile sig_atomic_t *cancel; /* the opts' flag: no gnuplot once set */
    int no_plot;          /* the opts' no_plot: scripts and data only */
    int jobs;             /* the opts' jobs: gnuplot processes at once (0: one per core) */
    unsigned img;         /* the images the scripts draw (the opts' charts) */
} rp_gnuplot;

void rp_gnuplot_init(rp_gnuplot *g, const cpo_report_opts *o);

/* CPO_EINTR with a message once the opts' cancel flag is set, else 0. */
int rp_cancelled(const rp_gnuplot *g, cpo_error *err);

/* The charts of a run, in the order they are made. */
enum { RP_C_EQUITY = 0, RP_C_DRAWDOWN, RP_C_MONTHLY, RP_C_YEARLY, RP_C_DIST, RP_C_VOL,
       RP_C_SHARPE, RP_C_BETA, RP_C_WEIGHTS, RP_C_CORR, RP_C_MARGIN, RP_C_PNL_LINES,
       RP_C_GREEKS, RP_C_OPT_EXPIRY, RP_C_ATTR_ASSET, RP_C_ATTR_FACTOR, RP_C_ATTR_BETAS,
       RP_C_ATTR_GREEK, RP_C_BASIS, RP_RUN_CHARTS };

/* Draw every chart of ch[0..n) that is RP_CHART_PENDING: the one place
 * gnuplot runs (gnuplot NAME.gp in dir, each its own process, up to jobs
 * at once). */
void rp_charts_draw(rp_gnuplot *g, const char *dir, rp_chart *ch, size_t n);

/* The charts of a run into charts_dir (made if missing): out[RP_RUN_CHARTS]. */
int rp_charts_run(const rp_run *r, const char *charts_dir, rp_gnuplot *g, rp_chart *out,
                  cpo_error *err);

/* Values of keys across runs, drawn as grouped bars (compare). */
typedef struct rp_bars {
    char name[40];        /* chart file stem */
    char title[240];
    char note[200];
    int pct;              /* the values are fractions: drawn in % */
    size_t nkey;
    char (*key)[96];      /* [nkey], owned */
    double *v;            /* [nrun * nkey] (run-major), owned; NaN: none */
} rp_bars;

void rp_bars_free(rp_bars *b);

/* Overlaid charts of runs on common times: growth of 1 (log scale),
 * drawdown, rolling Sharpe (window win bars); growth, dd and sharpe are
 * [nrun * nt].  Then one chart of grouped bars per bars[k].  out[3 +
 * nbars]. */
int rp_charts_compare(const char *charts_dir, size_t nrun, const char *const *labels, size_t nt,
                      const int64_t *ts, const double *growth, const double *dd,
                      const double *sharpe, size_t win, const rp_bars *bars, size_t nbars,
                      rp_gnuplot *g, rp_chart *out, cpo_error *err);

/* mkdir if missing. */
int rp_mkdir(const char *dir, cpo_error *err);

/* A chart as HTML: the image, links to the SVG, script and data, or the note. */
void rp_html_chart(FILE *fp, const rp_chart *c);

/* The same with the chart files under dir (relative to the page, ending
 * in '/'); nothing for an RP_CHART_ABSENT chart. */
void rp_html_chart_at(FILE *fp, const rp_chart *c, const char *dir);

/* Charts idx[0..n) of ch in a grid (nothing if all are absent). */
void rp_html_figs(FILE *fp, const rp_chart *ch, const int *idx, size_t n);

/* Count charts into info. */
void rp_info_add(cpo_report_info *info, const rp_chart *c, size_t n, const rp_gnuplot *g);

/* An output file written to "<path>.tmp" and renamed by rp_out_close. */
typedef struct rp_out {
    char path[1200], tmp[1210];
    FILE *fp;
} rp_out;

int rp_out_open(rp_out *o, const char *dir, const char *name, cpo_error *err);
/* Close and rename (ok != 0), or close and remove (ok == 0). */
int rp_out_close(rp_out *o, int ok, cpo_error *err);

/* --- sections of report.html (report_sections.c) --------------------------------- */

/* <section id="returns">: the monthly heatmap and table, the distribution
 * and its moments, the worst days, weeks and months. */
int rp_sec_returns(FILE *fp, const rp_run *r, const rp_chart *ch, cpo_error *err);
/* <section id="pnl">: the P&L lines over time and over the run, and by
 * instrument, option contracts included. */
int rp_sec_pnl(FILE *fp, const rp_run *r, const rp_chart *ch, cpo_error *err);
/* <section id="options"> of a run with options (nothing otherwise). */
int rp_sec_options(FILE *fp, const rp_run *r, const rp_chart *ch, cpo_error *err);
/* The Futures section (runs with dated futures): the basis chart, each
 * future's price sources and delivery, the deliveries and rolls. */
int rp_sec_futures(FILE *fp, const rp_run *r, const rp_chart *ch);
/* The round trips of trades.csv per symbol and in total (a table). */
int rp_html_round_trips(FILE *fp, const rp_run *r, cpo_error *err);

/* The small report of a run folder inside another page (the sweep's
 * chosen point): its key figures, its equity, drawdown and monthly charts
 * where drawn (run_dir/charts/NAME.png, linked as rel/charts/NAME.png),
 * and a link to rel/report.html.  0, or the error of reading the folder. */
int rp_html_brief(FILE *fp, const char *run_dir, const char *rel, cpo_error *err);

#endif
