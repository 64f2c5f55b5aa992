"""Routing modes (HIL-SERL, RLIF, BC, DAgger), per-episode statistics and the session
hooks, with the project's real ReplayBuffer as the sink."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.types import ObsSpec
from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.arbiter import Arbiter, ArbiterConfig, Decision, Source
from robot_rl.hil.command import make_command
from robot_rl.hil.mapping import TeleopMapping
from robot_rl.hil.routing import Router, RouterConfig, route
from robot_rl.hil.session import HilConfig, HilSession
from robot_rl.hil.stats import InterventionStats
from robot_rl.loop.types import Transition

POLICY = np.array([0.1, 0.2, 0.3, 0.0, 0.0, 0.0, 1.0])
HUMAN = np.array([-0.5, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0])


def obs(k: int) -> dict:
    s = np.zeros(20, np.float32)
    s[0], s[3:7] = k, (0.0, 1.0, 0.0, 0.0)
    return {"state": s}


def step(k: int, reward: float, terminated: bool = False, truncated: bool = False) -> Transition:
    """Env step k (obs k -> obs k + 1) as the actor numbers it, before routing."""
    return Transition(
        "a", 0, 3, k, 100 * k, obs(k), POLICY, reward, obs(k + 1), terminated, truncated, False, 5
    )


def decision(source: Source, onset: bool = False) -> Decision:
    a = HUMAN if source is Source.HUMAN else POLICY
    return Decision(a, a, POLICY, source, onset, False, "", True)


def test_hil_serl_sends_human_steps_to_both_buffers() -> None:
    cfg = RouterConfig("hil_serl")
    r = route(cfg, step(0, 0.5), decision(Source.HUMAN, True))
    assert [x.buffer for x in r] == ["online", "demo"]
    assert all(x.intervened and x.reward == 0.5 for x in r)
    # Both copies keep the actor's numbering: the learner counts them as one env step.
    keys = {(x.actor_id, x.episode_id, x.step, x.stamp_ns, x.policy_version) for x in r}
    assert keys == {("a", 3, 0, 0, 5)}
    np.testing.assert_array_equal(r[1].action, HUMAN.astype(np.float32))
    r = route(cfg, step(1, 1.0, True), decision(Source.POLICY))
    assert [x.buffer for x in r] == ["online"] and r[0].terminated and not r[0].intervened
    r = route(cfg, step(1, 0.0), decision(Source.HANDOVER))
    assert [x.buffer for x in r] == ["online"]  # a blend is never a demo


def test_rlif_penalises_the_refused_action_at_onset_only() -> None:
    cfg = RouterConfig("rlif")
    r = route(cfg, step(3, 1.0), decision(Source.HUMAN, onset=True))
    assert len(r) == 2
    pen, executed = r
    assert pen.reward == -1.0 and pen.terminated and not pen.intervened
    np.testing.assert_array_equal(pen.action, POLICY.astype(np.float32))
    assert pen.obs is pen.next_obs  # no next state for an action never executed
    assert (pen.buffer, pen.step, executed.step) == ("online", 3, 3)
    assert executed.reward == 0.0 and executed.intervened  # no task reward, ever
    np.testing.assert_array_equal(executed.action, HUMAN.astype(np.float32))
    later = route(cfg, step(4, 1.0, True), decision(Source.HUMAN))
    assert [x.reward for x in later] == [0.0]


def test_rlif_can_copy_human_steps_to_demos_without_task_reward() -> None:
    cfg = RouterConfig("rlif", rlif_human_demos=True)
    r = route(cfg, step(3, 1.0), decision(Source.HUMAN, onset=True))
    assert [(x.buffer, x.reward) for x in r] == [("online", -1.0), ("online", 0.0), ("demo", 0.0)]
    r = route(cfg, step(4, 1.0), decision(Source.POLICY))
    assert [(x.buffer, x.reward) for x in r] == [("online", 0.0)]
    with pytest.raises(ValueError, match="demo buffer"):
        Router(cfg, online=[], demo=None)  # type: ignore[arg-type]


def test_bc_keeps_only_human_steps_as_demos() -> None:
    cfg = RouterConfig("bc")
    assert route(cfg, step(0, 0.0), decision(Source.POLICY)) == []
    assert route(cfg, step(0, 0.0), decision(Source.HANDOVER)) == []
    r = route(cfg, step(0, 0.0), decision(Source.HUMAN, True))
    assert [x.buffer for x in r] == ["demo"]


def test_dagger_labels_every_step_it_can() -> None:
    cfg = RouterConfig("dagger")
    label = np.full(7, 0.25)
    r = route(cfg, step(0, 0.0), decision(Source.POLICY), label)
    assert [x.buffer for x in r] == ["demo"]
    np.testing.assert_array_equal(r[0].action, label.astype(np.float32))
    assert route(cfg, step(0, 0.0), decision(Source.POLICY)) == []


def test_router_refuses_missing_buffers_and_unknown_modes() -> None:
    with pytest.raises(ValueError):
        Router(RouterConfig("hil_serl"), online=[], demo=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Router(RouterConfig("rlif"), online=None, demo=None)
    with pytest.raises(ValueError):
        RouterConfig("serl")  # type: ignore[arg-type]


def session(mode: str) -> tuple[HilSession, ReplayBuffer, ReplayBuffer]:
    spec = ObsSpec(20)
    online, demo = ReplayBuffer(64, spec, 7), ReplayBuffer(64, spec, 7)
    cfg = HilConfig(ArbiterConfig(release_hold_s=0.0, handover_s=0.15), RouterConfig(mode))  # type: ignore[arg-type]
    arb = Arbiter(cfg.arbiter, TeleopMapping(cfg.arbiter.mapping, 0.02, 0.1))
    return HilSession(cfg, arb, Router(cfg.router, online, demo)), online, demo


def run(hil: HilSession, pushes: list[bool]) -> None:
    """One episode; ``pushes[k]`` = the operator holds the button with +x at step k."""
    hil.reset()
    for k, push in enumerate(pushes):
        t = 0.1 * k
        c = (
            make_command([1, 0, 0, 0, 0, 0], 1.0, TeleopCommand.BUTTON_INTERVENE, t)
            if push
            else None
        )
        d = hil.act(obs(k), POLICY, c, t)
        hil.record(step(k, 1.0, False, k == len(pushes) - 1), d)


def test_session_hil_serl_into_replay_and_stats() -> None:
    hil, online, demo = session("hil_serl")
    run(hil, [False, True, True, False, False, False, True, False, False, False])
    st = hil.end_episode()
    assert st["hil/interventions"] == 2.0 and st["hil/human_steps"] == 3.0
    assert st["hil/intervention_rate"] == pytest.approx(0.3)
    assert online.num_transitions == 10 and demo.num_transitions == 3
    assert demo.flags["intervened"][demo.valid_indices()].all()
    # The demo buffer holds operator actions in the action frame (+x device = +x base).
    np.testing.assert_allclose(demo.action[demo.valid_indices()][:, 0], 1.0)
    hil.reset()
    assert hil.end_episode()["hil/steps"] == 0.0


def test_session_rlif_into_replay() -> None:
    hil, online, demo = session("rlif")
    run(hil, [False, True, True, False, False])
    b = online.get(online.valid_indices())
    assert online.num_transitions == 6 and demo.num_transitions == 0
    assert sorted(b.reward.tolist()) == [-1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    pen = int(np.argmin(b.reward))
    assert b.terminated[pen] and not b.intervened[pen]
    np.testing.assert_allclose(b.action[pen], POLICY.astype(np.float32))


def test_stats_rate_of_an_empty_episode_is_zero() -> None:
    assert InterventionStats().rate == 0.0


def test_session_without_buffers_routes_but_does_not_store() -> None:
    cfg = HilConfig(router=RouterConfig("rlif"))
    hil = HilSession(cfg, Arbiter(cfg.arbiter, TeleopMapping(cfg.arbiter.mapping, 0.02, 0.1)), None)
    c = make_command([1, 0, 0, 0, 0, 0], 1.0, TeleopCommand.BUTTON_INTERVENE, 0.0)
    d = hil.act(obs(0), POLICY, c, 0.0)
    routed = hil.route(step(0, 1.0), d)
    assert [(r.buffer, r.reward) for r in routed] == [("online", -1.0), ("online", 0.0)]
    with pytest.raises(RuntimeError, match="route"):
        hil.record(step(0, 1.0), d)
