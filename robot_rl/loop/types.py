"""The records that cross the actor -> learner link, whichever link carries them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Buffer = Literal["online", "demo"]


@dataclass(frozen=True)
class Transition:
    """One stored step. ``seq`` is contiguous per ``actor_id`` (1, 2, 3, ...); the learner
    acknowledges by it. ``(episode_id, step)`` names the env step: a step routed to two
    buffers (robot_rl.hil.routing) gives two transitions with the same pair, and the
    learner counts env steps by the pair, so the replay ratio stays per env step.
    ``stamp_ns`` is the observation's time on the clock of the cell that produced it (sim
    time in the twin, ROS time on a robot)."""

    actor_id: str
    seq: int
    episode_id: int
    step: int
    stamp_ns: int
    obs: dict[str, Any]
    action: np.ndarray  # float32, the policy's normalised [-1, 1] action space
    reward: float
    next_obs: dict[str, Any]
    terminated: bool  # a true terminal: no bootstrap
    truncated: bool  # a time limit or an abort: still bootstraps
    intervened: bool  # the executed action came from a human
    policy_version: int
    buffer: Buffer = "online"


@dataclass
class EpisodeStats:
    """One finished episode, as the actor saw it."""

    index: int
    steps: int
    ret: float
    success: bool
    interventions: int = 0  # human/operator takeovers in the episode
    intervention_steps: int = 0  # steps the human/operator was in control
