"""The processes that `GraphProcesses(backend="ros2")` starts are those the launch files start.

There is no launch wheel, so the ros tier starts the robot_rl_ros executables itself. Here
each committed launch file is executed against stand-ins of ``launch`` / ``launch_ros``
that record its actions; each recorded Node is turned into the command line launch_ros
would run, and compared with the command `GraphProcesses` derives from the graph.
"""

from __future__ import annotations

import runpy
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from robot_rl.nodes.graph import GRAPHS
from robot_rl.nodes.params import flatten
from robot_rl.nodes.process import GraphProcesses, ProcessOptions

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "ros_ws" / "src" / "robot_rl_ros"
PREFIX = "/opt/prefix"


@dataclass
class _Recorded:
    """What the stand-ins saw."""

    arguments: dict[str, Any] = field(default_factory=dict)  # launch argument defaults
    nodes: list[dict[str, Any]] = field(default_factory=list)  # Node(...) keyword arguments


@dataclass(frozen=True)
class _Config:
    name: str


@dataclass(frozen=True)
class _Equals:
    name: str
    value: str


def _stand_ins(rec: _Recorded) -> dict[str, types.ModuleType]:
    def module(name: str, **attrs: Any) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        return m

    def declare(name: str, default_value: Any = None, **_: Any) -> None:
        rec.arguments[name] = default_value

    def node(**kw: Any) -> None:
        rec.nodes.append(kw)

    share = lambda pkg: f"{PREFIX}/share/{pkg}"  # noqa: E731
    ignore = lambda *a, **k: None  # noqa: E731
    return {
        "ament_index_python": module("ament_index_python"),
        "ament_index_python.packages": module(
            "ament_index_python.packages", get_package_share_directory=share
        ),
        "launch": module("launch"),
        "launch.actions": module(
            "launch.actions", DeclareLaunchArgument=declare, IncludeLaunchDescription=ignore
        ),
        "launch.conditions": module("launch.conditions", LaunchConfigurationEquals=_Equals),
        "launch.launch_description": module("launch.launch_description", LaunchDescription=list),
        "launch.launch_description_sources": module(
            "launch.launch_description_sources", PythonLaunchDescriptionSource=ignore
        ),
        "launch.substitutions": module("launch.substitutions", LaunchConfiguration=_Config),
        "launch_ros": module("launch_ros"),
        "launch_ros.actions": module("launch_ros.actions", Node=node),
        "launch_ros.substitutions": module("launch_ros.substitutions", FindPackageShare=ignore),
    }


def _launch_argv(kw: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    """The command launch_ros runs for one Node (a parameter dict as ``-p``)."""
    argv = [f"{PREFIX}/lib/{kw['package']}/{kw['executable']}", "--ros-args"]
    argv += ["-r", f"__node:={kw['name']}"]
    for entry in kw["parameters"]:
        if isinstance(entry, _Config):
            argv += ["--params-file", arguments[entry.name]]
        else:
            for k, v in entry.items():
                argv += ["-p", f"{k}:={str(v).lower()}"]
    return argv


def _launched(graph: str, monkeypatch: pytest.MonkeyPatch) -> tuple[_Recorded, list[list[str]]]:
    rec = _Recorded()
    for name, mod in _stand_ins(rec).items():
        monkeypatch.setitem(sys.modules, name, mod)
    description = runpy.run_path(str(PKG / "launch" / f"{graph}.launch.py"))
    description["generate_launch_description"]()
    started = [
        _launch_argv(kw, rec.arguments)
        for kw in rec.nodes
        # launch arguments at their defaults: camera_driver:=robot_rl starts our cameras
        if "condition" not in kw or rec.arguments[kw["condition"].name] == kw["condition"].value
    ]
    return rec, started


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_ros_processes_are_the_launch_files_nodes(
    graph: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rec, launched = _launched(graph, monkeypatch)
    procs = GraphProcesses(
        GRAPHS[graph], ProcessOptions(backend="ros2", ros_prefix=PREFIX), tmp_path
    )
    ours = [procs.command(i.node_name) for i in GRAPHS[graph].nodes]
    launch_params = f"{PREFIX}/share/robot_rl_ros/config/{graph}.yaml"
    assert rec.arguments["params_file"] == launch_params
    # the same executables, names and use_sim_time, in the same order ...
    expected = [
        [a.replace(launch_params, str(procs.params_file)) for a in argv] for argv in launched
    ]
    assert ours == expected
    # ... and the parameter file GraphProcesses writes holds the installed file's values
    installed = yaml.safe_load((PKG / "config" / f"{graph}.yaml").read_text())
    written = yaml.safe_load(procs.params_file.read_text())
    assert installed.keys() == written.keys()
    for node, section in installed.items():
        want = flatten(section["ros__parameters"])
        got = {k: v for k, v in flatten(written[node]["ros__parameters"]).items() if v != []}
        assert got == want, node


def test_parameter_sections_are_qualified_in_a_namespace(tmp_path: Path) -> None:
    # rclpy ignores a bare "twin" section for /ns/twin: the twin then ran with its defaults
    # (lock-step, stamps at sim time 0) under benchmarks/bench_graph_latency.py --rclpy.
    options = ProcessOptions(namespace="/cell1", backend="ros2", ros_prefix=PREFIX)
    procs = GraphProcesses(GRAPHS["twin_cell"], options, tmp_path)
    written = yaml.safe_load(procs.params_file.read_text())
    assert set(written) == {"/cell1/twin", "/cell1/impedance_bridge", "/cell1/reset"}
    assert "-r" in procs.command("twin") and "__ns:=/cell1" in procs.command("twin")
