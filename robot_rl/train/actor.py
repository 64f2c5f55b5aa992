"""The actor: steps an env with the newest policy weights it has. It never waits for the
learner (weights arrive when they arrive), and it numbers every transition it emits.

With a human-in-the-loop session (a device or the simulated operator), each step is
arbitrated and routed: one env step then yields 0, 1 or 2 transitions, each naming its buffer
(robot_rl/hil/routing.py), so transitions carry the actor's env-step count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from robot_rl.agents.sac import SACAgent
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.session import HilSession
from robot_rl.hil.sim_operator import SimulatedOperator


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
    env_steps: int  # the actor's env steps when this transition was made
    buffer: Literal["online", "demo"] = "online"


@dataclass
class EpisodeStats:
    index: int
    steps: int
    ret: float
    success: bool
    interventions: int = 0  # human/operator takeovers in the episode
    intervention_steps: int = 0  # steps the human/operator was in control


class Actor:
    """Runs ``env`` with a local inference copy of the policy."""

    def __init__(
        self,
        env: TwinEnv,
        policy: SACAgent,
        seed: int,
        random_steps: int,
        hil: tuple[HilSession, SimulatedOperator] | None = None,
    ) -> None:
        self.env = env
        self.hil = hil
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

    def step(self) -> list[TransitionRecord]:
        """One env step (resetting first when needed); returns its numbered transitions."""
        if self._obs is None:
            # Seeds follow the episode index, so a resumed run continues the same sequence.
            self._obs, _ = self.env.reset(seed=self.seed * 1_000_003 + self.episodes)
            self._ret = 0.0
            if self.hil is not None:
                self.hil[0].reset()
                self.hil[1].reset()
        obs = self._obs
        if self.env_steps < self.random_steps:
            action = self.rng.uniform(-1.0, 1.0, self.env.action_space.shape).astype(np.float32)
        else:
            action = self.policy.act(obs, deterministic=False)
        decision = None
        if self.hil is not None:
            session, operator = self.hil
            now_s = float(self.env.cell.data.time)
            decision = session.act(obs, action, operator.command(action, now_s), now_s)
            action = np.asarray(decision.action, dtype=np.float32)
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        self.env_steps += 1
        self._ret += reward
        if self.hil is not None and decision is not None:
            routed = [
                (
                    r.buffer,
                    r.obs,
                    r.action,
                    r.reward,
                    r.next_obs,
                    r.terminated,
                    r.truncated,
                    r.intervened,
                )
                for r in self.hil[0].route(obs, decision, reward, next_obs, terminated, truncated)
            ]
        else:
            routed = [("online", obs, action, reward, next_obs, terminated, truncated, False)]
        records = []
        for buffer, o, a, r, n, term, trunc, intervened in routed:
            self.seq += 1
            records.append(
                TransitionRecord(
                    self.seq,
                    dict(o),
                    np.asarray(a, np.float32),
                    float(r),
                    dict(n),
                    bool(term),
                    bool(trunc),
                    bool(intervened),
                    self.policy_version,
                    self.env_steps,
                    buffer,
                )
            )
        if terminated or truncated:
            stats = self.hil[0].end_episode() if self.hil is not None else {}
            self.finished.append(
                EpisodeStats(
                    self.episodes,
                    self.env.steps,
                    self._ret,
                    bool(info["success"]),
                    int(stats.get("hil/interventions", 0)),
                    int(stats.get("hil/human_steps", 0)),
                )
            )
            self.episodes += 1
            self._obs = None
        else:
            self._obs = next_obs
        return records
