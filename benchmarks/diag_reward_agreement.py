"""Does a learned-reward run fail because its classifier is fooled, or because it never gets there?

For a run trained with ``reward_model``, its final policy runs N fresh episodes (the seeds
``robot-rl eval`` uses) for the whole time limit, through the run's classifier (held as in
training) and the twin's privileged predicate side by side. Per episode: the first step each
fires, ``object_state[2]``'s highest value (pick_cube: the cube's centre height) and the
classifier's highest probability. The counts at the end say which failure it is:

- classifier fired, predicate never: the policy provokes the classifier (reward hacking);
- neither: the policy never reaches success (exploration or generalisation);
- predicate only: the classifier misses successes the policy reaches.

    PYTHONPATH=. python benchmarks/diag_reward_agreement.py RUN_DIR [--episodes 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from robot_rl.eval.load import RunDirError, load_policy
from robot_rl.eval.seeds import FRESH_SEED_BASE
from robot_rl.train.run import make_env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--episodes", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    try:
        loaded = load_policy(args.run_dir)
    except RunDirError as exc:
        print(f"diag_reward_agreement: {exc}", file=sys.stderr)
        return 2
    if loaded.config.reward_model is None:
        print(f"diag_reward_agreement: {args.run_dir}: no reward_model", file=sys.stderr)
        return 2
    env = make_env(loaded.config, learned_reward=True)
    counts = {"both": 0, "classifier only": 0, "predicate only": 0, "neither": 0}
    print("| seed | classifier fires at | predicate at | max object z (m) | max P(success) |")
    print("|---|---|---|---|---|")
    for i in range(args.episodes):
        seed = FRESH_SEED_BASE + i
        obs, _ = env.reset(seed=seed)
        fired = reached = None
        z_max, p_max = 0.0, 0.0
        for t in range(env.task.cfg.episode_steps):
            obs, _, _, truncated, info = env.step(loaded.policy(obs))
            out = info["learned_reward"]
            p_max = max(p_max, float(out.success_prob))
            z_max = max(z_max, float(info["privileged"]["object_state"][2]))
            fired = t if fired is None and out.success else fired
            reached = t if reached is None and info["success"] else reached
            if truncated:
                break
        key = {
            (True, True): "both",
            (True, False): "classifier only",
            (False, True): "predicate only",
            (False, False): "neither",
        }[(fired is not None, reached is not None)]
        counts[key] += 1
        print(f"| {seed} | {fired} | {reached} | {z_max:.3f} | {p_max:.3f} |", flush=True)
    env.close()
    print("episodes:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
