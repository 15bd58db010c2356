/*
 * cmd_report.c - `cpo report RUN_DIR [--charts KIND] [--quiet]`: make
 * report.html and charts/ again from the files of a run folder (cpo run
 * makes them too).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cpo/report.h"
#include "outfile.h"

#define REPORT_USAGE "cpo report RUN_DIR [--charts both|png|svg|none] [--quiet]"

static const cpo_cli_opt report_opts[] = {
    {"charts", 0, 'c', "KIND", "the images of the charts: both (PNG and SVG, the default), png, "
                               "svg, or none (scripts and data only), as [report] charts"},
    {"quiet", 'q', 'q', NULL, "print nothing but errors and warnings"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int report_exec(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(report_opts, longopts, shorts);
    int c, quiet = 0, charts = CPO_CHARTS_BOTH;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case 'c':
            if ((charts = cpo_charts_parse(optarg)) < 0)
                return cpo_cli_usage(REPORT_USAGE,
                                     "--charts %s is not valid (expected both, png, svg or none)",
                                     optarg);
            break;
        case 'h':
            return cpo_cli_help(REPORT_USAGE,
                                "Write RUN_DIR/report.html and RUN_DIR/charts/ (gnuplot scripts, "
                                "their data, PNG and SVG)\nfrom the files of a run folder written "
                                "by cpo run. Nothing is re-run. A folder another cpo is\nwriting "
                                "is refused.",
                                report_opts, NULL);
        default: return cpo_cli_usage(REPORT_USAGE, "bad option");
        }
    }
    if (optind >= argc)
        return cpo_cli_usage(REPORT_USAGE, "no run folder (expected cpo report RUN_DIR)");
    if (optind + 1 < argc)
        return cpo_cli_usage(REPORT_USAGE, "more than one run folder (expected one)");
    const char *dir = argv[optind];
    cpo_error err;
    cpo_error_clear(&err);
    cpo_report_opts opts;
    cpo_report_opts_init(&opts);
    opts.cancel = cpo_cli_signals();
    opts.charts = charts;
    cpo_report_info info;
    /* One writer per folder: not while a run or another report writes it. */
    cpo_dirlock lock;
    cpo_dirlock_init(&lock);
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && cpo_dirlock_take(&lock, dir, &err))
        return cpo_cli_fail(&err);
    int rc = cpo_report_build(dir, &opts, &info, &err);
    cpo_dirlock_release(&lock);
    if (rc)
        return cpo_cli_fail_signal(&err);
    if (!quiet) {
        printf("report: %s/report.html\n", dir);
        printf("charts: %s/charts/: %zu drawn, %zu without data", dir, info.n_drawn, info.n_skipped);
        if (info.n_failed)
            printf(", %zu failed (see the report)", info.n_failed);
        if (info.gnuplot_missing)
            printf(", scripts and data only (no gnuplot)");
        putchar('\n');
    }
    return 0;
}

const cpo_cmd_entry cpo_cmd_report_entry = {
    "report", "report RUN_DIR", "make report.html and charts/ of a run folder again",
    report_exec, report_opts, NULL, CPO_ARGS_DIR, NULL};
