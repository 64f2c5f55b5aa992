"""Human-in-the-loop benchmarks in the twin.

Runs that need no learner, each against a baseline measured in the same run:
1. Arbitration overhead: one arbiter step (deadband, frame transform, state machine)
   against one state-only env step.
2. Operator rescue: an idle policy with the simulated operator against the same policy
   alone: success rate and operator steps per episode, per task.
3. Frame-bug cost, behaviour-cloning proxy: a linear policy fitted by least squares to
   operator demos of `reach` stored in the right frame, against the same demos stored
   with the inverse transform (R^T for R) and in the raw device frame. The operator
   faces the robot at a quarter turn, so the wrong frames are not accidentally right.
   Median of 3 seeds.

The issue-5 learning runs are `robot-rl train` runs with the simulated operator, driven by
benchmarks/bench_learning.py (`--set "{hil: hil_serl, operator_yaw_rad: 1.5708}"` and so
on); the exact commands are in benchmarks/RESULTS.md.

    python benchmarks/bench_hil.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.arbiter import Arbiter, ArbiterConfig
from robot_rl.hil.command import make_command
from robot_rl.hil.frames import FrameConfig
from robot_rl.hil.mapping import MappingConfig
from robot_rl.hil.sim_operator import SimOperatorConfig
from robot_rl.hil.twin_loop import run_hil_episode, sim_operator_session

QUARTER_TURN = FrameConfig(operator_yaw_rad=math.pi / 2)


def idle(gripper: float) -> Any:
    return lambda _obs: np.array([0, 0, 0, 0, 0, 0, gripper], dtype=float)


class ListSink:
    """Collects (state, action) pairs for the BC proxy."""

    def __init__(self) -> None:
        self.states: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []

    def add(self, obs: Any, action: np.ndarray, *_: Any, **__: Any) -> None:
        self.states.append(np.asarray(obs["state"], np.float64))
        self.actions.append(np.asarray(action, np.float64))


def bench_overhead(steps: int) -> None:
    env = TwinEnv(task="pick_cube", obs="state")
    arb = Arbiter.for_env(ArbiterConfig(mapping=MappingConfig(FrameConfig(kind="tcp"))), env)
    obs, _ = env.reset(seed=0)
    q = np.asarray(obs["state"][3:7], float)
    cmds = [make_command(np.full(6, 0.5), 1.0, 1, 0.1 * k) for k in range(steps)]
    pol = np.zeros(7)
    t0 = time.perf_counter()
    for k, c in enumerate(cmds):
        arb.step(pol, c, 0.1 * k, q)
    arb_us = (time.perf_counter() - t0) / steps * 1e6
    n = max(steps // 20, 50)
    t0 = time.perf_counter()
    for _ in range(n):
        _, _, term, trunc, _ = env.step(pol)
        if term or trunc:
            env.reset()
    env_us = (time.perf_counter() - t0) / n * 1e6
    print("\n1. arbitration overhead (tcp frame, human driving)")
    print(f"   arbiter step {arb_us:8.1f} us   env step (state) {env_us:9.1f} us   "
          f"ratio {arb_us / env_us:.4f}")  # fmt: skip


def bench_rescue(episodes: int) -> None:
    print("\n2. operator rescue of an idle policy (operator at a quarter turn, mean over seeds)")
    print(f"   {'task':<11} {'alone':>7} {'+operator':>10} {'operator steps/ep':>18} "
          f"{'interventions/ep':>17}")  # fmt: skip
    for task, grip in (("reach", 1.0), ("pick_cube", 1.0), ("peg_insert", -1.0)):
        env = TwinEnv(task=task, obs="state")
        alone = with_op = 0
        op_steps, interventions = [], []
        for seed in range(episodes):
            sess, op = sim_operator_session(
                env, "bc", None, ListSink(), SimOperatorConfig(reaction_delay_s=1e9), QUARTER_TURN
            )  # an operator that never reacts in time: the policy alone
            alone += run_hil_episode(env, idle(grip), sess, op, seed).success
            sess, op = sim_operator_session(
                env, "bc", None, ListSink(), SimOperatorConfig(takeover_steps=1000), QUARTER_TURN
            )
            ep = run_hil_episode(env, idle(grip), sess, op, seed)
            with_op += ep.success
            op_steps.append(ep.stats["hil/human_steps"])
            interventions.append(ep.stats["hil/interventions"])
        print(f"   {task:<11} {alone / episodes:7.0%} {with_op / episodes:10.0%} "
              f"{np.mean(op_steps):18.1f} {np.mean(interventions):17.1f}")  # fmt: skip


def bc_success(bug: str, seed: int, demos: int, evals: int) -> float:
    env = TwinEnv(task="reach", obs="state")
    sink = ListSink()
    op_cfg = SimOperatorConfig(reaction_delay_s=0.0, always_in_control=True)
    sess, op = sim_operator_session(
        env, "bc", None, sink, op_cfg, QUARTER_TURN,
        ArbiterConfig(stored_frame_bug=bug),  # type: ignore[arg-type]
    )  # fmt: skip
    for k in range(demos):
        run_hil_episode(env, idle(1.0), sess, op, seed * 10_000 + k)
    X = np.column_stack([np.array(sink.states), np.ones(len(sink.states))])
    W, *_ = np.linalg.lstsq(X, np.array(sink.actions)[:, :3], rcond=None)

    def policy(obs: Any) -> np.ndarray:
        a = np.ones(7)
        a[:3] = np.clip(np.append(np.asarray(obs["state"], float), 1.0) @ W, -1, 1)
        a[3:6] = 0.0
        return a

    wins = 0
    for k in range(evals):
        obs, _ = env.reset(seed=seed * 10_000 + 5_000 + k)
        done, info = False, {"success": False}
        while not done:
            obs, _, term, trunc, info = env.step(policy(obs))
            done = term or trunc
        wins += bool(info["success"])
    return wins / evals


def bench_frame_bug(demos: int, evals: int) -> None:
    print(f"\n3. frame-bug cost, BC proxy on reach ({demos} operator demos, {evals} evals, "
          "median of 3 seeds)")  # fmt: skip
    base = None
    for bug, name in (("none", "correct frame"), ("inverse", "inverse (R^T)"),
                      ("device", "raw device frame")):  # fmt: skip
        med = float(np.median([bc_success(bug, s, demos, evals) for s in range(3)]))
        base = med if base is None else base
        print(f"   {name:<18} success {med:6.0%}   vs correct {med - base:+6.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer episodes (smoke run)")
    args = parser.parse_args()
    bench_overhead(2000 if args.quick else 20000)
    bench_rescue(3 if args.quick else 20)
    bench_frame_bug(8 if args.quick else 30, 5 if args.quick else 20)


if __name__ == "__main__":
    main()
