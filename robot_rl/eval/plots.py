"""Plots of multi-seed results: IQM learning curves with bootstrap bands, performance profiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.eval.stats import iqm_ci, performance_profile


def iqm_curve(success: np.ndarray, reps: int = 2000) -> np.ndarray:
    """(points, 3) of IQM, low, high across seeds for success (seeds, points)."""
    return np.array([iqm_ci(success[:, j], reps=reps) for j in range(success.shape[1])])


def plot_iqm_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str, xlabel: str
) -> None:
    """One line per label: x (points,) and its iqm_curve (points, 3) as a shaded band (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for label, (x, c) in curves.items():
        ax.plot(x, 100 * c[:, 0], lw=2, label=label)
        ax.fill_between(x, 100 * c[:, 1], 100 * c[:, 2], alpha=0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("success, IQM over seeds (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_profiles(scores: dict[str, np.ndarray], path: Path, title: str, reps: int = 2000) -> None:
    """Performance profiles P(success > tau) over seeds, with bootstrap bands (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    taus = np.linspace(0.0, 1.0, 101)
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
    for label, s in scores.items():
        prof, lo, hi = performance_profile(s, taus, reps=reps)
        ax.plot(100 * taus, prof, lw=2, label=label)
        ax.fill_between(100 * taus, lo, hi, alpha=0.25)
    ax.set_xlabel("fresh-episode success tau (%)")
    ax.set_ylabel("fraction of seeds > tau")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
