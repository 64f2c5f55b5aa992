"""The cockpit's episode controls reach the actor node, with the lock-step twin as judge.

The requests go out exactly as the page's clicks do (`BusCommandSink` on
``episode_control``); what the actor announces is read by the page's own `BusCell`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from robot_rl.bus.api import Bus
from robot_rl.gui.commands import BusCommandSink
from robot_rl.gui.config import GuiConfig
from robot_rl.gui.feeds import BusCell, FrameStore, attach_feeds
from robot_rl.gui.sources import OperatorCommand
from robot_rl.gui.twin_graph import TwinGraphConfig, TwinTrainingGraph, wait_for

pytestmark = pytest.mark.twin
NO_UPDATES = (
    "{sac: {actor: {hidden_dims: [16]}, critic: {hidden_dims: [16]}}, random_steps: 100000}"
)


class Rig:
    def __init__(self) -> None:
        self.cfg = GuiConfig(cameras=())
        self.cell = BusCell(self.cfg)
        self.sink: BusCommandSink | None = None
        self.graph = TwinTrainingGraph(
            TwinGraphConfig(episode_steps=200, policy_overrides=NO_UPDATES), self._attach
        )

    def _attach(self, bus: Bus) -> None:
        attach_feeds(bus, self.cfg, FrameStore(), self.cell)
        self.sink = BusCommandSink(bus, self.cfg)

    def click(self, kind: str) -> None:
        assert self.sink is not None
        self.sink.send(OperatorCommand(kind, "test-page", time.time()))

    def stored(self) -> list[Any]:
        with self.graph.lock:
            return list(self.graph.stored)


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    r = Rig()
    r.graph.start()
    yield r
    r.graph.stop()
    assert r.graph.error is None


def test_pause_stops_the_actions_and_the_bridge_holds_the_arm(rig: Rig) -> None:
    g = rig.graph
    wait_for("acting", lambda: len(rig.stored()), lambda n: n >= 5)
    rig.click("pause")
    wait_for("page shows paused", lambda: rig.cell.cell_status().paused, bool)
    drift_mm, acted = g.hold_since(g.now_s())
    print(f"\npaused: drift {drift_mm:.2f} mm over 2 s of sim time, {acted} actions")
    assert acted == 0 and drift_mm < 5.0
    n_stored = len(rig.stored())
    rig.click("resume")
    wait_for("resumed", lambda: rig.cell.cell_status().paused, lambda p: not p)
    wait_for("acting again", lambda: len(rig.stored()), lambda n: n >= n_stored + 3)


def test_a_success_click_stores_reward_1_on_the_last_transition(rig: Rig) -> None:
    n = len(wait_for("acting", rig.stored, lambda s: len(s) >= 3 and s[-1].step >= 1))
    rig.click("success")
    wait_for("page counts it", lambda: rig.cell.cell_status().successes, lambda k: k == 1)
    after = rig.stored()[n:]
    labelled = next(i for i, s in enumerate(after) if s.reward == 1.0)
    last = after[labelled]
    assert last.terminated and not last.truncated
    assert all(s.reward == 0.0 for s in after[:labelled])  # the twin's sparse reach reward
    nxt = wait_for("next episode", lambda: rig.stored()[n + labelled + 1 :], bool)[0]
    assert nxt.episode_id == last.episode_id + 1 and nxt.step == 0
    assert rig.graph.actor is not None and rig.graph.actor.summary()["labels"] == 1


def test_reset_runs_the_reset_node_and_starts_a_new_episode(rig: Rig) -> None:
    g = rig.graph
    assert g.reset is not None
    wait_for("mid-episode", rig.stored, lambda s: bool(s) and s[-1].step >= 2)
    completed, episode = g.reset.completed, rig.stored()[-1].episode_id
    rig.click("reset")
    wait_for("reset node ran", lambda: g.reset.completed if g.reset else 0, lambda c: c > completed)
    first = wait_for(
        "new episode", lambda: [s for s in rig.stored() if s.episode_id > episode], bool
    )[0]
    assert first.step == 0 and first.episode_id == episode + 1
    ended = [s for s in rig.stored() if s.episode_id == episode]
    assert not ended[-1].terminated and not ended[-1].truncated  # cut off, no transition
