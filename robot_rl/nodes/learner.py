"""learner: transitions in, acks and versioned weights out, checkpoint and resume.

Every transition that is next in line for its actor is appended to a write-ahead log and
only then acknowledged, so a learner killed at any moment loses nothing it acked: on
restart it loads the last checkpoint, replays the log, and the actors resend whatever is
still unacknowledged. Checkpoints (agent, replay, bookkeeping) are written atomically
every ``checkpoint_every_s`` wall seconds and on shutdown; an existing checkpoint folder
is resumed, never refused. Weight versions keep increasing across restarts. Several
actors can feed one learner (acks are per ``actor_id``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from robot_rl.agents.config import updates_due
from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.sampling import MixedSampler
from robot_rl.bus.api import Bus
from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.errors import CdrError
from robot_rl.bus.msgs import DiagnosticArray, PolicyWeights, Transition, TransitionAck
from robot_rl.envs.twin_env import ACTION_DIM
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.checkpoint import load_checkpoint, load_demo_replay, save_checkpoint
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig, build_agent, obs_spec
from robot_rl.nodes.qos import ACKS, EVENTS, TRANSITIONS, WEIGHTS
from robot_rl.nodes.transitions import TransitionIntake, transition_crc, transition_step
from robot_rl.nodes.wal import WriteAheadLog
from robot_rl.nodes.weights import weights_to_msg

_log = logging.getLogger(__name__)


@dataclass
class LearnerConfig:
    """Parameters of the learner node."""

    obs: ObsConfig = field(default_factory=ObsConfig)  # must match the actors'
    policy: PolicyConfig = field(default_factory=PolicyConfig)  # must match the actors'
    checkpoint_dir: str = "runs/learner"  # checkpoint + write-ahead log; resumed if present
    checkpoint_every_s: float = 300.0  # wall s between checkpoints (and one at shutdown)
    warmup_transitions: int = 1000  # no gradient update before this many are stored
    max_updates_per_poll: int = 4  # bounds the time between two spins of the bus
    weights_every_updates: int = 200  # publish a new weight version every N updates
    ack_period_s: float = 0.5  # wall s between heartbeat acks to every known actor
    fsync: bool = False  # fsync the log before each ack (survives power loss, slower)
    max_out_of_order: int = 10_000  # early transitions held per actor
    stored_log: str = ""  # append "actor_id seq crc32" per stored transition ("" = off)
    diagnostics_period_s: float = 2.0  # wall s between /diagnostics
    transitions_topic: str = "transitions"
    ack_topic: str = "transition_ack"
    weights_topic: str = "policy_weights"
    diagnostics_topic: str = "/diagnostics"


def _decode_logged(payload: bytes) -> Transition:
    """A Transition from the write-ahead log. A log written before Transition had its
    trailing ``uint8 buffer`` holds the same bytes without it: read those as ONLINE."""
    try:
        return decode(Transition, payload)
    except CdrError:
        return decode(Transition, payload + bytes([Transition.ONLINE]))


class LearnerCore:
    """Bus-free learner: intake, log, replay, agent, weights, checkpoints."""

    def __init__(self, cfg: LearnerConfig) -> None:
        self.cfg = cfg
        self.dir = Path(cfg.checkpoint_dir)
        self.spec = obs_spec(cfg.obs)
        self.agent = build_agent(cfg.policy, cfg.obs)
        self.replay = ReplayBuffer(cfg.policy.replay_capacity, self.spec, ACTION_DIM)
        # Transitions an actor routes to the demo buffer (robot_rl.hil.routing: a human's
        # steps); batches then mix both, RLPD style, once it holds any.
        replay_cfg = self.agent.config.replay
        self.demo = ReplayBuffer(replay_cfg.demo_capacity_frames, self.spec, ACTION_DIM)
        self.intake: TransitionIntake[Transition] = TransitionIntake(cfg.max_out_of_order)
        # Actor env steps stored, over all runs: a step routed to two buffers (a human step
        # under HIL-SERL, an RLIF onset) counts once, so the replay ratio stays per env step.
        self.env_steps = 0
        self._last_step: dict[str, tuple[int, int]] = {}  # actor -> (episode_id, step)
        self.version = 0  # last weight version published
        self.rejected = 0
        self.replayed = 0  # transitions recovered from the log at start
        self.since_checkpoint = 0
        self._updates_at_publish = 0
        self._stored_log = open(cfg.stored_log, "a") if cfg.stored_log else None  # noqa: SIM115
        self.dir.mkdir(parents=True, exist_ok=True)
        wal_from = self._restore()
        self.sampler = MixedSampler.for_agent(
            self.replay, self.demo, self.agent.config, seed=cfg.policy.seed
        )
        self.wal = WriteAheadLog(self.dir / "wal", cfg.fsync)
        for payload in self.wal.replay(wal_from):
            for msg in self.intake.receive(*self._key(_decode_logged(payload))):
                self._store(msg, log=False)
                self.replayed += 1

    @staticmethod
    def _key(msg: Transition) -> tuple[str, int, Transition]:
        return msg.actor_id, int(msg.seq), msg

    # ------------------------------------------------------------------ resume
    def _restore(self) -> int:
        """Load the checkpoint if there is one; returns the first log segment to replay."""
        self.version = self._read_version_file()
        found = load_checkpoint(self.dir)
        if found is None:
            return 1
        agent_state, replay, meta = found
        self.agent.load_state_dict(agent_state)
        if replay.spec != self.spec:
            raise ValueError(f"checkpoint replay spec {replay.spec} != configured {self.spec}")
        self.replay = replay
        demo = load_demo_replay(self.dir)
        if demo is not None:
            self.demo = demo
        self.intake.highest = {k: int(v) for k, v in meta["highest"].items()}
        self.env_steps = int(meta["env_steps"])
        self.version = max(self.version, int(meta["version"]))
        _log.info("learner: resumed %s (%d transitions)", self.dir, self.env_steps)
        return int(meta["wal_segment"])

    def _read_version_file(self) -> int:
        path = self.dir / "weights_version"
        return int(path.read_text()) if path.exists() else 0

    def _write_version_file(self) -> None:
        tmp = self.dir / "weights_version.tmp"
        tmp.write_text(str(self.version))
        tmp.replace(self.dir / "weights_version")

    # ------------------------------------------------------------------ intake
    def receive(self, msg: Transition) -> int:
        """Take a transition; returns how many became storable (written to the log)."""
        ready = self.intake.receive(*self._key(msg))
        for m in ready:
            self.wal.append(encode(m))
            self._store(m, log=True)
        return len(ready)

    def _store(self, msg: Transition, log: bool) -> None:
        try:
            s = transition_step(msg, self.spec, ACTION_DIM)
        except ValueError as exc:
            self.rejected += 1  # acked anyway: resending a malformed transition cannot help
            _log.warning("learner: rejected %s seq %d: %s", msg.actor_id, msg.seq, exc)
            return
        buffer = self.demo if s.buffer == "demo" else self.replay
        buffer.add(s.obs, s.action, s.reward, s.next_obs, s.terminated, s.truncated, s.intervened)
        key = (int(msg.episode_id), int(msg.step))
        if self._last_step.get(msg.actor_id) != key:
            self._last_step[msg.actor_id] = key
            self.env_steps += 1
        self.since_checkpoint += 1
        if log and self._stored_log is not None:
            self._stored_log.write(f"{msg.actor_id} {msg.seq} {transition_crc(msg)}\n")

    def flush(self) -> None:
        """Make everything received durable (call before acknowledging)."""
        self.wal.flush()
        if self._stored_log is not None:
            self._stored_log.flush()

    # ------------------------------------------------------------------ learning
    def due_updates(self) -> int:
        """Gradient updates owed now (0 during warm-up), at most ``max_updates_per_poll``."""
        if self.env_steps < max(self.cfg.warmup_transitions, 1):
            return 0
        owed = updates_due(self.env_steps, self.agent.num_updates, self.cfg.policy.replay_ratio)
        return min(owed, self.cfg.max_updates_per_poll)

    def update(self) -> dict[str, float]:
        """One gradient update on a batch drawn from the online buffer, mixed with the demo
        buffer (``replay.demo_fraction`` of each batch) once that holds anything. The
        first update fixes the state statistics from everything stored so far."""
        if self.agent.num_updates == 0:
            self.agent.set_state_stats(self.sampler.stored_states())
        return self.agent.update(self.sampler.sample(self.agent.config.batch_size))

    def weights_due(self) -> bool:
        """True when enough updates happened since the last published version."""
        done = self.agent.num_updates - self._updates_at_publish
        return self.version == 0 or done >= self.cfg.weights_every_updates

    def next_weights(self, stamp: object) -> PolicyWeights:
        """A new weight version (persisted, so versions increase across restarts)."""
        self.version += 1
        self._updates_at_publish = self.agent.num_updates
        self._write_version_file()
        return weights_to_msg(self.agent.trainable_state(), self.version, stamp)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> Path:
        """Write a checkpoint of everything stored so far and trim the log."""
        self.flush()
        segment = self.wal.rotate()
        meta = {
            "highest": dict(self.intake.highest),
            "env_steps": self.env_steps,
            "version": self.version,
            "num_updates": self.agent.num_updates,
            "wal_segment": segment,
        }
        path = save_checkpoint(self.dir, self.agent.state_dict(), self.replay, meta, self.demo)
        self.wal.drop_before(segment)
        self.since_checkpoint = 0
        return path

    def close(self) -> None:
        """Checkpoint what is new and close the log."""
        if self.since_checkpoint:
            self.checkpoint()
        self.wal.close()
        if self._stored_log is not None:
            self._stored_log.close()


class LearnerNode:
    """Bus adapter of `LearnerCore`."""

    def __init__(self, bus: Bus, cfg: LearnerConfig, name: str = "learner") -> None:
        self.bus, self.cfg, self.name = bus, cfg, name
        self.core = LearnerCore(cfg)
        self._acks = bus.publisher(cfg.ack_topic, TransitionAck, ACKS)
        self._weights = bus.publisher(cfg.weights_topic, PolicyWeights, WEIGHTS)
        self._diag = bus.publisher(cfg.diagnostics_topic, DiagnosticArray, EVENTS)
        self.sub = bus.subscribe(
            cfg.transitions_topic, Transition, self._on_transition, TRANSITIONS
        )
        self._new = 0
        now = time.monotonic()
        self._last_ack = self._last_diag = self._last_checkpoint = now
        self.publish_weights()
        self.ack_all()

    def _on_transition(self, msg: Transition) -> None:
        self._new += self.core.receive(msg)

    def publish_weights(self) -> None:
        """Publish the current weights as a new version."""
        self._weights.publish(self.core.next_weights(self.bus.now()))

    def ack_all(self) -> None:
        """Flush the log, then acknowledge every actor's highest contiguous seq."""
        self.core.flush()
        for actor, highest in self.core.intake.highest.items():
            self._acks.publish(TransitionAck(actor, highest))
        self._new = 0
        self._last_ack = time.monotonic()

    def poll(self) -> int:
        """Acks, a few gradient updates, weights, diagnostics and checkpoints when due."""
        work = 0
        now = time.monotonic()
        if self._new or now - self._last_ack >= self.cfg.ack_period_s:
            self.ack_all()
            work += 1
        for _ in range(self.core.due_updates()):
            self.core.update()
            work += 1
        if self.core.agent.num_updates and self.core.weights_due():
            self.publish_weights()
            work += 1
        if now - self._last_checkpoint >= self.cfg.checkpoint_every_s:
            self.core.checkpoint()
            self._last_checkpoint = now
            work += 1
        if now - self._last_diag >= self.cfg.diagnostics_period_s:
            self.publish_diagnostics()
            self._last_diag = now
        return work

    def publish_diagnostics(self) -> None:
        """Send the learner's status now."""
        c = self.core
        values: dict[str, object] = {
            "stored": c.env_steps,
            "replayed_from_log": c.replayed,
            "duplicates": c.intake.duplicates,
            "rejected": c.rejected,
            "updates": c.agent.num_updates,
            "weights_version": c.version,
            "replay_transitions": c.replay.num_transitions,
            "demo_transitions": c.demo.num_transitions,
        }
        for actor, highest in c.intake.highest.items():
            values[f"acked/{actor}"] = highest
            values[f"early/{actor}"] = c.intake.pending(actor)
        status = diag.status(self.name, diag.OK, "learning", values)
        self._diag.publish(diag.diagnostic_array(self.bus.now(), status))

    def close(self) -> None:
        """Acknowledge what is durable, checkpoint, close the log."""
        self.core.close()
