"""Locating the packaged MJCF assets and loading cell calibration files."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot_rl.cameras.base import Intrinsics


def sim_dir() -> Path:
    """Folder of the twin's MJCF files (``sim/`` in the repo, ``robot_rl/sim`` when installed)."""
    return Path(str(resources.files("robot_rl.sim")))


def default_calibration_path() -> Path:
    return Path(str(resources.files("robot_rl.cells"))) / "default_cell.yaml"


@dataclass(frozen=True)
class CameraCalibration:
    """One camera: optical-frame pose in its parent body and pinhole intrinsics (pixels)."""

    name: str
    parent: str  # "world" or a body name of the twin (e.g. "hand")
    pos_m: np.ndarray
    quat_wxyz: np.ndarray  # optical frame: x right, y down, z forward
    intrinsics: Intrinsics  # at the camera's native resolution


@dataclass(frozen=True)
class CellCalibration:
    cameras: dict[str, CameraCalibration]
    workspace_low_m: tuple[float, float, float]
    workspace_high_m: tuple[float, float, float]
    source: str


def _vec(entry: dict[str, Any], key: str, n: int, where: str) -> np.ndarray:
    value = np.asarray(entry.get(key), dtype=float)
    if value.shape != (n,) or not np.all(np.isfinite(value)):
        raise ValueError(f"{where}: '{key}' must be {n} finite numbers, got {entry.get(key)!r}")
    return value


def load_calibration(path: str | Path | None = None) -> CellCalibration:
    """Read a cell calibration YAML (default: the packaged twin cell). Raises ``ValueError``
    naming the file and field on malformed input."""
    path = Path(path) if path is not None else default_calibration_path()
    if not path.is_file():
        raise FileNotFoundError(f"calibration file not found: {path}")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError(f"{path}: expected a calibration mapping with 'version: 1'")
    cameras: dict[str, CameraCalibration] = {}
    for name, entry in (data.get("cameras") or {}).items():
        where = f"{path}: cameras.{name}"
        intr = entry.get("intrinsics") or {}
        quat = _vec(entry, "quat_wxyz", 4, where)
        if abs(np.linalg.norm(quat) - 1.0) > 1e-3:
            raise ValueError(f"{where}: quat_wxyz is not a unit quaternion")
        try:
            cam = CameraCalibration(
                name=name,
                parent=str(entry.get("parent", "world")),
                pos_m=_vec(entry, "pos_m", 3, where),
                quat_wxyz=quat / np.linalg.norm(quat),
                intrinsics=Intrinsics(
                    int(intr["width"]),
                    int(intr["height"]),
                    float(intr["fx"]),
                    float(intr["fy"]),
                    float(intr["cx"]),
                    float(intr["cy"]),
                ),
            )
        except KeyError as exc:
            raise ValueError(f"{where}: intrinsics lack {exc}") from None
        cameras[name] = cam
    ws = data.get("workspace") or {}
    low = _vec(ws, "low_m", 3, f"{path}: workspace")
    high = _vec(ws, "high_m", 3, f"{path}: workspace")
    if np.any(low >= high):
        raise ValueError(f"{path}: workspace low_m must be below high_m on every axis")
    return CellCalibration(
        cameras=cameras,
        workspace_low_m=(float(low[0]), float(low[1]), float(low[2])),
        workspace_high_m=(float(high[0]), float(high[1]), float(high[2])),
        source=str(path),
    )
