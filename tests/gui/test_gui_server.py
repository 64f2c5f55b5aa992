"""The GUI's HTTP server and the ``browser`` device over real HTTP, without a browser."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.msgs.robot_rl_interfaces import EpisodeEvent, RewardEstimate
from robot_rl.bus.msgs.std_msgs import Header
from robot_rl.gui.config import GuiConfig, is_loopback
from robot_rl.gui.device import BrowserDevice
from robot_rl.gui.server import TOKEN_HEADER
from robot_rl.hil.devices import DEVICES, make_device
from robot_rl.hil.errors import DeviceLostError, DeviceUnavailableError
from robot_rl.nodes.convert import image_to_msg

SESSION = "0123456789abcdef"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def state(seq: int, **over: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "session": SESSION,
        "seq": seq,
        "t_ms": 10.0 * seq,
        "twist": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
        "gripper": -1,
        "buttons": 1,
    }
    m.update(over)
    return m


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def device(clock: FakeClock) -> Iterator[BrowserDevice]:
    dev = BrowserDevice(GuiConfig(port=0, cameras=("front",)), clock=clock)
    dev.open()
    yield dev
    dev.close()


def request(
    dev: BrowserDevice,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, http.client.HTTPResponse]:
    assert dev.server is not None
    conn = http.client.HTTPConnection("127.0.0.1", dev.server.port, timeout=10)
    h = {"Content-Type": "application/json"} if method == "POST" else {}
    h.update(headers or {})
    data = json.dumps(body) if isinstance(body, dict) else body
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    out = r.read()
    conn.close()
    return r.status, out, r


def test_browser_is_a_registered_device_and_a_cli_command() -> None:
    from robot_rl.cli import build_parser

    assert DEVICES["browser"] is BrowserDevice
    assert isinstance(make_device("browser"), BrowserDevice)
    args = build_parser().parse_args(["gui", "--port", "0", "--bus", "inproc"])
    assert args.port == 0 and args.host == "127.0.0.1"
    args = build_parser().parse_args(["teleop", "--device", "browser"])
    assert args.device == "browser"
    args = build_parser().parse_args(["record-demos", "--task", "reach", "--teleop", "browser"])
    assert args.teleop == "browser"


def test_robot_rl_gui_serves_until_its_duration(capsys: pytest.CaptureFixture[str]) -> None:
    from robot_rl.cli import main

    assert main(["gui", "--bus", "inproc", "--port", "0", "--duration-s", "0.2"]) == 0
    assert "http://127.0.0.1:" in capsys.readouterr().err
    assert main(["gui", "--bus", "inproc", "--port", "0", "--timeout-s", "0"]) == 2


def test_the_page_is_self_contained(device: BrowserDevice) -> None:
    code, page, r = request(device, "GET", "/")
    assert code == 200 and r.getheader("Content-Type", "").startswith("text/html")
    text = page.decode()
    assert "__GUI_SETTINGS__" not in text and '"send_period_ms": 33' in text
    # No CDN or any other remote asset: the cell PC may have no internet.
    assert "https://" not in text and "http://" not in text and 'src="//' not in text
    assert "default-src 'self'" in r.getheader("Content-Security-Policy", "")


def test_posted_state_reaches_sample_and_bad_state_does_not(device: BrowserDevice) -> None:
    assert device.link.status()["device"] == "waiting"
    code, body, _ = request(device, "POST", "/state", state(0))
    reply = json.loads(body)
    assert code == 200 and reply["ok"] and reply["device"] == "connected" and reply["intervening"]
    s = device.sample()
    assert s.twist[2] == 0.5 and s.gripper == -1.0 and s.buttons == 1
    cmd = device.read(12.5)
    assert cmd.header.frame_id == "teleop" and cmd.twist.linear.z == 0.5

    nan = json.dumps(state(1)).replace("0.5", "NaN")
    code, body, _ = request(device, "POST", "/state", nan)
    assert code == 400 and "not a number" in json.loads(body)["reason"]
    code, _, _ = request(device, "POST", "/state", state(0, twist=[0.1] * 6))  # replayed seq
    assert code == 409
    code, body, _ = request(device, "POST", "/state", state(5, session="another-page-1"))
    assert code == 409 and "another page" in json.loads(body)["reason"]
    code, _, _ = request(device, "POST", "/state", state(6, twist=[9, 0, 0, 0, 0, 0]))
    assert code == 200 and device.sample().twist[0] == 1.0  # clamped
    assert device.link.rejected == 3 and device.link.clamped == 1


def test_foreign_requests_are_refused(device: BrowserDevice) -> None:
    body = json.dumps(state(0))
    cases = [
        ({"Content-Type": "text/plain"}, 415),  # a form or no-cors fetch from another site
        ({"Origin": "http://evil.example"}, 403),
        ({"Host": "evil.example:80"}, 403),  # DNS rebinding
    ]
    for headers, expected in cases:
        code, _, _ = request(device, "POST", "/state", body, headers)
        assert code == expected, headers
    code, _, _ = request(device, "POST", "/state", "x" * 10_000)
    assert code == 413
    assert device.link.accepted == 0 and device.link.status()["device"] == "waiting"


def test_a_token_is_required_when_one_is_set(clock: FakeClock) -> None:
    dev = BrowserDevice(GuiConfig(port=0, token="s3cret-token"), clock=clock)
    dev.open()
    try:
        assert dev.url.endswith("/?token=s3cret-token")
        assert request(dev, "GET", "/")[0] == 403
        assert request(dev, "GET", "/?token=wrong")[0] == 403
        assert request(dev, "GET", "/?token=s3cret-token")[0] == 200
        assert request(dev, "POST", "/state", state(0))[0] == 403
        assert request(dev, "POST", "/state", state(0), {TOKEN_HEADER: "s3cret-token"})[0] == 200
    finally:
        dev.close()


def test_off_loopback_a_token_is_generated() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    dev = BrowserDevice(GuiConfig(host="0.0.0.0", port=0))
    dev.open()
    try:
        assert len(dev.token) >= 16 and f"?token={dev.token}" in dev.url
        assert request(dev, "GET", "/status")[0] == 403
    finally:
        dev.close()


def test_silence_after_connecting_loses_the_device(device: BrowserDevice, clock: FakeClock) -> None:
    request(device, "POST", "/state", state(0))
    clock.t += device.cfg.timeout_s + 0.01
    with pytest.raises(DeviceLostError, match="browser"):
        device.sample()
    code, body, _ = request(device, "POST", "/state", state(1))
    assert code == 409 and json.loads(body)["device"] == "lost"


def test_a_busy_port_is_device_unavailable(device: BrowserDevice) -> None:
    assert device.server is not None
    other = BrowserDevice(GuiConfig(port=device.server.port))
    with pytest.raises(DeviceUnavailableError, match="--port"):
        other.open()
    other.close()


def test_close_twice_and_sample_after_close(device: BrowserDevice) -> None:
    device.close()
    device.close()
    with pytest.raises(DeviceLostError):
        device.sample()


def test_bus_cameras_and_episode_status_are_served(device: BrowserDevice) -> None:
    bus = InprocBus()
    device.attach_bus(bus)
    assert request(device, "GET", "/camera/front.jpg")[0] == 404
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (255, 0, 0)
    rgb[:, 32:] = (0, 0, 255)
    bus.publisher("cameras/front/image_raw", type(image_to_msg(rgb, Time(), "f"))).publish(
        image_to_msg(rgb, Time(sec=3), "front")
    )
    code, jpg, r = request(device, "GET", "/camera/front.jpg")
    assert code == 200 and r.getheader("X-Frame-Seq") == "1"
    assert r.getheader("X-Frame-Stamp-Ns") == str(3 * 10**9)
    back = cv2.cvtColor(
        cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
    )
    assert back.shape == (48, 64, 3)
    assert np.abs(back[24, 10].astype(int) - (255, 0, 0)).max() < 40  # red stays red (RGB order)
    assert np.abs(back[24, 54].astype(int) - (0, 0, 255)).max() < 40

    bus.publisher("episode_events", EpisodeEvent).publish(
        EpisodeEvent(Header(), kind=EpisodeEvent.SUCCESS, episode_id=4)
    )
    bus.publisher("reward", RewardEstimate).publish(RewardEstimate(Header(), "clf", 1.0))
    status = json.loads(request(device, "GET", "/status")[1])
    assert status["cameras"]["front"]["width"] == 64
    ep = status["episode"]
    assert ep["event"]["kind"] == "success" and ep["event"]["episode_id"] == 4
    assert ep["successes"] == 1 and ep["reward"]["reward"] == 1.0
    assert ep["reward"]["success_prob"] is None  # NaN in the message: null in JSON
    bus.close()


def test_record_demos_viewer_shows_env_frames(device: BrowserDevice) -> None:
    device.source.show(np.full((8, 8, 3), 200, np.uint8))
    assert request(device, "GET", "/camera/front.jpg")[0] == 200
