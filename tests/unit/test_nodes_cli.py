"""The CLI hooks: ``robot-rl node`` / ``robot-rl graph`` parse and dispatch."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from robot_rl.nodes.cli import main, register_cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robot-rl")
    register_cli(parser.add_subparsers(dest="command", required=True))
    return parser


def test_node_and_graph_commands_parse() -> None:
    p = _parser()
    args = p.parse_args(["node", "learner", "--param", "checkpoint_every_s=5", "--domain-id", "7"])
    assert (args.kind, args.param, args.domain_id, args.backend) == (
        "learner",
        ["checkpoint_every_s=5"],
        7,
        "dds",
    )
    up = p.parse_args(
        ["graph", "up", "--backend", "dds", "--graph", "twin_cell", "--task", "pick_cube"]
    )
    assert (up.graph, up.backend, up.task) == ("twin_cell", "dds", "pick_cube")
    with pytest.raises(SystemExit):
        p.parse_args(["node", "nosuchnode"])


def test_graph_show_checks_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "show", "--graph", "robot_cell"]) == 0
    out = capsys.readouterr().out
    assert "/target_pose" in out and "crisp_controllers" in out and "PROBLEM" not in out


def test_graph_launch_check_passes_on_the_repository() -> None:
    root = Path(__file__).resolve().parents[2]
    assert main(["graph", "launch", "--root", str(root)]) == 0


def test_graph_launch_check_fails_on_an_empty_tree(tmp_path: Path) -> None:
    assert main(["graph", "launch", "--root", str(tmp_path)]) == 1
