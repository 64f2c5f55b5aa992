"""``robot-rl twin failures RUN_DIR``: TwinRL's failure search with a run's policy."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np


def search_failures(
    run_dir: Path,
    configs: int,
    num_envs: int = 4,
    seed: int = 0,
    variant: str | None = None,
    out: Path | None = None,
    progress: bool = True,
) -> tuple[int, Path]:
    """Run the newest checkpoint's deterministic policy on ``configs`` sampled reset
    configurations in the batched twin (the run's cell variant, or ``variant``) and write
    the failures JSON (default RUN_DIR/failures.json). Returns (failures, path). Raises
    ValueError (RunDirError included) with a one-line reason."""
    import torch

    from robot_rl.envs.failure_search import find_failures, save_failures
    from robot_rl.envs.vector_env import TwinVectorEnv
    from robot_rl.eval.load import load_policy
    from robot_rl.train.run import env_config
    from robot_rl.twin.variants import get_variant

    torch.set_num_threads(1)
    loaded = load_policy(run_dir)
    cfg = loaded.config
    if cfg.env_id:
        raise ValueError(f"{run_dir}: trained on {cfg.env_id}, not a twin task")
    name = variant or cfg.cell_variant
    try:
        get_variant(name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    env_cfg = env_config(cfg)
    envs = TwinVectorEnv(num_envs, replace(env_cfg, cell=replace(env_cfg.cell, variant=name)))

    def policy(_envs: TwinVectorEnv, obs: dict[str, Any]) -> np.ndarray:
        images = obs.get("images", {})  # absent in state mode
        rows = [
            {"state": obs["state"][i], "images": {c: v[i] for c, v in images.items()}}
            for i in range(num_envs)
        ]
        return np.stack([loaded.policy(o) for o in rows])

    try:
        failures = find_failures(envs, policy, configs, seed, progress)
    finally:
        envs.close()
    path = out or run_dir / "failures.json"
    meta = {"run_dir": str(run_dir), "checkpoint": str(loaded.checkpoint), "variant": name}
    save_failures(path, failures, configs, seed=seed, **meta)
    return len(failures), path


def _failures(args: argparse.Namespace) -> int:
    if args.configs <= 0 or args.num_envs <= 0:
        print("--configs and --num-envs must be > 0", file=sys.stderr)
        return 2
    try:
        n, path = search_failures(
            Path(args.run_dir),
            args.configs,
            args.num_envs,
            args.seed,
            args.variant,
            Path(args.out) if args.out else None,
            not args.quiet,
        )
    except ValueError as e:
        print(f"robot-rl twin failures: {e}", file=sys.stderr)
        return 2
    print(f"{n} of {args.configs} configurations failed ({n / args.configs:.0%}); {path}")
    return 0


def register_cli(sub: Any) -> None:
    """Add ``twin failures`` to the ``robot-rl`` subcommands."""
    twin = sub.add_parser("twin", help="TwinRL tools on the batched twin")
    tsub = twin.add_subparsers(dest="twin_command", required=True)
    fs = tsub.add_parser(
        "failures",
        help="find reset configurations where a run's policy fails (for failure_resets)",
    )
    fs.add_argument("run_dir", help="run folder of `robot-rl train`")
    fs.add_argument("--configs", type=int, default=200, help="configurations to try")
    fs.add_argument("--num-envs", type=int, default=4, help="twin envs stepped together")
    fs.add_argument("--seed", type=int, default=0, help="seed of the configuration sample")
    fs.add_argument("--variant", help="cell variant to search in (default: the run's)")
    fs.add_argument("--out", help="failures JSON (default RUN_DIR/failures.json)")
    fs.add_argument("--quiet", action="store_true", help="no progress bar")
    fs.set_defaults(func=_failures)
