"""Where each arbitrated step goes, and with which reward, per learning mode.

- ``hil_serl``: every step to the online buffer with the task reward; human steps also to
  the demo buffer (the RLPD 50/50 sampler then draws them as demos).
- ``rlif``: no task reward. At an intervention's onset the action the policy proposed
  there, and that the operator refused, is stored as a terminal transition with reward
  ``rlif_penalty`` (-1); every executed step goes to the online buffer with reward 0.
  With ``rlif_human_demos`` the human's steps are also copied to the demo buffer (still
  reward 0), so the 50/50 sampler and the learner's BC term use them.
- ``bc``: human-gated DAgger. Only the human's steps are kept, in the demo buffer.
- ``dagger``: every step with an expert label (``label_action``) goes to the demo buffer
  with that label; human steps without a label keep the human's action.

Handover steps (a blend of human and policy) are executed actions like any other, so the
RL modes store them online; they are never demos. Stored actions are always in the
policy's action frame (``Decision.stored_action``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from robot_rl.hil.arbiter import Decision, Source
from robot_rl.loop.types import Buffer, Transition

if TYPE_CHECKING:  # at run time any sink with ReplayBuffer.add will do (no torch import)
    from robot_rl.agents.replay import ReplayBuffer

RouteMode = Literal["hil_serl", "rlif", "bc", "dagger"]
ROUTE_MODES: tuple[RouteMode, ...] = ("hil_serl", "rlif", "bc", "dagger")


@dataclass
class RouterConfig:
    """Learning mode and its reward settings."""

    # hil_serl, rlif, bc or dagger (module docstring).
    mode: RouteMode = "hil_serl"
    # RLIF reward of the refused policy action at an intervention's onset.
    rlif_penalty: float = -1.0
    # RLIF: also copy the human's steps into the demo buffer (reward 0, no task reward).
    rlif_human_demos: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ROUTE_MODES:
            raise ValueError(f"unknown routing mode {self.mode!r}; known: {ROUTE_MODES}")


def route(
    cfg: RouterConfig,
    step: Transition,
    decision: Decision,
    label_action: np.ndarray | None = None,
) -> list[Transition]:
    """The transitions one env step produces under ``cfg.mode`` (pure; nothing stored).
    ``step`` is the executed step as the actor numbers it; each output keeps its bookkeeping
    (actor, episode, step, stamp) and names its ``buffer``. Its action becomes the
    decision's stored action (the policy's action frame) and ``intervened`` the decision's
    source."""
    human = decision.source is Source.HUMAN
    act = np.asarray(decision.stored_action, np.float32)
    done = replace(step, action=act, intervened=human, buffer="online")

    def to(buffer: Buffer, **changes: Any) -> Transition:
        return replace(done, buffer=buffer, **changes)

    if cfg.mode == "hil_serl":
        return [done, to("demo")] if human else [done]
    if cfg.mode == "rlif":
        out = []
        if decision.onset:
            # Terminal: the refused action was never executed, so it has no next state.
            refused = np.asarray(decision.policy_action, np.float32)
            penalty = {"reward": cfg.rlif_penalty, "next_obs": step.obs, "terminated": True}
            out.append(to("online", action=refused, truncated=False, intervened=False, **penalty))
        out.append(to("online", reward=0.0))
        if human and cfg.rlif_human_demos:
            out.append(to("demo", reward=0.0))
        return out
    if cfg.mode == "bc":
        return [to("demo")] if human else []
    if label_action is not None:
        return [to("demo", action=np.asarray(label_action, np.float32))]
    return [to("demo")] if human else []


class Router:
    """Applies `route` and writes into the online and demo sinks (either may be None when
    the mode never uses it; a mode that needs a missing sink raises at construction)."""

    def __init__(
        self, cfg: RouterConfig, online: ReplayBuffer | None, demo: ReplayBuffer | None
    ) -> None:
        if cfg.mode in ("hil_serl", "rlif") and online is None:
            raise ValueError(f"mode {cfg.mode!r} needs an online buffer")
        rlif_demos = cfg.mode == "rlif" and cfg.rlif_human_demos
        if (cfg.mode in ("hil_serl", "bc", "dagger") or rlif_demos) and demo is None:
            raise ValueError(f"mode {cfg.mode!r} needs a demo buffer")
        self.cfg, self.online, self.demo = cfg, online, demo

    def record(
        self, step: Transition, decision: Decision, label_action: np.ndarray | None = None
    ) -> list[Transition]:
        """Route one env step and store it; returns what was stored."""
        routed = route(self.cfg, step, decision, label_action)
        for t in routed:
            sink = self.online if t.buffer == "online" else self.demo
            assert sink is not None
            sink.add(t.obs, t.action, t.reward, t.next_obs, t.terminated, t.truncated, t.intervened)
        return routed
