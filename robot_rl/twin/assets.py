"""Locating the packaged MJCF assets; cell calibration files are read by
``robot_rl.calibration.cell_file`` (re-exported here for the twin's callers)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from robot_rl.calibration.cell_file import (
    CameraCalibration,
    CellCalibration,
    default_calibration_path,
    load_calibration,
)

__all__ = [
    "CameraCalibration",
    "CellCalibration",
    "default_calibration_path",
    "load_calibration",
    "sim_dir",
]


def sim_dir() -> Path:
    """Folder of the twin's MJCF files (``sim/`` in the repo, ``robot_rl/sim`` when installed)."""
    return Path(str(resources.files("robot_rl.sim")))
