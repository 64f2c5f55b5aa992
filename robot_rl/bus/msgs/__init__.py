"""Message and service types the project sends, as frozen dataclasses.

``ALL_MESSAGES`` lists every message class; `message_class` looks one up by ROS name.
"""

from __future__ import annotations

from typing import Any

from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.builtin_interfaces import Duration, Time
from robot_rl.bus.msgs.diagnostic_msgs import DiagnosticArray, DiagnosticStatus, KeyValue
from robot_rl.bus.msgs.geometry_msgs import (
    Point,
    Pose,
    PoseStamped,
    Quaternion,
    Twist,
    TwistStamped,
    Vector3,
    Wrench,
    WrenchStamped,
)
from robot_rl.bus.msgs.robot_rl_interfaces import (
    Action,
    EpisodeEvent,
    NamedArray,
    ObjectState,
    PolicyWeights,
    Reset,
    ResetRequest,
    ResetResponse,
    RewardEstimate,
    ServiceFrame,
    TeleopCommand,
    Transition,
    TransitionAck,
)
from robot_rl.bus.msgs.rosgraph_msgs import Clock
from robot_rl.bus.msgs.sensor_msgs import CameraInfo, Image, JointState, RegionOfInterest
from robot_rl.bus.msgs.std_msgs import (
    Float32,
    Float64MultiArray,
    Header,
    MultiArrayDimension,
    MultiArrayLayout,
    String,
)

ALL_MESSAGES: tuple[type[Message], ...] = (
    Time,
    Duration,
    Header,
    String,
    Float32,
    MultiArrayDimension,
    MultiArrayLayout,
    Float64MultiArray,
    Vector3,
    Point,
    Quaternion,
    Pose,
    PoseStamped,
    Wrench,
    WrenchStamped,
    Twist,
    TwistStamped,
    Image,
    RegionOfInterest,
    CameraInfo,
    JointState,
    Clock,
    KeyValue,
    DiagnosticStatus,
    DiagnosticArray,
    NamedArray,
    Action,
    Transition,
    TransitionAck,
    PolicyWeights,
    RewardEstimate,
    ObjectState,
    TeleopCommand,
    EpisodeEvent,
    ServiceFrame,
    ResetRequest,
    ResetResponse,
)

ALL_SERVICES: tuple[ServiceType[Any, Any], ...] = (Reset,)

_BY_NAME = {cls.__ros_type__: cls for cls in ALL_MESSAGES}


def message_class(ros_type: str) -> type[Message]:
    """The message class for ``"pkg/msg/Name"``; raises KeyError if we do not define it."""
    try:
        return _BY_NAME[ros_type]
    except KeyError:
        raise KeyError(f"no message class for {ros_type!r}") from None


__all__ = [
    "ALL_MESSAGES",
    "ALL_SERVICES",
    "Action",
    "CameraInfo",
    "Clock",
    "DiagnosticArray",
    "DiagnosticStatus",
    "Duration",
    "EpisodeEvent",
    "Float32",
    "Float64MultiArray",
    "Header",
    "Image",
    "JointState",
    "KeyValue",
    "Message",
    "MultiArrayDimension",
    "MultiArrayLayout",
    "NamedArray",
    "ObjectState",
    "Point",
    "PolicyWeights",
    "Pose",
    "PoseStamped",
    "Quaternion",
    "RegionOfInterest",
    "Reset",
    "ResetRequest",
    "ResetResponse",
    "RewardEstimate",
    "ServiceFrame",
    "ServiceType",
    "String",
    "TeleopCommand",
    "Time",
    "Transition",
    "TransitionAck",
    "Twist",
    "TwistStamped",
    "Vector3",
    "Wrench",
    "WrenchStamped",
    "message_class",
]
