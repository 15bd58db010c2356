/*
 * sweep.c - parameter grids over a config: the [sweep] and [walkforward]
 * sections read and checked, grid points made into configs, a pool of
 * threads running them on one shared (read-only) market, the ranking, the
 * walk-forward windows and the chained out-of-sample equity.
 *
 * Determinism: a task's record depends only on the task (its point's
 * config, its period and the market), each worker writes only the
 * records of the tasks it took, and ranking sorts by (score, point), a
 * total order, so any number of threads gives the same bytes.
 */
#define _DEFAULT_SOURCE
#include "cpo/sweep.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpo/run.h"
#include "cpo/time.h"
#include "params.h"

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

/* --- objectives ------------------------------------------------------------ */

static const char *const obj_names[CPO_OBJ_COUNT] = {
    "sharpe", "cagr", "total_return", "max_drawdown", "volatility", "calmar", "final_equity"};

const char *cpo_objective_name(cpo_objective o)
{
    return (unsigned)o < CPO_OBJ_COUNT ? obj_names[o] : "?";
}

const char *cpo_objective_names(void)
{
    return "sharpe, cagr, total_return, max_drawdown, volatility, calmar, final_equity";
}

int cpo_objective_parse(const char *name, cpo_objective *out)
{
    for (int o = 0; o < CPO_OBJ_COUNT; o++)
        if (!strcmp(name, obj_names[o])) {
            *out = (cpo_objective)o;
            return 0;
        }
    return CPO_ENOTFOUND;
}

double cpo_sweep_score(const cpo_sweep_result *r, cpo_objective o)
{
    if (r->status || !r->done)
        return NAN;
    switch (o) {
    case CPO_OBJ_SHARPE: return r->sharpe;
    case CPO_OBJ_CAGR: return r->cagr;
    case CPO_OBJ_TOTAL_RETURN: return r->total_return;
    case CPO_OBJ_MAX_DRAWDOWN: return -r->max_drawdown;
    case CPO_OBJ_VOLATILITY: return -r->annual_vol;
    case CPO_OBJ_CALMAR: return r->calmar;
    case CPO_OBJ_FINAL_EQUITY: return r->final_equity;
    default: return NAN;
    }
}

/* --- the [sweep] section --------------------------------------------------- */

/* Keys of [backtest] a sweep may vary: the others shape the market. */
static const char *const backtest_vary[] = {"capital", "currency", "collateral", "seed",
                                            "cash_buffer"};

typedef struct sbuf {
    char *b;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int m = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (m < 0 || s->oom) {
        va_end(ap2);
        return;
    }
    if (s->n + (size_t)m + 1 > s->cap) {
        size_t nc = (s->n + (size_t)m + 1) * 2;
        char *nb = realloc(s->b, nc);
        if (!nb) {
            s->oom = 1;
            va_end(ap2);
            return;
        }
        s->b = nb;
        s->cap = nc;
    }
    vsnprintf(s->b + s->n, s->cap - s->n, fmt, ap2);
    va_end(ap2);
    s->n += (size_t)m;
}

/* "backtest.{capital, ...}, costs.{...}, weigh.fixed.{weights}" */
static char *valid_keys(const cpo_config *cfg)
{
    sbuf s = {0};
    sb_add(&s, "backtest.{");
    for (size_t k = 0; k < sizeof backtest_vary / sizeof backtest_vary[0]; k++)
        sb_add(&s, "%s%s", k ? ", " : "", backtest_vary[k]);
    sb_add(&s, "}, costs.{%s}", cpo_config_section_keys("costs"));
    for (size_t st = 0; st < cfg->run.n_stages; st++) {
        const cpo_stage_def *d = cfg->run.stages[st].def;
        if (!d->n_params)
            continue;
        sb_add(&s, ", %s.%s.{", cpo_role_name(d->role), d->name);
        for (size_t p = 0; p < d->n_params; p++)
            sb_add(&s, "%s%s", p ? ", " : "", d->params[p].name);
        sb_add(&s, "}");
    }
    if (s.oom) {
        free(s.b);
        return NULL;
    }
    return s.b;
}

static int bad_key(const cpo_config *cfg, const cpo_config_key *k, const char *why,
                   cpo_error *err)
{
    char *keys = valid_keys(cfg);
    if (!keys)
        return nomem(err);
    int rc;
    if (why)
        rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                           "[sweep] %s cannot vary in a sweep (it sets the %s, which every "
                           "point shares; expected one of: %s)",
                           k->key, why, keys);
    else
        rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                           "unknown key \"%s\" in [sweep] (expected SECTION.KEY, one of: %s)",
                           k->key, keys);
    free(keys);
    return rc;
}

/* Check the name of a [sweep] key; split it into section and key. */
static int check_axis_name(const cpo_config *cfg, const cpo_config_key *k, cpo_sweep_axis *ax,
                           cpo_error *err)
{
    const char *dot = strrchr(k->key, '.');
    if (!dot || dot == k->key || !dot[1])
        return bad_key(cfg, k, NULL, err);
    size_t sl = (size_t)(dot - k->key);
    char *sec = malloc(sl + 1);
    if (!sec)
        return nomem(err);
    memcpy(sec, k->key, sl);
    sec[sl] = '\0';
    const char *key = dot + 1;
    int ok = 0;
    const char *why = NULL;
    if (!strcmp(sec, "backtest")) {
        for (size_t i = 0; i < sizeof backtest_vary / sizeof backtest_vary[0]; i++)
            ok |= !strcmp(key, backtest_vary[i]);
        if (!ok && cpo_config_section_has("backtest", key))
            why = "market data or the outputs";
    } else if (!strcmp(sec, "costs")) {
        ok = cpo_config_section_has("costs", key);
    } else if (!strcmp(sec, "universe")) {
        if (cpo_config_section_has("universe", key))
            why = "universe of the market data";
    } else if (!strcmp(sec, "strategy")) {
        if (cpo_config_section_has("strategy", key))
            why = "pipeline";
    } else {
        for (size_t st = 0; st < cfg->run.n_stages && !ok; st++) {
            const cpo_stage_def *d = cfg->run.stages[st].def;
            const char *rn = cpo_role_name(d->role);
            size_t rl = strlen(rn);
            if (strncmp(sec, rn, rl) || sec[rl] != '.' || strcmp(sec + rl + 1, d->name))
                continue;
            for (size_t p = 0; p < d->n_params; p++)
                ok |= !strcmp(d->params[p].name, key);
        }
    }
    if (!ok) {
        free(sec);
        return bad_key(cfg, k, why, err);
    }
    ax->section = sec;
    if (!(ax->key = strdup(key)) || !(ax->name = strdup(k->key)))
        return nomem(err);
    ax->line = k->line;
    return 0;
}

/* A decimal number "[-+]digits[.digits]": its digits as an integer and
 * its number of decimals.  0 if s is not one. */
static int parse_dec(const char *s, size_t n, int64_t *mant, int *dec)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    int64_t v = 0;
    int digits = 0, d = 0, frac = 0;
    for (; i < n; i++) {
        if (s[i] == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (!isdigit((unsigned char)s[i]))
            return 0;
        if (++digits > 17)
            return 0;
        v = v * 10 + (s[i] - '0');
        d += frac;
    }
    if (!digits || (frac && !d) || d > 12)
        return 0;
    *mant = neg ? -v : v;
    *dec = d;
    return 1;
}

static int64_t pow10i(int d)
{
    int64_t p = 1;
    while (d-- > 0)
        p *= 10;
    return p;
}

/* Scale a mantissa of `dec` decimals to D decimals; 0 on overflow. */
static int rescale(int64_t m, int dec, int D, int64_t *out)
{
    int64_t f = pow10i(D - dec);
    if (m > INT64_MAX / 10 / f || m < -(INT64_MAX / 10 / f))
        return 0;
    *out = m * f;
    return 1;
}

/* The text of v (D decimals) with d decimals (v is a multiple of 10^(D-d)). */
static void fmt_dec(char *buf, size_t n, int64_t v, int D, int d)
{
    v /= pow10i(D - d);
    int neg = v < 0;
    uint64_t a = neg ? (uint64_t)(-v) : (uint64_t)v, p = (uint64_t)pow10i(d);
    if (d == 0)
        snprintf(buf, n, "%s%llu", neg ? "-" : "", (unsigned long long)a);
    else
        snprintf(buf, n, "%s%llu.%0*llu", neg ? "-" : "", (unsigned long long)(a / p), d,
                 (unsigned long long)(a % p));
}

static int add_value(cpo_sweep_axis *ax, const char *v, size_t len, cpo_error *err)
{
    /* Room grows by doubling (8, 16, 32, ...): a range may give up to
     * CPO_SWEEP_MAX_POINTS values, and growing one at a time copied the
     * array each time (found by fuzz_config: 122,000 values, 29 s). */
    size_t n = ax->n_values;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? 8 : 2 * n;
        char **nv = realloc(ax->values, cap * sizeof *nv);
        if (!nv)
            return nomem(err);
        ax->values = nv;
    }
    char *s = malloc(len + 1);
    if (!s)
        return nomem(err);
    memcpy(s, v, len);
    s[len] = '\0';
    ax->values[ax->n_values++] = s;
    return 0;
}

/* One item of a value list: a range "start:stop:step" (three decimal
 * numbers) or a value as it is. */
static int parse_item(const cpo_config *cfg, cpo_sweep_axis *ax, const char *p, size_t len,
                      cpo_error *err)
{
    const char *c1 = memchr(p, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
    const char *c3 = c2 ? memchr(c2 + 1, ':', len - (size_t)(c2 + 1 - p)) : NULL;
    int64_t ms[3];
    int ds[3];
    if (!c2 || c3 || !parse_dec(p, (size_t)(c1 - p), &ms[0], &ds[0]) ||
        !parse_dec(c1 + 1, (size_t)(c2 - c1 - 1), &ms[1], &ds[1]) ||
        !parse_dec(c2 + 1, len - (size_t)(c2 + 1 - p), &ms[2], &ds[2]))
        return add_value(ax, p, len, err);
    int D = ds[0];
    for (int i = 1; i < 3; i++)
        if (ds[i] > D)
            D = ds[i];
    int d = ds[0] > ds[2] ? ds[0] : ds[2];
    int64_t S, E, P;
    int ok = rescale(ms[0], ds[0], D, &S) && rescale(ms[1], ds[1], D, &E) &&
             rescale(ms[2], ds[2], D, &P);
    if (!ok || S > E || P <= 0)
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, ax->line, 0,
                             "[sweep] %s = \"%.*s\" is not a range (expected start:stop:step "
                             "with start <= stop and step > 0)",
                             ax->name, (int)len, p);
    uint64_t n = (uint64_t)(E - S) / (uint64_t)P + 1;
    if (n > CPO_SWEEP_MAX_POINTS)
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, ax->line, 0,
                             "[sweep] %s = \"%.*s\" gives %llu values (expected at most %u)",
                             ax->name, (int)len, p, (unsigned long long)n, CPO_SWEEP_MAX_POINTS);
    for (uint64_t k = 0; k < n; k++) {
        char buf[64];
        fmt_dec(buf, sizeof buf, S + (int64_t)k * P, D, d);
        int rc = add_value(ax, buf, strlen(buf), err);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct {
    const char *s;
    size_t i;
} ranked;

static int by_text_then_place(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* *first = the smallest i with v[i] equal to an earlier v[j], SIZE_MAX if
 * none.  Sorted, not pairwise: a range gives up to CPO_SWEEP_MAX_POINTS
 * values (found by fuzz_config: 168,000 values compared pairwise, 18 s). */
static int first_repeat(char *const *v, size_t n, size_t *first, cpo_error *err)
{
    *first = SIZE_MAX;
    if (n < 2)
        return 0;
    ranked *r = malloc(n * sizeof *r);
    if (!r)
        return nomem(err);
    for (size_t i = 0; i < n; i++)
        r[i] = (ranked){v[i], i};
    qsort(r, n, sizeof *r, by_text_then_place);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(r[i].s, r[i - 1].s) && r[i].i < *first)
            *first = r[i].i;
    free(r);
    return 0;
}

static int parse_values(const cpo_config *cfg, const cpo_config_key *k, cpo_sweep_axis *ax,
                        cpo_error *err)
{
    const char *p = k->value;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == p)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                                 "[sweep] %s = \"%s\" is not valid (expected a comma-separated "
                                 "list of values, or a range start:stop:step)",
                                 k->key, k->value);
        int rc = parse_item(cfg, ax, p, (size_t)(end - p), err);
        if (rc)
            return rc;
        if (!*e)
            break;
        p = e + 1;
    }
    size_t dup = SIZE_MAX;
    int rc = first_repeat(ax->values, ax->n_values, &dup, err);
    if (!rc && dup != SIZE_MAX)
        rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                           "[sweep] %s gives the value \"%s\" twice (expected each value once)",
                           k->key, ax->values[dup]);
    return rc;
}

/* --- the [walkforward] section -------------------------------------------- */

static int wf_bad(const cpo_config *cfg, const cpo_config_key *k, const char *expected,
                  cpo_error *err)
{
    return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                         "[walkforward] %s = \"%s\" is not valid (expected %s)", k->key,
                         k->value, expected);
}

static int wf_key_line(const cpo_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, "walkforward") && !strcmp(cfg->keys[i].key, key))
            return (int)cfg->keys[i].line;
    return 0;
}

static int parse_walkforward(cpo_sweep *sw, cpo_error *err)
{
    const cpo_config *cfg = sw->cfg;
    long sect_line = 0;
    int have_train = 0, have_test = 0, have_cpcv_key = 0;
    sw->wf.mode = CPO_WF_ROLLING;
    sw->wf.objective = CPO_OBJ_SHARPE;
    sw->wf.groups = 6;
    sw->wf.test_groups = 2;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const cpo_config_key *k = &cfg->keys[i];
        if (strcmp(k->section, "walkforward"))
            continue;
        sw->has_walkforward = 1;
        if (!sect_line)
            sect_line = k->line;
        if (!strcmp(k->key, "train") || !strcmp(k->key, "test")) {
            int64_t ms;
            if (cpo_duration_parse(k->value, &ms) || ms <= 0)
                return wf_bad(cfg, k, "a duration like 180d, 30d or 12h", err);
            if (k->key[1] == 'r') {
                sw->wf.train_ms = ms;
                have_train = 1;
            } else {
                sw->wf.test_ms = ms;
                have_test = 1;
            }
        } else if (!strcmp(k->key, "purge") || !strcmp(k->key, "embargo")) {
            int64_t ms;
            if (cpo_duration_parse(k->value, &ms) || ms < 0)
                return wf_bad(cfg, k, "a duration like 0, 5d or 12h", err);
            *(k->key[0] == 'p' ? &sw->wf.purge_ms : &sw->wf.embargo_ms) = ms;
            have_cpcv_key = 1;
        } else if (!strcmp(k->key, "groups") || !strcmp(k->key, "test_groups")) {
            char *end;
            errno = 0;
            long v = strtol(k->value, &end, 10);
            if (end == k->value || *end || errno || v < 1 || v > CPO_STATS_CPCV_MAX_GROUPS) {
                char exp[96];
                snprintf(exp, sizeof exp, "a whole number in [1, %d]", CPO_STATS_CPCV_MAX_GROUPS);
                return wf_bad(cfg, k, exp, err);
            }
            *(k->key[0] == 'g' ? &sw->wf.groups : &sw->wf.test_groups) = (size_t)v;
            have_cpcv_key = 1;
        } else if (!strcmp(k->key, "mode")) {
            if (!strcmp(k->value, "rolling"))
                sw->wf.mode = CPO_WF_ROLLING;
            else if (!strcmp(k->value, "expanding"))
                sw->wf.mode = CPO_WF_EXPANDING;
            else if (!strcmp(k->value, "cpcv"))
                sw->wf.mode = CPO_WF_CPCV;
            else
                return wf_bad(cfg, k, "rolling, expanding or cpcv", err);
        } else if (!strcmp(k->key, "objective")) {
            if (cpo_objective_parse(k->value, &sw->wf.objective)) {
                char exp[256];
                snprintf(exp, sizeof exp, "one of: %s", cpo_objective_names());
                return wf_bad(cfg, k, exp, err);
            }
        } else {
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                                 "unknown key \"%s\" in [walkforward] (expected one of: train, "
                                 "test, mode, objective, groups, test_groups, purge, embargo)",
                                 k->key);
        }
    }
    if (sw->has_walkforward && sw->wf.mode == CPO_WF_CPCV) {
        if (have_train || have_test)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path,
                                 wf_key_line(cfg, have_train ? "train" : "test"), 0,
                                 "[walkforward] %s is not used with mode = cpcv (expected groups, "
                                 "test_groups, purge and embargo)",
                                 have_train ? "train" : "test");
        if (sw->wf.test_groups >= sw->wf.groups || sw->wf.groups < 2)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, wf_key_line(cfg, "test_groups"), 0,
                                 "[walkforward] test_groups = %zu with groups = %zu (expected "
                                 "1 <= test_groups < groups)",
                                 sw->wf.test_groups, sw->wf.groups);
        cpo_objective o = sw->wf.objective;
        if (o != CPO_OBJ_SHARPE && o != CPO_OBJ_CAGR && o != CPO_OBJ_TOTAL_RETURN &&
            o != CPO_OBJ_VOLATILITY)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, wf_key_line(cfg, "objective"), 0,
                                 "[walkforward] objective = %s is not available with mode = cpcv "
                                 "(expected sharpe, cagr, total_return or volatility: a "
                                 "score of non-adjacent groups)",
                                 cpo_objective_name(o));
        return 0;
    }
    if (have_cpcv_key) {
        const char *const ks[] = {"groups", "test_groups", "purge", "embargo"};
        int line = 0;
        for (size_t q = 0; q < 4 && !line; q++)
            line = wf_key_line(cfg, ks[q]);
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                             "[walkforward] groups, test_groups, purge and embargo are for "
                             "mode = cpcv (expected mode = cpcv, or train and test)");
    }
    if (sw->has_walkforward && (!have_train || !have_test))
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, sect_line, 0,
                             "[walkforward] has no \"%s\" (expected %s = a duration like %s)",
                             have_train ? "test" : "train", have_train ? "test" : "train",
                             have_train ? "30d" : "180d");
    return 0;
}

/* [overfit]: blocks = S of the CSCV (an even number in [2, 20]; 16). */
static int parse_overfit(cpo_sweep *sw, cpo_error *err)
{
    const cpo_config *cfg = sw->cfg;
    sw->cscv_blocks = 16;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const cpo_config_key *k = &cfg->keys[i];
        if (strcmp(k->section, "overfit"))
            continue;
        if (strcmp(k->key, "blocks"))
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                                 "unknown key \"%s\" in [overfit] (expected blocks)", k->key);
        char *end;
        errno = 0;
        long v = strtol(k->value, &end, 10);
        if (end == k->value || *end || errno || v < 2 || v > CPO_STATS_CSCV_MAX_BLOCKS || v % 2)
            return cpo_error_set(err, CPO_ECONFIG, cfg->path, k->line, 0,
                                 "[overfit] blocks = \"%s\" is not valid (expected an even "
                                 "number in [2, %d])",
                                 k->value, CPO_STATS_CSCV_MAX_BLOCKS);
        sw->cscv_blocks = (size_t)v;
    }
    return 0;
}

/* --- the sweep ------------------------------------------------------------- */

void cpo_sweep_free(cpo_sweep *sw)
{
    if (!sw)
        return;
    for (size_t a = 0; a < sw->n_axes; a++) {
        cpo_sweep_axis *ax = &sw->axes[a];
        free(ax->name);
        free(ax->section);
        free(ax->key);
        for (size_t v = 0; v < ax->n_values; v++)
            free(ax->values[v]);
        free(ax->values);
    }
    free(sw->axes);
    free(sw);
}

int cpo_sweep_load(cpo_sweep **out, const cpo_config *cfg, cpo_error *err)
{
    *out = NULL;
    cpo_sweep *sw = calloc(1, sizeof *sw);
    if (!sw)
        return nomem(err);
    sw->cfg = cfg;
    int rc = 0;
    for (size_t i = 0; i < cfg->n_keys && !rc; i++) {
        const cpo_config_key *k = &cfg->keys[i];
        if (strcmp(k->section, "sweep"))
            continue;
        cpo_sweep_axis *na = realloc(sw->axes, (sw->n_axes + 1) * sizeof *na);
        if (!na) {
            rc = nomem(err);
            break;
        }
        sw->axes = na;
        memset(&na[sw->n_axes], 0, sizeof *na);
        cpo_sweep_axis *ax = &na[sw->n_axes++];
        if (!(rc = check_axis_name(cfg, k, ax, err)))
            rc = parse_values(cfg, k, ax, err);
    }
    if (!rc && !sw->n_axes)
        rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, 0, 0,
                           "no [sweep] section (expected [sweep] with SECTION.KEY = values, "
                           "e.g. costs.slippage_bps = 0:10:2)");
    if (!rc) {
        uint64_t n = 1;
        for (size_t a = 0; a < sw->n_axes && !rc; a++) {
            n *= sw->axes[a].n_values;
            if (n > CPO_SWEEP_MAX_POINTS)
                rc = cpo_error_set(err, CPO_ECONFIG, cfg->path, sw->axes[a].line, 0,
                                   "[sweep] the grid has more than %u points at %s (expected "
                                   "fewer values)",
                                   CPO_SWEEP_MAX_POINTS, sw->axes[a].name);
        }
        sw->n_points = (size_t)n;
    }
    if (!rc)
        rc = parse_walkforward(sw, err);
    if (!rc)
        rc = parse_overfit(sw, err);
    /* Every value once in the config, so that a bad one is refused before
     * any backtest, at its [sweep] line. */
    for (size_t a = 0; a < sw->n_axes && !rc; a++) {
        const cpo_sweep_axis *ax = &sw->axes[a];
        for (size_t v = 0; v < ax->n_values && !rc; v++) {
            cpo_config_key ov = {ax->section, ax->key, ax->values[v], ax->line};
            cpo_config *pc = NULL;
            rc = cpo_config_load_with(&pc, cfg->path, &ov, 1, err);
            cpo_config_free(pc);
        }
    }
    if (rc) {
        cpo_sweep_free(sw);
        return rc;
    }
    *out = sw;
    return 0;
}

size_t cpo_sweep_value_index(const cpo_sweep *sw, size_t p, size_t a)
{
    for (size_t b = sw->n_axes; b-- > a + 1;)
        p /= sw->axes[b].n_values;
    return p % sw->axes[a].n_values;
}

const char *cpo_sweep_value(const cpo_sweep *sw, size_t p, size_t a)
{
    return sw->axes[a].values[cpo_sweep_value_index(sw, p, a)];
}

int cpo_sweep_point_config(cpo_config **out, const cpo_sweep *sw, size_t p, cpo_error *err)
{
    *out = NULL;
    cpo_config_key *ov = malloc(sw->n_axes * sizeof *ov);
    if (!ov)
        return nomem(err);
    for (size_t a = 0; a < sw->n_axes; a++) {
        const cpo_sweep_axis *ax = &sw->axes[a];
        ov[a].section = ax->section;
        ov[a].key = ax->key;
        ov[a].value = (char *)cpo_sweep_value(sw, p, a);
        ov[a].line = ax->line;
    }
    int rc = cpo_config_load_with(out, sw->cfg->path, ov, sw->n_axes, err);
    free(ov);
    return rc;
}

/* --- one backtest ------------------------------------------------------------ */

int cpo_sweep_record(cpo_sweep_result *rec, const cpo_result *r, int64_t bar_ms,
                     cpo_error *err)
{
    cpo_run_metrics mt;
    int rc = cpo_run_metrics_compute(&mt, r, bar_ms, NULL, err);
    if (rc)
        return rc;
    rec->total_return = mt.total_return;
    rec->cagr = mt.annual_return;
    rec->annual_vol = mt.annual_volatility;
    rec->sharpe = mt.sharpe;
    rec->max_drawdown = mt.max_drawdown;
    rec->calmar = mt.max_drawdown > 0.0 ? mt.annual_return / mt.max_drawdown : NAN;
    rec->final_equity = mt.final_equity;
    rec->fees = mt.pnl[CPO_PNL_FEES];
    rec->slippage = mt.pnl[CPO_PNL_SLIPPAGE];
    rec->funding = mt.pnl[CPO_PNL_FUNDING];
    rec->avg_gross = mt.avg_gross;
    rec->n_steps = mt.n_steps;
    rec->n_trades = mt.n_trades;
    rec->n_rebalances = mt.n_rebalances;
    rec->n_liquidations = mt.n_liquidations;
    rec->periods_per_year = mt.periods_per_year;
    double gross = mt.final_equity - mt.pnl[CPO_PNL_FEES] - mt.pnl[CPO_PNL_SLIPPAGE];
    rec->gross_return = r->capital > 0.0 ? gross / r->capital - 1.0 : NAN;
    rec->gross_cagr = gross > 0.0 && mt.n_steps
                          ? pow(gross / r->capital, mt.periods_per_year / (double)mt.n_steps) - 1.0
                          : NAN;
    double *ret = malloc((r->n_steps ? r->n_steps : 1) * sizeof *ret);
    if (!ret)
        return nomem(err);
    for (size_t t = 0; t < r->n_steps; t++) {
        double prev = t ? r->equity[t - 1] : r->capital;
        ret[t] = prev != 0.0 ? r->equity[t] / prev - 1.0 : NAN;
    }
    cpo_stats_moments(ret, r->n_steps, &rec->sharpe_bar, &rec->skew, &rec->kurtosis);
    free(ret);
    return 0;
}

void cpo_sweep_block_layout(const cpo_sweep *sw, size_t T, int64_t bar_ms, size_t *n,
                            size_t *lo, size_t *hi)
{
    *n = 0;
    if (sw->has_walkforward && sw->wf.mode == CPO_WF_CPCV) {
        size_t G = sw->wf.groups;
        size_t P = bar_ms > 0 ? (size_t)((sw->wf.purge_ms + bar_ms - 1) / bar_ms) : 0;
        size_t E = bar_ms > 0 ? (size_t)((sw->wf.embargo_ms + bar_ms - 1) / bar_ms) : 0;
        if (G > CPO_STATS_CPCV_MAX_GROUPS || T < G)
            return;
        for (size_t g = 0; g < G; g++) {
            size_t a = cpo_stats_group_start(g, T, G), b = cpo_stats_group_start(g + 1, T, G);
            size_t e = E < b - a ? E : b - a, p = P < b - a - e ? P : b - a - e;
            lo[3 * g] = a;
            hi[3 * g] = lo[3 * g + 1] = a + e;
            hi[3 * g + 1] = lo[3 * g + 2] = b - p;
            hi[3 * g + 2] = b;
        }
        *n = 3 * G;
        return;
    }
    size_t S = sw->cscv_blocks;
    if (S < 2 || S > CPO_SWEEP_MAX_BLOCKS || T < 2 * S)
        return;
    size_t drop = T % S, len = T / S;
    for (size_t k = 0; k < S; k++) {
        lo[k] = drop + k * len;
        hi[k] = lo[k] + len;
    }
    *n = S;
}

void cpo_sweep_blocks(cpo_sweep_result *rec, const cpo_sweep *sw, const cpo_result *r,
                      int64_t bar_ms)
{
    size_t n = 0, lo[CPO_SWEEP_MAX_BLOCKS], hi[CPO_SWEEP_MAX_BLOCKS];
    cpo_sweep_block_layout(sw, r->n_steps, bar_ms, &n, lo, hi);
    memset(rec->blocks, 0, sizeof rec->blocks);
    rec->n_blocks = (uint32_t)n;
    for (size_t k = 0; k < n; k++)
        for (size_t t = lo[k]; t < hi[k]; t++) {
            double prev = t ? r->equity[t - 1] : r->capital;
            cpo_stats_block_push(&rec->blocks[k], prev != 0.0 ? r->equity[t] / prev - 1.0 : NAN);
        }
}

/* Run one task into its record; returns non-zero only for out of memory. */
static int run_task(const cpo_sweep *sw, const cpo_market *m, const cpo_sweep_task *t,
                    const volatile sig_atomic_t *cancel, cpo_sweep_result *rec,
                    cpo_result **keep)
{
    cpo_error e;
    cpo_error_clear(&e);
    cpo_config *pc = NULL;
    cpo_result *r = NULL;
    memset(rec, 0, sizeof *rec);
    rec->point = t->point;
    rec->start_ms = t->start_ms;
    rec->end_ms = t->end_ms;
    int rc = cpo_sweep_point_config(&pc, sw, t->point, &e);
    if (!rc) /* a point whose fixed spot book needs leverage fails, as a run would */
        rc = cpo_run_check_plan(pc, m, &e);
    if (!rc) {
        cpo_run_spec spec = pc->run; /* the stages' params stay pc's */
        if (t->start_ms != CPO_TIME_NONE)
            spec.start_ms = t->start_ms;
        if (t->end_ms != CPO_TIME_NONE)
            spec.end_ms = t->end_ms;
        spec.cancel = cancel;
        rc = cpo_backtest_run(&r, m, &spec, NULL, NULL, &e);
    }
    if (!rc)
        rc = cpo_sweep_record(rec, r, m->step_ms, &e);
    if (!rc && t->start_ms == CPO_TIME_NONE && t->end_ms == CPO_TIME_NONE)
        cpo_sweep_blocks(rec, sw, r, m->step_ms);
    rec->done = 1;
    if (rc) {
        rec->status = rc;
        if (!e.path[0] && !e.line) {
            /* The engine's words: name the point. */
            char msg[CPO_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", e.msg);
            cpo_error_set(&e, rc, sw->cfg->path, 0, 0, "point %zu: %s", t->point, msg);
        }
        cpo_error_format(&e, rec->error, sizeof rec->error);
        cpo_result_free(r);
        r = NULL;
    }
    if (keep)
        *keep = r;
    else
        cpo_result_free(r);
    cpo_config_free(pc);
    return rc == CPO_ENOMEM || rc == CPO_EINTR ? rc : 0;
}

/* --- the pool ------------------------------------------------------------- */

typedef struct pool {
    const cpo_sweep *sw;
    const cpo_market *m;
    const cpo_sweep_task *tasks;
    const cpo_sweep_exec *x;
    cpo_sweep_result *out;
    cpo_result **keep;
    size_t *mine;     /* the task indices this process takes */
    size_t n_mine;
    pthread_mutex_t mu;
    size_t next, done;
    double t0, last;
    int fatal;        /* CPO_ENOMEM or CPO_EINTR: stop taking tasks */
} pool;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fmt_secs(char *b, size_t n, double s)
{
    if (!(s >= 0.0) || s > 1e7)
        snprintf(b, n, "?");
    else if (s < 60)
        snprintf(b, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(b, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(b, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

/* Under p->mu. */
static void progress(pool *p)
{
    FILE *f = p->x->progress;
    if (!f)
        return;
    double t = mono();
    int last = p->done == p->n_mine;
    if (!last && t - p->last < 0.2)
        return;
    p->last = t;
    double el = t - p->t0, rate = el > 0 ? (double)p->done / el : 0.0;
    char eta[32];
    fmt_secs(eta, sizeof eta, rate > 0 ? (double)(p->n_mine - p->done) / rate : -1.0);
    fprintf(f, "\r%s: %zu/%zu backtests, %.1f/s, ETA %s   ", p->x->label ? p->x->label : "sweep",
            p->done, p->n_mine, rate, eta);
    if (last)
        fputc('\n', f);
    fflush(f);
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (!p->fatal && p->x->cancel && *p->x->cancel)
            p->fatal = CPO_EINTR;
        if (p->fatal || p->next == p->n_mine) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        size_t i = p->mine[p->next++];
        pthread_mutex_unlock(&p->mu);
        int rc = run_task(p->sw, p->m, &p->tasks[i], p->x->cancel, &p->out[i],
                          p->keep ? &p->keep[i] : NULL);
        pthread_mutex_lock(&p->mu);
        if (rc && (!p->fatal || rc == CPO_ENOMEM))
            p->fatal = rc;
        p->done++;
        progress(p);
        pthread_mutex_unlock(&p->mu);
    }
}

void cpo_sweep_exec_init(cpo_sweep_exec *x)
{
    memset(x, 0, sizeof *x);
    x->n_threads = 1;
    x->label = "sweep";
}

int cpo_sweep_run_tasks(const cpo_sweep *sw, const cpo_market *m, const cpo_sweep_task *tasks,
                        size_t n_tasks, const cpo_sweep_exec *x, cpo_sweep_result *out,
                        cpo_result **keep, cpo_error *err)
{
    pool p;
    memset(&p, 0, sizeof p);
    p.sw = sw;
    p.m = m;
    p.tasks = tasks;
    p.x = x;
    p.out = out;
    p.keep = keep;
    size_t stride = x->stride ? x->stride : 1, off = x->stride ? x->offset : 0;
    if (!(p.mine = malloc((n_tasks ? n_tasks : 1) * sizeof *p.mine)))
        return nomem(err);
    for (size_t i = off; i < n_tasks; i += stride)
        p.mine[p.n_mine++] = i;
    if (keep)
        for (size_t k = 0; k < p.n_mine; k++)
            keep[p.mine[k]] = NULL;
    size_t nt = x->n_threads > 1 ? (size_t)x->n_threads : 1;
    if (nt > p.n_mine)
        nt = p.n_mine ? p.n_mine : 1;
    p.t0 = p.last = mono();
    int rc = 0;
    if (pthread_mutex_init(&p.mu, NULL)) {
        free(p.mine);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "cannot make a mutex");
    }
    /* Workers are always threads of their own, even one: the main thread's
     * malloc arena gives memory back to the system after every backtest
     * and pays page faults for it again, which a worker's arena does not. */
    pthread_t *th = malloc(nt * sizeof *th);
    size_t started = 0;
    if (th)
        for (; started < nt; started++)
            if (pthread_create(&th[started], NULL, worker, &p))
                break;
    if (started == 0)
        worker(&p); /* no thread could start: this one does the work */
    for (size_t k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    pthread_mutex_destroy(&p.mu);
    free(th);
    if (p.fatal == CPO_EINTR)
        rc = cpo_error_set(err, CPO_EINTR, NULL, 0, 0,
                           "interrupted after %zu of %zu backtests (expected the sweep to go to "
                           "its end)",
                           p.done, p.n_mine);
    else if (p.fatal)
        rc = nomem(err);
    if (rc && keep)
        for (size_t k = 0; k < p.n_mine; k++) {
            cpo_result_free(keep[p.mine[k]]);
            keep[p.mine[k]] = NULL;
        }
    free(p.mine);
    return rc;
}

/* --- ranking -------------------------------------------------------------- */

typedef struct scored {
    double s;
    size_t i;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    int xn = isnan(x->s), yn = isnan(y->s);
    if (xn != yn)
        return xn - yn;
    if (!xn && x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int cpo_sweep_rank(const cpo_sweep_result *res, size_t n, cpo_objective o, size_t *order,
                   cpo_error *err)
{
    scored *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return nomem(err);
    for (size_t i = 0; i < n; i++) {
        s[i].s = cpo_sweep_score(&res[i], o);
        s[i].i = i;
    }
    qsort(s, n, sizeof *s, cmp_scored);
    for (size_t i = 0; i < n; i++)
        order[i] = s[i].i;
    free(s);
    return 0;
}

int cpo_sweep_choose(const cpo_sweep_result *res, size_t n, cpo_objective o, size_t *point,
                     double *score, cpo_error *err)
{
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return nomem(err);
    int rc = cpo_sweep_rank(res, n, o, order, err);
    size_t k = 0;
    while (!rc && k < n && (res[order[k]].status || !res[order[k]].done))
        k++;
    if (!rc && k == n) {
        size_t f = 0;
        while (f < n && !res[f].status)
            f++;
        rc = cpo_error_set(err, CPO_EDATA, NULL, 0, 0,
                           "every point failed (expected one that runs; point %zu: %s)",
                           f < n ? f : 0, f < n ? res[f].error : "not run");
    }
    if (!rc) {
        *point = order[k];
        *score = cpo_sweep_score(&res[order[k]], o);
    }
    free(order);
    return rc;
}

/* --- walk-forward ------------------------------------------------------------ */

void cpo_sweep_period(const cpo_sweep *sw, const cpo_market *m, int64_t *start, int64_t *end)
{
    const cpo_run_spec *r = &sw->cfg->run;
    *start = r->start_ms != CPO_TIME_NONE ? r->start_ms : m->n_steps ? m->ts[0] : 0;
    if (r->end_ms != CPO_TIME_NONE)
        *end = r->end_ms;
    else
        *end = m->n_steps ? m->ts[m->n_steps - 1] + m->step_ms - 1 : *start;
    if (m->n_steps && *start < m->ts[0])
        *start = m->ts[0];
    if (m->n_steps && *end > m->ts[m->n_steps - 1] + m->step_ms - 1)
        *end = m->ts[m->n_steps - 1] + m->step_ms - 1;
}

int cpo_sweep_windows(const cpo_sweep *sw, int64_t start, int64_t end, cpo_wf_window **out,
                      size_t *n, cpo_error *err)
{
    *out = NULL;
    *n = 0;
    const cpo_walkforward *wf = &sw->wf;
    size_t cap = 0, cnt = 0;
    cpo_wf_window *w = NULL;
    for (size_t k = 0;; k++) {
        int64_t te = start + wf->train_ms + (int64_t)k * wf->test_ms;
        if (te > end)
            break;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            cpo_wf_window *nw = realloc(w, nc * sizeof *nw);
            if (!nw) {
                free(w);
                return nomem(err);
            }
            w = nw;
            cap = nc;
        }
        cpo_wf_window *x = &w[cnt++];
        x->train_start = wf->mode == CPO_WF_EXPANDING ? start : start + (int64_t)k * wf->test_ms;
        x->train_end = te;
        x->test_start = te;
        x->test_end = te + wf->test_ms > end + 1 ? end + 1 : te + wf->test_ms;
    }
    if (!cnt) {
        char a[32], b[32], tr[32], ts[32];
        cpo_time_format(start, a, sizeof a);
        cpo_time_format(end, b, sizeof b);
        cpo_duration_format(wf->train_ms, tr, sizeof tr);
        cpo_duration_format(wf->test_ms, ts, sizeof ts);
        long line = 0;
        for (size_t i = 0; i < sw->cfg->n_keys && !line; i++)
            if (!strcmp(sw->cfg->keys[i].section, "walkforward") &&
                !strcmp(sw->cfg->keys[i].key, "train"))
                line = sw->cfg->keys[i].line;
        return cpo_error_set(err, CPO_ECONFIG, sw->cfg->path, line, 0,
                             "[walkforward] train = %s leaves no test window in the period "
                             "%s .. %s (expected a training window shorter than the period)",
                             tr, a, b);
    }
    *out = w;
    *n = cnt;
    return 0;
}

int cpo_sweep_chain(cpo_result **out, cpo_result *const *tests, size_t n, double capital,
                    int32_t **window_of_step, cpo_error *err)
{
    *out = NULL;
    if (window_of_step)
        *window_of_step = NULL;
    size_t steps = 0, trades = 0, events = 0;
    for (size_t k = 0; k < n; k++) {
        steps += tests[k]->n_steps;
        trades += tests[k]->n_trades;
        events += tests[k]->n_events;
    }
    cpo_result *r = calloc(1, sizeof *r);
    int32_t *wos = NULL;
    if (!r)
        return nomem(err);
    size_t ns = steps ? steps : 1;
    int ok = (r->ts = malloc(ns * sizeof *r->ts)) && (r->equity = malloc(ns * sizeof(double))) &&
             (r->gross = malloc(ns * sizeof(double))) && (r->net = malloc(ns * sizeof(double))) &&
             (r->trades = malloc((trades ? trades : 1) * sizeof *r->trades)) &&
             (r->events = malloc((events ? events : 1) * sizeof *r->events)) &&
             (!window_of_step || (wos = malloc(ns * sizeof *wos)));
    for (int l = 0; ok && l < CPO_PNL_COUNT; l++)
        ok = (r->pnl[l] = malloc(ns * sizeof(double))) != NULL;
    if (!ok) {
        cpo_result_free(r);
        free(wos);
        return nomem(err);
    }
    r->capital = capital;
    r->has_financing = n ? tests[0]->has_financing : 0;
    double level = capital; /* the chain's equity when window k starts */
    size_t t = 0;
    for (size_t k = 0; k < n; k++) {
        const cpo_result *x = tests[k];
        double f = x->capital != 0.0 ? level / x->capital : 0.0;
        for (size_t s = 0; s < x->n_steps; s++, t++) {
            r->ts[t] = x->ts[s];
            r->equity[t] = x->equity[s] * f;
            for (int l = 0; l < CPO_PNL_COUNT; l++)
                r->pnl[l][t] = x->pnl[l][s] * f;
            r->gross[t] = x->gross[s];
            r->net[t] = x->net[s];
            if (wos)
                wos[t] = (int32_t)k;
        }
        for (size_t j = 0; j < x->n_trades; j++) {
            cpo_trade tr = x->trades[j];
            tr.fee *= f;
            tr.slippage *= f;
            r->trades[r->n_trades++] = tr;
        }
        for (size_t j = 0; j < x->n_events; j++)
            r->events[r->n_events++] = x->events[j];
        r->n_rebalances += x->n_rebalances;
        if (x->max_rel_residual > r->max_rel_residual)
            r->max_rel_residual = x->max_rel_residual;
        r->seed = x->seed;
        r->fill = x->fill;
        if (x->n_steps)
            level = r->equity[t - 1];
    }
    r->n_steps = steps;
    *out = r;
    if (window_of_step)
        *window_of_step = wos;
    return 0;
}
