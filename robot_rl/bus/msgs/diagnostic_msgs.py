"""diagnostic_msgs: DiagnosticArray on ``/diagnostics`` (loop rates, staleness, watchdogs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from robot_rl.bus.msgs.base import Message
from robot_rl.bus.msgs.fields import Byte, Str
from robot_rl.bus.msgs.std_msgs import Header


@dataclass(frozen=True, eq=False, slots=True)
class KeyValue(Message):
    """One named value of a status."""

    __ros_type__: ClassVar[str] = "diagnostic_msgs/msg/KeyValue"
    key: Str = ""
    value: Str = ""


@dataclass(frozen=True, eq=False, slots=True)
class DiagnosticStatus(Message):
    """The state of one component."""

    __ros_type__: ClassVar[str] = "diagnostic_msgs/msg/DiagnosticStatus"
    OK: ClassVar[int] = 0
    WARN: ClassVar[int] = 1
    ERROR: ClassVar[int] = 2
    STALE: ClassVar[int] = 3

    level: Byte = 0  # OK, WARN, ERROR or STALE
    name: Str = ""
    message: Str = ""
    hardware_id: Str = ""
    values: list[KeyValue] = field(default_factory=list)


@dataclass(frozen=True, eq=False, slots=True)
class DiagnosticArray(Message):
    """Statuses of several components at one time."""

    __ros_type__: ClassVar[str] = "diagnostic_msgs/msg/DiagnosticArray"
    header: Header = field(default_factory=Header)
    status: list[DiagnosticStatus] = field(default_factory=list)
