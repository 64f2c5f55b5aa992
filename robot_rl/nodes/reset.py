"""reset: a min-jerk move to a randomised home pose, through the bridge, on request.

The node never publishes ``target_pose``: it streams absolute goals on ``goal_pose`` to the
impedance bridge, so a reset goes through the same safety filter, watchdog and controller
as the policy. In the twin it then asks the twin to re-place the objects. It answers the
``reset`` service (robot_rl_interfaces/srv/Reset) with ok, or with the reason it failed:
no measured pose, the arm not reaching home, the twin refusing, or the request's timeout
(wall seconds) running out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robot_rl.bus.api import Bus
from robot_rl.bus.errors import BusError
from robot_rl.bus.msgs import (
    EpisodeEvent,
    Header,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
)
from robot_rl.control.safety import Pose
from robot_rl.nodes.convert import pose_from_msg, pose_to_msg
from robot_rl.nodes.qos import COMMANDS, EVENTS, STATE_SUB
from robot_rl.nodes.trajectory import (
    min_jerk_duration,
    min_jerk_pose,
    pose_error,
    yaw_about_z,
)

_log = logging.getLogger(__name__)
Spin = Callable[[float], int]


@dataclass
class ResetConfig:
    """Parameters of the reset node (every topic and service name is a parameter)."""

    # A twin task name: home pose and noise come from its start distribution instead of
    # the home_* parameters ("" = use home_*).
    task: str = ""
    home_pos_m: tuple[float, float, float] = (0.5, 0.0, 0.22)  # nominal TCP home, base frame
    home_noise_m: tuple[float, float, float] = (0.04, 0.04, 0.03)  # uniform half-widths (m)
    home_quat_wxyz: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 0.0)  # TCP down
    home_yaw_noise_rad: float = 0.0  # uniform yaw half-width about base z (rad)
    max_speed_m_per_s: float = 0.15  # peak TCP speed of the move
    max_rot_speed_rad_per_s: float = 0.8  # peak angular speed of the move
    min_duration_s: float = 0.5  # shortest move (s, bus time)
    command_period_s: float = 0.1  # one goal per period (the bridge interpolates between)
    settle_s: float = 0.3  # hold the home goal at least this long after the move (bus s)
    tolerance_pos_m: float = 0.01  # "arrived" when within this distance ...
    tolerance_rot_rad: float = 0.05  # ... and this angle of the home pose
    default_timeout_s: float = 30.0  # wall s, for requests with timeout_s <= 0
    seed: int = 0  # seeds the home pose of requests with seed -1
    twin_reset_service: str = ""  # the twin's object reset ("twin/reset_objects"); "" = none
    frame_id: str = "base"
    reset_service: str = "reset"
    goal_topic: str = "goal_pose"
    current_pose_topic: str = "current_pose"
    episode_events_topic: str = "episode_events"


def home_distribution(cfg: ResetConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(home pos, noise half-widths, home quat wxyz, yaw noise) after the ``task`` override."""
    pos, noise = np.array(cfg.home_pos_m), np.array(cfg.home_noise_m)
    quat, yaw = np.array(cfg.home_quat_wxyz), cfg.home_yaw_noise_rad
    if cfg.task:
        from robot_rl.twin.tasks import make_task

        tc = make_task(cfg.task).cfg
        pos, noise, yaw = (
            np.array(tc.start_pos_m),
            np.array(tc.start_noise_m),
            tc.start_yaw_noise_rad,
        )
    return pos, noise, quat, yaw


@dataclass(frozen=True)
class ResetPlan:
    """A min-jerk move from ``start`` to ``goal`` taking ``duration_s`` (bus seconds)."""

    start: Pose
    goal: Pose
    duration_s: float

    def at(self, t_s: float) -> Pose:
        """Goal to send ``t_s`` seconds into the move."""
        return min_jerk_pose(self.start, self.goal, self.duration_s, t_s)


class ResetCore:
    """Bus-free reset logic: sample the home pose, plan the move, judge arrival."""

    def __init__(self, cfg: ResetConfig) -> None:
        self.cfg = cfg
        self.pos, self.noise, self.quat, self.yaw = home_distribution(cfg)
        self.rng = np.random.default_rng(cfg.seed)

    def sample_home(self, seed: int) -> Pose:
        """A random home pose (``seed`` >= 0 makes it reproducible)."""
        rng = self.rng if seed < 0 else np.random.default_rng(seed)
        pos = rng.uniform(self.pos - self.noise, self.pos + self.noise)
        yaw = float(rng.uniform(-1.0, 1.0)) * self.yaw
        return Pose(pos, yaw_about_z(self.quat, yaw))

    def plan(self, measured: Pose, seed: int) -> ResetPlan:
        """The move from ``measured`` to a sampled home pose."""
        goal = self.sample_home(seed)
        c = self.cfg
        duration = min_jerk_duration(
            measured, goal, c.max_speed_m_per_s, c.max_rot_speed_rad_per_s, c.min_duration_s
        )
        return ResetPlan(measured, goal, duration)

    def arrived(self, measured: Pose, goal: Pose) -> bool:
        """Within the position and angle tolerances."""
        dist, angle = pose_error(measured, goal)
        return dist <= self.cfg.tolerance_pos_m and angle <= self.cfg.tolerance_rot_rad


class ResetFailedError(Exception):
    """A reset that cannot complete; the message goes back to the caller."""


class ResetNode:
    """Bus adapter of `ResetCore`. The service handler blocks, spinning with ``spin``."""

    def __init__(self, bus: Bus, cfg: ResetConfig, spin: Spin, name: str = "reset") -> None:
        self.bus, self.cfg, self.name, self.spin = bus, cfg, name, spin
        self.core = ResetCore(cfg)
        self.measured: Pose | None = None
        self.busy = False
        self.completed = 0
        self.failed = 0
        self._goal = bus.publisher(cfg.goal_topic, PoseStamped, COMMANDS)
        self._events = bus.publisher(cfg.episode_events_topic, EpisodeEvent, EVENTS)
        bus.subscribe(cfg.current_pose_topic, PoseStamped, self._on_measured, STATE_SUB)
        bus.serve(cfg.reset_service, Reset, self._on_request)

    def _on_measured(self, msg: PoseStamped) -> None:
        self.measured = pose_from_msg(msg)

    def _on_request(self, req: ResetRequest) -> ResetResponse:
        if self.busy:
            return ResetResponse(False, "reset refused: a reset is already running")
        self.busy = True
        try:
            message = self._run(req)
            self.completed += 1
            return ResetResponse(True, message)
        except ResetFailedError as exc:
            self.failed += 1
            _log.warning("reset failed: %s", exc)
            return ResetResponse(False, str(exc))
        finally:
            self.busy = False

    # ------------------------------------------------------------------ the procedure
    def _wait(self, cond: Callable[[], bool], deadline: float, what: Callable[[], str]) -> None:
        while not cond():
            if time.monotonic() >= deadline:
                raise ResetFailedError(f"reset timed out waiting for {what()}")
            self.spin(0.01)

    def _wait_until(self, due_ns: int, deadline: float, what: Callable[[], str]) -> None:
        self._wait(lambda: self.bus.now().to_ns() >= due_ns, deadline, what)

    def _reset_objects(self, seed: int, deadline: float) -> None:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            reply = self.bus.request(
                self.cfg.twin_reset_service, Reset, ResetRequest(seed, remaining), remaining
            )
        except BusError as exc:
            raise ResetFailedError(f"twin object reset unavailable: {exc}") from exc
        if not reply.ok:
            raise ResetFailedError(f"twin object reset failed: {reply.message}")

    def _send(self, goal: Pose) -> None:
        self._goal.publish(pose_to_msg(goal, self.bus.now(), self.cfg.frame_id))

    def _run(self, req: ResetRequest) -> str:
        cfg = self.cfg
        timeout = req.timeout_s if req.timeout_s > 0 else cfg.default_timeout_s
        deadline = time.monotonic() + timeout
        self._events.publish(EpisodeEvent(Header(self.bus.now(), ""), EpisodeEvent.RESET, 0, ""))
        self._wait(lambda: self.measured is not None, deadline, lambda: cfg.current_pose_topic)
        assert self.measured is not None
        plan = self.core.plan(self.measured, int(req.seed))
        period = cfg.command_period_s
        period_ns = round(period * 1e9)
        # Goals go out on a grid of bus time (integer ns) aligned to multiples of the period,
        # which is where a lock-step twin waits for commands.
        due = -(-self.bus.now().to_ns() // period_ns) * period_ns
        k = 0
        while True:  # the move: one goal per period
            self._wait_until(due, deadline, lambda: "bus time to advance (is the clock running?)")
            self._send(plan.at(k * period))
            due += period_ns
            if k * period >= plan.duration_s:
                break
            k += 1
        if cfg.twin_reset_service:
            self._reset_objects(int(req.seed), deadline)
        settle_end = due + round(cfg.settle_s * 1e9)
        while True:  # hold the home goal until arrived and settled
            self._wait_until(due, deadline, lambda: self._arrival_text(plan.goal))
            assert self.measured is not None
            if due >= settle_end and self.core.arrived(self.measured, plan.goal):
                # Reply without sending a goal for this period: a lock-step twin then stays
                # at this boundary until the caller's first action, stamped with it.
                break
            self._send(plan.goal)
            due += period_ns
        p = plan.goal.pos
        return f"reset to ({p[0]:.3f}, {p[1]:.3f}, {p[2]:.3f}) m in {plan.duration_s:.2f} s"

    def _arrival_text(self, goal: Pose) -> str:
        if self.measured is None:
            return "the arm to reach home (no measured pose)"
        dist, angle = pose_error(self.measured, goal)
        return f"the arm to reach home (still {dist:.3f} m / {angle:.3f} rad away)"

    def poll(self) -> int:
        """Nothing to do outside the service handler."""
        return 0

    def close(self) -> None:
        """Nothing to release beyond the bus."""
