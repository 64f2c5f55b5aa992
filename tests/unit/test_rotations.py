"""rotations.py against independent references: MuJoCo's C functions and the matrix
exponential (a Taylor series with scaling and squaring, not Rodrigues)."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from robot_rl.control.rotations import (
    mat_to_quat,
    quat_angle,
    quat_conj,
    quat_from_rotvec,
    quat_mul,
    quat_normalize,
    quat_slerp,
    quat_to_mat,
    quat_to_rotvec,
    swing_twist,
)

N = 500


def rand_quats(rng: np.random.Generator, n: int = N) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def rand_rotvecs(rng: np.random.Generator, n: int = N, max_angle: float = math.pi) -> np.ndarray:
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return axis * rng.uniform(0.0, max_angle, size=(n, 1))


def skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])


def expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential by scaling and squaring a 20-term Taylor series."""
    k = max(0, math.ceil(math.log2(max(np.abs(a).max(), 1e-300))) + 1)
    a = a / 2.0**k
    out, term = np.eye(3), np.eye(3)
    for i in range(1, 21):
        term = term @ a / i
        out = out + term
    for _ in range(k):
        out = out @ out
    return out


def mj_mat(q: np.ndarray) -> np.ndarray:
    r = np.zeros(9)
    mujoco.mju_quat2Mat(r, np.asarray(q, dtype=float))
    return r.reshape(3, 3)


def mj_angle(qa: np.ndarray, qb: np.ndarray) -> float:
    res = np.zeros(3)
    mujoco.mju_subQuat(res, np.asarray(qa, float), np.asarray(qb, float))
    return float(np.linalg.norm(res))


def same_rotation(q1: np.ndarray, q2: np.ndarray, atol: float = 1e-12) -> bool:
    return bool(min(np.abs(q1 - q2).max(), np.abs(q1 + q2).max()) < atol)


EDGE_QUATS = [
    np.array([1.0, 0, 0, 0]),
    np.array([-1.0, 0, 0, 0]),
    np.array([0.0, 1, 0, 0]),  # half turns: w = 0
    np.array([0.0, 0, 0, -1]),
    np.array([0.0, 0.6, 0.8, 0]),
    quat_normalize([1e-9, 1, 1, 1]),  # just short of a half turn
    quat_normalize([-1e-9, 1, 1, 1]),  # just past it (w < 0)
    quat_normalize([1, 1e-10, 0, 0]),
    quat_normalize([-1, 1e-10, -1e-10, 0]),
]


def test_mul_and_conj_match_mujoco() -> None:
    rng = np.random.default_rng(0)
    qa, qb = rand_quats(rng), rand_quats(rng)
    for a, b in zip(qa, qb, strict=True):
        ref = np.zeros(4)
        mujoco.mju_mulQuat(ref, a, b)
        np.testing.assert_allclose(quat_mul(a, b), ref, atol=1e-15)
        mujoco.mju_negQuat(ref, a)
        np.testing.assert_allclose(quat_conj(a), ref, atol=0)
    # out= reuses the buffer, and composition order: rotate by b first, then a.
    buf = np.empty(4)
    assert quat_mul(qa[0], qb[0], out=buf) is buf
    np.testing.assert_allclose(
        quat_to_mat(quat_mul(qa[1], qb[1])), mj_mat(qa[1]) @ mj_mat(qb[1]), atol=1e-14
    )


def test_from_rotvec_matches_mujoco_and_expm() -> None:
    rng = np.random.default_rng(1)
    vs = np.vstack([rand_rotvecs(rng), rand_rotvecs(rng, 50, 1e-7), rand_rotvecs(rng, 50, 10)])
    for v in vs:
        angle = float(np.linalg.norm(v))
        ref = np.zeros(4)
        mujoco.mju_axisAngle2Quat(ref, v / angle, angle)
        q = quat_from_rotvec(v)
        np.testing.assert_allclose(q, ref, atol=1e-15)
        np.testing.assert_allclose(quat_to_mat(q), expm(skew(v)), atol=1e-13)


def test_from_rotvec_small_and_zero_exact() -> None:
    np.testing.assert_array_equal(quat_from_rotvec([0, 0, 0]), [1, 0, 0, 0])
    # sin(a/2)/a = 1/2 - a^2/48: hand-computed for a = 1e-10 about x.
    np.testing.assert_allclose(quat_from_rotvec([1e-10, 0, 0]), [1, 5e-11, 0, 0], rtol=1e-15)
    # Huge but finite input must not overflow to NaN.
    assert np.isfinite(quat_from_rotvec([1e200, 1e200, 0])).all()
    with pytest.raises(ValueError):
        quat_from_rotvec([np.inf, 0, 0])


def test_to_rotvec_matches_mujoco_shortest_path() -> None:
    rng = np.random.default_rng(2)
    for q in [*rand_quats(rng), *EDGE_QUATS]:
        ref = np.zeros(3)
        mujoco.mju_quat2Vel(ref, q, 1.0)
        v = quat_to_rotvec(q)
        assert np.linalg.norm(v) <= math.pi + 1e-12
        if abs(q[0]) > 1e-6:  # at a half turn, +axis*pi and -axis*pi are both right
            np.testing.assert_allclose(v, ref, atol=1e-12)
            np.testing.assert_allclose(quat_to_rotvec(-q), v, atol=1e-15)  # q vs -q
        assert same_rotation(quat_from_rotvec(v), q)
        np.testing.assert_allclose(expm(skew(v)), mj_mat(q), atol=1e-12)


def test_to_rotvec_small_angle_relative_accuracy() -> None:
    for angle in (1e-3, 1e-7, 1e-12, 1e-300):
        v = np.array([0.6, -0.8, 0.0]) * angle
        q = np.array([math.cos(angle / 2), *(np.array([0.6, -0.8, 0]) * math.sin(angle / 2))])
        np.testing.assert_allclose(quat_to_rotvec(q), v, rtol=1e-14)
        np.testing.assert_allclose(quat_to_rotvec(-q), v, rtol=1e-14)
        np.testing.assert_allclose(quat_to_rotvec(3.0 * q), v, rtol=1e-14)  # any scale
    np.testing.assert_array_equal(quat_to_rotvec([1, 0, 0, 0]), [0, 0, 0])
    np.testing.assert_array_equal(quat_to_rotvec([2, 0, 0, 0]), [0, 0, 0])  # any scale
    with pytest.raises(ValueError):
        quat_to_rotvec([0, 0, 0, 0])


def test_to_rotvec_near_pi() -> None:
    for eps in (1e-4, 1e-9, 0.0):
        v = np.array([0.0, 0.0, math.pi - eps])
        np.testing.assert_allclose(quat_to_rotvec(quat_from_rotvec(v)), v, atol=1e-12)
    # Just past pi it wraps to the short way round.
    v = quat_to_rotvec(quat_from_rotvec([0, 0, math.pi + 1e-6]))
    np.testing.assert_allclose(v, [0, 0, -(math.pi - 1e-6)], atol=1e-12)


def test_mat_roundtrip_and_mujoco() -> None:
    rng = np.random.default_rng(3)
    axes = rand_rotvecs(rng, 100)
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    near_pi = [quat_from_rotvec(a * (math.pi - rng.uniform(0, 1e-3))) for a in axes]
    near_pi += [quat_from_rotvec(a * (math.pi - 1e-9)) for a in np.eye(3)]
    for q in [*rand_quats(rng), *EDGE_QUATS, *near_pi]:
        m = quat_to_mat(q)
        np.testing.assert_allclose(m, mj_mat(q), atol=1e-15)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-14)
        back = mat_to_quat(m)
        assert back[0] >= 0.0
        assert same_rotation(back, q, atol=1e-14)
        ref = np.zeros(4)
        mujoco.mju_mat2Quat(ref, m.ravel())
        assert same_rotation(back, ref, atol=1e-14)


def test_quat_angle_geodesic() -> None:
    rng = np.random.default_rng(4)
    qa, qb = rand_quats(rng), rand_quats(rng)
    for a, b in zip(qa, qb, strict=True):
        ang = quat_angle(a, b)
        assert ang == pytest.approx(mj_angle(b, a), abs=1e-12)
        assert quat_angle(a, -b) == pytest.approx(ang, abs=1e-15)
        # Geodesic angle of R_a^T R_b from its trace.
        tr = np.trace(mj_mat(a).T @ mj_mat(b))
        assert ang == pytest.approx(math.acos(np.clip((tr - 1) / 2, -1, 1)), abs=1e-7)
    # Tiny and half-turn differences, where acos(|dot|) would lose them.
    q = qa[0]
    for d in (1e-9, 1e-14, math.pi, math.pi - 1e-9):
        q2 = quat_mul(q, quat_from_rotvec([0, d, 0]))
        assert quat_angle(q, q2) == pytest.approx(d, abs=1e-15)  # acos would give ~1e-8
    assert quat_angle(q, q) < 1e-16


def test_slerp_matches_matrix_exponential() -> None:
    rng = np.random.default_rng(5)
    qa, qb = rand_quats(rng, 200), rand_quats(rng, 200)
    for a, b in zip(qa, qb, strict=True):
        w = np.zeros(3)
        mujoco.mju_subQuat(w, b, a)  # a * exp(w) = b, shortest path
        t = rng.uniform()
        ref = mj_mat(a) @ expm(t * skew(w))
        np.testing.assert_allclose(quat_to_mat(quat_slerp(a, b, t)), ref, atol=1e-12)
        np.testing.assert_allclose(quat_to_mat(quat_slerp(a, -b, t)), ref, atol=1e-12)
        np.testing.assert_array_equal(quat_slerp(a, b, 0.0), a)
        assert same_rotation(quat_slerp(a, b, 1.0), b, atol=1e-12)
        assert quat_angle(a, quat_slerp(a, b, t)) == pytest.approx(t * quat_angle(a, b), abs=1e-12)
    # Nearly identical endpoints: no 0/0.
    q = qa[0]
    q2 = quat_mul(q, quat_from_rotvec([1e-13, 0, 0]))
    assert same_rotation(quat_slerp(q, q2, 0.5), quat_mul(q, quat_from_rotvec([5e-14, 0, 0])))


def test_swing_twist_decomposition() -> None:
    rng = np.random.default_rng(6)
    axes = rng.normal(size=(N, 3))
    for q, axis in zip(rand_quats(rng), axes, strict=True):
        swing, twist = swing_twist(q, axis)
        a = axis / np.linalg.norm(axis)
        np.testing.assert_allclose(quat_mul(swing, twist), q, atol=1e-14)
        assert twist[0] >= 0.0
        np.testing.assert_allclose(np.cross(twist[1:], a), 0, atol=1e-14)  # twist about a
        np.testing.assert_allclose(np.dot(quat_to_rotvec(swing), a), 0, atol=1e-12)
        # The swing is the minimal rotation taking a to R a: its angle is the angle between.
        ra = np.zeros(3)
        mujoco.mju_rotVecQuat(ra, a, q)
        between = math.atan2(np.linalg.norm(np.cross(a, ra)), np.dot(a, ra))
        assert quat_angle([1, 0, 0, 0], swing) == pytest.approx(between, abs=1e-9)


def test_swing_twist_hand_cases() -> None:
    z = [0, 0, 1]
    # Pure twist of 0.7 rad about z.
    q = quat_from_rotvec([0, 0, 0.7])
    swing, twist = swing_twist(q, z)
    np.testing.assert_allclose(swing, [1, 0, 0, 0], atol=1e-16)
    np.testing.assert_allclose(twist, q, atol=1e-16)
    # Swing 0.4 about x after twist 1.0 about z: q = swing * twist.
    sw, tw = quat_from_rotvec([0.4, 0, 0]), quat_from_rotvec([0, 0, 1.0])
    swing, twist = swing_twist(quat_mul(sw, tw), z)
    np.testing.assert_allclose(swing, sw, atol=1e-15)
    np.testing.assert_allclose(twist, tw, atol=1e-15)
    # -q: same twist (w >= 0), swing takes the sign.
    swing, twist = swing_twist(-quat_mul(sw, tw), z)
    np.testing.assert_allclose(twist, tw, atol=1e-15)
    np.testing.assert_allclose(swing, -sw, atol=1e-15)
    # Half-turn swing: twist undefined -> identity, swing = q.
    q = np.array([0.0, 1.0, 0.0, 0.0])
    swing, twist = swing_twist(q, z)
    np.testing.assert_array_equal(twist, [1, 0, 0, 0])
    np.testing.assert_array_equal(swing, q)
    with pytest.raises(ValueError):
        swing_twist(q, [0, 0, 0])


def test_normalize() -> None:
    np.testing.assert_allclose(quat_normalize([0, 3, 0, 4]), [0, 0.6, 0, 0.8], rtol=1e-15)
    np.testing.assert_allclose(quat_normalize([-2, 0, 0, 0]), [-1, 0, 0, 0])  # keeps sign
    for bad in ([0, 0, 0, 0], [np.nan, 1, 0, 0], [np.inf, 0, 0, 0]):
        with pytest.raises(ValueError):
            quat_normalize(bad)
