"""Writing RealSense recordings without hardware (pyrealsense2 software device + recorder).

    write_recording("front.db3", frames, fps=30, serial="000000000001")

The file plays back through `RealSenseCamera(RealSenseConfig(playback_path=...))` like a
live device with that serial. pyrealsense2 2.59 writes rosbag2 sqlite files, so the path
must end in ``.db3``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from robot_rl.cameras.base import CameraError, Intrinsics
from robot_rl.cameras.realsense import import_rs


def write_recording(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: int,
    intrinsics: Intrinsics,
    serial: str = "000000000000",
) -> int:
    """Record uint8 (H, W, 3) RGB ``frames`` as a colour stream; returns the frame count.

    Blocks until every frame went through the recorder (bounded per frame, 1 s)."""
    rs = import_rs()
    path = Path(path)
    if path.suffix != ".db3":
        raise CameraError(f"pyrealsense2 records rosbag2 sqlite files: {path} must end in .db3")
    path.unlink(missing_ok=True)
    w, h = intrinsics.width, intrinsics.height
    device = rs.software_device()
    device.register_info(rs.camera_info.serial_number, serial)
    device.register_info(rs.camera_info.name, "robot_rl software camera")
    sensor = device.add_sensor("RGB Camera")
    intr = rs.intrinsics()
    intr.width, intr.height = w, h
    intr.fx, intr.fy, intr.ppx, intr.ppy = (
        intrinsics.fx,
        intrinsics.fy,
        intrinsics.cx,
        intrinsics.cy,
    )
    intr.model = rs.distortion.brown_conrady
    intr.coeffs = list(intrinsics.coeffs)
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = rs.stream.color, 0, 0
    stream.width, stream.height, stream.fps, stream.bpp = w, h, fps, 3
    stream.fmt, stream.intrinsics = rs.format.rgb8, intr
    profile = sensor.add_video_stream(stream).as_video_stream_profile()
    recorder = rs.recorder(str(path), device)
    queue = rs.frame_queue(4)
    sensor.open(profile)
    sensor.start(queue)
    count = 0
    try:
        for i, rgb in enumerate(frames):
            img = np.ascontiguousarray(rgb, dtype=np.uint8)
            if img.shape != (h, w, 3):
                raise CameraError(f"frame {i} has shape {img.shape}, expected {(h, w, 3)}")
            frame = rs.software_video_frame()
            frame.pixels, frame.bpp, frame.stride = img, 3, 3 * w
            frame.timestamp = i * 1000.0 / fps
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.frame_number = i
            frame.profile = profile
            sensor.on_video_frame(frame)
            queue.wait_for_frame(1000)  # the recorder has written it once it comes out
            count += 1
    finally:
        sensor.stop()
        sensor.close()
        del recorder  # flushes and closes the file
    return count
