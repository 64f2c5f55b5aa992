"""The agent an actor and a learner build identically from the same parameters."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from robot_rl.agents.config import CONFIG_PRESETS, SACConfig, config_from_dict
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import ObsSpec
from robot_rl.envs.twin_env import ACTION_DIM
from robot_rl.nodes.observation import ObsConfig


@dataclass
class PolicyConfig:
    """Agent settings shared by actor and learner (they must agree)."""

    preset: str = "sac"  # "sac" or "rlpd" (robot_rl.agents.config.CONFIG_PRESETS)
    hidden_dims: tuple[int, ...] = (256, 256)  # actor and critic MLP widths
    batch_size: int = 256  # transitions per gradient update
    replay_ratio: float = 1.0  # gradient updates per stored transition
    replay_capacity: int = 200_000  # frames in the learner's replay ring
    seed: int = 0  # seeds network init and sampling
    device: str = "cpu"  # torch device ("cpu", "cuda", "cuda:1")
    # JSON or YAML of a full SACConfig (config_to_dict layout) overriding everything above
    # except device; "" = build from the fields above.
    config_file: str = ""


def sac_config(cfg: PolicyConfig) -> SACConfig:
    """The SACConfig these parameters describe."""
    if cfg.config_file:
        text = Path(cfg.config_file).read_text()
        data = json.loads(text) if cfg.config_file.endswith(".json") else yaml.safe_load(text)
        return config_from_dict(data)
    if cfg.preset not in CONFIG_PRESETS:
        raise ValueError(f"unknown policy preset {cfg.preset!r}; known: {sorted(CONFIG_PRESETS)}")
    base = CONFIG_PRESETS[cfg.preset]()
    return dataclasses.replace(
        base,
        batch_size=cfg.batch_size,
        replay_ratio=cfg.replay_ratio,
        seed=cfg.seed,
        critic=dataclasses.replace(base.critic, hidden_dims=cfg.hidden_dims),
        actor=dataclasses.replace(base.actor, hidden_dims=cfg.hidden_dims),
        replay=dataclasses.replace(base.replay, capacity_frames=cfg.replay_capacity),
    )


def obs_spec(obs: ObsConfig) -> ObsSpec:
    """The replay/agent observation spec of an ObsConfig."""
    return ObsSpec(obs.state_dim, tuple(obs.cameras), (obs.image_height, obs.image_width, 3))


def build_agent(policy: PolicyConfig, obs: ObsConfig) -> SACAgent:
    """A fresh agent (7-d actions) for these parameters."""
    return SACAgent(sac_config(policy), obs_spec(obs), ACTION_DIM, policy.device)
