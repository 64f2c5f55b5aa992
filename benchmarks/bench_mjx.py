"""The batched twin on MJX (``TwinVectorEnv(backend="mjx")``) over N envs, against raw
``mj_step`` of the same scene measured in the same run on one core.

Baseline: ``mj_step`` of the MJX cell's compiled model (task scene with ``collision="mjx"``
shapes, plus the native law's actuators), one core, as physics steps/s. Then, per N:
- env steps/s of the whole vector env (safety filters, observations, autoresets on the host;
  physics and law on the device; state uploaded and downloaded every step);
- physics steps/s of that (env steps/s x ticks per env step);
- device-only physics steps/s: the jitted period alone on the device-resident batch, no host
  work and no transfers (the ceiling the host side is measured against).
The compile time of each N is printed too. jax picks the device (a GPU when there is one).

    python benchmarks/bench_mjx.py [--task pick_cube] [--envs 1 8 64 512] [--steps 200]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.envs.vector_env import TwinVectorEnv
from robot_rl.twin.cell import CellConfig


def raw_physics_rate(cfg: EnvConfig, ticks: int) -> float:
    """Raw ``mj_step`` ticks/s of one cell's model, pinned to one core."""
    import mujoco  # after robot_rl, which selects the headless GL backend

    env = TwinEnv(cfg)
    env.reset(seed=0)
    m, d = env.cell.model, env.cell.data
    mujoco.mj_step(m, d, nstep=100)
    t0 = time.perf_counter()
    mujoco.mj_step(m, d, nstep=ticks)
    return ticks / (time.perf_counter() - t0)


def mjx_rates(cfg: EnvConfig, n: int, steps: int) -> tuple[float, float, float, int]:
    """(compile s, env steps/s, device-only physics steps/s, ticks per env step) for N envs."""
    import jax

    envs = TwinVectorEnv(n, cfg, backend="mjx")
    rng = np.random.default_rng(0)
    envs.reset(seed=0)
    t0 = time.perf_counter()
    envs.step(np.zeros((n, 7)))  # compiles
    compile_s = time.perf_counter() - t0
    rounds = max(steps // n, 3)
    t0 = time.perf_counter()
    for _ in range(rounds):
        envs.step(rng.uniform(-1, 1, (n, 7)))
    env_rate = rounds * n / (time.perf_counter() - t0)
    # Device only: the same compiled period on the device-resident batch, inputs on the device.
    stepper = envs._stepper
    ticks = envs.envs[0].ticks_per_step
    fn = stepper.period_fn(ticks)
    data = stepper.device_data
    state = [getattr(data, k) for k in ("qpos", "qvel", "act", "ctrl")]
    state += [getattr(data, k) for k in ("mocap_pos", "mocap_quat", "qacc_warmstart")]
    chunks = -(-ticks // envs.envs[0].cell.cfg.chunk_ticks)
    tcp = data.site_xpos[:, envs.envs[0].cell.tcp_site, None]
    pos = jax.numpy.broadcast_to(tcp, (n, chunks, 3))
    quat = jax.numpy.broadcast_to(jax.numpy.array([0.0, 1.0, 0.0, 0.0]), (n, chunks, 4))
    jax.block_until_ready(fn(data, *state, pos, quat, 0.05))
    t0 = time.perf_counter()
    for _ in range(rounds):
        data = fn(data, *state, pos, quat, 0.05)
    jax.block_until_ready(data)
    device_rate = rounds * n * ticks / (time.perf_counter() - t0)
    envs.close()
    return compile_s, env_rate, device_rate, ticks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="pick_cube")
    p.add_argument("--envs", type=int, nargs="+", default=[1, 8, 64, 512])
    p.add_argument("--steps", type=int, default=200, help="env steps per N (at least 3 rounds)")
    p.add_argument("--control-hz", type=float, default=10.0, help="policy rate (1 kHz physics)")
    p.add_argument("--raw-ticks", type=int, default=20_000)
    args = p.parse_args()
    cfg = EnvConfig(
        task=args.task,
        obs="state",
        control_hz=args.control_hz,
        cell=CellConfig(cameras=(), collision="mjx"),
    )
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})  # the baseline on one core
    raw = raw_physics_rate(cfg, args.raw_ticks)
    os.sched_setaffinity(0, cores)  # before jax starts its threads
    import jax

    print(f"task {args.task}, policy {args.control_hz:g} Hz, 1 kHz physics, jax {jax.__version__}")
    device = f"{jax.devices()[0].device_kind} ({jax.default_backend()})"
    print(f"device: {device}, host cores {len(cores)}")
    print(f"baseline: raw mj_step, one core: {raw:,.0f} physics steps/s")
    head = "N  compile_s  env_steps/s  physics_steps/s  x_raw  device_only_steps/s  x_raw"
    print(head)
    for n in args.envs:
        compile_s, env_rate, device_rate, ticks = mjx_rates(cfg, n, args.steps)
        phys = env_rate * ticks
        print(
            f"{n:<3}{compile_s:9.1f}  {env_rate:11.1f}  {phys:15,.0f}  {phys / raw:7.2g}"
            f"  {device_rate:19,.0f}  {device_rate / raw:7.2g}",
            flush=True,
        )


if __name__ == "__main__":
    main()
