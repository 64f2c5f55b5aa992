"""The other process of the graph tests: ``dds_peer.py DOMAIN PREFIX MODE [ARGS]``.

Modes:
- ``stream N``: publish N images (640x480 rgb8) and N poses, reliable, ~30 Hz;
- ``garbage``: publish good and bad PoseStamped payloads (see `BAD_POSES`);
- ``serve``: answer Reset requests until one has seed -1;
- ``latched``: publish one PolicyWeights transient-local, print "published".

Publishers wait for ``PREFIX/ack`` (std_msgs/String) before exiting, so reliable
retransmissions stay possible until the test has everything. Cyclone reads its
(loopback) configuration from CYCLONEDDS_URI, set by the test.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from robot_rl.bus.cdr import encode
from robot_rl.bus.dds.bus import DdsBus
from robot_rl.bus.dds.config import DdsConfig
from robot_rl.bus.msgs import (
    Header,
    Image,
    NamedArray,
    Point,
    PolicyWeights,
    Pose,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
    String,
    Time,
)
from robot_rl.bus.qos import LATCHED, QoS

WAIT_S = 60.0  # generous: only reached when something is broken
HEIGHT, WIDTH = 480, 640


def image(i: int) -> Image:
    """Frame ``i``: deterministic pixels, seq in the stamp."""
    pixels = np.random.default_rng(i).integers(0, 256, HEIGHT * WIDTH * 3, dtype=np.uint8)
    header = Header(stamp=Time(i, 0), frame_id="front")
    return Image(header, HEIGHT, WIDTH, "rgb8", 0, WIDTH * 3, pixels)


def pose(i: int) -> PoseStamped:
    """Pose ``i``: x = i metres, seq in the stamp."""
    return PoseStamped(Header(Time(i, 1), "base"), Pose(position=Point(x=float(i), y=0.5)))


def bad_poses() -> list[bytes]:
    """Payloads Cyclone lets through but that are not valid PoseStamped CDR."""
    good = encode(pose(0))
    return [good + b"\x01" * 8, good.replace(b"base\x00", b"ba\xff\xfe\x00")]


def weights() -> PolicyWeights:
    """A small versioned weight snapshot."""
    arrays = [NamedArray.from_array("w", np.arange(6, dtype=np.float32).reshape(2, 3))]
    return PolicyWeights(Header(Time(5, 0)), 7, arrays)


def _wait(bus: DdsBus, cond: object, what: str) -> None:
    bus.spin(timeout_s=WAIT_S, until=cond)  # type: ignore[arg-type]
    if not cond():  # type: ignore[operator]
        sys.exit(f"peer: timed out waiting for {what}")


def _ack_waiter(bus: DdsBus, prefix: str) -> Callable[[], None]:
    """Subscribe to the test's ack now (transient-local, so a late ack still arrives);
    the returned function blocks until it has come."""
    acks: list[String] = []
    bus.subscribe(f"{prefix}/ack", String, acks.append, LATCHED)
    return lambda: _wait(bus, lambda: bool(acks), "ack")


def main(domain_id: int, prefix: str, mode: str, args: list[str]) -> None:
    bus = DdsBus(DdsConfig(domain_id=domain_id))
    wait_for_ack = _ack_waiter(bus, prefix)
    if mode == "stream":
        n = int(args[0])
        qos = QoS(depth=n)
        images = bus.publisher(f"{prefix}/image", Image, qos)
        poses = bus.publisher(f"{prefix}/pose", PoseStamped, qos)
        _wait(bus, lambda: images.subscriber_count() and poses.subscriber_count(), "subscriber")
        for i in range(n):
            images.publish(image(i))
            poses.publish(pose(i))
            time.sleep(1 / 30)
        wait_for_ack()
    elif mode == "garbage":
        pub = bus.publisher(f"{prefix}/pose", PoseStamped, QoS(depth=20))
        _wait(bus, lambda: pub.subscriber_count(), "subscriber")
        pub.publish(pose(1))
        for payload in bad_poses():
            pub.publish_raw(payload)
        pub.publish(pose(2))
        wait_for_ack()
    elif mode == "serve":
        done: list[bool] = []

        def handle(req: ResetRequest) -> ResetResponse:
            done.append(req.seed == -1)
            return ResetResponse(ok=True, message=f"reset with seed {req.seed}")

        bus.serve(f"{prefix}/reset", Reset, handle)
        print("serving", flush=True)
        _wait(bus, lambda: any(done), "the last request")
        bus.spin(timeout_s=0.5)  # let the last reply go out before the process ends
    elif mode == "latched":
        latched = bus.publisher(f"{prefix}/weights", PolicyWeights, LATCHED)
        latched.publish(weights())
        print("published", flush=True)
        wait_for_ack()
    else:
        sys.exit(f"peer: unknown mode {mode!r}")
    bus.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:])
