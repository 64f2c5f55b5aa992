"""TwinVectorEnv: batched stepping agrees with single envs, and the autoreset contract holds."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.envs.twin_env import PROPRIO_DIM, TwinEnv
from robot_rl.envs.vector_env import TwinVectorEnv
from robot_rl.twin.cell import CellConfig
from robot_rl.twin.tasks import TaskConfig

pytestmark = pytest.mark.twin

N_ENVS = 3
STEPS = 25
EPISODE_STEPS = 10


def _actions() -> np.ndarray:
    actions = np.random.default_rng(1).uniform(-1, 1, (STEPS, N_ENVS, 7))
    actions[4:8, 1] = np.nan  # garbage for env 1: rejected, never a motion
    return actions


def test_batched_steps_match_single_envs() -> None:
    """Same seeds and actions: batched (2 threads) and single-env trajectories agree to
    1e-9 (they run the same law and physics, so in practice bit for bit), across resets."""
    task_cfg = TaskConfig(episode_steps=EPISODE_STEPS)
    envs = TwinVectorEnv(N_ENVS, task="reach", obs="state", task_cfg=task_cfg, threads=2)
    actions = _actions()
    envs.reset(seed=5)
    batched = np.stack([envs.step(actions[t])[0]["state"] for t in range(STEPS)])
    envs.close()
    for i in range(N_ENVS):
        env = TwinEnv(task="reach", obs="state", task_cfg=task_cfg)
        env.reset(seed=5 + i)
        single = []
        for t in range(STEPS):
            obs, _, terminated, truncated, _ = env.step(actions[t, i])
            if terminated or truncated:
                obs, _ = env.reset()
            single.append(obs["state"])
        np.testing.assert_allclose(batched[:, i], np.array(single), rtol=0, atol=1e-9)


def test_autoreset_same_step_and_vector_info() -> None:
    envs = TwinVectorEnv(2, task="reach", obs="state", task_cfg=TaskConfig(episode_steps=3))
    obs, info = envs.reset(seed=0)
    assert envs.observation_space.contains(obs)
    assert obs["state"].shape == (2, PROPRIO_DIM + 6)  # reach: + target and offset
    zero = np.zeros((2, 7))
    for _ in range(2):
        _, reward, terminated, truncated, info = envs.step(zero)
        assert not truncated.any() and "final_obs" not in info
    assert info["success"].shape == (2,) and info["success"].dtype == bool
    obs, reward, terminated, truncated, info = envs.step(zero)
    assert reward.shape == (2,)
    # Time limit: truncated, not terminated; the env was reset inside this step.
    assert truncated.all() and not terminated.any()
    assert info["_final_obs"].all()
    final = info["final_obs"][0]["state"]
    assert not np.allclose(final, obs["state"][0])  # the new episode's first observation
    assert np.all(info["final_info"]["t_sim_s"] == pytest.approx(0.3))
    assert all(env.steps == 0 for env in envs.envs)
    with pytest.raises(ValueError, match="rows"):
        envs.step(np.zeros((3, 7)))
    envs.close()


def test_pixels_render_per_env() -> None:
    envs = TwinVectorEnv(2, task="reach", obs="pixels")
    obs, _ = envs.reset(seed=0)
    obs, *_ = envs.step(np.zeros((2, 7)))
    for name, images in obs["images"].items():
        assert images.shape == (2, 128, 128, 3) and images.dtype == np.uint8, name
        # Different seeds put the target and arm elsewhere: each env renders its own scene.
        assert np.abs(images[0].astype(int) - images[1]).mean() > 0.5, name
    envs.close()


def test_reference_law_envs_step_one_after_the_other() -> None:
    """With the per-tick python law the vector env steps each env in turn, still in parity."""
    cell = CellConfig(law="python")
    envs = TwinVectorEnv(2, task="reach", obs="state", cell=cell, threads=2)
    envs.reset(seed=0)
    actions = _actions()[:3, :2]
    batched = [envs.step(a)[0]["state"][1] for a in actions]
    envs.close()
    env = TwinEnv(task="reach", obs="state", cell=cell)
    env.reset(seed=1)
    single = [env.step(a)[0]["state"] for a in actions[:, 1]]
    np.testing.assert_allclose(np.array(batched), np.array(single), rtol=0, atol=1e-9)
