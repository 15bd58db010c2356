#!/usr/bin/python3
"""Steps per second of cpo.Env and cpo.VecEnv (python/cpo/env.py) on the
market of `cpo_bench env` (scripts/bench_main.c): 8 synthetic spot coins x
2,000 daily bars, fees and slippage on, episodes of 256 decisions from
random windows, actions that change every step (8 fills a step), the
default 97-value observation; and a VecEnv holding (no orders).  Best of
3 runs of >= 1 s on one core; VecEnv resets its ended envs inside the
step call (counted).

    scripts/bench_env.py [BUILD_DIR] [N_ENVS]     (build-bench, 64)
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import numpy as np  # noqa: E402


def best_rate(step, n_per_call):
    best = 0.0
    for _ in range(3):
        calls, t0 = 0, time.perf_counter()
        while True:
            for _ in range(256):
                step(calls)
                calls += 1
            dt = time.perf_counter() - t0
            if dt >= 1.0:
                break
        best = max(best, calls * n_per_call / dt)
    return best


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build-bench").resolve()
    n_envs = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    os.environ.setdefault("CPO_LIBRARY", str(build / "libcpo.so.0"))
    import cpo

    with tempfile.TemporaryDirectory() as tmp:
        store = pathlib.Path(tmp) / "env.h5"
        subprocess.run([str(build / "cpo"), "data", "synth", "-o", str(store), "--assets", "8",
                        "--steps", "2000", "--step", "1d"], check=True, stdout=subprocess.DEVNULL)
        text = (f"[backtest]\ndata = {store}\ncapital = 1000000\ncash_buffer = 0.01\n"
                "[costs]\nfee_bps = 10\nslippage_bps = 5\n"
                "[env]\nepisode_steps = 256\nlong_only = yes\n")
        env = cpo.Env(text, name=str(pathlib.Path(tmp) / "bench_env.ini"))
        n_act = env.action_space.shape[0]
        # Two sets of actions taken in turn: every step trades.
        acts = [np.full(n_act, 0.1), np.full(n_act, 0.12)]
        env.reset(seed=0)

        def step1(k):
            _, _, term, trunc, _ = env.step(acts[k & 1])
            if term or trunc:
                env.reset()

        r1 = best_rate(step1, 1)
        vec = cpo.VecEnv(text, n_envs, name=str(pathlib.Path(tmp) / "bench_env.ini"), copy=False)
        vacts = [np.full((n_envs, n_act), 0.1), np.full((n_envs, n_act), 0.12)]
        vec.reset(seed=0)
        rv = best_rate(lambda k: vec.step(vacts[k & 1]), n_envs)
        # Holding (action = deltas of 0: no orders): a step without the
        # engine's order sizing and fills.
        hold = cpo.VecEnv(text + "action = deltas\n", n_envs,
                          name=str(pathlib.Path(tmp) / "bench_env.ini"), copy=False)
        zero = np.zeros((n_envs, n_act))
        hold.reset(seed=0)
        rh = best_rate(lambda k: hold.step(zero), n_envs)
        print(f"env (Python) 8 coins x 2000 daily bars, episodes of 256 steps, "
              f"{env.observation_space.shape[0]}-value observations: cpo.Env.step "
              f"{r1 / 1e3:.0f} k steps/s; cpo.VecEnv.step ({n_envs} envs) {rv / 1e6:.2f} M "
              f"steps/s; holding (no orders) {rh / 1e6:.2f} M steps/s (best of 3, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
