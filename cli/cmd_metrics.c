/*
 * cmd_metrics.c - `cpo metrics FILE`: the metrics table of cpo/metrics.h
 * for any equity or return series in a CSV file (a time column and a
 * value column, optionally a benchmark column), so that results from
 * elsewhere are judged on the same scale as cpo's own runs.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cpo/backtest.h"
#include "cpo/metrics.h"
#include "cpo/time.h"
#include "run_rates.h"

#define METRICS_USAGE                                                                      \
    "cpo metrics FILE [--returns] [--column NAME] [--time-column NAME]\n"                  \
    "       [--benchmark-column NAME] [--rf X|FILE] [--rf-annual A]\n"                    \
    "       [--required-return X] [--periods-per-year A] [--cutoff P] [--top N] [--json]"

static const char *const metrics_about =
    "The metrics table (README.md, \"Metrics\") of the series in FILE, a CSV file with\n"
    "a header: a time column (ts, date, time, timestamp or datetime: ISO 8601 dates\n"
    "or date-times, or ms since 1970) and a value column (equity, value, nav or\n"
    "close; with --returns: return, returns or value, simple returns per row).  A\n"
    "run's ledger.csv gets the run's capital first, so its table is the summary's\n"
    "(with its rf column, the run's risk-free rate, unless --rf or --rf-annual is\n"
    "given).  --rf FILE reads annual rates as [financing] does (date,rate); each\n"
    "period earns (1 + a)^(days / 365) - 1 at the rate a in force at its end.";

static int parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

enum { O_RETURNS = 256, O_COLUMN, O_TIME, O_BENCH, O_RF, O_RF_ANNUAL, O_REQ, O_PPY, O_CUTOFF,
       O_TOP, O_JSON };

static const cpo_cli_opt metrics_opts[] = {
    {"returns", 0, O_RETURNS, NULL, "the value and benchmark columns hold simple returns"},
    {"column", 0, O_COLUMN, "NAME", "the value column (default equity, value, nav or close)"},
    {"time-column", 0, O_TIME, "NAME", "the time column (default ts, date, time, timestamp or "
                                       "datetime)"},
    {"benchmark-column", 0, O_BENCH, "NAME", "a benchmark column: alpha and beta against it"},
    {"rf", 0, O_RF, "X|FILE", "risk-free return per period (0), or a file of date,rate annual "
                              "rates"},
    {"rf-annual", 0, O_RF_ANNUAL, "A", "a constant annual risk-free rate, e.g. 0.04"},
    {"required-return", 0, O_REQ, "X", "Omega's required return, annual (0)"},
    {"periods-per-year", 0, O_PPY, "A", "periods a year (default: 365 days / the median "
                                        "spacing of the rows)"},
    {"cutoff", 0, O_CUTOFF, "P", "VaR and CVaR tail probability (0.05)"},
    {"top", 0, O_TOP, "N", "rows of the drawdown table (5, at most 10)"},
    {"json", 0, O_JSON, NULL, "print JSON (sorted keys) instead of text"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

/*
 * The risk-free return of each period of the series from an annual rate
 * (a constant or a dated series): (1 + a)^(dt / 365 days) - 1, a the rate
 * in force at the period's end, dt its length, as a run's [financing] rf
 * is (engine/backtest.c).  Equity: the periods between rows (n - 1);
 * returns: one a row, the first as long as the median spacing.  NULL when
 * out of memory.
 */
static double *rf_per_period(const cpo_metrics_csv *c, const cpo_rate *a)
{
    size_t n = c->returns ? c->n : c->n - 1;
    double *rf = malloc((n ? n : 1) * sizeof *rf);
    if (!rf)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        size_t end = c->returns ? k : k + 1;
        int64_t dt = end > 0 ? c->ts_ms[end] - c->ts_ms[end - 1] : c->spacing_ms;
        rf[k] = pow(1.0 + cpo_rate_at(a, c->ts_ms[end]), (double)dt / (365.0 * CPO_MS_DAY)) - 1.0;
    }
    return rf;
}

static int metrics_exec(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(metrics_opts, longopts, shorts);
    cpo_metrics_csv_opts co;
    memset(&co, 0, sizeof co);
    cpo_metrics_opts mo;
    cpo_metrics_opts_init(&mo);
    int c, json = 0, have_annual = 0, rf_zero = 0;
    double top = 0.0;
    const char *rf_file = NULL;
    cpo_rate rf_annual;
    memset(&rf_annual, 0, sizeof rf_annual);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        switch (c) {
        case O_RETURNS: co.returns = 1; break;
        case O_COLUMN: co.value_column = optarg; break;
        case O_TIME: co.time_column = optarg; break;
        case O_BENCH: co.bench_column = optarg; break;
        case O_RF:
            /* A number is a return per period; anything else a file. */
            if (parse_real(optarg, &mo.rf)) {
                if (access(optarg, R_OK) != 0)
                    return cpo_cli_usage(METRICS_USAGE,
                                         "--rf \"%s\" is neither a number nor a readable file "
                                         "(expected a return per period, e.g. 0.0001, or a file "
                                         "of date,rate annual rates)",
                                         optarg);
                rf_file = optarg;
            } else if (mo.rf == 0.0) {
                rf_zero = 1; /* 0 even where the ledger has an rf column */
            }
            break;
        case O_RF_ANNUAL:
            if (parse_real(optarg, &rf_annual.constant) || !(rf_annual.constant > -1.0))
                return cpo_cli_usage(METRICS_USAGE,
                                     "--rf-annual \"%s\" is not valid (expected an annual rate "
                                     "above -1, e.g. 0.04)",
                                     optarg);
            have_annual = 1;
            break;
        case O_REQ:
            if (parse_real(optarg, &mo.required_return) || !(mo.required_return > -1.0))
                return cpo_cli_usage(METRICS_USAGE,
                                     "--required-return \"%s\" is not valid (expected an annual "
                                     "return above -1, e.g. 0.05)",
                                     optarg);
            break;
        case O_PPY:
            if (parse_real(optarg, &mo.periods_per_year) || !(mo.periods_per_year > 0.0))
                return cpo_cli_usage(METRICS_USAGE,
                                     "--periods-per-year \"%s\" is not valid (expected a number "
                                     "above 0, e.g. 365 for daily rows)",
                                     optarg);
            break;
        case O_CUTOFF:
            if (parse_real(optarg, &mo.cutoff) || !(mo.cutoff > 0.0 && mo.cutoff < 1.0))
                return cpo_cli_usage(METRICS_USAGE,
                                     "--cutoff \"%s\" is not valid (expected a probability "
                                     "between 0 and 1, e.g. 0.05)",
                                     optarg);
            break;
        case O_TOP:
            if (parse_real(optarg, &top) || top != floor(top) || top < 0.0 ||
                top > CPO_METRICS_MAX_DRAWDOWNS)
                return cpo_cli_usage(METRICS_USAGE,
                                     "--top \"%s\" is not valid (expected a whole number from 0 "
                                     "to %d)",
                                     optarg, CPO_METRICS_MAX_DRAWDOWNS);
            mo.top_drawdowns = (size_t)top;
            break;
        case O_JSON: json = 1; break;
        case 'h': return cpo_cli_help(METRICS_USAGE, metrics_about, metrics_opts, NULL);
        default:
            return cpo_cli_usage(METRICS_USAGE, "unknown option \"%s\"",
                                 optind > 0 && optind <= argc ? argv[optind - 1] : "?");
        }
    }
    if ((rf_file || have_annual) && (mo.rf != 0.0 || rf_zero || (rf_file && have_annual)))
        return cpo_cli_usage(METRICS_USAGE, "--rf and --rf-annual name the risk-free rate twice "
                                            "(expected one of them)");
    if (optind >= argc)
        return cpo_cli_usage(METRICS_USAGE, "no file (expected cpo metrics FILE)");
    if (optind + 1 < argc)
        return cpo_cli_usage(METRICS_USAGE, "more than one file (expected one)");
    const char *path = argv[optind];

    cpo_error err;
    cpo_error_clear(&err);
    cpo_metrics_csv *series = NULL;
    if (cpo_metrics_csv_read(&series, path, &co, &err))
        return cpo_cli_fail(&err);
    double *rfs = NULL;
    int64_t *rts = NULL;
    double *rrate = NULL;
    if (rf_file) {
        size_t nr = 0;
        if (cpo_rates_read(rf_file, &rts, &rrate, &nr, &err)) {
            cpo_metrics_csv_free(series);
            return cpo_cli_fail(&err);
        }
        rf_annual.n = nr;
        rf_annual.ts = rts;
        rf_annual.rate = rrate;
    }
    if ((rf_file || have_annual || rf_zero) && !(rfs = rf_per_period(series, &rf_annual))) {
        free(rts);
        free(rrate);
        cpo_metrics_csv_free(series);
        cpo_error_set(&err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        return cpo_cli_fail(&err);
    }
    mo.rf_series = rfs;
    cpo_metrics m;
    int rc = cpo_metrics_csv_compute(&m, series, &mo, &err);
    free(rfs);
    free(rts);
    free(rrate);
    if (rc) {
        cpo_metrics_csv_free(series);
        return cpo_cli_fail(&err);
    }
    if (json) {
        json_t *j = cpo_metrics_json(&m);
        char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(17))
                       : NULL;
        json_decref(j);
        if (!text) {
            cpo_metrics_csv_free(series);
            cpo_error_set(&err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
            return cpo_cli_fail(&err);
        }
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    } else {
        char sp[24];
        cpo_duration_format(series->spacing_ms, sp, sizeof sp);
        printf("cpo metrics %s\n", path);
        if (series->run_ledger)
            printf("  %-28s a run's ledger.csv: %zu rows of \"%s\" after the capital (from %s), "
                   "median spacing %s\n",
                   "input", series->n - 1, series->value_name, series->capital_from, sp);
        else
            printf("  %-28s %zu rows of %s \"%s\", median spacing %s\n", "input", series->n,
                   series->returns ? "returns" : "equity", series->value_name, sp);
        if (series->bench)
            printf("  %-28s \"%s\" (%s)\n", "benchmark", series->bench_name,
                   series->returns ? "returns" : "prices");
        cpo_metrics_print(&m, stdout);
    }
    cpo_metrics_csv_free(series);
    return 0;
}

const cpo_cmd_entry cpo_cmd_metrics_entry = {
    "metrics", "metrics FILE [--returns] [--json]",
    "the metrics table of an equity or return series in a CSV file", metrics_exec,
    metrics_opts, NULL, CPO_ARGS_FILE, NULL};
