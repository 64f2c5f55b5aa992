"""Typed config loading: dataclasses from YAML, JSON and ROS parameters, validated.

The one home for turning plain values into config dataclasses, for every link: ``robot-rl
train --config x.yaml`` (`TrainConfig`), node parameter files (node configs) and saved
``config.json`` files all go through `config_from_params`. Nested dataclass fields are
dotted names (``sac.critic.ensemble_size``), exactly as ROS 2 flattens nested YAML under
``ros__parameters``; a nested mapping and its dotted form load identically.

Checks at load, each a one-line `ConfigError` that starts with the dotted key:
- a key that names no field (the closest known key is suggested);
- a value of the wrong type (only ``true``/``false`` are booleans; ints are not floats'
  strings; a bool is not a number);
- NaN or inf in any float;
- a value outside the field's interval, declared per class in a ``LIMITS`` class variable
  (``LIMITS: ClassVar[dict[str, str]] = {"discount": "(0, 1]"}``, also per tuple element).

    cfg = config_from_params(TrainConfig, {"env_steps": 500, "sac": {"discount": 0.9}})
    flat = config_to_params(cfg)                 # the inverse: flat, dotted, tuples as lists
    data = read_yaml_mapping("x.yaml")           # ConfigError: missing, bad YAML, not a mapping
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")


class ConfigError(ValueError):
    """A config value, key or file that cannot be loaded; the message is one line that
    starts with the dotted key (or the file) it is about."""


# ------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """YAML 1.2 scalars: only true/false are booleans (``no`` stays the string "no", the
    Norway problem), and ``3e-4`` is a float (YAML 1.1 makes it a string)."""


_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str, source: str = "<text>") -> Any:
    """YAML text to Python values (see `_Loader`); ConfigError with the line of a parse error."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: bad YAML: {problem}") from None


def read_yaml_mapping(path: str | Path, what: str = "config") -> dict[str, Any]:
    """The mapping in a YAML (or JSON) file; an empty file is ``{}``.

    Raises ConfigError for a missing file, a parse error (with its line) or a document
    that is not a mapping."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    data = parse_yaml(text, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(f"{path}: a {what} file must be a mapping of keys, got a {kind}")
    return data


# ------------------------------------------------------------------------- names
def field_types(cls: type) -> dict[str, Any]:
    """The resolved type annotation of every field of a config class."""
    return typing.get_type_hints(cls)


def is_config_class(tp: Any) -> bool:
    """Whether an annotation is a (nested) config dataclass."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _nested_class(tp: Any) -> tuple[type | None, bool]:
    """(the dataclass of a nested-config annotation, whether it may be None)."""
    if is_config_class(tp):
        return tp, False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and is_config_class(args[0]) and len(typing.get_args(tp)) == 2:
            return args[0], True
    return None, False


def param_names(cls: type) -> dict[str, Any]:
    """Every dotted leaf name of config class ``cls`` with its type annotation.

    An optional nested config (``hl_gauss: HLGaussConfig | None``) also has its own name,
    which takes ``None`` (null) to switch it off."""
    out: dict[str, Any] = {}
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        sub_cls, optional = _nested_class(tp)
        if sub_cls is None:
            out[f.name] = tp
            continue
        if optional:
            out[f.name] = type(None)
        for sub, sub_tp in param_names(sub_cls).items():
            out[f"{f.name}.{sub}"] = sub_tp
    return out


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys (as ROS does with nested ``ros__parameters``).

    An empty mapping stays as ``{}`` under its name: for an optional nested config it
    means "on, with its defaults", and it must not vanish silently."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def closest(name: str, known: typing.Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest of ``known`` to ``name``, or ``""``."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


# -------------------------------------------------------------------- conversion
def _convert(name: str, tp: Any, value: Any) -> Any:
    """``value`` as annotation ``tp`` requires, or ConfigError naming ``name``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        wanted = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(name, option, value)
            except ConfigError as exc:  # "name: expected X, got V" -> "X"
                wanted.append(str(exc).removeprefix(f"{name}: expected ").rsplit(", got ", 1)[0])
        if type(None) in args:
            wanted.append("null")
        raise ConfigError(f"{name}: expected {' or '.join(wanted)}, got {value!r}")
    if origin is typing.Literal:
        if value not in args or isinstance(value, bool) != isinstance(args[0], bool):
            raise ConfigError(f"{name}: expected one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(name, args[0], v) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{name}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(name, a, v) for a, v in zip(args, value, strict=True))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected a bool (true or false), got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected an int, got {value!r}")
    if tp is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{name}: expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name}: expected a string, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{name}: expected a mapping or null, got {value!r}")
    raise ConfigError(f"{name}: unsupported field type {tp}")


# Intervals for LIMITS tables (any "(lo, hi]" string works; these are the common ones).
AT_LEAST_1 = "[1, inf)"  # counts and sizes where 0 makes no sense
NON_NEGATIVE = "[0, inf)"  # counts that may be 0, weights, noise levels
POSITIVE = "(0, inf)"  # learning rates, widths in metres, scales
UNIT = "[0, 1]"  # probabilities and fractions

_INTERVAL = re.compile(r"^([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])$")


def in_interval(value: float, interval: str) -> bool:
    """Whether ``value`` lies in ``interval``, written ``"(0, 1]"``, ``"[1, inf)"``..."""
    m = _INTERVAL.match(interval)
    if m is None:
        raise ValueError(f"bad interval {interval!r}")
    lo, hi = float(m[2]), float(m[3])
    above = value > lo if m[1] == "(" else value >= lo
    below = value < hi if m[4] == ")" else value <= hi
    return above and below


def check(config: Any, prefix: str = "") -> None:
    """Check every field of a config instance (nested ones too): its type, finiteness and
    the interval its class's ``LIMITS`` gives. Raises ConfigError naming the dotted key."""
    cls = type(config)
    hints = field_types(cls)
    limits: Mapping[str, str] = getattr(cls, "LIMITS", {})
    for f in dataclasses.fields(config):
        key, value = prefix + f.name, getattr(config, f.name)
        sub_cls, optional = _nested_class(hints[f.name])
        if sub_cls is not None:
            if not (optional and value is None):
                if not isinstance(value, sub_cls):
                    raise ConfigError(f"{key}: expected a {sub_cls.__name__}, got {value!r}")
                check(value, key + ".")
            continue
        _convert(key, hints[f.name], value)
        interval = limits.get(f.name)
        values = value if isinstance(value, tuple) else (value,)
        if interval is not None and any(
            v is not None and not in_interval(v, interval) for v in values
        ):
            shown = (
                f"values in {interval}" if isinstance(value, tuple) else f"a value in {interval}"
            )
            raise ConfigError(f"{key}: expected {shown}, got {value!r}")


# ---------------------------------------------------------------------- building
def config_from_params(cls: type[C], params: Mapping[str, Any], base: C | None = None) -> C:
    """Build ``cls`` from flat (dotted) or nested parameters over ``base`` (or the defaults).

    Raises ConfigError for a key that names no field, a value of the wrong type, a
    non-finite float or a value outside the field's ``LIMITS`` interval.
    """
    flat = flatten(params)
    names = param_names(cls)
    for key in flat:
        if key in names:
            continue
        if any(n.startswith(key + ".") for n in names):
            if flat[key] == {}:
                continue  # an empty section: nothing to change
            raise ConfigError(f"{key}: expected a mapping of its keys, got {flat[key]!r}")
        raise ConfigError(f"{key}: unknown key of {cls.__name__}{closest(key, names)}")
    built = _build(cls, flat, base if base is not None else cls(), "")
    check(built)
    return built


def _build(cls: type[C], flat: Mapping[str, Any], base: C | None, prefix: str) -> C:
    hints = field_types(cls)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = prefix + f.name
        sub_cls, optional = _nested_class(hints[f.name])
        if sub_cls is None:
            if key in flat:
                changes[f.name] = _convert(key, hints[f.name], flat[key])
            continue
        given = flat.get(key, {})
        if optional and key in flat and given is None:
            changes[f.name] = None
            continue
        if given != {}:
            raise ConfigError(f"{key}: expected a mapping of its keys, got {given!r}")
        if key in flat or any(k.startswith(key + ".") for k in flat):
            changes[f.name] = _build(sub_cls, flat, getattr(base, f.name), key + ".")
    if base is None:
        return cls(**changes)
    try:
        return dataclasses.replace(base, **changes)  # type: ignore[type-var]
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # a class's own __post_init__ check
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {exc}") from None


def config_to_params(config: Any, prefix: str = "") -> dict[str, Any]:
    """Flat dotted parameters of a config instance (tuples as lists, an unset optional
    nested config as ``None``): the inverse of `config_from_params`."""
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


UNSET = "<unset>"  # config_diff's side of a key that one config does not have


def config_diff(old: Any, new: Any) -> dict[str, tuple[Any, Any]]:
    """``{dotted key: (old, new)}`` for every value that differs, sorted by key.

    Either side is a config instance or a (nested or flat) mapping such as a loaded
    config.json; a key only one side has shows `UNSET` on the other."""
    a, b = (_flat_values(x) for x in (old, new))
    return {
        k: (a.get(k, UNSET), b.get(k, UNSET))
        for k in sorted(a.keys() | b.keys())
        if a.get(k, UNSET) != b.get(k, UNSET)
    }


def _flat_values(config: Any) -> dict[str, Any]:
    flat = config_to_params(config) if dataclasses.is_dataclass(config) else flatten(config)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in flat.items()}
