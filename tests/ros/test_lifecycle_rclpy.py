"""The hardware drivers as lifecycle nodes under rclpy, driven through lifecycle_msgs services
(what ``ros2 lifecycle set`` and lifecycle managers call), started with ``autostart:=false``.

- impedance bridge: configure makes its topics, activate accepts actions, deactivate drops
  them (the target holds the measured pose), cleanup destroys its topics;
- camera (playing a RealSense recording): frames flow only while active.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from graphs import ros_processes

from robot_rl.bus.msgs import Action, Header, Image, PoseStamped
from robot_rl.bus.qos import SENSOR_DATA, QoS
from robot_rl.bus.ros2 import Ros2Bus, Ros2Config
from robot_rl.control.safety import Pose
from robot_rl.nodes.convert import pose_from_msg, pose_to_msg

WAIT_S = 60.0
MEASURED = Pose(np.array([0.5, 0.0, 0.22]), np.array([0.0, 1.0, 0.0, 0.0]))


@pytest.fixture
def bus(rclpy_context: Any, request: pytest.FixtureRequest) -> Iterator[Ros2Bus]:
    b = Ros2Bus(Ros2Config(node_name=f"lifecycle_{request.node.name[5:30]}"))
    yield b
    b.close()


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


class _Lifecycle:
    """Client of one node's lifecycle services."""

    def __init__(self, bus: Ros2Bus, node: str, proc: subprocess.Popen[bytes], log: Path):
        from lifecycle_msgs.srv import ChangeState, GetState

        self.bus, self.proc, self.log = bus, proc, log
        self._change = bus.node.create_client(ChangeState, f"/{node}/change_state")
        self._get = bus.node.create_client(GetState, f"/{node}/get_state")

    def spin_until(self, cond: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not cond():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{what}: rc={self.proc.poll()}\n{self.log.read_text()[-3000:]}")
            self.bus.spin_once(0.01)

    def _call(self, client: Any, request: Any) -> Any:
        self.spin_until(client.service_is_ready, "lifecycle service")
        future = client.call_async(request)
        self.spin_until(future.done, "lifecycle reply")
        return future.result()

    def state(self) -> str:
        from lifecycle_msgs.srv import GetState

        return str(self._call(self._get, GetState.Request()).current_state.label)

    def set(self, transition: str) -> bool:
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        request = ChangeState.Request()
        request.transition.id = getattr(Transition, f"TRANSITION_{transition.upper()}")
        return bool(self._call(self._change, request).success)


def test_bridge_accepts_commands_only_while_active(bus: Ros2Bus, tmp_path: Path) -> None:
    procs = ros_processes("twin_cell", tmp_path, {})
    log = tmp_path / "bridge.log"
    proc = _start([*procs.command("impedance_bridge"), "-p", "autostart:=false"], log)
    node = _Lifecycle(bus, "impedance_bridge", proc, log)
    targets: list[PoseStamped] = []
    bus.subscribe("target_pose", PoseStamped, targets.append, QoS(depth=1000))
    pose = bus.publisher("current_pose", PoseStamped)
    action = bus.publisher("action", Action)
    bus.timer(0.02, lambda: pose.publish(pose_to_msg(MEASURED, bus.now(), "base")))
    push = np.array([1.0, 0, 0, 0, 0, 0, 0], np.float32)  # +x at full scale
    bus.timer(0.1, lambda: action.publish(Action(Header(bus.now(), "base"), action=push)))

    def run_for(seconds: float) -> list[np.ndarray]:
        start = len(targets)
        end = time.monotonic() + seconds
        node.spin_until(lambda: time.monotonic() > end, "running")
        return [pose_from_msg(t).pos for t in targets[start:]]

    def offset(positions: list[np.ndarray]) -> float:
        return float(np.abs(np.array(positions) - MEASURED.pos).max())

    try:
        assert node.state() == "unconfigured"
        assert run_for(0.5) == [] and bus.node.count_publishers("/target_pose") == 0
        assert node.set("configure") and node.state() == "inactive"
        node.spin_until(lambda: len(targets) > 5, "targets after configure")
        inactive = run_for(1.0)
        assert inactive and offset(inactive) < 1e-9  # actions dropped: the target holds
        assert node.set("activate") and node.state() == "active"
        assert offset(run_for(1.0)) > 0.005  # actions move the target
        assert node.set("deactivate") and node.state() == "inactive"
        held = run_for(1.0)[-20:]  # the watchdog trips and holds the measured pose
        assert len(held) == 20 and offset(held) < 1e-9
        assert node.set("cleanup") and node.state() == "unconfigured"
        node.spin_until(lambda: bus.node.count_publishers("/target_pose") == 0, "cleanup")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT_S) == 0
    finally:
        proc.kill()


def test_camera_streams_only_while_active(bus: Ros2Bus, tmp_path: Path) -> None:
    from robot_rl.cameras.base import Intrinsics
    from robot_rl.cameras.recording import write_recording

    w, h, n = 32, 24, 150  # 5 s at 30 fps, played back in real time
    frames = (np.full((h, w, 3), i % 256, np.uint8) for i in range(n))
    recording = tmp_path / "front.db3"
    assert write_recording(recording, frames, 30, Intrinsics(w, h, 30.0, 30.0, 16.0, 12.0)) == n
    procs = ros_processes("robot_cell", tmp_path, {})
    device = [f"device.{k}:={v}" for k, v in (("width", w), ("height", h))]
    device += [f"device.playback_path:={recording}", "device.playback_realtime:=true"]
    argv = [*procs.command("camera_front"), "-p", "autostart:=false"]
    for assignment in device:
        argv += ["-p", assignment]
    log = tmp_path / "camera.log"
    proc = _start(argv, log)
    node = _Lifecycle(bus, "camera_front", proc, log)
    images: list[Image] = []
    bus.subscribe("cameras/front/image_raw", Image, images.append, SENSOR_DATA)

    def run_for(seconds: float) -> int:
        start = len(images)
        end = time.monotonic() + seconds
        node.spin_until(lambda: time.monotonic() > end, "running")
        return len(images) - start

    try:
        assert node.set("configure") and node.state() == "inactive"
        assert run_for(0.5) == 0  # the device is open, nothing is streamed
        assert node.set("activate")
        node.spin_until(lambda: len(images) >= 10, "frames while active")
        assert node.set("deactivate")
        run_for(0.2)  # frames already in flight
        assert run_for(0.5) == 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT_S) == 0
    finally:
        proc.kill()
