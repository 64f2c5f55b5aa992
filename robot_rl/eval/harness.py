"""Fresh-episode evaluation of any policy: success with a Wilson interval, cycle time, return,
intervention rate, and a strip of how the failures ended.

Takes a policy callable and an env factory (robot_rl/eval/load.py makes both from a run
folder), so it evaluates scripted, learned or graph policies alike. Episodes run one after
another in one env; each blocks until terminated (success) or truncated (time limit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from robot_rl.envs.rollout import Policy, run_episode
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.eval.stats import wilson_interval
from robot_rl.hil.session import HilSession
from robot_rl.hil.sim_operator import SimulatedOperator


@dataclass(frozen=True)
class EpisodeOutcome:
    seed: int
    success: bool
    steps: int  # policy steps until success or the time limit
    ret: float  # sum of the env's reward (the twin's task reward)
    operator_steps: int = 0  # steps the (simulated) operator drove
    interventions: int = 0  # operator takeovers


class Supervised:
    """A policy whose every action passes the operator's arbitration, as in training with
    the human in the loop; ``session.stats`` counts the takeovers of the current episode."""

    def __init__(
        self, env: TwinEnv, policy: Policy, session: HilSession, operator: SimulatedOperator
    ) -> None:
        self.env, self.policy, self.session, self.operator = env, policy, session, operator

    def reset(self) -> None:
        self.session.reset()
        self.operator.reset()
        reset = getattr(self.policy, "reset", None)
        if reset is not None:
            reset()

    def __call__(self, obs: dict[str, Any]) -> np.ndarray:
        proposal = np.asarray(self.policy(obs), dtype=np.float32)
        now_s = float(self.env.cell.data.time)
        decision = self.session.act(obs, proposal, self.operator.command(proposal, now_s), now_s)
        return np.asarray(decision.action, dtype=np.float32)


def evaluate_policy(
    make_env: Callable[[], TwinEnv],
    policy: Policy,
    seeds: range,
    operator: Callable[[TwinEnv], tuple[HilSession, SimulatedOperator]] | None = None,
    max_failure_frames: int = 12,
    progress: bool = True,
) -> tuple[list[EpisodeOutcome], list[tuple[int, np.ndarray]]]:
    """One episode per seed. Returns the outcomes and (seed, final RGB frame) of up to
    ``max_failure_frames`` failed episodes (rendered after the last step)."""
    env = make_env()
    actor: Policy = policy
    supervised = None
    if operator is not None:
        supervised = Supervised(env, policy, *operator(env))
        actor = supervised
    outcomes: list[EpisodeOutcome] = []
    failures: list[tuple[int, np.ndarray]] = []
    bar = tqdm(seeds, disable=not progress, unit="ep", desc="eval")
    try:
        for seed in bar:
            ep = run_episode(env, actor, seed)
            stats = supervised.session.stats if supervised is not None else None
            outcomes.append(
                EpisodeOutcome(
                    seed,
                    ep.success,
                    ep.steps,
                    float(ep.ret),
                    stats.human_steps if stats else 0,
                    stats.interventions if stats else 0,
                )
            )
            if not ep.success and len(failures) < max_failure_frames:
                failures.append((seed, env.render()))
            wins = sum(o.success for o in outcomes)
            bar.set_postfix(success=f"{wins}/{len(outcomes)}")
    finally:
        bar.close()
        env.close()
    return outcomes, failures


def summarize(outcomes: list[EpisodeOutcome], control_hz: float) -> dict[str, Any]:
    """The reported figures: success rate and its Wilson 95% interval, cycle time of the
    successes (steps and seconds at ``control_hz``), return, and intervention rate."""
    if not outcomes:
        raise ValueError("no episodes to summarize")
    n = len(outcomes)
    wins = [o for o in outcomes if o.success]
    low, high = wilson_interval(len(wins), n)
    cycle = np.array([o.steps for o in wins], dtype=np.float64)
    rets = np.array([o.ret for o in outcomes])
    steps = sum(o.steps for o in outcomes)
    return {
        "episodes": n,
        "successes": len(wins),
        "success_rate": len(wins) / n,
        "success_wilson95": [low, high],
        "cycle_steps_mean": float(cycle.mean()) if len(wins) else None,
        "cycle_steps_median": float(np.median(cycle)) if len(wins) else None,
        "cycle_s_median": float(np.median(cycle)) / control_hz if len(wins) else None,
        "return_mean": float(rets.mean()),
        "return_std": float(rets.std()),
        "intervention_rate": sum(o.operator_steps for o in outcomes) / max(steps, 1),
        "interventions_per_episode": sum(o.interventions for o in outcomes) / n,
    }


def save_failure_strip(
    failures: list[tuple[int, np.ndarray]], path: Path, columns: int = 4
) -> Path | None:
    """Final frames of failed episodes in a grid, each labelled with its seed (PNG).
    Writes nothing and returns None when there are no failures."""
    if not failures:
        return None
    h, w, _ = failures[0][1].shape
    rows = -(-len(failures) // columns)
    grid = np.full((rows * h, columns * w, 3), 255, dtype=np.uint8)
    for i, (seed, frame) in enumerate(failures):
        tile = np.ascontiguousarray(frame[:h, :w])
        cv2.putText(tile, f"seed {seed}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
        r, c = divmod(i, columns)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return path


def write_report(
    out_dir: Path,
    summary: dict[str, Any],
    outcomes: list[EpisodeOutcome],
    failures: list[tuple[int, np.ndarray]],
    meta: dict[str, Any],
) -> Path:
    """eval.json (meta, summary, every episode) and failures.png in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = save_failure_strip(failures, out_dir / "failures.png")
    report = {
        **meta,
        **summary,
        "failures_png": str(png) if png else None,
        "per_episode": [asdict(o) for o in outcomes],
    }
    path = out_dir / "eval.json"
    path.write_text(json.dumps(report, indent=2))
    return path


def format_summary(summary: dict[str, Any]) -> str:
    """The figures as a few aligned lines for the terminal."""
    lo, hi = summary["success_wilson95"]
    rows = [
        (
            "success",
            f"{summary['successes']}/{summary['episodes']} = "
            f"{summary['success_rate']:.0%} (Wilson 95% {lo:.0%}..{hi:.0%})",
        ),
        (
            "cycle time (median)",
            "-"
            if summary["cycle_steps_median"] is None
            else f"{summary['cycle_steps_median']:.0f} steps = {summary['cycle_s_median']:.1f} s",
        ),
        ("return", f"{summary['return_mean']:.2f} ± {summary['return_std']:.2f}"),
        (
            "intervention rate",
            f"{summary['intervention_rate']:.1%} of steps, "
            f"{summary['interventions_per_episode']:.2f} takeovers/episode",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
