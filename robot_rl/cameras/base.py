"""What every camera driver provides: stamped RGB frames, intrinsics, a health check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class CameraError(RuntimeError):
    """A camera that cannot be opened or configured; the message says why and what exists."""


@dataclass(frozen=True)
class Frame:
    """One colour frame."""

    image: np.ndarray  # uint8 (H, W, 3) RGB, owned by the frame (a copy of the driver's)
    stamp_ns: int  # host wall clock (CLOCK_REALTIME) of the frame, nanoseconds
    number: int  # the driver's frame counter


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole model at the streamed resolution (pixels)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion_model: str = "plumb_bob"
    coeffs: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)

    def scaled(self, width: int, height: int) -> Intrinsics:
        """The same camera after resizing its image to ``width`` x ``height`` (x and y
        independently, as a resize does). Pixel centres sit at integer coordinates (OpenCV,
        ROS), so the principal point scales about the image's outer edge: (c + 0.5) s - 0.5."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(
            width,
            height,
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
            self.distortion_model,
            self.coeffs,
        )

    def matrix(self) -> np.ndarray:
        """3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


class Camera(Protocol):
    """A colour camera. Nothing here blocks for more than a bounded driver call."""

    @property
    def connected(self) -> bool:
        """True while frames are expected."""
        ...

    def open(self) -> None:
        """Find, configure and start the device; raises `CameraError`."""
        ...

    def read_new(self) -> list[Frame]:
        """Frames that arrived since the last call, oldest first (never blocks)."""
        ...

    def read_latest(self, max_age_ms: float) -> Frame | None:
        """The newest frame if it is at most ``max_age_ms`` old, else None (never blocks)."""
        ...

    def intrinsics(self) -> Intrinsics:
        """Intrinsics of the open stream; raises `CameraError` when closed."""
        ...

    def check(self) -> None:
        """Health check: detect a silent device and try to reconnect (call periodically)."""
        ...

    def close(self) -> None:
        """Stop streaming and release the device."""
        ...
