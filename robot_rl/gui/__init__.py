"""Teleop intervention GUI: a web page served by the ``browser`` teleop device.

The device registry (robot_rl.hil.devices) imports `BrowserDevice` from here. Importing
the registry first settles that cycle whichever of the two packages is imported first.
"""

from __future__ import annotations

import robot_rl.hil.devices  # noqa: F401  (see the docstring: import order)
