"""Cyclone DDS topic types for our message classes.

For every message class we build an ``IdlStruct`` with the same members, names and
``pkg::msg::dds_::Name_`` type name that rosidl generates, so discovery (and XTypes type
information) describes the real ROS 2 type. Two flavours share that description:

- **raw** (the fast path): a subclass of `RawCdr`. cyclonedds-python's ``DataWriter.write``
  calls ``sample.serialize()`` and ``DataReader.take`` calls ``type.deserialize(bytes)``;
  `RawCdr` overrides exactly these two public hooks of ``IdlStruct`` so the writer takes
  bytes made by our own encoder, and the reader hands back the received bytes untouched.
  No Python code runs per array element and no cyclonedds internals are patched.
- **stock**: the plain ``IdlStruct``, serialized by cyclonedds-python's own per-element
  machinery (kept as the benchmark baseline and as a third CDR implementation in tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from cyclonedds.idl import IdlStruct, make_idl_struct
from cyclonedds.idl import types as t

from robot_rl.bus.cdr.schema import Array, Primitive, Sequence, StringType, fields_of, ros_type_of
from robot_rl.bus.names import dds_type_name

_PRIMITIVES: dict[str, Any] = {
    "bool": bool,
    "byte": t.byte,
    "char": t.uint8,  # ROS 2 `char` is an IDL uint8
    "int8": t.int8,
    "uint8": t.uint8,
    "int16": t.int16,
    "uint16": t.uint16,
    "int32": t.int32,
    "uint32": t.uint32,
    "int64": t.int64,
    "uint64": t.uint64,
    "float32": t.float32,
    "float64": t.float64,
}


_SEQUENCE: Any = t.sequence  # subscripted at runtime; not declared generic for type checkers
_ARRAY: Any = t.array


class RawCdr(IdlStruct):
    """Carrier of pre-serialized CDR: ``serialize`` returns it, ``deserialize`` keeps it."""

    # Declared for type checkers only: a runtime annotation would become an IDL member.
    if TYPE_CHECKING:
        cdr: bytes
        sample_info: Any  # set by DataReader.take

    def serialize(
        self, buffer: Any = None, endianness: Any = None, use_version_2: Any = None
    ) -> bytes:
        """The bytes given to `carrier` (encapsulation header included)."""
        return self.cdr

    @classmethod
    def deserialize(cls, data: bytes, has_header: bool = True, use_version_2: Any = None) -> Any:
        """Wrap received bytes without parsing them; parsing happens in the subscriber."""
        obj = cls.__new__(cls)
        obj.cdr = data
        return obj

    @classmethod
    def deserialize_key(
        cls, data: bytes, has_header: bool = True, use_version_2: Any = None
    ) -> Any:
        """Same as `deserialize` (ROS 2 types are keyless)."""
        return cls.deserialize(data)


def carrier(raw_type: type[RawCdr], data: bytes) -> RawCdr:
    """A writable sample of ``raw_type`` holding ``data``."""
    obj = raw_type.__new__(raw_type)
    obj.cdr = data
    return obj


def _idl_field(kind: Any) -> Any:
    if isinstance(kind, Primitive):
        return _PRIMITIVES[kind.name]
    if isinstance(kind, StringType):
        return str
    if isinstance(kind, Sequence):
        return _SEQUENCE[_idl_field(kind.elem)]
    if isinstance(kind, Array):
        return _ARRAY[_idl_field(kind.elem), kind.length]
    return stock_type(kind)


def _members(cls: type) -> dict[str, Any]:
    return {spec.name: _idl_field(spec.kind) for spec in fields_of(cls)}


_STOCK: dict[type, type[IdlStruct]] = {}
_RAW: dict[tuple[type, bool], type[RawCdr]] = {}


def stock_type(cls: type) -> type[IdlStruct]:
    """The plain cyclonedds ``IdlStruct`` mirroring a message class (built once)."""
    made = _STOCK.get(cls)
    if made is None:
        name = dds_type_name(ros_type_of(cls))
        made = _STOCK[cls] = make_idl_struct(cls.__name__ + "_", name, _members(cls))
    return made


def raw_type(cls: type, request_header: bool = False) -> type[RawCdr]:
    """The fast-path topic type of a message class: same description, our bytes.

    With ``request_header`` the description starts with the service header members
    (``uint64 guid``, ``int64 seq``) that rmw_cyclonedds puts in front of requests and
    replies. Cyclone checks every written payload against the description, so it must
    match the bytes exactly.
    """
    made = _RAW.get((cls, request_header))
    if made is None:
        name = dds_type_name(ros_type_of(cls))
        members = {"guid": t.uint64, "seq": t.int64} if request_header else {}
        members.update(_members(cls))
        built = make_idl_struct(cls.__name__ + "_Raw", name, members, bases=(RawCdr,))
        assert issubclass(built, RawCdr)
        made = _RAW[(cls, request_header)] = built
    return made


def to_stock(msg: Any) -> Any:
    """Convert a message to its stock ``IdlStruct`` instance (lists for arrays)."""
    values = {}
    for spec in fields_of(type(msg)):
        value = getattr(msg, spec.name)
        kind = spec.kind
        if isinstance(kind, (Sequence, Array)) and isinstance(kind.elem, Primitive):
            arr = np.asarray(value, dtype=kind.elem.dtype).reshape(-1)
            # bytes iterate as ints, the cheapest input the stock serializer takes
            value = arr.tobytes() if kind.elem.code == "B" else arr.tolist()
        elif isinstance(kind, (Sequence, Array)) and isinstance(kind.elem, type):
            value = [to_stock(item) for item in value]
        elif isinstance(kind, type):
            value = to_stock(value)
        values[spec.name] = value
    return stock_type(type(msg))(**values)


def from_stock(cls: type, obj: Any) -> Any:
    """Convert a stock ``IdlStruct`` instance back to a message of class ``cls``."""
    values = []
    for spec in fields_of(cls):
        value = getattr(obj, spec.name)
        kind = spec.kind
        if isinstance(kind, (Sequence, Array)) and isinstance(kind.elem, Primitive):
            value = np.asarray(list(value), dtype=kind.elem.dtype.newbyteorder("="))
        elif isinstance(kind, (Sequence, Array)) and isinstance(kind.elem, type):
            value = [from_stock(kind.elem, item) for item in value]
        elif isinstance(kind, type):
            value = from_stock(kind, value)
        values.append(value)
    return cls(*values)
