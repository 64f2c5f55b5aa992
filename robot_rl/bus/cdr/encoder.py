"""CDR encoder: a message dataclass to XCDR1 little-endian bytes (ROS 2 wire format).

Bulk primitive sequences (image pixels, float arrays) are appended as numpy buffers and
joined once, so their cost is one memory copy, not a Python loop per element.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from robot_rl.bus.cdr.plan import (
    ArrayOp,
    MessageOp,
    MessageSeqOp,
    Plan,
    PrimSeqOp,
    RunOp,
    StringOp,
    StringSeqOp,
    plan_of,
)
from robot_rl.bus.cdr.schema import Primitive
from robot_rl.bus.errors import CdrEncodeError

HEADER_LE = b"\x00\x01\x00\x00"  # encapsulation CDR_LE, options 0
_ZEROS = tuple(b"\x00" * n for n in range(8))
_U32 = struct.Struct("<I")


class _Out:
    """Growing list of byte chunks; ``pos`` counts bytes after the encapsulation header."""

    __slots__ = ("parts", "pos")

    def __init__(self) -> None:
        self.parts: list[Any] = [HEADER_LE]
        self.pos = 0

    def align(self, n: int) -> None:
        pad = -self.pos % n
        if pad:
            self.parts.append(_ZEROS[pad])
            self.pos += pad

    def put(self, chunk: bytes) -> None:
        self.parts.append(chunk)
        self.pos += len(chunk)

    def put_u32(self, value: int) -> None:
        self.align(4)
        self.parts.append(_U32.pack(value))
        self.pos += 4


def _as_array(value: Any, prim: Primitive) -> np.ndarray[Any, Any]:
    """A 1-D contiguous little-endian array of ``prim``; refuses lossy kind changes and
    anything that is not a sequence (None or a scalar would become a 1-element array)."""
    if np.ndim(value) == 0:
        raise TypeError(f"expected a sequence of {prim.dtype}, got {type(value).__name__}")
    target = prim.dtype
    if isinstance(value, np.ndarray):
        arr = value if value.dtype == target else value.astype(target, casting="same_kind")
    else:
        arr = np.asarray(value, dtype=target)
    return np.ascontiguousarray(arr).reshape(-1)


def _put_string(out: _Out, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    raw = value.encode("utf-8")
    out.put_u32(len(raw) + 1)
    out.put(raw)
    out.put(_ZEROS[1])


def _put_run(out: _Out, op: RunOp, msg: Any) -> None:
    out.align(op.align)
    if op.getter is not None:
        values = op.getter(msg)
        chunk = op.enc.pack(*values) if len(op.slots) > 1 else op.enc.pack(values)
    else:
        flat: list[Any] = []
        for slot in op.slots:
            value = getattr(msg, slot.name)
            if slot.count == 0:
                flat.append(value)
                continue
            arr = _as_array(value, slot.prim)
            if arr.size != slot.count:
                raise ValueError(f"{slot.name} needs {slot.count} elements, got {arr.size}")
            flat.extend(arr.tolist())
        chunk = op.enc.pack(*flat)
    out.parts.append(chunk)
    out.pos += op.size


def _put_message(out: _Out, cls: type, value: Any) -> None:
    if type(value) is not cls:
        raise TypeError(f"expected {cls.__name__}, got {type(value).__name__}")
    _encode_struct(out, plan_of(cls), value)


def _encode_op(out: _Out, op: Any, msg: Any) -> None:
    if isinstance(op, RunOp):
        _put_run(out, op, msg)
        return
    value = getattr(msg, op.name)
    if isinstance(op, PrimSeqOp):
        arr = _as_array(value, op.prim)
        out.put_u32(arr.size)
        if arr.size:
            out.align(op.prim.size)
            out.parts.append(arr)
            out.pos += arr.nbytes
    elif isinstance(op, StringOp):
        _put_string(out, value)
    elif isinstance(op, MessageOp):
        _put_message(out, op.cls, value)
    elif isinstance(op, StringSeqOp):
        out.put_u32(len(value))
        for item in value:
            _put_string(out, item)
    elif isinstance(op, MessageSeqOp):
        out.put_u32(len(value))
        for item in value:
            _put_message(out, op.cls, item)
    elif isinstance(op, ArrayOp):
        if len(value) != op.length:
            raise ValueError(f"needs {op.length} elements, got {len(value)}")
        for item in value:
            if isinstance(op.elem, type):
                _put_message(out, op.elem, item)
            else:
                _put_string(out, item)


def _encode_struct(out: _Out, plan: Plan, msg: Any) -> None:
    for op in plan.ops:
        try:
            _encode_op(out, op, msg)
        except CdrEncodeError as exc:
            raise CdrEncodeError(f"{_op_label(op)}.{exc}") from None
        except (struct.error, OverflowError, TypeError, ValueError, AttributeError) as exc:
            raise CdrEncodeError(f"{_op_label(op)}: {exc}") from exc


def _op_label(op: Any) -> str:
    return op.label if isinstance(op, RunOp) else op.name


def encode(msg: Any) -> bytes:
    """Serialize a message to CDR bytes, encapsulation header included.

    Raises `CdrEncodeError` (naming the field) when a value does not fit its wire type.
    """
    out = _Out()
    try:
        _encode_struct(out, plan_of(type(msg)), msg)
    except CdrEncodeError as exc:
        raise CdrEncodeError(f"{type(msg).__name__}.{exc}") from exc.__cause__
    return b"".join(out.parts)
