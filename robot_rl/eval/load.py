"""The one place that knows how a run folder and its checkpoint are laid out.

Everything else in robot_rl/eval takes a policy callable and an env factory, so when the
checkpoint layout changes only ``load_policy`` changes.
"""

from __future__ import annotations

import dataclasses
import json
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


def load_policy(
    run_dir: Path, task: str | None = None, obs: str | None = None, image_size: int | None = None
) -> LoadedPolicy:
    """Load the newest complete checkpoint of ``run_dir``.

    Two layouts are read today: a ``robot-rl train`` run (config.json, checkpoint/ with
    agent.pt and state.json, or checkpoint.prev/) and a graph learner's folder
    (checkpoint/ with agent.pt and meta.json, no config.json: ``task`` and ``obs`` then say
    which env it acts in). Raises RunDirError with a one-line reason.
    """
    import torch

    from robot_rl.agents.config import config_from_dict
    from robot_rl.agents.sac import SACAgent
    from robot_rl.agents.types import obs_spec_from_space
    from robot_rl.train import checkpoint
    from robot_rl.train.config import default_config, from_dict
    from robot_rl.train.run import _hil, make_env

    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run folder")
    folder = checkpoint.latest(run_dir)
    graph = folder is None and (run_dir / "checkpoint" / "meta.json").is_file()
    if graph:
        folder = run_dir / "checkpoint"
    if folder is None or not (folder / "agent.pt").is_file():
        raise RunDirError(f"{run_dir}: no complete checkpoint (checkpoint/agent.pt + state.json)")
    try:
        state: dict[str, Any] = torch.load(
            folder / "agent.pt", map_location="cpu", weights_only=False
        )
    except Exception as e:  # a truncated or foreign file: say which
        raise RunDirError(f"{folder / 'agent.pt'}: unreadable ({type(e).__name__}: {e})") from e
    if graph:
        if task is None or obs is None:
            raise RunDirError(f"{run_dir}: a graph learner checkpoint; pass --task and --obs")
        cfg = dataclasses.replace(default_config(task, obs), sac=config_from_dict(state["config"]))
        env_steps = int(json.loads((folder / "meta.json").read_text()).get("env_steps", -1))
    else:
        cfg_path = (
            folder / "config.json"
            if (folder / "config.json").is_file()
            else run_dir / "config.json"
        )
        if not cfg_path.is_file():
            raise RunDirError(f"{run_dir}: no config.json")
        cfg = from_dict(json.loads(cfg_path.read_text()))
        env_steps = int(checkpoint.read_state(folder).get("env_steps", -1))
    if image_size is not None:
        cfg = dataclasses.replace(cfg, image_size=image_size)

    def new_env() -> TwinEnv:
        return make_env(cfg, learned_reward=False)

    probe = new_env()
    spec = obs_spec_from_space(probe.observation_space)
    probe.close()
    agent = SACAgent(cfg.sac, spec, action_dim=7)
    try:
        agent.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RunDirError(
            f"{folder}: weights do not fit the {cfg.task}/{cfg.obs} agent: {first}"
        ) from e

    def policy(o: dict[str, Any]) -> Any:
        return agent.act(o, deterministic=True)

    def operator(env: TwinEnv) -> tuple[HilSession, SimulatedOperator]:
        hil = _hil(cfg, env)
        assert hil is not None
        return hil

    return LoadedPolicy(
        cfg, policy, new_env, operator if cfg.hil != "off" else None, folder, env_steps
    )
