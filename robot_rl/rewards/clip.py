"""CLIP-family image and text embeddings from a local transformers-format directory.

Nothing is downloaded: the directory must hold ``config.json``, the weights
(``model.safetensors``, ``pytorch_model.bin`` or a sharded index) and the tokenizer files
(``tokenizer.json``, or ``vocab.json`` + ``merges.txt`` for CLIP, ``spiece.model`` for
SigLIP). ``preprocessor_config.json`` is read when present. See docs/rewards.md for the
models that fit and where their files go.

Images are preprocessed here, in torch, batched (resize shortest edge, centre crop,
normalise): transformers' image processor would fall back to a per-image PIL path
without torchvision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from robot_rl.rewards.errors import ModelDirError, RewardInputError

SUPPORTED_MODEL_TYPES = ("clip", "siglip")
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"), ("spiece.model",))
# Published normalisation constants, used when preprocessor_config.json is absent.
_DEFAULT_STATS = {
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "siglip": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}


@dataclass(frozen=True)
class ClipConfig:
    """Where a CLIP-family model lives and how it runs."""

    model_dir: str  # local transformers-format directory (see module docstring)
    device: str = "cpu"  # torch device for the model
    batch_size: int = 32  # images per forward pass


def check_model_dir(model_dir: str | Path) -> dict[str, Any]:
    """Raise ModelDirError unless ``model_dir`` holds a loadable model; returns config.json."""
    path = Path(model_dir)
    if not path.is_dir():
        raise ModelDirError(
            f"VLM model directory {path} does not exist; place a transformers-format CLIP "
            "or SigLIP checkpoint there (config.json, model.safetensors, tokenizer files), "
            "see docs/rewards.md"
        )
    if not (path / "config.json").is_file():
        raise ModelDirError(f"{path} has no config.json: not a transformers model directory")
    if not any((path / f).is_file() for f in _WEIGHT_FILES):
        raise ModelDirError(f"{path} has no weights; expected one of {list(_WEIGHT_FILES)}")
    if not any(all((path / f).is_file() for f in group) for group in _TOKENIZER_FILES):
        raise ModelDirError(
            f"{path} has no tokenizer; expected one of {[list(g) for g in _TOKENIZER_FILES]}"
        )
    config: dict[str, Any] = json.loads((path / "config.json").read_text())
    model_type = str(config.get("model_type", ""))
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelDirError(
            f"{path}: model_type {model_type!r} is not a supported CLIP-family model "
            f"({list(SUPPORTED_MODEL_TYPES)})"
        )
    return config


@dataclass(frozen=True)
class Preprocess:
    """Resize + centre crop + normalise, read from preprocessor_config.json."""

    resize_shortest_px: int | None  # resize so the short side is this long (CLIP style)
    resize_hw_px: tuple[int, int] | None  # or resize to exactly (H, W) (SigLIP style)
    crop_hw_px: tuple[int, int] | None  # centre crop after resizing; None = none
    mean: tuple[float, float, float]  # per channel, on [0, 1]
    std: tuple[float, float, float]  # per channel, on [0, 1]

    @classmethod
    def from_dir(cls, path: Path, model_type: str, image_size: int) -> Preprocess:
        mean, std = _DEFAULT_STATS[model_type]
        raw: dict[str, Any] = {}
        if (path / "preprocessor_config.json").is_file():
            raw = json.loads((path / "preprocessor_config.json").read_text())
        mean = tuple(raw.get("image_mean", mean))
        std = tuple(raw.get("image_std", std))
        size = raw.get("size", {"shortest_edge": image_size} if model_type == "clip" else None)
        shortest: int | None = None
        exact: tuple[int, int] | None = None
        if isinstance(size, dict) and "shortest_edge" in size:
            shortest = int(size["shortest_edge"])
        elif isinstance(size, dict) and "height" in size:
            exact = (int(size["height"]), int(size["width"]))
        elif isinstance(size, int):
            shortest = size
        else:
            exact = (image_size, image_size)
        crop: tuple[int, int] | None = None
        if raw.get("do_center_crop", model_type == "clip"):
            c = raw.get("crop_size", image_size)
            crop = (int(c["height"]), int(c["width"])) if isinstance(c, dict) else (int(c), int(c))
        return cls(shortest, exact, crop, mean, std)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> normalised float (B, 3, h, w)."""
        x = images.permute(0, 3, 1, 2).float().div_(255.0)
        h, w = x.shape[-2:]
        if self.resize_hw_px is not None:
            target = self.resize_hw_px
        elif self.resize_shortest_px is not None:
            s = self.resize_shortest_px / min(h, w)
            target = (max(1, round(h * s)), max(1, round(w * s)))
        else:
            target = (h, w)
        if target != (h, w):
            x = F.interpolate(x, size=target, mode="bicubic", antialias=True, align_corners=False)
        if self.crop_hw_px is not None:
            ch, cw = self.crop_hw_px
            top, left = max(0, (x.shape[-2] - ch) // 2), max(0, (x.shape[-1] - cw) // 2)
            x = x[..., top : top + ch, left : left + cw]
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1)
        return (x.clamp_(0.0, 1.0) - mean) / std


def _embedding(out: Any) -> torch.Tensor:
    # transformers 5 returns an output object (embedding in pooler_output); 4.x a tensor.
    if isinstance(out, torch.Tensor):
        return out
    return out.pooler_output


class ClipEmbedder:
    """Frozen CLIP-family model: L2-normalised image and text embeddings. Loading blocks."""

    def __init__(self, cfg: ClipConfig) -> None:
        config = check_model_dir(cfg.model_dir)
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as e:  # pragma: no cover - depends on the install
            raise ImportError("VLM rewards need transformers: pip install 'robot_rl[vlm]'") from e
        path = Path(cfg.model_dir)
        self.cfg = cfg
        self.model_type = str(config["model_type"])
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(cfg.device).eval()
        self.model.requires_grad_(False)
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        vision = self.model.config.vision_config
        self.preprocess = Preprocess.from_dir(path, self.model_type, int(vision.image_size))
        self.fingerprint = f"{self.model_type}:{path.resolve()}"
        self.dim = int(self.embed_texts(["x"]).shape[-1])

    @torch.inference_mode()
    def embed_images(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) RGB -> (B, D) float32 unit vectors on CPU. Blocks."""
        x = torch.as_tensor(images)
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[-1] != 3:
            raise RewardInputError(
                f"CLIP images must be uint8 (B, H, W, 3), got {x.dtype} {tuple(x.shape)}"
            )
        out = []
        for i in range(0, x.shape[0], self.cfg.batch_size):
            pixels = self.preprocess(x[i : i + self.cfg.batch_size].to(self.cfg.device))
            emb = _embedding(self.model.get_image_features(pixel_values=pixels))
            out.append(F.normalize(emb.float(), dim=-1).cpu())
        return torch.cat(out) if out else torch.zeros(0, getattr(self, "dim", 0))

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Prompts -> (T, D) float32 unit vectors on CPU. Blocks."""
        # SigLIP was trained on max-length padded text; CLIP pools at the end token.
        padding = "max_length" if self.model_type == "siglip" else True
        # Truncate to the text tower's positions: a tokenizer saved without a max length
        # would otherwise let a long prompt overflow the position embeddings.
        max_len = int(self.model.config.text_config.max_position_embeddings)
        tokens = self.tokenizer(
            list(texts), padding=padding, truncation=True, max_length=max_len, return_tensors="pt"
        ).to(self.cfg.device)
        emb = _embedding(self.model.get_text_features(**tokens))
        return F.normalize(emb.float(), dim=-1).cpu()
