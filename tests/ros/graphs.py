"""Helpers of the ros tier's graph tests: node processes started as the launch files describe."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import DOMAIN_ID

from robot_rl.nodes.graph import GRAPHS, Graph
from robot_rl.nodes.process import GraphProcesses, ProcessOptions

WAIT_S = 240.0  # generous bounds that only a broken graph reaches


def ros_processes(
    graph: str | Graph, run_dir: Path, overrides: Mapping[str, Mapping[str, Any]]
) -> GraphProcesses:
    """The robot_rl_ros executables of ``graph`` under rclpy, this tier's domain."""
    g = GRAPHS[graph] if isinstance(graph, str) else graph
    options = ProcessOptions(domain_id=DOMAIN_ID, backend="ros2", ros_prefix=sys.prefix)
    return GraphProcesses(g, options, run_dir, overrides)


def wait(
    procs: GraphProcesses,
    cond: Callable[[], bool],
    what: str,
    spin: Callable[[float], Any] | None = None,
) -> None:
    """Spin (or sleep) until ``cond()``; fail with every node's log when a node died or
    the bound passed."""
    try:
        procs.wait_until(cond, what, WAIT_S, spin)
    except RuntimeError as exc:
        pytest.fail(str(exc))
