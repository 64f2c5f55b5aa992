"""Cartesian impedance law (the twin's stand-in for the robot's 1 kHz C++ controller).

    tau = J^T (K e - D xdot) + N (k_ns (q0 - q) - d_ns qdot) + bias

- ``e`` is the pose error (target - measured; translation in the base frame, rotation as a
  base-frame rotation vector), clipped per axis. The clip bounds the quasi-static contact force
  at ``K * clip`` per axis, which is why it is a safety parameter and not only a tuning knob.
- ``N = I - J^T (J J^T + reg I)^-1 J`` is the kinematic nullspace projector.
- ``bias`` is gravity + Coriolis (MuJoCo's ``qfrc_bias``), each switchable.
- The output is torque-rate limited (``max_delta_tau`` per tick) and clamped to the joint
  torque limits.

Field names follow crisp_controllers' parameters so a parameter file can be moved between the
twin and a real arm running crisp_controllers (see ``CRISP_PARAMETERS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np


def _xyz(x: float, y: float, z: float) -> tuple[float, float, float]:
    return (x, y, z)


@dataclass
class ImpedanceConfig:
    """Gains and limits of the Cartesian impedance law; one value per axis (x, y, z)."""

    # Translational stiffness (N/m), crisp: task.k_pos_{x,y,z}.
    k_pos_n_per_m: tuple[float, float, float] = field(
        default_factory=lambda: _xyz(2000, 2000, 2000)
    )
    # Rotational stiffness (Nm/rad), crisp: task.k_rot_{x,y,z}.
    k_rot_nm_per_rad: tuple[float, float, float] = field(
        default_factory=lambda: _xyz(150, 150, 150)
    )
    # Translational damping (Ns/m); a negative value means 2*sqrt(k), crisp: task.d_pos_*.
    # Defaults are tuned on the twin: a 2 cm step settles (5%) in < 300 ms with < 10% overshoot
    # (docs/control.md). With the default clip, the spring force is bounded by 2000*0.02 = 40 N.
    d_pos_ns_per_m: tuple[float, float, float] = field(default_factory=lambda: _xyz(210, 210, 210))
    # Rotational damping (Nms/rad); negative means 2*sqrt(k), crisp: task.d_rot_*.
    d_rot_nms_per_rad: tuple[float, float, float] = field(default_factory=lambda: _xyz(8, 8, 8))
    # Per-axis clip of the translational error (m); bounds contact force, crisp: task.error_clip.*.
    error_clip_pos_m: tuple[float, float, float] = field(
        default_factory=lambda: _xyz(0.02, 0.02, 0.02)
    )
    # Per-axis clip of the rotational error (rad), crisp: task.error_clip.{rx,ry,rz}. It bounds
    # the spring torque (150 x 0.05 = 7.5 Nm), which a tool tilted by contact turns into force
    # at a fingertip lever of centimetres: at 0.5 rad (75 Nm) a finger pressed the table with
    # 84 N for 200 ms against the 40 N translational bound (docs/control.md).
    error_clip_rot_rad: tuple[float, float, float] = field(
        default_factory=lambda: _xyz(0.05, 0.05, 0.05)
    )
    # Nullspace posture stiffness (Nm/rad), crisp: nullspace.stiffness.
    nullspace_stiffness: float = 10.0
    # Nullspace damping (Nms/rad); negative means 2*sqrt(stiffness), crisp: nullspace.damping.
    nullspace_damping: float = -1.0
    # Max |torque| the nullspace term may add per joint (Nm), crisp: nullspace.max_tau.
    nullspace_max_tau_nm: float = 5.0
    # Regulariser of the nullspace pseudo-inverse, crisp: nullspace.regularization.
    nullspace_regularization: float = 1e-6
    # Max change of each joint torque per 1 kHz tick (Nm), crisp: max_delta_tau.
    max_delta_tau_nm: float = 1.0
    # Add Coriolis/centrifugal compensation, crisp: use_coriolis_compensation.
    use_coriolis_compensation: bool = True
    # Add gravity compensation, crisp: use_gravity_compensation. A Franka (and the twin, which
    # models it) compensates gravity in firmware: leave False there or gravity counts twice.
    use_gravity_compensation: bool = False
    # Clamp the output to the joint torque limits, crisp: limit_torques.
    limit_torques: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (tuple, list)):
                arr = np.asarray(value, dtype=float)
                if arr.shape != (3,) or not np.all(np.isfinite(arr)):
                    raise ValueError(
                        f"ImpedanceConfig.{f.name} must be 3 finite numbers, got {value}"
                    )
                setattr(self, f.name, tuple(float(v) for v in arr))
        for name in ("k_pos_n_per_m", "k_rot_nm_per_rad", "error_clip_pos_m", "error_clip_rot_rad"):
            if min(getattr(self, name)) <= 0:
                raise ValueError(f"ImpedanceConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.max_delta_tau_nm <= 0:
            raise ValueError("ImpedanceConfig.max_delta_tau_nm must be > 0")

    def stiffness(self) -> np.ndarray:
        """The 6 diagonal stiffness values (N/m x3, Nm/rad x3)."""
        return np.array(self.k_pos_n_per_m + self.k_rot_nm_per_rad)

    def damping(self) -> np.ndarray:
        """The 6 diagonal damping values, with crisp's 2*sqrt(k) rule for negative entries."""
        k = self.stiffness()
        d = np.array(self.d_pos_ns_per_m + self.d_rot_nms_per_rad)
        return np.where(d < 0, 2.0 * np.sqrt(k), d)

    def nullspace_damping_value(self) -> float:
        """Nullspace damping (Nms/rad), with crisp's 2*sqrt(stiffness) rule for a negative value."""
        if self.nullspace_damping < 0:
            return 2.0 * math.sqrt(self.nullspace_stiffness)
        return self.nullspace_damping

    def error_clip(self) -> np.ndarray:
        return np.array(self.error_clip_pos_m + self.error_clip_rot_rad)

    def to_crisp(self) -> dict[str, float | bool]:
        """This config as crisp_controllers parameter names (``cartesian_controller`` namespace)."""
        out: dict[str, float | bool] = {}
        for key, (name, index) in CRISP_PARAMETERS.items():
            value = getattr(self, name)
            out[key] = value[index] if index is not None else value
        return out

    @classmethod
    def from_crisp(cls, params: dict[str, float | bool]) -> ImpedanceConfig:
        """Build from crisp_controllers parameter names; unknown keys raise ``KeyError``."""
        unknown = sorted(set(params) - set(CRISP_PARAMETERS))
        if unknown:
            raise KeyError(f"not crisp_controllers impedance parameters: {unknown}")
        base = cls()
        values: dict[str, object] = {f.name: getattr(base, f.name) for f in fields(cls)}
        for key, value in params.items():
            name, index = CRISP_PARAMETERS[key]
            if index is None:
                values[name] = value
            else:
                vec = list(values[name])  # type: ignore[call-overload]
                vec[index] = float(value)
                values[name] = tuple(vec)
        return cls(**values)  # type: ignore[arg-type]


def _crisp_map() -> dict[str, tuple[str, int | None]]:
    table: dict[str, tuple[str, int | None]] = {}
    for i, axis in enumerate("xyz"):
        table[f"task.k_pos_{axis}"] = ("k_pos_n_per_m", i)
        table[f"task.k_rot_{axis}"] = ("k_rot_nm_per_rad", i)
        table[f"task.d_pos_{axis}"] = ("d_pos_ns_per_m", i)
        table[f"task.d_rot_{axis}"] = ("d_rot_nms_per_rad", i)
        table[f"task.error_clip.{axis}"] = ("error_clip_pos_m", i)
        table[f"task.error_clip.r{axis}"] = ("error_clip_rot_rad", i)
    table.update(
        {
            "nullspace.stiffness": ("nullspace_stiffness", None),
            "nullspace.damping": ("nullspace_damping", None),
            "nullspace.max_tau": ("nullspace_max_tau_nm", None),
            "nullspace.regularization": ("nullspace_regularization", None),
            "max_delta_tau": ("max_delta_tau_nm", None),
            "use_coriolis_compensation": ("use_coriolis_compensation", None),
            "use_gravity_compensation": ("use_gravity_compensation", None),
            "limit_torques": ("limit_torques", None),
        }
    )
    return table


# crisp_controllers parameter name -> (ImpedanceConfig field, axis index or None).
CRISP_PARAMETERS: dict[str, tuple[str, int | None]] = _crisp_map()


class ImpedanceLaw:
    """Stateful (torque-rate limit) impedance law for an n-joint arm. Call ``torque`` at 1 kHz.

    All inputs are in the base frame. The hot path avoids ``np.clip`` and temporaries where it
    is cheap to (the twin calls it 100 times per 10 Hz policy step). The nullspace
    pseudo-inverse is refreshed every ``nullspace_refresh_ticks`` calls; the Jacobian changes
    little in a few milliseconds and the 6x6 solve is the most expensive line.
    """

    def __init__(
        self,
        cfg: ImpedanceConfig,
        tau_limit_nm: np.ndarray,
        posture_q: np.ndarray,
        nullspace_refresh_ticks: int = 1,
    ) -> None:
        self.cfg = cfg
        self.tau_limit = np.asarray(tau_limit_nm, dtype=float).copy()
        self.posture_q = np.asarray(posture_q, dtype=float).copy()
        n = self.tau_limit.shape[0]
        if self.posture_q.shape != (n,):
            raise ValueError(f"posture_q must have {n} entries, got {self.posture_q.shape}")
        if nullspace_refresh_ticks < 1:
            raise ValueError("nullspace_refresh_ticks must be >= 1")
        self.refresh = nullspace_refresh_ticks
        self._k = cfg.stiffness()
        self._d = cfg.damping()
        self._clip = cfg.error_clip()
        self._neg_clip = -self._clip
        self._k_ns = cfg.nullspace_stiffness
        self._d_ns = cfg.nullspace_damping_value()
        self._ns_lim = cfg.nullspace_max_tau_nm
        self._reg = cfg.nullspace_regularization * np.eye(6)
        self._pinv = np.zeros((6, n))  # (J J^T + reg)^-1 J
        self._tau_ns = np.zeros(n)
        self._neg_tau_limit = -self.tau_limit
        self._ticks = 0
        self.tau_prev = np.zeros(n)
        self.last_error = np.zeros(6)

    def reset(self, tau: np.ndarray | None = None) -> None:
        """Forget the torque history (the rate limit restarts from ``tau`` or zero)."""
        self.tau_prev = np.zeros_like(self.tau_limit) if tau is None else np.array(tau, float)
        self._ticks = 0

    def torque(
        self,
        pose_error: np.ndarray,
        jac: np.ndarray,
        q: np.ndarray,
        qvel: np.ndarray,
        gravity: np.ndarray,
        coriolis: np.ndarray,
    ) -> np.ndarray:
        """Joint torques (Nm) for one tick.

        ``pose_error``: (6,) target minus measured (m, rad rotation vector); ``jac``: (6, n)
        TCP Jacobian (linear rows first); ``gravity``/``coriolis``: (n,) bias torques.
        """
        e = np.minimum(np.maximum(pose_error, self._neg_clip), self._clip)
        self.last_error = e
        wrench = self._k * e
        wrench -= self._d * (jac @ qvel)
        tau = jac.T @ wrench
        if self._k_ns > 0.0:
            if self._ticks % self.refresh == 0:
                # Posture torque and its projector are held for `refresh` ticks (zero-order
                # hold): a slow posture regulator loses nothing at 100 Hz.
                self._pinv = np.linalg.solve(jac @ jac.T + self._reg, jac)
                posture = self._k_ns * (self.posture_q - q)
                posture -= self._d_ns * qvel
                # Kinematic projector applied to a vector: (I - J^T (J J^T)^-1 J) v.
                posture -= jac.T @ (self._pinv @ posture)
                self._tau_ns = np.minimum(np.maximum(posture, -self._ns_lim), self._ns_lim)
            tau += self._tau_ns
        self._ticks += 1
        if self.cfg.use_gravity_compensation:
            tau += gravity
        if self.cfg.use_coriolis_compensation:
            tau += coriolis
        # Torque-rate limit and torque limit folded into one pair of bounds.
        step = self.cfg.max_delta_tau_nm
        if self.cfg.limit_torques:
            low = np.maximum(self.tau_prev - step, self._neg_tau_limit)
            high = np.minimum(self.tau_prev + step, self.tau_limit)
        else:
            low, high = self.tau_prev - step, self.tau_prev + step
        np.minimum(np.maximum(tau, low, out=tau), high, out=tau)
        self.tau_prev = tau
        return tau
