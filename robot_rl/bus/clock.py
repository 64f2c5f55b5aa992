"""Clocks a bus reads its time from: the wall clock, or a sim clock someone else advances."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A source of time in integer nanoseconds."""

    def now_ns(self) -> int:
        """Current time, nanoseconds."""
        ...

    @property
    def is_sim(self) -> bool:
        """True when time only moves when someone sets it (a bus then never sleeps for it)."""
        ...


class WallClock:
    """System time (CLOCK_REALTIME), comparable across processes on one machine."""

    is_sim = False

    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        return time.time_ns()


class SimClock:
    """Simulation time, advanced explicitly (by the twin, or by ``/clock`` messages).

    Time never goes backwards: `set_ns` with an older time is ignored.
    """

    is_sim = True

    def __init__(self, start_ns: int = 0) -> None:
        self._ns = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        """Current sim time, nanoseconds."""
        return self._ns

    def set_ns(self, ns: int) -> None:
        """Jump to ``ns`` (ignored if it is in the past)."""
        with self._lock:
            self._ns = max(self._ns, int(ns))

    def advance(self, dt_s: float) -> None:
        """Move forward by ``dt_s`` seconds."""
        if dt_s < 0:
            raise ValueError(f"cannot advance a clock by {dt_s} s")
        with self._lock:
            self._ns += round(dt_s * 1e9)
