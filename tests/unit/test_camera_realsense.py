"""RealSense driver and camera node without hardware: recordings written through
pyrealsense2's software device and played back through the same code as a live camera."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyrealsense2", reason="the RealSense driver needs pyrealsense2")

from robot_rl.bus import SENSOR_DATA
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import CameraInfo, DiagnosticArray, Image
from robot_rl.cameras.base import CameraError, Intrinsics
from robot_rl.cameras.realsense import RealSenseCamera, RealSenseConfig
from robot_rl.cameras.recording import write_recording
from robot_rl.nodes.camera import CameraNode, CameraNodeConfig
from robot_rl.nodes.convert import image_from_msg
from robot_rl.nodes.diagnostics import values_of

W, H, N = 32, 24, 12
INTR = Intrinsics(W, H, 30.0, 31.0, 16.0, 12.0)
WAIT_S = 30.0  # generous: only a broken driver reaches it


def _frame(i: int) -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = i * 10
    img[i % H, :, 1] = 255
    return img


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rs") / "front.db3"
    assert write_recording(path, (_frame(i) for i in range(N)), 30, INTR, serial="0042") == N
    return path


def _until(cond: Callable[[], bool], step: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not cond() and time.monotonic() < deadline:
        step()
        time.sleep(0.005)


def _config(recording: Path, **kw: object) -> RealSenseConfig:
    base: dict[str, object] = {"width": W, "height": H, "fps": 30, "playback_path": str(recording)}
    base.update(kw)
    return RealSenseConfig(**base)  # type: ignore[arg-type]


def test_camera_node_publishes_every_recorded_frame_in_order(recording: Path) -> None:
    bus = InprocBus()
    images: list[Image] = []
    infos: list[CameraInfo] = []
    bus.subscribe("cameras/front/image_raw", Image, images.append, SENSOR_DATA)
    bus.subscribe("cameras/front/camera_info", CameraInfo, infos.append)
    cfg = CameraNodeConfig(
        name="front", device=_config(recording, serial="0042", reconnect_timeout_s=60.0)
    )
    node = CameraNode(bus, cfg)
    _until(lambda: len(images) >= N, lambda: bus.spin_once(0.01))
    node.close()
    assert [int(image_from_msg(m)[0, 0, 0]) for m in images[:N]] == [i * 10 for i in range(N)]
    assert np.array_equal(image_from_msg(images[5]), _frame(5))
    stamps = [m.header.stamp.to_ns() for m in images]
    assert stamps == sorted(stamps) and stamps[0] > 0  # host-time stamps
    assert infos[0].k[0] == 30.0 and infos[0].k[4] == 31.0 and infos[0].width == W
    assert images[0].header.frame_id == "front_optical_frame" == infos[0].header.frame_id


def test_reconnects_after_the_device_goes_silent(recording: Path) -> None:
    cam = RealSenseCamera(_config(recording, reconnect_timeout_s=0.2, reconnect_period_s=0.05))
    cam.open()
    got: list[int] = []
    _until(
        lambda: len(got) >= 2 * N,
        lambda: (got.extend(f.number for f in cam.read_new()), cam.check()),
    )
    cam.close()
    assert cam.disconnects >= 1 and cam.reconnects >= 1
    assert got[: 2 * N] == list(range(N)) * 2  # the end of the file is an unplug; it comes back


def test_serial_selection_refuses_another_camera(recording: Path) -> None:
    with pytest.raises(CameraError, match="recorded from serial '0042', not '9999'"):
        RealSenseCamera(_config(recording, serial="9999")).open()


def test_an_unavailable_stream_lists_what_exists(recording: Path) -> None:
    with pytest.raises(
        CameraError, match=r"no rgb8 colour stream 640x480@30; available: \['32x24@30"
    ):
        RealSenseCamera(_config(recording, width=640, height=480)).open()


def test_a_missing_live_device_is_reported_and_the_node_keeps_trying() -> None:
    import pyrealsense2 as rs

    if len(rs.context().query_devices()) > 0:
        pytest.skip("a RealSense is connected to this machine")
    bus = InprocBus()
    diags: list[DiagnosticArray] = []
    bus.subscribe("/diagnostics", DiagnosticArray, diags.append)
    cfg = CameraNodeConfig(device=RealSenseConfig(serial="123", reconnect_period_s=0.05))
    node = CameraNode(bus, cfg)
    node.publish_diagnostics()
    node.close()
    status = diags[-1].status[0]
    assert status.level == 2 and "no RealSense device connected" in status.message
    assert values_of(status)["published"] == "0"


def test_recordings_must_be_rosbag2_sqlite(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match=r"\.db3"):
        write_recording(tmp_path / "x.bag", [], 30, INTR)
