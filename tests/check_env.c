/* check_env.c - the step interface for learning agents (cpo/env.h): an
 * episode replayed by `cpo run` gives the same ledger and trades byte for
 * byte; observations and rewards against hand calculations from the cube
 * and the episode's own ledger; determinism, vectors, no look-ahead, and
 * every bad input with its exact message. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/api.h"
#include "cpo/config.h"
#include "cpo/dataset.h"
#include "cpo/env.h"
#include "cpo/run.h"
#include "cpo/synth.h"
#include "cpo/time.h"
#include "testutil.h"

/* A seeded synthetic store in dir/store.h5: `assets` spot coins
 * SYN000USDT.. and, with perps, a USDT-M perpetual each (mark and index
 * columns, 8-hourly funding), `steps` daily bars from 2024-01-01. */
static void make_store(const char *dir, size_t assets, size_t steps, int perps)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.seed = 17;
    s.n_assets = assets;
    s.n_steps = steps;
    s.step_ms = CPO_MS_DAY;
    s.perps = perps;
    cpo_dataset *ds = NULL;
    cpo_error e;
    char *p = tu_path(dir, "store.h5");
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    ck_assert_msg(cpo_synth_generate(ds, &s, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    free(p);
}

/* Write text as dir/name and return its path (caller frees). */
static char *write_cfg(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);
    tu_write_file(p, text);
    return p;
}

static cpo_env *open_env(const char *path, const char *const *ov, size_t n)
{
    cpo_env *env = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_env_new(&env, path, NULL, ov, n, &e) == 0, "%s", tu_errstr(&e));
    return env;
}

/* A deterministic uniform in [-1, 1) (xorshift64*). */
static double unif(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * UINT64_C(2685821657736338717)) >> 11) / 4503599627370496.0 - 1.0;
}

/* The equity column of a ledger.csv (second field), into eq; returns rows. */
static size_t ledger_equity(const char *path, double *eq, size_t cap)
{
    size_t len = 0, n = 0;
    char *text = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    char *line = strchr(text, '\n'); /* the header */
    while (line && line[1] && n < cap) {
        char *comma = strchr(line + 1, ',');
        ck_assert_ptr_nonnull(comma);
        eq[n++] = strtod(comma + 1, NULL);
        line = strchr(line + 1, '\n');
    }
    free(text);
    return n;
}

static void files_equal(const char *a_dir, const char *b_dir, const char *name)
{
    char *a = tu_path(a_dir, name), *b = tu_path(b_dir, name);
    size_t na = 0, nb = 0;
    char *ta = tu_read_file(a, &na), *tb = tu_read_file(b, &nb);
    ck_assert_msg(ta && tb, "%s or %s missing", a, b);
    ck_assert_msg(na == nb && !memcmp(ta, tb, na), "%s and %s differ", a, b);
    free(ta);
    free(tb);
    free(a);
    free(b);
}

#define SPOT_CFG                                                                              \
    "[backtest]\ndata = store.h5\nstart = 2024-01-15\nend = 2024-09-30\ncapital = 1000000\n"    \
    "warmup = 14d\ncash_buffer = 0.01\n"                                                       \
    "[universe]\nspot = SYN000, SYN001, SYN002, SYN003\n"                                      \
    "[costs]\nfee_bps = 10\nslippage_bps = 5\n"

/* --- replay: the episode's files again from cpo run ---------------------------- */

/* An episode of random actions (scale: their size) from seed, written to
 * dir/ep, then `cpo run dir/ep/replay.ini -o dir/run`: the same ledger and
 * trades, byte for byte.  Returns the number of trades written. */
static size_t replay_check(const char *dir, const char *cfg_text, uint64_t seed, double scale)
{
    char *cfg = write_cfg(dir, "env.ini", cfg_text);
    cpo_env *env = open_env(cfg, NULL, 0);
    size_t no = cpo_env_obs_size(env), na = cpo_env_action_size(env);
    double *obs = malloc(no * sizeof *obs), *act = malloc(na * sizeof *act);
    cpo_env_status st;
    cpo_error e;
    ck_assert_msg(cpo_env_reset(env, &seed, obs, &st, &e) == 0, "%s", tu_errstr(&e));
    uint64_t rs = seed * 7919 + 1;
    while (!st.terminated && !st.truncated) {
        for (size_t i = 0; i < na; i++)
            act[i] = scale * unif(&rs);
        ck_assert_msg(cpo_env_step(env, act, na, obs, &st, &e) == 0, "%s", tu_errstr(&e));
    }
    char *ep = tu_path(dir, "ep"), *run = tu_path(dir, "run");
    ck_assert_msg(cpo_env_write_episode(env, ep, &e) == 0, "%s", tu_errstr(&e));
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run --quiet --force -o %s %s/replay.ini", CPO_BINARY, run, ep);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "cpo run: %s", out);
    free(out);
    files_equal(ep, run, "ledger.csv");
    files_equal(ep, run, "trades.csv");
    /* The trades the episode made (lines of trades.csv but the header). */
    char *tp = tu_path(ep, "trades.csv");
    size_t len = 0, lines = 0;
    char *text = tu_read_file(tp, &len);
    for (size_t k = 0; k < len; k++)
        lines += text[k] == '\n';
    free(text);
    free(tp);
    free(ep);
    free(run);
    free(obs);
    free(act);
    cpo_env_free(env);
    free(cfg);
    return lines - 1;
}

START_TEST(test_env_replay__spot_shorts_financing)
{
    /* Spot long and short (borrowed coins), fills at the next open, cash
     * interest and borrow costs, a random window of 40 decisions. */
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    const char *cfg = SPOT_CFG "[financing]\ncash.USD = 0.03\nborrow.USD = 0.08\n"
                               "borrow.SYN001 = 0.05\n"
                               "[env]\nepisode_steps = 40\nmax_gross = 1.5\n";
    for (uint64_t seed = 1; seed <= 3; seed++)
        ck_assert_uint_gt(replay_check(dir, cfg, seed, 0.6), 100);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_env_replay__perps_margin_close_fills_deltas)
{
    /* Spot and perpetuals, 3x leverage, cross margin, funding, fills at the
     * decision's close, actions as changes of weight. */
    char *dir = tu_tmpdir();
    make_store(dir, 3, 300, 1);
    const char *cfg =
        "[backtest]\ndata = store.h5\nstart = 2024-02-01\ncapital = 500000\n"
        "[universe]\nspot = SYN000, SYN001\nperp = SYN000, SYN001, SYN002\n"
        "[costs]\nfill = close\nspot_fee_bps = 10\nperp_fee_bps = 4\nslippage_bps = 2\n"
        "perp_leverage = 3\n"
        "[margin]\nmode = cross\n"
        "[env]\nepisode_steps = 60\naction = deltas\nmax_weight = 0.8\nmax_gross = 2\n"
        "features = returns, vol, funding, basis, weights, equity, margin\n";
    for (uint64_t seed = 5; seed <= 6; seed++)
        ck_assert_uint_gt(replay_check(dir, cfg, seed, 0.3), 60);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_env_replay__whole_period_isolated_impact)
{
    /* The whole period from its first bar (no warmup in the replay),
     * isolated margin, square-root impact and a participation cap. */
    char *dir = tu_tmpdir();
    make_store(dir, 2, 120, 1);
    const char *cfg =
        "[backtest]\ndata = store.h5\ncapital = 2000000\n"
        "[universe]\nperp = SYN000, SYN001\n"
        "[costs]\nperp_leverage = 5\nimpact_coef = 0.1\nparticipation_cap = 0.5\n"
        "[margin]\nmode = isolated\n"
        "[env]\nrandom_start = no\nmax_weight = 2\nmax_gross = 3\n";
    ck_assert_uint_gt(replay_check(dir, cfg, 9, 2.0), 100);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- determinism and vectors ------------------------------------------------------ */

START_TEST(test_env_determinism__same_seed_same_bits)
{
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    char *cfg = write_cfg(dir, "env.ini", SPOT_CFG "[env]\nepisode_steps = 25\n");
    cpo_env *a = open_env(cfg, NULL, 0), *b = open_env(cfg, NULL, 0);
    size_t no = cpo_env_obs_size(a), na = cpo_env_action_size(a);
    ck_assert_uint_eq(no, 4 * (10 + 1 + 1) + 1); /* returns, vol, weight; equity */
    double oa[64], ob[64], act[4];
    cpo_env_status sa, sb;
    cpo_error e;
    uint64_t seed = 11;
    ck_assert_int_eq(cpo_env_reset(a, &seed, oa, &sa, &e), 0);
    ck_assert_int_eq(cpo_env_reset(b, &seed, ob, &sb, &e), 0);
    ck_assert_int_eq(sa.ts_ms, sb.ts_ms);
    ck_assert(!memcmp(oa, ob, no * sizeof *oa));
    uint64_t rs = 3;
    while (!sa.truncated) {
        for (size_t i = 0; i < na; i++)
            act[i] = unif(&rs);
        ck_assert_int_eq(cpo_env_step(a, act, na, oa, &sa, &e), 0);
        ck_assert_int_eq(cpo_env_step(b, act, na, ob, &sb, &e), 0);
        ck_assert(!memcmp(oa, ob, no * sizeof *oa));
        ck_assert(!memcmp(&sa.reward, &sb.reward, sizeof sa.reward));
    }
    ck_assert_uint_eq(sa.step, 25);
    /* Other seeds draw other windows (first bars 2024-01-15 .. 2024-09-05:
     * 235 choices; seeds 11..14 give at least two of them). */
    int64_t first[4];
    for (uint64_t s = 11; s < 15; s++) {
        ck_assert_int_eq(cpo_env_reset(a, &s, oa, &sa, &e), 0);
        first[s - 11] = sa.ts_ms;
        ck_assert_int_ge(sa.ts_ms, INT64_C(1705276800000)); /* 2024-01-15 */
    }
    ck_assert(first[0] != first[1] || first[0] != first[2] || first[0] != first[3]);
    cpo_env_free(a);
    cpo_env_free(b);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_env_vector__equals_single_envs)
{
    /* Env k of a vector reset with seed s is a single env reset with s + k;
     * an env that ends is reset at once from its generator, as a single env
     * reset without a seed. */
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    char *cfg = write_cfg(dir, "env.ini", SPOT_CFG "[env]\nepisode_steps = 7\n");
    enum { K = 3 };
    cpo_vecenv *v = NULL;
    cpo_error e;
    ck_assert_msg(cpo_vecenv_new(&v, K, cfg, NULL, NULL, 0, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(cpo_vecenv_size(v), K);
    cpo_env *one[K];
    size_t no = cpo_env_obs_size(cpo_vecenv_env(v, 0)), na = 4;
    double vo[K * 64], vfin[K * 64], so[K][64], act[K * 4], vr[K];
    uint8_t vt[K], vu[K];
    uint64_t seed = 40;
    ck_assert_int_eq(cpo_vecenv_reset(v, &seed, vo, &e), 0);
    for (size_t k = 0; k < K; k++) {
        one[k] = open_env(cfg, NULL, 0);
        uint64_t s = seed + k;
        ck_assert_int_eq(cpo_env_reset(one[k], &s, so[k], NULL, &e), 0);
        ck_assert(!memcmp(vo + k * no, so[k], no * sizeof(double)));
    }
    uint64_t rs = 5;
    size_t ends = 0;
    for (int step = 0; step < 20; step++) {
        for (size_t j = 0; j < K * na; j++)
            act[j] = unif(&rs);
        ck_assert_int_eq(cpo_vecenv_step(v, act, K * na, vo, vr, vt, vu, vfin, &e), 0);
        for (size_t k = 0; k < K; k++) {
            cpo_env_status st;
            ck_assert_int_eq(cpo_env_step(one[k], act + k * na, na, so[k], &st, &e), 0);
            ck_assert(!memcmp(&vr[k], &st.reward, sizeof st.reward));
            ck_assert_int_eq(vt[k], st.terminated);
            ck_assert_int_eq(vu[k], st.truncated);
            if (st.truncated) {
                ends++;
                ck_assert(!memcmp(vfin + k * no, so[k], no * sizeof(double)));
                ck_assert_int_eq(cpo_env_reset(one[k], NULL, so[k], NULL, &e), 0);
            }
            ck_assert(!memcmp(vo + k * no, so[k], no * sizeof(double)));
        }
    }
    ck_assert_uint_eq(ends, 2 * K); /* 7 decisions an episode: after 7 and 14 */
    for (size_t k = 0; k < K; k++)
        cpo_env_free(one[k]);
    cpo_vecenv_free(v);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- observations ---------------------------------------------------------------- */

START_TEST(test_env_observation__by_hand)
{
    /* Every feature of SYN000USDT-PERP and SYN000USDT recomputed from the
     * cube of the same config (cpo_run_market), at each close. */
    char *dir = tu_tmpdir();
    make_store(dir, 2, 200, 1);
    const char *text =
        "[backtest]\ndata = store.h5\nstart = 2024-02-01\ncapital = 1000000\n"
        "[universe]\nspot = SYN000\nperp = SYN000\n"
        "[costs]\nperp_leverage = 2\n"
        "[env]\nwindow = 5\nvol_window = 4\nepisode_steps = 12\n"
        "features = returns, vol, funding, basis, weights, equity, margin\n";
    char *cfg_path = write_cfg(dir, "env.ini", text);
    cpo_env *env = open_env(cfg_path, NULL, 0);
    cpo_config *cfg = NULL;
    cpo_market *m = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_config_load(&cfg, cfg_path, &e), CPO_ECONFIG); /* no [strategy] */
    char sec[] = "strategy", sch[] = "schedule", every[] = "every", wk[] = "weigh",
         eq[] = "equal";
    cpo_config_key ks[2] = {{sec, sch, every, 0}, {sec, wk, eq, 0}};
    ck_assert_msg(cpo_config_load_with(&cfg, cfg_path, ks, 2, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_run_market(&m, cfg, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(m->n_instr, 2);
    size_t no = cpo_env_obs_size(env);
    ck_assert_uint_eq(no, 2 * (5 + 4) + 2);
    ck_assert_str_eq(cpo_env_obs_name(env, 0), "SYN000USDT:return[-4]");
    ck_assert_str_eq(cpo_env_obs_name(env, 4), "SYN000USDT:return[0]");
    ck_assert_str_eq(cpo_env_obs_name(env, 5), "SYN000USDT:vol");
    ck_assert_str_eq(cpo_env_obs_name(env, 6), "SYN000USDT:funding");
    ck_assert_str_eq(cpo_env_obs_name(env, 7), "SYN000USDT:basis");
    ck_assert_str_eq(cpo_env_obs_name(env, 8), "SYN000USDT:weight");
    ck_assert_str_eq(cpo_env_obs_name(env, 9), "SYN000USDT-PERP:return[-4]");
    ck_assert_str_eq(cpo_env_obs_name(env, 18), "equity");
    ck_assert_str_eq(cpo_env_obs_name(env, 19), "margin");
    ck_assert_ptr_null(cpo_env_obs_name(env, 20));
    ck_assert_str_eq(cpo_env_action_name(env, 1), "SYN000USDT-PERP");
    double obs[32], act[2] = {0.5, -0.5}; /* long spot, short perp */
    cpo_env_status st;
    uint64_t seed = 2;
    ck_assert_int_eq(cpo_env_reset(env, &seed, obs, &st, &e), 0);
    for (;;) {
        long t = cpo_market_step_at(m, st.ts_ms);
        ck_assert_int_ge(t, 5);
        for (size_t i = 0; i < 2; i++) {
            const double *c = cpo_market_col(m, CPO_F_CLOSE, i);
            const double *o = obs + i * 9;
            /* returns: ln(c_t / c_{t-1}), the window's bars, oldest first */
            for (size_t j = 0; j < 5; j++) {
                size_t s = (size_t)t - 4 + j;
                ck_assert_double_eq_tol(o[j], log(c[s] / c[s - 1]), 1e-15);
            }
            /* vol: sample sd of the last 4 log returns */
            double r[4], mean = 0.0, ss = 0.0;
            for (size_t j = 0; j < 4; j++)
                mean += (r[j] = log(c[t - 3 + j] / c[t - 4 + j])) / 4.0;
            for (size_t j = 0; j < 4; j++)
                ss += (r[j] - mean) * (r[j] - mean);
            ck_assert_double_eq_tol(o[5], sqrt(ss / 3.0), 1e-15);
            /* funding: the latest event stamped before the bar's close */
            const cpo_funding *f = &m->funding[i];
            double want = 0.0;
            for (size_t q = 0; q < f->n; q++)
                if (f->ts[q] < st.ts_ms + CPO_MS_DAY)
                    want = f->rate[q];
            ck_assert_double_eq(o[6], want);
            if (i == 1)
                ck_assert(o[6] != 0.0); /* the perp has funding */
            /* basis: mark / index - 1 of the perp; 0 for spot */
            double mk = cpo_market_col(m, CPO_F_MARK, i)[t], ix = cpo_market_col(m, CPO_F_INDEX, i)[t];
            ck_assert_double_eq_tol(o[7], i == 1 ? mk / ix - 1.0 : 0.0, 1e-15);
            /* weight: 0 before the first fill, then near the targets (the
             * prices move between the fill and the close) */
            if (st.step == 0)
                ck_assert_double_eq(o[8], 0.0);
            else
                ck_assert_double_eq_tol(o[8], act[i], 0.06);
        }
        ck_assert_double_eq_tol(obs[18], log(st.equity / 1e6), 1e-15);
        if (st.step == 0)
            ck_assert_double_eq(obs[19], 0.0); /* nothing held yet */
        else /* a margined short: some maintenance, far from liquidation */
            ck_assert(obs[19] > 0.0 && obs[19] < 0.5);
        if (st.truncated)
            break;
        ck_assert_int_eq(cpo_env_step(env, act, 2, obs, &st, &e), 0);
    }
    cpo_market_free(m);
    cpo_config_free(cfg);
    cpo_env_free(env);
    free(cfg_path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_env_observation__no_lookahead)
{
    /* The same episode on the period 2024-02-01 .. 2024-05-01 (91 bars:
     * the episode is all of it) and on a period ending 2024-10-26 (more
     * bars after the window): every observation and reward is the same,
     * bit for bit; a feature that read a later bar would differ at the
     * short period's last bars. */
    char *dir = tu_tmpdir();
    make_store(dir, 3, 300, 1);
    const char *base =
        "[backtest]\ndata = store.h5\nstart = 2024-02-01\nend = %s\n"
        "[universe]\nspot = SYN000, SYN001\nperp = SYN002\n"
        "[env]\nrandom_start = no\nepisode_steps = 90\nwindow = 30\nvol_window = 60\n"
        "features = returns, vol, funding, basis, weights, equity, margin\n";
    char text[2048];
    snprintf(text, sizeof text, base, "2024-05-01");
    char *short_p = write_cfg(dir, "short.ini", text);
    snprintf(text, sizeof text, base, "2024-10-26");
    char *long_p = write_cfg(dir, "long.ini", text);
    cpo_env *a = open_env(short_p, NULL, 0), *b = open_env(long_p, NULL, 0);
    size_t no = cpo_env_obs_size(a);
    double oa[256], ob[256], act[3];
    cpo_env_status sa, sb;
    cpo_error e;
    ck_assert_int_eq(cpo_env_reset(a, NULL, oa, &sa, &e), 0);
    ck_assert_int_eq(cpo_env_reset(b, NULL, ob, &sb, &e), 0);
    uint64_t rs = 77;
    for (;;) {
        ck_assert_int_eq(sa.ts_ms, sb.ts_ms);
        ck_assert(!memcmp(oa, ob, no * sizeof *oa));
        ck_assert(!memcmp(&sa.reward, &sb.reward, sizeof sa.reward));
        if (sa.truncated)
            break;
        for (size_t i = 0; i < 3; i++)
            act[i] = 0.6 * unif(&rs);
        ck_assert_int_eq(cpo_env_step(a, act, 3, oa, &sa, &e), 0);
        ck_assert_int_eq(cpo_env_step(b, act, 3, ob, &sb, &e), 0);
    }
    ck_assert_uint_eq(sa.step, 90);
    cpo_env_free(a);
    cpo_env_free(b);
    free(short_p);
    free(long_p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- rewards ------------------------------------------------------------------------ */

/* An episode of `steps` random long-only actions on cfg_text; the
 * rewards, turnovers and the episode's ledger equity (rows = steps + 1). */
static void run_episode(const char *dir, const char *cfg_text, size_t steps, double *reward,
                        double *turnover, double *eq)
{
    char *cfg = write_cfg(dir, "env.ini", cfg_text);
    cpo_env *env = open_env(cfg, NULL, 0);
    double obs[128], act[4];
    cpo_env_status st;
    cpo_error e;
    uint64_t seed = 4, rs = 99;
    ck_assert_int_eq(cpo_env_reset(env, &seed, obs, &st, &e), 0);
    ck_assert_double_eq(st.reward, 0.0);
    for (size_t k = 0; k < steps; k++) {
        for (size_t i = 0; i < 4; i++)
            act[i] = 0.5 * (1.0 + unif(&rs));
        ck_assert_int_eq(cpo_env_step(env, act, 4, obs, &st, &e), 0);
        reward[k] = st.reward;
        turnover[k] = st.turnover;
        ck_assert_int_eq(st.truncated, k + 1 == steps);
    }
    char *ep = tu_path(dir, "ep"), *lp = tu_path(dir, "ep/ledger.csv");
    ck_assert_int_eq(cpo_env_write_episode(env, ep, &e), 0);
    ck_assert_uint_eq(ledger_equity(lp, eq, steps + 2), steps + 1);
    free(ep);
    free(lp);
    cpo_env_free(env);
    free(cfg);
}

START_TEST(test_env_reward__log_return_is_the_ledger)
{
    /* With fills at the next open the equity a step ends at is the
     * ledger's next row: reward_k = ln(E_{k+1} / E_k), and the rewards add
     * up to ln(final equity / capital). */
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    enum { S = 30 };
    double rw[S], to[S], eq[S + 2], sum = 0.0;
    run_episode(dir, SPOT_CFG "[env]\nepisode_steps = 30\nlong_only = yes\n", S, rw, to, eq);
    ck_assert_double_eq(eq[0], 1e6);
    for (size_t k = 0; k < S; k++) {
        /* 1e-13: the same sums taken in another order */
        ck_assert_double_eq_tol(rw[k], log(eq[k + 1] / eq[k]), 1e-13);
        sum += rw[k];
    }
    ck_assert_double_eq_tol(sum, log(eq[S] / 1e6), 1e-12);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_env_reward__differential_sharpe_and_penalties)
{
    /* Moody & Saffell's differential Sharpe ratio recomputed from the
     * ledger: R_k = E_{k+1} / E_k - 1, A and B from 0, eta = 0.1;
     * D_k = (B dA - A dB / 2) / (B - A^2)^1.5 (0 while B - A^2 <= 0);
     * then the penalties: 2 x drawdown from the peak, 0.5 x turnover. */
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    enum { S = 40 };
    double rw[S], to[S], eq[S + 2];
    run_episode(dir,
                SPOT_CFG "[env]\nepisode_steps = 40\nlong_only = yes\nreward = "
                         "differential_sharpe\nsharpe_eta = 0.1\ndrawdown_penalty = 2\n"
                         "turnover_penalty = 0.5\n",
                S, rw, to, eq);
    double A = 0.0, B = 0.0, peak = eq[0];
    int nonzero = 0, dd = 0;
    for (size_t k = 0; k < S; k++) {
        double R = eq[k + 1] / eq[k] - 1.0, dA = R - A, dB = R * R - B, var = B - A * A;
        double D = var > 0.0 ? (B * dA - 0.5 * A * dB) / pow(var, 1.5) : 0.0;
        A += 0.1 * dA;
        B += 0.1 * dB;
        peak = fmax(peak, eq[k + 1]);
        double want = D - 2.0 * (1.0 - eq[k + 1] / peak) - 0.5 * to[k];
        ck_assert_double_eq_tol(rw[k], want, 1e-9 * fmax(1.0, fabs(want)));
        nonzero += D != 0.0;
        dd += eq[k + 1] < peak;
        ck_assert(to[k] >= 0.0 && to[k] <= 2.0);
    }
    ck_assert_double_eq_tol(to[0], 1.0, 1e-12); /* from cash to fully invested */
    ck_assert_int_eq(nonzero, S - 1);           /* D_0 = 0: B = A = 0 */
    ck_assert_int_gt(dd, 0);                    /* the penalty was exercised */
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- actions --------------------------------------------------------------------------- */

/* The rows of actions.csv after the header, as text. */
static char *actions_rows(const char *dir)
{
    char *p = tu_path(dir, "ep/actions.csv");
    size_t len = 0;
    char *text = tu_read_file(p, &len);
    ck_assert_ptr_nonnull(text);
    free(p);
    return text;
}

START_TEST(test_env_action__clipped_scaled_and_deltas)
{
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    /* Weights: clipped to [0, 0.3], the gross then scaled down to 0.8. */
    char *cfg = write_cfg(dir, "env.ini",
                          SPOT_CFG "[env]\nepisode_steps = 2\nrandom_start = no\nlong_only = yes\n"
                                   "max_weight = 0.3\nmax_gross = 0.8\n");
    cpo_env *env = open_env(cfg, NULL, 0);
    double lo, hi, obs[64];
    cpo_env_action_bounds(env, &lo, &hi);
    ck_assert_double_eq(lo, 0.0);
    ck_assert_double_eq(hi, 0.3);
    cpo_env_status st;
    cpo_error e;
    ck_assert_int_eq(cpo_env_reset(env, NULL, obs, &st, &e), 0);
    ck_assert_int_eq(st.ts_ms, INT64_C(1705276800000)); /* random_start = no: 2024-01-15 */
    double a1[4] = {5.0, -1.0, 0.1, 0.3}, a2[4] = {1.0, 1.0, 1.0, 1.0};
    ck_assert_int_eq(cpo_env_step(env, a1, 4, obs, &st, &e), 0);
    ck_assert_double_eq_tol(st.turnover, 0.7, 1e-15);
    ck_assert_int_eq(cpo_env_step(env, a2, 4, obs, &st, &e), 0);
    ck_assert_int_eq(st.truncated, 1);
    char *ep = tu_path(dir, "ep");
    ck_assert_int_eq(cpo_env_write_episode(env, ep, &e), 0);
    char *rows = actions_rows(dir);
    /* 0.2 = 0.3 x 0.8 / 1.2 */
    ck_assert_str_eq(rows, "ts,SYN000USDT,SYN001USDT,SYN002USDT,SYN003USDT\n"
                           "2024-01-15T00:00:00Z,0.29999999999999999,0,0.10000000000000001,"
                           "0.29999999999999999\n"
                           "2024-01-16T00:00:00Z,0.20000000000000001,0.20000000000000001,"
                           "0.20000000000000001,0.20000000000000001\n");
    free(rows);
    cpo_env_free(env);
    free(cfg);
    /* Deltas: changes of the weights held at the close. */
    cfg = write_cfg(dir, "env.ini",
                    SPOT_CFG "[env]\nepisode_steps = 2\nrandom_start = no\naction = deltas\n"
                             "max_weight = 0.5\n");
    env = open_env(cfg, NULL, 0);
    cpo_env_action_bounds(env, &lo, &hi);
    ck_assert_double_eq(lo, -1.0); /* the width of [-0.5, 0.5] */
    ck_assert_double_eq(hi, 1.0);
    ck_assert_int_eq(cpo_env_reset(env, NULL, obs, &st, &e), 0);
    double d1[4] = {0.25, -0.25, 0.0, 0.0}, d2[4] = {0.0, 0.0, 0.1, 0.0};
    ck_assert_int_eq(cpo_env_step(env, d1, 4, obs, &st, &e), 0);
    double w0 = obs[11], w1 = obs[23]; /* the weights held after the fill */
    ck_assert(w0 > 0.15 && w0 < 0.35); /* 0.25 of equity at the open, moved since */
    ck_assert(w1 < -0.15 && w1 > -0.35);
    ck_assert_int_eq(cpo_env_step(env, d2, 4, obs, &st, &e), 0);
    ck_assert_int_eq(cpo_env_write_episode(env, ep, &e), 0);
    rows = actions_rows(dir);
    char want[512], a[32], b[32];
    snprintf(a, sizeof a, "%.17g", w0);
    snprintf(b, sizeof b, "%.17g", w1);
    snprintf(want, sizeof want,
             "ts,SYN000USDT,SYN001USDT,SYN002USDT,SYN003USDT\n"
             "2024-01-15T00:00:00Z,0.25,-0.25,0,0\n"
             "2024-01-16T00:00:00Z,%s,%s,0.10000000000000001,0\n",
             a, b);
    ck_assert_str_eq(rows, want);
    free(rows);
    free(ep);
    cpo_env_free(env);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- bad inputs ---------------------------------------------------------------------------- */

START_TEST(test_env_bad__actions_and_order_of_calls)
{
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    char *cfg = write_cfg(dir, "env.ini", SPOT_CFG "[env]\nepisode_steps = 1\n");
    cpo_env *env = open_env(cfg, NULL, 0);
    double obs[64], act[5] = {0.1, 0.1, 0.1, 0.1, 0.1};
    cpo_env_status st;
    cpo_error e;
    char *ep = tu_path(dir, "ep");
    ck_assert_int_eq(cpo_env_step(env, act, 4, obs, &st, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "no episode (expected a reset before the first step)");
    ck_assert_int_eq(cpo_env_write_episode(env, ep, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "no finished episode (expected a reset and steps until the episode "
                            "ends)");
    ck_assert_int_eq(cpo_env_reset(env, NULL, obs, &st, &e), 0);
    ck_assert_int_eq(cpo_env_write_episode(env, ep, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "the episode is still running (expected its files after it ends: "
                            "terminated or truncated)");
    ck_assert_int_eq(tu_exists(ep), 0);
    ck_assert_int_eq(cpo_env_step(env, act, 5, obs, &st, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "an action of 5 values (expected 4: one per instrument, in the order "
                            "SYN000USDT, SYN001USDT, SYN002USDT, SYN003USDT)");
    ck_assert_int_eq(cpo_env_step(env, NULL, 0, obs, &st, &e), CPO_EINVAL);
    act[2] = NAN;
    ck_assert_int_eq(cpo_env_step(env, act, 4, obs, &st, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "action[2] (SYN002USDT) is nan (expected a finite weight)");
    act[2] = -INFINITY;
    ck_assert_int_eq(cpo_env_step(env, act, 4, obs, &st, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "action[2] (SYN002USDT) is -inf (expected a finite weight)");
    /* A refused action changed nothing: the episode goes on. */
    act[2] = 0.1;
    ck_assert_int_eq(cpo_env_step(env, act, 4, obs, &st, &e), 0);
    ck_assert_int_eq(st.truncated, 1);
    ck_assert_uint_eq(st.step, 1);
    ck_assert_int_eq(cpo_env_step(env, act, 4, obs, &st, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "the episode is over (expected a reset before the next step)");
    ck_assert_int_eq(cpo_env_write_episode(env, ep, &e), 0);
    /* A file where the folder should be. */
    char *file = tu_path(dir, "env.ini");
    ck_assert_int_eq(cpo_env_write_episode(env, file, &e), CPO_EEXIST);
    ck_assert_str_eq(e.msg, "exists and is not a folder (expected a folder for the episode)");
    cpo_env_free(env);
    cpo_env_free(NULL);
    free(file);
    free(ep);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_env_bad__configs)
{
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    cpo_env *env = (cpo_env *)1;
    cpo_error e;
    /* 2024-01-15 .. 2024-09-30: 260 bars, 259 decisions at most. */
    char *cfg = write_cfg(dir, "env.ini", SPOT_CFG "\n[env]\nepisode_steps = 260\n");
    ck_assert_int_eq(cpo_env_new(&env, cfg, NULL, NULL, 0, &e), CPO_ECONFIG);
    ck_assert_ptr_null(env);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:15: episode_steps = 260 is longer than the period (expected at most 259: the "
             "period has 260 bars)",
             cfg);
    ck_assert_str_eq(tu_errstr(&e), want);
    const char *ov[] = {"env.episode_steps = 259"};
    env = NULL;
    ck_assert_int_eq(cpo_env_new(&env, cfg, NULL, ov, 1, &e), 0);
    ck_assert_uint_eq(cpo_env_episode_steps(env), 259);
    ck_assert_int_eq(cpo_env_bar_ms(env), CPO_MS_DAY);
    cpo_env_free(env);
    const char *bad_ov[] = {"env.window"};
    ck_assert_int_eq(cpo_env_new(&env, cfg, NULL, bad_ov, 1, &e), CPO_EUSAGE);
    const char *one_bar[] = {"backtest.end = 2024-01-15"};
    ck_assert_int_eq(cpo_env_new(&env, cfg, NULL, one_bar, 1, &e), CPO_ERANGE);
    ck_assert_str_eq(e.msg, "the period has one bar (expected at least two for an env: a "
                            "decision at a close and the bar after it)");
    /* A [strategy] is checked when it is there. */
    free(cfg);
    cfg = write_cfg(dir, "env.ini", SPOT_CFG "[strategy]\nweigh = kelly\n");
    ck_assert_int_eq(cpo_env_new(&env, cfg, NULL, NULL, 0, &e), CPO_ECONFIG);
    ck_assert(strstr(e.msg, "unknown weigh stage \"kelly\"") != NULL);
    /* Vectors: no env, a wrong total, a bad row refused before any steps. */
    cpo_vecenv *v = (cpo_vecenv *)1;
    free(cfg);
    cfg = write_cfg(dir, "env.ini", SPOT_CFG "[env]\nepisode_steps = 5\n");
    ck_assert_int_eq(cpo_vecenv_new(&v, 0, cfg, NULL, NULL, 0, &e), CPO_EINVAL);
    ck_assert_ptr_null(v);
    ck_assert_str_eq(e.msg, "a vector of 0 envs (expected at least 1)");
    ck_assert_int_eq(cpo_vecenv_new(&v, 2, cfg, NULL, NULL, 0, &e), 0);
    double obs[2 * 64], act[8] = {0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2}, r[2], fin[2 * 64];
    uint8_t te[2], tr[2];
    ck_assert_int_eq(cpo_vecenv_step(v, act, 8, obs, r, te, tr, fin, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "env 0: no episode (expected a reset before the first step)");
    ck_assert_int_eq(cpo_vecenv_reset(v, NULL, obs, &e), 0);
    ck_assert_int_eq(cpo_vecenv_step(v, act, 7, obs, r, te, tr, NULL, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "7 action values (expected 8: 2 envs x 4 instruments)");
    act[5] = NAN;
    ck_assert_int_eq(cpo_vecenv_step(v, act, 8, obs, r, te, tr, NULL, &e), CPO_EINVAL);
    ck_assert_str_eq(e.msg, "env 1: action[1] (SYN001USDT) is nan (expected a finite weight)");
    ck_assert_uint_eq(cpo_env_last(cpo_vecenv_env(v, 0))->step, 0); /* env 0 did not step */
    ck_assert_ptr_null(cpo_vecenv_env(v, 2));
    cpo_vecenv_free(v);
    cpo_vecenv_free(NULL);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The error of cpo_results_run on a config of the store with the pipeline
 * every + weigh (weigh = agent or replay; the replay's file text, if any,
 * in dir/actions.csv). */
static void run_error(const char *dir, const char *weigh, const char *csv, const char *want)
{
    char text[2048];
    snprintf(text, sizeof text,
             SPOT_CFG "[strategy]\nschedule = every\nweigh = %s\n%s", weigh,
             !strcmp(weigh, "replay") ? "[weigh.replay]\npath = actions.csv\n" : "");
    if (csv) {
        char *p = tu_path(dir, "actions.csv");
        tu_write_file(p, csv);
        free(p);
    }
    char *cfg = tu_path(dir, "run.ini");
    cpo_results *res = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_int_lt(cpo_results_run(&res, cfg, text, NULL, 0, &e), 0);
    ck_assert_ptr_null(res);
    char buf[2048];
    snprintf(buf, sizeof buf, want, dir);
    ck_assert_str_eq(tu_errstr(&e), buf);
    free(cfg);
}

START_TEST(test_env_bad__agent_in_a_run_and_replay_files)
{
    char *dir = tu_tmpdir();
    make_store(dir, 4, 300, 0);
    /* The run's error names the config's weigh key (run.ini line 15). */
    run_error(dir, "agent", NULL,
              "%s/run.ini:15: [weigh.agent] the targets of weigh = agent come from a learning agent through cpo_env "
              "(cpo/env.h, cpo.Env in Python) (expected weigh = replay to run an episode's "
              "recorded actions)");
    const char *hdr = "ts,SYN000USDT,SYN001USDT\n";
    char csv[512];
    run_error(dir, "replay", "time,SYN000USDT\n",
              "%s/actions.csv:1:1: replay: the first column is \"time\" (expected ts, then one "
              "column per symbol)");
    run_error(dir, "replay", "ts\n",
              "%s/actions.csv:1: replay: no symbol columns (expected ts, then one column per "
              "symbol)");
    run_error(dir, "replay", "ts,SYN000USDT,BTCUSDT\n",
              "%s/actions.csv:1:3: replay: symbol \"BTCUSDT\" is not in the market (expected one "
              "of: SYN000USDT, SYN001USDT, SYN002USDT, SYN003USDT)");
    run_error(dir, "replay", "ts,SYN000USDT,SYN000USDT\n",
              "%s/actions.csv:1:3: replay: symbol \"SYN000USDT\" is given twice (expected each "
              "symbol once)");
    snprintf(csv, sizeof csv, "%s2024-02-01T00:00:00Z,0.5\n", hdr);
    run_error(dir, "replay", csv,
              "%s/actions.csv:2: replay: 2 fields (expected 3: ts and 2 weights)");
    snprintf(csv, sizeof csv, "%s2024-02-31,0.5,0.5\n", hdr);
    run_error(dir, "replay", csv,
              "%s/actions.csv:2:1: replay: time \"2024-02-31\" is not a date (expected the open "
              "time of a bar like 2024-01-31T00:00:00Z)");
    snprintf(csv, sizeof csv, "%s2024-02-02,0.5,0.5\n2024-02-01,0.5,0.5\n", hdr);
    run_error(dir, "replay", csv,
              "%s/actions.csv:3:1: replay: 2024-02-01T00:00:00Z is not after the row before "
              "(expected rows in time order, each time once)");
    snprintf(csv, sizeof csv, "%s2024-02-02T05:00:00Z,0.5,0.5\n", hdr);
    run_error(dir, "replay", csv,
              "%s/actions.csv:2:1: replay: 2024-02-02T05:00:00Z is not a bar of the run's grid "
              "(expected open times every 1d from 2024-01-01T00:00:00Z)");
    snprintf(csv, sizeof csv, "%s2024-02-02,0.5,half\n", hdr);
    run_error(dir, "replay", csv,
              "%s/actions.csv:2:3: replay: weight \"half\" is not a number (expected a weight "
              "of equity like 0.125, or blank to leave the instrument)");
    run_error(dir, "replay", "# only a note\n",
              "%s/actions.csv: replay: the file is empty (expected a header ts, then one column "
              "per symbol)");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *env_suite(void);
Suite *env_suite(void)
{
    Suite *s = suite_create("env");
    TCase *tc = tcase_create("env");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_env_replay__spot_shorts_financing);
    tcase_add_test(tc, test_env_replay__perps_margin_close_fills_deltas);
    tcase_add_test(tc, test_env_replay__whole_period_isolated_impact);
    tcase_add_test(tc, test_env_determinism__same_seed_same_bits);
    tcase_add_test(tc, test_env_vector__equals_single_envs);
    tcase_add_test(tc, test_env_observation__by_hand);
    tcase_add_test(tc, test_env_observation__no_lookahead);
    tcase_add_test(tc, test_env_reward__log_return_is_the_ledger);
    tcase_add_test(tc, test_env_reward__differential_sharpe_and_penalties);
    tcase_add_test(tc, test_env_action__clipped_scaled_and_deltas);
    tcase_add_test(tc, test_env_bad__actions_and_order_of_calls);
    tcase_add_test(tc, test_env_bad__configs);
    tcase_add_test(tc, test_env_bad__agent_in_a_run_and_replay_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(env_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
