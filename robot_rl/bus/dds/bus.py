"""Cyclone DDS backend speaking the ROS 2 wire format, without ROS installed.

Topic ``/a/b`` is DDS topic ``rt/a/b`` with type ``pkg::msg::dds_::Name_`` and XCDR1
payloads byte-identical to rosidl's. All callbacks run in the thread calling
`DdsBus.spin_once`; Cyclone's own threads only queue samples.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from cyclonedds.core import (
    DDSException,
    InstanceState,
    ReadCondition,
    SampleState,
    ViewState,
    WaitSet,
)
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from robot_rl.bus.cdr import encode
from robot_rl.bus.clock import Clock, SimClock, WallClock
from robot_rl.bus.dds.config import DdsConfig
from robot_rl.bus.dds.domain import ensure_domain
from robot_rl.bus.dds.idl import RawCdr, carrier, from_stock, raw_type, stock_type, to_stock
from robot_rl.bus.dds.qos import to_cyclone
from robot_rl.bus.dds.service import DdsServer
from robot_rl.bus.errors import BusError, TopicTypeError
from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.msgs.rosgraph_msgs import Clock as ClockMsg
from robot_rl.bus.names import resolve, topic_to_dds
from robot_rl.bus.qos import CLOCK, DEFAULT, QoS
from robot_rl.bus.service import (
    CallbackGuard,
    PendingReply,
    Responder,
    ServiceCalls,
)
from robot_rl.bus.spin import spin_loop
from robot_rl.bus.subscription import Delivery, SubscriptionStats
from robot_rl.bus.timers import Timer, TimerSet
from robot_rl.bus.topic_service import POLL_S, TopicClient, TopicServer

M = TypeVar("M", bound=Message)
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_ANY = SampleState.Any | ViewState.Any | InstanceState.Any
_TAKE_N = 64
_log = logging.getLogger(__name__)


class DdsPublisher(Generic[M]):
    """A DataWriter on ``rt/<topic>``."""

    def __init__(self, bus: DdsBus, fq_topic: str, msg_type: type[M], writer: DataWriter[Any]):
        self._bus = bus
        self._topic = fq_topic
        self._msg_type = msg_type
        self._writer = writer
        self._raw = raw_type(msg_type)

    @property
    def topic(self) -> str:
        """Fully qualified ROS topic name."""
        return self._topic

    def publish(self, msg: M) -> None:
        """Encode and write; blocks at most the QoS ``max_blocking_s`` (reliable, full queue)."""
        if type(msg) is not self._msg_type:
            raise TypeError(
                f"{self._topic} carries {self._msg_type.__name__}, got {type(msg).__name__}"
            )
        if self._bus.config.fast_path:
            self._write(carrier(self._raw, encode(msg)))
        else:
            self._write(to_stock(msg))

    def publish_raw(self, data: bytes) -> None:
        """Write CDR bytes as they are (fast path only)."""
        if not self._bus.config.fast_path:
            raise BusError("publish_raw needs DdsConfig(fast_path=True)")
        self._write(carrier(self._raw, bytes(data)))

    def _write(self, sample: Any) -> None:
        try:
            self._writer.write(sample)
        except DDSException as exc:
            raise BusError(f"write on {self._topic} failed: {exc}") from exc

    def subscriber_count(self) -> int:
        """Matched DataReaders, local and remote."""
        return len(self._writer.get_matched_subscriptions())


class DdsSubscription:
    """A DataReader on ``rt/<topic>`` feeding a `Delivery`."""

    def __init__(self, bus: DdsBus, delivery: Delivery[Any], reader: DataReader[Any]) -> None:
        self._bus = bus
        self.delivery = delivery
        self.reader = reader
        self.condition = ReadCondition(reader, _ANY)

    @property
    def topic(self) -> str:
        """Fully qualified ROS topic name."""
        return self.delivery.topic

    @property
    def stats(self) -> SubscriptionStats:
        """Received / rejected counters."""
        return self.delivery.stats

    def publisher_count(self) -> int:
        """Matched DataWriters, local and remote."""
        return len(self.reader.get_matched_publications())

    def close(self) -> None:
        """Stop receiving and delete the reader."""
        self._bus._remove_subscription(self)

    def drain(self) -> int:
        """Take and deliver everything queued. Returns the number delivered."""
        delivered = 0
        while True:
            try:
                samples = self.reader.take(N=_TAKE_N)
            except Exception as exc:
                self.delivery.reject(f"stock deserializer failed: {exc!r}")
                return delivered
            for sample in samples:
                info = getattr(sample, "sample_info", None)
                if info is None or not info.valid_data:
                    continue
                if isinstance(sample, RawCdr):
                    delivered += self.delivery.deliver_cdr(sample.cdr)
                else:
                    self.delivery.deliver(from_stock(self.delivery.msg_type, sample))
                    delivered += 1
            if len(samples) < _TAKE_N:
                return delivered


class DdsBus(ServiceCalls):
    """The Cyclone DDS backend (see module docstring)."""

    def __init__(self, config: DdsConfig | None = None) -> None:
        self.config = config if config is not None else DdsConfig()
        ensure_domain(self.config.domain_id, self.config.cyclone_config)
        self._participant = DomainParticipant(self.config.domain_id)
        self._waitset = WaitSet(self._participant)
        self._topics: dict[str, tuple[Topic[Any], type[Message]]] = {}
        self._subscriptions: list[DdsSubscription] = []
        self._servers: list[DdsServer[Any, Any]] = []
        self._clients: dict[str, TopicClient[Any, Any]] = {}
        self._writers: list[DataWriter[Any]] = []
        self._timers = TimerSet()
        self._guard = CallbackGuard()
        self.clock: Clock = WallClock()
        if self.config.use_sim_time:
            sim = SimClock()
            self.clock = sim
            self.subscribe("/clock", ClockMsg, lambda m: sim.set_ns(m.clock.to_ns()), CLOCK)

    # -- names and topics -------------------------------------------------------------
    def _name(self, name: str) -> str:
        return resolve(name, self.config.namespace, self.config.node_name)

    def _dds_topic(self, fq: str, msg_type: type[Message], qos: QoS) -> Topic[Any]:
        dds_name = topic_to_dds(fq)
        known = self._topics.get(dds_name)
        if known is not None:
            if known[1] is not msg_type:
                raise TopicTypeError(
                    f"topic {fq} already carries {known[1].__ros_type__}, "
                    f"not {msg_type.__ros_type__}"
                )
            return known[0]
        idl = raw_type(msg_type) if self.config.fast_path else stock_type(msg_type)
        topic: Topic[Any] = Topic(self._participant, dds_name, idl, qos=to_cyclone(qos))
        self._topics[dds_name] = (topic, msg_type)
        return topic

    # -- publish / subscribe ----------------------------------------------------------
    def publisher(self, topic: str, msg_type: type[M], qos: QoS | None = None) -> DdsPublisher[M]:
        """Create a DataWriter on ``rt/<topic>``."""
        qos = qos or DEFAULT
        fq = self._name(topic)
        writer: DataWriter[Any] = DataWriter(
            self._participant, self._dds_topic(fq, msg_type, qos), qos=to_cyclone(qos)
        )
        self._writers.append(writer)
        return DdsPublisher(self, fq, msg_type, writer)

    def subscribe(
        self, topic: str, msg_type: type[M], callback: Callable[[M], None], qos: QoS | None = None
    ) -> DdsSubscription:
        """Create a DataReader on ``rt/<topic>``; callbacks run in `spin_once`."""
        qos = qos or DEFAULT
        fq = self._name(topic)
        reader: DataReader[Any] = DataReader(
            self._participant, self._dds_topic(fq, msg_type, qos), qos=to_cyclone(qos)
        )
        sub = DdsSubscription(self, Delivery(fq, msg_type, callback), reader)
        self._waitset.attach(sub.condition)
        self._subscriptions.append(sub)
        return sub

    def _remove_subscription(self, sub: DdsSubscription) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
            self._waitset.detach(sub.condition)
            sub.delivery.closed = True
            sub.condition.__del__()
            sub.reader.__del__()

    # -- time -------------------------------------------------------------------------
    def timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        """A timer on the bus clock (sim time with ``use_sim_time``)."""
        return self._timers.add(period_s, callback, self.clock.now_ns())

    def now(self) -> Time:
        """Current bus time."""
        return Time.from_ns(self.clock.now_ns())

    # -- spinning ---------------------------------------------------------------------
    def _drain(self) -> int:
        with self._guard.running():
            done = sum(sub.drain() for sub in list(self._subscriptions))
            done += sum(server.process() for server in self._servers if not server.closed)
        return done + sum(client.poll() for client in self._clients.values())

    def _fire_due(self) -> int:
        with self._guard.running():
            return self._timers.fire_due(self.clock.now_ns())

    def spin_once(self, timeout_s: float = 0.0) -> int:
        """Deliver queued samples and fire due timers; if there was nothing, wait up to
        ``timeout_s`` seconds (less if a wall-clock timer is due sooner) and try again.
        Raises BusError when called from inside a callback."""
        self._guard.check("spin_once")
        done = self._fire_due() + self._drain()
        if done or timeout_s <= 0:
            return done
        wait_s = timeout_s
        deadline = self._timers.next_deadline_ns()
        if deadline is not None and not self.clock.is_sim:
            wait_s = min(wait_s, max(0.0, (deadline - self.clock.now_ns()) * 1e-9))
        if any(client.waiting for client in self._clients.values()):
            wait_s = min(wait_s, POLL_S)  # matching and resends are polled
        if wait_s > 0:
            self._waitset.wait(duration(seconds=wait_s))
        return self._drain() + self._fire_due()

    def spin(self, timeout_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Spin until ``until()`` is true or ``timeout_s`` seconds have passed."""
        spin_loop(self.spin_once, timeout_s, until)

    # -- services ---------------------------------------------------------------------
    def serve_deferred(
        self,
        service: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req, Responder[Resp]], None],
    ) -> DdsServer[Req, Resp]:
        """Serve with ``handler(request, responder)``, which may reply later: ROS clients
        natively (rmw_cyclonedds's format) and our clients of any stack over the route
        topics (robot_rl.bus.topic_service)."""
        fq = self._name(service)
        server = DdsServer(
            self._participant, fq, srv_type, handler, self.config.reply_match_timeout_s
        )
        server.route = TopicServer(self, fq, srv_type, handler, server.stats)
        self._waitset.attach(server.condition)
        self._servers.append(server)
        return server

    def request_async(
        self, service: str, srv_type: ServiceType[Req, Resp], request: Req, timeout_s: float
    ) -> PendingReply[Resp]:
        """Send a request over the route topics (once they match) without waiting; see
        `PendingReply` and robot_rl.bus.topic_service."""
        if type(request) is not srv_type.request:
            raise TypeError(
                f"{service} takes {srv_type.request.__name__}, got {type(request).__name__}"
            )
        fq = self._name(service)
        key = f"{fq} {srv_type.ros_type}"
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = TopicClient(self, fq, srv_type)
        return client.request(request, timeout_s)

    def close(self) -> None:
        """Delete the participant and everything in it."""
        for sub in list(self._subscriptions):
            self._remove_subscription(sub)
        self._servers.clear()
        self._clients.clear()
        self._participant.__del__()
