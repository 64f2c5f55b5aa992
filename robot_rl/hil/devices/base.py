"""What every teleop device provides: a non-blocking sample in the teleop frame T.

T is the operator's frame (docs/hil.md): x forward (away from the operator), y to the
operator's left, z up; rotations are right-handed about those axes. Each backend maps
its raw axes into T, so the arbiter only has to know where T sits relative to the base.
Every backend reads through an injectable input source, so it is tested without hardware.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Protocol

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.command import TELEOP_FRAME, make_command


@dataclass(frozen=True)
class DeviceSample:
    """One reading, already in the teleop frame."""

    twist: np.ndarray  # (6,) in [-1, 1]: vx, vy, vz, wx, wy, wz (T axes)
    gripper: float  # -1 closed ... +1 open (sticky device state)
    buttons: int  # TeleopCommand.BUTTON_* bitmask


class TeleopDevice(ABC):
    """A teleop device. ``open`` may raise `DeviceUnavailableError`; ``sample`` never
    blocks and raises `DeviceLostError` once the device is gone."""

    name: ClassVar[str] = ""

    def __init__(self, frame_id: str = TELEOP_FRAME) -> None:
        self.frame_id = frame_id

    @abstractmethod
    def open(self) -> None:
        """Open the device (and its input source)."""

    @abstractmethod
    def sample(self) -> DeviceSample:
        """The latest state, without blocking."""

    @abstractmethod
    def close(self) -> None:
        """Release the device; safe to call twice."""

    def read(self, stamp_s: float) -> TeleopCommand:
        """`sample` as a `TeleopCommand` stamped ``stamp_s`` (s) in ``frame_id``."""
        s = self.sample()
        return make_command(s.twist, s.gripper, s.buttons, stamp_s, self.frame_id)

    def __enter__(self) -> TeleopDevice:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class InputSource(Protocol):
    """Where a device's raw input comes from: the hardware, or a script in tests."""

    def open(self) -> None:
        """Open; raises `DeviceUnavailableError`."""
        ...

    def close(self) -> None:
        """Release."""
        ...


class SourcedDevice(TeleopDevice):
    """A device that opens and closes through its injectable input ``source``."""

    source: InputSource

    def open(self) -> None:
        self.source.open()

    def close(self) -> None:
        self.source.close()


class StickyGripper:
    """Gripper state driven by close/open buttons: it stays where it was last put."""

    def __init__(self, opening: float = 1.0) -> None:
        self.value = opening

    def update(self, close: bool, open_: bool) -> float:
        """Close wins if both are pressed (the safer choice while holding an object is
        debatable, but a definite rule is better than flicker)."""
        if close:
            self.value = -1.0
        elif open_:
            self.value = 1.0
        return self.value
