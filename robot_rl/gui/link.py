"""The server's view of the pages: who holds control, the last state it believed, and
whether the controlling page has gone silent.

Many pages may watch; one *client* (a browser tab, identified by an id the tab keeps
across reloads) holds control, and only after asking for it (`take_control`). The states
of the controlling page are believed; everything from other pages is refused. When the
controlling page is silent for ``timeout_s`` after its last accepted state, or after
taking control if it sent none (tab closed, hidden, reloaded, network lost), the control
*lapses*: `sample` reports no motion and no buttons from then on, so
the intervention ends and the arbiter hands back to the policy. The page may come back
(a reload or a reconnect re-attaches), but the intervene button counts again only after
the page has sent a state without it: an operator who still holds the key when the page
comes back must release and press it again, so nobody drifts back into control without
noticing.

Thread-safe: server threads call `receive` / `take_control`, the teleop node's thread
calls `sample`. Loss is judged from the last *accepted* message, so a page that keeps
sending garbage is as silent as a closed tab.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.gui.protocol import ConflictError, PageState, RejectedError, check_order, parse_state
from robot_rl.hil.devices.base import DeviceSample
from robot_rl.hil.errors import DeviceLostError

DEVICE = "browser"
# Gripper state reported before any page has sent one: open, as the other devices start.
GRIPPER_AT_START = 1.0
INTERVENE = TeleopCommand.BUTTON_INTERVENE


@dataclass(frozen=True)
class Controller:
    """The page that steers: its client id (kept across reloads) and page-load session."""

    client: str
    session: str


class BrowserLink:
    """Control, accepted page state and liveness; ``clock`` returns seconds (monotonic)."""

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._ctrl: Controller | None = None
        self._last: PageState | None = None
        self._last_rx_s = 0.0
        self._gripper = GRIPPER_AT_START
        self._lapsed = False  # the controlling page went silent
        self._need_release = True  # intervene is ignored until a state without it arrives
        self._new_lapses: list[str] = []  # reasons not yet taken by `take_lapses`
        self.lapses = 0
        self.accepted = 0
        self.rejected = 0
        self.clamped = 0
        self.last_rejection = ""

    def start(self) -> None:
        """Forget every page and wait for one to take control."""
        with self._lock:
            self._open, self._ctrl, self._last = True, None, None
            self._lapsed, self._need_release, self._new_lapses = False, True, []
            self.lapses = self.accepted = self.rejected = self.clamped = 0
            self.last_rejection = ""

    def stop(self) -> None:
        """Refuse everything from now on; `sample` raises."""
        with self._lock:
            self._open = False

    def take_control(self, client: str, session: str) -> None:
        """Give control to ``client``'s page ``session`` (explicitly asked for by the page;
        a reload of the controlling tab asks again). Starts from no motion."""
        with self._lock:
            if not self._open:
                raise ConflictError("the device is closed")
            self._ctrl = Controller(client, session)
            self._last, self._lapsed, self._need_release = None, False, True
            self._last_rx_s = self._clock()  # a page that never sends a state lapses too

    def release(self, client: str) -> None:
        """``client`` gives control back (nobody steers until a page takes it)."""
        with self._lock:
            if self._ctrl is not None and self._ctrl.client == client:
                self._ctrl, self._last, self._need_release = None, None, True

    def controller(self) -> Controller | None:
        """Who holds control (None: nobody)."""
        with self._lock:
            return self._ctrl

    def _expire(self, now_s: float) -> None:
        if self._ctrl is None or self._lapsed:
            return
        silent_s = now_s - self._last_rx_s
        if silent_s > self.timeout_s:
            self._lapsed, self._need_release = True, True
            self.lapses += 1
            self._new_lapses.append(
                f"no valid message from the controlling page for {silent_s:.2f} s "
                f"(timeout {self.timeout_s:g} s): intervention ended"
            )

    def receive(self, client: str, body: bytes | str) -> PageState:
        """Validate and take one state from ``client``; raises `RejectedError` (the page is
        told why): malformed, out of order, or not from the controlling page."""
        now = self._clock()
        try:
            state = parse_state(body)
            with self._lock:
                self._expire(now)
                if not self._open:
                    raise ConflictError("the device is closed")
                if self._ctrl != Controller(client, state.session):
                    raise ConflictError("another page holds control: take control to steer")
                check_order(state, self._last)
        except RejectedError as e:
            with self._lock:
                self.rejected += 1
                self.last_rejection = str(e)
            raise
        with self._lock:
            if self._need_release and state.buttons & INTERVENE:
                # Still held from before a lapse or a take-over: not a fresh press.
                state = replace(state, twist=np.zeros(6), buttons=state.buttons & ~INTERVENE)
            else:
                self._need_release = False
            self._last, self._last_rx_s, self._lapsed = state, now, False
            self._gripper = state.gripper
            self.accepted += 1
            self.clamped += state.clamped
        return state

    def sample(self) -> DeviceSample:
        """The controlling page's last state; no motion and no buttons when nobody
        controls or the controlling page is silent. Never blocks; raises
        `DeviceLostError` only once the device is closed."""
        with self._lock:
            if not self._open:
                raise DeviceLostError(DEVICE, "not open")
            self._expire(self._clock())
            last = self._last
            if last is None or self._lapsed:
                return DeviceSample(np.zeros(6), self._gripper, 0)
            return DeviceSample(last.twist.copy(), last.gripper, last.buttons)

    def take_lapses(self) -> list[str]:
        """Reasons of the lapses since the last call (for a diagnostic each)."""
        with self._lock:
            self._expire(self._clock())
            out, self._new_lapses = self._new_lapses, []
            return out

    def state_name(self) -> str:
        """closed, waiting (nobody steers), taken (control held, no state yet),
        connected (streaming) or silent (the controlling page stopped sending)."""
        with self._lock:
            self._expire(self._clock())
            return self._state_name()

    def _state_name(self) -> str:
        if not self._open:
            return "closed"
        if self._ctrl is None:
            return "waiting"
        if self._lapsed:
            return "silent"
        return "connected" if self._last is not None else "taken"

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for the pages."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            last = None if self._lapsed else self._last
            state = self._state_name()
            buttons = last.buttons if last is not None else 0
            return {
                "device": state,
                "intervening": bool(buttons & INTERVENE),
                "buttons": buttons,
                "gripper": self._gripper,
                "age_s": None if self._last is None else round(now - self._last_rx_s, 3),
                "controlled": self._ctrl is not None,
                "lapses": self.lapses,
                "accepted": self.accepted,
                "rejected": self.rejected,
                "clamped": self.clamped,
                "last_rejection": self.last_rejection,
                "timeout_s": self.timeout_s,
            }
