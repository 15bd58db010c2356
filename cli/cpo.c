/*
 * cpo.c - the command-line front: `cpo COMMAND [ARGS]`.
 *
 * Exit status: 0 success, 1 failure (bad data, bad config, I/O), 2 usage.
 */
#include <gsl/gsl_errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const cpo_cmd_entry *const cpo_cli_commands[] = {
    &cpo_cmd_data_entry,
    &cpo_cmd_metrics_entry,
    &cpo_cmd_options_entry,
    &cpo_cmd_run_entry,
    &cpo_cmd_report_entry,
    &cpo_cmd_compare_entry,
    &cpo_cmd_risk_entry,
    &cpo_cmd_strategies_entry,
    &cpo_cmd_sweep_entry,
    &cpo_cmd_man_entry,
    &cpo_cmd_completion_entry,
    &cpo_cmd_version_entry,
    NULL,
};
#define N_COMMANDS (sizeof cpo_cli_commands / sizeof cpo_cli_commands[0] - 1)

void cpo_cli_getopt(const cpo_cli_opt *opts, struct option *longopts, char *shorts)
{
    size_t n = 0, k = 0;
    for (; opts && opts[n].name && n < CPO_CLI_MAX_OPTS; n++) {
        longopts[n] = (struct option){opts[n].name, opts[n].arg ? required_argument : no_argument,
                                      NULL, opts[n].val};
        if (opts[n].short_opt) {
            shorts[k++] = opts[n].short_opt;
            if (opts[n].arg)
                shorts[k++] = ':';
        }
    }
    longopts[n] = (struct option){0, 0, 0, 0};
    shorts[k] = '\0';
}

/*
 * The one piece of process-wide state of cpo: the signal a SIGINT or
 * SIGTERM handler saw (0: none).  A handler can reach nothing else, so the
 * flag has to live at file scope; only the handler writes it, and the
 * library reads it through the pointer cpo_cli_signals returns.
 */
static volatile sig_atomic_t cli_signal;

static void on_signal(int sig)
{
    cli_signal = sig;
}

const volatile sig_atomic_t *cpo_cli_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* Restart interrupted reads and writes (HDF5, stdio); a second signal
     * takes the default action. */
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &cli_signal;
}

int cpo_cli_fail_signal(const cpo_error *err)
{
    cpo_cli_fail(err);
    int sig = cli_signal;
    if (sig == SIGINT || sig == SIGTERM) {
        fprintf(stderr, "cpo: stopped by %s; temporary files removed\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        return 128 + sig;
    }
    return 1;
}

int cpo_cli_fail(const cpo_error *err)
{
    char buf[2048];
    cpo_error_format(err, buf, sizeof buf);
    fprintf(stderr, "cpo: %s\n", buf);
    return 1;
}

int cpo_cli_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    fputs("cpo: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n", usage);
    return 2;
}

int cpo_cli_help(const char *usage, const char *about, const cpo_cli_opt *opts,
                 const cpo_cmd_entry *const *subs)
{
    printf("usage: %s\n\n%s\n", usage, about);
    if (subs && subs[0]) {
        printf("\ncommands:\n");
        for (size_t k = 0; subs[k]; k++)
            printf("  %-26s %s\n", subs[k]->name, subs[k]->help);
    }
    if (opts && opts[0].name)
        printf("\noptions:\n");
    for (const cpo_cli_opt *o = opts; o && o->name; o++) {
        char flag[128];
        snprintf(flag, sizeof flag, "%s%c%s--%s%s%s", o->short_opt ? "-" : "",
                 o->short_opt ? o->short_opt : ' ', o->short_opt ? ", " : "", o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
        const char *f = o->short_opt ? flag : flag + 1;
        if (strlen(f) > 26)
            printf("  %s\n  %-26s %s\n", f, "", o->help);
        else
            printf("  %-26s %s\n", f, o->help);
    }
    return 0;
}

static void print_help(FILE *out)
{
    fprintf(out, "usage: cpo COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-40s %s\n", cpo_cli_commands[i]->usage, cpo_cli_commands[i]->help);
    fprintf(out, "\n`cpo COMMAND --help` or `cpo help COMMAND` for the options of a command.\n");
}

static const cpo_cli_opt version_opts[] = {
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int version_exec(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return cpo_cli_help("cpo version", "Print the version of cpo.", version_opts, NULL);
    if (argc > 1)
        return cpo_cli_usage("cpo version", "unexpected argument \"%s\"", argv[1]);
    printf("cpo %s\n", CPO_VERSION);
    return 0;
}

const cpo_cmd_entry cpo_cmd_version_entry = {
    "version", "version", "print the version of cpo", version_exec, version_opts, NULL,
    CPO_ARGS_NONE, NULL};

int main(int argc, char **argv)
{
    /* GSL's default handler aborts; every GSL call's code is checked. */
    gsl_set_error_handler_off();
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "help") && argc > 2) {
        /* `cpo help run`: the command's own --help; `cpo help data import`
         * that of the subcommand. */
        char help[] = "--help";
        char *sub[4] = {argv[2], argc > 3 ? argv[3] : help, argc > 3 ? help : NULL, NULL};
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (!strcmp(argv[2], cpo_cli_commands[i]->name))
                return cpo_cli_commands[i]->exec(argc > 3 ? 3 : 2, sub);
        fprintf(stderr, "cpo: unknown command \"%s\" (expected one of:", argv[2]);
        for (size_t i = 0; i < N_COMMANDS; i++)
            fprintf(stderr, " %s", cpo_cli_commands[i]->name);
        fprintf(stderr, ")\n");
        return 2;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cpo %s\n", CPO_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], cpo_cli_commands[i]->name))
            return cpo_cli_commands[i]->exec(argc - 1, argv + 1);
    fprintf(stderr, "cpo: unknown command \"%s\" (expected one of:", argv[1]);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(stderr, " %s", cpo_cli_commands[i]->name);
    fprintf(stderr, ")\n");
    return 2;
}
