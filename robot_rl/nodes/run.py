"""One node as a process: ``python -m robot_rl.nodes.run KIND [options]``.

    python -m robot_rl.nodes.run impedance_bridge --params-file launch/config/training.yaml \\
        --param rate_hz=200 --backend dds --use-sim-time

Parameters come from ROS 2 parameter files (the section of this node's name) and
``--param NAME=VALUE`` overrides, onto the node's config dataclass; an unknown name is
an error. SIGINT/SIGTERM stop the node cleanly (the learner checkpoints on the way out).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from robot_rl.bus.api import Bus
from robot_rl.nodes.graph import NODE_KINDS, NodeKind
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.params import (
    ConfigError,
    config_from_params,
    load_param_file,
    parse_param_assignment,
)

_log = logging.getLogger(__name__)


def build_node(kind: NodeKind, bus: Bus, cfg: Any, loop: NodeLoop, name: str) -> Any:
    """Construct a node of ``kind`` on ``bus``; polled nodes are added to ``loop``."""
    cls = kind.node_class()
    node = cls(bus, cfg, loop.spin_once, name) if kind.takes_spin else cls(bus, cfg, name)
    if not kind.drives:
        loop.add(node)
    return node


def run_node(kind: NodeKind, bus: Bus, cfg: Any, name: str, stop: Callable[[], bool]) -> int:
    """Build the node, run it until ``stop()`` (or until it finishes), close it."""
    loop = NodeLoop(bus)
    node = build_node(kind, bus, cfg, loop, name)
    try:
        if kind.drives:
            return int(node.run(stop))
        loop.spin(until=stop)
        return 0
    finally:
        node.close()


def collect_params(
    node_name: str, namespace: str, files: Sequence[str], assignments: Sequence[str]
) -> dict[str, Any]:
    """Parameters of ``node_name`` from files (later wins) then NAME=VALUE assignments."""
    params: dict[str, Any] = {}
    for path in files:
        params.update(load_param_file(path, node_name, namespace))
    for text in assignments:
        key, value = parse_param_assignment(text)
        params[key] = value
    return params


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a node process (shared with ``robot-rl node``)."""
    parser.add_argument("kind", choices=sorted(NODE_KINDS), help="node to run")
    parser.add_argument("--name", default="", help="node name (default: the kind)")
    parser.add_argument("--namespace", default="/", help="ROS namespace of relative names")
    parser.add_argument(
        "--params-file", action="append", default=[], help="ROS 2 parameter file (repeatable)"
    )
    parser.add_argument(
        "--param", action="append", default=[], help="NAME=VALUE override (repeatable)"
    )
    parser.add_argument("--backend", choices=("dds", "ros2"), default="dds")
    parser.add_argument("--domain-id", type=int, default=None, help="DDS domain (ROS_DOMAIN_ID)")
    parser.add_argument("--cyclone-config", default="", help="Cyclone XML (inline, path or URI)")
    parser.add_argument("--use-sim-time", action="store_true", help="follow /clock")
    parser.add_argument(
        "--dds-stock-serializer",
        action="store_true",
        help="per-element cyclonedds serializer (benchmark baseline only)",
    )


def main_from_args(args: argparse.Namespace) -> int:
    """Run the node described by parsed ``args``; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(levelname)s %(message)s")
    kind = NODE_KINDS[args.kind]
    name = args.name or kind.name
    params = collect_params(name, args.namespace, args.params_file, args.param)
    params.pop("use_sim_time", None)  # a ROS parameter of every node, not of our configs
    cfg: Any = config_from_params(kind.config_class(), params)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    # Before the bus: the node is visible from then on, and a SIGINT must end it cleanly.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    bus = _make_bus(args, name)
    try:
        return run_node(kind, bus, cfg, name, lambda: bool(stopping))
    finally:
        bus.close()


def _make_bus(args: argparse.Namespace, name: str) -> Bus:
    from robot_rl.bus.dds.config import DdsConfig, default_domain_id
    from robot_rl.bus.factory import BusConfig, make_bus
    from robot_rl.bus.ros2 import Ros2Config

    dds = DdsConfig(
        domain_id=default_domain_id() if args.domain_id is None else args.domain_id,
        namespace=args.namespace,
        node_name=name,
        cyclone_config=args.cyclone_config,
        use_sim_time=args.use_sim_time,
        fast_path=not getattr(args, "dds_stock_serializer", False),
    )
    ros2 = Ros2Config(node_name=name, namespace=args.namespace, use_sim_time=args.use_sim_time)
    return make_bus(BusConfig(backend=args.backend, dds=dds, ros2=ros2))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m robot_rl.nodes.run``."""
    parser = argparse.ArgumentParser(prog="python -m robot_rl.nodes.run", description=__doc__)
    add_node_arguments(parser)
    try:
        return main_from_args(parser.parse_args(argv))
    except ConfigError as exc:  # a bad parameter: one line, exit 2, as robot-rl node
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
