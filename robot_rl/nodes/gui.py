"""gui: the operator's cockpit page as a node of the graph (the ``browser`` teleop device).

The same server and page as ``robot-rl gui`` (docs/gui.md): it shows the graph's cameras,
episode events, rewards, actions and diagnostics, and publishes the controlling page's
teleop commands on ``teleop_topic`` (`TeleopNode`, 50 Hz), which the training graphs'
actors listen to (``hil.teleop_topic``): holding the intervene key hands the arm to the
operator. Its episode controls go out on ``episode_control`` and its stop on ``estop``.

It binds loopback (127.0.0.1:8765) without a token by default; ``port: 0`` takes any free
port. Off loopback a token is required (one is generated when ``token`` is empty). The
address is printed to the node's log (``robot_rl cockpit: open http://...``).
"""

from __future__ import annotations

from dataclasses import dataclass

from robot_rl.bus.api import Bus
from robot_rl.gui.config import GuiConfig
from robot_rl.gui.device import BrowserDevice
from robot_rl.hil.teleop_node import TeleopNode, TeleopNodeConfig


@dataclass
class GuiNodeConfig(GuiConfig):
    """The page's settings (`GuiConfig`: bind address, port, token, cameras, topics shown)
    plus where its teleop commands go."""

    teleop_topic: str = "teleop/command"  # TeleopCommand out; the actors' hil.teleop_topic
    rate_hz: float = 50.0  # teleop command publish rate (Hz)


class GuiNode:
    """Serves the page (from construction until `close`) and publishes its commands; all
    work happens in bus timers and the server's own thread, so `poll` has none."""

    def __init__(self, bus: Bus, cfg: GuiNodeConfig, name: str = "gui") -> None:
        self.cfg, self.name = cfg, name
        self.device = BrowserDevice(cfg)
        self.device.open()  # DeviceUnavailableError names the port when it cannot bind
        self.device.attach_bus(bus)
        diagnostics = cfg.diagnostics_topic or "/diagnostics"  # a lost device is reported
        teleop = TeleopNodeConfig(cfg.teleop_topic, cfg.rate_hz, diagnostics)
        self.teleop = TeleopNode(bus, self.device, teleop)

    @property
    def url(self) -> str:
        """The page's address (with the token when one is required)."""
        return self.device.url

    def poll(self) -> int:
        return 0

    def close(self) -> None:
        """Stop publishing and serving."""
        self.teleop.close()  # closes the device, which stops the server
