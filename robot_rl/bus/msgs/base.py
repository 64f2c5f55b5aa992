"""Base class of message dataclasses, and the service type descriptor."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np


def values_equal(a: Any, b: Any) -> bool:
    """Field equality for messages: arrays by content, NaN equal to NaN."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            return False
        if x.dtype.kind in "fc" or y.dtype.kind in "fc":
            return bool(np.array_equal(x, y, equal_nan=True))
        return bool(np.array_equal(x, y))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(p, q) for p, q in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


class Message:
    """Base of every message dataclass. Subclasses set ``__ros_type__ = "pkg/msg/Name"``.

    Messages are frozen dataclasses; equality compares array fields by content.
    Arrays are not copied on publish: do not mutate an array after publishing it.
    """

    __slots__ = ()
    __ros_type__: ClassVar[str]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            values_equal(getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        )

    __hash__ = None  # type: ignore[assignment]


Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


@dataclass(frozen=True)
class ServiceType(Generic[Req, Resp]):
    """A ROS 2 service type: its name (``"pkg/srv/Name"``) and request/response classes."""

    ros_type: str
    request: type[Req]
    response: type[Resp]
