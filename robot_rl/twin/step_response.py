"""Impedance step response on the twin (documented in docs/control.md, tested in tests/twin)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_rl.control.safety import Pose
from robot_rl.twin.assets import sim_dir
from robot_rl.twin.cell import CellConfig, TwinCell
from robot_rl.twin.tasks.base import DOWN_QUAT

START_M = np.array([0.5, 0.0, 0.2])


@dataclass(frozen=True)
class StepResponse:
    axis: int
    step_m: float
    overshoot_pct: float
    settle_ms: int  # sim time until the error stays within the band for good
    final_error_mm: float


def step_response(
    axis: int,
    step_m: float = 0.02,
    band: float = 0.05,
    cfg: CellConfig | None = None,
    duration_ms: int = 800,
) -> StepResponse:
    """Hold the arm at rest at START_M, then jump the target by ``step_m`` along ``axis``
    (no interpolation: the raw law) and measure overshoot and settling (sim time)."""
    cell = TwinCell(sim_dir() / "cell.xml", cfg)
    cell.reset_arm(cell.solve_ik(Pose(START_M, DOWN_QUAT)), 0.08)
    rest = cell.tcp_pose()
    cell.run(200, lambda _t, _m: rest)
    base = cell.tcp_pose().pos
    target = Pose(base + step_m * np.eye(3)[axis], rest.quat)
    progress: list[float] = []

    def setpoint(_t: float, measured: Pose) -> Pose:
        progress.append((measured.pos[axis] - base[axis]) / step_m)
        return target

    cell.run(duration_ms, setpoint)
    x = np.array(progress)
    outside = np.flatnonzero(np.abs(x - 1.0) > band)
    settle = int(outside[-1] + 1) if outside.size else 0
    return StepResponse(
        axis=axis,
        step_m=step_m,
        overshoot_pct=float(max(x.max() - 1.0, 0.0) * 100.0),
        settle_ms=settle,
        final_error_mm=float((1.0 - x[-1]) * step_m * 1e3),
    )
