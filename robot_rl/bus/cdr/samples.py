"""Random valid messages of any class, for codec tests and fuzzing of node logic."""

from __future__ import annotations

from typing import Any

import numpy as np

from robot_rl.bus.cdr.schema import Array, Primitive, Sequence, StringType, fields_of

_INT_RANGE = {
    "byte": (0, 2**8),
    "char": (0, 2**8),
    "int8": (-(2**7), 2**7),
    "uint8": (0, 2**8),
    "int16": (-(2**15), 2**15),
    "uint16": (0, 2**16),
    "int32": (-(2**31), 2**31),
    "uint32": (0, 2**32),
    "int64": (-(2**63), 2**63),
    "uint64": (0, 2**64),
}
_ALPHABET = list("abcXYZ019_ /.-é中😀")


def _scalar(prim: Primitive, rng: np.random.Generator) -> Any:
    if prim.name == "bool":
        return bool(rng.integers(0, 2))
    if prim.name == "float32":
        return float(np.float32(rng.normal() * 100.0))
    if prim.name == "float64":
        return float(rng.normal() * 1e3)
    low, high = _INT_RANGE[prim.name]
    return int(rng.integers(low, high, dtype=np.int64 if low < 0 else np.uint64))


def _array(prim: Primitive, n: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    return np.array([_scalar(prim, rng) for _ in range(n)], dtype=prim.dtype)


def random_string(rng: np.random.Generator, max_len: int) -> str:
    """A string of 0..max_len characters, non-ASCII included, never NUL."""
    return "".join(rng.choice(_ALPHABET, size=int(rng.integers(0, max_len + 1))))


def _value(kind: Any, rng: np.random.Generator, max_len: int) -> Any:
    if isinstance(kind, Primitive):
        return _scalar(kind, rng)
    if isinstance(kind, StringType):
        return random_string(rng, max_len)
    if isinstance(kind, (Sequence, Array)):
        n = kind.length if isinstance(kind, Array) else int(rng.integers(0, max_len + 1))
        if isinstance(kind.elem, Primitive):
            return _array(kind.elem, n, rng)
        return [_value(kind.elem, rng, max_len) for _ in range(n)]
    return random_message(kind, rng, max_len)


def random_message(cls: type, rng: np.random.Generator, max_len: int = 4) -> Any:
    """An instance of message class ``cls`` with every field random; sequences and strings
    have 0..``max_len`` elements (empty ones included, they are the tricky case)."""
    return cls(*(_value(spec.kind, rng, max_len) for spec in fields_of(cls)))
