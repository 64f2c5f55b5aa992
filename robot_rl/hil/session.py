"""The hooks a training loop calls: one arbiter + router + statistics per actor.

Per step::

    d = hil.act(obs, policy_action, command, now_s)    # command: device/operator, or None
    next_obs, r, term, trunc, info = env.step(d.action)
    hil.record(step, d)      # step: the executed env step as a `Transition`; stores into
                             # the online/demo buffers
    # (or hil.route(step, d): the same transitions, not stored, for an actor that ships
    #  them to a learner (robot_rl.loop.actor); each names its buffer)
    if term or trunc:
        log(hil.end_episode())                         # {"hil/interventions": ..., ...}
        hil.reset()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.arbiter import Arbiter, ArbiterConfig, Decision
from robot_rl.hil.routing import Router, RouterConfig, route
from robot_rl.hil.stats import InterventionStats
from robot_rl.loop.types import Transition

if TYPE_CHECKING:
    from robot_rl.agents.replay import ReplayBuffer

# TCP orientation (w, x, y, z) inside obs["state"] (docs/interfaces.md proprioception).
TCP_QUAT_SLICE = slice(3, 7)


@dataclass
class HilConfig:
    """Human-in-the-loop settings of one actor."""

    arbiter: ArbiterConfig = field(default_factory=ArbiterConfig)
    router: RouterConfig = field(default_factory=RouterConfig)


class HilSession:
    """Arbitration, routing and per-episode statistics for one env. Not thread-safe."""

    def __init__(self, cfg: HilConfig, arbiter: Arbiter, router: Router | None) -> None:
        self.cfg, self.arbiter, self.router = cfg, arbiter, router
        self.stats = InterventionStats()

    @classmethod
    def for_env(
        cls,
        cfg: HilConfig,
        env: Any,
        online: ReplayBuffer | None = None,
        demo: ReplayBuffer | None = None,
    ) -> HilSession:
        """A session for a TwinEnv (its action scales and rotation mask). Without sinks it
        can only `route`, not `record`."""
        router = None if online is None and demo is None else Router(cfg.router, online, demo)
        return cls(cfg, Arbiter.for_env(cfg.arbiter, env), router)

    def reset(self) -> None:
        """Start an episode: the policy drives, counters restart."""
        self.arbiter.reset()
        self.stats = InterventionStats()

    def act(
        self,
        obs: Mapping[str, Any],
        policy_action: np.ndarray,
        command: TeleopCommand | None,
        now_s: float,
    ) -> Decision:
        """Arbitrate one step; ``now_s`` on the clock that stamps the commands."""
        tcp_quat = np.asarray(obs["state"], dtype=np.float64)[TCP_QUAT_SLICE]
        d = self.arbiter.step(policy_action, command, now_s, tcp_quat)
        self.stats.update(d)
        return d

    def record(
        self, step: Transition, decision: Decision, label_action: np.ndarray | None = None
    ) -> list[Transition]:
        """Store the step in the buffers the mode selects; returns what was stored."""
        if self.router is None:
            raise RuntimeError("this session has no buffers; use route() instead")
        return self.router.record(step, decision, label_action)

    def route(
        self, step: Transition, decision: Decision, label_action: np.ndarray | None = None
    ) -> list[Transition]:
        """The transitions this step produces, each naming its buffer; nothing stored.
        There can be 0, 1 or 2 per env step (a demo copy, an RLIF penalty), so count env
        steps, not these."""
        return route(self.cfg.router, step, decision, label_action)

    def end_episode(self) -> dict[str, float]:
        """This episode's intervention count and rate, for the logger."""
        return self.stats.as_dict()
