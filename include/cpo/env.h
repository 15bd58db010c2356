/*
 * cpo/env.h - a step interface for learning agents, on the engine of
 * `cpo run`: the same store, costs, fills, funding, financing, margin and
 * liquidation as a backtest of the same config.
 *
 *     cpo_env *env;
 *     if (cpo_env_new(&env, "configs/env_daily_8.ini", NULL, NULL, 0, &err)) ... err ...
 *     size_t n_obs = cpo_env_obs_size(env), n_act = cpo_env_action_size(env);
 *     double obs[n_obs], act[n_act];
 *     cpo_env_status st;
 *     uint64_t seed = 7;
 *     cpo_env_reset(env, &seed, obs, &st, &err);
 *     while (!st.terminated && !st.truncated) {
 *         ... act from obs ...
 *         if (cpo_env_step(env, act, n_act, obs, &st, &err)) ... err ...
 *         ... st.reward ...
 *     }
 *     cpo_env_write_episode(env, "out/episode", &err);   // cpo run out/episode/replay.ini
 *     cpo_env_free(env);
 *
 * The config is a backtest config whose [strategy] the agent replaces: the
 * pipeline is schedule `every` and weigh `agent`, a built-in stage that
 * hands the agent's action to the engine as the targets of every instrument
 * of the universe (the config's select, overlay and hedge stages are not
 * run; [strategy] may be left out).  Its [env] section (cpo_env_spec)
 * declares the observation, the reward, the action and the episodes.
 *
 * Steps.  The grid's bars are the env's steps.  reset() draws an episode
 * (a window of episode_steps + 1 bars of the config's period, its first
 * bar drawn from the seed with random_start; else the period's first),
 * starts the engine on it (eng_begin) and takes it to the close of the
 * first bar: the observation is the book and the market at that close.
 * step(action) makes the action the targets of the decision at that close
 * (filled at the next open, or at this close with [costs] fill = close, as
 * `cpo run` fills), and takes the engine to the close of the next bar: the
 * observation there, the reward of the step, and whether the episode is
 * over.  After the last decision the engine closes the window's last bar
 * (truncated = 1); an account whose equity reached 0 (ruin: everything is
 * closed and nothing trades any more) ends the episode early (terminated =
 * 1).  Then step() is refused until the next reset().
 *
 * Action: one number per instrument of the universe, in market order
 * (cpo_env_action_name), finite.  With action = weights, the target
 * weights of equity (signed: short < 0); with action = deltas, changes to
 * the weights held at the close.  The targets are clipped to [low, high]
 * of the weight bounds (-max_weight or 0 with long_only, max_weight) and,
 * when their absolute sum passes max_gross, scaled down to it; those are
 * the weights the engine gets (cash_buffer applies as in a backtest) and
 * the weights an episode records.  An action of the wrong length, a NaN
 * or an infinite value is refused (CPO_EINVAL) and changes nothing.
 *
 * Observation: n_obs doubles (cpo_env_obs_name names each), per
 * instrument in market order the features declared, then the book's:
 *
 *   returns   `window` log returns of the close, oldest first: ln(c_t /
 *             c_{t-1}) for the window's bars up to the current one
 *   vol       the sample standard deviation of the log returns of the last
 *             vol_window bars (per bar, not annualised)
 *   funding   the rate of the latest funding event stamped before the
 *             current bar's close (perpetuals; 0 for the others)
 *   basis     mark / index - 1 of a perpetual or future at the close (the
 *             index column, else the close of the spot instrument on the
 *             same coin; 0 for spot)
 *   weights   exposure / equity held at the close, before the decision
 *   equity    ln(equity / capital) (ln 1e-12 at and below 0)
 *   margin    the highest maintenance / margin balance of the margined
 *             pools (0 without one; 1 is liquidation)
 *   greeks    per option underlying of [options]: the book's delta in USD,
 *             gamma (USD per 1 % move), vega (USD per vol point) and theta
 *             (USD a day), each over equity
 *
 * Market data comes only from bars up to the current one (no look-ahead:
 * an observation does not change when later bars change); before the
 * cube's first bar, and where a price is missing, a value is 0.  The
 * bounds of every element are -inf .. inf.
 *
 * Reward of a step: with E_t the equity at the close of bar t before the
 * decision (what the observation shows), R = E_{t+1} / E_t - 1 and
 *   log_return           ln(E_{t+1} / E_t) (the ratio floored at 1e-12)
 *   differential_sharpe  Moody & Saffell's differential Sharpe ratio of R
 *                        (Moody, Wu, Liao & Saffell 1998; Moody & Saffell
 *                        2001): with A, B the exponential moving
 *                        averages of R and R^2 at rate sharpe_eta (both 0
 *                        at reset), D = (B dA - A dB / 2) / (B - A^2)^1.5
 *                        with dA = R - A, dB = R^2 - B (0 while B - A^2 <=
 *                        0), then A += eta dA, B += eta dB
 * minus drawdown_penalty x (1 - E_{t+1} / the peak of E over the episode)
 * minus turnover_penalty x the sum over instruments of |target - weight|.
 * Fees, slippage, funding, financing and liquidations are in the equity.
 *
 * Determinism: an env's episodes come from a gsl_rng (mt19937) seeded with
 * [backtest] seed at creation and again at each reset with a seed; the
 * same config, store, seed and actions give the same observations, rewards
 * and files, bit for bit.  A step allocates nothing (the trades of the
 * window are reserved at reset; only the rare events grow their array).
 *
 * Ownership: an env or vector env belongs to the caller (cpo_env_free,
 * cpo_vecenv_free; NULL is a no-op).  Names returned live as long as it.
 * One env is not to be used from two threads at once; different envs may.
 */
#ifndef CPO_ENV_H
#define CPO_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Observation features ([env] features). */
enum {
    CPO_ENV_F_RETURNS = 1u << 0,
    CPO_ENV_F_VOL = 1u << 1,
    CPO_ENV_F_FUNDING = 1u << 2,
    CPO_ENV_F_BASIS = 1u << 3,
    CPO_ENV_F_WEIGHTS = 1u << 4,
    CPO_ENV_F_EQUITY = 1u << 5,
    CPO_ENV_F_MARGIN = 1u << 6,
    CPO_ENV_F_GREEKS = 1u << 7
};

typedef enum cpo_env_reward {
    CPO_ENV_REWARD_LOG_RETURN = 0,
    CPO_ENV_REWARD_DIFF_SHARPE = 1
} cpo_env_reward;

typedef enum cpo_env_action {
    CPO_ENV_ACTION_WEIGHTS = 0,
    CPO_ENV_ACTION_DELTAS = 1
} cpo_env_action;

/* A config's [env] section (cpo_config.env), defaults in parentheses. */
typedef struct cpo_env_spec {
    int present;             /* the config has an [env] section */
    size_t window;           /* bars of returns in an observation (10) */
    size_t vol_window;       /* bars of the realised volatility (30) */
    unsigned features;       /* CPO_ENV_F_* (returns, vol, weights, equity) */
    cpo_env_reward reward;   /* (log_return) */
    double sharpe_eta;       /* differential Sharpe adaptation rate (0.01) */
    double drawdown_penalty; /* (0) */
    double turnover_penalty; /* (0) */
    cpo_env_action action;   /* (weights) */
    double max_weight;       /* |target weight| at most (1) */
    double max_gross;        /* sum of |target weights| at most (1) */
    int long_only;           /* targets >= 0 (no) */
    size_t episode_steps;    /* decisions per episode; 0: the whole period (0) */
    int random_start;        /* draw the episode's first bar from the seed (yes) */
} cpo_env_spec;

void cpo_env_spec_init(cpo_env_spec *s);

/* The feature named name ("returns", ...) as CPO_ENV_F_*, or 0; and the
 * name of a feature bit (NULL if none). */
unsigned cpo_env_feature(const char *name);
const char *cpo_env_feature_name(unsigned bit);

typedef struct cpo_env cpo_env;

/* What a reset or a step ends at. */
typedef struct cpo_env_status {
    double reward;      /* of the step (0 after a reset) */
    int terminated;     /* the account is ruined (equity reached 0) */
    int truncated;      /* the window's last bar is closed */
    int64_t ts_ms;      /* open time of the bar whose close is observed */
    size_t step;        /* decisions made in the episode */
    double equity;      /* at that close, before the decision (reporting ccy) */
    double turnover;    /* of the step's action: sum of |target - weight| */
} cpo_env_status;

/*
 * Make an env from a config: path is the config file; with text (the INI
 * text, NUL-terminated) the file is not read and path names it in messages
 * and gives the folder relative paths start from.  overrides are
 * "SECTION.KEY = value" as cpo_results_run (cpo/api.h) takes them
 * ("env.window = 20", "backtest.start = 2021-01-01").  The store is read
 * and the features computed once; errors are those of `cpo run` and of
 * [env] (with the key's line).
 */
int cpo_env_new(cpo_env **out, const char *path, const char *text,
                const char *const *overrides, size_t n_overrides, cpo_error *err);
void cpo_env_free(cpo_env *env);

size_t cpo_env_obs_size(const cpo_env *env);
size_t cpo_env_action_size(const cpo_env *env);
/* "BTCUSDT:return[-9]" .. "BTCUSDT:return[0]", "BTCUSDT:vol", ...,
 * "equity", "margin", "BTC:delta_usd", ...; NULL past the last. */
const char *cpo_env_obs_name(const cpo_env *env, size_t k);
/* The symbol of action element k; NULL past the last. */
const char *cpo_env_action_name(const cpo_env *env, size_t k);
/* Bounds of every action element (the same for all). */
void cpo_env_action_bounds(const cpo_env *env, double *low, double *high);
/* Decisions in an episode (episode_steps, or the period's). */
size_t cpo_env_episode_steps(const cpo_env *env);
/* The cube's bar spacing, ms. */
int64_t cpo_env_bar_ms(const cpo_env *env);

/*
 * Start an episode: seed (NULL: go on with the env's generator) draws its
 * window.  A running episode is dropped.  obs gets cpo_env_obs_size values;
 * st (may be NULL) the status at the first close.
 */
int cpo_env_reset(cpo_env *env, const uint64_t *seed, double *obs, cpo_env_status *st,
                  cpo_error *err);

/*
 * Act: n_action values (cpo_env_action_size), as described at the top.
 * CPO_EINVAL without a running episode (before the first reset, or after
 * the episode ended) and for a bad action; an error of the engine ends the
 * episode.
 */
int cpo_env_step(cpo_env *env, const double *action, size_t n_action, double *obs,
                 cpo_env_status *st, cpo_error *err);

/* The status of the last reset or step. */
const cpo_env_status *cpo_env_last(const cpo_env *env);

/*
 * The finished episode into the folder dir (made if missing), each file
 * written to NAME.tmp and renamed when whole:
 *
 *   actions.csv  ts (the decision bar's open, ISO 8601), then one column
 *                per instrument: the target weights the engine got
 *   ledger.csv, trades.csv  the episode's, as `cpo run` writes them
 *   replay.ini   the config with the episode's period (start, end and a
 *                warmup that starts the grid where the env's starts), the
 *                store's path made absolute, and [strategy] schedule =
 *                every, weigh = replay reading actions.csv
 *
 * `cpo run DIR/replay.ini` then writes a ledger.csv and trades.csv
 * byte-identical to these.  CPO_EINVAL while an episode runs or before one.
 */
int cpo_env_write_episode(const cpo_env *env, const char *dir, cpo_error *err);

/* --- vectors of environments ------------------------------------------------ */

typedef struct cpo_vecenv cpo_vecenv;

/* n_envs envs of one config, sharing the market and features (read once);
 * env k's generator is seeded with [backtest] seed + k. */
int cpo_vecenv_new(cpo_vecenv **out, size_t n_envs, const char *path, const char *text,
                   const char *const *overrides, size_t n_overrides, cpo_error *err);
void cpo_vecenv_free(cpo_vecenv *v);
size_t cpo_vecenv_size(const cpo_vecenv *v);
/* Env k (its sizes, names and bounds; its status); NULL past the last. */
const cpo_env *cpo_vecenv_env(const cpo_vecenv *v, size_t k);

/* Reset every env, env k with seed + k (seed NULL: each goes on with its
 * generator).  obs: n_envs x obs_size, row k env k's. */
int cpo_vecenv_reset(cpo_vecenv *v, const uint64_t *seed, double *obs, cpo_error *err);

/*
 * Step every env in one call: actions is n_envs x action_size (n_actions
 * values in all), row k for env k.  obs, reward, terminated and truncated
 * get each env's result.  An env whose episode ended in this step is reset
 * at once (its generator goes on): obs holds the first observation of its
 * next episode, final_obs (when not NULL, n_envs x obs_size) the last of
 * the one that ended (the rows of the others are left as they were).  A
 * bad action is refused before any env steps, with "env K: " before the
 * message.
 */
int cpo_vecenv_step(cpo_vecenv *v, const double *actions, size_t n_actions, double *obs,
                    double *reward, uint8_t *terminated, uint8_t *truncated, double *final_obs,
                    cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
