"""The actor: steps an env with the newest policy weights it has. It never waits for the
learner (weights arrive when they arrive), and it numbers every transition it emits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.agents.sac import SACAgent
from robot_rl.envs.twin_env import TwinEnv


@dataclass(frozen=True)
class TransitionRecord:
    """One transition as it crosses the actor -> learner link."""

    seq: int  # 1, 2, 3, ... per actor; the learner acknowledges by sequence number
    obs: dict[str, Any]
    action: np.ndarray
    reward: float
    next_obs: dict[str, Any]
    terminated: bool
    truncated: bool
    intervened: bool
    policy_version: int


@dataclass
class EpisodeStats:
    index: int
    steps: int
    ret: float
    success: bool


class Actor:
    """Runs ``env`` with a local inference copy of the policy."""

    def __init__(self, env: TwinEnv, policy: SACAgent, seed: int, random_steps: int) -> None:
        self.env = env
        self.policy = policy
        self.seed = seed
        self.random_steps = random_steps
        self.rng = np.random.default_rng(seed + 17)
        self.policy_version = -1
        self.seq = 0
        self.env_steps = 0
        self.episodes = 0
        self.finished: list[EpisodeStats] = []
        self._obs: dict[str, Any] | None = None
        self._ret = 0.0

    def load_weights(self, weights: dict[str, Any]) -> None:
        """Take a newer weight version (older or equal versions are ignored)."""
        version = int(weights["policy_version"])
        if version > self.policy_version:
            self.policy.load_trainable_state(weights)
            self.policy_version = version

    def step(self) -> TransitionRecord:
        """One env step (resetting first when needed); returns the numbered transition."""
        if self._obs is None:
            # Seeds follow the episode index, so a resumed run continues the same sequence.
            self._obs, _ = self.env.reset(seed=self.seed * 1_000_003 + self.episodes)
            self._ret = 0.0
        obs = self._obs
        if self.env_steps < self.random_steps:
            action = self.rng.uniform(-1.0, 1.0, self.env.action_space.shape).astype(np.float32)
        else:
            action = self.policy.act(obs, deterministic=False)
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        self.env_steps += 1
        self.seq += 1
        self._ret += reward
        if terminated or truncated:
            self.finished.append(
                EpisodeStats(self.episodes, self.env.steps, self._ret, bool(info["success"]))
            )
            self.episodes += 1
            self._obs = None
        else:
            self._obs = next_obs
        return TransitionRecord(
            self.seq,
            obs,
            action,
            float(reward),
            next_obs,
            bool(terminated),
            bool(truncated),
            False,
            self.policy_version,
        )
