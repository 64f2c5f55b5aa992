"""Validation of what the page sends, and the link's liveness rule, without a browser."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.gui.link import BrowserLink
from robot_rl.gui.protocol import (
    MAX_BODY_BYTES,
    ConflictError,
    RejectedError,
    check_order,
    parse_state,
)
from robot_rl.hil.errors import DeviceLostError

SESSION = "a1b2c3d4e5f6"


def msg(**over: Any) -> str:
    m: dict[str, Any] = {
        "session": SESSION,
        "seq": 0,
        "t_ms": 10.0,
        "twist": [0.5, 0, 0, 0, 0, -0.25],
        "gripper": 1,
        "buttons": 1,
    }
    m.update(over)
    return json.dumps(m)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_valid_message_is_taken_as_sent() -> None:
    s = parse_state(msg())
    assert s.session == SESSION and s.seq == 0 and s.t_ms == 10.0
    np.testing.assert_array_equal(s.twist, [0.5, 0, 0, 0, 0, -0.25])
    assert s.gripper == 1.0 and s.buttons == TeleopCommand.BUTTON_INTERVENE and not s.clamped


def test_out_of_range_values_are_clamped_and_unknown_buttons_dropped() -> None:
    s = parse_state(msg(twist=[3, -7, 0.2, 1, -1, 1.5], gripper=-4, buttons=0xFF01))
    np.testing.assert_array_equal(s.twist, [1, -1, 0.2, 1, -1, 1])
    assert s.gripper == -1.0 and s.buttons == 1 and s.clamped


@pytest.mark.parametrize(
    "body",
    [
        msg(twist=[float("nan"), 0, 0, 0, 0, 0]),  # json.dumps writes NaN, which JSON lacks
        msg(twist=[0, 0, float("inf"), 0, 0, 0]),
        msg(gripper=float("-inf")),
        msg(t_ms=float("nan")),
        msg(twist=[0, 0, 0, 0, 0]),
        msg(twist=[0, 0, 0, 0, 0, 0, 0]),
        msg(twist=[0, 0, "1", 0, 0, 0]),
        msg(twist=[0, 0, True, 0, 0, 0]),
        msg(twist={"x": 1}),
        msg(gripper=None),
        msg(gripper=True),
        msg(buttons=1.5),
        msg(buttons=-1),
        msg(buttons=2**32),
        msg(seq=-1),
        msg(seq="3"),
        msg(t_ms=-1),
        msg(session="short"),
        msg(session="has spaces in it"),
        msg(session=12345678),
        '{"session": "a1b2c3d4e5f6", "seq": 0',
        "[1, 2, 3]",
        "",
        b"\xff\xfe",
        msg(pad="x" * MAX_BODY_BYTES),
    ],
)
def test_malformed_or_non_finite_messages_are_rejected(body: str | bytes) -> None:
    with pytest.raises(RejectedError):
        parse_state(body)


def test_order_needs_a_newer_seq_a_later_stamp_and_the_same_page() -> None:
    first = parse_state(msg(seq=5, t_ms=100.0))
    check_order(parse_state(msg(seq=6, t_ms=100.0)), first)  # same stamp: fine
    for late in (msg(seq=5, t_ms=120.0), msg(seq=4, t_ms=120.0), msg(seq=7, t_ms=99.0)):
        with pytest.raises(ConflictError):
            check_order(parse_state(late), first)
    with pytest.raises(ConflictError, match="another page"):
        check_order(parse_state(msg(session="zzzzzzzzzz", seq=9, t_ms=200.0)), first)


def test_link_keeps_the_last_valid_state_and_never_passes_nan() -> None:
    clock = FakeClock()
    link = BrowserLink(timeout_s=0.5, clock=clock)
    link.start()
    before = link.sample()  # no page yet: neutral
    assert not before.twist.any() and before.buttons == 0 and before.gripper == 1.0
    link.receive(msg(seq=1))
    for bad in ('{"nan": NaN}', msg(seq=2, twist=[float("nan")] * 6), msg(seq=1, t_ms=20)):
        with pytest.raises(RejectedError):
            link.receive(bad)
    s = link.sample()
    assert np.isfinite(s.twist).all() and s.twist[0] == 0.5 and s.buttons == 1
    assert link.accepted == 1 and link.rejected == 3
    assert link.status()["device"] == "connected" and link.status()["intervening"]


def test_silence_longer_than_the_timeout_loses_the_device_for_good() -> None:
    clock = FakeClock()
    link = BrowserLink(timeout_s=0.5, clock=clock)
    link.start()
    clock.t += 10.0  # no page yet: waiting is not a loss
    link.sample()
    link.receive(msg(seq=1))
    clock.t += 0.5
    assert link.sample().buttons == 1  # exactly at the timeout: still there
    clock.t += 0.01
    with pytest.raises(DeviceLostError, match=r"timeout 0\.5 s"):
        link.sample()
    with pytest.raises(ConflictError, match="device lost"):
        link.receive(msg(seq=2, t_ms=900.0))  # the page came back: refused
    with pytest.raises(DeviceLostError):
        link.sample()
    assert link.status()["device"] == "lost" and not link.status()["intervening"]


def test_garbage_is_no_sign_of_life() -> None:
    clock = FakeClock()
    link = BrowserLink(timeout_s=0.5, clock=clock)
    link.start()
    link.receive(msg(seq=1))
    for i in range(10):
        clock.t += 0.1
        with pytest.raises(RejectedError):
            link.receive(msg(seq=2 + i, twist=[float("nan")] * 6))
    with pytest.raises(DeviceLostError):
        link.sample()


def test_a_late_message_after_the_timeout_is_a_loss_even_if_nobody_sampled() -> None:
    clock = FakeClock()
    link = BrowserLink(timeout_s=0.5, clock=clock)
    link.start()
    link.receive(msg(seq=1))
    clock.t += 2.0  # e.g. a background tab throttled to one timer per second
    with pytest.raises(ConflictError):
        link.receive(msg(seq=2, t_ms=2010.0))
    with pytest.raises(DeviceLostError):
        link.sample()


def test_a_closed_link_refuses_and_reports_lost() -> None:
    link = BrowserLink(timeout_s=0.5)
    with pytest.raises(DeviceLostError, match="not open"):
        link.sample()
    link.start()
    link.stop()
    with pytest.raises(ConflictError):
        link.receive(msg())
