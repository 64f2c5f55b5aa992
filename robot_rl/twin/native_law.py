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

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import mujoco
import numpy as np

from robot_rl.control.impedance import ImpedanceConfig

if TYPE_CHECKING:
    from robot_rl.twin.cell import TwinCell

TARGET_POS_BODY = "impedance_target_pos"
TARGET_ROT_BODY = "impedance_target_rot"
AXES = ("x", "y", "z", "rx", "ry", "rz")
T = TypeVar("T")


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
        self.d_ns = cfg.nullspace_damping_value()
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

    With ``threads > 1`` the cells are split into that many groups; each thread runs its
    group through the whole track, chunk by chunk: the per-chunk Python work (vectorised over
    the group) holds the GIL, the physics in MuJoCo's C releases it, so one thread's law
    overlaps the other threads' physics and there is no barrier per chunk. Blocks until all
    cells have advanced."""

    def __init__(self, cells: Sequence[TwinCell], threads: int = 1) -> None:
        if not cells:
            raise ValueError("ChunkStepper needs at least one cell")
        if any(c.cfg.law != "native" for c in cells):
            raise ValueError("ChunkStepper steps cells with CellConfig(law='native') only")
        self.cells = list(cells)
        self.chunk = cells[0].cfg.chunk_ticks
        if any(c.cfg.chunk_ticks != self.chunk for c in cells):
            raise ValueError("all cells of a ChunkStepper need the same chunk_ticks")
        self.threads = max(1, min(threads, len(self.cells)))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self._torques = JointTorques(cells[0].cfg.impedance, cells[0].posture_q)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def run_track(
        self,
        pos: np.ndarray,
        quat: np.ndarray,
        max_error_pos_m: float,
        active: Sequence[int] | None = None,
    ) -> None:
        """Advance the cells (all, or those indexed by ``active``) by T ticks along their own
        per-tick targets ``pos`` (N, T, 3) and ``quat`` (N, T, 4) (the safety filter's track;
        N = number of advanced cells, in order). The target is held per chunk at the
        chunk's segment midpoint and middle orientation, re-capped to ``max_error_pos_m`` from
        the measured TCP at the chunk's start, as the reference re-caps at every tick."""
        index = list(range(len(self.cells))) if active is None else list(active)
        if pos.shape[0] != len(index) or quat.shape[0] != len(index):
            raise ValueError(f"need targets for {len(index)} cells, got {pos.shape[0]}")
        k = self.threads
        rows = [r for r in (list(range(len(index)))[i::k] for i in range(k)) if r]
        cells = [[self.cells[index[r]] for r in g] for g in rows]
        jobs = [
            partial(self.track_group, c, pos[g], quat[g], max_error_pos_m)
            for c, g in zip(cells, rows, strict=True)
        ]
        self.parallel(jobs)

    def parallel(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``jobs`` on the stepper's threads (inline when it has one); block until all are
        done; their results in order. Exceptions propagate."""
        if self._pool is None or len(jobs) == 1:
            return [job() for job in jobs]
        futures = [self._pool.submit(job) for job in jobs]
        return [f.result() for f in futures]

    def track_group(
        self, cells: list[TwinCell], pos: np.ndarray, quat: np.ndarray, max_error_pos_m: float
    ) -> None:
        """``run_track`` for the given cells on the calling thread (no other thread may step
        them meanwhile)."""
        n_ticks = pos.shape[1]
        starts = np.arange(0, n_ticks, self.chunk)
        ends = np.minimum(starts + self.chunk, n_ticks) - 1
        # Chunk targets: the midpoint of each chunk's (linear) segment, its middle orientation.
        chunk_pos = 0.5 * (pos[:, starts] + pos[:, ends])
        chunk_quat = quat[:, (starts + ends) // 2]
        self._run_group(cells, chunk_pos, chunk_quat, starts, ends, max_error_pos_m)

    def _run_group(
        self,
        cells: list[TwinCell],
        chunk_pos: np.ndarray,
        chunk_quat: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        cap_m: float,
    ) -> None:
        n = len(cells)
        jac, xpos = np.zeros((n, 6, 7)), np.zeros((n, 3))
        q, qd, cor = np.zeros((n, 7)), np.zeros((n, 7)), np.zeros((n, 7))
        for c in cells:
            mujoco.mj_step1(c.model, c.data)
        for j, k0 in enumerate(starts):
            # The law from the post-mj_step1 state: target capped to the measured TCP, motors.
            for i, c in enumerate(cells):
                mujoco.mj_jacSite(c.model, c.data, c._jacp, c._jacr, c.tcp_site)
                jac[i] = c._jac_arm
                xpos[i] = c._xpos
                q[i] = c._q7
                qd[i] = c._qd7
                np.subtract(c._bias7, c._grav7, out=cor[i])
            capped = cap_targets(chunk_pos[:, j], xpos, cap_m)
            tau = self._torques(jac, q, qd, cor)
            ticks, last = int(ends[j] + 1 - k0), j + 1 == len(starts)
            for i, c in enumerate(cells):
                c.set_native_target(capped[i], chunk_quat[i, j], tau[i])
                _finish(c, ticks, not last)


def _finish(c: TwinCell, ticks: int, next_chunk: bool) -> None:
    """step2 (with the law just written), ``ticks - 1`` whole steps, then step1 of the next
    chunk if there is one (so the next law sees fresh kinematics)."""
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
