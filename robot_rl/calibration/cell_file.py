"""The cell calibration YAML (versioned): reading, checking and updating it.

Version 2 (written by ``robot-rl calibrate``) adds to version 1 a file ``date``, a camera
``serial`` and a ``calibration`` record per result (date, method, residuals, number of
views, capture folder). Version 1 files load unchanged and are written back as version 2;
any other version is refused with a one-line error. docs/calibration.md has the layout.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot_rl.cameras.base import Intrinsics

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)


class CalibrationFileError(ValueError):
    """A cell calibration file that cannot be used; the message is one line naming the file."""


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
    serial: str = ""  # "" = not recorded (version 1 files): any camera is accepted
    record: dict[str, Any] = field(default_factory=dict)  # the file's calibration records


@dataclass(frozen=True)
class CellCalibration:
    cameras: dict[str, CameraCalibration]
    workspace_low_m: tuple[float, float, float]
    workspace_high_m: tuple[float, float, float]
    source: str
    version: int = SCHEMA_VERSION
    date: str = ""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _vec(entry: dict[str, Any], key: str, n: int, where: str) -> np.ndarray:
    try:
        value = np.asarray(entry.get(key), dtype=float)
    except (TypeError, ValueError):
        value = np.zeros(0)
    if value.shape != (n,) or not np.all(np.isfinite(value)):
        raise CalibrationFileError(
            f"{where}: '{key}' must be {n} finite numbers, got {entry.get(key)!r}"
        )
    return value


def read_raw(path: str | Path) -> dict[str, Any]:
    """The file as a mapping with a readable version; raises CalibrationFileError."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationFileError(f"calibration file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CalibrationFileError(f"{path}: unreadable YAML ({first})") from None
    if not isinstance(data, dict):
        raise CalibrationFileError(f"{path}: expected a calibration mapping with a 'version'")
    version = data.get("version")
    if version not in READABLE_VERSIONS:
        raise CalibrationFileError(
            f"{path}: calibration schema version {version!r} is not readable by this robot_rl "
            f"(reads {list(READABLE_VERSIONS)}); recalibrate or convert it to version "
            f"{SCHEMA_VERSION} (docs/calibration.md)"
        )
    return data


def _camera(name: str, entry: Any, where: str) -> CameraCalibration:
    if not isinstance(entry, dict):
        raise CalibrationFileError(f"{where}: expected a mapping")
    intr = entry.get("intrinsics") or {}
    quat = _vec(entry, "quat_wxyz", 4, where)
    if abs(np.linalg.norm(quat) - 1.0) > 1e-3:
        raise CalibrationFileError(f"{where}: quat_wxyz is not a unit quaternion")
    try:
        coeffs = tuple(float(c) for c in intr.get("coeffs", (0.0,) * 5))
        intrinsics = Intrinsics(
            int(intr["width"]),
            int(intr["height"]),
            float(intr["fx"]),
            float(intr["fy"]),
            float(intr["cx"]),
            float(intr["cy"]),
            str(intr.get("distortion_model", "plumb_bob")),
            coeffs,
        )
    except KeyError as exc:
        raise CalibrationFileError(f"{where}: intrinsics lack {exc}") from None
    except (TypeError, ValueError) as exc:
        raise CalibrationFileError(f"{where}: bad intrinsics ({exc})") from None
    return CameraCalibration(
        name=name,
        parent=str(entry.get("parent", "world")),
        pos_m=_vec(entry, "pos_m", 3, where),
        quat_wxyz=quat / np.linalg.norm(quat),
        intrinsics=intrinsics,
        serial=str(entry.get("serial", "")),
        record=dict(entry.get("calibration") or {}),
    )


def load_calibration(path: str | Path | None = None) -> CellCalibration:
    """Read a cell calibration YAML (default: the packaged twin cell). Raises
    ``CalibrationFileError`` (a ValueError) naming the file and field on malformed input."""
    path = Path(path) if path is not None else default_calibration_path()
    data = read_raw(path)
    cameras = {
        str(name): _camera(str(name), entry, f"{path}: cameras.{name}")
        for name, entry in (data.get("cameras") or {}).items()
    }
    ws = data.get("workspace") or {}
    low = _vec(ws, "low_m", 3, f"{path}: workspace")
    high = _vec(ws, "high_m", 3, f"{path}: workspace")
    if np.any(low >= high):
        raise CalibrationFileError(f"{path}: workspace low_m must be below high_m on every axis")
    return CellCalibration(
        cameras=cameras,
        workspace_low_m=(float(low[0]), float(low[1]), float(low[2])),
        workspace_high_m=(float(high[0]), float(high[1]), float(high[2])),
        source=str(path),
        version=int(data["version"]),
        date=str(data.get("date", "")),
    )


def camera_views(
    cal: CellCalibration, cameras: tuple[str, ...], image_size: tuple[int, int]
) -> dict[str, list[float]]:
    """Each camera's pinhole (fx, fy, cx, cy) at the rendered ``image_size`` (height, width):
    what a model trained on its frames saw. A crop or another lens changes it; the camera's
    pose does not enter (cell variants move cameras on purpose). Cameras the file lacks are
    left out."""
    h, w = image_size
    views = {}
    for c in cameras:
        if c in cal.cameras:
            k = cal.cameras[c].intrinsics.scaled(w, h)
            views[c] = [round(float(v), 3) for v in (k.fx, k.fy, k.cx, k.cy)]
    return views


def check_camera_matches(cal: CameraCalibration, serial: str, width: int, height: int) -> None:
    """Refuse a calibration made for another camera or image size (CalibrationFileError).
    An empty recorded or running serial is not compared (version 1 files, unknown device)."""
    k = cal.intrinsics
    if cal.serial and serial and cal.serial != serial:
        raise CalibrationFileError(
            f"camera {cal.name!r}: calibration is for serial {cal.serial!r}, running camera is "
            f"{serial!r}; recalibrate this camera"
        )
    if (k.width, k.height) != (width, height):
        raise CalibrationFileError(
            f"camera {cal.name!r}: calibration is for {k.width}x{k.height} images, running "
            f"camera streams {width}x{height}; recalibrate at this size"
        )


def _plain(x: Any) -> Any:
    """numpy scalars/arrays -> plain Python for yaml.safe_dump."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def intrinsics_entry(k: Intrinsics) -> dict[str, Any]:
    return {
        "width": k.width,
        "height": k.height,
        "fx": round(k.fx, 4),
        "fy": round(k.fy, 4),
        "cx": round(k.cx, 4),
        "cy": round(k.cy, 4),
        "distortion_model": k.distortion_model,
        "coeffs": [round(c, 8) for c in k.coeffs],
    }


def update_cell_file(
    src: str | Path | None, dst: str | Path, edit: dict[str, Any]
) -> CellCalibration:
    """Write ``dst`` = ``src`` (default: packaged cell) with ``edit`` merged in, as version 2.

    ``edit`` has the layout of the file ("cameras" -> name -> fields, "workspace" -> fields);
    nested mappings are merged, other values replace. The result is checked by loading it
    before it atomically replaces ``dst``; comments of ``src`` are not kept."""
    data = read_raw(src if src is not None else default_calibration_path())

    def merge(base: dict[str, Any], new: dict[str, Any]) -> None:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value

    merge(data, _plain(edit))
    data["version"] = SCHEMA_VERSION
    data["date"] = now_iso()
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(f"# Cell calibration written by robot-rl calibrate (schema {SCHEMA_VERSION}).\n")
        yaml.safe_dump(data, f, sort_keys=False, default_flow_style=None, width=100)
    try:
        result = load_calibration(tmp)
    except CalibrationFileError:
        os.unlink(tmp)
        raise
    os.replace(tmp, dst)
    return CellCalibration(
        result.cameras,
        result.workspace_low_m,
        result.workspace_high_m,
        str(dst),
        result.version,
        result.date,
    )
