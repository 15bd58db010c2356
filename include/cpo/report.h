/*
 * cpo/report.h - the report of a run folder and the comparison of runs.
 *
 *     cpo_report_build    DIR/report.html and DIR/charts/ from the files of
 *                         a run folder (cpo run calls it; `cpo report DIR`)
 *     cpo_compare_build   several run folders side by side: a table on a
 *                         FILE, OUT/compare.html and OUT/charts/
 *
 * Both only read run folders; nothing is re-run.
 *
 * Charts.  For each chart NAME, charts/ holds NAME.dat (the numbers it
 * draws: whitespace-separated, %.17g, time as Unix seconds, '#' comment
 * lines naming the columns), NAME.gp (the gnuplot script; `gnuplot
 * NAME.gp` in charts/ redraws it) and, drawn by gnuplot, NAME.png
 * (pngcairo) and NAME.svg.  gnuplot runs without a shell: fork and execve
 * of the program found on PATH, in charts/, stdin from /dev/null, its
 * output read back for messages; every text from data or config that ends
 * up in a script (titles, symbols) goes through cpo_report_gp_quote.
 * Where gnuplot is not on PATH the scripts and data are still written,
 * one warning goes to opts->warn, and the HTML says so; a chart gnuplot
 * fails on is reported in the HTML with gnuplot's message.
 *
 * report.html is self-contained (inline CSS, no script, no external
 * resource); it shows the charts as <img src="charts/NAME.png"> (relative,
 * so the folder can be moved) and links the SVG, script and data.  Every
 * text from data or config is HTML-escaped.
 *
 * Every file is written to "<name>.tmp" and renamed when whole (the
 * images too: gnuplot writes NAME.png.tmp, renamed when it succeeds).
 * Nothing records when it was made: the same run folder gives the same
 * bytes (the PNGs and SVGs too, with the same gnuplot and fonts).  The
 * report is made after manifest.json and is not listed in it.
 */
#ifndef CPO_REPORT_H
#define CPO_REPORT_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "cpo/backtest.h"
#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The images of the charts (cpo_report_opts charts, [report] charts). */
typedef enum cpo_charts {
    CPO_CHARTS_BOTH = 0, /* NAME.png and NAME.svg (default) */
    CPO_CHARTS_PNG,      /* NAME.png only (the page shows it, no SVG link) */
    CPO_CHARTS_SVG,      /* NAME.svg only (the page shows it) */
    CPO_CHARTS_NONE      /* no image: scripts and data only, as no_plot */
} cpo_charts;

/* "both", "png", "svg", "none"; the value of a name (-1 if none). */
const char *cpo_charts_name(int charts);
int cpo_charts_parse(const char *name);

typedef struct cpo_report_opts {
    FILE *warn;           /* warnings (gnuplot missing); NULL: none */
    const char *gnuplot;  /* program name or path; NULL: "gnuplot" on PATH */
    const volatile sig_atomic_t *cancel; /* NULL, or a flag (a signal handler's):
                             once set, no more gnuplot, and the build
                             fails with CPO_EINTR before its page (each
                             file is still written whole or not at all) */
    int no_plot;          /* 1: scripts and data only, gnuplot is not run (no
                             warning; the page says so per chart) */
    int jobs;             /* gnuplot processes at once, each drawing one chart
                             (the costliest first); 0: one per core.  The
                             files do not depend on it */
    int charts;           /* cpo_charts: the images drawn (CPO_CHARTS_BOTH);
                             the scripts write only those */
} cpo_report_opts;

/* warn = stderr, gnuplot = NULL. */
void cpo_report_opts_init(cpo_report_opts *o);

/* What a build made. */
typedef struct cpo_report_info {
    size_t n_charts;      /* charts considered */
    size_t n_drawn;       /* drawn by gnuplot (PNG and SVG) */
    size_t n_skipped;     /* no data for them (the HTML says why) */
    size_t n_failed;      /* gnuplot failed on them */
    int gnuplot_missing;  /* 1: gnuplot not on PATH, scripts and data only */
} cpo_report_info;

/*
 * Write run_dir/report.html and run_dir/charts/ from the files of the run
 * folder run_dir.  A folder without summary.json is refused:
 *     DIR: no summary.json (expected a run folder written by cpo run)
 * gnuplot missing or failing is not an error (see above); an unreadable
 * run file or a file that cannot be written is.  opts NULL: defaults;
 * info may be NULL.
 */
int cpo_report_build(const char *run_dir, const cpo_report_opts *opts, cpo_report_info *info,
                     cpo_error *err);

typedef struct cpo_compare_opts {
    cpo_report_opts report;
    const char *out_dir;  /* compare.html and charts/ go here; NULL: write nothing */
    int align;            /* 1: compare over the common period (and across stores) */
    FILE *table;          /* the side-by-side table as text; NULL: none */
} cpo_compare_opts;

void cpo_compare_opts_init(cpo_compare_opts *o);

/*
 * Compare the run folders dirs[0..n) (n >= 2).  Runs on different stores
 * (data sha256 of manifest.json) or over different periods (first and last
 * bar) are refused unless opts->align:
 *     A vs B: different data (store sha256 1f2e3d4c5b6a... vs 9a8b7c6d5e4f...)
 *       (expected runs on the same store, or --align)
 *     A vs B: different periods (2024-01-01T00:00:00Z .. 2024-02-29T00:00:00Z
 *       vs ...) (expected runs over the same period, or --align)
 * (each one line).  With align the metrics and charts cover the bars the
 * runs have in common.  info (may be NULL) describes the charts.
 */
int cpo_compare_build(const char *const *dirs, size_t n, const cpo_compare_opts *opts,
                      cpo_report_info *info, cpo_error *err);

/* --- the option files of a run ------------------------------------------------ */

/*
 * cpo_run_to_dir writes these files, listed in manifest.json, when the
 * result has options (cpo_run_has_options); a run without options writes
 * none of them (and its other files are as before).  Numbers %.17g, times
 * ISO 8601 UTC (bar opens, as ledger.csv), one header line, no notes:
 *
 *   options.csv        one row per option position per step (result
 *                      opt_rows): ts, step, name, underlying, expiry,
 *                      strike, right, tag, stage, qty, source (chain,
 *                      surface, settle, none), index, fwd, vol, t_years,
 *                      coin_price, coin_delta .. coin_rho, coin_delta_account
 *                      (the coin Greeks of one contract, w.r.t. the index),
 *                      rate (USD per coin), value_coin (qty x coin price),
 *                      value_usd (value_coin x rate), mtm_coin, the explain
 *                      terms in coin (cpo_greek_name: delta .. unexplained;
 *                      they add up to mtm_coin), the waterfall in coin
 *                      (cpo_wf_name: wf_time .. wf_residual; the same sum),
 *                      flagged, settled
 *   option_trades.csv  fills and settlements (result opt_trades): ts, step,
 *                      name, underlying, expiry, strike, right, tag, stage,
 *                      qty, px, ref_px, fee, slippage (coin), index,
 *                      settlement, liquidation (1: a forced close at the
 *                      mark, engine/margin.c), quote_age_s (seconds between
 *                      the data the price came from and the fill), delta
 *                      (to the index, at the fill; NaN for settlements),
 *                      delivery_approx (1: the delivery price was estimated
 *                      from bars coarser than a minute)
 *   explain.csv        one row per step, reporting currency: ts, options
 *                      (the options line), delta .. unexplained (result
 *                      greek), wf_time .. wf_residual (result wf), flag
 *   explain_by.csv     the run's explain summed by underlying, by expiry and
 *                      by strategy (the stage that opened the position):
 *                      kind, by, key, options, delta .. unexplained,
 *                      wf_time .. wf_residual, rows; each term the sum over
 *                      the positions' rows of the coin term x the row's
 *                      rate.  Per `by`: the part rows, a total row (the
 *                      options line of the run, summed over its steps), the
 *                      sum of the parts, and residual = total - sum of parts
 *                      (rounding only)
 *
 * The stage of a tag k is "<role>.<name>" of spec->stages[k] (the config
 * section of the stage), "stage<k>" without a spec or past its stages.
 */
typedef enum cpo_opt_file {
    CPO_OPT_FILE_POSITIONS = 0, /* options.csv */
    CPO_OPT_FILE_TRADES,        /* option_trades.csv */
    CPO_OPT_FILE_EXPLAIN,       /* explain.csv */
    CPO_OPT_FILE_EXPLAIN_BY,    /* explain_by.csv */
    CPO_OPT_FILE_COUNT
} cpo_opt_file;

const char *cpo_opt_file_name(cpo_opt_file f);

/* 1 if r holds option results (the run had options enabled: result.greek
 * set, or option rows or trades), else 0. */
int cpo_run_has_options(const cpo_result *r);

/* Write the option files of r to paths[f] (spec may be NULL: stage names
 * "stage<k>").  CPO_EIO, CPO_ENOMEM. */
int cpo_run_write_options(const cpo_result *r, const cpo_run_spec *spec,
                          const char *const paths[CPO_OPT_FILE_COUNT], cpo_error *err);
/* The same bytes, each file to its stream fps[f] (the caller opens and
 * closes them). */
int cpo_run_put_options(const cpo_result *r, const cpo_run_spec *spec,
                        FILE *const fps[CPO_OPT_FILE_COUNT], cpo_error *err);

/*
 * The "options" block of summary.json (jansson; caller owns it; NULL when
 * r has no options or out of memory): surface_mode, chain_marks,
 * surface_marks, flagged_steps, positions (rows), trades, settlements,
 * options (the options line summed over the run), greek {delta ..
 * unexplained} and waterfall {wf_time .. wf_residual} summed over the run
 * (reporting currency), explain_gap and waterfall_gap (largest |sum of the
 * lines - options line| of a step / max(|equity|, 1)).
 */
struct json_t *cpo_run_options_json(const cpo_result *r);

/* Flags of cpo_report_gp_quote. */
#define CPO_GP_ENHANCED 1 /* the text goes to an enhanced-text terminal */

/*
 * s as a gnuplot double-quoted string, quotes included, into buf
 * (NUL-terminated when n > 0, truncated at a whole escape): backslash and
 * double quote escaped, the backquote (command substitution, which gnuplot
 * does even inside double quotes) written as \140, control characters as
 * spaces; with CPO_GP_ENHANCED also the enhanced-text characters
 * @ ^ _ { } & ~ as \\@ etc. (a literal backslash then needs four).  The
 * reports use noenhanced terminals (gnuplot 5.4's SVG terminal writes an
 * enhanced '&' unescaped) and flags 0.  Returns the length the whole
 * quoted text needs (as snprintf).
 */
size_t cpo_report_gp_quote(char *buf, size_t n, const char *s, int flags);

#ifdef __cplusplus
}
#endif
#endif
