/*
 * cmd_compare.c - `cpo compare RUN... [-o DIR] [--align]`: run folders
 * side by side, a table on stdout and DIR/compare.html with charts.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cpo/report.h"

#define COMPARE_USAGE "cpo compare RUN_DIR RUN_DIR... [-o DIR] [--align] [--quiet]"

static int compare_exec(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"align", no_argument, 0, 'a'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cpo_compare_opts opts;
    cpo_compare_opts_init(&opts);
    opts.out_dir = "compare";
    opts.table = stdout;
    int c, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:aqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': opts.out_dir = optarg; break;
        case 'a': opts.align = 1; break;
        case 'q': quiet = 1; break;
        case 'h': {
            static const cpo_cli_flag flags[] = {
                {"-o, --output DIR", "where compare.html and charts/ go (default compare)"},
                {"-a, --align", "compare runs of different stores or periods on the bars they "
                                "share"},
                {"-q, --quiet", "no table on stdout"},
                {"-h, --help", "this help"}};
            return cpo_cli_help(COMPARE_USAGE,
                                "Put run folders written by cpo run side by side: a metrics table "
                                "here, and DIR/compare.html\nwith overlaid equity and drawdown "
                                "charts and the differences in attribution. Nothing\nis re-run. "
                                "Runs on different stores or periods are refused unless --align.",
                                flags, sizeof flags / sizeof flags[0]);
        }
        default: return cpo_cli_usage(COMPARE_USAGE, "bad option");
        }
    }
    if (argc - optind < 2)
        return cpo_cli_usage(COMPARE_USAGE, "%d run folder%s (expected two or more)", argc - optind,
                             argc - optind == 1 ? "" : "s");
    if (quiet)
        opts.table = NULL;
    cpo_error err;
    cpo_error_clear(&err);
    cpo_report_info info;
    opts.report.cancel = cpo_cli_signals();
    if (cpo_compare_build((const char *const *)argv + optind, (size_t)(argc - optind), &opts, &info,
                          &err))
        return cpo_cli_fail_signal(&err);
    if (!quiet)
        printf("compare: %s/compare.html\n", opts.out_dir);
    return 0;
}

const cpo_cmd_entry cpo_cmd_compare_entry = {
    "compare", "compare RUN_DIR RUN_DIR... [-o DIR] [--align]",
    "put run folders side by side (table, compare.html)", compare_exec};
