"""Live capture over the bus: the twin node and the impedance bridge on the inproc bus (lock-step
sim time), the capture speaking only goal_pose, current_pose and the camera topic, exactly as
on a real cell. The twin's scene carries the board held by the hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.calibration.board import BoardConfig
from robot_rl.calibration.bus_capture import BusCapture, capture_over_bus
from robot_rl.calibration.cell_file import load_calibration
from robot_rl.calibration.frames import pose_error
from robot_rl.calibration.handeye import solve_hand_eye
from robot_rl.calibration.intrinsics import detect_all
from robot_rl.calibration.twin_board import BoardCell
from robot_rl.calibration.twin_capture import board_placement, camera_x
from robot_rl.calibration.views import HAND_T_TCP, ViewPlanConfig
from robot_rl.nodes import twin_sim
from robot_rl.nodes.impedance_bridge import BridgeConfig, ImpedanceBridge
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.twin import TwinNode, TwinNodeConfig

pytestmark = pytest.mark.twin


def test_hand_eye_over_the_inproc_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cell = load_calibration()
    front = cell.cameras["front"]
    board = BoardConfig()
    tcp_t_board = board_placement(board, "eye_to_hand", front)
    monkeypatch.setattr(
        twin_sim,
        "TwinCell",
        lambda scene, cfg: BoardCell(scene, cfg, board, "hand", HAND_T_TCP @ tcp_t_board),
    )
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    twin = TwinNode(
        bus,
        TwinNodeConfig(task="reach", cameras=("front",), image_height=480, image_width=640),
        sim_clock=clock,
    )
    bridge = ImpedanceBridge(bus, BridgeConfig(calibration="default", task="reach"))
    loop.add(twin)
    loop.add(bridge)
    rig = BusCapture(bus, "front", loop.spin_once, timeout_s=30.0)
    try:
        capture = capture_over_bus(
            rig, front, board, ViewPlanConfig(n_views=10), tmp_path / "cap", "twin:front"
        )
    finally:
        twin.close()
    assert len(capture) == 10 and capture.camera.width == 640
    assert twin.lockstep_timeouts == 0 and twin.targets_rejected == 0
    dets = detect_all(capture)
    result = solve_hand_eye("eye_to_hand", capture.poses, board, dets, front.intrinsics)
    d, a = pose_error(result.best.x, camera_x(front))
    print(f"\nover the bus: {d * 1e3:.2f} mm {a:.3f} deg, sim {clock.now_ns() * 1e-9:.1f} s")
    assert d <= 0.002 and a <= 0.2
    assert np.isfinite(result.best.rms_px) and result.best.rms_px < 0.5
