"""Adversarial tests of the safety filter.

Expected values are computed by hand or with independent tools (MuJoCo's quaternion and
matrix functions, plain geometry on rotation matrices), never with the filter's own helpers.
Time is simulated: nothing here sleeps or measures wall time.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from robot_rl.control.safety import Pose, SafetyConfig, SafetyFilter, SafetyReport

DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # nominal: TCP z pointing down (half turn about x)
HOME = np.array([0.5, 0.0, 0.3])
TOL = 1e-9
LOW, HIGH = np.array([0.25, -0.35, 0.0]), np.array([0.80, 0.35, 0.50])


# ----------------------------------------------------------- independent geometry
def mj_mat(q: np.ndarray) -> np.ndarray:
    r = np.zeros(9)
    mujoco.mju_quat2Mat(r, np.asarray(q, dtype=float))
    return r.reshape(3, 3)


def mj_quat(axis: list[float] | np.ndarray, angle: float) -> np.ndarray:
    q = np.zeros(4)
    mujoco.mju_axisAngle2Quat(q, np.asarray(axis, dtype=float), angle)
    return q


def mj_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    q = np.zeros(4)
    mujoco.mju_mulQuat(q, np.asarray(a, float), np.asarray(b, float))
    return q


def angle_between(qa: np.ndarray, qb: np.ndarray) -> float:
    """Geodesic angle from the trace of R_a^T R_b (robust form via the rotation axis)."""
    d = mj_mat(qa).T @ mj_mat(qb)
    s = 0.5 * np.linalg.norm([d[2, 1] - d[1, 2], d[0, 2] - d[2, 0], d[1, 0] - d[0, 1]])
    return math.atan2(s, 0.5 * (np.trace(d) - 1.0))


def tilt_twist(q: np.ndarray) -> tuple[float, float]:
    """Tilt of the TCP z axis from the nominal z axis, and the twist about it (rad).

    Matrix geometry: the swing is the minimal rotation taking the nominal z axis onto the
    TCP z axis; the twist is what remains, a rotation about z in the nominal frame.
    """
    rel = mj_mat(DOWN).T @ mj_mat(q)
    z = rel[:, 2]
    c = np.cross([0.0, 0.0, 1.0], z)
    tilt = math.atan2(np.linalg.norm(c), z[2])
    swing = mj_mat(mj_quat(c / np.linalg.norm(c), tilt)) if tilt > 1e-12 else np.eye(3)
    t = swing.T @ rel
    return tilt, math.atan2(t[1, 0], t[0, 0])


def same_rot(qa: np.ndarray, qb: np.ndarray, atol: float = 1e-12) -> bool:
    return angle_between(qa, qb) < atol


def pose(pos: np.ndarray | list[float] = HOME, quat: np.ndarray = DOWN) -> Pose:
    return Pose(np.array(pos, dtype=float), np.array(quat, dtype=float))


def make(measured: Pose | None = None, now_s: float = 0.0, **kw: float) -> SafetyFilter:
    # The box geometry below is checked exactly, so no tracking margin unless asked for.
    kw.setdefault("tracking_margin_m", 0.0)
    f = SafetyFilter(SafetyConfig(**kw))  # type: ignore[arg-type]
    f.reset(measured or pose(), now_s)
    return f


def assert_safe(sp: Pose, cfg: SafetyConfig) -> None:
    assert np.isfinite(sp.pos).all() and np.isfinite(sp.quat).all()
    assert (sp.pos >= LOW - TOL).all() and (sp.pos <= HIGH + TOL).all(), sp.pos
    tilt, twist = tilt_twist(sp.quat)
    assert tilt <= cfg.max_tilt_rad + TOL, tilt
    assert abs(twist) <= cfg.max_twist_rad + TOL, twist


def admissible(m: Pose, cfg: SafetyConfig) -> bool:
    tilt, twist = tilt_twist(m.quat / np.linalg.norm(m.quat))
    in_box = bool((m.pos >= LOW).all() and (m.pos <= HIGH).all())
    return in_box and tilt <= cfg.max_tilt_rad and abs(twist) <= cfg.max_twist_rad


# --------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"workspace_low_m": (0.9, -0.35, 0.0)}, "workspace x"),
        ({"workspace_high_m": (0.8, 0.35, 0.0)}, "workspace z"),
        ({"workspace_low_m": (0.2, float("nan"), 0.0)}, "finite"),
        ({"nominal_quat_wxyz": (0.0, 2.0, 0.0, 0.0)}, "unit"),
        ({"max_tilt_rad": 0.0}, "max_tilt_rad"),
        ({"max_twist_rad": 4.0}, "max_twist_rad"),
        ({"max_step_pos_m": -0.01}, "max_step_pos_m"),
        ({"max_target_error_rot_rad": 0.0}, "max_target_error_rot_rad"),
        ({"watchdog_timeout_s": 0.0}, "watchdog_timeout_s"),
        ({"interpolation_period_s": float("inf")}, "finite"),
        ({"hard_limit_pos_m": 0.01}, "hard_limit_pos_m"),
    ],
)
def test_config_validation(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SafetyConfig(**kw)  # type: ignore[arg-type]


def test_needs_reset_and_finite_reset() -> None:
    f = SafetyFilter(SafetyConfig(tracking_margin_m=0.0))
    with pytest.raises(RuntimeError):
        f.setpoint(0.0, pose())
    with pytest.raises(RuntimeError):
        f.command([0, 0, 0], [0, 0, 0], 0.0, pose())
    with pytest.raises(ValueError):
        f.reset(pose([np.nan, 0, 0]), 0.0)


def test_reset_clamps_measured_into_limits() -> None:
    # Outside the box on every axis, gripper pointing up (tilt pi): clamped, not trusted.
    f = make(pose([1.0, 0.5, -0.1], np.array([1.0, 0, 0, 0])))
    sp = f.setpoint(0.0, pose([1.0, 0.5, -0.1], np.array([1.0, 0, 0, 0])))
    np.testing.assert_array_equal(sp.pos, [0.80, 0.35, 0.0])
    assert tilt_twist(sp.quat)[0] == pytest.approx(0.6, abs=1e-12)
    assert_safe(sp, f.cfg)


# ------------------------------------------------------------- step and limits
def test_step_clip_hand_values() -> None:
    f = make()
    r = f.command([0.1, 0, 0], [0, 0, 0], 0.0, pose())
    assert r.accepted and r.reason == "clipped: step"
    np.testing.assert_allclose(r.goal.pos, [0.53, 0.0, 0.3], atol=1e-15)
    # Norm exactly at the limit (0.02, 0.02, 0.01) -> 0.03 m: not clipped.
    f = make()
    r = f.command([0.02, 0.02, 0.01], [0, 0, 0], 0.0, pose())
    assert r.accepted and r.reason == ""
    np.testing.assert_allclose(r.goal.pos, [0.52, 0.02, 0.31], atol=1e-15)
    # 0.5 rad about base x -> 0.25 rad: exp(0.25 x) * (0,1,0,0) = (-sin .125, cos .125, 0, 0).
    f = make()
    r = f.command([0, 0, 0], [0.5, 0, 0], 0.0, pose())
    assert r.reason == "clipped: step"
    expected = np.array([-math.sin(0.125), math.cos(0.125), 0.0, 0.0])
    assert same_rot(r.goal.quat, expected)


def test_rotation_is_applied_in_base_frame() -> None:
    # Base-frame yaw of 0.2: R_goal = Rz(0.2) R_down, checked on matrices.
    f = make()
    r = f.command([0, 0, 0], [0, 0, 0.2], 0.0, pose())
    c, s = math.cos(0.2), math.sin(0.2)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    np.testing.assert_allclose(mj_mat(r.goal.quat), rz @ mj_mat(DOWN), atol=1e-15)


@pytest.mark.parametrize("axis", range(3))
@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_workspace_clamp_every_face(axis: int, sign: float) -> None:
    f = make()
    delta = np.zeros(3)
    delta[axis] = sign * 0.05
    t, m, r = 0.0, pose(), None
    for _ in range(40):
        r = f.command(delta, [0, 0, 0], t, m)
        assert r.accepted
        m = r.goal  # the arm follows, so the cap never binds
        t += 0.1
    assert r is not None and "clamped: workspace" in r.reason
    expected = HOME.copy()
    expected[axis] = (HIGH if sign > 0 else LOW)[axis]
    np.testing.assert_array_equal(r.goal.pos, expected)
    sp = f.setpoint(t, m)
    np.testing.assert_array_equal(sp.pos, expected)


def test_tilt_clamp_hand_value() -> None:
    f = make()
    t, m, r = 0.0, pose(), None
    for _ in range(10):  # 0.25 per step about base x: 0.25, 0.5, then clamped at 0.6
        r = f.command([0, 0, 0], [0.25, 0, 0], t, m)
        m, t = r.goal, t + 0.1
    assert r is not None and "clamped: tilt" in r.reason
    # exp(0.6 x) * (0,1,0,0) = (-sin 0.3, cos 0.3, 0, 0).
    assert same_rot(r.goal.quat, np.array([-math.sin(0.3), math.cos(0.3), 0, 0]))
    assert tilt_twist(r.goal.quat)[0] == pytest.approx(0.6, abs=1e-12)


def test_twist_clamp_hand_value() -> None:
    f = make()
    t, m, r = 0.0, pose(), None
    for _ in range(12):  # yaw about base z, i.e. twist about the (downward) TCP z axis
        r = f.command([0, 0, 0], [0, 0, 0.25], t, m)
        m, t = r.goal, t + 0.1
    assert r is not None and r.reason == "clamped: twist"
    # exp(1.7 z) * (0,1,0,0) = (0, cos 0.85, sin 0.85, 0).
    assert same_rot(r.goal.quat, np.array([0.0, math.cos(0.85), math.sin(0.85), 0.0]))
    tilt, twist = tilt_twist(r.goal.quat)
    assert tilt == pytest.approx(0.0, abs=1e-12)
    assert abs(twist) == pytest.approx(1.7, abs=1e-12)


def test_cannot_flip_the_gripper() -> None:
    rng = np.random.default_rng(7)
    f = make()
    t, m = 0.0, pose()
    for _ in range(300):
        axis = rng.normal(size=3)
        rv = 3.1 * axis / np.linalg.norm(axis)  # inside the hard limit: clipped, applied
        r = f.command([0, 0, 0], rv, t, m)
        assert r.accepted
        m, t = r.goal, t + 0.1
        assert_safe(r.goal, f.cfg)
        assert_safe(f.setpoint(t, m), f.cfg)
        assert mj_mat(r.goal.quat)[2, 2] <= -math.cos(0.6) + TOL  # TCP z still points down


def test_cap_to_measured_no_windup() -> None:
    f = make()
    m = pose()  # the arm is blocked by contact: measured never moves
    r = None
    for k in range(5):
        r = f.command([0.03, 0, 0], [0, 0, 0], 0.1 * k, m)
    assert r is not None and r.reason == "capped: distance to measured"
    np.testing.assert_allclose(r.goal.pos, [0.55, 0.0, 0.3], atol=1e-15)  # not 0.65
    np.testing.assert_allclose(f.setpoint(0.6, m).pos, [0.55, 0, 0.3], atol=1e-15)
    # The arm is pushed back to x = 0.48: the setpoint is re-capped to 0.53 at once.
    np.testing.assert_allclose(f.setpoint(0.601, pose([0.48, 0, 0.3])).pos, [0.53, 0, 0.3])
    # Rotation: yaw 0.25 x 3 against a blocked wrist -> 0.5 rad from measured.
    f = make()
    for k in range(3):
        r = f.command([0, 0, 0], [0, 0, 0.25], 0.1 * k, m)
    assert r is not None and "capped: distance to measured" in r.reason
    expected = np.array([0.0, math.cos(0.25), math.sin(0.25), 0.0])  # exp(0.5 z) * down
    assert same_rot(r.goal.quat, expected)


def test_cap_is_from_measured_projected_into_limits() -> None:
    f = make()
    m = pose([0.95, 0.0, 0.3])  # measured 0.15 m outside the +x face (arm dragged out)
    sp = f.setpoint(0.01, m)
    assert_safe(sp, f.cfg)
    # Goal x = 0.5; projection of measured = 0.80; capped 0.05 from it: 0.75.
    np.testing.assert_allclose(sp.pos, [0.75, 0.0, 0.3], atol=1e-15)
    # Gripper pointing up (tilt pi about x): the anchor is the tilt-clamped orientation,
    # i.e. tilted 0.6 about x, and the goal (down) is 0.6 > 0.5 from it: the target is
    # 0.5 from the anchor towards the goal, so tilted 0.1 about x.
    up = mj_mul(mj_quat([1, 0, 0], math.pi), DOWN)
    sp = f.setpoint(0.02, pose(HOME, up))
    assert_safe(sp, f.cfg)
    assert same_rot(sp.quat, mj_mul(mj_quat([1, 0, 0], 0.1), DOWN)) or same_rot(
        sp.quat, mj_mul(mj_quat([1, 0, 0], -0.1), DOWN)
    )


# -------------------------------------------------------------------- rejection
@pytest.mark.parametrize(
    ("dpos", "drot", "reason"),
    [
        ([np.nan, 0, 0], [0, 0, 0], "rejected: non-finite delta_pos"),
        ([0, 0, 0], [0, np.inf, 0], "rejected: non-finite delta_rotvec"),
        ([0, -np.inf, 0], [np.nan, 0, 0], "rejected: non-finite delta_pos"),
        ([0.4, 0.4, 0], [0, 0, 0], "rejected: delta_pos beyond hard limit (0.566 m > 0.5 m)"),
        ([1e300, 1e300, 0], [0, 0, 0], "rejected: delta_pos beyond hard limit"),
        ([0, 0, 0], [0, 0, -3.3], "rejected: delta_rotvec beyond hard limit"),
        ([0, 0], [0, 0, 0], "rejected: malformed delta_pos"),
        ([0, 0, 0], "abc", "rejected: malformed delta_rotvec"),
        ([0, 0, 0], [[0, 0, 0]], "rejected: malformed delta_rotvec"),
    ],
)
def test_garbage_is_rejected_not_clipped(dpos: object, drot: object, reason: str) -> None:
    f = make()
    before = f.command([0.01, 0, 0], [0, 0, 0], 0.0, pose())
    r = f.command(dpos, drot, 0.05, pose())
    assert not r.accepted and r.reason.startswith(reason)
    np.testing.assert_array_equal(r.goal.pos, before.goal.pos)
    np.testing.assert_array_equal(r.goal.quat, before.goal.quat)
    assert f.diagnostics()["rejected"] == 1


def test_stamps() -> None:
    f = make()
    assert f.command([0.01, 0, 0], [0, 0, 0], 1.0, pose(), stamp_s=0.9).accepted
    r = f.command([0.01, 0, 0], [0, 0, 0], 1.05, pose(), stamp_s=0.75)
    assert r.reason == "rejected: stale command (age 0.30 s > 0.25 s)"
    r = f.command([0.01, 0, 0], [0, 0, 0], 1.05, pose(), stamp_s=0.89)
    assert r.reason == "rejected: out-of-order stamp"
    r = f.command([0.01, 0, 0], [0, 0, 0], 1.05, pose(), stamp_s=5.0)
    assert r.reason.startswith("rejected: stamp in the future")
    r = f.command([0.01, 0, 0], [0, 0, 0], 1.05, pose(), stamp_s=float("nan"))
    assert r.reason == "rejected: non-finite stamp"
    r = f.command([0.01, 0, 0], [0, 0, 0], 1.1, pose(), stamp_s=0.9)  # equal stamp: ok
    assert r.accepted
    np.testing.assert_allclose(r.goal.pos, [0.52, 0, 0.3], atol=1e-15)
    d = f.diagnostics()
    assert d["rejected: stale command"] == 1 and d["rejected: out-of-order stamp"] == 1
    # reset clears the stamp history (the twin restarts its clock every episode).
    f.reset(pose(), 0.0)
    assert f.command([0.01, 0, 0], [0, 0, 0], 0.0, pose(), stamp_s=0.0).accepted


def test_command_pose_absolute_goal() -> None:
    f = make()
    goal = pose([0.6, 0.0, 0.3], mj_mul(mj_quat([0, 0, 1], 1.0), DOWN))
    r = f.command_pose(goal, 0.0, pose())
    assert r.accepted and r.reason == "clipped: step"
    np.testing.assert_allclose(r.goal.pos, [0.53, 0, 0.3], atol=1e-15)
    assert same_rot(r.goal.quat, mj_mul(mj_quat([0, 0, 1], 0.25), DOWN))
    for bad in (pose([np.nan, 0, 0]), pose(HOME, np.zeros(4)), (HOME,), None):
        r2 = f.command_pose(bad, 0.01, pose())  # type: ignore[arg-type]
        assert not r2.accepted and r2.reason == "rejected: non-finite or malformed goal"
        np.testing.assert_array_equal(r2.goal.pos, r.goal.pos)
    # A non-unit (but near-unit) quaternion is normalised, not trusted as-is.
    r3 = f.command_pose(pose(r.goal.pos, 1.05 * np.asarray(r.goal.quat)), 0.02, r.goal)
    assert r3.accepted and np.linalg.norm(r3.goal.quat) == pytest.approx(1.0, abs=1e-15)


def test_nan_measured_keeps_last_setpoint() -> None:
    f = make()
    f.command([0.02, 0, 0], [0, 0, 0], 0.0, pose())
    good = f.setpoint(0.05, pose())
    for bad in (
        pose([np.nan, 0, 0]),
        pose(HOME, np.array([np.nan, 1, 0, 0])),
        pose(HOME, 0 * DOWN),
    ):
        sp = f.setpoint(0.06, bad)
        np.testing.assert_array_equal(sp.pos, good.pos)
        np.testing.assert_array_equal(sp.quat, good.quat)
    assert f.setpoint(float("nan"), pose()) is good
    assert f.diagnostics()["faults"] == 4
    r = f.command([0.01, 0, 0], [0, 0, 0], 0.07, pose([np.inf, 0, 0]))
    assert not r.accepted and r.reason.startswith("rejected: non-finite or malformed measured")


def test_returned_arrays_are_read_only() -> None:
    f = make()
    sp = f.setpoint(0.0, pose())
    with pytest.raises(ValueError):
        sp.pos[0] = np.nan
    r = f.command([0.01, 0, 0], [0, 0, 0], 0.0, pose())
    with pytest.raises(ValueError):
        r.goal.quat[0] = 5.0


# ---------------------------------------------------------------- interpolation
def test_interpolation_hand_values() -> None:
    f = make(now_s=1.0)
    f.command([0.02, 0, 0], [0, 0, 0.2], 1.0, pose())
    start_q = DOWN
    goal_q = mj_mul(mj_quat([0, 0, 1], 0.2), DOWN)
    for k in range(11):
        sp = f.setpoint(1.0 + 0.01 * k, pose())
        np.testing.assert_allclose(sp.pos, [0.5 + 0.002 * k, 0, 0.3], atol=1e-15)
        assert angle_between(start_q, sp.quat) == pytest.approx(0.02 * k, abs=1e-12)
        assert angle_between(sp.quat, goal_q) == pytest.approx(0.2 - 0.02 * k, abs=1e-12)
    np.testing.assert_array_equal(sp.pos, [0.52, 0, 0.3])  # exactly the goal at t0 + T
    assert same_rot(sp.quat, goal_q)
    late = f.setpoint(1.2, pose())
    np.testing.assert_array_equal(late.pos, sp.pos)  # and stays there
    # A new command half-way starts from the current setpoint: no jump.
    f = make()
    f.command([0.02, 0, 0], [0, 0, 0], 0.0, pose())
    mid = f.setpoint(0.05, pose())
    f.command([0.0, 0.02, 0], [0, 0, 0], 0.05, pose())
    np.testing.assert_allclose(f.setpoint(0.05, pose()).pos, mid.pos, atol=1e-15)
    np.testing.assert_allclose(f.setpoint(0.10, pose()).pos, [0.515, 0.01, 0.3], atol=1e-15)
    np.testing.assert_allclose(f.setpoint(0.15, pose()).pos, [0.52, 0.02, 0.3], atol=1e-15)


def test_interpolation_monotone_random() -> None:
    rng = np.random.default_rng(8)
    cfg = SafetyConfig(tracking_margin_m=0.0)
    for _ in range(100):
        axis = rng.normal(size=3)
        start_q = mj_mul(mj_quat(axis / np.linalg.norm(axis), rng.uniform(0, 0.3)), DOWN)
        start = pose(rng.uniform(LOW + 0.05, HIGH - 0.05), start_q)
        t0 = rng.uniform(0, 100)
        f = make(start, t0)
        r = f.command(rng.uniform(-0.03, 0.03, 3), rng.uniform(-0.14, 0.14, 3), t0, start)
        assert r.accepted
        assert set(filter(None, r.reason.split("; "))) <= {
            "clipped: step",
            "slowed: near workspace face",
        }
        prev_d, prev_a, m = np.inf, np.inf, start
        for k in range(101):
            sp = f.setpoint(t0 + cfg.interpolation_period_s * k / 100, m)
            d = np.linalg.norm(sp.pos - r.goal.pos)
            a = angle_between(sp.quat, r.goal.quat)
            assert d <= prev_d + 1e-15 and a <= prev_a + 1e-12
            prev_d, prev_a, m = d, a, sp  # the arm tracks perfectly
        assert prev_d == 0.0 and prev_a < 1e-7


def test_track_hand_values_and_watchdog_guard() -> None:
    f = make(now_s=1.0)
    f.command([0.02, 0, 0], [0, 0, 0.2], 1.0, pose())
    assert f.last_command_s == 1.0
    pos, quat = f.track(1.0 + 0.01 * np.arange(11))
    assert pos.shape == (11, 3) and quat.shape == (11, 4)
    for k in range(11):
        np.testing.assert_allclose(pos[k], [0.5 + 0.002 * k, 0, 0.3], atol=1e-15)
        assert angle_between(DOWN, quat[k]) == pytest.approx(0.02 * k, abs=1e-12)
    assert same_rot(quat[-1], mj_mul(mj_quat([0, 0, 1], 0.2), DOWN))
    r = f.command([0.02, 0, 0], [0, 0, 0.2], 0.565, pose())  # clock back: t0 = 0.565
    # (0.565 + 0.1 - 0.565) / 0.1 rounds to 0.9999999999999998: must still land exactly.
    pos, quat = f.track([0.565 + 0.1])
    np.testing.assert_array_equal(pos[0], r.goal.pos)
    np.testing.assert_array_equal(quat[0], r.goal.quat)
    sp = f.setpoint(0.565 + 0.1, pose(r.goal.pos, r.goal.quat))
    np.testing.assert_array_equal(sp.pos, r.goal.pos)
    np.testing.assert_array_equal(sp.quat, r.goal.quat)
    with pytest.raises(ValueError):
        f.track([0.7, 0.8151])  # the watchdog could trip at 0.8151
    with pytest.raises(ValueError):
        f.track([1.1, np.nan])
    f.setpoint(0.9, pose())
    with pytest.raises(ValueError):
        f.track([0.91])  # tripped


def test_track_stays_in_limits_and_matches_setpoint() -> None:
    rng = np.random.default_rng(9)
    cfg = SafetyConfig(tracking_margin_m=0.0)
    for _ in range(200):
        # Start on the tilt/twist boundary, so that slerps can bulge out of the cone.
        axis = rng.normal(size=3)
        axis[2] = 0.0
        tilted = mj_mul(mj_quat(axis / np.linalg.norm(axis), 0.6), DOWN)
        start_q = mj_mul(mj_quat([0, 0, 1], rng.uniform(-1.7, 1.7)), tilted)
        start = pose(rng.uniform(LOW, HIGH), start_q)
        f = make(start, 0.0)
        r = f.command(rng.uniform(-0.03, 0.03, 3), rng.normal(0, 0.3, 3), 0.0, start)
        assert r.accepted
        times = np.linspace(0.0, 0.12, 25)
        pos, quat = f.track(times)
        for k, t in enumerate(times):
            sp = Pose(pos[k], quat[k])
            assert_safe(sp, cfg)
            ref = f.setpoint(t, sp)  # measured on the target: the cap is inactive
            np.testing.assert_allclose(ref.pos, pos[k], atol=1e-15)
            assert angle_between(ref.quat, quat[k]) < 1e-7


def test_clock_stepping_back_is_safe() -> None:
    f = make(now_s=10.0)
    f.command([0.02, 0, 0], [0, 0, 0], 10.0, pose())
    sp = f.setpoint(9.0, pose())
    np.testing.assert_array_equal(sp.pos, HOME)  # holds the interpolation start
    assert not f.watchdog_tripped


# --------------------------------------------------------------------- watchdog
def test_watchdog_latches_and_releases() -> None:
    f = make()
    f.command([0.02, 0, 0], [0, 0, 0], 0.0, pose([0.52, 0, 0.3]))
    assert not f.watchdog_tripped
    f.setpoint(0.25, pose([0.52, 0, 0.3]))  # age == timeout: not yet
    assert not f.watchdog_tripped
    at_trip = pose([0.515, 0.01, 0.3], mj_mul(mj_quat([0, 0, 1], 0.1), DOWN))
    sp = f.setpoint(0.2501, at_trip)
    assert f.watchdog_tripped
    np.testing.assert_array_equal(sp.pos, at_trip.pos)
    assert same_rot(sp.quat, at_trip.quat)
    # Measured keeps moving (slowly): the target stays latched at the trip pose.
    for k in range(100):
        sp = f.setpoint(0.26 + 0.01 * k, pose([0.515 + 1e-4 * k, 0.01, 0.3]))
        np.testing.assert_array_equal(sp.pos, at_trip.pos)
    d = f.diagnostics()
    assert d["watchdog trips"] == 1 and d["watchdog_tripped"] == 1
    assert d["last_reason"].startswith("watchdog")  # type: ignore[union-attr]
    # The next accepted command releases it; its delta composes with the latched pose.
    r = f.command([0.0, 0.01, 0], [0, 0, 0], 1.3, at_trip)
    assert r.accepted and not f.watchdog_tripped
    np.testing.assert_allclose(r.goal.pos, [0.515, 0.02, 0.3], atol=1e-15)
    np.testing.assert_allclose(f.setpoint(1.3, at_trip).pos, at_trip.pos, atol=1e-15)
    # Rejected commands do not feed the watchdog.
    f.command([np.nan, 0, 0], [0, 0, 0], 1.5, at_trip)
    f.setpoint(1.56, at_trip)
    assert f.watchdog_tripped and f.diagnostics()["watchdog trips"] == 2


def test_late_command_trips_then_releases() -> None:
    # No setpoint call in between (controller stalled): the trip happens inside command.
    f = make()
    m = pose([0.51, 0.0, 0.3])
    r = f.command([0.01, 0, 0], [0, 0, 0], 1.0, m)
    assert r.accepted and not f.watchdog_tripped
    np.testing.assert_allclose(r.goal.pos, [0.52, 0, 0.3], atol=1e-15)  # measured + delta
    assert f.diagnostics()["watchdog trips"] == 1


def test_watchdog_trip_with_nan_measured_holds_last_setpoint() -> None:
    f = make()
    last = f.setpoint(0.1, pose())
    sp = f.setpoint(0.4, pose([np.nan] * 3))
    assert f.watchdog_tripped and sp is last
    np.testing.assert_array_equal(f.setpoint(0.5, pose([0.51, 0, 0.3])).pos, HOME)


# ------------------------------------------------------------ adversarial runs
def random_quat(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)


def garbage_command(rng: np.random.Generator) -> tuple[object, object, str]:
    kind = rng.integers(6)
    v = rng.normal(size=3)
    if kind == 0:
        v[rng.integers(3)] = rng.choice([np.nan, np.inf, -np.inf])
        return v, [0, 0, 0], "rejected: non-finite delta_pos"
    if kind == 1:
        v[rng.integers(3)] = rng.choice([np.nan, np.inf, -np.inf])
        return [0, 0, 0], v, "rejected: non-finite delta_rotvec"
    if kind == 2:
        return v / np.linalg.norm(v) * rng.uniform(0.51, 1e9), [0, 0, 0], "rejected: delta_pos"
    if kind == 3:
        return [0, 0, 0], v / np.linalg.norm(v) * rng.uniform(3.21, 1e6), "rejected: delta_rot"
    if kind == 4:
        return rng.normal(size=rng.choice([2, 4])), [0, 0, 0], "rejected: malformed delta_pos"
    return [0, 0, 0], [[1.0, 2.0, 3.0]], "rejected: malformed delta_rotvec"


def random_axis(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def measured_pose(rng: np.random.Generator, mode: int, sp: Pose) -> Pose:
    if mode == 0:  # tracking, with sensor noise
        q = mj_mul(mj_quat(random_axis(rng), rng.normal(0, 0.01)), sp.quat)
        return pose(sp.pos + rng.normal(0, 1e-3, 3), q)
    if mode == 1:  # pushed away (contact, a person)
        q = mj_mul(mj_quat(random_axis(rng), rng.uniform(0, 1.0)), sp.quat)
        return pose(sp.pos + rng.normal(0, 0.1, 3), q)
    if mode == 2:  # anywhere, any orientation (bad calibration, flipped gripper)
        return pose(rng.uniform(LOW - 0.3, HIGH + 0.3), random_quat(rng))
    bad = pose(sp.pos, sp.quat)
    if rng.integers(2):
        bad.pos[rng.integers(3)] = rng.choice([np.nan, np.inf])
    else:
        bad.quat[:] = rng.choice([np.nan, 0.0, 1e9])
    return bad


def valid(m: Pose) -> bool:
    n = np.linalg.norm(m.quat)
    return bool(np.isfinite(m.pos).all() and np.isfinite(m.quat).all() and abs(n - 1) <= 0.1)


def near(m: Pose, p: Pose) -> bool:
    m_q = m.quat / np.linalg.norm(m.quat)
    return bool(np.linalg.norm(m.pos - p.pos) < 0.02 and angle_between(m_q, p.quat) < 0.2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adversarial_sequences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    f = make(now_s=0.0)
    cfg = f.cfg
    t, last_accept_t, last_stamp = 0.0, 0.0, -np.inf
    sp = f.setpoint(0.0, pose())
    m = pose()
    goal, goal_known = sp, True  # our model of the filter's goal (unknown after a trip)
    latched: Pose | None = None
    n_cmd = n_acc = 0
    mode, rate = 0, 0.1
    for _ in range(12000):  # 1 kHz ticks: 12 s of adversarial control
        if rng.uniform() < 0.01:
            mode = int(rng.choice(4, p=[0.6, 0.2, 0.1, 0.1]))
            rate = float(rng.choice([1.0, 0.1, 0.02, 0.0]))  # every tick ... never
        t += 1e-3
        m = measured_pose(rng, mode, sp)

        if rng.uniform() < rate:
            n_cmd += 1
            trips_before = f.diagnostics()["watchdog trips"]
            was_tripped = f.watchdog_tripped
            stamp: float | None = None
            expect = ""  # expected rejection prefix; "" = must be accepted
            dp: object = rng.normal(0, 0.03, 3) * rng.choice([0.1, 1.0, 5.0])
            dr: object = rng.normal(0, 0.3, 3) * rng.choice([0.1, 1.0, 3.0])
            if np.linalg.norm(dp) > 0.5 or np.linalg.norm(dr) > 3.2:  # type: ignore[arg-type]
                dp, dr = np.zeros(3), np.zeros(3)
            roll = rng.uniform()
            if roll < 0.2:
                dp, dr, expect = garbage_command(rng)
            elif roll < 0.3:
                stamp, expect = t - rng.uniform(0.26, 100), "rejected: stale"
            elif roll < 0.35 and np.isfinite(last_stamp) and last_stamp - t > -0.2:
                stamp, expect = last_stamp - rng.uniform(1e-6, 0.01), "rejected: out-of-order"
            elif roll < 0.7:
                stamp = t - rng.uniform(0, 0.2)
                if stamp < last_stamp:
                    expect = "rejected: out-of-order"
            if not valid(m):
                expect = "rejected: non-finite or malformed measured"
            if rng.uniform() < 0.1 and goal_known and t - last_accept_t < 0.2 and not expect:
                # An absolute goal far away (0.45 m, 3 rad): step-clipped, not rejected.
                far_pos = goal.pos + 0.45 * random_axis(rng)
                far = pose(far_pos, mj_mul(mj_quat(random_axis(rng), 3.0), goal.quat))
                r = f.command_pose(far, t, m, stamp)
            else:
                r = f.command(dp, dr, t, m, stamp)
            assert isinstance(r, SafetyReport)
            tripped_now = f.diagnostics()["watchdog trips"] != trips_before
            if expect:
                assert not r.accepted and r.reason.startswith(expect), (expect, r.reason)
                if goal_known and not tripped_now:  # the goal is untouched
                    np.testing.assert_array_equal(r.goal.pos, goal.pos)
                    np.testing.assert_array_equal(r.goal.quat, goal.quat)
            else:
                assert r.accepted, r.reason
                n_acc += 1
                if stamp is not None:
                    last_stamp = stamp
                step_ok = goal_known and not (was_tripped or tripped_now)
                if step_ok and "cap" not in r.reason:
                    assert np.linalg.norm(r.goal.pos - goal.pos) <= cfg.max_step_pos_m + TOL
                    if not any(w in r.reason for w in ("tilt", "twist")):
                        step = angle_between(goal.quat, r.goal.quat)
                        assert step <= cfg.max_step_rot_rad + 1e-9
                last_accept_t, latched = t, None
                goal, goal_known = r.goal, True
            assert_safe(r.goal, cfg)

        prev = sp
        sp = f.setpoint(t, m)
        assert_safe(sp, cfg)
        if not valid(m):
            assert sp is prev  # last finite setpoint, untouched
        else:  # the cap is from measured projected into the box
            anchor = np.clip(m.pos, LOW, HIGH)
            assert np.linalg.norm(sp.pos - anchor) <= cfg.max_target_error_pos_m + TOL
            if admissible(m, cfg):
                m_q = m.quat / np.linalg.norm(m.quat)
                assert angle_between(m_q, sp.quat) <= cfg.max_target_error_rot_rad + TOL
        expect_trip = t - last_accept_t > cfg.watchdog_timeout_s
        assert f.watchdog_tripped == expect_trip
        if expect_trip:
            if latched is None:
                latched, goal_known = sp, False
                if valid(m) and admissible(m, cfg):  # latched at the measured pose
                    np.testing.assert_allclose(sp.pos, m.pos, atol=1e-15)
                    assert same_rot(sp.quat, m.quat / np.linalg.norm(m.quat), atol=1e-7)
            elif valid(m) and near(m, latched):  # cap inactive: held, not drifting
                np.testing.assert_array_equal(sp.pos, latched.pos)
                np.testing.assert_array_equal(sp.quat, latched.quat)
    assert n_cmd > 1000 and n_acc > 300
    d = f.diagnostics()
    assert d["accepted"] == n_acc and d["watchdog trips"] > 0 and d["faults"] > 0


def test_slow_zone_limits_motion_towards_a_face() -> None:
    # Box floor z = 0 (LOW), zone 3 cm, 5 mm per command inside it. Hand-computed goals:
    f = make(pose([0.5, 0.0, 0.10]), 0.0)
    r = f.command([0, 0, -0.03], [0, 0, 0], 0.0, pose([0.5, 0.0, 0.10]))
    assert r.goal.pos[2] == pytest.approx(0.07) and r.reason == ""  # far from the face: full step
    f = make(pose([0.5, 0.0, 0.045]), 0.0)
    r = f.command([0, 0, -0.03], [0, 0, 0], 0.0, pose([0.5, 0.0, 0.045]))
    assert r.goal.pos[2] == pytest.approx(0.03)  # stops at the zone boundary
    assert "slowed: near workspace face" in r.reason
    r = f.command([0.01, 0, -0.02], [0, 0, 0], 0.1, pose([0.5, 0.0, 0.03]))
    assert r.goal.pos[2] == pytest.approx(0.025)  # inside: 5 mm per command
    assert r.goal.pos[0] == pytest.approx(0.51)  # the parallel axis is not slowed
    r = f.command([0, 0, 0.03], [0, 0, 0], 0.2, pose([0.51, 0.0, 0.025]))
    assert r.goal.pos[2] == pytest.approx(0.055) and r.reason == ""  # leaving: full speed
    off = make(pose([0.5, 0.0, 0.02]), 0.0, slow_zone_m=0.0)
    assert off.command([0, 0, -0.02], [0, 0, 0], 0.0, pose([0.5, 0.0, 0.02])).goal.pos[2] == (
        pytest.approx(0.0)
    )


def test_tracking_margin_keeps_goals_inside_the_taught_box() -> None:
    f = make(pose([0.5, 0.0, 0.3]), 0.0, tracking_margin_m=0.005, slow_zone_m=0.0)
    at = pose([0.5, 0.0, 0.3])
    for k in range(40):  # push out through the +y face; the arm follows the goal
        r = f.command([0.0, 0.03, 0.0], [0, 0, 0], 0.1 * k, at)
        at = r.goal
    assert r.goal.pos[1] == pytest.approx(HIGH[1] - 0.005)
    with pytest.raises(ValueError, match="tracking margin"):
        SafetyConfig(workspace_low_m=(0.0, 0.0, 0.0), workspace_high_m=(0.009, 1.0, 1.0))
