"""Delivery of transitions from actors to a learner, on any link.

Protocol:
- an actor numbers its transitions 1, 2, 3, ... (``seq``, contiguous per ``actor_id``);
- the learner stores them in seq order and acknowledges the highest contiguous seq it has
  made durable, also as a periodic heartbeat;
- the actor keeps every unacknowledged transition and, when acks stop advancing for
  ``resend_timeout_s`` (a lost message, a learner restart), sends them all again from the
  oldest (go-back-N). The learner drops seqs it already has and buffers early ones.
- An actor never blocks on the learner: past ``max_unacked`` kept transitions it stops
  numbering new ones and counts them as dropped, so seqs stay contiguous.
"""

from __future__ import annotations

import collections
import time
import zlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from robot_rl.loop.types import Transition

T = TypeVar("T")


def step_crc(
    action: Any, reward: float, terminated: bool, truncated: bool, intervened: bool
) -> int:
    """A content checksum of one step (float32 action and reward, flags), for cross-checks
    between what an actor sent and what a learner stored."""
    payload = np.asarray(action, dtype=np.float32).tobytes() + np.float32(reward).tobytes()
    return zlib.crc32(payload + bytes([bool(terminated), bool(truncated), bool(intervened)]))


def transition_crc(t: Any) -> int:
    """`step_crc` of a transition (a `Transition` or its bus message)."""
    return step_crc(t.action, t.reward, t.terminated, t.truncated, t.intervened)


class TransitionSender:
    """Actor side: numbers transitions, keeps the unacknowledged ones, resends them.

    ``publish`` hands a transition to the link (it must not block). Times are wall seconds
    (``time.monotonic``).
    """

    def __init__(
        self,
        publish: Callable[[Transition], object],
        max_unacked: int = 5000,
        resend_timeout_s: float = 1.0,
        resend_batch: int = 50,
        first_seq: int = 1,
    ) -> None:
        self._publish = publish
        self.max_unacked = max_unacked
        self.resend_timeout_s = resend_timeout_s
        self.resend_batch = resend_batch
        self.unacked: collections.OrderedDict[int, Transition] = collections.OrderedDict()
        self.next_seq = first_seq
        self.acked = first_seq - 1
        self.dropped = 0
        self.resent = 0
        self._last_progress = time.monotonic()
        self._resend_queue: collections.deque[int] = collections.deque()

    def send(self, build: Callable[[int], Transition]) -> int | None:
        """Build (with the next seq) and publish a transition; returns its seq, or None when
        ``max_unacked`` are already waiting (then it is dropped and counted)."""
        if len(self.unacked) >= self.max_unacked:
            self.dropped += 1
            return None
        seq = self.next_seq
        t = build(seq)
        if t.seq != seq:
            raise ValueError(f"built transition has seq {t.seq}, expected {seq}")
        if not self.unacked:
            self._last_progress = time.monotonic()
        self.unacked[seq] = t
        self.next_seq += 1
        self._publish(t)
        return seq

    def on_ack(self, highest_contiguous_seq: int) -> None:
        """Forget every transition up to the acknowledged seq."""
        if highest_contiguous_seq <= self.acked:
            return
        self.acked = min(highest_contiguous_seq, self.next_seq - 1)
        while self.unacked and next(iter(self.unacked)) <= self.acked:
            self.unacked.popitem(last=False)
        self._last_progress = time.monotonic()

    def poll(self) -> int:
        """Resend when acks stalled (go-back-N, ``resend_batch`` per call). Returns the
        number resent."""
        now = time.monotonic()
        stalled = now - self._last_progress >= self.resend_timeout_s
        if not self._resend_queue and self.unacked and stalled:
            self._resend_queue.extend(self.unacked.keys())
            self._last_progress = now  # the next round only after another timeout
        sent = 0
        while self._resend_queue and sent < self.resend_batch:
            seq = self._resend_queue.popleft()
            t = self.unacked.get(seq)
            if t is not None:
                self._publish(t)
                sent += 1
        self.resent += sent
        return sent

    @property
    def all_acked(self) -> bool:
        """True when nothing waits for an acknowledgement."""
        return not self.unacked


class TransitionIntake(Generic[T]):
    """Learner side: per-actor contiguity. Items come out in seq order, each once."""

    def __init__(self, max_out_of_order: int = 10_000) -> None:
        self.max_out_of_order = max_out_of_order
        self.highest: dict[str, int] = {}  # highest contiguous seq taken, per actor
        self._early: dict[str, dict[int, T]] = {}
        self.duplicates = 0
        self.early_dropped = 0

    def receive(self, actor_id: str, seq: int, item: T) -> list[T]:
        """Items that are now next in line for ``actor_id`` (possibly none)."""
        highest = self.highest.get(actor_id, 0)
        if seq <= highest:
            self.duplicates += 1
            return []
        early = self._early.setdefault(actor_id, {})
        if seq > highest + 1:
            if seq in early:
                self.duplicates += 1
            elif len(early) >= self.max_out_of_order:
                self.early_dropped += 1  # it will come again with the resends
            else:
                early[seq] = item
            return []
        ready = [item]
        highest = seq
        while highest + 1 in early:
            highest += 1
            ready.append(early.pop(highest))
        self.highest[actor_id] = highest
        return ready

    def pending(self, actor_id: str) -> int:
        """Early items held for ``actor_id``."""
        return len(self._early.get(actor_id, {}))
