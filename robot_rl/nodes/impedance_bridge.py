"""impedance_bridge: actions in, safety filter, ``target_pose`` out at a fixed rate.

It is the only publisher of ``target_pose`` (the crisp_controllers interface). Commands
come from the actor (``action``: deltas in [-1, 1]) and from the reset node or a teleop
(``goal_pose``: absolute). Both feed one `SafetyFilter`, so both are watched by its
watchdog: when no command is accepted for ``safety.watchdog_timeout_s`` the target holds
the measured pose, and a WARN status goes to ``/diagnostics`` at once.

An e-stop (``estop``: a ``std_msgs/String``; "rearm" re-arms, anything else latches) makes
the target hold the measured pose taken at the latch and refuses every action and goal
until it is re-armed; an ERROR status goes to ``/diagnostics`` at once and stays there.

Times are bus time (sim time when the bus follows ``/clock``), in seconds.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field, replace

import numpy as np

from robot_rl.bus.api import Bus
from robot_rl.bus.msgs import Action, DiagnosticArray, Float32, PoseStamped, String, Time
from robot_rl.control.safety import Pose, SafetyConfig, SafetyFilter, SafetyReport
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.convert import pose_from_msg, pose_to_msg, stamp_s
from robot_rl.nodes.qos import COMMANDS, EVENTS, STATE_SUB
from robot_rl.spec import action_scaling, validate_action


def _bridge_safety() -> SafetyConfig:
    # 150 ms + one 10 ms bridge period keeps the hold within 200 ms of the last command.
    return SafetyConfig(watchdog_timeout_s=0.15)


@dataclass
class BridgeConfig:
    """Parameters of the impedance bridge (every topic name is a parameter)."""

    rate_hz: float = 100.0  # target_pose publish rate (Hz, bus time)
    # A twin task name: action scales and rotation axes come from its TaskConfig instead
    # of action_scale_* / rot_axes ("" = use those parameters).
    task: str = ""
    safety: SafetyConfig = field(default_factory=_bridge_safety)  # limits and watchdog
    # Cell calibration YAML whose workspace box replaces safety.workspace_*; "default" is
    # the packaged twin cell, "" keeps the safety.workspace_* parameters.
    calibration: str = ""
    action_scale_pos_m: float = 0.02  # metres per step at |action| = 1
    action_scale_rot_rad: float = 0.1  # radians per step at |action| = 1
    rot_axes: tuple[bool, bool, bool] = (True, True, True)  # base-frame axes the policy may turn
    gripper_open_value: float = 0.08  # gripper command for action[6] = +1 (gripper units)
    gripper_closed_value: float = 0.0  # gripper command for action[6] = -1
    frame_id: str = "base"  # frame of target_pose
    diagnostics_period_s: float = 1.0  # periodic /diagnostics (s); trips are sent at once
    hardware_id: str = ""  # DiagnosticStatus.hardware_id (e.g. the arm's serial)
    action_topic: str = "action"
    goal_topic: str = "goal_pose"
    target_pose_topic: str = "target_pose"
    current_pose_topic: str = "current_pose"
    gripper_topic: str = "gripper/command"
    diagnostics_topic: str = "/diagnostics"
    estop_topic: str = "estop"  # std_msgs/String: REARM re-arms, anything else latches


def resolved_safety(cfg: BridgeConfig) -> SafetyConfig:
    """The safety config with the calibration's workspace box when one is named."""
    safety = cfg.safety
    if not cfg.calibration:
        return safety
    from robot_rl.twin.assets import load_calibration

    cal = load_calibration(None if cfg.calibration == "default" else cfg.calibration)
    return replace(
        safety, workspace_low_m=cal.workspace_low_m, workspace_high_m=cal.workspace_high_m
    )


# The one ``estop`` message that re-arms; every other one latches (fail safe).
REARM = "rearm"


@dataclass(frozen=True)
class Trip:
    """One watchdog trip: when it latched and when the last command had been accepted."""

    time_s: float
    last_command_s: float


class BridgeCore:
    """Bus-free logic of the bridge; every method takes bus time ``now_s`` (seconds)."""

    def __init__(self, cfg: BridgeConfig) -> None:
        self.cfg = cfg
        self.filter = SafetyFilter(resolved_safety(cfg))
        self._scale_pos, self._scale_rot, self._rot_mask = action_scaling(cfg)
        self.measured: Pose | None = None
        self.measured_s = 0.0
        self.trips: list[Trip] = []
        self.rejected_before_pose = 0
        self.last_report: SafetyReport | None = None
        self.last_reason = ""
        self.ticks = 0
        # Age (s) of each accepted action at acceptance: bus time minus its stamp (the
        # observation time). The target goes out in the same callback, so this is the
        # observation-to-target latency of the graph.
        self.command_ages: collections.deque[float] = collections.deque(maxlen=2000)
        # E-stop latch: the reason ("" = armed), when it latched, the pose it holds (None
        # until a measured pose exists) and how many commands it refused.
        self.estop_reason = ""
        self.estop_s = 0.0
        self.estop_hold: Pose | None = None
        self.estop_refused = 0

    @property
    def estopped(self) -> bool:
        """True while the e-stop is latched."""
        return bool(self.estop_reason)

    def estop(self, reason: str, now_s: float) -> bool:
        """Latch the e-stop: hold the measured pose, refuse every command until `rearm`.
        Returns True if it was armed before (a new latch)."""
        new = not self.estopped
        if new:
            self.estop_reason, self.estop_s = reason or "e-stop", now_s
            self.estop_hold = self.measured
        return new

    def rearm(self, now_s: float) -> bool:
        """Release the latch; commanding restarts from the measured pose (no jump back to
        an old goal). Returns True if it was latched."""
        if not self.estopped:
            return False
        self.estop_reason, self.estop_hold = "", None
        if self.measured is not None:
            self.filter.reset(self.measured, now_s)
        return True

    def _refuse_estop(self) -> bool:
        if self.estopped:
            self.estop_refused += 1
            self.last_reason = f"rejected: e-stop latched ({self.estop_reason})"
        return self.estopped

    @property
    def ready(self) -> bool:
        """True once a measured pose has initialised the filter."""
        return self.measured is not None

    def on_measured(self, pose: Pose, stamp: float, now_s: float) -> bool:
        """Store the measured TCP pose; the first one resets the filter. Returns True then."""
        first = self.measured is None
        if first:
            try:
                self.filter.reset(pose, now_s)
            except ValueError:
                return False  # garbage first pose: wait for a sane one
        self.measured, self.measured_s = pose, stamp
        if self.estopped and self.estop_hold is None:
            self.estop_hold = pose  # latched before the first pose: hold the first one
        return first

    def on_action(self, action: np.ndarray, stamp: float, now_s: float) -> float | None:
        """Apply a [-1, 1]^7 action. Returns the gripper command, or None if rejected."""
        if self._refuse_estop():
            return None
        if self.measured is None:
            self.rejected_before_pose += 1
            self.last_reason = "rejected: no measured pose yet"
            return None
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        problem = validate_action(a)
        if problem:
            self.last_reason = problem
            return None
        dpos = a[:3] * self._scale_pos
        drot = a[3:6] * self._scale_rot * self._rot_mask
        report = self.filter.command(dpos, drot, now_s, self.measured, stamp)
        self.last_report, self.last_reason = report, report.reason
        if not report.accepted:
            return None
        self.command_ages.append(now_s - stamp)
        lo, hi = self.cfg.gripper_closed_value, self.cfg.gripper_open_value
        return lo + (float(a[6]) + 1.0) * 0.5 * (hi - lo)

    def on_goal(self, goal: Pose, stamp: float, now_s: float) -> bool:
        """Apply an absolute goal (reset, teleop). Returns True if accepted."""
        if self._refuse_estop():
            return False
        if self.measured is None:
            self.rejected_before_pose += 1
            self.last_reason = "rejected: no measured pose yet"
            return False
        report = self.filter.command_pose(goal, now_s, self.measured, stamp)
        self.last_report, self.last_reason = report, report.reason
        return report.accepted

    def tick(self, now_s: float) -> tuple[Pose | None, bool]:
        """The target for ``now_s`` (None before the first measured pose) and whether the
        watchdog tripped in this call."""
        if self.measured is None:
            return None, False
        if self.estop_hold is not None:
            self.ticks += 1
            return self.estop_hold, False
        was_tripped = self.filter.watchdog_tripped
        target = self.filter.setpoint(now_s, self.measured)
        self.ticks += 1
        tripped = self.filter.watchdog_tripped and not was_tripped
        if tripped:
            self.trips.append(Trip(now_s, self.filter.last_command_s))
        return target, tripped

    def status(self, now_s: float) -> tuple[int, str, dict[str, object]]:
        """(level, message, values) for /diagnostics."""
        values: dict[str, object] = dict(self.filter.diagnostics()) if self.ready else {}
        values["watchdog_timeout_s"] = self.filter.cfg.watchdog_timeout_s
        values["last_command_s"] = self.filter.last_command_s if self.ready else -1.0
        values["measured_age_s"] = now_s - self.measured_s if self.ready else -1.0
        values["trips"] = len(self.trips)
        values["rejected_before_pose"] = self.rejected_before_pose
        values["estop"] = int(self.estopped)
        values["estop_refused"] = self.estop_refused
        if self.estopped:
            values["estop_reason"] = self.estop_reason
            values["estop_time_s"] = self.estop_s
        if self.command_ages:
            ages_ms = np.asarray(self.command_ages) * 1e3
            values["command_age_p50_ms"] = float(np.percentile(ages_ms, 50))
            values["command_age_p99_ms"] = float(np.percentile(ages_ms, 99))
            values["command_age_samples"] = len(ages_ms)
        if self.trips:
            last = self.trips[-1]
            values["trip_time_s"] = last.time_s
            values["trip_last_command_s"] = last.last_command_s
            values["trip_delay_s"] = last.time_s - last.last_command_s
        if self.estopped:
            msg = f"e-stop latched ({self.estop_reason}): holding the measured pose until re-armed"
            return diag.ERROR, msg, values
        if not self.ready:
            return diag.ERROR, "no measured pose yet: not commanding", values
        if self.filter.watchdog_tripped:
            return diag.WARN, "watchdog: no fresh command, holding the measured pose", values
        return diag.OK, "commanding", values


class ImpedanceBridge:
    """The bus adapter of `BridgeCore`."""

    def __init__(self, bus: Bus, cfg: BridgeConfig, name: str = "impedance_bridge") -> None:
        self.bus, self.cfg, self.name = bus, cfg, name
        self.core = BridgeCore(cfg)
        self._target = bus.publisher(cfg.target_pose_topic, PoseStamped, COMMANDS)
        self._gripper = bus.publisher(cfg.gripper_topic, Float32, COMMANDS)
        self._diag = bus.publisher(cfg.diagnostics_topic, DiagnosticArray, EVENTS)
        self.subs = [
            bus.subscribe(cfg.current_pose_topic, PoseStamped, self._on_measured, STATE_SUB),
            bus.subscribe(cfg.action_topic, Action, self._on_action, COMMANDS),
            bus.subscribe(cfg.goal_topic, PoseStamped, self._on_goal, COMMANDS),
            bus.subscribe(cfg.estop_topic, String, self._on_estop, COMMANDS),
        ]
        bus.timer(1.0 / cfg.rate_hz, self._tick)
        bus.timer(cfg.diagnostics_period_s, self.publish_diagnostics)

    def _now(self) -> float:
        return self.bus.now().to_s()

    def _on_measured(self, msg: PoseStamped) -> None:
        if self.core.on_measured(pose_from_msg(msg), stamp_s(msg.header), self._now()):
            self._tick()

    def _on_action(self, msg: Action) -> None:
        gripper = self.core.on_action(msg.action, stamp_s(msg.header), self._now())
        if gripper is not None:
            self._gripper.publish(Float32(gripper))
        self._tick(answering=msg.header.stamp)

    def _on_goal(self, msg: PoseStamped) -> None:
        self.core.on_goal(pose_from_msg(msg), stamp_s(msg.header), self._now())
        self._tick(answering=msg.header.stamp)

    def _on_estop(self, msg: String) -> None:
        now = self._now()
        changed = self.core.rearm(now) if msg.data == REARM else self.core.estop(msg.data, now)
        if changed:
            self._tick()
            self.publish_diagnostics()

    def _tick(self, answering: Time | None = None) -> None:
        """Publish the target for bus now. ``answering``: the stamp of the command this
        target answers (accepted or not); the target is then stamped at least 1 ns after
        it, so a lock-step twin tells it from the target its timer sent at that instant."""
        now = self.bus.now()
        target, tripped = self.core.tick(now.to_s())
        if target is not None:
            if answering is not None and now.to_ns() <= answering.to_ns():
                now = Time.from_ns(answering.to_ns() + 1)
            self._target.publish(pose_to_msg(target, now, self.cfg.frame_id))
        if tripped:
            self.publish_diagnostics()

    def publish_diagnostics(self) -> None:
        """Send the bridge's status now."""
        now = self.bus.now()
        level, message, values = self.core.status(now.to_s())
        self._diag.publish(
            diag.diagnostic_array(now, diag.status(self.name, level, message, values))
        )

    def poll(self) -> int:
        """Nothing to do outside callbacks and timers."""
        return 0

    def close(self) -> None:
        """Nothing to release beyond the bus."""
