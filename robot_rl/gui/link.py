"""The server's view of the page: the last state it believed, and whether the page is gone.

Thread-safe: HTTP handler threads call `BrowserLink.receive`, the teleop node's thread
calls `BrowserLink.sample`. Loss is judged from the time of the last *accepted* message,
so a page that keeps sending garbage is as gone as a closed tab. Loss is final until the
device is opened again: a page that comes back after the timeout is refused, so the
operator notices and the teleop node's hand-back to the policy stays in force.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.gui.protocol import ConflictError, PageState, RejectedError, check_order, parse_state
from robot_rl.hil.devices.base import DeviceSample
from robot_rl.hil.errors import DeviceLostError

DEVICE = "browser"
# Gripper state reported before any page has connected: open, as the other devices start.
GRIPPER_AT_START = 1.0


class BrowserLink:
    """Accepted page state and liveness; ``clock`` returns seconds (monotonic)."""

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._last: PageState | None = None
        self._last_rx_s = 0.0
        self.lost = ""  # why the page counts as gone; "" while it does not
        self.accepted = 0
        self.rejected = 0
        self.clamped = 0
        self.last_rejection = ""

    def start(self) -> None:
        """Forget any previous page and wait for a new one."""
        with self._lock:
            self._open, self._last, self.lost = True, None, ""
            self.accepted = self.rejected = self.clamped = 0
            self.last_rejection = ""

    def stop(self) -> None:
        """Refuse everything from now on; `sample` raises."""
        with self._lock:
            self._open = False

    def _expire(self, now_s: float) -> None:
        if self._last is not None and not self.lost:
            silent_s = now_s - self._last_rx_s
            if silent_s > self.timeout_s:
                self.lost = (
                    f"no valid message from the page for {silent_s:.2f} s "
                    f"(timeout {self.timeout_s:g} s): tab closed, hidden or network lost"
                )

    def receive(self, body: bytes | str) -> PageState:
        """Validate and take one message; raises `RejectedError` (the page is told why)."""
        now = self._clock()
        try:
            state = parse_state(body)
        except RejectedError as e:
            with self._lock:
                self._reject(str(e))
            raise
        with self._lock:
            self._expire(now)
            try:
                if not self._open:
                    raise ConflictError("the device is closed")
                if self.lost:
                    raise ConflictError(f"device lost ({self.lost}); restart the teleop session")
                check_order(state, self._last)
            except RejectedError as e:
                self._reject(str(e))
                raise
            self._last, self._last_rx_s = state, now
            self.accepted += 1
            self.clamped += state.clamped
        return state

    def _reject(self, why: str) -> None:
        self.rejected += 1
        self.last_rejection = why

    def sample(self) -> DeviceSample:
        """The last accepted state; neutral before a page connects. Never blocks. Raises
        `DeviceLostError` once a connected page has been silent for ``timeout_s``."""
        with self._lock:
            if not self._open:
                raise DeviceLostError(DEVICE, "not open")
            self._expire(self._clock())
            if self.lost:
                raise DeviceLostError(DEVICE, self.lost)
            last = self._last
            if last is None:
                return DeviceSample(np.zeros(6), GRIPPER_AT_START, 0)
            return DeviceSample(last.twist.copy(), last.gripper, last.buttons)

    def owner(self) -> str:
        """Session id of the page that holds the device ("" before one connects)."""
        with self._lock:
            return self._last.session if self._last is not None else ""

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for the page."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            last = self._last
            if not self._open:
                state = "closed"
            elif self.lost:
                state = "lost"
            elif last is None:
                state = "waiting"
            else:
                state = "connected"
            buttons = last.buttons if last is not None else 0
            intervening = bool(buttons & TeleopCommand.BUTTON_INTERVENE) and state == "connected"
            return {
                "device": state,
                "lost": self.lost,
                "intervening": intervening,
                "buttons": buttons,
                "twist": [] if last is None else [round(float(v), 3) for v in last.twist],
                "gripper": GRIPPER_AT_START if last is None else last.gripper,
                "age_s": None if last is None else round(now - self._last_rx_s, 3),
                "accepted": self.accepted,
                "rejected": self.rejected,
                "clamped": self.clamped,
                "last_rejection": self.last_rejection,
                "timeout_s": self.timeout_s,
            }
