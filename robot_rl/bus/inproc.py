"""In-process bus: deterministic, single-threaded, synchronous delivery.

One `InprocBus` is a whole graph: every node of a unit test or of fast twin training
shares it. ``publish`` delivers to all matching subscribers before it returns; messages
published from inside a callback are queued and delivered in FIFO order by the outermost
``publish`` (breadth first, no unbounded recursion). QoS matching follows DDS rules, so a
RELIABLE subscriber to a BEST_EFFORT publisher gets nothing here either, and
TRANSIENT_LOCAL publishers replay their last ``depth`` messages to late subscribers.

With ``InprocConfig(wire_check=True)`` every message goes through the CDR encoder and
decoder, which catches values that would not survive the real wire.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from robot_rl.bus.cdr import encode
from robot_rl.bus.cdr.decoder import decode
from robot_rl.bus.clock import Clock, WallClock
from robot_rl.bus.errors import ServiceUnavailableError, TopicTypeError
from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.names import resolve
from robot_rl.bus.qos import DEFAULT, Durability, QoS, compatible
from robot_rl.bus.service import (
    CallbackGuard,
    PendingReply,
    Responder,
    ServiceCalls,
)
from robot_rl.bus.spin import spin_loop
from robot_rl.bus.subscription import Delivery, SubscriptionStats
from robot_rl.bus.timers import Timer, TimerSet

M = TypeVar("M", bound=Message)
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


@dataclass
class InprocConfig:
    """Settings of the in-process bus."""

    namespace: str = "/"  # resolves relative topic names
    node_name: str = ""  # resolves private (~) names
    wire_check: bool = False  # round-trip every message through CDR


class _Topic:
    """Publishers and subscribers of one topic name."""

    def __init__(self, name: str, msg_type: type[Message]) -> None:
        self.name = name
        self.msg_type = msg_type
        self.publishers: list[InprocPublisher[Any]] = []
        self.subscriptions: list[InprocSubscription] = []


class InprocPublisher(Generic[M]):
    """Publisher of the in-process bus."""

    def __init__(self, bus: InprocBus, topic: _Topic, qos: QoS) -> None:
        self._bus = bus
        self._topic = topic
        self.qos = qos
        depth = qos.depth if qos.durability is Durability.TRANSIENT_LOCAL else 0
        self.history: collections.deque[Any] = collections.deque(maxlen=depth)

    @property
    def topic(self) -> str:
        """Fully qualified topic name."""
        return self._topic.name

    def publish(self, msg: M) -> None:
        """Deliver ``msg`` to every matching subscriber before returning."""
        if type(msg) is not self._topic.msg_type:
            raise TypeError(
                f"{self.topic} carries {self._topic.msg_type.__name__}, got {type(msg).__name__}"
            )
        item: Any = encode(msg) if self._bus.config.wire_check else msg
        self._send(item)

    def publish_raw(self, data: bytes) -> None:
        """Deliver CDR bytes; each subscriber decodes them (and may reject them)."""
        self._send(bytes(data))

    def subscriber_count(self) -> int:
        """Matching subscriptions."""
        return sum(1 for s in self._topic.subscriptions if compatible(self.qos, s.qos))

    def _send(self, item: Any) -> None:
        if self.history.maxlen:
            self.history.append(item)
        targets = [s for s in self._topic.subscriptions if compatible(self.qos, s.qos)]
        self._bus._deliver([(sub, item) for sub in targets])


class InprocSubscription:
    """Subscription of the in-process bus."""

    def __init__(self, bus: InprocBus, topic: _Topic, delivery: Delivery[Any], qos: QoS) -> None:
        self._bus = bus
        self._topic = topic
        self.delivery = delivery
        self.qos = qos

    @property
    def topic(self) -> str:
        """Fully qualified topic name."""
        return self._topic.name

    @property
    def stats(self) -> SubscriptionStats:
        """Received / rejected counters."""
        return self.delivery.stats

    def publisher_count(self) -> int:
        """Matching publishers."""
        return sum(1 for p in self._topic.publishers if compatible(p.qos, self.qos))

    def close(self) -> None:
        """Stop receiving (pending queued messages are dropped)."""
        self.delivery.closed = True
        if self in self._topic.subscriptions:
            self._topic.subscriptions.remove(self)

    def _receive(self, item: Any) -> None:
        if isinstance(item, bytes):
            self.delivery.deliver_cdr(item)
        else:
            self.delivery.deliver(item)


class InprocServer(Generic[Req, Resp]):
    """A service served on the in-process bus."""

    def __init__(
        self,
        bus: InprocBus,
        name: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req, Responder[Resp]], None],
    ) -> None:
        self._bus = bus
        self.name = name
        self.srv_type = srv_type
        self.handler = handler
        self.stats = SubscriptionStats()

    def close(self) -> None:
        """Stop serving."""
        self._bus._servers.pop(self.name, None)


class InprocBus(ServiceCalls):
    """The deterministic single-process backend (see module docstring)."""

    def __init__(self, config: InprocConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config if config is not None else InprocConfig()
        self.clock: Clock = clock if clock is not None else WallClock()
        self._topics: dict[str, _Topic] = {}
        self._servers: dict[str, InprocServer[Any, Any]] = {}
        self._timers = TimerSet()
        self._queue: collections.deque[tuple[InprocSubscription, Any]] = collections.deque()
        self._draining = False
        self._guard = CallbackGuard()

    def _name(self, name: str) -> str:
        return resolve(name, self.config.namespace, self.config.node_name)

    def _topic(self, name: str, msg_type: type[Message]) -> _Topic:
        fq = self._name(name)
        topic = self._topics.get(fq)
        if topic is None:
            topic = self._topics[fq] = _Topic(fq, msg_type)
        elif topic.msg_type is not msg_type:
            raise TopicTypeError(
                f"topic {fq} already carries {topic.msg_type.__ros_type__}, "
                f"not {msg_type.__ros_type__}"
            )
        return topic

    def publisher(
        self, topic: str, msg_type: type[M], qos: QoS | None = None
    ) -> InprocPublisher[M]:
        """Create a publisher; ``qos`` defaults to `qos.DEFAULT`."""
        t = self._topic(topic, msg_type)
        pub: InprocPublisher[M] = InprocPublisher(self, t, qos or DEFAULT)
        t.publishers.append(pub)
        return pub

    def subscribe(
        self, topic: str, msg_type: type[M], callback: Callable[[M], None], qos: QoS | None = None
    ) -> InprocSubscription:
        """Subscribe; transient-local history of matching publishers is delivered at once."""
        t = self._topic(topic, msg_type)
        sub = InprocSubscription(self, t, Delivery(t.name, msg_type, callback), qos or DEFAULT)
        t.subscriptions.append(sub)
        if sub.qos.durability is Durability.TRANSIENT_LOCAL:
            for pub in t.publishers:
                if compatible(pub.qos, sub.qos):
                    self._deliver([(sub, item) for item in pub.history])
        return sub

    def _deliver(self, batch: list[tuple[InprocSubscription, Any]]) -> None:
        # Queue the whole batch before running any callback, so that messages published
        # from callbacks are delivered after it (FIFO), by the outermost call only.
        self._queue.extend(batch)
        if self._draining:
            return
        self._draining = True
        try:
            with self._guard.running():
                while self._queue:
                    target, queued = self._queue.popleft()
                    target._receive(queued)
        finally:
            self._draining = False
            self._queue.clear()

    def timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        """A timer on this bus's clock, fired from `spin_once`."""
        return self._timers.add(period_s, callback, self.clock.now_ns())

    def now(self) -> Time:
        """Current time of the bus clock."""
        return Time.from_ns(self.clock.now_ns())

    def spin_once(self, timeout_s: float = 0.0) -> int:
        """Fire due timers. With a wall clock, sleep up to ``timeout_s`` for the next one;
        with a sim clock never sleep (time moves only when its owner advances it).
        Raises BusError when called from inside a callback."""
        self._guard.check("spin_once")
        fired = self._fire_due(self.clock.now_ns())
        if fired or self.clock.is_sim or timeout_s <= 0:
            return fired
        deadline = self._timers.next_deadline_ns()
        now = self.clock.now_ns()
        if deadline is None or deadline - now > timeout_s * 1e9:
            time.sleep(timeout_s)
            return self._fire_due(self.clock.now_ns())
        time.sleep(max(0, deadline - now) * 1e-9)
        return self._fire_due(max(self.clock.now_ns(), deadline))

    def _fire_due(self, now_ns: int) -> int:
        with self._guard.running():
            return self._timers.fire_due(now_ns)

    def spin(self, timeout_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Spin until ``until()``, the timeout, or (on a sim clock) nothing is left to run."""
        spin_loop(self.spin_once, timeout_s, until, stop_when_idle=self.clock.is_sim)

    def serve_deferred(
        self,
        service: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req, Responder[Resp]], None],
    ) -> InprocServer[Req, Resp]:
        """Register ``handler(request, responder)``; it may reply later."""
        name = self._name(service)
        if name in self._servers:
            raise ValueError(f"service {name} is already served on this bus")
        server = InprocServer(self, name, srv_type, handler)
        self._servers[name] = server
        return server

    def request_async(
        self, service: str, srv_type: ServiceType[Req, Resp], request: Req, timeout_s: float
    ) -> PendingReply[Resp]:
        """Hand the request to the handler at once (it runs before this returns). Without
        a server the pending reply fails at once with `ServiceUnavailableError`;
        exceptions of the handler propagate (they are bugs in this process)."""
        name = self._name(service)
        pending: PendingReply[Resp] = PendingReply(name, timeout_s)
        server = self._servers.get(name)
        if server is None:
            pending.set_error(
                ServiceUnavailableError(f"no server for service {name} on this inproc bus")
            )
            return pending
        if server.srv_type.ros_type != srv_type.ros_type:
            raise TopicTypeError(
                f"service {name} is {server.srv_type.ros_type}, not {srv_type.ros_type}"
            )
        if type(request) is not srv_type.request:
            raise TypeError(
                f"{name} takes {srv_type.request.__name__}, got {type(request).__name__}"
            )
        if self.config.wire_check:
            request = decode(srv_type.request, encode(request))

        def send(response: Resp) -> None:
            if self.config.wire_check:
                response = decode(srv_type.response, encode(response))
            pending.set_result(response)

        server.stats.received += 1
        pending.sent = True
        with self._guard.running():
            server.handler(request, Responder(name, srv_type.response, send))
        return pending

    def close(self) -> None:
        """Drop every topic, server and timer."""
        self._topics.clear()
        self._servers.clear()
        self._timers = TimerSet()
