"""The spin loop shared by backends: repeat ``spin_once`` until a condition or a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

_SLICE_S = 0.05  # longest single wait, so that `until` is re-checked at least this often


def spin_loop(
    spin_once: Callable[[float], int],
    timeout_s: float | None,
    until: Callable[[], bool] | None,
    stop_when_idle: bool = False,
) -> None:
    """Call ``spin_once`` until ``until()`` is true or ``timeout_s`` (wall seconds) passed.

    With ``stop_when_idle`` it also returns after a round that ran no callback (for
    single-threaded backends where nothing can arrive while idle).
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while until is None or not until():
        wait_s = _SLICE_S
        if deadline is not None:
            wait_s = min(wait_s, deadline - time.monotonic())
            if wait_s <= 0:
                return
        if spin_once(wait_s) == 0 and stop_when_idle:
            return
