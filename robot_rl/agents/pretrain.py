"""Self-supervised pretraining of the pixel backbone on twin frames.

Nothing can be downloaded here, so the learner's backbone is random unless we train one. The
objective is a denoising autoencoder: the backbone encodes an augmented view of a frame
(the reward classifier's small shift and photometric jitter), a transposed-convolution
decoder reconstructs the clean frame from the feature map, and the loss is the mean squared
error on normalised pixels. Reconstructing where things are keeps the spatial layout (the
cube, the fingers) in the feature map, which is what the learner's spatial heads read. The
decoder is thrown away; the backbone's ``state_dict`` is the file that
``EncoderConfig.weights_path`` loads into every camera.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from robot_rl.agents.config import EncoderConfig
from robot_rl.agents.encoders import PixelBackbone, pixels_to_float
from robot_rl.rewards.augment import AugmentConfig, augment


@dataclass(frozen=True)
class PretrainConfig:
    """How the backbone is pretrained."""

    steps: int = 2000  # gradient steps
    batch_size: int = 64  # frames per step (drawn with replacement, all cameras pooled)
    learning_rate: float = 1e-3  # Adam step size for backbone and decoder
    seed: int = 0


def backbone_stride(enc: EncoderConfig) -> int:
    """Input pixels per feature-map cell: the stem's 4, then 2 per stage after the first."""
    return 4 * 2 ** (len(enc.stage_widths) - 1)


class Decoder(nn.Module):
    """Feature map (B, C, H/s, W/s) -> normalised image (B, 3, H, W) for a stride s = 2^k."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = channels
        for _ in range(int(math.log2(stride))):
            out = max(width // 2, 16)
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1), nn.ReLU()]
            width = out
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@dataclass
class PretrainResult:
    backbone: PixelBackbone
    losses: list[float]  # per step
    reconstructions: np.ndarray  # (2 * H, n * W, 3) uint8: frames above, reconstructions below


def pretrain_backbone(
    frames: np.ndarray,
    enc: EncoderConfig,
    cfg: PretrainConfig,
    on_step: Callable[[int, float], None] | None = None,
) -> PretrainResult:
    """Pretrain a backbone of ``enc``'s shape on uint8 ``frames`` (N, H, W, 3); H and W must
    be multiples of the backbone's stride. ``on_step(step, loss)`` reports progress."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"need uint8 frames (N, H, W, 3), got {frames.dtype} {frames.shape}")
    stride = backbone_stride(enc)
    h, w = frames.shape[1:3]
    if h % stride or w % stride:
        raise ValueError(f"frames of {h}x{w} px: height and width must be multiples of {stride}")
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise ValueError(f"need steps and batch_size >= 1, got {cfg.steps}, {cfg.batch_size}")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    backbone = PixelBackbone(enc)
    decoder = Decoder(backbone.resnet.out_channels, stride)
    params = [*backbone.parameters(), *decoder.parameters()]
    opt = torch.optim.Adam(params, lr=cfg.learning_rate)
    jitter = AugmentConfig()
    data = torch.from_numpy(frames)

    def target(x: Tensor) -> Tensor:
        return (pixels_to_float(x, "pretrain") - backbone.mean) / backbone.std

    losses: list[float] = []
    for step in range(cfg.steps):
        batch = data[torch.from_numpy(rng.integers(0, len(frames), cfg.batch_size))]
        recon = decoder(backbone(augment(batch, jitter, gen)))
        loss = torch.mean((recon - target(batch)) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    backbone.eval()
    show = data[torch.from_numpy(rng.choice(len(frames), min(8, len(frames)), replace=False))]
    with torch.no_grad():
        recon = decoder(backbone(show)) * backbone.std + backbone.mean
    images = (recon.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1)
    strip = np.concatenate(
        [np.concatenate(list(show.numpy()), axis=1), np.concatenate(list(images.numpy()), axis=1)]
    )
    return PretrainResult(backbone, losses, strip)
