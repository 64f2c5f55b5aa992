"""rosgraph_msgs: Clock, the sim-time source on ``/clock``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from robot_rl.bus.msgs.base import Message
from robot_rl.bus.msgs.builtin_interfaces import Time


@dataclass(frozen=True, eq=False, slots=True)
class Clock(Message):
    """The current simulation time."""

    __ros_type__: ClassVar[str] = "rosgraph_msgs/msg/Clock"
    clock: Time = field(default_factory=Time)
