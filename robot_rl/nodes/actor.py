"""actor: the bus adapter of `robot_rl.loop.actor.ActorCore`, acting in a cell through
`BusEnv`.

Each step becomes numbered transitions that the core keeps and resends until the learner
acknowledges them (robot_rl.loop.delivery). With a teleop topic (``hil.teleop_topic``) a
human can take over: the core arbitrates the policy's proposal against the newest
TeleopCommand and routes the step (``hil.router.mode``). The reward comes from the env's
reward topic (the twin's task reward, or a reward node's estimates with a success hold:
``env.hold``). The operator's episode requests on ``control_topic`` (the cockpit's
pause, resume, success, failure, reset, start; robot_rl.loop.control) are obeyed between
steps and announced on ``env.episode_events_topic``. New PolicyWeights versions are loaded
between steps, never in the middle of one. The actor never blocks on the learner. The
learning settings (network shapes, random warm-up, seed) are the shared TrainConfig (``policy.*``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from robot_rl.agents.sac import SACAgent
from robot_rl.bus.api import Bus
from robot_rl.bus.msgs import DiagnosticArray, EpisodeEvent, PolicyWeights, TransitionAck
from robot_rl.bus.msgs import Transition as TransitionMsg
from robot_rl.hil.arbiter import Arbiter
from robot_rl.hil.mapping import TeleopMapping
from robot_rl.hil.session import HilConfig, HilSession
from robot_rl.hil.teleop_node import TeleopListener
from robot_rl.loop.actor import ActorCore, ActorSettings, weights_behind
from robot_rl.loop.control import EpisodeControl
from robot_rl.loop.delivery import transition_crc
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.bus_env import BusEnv, BusEnvConfig, ResetFailedError
from robot_rl.nodes.observation import ObsConfig, StaleObservationError
from robot_rl.nodes.policy import PolicyConfig, obs_spec, train_config
from robot_rl.nodes.qos import ACKS, EVENTS, TRANSITIONS, WEIGHTS
from robot_rl.nodes.transitions import to_msg
from robot_rl.nodes.weights import msg_to_weights
from robot_rl.spec import ACTION_DIM, action_scaling

_log = logging.getLogger(__name__)
# Requests on the control topic, and how the actor announces obeying them.
_REQUESTS = {
    EpisodeEvent.START: "start",
    EpisodeEvent.PAUSE: "pause",
    EpisodeEvent.RESUME: "resume",
    EpisodeEvent.SUCCESS: "success",
    EpisodeEvent.FAILURE: "failure",
    EpisodeEvent.RESET: "reset",
}
_ANNOUNCED = {name: kind for kind, name in _REQUESTS.items() if name != "reset"}
Spin = Callable[[float], int]


@dataclass
class ActorHilConfig(HilConfig):
    """Human in the loop on the actor: the arbiter and routing mode of robot_rl.hil
    (``arbiter.*``, ``router.mode``: hil_serl, rlif, bc or dagger), the teleop topic, and
    the action scales the operator's twist maps to (they must match the bridge's)."""

    teleop_topic: str = ""  # the teleop node's TeleopCommand topic ("teleop/command"); "" = off
    task: str = ""  # a twin task whose action scales apply ("" = the values below)
    action_scale_pos_m: float = 0.02  # metres per step at |action| = 1
    action_scale_rot_rad: float = 0.1  # radians per step at |action| = 1
    rot_axes: tuple[bool, bool, bool] = (True, True, True)  # base axes the policy may turn


@dataclass
class ActorNodeConfig:
    """Parameters of the actor node."""

    actor_id: str = "actor0"  # unique per actor; the learner acks per actor_id
    obs: ObsConfig = field(default_factory=ObsConfig)  # must match the learner's
    env: BusEnvConfig = field(default_factory=BusEnvConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)  # must match the learner's
    hil: ActorHilConfig = field(default_factory=ActorHilConfig)  # human in the loop
    num_episodes: int = 0  # stop after this many episodes (0 = until stopped)
    deterministic: bool = False  # act with the policy mean, no random warm-up (evaluation)
    seed: int = 0  # episode k resets with seed * 1_000_003 + k (-1: the reset node chooses)
    max_unacked: int = 5000  # kept for resending; beyond it new transitions are dropped
    resend_timeout_s: float = 1.0  # wall s without ack progress before resending
    drain_timeout_s: float = 10.0  # wall s to wait for the last acks when stopping
    reset_retry_s: float = 2.0  # wall s to wait after a failed reset
    progress: bool = False  # print one line per step to stdout (tests, debugging)
    summary_path: str = ""  # JSON summary written on exit ("" = none)
    # The operator's episode requests (EpisodeEvent START, PAUSE, RESUME, SUCCESS, FAILURE,
    # RESET; the cockpit's buttons, docs/gui.md). "" = none.
    control_topic: str = "episode_control"
    wait_for_start: bool = False  # each episode begins only after a START request
    # "env": the env's reward, human labels end episodes; "human": the label is the reward
    # (HIL-SERL's success key; give the env no reward topic). robot_rl.loop.control.
    reward_source: str = "env"
    # 0: act with whatever weights have arrived (the robot: the arm never waits for the
    # learner). k > 0: before a step, wait until the weights in use hold every update the
    # replay ratio owes for all but this actor's last k env steps (the in-process job's lag
    # is weights_every_updates / replay_ratio steps); `robot-rl train --graph` sets it.
    max_policy_lag_steps: int = 0
    transitions_topic: str = "transitions"
    ack_topic: str = "transition_ack"
    weights_topic: str = "policy_weights"
    diagnostics_topic: str = "/diagnostics"


class ActorNode:
    """Runs episodes until stopped; `run` blocks (it spins the bus inside the env)."""

    def __init__(self, bus: Bus, cfg: ActorNodeConfig, spin: Spin, name: str = "actor") -> None:
        self.bus, self.cfg, self.name, self.spin = bus, cfg, name, spin
        train = self.train = train_config(cfg.policy)
        torch.set_num_threads(train.torch_threads)  # as the in-process job does
        # The agent first: building it takes a while, and the twin should not wait for an
        # actor whose publishers exist but that cannot act yet.
        self.agent = SACAgent(train.sac, obs_spec(cfg.obs), ACTION_DIM, cfg.policy.device)
        self._pending_weights: PolicyWeights | None = None
        pub = bus.publisher(cfg.transitions_topic, TransitionMsg, TRANSITIONS)
        self._diag = bus.publisher(cfg.diagnostics_topic, DiagnosticArray, EVENTS)
        bus.subscribe(cfg.ack_topic, TransitionAck, self._on_ack, ACKS)
        bus.subscribe(cfg.weights_topic, PolicyWeights, self._on_weights, WEIGHTS)
        self.env = BusEnv(bus, cfg.obs, cfg.env, spin, cfg.actor_id)
        hil: HilSession | None = None
        self.teleop: TeleopListener | None = None
        if cfg.hil.teleop_topic:
            pos, rot, axes = action_scaling(cfg.hil)
            ax, ay, az = (bool(a) for a in axes)
            mapping = TeleopMapping(cfg.hil.arbiter.mapping, pos, rot, (ax, ay, az))
            hil = HilSession(cfg.hil, Arbiter(cfg.hil.arbiter, mapping), None)
            teleop = self.teleop = TeleopListener(bus, cfg.hil.teleop_topic)
        self.control = EpisodeControl(cfg.wait_for_start, cfg.reward_source)  # type: ignore[arg-type]
        if cfg.control_topic:
            bus.subscribe(cfg.control_topic, EpisodeEvent, self._on_control, EVENTS)
        settings = ActorSettings(
            cfg.actor_id,
            cfg.seed,
            0 if cfg.deterministic else train.random_steps,
            cfg.deterministic,
            cfg.max_unacked,
            cfg.resend_timeout_s,
        )
        self.core = ActorCore(
            self.env,
            self.agent,
            settings,
            lambda t: pub.publish(to_msg(t)),
            hil,
            (lambda _proposal, _now: teleop.latest) if hil is not None else None,
            lambda: self.bus.now().to_s(),
            self.control,
        )
        self.sender = self.core.sender
        self.weight_versions: list[int] = []
        self.sent: list[tuple[int, int]] = []  # (seq, crc) of every transition sent
        self.resets_failed = 0

    # ------------------------------------------------------------------ callbacks
    def _on_ack(self, msg: TransitionAck) -> None:
        if msg.actor_id == self.cfg.actor_id:
            self.sender.on_ack(int(msg.highest_contiguous_seq))

    def _on_weights(self, msg: PolicyWeights) -> None:
        pending = self._pending_weights
        if pending is None or msg.version > pending.version:
            self._pending_weights = msg  # loaded between steps if newer, see _apply_weights

    def _on_control(self, msg: EpisodeEvent) -> None:
        kind = _REQUESTS.get(int(msg.kind))
        if kind is None:
            _log.warning("actor %s: request of kind %d ignored", self.cfg.actor_id, msg.kind)
        else:
            self.control.request(kind, str(msg.detail))

    def _announce(self) -> None:
        for kind, detail in self.control.take_events():
            if kind in _ANNOUNCED:
                self.env.announce(_ANNOUNCED[kind], detail)
                if kind in ("success", "failure"):  # the label ended the episode
                    self.env.announce(EpisodeEvent.END, f"{kind} (human label)")
            else:
                _log.info("actor %s: %s", self.cfg.actor_id, detail)

    # ------------------------------------------------------------------ loop
    def _apply_weights(self) -> None:
        msg, self._pending_weights = self._pending_weights, None
        if msg is not None and self.core.load_weights(msg_to_weights(msg)):
            self.env.policy_version = int(msg.version)
            self.weight_versions.append(int(msg.version))

    def run_step(self, stop: Callable[[], bool] = lambda: False) -> None:
        """One step of the core (a reset first when due), or a short wait while the
        operator holds the actor. A failed reset waits ``reset_retry_s``; stale inputs
        abort the episode."""
        ctl = self.control
        ctl.poll(self.core.in_episode)
        try:
            if not self.core.in_episode and ctl.may_step(False) and not ctl.reset_requested:
                self.core.begin_episode()  # the env resets (the reset node)
                self._apply_weights()  # the newest weights for the new episode
                return
            if self.core.in_episode and self.policy_behind():
                self.spin(0.01)  # the learner catches up (lock-step: sim time waits too)
                self._apply_weights()
                return
            sent = self.core.step()
        except (ResetFailedError, StaleObservationError) as exc:
            self._announce()
            if self.core.in_episode:
                self.core.abort_episode()
                self.env.abort(str(exc))
                _log.warning("actor %s: episode aborted: %s", self.cfg.actor_id, exc)
            else:
                self.resets_failed += 1
                _log.warning("actor %s: reset failed: %s", self.cfg.actor_id, exc)
                self.spin_for(self.cfg.reset_retry_s, stop)
            self.publish_diagnostics()
            return
        self._announce()
        if not sent and not ctl.may_step(self.core.in_episode):
            self.spin(0.02)  # held by the operator: keep the bus (and the requests) going
        self.sent.extend((t.seq, transition_crc(t)) for t in sent)
        self._apply_weights()
        self.sender.poll()
        if self.cfg.progress and sent:
            print(
                f"progress episode={self.core.episodes} step={self.core.episode_step - 1} "
                f"seq={self.sender.next_seq - 1} version={self.core.policy_version} "
                f"acked={self.sender.acked}",
                flush=True,
            )
        if sent and not self.core.in_episode:
            self.publish_diagnostics()

    def policy_behind(self) -> bool:
        """True while the weights in use miss updates owed for steps older than the last
        ``max_policy_lag_steps`` (never before ``batch_size`` steps are stored)."""
        lag = self.cfg.max_policy_lag_steps
        if lag <= 0 or self.cfg.deterministic:
            return False
        sent = self.sender.next_seq - 1
        return weights_behind(sent, lag, self.core.policy_updates, self.train)

    def spin_for(self, wall_s: float, stop: Callable[[], bool] = lambda: False) -> None:
        """Spin the bus for ``wall_s`` wall seconds (or until ``stop()``)."""
        deadline = time.monotonic() + wall_s
        while time.monotonic() < deadline and not stop():
            self.spin(0.05)

    def run(self, stop: Callable[[], bool]) -> int:
        """Episodes until ``num_episodes`` have ended or ``stop()``, then wait (bounded)
        for the last acks and write the summary. Returns 0."""
        while not stop() and (
            self.cfg.num_episodes <= 0
            or self.core.episodes < self.cfg.num_episodes
            or self.core.in_episode
        ):
            self.run_step(stop)
        deadline = time.monotonic() + self.cfg.drain_timeout_s
        while not self.sender.all_acked and time.monotonic() < deadline:
            self.spin(0.05)
            self.sender.poll()
        self.write_summary()
        return 0

    def summary(self) -> dict[str, Any]:
        """What this actor did, for tests and logs."""
        finished = self.core.finished
        return {
            "actor_id": self.cfg.actor_id,
            "episodes": self.core.episodes,
            "steps": self.core.env_steps,
            "successes": sum(ep.success for ep in finished),
            "returns": [round(ep.ret, 4) for ep in finished],
            "aborted": self.core.aborted,
            "resets_failed": self.resets_failed,
            "sent": self.sent,
            "acked": self.sender.acked,
            "unacked": len(self.sender.unacked),
            "dropped": self.sender.dropped,
            "resent": self.sender.resent,
            "weight_versions": self.weight_versions,
            "interventions": sum(ep.interventions for ep in finished),
            "human_steps": sum(ep.intervention_steps for ep in finished),
            "paused": self.control.paused,
            "labels": self.control.labels,
            "label_disagreements": self.control.disagreements,
        }

    def write_summary(self) -> None:
        """Write `summary` to ``summary_path`` (if set)."""
        if self.cfg.summary_path:
            path = Path(self.cfg.summary_path)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.summary()))
            tmp.replace(path)

    def publish_diagnostics(self) -> None:
        """Send the actor's status now."""
        s = self.summary()
        values = {k: v for k, v in s.items() if k not in ("sent", "weight_versions", "returns")}
        values["weights_version"] = self.core.policy_version
        level = diag.WARN if self.sender.dropped or self.resets_failed else diag.OK
        status = diag.status(self.name, level, "acting", values)
        self._diag.publish(diag.diagnostic_array(self.bus.now(), status))

    def poll(self) -> int:
        """Resends when the actor is idle in someone else's loop."""
        return self.sender.poll()

    def close(self) -> None:
        """Write the summary (again) on the way out."""
        self.write_summary()
