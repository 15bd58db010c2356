/*
 * run.c - one backtest from a config to its run folder (see cpo/run.h):
 * the market (run/market.c), the engine (engine/), the files (reports/:
 * ledger, attribution, results; here: summary.json and manifest.json,
 * which say how the run was configured), each written to "<name>.tmp.<pid>"
 * and renamed when whole, then the report; the folder is locked for the
 * run (one writer per folder, outfile.h).
 *
 * Byte-identical reruns: no wall-clock time is written anywhere, numbers
 * are printed with 17 significant digits, JSON keys are sorted, HDF5
 * objects do not track times, and the manifest's command leaves out -o
 * and --force (they say where the files go, not what they hold).
 */
#define _DEFAULT_SOURCE
#include "cpo/run.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/attrib.h"
#include "cpo/report.h"
#include "cpo/stats.h"
#include "cpo/surface.h"
#include "cpo/time.h"
#include "cpo/hash.h"
#include "csvwrite.h"
#include "ledger_out.h"
#include "outfile.h"
#include "params.h"
#include "run_files.h"
#include "run_priv.h"
#include "sidejob.h"

/* The files of a run folder, in the order they are renamed (manifest last). */
enum { F_LEDGER_H5 = 0, F_LEDGER_INSTR, F_LEDGER_CSV, F_TRADES, F_EVENTS,
       F_FUTURES, /* runs with dated futures */
       F_ATTRIB, /* CPO_ATTRIB_FILE_COUNT files, in cpo_attrib_file order */
       F_OPT = F_ATTRIB + CPO_ATTRIB_FILE_COUNT, /* CPO_OPT_FILE_COUNT files (options) */
       F_BENCH = F_OPT + CPO_OPT_FILE_COUNT,     /* benchmark.csv (runs with a benchmark) */
       F_SUMMARY, F_MANIFEST, F_COUNT };

static const char *file_name(int f)
{
    static const char *const fixed[F_ATTRIB] = {"ledger.h5",  "ledger_instruments.csv",
                                                "ledger.csv", "trades.csv",
                                                "events.csv", "futures.csv"};
    if (f < F_ATTRIB)
        return fixed[f];
    if (f < F_OPT)
        return cpo_attrib_file_name((cpo_attrib_file)(f - F_ATTRIB));
    if (f < F_BENCH)
        return cpo_opt_file_name((cpo_opt_file)(f - F_OPT));
    if (f == F_BENCH)
        return "benchmark.csv";
    return f == F_SUMMARY ? "summary.json" : "manifest.json";
}

typedef struct out_ctx {
    const cpo_config *cfg;
    const char *dir;
    char tmp[F_COUNT][1200];
    char fin[F_COUNT][1200];
    int made[F_COUNT];   /* a .tmp exists */
    int want[F_COUNT];   /* part of this run */
    cpo_error *err;
} out_ctx;

void cpo_run_opts_init(cpo_run_opts *o)
{
    memset(o, 0, sizeof *o);
}

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

/* --- small writers ----------------------------------------------------- */

static FILE *open_tmp(out_ctx *o, int f)
{
    FILE *fp = fopen(o->tmp[f], "wb");
    if (!fp) {
        cpo_error_set(o->err, CPO_EIO, o->tmp[f], 0, 0, "cannot create: %s (expected a writable folder)",
                      strerror(errno));
        return NULL;
    }
    o->made[f] = 1;
    return fp;
}

static int close_tmp(out_ctx *o, int f, FILE *fp)
{
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad)
        return cpo_error_set(o->err, CPO_EIO, o->tmp[f], 0, 0, "cannot write: %s",
                             strerror(errno ? errno : EIO));
    return 0;
}

/* --- JSON -------------------------------------------------------------- */

static json_t *jreal(double x)
{
    return isfinite(x) ? json_real(x == 0.0 ? 0.0 : x) : json_null();
}

static json_t *jtime(int64_t t)
{
    char b[40];
    if (t == CPO_TIME_NONE)
        return json_null();
    cpo_time_format(t, b, sizeof b);
    return json_string(b);
}

static json_t *jdur(int64_t ms)
{
    char b[40];
    cpo_duration_format(ms, b, sizeof b);
    return json_string(b);
}

static json_t *jseed(uint64_t s)
{
    if (s <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)s);
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)s);
    return json_string(b);
}

/* The option settings the run used (manifest "resolved"; runs with options). */
static json_t *options_spec_json(const cpo_option_spec *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "surface_mode", json_string(cpo_surface_mode_name(s->surface_mode)));
    json_object_set_new(o, "coin_px", json_string(s->coin_px_index ? "index" : "forward"));
    json_t *u = json_array();
    for (size_t k = 0; k < s->n_underlyings && k < CPO_OPT_MAX_UNDERLYINGS; k++) {
        json_t *e = json_object();
        json_object_set_new(e, "underlying", json_string(s->underlying[k]));
        json_object_set_new(e, "index", json_string(s->index[k]));
        json_object_set_new(e, "dvol", json_string(s->dvol[k]));
        json_object_set_new(e, "delivery", json_string(s->delivery[k][0] ? s->delivery[k]
                                                                        : s->index[k]));
        json_array_append_new(u, e);
    }
    json_object_set_new(o, "underlyings", u);
    json_object_set_new(o, "rate", jreal(s->rate));
    json_object_set_new(o, "fee_rate", jreal(s->fee_rate));
    json_object_set_new(o, "fee_cap", jreal(s->fee_cap));
    json_object_set_new(o, "delivery_rate", jreal(s->delivery_rate));
    json_object_set_new(o, "delivery_cap", jreal(s->delivery_cap));
    json_object_set_new(o, "explain_rel", jreal(s->explain_rel));
    json_object_set_new(o, "explain_abs", jreal(s->explain_abs));
    json_object_set_new(o, "max_positions", json_integer((json_int_t)s->max_positions));
    json_object_set_new(o, "max_quote_age", s->max_quote_age_ms ? jdur(s->max_quote_age_ms)
                                                                : json_string("one bar"));
    return o;
}

/* The config as written: {section: {key: text}}. */
static json_t *settings_json(const cpo_config *cfg)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < cfg->n_keys; i++) {
        const cpo_config_key *k = &cfg->keys[i];
        json_t *s = json_object_get(o, k->section);
        if (!s) {
            s = json_object();
            if (json_object_set_new(o, k->section, s)) {
                json_decref(o);
                return NULL;
            }
        }
        json_object_set_new(s, k->key, json_string(k->value));
    }
    return o;
}

/* Every setting as the run used it, defaults included. */
static json_t *resolved_json(const cpo_config *cfg, const cpo_result *r)
{
    const cpo_run_spec *s = &cfg->run;
    const cpo_costs *c = &s->costs;
    json_t *o = json_object();
    json_object_set_new(o, "data", json_string(cfg->data_path));
    json_object_set_new(o, "start", jtime(s->start_ms));
    json_object_set_new(o, "end", jtime(s->end_ms));
    json_object_set_new(o, "warmup", cfg->warmup_ms ? jdur(cfg->warmup_ms) : json_string("0"));
    json_object_set_new(o, "step", cfg->market.step_ms ? jdur(cfg->market.step_ms)
                                                       : json_string("finest bar spacing"));
    json_object_set_new(o, "gap_fill", json_string(cfg->market.fill == CPO_FILL_FORWARD ? "forward"
                                                                                        : "none"));
    json_object_set_new(o, "max_fill", json_integer((json_int_t)cfg->market.max_fill));
    json_object_set_new(o, "capital", jreal(s->capital));
    json_object_set_new(o, "currency", json_string(s->currency));
    json_object_set_new(o, "collateral", json_string(s->collateral[0] ? s->collateral : s->currency));
    json_object_set_new(o, "seed", jseed(s->seed));
    json_object_set_new(o, "cash_buffer", jreal(s->cash_buffer));
    json_object_set_new(o, "detail", json_string(s->detail == CPO_DETAIL_INSTRUMENT ? "instrument"
                                                                                    : "totals"));
    json_object_set_new(o, "fill", json_string(s->fill == CPO_FILL_THIS_CLOSE ? "close" : "next_open"));
    json_t *costs = json_object();
    for (int k = 0; k < 4; k++) {
        json_t *kk = json_object();
        json_object_set_new(kk, "taker_bps", jreal(c->kind[k].taker_bps));
        json_object_set_new(kk, "maker_bps", jreal(c->kind[k].maker_bps));
        json_object_set_new(kk, "imr", jreal(c->kind[k].imr));
        json_object_set_new(kk, "mmr", jreal(c->kind[k].mmr));
        json_object_set_new(costs, cpo_kind_name((cpo_kind)k), kk);
    }
    json_object_set_new(costs, "slippage_bps", jreal(c->slippage_bps));
    json_object_set_new(costs, "impact_coef", jreal(c->impact_coef));
    json_object_set_new(costs, "participation_cap", jreal(c->participation_cap));
    json_object_set_new(costs, "lot_rounding", json_boolean(c->lot_rounding));
    json_object_set_new(o, "costs", costs);
    json_t *uni = json_array();
    for (size_t i = 0; i < r->n_instr; i++)
        json_array_append_new(uni, json_string(r->instr[i].symbol));
    json_object_set_new(o, "universe", uni);
    if (cfg->benchmark[0])
        json_object_set_new(o, "benchmark", json_string(cfg->benchmark));
    json_t *pipe = json_array();
    for (size_t k = 0; k < s->n_stages; k++) {
        const cpo_stage_def *d = s->stages[k].def;
        json_t *st = json_object(), *ps = json_object();
        json_object_set_new(st, "role", json_string(cpo_role_name(d->role)));
        json_object_set_new(st, "name", json_string(d->name));
        for (size_t p = 0; p < d->n_params; p++)
            json_object_set_new(ps, d->params[p].name,
                                json_string(cpo_params_str(s->stages[k].params, d->params[p].name)));
        json_object_set_new(st, "params", ps);
        json_array_append_new(pipe, st);
    }
    json_object_set_new(o, "pipeline", pipe);
    json_t *pl = json_array();
    for (size_t i = 0; i < cfg->n_plugins; i++)
        json_array_append_new(pl, json_string(cfg->plugins[i]));
    json_object_set_new(o, "plugins", pl);
    if (s->options.enabled)
        json_object_set_new(o, "options", options_spec_json(&s->options));
    return o;
}

/* The text of a JSON file of a run (keys sorted, 17 digits), j released;
 * NULL when out of memory. */
static char *json_text(json_t *j)
{
    if (!j)
        return NULL;
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(j);
    return text;
}

static int dump_json(out_ctx *o, int f, json_t *j)
{
    char *text = json_text(j);
    if (!text)
        return nomem(o->err);
    FILE *fp = open_tmp(o, f);
    if (!fp) {
        free(text);
        return o->err->code;
    }
    fputs(text, fp);
    fputc('\n', fp);
    free(text);
    return close_tmp(o, f, fp);
}

static const char *fill_note = "fills at the decision bar's close: optimistic";

/* --- [bootstrap]: confidence intervals of the run's metrics ----------------- */

typedef struct boot_cfg {
    int enabled;
    int64_t block_ms;           /* 0: automatic */
    cpo_stats_boot_opts opts;
} boot_cfg;

static int boot_bad(const cpo_config *cfg, const cpo_config_key *k, const char *expected,
                    cpo_error *err)
{
    return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                         "[bootstrap] %s = \"%s\" is not valid (expected %s)", k->key, k->value,
                         expected);
}

/* [bootstrap] samples = 1000, block = auto | DURATION, level = 0.95; the
 * seed is [backtest] seed.  Checked before anything runs. */
static int boot_parse(const cpo_config *cfg, boot_cfg *b, cpo_error *err)
{
    memset(b, 0, sizeof *b);
    cpo_stats_boot_opts_init(&b->opts);
    b->opts.seed = cfg->run.seed;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const cpo_config_key *k = &cfg->keys[i];
        if (strcmp(k->section, "bootstrap"))
            continue;
        b->enabled = 1;
        char *end;
        if (!strcmp(k->key, "samples")) {
            errno = 0;
            long v = strtol(k->value, &end, 10);
            if (end == k->value || *end || errno || v < 2 || v > 1000000)
                return boot_bad(cfg, k, "a whole number of resamples in [2, 1000000]", err);
            b->opts.samples = (size_t)v;
        } else if (!strcmp(k->key, "block")) {
            if (!strcmp(k->value, "auto"))
                b->block_ms = 0;
            else if (cpo_duration_parse(k->value, &b->block_ms) || b->block_ms <= 0)
                return boot_bad(cfg, k, "auto (the cube root of the bars) or a duration like 10d",
                                err);
        } else if (!strcmp(k->key, "level")) {
            errno = 0;
            double v = strtod(k->value, &end);
            if (end == k->value || *end || errno || !(v >= 0.5 && v <= 0.999))
                return boot_bad(cfg, k, "a confidence level in [0.5, 0.999]", err);
            b->opts.level = v;
        } else {
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                                 "unknown key \"%s\" in [bootstrap] (expected one of: samples, "
                                 "block, level)",
                                 k->key);
        }
    }
    return 0;
}

/* [attribution] factor_universe = store | run | COIN, COIN, ... */
static int attrib_parse(const cpo_config *cfg, cpo_attrib_opts *o, cpo_error *err)
{
    cpo_attrib_opts_init(o);
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const cpo_config_key *k = &cfg->keys[i];
        if (strcmp(k->section, "attribution"))
            continue;
        if (strcmp(k->key, "factor_universe"))
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                                 "unknown key \"%s\" in [attribution] (expected "
                                 "factor_universe)",
                                 k->key);
        if (!strcmp(k->value, "store"))
            o->factor_universe = CPO_FACTOR_UNIVERSE_STORE;
        else if (!strcmp(k->value, "run"))
            o->factor_universe = CPO_FACTOR_UNIVERSE_RUN;
        else {
            int ok = k->value[0] != '\0' && strlen(k->value) < sizeof o->factor_coins;
            for (const char *c = k->value; ok && *c; c++)
                ok = (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == ',' ||
                     *c == ' ';
            if (!ok)
                return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                                     "[attribution] factor_universe = \"%s\" is not valid "
                                     "(expected store, run, or coins like BTC, ETH, SOL)",
                                     k->value);
            o->factor_universe = CPO_FACTOR_UNIVERSE_LIST;
            snprintf(o->factor_coins, sizeof o->factor_coins, "%s", k->value);
        }
    }
    return 0;
}

static json_t *ci_json(const cpo_stats_ci *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "estimate", jreal(c->estimate));
    json_object_set_new(o, "lo", jreal(c->lo));
    json_object_set_new(o, "hi", jreal(c->hi));
    json_object_set_new(o, "se", jreal(c->se));
    return o;
}

/* The bootstrap of the run's bar returns as summary.json holds it. */
static int boot_json(json_t **out, const boot_cfg *b, const cpo_result *r,
                     const cpo_run_metrics *mt, cpo_error *err)
{
    *out = NULL;
    cpo_stats_boot_opts o = b->opts;
    o.periods_per_year = mt->periods_per_year;
    if (b->block_ms > 0 && mt->bar_ms > 0)
        o.block = fmax(1.0, round((double)b->block_ms / (double)mt->bar_ms));
    double *ret = malloc((r->n_steps ? r->n_steps : 1) * sizeof *ret);
    if (!ret)
        return nomem(err);
    for (size_t t = 0; t < r->n_steps; t++) {
        double prev = t ? r->equity[t - 1] : r->capital;
        ret[t] = prev != 0.0 ? r->equity[t] / prev - 1.0 : NAN;
    }
    cpo_stats_boot bs;
    int rc = cpo_stats_bootstrap(&bs, ret, r->n_steps, &o, err);
    free(ret);
    if (rc)
        return rc;
    json_t *j = json_object();
    json_object_set_new(j, "method",
                        json_string("stationary block bootstrap (Politis & Romano 1994) of the "
                                    "bar returns, percentile intervals; max_drawdown a positive "
                                    "fraction"));
    json_object_set_new(j, "samples", json_integer((json_int_t)bs.samples));
    json_object_set_new(j, "block_bars", jreal(bs.block));
    json_object_set_new(j, "level", jreal(bs.level));
    json_object_set_new(j, "seed", jseed(bs.seed));
    json_object_set_new(j, "bars", json_integer((json_int_t)bs.n_obs));
    json_object_set_new(j, "sharpe", ci_json(&bs.sharpe));
    json_object_set_new(j, "cagr", ci_json(&bs.cagr));
    json_object_set_new(j, "max_drawdown", ci_json(&bs.max_drawdown));
    *out = j;
    return 0;
}


/* The summary's financing block: the rates, what they paid, and the
 * risk-free rate the metrics used; the return over it. */
static json_t *financing_json(const cpo_config *cfg, const cpo_result *r,
                              const cpo_run_metrics *mt)
{
    const cpo_financing_spec *f = &cfg->run.financing;
    json_t *o = json_object();
    json_t *rates = json_object();
    for (size_t k = 0; k < f->n; k++) {
        json_t *e = json_object();
        char key[64];
        snprintf(key, sizeof key, "cash.%s", f->ccy[k]);
        const char *v = cpo_config_get(cfg, "financing", key);
        json_object_set_new(e, "cash", v ? json_string(v) : json_string("0"));
        snprintf(key, sizeof key, "borrow.%s", f->ccy[k]);
        v = cpo_config_get(cfg, "financing", key);
        json_object_set_new(e, "borrow", v ? json_string(v) : json_string("0"));
        json_object_set_new(rates, f->ccy[k], e);
    }
    json_object_set_new(o, "rates", rates);
    json_object_set_new(o, "financing", jreal(mt->pnl[CPO_PNL_FINANCING]));
    json_object_set_new(o, "rf", f->rf_kind == CPO_RF_NONE ? json_string("none (0)")
                                 : f->rf_kind == CPO_RF_CASH
                                     ? json_string("cash: the cash rate of the reporting currency")
                                     : json_string(f->rf_source));
    json_object_set_new(o, "rf_annual", jreal(mt->rf_annual));
    json_object_set_new(o, "annual_return_over_rf", jreal(mt->annual_over_rf));
    (void)r;
    return o;
}

/* The summary's margin block: the rules the run followed and what they did
 * (runs with margined instruments, or a ruin). */
static json_t *margin_json(const cpo_config *cfg, const cpo_result *r)
{
    const cpo_margin_spec *m = &cfg->run.margin;
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(m->mode == CPO_MARGIN_ISOLATED ? "isolated"
                                                                                : "cross"));
    json_object_set_new(o, "options_margin",
                        json_string(m->options_margin == CPO_OPTIONS_MARGIN_PORTFOLIO
                                        ? "portfolio"
                                        : "standard"));
    json_object_set_new(o, "liquidation_price",
                        json_string(m->liq_price == CPO_LIQ_WICK ? "wick" : "mark"));
    json_object_set_new(o, "liquidation_fee", jreal(m->liquidation_fee));
    json_object_set_new(o, "brackets", m->brackets_source[0] ? json_string(m->brackets_source)
                                                             : json_null());
    json_t *ins = json_array();
    for (size_t i = 0; r->margin_model && i < r->n_instr; i++) {
        if (!r->margin_model[i])
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "symbol", json_string(r->instr[i].symbol));
        json_object_set_new(e, "rules", json_string(cpo_margin_model_name(r->margin_model[i])));
        json_object_set_new(e, "mark_source",
                            json_string(cpo_mark_source_name(r->mark_source[i])));
        json_array_append_new(ins, e);
    }
    json_object_set_new(o, "instruments", ins);
    json_t *peak = json_object();
    for (size_t c = 0; c < r->n_ccy; c++)
        if (r->margin_ccy[c])
            json_object_set_new(peak, r->ccy[c], jreal(r->peak_margin_ratio[c]));
    json_object_set_new(o, "peak_margin_ratio", peak);
    json_object_set_new(o, "liquidations", json_integer((json_int_t)r->n_liquidations));
    json_object_set_new(o, "margin_calls", json_integer((json_int_t)r->n_margin_calls));
    json_object_set_new(o, "orders_cut", json_integer((json_int_t)r->n_orders_cut));
    json_object_set_new(o, "liquidation_fees", jreal(r->liquidation_fees));
    json_object_set_new(o, "insurance_fund_taken", jreal(r->insurance_taken));
    json_object_set_new(o, "insurance_fund_covered", jreal(r->insurance_covered));
    json_object_set_new(o, "ruin", r->ruined ? jtime(r->ruin_ms) : json_null());
    return o;
}

/* The summary's futures block (runs with dated futures): the rules, each
 * future's life in the run (how its steps were priced, its delivery), the
 * deliveries and rolls. */
static json_t *futures_json(const cpo_config *cfg, const cpo_result *r, const cpo_run_metrics *mt)
{
    const cpo_futures_spec *fs = &cfg->run.futures;
    json_t *o = json_object();
    json_object_set_new(o, "between_quotes", json_string(fs->between_quotes == CPO_FUT_GAP_BASIS
                                                             ? "basis"
                                                             : "none"));
    json_object_set_new(o, "delivery_fee_bps", isfinite(fs->delivery_fee_bps)
                                                   ? jreal(fs->delivery_fee_bps)
                                                   : json_string("the exchange's"));
    size_t T = r->n_steps;
    json_t *ins = json_array();
    for (size_t f = 0; f < r->n_fut; f++) {
        const cpo_instrument *in = &r->instr[r->fut_instr[f]];
        json_t *e = json_object();
        json_object_set_new(e, "symbol", json_string(in->symbol));
        json_object_set_new(e, "expiry", in->expiry_ms > 0 ? jtime(in->expiry_ms) : json_null());
        const char *coin = in->underlying[0] ? in->underlying : in->base;
        char buf[CPO_SYMBOL_MAX];
        json_object_set_new(e, "index", json_string(cpo_futures_index(&cfg->run, coin, 0, buf,
                                                                      sizeof buf)));
        size_t n_src[4] = {0}, held = 0;
        for (size_t t = 0; t < T; t++) {
            if (in->expiry_ms > 0 && r->ts[t] >= in->expiry_ms)
                break;
            n_src[r->fut_src[f * T + t] & 3]++;
            held += r->fut_qty[f * T + t] != 0.0;
        }
        json_t *steps = json_object();
        json_object_set_new(steps, "quote", json_integer((json_int_t)n_src[CPO_FUT_SRC_QUOTE]));
        json_object_set_new(steps, "filled", json_integer((json_int_t)n_src[CPO_FUT_SRC_FILLED]));
        json_object_set_new(steps, "basis", json_integer((json_int_t)n_src[CPO_FUT_SRC_BASIS]));
        json_object_set_new(steps, "none", json_integer((json_int_t)n_src[CPO_FUT_SRC_NONE]));
        json_object_set_new(steps, "held", json_integer((json_int_t)held));
        json_object_set_new(e, "steps", steps);
        json_t *d = json_null();
        for (size_t k = 0; k < r->n_trades; k++) {
            const cpo_trade *tr = &r->trades[k];
            if (!tr->delivery || tr->instr != r->fut_instr[f])
                continue;
            json_decref(d);
            d = json_object();
            json_object_set_new(d, "ts", jtime(tr->ts));
            json_object_set_new(d, "qty", jreal(tr->qty));
            json_object_set_new(d, "price", jreal(tr->px));
            json_object_set_new(d, "fee", jreal(tr->fee));
        }
        json_object_set_new(e, "delivery", d);
        json_array_append_new(ins, e);
    }
    json_object_set_new(o, "instruments", ins);
    json_object_set_new(o, "deliveries", json_integer((json_int_t)mt->n_deliveries));
    json_object_set_new(o, "deliveries_estimated",
                        json_integer((json_int_t)mt->n_delivery_approx));
    json_object_set_new(o, "delivery_fees", jreal(mt->delivery_fees));
    json_object_set_new(o, "expired_orders_dropped", json_integer((json_int_t)r->n_expired_orders));
    json_object_set_new(o, "rolls", json_integer((json_int_t)mt->n_rolls));
    json_object_set_new(o, "roll_costs", jreal(mt->roll_costs));
    json_object_set_new(o, "held_steps_modelled", json_integer((json_int_t)mt->n_fut_held_modelled));
    json_object_set_new(o, "held_steps_stale", json_integer((json_int_t)mt->n_fut_held_stale));
    return o;
}

/* The run's warnings (cpo_run_warnings): one object each. */
static json_t *warnings_json(const cpo_run_warning *w, size_t n)
{
    json_t *a = json_array();
    for (size_t k = 0; a && k < n; k++) {
        json_t *e = json_object();
        json_object_set_new(e, "kind", json_string(w[k].kind));
        json_object_set_new(e, "symbol", json_string(w[k].symbol));
        json_object_set_new(e, "count", json_integer((json_int_t)w[k].count));
        if (w[k].of)
            json_object_set_new(e, "of", json_integer((json_int_t)w[k].of));
        json_object_set_new(e, "first", jtime(w[k].first_ms));
        json_object_set_new(e, "last", jtime(w[k].last_ms));
        json_object_set_new(e, "message", json_string(w[k].text));
        json_array_append_new(a, e);
    }
    return a;
}

/* summary.json of a run (NULL with err set when it fails); warn[n_warn]:
 * what could make its numbers mislead. */
static json_t *summary_json(const cpo_config *cfg, const cpo_result *r, const cpo_run_metrics *mt,
                            const boot_cfg *boot, const cpo_run_warning *warn, size_t n_warn,
                            cpo_error *err)
{
    json_t *j = json_object();
    if (!j) {
        nomem(err);
        return NULL;
    }
    json_object_set_new(j, "cpo_version", json_string(CPO_VERSION));
    json_object_set_new(j, "config", json_string(cfg->path));
    json_t *per = json_object();
    json_object_set_new(per, "first_bar", jtime(mt->start_ms));
    json_object_set_new(per, "last_bar", jtime(mt->n_steps ? r->ts[mt->n_steps - 1] : CPO_TIME_NONE));
    json_object_set_new(per, "end", jtime(mt->end_ms));
    json_object_set_new(per, "bars", json_integer((json_int_t)mt->n_steps));
    json_object_set_new(per, "bar", jdur(mt->bar_ms));
    json_object_set_new(per, "periods_per_year", jreal(mt->periods_per_year));
    json_object_set_new(j, "period", per);
    json_object_set_new(j, "currency", json_string(cfg->run.currency));
    json_object_set_new(j, "capital", jreal(mt->capital));
    json_object_set_new(j, "final_equity", jreal(mt->final_equity));
    json_object_set_new(j, "total_return", jreal(mt->total_return));
    json_object_set_new(j, "annual_return", jreal(mt->annual_return));
    json_object_set_new(j, "annual_volatility", jreal(mt->annual_volatility));
    json_object_set_new(j, "sharpe", jreal(mt->sharpe));
    json_object_set_new(j, "max_drawdown", jreal(mt->max_drawdown));
    json_object_set_new(j, "max_drawdown_peak", jtime(mt->drawdown_peak_ms));
    json_object_set_new(j, "max_drawdown_trough", jtime(mt->drawdown_trough_ms));
    /* The full table of cpo/metrics.h, as `cpo metrics --json` prints it;
     * alpha and beta against the benchmark when the config names one. */
    json_object_set_new(j, "metrics", cpo_metrics_json(&mt->table));
    if (cfg->benchmark[0])
        json_object_set_new(j, "benchmark", json_string(cfg->benchmark));
    json_object_set_new(j, "returns", json_string("simple returns per bar; annualised with a 365-day year"));
    json_object_set_new(j, "average_gross_exposure", jreal(mt->avg_gross));
    json_t *pnl = json_object();
    for (int l = 0; l < CPO_PNL_COUNT; l++)
        if (cpo_pnl_shown(r, (cpo_pnl_line)l))
            json_object_set_new(pnl, cpo_pnl_name((cpo_pnl_line)l), jreal(mt->pnl[l]));
    json_object_set_new(j, "pnl", pnl);
    json_object_set_new(j, "fees", jreal(mt->pnl[CPO_PNL_FEES]));
    json_object_set_new(j, "funding", jreal(mt->pnl[CPO_PNL_FUNDING]));
    json_object_set_new(j, "slippage", jreal(mt->pnl[CPO_PNL_SLIPPAGE]));
    json_object_set_new(j, "liquidation", jreal(mt->pnl[CPO_PNL_LIQUIDATION]));
    json_object_set_new(j, "trades", json_integer((json_int_t)mt->n_trades));
    json_object_set_new(j, "liquidations", json_integer((json_int_t)mt->n_liquidations));
    json_object_set_new(j, "rebalances", json_integer((json_int_t)mt->n_rebalances));
    json_object_set_new(j, "events", json_integer((json_int_t)mt->n_events));
    json_object_set_new(j, "fill", json_string(r->fill == CPO_FILL_THIS_CLOSE ? "close" : "next_open"));
    if (r->fill == CPO_FILL_THIS_CLOSE)
        json_object_set_new(j, "fill_note", json_string(fill_note));
    json_object_set_new(j, "max_relative_residual", jreal(mt->max_rel_residual));
    /* Perpetuals marked at their last-trade close for want of mark data. */
    json_t *approx = json_array();
    for (size_t i = 0; i < r->n_instr; i++)
        if (r->mark_from_close && r->mark_from_close[i])
            json_array_append_new(approx, json_string(r->instr[i].symbol));
    json_object_set_new(j, "marks_from_close", approx);
    json_object_set_new(j, "max_identity_error", jreal(mt->max_identity_error));
    json_object_set_new(j, "seed", jseed(r->seed));
    json_t *ins = json_array();
    for (size_t i = 0; i < r->n_instr; i++) {
        json_t *e = json_object(), *p = json_object();
        json_object_set_new(e, "symbol", json_string(r->instr[i].symbol));
        json_object_set_new(e, "kind", json_string(cpo_kind_name(r->instr[i].kind)));
        json_object_set_new(e, "final_qty", jreal(r->final_qty[i]));
        double tot = 0.0;
        for (int l = 0; l < CPO_PNL_COUNT; l++) {
            if (!cpo_pnl_shown(r, (cpo_pnl_line)l))
                continue;
            double v = r->pnl_instr[i * CPO_PNL_COUNT + l];
            json_object_set_new(p, cpo_pnl_name((cpo_pnl_line)l), jreal(v));
            tot += v;
        }
        json_object_set_new(e, "pnl", p);
        json_object_set_new(e, "pnl_total", jreal(tot));
        json_array_append_new(ins, e);
    }
    json_object_set_new(j, "instruments", ins);
    if (cpo_run_has_options(r))
        json_object_set_new(j, "options", cpo_run_options_json(r));
    if (r->im || r->ruined)
        json_object_set_new(j, "margin", margin_json(cfg, r));
    if (r->has_financing)
        json_object_set_new(j, "financing", financing_json(cfg, r, mt));
    if (r->n_fut)
        json_object_set_new(j, "futures", futures_json(cfg, r, mt));
    if (r->n_funding_off_grid)
        json_object_set_new(j, "funding_stamps_off_grid",
                            json_integer((json_int_t)r->n_funding_off_grid));
    json_object_set_new(j, "settings", settings_json(cfg));
    /* What could make these numbers mislead; [] when nothing. */
    json_object_set_new(j, "warnings", warnings_json(warn, n_warn));
    if (boot && boot->enabled) {
        json_t *bj = NULL;
        if (boot_json(&bj, boot, r, mt, err)) {
            json_decref(j);
            return NULL;
        }
        json_object_set_new(j, "bootstrap", bj);
    }
    return j;
}

static int write_manifest(out_ctx *o, const cpo_result *r, const cpo_run_opts *opts,
                          const cpo_run_report *rep)
{
    const cpo_config *cfg = o->cfg;
    json_t *j = json_object();
    if (!j)
        return nomem(o->err);
    char cmd[2048];
    if (opts && opts->command)
        snprintf(cmd, sizeof cmd, "%s", opts->command);
    else
        snprintf(cmd, sizeof cmd, "cpo run %s", cfg->path);
    json_object_set_new(j, "cpo_version", json_string(CPO_VERSION));
    json_object_set_new(j, "command", json_string(cmd));
    json_t *c = json_object();
    json_object_set_new(c, "path", json_string(cfg->path));
    json_object_set_new(c, "sha256", json_string(rep->config_sha256));
    json_object_set_new(j, "config", c);
    json_t *d = json_object();
    json_object_set_new(d, "path", json_string(cfg->data_path));
    json_object_set_new(d, "sha256", json_string(rep->data_sha256));
    json_object_set_new(j, "data", d);
    json_object_set_new(j, "seed", jseed(r->seed));
    json_object_set_new(j, "settings", settings_json(cfg));
    json_object_set_new(j, "resolved", resolved_json(cfg, r));
    json_t *files = json_object();
    for (int f = 0; f < F_MANIFEST; f++) {
        if (!o->want[f])
            continue;
        char hex[65];
        int rc = cpo_sha256_file(o->tmp[f], hex, o->err);
        if (rc) {
            json_decref(files);
            json_decref(j);
            return rc;
        }
        json_object_set_new(files, file_name(f), json_string(hex));
    }
    json_object_set_new(j, "files", files);
    json_object_set_new(j, "note",
                        json_string("no wall-clock time is recorded and the command leaves out -o "
                                    "and --force, so that two runs of the same config on the same "
                                    "data give byte-identical files"));
    return dump_json(o, F_MANIFEST, j);
}

/* --- the folder -------------------------------------------------------- */

/* mkdir -p; *made = 1 if the last component was created here. */
static int make_dir(const char *dir, int *made, cpo_error *err)
{
    char p[1024];
    *made = 0;
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected < 1024 bytes)");
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return cpo_error_set(err, CPO_EIO, p, 0, 0, "cannot create the folder: %s",
                                 strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0777) == 0)
        *made = 1;
    else if (errno != EEXIST)
        return cpo_error_set(err, CPO_EIO, p, 0, 0, "cannot create the folder: %s", strerror(errno));
    return 0;
}

/*
 * The engine's complaints (a stage refusing its parameters when the run
 * starts, a period without data) are about the config.  A stage names
 * itself first ("fixed: symbol ... is not in the market"): point at its
 * [ROLE.NAME] section, or at the [strategy] key that names it.
 */
static void blame_config(const cpo_config *cfg, int rc, cpo_error *err)
{
    char msg[CPO_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", err->msg);
    for (size_t s = 0; s < cfg->run.n_stages; s++) {
        const cpo_stage_def *d = cfg->run.stages[s].def;
        size_t len = strlen(d->name);
        if (strncmp(msg, d->name, len) || msg[len] != ':' || msg[len + 1] != ' ')
            continue;
        char sec[128];
        const char *role = cpo_role_name(d->role);
        snprintf(sec, sizeof sec, "%s.%s", role, d->name);
        long line = 0;
        for (size_t k = 0; k < cfg->n_keys && !line; k++)
            if (!strcmp(cfg->keys[k].section, sec))
                line = cfg->keys[k].line;
        for (size_t k = 0; k < cfg->n_keys && !line; k++)
            if (!strcmp(cfg->keys[k].section, "strategy") && !strcmp(cfg->keys[k].key, role))
                line = cfg->keys[k].line;
        cpo_error_set(err, rc, cfg->path, line, 0, "[%s] %s", sec, msg + len + 2);
        return;
    }
    cpo_error_set(err, rc, cfg->path, 0, 0, "%s", msg);
}

static int interrupted(const cpo_run_opts *opts, cpo_error *err)
{
    if (opts && opts->cancel && *opts->cancel)
        return cpo_error_set(err, CPO_EINTR, NULL, 0, 0,
                             "interrupted before the run's files were written (expected the run "
                             "to go to its end)");
    return 0;
}

static void drop_tmp(out_ctx *o)
{
    for (int f = 0; f < F_COUNT; f++)
        if (o->made[f]) {
            unlink(o->tmp[f]);
            o->made[f] = 0;
        }
}

/* A file a report makes in charts/: NAME.png, .svg, .gp, .dat, or one
 * being written (NAME.EXT.tmp.<pid>, cpo_tmp_path). */
static int report_file(const char *name)
{
    static const char *const ext[] = {".png", ".svg", ".gp", ".dat"};
    if (strstr(name, ".tmp."))
        return 1;
    const char *dot = strrchr(name, '.');
    for (size_t k = 0; dot && k < sizeof ext / sizeof ext[0]; k++)
        if (!strcmp(dot, ext[k]))
            return 1;
    return 0;
}

/* An earlier run's report.html and charts/ (cpo run --no-report over a
 * folder that had them): they would not show this run.  Only the files a
 * report makes go (report_file); charts/ goes when that leaves it empty. */
static void drop_report(const char *dir)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/report.html", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/charts", dir);
    DIR *d = opendir(p);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (report_file(de->d_name)) {
            char f[1600];
            snprintf(f, sizeof f, "%s/%s", p, de->d_name);
            unlink(f);
        }
    closedir(d);
    rmdir(p);
}

/* --- the pipeline every run goes through --------------------------------- */

/*
 * What a run computes, whether its outputs go to a folder (cpo_run_to_dir)
 * or to memory (cpo_run_to_memory): the market and the benchmark, the
 * attribution collector, the engine's result and the summary numbers.
 */
typedef struct run_core {
    boot_cfg boot;          /* [bootstrap] */
    cpo_attrib_opts aopts;  /* [attribution] */
    cpo_market *m;
    cpo_run_bench bench;
    cpo_attrib *at;
    cpo_result *r;
    int64_t bar_ms;
    cpo_run_metrics mt;
    size_t n_warnings;           /* what could mislead (cpo_run_warnings) */
    cpo_run_warning warnings[CPO_RUN_MAX_WARNINGS];
} run_core;

static void core_free(run_core *c)
{
    cpo_attrib_free(c->at);
    cpo_market_free(c->m);
    cpo_run_bench_free(&c->bench);
    cpo_result_free(c->r);
    memset(c, 0, sizeof *c);
}

/* The market (the store read once, the cube and the benchmark built) and
 * the attribution collector on the same dataset: what can fail on the
 * inputs before the engine. */
static int core_prepare(run_core *c, const cpo_config *cfg, cpo_error *err)
{
    cpo_dataset *ds = NULL;
    int rc = boot_parse(cfg, &c->boot, err);
    if (!rc)
        rc = attrib_parse(cfg, &c->aopts, err);
    if (!rc)
        rc = cpo_run_market_keep(&c->m, &c->bench, &ds, cfg, err);
    if (!rc)
        rc = cpo_run_check_plan(cfg, c->m, err);
    if (!rc)
        rc = cpo_attrib_new(&c->at, c->m, ds, &c->aopts, err);
    cpo_dataset_free(ds);
    return rc;
}

/* The engine on the prepared market (freed after it).  Attribution needs
 * the per-instrument rows: the engine makes them for every run and passes
 * them on to next (the ledger files keep them only with detail =
 * instrument; NULL: nobody else). */
static int core_engine(run_core *c, const cpo_config *cfg, const volatile sig_atomic_t *cancel,
                       cpo_ledger_sink next, void *next_ctx, cpo_error *err)
{
    cpo_run_spec spec = cfg->run;
    spec.detail = CPO_DETAIL_INSTRUMENT;
    spec.cancel = cancel;
    cpo_attrib_chain(c->at, next, next_ctx);
    int rc = cpo_backtest_run(&c->r, c->m, &spec, cpo_attrib_sink, c->at, err);
    if (rc && !err->path[0] && rc != CPO_EINTR)
        blame_config(cfg, rc, err);
    if (!rc) /* what could mislead, while the market is at hand */
        rc = cpo_run_warnings(c->warnings, CPO_RUN_MAX_WARNINGS, &c->n_warnings, cfg, c->m, c->r,
                              err);
    c->bar_ms = c->m->step_ms;
    cpo_market_free(c->m);
    c->m = NULL;
    return rc;
}

/*
 * benchmark.csv (runs with a [backtest] benchmark; cpo/run.h): one row per
 * step, ts (bar open, as ledger.csv), the benchmark's close at that step
 * and its simple return from the step before (cpo_run_bench_returns: the
 * same numbers as the summary's alpha and beta), so that the report can
 * draw the benchmark from the run folder alone.
 */
static int put_benchmark_csv(const run_core *c, FILE *fp, cpo_error *err)
{
    const cpo_result *r = c->r;
    const cpo_run_bench *b = &c->bench;
    size_t n = r->n_steps;
    double *ret = malloc((n ? n : 1) * sizeof *ret);
    if (!ret)
        return nomem(err);
    cpo_run_bench_returns(ret, b, r->ts, n);
    fputs("ts,close,return\n", fp);
    char when[40];
    for (size_t t = 0; t < n; t++) {
        double x = NAN;
        int64_t d = r->ts[t] - b->start_ms;
        if (b->close && b->step_ms > 0 && d > 0 && d % b->step_ms == 0 &&
            (uint64_t)(d / b->step_ms) < b->n)
            x = b->close[d / b->step_ms];
        cpo_time_format(r->ts[t], when, sizeof when);
        fputs(when, fp);
        cpo_csv_num(fp, x);
        cpo_csv_num(fp, ret[t]);
        fputc('\n', fp);
    }
    free(ret);
    return 0;
}

/*
 * The outputs of a run that are the same in a folder and in memory: the
 * CSV files and summary.json, each written to its stream fps[f] (f in
 * F_LEDGER_CSV .. F_SUMMARY; NULL: not made).
 */
/* SHA-256 of the store (cpo_sha256_file), for a side job. */
typedef struct hash_job {
    const char *path;
    char *hex;
} hash_job;

static int hash_side(void *ctx, cpo_error *err)
{
    hash_job *j = ctx;
    return cpo_sha256_file(j->path, j->hex, err);
}

/* The attribution's files (cpo_attrib_put), for a side job: they are
 * about half the bytes of a run's outputs, and share nothing with the
 * others but the result, which both only read. */
typedef struct attrib_job {
    cpo_attrib *at;
    const cpo_result *r;
    FILE *const *fps;
} attrib_job;

static int attrib_side(void *ctx, cpo_error *err)
{
    attrib_job *j = ctx;
    return cpo_attrib_put(j->at, j->r, j->fps, err);
}

static int put_outputs(run_core *c, const cpo_config *cfg, FILE *const fps[F_COUNT],
                       cpo_error *err)
{
    int rc = 0;
    /* The attribution's files are written beside the others (a thread;
     * in line when one cannot be made); the bytes of each file do not
     * depend on it, and the error reported is the one the files' order
     * would give. */
    attrib_job aj = {c->at, c->r, fps + F_ATTRIB};
    cpo_side_job side;
    cpo_side_start(&side, fps[F_ATTRIB] ? attrib_side : NULL, &aj);
    if (fps[F_LEDGER_CSV])
        rc = cpo_result_put_ledger_csv(c->r, fps[F_LEDGER_CSV], err);
    if (!rc) {
        if (fps[F_TRADES])
            cpo_result_put_trades_csv(c->r, fps[F_TRADES]);
        if (fps[F_EVENTS])
            cpo_result_put_events_csv(c->r, fps[F_EVENTS]);
        if (fps[F_FUTURES])
            cpo_result_put_futures_csv(c->r, fps[F_FUTURES]);
    }
    if ((rc = cpo_side_join(&side, rc, err)))
        return rc;
    if (fps[F_OPT] && (rc = cpo_run_put_options(c->r, &cfg->run, fps + F_OPT, err)))
        return rc;
    if (fps[F_BENCH] && (rc = put_benchmark_csv(c, fps[F_BENCH], err)))
        return rc;
    if (fps[F_SUMMARY]) {
        json_t *j = summary_json(cfg, c->r, &c->mt, &c->boot, c->warnings, c->n_warnings, err);
        if (!j)
            return err->code ? err->code : nomem(err);
        char *text = json_text(j);
        if (!text)
            return nomem(err);
        fputs(text, fps[F_SUMMARY]);
        fputc('\n', fps[F_SUMMARY]);
        free(text);
    }
    return 0;
}

/* --- a run into its folder ------------------------------------------------ */

/* put_outputs into the .tmp files of the folder. */
static int write_outputs(out_ctx *o, run_core *c)
{
    FILE *fps[F_COUNT] = {0};
    int rc = 0;
    for (int f = F_LEDGER_CSV; f <= F_SUMMARY && !rc; f++)
        if (o->want[f] && !(fps[f] = open_tmp(o, f)))
            rc = o->err->code;
    if (!rc)
        rc = put_outputs(c, o->cfg, fps, o->err);
    for (int f = F_LEDGER_CSV; f <= F_SUMMARY; f++) {
        if (!fps[f])
            continue;
        if (rc)
            fclose(fps[f]);
        else
            rc = close_tmp(o, f, fps[f]);
    }
    return rc;
}

int cpo_run_to_dir(const cpo_config *cfg, const cpo_run_opts *opts, cpo_run_report *rep,
                   cpo_error *err)
{
    out_ctx o;
    memset(&o, 0, sizeof o);
    memset(rep, 0, sizeof *rep);
    o.cfg = cfg;
    o.err = err;
    run_core c;
    memset(&c, 0, sizeof c);
    cpo_ledger_out *lo = NULL;
    int rc = 0, made_dir = 0, existed = 0;
    int force = opts && opts->force;
    cpo_dirlock lock; /* one writer per folder (outfile.h) */
    cpo_dirlock_init(&lock);

    if (opts && opts->out_dir)
        snprintf(rep->dir, sizeof rep->dir, "%s", opts->out_dir);
    else
        snprintf(rep->dir, sizeof rep->dir, "runs/%s", cfg->stem);
    o.dir = rep->dir;
    struct stat st;
    if (stat(rep->dir, &st) == 0) {
        if (!force)
            return cpo_error_set(err, CPO_EEXIST, rep->dir, 0, 0,
                                 "the run folder already exists (expected -o NEW_DIR or --force)");
        if (!S_ISDIR(st.st_mode))
            return cpo_error_set(err, CPO_EEXIST, rep->dir, 0, 0,
                                 "exists and is not a folder (expected a folder for the run)");
        existed = 1;
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (snprintf(o.fin[f], sizeof o.fin[f], "%s/%s", rep->dir, file_name(f)) >=
                (int)sizeof o.fin[f] ||
            cpo_tmp_path(o.tmp[f], sizeof o.tmp[f], o.fin[f]) != 0)
            return cpo_error_set(err, CPO_ERANGE, rep->dir, 0, 0, "path too long (expected < 1024 bytes)");
        /* The option files: once the result says whether the run had options. */
        o.want[f] = (f != F_LEDGER_INSTR || cfg->run.detail == CPO_DETAIL_INSTRUMENT) &&
                    f != F_FUTURES && (f < F_OPT || f >= F_SUMMARY);
    }
    /* A folder another cpo writes is refused before any work. */
    if (existed && (rc = cpo_dirlock_take(&lock, rep->dir, err)))
        return rc;
    /* Everything that can fail on the inputs fails before the folder is
     * made.  The store is hashed on a thread while core_prepare reads it
     * (in line when no thread can be made); the error reported is the one
     * the order config, market, store hash gives. */
    if ((rc = cpo_sha256_file(cfg->path, rep->config_sha256, err)))
        goto fail;
    hash_job hj = {cfg->data_path, rep->data_sha256};
    cpo_side_job side;
    cpo_side_start(&side, hash_side, &hj);
    rc = cpo_side_join(&side, core_prepare(&c, cfg, err), err);
    if (rc || (rc = interrupted(opts, err)))
        goto fail;
    if ((rc = make_dir(rep->dir, &made_dir, err)) ||
        (!existed && (rc = cpo_dirlock_take(&lock, rep->dir, err))))
        goto fail;
    if ((rc = cpo_ledger_out_open(&lo, o.tmp[F_LEDGER_H5],
                                  o.want[F_LEDGER_INSTR] ? o.tmp[F_LEDGER_INSTR] : NULL, c.m,
                                  cfg->run.currency, cfg->run.financing.enabled, err))) {
        o.made[F_LEDGER_H5] = o.made[F_LEDGER_INSTR] = 1; /* whatever got created */
        goto fail;
    }
    o.made[F_LEDGER_H5] = 1;
    o.made[F_LEDGER_INSTR] = o.want[F_LEDGER_INSTR];
    if ((rc = core_engine(&c, cfg, opts ? opts->cancel : NULL,
                          o.want[F_LEDGER_INSTR] ? cpo_ledger_out_sink : NULL, lo, err)))
        goto fail;
    rep->n_warnings = c.n_warnings;
    memcpy(rep->warnings, c.warnings, c.n_warnings * sizeof c.warnings[0]);
    rc = cpo_ledger_out_finish(lo, c.r, err);
    lo = NULL;
    for (int f = F_OPT; f < F_BENCH; f++)
        o.want[f] = cpo_run_has_options(c.r);
    /* benchmark.csv: runs with a benchmark (and steps to hold its closes). */
    o.want[F_BENCH] = c.bench.close != NULL;
    o.want[F_FUTURES] = c.r->n_fut > 0;
    if (rc || (rc = cpo_run_metrics_compute(&c.mt, c.r, c.bar_ms, &c.bench, err)) ||
        (rc = write_outputs(&o, &c)) || (rc = write_manifest(&o, c.r, opts, rep)) ||
        (rc = interrupted(opts, err)))
        goto fail;
    rep->metrics = c.mt;
    /* Whole: rename, the manifest last. */
    for (int f = 0; f < F_COUNT; f++) {
        if (!o.want[f])
            continue;
        if (rename(o.tmp[f], o.fin[f]) != 0) {
            rc = cpo_error_set(err, CPO_EIO, o.fin[f], 0, 0, "cannot rename %s: %s", o.tmp[f],
                               strerror(errno));
            goto fail;
        }
        o.made[f] = 0;
        /* rep->files holds CPO_RUN_MAX_FILES names (cpo/run.h): a run with
         * options and detail = instrument makes more; the manifest lists
         * them all. */
        if (rep->n_files < CPO_RUN_MAX_FILES)
            snprintf(rep->files[rep->n_files++], sizeof rep->files[0], "%s", file_name(f));
    }
    /* A rerun with --force: files of the earlier run this one did not make
     * (ledger_instruments.csv after detail = totals) would not match. */
    if (existed)
        for (int f = 0; f < F_COUNT; f++)
            if (!o.want[f])
                unlink(o.fin[f]);
    /* report.html and charts/ from the files just written (cpo/report.h):
     * gnuplot missing or failing is a warning, a file it cannot write an error. */
    cpo_report_opts ro;
    cpo_report_opts_init(&ro);
    ro.cancel = opts ? opts->cancel : NULL;
    ro.no_plot = opts ? opts->no_plot : 0;
    ro.jobs = opts ? opts->jobs : 0;
    ro.charts = cfg->report_charts;
    if (opts && opts->no_report) {
        if (existed)
            drop_report(rep->dir);
    } else if ((rc = cpo_report_build(rep->dir, &ro, NULL, err))) {
        if (rc == CPO_EINTR)
            cpo_error_set(err, rc, rep->dir, 0, 0,
                          "interrupted while making the report: the run's files are whole, "
                          "report.html is not made (expected the report; cpo report %s makes it)",
                          rep->dir);
        goto fail;
    }
    cpo_dirlock_release(&lock);
    rep->fill = c.r->fill;
    snprintf(rep->currency, sizeof rep->currency, "%s", cfg->run.currency);
    core_free(&c);
    return 0;
fail:
    cpo_ledger_out_abort(lo);
    core_free(&c);
    drop_tmp(&o);
    cpo_dirlock_release(&lock);
    if (made_dir)
        rmdir(rep->dir);
    return rc;
}

/* --- a run into memory ---------------------------------------------------- */

const char *cpo_run_output_name(size_t k)
{
    /* The files of put_outputs, in folder order. */
    return k <= F_SUMMARY - F_LEDGER_CSV ? file_name(F_LEDGER_CSV + (int)k) : NULL;
}

int cpo_run_to_memory(const cpo_config *cfg, const volatile sig_atomic_t *cancel,
                      cpo_run_emit emit, void *ctx, cpo_result **result, cpo_error *err)
{
    *result = NULL;
    run_core c;
    memset(&c, 0, sizeof c);
    FILE *fps[F_COUNT] = {0};
    char *buf[F_COUNT] = {0};
    size_t len[F_COUNT] = {0};
    int rc = core_prepare(&c, cfg, err);
    if (!rc)
        rc = core_engine(&c, cfg, cancel, NULL, NULL, err);
    if (!rc)
        rc = cpo_run_metrics_compute(&c.mt, c.r, c.bar_ms, &c.bench, err);
    int opt = !rc && cpo_run_has_options(c.r), bench = !rc && c.bench.close != NULL;
    /* Every output but ledger.csv, which the caller has from the result. */
    for (int f = F_TRADES; f <= F_SUMMARY && !rc; f++)
        if ((f < F_OPT || f >= F_SUMMARY || (f < F_BENCH && opt) || (f == F_BENCH && bench)) &&
            (f != F_FUTURES || c.r->n_fut) &&
            !(fps[f] = open_memstream(&buf[f], &len[f])))
            rc = nomem(err);
    if (!rc)
        rc = put_outputs(&c, cfg, fps, err);
    for (int f = F_TRADES; f <= F_SUMMARY; f++) {
        if (!fps[f])
            continue;
        int bad = ferror(fps[f]);
        if (fclose(fps[f]) != 0 || bad)
            rc = rc ? rc : nomem(err);
        if (!rc)
            rc = emit(ctx, file_name(f), buf[f], len[f], err);
        free(buf[f]);
    }
    if (!rc) {
        *result = c.r;
        c.r = NULL;
    }
    core_free(&c);
    return rc;
}

/* --- the one-screen summary ------------------------------------------- */

static void pct(char *b, size_t n, double x)
{
    if (isfinite(x))
        snprintf(b, n, "%+.2f %%", 100.0 * x);
    else
        snprintf(b, n, "n/a");
}

void cpo_run_report_print(const cpo_run_report *rep, const cpo_config *cfg, FILE *out)
{
    const cpo_run_metrics *mt = &rep->metrics;
    char a[40], b[40], c[40], bar[24];
    cpo_time_format_date(mt->start_ms, a, sizeof a);
    cpo_time_format_date(mt->end_ms - mt->bar_ms, b, sizeof b);
    cpo_duration_format(mt->bar_ms, bar, sizeof bar);
    fprintf(out, "cpo run %s\n", cfg->path);
    fprintf(out, "  period          %s .. %s: %zu bars of %s (%.0f a year)\n", a, b, mt->n_steps, bar,
            mt->periods_per_year);
    fprintf(out, "  capital         %.2f %s\n", mt->capital, rep->currency);
    fprintf(out, "  final equity    %.2f %s\n", mt->final_equity, rep->currency);
    pct(a, sizeof a, mt->total_return);
    pct(b, sizeof b, mt->annual_return);
    fprintf(out, "  total return    %s (%s a year)\n", a, b);
    pct(a, sizeof a, mt->annual_volatility);
    fprintf(out, "  volatility      %s a year (365-day year)\n", a + (a[0] == '+'));
    pct(a, sizeof a, -mt->max_drawdown);
    if (mt->drawdown_peak_ms != CPO_TIME_NONE) {
        cpo_time_format_date(mt->drawdown_peak_ms, b, sizeof b);
        cpo_time_format_date(mt->drawdown_trough_ms, c, sizeof c);
        fprintf(out, "  max drawdown    %s (%s .. %s)\n", a, b, c);
    } else {
        fprintf(out, "  max drawdown    none\n");
    }
    fprintf(out, "  sharpe          %.2f\n", mt->sharpe);
    if (mt->table.has_benchmark) {
        pct(a, sizeof a, mt->table.alpha);
        fprintf(out, "  beta, alpha     %.3f, %s a year (against %s)\n", mt->table.beta, a,
                cfg->benchmark);
    }
    if (isfinite(mt->rf_annual)) {
        pct(a, sizeof a, mt->rf_annual);
        pct(b, sizeof b, mt->annual_over_rf);
        fprintf(out, "  over cash       %s a year (risk-free %s a year; sharpe net of it)\n", b,
                a);
    }
    fprintf(out, "  fees            %.2f\n", mt->pnl[CPO_PNL_FEES]);
    fprintf(out, "  funding         %.2f\n", mt->pnl[CPO_PNL_FUNDING]);
    fprintf(out, "  slippage        %.2f\n", mt->pnl[CPO_PNL_SLIPPAGE]);
    if (mt->pnl[CPO_PNL_FINANCING] != 0.0)
        fprintf(out, "  financing       %.2f\n", mt->pnl[CPO_PNL_FINANCING]);
    if (mt->pnl[CPO_PNL_OPTIONS] != 0.0)
        fprintf(out, "  options         %.2f (marked to market; explain.csv by Greek)\n",
                mt->pnl[CPO_PNL_OPTIONS]);
    if (mt->n_deliveries || mt->n_rolls)
        fprintf(out, "  futures         %zu delivered (fees %.2f), %zu rolls (costs %.2f)\n",
                mt->n_deliveries, mt->delivery_fees, mt->n_rolls, mt->roll_costs);
    if (mt->n_delivery_approx)
        fprintf(out, "  WARNING         %zu deliveries at an estimated price: the index bars are "
                     "coarser than a minute or miss part of the 30 minutes (events.csv)\n",
                mt->n_delivery_approx);
    if (mt->n_fut_held_stale)
        fprintf(out, "  WARNING         futures held %zu steps on a stale price (carried forward, "
                     "or none): [futures] between_quotes = basis models them from the index\n",
                mt->n_fut_held_stale);
    if (mt->n_fut_held_modelled)
        fprintf(out, "  futures marks   %zu held steps modelled from the index and the last "
                     "quote's basis (futures.csv source = basis)\n",
                mt->n_fut_held_modelled);
    if (mt->n_liquidations || mt->pnl[CPO_PNL_LIQUIDATION] != 0.0)
        fprintf(out, "  liquidations    %zu, %.2f charged\n", mt->n_liquidations,
                -mt->pnl[CPO_PNL_LIQUIDATION]);
    fprintf(out, "  trades          %zu in %zu rebalances\n", mt->n_trades, mt->n_rebalances);
    if (rep->fill == CPO_FILL_THIS_CLOSE)
        fprintf(out, "  fill            close (%s)\n", fill_note);
    else
        fprintf(out, "  fill            next_open\n");
    fprintf(out, "  max residual    %.3g of equity\n", mt->max_rel_residual);
    fprintf(out, "  files           %s/:", rep->dir);
    for (size_t f = 0; f < rep->n_files; f++)
        fprintf(out, " %s", rep->files[f]);
    fputc('\n', out);
}
