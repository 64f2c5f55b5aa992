"""Reward node logic: camera topics in, RewardEstimate out, against any `Bus` backend.

The callbacks only convert messages and call the core. An estimate is made when a frame
of the trigger camera arrives and every other camera has a frame stamped within
``max_skew_s`` of it; it carries the trigger frame's stamp, so the actor can match it to
its observation, and the source's compute latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from robot_rl.bus.api import Bus
from robot_rl.bus.msgs.robot_rl_interfaces import RewardEstimate
from robot_rl.bus.msgs.sensor_msgs import Image
from robot_rl.bus.msgs.std_msgs import Header
from robot_rl.bus.qos import SENSOR_DATA
from robot_rl.rewards.errors import RewardInputError
from robot_rl.rewards.source import RewardSource


@dataclass(frozen=True)
class RewardNodeConfig:
    """Topics and frame matching of the reward node."""

    image_topic: str = "cameras/{camera}/image_raw"  # per-camera topic, {camera} filled in
    output_topic: str = "reward_estimate"  # RewardEstimate topic
    trigger_camera: str | None = None  # estimate on this camera's frames; None = the first
    max_skew_s: float = 0.05  # other cameras' frames must be stamped this close, seconds


@dataclass
class RewardNodeStats:
    """Counters of the node (for /diagnostics and tests)."""

    published: int = 0  # estimates published
    waiting: int = 0  # trigger frames with a camera missing or too far apart in time
    rejected: int = 0  # images that could not be converted (encoding, size)
    last_error: str = ""  # the most recent rejection reason
    last_latency_ms: float = math.nan  # compute latency of the last estimate
    latencies_ms: list[float] = field(default_factory=list)  # all latencies (bounded)


def image_to_array(msg: Image) -> np.ndarray:
    """sensor_msgs/Image (rgb8 or bgr8) -> uint8 (H, W, 3) RGB. Raises RewardInputError."""
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if msg.encoding not in ("rgb8", "bgr8"):
        raise RewardInputError(f"image encoding {msg.encoding!r}; expected rgb8 or bgr8")
    data = np.asarray(msg.data, dtype=np.uint8)
    if step < 3 * w or data.size < h * step:
        raise RewardInputError(f"image {h}x{w} with step {step} but {data.size} data bytes")
    img = data[: h * step].reshape(h, step)[:, : 3 * w].reshape(h, w, 3)
    return np.ascontiguousarray(img[..., ::-1] if msg.encoding == "bgr8" else img)


def array_to_image(img: np.ndarray, stamp_ns: int, frame_id: str = "") -> Image:
    """uint8 (H, W, 3) RGB -> sensor_msgs/Image rgb8 (for publishers and tests)."""
    from robot_rl.bus.msgs.builtin_interfaces import Time

    h, w, _ = img.shape
    return Image(
        header=Header(stamp=Time.from_ns(stamp_ns), frame_id=frame_id),
        height=h,
        width=w,
        encoding="rgb8",
        step=3 * w,
        data=np.ascontiguousarray(img, dtype=np.uint8).reshape(-1),
    )


class RewardNode:
    """Subscribes to the source's cameras, publishes one RewardEstimate per trigger frame."""

    def __init__(self, bus: Bus, source: RewardSource, cfg: RewardNodeConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else RewardNodeConfig()
        self.source = source
        cams = source.cameras
        if not cams:
            raise ValueError(f"reward source {source.name!r} reads no camera: nothing to trigger")
        self.trigger = self.cfg.trigger_camera or cams[0]
        if self.trigger not in cams:
            raise ValueError(f"trigger camera {self.trigger!r} is not one of {list(cams)}")
        self.stats = RewardNodeStats()
        self._latest: dict[str, tuple[int, np.ndarray]] = {}
        self._pub = bus.publisher(self.cfg.output_topic, RewardEstimate)
        self._subs = [
            bus.subscribe(
                self.cfg.image_topic.format(camera=c),
                Image,
                lambda msg, c=c: self._on_image(c, msg),  # type: ignore[misc]
                SENSOR_DATA,
            )
            for c in cams
        ]

    def _on_image(self, camera: str, msg: Image) -> None:
        try:
            img = image_to_array(msg)
        except RewardInputError as e:
            self.stats.rejected += 1
            self.stats.last_error = f"{camera}: {e}"
            return
        stamp_ns = msg.header.stamp.to_ns()
        self._latest[camera] = (stamp_ns, img)
        if camera == self.trigger:
            self.estimate(msg.header)

    def estimate(self, header: Header) -> RewardEstimate | None:
        """Score the latest frames for the trigger frame stamped ``header``; publish."""
        stamp_ns = header.stamp.to_ns()
        skew_ns = self.cfg.max_skew_s * 1e9
        frames = {}
        for c in self.source.cameras:
            got = self._latest.get(c)
            if got is None or abs(got[0] - stamp_ns) > skew_ns:
                self.stats.waiting += 1
                return None
            frames[c] = got[1]
        try:
            out = self.source(frames)
        except RewardInputError as e:
            self.stats.rejected += 1
            self.stats.last_error = str(e)
            return None
        msg = RewardEstimate(
            header=header,
            source=out.source,
            reward=float(out.reward),
            success_prob=float(out.success_prob),
            latency_ms=float(out.latency_ms),
        )
        self._pub.publish(msg)
        self.stats.published += 1
        self.stats.last_latency_ms = out.latency_ms
        if len(self.stats.latencies_ms) < 10_000:
            self.stats.latencies_ms.append(out.latency_ms)
        return msg

    def close(self) -> None:
        """Stop receiving."""
        for sub in self._subs:
            sub.close()
