"""Assembling a policy observation from stamped topics, with a max-age check.

The layout is docs/interfaces.md's: ``state`` = tcp_pos(3), tcp_quat_wxyz(4),
tcp_linvel(3), tcp_angvel(3), gripper_opening_m(1), wrench(6), then, on the twin with
``object_state_dim`` > 0, the task's object state (the ``object_state`` topic), as the
in-process `TwinEnv` with ``obs="state"`` has it; ``images`` = uint8 (H, W, 3) per camera
at the policy resolution. TCP velocity is the finite difference of
the last two ``current_pose`` messages (crisp_controllers publishes no twist); the gripper
opening is the sum of the finger joints' positions in ``joint_states``.

All times are integer nanoseconds of bus time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from robot_rl.control.rotations import quat_conj, quat_mul, quat_to_rotvec
from robot_rl.control.safety import Pose
from robot_rl.spec import PROPRIO_DIM, observed_quat


@dataclass
class ObsConfig:
    """What an observation is made of, and how fresh it must be."""

    cameras: tuple[str, ...] = ()  # camera names ("front", "wrist"); () = state only
    image_height: int = 128  # policy resolution; frames of another size are resized
    image_width: int = 128
    camera_namespace: str = "cameras"  # images on <ns>/<camera>/<image_suffix>
    image_suffix: str = "image_raw"  # "color/image_raw" for realsense2_camera's topics
    current_pose_topic: str = "current_pose"
    joint_states_topic: str = "joint_states"
    external_wrench_topic: str = "external_wrench"
    # Joints whose positions add up to the gripper opening (m); () = opening reported as 0.
    gripper_joints: tuple[str, ...] = ("finger_left", "finger_right")
    # Every topic's newest stamp must be at most this old (s) at observation time. 0 asks
    # for stamps at or after the observation time (lock-step twin: exact observations).
    max_age_s: float = 0.1
    # Length of the twin task's privileged object state appended to ``state`` (reach 6,
    # pick_cube 12, peg_insert 13); 0 = off, as on a real cell, which publishes none.
    object_state_dim: int = 0
    object_state_topic: str = "object_state"  # read only when object_state_dim > 0

    def __post_init__(self) -> None:
        if self.object_state_dim < 0:
            raise ValueError(f"object_state_dim must be >= 0, got {self.object_state_dim}")
        if self.object_state_dim and not self.object_state_topic:
            raise ValueError("object_state_dim > 0 needs an object_state_topic")

    @property
    def state_dim(self) -> int:
        """Length of the state vector."""
        return PROPRIO_DIM + self.object_state_dim

    def image_topic(self, camera: str) -> str:
        """Topic of ``camera``'s images."""
        return f"{self.camera_namespace.rstrip('/')}/{camera}/{self.image_suffix}"


class StaleObservationError(RuntimeError):
    """A topic's newest message is older than the max age (or never came)."""


class ObservationAssembler:
    """Keeps the newest stamped value per topic and builds observations from them."""

    def __init__(self, cfg: ObsConfig) -> None:
        self.cfg = cfg
        self._pose: tuple[Pose, int] | None = None
        self._prev_pose: tuple[Pose, int] | None = None
        self._opening: tuple[float, int] | None = None
        self._wrench: tuple[np.ndarray, int] | None = None
        self._images: dict[str, tuple[np.ndarray, int]] = {}
        self._objects: tuple[np.ndarray, int] | None = None
        self.object_problem = ""  # why the last object state was refused ("" = none)
        self.rejected: dict[str, int] = {}

    # ------------------------------------------------------------------ inputs
    def on_pose(self, pose: Pose, stamp_ns: int) -> None:
        """A measured TCP pose; keeps the previous one for the velocity."""
        if self._pose is not None and stamp_ns <= self._pose[1]:
            if stamp_ns < self._pose[1]:
                self._reject("current_pose (out of order)")
            return
        self._prev_pose, self._pose = self._pose, (pose, stamp_ns)

    def on_joints(self, names: list[str], positions: np.ndarray, stamp_ns: int) -> None:
        """Joint states; only the gripper joints are used."""
        if not self.cfg.gripper_joints:
            self._opening = (0.0, stamp_ns)
            return
        index = {n: i for i, n in enumerate(names)}
        if not all(j in index for j in self.cfg.gripper_joints):
            return  # another joint_states source (arm only): not ours to judge
        opening = float(sum(positions[index[j]] for j in self.cfg.gripper_joints))
        self._opening = (opening, stamp_ns)

    def on_wrench(self, wrench: np.ndarray, stamp_ns: int) -> None:
        """External wrench at the TCP (N, Nm), base frame."""
        self._wrench = (np.asarray(wrench, dtype=np.float64), stamp_ns)

    def on_image(self, camera: str, rgb: np.ndarray, stamp_ns: int) -> None:
        """A camera frame, uint8 (H, W, 3) RGB at any size."""
        self._images[camera] = (rgb, stamp_ns)

    def on_object_state(self, state: np.ndarray, stamp_ns: int, task: str = "") -> None:
        """The twin task's object state; a newer or same-stamped one replaces the last (the
        twin resends it at the same instant after an object reset). A vector of another
        length is refused and named (a policy for another task, or a cell without it)."""
        state = np.asarray(state, dtype=np.float32).reshape(-1)
        if state.shape != (self.cfg.object_state_dim,):
            self.object_problem = (
                f"{self.cfg.object_state_topic} has {state.size} values (task {task!r}), "
                f"obs.object_state_dim is {self.cfg.object_state_dim}"
            )
            self._reject(self.cfg.object_state_topic)
            return
        if self._objects is None or stamp_ns >= self._objects[1]:
            self._objects = (state.copy(), stamp_ns)

    def _reject(self, what: str) -> None:
        self.rejected[what] = self.rejected.get(what, 0) + 1

    # ------------------------------------------------------------------ freshness
    def stamps(self) -> dict[str, int | None]:
        """Newest stamp (ns) per input, None where nothing arrived yet."""
        out: dict[str, int | None] = {
            self.cfg.current_pose_topic: self._pose[1] if self._pose else None,
            self.cfg.joint_states_topic: self._opening[1] if self._opening else None,
            self.cfg.external_wrench_topic: self._wrench[1] if self._wrench else None,
        }
        for cam in self.cfg.cameras:
            entry = self._images.get(cam)
            out[self.cfg.image_topic(cam)] = entry[1] if entry else None
        if self.cfg.object_state_dim:
            out[self.cfg.object_state_topic] = self._objects[1] if self._objects else None
        return out

    def stale(self, t_ns: int) -> dict[str, float | None]:
        """Inputs too old for an observation at ``t_ns``: name -> age (s), None = never came."""
        oldest = t_ns - round(self.cfg.max_age_s * 1e9)
        out: dict[str, float | None] = {}
        for name, stamp in self.stamps().items():
            if stamp is None:
                out[name] = None
            elif stamp < oldest:
                out[name] = (t_ns - stamp) * 1e-9
        if self._prev_pose is None and self._pose is not None:
            out[self.cfg.current_pose_topic + " (2nd sample for velocity)"] = None
        return out

    # ------------------------------------------------------------------ output
    def observation(self) -> dict[str, Any]:
        """The observation from the newest inputs; call only when `stale` is empty."""
        if self._pose is None or self._prev_pose is None:
            raise StaleObservationError("no current_pose yet")
        if self._opening is None or self._wrench is None:
            raise StaleObservationError("no joint_states / external_wrench yet")
        (pose, t1), (prev, t0) = self._pose, self._prev_pose
        dt = (t1 - t0) * 1e-9
        linvel = (pose.pos - prev.pos) / dt if dt > 0 else np.zeros(3)
        angvel = (
            quat_to_rotvec(quat_mul(pose.quat, quat_conj(prev.quat))) / dt
            if dt > 0
            else np.zeros(3)
        )
        parts: list[Any] = [
            pose.pos,
            observed_quat(pose.quat),
            linvel,
            angvel,
            [self._opening[0]],
            self._wrench[0],
        ]
        if self.cfg.object_state_dim:
            if self._objects is None:
                raise StaleObservationError(f"no {self.cfg.object_state_topic} yet")
            parts.append(self._objects[0])
        state = np.concatenate(parts).astype(np.float32)
        obs: dict[str, Any] = {"state": state}
        if self.cfg.cameras:
            obs["images"] = {
                cam: self._policy_image(self._images[cam][0]) for cam in self.cfg.cameras
            }
        return obs

    def _policy_image(self, rgb: np.ndarray) -> np.ndarray:
        h, w = self.cfg.image_height, self.cfg.image_width
        if rgb.shape[:2] == (h, w):
            return np.array(rgb, dtype=np.uint8)  # own copy: the message buffer is read-only
        return cv2.resize(np.ascontiguousarray(rgb), (w, h), interpolation=cv2.INTER_AREA)
