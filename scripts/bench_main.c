/*
 * bench_main.c - cpo's benchmark driver (run by scripts/bench.sh).
 *
 * Reports speeds, asserts nothing:
 *   import  CSV import speed, MB/s of file bytes and rows/s (warm cache,
 *           best of 3), on a generated Binance klines file
 *   load    store load speed, MB/s of column bytes (warm file, best of 3),
 *           on a synthetic store, compressed and uncompressed
 *   cube    time to build the aligned market cube from a loaded store
 *   sweep   backtests per second of a 100-point grid on 1 and 2 threads,
 *           and the scaling efficiency
 *   env     steps per second of the learning agents' interface (cpo/env.h)
 *           on 8 synthetic daily coins: one env, and a vector of 64 envs
 *           stepped in one call, trading every step; one env holding
 *           (scripts/bench_env.py adds cpo.Env and cpo.VecEnv)
 * and, for the whole-process figures of bench.sh,
 *   cpo_bench klines FILE MB   writes the klines file of `import` and keeps it
 */
#define _DEFAULT_SOURCE
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpo/alloc.h"
#include "cpo/backtest.h"
#include "cpo/black76.h"
#include "cpo/dataset.h"
#include "cpo/env.h"
#include "cpo/registry.h"
#include "params.h"
#include "cpo/import.h"
#include "cpo/market.h"
#include "cpo/synth.h"
#include "cpo/config.h"
#include "cpo/run.h"
#include "cpo/sweep.h"
#include "cpo/time.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double file_mb(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (double)st.st_size / 1e6 : 0.0;
}

static int die(const cpo_error *e)
{
    char buf[1024];
    cpo_error_format(e, buf, sizeof buf);
    fprintf(stderr, "bench: %s\n", buf);
    return 1;
}

/* A Binance-style klines file of about `mb` megabytes (ms stamps, 1m bars). */
static int write_klines(const char *path, double mb, size_t *rows)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("timestamp,open,high,low,close,volume,quote_volume,trades,close_time\n", f);
    uint64_t s = 88172645463325252ULL;
    double px = 42000.0;
    int64_t t = INT64_C(1577836800000);
    size_t n = 0;
    long target = (long)(mb * 1e6);
    while (ftell(f) < target) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
        double o = px, c = px * (1 + 0.002 * u);
        double h = fmax(o, c) * 1.0007, l = fmin(o, c) * 0.9993;
        fprintf(f, "%lld,%.2f,%.2f,%.2f,%.2f,%.5f,%.5f,%d,%lld\n", (long long)t, o, h, l, c,
                100 + 50 * u, (100 + 50 * u) * c, 1000 + (int)(u * 500), (long long)(t + 59999));
        px = c;
        t += 60000;
        n++;
    }
    *rows = n;
    return fclose(f);
}

static int bench_import(const char *dir, double mb)
{
    char path[512];
    snprintf(path, sizeof path, "%s/BENCHUSDT_1m.csv", dir);
    size_t rows = 0;
    if (write_klines(path, mb, &rows)) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        return 1;
    }
    double size = file_mb(path), best = 1e30;
    cpo_import_opts o;
    cpo_import_opts_init(&o);
    o.format = CPO_FMT_BINANCE_KLINES;
    o.symbol = "BENCHUSDT";
    for (int rep = 0; rep < 3; rep++) {
        cpo_dataset *ds = NULL;
        cpo_error e;
        cpo_import_report r;
        if (cpo_dataset_new(&ds, &e))
            return die(&e);
        double t0 = now();
        if (cpo_import_file(ds, path, &o, &r, &e)) {
            cpo_dataset_free(ds);
            return die(&e);
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
        cpo_dataset_free(ds);
    }
    printf("import   binance-klines %.1f MB, %zu rows: %.3f s  ->  %.0f MB/s, %.2f M rows/s\n",
           size, rows, best, size / best, rows / best / 1e6);
    remove(path);
    return 0;
}

static size_t dataset_bytes(const cpo_dataset *ds)
{
    size_t b = 0;
    for (size_t i = 0; i < ds->n_instr; i++)
        b += ds->bars[i].n * (8 + (ds->bars[i].mark_high ? 9 : 7) * 8) +
             ds->funding[i].n * 4 * 8;
    return b;
}

static int bench_load(const char *dir, size_t assets, size_t steps)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = assets;
    s.n_steps = steps;
    cpo_dataset *ds = NULL;
    cpo_error e;
    if (cpo_dataset_new(&ds, &e) || cpo_synth_generate(ds, &s, &e))
        return die(&e);
    size_t bytes = dataset_bytes(ds);
    char path[512];
    snprintf(path, sizeof path, "%s/bench.h5", dir);
    printf("store    %zu assets x %zu steps, %.0f MB of columns\n", assets, steps, bytes / 1e6);
    cpo_dataset *back = NULL;
    static const int levels[2] = {4, 0};
    for (int lv = 0; lv < 2; lv++) {
        cpo_store_opts so;
        cpo_store_opts_init(&so);
        so.deflate = levels[lv];
        double t0 = now();
        if (cpo_store_write_opts(ds, path, &so, &e))
            return die(&e);
        double wt = now() - t0, best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            cpo_dataset_free(back);
            back = NULL;
            t0 = now();
            if (cpo_store_read(&back, path, &e))
                return die(&e);
            double dt = now() - t0;
            if (dt < best)
                best = dt;
        }
        printf("%s  %.0f MB on disk; write %.2f s (%.0f MB/s); load %.3f s -> %.0f MB/s "
               "(warm file, best of 3)\n",
               levels[lv] ? "deflate 4" : "no deflate", file_mb(path), wt, bytes / 1e6 / wt, best,
               bytes / 1e6 / best);
    }
    cpo_dataset_free(ds);
    double t0;

    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    cpo_market *m = NULL;
    double cb = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now();
        if (cpo_market_build(&m, back, &ms, &e))
            return die(&e);
        double dt = now() - t0;
        if (dt < cb)
            cb = dt;
        cpo_market_free(m);
        m = NULL;
    }
    printf("cube     build %.3f s  ->  %.0f MB/s\n", cb, bytes / 1e6 / cb);
    cpo_dataset_free(back);
    remove(path);
    return 0;
}

/* Peak resident memory (VmHWM) in MB; reset_peak() starts a new peak. */
static double peak_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atof(line + 6);
    if (f)
        fclose(f);
    return kb / 1024.0;
}

static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static int add_stage(cpo_run_spec *spec, const cpo_registry *reg, cpo_stage_role role,
                     const char *name, cpo_error *e)
{
    const cpo_stage_def *d = cpo_registry_find(reg, role, name);
    if (!d)
        return cpo_error_set(e, CPO_ENOTFOUND, NULL, 0, 0, "no stage %s", name);
    cpo_params *p = NULL;
    int rc = cpo_params_new(&p, d, e);
    if (rc)
        return rc;
    if (cpo_params_finish(p, NULL)) {
        cpo_params_free(p);
        return cpo_error_set(e, CPO_EINVAL, NULL, 0, 0, "stage %s needs parameters", name);
    }
    spec->stages[spec->n_stages].def = d;
    spec->stages[spec->n_stages].params = p;
    spec->n_stages++;
    return 0;
}

static int count_rows(void *ctx, const cpo_ledger_row *rows, size_t n, cpo_error *err)
{
    (void)rows;
    (void)err;
    *(size_t *)ctx += n;
    return 0;
}

/*
 * Engine throughput: `assets` synthetic spot coins x `steps` hourly bars,
 * monthly equal-weight rebalance, fees and slippage on; asset-steps per
 * second on one core (best of 3), at both ledger detail levels, and the
 * peak memory of the run against the size of the market data.
 */
static int bench_engine(size_t assets, size_t steps)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = assets;
    s.n_steps = steps;
    cpo_dataset *ds = NULL;
    cpo_market *m = NULL;
    cpo_registry *reg = NULL;
    cpo_error e;
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    if (cpo_dataset_new(&ds, &e) || cpo_synth_generate(ds, &s, &e) ||
        cpo_market_build(&m, ds, &ms, &e) || cpo_registry_new(&reg, &e))
        return die(&e);
    cpo_dataset_free(ds);
    size_t n_cols = 0; /* the fields the cube allocated (mark_high/low only with values) */
    for (int f = 0; f < CPO_F_COUNT; f++)
        n_cols += m->col[f] != NULL;
    double cube_mb = (double)m->n_steps * m->n_instr * (n_cols * 8 + 1) / 1e6;
    cpo_run_spec spec;
    cpo_run_spec_init(&spec);
    if (add_stage(&spec, reg, CPO_ROLE_SCHEDULE, "monthly", &e) ||
        add_stage(&spec, reg, CPO_ROLE_WEIGH, "equal", &e))
        return die(&e);
    spec.costs.slippage_bps = 2.0;
    for (int detail = 0; detail < 2; detail++) {
        spec.detail = detail ? CPO_DETAIL_INSTRUMENT : CPO_DETAIL_TOTALS;
        double best = 1e30, peak = 0;
        size_t rows = 0, trades = 0;
        for (int rep = 0; rep < 3; rep++) {
            cpo_result *r = NULL;
            rows = 0;
            reset_peak();
            double t0 = now();
            if (cpo_backtest_run(&r, m, &spec, detail ? count_rows : NULL, &rows, &e))
                return die(&e);
            double dt = now() - t0;
            if (dt < best)
                best = dt;
            peak = peak_mb();
            trades = r->n_trades;
            if (r->max_rel_residual > 1e-9)
                fprintf(stderr, "bench: residual %.3g\n", r->max_rel_residual);
            cpo_result_free(r);
        }
        double as = (double)assets * (double)m->n_steps;
        printf("engine   %zu assets x %zu steps, monthly equal weight, detail %s: %.3f s -> %.1f M "
               "asset-steps/s (%zu trades%s); peak RSS %.0f MB = %.2fx the %.0f MB market\n",
               assets, m->n_steps, detail ? "instrument" : "totals", best, as / best / 1e6, trades,
               detail ? ", rows to a counting sink" : "", peak, peak / cube_mb, cube_mb);
        (void)rows;
    }
    for (size_t k = 0; k < spec.n_stages; k++)
        cpo_params_free(spec.stages[k].params);
    cpo_market_free(m);
    cpo_registry_free(reg);
    return 0;
}

/*
 * Sweep throughput: a 100-point grid (10 schedules x 10 slippages) of
 * equal-weight backtests on a synthetic store of 50 coins x 8,760 hourly
 * bars, the market loaded once; backtests per second on 1 and 2 threads
 * (best of 5, interleaved) and the scaling efficiency (rate_2 / rate_1) / 2.
 */
static int bench_sweep(const char *dir)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 50;
    s.n_steps = 8760;
    cpo_dataset *ds = NULL;
    cpo_config *cfg = NULL;
    cpo_sweep *sw = NULL;
    cpo_market *m = NULL;
    cpo_sweep_task *tasks = NULL;
    cpo_sweep_result *res = NULL;
    cpo_error e;
    char store[512], ini[512];
    snprintf(store, sizeof store, "%s/sweep.h5", dir);
    snprintf(ini, sizeof ini, "%s/sweep.ini", dir);
    if (cpo_dataset_new(&ds, &e) || cpo_synth_generate(ds, &s, &e) ||
        cpo_store_write(ds, store, &e))
        return die(&e);
    cpo_dataset_free(ds);
    FILE *f = fopen(ini, "w");
    if (!f)
        return 1;
    fputs("[backtest]\ndata = sweep.h5\ncapital = 1000000\n"
          "[costs]\nfee_bps = 10\n"
          "[strategy]\nschedule = every_n\nweigh = equal\n"
          "[schedule.every_n]\nn = 24\n"
          "[sweep]\nschedule.every_n.n = 24, 48, 72, 96, 120, 168, 240, 336, 504, 720\n"
          "costs.slippage_bps = 0:9:1\n",
          f);
    fclose(f);
    if (cpo_config_load(&cfg, ini, &e) || cpo_sweep_load(&sw, cfg, &e) ||
        cpo_run_market(&m, cfg, &e))
        return die(&e);
    size_t n = sw->n_points;
    tasks = malloc(n * sizeof *tasks);
    res = calloc(n, sizeof *res);
    if (!tasks || !res)
        return 1;
    for (size_t i = 0; i < n; i++) {
        tasks[i].point = i;
        tasks[i].start_ms = tasks[i].end_ms = CPO_TIME_NONE;
    }
    /* Interleaved (1, 2, 1, 2, ...) so that both see the same machine. */
    double rate[3] = {0, 0, 0}, cpu_ms[3] = {0, 0, 0};
    for (int rep = 0; rep < 5; rep++)
        for (int j = 1; j <= 2; j++) {
            cpo_sweep_exec x;
            cpo_sweep_exec_init(&x);
            x.n_threads = j;
            struct timespec c0, c1;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
            double t0 = now();
            if (cpo_sweep_run_tasks(sw, m, tasks, n, &x, res, NULL, &e))
                return die(&e);
            double r = (double)n / (now() - t0);
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
            double c = ((double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9) /
                       (double)n * 1e3;
            if (r > rate[j]) {
                rate[j] = r;
                cpu_ms[j] = c;
            }
            for (size_t i = 0; i < n; i++)
                if (res[i].status) {
                    fprintf(stderr, "bench: point %zu: %s\n", i, res[i].error);
                    return 1;
                }
        }
    printf("sweep    %zu-point grid, %zu coins x %zu hourly steps, market loaded once: "
           "-j 1 %.1f backtests/s, -j 2 %.1f backtests/s -> scaling efficiency %.0f%% "
           "(best of 5); CPU per backtest %.2f ms and %.2f ms\n",
           n, s.n_assets, m->n_steps, rate[1], rate[2], rate[2] / rate[1] / 2.0 * 100.0,
           cpu_ms[1], cpu_ms[2]);
    free(tasks);
    free(res);
    cpo_market_free(m);
    cpo_sweep_free(sw);
    cpo_config_free(cfg);
    remove(store);
    remove(ini);
    return 0;
}

/*
 * The step interface: 8 synthetic spot coins x 2,000 daily bars, fees and
 * slippage on, episodes of 256 decisions from random windows, an action of
 * 8 weights that changes every step (so every step trades 8 fills), the
 * default observation (10 returns, vol and weight per coin, equity: 97
 * values).  Steps per second on one core (best of 3 runs of >= 1 s), one
 * env stepped by cpo_env_step, and 64 envs by cpo_vecenv_step; resets (one
 * every 256 steps) are counted in the time.
 */
static int bench_env(const char *dir)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 8;
    s.n_steps = 2000;
    s.step_ms = CPO_MS_DAY;
    cpo_dataset *ds = NULL;
    cpo_error e;
    char store[512];
    snprintf(store, sizeof store, "%s/env.h5", dir);
    if (cpo_dataset_new(&ds, &e) || cpo_synth_generate(ds, &s, &e) ||
        cpo_store_write(ds, store, &e))
        return die(&e);
    cpo_dataset_free(ds);
    char text[1024];
    snprintf(text, sizeof text,
             "[backtest]\ndata = %s\ncapital = 1000000\ncash_buffer = 0.01\n"
             "[costs]\nfee_bps = 10\nslippage_bps = 5\n"
             "[env]\nepisode_steps = 256\nlong_only = yes\n",
             store);
    enum { NV = 64, NA = 8 };
    cpo_env *env = NULL;
    cpo_vecenv *v = NULL;
    if (cpo_env_new(&env, "bench_env.ini", text, NULL, 0, &e) ||
        cpo_vecenv_new(&v, NV, "bench_env.ini", text, NULL, 0, &e))
        return die(&e);
    size_t no = cpo_env_obs_size(env);
    double *obs = malloc(NV * no * sizeof *obs), *fin = malloc(NV * no * sizeof *fin);
    double act[NV * NA], rew[NV];
    uint8_t te[NV], tr[NV];
    if (!obs || !fin)
        return 1;
    double best1 = 0.0, bestv = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t seed = (uint64_t)rep;
        cpo_env_status st;
        size_t steps = 0;
        double t0 = now(), dt = 0.0;
        if (cpo_env_reset(env, &seed, obs, &st, &e))
            return die(&e);
        while (dt < 1.0) {
            for (int k = 0; k < 4096; k++) {
                for (size_t i = 0; i < NA; i++)
                    act[i] = 0.1 + 0.02 * (double)((steps + i) % 3);
                if (cpo_env_step(env, act, NA, obs, &st, &e))
                    return die(&e);
                steps++;
                if ((st.terminated || st.truncated) && cpo_env_reset(env, NULL, obs, &st, &e))
                    return die(&e);
            }
            dt = now() - t0;
        }
        if (steps / dt > best1)
            best1 = (double)steps / dt;
        if (cpo_vecenv_reset(v, &seed, obs, &e))
            return die(&e);
        steps = 0;
        t0 = now();
        dt = 0.0;
        while (dt < 1.0) {
            for (int k = 0; k < 64; k++) {
                for (size_t j = 0; j < NV * NA; j++)
                    act[j] = 0.1 + 0.02 * (double)((steps + j) % 3);
                if (cpo_vecenv_step(v, act, NV * NA, obs, rew, te, tr, fin, &e))
                    return die(&e);
                steps += NV;
            }
            dt = now() - t0;
        }
        if (steps / dt > bestv)
            bestv = (double)steps / dt;
    }
    printf("env      8 coins x %zu daily bars, episodes of 256 steps, 8 fills a step, %zu-value "
           "observations: cpo_env_step %.2f M steps/s; cpo_vecenv_step (64 envs) %.2f M "
           "steps/s (best of 3, one core)\n",
           s.n_steps, no, best1 / 1e6, bestv / 1e6);
    /* The same env holding (action = deltas of 0: no orders), for the cost
     * of a step without the engine's order sizing and fills. */
    cpo_env *hold = NULL;
    snprintf(text + strlen(text), sizeof text - strlen(text), "action = deltas\n");
    if (cpo_env_new(&hold, "bench_env.ini", text, NULL, 0, &e))
        return die(&e);
    double besth = 0.0, zero[NA] = {0};
    for (int rep = 0; rep < 3; rep++) {
        uint64_t seed = (uint64_t)rep;
        cpo_env_status st;
        size_t steps = 0;
        double t0 = now(), dt = 0.0;
        if (cpo_env_reset(hold, &seed, obs, &st, &e))
            return die(&e);
        while (dt < 1.0) {
            for (int k = 0; k < 4096; k++) {
                if (cpo_env_step(hold, zero, NA, obs, &st, &e))
                    return die(&e);
                steps++;
                if ((st.terminated || st.truncated) && cpo_env_reset(hold, NULL, obs, &st, &e))
                    return die(&e);
            }
            dt = now() - t0;
        }
        if (steps / dt > besth)
            besth = (double)steps / dt;
    }
    printf("env      holding (no orders): cpo_env_step %.2f M steps/s\n", besth / 1e6);
    cpo_env_free(hold);
    free(obs);
    free(fin);
    cpo_env_free(env);
    cpo_vecenv_free(v);
    remove(store);
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    if (!strcmp(what, "klines")) {
        size_t rows = 0;
        if (argc != 4 || write_klines(argv[2], atof(argv[3]), &rows)) {
            fprintf(stderr, "bench: cannot write the klines file (expected cpo_bench klines "
                            "FILE MB)\n");
            return 1;
        }
        return 0;
    }
    double mb = argc > 2 ? atof(argv[2]) : 100.0;
    size_t assets = argc > 3 ? (size_t)atol(argv[3]) : 100;
    size_t steps = argc > 4 ? (size_t)atol(argv[4]) : 87600;
    gsl_set_error_handler_off();
    char dir[] = "/tmp/cpo-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench: mkdtemp");
        return 1;
    }
    int rc = 0;
    if (!strcmp(what, "all") || !strcmp(what, "import"))
        rc |= bench_import(dir, mb);
    if (!strcmp(what, "all") || !strcmp(what, "load"))
        rc |= bench_load(dir, assets, steps);
    if (!strcmp(what, "all") || !strcmp(what, "engine"))
        rc |= bench_engine(assets, steps);
    if (!strcmp(what, "all") || !strcmp(what, "options"))
        rc |= cpo_black76_bench(stdout) != 0;
    if (!strcmp(what, "all") || !strcmp(what, "alloc"))
        rc |= cpo_alloc_bench(stdout) != 0;
    if (!strcmp(what, "all") || !strcmp(what, "sweep"))
        rc |= bench_sweep(dir);
    if (!strcmp(what, "all") || !strcmp(what, "env"))
        rc |= bench_env(dir);
    rmdir(dir);
    return rc;
}
