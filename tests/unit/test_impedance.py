"""The impedance law against hand-computed torques, and its crisp parameter mapping."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.control.impedance import CRISP_PARAMETERS, ImpedanceConfig, ImpedanceLaw


def law(**kw: object) -> ImpedanceLaw:
    cfg = ImpedanceConfig(nullspace_stiffness=0.0, max_delta_tau_nm=1e6, **kw)  # type: ignore[arg-type]
    return ImpedanceLaw(cfg, tau_limit_nm=np.full(6, 1e6), posture_q=np.zeros(6))


def test_spring_damper_with_identity_jacobian() -> None:
    # With J = I (6 joints), tau = K e - D xdot component-wise: check by hand.
    w = law(
        k_pos_n_per_m=(100, 200, 300),
        d_pos_ns_per_m=(10, 20, 30),
        k_rot_nm_per_rad=(1, 2, 3),
        d_rot_nms_per_rad=(0.1, 0.2, 0.3),
        error_clip_rot_rad=(0.5, 0.5, 0.5),  # the errors below stay inside the clip
    )
    e = np.array([0.01, -0.01, 0.005, 0.1, 0.0, -0.2])
    qd = np.array([0.1, 0.0, -0.1, 1.0, 0.0, 0.5])
    tau = w.torque(e, np.eye(6), np.zeros(6), qd, np.zeros(6), np.zeros(6))
    expected = [100 * 0.01 - 10 * 0.1, -2.0, 1.5 + 3.0, 0.1 - 0.1, 0.0, -0.6 - 0.15]
    np.testing.assert_allclose(tau, expected, atol=1e-12)


def test_error_clip_bounds_the_spring_force() -> None:
    w = law(error_clip_pos_m=(0.02, 0.02, 0.02), k_pos_n_per_m=(2000, 2000, 2000))
    e = np.array([0.5, -0.5, 0.5, 0, 0, 0])
    tau = w.torque(e, np.eye(6), np.zeros(6), np.zeros(6), np.zeros(6), np.zeros(6))
    np.testing.assert_allclose(tau[:3], [40.0, -40.0, 40.0])


def test_transposed_jacobian_maps_wrench_to_joints() -> None:
    w = law(k_pos_n_per_m=(100, 100, 100), d_pos_ns_per_m=(0, 0, 0), d_rot_nms_per_rad=(0, 0, 0))
    jac = np.zeros((6, 6))
    jac[0, 1] = 0.5  # joint 1 moves the TCP along x with a 0.5 m lever
    jac[2, 0] = 2.0
    e = np.array([0.01, 0, 0.01, 0, 0, 0])
    tau = w.torque(e, jac, np.zeros(6), np.zeros(6), np.zeros(6), np.zeros(6))
    np.testing.assert_allclose(tau, [2.0 * 1.0, 0.5 * 1.0, 0, 0, 0, 0])


def test_rate_and_torque_limits() -> None:
    cfg = ImpedanceConfig(nullspace_stiffness=0.0, max_delta_tau_nm=0.5)
    w = ImpedanceLaw(cfg, tau_limit_nm=np.full(6, 1.2), posture_q=np.zeros(6))
    e = np.array([0.02, 0, 0, 0, 0, 0])
    seen = [
        w.torque(e, np.eye(6), np.zeros(6), np.zeros(6), np.zeros(6), np.zeros(6))[0]
        for _ in range(4)
    ]
    np.testing.assert_allclose(seen, [0.5, 1.0, 1.2, 1.2])


def test_coriolis_added_gravity_only_when_asked() -> None:
    grav, cor = np.full(6, 3.0), np.full(6, 0.25)
    w = law()
    tau = w.torque(np.zeros(6), np.eye(6), np.zeros(6), np.zeros(6), grav, cor)
    np.testing.assert_allclose(tau, cor)
    w = law(use_gravity_compensation=True)
    tau = w.torque(np.zeros(6), np.eye(6), np.zeros(6), np.zeros(6), grav, cor)
    np.testing.assert_allclose(tau, grav + cor)


def test_nullspace_torque_does_not_move_the_tcp() -> None:
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(6, 7))
    cfg = ImpedanceConfig(
        nullspace_stiffness=10.0,
        nullspace_max_tau_nm=1e3,
        max_delta_tau_nm=1e6,
        nullspace_regularization=1e-12,
    )  # reg leaks ~reg*|tau| otherwise
    w = ImpedanceLaw(cfg, np.full(7, 1e6), posture_q=rng.normal(size=7))
    tau = w.torque(np.zeros(6), jac, np.zeros(7), np.zeros(7), np.zeros(7), np.zeros(7))
    assert np.linalg.norm(tau) > 1e-3
    # A pure-nullspace torque produces no task-space wrench: (J J^T)^-1 J tau = 0.
    np.testing.assert_allclose(np.linalg.solve(jac @ jac.T, jac @ tau), 0.0, atol=1e-6)


def test_crisp_round_trip_and_unknown_keys() -> None:
    cfg = ImpedanceConfig.from_crisp(
        {"task.k_pos_z": 1234.0, "task.error_clip.rx": 0.3, "max_delta_tau": 0.7}
    )
    assert cfg.k_pos_n_per_m[2] == 1234.0 and cfg.error_clip_rot_rad[0] == 0.3
    assert cfg.max_delta_tau_nm == 0.7
    assert ImpedanceConfig.from_crisp(cfg.to_crisp()) == cfg
    assert {"task.k_pos_x", "task.error_clip.z", "nullspace.stiffness"} <= set(CRISP_PARAMETERS)
    with pytest.raises(KeyError, match=r"task\.k_pos_w"):
        ImpedanceConfig.from_crisp({"task.k_pos_w": 1.0})


def test_negative_damping_means_two_sqrt_k() -> None:
    cfg = ImpedanceConfig(k_pos_n_per_m=(400, 400, 400), d_pos_ns_per_m=(-1, -1, 5))
    np.testing.assert_allclose(cfg.damping()[:3], [40.0, 40.0, 5.0])


@pytest.mark.parametrize(
    "bad",
    [
        {"k_pos_n_per_m": (1, 2)},
        {"error_clip_pos_m": (0, 1, 1)},
        {"k_rot_nm_per_rad": (np.nan, 1, 1)},
    ],
)
def test_bad_config_is_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ImpedanceConfig(**bad)  # type: ignore[arg-type]
