"""learner: the bus adapter of `robot_rl.loop.learner.LearnerCore`.

Transition messages in, acks and versioned PolicyWeights out, diagnostics, checkpoints.
The core logs every transition next in line for its actor to a write-ahead log before it
is acknowledged, so a learner killed at any moment loses nothing it acked. Checkpoints
(the same layout as ``robot-rl train``'s run folder, so either resumes the other) are
written every ``checkpoint_every_s`` wall seconds and on shutdown. The learning settings
are the shared TrainConfig (``policy.*``, robot_rl/nodes/policy.py). Several actors can
feed one learner (acks are per ``actor_id``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import torch

from robot_rl.bus.api import Bus
from robot_rl.bus.msgs import DiagnosticArray, PolicyWeights, Transition, TransitionAck
from robot_rl.loop.learner import LearnerCore, LearnerLink
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig, obs_spec, train_config
from robot_rl.nodes.qos import ACKS, EVENTS, TRANSITIONS, WEIGHTS
from robot_rl.nodes.transitions import LOG_CODEC, from_msg
from robot_rl.nodes.weights import weights_to_msg
from robot_rl.spec import ACTION_DIM

_log = logging.getLogger(__name__)


@dataclass
class LearnerConfig:
    """Parameters of the learner node."""

    obs: ObsConfig = field(default_factory=ObsConfig)  # must match the actors'
    policy: PolicyConfig = field(default_factory=PolicyConfig)  # must match the actors'
    checkpoint_dir: str = "runs/learner"  # the run folder: checkpoint + log; resumed if present
    demo_path: str = ""  # a zarr demo store loaded at a fresh start ("" = the config's)
    checkpoint_every_s: float = 300.0  # wall s between checkpoints (and one at shutdown)
    max_updates_per_poll: int = 4  # bounds the time between two spins of the bus
    ack_period_s: float = 0.5  # wall s between heartbeat acks to every known actor
    fsync: bool = False  # fsync the log before each ack (survives power loss, slower)
    max_out_of_order: int = 10_000  # early transitions held per actor
    stored_log: str = ""  # append "actor_id seq crc32" per stored transition ("" = off)
    diagnostics_period_s: float = 2.0  # wall s between /diagnostics
    transitions_topic: str = "transitions"
    ack_topic: str = "transition_ack"
    weights_topic: str = "policy_weights"
    diagnostics_topic: str = "/diagnostics"


def make_core(cfg: LearnerConfig) -> LearnerCore:
    """The learner core of these parameters, resumed from ``checkpoint_dir`` if it holds a
    checkpoint, else with the demo store loaded (``demo_path`` or the config's)."""
    train = train_config(cfg.policy)
    torch.set_num_threads(train.torch_threads)  # as the in-process job does
    link = LearnerLink(
        LOG_CODEC, cfg.fsync, cfg.max_out_of_order, cfg.stored_log, cfg.policy.device
    )
    core = LearnerCore(train, obs_spec(cfg.obs), ACTION_DIM, cfg.checkpoint_dir, link)
    demo_path = cfg.demo_path or train.demo_path or ""
    if core.restored is None and demo_path:
        from robot_rl.data.episodes import EpisodeStore

        n = core.load_demos(EpisodeStore(demo_path))
        _log.info("learner: %d demo transitions from %s", n, demo_path)
    return core


class LearnerNode:
    """Bus adapter of `LearnerCore`."""

    def __init__(self, bus: Bus, cfg: LearnerConfig, name: str = "learner") -> None:
        self.bus, self.cfg, self.name = bus, cfg, name
        self.core = make_core(cfg)
        self._acks = bus.publisher(cfg.ack_topic, TransitionAck, ACKS)
        self._weights = bus.publisher(cfg.weights_topic, PolicyWeights, WEIGHTS)
        self._diag = bus.publisher(cfg.diagnostics_topic, DiagnosticArray, EVENTS)
        self.sub = bus.subscribe(
            cfg.transitions_topic, Transition, self._on_transition, TRANSITIONS
        )
        self._new = 0
        now = time.monotonic()
        self._last_ack = self._last_diag = self._last_checkpoint = now
        self.publish_weights(force=True)
        self.ack_all()

    def _on_transition(self, msg: Transition) -> None:
        self._new += self.core.receive(from_msg(msg))

    def publish_weights(self, force: bool = False) -> None:
        """Publish the current weights as a new version when one is due (or ``force``)."""
        weights = self.core.publish(force)
        if weights is not None:
            version, state = weights
            self._weights.publish(weights_to_msg(state, version, self.bus.now()))

    def ack_all(self) -> None:
        """Flush the log, then acknowledge every actor's highest contiguous seq."""
        self.core.flush()
        for actor, highest in self.core.acks.items():
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
        work += self.core.train(self.cfg.max_updates_per_poll)
        self.publish_weights()
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
        status = diag.status(self.name, diag.OK, "learning", self.core.status())
        self._diag.publish(diag.diagnostic_array(self.bus.now(), status))

    def close(self) -> None:
        """Acknowledge what is durable, checkpoint, close the log."""
        self.core.close()
