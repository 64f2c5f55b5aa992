"""Twin throughput against raw physics stepping of the same scene, measured in the same run.

Baseline: ``mj_step`` of the cell's compiled model (task scene + the native law's actuators)
with nothing else, on one core, expressed as env steps/s (ticks/s / ticks per env step).
Raw physics of the bare task scene (no impedance actuators) is printed too.

Part 1 (pinned to one core): single TwinEnv, native law and the per-tick Python reference law,
state-only and with two 128x128 cameras. Part 2 (``--threads``, both cores): raw physics on
that many threads (what the cores give right now), then TwinVectorEnv over N envs,
state-only, as a scaling curve. Each figure is the best of ``--repeats`` runs.

    python benchmarks/bench_twin.py [--task pick_cube] [--steps 2000] [--envs 1 2 4 8]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from robot_rl.envs.twin_env import TwinEnv
from robot_rl.envs.vector_env import TwinVectorEnv
from robot_rl.twin.cell import CellConfig


def env_rate(task: str, obs: str, steps: int, law: str = "native") -> float:
    env = TwinEnv(task=task, obs=obs, cell=CellConfig(law=law))  # type: ignore[arg-type]
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


def vector_rate(task: str, n: int, threads: int, steps: int) -> float:
    """Env steps/s summed over the N envs."""
    envs = TwinVectorEnv(n, task=task, obs="state", threads=threads)
    rng = np.random.default_rng(0)
    envs.reset(seed=0)
    envs.step(np.zeros((n, 7)))
    rounds = max(steps // n, 20)
    t0 = time.perf_counter()
    for _ in range(rounds):
        envs.step(rng.uniform(-1, 1, (n, 7)))
    rate = rounds * n / (time.perf_counter() - t0)
    envs.close()
    return rate


def physics_rate(task: str, ticks: int, law: str = "native") -> float:
    """Raw ``mj_step`` ticks/s of the cell's model (``law="python"``: no impedance actuators)."""
    import mujoco  # after robot_rl, which selects the headless GL backend

    env = TwinEnv(task=task, obs="state", cell=CellConfig(law=law))  # type: ignore[arg-type]
    env.reset(seed=0)
    m, d = env.cell.model, env.cell.data
    t0 = time.perf_counter()
    mujoco.mj_step(m, d, nstep=ticks)
    return ticks / (time.perf_counter() - t0)


def threaded_physics_rate(task: str, ticks: int, threads: int) -> float:
    """Raw ``mj_step`` ticks/s summed over ``threads`` copies stepped on their own threads:
    what the cores give at this moment (other load on the machine shows up here)."""
    import threading

    import mujoco

    env = TwinEnv(task=task, obs="state")
    env.reset(seed=0)
    m = env.cell.model
    datas = [mujoco.MjData(m) for _ in range(threads)]
    for d in datas:
        mujoco.mj_copyData(d, m, env.cell.data)
    workers = [
        threading.Thread(target=mujoco.mj_step, args=(m, d), kwargs={"nstep": ticks}) for d in datas
    ]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return threads * ticks / (time.perf_counter() - t0)


def best(fn: object, repeats: int, *args: object) -> float:
    """Best of ``repeats`` runs: the machine is shared, the least disturbed run is the figure."""
    return max(fn(*args) for _ in range(repeats))  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="pick_cube")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    all_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if all_cores is not None:
        os.sched_setaffinity(0, {sorted(all_cores)[0]})  # part 1: one core
    env = TwinEnv(task=args.task, obs="state")
    tps = env.ticks_per_step
    control_dt = tps * env.cell.dt
    r = args.repeats
    phys = best(physics_rate, r, args.task, 100_000) / tps
    bare = best(physics_rate, r, args.task, 100_000, "python") / tps
    rows = [
        ("baseline: raw mj_step (cell model)", phys),
        ("raw mj_step, bare scene", bare),
        ("state-only, native law", best(env_rate, r, args.task, "state", args.steps)),
        ("state-only, python law (reference)", env_rate(args.task, "state", args.steps, "python")),
        ("pixels (2 cams 128x128), native", env_rate(args.task, "pixels", args.steps // 5)),
    ]
    print(f"task={args.task}, {tps} ticks of {env.cell.dt * 1e3:.0f} ms per env step")
    print(f"{'one core':<38} {'env steps/s':>12} {'real-time x':>12} {'vs baseline':>11}")
    for name, rate in rows:
        print(f"{name:<38} {rate:>12.0f} {rate * control_dt:>12.1f} {rate / phys:>11.2f}")
    if all_cores is not None:
        os.sched_setaffinity(0, all_cores)
    print(f"\nTwinVectorEnv, {args.threads} threads on {len(all_cores or [])} cores, state-only")
    print(f"{'envs':<38} {'env steps/s':>12} {'real-time x':>12} {'vs baseline':>11}")
    raw2 = best(threaded_physics_rate, r, args.task, 50_000, args.threads) / tps
    name = f"raw mj_step, {args.threads} threads"
    print(f"{name:<38} {raw2:>12.0f} {raw2 * control_dt:>12.1f} {raw2 / phys:>11.2f}")
    for n in args.envs:
        rate = best(vector_rate, r, args.task, n, args.threads, args.steps)
        print(f"{f'N={n}':<38} {rate:>12.0f} {rate * control_dt:>12.1f} {rate / phys:>11.2f}")


if __name__ == "__main__":
    main()
