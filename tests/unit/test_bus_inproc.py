"""The deterministic in-process bus."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robot_rl.bus import BusConfig, SimClock, make_bus
from robot_rl.bus.errors import (
    BusError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    TopicTypeError,
)
from robot_rl.bus.inproc import InprocBus, InprocConfig
from robot_rl.bus.msgs import (
    Header,
    Image,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
    String,
    Time,
)
from robot_rl.bus.qos import LATCHED, SENSOR_DATA, QoS
from robot_rl.bus.service import Responder


def test_publish_delivers_synchronously_in_order() -> None:
    bus = InprocBus()
    got: list[str] = []
    bus.subscribe("chatter", String, lambda m: got.append(m.data))
    pub = bus.publisher("/chatter", String)
    for word in ("a", "b", "c"):
        pub.publish(String(word))
    assert got == ["a", "b", "c"]
    assert pub.topic == "/chatter"


def test_publish_from_a_callback_is_breadth_first() -> None:
    bus = InprocBus()
    order: list[str] = []
    relay = bus.publisher("/b", String)

    def first(m: String) -> None:
        order.append("a:" + m.data)
        relay.publish(m)

    bus.subscribe("/a", String, first)
    bus.subscribe("/a", String, lambda m: order.append("a2:" + m.data))
    bus.subscribe("/b", String, lambda m: order.append("b:" + m.data))
    bus.publisher("/a", String).publish(String("x"))
    assert order == ["a:x", "a2:x", "b:x"]


def test_reliable_subscriber_does_not_match_best_effort_publisher() -> None:
    bus = InprocBus()
    reliable: list[Image] = []
    best_effort: list[Image] = []
    bus.subscribe("/cam", Image, reliable.append, QoS())
    bus.subscribe("/cam", Image, best_effort.append, SENSOR_DATA)
    pub = bus.publisher("/cam", Image, SENSOR_DATA)
    pub.publish(Image())
    assert (len(reliable), len(best_effort)) == (0, 1)
    assert pub.subscriber_count() == 1


def test_transient_local_replays_last_depth_to_late_subscribers() -> None:
    bus = InprocBus()
    pub = bus.publisher("/weights", String, QoS(durability=LATCHED.durability, depth=2))
    for word in ("v1", "v2", "v3"):
        pub.publish(String(word))
    late: list[str] = []
    volatile: list[str] = []
    bus.subscribe("/weights", String, lambda m: late.append(m.data), LATCHED)
    bus.subscribe("/weights", String, lambda m: volatile.append(m.data))
    assert late == ["v2", "v3"]
    assert volatile == []


def test_topic_type_conflict_and_wrong_message_type() -> None:
    bus = InprocBus()
    pub = bus.publisher("/t", String)
    with pytest.raises(TopicTypeError):
        bus.subscribe("/t", Image, lambda m: None)
    with pytest.raises(TypeError):
        pub.publish(Image())  # type: ignore[arg-type]


def test_wire_check_round_trips_through_cdr_and_counts_rejects() -> None:
    bus = InprocBus(InprocConfig(wire_check=True))
    got: list[PoseStamped] = []
    sub = bus.subscribe("/pose", PoseStamped, got.append)
    pub = bus.publisher("/pose", PoseStamped)
    msg = PoseStamped(header=Header(stamp=Time(1, 2), frame_id="base"))
    pub.publish(msg)
    pub.publish_raw(b"\x00\x01\x00\x00garbage")
    assert got == [msg] and got[0] is not msg
    assert (sub.stats.received, sub.stats.rejected) == (1, 1)


def test_closed_subscription_receives_nothing() -> None:
    bus = InprocBus()
    got: list[String] = []
    sub = bus.subscribe("/x", String, got.append)
    pub = bus.publisher("/x", String)
    sub.close()
    pub.publish(String("late"))
    assert got == [] and pub.subscriber_count() == 0


def test_timers_follow_the_sim_clock() -> None:
    clock = SimClock()
    bus = make_bus(BusConfig(backend="inproc"), clock=clock)
    ticks: list[int] = []
    timer = bus.timer(0.1, lambda: ticks.append(bus.now().to_ns()))
    assert bus.spin_once(1.0) == 0  # a sim clock never sleeps
    clock.advance(0.1)
    assert bus.spin_once() == 1
    clock.advance(0.35)  # 3.5 periods late: missed ticks are skipped, not replayed
    assert bus.spin_once() == 1
    clock.advance(0.05)
    assert bus.spin_once() == 1
    timer.cancel()
    clock.advance(1.0)
    assert bus.spin_once() == 0
    assert ticks == [100_000_000, 450_000_000, 500_000_000]


def test_spin_stops_when_idle_on_sim_time() -> None:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    count = [0]
    bus.timer(0.1, lambda: count.__setitem__(0, count[0] + 1))
    clock.advance(0.1)
    bus.spin()  # returns: nothing more can happen until the clock moves
    assert count[0] == 1


def test_wall_clock_timer_fires_within_spin() -> None:
    bus = InprocBus()
    fired: list[int] = []
    bus.timer(0.005, lambda: fired.append(1))
    bus.spin(timeout_s=5.0, until=lambda: len(fired) >= 2)
    assert len(fired) >= 2


def test_service_request_and_errors() -> None:
    bus = InprocBus(InprocConfig(wire_check=True))
    with pytest.raises(ServiceUnavailableError):
        bus.request("/reset", Reset, ResetRequest(), timeout_s=1.0)
    server = bus.serve("reset", Reset, lambda r: ResetResponse(ok=True, message=str(r.seed)))
    assert bus.request("/reset", Reset, ResetRequest(seed=4), timeout_s=1.0) == ResetResponse(
        ok=True, message="4"
    )
    assert server.stats.received == 1
    with pytest.raises(ValueError, match="already served"):
        bus.serve("/reset", Reset, lambda r: ResetResponse())
    server.close()
    with pytest.raises(ServiceUnavailableError):
        bus.request("/reset", Reset, ResetRequest(), timeout_s=1.0)


class LateServer:
    """Answers each Reset request from a timer, ``ticks`` timer periods after it came."""

    def __init__(self, bus: InprocBus, ticks: int) -> None:
        self.waiting: list[tuple[int, ResetRequest, Responder[ResetResponse]]] = []
        self.ticks = ticks
        bus.serve_deferred("reset", Reset, lambda req, r: self.waiting.append((0, req, r)))
        bus.timer(0.1, self._tick)

    def _tick(self) -> None:
        aged = [(n + 1, req, r) for n, req, r in self.waiting]
        self.waiting = [w for w in aged if w[0] < self.ticks]
        for _, req, responder in (w for w in aged if w[0] >= self.ticks):
            responder.reply(ResetResponse(ok=True, message=f"late {req.seed}"))


def test_deferred_reply_arrives_from_a_later_timer() -> None:
    clock = SimClock()
    bus = InprocBus(InprocConfig(wire_check=True), clock=clock)
    server = LateServer(bus, ticks=2)
    pending = bus.request_async("reset", Reset, ResetRequest(seed=7), timeout_s=30.0)
    assert not pending.done() and len(server.waiting) == 1
    with pytest.raises(BusError, match="no reply from /reset yet"):
        pending.result()
    clock.advance(0.1)
    bus.spin_once()
    assert not pending.done()  # one tick of two
    clock.advance(0.1)
    bus.spin_once()
    assert pending.done() and pending.result() == ResetResponse(ok=True, message="late 7")
    assert server.waiting == []


def test_blocking_request_spins_until_the_deferred_reply() -> None:
    bus = InprocBus()  # wall clock: the server's timer fires while request() spins
    LateServer(bus, ticks=1)
    assert bus.request("reset", Reset, ResetRequest(seed=2), 30.0).message == "late 2"


def test_a_deferred_reply_that_never_comes_times_out_clearly() -> None:
    bus = InprocBus(clock=SimClock())
    held: list[Responder[ResetResponse]] = []
    bus.serve_deferred("reset", Reset, lambda req, r: held.append(r))
    pending = bus.request_async("reset", Reset, ResetRequest(), timeout_s=0.05)
    assert not pending.done()
    time.sleep(0.06)  # the deadline is wall time: spinning a sim clock does not move it
    assert pending.done()
    with pytest.raises(ServiceTimeoutError, match=r"/reset matched but sent no reply within 0\.05"):
        pending.result()
    held[0].reply(ResetResponse(ok=True))  # too late: ignored, not an error
    with pytest.raises(ServiceTimeoutError):
        pending.result()
    with pytest.raises(ServiceTimeoutError, match="no reply"):
        bus.request("reset", Reset, ResetRequest(), timeout_s=0.05)
    missing = bus.request_async("nobody", Reset, ResetRequest(), timeout_s=5.0)
    assert missing.done()
    with pytest.raises(ServiceUnavailableError, match="no server for service /nobody"):
        missing.result()


def test_a_responder_answers_once_with_the_right_type() -> None:
    bus = InprocBus()
    held: list[Responder[ResetResponse]] = []
    bus.serve_deferred("reset", Reset, lambda req, r: held.append(r))
    bus.request_async("reset", Reset, ResetRequest(), timeout_s=1.0)
    with pytest.raises(TypeError, match="must be ResetResponse"):
        held[0].reply(String("no"))  # type: ignore[arg-type]
    held[0].reply(ResetResponse(ok=True))
    assert held[0].done
    with pytest.raises(BusError, match="already answered"):
        held[0].reply(ResetResponse(ok=True))


def test_spinning_or_blocking_inside_a_callback_is_refused() -> None:
    """rclpy forbids it; the inproc bus refuses too, so node tests catch it."""
    bus = InprocBus(clock=SimClock())
    bus.serve("reset", Reset, lambda r: ResetResponse(ok=True))
    errors: list[str] = []

    def misbehave(_: String) -> None:
        for call in (
            lambda: bus.spin_once(),
            lambda: bus.request("reset", Reset, ResetRequest(), 1.0),
        ):
            with pytest.raises(BusError, match="inside a callback") as info:
                call()
            errors.append(str(info.value))
        # the non-blocking call is fine from a callback
        pending = bus.request_async("reset", Reset, ResetRequest(), 1.0)
        errors.append(f"async ok={pending.done() and pending.result().ok}")

    bus.subscribe("/s", String, misbehave)
    bus.publisher("/s", String).publish(String("x"))
    assert len(errors) == 3 and errors[-1] == "async ok=True"
    assert "request_async" in errors[0]
    bus.spin_once()  # outside any callback it works again


def test_namespace_and_private_names() -> None:
    bus = InprocBus(InprocConfig(namespace="/cell", node_name="actor"))
    assert bus.publisher("image", Image).topic == "/cell/image"
    assert bus.publisher("~/state", String).topic == "/cell/actor/state"
    assert bus.publisher("/abs", String).topic == "/abs"


def test_image_arrays_pass_without_copy() -> None:
    bus = InprocBus()
    got: list[Image] = []
    bus.subscribe("/img", Image, got.append, SENSOR_DATA)
    data = np.zeros(640 * 480 * 3, np.uint8)
    bus.publisher("/img", Image, SENSOR_DATA).publish(Image(data=data))
    assert got[0].data is data
