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
        }

    def line(self) -> str:
        """One human-readable line."""
        c = self.counts
        return (
            f"balanced accuracy {c.balanced_accuracy:.2%}, precision {c.precision:.2%}, "
            f"recall {c.recall:.2%}, ROC AUC {self.auc:.4f} at threshold {self.threshold:.3g} "
            f"({self.frames} frames, {self.positives} success; TN {c.tn} FP {c.fp} FN {c.fn} "
            f"TP {c.tp})"
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


def evaluate_scores(scores: np.ndarray, labels: np.ndarray, threshold: float) -> EvalReport:
    """Report for success scores (probabilities) against bool labels at ``threshold``."""
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
    )
