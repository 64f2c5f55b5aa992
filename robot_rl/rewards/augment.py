"""Image augmentation for reward classifiers, on uint8 (B, H, W, 3) tensors.

Small shifts (the learner's DrQ random shift) and photometric jitter. Shifts stay small:
for a fixed camera the absolute image position of an object is itself a cue (a lifted
cube sits higher in the frame), and large shifts would erase it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from robot_rl.agents.augment import random_shift


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentation of reward-classifier frames."""

    shift_px: int = 2  # random shift of up to this many pixels per axis (replicate edges)
    brightness: float = 0.25  # multiplicative brightness jitter, +- fraction
    contrast: float = 0.25  # contrast jitter about the image mean, +- fraction
    saturation: float = 0.25  # saturation jitter about the grey image, +- fraction
    views: int = 4  # augmented views cached per frame when the encoder is frozen


def augment(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> augmented uint8 (B, H, W, 3), each image drawn independently."""
    x = random_shift(images, cfg.shift_px, gen)
    b = x.shape[0]
    if cfg.brightness == cfg.contrast == cfg.saturation == 0.0:
        return x

    def factor(amount: float) -> torch.Tensor:
        u = torch.rand((b, 1, 1, 1), generator=gen, device=gen.device).to(x.device)
        return 1.0 + (2.0 * u - 1.0) * amount

    f = x.float()
    grey = f.mean(dim=-1, keepdim=True)
    f = grey + (f - grey) * factor(cfg.saturation)
    mean = f.mean(dim=(1, 2, 3), keepdim=True)
    f = mean + (f - mean) * factor(cfg.contrast)
    f = f * factor(cfg.brightness)
    return f.round_().clamp_(0.0, 255.0).to(torch.uint8)
