"""Teleop node logic: publish a device's commands on the bus; keep the latest for an actor.

Bus-backend independent (inproc, DDS or rclpy). The node reads the device on a bus
timer, stamps with the bus clock and publishes `TeleopCommand` with sensor-data QoS. When
the device is lost it publishes one ERROR status on ``/diagnostics`` and stops; the
commands then go stale and every arbiter listening hands control back to its policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from robot_rl.bus.api import Bus
from robot_rl.bus.msgs.diagnostic_msgs import DiagnosticArray, DiagnosticStatus
from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.bus.msgs.std_msgs import Header
from robot_rl.bus.qos import SENSOR_DATA
from robot_rl.hil.devices.base import TeleopDevice
from robot_rl.hil.errors import DeviceLostError

log = logging.getLogger(__name__)


@dataclass
class TeleopNodeConfig:
    """Topics and rate of the teleop node."""

    # Topic the commands are published on.
    topic: str = "teleop/command"
    # Device read and publish rate (Hz); several samples per 10 Hz policy step.
    rate_hz: float = 50.0
    # Where a lost device is reported.
    diagnostics_topic: str = "/diagnostics"


class TeleopNode:
    """Publishes ``device`` (already open) at ``cfg.rate_hz`` while the bus spins."""

    def __init__(self, bus: Bus, device: TeleopDevice, cfg: TeleopNodeConfig | None = None):
        self.cfg = cfg if cfg is not None else TeleopNodeConfig()
        if self.cfg.rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        self.bus, self.device = bus, device
        self.pub = bus.publisher(self.cfg.topic, TeleopCommand, SENSOR_DATA)
        self.diag = bus.publisher(self.cfg.diagnostics_topic, DiagnosticArray)
        self.timer = bus.timer(1.0 / self.cfg.rate_hz, self._on_timer)
        self.lost = ""
        self.published = 0
        # Called with each published command (e.g. to print it while checking axes).
        self.on_command: Callable[[TeleopCommand], None] | None = None

    def _on_timer(self) -> None:
        self.tick()

    def tick(self) -> TeleopCommand | None:
        """Read and publish one command (the timer calls this); None once lost."""
        if self.lost:
            return None
        now = self.bus.now()
        try:
            cmd = self.device.read(now.to_s())
        except DeviceLostError as e:
            self.lost = str(e)
            self.timer.cancel()
            log.error("%s; teleop commands stop, arbiters hand back to the policy", e)
            status = DiagnosticStatus(
                level=DiagnosticStatus.ERROR,
                name=f"teleop/{self.device.name}",
                message=f"{e}; commands stopped, arbiters hand back to the policy",
                hardware_id=self.device.name,
            )
            self.diag.publish(DiagnosticArray(header=Header(stamp=now), status=[status]))
            return None
        self.pub.publish(cmd)
        self.published += 1
        if self.on_command is not None:
            self.on_command(cmd)
        return cmd

    def close(self) -> None:
        """Stop publishing and close the device."""
        self.timer.cancel()
        self.device.close()


class TeleopListener:
    """The actor side: remembers the latest command on ``topic`` for `Arbiter.step`
    (which judges its age from the stamp)."""

    def __init__(self, bus: Bus, topic: str = "teleop/command") -> None:
        self.latest: TeleopCommand | None = None
        self.received = 0
        self.sub = bus.subscribe(topic, TeleopCommand, self._on_command, SENSOR_DATA)

    def _on_command(self, msg: TeleopCommand) -> None:
        self.latest = msg
        self.received += 1

    def close(self) -> None:
        """Stop listening."""
        self.sub.close()
