"""Camera frame conventions.

Calibration results (OpenCV, ROS ``*_optical_frame``) use the optical frame: x right, y down,
z forward. MuJoCo cameras look along their -z axis with y up. The two differ by a rotation of
pi about x.
"""

from __future__ import annotations

import numpy as np

from robot_rl.control.rotations import mat_to_quat, quat_from_rotvec, quat_to_mat

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


def to_matrix(pos: np.ndarray, quat_wxyz: np.ndarray) -> np.ndarray:
    """4x4 homogeneous transform of a pose (parent <- child)."""
    t = np.eye(4)
    t[:3, :3] = quat_to_mat(np.asarray(quat_wxyz, float))
    t[:3, 3] = pos
    return t


def from_matrix(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pos, quat wxyz with w >= 0) of a 4x4 transform."""
    q = mat_to_quat(t[:3, :3])
    return t[:3, 3].copy(), q if q[0] >= 0 else -q


def from_rt(r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """4x4 transform from a rotation (3x3 matrix or Rodrigues vector) and a translation."""
    r = np.asarray(r, float)
    out = np.eye(4)
    out[:3, :3] = quat_to_mat(quat_from_rotvec(r.reshape(3))) if r.size == 3 else r.reshape(3, 3)
    out[:3, 3] = np.asarray(t, float).reshape(3)
    return out


def inverse(t: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = t[:3, :3].T
    out[:3, 3] = -t[:3, :3].T @ t[:3, 3]
    return out


def angle_deg(r: np.ndarray) -> float:
    """Rotation angle (degrees) of a 3x3 rotation matrix."""
    return float(np.degrees(np.arccos(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0))))


def pose_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(translation m, rotation deg) between two 4x4 transforms."""
    return float(np.linalg.norm(a[:3, 3] - b[:3, 3])), angle_deg(a[:3, :3].T @ b[:3, :3])


def mean_transform(ts: list[np.ndarray]) -> np.ndarray:
    """Average of nearby transforms: mean translation, rotation = SVD projection of the mean."""
    u, _, vt = np.linalg.svd(np.mean([t[:3, :3] for t in ts], axis=0))
    r = u @ vt
    if np.linalg.det(r) < 0:
        r = u @ np.diag([1.0, 1.0, -1.0]) @ vt
    out = np.eye(4)
    out[:3, :3] = r
    out[:3, 3] = np.mean([t[:3, 3] for t in ts], axis=0)
    return out
