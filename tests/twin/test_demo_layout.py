"""Scripted demos spread over the workspace (``demo_layout: spread``) leave smaller holes
than i.i.d. reset seeds, and the recorder uses exactly those seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.envs.twin_env import TwinEnv
from robot_rl.train.demos import record_scripted, spread_seeds

pytestmark = pytest.mark.twin


def _xy(env: TwinEnv, seeds: list[int]) -> np.ndarray:
    return np.array([env.reset(seed=s)[1]["privileged"]["object_state"][:2] for s in seeds])


def test_spread_seeds_cover_the_workspace_better_than_iid_seeds() -> None:
    env = TwinEnv(task="pick_cube", obs="state")
    pool = _xy(env, list(range(200)))

    def hole(seeds: list[int]) -> float:  # the largest distance to the nearest chosen object
        return float(np.linalg.norm(pool[:, None] - _xy(env, seeds)[None], axis=2).min(1).max())

    spread = spread_seeds(env, 0, 10, pool=20)
    assert len(set(spread)) == 10 and all(0 <= s < 200 for s in spread)
    assert hole(spread) < 0.75 * hole(list(range(10)))


def test_record_scripted_uses_the_spread_seeds_in_order(tmp_path: Path) -> None:
    env = TwinEnv(task="reach", obs="state")
    store = record_scripted(env, tmp_path / "d", 2, seed=5, progress=False, layout="spread")
    seeds = [store.episode(i).metadata["seed"] for i in range(len(store))]
    assert seeds == spread_seeds(env, 5, 3 * 2 + 11)[:2]
    with pytest.raises(ValueError, match="demo layout"):
        record_scripted(env, tmp_path / "e", 1, seed=0, progress=False, layout="grid")
