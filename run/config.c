/*
 * config.c - a backtest config (INI) read into a run plan: the store, the
 * grid, the universe, the run spec and the stage pipeline, every key
 * declared and checked, every problem reported with its line.
 *
 * Loading goes in passes so that the order of keys in the file does not
 * matter: (1) collect every key with its line (continuation lines joined,
 * a key given twice refused) and check the section names; (2) apply the
 * fixed sections; (3) load the plugins; (4) make the pipeline's stages;
 * (5) set the stages' parameters from their [ROLE.NAME] sections; (6) fill
 * defaults and check what is required.
 */
#include "cpo/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpo/report.h"
#include "cpo/surface.h"
#include "cpo/time.h"
#include "inifile.h"
#include "params.h"
#include "csvread.h"
#include "run_brackets.h"
#include "run_priv.h"
#include "run_rates.h"

/* The fixed sections and their keys (in the order the messages list them). */
static const char *const backtest_keys =
    "data, start, end, warmup, step, gap_fill, max_fill, capital, currency, collateral, seed, "
    "cash_buffer, detail, benchmark";
static const char *const universe_keys = "spot, perp, futures, symbols";
static const char *const costs_keys =
    "fill, fee_bps, spot_fee_bps, perp_fee_bps, future_fee_bps, spot_maker_bps, perp_maker_bps, "
    "future_maker_bps, slippage_bps, "
    "impact_coef, participation_cap, lot_rounding, perp_leverage, perp_imr, perp_mmr";
static const char *const strategy_keys = "schedule, select, weigh, overlay, hedge, plugin";
static const char *const margin_keys =
    "mode, brackets, options_margin, liquidation_price, liquidation_fee, "
    "deribit_future_liquidation_fee, deribit_option_liquidation_fee, margin_call";
static const char *const financing_keys = "cash.CCY, borrow.CCY, rf";
static const char *const futures_keys = "index.COIN, delivery.COIN, delivery_fee_bps, between_quotes";
static const char *const report_keys = "charts";
static const char *const options_keys =
    "underlyings, index.COIN, dvol.COIN, delivery.COIN, surface, coin_price, rate, fee_rate, "
    "fee_cap, delivery_fee, delivery_cap, explain_threshold, explain_floor, max_positions, "
    "max_quote_age";
static const char *const env_keys =
    "window, vol_window, features, reward, sharpe_eta, drawdown_penalty, turnover_penalty, "
    "action, max_weight, max_gross, long_only, episode_steps, random_start";

#define MAX_STAGES (CPO_ROLE_COUNT * 4)

/* A section header as found in the raw text. */
typedef struct sect {
    char *name;
    long line;
} sect;

typedef struct loader {
    cpo_config *cfg;
    const char *path;
    const char *text;   /* the file's text when given (cpo_config_load_text), else NULL */
    cpo_error *err;
    char *raw;          /* the file's bytes */
    size_t *line_off;   /* [n_lines]: offset of line k+1 */
    size_t n_lines;
    size_t cap_keys;
    sect *sects;
    size_t n_sects;
    /* [strategy] stage names by role, with their lines */
    const cpo_config_key *roles[CPO_ROLE_COUNT];
    /* [costs] bookkeeping */
    long imr_line, lev_line, mmr_line;
    /* [env] features, for the check against [options] */
    const cpo_config_key *features;
    unsigned flags;     /* CPO_CONFIG_LOAD_* (run_priv.h) */
} loader;

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* --- raw text: lines and section headers ---------------------------------- */

static int read_raw(loader *L)
{
    size_t cap = 4096, n = 0, r;
    char *buf;
    if (L->text) {
        if (!(buf = L->raw = strdup(L->text)))
            return nomem(L->err);
        n = strlen(buf);
        goto lines;
    }
    FILE *f = fopen(L->path, "rb");
    if (!f)
        return cpo_error_set(L->err, CPO_EIO, L->path, 0, 0,
                             "cannot open: %s (expected a readable INI file)", strerror(errno));
    buf = malloc(cap + 1);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return nomem(L->err);
    buf[n] = '\0';
    L->raw = buf;
    if (bad)
        return cpo_error_set(L->err, CPO_EIO, L->path, 0, 0, "cannot read the file");
lines:;
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    if (!(L->line_off = malloc(lines * sizeof *L->line_off)))
        return nomem(L->err);
    L->line_off[0] = 0;
    L->n_lines = 1;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n')
            L->line_off[L->n_lines++] = i + 1;
    return 0;
}

/* The text of line k (1-based), not NUL-terminated: up to '\n'. */
static const char *raw_line(const loader *L, long k)
{
    if (k < 1 || (size_t)k > L->n_lines)
        return "";
    return L->raw + L->line_off[k - 1];
}

static int is_role_section(const char *name, cpo_stage_role *role, const char **stage)
{
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return 0;
    for (int r = 0; r < CPO_ROLE_COUNT; r++) {
        const char *rn = cpo_role_name((cpo_stage_role)r);
        if (strlen(rn) == (size_t)(dot - name) && !strncmp(rn, name, (size_t)(dot - name))) {
            if (role)
                *role = (cpo_stage_role)r;
            if (stage)
                *stage = dot + 1;
            return 1;
        }
    }
    return 0;
}

static int is_fixed_section(const char *name)
{
    return !strcmp(name, "backtest") || !strcmp(name, "universe") || !strcmp(name, "costs") ||
           !strcmp(name, "strategy") || !strcmp(name, "options") || !strcmp(name, "margin") ||
           !strcmp(name, "financing") || !strcmp(name, "futures") || !strcmp(name, "env") ||
           !strcmp(name, "report");
}

/* Sections read by others, which check their keys: `cpo sweep`
 * ([sweep], [walkforward], [overfit]: cpo/sweep.h), the run's bootstrap
 * and attribution ([bootstrap], [attribution]: run.c) and `cpo risk`
 * ([stress]: cpo/risk.h).
 * The loader keeps their keys. */
static int is_sweep_section(const char *name)
{
    return !strcmp(name, "sweep") || !strcmp(name, "walkforward") || !strcmp(name, "overfit") ||
           !strcmp(name, "bootstrap") || !strcmp(name, "attribution") || !strcmp(name, "stress");
}

/* Find the section headers: lines whose first character is '['. */
static int scan_sections(loader *L)
{
    for (size_t k = 0; k < L->n_lines; k++) {
        const char *s = L->raw + L->line_off[k];
        if (k == 0 && !strncmp(s, "\xEF\xBB\xBF", 3))
            s += 3;
        if (*s != '[')
            continue;
        const char *e = s + 1;
        while (*e && *e != ']' && *e != '\n')
            e++;
        if (*e != ']')
            continue; /* inih reports the syntax error */
        sect *ns = realloc(L->sects, (L->n_sects + 1) * sizeof *ns);
        if (!ns)
            return nomem(L->err);
        L->sects = ns;
        if (!(ns[L->n_sects].name = dup_n(s + 1, (size_t)(e - s - 1))))
            return nomem(L->err);
        ns[L->n_sects].line = (long)k + 1;
        L->n_sects++;
    }
    return 0;
}

static int unknown_section(loader *L, long line, const char *name)
{
    return cpo_error_set(L->err, CPO_ECONFIG, L->path, line, 0,
                         "unknown section [%s] (expected one of: backtest, universe, costs, "
                         "strategy, options, margin, financing, futures, env, report, or ROLE.STAGE for the parameters of a stage, "
                         "e.g. [weigh.fixed])",
                         name);
}

static int check_sections(loader *L)
{
    for (size_t k = 0; k < L->n_sects; k++) {
        const char *name = L->sects[k].name;
        if (is_fixed_section(name) || is_sweep_section(name) ||
            is_role_section(name, NULL, NULL))
            continue;
        return unknown_section(L, L->sects[k].line, name);
    }
    return 0;
}

static long section_line(const loader *L, const char *name)
{
    for (size_t k = 0; k < L->n_sects; k++)
        if (!strcmp(L->sects[k].name, name))
            return L->sects[k].line;
    return 0;
}

/* --- pass 1: collect the keys ---------------------------------------------- */

static int collect(void *ctx, const char *section, const char *key, const char *value, long line,
                   cpo_error *err)
{
    loader *L = ctx;
    cpo_config *c = L->cfg;
    if (c->n_keys) {
        cpo_config_key *prev = &c->keys[c->n_keys - 1];
        const char *rl = raw_line(L, line);
        if (!strcmp(prev->section, section) && !strcmp(prev->key, key) && line > prev->line &&
            (*rl == ' ' || *rl == '\t')) {
            /* A continuation line of the previous key. */
            size_t a = strlen(prev->value), b = strlen(value);
            char *nv = realloc(prev->value, a + b + 2);
            if (!nv)
                return nomem(err);
            if (a && b)
                nv[a++] = ' ';
            memcpy(nv + a, value, b + 1);
            prev->value = nv;
            return 0;
        }
    }
    for (size_t k = 0; k < c->n_keys; k++)
        if (!strcmp(c->keys[k].section, section) && !strcmp(c->keys[k].key, key))
            return cpo_error_set(err, CPO_ECONFIG, L->path, line, 0,
                                 "\"%s\" is given twice in [%s] (first on line %ld; expected "
                                 "each key once)",
                                 key, section, c->keys[k].line);
    if (c->n_keys == L->cap_keys) {
        size_t nc = L->cap_keys ? L->cap_keys * 2 : 32;
        cpo_config_key *nk = realloc(c->keys, nc * sizeof *nk);
        if (!nk)
            return nomem(err);
        c->keys = nk;
        L->cap_keys = nc;
    }
    cpo_config_key *k = &c->keys[c->n_keys];
    k->section = strdup(section);
    k->key = strdup(key);
    k->value = strdup(value);
    k->line = line;
    if (!k->section || !k->key || !k->value) {
        free(k->section);
        free(k->key);
        free(k->value);
        return nomem(err);
    }
    c->n_keys++;
    return 0;
}

/* --- value parsers --------------------------------------------------------- */

static int bad_value(loader *L, const cpo_config_key *k, const char *expected)
{
    return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                         "%s = \"%s\" is not valid (expected %s)", k->key, k->value, expected);
}

static int unknown_key(loader *L, const cpo_config_key *k, const char *keys)
{
    return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                         "unknown key \"%s\" in [%s] (expected one of: %s)", k->key, k->section,
                         keys);
}

/* A finite number in [lo, hi] (open ends when lo_open/hi_open). */
static int get_real(loader *L, const cpo_config_key *k, double lo, int lo_open, double hi,
                    int hi_open, const char *expected, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(k->value, &end);
    if (end == k->value || *end || errno || !isfinite(v) || (lo_open ? v <= lo : v < lo) ||
        (hi_open ? v >= hi : v > hi))
        return bad_value(L, k, expected);
    *out = v;
    return 0;
}

static int get_uint(loader *L, const cpo_config_key *k, uint64_t max, const char *expected,
                    uint64_t *out)
{
    const char *s = k->value;
    if (!*s)
        return bad_value(L, k, expected);
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return bad_value(L, k, expected);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return bad_value(L, k, expected);
    *out = (uint64_t)v;
    return 0;
}

static int get_bool(loader *L, const cpo_config_key *k, int *out)
{
    const char *v = k->value;
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
        *out = 0;
    else
        return bad_value(L, k, "yes or no");
    return 0;
}

static int get_time(loader *L, const cpo_config_key *k, int end_of_day, int64_t *out)
{
    int flags = 0;
    int64_t t;
    if (cpo_time_parse(k->value, strlen(k->value), &t, &flags, NULL))
        return bad_value(L, k, "an ISO 8601 date like 2021-01-01 or a UTC date-time like "
                               "2021-01-01T08:00:00Z");
    if (end_of_day && !(flags & CPO_TIME_HAS_TIME))
        t += CPO_MS_DAY - 1;
    *out = t;
    return 0;
}

static int get_duration(loader *L, const cpo_config_key *k, int zero_ok, int64_t *out)
{
    if (zero_ok && !strcmp(k->value, "0")) {
        *out = 0;
        return 0;
    }
    int64_t ms;
    if (cpo_duration_parse(k->value, &ms))
        return bad_value(L, k, zero_ok ? "0 or a duration like 90d, 8h or 15m"
                                       : "a duration like 1d, 8h or 15m");
    *out = ms;
    return 0;
}

static int resolve_path(loader *L, const char *p, char **out)
{
    const char *dir = L->cfg->dir;
    size_t n;
    char *s;
    if (p[0] == '/' || !strcmp(dir, ".")) {
        s = strdup(p);
    } else {
        n = strlen(dir) + strlen(p) + 2;
        if ((s = malloc(n)))
            snprintf(s, n, "%s/%s", dir, p);
    }
    if (!s)
        return nomem(L->err);
    *out = s;
    return 0;
}

/* Split a comma list into its items (trimmed, none empty).  Returns the
 * count, or -1 for an empty item, -2 out of memory. */
static long split_list(const char *s, char ***items)
{
    *items = NULL;
    long n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == p) {
            if (!*e && n == 0 && !*p)
                return 0; /* empty text */
            goto bad;
        }
        char **ni = realloc(*items, (size_t)(n + 1) * sizeof *ni);
        if (!ni)
            goto oom;
        *items = ni;
        if (!(ni[n] = dup_n(p, (size_t)(end - p))))
            goto oom;
        n++;
        if (!*e)
            return n;
        p = e + 1;
    }
bad:
    for (long i = 0; i < n; i++)
        free((*items)[i]);
    free(*items);
    *items = NULL;
    return -1;
oom:
    for (long i = 0; i < n; i++)
        free((*items)[i]);
    free(*items);
    *items = NULL;
    return -2;
}

static void free_items(char **items, long n)
{
    for (long i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

/* --- pass 2: the fixed sections ------------------------------------------- */

/* A symbol or index name: no blanks, shorter than CPO_SYMBOL_MAX. */
static int symbol_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= CPO_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)s[i]) || s[i] == ',')
            return 0;
    return 1;
}

/* collateral = CCY, or CCY:FRACTION[, CCY:FRACTION ...] (at most 4, the
 * fractions' sum at most 1; the rest stays in the reporting currency). */
static int set_collateral(loader *L, const cpo_config_key *k)
{
    cpo_run_spec *r = &L->cfg->run;
    const char *v = k->value;
    static const char *const expected =
        "a currency code like BTC, or CCY:FRACTION[, CCY:FRACTION] with fractions in (0, 1] "
        "adding up to at most 1, at most 4 currencies";
    if (strlen(v) >= sizeof r->collateral)
        return bad_value(L, k, expected);
    char **items = NULL;
    long n = split_list(v, &items);
    if (n == -2)
        return nomem(L->err);
    int rc = 0;
    double sum = 0.0;
    r->n_collateral = 0;
    if (n <= 0 || n > 4)
        rc = bad_value(L, k, expected);
    for (long i = 0; !rc && i < n; i++) {
        char *colon = strchr(items[i], ':');
        double frac = 1.0;
        if (colon) {
            *colon = '\0';
            char *end;
            errno = 0;
            frac = strtod(colon + 1, &end);
            if (end == colon + 1 || *end || errno || !(frac > 0.0 && frac <= 1.0))
                rc = bad_value(L, k, expected);
        } else if (n > 1) {
            rc = bad_value(L, k, expected);
        }
        size_t len = strlen(items[i]);
        int ok = len > 0 && len < CPO_CCY_MAX;
        for (size_t j = 0; ok && j < len; j++)
            ok = isalnum((unsigned char)items[i][j]);
        if (!rc && !ok)
            rc = bad_value(L, k, expected);
        for (size_t j = 0; !rc && j < r->n_collateral; j++)
            if (!strcmp(r->collateral_ccy[j], items[i]))
                rc = bad_value(L, k, "each currency once");
        if (rc)
            break;
        sum += frac;
        snprintf(r->collateral_ccy[r->n_collateral], CPO_CCY_MAX, "%s", items[i]);
        r->collateral_frac[r->n_collateral++] = frac;
    }
    if (!rc && sum > 1.0 + 1e-12)
        rc = bad_value(L, k, expected);
    if (n > 0)
        free_items(items, n);
    if (rc) {
        r->n_collateral = 0;
        return rc;
    }
    snprintf(r->collateral, sizeof r->collateral, "%s", v);
    return 0;
}

static int set_backtest(loader *L, const cpo_config_key *k)
{
    cpo_config *c = L->cfg;
    cpo_run_spec *r = &c->run;
    const char *key = k->key, *v = k->value;
    if (!strcmp(key, "data")) {
        if (!*v)
            return bad_value(L, k, "PATH to a store");
        free(c->data_path);
        c->data_path = NULL;
        return resolve_path(L, v, &c->data_path);
    }
    if (!strcmp(key, "start"))
        return get_time(L, k, 0, &c->market.start_ms);
    if (!strcmp(key, "end"))
        return get_time(L, k, 1, &c->market.end_ms);
    if (!strcmp(key, "warmup"))
        return get_duration(L, k, 1, &c->warmup_ms);
    if (!strcmp(key, "step"))
        return get_duration(L, k, 0, &c->market.step_ms);
    if (!strcmp(key, "gap_fill")) {
        if (!strcmp(v, "none"))
            c->market.fill = CPO_FILL_NONE;
        else if (!strcmp(v, "forward"))
            c->market.fill = CPO_FILL_FORWARD;
        else
            return bad_value(L, k, "none or forward");
        return 0;
    }
    if (!strcmp(key, "max_fill")) {
        uint64_t u;
        int rc = get_uint(L, k, 1000000000u, "a whole number of steps in [0, 1e9]; 0 = no limit", &u);
        c->market.max_fill = (size_t)u;
        return rc;
    }
    if (!strcmp(key, "capital"))
        return get_real(L, k, 0.0, 1, 1e15, 0, "a positive amount up to 1e15", &r->capital);
    if (!strcmp(key, "currency")) {
        if (strcmp(v, "USD") && strcmp(v, "USDT") && strcmp(v, "USDC") && strcmp(v, "BUSD"))
            return bad_value(L, k, "USD, USDT, USDC or BUSD: results are reported in dollars");
        snprintf(r->currency, sizeof r->currency, "%s", v);
        return 0;
    }
    if (!strcmp(key, "collateral"))
        return set_collateral(L, k);
    if (!strcmp(key, "seed"))
        return get_uint(L, k, UINT64_MAX, "a whole number in [0, 18446744073709551615]", &r->seed);
    if (!strcmp(key, "cash_buffer"))
        return get_real(L, k, 0.0, 0, 1.0, 1, "a fraction of equity in [0, 1)", &r->cash_buffer);
    if (!strcmp(key, "detail")) {
        if (!strcmp(v, "totals"))
            r->detail = CPO_DETAIL_TOTALS;
        else if (!strcmp(v, "instrument"))
            r->detail = CPO_DETAIL_INSTRUMENT;
        else
            return bad_value(L, k, "totals or instrument");
        return 0;
    }
    if (!strcmp(key, "benchmark")) {
        /* Checked against the store with the universe (cpo_config_universe). */
        if (!symbol_ok(v))
            return bad_value(L, k, "one symbol of the store like BTCUSDT, at most 47 characters");
        snprintf(c->benchmark, sizeof c->benchmark, "%s", v);
        return 0;
    }
    return unknown_key(L, k, backtest_keys);
}

static int set_universe(loader *L, const cpo_config_key *k)
{
    cpo_config *c = L->cfg;
    int kind;
    if (!strcmp(k->key, "spot"))
        kind = CPO_KIND_SPOT;
    else if (!strcmp(k->key, "perp"))
        kind = CPO_KIND_PERP;
    else if (!strcmp(k->key, "futures"))
        kind = CPO_KIND_FUTURE;
    else if (!strcmp(k->key, "symbols"))
        kind = -1;
    else
        return unknown_key(L, k, universe_keys);
    char **items;
    long n = split_list(k->value, &items);
    if (n == -2)
        return nomem(L->err);
    if (n <= 0)
        return bad_value(L, k, kind < 0 ? "a comma-separated list of symbols like BTCUSDT, ETHUSDT"
                                        : "a comma-separated list of coins or symbols like BTC, ETH");
    for (long i = 0; i < n; i++)
        if (strlen(items[i]) >= CPO_SYMBOL_MAX) {
            free_items(items, n);
            return bad_value(L, k, "names of at most 47 characters");
        }
    cpo_config_name *nu = realloc(c->universe, (c->n_universe + (size_t)n) * sizeof *nu);
    if (!nu) {
        free_items(items, n);
        return nomem(L->err);
    }
    c->universe = nu;
    for (long i = 0; i < n; i++) {
        cpo_config_name *u = &c->universe[c->n_universe++];
        u->name = items[i];
        u->kind = kind;
        u->line = k->line;
    }
    free(items);
    return 0;
}

static long key_line(const cpo_config *cfg, const char *section, const char *key,
                     const char *fallback);

static int set_costs(loader *L, const cpo_config_key *k)
{
    cpo_run_spec *r = &L->cfg->run;
    cpo_costs *cs = &r->costs;
    const char *key = k->key;
    double x = 0.0;
    int rc;
    static const char *const bps = "a number of basis points in [0, 1000]";
    if (!strcmp(key, "fill")) {
        if (!strcmp(k->value, "next_open"))
            r->fill = CPO_FILL_NEXT_OPEN;
        else if (!strcmp(k->value, "close"))
            r->fill = CPO_FILL_THIS_CLOSE;
        else
            return bad_value(L, k, "next_open or close");
        return 0;
    }
    if (!strcmp(key, "fee_bps")) {
        /* Every kind; the per-kind keys (applied after) override it. */
        return get_real(L, k, 0.0, 0, 1000.0, 0, bps, &x);
    }
    if (!strcmp(key, "spot_fee_bps")) {
        if ((rc = get_real(L, k, 0.0, 0, 1000.0, 0, bps, &x)))
            return rc;
        cs->kind[CPO_KIND_SPOT].taker_bps = x;
        return 0;
    }
    /* perp_*: perpetuals and dated futures, unless future_* (wherever it
     * is in the section) gives the futures their own. */
    if (!strcmp(key, "perp_fee_bps") || !strcmp(key, "future_fee_bps")) {
        if ((rc = get_real(L, k, 0.0, 0, 1000.0, 0, bps, &x)))
            return rc;
        if (key[0] == 'p')
            cs->kind[CPO_KIND_PERP].taker_bps = x;
        if (key[0] == 'f' || !key_line(L->cfg, "costs", "future_fee_bps", NULL))
            cs->kind[CPO_KIND_FUTURE].taker_bps = x;
        return 0;
    }
    if (!strcmp(key, "spot_maker_bps") || !strcmp(key, "perp_maker_bps") ||
        !strcmp(key, "future_maker_bps")) {
        if ((rc = get_real(L, k, -100.0, 0, 1000.0, 0,
                           "a number of basis points in [-100, 1000] (negative: a rebate)", &x)))
            return rc;
        if (key[0] == 's')
            cs->kind[CPO_KIND_SPOT].maker_bps = x;
        if (key[0] == 'p')
            cs->kind[CPO_KIND_PERP].maker_bps = x;
        if (key[0] == 'f' || (key[0] == 'p' && !key_line(L->cfg, "costs", "future_maker_bps", NULL)))
            cs->kind[CPO_KIND_FUTURE].maker_bps = x;
        return 0;
    }
    if (!strcmp(key, "slippage_bps"))
        return get_real(L, k, 0.0, 0, 1000.0, 0, bps, &cs->slippage_bps);
    if (!strcmp(key, "impact_coef"))
        return get_real(L, k, 0.0, 0, 100.0, 0, "a number in [0, 100]; 0 = no impact",
                        &cs->impact_coef);
    if (!strcmp(key, "participation_cap"))
        return get_real(L, k, 0.0, 0, 1.0, 0, "a fraction of bar volume in [0, 1]; 0 = no cap",
                        &cs->participation_cap);
    if (!strcmp(key, "lot_rounding"))
        return get_bool(L, k, &cs->lot_rounding);
    if (!strcmp(key, "perp_leverage")) {
        if ((rc = get_real(L, k, 1.0, 0, 200.0, 0, "a leverage in [1, 200]", &x)))
            return rc;
        cs->kind[CPO_KIND_PERP].imr = cs->kind[CPO_KIND_FUTURE].imr = 1.0 / x;
        L->lev_line = k->line;
        return 0;
    }
    if (!strcmp(key, "perp_imr")) {
        /* 1 / 200: the largest leverage perp_leverage takes. */
        if ((rc = get_real(L, k, 0.005, 0, 1.0, 0,
                           "an initial margin rate in [0.005, 1]: leverage 1 to 200", &x)))
            return rc;
        cs->kind[CPO_KIND_PERP].imr = cs->kind[CPO_KIND_FUTURE].imr = x;
        L->imr_line = k->line;
        return 0;
    }
    if (!strcmp(key, "perp_mmr")) {
        if ((rc = get_real(L, k, 0.0, 0, 1.0, 1, "a maintenance margin rate in [0, 1)", &x)))
            return rc;
        cs->kind[CPO_KIND_PERP].mmr = cs->kind[CPO_KIND_FUTURE].mmr = x;
        L->mmr_line = k->line;
        return 0;
    }
    return unknown_key(L, k, costs_keys);
}

static int set_strategy(loader *L, const cpo_config_key *k)
{
    for (int r = 0; r < CPO_ROLE_COUNT; r++)
        if (!strcmp(k->key, cpo_role_name((cpo_stage_role)r))) {
            L->roles[r] = k;
            return 0;
        }
    if (!strcmp(k->key, "plugin")) {
        cpo_config *c = L->cfg;
        char **items;
        long n = split_list(k->value, &items);
        if (n == -2)
            return nomem(L->err);
        if (n <= 0)
            return bad_value(L, k, "PATH of a shared object, or a comma-separated list of them");
        for (long i = 0; i < n; i++) {
            char *p = NULL;
            int rc = resolve_path(L, items[i], &p);
            struct stat st;
            if (!rc && (stat(p, &st) != 0 || !S_ISREG(st.st_mode)))
                rc = cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                   "plugin \"%s\" does not exist (expected the path of a shared "
                                   "object, relative to the config file)",
                                   items[i]);
            char **np = rc ? NULL : realloc(c->plugins, (c->n_plugins + 1) * sizeof *np);
            if (!rc && !np)
                rc = nomem(L->err);
            if (rc) {
                free(p);
                free_items(items, n);
                return rc;
            }
            c->plugins = np;
            c->plugins[c->n_plugins++] = p;
        }
        free_items(items, n);
        return 0;
    }
    return unknown_key(L, k, strategy_keys);
}

static int set_margin(loader *L, const cpo_config_key *k);
static int set_financing(loader *L, const cpo_config_key *k);
static int set_futures(loader *L, const cpo_config_key *k);
static int set_env(loader *L, const cpo_config_key *k);
static int coin_ok(const char *s);

/* [report] charts = both | png | svg | none (cpo_charts). */
static int set_report(loader *L, const cpo_config_key *k)
{
    if (strcmp(k->key, "charts"))
        return unknown_key(L, k, report_keys);
    int c = cpo_charts_parse(k->value);
    if (c < 0)
        return bad_value(L, k, "both, png, svg or none");
    L->cfg->report_charts = c;
    return 0;
}

static int apply_fixed(loader *L)
{
    cpo_config *c = L->cfg;
    int rc = 0;
    const cpo_config_key *fee = NULL;
    /* fee_bps first: the per-kind fee keys override it wherever they are. */
    for (size_t i = 0; i < c->n_keys; i++)
        if (!strcmp(c->keys[i].section, "costs") && !strcmp(c->keys[i].key, "fee_bps"))
            fee = &c->keys[i];
    if (fee) {
        double x = 0.0;
        if ((rc = get_real(L, fee, 0.0, 0, 1000.0, 0, "a number of basis points in [0, 1000]", &x)))
            return rc;
        for (int kd = 0; kd < 4; kd++)
            c->run.costs.kind[kd].taker_bps = x;
    }
    for (size_t i = 0; i < c->n_keys && !rc; i++) {
        const cpo_config_key *k = &c->keys[i];
        if (!strcmp(k->section, "backtest"))
            rc = set_backtest(L, k);
        else if (!strcmp(k->section, "universe"))
            rc = set_universe(L, k);
        else if (!strcmp(k->section, "costs"))
            rc = set_costs(L, k);
        else if (!strcmp(k->section, "strategy"))
            rc = set_strategy(L, k);
        else if (!strcmp(k->section, "options"))
            continue; /* apply_options: underlyings first */
        else if (!strcmp(k->section, "margin"))
            rc = set_margin(L, k);
        else if (!strcmp(k->section, "financing"))
            rc = set_financing(L, k);
        else if (!strcmp(k->section, "futures"))
            rc = set_futures(L, k);
        else if (!strcmp(k->section, "env"))
            rc = set_env(L, k);
        else if (!strcmp(k->section, "report"))
            rc = set_report(L, k);
        else if (is_sweep_section(k->section))
            continue;
        else if (!k->section[0])
            rc = cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                               "key \"%s\" is outside a section (expected [backtest], "
                               "[universe], [costs] or [strategy] before it)",
                               k->key);
        else if (!is_role_section(k->section, NULL, NULL))
            /* A header inih saw but the scan did not (indented). */
            rc = unknown_section(L, k->line, k->section);
    }
    if (rc)
        return rc;
    /* Cross-key checks. */
    if (L->imr_line && L->lev_line)
        return cpo_error_set(L->err, CPO_ECONFIG, L->path,
                             L->imr_line > L->lev_line ? L->imr_line : L->lev_line, 0,
                             "perp_imr and perp_leverage are both given (expected one of them: "
                             "perp_imr = 1 / perp_leverage)");
    const cpo_kind_costs *pk = &c->run.costs.kind[CPO_KIND_PERP];
    if (pk->mmr >= pk->imr) {
        long line = L->mmr_line ? L->mmr_line : L->imr_line ? L->imr_line : L->lev_line;
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, line, 0,
                             "the maintenance margin rate %.10g is not below the initial margin "
                             "rate %.10g (expected perp_mmr < perp_imr = 1 / perp_leverage)",
                             pk->mmr, pk->imr);
    }
    if (c->market.start_ms != CPO_TIME_NONE && c->market.end_ms != CPO_TIME_NONE &&
        c->market.end_ms < c->market.start_ms) {
        const char *e = cpo_config_get(c, "backtest", "end"), *s = cpo_config_get(c, "backtest", "start");
        long line = 0;
        for (size_t i = 0; i < c->n_keys; i++)
            if (!strcmp(c->keys[i].section, "backtest") && !strcmp(c->keys[i].key, "end"))
                line = c->keys[i].line;
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, line, 0,
                             "end = \"%s\" is before start = \"%s\" (expected end >= start)", e, s);
    }
    if (!c->data_path)
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, 0, 0,
                             "[backtest] has no \"data\" (expected data = PATH to a store)");
    return 0;
}

/* --- [margin]: margin and liquidation (cpo_margin_spec) -------------------- */

static int set_margin(loader *L, const cpo_config_key *k)
{
    cpo_config *c = L->cfg;
    cpo_margin_spec *m = &c->run.margin;
    const char *key = k->key, *v = k->value;
    if (!strcmp(key, "mode")) {
        if (!strcmp(v, "cross"))
            m->mode = CPO_MARGIN_CROSS;
        else if (!strcmp(v, "isolated"))
            m->mode = CPO_MARGIN_ISOLATED;
        else
            return bad_value(L, k, "cross or isolated");
        return 0;
    }
    if (!strcmp(key, "options_margin")) {
        if (!strcmp(v, "standard"))
            m->options_margin = CPO_OPTIONS_MARGIN_STANDARD;
        else if (!strcmp(v, "portfolio"))
            m->options_margin = CPO_OPTIONS_MARGIN_PORTFOLIO;
        else
            return bad_value(L, k, "standard or portfolio");
        return 0;
    }
    if (!strcmp(key, "liquidation_price")) {
        if (!strcmp(v, "mark"))
            m->liq_price = CPO_LIQ_MARK;
        else if (!strcmp(v, "wick"))
            m->liq_price = CPO_LIQ_WICK;
        else
            return bad_value(L, k, "mark (the mark price) or wick (the bar's last-trade "
                                   "high and low)");
        return 0;
    }
    if (!strcmp(key, "liquidation_fee"))
        return get_real(L, k, 0.0, 0, 0.1, 0, "a fraction of the notional in [0, 0.1]",
                        &m->liquidation_fee);
    if (!strcmp(key, "deribit_future_liquidation_fee"))
        return get_real(L, k, 0.0, 0, 0.1, 0, "a fraction of the notional in [0, 0.1]",
                        &m->deribit_future_liq_fee);
    if (!strcmp(key, "deribit_option_liquidation_fee"))
        return get_real(L, k, 0.0, 0, 0.1, 0, "coin per option contract in [0, 0.1]",
                        &m->deribit_option_liq_fee);
    if (!strcmp(key, "margin_call"))
        return get_real(L, k, 0.0, 1, 1.0, 0,
                        "a ratio of maintenance margin to margin balance in (0, 1]",
                        &m->call_ratio);
    if (!strcmp(key, "brackets")) {
        char *path = NULL;
        int rc = resolve_path(L, v, &path);
        if (rc)
            return rc;
        free(c->brackets);
        c->brackets = NULL;
        c->n_brackets = 0;
        cpo_error e2;
        memset(&e2, 0, sizeof e2);
        rc = cpo_brackets_read(path, &c->brackets, &c->n_brackets, &e2);
        if (rc) {
            /* The file's own position, and the config line that named it. */
            cpo_error_set(L->err, rc, e2.path[0] ? e2.path : path, e2.line, e2.col,
                          "%s (the brackets of %s:%ld)", e2.msg, L->path, k->line);
            free(path);
            return rc;
        }
        m->brackets = c->brackets;
        m->n_brackets = c->n_brackets;
        snprintf(m->brackets_source, sizeof m->brackets_source, "%s", v);
        free(path);
        return 0;
    }
    return unknown_key(L, k, margin_keys);
}

/* --- [financing]: interest and the risk-free rate (cpo_financing_spec) ------ */

/* A rate: a number (annual, in [-0.5, 2]) or a file of date,rate (run/rates.c). */
static int get_rate(loader *L, const cpo_config_key *k, cpo_rate *out)
{
    cpo_config *c = L->cfg;
    const char *v = k->value;
    double x;
    memset(out, 0, sizeof *out);
    if (!cpo_parse_f64(v, strlen(v), &x)) {
        if (!(x >= -0.5 && x <= 2.0))
            return bad_value(L, k, "an annual rate in [-0.5, 2] (0.04 = 4 % a year), or a file "
                                   "of date,rate");
        out->constant = x;
        return 0;
    }
    if (!*v)
        return bad_value(L, k, "an annual rate like 0.04, or a file of date,rate");
    char *path = NULL;
    int rc = resolve_path(L, v, &path);
    if (rc)
        return rc;
    int64_t *ts = NULL;
    double *rate = NULL;
    size_t n = 0;
    cpo_error e2;
    memset(&e2, 0, sizeof e2);
    rc = cpo_rates_read(path, &ts, &rate, &n, &e2);
    if (rc) {
        cpo_error_set(L->err, rc, e2.path[0] ? e2.path : path, e2.line, e2.col,
                      "%s (the rates of %s:%ld)", e2.msg, L->path, k->line);
        free(path);
        return rc;
    }
    free(path);
    cpo_rate_series *ns = realloc(c->rates, (c->n_rates + 1) * sizeof *ns);
    if (!ns) {
        free(ts);
        free(rate);
        return nomem(L->err);
    }
    c->rates = ns;
    ns[c->n_rates].ts = ts;
    ns[c->n_rates].rate = rate;
    c->n_rates++;
    out->n = n;
    out->ts = ts;
    out->rate = rate;
    return 0;
}

static int set_financing(loader *L, const cpo_config_key *k)
{
    cpo_financing_spec *f = &L->cfg->run.financing;
    const char *key = k->key;
    f->enabled = 1;
    if (!strcmp(key, "rf")) {
        snprintf(f->rf_source, sizeof f->rf_source, "%s", k->value);
        if (!strcmp(k->value, "cash")) {
            f->rf_kind = CPO_RF_CASH;
            return 0;
        }
        f->rf_kind = CPO_RF_RATE;
        return get_rate(L, k, &f->rf);
    }
    int is_cash = !strncmp(key, "cash.", 5), is_borrow = !strncmp(key, "borrow.", 7);
    if (!is_cash && !is_borrow)
        return unknown_key(L, k, financing_keys);
    const char *ccy = key + (is_cash ? 5 : 7);
    if (!coin_ok(ccy))
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                             "%s: \"%s\" is not a currency (expected %s.CCY, a code like USD or "
                             "BTC)",
                             key, ccy, is_cash ? "cash" : "borrow");
    size_t j = 0;
    while (j < f->n && strcmp(f->ccy[j], ccy))
        j++;
    if (j == f->n) {
        if (f->n == CPO_MAX_CCY)
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                 "more than %d currencies in [financing] (expected at most %d)",
                                 CPO_MAX_CCY, CPO_MAX_CCY);
        snprintf(f->ccy[f->n++], CPO_CCY_MAX, "%s", ccy);
    }
    return get_rate(L, k, is_cash ? &f->cash[j] : &f->borrow[j]);
}

/* --- [env]: the step interface for learning agents (cpo/env.h) ------------- */

static int set_env(loader *L, const cpo_config_key *k)
{
    cpo_env_spec *s = &L->cfg->env;
    const char *key = k->key, *v = k->value;
    uint64_t u = 0;
    int rc = 0;
    s->present = 1;
    if (!strcmp(key, "window")) {
        if (!(rc = get_uint(L, k, 1000, "a number of bars in [1, 1000]", &u)) && u < 1)
            rc = bad_value(L, k, "a number of bars in [1, 1000]");
        s->window = (size_t)u;
    } else if (!strcmp(key, "vol_window")) {
        if (!(rc = get_uint(L, k, 10000, "a number of bars in [2, 10000]", &u)) && u < 2)
            rc = bad_value(L, k, "a number of bars in [2, 10000]");
        s->vol_window = (size_t)u;
    } else if (!strcmp(key, "features")) {
        static const char *const expected =
            "a comma-separated list of: returns, vol, funding, basis, weights, equity, margin, "
            "greeks";
        char **items;
        long n = split_list(v, &items);
        if (n == -2)
            return nomem(L->err);
        if (n <= 0)
            return bad_value(L, k, expected);
        unsigned f = 0;
        for (long i = 0; i < n && !rc; i++) {
            unsigned b = cpo_env_feature(items[i]);
            if (!b)
                rc = bad_value(L, k, expected);
            else if (f & b)
                rc = cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                   "features: \"%s\" is listed twice (expected each feature "
                                   "once)",
                                   items[i]);
            f |= b;
        }
        free_items(items, n);
        s->features = f;
        L->features = k;
    } else if (!strcmp(key, "reward")) {
        if (!strcmp(v, "log_return"))
            s->reward = CPO_ENV_REWARD_LOG_RETURN;
        else if (!strcmp(v, "differential_sharpe"))
            s->reward = CPO_ENV_REWARD_DIFF_SHARPE;
        else
            rc = bad_value(L, k, "log_return or differential_sharpe");
    } else if (!strcmp(key, "sharpe_eta")) {
        rc = get_real(L, k, 0.0, 1, 1.0, 1, "an adaptation rate in (0, 1)", &s->sharpe_eta);
    } else if (!strcmp(key, "drawdown_penalty")) {
        rc = get_real(L, k, 0.0, 0, 1000.0, 0, "a penalty coefficient in [0, 1000]",
                      &s->drawdown_penalty);
    } else if (!strcmp(key, "turnover_penalty")) {
        rc = get_real(L, k, 0.0, 0, 1000.0, 0, "a penalty coefficient in [0, 1000]",
                      &s->turnover_penalty);
    } else if (!strcmp(key, "action")) {
        if (!strcmp(v, "weights"))
            s->action = CPO_ENV_ACTION_WEIGHTS;
        else if (!strcmp(v, "deltas"))
            s->action = CPO_ENV_ACTION_DELTAS;
        else
            rc = bad_value(L, k, "weights or deltas");
    } else if (!strcmp(key, "max_weight")) {
        rc = get_real(L, k, 0.0, 1, 100.0, 0, "a weight bound in (0, 100]", &s->max_weight);
    } else if (!strcmp(key, "max_gross")) {
        rc = get_real(L, k, 0.0, 1, 100.0, 0,
                      "a bound on the sum of |weights| in (0, 100] (1: fully invested)",
                      &s->max_gross);
    } else if (!strcmp(key, "long_only")) {
        rc = get_bool(L, k, &s->long_only);
    } else if (!strcmp(key, "episode_steps")) {
        rc = get_uint(L, k, 100000000, "0 (the whole period) or a number of steps up to 1e8",
                      &u);
        s->episode_steps = (size_t)u;
    } else if (!strcmp(key, "random_start")) {
        rc = get_bool(L, k, &s->random_start);
    } else {
        rc = unknown_key(L, k, env_keys);
    }
    return rc;
}

/* --- [futures]: dated futures (cpo_futures_spec) ---------------------------- */

static int set_futures(loader *L, const cpo_config_key *k)
{
    cpo_futures_spec *f = &L->cfg->run.futures;
    const char *key = k->key, *v = k->value;
    if (!strcmp(key, "delivery_fee_bps"))
        return get_real(L, k, 0.0, 0, 100.0, 0, "a number of basis points in [0, 100]",
                        &f->delivery_fee_bps);
    if (!strcmp(key, "between_quotes")) {
        if (!strcmp(v, "none"))
            f->between_quotes = CPO_FUT_GAP_NONE;
        else if (!strcmp(v, "basis"))
            f->between_quotes = CPO_FUT_GAP_BASIS;
        else
            return bad_value(L, k, "none or basis");
        return 0;
    }
    int is_index = !strncmp(key, "index.", 6), is_deliv = !strncmp(key, "delivery.", 9);
    if (!is_index && !is_deliv)
        return unknown_key(L, k, futures_keys);
    const char *coin = key + (is_index ? 6 : 9);
    if (!coin_ok(coin))
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                             "%s: \"%s\" is not a coin (expected %s.COIN, a code like BTC)", key,
                             coin, is_index ? "index" : "delivery");
    if (!symbol_ok(v))
        return bad_value(L, k, "the symbol of an instrument of the store, like BTCUSDT");
    size_t j = 0;
    while (j < f->n && strcmp(f->coin[j], coin))
        j++;
    if (j == f->n) {
        if (f->n == CPO_OPT_MAX_UNDERLYINGS)
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                 "more than %d coins in [futures] (expected at most %d)",
                                 CPO_OPT_MAX_UNDERLYINGS, CPO_OPT_MAX_UNDERLYINGS);
        snprintf(f->coin[f->n++], CPO_CCY_MAX, "%s", coin);
    }
    snprintf(is_index ? f->index[j] : f->delivery[j], CPO_SYMBOL_MAX, "%s", v);
    return 0;
}

/* --- [options]: option positions (cpo_option_spec) ------------------------- */

/* A coin code: letters and digits, shorter than CPO_CCY_MAX. */
static int coin_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= CPO_CCY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return 0;
    return 1;
}

static long opt_underlying(const cpo_option_spec *o, const char *coin)
{
    for (size_t u = 0; u < o->n_underlyings; u++)
        if (!strcmp(o->underlying[u], coin))
            return (long)u;
    return -1;
}

/* "BTC, ETH" */
static void opt_list(const cpo_option_spec *o, char *buf, size_t n)
{
    size_t w = 0;
    buf[0] = '\0';
    for (size_t u = 0; u < o->n_underlyings && w < n; u++) {
        int m = snprintf(buf + w, n - w, "%s%s", u ? ", " : "", o->underlying[u]);
        if (m < 0)
            return;
        w += (size_t)m;
    }
}

static int set_underlyings(loader *L, const cpo_config_key *k)
{
    cpo_option_spec *o = &L->cfg->run.options;
    static const char *const expected = "a comma-separated list of at most 4 coins like BTC, ETH";
    char **items;
    long n = split_list(k->value, &items);
    if (n == -2)
        return nomem(L->err);
    if (n <= 0)
        return bad_value(L, k, expected);
    int rc = 0;
    if (n > CPO_OPT_MAX_UNDERLYINGS)
        rc = bad_value(L, k, expected);
    for (long i = 0; i < n && !rc; i++) {
        if (!coin_ok(items[i]))
            rc = bad_value(L, k, expected);
        else if (opt_underlying(o, items[i]) >= 0)
            rc = bad_value(L, k, "each coin once");
        else {
            size_t u = o->n_underlyings++;
            snprintf(o->underlying[u], sizeof o->underlying[u], "%s", items[i]);
            /* Defaults: the coin's USDT spot and Deribit's DVOL name. */
            snprintf(o->index[u], sizeof o->index[u], "%sUSDT", items[i]);
            snprintf(o->dvol[u], sizeof o->dvol[u], "%s-DVOL", items[i]);
        }
    }
    free_items(items, n);
    return rc;
}

static int set_option(loader *L, const cpo_config_key *k)
{
    cpo_option_spec *o = &L->cfg->run.options;
    const char *key = k->key, *v = k->value;
    int is_index = !strncmp(key, "index.", 6), is_dvol = !strncmp(key, "dvol.", 5);
    int is_deliv = !strncmp(key, "delivery.", 9);
    if (is_index || is_dvol || is_deliv) {
        const char *coin = key + (is_index ? 6 : is_dvol ? 5 : 9);
        long u = opt_underlying(o, coin);
        if (u < 0) {
            char list[CPO_OPT_MAX_UNDERLYINGS * CPO_CCY_MAX + 8];
            opt_list(o, list, sizeof list);
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                 "%s is for %s, which is not in underlyings (expected %s.COIN "
                                 "for a coin of: %s)",
                                 key, coin[0] ? coin : "no coin",
                                 is_index ? "index" : is_dvol ? "dvol" : "delivery", list);
        }
        if (!symbol_ok(v))
            return bad_value(L, k, !is_dvol ? "the symbol of an instrument of the store, like "
                                              "BTCUSDT"
                                            : "the name of a volatility index of the store, "
                                              "like BTC-DVOL");
        snprintf(is_index ? o->index[u] : is_dvol ? o->dvol[u] : o->delivery[u], CPO_SYMBOL_MAX,
                 "%s", v);
        return 0;
    }
    if (!strcmp(key, "max_quote_age"))
        return get_duration(L, k, 0, &o->max_quote_age_ms);
    if (!strcmp(key, "surface")) {
        cpo_surface_mode m;
        if (cpo_surface_mode_parse(v, &m, NULL))
            return bad_value(L, k, "sticky_strike or dvol_scaled");
        o->surface_mode = (int)m;
        return 0;
    }
    if (!strcmp(key, "coin_price")) {
        if (!strcmp(v, "forward"))
            o->coin_px_index = 0;
        else if (!strcmp(v, "index"))
            o->coin_px_index = 1;
        else
            return bad_value(L, k, "forward or index");
        return 0;
    }
    if (!strcmp(key, "rate"))
        return get_real(L, k, -1.0, 0, 1.0, 0, "a continuous rate per year in [-1, 1]", &o->rate);
    if (!strcmp(key, "fee_rate"))
        return get_real(L, k, 0.0, 0, 0.01, 0, "coin per contract in [0, 0.01]", &o->fee_rate);
    if (!strcmp(key, "fee_cap"))
        return get_real(L, k, 0.0, 0, 1.0, 0, "a fraction of the option price in [0, 1]",
                        &o->fee_cap);
    if (!strcmp(key, "delivery_fee"))
        return get_real(L, k, 0.0, 0, 0.01, 0, "coin per contract in [0, 0.01]",
                        &o->delivery_rate);
    if (!strcmp(key, "delivery_cap"))
        return get_real(L, k, 0.0, 0, 1.0, 0, "a fraction of the payoff in [0, 1]",
                        &o->delivery_cap);
    if (!strcmp(key, "explain_threshold"))
        return get_real(L, k, 0.0, 0, 1.0, 0, "a fraction of the options line in [0, 1]",
                        &o->explain_rel);
    if (!strcmp(key, "explain_floor"))
        return get_real(L, k, 0.0, 0, 1.0, 0, "a fraction of equity in [0, 1]", &o->explain_abs);
    if (!strcmp(key, "max_positions")) {
        uint64_t x = 0;
        static const char *const what = "a whole number of positions in [1, 100000]";
        int rc = get_uint(L, k, 100000u, what, &x);
        if (rc)
            return rc;
        if (x < 1)
            return bad_value(L, k, what);
        o->max_positions = (size_t)x;
        return 0;
    }
    return unknown_key(L, k, options_keys);
}

/* [options]: present = option positions enabled.  underlyings first (the
 * index.COIN and dvol.COIN keys name its coins), then the rest in file
 * order. */
static int apply_options(loader *L)
{
    cpo_config *c = L->cfg;
    long sline = section_line(L, "options");
    const cpo_config_key *und = NULL;
    int present = sline > 0;
    for (size_t i = 0; i < c->n_keys; i++)
        if (!strcmp(c->keys[i].section, "options")) {
            present = 1;
            if (!strcmp(c->keys[i].key, "underlyings"))
                und = &c->keys[i];
        }
    if (!present)
        return 0;
    cpo_option_spec_init(&c->run.options);
    c->run.options.enabled = 1;
    if (!und)
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, sline, 0,
                             "[options] has no \"underlyings\" (expected underlyings = the coins "
                             "of the option chains held, like BTC)");
    int rc = set_underlyings(L, und);
    for (size_t i = 0; i < c->n_keys && !rc; i++)
        if (!strcmp(c->keys[i].section, "options") && &c->keys[i] != und)
            rc = set_option(L, &c->keys[i]);
    return rc;
}

/* A stage parameter "underlying" (the option stages) must name a coin of
 * [options] underlyings; "" means the stage derives it. */
static int check_stage_underlyings(loader *L)
{
    cpo_config *c = L->cfg;
    const cpo_option_spec *o = &c->run.options;
    if (!o->enabled)
        return 0;
    for (size_t s = 0; s < c->run.n_stages; s++) {
        const cpo_stage_def *d = c->run.stages[s].def;
        int has = 0;
        for (size_t p = 0; p < d->n_params; p++)
            has |= !strcmp(d->params[p].name, "underlying") &&
                   d->params[p].type == CPO_PARAM_STRING;
        if (!has)
            continue;
        const char *v = cpo_params_str(c->run.stages[s].params, "underlying");
        if (!v[0] || opt_underlying(o, v) >= 0)
            continue;
        char sec[128], list[CPO_OPT_MAX_UNDERLYINGS * CPO_CCY_MAX + 8];
        snprintf(sec, sizeof sec, "%s.%s", cpo_role_name(d->role), d->name);
        long line = section_line(L, sec);
        for (size_t i = 0; i < c->n_keys; i++)
            if (!strcmp(c->keys[i].section, sec) && !strcmp(c->keys[i].key, "underlying"))
                line = c->keys[i].line;
        for (size_t i = 0; i < c->n_keys && !line; i++)
            if (!strcmp(c->keys[i].section, "options") && !strcmp(c->keys[i].key, "underlyings"))
                line = c->keys[i].line;
        opt_list(o, list, sizeof list);
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, line, 0,
                             "[%s] underlying = \"%s\" is not in [options] underlyings (expected "
                             "one of: %s)",
                             sec, v, list);
    }
    return 0;
}

/* --- passes 3-6: plugins and stages --------------------------------------- */

static int stage_names(loader *L, cpo_stage_role role, char *buf, size_t n)
{
    cpo_registry_names(L->cfg->registry, role, buf, n);
    if (!buf[0])
        snprintf(buf, n, "none: no %s stage is registered; a plugin can add one",
                 cpo_role_name(role));
    return 0;
}

static int unknown_stage(loader *L, long line, cpo_stage_role role, const char *name)
{
    char names[1024];
    stage_names(L, role, names, sizeof names);
    return cpo_error_set(L->err, CPO_ECONFIG, L->path, line, 0,
                         "unknown %s stage \"%s\" (expected one of: %s)", cpo_role_name(role), name,
                         names);
}

static int load_plugins(loader *L)
{
    cpo_config *c = L->cfg;
    int rc = cpo_registry_new(&c->registry, L->err);
    if (rc)
        return rc;
    long line = 0;
    for (size_t i = 0; i < c->n_keys; i++)
        if (!strcmp(c->keys[i].section, "strategy") && !strcmp(c->keys[i].key, "plugin"))
            line = c->keys[i].line;
    for (size_t i = 0; i < c->n_plugins; i++) {
        cpo_error inner;
        cpo_error_clear(&inner);
        if ((rc = cpo_registry_load(c->registry, c->plugins[i], &inner))) {
            char msg[CPO_ERROR_MSG_MAX + CPO_ERROR_PATH_MAX + 32];
            cpo_error_format(&inner, msg, sizeof msg);
            return cpo_error_set(L->err, rc, L->path, line, 0, "%s", msg);
        }
    }
    return 0;
}

static int make_stages(loader *L)
{
    cpo_config *c = L->cfg;
    cpo_run_spec *r = &c->run;
    for (int role = 0; role < CPO_ROLE_COUNT; role++) {
        const cpo_config_key *k = L->roles[role];
        if (!k)
            continue;
        char **items;
        long n = split_list(k->value, &items);
        if (n == -2)
            return nomem(L->err);
        if (n <= 0) {
            char names[1024], exp[1100];
            stage_names(L, (cpo_stage_role)role, names, sizeof names);
            snprintf(exp, sizeof exp, "a stage name or a comma-separated list of them: %s", names);
            return bad_value(L, k, exp);
        }
        int rc = 0;
        for (long i = 0; i < n && !rc; i++) {
            const cpo_stage_def *d = cpo_registry_find(c->registry, (cpo_stage_role)role, items[i]);
            if (!d) {
                rc = unknown_stage(L, k->line, (cpo_stage_role)role, items[i]);
                break;
            }
            for (size_t s = 0; s < r->n_stages; s++)
                if (r->stages[s].def == d)
                    rc = cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                       "%s stage \"%s\" is listed twice (expected each stage once)",
                                       cpo_role_name((cpo_stage_role)role), items[i]);
            if (!rc && r->n_stages == MAX_STAGES)
                rc = cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                   "more than %d stages (expected at most %d in a pipeline)",
                                   MAX_STAGES, MAX_STAGES);
            if (!rc) {
                cpo_stage_inst *in = &r->stages[r->n_stages];
                in->def = d;
                in->params = NULL;
                if (!(rc = cpo_params_new(&in->params, d, L->err)))
                    r->n_stages++;
            }
        }
        free_items(items, n);
        if (rc)
            return rc;
    }
    return 0;
}

static int set_stage_params(loader *L)
{
    cpo_config *c = L->cfg;
    cpo_run_spec *r = &c->run;
    /* First the section names (so that an unknown stage is reported at its
     * header), then the keys. */
    for (size_t k = 0; k < L->n_sects; k++) {
        cpo_stage_role role;
        const char *name;
        if (!is_role_section(L->sects[k].name, &role, &name))
            continue;
        const cpo_stage_def *d = cpo_registry_find(c->registry, role, name);
        if (!d)
            return unknown_stage(L, L->sects[k].line, role, name);
        int in_pipeline = 0;
        for (size_t s = 0; s < r->n_stages; s++)
            in_pipeline |= r->stages[s].def == d;
        if (!in_pipeline)
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, L->sects[k].line, 0,
                                 "[%s] is for a stage that is not in the pipeline (expected "
                                 "%s = %s in [strategy], or no such section)",
                                 L->sects[k].name, cpo_role_name(role), name);
    }
    for (size_t i = 0; i < c->n_keys; i++) {
        const cpo_config_key *k = &c->keys[i];
        cpo_stage_role role;
        const char *name;
        if (!is_role_section(k->section, &role, &name))
            continue;
        cpo_stage_inst *in = NULL;
        for (size_t s = 0; s < r->n_stages; s++)
            if (r->stages[s].def->role == role && !strcmp(r->stages[s].def->name, name))
                in = &r->stages[s];
        if (!in) {
            /* A section inih saw but the scan did not (indented header). */
            if (!cpo_registry_find(c->registry, role, name))
                return unknown_stage(L, k->line, role, name);
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                 "[%s] is for a stage that is not in the pipeline (expected "
                                 "%s = %s in [strategy], or no such section)",
                                 k->section, cpo_role_name(role), name);
        }
        char why[1024];
        /* A path parameter is relative to the config's folder. */
        char *path = NULL;
        for (size_t q = 0; q < in->def->n_params; q++)
            if (!strcmp(in->def->params[q].name, k->key) &&
                in->def->params[q].type == CPO_PARAM_PATH && k->value[0] &&
                resolve_path(L, k->value, &path))
                return CPO_ENOMEM;
        int rc = cpo_params_set(in->params, k->key, path ? path : k->value, why, sizeof why);
        free(path);
        if (rc == CPO_ENOTFOUND)
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                 "unknown key \"%s\" in [%s] (expected %s)", k->key, k->section,
                                 why);
        if (rc == CPO_ENOMEM)
            return nomem(L->err);
        if (rc)
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, k->line, 0,
                                 "[%s] %s = \"%s\" is not valid (expected %s)", k->section, k->key,
                                 k->value, why);
    }
    for (size_t s = 0; s < r->n_stages; s++) {
        const char *missing = NULL;
        const cpo_stage_def *d = r->stages[s].def;
        int rc = cpo_params_finish(r->stages[s].params, &missing);
        if (rc == CPO_ENOMEM)
            return nomem(L->err);
        if (rc) {
            const char *help = "";
            for (size_t p = 0; p < d->n_params; p++)
                if (missing && !strcmp(d->params[p].name, missing) && d->params[p].help)
                    help = d->params[p].help;
            char sec[128];
            snprintf(sec, sizeof sec, "%s.%s", cpo_role_name(d->role), d->name);
            long line = section_line(L, sec);
            return cpo_error_set(L->err, CPO_ECONFIG, L->path, line, 0,
                                 "[%s] has no \"%s\" (expected %s = %s)", sec,
                                 missing ? missing : "?", missing ? missing : "?",
                                 help[0] ? help : "a value");
        }
    }
    /* What a pipeline needs (not an env's: the agent replaces it). */
    if ((!L->roles[CPO_ROLE_SCHEDULE] || !L->roles[CPO_ROLE_WEIGH]) &&
        !(L->flags & CPO_CONFIG_LOAD_ENV)) {
        cpo_stage_role role = !L->roles[CPO_ROLE_SCHEDULE] ? CPO_ROLE_SCHEDULE : CPO_ROLE_WEIGH;
        char names[1024];
        stage_names(L, role, names, sizeof names);
        return cpo_error_set(L->err, CPO_ECONFIG, L->path, 0, 0,
                             "[strategy] has no \"%s\" (expected %s = one of: %s)",
                             cpo_role_name(role), cpo_role_name(role), names);
    }
    return 0;
}

/* --- the config ----------------------------------------------------------- */

static int set_names(cpo_config *c, const char *path)
{
    if (!(c->path = strdup(path)))
        return CPO_ENOMEM;
    const char *slash = strrchr(path, '/');
    if (!slash)
        c->dir = strdup(".");
    else if (slash == path)
        c->dir = strdup("/");
    else
        c->dir = dup_n(path, (size_t)(slash - path));
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    c->stem = dup_n(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
    return c->dir && c->stem ? 0 : CPO_ENOMEM;
}

/* Put the overrides in place of the keys as written (or add them). */
static int apply_overrides(loader *L, const cpo_config_key *ov, size_t n)
{
    cpo_config *c = L->cfg;
    for (size_t i = 0; i < n; i++) {
        cpo_config_key *k = NULL;
        for (size_t j = 0; j < c->n_keys && !k; j++)
            if (!strcmp(c->keys[j].section, ov[i].section) && !strcmp(c->keys[j].key, ov[i].key))
                k = &c->keys[j];
        if (!k) {
            if (c->n_keys == L->cap_keys) {
                size_t nc = L->cap_keys ? L->cap_keys * 2 : 32;
                cpo_config_key *nk = realloc(c->keys, nc * sizeof *nk);
                if (!nk)
                    return nomem(L->err);
                c->keys = nk;
                L->cap_keys = nc;
            }
            k = &c->keys[c->n_keys];
            memset(k, 0, sizeof *k);
            if (!(k->section = strdup(ov[i].section)) || !(k->key = strdup(ov[i].key))) {
                free(k->section);
                free(k->key);
                return nomem(L->err);
            }
            c->n_keys++;
        }
        char *v = strdup(ov[i].value);
        if (!v)
            return nomem(L->err);
        free(k->value);
        k->value = v;
        k->line = ov[i].line;
    }
    return 0;
}

/* The fixed sections and their keys, in the order `cpo man config` lists them. */
static const struct {
    const char *name;
    const char *const *keys;
} fixed_sections[] = {{"backtest", &backtest_keys}, {"universe", &universe_keys},
                      {"costs", &costs_keys},       {"strategy", &strategy_keys},
                      {"options", &options_keys},   {"margin", &margin_keys},
                      {"financing", &financing_keys}, {"futures", &futures_keys},
                      {"env", &env_keys},
                      {"report", &report_keys}};

const char *cpo_config_section_keys(const char *section)
{
    for (size_t k = 0; k < sizeof fixed_sections / sizeof fixed_sections[0]; k++)
        if (!strcmp(section, fixed_sections[k].name))
            return *fixed_sections[k].keys;
    return NULL;
}

const char *cpo_config_section_name(size_t k)
{
    return k < sizeof fixed_sections / sizeof fixed_sections[0] ? fixed_sections[k].name : NULL;
}

int cpo_config_load(cpo_config **out, const char *path, cpo_error *err)
{
    return cpo_config_load_with(out, path, NULL, 0, err);
}

int cpo_config_load_with(cpo_config **out, const char *path, const cpo_config_key *overrides,
                         size_t n_overrides, cpo_error *err)
{
    return cpo_config_load_text(out, path, NULL, overrides, n_overrides, err);
}

int cpo_config_load_text(cpo_config **out, const char *path, const char *text,
                         const cpo_config_key *overrides, size_t n_overrides, cpo_error *err)
{
    return cpo_config_load_flags(out, path, text, overrides, n_overrides, 0, err);
}

int cpo_config_load_flags(cpo_config **out, const char *path, const char *text,
                          const cpo_config_key *overrides, size_t n_overrides, unsigned flags,
                          cpo_error *err)
{
    *out = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    L.text = text;
    L.flags = flags;
    cpo_config *c = calloc(1, sizeof *c);
    if (!c)
        return nomem(err);
    L.cfg = c;
    L.path = path;
    L.err = err;
    cpo_market_spec_init(&c->market);
    cpo_run_spec_init(&c->run);
    cpo_env_spec_init(&c->env);
    int rc = set_names(c, path) ? nomem(err) : 0;
    if (!rc)
        rc = read_raw(&L);
    if (!rc)
        rc = text ? cpo_ini_parse_text(path, text, collect, &L, err)
                  : cpo_ini_parse(path, collect, &L, err);
    if (!rc)
        rc = apply_overrides(&L, overrides, n_overrides);
    if (!rc)
        rc = scan_sections(&L);
    if (!rc)
        rc = check_sections(&L);
    if (!rc)
        rc = apply_fixed(&L);
    if (!rc)
        rc = apply_options(&L);
    if (!rc && (c->env.features & CPO_ENV_F_GREEKS) && !c->run.options.enabled)
        rc = cpo_error_set(err, CPO_ECONFIG, path, L.features->line, 0,
                           "features: greeks needs an option book (expected an [options] "
                           "section, or features without greeks)");
    if (!rc)
        rc = load_plugins(&L);
    if (!rc)
        rc = make_stages(&L);
    if (!rc)
        rc = set_stage_params(&L);
    if (!rc)
        rc = check_stage_underlyings(&L);
    if (!rc) {
        /* The grid starts warmup before the run. */
        c->run.start_ms = c->market.start_ms;
        c->run.end_ms = c->market.end_ms;
        /* The earliest time there is: 0001-01-01 (a longer warmup would
         * also overflow int64 ms). */
        const int64_t min_ms = cpo_days_from_civil(1, 1, 1) * CPO_MS_DAY;
        long line = 0;
        for (size_t i = 0; i < c->n_keys; i++)
            if (!strcmp(c->keys[i].section, "backtest") && !strcmp(c->keys[i].key, "warmup"))
                line = c->keys[i].line;
        if (c->warmup_ms > 0 && c->market.start_ms != CPO_TIME_NONE &&
            c->warmup_ms > c->market.start_ms - min_ms)
            rc = cpo_error_set(err, CPO_ECONFIG, path, line, 0,
                               "warmup = \"%s\" reaches before the year 1 (expected a warmup "
                               "that starts on or after 0001-01-01)",
                               cpo_config_get(c, "backtest", "warmup")
                                   ? cpo_config_get(c, "backtest", "warmup") : "");
        else if (c->warmup_ms > 0 && c->market.start_ms != CPO_TIME_NONE)
            c->market.start_ms -= c->warmup_ms;
        else if (c->warmup_ms > 0)
            rc = cpo_error_set(err, CPO_ECONFIG, path, line, 0,
                               "warmup without a start (expected start = DATE: the warmup is "
                               "loaded before it)");
    }
    free(L.raw);
    free(L.line_off);
    for (size_t k = 0; k < L.n_sects; k++)
        free(L.sects[k].name);
    free(L.sects);
    if (rc) {
        cpo_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void cpo_config_free(cpo_config *cfg)
{
    if (!cfg)
        return;
    for (size_t s = 0; s < cfg->run.n_stages; s++)
        cpo_params_free(cfg->run.stages[s].params);
    cfg->run.n_stages = 0;
    for (size_t i = 0; i < cfg->n_universe; i++)
        free(cfg->universe[i].name);
    free(cfg->universe);
    for (size_t i = 0; i < cfg->n_plugins; i++)
        free(cfg->plugins[i]);
    free(cfg->plugins);
    for (size_t i = 0; i < cfg->n_keys; i++) {
        free(cfg->keys[i].section);
        free(cfg->keys[i].key);
        free(cfg->keys[i].value);
    }
    free(cfg->keys);
    cpo_registry_free(cfg->registry);
    free(cfg->brackets);
    for (size_t i = 0; i < cfg->n_rates; i++) {
        free(cfg->rates[i].ts);
        free(cfg->rates[i].rate);
    }
    free(cfg->rates);
    free(cfg->path);
    free(cfg->dir);
    free(cfg->stem);
    free(cfg->data_path);
    free(cfg);
}

const char *cpo_config_get(const cpo_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, section) && !strcmp(cfg->keys[i].key, key))
            return cfg->keys[i].value;
    return NULL;
}

/* --- the universe in a store ----------------------------------------------- */

void cpo_config_symbols_free(char **symbols, size_t n)
{
    if (!symbols)
        return;
    for (size_t i = 0; i < n; i++)
        free(symbols[i]);
    free(symbols);
}

/* The instruments of a kind as "A, B, C" (at most a few). */
static void list_kind(const cpo_dataset *ds, int kind, char *buf, size_t n)
{
    size_t w = 0, shown = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ds->n_instr && w < n; i++) {
        if (kind >= 0 && (int)ds->instr[i].kind != kind)
            continue;
        if (shown == 12) {
            snprintf(buf + w, n - w, ", ...");
            return;
        }
        int m = snprintf(buf + w, n - w, "%s%s", shown ? ", " : "", ds->instr[i].symbol);
        if (m < 0)
            return;
        w += (size_t)m;
        shown++;
    }
    if (!shown)
        snprintf(buf, n, "none in this store");
}

/* The line of a key as written, else of another key of the section (0 if
 * neither). */
static long key_line(const cpo_config *cfg, const char *section, const char *key,
                     const char *fallback)
{
    long line = 0;
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, section) && !strcmp(cfg->keys[i].key, key))
            return cfg->keys[i].line;
    for (size_t i = 0; fallback && i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, section) && !strcmp(cfg->keys[i].key, fallback))
            line = cfg->keys[i].line;
    return line;
}

/* The names of [options] against the store: a chain per underlying, its
 * index instrument, its DVOL index (dvol_scaled). */
static int check_options_data(const cpo_config *cfg, const cpo_dataset *ds, cpo_error *err)
{
    const cpo_option_spec *o = &cfg->run.options;
    for (size_t u = 0; u < o->n_underlyings; u++) {
        const char *U = o->underlying[u];
        char key[CPO_CCY_MAX + 8], list[800];
        size_t w = 0;
        int have = 0;
        list[0] = '\0';
        for (size_t c = 0; c < ds->n_chains; c++) {
            have |= !strcmp(ds->chains[c].underlying, U);
            int m = snprintf(list + w, sizeof list - w, "%s%s", c ? ", " : "",
                             ds->chains[c].underlying);
            if (m > 0 && (size_t)m < sizeof list - w)
                w += (size_t)m;
        }
        if (!have)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path,
                                 key_line(cfg, "options", "underlyings", NULL), 0,
                                 "underlying %s has no option chain in %s (expected a coin with a "
                                 "chain: %s)",
                                 U, cfg->data_path, ds->n_chains ? list : "none in this store");
        snprintf(key, sizeof key, "index.%s", U);
        long f = cpo_dataset_find(ds, o->index[u]);
        if (f < 0 || ds->instr[f].kind == CPO_KIND_OPTION) {
            long line = key_line(cfg, "options", key, "underlyings");
            int given = cpo_config_get(cfg, "options", key) != NULL;
            w = 0;
            list[0] = '\0';
            for (size_t i = 0; i < ds->n_instr; i++) {
                if (ds->instr[i].kind == CPO_KIND_OPTION || strcmp(ds->instr[i].base, U))
                    continue;
                int m = snprintf(list + w, sizeof list - w, "%s%s", w ? ", " : "",
                                 ds->instr[i].symbol);
                if (m > 0 && (size_t)m < sizeof list - w)
                    w += (size_t)m;
            }
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                                 "%s = \"%s\"%s is not in %s (expected a spot or perpetual of "
                                 "%s giving its index: %s)",
                                 key, o->index[u], given ? "" : " (the default)", cfg->data_path,
                                 U, w ? list : "none in this store");
        }
        if (o->surface_mode != CPO_SURFACE_DVOL_SCALED)
            continue;
        int dv = 0;
        w = 0;
        list[0] = '\0';
        for (size_t j = 0; j < ds->n_iv; j++) {
            dv |= !strcmp(ds->iv[j].name, o->dvol[u]);
            int m = snprintf(list + w, sizeof list - w, "%s%s", j ? ", " : "", ds->iv[j].name);
            if (m > 0 && (size_t)m < sizeof list - w)
                w += (size_t)m;
        }
        if (!dv) {
            snprintf(key, sizeof key, "dvol.%s", U);
            long line = key_line(cfg, "options", key, "surface");
            int given = cpo_config_get(cfg, "options", key) != NULL;
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                                 "%s = \"%s\"%s is not in %s (expected a volatility index of "
                                 "the store for surface = dvol_scaled: %s)",
                                 key, o->dvol[u], given ? "" : " (the default)", cfg->data_path,
                                 ds->n_iv ? list : "none in this store");
        }
    }
    return 0;
}

/* The [backtest] benchmark against the store: an instrument with bars. */
static int check_benchmark(const cpo_config *cfg, const cpo_dataset *ds, cpo_error *err)
{
    if (!cfg->benchmark[0])
        return 0;
    long f = cpo_dataset_find(ds, cfg->benchmark);
    if (f >= 0 && ds->bars[f].n > 0)
        return 0;
    char list[800];
    size_t w = 0;
    list[0] = '\0';
    for (size_t i = 0; i < ds->n_instr && w < sizeof list; i++) {
        if (ds->bars[i].n == 0)
            continue;
        int m = snprintf(list + w, sizeof list - w, "%s%s", w ? ", " : "", ds->instr[i].symbol);
        if (m > 0 && (size_t)m < sizeof list - w)
            w += (size_t)m;
    }
    return cpo_error_set(err, CPO_ECONFIG, cfg->path, key_line(cfg, "backtest", "benchmark", NULL),
                         0, "benchmark \"%s\" %s %s (expected an instrument with bars: %s)",
                         cfg->benchmark, f >= 0 ? "has no bars in" : "is not in", cfg->data_path,
                         w ? list : "none in this store");
}

/* The leverage of [costs] against the first bracket of every margined
 * instrument of the run that has a table ([margin] brackets). */
static int check_leverage(const cpo_config *cfg, const cpo_dataset *ds, const long *from,
                          size_t n_from, cpo_error *err)
{
    const cpo_margin_spec *m = &cfg->run.margin;
    size_t n = from ? n_from : ds->n_instr;
    for (size_t k = 0; k < n && m->n_brackets; k++) {
        const cpo_instrument *in = &ds->instr[from ? (size_t)from[k] : k];
        if (in->kind != CPO_KIND_PERP && in->kind != CPO_KIND_FUTURE)
            continue;
        const cpo_brackets *t = cpo_brackets_find(m->brackets, m->n_brackets, in->symbol,
                                                  in->settle == CPO_SETTLE_INVERSE);
        double lev = 1.0 / cfg->run.costs.kind[in->kind].imr;
        if (!t || lev <= t->b[0].max_leverage * (1.0 + 1e-12))
            continue;
        long line = key_line(cfg, "costs", "perp_leverage", 0);
        if (!line)
            line = key_line(cfg, "costs", "perp_imr", 0);
        if (!line)
            line = key_line(cfg, "margin", "brackets", 0);
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                             "%s: leverage %.10g is above the %.10g its leverage brackets allow "
                             "(expected perp_leverage <= %.10g)",
                             in->symbol, lev, t->b[0].max_leverage, t->b[0].max_leverage);
    }
    return 0;
}

/* The universe as it is made: out[k] the symbol of instrument from[k] of
 * the store, named by cfg->universe[by[k]]. */
typedef struct uni_out {
    char **out;
    long *from;
    size_t *by;
} uni_out;

/* Instrument f of ds, named by universe entry ui, as the next of the
 * universe (*k), once. */
static int add_one(const cpo_config *cfg, const cpo_dataset *ds, size_t ui, long f,
                   const uni_out *o, size_t *k, cpo_error *err)
{
    const cpo_config_name *u = &cfg->universe[ui];
    for (size_t j = 0; j < *k; j++)
        if (o->from[j] == f) {
            const cpo_config_name *w = &cfg->universe[o->by[j]];
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, u->line, 0,
                                 "%s is in the universe twice (as \"%s\" on line %ld and "
                                 "\"%s\"; expected each instrument once)",
                                 ds->instr[f].symbol, w->name, w->line, u->name);
        }
    o->from[*k] = f;
    o->by[*k] = ui;
    char **out = o->out;
    if (!(out[*k] = strdup(ds->instr[f].symbol)))
        return nomem(err);
    (*k)++;
    return 0;
}

/* futures = COIN: every dated future of the coin (its underlying, else its
 * base) in ds that is alive in the run: expiring after the start and with
 * a bar before the end; by expiry, then symbol.  None: nothing added. */
static int add_coin_futures(const cpo_config *cfg, const cpo_dataset *ds, size_t ui,
                            const uni_out *o, size_t *k, cpo_error *err)
{
    const cpo_config_name *u = &cfg->universe[ui];
    char **out = o->out;
    long *from = o->from;
    int64_t start = cfg->market.start_ms, end = cfg->market.end_ms;
    size_t k0 = *k;
    for (size_t i = 0; i < ds->n_instr; i++) {
        const cpo_instrument *in = &ds->instr[i];
        const char *coin = in->underlying[0] ? in->underlying : in->base;
        if (in->kind != CPO_KIND_FUTURE || strcmp(coin, u->name) || ds->bars[i].n == 0)
            continue;
        if (start != CPO_TIME_NONE && in->expiry_ms > 0 && in->expiry_ms <= start)
            continue;
        if (end != CPO_TIME_NONE && ds->bars[i].ts[0] > end)
            continue;
        int rc = add_one(cfg, ds, ui, (long)i, o, k, err);
        if (rc)
            return rc;
    }
    /* by expiry, then symbol (insertion: a handful) */
    for (size_t a = k0 + 1; a < *k; a++)
        for (size_t b = a; b > k0; b--) {
            const cpo_instrument *x = &ds->instr[from[b - 1]], *y = &ds->instr[from[b]];
            if (x->expiry_ms < y->expiry_ms ||
                (x->expiry_ms == y->expiry_ms && strcmp(x->symbol, y->symbol) <= 0))
                break;
            long tf = from[b - 1];
            from[b - 1] = from[b];
            from[b] = tf;
            char *ts = out[b - 1];
            out[b - 1] = out[b];
            out[b] = ts;
        }
    if (*k == k0)
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, u->line, 0,
                             "futures \"%s\": no dated future of %s in %s is alive in the run "
                             "(expected futures that expire after the start and have bars "
                             "before the end, or a future's symbol)",
                             u->name, u->name, cfg->data_path);
    return 0;
}

int cpo_config_universe(const cpo_config *cfg, const cpo_dataset *ds, char ***symbols, size_t *n,
                        cpo_error *err)
{
    *symbols = NULL;
    *n = 0;
    const cpo_option_spec *o = &cfg->run.options;
    int rc = 0;
    if (o->enabled && (rc = check_options_data(cfg, ds, err)))
        return rc;
    if ((rc = check_benchmark(cfg, ds, err)))
        return rc;
    if (!cfg->n_universe)
        return check_leverage(cfg, ds, NULL, 0, err);
    /* The universe, then the options' index instruments not in it; a
     * coin under futures may stand for every future of the store. */
    size_t n_fut = 0;
    for (size_t i = 0; i < ds->n_instr; i++)
        n_fut += ds->instr[i].kind == CPO_KIND_FUTURE;
    size_t cap = cfg->n_universe + n_fut + (o->enabled ? o->n_underlyings : 0);
    char **out = calloc(cap, sizeof *out);
    long *from = calloc(cap, sizeof *from);
    size_t *by = calloc(cap, sizeof *by);
    const uni_out uo = {out, from, by};
    size_t k = 0;
    if (!out || !from || !by) {
        rc = nomem(err);
        goto cleanup;
    }
    for (size_t ui = 0; ui < cfg->n_universe; ui++) {
        const cpo_config_name *u = &cfg->universe[ui];
        const char *what = u->kind < 0                  ? "symbols"
                           : u->kind == CPO_KIND_SPOT   ? "spot"
                           : u->kind == CPO_KIND_FUTURE ? "futures"
                                                        : "perp";
        long f = cpo_dataset_find(ds, u->name);
        if (f < 0 && u->kind == CPO_KIND_FUTURE) {
            /* A coin: its futures alive in the period, by expiry. */
            if ((rc = add_coin_futures(cfg, ds, ui, &uo, &k, err)))
                goto cleanup;
            continue;
        }
        if (f >= 0 && u->kind >= 0 && (int)ds->instr[f].kind != u->kind) {
            rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, u->line, 0,
                               "%s \"%s\" is a %s instrument in %s (expected a %s instrument or "
                               "its coin)",
                               what, u->name, cpo_kind_name(ds->instr[f].kind), cfg->data_path,
                               what);
            goto cleanup;
        }
        if (f < 0 && u->kind >= 0) {
            /* A coin: the one instrument of this kind with that base. */
            for (size_t i = 0; i < ds->n_instr; i++) {
                if ((int)ds->instr[i].kind != u->kind || strcmp(ds->instr[i].base, u->name))
                    continue;
                if (f >= 0) {
                    rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, u->line, 0,
                                       "%s \"%s\" matches both %s and %s in %s (expected one "
                                       "symbol: name it)",
                                       what, u->name, ds->instr[f].symbol, ds->instr[i].symbol,
                                       cfg->data_path);
                    goto cleanup;
                }
                f = (long)i;
            }
        }
        if (f < 0) {
            char list[800];
            list_kind(ds, u->kind, list, sizeof list);
            rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, u->line, 0,
                               "%s \"%s\" is not in %s (expected one of: %s)", what, u->name,
                               cfg->data_path, list);
            goto cleanup;
        }
        if ((rc = add_one(cfg, ds, ui, f, &uo, &k, err)))
            goto cleanup;
    }
    for (size_t u = 0; o->enabled && u < o->n_underlyings; u++) {
        long f = cpo_dataset_find(ds, o->index[u]); /* there: check_options_data */
        int have = 0;
        for (size_t j = 0; j < k; j++)
            have |= from[j] == f;
        if (have)
            continue;
        from[k] = f;
        if (!(out[k++] = strdup(ds->instr[f].symbol))) {
            rc = nomem(err);
            goto cleanup;
        }
    }
    rc = check_leverage(cfg, ds, from, k, err);
cleanup:
    free(from);
    free(by);
    if (rc) {
        if (out)
            cpo_config_symbols_free(out, cap);
        return rc;
    }
    *symbols = out;
    *n = k;
    return 0;
}
