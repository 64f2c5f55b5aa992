"""A simulated operator for the twin: the task's scripted expert, driving a teleop device.

It watches the policy like a person would and takes over when the policy is stuck (the
task's shaping term has not improved for a while) or about to leave the workspace box.
After a reaction delay it holds the intervene button and steers with the expert's
actions, converted into its own teleop frame, so its commands take the same path as a
real device's: the arbiter's deadband, frame transform and storage. It lets go after
``takeover_steps``. It reads privileged twin state, so it exists only in the twin.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.command import TELEOP_FRAME, make_command
from robot_rl.hil.deadband import invert_deadband
from robot_rl.hil.mapping import TeleopMapping


@dataclass
class SimOperatorConfig:
    """When and how the simulated operator intervenes."""

    # Time from deciding to intervene to taking control (s); rounded to policy steps.
    reaction_delay_s: float = 0.3
    # Std of Gaussian noise added to the expert's action while in control (action units).
    action_noise_std: float = 0.0
    # Policy steps over which the shaping term must improve, or the policy counts as stuck.
    stuck_window_steps: int = 15
    # Improvement of the task's shaping term (in [-1, 0]) that counts as progress.
    stuck_min_progress: float = 0.02
    # Take over when the policy's commanded motion, extrapolated lookahead_steps ahead,
    # comes within bounds_margin_m (m) of a workspace face while heading out.
    bounds_margin_m: float = 0.03
    lookahead_steps: float = 3.0
    # Also watch the floor face (off by default: grasping needs the TCP near the table).
    check_floor: bool = False
    # Policy steps the operator keeps control once it has it.
    takeover_steps: int = 20
    # Policy steps after letting go before it judges the policy again.
    cooldown_steps: int = 10
    # At most this many takeovers per episode (None: no limit).
    max_interventions: int | None = None
    # The deadband the operator pushes through (set it to the arbiter's deadband).
    deadband: float = 0.08
    # Seed of the action noise.
    seed: int = 0
    # Take control at the first step and never let go (demo recording by the expert).
    always_in_control: bool = False
    # TwinRL's targeted rollouts: attend only episodes reset to one of these seeds (the
    # failure configurations a twin search found); empty: every episode.
    attend_seeds: tuple[int, ...] = ()


class SimulatedOperator:
    """Produces one `TeleopCommand` per policy step (call `command` once per step)."""

    def __init__(self, env: TwinEnv, cfg: SimOperatorConfig, mapping: TeleopMapping) -> None:
        self.env, self.cfg, self.mapping = env, cfg, mapping
        self.delay_steps = max(0, round(cfg.reaction_delay_s * env.cfg.control_hz))
        self.rng = np.random.default_rng(cfg.seed)
        self.expert = env.expert()
        self.shadow = env.expert()  # labels every state for DAgger without disturbing expert
        self.reset()

    def reset(self) -> None:
        """Start of an episode (``command`` also notices a new one by itself)."""
        seed = getattr(self.env, "reset_seed", None)
        self.attending = not self.cfg.attend_seeds or seed in self.cfg.attend_seeds
        self.expert.reset()
        self.shadow.reset()
        self.in_control = False
        self.step_count = 0
        self.control_steps = 0
        self.cooldown_until = 0
        self.due: int | None = None
        self.takeovers = 0
        self.reasons: list[str] = []
        self.gripper = 1.0
        self.last_action = np.zeros(7)
        self.history: deque[float] = deque(maxlen=self.cfg.stuck_window_steps + 1)

    # --- judging the policy -------------------------------------------------------------

    def _heading_out(self, policy_action: np.ndarray) -> bool:
        env = self.env
        tcp = env.cell.data.site_xpos[env.cell.tcp_site]
        move = np.asarray(policy_action[:3], float) * env.task.cfg.action_scale_pos_m
        ahead = tcp + move * self.cfg.lookahead_steps
        lo = np.asarray(env.safety_cfg.workspace_low_m) + self.cfg.bounds_margin_m
        hi = np.asarray(env.safety_cfg.workspace_high_m) - self.cfg.bounds_margin_m
        out = ((ahead < lo) & (move < 0)) | ((ahead > hi) & (move > 0))
        if not self.cfg.check_floor:
            out[2] = bool(ahead[2] > hi[2] and move[2] > 0)
        return bool(out.any())

    def _stuck(self) -> bool:
        h = self.history
        return len(h) == h.maxlen and max(h) - h[0] < self.cfg.stuck_min_progress

    def _trigger(self, policy_action: np.ndarray) -> str:
        if self._heading_out(policy_action):
            return "out_of_bounds"
        return "stuck" if self._stuck() else ""

    # --- the per-step command -----------------------------------------------------------

    def label(self) -> np.ndarray:
        """The expert's action for the current state (action frame); for DAgger labels."""
        return np.asarray(self.shadow.act(self.env.cell), dtype=np.float64)

    def command(self, policy_action: np.ndarray, now_s: float) -> TeleopCommand:
        """This step's device command, stamped ``now_s`` (s), in the teleop frame."""
        cfg = self.cfg
        if self.env.steps == 0 and self.step_count > 0:
            self.reset()  # the env began a new episode: nothing carries over
        self.step_count += 1
        if self.in_control:
            self.control_steps += 1
            if self.control_steps > cfg.takeover_steps and not cfg.always_in_control:
                self.in_control = False
                self.cooldown_until = self.step_count + cfg.cooldown_steps
                self.history.clear()
        if not self.in_control:
            self.history.append(self.env.task.shaping(self.env.cell))
            budget = cfg.max_interventions is None or self.takeovers < cfg.max_interventions
            ready = self.attending and budget and self.step_count >= self.cooldown_until
            if self.due is None and ready:
                reason = "always" if cfg.always_in_control else self._trigger(policy_action)
                if reason:
                    self.due = self.step_count + self.delay_steps
                    self.reasons.append(reason)
            if self.due is not None and self.step_count >= self.due:
                self.in_control, self.control_steps, self.due = True, 0, None
                self.takeovers += 1
                self.expert.reset()
                self.history.clear()
        if not self.in_control:
            return make_command(np.zeros(6), self.gripper, 0, now_s, TELEOP_FRAME)
        a = np.asarray(self.expert.act(self.env.cell), dtype=np.float64)
        if cfg.action_noise_std > 0:
            a[:6] += self.rng.normal(0.0, cfg.action_noise_std, 6)
        a = np.clip(a, -1.0, 1.0)
        self.last_action = a  # what the operator means, in the action frame (for checks)
        twist, self.gripper = self.mapping.from_action(a, self.env.cell.tcp_pose().quat)
        twist = invert_deadband(twist, cfg.deadband)
        return make_command(twist, self.gripper, TeleopCommand.BUTTON_INTERVENE, now_s)
