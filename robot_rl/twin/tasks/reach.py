"""reach: bring the TCP within 2 cm of a randomly placed marker."""

from __future__ import annotations

import numpy as np

from robot_rl.twin.cell import TwinCell
from robot_rl.twin.tasks.base import Expert, Task, TaskConfig, move_action

SUCCESS_RADIUS_M = 0.02


class Reach(Task):
    name = "reach"
    scene = "tasks/reach.xml"
    target_low_m = np.array([0.40, -0.15, 0.06])
    target_high_m = np.array([0.65, 0.15, 0.30])

    @classmethod
    def default_config(cls) -> TaskConfig:
        return TaskConfig(episode_steps=50)

    def place_objects(self, cell: TwinCell, rng: np.random.Generator) -> None:
        mocap = cell.model.body("target").mocapid[0]
        cell.data.mocap_pos[mocap] = rng.uniform(self.target_low_m, self.target_high_m)

    def target(self, cell: TwinCell) -> np.ndarray:
        return cell.data.mocap_pos[cell.model.body("target").mocapid[0]].copy()

    def distance(self, cell: TwinCell) -> float:
        return float(np.linalg.norm(self.target(cell) - cell.data.site_xpos[cell.tcp_site]))

    def success(self, cell: TwinCell) -> bool:
        return self.distance(cell) < SUCCESS_RADIUS_M

    def shaping(self, cell: TwinCell) -> float:
        return -min(self.distance(cell) / 0.3, 1.0)

    def object_state(self, cell: TwinCell) -> np.ndarray:
        target = self.target(cell)
        rel = target - cell.data.site_xpos[cell.tcp_site]
        return np.concatenate([target, rel]).astype(np.float32)

    def make_expert(self) -> Expert:
        return ReachExpert(self)


class ReachExpert(Expert):
    def __init__(self, task: Reach) -> None:
        self.task = task

    def act(self, cell: TwinCell) -> np.ndarray:
        return move_action(
            self.task, cell, self.task.target(cell) + self.aim_offset_m, gripper=1.0, gain=0.8
        )
