"""``robot-rl eval RUN_DIR``: a checkpoint's policy on fresh episodes, with intervals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def run_eval(
    run_dir: Path,
    episodes: int = 100,
    offset: int = 0,
    out: Path | None = None,
    with_operator: bool = False,
    progress: bool = True,
    **load_args: Any,
) -> tuple[dict[str, Any], Path]:
    """Evaluate the newest checkpoint of ``run_dir`` on fresh seeds; returns (report summary,
    eval.json path). Raises RunDirError or ValueError with a one-line reason."""
    import torch

    from robot_rl.eval import harness, seeds
    from robot_rl.eval.load import RunDirError, load_policy

    torch.set_num_threads(1)
    fresh = seeds.fresh_seeds(episodes, offset)
    loaded = load_policy(run_dir, **load_args)
    # Any run below a million episodes: every env step starts at most one episode.
    seeds.check_fresh(fresh, loaded.config.seed, 1_000_000)
    if with_operator and loaded.make_operator is None:
        raise RunDirError(f"{run_dir}: trained without a human in the loop; drop --operator")
    outcomes, failures = harness.evaluate_policy(
        loaded.make_env,
        loaded.policy,
        fresh,
        loaded.make_operator if with_operator else None,
        progress=progress,
    )
    probe = loaded.make_env()
    control_hz = probe.cfg.control_hz
    probe.close()
    summary = harness.summarize(outcomes, control_hz)
    cfg = loaded.config
    meta = {
        "run_dir": str(run_dir),
        "checkpoint": str(loaded.checkpoint),
        "trained_env_steps": loaded.env_steps,
        "task": cfg.task,
        "obs": cfg.obs,
        "train_seed": cfg.seed,
        "seeds": [fresh.start, fresh.stop],
        "operator": with_operator,
    }
    path = harness.write_report(out or run_dir / "eval", summary, outcomes, failures, meta)
    return summary, path


def _eval(args: argparse.Namespace) -> int:
    from robot_rl.eval.harness import format_summary

    if args.episodes <= 0 or args.offset < 0:
        print("--episodes must be > 0 and --offset >= 0", file=sys.stderr)
        return 2
    try:
        summary, path = run_eval(
            Path(args.run_dir),
            args.episodes,
            args.offset,
            Path(args.out) if args.out else None,
            args.operator,
            not args.quiet,
            image_size=args.image_size,
        )
    except ValueError as e:  # RunDirError included
        print(f"robot-rl eval: {e}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    print(f"report: {path}")
    return 0


def register_cli(sub: Any) -> None:
    """Add ``eval`` to the ``robot-rl`` subcommands."""
    ev = sub.add_parser(
        "eval", help="a run's policy on N fresh episodes: success with Wilson CI, cycle time"
    )
    ev.add_argument("run_dir", help="run folder of `robot-rl train` (or a graph learner's)")
    ev.add_argument("-n", "--episodes", type=int, default=100, help="fresh episodes (default 100)")
    ev.add_argument("--offset", type=int, default=0, help="start this far into the fresh seed set")
    ev.add_argument("--out", help="report folder (default RUN_DIR/eval)")
    ev.add_argument(
        "--operator", action="store_true", help="keep the run's simulated operator in the loop"
    )
    ev.add_argument("--image-size", type=int, help="override the rendered image size (pixels)")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=_eval)
