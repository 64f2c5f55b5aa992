"""The learner: transitions in, gradient updates at a fixed replay ratio, versioned weights
out, atomic checkpoints with the replay. Resuming never loses a checkpointed transition."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from robot_rl.agents.config import updates_due
from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.replay_io import load_replay, save_replay
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.sampling import MixedSampler
from robot_rl.agents.types import ObsSpec
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.loader import fill_replay
from robot_rl.train import checkpoint
from robot_rl.train.actor import TransitionRecord
from robot_rl.train.config import TrainConfig, save_json

ACTION_DIM = 7


class Learner:
    def __init__(self, cfg: TrainConfig, spec: ObsSpec, run_dir: Path) -> None:
        self.cfg = cfg
        self.spec = spec
        self.run_dir = run_dir
        self.agent = SACAgent(cfg.sac, spec, action_dim=ACTION_DIM)
        rep = cfg.sac.replay
        self.online = ReplayBuffer(rep.capacity_frames, spec, ACTION_DIM)
        self.demo = ReplayBuffer(rep.demo_capacity_frames, spec, ACTION_DIM)
        self.sampler = self._sampler(cfg.seed)
        self.env_steps = 0  # the sending actor's env steps, as of its newest transition
        self.last_seq = 0  # highest sequence number received (acknowledged)
        self._published = -1
        self.update_time_s = 0.0
        self.last_metrics: dict[str, float] = {}

    def _sampler(self, seed: int) -> MixedSampler:
        return MixedSampler.for_agent(self.online, self.demo, self.cfg.sac, seed)

    # ------------------------------------------------------------------ data in
    def load_demos(self, store: EpisodeStore) -> int:
        """Fill the demo buffer from a zarr store; returns the number of transitions.
        RLIF runs have no task reward, so their demos' recorded rewards become 0."""
        before = self.demo.num_transitions
        fill_replay(store, self.demo, reward=0.0 if self.cfg.hil == "rlif" else None)
        return self.demo.num_transitions - before

    def ingest(self, records: list[TransitionRecord]) -> int:
        """Store transitions in order, each in the buffer it names; duplicates (seq <= last)
        are dropped, gaps raise. Returns the ack (highest contiguous seq stored)."""
        for r in records:
            if r.seq <= self.last_seq:
                continue
            if r.seq != self.last_seq + 1:
                raise RuntimeError(f"transition gap: got seq {r.seq} after {self.last_seq}")
            buffer = self.demo if r.buffer == "demo" else self.online
            buffer.add(
                r.obs, r.action, r.reward, r.next_obs, r.terminated, r.truncated, r.intervened
            )
            self.last_seq = r.seq
            self.env_steps = max(self.env_steps, r.env_steps)
        return self.last_seq

    # ------------------------------------------------------------------ learning
    def train(self) -> int:
        """Run the updates the replay ratio owes for the env steps so far (after the random
        warm-up); returns how many were run."""
        learning_steps = max(self.env_steps - self.cfg.random_steps, 0)
        if self.online.num_transitions + self.demo.num_transitions < self.cfg.sac.batch_size:
            return 0
        due = updates_due(learning_steps, self.agent.num_updates, self.cfg.sac.replay_ratio)
        if due and self.agent.num_updates == 0:
            # Statistics are fixed once, from everything stored before the first update
            # (demos + warm-up); they are saved with the weights, so resuming keeps them.
            self.agent.set_state_stats(self.sampler.stored_states())
        t0 = time.perf_counter()
        for _ in range(due):
            self.last_metrics = self.agent.update(self.sampler.sample(self.cfg.sac.batch_size))
        self.update_time_s += time.perf_counter() - t0
        return due

    def publish(self, force: bool = False) -> dict[str, Any] | None:
        """Trainable-only weights if ``weights_every_updates`` passed since the last ones."""
        n = self.agent.num_updates
        if not force and n - self._published < self.cfg.weights_every_updates:
            return None
        self._published = n
        return self.agent.trainable_state()

    # ------------------------------------------------------------------ persistence
    def save(self, extra: dict[str, Any]) -> Path:
        def write(folder: Path) -> None:
            torch.save(self.agent.state_dict(), folder / "agent.pt")
            save_replay(self.online, folder / "replay")
            save_json(self.cfg, folder / "config.json")

        state = {
            "env_steps": self.env_steps,
            "last_seq": self.last_seq,
            "num_updates": self.agent.num_updates,
            "online_transitions": self.online.num_transitions,
            "update_time_s": self.update_time_s,
            **extra,
        }
        return checkpoint.save(self.run_dir, write, state)

    def restore(self, folder: Path) -> dict[str, Any]:
        """Load a checkpoint folder; returns its state.json. Raises if the replay is short."""
        state = checkpoint.read_state(folder)
        self.agent.load_state_dict(torch.load(folder / "agent.pt", weights_only=True))
        self.online = load_replay(folder / "replay")
        if self.online.num_transitions != state["online_transitions"]:
            raise RuntimeError(
                f"{folder}: replay holds {self.online.num_transitions} transitions, "
                f"checkpoint says {state['online_transitions']}"
            )
        self.sampler = self._sampler(self.cfg.seed + 1)
        self.env_steps = int(state["env_steps"])
        self.last_seq = int(state["last_seq"])
        self.update_time_s = float(state["update_time_s"])
        self._published = -1
        return state
