"""The twin cell graph (twin, impedance bridge, reset) as robot_rl_ros executables under rclpy.

The processes are started with the command lines its launch file describes
(tests/unit/test_launch_commands.py checks that they agree); this test's own rclpy node
asks for 3 resets, as an actor would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphs import WAIT_S, ros_processes, wait

from robot_rl.bus.msgs import EpisodeEvent, Reset, ResetRequest
from robot_rl.bus.qos import QoS
from robot_rl.bus.ros2 import Ros2Bus, Ros2Config

RESETS = 3


def test_twin_cell_completes_three_resets(rclpy_context: Any, tmp_path: Path) -> None:
    overrides = {"twin": {"cameras": ["front"], "image_height": 32, "image_width": 32}}
    procs = ros_processes("twin_cell", tmp_path, overrides)
    bus = Ros2Bus(Ros2Config(node_name="test_twin_cell"))
    events: list[EpisodeEvent] = []
    bus.subscribe("episode_events", EpisodeEvent, events.append, QoS(depth=50))
    replies = []
    try:
        procs.start()
        for seed in range(RESETS):
            pending = bus.request_async("reset", Reset, ResetRequest(seed, 60.0), WAIT_S)
            wait(procs, pending.done, f"reset {seed}", bus.spin_once)
            replies.append(pending.result())
        wait(procs, lambda: len(events) >= RESETS, "the reset events", bus.spin_once)
        codes = procs.stop()
    finally:
        procs.stop()
        bus.close()
    assert [r.ok for r in replies] == [True] * RESETS, [r.message for r in replies]
    assert codes == {"twin": 0, "impedance_bridge": 0, "reset": 0}
    assert all(procs.starts[n] == 1 for n in codes)
