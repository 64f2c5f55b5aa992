"""The impedance bridge over the inproc bus on a sim clock: targets, rejections, and the
watchdog holding the measured pose with a diagnostic at the moment it trips."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus, InprocConfig
from robot_rl.bus.msgs import Action, DiagnosticArray, Float32, Header, PoseStamped, Time
from robot_rl.control.safety import Pose
from robot_rl.nodes.convert import pose_from_msg, pose_to_msg
from robot_rl.nodes.diagnostics import WARN, values_of
from robot_rl.nodes.impedance_bridge import BridgeConfig, ImpedanceBridge

HOME = Pose(np.array([0.5, 0.0, 0.2]), np.array([0.0, 1.0, 0.0, 0.0]))


class Rig:
    def __init__(self, **cfg: object) -> None:
        self.clock = SimClock()
        self.bus = InprocBus(InprocConfig(wire_check=True), self.clock)
        self.bridge = ImpedanceBridge(self.bus, BridgeConfig(**cfg))  # type: ignore[arg-type]
        self.targets: list[PoseStamped] = []
        self.diags: list[DiagnosticArray] = []
        self.gripper: list[float] = []
        self.bus.subscribe("target_pose", PoseStamped, self.targets.append)
        self.bus.subscribe("/diagnostics", DiagnosticArray, self.diags.append)
        self.bus.subscribe("gripper/command", Float32, lambda m: self.gripper.append(m.data))
        self.pose = self.bus.publisher("current_pose", PoseStamped)
        self.action = self.bus.publisher("action", Action)

    def now(self) -> Time:
        return Time.from_ns(self.clock.now_ns())

    def measured(self, pose: Pose = HOME) -> None:
        self.pose.publish(pose_to_msg(pose, self.now(), "base"))

    def act(self, a: list[float], stamp: Time | None = None) -> None:
        header = Header(stamp or self.now(), "base")
        self.action.publish(Action(header, 1, 0, np.asarray(a, np.float32), False))

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / 0.01)):
            self.clock.advance(0.01)
            self.bus.spin_once()


def test_no_target_before_a_measured_pose_then_holds_it() -> None:
    rig = Rig()
    rig.act([0.0] * 7)
    rig.run(0.05)
    assert rig.targets == []
    rig.measured()
    assert len(rig.targets) == 1
    assert np.allclose(pose_from_msg(rig.targets[0]).pos, HOME.pos)


def test_an_action_moves_the_target_within_the_step_clip() -> None:
    rig = Rig(calibration="default")
    rig.measured()
    rig.act([1.0, 0, 0, 0, 0, 0, 1.0])
    rig.run(0.1)
    last = pose_from_msg(rig.targets[-1])
    assert last.pos[0] == pytest.approx(0.52)  # 0.02 m per unit action
    assert rig.gripper == [pytest.approx(0.08)]
    assert all(t.header.frame_id == "base" for t in rig.targets)


@pytest.mark.parametrize("bad", [[np.nan] + [0.0] * 6, [2.0] + [0.0] * 6, [0.0] * 5])
def test_garbage_actions_are_rejected_not_clipped(bad: list[float]) -> None:
    rig = Rig()
    rig.measured()
    rig.act(bad)
    rig.run(0.1)
    assert np.allclose(pose_from_msg(rig.targets[-1]).pos, HOME.pos)
    assert rig.bridge.core.last_reason.startswith("rejected")
    assert rig.gripper == []


def test_watchdog_trips_within_timeout_plus_one_period_and_says_so() -> None:
    rig = Rig()
    rig.measured()
    for _ in range(5):
        rig.act([0.5, 0, 0, 0, 0, 0, 0])
        rig.run(0.1)
    last_command = rig.bridge.core.filter.last_command_s
    rig.diags.clear()
    drifted = Pose(np.array([0.56, 0.01, 0.2]), HOME.quat)
    rig.measured(drifted)  # e.g. the arm pushed by hand: the hold follows the measurement
    rig.run(0.5)
    trips = rig.bridge.core.trips
    assert len(trips) == 1
    assert trips[0].time_s - last_command <= 0.15 + 0.01 + 1e-9  # timeout + one bridge period
    warn = [s for d in rig.diags for s in d.status if s.level == WARN]
    assert warn, "the trip is reported at once"
    values = values_of(warn[0])
    assert float(values["trip_delay_s"]) <= 0.2
    assert np.allclose(pose_from_msg(rig.targets[-1]).pos, drifted.pos)  # holds the measured pose


def test_a_fresh_command_releases_the_hold() -> None:
    rig = Rig()
    rig.measured()
    rig.run(0.5)
    assert rig.bridge.core.filter.watchdog_tripped
    rig.act([0.0, 0.5, 0, 0, 0, 0, 0])
    assert not rig.bridge.core.filter.watchdog_tripped


@pytest.mark.parametrize("action", [[0.5] + [0.0] * 6, [np.nan] + [0.0] * 6])
def test_every_action_is_answered_with_a_target_stamped_just_after_it(
    action: list[float],
) -> None:
    # A lock-step twin waits at a policy boundary for this answer: the timer's target at
    # the same instant may predate the command, so only the 1 ns tells them apart.
    rig = Rig(calibration="default")
    rig.measured()
    rig.run(0.1)
    before = len(rig.targets)
    stamp = rig.now()
    rig.act(action, stamp)
    answers = rig.targets[before:]
    assert [t.header.stamp.to_ns() for t in answers] == [stamp.to_ns() + 1]
    assert len(rig.gripper) == int(np.isfinite(action[0]))  # accepted: the gripper too
    rig.act(action, Time.from_ns(stamp.to_ns() - 10_000_000))  # an older command
    assert rig.targets[-1].header.stamp.to_ns() == stamp.to_ns()  # bus now: no shift
