"""The cell contract: action and proprioception layouts, action validation and scaling,
and how a reset seed places the arm's start pose.

Robot-side code (the impedance bridge, the reset and camera nodes) depends on this module,
so it imports no simulator, torch or gymnasium (tests/unit/test_import_hygiene.py).
Layouts are documented in docs/interfaces.md.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from robot_rl.control.rotations import quat_mul

# Policy action: [dpos (3), drot (3, rotation vector), gripper (1)] in [-1, 1], base frame.
ACTION_DIM = 7
# Proprioception: tcp_pos 3, tcp_quat (wxyz) 4, linvel 3, angvel 3, gripper opening 1,
# external wrench 6.
PROPRIO_DIM = 20
ACTION_TOLERANCE = 1e-6  # |a| may exceed 1 by this much (float round-off)
# q and -q are the same rotation. Matrix-to-quaternion conversions (MuJoCo's mju_mat2Quat,
# tf's) switch between them at about -90 deg of yaw from tool-down, which a policy sees as a
# jump of the whole tcp_quat. Observations keep it on the hemisphere of tool-down instead.
OBS_QUAT_HEMISPHERE = np.array([0.0, 1.0, 0.0, 0.0])  # w, x, y, z: tool pointing down


def observed_quat(q: np.ndarray) -> np.ndarray:
    """The TCP quaternion as observations carry it: ``q`` or ``-q``, whichever is on the
    hemisphere of `OBS_QUAT_HEMISPHERE`, so it is continuous within 180 deg of tool-down."""
    q = np.asarray(q, dtype=np.float64)
    return -q if float(q @ OBS_QUAT_HEMISPHERE) < 0.0 else q


def validate_action(a: np.ndarray) -> str:
    """'' if ``a`` is a valid action, else the reason it is rejected."""
    if a.shape != (ACTION_DIM,):
        return f"rejected: action must have {ACTION_DIM} entries, got shape {a.shape}"
    if not np.all(np.isfinite(a)):
        return "rejected: non-finite action"
    if np.any(np.abs(a) > 1.0 + ACTION_TOLERANCE):
        return f"rejected: action outside [-1, 1] (max |a| = {np.max(np.abs(a)):.3g})"
    return ""


class ActionScales(Protocol):
    """Config fields that say how an action maps to motion (the bridge's, the actor's)."""

    task: str
    action_scale_pos_m: float
    action_scale_rot_rad: float
    rot_axes: tuple[bool, bool, bool]


def action_scaling(cfg: ActionScales) -> tuple[float, float, np.ndarray]:
    """(metres per unit, radians per unit, rotation-axis mask) after the ``task`` override.
    Only a twin ``task`` name loads the twin's task registry (and with it the simulator)."""
    if not cfg.task:
        return cfg.action_scale_pos_m, cfg.action_scale_rot_rad, np.array(cfg.rot_axes, float)
    from robot_rl.twin.tasks import make_task

    tc = make_task(cfg.task).cfg
    return tc.action_scale_pos_m, tc.action_scale_rot_rad, np.array(tc.rot_axes, float)


# A seeded reset draws the objects and the arm's start pose from separate streams of its
# seed. So one seed places the same configuration in the twin env (which draws both) and in
# the bus cell (the twin node draws the objects, the reset node the arm), and the arm's start
# does not follow the objects' placement.
OBJECT_STREAM, ARM_STREAM = 0, 1


def reset_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one part (`OBJECT_STREAM`, `ARM_STREAM`) of reset seed ``seed``."""
    if seed < 0:
        raise ValueError(f"reset seeds are >= 0, got {seed}")
    return np.random.default_rng([seed, stream])


def sample_start(
    rng: np.random.Generator,
    pos_m: np.ndarray,
    noise_m: np.ndarray,
    quat_wxyz: np.ndarray,
    yaw_noise_rad: float,
) -> tuple[np.ndarray, np.ndarray]:
    """A start pose (position, quaternion wxyz): the position uniform within ``noise_m`` of
    ``pos_m``, then ``quat_wxyz`` turned about the base z axis by a yaw uniform within
    +-``yaw_noise_rad``. The twin's tasks and the reset node both draw it here."""
    pos = rng.uniform(np.asarray(pos_m) - noise_m, np.asarray(pos_m) + noise_m)
    half = float(rng.uniform(-1.0, 1.0)) * yaw_noise_rad / 2.0
    yaw = np.array([np.cos(half), 0.0, 0.0, np.sin(half)])
    return pos, quat_mul(yaw, np.asarray(quat_wxyz, dtype=np.float64))
