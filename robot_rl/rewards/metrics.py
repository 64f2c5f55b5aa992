"""Binary-classifier metrics on numpy arrays: ROC, AUC, precision/recall, threshold choice.

Scores are success probabilities (higher = more likely success); labels are bool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Confusion:
    """Counts at one threshold (predicted positive when score >= threshold)."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing is predicted positive."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN), the true-positive rate; NaN without positives."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def specificity(self) -> float:
        """TN / (TN + FP), the true-negative rate; NaN without negatives."""
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else float("nan")

    @property
    def balanced_accuracy(self) -> float:
        """Mean of recall and specificity (robust to class imbalance)."""
        return 0.5 * (self.recall + self.specificity)

    def matrix(self) -> np.ndarray:
        """[[TN, FP], [FN, TP]]: rows = true class (fail, success), columns = predicted."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])


def confusion(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Confusion:
    """Counts with "success" predicted where ``scores >= threshold``."""
    pred = np.asarray(scores) >= threshold
    y = np.asarray(labels, bool)
    return Confusion(
        tp=int(np.sum(pred & y)),
        fp=int(np.sum(pred & ~y)),
        tn=int(np.sum(~pred & ~y)),
        fn=int(np.sum(~pred & y)),
    )


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), thresholds descending from +inf; ties handled as one step."""
    s = np.asarray(scores, float)
    y = np.asarray(labels, bool)
    if y.all() or (~y).all():
        raise ValueError("ROC needs both positive and negative labels")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.diff(s) != 0, True]
    tps = np.cumsum(y)[last_of_tie]
    fps = np.cumsum(~y)[last_of_tie]
    tpr = np.r_[0.0, tps / y.sum()]
    fpr = np.r_[0.0, fps / (~y).sum()]
    return fpr, tpr, np.r_[np.inf, s[last_of_tie]]


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids)."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) * 0.5))


def threshold_for_precision(
    scores: np.ndarray, labels: np.ndarray, target_precision: float
) -> float:
    """Lowest threshold whose precision on (scores, labels) is >= ``target_precision``.

    The lowest such threshold keeps the most recall. If no threshold reaches the target,
    returns the one with the best precision (ties: the highest recall). Without positives
    returns 1.0.
    """
    s = np.asarray(scores, float)
    y = np.asarray(labels, bool)
    if not y.any():
        return 1.0
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.diff(s) != 0, True]
    tp = np.cumsum(y)[last_of_tie]
    fp = np.cumsum(~y)[last_of_tie]
    cand = s[last_of_tie]
    prec = tp / (tp + fp)
    ok = np.flatnonzero(prec >= target_precision)
    if ok.size:
        return float(cand[ok[-1]])
    best = np.flatnonzero(prec == prec.max())
    return float(cand[best[-1]])
