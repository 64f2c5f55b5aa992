"""The twin cell: a MuJoCo scene with the arm under a 1 kHz Cartesian impedance loop.

``TwinCell`` plays the part of the robot driver, its real-time controller and the physical
world. It knows nothing about tasks or policies: it takes a target pose per tick (from the
safety filter) and a gripper opening, and it reports what a real cell's sensors would.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np

from robot_rl.calibration.frames import optical_to_mujoco_quat
from robot_rl.cameras.base import Intrinsics
from robot_rl.control.impedance import ImpedanceConfig, ImpedanceLaw
from robot_rl.control.safety import Pose
from robot_rl.twin.assets import CellCalibration, load_calibration
from robot_rl.twin.native_law import (
    CellLaw,
    ChunkStepper,
    add_impedance_actuators,
    mjx_collision_shapes,
)
from robot_rl.twin.variants import get_variant

_BLOWUP_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
    mujoco.mjtWarning.mjWARN_BADQACC,
)
_BLOWUP_SLOTS = [int(w) for w in _BLOWUP_WARNINGS]

# No dof of the cell moves faster than this (m/s, rad/s) unless the solver blew up: MuJoCo
# itself resets only at 1e10, after a body ejected from a wedged grasp flew about for a
# while (a cube at 50 km/s and 400 m away, in the observations). See `TwinCell.screen`.
MAX_PLAUSIBLE_SPEED = 100.0

ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
# A comfortable "gripper down over the table" posture, also the nullspace posture.
HOME_Q = np.array([0.0, 0.2, 0.0, -2.2, 0.0, 2.4, 0.785398])
GRIPPER_MAX_OPENING_M = 0.08

# Per-tick target provider: (time s, measured TCP pose) -> target TCP pose.
SetpointFn = Callable[[float, Pose], Pose]
# Called after every tick with the cell (tests that check each 1 kHz tick); slows stepping.
TickHook = Callable[["TwinCell"], None]


@dataclass
class CellConfig:
    """How the twin cell is built."""

    # Calibration YAML (camera poses/intrinsics, workspace); None = the packaged default cell.
    calibration: str | None = None
    # Rendered image size (height, width) in pixels; the calibrated intrinsics are rescaled.
    image_size: tuple[int, int] = (128, 128)
    # Cameras to build from the calibration file.
    cameras: tuple[str, ...] = ("front", "wrist")
    # Impedance gains and limits of the 1 kHz law.
    impedance: ImpedanceConfig = field(default_factory=ImpedanceConfig)
    # "native": the Cartesian spring/damper run inside MuJoCo's step (robot_rl/twin/native_law.py);
    # "python": the per-tick reference law (robot_rl.control.impedance), about 3x slower.
    law: Literal["native", "python"] = "native"
    # Native law: targets, posture and Coriolis torques are updated every chunk of N ticks.
    chunk_ticks: int = 10
    # Named cell variant (robot_rl.twin.variants): "nominal" or a shifted "real" cell.
    variant: str = "nominal"
    # Refresh the nullspace pseudo-inverse every N ticks (1 = every tick, like the robot's
    # controller); 10 keeps the posture term within the Python loop's budget.
    nullspace_refresh_ticks: int = 10
    # Collision shapes: "exact" (the scene as authored) or "mjx" (shapes MJX cannot collide
    # replaced by ones it can: native_law.mjx_collision_shapes; the MJX cell's scene).
    collision: Literal["exact", "mjx"] = "exact"

    def __post_init__(self) -> None:
        if self.law not in ("native", "python"):
            raise ValueError(f"CellConfig.law must be 'native' or 'python', got {self.law!r}")
        if self.chunk_ticks < 1:
            raise ValueError(f"CellConfig.chunk_ticks must be >= 1, got {self.chunk_ticks}")
        if self.collision not in ("exact", "mjx"):
            raise ValueError(f"CellConfig.collision: 'exact' or 'mjx', not {self.collision!r}")
        get_variant(self.variant)  # unknown names fail here, listing the registered ones


def principal_pixel_offset(k: Intrinsics) -> list[float]:
    """MuJoCo's ``principal_pixel`` for OpenCV/ROS intrinsics ``k`` (pixel centres at integer
    coordinates). Measured on rendered ChArUco views: MuJoCo shifts the image centre AGAINST
    the offset, and its centre lies half a pixel from OpenCV's (w/2 - 0.5)."""
    return [k.width / 2.0 - 0.5 - k.cx, k.height / 2.0 - 0.5 - k.cy]


class TwinCell:
    """MuJoCo model + data + impedance loop for one scene file (a task's MJCF)."""

    def __init__(
        self,
        scene_xml: str | Path,
        cfg: CellConfig | None = None,
        model: mujoco.MjModel | None = None,
    ) -> None:
        """Build the scene; ``model`` (compiled by another TwinCell with the same scene and
        config) is shared instead of compiling again: batched cells keep one model."""
        cfg = cfg if cfg is not None else CellConfig()
        self.variant = get_variant(cfg.variant)
        self.cfg = replace(cfg, impedance=self.variant.impedance(cfg.impedance))
        if self.cfg.impedance.use_gravity_compensation:
            raise ValueError(
                "the twin arm compensates gravity in firmware (like a Franka); "
                "ImpedanceConfig.use_gravity_compensation=True would count gravity twice"
            )
        self.scene_xml = Path(scene_xml)
        self.calibration: CellCalibration = load_calibration(self.cfg.calibration)
        if model is None:
            spec = mujoco.MjSpec.from_file(str(scene_xml))
            self._add_cameras(spec)
            if self.cfg.law == "native":
                add_impedance_actuators(spec, self.cfg.impedance)
            if self.cfg.collision == "mjx":
                mjx_collision_shapes(spec)
            model = spec.compile()
            self.variant.apply_to_model(model)
        self.model = model
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.dt = float(m.opt.timestep)
        self.arm_qpos_adr = np.array([m.joint(j).qposadr[0] for j in ARM_JOINTS])
        self.arm_dof_adr = np.array([m.joint(j).dofadr[0] for j in ARM_JOINTS])
        if not np.array_equal(self.arm_dof_adr, np.arange(7)):
            raise ValueError("the arm's joints must be the first 7 dofs of the scene")
        self.tcp_site = m.site("tcp").id
        self.screened = 0  # implausible states reset by `screen`
        self._mujoco_resets = 0  # MuJoCo's own blowup resets, counted by `screen`
        self.gripper_actuator = m.actuator("gripper").id
        self.arm_actuators = np.array([m.actuator(j).id for j in ARM_JOINTS])
        self.opening_sensor = m.sensor("gripper_opening").adr[0]
        tau_limit = m.actuator_ctrlrange[self.arm_actuators, 1].copy()
        self.law = ImpedanceLaw(
            self.cfg.impedance, tau_limit, HOME_Q, self.cfg.nullspace_refresh_ticks
        )
        self._jac = np.zeros((6, m.nv))
        self._jac_arm = self._jac[:, :7]
        self._quat = np.zeros(4)
        self._qerr = np.zeros(4)
        self._qconj = np.zeros(4)
        self._error = np.zeros(6)
        # Views into MjData's fixed buffers, taken once: slicing them every tick costs more
        # than the arithmetic done with them.
        d, s = self.data, self.tcp_site
        self._xpos, self._xmat = d.site_xpos[s], d.site_xmat[s]
        self._q7, self._qd7, self._ctrl7 = d.qpos[:7], d.qvel[:7], d.ctrl[:7]
        self._grav7, self._bias7 = d.qfrc_gravcomp[:7], d.qfrc_bias[:7]
        self._jacp, self._jacr = self._jac[:3], self._jac[3:]
        self._err_pos, self._err_rot = self._error[:3], self._error[3:]
        self._coriolis = np.zeros(7)
        self.tick_hook: TickHook | None = None
        self._last_target = (np.zeros(3), np.array([1.0, 0.0, 0.0, 0.0]))
        self._stepper: ChunkStepper | None = None
        self._native: CellLaw | None = None
        if self.cfg.law == "native":
            self._native = CellLaw(m, d, self.cfg.impedance, HOME_Q, self.tcp_site)
        self._renderer: mujoco.Renderer | None = None
        self.camera_ids = {name: m.camera(name).id for name in self.cfg.cameras}
        self.ticks = 0

    # ----------------------------------------------------------------------------- building
    def _add_cameras(self, spec: mujoco.MjSpec) -> None:
        for name in self.cfg.cameras:
            if name not in self.calibration.cameras:
                raise ValueError(
                    f"camera {name!r} not in calibration {self.calibration.source} "
                    f"(has {sorted(self.calibration.cameras)})"
                )
            cal = self.calibration.cameras[name]
            parent = spec.worldbody if cal.parent == "world" else spec.body(cal.parent)
            if parent is None:
                raise ValueError(f"camera {name!r}: parent body {cal.parent!r} not in the scene")
            cam = parent.add_camera()
            cam.name = name
            cam.pos, cam.quat = self.variant.camera_pose(
                np.asarray(cal.pos_m), optical_to_mujoco_quat(cal.quat_wxyz)
            )
            # Full pinhole intrinsics at the native resolution. Rendering at another size
            # rescales x and y independently, exactly like resizing the real image.
            k = cal.intrinsics
            cam.resolution = [k.width, k.height]
            cam.sensor_size = [k.width * 1e-6, k.height * 1e-6]  # 1 um "pixels"
            cam.focal_pixel = [k.fx, k.fy]
            cam.principal_pixel = principal_pixel_offset(k)

    # ----------------------------------------------------------------------------- state
    def tcp_pose(self) -> Pose:
        """Measured TCP pose in the base frame."""
        d = self.data
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, d.site_xmat[self.tcp_site])
        return Pose(d.site_xpos[self.tcp_site].copy(), quat)

    def tcp_velocity(self) -> np.ndarray:
        """(6,) TCP linear (m/s) and angular (rad/s) velocity in the base frame."""
        mujoco.mj_jacSite(self.model, self.data, self._jac[:3], self._jac[3:], self.tcp_site)
        return self._jac @ self.data.qvel

    def gripper_opening(self) -> float:
        """Measured distance between the finger pads (m)."""
        return float(self.data.sensordata[self.opening_sensor])

    def external_wrench(self) -> np.ndarray:
        """(6,) estimate of the wrench the environment applies at the TCP (N, Nm; base frame).

        Like a Franka's estimate, it comes from joint-space residual torques (here the
        constraint forces on the arm's joints) mapped through the Jacobian pseudo-inverse."""
        mujoco.mj_jacSite(self.model, self.data, self._jac[:3], self._jac[3:], self.tcp_site)
        jac = self._jac[:, :7]
        tau_ext = self.data.qfrc_constraint[:7]
        return np.linalg.lstsq(jac.T, tau_ext, rcond=1e-3)[0]

    def arm_q(self) -> np.ndarray:
        return self.data.qpos[self.arm_qpos_adr].copy()

    def blowups(self) -> int:
        """How often the physics went unstable (NaN or huge qpos, qvel or qacc) since the cell
        was built. MuJoCo then resets the data to the model's defaults (time 0, arm at its
        zero pose) and carries on, so a caller that stepped across a change of this count
        holds a state that does not follow from the previous one. Counts the implausible
        states that `screen` reset the same way."""
        return self.screened + self._mujoco_resets + self._unscreened_resets()

    def _unscreened_resets(self) -> int:
        counts = self.data.warning.number.tolist()  # one array: 15x cheaper than per warning
        return sum(counts[w] for w in _BLOWUP_WARNINGS)

    def screen(self) -> bool:
        """After a blowup, put the cell where a reset can start from; True if there was one.

        MuJoCo's own resets are counted here: each one clears all warning counters before
        it raises its own, so its counters alone would show a second blowup of a kind as no
        change. A dof faster than ``MAX_PLAUSIBLE_SPEED`` (or not finite) resets the data
        as MuJoCo's own blowup reset does (model defaults). After either reset the arm is
        placed at rest in its home posture, gripper open: the model's zero pose is outside
        the arm's joint limits, and a reset node driving the arm home through the
        controller from there does not arrive. Callers run it after advancing, before they
        observe."""
        d = self.data
        unscreened = self._unscreened_resets()
        if unscreened:
            self._mujoco_resets += unscreened
            d.warning.number[_BLOWUP_SLOTS] = 0
        if not float(np.abs(d.qvel).max()) <= MAX_PLAUSIBLE_SPEED:  # NaN compares False
            counts = d.warning.number.copy()
            mujoco.mj_resetData(self.model, d)
            d.warning.number[:] = counts
            self.screened += 1
        elif not unscreened:
            return False
        self.reset_arm(HOME_Q, GRIPPER_MAX_OPENING_M)
        mujoco.mj_forward(self.model, d)
        return True

    # ----------------------------------------------------------------------------- control
    def set_gripper(self, opening_m: float) -> None:
        """Command the gripper opening (m); non-blocking, clipped to [0, 0.08]."""
        if not np.isfinite(opening_m):
            raise ValueError(f"gripper opening must be finite, got {opening_m}")
        self.data.ctrl[self.gripper_actuator] = min(max(opening_m, 0.0), GRIPPER_MAX_OPENING_M)

    def run(self, n_ticks: int, setpoint: SetpointFn) -> None:
        """Advance ``n_ticks`` physics/controller ticks (1 kHz), asking ``setpoint`` each tick
        with the sim time and the measured TCP pose (general path: watchdog, tests)."""
        d, site = self.data, self.tcp_site
        for _ in range(n_ticks):
            mujoco.mj_step1(self.model, d)
            mujoco.mju_mat2Quat(self._quat, d.site_xmat[site])
            target = setpoint(d.time, Pose(d.site_xpos[site].copy(), self._quat.copy()))
            if self._native is not None:
                self._native.set_target(target.pos, target.quat, None)
                if self.ticks % self.cfg.chunk_ticks == 0:
                    self._native.torques(self._native.ctrl7)
                mujoco.mj_step2(self.model, d)
                self.ticks += 1
                if self.tick_hook is not None:
                    self.tick_hook(self)
            else:
                self._control_and_step2(target.pos, target.quat)

    def run_track(self, pos: np.ndarray, quat: np.ndarray, max_error_pos_m: float) -> None:
        """Advance ``len(pos)`` ticks following precomputed per-tick targets (fast path).

        ``pos`` (N, 3) and ``quat`` (N, 4) are the safety filter's interpolated setpoints for
        the coming ticks. As the filter does per tick, the translational target is re-capped to
        ``max_error_pos_m`` from the measured TCP, so nothing winds up in contact (the native
        law re-caps once per chunk: ``native_law.ChunkStepper.run_track``)."""
        if self.cfg.law == "native":
            if self._stepper is None:
                self._stepper = ChunkStepper([self])
            self._stepper.run_track(pos[None], quat[None], max_error_pos_m)
            return
        m, d, xpos, xmat, q = self.model, self.data, self._xpos, self._xmat, self._quat
        capped = np.empty(3)
        for k in range(pos.shape[0]):
            mujoco.mj_step1(m, d)
            mujoco.mju_mat2Quat(q, xmat)
            np.subtract(pos[k], xpos, out=capped)
            dist = math.sqrt(capped @ capped)
            if dist > max_error_pos_m:
                capped *= max_error_pos_m / dist
            capped += xpos
            self._control_and_step2(capped, quat[k])

    def native_law(self) -> CellLaw:
        """The native law's per-chunk side (``native_law.CellLaw``); ``law='native'`` only."""
        if self._native is None:
            raise ValueError("this cell runs the python reference law (CellConfig.law)")
        return self._native

    def controller_target(self) -> Pose:
        """The target pose the law used at the last tick (what reached the controller)."""
        if self._native is not None:
            return Pose(self._native.target_pos.copy(), self._native.target_quat.copy())
        return Pose(self._last_target[0].copy(), self._last_target[1].copy())

    def _control_and_step2(self, target_pos: np.ndarray, target_quat: np.ndarray) -> None:
        """Reference law for the current (post-``mj_step1``) state, then finish the step.
        Expects ``self._quat`` to hold the measured TCP orientation."""
        m, d, qerr = self.model, self.data, self._qerr
        self._last_target = (target_pos, target_quat)
        np.subtract(target_pos, self._xpos, out=self._err_pos)
        mujoco.mju_negQuat(self._qconj, self._quat)
        mujoco.mju_mulQuat(qerr, target_quat, self._qconj)
        if qerr[0] < 0.0:  # q and -q: take the short way round
            qerr *= -1.0
        mujoco.mju_quat2Vel(self._err_rot, qerr, 1.0)
        mujoco.mj_jacSite(m, d, self._jacp, self._jacr, self.tcp_site)
        np.subtract(self._bias7, self._grav7, out=self._coriolis)
        self._ctrl7[:] = self.law.torque(
            self._error, self._jac_arm, self._q7, self._qd7, self._grav7, self._coriolis
        )
        mujoco.mj_step2(m, d)
        self.ticks += 1
        if self.tick_hook is not None:
            self.tick_hook(self)

    # ----------------------------------------------------------------------------- reset
    def solve_ik(
        self, target: Pose, q_init: np.ndarray | None = None, iters: int = 200
    ) -> np.ndarray:
        """Arm joint angles putting the TCP at ``target`` (damped least squares, joint limits
        respected). Raises ``RuntimeError`` if the pose is not reached within 1 mm / 0.01 rad."""
        m = self.model
        d = mujoco.MjData(m)
        d.qpos[:] = self.data.qpos
        q = np.array(HOME_Q if q_init is None else q_init, dtype=float)
        lo, hi = m.jnt_range[:7, 0], m.jnt_range[:7, 1]
        jac = np.zeros((6, m.nv))
        quat, qerr, qconj, rv = np.zeros(4), np.zeros(4), np.zeros(4), np.zeros(3)
        e = np.zeros(6)
        for _ in range(iters):
            d.qpos[self.arm_qpos_adr] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            mujoco.mju_mat2Quat(quat, d.site_xmat[self.tcp_site])
            e[:3] = target.pos - d.site_xpos[self.tcp_site]
            mujoco.mju_negQuat(qconj, quat)
            mujoco.mju_mulQuat(qerr, target.quat, qconj)
            mujoco.mju_quat2Vel(rv, qerr if qerr[0] >= 0 else -qerr, 1.0)
            e[3:] = rv
            if np.linalg.norm(e[:3]) < 1e-4 and np.linalg.norm(e[3:]) < 1e-3:
                return q
            mujoco.mj_jacSite(m, d, jac[:3], jac[3:], self.tcp_site)
            j = jac[:, :7]
            dq = j.T @ np.linalg.solve(j @ j.T + 1e-4 * np.eye(6), e)
            # Pull gently towards the home posture in the nullspace to stay away from limits.
            null = np.eye(7) - np.linalg.pinv(j) @ j
            dq += null @ (0.1 * (HOME_Q - q))
            q = np.clip(q + dq, lo + 1e-3, hi - 1e-3)
        if np.linalg.norm(e[:3]) > 1e-3 or np.linalg.norm(e[3:]) > 1e-2:
            raise RuntimeError(f"IK did not converge for {target} (residual {e})")
        return q

    def place_fingers(self, opening_m: float) -> None:
        """Teleport the fingers to ``opening_m`` at rest and command it (twin only): a reset
        that puts an object in hand starts from the opening the object needs, not from
        wherever the last command left the fingers."""
        self.set_gripper(opening_m)
        half = float(self.data.ctrl[self.gripper_actuator]) / 2.0
        for name in ("finger_left", "finger_right"):
            joint = self.model.joint(name)
            self.data.qpos[joint.qposadr[0]] = half
            self.data.qvel[joint.dofadr[0]] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def reset_arm(self, q: np.ndarray, gripper_opening_m: float) -> None:
        """Teleport the arm to ``q`` at rest (twin only) and reset the law's torque history."""
        d = self.data
        d.qpos[self.arm_qpos_adr] = q
        d.qvel[:] = 0.0
        d.qacc[:] = 0.0
        d.ctrl[:] = 0.0
        self.place_fingers(gripper_opening_m)
        # Start the rate limiter from the torque that holds the arm still (the bias forces).
        self.law.reset(d.qfrc_bias[:7] - d.qfrc_gravcomp[:7])
        if self._native is not None:  # the springs start relaxed, at the measured pose
            pose = self.tcp_pose()
            self._native.update(pose.pos, pose.quat, None)
            mujoco.mj_forward(self.model, d)

    # ----------------------------------------------------------------------------- render
    def render(self, camera: str) -> np.ndarray:
        """uint8 (H, W, 3) RGB image from ``camera`` at the configured size."""
        if self._renderer is None:
            h, w = self.cfg.image_size
            try:
                self._renderer = mujoco.Renderer(self.model, height=h, width=w)
            except mujoco.FatalError as exc:
                raise RuntimeError(
                    f"MuJoCo could not create an offscreen GL context (MUJOCO_GL="
                    f"{os.environ.get('MUJOCO_GL')!r}). Headless: install libegl1 + "
                    "libgl1-mesa-dri and set MUJOCO_GL=egl before anything imports mujoco "
                    "(importing robot_rl first does this)."
                ) from exc
            opt = self._renderer.scene.flags
            # Shadows/reflections/skybox cost ~8x on llvmpipe for little information.
            opt[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            opt[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            opt[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
        self._renderer.update_scene(self.data, camera=self.camera_ids[camera])
        return self._renderer.render()

    def close(self) -> None:
        if self._stepper is not None:
            self._stepper.close()
            self._stepper = None
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
