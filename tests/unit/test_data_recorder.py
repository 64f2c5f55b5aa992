"""`EpisodeRecorder` rules: stamps from ``info["stamp_ns"]`` only, a cut episode ends
truncated, the seed goes into the metadata, a discarded episode leaves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.recorder import EpisodeRecorder, episode_spec


class Counter:
    """state = [k]; stamps 5 ms apart starting at 1 s; success at k == 3."""

    observation_space = gym.spaces.Dict({"state": gym.spaces.Box(-9, 9, (1,), np.float32)})
    action_space = gym.spaces.Box(-1, 1, (2,), np.float32)

    def __init__(self, stamps: bool = True) -> None:
        self.k, self.stamps = 0, stamps

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"success": self.k == 3}
        if self.stamps:
            info["stamp_ns"] = 1_000_000_000 + 5_000_000 * self.k
        return info

    def reset(self, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        self.k = 0
        return {"state": np.array([0.0], np.float32)}, self.info()

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict]:
        self.k += 1
        obs = {"state": np.array([self.k], np.float32)}
        return obs, float(self.k), self.k == 3, False, self.info()


def test_stamps_cut_and_seed(tmp_path: Path) -> None:
    env = Counter()
    store = EpisodeStore(tmp_path, episode_spec(env), durable=False)
    rec = EpisodeRecorder(env, store, {"source": "test"})
    rec.reset(seed=7)
    for _ in range(2):  # cut before the env ends the episode
        rec.step(np.zeros(2), intervened=True)
    assert rec.commit(end="cut") == 0
    rec.reset(seed=8)
    rec.step(np.zeros(2))
    rec.discard()
    rec.reset(seed=9)
    for _ in range(3):  # to the env's own end (success, terminated)
        rec.step(np.zeros(2))
    rec.commit()
    cut, full = store.episode(0), store.episode(1)
    np.testing.assert_array_equal(cut.timestamp_ns, 1_000_000_000 + 5_000_000 * np.arange(3))
    assert cut.truncated.tolist() == [False, True] and not cut.terminated.any()
    assert cut.intervened.all() and cut.reward.tolist() == [1.0, 2.0]
    assert dict(cut.metadata) == {"source": "test", "seed": 7, "end": "cut"}
    assert full.terminated.tolist() == [False, False, True] and not full.truncated.any()
    assert full.success.tolist() == [False, False, True] and full.metadata["seed"] == 9
    assert len(store) == 2


def test_an_env_without_stamps_is_refused(tmp_path: Path) -> None:
    env = Counter(stamps=False)
    rec = EpisodeRecorder(env, EpisodeStore(tmp_path, episode_spec(env)), {})
    with pytest.raises(KeyError, match="stamp_ns"):
        rec.reset(seed=0)
