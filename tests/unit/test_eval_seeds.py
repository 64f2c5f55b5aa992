"""Fresh evaluation seeds never meet a seed that training, demos or evaluation used."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.eval import seeds


def test_fresh_seeds_are_disjoint_from_every_training_set() -> None:
    fresh = seeds.fresh_seeds(10_000)
    for train_seed in range(2999):
        seeds.check_fresh(fresh, train_seed, 1_000_000)


def test_overlap_is_caught_and_named() -> None:
    # Seed 2999's training episodes reach 2_999_008_997 + 1e6 > 3e9.
    with pytest.raises(ValueError, match="training episodes"):
        seeds.check_fresh(seeds.fresh_seeds(100), 2999, 1_000_000)
    with pytest.raises(ValueError, match="periodic evaluation"):
        seeds.check_fresh(range(seeds.EVAL_SEED_BASE + 5, seeds.EVAL_SEED_BASE + 6), 0, 10)


def test_fresh_seeds_stay_below_2_to_the_32() -> None:
    assert seeds.fresh_seeds(100, offset=7).start == seeds.FRESH_SEED_BASE + 7
    with pytest.raises(ValueError):
        seeds.fresh_seeds(10, offset=2**32)
    with pytest.raises(ValueError):
        seeds.fresh_seeds(0)


def test_the_table_matches_the_training_code() -> None:
    from robot_rl.train.run import EVAL_SEED_BASE

    assert seeds.EVAL_SEED_BASE == EVAL_SEED_BASE


class _SeedSpyEnv:
    """Two-step episodes; records every reset seed."""

    action_space = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)

    def __init__(self) -> None:
        self.seeds: list[int] = []
        self.steps = 0

    def reset(self, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        self.seeds.append(seed)
        self.steps = 0
        return {"state": np.zeros(3, np.float32)}, {}

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict]:
        self.steps += 1
        return {"state": np.zeros(3, np.float32)}, 0.0, False, self.steps >= 2, {"success": False}


def test_the_training_actor_resets_inside_its_declared_set() -> None:
    from robot_rl.loop.actor import ActorCore, ActorSettings

    env = _SeedSpyEnv()
    settings = ActorSettings(seed=4, random_steps=100)
    actor = ActorCore(env, None, settings, lambda t: None)  # type: ignore[arg-type]
    for _ in range(20):
        actor.step()
    declared = seeds.training_seed_sets(4, 10)["training episodes"]
    assert len(env.seeds) == 10 and all(s in declared for s in env.seeds)
