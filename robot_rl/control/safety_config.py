"""The safety filter's records: poses, limits (one validated config) and command reports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


class Pose(NamedTuple):
    """TCP pose in the base frame."""

    pos: Array  # (3,) metres
    quat: Array  # (4,) w, x, y, z


@dataclass
class SafetyConfig:
    """Limits of the safety filter (see docs/safety.md)."""

    # TCP position box in the base frame, metres (lower corner, upper corner).
    workspace_low_m: tuple[float, float, float] = (0.25, -0.35, 0.0)
    workspace_high_m: tuple[float, float, float] = (0.80, 0.35, 0.50)
    # Orientation the tilt/twist limits are measured from (default: TCP z pointing down).
    nominal_quat_wxyz: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 0.0)
    # Max angle (rad) between the target TCP z axis and the nominal TCP z axis (swing).
    max_tilt_rad: float = 0.6
    # Max rotation (rad) about the nominal TCP z axis, either way (twist).
    max_twist_rad: float = 1.7
    # Per-command translation clip (norm, metres).
    max_step_pos_m: float = 0.03
    # Per-command rotation clip (angle, rad).
    max_step_rot_rad: float = 0.25
    # A translation delta longer than this (m) is garbage: rejected, not clipped.
    hard_limit_pos_m: float = 0.5
    # A rotation delta larger than this (rad) is garbage: rejected, not clipped.
    hard_limit_rot_rad: float = 3.2
    # Cap on |target - measured| position (m): no wind-up while in contact.
    max_target_error_pos_m: float = 0.05
    # Cap on the angle (rad) between target and measured orientation.
    max_target_error_rot_rad: float = 0.5
    # No accepted command for this long (s) -> hold the measured pose.
    watchdog_timeout_s: float = 0.25
    # Each accepted command is interpolated over this period (s); 0.1 for a 10 Hz policy.
    interpolation_period_s: float = 0.1
    # Within this distance (m) of a workspace face, motion towards that face is limited to
    # slow_zone_step_m per command: it bounds the speed of impacts on the table and the
    # overshoot past a face (the TCP lags a fast-moving target by up to the error clip).
    # 0 disables the zone.
    slow_zone_m: float = 0.03
    slow_zone_step_m: float = 0.005
    # Goals are kept this far (m) inside the workspace box. Impedance control does not
    # decouple the arm's inertia, so fast motion along a face drags the TCP a few mm across
    # it (7 mm seen in the twin); the margin keeps that inside the taught box.
    tracking_margin_m: float = 0.005

    def __post_init__(self) -> None:
        low, high = self.workspace_low_m, self.workspace_high_m
        if len(low) != 3 or len(high) != 3:
            raise ValueError("workspace_low_m and workspace_high_m need 3 values each")
        for name, value in vars(self).items():
            values = value if isinstance(value, (tuple, list)) else (value,)
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"SafetyConfig.{name} must be finite, got {value}")
        if self.tracking_margin_m < 0.0:
            raise ValueError(f"tracking_margin_m must be >= 0, got {self.tracking_margin_m}")
        inset = 2.0 * self.tracking_margin_m
        for axis, lo, hi in zip("xyz", low, high, strict=True):
            if not lo + inset < hi:
                raise ValueError(
                    f"workspace {axis}: low {lo} m must be below high {hi} m by more than "
                    f"twice the tracking margin ({self.tracking_margin_m} m)"
                )
        q = self.nominal_quat_wxyz
        if len(q) != 4 or abs(math.sqrt(sum(v * v for v in q)) - 1.0) > 1e-6:
            raise ValueError(f"nominal_quat_wxyz must be a unit w,x,y,z quaternion, got {q}")
        for name in ("max_tilt_rad", "max_twist_rad"):
            if not 0.0 < getattr(self, name) <= math.pi:
                raise ValueError(f"{name} must be in (0, pi], got {getattr(self, name)}")
        for name in (
            "max_step_pos_m",
            "max_step_rot_rad",
            "max_target_error_pos_m",
            "max_target_error_rot_rad",
            "watchdog_timeout_s",
            "interpolation_period_s",
            "slow_zone_step_m",
        ):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.slow_zone_m < 0.0:
            raise ValueError(f"slow_zone_m must be >= 0, got {self.slow_zone_m}")
        if not self.hard_limit_pos_m >= self.max_step_pos_m:
            raise ValueError("hard_limit_pos_m must be >= max_step_pos_m")
        if not self.hard_limit_rot_rad >= self.max_step_rot_rad:
            raise ValueError("hard_limit_rot_rad must be >= max_step_rot_rad")


@dataclass(frozen=True)
class SafetyReport:
    """Outcome of one command: accepted or not, why, and the goal after all clamps."""

    accepted: bool
    reason: str  # "" when accepted unchanged; else "; "-joined, e.g. "clipped: step"
    goal: Pose
