"""The impedance law inside MuJoCo's C step, for one cell or N cells stepped together.

    tau = J^T (K clip(e) - D xdot) + N (posture) + coriolis      (gravity: the arm's firmware)

The Cartesian part runs every 1 kHz tick inside ``mj_step`` as 12 actuators with ``site``
transmission on the TCP (MuJoCo applies their force through the site Jacobian):

- 6 springs, force ``-k * length`` clamped to ``+-k * clip`` (``forcerange``). ``length`` is
  the TCP pose relative to a target site carried by a mocap body, so ``-length`` is the pose
  error and the clamp is exactly ``k * clip(e)`` per axis. Translation is measured in base
  axes (a target body that never rotates), rotation in the target's axes (MuJoCo's ``refsite``
  convention): the same as the reference law's base-frame rotation vector when the three
  rotational gains are equal, which is therefore required.
- 6 dampers, force ``-d * (J qdot)`` along the same axes, unclamped (as in the reference law).
  With the ``implicitfast`` integrator MuJoCo integrates them implicitly.

What runs in Python, once per chunk of ``chunk_ticks`` ticks (vectorised over the cells):
the target (the safety filter's interpolated setpoints averaged over the chunk, re-capped to
the measured TCP), and the nullspace posture torque plus Coriolis compensation on the joint
motors (zero-order hold; the reference law already holds the posture term for 10 ticks).
Not reproduced: the reference law's torque-rate limit (``max_delta_tau``). The joint torque
limits hold in C through the joints' ``actuatorfrcrange`` (which also bounds the reference law).

``robot_rl.control.impedance.ImpedanceLaw`` stays the per-tick reference (``CellConfig.law =
"python"``); ``tests/twin/test_native_law.py`` states how far the two trajectories differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from robot_rl.control.impedance import ImpedanceConfig

if TYPE_CHECKING:
    from robot_rl.twin.cell import TwinCell

TARGET_POS_BODY = "impedance_target_pos"
TARGET_ROT_BODY = "impedance_target_rot"
AXES = ("x", "y", "z", "rx", "ry", "rz")


def add_impedance_actuators(spec: mujoco.MjSpec, cfg: ImpedanceConfig) -> None:
    """Add the two target mocap bodies and the 12 spring/damper actuators to ``spec``."""
    if len(set(cfg.k_rot_nm_per_rad)) != 1 or len(set(cfg.error_clip_rot_rad)) != 1:
        raise ValueError(
            "the native impedance law needs equal rotational stiffness and clip on all three "
            "axes (it measures rotation in the target's axes); use CellConfig(law='python')"
        )
    k, d, clip = cfg.stiffness(), cfg.damping(), cfg.error_clip()
    for name in (TARGET_POS_BODY, TARGET_ROT_BODY):
        body = spec.worldbody.add_body(name=name, mocap=True)
        body.add_site(name=name, group=5)
    for i, axis in enumerate(AXES):
        ref = TARGET_POS_BODY if i < 3 else TARGET_ROT_BODY
        gear = [0.0] * 6
        gear[i] = 1.0
        for kind, bias in (("spring", [0.0, -k[i], 0.0]), ("damper", [0.0, 0.0, -d[i]])):
            act = spec.add_actuator(
                name=f"impedance_{kind}_{axis}",
                target="tcp",
                trntype=mujoco.mjtTrn.mjTRN_SITE,
                refsite=ref,
                gear=gear,
            )
            act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
            act.gainprm[0] = 0.0  # ctrl is unused: the force is all "bias"
            act.biastype = mujoco.mjtBias.mjBIAS_AFFINE
            act.biasprm[:3] = bias
            act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
            if kind == "spring":
                act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
                act.forcerange = [-k[i] * clip[i], k[i] * clip[i]]


class JointTorques:
    """Motor torques (Nm) of the native law for N arms: the nullspace posture torque (clamped)
    plus Coriolis compensation, with ``ImpedanceLaw``'s posture formula."""

    def __init__(self, cfg: ImpedanceConfig, posture_q: np.ndarray) -> None:
        self.k_ns = cfg.nullspace_stiffness
        self.d_ns = (
            2.0 * math.sqrt(cfg.nullspace_stiffness)
            if cfg.nullspace_damping < 0
            else cfg.nullspace_damping
        )
        self.lim = cfg.nullspace_max_tau_nm
        self.reg = cfg.nullspace_regularization * np.eye(6)
        self.coriolis = cfg.use_coriolis_compensation
        self.posture_q = np.asarray(posture_q, dtype=float).copy()

    def __call__(
        self, jac: np.ndarray, q: np.ndarray, qvel: np.ndarray, coriolis: np.ndarray
    ) -> np.ndarray:
        """``jac`` (N, 6, n) TCP Jacobians; ``q``, ``qvel``, ``coriolis`` (N, n) -> (N, n)."""
        if self.k_ns > 0.0:
            posture = self.k_ns * (self.posture_q - q)
            posture -= self.d_ns * qvel
            jac_t = jac.transpose(0, 2, 1)
            pinv = np.linalg.solve(jac @ jac_t + self.reg, jac)  # (J J^T + reg)^-1 J
            # Kinematic projector applied to a vector: (I - J^T (J J^T)^-1 J) v.
            posture -= (jac_t @ (pinv @ posture[:, :, None]))[:, :, 0]
            tau = np.clip(posture, -self.lim, self.lim, out=posture)
        else:
            tau = np.zeros_like(q)
        if self.coriolis:
            tau += coriolis
        return tau


def cap_targets(target: np.ndarray, measured: np.ndarray, max_error_m: float) -> np.ndarray:
    """(N, 3) targets moved to within ``max_error_m`` of the measured (N, 3) positions."""
    err = target - measured
    dist = np.sqrt((err * err).sum(axis=1))
    far = dist > max_error_m
    if far.any():
        err[far] *= (max_error_m / dist[far])[:, None]
    return measured + err


class ChunkStepper:
    """Advances N native-law cells (sharing one model or not) by per-tick target tracks.

    Physics runs in MuJoCo's C; with ``threads > 1`` the cells are split into that many
    groups stepped in parallel (MuJoCo releases the GIL). The Python work per chunk is
    vectorised over the cells. Blocks until all cells have advanced."""

    def __init__(self, cells: Sequence[TwinCell], threads: int = 1) -> None:
        if not cells:
            raise ValueError("ChunkStepper needs at least one cell")
        if any(c.cfg.law != "native" for c in cells):
            raise ValueError("ChunkStepper steps cells with CellConfig(law='native') only")
        self.cells = list(cells)
        self.chunk = cells[0].cfg.chunk_ticks
        if any(c.cfg.chunk_ticks != self.chunk for c in cells):
            raise ValueError("all cells of a ChunkStepper need the same chunk_ticks")
        threads = max(1, min(threads, len(self.cells)))
        self._groups = [self.cells[i::threads] for i in range(threads)]
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None
        n = len(self.cells)
        self._pos = np.zeros((n, 3))
        self._quat = np.zeros((n, 4))
        self._jac = np.zeros((n, 6, 7))
        self._q = np.zeros((n, 7))
        self._qd = np.zeros((n, 7))
        self._cor = np.zeros((n, 7))
        self._torques = JointTorques(cells[0].cfg.impedance, cells[0].posture_q)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _parallel(self, fn: Callable[..., None], *args: int) -> None:
        """Run ``fn(group, *args)`` for every thread's group of cells; wait for all."""
        if self._pool is None:
            for group in self._groups:
                fn(group, *args)
        else:
            futures = [self._pool.submit(fn, group, *args) for group in self._groups]
            for f in futures:
                f.result()

    @staticmethod
    def _step1(group: list[TwinCell]) -> None:
        for c in group:
            mujoco.mj_step1(c.model, c.data)

    @staticmethod
    def _finish(group: list[TwinCell], ticks: int, next_chunk: int) -> None:
        """step2 (with the law just written), then ``ticks - 1`` whole steps, then step1 of
        the next chunk if there is one (so the next law sees fresh kinematics)."""
        for c in group:
            m, d = c.model, c.data
            mujoco.mj_step2(m, d)
            if c.tick_hook is not None:
                c.tick_hook(c)
                for _ in range(ticks - 1):
                    mujoco.mj_step(m, d)
                    c.tick_hook(c)
            elif ticks > 1:
                mujoco.mj_step(m, d, nstep=ticks - 1)
            c.ticks += ticks
            if next_chunk:
                mujoco.mj_step1(m, d)

    def _write_law(self, target_pos: np.ndarray, target_quat: np.ndarray, cap_m: float) -> None:
        """Set each cell's target (capped to its measured TCP) and motor torques, from the
        post-``mj_step1`` state."""
        for i, c in enumerate(self.cells):
            mujoco.mj_jacSite(c.model, c.data, c._jacp, c._jacr, c.tcp_site)
            self._jac[i] = c._jac_arm
            self._pos[i] = c._xpos
            self._q[i] = c._q7
            self._qd[i] = c._qd7
            self._cor[i] = c._bias7
            self._cor[i] -= c._grav7
        capped = cap_targets(target_pos, self._pos, cap_m)
        tau = self._torques(self._jac, self._q, self._qd, self._cor)
        for i, c in enumerate(self.cells):
            c.set_native_target(capped[i], target_quat[i], tau[i])

    def run_track(self, pos: np.ndarray, quat: np.ndarray, max_error_pos_m: float) -> None:
        """Advance every cell by T ticks along its own per-tick targets ``pos`` (N, T, 3) and
        ``quat`` (N, T, 4) (the safety filter's track). The target is held per chunk at the
        chunk's segment midpoint and middle orientation, re-capped to ``max_error_pos_m`` from
        the measured TCP at the chunk's start, exactly as far as the reference re-caps per tick."""
        n_ticks = pos.shape[1]
        starts = np.arange(0, n_ticks, self.chunk)
        ends = np.minimum(starts + self.chunk, n_ticks) - 1
        # Chunk targets: the midpoint of each chunk's (linear) segment, its middle orientation.
        chunk_pos = 0.5 * (pos[:, starts] + pos[:, ends])
        chunk_quat = quat[:, (starts + ends) // 2]
        self._parallel(self._step1)
        for j, k0 in enumerate(starts):
            self._write_law(chunk_pos[:, j], chunk_quat[:, j], max_error_pos_m)
            self._parallel(self._finish, int(ends[j] + 1 - k0), int(j + 1 < len(starts)))
