"""`LearnerCore`: transitions in, gradient updates at a replay ratio per env step,
versioned weights out, atomic checkpoints with both buffers. Bus-free: the in-process link
(robot_rl.train.run) calls it directly, the learner node (robot_rl.nodes.learner) adapts
messages to it.

With a write-ahead log (``log_codec``), every transition next in line for its actor is
logged before it is acknowledged, so a learner killed at any moment loses nothing it
acked: on restart it loads the last checkpoint, replays the log, and the actors resend
whatever is still unacknowledged. Weight versions keep increasing across restarts.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.agents.config import updates_due
from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.sampling import MixedSampler
from robot_rl.agents.types import ObsSpec
from robot_rl.configio import ConfigError
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.loader import fill_replay
from robot_rl.loop import checkpoint
from robot_rl.loop.delivery import TransitionIntake, transition_crc
from robot_rl.loop.types import Transition
from robot_rl.loop.wal import WriteAheadLog
from robot_rl.train.config import TrainConfig, to_dict

_log = logging.getLogger(__name__)


def obs_problem(obs: dict[str, Any], spec: ObsSpec) -> str:
    """'' if ``obs`` has ``spec``'s layout (float32 state, uint8 images), else why not."""
    state = obs.get("state")
    if not isinstance(state, np.ndarray) or state.dtype != np.float32:
        return "state missing or not float32"
    if state.shape != (spec.state_dim,) or not np.isfinite(state).all():
        return f"state shape {state.shape} (expected ({spec.state_dim},)) or non-finite"
    images = obs.get("images", {})
    if set(images) != set(spec.cameras):
        return f"cameras {sorted(images)}, expected {sorted(spec.cameras)}"
    for cam, img in images.items():
        if img.dtype != np.uint8 or img.shape != spec.image_shape:
            return f"image {cam} {img.dtype} {img.shape}, expected uint8 {spec.image_shape}"
    return ""


class DivergenceError(RuntimeError):
    """A non-finite loss or weight: training stops, the last good checkpoint stays."""


@dataclass
class LogCodec:
    """How transitions become write-ahead-log records and back (the link's wire format)."""

    encode: Callable[[Transition], bytes]
    decode: Callable[[bytes], Transition]


@dataclass
class LearnerLink:
    """Link-specific learner settings (the learning settings are the TrainConfig's)."""

    log_codec: LogCodec | None = None  # None: no write-ahead log (actor in this process)
    fsync: bool = False  # fsync the log before each ack (survives power loss, slower)
    max_out_of_order: int = 10_000  # early transitions held per actor
    stored_log: str = ""  # append "actor_id seq crc32" per stored transition ("" = off)
    device: str = "cpu"  # torch device of the agent


class LearnerCore:
    """The learner; see the module docstring. ``action_dim`` is the env's action size."""

    def __init__(
        self,
        cfg: TrainConfig,
        spec: ObsSpec,
        action_dim: int,
        run_dir: str | Path,
        link: LearnerLink | None = None,
    ) -> None:
        self.cfg, self.spec, self.action_dim = cfg, spec, action_dim
        self.link = link if link is not None else LearnerLink()
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.agent = SACAgent(cfg.sac, spec, action_dim, self.link.device)
        rep = cfg.sac.replay
        self.online = ReplayBuffer(rep.capacity_frames, spec, action_dim)
        self.demo = ReplayBuffer(rep.demo_capacity_frames, spec, action_dim)
        self.intake: TransitionIntake[Transition] = TransitionIntake(self.link.max_out_of_order)
        self.env_steps = 0  # distinct (actor, episode, step) stored, over all runs
        self._last_step: dict[str, tuple[int, int]] = {}
        self.episodes: dict[str, int] = {}  # per actor: 1 + the highest episode id stored
        self.version = self._read_version_file()  # last weight version published
        self._updates_at_publish = -1
        self.rejected = 0
        self.replayed = 0  # transitions recovered from the log at start
        self.since_checkpoint = 0
        self.update_time_s = 0.0
        self.last_metrics: dict[str, float] = {}
        self.restored: dict[str, Any] | None = None  # state.json of the resumed checkpoint
        self._stored_log = open(self.link.stored_log, "a") if self.link.stored_log else None  # noqa: SIM115
        self.init_from: str | None = None  # the pre-trained run this one started from
        wal_from = self._restore()
        if self.restored is None and cfg.init_from is not None:
            self._deploy(cfg.init_from)
        self.sampler = MixedSampler.for_agent(
            self.online, self.demo, cfg.sac, cfg.seed + (1 if self.restored else 0)
        )
        self.wal: WriteAheadLog | None = None
        if self.link.log_codec is not None:
            self.wal = WriteAheadLog(self.dir / "wal", self.link.fsync)
            for payload in self.wal.replay(wal_from):
                t = self.link.log_codec.decode(payload)
                for ready in self.intake.receive(t.actor_id, t.seq, t):
                    self._store(ready, log=False)
                    self.replayed += 1

    # ------------------------------------------------------------------ resume
    def _restore(self) -> int:
        """Load the newest checkpoint if there is one; returns the first log segment."""
        found = checkpoint.load(self.dir)
        if found is None:
            return 1
        if found.online.spec != self.spec or found.online.action_dim != self.action_dim:
            raise ValueError(
                f"{found.path}: replay spec {found.online.spec} / action {found.online.action_dim}"
                f" != configured {self.spec} / {self.action_dim}"
            )
        self.agent.load_state_dict(found.agent_state)
        self.online = found.online
        if found.demo is not None:
            self.demo = found.demo
        s = found.state
        self.intake.highest = {k: int(v) for k, v in s.get("highest", {}).items()}
        self.episodes = {k: int(v) for k, v in s.get("episodes_by_actor", {}).items()}
        self.env_steps = int(s["env_steps"])
        self.version = max(self.version, int(s.get("version", 0)))
        self.update_time_s = float(s.get("update_time_s", 0.0))
        self.restored = s
        self.init_from = s.get("init_from")  # a resumed run never re-applies init_from
        _log.info("learner: resumed %s at env step %d", found.path, self.env_steps)
        return int(s.get("wal_segment", 1))

    def _deploy(self, prior_dir: str) -> None:
        """Start from a pre-trained run (TwinRL deployment): its agent (networks, optimisers,
        temperature, state statistics), with the update count reset so that the replay ratio
        counts this run's env steps; its online replay goes into the demo buffer as prior
        data, which RLPD's 50/50 batches then mix with this cell's own online data (in the
        online buffer it would drown the first real transitions). Raises ConfigError."""
        checkpoint.check_prior(prior_dir, self.spec, self.action_dim)
        found = checkpoint.load(prior_dir)
        assert found is not None
        try:
            self.agent.load_state_dict(found.agent_state)
        except (KeyError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise ConfigError(
                f"init_from: {prior_dir}: agent does not fit this config ({first})"
            ) from None
        self.agent.num_updates = self.agent.policy_version = 0
        try:
            prior = self.demo.extend(found.online)
        except ValueError as exc:
            raise ConfigError(f"init_from: {prior_dir}: prior replay: {exc}") from None
        self.init_from = str(prior_dir)
        _log.info("learner: deployed from %s (%d prior transitions)", found.path, prior)

    def _read_version_file(self) -> int:
        path = self.dir / "weights_version"
        return int(path.read_text()) if path.exists() else 0

    def _write_version_file(self) -> None:
        tmp = self.dir / "weights_version.tmp"
        tmp.write_text(str(self.version))
        tmp.replace(self.dir / "weights_version")

    # ------------------------------------------------------------------ data in
    def load_demos(self, store: EpisodeStore) -> int:
        """Fill the demo buffer from a zarr store; returns the number of transitions.
        RLIF runs have no task reward, so their demos' recorded rewards become 0."""
        return fill_replay(store, self.demo, reward=0.0 if self.cfg.hil == "rlif" else None)

    def receive(self, t: Transition) -> int:
        """Take a transition; returns how many became storable (logged and stored)."""
        ready = self.intake.receive(t.actor_id, t.seq, t)
        for r in ready:
            if self.wal is not None and self.link.log_codec is not None:
                self.wal.append(self.link.log_codec.encode(r))
            self._store(r, log=True)
        return len(ready)

    def _store(self, t: Transition, log: bool) -> None:
        problem = self._check(t)
        if problem:
            self.rejected += 1  # acked anyway: resending a malformed transition cannot help
            _log.warning("learner: rejected %s seq %d: %s", t.actor_id, t.seq, problem)
            return
        buffer = self.demo if t.buffer == "demo" else self.online
        buffer.add(t.obs, t.action, t.reward, t.next_obs, t.terminated, t.truncated, t.intervened)
        key = (t.episode_id, t.step)
        self.episodes[t.actor_id] = max(self.episodes.get(t.actor_id, 0), t.episode_id + 1)
        if self._last_step.get(t.actor_id) != key:
            self._last_step[t.actor_id] = key
            self.env_steps += 1
        self.since_checkpoint += 1
        if log and self._stored_log is not None:
            self._stored_log.write(f"{t.actor_id} {t.seq} {transition_crc(t)}\n")

    def _check(self, t: Transition) -> str:
        """'' if ``t`` fits this learner, else why not (malformed input from any link)."""
        for name, obs in (("obs", t.obs), ("next_obs", t.next_obs)):
            problem = obs_problem(obs, self.spec)
            if problem:
                return f"{name}: {problem}"
        if t.action.shape != (self.action_dim,) or not np.isfinite(t.action).all():
            return f"action shape {t.action.shape} (expected ({self.action_dim},)) or non-finite"
        if not math.isfinite(t.reward):
            return "non-finite reward"
        if t.buffer not in ("online", "demo"):
            return f"unknown buffer {t.buffer!r}"
        return ""

    def flush(self) -> None:
        """Make everything received durable (call before acknowledging)."""
        if self.wal is not None:
            self.wal.flush()
        if self._stored_log is not None:
            self._stored_log.flush()

    @property
    def acks(self) -> dict[str, int]:
        """Highest contiguous seq stored, per actor (flush first)."""
        return dict(self.intake.highest)

    # ------------------------------------------------------------------ learning
    def due_updates(self) -> int:
        """Updates the replay ratio owes for the env steps after the random warm-up."""
        stored = self.online.num_transitions + self.demo.num_transitions
        if stored < self.cfg.sac.batch_size:
            return 0
        learning_steps = max(self.env_steps - self.cfg.random_steps, 0)
        return updates_due(learning_steps, self.agent.num_updates, self.cfg.sac.replay_ratio)

    def train(self, max_updates: int | None = None) -> int:
        """Run the updates owed (at most ``max_updates``); returns how many ran. Raises
        `DivergenceError` on a non-finite loss."""
        due = self.due_updates()
        if max_updates is not None:
            due = min(due, max_updates)
        if due and self.agent.num_updates == 0 and self.init_from is None:
            # Statistics are fixed once, from everything stored before the first update
            # (demos + warm-up); they are saved with the weights, so resuming keeps them.
            # A deployed run keeps the pre-trained run's: its networks were fitted to them.
            self.agent.set_state_stats(self.sampler.stored_states())
        t0 = time.perf_counter()
        for _ in range(due):
            metrics = self.agent.update(self.sampler.sample(self.cfg.sac.batch_size))
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            if bad:
                raise DivergenceError(
                    f"non-finite {bad[0]} ({metrics[bad[0]]}) at update {self.agent.num_updates}"
                )
            self.last_metrics = metrics
        self.update_time_s += time.perf_counter() - t0
        return due

    def check_weights(self) -> None:
        """Raise `DivergenceError` naming the first non-finite weight."""
        name = self.agent.first_non_finite_weight()
        if name is not None:
            raise DivergenceError(f"non-finite weight {name} at update {self.agent.num_updates}")

    def publish(self, force: bool = False) -> tuple[int, dict[str, Any]] | None:
        """A new weight version (trainable part only) when ``weights_every_updates`` passed
        since the last one, or ``force``; None otherwise. Versions persist across restarts."""
        n = self.agent.num_updates
        if not force and n - self._updates_at_publish < self.cfg.weights_every_updates:
            return None
        self.check_weights()
        self.version += 1
        self._updates_at_publish = n
        self._write_version_file()
        state = self.agent.trainable_state()
        state["policy_version"] = self.version
        state["updates"] = n  # what the weights learned from (an actor may wait for it)
        return self.version, state

    @property
    def updates_per_s(self) -> float:
        return self.agent.num_updates / max(self.update_time_s, 1e-9)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self, extra: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint of everything stored so far and trim the log. ``extra`` goes
        into state.json (the driver's bookkeeping: episodes, evaluation history)."""
        self.check_weights()  # never overwrite the last good checkpoint with NaNs
        self.flush()
        segment = self.wal.rotate() if self.wal is not None else 1
        state = {
            "highest": self.acks,
            "env_steps": self.env_steps,
            "version": self.version,
            "num_updates": self.agent.num_updates,
            "online_transitions": self.online.num_transitions,
            "update_time_s": self.update_time_s,
            "wal_segment": segment,
            "episodes_by_actor": self.episodes,
            "obs_spec": self.spec._asdict(),
            "action_dim": self.action_dim,
            "init_from": self.init_from,
            **(extra or {}),
        }
        path = checkpoint.save(
            self.dir, self.agent.state_dict(), self.online, self.demo, state, to_dict(self.cfg)
        )
        if self.wal is not None:
            self.wal.drop_before(segment)
        self.since_checkpoint = 0
        return path

    def status(self) -> dict[str, object]:
        """Counters for diagnostics, progress and the GUI."""
        values: dict[str, object] = {
            "stored": self.env_steps,
            "replayed_from_log": self.replayed,
            "duplicates": self.intake.duplicates,
            "rejected": self.rejected,
            "updates": self.agent.num_updates,
            "updates_per_s": round(self.updates_per_s, 2),
            "weights_version": self.version,
            "replay_transitions": self.online.num_transitions,
            "demo_transitions": self.demo.num_transitions,
        }
        for actor, highest in self.intake.highest.items():
            values[f"acked/{actor}"] = highest
            values[f"early/{actor}"] = self.intake.pending(actor)
        return values

    def close(self, extra: dict[str, Any] | None = None) -> None:
        """Checkpoint what is new and close the log."""
        if self.since_checkpoint:
            self.checkpoint(extra)
        if self.wal is not None:
            self.wal.close()
        if self._stored_log is not None:
            self._stored_log.close()
