"""``robot-rl train --num-envs N``: N actors, one learner, every step count summed over them.

A tiny foreign gymnasium env that records the reset seeds of each instance keeps these
tests to seconds; the twin's kill -9 resume of two actors is in tests/twin/test_train.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.agents.config import updates_due
from robot_rl.cli import main
from robot_rl.eval.seeds import EVAL_SEED_BASE, training_seed_sets
from robot_rl.loop.actor import reset_seed
from robot_rl.train.config import from_dict
from robot_rl.train.run import actor_settings, train

ENV_ID = "RobotRlTest/SeedLog-v0"


class SeedLog(gym.Env[np.ndarray, np.ndarray]):
    """A 2-d state that counts steps; episodes of 4 steps. ``resets[i]`` holds the reset
    seeds of the i-th instance made (training envs first, then the evaluation env)."""

    resets: ClassVar[list[list[int]]] = []

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.mine: list[int] = []
        SeedLog.resets.append(self.mine)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        super().reset(seed=seed)
        self.mine.append(-1 if seed is None else seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action: np.ndarray) -> Any:
        self.t += 1
        obs = np.array([self.t, action[0]], np.float32)
        return obs, float(action[0]), False, self.t >= 4, {}


gym.register(ENV_ID, entry_point=SeedLog)

SMALL = {
    "env_id": ENV_ID,
    "num_envs": 2,
    "random_steps": 21,
    "eval_every_steps": 1000,
    "eval_episodes": 2,
    "checkpoint_every_steps": 10,
    "sac": {
        "batch_size": 8,
        "replay_ratio": 0.5,
        "actor": {"hidden_dims": [16]},
        "critic": {"hidden_dims": [16]},
    },
}


def _state(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "checkpoint" / "state.json").read_text())


def test_two_actors_feed_one_learner_and_every_count_is_summed(tmp_path: Path) -> None:
    SeedLog.resets.clear()
    cfg = from_dict({**SMALL, "env_steps": 61})
    result = train(cfg, tmp_path / "run", progress=False)
    state = _state(tmp_path / "run")
    # Both actors' transitions reached the learner; the odd budget is split 31 + 30.
    assert state["actors"]["actor0"]["env_steps"] == 31
    assert state["actors"]["actor1"]["env_steps"] == 30
    assert set(state["highest"]) == {"actor0", "actor1"}
    assert state["highest"]["actor0"] >= 31 and state["highest"]["actor1"] >= 30
    assert set(state["episodes_by_actor"]) == {"actor0", "actor1"}
    assert result.env_steps == state["env_steps"] == state["online_transitions"] == 61
    # The replay ratio is per env step, summed over the actors, after the summed warm-up.
    assert result.num_updates == updates_due(61 - 21, 0, 0.5) == 20
    assert result.history[-1].env_steps == 61
    # Seeds: two training envs and the evaluation env, no seed shared by any two.
    train0, train1, evals = (set(s) for s in SeedLog.resets)
    assert train0 and train1 and not train0 & train1
    assert not (train0 | train1) & evals
    assert evals <= set(range(EVAL_SEED_BASE, EVAL_SEED_BASE + 2 * len(result.history)))


def test_every_evaluation_point_has_configurations_of_its_own(tmp_path: Path) -> None:
    """Ten fixed configurations at every point overstated success (RESULTS, issue 13)."""
    SeedLog.resets.clear()
    cfg = from_dict({**SMALL, "num_envs": 1, "env_steps": 30, "eval_every_steps": 10})
    result = train(cfg, tmp_path / "run", progress=False)
    evals = SeedLog.resets[1][:-1]  # the last reset films the strip
    assert len(result.history) == 3
    assert evals == list(range(EVAL_SEED_BASE, EVAL_SEED_BASE + 6))


def test_a_resumed_run_continues_every_actor(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    SeedLog.resets.clear()
    train(from_dict({**SMALL, "env_steps": 40}), run_dir, progress=False)
    first = _state(run_dir)
    before = [set(SeedLog.resets[i]) for i in (0, 1)]
    SeedLog.resets.clear()
    result = train(from_dict({**SMALL, "env_steps": 80}), run_dir, progress=False)
    assert result.resumed_from == 40
    last = _state(run_dir)
    for aid in ("actor0", "actor1"):
        assert first["actors"][aid]["env_steps"] == 20 and last["actors"][aid]["env_steps"] == 40
        assert last["actors"][aid]["episodes"] == last["episodes_by_actor"][aid] == 10
    # Sequence numbers went on after the acks (a repeat would be dropped as a duplicate),
    # and each actor's reset seeds went on without repeating its own or the other's.
    assert last["online_transitions"] == last["env_steps"] == 80
    after = [set(SeedLog.resets[i]) for i in (0, 1)]
    assert not (before[0] | before[1]) & (after[0] | after[1])
    assert not after[0] & after[1]
    assert result.num_updates == updates_due(80 - 21, 0, 0.5)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_actor_seed_streams_interleave_and_warm_up_shares_sum(n: int) -> None:
    cfg = from_dict({**SMALL, "num_envs": n, "seed": 3, "random_steps": 1000})
    settings = [actor_settings(cfg, i) for i in range(n)]
    assert [s.actor_id for s in settings] == [f"actor{i}" for i in range(n)]
    assert sum(s.random_steps for s in settings) == 1000
    seeds = [[reset_seed(s, k) for k in range(50)] for s in settings]
    flat = [x for stream in seeds for x in stream]
    assert len(set(flat)) == 50 * n  # no two actors (or episodes) share a seed
    # Together they are exactly a lone actor's seeds for as many episodes (eval/seeds.py).
    assert set(flat) == set(training_seed_sets(3, 50 * n)["training episodes"])
    assert not set(flat) & set(range(EVAL_SEED_BASE, EVAL_SEED_BASE + 1000))
    if n == 1:
        assert seeds[0] == [3 * 1_000_003 + k for k in range(50)]


@pytest.mark.parametrize(
    ("flags", "why"),
    [
        (["--num-envs", "2", "--hil", "hil_serl"], "num_envs: the simulated operator"),
        (["--num-envs", "2", "--gui"], "--gui drives one actor"),
        (["--num-envs", "2", "--graph", "dds"], "--graph runs one actor node"),
        (["--num-envs", "0"], "num_envs"),
    ],
)
def test_options_that_do_not_combine_with_several_envs_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], why: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--task", "reach", "--out", str(out), "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("robot-rl train: ") and why in err, err
    assert "\n" not in err and not out.exists()


def test_resuming_with_another_num_envs_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    train(from_dict({**SMALL, "env_steps": 20}), run_dir, progress=False)
    (tmp_path / "c.yaml").write_text(json.dumps({**SMALL, "env_steps": 20}))
    argv = ["train", "--config", str(tmp_path / "c.yaml"), "--out", str(run_dir), "--quiet"]
    assert main([*argv, "--num-envs", "1"]) == 2
    err = capsys.readouterr().err
    assert "num_envs: 2 -> 1" in err and "--allow-config-change" in err


def test_a_checkpoint_without_per_actor_counts_resumes_the_first_actor(tmp_path: Path) -> None:
    """Older checkpoints and the bus link's hold the learner's counts and ``episodes``."""
    run_dir = tmp_path / "run"
    one = {**SMALL, "num_envs": 1}
    train(from_dict({**one, "env_steps": 20}), run_dir, progress=False)
    path = run_dir / "checkpoint" / "state.json"
    state = json.loads(path.read_text())
    episodes = state.pop("actors")["actor0"]["episodes"]
    path.write_text(json.dumps({**state, "episodes": episodes}))
    SeedLog.resets.clear()
    result = train(from_dict({**one, "env_steps": 40}), run_dir, progress=False)
    assert result.resumed_from == 20
    assert _state(run_dir)["actors"]["actor0"] == {"env_steps": 40, "episodes": 10}
    assert min(SeedLog.resets[0]) == episodes  # seed 0: the next episode's own seed
