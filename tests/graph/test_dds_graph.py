"""Two processes over Cyclone DDS on loopback, speaking the ROS 2 wire format.

No assertion is about time: waits are generous bounds that only a broken graph reaches.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import dds_peer
import numpy as np
import pytest
from conftest import GraphEnv

pytest.importorskip("cyclonedds", reason="the dds backend needs cyclonedds")

from robot_rl.bus.dds.bus import DdsBus
from robot_rl.bus.dds.config import DdsConfig
from robot_rl.bus.errors import BusError, ServiceTimeoutError, ServiceUnavailableError
from robot_rl.bus.msgs import (
    Image,
    PolicyWeights,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
    String,
)
from robot_rl.bus.qos import LATCHED, QoS
from robot_rl.bus.service import Responder

WAIT_S = 60.0
FRAMES = 20


@pytest.fixture
def bus(graph: GraphEnv) -> Iterator[DdsBus]:
    """This process's end of the graph."""
    b = DdsBus(DdsConfig(domain_id=graph.domain_id, cyclone_config=str(graph.config)))
    yield b
    b.close()


def _spin_until(bus: DdsBus, cond: Callable[[], bool], peer: subprocess.Popen[str]) -> None:
    bus.spin(timeout_s=WAIT_S, until=lambda: cond() or peer.poll() is not None)
    if not cond():
        out, err = peer.communicate(timeout=WAIT_S) if peer.poll() is not None else ("", "")
        pytest.fail(f"condition not reached; peer rc={peer.poll()} stdout={out} stderr={err}")


def _finish(bus: DdsBus, graph: GraphEnv, peer: subprocess.Popen[str]) -> None:
    ack = bus.publisher(f"{graph.prefix}/ack", String, LATCHED)
    ack.publish(String("done"))
    try:
        _, err = peer.communicate(timeout=WAIT_S)
    finally:
        peer.kill()
    assert peer.returncode == 0, err


def test_images_and_poses_arrive_complete_and_in_order(bus: DdsBus, graph: GraphEnv) -> None:
    images: list[Image] = []
    poses: list[PoseStamped] = []
    qos = QoS(depth=FRAMES)
    img_sub = bus.subscribe(f"{graph.prefix}/image", Image, images.append, qos)
    pose_sub = bus.subscribe(f"{graph.prefix}/pose", PoseStamped, poses.append, qos)
    peer = graph.peer("stream", str(FRAMES))
    _spin_until(bus, lambda: len(images) == FRAMES and len(poses) == FRAMES, peer)
    _finish(bus, graph, peer)

    assert [m.header.stamp.sec for m in images] == list(range(FRAMES))
    assert [m.header.stamp.sec for m in poses] == list(range(FRAMES))
    for i, (img, pose) in enumerate(zip(images, poses, strict=True)):
        assert img == dds_peer.image(i)
        assert pose == dds_peer.pose(i)
    assert images[3].data.shape == (480 * 640 * 3,)
    assert img_sub.stats.rejected == pose_sub.stats.rejected == 0


def test_bad_payloads_from_another_process_are_counted(bus: DdsBus, graph: GraphEnv) -> None:
    poses: list[PoseStamped] = []
    sub = bus.subscribe(f"{graph.prefix}/pose", PoseStamped, poses.append, QoS(depth=20))
    peer = graph.peer("garbage")
    expected_bad = len(dds_peer.bad_poses())
    _spin_until(bus, lambda: len(poses) == 2 and sub.stats.rejected == expected_bad, peer)
    _finish(bus, graph, peer)
    assert poses == [dds_peer.pose(1), dds_peer.pose(2)]
    assert "UTF-8" in sub.stats.last_error or "unexpected bytes" in sub.stats.last_error


def test_service_across_processes(bus: DdsBus, graph: GraphEnv) -> None:
    peer = graph.peer("serve")
    try:
        for seed in (3, 4):
            reply = bus.request(f"{graph.prefix}/reset", Reset, ResetRequest(seed=seed), WAIT_S)
            assert reply.ok and reply.message == f"reset with seed {seed}"
        bus.request(f"{graph.prefix}/reset", Reset, ResetRequest(seed=-1), WAIT_S)
        _, err = peer.communicate(timeout=WAIT_S)
        assert peer.returncode == 0, err
    finally:
        peer.kill()


def test_unserved_service_fails_clearly(bus: DdsBus, graph: GraphEnv) -> None:
    with pytest.raises(ServiceUnavailableError, match="no server"):
        bus.request(f"{graph.prefix}/nobody", Reset, ResetRequest(), timeout_s=0.2)


def _spin_both(a: DdsBus, b: DdsBus, cond: Callable[[], bool]) -> None:
    """Spin two buses of this process in turn until ``cond()`` (bounded by WAIT_S)."""
    deadline = time.monotonic() + WAIT_S
    while not cond() and time.monotonic() < deadline:
        a.spin_once(0.005)
        b.spin_once(0.005)


def test_deferred_reply_from_a_timer_reaches_the_client(bus: DdsBus, graph: GraphEnv) -> None:
    server_bus = DdsBus(DdsConfig(domain_id=graph.domain_id, cyclone_config=str(graph.config)))
    try:
        held: list[tuple[ResetRequest, Responder[ResetResponse]]] = []
        ticks: list[int] = []

        def on_tick() -> None:  # replies two ticks after the request came
            ticks.append(len(held))
            if held and ticks.count(len(held)) >= 2:
                req, responder = held.pop()
                responder.reply(ResetResponse(ok=True, message=f"deferred {req.seed}"))

        server = server_bus.serve_deferred(
            f"{graph.prefix}/reset", Reset, lambda req, r: held.append((req, r))
        )
        server_bus.timer(0.05, on_tick)
        pending = bus.request_async(f"{graph.prefix}/reset", Reset, ResetRequest(seed=9), WAIT_S)
        assert not pending.done()
        _spin_both(bus, server_bus, pending.done)
        assert pending.result() == ResetResponse(ok=True, message="deferred 9")
        assert server.stats.received == 1 and held == []
        # a server that never answers: a clear timeout on the client
        never = server_bus.serve_deferred(f"{graph.prefix}/mute", Reset, lambda req, r: None)
        late = bus.request_async(f"{graph.prefix}/mute", Reset, ResetRequest(), 2.0)
        _spin_both(bus, server_bus, late.done)
        with pytest.raises(ServiceTimeoutError, match="matched but sent no reply within 2 s"):
            late.result()
        assert never.stats.received == 1
    finally:
        server_bus.close()


def test_async_request_to_nobody_fails_clearly_without_blocking(
    bus: DdsBus, graph: GraphEnv
) -> None:
    pending = bus.request_async(f"{graph.prefix}/nobody", Reset, ResetRequest(), timeout_s=0.2)
    assert not pending.done()
    bus.spin(timeout_s=WAIT_S, until=pending.done)
    with pytest.raises(ServiceUnavailableError, match="no server for service"):
        pending.result()


def test_blocking_inside_a_dds_callback_is_refused(bus: DdsBus, graph: GraphEnv) -> None:
    bus.serve(f"{graph.prefix}/reset", Reset, lambda r: ResetResponse(ok=True))
    got: list[str] = []

    def on_message(_: String) -> None:
        try:
            bus.request(f"{graph.prefix}/reset", Reset, ResetRequest(), 1.0)
        except BusError as exc:
            got.append(str(exc))

    bus.subscribe(f"{graph.prefix}/s", String, on_message)
    pub = bus.publisher(f"{graph.prefix}/s", String)
    bus.spin(timeout_s=WAIT_S, until=lambda: pub.subscriber_count() > 0)
    pub.publish(String("x"))
    bus.spin(timeout_s=WAIT_S, until=lambda: bool(got))
    assert got and "inside a callback" in got[0]


def test_late_subscriber_gets_latched_weights(bus: DdsBus, graph: GraphEnv) -> None:
    peer = graph.peer("latched")
    assert peer.stdout is not None
    assert peer.stdout.readline().strip() == "published"
    got: list[PolicyWeights] = []
    bus.subscribe(f"{graph.prefix}/weights", PolicyWeights, got.append, LATCHED)
    _spin_until(bus, lambda: bool(got), peer)
    _finish(bus, graph, peer)
    assert got[0] == dds_peer.weights()
    assert np.array_equal(got[0].arrays[0].to_array(), np.arange(6).reshape(2, 3))


def test_payload_cyclone_refuses_raises_bus_error(bus: DdsBus, graph: GraphEnv) -> None:
    pub = bus.publisher(f"{graph.prefix}/s", String)
    with pytest.raises(BusError, match="write on"):
        pub.publish_raw(b"\x00\x01\x00\x00\xff\xff\xff\xff")


def test_sim_time_follows_clock_topic(graph: GraphEnv) -> None:
    from robot_rl.bus.msgs import Clock, Time

    xml = str(graph.config)
    follower = DdsBus(DdsConfig(graph.domain_id, cyclone_config=xml, use_sim_time=True))
    sim = DdsBus(DdsConfig(graph.domain_id, cyclone_config=xml))
    try:
        ticks: list[int] = []
        follower.timer(0.1, lambda: ticks.append(follower.now().to_ns()))
        clock = sim.publisher("/clock", Clock)
        follower.spin(timeout_s=WAIT_S, until=lambda: clock.subscriber_count() > 0)
        clock.publish(Clock(Time(0, 50_000_000)))
        follower.spin(timeout_s=WAIT_S, until=lambda: follower.now().to_ns() == 50_000_000)
        assert ticks == []
        clock.publish(Clock(Time(0, 100_000_000)))
        follower.spin(timeout_s=WAIT_S, until=lambda: bool(ticks))
        assert ticks == [100_000_000]
    finally:
        follower.close()
        sim.close()
