/* cli.h - the commands of `cpo`, one table entry each (tmux style). */
#ifndef CPO_CLI_H
#define CPO_CLI_H

#include <stdio.h>

#include "cpo/error.h"

typedef struct cpo_cmd_entry {
    const char *name;  /* "data" */
    const char *usage; /* one line */
    const char *help;  /* one sentence */
    int (*exec)(int argc, char **argv); /* argv[0] is the command name */
} cpo_cmd_entry;

extern const cpo_cmd_entry cpo_cmd_compare_entry;
extern const cpo_cmd_entry cpo_cmd_data_entry;
extern const cpo_cmd_entry cpo_cmd_report_entry;
extern const cpo_cmd_entry cpo_cmd_metrics_entry;
extern const cpo_cmd_entry cpo_cmd_options_entry;
extern const cpo_cmd_entry cpo_cmd_run_entry;
extern const cpo_cmd_entry cpo_cmd_strategies_entry;
extern const cpo_cmd_entry cpo_cmd_sweep_entry;
extern const cpo_cmd_entry cpo_cmd_version_entry;

/* Print err as "cpo: path:line:col: msg" on stderr and return exit status 1. */
int cpo_cli_fail(const cpo_error *err);

/* Print "cpo: <usage problem>" and the usage line; returns exit status 2. */
int cpo_cli_usage(const char *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
