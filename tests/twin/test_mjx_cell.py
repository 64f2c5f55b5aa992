"""The batched twin on MJX (``TwinVectorEnv(backend="mjx")``) on CPU, small N.

Skipped, with the reason, where jax / mujoco-mjx are not installed (CI). The envs run a
100 Hz policy (10 ticks per step): MJX on a CPU takes tens of ms per physics tick, so the
usual 10 Hz period would make these tests take many minutes. All non-slow tests share one
vector env, hence one compile (about a minute here).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import mujoco
import numpy as np
import pytest

from robot_rl.envs.twin_env import EnvConfig
from robot_rl.envs.vector_env import TwinVectorEnv
from robot_rl.twin.cell import CellConfig, TwinCell

pytest.importorskip("jax", reason='jax not installed (the MJX backend: pip install ".[mjx]")')
pytest.importorskip("mujoco.mjx", reason='mujoco-mjx not installed (pip install ".[mjx]")')

pytestmark = pytest.mark.twin

N_ENVS = 2
CFG = EnvConfig(task="pick_cube", obs="state", control_hz=100.0, cell=CellConfig(cameras=()))
# MJX (float32) against MuJoCo's C (float64) on the same (collision="mjx") scene, same seeds and
# actions. Measured: 0.20 mm max, 0.07 mm mean TCP difference over 40 steps (0.4 s), pick_cube.
# With JAX_ENABLE_X64=1 the same 0.2 mm by step 40 (< 3e-9 m over the first 6 steps): contact
# solving differs, not precision.
MAX_TCP_DIFF_M = 0.0005
BOX_MARGIN_M = 0.005


@pytest.fixture(scope="module")
def mjx_envs() -> Iterator[TwinVectorEnv]:
    envs = TwinVectorEnv(N_ENVS, CFG, backend="mjx")
    yield envs
    envs.close()


def _tcp_from_qpos(cell: TwinCell, scratch: mujoco.MjData) -> np.ndarray:
    """TCP position from the cell's joint state (the CPU path's own ``site_xpos`` lags a
    tick, the MJX path's is fresh: compare the state itself)."""
    scratch.qpos[:] = cell.data.qpos
    mujoco.mj_kinematics(cell.model, scratch)
    return scratch.site_xpos[cell.tcp_site].copy()


def test_mjx_trajectories_match_the_cpu_cell(mjx_envs: TwinVectorEnv) -> None:
    cpu_cfg = replace(CFG, cell=replace(CFG.cell, collision="mjx"))
    cpu = TwinVectorEnv(N_ENVS, cpu_cfg)
    scratch = mujoco.MjData(cpu.envs[0].cell.model)
    obs_cpu, _ = cpu.reset(seed=0)
    obs_mjx, _ = mjx_envs.reset(seed=0)
    np.testing.assert_array_equal(obs_cpu["state"], obs_mjx["state"])
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(40):
        actions = rng.uniform(-1, 1, (N_ENVS, 7))
        cpu.step(actions)
        _, _, _, _, info = mjx_envs.step(actions)
        assert np.all(info["safety"]["accepted"])
        diffs.append(
            [
                np.linalg.norm(_tcp_from_qpos(a.cell, scratch) - _tcp_from_qpos(b.cell, scratch))
                for a, b in zip(cpu.envs, mjx_envs.envs, strict=True)
            ]
        )
    cpu.close()
    diff = np.array(diffs)
    print(f"\nMJX vs CPU cell TCP: max {diff.max() * 1e3:.4f} mm, mean {diff.mean() * 1e3:.4f} mm")
    assert diff.max() < MAX_TCP_DIFF_M
    assert all(e.cell.ticks == cpu.envs[0].cell.ticks for e in mjx_envs.envs)


def _adversarial(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random actions, pushes out of the box and into the table, and garbage (NaN, inf,
    out of range) in a third of the steps."""
    out = rng.uniform(-1, 1, (n, 7))
    out[rng.random(n) < 0.3, 2] = -1.0  # into the table
    face = rng.random(n) < 0.3
    out[face, rng.integers(0, 3)] = rng.choice([-1.0, 1.0])
    bad = rng.random(n) < 0.33
    garbage = rng.choice([np.nan, np.inf, -np.inf, 1e9, -1e9, 1.5, -3.0], size=(n, 7))
    mask = rng.random((n, 7)) < 0.5
    out[bad] = np.where(mask[bad], garbage[bad], out[bad])
    return out


def _keeps_the_limits(envs: TwinVectorEnv, steps: int) -> None:
    """Policy-rate checks (MJX runs the ticks on the device; no per-tick hooks there): the
    controller's target is finite and in the box, the TCP within 5 mm of it, observations
    finite. Env 0 sends only NaN for 0.6 s in the middle: its watchdog trips and holds it
    (on the host's per-tick path) while the others keep stepping on the device."""
    cfg = envs.envs[0].safety_cfg
    low, high = np.array(cfg.workspace_low_m), np.array(cfg.workspace_high_m)
    n = envs.num_envs
    envs.reset(seed=7)
    streams = np.stack([_adversarial(np.random.default_rng(100 + i), steps) for i in range(n)], 1)
    stop = steps // 3
    streams[stop : stop + 60, 0] = np.nan
    streams[stop - 3 : stop, 0] = (1.0, 1.0, -0.5, 0.0, 0.0, 0.0, 0.0)  # moving when it stops
    episode_steps = envs.envs[0].task.cfg.episode_steps
    envs.envs[0].task.cfg.episode_steps = steps + 1  # env 0 keeps one episode across the stop
    rejected = np.zeros(n, dtype=int)
    worst_target = worst_tcp = 0.0
    trip_pos = None
    try:
        for t in range(steps):
            obs, _, _, _, info = envs.step(streams[t])
            rejected += ~info["safety"]["accepted"]
            assert np.all(np.isfinite(obs["state"]))
            for env in envs.envs:
                target, tcp = env.cell.controller_target(), env.cell.tcp_pose()
                assert np.all(np.isfinite(target.pos)) and np.all(np.isfinite(target.quat))
                worst_target = max(worst_target, float(np.max(np.maximum(low - target.pos, 0))))
                worst_target = max(worst_target, float(np.max(np.maximum(target.pos - high, 0))))
                out_tcp = np.maximum(np.maximum(low - tcp.pos, tcp.pos - high), 0)
                worst_tcp = max(worst_tcp, float(out_tcp.max()))
            if t == stop + 30:  # 0.3 s after the stop (timeout 0.25 s): tripped and holding
                assert envs.envs[0].filter.watchdog_tripped
                trip_pos = envs.envs[0].cell.tcp_pose().pos
            if t == stop + 59:
                assert trip_pos is not None
                drift = np.linalg.norm(envs.envs[0].cell.tcp_pose().pos - trip_pos)
                assert drift < 0.005, f"watchdog hold drifted {drift * 1e3:.2f} mm"
    finally:
        envs.envs[0].task.cfg.episode_steps = episode_steps
    print(
        f"\nrejected {rejected}, target outside {worst_target * 1e3:.4f} mm, tcp outside "
        f"{worst_tcp * 1e3:.2f} mm"
    )
    assert np.all(rejected > steps // 20), "the stream must contain rejected actions"
    assert worst_target <= 1e-6  # float32 on the device
    assert worst_tcp <= BOX_MARGIN_M


def test_mjx_batched_cell_keeps_the_limits(mjx_envs: TwinVectorEnv) -> None:
    _keeps_the_limits(mjx_envs, 150)


@pytest.mark.slow
def test_mjx_batched_cell_keeps_the_limits_long() -> None:
    envs = TwinVectorEnv(4, CFG, backend="mjx")
    try:
        _keeps_the_limits(envs, 600)
    finally:
        envs.close()


def test_mjx_backend_refuses_what_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="obs='state'"):
        TwinVectorEnv(1, replace(CFG, obs="pixels"), backend="mjx")
    with pytest.raises(ValueError, match="backend"):
        TwinVectorEnv(1, CFG, backend="gpu")  # type: ignore[arg-type]
