"""``robot-rl node`` and ``robot-rl graph``: the node graph from the command line.

robot-rl graph up --graph training --backend dds --task reach --param learner.checkpoint_dir=runs/l
robot-rl graph show --graph robot_cell
robot-rl graph launch --check
robot-rl node learner --params-file launch/config/training.yaml --domain-id 7
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from robot_rl.nodes.graph import GRAPHS, NODE_KINDS, check_graph, endpoints
from robot_rl.nodes.params import parse_param_assignment


def register_cli(subparsers: Any) -> None:
    """Add the ``node`` and ``graph`` subcommands to ``robot-rl``'s subparsers."""
    from robot_rl.nodes.run import add_node_arguments

    node = subparsers.add_parser("node", help="run one node of the graph as this process")
    add_node_arguments(node)
    node.set_defaults(func=_node)

    graph = subparsers.add_parser("graph", help="the node graph: start it, show it, launch files")
    sub = graph.add_subparsers(dest="graph_command", required=True)
    up = sub.add_parser("up", help="start a graph as separate processes (no ROS needed)")
    up.add_argument("--graph", choices=sorted(GRAPHS), default="training")
    up.add_argument(
        "--backend",
        choices=("dds", "ros2"),
        default="dds",
        help="dds (ROS 2 wire format, no ROS needed) or ros2 (the robot_rl_ros executables "
        "under rclpy, started as the launch files describe)",
    )
    up.add_argument("--task", default="", help="twin task (twin, reset and bridge nodes)")
    up.add_argument(
        "--param", action="append", default=[], help="NODE.NAME=VALUE override (repeatable)"
    )
    up.add_argument("--domain-id", type=int, default=None, help="DDS domain (ROS_DOMAIN_ID)")
    up.add_argument("--namespace", default="/", help="ROS namespace of every node")
    up.add_argument("--cyclone-config", default="", help="Cyclone XML (inline, path or URI)")
    up.add_argument("--run-dir", default="", help="params + logs (default runs/graph-<time>)")
    up.add_argument("--duration-s", type=float, default=0.0, help="stop after (0 = never)")
    up.set_defaults(func=_graph_up)
    show = sub.add_parser("show", help="print a graph's nodes and topics, and check it")
    show.add_argument("--graph", choices=sorted(GRAPHS), default="training")
    show.set_defaults(func=_graph_show)
    launch = sub.add_parser("launch", help="generate or check the ros2 launch/param files")
    launch.add_argument("--root", default=".", help="repository root")
    launch.add_argument("--write", action="store_true", help="write the files")
    launch.set_defaults(func=_graph_launch)


def _node(args: argparse.Namespace) -> int:
    from robot_rl.nodes.run import main_from_args

    return main_from_args(args)


def parse_overrides(
    assignments: list[str], task: str, graph_name: str
) -> dict[str, dict[str, Any]]:
    """``NODE.NAME=VALUE`` assignments (and ``--task``) as per-node overrides."""
    graph = GRAPHS[graph_name]
    out: dict[str, dict[str, Any]] = {}
    if task:
        for inst in graph.nodes:
            if inst.kind in ("twin", "reset", "impedance_bridge"):
                out.setdefault(inst.node_name, {})["task"] = task
            if inst.kind == "actor" and "hil.task" in inst.params:  # the operator's scales
                out.setdefault(inst.node_name, {})["hil.task"] = task
    for text in assignments:
        key, value = parse_param_assignment(text)
        node, _, name = key.partition(".")
        graph.instance(node)  # raises KeyError naming the graph for an unknown node
        if not name:
            raise ValueError(f"expected NODE.NAME=VALUE, got {text!r}")
        out.setdefault(node, {})[name] = value
    return out


def _graph_up(args: argparse.Namespace) -> int:
    from robot_rl.nodes.process import GraphProcesses, ProcessOptions

    graph = GRAPHS[args.graph]
    overrides = parse_overrides(args.param, args.task, args.graph)
    run_dir = Path(args.run_dir or f"runs/graph-{time.strftime('%Y%m%d-%H%M%S')}")
    options = ProcessOptions(
        args.domain_id, args.namespace, args.cyclone_config, backend=args.backend
    )
    procs = GraphProcesses(graph, options, run_dir, overrides)
    stopping: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _f: stopping.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _f: stopping.append(signum))
    procs.start()
    print(
        f"graph {graph.name}: {len(procs.procs)} processes; params {procs.params_file}; "
        f"logs {procs.log_dir}; Ctrl-C stops",
        flush=True,
    )
    deadline = time.monotonic() + args.duration_s if args.duration_s > 0 else None
    code = 0
    drivers = {i.node_name for i in graph.nodes if NODE_KINDS[i.kind].drives}
    while not stopping and (deadline is None or time.monotonic() < deadline):
        codes = procs.returncodes()
        failed = {n: c for n, c in codes.items() if c not in (None, 0)}
        if failed:
            print(f"node(s) exited with an error: {failed}; see {procs.log_dir}", file=sys.stderr)
            code = 1
            break
        if drivers and all(codes.get(n) == 0 for n in drivers):
            print("the actor(s) finished", flush=True)
            break
        time.sleep(0.5)
    print(f"stopping: {procs.stop()}", flush=True)
    return code


def _graph_show(args: argparse.Namespace) -> int:
    graph = GRAPHS[args.graph]
    print(f"{graph.name}: {graph.summary}" + (" (sim time)" if graph.sim_time else ""))
    for inst in graph.nodes:
        print(f"  {inst.node_name} [{inst.kind}] {NODE_KINDS[inst.kind].summary}")
    for ext in graph.external:
        print(f"  (external) {ext.name}")
    for e in sorted(endpoints(graph), key=lambda e: (e.name, e.role, e.node)):
        print(f"    {e.name:40s} {e.role:5s} {e.node:24.24s} {e.ros_type}")
    problems = check_graph(graph)
    for p in problems:
        print(f"  PROBLEM: {p}")
    return 1 if problems else 0


def _graph_launch(args: argparse.Namespace) -> int:
    from robot_rl.nodes import launch_gen

    if args.write:
        for path in launch_gen.write(args.root):
            print(f"wrote {path}")
        return 0
    stale = launch_gen.check(args.root)
    for rel in stale:
        print(f"stale or missing: {rel} (run robot-rl graph launch --write)", file=sys.stderr)
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m robot_rl.nodes.cli``), same subcommands."""
    parser = argparse.ArgumentParser(prog="robot-rl", description=__doc__)
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
