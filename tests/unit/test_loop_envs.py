"""A foreign gymnasium env through the core: a Dict observation and action bounds that are
not [-1, 1] (a gripper on [0, 2]), by the adapters and by the whole `robot-rl train` job."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.loop.envs import EnvAdapterError, adapt_env
from robot_rl.train.config import from_dict
from robot_rl.train.report import EvalPoint
from robot_rl.train.run import progress_fields, train

LOW = np.array([-0.5, 0.0, 10.0], np.float32)
HIGH = np.array([0.5, 2.0, 20.0], np.float32)
ENV_ID = "RobotRlTest/DictBounds-v0"


class DictBounds(gym.Env[dict[str, Any], np.ndarray]):
    """Dict observation (a position Box and a velocity Box, no ``state`` key), actions on
    [LOW, HIGH]; records every action it is given. Succeeds when action[1] > 1.5."""

    seen: ClassVar[list[np.ndarray]] = []  # every action any instance received

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Dict(
            {
                "pos": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
                "vel": gym.spaces.Box(-np.inf, np.inf, (1,), np.float64),
            }
        )
        self.action_space = gym.spaces.Box(LOW, HIGH, dtype=np.float32)
        self.t = 0

    def _obs(self) -> dict[str, Any]:
        return {"pos": np.full(2, 0.1 * self.t, np.float32), "vel": np.array([1.0])}

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> Any:
        DictBounds.seen.append(np.array(action))
        self.t += 1
        done = self.t >= 5
        return self._obs(), float(action[1]), False, done, {"grasped": bool(action[1] > 1.5)}


gym.register(ENV_ID, entry_point=DictBounds)


def test_actions_reach_the_env_rescaled_into_its_bounds() -> None:
    env = adapt_env(DictBounds(), success="grasped")
    assert env.action_space.shape == (3,)
    assert float(env.action_space.low.min()) == -1.0 and float(env.action_space.high.max()) == 1.0
    obs, _ = env.reset(seed=0)
    assert obs["state"].dtype == np.float32 and obs["state"].shape == (3,)
    DictBounds.seen.clear()
    for a in ([-1, -1, -1], [1, 1, 1], [0, 0.5, 0], [7, -7, 0]):
        _, _, _, _, info = env.step(np.array(a, np.float32))
    got = np.array(DictBounds.seen)
    np.testing.assert_allclose(got[0], LOW)
    np.testing.assert_allclose(got[1], HIGH)
    np.testing.assert_allclose(got[2], [0.0, 1.5, 15.0])
    np.testing.assert_allclose(got[3], [0.5, 0.0, 15.0])  # clipped to the bounds first
    assert info["success"] is False


def test_an_unbounded_action_space_is_refused_by_name() -> None:
    env = DictBounds()
    env.action_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
    with pytest.raises(EnvAdapterError, match="unbounded"):
        adapt_env(env)


def test_the_main_job_trains_on_a_registered_foreign_env(tmp_path: Path) -> None:
    cfg = from_dict(
        {
            "env_id": ENV_ID,
            "success_key": "grasped",
            "env_steps": 60,
            "random_steps": 20,
            "eval_every_steps": 30,
            "eval_episodes": 2,
            "sac": {
                "batch_size": 8,
                "actor": {"hidden_dims": [16]},
                "critic": {"hidden_dims": [16]},
            },
        }
    )
    DictBounds.seen.clear()
    result = train(cfg, tmp_path / "run", progress=False)
    seen = np.array(DictBounds.seen)
    assert len(seen) >= 60 and (seen >= LOW - 1e-6).all() and (seen <= HIGH + 1e-6).all()
    assert len(result.history) == 2
    assert (tmp_path / "run" / "checkpoint" / "state.json").is_file()
    assert (tmp_path / "run" / "return_vs_env_steps.png").stat().st_size > 0


def test_the_progress_bar_shows_return_for_a_foreign_env_and_success_for_ours() -> None:
    point = EvalPoint(1000, 1.0, 2.0, 10, 5.0, success=0.0, mean_return=-150.25)
    foreign = progress_fields(from_dict({"env_id": "Pendulum-v1"}), point)
    assert foreign == {"return": "-150.2", "upd_s": "5"}
    ours = progress_fields(from_dict({"task": "reach"}), point)
    assert ours == {"success": "0%", "upd_s": "5"}
    solved = progress_fields(from_dict({"env_id": "Pendulum-v1"}), replace(point, success=0.5))
    assert solved["success"] == "50%" and solved["return"] == "-150.2"
