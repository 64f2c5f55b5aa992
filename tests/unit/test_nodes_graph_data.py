"""The graph description: every graph is consistent; the checks catch broken graphs."""

from __future__ import annotations

import dataclasses

import pytest

from robot_rl.nodes.cli import parse_overrides
from robot_rl.nodes.graph import GRAPHS, Instance, check_graph, endpoints, expand
from robot_rl.nodes.twin import TwinNodeConfig


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_every_graph_is_consistent(name: str) -> None:
    assert check_graph(GRAPHS[name]) == []


def test_target_pose_has_the_bridge_as_only_publisher() -> None:
    for graph in GRAPHS.values():
        pubs = {e.node for e in endpoints(graph) if e.role == "pub" and e.name == "/target_pose"}
        assert pubs == {"impedance_bridge"}, graph.name


def test_a_second_target_pose_publisher_is_flagged() -> None:
    g = GRAPHS["twin_cell"]
    bad = dataclasses.replace(
        g, nodes=(*g.nodes, Instance("impedance_bridge", "bridge2", {"action_topic": "a2"}))
    )
    problems = check_graph(bad)
    assert any("only publisher" in p for p in problems)


def test_a_renamed_topic_without_publisher_is_flagged() -> None:
    overrides = {"impedance_bridge": {"current_pose_topic": "pose_typo"}}
    problems = check_graph(GRAPHS["training"], overrides)
    assert any("/pose_typo" in p and "nothing publishes" in p for p in problems)


def test_templates_expand_over_tuples() -> None:
    cfg = TwinNodeConfig(cameras=("front", "wrist"))
    names = expand("{camera_namespace}/{cameras[*]}/image_raw", cfg)
    assert names == ["cameras/front/image_raw", "cameras/wrist/image_raw"]


def test_training_graph_runs_on_sim_time_with_lock_step_twin() -> None:
    g = GRAPHS["training"]
    assert g.sim_time
    assert g.instance("twin").params["lockstep"] is True
    assert any(e.name == "/clock" and e.role == "pub" for e in endpoints(g))


def test_cli_overrides_and_task() -> None:
    out = parse_overrides(
        ["learner.checkpoint_dir=/tmp/x", "actor.num_episodes=3"], "pick_cube", "training"
    )
    assert out["learner"] == {"checkpoint_dir": "/tmp/x"}
    assert out["actor"] == {"num_episodes": 3, "hil.task": "pick_cube"}  # operator's scales
    assert (
        out["twin"]["task"]
        == out["reset"]["task"]
        == out["impedance_bridge"]["task"]
        == "pick_cube"
    )
    with pytest.raises(KeyError):
        parse_overrides(["nobody.x=1"], "", "training")
