"""An rclpy node (Fast DDS) and the `dds` backend (Cyclone) in one process, on loopback.

The full matrix (every type, both ways, Jazzy and Kilted) is benchmarks/bench_ros_interop.py;
these are the cases that broke: nested types under Fast DDS 3's type information (Kilted),
the first fragmented sample from Fast DDS to a volatile Cyclone reader, and services, which
cross the stacks only over the route topics (robot_rl.bus.topic_service).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DOMAIN_ID

from robot_rl.bus.dds.bus import DdsBus
from robot_rl.bus.dds.config import DdsConfig
from robot_rl.bus.msgs import (
    Header,
    Image,
    Point,
    Pose,
    PoseStamped,
    Quaternion,
    Reset,
    ResetRequest,
    ResetResponse,
    Time,
)
from robot_rl.bus.qos import QoS
from robot_rl.bus.ros2 import Ros2Bus, Ros2Config
from robot_rl.bus.service import Responder

LOOPBACK = Path(__file__).resolve().parents[1] / "graph" / "cyclonedds_loopback.xml"
WAIT_S = 20.0  # a bound only a broken setup reaches


@pytest.fixture
def stacks(rclpy_context: Any, request: pytest.FixtureRequest) -> Iterator[tuple[Ros2Bus, DdsBus]]:
    """An rclpy node and a dds bus on this tier's domain."""
    ros = Ros2Bus(Ros2Config(node_name=f"interop_{request.node.name[:30]}"))
    dds = DdsBus(DdsConfig(DOMAIN_ID, cyclone_config=str(LOOPBACK)))
    yield ros, dds
    dds.close()
    ros.close()


def _spin(buses: list[Any], cond: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        for bus in buses:
            bus.spin_once(0.002)
    return cond()


def _send(sender: Any, receiver: Any, topic: str, sent: list[Any], fps: float = 0.0) -> list[Any]:
    """Publish ``sent`` once both ends report the match; what ``receiver`` got."""
    cls, got = type(sent[0]), []
    sub = receiver.subscribe(topic, cls, got.append, QoS(depth=len(sent)))
    pub = sender.publisher(topic, cls, QoS(depth=len(sent)))
    assert _spin([sender, receiver], lambda: pub.subscriber_count() > 0 < sub.publisher_count())
    for msg in sent:
        pub.publish(msg)
        if fps:
            _spin([sender, receiver], lambda: False, timeout_s=1 / fps)
    _spin([sender, receiver], lambda: len(got) >= len(sent), timeout_s=5.0)
    assert sub.stats.rejected == 0
    return got


def _pose(i: int) -> PoseStamped:
    return PoseStamped(
        Header(Time(i, 7), "base"), Pose(Point(0.1 * i, 2.0, 3.0), Quaternion(0.0, 0.0, 0.0, 1.0))
    )


def _image(i: int) -> Image:
    data = np.full(640 * 480 * 3, i % 256, np.uint8)
    return Image(Header(Time(i, 0), "front"), 480, 640, "rgb8", 0, 640 * 3, data)


def test_nested_types_cross_both_ways(stacks: tuple[Ros2Bus, DdsBus]) -> None:
    # Kilted's Fast DDS 3 sends type objects Cyclone rejects; without Cyclone's
    # IgnoreTypeInformation for vendor 1.15 (robot_rl.bus.dds.domain) nothing arrives.
    ros, dds = stacks
    sent = [_pose(i) for i in range(5)]
    assert _send(ros, dds, "/interop/pose_a", sent) == sent
    assert _send(dds, ros, "/interop/pose_b", sent) == sent


def test_only_images_before_cyclones_first_heartbeat_can_be_lost(
    stacks: tuple[Ros2Bus, DdsBus],
) -> None:
    # Cyclone starts a volatile reader of a non-Cyclone writer at the last sequence number
    # of the writer's first heartbeat, and discards what is older (docs/bus.md): at most
    # the first frames of a fresh stream may miss, never a later one, and none the other way.
    ros, dds = stacks
    sent = [_image(i) for i in range(10)]
    got = _send(ros, dds, "/interop/image_a", sent, fps=30)
    assert got == sent[len(sent) - len(got) :]  # a lost frame is only ever a leading one
    assert len(got) >= len(sent) - 1
    assert _send(dds, ros, "/interop/image_b", sent, fps=30) == sent


@pytest.mark.parametrize("server_on", ["dds", "rclpy"])
def test_deferred_reset_crosses_the_stacks(stacks: tuple[Ros2Bus, DdsBus], server_on: str) -> None:
    # Native requests never cross (docs/bus.md); our clients call over the route topics,
    # which every server of ours answers, so the reset node may run on either stack.
    ros, dds = stacks
    server, client = (dds, ros) if server_on == "dds" else (ros, dds)
    held: list[tuple[ResetRequest, Responder[ResetResponse]]] = []
    srv = server.serve_deferred("/interop/reset", Reset, lambda req, r: held.append((req, r)))
    for seed in (1, 2, 3):
        pending = client.request_async("/interop/reset", Reset, ResetRequest(seed=seed), WAIT_S)
        assert _spin([ros, dds], lambda: bool(held))
        _spin([ros, dds], lambda: False, timeout_s=1.2)  # resends while the reply is held
        assert not pending.done() and len(held) == 1  # each request is handled once
        req, responder = held.pop()
        responder.reply(ResetResponse(ok=True, message=f"seed {req.seed}"))
        assert _spin([ros, dds], pending.done)
        assert pending.result() == ResetResponse(ok=True, message=f"seed {seed}")
    assert srv.stats.received == 3 and srv.stats.rejected == 0
