"""camera: a RealSense (or a recording of one) as Image + CameraInfo topics.

Publishes ``<camera_namespace>/<name>/image_raw`` (rgb8, stamped with the frame's host
time) and ``camera_info`` for every frame, and ``/diagnostics`` (frames, drops,
disconnects, reconnects). A silent camera is reopened by serial (`RealSenseCamera.check`).
The official realsense2_camera driver can replace this node: the actor reads either.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from robot_rl.bus.api import Bus
from robot_rl.bus.msgs import CameraInfo, DiagnosticArray, Image, Time
from robot_rl.cameras.base import CameraError
from robot_rl.cameras.realsense import RealSenseCamera, RealSenseConfig
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.convert import camera_info_msg, image_to_msg
from robot_rl.nodes.qos import CAMERA_INFO, EVENTS, IMAGES

_log = logging.getLogger(__name__)


@dataclass
class CameraNodeConfig:
    """Parameters of the camera node."""

    name: str = "front"  # camera name: topics <camera_namespace>/<name>/...
    camera_namespace: str = "cameras"
    frame_id: str = ""  # optical frame of the images; "" = "<name>_optical_frame"
    device: RealSenseConfig = field(default_factory=RealSenseConfig)
    poll_period_s: float = 0.005  # wall s between reads of the driver queue
    publish_all: bool = True  # every queued frame in order; False: only the newest per read
    diagnostics_period_s: float = 1.0  # wall s


class CameraNode:
    """Bus adapter of `RealSenseCamera`. Uses the wall clock (frames carry host time)."""

    def __init__(self, bus: Bus, cfg: CameraNodeConfig, name: str = "camera") -> None:
        self.bus, self.cfg, self.name = bus, cfg, name
        self.camera = RealSenseCamera(cfg.device)
        ns = f"{cfg.camera_namespace.rstrip('/')}/{cfg.name}"
        self._image = bus.publisher(f"{ns}/image_raw", Image, IMAGES)
        self._info = bus.publisher(f"{ns}/camera_info", CameraInfo, CAMERA_INFO)
        self._diag = bus.publisher("/diagnostics", DiagnosticArray, EVENTS)
        self.frame_id = cfg.frame_id or f"{cfg.name}_optical_frame"
        self.published = 0
        self.skipped = 0
        try:
            self.camera.open()
        except CameraError as exc:  # keep running: check() retries, diagnostics say why
            self.camera.last_error = str(exc)
            _log.error("camera %s: %s", cfg.name, exc)
        self._last_diag = time.monotonic()
        bus.timer(cfg.poll_period_s, self._on_timer)

    def _on_timer(self) -> None:
        self.read()

    def poll(self) -> int:
        """Nothing outside the read timer."""
        return 0

    def read(self) -> int:
        """Publish what the driver queued; check the device's health. Returns the count."""
        frames = self.camera.read_new()
        if frames and not self.cfg.publish_all:
            self.skipped += len(frames) - 1
            frames = frames[-1:]
        if frames:
            k = self.camera.intrinsics()
            for frame in frames:
                stamp = Time.from_ns(frame.stamp_ns)
                self._image.publish(image_to_msg(frame.image, stamp, self.frame_id))
                self._info.publish(
                    camera_info_msg(
                        k.width,
                        k.height,
                        (k.fx, k.fy, k.cx, k.cy),
                        stamp,
                        self.frame_id,
                        k.coeffs,
                        k.distortion_model,
                    )
                )
            self.published += len(frames)
        self.camera.check()
        now = time.monotonic()
        if now - self._last_diag >= self.cfg.diagnostics_period_s:
            self.publish_diagnostics()
            self._last_diag = now
        return len(frames)

    def publish_diagnostics(self) -> None:
        """Send the camera's status now."""
        c = self.camera
        values = {
            "published": self.published,
            "skipped": self.skipped,
            "received": c.received,
            "dropped": c.dropped,
            "disconnects": c.disconnects,
            "reconnects": c.reconnects,
            "last_error": c.last_error,
        }
        level = diag.OK if c.connected else diag.ERROR
        message = "streaming" if c.connected else f"disconnected: {c.last_error}"
        status = diag.status(self.name, level, message, values, c.name)
        self._diag.publish(diag.diagnostic_array(self.bus.now(), status))

    def close(self) -> None:
        """Stop the device."""
        self.camera.close()
