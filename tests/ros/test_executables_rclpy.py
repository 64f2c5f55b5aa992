"""Every robot_rl_ros executable starts under rclpy with the parameter file its launch files
pass (the installed share/robot_rl_ros/config/<graph>.yaml), joins the ROS graph under its
node name, and stops cleanly on SIGINT, as ``ros2 launch`` stops it (the actor is only
checked to start: on SIGINT it first finishes the reset it waits on). The gui node gets
``-p port:=0`` on top, so that test runs side by side do not fight over its port."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from robot_rl.bus.ros2 import Ros2Bus, Ros2Config
from robot_rl.nodes.graph import GRAPHS, NODE_KINDS, launched_nodes, ros_argv

WAIT_S = 120.0


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_each_executable_starts_with_the_launch_parameters(
    graph: str, rclpy_context: Any, tmp_path: Path
) -> None:
    params = Path(sys.prefix) / "share" / "robot_rl_ros" / "config" / f"{graph}.yaml"
    assert params.is_file(), "robot_rl_ros is not installed: bash scripts/setup_ros.sh"
    nodes = launched_nodes(GRAPHS[graph])
    procs: dict[str, subprocess.Popen[bytes]] = {}
    bus = Ros2Bus(Ros2Config(node_name=f"probe_{graph}"))
    try:
        for node in nodes:
            with (tmp_path / f"{node.name}.log").open("wb") as log:
                argv = ros_argv(node, sys.prefix, str(params))
                if node.executable == "gui":  # any free port: tests run side by side
                    argv += ["-p", "port:=0"]
                # In tmp_path: the learner's run folder (checkpoint_dir, relative) must not
                # be one an earlier run or graph left in the working tree.
                procs[node.name] = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
                )
        deadline = time.monotonic() + WAIT_S
        names: set[str] = set()
        while not {n.name for n in nodes} <= names and time.monotonic() < deadline:
            bus.spin_once(0.1)
            names = set(bus.node.get_node_names())
            dead = {n: p.returncode for n, p in procs.items() if p.poll() is not None}
            assert not dead, (dead, {n: (tmp_path / f"{n}.log").read_text()[-2000:] for n in dead})
        assert {n.name for n in nodes} <= names
        for proc in procs.values():
            proc.send_signal(signal.SIGINT)
        # The actor finishes the reset request it is waiting on first (up to its
        # env.reset_timeout_s, 30 s): not waited for here, to keep the tier short.
        drivers = {n.name for n in nodes if NODE_KINDS[n.executable].drives}
        codes = {n: p.wait(timeout=60) for n, p in procs.items() if n not in drivers}
        assert codes == dict.fromkeys(codes, 0), codes
    finally:
        for proc in procs.values():
            proc.kill()
        bus.close()
