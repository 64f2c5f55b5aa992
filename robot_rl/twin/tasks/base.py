"""What every twin task provides: scene, randomised reset, success, reward, expert."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.control.rotations import quat_to_mat
from robot_rl.control.safety import Pose
from robot_rl.spec import sample_start
from robot_rl.twin.cell import GRIPPER_MAX_OPENING_M, TwinCell

# TCP pointing straight down (rotation of pi about the base x axis).
DOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])


@dataclass
class TaskConfig:
    """Per-task episode, action and randomisation settings."""

    # Episode length in 10 Hz policy steps; the time limit truncates, it never terminates.
    episode_steps: int = 100
    # Translation (m) per step at |action| = 1.
    action_scale_pos_m: float = 0.02
    # Rotation (rad) per step at |action| = 1.
    action_scale_rot_rad: float = 0.1
    # Which base-frame rotation axes the policy may use (others are ignored).
    rot_axes: tuple[bool, bool, bool] = (False, False, False)
    # Nominal TCP start position (m, base frame) and uniform noise half-widths around it.
    start_pos_m: tuple[float, float, float] = (0.5, 0.0, 0.22)
    start_noise_m: tuple[float, float, float] = (0.04, 0.04, 0.03)
    # Uniform start yaw noise half-width (rad) about the base z axis.
    start_yaw_noise_rad: float = 0.0
    # Add the dense shaping term to the sparse success reward.
    dense_reward: bool = False
    # Raise the safety box floor (TCP z, m) above the cell's, for tools that stick out below
    # the TCP (a grasped peg): the taught workspace depends on the tool. None = the cell's.
    workspace_floor_m: float | None = None


def yaw_quat(yaw: float) -> np.ndarray:
    """Quaternion of a rotation by ``yaw`` about the base z axis."""
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def tcp_yaw(cell: TwinCell) -> float:
    """Heading of the TCP x axis in the base xy plane (rad)."""
    mat = cell.data.site_xmat[cell.tcp_site].reshape(3, 3)
    return math.atan2(mat[1, 0], mat[0, 0])


def wrap_angle(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


class Expert(ABC):
    """Scripted policy with privileged state; returns actions in [-1, 1]^7."""

    # Base-frame offset (m) added to where the expert aims (the cube it grasps, the hole it
    # inserts into, the target it reaches): the "miss" near-misses of reward labels
    # (robot_rl/rewards/perturb.py). Replaced per instance, never changed in place.
    aim_offset_m: np.ndarray = np.zeros(3)

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Clear the phase machine at the start of an episode."""

    @abstractmethod
    def act(self, cell: TwinCell) -> np.ndarray: ...


def move_action(
    task: Task,
    cell: TwinCell,
    target_pos: np.ndarray,
    gripper: float,
    yaw_error: float = 0.0,
    gain: float = 1.0,
) -> np.ndarray:
    """Proportional action bringing the TCP to ``target_pos`` (and turning by ``yaw_error``)."""
    a = np.zeros(7)
    tcp = cell.data.site_xpos[cell.tcp_site]
    a[:3] = gain * (target_pos - tcp) / task.cfg.action_scale_pos_m
    a[5] = yaw_error / task.cfg.action_scale_rot_rad
    a[6] = gripper
    return np.clip(a, -1.0, 1.0)


class Task(ABC):
    """A twin task. Subclasses set ``name``/``scene`` and implement the abstract methods."""

    name: str = ""
    scene: str = ""  # MJCF file relative to sim/

    def __init__(self, cfg: TaskConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else self.default_config()

    @classmethod
    def default_config(cls) -> TaskConfig:
        return TaskConfig()

    # -- reset --------------------------------------------------------------------------
    def reset(
        self, cell: TwinCell, rng: np.random.Generator, arm_rng: np.random.Generator | None = None
    ) -> None:
        """Randomise the objects (``rng``) and the arm's start pose (``arm_rng``, default
        ``rng``; a seeded reset passes `robot_rl.spec.reset_rng`'s two streams)."""
        self.place_objects(cell, rng)
        cell.reset_arm(
            cell.solve_ik(self.sample_start(rng if arm_rng is None else arm_rng)),
            self.start_gripper_opening_m(),
        )
        self.after_arm_reset(cell, rng)

    def sample_start(self, rng: np.random.Generator) -> Pose:
        """The arm's start pose, drawn as the reset node draws its home (robot_rl.spec)."""
        c = self.cfg
        pos, quat = sample_start(
            rng,
            np.array(c.start_pos_m),
            np.array(c.start_noise_m),
            DOWN_QUAT,
            c.start_yaw_noise_rad,
        )
        return Pose(pos, quat)

    def start_gripper_opening_m(self) -> float:
        return GRIPPER_MAX_OPENING_M

    @abstractmethod
    def place_objects(self, cell: TwinCell, rng: np.random.Generator) -> None: ...

    def after_arm_reset(self, cell: TwinCell, rng: np.random.Generator) -> None:  # noqa: B027
        """Hook for tasks that start with an object in hand."""

    # -- evaluation ---------------------------------------------------------------------
    @abstractmethod
    def success(self, cell: TwinCell) -> bool: ...

    @abstractmethod
    def shaping(self, cell: TwinCell) -> float:
        """Dense shaping term in [-1, 0] (0 = at the goal)."""

    def reward(self, cell: TwinCell, success: bool) -> float:
        """Sparse 1 on success, plus the dense shaping term (in [-1, 0]) when enabled."""
        r = 1.0 if success else 0.0
        if self.cfg.dense_reward:
            r += self.shaping(cell)
        return r

    @abstractmethod
    def object_state(self, cell: TwinCell) -> np.ndarray:
        """Privileged object state appended to the state observation in ``obs="state"``."""

    def privileged(self, cell: TwinCell) -> dict[str, Any]:
        """Task state for debugging and for the scripted expert."""
        return {"object_state": self.object_state(cell)}

    @abstractmethod
    def make_expert(self) -> Expert: ...


def free_body_pose(cell: TwinCell, joint: str) -> tuple[np.ndarray, np.ndarray]:
    adr = cell.model.joint(joint).qposadr[0]
    q = cell.data.qpos
    return q[adr : adr + 3].copy(), q[adr + 3 : adr + 7].copy()


def set_free_body_pose(cell: TwinCell, joint: str, pos: np.ndarray, quat: np.ndarray) -> None:
    m, d = cell.model, cell.data
    adr = m.joint(joint).qposadr[0]
    d.qpos[adr : adr + 3] = pos
    d.qpos[adr + 3 : adr + 7] = quat
    dof = m.joint(joint).dofadr[0]
    d.qvel[dof : dof + 6] = 0.0


def body_yaw(quat: np.ndarray) -> float:
    """Heading of a body's x axis in the base xy plane (rad)."""
    mat = quat_to_mat(np.asarray(quat, float))
    return math.atan2(mat[1, 0], mat[0, 0])
