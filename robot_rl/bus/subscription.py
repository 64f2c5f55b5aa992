"""What every backend's subscriber shares: decode, count rejects, call back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from robot_rl.bus.cdr import decode
from robot_rl.bus.errors import CdrError

M = TypeVar("M")
_log = logging.getLogger(__name__)


@dataclass
class SubscriptionStats:
    """Counters of one subscription."""

    received: int = 0  # messages handed to the callback
    rejected: int = 0  # payloads that failed to decode and were dropped
    last_error: str = ""  # why the last payload was rejected


class Delivery(Generic[M]):
    """Decodes payloads for one subscription and calls its callback with valid messages.

    An undecodable payload is counted in ``stats.rejected`` and dropped; it never raises.
    Exceptions from the callback itself propagate (they are bugs, not bad input).
    """

    def __init__(self, topic: str, msg_type: type[M], callback: Callable[[M], None]) -> None:
        self.topic = topic
        self.msg_type = msg_type
        self.callback = callback
        self.stats = SubscriptionStats()
        self.closed = False

    def deliver(self, msg: M) -> None:
        """Hand a decoded message to the callback."""
        if self.closed:
            return
        self.stats.received += 1
        self.callback(msg)

    def deliver_cdr(self, data: bytes, skip: int = 0) -> bool:
        """Decode and deliver; returns False (and counts a reject) for a bad payload."""
        if self.closed:
            return False
        try:
            msg = decode(self.msg_type, data, skip=skip)
        except CdrError as exc:
            self.reject(str(exc))
            return False
        self.deliver(msg)
        return True

    def reject(self, reason: str) -> None:
        """Count a dropped payload; logs the first one of a subscription as a warning."""
        self.stats.rejected += 1
        self.stats.last_error = reason
        level = logging.WARNING if self.stats.rejected == 1 else logging.DEBUG
        _log.log(
            level,
            "rejected a payload on %s (%d so far): %s",
            self.topic,
            self.stats.rejected,
            reason,
        )
