"""Node configs as ROS parameters: one dataclass per node, one parameter per field.

Nested dataclass fields become dotted names (``safety.max_step_pos_m``), exactly as ROS 2
flattens nested YAML under ``ros__parameters``. Tuples are lists. ``None`` is not a ROS
parameter value, so node configs use ``""`` / ``-1`` / ``0`` for "unset" instead.

    cfg = config_from_params(BridgeConfig, {"rate_hz": 200, "safety.max_step_pos_m": 0.02})
    flat = config_to_params(cfg)            # the inverse, for parameter files
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")
Scalar = bool | int | float | str


class ParamError(ValueError):
    """A parameter that names no config field, or whose value has the wrong type."""


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def param_names(cls: type) -> dict[str, Any]:
    """Every dotted parameter name of config class ``cls`` with its type annotation."""
    out: dict[str, Any] = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if _is_dataclass_type(tp):
            for sub, sub_tp in param_names(tp).items():
                out[f"{f.name}.{sub}"] = sub_tp
        else:
            out[f.name] = tp
    return out


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys (as ROS does with nested ``ros__parameters``)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _convert(name: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(name, option, value)
            except ParamError:
                continue
        raise ParamError(f"parameter {name}: {value!r} fits none of {tp}")
    if origin is typing.Literal:
        if value not in args:
            raise ParamError(f"parameter {name}: {value!r} is not one of {args}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ParamError(f"parameter {name}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(name, args[0], v) for v in value)
        if len(args) != len(value):
            raise ParamError(f"parameter {name}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(name, a, v) for a, v in zip(args, value, strict=True))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ParamError(f"parameter {name}: expected a bool, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParamError(f"parameter {name}: expected an int, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ParamError(f"parameter {name}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ParamError(f"parameter {name}: expected a string, got {value!r}")
    raise ParamError(f"parameter {name}: unsupported field type {tp}")


def config_from_params(cls: type[C], params: Mapping[str, Any], base: C | None = None) -> C:
    """Build ``cls`` from flat (dotted) or nested parameters over ``base`` (or the defaults).

    Raises `ParamError` for a key that names no field or a value of the wrong type.
    """
    flat = flatten(params)
    names = param_names(cls)
    unknown = sorted(set(flat) - set(names))
    if unknown:
        raise ParamError(f"{cls.__name__} has no parameter(s) {unknown}; known: {sorted(names)}")
    return _build(cls, flat, base if base is not None else cls(), "")


def _build(cls: type[C], flat: Mapping[str, Any], base: C, prefix: str) -> C:
    hints = _hints(cls)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = hints[f.name]
        key = prefix + f.name
        if _is_dataclass_type(tp):
            if any(k.startswith(key + ".") for k in flat):
                changes[f.name] = _build(tp, flat, getattr(base, f.name), key + ".")
        elif key in flat:
            changes[f.name] = _convert(key, tp, flat[key])
    return dataclasses.replace(base, **changes)  # type: ignore[type-var]


def config_to_params(config: Any, prefix: str = "") -> dict[str, Any]:
    """Flat dotted parameters of a config instance (tuples as lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out.update(config_to_params(value, f"{prefix}{f.name}."))
        elif isinstance(value, tuple):
            out[prefix + f.name] = list(value)
        else:
            out[prefix + f.name] = value
    return out


def parse_param_assignment(text: str) -> tuple[str, Any]:
    """``"a.b=value"`` (or ROS style ``"a.b:=value"``) to (name, YAML-parsed value)."""
    sep = ":=" if ":=" in text else "="
    name, found, raw = text.partition(sep)
    if not found or not name:
        raise ParamError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), yaml.safe_load(raw)


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
    document = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(document, Mapping):
        raise ParamError(f"{path}: a parameter file must be a mapping")
    return node_section(document, node_name, namespace)
