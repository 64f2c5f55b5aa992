"""The scripted-expert job: every task in the twin, a success table and a PNG strip of frames.

It is the main command until the learner lands (``robot-rl demo``) and a quick health check
of a fresh install: the arm, controller, safety filter, tasks, experts and cameras all run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from robot_rl.envs.rollout import EpisodeResult, ExpertPolicy, run_episode
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.twin.tasks import TASKS

STRIP_FRAMES = 6  # frames per camera per task in the PNG


@dataclass
class TaskSummary:
    task: str
    episodes: int
    successes: int
    mean_steps: float

    @property
    def rate(self) -> float:
        return self.successes / max(self.episodes, 1)


def run_scripted(
    tasks: list[str], episodes: int, out_dir: Path, seed: int = 0, progress: bool = True
) -> tuple[list[TaskSummary], Path]:
    """Run the expert ``episodes`` times per task; returns summaries and the PNG path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries, rows = [], []
    bar = tqdm(total=episodes * len(tasks), disable=not progress, unit="ep")
    for task in tasks:
        env = TwinEnv(task=task, obs="pixels")
        policy = ExpertPolicy(env)
        results: list[EpisodeResult] = []
        for ep in range(episodes):
            res = run_episode(env, policy, seed=seed + ep, record=(ep == 0))
            results.append(res)
            bar.set_postfix(task=task, success=f"{sum(r.success for r in results)}/{ep + 1}")
            bar.update()
        rows.append(_strip_row(task, results[0]))
        env.close()
        summaries.append(
            TaskSummary(
                task,
                len(results),
                sum(r.success for r in results),
                float(np.mean([r.steps for r in results])),
            )
        )
    bar.close()
    png = out_dir / "scripted_frames.png"
    cv2.imwrite(str(png), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    return summaries, png


def _strip_row(task: str, res: EpisodeResult) -> np.ndarray:
    """One row: evenly spaced frames of each camera, with the task name and step written."""
    tiles = []
    for name, frames in sorted(res.frames.items()):
        idx = np.linspace(0, len(frames) - 1, STRIP_FRAMES).round().astype(int)
        for i in idx:
            tile = cv2.resize(frames[i], (160, 160), interpolation=cv2.INTER_NEAREST).copy()
            label = f"{task} {name} t={i}"
            cv2.putText(tile, label, (3, 12), cv2.FONT_HERSHEY_PLAIN, 0.8, (255, 255, 255), 1)
            tiles.append(tile)
    return np.concatenate(tiles, axis=1)


def format_table(summaries: list[TaskSummary]) -> str:
    lines = [f"{'task':<12} {'episodes':>8} {'success':>8} {'rate':>6} {'mean steps':>10}"]
    for s in summaries:
        lines.append(
            f"{s.task:<12} {s.episodes:>8} {s.successes:>8} {s.rate:>6.0%} {s.mean_steps:>10.1f}"
        )
    return "\n".join(lines)


ALL_TASKS = sorted(TASKS)
