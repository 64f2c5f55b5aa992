"""Camera intrinsics from ChArUco views: per-view quality checks, then ``cv2.calibrateCamera``.

A view is rejected (with the reason) when too few corners are found, when it is blurred, or
when its reprojection error after a first solve is an outlier; the solve is then repeated
on the views that remain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from robot_rl.calibration.board import Detection, detect
from robot_rl.calibration.capture import CalibrationError, Capture
from robot_rl.cameras.base import Intrinsics

COVERAGE_GRID = (8, 6)  # image cells (x, y) used to measure how much of the image views cover


@dataclass(frozen=True)
class IntrinsicsConfig:
    """Thresholds of the intrinsics solve."""

    min_corners: int = 8  # corners a view needs to be used
    min_views: int = 8  # views that must pass the checks
    min_sharpness: float = 30.0  # variance of the Laplacian over the board's box (grey levels^2)
    max_view_error_px: float = 1.0  # RMS reprojection error above which a view is rejected
    fix_k3: bool = True  # keep k3 = 0 (the usual choice for RealSense-class lenses)
    zero_distortion: bool = False  # fix all distortion to 0 (pinhole; the twin renders one)


@dataclass(frozen=True)
class ViewCheck:
    """Outcome of one view's checks."""

    image: str
    n_corners: int
    sharpness: float
    error_px: float  # RMS reprojection error in the final solve (nan if not used)
    reason: str  # "" when used


@dataclass(frozen=True)
class IntrinsicsResult:
    """A solved camera, with everything needed to judge it."""

    intrinsics: Intrinsics
    rms_px: float  # RMS reprojection error over all used views
    coverage: float  # fraction of COVERAGE_GRID cells holding a detected corner
    views: list[ViewCheck]  # one per input view, used or rejected (with reason)
    factory_diff: dict[str, float] | None = None  # solved minus factory fx, fy, cx, cy (px)

    @property
    def n_used(self) -> int:
        return sum(1 for v in self.views if not v.reason)


def sharpness(grey: np.ndarray, corners_px: np.ndarray) -> float:
    """Variance of the Laplacian over the bounding box of the detected corners."""
    x0, y0 = np.floor(corners_px.min(0)).astype(int)
    x1, y1 = np.ceil(corners_px.max(0)).astype(int) + 1
    roi = grey[max(y0, 0) : y1, max(x0, 0) : x1]
    return float(cv2.Laplacian(roi, cv2.CV_64F).var()) if roi.size else 0.0


def coverage(detections: list[Detection], width: int, height: int) -> float:
    """Fraction of the image's COVERAGE_GRID cells that hold at least one corner."""
    gx, gy = COVERAGE_GRID
    hit = np.zeros((gy, gx), dtype=bool)
    for d in detections:
        ix = np.clip((d.corners_px[:, 0] / width * gx).astype(int), 0, gx - 1)
        iy = np.clip((d.corners_px[:, 1] / height * gy).astype(int), 0, gy - 1)
        hit[iy, ix] = True
    return float(hit.mean())


def detect_all(
    capture: Capture, progress: Callable[[int, int], None] | None = None
) -> list[Detection]:
    """Detections of every view of ``capture`` (in order)."""
    out = []
    for i in range(len(capture)):
        out.append(detect(capture.board, capture.image(i)))
        if progress is not None:
            progress(i + 1, len(capture))
    return out


def _flags(cfg: IntrinsicsConfig, guess: bool) -> int:
    flags = cv2.CALIB_USE_INTRINSIC_GUESS if guess else 0
    if cfg.zero_distortion:
        flags |= cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K1 | cv2.CALIB_FIX_K2
        flags |= cv2.CALIB_FIX_K3
    elif cfg.fix_k3:
        flags |= cv2.CALIB_FIX_K3
    return flags


def _solve(
    obj: list[np.ndarray],
    img: list[np.ndarray],
    size: tuple[int, int],
    k0: np.ndarray | None,
    flags: int,
) -> tuple[float, np.ndarray, np.ndarray, list[float]]:
    k = np.eye(3) if k0 is None else k0.copy()
    rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(obj, img, size, k, np.zeros(5), flags=flags)
    errors = []
    for o, i, r, t in zip(obj, img, rvecs, tvecs, strict=True):
        proj, _ = cv2.projectPoints(o, r, t, k, dist)
        errors.append(float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - i) ** 2, axis=1)))))
    return float(rms), k, dist.reshape(-1), errors


def solve_intrinsics(
    capture: Capture,
    detections: list[Detection],
    cfg: IntrinsicsConfig | None = None,
    factory: Intrinsics | None = None,
) -> IntrinsicsResult:
    """Calibrate the capture's camera; ``factory`` (e.g. RealSense) seeds the solve and the
    result reports the difference to it. Raises CalibrationError when no board is seen or
    fewer than ``min_views`` views pass."""
    cfg = cfg or IntrinsicsConfig()
    board, cam = capture.board, capture.camera
    corners = board.corners_m()
    if not any(len(d.ids) for d in detections):
        raise CalibrationError(
            f"no ChArUco board in view in any of the {len(detections)} images "
            f"(board {board.squares_x}x{board.squares_y} {board.dictionary})"
        )
    reasons: dict[int, str] = {}
    sharp: dict[int, float] = {}
    for i, d in enumerate(detections):
        if len(d.ids) < cfg.min_corners:
            reasons[i] = f"{len(d.ids)} corners found (< {cfg.min_corners})"
            continue
        grey = cv2.cvtColor(capture.image(i), cv2.COLOR_RGB2GRAY)
        sharp[i] = sharpness(grey, d.corners_px)
        if sharp[i] < cfg.min_sharpness:
            reasons[i] = f"blurred (sharpness {sharp[i]:.0f} < {cfg.min_sharpness:.0f})"
    size = (cam.width, cam.height)
    k0 = None if factory is None else factory.matrix()
    flags = _flags(cfg, guess=k0 is not None)
    errors: dict[int, float] = {}
    while True:  # solve, drop outlier views, solve again until none is left (ends: views shrink)
        used = [i for i in range(len(detections)) if i not in reasons]
        if len(used) < cfg.min_views:
            raise CalibrationError(
                f"too few views: {len(used)} of {len(detections)} pass the checks "
                f"(need {cfg.min_views}); rejected: "
                + "; ".join(f"{capture.images[i]}: {r}" for i, r in sorted(reasons.items())[:3])
            )
        obj = [corners[detections[i].ids].astype(np.float32) for i in used]
        img = [detections[i].corners_px.astype(np.float32) for i in used]
        rms, k, dist, errs = _solve(obj, img, size, k0, flags)
        errors = dict(zip(used, errs, strict=True))
        bad = {i: e for i, e in errors.items() if e > cfg.max_view_error_px}
        if not bad:
            break
        for i, e in bad.items():
            reasons[i] = f"reprojection error {e:.2f} px (> {cfg.max_view_error_px})"
    intr = Intrinsics(
        cam.width,
        cam.height,
        float(k[0, 0]),
        float(k[1, 1]),
        float(k[0, 2]),
        float(k[1, 2]),
        "plumb_bob",
        tuple(float(c) for c in dist[:5]),
    )
    views = [
        ViewCheck(
            capture.images[i],
            len(d.ids),
            sharp.get(i, float("nan")),
            errors.get(i, float("nan")) if i not in reasons else float("nan"),
            reasons.get(i, ""),
        )
        for i, d in enumerate(detections)
    ]
    used_dets = [detections[i] for i in range(len(detections)) if i not in reasons]
    diff = None
    if factory is not None:
        diff = {key: getattr(intr, key) - getattr(factory, key) for key in ("fx", "fy", "cx", "cy")}
    return IntrinsicsResult(intr, rms, coverage(used_dets, cam.width, cam.height), views, diff)
