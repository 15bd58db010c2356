#!/usr/bin/python3
"""A small learning agent on cpo's engine, with numpy alone: a linear
policy over per-coin features, trained by random search on cpo.VecEnv
episodes of configs/env_daily_8.ini in 2020-09 .. 2023-12, then run out of
sample (2024-01 .. 2025-12) as one episode, replayed by `cpo run` (weigh =
replay) and put beside equal weight (configs/monthly_equal_8.ini on the
same period) with `cpo compare`.

    scripts/rl_linear.py [--build build] [--out out/rl_linear] [--iters 40] [--store STORE]

Needs the demo stores (scripts/demo.sh) and a build (libcpo.so.0 and cpo);
writes OUT/train.csv (the learning curve), OUT/episode/ (the policy's
out-of-sample episode: actions.csv, ledger.csv, replay.ini), OUT/runs/rl
and OUT/runs/equal (run folders), OUT/compare/ (cpo compare).

The policy: for coin i with the observation's 10 daily log returns r and
30-day volatility v (a day's), the score s_i = theta . (sum(r) / v,
mean(r[-3:]) / v, 10 v): a trend, a short-term reversal and a volatility
term, and the target weights softmax(s) x 0.99,
capped at the config's max_weight (0.5).  Random search (Mania, Guy &
Recht 2018, "basic random search"): each iteration measures theta +/-
NOISE delta for 8 random directions, each on the same 16 windows of 64
days (16 envs of a VecEnv stepped at once), and moves theta along the
directions weighted by their reward differences.  Seeds are fixed: the run is deterministic.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import numpy as np  # noqa: E402

TRAIN = ("2020-09-01", "2023-12-31")
TEST = ("2024-01-01", "2025-12-31")
N_DIR = 8          # random directions an iteration
N_ENV = 16         # episodes (windows) a policy is measured on
STEP = 0.05        # the random search's step size
NOISE = 0.3        # the perturbation's scale


def features(obs, n, window):
    """(..., n, 3) per-coin features from observations laid out as
    cpo/env.h says: per coin `window` returns, then the vol, then the
    weight.  (No constant: softmax ignores what every coin shares.)"""
    per = obs[..., : n * (window + 2)].reshape(obs.shape[:-1] + (n, window + 2))
    r, v = per[..., :window], per[..., window]
    v = np.maximum(v, 1e-4)
    return np.stack([r.sum(-1) / v, r[..., -3:].mean(-1) / v, v * 10.0], axis=-1)


def policy(theta, obs, n, window, cap):
    s = features(obs, n, window) @ theta
    s -= s.max(-1, keepdims=True)
    w = np.exp(s)
    w = 0.99 * w / w.sum(-1, keepdims=True)
    return np.minimum(w, cap)


def config_text(path, start, end, store=None):
    """The config at path with its period set and its store's path made
    absolute, or store (so that it can be written elsewhere)."""
    text = path.read_text()
    text = re.sub(r"^start\s*=.*$", f"start    = {start}", text, count=1, flags=re.M)
    text = re.sub(r"^end\s*=.*$", f"end      = {end}", text, count=1, flags=re.M)
    data = re.search(r"^data\s*=\s*(\S+)", text, re.M).group(1)
    store = pathlib.Path(store).resolve() if store else (path.parent / data).resolve()
    return re.sub(r"^data\s*=.*$", f"data     = {store}", text, count=1, flags=re.M)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--out", default=str(ROOT / "out" / "rl_linear"))
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--store", help="the daily store (default: the configs' out/demo/crypto-daily.h5)")
    args = ap.parse_args()
    build = pathlib.Path(args.build).resolve()
    os.environ.setdefault("CPO_LIBRARY", str(build / "libcpo.so.0"))
    import cpo

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = ROOT / "configs" / "env_daily_8.ini"
    t0 = time.perf_counter()
    data = {"backtest.data": str(pathlib.Path(args.store).resolve())} if args.store else {}
    period = {"backtest.start": TRAIN[0], "backtest.end": TRAIN[1], **data}
    train = cpo.VecEnv(cfg, N_ENV, period, copy=False)
    n = len(train.symbols)
    window = sum(1 for name in train.obs_names if name.startswith(train.symbols[0] + ":return"))
    cap = float(train.single_action_space.high[0])
    rng = np.random.default_rng(2024)
    theta = np.zeros(3)
    steps = 0

    def evaluate(th, seed):
        """The summed reward of each of the N_ENV episodes (windows drawn
        from seed: env k's from seed + k) under the policy th."""
        obs, _ = train.reset(seed=seed)
        total = np.zeros(N_ENV)
        for _ in range(train.episode_steps):
            obs, rew, _, _, _ = train.step(policy(th, obs, n, window, cap))
            total += rew
        return total

    curve = ["iteration,mean_episode_reward,theta"]
    for it in range(args.iters):
        delta = rng.standard_normal((N_DIR, theta.size))
        # Both signs of a direction on the same windows (the same seed).
        seed = int(rng.integers(0, 2**31))
        plus = np.array([evaluate(theta + NOISE * d, seed).mean() for d in delta])
        minus = np.array([evaluate(theta - NOISE * d, seed).mean() for d in delta])
        steps += 2 * N_DIR * N_ENV * train.episode_steps
        sd = np.concatenate([plus, minus]).std() + 1e-12
        theta = theta + STEP / (N_DIR * sd) * ((plus - minus) @ delta)
        curve.append(f"{it},{(plus.mean() + minus.mean()) / 2:.6f},"
                     f"{' '.join(f'{x:.4f}' for x in theta)}")
    (out / "train.csv").write_text("\n".join(curve) + "\n")
    t_train = time.perf_counter() - t0
    print(f"trained theta = {np.round(theta, 3)} in {args.iters} iterations, {steps} env steps, "
          f"{t_train:.1f} s")

    # Out of sample: the whole test period as one episode, from its first bar.
    test = cpo.Env(cfg, {"backtest.start": TEST[0], "backtest.end": TEST[1],
                         "env.episode_steps": 0, "env.random_start": "no", **data})
    obs, _ = test.reset(seed=0)
    done = False
    while not done:
        obs, _, term, trunc, info = test.step(policy(theta, obs, n, window, cap))
        done = term or trunc
    test.save_episode(out / "episode")
    cpo_bin = str(build / "cpo")
    subprocess.run([cpo_bin, "run", "--quiet", "--force", "-o", str(out / "runs" / "rl"),
                    str(out / "episode" / "replay.ini")], check=True)
    equal = out / "monthly_equal_8.ini"
    equal.write_text(config_text(ROOT / "configs" / "monthly_equal_8.ini", *TEST, args.store))
    subprocess.run([cpo_bin, "run", "--quiet", "--force", "-o", str(out / "runs" / "equal"),
                    str(equal)], check=True)
    same = (out / "runs" / "rl" / "ledger.csv").read_bytes() == \
        (out / "episode" / "ledger.csv").read_bytes()
    print(f"replay of the episode's actions by cpo run: ledger.csv "
          f"{'byte-identical' if same else 'DIFFERENT'}")
    subprocess.run([cpo_bin, "compare", "--align", "-o", str(out / "compare"),
                    str(out / "runs" / "rl"), str(out / "runs" / "equal")], check=True)
    print(f"{time.perf_counter() - t0:.1f} s in all; {out / 'compare' / 'compare.html'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
