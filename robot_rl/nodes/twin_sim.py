"""The twin cell seen as a robot driver: advance physics, report what sensors would.

Bus-free core of the ``twin`` node. Time here is the node's own sim clock in integer
nanoseconds; internal settling (the peg grasp of an object reset) runs physics without
moving that clock, so the rest of the graph sees an instantaneous object reset.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from robot_rl.cameras.base import Intrinsics
from robot_rl.control.safety import Pose
from robot_rl.spec import OBJECT_STREAM, reset_rng
from robot_rl.twin.assets import sim_dir
from robot_rl.twin.cell import ARM_JOINTS, GRIPPER_MAX_OPENING_M, CellConfig, TwinCell
from robot_rl.twin.tasks import Task, make_task

FINGER_JOINTS = ("finger_left", "finger_right")


class TwinSim:
    """A task scene under the 1 kHz impedance loop, driven by target poses."""

    def __init__(
        self,
        task: str,
        calibration: str,
        cameras: tuple[str, ...],
        image_size: tuple[int, int],
        seed: int,
        dense_reward: bool = False,
    ) -> None:
        base = make_task(task)
        self.task: Task = make_task(task, replace(base.cfg, dense_reward=dense_reward))
        cell_cfg = CellConfig(
            calibration=calibration or None, image_size=image_size, cameras=cameras
        )
        self.cell = TwinCell(sim_dir() / self.task.scene, cell_cfg)
        self.rng = np.random.default_rng(seed)
        self.task.reset(self.cell, self.rng)
        self.time_ns = 0
        m = self.cell.model
        self._joints = ARM_JOINTS + FINGER_JOINTS
        self._qadr = np.array([m.joint(j).qposadr[0] for j in self._joints])
        self._vadr = np.array([m.joint(j).dofadr[0] for j in self._joints])
        self._hold = self.cell.tcp_pose()
        self.target = Pose(self._hold.pos.copy(), self._hold.quat.copy())

    @property
    def dt_s(self) -> float:
        """Physics step (s)."""
        return self.cell.dt

    def ticks_for(self, duration_s: float) -> int:
        """Physics ticks in ``duration_s`` seconds (at least 1)."""
        return max(1, round(duration_s / self.cell.dt))

    def set_target(self, pose: Pose) -> bool:
        """Take a new target pose; a non-finite or malformed one is ignored (returns False),
        as a real controller would refuse it."""
        pos = np.asarray(pose.pos, dtype=float).reshape(-1)
        quat = np.asarray(pose.quat, dtype=float).reshape(-1)
        if pos.shape != (3,) or quat.shape != (4,) or not np.isfinite([*pos, *quat]).all():
            return False
        n = float(np.linalg.norm(quat))
        if abs(n - 1.0) > 0.1:
            return False
        self.target = Pose(pos, quat / n)
        return True

    def set_gripper(self, opening_m: float) -> bool:
        """Command the gripper opening (m); non-finite values are ignored."""
        if not np.isfinite(opening_m):
            return False
        self.cell.set_gripper(float(opening_m))
        return True

    def advance(self, ticks: int) -> None:
        """Run ``ticks`` physics ticks holding the current target (zero-order hold)."""
        target = self.target
        self.cell.run(ticks, lambda _t, _m: target)
        self.cell.screen()
        self.time_ns += round(ticks * self.cell.dt * 1e9)

    def reset_objects(self, seed: int) -> None:
        """Re-place the task's objects (and a held object) around the arm where it is now.

        The arm is not teleported: it got here through the controller path."""
        rng = self.rng if seed < 0 else reset_rng(seed, OBJECT_STREAM)
        self.cell.place_fingers(self.task.start_gripper_opening_m())
        self.task.place_objects(self.cell, rng)
        self.task.after_arm_reset(self.cell, rng)
        import mujoco

        mujoco.mj_forward(self.cell.model, self.cell.data)

    # ------------------------------------------------------------------ sensors
    def tcp_pose(self) -> Pose:
        """Measured TCP pose, base frame."""
        return self.cell.tcp_pose()

    def joint_names(self) -> list[str]:
        """Arm joints then the two finger slides (each finger = half the opening, m)."""
        return list(self._joints)

    def joint_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions (rad, m), velocities (rad/s, m/s), efforts (Nm, N)."""
        d = self.cell.data
        return (
            d.qpos[self._qadr].copy(),
            d.qvel[self._vadr].copy(),
            d.qfrc_actuator[self._vadr].copy(),
        )

    def external_wrench(self) -> np.ndarray:
        """(6,) estimated external wrench at the TCP, base frame (N, Nm)."""
        return self.cell.external_wrench()

    def render(self, camera: str) -> np.ndarray:
        """uint8 (H, W, 3) RGB of ``camera``."""
        return self.cell.render(camera)

    def camera_model(self, camera: str) -> Intrinsics:
        """Intrinsics of ``camera`` at the rendered size."""
        h, w = self.cell.cfg.image_size
        return self.cell.calibration.cameras[camera].intrinsics.scaled(w, h)

    def object_state(self) -> np.ndarray:
        """float32 (n,): the task's privileged object state (what ``obs="state"`` appends)."""
        return np.asarray(self.task.object_state(self.cell), dtype=np.float32)

    def success(self) -> bool:
        """The task's success predicate now."""
        return bool(self.task.success(self.cell))

    def reward(self, success: bool) -> float:
        """The task's reward for the current state."""
        return float(self.task.reward(self.cell, success))

    def close(self) -> None:
        """Release the renderer."""
        self.cell.close()


def gripper_opening_m(command: float, open_value: float, closed_value: float) -> float:
    """Map a gripper command in the gripper's units onto the twin's opening (m)."""
    span = open_value - closed_value
    if span == 0:
        raise ValueError("gripper_open_value and gripper_closed_value must differ")
    return (command - closed_value) / span * GRIPPER_MAX_OPENING_M
