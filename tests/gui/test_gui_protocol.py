"""Validation of what the page sends, and the link's control and liveness rules, without a
browser."""

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
CLIENT = "tab-0001"


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


def controlled(clock: FakeClock) -> BrowserLink:
    """A link whose control was taken by CLIENT's page SESSION, which sent one state with
    intervene released (so the next press counts)."""
    link = BrowserLink(timeout_s=0.5, clock=clock)
    link.start()
    link.take_control(CLIENT, SESSION)
    link.receive(CLIENT, msg(seq=0, buttons=0))
    return link


def test_link_keeps_the_last_valid_state_and_never_passes_nan() -> None:
    clock = FakeClock()
    link = BrowserLink(timeout_s=0.5, clock=clock)
    link.start()
    before = link.sample()  # nobody controls: neutral
    assert not before.twist.any() and before.buttons == 0 and before.gripper == 1.0
    with pytest.raises(ConflictError, match="take control"):
        link.receive(CLIENT, msg(seq=1))  # a viewer cannot steer
    link.take_control(CLIENT, SESSION)
    link.receive(CLIENT, msg(seq=1, buttons=0))
    link.receive(CLIENT, msg(seq=2, t_ms=20.0))
    for bad in ('{"nan": NaN}', msg(seq=3, twist=[float("nan")] * 6), msg(seq=2, t_ms=30)):
        with pytest.raises(RejectedError):
            link.receive(CLIENT, bad)
    s = link.sample()
    assert np.isfinite(s.twist).all() and s.twist[0] == 0.5 and s.buttons == 1
    assert link.accepted == 2 and link.rejected == 4
    assert link.status()["device"] == "connected" and link.status()["intervening"]


def test_intervene_counts_only_as_a_fresh_press_after_taking_control() -> None:
    link = BrowserLink(timeout_s=0.5, clock=FakeClock())
    link.start()
    link.take_control(CLIENT, SESSION)
    link.receive(CLIENT, msg(seq=0))  # still held from before: ignored, and no motion
    s = link.sample()
    assert s.buttons == 0 and not s.twist.any()
    link.receive(CLIENT, msg(seq=1, t_ms=11.0, buttons=0))
    link.receive(CLIENT, msg(seq=2, t_ms=12.0))
    assert link.sample().buttons == 1


def test_silence_ends_the_intervention_and_a_returning_page_must_press_again() -> None:
    clock = FakeClock()
    link = controlled(clock)
    link.receive(CLIENT, msg(seq=1, t_ms=20.0))
    clock.t += 0.5
    assert link.sample().buttons == 1  # exactly at the timeout: still there
    clock.t += 0.01
    s = link.sample()
    assert s.buttons == 0 and not s.twist.any() and link.status()["device"] == "silent"
    (reason,) = link.take_lapses()
    assert "timeout 0.5 s" in reason and link.take_lapses() == []
    # The page comes back still holding intervene: it does not steer until it re-presses.
    link.receive(CLIENT, msg(seq=2, t_ms=900.0))
    assert link.sample().buttons == 0 and link.status()["device"] == "connected"
    link.receive(CLIENT, msg(seq=3, t_ms=910.0, buttons=0))
    link.receive(CLIENT, msg(seq=4, t_ms=920.0))
    assert link.sample().buttons == 1 and link.lapses == 1


def test_garbage_is_no_sign_of_life() -> None:
    clock = FakeClock()
    link = controlled(clock)
    link.receive(CLIENT, msg(seq=1, t_ms=20.0))
    for i in range(10):
        clock.t += 0.1
        with pytest.raises(RejectedError):
            link.receive(CLIENT, msg(seq=2 + i, twist=[float("nan")] * 6))
    assert link.sample().buttons == 0 and link.lapses == 1


def test_a_late_message_after_the_timeout_is_a_lapse_even_if_nobody_sampled() -> None:
    clock = FakeClock()
    link = controlled(clock)
    link.receive(CLIENT, msg(seq=1, t_ms=20.0))
    clock.t += 2.0  # e.g. a background tab throttled to one timer per second
    link.receive(CLIENT, msg(seq=2, t_ms=2010.0))
    assert link.lapses == 1 and link.sample().buttons == 0


def test_a_page_that_takes_control_and_never_sends_a_state_lapses() -> None:
    """A reloaded page can take control and close before its first state (seen on a busy
    CI machine): the control must not stay 'taken' for ever."""
    clock = FakeClock()
    link = BrowserLink(timeout_s=0.5, clock=clock)
    link.start()
    link.take_control(CLIENT, SESSION)
    clock.t += 0.5
    assert link.status()["device"] == "taken"
    clock.t += 0.01
    assert link.status()["device"] == "silent" and link.lapses == 1
    assert link.sample().buttons == 0 and "intervention ended" in link.take_lapses()[0]
    link.receive(CLIENT, msg(seq=0, buttons=0))  # it comes back: connected again
    assert link.status()["device"] == "connected"


def test_taking_control_moves_it_and_the_old_page_is_refused() -> None:
    clock = FakeClock()
    link = controlled(clock)
    link.take_control("tab-0002", "other-session")
    with pytest.raises(ConflictError, match="take control"):
        link.receive(CLIENT, msg(seq=5, t_ms=50.0))
    assert link.sample().buttons == 0 and link.status()["device"] == "taken"
    link.release("tab-0002")
    assert link.controller() is None and link.status()["device"] == "waiting"


def test_a_closed_link_refuses_and_raises() -> None:
    link = BrowserLink(timeout_s=0.5)
    with pytest.raises(DeviceLostError, match="not open"):
        link.sample()
    link.start()
    link.stop()
    with pytest.raises(ConflictError):
        link.take_control(CLIENT, SESSION)
    with pytest.raises(ConflictError):
        link.receive(CLIENT, msg())
