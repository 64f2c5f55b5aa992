"""The learning settings an actor node and a learner node share: one `TrainConfig`.

They come from the same place as ``robot-rl train``'s: the embedded default of a task and
observation mode (``task``, ``obs``; the twin recipe included), a TrainConfig YAML on top
(``config_file``, the same file ``robot-rl train --config`` takes), then inline YAML
``overrides`` (``"{sac: {batch_size: 16}, random_steps: 8}"``). Actor and learner must be
given the same values, or their networks will not fit each other's weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import ObsSpec
from robot_rl.nodes.observation import ObsConfig
from robot_rl.spec import ACTION_DIM
from robot_rl.train.config import TrainConfig, from_dict, run_config


@dataclass
class PolicyConfig:
    """Where the shared TrainConfig comes from (see the module docstring)."""

    task: str = ""  # a twin task whose embedded default applies ("" = the YAML's or pick_cube)
    obs: str = ""  # "state" or "pixels" ("" = the YAML's or state)
    config_file: str = ""  # a TrainConfig YAML, as `robot-rl train --config` ("" = none)
    overrides: str = ""  # an inline YAML mapping of TrainConfig keys, applied last
    device: str = "cpu"  # torch device ("cpu", "cuda", "cuda:1")


def train_config(cfg: PolicyConfig) -> TrainConfig:
    """The TrainConfig these parameters describe (raises on unknown keys or bad values)."""
    base = run_config(cfg.task or None, cfg.obs or None, cfg.config_file or None)
    extra = yaml.safe_load(cfg.overrides) if cfg.overrides else {}
    if not isinstance(extra, dict):
        raise ValueError(f"policy.overrides must be a YAML mapping, got {cfg.overrides!r}")
    return from_dict(extra, base) if extra else base


def obs_spec(obs: ObsConfig) -> ObsSpec:
    """The replay/agent observation spec of an ObsConfig."""
    return ObsSpec(obs.state_dim, tuple(obs.cameras), (obs.image_height, obs.image_width, 3))


def build_agent(policy: PolicyConfig, obs: ObsConfig) -> SACAgent:
    """A fresh agent (the cell's 7-d actions) for these parameters."""
    return SACAgent(train_config(policy).sac, obs_spec(obs), ACTION_DIM, policy.device)
