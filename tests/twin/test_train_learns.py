"""A tiny training run on the twin must clearly beat the untrained policy on reach."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import obs_spec_from_space
from robot_rl.train.config import default_config, from_dict
from robot_rl.train.run import evaluate, make_env, train

pytestmark = pytest.mark.twin

EVAL_EPISODES = 10


def test_tiny_run_beats_the_untrained_policy_on_reach(tmp_path: Path) -> None:
    # The embedded default recipe, with a budget that fits in about a minute on one core.
    cfg = from_dict(
        {
            "demos": 10,
            "random_steps": 300,
            "env_steps": 1500,
            "eval_every_steps": 1500,
            "eval_episodes": EVAL_EPISODES,
            "stop_at_success": None,
        },
        base=default_config("reach", "state"),
    )
    torch.set_num_threads(1)
    env = make_env(cfg)
    untrained = SACAgent(cfg.sac, obs_spec_from_space(env.observation_space), 7)
    base_success, base_return, _ = evaluate(env, untrained, EVAL_EPISODES)
    env.close()

    result = train(cfg, tmp_path, progress=False)

    final = result.history[-1]
    assert final.success >= base_success + 0.3, (final, base_success)
    assert final.mean_return > base_return + 5.0, (final, base_return)
    assert (tmp_path / "success_vs_robot_minutes.png").stat().st_size > 0
