"""Rotation utilities on w,x,y,z quaternions (numpy float64, no scipy).

Conventions (docs/interfaces.md): quaternions are ``(w, x, y, z)`` with the Hamilton
product, so ``quat_mul(a, b)`` applies ``b`` first, then ``a``. A rotation vector is
``axis * angle`` in radians. Inputs are anything array-like of the right length and must be
finite (non-finite input gives NaN or raises ``ValueError``). These run in the 1 kHz
control loop, so the maths is done on Python floats and the functions that return a
quaternion accept ``out=`` to reuse a buffer.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

# Below this ratio |xyz| / w (about half the angle), the log uses its Taylor series:
# atan2(s, w) / s loses relative precision as s -> 0, the series does not.
_SMALL = 1e-6


def _floats(x: ArrayLike, n: int) -> list[float]:
    v: list[float] = np.asarray(x, dtype=np.float64).ravel().tolist()
    if len(v) != n:
        raise ValueError(f"expected {n} values, got {len(v)}")
    return v


def _quat(out: Array | None, w: float, x: float, y: float, z: float) -> Array:
    if out is None:
        return np.array((w, x, y, z), dtype=np.float64)
    out[:] = (w, x, y, z)
    return out


def quat_mul(q1: ArrayLike, q2: ArrayLike, out: Array | None = None) -> Array:
    """Hamilton product ``q1 ⊗ q2``: the rotation ``q2`` followed by ``q1``."""
    w1, x1, y1, z1 = _floats(q1, 4)
    w2, x2, y2, z2 = _floats(q2, 4)
    return _quat(
        out,
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    )


def quat_conj(q: ArrayLike, out: Array | None = None) -> Array:
    """Conjugate ``(w, -x, -y, -z)``: the inverse rotation of a unit quaternion."""
    w, x, y, z = _floats(q, 4)
    return _quat(out, w, -x, -y, -z)


def quat_normalize(q: ArrayLike, out: Array | None = None) -> Array:
    """Unit quaternion with the same sign; ``ValueError`` on a zero or non-finite norm."""
    w, x, y, z = _floats(q, 4)
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not (math.isfinite(n) and n > 1e-12):
        raise ValueError(f"cannot normalize a quaternion of norm {n}")
    return _quat(out, w / n, x / n, y / n, z / n)


def quat_from_rotvec(rotvec: ArrayLike, out: Array | None = None) -> Array:
    """Exponential map: rotation vector (rad) -> unit quaternion, exact at zero."""
    x, y, z = _floats(rotvec, 3)
    angle = math.hypot(x, y, z)  # hypot: no overflow for huge finite input
    if not math.isfinite(angle):
        raise ValueError("non-finite rotation vector")
    # sin(angle / 2) / angle, with its series near zero (the division is 0/0 there).
    s = 0.5 - angle * angle / 48.0 if angle < _SMALL else math.sin(0.5 * angle) / angle
    return _quat(out, math.cos(0.5 * angle), s * x, s * y, s * z)


def quat_to_rotvec(q: ArrayLike) -> Array:
    """Logarithm map: quaternion -> rotation vector (rad), angle in [0, pi].

    ``q`` and ``-q`` give the same (shortest-path) result; ``q`` need not be unit.
    """
    w, x, y, z = _floats(q, 4)
    if w < 0.0:  # q and -q are the same rotation: take the one with angle <= pi
        w, x, y, z = -w, -x, -y, -z
    s = math.hypot(x, y, z)
    if s == 0.0 and w == 0.0:
        raise ValueError("zero quaternion")
    if s < _SMALL * w:
        r = s / w  # 2 atan2(s, w) / s = (2 / w) (1 - r^2 / 3 + ...)
        f = 2.0 / w * (1.0 - r * r / 3.0)
    else:
        f = 2.0 * math.atan2(s, w) / s
    return np.array((f * x, f * y, f * z), dtype=np.float64)


def quat_slerp(q0: ArrayLike, q1: ArrayLike, t: float, out: Array | None = None) -> Array:
    """Shortest-path spherical interpolation; ``t = 0`` returns ``q0`` exactly."""
    rel = quat_to_rotvec(quat_mul(quat_conj(q0), q1))  # shortest path via the log
    return quat_mul(q0, quat_from_rotvec(t * rel), out)


def quat_to_mat(q: ArrayLike) -> Array:
    """Rotation matrix (3, 3) of a quaternion (normalised on the fly)."""
    w, x, y, z = _floats(q, 4)
    s = 2.0 / (w * w + x * x + y * y + z * z)
    return np.array(
        (
            (1.0 - s * (y * y + z * z), s * (x * y - w * z), s * (x * z + w * y)),
            (s * (x * y + w * z), 1.0 - s * (x * x + z * z), s * (y * z - w * x)),
            (s * (x * z - w * y), s * (y * z + w * x), 1.0 - s * (x * x + y * y)),
        ),
        dtype=np.float64,
    )


def mat_to_quat(mat: ArrayLike) -> Array:
    """Unit quaternion (w >= 0) of a rotation matrix (3, 3), stable for all angles."""
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = _floats(mat, 9)
    tr = m00 + m11 + m22
    # Take the largest of 4w^2, 4x^2, 4y^2, 4z^2 as the pivot, so we never divide by ~0.
    if tr >= m00 and tr >= m11 and tr >= m22:
        r = math.sqrt(1.0 + tr)
        f = 0.5 / r
        w, x, y, z = 0.5 * r, (m21 - m12) * f, (m02 - m20) * f, (m10 - m01) * f
    elif m00 >= m11 and m00 >= m22:
        r = math.sqrt(1.0 + m00 - m11 - m22)
        f = 0.5 / r
        w, x, y, z = (m21 - m12) * f, 0.5 * r, (m01 + m10) * f, (m02 + m20) * f
    elif m11 >= m22:
        r = math.sqrt(1.0 - m00 + m11 - m22)
        f = 0.5 / r
        w, x, y, z = (m02 - m20) * f, (m01 + m10) * f, 0.5 * r, (m12 + m21) * f
    else:
        r = math.sqrt(1.0 - m00 - m11 + m22)
        f = 0.5 / r
        w, x, y, z = (m10 - m01) * f, (m02 + m20) * f, (m12 + m21) * f, 0.5 * r
    if w < 0.0:
        w, x, y, z = -w, -x, -y, -z
    return quat_normalize((w, x, y, z))


def quat_angle(q1: ArrayLike, q2: ArrayLike) -> float:
    """Geodesic angle (rad, in [0, pi]) between two rotations; accurate near 0 and pi."""
    w1, x1, y1, z1 = _floats(q1, 4)
    w2, x2, y2, z2 = _floats(q2, 4)
    # conj(q1) ⊗ q2; atan2 of its parts instead of acos(|dot|), which is flat near 0.
    w = w1 * w2 + x1 * x2 + y1 * y2 + z1 * z2
    x = w1 * x2 - x1 * w2 - y1 * z2 + z1 * y2
    y = w1 * y2 + x1 * z2 - y1 * w2 - z1 * x2
    z = w1 * z2 - x1 * y2 + y1 * x2 - z1 * w2
    return 2.0 * math.atan2(math.hypot(x, y, z), abs(w))


def swing_twist(q: ArrayLike, axis: ArrayLike) -> tuple[Array, Array]:
    """Split ``q = swing ⊗ twist``: ``twist`` rotates about ``axis``, ``swing`` about an
    axis perpendicular to it.

    ``axis`` is in the frame the rotation acts on (for ``conj(n) ⊗ q`` that is the body
    frame of ``n``). ``twist`` has ``w >= 0`` (angle in [-pi, pi] about ``axis``);
    ``swing`` carries the sign of ``q``. When the swing is a half turn the twist is
    undefined and the identity is returned.
    """
    w, x, y, z = _floats(q, 4)
    ax, ay, az = _floats(axis, 3)
    n = math.hypot(ax, ay, az)
    if not n > 0.0:
        raise ValueError("zero twist axis")
    ax, ay, az = ax / n, ay / n, az / n
    p = x * ax + y * ay + z * az  # vector part projected on the axis
    if w < 0.0:
        w, p = -w, -p
    norm = math.hypot(w, p)
    if norm < 1e-12:
        twist = np.array((1.0, 0.0, 0.0, 0.0))
    else:
        twist = np.array((w / norm, p * ax / norm, p * ay / norm, p * az / norm))
    return quat_mul(q, quat_conj(twist)), twist
