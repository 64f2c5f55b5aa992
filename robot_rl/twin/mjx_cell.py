"""The batched twin cell on MJX (jax): N cells' physics and native impedance law in one jitted
call per policy period, on whatever device jax picks (a GPU when there is one).

    stepper = MjxStepper(cells)               # N TwinCells built with CellConfig(collision="mjx")
    stepper.run_track(pos, quat, cap_m)       # (N, T, 3), (N, T, 4): the safety filters' tracks

``MjxStepper`` has ``native_law.ChunkStepper``'s API, so ``TwinVectorEnv(backend="mjx")`` uses
it in its place. What runs where:

- On the device, vectorised over the N cells (``jax.vmap``) and over the T ticks of a period
  (``lax.fori_loop``), in one compiled function: MuJoCo's physics (``mjx``) with the 12
  spring/damper actuators of the native law (they are part of the model, so MJX runs the same
  law), and the law's per-chunk side that ``native_law.CellLaw`` runs on the CPU: the target
  (the chunk's segment midpoint, re-capped to the measured TCP) and the nullspace posture
  torque plus Coriolis compensation on the joint motors, from the state after ``mj_step1``
  of the chunk's first tick, exactly where the CPU path computes them.
- On the host, per env, at the policy rate: the safety filter (``SafetyFilter``, unchanged:
  its ``track`` gives the per-tick setpoints), tasks, resets and observations. The host
  cells' ``MjData`` stay the source of truth: each period uploads their state (qpos, qvel,
  act, ctrl, mocap, warm start) and downloads the new one, then ``mj_forward`` makes the
  host's derived quantities (TCP pose, sensors, contact forces) those of the new state.

Differences from the CPU path: MJX computes in float32 unless jax's x64 mode is on
(``tests/twin/test_mjx_cell.py`` states the measured trajectory difference); the host's
observation is computed from the state after the period, where the CPU path's kinematics lag
one tick; no per-tick hooks (``TwinCell.tick_hook``); a blow-up (non-finite state) is reset on
the host as MuJoCo does, and counted as a bad-qacc warning so ``TwinEnv`` truncates. The watchdog
path (per tick, on the host) is unchanged: such envs are advanced by ``TwinCell.run`` on the
CPU and their row of the device batch is discarded.

jax and mujoco-mjx are optional (``pip install ".[mjx]"``); this module imports them only when
an ``MjxStepper`` is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import mujoco
import numpy as np

from robot_rl.twin.cell import HOME_Q
from robot_rl.twin.native_law import (
    TARGET_POS_BODY,
    TARGET_ROT_BODY,
    chunk_targets,
    track_rows,
)

if TYPE_CHECKING:
    from robot_rl.twin.cell import TwinCell

T = TypeVar("T")
INSTALL_HINT = 'the MJX backend needs jax and mujoco-mjx: pip install ".[mjx]"'
_STATE = ("qpos", "qvel", "act", "ctrl", "mocap_pos", "mocap_quat", "qacc_warmstart")


class MjxUnavailableError(ImportError):
    """jax or mujoco-mjx is not installed; the message says how to install them."""


def import_mjx() -> tuple[Any, Any, Any]:
    """(jax, jax.numpy, mujoco.mjx), or ``MjxUnavailableError`` with a one-line message."""
    try:
        import jax
        import jax.numpy as jnp
        from mujoco import mjx
    except ImportError as exc:
        raise MjxUnavailableError(f"{INSTALL_HINT} ({exc})") from None
    return jax, jnp, mjx


def make_period_fn(
    model: mujoco.MjModel, cell: TwinCell, ticks: int, chunk: int
) -> Callable[..., Any]:
    """The jitted policy period for a batch: ``(data, state..., chunk_pos (N, C, 3),
    chunk_quat (N, C, 4), cap_m) -> data`` after ``ticks`` ticks, the law's target and motor
    torques refreshed at the first tick of every chunk of ``chunk`` ticks. The model is closed
    over (a jit argument would be hashed on every call: PLATFORM.md); one compile per
    (N, ticks, chunk)."""
    jax, jnp, mjx = import_mjx()
    mx = mjx.put_model(model)
    cfg = cell.cfg.impedance
    site = cell.tcp_site
    site_body = int(model.site_bodyid[site])
    pos_id = int(model.body(TARGET_POS_BODY).mocapid[0])
    rot_id = int(model.body(TARGET_ROT_BODY).mocapid[0])
    k_ns, d_ns = cfg.nullspace_stiffness, cfg.nullspace_damping_value()
    lim, coriolis = cfg.nullspace_max_tau_nm, cfg.use_coriolis_compensation
    reg = cfg.nullspace_regularization
    posture = jnp.asarray(HOME_Q)
    integrator = mujoco.mjtIntegrator(model.opt.integrator)
    integrate = {
        mujoco.mjtIntegrator.mjINT_EULER: mjx.euler,
        mujoco.mjtIntegrator.mjINT_IMPLICITFAST: mjx.implicit,
    }.get(integrator)
    if integrate is None:
        raise ValueError(f"the MJX cell integrates with euler or implicitfast, not {integrator}")

    def step1(d: Any) -> Any:  # mj_step1: position and velocity stages
        d = mjx.fwd_position(mx, d)
        d = mjx.sensor_pos(mx, d)
        d = mjx.fwd_velocity(mx, d)
        return mjx.sensor_vel(mx, d)

    def step2(d: Any) -> Any:  # mj_step2: actuation, acceleration, constraints, integration
        d = mjx.fwd_actuation(mx, d)
        d = mjx.fwd_acceleration(mx, d)
        d = mjx.solve(mx, d)  # the cell's scenes always have contact candidates (the table)
        d = mjx.sensor_acc(mx, d)
        return integrate(mx, d)

    def law(d: Any, pos: Any, quat: Any, cap_m: Any) -> Any:
        """native_law.CellLaw.update on a post-step1 state (same formula, in jax)."""
        xpos = d.site_xpos[site]
        err = pos - xpos
        dist = jnp.linalg.norm(err)
        err = err * jnp.where(dist > cap_m, cap_m / jnp.maximum(dist, 1e-12), 1.0)
        q7, qd7 = d.qpos[:7], d.qvel[:7]
        if k_ns > 0.0:
            jacp, jacr = mjx.jac(mx, d, xpos, site_body)  # (nv, 3) each
            jac = jnp.concatenate([jacp.T, jacr.T])[:, :7]  # other dofs do not move the TCP
            v = k_ns * (posture - q7) - d_ns * qd7
            jjt = jac @ jac.T + reg * jnp.eye(6)
            x = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(jjt), jac @ v)
            tau = jnp.clip(v - jac.T @ x, -lim, lim)
        else:
            tau = jnp.zeros(7, d.qpos.dtype)
        if coriolis:
            tau = tau + d.qfrc_bias[:7] - d.qfrc_gravcomp[:7]
        return d.replace(
            ctrl=d.ctrl.at[:7].set(tau.astype(d.ctrl.dtype)),
            mocap_pos=d.mocap_pos.at[pos_id].set((xpos + err).astype(d.mocap_pos.dtype)),
            mocap_quat=d.mocap_quat.at[rot_id].set(quat.astype(d.mocap_quat.dtype)),
        )

    def period(d: Any, chunk_pos: Any, chunk_quat: Any, cap_m: Any) -> Any:
        def tick(i: Any, d_in: Any) -> Any:
            d = step1(d_in)
            c = i // chunk
            # The predicate is the same for every env, so under vmap this stays a branch.
            d = jax.lax.cond(
                i % chunk == 0,
                lambda d: law(d, chunk_pos[c], chunk_quat[c], cap_m),
                lambda d: d,
                d,
            )
            out = step2(d)
            # Under jax's x64 mode MJX returns some int32 index fields as int64; a loop carry
            # must keep its types.
            return jax.tree_util.tree_map(lambda new, old: new.astype(old.dtype), out, d_in)

        return jax.lax.fori_loop(0, ticks, tick, d)

    batched = jax.vmap(period, in_axes=(0, 0, 0, None))

    def run(d: Any, *args: Any) -> Any:
        state, (chunk_pos, chunk_quat, cap_m) = args[: len(_STATE)], args[len(_STATE) :]
        d = d.replace(
            **{k: v.astype(getattr(d, k).dtype) for k, v in zip(_STATE, state, strict=True)}
        )
        return batched(d, chunk_pos, chunk_quat, cap_m)

    return jax.jit(run)


class MjxStepper:
    """Advances N native-law cells together on MJX (see the module docstring); the API of
    ``native_law.ChunkStepper``. The cells must share one scene and config, built with
    ``CellConfig(collision="mjx")``. ``run_track`` blocks until the device is done and the
    host cells hold the new state. The first period of a given length compiles (minutes on
    a small CPU; set ``JAX_COMPILATION_CACHE_DIR`` to keep it across processes)."""

    threads = 1  # one batched device call; ChunkStepper's thread groups do not apply

    def __init__(self, cells: Sequence[TwinCell]) -> None:
        if not cells:
            raise ValueError("MjxStepper needs at least one cell")
        first = cells[0]
        if any(c.cfg != first.cfg or c.scene_xml != first.scene_xml for c in cells):
            raise ValueError("the cells of an MjxStepper need one scene and one CellConfig")
        if first.cfg.law != "native":
            raise ValueError("the MJX cell runs the native law: CellConfig(law='native')")
        if first.cfg.collision != "mjx":
            raise ValueError("the MJX cell needs CellConfig(collision='mjx') (MJX's shapes)")
        self.jax, self.jnp, self.mjx = import_mjx()
        self.cells = list(cells)
        self.chunk = first.cfg.chunk_ticks
        self.model = first.model
        self._index = {id(c): i for i, c in enumerate(self.cells)}
        self._fns: dict[int, Callable[..., Any]] = {}
        one = self.mjx.put_data(self.model, first.data)
        n = len(self.cells)
        self._data = self.jax.tree_util.tree_map(lambda x: self.jnp.repeat(x[None], n, axis=0), one)
        self._badqacc = mujoco.mjtWarning.mjWARN_BADQACC

    def close(self) -> None:
        self._fns.clear()

    def parallel(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``jobs`` one after the other on the calling thread (ChunkStepper's API)."""
        return [job() for job in jobs]

    def run_track(
        self,
        pos: np.ndarray,
        quat: np.ndarray,
        max_error_pos_m: float,
        active: Sequence[int] | None = None,
    ) -> None:
        """Advance the cells (all, or those indexed by ``active``) by T ticks along their own
        per-tick targets ``pos`` (N, T, 3), ``quat`` (N, T, 4), as
        ``ChunkStepper.run_track``. The whole batch runs on the device; only the active rows
        are written back."""
        index = track_rows(len(self.cells), pos, quat, active)
        if any(self.cells[i].tick_hook is not None for i in index):
            raise ValueError("per-tick hooks need the CPU cell (native_law.ChunkStepper)")
        ticks = pos.shape[1]
        if ticks == 0:
            return
        _, _, cpos, cquat = chunk_targets(pos, quat, self.chunk)
        n = len(self.cells)
        all_pos = np.empty((n, *cpos.shape[1:]))
        all_quat = np.empty((n, *cquat.shape[1:]))
        # Rows of cells that are not advanced hold their current target (discarded anyway).
        for i, c in enumerate(self.cells):
            law = c.native_law()
            all_pos[i], all_quat[i] = law.target_pos, law.target_quat
        all_pos[index], all_quat[index] = cpos, cquat
        fn = self.period_fn(ticks)
        state = [np.stack([getattr(c.data, k) for c in self.cells]) for k in _STATE]
        self._data = fn(self._data, *state, all_pos, all_quat, max_error_pos_m)
        out = {k: np.asarray(getattr(self._data, k)) for k in _STATE}
        for i in index:
            self._write_back(self.cells[i], {k: v[i] for k, v in out.items()}, ticks)

    def period_fn(self, ticks: int) -> Callable[..., Any]:
        """The jitted period of ``ticks`` ticks for this batch (``make_period_fn``), built on
        first use; its first call compiles."""
        fn = self._fns.get(ticks)
        if fn is None:
            fn = self._fns[ticks] = make_period_fn(self.model, self.cells[0], ticks, self.chunk)
        return fn

    @property
    def device_data(self) -> Any:
        """The batch's ``mjx.Data`` after the last period (device-resident)."""
        return self._data

    def track_group(
        self, cells: list[TwinCell], pos: np.ndarray, quat: np.ndarray, max_error_pos_m: float
    ) -> None:
        """``run_track`` for the given cells (a subset of this stepper's, in any order)."""
        self.run_track(pos, quat, max_error_pos_m, [self._index[id(c)] for c in cells])

    def _write_back(self, cell: TwinCell, state: dict[str, np.ndarray], ticks: int) -> None:
        m, d = self.model, cell.data
        if all(np.isfinite(v).all() for v in state.values()):
            for k, v in state.items():
                getattr(d, k)[:] = v
            for _ in range(ticks):  # the same float64 sum as mj_step's, tick by tick
                d.time += m.opt.timestep
        else:  # MuJoCo's answer to a blow-up: reset the data, count a warning
            counts = [int(w.number) for w in d.warning]
            mujoco.mj_resetData(m, d)
            for w, number in zip(d.warning, counts, strict=True):
                w.number = number
            d.warning[self._badqacc].number += 1
        cell.ticks += ticks
        mujoco.mj_forward(m, d)
