"""Building and reading `TeleopCommand` messages as numpy (the frame is ``header.frame_id``).

The twist is normalised to [-1, 1] per axis: ``[vx, vy, vz, wx, wy, wz]``, a translation
of the TCP along the teleop frame's axes and a rotation about those axes (see docs/hil.md).
"""

from __future__ import annotations

import numpy as np

from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.msgs.geometry_msgs import Twist, Vector3
from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.bus.msgs.std_msgs import Header

# Frame id of the operator's teleop frame T (docs/hil.md); the arbiter maps T to the base.
TELEOP_FRAME = "teleop"


def make_command(
    twist: np.ndarray,
    gripper: float,
    buttons: int,
    stamp_s: float,
    frame_id: str = TELEOP_FRAME,
) -> TeleopCommand:
    """A stamped command from a (6,) normalised twist, a gripper target in [-1, 1] and a
    ``TeleopCommand.BUTTON_*`` bitmask; ``stamp_s`` in seconds of the caller's clock."""
    t = np.asarray(twist, dtype=np.float64).reshape(6)
    return TeleopCommand(
        header=Header(stamp=Time.from_s(stamp_s), frame_id=frame_id),
        twist=Twist(
            linear=Vector3(float(t[0]), float(t[1]), float(t[2])),
            angular=Vector3(float(t[3]), float(t[4]), float(t[5])),
        ),
        gripper=float(gripper),
        buttons=int(buttons),
    )


def command_twist(cmd: TeleopCommand) -> np.ndarray:
    """The (6,) twist ``[vx, vy, vz, wx, wy, wz]`` of a command, float64."""
    lin, ang = cmd.twist.linear, cmd.twist.angular
    return np.array([lin.x, lin.y, lin.z, ang.x, ang.y, ang.z], dtype=np.float64)


def command_stamp_s(cmd: TeleopCommand) -> float:
    """The command's stamp in seconds."""
    return cmd.header.stamp.to_s()


def has_button(cmd: TeleopCommand, button: int) -> bool:
    """True if ``button`` (a ``TeleopCommand.BUTTON_*`` bit) is held in ``cmd``."""
    return bool(int(cmd.buttons) & int(button))
