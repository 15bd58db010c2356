/*
 * cmd_man.c - `cpo man [cpo|config]` and `cpo completion [bash]`: the
 * manual pages cpo(1) and cpo-config(5) and the bash completion, made
 * from the tables the program runs on: the command table (cli/cpo.c) and
 * each command's options (cpo_cli_opt), the config keys (run/config.c,
 * documented in run/config_doc.c) and the stage registry with its
 * parameter specs (strategies/registry.c).  The build makes the installed
 * files with these commands, so they cannot drift from the program.
 */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cpo/config.h"
#include "cpo/import.h"
#include "cpo/registry.h"
#include "cpo/sweep.h"

/* --- roff ------------------------------------------------------------------ */

/* Text for roff: backslashes escaped, a line never starting with '.' or
 * '\'', dashes as \- (so that options copy as ASCII). */
static void roff(FILE *out, const char *s)
{
    int bol = 1;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        bol = *s == '\n';
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

/* A usage text, its lines kept apart. */
static void roff_lines(FILE *out, const char *s)
{
    const char *e;
    while ((e = strchr(s, '\n'))) {
        char *line = strndup(s, (size_t)(e - s));
        if (line) {
            roff(out, line);
            fputs("\n.br\n", out);
            free(line);
        }
        s = e + 1;
    }
    roff(out, s);
    fputc('\n', out);
}

static void man_opts(FILE *out, const cpo_cli_opt *o)
{
    for (; o && o->name; o++) {
        fputs(".TP\n", out);
        if (o->short_opt)
            fprintf(out, "\\fB\\-%c\\fR, ", o->short_opt);
        fputs("\\fB\\-\\-", out);
        roff(out, o->name);
        fputs("\\fR", out);
        if (o->arg) {
            fputs(" \\fI", out);
            roff(out, o->arg);
            fputs("\\fR", out);
        }
        fputc('\n', out);
        roff(out, o->help);
        fputc('\n', out);
    }
}

static void man_cmd(FILE *out, const cpo_cmd_entry *e, const char *parent)
{
    fputs(".SS \"", out);
    roff(out, parent);
    roff(out, e->name);
    fputs("\"\n.nf\n", out);
    if (strncmp(e->usage, "cpo ", 4))
        fputs("cpo ", out);
    roff_lines(out, e->usage);
    fputs(".fi\n.PP\n", out);
    roff(out, e->help);
    fputs(".\n", out);
    man_opts(out, e->opts);
    for (size_t k = 0; e->subs && e->subs[k]; k++) {
        char p[64];
        snprintf(p, sizeof p, "%s%s ", parent, e->name);
        man_cmd(out, e->subs[k], p);
    }
}

static int man_cpo(FILE *out)
{
    fprintf(out, ".\\\" cpo(1), made by `cpo man cpo` from the program's command tables\n"
                 ".TH CPO 1 \"\" \"cpo %s\" \"cpo manual\"\n"
                 ".SH NAME\n"
                 "cpo \\- crypto portfolio backtesting and performance attribution\n"
                 ".SH SYNOPSIS\n"
                 ".B cpo\n.I COMMAND\n.RI [ ARGS ]\n"
                 ".SH DESCRIPTION\n"
                 "cpo imports exchange data into HDF5 stores, backtests portfolios of spot "
                 "coins, perpetual swaps and options on them (configs: \\fBcpo\\-config\\fR(5)), "
                 "attributes their performance, and runs parameter sweeps and walk\\-forward "
                 "tests.\n"
                 "Every problem with a file is printed as "
                 "\\fIpath\\fR:\\fIline\\fR:\\fIcol\\fR: what is wrong (what was expected).\n"
                 ".SH COMMANDS\n",
            CPO_VERSION);
    for (size_t i = 0; cpo_cli_commands[i]; i++)
        man_cmd(out, cpo_cli_commands[i], "cpo ");
    fputs(".SH EXIT STATUS\n"
          "0 on success, 1 when the input or the data is bad, 2 for a usage error, 130 or 143 "
          "when SIGINT or SIGTERM stopped \\fBcpo run\\fR, \\fBcpo sweep\\fR, \\fBcpo report\\fR "
          "or \\fBcpo compare\\fR (their temporary files removed).\n"
          ".SH SEE ALSO\n"
          "\\fBcpo\\-config\\fR(5); the README of cpo; the Python package \\fBcpo\\fR.\n",
          out);
    return 0;
}

/* --- cpo-config(5) ------------------------------------------------------------ */

/* The documented keys of each section against the keys run/config.c
 * declares: 0, or 1 with what differs on stderr. */
static int check_keydocs(void)
{
    const cpo_config_keydoc *d = cpo_config_keydocs();
    int bad = 0;
    for (size_t k = 0; cpo_config_section_name(k); k++) {
        const char *sec = cpo_config_section_name(k);
        int found = 0;
        for (size_t i = 0; d[i].section && !found; i++)
            found = !strcmp(d[i].section, sec);
        if (!found) {
            fprintf(stderr, "cpo: [%s] is not documented in run/config_doc.c (expected every "
                            "section of run/config.c there)\n",
                    sec);
            bad = 1;
        }
    }
    for (size_t i = 0; d[i].section; i++) {
        const char *keys = cpo_config_section_keys(d[i].section);
        if (!cpo_config_section_has(d[i].section, d[i].key)) {
            fprintf(stderr, "cpo: run/config_doc.c documents [%s] %s, which the config does not "
                            "take (expected the keys of run/config.c: %s)\n",
                    d[i].section, d[i].key, keys ? keys : "no such section");
            bad = 1;
        }
        if (i && !strcmp(d[i - 1].section, d[i].section))
            continue;
        /* Every declared key of the section is documented. */
        for (const char *p = keys ? keys : ""; *p;) {
            while (*p == ' ' || *p == ',')
                p++;
            const char *e = p;
            while (*e && *e != ',')
                e++;
            int found = 0;
            for (size_t j = 0; d[j].section; j++)
                found |= !strcmp(d[j].section, d[i].section) && strlen(d[j].key) == (size_t)(e - p) &&
                         !strncmp(d[j].key, p, (size_t)(e - p));
            if (!found && e > p) {
                fprintf(stderr, "cpo: [%s] %.*s is not documented in run/config_doc.c (expected "
                                "every key of run/config.c there)\n",
                        d[i].section, (int)(e - p), p);
                bad = 1;
            }
            p = e;
        }
    }
    return bad;
}

static const char *type_word(cpo_param_type t)
{
    static const char *const names[] = {"int", "real", "bool", "duration", "choice", "string",
                                        "list"};
    return (unsigned)t <= CPO_PARAM_LIST ? names[t] : "?";
}

static void man_param(FILE *out, const cpo_param_spec *s)
{
    fputs(".TP\n\\fB", out);
    roff(out, s->name);
    fprintf(out, "\\fR (%s", type_word(s->type));
    if (!s->def) {
        fputs(", required", out);
    } else {
        fputs(", default ", out);
        roff(out, s->def[0] ? s->def : "\"\"");
    }
    if (s->type == CPO_PARAM_INT || s->type == CPO_PARAM_REAL) {
        fputs(", in [", out);
        char b[40];
        snprintf(b, sizeof b, "%.10g, %.10g", s->min, s->max);
        roff(out, b);
        fputs("]", out);
    } else if (s->type == CPO_PARAM_CHOICE && s->choices) {
        fputs(", one of ", out);
        for (const char *c = s->choices; *c; c++) {
            if (*c == '|')
                fputs(", ", out);
            else
                fputc(*c == '-' ? '-' : *c, out);
        }
    }
    fputs(")\n", out);
    roff(out, s->help ? s->help : "");
    fputc('\n', out);
}

static int man_config(FILE *out)
{
    if (check_keydocs())
        return 1;
    cpo_registry *reg = NULL;
    cpo_error err;
    cpo_error_clear(&err);
    if (cpo_registry_new(&reg, &err))
        return cpo_cli_fail(&err);
    fprintf(out, ".\\\" cpo-config(5), made by `cpo man config` from the program's key tables and "
                 "stage registry\n"
                 ".TH CPO\\-CONFIG 5 \"\" \"cpo %s\" \"cpo manual\"\n"
                 ".SH NAME\n"
                 "cpo\\-config \\- the INI file of a cpo backtest\n"
                 ".SH DESCRIPTION\n"
                 "A backtest is an INI file read by \\fBcpo run\\fR, \\fBcpo sweep\\fR and the "
                 "Python package.  Every section and key is declared: an unknown one, a bad "
                 "value or a missing required key is refused before anything runs, with the "
                 "file, the line and what was expected.  Paths are relative to the config's "
                 "folder; dates are ISO 8601 (UTC); durations are like 90d, 8h, 15m.\n"
                 ".SH SECTIONS\n",
            CPO_VERSION);
    const cpo_config_keydoc *d = cpo_config_keydocs();
    for (size_t i = 0; d[i].section; i++) {
        if (!i || strcmp(d[i - 1].section, d[i].section))
            fprintf(out, ".SS [%s]\n", d[i].section);
        fputs(".TP\n\\fB", out);
        roff(out, d[i].key);
        fputs("\\fR\n", out);
        roff(out, d[i].help);
        fputc('\n', out);
    }
    fputs(".SS [ROLE.STAGE]\n"
          "The parameters of one stage of the pipeline, e.g. [weigh.meanvar]: see STAGES.\n"
          ".SS [sweep]\n"
          "Keys SECTION.KEY (a [costs] key, capital, currency, collateral, seed or cash_buffer "
          "of [backtest], or ROLE.STAGE.PARAM) with a comma\\-separated list of values or a "
          "range start:stop:step; \\fBcpo sweep\\fR backtests every point of the grid.\n"
          ".SS [walkforward]\n"
          ".TP\n\\fBtrain\\fR, \\fBtest\\fR\nthe lengths of the training and test windows\n"
          ".TP\n\\fBmode\\fR\nrolling or expanding (rolling)\n"
          ".TP\n\\fBobjective\\fR\nwhat the training maximises: ",
          out);
    roff(out, cpo_objective_names());
    fputs(" (sharpe)\n.SH STAGES\n"
          "The stages cpo has built in, by role (\\fBcpo strategies\\fR lists them with those "
          "of plugins).\n",
          out);
    size_t n = cpo_registry_count(reg);
    for (size_t k = 0; k < n; k++) {
        const cpo_stage_def *s = cpo_registry_get(reg, k, NULL);
        fprintf(out, ".SS [%s.", cpo_role_name(s->role));
        roff(out, s->name);
        fputs("]\n", out);
        roff(out, s->help ? s->help : "");
        fputs(".\n", out);
        for (size_t p = 0; p < s->n_params; p++)
            man_param(out, &s->params[p]);
    }
    fputs(".SH SEE ALSO\n\\fBcpo\\fR(1)\n", out);
    cpo_registry_free(reg);
    return 0;
}

/* --- the bash completion ------------------------------------------------------- */

/* The words completing the value of option o (NULL: files). */
static void value_words(FILE *out, const cpo_cli_opt *o)
{
    if (!strcmp(o->name, "format")) {
        for (int f = 0; f < CPO_FMT_COUNT; f++)
            fprintf(out, "%s%s", f ? " " : "", cpo_format_name((cpo_format)f));
        return;
    }
    if (!strcmp(o->name, "objective")) {
        for (int k = 0; k < CPO_OBJ_COUNT; k++)
            fprintf(out, "%s%s", k ? " " : "", cpo_objective_name((cpo_objective)k));
        return;
    }
    if (strchr(o->arg, '|'))
        for (const char *c = o->arg; *c; c++)
            fputc(*c == '|' ? ' ' : *c, out);
}

/* What a value of option o is: "words", "dir", "store", "so" or "file". */
static const char *value_kind(const cpo_cli_opt *o)
{
    if (!strcmp(o->name, "format") || !strcmp(o->name, "objective") || strchr(o->arg, '|'))
        return "words";
    if (!strcmp(o->arg, "DIR"))
        return "dir";
    if (!strcmp(o->arg, "STORE"))
        return "store";
    if (!strcmp(o->arg, "PATH"))
        return "so";
    return "file";
}

static const char *args_kind(cpo_cli_args a)
{
    switch (a) {
    case CPO_ARGS_FILE: return "file";
    case CPO_ARGS_CONFIG: return "config";
    case CPO_ARGS_STORE: return "store";
    case CPO_ARGS_DIR: return "dir";
    case CPO_ARGS_STAGE: return "stage";
    case CPO_ARGS_WORDS: return "words";
    default: return "none";
    }
}

/* The case arm of one command (path "run", "data import"). */
static void comp_cmd(FILE *out, const cpo_cmd_entry *e, const char *path)
{
    fprintf(out, "    \"%s\")\n        subs=\"", path);
    for (size_t k = 0; e->subs && e->subs[k]; k++)
        fprintf(out, "%s%s", k ? " " : "", e->subs[k]->name);
    fputs("\"\n        opts=\"", out);
    for (const cpo_cli_opt *o = e->opts; o && o->name; o++)
        fprintf(out, "%s--%s", o == e->opts ? "" : " ", o->name);
    fputs("\"\n", out);
    fputs("        shorts=\"", out);
    for (const cpo_cli_opt *o = e->opts; o && o->name; o++)
        if (o->short_opt)
            fprintf(out, "-%c ", o->short_opt);
    fputs("\"\n        case \"$prev\" in\n", out);
    for (const cpo_cli_opt *o = e->opts; o && o->name; o++) {
        if (!o->arg)
            continue;
        fprintf(out, "        --%s", o->name);
        if (o->short_opt)
            fprintf(out, "|-%c", o->short_opt);
        fprintf(out, ") _cpo_values %s \"", value_kind(o));
        value_words(out, o);
        fputs("\"; return ;;\n", out);
    }
    fprintf(out, "        esac\n        args=%s\n        words=\"%s\"\n        ;;\n",
            args_kind(e->args), e->words ? e->words : "");
    for (size_t k = 0; e->subs && e->subs[k]; k++) {
        char p[64];
        snprintf(p, sizeof p, "%s %s", path, e->subs[k]->name);
        comp_cmd(out, e->subs[k], p);
    }
}

static int completion_bash(FILE *out)
{
    cpo_registry *reg = NULL;
    cpo_error err;
    cpo_error_clear(&err);
    if (cpo_registry_new(&reg, &err))
        return cpo_cli_fail(&err);
    fputs("# bash completion for cpo: commands, subcommands, options and their values, stage\n"
          "# names.  Made by `cpo completion bash` from the program's tables: do not edit.\n"
          "_cpo_values() {\n"
          "    case $1 in\n"
          "    words) COMPREPLY=($(compgen -W \"$2\" -- \"$cur\")) ;;\n"
          "    dir) COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
          "    store) COMPREPLY=($(compgen -f -X '!*.h5' -- \"$cur\") $(compgen -d -- \"$cur\")) ;;\n"
          "    config) COMPREPLY=($(compgen -f -X '!*.ini' -- \"$cur\") $(compgen -d -- \"$cur\")) ;;\n"
          "    so) COMPREPLY=($(compgen -f -X '!*.so' -- \"$cur\") $(compgen -d -- \"$cur\")) ;;\n"
          "    stage) COMPREPLY=($(compgen -W \"$_cpo_stages\" -- \"$cur\")) ;;\n"
          "    none) COMPREPLY=() ;;\n"
          "    *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
          "    esac\n"
          "}\n"
          "_cpo_stages=\"",
          out);
    size_t n = cpo_registry_count(reg);
    for (size_t k = 0; k < n; k++) {
        const cpo_stage_def *s = cpo_registry_get(reg, k, NULL);
        fprintf(out, "%s%s.%s", k ? " " : "", cpo_role_name(s->role), s->name);
    }
    cpo_registry_free(reg);
    fputs("\"\n_cpo() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local path=\"\" i=1 subs opts shorts args words\n"
          "    COMPREPLY=()\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "        COMPREPLY=($(compgen -W \"",
          out);
    for (size_t i = 0; cpo_cli_commands[i]; i++)
        fprintf(out, "%s%s", i ? " " : "", cpo_cli_commands[i]->name);
    fputs(" help\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    path=${COMP_WORDS[1]}\n"
          "    case $path in\n",
          out);
    for (size_t i = 0; cpo_cli_commands[i]; i++)
        if (cpo_cli_commands[i]->subs)
            fprintf(out, "    %s) [ \"$COMP_CWORD\" -gt 2 ] && path=\"$path ${COMP_WORDS[2]}\" ;;\n",
                    cpo_cli_commands[i]->name);
    fputs("    esac\n"
          "    case $path in\n",
          out);
    for (size_t i = 0; cpo_cli_commands[i]; i++)
        comp_cmd(out, cpo_cli_commands[i], cpo_cli_commands[i]->name);
    fputs("    *) return ;;\n"
          "    esac\n"
          "    if [ -n \"$subs\" ]; then\n"
          "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts $shorts\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    _cpo_values \"$args\" \"$words\"\n"
          "}\n"
          "complete -o filenames -F _cpo cpo\n",
          out);
    return 0;
}

/* --- the commands ---------------------------------------------------------------- */

static const cpo_cli_opt man_opts_tab[] = {
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

/* Parse --help only; 1 with *status set when the command is done. */
static int only_help(int argc, char **argv, const char *usage, const char *what, int *status)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(man_opts_tab, longopts, shorts);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        if (c == 'h') {
            *status = cpo_cli_help(usage, what, man_opts_tab, NULL);
        } else {
            *status = cpo_cli_usage(usage, "bad option");
        }
        return 1;
    }
    if (argc - optind > 1) {
        *status = cpo_cli_usage(usage, "more than one argument (expected one)");
        return 1;
    }
    return 0;
}

#define MAN_USAGE "cpo man [cpo|config]"

static int man_exec(int argc, char **argv)
{
    int status;
    if (only_help(argc, argv, MAN_USAGE,
                  "Print the manual page cpo(1) (default) or cpo-config(5) as roff, made from the "
                  "program's tables\n(`cpo man config | man -l -` shows it).",
                  &status))
        return status;
    const char *page = optind < argc ? argv[optind] : "cpo";
    if (!strcmp(page, "cpo"))
        return man_cpo(stdout);
    if (!strcmp(page, "config"))
        return man_config(stdout);
    return cpo_cli_usage(MAN_USAGE, "unknown page \"%s\" (expected cpo or config)", page);
}

#define COMPLETION_USAGE "cpo completion [bash]"

static int completion_exec(int argc, char **argv)
{
    int status;
    if (only_help(argc, argv, COMPLETION_USAGE,
                  "Print the bash completion of cpo, made from the program's tables\n"
                  "(`source <(cpo completion bash)` loads it in a shell).",
                  &status))
        return status;
    const char *shell = optind < argc ? argv[optind] : "bash";
    if (!strcmp(shell, "bash"))
        return completion_bash(stdout);
    return cpo_cli_usage(COMPLETION_USAGE, "unknown shell \"%s\" (expected bash)", shell);
}

const cpo_cmd_entry cpo_cmd_man_entry = {
    "man", "man [cpo|config]", "print the manual page cpo(1) or cpo-config(5) (roff)",
    man_exec, man_opts_tab, NULL, CPO_ARGS_WORDS, "cpo config"};

const cpo_cmd_entry cpo_cmd_completion_entry = {
    "completion", "completion [bash]", "print the bash completion of cpo", completion_exec,
    man_opts_tab, NULL, CPO_ARGS_WORDS, "bash"};
