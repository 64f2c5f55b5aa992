"""TwinRL on the twin: "real" env steps to 90% on the shifted cell, from scratch against
after twin pre-training, against pre-training plus failure-targeted resets.

Per seed, every run trains its whole fixed budget (no early stop) through `robot-rl train`'s
core (bench_learning.run_seed), evaluated every `eval_every_steps` on the cell it trains on:
- scratch: `cell_variant: shifted_real` for `--real-steps`;
- pretrain: the nominal twin for `--pretrain-steps` (twin steps, not "real" ones);
- deploy: `shifted_real` for `--real-steps` with `init_from` the pre-trained run (its agent,
  its replay as prior data) and no random warm-up;
- deploy+failures: as deploy, with `failure_resets` from a failure search of the pre-trained
  policy in the nominal batched twin (`robot-rl twin failures`), `--failure-frac` of the
  episodes reset to those configurations. `--set-failures` adds overrides to this arm only
  (e.g. `{hil: hil_serl, operator_attends_failures: true}` for the simulated operator,
  attending the failure configurations only) and `--failures-arm` names that arm, so a
  second pass over the same `--out` adds it beside the first (finished runs resume at
  their end and only re-evaluate).

"Real" env steps to 90% are the first evaluation at or above 90% (0 when the pre-trained
policy already scores 90% on the shifted cell before any real step); every run's final
policy then runs `--fresh` fresh episodes (`robot-rl eval`) on its own cell.

    python benchmarks/bench_twinrl.py --task pick_cube --obs state --seeds 0 1 2 --jobs 2 \
        --pretrain-steps 15000 --real-steps 15000 --set "{eval_episodes: 20}"
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from bench_learning import fresh_eval, run_seed

from robot_rl.envs.cli import search_failures
from robot_rl.loop import checkpoint
from robot_rl.train.config import default_config, from_dict
from robot_rl.train.run import evaluate, make_env

REAL = "shifted_real"
ARMS = ("scratch", "deploy", "deploy+failures")


def zero_shot(run_dir: Path, episodes: int) -> float:
    """A pre-trained run's policy on the shifted cell's evaluation seeds, before any real step."""
    cfg, agent = checkpoint.load_policy(run_dir)
    cfg.cell_variant = REAL
    env = make_env(cfg, learned_reward=False)
    try:
        return evaluate(env, agent, episodes)[0]
    finally:
        env.close()


def to_90(row: dict[str, Any], start: float | None = None) -> int | None:
    """Env steps of the first evaluation at >= 90% (0 when ``start`` already is)."""
    if start is not None and start >= 0.9:
        return 0
    hits = [p["env_steps"] for p in row["history"] if p["success"] >= 0.9]
    return hits[0] if hits else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", default="pick_cube")
    ap.add_argument("--obs", default="state", choices=["state", "pixels"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--pretrain-steps", type=int, default=15_000, help="twin (nominal) budget")
    ap.add_argument("--real-steps", type=int, default=15_000, help='"real" (shifted) budget')
    ap.add_argument("--failure-configs", type=int, default=200, help="failure search size")
    ap.add_argument("--failure-frac", type=float, default=0.5, help="episodes reset to failures")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--fresh", type=int, default=100, help="fresh episodes per run at the end")
    ap.add_argument("--set", default="{}", help="YAML training config overrides, every run")
    ap.add_argument("--set-failures", default="{}", help="YAML overrides, deploy+failures only")
    ap.add_argument("--failures-arm", default=ARMS[2], help="name of the third arm (its folder)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_twinrl"))
    args = ap.parse_args()
    common = yaml.safe_load(args.set) or {}
    extra = yaml.safe_load(args.set_failures) or {}
    for key in ("stop_at_success", "cell_variant", "init_from", "failure_resets"):
        if key in common or key in extra:
            ap.error(f"bench_twinrl sets {key} itself; drop it from --set")
    root = args.out / f"{args.task}_{args.obs}"
    base = from_dict(common, default_config(args.task, args.obs))
    # The prior replay and the demos share the demo buffer: room for both.
    room = max(base.sac.replay.demo_capacity_frames, 2 * args.pretrain_steps + 20_000)
    deploy = {**common, "random_steps": 0, "sac.replay.demo_capacity_frames": room}

    def job(arm: str, seed: int, steps: int, overrides: dict[str, Any]) -> tuple[Any, ...]:
        return (args.task, args.obs, seed, steps, overrides, root / arm)

    with ProcessPoolExecutor(args.jobs) as pool:
        first = {}
        for s in args.seeds:
            real = {**common, "cell_variant": REAL}
            first["scratch", s] = pool.submit(run_seed, *job("scratch", s, args.real_steps, real))
            nominal = job("pretrain", s, args.pretrain_steps, common)
            first["pretrain", s] = pool.submit(run_seed, *nominal)
        rows = {k: f.result() for k, f in first.items()}
        prior = {s: Path(rows["pretrain", s]["run_dir"]) for s in args.seeds}
        searches = {
            s: pool.submit(search_failures, prior[s], args.failure_configs, 4, s, progress=False)
            for s in args.seeds
        }
        starts = {s: pool.submit(zero_shot, prior[s], base.eval_episodes) for s in args.seeds}
        found = {s: f.result() for s, f in searches.items()}
        second = {}
        for s in args.seeds:
            dep = {**deploy, "cell_variant": REAL, "init_from": str(prior[s])}
            second["deploy", s] = pool.submit(run_seed, *job("deploy", s, args.real_steps, dep))
            if found[s][0] == 0:
                print(f"seed {s}: the failure search found no failure; deploy+failures skipped")
                continue
            fail = {
                **dep,
                **extra,
                "failure_resets": str(found[s][1]),
                "failure_reset_frac": args.failure_frac,
            }
            arm = job(args.failures_arm, s, args.real_steps, fail)
            second[args.failures_arm, s] = pool.submit(run_seed, *arm)
        rows.update({k: f.result() for k, f in second.items()})
        zero = {s: f.result() for s, f in starts.items()}
        evals = {
            k: pool.submit(fresh_eval, r["run_dir"], args.fresh)
            for k, r in rows.items()
            if k[0] != "pretrain"
        }
        for k, fut in evals.items():
            rows[k]["fresh"] = fut.result()
    report(args, common, extra, rows, found, zero, root)


def report(
    args: argparse.Namespace,
    common: dict[str, Any],
    extra: dict[str, Any],
    rows: dict[tuple[str, int], dict[str, Any]],
    found: dict[int, tuple[int, Path]],
    zero: dict[int, float],
    root: Path,
) -> None:
    """The per-run table, the per-arm medians against scratch, and results.json."""
    print(
        f"\n{args.task} from {args.obs}: pre-train {args.pretrain_steps:,} twin steps, "
        f'{args.real_steps:,} "real" ({REAL}) steps per run, {len(args.seeds)} seeds'
    )
    print(
        '| arm | seed | "real" env steps to >= 90% | success before any real step '
        f"| final eval success | fresh success ({args.fresh} ep) | operator steps | wall s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    medians: dict[str, list[float]] = {}
    for arm in (*ARMS[:2], args.failures_arm):
        for s in args.seeds:
            r = rows.get((arm, s))
            if r is None:
                continue
            start = None if arm == "scratch" else zero[s]
            steps = to_90(r, start)
            r["steps_to_90"] = steps
            medians.setdefault(arm, []).append(np.inf if steps is None else steps)
            shown = "not reached" if steps is None else f"{steps:,}"
            before = "-" if start is None else f"{start:.0%}"
            print(
                f"| {arm} | {s} | {shown} | {before} | {r['final_eval_success']:.0%} | "
                f"{r['fresh']['success_rate']:.0%} | {r['operator_steps']} | {r['wall_s']:.0f} |"
            )
    for s in args.seeds:
        n = found[s][0]
        pre = rows["pretrain", s]["final_eval_success"]
        print(
            f"seed {s}: pre-trained policy {pre:.0%} at its last nominal evaluation, "
            f"{zero[s]:.0%} on {REAL}; failure search: {n} of {args.failure_configs} failed"
        )
    ref = float(np.median(medians["scratch"]))
    for arm, values in medians.items():
        m = float(np.median(values))
        both = np.isfinite(m) and np.isfinite(ref) and ref > 0 and arm != "scratch"
        vs = f"({1 - m / ref:.0%} fewer than scratch)" if both else ""
        text = "not reached" if not np.isfinite(m) else f"{m:,.0f}"
        print(f'median "real" env steps to 90%, {arm}: {text} {vs}')
    summary = {
        "task": args.task,
        "obs": args.obs,
        "seeds": args.seeds,
        "pretrain_steps": args.pretrain_steps,
        "real_steps": args.real_steps,
        "failure_configs": args.failure_configs,
        "failure_frac": args.failure_frac,
        "overrides": common,
        "failure_overrides": extra,
        "zero_shot_success": zero,
        "failures_found": {s: n for s, (n, _) in found.items()},
        "runs": [{"arm": a, **r} for (a, _), r in rows.items()],
    }
    root.mkdir(parents=True, exist_ok=True)
    name = "results.json" if args.failures_arm == ARMS[2] else f"results-{args.failures_arm}.json"
    (root / name).write_text(json.dumps(summary, indent=2, default=str))
    print(f"outputs: {root / name}")


if __name__ == "__main__":
    main()
