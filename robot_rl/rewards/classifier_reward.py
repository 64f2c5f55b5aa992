"""Success classifiers as reward sources, and their model directories."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from robot_rl.rewards.classifier import (
    SuccessClassifier,
    classifier_config_from_dict,
    classifier_config_to_dict,
)
from robot_rl.rewards.clip import ClipConfig, ClipEmbedder
from robot_rl.rewards.errors import ModelDirError
from robot_rl.rewards.frames import Frames, check_cameras, check_frames
from robot_rl.rewards.model_io import load_model_dir, save_model_dir
from robot_rl.rewards.source import BatchedRewardSource, BatchScores
from robot_rl.rewards.train_classifier import TrainResult, TrainRewardConfig, result_to_json

CLASSIFIER_KIND = "success_classifier"


def save_classifier(path: str | Path, result: TrainResult, cfg: TrainRewardConfig) -> Path:
    """Write the model directory: config + weights + threshold + report + plots."""
    model = result.model
    out = save_model_dir(
        path,
        CLASSIFIER_KIND,
        classifier_config_to_dict(model.cfg),
        model.saved_state(),
        extra={"threshold": result.threshold, **result_to_json(result, cfg)},
    )
    title = (
        f"validation, threshold {result.threshold:.3g} (target precision {cfg.target_precision})"
    )
    result.validation.write_plots(out, title)
    return out


def load_classifier(
    path: str | Path, clip_model_dir: str | None = None, embedder: ClipEmbedder | None = None
) -> tuple[SuccessClassifier, dict[str, Any]]:
    """(model in eval mode, meta) from a directory written by save_classifier.

    ``clip_model_dir`` overrides where a CLIP-backbone classifier finds its CLIP model.
    Raises ModelDirError for a missing or foreign directory or a CLIP model that differs
    from the one the head was trained on.
    """
    meta, state = load_model_dir(path, CLASSIFIER_KIND)
    cfg = classifier_config_from_dict(meta["config"])
    # The backbone's weights are in weights.pt; the original weights file is not needed.
    cfg = dataclasses.replace(cfg, encoder=dataclasses.replace(cfg.encoder, weights_path=None))
    if clip_model_dir is not None:
        cfg = dataclasses.replace(cfg, clip_model_dir=clip_model_dir)
    if cfg.backbone == "clip" and embedder is None:
        if not cfg.clip_model_dir:
            raise ModelDirError(f"{path}: a CLIP-backbone classifier needs clip_model_dir")
        embedder = ClipEmbedder(ClipConfig(cfg.clip_model_dir))
    model = SuccessClassifier(cfg, embedder)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        clip = cfg.backbone == "clip"
        hint = " (is this the CLIP model the head was trained on?)" if clip else ""
        raise ModelDirError(f"{path}: weights do not fit the saved config{hint}: {e}") from e
    model.eval()
    return model, meta


@dataclass(frozen=True)
class ClassifierRewardConfig:
    """How a trained classifier is used as a reward."""

    model_dir: str  # directory written by `robot-rl train-reward`
    cameras: tuple[str, ...] | None = None  # cameras the caller will provide; None = model's
    threshold: float | None = None  # success threshold; None = the one chosen in training
    reward: Literal["binary", "prob"] = "binary"  # 1/0 at the threshold, or the probability
    clip_model_dir: str | None = None  # override the CLIP location of a CLIP-backbone model


class ClassifierReward(BatchedRewardSource):
    """RewardSource: a success classifier (ResNet or CLIP-embedding backbone).

    reward = 1.0 when success_prob >= threshold else 0.0 (``reward="prob"``: the probability).
    Raises CameraMismatchError when built for, or given, other cameras than it was trained
    on, and RewardInputError on another image size.
    """

    def __init__(
        self,
        model: SuccessClassifier,
        threshold: float,
        cfg: ClassifierRewardConfig,
        camera_views: Mapping[str, list[float]] | None = None,
    ) -> None:
        check_cameras(model.cfg.cameras, cfg.cameras, "classifier")
        # camera -> pinhole (fx, fy, cx, cy) of the training frames, when they recorded it
        self.camera_views = camera_views
        self.model = model.eval()
        self.cfg = cfg
        self.name = "vlm_classifier" if model.cfg.backbone == "clip" else "classifier"
        self.cameras = model.cfg.cameras
        # A CLIP backbone resizes itself; the ResNet head is tied to its feature-map size.
        self.image_shape = model.cfg.image_shape if model.cfg.backbone == "resnet" else None
        self.threshold = float(cfg.threshold if cfg.threshold is not None else threshold)

    @classmethod
    def load(cls, cfg: ClassifierRewardConfig | str | Path) -> ClassifierReward:
        """Load from a model directory (ModelDirError when missing)."""
        if not isinstance(cfg, ClassifierRewardConfig):
            cfg = ClassifierRewardConfig(model_dir=str(cfg))
        model, meta = load_classifier(cfg.model_dir, cfg.clip_model_dir)
        return cls(model, float(meta["threshold"]), cfg, meta.get("camera_views"))

    @torch.no_grad()
    def score_batch(self, frames: Frames) -> BatchScores:
        check_frames(frames, self.cameras, self.image_shape, batched=True)
        batch = {c: torch.from_numpy(np.ascontiguousarray(frames[c])) for c in self.cameras}
        prob = torch.sigmoid(self.model(batch)).float().numpy()
        reward = prob if self.cfg.reward == "prob" else (prob >= self.threshold).astype(np.float32)
        return BatchScores(reward.astype(np.float32), prob.astype(np.float32))
