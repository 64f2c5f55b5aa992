"""Node configs as ROS parameters: one dataclass per node, one parameter per field.

Nested dataclass fields become dotted names (``safety.max_step_pos_m``), exactly as ROS 2
flattens nested YAML under ``ros__parameters``. Tuples are lists. ``None`` is not a ROS
parameter value, so node configs use ``""`` / ``-1`` / ``0`` for "unset" instead.

    cfg = config_from_params(BridgeConfig, {"rate_hz": 200, "safety.max_step_pos_m": 0.02})
    flat = config_to_params(cfg)            # the inverse, for parameter files
    decls = param_declarations(BridgeConfig) # name, default, ROS type: for declare_parameter
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

# The typed conversion lives in robot_rl.configio (one home for every link); the names the
# nodes use are re-exported here. ParamError is ConfigError.
from robot_rl.configio import ConfigError as ConfigError
from robot_rl.configio import config_from_params as config_from_params
from robot_rl.configio import config_to_params as config_to_params
from robot_rl.configio import field_types, is_config_class, parse_yaml, read_yaml_mapping
from robot_rl.configio import flatten as flatten
from robot_rl.configio import param_names as param_names

ParamError = ConfigError
C = TypeVar("C")


def parse_param_assignment(text: str) -> tuple[str, Any]:
    """``"a.b=value"`` (or ROS style ``"a.b:=value"``) to (name, YAML-parsed value)."""
    sep = ":=" if ":=" in text else "="
    name, found, raw = text.partition(sep)
    if not found or not name:
        raise ParamError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), parse_yaml(raw, name.strip())


def node_section(
    document: Mapping[str, Any], node_name: str, namespace: str = "/"
) -> dict[str, Any]:
    """Flat parameters of ``node_name`` in a ROS 2 parameter file document.

    Sections match ROS rules: ``/**``, ``node``, ``/node`` or ``/ns/node``; later sections
    in the file win. A section without ``ros__parameters`` raises `ParamError`.
    """
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    accepted = {"/**", "**", node_name, f"/{node_name}", f"{ns}/{node_name}", f"{ns}/**"}
    out: dict[str, Any] = {}
    for key, section in document.items():
        if key not in accepted:
            continue
        if not isinstance(section, Mapping) or "ros__parameters" not in section:
            raise ParamError(f"parameter file section {key!r} has no ros__parameters")
        out.update(flatten(section["ros__parameters"]))
    return out


def load_param_file(path: str | Path, node_name: str, namespace: str = "/") -> dict[str, Any]:
    """Flat parameters of ``node_name`` from a ROS 2 YAML parameter file."""
    document = read_yaml_mapping(path, "parameter")
    return node_section(document, node_name, namespace)


# ------------------------------------------------------------------ ROS declarations
RosType = Literal[
    "bool",
    "integer",
    "double",
    "string",
    "bool_array",
    "integer_array",
    "double_array",
    "string_array",
]
_SCALAR_ROS: dict[type, RosType] = {bool: "bool", int: "integer", float: "double", str: "string"}


@dataclass(frozen=True)
class ParamDeclaration:
    """One ROS parameter of a node: what ``rclpy.Node.declare_parameter`` is given.

    ``default`` is the dataclass default in the Python type rclpy infers ``ros_type`` from
    (a float for ``double`` even where the default is written ``1``; lists for arrays).
    An empty array has no inferable element type, so it is declared with no value and
    ``dynamic_typing`` (ROS then takes a list of any type from a parameter file).
    """

    name: str  # dotted, as in parameter files
    default: Any
    ros_type: RosType
    description: str

    @property
    def dynamic_typing(self) -> bool:
        """True when ROS cannot infer the type from the default (an empty array)."""
        return self.default is None


def ros_type(tp: Any) -> RosType:
    """The ROS parameter type of a config field annotation; ParamError if it has none."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        kinds = {type(a) for a in args}
        if len(kinds) == 1 and next(iter(kinds)) in _SCALAR_ROS:
            return _SCALAR_ROS[next(iter(kinds))]
    elif origin is tuple:
        elems = {a for a in args if a is not Ellipsis}
        if len(elems) == 1 and next(iter(elems)) in _SCALAR_ROS:
            return typing.cast(RosType, _SCALAR_ROS[next(iter(elems))] + "_array")
    elif tp in _SCALAR_ROS:
        return _SCALAR_ROS[tp]
    raise ParamError(f"{tp} has no ROS parameter type (use bool, int, float, str or tuples)")


def _ros_value(kind: RosType, value: Any) -> Any:
    cast: dict[str, Callable[[Any], Any]] = {
        "bool": bool,
        "integer": int,
        "double": float,
        "string": str,
    }
    if kind.endswith("_array"):
        return [cast[kind.removesuffix("_array")](v) for v in value] or None
    return cast[kind](value)


def _field_comments(cls: type) -> dict[str, str]:
    """Trailing ``# comments`` of the fields in the class source (empty if unavailable)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    found = re.findall(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+?)\s*$", source, re.MULTILINE)
    return dict(found)


def param_declarations(config: Any) -> list[ParamDeclaration]:
    """Every parameter of a config class (or instance: its values are the defaults), in
    field order, nested dataclasses dotted. Raises ParamError for a field ROS cannot type."""
    instance = config() if isinstance(config, type) else config
    out: list[ParamDeclaration] = []
    hints = field_types(type(instance))
    comments = _field_comments(type(instance))
    for f in dataclasses.fields(instance):
        tp, value = hints[f.name], getattr(instance, f.name)
        if is_config_class(tp):
            for sub in param_declarations(value):
                out.append(dataclasses.replace(sub, name=f"{f.name}.{sub.name}"))
            continue
        try:
            kind = ros_type(tp)
        except ParamError as exc:
            raise ParamError(f"parameter {f.name}: {exc}") from None
        note = comments.get(f.name, "")
        text = f"{note} " if note else ""
        out.append(
            ParamDeclaration(
                f.name,
                _ros_value(kind, value),
                kind,
                f"{text}[{type(instance).__name__}.{f.name}; read at start]",
            )
        )
    return out


def inferred_ros_type(value: Any) -> str:
    """The parameter type rclpy infers from a Python value (a parameter file's or a
    declared default): ``"not_set"`` for None, ``"mixed"`` for an empty or mixed list.
    A parameter declared with a static type takes only values of that type."""
    if value is None:
        return "not_set"
    if isinstance(value, (list, tuple)):
        kinds = {inferred_ros_type(v) for v in value}
        return f"{kinds.pop()}_array" if len(kinds) == 1 else "mixed"
    for py, kind in _SCALAR_ROS.items():  # bool first: a bool is an int in Python
        if isinstance(value, py):
            return kind
    return "unsupported"


def config_from_ros_values(cls: type[C], values: Mapping[str, Any]) -> C:
    """``cls`` from the values ROS holds for its declared parameters (dotted names).

    ``None`` (a parameter declared without value and never set) keeps the default; ROS
    array values (``array.array``, tuples) become lists. Types are then checked as for a
    parameter file (`config_from_params`)."""
    params: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
            value = list(value)
        params[name] = value
    return config_from_params(cls, params)
