"""Cyclone DDS backend: joins a ROS 2 graph without ROS installed.

`DdsBus` lives in ``robot_rl.bus.dds.bus`` (importing it loads the Cyclone library);
this package itself only exposes the config, so configs can be built cheaply.
"""

from __future__ import annotations

from robot_rl.bus.dds.config import DdsConfig

__all__ = ["DdsConfig"]
