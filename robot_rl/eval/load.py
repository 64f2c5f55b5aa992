"""The one place that knows how a run folder and its checkpoint are laid out.

Everything else in robot_rl/eval takes a policy callable and an env factory, so when the
checkpoint layout changes only ``load_policy`` changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot_rl.envs.rollout import Policy
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.session import HilSession
from robot_rl.hil.sim_operator import SimulatedOperator
from robot_rl.train.config import TrainConfig

OperatorFactory = Callable[[TwinEnv], tuple[HilSession, SimulatedOperator]]


class RunDirError(ValueError):
    """A run folder that cannot be evaluated (missing, incomplete, mismatched); one line."""


@dataclass(frozen=True)
class LoadedPolicy:
    """A checkpoint's deterministic policy and how to build fresh envs for it."""

    config: TrainConfig  # the run's training config (task, obs mode, image size, seed)
    policy: Policy  # observation dict -> action (7,), deterministic
    make_env: Callable[[], TwinEnv]  # a new env scoring success by the twin's predicate
    make_operator: OperatorFactory | None  # the run's simulated operator; None if hil off
    checkpoint: Path  # the checkpoint folder the weights came from
    env_steps: int  # env steps the checkpoint had trained on (-1: not recorded)


def load_policy(run_dir: Path, image_size: int | None = None) -> LoadedPolicy:
    """Load the newest complete checkpoint of ``run_dir``, written by either link (the
    layout is robot_rl.loop.checkpoint's). Raises RunDirError with a one-line reason."""
    from robot_rl.agents.types import obs_spec_from_space
    from robot_rl.loop import checkpoint
    from robot_rl.train.run import _hil, make_env

    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run folder")
    try:
        cfg, agent = checkpoint.load_policy(run_dir)
    except FileNotFoundError:
        raise RunDirError(
            f"{run_dir}: no complete checkpoint (checkpoint/agent.pt + state.json)"
        ) from None
    except (KeyError, RuntimeError, ValueError, OSError, EOFError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RunDirError(f"{run_dir}: unreadable checkpoint ({type(e).__name__}: {first})") from e
    folder = checkpoint.latest(run_dir)
    assert folder is not None
    env_steps = int(checkpoint.read_state(folder).get("env_steps", -1))
    if image_size is not None:
        cfg = dataclasses.replace(cfg, image_size=image_size)

    def new_env() -> TwinEnv:
        return make_env(cfg, learned_reward=False)

    probe = new_env()
    spec = obs_spec_from_space(probe.observation_space)
    probe.close()
    if spec != agent.spec:  # e.g. a task whose object state has changed since the run
        raise RunDirError(
            f"{run_dir}: the checkpoint was trained on observations {tuple(agent.spec)}, "
            f"the env now gives {tuple(spec)}"
        )

    def policy(o: dict[str, Any]) -> Any:
        return agent.act(o, deterministic=True)

    def operator(env: TwinEnv) -> tuple[HilSession, SimulatedOperator]:
        hil = _hil(cfg, env)
        assert hil is not None
        return hil

    return LoadedPolicy(
        cfg, policy, new_env, operator if cfg.hil != "off" else None, folder, env_steps
    )
