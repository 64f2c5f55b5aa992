"""Teleop device backends (SpaceMouse, gamepad, keyboard) behind one interface."""

from __future__ import annotations

from robot_rl.hil.devices.base import DeviceSample, TeleopDevice
from robot_rl.hil.devices.gamepad import Gamepad, GamepadConfig
from robot_rl.hil.devices.keyboard import Keyboard, KeyboardConfig
from robot_rl.hil.devices.spacemouse import SpaceMouse, SpaceMouseConfig

DEVICES: dict[str, type[TeleopDevice]] = {c.name: c for c in (SpaceMouse, Gamepad, Keyboard)}


def make_device(name: str) -> TeleopDevice:
    """A device backend on its real input source (not opened yet); KeyError lists names."""
    if name not in DEVICES:
        raise KeyError(f"unknown teleop device {name!r}; known: {sorted(DEVICES)}")
    return DEVICES[name]()


__all__ = [
    "DEVICES",
    "DeviceSample",
    "Gamepad",
    "GamepadConfig",
    "Keyboard",
    "KeyboardConfig",
    "SpaceMouse",
    "SpaceMouseConfig",
    "TeleopDevice",
    "make_device",
]
