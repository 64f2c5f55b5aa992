"""Training a success classifier from labelled frames: episode-level validation split,
balanced batches, augmentation, early stopping, a threshold chosen for a target precision.

With a frozen encoder the features of ``augment.views`` augmented copies of every
training frame are computed once and cached (float16), so training is head-only and fast;
a trainable encoder augments on the fly.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from robot_rl.rewards.augment import AugmentConfig, augment
from robot_rl.rewards.classifier import SuccessClassifier
from robot_rl.rewards.dataset import (
    LabelledFrames,
    balanced_batch,
    limit_positives,
    split_by_episode,
)
from robot_rl.rewards.evaluate import EvalReport, evaluate_scores, predict_proba
from robot_rl.rewards.metrics import threshold_for_precision

Tensor = torch.Tensor


@dataclass(frozen=True)
class TrainRewardConfig:
    """How a success classifier is trained and its threshold chosen."""

    steps: int = 1000  # gradient steps on balanced batches
    max_train_positives: int | None = None  # cap on success frames trained on (None: all)
    max_positives_per_episode: int | None = None  # cap per training episode (None: all)
    batch_size: int = 32  # frames per step, half success and half failure
    learning_rate: float = 3e-4  # AdamW step size
    weight_decay: float = 1e-2  # AdamW decoupled weight decay
    label_smoothing: float = 0.05  # targets become eps/2 and 1 - eps/2 (avoids overconfidence)
    val_fraction: float = 0.2  # share of episodes held out for validation
    eval_every: int = 100  # steps between validation passes (best one is kept)
    ema_decay: float = 0.99  # validate and keep an exponential moving average of the weights
    target_precision: float = 0.95  # validation precision the threshold is chosen for
    cache_budget_mb: float = 1024.0  # max float16 feature cache; fewer views if over
    seed: int = 0  # split, sampling, augmentation and initialisation
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # training augmentation


@dataclass(frozen=True)
class TrainResult:
    """The trained model, its threshold and its validation report."""

    model: SuccessClassifier
    threshold: float
    validation: EvalReport
    train_frames: int
    train_positives: int
    val_frames: int
    val_positives: int
    best_step: int
    cached_views: int
    seconds: float
    camera_views: Mapping[str, list[float]] | None = None  # the frames' pinholes, if recorded

    def summary(self) -> dict[str, Any]:
        """Plain-JSON report (saved in the model directory)."""
        return {
            "threshold": self.threshold,
            "validation": self.validation.to_dict(),
            "train_frames": self.train_frames,
            "train_positives": self.train_positives,
            "val_frames": self.val_frames,
            "val_positives": self.val_positives,
            "best_step": self.best_step,
            "cached_views": self.cached_views,
            "seconds": round(self.seconds, 1),
        }


def train_success_classifier(
    model: SuccessClassifier,
    data: LabelledFrames,
    cfg: TrainRewardConfig,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``data`` (CPU; blocks for minutes at full size)."""
    t0 = time.perf_counter()
    say = log or (lambda _msg: None)
    cams = model.cfg.cameras
    if tuple(data.cameras) != cams:
        views = {c: data.camera_views[c] for c in cams} if data.camera_views else None
        data = LabelledFrames({c: data.images[c] for c in cams}, data.labels, data.episode, views)
    # Split first, then cap: validation keeps every frame of its episodes, so its
    # precision is measured at the class balance the recorded data really has.
    train, val = split_by_episode(data, cfg.val_fraction, cfg.seed)
    train = limit_positives(train, cfg.max_train_positives, cfg.max_positives_per_episode, cfg.seed)
    for part, name in ((train, "training"), (val, "validation")):
        if part.positives == 0 or part.positives == len(part):
            raise ValueError(
                f"the {name} split has {part.positives} success frames of {len(part)}: "
                "record more episodes (with successes and failures)"
            )
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    batches = _BatchSource(model, train, cfg, gen)
    say(
        f"train {len(train)} frames ({train.positives} success), val {len(val)} frames "
        f"({val.positives} success), cached views {batches.views}"
    )
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    targets = torch.as_tensor(train.labels, dtype=torch.float32)
    eps = cfg.label_smoothing
    # The weights that are validated (and kept) are an exponential moving average: with
    # a few hundred success frames the raw weights swing from one validation to the next.
    ema = _clone(model).eval() if cfg.ema_decay > 0 else model
    best: tuple[float, int, dict[str, Tensor]] = (np.inf, 0, copy.deepcopy(ema.state_dict()))
    for step in range(1, cfg.steps + 1):
        model.train()
        idx = balanced_batch(train.labels, cfg.batch_size, rng)
        logits = batches.logits(idx)
        y = targets[idx] * (1.0 - eps) + 0.5 * eps
        loss = F.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not model:
            ema_update(ema, model, cfg.ema_decay)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            probs = predict_proba(ema, val.images)
            val_loss = balanced_log_loss(probs, val.labels)
            say(f"step {step}: train loss {loss.item():.4f}, val balanced log-loss {val_loss:.4f}")
            if val_loss < best[0]:
                best = (val_loss, step, copy.deepcopy(ema.state_dict()))
    model.load_state_dict(best[2])
    model.eval()
    probs = predict_proba(model, val.images)
    threshold = threshold_for_precision(probs, val.labels, cfg.target_precision)
    report = evaluate_scores(probs, val.labels, threshold, val.episode)
    return TrainResult(
        model=model,
        threshold=threshold,
        validation=report,
        train_frames=len(train),
        train_positives=train.positives,
        val_frames=len(val),
        val_positives=val.positives,
        best_step=best[1],
        cached_views=batches.views,
        seconds=time.perf_counter() - t0,
        camera_views=data.camera_views,
    )


def _clone(model: SuccessClassifier) -> SuccessClassifier:
    # A CLIP embedder is shared, not copied: it is frozen and large.
    embedder = getattr(model.features, "embedder", None)
    memo = {id(embedder): embedder} if embedder is not None else {}
    return copy.deepcopy(model, memo)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for trained parameters; buffers are copied.
    Frozen parameters are left alone (averaging equal values would still round them)."""
    for e, m in zip(ema.parameters(), model.parameters(), strict=True):
        if m.requires_grad:
            e.mul_(decay).add_(m.detach(), alpha=1.0 - decay)
    for eb, mb in zip(ema.buffers(), model.buffers(), strict=True):
        eb.copy_(mb)


def balanced_log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the success-class and failure-class log-losses (imbalance-proof)."""
    p = np.clip(np.asarray(probs, float), 1e-6, 1 - 1e-6)
    y = np.asarray(labels, bool)
    return float(0.5 * (-np.log(p[y]).mean() - np.log(1 - p[~y]).mean()))


class _BatchSource:
    """Logits of training batches: from cached augmented features, or on the fly."""

    def __init__(
        self,
        model: SuccessClassifier,
        train: LabelledFrames,
        cfg: TrainRewardConfig,
        gen: torch.Generator,
    ) -> None:
        self.model = model
        self.train = train
        self.cfg = cfg
        self.gen = gen
        self.views = 0
        self.cache: dict[str, Tensor] = {}
        if model.frozen:
            self.views = self._fill_cache()

    def _fill_cache(self) -> int:
        shape = self.model.features.feature_shape(self.model.cfg.image_shape)
        per_view = len(self.train) * len(self.model.cfg.cameras) * int(np.prod(shape)) * 2
        views = int(min(self.cfg.augment.views, self.cfg.cache_budget_mb * 2**20 // per_view))
        if views < 1:
            return 0
        n = len(self.train)
        self.cache = {
            c: torch.empty((views, n, *shape), dtype=torch.float16) for c in self.model.cfg.cameras
        }
        for v in range(views):
            for i in range(0, n, 128):
                imgs = self._images(np.arange(i, min(n, i + 128)), augmented=v > 0)
                feats = self.model.features(imgs)
                for c, f in feats.items():
                    self.cache[c][v, i : i + f.shape[0]] = f.to(torch.float16)
        return views

    def _images(self, idx: np.ndarray, augmented: bool) -> dict[str, Tensor]:
        out = {}
        for c in self.model.cfg.cameras:
            x = torch.from_numpy(self.train.images[c][idx])
            out[c] = augment(x, self.cfg.augment, self.gen) if augmented else x
        return out

    def logits(self, idx: np.ndarray) -> Tensor:
        if self.views:
            view = torch.randint(0, self.views, (idx.size,), generator=self.gen)
            t = torch.from_numpy(idx)
            feats = {c: f[view, t].float() for c, f in self.cache.items()}
            return self.model.head(feats)
        return self.model(self._images(idx, augmented=True))


def result_to_json(result: TrainResult, cfg: TrainRewardConfig) -> dict[str, Any]:
    """The report plus the training config, for the model directory."""
    out = {"report": result.summary(), "training": asdict(cfg)}
    if result.camera_views is not None:
        out["camera_views"] = dict(result.camera_views)
    return out
