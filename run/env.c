/*
 * env.c - the step interface for learning agents (cpo/env.h): the engine
 * of `cpo run` driven a bar at a time (engine/engine.h: eng_begin,
 * eng_to_close, eng_decide, eng_end), with the pipeline schedule `every`
 * + weigh `agent` (strategies/weigh_agent.c), whose slot the env points at
 * the action's targets before each decision.
 *
 * A "world" is what the envs of one config share, read-only once made: the
 * config, the market cube, the run spec, and the market features of the
 * observations, computed once for every bar of the cube (each from bars up
 * to its own, so that an observation never sees a later bar).  An env is
 * an episode's state: an engine, its generator, the recorded actions.  A
 * step copies features, reads the book and calls the engine; it allocates
 * nothing (the result's arrays are made by eng_begin at reset, and room
 * for the window's trades reserved there).
 */
#define _DEFAULT_SOURCE /* realpath */
#include "cpo/env.h"

#include <errno.h>
#include <gsl/gsl_rng.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
#include "cpo/config.h"
#include "cpo/run.h"
#include "cpo/time.h"
#include "csvwrite.h"
#include "engine.h"
#include "params.h"
#include "run_files.h"
#include "run_priv.h"

#define ENV_NAME_MAX 64

static const char *const feature_names[] = {"returns", "vol",    "funding", "basis",
                                            "weights", "equity", "margin",  "greeks"};
#define N_FEATURES (sizeof feature_names / sizeof feature_names[0])

void cpo_env_spec_init(cpo_env_spec *s)
{
    memset(s, 0, sizeof *s);
    s->window = 10;
    s->vol_window = 30;
    s->features = CPO_ENV_F_RETURNS | CPO_ENV_F_VOL | CPO_ENV_F_WEIGHTS | CPO_ENV_F_EQUITY;
    s->reward = CPO_ENV_REWARD_LOG_RETURN;
    s->sharpe_eta = 0.01;
    s->action = CPO_ENV_ACTION_WEIGHTS;
    s->max_weight = 1.0;
    s->max_gross = 1.0;
    s->random_start = 1;
}

unsigned cpo_env_feature(const char *name)
{
    for (size_t k = 0; k < N_FEATURES; k++)
        if (!strcmp(name, feature_names[k]))
            return 1u << k;
    return 0;
}

const char *cpo_env_feature_name(unsigned bit)
{
    for (size_t k = 0; k < N_FEATURES; k++)
        if (bit == 1u << k)
            return feature_names[k];
    return NULL;
}

static int oom(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

/* --- the world: what the envs of one config share ---------------------------- */

typedef struct env_world {
    cpo_config *cfg;
    cpo_market *m;
    cpo_run_spec spec;         /* cfg->run with the pipeline every + agent */
    cpo_params *params[2];     /* of those two stages */
    size_t agent;              /* the agent stage's index in the pipeline */
    cpo_env_spec es;           /* cfg->env */
    size_t n;                  /* instruments: the action's length */
    size_t n_und;              /* option underlyings observed (greeks) */
    size_t n_obs;
    size_t p0, p1;             /* the period's first and last step in the cube */
    size_t L;                  /* decisions per episode */
    double wlo, whi;           /* bounds of a target weight */
    double alo, ahi;           /* bounds of an action element */
    /* market features, [n * n_steps] instrument-major; NULL when not observed */
    double *ret, *vol, *fund, *basis;
    char (*names)[ENV_NAME_MAX]; /* [n_obs] */
} env_world;

static void world_free(env_world *w)
{
    if (!w)
        return;
    cpo_params_free(w->params[0]);
    cpo_params_free(w->params[1]);
    free(w->ret);
    free(w->vol);
    free(w->fund);
    free(w->basis);
    free(w->names);
    cpo_market_free(w->m);
    cpo_config_free(w->cfg);
    free(w);
}

/* The line of a key of the config (0 if not written there). */
static long key_line(const cpo_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, section) && !strcmp(cfg->keys[i].key, key))
            return cfg->keys[i].line;
    return 0;
}

/* The pipeline of the env: schedule every, weigh agent. */
static int make_pipeline(env_world *w, cpo_error *err)
{
    const cpo_stage_def *defs[2] = {&cpo_stage_every, &cpo_stage_agent};
    w->spec = w->cfg->run;
    w->spec.detail = CPO_DETAIL_TOTALS;
    w->spec.cancel = NULL;
    w->spec.n_stages = 0;
    for (size_t k = 0; k < 2; k++) {
        const char *missing = NULL;
        int rc = cpo_params_new(&w->params[k], defs[k], err);
        if (!rc && cpo_params_finish(w->params[k], &missing))
            rc = oom(err); /* neither stage has a parameter */
        if (rc)
            return rc;
        w->spec.stages[k].def = defs[k];
        w->spec.stages[k].params = w->params[k];
        w->spec.n_stages = k + 1;
    }
    w->agent = 1;
    return 0;
}

/* The period's steps, as eng_begin finds them, and the episodes' length. */
static int find_period(env_world *w, cpo_error *err)
{
    const cpo_market *m = w->m;
    const cpo_config *cfg = w->cfg;
    size_t p0 = 0, p1 = m->n_steps ? m->n_steps - 1 : 0;
    if (w->spec.start_ms != CPO_TIME_NONE) {
        long s = cpo_market_step_at(m, w->spec.start_ms);
        p0 = s < 0 ? 0 : (size_t)s;
        if (p0 < m->n_steps && m->ts[p0] < w->spec.start_ms)
            p0++;
    }
    if (w->spec.end_ms != CPO_TIME_NONE) {
        long s = cpo_market_step_at(m, w->spec.end_ms);
        if (s < 0)
            p0 = m->n_steps; /* refused below */
        else
            p1 = (size_t)s;
    }
    if (!m->n_steps || p0 > p1 || p0 >= m->n_steps)
        return cpo_error_set(err, CPO_ERANGE, cfg->path, 0, 0,
                             "the period holds no bar of the data (expected start <= end within "
                             "the data)");
    if (p1 == p0)
        return cpo_error_set(err, CPO_ERANGE, cfg->path, 0, 0,
                             "the period has one bar (expected at least two for an env: a "
                             "decision at a close and the bar after it)");
    size_t most = p1 - p0;
    if (w->es.episode_steps > most)
        return cpo_error_set(err, CPO_ECONFIG, cfg->path, key_line(cfg, "env", "episode_steps"),
                             0,
                             "episode_steps = %zu is longer than the period (expected at most "
                             "%zu: the period has %zu bars)",
                             w->es.episode_steps, most, most + 1);
    w->p0 = p0;
    w->p1 = p1;
    w->L = w->es.episode_steps ? w->es.episode_steps : most;
    return 0;
}

/* The market features of every bar of the cube (each from bars up to it). */
static int make_features(env_world *w, cpo_error *err)
{
    const cpo_market *m = w->m;
    size_t N = m->n_steps, n = w->n, cells = n * N;
    unsigned f = w->es.features;
    if (((f & (CPO_ENV_F_RETURNS | CPO_ENV_F_VOL)) && !(w->ret = malloc(cells * sizeof *w->ret))) ||
        ((f & CPO_ENV_F_VOL) && !(w->vol = malloc(cells * sizeof *w->vol))) ||
        ((f & CPO_ENV_F_FUNDING) && !(w->fund = malloc(cells * sizeof *w->fund))) ||
        ((f & CPO_ENV_F_BASIS) && !(w->basis = malloc(cells * sizeof *w->basis))))
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        const double *c = cpo_market_col(m, CPO_F_CLOSE, i);
        if (w->ret) {
            /* ln(c_t / c_{t-1}); 0 where either close is missing. */
            double *r = w->ret + i * N;
            r[0] = 0.0;
            for (size_t t = 1; t < N; t++)
                r[t] = c[t] > 0.0 && c[t - 1] > 0.0 ? log(c[t] / c[t - 1]) : 0.0;
        }
        if (w->vol) {
            /* Sample sd of the known returns of the last vol_window bars. */
            const double *r = w->ret + i * N;
            double *v = w->vol + i * N;
            size_t vw = w->es.vol_window;
            for (size_t t = 0; t < N; t++) {
                size_t from = t + 1 > vw ? t + 1 - vw : 0, k = 0;
                double sum = 0.0, ss = 0.0;
                if (from < 1)
                    from = 1;
                for (size_t s = from; s <= t; s++)
                    if (c[s] > 0.0 && c[s - 1] > 0.0) {
                        sum += r[s];
                        k++;
                    }
                if (k < 2) {
                    v[t] = 0.0;
                    continue;
                }
                double mean = sum / (double)k;
                for (size_t s = from; s <= t; s++)
                    if (c[s] > 0.0 && c[s - 1] > 0.0)
                        ss += (r[s] - mean) * (r[s] - mean);
                v[t] = sqrt(ss / (double)(k - 1));
            }
        }
        if (w->fund) {
            /* The rate of the latest event stamped before the bar's close
             * (what host->funding shows a stage). */
            const cpo_funding *fu = &m->funding[i];
            double *out = w->fund + i * N, last = 0.0;
            size_t k = 0;
            for (size_t t = 0; t < N; t++) {
                int64_t until = m->ts[t] + m->step_ms;
                for (; k < fu->n && fu->ts[k] < until; k++)
                    if (isfinite(fu->rate[k]))
                        last = fu->rate[k];
                out[t] = last;
            }
        }
        if (w->basis) {
            double *out = w->basis + i * N;
            const cpo_instrument *in = &m->instr[i];
            int deriv = in->kind == CPO_KIND_PERP || in->kind == CPO_KIND_FUTURE;
            /* The spot instrument on the same coin, quoted in dollars. */
            long twin = -1;
            for (size_t j = 0; deriv && j < n && twin < 0; j++)
                if (m->instr[j].kind == CPO_KIND_SPOT && !strcmp(m->instr[j].base, in->base) &&
                    is_usd(m->instr[j].quote))
                    twin = (long)j;
            for (size_t t = 0; t < N; t++) {
                double mk = deriv ? mark_at(m, i, t) : NAN;
                double ix = px_col(m, CPO_F_INDEX, i, t);
                if (!(ix > 0.0) && twin >= 0)
                    ix = px_col(m, CPO_F_CLOSE, (size_t)twin, t);
                out[t] = mk > 0.0 && ix > 0.0 ? mk / ix - 1.0 : 0.0;
            }
        }
    }
    return 0;
}

/* The observation's size and the name of each element. */
static int make_names(env_world *w, cpo_error *err)
{
    const cpo_env_spec *es = &w->es;
    unsigned f = es->features;
    size_t per = ((f & CPO_ENV_F_RETURNS) ? es->window : 0) + !!(f & CPO_ENV_F_VOL) +
                 !!(f & CPO_ENV_F_FUNDING) + !!(f & CPO_ENV_F_BASIS) + !!(f & CPO_ENV_F_WEIGHTS);
    w->n_obs = w->n * per + !!(f & CPO_ENV_F_EQUITY) + !!(f & CPO_ENV_F_MARGIN) + 4 * w->n_und;
    if (!(w->names = calloc(w->n_obs ? w->n_obs : 1, sizeof *w->names)))
        return oom(err);
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++) {
        const char *sym = w->m->instr[i].symbol;
        if (f & CPO_ENV_F_RETURNS)
            for (size_t j = es->window; j-- > 0;)
                snprintf(w->names[k++], ENV_NAME_MAX, "%.40s:return[%s%u]", sym, j ? "-" : "",
                         (unsigned)j);
        static const struct { unsigned bit; const char *name; } one[] = {
            {CPO_ENV_F_VOL, "vol"}, {CPO_ENV_F_FUNDING, "funding"}, {CPO_ENV_F_BASIS, "basis"},
            {CPO_ENV_F_WEIGHTS, "weight"}};
        for (size_t q = 0; q < sizeof one / sizeof one[0]; q++)
            if (f & one[q].bit)
                snprintf(w->names[k++], ENV_NAME_MAX, "%s:%s", sym, one[q].name);
    }
    if (f & CPO_ENV_F_EQUITY)
        snprintf(w->names[k++], ENV_NAME_MAX, "equity");
    if (f & CPO_ENV_F_MARGIN)
        snprintf(w->names[k++], ENV_NAME_MAX, "margin");
    static const char *const greeks[4] = {"delta_usd", "gamma", "vega", "theta"};
    for (size_t u = 0; u < w->n_und; u++)
        for (size_t g = 0; g < 4; g++)
            snprintf(w->names[k++], ENV_NAME_MAX, "%s:%s", w->spec.options.underlying[u],
                     greeks[g]);
    return 0;
}

static int world_new(env_world **out, const char *path, const char *text,
                     const char *const *overrides, size_t n_overrides, cpo_error *err)
{
    *out = NULL;
    env_world *w = calloc(1, sizeof *w);
    if (!w)
        return oom(err);
    int rc = cpo_config_load_strings(&w->cfg, path, text, overrides, n_overrides,
                                     CPO_CONFIG_LOAD_ENV, err);
    if (!rc)
        rc = cpo_run_market(&w->m, w->cfg, err);
    if (!rc) {
        w->es = w->cfg->env;
        w->n = w->m->n_instr;
        rc = make_pipeline(w, err);
    }
    if (!rc)
        rc = find_period(w, err);
    if (!rc) {
        const cpo_env_spec *es = &w->es;
        w->whi = es->max_weight;
        w->wlo = es->long_only ? 0.0 : -es->max_weight;
        w->ahi = es->action == CPO_ENV_ACTION_DELTAS ? w->whi - w->wlo : w->whi;
        w->alo = es->action == CPO_ENV_ACTION_DELTAS ? -(w->whi - w->wlo) : w->wlo;
        w->n_und = (es->features & CPO_ENV_F_GREEKS) ? w->spec.options.n_underlyings : 0;
        rc = make_features(w, err);
    }
    if (!rc)
        rc = make_names(w, err);
    if (rc) {
        world_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* --- an env ------------------------------------------------------------------ */

enum { ENV_IDLE = 0, ENV_RUN = 1, ENV_DONE = 2 };

struct cpo_env {
    env_world *w;
    int own;                /* w belongs to this env (not to a vector) */
    cpo_run_spec spec;      /* w->spec with the episode's period */
    engine e;
    cpo_error eerr;         /* the engine keeps a pointer to its error */
    int state;              /* ENV_* */
    cpo_result *res;        /* the finished episode's result */
    gsl_rng *rng;
    cpo_agent_slot slot;    /* what the agent stage reads */
    double *tw;             /* [n] the step's targets */
    double *rec;            /* [L * n] the episode's targets, decision by decision */
    int64_t *rec_ts;        /* [L] their bars */
    size_t n_rec;
    size_t t0, t1;          /* the episode's window */
    double a, b;            /* differential Sharpe: moving averages of R and R^2 */
    double peak;            /* the episode's highest equity */
    cpo_env_status st;
};

/* An env on w with its generator seeded with seed. */
static int env_make(cpo_env **out, env_world *w, int own, uint64_t seed, cpo_error *err)
{
    *out = NULL;
    cpo_env *env = calloc(1, sizeof *env);
    if (!env)
        return oom(err);
    env->w = w;
    env->spec = w->spec;
    env->rng = gsl_rng_alloc(gsl_rng_mt19937);
    env->tw = malloc((w->n ? w->n : 1) * sizeof *env->tw);
    env->rec = malloc((w->L && w->n ? w->L * w->n : 1) * sizeof *env->rec);
    env->rec_ts = malloc((w->L ? w->L : 1) * sizeof *env->rec_ts);
    if (!env->rng || !env->tw || !env->rec || !env->rec_ts) {
        gsl_rng_free(env->rng);
        free(env->tw);
        free(env->rec);
        free(env->rec_ts);
        free(env);
        return oom(err);
    }
    gsl_rng_set(env->rng, (unsigned long)seed);
    env->own = own;
    *out = env;
    return 0;
}

/* Drop the episode: a running engine, a finished result. */
static void env_drop(cpo_env *env)
{
    if (env->state == ENV_RUN)
        eng_abort(&env->e);
    cpo_result_free(env->res);
    env->res = NULL;
    env->state = ENV_IDLE;
}

void cpo_env_free(cpo_env *env)
{
    if (!env)
        return;
    env_drop(env);
    gsl_rng_free(env->rng);
    free(env->tw);
    free(env->rec);
    free(env->rec_ts);
    if (env->own)
        world_free(env->w);
    free(env);
}

int cpo_env_new(cpo_env **out, const char *path, const char *text,
                const char *const *overrides, size_t n_overrides, cpo_error *err)
{
    *out = NULL;
    env_world *w = NULL;
    int rc = world_new(&w, path, text, overrides, n_overrides, err);
    if (!rc && (rc = env_make(out, w, 1, w->cfg->run.seed, err)))
        world_free(w);
    return rc;
}

size_t cpo_env_obs_size(const cpo_env *env) { return env->w->n_obs; }
size_t cpo_env_action_size(const cpo_env *env) { return env->w->n; }
size_t cpo_env_episode_steps(const cpo_env *env) { return env->w->L; }
int64_t cpo_env_bar_ms(const cpo_env *env) { return env->w->m->step_ms; }
const cpo_env_status *cpo_env_last(const cpo_env *env) { return &env->st; }

const char *cpo_env_obs_name(const cpo_env *env, size_t k)
{
    return k < env->w->n_obs ? env->w->names[k] : NULL;
}

const char *cpo_env_action_name(const cpo_env *env, size_t k)
{
    return k < env->w->n ? env->w->m->instr[k].symbol : NULL;
}

void cpo_env_action_bounds(const cpo_env *env, double *low, double *high)
{
    *low = env->w->alo;
    *high = env->w->ahi;
}

/* The engine's error, in the caller's err; the episode is dropped. */
static int engine_failed(cpo_env *env, int rc, cpo_error *err)
{
    if (err)
        *err = env->eerr;
    if (env->state == ENV_RUN) {
        eng_abort(&env->e);
        env->state = ENV_IDLE;
    }
    return rc;
}

/* The observation at the close of the engine's current step. */
static void observe(const cpo_env *env, double *o, double eq)
{
    const env_world *w = env->w;
    const engine *e = &env->e;
    size_t N = w->m->n_steps, t = e->t, W = w->es.window;
    unsigned f = w->es.features;
    for (size_t i = 0; i < w->n; i++) {
        size_t at = i * N + t;
        if (f & CPO_ENV_F_RETURNS) {
            const double *r = w->ret + i * N;
            if (t + 1 >= W) {
                memcpy(o, r + t + 1 - W, W * sizeof *o);
            } else {
                size_t z = W - (t + 1);
                memset(o, 0, z * sizeof *o);
                memcpy(o + z, r, (t + 1) * sizeof *o);
            }
            o += W;
        }
        if (f & CPO_ENV_F_VOL)
            *o++ = w->vol[at];
        if (f & CPO_ENV_F_FUNDING)
            *o++ = w->fund[at];
        if (f & CPO_ENV_F_BASIS)
            *o++ = w->basis[at];
        if (f & CPO_ENV_F_WEIGHTS)
            *o++ = eq > 0.0 ? exposure_of(e, i) / eq : 0.0;
    }
    if (f & CPO_ENV_F_EQUITY)
        *o++ = log(fmax(eq / w->spec.capital, 1e-12));
    if (f & CPO_ENV_F_MARGIN)
        *o++ = fmin(eng_margin_ratio(e), 10.0);
    for (size_t u = 0; u < w->n_und; u++) {
        double g[CPO_BG_COUNT];
        eng_book_greeks(e, u, g);
        *o++ = eq > 0.0 ? g[CPO_BG_DELTA_USD] / eq : 0.0;
        *o++ = eq > 0.0 ? g[CPO_BG_GAMMA] / eq : 0.0;
        *o++ = eq > 0.0 ? g[CPO_BG_VEGA] / eq : 0.0;
        *o++ = eq > 0.0 ? g[CPO_BG_THETA] / eq : 0.0;
    }
}

/* The episode is over at the engine's current close: its ledger row with
 * no decision, then (after ruin) the window's other bars, and the result. */
static int finish(cpo_env *env, cpo_error *err)
{
    engine *e = &env->e;
    env->slot.weight = NULL;
    int rc = eng_decide(e);
    while (!rc && e->t <= e->t1)
        if (!(rc = eng_to_close(e)))
            rc = eng_decide(e);
    if (rc)
        return engine_failed(env, rc, err);
    env->res = eng_end(e);
    env->state = ENV_DONE;
    return 0;
}

int cpo_env_reset(cpo_env *env, const uint64_t *seed, double *obs, cpo_env_status *st,
                  cpo_error *err)
{
    const env_world *w = env->w;
    const cpo_market *m = w->m;
    env_drop(env);
    if (seed)
        gsl_rng_set(env->rng, (unsigned long)*seed);
    size_t span = w->p1 - w->p0 - w->L, t0 = w->p0;
    if (w->es.random_start && span)
        t0 += (size_t)gsl_rng_uniform_int(env->rng, (unsigned long)span + 1);
    env->t0 = t0;
    env->t1 = t0 + w->L;
    env->spec.start_ms = m->ts[env->t0];
    env->spec.end_ms = m->ts[env->t1];
    cpo_error_clear(&env->eerr);
    engine *e = &env->e;
    int rc = eng_begin(e, m, &env->spec, NULL, NULL, &env->eerr);
    env->state = ENV_RUN; /* eng_abort from here on */
    if (!rc) {
        env->slot.weight = NULL;
        e->state[w->agent] = &env->slot;
        rc = eng_reserve_trades(e, (w->L + 1) * w->n);
    }
    if (!rc)
        rc = eng_to_close(e);
    if (rc)
        return engine_failed(env, rc, err);
    env->n_rec = 0;
    env->a = env->b = 0.0;
    double eq = eng_close_equity(e);
    env->peak = eq;
    memset(&env->st, 0, sizeof env->st);
    env->st.ts_ms = m->ts[e->t];
    env->st.equity = eq;
    observe(env, obs, eq);
    if (e->ruined) {
        env->st.terminated = 1;
        if ((rc = finish(env, err)))
            return rc;
    }
    if (st)
        *st = env->st;
    return 0;
}

/* A bad action (or none to take) gets a message; 0 when it may be taken. */
static int check_action(const cpo_env *env, const double *action, size_t n_action,
                        cpo_error *err)
{
    const env_world *w = env->w;
    if (env->state != ENV_RUN)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             env->state == ENV_DONE
                                 ? "the episode is over (expected a reset before the next step)"
                                 : "no episode (expected a reset before the first step)");
    if (n_action != w->n || (!action && n_action)) {
        char names[400];
        size_t k = 0;
        names[0] = '\0';
        for (size_t i = 0; i < w->n && k + 60 < sizeof names; i++)
            k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "",
                                  w->m->instr[i].symbol);
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "an action of %zu values (expected %zu: one per instrument, in the "
                             "order %s%s)",
                             n_action, w->n, names, k + 60 >= sizeof names ? ", ..." : "");
    }
    for (size_t i = 0; i < w->n; i++)
        if (!isfinite(action[i]))
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "action[%zu] (%s) is %s (expected a finite %s)", i,
                                 w->m->instr[i].symbol,
                                 isnan(action[i]) ? "nan" : action[i] > 0 ? "inf" : "-inf",
                                 w->es.action == CPO_ENV_ACTION_DELTAS ? "change of weight"
                                                                       : "weight");
    return 0;
}

/* A step whose action check_action took. */
static int env_step(cpo_env *env, const double *action, double *obs, cpo_error *err)
{
    const env_world *w = env->w;
    const cpo_env_spec *es = &w->es;
    engine *e = &env->e;
    size_t n = w->n;
    double eq = env->st.equity, gross = 0.0, turn = 0.0;
    /* The targets: clipped, the gross scaled down. */
    for (size_t i = 0; i < n; i++) {
        double cur = eq > 0.0 ? exposure_of(e, i) / eq : 0.0;
        double x = es->action == CPO_ENV_ACTION_DELTAS ? cur + action[i] : action[i];
        x = x < w->wlo ? w->wlo : x > w->whi ? w->whi : x;
        env->tw[i] = x;
        gross += fabs(x);
    }
    if (gross > es->max_gross) {
        double k = es->max_gross / gross;
        for (size_t i = 0; i < n; i++)
            env->tw[i] *= k;
    }
    for (size_t i = 0; i < n; i++)
        turn += fabs(env->tw[i] - (eq > 0.0 ? exposure_of(e, i) / eq : 0.0));
    memcpy(env->rec + env->n_rec * n, env->tw, n * sizeof *env->tw);
    env->rec_ts[env->n_rec++] = w->m->ts[e->t];
    /* The decision at this close, then the next bar to its close. */
    env->slot.weight = env->tw;
    int rc = eng_decide(e);
    env->slot.weight = NULL;
    if (!rc)
        rc = eng_to_close(e);
    if (rc)
        return engine_failed(env, rc, err);
    double eq1 = eng_close_equity(e);
    double ratio = eq > 0.0 ? eq1 / eq : 0.0, r = ratio - 1.0, reward;
    if (es->reward == CPO_ENV_REWARD_DIFF_SHARPE) {
        double da = r - env->a, db = r * r - env->b, var = env->b - env->a * env->a;
        reward = var > 0.0 ? (env->b * da - 0.5 * env->a * db) / (var * sqrt(var)) : 0.0;
        env->a += es->sharpe_eta * da;
        env->b += es->sharpe_eta * db;
    } else {
        reward = log(fmax(ratio, 1e-12));
    }
    if (eq1 > env->peak)
        env->peak = eq1;
    if (es->drawdown_penalty > 0.0 && env->peak > 0.0)
        reward -= es->drawdown_penalty * (1.0 - eq1 / env->peak);
    if (es->turnover_penalty > 0.0)
        reward -= es->turnover_penalty * turn;
    cpo_env_status *st = &env->st;
    st->reward = reward;
    st->ts_ms = w->m->ts[e->t];
    st->step = env->n_rec;
    st->equity = eq1;
    st->turnover = turn;
    st->terminated = e->ruined != 0;
    st->truncated = !e->ruined && e->t == env->t1;
    observe(env, obs, eq1);
    if (st->terminated || st->truncated)
        return finish(env, err);
    return 0;
}

int cpo_env_step(cpo_env *env, const double *action, size_t n_action, double *obs,
                 cpo_env_status *st, cpo_error *err)
{
    int rc = check_action(env, action, n_action, err);
    if (!rc)
        rc = env_step(env, action, obs, err);
    if (!rc && st)
        *st = env->st;
    return rc;
}

/* --- an episode's files ---------------------------------------------------------- */

/* An absolute path of p (relative to dir unless absolute), into out. */
static void abs_path(const char *dir, const char *p, char *out, size_t n)
{
    char joined[PATH_MAX], real[PATH_MAX];
    int len;
    if (p[0] == '/' || !dir || !strcmp(dir, "."))
        len = snprintf(joined, sizeof joined, "%s", p);
    else
        len = snprintf(joined, sizeof joined, "%s/%s", dir, p);
    if (len < 0 || (size_t)len >= sizeof joined)
        joined[0] = '\0';
    if (realpath(joined, real))
        len = snprintf(out, n, "%s", real);
    else if (joined[0] != '/' && getcwd(real, sizeof real))
        len = snprintf(out, n, "%s/%s", real, joined);
    else
        len = snprintf(out, n, "%s", joined);
    if (len < 0 || (size_t)len >= n)
        out[0] = '\0';
}

static int is_number(const char *s)
{
    char *end;
    errno = 0;
    (void)strtod(s, &end);
    return end != s && !*end;
}

/* Sections a replay does not take from the config. */
static int replay_drops(const char *section)
{
    if (!strcmp(section, "strategy") || !strcmp(section, "sweep") ||
        !strcmp(section, "walkforward") || !strcmp(section, "overfit"))
        return 1;
    const char *dot = strchr(section, '.');
    if (!dot)
        return 0;
    for (int r = 0; r < CPO_ROLE_COUNT; r++) {
        const char *rn = cpo_role_name((cpo_stage_role)r);
        if (strlen(rn) == (size_t)(dot - section) && !strncmp(rn, section, strlen(rn)))
            return 1;
    }
    return 0;
}

static void put_replay_ini(const cpo_env *env, FILE *fp)
{
    const env_world *w = env->w;
    const cpo_config *cfg = w->cfg;
    const cpo_market *m = w->m;
    char buf[PATH_MAX + 64], t0[40], t1[40], warm[40];
    cpo_time_format(m->ts[env->t0], t0, sizeof t0);
    cpo_time_format(m->ts[env->t1], t1, sizeof t1);
    fprintf(fp, "; An episode of cpo_env replayed (written by cpo_env_write_episode): the config\n"
                "; %s with the episode's period and its targets (actions.csv).\n"
                "; cpo run replay.ini gives this folder's ledger.csv and trades.csv.\n",
            cfg->path);
    abs_path(NULL, cfg->data_path, buf, sizeof buf);
    fprintf(fp, "[backtest]\ndata = %s\nstart = %s\nend = %s\n", buf, t0, t1);
    if (m->ts[env->t0] > m->ts[0]) {
        cpo_duration_format(m->ts[env->t0] - m->ts[0], warm, sizeof warm);
        fprintf(fp, "warmup = %s\n", warm);
    }
    /* The other sections, in the order they first appear. */
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const char *sec = cfg->keys[i].section;
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(cfg->keys[j].section, sec) != 0;
        if (!first || replay_drops(sec))
            continue;
        if (strcmp(sec, "backtest"))
            fprintf(fp, "\n[%s]\n", sec);
        for (size_t j = i; j < cfg->n_keys; j++) {
            const cpo_config_key *k = &cfg->keys[j];
            if (strcmp(k->section, sec))
                continue;
            if (!strcmp(sec, "backtest") && (!strcmp(k->key, "data") || !strcmp(k->key, "start") ||
                                             !strcmp(k->key, "end") || !strcmp(k->key, "warmup")))
                continue;
            const char *v = k->value;
            /* Files named relative to the config: absolute here. */
            if ((!strcmp(sec, "margin") && !strcmp(k->key, "brackets")) ||
                (!strcmp(sec, "financing") && !is_number(v) && strcmp(v, "cash"))) {
                abs_path(cfg->dir, v, buf, sizeof buf);
                v = buf;
            }
            fprintf(fp, "%s = %s\n", k->key, v);
        }
    }
    fprintf(fp, "\n[strategy]\nschedule = every\nweigh = replay\n\n[weigh.replay]\n"
                "path = actions.csv\n");
}

static void put_actions(const cpo_env *env, FILE *fp)
{
    const env_world *w = env->w;
    fputs("ts", fp);
    for (size_t i = 0; i < w->n; i++) {
        fputc(',', fp);
        cpo_csv_text(fp, w->m->instr[i].symbol, 0);
    }
    fputc('\n', fp);
    for (size_t k = 0; k < env->n_rec; k++) {
        char t[40];
        cpo_time_format(env->rec_ts[k], t, sizeof t);
        fputs(t, fp);
        for (size_t i = 0; i < w->n; i++)
            cpo_csv_num(fp, env->rec[k * w->n + i]);
        fputc('\n', fp);
    }
}

int cpo_env_write_episode(const cpo_env *env, const char *dir, cpo_error *err)
{
    if (env->state != ENV_DONE)
        return cpo_error_set(err, CPO_EINVAL, dir, 0, 0,
                             env->state == ENV_RUN
                                 ? "the episode is still running (expected its files after it "
                                   "ends: terminated or truncated)"
                                 : "no finished episode (expected a reset and steps until the "
                                   "episode ends)");
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0777) != 0)
            return cpo_error_set(err, CPO_EIO, dir, 0, 0, "cannot make the folder: %s",
                                 strerror(errno));
    } else if (!S_ISDIR(sb.st_mode)) {
        return cpo_error_set(err, CPO_EEXIST, dir, 0, 0,
                             "exists and is not a folder (expected a folder for the episode)");
    }
    static const char *const names[] = {"actions.csv", "ledger.csv", "trades.csv", "replay.ini"};
    enum { N_FILES = 4 };
    char tmp[N_FILES][PATH_MAX], fin[N_FILES][PATH_MAX];
    for (int f = 0; f < N_FILES; f++)
        if (snprintf(fin[f], sizeof fin[f], "%s/%s", dir, names[f]) >= (int)sizeof fin[f] ||
            snprintf(tmp[f], sizeof tmp[f], "%s/%s.tmp", dir, names[f]) >= (int)sizeof tmp[f])
            return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected a shorter "
                                                             "folder name)");
    int rc = 0, f = 0;
    for (; f < N_FILES && !rc; f++) {
        if (f == 1) {
            rc = cpo_result_write_ledger_csv(env->res, tmp[f], err);
            continue;
        }
        if (f == 2) {
            rc = cpo_result_write_trades_csv(env->res, tmp[f], err);
            continue;
        }
        FILE *fp = cpo_csv_create(tmp[f], err);
        if (!fp) {
            rc = err && err->code ? err->code : CPO_EIO;
            continue;
        }
        if (f == 0)
            put_actions(env, fp);
        else
            put_replay_ini(env, fp);
        rc = cpo_csv_close(fp, tmp[f], err);
    }
    for (int g = 0; g < N_FILES && !rc; g++)
        if (rename(tmp[g], fin[g]) != 0)
            rc = cpo_error_set(err, CPO_EIO, fin[g], 0, 0, "cannot rename %s: %s", tmp[g],
                               strerror(errno));
    if (rc)
        for (int g = 0; g < f; g++)
            remove(tmp[g]);
    return rc;
}

/* --- vectors ------------------------------------------------------------------ */

struct cpo_vecenv {
    env_world *w;
    size_t n;
    cpo_env **env;
};

void cpo_vecenv_free(cpo_vecenv *v)
{
    if (!v)
        return;
    for (size_t k = 0; k < v->n; k++)
        cpo_env_free(v->env[k]);
    free(v->env);
    world_free(v->w);
    free(v);
}

int cpo_vecenv_new(cpo_vecenv **out, size_t n_envs, const char *path, const char *text,
                   const char *const *overrides, size_t n_overrides, cpo_error *err)
{
    *out = NULL;
    if (n_envs == 0)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "a vector of 0 envs (expected at least 1)");
    cpo_vecenv *v = calloc(1, sizeof *v);
    if (!v || !(v->env = calloc(n_envs, sizeof *v->env))) {
        free(v);
        return oom(err);
    }
    int rc = world_new(&v->w, path, text, overrides, n_overrides, err);
    for (size_t k = 0; !rc && k < n_envs; k++)
        if (!(rc = env_make(&v->env[k], v->w, 0, v->w->cfg->run.seed + k, err)))
            v->n = k + 1;
    if (rc) {
        cpo_vecenv_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

size_t cpo_vecenv_size(const cpo_vecenv *v) { return v->n; }

const cpo_env *cpo_vecenv_env(const cpo_vecenv *v, size_t k)
{
    return k < v->n ? v->env[k] : NULL;
}

/* "env K: " before the message of err. */
static int env_k(cpo_error *err, size_t k, int rc)
{
    if (err && err->code) {
        char msg[CPO_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "env %zu: %.480s", k, msg);
    }
    return rc;
}

int cpo_vecenv_reset(cpo_vecenv *v, const uint64_t *seed, double *obs, cpo_error *err)
{
    size_t no = v->w->n_obs;
    for (size_t k = 0; k < v->n; k++) {
        uint64_t s = seed ? *seed + k : 0;
        int rc = cpo_env_reset(v->env[k], seed ? &s : NULL, obs + k * no, NULL, err);
        if (rc)
            return env_k(err, k, rc);
    }
    return 0;
}

int cpo_vecenv_step(cpo_vecenv *v, const double *actions, size_t n_actions, double *obs,
                    double *reward, uint8_t *terminated, uint8_t *truncated, double *final_obs,
                    cpo_error *err)
{
    size_t na = v->w->n, no = v->w->n_obs;
    if (n_actions != v->n * na || (!actions && n_actions))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%zu action values (expected %zu: %zu envs x %zu instruments)",
                             actions ? n_actions : 0, v->n * na, v->n, na);
    for (size_t k = 0; k < v->n; k++) {
        int rc = check_action(v->env[k], actions + k * na, na, err);
        if (rc)
            return env_k(err, k, rc);
    }
    for (size_t k = 0; k < v->n; k++) {
        cpo_env *env = v->env[k];
        double *o = obs + k * no;
        int rc = env_step(env, actions + k * na, o, err);
        if (rc)
            return env_k(err, k, rc);
        reward[k] = env->st.reward;
        terminated[k] = (uint8_t)env->st.terminated;
        truncated[k] = (uint8_t)env->st.truncated;
        if (env->st.terminated || env->st.truncated) {
            if (final_obs)
                memcpy(final_obs + k * no, o, no * sizeof *o);
            if ((rc = cpo_env_reset(env, NULL, o, NULL, err)))
                return env_k(err, k, rc);
        }
    }
    return 0;
}
