"""Normalised device twists <-> normalised policy actions for one task (scales, gains, mask).

``TeleopMapping.to_action`` is what the arbiter executes and stores for the human; the
simulated operator uses ``from_action`` to drive a device frame from the expert's actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robot_rl.hil.frames import (
    FrameConfig,
    action_to_teleop_frame,
    frame_rotation,
    lever_arm,
    teleop_to_action_frame,
)


@dataclass
class MappingConfig:
    """How device deflection becomes motion."""

    # Where the teleop frame sits relative to the base (frames.py).
    frame: FrameConfig = field(default_factory=FrameConfig)
    # Action units of translation per unit of device deflection (1 = full step at full tilt).
    pos_gain: float = 1.0
    # Action units of rotation per unit of device deflection.
    rot_gain: float = 1.0


def fit_unit_box(v: np.ndarray) -> np.ndarray:
    """Scale ``v`` uniformly so that max |v_i| <= 1; keeps its direction (unlike a clip)."""
    m = float(np.max(np.abs(v))) if v.size else 0.0
    return v / m if m > 1.0 else v


class TeleopMapping:
    """Maps for one task: ``action_scale_pos_m`` (m) and ``action_scale_rot_rad`` (rad) per
    step at |a| = 1, and ``rot_axes``, the base rotation axes the task lets move."""

    def __init__(
        self,
        cfg: MappingConfig,
        action_scale_pos_m: float,
        action_scale_rot_rad: float,
        rot_axes: tuple[bool, bool, bool] = (True, True, True),
    ) -> None:
        if action_scale_pos_m <= 0 or action_scale_rot_rad <= 0:
            raise ValueError("action scales must be positive")
        self.cfg = cfg
        self.scale_pos_m = float(action_scale_pos_m)
        self.scale_rot_rad = float(action_scale_rot_rad)
        self.rot_mask = np.array(rot_axes, dtype=np.float64)

    def rotation(self, tcp_quat_wxyz: np.ndarray) -> np.ndarray:
        """``R_bT`` now (it follows the TCP for ``kind="tcp"``)."""
        return frame_rotation(self.cfg.frame, tcp_quat_wxyz)

    def to_action(self, twist: np.ndarray, gripper: float, tcp_quat_wxyz: np.ndarray) -> np.ndarray:
        """(6,) normalised twist in T + gripper -> (7,) action in [-1, 1], action frame.

        Rotation about axes the task masks is dropped before the pivot term is computed, so
        the stored action is exactly what the env executes.
        """
        return self.to_action_in(twist, gripper, self.rotation(tcp_quat_wxyz))

    def to_action_in(self, twist: np.ndarray, gripper: float, R: np.ndarray) -> np.ndarray:
        """`to_action` with the frame rotation ``R`` (3, 3) given explicitly."""
        t = np.asarray(twist, dtype=np.float64).reshape(6)
        v_T = t[:3] * self.cfg.pos_gain * self.scale_pos_m
        w_T = t[3:] * self.cfg.rot_gain * self.scale_rot_rad
        drot = (R @ w_T) * self.rot_mask
        dpos, _ = teleop_to_action_frame(v_T, R.T @ drot, R, lever_arm(self.cfg.frame, R))
        a = np.empty(7)
        a[:3] = fit_unit_box(dpos / self.scale_pos_m)
        a[3:6] = fit_unit_box(drot / self.scale_rot_rad)
        a[6] = float(np.clip(gripper, -1.0, 1.0))
        return a

    def from_action(
        self, action: np.ndarray, tcp_quat_wxyz: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """(7,) action -> ((6,) twist in T within [-1, 1], gripper). Exact inverse of
        `to_action` unless the twist had to be scaled into [-1, 1]."""
        a = np.asarray(action, dtype=np.float64).reshape(7)
        R = self.rotation(tcp_quat_wxyz)
        dpos = a[:3] * self.scale_pos_m
        drot = a[3:6] * self.scale_rot_rad * self.rot_mask
        v_T, w_T = action_to_teleop_frame(dpos, drot, R, lever_arm(self.cfg.frame, R))
        twist = np.empty(6)
        twist[:3] = fit_unit_box(v_T / (self.cfg.pos_gain * self.scale_pos_m))
        twist[3:] = fit_unit_box(w_T / (self.cfg.rot_gain * self.scale_rot_rad))
        return twist, float(a[6])
