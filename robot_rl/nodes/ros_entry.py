"""What a ``robot_rl_ros`` executable runs under ``ros2 run`` / ``ros2 launch``.

    def main(args=None):                 # robot_rl_ros/twin.py
        raise SystemExit(run_ros_node("twin", args))

ROS arguments are parsed here in plain Python (so they are tested without ROS): the node
name and namespace remaps (``-r __node:=NAME``, ``-r __ns:=/NS``), parameter files
(``--params-file FILE``, the section of this node) and ``-p NAME:=VALUE``; an unknown
parameter name or a wrong type fails here, naming it. rclpy is initialised with the same
arguments, so topic remaps (``-r from:=to``) work as usual, and every field of the node's
config dataclass is then declared as a ROS parameter (`declare_config`): ``ros2 param
list`` shows them, ``ros2 param get`` the values in use, parameter files and ``-p`` apply
through rclpy, and the config is built from the declared values. They are read once, at
start, so they are declared read-only: ``ros2 param set`` is refused, not ignored.

The hardware drivers (camera, impedance bridge) run as lifecycle nodes
(`robot_rl.nodes.ros_lifecycle`); ``-p autostart:=false`` leaves them unconfigured.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from robot_rl.nodes.graph import NODE_KINDS
from robot_rl.nodes.params import (
    C,
    ParamError,
    config_from_params,
    config_from_ros_values,
    load_param_file,
    param_declarations,
    parse_param_assignment,
)


@dataclass
class RosArgs:
    """The parts of a ROS 2 command line that configure a node."""

    node_name: str = ""
    namespace: str = "/"
    params_files: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # -p NAME:=VALUE, in order


def parse_ros_args(argv: Sequence[str]) -> RosArgs:
    """Parse the ``--ros-args ... [--]`` sections of ``argv`` (several may appear)."""
    out = RosArgs()
    inside = False
    it = iter(argv)
    for arg in it:
        if arg == "--ros-args":
            inside = True
        elif arg == "--":
            inside = False
        elif not inside:
            continue
        elif arg in ("-r", "--remap"):
            rule = next(it, "")
            if rule.startswith("__node:=") or rule.startswith("__name:="):
                out.node_name = rule.split(":=", 1)[1]
            elif rule.startswith("__ns:="):
                out.namespace = rule.split(":=", 1)[1]
        elif arg == "--params-file":
            out.params_files.append(next(it, ""))
        elif arg in ("-p", "--param"):
            key, value = parse_param_assignment(next(it, ""))
            out.params[key] = value
    return out


def node_params(kind: str, ros: RosArgs) -> tuple[str, dict[str, Any]]:
    """(node name, flat parameters) for a node of ``kind`` from its ROS arguments."""
    name = ros.node_name or kind
    params: dict[str, Any] = {}
    for path in ros.params_files:
        params.update(load_param_file(path, name, ros.namespace))
    params.update(ros.params)
    return name, params


def declare_config(node: Any, cls: type[C], descriptor: Callable[..., Any]) -> C:
    """Declare every parameter of config class ``cls`` on an rclpy ``node`` and build the
    config from the values rclpy then holds (its defaults, overridden by the parameter
    files and ``-p`` of the node's arguments). ``descriptor`` is
    ``rcl_interfaces.msg.ParameterDescriptor``. Raises ParamError naming the parameter
    rclpy refused (e.g. an integer in a parameter file for a double: write ``200.0``)."""
    values: dict[str, Any] = {}
    for d in param_declarations(cls):
        desc = descriptor(
            description=d.description, read_only=True, dynamic_typing=d.dynamic_typing
        )
        try:
            values[d.name] = node.declare_parameter(d.name, d.default, desc).value
        except Exception as exc:  # rclpy's InvalidParameterTypeException and friends
            raise ParamError(f"parameter {d.name} ({d.ros_type}): {exc}") from exc
    return config_from_ros_values(cls, values)


def run_ros_node(kind: str, argv: Sequence[str] | None = None) -> int:
    """Run a node of ``kind`` on the rclpy backend until SIGINT; returns the exit code."""
    import importlib

    from robot_rl.bus.ros2 import Ros2Bus, Ros2Config, import_rclpy
    from robot_rl.nodes.ros_lifecycle import LIFECYCLE_KINDS, run_lifecycle_node
    from robot_rl.nodes.run import run_node

    argv = list(sys.argv if argv is None else argv)
    rclpy = import_rclpy()
    rclpy.init(args=argv)
    # Ours before the node exists: the node shows in the graph as soon as it does, and a
    # SIGINT from then on (ros2 launch stopping) must end it cleanly, not as an exception.
    stopping: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    ros = parse_ros_args(argv)
    name, params = node_params(kind, ros)
    use_sim_time = bool(params.pop("use_sim_time", False))
    autostart = bool(params.pop("autostart", True))  # lifecycle nodes: configure + activate
    node_kind = NODE_KINDS[kind]
    config_from_params(node_kind.config_class(), params)  # unknown names fail here, clearly
    lifecycle = kind in LIFECYCLE_KINDS
    bus = Ros2Bus(Ros2Config(name, ros.namespace, use_sim_time=use_sim_time, lifecycle=lifecycle))
    try:
        descriptor = importlib.import_module("rcl_interfaces.msg").ParameterDescriptor
        cfg: Any = declare_config(bus.node, node_kind.config_class(), descriptor)
        if lifecycle:
            return run_lifecycle_node(kind, bus, cfg, name, lambda: bool(stopping), autostart)
        return run_node(node_kind, bus, cfg, name, lambda: bool(stopping))
    finally:
        bus.close()
        if rclpy.ok():
            rclpy.shutdown()
