"""Keyboard teleop: hold keys to move (a pygame window captures them), or a scripted key
stream in tests and headless runs.

Keys (names as pygame spells them): w/s forward/back, a/d left/right, r/f up/down,
j/l roll, i/k pitch, q/e yaw (counter-clockwise/clockwise from above); space held =
intervene; c closes and o opens the gripper; return = success, backspace = failure,
n = reset, p = pause. Not yet tried with a person at a real keyboard (docs/hil.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.devices._pygame import has_display, import_pygame
from robot_rl.hil.devices.base import DeviceSample, InputSource, SourcedDevice, StickyGripper
from robot_rl.hil.errors import DeviceLostError, DeviceUnavailableError

# key -> (twist axis, sign); axes 0-2 translation, 3-5 rotation, in the teleop frame.
MOTION_KEYS: dict[str, tuple[int, float]] = {
    "w": (0, 1.0), "s": (0, -1.0), "a": (1, 1.0), "d": (1, -1.0), "r": (2, 1.0), "f": (2, -1.0),
    "j": (3, 1.0), "l": (3, -1.0), "i": (4, 1.0), "k": (4, -1.0), "q": (5, 1.0), "e": (5, -1.0),
}  # fmt: skip
BUTTON_KEYS: dict[str, int] = {
    "space": TeleopCommand.BUTTON_INTERVENE,
    "return": TeleopCommand.BUTTON_SUCCESS,
    "backspace": TeleopCommand.BUTTON_FAILURE,
    "n": TeleopCommand.BUTTON_RESET,
    "p": TeleopCommand.BUTTON_PAUSE,
}
CLOSE_KEY, OPEN_KEY = "c", "o"
ALL_KEYS = (*MOTION_KEYS, *BUTTON_KEYS, CLOSE_KEY, OPEN_KEY)


class KeyboardSource(InputSource, Protocol):
    """Where key states come from: a window, or a script."""

    def held(self) -> frozenset[str]:
        """Names of the keys held now, non-blocking; raises `DeviceLostError`."""
        ...


@dataclass
class KeyboardConfig:
    """Keyboard sensitivity."""

    # Deflection of a held motion key, in normalised device units (0, 1].
    key_speed: float = 1.0


class Keyboard(SourcedDevice):
    """Keyboard backend; ``source`` defaults to a pygame window."""

    name = "keyboard"

    def __init__(
        self, cfg: KeyboardConfig | None = None, source: KeyboardSource | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg if cfg is not None else KeyboardConfig()
        self.source: KeyboardSource = source if source is not None else PygameKeyboardSource()
        self.gripper = StickyGripper()

    def sample(self) -> DeviceSample:
        keys = self.source.held()
        twist = np.zeros(6)
        for k in keys:
            if k in MOTION_KEYS:
                axis, sign = MOTION_KEYS[k]
                twist[axis] += sign * self.cfg.key_speed
        buttons = sum(bit for k, bit in BUTTON_KEYS.items() if k in keys)
        grip = self.gripper.update(CLOSE_KEY in keys, OPEN_KEY in keys)
        return DeviceSample(np.clip(twist, -1.0, 1.0), grip, buttons)


def parse_key_script(text: str) -> list[frozenset[str]]:
    """One line per policy step: the key names held, separated by spaces or commas.
    ``*N`` at the end repeats the line N times; an empty line holds nothing; ``#`` starts
    a comment, and a line with only a comment is no step. Unknown keys raise ValueError."""
    steps: list[frozenset[str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        if raw.lstrip().startswith("#"):
            continue
        line = raw.split("#", 1)[0].replace(",", " ").split()
        repeat = 1
        if line and line[-1].startswith("*"):
            repeat = int(line.pop()[1:])
        unknown = [k for k in line if k not in ALL_KEYS]
        if unknown:
            raise ValueError(f"line {n}: unknown key(s) {unknown}; known: {list(ALL_KEYS)}")
        steps.extend([frozenset(line)] * repeat)
    return steps


class ScriptedKeys:
    """Replays key sets, one per `held`; then releases everything (``then="release"``)
    or reports the device lost (``then="lost"``)."""

    def __init__(self, steps: Iterable[Iterable[str]], then: str = "release") -> None:
        self._it: Iterator[Iterable[str]] = iter(steps)
        self.then = then

    def open(self) -> None:
        pass

    def held(self) -> frozenset[str]:
        try:
            return frozenset(next(self._it))
        except StopIteration:
            if self.then == "lost":
                raise DeviceLostError("keyboard", "scripted key stream exhausted") from None
            return frozenset()

    def close(self) -> None:
        pass


class PygameKeyboardSource:
    """Keys held in a small pygame window, which must have focus. Needs a display."""

    def __init__(self, size_px: tuple[int, int] = (384, 256)) -> None:
        self.size_px = size_px
        self._pg: Any = None
        self._screen: Any = None
        self._codes: dict[str, int] = {}

    def open(self) -> None:
        pg = import_pygame("keyboard")
        import os

        if os.environ.get("SDL_VIDEODRIVER") == "dummy" or not has_display():
            raise DeviceUnavailableError(
                "keyboard",
                "no display for the pygame window that captures keys (the dummy video "
                "driver delivers no key presses)",
                "run it from a desktop session (DISPLAY or WAYLAND_DISPLAY set), or "
                "headless with a scripted key stream (--keys FILE)",
            )
        pg.display.init()
        self._screen = pg.display.set_mode(self.size_px)
        pg.display.set_caption("robot_rl teleop: keep this window focused")
        self._codes = {k: pg.key.key_code(k) for k in ALL_KEYS}
        self._pg = pg

    def held(self) -> frozenset[str]:
        pg = self._pg
        if pg is None:
            raise DeviceLostError("keyboard", "not open")
        for ev in pg.event.get():
            if ev.type == pg.QUIT:
                self.close()
                raise DeviceLostError("keyboard", "teleop window closed")
        pressed = pg.key.get_pressed()
        return frozenset(k for k, code in self._codes.items() if pressed[code])

    def show(self, image: np.ndarray) -> None:
        """Draw an (H, W, 3) uint8 camera frame in the window, scaled to fit."""
        pg = self._pg
        if pg is None:
            return
        surf = pg.surfarray.make_surface(np.ascontiguousarray(image.swapaxes(0, 1)))
        self._screen.blit(pg.transform.scale(surf, self.size_px), (0, 0))
        pg.display.flip()

    def close(self) -> None:
        if self._pg is not None:
            self._pg.display.quit()
        self._pg = None
