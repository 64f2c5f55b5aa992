"""The reward-source interface the actor (or the training loop) calls once per step.

The loop::

    reward_fn = SuccessHold(ClassifierReward.load("runs/reward/pick_cube"), HoldConfig(3))
    reward_fn.reset()                         # at every episode start
    out = reward_fn(obs["images"])            # every 10 Hz step; blocks ~out.latency_ms
    reward, terminated = out.reward, out.success

Sources never see privileged state: only camera frames (and, for RLIF, the intervention
flag they are handed). Every call is timed, so latency is visible per step.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from robot_rl.rewards.frames import Frames, check_frames

# ``RewardEstimate.source`` of the twin node's estimate for a step in which its physics blew
# up and was reset (the bus env reports it as ``info["sim_blowup"]``); otherwise "twin".
TWIN_BLOWUP_SOURCE = "twin: physics blowup"


@dataclass(frozen=True)
class RewardOutput:
    """One reward estimate for one observation."""

    reward: float  # reward for this step, in the source's scale
    success_prob: float  # P(success) in [0, 1]; NaN when the source gives none
    success: bool  # the source's success decision for this step
    latency_ms: float  # wall-clock time spent computing this estimate, milliseconds
    source: str  # name of the source that produced it


@dataclass(frozen=True)
class BatchScores:
    """Scores of a batch of B observations (for relabelling and evaluation)."""

    reward: np.ndarray  # (B,) float32
    success_prob: np.ndarray  # (B,) float32 in [0, 1], NaN where the source gives none


@runtime_checkable
class RewardSource(Protocol):
    """Camera frames -> reward, success probability and latency, one observation per call."""

    @property
    def name(self) -> str:
        """Short name, published as RewardEstimate.source."""
        ...

    @property
    def cameras(self) -> tuple[str, ...]:
        """Cameras the source reads (may be empty)."""
        ...

    def reset(self) -> None:
        """Forget per-episode state; call at every episode start."""
        ...

    def __call__(self, frames: Frames) -> RewardOutput:
        """Estimate the reward of one observation (camera -> uint8 (H, W, 3)). Blocks."""
        ...


class BatchedRewardSource(ABC):
    """A stateless source defined by a batched scorer; ``__call__`` scores a batch of one.

    Subclasses set ``name``, ``cameras``, ``image_shape`` (None: any size) and ``threshold``
    (success when success_prob >= threshold; None: no decision), and define score_batch;
    they may override ``decide``.
    """

    name: str = "batched"
    cameras: tuple[str, ...] = ()
    image_shape: tuple[int, int, int] | None = None
    threshold: float | None = None

    def reset(self) -> None:  # noqa: B027 - stateless by default
        """Stateless: nothing to forget."""

    @abstractmethod
    def score_batch(self, frames: Frames) -> BatchScores:
        """Score (B, H, W, 3) uint8 frames per camera. Blocks; no per-frame Python loop."""

    def decide(self, reward: float, success_prob: float) -> bool:
        """Per-frame success decision: success_prob >= threshold."""
        thr = self.threshold
        return thr is not None and not math.isnan(success_prob) and success_prob >= thr

    def __call__(self, frames: Frames) -> RewardOutput:
        t0 = time.perf_counter()
        check_frames(frames, self.cameras, self.image_shape)
        scores = self.score_batch({c: frames[c][None] for c in self.cameras})
        reward, prob = float(scores.reward[0]), float(scores.success_prob[0])
        return RewardOutput(
            reward=reward,
            success_prob=prob,
            success=bool(self.decide(reward, prob)),
            latency_ms=(time.perf_counter() - t0) * 1e3,
            source=self.name,
        )
