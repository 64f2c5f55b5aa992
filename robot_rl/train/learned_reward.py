"""The twin env with the reward a real cell has: a reward source on the camera images.

Reward and termination come from the source (a trained success classifier, held for k
frames), never from the twin's privileged predicate. ``info["success"]`` stays the
privileged predicate, for logging and evaluation only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.rewards.classifier_reward import ClassifierReward, ClassifierRewardConfig
from robot_rl.rewards.frames import CameraMismatchError
from robot_rl.rewards.hold import HoldConfig, SuccessHold
from robot_rl.rewards.source import RewardSource

PREFLIGHT_SEED = 20_000_000  # disjoint from training (0...) and evaluation (10_000_000...)


class LearnedRewardEnv(TwinEnv):
    def __init__(self, cfg: EnvConfig, source: RewardSource) -> None:
        if cfg.obs != "pixels":
            raise ValueError("a learned reward reads the cameras: it needs obs='pixels'")
        super().__init__(cfg)
        self.source = source

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        self.source.reset()
        return obs, info

    def _outcome(
        self, obs: dict[str, Any], success: bool, info: dict[str, Any]
    ) -> tuple[float, bool]:
        out = self.source(obs["images"])
        info["learned_reward"] = out
        return out.reward, out.success


@dataclass(frozen=True)
class FireStats:
    """How a learned reward behaves on random-action episodes (a policy's first visitor)."""

    episodes: int
    fired: int  # episodes the source ended with a success
    privileged: int  # of those, episodes the twin's predicate also called a success
    mean_steps_to_fire: float  # over fired episodes (NaN when none fired)

    @property
    def false_fires(self) -> int:
        return self.fired - self.privileged

    @property
    def false_fire_rate(self) -> float:
        return self.false_fires / max(self.episodes, 1)


def random_action_fires(env: LearnedRewardEnv, episodes: int, seed: int = 0) -> FireStats:
    """Run uniform-random actions for ``episodes`` episodes and count the source's successes.

    Random actions almost never solve a twin task, so nearly every fire is a false positive
    that a learning policy will find and exploit. Held-out accuracy on expert-like frames
    does not show this (docs/rewards.md, twin labels).
    """
    if episodes <= 0:
        raise ValueError(f"episodes must be > 0, got {episodes}")
    rng = np.random.default_rng(seed)
    fired = privileged = 0
    steps_to_fire: list[int] = []
    for ep in range(episodes):
        env.reset(seed=seed + ep)
        terminated = truncated = False
        info: dict[str, Any] = {}
        while not (terminated or truncated):
            action = rng.uniform(-1.0, 1.0, env.action_space.shape).astype(np.float32)
            _, _, terminated, truncated, info = env.step(action)
        if terminated:
            fired += 1
            privileged += bool(info["success"])
            steps_to_fire.append(env.steps)
    mean = float(np.mean(steps_to_fire)) if steps_to_fire else float("nan")
    return FireStats(episodes, fired, privileged, mean)


def reward_preflight(env: LearnedRewardEnv, episodes: int, out: Path) -> str | None:
    """Random-action episodes through the learned reward before training: the figures go
    to ``out`` (JSON), and a warning comes back when the source fired on a failure."""
    stats = random_action_fires(env, episodes, seed=PREFLIGHT_SEED)
    out.write_text(json.dumps({**asdict(stats), "false_fire_rate": stats.false_fire_rate}))
    if stats.false_fires == 0:
        return None
    return (
        f"warning: the reward model called {stats.false_fires} of {episodes} random-action "
        "episodes a success that the twin's predicate calls a failure (after "
        f"{stats.mean_steps_to_fire:.0f} steps on average). A policy will learn to provoke "
        "it; retrain it with more varied negatives (docs/rewards.md, twin labels)."
    )


def classifier_source(
    model_dir: str,
    cameras: tuple[str, ...],
    hold_frames: int,
    camera_views: Mapping[str, list[float]] | None = None,
) -> SuccessHold:
    """A `robot-rl train-reward` model, sparse 1 once it has fired ``hold_frames`` in a row.
    It may read a subset of the env's ``cameras`` (e.g. the wrist camera alone). With the
    env's ``camera_views`` (`camera_views` of its calibration), a model whose frames recorded
    other pinholes (a crop, another lens or image size) is refused."""
    model = ClassifierReward.load(ClassifierRewardConfig(model_dir=model_dir))
    missing = sorted(set(model.cameras) - set(cameras))
    if missing:
        raise CameraMismatchError(
            f"the reward model reads cameras {list(model.cameras)}; the env has no {missing}"
        )
    trained = model.camera_views or {}
    for cam in model.cameras:
        want, have = trained.get(cam), (camera_views or {}).get(cam)
        if want is not None and have is not None and not np.allclose(want, have, rtol=1e-3):
            raise CameraMismatchError(
                f"the reward model was trained on {cam} frames with pinhole fx fy cx cy = "
                f"{want}, this env's {cam} has {have}: another cell calibration (crop, lens "
                "or image size); retrain it on this cell's frames"
            )
    return SuccessHold(model, HoldConfig(hold_frames=hold_frames))
