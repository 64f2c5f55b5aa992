"""Whole human-in-the-loop episodes in the twin (tests, benchmarks, a simple actor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.arbiter import ArbiterConfig
from robot_rl.hil.commanders import Commander
from robot_rl.hil.frames import FrameConfig
from robot_rl.hil.mapping import MappingConfig
from robot_rl.hil.routing import RouteMode, RouterConfig
from robot_rl.hil.session import HilConfig, HilSession
from robot_rl.hil.sim_operator import SimOperatorConfig, SimulatedOperator
from robot_rl.loop.types import Transition

if TYPE_CHECKING:
    from robot_rl.agents.replay import ReplayBuffer

Policy = Callable[[dict[str, Any]], np.ndarray]


@dataclass
class HilEpisode:
    """Outcome of one episode."""

    success: bool
    steps: int
    ret: float  # sum of the env's task reward
    stats: dict[str, float]  # InterventionStats.as_dict()
    events: list[str] = field(default_factory=list)


def run_hil_episode(
    env: TwinEnv,
    policy: Policy,
    session: HilSession,
    commander: Commander,
    seed: int,
    label: Callable[[], np.ndarray] | None = None,
) -> HilEpisode:
    """One episode from ``env.reset(seed=seed)``: each step the policy proposes, the
    commander gives the teleop command, the session arbitrates, the env (and its safety
    filter) executes, and the session routes the transition. ``label`` (DAgger) is asked
    for an expert action before each step. Commands are stamped in sim time."""
    obs, info = env.reset(seed=seed)
    session.reset()
    commander.reset()
    reset = getattr(policy, "reset", None)
    if reset is not None:
        reset()
    ret, steps, done, success = 0.0, 0, False, False
    while not done:
        proposal = np.asarray(policy(obs), dtype=np.float64)
        now_s = float(env.cell.data.time)
        decision = session.act(obs, proposal, commander.command(proposal, now_s), now_s)
        lbl = label() if label is not None else None
        stamp_ns = info["stamp_ns"]
        next_obs, reward, terminated, truncated, info = env.step(decision.action)
        step = Transition(
            "twin", 0, seed, steps, stamp_ns, obs, decision.action, reward, next_obs,
            terminated, truncated, False, -1,
        )  # fmt: skip
        session.record(step, decision, lbl)
        obs, ret, steps = next_obs, ret + reward, steps + 1
        done, success = terminated or truncated, bool(info["success"])
    return HilEpisode(success, steps, ret, session.end_episode(), list(session.stats.events))


def sim_operator_session(
    env: TwinEnv,
    mode: RouteMode,
    online: ReplayBuffer | None,
    demo: ReplayBuffer | None,
    operator: SimOperatorConfig | None = None,
    frame: FrameConfig | None = None,
    arbiter: ArbiterConfig | None = None,
    router: RouterConfig | None = None,
) -> tuple[HilSession, SimulatedOperator]:
    """A session and a simulated operator that agree on the teleop frame and deadband.

    The operator's gripper value applies at once (``gripper_takeover="device"``): unlike a
    sticky button it always states the gripper it wants.
    """
    op_cfg = operator if operator is not None else SimOperatorConfig()
    base = arbiter if arbiter is not None else ArbiterConfig()
    mapping = MappingConfig(
        frame if frame is not None else FrameConfig(),
        base.mapping.pos_gain,
        base.mapping.rot_gain,
    )
    arb_cfg = replace(base, mapping=mapping, gripper_takeover="device", deadband=op_cfg.deadband)
    route_cfg = replace(router, mode=mode) if router is not None else RouterConfig(mode)
    session = HilSession.for_env(HilConfig(arb_cfg, route_cfg), env, online, demo)
    return session, SimulatedOperator(env, op_cfg, session.arbiter.mapping)
