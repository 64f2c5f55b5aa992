"""Settings of the teleop intervention GUI (`robot-rl gui`, device ``browser``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


def is_loopback(host: str) -> bool:
    """True for a loopback address or ``localhost`` (where no token is needed)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class GuiConfig:
    """Where the page is served, how long the browser may stay silent, what it shows."""

    # Address to bind. Loopback by default; any other address requires ``token``.
    host: str = "127.0.0.1"
    # TCP port; 0 picks a free one (tests).
    port: int = 8765
    # Access token; required (and generated when empty) unless ``host`` is loopback.
    token: str = ""
    # Silence (s) after which a connected page counts as gone: `sample` raises DeviceLostError.
    timeout_s: float = 0.5
    # Camera names shown; images come from <camera_namespace>/<name>/image_raw.
    cameras: tuple[str, ...] = ("front", "wrist")
    # Namespace of the camera topics.
    camera_namespace: str = "cameras"
    # Episode events shown as the episode status ("" = none).
    episode_events_topic: str = "episode_events"
    # Reward estimates shown next to it ("" = none).
    reward_topic: str = "reward"
    # JPEG quality (1-100) of the camera views.
    jpeg_quality: int = 80
    # Period (ms) at which the page sends its state; at most 50 (>= 20 Hz).
    send_period_ms: int = 33
    # How long (ms) the page holds a momentary button (success, reset, ...) after a click,
    # so a 10 Hz reader cannot miss it.
    pulse_ms: int = 300
    # Extra Host header names accepted besides the bind address and loopback names.
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is out of range")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError("jpeg_quality must be in [1, 100]")
        if not 5 <= self.send_period_ms <= 50:
            raise ValueError("send_period_ms must be in [5, 50] (the page must send >= 20 Hz)")
        if self.send_period_ms * 1e-3 * 3 > self.timeout_s:
            raise ValueError("timeout_s must cover at least three send periods")
