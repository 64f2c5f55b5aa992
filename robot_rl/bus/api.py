"""The bus interface that node logic is written against, whatever the backend.

A node's loop::

    bus = make_bus(BusConfig(backend="dds", node_name="actor"))
    pub = bus.publisher("action", Action)
    bus.subscribe("cameras/front/image_raw", Image, on_image, SENSOR_DATA)
    bus.timer(0.1, step)                  # 10 Hz policy step
    bus.spin(until=lambda: done)          # callbacks run here, in this thread

Callbacks only ever run inside `Bus.spin_once` / `Bus.spin` (or, on the inproc backend,
inside the ``publish`` call that triggers them), never on a background thread. A callback
never spins or blocks (every backend refuses, as rclpy does): a service that has to wait
answers later (`Bus.serve_deferred`), a callback that needs a service calls
`Bus.request_async` and checks the pending reply on a later callback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.qos import QoS
from robot_rl.bus.service import PendingReply, Responder
from robot_rl.bus.subscription import SubscriptionStats

M = TypeVar("M", bound=Message)
M_contra = TypeVar("M_contra", bound=Message, contravariant=True)
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


class Publisher(Protocol[M_contra]):
    """Sends messages of one type on one topic."""

    @property
    def topic(self) -> str:
        """Fully qualified ROS topic name."""
        ...

    def publish(self, msg: M_contra) -> None:
        """Send a message. Never blocks longer than the QoS ``max_blocking_s``."""
        ...

    def publish_raw(self, data: bytes) -> None:
        """Send pre-serialized CDR bytes (header included) as they are, unchecked."""
        ...

    def subscriber_count(self) -> int:
        """Number of matched subscriptions right now."""
        ...


class Subscription(Protocol):
    """A live subscription; undecodable payloads are counted in ``stats.rejected``."""

    @property
    def topic(self) -> str:
        """Fully qualified ROS topic name."""
        ...

    @property
    def stats(self) -> SubscriptionStats:
        """Received / rejected counters."""
        ...

    def publisher_count(self) -> int:
        """Number of matched publishers right now."""
        ...

    def close(self) -> None:
        """Stop receiving."""
        ...


class Timer(Protocol):
    """A periodic callback created by `Bus.timer`."""

    @property
    def period_s(self) -> float:
        """Period, seconds."""
        ...

    def cancel(self) -> None:
        """Stop it."""
        ...


class ServiceServer(Protocol):
    """A served service; bad requests are counted in ``stats.rejected``."""

    @property
    def stats(self) -> SubscriptionStats:
        """Received / rejected request counters."""
        ...

    def close(self) -> None:
        """Stop serving."""
        ...


class Bus(Protocol):
    """Publish/subscribe, timers, a clock and request/reply services."""

    def publisher(self, topic: str, msg_type: type[M], qos: QoS | None = None) -> Publisher[M]:
        """Create a publisher. ``qos`` defaults to `qos.DEFAULT`."""
        ...

    def subscribe(
        self,
        topic: str,
        msg_type: type[M],
        callback: Callable[[M], None],
        qos: QoS | None = None,
    ) -> Subscription:
        """Call ``callback(msg)`` for each message received on ``topic``."""
        ...

    def timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        """Call ``callback()`` every ``period_s`` seconds of bus time (`now`)."""
        ...

    def now(self) -> Time:
        """Current bus time: wall clock, or sim time when the bus follows ``/clock``."""
        ...

    def spin_once(self, timeout_s: float = 0.0) -> int:
        """Run due timers and pending callbacks, waiting up to ``timeout_s`` seconds for
        work if there is none. Returns the number of callbacks run."""
        ...

    def spin(self, timeout_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Spin until ``until()`` is true or ``timeout_s`` seconds (wall) have passed."""
        ...

    def serve(
        self,
        service: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req], Resp],
    ) -> ServiceServer:
        """Answer requests with ``handler(request)``, called from `spin_once`."""
        ...

    def serve_deferred(
        self,
        service: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req, Responder[Resp]], None],
    ) -> ServiceServer:
        """Call ``handler(request, responder)`` from `spin_once`; the handler returns at
        once and the reply goes out when ``responder.reply(response)`` is called, then or
        from any later callback or poll in the spinning thread."""
        ...

    def request(
        self,
        service: str,
        srv_type: ServiceType[Req, Resp],
        request: Req,
        timeout_s: float,
    ) -> Resp:
        """Call a service and block up to ``timeout_s`` seconds for the reply, spinning
        this bus meanwhile (so never from inside a callback: that raises `BusError`).

        Raises `ServiceUnavailableError` when no server is found in time and
        `ServiceTimeoutError` when the server does not answer in time.
        """
        ...

    def request_async(
        self,
        service: str,
        srv_type: ServiceType[Req, Resp],
        request: Req,
        timeout_s: float,
    ) -> PendingReply[Resp]:
        """Send a request without waiting. ``pending.done()`` turns True when the reply
        arrives or ``timeout_s`` wall seconds pass; ``pending.result()`` then returns the
        reply or raises `ServiceUnavailableError` / `ServiceTimeoutError`. The reply
        arrives while the bus spins."""
        ...

    def close(self) -> None:
        """Release every entity of this bus."""
        ...
