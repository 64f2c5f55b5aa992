"""rclpy backend, for nodes started by ``ros2 launch`` on the robot.

Deliberately thin: messages cross the rclpy boundary as CDR bytes (``publish(bytes)``,
``create_subscription(raw=True)``, ``rclpy.serialization``), so this file converts
nothing field by field. Everything it relies on is tested through the inproc and dds
backends; rclpy is imported only when a `Ros2Bus` is created.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.errors import (
    BackendUnavailableError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.qos import DEFAULT, Durability, History, QoS, Reliability
from robot_rl.bus.spin import spin_loop
from robot_rl.bus.subscription import Delivery, SubscriptionStats

M = TypeVar("M", bound=Message)
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_MISSING = (
    "the 'ros2' bus backend needs rclpy, which comes with a ROS 2 installation (Humble or "
    "newer), not from PyPI: source /opt/ros/<distro>/setup.bash first. To join a ROS 2 "
    "graph without ROS, use the 'dds' backend."
)


def import_rclpy() -> Any:
    """Import rclpy, or raise `BackendUnavailableError` saying how to get it."""
    try:
        return importlib.import_module("rclpy")
    except ImportError as exc:
        raise BackendUnavailableError(f"{_MISSING} (import failed: {exc})") from exc


@dataclass
class Ros2Config:
    """Settings of the rclpy backend."""

    node_name: str = "robot_rl"
    namespace: str = "/"
    use_sim_time: bool = False


def _ros_class(ros_type: str) -> Any:
    utilities = importlib.import_module("rosidl_runtime_py.utilities")
    if "/srv/" in ros_type:
        return utilities.get_service(ros_type)
    return utilities.get_message(ros_type)


def _profile(qos: QoS) -> Any:
    rq = importlib.import_module("rclpy.qos")
    return rq.QoSProfile(
        reliability=rq.ReliabilityPolicy.RELIABLE
        if qos.reliability is Reliability.RELIABLE
        else rq.ReliabilityPolicy.BEST_EFFORT,
        durability=rq.DurabilityPolicy.TRANSIENT_LOCAL
        if qos.durability is Durability.TRANSIENT_LOCAL
        else rq.DurabilityPolicy.VOLATILE,
        history=rq.HistoryPolicy.KEEP_LAST
        if qos.history is History.KEEP_LAST
        else rq.HistoryPolicy.KEEP_ALL,
        depth=qos.depth,
    )


class Ros2Publisher(Generic[M]):
    """An rclpy publisher fed with CDR bytes."""

    def __init__(self, pub: Any, msg_type: type[M]) -> None:
        self._pub = pub
        self._msg_type = msg_type

    @property
    def topic(self) -> str:
        """Fully qualified topic name."""
        return str(self._pub.topic_name)

    def publish(self, msg: M) -> None:
        """Encode and publish."""
        if type(msg) is not self._msg_type:
            raise TypeError(
                f"{self.topic} carries {self._msg_type.__name__}, got {type(msg).__name__}"
            )
        self._pub.publish(encode(msg))

    def publish_raw(self, data: bytes) -> None:
        """Publish CDR bytes as they are."""
        self._pub.publish(bytes(data))

    def subscriber_count(self) -> int:
        """Matched subscriptions."""
        return int(self._pub.get_subscription_count())


class Ros2Subscription:
    """An rclpy raw subscription feeding a `Delivery`."""

    def __init__(self, node: Any, sub: Any, delivery: Delivery[Any]) -> None:
        self._node = node
        self._sub = sub
        self.delivery = delivery

    @property
    def topic(self) -> str:
        """Fully qualified topic name."""
        return self.delivery.topic

    @property
    def stats(self) -> SubscriptionStats:
        """Received / rejected counters."""
        return self.delivery.stats

    def publisher_count(self) -> int:
        """Matched publishers."""
        return int(self._node.count_publishers(self.topic))

    def close(self) -> None:
        """Destroy the subscription."""
        self.delivery.closed = True
        self._node.destroy_subscription(self._sub)


class Ros2Server:
    """An rclpy service whose handler works on our message classes."""

    def __init__(self, node: Any, service: Any) -> None:
        self._node = node
        self._service = service
        self.stats = SubscriptionStats()

    def close(self) -> None:
        """Destroy the service."""
        self._node.destroy_service(self._service)


class Ros2Timer:
    """An rclpy timer."""

    def __init__(self, timer: Any, period_s: float) -> None:
        self._timer = timer
        self.period_s = period_s

    def cancel(self) -> None:
        """Stop it."""
        self._timer.cancel()


class Ros2Bus:
    """One rclpy node plus a single-threaded executor."""

    def __init__(self, config: Ros2Config | None = None) -> None:
        self.config = config if config is not None else Ros2Config()
        rclpy = import_rclpy()
        self._rclpy = rclpy
        self._serialization = importlib.import_module("rclpy.serialization")
        executors = importlib.import_module("rclpy.executors")
        if not rclpy.ok():
            rclpy.init()
        self._node = rclpy.create_node(self.config.node_name, namespace=self.config.namespace)
        if self.config.use_sim_time:
            parameter = importlib.import_module("rclpy.parameter")
            self._node.set_parameters([parameter.Parameter("use_sim_time", value=True)])
        self._executor = executors.SingleThreadedExecutor()
        self._executor.add_node(self._node)

    def publisher(self, topic: str, msg_type: type[M], qos: QoS | None = None) -> Ros2Publisher[M]:
        """Create an rclpy publisher."""
        cls = _ros_class(msg_type.__ros_type__)
        return Ros2Publisher(
            self._node.create_publisher(cls, topic, _profile(qos or DEFAULT)), msg_type
        )

    def subscribe(
        self, topic: str, msg_type: type[M], callback: Callable[[M], None], qos: QoS | None = None
    ) -> Ros2Subscription:
        """Create a raw rclpy subscription; payloads are decoded by our codec."""
        cls = _ros_class(msg_type.__ros_type__)
        delivery = Delivery(topic, msg_type, callback)
        sub = self._node.create_subscription(
            cls, topic, delivery.deliver_cdr, _profile(qos or DEFAULT), raw=True
        )
        delivery.topic = str(sub.topic_name)
        return Ros2Subscription(self._node, sub, delivery)

    def timer(self, period_s: float, callback: Callable[[], None]) -> Ros2Timer:
        """An rclpy timer on the node clock."""
        return Ros2Timer(self._node.create_timer(period_s, callback), period_s)

    def now(self) -> Time:
        """Node clock time (sim time with use_sim_time)."""
        return Time.from_ns(int(self._node.get_clock().now().nanoseconds))

    def spin_once(self, timeout_s: float = 0.0) -> int:
        """Run at most one ready callback (rclpy's granularity)."""
        self._executor.spin_once(timeout_sec=timeout_s)
        return 1  # rclpy does not report whether a callback ran

    def spin(self, timeout_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Spin until ``until()`` or the timeout."""
        spin_loop(self.spin_once, timeout_s, until)

    def _to_ros(self, msg: Message, cls: Any) -> Any:
        return self._serialization.deserialize_message(encode(msg), cls)

    def _from_ros(self, ros_msg: Any, cls: type[M]) -> M:
        return decode(cls, self._serialization.serialize_message(ros_msg))

    def serve(
        self, service: str, srv_type: ServiceType[Req, Resp], handler: Callable[[Req], Resp]
    ) -> Ros2Server:
        """Create an rclpy service."""
        srv_cls = _ros_class(srv_type.ros_type)

        def on_request(ros_request: Any, ros_response: Any) -> Any:
            server.stats.received += 1
            response = handler(self._from_ros(ros_request, srv_type.request))
            return self._to_ros(response, srv_cls.Response)

        server = Ros2Server(self._node, self._node.create_service(srv_cls, service, on_request))
        return server

    def request(
        self, service: str, srv_type: ServiceType[Req, Resp], request: Req, timeout_s: float
    ) -> Resp:
        """Call an rclpy service, spinning this node while waiting."""
        srv_cls = _ros_class(srv_type.ros_type)
        client = self._node.create_client(srv_cls, service)
        try:
            start = time.monotonic()
            if not client.wait_for_service(timeout_sec=timeout_s):
                raise ServiceUnavailableError(
                    f"no server for service {service} within {timeout_s:g} s"
                )
            future = client.call_async(self._to_ros(request, srv_cls.Request))
            remaining = max(0.0, timeout_s - (time.monotonic() - start))
            self._executor.spin_until_future_complete(future, timeout_sec=remaining)
            if not future.done():
                client.remove_pending_request(future)
                raise ServiceTimeoutError(f"service {service} sent no reply within {timeout_s:g} s")
            return self._from_ros(future.result(), srv_type.response)
        finally:
            self._node.destroy_client(client)

    def close(self) -> None:
        """Destroy the node."""
        self._executor.remove_node(self._node)
        self._node.destroy_node()
