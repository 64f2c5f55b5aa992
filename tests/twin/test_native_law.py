"""The native impedance law (MuJoCo site actuators) against the per-tick reference law."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.control.impedance import ImpedanceConfig, ImpedanceLaw
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.twin.assets import sim_dir
from robot_rl.twin.cell import CellConfig, TwinCell
from robot_rl.twin.native_law import JointTorques, cap_targets

pytestmark = pytest.mark.twin

# Measured: 0.31 mm max, 0.16 mm mean over 100 random steps (every task, chunk 1-20 ticks).
MAX_TRAJECTORY_DIFF_M = 0.001


def _tcp_track(law: str, steps: int = 60) -> np.ndarray:
    env = TwinEnv(task="pick_cube", obs="state", cell=CellConfig(law=law))  # type: ignore[arg-type]
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    out = []
    for _ in range(steps):
        env.step(rng.uniform(-1, 1, 7))
        out.append(env.cell.tcp_pose().pos)
    return np.array(out)


def test_native_law_tracks_the_reference_law() -> None:
    diff = np.linalg.norm(_tcp_track("native") - _tcp_track("python"), axis=1)
    print(f"\nnative vs python law: max {diff.max() * 1e3:.2f} mm, mean {diff.mean() * 1e3:.2f} mm")
    assert diff.max() < MAX_TRAJECTORY_DIFF_M


def test_posture_torque_matches_the_reference_law() -> None:
    cfg = ImpedanceConfig(max_delta_tau_nm=1e9)
    rng = np.random.default_rng(3)
    jac, q, cor = rng.normal(size=(6, 7)), rng.normal(size=7), rng.normal(size=7)
    posture = rng.normal(size=7)
    ref = ImpedanceLaw(cfg, np.full(7, 1e6), posture)
    # Zero pose error and velocity: the reference's torque is the posture term + Coriolis.
    expected = ref.torque(np.zeros(6), jac, q, np.zeros(7), np.zeros(7), cor)
    got = JointTorques(cfg, posture)(jac[None], q[None], np.zeros((1, 7)), cor[None])[0]
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_cap_targets_and_config_checks() -> None:
    measured = np.zeros((2, 3))
    capped = cap_targets(np.array([[0.1, 0.0, 0.0], [0.01, 0.0, 0.0]]), measured, 0.05)
    np.testing.assert_allclose(capped, [[0.05, 0.0, 0.0], [0.01, 0.0, 0.0]])
    uneven = CellConfig(impedance=ImpedanceConfig(k_rot_nm_per_rad=(150, 150, 100)))
    with pytest.raises(ValueError, match="law='python'"):
        TwinCell(sim_dir() / "cell.xml", uneven)
    with pytest.raises(ValueError, match="chunk_ticks"):
        CellConfig(chunk_ticks=0)
