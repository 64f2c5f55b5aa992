"""Intervention as reward (RLIF): a human taking over means the policy was doing badly.

The flag comes from the intervention arbiter (robot_rl/hil) through a probe callable, or is
set by the caller with `InterventionReward.set_intervening` before each call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from robot_rl.rewards.frames import Frames
from robot_rl.rewards.source import RewardOutput, RewardSource


@dataclass(frozen=True)
class InterventionRewardConfig:
    """RLIF reward shape."""

    penalty: float = -1.0  # reward of a penalised step
    onset_only: bool = True  # True: only the first step of each take-over (RLIF); else all


class InterventionReward:
    """RewardSource: ``penalty`` when an intervention starts, else 0 (plus ``base``'s reward).

    With a ``base`` source the success decision and probability are the base's; without
    one the source reads no camera and never declares success.
    """

    def __init__(
        self,
        intervening: Callable[[], bool] | None = None,
        cfg: InterventionRewardConfig | None = None,
        base: RewardSource | None = None,
    ) -> None:
        self.cfg = cfg if cfg is not None else InterventionRewardConfig()
        self.probe = intervening
        self.base = base
        self._flag = False
        self._was = False

    @property
    def name(self) -> str:
        return "intervention" if self.base is None else f"intervention+{self.base.name}"

    @property
    def cameras(self) -> tuple[str, ...]:
        return self.base.cameras if self.base is not None else ()

    def set_intervening(self, flag: bool) -> None:
        """Set the flag for the next call (used when no probe was given)."""
        self._flag = bool(flag)

    def reset(self) -> None:
        self._was = False
        self._flag = False
        if self.base is not None:
            self.base.reset()

    def __call__(self, frames: Frames) -> RewardOutput:
        t0 = time.perf_counter()
        now = bool(self.probe()) if self.probe is not None else self._flag
        penalised = now and (not self._was or not self.cfg.onset_only)
        self._was = now
        reward = self.cfg.penalty if penalised else 0.0
        prob, success = math.nan, False
        if self.base is not None:
            out = self.base(frames)
            reward += out.reward
            prob, success = out.success_prob, out.success
        return RewardOutput(
            reward=float(reward),
            success_prob=prob,
            success=success,
            latency_ms=(time.perf_counter() - t0) * 1e3,
            source=self.name,
        )
