"""Learning agents on cpo's engine: cpo.Env and cpo.VecEnv over cpo/env.h.

An env is a backtest config whose [strategy] the agent replaces: at every
bar's close it gets the agent's action (one target weight, or change of
weight, per instrument of the universe), and the engine of `cpo run` fills
it with the config's costs, fills, funding, financing and margin.  The
calling convention is Gymnasium's, without depending on gymnasium:

    env = cpo.Env("configs/env_daily_8.ini", overrides={"env.episode_steps": 64})
    obs, info = env.reset(seed=1)
    while True:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            break
    env.save_episode("out/episode")     # then: cpo run out/episode/replay.ini

cpo.VecEnv steps N envs of one config in one C call (they share the market
and its features), resetting an env whose episode ended at once (its last
observation in infos["final_obs"]).  Observations, rewards and episodes
are described in cpo/env.h and the README ("A step interface for learning agents").
"""
import os

import numpy as np

from . import Error, _check, _overrides  # noqa: F401  (Error: what the methods raise)
from ._lib import ffi, lib

__all__ = ["Box", "Env", "VecEnv"]


class Box:
    """A box of float64 values (shape, low, high), as gymnasium.spaces.Box
    describes one: low and high are arrays of the shape (-inf, inf where
    unbounded)."""

    def __init__(self, low, high, shape, seed=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(np.float64)
        self.low = np.broadcast_to(np.asarray(low, dtype=np.float64), self.shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=np.float64), self.shape).copy()
        self._rng = np.random.default_rng(seed)

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)
        return [seed]

    def sample(self):
        """Uniform where both bounds are finite, a standard normal elsewhere
        (shifted into a half-bounded side), as gymnasium samples."""
        lo, hi = self.low, self.high
        out = self._rng.standard_normal(self.shape)
        both = np.isfinite(lo) & np.isfinite(hi)
        out[both] = self._rng.uniform(lo[both], hi[both])
        below = np.isfinite(lo) & ~np.isfinite(hi)
        out[below] = lo[below] + self._rng.exponential(size=int(below.sum()))
        above = ~np.isfinite(lo) & np.isfinite(hi)
        out[above] = hi[above] - self._rng.exponential(size=int(above.sum()))
        return out

    def contains(self, x):
        x = np.asarray(x)
        return (x.shape == self.shape and bool(np.all(np.isfinite(x) | np.isinf(self.high)))
                and bool(np.all(x >= self.low)) and bool(np.all(x <= self.high)))

    def __contains__(self, x):
        return self.contains(x)

    def __repr__(self):
        lo = self.low.flat[0] if self.low.size else 0.0
        hi = self.high.flat[0] if self.high.size else 0.0
        return f"Box({lo}, {hi}, {self.shape}, float64)"


def _config_args(config, name):
    """(path, text) for the C call: config is a path, or INI text when it
    holds a newline (name is then its path for messages and relative paths)."""
    config = os.fspath(config)
    if "\n" in config:
        return (name or "config.ini").encode(), config.encode()
    return config.encode(), ffi.NULL


def _override_array(overrides):
    keep = [ffi.new("char[]", o.encode()) for o in _overrides(overrides)]
    return keep, (ffi.new("const char *[]", keep) if keep else ffi.NULL)


def _ptr(a, ctype="double *"):
    return ffi.cast(ctype, ffi.from_buffer(a))


class _Shape:
    """Sizes, names and spaces of an env handle (cpo_env)."""

    def __init__(self, handle):
        self.n_obs = lib.cpo_env_obs_size(handle)
        self.n_act = lib.cpo_env_action_size(handle)
        self.obs_names = [ffi.string(lib.cpo_env_obs_name(handle, k)).decode()
                          for k in range(self.n_obs)]
        self.symbols = [ffi.string(lib.cpo_env_action_name(handle, k)).decode()
                        for k in range(self.n_act)]
        lo, hi = ffi.new("double *"), ffi.new("double *")
        lib.cpo_env_action_bounds(handle, lo, hi)
        self.low, self.high = lo[0], hi[0]
        self.episode_steps = lib.cpo_env_episode_steps(handle)
        self.bar_ms = lib.cpo_env_bar_ms(handle)


def _info(st):
    return {"ts_ms": int(st.ts_ms), "step": int(st.step), "equity": float(st.equity),
            "turnover": float(st.turnover)}


def _seed_ptr(holder, seed):
    if seed is None:
        return ffi.NULL
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed {seed} is negative (expected an integer >= 0)")
    holder[0] = seed & 0xFFFFFFFFFFFFFFFF
    return holder


class Env:
    """One environment on a config (a path, or INI text with name= its path).

    observation_space, action_space: Box; obs_names, symbols (the action's
    order); episode_steps; reset(seed=None) -> (obs, info); step(action) ->
    (obs, reward, terminated, truncated, info); save_episode(dir).  info
    holds ts_ms (the open time of the bar whose close is observed), step,
    equity and turnover.  Errors raise cpo.Error with the C library's
    message."""

    metadata = {"render_modes": []}
    render_mode = None

    def __init__(self, config, overrides=None, *, name=None):
        path, text = _config_args(config, name)
        keep, ov = _override_array(overrides)
        out = ffi.new("cpo_env **")
        self._err = ffi.new("cpo_error *")
        _check(lib.cpo_env_new(out, path, text, ov, len(keep), self._err), self._err)
        self._env = ffi.gc(out[0], lib.cpo_env_free)
        s = _Shape(self._env)
        self.obs_names, self.symbols = s.obs_names, s.symbols
        self.episode_steps, self.bar_ms = s.episode_steps, s.bar_ms
        self.observation_space = Box(-np.inf, np.inf, (s.n_obs,))
        self.action_space = Box(s.low, s.high, (s.n_act,))
        self._obs = np.empty(s.n_obs)
        self._obs_p = _ptr(self._obs)
        self._st = ffi.new("cpo_env_status *")
        self._seed = ffi.new("uint64_t *")

    @property
    def unwrapped(self):
        return self

    def reset(self, *, seed=None, options=None):
        """Start an episode (seed: its window; None goes on with the env's
        generator).  options is accepted and ignored."""
        _check(lib.cpo_env_reset(self._env, _seed_ptr(self._seed, seed), self._obs_p, self._st,
                                 self._err), self._err)
        return self._obs.copy(), _info(self._st)

    def step(self, action):
        a = np.ascontiguousarray(action, dtype=np.float64).ravel()
        _check(lib.cpo_env_step(self._env, _ptr(a), a.size, self._obs_p, self._st, self._err),
               self._err)
        st = self._st
        return (self._obs.copy(), float(st.reward), bool(st.terminated), bool(st.truncated),
                _info(st))

    def save_episode(self, directory):
        """The finished episode's actions.csv, ledger.csv, trades.csv and
        replay.ini into directory (made if missing): `cpo run
        DIR/replay.ini` gives the same ledger.csv and trades.csv bytes."""
        _check(lib.cpo_env_write_episode(self._env, os.fspath(directory).encode(), self._err),
               self._err)

    def close(self):
        pass

    def __repr__(self):
        return (f"<cpo.Env {len(self.symbols)} instruments, {len(self.obs_names)} observed, "
                f"{self.episode_steps} steps an episode>")


class VecEnv:
    """num_envs environments of one config stepped in one C call.

    reset(seed=None) -> (obs, infos): env k reset with seed + k.
    step(actions) -> (obs, rewards, terminated, truncated, infos): actions
    is (num_envs, n_instruments); an env whose episode ended is reset at
    once, its first observation in obs and its last in infos["final_obs"]
    (rows where infos["_final_obs"] is True).  With copy=False the arrays
    returned are the vector's own buffers, overwritten by the next call."""

    metadata = {"render_modes": [], "autoreset_mode": "same-step"}

    def __init__(self, config, num_envs, overrides=None, *, name=None, copy=True):
        path, text = _config_args(config, name)
        keep, ov = _override_array(overrides)
        out = ffi.new("cpo_vecenv **")
        self._err = ffi.new("cpo_error *")
        _check(lib.cpo_vecenv_new(out, int(num_envs), path, text, ov, len(keep), self._err),
               self._err)
        self._v = ffi.gc(out[0], lib.cpo_vecenv_free)
        self.num_envs = int(num_envs)
        s = _Shape(lib.cpo_vecenv_env(self._v, 0))
        self.obs_names, self.symbols = s.obs_names, s.symbols
        self.episode_steps, self.bar_ms = s.episode_steps, s.bar_ms
        n = self.num_envs
        self.single_observation_space = Box(-np.inf, np.inf, (s.n_obs,))
        self.single_action_space = Box(s.low, s.high, (s.n_act,))
        self.observation_space = Box(-np.inf, np.inf, (n, s.n_obs))
        self.action_space = Box(s.low, s.high, (n, s.n_act))
        self._copy = copy
        self._obs = np.empty((n, s.n_obs))
        self._final = np.zeros((n, s.n_obs))
        self._rew = np.empty(n)
        self._term = np.empty(n, dtype=np.uint8)
        self._trunc = np.empty(n, dtype=np.uint8)
        self._p = (_ptr(self._obs), _ptr(self._rew), _ptr(self._term, "uint8_t *"),
                   _ptr(self._trunc, "uint8_t *"), _ptr(self._final))
        self._na = n * s.n_act
        self._seed = ffi.new("uint64_t *")

    def reset(self, *, seed=None, options=None):
        _check(lib.cpo_vecenv_reset(self._v, _seed_ptr(self._seed, seed), self._p[0], self._err),
               self._err)
        return (self._obs.copy() if self._copy else self._obs), {}

    def step(self, actions):
        a = np.ascontiguousarray(actions, dtype=np.float64)
        obs, rew, term, trunc, final = self._p
        _check(lib.cpo_vecenv_step(self._v, _ptr(a), a.size, obs, rew, term, trunc, final,
                                   self._err), self._err)
        done = (self._term | self._trunc).astype(bool)
        infos = {}
        if done.any():
            infos = {"final_obs": self._final.copy() if self._copy else self._final,
                     "_final_obs": done}
        if self._copy:
            return (self._obs.copy(), self._rew.copy(), self._term.astype(bool),
                    self._trunc.astype(bool), infos)
        return self._obs, self._rew, self._term.view(bool), self._trunc.view(bool), infos

    def equity(self):
        """Each env's equity at its current close (reporting currency)."""
        return np.array([lib.cpo_env_last(lib.cpo_vecenv_env(self._v, k)).equity
                         for k in range(self.num_envs)])

    def close(self):
        pass

    def __repr__(self):
        return f"<cpo.VecEnv {self.num_envs} x {len(self.symbols)} instruments>"
