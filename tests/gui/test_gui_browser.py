"""The intervention page in headless Chromium, end to end: keys and on-screen buttons reach
`BrowserDevice.sample` and the published `TeleopCommand`, a closed tab loses the device,
and a camera frame published on the bus shows up in the page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
import pytest

from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.msgs.diagnostic_msgs import DiagnosticArray, DiagnosticStatus
from robot_rl.bus.msgs.robot_rl_interfaces import EpisodeEvent, TeleopCommand
from robot_rl.bus.msgs.sensor_msgs import Image
from robot_rl.bus.msgs.std_msgs import Header
from robot_rl.bus.qos import SENSOR_DATA
from robot_rl.gui.config import GuiConfig
from robot_rl.gui.device import BrowserDevice
from robot_rl.hil.command import command_twist, has_button
from robot_rl.hil.devices.base import DeviceSample
from robot_rl.hil.errors import DeviceLostError
from robot_rl.hil.teleop_node import TeleopListener, TeleopNode
from robot_rl.nodes.convert import image_to_msg

pytestmark = pytest.mark.gui

INTERVENE = TeleopCommand.BUTTON_INTERVENE
# Long enough that a page starved by a busy 2-core CI machine is not declared gone
# while it is open; the closed-tab test waits for it once.
TIMEOUT_S = 1.5
T = TypeVar("T")


def wait_for(what: str, get: Callable[[], T], ok: Callable[[T], bool], limit_s: float = 10.0) -> T:
    """Poll ``get`` until ``ok``; the limit only bounds a broken run (no timing is asserted)."""
    deadline = time.monotonic() + limit_s
    while True:
        value = get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {limit_s} s")
        time.sleep(0.01)


class Cell:
    """A browser device with a teleop node and a listener on one inproc bus."""

    def __init__(self) -> None:
        self.bus = InprocBus()
        self.device = BrowserDevice(
            GuiConfig(port=0, timeout_s=TIMEOUT_S, cameras=("front", "wrist"))
        )
        self.device.open()
        self.device.attach_bus(self.bus)
        self.node = TeleopNode(self.bus, self.device)
        self.listener = TeleopListener(self.bus)

    def sample(self) -> DeviceSample:
        return self.device.sample()

    def published(self) -> TeleopCommand:
        """What the teleop node publishes now (the timer's work, done by hand)."""
        assert self.node.tick() is not None
        assert self.listener.latest is not None
        return self.listener.latest

    def close(self) -> None:
        self.node.close()
        self.listener.close()
        self.bus.close()


@pytest.fixture
def cell() -> Iterator[Cell]:
    c = Cell()
    yield c
    c.close()


@pytest.fixture
def page(browser: Any, cell: Cell) -> Iterator[Any]:
    """The page open in a fresh tab, connected; the tab is closed afterwards."""
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(cell.device.url)
    wait_for(
        "page connects", lambda: cell.device.link.status()["device"], lambda v: v == "connected"
    )
    tab = browser.current_window_handle
    yield browser
    if tab in browser.window_handles:  # a test may have closed it already
        browser.switch_to.window(tab)
        browser.close()
    browser.switch_to.window(first)


def actions(browser: Any) -> Any:
    from selenium.webdriver.common.action_chains import ActionChains

    return ActionChains(browser)


def element(browser: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, css)


def text(browser: Any, element_id: str) -> str:
    return str(
        browser.execute_script(f"return document.getElementById('{element_id}').textContent")
    )


def test_keys_and_buttons_drive_the_device_and_the_published_command(page: Any, cell: Cell) -> None:
    s = cell.sample()
    assert not s.twist.any() and s.buttons == 0 and s.gripper == 1.0

    # Hold space (intervene) and w (forward, +x in the teleop frame).
    actions(page).key_down(" ").key_down("w").perform()
    s = wait_for("space+w", cell.sample, lambda s: bool(s.buttons & INTERVENE) and s.twist[0] > 0)
    assert s.twist[0] == pytest.approx(0.5) and not s.twist[1:].any()  # speed slider at 0.5
    cmd = cell.published()
    assert has_button(cmd, INTERVENE) and command_twist(cmd)[0] == pytest.approx(0.5)
    assert cmd.header.frame_id == "teleop"
    wait_for("badge", lambda: text(page, "intervene-state"), lambda v: v == "human")
    actions(page).key_up("w").key_up(" ").perform()
    wait_for("keys released", cell.sample, lambda s: s.buttons == 0 and not s.twist.any())
    assert not has_button(cell.published(), INTERVENE)

    # The on-screen hold-to-intervene button, then a rotation jog button (yaw -).
    actions(page).click_and_hold(element(page, "#intervene")).perform()
    wait_for("button held", cell.sample, lambda s: s.buttons == INTERVENE)
    actions(page).release().perform()
    wait_for("button released", cell.sample, lambda s: s.buttons == 0)
    actions(page).click_and_hold(element(page, '[data-hold="yaw-"]')).perform()
    s = wait_for("yaw- held", cell.sample, lambda s: s.twist[5] < 0)
    assert s.twist[5] == pytest.approx(-0.5) and not s.twist[:5].any()
    actions(page).release().perform()
    wait_for("yaw- released", cell.sample, lambda s: not s.twist.any())

    # Gripper: c closes (sticky), the open button opens.
    actions(page).send_keys("c").perform()
    wait_for("gripper closed", cell.sample, lambda s: s.gripper == -1.0)
    assert cell.published().gripper == -1.0
    element(page, "#grip-open").click()
    wait_for("gripper open", cell.sample, lambda s: s.gripper == 1.0)

    # A click on success is held long enough for a 10 Hz reader to see it.
    element(page, "#btn-success").click()
    wait_for("success", cell.sample, lambda s: bool(s.buttons & TeleopCommand.BUTTON_SUCCESS))
    wait_for("success ends", cell.sample, lambda s: s.buttons == 0)

    # Everything the page sent was well formed and in order (its rate is not asserted:
    # no timed assertions; docs/gui.md gives the rate measured on the CI machine).
    assert cell.device.link.rejected == 0
    assert int(text(page, "sent-count")) > 0


def test_closing_the_tab_loses_the_device_and_stops_the_node(page: Any, cell: Cell) -> None:
    diags: list[DiagnosticArray] = []
    cell.bus.subscribe("/diagnostics", DiagnosticArray, diags.append)
    actions(page).key_down(" ").perform()  # the operator is driving when the tab goes
    wait_for("intervening", cell.sample, lambda s: s.buttons == INTERVENE)
    assert has_button(cell.published(), INTERVENE)
    page.close()  # the tab, not the browser
    page.switch_to.window(page.window_handles[0])

    def lost() -> str:
        try:
            cell.device.sample()
        except DeviceLostError as e:
            return str(e)
        return ""

    reason = wait_for("device lost", lost, bool, limit_s=TIMEOUT_S + 10.0)
    assert "browser" in reason and f"timeout {TIMEOUT_S:g} s" in reason
    assert cell.node.tick() is None and cell.node.lost  # the node stops publishing
    assert diags and diags[-1].status[0].level == DiagnosticStatus.ERROR
    assert cell.device.link.status()["device"] == "lost"


def test_a_camera_frame_on_the_bus_shows_up_in_the_page(page: Any, cell: Cell) -> None:
    pub = cell.bus.publisher("cameras/front/image_raw", Image, SENSOR_DATA)
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (255, 0, 0)  # left half red, right half blue: catches an RGB/BGR swap
    rgb[:, 32:] = (0, 0, 255)
    pub.publish(image_to_msg(rgb, Time(sec=1), "front"))

    seq_js = "const i = document.getElementById('camera-front'); return i ? i.dataset.seq : null"
    wait_for("frame 1 shown", lambda: page.execute_script(seq_js), lambda v: v == "1")
    pixels_js = """
        const img = document.getElementById('camera-front');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        return [c.width, c.height, Array.from(g.getImageData(10, 24, 1, 1).data),
                Array.from(g.getImageData(54, 24, 1, 1).data)];
    """
    w, h, left, right = page.execute_script(pixels_js)
    assert (w, h) == (64, 48)
    assert np.abs(np.array(left[:3]) - (255, 0, 0)).max() < 40
    assert np.abs(np.array(right[:3]) - (0, 0, 255)).max() < 40
    assert "wrist" in text(page, "camera-waiting")  # no frame from the wrist camera yet

    pub.publish(image_to_msg(np.full((48, 64, 3), 90, np.uint8), Time(sec=2), "front"))
    wait_for("frame 2 shown", lambda: page.execute_script(seq_js), lambda v: v == "2")

    events = cell.bus.publisher("episode_events", EpisodeEvent)
    events.publish(EpisodeEvent(Header(), kind=EpisodeEvent.FAILURE, episode_id=7))
    episode = wait_for("episode status", lambda: text(page, "episode-state"), lambda t: "7" in t)
    assert "failure" in episode and "1 failed" in episode
