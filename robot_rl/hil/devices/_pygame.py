"""Importing and starting pygame for the gamepad and keyboard backends."""

from __future__ import annotations

import os
from typing import Any

from robot_rl.hil.errors import DeviceUnavailableError


def import_pygame(device: str) -> Any:
    """pygame, imported quietly; `DeviceUnavailableError` naming ``device`` if missing."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as e:
        raise DeviceUnavailableError(
            device, f"cannot import pygame ({e})", "pip install 'robot_rl[teleop]'"
        ) from e
    return pygame


def has_display() -> bool:
    """A desktop session SDL can open a window on."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
