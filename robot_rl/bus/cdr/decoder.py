"""CDR decoder: XCDR1 bytes (little- or big-endian) to a message dataclass.

Every length is checked against the bytes left before anything is allocated, so garbage
cannot trigger huge allocations, and every failure is raised as `CdrError`. Primitive
sequences come back as read-only numpy views into the received buffer (no copy) when the
payload is little-endian.
"""

from __future__ import annotations

import struct
from typing import Any, TypeVar

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
from robot_rl.bus.errors import CdrError

M = TypeVar("M")

_U32 = {True: struct.Struct("<I"), False: struct.Struct(">I")}
# Trailing bytes a writer may leave (any value): alignment to 8, plus 4 for each empty
# sequence of 8-byte elements, which rclpy's Fast CDR size estimate pads for (measured:
# JointState with one empty float64[] comes 8 bytes longer, with three 12).
_MAX_TRAILING = 7
_SLACK_PER_EMPTY_8_BYTE_SEQ = 4


class _In:
    """Read cursor. ``pos`` is an index into ``buf``; alignment is relative to byte 4."""

    __slots__ = ("buf", "end", "little", "pos", "slack")

    def __init__(self, buf: bytes, little: bool, start: int = 4) -> None:
        self.buf = buf
        self.end = len(buf)
        self.little = little
        self.pos = start
        self.slack = _MAX_TRAILING  # trailing bytes allowed after the message

    def align(self, n: int) -> None:
        self.pos += -(self.pos - 4) % n

    def need(self, n: int, what: str) -> None:
        if self.pos + n > self.end:
            raise CdrError(
                f"truncated: {what} needs {n} bytes at offset {self.pos}, {self.left()} left"
            )

    def left(self) -> int:
        return self.end - self.pos

    def u32(self, what: str) -> int:
        self.align(4)
        self.need(4, what)
        (value,) = _U32[self.little].unpack_from(self.buf, self.pos)
        self.pos += 4
        return int(value)


def _check_bool(value: int, what: str) -> bool:
    if value > 1:
        raise CdrError(f"{what}: bool byte {value} is neither 0 nor 1")
    return value == 1


def _take_run(inp: _In, op: RunOp, out: list[Any]) -> None:
    inp.align(op.align)
    inp.need(op.size, op.label)
    values = (op.dec_le if inp.little else op.dec_be).unpack_from(inp.buf, inp.pos)
    inp.pos += op.size
    if op.simple:
        out.extend(values)
        return
    i = 0
    for slot in op.slots:
        is_bool = slot.prim.code == "?"
        if slot.count == 0:
            out.append(_check_bool(values[i], slot.name) if is_bool else values[i])
            i += 1
            continue
        chunk = values[i : i + slot.count]
        i += slot.count
        if is_bool:
            chunk = tuple(_check_bool(v, slot.name) for v in chunk)
        out.append(np.array(chunk, dtype=slot.prim.dtype.newbyteorder("=")))


def _take_string(inp: _In, what: str) -> str:
    n = inp.u32(what)
    if n == 0:
        raise CdrError(f"{what}: string length 0 (the terminating NUL is missing)")
    inp.need(n, what)
    start, inp.pos = inp.pos, inp.pos + n
    if inp.buf[inp.pos - 1] != 0:
        raise CdrError(f"{what}: string is not NUL-terminated")
    try:
        return inp.buf[start : inp.pos - 1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CdrError(f"{what}: string is not UTF-8 ({exc.reason})") from None


def _take_prim_seq(inp: _In, op: PrimSeqOp) -> np.ndarray[Any, Any]:
    count = inp.u32(op.name)
    size = op.prim.size
    if count == 0:
        if size == 8:
            inp.slack += _SLACK_PER_EMPTY_8_BYTE_SEQ
        return np.zeros(0, dtype=op.prim.dtype)
    inp.align(size)
    if count > inp.left() // size:
        raise CdrError(f"truncated: {op.name} claims {count} elements, {inp.left()} bytes left")
    offset, inp.pos = inp.pos, inp.pos + count * size
    if op.prim.code == "?":
        raw = np.frombuffer(inp.buf, dtype=np.uint8, count=count, offset=offset)
        if raw.max() > 1:
            raise CdrError(f"{op.name}: bool byte is neither 0 nor 1")
        return raw.view(np.bool_)
    if inp.little:
        return np.frombuffer(inp.buf, dtype=op.prim.dtype, count=count, offset=offset)
    big = np.frombuffer(inp.buf, dtype=op.dtype_be, count=count, offset=offset)
    return big.astype(op.prim.dtype)


def _count(inp: _In, what: str, min_size: int) -> int:
    count = inp.u32(what)
    if count > inp.left() // min_size:
        raise CdrError(f"truncated: {what} claims {count} elements, {inp.left()} bytes left")
    return count


def _take_struct(inp: _In, plan: Plan) -> Any:
    values: list[Any] = []
    for op in plan.ops:
        if isinstance(op, RunOp):
            _take_run(inp, op, values)
        elif isinstance(op, PrimSeqOp):
            values.append(_take_prim_seq(inp, op))
        elif isinstance(op, StringOp):
            values.append(_take_string(inp, op.name))
        elif isinstance(op, MessageOp):
            values.append(_take_struct(inp, plan_of(op.cls)))
        elif isinstance(op, StringSeqOp):
            n = _count(inp, op.name, 5)  # each string is at least length + NUL
            values.append([_take_string(inp, op.name) for _ in range(n)])
        elif isinstance(op, MessageSeqOp):
            n = _count(inp, op.name, 1)  # every message takes at least one byte
            sub = plan_of(op.cls)
            values.append([_take_struct(inp, sub) for _ in range(n)])
        elif isinstance(op, ArrayOp):
            if isinstance(op.elem, type):
                sub = plan_of(op.elem)
                values.append([_take_struct(inp, sub) for _ in range(op.length)])
            else:
                values.append([_take_string(inp, op.name) for _ in range(op.length)])
    return plan.cls(*values)


def read_header(data: bytes) -> bool:
    """Check the 4-byte encapsulation header; True for little-endian. Raises `CdrError`."""
    if len(data) < 4:
        raise CdrError(f"payload of {len(data)} bytes has no encapsulation header")
    if data[0] != 0 or data[1] > 1:
        raise CdrError(
            f"unsupported encapsulation 0x{data[0]:02x}{data[1]:02x} "
            "(expected plain CDR, 0x0000 or 0x0001, as ROS 2 uses)"
        )
    return data[1] == 1


def decode(cls: type[M], data: bytes | bytearray | memoryview, *, skip: int = 0) -> M:
    """Parse CDR bytes (encapsulation header included) into a ``cls`` instance.

    ``skip`` bytes after the header are ignored (a multiple of 8: the service request
    header). Arrays in the result may be read-only views into ``data``. Trailing padding
    of any value is accepted (up to 7 bytes, plus 4 per empty sequence of 8-byte
    elements, as rclpy writes it), anything more is an error. Raises `CdrError` only.
    """
    buf = data if isinstance(data, bytes) else bytes(data)
    little = read_header(buf)
    inp = _In(buf, little, start=4 + skip)
    try:
        msg = _take_struct(inp, plan_of(cls))
    except CdrError as exc:
        raise CdrError(f"{cls.__name__}: {exc}") from None
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        # Safety net: explicit checks above should make this unreachable.
        raise CdrError(f"{cls.__name__}: malformed payload ({exc})") from exc
    # Padding bytes, trailing or between fields, are skipped whatever they hold: rclpy's
    # serializer leaves them uninitialised, and the spec does not define their value.
    trailing = len(buf) - inp.pos
    if trailing > inp.slack:
        raise CdrError(f"{cls.__name__}: {trailing} unexpected bytes after the message")
    return msg
