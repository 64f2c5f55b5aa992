"""Intel RealSense colour camera via pyrealsense2, live or played back from a recording.

    cam = RealSenseCamera(RealSenseConfig(serial="123456789012", width=640, height=480))
    cam.open()
    frames = cam.read_new()      # stamped copies, oldest first; never blocks
    cam.check()                  # call periodically: detects an unplug and reconnects

The sensor API is used (not ``rs.pipeline``) so that a live device and a recording follow
the same path. Frames arrive on librealsense's thread and are copied into a bounded queue;
nothing of the bus runs there. When no frame comes for ``reconnect_timeout_s`` the camera
counts a disconnect, closes the device and tries to reopen it (by serial) every
``reconnect_period_s``; a recording that reached its end behaves the same way, which is
how the reconnection logic is tested without hardware.
"""

from __future__ import annotations

import collections
import importlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from robot_rl.cameras.base import CameraError, Frame, Intrinsics

_log = logging.getLogger(__name__)
_MISSING = (
    "the RealSense driver needs pyrealsense2 (pip install 'robot_rl[realsense]') and, on "
    "Debian/Ubuntu, the libusb-1.0-0 package"
)


def import_rs() -> Any:
    """pyrealsense2, or `CameraError` saying how to get it."""
    try:
        return importlib.import_module("pyrealsense2")
    except ImportError as exc:
        raise CameraError(f"{_MISSING} (import failed: {exc})") from exc


@dataclass
class RealSenseConfig:
    """Which RealSense to open and how."""

    serial: str = ""  # serial number; "" = the only connected device (error if several)
    width: int = 640  # colour stream resolution (pixels)
    height: int = 480
    fps: int = 30  # frames per second
    exposure_us: float = 0.0  # manual exposure (microseconds); 0 = auto exposure
    playback_path: str = ""  # a recording (.db3/.bag) to play instead of a live device
    playback_realtime: bool = False  # pace playback by its stamps; False: as fast as read
    queue_size: int = 8  # frames kept between reads; a live camera drops the oldest
    stamp_source: Literal["host", "device"] = "host"  # "device": global-time stamps if any
    reconnect_timeout_s: float = 1.0  # no frame for this long (wall s) = disconnected
    reconnect_period_s: float = 1.0  # wall s between reopen attempts


_DISTORTION = {  # librealsense model name -> ROS distortion_model
    "none": "plumb_bob",
    "brown_conrady": "plumb_bob",
    "modified_brown_conrady": "plumb_bob",
    "inverse_brown_conrady": "plumb_bob",
    "kannala_brandt4": "equidistant",
}


class RealSenseCamera:
    """See the module docstring. Not thread-safe beyond the driver callback."""

    def __init__(self, cfg: RealSenseConfig) -> None:
        self.cfg = cfg
        self._rs: Any = None
        self._device: Any = None
        self._sensor: Any = None
        self._intrinsics: Intrinsics | None = None
        self._frames: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self.connected = False
        self.received = 0  # frames delivered by the driver
        self.dropped = 0  # frames dropped because the queue was full
        self.disconnects = 0
        self.reconnects = 0
        self.last_error = ""
        self._last_frame_wall = 0.0
        self._last_attempt_wall = 0.0

    @property
    def name(self) -> str:
        """Serial or recording, for messages."""
        return self.cfg.serial or self.cfg.playback_path or "(first device)"

    # ------------------------------------------------------------------ open / close
    @property
    def _pacing_by_consumer(self) -> bool:
        # Non-real-time playback waits for the callback: blocking there paces the file
        # by the reader, so no recorded frame is dropped.
        return bool(self.cfg.playback_path) and not self.cfg.playback_realtime

    def _find_device(self, rs: Any) -> Any:
        ctx = rs.context()
        if self.cfg.playback_path:
            try:
                device = ctx.load_device(self.cfg.playback_path)
            except RuntimeError as exc:
                raise CameraError(f"cannot play {self.cfg.playback_path!r}: {exc}") from exc
            device.as_playback().set_real_time(self.cfg.playback_realtime)
            recorded = device.get_info(rs.camera_info.serial_number)
            if self.cfg.serial and recorded != self.cfg.serial:
                raise CameraError(
                    f"{self.cfg.playback_path!r} was recorded from serial {recorded!r}, "
                    f"not {self.cfg.serial!r}"
                )
            return device
        devices = list(ctx.query_devices())
        serials = [d.get_info(rs.camera_info.serial_number) for d in devices]
        if not devices:
            raise CameraError("no RealSense device connected")
        if not self.cfg.serial:
            if len(devices) > 1:
                raise CameraError(f"several RealSense devices {serials}: set the serial")
            return devices[0]
        for device, serial in zip(devices, serials, strict=True):
            if serial == self.cfg.serial:
                return device
        raise CameraError(f"no RealSense with serial {self.cfg.serial!r}; connected: {serials}")

    def _color_profile(self, rs: Any, device: Any) -> tuple[Any, Any]:
        available: list[str] = []
        for sensor in device.sensors:
            for profile in sensor.get_stream_profiles():
                if (
                    profile.stream_type() != rs.stream.color
                    or not profile.is_video_stream_profile()
                ):
                    continue
                vp = profile.as_video_stream_profile()
                available.append(f"{vp.width()}x{vp.height()}@{vp.fps()} {vp.format()}")
                if (
                    vp.width() == self.cfg.width
                    and vp.height() == self.cfg.height
                    and vp.fps() == self.cfg.fps
                    and vp.format() == rs.format.rgb8
                ):
                    return sensor, vp
        c = self.cfg
        raise CameraError(
            f"no rgb8 colour stream {c.width}x{c.height}@{c.fps}; available: {available}"
        )

    def _set_exposure(self, rs: Any, sensor: Any) -> None:
        if self.cfg.playback_path:
            return  # a recording has no exposure to set
        if self.cfg.exposure_us > 0:
            if not sensor.supports(rs.option.exposure):
                raise CameraError("this colour sensor has no manual exposure")
            sensor.set_option(rs.option.enable_auto_exposure, 0)
            sensor.set_option(rs.option.exposure, float(self.cfg.exposure_us))
        elif sensor.supports(rs.option.enable_auto_exposure):
            sensor.set_option(rs.option.enable_auto_exposure, 1)

    def open(self) -> None:
        """Find the device (or recording), configure the colour stream and start it."""
        rs = self._rs = self._rs or import_rs()
        device = self._find_device(rs)
        sensor, profile = self._color_profile(rs, device)
        self._set_exposure(rs, sensor)
        intr = profile.get_intrinsics()
        model = str(intr.model).split(".")[-1]
        self._intrinsics = Intrinsics(
            int(intr.width),
            int(intr.height),
            float(intr.fx),
            float(intr.fy),
            float(intr.ppx),
            float(intr.ppy),
            _DISTORTION.get(model, "plumb_bob"),
            tuple(float(v) for v in intr.coeffs),
        )
        self._closing = False
        sensor.open(profile)
        sensor.start(self._on_frame)
        self._device, self._sensor = device, sensor
        self.connected = True
        self._last_frame_wall = time.monotonic()

    def close(self) -> None:
        """Stop and release the device (errors of an unplugged device are ignored)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        sensor, self._sensor, self._device = self._sensor, None, None
        if sensor is not None:
            for call in (sensor.stop, sensor.close):
                try:
                    call()
                except RuntimeError as exc:  # already gone
                    self.last_error = str(exc)
        self.connected = False

    # ------------------------------------------------------------------ frames
    def _stamp_ns(self, frame: Any) -> int:
        if self.cfg.stamp_source == "device":
            rs = self._rs
            if frame.get_frame_timestamp_domain() == rs.timestamp_domain.global_time:
                return round(frame.get_timestamp() * 1e6)  # ms on the host-synced clock
        return time.time_ns()

    def _on_frame(self, frame: Any) -> None:
        """librealsense's thread: copy the pixels out and queue them."""
        image = np.array(np.asanyarray(frame.get_data()), dtype=np.uint8, copy=True)
        item = Frame(
            image.reshape(image.shape[0], image.shape[1], 3),
            self._stamp_ns(frame),
            int(frame.get_frame_number()),
        )
        with self._cond:
            if self._pacing_by_consumer:
                while len(self._frames) >= self.cfg.queue_size and not self._closing:
                    self._cond.wait(0.05)
                if self._closing:
                    return
            elif len(self._frames) >= self.cfg.queue_size:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(item)
            self.received += 1
            self._last_frame_wall = time.monotonic()

    def read_new(self) -> list[Frame]:
        """Frames since the last call, oldest first."""
        with self._cond:
            frames = list(self._frames)
            self._frames.clear()
            self._cond.notify_all()
        return frames

    def read_latest(self, max_age_ms: float) -> Frame | None:
        """The newest frame if fresh enough; older queued frames are discarded."""
        frames = self.read_new()
        if not frames:
            return None
        newest = frames[-1]
        age_ms = (time.time_ns() - newest.stamp_ns) * 1e-6
        return newest if age_ms <= max_age_ms else None

    def intrinsics(self) -> Intrinsics:
        """Intrinsics of the open stream."""
        if self._intrinsics is None:
            raise CameraError("camera not open")
        return self._intrinsics

    # ------------------------------------------------------------------ health
    def check(self) -> None:
        """Detect silence (unplug, end of a recording) and try to reopen when due."""
        now = time.monotonic()
        if self.connected:
            with self._cond:
                silent = now - self._last_frame_wall
            if silent >= self.cfg.reconnect_timeout_s:
                self.disconnects += 1
                self.last_error = f"no frame for {silent:.1f} s"
                _log.warning("realsense %s: %s, reconnecting", self.name, self.last_error)
                self.close()
                self._last_attempt_wall = 0.0
            return
        if now - self._last_attempt_wall < self.cfg.reconnect_period_s:
            return
        self._last_attempt_wall = now
        try:
            self.open()
        except CameraError as exc:
            self.last_error = str(exc)
            return
        self.reconnects += 1
