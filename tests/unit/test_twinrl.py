"""TwinRL's training pieces: the cell-variant key, deployment from a pre-trained run
(init_from), and failure-targeted resets."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from robot_rl.agents.types import ObsSpec
from robot_rl.configio import ConfigError
from robot_rl.envs.failure_search import ResetConfig, load_failure_seeds, save_failures
from robot_rl.loop.actor import ActorCore, ActorSettings, episode_seed, reset_seed
from robot_rl.loop.learner import LearnerCore
from robot_rl.train.config import check_paths, default_config, from_dict
from tests.unit.test_loop_learner import SPEC, feed, learner, records, small_config

OBS = {"state": np.ones(5, np.float32)}


def test_cell_variant_is_checked_at_load() -> None:
    assert from_dict({"task": "reach", "cell_variant": "shifted_real"}).cell_variant == (
        "shifted_real"
    )
    with pytest.raises(ConfigError, match=r"cell_variant: unknown 'shifted'.*nominal"):
        from_dict({"task": "reach", "cell_variant": "shifted"})
    with pytest.raises(ConfigError, match="twin tasks"):
        from_dict({"env_id": "Pendulum-v1", "cell_variant": "shifted_real"})
    with pytest.raises(ConfigError, match="failure_reset_frac"):
        from_dict({"task": "reach", "failure_reset_frac": 1.5})


def pretrained(path: Path) -> LearnerCore:
    """A learner that stored 64 transitions, trained, and checkpointed."""
    torch.manual_seed(0)
    core = learner(path)
    feed(core, records(64))
    core.train()
    core.checkpoint({"episodes": 7})
    return core


def test_init_from_starts_with_the_agent_and_the_prior_replay(tmp_path: Path) -> None:
    prior = pretrained(tmp_path / "prior")
    assert prior.agent.num_updates > 0
    core = learner(tmp_path / "real", small_config(init_from=str(tmp_path / "prior")))
    assert core.restored is None and core.init_from == str(tmp_path / "prior")
    np.testing.assert_allclose(
        core.agent.act(OBS, deterministic=True), prior.agent.act(OBS, deterministic=True)
    )
    # The replay ratio counts this run's steps: no debt from the pre-training's updates.
    assert core.agent.num_updates == 0 and core.env_steps == 0
    assert core.demo.num_transitions == prior.online.num_transitions
    assert core.online.num_transitions == 0
    feed(core, records(16))
    assert core.train() == 16  # prior + new rows fill a batch at once (random_steps 0)
    state = json.loads((core.checkpoint() / "state.json").read_text())
    assert state["init_from"] == str(tmp_path / "prior")


def test_a_resumed_run_ignores_init_from(tmp_path: Path) -> None:
    pretrained(tmp_path / "prior")
    cfg = small_config(init_from=str(tmp_path / "prior"))
    core = learner(tmp_path / "real", cfg)
    feed(core, records(20))
    core.train()
    core.checkpoint()
    demo_rows = core.demo.num_transitions
    shutil.rmtree(tmp_path / "prior")  # gone: a resume must not need it
    check_paths(cfg, tmp_path / "real")
    again = learner(tmp_path / "real", cfg)
    assert again.restored is not None and again.env_steps == 20
    assert again.demo.num_transitions == demo_rows  # not preloaded a second time
    assert again.agent.num_updates == core.agent.num_updates
    assert again.init_from == str(tmp_path / "prior")
    with pytest.raises(ConfigError, match=r"init_from: .* no run folder with a checkpoint"):
        check_paths(cfg, tmp_path / "new")


def test_init_from_refuses_another_obs_spec_or_agent(tmp_path: Path) -> None:
    pretrained(tmp_path / "prior")
    cfg = small_config(init_from=str(tmp_path / "prior"))
    with pytest.raises(ConfigError, match=r"init_from: .*observations \(5,.*this run has \(6,"):
        LearnerCore(cfg, ObsSpec(6), 7, tmp_path / "real")
    with pytest.raises(ConfigError, match=r"action 7, this run has .* / 4"):
        LearnerCore(cfg, SPEC, 4, tmp_path / "real2")
    bigger = from_dict({"sac": {"critic": {"hidden_dims": [32, 32]}}}, cfg)
    with pytest.raises(ConfigError, match="agent does not fit this config"):
        LearnerCore(bigger, SPEC, 7, tmp_path / "real3")


def failures_file(path: Path, seeds: list[int]) -> Path:
    rows = [ResetConfig(s, np.zeros(3), np.zeros(3), False, 50) for s in seeds]
    save_failures(path, rows, searched=10, run_dir="prior", variant="nominal")
    return path


def test_failures_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = failures_file(tmp_path / "f.json", [11, 22, 33])
    assert load_failure_seeds(path) == (11, 22, 33)
    with pytest.raises(ConfigError, match="failure_resets: no such file"):
        load_failure_seeds(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="lists no failures"):
        load_failure_seeds(failures_file(tmp_path / "none.json", []))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="not a failures file"):
        load_failure_seeds(tmp_path / "bad.json")


def test_failure_resets_draw_the_given_seeds_at_the_given_rate() -> None:
    seeds = (101, 202, 303)
    settings = ActorSettings(seed=3, failure_seeds=seeds, failure_frac=0.3)
    drawn = [reset_seed(settings, k) for k in range(2000)]
    targeted = [s for s in drawn if s in seeds]
    assert set(targeted) == set(seeds)
    assert 0.25 < len(targeted) / len(drawn) < 0.35
    assert all(s == episode_seed(3, k) for k, s in enumerate(drawn) if s not in seeds)
    assert drawn == [reset_seed(settings, k) for k in range(2000)]  # resumable
    always = ActorSettings(seed=3, failure_seeds=seeds, failure_frac=1.0)
    assert {reset_seed(always, k) for k in range(50)} <= set(seeds)
    assert reset_seed(ActorSettings(seed=3), 5) == episode_seed(3, 5)


class SeedLog(gym.Env[dict[str, Any], np.ndarray]):
    """One-step episodes; records the seed of every reset."""

    action_space = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)

    def __init__(self) -> None:
        self.seeds: list[int | None] = []

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:  # type: ignore[override]
        self.seeds.append(seed)
        return dict(OBS), {}

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict]:  # type: ignore[override]
        return dict(OBS), 0.0, False, True, {}


def test_the_actor_resets_to_failure_seeds() -> None:
    env = SeedLog()
    settings = ActorSettings(seed=1, random_steps=10, failure_seeds=(7, 8), failure_frac=0.5)
    actor = ActorCore(env, None, settings, lambda t: None)  # type: ignore[arg-type]
    for _ in range(10):
        actor.step()
    assert env.seeds == [reset_seed(settings, k) for k in range(10)]
    assert {7, 8} & set(env.seeds) and set(env.seeds) - {7, 8}


def test_the_graph_link_refuses_deployment_it_does_not_carry() -> None:
    from robot_rl.train.graph_run import unsupported

    assert "init_from" in unsupported(small_config(init_from="prior"))
    assert "failure_resets" in unsupported(small_config(failure_resets="f.json"))
    assert "cell_variant" in unsupported(small_config(cell_variant="shifted_real"))
    assert unsupported(small_config()) == ""


def test_twin_failures_refuses_a_folder_without_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from robot_rl.cli import main

    assert main(["twin", "failures", str(tmp_path / "nope"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("robot-rl twin failures:") and "no such run folder" in err
    assert main(["twin", "failures", str(tmp_path), "--configs", "0"]) == 2


def test_the_operator_attends_the_failure_seeds_only_when_asked(tmp_path: Path) -> None:
    from robot_rl.train.run import attended

    path = str(failures_file(tmp_path / "f.json", [11, 22]))
    cfg = from_dict({"hil": "hil_serl", "failure_resets": path}, default_config("reach", "state"))
    assert attended(cfg) == ()  # every episode
    assert attended(dataclasses.replace(cfg, operator_attends_failures=True)) == (11, 22)
