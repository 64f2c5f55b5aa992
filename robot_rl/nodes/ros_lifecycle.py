"""Hardware drivers as ROS 2 lifecycle nodes under rclpy (camera, impedance bridge).

    configure   builds the node: the camera opens its device, the bridge its topics
    activate    the camera streams; the bridge accepts commands (action, goal_pose)
    deactivate  the camera stops reading; the bridge drops commands, so its watchdog
                holds the measured pose (target_pose keeps going out, as a hold)
    cleanup     closes the node and destroys its topics and timers
    shutdown    the same, from any state

The node classes are the bus-neutral ones (`CameraNode`, `ImpedanceBridge`): what a
transition changes is done here, in the rclpy adapter, by a `GatedBus` that the node is
built on. ``autostart`` (a ROS parameter, default true) configures and activates at
start, so ``ros2 launch`` without a lifecycle manager works; ``-p autostart:=false``
leaves the node unconfigured for a manager (``ros2 lifecycle set``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from robot_rl.bus.api import Bus, Publisher, Subscription, Timer
from robot_rl.bus.msgs.base import Message
from robot_rl.bus.qos import QoS
from robot_rl.nodes.graph import NODE_KINDS, expand
from robot_rl.nodes.loop import NodeLoop

M = TypeVar("M", bound=Message)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gating:
    """What an inactive node of a kind does not do."""

    timers: bool = False  # timer callbacks are skipped (camera: no reads, no frames)
    inputs: tuple[str, ...] = ()  # config fields naming subscriptions whose messages drop


LIFECYCLE_KINDS: dict[str, Gating] = {
    "camera": Gating(timers=True),
    "impedance_bridge": Gating(inputs=("{action_topic}", "{goal_topic}")),
}


class GatedBus:
    """A bus whose gated timers and subscriptions do nothing while ``active`` is False,
    and which destroys every entity it created on `release`."""

    def __init__(self, bus: Bus, gating: Gating, cfg: Any) -> None:
        self.bus, self.gating, self.active = bus, gating, False
        self._gated_topics = {n for t in gating.inputs for n in expand(t, cfg)}
        self._subs: list[Subscription] = []
        self._timers: list[Timer] = []
        self._pubs: list[Any] = []

    def __getattr__(self, name: str) -> Any:  # now, spin_once, services: the bus's own
        return getattr(self.bus, name)

    def publisher(self, topic: str, msg_type: type[M], qos: QoS | None = None) -> Publisher[M]:
        """The bus's publisher (destroyed on `release`)."""
        pub = self.bus.publisher(topic, msg_type, qos)
        self._pubs.append(pub)
        return pub

    def subscribe(
        self, topic: str, msg_type: type[M], callback: Callable[[M], None], qos: QoS | None = None
    ) -> Subscription:
        """A subscription; a gated topic's messages are dropped while inactive."""
        if topic in self._gated_topics:
            inner = callback

            def callback(msg: M) -> None:
                if self.active:
                    inner(msg)

        sub = self.bus.subscribe(topic, msg_type, callback, qos)
        self._subs.append(sub)
        return sub

    def timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        """A timer; skipped while inactive when timers are gated."""
        if self.gating.timers:
            inner = callback

            def callback() -> None:
                if self.active:
                    inner()

        timer = self.bus.timer(period_s, callback)
        self._timers.append(timer)
        return timer

    def release(self) -> None:
        """Destroy every subscription, timer and publisher created through this bus."""
        for sub in self._subs:
            sub.close()
        for timer in self._timers:
            timer.cancel()
        for pub in self._pubs:
            close = getattr(pub, "close", None)  # Ros2Publisher has it
            if close is not None:
                close()
        self._subs, self._timers, self._pubs = [], [], []


def run_lifecycle_node(
    kind: str, bus: Any, cfg: Any, name: str, stop: Callable[[], bool], autostart: bool
) -> int:
    """Run a lifecycle node of ``kind`` on a `Ros2Bus` made with ``lifecycle=True`` until
    ``stop()``; returns the exit code."""
    lifecycle = importlib.import_module("rclpy.lifecycle")
    ok, failed = (
        lifecycle.TransitionCallbackReturn.SUCCESS,
        lifecycle.TransitionCallbackReturn.FAILURE,
    )
    node_kind = NODE_KINDS[kind]
    loop = NodeLoop(bus)  # camera and bridge do all their work in callbacks and timers
    held: list[tuple[GatedBus, Any]] = []

    def teardown() -> None:
        while held:
            gated, node = held.pop()
            gated.active = False
            node.close()
            gated.release()

    class Driver(lifecycle.ManagedEntity):  # type: ignore[name-defined]
        def on_configure(self, state: Any) -> Any:
            gated = GatedBus(bus, LIFECYCLE_KINDS[kind], cfg)
            try:
                held.append((gated, node_kind.node_class()(gated, cfg, name)))
            except Exception as exc:
                _log.error("%s: configure failed: %s", name, exc)
                gated.release()
                return failed
            return ok

        def on_activate(self, state: Any) -> Any:
            held[-1][0].active = True
            return ok

        def on_deactivate(self, state: Any) -> Any:
            held[-1][0].active = False
            return ok

        def on_cleanup(self, state: Any) -> Any:
            teardown()
            return ok

        def on_shutdown(self, state: Any) -> Any:
            teardown()
            return ok

        def on_error(self, state: Any) -> Any:
            teardown()
            return ok

    bus.node.add_managed_entity(Driver())
    try:
        if autostart:
            bus.node.trigger_configure()
            bus.node.trigger_activate()
        loop.spin(until=stop)
        return 0
    finally:
        teardown()
