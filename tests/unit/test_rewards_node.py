"""Reward node logic on the in-process bus: camera topics in, RewardEstimate out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_rl.bus.inproc import InprocBus, InprocConfig
from robot_rl.bus.msgs.robot_rl_interfaces import RewardEstimate
from robot_rl.bus.msgs.sensor_msgs import Image
from robot_rl.bus.qos import SENSOR_DATA
from robot_rl.rewards.frames import Frames, check_frames
from robot_rl.rewards.node import RewardNode, RewardNodeConfig, array_to_image, image_to_array
from robot_rl.rewards.source import RewardOutput

MS = 1_000_000


class MeanBrightness:
    """A RewardSource: success when the front image is bright; checks its input like a real one."""

    name = "brightness"
    cameras = ("front", "wrist")

    def reset(self) -> None:
        pass

    def __call__(self, frames: Frames) -> RewardOutput:
        check_frames(frames, self.cameras, (8, 8, 3))
        p = float(frames["front"].mean()) / 255.0
        return RewardOutput(p, p, p > 0.5, 1.25, self.name)


def setup(
    cfg: RewardNodeConfig | None = None,
) -> tuple[InprocBus, RewardNode, list[RewardEstimate]]:
    bus = InprocBus(InprocConfig(wire_check=True))  # every message survives real CDR
    node = RewardNode(bus, MeanBrightness(), cfg)
    got: list[RewardEstimate] = []
    bus.subscribe("reward_estimate", RewardEstimate, got.append)
    return bus, node, got


def publish(bus: InprocBus, camera: str, value: int, stamp_ns: int) -> None:
    pub = bus.publisher(f"cameras/{camera}/image_raw", Image, SENSOR_DATA)
    pub.publish(array_to_image(np.full((8, 8, 3), value, np.uint8), stamp_ns))


def test_image_conversion_round_trip_and_bgr() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (5, 7, 3), dtype=np.uint8)
    msg = array_to_image(img, 123)
    assert np.array_equal(image_to_array(msg), img)
    bgr = Image(height=5, width=7, encoding="bgr8", step=21, data=img[..., ::-1].reshape(-1).copy())
    assert np.array_equal(image_to_array(bgr), img)
    padded = np.zeros((5, 24), np.uint8)  # row padding: step 24 > 3 * 7
    padded[:, :21] = img.reshape(5, 21)
    msg = Image(height=5, width=7, encoding="rgb8", step=24, data=padded.reshape(-1))
    assert np.array_equal(image_to_array(msg), img)


def test_publishes_an_estimate_per_trigger_frame() -> None:
    bus, node, got = setup()
    publish(bus, "wrist", 10, 100 * MS)
    publish(bus, "front", 250, 110 * MS)  # trigger; wrist 10 ms older: within 50 ms
    assert len(got) == 1
    est = got[0]
    assert est.header.stamp.to_ns() == 110 * MS  # the trigger frame's stamp
    assert est.source == "brightness" and est.reward == pytest.approx(250 / 255, abs=1e-6)
    assert est.success_prob == pytest.approx(250 / 255, abs=1e-6)
    assert est.latency_ms == pytest.approx(1.25)
    assert node.stats.published == 1 and node.stats.last_latency_ms == pytest.approx(1.25)


def test_waits_for_all_cameras_within_skew() -> None:
    bus, node, got = setup(RewardNodeConfig(max_skew_s=0.02))
    publish(bus, "front", 100, 0)  # no wrist frame yet
    publish(bus, "wrist", 100, 100 * MS)
    publish(bus, "front", 100, 200 * MS)  # wrist 100 ms old: too far apart
    assert got == [] and node.stats.waiting == 2
    publish(bus, "wrist", 100, 195 * MS)  # not the trigger camera: no estimate
    publish(bus, "front", 100, 210 * MS)
    assert len(got) == 1


def test_bad_images_are_counted_not_fatal() -> None:
    bus, node, got = setup()
    pub = bus.publisher("cameras/front/image_raw", Image, SENSOR_DATA)
    pub.publish(Image(height=8, width=8, encoding="mono8", step=8, data=np.zeros(64, np.uint8)))
    assert node.stats.rejected == 1 and "mono8" in node.stats.last_error
    publish(bus, "wrist", 0, 0)
    wrong = bus.publisher("cameras/front/image_raw", Image, SENSOR_DATA)
    wrong.publish(array_to_image(np.zeros((16, 8, 3), np.uint8), 0))  # wrong size for the source
    assert node.stats.rejected == 2 and "image size" in node.stats.last_error
    assert got == []


def test_trigger_camera_and_topic_names() -> None:
    bus = InprocBus()
    cfg = RewardNodeConfig(
        image_topic="cam_{camera}/rgb", output_topic="reward", trigger_camera="wrist"
    )
    node = RewardNode(bus, MeanBrightness(), cfg)
    got: list[RewardEstimate] = []
    bus.subscribe("reward", RewardEstimate, got.append)
    bus.publisher("cam_front/rgb", Image, SENSOR_DATA).publish(
        array_to_image(np.zeros((8, 8, 3), np.uint8), 0)
    )
    assert got == []
    bus.publisher("cam_wrist/rgb", Image, SENSOR_DATA).publish(
        array_to_image(np.zeros((8, 8, 3), np.uint8), 0)
    )
    assert len(got) == 1 and not math.isnan(got[0].success_prob)
    node.close()
    with pytest.raises(ValueError, match="trigger camera"):
        RewardNode(bus, MeanBrightness(), RewardNodeConfig(trigger_camera="side"))
