"""Success hold and human confirmation around any reward source.

A single frame that looks like success is not enough to end an episode: a classifier
flickers, a VLM is noisy. `SuccessHold` declares success only after ``hold_frames``
consecutive per-frame successes and, when a confirmer is given, only once a human agrees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from robot_rl.rewards.frames import Frames
from robot_rl.rewards.source import RewardOutput, RewardSource

# Asked on every step while the hold is met: True confirms success, False rejects it, None
# means "not answered yet" (asked again next step). It must not block: a GUI button or a
# teleop key sets a flag that the confirmer returns.
Confirmer = Callable[[Frames, RewardOutput], bool | None]


@dataclass(frozen=True)
class HoldConfig:
    """When a source's per-frame successes become an episode success."""

    hold_frames: int = 3  # consecutive per-frame successes needed (k >= 1)
    success_reward: float = 1.0  # reward of the step at which success is declared
    # Reward of every other step: "zero" (sparse, SERL style) or the source's own reward.
    other_reward: Literal["zero", "source"] = "zero"
    reject_cooldown_frames: int = 5  # after a human rejection, ignore successes this long


class SuccessHold:
    """A RewardSource whose ``success`` means held (and confirmed) success."""

    def __init__(
        self,
        source: RewardSource,
        cfg: HoldConfig | None = None,
        confirm: Confirmer | None = None,
    ) -> None:
        self.cfg = cfg if cfg is not None else HoldConfig()
        if self.cfg.hold_frames < 1:
            raise ValueError(f"hold_frames must be >= 1, got {self.cfg.hold_frames}")
        self.source = source
        self.confirm = confirm
        self.streak = 0  # consecutive per-frame successes so far
        self.cooldown = 0  # frames left in which successes are ignored
        self.rejections = 0  # human rejections this episode

    @property
    def name(self) -> str:
        return f"{self.source.name}+hold{self.cfg.hold_frames}"

    @property
    def cameras(self) -> tuple[str, ...]:
        return self.source.cameras

    def reset(self) -> None:
        self.source.reset()
        self.streak = 0
        self.cooldown = 0
        self.rejections = 0

    def __call__(self, frames: Frames) -> RewardOutput:
        t0 = time.perf_counter()
        out = self.source(frames)
        if self.cooldown > 0:
            self.cooldown -= 1
            self.streak = 0
        else:
            self.streak = self.streak + 1 if out.success else 0
        done = self.streak >= self.cfg.hold_frames
        if done and self.confirm is not None:
            answer = self.confirm(frames, out)
            if answer is False:
                self.rejections += 1
                self.cooldown = self.cfg.reject_cooldown_frames
                self.streak = 0
            done = answer is True
        if done:
            reward = self.cfg.success_reward
        else:
            reward = out.reward if self.cfg.other_reward == "source" else 0.0
        return RewardOutput(
            reward=float(reward),
            success_prob=out.success_prob,
            success=done,
            latency_ms=(time.perf_counter() - t0) * 1e3,
            source=self.name,
        )
