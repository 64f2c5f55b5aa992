"""A graph as separate processes, without ROS: what ``robot-rl graph up`` runs.

    procs = GraphProcesses(GRAPHS["training"], ProcessOptions(domain_id=42), run_dir)
    procs.start()                      # one `python -m robot_rl.nodes.run` per node
    # or ProcessOptions(backend="ros2"): the robot_rl_ros executables under rclpy, with the
    # command lines ros2 launch gives them (`graph.ros_argv`; there is no launch wheel)
    procs.kill("learner")              # SIGKILL by default
    procs.start(["learner"])           # restart it (same parameters, same checkpoint dir)
    procs.stop()                       # SIGINT, then SIGKILL after a grace period

Each node's parameters go into one ROS 2 parameter file (``<run_dir>/params.yaml``, the
graph's values plus overrides), so a process is exactly what ``ros2 run`` would start.
Output goes to ``<run_dir>/logs/<node>.log``.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from robot_rl.nodes.graph import (
    NODE_KINDS,
    Graph,
    check_graph,
    instance_config,
    launched_nodes,
    ros_argv,
)
from robot_rl.nodes.params import config_to_params


@dataclass
class ProcessOptions:
    """How node processes join the bus."""

    domain_id: int | None = None  # None: ROS_DOMAIN_ID of the environment
    namespace: str = "/"
    cyclone_config: str = ""  # Cyclone XML (inline, path or URI); "" = CYCLONEDDS_URI/defaults
    python: str = sys.executable
    env: Mapping[str, str] = field(default_factory=dict)  # extra environment variables
    stock_serializer: bool = False  # cyclonedds' per-element serializer (benchmark baseline)
    # "dds": python -m robot_rl.nodes.run over the dds backend; "ros2": the robot_rl_ros
    # executables under rclpy, started as the launch files describe (ROS_DOMAIN_ID and the
    # RMW settings then come from the environment: domain_id is exported there)
    backend: Literal["dds", "ros2"] = "dds"
    ros_prefix: str = sys.prefix  # where robot_rl_ros is installed (<prefix>/lib/robot_rl_ros)


# DDS domains a private graph (``robot-rl train --graph``) may take, one per running graph:
# inside ROS 2's advice for Linux (0-101), below the test tiers' 100-199 (tests/graph).
PRIVATE_DOMAINS = range(60, 100)


@contextmanager
def private_domain(lock_dir: str | Path | None = None) -> Iterator[int]:
    """A DDS domain of `PRIVATE_DOMAINS` that no other private graph on this machine holds,
    for as long as the context lasts (an exclusive lock on one file per domain, released
    when this process ends, however it ends). Namespaces do not separate graphs: ``/clock``
    and ``/diagnostics`` are absolute, so two twins on one domain would drive each other's
    sim time. The environment's ``ROS_DOMAIN_ID`` (a robot's graph, say) is never taken."""
    folder = Path(lock_dir or Path(tempfile.gettempdir()) / "robot_rl_domains")
    folder.mkdir(parents=True, exist_ok=True)
    shared = os.environ.get("ROS_DOMAIN_ID", "0")
    for domain in PRIVATE_DOMAINS:
        if str(domain) == shared.strip():
            continue
        lock = open(folder / f"{domain}.lock", "w")  # noqa: SIM115 - held for the context
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            yield domain
        finally:
            lock.close()
        return
    first, last = PRIVATE_DOMAINS[0], PRIVATE_DOMAINS[-1]
    raise RuntimeError(f"no free DDS domain in {first}-{last}: every one is held by a graph")


def graph_params(
    graph: Graph, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The ROS 2 parameter file document of ``graph``: every field of every node's config."""
    doc: dict[str, Any] = {}
    for inst in graph.nodes:
        cfg = instance_config(inst, (overrides or {}).get(inst.node_name))
        doc[inst.node_name] = {"ros__parameters": config_to_params(cfg)}
    return doc


class GraphProcesses:
    """Starts, kills, restarts and stops the node processes of one graph."""

    def __init__(
        self,
        graph: Graph,
        options: ProcessOptions,
        run_dir: str | Path,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        problems = check_graph(graph, overrides)
        if problems:
            raise ValueError(f"graph {graph.name!r} is inconsistent: " + "; ".join(problems))
        self.graph, self.options = graph, options
        self.run_dir = Path(run_dir)
        self.log_dir = self.run_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.params_file = self.run_dir / "params.yaml"
        doc = graph_params(graph, overrides)
        ns = options.namespace.strip("/")
        if ns:  # rclpy applies a bare "node" section only to /node: qualify the names
            doc = {f"/{ns}/{node}": section for node, section in doc.items()}
        self.params_file.write_text(yaml.safe_dump(doc, sort_keys=False))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: dict[str, int] = {}

    def command(self, node_name: str) -> list[str]:
        """The command line of one node process."""
        inst = self.graph.instance(node_name)
        o = self.options
        if o.backend == "ros2":
            node = next(n for n in launched_nodes(self.graph) if n.name == node_name)
            return ros_argv(node, o.ros_prefix, str(self.params_file), o.namespace)
        cmd = [o.python, "-m", "robot_rl.nodes.run", inst.kind, "--name", node_name]
        cmd += ["--namespace", o.namespace, "--params-file", str(self.params_file)]
        if o.domain_id is not None:
            cmd += ["--domain-id", str(o.domain_id)]
        if o.cyclone_config:
            cmd += ["--cyclone-config", o.cyclone_config]
        if self.graph.sim_time and inst.kind != "twin":
            cmd.append("--use-sim-time")
        if o.stock_serializer:
            cmd.append("--dds-stock-serializer")
        return cmd

    def log_path(self, node_name: str) -> Path:
        """Where a node's output goes."""
        return self.log_dir / f"{node_name}.log"

    def start(self, names: Iterable[str] | None = None) -> None:
        """Start the named nodes (default: all, in graph order); running ones are skipped."""
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.options.env)
        if self.options.backend == "ros2" and self.options.domain_id is not None:
            env["ROS_DOMAIN_ID"] = str(self.options.domain_id)
        for inst in self.graph.nodes:
            name = inst.node_name
            if names is not None and name not in set(names):
                continue
            if name in self.procs and self.procs[name].poll() is None:
                continue
            assert inst.kind in NODE_KINDS
            log = open(self.log_path(name), "ab")  # noqa: SIM115 - the child owns it
            self.procs[name] = subprocess.Popen(
                self.command(name), stdout=log, stderr=subprocess.STDOUT, env=env
            )
            log.close()
            self.starts[name] = self.starts.get(name, 0) + 1

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int | None:
        """Send ``sig`` to one node and wait for it (bounded, 30 s); returns its exit code."""
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=30.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def returncodes(self) -> dict[str, int | None]:
        """Exit code per started node (None while running)."""
        return {name: p.poll() for name, p in self.procs.items()}

    def wait(self, name: str, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for a node to exit; its code, or None if still running."""
        try:
            return self.procs[name].wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float = 20.0) -> dict[str, int | None]:
        """SIGINT to every node, then SIGKILL to those still running after ``grace_s``."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace_s
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return self.returncodes()

    def wait_until(
        self,
        cond: Callable[[], bool],
        what: str,
        timeout_s: float,
        spin: Callable[[float], object] | None = None,
    ) -> None:
        """Call ``spin(0.05)`` (or sleep 50 ms) until ``cond()``. Raises RuntimeError with
        every node's log tail when a node exits with an error (a SIGKILL is expected) or
        ``timeout_s`` wall seconds pass."""
        deadline = time.monotonic() + timeout_s
        while not cond():
            failed = {n: c for n, c in self.returncodes().items() if c not in (None, 0, -9)}
            if failed or time.monotonic() > deadline:
                logs = "\n".join(f"--- {n}\n{self.log_text(n)[-3000:]}" for n in self.procs)
                raise RuntimeError(f"waiting for {what}: exits {self.returncodes()}\n{logs}")
            if spin is not None:
                spin(0.05)
            else:
                time.sleep(0.05)

    def log_text(self, name: str) -> str:
        """Everything a node printed so far."""
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""
