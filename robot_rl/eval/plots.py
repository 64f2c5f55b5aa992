"""Plots of multi-seed results: IQM learning curves with bootstrap bands, performance profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.eval.stats import iqm_ci, performance_profile


def iqm_curve(success: np.ndarray, reps: int = 2000) -> np.ndarray:
    """(points, 3) of IQM, low, high across seeds for success (seeds, points)."""
    return np.array([iqm_ci(success[:, j], reps=reps) for j in range(success.shape[1])])


def _bands(
    path: Path,
    lines: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    labels: tuple[str, str, str],
    ylim: tuple[float, float],
    legend: str,
    size: tuple[float, float],
) -> None:
    """One line with a shaded band per label: (x, y, low, high); labels (title, x, y) (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=120)
    for label, (x, y, lo, hi) in lines.items():
        ax.plot(x, y, lw=2, label=label)
        ax.fill_between(x, lo, hi, alpha=0.25)
    title, xlabel, ylabel = labels
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, ylim=ylim)
    ax.grid(alpha=0.3)
    ax.legend(loc=legend)  # type: ignore[call-overload]
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_iqm_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str, xlabel: str
) -> None:
    """One line per label: x (points,) and its iqm_curve (points, 3) as a shaded band (PNG)."""
    lines: dict[str, Any] = {
        k: (x, 100 * c[:, 0], 100 * c[:, 1], 100 * c[:, 2]) for k, (x, c) in curves.items()
    }
    labels = (title, xlabel, "success, IQM over seeds (%)")
    _bands(path, lines, labels, (-3, 103), "lower right", (6, 3.6))


def plot_profiles(scores: dict[str, np.ndarray], path: Path, title: str, reps: int = 2000) -> None:
    """Performance profiles P(success > tau) over seeds, with bootstrap bands (PNG)."""
    taus = np.linspace(0.0, 1.0, 101)
    lines: dict[str, Any] = {
        k: (100 * taus, *performance_profile(s, taus, reps=reps)) for k, s in scores.items()
    }
    labels = (title, "fresh-episode success tau (%)", "fraction of seeds > tau")
    _bands(path, lines, labels, (-0.03, 1.03), "lower left", (5, 3.6))
