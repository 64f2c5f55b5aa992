"""robot_rl.bus: the transport layer and the ROS 2 wire format.

Node logic talks to a `Bus` (publish, subscribe, timers, clock, services); `make_bus`
picks the backend: ``inproc`` (deterministic, one process), ``dds`` (Cyclone DDS speaking
ROS 2's wire format, no ROS needed) or ``ros2`` (rclpy). Messages are frozen dataclasses
in `robot_rl.bus.msgs`, encoded by our own CDR codec in `robot_rl.bus.cdr`.
See docs/bus.md.
"""

from __future__ import annotations

from robot_rl.bus.api import Bus, Publisher, ServiceServer, Subscription, Timer
from robot_rl.bus.clock import SimClock, WallClock
from robot_rl.bus.errors import (
    BackendUnavailableError,
    BusError,
    CdrEncodeError,
    CdrError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    TopicTypeError,
)
from robot_rl.bus.factory import BusConfig, make_bus
from robot_rl.bus.qos import DEFAULT, LATCHED, SENSOR_DATA, QoS
from robot_rl.bus.subscription import SubscriptionStats

__all__ = [
    "DEFAULT",
    "LATCHED",
    "SENSOR_DATA",
    "BackendUnavailableError",
    "Bus",
    "BusConfig",
    "BusError",
    "CdrEncodeError",
    "CdrError",
    "Publisher",
    "QoS",
    "ServiceServer",
    "ServiceTimeoutError",
    "ServiceUnavailableError",
    "SimClock",
    "Subscription",
    "SubscriptionStats",
    "Timer",
    "TopicTypeError",
    "WallClock",
    "make_bus",
]
