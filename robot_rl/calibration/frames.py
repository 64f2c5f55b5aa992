"""Camera frame conventions.

Calibration results (OpenCV, ROS ``*_optical_frame``) use the optical frame: x right, y down,
z forward. MuJoCo cameras look along their -z axis with y up. The two differ by a rotation of
pi about x.
"""

from __future__ import annotations

import numpy as np

from robot_rl.control.rotations import mat_to_quat, quat_to_mat

# R_mujoco = R_optical @ OPTICAL_TO_MUJOCO
OPTICAL_TO_MUJOCO = np.diag([1.0, -1.0, -1.0])


def look_at_optical(pos: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation matrix (3x3, columns = optical axes in the parent frame) of a camera at ``pos``
    looking at ``target``, with image "up" as close to ``up`` as possible."""
    z = np.asarray(target, float) - np.asarray(pos, float)
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, float))
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("look_at_optical: 'up' is parallel to the viewing direction")
    x /= np.linalg.norm(x)
    return np.column_stack([x, np.cross(z, x), z])


def optical_to_mujoco_quat(quat_optical_wxyz: np.ndarray) -> np.ndarray:
    """MuJoCo camera quaternion for a calibrated optical-frame orientation."""
    return mat_to_quat(quat_to_mat(np.asarray(quat_optical_wxyz, float)) @ OPTICAL_TO_MUJOCO)
