"""Recording teleoperated demos in the twin into a zarr `EpisodeStore`.

The operator drives every step (all steps are flagged ``intervened``); actions are
stored in the policy's action frame, exactly as executed through the env's safety
filter. An episode is kept when the task succeeds or the operator presses SUCCESS;
FAILURE (or the time limit) discards it unless ``keep_failures``; RESET discards it and
starts over. A lost device aborts the open episode and ends the recording.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.recorder import EpisodeRecorder
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.command import command_twist, has_button
from robot_rl.hil.commanders import Commander
from robot_rl.hil.deadband import apply_deadband
from robot_rl.hil.mapping import TeleopMapping
from robot_rl.hil.session import TCP_QUAT_SLICE
from robot_rl.spec import ACTION_DIM

log = logging.getLogger(__name__)


@dataclass
class RecordConfig:
    """What to record."""

    # Episodes to keep.
    episodes: int = 10
    # Seed of the first episode (the next attempts count up).
    seed: int = 0
    # Stop after this many attempts (None: 3 x episodes).
    max_attempts: int | None = None
    # Also keep episodes that failed (their metadata says so).
    keep_failures: bool = False
    # Pace steps at the env's control rate (wall clock): needed when a person drives.
    realtime: bool = False
    # Deadband on the device twist (normalised units).
    deadband: float = 0.08


@dataclass(frozen=True)
class RecordedAttempt:
    """One attempt: stored at ``index`` (None if discarded)."""

    index: int | None
    seed: int
    steps: int
    success: bool
    reason: str  # success, operator_success, failure, time_limit, reset, device_lost


def _outcome(cmd: TeleopCommand | None, success: bool, truncated: bool) -> str:
    if cmd is None:
        return "device_lost"
    if success:
        return "success"
    if has_button(cmd, TeleopCommand.BUTTON_RESET):
        return "reset"
    if has_button(cmd, TeleopCommand.BUTTON_SUCCESS):
        return "operator_success"
    if has_button(cmd, TeleopCommand.BUTTON_FAILURE):
        return "failure"
    return "time_limit" if truncated else ""


def record_demos(
    env: TwinEnv,
    commander: Commander,
    mapping: TeleopMapping,
    store: EpisodeStore,
    cfg: RecordConfig,
    source: str,
    viewer: Callable[[dict[str, Any]], None] | None = None,
) -> list[RecordedAttempt]:
    """Record until ``cfg.episodes`` are kept, attempts run out or the device is lost.
    ``source`` names the device in each episode's metadata. Blocks for the whole session
    (paced at the control rate when ``cfg.realtime``)."""
    attempts: list[RecordedAttempt] = []
    kept = 0
    max_attempts = cfg.max_attempts if cfg.max_attempts is not None else 3 * cfg.episodes
    period_s = 1.0 / env.cfg.control_hz
    rec = EpisodeRecorder(env, store, {"source": source, "task": env.cfg.task})
    while kept < cfg.episodes and len(attempts) < max_attempts:
        seed = cfg.seed + len(attempts)
        obs = rec.reset(seed)
        commander.reset()
        reason, next_tick = "", time.monotonic()
        hold = np.zeros(ACTION_DIM)
        while not reason:
            if viewer is not None:
                viewer(obs)
            cmd = commander.command(hold, float(env.cell.data.time))
            if cmd is None:
                reason = "device_lost"
                break
            twist = apply_deadband(command_twist(cmd), cfg.deadband)
            tcp_quat = np.asarray(obs["state"], np.float64)[TCP_QUAT_SLICE]
            action = mapping.to_action(twist, float(cmd.gripper), tcp_quat)
            obs, _, _, truncated, info = rec.step(action, intervened=True)
            reason = _outcome(cmd, bool(info["success"]), truncated)
            if cfg.realtime:
                next_tick += period_s
                time.sleep(max(0.0, next_tick - time.monotonic()))
        good = reason in ("success", "operator_success")
        index: int | None = None
        steps = rec.steps
        if steps > 0 and (good or (cfg.keep_failures and reason in ("failure", "time_limit"))):
            index = rec.commit(success=good, end=reason)
            kept += 1
        else:
            rec.discard()
        attempts.append(RecordedAttempt(index, seed, steps, good, reason))
        log.info("attempt %d (seed %d): %s after %d steps", len(attempts), seed, reason, steps)
        if reason == "device_lost":
            break
    return attempts
