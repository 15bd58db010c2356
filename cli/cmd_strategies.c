/*
 * cmd_strategies.c - `cpo strategies [--plugin PATH]... [STAGE]...`: every stage the
 * registry holds (built-in, and those of the plugins given), with its
 * parameters and help.
 */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "cpo/registry.h"

#define STRATEGIES_USAGE "cpo strategies [--plugin PATH]... [STAGE]..."

static const cpo_cli_opt strategies_opts[] = {
    {"plugin", 'p', 'p', "PATH", "load the stages of the shared object PATH too"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int strategies_exec(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(strategies_opts, longopts, shorts);
    cpo_error err;
    cpo_error_clear(&err);
    cpo_registry *reg = NULL;
    int c, idx = 0, status = 0;
    /* Check the options before loading anything. */
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longopts, &idx)) != -1) {
        if (c == 'h')
            return cpo_cli_help(STRATEGIES_USAGE,
                                "Every strategy stage (built-in and from the plugins given), or "
                                "the STAGEs named, with\nits parameters, defaults, ranges and help.",
                                strategies_opts, NULL);
        if (c != 'p')
            return cpo_cli_usage(STRATEGIES_USAGE, "unknown option or missing value \"%s\"",
                                 argv[optind - 1]);
    }
    int first = optind;
    if (cpo_registry_new(&reg, &err))
        return cpo_cli_fail(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, &idx)) != -1)
        if (c == 'p' && cpo_registry_load(reg, optarg, &err)) {
            status = cpo_cli_fail(&err);
            goto cleanup;
        }
    int bad = cpo_registry_print_some(reg, (const char *const *)argv + first,
                                      (size_t)(argc - first), stdout);
    if (bad) {
        char names[1024];
        size_t used = 0;
        for (size_t k = 0; k < cpo_registry_count(reg) && used + 64 < sizeof names; k++) {
            const cpo_stage_def *d = cpo_registry_get(reg, k, NULL);
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s.%s",
                                     k ? ", " : "", cpo_role_name(d->role), d->name);
        }
        status = cpo_cli_usage(STRATEGIES_USAGE, "no stage \"%s\" (expected a stage, ROLE.STAGE "
                                                 "or a role: %s)",
                               argv[first + bad - 1], names);
    }
cleanup:
    cpo_registry_free(reg);
    return status;
}

const cpo_cmd_entry cpo_cmd_strategies_entry = {
    "strategies", "strategies [--plugin PATH]... [STAGE]...",
    "list every strategy stage (or the STAGEs named) with its parameters",
    strategies_exec, strategies_opts, NULL, CPO_ARGS_STAGE, NULL};
