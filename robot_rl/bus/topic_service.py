"""Services over ordinary topics, so requests cross DDS stacks.

rmw_fastrtps (rclpy's default) and Cyclone (the dds backend, rmw_cyclonedds) identify a
request differently: Fast DDS in RTPS inline QoS, which Cyclone's API cannot reach, Cyclone
in the payload, which Fast DDS rejects. Their native services therefore never talk
(docs/bus.md, "Services across stacks"). Topics do. So every server of the dds and ros2
backends also listens on ``<service>/_request`` and answers on ``<service>/_reply``, and
their clients call over these two topics, whichever stack the server runs on. Both carry
`ServiceFrame` (client id, request number, the request or reply as CDR).

Delivery: a client holds a request until its topics have matched, then sends it and
resends it every `RESEND_S` until the reply comes or its deadline passes (a DDS stack may
report a match before the other end has matched, and a request sent in between is lost).
Backends poll their clients (`TopicClient.poll`) on every spin and wait at most `POLL_S`
while one waits, so matches and due resends are acted on. A server runs each (client,
number) once and answers a resent request it has answered with the same reply, so a
request is handled at most once per server.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.errors import CdrError
from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.robot_rl_interfaces import ServiceFrame
from robot_rl.bus.qos import SERVICES
from robot_rl.bus.service import PendingReply, Responder
from robot_rl.bus.subscription import SubscriptionStats

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

RESEND_S = 0.5  # an unanswered request goes out again after this long, wall seconds
POLL_S = 0.01  # a backend's longest wait in spin_once while a client waits, wall seconds
REMEMBERED = 256  # (client, number) pairs a server remembers, to answer resent requests
_log = logging.getLogger(__name__)


def route_topics(service: str) -> tuple[str, str]:
    """``"/reset"`` -> ``("/reset/_request", "/reset/_reply")``."""
    return f"{service}/_request", f"{service}/_reply"


def _frame(client: int, seq: int, msg: Message) -> ServiceFrame:
    return ServiceFrame(client, seq, np.frombuffer(encode(msg), np.uint8))


def _payload(
    frame: ServiceFrame, cls: type[Req], stats: SubscriptionStats, name: str
) -> Req | None:
    """The message in ``frame``, or None (counted and logged) when it does not decode."""
    try:
        return decode(cls, np.asarray(frame.cdr, np.uint8).tobytes())
    except CdrError as exc:
        stats.rejected += 1
        stats.last_error = str(exc)
        _log.warning("rejected a payload on %s: %s", name, exc)
        return None


class TopicServer(Generic[Req, Resp]):
    """Serves one service over its route topics on ``bus`` (any backend)."""

    def __init__(
        self,
        bus: Any,
        service: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req, Responder[Resp]], None],
        stats: SubscriptionStats,
    ) -> None:
        request_topic, reply_topic = route_topics(service)
        self.name = service
        self.srv_type = srv_type
        self.handler = handler
        self.stats = stats
        self.closed = False
        self._replies: OrderedDict[tuple[int, int], ServiceFrame | None] = OrderedDict()
        self._pub = bus.publisher(reply_topic, ServiceFrame, SERVICES)
        self._sub = bus.subscribe(request_topic, ServiceFrame, self._on_request, SERVICES)

    def _on_request(self, frame: ServiceFrame) -> None:
        key = (frame.client, frame.seq)
        if self.closed:
            return
        if key in self._replies:  # a resent request: answer again once answered
            reply = self._replies[key]
            if reply is not None:
                self._pub.publish(reply)
            return
        request = _payload(frame, self.srv_type.request, self.stats, self.name)
        if request is None:
            return
        self.stats.received += 1
        self._replies[key] = None
        while len(self._replies) > REMEMBERED:
            self._replies.popitem(last=False)

        def send(response: Resp) -> None:
            reply = _frame(frame.client, frame.seq, response)
            if key in self._replies:
                self._replies[key] = reply
            if not self.closed:
                self._pub.publish(reply)

        self.handler(request, Responder(self.name, self.srv_type.response, send))

    def close(self) -> None:
        """Stop serving."""
        self.closed = True
        self._sub.close()


class TopicClient(Generic[Req, Resp]):
    """Calls one service over its route topics on ``bus``; never blocks (see module)."""

    def __init__(self, bus: Any, service: str, srv_type: ServiceType[Req, Resp]) -> None:
        request_topic, reply_topic = route_topics(service)
        self.name = service
        self.srv_type = srv_type
        self.stats = SubscriptionStats()
        self.client = secrets.randbits(63) or 1
        self.seq = 0
        self._pending: dict[int, tuple[ServiceFrame, PendingReply[Resp], float]] = {}
        self._pub = bus.publisher(request_topic, ServiceFrame, SERVICES)
        self._sub = bus.subscribe(reply_topic, ServiceFrame, self._on_reply, SERVICES)

    def request(self, request: Req, timeout_s: float) -> PendingReply[Resp]:
        """Queue ``request``; it goes out once the route topics have matched."""
        self.seq += 1
        pending: PendingReply[Resp] = PendingReply(self.name, timeout_s, poll=self.poll)
        self._pending[self.seq] = (_frame(self.client, self.seq, request), pending, -RESEND_S)
        self.poll()
        return pending

    @property
    def waiting(self) -> bool:
        """Requests wait for a match or a reply (their resends are polled)."""
        return bool(self._pending)

    def poll(self) -> int:
        """Send or resend what is due, expire what is late. Returns the requests sent."""
        now = time.monotonic()
        matched = self._pub.subscriber_count() > 0 and self._sub.publisher_count() > 0
        sent = 0
        for seq, (frame, pending, last) in list(self._pending.items()):
            if not pending.finished and now >= pending.deadline:
                pending.expire()
            if pending.finished:
                del self._pending[seq]
            elif matched and now - last >= RESEND_S:
                self._pub.publish(frame)
                pending.sent = True
                self._pending[seq] = (frame, pending, now)
                sent += 1
        return sent

    def _on_reply(self, frame: ServiceFrame) -> None:
        entry = self._pending.get(frame.seq) if frame.client == self.client else None
        if entry is None:
            return  # another client's, or a repeat of one already taken
        reply = _payload(frame, self.srv_type.response, self.stats, self.name)
        if reply is not None:
            self.stats.received += 1
            entry[1].set_result(reply)
            del self._pending[frame.seq]
