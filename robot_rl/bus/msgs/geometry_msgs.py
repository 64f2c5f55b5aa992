"""geometry_msgs: points, poses, wrenches and twists (metres, radians, newtons, seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from robot_rl.bus.msgs.base import Message
from robot_rl.bus.msgs.fields import Float64
from robot_rl.bus.msgs.std_msgs import Header


@dataclass(frozen=True, eq=False, slots=True)
class Vector3(Message):
    """A free vector (force in N, torque in N·m, velocity in m/s or rad/s)."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/Vector3"
    x: Float64 = 0.0
    y: Float64 = 0.0
    z: Float64 = 0.0


@dataclass(frozen=True, eq=False, slots=True)
class Point(Message):
    """A position in metres."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/Point"
    x: Float64 = 0.0
    y: Float64 = 0.0
    z: Float64 = 0.0


@dataclass(frozen=True, eq=False, slots=True)
class Quaternion(Message):
    """An orientation. ROS field order is x, y, z, w (the core uses w, x, y, z)."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/Quaternion"
    x: Float64 = 0.0
    y: Float64 = 0.0
    z: Float64 = 0.0
    w: Float64 = 1.0


@dataclass(frozen=True, eq=False, slots=True)
class Pose(Message):
    """Position and orientation."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/Pose"
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass(frozen=True, eq=False, slots=True)
class PoseStamped(Message):
    """A pose in ``header.frame_id`` at ``header.stamp``."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/PoseStamped"
    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


@dataclass(frozen=True, eq=False, slots=True)
class Wrench(Message):
    """Force (N) and torque (N·m)."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/Wrench"
    force: Vector3 = field(default_factory=Vector3)
    torque: Vector3 = field(default_factory=Vector3)


@dataclass(frozen=True, eq=False, slots=True)
class WrenchStamped(Message):
    """A wrench in ``header.frame_id``."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/WrenchStamped"
    header: Header = field(default_factory=Header)
    wrench: Wrench = field(default_factory=Wrench)


@dataclass(frozen=True, eq=False, slots=True)
class Twist(Message):
    """Linear (m/s) and angular (rad/s) velocity."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/Twist"
    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)


@dataclass(frozen=True, eq=False, slots=True)
class TwistStamped(Message):
    """A twist in ``header.frame_id``."""

    __ros_type__: ClassVar[str] = "geometry_msgs/msg/TwistStamped"
    header: Header = field(default_factory=Header)
    twist: Twist = field(default_factory=Twist)
