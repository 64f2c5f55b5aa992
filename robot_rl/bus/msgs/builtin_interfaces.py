"""builtin_interfaces: Time and Duration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from robot_rl.bus.msgs.base import Message
from robot_rl.bus.msgs.fields import Int32, UInt32

_NS = 1_000_000_000


@dataclass(frozen=True, eq=False, slots=True)
class Time(Message):
    """A time point: ``sec`` + ``nanosec`` since the epoch (or since sim start on sim time)."""

    __ros_type__: ClassVar[str] = "builtin_interfaces/msg/Time"
    sec: Int32 = 0
    nanosec: UInt32 = 0

    @classmethod
    def from_ns(cls, ns: int) -> Time:
        """From integer nanoseconds (floor division, so negative times stay normalised)."""
        sec, nanosec = divmod(int(ns), _NS)
        return cls(sec, nanosec)

    @classmethod
    def from_s(cls, seconds: float) -> Time:
        """From float seconds, rounded to the nearest nanosecond."""
        return cls.from_ns(round(seconds * _NS))

    def to_ns(self) -> int:
        """Integer nanoseconds."""
        return self.sec * _NS + self.nanosec

    def to_s(self) -> float:
        """Float seconds (loses precision below ~0.1 us for epoch times)."""
        return self.sec + self.nanosec * 1e-9


@dataclass(frozen=True, eq=False, slots=True)
class Duration(Message):
    """A signed time span: ``sec`` + ``nanosec`` (nanosec is always in [0, 1e9))."""

    __ros_type__: ClassVar[str] = "builtin_interfaces/msg/Duration"
    sec: Int32 = 0
    nanosec: UInt32 = 0

    @classmethod
    def from_s(cls, seconds: float) -> Duration:
        """From float seconds, rounded to the nearest nanosecond."""
        sec, nanosec = divmod(round(seconds * _NS), _NS)
        return cls(sec, nanosec)

    def to_s(self) -> float:
        """Float seconds."""
        return self.sec + self.nanosec * 1e-9
