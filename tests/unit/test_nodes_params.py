"""Node configs as ROS parameters: dotted names, types, parameter files, ROS arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.nodes.impedance_bridge import BridgeConfig
from robot_rl.nodes.params import (
    ParamError,
    config_from_params,
    config_to_params,
    load_param_file,
    param_names,
    parse_param_assignment,
)
from robot_rl.nodes.ros_entry import node_params, parse_ros_args


def test_dotted_and_nested_parameters_reach_nested_fields() -> None:
    cfg = config_from_params(BridgeConfig, {"rate_hz": 200, "safety.max_step_pos_m": 0.02})
    assert cfg.rate_hz == 200.0 and isinstance(cfg.rate_hz, float)
    assert cfg.safety.max_step_pos_m == 0.02
    nested = config_from_params(BridgeConfig, {"safety": {"watchdog_timeout_s": 0.1}})
    assert nested.safety.watchdog_timeout_s == 0.1
    assert nested.safety.max_step_pos_m == BridgeConfig().safety.max_step_pos_m


def test_lists_become_tuples_and_round_trip() -> None:
    cfg = config_from_params(BridgeConfig, {"rot_axes": [False, False, True]})
    assert cfg.rot_axes == (False, False, True)
    assert config_from_params(BridgeConfig, config_to_params(cfg)) == cfg


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"rate_hzz": 1.0}, "no parameter"),
        ({"safety.nope": 1.0}, "no parameter"),
        ({"rate_hz": "fast"}, "expected a number"),
        ({"rot_axes": [True, False]}, "expected 3 values"),
        ({"calibration": 3}, "expected a string"),
        ({"rate_hz": True}, "expected a number"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(params: dict, match: str) -> None:
    with pytest.raises(ParamError, match=match):
        config_from_params(BridgeConfig, params)


def test_config_validation_still_applies() -> None:
    with pytest.raises(ValueError, match="watchdog_timeout_s must be > 0"):
        config_from_params(BridgeConfig, {"safety.watchdog_timeout_s": 0.0})


def test_param_names_cover_every_nested_field() -> None:
    names = param_names(BridgeConfig)
    assert "safety.workspace_low_m" in names and "rate_hz" in names
    assert not any(n == "safety" for n in names)


def test_parameter_file_sections_follow_ros_rules(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "/**:\n  ros__parameters:\n    rate_hz: 50.0\n"
        "bridge:\n  ros__parameters:\n    safety:\n      max_step_pos_m: 0.01\n"
        "/cell/bridge:\n  ros__parameters:\n    rate_hz: 70.0\n"
        "other:\n  ros__parameters:\n    rate_hz: 1.0\n"
    )
    assert load_param_file(path, "bridge") == {"rate_hz": 50.0, "safety.max_step_pos_m": 0.01}
    in_ns = load_param_file(path, "bridge", "/cell")
    assert in_ns["rate_hz"] == 70.0


def test_assignments_parse_yaml_values() -> None:
    assert parse_param_assignment("a.b=0.5") == ("a.b", 0.5)
    assert parse_param_assignment("cams:=[front, wrist]") == ("cams", ["front", "wrist"])
    with pytest.raises(ParamError):
        parse_param_assignment("novalue")


def test_ros_arguments_give_name_namespace_files_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("bridge_a:\n  ros__parameters:\n    rate_hz: 30.0\n")
    argv = [
        "impedance_bridge",
        "--ros-args",
        "-r",
        "__node:=bridge_a",
        "-r",
        "__ns:=/cell",
        "-r",
        "target_pose:=/arm/target_pose",
        "--params-file",
        str(path),
        "-p",
        "safety.max_step_pos_m:=0.02",
        "-p",
        "use_sim_time:=true",
    ]
    ros = parse_ros_args(argv)
    assert (ros.node_name, ros.namespace) == ("bridge_a", "/cell")
    name, params = node_params("impedance_bridge", ros)
    assert name == "bridge_a"
    assert params == {"rate_hz": 30.0, "safety.max_step_pos_m": 0.02, "use_sim_time": True}
