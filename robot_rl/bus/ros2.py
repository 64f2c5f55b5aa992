"""rclpy backend, for nodes started by ``ros2 launch`` on the robot.

Deliberately thin: messages cross the rclpy boundary as CDR bytes (``publish(bytes)``,
``create_subscription(raw=True)``, ``rclpy.serialization``), so this file converts
nothing field by field. The rclpy classes of a type come from its generated Python
module (``geometry_msgs.msg``), so nothing beyond rclpy and the message packages is
needed (no ``rosidl_runtime_py``, which no ROS 2 wheel on PyPI provides).

Deferred service replies use rclpy's coroutine service callbacks (the executor resumes an
``async def`` callback once the Future it awaits is done); servers also answer over topics
and ``request_async`` calls over them (robot_rl.bus.topic_service), so requests cross to
the dds backend: no callback ever spins. A suspended coroutine holds its callback group,
so every service gets its own `ReentrantCallbackGroup`: while a request waits, the node's
subscriptions, timers and other services keep running. rclpy is imported only when a
`Ros2Bus` is created; it installs from PyPI (``ros-jazzy-rclpy``, docs/robot_bringup.md)
or comes with a ROS 2 installation. tests/ros runs this backend under real rclpy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.errors import BackendUnavailableError, CdrError
from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.qos import DEFAULT, Durability, History, QoS, Reliability
from robot_rl.bus.service import CallbackGuard, PendingReply, Responder, ServiceCalls
from robot_rl.bus.spin import spin_loop
from robot_rl.bus.subscription import Delivery, SubscriptionStats
from robot_rl.bus.topic_service import TopicClient, TopicServer

M = TypeVar("M", bound=Message)
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_MISSING = (
    "the 'ros2' bus backend needs rclpy: source /opt/ros/<distro>/setup.bash of a ROS 2 "
    "installation (Humble or newer), or install the PyPI wheels (bash scripts/setup_ros.sh, "
    "docs/robot_bringup.md). To join a ROS 2 graph without rclpy, use the 'dds' backend."
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
    lifecycle: bool = False  # an rclpy LifecycleNode (robot_rl.nodes.ros_lifecycle drives it)


def _ros_class(ros_type: str) -> Any:
    """The rclpy class of ``"pkg/msg/Name"`` or ``"pkg/srv/Name"``, from its generated
    module. Raises BackendUnavailableError naming the package when it is not installed."""
    package, kind, name = ros_type.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError) as exc:
        raise BackendUnavailableError(
            f"{ros_type} is not importable under rclpy ({exc}); install its package "
            f"(robot_rl_interfaces: bash scripts/build_ros_interfaces.sh)"
        ) from exc


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

    def __init__(self, node: Any, pub: Any, msg_type: type[M]) -> None:
        self._node = node
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

    def close(self) -> None:
        """Destroy the publisher (a lifecycle node's cleanup)."""
        self._node.destroy_publisher(self._pub)


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
    """An rclpy service whose handler works on our message classes, plus its route
    topics for our clients (robot_rl.bus.topic_service)."""

    def __init__(self, node: Any, service: Any) -> None:
        self._node = node
        self._service = service
        self.stats = SubscriptionStats()
        self.route: TopicServer[Any, Any] | None = None

    def close(self) -> None:
        """Destroy the service."""
        self._node.destroy_service(self._service)
        if self.route is not None:
            self.route.close()


class Ros2Timer:
    """An rclpy timer."""

    def __init__(self, timer: Any, period_s: float) -> None:
        self._timer = timer
        self.period_s = period_s

    def cancel(self) -> None:
        """Stop it."""
        self._timer.cancel()


class Ros2Bus(ServiceCalls):
    """One rclpy node plus a single-threaded executor."""

    def __init__(self, config: Ros2Config | None = None) -> None:
        self.config = config if config is not None else Ros2Config()
        rclpy = import_rclpy()
        self._rclpy = rclpy
        self._serialization = importlib.import_module("rclpy.serialization")
        executors = importlib.import_module("rclpy.executors")
        if not rclpy.ok():
            rclpy.init()
        if self.config.lifecycle:
            lifecycle = importlib.import_module("rclpy.lifecycle")
            self._node = lifecycle.LifecycleNode(
                self.config.node_name, namespace=self.config.namespace
            )
        else:
            self._node = rclpy.create_node(self.config.node_name, namespace=self.config.namespace)
        if self.config.use_sim_time:
            parameter = importlib.import_module("rclpy.parameter")
            self._node.set_parameters([parameter.Parameter("use_sim_time", value=True)])
        self._executor = executors.SingleThreadedExecutor()
        self._executor.add_node(self._node)
        self._clients: dict[str, TopicClient[Any, Any]] = {}
        # rclpy itself refuses to spin inside a callback; this guard is never entered here.
        self._guard = CallbackGuard()

    @property
    def node(self) -> Any:
        """The rclpy node (for what the bus does not wrap: parameters)."""
        return self._node

    def publisher(self, topic: str, msg_type: type[M], qos: QoS | None = None) -> Ros2Publisher[M]:
        """Create an rclpy publisher."""
        cls = _ros_class(msg_type.__ros_type__)
        pub = self._node.create_publisher(cls, topic, _profile(qos or DEFAULT))
        return Ros2Publisher(self._node, pub, msg_type)

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
        """Run at most one ready callback (rclpy's granularity), then send or resend the
        route requests that are due (robot_rl.bus.topic_service)."""
        self._executor.spin_once(timeout_sec=timeout_s)
        for client in self._clients.values():
            if client.waiting:
                client.poll()
        return 1  # rclpy does not report whether a callback ran

    def spin(self, timeout_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Spin until ``until()`` or the timeout."""
        spin_loop(self.spin_once, timeout_s, until)

    def _to_ros(self, msg: Message, cls: Any) -> Any:
        return self._serialization.deserialize_message(encode(msg), cls)

    def _from_ros(self, ros_msg: Any, cls: type[M]) -> M:
        return decode(cls, self._serialization.serialize_message(ros_msg))

    def serve_deferred(
        self,
        service: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req, Responder[Resp]], None],
    ) -> Ros2Server:
        """Create an rclpy service with an ``async def`` callback: it hands the request and
        a `Responder` to ``handler``, then awaits an rclpy Future that ``reply`` completes.
        The executor resumes the callback (and sends the response) on a later spin, so
        nothing blocks or spins inside a callback. The service has its own reentrant
        callback group, so a pending request stops nothing else of the node. A request our
        codec cannot read is counted in ``stats.rejected`` and answered with the type's
        default response (rclpy must send one; for Reset that is ``ok=False``)."""
        srv_cls = _ros_class(srv_type.ros_type)
        task = importlib.import_module("rclpy.task")
        groups = importlib.import_module("rclpy.callback_groups")

        async def on_request(ros_request: Any, ros_response: Any) -> Any:
            try:
                request = self._from_ros(ros_request, srv_type.request)
            except CdrError as exc:
                server.stats.rejected += 1
                server.stats.last_error = str(exc)
                return ros_response
            server.stats.received += 1
            future = task.Future()
            responder = Responder(service, srv_type.response, future.set_result)
            handler(request, responder)
            response = await future
            return self._to_ros(response, srv_cls.Response)

        ros_service = self._node.create_service(
            srv_cls, service, on_request, callback_group=groups.ReentrantCallbackGroup()
        )
        server = Ros2Server(self._node, ros_service)
        server.route = TopicServer(self, service, srv_type, handler, server.stats)
        return server

    def request_async(
        self, service: str, srv_type: ServiceType[Req, Resp], request: Req, timeout_s: float
    ) -> PendingReply[Resp]:
        """Send a request over the route topics (once they match) without waiting: our
        servers answer there whatever their stack, which rclpy's native client cannot
        reach on a Cyclone server (robot_rl.bus.topic_service). The client is kept."""
        if type(request) is not srv_type.request:
            raise TypeError(
                f"{service} takes {srv_type.request.__name__}, got {type(request).__name__}"
            )
        key = f"{service} {srv_type.ros_type}"
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = TopicClient(self, service, srv_type)
        return client.request(request, timeout_s)

    def close(self) -> None:
        """Destroy the node."""
        self._executor.remove_node(self._node)
        self._node.destroy_node()
