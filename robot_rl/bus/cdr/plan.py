"""A message class compiled into a list of wire operations, shared by encoder and decoder.

Consecutive fixed-size fields are merged into one `RunOp` packed by a single
``struct.Struct``. A run starts at a field of alignment A and takes following fixed-size
fields of alignment <= A, so once the run start is aligned to A all padding inside it
is known at compile time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from robot_rl.bus.cdr.schema import Array, Primitive, Sequence, StringType, fields_of


@dataclass(frozen=True)
class Slot:
    """One field inside a run: a scalar (``count == 0``) or a fixed array of ``count``."""

    name: str
    prim: Primitive
    count: int


@dataclass(frozen=True)
class RunOp:
    """Fixed-size fields packed together. ``size`` excludes the leading alignment pad."""

    align: int
    size: int
    slots: tuple[Slot, ...]
    enc: struct.Struct  # little-endian, bools as '?'
    dec_le: struct.Struct  # bools as 'B' so that values other than 0/1 can be rejected
    dec_be: struct.Struct
    getter: Callable[[Any], Any] | None  # attrgetter for runs of scalars only
    simple: bool  # scalars only and no bools: decoded values are the field values

    @property
    def label(self) -> str:
        """Field names, for error messages."""
        return ",".join(s.name for s in self.slots)


@dataclass(frozen=True)
class StringOp:
    """A string field."""

    name: str


@dataclass(frozen=True)
class PrimSeqOp:
    """A sequence of primitives, carried as a numpy array (the bulk fast path)."""

    name: str
    prim: Primitive
    dtype_be: np.dtype[Any]


@dataclass(frozen=True)
class StringSeqOp:
    """A sequence of strings (``string[]``), carried as ``list[str]``."""

    name: str


@dataclass(frozen=True)
class MessageOp:
    """A nested message."""

    name: str
    cls: type


@dataclass(frozen=True)
class MessageSeqOp:
    """A sequence of nested messages, carried as a list."""

    name: str
    cls: type


@dataclass(frozen=True)
class ArrayOp:
    """A fixed-length array of strings or messages, carried as a list."""

    name: str
    elem: StringType | type
    length: int


Op = RunOp | StringOp | PrimSeqOp | StringSeqOp | MessageOp | MessageSeqOp | ArrayOp


@dataclass(frozen=True)
class Plan:
    """The compiled form of one message class."""

    cls: type
    ops: tuple[Op, ...]


def _close_run(slots: list[Slot]) -> RunOp:
    align = slots[0].prim.size
    enc, dec, rel = [], [], 0
    for slot in slots:
        pad = -rel % slot.prim.size
        n = max(slot.count, 1)
        if pad:
            enc.append(f"{pad}x")
            dec.append(f"{pad}x")
        count = str(slot.count) if slot.count else ""
        enc.append(count + slot.prim.code)
        dec.append(count + ("B" if slot.prim.code == "?" else slot.prim.code))
        rel += pad + n * slot.prim.size
    scalars_only = all(s.count == 0 for s in slots)
    names = [s.name for s in slots]
    return RunOp(
        align=align,
        size=rel,
        slots=tuple(slots),
        enc=struct.Struct("<" + "".join(enc)),
        dec_le=struct.Struct("<" + "".join(dec)),
        dec_be=struct.Struct(">" + "".join(dec)),
        getter=attrgetter(*names) if scalars_only else None,
        simple=scalars_only and all(s.prim.code != "?" for s in slots),
    )


_PLANS: dict[type, Plan] = {}


def plan_of(cls: type) -> Plan:
    """Compile (once) the wire operations of a message class."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _compile(cls)
    return plan


def _compile(cls: type) -> Plan:
    ops: list[Op] = []
    run: list[Slot] = []

    def flush() -> None:
        if run:
            ops.append(_close_run(run))
            run.clear()

    for spec in fields_of(cls):
        kind = spec.kind
        slot: Slot | None = None
        if isinstance(kind, Primitive):
            slot = Slot(spec.name, kind, 0)
        elif isinstance(kind, Array) and isinstance(kind.elem, Primitive):
            slot = Slot(spec.name, kind.elem, kind.length)
        if slot is not None:
            if run and slot.prim.size > run[0].prim.size:
                flush()
            run.append(slot)
            continue
        flush()
        if isinstance(kind, StringType):
            ops.append(StringOp(spec.name))
        elif isinstance(kind, Sequence):
            if isinstance(kind.elem, Primitive):
                be = np.dtype(">" + kind.elem.code)
                ops.append(PrimSeqOp(spec.name, kind.elem, be))
            elif isinstance(kind.elem, StringType):
                ops.append(StringSeqOp(spec.name))
            else:
                ops.append(MessageSeqOp(spec.name, kind.elem))
        elif isinstance(kind, Array):
            assert not isinstance(kind.elem, Primitive)
            ops.append(ArrayOp(spec.name, kind.elem, kind.length))
        else:
            assert isinstance(kind, type)
            ops.append(MessageOp(spec.name, kind))
    flush()
    return Plan(cls, tuple(ops))
