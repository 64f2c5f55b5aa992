"""Failure search in the batched twin (TwinRL): where does a policy fail?

Reset configurations (object pose, arm start) are drawn by reset seed: ``TwinEnv.reset(seed=s)``
reproduces configuration ``s`` exactly, in the nominal twin or in a shifted cell variant with
the same task. ``find_failures`` runs one episode per seed in a ``TwinVectorEnv`` and returns
the configurations where the policy did not succeed, to feed the "real" cell's reset
distribution (``save_failures`` writes them as JSON; the training config's ``failure_resets``
names that file) and the simulated operator's attention.

Sampled seeds stay below 2**31, so they never meet ``robot-rl eval``'s fresh seeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from robot_rl.configio import ConfigError
from robot_rl.envs.vector_env import TwinVectorEnv

# (vector env, batched observation) -> actions (num_envs, 7) in [-1, 1].
VectorPolicy = Callable[[TwinVectorEnv, dict[str, Any]], np.ndarray]


@dataclass(frozen=True)
class ResetConfig:
    """One reset configuration and how the policy fared on it."""

    seed: int  # TwinEnv.reset(seed=...) reproduces it
    object_state: np.ndarray  # the task's privileged object state right after the reset
    tcp_start_m: np.ndarray  # (3,) TCP position right after the reset
    success: bool
    steps: int  # policy steps until success or the time limit


def evaluate_configs(
    envs: TwinVectorEnv, policy: VectorPolicy, seeds: Iterable[int], progress: bool = False
) -> list[ResetConfig]:
    """One episode per seed, ``envs.num_envs`` at a time; blocks until all are done."""
    seeds = list(seeds)
    n = envs.num_envs
    out: list[ResetConfig] = []
    for start in tqdm(range(0, len(seeds), n), disable=not progress, desc="failure search"):
        batch = seeds[start : start + n]
        batch += batch[-1:] * (n - len(batch))  # pad the last batch; extras are dropped
        obs, info = envs.reset(seed=batch)
        starts = [
            (info["privileged"]["object_state"][i].copy(), e.cell.tcp_pose().pos)
            for i, e in enumerate(envs.envs)
        ]
        done = np.zeros(n, dtype=bool)
        success = np.zeros(n, dtype=bool)
        steps = np.zeros(n, dtype=int)
        while not done.all():
            obs, _, terminated, truncated, _ = envs.step(policy(envs, obs))
            steps[~done] += 1
            success |= terminated & ~done
            done |= terminated | truncated
        for i, seed in enumerate(seeds[start : start + n]):
            out.append(
                ResetConfig(seed, starts[i][0], starts[i][1], bool(success[i]), int(steps[i]))
            )
    return out


def find_failures(
    envs: TwinVectorEnv,
    policy: VectorPolicy,
    num_configs: int,
    seed: int = 0,
    progress: bool = False,
) -> list[ResetConfig]:
    """Sample ``num_configs`` reset seeds (from ``seed``) and return those the policy fails."""
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, num_configs).tolist()
    return [c for c in evaluate_configs(envs, policy, seeds, progress) if not c.success]


def expert_policy(envs: TwinVectorEnv) -> VectorPolicy:
    """The task's scripted (privileged) expert for every env, as a vector policy."""
    experts = [e.expert() for e in envs.envs]

    def act(envs: TwinVectorEnv, _obs: dict[str, Any]) -> np.ndarray:
        for env, ex in zip(envs.envs, experts, strict=True):
            if env.steps == 0:
                ex.reset()
        return np.stack([ex.act(e.cell) for e, ex in zip(envs.envs, experts, strict=True)])

    return act


def save_failures(
    path: str | Path, failures: list[ResetConfig], searched: int, **meta: Any
) -> None:
    """Write ``failures`` (of ``searched`` configurations) as JSON; ``meta`` says where from."""
    rows = [
        {
            "seed": c.seed,
            "steps": c.steps,
            "object_state": np.asarray(c.object_state).tolist(),
            "tcp_start_m": np.asarray(c.tcp_start_m).tolist(),
        }
        for c in failures
    ]
    data = {**meta, "searched": searched, "failures": rows}
    Path(path).write_text(json.dumps(data, indent=1))


def load_failure_seeds(path: str | Path) -> tuple[int, ...]:
    """The reset seeds of a failures file (`save_failures`); ConfigError, naming the key
    ``failure_resets``, when it is missing, unreadable or lists none."""
    try:
        rows = json.loads(Path(path).read_text())["failures"]
        seeds = tuple(int(r["seed"]) for r in rows)
    except FileNotFoundError:
        raise ConfigError(f"failure_resets: no such file {str(path)!r}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"failure_resets: {path}: not a failures file ({exc!r})") from None
    if not seeds:
        raise ConfigError(f"failure_resets: {path} lists no failures (nothing to target)")
    return seeds
