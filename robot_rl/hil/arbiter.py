"""Who drives the arm this step: the policy, the human, or a blend while handing back.

Call once per policy step (the actor loop, single-threaded)::

    decision = arbiter.step(policy_action, latest_command, now_s, tcp_quat_wxyz)
    env.step(decision.action)          # always through the env's safety filter
    router.record(step, decision)      # decision.stored_action goes to the buffers

States: POLICY -> HUMAN when the operator engages (intervene button, or motion past
``engage_threshold``); HUMAN -> HANDOVER once nothing has engaged for ``release_hold_s``
(hysteresis in time, plus the lower ``release_threshold`` on motion); HANDOVER -> POLICY
after ``handover_s`` of linear blending from the human's last command to the policy.
Engaging during the handover returns control to the human at once, as the same
intervention. A lost device (no command, stale stamp, wrong frame, non-finite values)
during HUMAN freezes the motion, keeps the gripper, hands back through the same blend and
reports it in ``Decision.event`` and the log. Times are seconds on the caller's clock,
which must be the clock the commands are stamped with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.command import TELEOP_FRAME, command_stamp_s, command_twist, has_button
from robot_rl.hil.deadband import apply_deadband
from robot_rl.hil.mapping import MappingConfig, TeleopMapping

log = logging.getLogger(__name__)


class Source(str, Enum):
    """Who produced the executed action."""

    POLICY = "policy"
    HUMAN = "human"
    HANDOVER = "handover"  # a blend from the human's last command to the policy


@dataclass
class ArbiterConfig:
    """Arbitration thresholds (normalised device units) and times (s)."""

    # Per-axis deadband on the device twist; rest jitter inside it is exactly zero.
    deadband: float = 0.08
    # What takes over: the intervene button, motion past engage_threshold, or either.
    engage: Literal["button", "motion", "either"] = "either"
    # Largest |twist| axis that takes control from the policy (or from a handover).
    engage_threshold: float = 0.2
    # While the human drives, motion above this still counts as holding on (hysteresis).
    release_threshold: float = 0.1
    # The human keeps control this long after letting go (s); the arm holds meanwhile.
    release_hold_s: float = 0.3
    # Length of the blend from the human's last command back to the policy (s).
    handover_s: float = 0.5
    # A command older than this means the device is lost (s).
    stale_after_s: float = 0.25
    # "hold": at takeover the gripper keeps the policy's last command until the device's
    # gripper value changes (sticky keyboard/gamepad/SpaceMouse state must not open a
    # closed gripper); "device": the device's value applies at once (simulated operator).
    gripper_takeover: Literal["hold", "device"] = "hold"
    # A change of the device's gripper value this large engages, unless engage="button".
    gripper_change: float = 0.5
    # The only frame id accepted; commands in another frame are refused, never guessed.
    frame_id: str = TELEOP_FRAME
    # Benchmarks only: store the human's action in a wrong frame while executing the right
    # one. "inverse" uses R^T instead of R, "device" stores the raw device-frame twist.
    stored_frame_bug: Literal["none", "inverse", "device"] = "none"
    # Device twist -> action mapping (frame, gains).
    mapping: MappingConfig = field(default_factory=MappingConfig)

    def __post_init__(self) -> None:
        if not self.deadband < self.engage_threshold:
            raise ValueError("deadband must be below engage_threshold (jitter must not engage)")
        if not 0.0 <= self.release_threshold <= self.engage_threshold:
            raise ValueError("release_threshold must be in [0, engage_threshold]")
        if self.release_hold_s < 0 or self.handover_s < 0 or self.stale_after_s <= 0:
            raise ValueError("release_hold_s, handover_s must be >= 0; stale_after_s > 0")


@dataclass(frozen=True)
class Decision:
    """The outcome of one arbitration step; all actions (7,) in the policy's action frame."""

    action: np.ndarray  # executed action, in [-1, 1]
    stored_action: np.ndarray  # what replay receives; equals action unless a bug is injected
    policy_action: np.ndarray  # what the policy proposed this step
    source: Source
    onset: bool  # first step of a new intervention
    released: bool  # the human let go (or was lost) this step; the handover starts
    event: str  # "" or a notice for the log/GUI (device lost, re-engaged, ...)
    device_ok: bool  # a fresh, valid command was available
    device_lost: bool = False  # the device went from healthy to lost this step

    @property
    def intervened(self) -> bool:
        """The human drove this step."""
        return self.source is Source.HUMAN


class Arbiter:
    """The per-step arbitration state machine (module docstring). Not thread-safe."""

    def __init__(self, cfg: ArbiterConfig, mapping: TeleopMapping) -> None:
        self.cfg, self.mapping = cfg, mapping
        self._device_ok = False
        self.reset()

    @classmethod
    def for_env(cls, cfg: ArbiterConfig, env: Any) -> Arbiter:
        """An arbiter using a TwinEnv's action scales and rotation mask."""
        tc = env.task.cfg
        mapping = TeleopMapping(
            cfg.mapping, tc.action_scale_pos_m, tc.action_scale_rot_rad, tuple(tc.rot_axes)
        )
        return cls(cfg, mapping)

    @property
    def source(self) -> Source:
        """Who drives now."""
        return self._source

    def reset(self) -> None:
        """Start of an episode: the policy drives. The device's health is kept."""
        self._source = Source.POLICY
        self._last_engaged_s = -np.inf
        self._t0_s = 0.0
        self._from = np.zeros(7)
        self._from_stored = np.zeros(7)
        self._last_exec: np.ndarray | None = None
        self._last_human = np.zeros(7)
        self._last_human_stored = np.zeros(7)
        self._gripper = 1.0
        self._gripper_ref = 0.0
        self._gripper_follow = False
        self._prev_dev_gripper: float | None = None

    # --- checks -------------------------------------------------------------------------

    def _problem(self, cmd: TeleopCommand | None, now_s: float) -> str:
        if cmd is None:
            return "no command received"
        if cmd.header.frame_id != self.cfg.frame_id:
            return f"command in frame {cmd.header.frame_id!r}, expected {self.cfg.frame_id!r}"
        age_s = now_s - command_stamp_s(cmd)
        if abs(age_s) > self.cfg.stale_after_s:
            return f"command is {age_s:.3f} s old (limit {self.cfg.stale_after_s} s)"
        if not (np.all(np.isfinite(command_twist(cmd))) and np.isfinite(cmd.gripper)):
            return "non-finite command"
        return ""

    def _engaged(self, cmd: TeleopCommand, raw: np.ndarray, holding: bool) -> bool:
        mode = self.cfg.engage
        if mode in ("button", "either") and has_button(cmd, TeleopCommand.BUTTON_INTERVENE):
            return True
        if mode == "button":
            return False
        limit = self.cfg.release_threshold if holding else self.cfg.engage_threshold
        if float(np.max(np.abs(raw))) > limit:
            return True
        prev = self._prev_dev_gripper
        return prev is not None and abs(float(cmd.gripper) - prev) >= self.cfg.gripper_change

    # --- actions ------------------------------------------------------------------------

    def _human_gripper(self, cmd: TeleopCommand) -> float:
        dev = float(cmd.gripper)
        if self.cfg.gripper_takeover == "device" or self._gripper_follow:
            self._gripper = dev
        elif abs(dev - self._gripper_ref) > 1e-6:
            self._gripper_follow = True  # the operator moved the gripper control: follow it
            self._gripper = dev
        return self._gripper

    def _human_actions(self, cmd: TeleopCommand, tcp_quat: np.ndarray) -> tuple[np.ndarray, ...]:
        shaped = apply_deadband(command_twist(cmd), self.cfg.deadband)
        grip = self._human_gripper(cmd)
        executed = self.mapping.to_action(shaped, grip, tcp_quat)
        bug = self.cfg.stored_frame_bug
        if bug == "none":
            stored = executed
        elif bug == "inverse":
            stored = self.mapping.to_action_in(shaped, grip, self.mapping.rotation(tcp_quat).T)
        else:
            stored = self.mapping.to_action_in(shaped, grip, np.eye(3))
        self._last_human, self._last_human_stored = executed, stored
        return executed, stored

    def _start_intervention(self, cmd: TeleopCommand, policy: np.ndarray) -> None:
        self._source = Source.HUMAN
        last = self._last_exec if self._last_exec is not None else policy
        self._gripper = float(last[6])
        self._gripper_ref = float(cmd.gripper)
        self._gripper_follow = False

    def _start_handover(self, now_s: float, frm: np.ndarray, frm_stored: np.ndarray) -> None:
        self._source = Source.HANDOVER
        self._t0_s, self._from, self._from_stored = now_s, frm.copy(), frm_stored.copy()

    # --- the step -----------------------------------------------------------------------

    def step(
        self,
        policy_action: np.ndarray,
        command: TeleopCommand | None,
        now_s: float,
        tcp_quat_wxyz: np.ndarray,
    ) -> Decision:
        """Decide this step's action. ``command`` is the latest device command (or None),
        ``now_s`` the current time (s), ``tcp_quat_wxyz`` the measured TCP orientation."""
        policy = np.asarray(policy_action, dtype=np.float64).reshape(7)
        problem = self._problem(command, now_s)
        ok = problem == ""
        events: list[str] = []
        lost = self._device_ok and not ok
        if lost:
            events.append(f"teleop device lost: {problem}")
        self._device_ok = ok
        onset = released = False
        src = self._source
        action = stored = policy.copy()

        if src is Source.HUMAN:
            if not ok:
                hold = np.concatenate([np.zeros(6), [self._gripper]])
                self._start_handover(now_s, hold, hold)
                released = True
                events.append(
                    f"intervention ended because the device was lost; holding still and "
                    f"handing back to the policy over {self.cfg.handover_s} s"
                )
            else:
                assert command is not None
                engaged = self._engaged(command, command_twist(command), holding=True)
                if engaged:
                    self._last_engaged_s = now_s
                if not engaged and now_s - self._last_engaged_s >= self.cfg.release_hold_s:
                    self._start_handover(now_s, self._last_human, self._last_human_stored)
                    released = True
                else:
                    action, stored = self._human_actions(command, tcp_quat_wxyz)
        elif ok:
            assert command is not None
            if self._engaged(command, command_twist(command), holding=False):
                if src is Source.HANDOVER:
                    events.append("operator re-engaged during the handover: same intervention")
                else:
                    onset = True
                    self._start_intervention(command, policy)
                self._source = Source.HUMAN
                self._last_engaged_s = now_s
                action, stored = self._human_actions(command, tcp_quat_wxyz)

        if self._source is Source.HANDOVER:
            span = self.cfg.handover_s
            alpha = 1.0 if span <= 0 else (now_s - self._t0_s) / span
            if alpha >= 1.0:
                self._source = Source.POLICY
            else:
                action = (1.0 - alpha) * self._from + alpha * policy
                stored = (1.0 - alpha) * self._from_stored + alpha * policy
        if self._source is Source.POLICY:
            action = stored = policy.copy()

        if ok:
            assert command is not None
            self._prev_dev_gripper = float(command.gripper)
        self._last_exec = action
        event = "; ".join(events)
        if event:
            log.warning("%s", event)
        return Decision(
            action=action,
            stored_action=stored,
            policy_action=policy,
            source=self._source,
            onset=onset,
            released=released,
            event=event,
            device_ok=ok,
            device_lost=lost,
        )
