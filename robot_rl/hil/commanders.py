"""Sources of one teleop command per policy step: a device, or the simulated operator."""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.devices.base import TeleopDevice
from robot_rl.hil.errors import DeviceLostError

log = logging.getLogger(__name__)


class Commander(Protocol):
    """Gives the command for this step (or None when there is none)."""

    def reset(self) -> None:
        """Start of an episode."""
        ...

    def command(self, policy_action: np.ndarray, now_s: float) -> TeleopCommand | None:
        """This step's command, stamped ``now_s`` (s)."""
        ...


class DeviceCommander:
    """Reads an open device once per step. Once the device is lost it returns None for
    good (the arbiter then hands back to the policy) and keeps the reason in ``lost``."""

    def __init__(self, device: TeleopDevice) -> None:
        self.device = device
        self.lost = ""

    def reset(self) -> None:
        """Nothing to reset: the device state carries over between episodes."""

    def command(self, policy_action: np.ndarray, now_s: float) -> TeleopCommand | None:
        if self.lost:
            return None
        try:
            return self.device.read(now_s)
        except DeviceLostError as e:
            self.lost = str(e)
            log.error("%s", e)
            return None
