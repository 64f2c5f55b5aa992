"""The cockpit's server and the ``browser`` device over real HTTP and WebSocket, without a
browser: routes, security checks, control, commands, and what the bus feeds it."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import Action, DiagnosticArray, EpisodeEvent, Header, Image, String
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.msgs.robot_rl_interfaces import RewardEstimate
from robot_rl.gui.config import GuiConfig, is_loopback
from robot_rl.gui.device import BrowserDevice
from robot_rl.gui.server import TOKEN_HEADER
from robot_rl.hil.devices import DEVICES, make_device
from robot_rl.hil.errors import DeviceLostError, DeviceUnavailableError
from robot_rl.nodes import diagnostics as diag
from robot_rl.nodes.convert import image_to_msg

CLIENT, SESSION = "tab-0001", "0123456789abcdef"
TOKEN = "a-long-enough-token-0123"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def state(seq: int, **over: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "type": "state",
        "session": SESSION,
        "seq": seq,
        "t_ms": 10.0 * seq,
        "twist": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
        "gripper": -1,
        "buttons": 0 if seq == 0 else 1,
    }
    m.update(over)
    return m


@pytest.fixture
def device() -> Iterator[BrowserDevice]:
    dev = BrowserDevice(GuiConfig(port=0, cameras=("front",)))
    dev.open()
    yield dev
    dev.close()


def port(dev: BrowserDevice) -> int:
    assert dev.server is not None
    return dev.server.port


def request(
    dev: BrowserDevice,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port(dev), timeout=5)
    h = {"Content-Type": "application/json"} if method == "POST" else {}
    h.update(headers or {})
    data = json.dumps(body) if isinstance(body, dict) else body
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    out = r.read()
    conn.close()
    return r.status, out, r


def raw(dev: BrowserDevice, head: str) -> str:
    """Send raw request headers (no body) and return the status line; a server that waited
    for a body would hit the 3 s socket timeout instead."""
    with socket.create_connection(("127.0.0.1", port(dev)), timeout=3.0) as s:
        s.sendall(head.replace("\n", "\r\n").encode() + b"\r\n\r\n")
        return s.recv(4096).decode(errors="replace").split("\r\n")[0]


class Page:
    """A WebSocket client standing in for one page (``client`` kept across reloads)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, obj: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(obj))

    async def next(self, kind: str) -> Any:
        while True:
            m = await asyncio.wait_for(self.ws.receive(), 5.0)
            if m.type == aiohttp.WSMsgType.BINARY:
                if kind == "frame":
                    return m.data
                continue
            obj = json.loads(m.data)
            if obj["type"] == kind:
                return obj


def with_pages(dev: BrowserDevice, fn: Any, *ids: tuple[str, str], **kw: Any) -> Any:
    """Run ``await fn(*pages)`` with one connected page per (client, session)."""

    async def main() -> Any:
        async with aiohttp.ClientSession() as http_session:
            pages = []
            for client, session in ids:
                url = f"ws://127.0.0.1:{port(dev)}/ws?client={client}&session={session}"
                pages.append(Page(await http_session.ws_connect(url, **kw)))
            return await fn(*pages)

    return asyncio.run(main())


def test_browser_is_a_registered_device_and_a_cli_command() -> None:
    from robot_rl.cli import build_parser

    assert DEVICES["browser"] is BrowserDevice
    assert isinstance(make_device("browser"), BrowserDevice)
    args = build_parser().parse_args(["gui", "--port", "0", "--bus", "inproc", "--run-dir", "r"])
    assert args.port == 0 and args.host == "127.0.0.1" and args.run_dir == "r"


def test_robot_rl_gui_serves_until_its_duration(capsys: pytest.CaptureFixture[str]) -> None:
    from robot_rl.cli import main

    assert main(["gui", "--bus", "inproc", "--port", "0", "--duration-s", "0.2"]) == 0
    assert "http://127.0.0.1:" in capsys.readouterr().err
    assert main(["gui", "--bus", "inproc", "--port", "0", "--timeout-s", "0"]) == 2
    # A weak token off loopback is refused (exit 2, one line).
    assert main(["gui", "--bus", "inproc", "--host", "0.0.0.0", "--token", "a"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err


def test_the_page_is_self_contained(device: BrowserDevice) -> None:
    code, page, r = request(device, "GET", "/")
    assert code == 200 and r.getheader("Content-Type", "").startswith("text/html")
    text = page.decode()
    assert "__GUI_SETTINGS__" not in text and '"send_period_ms": 33' in text
    # No CDN or any other remote asset: the cell PC may have no internet.
    assert "https://" not in text and "http://" not in text and 'src="//' not in text
    assert "default-src 'self'" in r.getheader("Content-Security-Policy", "")


def test_weak_tokens_are_refused_off_loopback_only() -> None:
    with pytest.raises(ValueError, match="16 characters"):
        GuiConfig(host="0.0.0.0", token="a")
    with pytest.raises(ValueError, match="16 characters"):
        GuiConfig(host="192.168.1.10", token="fifteen-chars-x")
    GuiConfig(host="0.0.0.0", token="sixteen-chars-xx")
    GuiConfig(host="127.0.0.1", token="a")  # loopback: any token is extra
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


def test_every_route_needs_the_token_off_loopback() -> None:
    dev = BrowserDevice(GuiConfig(host="0.0.0.0", port=0))
    dev.open()
    try:
        assert len(dev.token) >= 16 and f"?token={dev.token}" in dev.url
        routes = [
            ("GET", "/"), ("GET", "/status"), ("GET", "/ws"), ("GET", "/camera/front.jpg"),
            ("GET", "/no-such-page"), ("POST", "/command"),
        ]  # fmt: skip
        for method, path in routes:
            assert request(dev, method, path, {"kind": "estop"})[0] == 403, path
            wrong = {TOKEN_HEADER: "x" * 22}
            assert request(dev, method, path, {"kind": "estop"}, wrong)[0] == 403, path
        assert request(dev, "GET", f"/?token={dev.token}")[0] == 200
        assert request(dev, "GET", "/status", headers={TOKEN_HEADER: dev.token})[0] == 200
        assert dev.server is not None and dev.server.commands_sent == 0
    finally:
        dev.close()


def test_foreign_origin_and_host_are_refused(device: BrowserDevice) -> None:
    est = {"kind": "estop"}
    assert request(device, "POST", "/command", est, {"Origin": "http://evil.example"})[0] == 403
    assert request(device, "GET", "/", headers={"Host": "evil.example:80"})[0] == 403  # rebinding
    assert request(device, "POST", "/command", est, {"Content-Type": "text/plain"})[0] == 415

    async def foreign() -> int:
        async with aiohttp.ClientSession() as s:
            url = f"ws://127.0.0.1:{port(device)}/ws?client={CLIENT}&session={SESSION}"
            try:
                await s.ws_connect(url, origin="http://evil.example")
            except aiohttp.WSServerHandshakeError as e:
                return e.status
            return 101

    assert asyncio.run(foreign()) == 403  # cross-site WebSocket hijacking
    assert device.server is not None and device.server.commands_sent == 0


def test_malformed_content_length_is_400_at_once(device: BrowserDevice) -> None:
    for value in ("-1", "abc", "1, 2", "99999999999999999999999"):
        line = raw(device, f"POST /command HTTP/1.1\nHost: 127.0.0.1\nContent-Length: {value}")
        assert " 400 " in line + " ", (value, line)
    head = "POST /command HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
    line = raw(device, head + "Content-Length: 100000")
    assert " 413 " in line  # too long: refused before reading it
    assert request(device, "GET", "/status")[0] == 200  # and the server is still serving


def test_the_token_is_checked_before_any_body_is_read() -> None:
    dev = BrowserDevice(GuiConfig(port=0, token=TOKEN))
    dev.open()
    try:
        # Announces 1000 bytes and sends none: the refusal must come without waiting for them.
        head = "POST /command HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        assert " 403 " in raw(dev, head + "Content-Length: 1000")
        assert " 403 " in raw(
            dev, head + f"{TOKEN_HEADER}: wrong-token-0123456789\nContent-Length: 1000"
        )
    finally:
        dev.close()


def test_a_viewer_cannot_steer_until_it_takes_control(device: BrowserDevice) -> None:
    device.attach_bus(InprocBus())  # for the stop to go somewhere

    async def run(a: Page, b: Page) -> None:
        await a.send(state(0))
        assert "take control" in (await a.next("reject"))["reason"]
        await a.send({"type": "command", "kind": "pause", "id": 1})
        assert not (await a.next("result"))["ok"]
        await a.send({"type": "take"})
        assert (await a.next("status"))["you_control"]
        for seq in (0, 1):
            await a.send(state(seq))
            assert (await a.next("ack"))["seq"] == seq
        s = device.sample()
        assert s.twist[2] == 0.5 and s.gripper == -1.0 and s.buttons == 1
        # The second page watches: its states and episode commands are refused, its stop is not.
        await b.send(state(2, session="second-session"))
        assert "take control" in (await b.next("reject"))["reason"]
        await b.send({"type": "command", "kind": "success", "id": 2})
        assert not (await b.next("result"))["ok"]
        await b.send({"type": "command", "kind": "estop", "id": 3})
        assert (await b.next("result"))["ok"]
        st = await b.next("status")
        assert not st["you_control"] and st["viewers"] == 2 and st["link"]["intervening"]
        # It takes control explicitly; the first page is refused from then on.
        await b.send({"type": "take"})
        assert (await b.next("status"))["you_control"]
        await a.send(state(3))
        assert "take control" in (await a.next("reject"))["reason"]
        assert device.sample().buttons == 0  # the new operator starts from no motion

    with_pages(device, run, (CLIENT, SESSION), ("tab-0002", "second-session"))


def test_a_reload_keeps_control_and_needs_a_fresh_press(device: BrowserDevice) -> None:
    async def first(a: Page) -> None:
        await a.send({"type": "take"})
        await a.send(state(0))
        await a.send(state(1))
        assert (await a.next("ack"))["seq"] == 0 and (await a.next("ack"))["seq"] == 1

    with_pages(device, first, (CLIENT, SESSION))
    assert device.sample().buttons == 1  # within the timeout
    reloaded = "reloaded-session"

    async def second(a: Page) -> None:
        assert (await a.next("status"))["you_control"]  # same tab, new page load
        await a.send(state(0, session=reloaded, buttons=1))
        await a.next("ack")
        assert device.sample().buttons == 0  # still held across the reload: not a press
        await a.send(state(1, session=reloaded, buttons=0))
        await a.send(state(2, session=reloaded, buttons=1))
        await a.next("ack")
        await a.next("ack")
        assert device.sample().buttons == 1

    with_pages(device, second, (CLIENT, reloaded))


def test_silence_ends_the_intervention_with_a_diagnostic_and_the_server_lives_on() -> None:
    clock = FakeClock()
    dev = BrowserDevice(GuiConfig(port=0), clock=clock)
    dev.open()
    bus = InprocBus()
    dev.attach_bus(bus)
    diags: list[DiagnosticArray] = []
    bus.subscribe("/diagnostics", DiagnosticArray, diags.append)
    try:

        async def run(a: Page) -> None:
            await a.send({"type": "take"})
            for seq in (0, 1):
                await a.send(state(seq))
                await a.next("ack")

        with_pages(dev, run, (CLIENT, SESSION))
        assert dev.sample().buttons == 1
        clock.t += dev.cfg.timeout_s + 0.01
        assert dev.sample().buttons == 0
        (status,) = diags[-1].status
        assert status.level == diag.WARN and "intervention ended" in status.message
        assert request(dev, "GET", "/status")[0] == 200
        dev.close()
        with pytest.raises(DeviceLostError):
            dev.sample()
    finally:
        dev.close()
        bus.close()


def test_commands_reach_the_bus(device: BrowserDevice) -> None:
    code, body, _ = request(device, "POST", "/command", {"kind": "estop"})
    assert code == 503 and "no bus" in json.loads(body)["reason"]  # never a silent drop
    bus = InprocBus()
    device.attach_bus(bus)
    events: list[EpisodeEvent] = []
    estops: list[str] = []
    bus.subscribe("episode_control", EpisodeEvent, events.append)
    bus.subscribe("estop", String, lambda m: estops.append(m.data))

    async def run(a: Page) -> None:
        await a.send({"type": "take"})
        for i, kind in enumerate(("start", "pause", "resume", "success", "failure", "reset")):
            await a.send({"type": "command", "kind": kind, "id": i})
            assert (await a.next("result"))["ok"]
        for kind in ("estop", "rearm"):
            await a.send({"type": "command", "kind": kind, "id": 9})
            assert (await a.next("result"))["ok"]
        await a.send({"type": "command", "kind": "explode", "id": 10})
        assert not (await a.next("result"))["ok"]

    with_pages(device, run, (CLIENT, SESSION))
    assert request(device, "POST", "/command", {"kind": "estop"})[0] == 200
    assert request(device, "POST", "/command", {"kind": "rearm"})[0] == 409  # needs control
    for _ in range(3):
        bus.spin_once(timeout_s=0.05)  # the bus's timer publishes what the server queued
    kinds = [e.kind for e in events]
    assert kinds == [EpisodeEvent.START, EpisodeEvent.PAUSE, EpisodeEvent.RESUME,
                     EpisodeEvent.SUCCESS, EpisodeEvent.FAILURE, EpisodeEvent.RESET]  # fmt: skip
    assert all(e.detail == f"gui {CLIENT}" for e in events)
    assert estops[0].startswith("estop") and estops[1] == "rearm" and estops[2].startswith("estop")
    bus.close()


def test_the_bus_feeds_status_frames_and_curves(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text(
        "env_steps,robot_minutes,wall_s,updates,updates_per_s,success,mean_return\n"
        "100,0.2,5,50,10,0.0,-3.5\n200,0.3,9,150,25,0.5,-1.0\n"
    )
    device = BrowserDevice(GuiConfig(port=0, cameras=("front",), run_dir=str(tmp_path)))
    device.open()
    bus = InprocBus()
    device.attach_bus(bus)
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (255, 0, 0)
    bus.publisher("cameras/front/image_raw", Image).publish(image_to_msg(rgb, Time(sec=3), "front"))
    bus.publisher("reward", RewardEstimate).publish(
        RewardEstimate(Header(), "classifier", 1.0, 0.93, 4.5)
    )
    ev, act = bus.publisher("episode_events", EpisodeEvent), bus.publisher("action", Action)
    ev.publish(EpisodeEvent(Header(), kind=EpisodeEvent.START, episode_id=4))
    for intervened in (False, True, True, False, True):
        act.publish(Action(Header(), 0, 0, np.zeros(7, np.float32), intervened))
    ev.publish(EpisodeEvent(Header(), kind=EpisodeEvent.SUCCESS, episode_id=4))
    ev.publish(EpisodeEvent(Header(), kind=EpisodeEvent.PAUSE, episode_id=5))
    bridge = diag.status(
        "impedance_bridge", diag.ERROR, "e-stop latched", {"estop": 1, "estop_reason": "x"}
    )
    learner = diag.status(
        "learner",
        diag.OK,
        "learning",
        {"stored": 7, "weights_version": 3, "replay_transitions": 7, "updates": 12},
    )
    bus.publisher("/diagnostics", DiagnosticArray).publish(
        diag.diagnostic_array(Time(sec=1), bridge, learner)
    )

    async def run(a: Page) -> tuple[Any, Any, bytes]:
        curves = await a.next("curves")
        frame = await a.next("frame")
        return await a.next("status"), curves, frame

    st, curves, frame = with_pages(device, run, (CLIENT, SESSION))
    cell = st["cell"]
    assert cell["episode_event"] == "pause" and cell["paused"] and cell["successes"] == 1
    assert cell["reward"] == {
        "source": "classifier",
        "reward": 1.0,
        "success_prob": 0.93,
        "latency_ms": 4.5,
    }
    assert cell["estop"] and cell["estop_reason"] == "x"
    assert cell["diagnostics"][0]["name"] == "impedance_bridge"
    assert cell["learner"]["weight_version"] == 3 and cell["learner"]["replay_size"] == 7
    assert cell["run"] == tmp_path.name
    assert st["cameras"]["front"]["width"] == 64 and st["cameras"]["front"]["age_ms"] >= 0
    series = curves["series"]
    assert series["interventions"] == [[1, 2]] and series["intervention_rate"] == [[1, 0.6]]
    assert series["success_rate"] == [[100, 0.0], [200, 0.5]] and series["return"][1] == [200, -1.0]
    (n,) = struct.unpack(">I", frame[:4])
    head = json.loads(frame[4 : 4 + n])
    assert head["camera"] == "front" and head["seq"] == 1 and head["stamp_ns"] == 3 * 10**9
    assert frame[4 + n : 4 + n + 2] == b"\xff\xd8"  # a JPEG
    code, _, r = request(device, "GET", "/camera/front.jpg")
    assert code == 200 and r.getheader("X-Frame-Seq") == "1"
    device.close()
    bus.close()


def test_a_busy_port_is_device_unavailable(device: BrowserDevice) -> None:
    other = BrowserDevice(GuiConfig(port=port(device)))
    with pytest.raises(DeviceUnavailableError, match="--port"):
        other.open()
    other.close()


def test_record_demos_viewer_shows_env_frames(device: BrowserDevice) -> None:
    device.source.show(np.full((8, 8, 3), 200, np.uint8))
    assert request(device, "GET", "/camera/front.jpg")[0] == 200
