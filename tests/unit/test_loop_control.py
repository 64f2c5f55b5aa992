"""`EpisodeControl` as `ActorCore` obeys it: pause, labels, reset, start (bus-free)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from robot_rl.loop.actor import ActorCore, ActorSettings
from robot_rl.loop.control import EpisodeControl
from robot_rl.loop.types import Transition


class CountingEnv:
    """Reward 0.5 per step; says success at ``success_at`` steps; counts what it is asked."""

    action_space = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)

    def __init__(self, success_at: int = 10_000) -> None:
        self.success_at = success_at
        self.resets = self.steps = self.reobserved = 0
        self.t = 0

    def _obs(self) -> dict[str, Any]:
        return {"state": np.full(3, float(self.t), np.float32)}

    def reset(self, seed: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        self.resets += 1
        self.t = 0
        return self._obs(), {}

    def reobserve(self) -> dict[str, Any]:
        self.reobserved += 1
        return self._obs()

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict]:
        self.steps += 1
        self.t += 1
        success = self.t >= self.success_at
        return self._obs(), 0.5, success, False, {"success": success}


class Zero:
    def act(self, obs: Any, deterministic: bool = False) -> np.ndarray:
        return np.zeros(7, np.float32)

    def load_trainable_state(self, state: Any) -> None:
        pass


def core(env: CountingEnv, control: EpisodeControl) -> tuple[ActorCore, list[Transition]]:
    out: list[Transition] = []
    return ActorCore(env, Zero(), ActorSettings(), out.append, control=control), out


def test_pause_takes_no_step_until_resumed_and_then_observes_afresh() -> None:
    env, ctl = CountingEnv(), EpisodeControl()
    actor, _ = core(env, ctl)
    actor.step()
    ctl.request("pause", "gui a")
    assert [actor.step() for _ in range(5)] == [[]] * 5
    assert env.steps == 1 and ctl.paused and ctl.take_events() == [("pause", "gui a")]
    ctl.request("pause")  # already paused: nothing new to announce
    ctl.request("resume", "gui a")
    assert len(actor.step()) == 1 and env.steps == 2 and env.reobserved == 1
    assert ctl.take_events() == [("resume", "gui a")]


@pytest.mark.parametrize("label", ["success", "failure"])
def test_a_label_ends_the_episode_on_its_next_transition(label: str) -> None:
    env, ctl = CountingEnv(), EpisodeControl()
    actor, sent = core(env, ctl)
    actor.step()
    actor.step()
    ctl.request(label, "gui a")
    last = actor.step()[0]
    won = label == "success"
    assert last.reward == float(won) and last.terminated == won and last.truncated != won
    assert not actor.in_episode and actor.finished[-1].success == won
    assert [t.reward for t in sent] == [0.5, 0.5, float(won)]
    assert ("success" if won else "failure", "gui a") in ctl.take_events()
    # The env said "no success" at that step: a human success contradicts it.
    assert ctl.labels == 1 and ctl.disagreements == int(won)
    actor.step()  # the next episode begins
    assert env.resets == 2 and sent[-1].episode_id == 1


def test_a_label_while_paused_waits_for_the_resume_and_between_episodes_is_ignored() -> None:
    env, ctl = CountingEnv(success_at=1), EpisodeControl()
    actor, sent = core(env, ctl)
    actor.step()  # the env ends episode 0 with a success
    ctl.request("failure")
    actor.step()  # episode 1 step 0: the label came between episodes
    ctl.request("success")  # arrives during the reset of episode 2 (queued, not yet polled)
    actor.begin_episode()
    assert sent[-1].reward == 0.5 and ctl.labels == 0
    assert [k for k, _ in ctl.take_events() if k == "ignored"] == ["ignored"] * 2
    env.success_at = 10_000
    actor.step()
    ctl.request("pause")
    ctl.request("success")
    assert actor.step() == [] and ctl.labels == 0
    ctl.request("resume")
    assert actor.step()[0].reward == 1.0 and ctl.labels == 1


def test_reset_ends_the_episode_without_a_transition_and_resets_the_env() -> None:
    env, ctl = CountingEnv(), EpisodeControl()
    actor, sent = core(env, ctl)
    actor.step()
    actor.step()
    ctl.request("pause")
    ctl.request("reset")
    assert actor.step() == []  # resets, and stays paused
    assert env.resets == 2 and actor.episodes == 2 and actor.aborted == 1 and len(sent) == 2
    ctl.request("resume")
    assert actor.step()[0].episode_id == 1 and env.resets == 2


def test_wait_for_start_holds_each_episode_until_a_start() -> None:
    env, ctl = CountingEnv(success_at=2), EpisodeControl(wait_for_start=True)
    actor, _ = core(env, ctl)
    assert actor.step() == [] and env.resets == 0
    ctl.request("start", "gui a")
    actor.step()
    actor.step()  # the env ends episode 0
    assert actor.step() == [] and env.resets == 1  # episode 1 waits
    ctl.request("start")
    assert len(actor.step()) == 1 and env.resets == 2


def test_with_the_human_as_reward_source_only_the_label_pays() -> None:
    env, ctl = CountingEnv(success_at=3), EpisodeControl(reward_source="human")
    actor, sent = core(env, ctl)
    actor.step()
    ctl.request("success")
    actor.step()
    assert [(t.reward, t.terminated) for t in sent] == [(0.0, False), (1.0, True)]
    assert ctl.disagreements == 1  # the env did not see a success at step 2
    actor.step()
    actor.step()
    actor.step()  # the env's own success at step 3: no reward, not a success
    assert [t.reward for t in sent[2:]] == [0.0] * 3 and sent[-1].truncated
    assert not actor.finished[-1].success


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown episode request"):
        EpisodeControl().request("jump")
    with pytest.raises(ValueError, match="reward_source"):
        EpisodeControl(reward_source="oracle")  # type: ignore[arg-type]


def test_a_transition_before_any_weights_carries_version_0_which_the_bus_can_encode() -> None:
    from robot_rl.bus.cdr.encoder import encode
    from robot_rl.nodes.transitions import to_msg

    actor, sent = core(CountingEnv(), EpisodeControl())
    actor.step()  # no PolicyWeights yet (a learner slower to start than the actor)
    assert sent[0].policy_version == 0 and encode(to_msg(sent[0]))
    assert actor.load_weights({"policy_version": 1})  # the learner's first version loads
