"""Scoring labelled frames with a classifier and summarising the result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robot_rl.rewards.classifier import SuccessClassifier
from robot_rl.rewards.metrics import Confusion, confusion, roc_auc, roc_curve
from robot_rl.rewards.plots import plot_confusion, plot_roc


@torch.no_grad()
def predict_proba(
    model: SuccessClassifier, images: Mapping[str, np.ndarray], batch_size: int = 128
) -> np.ndarray:
    """(N,) success probabilities of N frames per camera (uint8 (N, H, W, 3)). Blocks."""
    was_training = model.training
    model.eval()
    cams = model.cfg.cameras
    n = int(images[cams[0]].shape[0])
    out = []
    for i in range(0, n, batch_size):
        batch = {
            c: torch.from_numpy(np.ascontiguousarray(images[c][i : i + batch_size])) for c in cams
        }
        out.append(torch.sigmoid(model(batch)).float().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@dataclass(frozen=True)
class EvalReport:
    """A classifier's figures on one labelled set at one threshold."""

    threshold: float
    frames: int
    positives: int
    counts: Confusion
    auc: float
    fpr: np.ndarray  # ROC curve
    tpr: np.ndarray
    # Episodes in which the classifier fired on failure frames for ``hold`` frames in a row
    # (a false success under the training reward's hold), of ``episodes``; None: no episode
    # ids were given.
    false_fire_episodes: int | None = None
    episodes: int = 0
    hold: int = 0

    @property
    def precision(self) -> float:
        return self.counts.precision

    @property
    def recall(self) -> float:
        return self.counts.recall

    @property
    def balanced_accuracy(self) -> float:
        return self.counts.balanced_accuracy

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "threshold": self.threshold,
            "frames": self.frames,
            "positives": self.positives,
            "precision": round(c.precision, 4),
            "recall": round(c.recall, 4),
            "specificity": round(c.specificity, 4),
            "balanced_accuracy": round(c.balanced_accuracy, 4),
            "roc_auc": round(self.auc, 4),
            "confusion": {"tn": c.tn, "fp": c.fp, "fn": c.fn, "tp": c.tp},
            "false_fire_episodes": self.false_fire_episodes,
            "episodes": self.episodes,
            "hold_frames": self.hold,
        }

    def line(self) -> str:
        """One human-readable line."""
        c = self.counts
        fires = (
            ""
            if self.false_fire_episodes is None
            else f"; false fires (hold {self.hold}) in {self.false_fire_episodes} of "
            f"{self.episodes} episodes"
        )
        return (
            f"balanced accuracy {c.balanced_accuracy:.2%}, precision {c.precision:.2%}, "
            f"recall {c.recall:.2%}, ROC AUC {self.auc:.4f} at threshold {self.threshold:.3g} "
            f"({self.frames} frames, {self.positives} success; TN {c.tn} FP {c.fp} FN {c.fn} "
            f"TP {c.tp}){fires}"
        )

    def write_plots(self, out_dir: str | Path, title: str) -> list[Path]:
        """confusion.png and roc.png in ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        c = self.counts
        point = (1.0 - c.specificity, c.recall)
        return [
            plot_confusion(c.matrix(), out / "confusion.png", title),
            plot_roc(self.fpr, self.tpr, self.auc, point, out / "roc.png"),
        ]


def false_fire_episodes(
    scores: np.ndarray, labels: np.ndarray, episode: np.ndarray, threshold: float, hold: int
) -> int:
    """Episodes (by id in ``episode``, frames in time order) with ``hold`` consecutive
    failure frames scored at or above ``threshold``: where a held classifier reward would
    have declared a success that the labels deny."""
    if hold < 1:
        raise ValueError(f"hold must be >= 1, got {hold}")
    false = (np.asarray(scores) >= threshold) & ~np.asarray(labels, bool)
    ids = np.asarray(episode)
    fired = 0
    for e in np.unique(ids):
        run = 0
        for f in false[ids == e]:
            run = run + 1 if f else 0
            if run >= hold:
                fired += 1
                break
    return fired


def evaluate_scores(
    scores: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    episode: np.ndarray | None = None,
    hold: int = 3,
) -> EvalReport:
    """Report for success scores (probabilities) against bool labels at ``threshold``; with
    per-frame ``episode`` ids it also counts the episodes a ``hold``-frame reward would
    have ended with a false success."""
    y = np.asarray(labels, bool)
    both = bool(y.any() and (~y).any())
    fpr, tpr = (roc_curve(scores, y)[:2]) if both else (np.zeros(1), np.zeros(1))
    return EvalReport(
        threshold=float(threshold),
        frames=int(y.size),
        positives=int(y.sum()),
        counts=confusion(scores, y, threshold),
        auc=roc_auc(scores, y) if both else float("nan"),
        fpr=fpr,
        tpr=tpr,
        false_fire_episodes=(
            None if episode is None else false_fire_episodes(scores, y, episode, threshold, hold)
        ),
        episodes=0 if episode is None else int(np.unique(episode).size),
        hold=hold if episode is not None else 0,
    )
