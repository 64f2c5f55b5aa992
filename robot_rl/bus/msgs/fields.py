"""Field annotations (Python type + wire type) and default factories for message classes.

Use the factories as ``field(default_factory=empty_float32)``: arrays are mutable, so
each instance needs its own.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import numpy.typing as npt

from robot_rl.bus.cdr import schema as w

Bool = Annotated[bool, w.BOOL]
Byte = Annotated[int, w.BYTE]
Int8 = Annotated[int, w.INT8]
UInt8 = Annotated[int, w.UINT8]
Int16 = Annotated[int, w.INT16]
UInt16 = Annotated[int, w.UINT16]
Int32 = Annotated[int, w.INT32]
UInt32 = Annotated[int, w.UINT32]
Int64 = Annotated[int, w.INT64]
UInt64 = Annotated[int, w.UINT64]
Float32 = Annotated[float, w.FLOAT32]
Float64 = Annotated[float, w.FLOAT64]
Str = Annotated[str, w.STRING]

UInt8Seq = Annotated[npt.NDArray[np.uint8], w.Sequence(w.UINT8)]
UInt32Seq = Annotated[npt.NDArray[np.uint32], w.Sequence(w.UINT32)]
Float32Seq = Annotated[npt.NDArray[np.float32], w.Sequence(w.FLOAT32)]
Float64Seq = Annotated[npt.NDArray[np.float64], w.Sequence(w.FLOAT64)]
StrSeq = Annotated[list[str], w.Sequence(w.STRING)]
Float64x9 = Annotated[npt.NDArray[np.float64], w.Array(w.FLOAT64, 9)]
Float64x12 = Annotated[npt.NDArray[np.float64], w.Array(w.FLOAT64, 12)]


def empty_uint8() -> npt.NDArray[np.uint8]:
    """Default of a ``uint8[]`` field."""
    return np.zeros(0, dtype=np.uint8)


def empty_uint32() -> npt.NDArray[np.uint32]:
    """Default of a ``uint32[]`` field."""
    return np.zeros(0, dtype=np.uint32)


def empty_float32() -> npt.NDArray[np.float32]:
    """Default of a ``float32[]`` field."""
    return np.zeros(0, dtype=np.float32)


def empty_float64() -> npt.NDArray[np.float64]:
    """Default of a ``float64[]`` field."""
    return np.zeros(0, dtype=np.float64)


def zeros9() -> npt.NDArray[np.float64]:
    """Default of a ``float64[9]`` field."""
    return np.zeros(9, dtype=np.float64)


def zeros12() -> npt.NDArray[np.float64]:
    """Default of a ``float64[12]`` field."""
    return np.zeros(12, dtype=np.float64)
