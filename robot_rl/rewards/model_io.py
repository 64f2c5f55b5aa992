"""Reward model directories: a JSON description (kind, config, threshold, metrics) and the
weights, written together so a model never loses its config.

    <dir>/reward_model.json   {"format", "kind", "config", "threshold", "report"}
    <dir>/weights.pt          state_dict (a CLIP backbone's weights stay in its own dir)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from robot_rl.rewards.errors import ModelDirError

MODEL_FORMAT = 1
META_FILE = "reward_model.json"
WEIGHTS_FILE = "weights.pt"


def save_model_dir(
    path: str | Path,
    kind: str,
    config: Mapping[str, Any],
    state: Mapping[str, torch.Tensor],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write weights, then the JSON last (atomically): a crash never leaves a JSON that
    points at missing weights."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (WEIGHTS_FILE + ".tmp")
    torch.save(dict(state), tmp)
    os.replace(tmp, out / WEIGHTS_FILE)
    meta = {"format": MODEL_FORMAT, "kind": kind, "config": dict(config), **dict(extra or {})}
    tmp_meta = out / (META_FILE + ".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=2, default=_json_default))
    os.replace(tmp_meta, out / META_FILE)
    return out


def load_model_dir(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(meta, state_dict) of a reward model directory of ``kind``. Raises ModelDirError."""
    p = Path(path)
    if not p.is_dir():
        raise ModelDirError(
            f"reward model directory {p} does not exist; train one with "
            f"`robot-rl train-reward` (or pass the directory it wrote)"
        )
    for name in (META_FILE, WEIGHTS_FILE):
        if not (p / name).is_file():
            raise ModelDirError(f"{p} is not a reward model directory: {name} is missing")
    meta: dict[str, Any] = json.loads((p / META_FILE).read_text())
    if meta.get("format") != MODEL_FORMAT:
        raise ModelDirError(f"{p}: format {meta.get('format')}, this code reads {MODEL_FORMAT}")
    if meta.get("kind") != kind:
        raise ModelDirError(f"{p} holds a {meta.get('kind')!r} model, not a {kind!r} model")
    state = torch.load(p / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    return meta, state


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, tuple | set):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
