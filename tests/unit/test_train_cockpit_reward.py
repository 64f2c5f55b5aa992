"""What `train --gui` shows as the reward: the stored reward, and the classifier's output."""

from __future__ import annotations

import math

from robot_rl.rewards.source import RewardOutput
from robot_rl.train.cockpit import _reward_view


def test_the_classifier_probability_and_latency_are_shown_with_the_stored_reward() -> None:
    out = RewardOutput(0.0, 0.73, False, 4.25, "classifier")
    view = _reward_view("classifier", 1.0, {"learned_reward": out})  # a human label paid 1
    assert (view.source, view.reward, view.success_prob, view.latency_ms) == (
        "classifier", 1.0, 0.73, 4.25,
    )  # fmt: skip
    nan = RewardOutput(0.0, math.nan, False, 1.0, "vlm")
    assert _reward_view("classifier", 0.0, {"learned_reward": nan}).success_prob is None
    plain = _reward_view("env", -0.5, {})
    assert (plain.source, plain.reward, plain.success_prob, plain.latency_ms) == (
        "env", -0.5, None, None,
    )  # fmt: skip
