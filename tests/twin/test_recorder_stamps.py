"""The one episode recorder stamps each observation with its ``stamp_ns``: in the twin
that is sim time, and the same stamp the actor core puts on the transition."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot_rl.envs.twin_env import TwinEnv
from robot_rl.loop.actor import ActorCore, ActorSettings
from robot_rl.loop.types import Transition
from robot_rl.train.demos import record_scripted

pytestmark = pytest.mark.twin


class Replay:
    """A policy that plays back stored actions."""

    def __init__(self, actions: np.ndarray) -> None:
        self.actions, self.k = actions, 0

    def act(self, obs: Mapping[str, Any], deterministic: bool = False) -> np.ndarray:
        self.k += 1
        return self.actions[self.k - 1]

    def load_trainable_state(self, state: Mapping[str, Any]) -> None:
        pass


def test_recorded_stamps_are_sim_time_and_match_the_actor_transitions(tmp_path: Path) -> None:
    env = TwinEnv(task="reach", obs="state")
    store = record_scripted(env, tmp_path / "demos", 1, seed=0, progress=False)
    ep = store.episode(0)
    assert ep.metadata["seed"] == 0 and ep.metadata["source"] == "scripted"
    period_ns = round(1e9 / env.cfg.control_hz)
    # Sim time: the reset observation at 0, then one control period per step.
    np.testing.assert_array_equal(ep.timestamp_ns, period_ns * np.arange(ep.num_steps + 1))
    # ActorCore episode 0 of seed 0 resets with seed 0: the same episode, the same stamps.
    sent: list[Transition] = []
    actor = ActorCore(env, Replay(ep.action), ActorSettings(seed=0), sent.append)
    for _ in range(ep.num_steps):
        actor.step()
    assert [t.stamp_ns for t in sent] == ep.timestamp_ns[:-1].tolist()
    np.testing.assert_allclose(sent[-1].next_obs["state"], ep.state[-1], atol=1e-6)
    env.close()
