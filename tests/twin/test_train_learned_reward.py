"""The training env with a learned reward: reward and termination come from the source on
the camera images, never from the twin's privileged predicate."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from robot_rl.envs.twin_env import EnvConfig
from robot_rl.rewards.frames import Frames
from robot_rl.rewards.source import RewardOutput
from robot_rl.train.config import default_config
from robot_rl.train.learned_reward import (
    LearnedRewardEnv,
    random_action_fires,
    reward_preflight,
)
from robot_rl.train.run import make_env
from robot_rl.twin.tasks import make_task

pytestmark = pytest.mark.twin


class CountingSource:
    """Fires from its ``fire_at``-th call of an episode on; records the frames it saw."""

    name = "counting"
    cameras = ("front", "wrist")

    def __init__(self, fire_at: int) -> None:
        self.fire_at, self.calls, self.resets = fire_at, 0, 0
        self.shapes: list[tuple[int, ...]] = []

    def reset(self) -> None:
        self.calls, self.resets = 0, self.resets + 1

    def __call__(self, frames: Frames) -> RewardOutput:
        self.calls += 1
        self.shapes.append(tuple(frames["wrist"].shape))
        hit = self.calls >= self.fire_at
        return RewardOutput(float(hit), float(hit), hit, 0.0, self.name)


def _env(source: CountingSource, episode_steps: int = 5) -> LearnedRewardEnv:
    task_cfg = replace(make_task("reach").cfg, episode_steps=episode_steps)
    cfg = EnvConfig(task="reach", obs="pixels", task_cfg=task_cfg)
    cfg.cell = replace(cfg.cell, image_size=(32, 32))
    return LearnedRewardEnv(cfg, source)


def test_reward_and_termination_come_from_the_source() -> None:
    source = CountingSource(fire_at=3)
    env = _env(source)
    env.reset(seed=0)
    hold = np.zeros(7)
    out = [env.step(hold)[1:4] for _ in range(3)]
    assert out == [(0.0, False, False), (0.0, False, False), (1.0, True, False)]
    assert source.resets == 1 and source.shapes[0] == (32, 32, 3)
    env.close()


def test_privileged_success_neither_rewards_nor_ends_the_episode() -> None:
    source = CountingSource(fire_at=10**6)  # never fires
    env = _env(source, episode_steps=4)
    env.reset(seed=0)
    # Teleport the marker onto the TCP: the privileged predicate says success at once.
    mocap = env.cell.model.body("target").mocapid[0]
    env.cell.data.mocap_pos[mocap] = env.cell.data.site_xpos[env.cell.tcp_site]
    steps = [env.step(np.zeros(7)) for _ in range(4)]
    assert all(s[4]["success"] for s in steps)  # logged, privileged
    assert [s[1] for s in steps] == [0.0] * 4 and not any(s[2] for s in steps)
    assert [s[3] for s in steps] == [False, False, False, True]  # the time limit still ends it
    env.close()


def test_learned_reward_needs_pixels_and_evaluation_stays_privileged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="pixels"):
        replace(default_config("reach", "state"), reward_model=str(tmp_path))
    cfg = replace(default_config("reach", "pixels"), reward_model=str(tmp_path / "none"))
    assert type(make_env(cfg, learned_reward=False)).__name__ == "TwinEnv"
    with pytest.raises(Exception, match="none"):
        make_env(cfg)  # the missing model directory is named


def test_random_action_fires_counts_false_successes() -> None:
    eager = _env(CountingSource(fire_at=2), episode_steps=6)
    stats = random_action_fires(eager, episodes=3, seed=0)
    assert (stats.fired, stats.privileged, stats.mean_steps_to_fire) == (3, 0, 2.0)
    assert stats.false_fire_rate == 1.0
    eager.close()
    never = _env(CountingSource(fire_at=100), episode_steps=4)
    stats = random_action_fires(never, episodes=2)
    assert stats.fired == 0 and stats.false_fire_rate == 0.0 and np.isnan(stats.mean_steps_to_fire)
    with pytest.raises(ValueError, match="episodes"):
        random_action_fires(never, episodes=0)
    never.close()


def test_reward_preflight_warns_on_false_fires(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eager = _env(CountingSource(fire_at=3), episode_steps=5)
    warning = reward_preflight(eager, 2, tmp_path / "check.json")
    assert warning is not None and "2 of 2" in warning and "provoke" in warning
    saved = json.loads((tmp_path / "check.json").read_text())
    assert saved["fired"] == 2 and saved["false_fire_rate"] == 1.0
    eager.close()
    never = _env(CountingSource(fire_at=100), episode_steps=3)
    assert reward_preflight(never, 2, tmp_path / "quiet.json") is None
    assert json.loads((tmp_path / "quiet.json").read_text())["fired"] == 0
    never.close()
