"""Teleop device backends (SpaceMouse, gamepad, keyboard, browser page) behind one interface."""

from __future__ import annotations

# The browser page is a device too; robot_rl/gui/__init__.py explains the import order.
from robot_rl.gui.device import BrowserDevice
from robot_rl.hil.devices.base import DeviceSample, TeleopDevice
from robot_rl.hil.devices.gamepad import Gamepad, GamepadConfig
from robot_rl.hil.devices.keyboard import Keyboard, KeyboardConfig
from robot_rl.hil.devices.spacemouse import SpaceMouse, SpaceMouseConfig

DEVICES: dict[str, type[TeleopDevice]] = {
    c.name: c for c in (SpaceMouse, Gamepad, Keyboard, BrowserDevice)
}


def make_device(name: str) -> TeleopDevice:
    """A device backend on its real input source (not opened yet); KeyError lists names."""
    if name not in DEVICES:
        raise KeyError(f"unknown teleop device {name!r}; known: {sorted(DEVICES)}")
    return DEVICES[name]()


__all__ = [
    "DEVICES",
    "BrowserDevice",
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
