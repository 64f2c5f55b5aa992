"""The learner's checkpoint folder: agent state, replay and bookkeeping, swapped in whole.

    <dir>/checkpoint/      agent.pt, replay/, meta.json   (the current one)
    <dir>/checkpoint.tmp-<pid>/                           (being written)
    <dir>/checkpoint.prev/                                (only during the swap)

A crash at any point leaves the old or the new checkpoint loadable, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.replay_io import load_replay, save_replay

NAME = "checkpoint"


def save_checkpoint(
    directory: str | Path, agent_state: dict[str, Any], replay: ReplayBuffer, meta: dict[str, Any]
) -> Path:
    """Write a checkpoint and swap it in atomically (blocks on I/O). Returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path, prev = directory / NAME, directory / f"{NAME}.prev"
    if prev.exists():
        if path.exists():
            shutil.rmtree(prev)
        else:  # a crash during the last swap: the previous one is the good one
            prev.rename(path)
    tmp = directory / f"{NAME}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save(agent_state, tmp / "agent.pt")
    save_replay(replay, tmp / "replay")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    for name in ("agent.pt", "meta.json"):
        with open(tmp / name, "rb") as f:
            os.fsync(f.fileno())
    if path.exists():
        path.rename(prev)
    tmp.rename(path)
    shutil.rmtree(prev, ignore_errors=True)
    return path


def load_checkpoint(
    directory: str | Path,
) -> tuple[dict[str, Any], ReplayBuffer, dict[str, Any]] | None:
    """(agent state, replay, meta) of the newest checkpoint, or None if there is none."""
    directory = Path(directory)
    path, prev = directory / NAME, directory / f"{NAME}.prev"
    if not path.exists() and prev.exists():
        path = prev
    if not (path / "meta.json").exists():
        return None
    meta = json.loads((path / "meta.json").read_text())
    agent_state = torch.load(path / "agent.pt", map_location="cpu", weights_only=False)
    return agent_state, load_replay(path / "replay"), meta
