"""reset: a min-jerk move to a randomised home pose, through the bridge, on request.

The node never publishes ``target_pose``: it streams absolute goals on ``goal_pose`` to the
impedance bridge, so a reset goes through the same safety filter, watchdog and controller
as the policy. In the twin it then asks the twin to re-place the objects. It answers the
``reset`` service (robot_rl_interfaces/srv/Reset) with ok, or with the reason it failed:
no measured pose, the arm not reaching home, the twin refusing, or the request's timeout
(wall seconds) running out. The reply is deferred (``Bus.serve_deferred``): no callback of
this node waits or spins, so it runs unchanged on rclpy.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

import numpy as np

from robot_rl.bus.api import Bus
from robot_rl.bus.errors import BusError
from robot_rl.bus.msgs import (
    EpisodeEvent,
    Float32,
    Header,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
)
from robot_rl.bus.service import PendingReply, Responder
from robot_rl.control.safety import Pose
from robot_rl.nodes.convert import pose_from_msg, pose_to_msg
from robot_rl.nodes.qos import COMMANDS, EVENTS, STATE_SUB
from robot_rl.nodes.trajectory import (
    min_jerk_duration,
    min_jerk_pose,
    pose_error,
)
from robot_rl.spec import ARM_STREAM, reset_rng, sample_start

_log = logging.getLogger(__name__)


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
    # Opened when the move starts, releasing what the last episode held (the bridge's
    # command for action[6] = +1); gripper_topic "" = leave the gripper alone.
    gripper_topic: str = "gripper/command"
    gripper_open_value: float = 0.08
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
        rng = self.rng if seed < 0 else reset_rng(seed, ARM_STREAM)
        return Pose(*sample_start(rng, self.pos, self.noise, self.quat, self.yaw))

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


class _Phase(enum.Enum):
    POSE = "waiting for a measured pose"
    MOVE = "streaming the move"
    OBJECTS = "waiting for the twin's object reset"
    SETTLE = "holding home until arrived"


@dataclass
class _Job:
    """One running reset: its request, the reply handle, and where the procedure is."""

    request: ResetRequest
    responder: Responder[ResetResponse]
    deadline: float  # wall (time.monotonic) seconds
    phase: _Phase = _Phase.POSE
    plan: ResetPlan | None = None
    due_ns: int = 0  # bus time of the next goal
    k: int = 0  # goals of the move sent so far
    settle_end_ns: int = 0
    objects: PendingReply[ResetResponse] | None = None


class ResetNode:
    """Bus adapter of `ResetCore`: a state machine, never a blocking callback.

    The service is deferred: a request starts a `_Job` and returns. The procedure moves on
    in `advance`, called from the ``current_pose`` callback and from `poll` (the node
    loop's round, which also sees the wall-clock deadline when bus time stands still);
    each call does only what is due, and the reply is sent when the job ends.
    """

    def __init__(self, bus: Bus, cfg: ResetConfig, name: str = "reset") -> None:
        self.bus, self.cfg, self.name = bus, cfg, name
        self.core = ResetCore(cfg)
        self.measured: Pose | None = None
        self.job: _Job | None = None
        self.completed = 0
        self.failed = 0
        self._period_ns = round(cfg.command_period_s * 1e9)
        self._goal = bus.publisher(cfg.goal_topic, PoseStamped, COMMANDS)
        self._gripper = (
            bus.publisher(cfg.gripper_topic, Float32, COMMANDS) if cfg.gripper_topic else None
        )
        self._events = bus.publisher(cfg.episode_events_topic, EpisodeEvent, EVENTS)
        bus.subscribe(cfg.current_pose_topic, PoseStamped, self._on_measured, STATE_SUB)
        bus.serve_deferred(cfg.reset_service, Reset, self._on_request)

    @property
    def busy(self) -> bool:
        """A reset is running."""
        return self.job is not None

    def _on_measured(self, msg: PoseStamped) -> None:
        self.measured = pose_from_msg(msg)
        self.advance()

    def _on_request(self, req: ResetRequest, responder: Responder[ResetResponse]) -> None:
        if self.job is not None:
            responder.reply(ResetResponse(False, "reset refused: a reset is already running"))
            return
        timeout = req.timeout_s if req.timeout_s > 0 else self.cfg.default_timeout_s
        self.job = _Job(req, responder, time.monotonic() + timeout)
        self._events.publish(EpisodeEvent(Header(self.bus.now(), ""), EpisodeEvent.RESET, 0, ""))
        self.advance()

    # ------------------------------------------------------------------ the procedure
    def advance(self) -> int:
        """Do what is due now for the running reset (never waits). Returns 1 if it
        progressed (a goal, a phase change, the reply), else 0."""
        job = self.job
        if job is None:
            return 0
        before = (job.phase, job.due_ns)
        try:
            done = self._step(job)
        except ResetFailedError as exc:
            self._finish(job, ResetResponse(False, str(exc)))
            return 1
        if done is not None:
            self._finish(job, ResetResponse(True, done))
            return 1
        if time.monotonic() >= job.deadline:
            reason = f"reset timed out waiting for {self._waiting_for(job)}"
            self._finish(job, ResetResponse(False, reason))
            return 1
        return int((job.phase, job.due_ns) != before)

    def _step(self, job: _Job) -> str | None:
        """Advance ``job`` through every phase that can move now; its reply text when
        the reset is done. Raises ResetFailedError."""
        now = self.bus.now().to_ns()
        if job.phase is _Phase.POSE:
            if self.measured is None:
                return None
            job.plan = self.core.plan(self.measured, int(job.request.seed))
            if self._gripper is not None:
                self._gripper.publish(Float32(self.cfg.gripper_open_value))
            # Goals go out on a grid of bus time (integer ns) aligned to multiples of the
            # period, which is where a lock-step twin waits for commands.
            job.due_ns = -(-now // self._period_ns) * self._period_ns
            job.phase = _Phase.MOVE
        assert job.plan is not None
        if job.phase is _Phase.MOVE:
            if now < job.due_ns:
                return None
            t = job.k * self.cfg.command_period_s
            self._send(job.plan.at(t))
            job.due_ns += self._period_ns
            if t < job.plan.duration_s:
                job.k += 1
                return None
            job.phase = _Phase.OBJECTS
            if self.cfg.twin_reset_service:
                remaining = max(0.1, job.deadline - time.monotonic())
                job.objects = self.bus.request_async(
                    self.cfg.twin_reset_service,
                    Reset,
                    ResetRequest(int(job.request.seed), remaining),
                    remaining,
                )
        if job.phase is _Phase.OBJECTS:
            if job.objects is not None:
                if not job.objects.done():
                    return None
                try:
                    reply = job.objects.result()
                except BusError as exc:
                    raise ResetFailedError(f"twin object reset unavailable: {exc}") from exc
                if not reply.ok:
                    raise ResetFailedError(f"twin object reset failed: {reply.message}")
            job.settle_end_ns = job.due_ns + round(self.cfg.settle_s * 1e9)
            job.phase = _Phase.SETTLE
        # SETTLE: hold the home goal until arrived and settled
        if now < job.due_ns:
            return None
        assert self.measured is not None
        if job.due_ns >= job.settle_end_ns and self.core.arrived(self.measured, job.plan.goal):
            # Reply without sending a goal for this period: a lock-step twin then stays
            # at this boundary until the caller's first action, stamped with it.
            p = job.plan.goal.pos
            return f"reset to ({p[0]:.3f}, {p[1]:.3f}, {p[2]:.3f}) m in {job.plan.duration_s:.2f} s"
        self._send(job.plan.goal)
        job.due_ns += self._period_ns
        return None

    def _waiting_for(self, job: _Job) -> str:
        if job.phase is _Phase.POSE:
            return self.cfg.current_pose_topic
        if job.phase is _Phase.MOVE:
            return "bus time to advance (is the clock running?)"
        if job.phase is _Phase.OBJECTS:
            return f"the twin object reset ({self.cfg.twin_reset_service})"
        assert job.plan is not None
        return self._arrival_text(job.plan.goal)

    def _finish(self, job: _Job, response: ResetResponse) -> None:
        self.job = None
        if response.ok:
            self.completed += 1
        else:
            self.failed += 1
            _log.warning("reset failed: %s", response.message)
        job.responder.reply(response)

    def _send(self, goal: Pose) -> None:
        self._goal.publish(pose_to_msg(goal, self.bus.now(), self.cfg.frame_id))

    def _arrival_text(self, goal: Pose) -> str:
        if self.measured is None:
            return "the arm to reach home (no measured pose)"
        dist, angle = pose_error(self.measured, goal)
        return f"the arm to reach home (still {dist:.3f} m / {angle:.3f} rad away)"

    def poll(self) -> int:
        """Move the running reset on (bus time may have advanced; the wall deadline)."""
        return self.advance()

    def close(self) -> None:
        """Nothing to release beyond the bus."""
