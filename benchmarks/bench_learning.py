"""Learning curves on the twin: env steps to a success target, median over seeds.

Each seed is one `robot-rl train` run from the embedded default config (`--set` overrides
it), stopped at the first evaluation at or above the target. The final policy is then
re-evaluated on `--confirm` fresh episodes, so a lucky evaluation does not count as a
result. Seeds run as separate processes (`--jobs`), one torch thread each.

    python benchmarks/bench_learning.py --task pick_cube --obs state --seeds 0 1 2 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from robot_rl.train.config import default_config, from_dict
from robot_rl.train.report import EvalPoint, plot_success
from robot_rl.train.run import EVAL_SEED_BASE, evaluate, make_env, train

CONFIRM_SEED_OFFSET = 500_000  # confirmation episodes never overlap the training evaluations


def run_seed(task: str, obs: str, seed: int, overrides: dict[str, Any], out: Path) -> dict:
    cfg = from_dict({**overrides, "seed": seed}, base=default_config(task, obs))
    cfg = replace(cfg, sac=replace(cfg.sac, seed=seed))
    t0 = time.perf_counter()
    result = train(cfg, out / f"seed{seed}", progress=False)
    hit = next((p for p in result.history if p.success >= (cfg.stop_at_success or 2.0)), None)
    return {
        "seed": seed,
        "steps_to_target": hit.env_steps if hit else None,
        "final_steps": result.env_steps,
        "final_success": result.final_success,
        "updates": result.num_updates,
        "operator_steps": result.operator_steps,
        "wall_s": time.perf_counter() - t0,
        "history": [p.__dict__ for p in result.history],
        "run_dir": str(result.run_dir),
    }


def confirm(task: str, obs: str, run_dir: Path, episodes: int) -> float:
    """Success of the final checkpoint's deterministic policy on fresh episodes."""
    import torch

    from robot_rl.agents.types import obs_spec_from_space
    from robot_rl.train.learner import Learner

    cfg = from_dict(json.loads((run_dir / "config.json").read_text()))
    env = make_env(cfg, learned_reward=False)  # success by the privileged predicate
    learner = Learner(cfg, obs_spec_from_space(env.observation_space), run_dir)
    torch.set_num_threads(1)
    learner.restore(run_dir / "checkpoint")
    success, _, _ = evaluate(
        env, learner.agent, episodes, seed_base=EVAL_SEED_BASE + CONFIRM_SEED_OFFSET
    )
    env.close()
    return success


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", default="pick_cube")
    ap.add_argument("--obs", default="state", choices=["state", "pixels"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--confirm", type=int, default=50, help="fresh episodes for the final check")
    ap.add_argument("--set", default="{}", help="YAML mapping of training config overrides")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_learning"))
    args = ap.parse_args()
    overrides = yaml.safe_load(args.set) or {}
    out = args.out / f"{args.task}_{args.obs}"
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(run_seed, args.task, args.obs, s, overrides, out) for s in args.seeds
        ]
        rows = [f.result() for f in futures]
    for row in rows:
        row["confirm_success"] = confirm(args.task, args.obs, Path(row["run_dir"]), args.confirm)
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    plot_success(
        [EvalPoint(**p) for p in rows[0]["history"]],
        out / "seed0_success.png",
        title=f"{args.task} from {args.obs}",
        target=None,
    )
    confirm_col = f"confirm ({args.confirm} ep)"
    print(
        f"| seed | env steps to target | final success | {confirm_col} | operator steps "
        "| updates | wall s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['seed']} | {r['steps_to_target']} | {r['final_success']:.0%} | "
            f"{r['confirm_success']:.0%} | {r['operator_steps']} | {r['updates']} | "
            f"{r['wall_s']:.0f} |"
        )
    # A seed that never reached the target counts as infinitely slow.
    hits = [r["steps_to_target"] or math.inf for r in rows]
    reached = sum(math.isfinite(h) for h in hits)
    median = statistics.median(hits)
    print(f"median env steps to target: {median} ({reached}/{len(hits)} seeds reached)")
    print(f"median confirm success: {statistics.median(r['confirm_success'] for r in rows):.0%}")


if __name__ == "__main__":
    main()
