"""The scripted experts succeed from randomised resets (>= 95% of 50 seeded episodes)."""

from __future__ import annotations

import pytest

from robot_rl.envs.rollout import ExpertPolicy, run_episode
from robot_rl.envs.twin_env import TwinEnv

pytestmark = pytest.mark.twin


@pytest.mark.parametrize("task", ["pick_cube", "peg_insert", "reach"])
def test_expert_success_rate(task: str) -> None:
    env = TwinEnv(task=task, obs="state")
    policy = ExpertPolicy(env)
    episodes = 50
    wins = sum(run_episode(env, policy, seed=1000 + ep).success for ep in range(episodes))
    print(f"\n{task}: scripted expert {wins}/{episodes} (seeds 1000-{999 + episodes})")
    assert wins >= 0.95 * episodes, f"{task}: expert succeeded {wins}/{episodes}"
