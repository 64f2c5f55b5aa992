"""Training outputs a person reads: the success curve, eval frames, the summary table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass
class EvalPoint:
    env_steps: int
    robot_minutes: float  # env steps / control rate: the robot time a real cell would spend
    wall_s: float
    updates: int
    updates_per_s: float
    success: float
    mean_return: float


def curve_path(run_dir: Path, foreign: bool) -> Path:
    """Where the learning curve goes: success against robot-minutes for our tasks, return
    against env steps for a foreign gymnasium env (no success notion, no 10 Hz clock)."""
    return run_dir / ("return_vs_env_steps.png" if foreign else "success_vs_robot_minutes.png")


def plot_curve(
    history: list[EvalPoint],
    path: Path,
    title: str,
    target: float | None = None,
    foreign: bool = False,
) -> None:
    """The evaluation curve as a PNG (see `curve_path`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    if foreign:
        ax.plot([p.env_steps for p in history], [p.mean_return for p in history], marker="o")
        ax.set_xlabel("env steps")
        ax.set_ylabel("mean evaluation return")
    else:
        x = [p.robot_minutes for p in history]
        ax.plot(x, [100 * p.success for p in history], marker="o", lw=2, label="evaluation success")
        if target is not None:
            ax.axhline(100 * target, ls="--", color="gray", lw=1, label=f"target {target:.0%}")
        ax.set_xlabel("robot minutes (env steps / 10 Hz)")
        ax.set_ylabel("success rate (%)")
        ax.set_ylim(-3, 103)
        ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_frame_strip(frames: list[np.ndarray], path: Path, count: int = 8) -> None:
    """Evenly spaced frames of one episode side by side (PNG)."""
    if not frames:
        return
    idx = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    strip = np.concatenate([frames[i] for i in idx], axis=1)
    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))


def summary_table(
    task: str, obs: str, history: list[EvalPoint], updates: int, wall_s: float, plot: Path
) -> str:
    last = history[-1] if history else None
    best = max(history, key=lambda p: p.success) if history else None
    first_hit = next((p for p in history if p.success >= 0.8), None)
    rows = [
        ("task / obs", f"{task} / {obs}"),
        ("env steps", f"{last.env_steps if last else 0}"),
        ("robot minutes", f"{last.robot_minutes:.1f}" if last else "0"),
        ("final eval success", f"{last.success:.0%}" if last else "-"),
        ("best eval success", f"{best.success:.0%} at {best.env_steps} steps" if best else "-"),
        ("first >= 80%", f"{first_hit.env_steps} steps" if first_hit else "not reached"),
        ("final eval return", f"{last.mean_return:.1f}" if last else "-"),
        ("gradient updates", f"{updates} ({updates / max(wall_s, 1e-9):.0f}/s wall)"),
        ("wall time", f"{wall_s / 60:.1f} min"),
        ("plot", str(plot)),
        ("tensorboard", f"tensorboard --logdir {plot.parent / 'tb'}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
