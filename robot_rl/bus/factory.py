"""Choosing a backend from a config: the only place that names all three."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from robot_rl.bus.api import Bus
from robot_rl.bus.clock import Clock
from robot_rl.bus.dds.config import DdsConfig
from robot_rl.bus.inproc import InprocConfig
from robot_rl.bus.ros2 import Ros2Config

Backend = Literal["inproc", "dds", "ros2"]


@dataclass
class BusConfig:
    """Which backend a node uses, and that backend's settings."""

    backend: Backend = "inproc"  # "inproc": tests and fast twin training; "dds"; "ros2"
    inproc: InprocConfig = field(default_factory=InprocConfig)
    dds: DdsConfig = field(default_factory=DdsConfig)
    ros2: Ros2Config = field(default_factory=Ros2Config)


def make_bus(config: BusConfig | None = None, clock: Clock | None = None) -> Bus:
    """Create the configured bus. ``clock`` is used by the inproc backend only (the others
    take time from the wall clock, or from ``/clock`` with ``use_sim_time``).

    Raises `BackendUnavailableError` for ``"ros2"`` without rclpy, ValueError for an
    unknown backend name.
    """
    config = config if config is not None else BusConfig()
    if config.backend == "inproc":
        from robot_rl.bus.inproc import InprocBus

        return InprocBus(config.inproc, clock)
    if config.backend == "dds":
        from robot_rl.bus.dds.bus import DdsBus

        return DdsBus(config.dds)
    if config.backend == "ros2":
        from robot_rl.bus.ros2 import Ros2Bus

        return Ros2Bus(config.ros2)
    raise ValueError(f"unknown bus backend {config.backend!r} (inproc, dds or ros2)")
