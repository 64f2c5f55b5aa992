"""robot_rl_interfaces: our messages and services. The .msg/.srv files in
``ros_ws/src/robot_rl_interfaces`` are the source of truth; tests check these classes
against them byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.msgs.fields import (
    Bool,
    Float32,
    Float32Seq,
    Float64,
    Int64,
    Str,
    UInt8,
    UInt8Seq,
    UInt32,
    UInt32Seq,
    UInt64,
    empty_float32,
    empty_uint8,
    empty_uint32,
)
from robot_rl.bus.msgs.geometry_msgs import Twist
from robot_rl.bus.msgs.std_msgs import Header


@dataclass(frozen=True, eq=False, slots=True)
class NamedArray(Message):
    """A named n-d array as little-endian C-order bytes; see `from_array` / `to_array`."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/NamedArray"
    name: Str = ""
    dtype: Str = ""  # numpy dtype name
    shape: UInt32Seq = field(default_factory=empty_uint32)
    data: UInt8Seq = field(default_factory=empty_uint8)

    @classmethod
    def from_array(cls, name: str, array: Any) -> NamedArray:
        """Wrap an array (one copy into little-endian C order)."""
        arr = np.asarray(array)
        little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
        return cls(
            name=name,
            dtype=arr.dtype.name,
            shape=np.asarray(arr.shape, dtype=np.uint32),
            data=little.reshape(-1).view(np.uint8),
        )

    def to_array(self) -> np.ndarray[Any, Any]:
        """The array (a read-only view when ``data`` is). Raises ValueError on a size mismatch."""
        dtype = np.dtype(self.dtype).newbyteorder("<")
        shape = tuple(int(n) for n in self.shape)
        expected = math.prod(shape) * dtype.itemsize
        if self.data.size != expected:
            raise ValueError(
                f"NamedArray {self.name!r}: {self.data.size} bytes for shape {shape} "
                f"of {self.dtype} (needs {expected})"
            )
        return np.frombuffer(self.data, dtype=dtype).reshape(shape)


@dataclass(frozen=True, eq=False, slots=True)
class Action(Message):
    """The action an actor executes at one policy step (docs/interfaces.md)."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/Action"
    header: Header = field(default_factory=Header)
    seq: UInt64 = 0
    policy_version: UInt64 = 0
    action: Float32Seq = field(default_factory=empty_float32)  # [-1, 1]^7
    intervened: Bool = False


@dataclass(frozen=True, eq=False, slots=True)
class Transition(Message):
    """One environment step, actor -> learner; ``seq`` is contiguous per actor from 1."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/Transition"
    ONLINE: ClassVar[int] = 0  # the online replay buffer
    DEMO: ClassVar[int] = 1  # the demo/intervention buffer
    header: Header = field(default_factory=Header)
    actor_id: Str = ""
    seq: UInt64 = 0
    episode_id: UInt64 = 0
    step: UInt32 = 0
    obs: list[NamedArray] = field(default_factory=list)
    next_obs: list[NamedArray] = field(default_factory=list)
    action: Float32Seq = field(default_factory=empty_float32)
    reward: Float32 = 0.0
    terminated: Bool = False
    truncated: Bool = False
    intervened: Bool = False
    policy_version: UInt64 = 0
    buffer: UInt8 = 0  # ONLINE or DEMO (robot_rl.hil.routing)


@dataclass(frozen=True, eq=False, slots=True)
class TransitionAck(Message):
    """Learner -> actor: every ``seq <= highest_contiguous_seq`` is stored (0: none yet)."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/TransitionAck"
    actor_id: Str = ""
    highest_contiguous_seq: UInt64 = 0


@dataclass(frozen=True, eq=False, slots=True)
class ServiceFrame(Message):
    """A service request or reply over topics between stacks (robot_rl.bus.topic_service)."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/ServiceFrame"
    client: UInt64 = 0
    seq: Int64 = 0
    cdr: UInt8Seq = field(default_factory=empty_uint8)


@dataclass(frozen=True, eq=False, slots=True)
class PolicyWeights(Message):
    """A versioned snapshot of the trainable parameters, learner -> actors."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/PolicyWeights"
    header: Header = field(default_factory=Header)
    version: UInt64 = 0
    arrays: list[NamedArray] = field(default_factory=list)


@dataclass(frozen=True, eq=False, slots=True)
class RewardEstimate(Message):
    """A reward model's output for the observation stamped ``header.stamp``."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/RewardEstimate"
    header: Header = field(default_factory=Header)
    source: Str = ""
    reward: Float32 = 0.0
    success_prob: Float32 = math.nan  # in [0, 1]; NaN when the source gives none
    latency_ms: Float32 = 0.0


@dataclass(frozen=True, eq=False, slots=True)
class ObjectState(Message):
    """The twin task's privileged object state at ``header.stamp`` (a real cell has none)."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/ObjectState"
    header: Header = field(default_factory=Header)
    task: Str = ""  # the twin task whose layout ``state`` has
    state: Float32Seq = field(default_factory=empty_float32)


@dataclass(frozen=True, eq=False, slots=True)
class TeleopCommand(Message):
    """A teleop device sample: twist normalised to [-1, 1] in ``header.frame_id``."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/TeleopCommand"
    BUTTON_INTERVENE: ClassVar[int] = 1
    BUTTON_SUCCESS: ClassVar[int] = 2
    BUTTON_FAILURE: ClassVar[int] = 4
    BUTTON_RESET: ClassVar[int] = 8
    BUTTON_PAUSE: ClassVar[int] = 16

    header: Header = field(default_factory=Header)
    twist: Twist = field(default_factory=Twist)
    gripper: Float32 = 0.0  # -1 closed ... +1 fully open
    buttons: UInt32 = 0  # bitmask of BUTTON_*


@dataclass(frozen=True, eq=False, slots=True)
class EpisodeEvent(Message):
    """An episode lifecycle event; ``kind`` is one of the class constants."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/msg/EpisodeEvent"
    START: ClassVar[int] = 0
    END: ClassVar[int] = 1
    RESET: ClassVar[int] = 2
    SUCCESS: ClassVar[int] = 3
    FAILURE: ClassVar[int] = 4
    PAUSE: ClassVar[int] = 5
    RESUME: ClassVar[int] = 6
    ABORT: ClassVar[int] = 7

    header: Header = field(default_factory=Header)
    kind: UInt8 = 0
    episode_id: UInt64 = 0
    detail: Str = ""


@dataclass(frozen=True, eq=False, slots=True)
class ResetRequest(Message):
    """Ask the reset node for a new episode; it gives up after ``timeout_s`` seconds."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/srv/Reset_Request"
    seed: Int64 = -1  # -1: the reset node chooses
    timeout_s: Float64 = 30.0


@dataclass(frozen=True, eq=False, slots=True)
class ResetResponse(Message):
    """Outcome of a reset."""

    __ros_type__: ClassVar[str] = "robot_rl_interfaces/srv/Reset_Response"
    ok: Bool = False
    message: Str = ""


Reset = ServiceType("robot_rl_interfaces/srv/Reset", ResetRequest, ResetResponse)
