"""Static checks of the ros2 launch files, parameter files and the robot_rl_ros package.

- the launch and parameter files are exactly what the graph description generates;
- every executable a launch file names is an entry point of robot_rl_ros (and a module);
- every key of every parameter file maps onto a field of the node's config dataclass, with
  a value of the type the executable declares the parameter with (rclpy refuses others).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from robot_rl.nodes import launch_gen
from robot_rl.nodes.graph import GRAPHS, NODE_KINDS
from robot_rl.nodes.params import (
    config_from_params,
    flatten,
    inferred_ros_type,
    param_declarations,
    param_names,
)

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "ros_ws" / "src" / "robot_rl_ros"
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py")) + sorted(
    (PKG / "launch").glob("*.launch.py")
)


def _entry_points() -> dict[str, str]:
    tree = ast.parse((PKG / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "entry_points":
            scripts = ast.literal_eval(node.value)["console_scripts"]
            return {
                name.strip(): target.strip() for name, target in (s.split("=", 1) for s in scripts)
            }
    raise AssertionError("setup.py has no entry_points")


def _launched_nodes(path: Path) -> list[dict[str, str]]:
    """package/executable/name of every launch_ros Node(...) call in a launch file."""
    tree = ast.parse(path.read_text())
    constants = {
        t.id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    nodes = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Node":
            kw = {}
            for k in call.keywords:
                if isinstance(k.value, ast.Constant):
                    kw[k.arg] = k.value.value
                elif isinstance(k.value, ast.Name) and k.value.id in constants:
                    kw[k.arg] = constants[k.value.id]
            nodes.append(kw)
    return nodes


def test_generated_files_are_committed_and_current() -> None:
    assert launch_gen.check(ROOT) == [], "run: robot-rl graph launch --write"


def test_every_graph_has_a_launch_and_a_parameter_file() -> None:
    for name in GRAPHS:
        for d in ("launch", "ros_ws/src/robot_rl_ros/launch"):
            assert (ROOT / d / f"{name}.launch.py").exists()
        for d in ("launch/config", "ros_ws/src/robot_rl_ros/config"):
            assert (ROOT / d / f"{name}.yaml").exists()


def test_entry_points_are_the_node_kinds_and_their_modules_exist() -> None:
    eps = _entry_points()
    assert set(eps) == set(NODE_KINDS)
    for name, target in eps.items():
        module, _, func = target.partition(":")
        assert module == f"robot_rl_ros.{name}" and func == "main"  # same snake_case word
        source = (PKG / "robot_rl_ros" / f"{name}.py").read_text()
        assert "def main(" in source and f'run_ros_node("{name}"' in source


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_launched_executable_is_an_entry_point(path: Path) -> None:
    eps = _entry_points()
    nodes = _launched_nodes(path)
    assert nodes, f"{path} launches no node"
    for node in nodes:
        assert node.get("package") == "robot_rl_ros", node
        assert node.get("executable") in eps, f"{path}: {node} is not an entry point"


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_every_parameter_key_maps_onto_a_config_field(graph: str) -> None:
    launched = {
        n["name"]: n["executable"] for n in _launched_nodes(ROOT / "launch" / f"{graph}.launch.py")
    }
    for d in ("launch/config", "ros_ws/src/robot_rl_ros/config"):
        document = yaml.safe_load((ROOT / d / f"{graph}.yaml").read_text())
        assert set(document) == set(launched), f"{d}/{graph}.yaml sections != launched nodes"
        for node_name, section in document.items():
            cls = NODE_KINDS[launched[node_name]].config_class()
            keys = flatten(section["ros__parameters"])
            unknown = set(keys) - set(param_names(cls))
            assert not unknown, (
                f"{graph}/{node_name}: {sorted(unknown)} are not {cls.__name__} fields"
            )
            config_from_params(cls, keys)  # types are right too
            declared = {d.name: d for d in param_declarations(cls)}
            for key, value in keys.items():
                decl = declared[key]
                if not decl.dynamic_typing:  # statically typed: rclpy takes only its type
                    assert inferred_ros_type(value) == decl.ros_type, (
                        f"{d}/{graph}.yaml {node_name}.{key}: {value!r} is not {decl.ros_type}"
                    )


def test_parameter_files_hold_no_value_ros_cannot_type() -> None:
    for path in (ROOT / "launch" / "config").glob("*.yaml"):
        for section in yaml.safe_load(path.read_text()).values():
            for key, value in flatten(section["ros__parameters"]).items():
                assert value is not None and value != [], f"{path.name}: {key}"
                if isinstance(value, list):
                    assert len({type(v) for v in value}) == 1, f"{path.name}: {key} mixes types"
