"""PNG plots of a classifier's validation: confusion matrix and ROC curve (matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless; never opens a window
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(matrix: np.ndarray, path: str | Path, title: str) -> Path:
    """Write a 2x2 confusion matrix [[TN, FP], [FN, TP]] with counts and row rates."""
    plt = _pyplot()
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=100)
    rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(2):
        for j in range(2):
            colour = "white" if rates[i, j] > 0.5 else "black"
            ax.text(j, i, f"{m[i, j]}\n{rates[i, j]:.1%}", ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], ["fail", "success"])
    ax.set_yticks([0, 1], ["fail", "success"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_roc(
    fpr: np.ndarray, tpr: np.ndarray, auc: float, point: tuple[float, float], path: str | Path
) -> Path:
    """Write the ROC curve with the chosen operating point (fpr, tpr) marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=100)
    ax.plot(fpr, tpr, label=f"AUC {auc:.4f}")
    ax.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    ax.plot([point[0]], [point[1]], "ro", label="chosen threshold")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
