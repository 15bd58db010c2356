"""cpo.Env and cpo.VecEnv (cpo/env.h) on configs/env_daily_8.ini over the
demo daily store.  Expected values come from the config (its [env] keys:
sizes and bounds), from the same env run twice (determinism), from single
Envs stepped by hand (VecEnv) and from the files `cpo run` writes for the
episode's replay.ini (pandas and plain bytes: readers independent of the
package)."""
import pathlib
import subprocess

import numpy as np
import pandas as pd
import pytest

import cpo
from conftest import ROOT, config_on

N_COINS = 8
# [env] of configs/env_daily_8.ini: features returns (window 10), vol and
# weights per coin, then equity: 8 x (10 + 1 + 1) + 1.
N_OBS = N_COINS * 12 + 1
EPISODE = 64


@pytest.fixture(scope="module")
def cfg(stores, tmp_path_factory):
    return config_on(stores, "env_daily_8", tmp_path_factory.mktemp("env"))


def actions(rng, n):
    """n actions inside the config's bounds (long only, each <= 0.5, sum <=
    0.9), so that the engine gets them unclipped."""
    return np.minimum(rng.dirichlet(np.ones(N_COINS), size=n) * 0.9, 0.5)


def episode(env, seed, acts):
    """(observations, rewards, infos) of one episode with the actions acts."""
    obs, info = env.reset(seed=seed)
    o, r, infos = [obs], [], [info]
    for a in acts:
        obs, reward, terminated, truncated, info = env.step(a)
        o.append(obs)
        r.append(reward)
        infos.append(info)
        if terminated or truncated:
            break
    return np.array(o), np.array(r), infos


def test_env__spaces_names_and_shapes(cfg):
    env = cpo.Env(cfg)
    assert env.observation_space.shape == (N_OBS,)
    assert env.action_space.shape == (N_COINS,)
    # long_only = yes, max_weight = 0.5 in the config.
    assert (env.action_space.low == 0.0).all() and (env.action_space.high == 0.5).all()
    assert np.isinf(env.observation_space.low).all() and np.isinf(env.observation_space.high).all()
    # [universe] spot = BTC, ETH, BNB, XRP, ADA, DOGE, LTC, SOL on USDT.
    assert env.symbols == ["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT",
                           "LTCUSDT", "SOLUSDT"]
    assert len(env.obs_names) == N_OBS and env.obs_names[-1] == "equity"
    # cpo/env.h: the returns window, oldest first, named return[-9] .. return[0].
    assert env.obs_names[0] == "BTCUSDT:return[-9]" and env.obs_names[9] == "BTCUSDT:return[0]"
    assert env.episode_steps == EPISODE
    assert env.bar_ms == 86_400_000
    obs, info = env.reset(seed=3)
    assert obs.shape == (N_OBS,) and obs.dtype == np.float64 and np.isfinite(obs).all()
    assert set(info) == {"ts_ms", "step", "equity", "turnover"}
    # A reset starts with the config's capital in cash: no weights, ln(1) = 0.
    assert info["step"] == 0 and info["equity"] == 1_000_000
    assert obs[-1] == 0.0
    a = env.action_space.sample()
    assert a in env.action_space
    obs, reward, terminated, truncated, info = env.step(a)
    assert obs.shape == (N_OBS,) and isinstance(reward, float)
    assert terminated is False and truncated is False
    assert info["step"] == 1 and info["ts_ms"] == env.reset(seed=3)[1]["ts_ms"] + env.bar_ms


def test_env__episode_ends_truncated_after_episode_steps_and_refuses_more(cfg):
    env = cpo.Env(cfg)
    rng = np.random.default_rng(0)
    _, rewards, infos = episode(env, 1, actions(rng, EPISODE + 5))
    assert len(rewards) == EPISODE and infos[-1]["step"] == EPISODE
    # The reward is ln(E_{t+1} / E_t) minus turnover_penalty (0.0005) x turnover (cpo/env.h).
    eq = np.array([i["equity"] for i in infos])
    turn = np.array([i["turnover"] for i in infos[1:]])
    assert np.allclose(rewards, np.log(eq[1:] / eq[:-1]) - 0.0005 * turn, rtol=0, atol=1e-12)
    with pytest.raises(cpo.Error) as e:
        env.step(np.zeros(N_COINS))
    assert e.value.code == "EINVAL"


def test_env__bad_actions_are_refused_and_change_nothing(cfg):
    env = cpo.Env(cfg)
    env.reset(seed=2)
    with pytest.raises(cpo.Error, match="EINVAL|expected") as e:
        env.step(np.zeros(N_COINS - 1))
    assert e.value.code == "EINVAL"
    bad = np.zeros(N_COINS)
    bad[3] = np.nan
    with pytest.raises(cpo.Error):
        env.step(bad)
    # Still at the first close: the next step is the episode's first.
    _, _, _, _, info = env.step(np.zeros(N_COINS))
    assert info["step"] == 1
    with pytest.raises(ValueError):
        env.reset(seed=-1)


def test_env__same_seed_and_actions_give_the_same_episode_bit_for_bit(cfg):
    acts = actions(np.random.default_rng(5), EPISODE)
    o1, r1, i1 = episode(cpo.Env(cfg), 11, acts)
    o2, r2, i2 = episode(cpo.Env(cfg), 11, acts)
    assert o1.tobytes() == o2.tobytes() and r1.tobytes() == r2.tobytes() and i1 == i2
    # Another seed draws another window of the period (random_start = yes).
    _, _, i3 = episode(cpo.Env(cfg), 12, acts)
    assert i3[0]["ts_ms"] != i1[0]["ts_ms"]
    # Without a seed an env goes on with its generator: two envs made alike
    # ([backtest] seed = 1) draw the same sequence of windows.
    a, b = cpo.Env(cfg), cpo.Env(cfg)
    starts_a = [a.reset()[1]["ts_ms"] for _ in range(4)]
    starts_b = [b.reset()[1]["ts_ms"] for _ in range(4)]
    assert starts_a == starts_b and len(set(starts_a)) > 1


def test_env__python_actions_replayed_by_cpo_run_give_the_byte_identical_ledger(
        cfg, cpo_bin, tmp_path):
    env = cpo.Env(cfg)
    acts = actions(np.random.default_rng(7), EPISODE)
    _, _, infos = episode(env, 4, acts)
    folder = tmp_path / "episode"
    env.save_episode(folder)
    # actions.csv holds the targets Python sent (inside the bounds: unclipped),
    # at the open of each decision's bar (info ts_ms).
    rec = pd.read_csv(folder / "actions.csv", dtype=str)
    assert list(rec.columns) == ["ts"] + env.symbols
    assert (rec[env.symbols].applymap(float).to_numpy() == acts).all()
    want_ts = pd.to_datetime([i["ts_ms"] for i in infos[:-1]], unit="ms", utc=True)
    assert (pd.to_datetime(rec["ts"], utc=True) == want_ts).all()
    subprocess.run([cpo_bin, "run", "--quiet", "-o", str(tmp_path / "run"),
                    str(folder / "replay.ini")], check=True)
    for name in ("ledger.csv", "trades.csv"):
        assert (tmp_path / "run" / name).read_bytes() == (folder / name).read_bytes(), name
    # The actions as Python recorded them (its own file: repr's shortest
    # round-trip digits, the decision bars' times from info) replay the same.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "replay.ini").write_text((folder / "replay.ini").read_text())
    rows = ["ts," + ",".join(env.symbols)]
    for info, a in zip(infos[:-1], acts):
        ts = pd.Timestamp(info["ts_ms"], unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(ts + "," + ",".join(repr(float(x)) for x in a))
    (mine / "actions.csv").write_text("\n".join(rows) + "\n")
    subprocess.run([cpo_bin, "run", "--quiet", "-o", str(tmp_path / "run2"),
                    str(mine / "replay.ini")], check=True)
    for name in ("ledger.csv", "trades.csv"):
        assert (tmp_path / "run2" / name).read_bytes() == (folder / name).read_bytes(), name
    # And the ledger's equity at each observed close is the equity Python saw.
    # (float() of the text: it rounds correctly, pandas' parser may not.)
    led = pd.read_csv(tmp_path / "run" / "ledger.csv", comment="#", dtype=str)
    eq = dict(zip(pd.to_datetime(led["ts"], utc=True), map(float, led["equity"])))
    for info in infos[1:]:
        assert eq[pd.Timestamp(info["ts_ms"], unit="ms", tz="UTC")] == info["equity"]


def test_vecenv__rows_equal_single_envs_and_reset_themselves(cfg):
    n = 4
    vec = cpo.VecEnv(cfg, n)
    assert vec.observation_space.shape == (n, N_OBS) and vec.action_space.shape == (n, N_COINS)
    assert vec.single_observation_space.shape == (N_OBS,)
    obs, _ = vec.reset(seed=20)
    # Env k of the vector is reset with seed + k (cpo/env.h): single envs
    # stepped with the same actions give the same rows, bit for bit.
    singles = [cpo.Env(cfg) for _ in range(n)]
    first = np.array([e.reset(seed=20 + k)[0] for k, e in enumerate(singles)])
    assert obs.tobytes() == first.tobytes()
    rng = np.random.default_rng(9)
    for t in range(EPISODE):
        a = actions(rng, n)
        obs, rew, term, trunc, infos = vec.step(a)
        want = [e.step(a[k]) for k, e in enumerate(singles)]
        assert rew.tobytes() == np.array([w[1] for w in want]).tobytes()
        if t < EPISODE - 1:
            assert obs.tobytes() == np.array([w[0] for w in want]).tobytes()
            assert not term.any() and not trunc.any() and infos == {}
    # The last step ends every episode: its observation is in final_obs and
    # obs holds the first of the next episode (reset at once).
    assert trunc.all() and infos["_final_obs"].all()
    assert infos["final_obs"].tobytes() == np.array([w[0] for w in want]).tobytes()
    assert np.isfinite(obs).all() and (obs[:, -1] == 0.0).all()


def test_vecenv__a_bad_action_names_its_env(cfg):
    vec = cpo.VecEnv(cfg, 3)
    vec.reset(seed=1)
    a = np.zeros((3, N_COINS))
    a[2, 0] = np.inf
    with pytest.raises(cpo.Error, match="^.*env 2: "):
        vec.step(a)
    with pytest.raises(cpo.Error):
        vec.step(np.zeros((3, N_COINS - 1)))


def test_env__from_text_with_overrides(cfg):
    text = pathlib.Path(cfg).read_text()
    env = cpo.Env(text, overrides={"env.window": 5, "env.features": "returns, equity"},
                  name=str(cfg))
    # 8 coins x 5 returns + equity.
    assert env.observation_space.shape == (N_COINS * 5 + 1,)
    with pytest.raises(cpo.Error) as e:
        cpo.Env(cfg, overrides={"env.reward": "sortino"})
    assert e.value.code == "ECONFIG" and "reward" in str(e.value)


def test_rl_example__trains_replays_byte_for_byte_and_compares(stores, cpo_bin, tmp_path):
    # scripts/rl_linear.py, 2 iterations instead of 40 (the full run takes
    # about 20 s): its replay check, and the files it says it writes.
    build = pathlib.Path(cpo_bin).parent
    out = tmp_path / "rl"
    done = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "rl_linear.py"),
                           "--build", str(build), "--out", str(out), "--iters", "2",
                           "--store", stores["daily"]],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ledger.csv byte-identical" in done.stdout
    assert len((out / "train.csv").read_text().splitlines()) == 1 + 2
    for f in ("episode/actions.csv", "runs/rl/summary.json", "runs/equal/summary.json",
              "compare/compare.html"):
        assert (out / f).exists(), f
