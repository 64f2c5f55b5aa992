"""Atomic, resumable checkpoints: a folder swapped in by renames, never half-written.

Layout of ``<run>/checkpoint``: agent.pt (full learner state), replay/ (online buffer),
state.json (counters, eval history), config.json (the TrainConfig).
A new checkpoint is written to ``checkpoint.tmp`` and fsynced, the old one is renamed to
``checkpoint.prev``, the new one into place, then the old one is deleted. A crash at any
point leaves ``checkpoint`` or ``checkpoint.prev`` complete; ``load`` takes whichever exists.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


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


def save(run_dir: Path, write: Callable[[Path], None], state: dict[str, Any]) -> Path:
    """Write a checkpoint: ``write(folder)`` fills the folder, ``state`` goes to state.json."""
    final, tmp, prev = (run_dir / n for n in ("checkpoint", "checkpoint.tmp", "checkpoint.prev"))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    _fsync_tree(tmp)
    if final.exists():
        shutil.rmtree(prev, ignore_errors=True)
        final.rename(prev)
    tmp.rename(final)
    shutil.rmtree(prev, ignore_errors=True)
    return final


def latest(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    for name in ("checkpoint", "checkpoint.prev"):
        path = run_dir / name
        if (path / "state.json").is_file():
            return path
    return None


def read_state(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path / "state.json").read_text())
    return data
