/*
 * cmd_data.c - `cpo data import | info | synth | formats`.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cpo/dataset.h"
#include "cpo/import.h"
#include "cpo/synth.h"
#include "cpo/time.h"
#include "inifile.h"

#define DATA_USAGE "data import|info|synth|formats ..."
#define IMPORT_USAGE                                                                   \
    "cpo data import -o STORE [--append|--force] [--strict|--lenient] [--format F]\n" \
    "       [--symbol S] [--kind spot|perp] [--settle linear|inverse] [--exchange X]\n"  \
    "       [--contract-size N] [--tz ZONE] [--sort] [--partial-last flag|drop|keep]\n"  \
    "       [--step DUR] [--iv-unit auto|decimal|percent] [--snapshot-time ISO]\n"       \
    "       [--keep-last-poll] [--name NAME] [--compress 0-9] [--quiet] FILE...\n"         \
    "   or: cpo data import -o STORE [--append|--force] -m MANIFEST.ini [--root DIR]"

/* One file to import with its options; owns the strings opts points to. */
typedef struct job {
    char *file;
    long line; /* manifest line of the section, 0 from the command line */
    cpo_import_opts o;
    char *symbol, *exchange, *name;
} job;

static void job_fini(job *j)
{
    free(j->file);
    free(j->symbol);
    free(j->exchange);
    free(j->name);
}

static int set_str(char **slot, const char **opt, const char *v)
{
    char *s = strdup(v);
    if (!s)
        return CPO_ENOMEM;
    free(*slot);
    *slot = s;
    *opt = s;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

static const char *const job_keys =
    "file, format, mode, sort, tz, partial_last, symbol, underlying, kind, settle, "
    "exchange, contract_size, step, iv_unit, snapshot_time, keep_last_poll, name";

/*
 * Apply one option (manifest key or long option name with '-' as '_').
 * Returns 0, 1 for an unknown key, or -1 with *expected set to what the
 * value should have been.
 */
static int job_set(job *j, const char *key, const char *v, const char **expected)
{
    cpo_import_opts *o = &j->o;
    if (!strcmp(key, "file")) {
        char *s = strdup(v);
        if (!s)
            return -1;
        free(j->file);
        j->file = s;
    } else if (!strcmp(key, "format")) {
        if (cpo_format_parse(v, &o->format)) {
            *expected = "a format listed by `cpo data formats`";
            return -1;
        }
    } else if (!strcmp(key, "mode")) {
        if (!strcmp(v, "strict"))
            o->mode = CPO_IMPORT_STRICT;
        else if (!strcmp(v, "lenient"))
            o->mode = CPO_IMPORT_LENIENT;
        else {
            *expected = "strict or lenient";
            return -1;
        }
    } else if (!strcmp(key, "sort") || !strcmp(key, "keep_last_poll")) {
        int b;
        if (parse_bool(v, &b)) {
            *expected = "yes or no";
            return -1;
        }
        if (!strcmp(key, "sort"))
            o->sort = b;
        else
            o->keep_last_poll = b;
    } else if (!strcmp(key, "tz")) {
        if (cpo_tz_parse(v, &o->tz)) {
            *expected = "UTC, an offset like +03:00, or a zone of the tz database such as "
                        "Europe/London";
            return -1;
        }
    } else if (!strcmp(key, "partial_last")) {
        if (!strcmp(v, "flag"))
            o->partial_last = CPO_PARTIAL_FLAG;
        else if (!strcmp(v, "drop"))
            o->partial_last = CPO_PARTIAL_DROP;
        else if (!strcmp(v, "keep"))
            o->partial_last = CPO_PARTIAL_KEEP;
        else {
            *expected = "flag, drop or keep";
            return -1;
        }
    } else if (!strcmp(key, "symbol") || !strcmp(key, "underlying")) {
        if (!*v || strlen(v) >= CPO_SYMBOL_MAX) {
            *expected = "a symbol of 1 to 47 characters";
            return -1;
        }
        if (set_str(&j->symbol, &o->symbol, v))
            return -1;
    } else if (!strcmp(key, "kind")) {
        if (cpo_kind_parse(v, &o->kind)) {
            *expected = "spot, perp, option or future";
            return -1;
        }
    } else if (!strcmp(key, "settle")) {
        if (cpo_settle_parse(v, &o->settle)) {
            *expected = "linear or inverse";
            return -1;
        }
    } else if (!strcmp(key, "exchange")) {
        if (!*v || strlen(v) >= CPO_CCY_MAX) {
            *expected = "a name of 1 to 15 characters";
            return -1;
        }
        if (set_str(&j->exchange, &o->exchange, v))
            return -1;
    } else if (!strcmp(key, "contract_size")) {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || errno || !(d > 0) || d > 1e12) {
            *expected = "a positive number";
            return -1;
        }
        o->contract_size = d;
    } else if (!strcmp(key, "step")) {
        if (cpo_duration_parse(v, &o->step_ms)) {
            *expected = "a duration like 1d, 8h, 15m";
            return -1;
        }
    } else if (!strcmp(key, "iv_unit")) {
        if (!strcmp(v, "auto"))
            o->iv_unit = CPO_IV_AUTO;
        else if (!strcmp(v, "decimal"))
            o->iv_unit = CPO_IV_DECIMAL;
        else if (!strcmp(v, "percent"))
            o->iv_unit = CPO_IV_PERCENT;
        else {
            *expected = "auto, decimal or percent";
            return -1;
        }
    } else if (!strcmp(key, "snapshot_time")) {
        int fl;
        if (cpo_time_parse(v, strlen(v), &o->snapshot_ms, &fl, NULL)) {
            *expected = "an ISO 8601 date-time in UTC";
            return -1;
        }
    } else if (!strcmp(key, "name")) {
        if (!*v || strlen(v) >= CPO_SYMBOL_MAX) {
            *expected = "a name of 1 to 47 characters";
            return -1;
        }
        if (set_str(&j->name, &o->name, v))
            return -1;
    } else {
        return 1;
    }
    return 0;
}

/* Copy a job's options and strings into a fresh job. */
static int job_copy(job *dst, const job *src)
{
    memset(dst, 0, sizeof *dst);
    dst->o = src->o;
    dst->o.symbol = dst->o.exchange = dst->o.name = NULL;
    if ((src->symbol && set_str(&dst->symbol, &dst->o.symbol, src->symbol)) ||
        (src->exchange && set_str(&dst->exchange, &dst->o.exchange, src->exchange)) ||
        (src->name && set_str(&dst->name, &dst->o.name, src->name)) ||
        (src->file && !(dst->file = strdup(src->file)))) {
        job_fini(dst);
        return CPO_ENOMEM;
    }
    return 0;
}

typedef struct manifest {
    const char *path;
    job defaults;
    job *jobs;
    size_t n, cap;
    char section[128];
} manifest;

static int manifest_key(void *ctx, const char *section, const char *key,
                        const char *value, long line, cpo_error *err)
{
    manifest *m = ctx;
    int is_defaults = !strcmp(section, "defaults");
    if (!is_defaults && strcmp(section, m->section) != 0) {
        /* A new import section starts from the defaults. */
        if (m->n == m->cap) {
            size_t nc = m->cap ? m->cap * 2 : 16;
            job *p = realloc(m->jobs, nc * sizeof *p);
            if (!p)
                return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
            m->jobs = p;
            m->cap = nc;
        }
        if (job_copy(&m->jobs[m->n], &m->defaults))
            return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        m->jobs[m->n].line = line;
        m->n++;
        snprintf(m->section, sizeof m->section, "%s", section);
    }
    job *j = is_defaults ? &m->defaults : &m->jobs[m->n - 1];
    if (is_defaults && !strcmp(key, "file"))
        return cpo_error_set(err, CPO_ECONFIG, m->path, line, 0,
                             "key \"file\" in [defaults] (expected it in an import section)");
    const char *expected = "";
    int r = job_set(j, key, value, &expected);
    if (r > 0)
        return cpo_error_set(err, CPO_ECONFIG, m->path, line, 0,
                             "unknown key \"%s\" in [%s] (expected one of: %s)", key, section,
                             job_keys);
    if (r < 0)
        return cpo_error_set(err, CPO_ECONFIG, m->path, line, 0,
                             "%s = \"%s\" is not valid (expected %s)", key, value, expected);
    return 0;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int parse_compress(const char *s, int *out)
{
    if (strlen(s) != 1 || s[0] < '0' || s[0] > '9')
        return -1;
    *out = s[0] - '0';
    return 0;
}

static int run_import(job *jobs, size_t n, const char *out, int append, int force,
                      int quiet, const char *root, const cpo_store_opts *so)
{
    cpo_error err;
    cpo_error_clear(&err);
    cpo_dataset *ds = NULL;
    int rc;
    if (file_exists(out)) {
        if (append) {
            rc = cpo_store_read(&ds, out, &err);
            if (rc)
                return cpo_cli_fail(&err);
        } else if (!force) {
            cpo_error_set(&err, CPO_EEXIST, out, 0, 0,
                          "the store already exists (expected --append to add to it, or "
                          "--force to replace it)");
            return cpo_cli_fail(&err);
        }
    }
    if (!ds && (rc = cpo_dataset_new(&ds, &err)))
        return cpo_cli_fail(&err);
    for (size_t i = 0; i < n; i++) {
        if (so->cancel && *so->cancel) {
            /* SIGINT or SIGTERM: nothing is written yet. */
            cpo_dataset_free(ds);
            cpo_error_set(&err, CPO_EINTR, out, 0, 0,
                          "interrupted while reading the files (expected the import to go to its "
                          "end; nothing was written)");
            return cpo_cli_fail_signal(&err);
        }
        char path[PATH_MAX];
        if (root && jobs[i].file[0] != '/')
            snprintf(path, sizeof path, "%s/%s", root, jobs[i].file);
        else
            snprintf(path, sizeof path, "%s", jobs[i].file);
        cpo_import_report rep;
        rc = cpo_import_file(ds, path, &jobs[i].o, &rep, &err);
        if (rc) {
            cpo_dataset_free(ds);
            cpo_cli_fail(&err);
            fprintf(stderr, "cpo: nothing written to %s\n", out);
            return 1;
        }
        if (!quiet)
            cpo_import_report_print(&rep, stdout);
    }
    rc = cpo_store_write_opts(ds, out, so, &err);
    cpo_dataset_free(ds);
    if (rc) /* the store's temporary file is gone */
        return cpo_cli_fail_signal(&err);
    if (!quiet)
        printf("wrote %s\n", out);
    return 0;
}

/* getopt values of the options without a short form. */
enum { O_APPEND = 256, O_FORCE, O_STRICT, O_LENIENT, O_QUIET, O_ROOT, O_SORT, O_KEEP_LAST_POLL,
       O_KEY, O_COMPRESS, O_ASSETS, O_STEPS, O_STEP, O_START, O_SEED, O_VOL, O_CORR, O_DOF,
       O_PERPS, O_OPTIONS, O_FUTURES, O_BASIS };

static const cpo_cli_opt import_opts[] = {
    {"output", 'o', 'o', "STORE", "the store to write (required)"},
    {"manifest", 'm', 'm', "MANIFEST.ini", "import the files a manifest lists, with their options"},
    {"root", 0, O_ROOT, "DIR", "the folder a manifest's paths are relative to (default: the "
                               "manifest's)"},
    {"append", 0, O_APPEND, NULL, "add to an existing store"},
    {"force", 0, O_FORCE, NULL, "replace an existing store"},
    {"strict", 0, O_STRICT, NULL, "refuse a file at its first problem (the default)"},
    {"lenient", 0, O_LENIENT, NULL, "repair what is safe (duplicates, order, a partial last bar) "
                                    "and report each repair"},
    {"quiet", 0, O_QUIET, NULL, "print nothing but errors"},
    {"sort", 0, O_SORT, NULL, "sort rows by time before validating"},
    {"keep-last-poll", 0, O_KEEP_LAST_POLL, NULL, "chain files holding two polls: keep the later "
                                                  "quote of each option"},
    {"compress", 0, O_COMPRESS, "0-9", "deflate level of the store's columns (4; 0: none)"},
    {"format", 0, O_KEY, "F", "the import format, one of `cpo data formats` (default: detected "
                              "from the header)"},
    {"symbol", 0, O_KEY, "S", "the instrument the rows belong to"},
    {"underlying", 0, O_KEY, "COIN", "the underlying of a chain file holding several"},
    {"kind", 0, O_KEY, "spot|perp", "the instrument's kind"},
    {"settle", 0, O_KEY, "linear|inverse", "the instrument's settlement"},
    {"exchange", 0, O_KEY, "X", "the instrument's exchange"},
    {"contract-size", 0, O_KEY, "N", "the instrument's contract size"},
    {"tz", 0, O_KEY, "ZONE", "zone of naive time stamps: UTC (default), +03:00, or an IANA zone "
                             "of the tz database (Asia/Shanghai)"},
    {"partial-last", 0, O_KEY, "flag|drop|keep", "what to do with an unfinished last bar (flag)"},
    {"step", 0, O_KEY, "DUR", "the expected spacing for the gap report (default: the median)"},
    {"iv-unit", 0, O_KEY, "auto|decimal|percent", "implied vol unit of a chain file (auto)"},
    {"snapshot-time", 0, O_KEY, "ISO", "when a chain file that does not record it was taken"},
    {"name", 0, O_KEY, "NAME", "the name of an implied-vol index"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static const cpo_cli_opt synth_opts[] = {
    {"output", 'o', 'o', "STORE", "the store to write (required)"},
    {"force", 0, O_FORCE, NULL, "replace an existing store"},
    {"assets", 0, O_ASSETS, "N", "how many coins"},
    {"steps", 0, O_STEPS, "N", "how many bars"},
    {"step", 0, O_STEP, "DUR", "the bar spacing"},
    {"start", 0, O_START, "DATE", "the first bar's open"},
    {"seed", 0, O_SEED, "S", "the random seed"},
    {"vol", 0, O_VOL, "X", "annual volatility of the coins"},
    {"corr", 0, O_CORR, "X", "correlation between the coins"},
    {"dof", 0, O_DOF, "X", "degrees of freedom of the Student-t returns"},
    {"perps", 0, O_PERPS, NULL, "add a perpetual with funding for each coin"},
    {"options", 0, O_OPTIONS, NULL, "add option chains"},
    {"futures", 0, O_FUTURES, "linear|inverse|both", "add quarterly futures for each coin "
                                                     "(USDT-margined, coin-margined, or both)"},
    {"basis", 0, O_BASIS, "X", "the futures' mean annualised basis (0.08)"},
    {"compress", 0, O_COMPRESS, "0-9", "deflate level of the store's columns (4; 0: none)"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int cmd_import(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(import_opts, longopts, shorts);
    const char *out = NULL, *mpath = NULL, *root = NULL;
    int append = 0, force = 0, quiet = 0, c, idx = 0, status = 0;
    cpo_store_opts so;
    cpo_store_opts_init(&so);
    /* SIGINT and SIGTERM stop the import between files and the store's
     * write before its rename: no temporary store is left. */
    so.cancel = cpo_cli_signals();
    job base;
    memset(&base, 0, sizeof base);
    cpo_import_opts_init(&base.o);
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, &idx)) != -1) {
        const char *expected = "";
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': mpath = optarg; break;
        case O_ROOT: root = optarg; break;
        case O_APPEND: append = 1; break;
        case O_FORCE: force = 1; break;
        case O_STRICT: base.o.mode = CPO_IMPORT_STRICT; break;
        case O_LENIENT: base.o.mode = CPO_IMPORT_LENIENT; break;
        case O_QUIET: quiet = 1; break;
        case O_SORT: base.o.sort = 1; break;
        case O_KEEP_LAST_POLL: base.o.keep_last_poll = 1; break;
        case O_COMPRESS:
            if (parse_compress(optarg, &so.deflate)) {
                status = cpo_cli_usage(IMPORT_USAGE, "--compress %s is not valid (expected 0 for "
                                       "none or a deflate level 1 to 9)", optarg);
                goto done;
            }
            break;
        case O_KEY: {
            char key[64];
            snprintf(key, sizeof key, "%s", longopts[idx].name);
            for (char *p = key; *p; p++)
                if (*p == '-')
                    *p = '_';
            if (job_set(&base, key, optarg, &expected) != 0) {
                status = cpo_cli_usage(IMPORT_USAGE, "--%s %s is not valid (expected %s)",
                                       longopts[idx].name, optarg, expected);
                goto done;
            }
            break;
        }
        case 'h':
            cpo_cli_help(IMPORT_USAGE,
                         "Import exchange files into an HDF5 store (built in memory and written "
                         "whole, under a\ntemporary name renamed at the end).",
                         import_opts, NULL);
            goto done;
        default: status = cpo_cli_usage(IMPORT_USAGE, "bad option"); goto done;
        }
    }
    if (!out) {
        status = cpo_cli_usage(IMPORT_USAGE, "no output store (expected -o STORE)");
        goto done;
    }
    if (append && force) {
        status = cpo_cli_usage(IMPORT_USAGE, "--append and --force exclude each other");
        goto done;
    }
    if (mpath) {
        if (optind < argc) {
            status = cpo_cli_usage(IMPORT_USAGE, "files given with a manifest (expected one or the other)");
            goto done;
        }
        manifest m;
        memset(&m, 0, sizeof m);
        m.path = mpath;
        if (job_copy(&m.defaults, &base)) {
            status = 1;
            goto done;
        }
        cpo_error err;
        cpo_error_clear(&err);
        int rc = cpo_ini_parse(mpath, manifest_key, &m, &err);
        for (size_t i = 0; rc == 0 && i < m.n; i++)
            if (!m.jobs[i].file)
                rc = cpo_error_set(&err, CPO_ECONFIG, mpath, m.jobs[i].line, 0,
                                   "import section has no \"file\" key (expected file = PATH)");
        if (rc == 0 && m.n == 0)
            rc = cpo_error_set(&err, CPO_ECONFIG, mpath, 0, 0,
                               "no import sections (expected [name] sections with file = PATH)");
        char rootbuf[PATH_MAX];
        if (!root) {
            /* Paths in a manifest are relative to the manifest's folder. */
            snprintf(rootbuf, sizeof rootbuf, "%s", mpath);
            root = dirname(rootbuf);
        }
        if (rc)
            status = cpo_cli_fail(&err);
        else
            status = run_import(m.jobs, m.n, out, append, force, quiet, root, &so);
        for (size_t i = 0; i < m.n; i++)
            job_fini(&m.jobs[i]);
        free(m.jobs);
        job_fini(&m.defaults);
        goto done;
    }
    if (optind >= argc) {
        status = cpo_cli_usage(IMPORT_USAGE, "no input files");
        goto done;
    }
    size_t n = (size_t)(argc - optind);
    job *jobs = calloc(n, sizeof *jobs);
    if (!jobs) {
        status = 1;
        goto done;
    }
    size_t made = 0;
    for (; made < n; made++) {
        if (job_copy(&jobs[made], &base))
            break;
        free(jobs[made].file);
        jobs[made].file = strdup(argv[optind + (int)made]);
        if (!jobs[made].file) {
            made++;
            break;
        }
    }
    status = made == n ? run_import(jobs, n, out, append, force, quiet, root, &so) : 1;
    for (size_t i = 0; i < made; i++)
        job_fini(&jobs[i]);
    free(jobs);
done:
    job_fini(&base);
    return status;
}

static const cpo_cli_opt help_only_opts[] = {
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int is_help(int argc, char **argv)
{
    return argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
}

static int cmd_info(int argc, char **argv)
{
    if (is_help(argc, argv))
        return cpo_cli_help("cpo data info STORE",
                            "Describe a store: instruments, ranges, frequencies, gaps, sizes, "
                            "provenance.",
                            help_only_opts, NULL);
    if (argc != 2 || argv[1][0] == '-')
        return cpo_cli_usage("cpo data info STORE", argc < 2 ? "no store given" : "expected one store");
    cpo_error err;
    cpo_error_clear(&err);
    if (cpo_store_info(argv[1], stdout, &err))
        return cpo_cli_fail(&err);
    return 0;
}

#define SYNTH_USAGE                                                              \
    "cpo data synth -o STORE [--force] [--assets N] [--steps N] [--step DUR]\n"  \
    "       [--start DATE] [--seed S] [--vol X] [--corr X] [--dof X] [--perps] [--options]\n" \
    "       [--futures linear|inverse|both] [--basis X] [--compress 0-9]"

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi || s[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_real(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int cmd_synth(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(synth_opts, longopts, shorts);
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    cpo_store_opts so;
    cpo_store_opts_init(&so);
    so.cancel = cpo_cli_signals();
    const char *out = NULL;
    int force = 0, c, idx = 0, bad = 0;
    size_t sz = 0;
    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, shorts, longopts, &idx)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_FORCE: force = 1; break;
        case O_ASSETS: bad = parse_size(optarg, 1, 100000, &s.n_assets); break;
        case O_STEPS: bad = parse_size(optarg, 2, 100000000, &s.n_steps); break;
        case O_STEP: bad = cpo_duration_parse(optarg, &s.step_ms) != 0; break;
        case O_START: {
            int fl;
            bad = cpo_time_parse(optarg, strlen(optarg), &s.start_ms, &fl, NULL) != 0;
            break;
        }
        case O_SEED:
            bad = parse_size(optarg, 0, SIZE_MAX, &sz);
            s.seed = (uint64_t)sz;
            break;
        case O_VOL: bad = parse_real(optarg, 0.0, 10.0, &s.vol_annual); break;
        case O_CORR: bad = parse_real(optarg, 0.0, 0.99, &s.corr); break;
        case O_DOF: bad = parse_real(optarg, 2.5, 1000.0, &s.t_dof); break;
        case O_PERPS: s.perps = 1; break;
        case O_OPTIONS: s.options = 1; break;
        case O_FUTURES:
            if (!strcmp(optarg, "linear"))
                s.futures = CPO_SYNTH_FUTURES_LINEAR;
            else if (!strcmp(optarg, "inverse"))
                s.futures = CPO_SYNTH_FUTURES_INVERSE;
            else if (!strcmp(optarg, "both"))
                s.futures = CPO_SYNTH_FUTURES_BOTH;
            else
                return cpo_cli_usage(SYNTH_USAGE, "--futures %s is not valid (expected linear, "
                                     "inverse or both)", optarg);
            break;
        case O_BASIS: bad = parse_real(optarg, -1.0, 1.0, &s.basis_mean); break;
        case O_COMPRESS: bad = parse_compress(optarg, &so.deflate); break;
        case 'h':
            return cpo_cli_help(SYNTH_USAGE, "Write a seeded synthetic market into a store.",
                                synth_opts, NULL);
        default: return cpo_cli_usage(SYNTH_USAGE, "bad option");
        }
        if (bad)
            return cpo_cli_usage(SYNTH_USAGE, "--%s %s is not valid", longopts[idx].name, optarg);
    }
    if (!out)
        return cpo_cli_usage(SYNTH_USAGE, "no output store (expected -o STORE)");
    cpo_error err;
    cpo_error_clear(&err);
    if (file_exists(out) && !force) {
        cpo_error_set(&err, CPO_EEXIST, out, 0, 0,
                      "the store already exists (expected --force to replace it)");
        return cpo_cli_fail(&err);
    }
    cpo_dataset *ds = NULL;
    int rc = cpo_dataset_new(&ds, &err);
    if (!rc)
        rc = cpo_synth_generate(ds, &s, &err);
    if (!rc)
        rc = cpo_store_write_opts(ds, out, &so, &err);
    cpo_dataset_free(ds);
    if (rc)
        return cpo_cli_fail_signal(&err);
    printf("wrote %s: %zu assets x %zu steps, seed %llu\n", out, s.n_assets, s.n_steps,
           (unsigned long long)s.seed);
    return 0;
}

static int cmd_formats(int argc, char **argv)
{
    if (is_help(argc, argv))
        return cpo_cli_help("cpo data formats", "List the import formats (--format F).",
                            help_only_opts, NULL);
    if (argc > 1)
        return cpo_cli_usage("cpo data formats", "unexpected argument \"%s\"", argv[1]);
    int w = 0;
    for (int f = 0; f < CPO_FMT_COUNT; f++)
        if ((int)strlen(cpo_format_name((cpo_format)f)) > w)
            w = (int)strlen(cpo_format_name((cpo_format)f));
    for (int f = 0; f < CPO_FMT_COUNT; f++)
        printf("%-*s  %s\n", w, cpo_format_name((cpo_format)f), cpo_format_help((cpo_format)f));
    return 0;
}

static const cpo_cmd_entry data_import_entry = {
    "import", IMPORT_USAGE, "import exchange files (or what a manifest lists) into a store",
    cmd_import, import_opts, NULL, CPO_ARGS_FILE, NULL};
static const cpo_cmd_entry data_info_entry = {
    "info", "cpo data info STORE",
    "instruments, ranges, frequencies, gaps, sizes and provenance of a store", cmd_info,
    help_only_opts, NULL, CPO_ARGS_STORE, NULL};
static const cpo_cmd_entry data_synth_entry = {
    "synth", SYNTH_USAGE, "write a seeded synthetic market", cmd_synth, synth_opts, NULL,
    CPO_ARGS_NONE, NULL};
static const cpo_cmd_entry data_formats_entry = {
    "formats", "cpo data formats", "list the import formats", cmd_formats, help_only_opts, NULL,
    CPO_ARGS_NONE, NULL};
static const cpo_cmd_entry *const data_subs[] = {&data_import_entry, &data_info_entry,
                                                 &data_synth_entry, &data_formats_entry, NULL};

static int data_exec(int argc, char **argv)
{
    if (argc < 2)
        return cpo_cli_usage("cpo " DATA_USAGE, "no data command");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return cpo_cli_help("cpo " DATA_USAGE,
                            "The data commands (cpo data COMMAND --help for the options of one).",
                            NULL, data_subs);
    for (size_t k = 0; data_subs[k]; k++)
        if (!strcmp(argv[1], data_subs[k]->name))
            return data_subs[k]->exec(argc - 1, argv + 1);
    const char *sub = argv[1];
    return cpo_cli_usage("cpo " DATA_USAGE,
                         "unknown data command \"%s\" (expected import, info, synth or formats)", sub);
}

const cpo_cmd_entry cpo_cmd_data_entry = {
    "data", DATA_USAGE, "import exchange files into a store, describe a store, make synthetic data",
    data_exec, NULL, data_subs, CPO_ARGS_NONE, NULL};
