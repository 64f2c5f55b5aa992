"""`robot-rl train --env ID` on a gymnasium env nobody here wrote (default Pendulum-v1).

Each seed trains the main job's core on a fixed budget of env steps (no early stop), then
its final policy is scored on fresh episodes (reset seeds no training episode used). Prints
per-seed mean returns, the IQM over seeds with a 95% bootstrap interval, and the goal
(issue 17: better than -300 within 15,000 env steps on Pendulum-v1).

    .venv/bin/python benchmarks/bench_foreign_env.py --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from robot_rl.eval.seeds import FRESH_SEED_BASE
from robot_rl.eval.stats import iqm_ci
from robot_rl.loop import checkpoint
from robot_rl.train.config import from_dict
from robot_rl.train.run import make_env, train


def fresh_return(run_dir: Path, episodes: int) -> float:
    """Mean return of the run's final deterministic policy over fresh episodes."""
    cfg, agent = checkpoint.load_policy(run_dir)
    env = make_env(cfg, learned_reward=False)
    total = 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=FRESH_SEED_BASE + k)
        done = False
        while not done:
            obs, r, term, trunc, _ = env.step(agent.act(obs, deterministic=True))
            total += float(r)
            done = term or trunc
    env.close()
    return total / episodes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--env", default="Pendulum-v1")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--env-steps", type=int, default=15_000)
    ap.add_argument("--fresh", type=int, default=20, help="fresh episodes per seed")
    ap.add_argument("--goal", type=float, default=-300.0, help="mean return to beat")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_foreign_env"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    returns = []
    for seed in args.seeds:
        run_dir = args.out / f"{args.env}-s{seed}"
        cfg = from_dict(
            {"env_id": args.env, "seed": seed, "env_steps": args.env_steps, "torch_threads": 1}
        )
        result = train(cfg, run_dir, progress=True)
        ret = fresh_return(run_dir, args.fresh)
        returns.append(ret)
        last = result.history[-1] if result.history else None
        print(
            f"seed {seed}: fresh mean return {ret:.1f} over {args.fresh} episodes "
            f"(last periodic eval {last.mean_return if last else float('nan'):.1f}, "
            f"wall {result.wall_s / 60:.1f} min)",
            flush=True,
        )
    point, lo, hi = iqm_ci(np.array(returns)[:, None])
    summary = {
        "env": args.env,
        "env_steps": args.env_steps,
        "seeds": args.seeds,
        "fresh_episodes_per_seed": args.fresh,
        "returns": [round(r, 1) for r in returns],
        "iqm": round(point, 1),
        "iqm_ci95": [round(lo, 1), round(hi, 1)],
        "goal": args.goal,
        "seeds_beating_goal": int(sum(r > args.goal for r in returns)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
