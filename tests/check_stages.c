/*
 * check_stages.c - the stage registry (built-ins, plugins, the checks on
 * every table) and the built-in stages, driven through the real engine on
 * small hand-made markets.
 *
 * The engine's runs here have no fees, no slippage and no cash buffer
 * unless a test says otherwise, and the opens continue the closes
 * (open[t] = close[t-1]), so that every expected quantity is a hand
 * calculation: qty = w * equity * (1 - buffer) / close[decision step],
 * filled at open[decision step + 1].
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/backtest.h"
#include "cpo/dataset.h"
#include "cpo/market.h"
#include "cpo/registry.h"
#include "cpo/time.h"
#include "params.h"
#include "testutil.h"

#define D CPO_MS_DAY
#define H CPO_MS_HOUR
#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z, a Monday */
/* The built-in stages (test_registry_builtins lists them). */
#define N_BUILTINS 32

/* Quantities come from a few products and quotients of small numbers
 * (rounding ~1e-16 relative), but when the float sum of a rebalance's buys
 * exceeds the cash by an ulp the engine cuts the last buy by a factor
 * (1 - 1e-12): a relative tolerance of 1e-9 covers both. */
#define QTY_TOL(x) (1e-9 * fmax(1.0, fabs(x)))

/* --- a probe weigh stage: records when it runs and what was selected ----- */

#define PROBE_MAX 64
#define PROBE_INSTR 8
static size_t probe_step[PROBE_MAX];
static uint8_t probe_sel[PROBE_MAX][PROBE_INSTR];
static size_t probe_n;

/* Equal weights over the selected instruments (like "equal"), and a note
 * of the step and the selection. */
static int probe_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)state, (void)p, (void)err;
    size_t k = 0;
    if (probe_n < PROBE_MAX) {
        probe_step[probe_n] = h->step(v);
        for (size_t i = 0; i < io->n && i < PROBE_INSTR; i++)
            probe_sel[probe_n][i] = io->selected[i];
        probe_n++;
    }
    for (size_t i = 0; i < io->n; i++)
        k += io->selected[i] != 0;
    for (size_t i = 0; i < io->n; i++)
        io->weight[i] = io->selected[i] ? 1.0 / (double)k : 0.0;
    return 0;
}

static const cpo_stage_def probe_def = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "probe", CPO_ROLE_WEIGH,
    "records the steps it runs at (tests)", NULL, 0, NULL, probe_run, NULL};

static void expect_probe_steps(const size_t *want, size_t n)
{
    ck_assert_msg(probe_n == n, "the pipeline ran %zu times, expected %zu", probe_n, n);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(probe_step[k] == want[k], "rebalance %zu at step %zu, expected %zu", k,
                      probe_step[k], want[k]);
}

/* --- markets ------------------------------------------------------------- */

typedef struct series {
    const char *sym;
    cpo_kind kind;
    const double *close;  /* [n] */
    const double *volume; /* [n] or NULL: 1000 */
    size_t first;         /* first step with a bar */
} series;

/* One bar per step from s->first on; open[t] = close[t-1] (open of the
 * first bar = its close), high/low the larger/smaller of the two; no mark
 * or index column, so the engine marks at the close. */
static cpo_market *mk_market(int64_t t0, int64_t step, size_t n, const series *s, size_t k)
{
    cpo_dataset *ds = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    for (size_t j = 0; j < k; j++) {
        cpo_instrument in;
        size_t idx = 0;
        cpo_instrument_init(&in, s[j].sym, s[j].kind, CPO_SETTLE_LINEAR);
        snprintf(in.quote, sizeof in.quote, "USDT");
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &err), 0);
        cpo_bars *b = &ds->bars[idx];
        b->bar_ms = step;
        for (size_t t = s[j].first; t < n; t++) {
            double c = s[j].close[t], o = t > s[j].first ? s[j].close[t - 1] : c;
            double vol = s[j].volume ? s[j].volume[t] : 1000.0;
            ck_assert_int_eq(cpo_bars_append(b, t0 + (int64_t)t * step, o, fmax(o, c), fmin(o, c),
                                             c, vol, NAN, NAN, NAN, NAN),
                             0);
        }
    }
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.step_ms = step;
    cpo_market *m = NULL;
    int rc = cpo_market_build(&m, ds, &spec, &err);
    ck_assert_msg(rc == 0, "market: %s", tu_errstr(&err));
    ck_assert_uint_eq(m->n_steps, n);
    cpo_dataset_free(ds);
    return m;
}

static const double flat100[64] = {
    100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
    100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
    100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
    100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100};

/* One flat instrument "A" of n steps (schedule tests). */
static cpo_market *mk_flat(int64_t t0, int64_t step, size_t n)
{
    const series s[] = {{"A", CPO_KIND_SPOT, flat100, NULL, 0}};
    return mk_market(t0, step, n, s, 1);
}

/* --- a run: registry, spec, stages ---------------------------------------- */

typedef struct bench {
    cpo_registry *reg;
    cpo_run_spec spec;
} bench;

static void bench_init(bench *b)
{
    cpo_error err;
    ck_assert_int_eq(cpo_registry_new(&b->reg, &err), 0);
    ck_assert_int_eq(cpo_registry_add(b->reg, &probe_def, "test", &err), 0);
    cpo_run_spec_init(&b->spec);
    b->spec.capital = 10000;
    for (int k = 0; k < 4; k++)
        b->spec.costs.kind[k].taker_bps = b->spec.costs.kind[k].maker_bps = 0.0;
    b->spec.costs.slippage_bps = 0.0;
    probe_n = 0;
}

/* Add a stage with "key=value;key=value" parameters (values may hold
 * commas: LIST parameters). */
static void bench_stage(bench *b, cpo_stage_role role, const char *name, const char *kv)
{
    const cpo_stage_def *def = cpo_registry_find(b->reg, role, name);
    ck_assert_msg(def != NULL, "no %s stage %s", cpo_role_name(role), name);
    cpo_params *p = NULL;
    ck_assert_int_eq(cpo_params_new(&p, def, NULL), 0);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *item = strtok(buf, ";"); item; item = strtok(NULL, ";")) {
        char *eq = strchr(item, '=');
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        char why[256];
        int rc = cpo_params_set(p, item, eq + 1, why, sizeof why);
        ck_assert_msg(rc == 0, "%s.%s = %s: %s", name, item, eq + 1, why);
    }
    const char *missing = NULL;
    ck_assert_int_eq(cpo_params_finish(p, &missing), 0);
    ck_assert_uint_lt(b->spec.n_stages, sizeof b->spec.stages / sizeof b->spec.stages[0]);
    b->spec.stages[b->spec.n_stages].def = def;
    b->spec.stages[b->spec.n_stages].params = p;
    b->spec.n_stages++;
}

static cpo_result *bench_run(bench *b, const cpo_market *m)
{
    cpo_result *r = NULL;
    cpo_error err;
    cpo_error_clear(&err);
    int rc = cpo_backtest_run(&r, m, &b->spec, NULL, NULL, &err);
    ck_assert_msg(rc == 0, "run failed: %s", tu_errstr(&err));
    ck_assert_ptr_nonnull(r);
    return r;
}

/* A run that must fail; returns the message. */
static const char *bench_fail(bench *b, const cpo_market *m, int code)
{
    static cpo_error err;
    cpo_result *r = NULL;
    cpo_error_clear(&err);
    int rc = cpo_backtest_run(&r, m, &b->spec, NULL, NULL, &err);
    ck_assert_int_eq(rc, code);
    ck_assert_ptr_null(r);
    return tu_errstr(&err);
}

static void bench_fini(bench *b)
{
    /* Parameters point into the stage tables: free them first. */
    for (size_t s = 0; s < b->spec.n_stages; s++)
        cpo_params_free(b->spec.stages[s].params);
    b->spec.n_stages = 0;
    cpo_registry_free(b->reg);
    b->reg = NULL;
}

/* Run schedule stages (with "probe" as the weigh stage) on a flat market
 * and compare the steps at which the pipeline ran. */
static void expect_schedule(cpo_market *m, int64_t start_ms, const char *const *sched,
                            const char *const *kv, size_t n_sched, const size_t *want,
                            size_t n_want)
{
    bench b;
    bench_init(&b);
    b.spec.start_ms = start_ms;
    for (size_t k = 0; k < n_sched; k++)
        bench_stage(&b, CPO_ROLE_SCHEDULE, sched[k], kv[k]);
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    cpo_result *r = bench_run(&b, m);
    expect_probe_steps(want, n_want);
    ck_assert_uint_eq(r->n_rebalances, n_want);
    cpo_result_free(r);
    bench_fini(&b);
}

/* --- registry ------------------------------------------------------------ */

START_TEST(test_registry_builtins)
{
    cpo_registry *reg = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_registry_new(&reg, &err), 0);
    static const struct {
        cpo_stage_role role;
        const char *name;
    } want[] = {
        {CPO_ROLE_SCHEDULE, "every"},   {CPO_ROLE_SCHEDULE, "once"},  {CPO_ROLE_SCHEDULE, "every_n"},
        {CPO_ROLE_SCHEDULE, "daily"},   {CPO_ROLE_SCHEDULE, "weekly"}, {CPO_ROLE_SCHEDULE, "monthly"},
        {CPO_ROLE_SCHEDULE, "drift"},   {CPO_ROLE_SELECT, "all"},      {CPO_ROLE_SELECT, "list"},
        {CPO_ROLE_SELECT, "top_volume"}, {CPO_ROLE_SELECT, "top_cap"}, {CPO_ROLE_WEIGH, "equal"},
        {CPO_ROLE_WEIGH, "fixed"},      {CPO_ROLE_WEIGH, "agent"},     {CPO_ROLE_WEIGH, "replay"},
        {CPO_ROLE_WEIGH, "invvol"},     {CPO_ROLE_WEIGH, "minvar"},    {CPO_ROLE_WEIGH, "meanvar"},
        {CPO_ROLE_WEIGH, "erc"},        {CPO_ROLE_WEIGH, "hrp"},       {CPO_ROLE_WEIGH, "bl"},
        {CPO_ROLE_WEIGH, "strangle"},   {CPO_ROLE_WEIGH, "straddle"},  {CPO_ROLE_WEIGH, "covered_call"},
        {CPO_ROLE_WEIGH, "protective_put"},
        {CPO_ROLE_OVERLAY, "voltarget"}, {CPO_ROLE_OVERLAY, "caps"},   {CPO_ROLE_OVERLAY, "events"},
        {CPO_ROLE_OVERLAY, "risk_limits"}, {CPO_ROLE_OVERLAY, "roll"},
        {CPO_ROLE_HEDGE, "hedge_beta"},
        {CPO_ROLE_HEDGE, "delta_hedge"},
    };
    size_t n = sizeof want / sizeof want[0];
    ck_assert_uint_eq(cpo_registry_count(reg), n);
    for (size_t k = 0; k < n; k++) {
        const cpo_stage_def *d = cpo_registry_find(reg, want[k].role, want[k].name);
        ck_assert_msg(d != NULL, "%s missing", want[k].name);
        ck_assert_str_eq(d->name, want[k].name);
        ck_assert_int_eq(d->role, want[k].role);
        /* The table above is in role, then registration order. */
        const char *origin = NULL;
        ck_assert_ptr_eq(cpo_registry_get(reg, k, &origin), d);
        ck_assert_str_eq(origin, "built-in");
        /* cpo_registry_new does not check its own tables: each must pass
         * every check of cpo_registry_add (its parameter specs, and each
         * default through params.c), which refuses it only at the last
         * one, as a name already taken. */
        cpo_error e2;
        ck_assert_int_eq(cpo_registry_add(reg, d, "again", &e2), CPO_EPLUGIN);
        char taken[160];
        snprintf(taken, sizeof taken, "stage \"%s\" (%s) is already registered by built-in",
                 d->name, cpo_role_name(d->role));
        ck_assert_str_eq(e2.msg, taken);
    }
    ck_assert_uint_eq(cpo_registry_count(reg), n);
    ck_assert_ptr_null(cpo_registry_get(reg, n, NULL));
    /* The role is part of the key. */
    ck_assert_ptr_null(cpo_registry_find(reg, CPO_ROLE_WEIGH, "monthly"));
    ck_assert_ptr_null(cpo_registry_find(reg, CPO_ROLE_SCHEDULE, "nope"));

    char buf[128];
    const char *sched = "every, once, every_n, daily, weekly, monthly, drift";
    ck_assert_uint_eq(cpo_registry_names(reg, CPO_ROLE_SCHEDULE, buf, sizeof buf), strlen(sched));
    ck_assert_str_eq(buf, sched);
    ck_assert_uint_eq(cpo_registry_names(reg, CPO_ROLE_SELECT, buf, sizeof buf), 30);
    ck_assert_str_eq(buf, "all, list, top_volume, top_cap");
    ck_assert_uint_eq(cpo_registry_names(reg, CPO_ROLE_HEDGE, buf, sizeof buf), 23);
    ck_assert_str_eq(buf, "hedge_beta, delta_hedge");
    /* Too small a buffer: whole names only, and the length needed. */
    ck_assert_uint_eq(cpo_registry_names(reg, CPO_ROLE_SELECT, buf, 12), 30);
    ck_assert_str_eq(buf, "all, list");

    ck_assert_str_eq(cpo_role_name(CPO_ROLE_SCHEDULE), "schedule");
    ck_assert_str_eq(cpo_role_name(CPO_ROLE_SELECT), "select");
    ck_assert_str_eq(cpo_role_name(CPO_ROLE_WEIGH), "weigh");
    ck_assert_str_eq(cpo_role_name(CPO_ROLE_OVERLAY), "overlay");
    ck_assert_str_eq(cpo_role_name(CPO_ROLE_HEDGE), "hedge");
    ck_assert_str_eq(cpo_role_name(CPO_ROLE_COUNT), "?");
    cpo_registry_free(reg);
    cpo_registry_free(NULL);
}
END_TEST

START_TEST(test_registry_print)
{
    cpo_registry *reg = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_registry_new(&reg, &err), 0);
    ck_assert_int_eq(cpo_registry_load(reg, CPO_EXAMPLE_PLUGIN, &err), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    cpo_registry_print(reg, f);
    fclose(f);
    /* Stage lines (role, name padded to the longest name, help), then one
     * line per parameter (name, type, default, range or choices, help). */
    ck_assert_ptr_nonnull(strstr(text, "schedule  monthly        rebalance on the first step of "
                                       "each calendar month (UTC)\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n    lookback   duration  default 30d  [1ms, 3650d]  "
                                       "trailing window of the dollar volume"));
    ck_assert_ptr_nonnull(strstr(text, "\n    n          int       required  [1, 1000000000]  "
                                       "rebalance every n steps\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n    weekday    choice    default monday  one of: monday, "
                                       "tuesday, wednesday"));
    ck_assert_ptr_nonnull(strstr(text, "\n    kinds      list      default \"\"  only these"));
    char want[1024];
    snprintf(want, sizeof want,
             "weigh     inverse_price  weights proportional to 1 / price (example plugin)  "
             "[plugin %s]\n",
             CPO_EXAMPLE_PLUGIN);
    ck_assert_ptr_nonnull(strstr(text, want));
    /* Role order: the plugin's schedule stage comes before any select. */
    const char *k_hours = strstr(text, "every_k_hours"), *sel = strstr(text, "select    all");
    ck_assert(k_hours && sel && k_hours < sel);
    free(text);
    cpo_registry_free(reg);
}
END_TEST

START_TEST(test_registry_plugin_loads)
{
    cpo_registry *reg = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_registry_new(&reg, &err), 0);
    size_t n0 = cpo_registry_count(reg);
    int rc = cpo_registry_load(reg, CPO_EXAMPLE_PLUGIN, &err);
    ck_assert_msg(rc == 0, "load: %s", tu_errstr(&err));
    ck_assert_uint_eq(cpo_registry_count(reg), n0 + 2);
    const cpo_stage_def *w = cpo_registry_find(reg, CPO_ROLE_WEIGH, "inverse_price");
    const cpo_stage_def *s = cpo_registry_find(reg, CPO_ROLE_SCHEDULE, "every_k_hours");
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->n_params, 1);
    ck_assert_str_eq(s->params[0].name, "k");
    char buf[256];
    cpo_registry_names(reg, CPO_ROLE_WEIGH, buf, sizeof buf);
    ck_assert_str_eq(buf, "equal, fixed, agent, replay, invvol, minvar, meanvar, erc, hrp, bl, strangle, straddle, "
                          "covered_call, protective_put, inverse_price");
    /* Its origin is the path. */
    const char *origin = NULL;
    for (size_t k = 0; k < cpo_registry_count(reg); k++)
        if (cpo_registry_get(reg, k, &origin) == w)
            break;
    ck_assert_str_eq(origin, CPO_EXAMPLE_PLUGIN);

    /* Loading it again: its first stage is a duplicate; nothing added. */
    ck_assert_int_eq(cpo_registry_load(reg, CPO_EXAMPLE_PLUGIN, &err), CPO_EPLUGIN);
    ck_assert_str_eq(err.path, CPO_EXAMPLE_PLUGIN);
    snprintf(buf, sizeof buf, "stage \"inverse_price\" (weigh) is already registered by %s",
             CPO_EXAMPLE_PLUGIN);
    ck_assert_str_eq(err.msg, buf);
    ck_assert_uint_eq(cpo_registry_count(reg), n0 + 2);
    /* The first load's tables are still there (the handle stayed open). */
    ck_assert_ptr_eq(cpo_registry_find(reg, CPO_ROLE_WEIGH, "inverse_price"), w);
    ck_assert_str_eq(w->name, "inverse_price");
    cpo_registry_free(reg);
}
END_TEST

/* A load that fails half-way takes back what it added. */
START_TEST(test_registry_plugin_rollback)
{
    static const cpo_stage_def taken = {
        CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "every_k_hours", CPO_ROLE_SCHEDULE,
        "a stage of the same name, registered first", NULL, 0, NULL, probe_run, NULL};
    cpo_registry *reg = NULL;
    cpo_error err;
    char want[1024];
    ck_assert_int_eq(cpo_registry_new(&reg, &err), 0);
    ck_assert_int_eq(cpo_registry_add(reg, &taken, "test", &err), 0);
    size_t n0 = cpo_registry_count(reg);
    /* The plugin's first table (inverse_price) is added, its second
     * (every_k_hours) refused: the first goes too. */
    ck_assert_int_eq(cpo_registry_load(reg, CPO_EXAMPLE_PLUGIN, &err), CPO_EPLUGIN);
    snprintf(want, sizeof want,
             "%s: stage \"every_k_hours\" (schedule) is already registered by test",
             CPO_EXAMPLE_PLUGIN);
    ck_assert_str_eq(tu_errstr(&err), want);
    ck_assert_uint_eq(cpo_registry_count(reg), n0);
    ck_assert_ptr_null(cpo_registry_find(reg, CPO_ROLE_WEIGH, "inverse_price"));
    ck_assert_ptr_eq(cpo_registry_find(reg, CPO_ROLE_SCHEDULE, "every_k_hours"), &taken);

    /* Through the plugin's test hook: a second table of ABI version 2. */
    setenv("CPO_EXAMPLE_PLUGIN_TEST", "bad_second", 1);
    cpo_registry *reg2 = NULL;
    ck_assert_int_eq(cpo_registry_new(&reg2, &err), 0);
    ck_assert_int_eq(cpo_registry_load(reg2, CPO_EXAMPLE_PLUGIN, &err), CPO_EPLUGIN);
    snprintf(want, sizeof want, "%s: stage \"from_the_future\" has ABI version 2 (expected 1)",
             CPO_EXAMPLE_PLUGIN);
    ck_assert_str_eq(tu_errstr(&err), want);
    ck_assert_uint_eq(cpo_registry_count(reg2), N_BUILTINS);
    ck_assert_ptr_null(cpo_registry_find(reg2, CPO_ROLE_WEIGH, "inverse_price"));

    /* The entry point returns NULL, or no table. */
    snprintf(want, sizeof want,
             "%s: the plugin returned no stage table (expected at least one)", CPO_EXAMPLE_PLUGIN);
    setenv("CPO_EXAMPLE_PLUGIN_TEST", "null", 1);
    ck_assert_int_eq(cpo_registry_load(reg2, CPO_EXAMPLE_PLUGIN, &err), CPO_EPLUGIN);
    ck_assert_str_eq(tu_errstr(&err), want);
    setenv("CPO_EXAMPLE_PLUGIN_TEST", "empty", 1);
    ck_assert_int_eq(cpo_registry_load(reg2, CPO_EXAMPLE_PLUGIN, &err), CPO_EPLUGIN);
    ck_assert_str_eq(tu_errstr(&err), want);
    ck_assert_uint_eq(cpo_registry_count(reg2), N_BUILTINS);
    unsetenv("CPO_EXAMPLE_PLUGIN_TEST");
    ck_assert_int_eq(cpo_registry_load(reg2, CPO_EXAMPLE_PLUGIN, &err), 0);
    ck_assert_uint_eq(cpo_registry_count(reg2), N_BUILTINS + 2);
    cpo_registry_free(reg2);
    cpo_registry_free(reg);
}
END_TEST

START_TEST(test_registry_load_refusals)
{
    cpo_registry *reg = NULL;
    cpo_error err;
    char want[1024];
    ck_assert_int_eq(cpo_registry_new(&reg, &err), 0);

    /* No such file: dlerror()'s text (glibc) inside ours. */
    const char *nowhere = "/nonexistent-cpo-dir/plugin.so";
    ck_assert_int_eq(cpo_registry_load(reg, nowhere, &err), CPO_EPLUGIN);
    ck_assert_int_eq(err.code, CPO_EPLUGIN);
    ck_assert_str_eq(err.path, nowhere);
    ck_assert_str_eq(err.msg, "cannot load plugin: /nonexistent-cpo-dir/plugin.so: cannot open "
                              "shared object file: No such file or directory (expected a shared "
                              "object)");

    /* A file that is not ELF. */
    char *dir = tu_tmpdir();
    char *junk = tu_path(dir, "junk.so");
    tu_write_file(junk, "This is not a shared object, only text long enough to have the size of "
                        "an ELF header, which is sixty-four bytes on a 64-bit machine.\n");
    ck_assert_int_eq(cpo_registry_load(reg, junk, &err), CPO_EPLUGIN);
    snprintf(want, sizeof want,
             "%s: cannot load plugin: %s: invalid ELF header (expected a shared object)", junk,
             junk);
    ck_assert_str_eq(tu_errstr(&err), want);

    /* A shared object without the entry point. */
    ck_assert_int_eq(cpo_registry_load(reg, "libm.so.6", &err), CPO_EPLUGIN);
    ck_assert_str_eq(tu_errstr(&err),
                     "libm.so.6: no entry point cpo_plugin_entry (expected a cpo stage plugin)");

    ck_assert_int_eq(cpo_registry_load(reg, "", &err), CPO_EPLUGIN);
    ck_assert_str_eq(tu_errstr(&err), "no plugin path (expected the path of a shared object)");
    ck_assert_int_eq(cpo_registry_load(reg, NULL, &err), CPO_EPLUGIN);

    ck_assert_uint_eq(cpo_registry_count(reg), N_BUILTINS);
    tu_rmtree(dir);
    free(junk);
    free(dir);
    cpo_registry_free(reg);
}
END_TEST

/* Tables refused by cpo_registry_add, each with its exact message. */

static const cpo_param_spec ok_param[] = {{"n", CPO_PARAM_INT, "3", 1, 10, NULL, "n"}};
static const cpo_param_spec p_min_max[] = {{"n", CPO_PARAM_INT, "3", 10, 1, NULL, "n"}};
static const cpo_param_spec p_def_out[] = {{"n", CPO_PARAM_INT, "0", 1, 10, NULL, "n"}};
static const cpo_param_spec p_def_choice[] = {
    {"mode", CPO_PARAM_CHOICE, "maybe", 0, 0, "any|all", "m"}};
static const cpo_param_spec p_no_choices[] = {{"mode", CPO_PARAM_CHOICE, "any", 0, 0, NULL, "m"}};
static const cpo_param_spec p_dup[] = {{"n", CPO_PARAM_INT, "3", 1, 10, NULL, "n"},
                                       {"n", CPO_PARAM_REAL, "3", 1, 10, NULL, "n"}};
static const cpo_param_spec p_noname[] = {{NULL, CPO_PARAM_INT, "3", 1, 10, NULL, "n"}};
static const cpo_param_spec p_badname[] = {{"look back", CPO_PARAM_INT, "3", 1, 10, NULL, "n"}};
static const cpo_param_spec p_type[] = {{"n", (cpo_param_type)42, "3", 1, 10, NULL, "n"}};
static const cpo_param_spec p_dur[] = {
    {"lookback", CPO_PARAM_DURATION, "1h", 86400000, 864000000, NULL, "l"}};

#define SZ sizeof(cpo_stage_def)
#define V CPO_STAGE_ABI_VERSION
#define SCH CPO_ROLE_SCHEDULE
static const cpo_stage_def bad_abi = {7, SZ, "x", SCH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def bad_size = {V, 40, "x", SCH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def bad_tiny = {V, 8, "x", SCH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def no_name = {V, SZ, NULL, SCH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def empty_name = {V, SZ, "", SCH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def space_name = {V, SZ, "a b", SCH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def bad_role = {V, SZ, "x", (cpo_stage_role)9, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def no_run = {V, SZ, "x", SCH, "h", NULL, 0, NULL, NULL, NULL};
static const cpo_stage_def no_table = {V, SZ, "x", SCH, "h", NULL, 2, NULL, probe_run, NULL};
static const cpo_stage_def min_max = {V, SZ, "x", SCH, "h", p_min_max, 1, NULL, probe_run, NULL};
static const cpo_stage_def def_out = {V, SZ, "x", SCH, "h", p_def_out, 1, NULL, probe_run, NULL};
static const cpo_stage_def def_choice = {V, SZ, "x", SCH, "h", p_def_choice, 1, NULL, probe_run, NULL};
static const cpo_stage_def no_choices = {V, SZ, "x", SCH, "h", p_no_choices, 1, NULL, probe_run, NULL};
static const cpo_stage_def dup_param = {V, SZ, "x", SCH, "h", p_dup, 2, NULL, probe_run, NULL};
static const cpo_stage_def param_noname = {V, SZ, "x", SCH, "h", p_noname, 1, NULL, probe_run, NULL};
static const cpo_stage_def param_badname = {V, SZ, "x", SCH, "h", p_badname, 1, NULL, probe_run, NULL};
static const cpo_stage_def param_type = {V, SZ, "x", SCH, "h", p_type, 1, NULL, probe_run, NULL};
static const cpo_stage_def dur_out = {V, SZ, "x", SCH, "h", p_dur, 1, NULL, probe_run, NULL};
static const cpo_stage_def dup_every = {V, SZ, "every", SCH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def every_weigh = {V, SZ, "every", CPO_ROLE_WEIGH, "h", NULL, 0, NULL, probe_run, NULL};
static const cpo_stage_def good = {V, SZ, "x", SCH, "h", ok_param, 1, NULL, probe_run, NULL};
static const cpo_stage_def larger = {V, SZ + 64, "y", SCH, "h", NULL, 0, NULL, probe_run, NULL};

START_TEST(test_registry_add_refusals)
{
    char size_msg[128], tiny_msg[128];
    snprintf(size_msg, sizeof size_msg, "stage \"x\" has a table of 40 bytes (expected at least %zu)",
             sizeof(cpo_stage_def));
    snprintf(tiny_msg, sizeof tiny_msg, "a stage table has 8 bytes (expected at least %zu)",
             sizeof(cpo_stage_def));
    const struct {
        const cpo_stage_def *def;
        const char *msg;
    } cases[] = {
        {NULL, "a stage table is NULL (expected a cpo_stage_def)"},
        {&bad_abi, "stage \"x\" has ABI version 7 (expected 1)"},
        {&bad_size, size_msg},
        {&bad_tiny, tiny_msg},
        {&no_name, "a stage has no name (expected a non-empty name)"},
        {&empty_name, "a stage has no name (expected a non-empty name)"},
        {&space_name, "stage name \"a b\" is not a word (expected letters, digits, '_' or '-')"},
        {&bad_role, "stage \"x\" has unknown role 9 (expected schedule, select, weigh, overlay or "
                    "hedge)"},
        {&no_run, "stage \"x\" (schedule) has no run function (expected one)"},
        {&no_table, "stage \"x\" (schedule) declares 2 parameters without a table (expected "
                    "params to point to them)"},
        {&min_max, "stage \"x\" (schedule): parameter \"n\" has range [10, 1] (expected min <= "
                   "max)"},
        {&def_out, "stage \"x\" (schedule): parameter \"n\" has default \"0\" (expected an "
                   "integer in [1, 10])"},
        {&def_choice, "stage \"x\" (schedule): parameter \"mode\" has default \"maybe\" "
                      "(expected one of: any, all)"},
        {&no_choices, "stage \"x\" (schedule): parameter \"mode\" is a choice without choices "
                      "(expected choices like \"a|b\")"},
        {&dup_param, "stage \"x\" (schedule): parameter \"n\" is declared twice (expected each "
                     "name once)"},
        {&param_noname, "stage \"x\" (schedule): parameter 1 has no name (expected a non-empty "
                        "name)"},
        {&param_badname, "stage \"x\" (schedule): parameter name \"look back\" is not a word "
                         "(expected letters, digits, '_' or '-')"},
        {&param_type, "stage \"x\" (schedule): parameter \"n\" has unknown type 42 (expected "
                      "int, real, bool, duration, choice, string, list or path)"},
        {&dur_out, "stage \"x\" (schedule): parameter \"lookback\" has default \"1h\" (expected "
                   "a duration in [1d, 10d])"},
        {&dup_every, "stage \"every\" (schedule) is already registered by built-in"},
    };
    cpo_registry *reg = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_registry_new(&reg, &err), 0);
    size_t n0 = cpo_registry_count(reg);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cpo_error_clear(&err);
        ck_assert_int_eq(cpo_registry_add(reg, cases[k].def, "tables.so", &err), CPO_EPLUGIN);
        ck_assert_int_eq(err.code, CPO_EPLUGIN);
        ck_assert_str_eq(err.path, "tables.so");
        ck_assert_msg(!strcmp(err.msg, cases[k].msg), "case %zu: got \"%s\", expected \"%s\"", k,
                      err.msg, cases[k].msg);
    }
    ck_assert_uint_eq(cpo_registry_count(reg), n0);
    /* Accepted: a good table, a table of a later (larger) ABI revision, and
     * a name taken in another role. */
    ck_assert_int_eq(cpo_registry_add(reg, &good, "tables.so", &err), 0);
    ck_assert_int_eq(cpo_registry_add(reg, &larger, "tables.so", &err), 0);
    ck_assert_int_eq(cpo_registry_add(reg, &every_weigh, "tables.so", &err), 0);
    ck_assert_uint_eq(cpo_registry_count(reg), n0 + 3);
    ck_assert_ptr_eq(cpo_registry_find(reg, CPO_ROLE_WEIGH, "every"), &every_weigh);
    ck_assert_ptr_ne(cpo_registry_find(reg, CPO_ROLE_SCHEDULE, "every"), &dup_every);
    /* The duplicate message names the origin of the first. */
    ck_assert_int_eq(cpo_registry_add(reg, &good, "other.so", &err), CPO_EPLUGIN);
    ck_assert_str_eq(tu_errstr(&err),
                     "other.so: stage \"x\" (schedule) is already registered by tables.so");
    cpo_registry_free(reg);
}
END_TEST

/* --- parameters of the built-ins ------------------------------------------ */

START_TEST(test_params_refused)
{
    cpo_registry *reg = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_registry_new(&reg, &err), 0);
    const struct {
        cpo_stage_role role;
        const char *stage, *key, *value;
        int code;
        const char *why;
    } cases[] = {
        {CPO_ROLE_SCHEDULE, "every_n", "n", "0", CPO_ERANGE, "an integer in [1, 1000000000]"},
        {CPO_ROLE_SCHEDULE, "every_n", "n", "2.5", CPO_EINVAL, "an integer in [1, 1000000000]"},
        {CPO_ROLE_SCHEDULE, "every_n", "offset", "-1", CPO_ERANGE, "an integer in [0, 1000000000]"},
        {CPO_ROLE_SCHEDULE, "every_n", "count", "3", CPO_ENOTFOUND, "one of: n, offset"},
        {CPO_ROLE_SCHEDULE, "every", "n", "3", CPO_ENOTFOUND, "no parameters"},
        {CPO_ROLE_SCHEDULE, "weekly", "weekday", "funday", CPO_EINVAL,
         "one of: monday, tuesday, wednesday, thursday, friday, saturday, sunday"},
        {CPO_ROLE_SCHEDULE, "drift", "abs", "-0.01", CPO_ERANGE, "a number in [0, 10]"},
        {CPO_ROLE_SCHEDULE, "drift", "rel", "lots", CPO_EINVAL, "a number in [0, 100]"},
        {CPO_ROLE_SCHEDULE, "drift", "mode", "both", CPO_EINVAL, "one of: any, all"},
        {CPO_ROLE_SELECT, "top_volume", "n", "0", CPO_ERANGE, "an integer in [1, 1000000]"},
        {CPO_ROLE_SELECT, "top_volume", "lookback", "4000d", CPO_ERANGE,
         "a duration in [1ms, 3650d]"},
        {CPO_ROLE_SELECT, "top_volume", "lookback", "30", CPO_EINVAL,
         "a duration like 30d, 8h or 15m in [1ms, 3650d]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const cpo_stage_def *d = cpo_registry_find(reg, cases[k].role, cases[k].stage);
        ck_assert_ptr_nonnull(d);
        cpo_params *p = NULL;
        ck_assert_int_eq(cpo_params_new(&p, d, NULL), 0);
        char why[256];
        ck_assert_int_eq(cpo_params_set(p, cases[k].key, cases[k].value, why, sizeof why),
                         cases[k].code);
        ck_assert_msg(!strcmp(why, cases[k].why), "%s.%s = %s: got \"%s\", expected \"%s\"",
                      cases[k].stage, cases[k].key, cases[k].value, why, cases[k].why);
        cpo_params_free(p);
    }
    /* Required parameters: every_n.n, list.symbols, fixed.weights. */
    const struct {
        cpo_stage_role role;
        const char *stage, *param;
    } req[] = {{CPO_ROLE_SCHEDULE, "every_n", "n"},
               {CPO_ROLE_SELECT, "list", "symbols"},
               {CPO_ROLE_WEIGH, "fixed", "weights"}};
    for (size_t k = 0; k < 3; k++) {
        cpo_params *p = NULL;
        const char *missing = NULL;
        ck_assert_int_eq(cpo_params_new(&p, cpo_registry_find(reg, req[k].role, req[k].stage), NULL),
                         0);
        ck_assert_int_eq(cpo_params_finish(p, &missing), CPO_EINVAL);
        ck_assert_str_eq(missing, req[k].param);
        cpo_params_free(p);
    }
    /* Defaults. */
    cpo_params *p = NULL;
    ck_assert_int_eq(cpo_params_new(&p, cpo_registry_find(reg, CPO_ROLE_SELECT, "top_volume"), NULL), 0);
    ck_assert_int_eq(cpo_params_finish(p, NULL), 0);
    ck_assert_int_eq(cpo_params_int(p, "n"), 10);
    ck_assert(cpo_params_int(p, "lookback") == 30 * D);
    cpo_params_free(p);
    cpo_registry_free(reg);
}
END_TEST

/* --- schedules ------------------------------------------------------------- */

START_TEST(test_sched_every_once_every_n)
{
    /* Hourly, 10 steps. */
    cpo_market *m = mk_flat(T0, H, 10);
    const char *every[] = {"every"}, *once[] = {"once"}, *en[] = {"every_n"};
    const char *none[] = {NULL};
    const size_t all10[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    expect_schedule(m, CPO_TIME_NONE, every, none, 1, all10, 10);
    const size_t first[] = {0};
    expect_schedule(m, CPO_TIME_NONE, once, none, 1, first, 1);
    /* n = 3: steps 0, 3, 6, 9 (k = t - 0, k % 3 == 0). */
    const char *n3[] = {"n=3"};
    const size_t w3[] = {0, 3, 6, 9};
    expect_schedule(m, CPO_TIME_NONE, en, n3, 1, w3, 4);
    /* n = 3, offset 1: k >= 1 and (k - 1) % 3 == 0: 1, 4, 7. */
    const char *n3o1[] = {"n=3;offset=1"};
    const size_t w3o1[] = {1, 4, 7};
    expect_schedule(m, CPO_TIME_NONE, en, n3o1, 1, w3o1, 3);
    /* A run that starts at step 2: once fires there, every_n counts from
     * there (2, 5, 8). */
    const size_t at2[] = {2};
    expect_schedule(m, T0 + 2 * H, once, none, 1, at2, 1);
    const size_t w3s2[] = {2, 5, 8};
    expect_schedule(m, T0 + 2 * H, en, n3, 1, w3s2, 3);
    /* Two schedule stages are ORed: once {0} | every_n n=4 offset=2 {2, 6}. */
    const char *both[] = {"once", "every_n"}, *both_kv[] = {NULL, "n=4;offset=2"};
    const size_t wor[] = {0, 2, 6};
    expect_schedule(m, CPO_TIME_NONE, both, both_kv, 2, wor, 3);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_sched_daily)
{
    /* Hourly from 2024-01-01T20:00Z, 30 steps: the day changes at step 4
     * (01-02T00:00) and step 28 (01-03T00:00); step 0 starts the run. */
    cpo_market *m = mk_flat(T0 + 20 * H, H, 30);
    const char *s[] = {"daily"}, *kv[] = {NULL};
    const size_t want[] = {0, 4, 28};
    expect_schedule(m, CPO_TIME_NONE, s, kv, 1, want, 3);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_sched_weekly)
{
    /* Daily from Wednesday 2024-01-03, 14 steps (to Tuesday 01-16). */
    cpo_market *m = mk_flat(T0 + 2 * D, D, 14);
    const char *s[] = {"weekly"};
    /* Weeks from Monday: 01-08 is step 5, 01-15 step 12. */
    const char *mon[] = {NULL};
    const size_t w_mon[] = {0, 5, 12};
    expect_schedule(m, CPO_TIME_NONE, s, mon, 1, w_mon, 3);
    /* Weeks from Friday: 01-05 is step 2, 01-12 step 9. */
    const char *fri[] = {"weekday=friday"};
    const size_t w_fri[] = {0, 2, 9};
    expect_schedule(m, CPO_TIME_NONE, s, fri, 1, w_fri, 3);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_sched_monthly_edges)
{
    /* Across a year's end: daily from 2023-12-30, 36 steps; 2024-01-01 is
     * step 2 and 2024-02-01 step 33 (31 days of January later). */
    cpo_market *m = mk_flat(T0 - 2 * D, D, 36);
    const char *s[] = {"monthly"}, *kv[] = {NULL};
    const size_t want[] = {0, 2, 33};
    expect_schedule(m, CPO_TIME_NONE, s, kv, 1, want, 3);
    cpo_market_free(m);
    /* Steps 40 days apart land in a new month every time: 01-01, 02-10,
     * 03-21 (2024 is a leap year), 04-30. */
    m = mk_flat(T0, 40 * D, 4);
    const size_t every[] = {0, 1, 2, 3};
    expect_schedule(m, CPO_TIME_NONE, s, kv, 1, every, 4);
    cpo_market_free(m);
    /* Hourly across the end of February 2024: 02-29T22:00 .. 03-01T01:00;
     * March starts at step 2. */
    m = mk_flat(T0 + 59 * D + 22 * H, H, 4);
    const size_t march[] = {0, 2};
    expect_schedule(m, CPO_TIME_NONE, s, kv, 1, march, 2);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_sched_monthly_trades)
{
    /* Daily from 2024-01-30, 36 steps: 01-30 (0), 01-31 (1), 02-01 (2) ..
     * 02-29 (30, a leap year), 03-01 (31) .. 03-05 (35).  Monthly fires at
     * 0 (start), 2 (February), 31 (March).
     * A rises 1% a day, B is flat, so the weights drift from 1/2 between
     * rebalances and each rebalance trades both: the fills come at the
     * next open, steps 1, 3 and 32, two trades each. */
    enum { N = 36 };
    double a[N];
    for (int t = 0; t < N; t++)
        a[t] = 100.0 * pow(1.01, t);
    const series s[] = {{"A", CPO_KIND_SPOT, a, NULL, 0}, {"B", CPO_KIND_SPOT, flat100, NULL, 0}};
    cpo_market *m = mk_market(T0 + 29 * D, D, N, s, 2);
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "monthly", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    cpo_result *r = bench_run(&b, m);
    const size_t want[] = {0, 2, 31};
    expect_probe_steps(want, 3);
    ck_assert_uint_eq(r->n_rebalances, 3);
    ck_assert_uint_eq(r->n_trades, 6);
    size_t per_step[N] = {0};
    for (size_t k = 0; k < r->n_trades; k++) {
        ck_assert_uint_lt(r->trades[k].step, N);
        per_step[r->trades[k].step]++;
        /* Filled at the open of the step after the decision. */
        size_t t = r->trades[k].step;
        double open = r->trades[k].instr == 0 ? a[t - 1] : 100.0;
        ck_assert_double_eq_tol(r->trades[k].px, open, QTY_TOL(open));
    }
    ck_assert_uint_eq(per_step[1], 2);
    ck_assert_uint_eq(per_step[3], 2);
    ck_assert_uint_eq(per_step[32], 2);
    /* First fill: 1/2 of 10000 at 100 = 50 of each. */
    ck_assert_uint_eq(r->trades[0].step, 1);
    ck_assert_double_eq_tol(r->trades[0].qty, 50.0, QTY_TOL(50.0));
    cpo_result_free(r);
    bench_fini(&b);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_sched_drift_abs)
{
    /* A rallies, B stays at 100; equal targets of 1/2.  Step 0 fires
     * (no target yet): 10000 / 2 / 100 = 50 of each, filled at open[1] =
     * 100, cash 0.  Then w_A(t) = 50 a / (50 a + 5000) = a / (a + 100), and
     * the abs band 0.05 is left when a / (a + 100) > 0.55, a > 122.22:
     *   step 4: a = 122, w_A = 122/222 = 0.54955 (inside)
     *   step 5: a = 123, w_A = 123/223 = 0.55157 (outside: fires)
     * After the rebalance (filled at open[6] = 123) A stays at 123 and the
     * weights stay at 1/2: no more fires. */
    enum { N = 8 };
    const double a[N] = {100, 100, 110, 120, 122, 123, 123, 123};
    const series s[] = {{"A", CPO_KIND_SPOT, a, NULL, 0}, {"B", CPO_KIND_SPOT, flat100, NULL, 0}};
    cpo_market *m = mk_market(T0, D, N, s, 2);
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "drift", NULL); /* abs = 0.05 by default */
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    cpo_result *r = bench_run(&b, m);
    const size_t want[] = {0, 5};
    expect_probe_steps(want, 2);
    ck_assert_uint_eq(r->n_rebalances, 2);
    /* E(5) = 50 * 123 + 5000 = 11150: A to 11150 / 2 / 123, B to 55.75. */
    ck_assert_double_eq_tol(r->final_qty[0], 5575.0 / 123.0, QTY_TOL(45.0));
    ck_assert_double_eq_tol(r->final_qty[1], 55.75, QTY_TOL(55.75));
    cpo_result_free(r);
    bench_fini(&b);

    /* A band just wider than the move at step 5 (0.05157 < 0.052): only
     * the start fires. */
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "drift", "abs=0.052");
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    r = bench_run(&b, m);
    expect_probe_steps(want, 1);
    cpo_result_free(r);
    bench_fini(&b);

    /* Both bands off is refused when the run starts. */
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "drift", "abs=0;rel=0");
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    ck_assert_str_eq(bench_fail(&b, m, CPO_ECONFIG),
                     "drift: both bands are off (abs = 0 and rel = 0) (expected abs > 0 or "
                     "rel > 0; \"once\" is the schedule that never rebalances)");
    bench_fini(&b);
    cpo_market_free(m);
}
END_TEST

/* Fixed targets A 0.2, B 0.8, drift with the given parameters: the
 * number of rebalances, and the steps of their fills (each decision step
 * + 1: every rebalance here trades). */
static void drift_fixed(const cpo_market *m, const char *kv, const size_t *want, size_t n_want)
{
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "drift", kv);
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=A:0.2, B:0.8");
    cpo_result *r = bench_run(&b, m);
    ck_assert_msg(r->n_rebalances == n_want, "%s: %zu rebalances, expected %zu", kv,
                  r->n_rebalances, n_want);
    /* The fills are at the open after each decision (no other trades). */
    size_t k = 0;
    for (size_t j = 0; j < r->n_trades; j++) {
        if (j > 0 && r->trades[j].step == r->trades[j - 1].step)
            continue;
        ck_assert_uint_lt(k, n_want);
        ck_assert_msg(r->trades[j].step == want[k] + 1, "%s: fill %zu at step %zu, expected %zu",
                      kv, k, r->trades[j].step, want[k] + 1);
        k++;
    }
    ck_assert_uint_eq(k, n_want);
    cpo_result_free(r);
    bench_fini(&b);
}

START_TEST(test_sched_drift_rel)
{
    /* Targets A 0.2, B 0.8 (fixed), B flat at 100.  Step 0 fires (no
     * target): A 0.2 * 10000 / 100 = 20, B 80, filled at open[1] = 100,
     * cash 0, so w_A(t) = 20 a / (20 a + 8000).
     *   relative band 0.5 (abs off): w_A / 0.2 - 1 > 0.5, w_A > 0.3,
     *     14 a > 2400, a > 171.43:
     *       step 4: a = 171, w_A = 3420 / 11420 = 0.29947 (inside)
     *       step 5: a = 172, w_A = 3440 / 11440 = 0.30070 (fires)
     *     B: w_B / 0.8 - 1 = -0.126 at step 5, inside.
     *   absolute band 0.05 (rel off): w_A > 0.25, a > 133.33:
     *       step 2: a = 150, w_A = 3000 / 11000 = 0.2727 (fires)
     *     then E(2) = 11000: A 0.2 * 11000 / 150 = 14.667 at open[3] = 150,
     *     B 88; at a = 172, w_A = 2522.67 / 11322.67 = 0.2228: inside.
     *   both bands, mode any: as abs (0, 2); mode all: both breached at
     *     once first at step 5 (0.3007 - 0.2 > 0.05 too): (0, 5). */
    enum { N = 8 };
    const double a[N] = {100, 100, 150, 170, 171, 172, 172, 172};
    const series s[] = {{"A", CPO_KIND_SPOT, a, NULL, 0}, {"B", CPO_KIND_SPOT, flat100, NULL, 0}};
    cpo_market *m = mk_market(T0, D, N, s, 2);
    const size_t at5[] = {0, 5}, at2[] = {0, 2};
    drift_fixed(m, "abs=0;rel=0.5", at5, 2);
    drift_fixed(m, "abs=0.05;rel=0", at2, 2);
    drift_fixed(m, "abs=0.05;rel=0.5", at2, 2);
    drift_fixed(m, "abs=0.05;rel=0.5;mode=all", at5, 2);
    cpo_market_free(m);
}
END_TEST

/* --- select ---------------------------------------------------------------- */

/* The selection recorded by the probe at its k-th run, as "ABC" letters. */
static const char *probe_selection(const cpo_market *m, size_t k)
{
    static char buf[PROBE_INSTR * 4];
    size_t w = 0;
    for (size_t i = 0; i < m->n_instr && i < PROBE_INSTR; i++)
        if (probe_sel[k][i])
            w += (size_t)snprintf(buf + w, sizeof buf - w, "%s%s", w ? "," : "",
                                  m->instr[i].symbol);
    buf[w] = '\0';
    return buf;
}

START_TEST(test_select_all_and_list)
{
    /* A spot, P perp, D spot listed from step 2 (no price at 0 and 1). */
    enum { N = 4 };
    const series s[] = {{"A", CPO_KIND_SPOT, flat100, NULL, 0},
                        {"P", CPO_KIND_PERP, flat100, NULL, 0},
                        {"D", CPO_KIND_SPOT, flat100, NULL, 2}};
    cpo_market *m = mk_market(T0, D, N, s, 3);
    const struct {
        const char *stage, *kv;
        const char *want[N];
    } cases[] = {
        {"all", NULL, {"A,P", "A,P", "A,P,D", "A,P,D"}},
        {"all", "kinds=perp", {"P", "P", "P", "P"}},
        {"all", "kinds=spot", {"A", "A", "A,D", "A,D"}},
        {"list", "symbols=D, A", {"A", "A", "A,D", "A,D"}},
        {"list", "symbols=P", {"P", "P", "P", "P"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bench b;
        bench_init(&b);
        bench_stage(&b, CPO_ROLE_SCHEDULE, "every", NULL);
        bench_stage(&b, CPO_ROLE_SELECT, cases[c].stage, cases[c].kv);
        bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
        cpo_result *r = bench_run(&b, m);
        ck_assert_uint_eq(probe_n, N);
        for (size_t t = 0; t < N; t++)
            ck_assert_msg(!strcmp(probe_selection(m, t), cases[c].want[t]),
                          "%s %s, step %zu: selected %s, expected %s", cases[c].stage,
                          cases[c].kv ? cases[c].kv : "", t, probe_selection(m, t),
                          cases[c].want[t]);
        cpo_result_free(r);
        bench_fini(&b);
    }
    /* Refused when the run starts. */
    const struct {
        const char *stage, *kv, *msg;
    } bad[] = {
        {"list", "symbols=A, DOGE",
         "list: symbol \"DOGE\" is not in the market (expected one of: A, P, D)"},
        {"list", "symbols= , ", "list: no symbols (expected at least one, e.g. symbols = BTCUSDT)"},
        {"all", "kinds=spot, swap",
         "all: kind \"swap\" is not known (expected spot, perp, option or future)"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        bench b;
        bench_init(&b);
        bench_stage(&b, CPO_ROLE_SCHEDULE, "every", NULL);
        bench_stage(&b, CPO_ROLE_SELECT, bad[c].stage, bad[c].kv);
        bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
        ck_assert_str_eq(bench_fail(&b, m, CPO_ECONFIG), bad[c].msg);
        bench_fini(&b);
    }
    cpo_market_free(m);
}
END_TEST

START_TEST(test_select_top_volume)
{
    /* Closes all 10, so dollar volume = 10 * volume.  Z comes first in the
     * market and always trades as much as A.  lookback 2d on daily bars:
     * the window at t is steps t-1 and t (ts > now - 2d).
     *   t=0 {0}:   A 1000, Z 1000, B 500, C 900   -> A (tie with Z: symbol)
     *   t=1 {0,1}: A 2000, Z 2000, B 3500, C 1800 -> B
     *   t=2 {1,2}: A 2000, Z 2000, B 3500, C 1800 -> B
     *   t=3 {2,3}: A 2000, Z 2000, B 1000, C 1800 -> A
     *              (B would win with step 1 in the window; C would win
     *               with step 4, its huge volume, which is later than t)
     *   t=4 {3,4}: C 10 * (90 + 1e9)              -> C */
    enum { N = 5 };
    const double ten[N] = {10, 10, 10, 10, 10};
    const double va[N] = {100, 100, 100, 100, 100};
    const double vb[N] = {50, 300, 50, 50, 50};
    const double vc[N] = {90, 90, 90, 90, 1e9};
    const series s[] = {{"Z", CPO_KIND_SPOT, ten, va, 0},
                        {"A", CPO_KIND_SPOT, ten, va, 0},
                        {"B", CPO_KIND_SPOT, ten, vb, 0},
                        {"C", CPO_KIND_SPOT, ten, vc, 0}};
    cpo_market *m = mk_market(T0, D, N, s, 4);
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "every", NULL);
    bench_stage(&b, CPO_ROLE_SELECT, "top_volume", "n=1;lookback=2d");
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    cpo_result *r = bench_run(&b, m);
    const char *want[N] = {"A", "B", "B", "A", "C"};
    ck_assert_uint_eq(probe_n, N);
    for (size_t t = 0; t < N; t++)
        ck_assert_msg(!strcmp(probe_selection(m, t), want[t]), "step %zu: selected %s, expected %s",
                      t, probe_selection(m, t), want[t]);
    cpo_result_free(r);
    bench_fini(&b);

    /* Select stages narrow in turn: of the list {Z, C}, the top 1.
     *   t=1: Z 2000, C 1800 -> Z;  t=4: C -> C.
     * n = 3 of 4 at t=0: A, Z (1000 each), C (900); B out. */
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "every", NULL);
    bench_stage(&b, CPO_ROLE_SELECT, "list", "symbols=C, Z");
    bench_stage(&b, CPO_ROLE_SELECT, "top_volume", "n=1;lookback=2d");
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    r = bench_run(&b, m);
    ck_assert_str_eq(probe_selection(m, 1), "Z");
    ck_assert_str_eq(probe_selection(m, 4), "C");
    cpo_result_free(r);
    bench_fini(&b);

    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(&b, CPO_ROLE_SELECT, "top_volume", "n=3;lookback=2d");
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    r = bench_run(&b, m);
    ck_assert_str_eq(probe_selection(m, 0), "Z,A,C");
    cpo_result_free(r);
    bench_fini(&b);
    cpo_market_free(m);
}
END_TEST

/*
 * top_cap: a point-in-time universe from market-cap snapshots.  Daily
 * steps 0..9 of coins AAA, BBB, CCC (bars from step 0) and DDD (listed at
 * step 5); EEE has caps but no bars (a coin the store cannot show, like
 * LUNA).  Snapshots (cap in $, rows by rank):
 *   day 2: EEE 500, AAA 400, USDT 350 (a stablecoin: excluded), BBB 300,
 *          CCC 200, DDD 100, AAA 1e9 at rank 90 (another coin with the
 *          same ticker: the best-ranked row counts)
 *   day 6: DDD 1000, AAA 400, BBB 300, CCC 50, EEE 10
 * n = 2.  A snapshot counts from the step after its time (strictly before
 * the bar's open): steps 0..2 none (nothing selected), 3..6 day 2, 7..9
 * day 6.
 *   fill = no:  3..6 {AAA} (EEE's place stays empty), 7..9 {AAA, DDD}
 *   fill = yes: 3..6 {AAA, BBB},                      7..9 {AAA, DDD}
 *   max_age = 1d (fill = no): step 3 {AAA} (a day old), 4..6 none, 7 {AAA,
 *   DDD}, 8..9 none.
 */
static cpo_market *mk_caps_market(void)
{
    enum { N = 10 };
    cpo_dataset *ds = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_dataset_new(&ds, &err), 0);
    static const char *const bases[4] = {"AAA", "BBB", "CCC", "DDD"};
    for (size_t j = 0; j < 4; j++) {
        cpo_instrument in;
        size_t idx = 0;
        char sym[16];
        snprintf(sym, sizeof sym, "%sUSDT", bases[j]);
        cpo_instrument_init(&in, sym, CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
        snprintf(in.base, sizeof in.base, "%s", bases[j]);
        snprintf(in.quote, sizeof in.quote, "USDT");
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &err), 0);
        cpo_bars *b = &ds->bars[idx];
        b->bar_ms = D;
        for (size_t t = j == 3 ? 5 : 0; t < N; t++)
            ck_assert_int_eq(cpo_bars_append(b, T0 + (int64_t)t * D, 10, 10, 10, 10, 1000, NAN, NAN, NAN, NAN),
                             0);
    }
    static const struct {
        int day, rank;
        const char *sym;
        double cap;
    } rows[] = {{2, 1, "EEE", 500},  {2, 2, "AAA", 400}, {2, 3, "USDT", 350}, {2, 4, "BBB", 300},
                {2, 5, "CCC", 200},  {2, 6, "DDD", 100}, {2, 90, "AAA", 1e9}, {6, 1, "DDD", 1000},
                {6, 2, "AAA", 400},  {6, 3, "BBB", 300}, {6, 4, "CCC", 50},   {6, 5, "EEE", 10}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        ck_assert_int_eq(cpo_caps_append(&ds->caps, T0 + rows[r].day * D, rows[r].rank,
                                         rows[r].sym, rows[r].sym, rows[r].cap, 1.0, 1.0, 1.0),
                         0);
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    cpo_market *m = NULL;
    ck_assert_msg(cpo_market_build(&m, ds, &spec, &err) == 0, "%s", tu_errstr(&err));
    ck_assert_uint_eq(m->caps.n, 12);
    cpo_dataset_free(ds);
    return m;
}

START_TEST(test_select_top_cap)
{
    cpo_market *m = mk_caps_market();
    static const struct {
        const char *kv;
        const char *want[10];
    } cases[] = {
        {"n=2", {"", "", "", "AAAUSDT", "AAAUSDT", "AAAUSDT", "AAAUSDT", "AAAUSDT,DDDUSDT",
                 "AAAUSDT,DDDUSDT", "AAAUSDT,DDDUSDT"}},
        {"n=2;fill=yes", {"", "", "", "AAAUSDT,BBBUSDT", "AAAUSDT,BBBUSDT", "AAAUSDT,BBBUSDT",
                          "AAAUSDT,BBBUSDT", "AAAUSDT,DDDUSDT", "AAAUSDT,DDDUSDT",
                          "AAAUSDT,DDDUSDT"}},
        {"n=2;max_age=1d", {"", "", "", "AAAUSDT", "", "", "", "AAAUSDT,DDDUSDT", "", ""}},
        /* Nothing excluded: USDT (no bars) takes one of the three places. */
        {"n=3;fill=no;exclude=", {"", "", "", "AAAUSDT", "AAAUSDT", "AAAUSDT", "AAAUSDT",
                                  "AAAUSDT,BBBUSDT,DDDUSDT", "AAAUSDT,BBBUSDT,DDDUSDT",
                                  "AAAUSDT,BBBUSDT,DDDUSDT"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bench b;
        bench_init(&b);
        bench_stage(&b, CPO_ROLE_SCHEDULE, "every", NULL);
        bench_stage(&b, CPO_ROLE_SELECT, "top_cap", cases[c].kv);
        bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
        cpo_result *r = bench_run(&b, m);
        ck_assert_uint_eq(probe_n, 10);
        for (size_t t = 0; t < 10; t++)
            ck_assert_msg(!strcmp(probe_selection(m, t), cases[c].want[t]),
                          "%s, step %zu: selected %s, expected %s", cases[c].kv, t,
                          probe_selection(m, t), cases[c].want[t]);
        cpo_result_free(r);
        bench_fini(&b);
    }
    cpo_market_free(m);
}
END_TEST

/*
 * events: a flat market A (100) over 10 daily steps, all in A from step 0
 * (once, fixed A:1, filled at step 1's open), one event at day 5 12:00,
 * before = after = 1d, factor 0.5: the window is [day 4 12:00, day 6
 * 12:00).  A step is in it when the next open is: steps 4 (fill at day 5)
 * and 5 (day 6).  So the overlay sells half at step 4 (filled at step 5's
 * open) and buys it back at step 6 (filled at step 7): trades at steps 1,
 * 5 and 7 of +q, -q/2, +q/2, with q = 10000 / 100 = 100 (no costs, no
 * buffer).  A rebalance inside the window is scaled at once.
 */
START_TEST(test_overlay_events)
{
    char *dir = tu_tmpdir();
    char *ev = tu_path(dir, "events.csv");
    tu_write_file(ev, "# notes, with commas\ntime,event\n2024-01-06T12:00:00Z,FOMC\n");
    cpo_market *m = mk_flat(T0, D, 10);
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=A:1");
    char kv[600];
    snprintf(kv, sizeof kv, "file=%s;factor=0.5;before=1d;after=1d", ev);
    bench_stage(&b, CPO_ROLE_OVERLAY, "events", kv);
    cpo_result *r = bench_run(&b, m);
    ck_assert_uint_eq(r->n_trades, 3);
    static const size_t steps[3] = {1, 5, 7};
    static const double qty[3] = {100, -50, 50};
    for (int k = 0; k < 3; k++) {
        ck_assert_uint_eq(r->trades[k].step, steps[k]);
        ck_assert_double_eq_tol(r->trades[k].qty, qty[k], QTY_TOL(qty[k]));
    }
    ck_assert_uint_eq(r->n_rebalances, 3);
    cpo_result_free(r);
    bench_fini(&b);

    /* Rebalancing every step: inside the window the targets are halved. */
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "every", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=A:1");
    bench_stage(&b, CPO_ROLE_OVERLAY, "events", kv);
    r = bench_run(&b, m);
    ck_assert_uint_eq(r->n_trades, 3);
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(r->trades[k].step, steps[k]);
    cpo_result_free(r);
    bench_fini(&b);

    /* Bad files: refused at init with the line and column. */
    tu_write_file(ev, "time,event\n2024-01-06,ok\n2024-13-01,bad\n");
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=A:1");
    bench_stage(&b, CPO_ROLE_OVERLAY, "events", kv);
    const char *msg = bench_fail(&b, m, CPO_EPARSE);
    char want[700];
    snprintf(want, sizeof want, "%s:3:1: events: time \"2024-13-01\" is not a date (expected an "
                                "ISO date or UTC date-time like 2024-01-31T19:00:00Z)", ev);
    ck_assert_str_eq(msg, want);
    bench_fini(&b);
    tu_write_file(ev, "when,event\n2024-01-06,ok\n");
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=A:1");
    bench_stage(&b, CPO_ROLE_OVERLAY, "events", kv);
    msg = bench_fail(&b, m, CPO_EFORMAT);
    snprintf(want, sizeof want,
             "%s:1: events: no time column (expected a header with time or date)", ev);
    ck_assert_str_eq(msg, want);
    bench_fini(&b);
    cpo_market_free(m);
    free(ev);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * risk_limits, by hand.  (1) Gross: AAA 0.9 and BBB 0.6 on the flat caps
 * market (closes 10): gross 1.5 > max_gross 1, every weight x 2/3: AAA
 * buys 0.6 x 10000 / 10 = 600, BBB 400, and the run's events note it
 * ("risk_limits: gross 1.5 > 1: targets x 0.6667", value 2/3).  (2) Net
 * delta: the same weights, max_delta 0.5: AAA's 0.9 binds, x 5/9.  (3)
 * VaR: one coin whose close alternates +10 % and -10 % a day, weight 1,
 * 10-day lookback, level 0.9: five returns of -0.1 and five of +0.1, the
 * 10 % quantile (linear between order statistics) is -0.1: VaR 0.1 >
 * var_limit 0.05, x 0.5 (at step 10, the first with a full window).
 */
START_TEST(test_overlay_risk_limits)
{
    cpo_market *m = mk_caps_market();
    static const struct {
        const char *kv;
        double k;
        const char *msg;
    } cases[] = {
        {"max_gross=1", 1.0 / 1.5, "risk_limits: gross 1.5 > 1: targets x 0.6667"},
        {"max_delta=0.5;max_gross=2", 0.5 / 0.9, "risk_limits: AAA delta 0.9 > 0.5: targets x 0.5556"},
    };
    for (size_t c = 0; c < 2; c++) {
        bench b;
        bench_init(&b);
        bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
        bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=AAAUSDT:0.9, BBBUSDT:0.6");
        bench_stage(&b, CPO_ROLE_OVERLAY, "risk_limits", cases[c].kv);
        cpo_result *r = bench_run(&b, m);
        ck_assert_uint_eq(r->n_trades, 2);
        double qa = 0.9 * cases[c].k * 10000 / 10, qb = 0.6 * cases[c].k * 10000 / 10;
        ck_assert_double_eq_tol(r->trades[0].qty, qa, QTY_TOL(qa));
        ck_assert_double_eq_tol(r->trades[1].qty, qb, QTY_TOL(qb));
        ck_assert_uint_eq(r->n_events, 1);
        ck_assert_int_eq(r->events[0].kind, CPO_EVENT_STAGE);
        ck_assert_str_eq(r->events[0].msg, cases[c].msg);
        ck_assert_double_eq_tol(r->events[0].value, cases[c].k, 1e-15);
        cpo_result_free(r);
        bench_fini(&b);
    }
    cpo_market_free(m);

    enum { N = 14 };
    double close[N];
    close[0] = 100.0;
    for (int t = 1; t < N; t++)
        close[t] = close[t - 1] * (t % 2 ? 1.1 : 0.9);
    const series sv[] = {{"A", CPO_KIND_SPOT, close, NULL, 0}};
    m = mk_market(T0, D, N, sv, 1);
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "every", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=A:1");
    bench_stage(&b, CPO_ROLE_OVERLAY, "risk_limits",
                "var_limit=0.05;var_level=0.9;lookback=10d;var_horizon=1d");
    cpo_result *r = bench_run(&b, m);
    ck_assert_uint_ge(r->n_events, 1);
    ck_assert_int_eq(r->events[0].kind, CPO_EVENT_STAGE);
    ck_assert_uint_eq(r->events[0].step, 10);
    ck_assert_double_eq_tol(r->events[0].value, 0.5, 1e-12);
    ck_assert_ptr_nonnull(strstr(r->events[0].msg, "VaR 0.1 > 0.05: targets x 0.5"));
    cpo_result_free(r);
    bench_fini(&b);
    cpo_market_free(m);
}
END_TEST

/* --- weigh ----------------------------------------------------------------- */

START_TEST(test_weigh_equal)
{
    /* A 100, B 50, C 20 at every step; once at step 0, filled at open[1]
     * (= the closes).  1/3 each of 10000:
     *   A 10000 / 3 / 100 = 33.333..,  B / 50 = 66.666..,  C / 20 = 166.666..
     * With a cash buffer of 0.1, of 9000: 30, 60, 150. */
    enum { N = 3 };
    const double b50[N] = {50, 50, 50}, c20[N] = {20, 20, 20};
    const series s[] = {{"A", CPO_KIND_SPOT, flat100, NULL, 0},
                        {"B", CPO_KIND_SPOT, b50, NULL, 0},
                        {"C", CPO_KIND_SPOT, c20, NULL, 0}};
    cpo_market *m = mk_market(T0, D, N, s, 3);
    const double want[2][3] = {{10000.0 / 300.0, 10000.0 / 150.0, 10000.0 / 60.0},
                               {30.0, 60.0, 150.0}};
    for (int buf = 0; buf < 2; buf++) {
        bench b;
        bench_init(&b);
        b.spec.cash_buffer = buf ? 0.1 : 0.0;
        bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
        bench_stage(&b, CPO_ROLE_WEIGH, "equal", NULL);
        cpo_result *r = bench_run(&b, m);
        ck_assert_uint_eq(r->n_trades, 3);
        for (size_t i = 0; i < 3; i++) {
            ck_assert_double_eq_tol(r->final_qty[i], want[buf][i], QTY_TOL(want[buf][i]));
            ck_assert_uint_eq(r->trades[i].step, 1);
        }
        ck_assert_double_eq_tol(r->trades[0].px, 100.0, 1e-12);
        cpo_result_free(r);
        bench_fini(&b);
    }
    /* With "list A, C": 1/2 each of A and C, B gets 0 (no trade):
     *   A 5000 / 100 = 50, C 5000 / 20 = 250. */
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(&b, CPO_ROLE_SELECT, "list", "symbols=A, C");
    bench_stage(&b, CPO_ROLE_WEIGH, "equal", NULL);
    cpo_result *r = bench_run(&b, m);
    ck_assert_double_eq_tol(r->final_qty[0], 50.0, QTY_TOL(50.0));
    ck_assert(r->final_qty[1] == 0.0);
    ck_assert_double_eq_tol(r->final_qty[2], 250.0, QTY_TOL(250.0));
    ck_assert_uint_eq(r->n_trades, 2);
    cpo_result_free(r);
    bench_fini(&b);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_weigh_fixed)
{
    /* A spot at 100, P a linear perp at 200, C spot at 20 (not listed).
     * weights A:0.5, P:-0.25 of 10000, decided at step 0:
     *   A  0.5 * 10000 / 100 = 50
     *   P -0.25 * 10000 / 200 = -12.5 (a short; margin 12.5 * 200 * imr 1
     *     = 2500, A costs 5000: within the 10000)
     *   C  0 */
    enum { N = 3 };
    const double p200[N] = {200, 200, 200}, c20[N] = {20, 20, 20};
    const series s[] = {{"A", CPO_KIND_SPOT, flat100, NULL, 0},
                        {"P", CPO_KIND_PERP, p200, NULL, 0},
                        {"C", CPO_KIND_SPOT, c20, NULL, 0}};
    cpo_market *m = mk_market(T0, D, N, s, 3);
    bench b;
    bench_init(&b);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "fixed", "weights=A:0.5, P: -0.25");
    cpo_result *r = bench_run(&b, m);
    ck_assert_double_eq_tol(r->final_qty[0], 50.0, QTY_TOL(50.0));
    ck_assert_double_eq_tol(r->final_qty[1], -12.5, QTY_TOL(12.5));
    ck_assert(r->final_qty[2] == 0.0);
    ck_assert_uint_eq(r->n_trades, 2);
    for (size_t k = 0; k < r->n_trades; k++)
        ck_assert_uint_eq(r->trades[k].step, 1);
    /* Net exposure after the fill: (5000 - 2500) / 10000. */
    ck_assert_double_eq_tol(r->net[1], 0.25, 1e-12);
    cpo_result_free(r);
    bench_fini(&b);

    const struct {
        const char *kv, *msg;
    } bad[] = {
        {"weights=A:0.5, DOGE:0.5",
         "fixed: symbol \"DOGE\" is not in the market (expected one of: A, P, C)"},
        {"weights=A:half", "fixed: weight \"half\" of A is not a number (expected a decimal "
                           "number such as 0.5 or -0.25)"},
        {"weights=A:0.5, P:1e999", "fixed: weight \"1e999\" of P is not a number (expected a "
                                   "decimal number such as 0.5 or -0.25)"},
        {"weights=A:", "fixed: weight \"\" of A is not a number (expected a decimal number such "
                       "as 0.5 or -0.25)"},
        {"weights=A:0.5, A:0.25",
         "fixed: symbol \"A\" is listed twice (expected each symbol once)"},
        {"weights=A 0.5", "fixed: \"A 0.5\" is not SYMBOL:WEIGHT (expected e.g. BTCUSDT:0.5)"},
        {"weights=:0.5", "fixed: \":0.5\" is not SYMBOL:WEIGHT (expected e.g. BTCUSDT:0.5)"},
        {"weights=,", "fixed: no weights (expected SYMBOL:WEIGHT pairs, e.g. BTCUSDT:0.5)"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        bench_init(&b);
        bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
        bench_stage(&b, CPO_ROLE_WEIGH, "fixed", bad[c].kv);
        ck_assert_str_eq(bench_fail(&b, m, CPO_ECONFIG), bad[c].msg);
        bench_fini(&b);
    }
    cpo_market_free(m);
}
END_TEST

/* --- the example plugin's stages, through the engine ----------------------- */

START_TEST(test_plugin_stages_run)
{
    cpo_error err;
    /* every_k_hours, k = 8, hourly from 05:00 for 20 steps: blocks start
     * at 08:00 (step 3), 16:00 (step 11), 00:00 (step 19); step 0 starts
     * the run. */
    cpo_market *m = mk_flat(T0 + 5 * H, H, 20);
    bench b;
    bench_init(&b);
    ck_assert_int_eq(cpo_registry_load(b.reg, CPO_EXAMPLE_PLUGIN, &err), 0);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "every_k_hours", "k=8");
    bench_stage(&b, CPO_ROLE_WEIGH, "probe", NULL);
    cpo_result *r = bench_run(&b, m);
    const size_t want[] = {0, 3, 11, 19};
    expect_probe_steps(want, 4);
    cpo_result_free(r);
    bench_fini(&b);
    cpo_market_free(m);

    /* inverse_price: A at 10, B at 40: weights (1/10) : (1/40) = 0.8 : 0.2;
     * A 0.8 * 10000 / 10 = 800, B 0.2 * 10000 / 40 = 50. */
    const double a10[3] = {10, 10, 10}, b40[3] = {40, 40, 40};
    const series s[] = {{"A", CPO_KIND_SPOT, a10, NULL, 0}, {"B", CPO_KIND_SPOT, b40, NULL, 0}};
    m = mk_market(T0, D, 3, s, 2);
    bench_init(&b);
    ck_assert_int_eq(cpo_registry_load(b.reg, CPO_EXAMPLE_PLUGIN, &err), 0);
    bench_stage(&b, CPO_ROLE_SCHEDULE, "once", NULL);
    bench_stage(&b, CPO_ROLE_WEIGH, "inverse_price", NULL);
    r = bench_run(&b, m);
    ck_assert_double_eq_tol(r->final_qty[0], 800.0, QTY_TOL(800.0));
    ck_assert_double_eq_tol(r->final_qty[1], 50.0, QTY_TOL(50.0));
    cpo_result_free(r);
    bench_fini(&b);
    cpo_market_free(m);
}
END_TEST

/* --- the command ------------------------------------------------------------ */

START_TEST(test_cmd_strategies)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s strategies --plugin %s", CPO_BINARY, CPO_EXAMPLE_PLUGIN);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "schedule  monthly "));
    ck_assert_ptr_nonnull(strstr(out, "schedule  every_k_hours "));
    ck_assert_ptr_nonnull(strstr(out, "    weights    list      required  SYMBOL:WEIGHT pairs"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s strategies --plugin /nonexistent-cpo-dir/p.so", CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &out), 1);
    ck_assert_str_eq(out, "cpo: /nonexistent-cpo-dir/p.so: cannot load plugin: "
                          "/nonexistent-cpo-dir/p.so: cannot open shared object file: No such "
                          "file or directory (expected a shared object)\n");
    free(out);
    /* Stages named: a ROLE.STAGE, a stage, a role (here the plugin's). */
    snprintf(cmd, sizeof cmd, "%s strategies --plugin %s weigh.meanvar voltarget every_k_hours",
             CPO_BINARY, CPO_EXAMPLE_PLUGIN);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "weigh     meanvar "));
    ck_assert_ptr_nonnull(strstr(out, "overlay   voltarget "));
    ck_assert_ptr_nonnull(strstr(out, "schedule  every_k_hours "));
    ck_assert_ptr_null(strstr(out, "schedule  monthly "));
    ck_assert_ptr_null(strstr(out, "weigh     equal "));
    free(out);
    snprintf(cmd, sizeof cmd, "%s strategies extra", CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &out), 2);
    const char *want = "cpo: no stage \"extra\" (expected a stage, ROLE.STAGE or a role: "
                       "schedule.every, schedule.once, ";
    ck_assert_msg(!strncmp(out, want, strlen(want)), "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "hedge.delta_hedge)\nusage: cpo strategies "
                                      "[--plugin PATH]... [STAGE]...\n"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s strategies --plugins x", CPO_BINARY);
    ck_assert_int_eq(tu_run(cmd, &out), 2);
    ck_assert_str_eq(out, "cpo: unknown option or missing value \"--plugins\"\nusage: cpo "
                          "strategies [--plugin PATH]... [STAGE]...\n");
    free(out);
}
END_TEST

static Suite *stages_suite(void)
{
    Suite *s = suite_create("stages");
    TCase *reg = tcase_create("registry");
    tcase_add_test(reg, test_registry_builtins);
    tcase_add_test(reg, test_registry_print);
    tcase_add_test(reg, test_registry_plugin_loads);
    tcase_add_test(reg, test_registry_plugin_rollback);
    tcase_add_test(reg, test_registry_load_refusals);
    tcase_add_test(reg, test_registry_add_refusals);
    tcase_add_test(reg, test_params_refused);
    tcase_add_test(reg, test_cmd_strategies);
    suite_add_tcase(s, reg);
    TCase *run = tcase_create("run");
    tcase_add_test(run, test_sched_every_once_every_n);
    tcase_add_test(run, test_sched_daily);
    tcase_add_test(run, test_sched_weekly);
    tcase_add_test(run, test_sched_monthly_trades);
    tcase_add_test(run, test_sched_monthly_edges);
    tcase_add_test(run, test_sched_drift_abs);
    tcase_add_test(run, test_sched_drift_rel);
    tcase_add_test(run, test_select_all_and_list);
    tcase_add_test(run, test_select_top_volume);
    tcase_add_test(run, test_select_top_cap);
    tcase_add_test(run, test_overlay_events);
    tcase_add_test(run, test_overlay_risk_limits);
    tcase_add_test(run, test_weigh_equal);
    tcase_add_test(run, test_weigh_fixed);
    tcase_add_test(run, test_plugin_stages_run);
    suite_add_tcase(s, run);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stages_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
