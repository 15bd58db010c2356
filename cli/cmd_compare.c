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

static const cpo_cli_opt compare_opts[] = {
    {"output", 'o', 'o', "DIR", "write compare.html and charts/ to DIR (default compare/)"},
    {"align", 'a', 'a', NULL, "compare the runs on the bars every run has"},
    {"quiet", 'q', 'q', NULL, "print nothing but errors (no table)"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int compare_exec(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(compare_opts, longopts, shorts);
    cpo_compare_opts opts;
    cpo_compare_opts_init(&opts);
    opts.out_dir = "compare";
    opts.table = stdout;
    int c, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        switch (c) {
        case 'o': opts.out_dir = optarg; break;
        case 'a': opts.align = 1; break;
        case 'q': quiet = 1; break;
        case 'h':
            return cpo_cli_help(COMPARE_USAGE,
                                "Put run folders written by cpo run side by side: one table here "
                                "(each metric once, over\nthe compared bars; drawdowns negative; * "
                                "marks the better value of a row), and\nDIR/compare.html (default "
                                "DIR: compare) with the table, overlaid equity, drawdown and\n"
                                "rolling Sharpe charts, and the attribution side by side. Nothing is "
                                "re-run. Runs on\ndifferent stores or periods are refused unless "
                                "--align: then they are compared on\nthe bars they share. A DIR "
                                "another cpo is writing is refused.",
                                compare_opts, NULL);
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
    "put run folders side by side (table, compare.html)", compare_exec, compare_opts, NULL,
    CPO_ARGS_DIR, NULL};
