"""Pixel encoder: per-camera small ResNet backbone, spatial learned embedding, proprio fusion.

Split in two so a frozen backbone can run once per batch under no_grad and be shared by
the critic, its target and the actor:
- ``PixelBackbones``: uint8 images -> feature maps (optionally frozen, weights from a
  local state_dict file);
- ``ObsEncoder``: feature maps + state -> one feature vector (always trainable).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from robot_rl.agents.config import EncoderConfig
from robot_rl.agents.pixels import pixels_to_float
from robot_rl.agents.types import ObsSpec

Tensor = torch.Tensor


def _group_norm(channels: int) -> nn.GroupNorm:
    # GroupNorm, not BatchNorm: statistics must not depend on the batch, because the
    # same frozen backbone runs on batches of 1 (actor) and 512 (learner).
    return nn.GroupNorm(math.gcd(channels, 32), channels)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet v1 basic block)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.norm1 = _group_norm(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.norm2 = _group_norm(out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), _group_norm(out_ch)
            )

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class ResNetBackbone(nn.Module):
    """ResNet-10 family: 7x7/2 stem, 3x3/2 max-pool, one basic block per stage.

    Input float (B, 3, H, W) normalised; output (B, C_last, H / 32, W / 32) for 4 stages.
    Its ``state_dict`` is the format of the local weights file.
    """

    def __init__(self, stem_width: int, stage_widths: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_width, 7, 2, 3, bias=False),
            _group_norm(stem_width),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
        blocks: list[nn.Module] = []
        width = stem_width
        for i, w in enumerate(stage_widths):
            blocks.append(BasicBlock(width, w, 1 if i == 0 else 2))
            width = w
        self.stages = nn.Sequential(*blocks)
        self.out_channels = width

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(self.stem(x))


class PixelBackbone(nn.Module):
    """uint8 (B, H, W, 3) -> feature map, with ImageNet-style normalisation."""

    mean: Tensor
    std: Tensor

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.resnet = ResNetBackbone(config.stem_width, config.stage_widths)
        mean = torch.tensor(config.image_mean).view(1, 3, 1, 1)
        std = torch.tensor(config.image_std).view(1, 3, 1, 1)
        # Not persistent: the weights file holds only the ResNet's own parameters.
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, images: Tensor, name: str = "?") -> Tensor:
        x = (pixels_to_float(images, name) - self.mean) / self.std
        return self.resnet(x)


class PixelBackbones(nn.Module):
    """One backbone per camera (independent weights)."""

    def __init__(self, cameras: tuple[str, ...], config: EncoderConfig) -> None:
        super().__init__()
        self.per_camera = nn.ModuleDict({c: PixelBackbone(config) for c in cameras})

    def forward(self, images: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {c: m(images[c], c) for c, m in self.per_camera.items()}

    def load_weights(self, path: str | Path) -> None:
        """Load one ResNetBackbone state_dict from a local file into every camera.

        Raises FileNotFoundError or a RuntimeError naming missing/unexpected keys.
        """
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        for m in self.per_camera.values():
            assert isinstance(m, PixelBackbone)
            m.resnet.load_state_dict(state, strict=True)


class SpatialLearnedEmbedding(nn.Module):
    """Learned pooling: K spatial kernels per channel, (B, C, H, W) -> (B, C * K).

    Unlike global average pooling it keeps where things are, which matters for
    insertion tasks (the SERL encoder's choice).
    """

    def __init__(self, channels: int, height: int, width: int, num_features: int) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(channels, height, width, num_features))
        nn.init.normal_(self.kernel, std=1.0 / math.sqrt(height * width))

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("bchw,chwk->bck", x, self.kernel).flatten(1)


class CameraHead(nn.Module):
    """Spatial embedding -> Linear -> LayerNorm -> tanh, one per camera."""

    def __init__(self, map_shape: tuple[int, int, int], config: EncoderConfig) -> None:
        super().__init__()
        c, h, w = map_shape
        k = config.num_spatial_features
        self.pool = SpatialLearnedEmbedding(c, h, w, k)
        self.proj = nn.Sequential(
            nn.Linear(c * k, config.bottleneck_dim), nn.LayerNorm(config.bottleneck_dim), nn.Tanh()
        )

    def forward(self, feature_map: Tensor) -> Tensor:
        return self.proj(self.pool(feature_map))


class ObsEncoder(nn.Module):
    """Feature maps + proprioception -> one vector (B, output_dim).

    The state is first standardised with fixed statistics (identity until
    ``set_state_stats``); state-only specs then pass it through unchanged.
    """

    state_mean: Tensor
    state_inv_std: Tensor

    def __init__(
        self,
        spec: ObsSpec,
        map_shape: tuple[int, int, int] | None,
        config: EncoderConfig,
        state_clip: float = 0.0,
    ) -> None:
        super().__init__()
        self.cameras = spec.cameras
        self.state_clip = state_clip  # cap on |standardised state|; 0 = none
        # Persistent buffers: they travel with the weights to actors and into checkpoints.
        self.register_buffer("state_mean", torch.zeros(spec.state_dim))
        self.register_buffer("state_inv_std", torch.ones(spec.state_dim))
        if not spec.cameras or map_shape is None:
            self.heads = nn.ModuleDict()
            self.proprio: nn.Module = nn.Identity()
            self.output_dim = spec.state_dim
            return
        self.heads = nn.ModuleDict({c: CameraHead(map_shape, config) for c in spec.cameras})
        self.proprio = nn.Sequential(
            nn.Linear(spec.state_dim, config.proprio_dim),
            nn.LayerNorm(config.proprio_dim),
            nn.Tanh(),
        )
        self.output_dim = len(spec.cameras) * config.bottleneck_dim + config.proprio_dim

    @torch.no_grad()
    def set_state_stats(self, mean: Tensor, std: Tensor, min_std: float) -> None:
        """Fix the standardisation to (state - mean) / max(std, min_std)."""
        self.state_mean.copy_(mean)
        self.state_inv_std.copy_(1.0 / std.clamp_min(min_std))

    def forward(self, feature_maps: Mapping[str, Tensor] | None, state: Tensor) -> Tensor:
        state = (state - self.state_mean) * self.state_inv_std
        if self.state_clip > 0.0:
            state = state.clamp(-self.state_clip, self.state_clip)
        if not self.cameras:
            return state
        if feature_maps is None:
            raise ValueError("this encoder needs camera feature maps")
        parts = [self.heads[c](feature_maps[c]) for c in self.cameras]
        parts.append(self.proprio(state))
        return torch.cat(parts, dim=-1)
