"""Deadband on normalised device axes: rest jitter gives exactly zero, and the output is
continuous at the band's edge (it ramps from 0 instead of jumping to the band value)."""

from __future__ import annotations

import numpy as np


def apply_deadband(x: np.ndarray, band: float) -> np.ndarray:
    """Per axis: 0 inside ``|x| <= band``, else ``sign(x) (|x| - band) / (1 - band)``.

    ``band`` is in normalised device units, 0 <= band < 1; inputs beyond [-1, 1] are clipped.
    """
    if not 0.0 <= band < 1.0:
        raise ValueError(f"deadband {band} not in [0, 1)")
    v = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    return np.sign(v) * np.maximum(np.abs(v) - band, 0.0) / (1.0 - band)


def invert_deadband(y: np.ndarray, band: float) -> np.ndarray:
    """A deflection that `apply_deadband` maps back to ``y`` (0 stays 0); used by the
    simulated operator, which pushes a little harder the way a person learns to."""
    v = np.clip(np.asarray(y, dtype=np.float64), -1.0, 1.0)
    return np.where(v == 0.0, 0.0, np.sign(v) * (band + np.abs(v) * (1.0 - band)))
