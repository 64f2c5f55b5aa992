"""Learning on the twin over seeds on a fixed budget: IQM curves with 95% bootstrap CIs, a
performance profile, and each seed's final policy on fresh episodes (`robot-rl eval`).

Each seed is one `robot-rl train` run from the embedded default config, with `--set`
overrides, trained for the whole `--env-steps` budget (no stop at the first evaluation
above a target). The periodic evaluations give the curves: their IQM over seeds with a
stratified-bootstrap 95% interval. The final checkpoint of every seed then runs `--fresh`
episodes on seeds disjoint from training (robot_rl/eval/seeds.py), each with a Wilson
interval; their IQM over seeds, with its bootstrap CI, is the headline figure. Seeds run as
separate processes (`--jobs`), one torch thread each. `--label` names a variant, so that
ablations land side by side under `--out`. `--links inproc graph` trains every seed both
in-process and through the DDS training graph (`robot-rl train --graph dds`, node
processes on loopback), for the side-by-side table of the two links.

    python benchmarks/bench_learning.py --task pick_cube --obs pixels --seeds 0 1 2 3 4 \
        --env-steps 6000 --jobs 2 --set "{reward_model: models/pick_cube_success}"
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot_rl.eval.cli import run_eval
from robot_rl.eval.plots import iqm_curve, plot_iqm_curves, plot_profiles
from robot_rl.eval.stats import iqm_ci
from robot_rl.train.config import default_config, from_dict
from robot_rl.train.graph_run import train_graph
from robot_rl.train.run import train

LOOPBACK = Path(__file__).resolve().parents[1] / "tests" / "graph" / "cyclonedds_loopback.xml"


def run_seed(
    task: str,
    obs: str,
    seed: int,
    env_steps: int | None,
    overrides: dict[str, Any],
    out: Path,
    link: str = "inproc",
) -> dict[str, Any]:
    """Train one seed for the whole budget through ``link`` ("inproc" or "graph"); returns
    its evaluation history and counters."""
    cfg = from_dict({**overrides, "seed": seed}, base=default_config(task, obs))
    cfg = replace(cfg, sac=replace(cfg.sac, seed=seed), stop_at_success=None)
    if env_steps is not None:
        cfg = replace(cfg, env_steps=env_steps)
    t0 = time.perf_counter()
    if link == "graph":
        os.environ.setdefault("CYCLONEDDS_URI", LOOPBACK.as_uri())
        result = train_graph(cfg, out / f"seed{seed}", progress=False)
    else:
        result = train(cfg, out / f"seed{seed}", progress=False)
    to80 = [p.env_steps for p in result.history if p.success >= 0.8]
    return {
        "seed": seed,
        "link": link,
        "steps_to_80": to80[0] if to80 else None,
        "final_steps": result.env_steps,
        "final_eval_success": result.final_success,
        "updates": result.num_updates,
        "operator_steps": result.operator_steps,
        "sim_blowups": result.sim_blowups,
        "wall_s": time.perf_counter() - t0,
        "history": [p.__dict__ for p in result.history],
        "run_dir": str(result.run_dir),
    }


def fresh_eval(run_dir: str, episodes: int) -> dict[str, Any]:
    """The final checkpoint's deterministic policy on fresh episodes (robot-rl eval)."""
    summary, _ = run_eval(Path(run_dir), episodes, progress=False)
    return summary


def curves(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(env steps (P,), success (seeds, P)) over the evaluation points all seeds share."""
    points = min(len(r["history"]) for r in rows)
    x = np.array([p["env_steps"] for p in rows[0]["history"][:points]], dtype=np.float64)
    success = np.array([[p["success"] for p in r["history"][:points]] for r in rows])
    return x, success


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", default="pick_cube")
    ap.add_argument("--obs", default="state", choices=["state", "pixels"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--env-steps", type=int, help="fixed budget per seed (default: the config's)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--fresh", type=int, default=100, help="fresh episodes per seed at the end")
    ap.add_argument("--set", default="{}", help="YAML mapping of training config overrides")
    ap.add_argument("--label", default="default", help="variant name (ablations)")
    ap.add_argument("--reps", type=int, default=2000, help="bootstrap replicates")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_learning"))
    ap.add_argument("--links", nargs="+", default=["inproc"], choices=["inproc", "graph"])
    args = ap.parse_args()
    overrides = yaml.safe_load(args.set) or {}
    if "stop_at_success" in overrides:
        ap.error("bench_learning trains the whole budget; drop stop_at_success from --set")
    if len(args.seeds) < 5:
        print(f"note: {len(args.seeds)} seeds; reported figures need at least 5")
    root = args.out / f"{args.task}_{args.obs}"
    outs = {k: root / (args.label if k == "inproc" else f"{args.label}-{k}") for k in args.links}
    jobs = [(k, s) for k in reversed(args.links) for s in args.seeds]  # the graph's first
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(run_seed, args.task, args.obs, s, args.env_steps, overrides, outs[k], k)
            for k, s in jobs
        ]
        for fut in as_completed(futures):  # progress: each run as it ends
            r = fut.result()
            print(
                f"{r['link']} seed {r['seed']}: {r['final_steps']} env steps, last eval "
                f"{r['final_eval_success']:.0%}, to 80% {r['steps_to_80']}, {r['wall_s']:.0f} s",
                flush=True,
            )
        done = [f.result() for f in futures]
        evals = [pool.submit(fresh_eval, r["run_dir"], args.fresh) for r in done]
        for row, fut in zip(done, evals, strict=True):
            row["fresh"] = fut.result()
            rate = row["fresh"]["success_rate"]
            print(f"{row['link']} seed {row['seed']}: fresh {rate:.1%}", flush=True)
    for link in args.links:
        report(args, overrides, [r for r in done if r["link"] == link], outs[link], link)


def report(
    args: argparse.Namespace,
    overrides: dict[str, Any],
    rows: list[dict[str, Any]],
    out: Path,
    link: str,
) -> None:
    """results.json, the IQM curve and profile plots, and the tables of one link."""
    x, success = curves(rows)
    curve = iqm_curve(success, reps=args.reps)
    fresh = np.array([r["fresh"]["success_rate"] for r in rows])
    head = iqm_ci(fresh, reps=args.reps)
    title = f"{args.task} from {args.obs} ({args.label}, {link}, {len(rows)} seeds)"
    plot_iqm_curves({args.label: (x, curve)}, out / "iqm_curve.png", title, "env steps")
    plot_profiles({args.label: fresh[:, None]}, out / "profile.png", title, reps=args.reps)
    summary = {
        "task": args.task,
        "obs": args.obs,
        "label": args.label,
        "link": link,
        "overrides": overrides,
        "seeds": args.seeds,
        "fresh_episodes": args.fresh,
        "fresh_success_iqm95": list(head),
        "curve": {"env_steps": x.tolist(), "iqm_low_high": curve.tolist()},
        "per_seed": rows,
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))

    print(f"\n{link}:")
    print(
        f"| seed | env steps to >= 80% | final eval success | fresh success ({args.fresh} ep, "
        "Wilson 95%) | median cycle steps | operator steps | updates | wall s | wall ms/step |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f = r["fresh"]
        lo, hi = f["success_wilson95"]
        cyc = "-" if f["cycle_steps_median"] is None else f"{f['cycle_steps_median']:.0f}"
        to80 = "not reached" if r["steps_to_80"] is None else f"{r['steps_to_80']:,}"
        print(
            f"| {r['seed']} | {to80} | {r['final_eval_success']:.0%} | {f['success_rate']:.0%} "
            f"({lo:.0%}..{hi:.0%}) | {cyc} | {r['operator_steps']} | {r['updates']} "
            f"| {r['wall_s']:.0f} | {1e3 * r['wall_s'] / r['final_steps']:.0f} |"
        )
    ci = f"95% CI {head[1]:.1%}..{head[2]:.1%}"
    print(f"fresh success, IQM over {len(rows)} seeds: {head[0]:.1%} ({ci})")
    print("eval curve, IQM over seeds (95% CI):")
    for steps, (m, lo, hi) in zip(x, curve, strict=True):
        print(f"  {steps:>7.0f} env steps: {m:.0%} ({lo:.0%}..{hi:.0%})")
    print(f"outputs: {out}/results.json, iqm_curve.png, profile.png")


if __name__ == "__main__":
    main()
