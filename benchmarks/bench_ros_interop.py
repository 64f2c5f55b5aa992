"""Interop matrix: a plain rclpy node (Fast DDS) and the `dds` backend (Cyclone), on loopback.

    .venv/bin/python benchmarks/bench_ros_interop.py [--count 20]
    # Kilted: a venv set up with ROBOT_RL_ROS_DISTRO=kilted (docs/robot_bringup.md)

For every message type the project sends (standard, nested, custom; a 640x480 rgb8 Image
included) and both directions, one process holds an rclpy node and a `DdsBus` on the same
domain; the sender waits until BOTH ends report the match (Fast DDS reports it about 0.6 s
before Cyclone, and a message sent in between is lost), then sends ``--count`` messages on
a reliable KEEP_LAST(count) topic (images paced at 30 fps, as a camera sends them, and
once more in one burst); the matrix prints the share that arrived equal to what was sent.
The Reset service is tried both ways (client on one stack, server on the other; our clients
call over the route topics, robot_rl.bus.topic_service).
Fast DDS uses tests/ros/fastdds_loopback.xml, Cyclone tests/graph/cyclonedds_loopback.xml.
Results: benchmarks/RESULTS.md ("ROS 2 interop").
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(ROOT / "tests/ros/fastdds_loopback.xml"))
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
DOMAIN = int(os.environ.setdefault("ROS_DOMAIN_ID", str(60 + os.getpid() % 40)))
CYCLONE = (ROOT / "tests/graph/cyclonedds_loopback.xml").as_uri()
WAIT_S = 10.0

from robot_rl.bus.cdr.samples import random_message  # noqa: E402
from robot_rl.bus.dds.bus import DdsBus  # noqa: E402
from robot_rl.bus.dds.config import DdsConfig  # noqa: E402
from robot_rl.bus.errors import BusError  # noqa: E402
from robot_rl.bus.msgs import (  # noqa: E402
    Action,
    CameraInfo,
    Clock,
    DiagnosticArray,
    EpisodeEvent,
    Float32,
    Header,
    Image,
    JointState,
    PolicyWeights,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
    RewardEstimate,
    String,
    TeleopCommand,
    Time,
    Transition,
    TransitionAck,
    WrenchStamped,
)
from robot_rl.bus.msgs.base import Message  # noqa: E402
from robot_rl.bus.qos import QoS  # noqa: E402
from robot_rl.bus.ros2 import Ros2Bus, Ros2Config  # noqa: E402

TYPES: list[type[Message]] = [
    String, Float32, Clock, PoseStamped, WrenchStamped, JointState, CameraInfo,
    DiagnosticArray, Image, Action, EpisodeEvent, RewardEstimate, TeleopCommand,
    Transition, TransitionAck, PolicyWeights,
]  # fmt: skip


def _image_640x480(i: int) -> Image:
    data = np.full(640 * 480 * 3, i % 256, np.uint8)
    return Image(Header(Time(i, 0), "front"), 480, 640, "rgb8", 0, 640 * 3, data)


def _spin(buses: list[Any], cond: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        for b in buses:
            b.spin_once(0.002)
    return cond()


def one_cell(
    sender: Any, receiver: Any, cls: type[Message], topic: str, n: int, paced: bool = True
) -> float:
    """Share of ``n`` messages of ``cls`` that arrive equal (0..1); 0 on duplicates.
    Images go out at 30 fps when ``paced``, else in one burst."""
    qos = QoS(depth=n)
    got: list[Message] = []
    sub = receiver.subscribe(topic, cls, got.append, qos)
    pub = sender.publisher(topic, cls, qos)
    buses = [sender, receiver]
    if not _spin(buses, lambda: pub.subscriber_count() > 0 and sub.publisher_count() > 0):
        return 0.0
    rng = np.random.default_rng(0)
    sent = [_image_640x480(i) if cls is Image else random_message(cls, rng) for i in range(n)]
    for msg in sent:
        pub.publish(msg)
        if cls is Image and paced:  # as a 30 fps camera sends them
            _spin(buses, lambda: False, timeout_s=1 / 30)
    _spin(buses, lambda: len(got) >= n, timeout_s=WAIT_S)
    _spin(buses, lambda: False, timeout_s=0.2)  # duplicates would show up here
    if len(got) > n:
        return 0.0  # duplicates
    return sum(1 for a in sent if any(a == b for b in got)) / n


def one_service(client: Any, server: Any, service: str, n: int) -> float:
    """Share of ``n`` Reset requests answered correctly across the two stacks."""
    server.serve(service, Reset, lambda r: ResetResponse(ok=True, message=f"seed {r.seed}"))
    ok = 0
    for seed in range(n):
        pending = client.request_async(service, Reset, ResetRequest(seed=seed), 3.0)
        _spin([client, server], pending.done, timeout_s=5.0)
        with contextlib.suppress(BusError):  # no reply: counted as a failure
            ok += pending.result() == ResetResponse(ok=True, message=f"seed {seed}")
    return ok / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20, help="messages per cell")
    args = parser.parse_args()
    rclpy_version = importlib.metadata.version("ros-rclpy")
    distro = "kilted" if rclpy_version.startswith("9.") else "jazzy"
    ros = Ros2Bus(Ros2Config(node_name="interop"))
    dds = DdsBus(DdsConfig(DOMAIN, cyclone_config=CYCLONE))
    print(
        f"# ROS 2 interop, {distro} (rclpy {rclpy_version}, Fast DDS) <-> dds backend "
        f"(cyclonedds {importlib.metadata.version('cyclonedds')}), loopback, "
        f"{args.count} messages per cell, reliable KEEP_LAST({args.count})"
    )
    print("| type | rclpy -> dds | dds -> rclpy |\n|---|---|---|")
    for i, cls in enumerate(TYPES):
        name = cls.__ros_type__ + (" 640x480 rgb8" if cls is Image else "")
        a = one_cell(ros, dds, cls, f"/interop/a{i}", args.count)
        b = one_cell(dds, ros, cls, f"/interop/b{i}", args.count)
        print(f"| {name} | {a:.0%} | {b:.0%} |", flush=True)
        if cls is Image:
            a = one_cell(ros, dds, cls, f"/interop/burst_a{i}", args.count, paced=False)
            b = one_cell(dds, ros, cls, f"/interop/burst_b{i}", args.count, paced=False)
            print(f"| {name}, {args.count} in one burst | {a:.0%} | {b:.0%} |", flush=True)
    a = one_service(ros, dds, "/interop/reset_a", 3)
    b = one_service(dds, ros, "/interop/reset_b", 3)
    print(f"| robot_rl_interfaces/srv/Reset (client -> server) | {a:.0%} | {b:.0%} |")
    print(f"(Fast DDS profile: {Path(os.environ['FASTDDS_DEFAULT_PROFILES_FILE']).name})")
    dds.close()
    ros.close()


if __name__ == "__main__":
    sys.exit(main())
