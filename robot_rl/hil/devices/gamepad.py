"""Gamepad through pygame's joystick API (SDL2), Xbox-style layout by default.

Left stick: x/y translation (up = forward, left = left); right stick: up/down = z,
left/right = yaw; d-pad: roll (x) and pitch (y). LB held = intervene (deadman), A closes
and B opens the gripper, Y = success, X = failure, Back = reset, Start = pause. The
default indices are what SDL2 reports for an Xbox pad on Linux; other pads need a
`GamepadConfig`. Not yet tried on a real gamepad (docs/hil.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.devices._pygame import has_display, import_pygame
from robot_rl.hil.devices.base import DeviceSample, InputSource, SourcedDevice, StickyGripper
from robot_rl.hil.errors import DeviceLostError, DeviceUnavailableError

ACCESS_FIX = (
    "plug it in and check that the kernel sees it (`evtest`; Xbox pads need the xpad "
    "module); the user needs read access to /dev/input/event*: `sudo usermod -aG input "
    '$USER` and log in again, or the udev rule KERNEL=="event*", SUBSYSTEM=="input", '
    'ENV{ID_INPUT_JOYSTICK}=="1", MODE="0660", GROUP="input"'
)


class GamepadReading(NamedTuple):
    """Raw joystick state: axes in [-1, 1], buttons pressed, hat (x, y) in {-1, 0, 1}."""

    axes: tuple[float, ...]
    buttons: tuple[bool, ...]
    hat: tuple[int, int] = (0, 0)


class GamepadSource(InputSource, Protocol):
    """Where readings come from: SDL, or a script in tests."""

    def read(self) -> GamepadReading:
        """Latest state, non-blocking; raises `DeviceLostError`."""
        ...


@dataclass
class GamepadConfig:
    """Axis and button indices as SDL reports them, and stick sensitivity."""

    axis_left_x: int = 0
    axis_left_y: int = 1
    axis_right_x: int = 3
    axis_right_y: int = 4
    intervene_button: int = 4  # LB, hold to intervene
    close_button: int = 0  # A
    open_button: int = 1  # B
    failure_button: int = 2  # X
    success_button: int = 3  # Y
    reset_button: int = 6  # Back
    pause_button: int = 7  # Start
    # Multiplies stick values before clipping to [-1, 1].
    axis_gain: float = 1.0


class Gamepad(SourcedDevice):
    """Gamepad backend; ``source`` defaults to the first SDL joystick."""

    name = "gamepad"

    def __init__(self, cfg: GamepadConfig | None = None, source: GamepadSource | None = None):
        super().__init__()
        self.cfg = cfg if cfg is not None else GamepadConfig()
        self.source: GamepadSource = source if source is not None else PygameJoystickSource()
        self.gripper = StickyGripper()

    def sample(self) -> DeviceSample:
        r = self.source.read()
        c = self.cfg

        def axis(i: int) -> float:
            return float(r.axes[i]) if 0 <= i < len(r.axes) else 0.0

        def button(i: int) -> bool:
            return bool(r.buttons[i]) if 0 <= i < len(r.buttons) else False

        twist = np.array(
            [
                -axis(c.axis_left_y),  # stick up reads negative: forward
                -axis(c.axis_left_x),  # stick left reads negative: +y (left)
                -axis(c.axis_right_y),  # up
                float(r.hat[0]),
                float(r.hat[1]),
                -axis(c.axis_right_x),  # right stick left: counter-clockwise from above
            ]
        )
        twist[[0, 1, 2, 5]] *= c.axis_gain
        grip = self.gripper.update(button(c.close_button), button(c.open_button))
        bits = (
            (c.intervene_button, TeleopCommand.BUTTON_INTERVENE),
            (c.success_button, TeleopCommand.BUTTON_SUCCESS),
            (c.failure_button, TeleopCommand.BUTTON_FAILURE),
            (c.reset_button, TeleopCommand.BUTTON_RESET),
            (c.pause_button, TeleopCommand.BUTTON_PAUSE),
        )
        buttons = sum(bit for idx, bit in bits if button(idx))
        return DeviceSample(np.clip(twist, -1.0, 1.0), grip, buttons)


class ScriptedGamepad:
    """Replays readings, one per `read`; then holds the last (``then="hold"``) or
    reports the device lost (``then="lost"``)."""

    def __init__(self, readings: Iterable[GamepadReading], then: str = "hold") -> None:
        self._it: Iterator[GamepadReading] = iter(readings)
        self._last = GamepadReading((), ())
        self.then = then

    def open(self) -> None:
        pass

    def read(self) -> GamepadReading:
        try:
            self._last = next(self._it)
        except StopIteration:
            if self.then == "lost":
                raise DeviceLostError("gamepad", "scripted readings exhausted") from None
        return self._last

    def close(self) -> None:
        pass


class PygameJoystickSource:
    """SDL joystick ``index`` via pygame; works without a window (events are pumped)."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self._pg: Any = None
        self._js: Any = None

    def open(self) -> None:
        pg = import_pygame("gamepad")
        os.environ.setdefault("SDL_JOYSTICK_ALLOW_BACKGROUND_EVENTS", "1")
        if not has_display():
            # Joystick events need SDL's event loop, which needs a video driver; the dummy
            # one opens no window.
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        pg.display.init()
        pg.joystick.init()
        count = pg.joystick.get_count()
        if count <= self.index:
            raise DeviceUnavailableError(
                "gamepad", f"SDL sees {count} joystick(s), need index {self.index}", ACCESS_FIX
            )
        self._pg, self._js = pg, pg.joystick.Joystick(self.index)

    def read(self) -> GamepadReading:
        pg, js = self._pg, self._js
        if js is None:
            raise DeviceLostError("gamepad", "not open")
        for ev in pg.event.get():
            if ev.type == pg.JOYDEVICEREMOVED and ev.instance_id == js.get_instance_id():
                self._js = None
                raise DeviceLostError("gamepad", "joystick unplugged")
        hat = js.get_hat(0) if js.get_numhats() else (0, 0)
        return GamepadReading(
            tuple(js.get_axis(i) for i in range(js.get_numaxes())),
            tuple(bool(js.get_button(i)) for i in range(js.get_numbuttons())),
            (int(hat[0]), int(hat[1])),
        )

    def close(self) -> None:
        self._js = None
