"""3Dconnexion SpaceMouse through pyspacemouse (HID via hidapi).

Raw axes are read in the USB HID convention (+x right, +y toward the user, +z down,
rotations right-handed about those axes) and mapped into the teleop frame T (x away from
the user, y left, z up) by the proper rotation ``HID_TO_TELEOP`` (det = +1), which maps
rotation axes the same way as translation axes. Left button closes the gripper, right
button opens it; pushing the cap past the arbiter's threshold engages an intervention.
Not yet tried on a real SpaceMouse (docs/hil.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.devices.base import DeviceSample, InputSource, SourcedDevice, StickyGripper
from robot_rl.hil.errors import DeviceLostError, DeviceUnavailableError

# T = HID_TO_TELEOP @ HID: T.x = -HID.y, T.y = -HID.x, T.z = -HID.z.
HID_TO_TELEOP = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])

UDEV_RULE = (
    'KERNEL=="hidraw*", ATTRS{idVendor}=="256f", MODE="0660", GROUP="plugdev" '
    "(older Logitech-made units: idVendor 046d) in /etc/udev/rules.d/99-spacemouse.rules, "
    "then `sudo udevadm control --reload && sudo udevadm trigger`, replug, and make sure "
    "you are in the plugdev group"
)


class SpaceMouseReading(NamedTuple):
    """Raw state in the HID convention, axes in [-1, 1]."""

    x: float
    y: float
    z: float
    roll: float
    pitch: float
    yaw: float
    buttons: tuple[int, ...] = ()


class SpaceMouseSource(InputSource, Protocol):
    """Where readings come from: the HID device, or a script in tests."""

    def read(self) -> SpaceMouseReading:
        """Latest reading, non-blocking; raises `DeviceLostError`."""
        ...


@dataclass
class SpaceMouseConfig:
    """Button layout and sensitivity."""

    # Multiplies the raw axes before clipping to [-1, 1] (pucks rarely reach full scale).
    axis_gain: float = 1.0
    # Button indices (0 = left, 1 = right on two-button models).
    close_button: int = 0
    open_button: int = 1
    # Optional dedicated intervene (deadman) button; None: motion engages.
    intervene_button: int | None = None


def hid_to_teleop(reading: SpaceMouseReading) -> np.ndarray:
    """(6,) twist in T from a HID-convention reading."""
    lin = HID_TO_TELEOP @ np.array([reading.x, reading.y, reading.z], dtype=np.float64)
    ang = HID_TO_TELEOP @ np.array([reading.roll, reading.pitch, reading.yaw], dtype=np.float64)
    return np.concatenate([lin, ang])


class SpaceMouse(SourcedDevice):
    """SpaceMouse backend; ``source`` defaults to the real HID device."""

    name = "spacemouse"

    def __init__(
        self, cfg: SpaceMouseConfig | None = None, source: SpaceMouseSource | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg if cfg is not None else SpaceMouseConfig()
        self.source: SpaceMouseSource = source if source is not None else PySpaceMouseSource()
        self.gripper = StickyGripper()

    def sample(self) -> DeviceSample:
        r = self.source.read()
        pressed = {i for i, b in enumerate(r.buttons) if b}
        twist = np.clip(hid_to_teleop(r) * self.cfg.axis_gain, -1.0, 1.0)
        grip = self.gripper.update(
            self.cfg.close_button in pressed, self.cfg.open_button in pressed
        )
        buttons = 0
        if self.cfg.intervene_button is not None and self.cfg.intervene_button in pressed:
            buttons |= TeleopCommand.BUTTON_INTERVENE
        return DeviceSample(twist, grip, buttons)


class ScriptedSpaceMouse:
    """Replays readings, one per `read`; then holds the last one (``then="hold"``) or
    reports the device lost (``then="lost"``)."""

    def __init__(self, readings: Iterable[SpaceMouseReading], then: str = "hold") -> None:
        self._it: Iterator[SpaceMouseReading] = iter(readings)
        self._last = SpaceMouseReading(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self.then = then

    def open(self) -> None:
        pass

    def read(self) -> SpaceMouseReading:
        try:
            self._last = next(self._it)
        except StopIteration:
            if self.then == "lost":
                raise DeviceLostError("spacemouse", "scripted readings exhausted") from None
        return self._last

    def close(self) -> None:
        pass


class PySpaceMouseSource:
    """The real device via pyspacemouse (needs the ``teleop`` extra and libhidapi-hidraw0)."""

    def __init__(self, device_name: str | None = None) -> None:
        self.device_name = device_name
        self._dev: Any = None

    def open(self) -> None:
        try:
            import pyspacemouse
        except (ImportError, OSError) as e:
            raise DeviceUnavailableError(
                "spacemouse",
                f"cannot import pyspacemouse ({e})",
                "pip install 'robot_rl[teleop]' and, on Debian/Ubuntu, "
                "sudo apt install libhidapi-hidraw0",
            ) from e
        try:
            self._dev = pyspacemouse.open(
                device=self.device_name, axis_convention=pyspacemouse.AxisConvention.HID
            )
        except Exception as e:  # pyspacemouse raises bare RuntimeError/ValueError
            raise classify_open_error(e) from e

    def read(self) -> SpaceMouseReading:
        if self._dev is None:
            raise DeviceLostError("spacemouse", "not open")
        try:
            s = self._dev.read()
        except Exception as e:  # easyhid raises HIDException/OSError when unplugged
            raise DeviceLostError("spacemouse", f"read failed ({e})") from e
        return SpaceMouseReading(s.x, s.y, s.z, s.roll, s.pitch, s.yaw, tuple(s.buttons))

    def close(self) -> None:
        if self._dev is not None:
            try:
                self._dev.close()
            finally:
                self._dev = None


def classify_open_error(e: Exception) -> DeviceUnavailableError:
    """Turn pyspacemouse's open errors into one that says what to install or configure."""
    text = str(e)
    if "HID API" in text:
        return DeviceUnavailableError(
            "spacemouse",
            "the hidapi system library is missing",
            "on Debian/Ubuntu: sudo apt install libhidapi-hidraw0",
        )
    if "Failed to open" in text or isinstance(e, PermissionError):
        return DeviceUnavailableError(
            "spacemouse",
            f"found but cannot be opened ({text}); usually a permission issue",
            f"add the udev rule {UDEV_RULE}",
        )
    if "No connected" in text or "not found" in text:
        return DeviceUnavailableError(
            "spacemouse",
            f"no SpaceMouse on USB ({text})",
            f"plug it in (check `lsusb` for vendor 256f or 046d); if it is listed, add the "
            f"udev rule {UDEV_RULE}",
        )
    return DeviceUnavailableError("spacemouse", text, "see docs/hil.md, 'Devices'")
