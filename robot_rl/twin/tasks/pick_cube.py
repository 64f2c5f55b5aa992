"""pick_cube: grasp a 4 cm cube (random position and yaw) and lift it 8 cm."""

from __future__ import annotations

import math

import numpy as np

from robot_rl.twin.cell import TwinCell
from robot_rl.twin.tasks.base import (
    Expert,
    Task,
    TaskConfig,
    body_yaw,
    free_body_pose,
    move_action,
    set_free_body_pose,
    tcp_yaw,
    wrap_angle,
    yaw_quat,
)

CUBE_HALF_M = 0.02
LIFT_HEIGHT_M = 0.10  # cube centre height that counts as lifted (rests at 0.02)


class PickCube(Task):
    name = "pick_cube"
    scene = "tasks/pick_cube.xml"
    cube_low_m = np.array([0.42, -0.12])
    cube_high_m = np.array([0.62, 0.12])

    @classmethod
    def default_config(cls) -> TaskConfig:
        return TaskConfig(episode_steps=100, rot_axes=(False, False, True), start_yaw_noise_rad=0.3)

    def place_objects(self, cell: TwinCell, rng: np.random.Generator) -> None:
        xy = rng.uniform(self.cube_low_m, self.cube_high_m)
        yaw = rng.uniform(-math.pi / 4, math.pi / 4)
        set_free_body_pose(cell, "cube", np.array([xy[0], xy[1], CUBE_HALF_M]), yaw_quat(yaw))

    def cube(self, cell: TwinCell) -> tuple[np.ndarray, np.ndarray]:
        return free_body_pose(cell, "cube")

    def success(self, cell: TwinCell) -> bool:
        pos, _ = self.cube(cell)
        near = np.linalg.norm(pos - cell.data.site_xpos[cell.tcp_site]) < 0.04
        return bool(pos[2] >= LIFT_HEIGHT_M and near)

    def shaping(self, cell: TwinCell) -> float:
        pos, _ = self.cube(cell)
        reach = min(float(np.linalg.norm(pos - cell.data.site_xpos[cell.tcp_site])) / 0.3, 1.0)
        lift = min(max(pos[2] - CUBE_HALF_M, 0.0) / (LIFT_HEIGHT_M - CUBE_HALF_M), 1.0)
        return -0.5 * reach - 0.5 * (1.0 - lift)

    def object_state(self, cell: TwinCell) -> np.ndarray:
        """Cube position and quaternion, its position from the TCP, and the yaw the fingers
        must still turn to meet a face, as (sin, cos) of 4x it (continuous over the cube's
        90-deg symmetry): from the two quaternions alone that is a hard function to learn."""
        pos, quat = self.cube(cell)
        rel = pos - cell.data.site_xpos[cell.tcp_site]
        turn = 4.0 * grasp_yaw_error(quat, tcp_yaw(cell))
        return np.concatenate([pos, quat, rel, [math.sin(turn), math.cos(turn)]]).astype(np.float32)

    def make_expert(self) -> Expert:
        return PickCubeExpert(self)


def grasp_yaw_error(cube_quat: np.ndarray, tcp_yaw_rad: float) -> float:
    """Smallest yaw turn that aligns the fingers with a cube face (cube is 90-deg symmetric)."""
    e = wrap_angle(body_yaw(cube_quat) - tcp_yaw_rad)
    return (e + math.pi / 4) % (math.pi / 2) - math.pi / 4


class PickCubeExpert(Expert):
    """approach above -> descend -> close -> lift, all from the cube's true pose."""

    def __init__(self, task: PickCube) -> None:
        self.task = task
        self.reset()

    def reset(self) -> None:
        self.phase = "approach"
        self.closing_steps = 0

    def act(self, cell: TwinCell) -> np.ndarray:
        pos, quat = self.task.cube(cell)
        pos = pos + self.aim_offset_m
        tcp = cell.data.site_xpos[cell.tcp_site]
        yaw_err = grasp_yaw_error(quat, tcp_yaw(cell))
        if self.phase == "approach":
            goal = pos + np.array([0.0, 0.0, 0.06])
            if np.linalg.norm(goal - tcp) < 0.008 and abs(yaw_err) < 0.05:
                self.phase = "descend"
            return move_action(self.task, cell, goal, 1.0, yaw_err, gain=0.8)
        if self.phase == "descend":
            goal = pos + np.array([0.0, 0.0, -0.006])
            if abs(goal[2] - tcp[2]) < 0.005:
                self.phase = "close"
            return move_action(self.task, cell, goal, 1.0, yaw_err, gain=0.8)
        if self.phase == "close":
            self.closing_steps += 1
            if self.closing_steps >= 4:
                self.phase = "lift"
            return move_action(self.task, cell, tcp.copy(), -1.0)
        goal = np.array([pos[0], pos[1], LIFT_HEIGHT_M + 0.06])
        return move_action(self.task, cell, goal, -1.0, gain=0.8)
