"""Gymnasium env over the twin cell: a 10 Hz policy on top of the 1 kHz impedance loop.

Action and observation layouts are specified in ``docs/interfaces.md``. Every action passes
through the safety filter; the filter's interpolated setpoints drive the impedance law.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from robot_rl.control.safety import SafetyConfig, SafetyFilter
from robot_rl.spec import (
    ACTION_DIM,
    ARM_STREAM,
    OBJECT_STREAM,
    PROPRIO_DIM,
    observed_quat,
    reset_rng,
    validate_action,
)
from robot_rl.twin.assets import sim_dir
from robot_rl.twin.cell import GRIPPER_MAX_OPENING_M, CellConfig, TwinCell
from robot_rl.twin.tasks import Task, TaskConfig, make_task


@dataclass
class EnvConfig:
    """Everything that defines a twin env instance."""

    # Registered task name (robot_rl.twin.tasks.TASKS).
    task: str = "pick_cube"
    # "pixels": proprioception + camera images; "state": proprioception + privileged object state.
    obs: Literal["state", "pixels"] = "pixels"
    # Twin cell (cameras, image size, calibration, impedance gains).
    cell: CellConfig = field(default_factory=CellConfig)
    # Task settings; None = the task's own defaults.
    task_cfg: TaskConfig | None = None
    # Policy rate (Hz); the impedance loop always runs at the physics rate (1 kHz).
    control_hz: float = 10.0
    # Safety filter limits; the workspace box is taken from the cell calibration.
    safety: SafetyConfig = field(default_factory=SafetyConfig)


class TwinEnv(gym.Env[dict[str, Any], np.ndarray]):
    """A twin task as a gymnasium env. ``terminated`` only on success, ``truncated`` at the
    time limit or when the physics blew up during the step (MuJoCo then resets its state on
    its own; ``info["sim_blowup"]`` says so and the episode must not go on from there).
    ``step`` never blocks on anything but the simulation itself."""

    metadata = {"render_modes": ["rgb_array"]}  # noqa: RUF012 - gymnasium declares it per instance

    def __init__(self, cfg: EnvConfig | None = None, **overrides: Any) -> None:
        cfg = replace(cfg or EnvConfig(), **overrides)
        if cfg.obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', got {cfg.obs!r}")
        self.cfg = cfg
        self.task: Task = make_task(cfg.task, cfg.task_cfg)
        # Cameras are built in both modes (cheap until rendered): state runs can still
        # render() evaluation videos.
        self.cell = TwinCell(sim_dir() / self.task.scene, cfg.cell)
        cal = self.cell.calibration
        low = list(cal.workspace_low_m)
        if self.task.cfg.workspace_floor_m is not None:
            low[2] = max(low[2], self.task.cfg.workspace_floor_m)
        self.safety_cfg = replace(
            cfg.safety,
            workspace_low_m=(low[0], low[1], low[2]),
            workspace_high_m=cal.workspace_high_m,
            interpolation_period_s=1.0 / cfg.control_hz,
        )
        self.filter = SafetyFilter(self.safety_cfg)
        self.ticks_per_step = round(1.0 / (cfg.control_hz * self.cell.dt))
        self._tick_offsets = np.arange(self.ticks_per_step) * self.cell.dt
        self._rot_mask = np.array(self.task.cfg.rot_axes, dtype=float)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
        self.observation_space = self._make_obs_space()
        self._rng = self._arm_rng = np.random.default_rng()
        self.steps = 0
        self._blowups = 0
        self.reset_seed: int | None = None
        self.last_report: dict[str, Any] = {}

    # ------------------------------------------------------------------------- spaces
    def _make_obs_space(self) -> gym.spaces.Dict:
        state_dim = PROPRIO_DIM
        if self.cfg.obs == "state":
            state_dim += self.task.object_state(self.cell).shape[0]
        spaces: dict[str, gym.Space[Any]] = {
            "state": gym.spaces.Box(-np.inf, np.inf, (state_dim,), np.float32)
        }
        if self.cfg.obs == "pixels":
            h, w = self.cfg.cell.image_size
            spaces["images"] = gym.spaces.Dict(
                {
                    name: gym.spaces.Box(0, 255, (h, w, 3), np.uint8)
                    for name in self.cfg.cell.cameras
                }
            )
        return gym.spaces.Dict(spaces)

    # ------------------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self.reset_seed = seed  # the configuration's seed (None: drawn on from the last one)
        if seed is None:  # go on drawing from the last seed's streams
            self.task.reset(self.cell, self._rng, self._arm_rng)
        else:
            self._rng, self._arm_rng = reset_rng(seed, OBJECT_STREAM), reset_rng(seed, ARM_STREAM)
            self.task.reset(self.cell, self._rng, self._arm_rng)
        # The episode clock starts when the policy takes over (after any settling the task
        # reset ran, e.g. closing the gripper on the peg).
        self.cell.data.time = 0.0
        self.filter.reset(self.cell.tcp_pose(), self.cell.data.time)
        self.steps = 0
        self._blowups = self.cell.blowups()
        return self._observe(), self._info(False, None)

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        now = self.begin_step(action)
        self._advance(now)
        return self.end_step()

    def begin_step(self, action: np.ndarray) -> float:
        """First phase of ``step`` (the safety filter takes the action); returns the sim time.
        ``TwinVectorEnv`` runs this per env, advances all envs together, then ``end_step``."""
        cell = self.cell
        now = cell.data.time
        measured = cell.tcp_pose()
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        problem = validate_action(a)
        if problem:
            # A bad action is never clipped into a motion: the goal stays where it is (the
            # watchdog takes over if bad actions persist) and the reason is reported.
            report = {"accepted": False, "reason": problem}
        else:
            dpos = a[:3] * self.task.cfg.action_scale_pos_m
            drot = a[3:6] * self.task.cfg.action_scale_rot_rad * self._rot_mask
            res = self.filter.command(dpos, drot, now, measured, stamp_s=now)
            report = {"accepted": res.accepted, "reason": res.reason}
            cell.set_gripper((a[6] + 1.0) * 0.5 * GRIPPER_MAX_OPENING_M)
        self.last_report = report
        return now

    def end_step(self) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Last phase of ``step``, after the cell advanced one policy period."""
        self.steps += 1
        self.cell.screen()
        success = self.task.success(self.cell)
        obs, info = self._observe(), self._info(success, self.last_report)
        blowups = self.cell.blowups()
        info["sim_blowup"] = blowups != self._blowups
        if info["sim_blowup"]:  # the state came from MuJoCo's reset: no reward, no success
            self._blowups, info["success"] = blowups, False
            return obs, 0.0, False, True, info
        reward, terminated = self._outcome(obs, success, info)
        truncated = (not terminated) and self.steps >= self.task.cfg.episode_steps
        return obs, reward, terminated, truncated, info

    def _outcome(
        self, obs: dict[str, Any], success: bool, info: dict[str, Any]
    ) -> tuple[float, bool]:
        """(reward, terminated) of a step: the task's, from the privileged ``success``.
        Envs with another reward source (a classifier on the cameras) override this."""
        return self.task.reward(self.cell, success), success

    def _advance(self, now: float) -> None:
        """Run one policy period of the impedance loop on the filter's setpoints."""
        track = self.planned_track(now)
        if track is None:
            self.advance_per_tick()
        else:
            self.cell.run_track(*track, self.safety_cfg.max_target_error_pos_m)

    def planned_track(self, now: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The filter's per-tick targets (T, 3), (T, 4) for the coming policy period, or None
        when the watchdog may trip inside it (then use ``advance_per_tick``)."""
        times = now + self._tick_offsets
        if self.filter.watchdog_tripped or times[-1] - self.filter.last_command_s > (
            self.safety_cfg.watchdog_timeout_s
        ):
            return None
        return self.filter.track(times)

    def advance_per_tick(self) -> None:
        """One policy period asking the filter tick by tick (the watchdog path)."""
        self.cell.run(self.ticks_per_step, self.filter.setpoint)

    def render(self) -> np.ndarray:
        """Side-by-side RGB of all cameras (for videos), in either observation mode."""
        if not self.cfg.cell.cameras:
            raise RuntimeError("render() needs at least one camera in the cell config")
        return np.concatenate([self.cell.render(c) for c in self.cfg.cell.cameras], axis=1)

    def close(self) -> None:
        self.cell.close()

    # ------------------------------------------------------------------------- helpers
    def _observe(self) -> dict[str, Any]:
        state = state_vector(self.cell, self.task if self.cfg.obs == "state" else None)
        if self.cfg.obs == "state":
            return {"state": state}
        images = {name: self.cell.render(name) for name in self.cfg.cell.cameras}
        return {"state": state, "images": images}

    def _info(self, success: bool, report: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "success": success,
            "safety": report or {"accepted": True, "reason": "reset"},
            "t_sim_s": self.cell.data.time,
            "stamp_ns": round(self.cell.data.time * 1e9),
            "privileged": self.task.privileged(self.cell),
        }

    def expert(self) -> Any:
        """A fresh scripted expert for this env's task (privileged; twin only)."""
        return self.task.make_expert()


def state_vector(cell: TwinCell, task: Task | None) -> np.ndarray:
    """float32 ``state`` of a twin observation: proprioception (docs/interfaces.md), then
    ``task``'s privileged object state when a task is given (``obs="state"``). The bus env
    (robot_rl.nodes.observation) assembles the same vector from the twin node's topics."""
    pose = cell.tcp_pose()
    parts: list[Any] = [pose.pos, observed_quat(pose.quat), cell.tcp_velocity()]
    parts.append([cell.gripper_opening()])
    parts.append(cell.external_wrench())
    if task is not None:
        parts.append(task.object_state(cell))
    return np.concatenate(parts).astype(np.float32)
