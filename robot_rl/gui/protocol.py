"""What the page sends, and how the server decides whether to believe it.

The page POSTs one JSON object per send period (docs/gui.md)::

    {"session": "3f9c...", "seq": 17, "t_ms": 5321.4,
     "twist": [vx, vy, vz, wx, wy, wz], "gripper": 1, "buttons": 1}

``session`` is random per page load, ``seq`` counts up from 0 and ``t_ms`` is the page's
monotonic clock (``performance.now()``). ``twist`` is in the teleop frame T, normalised to
[-1, 1]; ``gripper`` is -1 closed ... +1 open; ``buttons`` is a ``TeleopCommand.BUTTON_*``
mask. Nothing here trusts the page: a message that is not finite, not well formed or
older than the last one accepted is dropped (and does not count as a sign of life);
values out of range are clamped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand

# Largest body the server reads; a real message is about 150 bytes.
MAX_BODY_BYTES = 4096
KNOWN_BUTTONS = (
    TeleopCommand.BUTTON_INTERVENE
    | TeleopCommand.BUTTON_SUCCESS
    | TeleopCommand.BUTTON_FAILURE
    | TeleopCommand.BUTTON_RESET
    | TeleopCommand.BUTTON_PAUSE
)
_SESSION = re.compile(r"[0-9A-Za-z_-]{8,64}")
_MAX_SEQ = 2**53  # JavaScript's largest exact integer


class RejectedError(ValueError):
    """A message that was dropped; ``str`` says why (sent back to the page)."""


class ConflictError(RejectedError):
    """A well-formed message that cannot be taken now: out of order, from another page,
    or for a device that is lost or closed."""


@dataclass(frozen=True)
class PageState:
    """One accepted message: finite, in range, in the teleop frame."""

    session: str
    seq: int
    t_ms: float
    twist: np.ndarray  # (6,) float64 in [-1, 1]
    gripper: float  # [-1, 1]
    buttons: int  # known BUTTON_* bits only
    clamped: bool  # some value was out of range and was clamped


def _number(obj: dict[str, Any], key: str) -> float:
    v = obj.get(key)
    # bool is an int subclass; true/false is a malformed page, not 1/0.
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise RejectedError(f"{key} must be a number")
    f = float(v)
    if not math.isfinite(f):
        raise RejectedError(f"{key} is not finite")
    return f


def _integer(obj: dict[str, Any], key: str, hi: int) -> int:
    v = obj.get(key)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise RejectedError(f"{key} must be an integer")
    if not 0 <= v < hi:
        raise RejectedError(f"{key} {v} is out of range [0, {hi})")
    return v


def parse_state(body: bytes | str) -> PageState:
    """Validate one message body (JSON text). Raises `RejectedError` for anything malformed or
    non-finite; clamps twist and gripper to [-1, 1] and drops unknown button bits."""
    if len(body) > MAX_BODY_BYTES:
        raise RejectedError(f"message longer than {MAX_BODY_BYTES} bytes")
    try:
        # JSON has no NaN or Infinity; Python's parser accepts them, so refuse them here.
        obj = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise RejectedError(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise RejectedError("message must be a JSON object")
    session = obj.get("session")
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        raise RejectedError("session must be 8-64 characters of [0-9A-Za-z_-]")
    seq = _integer(obj, "seq", _MAX_SEQ)
    t_ms = _number(obj, "t_ms")
    if t_ms < 0:
        raise RejectedError("t_ms must not be negative")
    raw = obj.get("twist")
    if not isinstance(raw, list) or len(raw) != 6:
        raise RejectedError("twist must be a list of 6 numbers")
    twist = np.array([_number({"twist": v}, "twist") for v in raw], dtype=np.float64)
    gripper = _number(obj, "gripper")
    buttons = _integer(obj, "buttons", 2**32)
    clipped = np.clip(twist, -1.0, 1.0)
    grip = min(1.0, max(-1.0, gripper))
    clamped = bool(np.any(clipped != twist)) or grip != gripper
    return PageState(session, seq, t_ms, clipped, grip, buttons & KNOWN_BUTTONS, clamped)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def check_order(state: PageState, last: PageState | None) -> None:
    """Raise `ConflictError` unless ``state`` is newer than ``last`` from the same page: a
    higher ``seq`` and a ``t_ms`` that does not go back."""
    if last is None:
        return
    if state.session != last.session:
        raise ConflictError("another page holds the device")
    if state.seq <= last.seq:
        raise ConflictError(f"seq {state.seq} is not newer than {last.seq}")
    if state.t_ms < last.t_ms:
        raise ConflictError(f"t_ms {state.t_ms} is older than {last.t_ms}")
