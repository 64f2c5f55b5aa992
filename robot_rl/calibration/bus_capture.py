"""Live capture over the bus (a real cell, or the twin node): the same procedure as the
in-process twin capture, speaking only the cell's topics.

Goals go out on ``goal_pose`` once per command period, like the reset node's min-jerk moves,
so the impedance bridge's safety filter handles every one of them; images come from
``cameras/<name>/image_raw`` and the arm pose from ``current_pose``. A view is recorded once
the arm has stopped, with an image stamped after the stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robot_rl.bus.api import Bus
from robot_rl.bus.msgs import Image, PoseStamped
from robot_rl.calibration.board import BoardConfig
from robot_rl.calibration.capture import CalibrationError, CameraInfo, Capture, CaptureWriter
from robot_rl.calibration.cell_file import CameraCalibration, check_camera_matches
from robot_rl.calibration.twin_capture import MotionConfig, board_placement, camera_x, mount_of
from robot_rl.calibration.views import ViewPlanConfig, plan_views
from robot_rl.control.rotations import quat_angle
from robot_rl.control.safety import Pose
from robot_rl.nodes.convert import image_from_msg, pose_from_msg, pose_to_msg
from robot_rl.nodes.qos import COMMANDS, IMAGES, STATE_SUB
from robot_rl.nodes.trajectory import min_jerk_duration, min_jerk_pose

SETTLE_WINDOW_S = 0.2  # bus seconds the pose must stay still to count as stopped


class BusCapture:
    """Drives the arm and grabs views; ``spin(timeout_s)`` runs the bus (and, inproc, the
    other nodes). Every wait is bounded by ``timeout_s`` wall seconds."""

    def __init__(
        self,
        bus: Bus,
        camera: str,
        spin: Callable[[float], int],
        motion: MotionConfig | None = None,
        camera_namespace: str = "cameras",
        goal_topic: str = "goal_pose",
        current_pose_topic: str = "current_pose",
        frame_id: str = "base",
        timeout_s: float = 60.0,
    ) -> None:
        self.bus, self.spin, self.motion = bus, spin, motion or MotionConfig()
        self.frame_id, self.timeout_s = frame_id, timeout_s
        self.poses: list[tuple[float, Pose]] = []  # (stamp s, pose), recent only
        self.image: tuple[float, np.ndarray] | None = None
        self._goal: Callable[[float], Pose] | None = None
        self._pub = bus.publisher(goal_topic, PoseStamped, COMMANDS)
        bus.subscribe(current_pose_topic, PoseStamped, self._on_pose, STATE_SUB)
        topic = f"{camera_namespace.rstrip('/')}/{camera}/image_raw"
        bus.subscribe(topic, Image, self._on_image, IMAGES)
        self.image_topic = topic
        bus.timer(self.motion.command_period_s, self._on_timer)

    def _on_pose(self, msg: PoseStamped) -> None:
        self.poses.append((msg.header.stamp.to_s(), pose_from_msg(msg)))
        del self.poses[:-200]

    def _on_image(self, msg: Image) -> None:
        self.image = (msg.header.stamp.to_s(), image_from_msg(msg))

    def _on_timer(self) -> None:
        if self._goal is not None:
            now = self.bus.now()
            self._pub.publish(pose_to_msg(self._goal(now.to_s()), now, self.frame_id))

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise CalibrationError(f"timed out after {self.timeout_s:.0f} s waiting for {what}")
            self.spin(0.01)

    def measured(self) -> Pose:
        self._wait(lambda: bool(self.poses), "current_pose")
        return self.poses[-1][1]

    def _still(self) -> bool:
        now = self.poses[-1][0]
        window = [p for t, p in self.poses if now - t <= SETTLE_WINDOW_S]
        if len(window) < 2 or now - self.poses[0][0] < SETTLE_WINDOW_S:
            return False
        first = window[0]
        speed = [float(np.linalg.norm(p.pos - first.pos)) / SETTLE_WINDOW_S for p in window]
        turn = [quat_angle(p.quat, first.quat) / SETTLE_WINDOW_S for p in window]
        m = self.motion
        return max(speed) < m.settle_speed_m_per_s and max(turn) < m.settle_rot_speed_rad_per_s

    def move_to(self, goal: Pose) -> None:
        """Stream a min-jerk move to ``goal`` and hold it until the arm stops."""
        m = self.motion
        start = self.measured()
        duration = min_jerk_duration(
            start, goal, m.max_speed_m_per_s, m.max_rot_speed_rad_per_s, m.min_duration_s
        )
        t0 = self.bus.now().to_s()
        period = m.command_period_s
        self._goal = lambda t: min_jerk_pose(start, goal, duration, t - t0 + period)
        self._wait(lambda: self.bus.now().to_s() >= t0 + duration, "the move to end")
        self._goal = lambda _t: goal
        self.poses.clear()
        self._wait(lambda: bool(self.poses) and self._still(), "the arm to stop")

    def grab(self) -> tuple[np.ndarray, Pose]:
        """An image stamped after the arm stopped, and the pose measured with it."""
        stopped = self.poses[-1][0]
        self._wait(lambda: self.image is not None and self.image[0] >= stopped, self.image_topic)
        assert self.image is not None
        stamp, image = self.image
        self._wait(lambda: self.poses[-1][0] >= stamp, "current_pose after the image")
        return image, min(self.poses, key=lambda tp: abs(tp[0] - stamp))[1]

    def stop(self) -> None:
        """Stop streaming goals (the bridge's watchdog then holds the measured pose)."""
        self._goal = None


def capture_over_bus(
    rig: BusCapture,
    prior: CameraCalibration,
    board: BoardConfig,
    plan: ViewPlanConfig,
    folder: str | Path,
    serial: str = "",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Capture:
    """Plan views from the ``prior`` camera entry, visit them over the bus, write the folder.
    The image size is taken from the stream and refused if it differs from the prior's."""
    mount = mount_of(prior)
    goals = plan_views(
        mount,
        board,
        prior.intrinsics,
        camera_x(prior),
        board_placement(board, mount, prior),
        rig.measured(),
        plan,
        seed,
    )
    writer: CaptureWriter | None = None
    try:
        for i, goal in enumerate(goals):
            rig.move_to(goal)
            image, pose = rig.grab()
            if writer is None:
                h, w = image.shape[:2]
                check_camera_matches(prior, serial, w, h)
                info = CameraInfo(prior.name, serial, w, h)
                writer = CaptureWriter(folder, info, board, mount, "bus")
            writer.add(image, pose)
            if progress is not None:
                progress(i + 1, len(goals))
    finally:
        rig.stop()
    assert writer is not None
    return writer.close()
