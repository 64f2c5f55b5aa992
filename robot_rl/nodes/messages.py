"""Message types the nodes need that `robot_rl.bus.msgs` does not define (yet).

``std_msgs/Float32`` is what crisp_controllers' gripper nodes listen to. It belongs in
``robot_rl/bus/msgs/std_msgs.py``; it lives here until it moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from robot_rl.bus.msgs import fields
from robot_rl.bus.msgs.base import Message


@dataclass(frozen=True, eq=False, slots=True)
class Float32(Message):
    """A single float32 (here: a gripper command in the gripper's own units)."""

    __ros_type__: ClassVar[str] = "std_msgs/msg/Float32"
    data: fields.Float32 = 0.0
