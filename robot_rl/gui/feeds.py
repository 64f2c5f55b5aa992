"""What the page shows besides its own controls: camera frames and the episode status.

Camera images and episode events arrive through the bus (`attach_feeds`) or, in
``record-demos``, straight from the env (`FrameStore.put`). Bus callbacks and HTTP
handler threads meet here, so every holder takes a lock. Frames are JPEG-encoded
lazily, once per new frame, by whichever page asks first.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.bus.api import Bus, Subscription
from robot_rl.bus.msgs.robot_rl_interfaces import EpisodeEvent, RewardEstimate
from robot_rl.bus.msgs.sensor_msgs import Image
from robot_rl.gui.config import GuiConfig
from robot_rl.nodes.convert import image_from_msg
from robot_rl.nodes.qos import EVENTS, IMAGES, STATE_SUB

EVENT_NAMES = {
    EpisodeEvent.START: "start",
    EpisodeEvent.END: "end",
    EpisodeEvent.RESET: "reset",
    EpisodeEvent.SUCCESS: "success",
    EpisodeEvent.FAILURE: "failure",
    EpisodeEvent.PAUSE: "pause",
    EpisodeEvent.RESUME: "resume",
    EpisodeEvent.ABORT: "abort",
}


@dataclass
class _Frame:
    rgb: np.ndarray
    stamp_ns: int
    seq: int
    jpeg: bytes = b""


class FrameStore:
    """The latest frame of each camera, as RGB and (lazily) as JPEG."""

    def __init__(self, jpeg_quality: int = 80) -> None:
        self.jpeg_quality = jpeg_quality
        self._lock = threading.Lock()
        self._frames: dict[str, _Frame] = {}
        self.rejected = 0

    def put(self, camera: str, rgb: np.ndarray, stamp_ns: int) -> None:
        """Keep ``rgb`` (uint8 (H, W, 3)) as ``camera``'s latest frame; others are refused."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            self.count_rejected()
            return
        with self._lock:
            old = self._frames.get(camera)
            seq = old.seq + 1 if old is not None else 1
            self._frames[camera] = _Frame(np.array(rgb, copy=True), int(stamp_ns), seq)

    def count_rejected(self) -> None:
        """Count a frame that could not be shown (wrong shape or encoding)."""
        with self._lock:
            self.rejected += 1

    def jpeg(self, camera: str) -> tuple[bytes, int, int] | None:
        """(JPEG bytes, stamp ns, frame seq) of the latest frame, or None before the first."""
        with self._lock:
            frame = self._frames.get(camera)
        if frame is None:
            return None
        if not frame.jpeg:
            import cv2

            ok, buf = cv2.imencode(
                ".jpg",
                np.ascontiguousarray(frame.rgb[:, :, ::-1]),
                [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality],
            )
            if not ok:
                return None
            # Two threads may both encode one frame; either result is correct.
            frame.jpeg = buf.tobytes()
        return frame.jpeg, frame.stamp_ns, frame.seq

    def summary(self) -> dict[str, dict[str, int]]:
        """{camera: {"seq", "stamp_ns", "width", "height"}} of the cameras with a frame."""
        with self._lock:
            return {
                name: {
                    "seq": f.seq,
                    "stamp_ns": f.stamp_ns,
                    "width": int(f.rgb.shape[1]),
                    "height": int(f.rgb.shape[0]),
                }
                for name, f in sorted(self._frames.items())
            }


class EpisodeStatus:
    """The latest episode event and reward estimate, and success/failure counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event: dict[str, Any] = {}
        self._reward: dict[str, Any] = {}
        self.successes = 0
        self.failures = 0

    def on_event(self, msg: EpisodeEvent) -> None:
        """Record an episode event (bus callback)."""
        kind = EVENT_NAMES.get(int(msg.kind), f"kind {int(msg.kind)}")
        with self._lock:
            self._event = {
                "kind": kind,
                "episode_id": int(msg.episode_id),
                "detail": str(msg.detail),
                "stamp_s": msg.header.stamp.to_s(),
            }
            self.successes += kind == "success"
            self.failures += kind == "failure"

    def on_reward(self, msg: RewardEstimate) -> None:
        """Record a reward estimate (bus callback)."""
        p = float(msg.success_prob)
        with self._lock:
            self._reward = {
                "source": str(msg.source),
                "reward": _finite_or_none(float(msg.reward)),
                "success_prob": _finite_or_none(p),
                "latency_ms": _finite_or_none(float(msg.latency_ms)),
            }

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary (JSON has no NaN, so non-finite values become null)."""
        with self._lock:
            return {
                "event": dict(self._event),
                "reward": dict(self._reward),
                "successes": self.successes,
                "failures": self.failures,
            }


def _finite_or_none(v: float) -> float | None:
    return round(v, 4) if math.isfinite(v) else None


def attach_feeds(
    bus: Bus, cfg: GuiConfig, frames: FrameStore, episode: EpisodeStatus
) -> list[Subscription]:
    """Subscribe the camera, episode-event and reward topics named in ``cfg``; callbacks
    run wherever the bus runs them (inside ``spin``, or inside ``publish`` on inproc)."""
    subs: list[Subscription] = []
    for cam in cfg.cameras:

        def on_image(msg: Image, cam: str = cam) -> None:
            try:
                rgb = image_from_msg(msg)
            except ValueError:
                frames.count_rejected()
                return
            frames.put(cam, rgb, msg.header.stamp.to_ns())

        topic = f"{cfg.camera_namespace}/{cam}/image_raw"
        subs.append(bus.subscribe(topic, Image, on_image, IMAGES))
    if cfg.episode_events_topic:
        subs.append(bus.subscribe(cfg.episode_events_topic, EpisodeEvent, episode.on_event, EVENTS))
    if cfg.reward_topic:
        subs.append(bus.subscribe(cfg.reward_topic, RewardEstimate, episode.on_reward, STATE_SUB))
    return subs
