"""The teleop-frame <-> action-frame transform against an independent MuJoCo reference.

The reference moves a rigid tool with MuJoCo's quaternion functions (mju_*): it turns the
tool about the pivot by the commanded rotation and shifts it by the commanded translation,
then reads the TCP displacement and the base-frame rotation vector off the result. It
shares no code with robot_rl.hil.frames (which uses matrices and robot_rl.control)."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from robot_rl.hil.frames import (
    FrameConfig,
    action_to_teleop_frame,
    frame_rotation,
    lever_arm,
    teleop_to_action_frame,
)
from robot_rl.hil.mapping import MappingConfig, TeleopMapping, fit_unit_box


def rot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.zeros(3)
    mujoco.mju_rotVecQuat(out, np.asarray(v, float), np.asarray(q, float))
    return out


def axis_angle_quat(w: np.ndarray) -> np.ndarray:
    q = np.array([1.0, 0.0, 0.0, 0.0])
    angle = float(np.linalg.norm(w))
    if angle > 0:
        mujoco.mju_axisAngle2Quat(q, w / angle, angle)
    return q


def random_quat(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    mujoco.mju_normalize4(q)
    return q


def teleop_quat(cfg: FrameConfig, tcp_quat: np.ndarray) -> np.ndarray:
    if cfg.kind == "operator":
        return axis_angle_quat(np.array([0.0, 0.0, cfg.operator_yaw_rad]))
    if cfg.kind == "tcp":
        return tcp_quat
    return np.asarray(cfg.quat_base_teleop_wxyz, float)


def reference_motion(
    cfg: FrameConfig, v_T: np.ndarray, w_T: np.ndarray, p_tcp: np.ndarray, q_tcp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(dpos, drot) of the TCP after the rigid motion commanded in T, by simulation."""
    q_bT = teleop_quat(cfg, q_tcp)
    v_b, w_b = rot(q_bT, v_T), rot(q_bT, w_T)
    pivot = p_tcp + rot(q_bT, np.asarray(cfg.pivot_offset_m, float))
    q_w = axis_angle_quat(w_b)
    p_new = pivot + rot(q_w, p_tcp - pivot) + v_b
    q_new = np.zeros(4)
    mujoco.mju_mulQuat(q_new, q_w, q_tcp)
    body_vel = np.zeros(3)  # q_tcp * exp(body_vel) = q_new
    mujoco.mju_subQuat(body_vel, q_new, q_tcp)
    return p_new - p_tcp, rot(q_tcp, body_vel)


def frames(rng: np.random.Generator) -> list[FrameConfig]:
    ox, oy, oz = rng.uniform(-0.1, 0.1, 3)
    off = (float(ox), float(oy), float(oz))
    qw, qx, qy, qz = random_quat(rng)
    quat = (float(qw), float(qx), float(qy), float(qz))
    return [
        FrameConfig(kind="operator", operator_yaw_rad=math.pi),
        FrameConfig(kind="operator", operator_yaw_rad=0.7),
        FrameConfig(kind="tcp"),
        FrameConfig(kind="tcp", pivot_offset_m=off),
        FrameConfig(kind="fixed", quat_base_teleop_wxyz=quat),
        FrameConfig(kind="fixed", quat_base_teleop_wxyz=quat, pivot_offset_m=off),
    ]


def case(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    v = rng.uniform(-0.03, 0.03, 3)
    w = rng.normal(size=3)
    w *= rng.uniform(0.0, 0.4) / np.linalg.norm(w)  # finite steps, up to 0.4 rad
    return v, w, rng.uniform([0.3, -0.3, 0.0], [0.7, 0.3, 0.5]), random_quat(rng)


def mine(cfg: FrameConfig, q_tcp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    R = frame_rotation(cfg, q_tcp)
    return R, lever_arm(cfg, R)


def test_teleop_to_action_matches_reference() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        for cfg in frames(rng):
            v, w, p, q = case(rng)
            R, lever = mine(cfg, q)
            dpos, drot = teleop_to_action_frame(v, w, R, lever)
            ref_dpos, ref_drot = reference_motion(cfg, v, w, p, q)
            np.testing.assert_allclose(dpos, ref_dpos, atol=1e-12)
            np.testing.assert_allclose(drot, ref_drot, atol=1e-10)


def test_action_to_teleop_inverts_reference() -> None:
    """Both directions: our inverse recovers the twist the reference was driven with, and
    the reference driven by our inverse reproduces a random action-frame motion."""
    rng = np.random.default_rng(1)
    for _ in range(50):
        for cfg in frames(rng):
            v, w, p, q = case(rng)
            R, lever = mine(cfg, q)
            v_back, w_back = action_to_teleop_frame(*reference_motion(cfg, v, w, p, q), R, lever)
            np.testing.assert_allclose(v_back, v, atol=1e-10)
            np.testing.assert_allclose(w_back, w, atol=1e-10)
            dpos, drot = rng.uniform(-0.03, 0.03, 3), rng.uniform(-0.2, 0.2, 3)
            v_T, w_T = action_to_teleop_frame(dpos, drot, R, lever)
            ref_dpos, ref_drot = reference_motion(cfg, v_T, w_T, p, q)
            np.testing.assert_allclose(ref_dpos, dpos, atol=1e-10)
            np.testing.assert_allclose(ref_drot, drot, atol=1e-10)


def test_published_mistakes_fail_the_reference() -> None:
    """The test above has teeth: the reversed direction (R^T for R) and the lever-arm term
    moved onto the rotation block both disagree with the reference by far more than its
    tolerance."""
    rng = np.random.default_rng(2)
    cfg = FrameConfig(kind="operator", operator_yaw_rad=0.7, pivot_offset_m=(0.0, 0.0, 0.08))
    v, w, p, q = case(rng)
    R, lever = mine(cfg, q)
    ref_dpos, ref_drot = reference_motion(cfg, v, w, p, q)
    reversed_dpos, _ = teleop_to_action_frame(v, w, R.T, lever)
    assert np.linalg.norm(reversed_dpos - ref_dpos) > 1e-3
    swapped_drot = R @ w + np.cross(lever, R @ v)  # lever term in the wrong block
    swapped_dpos = R @ v
    assert np.linalg.norm(swapped_drot - ref_drot) + np.linalg.norm(swapped_dpos - ref_dpos) > 1e-3


def test_operator_across_the_table_pushes_toward_the_robot() -> None:
    """Plain numbers: facing the robot from across the table, forward is base -x, left is
    base -y, and a counter-clockwise twist is still counter-clockwise (z is shared)."""
    m = TeleopMapping(MappingConfig(FrameConfig(operator_yaw_rad=math.pi)), 0.02, 0.1)
    q = np.array([0.0, 1.0, 0.0, 0.0])
    cases = {0: [-1, 0, 0, 0, 0, 0], 1: [0, -1, 0, 0, 0, 0], 5: [0, 0, 0, 0, 0, 1]}
    for axis, expected in cases.items():
        twist = np.eye(6)[axis]
        np.testing.assert_allclose(m.to_action(twist, 1.0, q)[:6], expected, atol=1e-12)


def test_mapping_round_trip_with_scales_and_gains() -> None:
    rng = np.random.default_rng(3)
    for cfg in frames(rng):
        m = TeleopMapping(MappingConfig(cfg, pos_gain=0.7, rot_gain=0.5), 0.02, 0.1)
        q = random_quat(rng)
        twist = rng.uniform(-0.4, 0.4, 6)
        a = m.to_action(twist, -0.3, q)
        back, grip = m.from_action(a, q)
        np.testing.assert_allclose(back, twist, atol=1e-9)
        assert grip == pytest.approx(-0.3)


def test_masked_rotation_drops_before_the_pivot_term() -> None:
    """A task that forbids rotation gets no rotation and no pivot-induced translation: what
    is stored is what the env executes."""
    cfg = FrameConfig(kind="tcp", pivot_offset_m=(0.0, 0.0, 0.1))
    m = TeleopMapping(MappingConfig(cfg), 0.02, 0.1, rot_axes=(False, False, False))
    a = m.to_action([0, 0, 0, 0.8, -0.5, 0.3], 1.0, np.array([0.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(a[:6], 0.0, atol=1e-15)


def test_fit_unit_box_keeps_direction() -> None:
    v = np.array([1.5, -0.75, 0.3])
    out = fit_unit_box(v)
    assert np.max(np.abs(out)) == pytest.approx(1.0)
    np.testing.assert_allclose(out / np.linalg.norm(out), v / np.linalg.norm(v))
    np.testing.assert_array_equal(fit_unit_box(np.array([0.2, -0.5])), [0.2, -0.5])
