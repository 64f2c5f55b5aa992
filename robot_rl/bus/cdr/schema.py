"""Wire schema of a message class, read from its dataclass field annotations.

A message class is a dataclass with a ``__ros_type__`` class variable
(``"pkg/msg/Name"``). Each field's annotation says its wire type:

- ``Annotated[int, INT32]`` and friends: a fixed-size scalar (`Primitive`);
- ``Annotated[str, STRING]``: an unbounded string;
- ``Annotated[NDArray, Sequence(FLOAT32)]``: an unbounded sequence (``float32[]``);
- ``Annotated[NDArray, Array(FLOAT64, 9)]``: a fixed-length array (``float64[9]``);
- a message class: a nested message; ``list[MessageClass]``: a sequence of them.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np


@dataclass(frozen=True)
class Primitive:
    """A fixed-size CDR scalar. Its size in bytes is also its XCDR1 alignment."""

    name: str  # ROS type name: "float64", "bool", ...
    code: str  # struct module format code
    size: int  # bytes on the wire

    @property
    def dtype(self) -> np.dtype[Any]:
        """Little-endian numpy dtype of one element."""
        return np.dtype("<" + self.code)


@dataclass(frozen=True)
class StringType:
    """An unbounded UTF-8 string: uint32 length (with the NUL), bytes, NUL."""


@dataclass(frozen=True)
class Sequence:
    """An unbounded sequence: uint32 count, then the elements."""

    elem: Primitive | StringType | type


@dataclass(frozen=True)
class Array:
    """A fixed-length array: the elements only, no count on the wire."""

    elem: Primitive | StringType | type
    length: int


BOOL = Primitive("bool", "?", 1)
BYTE = Primitive("byte", "B", 1)
CHAR = Primitive("char", "B", 1)
INT8 = Primitive("int8", "b", 1)
UINT8 = Primitive("uint8", "B", 1)
INT16 = Primitive("int16", "h", 2)
UINT16 = Primitive("uint16", "H", 2)
INT32 = Primitive("int32", "i", 4)
UINT32 = Primitive("uint32", "I", 4)
INT64 = Primitive("int64", "q", 8)
UINT64 = Primitive("uint64", "Q", 8)
FLOAT32 = Primitive("float32", "f", 4)
FLOAT64 = Primitive("float64", "d", 8)
STRING = StringType()

Kind = Primitive | StringType | Sequence | Array | type


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message: its attribute name and its wire kind."""

    name: str
    kind: Kind


def is_message_class(obj: object) -> bool:
    """True for a dataclass type that declares ``__ros_type__``."""
    return (
        isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and isinstance(getattr(obj, "__ros_type__", None), str)
    )


def ros_type_of(cls: type) -> str:
    """The ROS type name of a message class, e.g. ``"sensor_msgs/msg/Image"``."""
    name = getattr(cls, "__ros_type__", None)
    if not isinstance(name, str):
        raise TypeError(f"{cls!r} is not a message class (no __ros_type__)")
    return name


def _kind_from_hint(owner: type, field: str, hint: Any) -> Kind:
    if typing.get_origin(hint) is Annotated:
        for marker in hint.__metadata__:
            if isinstance(marker, (Primitive, StringType, Sequence, Array)):
                return marker
    elif typing.get_origin(hint) is list:
        (elem,) = typing.get_args(hint)
        if is_message_class(elem):
            return Sequence(elem)
    elif is_message_class(hint):
        return typing.cast(type, hint)
    raise TypeError(f"{owner.__name__}.{field}: annotation {hint!r} names no wire type")


_FIELDS: dict[type, tuple[FieldSpec, ...]] = {}


def fields_of(cls: type) -> tuple[FieldSpec, ...]:
    """The wire fields of a message class, in declaration (= wire) order. Cached."""
    specs = _FIELDS.get(cls)
    if specs is None:
        specs = _FIELDS[cls] = _read_fields(cls)
    return specs


def _read_fields(cls: type) -> tuple[FieldSpec, ...]:
    if not is_message_class(cls):
        raise TypeError(f"{cls!r} is not a message class (a dataclass with __ros_type__)")
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = tuple(
        FieldSpec(f.name, _kind_from_hint(cls, f.name, hints[f.name]))
        for f in dataclasses.fields(cls)
    )
    if not specs:
        # rosidl adds a dummy uint8 member to empty messages; we have none and do not mimic it.
        raise TypeError(f"{cls.__name__} has no fields")
    return specs
