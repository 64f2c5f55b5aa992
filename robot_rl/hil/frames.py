"""The teleop frame T and its exact map to the policy's action frame, both directions.

Action frame (docs/interfaces.md): ``dpos`` is the TCP translation in base axes and
``drot`` a rotation vector in base axes applied about the TCP (``R' = exp(drot) R``).

Teleop frame T: its axes are the columns of ``R_bT`` (T axes in base coordinates). A
command ``(v_T, w_T)`` translates the TCP by ``v_T`` along T's axes and rotates the tool by
``w_T`` about T's axes, turning about a pivot ``c`` (the TCP unless an offset is set).
Per policy step, in metres and radians::

    drot = R_bT w_T
    dpos = R_bT v_T + (exp(drot) - I) (p_tcp - c)

and the inverse ``w_T = R_bT^T drot``, ``v_T = R_bT^T (dpos - (exp(drot) - I)(p_tcp - c))``.
Both are exact for finite steps (not only to first order). Two published mistakes this
guards against: mapping with ``R_bT^T`` where ``R_bT`` belongs (the direction reversed),
and putting the pivot's lever-arm term on the rotation instead of on the translation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from robot_rl.control.rotations import quat_from_rotvec, quat_normalize, quat_to_mat

FrameKind = Literal["operator", "tcp", "fixed"]


@dataclass
class FrameConfig:
    """Where the teleop frame T sits. Devices report twists in T (docs/hil.md)."""

    # "operator": base axes turned by operator_yaw_rad about base z (where the operator
    # faces; 0 = standing behind the robot looking along +x). "tcp": the current TCP frame
    # (for driving from the wrist camera). "fixed": the axes of quat_base_teleop_wxyz.
    kind: FrameKind = "operator"
    # Heading (rad) of the operator's "forward" in the base frame, for kind="operator".
    operator_yaw_rad: float = 0.0
    # Orientation of T in the base frame (w, x, y, z), for kind="fixed".
    quat_base_teleop_wxyz: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    # Pivot of commanded rotations relative to the TCP, in T axes (m); zero = the TCP.
    pivot_offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


def frame_rotation(cfg: FrameConfig, tcp_quat_wxyz: np.ndarray) -> np.ndarray:
    """``R_bT`` (3, 3): the teleop frame's axes in base coordinates, now."""
    if cfg.kind == "operator":
        c, s = math.cos(cfg.operator_yaw_rad), math.sin(cfg.operator_yaw_rad)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    if cfg.kind == "tcp":
        return quat_to_mat(quat_normalize(tcp_quat_wxyz))
    if cfg.kind == "fixed":
        return quat_to_mat(quat_normalize(cfg.quat_base_teleop_wxyz))
    raise ValueError(f"unknown teleop frame kind {cfg.kind!r} (operator, tcp or fixed)")


def lever_arm(cfg: FrameConfig, R_bT: np.ndarray) -> np.ndarray:
    """``p_tcp - c`` in base coordinates (m): from the rotation pivot to the TCP."""
    return -(R_bT @ np.asarray(cfg.pivot_offset_m, dtype=np.float64))


def _exp_minus_identity(drot: np.ndarray) -> np.ndarray:
    return quat_to_mat(quat_from_rotvec(drot)) - np.eye(3)


def teleop_to_action_frame(
    v_T: np.ndarray, w_T: np.ndarray, R_bT: np.ndarray, lever_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(v_T m, w_T rad) in T -> (dpos m, drot rad) in the action frame."""
    drot = R_bT @ np.asarray(w_T, dtype=np.float64)
    dpos = R_bT @ np.asarray(v_T, dtype=np.float64) + _exp_minus_identity(drot) @ lever_m
    return dpos, drot


def action_to_teleop_frame(
    dpos: np.ndarray, drot: np.ndarray, R_bT: np.ndarray, lever_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(dpos m, drot rad) in the action frame -> (v_T m, w_T rad) in T; inverse of
    `teleop_to_action_frame`."""
    drot = np.asarray(drot, dtype=np.float64)
    w_T = R_bT.T @ drot
    v_T = R_bT.T @ (np.asarray(dpos, dtype=np.float64) - _exp_minus_identity(drot) @ lever_m)
    return v_T, w_T
