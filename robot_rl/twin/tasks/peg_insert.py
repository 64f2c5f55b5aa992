"""peg_insert: insert a 20 mm square peg, held in the gripper, 2 cm deep into a 21.5 mm hole
(1.5 mm total clearance)."""

from __future__ import annotations

import numpy as np

from robot_rl.control.safety import Pose
from robot_rl.twin.cell import TwinCell
from robot_rl.twin.tasks.base import (
    Expert,
    Task,
    TaskConfig,
    free_body_pose,
    move_action,
    set_free_body_pose,
)

HOLE_TOP_M = 0.03  # fixture height
INSERT_DEPTH_M = 0.02  # peg tip this far below the hole's top counts as inserted
HOLE_TOLERANCE_M = 0.005  # peg tip within this xy distance of the hole axis
PEG_HALF_LENGTH_M = 0.04
# Peg centre along the tool z axis from the TCP when grasped: its top sits 28 mm inside the pads.
PEG_OFFSET_M = 0.0116
PEG_WIDTH_M = 0.02
# The grasped peg's tip is this far beyond the TCP along the tool axis.
PEG_TIP_BEYOND_TCP_M = PEG_OFFSET_M + PEG_HALF_LENGTH_M


class PegInsert(Task):
    name = "peg_insert"
    scene = "tasks/peg_insert.xml"
    hole_low_m = np.array([0.45, -0.10])
    hole_high_m = np.array([0.60, 0.10])

    @classmethod
    def default_config(cls) -> TaskConfig:
        # Box floor at "peg tip on the table"; the safety filter's tracking margin keeps goals
        # 5 mm above it: deep enough to insert 25 mm, never deep enough to ram the table.
        return TaskConfig(
            episode_steps=100,
            start_noise_m=(0.04, 0.04, 0.02),
            workspace_floor_m=PEG_TIP_BEYOND_TCP_M,
        )

    def start_gripper_opening_m(self) -> float:
        return PEG_WIDTH_M

    def place_objects(self, cell: TwinCell, rng: np.random.Generator) -> None:
        mocap = cell.model.body("fixture").mocapid[0]
        xy = rng.uniform(self.hole_low_m, self.hole_high_m)
        cell.data.mocap_pos[mocap] = np.array([xy[0], xy[1], 0.0])

    def after_arm_reset(self, cell: TwinCell, rng: np.random.Generator) -> None:
        """Put the peg between the fingers, close them, and let the grasp settle (0.3 s)."""
        tcp = cell.tcp_pose()
        mat = cell.data.site_xmat[cell.tcp_site].reshape(3, 3)
        set_free_body_pose(cell, "peg", tcp.pos + mat[:, 2] * PEG_OFFSET_M, tcp.quat)
        cell.set_gripper(0.0)
        hold = Pose(tcp.pos.copy(), tcp.quat.copy())
        cell.run(300, lambda _t, _m: hold)

    def hole(self, cell: TwinCell) -> np.ndarray:
        return cell.data.site_xpos[cell.model.site("hole").id].copy()

    def peg_tip(self, cell: TwinCell) -> np.ndarray:
        return cell.data.site_xpos[cell.model.site("peg_tip").id].copy()

    def success(self, cell: TwinCell) -> bool:
        tip, hole = self.peg_tip(cell), self.hole(cell)
        inside = np.linalg.norm(tip[:2] - hole[:2]) < HOLE_TOLERANCE_M
        return bool(inside and tip[2] <= hole[2] - INSERT_DEPTH_M)

    def shaping(self, cell: TwinCell) -> float:
        tip, hole = self.peg_tip(cell), self.hole(cell)
        lateral = min(float(np.linalg.norm(tip[:2] - hole[:2])) / 0.15, 1.0)
        depth = min(max(hole[2] - tip[2], 0.0) / INSERT_DEPTH_M, 1.0)
        return -0.5 * lateral - 0.5 * (1.0 - depth)

    def object_state(self, cell: TwinCell) -> np.ndarray:
        peg_pos, peg_quat = free_body_pose(cell, "peg")
        hole = self.hole(cell)
        return np.concatenate([hole, peg_pos, peg_quat, hole - peg_pos]).astype(np.float32)

    def make_expert(self) -> Expert:
        return PegInsertExpert(self)


class PegInsertExpert(Expert):
    """Align the peg tip over the hole, then descend slowly while correcting xy."""

    def __init__(self, task: PegInsert) -> None:
        self.task = task
        self.reset()

    def reset(self) -> None:
        self.phase = "align"

    def act(self, cell: TwinCell) -> np.ndarray:
        tip, hole = self.task.peg_tip(cell), self.task.hole(cell) + self.aim_offset_m
        tcp = cell.data.site_xpos[cell.tcp_site]
        lateral = hole[:2] - tip[:2]
        if self.phase == "align":
            goal = tcp + np.array([lateral[0], lateral[1], hole[2] + 0.02 - tip[2]])
            if np.linalg.norm(lateral) < 0.0015 and abs(hole[2] + 0.02 - tip[2]) < 0.006:
                self.phase = "insert"
            return move_action(self.task, cell, goal, -1.0, gain=0.8)
        # Descend at most 8 mm per step; the clipped impedance error keeps contact soft.
        down = max(hole[2] - INSERT_DEPTH_M - 0.008 - tip[2], -0.008)
        goal = tcp + np.array([lateral[0], lateral[1], down])
        return move_action(self.task, cell, goal, -1.0, gain=1.0)
