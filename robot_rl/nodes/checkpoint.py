"""The learner's checkpoint folder: agent state, replay and bookkeeping, swapped in whole.

    <dir>/checkpoint/      agent.pt, replay/, meta.json, [demo/]   (the current one)
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
    directory: str | Path,
    agent_state: dict[str, Any],
    replay: ReplayBuffer,
    meta: dict[str, Any],
    demo: ReplayBuffer | None = None,
) -> Path:
    """Write a checkpoint (the demo buffer too, when given and not empty) and swap it in
    atomically (blocks on I/O). Returns its path."""
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
    if demo is not None and demo.num_transitions:
        save_replay(demo, tmp / "demo")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    for name in ("agent.pt", "meta.json"):
        with open(tmp / name, "rb") as f:
            os.fsync(f.fileno())
    if path.exists():
        path.rename(prev)
    tmp.rename(path)
    shutil.rmtree(prev, ignore_errors=True)
    return path


def _current(directory: Path) -> Path | None:
    path, prev = directory / NAME, directory / f"{NAME}.prev"
    if not path.exists() and prev.exists():
        path = prev
    return path if (path / "meta.json").exists() else None


def load_checkpoint(
    directory: str | Path,
) -> tuple[dict[str, Any], ReplayBuffer, dict[str, Any]] | None:
    """(agent state, replay, meta) of the newest checkpoint, or None if there is none."""
    path = _current(Path(directory))
    if path is None:
        return None
    meta = json.loads((path / "meta.json").read_text())
    agent_state = torch.load(path / "agent.pt", map_location="cpu", weights_only=False)
    return agent_state, load_replay(path / "replay"), meta


def load_demo_replay(directory: str | Path) -> ReplayBuffer | None:
    """The demo buffer of the newest checkpoint, or None if it has none."""
    path = _current(Path(directory))
    if path is None or not (path / "demo").exists():
        return None
    return load_replay(path / "demo")
