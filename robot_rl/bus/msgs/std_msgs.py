"""std_msgs: Header, String, Float32 and Float64MultiArray."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from robot_rl.bus.msgs import fields
from robot_rl.bus.msgs.base import Message
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.msgs.fields import Float64Seq, Str, UInt32, empty_float64


@dataclass(frozen=True, eq=False, slots=True)
class Header(Message):
    """Stamp and coordinate frame of the data that follows."""

    __ros_type__: ClassVar[str] = "std_msgs/msg/Header"
    stamp: Time = field(default_factory=Time)
    frame_id: Str = ""


@dataclass(frozen=True, eq=False, slots=True)
class String(Message):
    """A single UTF-8 string."""

    __ros_type__: ClassVar[str] = "std_msgs/msg/String"
    data: Str = ""


@dataclass(frozen=True, eq=False, slots=True)
class Float32(Message):
    """A single float32 (crisp_controllers' gripper nodes take their command as one)."""

    __ros_type__: ClassVar[str] = "std_msgs/msg/Float32"
    data: fields.Float32 = 0.0


@dataclass(frozen=True, eq=False, slots=True)
class MultiArrayDimension(Message):
    """One dimension of a multi-array: its label, length and stride (in elements)."""

    __ros_type__: ClassVar[str] = "std_msgs/msg/MultiArrayDimension"
    label: Str = ""
    size: UInt32 = 0
    stride: UInt32 = 0


@dataclass(frozen=True, eq=False, slots=True)
class MultiArrayLayout(Message):
    """Layout of a multi-array's flat data."""

    __ros_type__: ClassVar[str] = "std_msgs/msg/MultiArrayLayout"
    dim: list[MultiArrayDimension] = field(default_factory=list)
    data_offset: UInt32 = 0


@dataclass(frozen=True, eq=False, slots=True)
class Float64MultiArray(Message):
    """A float64 array of any shape, flattened into ``data``."""

    __ros_type__: ClassVar[str] = "std_msgs/msg/Float64MultiArray"
    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: Float64Seq = field(default_factory=empty_float64)
