"""mp4 video through PyAV: an appending writer, a time-range reader and PSNR.

Frames are uint8 (H, W, 3) RGB. The writer encodes H.264 (libx264) in yuv420p, which
needs even width and height; ``crf`` trades size for fidelity (0 is lossless in luma,
chroma is still subsampled), and a short GOP (``gop`` frames) keeps seeking cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np


class VideoWriter:
    """Appends frames to a new mp4 at ``fps`` frames per second; frame k is at k / fps s."""

    def __init__(
        self, path: str | Path, fps: int, width: int, height: int, crf: int = 18, gop: int = 2
    ) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"yuv420p video needs even sizes, got {width}x{height}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._container: Any = av.open(str(path), "w")
        stream: Any = self._container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "g": str(gop)}
        self._stream, self._fps = stream, fps
        self.frames = 0

    def add(self, rgb: np.ndarray) -> None:
        """Encode one frame (blocks on the encoder)."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames  # in the codec's time base, 1 / fps
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> dict[str, Any]:
        """Flush and close; returns the stream facts LeRobot's info.json lists."""
        for packet in self._stream.encode():
            self._container.mux(packet)
        s = self._stream
        info = {
            "video.height": s.height,
            "video.width": s.width,
            "video.codec": s.codec_context.codec.canonical_name,
            "video.pix_fmt": s.pix_fmt,
            "video.is_depth_map": False,
            "video.fps": self._fps,
            "video.channels": 3,
            "has_audio": False,
        }
        self._container.close()
        return info


def read_frames(path: str | Path, start_s: float, stop_s: float, fps: float) -> np.ndarray:
    """Frames of ``path`` whose time lies in [start_s, stop_s), as (N, H, W, 3) uint8.
    Seeks to the key frame before ``start_s`` and decodes forward."""
    half = 0.5 / fps
    out: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        container.seek(int(max(0.0, start_s - half) / tb), stream=stream, backward=True)
        for frame in container.decode(stream):
            t = float(frame.pts * tb) if frame.pts is not None else float(frame.time or 0.0)
            if t < start_s - half:
                continue
            if t >= stop_s - half:
                break
            out.append(frame.to_ndarray(format="rgb24"))
    if not out:
        return np.zeros((0, 0, 0, 3), np.uint8)
    return np.stack(out)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 arrays, dB (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
