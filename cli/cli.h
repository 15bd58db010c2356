/* cli.h - the commands of `cpo`, one table entry each (tmux style). */
#ifndef CPO_CLI_H
#define CPO_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cpo/error.h"

/*
 * One option of a command: what getopt_long parses (cpo_cli_getopt makes
 * its tables from these) and what `cpo man` and `cpo completion` say, so
 * the three cannot disagree.
 */
typedef struct cpo_cli_opt {
    const char *name;  /* long name: "output" for --output */
    char short_opt;    /* 'o' for -o, or 0 */
    int val;           /* what getopt_long returns for it */
    const char *arg;   /* the value's name ("DIR"), or NULL for a switch */
    const char *help;  /* one sentence */
} cpo_cli_opt;

#define CPO_CLI_MAX_OPTS 40

/* getopt_long's tables for opts (ended by a NULL name): longopts has room
 * for CPO_CLI_MAX_OPTS + 1 entries, shorts for 3 * CPO_CLI_MAX_OPTS + 1. */
void cpo_cli_getopt(const cpo_cli_opt *opts, struct option *longopts, char *shorts);

/* What the positional arguments of a command are (completion). */
typedef enum cpo_cli_args {
    CPO_ARGS_NONE = 0,
    CPO_ARGS_FILE,    /* files */
    CPO_ARGS_CONFIG,  /* config files (*.ini) */
    CPO_ARGS_STORE,   /* stores (*.h5) */
    CPO_ARGS_DIR,     /* folders (run folders) */
    CPO_ARGS_STAGE,   /* stage names */
    CPO_ARGS_WORDS    /* the words of the entry's words field */
} cpo_cli_args;

typedef struct cpo_cmd_entry {
    const char *name;  /* "data" */
    const char *usage; /* one line */
    const char *help;  /* one sentence */
    int (*exec)(int argc, char **argv); /* argv[0] is the command name */
    const cpo_cli_opt *opts;  /* its options, ended by a NULL name; NULL: none */
    const struct cpo_cmd_entry *const *subs; /* its subcommands, NULL-ended; NULL: none */
    cpo_cli_args args;        /* what its positional arguments are */
    const char *words;        /* CPO_ARGS_WORDS: the words, space-separated */
} cpo_cmd_entry;

/* The commands of `cpo`, NULL-ended, in the order `cpo help` lists them. */
extern const cpo_cmd_entry *const cpo_cli_commands[];

extern const cpo_cmd_entry cpo_cmd_compare_entry;
extern const cpo_cmd_entry cpo_cmd_data_entry;
extern const cpo_cmd_entry cpo_cmd_report_entry;
extern const cpo_cmd_entry cpo_cmd_metrics_entry;
extern const cpo_cmd_entry cpo_cmd_options_entry;
extern const cpo_cmd_entry cpo_cmd_risk_entry;
extern const cpo_cmd_entry cpo_cmd_run_entry;
extern const cpo_cmd_entry cpo_cmd_strategies_entry;
extern const cpo_cmd_entry cpo_cmd_sweep_entry;
extern const cpo_cmd_entry cpo_cmd_version_entry;
extern const cpo_cmd_entry cpo_cmd_man_entry;
extern const cpo_cmd_entry cpo_cmd_completion_entry;

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

/*
 * A command's --help on stdout: the usage, what the command does (about,
 * may hold newlines), its subcommands (subs, NULL-ended, or NULL) one line
 * each, and one line per option of opts (ended by a NULL name; NULL: none),
 * from the same table getopt_long, `cpo man` and `cpo completion` use.
 * Returns exit status 0.
 */
int cpo_cli_help(const char *usage, const char *about, const cpo_cli_opt *opts,
                 const struct cpo_cmd_entry *const *subs);

/* Print "cpo: <usage problem>" and the usage line; returns exit status 2. */
int cpo_cli_usage(const char *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
