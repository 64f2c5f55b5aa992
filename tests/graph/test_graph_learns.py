"""The graph twin of tests/twin/test_train_learns.py: the same tiny reach recipe, trained
through the DDS training graph as separate processes (`robot-rl train --graph dds`), must
clearly beat the untrained policy. The run folder is then resumed by the in-process link."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import LOOPBACK_XML

pytest.importorskip("cyclonedds", reason="the dds backend needs cyclonedds")

from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import obs_spec_from_space
from robot_rl.loop import checkpoint
from robot_rl.train.config import default_config, from_dict
from robot_rl.train.graph_run import train_graph
from robot_rl.train.run import evaluate, make_env, train

EVAL_EPISODES = 10


def test_the_graph_learns_reach_and_its_run_resumes_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The graph takes a DDS domain of its own (nodes.process.private_domain).
    monkeypatch.setenv("CYCLONEDDS_URI", LOOPBACK_XML.as_uri())
    cfg = from_dict(
        {
            "demos": 10,
            "random_steps": 300,
            "env_steps": 1500,
            "eval_every_steps": 750,
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

    result = train_graph(cfg, tmp_path, progress=False)

    final = result.history[-1]
    print(f"\ngraph reach: {result.history} (untrained {base_success:.0%}, {base_return:.1f})")
    assert len(result.history) >= 2  # evaluated on the way, from published weights
    assert final.success >= base_success + 0.3, (final, base_success)
    assert final.mean_return > base_return + 5.0, (final, base_return)
    assert result.env_steps >= cfg.env_steps
    owed = (result.env_steps - cfg.random_steps) * cfg.sac.replay_ratio
    assert result.num_updates >= owed - cfg.weights_every_updates  # the ratio held
    assert (tmp_path / "success_vs_robot_minutes.png").stat().st_size > 0
    assert (tmp_path / "metrics.csv").read_text().count("\n") == len(result.history) + 1

    # The bus link's run folder resumes under the in-process link (same layout).
    found = checkpoint.load(tmp_path)
    assert found is not None and found.state["env_steps"] == result.env_steps
    more = from_dict({"env_steps": result.env_steps + 50}, base=cfg)
    resumed = train(more, tmp_path, progress=False)
    assert resumed.resumed_from == result.env_steps
    assert resumed.env_steps >= result.env_steps + 50
