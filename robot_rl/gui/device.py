"""Teleop device ``browser``: the intervention page, served by this process.

`BrowserDevice.open` starts the web server (docs/gui.md) and prints the page's address;
the page streams the operator's controls at about 30 Hz. `sample` returns the last valid
state and raises `DeviceLostError` once a connected page has been silent for
``GuiConfig.timeout_s`` (tab closed, hidden, network lost), so the teleop node stops and
every arbiter hands control back to its policy. Before a page connects it reports no
motion and no buttons.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable

import numpy as np

from robot_rl.bus.api import Bus, Subscription
from robot_rl.gui.config import GuiConfig, is_loopback
from robot_rl.gui.feeds import EpisodeStatus, FrameStore, attach_feeds
from robot_rl.gui.link import DEVICE, BrowserLink
from robot_rl.gui.server import GuiServer
from robot_rl.hil.devices.base import DeviceSample, TeleopDevice
from robot_rl.hil.errors import DeviceUnavailableError


class _Viewer:
    """``record-demos`` shows the env's first camera through ``device.source.show``."""

    def __init__(self, frames: FrameStore, camera: str) -> None:
        self.frames, self.camera = frames, camera

    def show(self, image: np.ndarray) -> None:
        self.frames.put(self.camera, image, time.time_ns())


class BrowserDevice(TeleopDevice):
    """The browser page as a teleop device. ``clock`` (monotonic seconds) times silence."""

    name = "browser"

    def __init__(
        self, cfg: GuiConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.cfg = cfg if cfg is not None else GuiConfig()
        self.link = BrowserLink(self.cfg.timeout_s, clock)
        self.frames = FrameStore(self.cfg.jpeg_quality)
        self.episode = EpisodeStatus()
        self.source = _Viewer(self.frames, self.cfg.cameras[0] if self.cfg.cameras else "view")
        self.server: GuiServer | None = None
        self.token = ""
        self._subs: list[Subscription] = []

    def open(self) -> None:
        """Start serving (returns at once). Raises `DeviceUnavailableError` when the
        address cannot be bound."""
        if self.server is not None:
            return
        self.token = self.cfg.token
        if not self.token and not is_loopback(self.cfg.host):
            # Off loopback anyone on the network could drive the arm: demand a token.
            self.token = secrets.token_urlsafe(16)
        try:
            self.server = GuiServer(self.cfg, self.link, self.frames, self.episode, self.token)
        except OSError as e:
            raise DeviceUnavailableError(
                DEVICE,
                f"cannot serve on {self.cfg.host}:{self.cfg.port} ({e})",
                "choose a free port (robot-rl gui --port N) or stop the other server",
            ) from e
        self.link.start()
        self.server.start()
        where = " (or this machine's address)" if self.cfg.host in ("0.0.0.0", "::", "") else ""
        print(
            f"robot_rl teleop GUI: open {self.url}{where} in a browser", file=sys.stderr, flush=True
        )

    @property
    def url(self) -> str:
        """The page's address (with the token when one is required)."""
        if self.server is None:
            return ""
        host = self.cfg.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        query = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.server.port}/{query}"

    def attach_bus(self, bus: Bus) -> None:
        """Show the camera images, episode events and reward estimates from ``bus``."""
        self._subs.extend(attach_feeds(bus, self.cfg, self.frames, self.episode))

    def sample(self) -> DeviceSample:
        return self.link.sample()

    def close(self) -> None:
        self.link.stop()
        for sub in self._subs:
            sub.close()
        self._subs = []
        if self.server is not None:
            self.server.stop()
            self.server = None
