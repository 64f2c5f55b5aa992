"""Workspace teaching: the TCP box from corners the operator drove the arm to.

The box is the bounding box of the taught TCP positions shrunk by a margin on every face
(the operator shows the limits; the filter keeps a clearance from them). It must contain the
home region and the task's objects, or teaching is refused with what lies outside.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_rl.calibration.capture import CalibrationError


@dataclass(frozen=True)
class Workspace:
    low_m: tuple[float, float, float]
    high_m: tuple[float, float, float]
    n_corners: int
    margin_m: float


def teach_workspace(
    corners_m: list[np.ndarray], margin_m: float, must_contain: dict[str, np.ndarray]
) -> Workspace:
    """Box from taught TCP positions (base frame, m). ``must_contain`` maps a name (e.g.
    "home", "object cube") to (N, 3) points that must lie inside. Raises CalibrationError."""
    pts = np.asarray(corners_m, dtype=float).reshape(-1, 3)
    if len(pts) < 2 or not np.all(np.isfinite(pts)):
        raise CalibrationError(f"workspace needs at least 2 finite taught corners, got {len(pts)}")
    if margin_m < 0:
        raise CalibrationError(f"workspace margin must be >= 0, got {margin_m}")
    low, high = pts.min(0) + margin_m, pts.max(0) - margin_m
    thin = [axis for axis, lo, hi in zip("xyz", low, high, strict=True) if hi - lo < 0.02]
    if thin:
        raise CalibrationError(
            f"taught workspace is thinner than 2 cm along {', '.join(thin)} after the "
            f"{margin_m} m margin: drive the arm to opposite corners of the intended box"
        )
    for name, points in must_contain.items():
        p = np.asarray(points, dtype=float).reshape(-1, 3)
        outside = p[np.any((p < low - 1e-9) | (p > high + 1e-9), axis=1)]
        if len(outside):
            raise CalibrationError(
                f"taught workspace [{np.round(low, 3).tolist()} .. {np.round(high, 3).tolist()}]"
                f" does not contain {name} (e.g. {np.round(outside[0], 3).tolist()})"
            )
    return Workspace(
        tuple(float(v) for v in low),  # type: ignore[arg-type]
        tuple(float(v) for v in high),  # type: ignore[arg-type]
        len(pts),
        margin_m,
    )


def read_corners(path: str | Path) -> list[np.ndarray]:
    """Taught corners from a CSV with header x_m,y_m,z_m (one TCP position per row)."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        return [np.array([float(r["x_m"]), float(r["y_m"]), float(r["z_m"])]) for r in rows]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"{path}: need a CSV with columns x_m,y_m,z_m ({exc})") from None


def write_corners(path: str | Path, corners_m: list[np.ndarray]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("x_m", "y_m", "z_m"))
        w.writerows([[repr(float(v)) for v in c] for c in corners_m])


def task_regions(task: str) -> dict[str, np.ndarray]:
    """Points a twin task needs inside the box: the corners of its TCP start region."""
    from robot_rl.twin.tasks import make_task

    cfg = make_task(task).cfg
    c, h = np.array(cfg.start_pos_m), np.array(cfg.start_noise_m)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    return {f"the home region of task {task!r}": c + signs * h}
