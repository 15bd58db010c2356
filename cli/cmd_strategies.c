/*
 * cmd_strategies.c - `cpo strategies [--plugin PATH]...`: every stage the
 * registry holds (built-in, and those of the plugins given), with its
 * parameters and help.
 */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "cpo/registry.h"

#define STRATEGIES_USAGE "cpo strategies [--plugin PATH]..."

static int strategies_exec(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"plugin", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    cpo_error err;
    cpo_error_clear(&err);
    cpo_registry *reg = NULL;
    int c, idx = 0, status = 0;
    /* Check the options before loading anything. */
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "p:h", longopts, &idx)) != -1) {
        if (c == 'h') {
            static const cpo_cli_flag flags[] = {
                {"-p, --plugin PATH", "also load the stages of this shared object (repeatable)"},
                {"-h, --help", "this help"}};
            return cpo_cli_help(STRATEGIES_USAGE,
                                "Every strategy stage (built-in and from the plugins given) with "
                                "its parameters,\ndefaults, ranges and help.",
                                flags, sizeof flags / sizeof flags[0]);
        }
        if (c != 'p')
            return cpo_cli_usage(STRATEGIES_USAGE, "unknown option or missing value \"%s\"",
                                 argv[optind - 1]);
    }
    if (optind < argc)
        return cpo_cli_usage(STRATEGIES_USAGE, "unexpected argument \"%s\"", argv[optind]);
    if (cpo_registry_new(&reg, &err))
        return cpo_cli_fail(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:h", longopts, &idx)) != -1)
        if (c == 'p' && cpo_registry_load(reg, optarg, &err)) {
            status = cpo_cli_fail(&err);
            goto cleanup;
        }
    cpo_registry_print(reg, stdout);
cleanup:
    cpo_registry_free(reg);
    return status;
}

const cpo_cmd_entry cpo_cmd_strategies_entry = {
    "strategies", "strategies [--plugin PATH]...",
    "list every strategy stage with its parameters (built-in and from plugins)",
    strategies_exec};
