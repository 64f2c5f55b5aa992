"""Settings of the teleop intervention GUI (`robot-rl gui`, device ``browser``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

# Shortest token accepted off loopback (a generated one has 22 characters).
MIN_TOKEN_CHARS = 16


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
    # Executed actions; their ``intervened`` flag gives the intervention curve ("" = none).
    action_topic: str = "action"
    # Diagnostics shown as they arrive; the bridge's e-stop state and the learner's
    # counters are read from them ("" = none).
    diagnostics_topic: str = "/diagnostics"
    # Where the page's episode controls go (EpisodeEvent requests, docs/gui.md).
    episode_control_topic: str = "episode_control"
    # Where the page's stop and re-arm go (std_msgs/String, docs/interfaces.md).
    estop_topic: str = "estop"
    # Run folder whose metrics.csv gives the learning curves ("" = none).
    run_dir: str = ""
    # Name of the run shown in the page ("" = the run folder's name, or "bus").
    run_name: str = ""
    # Period (ms) of the status pushed to every page.
    push_period_ms: int = 50
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
        if self.token and len(self.token) < MIN_TOKEN_CHARS and not is_loopback(self.host):
            raise ValueError(
                f"token must be at least {MIN_TOKEN_CHARS} characters off loopback "
                "(leave it empty to get a random one)"
            )
        if not 10 <= self.push_period_ms <= 1000:
            raise ValueError("push_period_ms must be in [10, 1000]")
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
