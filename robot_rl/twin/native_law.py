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

What runs in Python, once per chunk of ``chunk_ticks`` ticks and cell (``CellLaw``, in
MuJoCo's C helpers, about 10 us): the target (the safety filter's interpolated setpoints
averaged over the chunk, re-capped to the measured TCP), and the nullspace posture torque plus
Coriolis compensation on the joint motors (zero-order hold; the reference law already holds
the posture term for 10 ticks).
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


def track_rows(
    n_cells: int, pos: np.ndarray, quat: np.ndarray, active: Sequence[int] | None
) -> list[int]:
    """The cells a ``run_track`` call advances (all, or ``active``), checked against the
    number of target rows given."""
    index = list(range(n_cells)) if active is None else list(active)
    if pos.shape[0] != len(index) or quat.shape[0] != len(index):
        raise ValueError(f"need targets for {len(index)} cells, got {pos.shape[0]}")
    return index


class CellLaw:
    """The native law's Python side for one cell, from its post-``mj_step1`` state: the
    target pose (the mocap bodies the springs pull towards) and the motor torques (Nm): the
    nullspace posture torque, clamped, plus Coriolis compensation, with ``ImpedanceLaw``'s
    formula. MuJoCo's C helpers on preallocated buffers: about 10 us per update, half of the
    same in numpy at these sizes. The Jacobian keeps all ``nv`` columns: those of dofs that do
    not move the TCP are exactly zero, so the products equal the arm-only ones."""

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        cfg: ImpedanceConfig,
        posture_q: np.ndarray,
        tcp_site: int,
    ) -> None:
        self.model, self.data, self.site = model, data, tcp_site
        self.k_ns = cfg.nullspace_stiffness
        self.d_ns = cfg.nullspace_damping_value()
        self.lim = cfg.nullspace_max_tau_nm
        self.coriolis = cfg.use_coriolis_compensation
        self.posture_q = np.array(posture_q, dtype=float)
        nv = model.nv
        self._reg = (cfg.nullspace_regularization * np.eye(6)).reshape(36)
        self.jac = np.zeros((6, nv))
        self._jacp, self._jacr = self.jac[:3], self.jac[3:]
        self._jjt = np.zeros((6, 6))
        self._jjt_flat = self._jjt.reshape(36)
        self._v = np.zeros(nv)  # posture torque; zero beyond the arm's 7 dofs
        self._v7 = self._v[:7]
        self._jv, self._x, self._jtx = np.zeros(6), np.zeros(6), np.zeros(nv)
        self._jtx7 = self._jtx[:7]
        self._err = np.zeros(3)
        self.ctrl7 = data.ctrl[:7]
        self._q7, self._qd7 = data.qpos[:7], data.qvel[:7]
        self._bias7, self._grav7 = data.qfrc_bias[:7], data.qfrc_gravcomp[:7]
        self._xpos = data.site_xpos[tcp_site]
        self.target_pos = data.mocap_pos[model.body(TARGET_POS_BODY).mocapid[0]]
        self.target_quat = data.mocap_quat[model.body(TARGET_ROT_BODY).mocapid[0]]

    def torques(self, out: np.ndarray) -> np.ndarray:
        """Write the 7 motor torques (Nm) into ``out`` (the arm's ``ctrl`` for the law)."""
        m, d = self.model, self.data
        if self.k_ns > 0.0:
            v, jac = self._v7, self.jac
            mujoco.mj_jacSite(m, d, self._jacp, self._jacr, self.site)
            mujoco.mju_sub(v, self.posture_q, self._q7)
            mujoco.mju_scl(v, v, self.k_ns)
            mujoco.mju_addToScl(v, self._qd7, -self.d_ns)
            # Kinematic projector applied to v: (I - J^T (J J^T + reg)^-1 J) v.
            mujoco.mju_mulMatMatT(self._jjt, jac, jac)
            mujoco.mju_addTo(self._jjt_flat, self._reg)
            mujoco.mju_cholFactor(self._jjt, 0.0)
            mujoco.mju_mulMatVec(self._jv, jac, self._v)
            mujoco.mju_cholSolve(self._x, self._jjt, self._jv)
            mujoco.mju_mulMatTVec(self._jtx, jac, self._x)
            mujoco.mju_sub(out, v, self._jtx7)
            np.minimum(out, self.lim, out=out)  # np.clip costs 3x these two here
            np.maximum(out, -self.lim, out=out)
        else:
            mujoco.mju_zero(out)
        if self.coriolis:
            mujoco.mju_addTo(out, self._bias7)
            mujoco.mju_subFrom(out, self._grav7)
        return out

    def set_target(self, pos: np.ndarray, quat: np.ndarray, cap_m: float | None) -> None:
        """Target pose of the springs; with ``cap_m`` the position is first moved to within
        ``cap_m`` (m) of the measured TCP, as the safety filter caps it."""
        if cap_m is None:
            mujoco.mju_copy3(self.target_pos, pos)
        else:
            err = self._err
            mujoco.mju_sub3(err, pos, self._xpos)
            dist = mujoco.mju_norm3(err)
            if dist > cap_m:
                mujoco.mju_scl3(err, err, cap_m / dist)
            mujoco.mju_add3(self.target_pos, self._xpos, err)
        mujoco.mju_copy4(self.target_quat, quat)

    def update(self, pos: np.ndarray, quat: np.ndarray, cap_m: float | None) -> None:
        """Target (``set_target``) and motor torques for the coming chunk."""
        self.set_target(pos, quat, cap_m)
        self.torques(self.ctrl7)


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
        index = track_rows(len(self.cells), pos, quat, active)
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
        starts, ends, chunk_pos, chunk_quat = chunk_targets(pos, quat, self.chunk)
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
        laws = [c.native_law() for c in cells]
        for c in cells:
            mujoco.mj_step1(c.model, c.data)
        n_chunks = len(starts)
        for j in range(n_chunks):
            ticks, more = int(ends[j] + 1 - starts[j]), j + 1 < n_chunks
            for i, c in enumerate(cells):
                # The law from the post-mj_step1 state: target capped to the measured TCP, motors.
                laws[i].update(chunk_pos[i, j], chunk_quat[i, j], cap_m)
                _finish(c, ticks, more)


def chunk_targets(
    pos: np.ndarray, quat: np.ndarray, chunk: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-tick tracks (N, T, 3), (N, T, 4) -> each chunk's first and last tick (C,) and its
    target: the midpoint of the chunk's (linear) segment (N, C, 3), its middle orientation
    (N, C, 4)."""
    n_ticks = pos.shape[1]
    starts = np.arange(0, n_ticks, chunk)
    ends = np.minimum(starts + chunk, n_ticks) - 1
    return starts, ends, 0.5 * (pos[:, starts] + pos[:, ends]), quat[:, (starts + ends) // 2]


def mjx_collision_shapes(spec: mujoco.MjSpec) -> None:
    """Make ``spec`` collide in MJX: every colliding cylinder becomes the box around it
    (half sizes r, r, h). MJX has no cylinder-box pair; the box never gives less clearance,
    and its corners reach at most (sqrt(2) - 1) r further out (3.7 cm for the arm's base).
    The geom's mass would change with its shape, so its body must declare its inertia."""
    for geom in spec.geoms:
        if geom.type != mujoco.mjtGeom.mjGEOM_CYLINDER or not (geom.contype or geom.conaffinity):
            continue
        if not geom.parent.explicitinertial:
            raise ValueError(f"geom {geom.name!r}: its body's inertia would change with its shape")
        r, h = geom.size[0], geom.size[1]
        geom.type = mujoco.mjtGeom.mjGEOM_BOX
        geom.size = [r, r, h]


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
