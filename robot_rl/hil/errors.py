"""Errors raised by teleop devices. Each names the device and what the user must do."""

from __future__ import annotations


class TeleopError(RuntimeError):
    """Base class of teleop device errors."""


class DeviceUnavailableError(TeleopError):
    """A device could not be opened. The message names the device, why, and the fix
    (the Python extra, the system package or the udev rule it needs)."""

    def __init__(self, device: str, reason: str, fix: str) -> None:
        self.device, self.reason, self.fix = device, reason, fix
        super().__init__(f"teleop device {device!r} is not available: {reason}. Fix: {fix}")


class DeviceLostError(TeleopError):
    """An open device stopped answering (unplugged, window closed, script exhausted)."""

    def __init__(self, device: str, reason: str) -> None:
        self.device, self.reason = device, reason
        super().__init__(f"teleop device {device!r} lost: {reason}")
