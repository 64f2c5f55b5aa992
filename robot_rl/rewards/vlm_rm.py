"""Zero-shot VLM reward (VLM-RM): CLIP similarity to a goal prompt, projected onto the
direction from a baseline prompt to the goal.

With unit image embedding x, goal g and baseline b (unit text embeddings),
d = (g - b) / |g - b| and P = alpha * d d^T + (1 - alpha) * I::

    reward(x) = 1 - 0.5 * |P (x - g)|^2

alpha = 0 is plain goal similarity (1 - 0.5 |x - g|^2 = cos(x, g)); alpha = 1 keeps only the
component along baseline -> goal, discarding what the two prompts share (the scene).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from robot_rl.rewards.clip import ClipConfig, ClipEmbedder
from robot_rl.rewards.frames import Frames, check_frames
from robot_rl.rewards.source import BatchedRewardSource, BatchScores


@dataclass(frozen=True)
class VlmRmConfig:
    """A VLM-RM reward: model, prompts, projection strength, cameras."""

    model_dir: str  # local CLIP/SigLIP directory (docs/rewards.md)
    goal_prompt: str = "a robot gripper holding a red cube high above the table"
    baseline_prompt: str = "a robot arm and a red cube on a table"
    alpha: float = 0.5  # baseline projection strength in [0, 1]
    cameras: tuple[str, ...] = ("front",)  # rewards are averaged over these cameras
    success_threshold: float | None = None  # reward >= this counts as success; None: never
    device: str = "cpu"  # torch device
    batch_size: int = 32  # images per forward pass


def projection(goal: torch.Tensor, baseline: torch.Tensor, alpha: float) -> torch.Tensor:
    """(D, D) matrix alpha * d d^T + (1 - alpha) * I with d the unit baseline -> goal vector."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    d = goal - baseline
    norm = torch.linalg.vector_norm(d)
    if float(norm) < 1e-8:
        raise ValueError("goal and baseline prompts embed to the same vector")
    d = d / norm
    eye = torch.eye(d.shape[0], dtype=d.dtype)
    return alpha * torch.outer(d, d) + (1.0 - alpha) * eye


def vlm_rm_reward(image_emb: torch.Tensor, goal: torch.Tensor, proj: torch.Tensor) -> torch.Tensor:
    """(B, D) unit image embeddings -> (B,) rewards 1 - 0.5 |P (x - g)|^2."""
    diff = (image_emb - goal.unsqueeze(0)) @ proj.T
    return 1.0 - 0.5 * diff.pow(2).sum(-1)


class VlmRmReward(BatchedRewardSource):
    """RewardSource: zero-shot VLM-RM reward. success_prob is NaN (the score is no
    probability); ``success`` follows ``success_threshold`` when one is set."""

    name = "vlm_rm"

    def __init__(self, cfg: VlmRmConfig, embedder: ClipEmbedder | None = None) -> None:
        self.cfg = cfg
        self.embedder = embedder or ClipEmbedder(
            ClipConfig(cfg.model_dir, cfg.device, cfg.batch_size)
        )
        texts = self.embedder.embed_texts([cfg.goal_prompt, cfg.baseline_prompt])
        self.goal = texts[0]
        self.proj = projection(texts[0], texts[1], cfg.alpha)
        self.cameras = tuple(cfg.cameras)
        self.image_shape = None  # any size: the CLIP preprocessing resizes

    def rewards(self, frames: Frames) -> np.ndarray:
        """(B,) rewards of a batch of (B, H, W, 3) frames per camera, camera-averaged."""
        check_frames(frames, self.cameras, None, batched=True)
        per_cam = [
            vlm_rm_reward(self.embedder.embed_images(frames[c]), self.goal, self.proj)
            for c in self.cameras
        ]
        return torch.stack(per_cam).mean(0).numpy().astype(np.float32)

    def score_batch(self, frames: Frames) -> BatchScores:
        r = self.rewards(frames)
        return BatchScores(r, np.full_like(r, np.nan))

    def decide(self, reward: float, success_prob: float) -> bool:
        """Success when the reward reaches ``success_threshold`` (never without one)."""
        thr = self.cfg.success_threshold
        return thr is not None and reward >= thr
