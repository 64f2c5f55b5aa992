"""Periodic timers driven by a bus's spin loop (shared by the inproc and dds backends)."""

from __future__ import annotations

from collections.abc import Callable


class Timer:
    """A periodic callback. The first call is one period after creation; deadlines advance
    by whole periods (no drift), and ticks missed while the loop was busy are skipped."""

    def __init__(self, period_ns: int, callback: Callable[[], None], now_ns: int) -> None:
        if period_ns <= 0:
            raise ValueError(f"timer period must be > 0, got {period_ns} ns")
        self.period_ns = period_ns
        self.callback = callback
        self.deadline_ns = now_ns + period_ns
        self.cancelled = False

    @property
    def period_s(self) -> float:
        """Period in seconds."""
        return self.period_ns * 1e-9

    def cancel(self) -> None:
        """Stop calling back; safe to call from inside the callback."""
        self.cancelled = True


class TimerSet:
    """The timers of one bus, in creation order (which breaks ties between equal deadlines)."""

    def __init__(self) -> None:
        self._timers: list[Timer] = []

    def add(self, period_s: float, callback: Callable[[], None], now_ns: int) -> Timer:
        """Create a timer whose first deadline is ``now_ns + period``."""
        timer = Timer(round(period_s * 1e9), callback, now_ns)
        self._timers.append(timer)
        return timer

    def next_deadline_ns(self) -> int | None:
        """Earliest pending deadline, or None without timers."""
        self._timers = [t for t in self._timers if not t.cancelled]
        return min((t.deadline_ns for t in self._timers), default=None)

    def fire_due(self, now_ns: int) -> int:
        """Call each timer due at ``now_ns`` once, earliest deadline first. Returns the count."""
        due = sorted(
            (t for t in self._timers if not t.cancelled and t.deadline_ns <= now_ns),
            key=lambda t: t.deadline_ns,
        )
        for timer in due:
            if timer.cancelled:
                continue
            missed = (now_ns - timer.deadline_ns) // timer.period_ns
            timer.deadline_ns += (missed + 1) * timer.period_ns
            timer.callback()
        return len(due)
