"""The learner's checkpoint: one atomic folder, the same layout for every link.

    <run>/checkpoint/             the current one:
        agent.pt                  full agent state (networks, optimisers, statistics)
        replay/                   online buffer (robot_rl.agents.replay_io)
        demo/                     demo buffer, when it holds anything
        state.json                counters: env_steps, num_updates, version, highest seq per
                                  actor, log segment, and whatever the driver adds
        config.json               the TrainConfig the run was trained with
    <run>/checkpoint.tmp-<pid>/   being written
    <run>/checkpoint.prev/        only during the swap

A new checkpoint is written beside the old one and fsynced, then swapped in by renames. A
crash at any point leaves the old or the new one loadable, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.replay_io import load_replay, save_replay
from robot_rl.agents.types import ObsSpec
from robot_rl.configio import ConfigError

NAME = "checkpoint"


@dataclass
class Checkpoint:
    """What `load` returns."""

    path: Path
    agent_state: dict[str, Any]
    online: ReplayBuffer
    demo: ReplayBuffer | None
    state: dict[str, Any]
    config: dict[str, Any]


def _fsync_tree(path: Path) -> None:
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _recover(run_dir: Path) -> None:
    """Finish a swap a crash interrupted: a lone ``.prev`` is the good one."""
    path, prev = run_dir / NAME, run_dir / f"{NAME}.prev"
    if prev.exists():
        if (path / "state.json").is_file():
            shutil.rmtree(prev)
        else:
            shutil.rmtree(path, ignore_errors=True)
            prev.rename(path)


def save(
    run_dir: str | Path,
    agent_state: dict[str, Any],
    online: ReplayBuffer,
    demo: ReplayBuffer | None,
    state: dict[str, Any],
    config: dict[str, Any],
) -> Path:
    """Write a checkpoint and swap it in atomically (blocks on I/O). Returns its path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _recover(run_dir)
    path, prev = run_dir / NAME, run_dir / f"{NAME}.prev"
    tmp = run_dir / f"{NAME}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save(agent_state, tmp / "agent.pt")
    save_replay(online, tmp / "replay")
    if demo is not None and demo.num_transitions:
        save_replay(demo, tmp / "demo")
    (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    (tmp / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True))
    _fsync_tree(tmp)
    if path.exists():
        path.rename(prev)
    tmp.rename(path)
    shutil.rmtree(prev, ignore_errors=True)
    return path


def latest(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    for name in (NAME, f"{NAME}.prev"):
        path = Path(run_dir) / name
        if (path / "state.json").is_file():
            return path
    return None


def read_state(path: Path) -> dict[str, Any]:
    """The counters of a checkpoint folder."""
    data: dict[str, Any] = json.loads((path / "state.json").read_text())
    return data


def load(run_dir: str | Path) -> Checkpoint | None:
    """The newest checkpoint of ``run_dir``, or None when it has none."""
    path = latest(run_dir)
    if path is None:
        return None
    state = read_state(path)
    agent_state = torch.load(path / "agent.pt", map_location="cpu", weights_only=False)
    online = load_replay(path / "replay")
    if online.num_transitions != int(state.get("online_transitions", online.num_transitions)):
        raise RuntimeError(
            f"{path}: replay holds {online.num_transitions} transitions, "
            f"checkpoint says {state['online_transitions']}"
        )
    demo = load_replay(path / "demo") if (path / "demo").exists() else None
    config_path = path / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    return Checkpoint(path, agent_state, online, demo, state, config)


def _spec_of(state: dict[str, Any]) -> ObsSpec:
    raw = state["obs_spec"]
    return ObsSpec(int(raw["state_dim"]), tuple(raw["cameras"]), tuple(raw["image_shape"]))


def check_prior(run_dir: str | Path, spec: ObsSpec, action_dim: int) -> Path:
    """The checkpoint folder of pre-trained run ``run_dir`` (``init_from``) after checking
    that it has one with this observation spec and action size (reads state.json only).
    Raises a one-line ConfigError otherwise."""
    path = latest(run_dir)
    if path is None:
        raise ConfigError(f"init_from: {str(run_dir)!r} is no run folder with a checkpoint")
    try:
        state = read_state(path)
        prior, prior_actions = _spec_of(state), int(state["action_dim"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"init_from: {path}: unreadable state.json ({exc!r})") from None
    if prior != spec or prior_actions != action_dim:
        raise ConfigError(
            f"init_from: {run_dir} was trained on observations {tuple(prior)} / action "
            f"{prior_actions}, this run has {tuple(spec)} / {action_dim}"
        )
    return path


def load_policy(run_dir: str | Path, device: str = "cpu") -> tuple[Any, Any]:
    """(TrainConfig, SACAgent with the checkpoint's weights) of a run folder, from either
    link, without loading its replay. Raises FileNotFoundError when there is none."""
    from robot_rl.agents.sac import SACAgent
    from robot_rl.train.config import from_dict

    path = latest(run_dir)
    if path is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint (is it a run folder?)")
    state = read_state(path)
    cfg = from_dict(json.loads((path / "config.json").read_text()))
    spec = _spec_of(state)
    agent = SACAgent(cfg.sac, spec, int(state["action_dim"]), device)
    agent.load_state_dict(torch.load(path / "agent.pt", map_location=device, weights_only=False))
    return cfg, agent
