"""The cockpit in headless Chromium, end to end: keys and buttons reach `BrowserDevice.sample`
once the page takes control; a second tab watches but cannot steer until it takes control;
a closed tab ends the intervention and a reload re-attaches, with the server running on;
frames, events and curves show up; the STOP button holds the twin's arm; and pause, a
success label and reset reach the actor of a twin training graph."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import DiagnosticArray, DiagnosticStatus, EpisodeEvent, Header, Image
from robot_rl.bus.msgs.builtin_interfaces import Time
from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.gui.config import GuiConfig
from robot_rl.gui.device import BrowserDevice
from robot_rl.gui.twin_cell import TwinCellRig
from robot_rl.gui.twin_graph import TwinGraphConfig, TwinTrainingGraph, wait_for
from robot_rl.hil.command import command_twist, has_button
from robot_rl.hil.devices.base import DeviceSample
from robot_rl.hil.teleop_node import TeleopListener, TeleopNode
from robot_rl.nodes.convert import image_to_msg

pytestmark = pytest.mark.gui

INTERVENE = TeleopCommand.BUTTON_INTERVENE
# Long enough that a page starved by a busy 2-core CI machine does not lapse while open.
TIMEOUT_S = 1.5
# A tiny SAC whose random warm-up outlasts the test (the actor acts, nobody learns).
NO_UPDATES = (
    "{sac: {actor: {hidden_dims: [16]}, critic: {hidden_dims: [16]}}, random_steps: 100000}"
)
PAUSED_JS = "return document.getElementById('paused-state').hidden"


class Cell:
    """A browser device with a teleop node and a listener on one inproc bus."""

    def __init__(self, bus: InprocBus | None = None, **cfg: Any) -> None:
        self.bus = bus or InprocBus()
        cfg = {"port": 0, "timeout_s": TIMEOUT_S, "cameras": ("front", "wrist"), **cfg}
        self.device = BrowserDevice(GuiConfig(**cfg))
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
        self.device.close()


@pytest.fixture
def cell() -> Iterator[Cell]:
    c = Cell()
    yield c
    c.close()


def js(browser: Any, code: str) -> Any:
    return browser.execute_script(code)


def text(browser: Any, element_id: str) -> str:
    return str(js(browser, f"return document.getElementById('{element_id}').textContent"))


def open_tab(browser: Any, url: str) -> str:
    """Open ``url`` in a new tab, wait until its WebSocket is attached; returns the tab."""
    browser.switch_to.new_window("tab")
    browser.get(url)
    wait_for("page attached", lambda: text(browser, "link-state"), lambda v: v == "attached")
    return str(browser.current_window_handle)


def take_control(browser: Any, device: BrowserDevice) -> None:
    """Click "take control" and wait until the page streams (a key pressed before its first
    state would count as held from before, not as a fresh press)."""
    element(browser, "#take-control").click()
    wait_for("control", lambda: text(browser, "control-state"), lambda v: v == "you control")
    wait_for("streaming", device.link.state_name, lambda v: v == "connected")


@pytest.fixture
def page(browser: Any, cell: Cell) -> Iterator[Any]:
    """The page open in a fresh tab, holding control; its tabs are closed afterwards."""
    first = browser.current_window_handle
    open_tab(browser, cell.device.url)
    take_control(browser, cell.device)
    yield browser
    for tab in browser.window_handles:
        if tab != first:
            browser.switch_to.window(tab)
            browser.close()
    browser.switch_to.window(first)


def actions(browser: Any) -> Any:
    from selenium.webdriver.common.action_chains import ActionChains

    return ActionChains(browser)


def element(browser: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, css)


def test_keys_and_buttons_drive_the_device_and_the_published_command(page: Any, cell: Cell) -> None:
    s = cell.sample()
    assert not s.twist.any() and s.buttons == 0 and s.gripper == 1.0

    # Hold space (intervene) and w (forward, +x in the teleop frame).
    actions(page).key_down(" ").key_down("w").perform()
    s = wait_for("space+w", cell.sample, lambda s: bool(s.buttons & INTERVENE) and s.twist[0] > 0)
    assert s.twist[0] == pytest.approx(0.5) and not s.twist[1:].any()  # speed slider at 0.5
    cmd = cell.published()
    assert has_button(cmd, INTERVENE) and command_twist(cmd)[0] == pytest.approx(0.5)
    wait_for("badge", lambda: text(page, "intervene-state"), lambda v: v == "human")
    actions(page).key_up("w").key_up(" ").perform()
    wait_for("keys released", cell.sample, lambda s: s.buttons == 0 and not s.twist.any())

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
    element(page, "#grip-open").click()
    wait_for("gripper open", cell.sample, lambda s: s.gripper == 1.0)

    # A success click is an episode-control request on the bus (and a TeleopCommand pulse).
    events: list[EpisodeEvent] = []
    cell.bus.subscribe("episode_control", EpisodeEvent, events.append)
    element(page, "#btn-success").click()
    wait_for("success pulse", cell.sample, lambda s: bool(s.buttons & TeleopCommand.BUTTON_SUCCESS))

    def spun() -> int:
        cell.bus.spin_once(timeout_s=0.02)
        return len(events)

    wait_for("success request", spun, lambda n: n == 1)
    assert events[0].kind == EpisodeEvent.SUCCESS
    assert cell.device.link.rejected == 0 and int(text(page, "sent-count")) > 0


def test_a_second_tab_watches_but_cannot_steer_until_it_takes_control(
    page: Any, cell: Cell
) -> None:
    first = page.current_window_handle
    open_tab(page, cell.device.url)
    assert text(page, "control-state").startswith("viewer (another page")
    assert js(page, "return document.getElementById('btn-success').disabled")
    actions(page).key_down(" ").perform()  # the viewer holds space: nothing happens
    time.sleep(0.3)
    assert cell.sample().buttons == 0
    actions(page).key_up(" ").perform()
    take_control(page, cell.device)
    actions(page).key_down(" ").perform()
    wait_for("second tab steers", cell.sample, lambda s: s.buttons == INTERVENE)
    actions(page).key_up(" ").perform()
    page.switch_to.window(first)
    wait_for("first tab is a viewer", lambda: text(page, "control-state"), lambda v: "viewer" in v)


def test_closing_ends_the_intervention_and_a_reload_reattaches(page: Any, cell: Cell) -> None:
    diags: list[DiagnosticArray] = []
    cell.bus.subscribe("/diagnostics", DiagnosticArray, diags.append)
    actions(page).key_down(" ").perform()  # the operator is driving when the page goes
    wait_for("intervening", cell.sample, lambda s: s.buttons == INTERVENE)
    assert has_button(cell.published(), INTERVENE)

    t0 = time.monotonic()
    page.refresh()  # a reload (a closed tab looks the same to the server until it comes back)
    wait_for("reattached", lambda: text(page, "link-state"), lambda v: v == "attached")
    reattach_s = time.monotonic() - t0
    wait_for("still in control", lambda: text(page, "control-state"), lambda v: v == "you control")
    print(f"\nreload re-attached in {reattach_s:.2f} s")
    assert reattach_s < 2.0  # the acceptance bound of issue 12, not a speed claim
    # The reloaded page holds no key: the intervention ended, and the node runs on.
    wait_for("intervention ended", cell.sample, lambda s: s.buttons == 0)
    assert not has_button(cell.published(), INTERVENE) and not cell.node.lost

    page.close()
    page.switch_to.window(page.window_handles[0])
    wait_for(
        "lapse", lambda: cell.device.link.state_name(), lambda v: v == "silent", TIMEOUT_S + 10
    )
    cell.sample()  # the node's tick reports the lapse
    assert diags and diags[-1].status[0].level == DiagnosticStatus.WARN
    assert cell.device.server is not None  # the server keeps serving for the next page


def test_frames_events_and_curves_show_up(page: Any, cell: Cell, tmp_path: Path) -> None:
    pub = cell.bus.publisher("cameras/front/image_raw", Image)
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (255, 0, 0)  # left half red, right half blue: catches an RGB/BGR swap
    rgb[:, 32:] = (0, 0, 255)
    pub.publish(image_to_msg(rgb, Time(sec=1), "front"))
    seq_js = "const i = document.getElementById('camera-front'); return i ? i.dataset.seq : null"
    wait_for("frame 1 shown", lambda: js(page, seq_js), lambda v: v == "1")
    pixels_js = """
        const img = document.getElementById('camera-front');
        if (!img.complete || !img.naturalWidth) return null;
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        return [c.width, c.height, Array.from(g.getImageData(10, 24, 1, 1).data),
                Array.from(g.getImageData(54, 24, 1, 1).data)];
    """
    w, h, left, right = wait_for("decoded", lambda: js(page, pixels_js), lambda v: v is not None)
    assert (w, h) == (64, 48)
    assert np.abs(np.array(left[:3]) - (255, 0, 0)).max() < 40
    assert np.abs(np.array(right[:3]) - (0, 0, 255)).max() < 40
    assert "wrist" in text(page, "camera-waiting")
    pub.publish(image_to_msg(np.full((48, 64, 3), 90, np.uint8), Time(sec=2), "front"))
    wait_for("frame 2 shown", lambda: js(page, seq_js), lambda v: v == "2")

    events = cell.bus.publisher("episode_events", EpisodeEvent)
    events.publish(EpisodeEvent(Header(), kind=EpisodeEvent.FAILURE, episode_id=7))
    episode = wait_for("episode status", lambda: text(page, "episode-state"), lambda t: "7" in t)
    assert "failure" in episode and "1 failed" in episode

    # The curves update after an evaluation: the learner rewrites metrics.csv.
    from robot_rl.gui.metrics import MetricsCsv

    cell.device.cell._csv = MetricsCsv(tmp_path)
    points_js = "return document.getElementById('curve-success_rate').dataset.points || '0'"
    header = "env_steps,robot_minutes,wall_s,updates,updates_per_s,success,mean_return\n"
    (tmp_path / "metrics.csv").write_text(header + "100,0.2,5,50,10,0.0,-3.5\n")
    wait_for("first evaluation", lambda: js(page, points_js), lambda v: v == "1")
    (tmp_path / "metrics.csv").write_text(
        header + "100,0.2,5,50,10,0.0,-3.5\n200,0.3,9,90,9,0.5,-1\n"
    )
    wait_for("second evaluation", lambda: js(page, points_js), lambda v: v == "2")


def test_the_stop_button_holds_the_twin_arm_until_rearmed(browser: Any) -> None:
    rig = TwinCellRig()
    cell = Cell(rig.bus, cameras=())
    first = browser.current_window_handle
    rig.action[:] = [1.0, 0, 0, 0, 0, 0, 1.0]  # the policy drives +x at full speed
    rig.run_in_thread()
    try:
        open_tab(browser, cell.device.url)
        wait_for("arm moving", lambda: len(rig.tcp), lambda n: n > 30)
        element(browser, "#estop").click()  # a viewer may stop: no control needed
        wait_for("latched", lambda: rig.bridge.core.estopped, bool)
        with rig.lock:
            t0, held, n_targets = rig.now_s(), rig.tcp[-1][1].pos, len(rig.targets)
        wait_for(
            "banner",
            lambda: js(
                browser, "return getComputedStyle(document.getElementById('estop-banner')).display"
            ),
            lambda v: v == "block",
        )
        wait_for("2 s of sim time", rig.now_s, lambda t: t >= t0 + 2.0)
        with rig.lock:
            end = next(p for t, p in rig.tcp if t >= t0 + 2.0).pos
            after = [p for _, p in rig.targets[n_targets:]]
        drift_m = float(np.linalg.norm(end - held))
        print(f"\ne-stop from the page: drift {drift_m * 1e3:.2f} mm over 2 s of sim time")
        assert drift_m < 0.005
        assert after and all(np.array_equal(p.pos, after[0].pos) for p in after)
        assert rig.bridge.core.estop_refused >= 15  # the 10 Hz policy, refused throughout

        assert js(browser, "return document.getElementById('rearm').disabled")  # needs control
        take_control(browser, cell.device)
        element(browser, "#rearm").click()
        wait_for("re-armed", lambda: rig.bridge.core.estopped, lambda v: not v)
        wait_for("moving again", lambda: rig.tcp[-1][1].pos[0] - held[0], lambda d: d > 0.01)
    finally:
        rig.halt()
        if browser.current_window_handle != first:
            browser.close()
            browser.switch_to.window(first)
        cell.close()
        rig.stop()


def test_episode_controls_from_the_page_reach_the_actor_in_the_twin(browser: Any) -> None:
    """Pause holds the arm, a success click ends the episode with reward 1 stored on its
    last transition, and reset runs the reset node: clicked in the page, judged in the twin."""
    device = BrowserDevice(
        GuiConfig(port=0, timeout_s=TIMEOUT_S, cameras=(), run_name="twin-graph")
    )
    device.open()

    def attach(bus: Any) -> None:
        device.attach_bus(bus)
        TeleopNode(bus, device)

    graph = TwinTrainingGraph(
        TwinGraphConfig(episode_steps=200, policy_overrides=NO_UPDATES), attach
    )
    first = browser.current_window_handle
    graph.start()
    try:
        open_tab(browser, device.url)
        assert text(browser, "run-name") == "twin-graph"  # which run the page is attached to
        take_control(browser, device)

        def stored() -> list[Any]:
            with graph.lock:
                return list(graph.stored)

        wait_for("acting", lambda: len(stored()), lambda n: n >= 3)
        element(browser, "#btn-pause").click()
        wait_for("paused badge", lambda: js(browser, PAUSED_JS), lambda hidden: hidden is False)
        drift_mm, acted = graph.hold_since(graph.now_s())
        print(f"\npaused from the page: drift {drift_mm:.2f} mm over 2 s of sim time")
        assert acted == 0 and drift_mm < 5.0
        element(browser, "#btn-resume").click()
        wait_for("resumed", lambda: js(browser, PAUSED_JS), lambda hidden: hidden is True)

        n = len(wait_for("mid-episode", stored, lambda s: bool(s) and s[-1].step >= 1))
        element(browser, "#btn-success").click()
        wait_for("1 ok", lambda: text(browser, "episode-state"), lambda t: "(1 ok" in t)
        after = stored()[n:]
        last = next(s for s in after if s.reward == 1.0)
        assert last.terminated and all(
            s.episode_id == last.episode_id for s in after[: after.index(last)]
        )
        assert all(s.episode_id > last.episode_id for s in after[after.index(last) + 1 :])

        assert graph.reset is not None
        completed = graph.reset.completed
        episode = wait_for("acting again", stored, lambda s: s[-1].step >= 2)[-1].episode_id
        element(browser, "#btn-reset").click()
        wait_for(
            "reset node ran",
            lambda: graph.reset.completed if graph.reset else 0,
            lambda c: c > completed,
        )
        wait_for("new episode", lambda: stored()[-1].episode_id, lambda e: e > episode)
    finally:
        if browser.current_window_handle != first:
            browser.close()
            browser.switch_to.window(first)
        graph.stop()
        device.close()
    assert graph.error is None
