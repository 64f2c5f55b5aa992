"""Reset node: min-jerk profile, the request/response with clear failures, and that the
move goes through goal_pose (never target_pose). An ideal arm stands in for the twin."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import PoseStamped, Reset, ResetRequest, Time
from robot_rl.control.rotations import quat_angle
from robot_rl.control.safety import Pose
from robot_rl.nodes.convert import pose_from_msg, pose_to_msg
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.reset import ResetConfig, ResetCore, ResetNode
from robot_rl.nodes.trajectory import min_jerk, min_jerk_duration, min_jerk_pose

DOWN = np.array([0.0, 1.0, 0.0, 0.0])


def test_min_jerk_profile_is_smooth_and_monotone() -> None:
    s = np.array([min_jerk(t) for t in np.linspace(0, 1, 101)])
    assert s[0] == 0.0 and s[-1] == 1.0
    assert np.all(np.diff(s) >= 0)
    assert min_jerk(0.5) == pytest.approx(0.5)
    assert min_jerk(-1) == 0.0 and min_jerk(2) == 1.0


def test_duration_keeps_the_peak_speed_within_the_limit() -> None:
    a = Pose(np.array([0.4, 0.0, 0.3]), DOWN)
    b = Pose(np.array([0.6, 0.1, 0.2]), DOWN)
    duration = min_jerk_duration(a, b, 0.15, 1.0, 0.5)
    t = np.linspace(0, duration, 2001)
    pos = np.array([min_jerk_pose(a, b, duration, x).pos for x in t])
    speed = np.linalg.norm(np.diff(pos, axis=0), axis=1) / np.diff(t)
    assert speed.max() <= 0.15 * 1.001
    assert np.allclose(min_jerk_pose(a, b, duration, duration).pos, b.pos)


def test_home_samples_are_reproducible_and_inside_the_noise_box() -> None:
    core = ResetCore(ResetConfig(home_yaw_noise_rad=0.3))
    a, b = core.sample_home(5), core.sample_home(5)
    assert np.array_equal(a.pos, b.pos) and np.array_equal(a.quat, b.quat)
    assert np.all(np.abs(a.pos - np.array([0.5, 0.0, 0.22])) <= np.array([0.04, 0.04, 0.03]))
    assert quat_angle(a.quat, DOWN) <= 0.3 + 1e-9


def test_task_overrides_the_home_distribution() -> None:
    core = ResetCore(ResetConfig(task="peg_insert"))
    from robot_rl.twin.tasks import make_task

    assert np.allclose(core.pos, make_task("peg_insert").cfg.start_pos_m)


class IdealArm:
    """Follows goal_pose exactly; advances sim time 10 ms per poll."""

    def __init__(self, bus: InprocBus, clock: SimClock, start: Pose) -> None:
        self.bus, self.clock, self.pose = bus, clock, start
        self.pub = bus.publisher("current_pose", PoseStamped)
        self.goals: list[PoseStamped] = []
        self.targets: list[PoseStamped] = []
        bus.subscribe("goal_pose", PoseStamped, self._on_goal)
        bus.subscribe("target_pose", PoseStamped, self.targets.append)

    def _on_goal(self, msg: PoseStamped) -> None:
        self.goals.append(msg)
        self.pose = pose_from_msg(msg)

    def poll(self) -> int:
        self.clock.advance(0.01)
        self.pub.publish(pose_to_msg(self.pose, Time.from_ns(self.clock.now_ns()), "base"))
        return 1


def _rig(**cfg: object) -> tuple[InprocBus, IdealArm, ResetNode]:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    arm = IdealArm(bus, clock, Pose(np.array([0.6, 0.1, 0.3]), DOWN))
    loop.add(arm)
    node = ResetNode(bus, ResetConfig(**cfg), loop.spin_once)  # type: ignore[arg-type]
    return bus, arm, node


def test_reset_moves_through_goal_pose_on_a_grid_and_replies_ok() -> None:
    bus, arm, node = _rig()
    reply = bus.request("reset", Reset, ResetRequest(seed=1, timeout_s=30.0), 30.0)
    assert reply.ok, reply.message
    assert arm.targets == []  # never target_pose: the bridge is its only publisher
    home = node.core.sample_home(1)
    assert np.allclose(pose_from_msg(arm.goals[-1]).pos, home.pos)
    stamps = [g.header.stamp.to_ns() for g in arm.goals]
    assert all(s % 100_000_000 == 0 for s in stamps)  # on the 0.1 s grid of lock-step
    steps = np.linalg.norm(np.diff([pose_from_msg(g).pos for g in arm.goals], axis=0), axis=1)
    assert steps.max() < 0.03  # below the bridge's step clip


def test_reset_without_a_measured_pose_fails_clearly() -> None:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    ResetNode(bus, ResetConfig(), loop.spin_once)
    reply = bus.request("reset", Reset, ResetRequest(seed=1, timeout_s=0.2), 5.0)
    assert not reply.ok and "current_pose" in reply.message and "timed out" in reply.message


def test_reset_with_an_absent_twin_service_fails_clearly() -> None:
    bus, _, node = _rig(twin_reset_service="twin/reset_objects")
    reply = bus.request("reset", Reset, ResetRequest(seed=1, timeout_s=30.0), 30.0)
    assert not reply.ok and "twin object reset unavailable" in reply.message
    assert node.failed == 1


def test_a_second_request_while_busy_is_refused() -> None:
    _, _, node = _rig()
    node.busy = True
    reply = node._on_request(ResetRequest(seed=1, timeout_s=1.0))
    assert not reply.ok and "already running" in reply.message
