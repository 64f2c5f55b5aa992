"""Teleop device ``browser``: the operator's cockpit page, served by this process.

`BrowserDevice.open` starts the web server (docs/gui.md) and prints the page's address.
The page that holds control streams the operator's controls at about 30 Hz; `sample`
returns its last valid state, and no motion and no buttons while nobody controls or the
controlling page has been silent for ``GuiConfig.timeout_s`` (tab closed, hidden,
reloaded, network lost): the intervention ends, the arbiter hands back to the policy, a
WARN goes to ``/diagnostics``, and the server keeps running for the page to come back.

What the page shows and where its commands go are `CockpitSources`: by default the bus
(`attach_bus`: cameras, episode events, rewards, actions, diagnostics, metrics.csv; the
commands go out as bus messages). An in-process job passes its own ``sources``.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable

import numpy as np

from robot_rl.bus.api import Bus, Publisher, Subscription
from robot_rl.bus.msgs import DiagnosticArray
from robot_rl.gui.commands import BusCommandSink
from robot_rl.gui.config import GuiConfig, is_loopback
from robot_rl.gui.feeds import BusCell, FrameStore, attach_feeds
from robot_rl.gui.link import DEVICE, BrowserLink
from robot_rl.gui.server import GuiServer
from robot_rl.gui.sources import CockpitSources, OperatorCommand
from robot_rl.hil.devices.base import DeviceSample, TeleopDevice
from robot_rl.hil.errors import DeviceUnavailableError
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.qos import EVENTS


class _Viewer:
    """``record-demos`` shows the env's first camera through ``device.source.show``."""

    def __init__(self, frames: FrameStore, camera: str) -> None:
        self.frames, self.camera = frames, camera

    def show(self, image: np.ndarray) -> None:
        self.frames.put(self.camera, image, time.time_ns())


class _BusSinkSlot:
    """The command sink until a bus is attached: refuses (the page is told), then forwards
    to the bus's `BusCommandSink`."""

    def __init__(self) -> None:
        self.target: BusCommandSink | None = None

    def send(self, cmd: OperatorCommand) -> None:
        if self.target is None:
            raise RuntimeError("no bus attached: nothing would obey this command")
        self.target.send(cmd)


class BrowserDevice(TeleopDevice):
    """The cockpit page as a teleop device. ``clock`` (monotonic seconds) times silence;
    ``sources`` replaces the bus feeds (an in-process training job)."""

    name = "browser"

    def __init__(
        self,
        cfg: GuiConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        sources: CockpitSources | None = None,
    ) -> None:
        super().__init__()
        self.cfg = cfg if cfg is not None else GuiConfig()
        self.link = BrowserLink(self.cfg.timeout_s, clock)
        self.frames = FrameStore(self.cfg.jpeg_quality)
        self.cell = BusCell(self.cfg)
        self._sink = _BusSinkSlot()
        self.sources = sources or CockpitSources(self.cell, self.frames, self.cell, self._sink)
        self.source = _Viewer(self.frames, self.cfg.cameras[0] if self.cfg.cameras else "view")
        self.server: GuiServer | None = None
        self.token = ""
        self._subs: list[Subscription] = []
        self._diag: Publisher[DiagnosticArray] | None = None
        self._bus: Bus | None = None

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
            self.server = GuiServer(self.cfg, self.link, self.sources, self.token)
        except OSError as e:
            raise DeviceUnavailableError(
                DEVICE,
                f"cannot serve on {self.cfg.host}:{self.cfg.port} ({e})",
                "choose a free port (robot-rl gui --port N) or stop the other server",
            ) from e
        self.link.start()
        self.server.start()
        where = " (or this machine's address)" if self.cfg.host in ("0.0.0.0", "::", "") else ""
        print(f"robot_rl cockpit: open {self.url}{where} in a browser", file=sys.stderr, flush=True)

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
        """Show what ``bus`` carries, send the page's commands onto it, and report each
        lapse of the controlling page on ``/diagnostics``."""
        self._bus = bus
        self._subs.extend(attach_feeds(bus, self.cfg, self.frames, self.cell))
        self._sink.target = BusCommandSink(bus, self.cfg)
        if self.cfg.diagnostics_topic:
            self._diag = bus.publisher(self.cfg.diagnostics_topic, DiagnosticArray, EVENTS)

    def sample(self) -> DeviceSample:
        s = self.link.sample()
        for reason in self.link.take_lapses():
            if self._diag is not None and self._bus is not None:
                status = diag.status("gui", diag.WARN, reason, {"lapses": self.link.lapses})
                self._diag.publish(diag.diagnostic_array(self._bus.now(), status))
        return s

    def close(self) -> None:
        self.link.stop()
        for sub in self._subs:
            sub.close()
        self._subs = []
        if self._sink.target is not None:
            self._sink.target.close()
            self._sink.target = None
        if self.server is not None:
            self.server.stop()
            self.server = None
