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

#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cpo_report_opts {
    FILE *warn;           /* warnings (gnuplot missing); NULL: none */
    const char *gnuplot;  /* program name or path; NULL: "gnuplot" on PATH */
    const volatile sig_atomic_t *cancel; /* NULL, or a flag (a signal handler's):
                             once set, no more gnuplot, and the build
                             fails with CPO_EINTR before its page (each
                             file is still written whole or not at all) */
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
