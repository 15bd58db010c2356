/* cli.h - the commands of `cpo`, one table entry each (tmux style). */
#ifndef CPO_CLI_H
#define CPO_CLI_H

#include <signal.h>
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

/*
 * SIGINT and SIGTERM, for the commands that write files: the handler only
 * records the signal in a flag, which the long loops check (the engine
 * before every step, the sweep before every backtest, the report before
 * every gnuplot); they stop with CPO_EINTR and the normal error path
 * removes the .tmp files.  A second signal kills at once (SA_RESETHAND).
 * Returns the flag to hand to the library (cancel fields of the options).
 */
const volatile sig_atomic_t *cpo_cli_signals(void);

/* Print err as cpo_cli_fail does; the exit status is 128 + the signal
 * (130 for SIGINT, 143 for SIGTERM) when one stopped the command, else 1. */
int cpo_cli_fail_signal(const cpo_error *err);

/* One option of a command, for its --help: "-o, --output DIR" and what it does. */
typedef struct cpo_cli_flag {
    const char *flag;
    const char *help;
} cpo_cli_flag;

/*
 * A command's --help on stdout: the usage, what the command does (about,
 * may hold newlines), and one line per option (flags[n]); returns exit
 * status 0.  Every option a command takes has its line (check_cli
 * compares them with the usage).
 */
int cpo_cli_help(const char *usage, const char *about, const cpo_cli_flag *flags, size_t n);

/* Print "cpo: <usage problem>" and the usage line; returns exit status 2. */
int cpo_cli_usage(const char *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
