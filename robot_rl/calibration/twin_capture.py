"""Live capture against the twin: the arm visits planned poses through the safety filter.

Every move is a min-jerk path (the reset node's planner) streamed as absolute goals at 10 Hz
into ``SafetyFilter.command_pose``; the filter's interpolated setpoints drive the 1 kHz
impedance loop, exactly as for a policy. The arm is never teleported between views. At each
pose the arm settles, then the image and the measured TCP pose are recorded together.

The twin renders from its TRUE cell file; the procedure only knows the PRIOR cell file (the
one being calibrated), as on a robot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from robot_rl.calibration.board import BoardConfig
from robot_rl.calibration.capture import CalibrationError, CameraInfo, Capture, CaptureWriter
from robot_rl.calibration.cell_file import CameraCalibration, CellCalibration, load_calibration
from robot_rl.calibration.frames import from_matrix, inverse, to_matrix
from robot_rl.calibration.twin_board import BoardCell
from robot_rl.calibration.views import (
    DOWN_WXYZ,
    HAND_T_TCP,
    ViewPlanConfig,
    board_in_world,
    plan_views,
    table_board,
)
from robot_rl.control.safety import Pose, SafetyConfig, SafetyFilter
from robot_rl.nodes.trajectory import min_jerk_duration, min_jerk_pose
from robot_rl.twin.assets import sim_dir
from robot_rl.twin.cell import CellConfig, TwinCell

HOME_TCP = Pose(np.array([0.5, 0.0, 0.35]), DOWN_WXYZ)
BOARD_BELOW_TCP_M = 0.12  # eye-to-hand: the held board's centre this far below the TCP at home


@dataclass(frozen=True)
class MotionConfig:
    """How the arm moves between views (limits of the min-jerk path, settling)."""

    max_speed_m_per_s: float = 0.2
    max_rot_speed_rad_per_s: float = 0.8
    min_duration_s: float = 0.5
    command_period_s: float = 0.1  # one goal per period, as the reset node sends them
    settle_speed_m_per_s: float = 0.002  # recorded once slower than this ...
    settle_rot_speed_rad_per_s: float = 0.01  # ... and this
    max_settle_s: float = 3.0


def mount_of(cal: CameraCalibration) -> str:
    return "eye_to_hand" if cal.parent == "world" else "eye_in_hand"


def camera_x(cal: CameraCalibration) -> np.ndarray:
    """X of the hand-eye equation from a cell file entry: base <- cam (eye-to-hand) or
    TCP <- cam (eye-in-hand; the file stores hand <- cam)."""
    t = to_matrix(cal.pos_m, cal.quat_wxyz)
    return t if cal.parent == "world" else inverse(HAND_T_TCP) @ t


def board_placement(board: BoardConfig, mount: str, prior: CameraCalibration) -> np.ndarray:
    """base <- board on the table (eye-in-hand), or TCP <- board for a board held below the
    TCP facing the fixed camera at the home pose (eye-to-hand)."""
    if mount == "eye_in_hand":
        return table_board(board, (0.5, 0.0))
    center = HOME_TCP.pos + np.array([0.0, 0.0, -BOARD_BELOW_TCP_M])
    base_board = board_in_world(board, center, np.asarray(prior.pos_m))
    return inverse(to_matrix(HOME_TCP.pos, HOME_TCP.quat)) @ base_board


@dataclass
class TwinRig:
    """A twin cell with the board, its safety filter, and the capture loop."""

    camera: str
    prior: CellCalibration
    truth_path: str | None = None  # the twin's (true) cell file; None = packaged default
    board: BoardConfig = field(default_factory=BoardConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)

    def __post_init__(self) -> None:
        if self.camera not in self.prior.cameras:
            raise CalibrationError(
                f"camera {self.camera!r} not in {self.prior.source} "
                f"(has {sorted(self.prior.cameras)})"
            )
        self.prior_cam = self.prior.cameras[self.camera]
        self.mount = mount_of(self.prior_cam)
        self.board_t = board_placement(self.board, self.mount, self.prior_cam)
        truth = load_calibration(self.truth_path)
        self.truth_cam = truth.cameras[self.camera]
        k = self.truth_cam.intrinsics
        cfg = CellConfig(
            calibration=self.truth_path, image_size=(k.height, k.width), cameras=(self.camera,)
        )
        parent = "world" if self.mount == "eye_in_hand" else "hand"
        parent_t_board = self.board_t if self.mount == "eye_in_hand" else HAND_T_TCP @ self.board_t
        self.cell: TwinCell = BoardCell(
            sim_dir() / "cell.xml", cfg, self.board, parent, parent_t_board
        )
        q = self.cell.solve_ik(HOME_TCP)
        self.cell.reset_arm(q, 0.08)  # the twin's power-on state, like every task reset
        # The box the PRIOR file teaches, as the robot's bridge would load it.
        self.safety = replace(
            self.safety,
            workspace_low_m=self.prior.workspace_low_m,
            workspace_high_m=self.prior.workspace_high_m,
            interpolation_period_s=self.motion.command_period_s,
        )
        self.filter = SafetyFilter(self.safety)
        self.filter.reset(self.cell.tcp_pose(), self.cell.data.time)
        self._offsets = np.arange(round(self.motion.command_period_s / self.cell.dt)) * self.cell.dt

    def camera_info(self) -> CameraInfo:
        k = self.truth_cam.intrinsics
        return CameraInfo(
            self.camera, self.truth_cam.serial or f"twin:{self.camera}", k.width, k.height
        )

    def _period(self, goal: Pose) -> None:
        now = self.cell.data.time
        report = self.filter.command_pose(goal, now, self.cell.tcp_pose(), stamp_s=now)
        if not report.accepted:
            raise CalibrationError(f"safety filter rejected a capture goal: {report.reason}")
        pos, quat = self.filter.track(now + self._offsets)
        self.cell.run_track(pos, quat, self.safety.max_target_error_pos_m)

    def move_to(self, goal: Pose) -> Pose:
        """Min-jerk move to ``goal`` through the safety filter, then settle; returns the
        measured TCP pose. Blocks for the simulated duration (about 1-3 s of sim time)."""
        m = self.motion
        start = self.cell.tcp_pose()
        duration = min_jerk_duration(
            start, goal, m.max_speed_m_per_s, m.max_rot_speed_rad_per_s, m.min_duration_s
        )
        for k in range(math.ceil(duration / m.command_period_s)):
            self._period(min_jerk_pose(start, goal, duration, (k + 1) * m.command_period_s))
        t_settle = self.cell.data.time
        while self.cell.data.time - t_settle < m.max_settle_s:
            self._period(goal)
            v = self.cell.tcp_velocity()
            if np.linalg.norm(v[:3]) < m.settle_speed_m_per_s and np.linalg.norm(v[3:]) < (
                m.settle_rot_speed_rad_per_s
            ):
                break
        return self.cell.tcp_pose()

    def truth(self) -> dict[str, object]:
        """The twin's true X (and W) of the hand-eye equation, for truth.yaml."""
        cal = self.truth_cam
        x = camera_x(cal)
        pos, quat = from_matrix(x)
        return {
            "camera": self.camera,
            "mount": self.mount,
            "parent": cal.parent,
            "pos_m": [float(v) for v in cal.pos_m],
            "quat_wxyz": [float(v) for v in cal.quat_wxyz],
            "x_pos_m": [float(v) for v in pos],
            "x_quat_wxyz": [float(v) for v in quat],
            "intrinsics": {
                key: float(getattr(cal.intrinsics, key)) for key in ("fx", "fy", "cx", "cy")
            },
        }

    def capture(
        self,
        folder: str | Path,
        plan: ViewPlanConfig,
        seed: int = 0,
        progress: Callable[[int, int], None] | None = None,
        noise_std: float = 0.0,
    ) -> Capture:
        """Plan views from the prior, visit them, and write a capture folder. ``noise_std``
        (grey levels) adds Gaussian image noise, as a real sensor has."""
        prior_k = self.prior_cam.intrinsics
        goals = plan_views(
            self.mount,
            self.board,
            prior_k,
            camera_x(self.prior_cam),
            self.board_t,
            self.cell.tcp_pose(),
            plan,
            seed,
        )
        writer = CaptureWriter(folder, self.camera_info(), self.board, self.mount, "twin")
        writer.write_truth(self.truth())
        rng = np.random.default_rng(seed + 1)
        for i, goal in enumerate(goals):
            measured = self.move_to(goal)
            image = self.cell.render(self.camera)
            if noise_std > 0:
                noisy = image.astype(np.float32) + rng.normal(0.0, noise_std, image.shape)
                image = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
            writer.add(image, measured)
            if progress is not None:
                progress(i + 1, len(goals))
        return writer.close()

    def close(self) -> None:
        self.cell.close()
