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

#define RUN_USAGE "cpo run CONFIG [-o DIR] [--force] [--quiet]"

static int run_exec(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},
        {"force", no_argument, 0, 'f'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cpo_run_opts opts;
    cpo_run_opts_init(&opts);
    int c, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:fqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': opts.out_dir = optarg; break;
        case 'f': opts.force = 1; break;
        case 'q': quiet = 1; break;
        case 'h': {
            static const cpo_cli_flag flags[] = {
                {"-o, --output DIR", "the run folder (default runs/<config name>)"},
                {"-f, --force", "replace the files of an existing run folder"},
                {"-q, --quiet", "no summary on stdout (warnings still go to stderr)"},
                {"-h, --help", "this help"}};
            return cpo_cli_help(RUN_USAGE,
                                "Run the backtest CONFIG describes and write its files to DIR.\n"
                                "An existing folder is refused unless --force; a folder another "
                                "cpo is writing is refused.",
                                flags, sizeof flags / sizeof flags[0]);
        }
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
    "run", "run CONFIG [-o DIR] [--force]", "run a backtest and write its run folder", run_exec};
