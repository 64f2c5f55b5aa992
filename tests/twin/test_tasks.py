"""Every registered task: create, reset, step, render both cameras, no NaN, episode flags."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.envs.twin_env import TwinEnv
from robot_rl.loop.actor import ActorCore, ActorSettings
from robot_rl.loop.types import Transition
from robot_rl.spec import PROPRIO_DIM
from robot_rl.twin.cell import HOME_Q, MAX_PLAUSIBLE_SPEED
from robot_rl.twin.tasks import TASKS, make_task

CUBE_POS = slice(PROPRIO_DIM, PROPRIO_DIM + 3)  # pick_cube object state starts with the cube

pytestmark = pytest.mark.twin


@pytest.fixture(scope="module", params=sorted(TASKS))
def pixel_env(request: pytest.FixtureRequest):
    env = TwinEnv(task=request.param, obs="pixels")
    yield env
    env.close()


def test_reset_step_render(pixel_env: TwinEnv) -> None:
    obs, info = pixel_env.reset(seed=3)
    assert pixel_env.observation_space.contains(obs)
    assert set(obs["images"]) == {"front", "wrist"}
    rng = np.random.default_rng(0)
    for _ in range(5):
        obs, reward, _, _, info = pixel_env.step(rng.uniform(-1, 1, 7))
        assert np.all(np.isfinite(obs["state"])) and np.isfinite(reward)
        for name, img in obs["images"].items():
            assert img.dtype == np.uint8 and img.shape == (128, 128, 3), name
            # A real render has structure: not a constant image.
            assert img.std() > 5.0, f"{name} camera image is flat"
    assert obs["state"].shape == (PROPRIO_DIM,)
    assert info["t_sim_s"] == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_seeded_reset_is_reproducible_and_random(task: str) -> None:
    env = TwinEnv(task=task, obs="state")
    a = env.reset(seed=11)[0]["state"]
    b = env.reset(seed=11)[0]["state"]
    c = env.reset(seed=12)[0]["state"]
    np.testing.assert_allclose(a, b, atol=1e-9)
    assert np.abs(a - c).max() > 1e-3, "different seeds must randomise object/arm poses"


@pytest.mark.parametrize("task", sorted(TASKS))
def test_time_limit_truncates_and_never_terminates(task: str) -> None:
    env = TwinEnv(task=task, obs="state")
    env.reset(seed=0)
    limit = env.task.cfg.episode_steps
    for step in range(1, limit + 1):
        # Pushing straight up never solves any task.
        _, _, terminated, truncated, info = env.step(np.array([0, 0, 1.0, 0, 0, 0, 1.0]))
        assert not terminated and not info["success"]
        assert truncated == (step == limit)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_success_terminates_with_sparse_reward(task: str) -> None:
    env = TwinEnv(task=task, obs="state")
    expert = env.expert()
    env.reset(seed=5)
    expert.reset()
    for _ in range(env.task.cfg.episode_steps):
        _, reward, terminated, truncated, info = env.step(expert.act(env.cell))
        assert terminated == info["success"]
        assert reward == (1.0 if info["success"] else 0.0)
        if terminated or truncated:
            break
    assert terminated and not truncated


def test_dense_shaping_is_bounded() -> None:
    for name in TASKS:
        task = make_task(name)
        env = TwinEnv(task=name, obs="state")
        env.reset(seed=1)
        assert -1.0 <= task.shaping(env.cell) <= 0.0


def test_unknown_task_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match="pick_cube"):
        make_task("stack_blocks")


def test_a_physics_blowup_truncates_the_episode_and_says_so() -> None:
    # MuJoCo resets its data by itself when a velocity turns NaN or huge; stepping on from
    # there would store a transition whose next state does not follow from the action.
    env = TwinEnv(task="pick_cube", obs="state")
    env.reset(seed=0)
    zero = np.zeros(7, np.float32)
    assert env.step(zero)[4]["sim_blowup"] is False
    for blowups in (1, 2):  # MuJoCo clears its counters at each reset: the second counts too
        env.cell.data.qvel[-1] = np.nan  # the cube's free joint
        _, reward, terminated, truncated, info = env.step(zero)
        assert info["sim_blowup"] and truncated and not terminated
        assert reward == 0.0 and not info["success"] and env.cell.blowups() == blowups
    env.reset(seed=1)
    _, _, _, truncated, info = env.step(zero)
    assert not info["sim_blowup"] and not truncated
    env.close()


@pytest.mark.parametrize("speed", [5.0, 500.0])
def test_an_implausible_speed_is_a_blowup_before_it_reaches_an_observation(speed: float) -> None:
    # A cube squeezed out of a wedged grasp (shifted cell, random actions) flew at 50 km/s,
    # 400 m away, for 6 policy steps before MuJoCo's own check (1e10) reset it.
    env = TwinEnv(task="pick_cube", obs="state")
    env.reset(seed=0)
    zero = np.zeros(7, np.float32)
    env.step(zero)
    env.cell.data.qvel[-6] = speed  # the cube's free joint: x velocity (m/s)
    obs, _, _, truncated, info = env.step(zero)
    flung = speed > MAX_PLAUSIBLE_SPEED
    assert info["sim_blowup"] == flung and truncated == flung and env.cell.blowups() == flung
    if flung:  # the reset state (the cube at its default pose), never the flight
        assert np.allclose(obs["state"][CUBE_POS], env.cell.model.body("cube").pos, atol=1e-3)
        # ...and the arm at rest at home, where a reset through the controller can start
        np.testing.assert_allclose(env.cell.arm_q(), HOME_Q, atol=1e-9)
    else:  # a hard flick is physics: the cube slid on from x = 0.5 m
        assert obs["state"][CUBE_POS][0] > 0.6
    env.close()


def test_the_actor_core_stores_no_transition_from_a_step_that_blew_up() -> None:
    env = TwinEnv(task="pick_cube", obs="state")
    sent: list[Transition] = []
    actor = ActorCore(env, None, ActorSettings(random_steps=100), sent.append)  # type: ignore[arg-type]
    assert len(actor.step()) == 1
    env.cell.data.qvel[-6] = 500.0
    assert actor.step() == [] and actor.aborted == actor.sim_blowups == 1 and not actor.in_episode
    assert actor.env_steps == 2 and len(sent) == 1
    assert len(actor.step()) == 1 and actor.episodes == 2  # a fresh episode goes on
    env.close()


def test_the_pick_cube_state_says_how_far_the_fingers_must_still_turn() -> None:
    env = TwinEnv(task="pick_cube", obs="state")
    obs, _ = env.reset(seed=3)
    expert = env.expert()
    start = obs["state"][-2:]  # sin, cos of 4x the remaining yaw
    while expert.phase == "approach":  # the expert descends only once aligned (< 0.05 rad)
        obs, *_ = env.step(expert.act(env.cell))
    assert abs(start[0]) > 0.3  # seed 3 starts well off a face
    assert abs(obs["state"][-2]) < 0.25 and obs["state"][-1] > 0.95
    env.close()
