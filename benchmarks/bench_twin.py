"""Twin throughput on one core: env steps/s and real-time factor, state-only and with two
128x128 cameras, against raw physics stepping of the same scene (no controller) measured in
the same run.

    python benchmarks/bench_twin.py [--task pick_cube] [--steps 2000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from robot_rl.envs.twin_env import TwinEnv


def env_rate(task: str, obs: str, steps: int) -> float:
    env = TwinEnv(task=task, obs=obs)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    env.step(np.zeros(7))  # warm-up (renderer context creation)
    done_steps, t0 = 0, time.perf_counter()
    while done_steps < steps:
        _, _, term, trunc, _ = env.step(rng.uniform(-1, 1, 7))
        done_steps += 1
        if term or trunc:
            env.reset()
    rate = done_steps / (time.perf_counter() - t0)
    env.close()
    return rate


def physics_rate(task: str, ticks: int) -> float:
    import mujoco  # after robot_rl, which selects the headless GL backend

    env = TwinEnv(task=task, obs="state")
    env.reset(seed=0)
    m, d = env.cell.model, env.cell.data
    t0 = time.perf_counter()
    mujoco.mj_step(m, d, nstep=ticks)
    return ticks / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="pick_cube")
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    env = TwinEnv(task=args.task, obs="state")
    ticks_per_step = env.ticks_per_step
    control_dt = ticks_per_step * env.cell.dt
    phys = physics_rate(args.task, 100_000) / ticks_per_step
    state = env_rate(args.task, "state", args.steps)
    pixels = env_rate(args.task, "pixels", max(args.steps // 5, 200))
    print(
        f"task={args.task} one core, "
        f"{ticks_per_step} ticks of {env.cell.dt * 1e3:.0f} ms per env step"
    )
    print(f"{'mode':<34} {'env steps/s':>12} {'real-time x':>12} {'vs physics':>11}")
    for name, rate in (
        ("baseline: raw mj_step, no control", phys),
        ("state-only (impedance + filter)", state),
        ("pixels (2 cameras 128x128)", pixels),
    ):
        print(f"{name:<34} {rate:>12.0f} {rate * control_dt:>12.1f} {rate / phys:>11.2f}")


if __name__ == "__main__":
    main()
