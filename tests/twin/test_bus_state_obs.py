"""The state observation through the bus equals the in-process TwinEnv's, for the same sim
state: proprioception, then the task's object state from the twin's ``object_state`` topic."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.envs.twin_env import TwinEnv, state_vector
from robot_rl.nodes.bus_env import BusEnv, BusEnvConfig
from robot_rl.nodes.impedance_bridge import BridgeConfig, ImpedanceBridge
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.observation import ObsConfig, StaleObservationError
from robot_rl.nodes.reset import ResetConfig, ResetNode
from robot_rl.nodes.twin import TwinNode, TwinNodeConfig
from robot_rl.spec import PROPRIO_DIM

pytestmark = pytest.mark.twin

VELOCITY = slice(7, 13)  # the bus differentiates poses; the twin env reads the sim's velocity
GRIPPER = 13  # the bus sums the finger joints; the twin env reads a pad-distance sensor


def _cell(task: str, obs: ObsConfig, object_topic: str = "object_state") -> tuple[Any, BusEnv]:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    twin_cfg = TwinNodeConfig(task=task, cameras=(), object_state_topic=object_topic)
    twin = TwinNode(bus, twin_cfg, sim_clock=clock)
    for node in (
        twin,
        ImpedanceBridge(bus, BridgeConfig(calibration="default", task=task)),
        ResetNode(bus, ResetConfig(task=task, twin_reset_service="twin/reset_objects")),
    ):
        loop.add(node)
    return twin, BusEnv(bus, obs, BusEnvConfig(episode_steps=20), loop.spin_once)


@pytest.mark.parametrize("task", ["reach", "pick_cube"])
def test_bus_state_equals_the_twin_env_state_for_the_same_sim_state(task: str) -> None:
    in_process = TwinEnv(task=task, obs="state")
    dim = in_process.observation_space["state"].shape[0]
    in_process.close()
    twin, env = _cell(task, ObsConfig(max_age_s=0.0, object_state_dim=dim - PROPRIO_DIM))
    assert env.observation_space["state"].shape == (dim,)
    rng = np.random.default_rng(0)
    for episode in range(2):
        obs, _ = env.reset(seed=episode)
        # The first observation shows the re-placed objects, not those of the last episode.
        np.testing.assert_allclose(obs["state"][PROPRIO_DIM:], twin.sim.object_state())
        for _ in range(4):
            action = rng.uniform(-1, 1, 7).astype(np.float32)
            obs, *_ = env.step(action)
            expected = state_vector(twin.sim.cell, twin.sim.task)  # the sim where it stopped
            bus = obs["state"]
            assert bus.shape == expected.shape == (dim,)
            mask = np.ones(dim, bool)
            mask[VELOCITY] = mask[GRIPPER] = False
            np.testing.assert_allclose(bus[mask], expected[mask], atol=1e-5)
            np.testing.assert_allclose(bus[VELOCITY], expected[VELOCITY], atol=0.05)
            assert abs(bus[GRIPPER] - expected[GRIPPER]) < 2e-4
    twin.close()


def test_a_cell_without_object_state_is_a_clear_error() -> None:
    twin, env = _cell("reach", ObsConfig(max_age_s=0.0, object_state_dim=6), object_topic="")
    env.cfg.obs_timeout_s = 1.0
    with pytest.raises(StaleObservationError, match="only the twin publishes"):
        env.reset(seed=0)
    twin.close()


def test_an_object_state_of_another_length_is_named() -> None:
    twin, env = _cell("reach", ObsConfig(max_age_s=0.0, object_state_dim=10))
    env.cfg.obs_timeout_s = 1.0
    with pytest.raises(StaleObservationError, match=r"6 values \(task 'reach'\).*dim is 10"):
        env.reset(seed=0)
    twin.close()


@pytest.mark.parametrize("task", ["pick_cube", "peg_insert"])
def test_a_seed_places_the_same_configuration_in_both_links(task: str) -> None:
    """The reset node draws the arm's start and the twin node the objects, from the seed's
    two streams (robot_rl.spec.reset_rng), as the in-process env does: same seed, same start
    (the arm arrives within the reset node's tolerance). Before, both drew the seed's first
    numbers, so the bus cell's arm start followed the object placement."""
    in_process = TwinEnv(task=task, obs="state")
    dim = in_process.observation_space["state"].shape[0]
    twin, env = _cell(task, ObsConfig(max_age_s=0.0, object_state_dim=dim - PROPRIO_DIM))
    pose = slice(0, 7)
    for seed in (0, 1, 12345):
        bus, _ = env.reset(seed=seed)
        ref, _ = in_process.reset(seed=seed)
        np.testing.assert_allclose(bus["state"][pose], ref["state"][pose], atol=3e-3)
        np.testing.assert_allclose(
            bus["state"][PROPRIO_DIM:], ref["state"][PROPRIO_DIM:], atol=3e-3
        )
    in_process.close()
    twin.close()


def test_a_twin_blowup_reaches_the_bus_env_as_sim_blowup() -> None:
    # The twin node screens its physics as TwinEnv does; the graph's actor must see the
    # blowup too, or the learner stores a transition into MuJoCo's reset state.
    twin, env = _cell("pick_cube", ObsConfig(max_age_s=0.0, object_state_dim=12))
    zero = np.zeros(7, np.float32)
    env.reset(seed=0)
    assert env.step(zero)[4]["sim_blowup"] is False
    twin.sim.cell.data.qvel[-6] = 500.0  # the cube's free joint: x velocity (m/s)
    _, reward, terminated, truncated, info = env.step(zero)
    assert info["sim_blowup"] and truncated and not terminated and reward == 0.0
    assert twin.sim.cell.blowups() == 1
    env.reset(seed=1)
    _, _, _, truncated, info = env.step(zero)
    assert not info["sim_blowup"] and not truncated
    twin.close()
