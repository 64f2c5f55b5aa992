"""Node configs as ROS parameters: dotted names, types, parameter files, ROS arguments."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest

from robot_rl.nodes.graph import NODE_KINDS
from robot_rl.nodes.impedance_bridge import BridgeConfig
from robot_rl.nodes.params import (
    ParamDeclaration,
    ParamError,
    config_from_params,
    config_from_ros_values,
    config_to_params,
    inferred_ros_type,
    load_param_file,
    param_declarations,
    param_names,
    parse_param_assignment,
)
from robot_rl.nodes.ros_entry import declare_config, node_params, parse_ros_args


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
        ({"rate_hzz": 1.0}, r"rate_hzz: unknown key .*did you mean rate_hz\?"),
        ({"safety.nope": 1.0}, "safety.nope: unknown key"),
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


# ------------------------------------------------------------------ ROS declarations
@pytest.mark.parametrize("kind", sorted(NODE_KINDS))
def test_every_config_field_is_declared_with_its_default_and_type(kind: str) -> None:
    cls = NODE_KINDS[kind].config_class()
    decls = param_declarations(cls)
    assert [d.name for d in decls] == list(param_names(cls))  # every field, in order, once
    for d in decls:
        if d.dynamic_typing:
            assert d.ros_type.endswith("_array") and not getattr_dotted(cls(), d.name)
        else:
            assert inferred_ros_type(d.default) == d.ros_type, d  # rclpy infers the declared type
        assert "read at start" in d.description
    # the declared defaults (what ROS holds with no parameter file) give the defaults back
    assert config_from_ros_values(cls, {d.name: d.default for d in decls}) == cls()


def getattr_dotted(obj: object, dotted: str) -> object:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_declarations_coerce_defaults_to_the_ros_type_and_keep_comments() -> None:
    @dataclasses.dataclass
    class Cfg:
        gain: float = 2  # written as an int, declared as a double
        axes: tuple[bool, bool] = (True, False)
        names: tuple[str, ...] = ()  # no element to infer a type from
        mode: Literal["a", "b"] = "a"

    decls = {d.name: d for d in param_declarations(Cfg)}
    assert decls["gain"].default == 2.0 and type(decls["gain"].default) is float
    assert decls["gain"].description.startswith("written as an int, declared as a double")
    assert decls["axes"] == ParamDeclaration(
        "axes", [True, False], "bool_array", "[Cfg.axes; read at start]"
    )
    assert decls["names"].default is None and decls["names"].dynamic_typing
    assert decls["mode"].ros_type == "string"


def test_inferred_ros_types_follow_rclpy() -> None:
    assert [inferred_ros_type(v) for v in (True, 3, 3.0, "x", None)] == [
        "bool",
        "integer",
        "double",
        "string",
        "not_set",
    ]
    assert inferred_ros_type([1, 2]) == "integer_array"
    assert inferred_ros_type([1, 2.0]) == inferred_ros_type([]) == "mixed"


def test_a_field_ros_cannot_type_is_refused_by_name() -> None:
    @dataclasses.dataclass
    class Bad:
        limit: int | None = None

    with pytest.raises(ParamError, match="parameter limit"):
        param_declarations(Bad)


class FakeRclpyNode:
    """What `declare_config` uses of an rclpy node: declare_parameter with overrides (as
    rclpy applies a --params-file), statically typed unless dynamic_typing."""

    def __init__(self, overrides: dict[str, object]) -> None:
        self.overrides = overrides
        self.declared: dict[str, tuple[object, SimpleNamespace]] = {}

    def declare_parameter(self, name: str, value: object, descriptor: SimpleNamespace) -> Any:
        if name in self.declared:
            raise RuntimeError(f"ParameterAlreadyDeclaredException: {name}")
        chosen = self.overrides.get(name, value)
        if not descriptor.dynamic_typing and inferred_ros_type(chosen) != inferred_ros_type(value):
            raise RuntimeError(f"InvalidParameterTypeException: {name} got {chosen!r}")
        self.declared[name] = (chosen, descriptor)
        return SimpleNamespace(value=chosen)


def test_declare_config_declares_everything_and_applies_the_parameter_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "actor:\n  ros__parameters:\n    num_episodes: 3\n"
        "    obs:\n      cameras: [front, wrist]\n      max_age_s: 0.0\n"
    )
    cls = NODE_KINDS["actor"].config_class()
    node = FakeRclpyNode(load_param_file(path, "actor"))
    cfg = declare_config(node, cls, SimpleNamespace)
    assert set(node.declared) == set(param_names(cls))  # `ros2 param list` shows them all
    assert all(desc.read_only for _, desc in node.declared.values())  # set at start only
    assert node.declared["obs.cameras"][1].dynamic_typing
    assert cfg.num_episodes == 3 and cfg.obs.cameras == ("front", "wrist")
    assert cfg.obs.max_age_s == 0.0 and cfg.policy == cls().policy


def test_declare_config_names_the_parameter_rclpy_refuses() -> None:
    node = FakeRclpyNode({"rate_hz": 200})  # an integer for a double, as rclpy refuses
    cls = NODE_KINDS["impedance_bridge"].config_class()
    with pytest.raises(ParamError, match=r"parameter rate_hz \(double\)"):
        declare_config(node, cls, SimpleNamespace)
