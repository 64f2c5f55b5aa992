"""Success classifier network: a feature extractor per camera (frozen by default) plus a
trained head. Output: one success logit per observation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from robot_rl.agents.config import EncoderConfig
from robot_rl.agents.encoders import CameraHead
from robot_rl.rewards.backbones import ClipFeatures, ResNetFeatures, reward_encoder_config
from robot_rl.rewards.clip import ClipConfig, ClipEmbedder

Tensor = torch.Tensor


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture of a success classifier; saved next to its weights."""

    cameras: tuple[str, ...] = ("front", "wrist")  # cameras it reads, in this order
    image_shape: tuple[int, int, int] = (128, 128, 3)  # (H, W, 3) uint8 frames it accepts
    backbone: Literal["resnet", "clip"] = "resnet"  # learner's ResNet family or a CLIP model
    encoder: EncoderConfig = field(default_factory=reward_encoder_config)  # resnet settings
    clip_model_dir: str | None = None  # local CLIP/SigLIP directory for backbone="clip"
    hidden_dim: int = 256  # hidden width of the head's MLP
    dropout: float = 0.3  # dropout before the head's output layer (training only)


def classifier_config_to_dict(cfg: ClassifierConfig) -> dict[str, Any]:
    """Plain-JSON form."""
    return dataclasses.asdict(cfg)


def classifier_config_from_dict(data: Mapping[str, Any]) -> ClassifierConfig:
    """Inverse of classifier_config_to_dict (lists back to tuples)."""

    def tuples(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}

    values = tuples(data)
    names = {f.name for f in dataclasses.fields(EncoderConfig)}
    enc = tuples({k: v for k, v in dict(values.get("encoder") or {}).items() if k in names})
    values["encoder"] = EncoderConfig(**enc)
    known = {f.name for f in dataclasses.fields(ClassifierConfig)}
    return ClassifierConfig(**{k: v for k, v in values.items() if k in known})


class VectorHead(nn.Module):
    """Embedding vector -> Linear -> LayerNorm -> tanh (the CLIP counterpart of CameraHead)."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(dim, out_dim), nn.LayerNorm(out_dim), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class SuccessClassifier(nn.Module):
    """uint8 frames per camera -> success logit (B,). ``features`` then ``head`` is the same
    as ``forward``; training caches ``features`` when they are frozen."""

    def __init__(self, cfg: ClassifierConfig, embedder: ClipEmbedder | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.features: ResNetFeatures | ClipFeatures
        if cfg.backbone == "resnet":
            self.features = ResNetFeatures(cfg.cameras, cfg.encoder)
        elif cfg.backbone == "clip":
            if embedder is None:
                if not cfg.clip_model_dir:
                    raise ValueError("backbone='clip' needs clip_model_dir")
                embedder = ClipEmbedder(ClipConfig(cfg.clip_model_dir))
            self.features = ClipFeatures(cfg.cameras, embedder)
        else:
            raise ValueError(f"unknown backbone {cfg.backbone!r}; use 'resnet' or 'clip'")
        shape = self.features.feature_shape(cfg.image_shape)
        width = cfg.encoder.bottleneck_dim
        heads: dict[str, nn.Module] = {}
        for c in cfg.cameras:
            if len(shape) == 3:
                heads[c] = CameraHead((shape[0], shape[1], shape[2]), cfg.encoder)
            else:
                heads[c] = VectorHead(shape[0], width)
        self.heads = nn.ModuleDict(heads)
        self.mlp = nn.Sequential(
            nn.Linear(len(cfg.cameras) * width, cfg.hidden_dim),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden_dim, 1),
        )

    @property
    def frozen(self) -> bool:
        """True when the feature extractor gets no gradients (its features can be cached)."""
        return bool(self.features.frozen)

    def head(self, feats: Mapping[str, Tensor]) -> Tensor:
        """Per-camera features -> logits (B,)."""
        parts = [self.heads[c](feats[c]) for c in self.cfg.cameras]
        return self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)

    def forward(self, images: Mapping[str, Tensor]) -> Tensor:
        return self.head(self.features(images))

    def saved_state(self) -> dict[str, Tensor]:
        """What a reward model file holds: everything but a CLIP model's own weights."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("features.embedder")}
