"""Capture folders: calibration views as plain data, so that every solver runs offline.

Layout (docs/calibration.md)::

    <capture>/
      capture.yaml   camera {name, serial, width, height}, board {...}, mount, source, created
      poses.csv      image,x_m,y_m,z_m,qw,qx,qy,qz   (base -> TCP pose when the image was taken)
      images/        0000.png, 0001.png, ... (RGB or grey PNG)
      truth.yaml     optional: the twin's true camera (never read by a solver)

``poses.csv`` may be missing for an intrinsics-only capture: then every PNG in images/ is a view.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from robot_rl.calibration.board import BoardConfig
from robot_rl.control.safety import Pose

FORMAT = "robot_rl.calibration.capture/1"
MOUNTS = ("eye_in_hand", "eye_to_hand", "none")
_POSE_FIELDS = ("image", "x_m", "y_m", "z_m", "qw", "qx", "qy", "qz")


class CalibrationError(ValueError):
    """Calibration input that cannot give a trustworthy result; the message says why."""


@dataclass(frozen=True)
class CameraInfo:
    """The camera a capture (or a calibration) belongs to."""

    name: str
    serial: str  # "" when unknown (the twin's cameras are "twin:<name>")
    width: int
    height: int


@dataclass
class Capture:
    """A capture folder's contents; images are read on demand (``image(i)``)."""

    folder: Path
    camera: CameraInfo
    board: BoardConfig
    mount: str  # eye_in_hand (camera on the arm), eye_to_hand (fixed camera), none
    images: list[str]  # paths relative to folder
    poses: list[Pose] | None  # base -> TCP per image, or None (intrinsics-only)
    meta: dict[str, Any] = field(default_factory=dict)
    frames: list[np.ndarray] | None = None  # live captures keep their images in memory

    def image(self, i: int) -> np.ndarray:
        """uint8 RGB (H, W, 3) of view ``i``; raises CalibrationError if unreadable."""
        if self.frames is not None:
            return self.frames[i]
        path = self.folder / self.images[i]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise CalibrationError(f"{path}: not a readable image")
        if bgr.shape[:2] != (self.camera.height, self.camera.width):
            raise CalibrationError(
                f"{path}: image is {bgr.shape[1]}x{bgr.shape[0]}, capture.yaml says "
                f"{self.camera.width}x{self.camera.height}"
            )
        return np.ascontiguousarray(bgr[:, :, ::-1])

    def __len__(self) -> int:
        return len(self.images)


class CaptureWriter:
    """Writes a capture folder view by view (``add``), then ``close`` writes poses.csv.

    The folder must not exist or be empty: a capture is never appended to or overwritten."""

    def __init__(
        self, folder: str | Path, camera: CameraInfo, board: BoardConfig, mount: str, source: str
    ) -> None:
        if mount not in MOUNTS:
            raise ValueError(f"mount must be one of {MOUNTS}, got {mount!r}")
        self.folder = Path(folder)
        if self.folder.exists() and any(self.folder.iterdir()):
            raise CalibrationError(f"{self.folder}: capture folder exists and is not empty")
        (self.folder / "images").mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "camera": vars(camera),
            "board": board.to_dict(),
            "mount": mount,
            "source": source,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        (self.folder / "capture.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        self.camera = camera
        self._rows: list[list[str]] = []
        self._frames: list[np.ndarray] = []

    def add(self, image_rgb: np.ndarray, pose: Pose | None) -> None:
        """Store one view (uint8 RGB) and the base -> TCP pose measured with it."""
        if image_rgb.shape[:2] != (self.camera.height, self.camera.width):
            raise CalibrationError(
                f"image is {image_rgb.shape[1]}x{image_rgb.shape[0]}, camera "
                f"{self.camera.name} is {self.camera.width}x{self.camera.height}"
            )
        name = f"images/{len(self._rows):04d}.png"
        bgr = image_rgb[:, :, ::-1] if image_rgb.ndim == 3 else image_rgb
        if not cv2.imwrite(str(self.folder / name), bgr):
            raise OSError(f"could not write {self.folder / name}")
        self._frames.append(image_rgb)
        values = [] if pose is None else [*np.asarray(pose.pos), *np.asarray(pose.quat)]
        self._rows.append([name, *(repr(float(v)) for v in values)])

    def write_truth(self, truth: dict[str, Any]) -> None:
        """Ground truth of a twin capture (for checks; solvers never read it)."""
        (self.folder / "truth.yaml").write_text(yaml.safe_dump(truth, sort_keys=False))

    def close(self) -> Capture:
        """Write poses.csv; returns the capture with its images still in memory (the live
        result; ``load_capture`` of the folder gives the same views from disk)."""
        with_poses = [r for r in self._rows if len(r) == len(_POSE_FIELDS)]
        if with_poses and len(with_poses) != len(self._rows):
            raise CalibrationError("either every view has a pose or none has")
        if with_poses:
            with open(self.folder / "poses.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(_POSE_FIELDS)
                w.writerows(self._rows)
        capture = load_capture(self.folder)
        capture.frames = self._frames
        return capture


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CalibrationError(f"{path}: unreadable YAML ({first})") from None


def _rows(path: Path) -> Iterator[tuple[str, Pose]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != _POSE_FIELDS:
            raise CalibrationError(f"{path}: header must be {','.join(_POSE_FIELDS)}")
        for n, row in enumerate(reader, start=2):
            try:
                v = np.array([float(row[k]) for k in _POSE_FIELDS[1:]])
            except (TypeError, ValueError):
                raise CalibrationError(f"{path}:{n}: pose values must be numbers") from None
            q = v[3:]
            if not np.all(np.isfinite(v)) or abs(np.linalg.norm(q) - 1.0) > 1e-3:
                raise CalibrationError(f"{path}:{n}: pose is not finite with a unit quaternion")
            yield row["image"], Pose(v[:3], q / np.linalg.norm(q))


def load_capture(folder: str | Path) -> Capture:
    """Read a capture folder; raises CalibrationError (one line) on anything malformed."""
    folder = Path(folder)
    meta_path = folder / "capture.yaml"
    if not meta_path.is_file():
        raise CalibrationError(f"{folder}: not a capture folder (no capture.yaml)")
    meta = _read_yaml(meta_path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CalibrationError(f"{meta_path}: expected 'format: {FORMAT}'")
    try:
        cam = meta["camera"]
        camera = CameraInfo(
            str(cam["name"]), str(cam.get("serial", "")), int(cam["width"]), int(cam["height"])
        )
        board = BoardConfig.from_dict(meta["board"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"{meta_path}: bad camera or board entry ({exc})") from None
    mount = str(meta.get("mount", "none"))
    if mount not in MOUNTS:
        raise CalibrationError(f"{meta_path}: mount must be one of {MOUNTS}, got {mount!r}")
    poses_path = folder / "poses.csv"
    poses: list[Pose] | None = None
    if poses_path.is_file():
        rows = list(_rows(poses_path))
        images = [name for name, _ in rows]
        poses = [pose for _, pose in rows]
    else:
        images = sorted(str(p.relative_to(folder)) for p in (folder / "images").glob("*.png"))
    missing = [name for name in images if not (folder / name).is_file()]
    if missing:
        raise CalibrationError(f"{folder}: {len(missing)} listed images missing, e.g. {missing[0]}")
    return Capture(folder, camera, board, mount, images, poses, meta)
