"""Named cell variants: the same twin with shifted physics, gains, cameras and lighting.

TwinRL's "real" cell is a shifted twin: a policy trained in the nominal twin is deployed to
``"shifted_real"`` to measure transfer, and the same name-based switch later points at the
robot's own cell. A variant is selected with ``CellConfig(variant="shifted_real")``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import mujoco
import numpy as np

from robot_rl.control.impedance import ImpedanceConfig
from robot_rl.control.rotations import quat_from_rotvec, quat_mul


@dataclass(frozen=True)
class CellVariant:
    """How a cell differs from the nominal twin (all factors multiply the nominal value)."""

    name: str
    # Sliding friction of every geom x this.
    friction_scale: float = 1.0
    # Mass and inertia of every free body (the task's objects) x this.
    object_mass_scale: float = 1.0
    # Impedance stiffness x this; damping x sqrt(this) (same damping ratio).
    gain_scale: float = 1.0
    # Camera position offset (m) in the camera's parent frame, added to the calibration.
    camera_offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # Camera rotation error: rotation vector (degrees) in the camera frame.
    camera_rot_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # Diffuse light intensity x this.
    light_scale: float = 1.0

    def impedance(self, cfg: ImpedanceConfig) -> ImpedanceConfig:
        """``cfg`` with this variant's gain shift."""
        if self.gain_scale == 1.0:
            return cfg
        k, d = self.gain_scale, math.sqrt(self.gain_scale)
        return replace(
            cfg,
            k_pos_n_per_m=tuple(v * k for v in cfg.k_pos_n_per_m),  # type: ignore[arg-type]
            k_rot_nm_per_rad=tuple(v * k for v in cfg.k_rot_nm_per_rad),  # type: ignore[arg-type]
            d_pos_ns_per_m=tuple(v * d for v in cfg.d_pos_ns_per_m),  # type: ignore[arg-type]
            d_rot_nms_per_rad=tuple(v * d for v in cfg.d_rot_nms_per_rad),  # type: ignore[arg-type]
        )

    def camera_pose(self, pos: np.ndarray, quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A camera's (pos, MuJoCo quat w,x,y,z) in its parent frame, shifted."""
        dq = quat_from_rotvec(np.radians(np.array(self.camera_rot_deg, dtype=float)))
        return np.asarray(pos, float) + self.camera_offset_m, quat_mul(np.asarray(quat, float), dq)

    def apply_to_model(self, m: mujoco.MjModel) -> None:
        """Shift friction, object masses and lighting of a compiled model in place."""
        m.geom_friction[:, 0] *= self.friction_scale
        free = m.jnt_bodyid[m.jnt_type == mujoco.mjtJoint.mjJNT_FREE]
        m.body_mass[free] *= self.object_mass_scale
        m.body_inertia[free] *= self.object_mass_scale
        m.light_diffuse[:] *= self.light_scale


# camera: 0.9 cm offset, 1.7 deg rotation: inside TwinRL's +-1 cm / +-2 deg.
VARIANTS: dict[str, CellVariant] = {
    v.name: v
    for v in (
        CellVariant("nominal"),
        CellVariant(
            "shifted_real",
            friction_scale=0.7,
            object_mass_scale=1.5,
            gain_scale=0.85,
            camera_offset_m=(0.006, -0.005, 0.004),
            camera_rot_deg=(1.2, -0.8, 0.9),
            light_scale=0.7,
        ),
    )
}


def get_variant(name: str) -> CellVariant:
    """The registered variant ``name``; unknown names raise ``KeyError`` listing the known."""
    if name not in VARIANTS:
        raise KeyError(f"unknown cell variant {name!r}; registered: {sorted(VARIANTS)}")
    return VARIANTS[name]
