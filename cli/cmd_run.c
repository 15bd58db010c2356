/*
 * cmd_run.c - `cpo run CONFIG [-o DIR] [--force]`: one backtest, its
 * files in a run folder, a one-screen summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cpo/config.h"
#include "cpo/run.h"

#define RUN_USAGE "cpo run CONFIG [-o DIR] [--force] [--no-report] [--quiet]"

static const cpo_cli_opt run_opts[] = {
    {"output", 'o', 'o', "DIR", "write the run folder to DIR (default runs/<config name>)"},
    {"force", 'f', 'f', NULL, "replace the files of an existing run folder"},
    {"no-report", 0, 'R', NULL, "make no report.html and no charts/ (cpo report DIR makes them "
                                "later)"},
    {"quiet", 'q', 'q', NULL, "print nothing but errors and warnings (no summary)"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int run_exec(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(run_opts, longopts, shorts);
    cpo_run_opts opts;
    cpo_run_opts_init(&opts);
    int c, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        switch (c) {
        case 'o': opts.out_dir = optarg; break;
        case 'f': opts.force = 1; break;
        case 'R': opts.no_report = 1; break;
        case 'q': quiet = 1; break;
        case 'h':
            return cpo_cli_help(RUN_USAGE,
                                "Run the backtest CONFIG describes and write its files to DIR.\n"
                                "An existing folder is refused unless --force; a folder another "
                                "cpo is writing is refused.\nWith --no-report no report.html or "
                                "charts/ are made (cpo report DIR makes them).\nWhat could make "
                                "the numbers mislead is said on stderr at the end, one line a "
                                "problem.",
                                run_opts, NULL);
        default: return cpo_cli_usage(RUN_USAGE, "bad option");
        }
    }
    if (optind >= argc)
        return cpo_cli_usage(RUN_USAGE, "no config (expected cpo run CONFIG)");
    if (optind + 1 < argc)
        return cpo_cli_usage(RUN_USAGE, "more than one config (expected one)");
    const char *path = argv[optind];
    cpo_error err;
    cpo_error_clear(&err);
    cpo_config *cfg = NULL;
    if (cpo_config_load(&cfg, path, &err))
        return cpo_cli_fail(&err);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cpo run %s", path);
    opts.command = cmd;
    opts.cancel = cpo_cli_signals();
    cpo_run_report rep;
    int rc = cpo_run_to_dir(cfg, &opts, &rep, &err);
    if (rc) {
        cpo_config_free(cfg);
        return cpo_cli_fail_signal(&err);
    }
    if (!quiet)
        cpo_run_report_print(&rep, cfg, stdout);
    /* What could mislead, at the end, on stderr: one line a problem. */
    fflush(stdout);
    cpo_run_warnings_print(&rep, stderr);
    cpo_config_free(cfg);
    return 0;
}

const cpo_cmd_entry cpo_cmd_run_entry = {
    "run",    "run CONFIG [-o DIR] [--force]", "run a backtest and write its run folder",
    run_exec, run_opts, NULL, CPO_ARGS_CONFIG, NULL};
