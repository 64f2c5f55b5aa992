"""actor: the policy acting in a cell through `BusEnv`, feeding the learner.

Each step becomes a numbered Transition; unacknowledged ones are kept and resent (see
`robot_rl.nodes.transitions`). With a teleop topic (``hil.teleop_topic``) a human can take
over: each step the policy's proposal and the newest TeleopCommand go through the arbiter
of robot_rl.hil, the executed action is flagged ``intervened`` when the human drove, and
the routing mode (``hil.router.mode``) turns the step into 0, 1 or 2 transitions, each
naming its learner buffer (online or demo). The reward comes from the env's reward topic
(the twin's task reward, or a reward node's estimates with a success hold: ``env.hold``).
New PolicyWeights versions are loaded between steps, never in the middle of one. The actor
never blocks on the learner: without acks it keeps acting, up to ``max_unacked`` kept
transitions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.bus.api import Bus
from robot_rl.bus.msgs import DiagnosticArray, PolicyWeights, Time, Transition, TransitionAck
from robot_rl.hil.arbiter import Arbiter
from robot_rl.hil.mapping import TeleopMapping
from robot_rl.hil.session import HilConfig, HilSession
from robot_rl.hil.teleop_node import TeleopListener
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.bus_env import BusEnv, BusEnvConfig, ResetFailedError
from robot_rl.nodes.impedance_bridge import action_scaling
from robot_rl.nodes.observation import ObsConfig, StaleObservationError
from robot_rl.nodes.policy import PolicyConfig, build_agent
from robot_rl.nodes.qos import ACKS, EVENTS, TRANSITIONS, WEIGHTS
from robot_rl.nodes.transitions import Step, TransitionSender, make_transition, transition_crc
from robot_rl.nodes.weights import msg_to_weights

_log = logging.getLogger(__name__)
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
    random_steps: int = 0  # uniform random actions for the first N steps
    deterministic: bool = False  # act with the policy mean (evaluation)
    seed: int = 0  # episode k resets with seed + k (-1: the reset node chooses)
    max_unacked: int = 5000  # kept for resending; beyond it new transitions are dropped
    resend_timeout_s: float = 1.0  # wall s without ack progress before resending
    drain_timeout_s: float = 10.0  # wall s to wait for the last acks when stopping
    reset_retry_s: float = 2.0  # wall s to wait after a failed reset
    progress: bool = False  # print one line per step to stdout (tests, debugging)
    summary_path: str = ""  # JSON summary written on exit ("" = none)
    transitions_topic: str = "transitions"
    ack_topic: str = "transition_ack"
    weights_topic: str = "policy_weights"
    diagnostics_topic: str = "/diagnostics"


class ActorNode:
    """Runs episodes until stopped; `run` blocks (it spins the bus inside the env)."""

    def __init__(self, bus: Bus, cfg: ActorNodeConfig, spin: Spin, name: str = "actor") -> None:
        self.bus, self.cfg, self.name, self.spin = bus, cfg, name, spin
        # The agent first: building it takes a while, and the twin should not wait for an
        # actor whose publishers exist but that cannot act yet.
        self.agent = build_agent(cfg.policy, cfg.obs)
        self.rng = np.random.default_rng(cfg.policy.seed + 7919)
        self._pending_weights: PolicyWeights | None = None
        pub = bus.publisher(cfg.transitions_topic, Transition, TRANSITIONS)
        self.sender = TransitionSender(pub.publish, cfg.max_unacked, cfg.resend_timeout_s)
        self._diag = bus.publisher(cfg.diagnostics_topic, DiagnosticArray, EVENTS)
        bus.subscribe(cfg.ack_topic, TransitionAck, self._on_ack, ACKS)
        bus.subscribe(cfg.weights_topic, PolicyWeights, self._on_weights, WEIGHTS)
        self.env = BusEnv(bus, cfg.obs, cfg.env, spin, cfg.actor_id)
        self.hil: HilSession | None = None
        self.teleop: TeleopListener | None = None
        if cfg.hil.teleop_topic:
            pos, rot, axes = action_scaling(cfg.hil)
            ax, ay, az = (bool(a) for a in axes)
            mapping = TeleopMapping(cfg.hil.arbiter.mapping, pos, rot, (ax, ay, az))
            self.hil = HilSession(cfg.hil, Arbiter(cfg.hil.arbiter, mapping), None)
            self.teleop = TeleopListener(bus, cfg.hil.teleop_topic)
        self.interventions = 0
        self.human_steps = 0
        self.weight_versions: list[int] = []
        self.sent: list[tuple[int, int]] = []  # (seq, crc) of every transition sent
        self.episodes = 0
        self.total_steps = 0
        self.aborted = 0
        self.resets_failed = 0
        self.successes = 0

    # ------------------------------------------------------------------ callbacks
    def _on_ack(self, msg: TransitionAck) -> None:
        if msg.actor_id == self.cfg.actor_id:
            self.sender.on_ack(int(msg.highest_contiguous_seq))

    def _on_weights(self, msg: PolicyWeights) -> None:
        newest = (
            self._pending_weights.version if self._pending_weights else self.agent.policy_version
        )
        if msg.version > newest:
            self._pending_weights = msg  # loaded between steps, see _apply_weights

    # ------------------------------------------------------------------ loop
    def _apply_weights(self) -> None:
        msg, self._pending_weights = self._pending_weights, None
        if msg is None or msg.version <= self.agent.policy_version:
            return
        self.agent.load_trainable_state(msg_to_weights(msg))
        self.env.policy_version = int(msg.version)
        self.weight_versions.append(int(msg.version))

    def _act(self, obs: dict[str, Any]) -> np.ndarray:
        if self.total_steps < self.cfg.random_steps:
            return self.rng.uniform(-1.0, 1.0, 7).astype(np.float32)
        return self.agent.act(obs, self.cfg.deterministic)

    def _send(self, step: int, stamp_ns: int, s: Step) -> None:
        def build(seq: int) -> Transition:
            return make_transition(
                self.cfg.actor_id,
                seq,
                self.env.episode_id,
                step,
                Time.from_ns(stamp_ns),
                s,
                self.agent.policy_version,
            )

        seq = self.sender.send(build)
        if seq is not None:
            self.sent.append((seq, transition_crc(self.sender.unacked[seq])))

    def run_episode(self, stop: Callable[[], bool]) -> None:
        """One episode: reset, then act until terminated, truncated, stale or stopped."""
        seed = -1 if self.cfg.seed < 0 else self.cfg.seed + self.episodes
        try:
            obs, _ = self.env.reset(seed=seed)
        except (ResetFailedError, StaleObservationError) as exc:
            self.resets_failed += 1
            _log.warning("actor %s: reset failed: %s", self.cfg.actor_id, exc)
            deadline = time.monotonic() + self.cfg.reset_retry_s
            while time.monotonic() < deadline and not stop():
                self.spin(0.05)
            return
        self.episodes += 1
        if self.hil is not None:
            self.hil.reset()
        self._apply_weights()
        try:
            self._steps(obs, stop)
        finally:
            if self.hil is not None:
                stats = self.hil.stats
                self.interventions += stats.interventions
                self.human_steps += stats.human_steps

    def _steps(self, obs: dict[str, Any], stop: Callable[[], bool]) -> None:
        for step in range(self.cfg.env.episode_steps):
            if stop():
                return
            obs_stamp = self.env.obs_time_ns
            proposal = self._act(obs)
            decision = None
            action = proposal
            if self.hil is not None:
                assert self.teleop is not None
                # The teleop node stamps its commands with bus time: arbitrate on it.
                now_s = self.bus.now().to_s()
                decision = self.hil.act(obs, proposal, self.teleop.latest, now_s)
                action = np.asarray(decision.action, dtype=np.float32)
            try:
                next_obs, reward, terminated, truncated, _ = self.env.step(
                    action, intervened=decision is not None and decision.intervened
                )
            except StaleObservationError as exc:
                self.aborted += 1
                self.env.abort(str(exc))
                _log.warning("actor %s: episode aborted: %s", self.cfg.actor_id, exc)
                return
            if decision is None:
                steps = [Step(obs, action, reward, next_obs, terminated, truncated, False)]
            else:  # 0, 1 or 2 transitions, each naming its buffer (robot_rl.hil.routing)
                assert self.hil is not None
                routed = self.hil.route(obs, decision, reward, next_obs, terminated, truncated)
                steps = [
                    Step(
                        dict(r.obs),
                        r.action,
                        r.reward,
                        dict(r.next_obs),
                        r.terminated,
                        r.truncated,
                        r.intervened,
                        r.buffer,
                    )
                    for r in routed
                ]
            for s in steps:
                self._send(step, obs_stamp, s)
            self.total_steps += 1
            self._apply_weights()
            self.sender.poll()
            if self.cfg.progress:
                print(
                    f"progress episode={self.episodes} step={step} seq={self.sender.next_seq - 1} "
                    f"version={self.agent.policy_version} acked={self.sender.acked}",
                    flush=True,
                )
            obs = next_obs
            if terminated or truncated:
                self.successes += int(terminated)
                return

    def run(self, stop: Callable[[], bool]) -> int:
        """Episodes until ``num_episodes`` or ``stop()``, then wait (bounded) for the last
        acks and write the summary. Returns 0."""
        while not stop() and (self.cfg.num_episodes <= 0 or self.episodes < self.cfg.num_episodes):
            self.run_episode(stop)
            self.publish_diagnostics()
        deadline = time.monotonic() + self.cfg.drain_timeout_s
        while not self.sender.all_acked and time.monotonic() < deadline:
            self.spin(0.05)
            self.sender.poll()
        self.write_summary()
        return 0

    def summary(self) -> dict[str, Any]:
        """What this actor did, for tests and logs."""
        return {
            "actor_id": self.cfg.actor_id,
            "episodes": self.episodes,
            "steps": self.total_steps,
            "successes": self.successes,
            "aborted": self.aborted,
            "resets_failed": self.resets_failed,
            "sent": self.sent,
            "acked": self.sender.acked,
            "unacked": len(self.sender.unacked),
            "dropped": self.sender.dropped,
            "resent": self.sender.resent,
            "weight_versions": self.weight_versions,
            "interventions": self.interventions,
            "human_steps": self.human_steps,
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
        values = {k: v for k, v in s.items() if k not in ("sent", "weight_versions")}
        values["weights_version"] = self.agent.policy_version
        level = diag.WARN if self.sender.dropped or self.resets_failed else diag.OK
        status = diag.status(self.name, level, "acting", values)
        self._diag.publish(diag.diagnostic_array(self.bus.now(), status))

    def poll(self) -> int:
        """Resends when the actor is idle in someone else's loop."""
        return self.sender.poll()

    def close(self) -> None:
        """Write the summary (again) on the way out."""
        self.write_summary()
