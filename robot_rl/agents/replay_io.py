"""Save and load a ReplayBuffer so that a learner resumes with its replay.

A save writes a fresh folder next to the target and swaps it in by renames, so a crash
at any point leaves either the old or the new copy loadable (never a torn mix):

    <path>.tmp-<pid>  being written   ->  <path>  current  ->  <path>.prev  during the swap
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.types import ObsSpec

REPLAY_FORMAT = 1


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _file_name(array_name: str) -> str:
    return array_name.replace("/", "__") + ".npy"


def save_replay(buffer: ReplayBuffer, path: str | Path) -> None:
    """Write the filled part of ``buffer`` to folder ``path`` atomically (blocks; I/O bound)."""
    path = Path(path)
    prev = path.with_name(path.name + ".prev")
    if prev.exists():
        if path.exists():
            shutil.rmtree(prev)
        else:  # a crash during the last swap: the previous copy is the good one
            prev.rename(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    meta = buffer.cursor_state()
    filled = int(meta["filled"])
    for name, arr in buffer.arrays().items():
        np.save(tmp / _file_name(name), arr[:filled])
        _fsync_file(tmp / _file_name(name))
    meta.update(
        format=REPLAY_FORMAT,
        capacity=buffer.capacity,
        action_dim=buffer.action_dim,
        spec={
            "state_dim": buffer.spec.state_dim,
            "cameras": list(buffer.spec.cameras),
            "image_shape": list(buffer.spec.image_shape),
        },
    )
    (tmp / "meta.json").write_text(json.dumps(meta))
    _fsync_file(tmp / "meta.json")
    if path.exists():
        path.rename(prev)
    tmp.rename(path)
    shutil.rmtree(prev, ignore_errors=True)


def load_replay(path: str | Path) -> ReplayBuffer:
    """Rebuild a buffer saved by save_replay (falls back to ``.prev`` after a torn swap)."""
    path = Path(path)
    prev = path.with_name(path.name + ".prev")
    if not path.exists() and prev.exists():
        path = prev
    meta = json.loads((path / "meta.json").read_text())
    if meta.get("format") != REPLAY_FORMAT:
        raise ValueError(f"replay format {meta.get('format')}, expected {REPLAY_FORMAT}")
    s = meta["spec"]
    spec = ObsSpec(int(s["state_dim"]), tuple(s["cameras"]), tuple(s["image_shape"]))
    buffer = ReplayBuffer(int(meta["capacity"]), spec, int(meta["action_dim"]))
    filled = int(meta["filled"])
    for name, arr in buffer.arrays().items():
        arr[:filled] = np.load(path / _file_name(name), mmap_mode="r")
    buffer.restore_cursor_state(meta)
    return buffer
