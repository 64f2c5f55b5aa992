"""sensor_msgs: Image, CameraInfo and JointState."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from robot_rl.bus.msgs.base import Message
from robot_rl.bus.msgs.fields import (
    Bool,
    Float64Seq,
    Float64x9,
    Float64x12,
    Str,
    StrSeq,
    UInt8,
    UInt8Seq,
    UInt32,
    empty_float64,
    empty_uint8,
    zeros9,
    zeros12,
)
from robot_rl.bus.msgs.std_msgs import Header


@dataclass(frozen=True, eq=False, slots=True)
class Image(Message):
    """An uncompressed image; ``data`` holds ``height * step`` bytes, row-major."""

    __ros_type__: ClassVar[str] = "sensor_msgs/msg/Image"
    header: Header = field(default_factory=Header)
    height: UInt32 = 0
    width: UInt32 = 0
    encoding: Str = ""  # "rgb8", "bgr8", "mono8", "16UC1", ...
    is_bigendian: UInt8 = 0
    step: UInt32 = 0  # bytes per row
    data: UInt8Seq = field(default_factory=empty_uint8)


@dataclass(frozen=True, eq=False, slots=True)
class RegionOfInterest(Message):
    """A sub-window of the full-resolution image, in pixels."""

    __ros_type__: ClassVar[str] = "sensor_msgs/msg/RegionOfInterest"
    x_offset: UInt32 = 0
    y_offset: UInt32 = 0
    height: UInt32 = 0
    width: UInt32 = 0
    do_rectify: Bool = False


@dataclass(frozen=True, eq=False, slots=True)
class CameraInfo(Message):
    """Calibration of a camera: intrinsics ``k``, distortion ``d``, projection ``p`` (pixels)."""

    __ros_type__: ClassVar[str] = "sensor_msgs/msg/CameraInfo"
    header: Header = field(default_factory=Header)
    height: UInt32 = 0
    width: UInt32 = 0
    distortion_model: Str = ""  # "plumb_bob", "rational_polynomial", "equidistant"
    d: Float64Seq = field(default_factory=empty_float64)
    k: Float64x9 = field(default_factory=zeros9)  # 3x3 row-major
    r: Float64x9 = field(default_factory=zeros9)  # 3x3 rectification rotation, row-major
    p: Float64x12 = field(default_factory=zeros12)  # 3x4 projection, row-major
    binning_x: UInt32 = 0
    binning_y: UInt32 = 0
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)


@dataclass(frozen=True, eq=False, slots=True)
class JointState(Message):
    """Joint positions (rad or m), velocities (rad/s or m/s) and efforts (N·m or N)."""

    __ros_type__: ClassVar[str] = "sensor_msgs/msg/JointState"
    header: Header = field(default_factory=Header)
    name: StrSeq = field(default_factory=list)
    position: Float64Seq = field(default_factory=empty_float64)
    velocity: Float64Seq = field(default_factory=empty_float64)
    effort: Float64Seq = field(default_factory=empty_float64)
