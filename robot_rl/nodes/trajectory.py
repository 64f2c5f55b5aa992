"""Min-jerk point-to-point motion in pose space (position line + orientation geodesic)."""

from __future__ import annotations

import numpy as np

from robot_rl.control.rotations import quat_angle, quat_slerp
from robot_rl.control.safety import Pose

PEAK_SPEED_RATIO = 1.875  # peak / mean speed of the min-jerk profile (at mid-motion)


def min_jerk(tau: float) -> float:
    """Min-jerk progress s(tau) = 10 tau^3 - 15 tau^4 + 6 tau^5, tau clipped to [0, 1]."""
    t = min(max(tau, 0.0), 1.0)
    return t * t * t * (10.0 + t * (-15.0 + 6.0 * t))


def min_jerk_duration(
    start: Pose,
    goal: Pose,
    max_speed_m_per_s: float,
    max_rot_speed_rad_per_s: float,
    min_duration_s: float,
) -> float:
    """Shortest duration (s) whose peak speeds stay within the given limits."""
    dist = float(np.linalg.norm(np.asarray(goal.pos) - np.asarray(start.pos)))
    angle = quat_angle(start.quat, goal.quat)
    return max(
        min_duration_s,
        PEAK_SPEED_RATIO * dist / max_speed_m_per_s,
        PEAK_SPEED_RATIO * angle / max_rot_speed_rad_per_s,
    )


def min_jerk_pose(start: Pose, goal: Pose, duration_s: float, t_s: float) -> Pose:
    """Pose at ``t_s`` seconds into a min-jerk move of ``duration_s`` seconds."""
    s = min_jerk(t_s / duration_s) if duration_s > 0 else 1.0
    pos = np.asarray(start.pos) + s * (np.asarray(goal.pos) - np.asarray(start.pos))
    return Pose(pos, quat_slerp(start.quat, goal.quat, s))


def pose_error(a: Pose, b: Pose) -> tuple[float, float]:
    """(distance m, angle rad) between two poses."""
    return float(np.linalg.norm(np.asarray(a.pos) - np.asarray(b.pos))), quat_angle(a.quat, b.quat)
