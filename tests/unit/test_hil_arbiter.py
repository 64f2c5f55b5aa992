"""Arbitration edge cases: deadband jitter, hold and release hysteresis, handover, a press
during the handover, a device lost mid-intervention, gripper takeover, stored frames.
Time is passed in explicitly, so nothing here depends on the wall clock."""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import pytest

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.arbiter import Arbiter, ArbiterConfig, Source
from robot_rl.hil.command import make_command
from robot_rl.hil.frames import FrameConfig
from robot_rl.hil.mapping import MappingConfig, TeleopMapping

DT = 0.1  # policy period, s
Q_DOWN = np.array([0.0, 1.0, 0.0, 0.0])
POLICY = np.array([0.2, -0.1, 0.3, 0.0, 0.0, 0.1, -1.0])
INTERVENE = TeleopCommand.BUTTON_INTERVENE


def make(**kw: object) -> Arbiter:
    cfg = ArbiterConfig(**kw)  # type: ignore[arg-type]
    return Arbiter(cfg, TeleopMapping(cfg.mapping, 0.02, 0.1))


def cmd(t: float, twist: list[float] | None = None, buttons: int = 0, grip: float = 1.0):
    return make_command(np.array(twist or [0.0] * 6), grip, buttons, t)


def test_no_device_means_policy() -> None:
    arb = make()
    for k in range(5):
        d = arb.step(POLICY, None, k * DT, Q_DOWN)
        assert d.source is Source.POLICY and not d.intervened
        np.testing.assert_array_equal(d.action, POLICY)
        np.testing.assert_array_equal(d.stored_action, POLICY)
        assert d.event == "" and not d.device_lost


def test_jitter_inside_the_deadband_never_engages() -> None:
    arb = make(engage="motion", deadband=0.08)
    rng = np.random.default_rng(0)
    for k in range(200):
        jitter = rng.uniform(-0.079, 0.079, 6).tolist()
        d = arb.step(POLICY, cmd(k * DT, jitter), k * DT, Q_DOWN)
        assert d.source is Source.POLICY and not d.onset
        np.testing.assert_array_equal(d.action, POLICY)


def test_jitter_inside_the_deadband_is_exactly_still_while_holding() -> None:
    arb = make()
    arb.step(POLICY, cmd(0.0, buttons=INTERVENE), 0.0, Q_DOWN)
    rng = np.random.default_rng(1)
    for k in range(1, 50):
        jitter = rng.uniform(-0.079, 0.079, 6).tolist()
        d = arb.step(POLICY, cmd(k * DT, jitter, INTERVENE), k * DT, Q_DOWN)
        assert d.intervened
        np.testing.assert_array_equal(d.action[:6], 0.0)


def test_motion_hysteresis_between_release_and_engage_thresholds() -> None:
    arb = make(engage="motion", engage_threshold=0.2, release_threshold=0.1, release_hold_s=0.0)
    mid = [0.15, 0, 0, 0, 0, 0]
    assert arb.step(POLICY, cmd(0.0, mid), 0.0, Q_DOWN).source is Source.POLICY
    assert arb.step(POLICY, cmd(0.1, [0.5, 0, 0, 0, 0, 0]), 0.1, Q_DOWN).onset
    for k in range(2, 20):  # 0.15 no longer engages, but still holds on
        assert arb.step(POLICY, cmd(k * DT, mid), k * DT, Q_DOWN).intervened


def test_button_mode_ignores_motion() -> None:
    arb = make(engage="button")
    d = arb.step(POLICY, cmd(0.0, [1.0, 0, 0, 0, 0, 0]), 0.0, Q_DOWN)
    assert d.source is Source.POLICY
    assert arb.step(POLICY, cmd(0.1, [1.0, 0, 0, 0, 0, 0], INTERVENE), 0.1, Q_DOWN).onset


def release_sequence(arb: Arbiter, hold_steps: int) -> list:
    """Engage with full +x for hold_steps, then let go entirely; return decisions."""
    out = []
    for k in range(hold_steps):
        out.append(arb.step(POLICY, cmd(k * DT, [1.0, 0, 0, 0, 0, 0], INTERVENE), k * DT, Q_DOWN))
    for k in range(hold_steps, hold_steps + 20):
        out.append(arb.step(POLICY, cmd(k * DT), k * DT, Q_DOWN))
    return out


def test_release_hysteresis_then_smooth_handover() -> None:
    # Thresholds chosen off the 0.1 s grid so that no comparison sits on a float tie.
    arb = make(release_hold_s=0.25, handover_s=0.45)
    ds = release_sequence(arb, 3)
    sources = [d.source for d in ds]
    # Engaged until t=0.2; at rest it stays the human's (arm still) until 0.25 s have passed.
    assert sources[:5] == [Source.HUMAN] * 5
    assert all(np.all(d.action[:6] == 0.0) for d in ds[3:5])
    assert ds[5].released and sources[5:10] == [Source.HANDOVER] * 5
    assert sources[10:] == [Source.POLICY] * 13
    blend = np.array([d.action for d in ds[4:11]])
    steps = np.abs(np.diff(blend, axis=0))
    assert np.all(steps <= np.abs(POLICY - ds[4].action) * DT / 0.45 + 1e-12)  # no jumps
    np.testing.assert_allclose(ds[10].action, POLICY)
    assert sum(d.onset for d in ds) == 1 and sum(d.released for d in ds) == 1


def test_press_during_handover_takes_control_at_once_as_the_same_intervention() -> None:
    arb = make(release_hold_s=0.0, handover_s=0.5)
    arb.step(POLICY, cmd(0.0, buttons=INTERVENE), 0.0, Q_DOWN)
    assert arb.step(POLICY, cmd(0.1), 0.1, Q_DOWN).source is Source.HANDOVER
    assert arb.step(POLICY, cmd(0.2), 0.2, Q_DOWN).source is Source.HANDOVER
    d = arb.step(POLICY, cmd(0.3, [0, 1.0, 0, 0, 0, 0], INTERVENE), 0.3, Q_DOWN)
    assert d.source is Source.HUMAN and not d.onset
    assert "re-engaged" in d.event
    np.testing.assert_allclose(d.action[:6], [0, 1, 0, 0, 0, 0])  # no blending on takeover


def test_motion_during_handover_also_reengages() -> None:
    arb = make(release_hold_s=0.0, handover_s=1.0)
    arb.step(POLICY, cmd(0.0, [0.5, 0, 0, 0, 0, 0]), 0.0, Q_DOWN)
    assert arb.step(POLICY, cmd(0.1), 0.1, Q_DOWN).source is Source.HANDOVER
    assert arb.step(POLICY, cmd(0.2, [0.05, 0, 0, 0, 0, 0]), 0.2, Q_DOWN).source is (
        Source.HANDOVER
    )  # jitter does not
    assert arb.step(POLICY, cmd(0.3, [0.6, 0, 0, 0, 0, 0]), 0.3, Q_DOWN).source is Source.HUMAN


@pytest.mark.parametrize(
    "bad",
    [
        "none",
        "stale",
        "frame",
        "nan",
    ],
)
def test_device_lost_mid_intervention_hands_back_safely_and_says_so(
    bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    arb = make(handover_s=0.25)  # off the 0.1 s grid: no float ties
    for k in range(3):
        d = arb.step(
            POLICY, cmd(k * DT, [1.0, 0, 0, 0, 0, 0], INTERVENE, grip=-1.0), k * DT, Q_DOWN
        )
    assert d.intervened and d.action[0] == pytest.approx(1.0)
    t = 3 * DT
    lost = {
        "none": None,
        "stale": cmd(t - 1.0, [1.0, 0, 0, 0, 0, 0], INTERVENE),
        "frame": make_command(np.ones(6), 1.0, INTERVENE, t, frame_id="base"),
        "nan": cmd(t, [math.nan, 0, 0, 0, 0, 0], INTERVENE),
    }[bad]
    with caplog.at_level(logging.WARNING, logger="robot_rl.hil.arbiter"):
        d = arb.step(POLICY, lost, t, Q_DOWN)
    assert d.device_lost and d.released and not d.device_ok
    assert d.source is Source.HANDOVER
    np.testing.assert_array_equal(d.action[:6], 0.0)  # the last push is not replayed
    assert d.action[6] == -1.0  # the gripper keeps what it holds
    assert "lost" in d.event and "handing back" in d.event
    assert "lost" in caplog.text
    later = [arb.step(POLICY, None, t + k * DT, Q_DOWN) for k in range(1, 5)]
    assert [x.source for x in later] == [
        Source.HANDOVER,
        Source.HANDOVER,
        Source.POLICY,
        Source.POLICY,
    ]
    assert not any(x.onset or x.device_lost for x in later)  # reported once
    np.testing.assert_allclose(later[-1].action, POLICY)


def test_device_lost_while_the_policy_drives_is_reported_once() -> None:
    arb = make()
    arb.step(POLICY, cmd(0.0), 0.0, Q_DOWN)
    d1 = arb.step(POLICY, None, 0.1, Q_DOWN)
    d2 = arb.step(POLICY, None, 0.2, Q_DOWN)
    assert d1.device_lost and "lost" in d1.event and d1.source is Source.POLICY
    assert not d2.device_lost and d2.event == ""


def test_takeover_keeps_the_gripper_until_the_operator_moves_it() -> None:
    arb = make()
    closed = POLICY.copy()  # the policy holds the gripper closed (-1)
    arb.step(closed, cmd(0.0, grip=1.0), 0.0, Q_DOWN)  # device's sticky state says open
    d = arb.step(closed, cmd(0.1, [0.5, 0, 0, 0, 0, 0], INTERVENE, grip=1.0), 0.1, Q_DOWN)
    assert d.onset and d.action[6] == -1.0
    d = arb.step(closed, cmd(0.2, [0.5, 0, 0, 0, 0, 0], INTERVENE, grip=1.0), 0.2, Q_DOWN)
    assert d.action[6] == -1.0
    d = arb.step(closed, cmd(0.3, [0.5, 0, 0, 0, 0, 0], INTERVENE, grip=-1.0), 0.3, Q_DOWN)
    d = arb.step(closed, cmd(0.4, [0.5, 0, 0, 0, 0, 0], INTERVENE, grip=1.0), 0.4, Q_DOWN)
    assert d.action[6] == 1.0  # the operator toggled it: now it follows the device


def test_gripper_change_engages() -> None:
    arb = make()
    assert arb.step(POLICY, cmd(0.0, grip=1.0), 0.0, Q_DOWN).source is Source.POLICY
    d = arb.step(POLICY, cmd(0.1, grip=-1.0), 0.1, Q_DOWN)
    assert d.onset and d.action[6] == -1.0


def test_human_action_is_stored_in_the_action_frame() -> None:
    frame = FrameConfig(operator_yaw_rad=math.pi / 2)  # operator's forward = base +y
    arb = make(mapping=MappingConfig(frame))
    d = arb.step(POLICY, cmd(0.0, [1.0, 0, 0, 0, 0, 0], INTERVENE), 0.0, Q_DOWN)
    np.testing.assert_allclose(d.action[:3], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(d.stored_action, d.action)


@pytest.mark.parametrize("bug", ["inverse", "device"])
def test_injected_frame_bug_changes_only_what_is_stored(bug: str) -> None:
    frame = FrameConfig(operator_yaw_rad=math.pi / 2)
    base = ArbiterConfig(mapping=MappingConfig(frame))
    good = Arbiter(base, TeleopMapping(base.mapping, 0.02, 0.1))
    bad_cfg = replace(base, stored_frame_bug=bug)
    bad = Arbiter(bad_cfg, TeleopMapping(bad_cfg.mapping, 0.02, 0.1))
    c = cmd(0.0, [1.0, 0, 0, 0, 0, 0], INTERVENE)
    dg, db = good.step(POLICY, c, 0.0, Q_DOWN), bad.step(POLICY, c, 0.0, Q_DOWN)
    np.testing.assert_array_equal(dg.action, db.action)
    expected = [0.0, -1.0, 0.0] if bug == "inverse" else [1.0, 0.0, 0.0]
    np.testing.assert_allclose(db.stored_action[:3], expected, atol=1e-12)


def test_reset_returns_control_to_the_policy() -> None:
    arb = make()
    arb.step(POLICY, cmd(0.0, buttons=INTERVENE), 0.0, Q_DOWN)
    arb.reset()
    assert arb.source is Source.POLICY


@pytest.mark.parametrize(
    "kw",
    [
        {"deadband": 0.3, "engage_threshold": 0.2},
        {"release_threshold": 0.5},
        {"stale_after_s": 0.0},
    ],
)
def test_inconsistent_configs_are_refused(kw: dict) -> None:
    with pytest.raises(ValueError):
        ArbiterConfig(**kw)
