"""Success hold, human confirmation and the RLIF intervention reward."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_rl.rewards.frames import Frames
from robot_rl.rewards.hold import HoldConfig, SuccessHold
from robot_rl.rewards.intervention import InterventionReward, InterventionRewardConfig
from robot_rl.rewards.source import RewardOutput, RewardSource

FRAME = {"front": np.zeros((8, 8, 3), np.uint8)}


class Scripted:
    """A RewardSource replaying a fixed sequence of per-frame success decisions."""

    name = "scripted"
    cameras = ("front",)

    def __init__(self, decisions: list[bool]) -> None:
        self.decisions = decisions
        self.i = 0
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def __call__(self, frames: Frames) -> RewardOutput:
        d = self.decisions[self.i]
        self.i += 1
        return RewardOutput(float(d), 0.9 if d else 0.1, d, 0.1, self.name)


def run(source: RewardSource, n: int) -> list[RewardOutput]:
    return [source(FRAME) for _ in range(n)]


def test_protocol_is_satisfied() -> None:
    assert isinstance(Scripted([]), RewardSource)
    assert isinstance(SuccessHold(Scripted([])), RewardSource)
    assert isinstance(InterventionReward(), RewardSource)


def test_hold_needs_k_consecutive_successes() -> None:
    seq = [True, True, False, True, True, True, True]
    outs = run(SuccessHold(Scripted(seq), HoldConfig(hold_frames=3)), len(seq))
    assert [o.success for o in outs] == [False, False, False, False, False, True, True]
    assert [o.reward for o in outs] == [0, 0, 0, 0, 0, 1, 1]
    assert outs[0].success_prob == pytest.approx(0.9)  # the raw probability passes through
    assert all(o.latency_ms >= 0 for o in outs)


def test_hold_one_frame_is_the_raw_decision() -> None:
    seq = [False, True, False]
    outs = run(SuccessHold(Scripted(seq), HoldConfig(hold_frames=1)), 3)
    assert [o.success for o in outs] == seq


def test_source_reward_passes_through_when_asked() -> None:
    outs = run(SuccessHold(Scripted([True, False]), HoldConfig(2, other_reward="source")), 2)
    assert [o.reward for o in outs] == [1.0, 0.0]


def test_reset_clears_the_streak() -> None:
    inner = Scripted([True, True, True, True])
    hold = SuccessHold(inner, HoldConfig(hold_frames=3))
    run(hold, 2)
    hold.reset()
    assert inner.resets == 1
    assert [o.success for o in run(hold, 2)] == [False, False]


def test_confirmation_pending_then_confirmed() -> None:
    answers: list[bool | None] = [None, None, True]
    asked = []

    def confirm(frames: Frames, out: RewardOutput) -> bool | None:
        asked.append(out.success_prob)
        return answers.pop(0)

    hold = SuccessHold(Scripted([True] * 5), HoldConfig(hold_frames=2), confirm)
    outs = run(hold, 4)
    assert [o.success for o in outs] == [False, False, False, True]
    assert len(asked) == 3  # asked on every held frame until answered


def test_rejection_starts_a_cooldown() -> None:
    calls = []

    def reject(frames: Frames, out: RewardOutput) -> bool | None:
        calls.append(1)
        return False

    hold = SuccessHold(
        Scripted([True] * 8), HoldConfig(hold_frames=1, reject_cooldown_frames=3), reject
    )
    outs = run(hold, 6)
    assert not any(o.success for o in outs)
    assert hold.rejections == 2  # frame 1, then frame 5 after 3 ignored frames
    assert len(calls) == 2


def test_bad_hold_config() -> None:
    with pytest.raises(ValueError, match="hold_frames"):
        SuccessHold(Scripted([]), HoldConfig(hold_frames=0))


def test_intervention_penalises_onset_only() -> None:
    flags = [False, True, True, False, True]
    it = iter(flags)
    src = InterventionReward(lambda: next(it))
    outs = run(src, len(flags))
    assert [o.reward for o in outs] == [0.0, -1.0, 0.0, 0.0, -1.0]
    assert all(math.isnan(o.success_prob) and not o.success for o in outs)
    assert src.cameras == ()


def test_intervention_every_step_and_set_flag() -> None:
    src = InterventionReward(cfg=InterventionRewardConfig(penalty=-0.5, onset_only=False))
    src.set_intervening(True)
    assert [o.reward for o in run(src, 2)] == [-0.5, -0.5]
    src.reset()
    assert src(FRAME).reward == 0.0


def test_intervention_adds_to_a_base_source() -> None:
    src = InterventionReward(lambda: True, base=Scripted([True, True]))
    outs = run(src, 2)
    assert [o.reward for o in outs] == [0.0, 1.0]  # -1 + 1 at onset, then 0 + 1
    assert outs[0].success and outs[0].success_prob == pytest.approx(0.9)
    assert src.cameras == ("front",)
