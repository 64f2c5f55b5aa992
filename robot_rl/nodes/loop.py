"""The loop a node process runs: spin one bus and poll the nodes that live on it.

    loop = NodeLoop(bus, [twin, bridge])        # one process, or a whole inproc graph
    loop.spin(until=stop)                       # callbacks and polls run in this thread

A node's ``poll()`` does work that is not triggered by a message or a timer (the twin's
lock-step gate, the learner's gradient updates, the reset node's procedure). Only the
actor's env blocks: it calls ``loop.spin_once`` from its own run loop, never from a
callback (callbacks never spin, see robot_rl.bus.service); a node is never polled again
while its own poll is still running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from robot_rl.bus.api import Bus
from robot_rl.bus.spin import spin_loop


class Pollable(Protocol):
    """Something with periodic work outside callbacks."""

    def poll(self) -> int:
        """Do what is due now without blocking; return how much work was done (0: none)."""
        ...


class NodeLoop:
    """Spins ``bus`` and polls ``nodes``; re-entrant (nested spins skip busy nodes)."""

    def __init__(self, bus: Bus, nodes: Iterable[Pollable] = ()) -> None:
        self.bus = bus
        self._nodes: list[Pollable] = list(nodes)
        self._busy: set[int] = set()

    def add(self, node: Pollable) -> None:
        """Poll ``node`` in every round from now on."""
        self._nodes.append(node)

    def spin_once(self, timeout_s: float = 0.0) -> int:
        """Poll every idle node, then spin the bus (waiting up to ``timeout_s`` seconds if
        nothing was done). Returns the amount of work done."""
        done = 0
        for node in list(self._nodes):
            key = id(node)
            if key in self._busy:
                continue
            self._busy.add(key)
            try:
                done += node.poll()
            finally:
                self._busy.discard(key)
        return done + self.bus.spin_once(0.0 if done else timeout_s)

    def spin(self, timeout_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Spin until ``until()`` or ``timeout_s`` wall seconds."""
        spin_loop(self.spin_once, timeout_s, until)
