"""Feature extractors under reward heads: the learner's ResNet family or a CLIP model.

Both map uint8 frames per camera to per-camera features. A frozen extractor runs under
``torch.inference_mode`` so its features can be cached once per frame (and augmented
view) during training; a trainable one (``EncoderConfig.frozen = False``) gets gradients,
which are tested to reach its weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robot_rl.agents.config import EncoderConfig
from robot_rl.agents.encoders import PixelBackbones
from robot_rl.rewards.clip import ClipEmbedder
from robot_rl.rewards.errors import ModelDirError

Tensor = torch.Tensor


def reward_encoder_config(frozen: bool = False, **overrides: Any) -> EncoderConfig:
    """The success classifier's default encoder: the learner's ResNet family, cut short.

    Trained (``frozen=False``): three stages (8 x 8 maps at 128 px). Frozen: two stages
    (16 x 16 maps). A frozen encoder without pretrained weights is a random projection and
    needs the resolution: the cue that separates a lifted cube from one held 1 cm lower is
    a few pixels wide, and the 4 x 4 maps of the full ResNet-10 average it away.
    """
    widths = (32, 64) if frozen else (32, 64, 128)
    base = EncoderConfig(
        stage_widths=widths,
        stem_width=32,
        num_spatial_features=8,
        bottleneck_dim=128,
        frozen=frozen,
    )
    return dataclasses.replace(base, **overrides)


class ResNetFeatures(nn.Module):
    """Per-camera ResNet backbones (the learner's ``PixelBackbones``): uint8 -> feature maps."""

    def __init__(self, cameras: tuple[str, ...], cfg: EncoderConfig) -> None:
        super().__init__()
        self.cameras = cameras
        self.cfg = cfg
        self.nets = PixelBackbones(cameras, cfg)
        if cfg.weights_path:
            load_prefix_weights(self.nets, cfg.weights_path)
        self.frozen = cfg.frozen
        if self.frozen:
            self.nets.requires_grad_(False)

    def train(self, mode: bool = True) -> ResNetFeatures:
        super().train(mode)
        if self.frozen:
            self.nets.eval()  # a frozen backbone never switches to training behaviour
        return self

    def feature_shape(self, image_shape: tuple[int, int, int]) -> tuple[int, ...]:
        """Shape of one camera's feature map for (H, W, 3) frames."""
        probe = torch.zeros((1, *image_shape), dtype=torch.uint8)
        cam = self.cameras[0]
        with torch.inference_mode():
            return tuple(self.nets.per_camera[cam](probe, cam).shape[1:])

    def forward(self, images: Mapping[str, Tensor]) -> dict[str, Tensor]:
        if self.frozen:
            with torch.no_grad():  # not inference_mode: the head must backprop from these
                return self.nets(images)
        return self.nets(images)


def load_prefix_weights(nets: PixelBackbones, path: str | Path) -> None:
    """Load a ResNetBackbone state_dict (the learner's weights file) into every camera.

    The file may hold more stages than this backbone (a full ResNet-10 file initialises
    the two-stage reward encoder); every parameter of the backbone must be in it, with
    the same shape.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelDirError(f"encoder weights file {p} does not exist")
    state = torch.load(p, map_location="cpu", weights_only=True)
    for net in nets.per_camera.values():
        own = net.resnet.state_dict()  # type: ignore[union-attr]
        missing = [k for k in own if k not in state]
        wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
        if missing or wrong:
            raise RuntimeError(
                f"{p} does not fit this encoder: missing {missing[:4]}, shape mismatch "
                f"{wrong[:4]} (check stem_width and stage_widths)"
            )
        net.resnet.load_state_dict({k: state[k] for k in own})  # type: ignore[union-attr]


class ClipFeatures(nn.Module):
    """Per-camera frozen CLIP image embeddings (B, D), unit length."""

    def __init__(self, cameras: tuple[str, ...], embedder: ClipEmbedder) -> None:
        super().__init__()
        self.cameras = cameras
        self.frozen = True
        # A plain attribute, not a submodule: CLIP's weights stay in its own directory and
        # never enter a reward model's state_dict.
        self.embedder = embedder

    def feature_shape(self, image_shape: tuple[int, int, int]) -> tuple[int, ...]:
        return (self.embedder.dim,)

    def forward(self, images: Mapping[str, Tensor]) -> dict[str, Tensor]:
        # clone() outside inference mode makes the embeddings usable by a trained head.
        return {c: self.embedder.embed_images(images[c]).clone() for c in self.cameras}
