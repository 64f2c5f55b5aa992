"""twin: the MuJoCo cell behind the same topics as the real one.

Publishes ``joint_states``, ``current_pose``, ``external_wrench`` and the task's privileged
``object_state`` (robot_rl_interfaces/ObjectState) every quantum, camera
``image_raw`` + ``camera_info`` and the task ``reward`` every policy period, and ``/clock``.
Subscribes ``target_pose`` (the crisp_controllers interface) and the gripper command.

Two modes:
- **lock-step** (``lockstep=True``): the twin owns sim time. It advances one quantum only
  when the bridge has sent a ``target_pose`` stamped at the current time and, at a policy
  boundary, when the commander (actor or reset node) has sent a command stamped at it and
  the bridge has answered that command (a target stamped just after it), so every command
  takes effect in the quantum that starts at its stamp, however loaded the machine is. A
  peer that stays silent for ``lockstep_patience_s`` wall seconds is left behind (the
  twin runs on without it) until it speaks again; a peer with no matched publisher is
  never waited for. Before the first step the twin waits, unbounded, for the bridge.
- **real time**: a wall-clock timer advances one quantum per period; stamps are wall time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from robot_rl.bus.api import Bus
from robot_rl.bus.clock import SimClock
from robot_rl.bus.msgs import (
    Action,
    CameraInfo,
    Clock,
    DiagnosticArray,
    Float32,
    Header,
    Image,
    JointState,
    ObjectState,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
    RewardEstimate,
    Time,
    WrenchStamped,
)
from robot_rl.bus.qos import CLOCK
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.convert import (
    camera_info_msg,
    image_to_msg,
    joint_state_msg,
    pose_from_msg,
    pose_to_msg,
    wrench_to_msg,
)
from robot_rl.nodes.qos import CAMERA_INFO, COMMANDS, EVENTS, IMAGES, STATE_PUB
from robot_rl.nodes.twin_sim import TwinSim, gripper_opening_m
from robot_rl.rewards.source import TWIN_BLOWUP_SOURCE

_log = logging.getLogger(__name__)


@dataclass
class TwinNodeConfig:
    """Parameters of the twin node (every topic name is a parameter)."""

    task: str = "reach"  # registered twin task (robot_rl.twin.tasks.TASKS)
    calibration: str = ""  # cell calibration YAML; "" = the packaged default cell
    cameras: tuple[str, ...] = ("front", "wrist")  # cameras to render (from the calibration)
    image_height: int = 128  # rendered and published image size (pixels)
    image_width: int = 128
    lockstep: bool = True  # sim time, gated on the bridge and the commander; False: real time
    quantum_s: float = 0.01  # physics advanced per step (s); state is published every step
    policy_period_s: float = 0.1  # camera frames and reward every period (s)
    lockstep_patience_s: float = 3.0  # wall s a lock-step peer may be late before it is left
    republish_period_s: float = 0.5  # wall s between republications while waiting
    diagnostics_period_s: float = 1.0  # sim (or wall) s between /diagnostics
    seed: int = 0  # seeds object placement when a reset asks for seed -1
    dense_reward: bool = False  # the task's dense shaping in ``reward`` (the twin recipe's)
    frame_id: str = "base"
    gripper_open_value: float = 0.08  # gripper command meaning fully open (0.08 m)
    gripper_closed_value: float = 0.0  # gripper command meaning closed
    target_pose_topic: str = "target_pose"
    gripper_topic: str = "gripper/command"
    action_topic: str = "action"  # watched in lock-step only (commands from the actor)
    goal_topic: str = "goal_pose"  # watched in lock-step only (commands from reset/teleop)
    current_pose_topic: str = "current_pose"
    joint_states_topic: str = "joint_states"
    external_wrench_topic: str = "external_wrench"
    reward_topic: str = "reward"
    # The task's privileged object state, every quantum ("" = off); only a state-observation
    # policy on the twin reads it (ObsConfig.object_state_dim), a real cell has none.
    object_state_topic: str = "object_state"
    camera_namespace: str = "cameras"  # images on <ns>/<camera>/image_raw and camera_info
    reset_objects_service: str = "twin/reset_objects"
    clock_topic: str = "/clock"
    diagnostics_topic: str = "/diagnostics"


class _Peer:
    """Lock-step bookkeeping of one upstream peer (the bridge or the commander)."""

    def __init__(self) -> None:
        self.stamp_ns = -1  # newest stamp received
        self.count = 0  # messages received
        self.left_behind = False  # silent past the patience: not waited for until it speaks

    def heard(self, stamp_ns: int) -> None:
        self.stamp_ns = max(self.stamp_ns, stamp_ns)
        self.count += 1
        self.left_behind = False


class TwinNode:
    """Bus adapter of `TwinSim` with the lock-step gate."""

    def __init__(
        self, bus: Bus, cfg: TwinNodeConfig, name: str = "twin", sim_clock: SimClock | None = None
    ) -> None:
        self.bus, self.cfg, self.name = bus, cfg, name
        self.sim_clock = sim_clock
        self.sim = TwinSim(
            cfg.task,
            cfg.calibration,
            cfg.cameras,
            (cfg.image_height, cfg.image_width),
            cfg.seed,
            cfg.dense_reward,
        )
        self._quantum_ticks = self.sim.ticks_for(cfg.quantum_s)
        self._boundary_every = max(1, round(cfg.policy_period_s / cfg.quantum_s))
        self._diag_every = max(1, round(cfg.diagnostics_period_s / cfg.quantum_s))
        self.steps = 0  # quanta done
        self.lockstep_timeouts = 0
        self.targets_rejected = 0
        self.target = _Peer()
        self.command = _Peer()
        self._wait_start: float | None = None
        self._last_republish = 0.0
        self._started_wall = time.monotonic()
        self._last_obs: list[tuple[object, object]] = []
        self._blowups_published = 0  # blowups already marked on a reward estimate

        pub = bus.publisher
        self._pose = pub(cfg.current_pose_topic, PoseStamped, STATE_PUB)
        self._joints = pub(cfg.joint_states_topic, JointState, STATE_PUB)
        self._wrench = pub(cfg.external_wrench_topic, WrenchStamped, STATE_PUB)
        self._reward = pub(cfg.reward_topic, RewardEstimate, STATE_PUB)
        self._objects = (
            pub(cfg.object_state_topic, ObjectState, STATE_PUB) if cfg.object_state_topic else None
        )
        self._clock = pub(cfg.clock_topic, Clock, CLOCK)
        self._diag = pub(cfg.diagnostics_topic, DiagnosticArray, EVENTS)
        ns = cfg.camera_namespace.rstrip("/")
        self._images = {c: pub(f"{ns}/{c}/image_raw", Image, IMAGES) for c in cfg.cameras}
        self._infos = {
            c: pub(f"{ns}/{c}/camera_info", CameraInfo, CAMERA_INFO) for c in cfg.cameras
        }
        self._target_sub = bus.subscribe(
            cfg.target_pose_topic, PoseStamped, self._on_target, COMMANDS
        )
        bus.subscribe(cfg.gripper_topic, Float32, self._on_gripper, COMMANDS)
        self._command_subs = []
        if cfg.lockstep:
            self._command_subs = [
                bus.subscribe(cfg.action_topic, Action, self._on_action, COMMANDS),
                bus.subscribe(cfg.goal_topic, PoseStamped, self._on_goal, COMMANDS),
            ]
        else:
            bus.timer(cfg.quantum_s, self._step)
        bus.serve(cfg.reset_objects_service, Reset, self._on_reset_objects)
        self._publish(boundary=True)

    # ------------------------------------------------------------------ callbacks
    def _on_target(self, msg: PoseStamped) -> None:
        if not self.sim.set_target(pose_from_msg(msg)):
            self.targets_rejected += 1
        self.target.heard(msg.header.stamp.to_ns())

    def _on_gripper(self, msg: Float32) -> None:
        opening = gripper_opening_m(
            msg.data, self.cfg.gripper_open_value, self.cfg.gripper_closed_value
        )
        self.sim.set_gripper(opening)

    def _on_action(self, msg: Action) -> None:
        self.command.heard(msg.header.stamp.to_ns())

    def _on_goal(self, msg: PoseStamped) -> None:
        self.command.heard(msg.header.stamp.to_ns())

    def _on_reset_objects(self, req: ResetRequest) -> ResetResponse:
        try:
            self.sim.reset_objects(int(req.seed))
        except Exception as exc:  # a failed reset is reported to the caller, not raised
            _log.exception("twin: object reset failed")
            return ResetResponse(False, f"twin object reset failed: {exc!r}")
        # Before the reply: the object state already sent for this instant shows the old
        # objects, and the actor's first observation of the episode is at this instant.
        self._publish_objects(self._stamp())
        return ResetResponse(True, f"objects of {self.cfg.task!r} reset (seed {req.seed})")

    # ------------------------------------------------------------------ lock-step gate
    def _commander_present(self) -> bool:
        # Only a commander that has spoken is waited for: a matched but idle publisher
        # (the reset node between resets, an actor still loading) would stall start-up.
        return self.command.count > 0 and any(s.publisher_count() > 0 for s in self._command_subs)

    def missing_peers(self) -> list[str]:
        """Peers the next lock-step quantum still waits for (empty: go)."""
        t = self.sim.time_ns
        missing: list[str] = []
        boundary = self.steps % self._boundary_every == 0
        commanded = False
        if boundary and not self.command.left_behind and self._commander_present():
            if self.command.stamp_ns < t:
                missing.append("command")
            else:
                commanded = True
        if not self.target.left_behind:
            if self.target.stamp_ns < t:
                missing.append("target_pose")
            elif commanded and self.target.stamp_ns == t:
                # The bridge answers every command with a target stamped just after it;
                # one stamped at t may be its timer's, sent before the command arrived.
                missing.append("target_pose answering the command")
        return missing

    def poll(self) -> int:
        """Lock-step: advance one quantum if the gate is open. Real time: nothing."""
        if not self.cfg.lockstep:
            return 0
        now = time.monotonic()
        if self.target.count == 0:  # start only once the bridge is there
            self._republish(now)
            return 0
        missing = self.missing_peers()
        if missing:
            if self._wait_start is None:
                self._wait_start = now
            if now - self._wait_start < self.cfg.lockstep_patience_s:
                self._republish(now)
                return 0
            self.lockstep_timeouts += 1
            _log.warning(
                "twin: lock-step peer(s) %s silent for %.1f s at sim t=%.3f s; going on without",
                missing,
                now - self._wait_start,
                self.sim.time_ns * 1e-9,
            )
            if "command" in missing:
                self.command.left_behind = True
            if any(m.startswith("target_pose") for m in missing):
                self.target.left_behind = True
        self._wait_start = None
        self._step()
        return 1

    # ------------------------------------------------------------------ stepping
    def _step(self) -> None:
        self.sim.advance(self._quantum_ticks)
        self.steps += 1
        self._publish(boundary=self.steps % self._boundary_every == 0)
        if self.steps % self._diag_every == 0:
            self.publish_diagnostics()

    def _stamp(self) -> Time:
        if self.cfg.lockstep:
            return Time.from_ns(self.sim.time_ns)
        return self.bus.now()

    def _publish(self, boundary: bool) -> None:
        if self.cfg.lockstep and self.sim_clock is not None:
            self.sim_clock.set_ns(self.sim.time_ns)  # inproc: callbacks see the new time
        stamp = self._stamp()
        self._publish_state(stamp)
        sim, frame = self.sim, self.cfg.frame_id
        if boundary:
            self._last_obs = []
            for cam, pub in self._images.items():
                image = image_to_msg(sim.render(cam), stamp, cam)
                m = sim.camera_model(cam)
                info = camera_info_msg(m.width, m.height, (m.fx, m.fy, m.cx, m.cy), stamp, cam)
                pub.publish(image)
                self._infos[cam].publish(info)
                self._last_obs += [(pub, image), (self._infos[cam], info)]
            success = sim.success()
            blowups = sim.cell.blowups()
            source = TWIN_BLOWUP_SOURCE if blowups != self._blowups_published else "twin"
            self._blowups_published = blowups
            reward = RewardEstimate(
                Header(stamp, frame), source, sim.reward(success), 1.0 if success else 0.0, 0.0
            )
            self._reward.publish(reward)
            self._last_obs.append((self._reward, reward))
        if self.cfg.lockstep:
            self._clock.publish(Clock(stamp))

    def _publish_state(self, stamp: Time) -> None:
        """The robot driver's state topics (and the twin's object state) at ``stamp``."""
        sim, frame = self.sim, self.cfg.frame_id
        self._pose.publish(pose_to_msg(sim.tcp_pose(), stamp, frame))
        q, qd, tau = sim.joint_state()
        self._joints.publish(joint_state_msg(sim.joint_names(), q, qd, tau, stamp))
        self._wrench.publish(wrench_to_msg(sim.external_wrench(), stamp, frame))
        self._publish_objects(stamp)

    def _publish_objects(self, stamp: Time) -> None:
        if self._objects is not None:
            header = Header(stamp, self.cfg.frame_id)
            self._objects.publish(ObjectState(header, self.cfg.task, self.sim.object_state()))

    def _republish(self, now: float) -> None:
        """While waiting: send the latest state again, for peers that joined late."""
        if now - self._last_republish < self.cfg.republish_period_s:
            return
        self._last_republish = now
        stamp = self._stamp()
        self._publish_state(stamp)
        for pub, msg in self._last_obs:
            pub.publish(msg)  # type: ignore[attr-defined]
        if self.cfg.lockstep:
            self._clock.publish(Clock(stamp))

    def publish_diagnostics(self) -> None:
        """Send the twin's status now."""
        stamp = self._stamp()
        wall = time.monotonic() - self._started_wall
        values: dict[str, object] = {
            "sim_time_s": self.sim.time_ns * 1e-9,
            "real_time_factor": self.sim.time_ns * 1e-9 / wall if wall > 0 else 0.0,
            "lockstep": self.cfg.lockstep,
            "lockstep_timeouts": self.lockstep_timeouts,
            "targets_rejected": self.targets_rejected,
            "bridge_left_behind": self.target.left_behind,
            "commander_left_behind": self.command.left_behind,
            "physics_blowups": self.sim.cell.blowups(),
        }
        level = diag.WARN if self.target.left_behind else diag.OK
        message = "bridge silent: holding the last target" if level else "running"
        if values["physics_blowups"]:  # MuJoCo reset the cell's state by itself
            level, message = diag.WARN, f"physics blew up {values['physics_blowups']} times"
        self._diag.publish(
            diag.diagnostic_array(stamp, diag.status(self.name, level, message, values))
        )

    def close(self) -> None:
        """Release the renderer."""
        self.sim.close()
