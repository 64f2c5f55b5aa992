"""The twin env with the reward a real cell has: a reward source on the camera images.

Reward and termination come from the source (a trained success classifier, held for k
frames), never from the twin's privileged predicate. ``info["success"]`` stays the
privileged predicate, for logging and evaluation only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.rewards.classifier_reward import ClassifierReward, ClassifierRewardConfig
from robot_rl.rewards.hold import HoldConfig, SuccessHold
from robot_rl.rewards.source import RewardSource


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

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        obs, _, _, _, info = super().step(action)
        out = self.source(obs["images"])
        info["learned_reward"] = out
        terminated = out.success
        truncated = not terminated and self.steps >= self.task.cfg.episode_steps
        return obs, out.reward, terminated, truncated, info


def classifier_source(model_dir: str, cameras: tuple[str, ...], hold_frames: int) -> SuccessHold:
    """A `robot-rl train-reward` model, sparse 1 once it has fired ``hold_frames`` in a row."""
    model = ClassifierReward.load(ClassifierRewardConfig(model_dir=model_dir, cameras=cameras))
    return SuccessHold(model, HoldConfig(hold_frames=hold_frames))
