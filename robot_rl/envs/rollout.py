"""Running a policy (learned or scripted) for whole episodes of a twin env."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot_rl.envs.twin_env import TwinEnv

Policy = Callable[[dict[str, Any]], np.ndarray]


@dataclass
class EpisodeResult:
    success: bool
    steps: int
    ret: float
    # Camera frames (name -> list of uint8 HxWx3) when recorded.
    frames: dict[str, list[np.ndarray]] = field(default_factory=dict)


def run_episode(env: TwinEnv, policy: Policy, seed: int, record: bool = False) -> EpisodeResult:
    """One episode from ``env.reset(seed=seed)`` until terminated or truncated. A policy with
    a ``reset()`` method has it called after the env reset."""
    obs, _ = env.reset(seed=seed)
    reset = getattr(policy, "reset", None)
    if reset is not None:
        reset()
    frames: dict[str, list[np.ndarray]] = {}
    ret, steps, done, info = 0.0, 0, False, {"success": False}

    def keep(o: dict[str, Any]) -> None:
        for name, img in o.get("images", {}).items():
            frames.setdefault(name, []).append(img)

    if record:
        keep(obs)
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        ret += reward
        steps += 1
        done = terminated or truncated
        if record:
            keep(obs)
    return EpisodeResult(bool(info["success"]), steps, ret, frames)


class ExpertPolicy:
    """The task's scripted expert (privileged state) as a policy."""

    def __init__(self, env: TwinEnv) -> None:
        self.env = env
        self.expert = env.expert()

    def reset(self) -> None:
        self.expert.reset()

    def __call__(self, _obs: dict[str, Any]) -> np.ndarray:
        return self.expert.act(self.env.cell)
