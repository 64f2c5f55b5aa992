"""Reset node: min-jerk profile, the request/response with clear failures, and that the
move goes through goal_pose (never target_pose). An ideal arm stands in for the twin."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import Float32, PoseStamped, Reset, ResetRequest, ResetResponse, Time
from robot_rl.bus.service import Responder
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


def _rig(**cfg: object) -> tuple[InprocBus, NodeLoop, IdealArm, ResetNode]:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    arm = IdealArm(bus, clock, Pose(np.array([0.6, 0.1, 0.3]), DOWN))
    loop.add(arm)
    node = ResetNode(bus, ResetConfig(**cfg))  # type: ignore[arg-type]
    loop.add(node)
    return bus, loop, arm, node


def _call(bus: InprocBus, loop: NodeLoop, req: ResetRequest) -> ResetResponse:
    """The caller's side: an async request, the loop spun until the reply."""
    pending = bus.request_async("reset", Reset, req, 30.0)
    loop.spin(timeout_s=60.0, until=pending.done)
    return pending.result()


def test_reset_moves_through_goal_pose_on_a_grid_and_replies_ok() -> None:
    bus, loop, arm, node = _rig()
    pending = bus.request_async("reset", Reset, ResetRequest(seed=1, timeout_s=30.0), 30.0)
    assert not pending.done() and node.busy  # the handler returned; the reply comes later
    loop.spin(timeout_s=60.0, until=pending.done)
    reply = pending.result()
    assert reply.ok, reply.message
    assert not node.busy and node.completed == 1
    assert arm.targets == []  # never target_pose: the bridge is its only publisher
    home = node.core.sample_home(1)
    assert np.allclose(pose_from_msg(arm.goals[-1]).pos, home.pos)
    stamps = [g.header.stamp.to_ns() for g in arm.goals]
    assert all(s % 100_000_000 == 0 for s in stamps)  # on the 0.1 s grid of lock-step
    assert stamps == sorted(set(stamps))  # one goal per period
    steps = np.linalg.norm(np.diff([pose_from_msg(g).pos for g in arm.goals], axis=0), axis=1)
    assert steps.max() < 0.03  # below the bridge's step clip
    assert _call(bus, loop, ResetRequest(seed=2, timeout_s=30.0)).ok  # and again


def test_reset_without_a_measured_pose_fails_clearly() -> None:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    node = ResetNode(bus, ResetConfig())
    loop.add(node)
    reply = _call(bus, loop, ResetRequest(seed=1, timeout_s=0.2))
    assert not reply.ok and "current_pose" in reply.message and "timed out" in reply.message
    assert node.failed == 1 and not node.busy


def test_reset_when_bus_time_stands_still_times_out_clearly() -> None:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    loop.add(ResetNode(bus, ResetConfig()))
    pose = bus.publisher("current_pose", PoseStamped)
    clock.advance(0.05)  # off the 0.1 s grid: the first goal waits for bus time 0.1 s
    pose.publish(pose_to_msg(Pose(np.array([0.6, 0.1, 0.3]), DOWN), Time.from_ns(0), "base"))
    reply = _call(bus, loop, ResetRequest(seed=1, timeout_s=0.2))
    assert not reply.ok and "bus time to advance" in reply.message


def test_reset_with_an_absent_twin_service_fails_clearly() -> None:
    bus, loop, _, node = _rig(twin_reset_service="twin/reset_objects")
    reply = _call(bus, loop, ResetRequest(seed=1, timeout_s=30.0))
    assert not reply.ok and "twin object reset unavailable" in reply.message
    assert node.failed == 1


def test_the_twin_object_reset_is_called_without_blocking() -> None:
    """The object reset is a service of its own, answered late here (deferred too)."""
    bus, loop, arm, node = _rig(twin_reset_service="twin/reset_objects")
    held: list[tuple[ResetRequest, Responder[ResetResponse]]] = []
    bus.serve_deferred("twin/reset_objects", Reset, lambda req, r: held.append((req, r)))
    pending = bus.request_async("reset", Reset, ResetRequest(seed=4, timeout_s=30.0), 30.0)
    loop.spin(timeout_s=60.0, until=lambda: bool(held))
    goals = len(arm.goals)
    for _ in range(20):  # the node keeps running (and sends nothing) while it waits
        loop.spin_once()
    assert not pending.done() and node.busy and len(arm.goals) == goals
    held[0][1].reply(ResetResponse(False, "objects fell off the table"))
    loop.spin(timeout_s=60.0, until=pending.done)
    reply = pending.result()
    assert not reply.ok and "twin object reset failed: objects fell off the table" in reply.message
    assert held[0][0].seed == 4


def test_a_second_request_while_busy_is_refused() -> None:
    bus, loop, _, node = _rig()
    first = bus.request_async("reset", Reset, ResetRequest(seed=1, timeout_s=30.0), 30.0)
    second = bus.request_async("reset", Reset, ResetRequest(seed=2, timeout_s=30.0), 30.0)
    assert second.done() and not first.done()
    assert not second.result().ok and "already running" in second.result().message
    loop.spin(timeout_s=60.0, until=first.done)
    assert first.result().ok and node.completed == 1


def test_the_reset_opens_the_gripper_before_the_move() -> None:
    """What the last episode held is released: on a real cell nothing else opens it."""
    bus, loop, arm, _ = _rig(gripper_open_value=0.07)
    commands: list[tuple[float, int]] = []
    bus.subscribe("gripper/command", Float32, lambda m: commands.append((m.data, len(arm.goals))))
    assert _call(bus, loop, ResetRequest(seed=1, timeout_s=30.0)).ok
    assert commands == [(pytest.approx(0.07), 0)]  # once, before the first goal
    bus, loop, _, _ = _rig(gripper_topic="")
    silent: list[Float32] = []
    bus.subscribe("gripper/command", Float32, silent.append)
    assert _call(bus, loop, ResetRequest(seed=1, timeout_s=30.0)).ok and silent == []
