"""The PNG report of a calibration: detected corners, per-view residuals, the camera in the cell."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from robot_rl.calibration.board import Detection
from robot_rl.calibration.capture import Capture
from robot_rl.cameras.base import Intrinsics


def frustum_lines(base_t_cam: np.ndarray, k: Intrinsics, depth_m: float = 0.15) -> np.ndarray:
    """(8, 2, 3) segments of a camera pyramid in the base frame."""
    corners_px = [(0, 0), (k.width, 0), (k.width, k.height), (0, k.height)]
    rays = [np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0]) * depth_m for u, v in corners_px]
    pts = [base_t_cam[:3, :3] @ r + base_t_cam[:3, 3] for r in rays]
    origin = base_t_cam[:3, 3]
    segs = [(origin, p) for p in pts] + [(pts[i], pts[(i + 1) % 4]) for i in range(4)]
    return np.array(segs)


def write_report(
    path: str | Path,
    title: str,
    capture: Capture,
    detections: list[Detection],
    view_errors_px: list[float],
    rejected: list[str],
    base_t_cam: np.ndarray,
    intrinsics: Intrinsics,
    workspace: tuple[tuple[float, ...], tuple[float, ...]],
    lines: list[str],
) -> Path:
    """Three panels: every detected corner over the first view (coverage), per-view RMS
    reprojection error (rejected views in red), and the camera frustum in the cell."""
    fig = plt.figure(figsize=(15, 5))
    ax0 = fig.add_subplot(1, 3, 1)
    first = next((i for i, d in enumerate(detections) if len(d.ids)), 0)
    ax0.imshow(capture.image(first))
    for d in detections:
        if len(d.ids):
            ax0.plot(d.corners_px[:, 0], d.corners_px[:, 1], ".", ms=2)
    ax0.set_title(f"detected corners, all {len(detections)} views")
    ax0.axis("off")
    ax1 = fig.add_subplot(1, 3, 2)
    errs = np.nan_to_num(np.asarray(view_errors_px, dtype=float), nan=0.0)
    colors = ["tab:red" if r else "tab:blue" for r in rejected]
    ax1.bar(np.arange(len(errs)), errs, color=colors)
    ax1.set_xlabel("view")
    ax1.set_ylabel("RMS reprojection error (px)")
    ax1.set_title("per-view residuals (red: rejected)")
    ax2 = fig.add_subplot(1, 3, 3, projection="3d")
    for seg in frustum_lines(base_t_cam, intrinsics):
        ax2.plot(*seg.T, color="tab:green")
    lo, hi = np.array(workspace[0]), np.array(workspace[1])
    for a in range(3):
        for b in ((0, 0), (0, 1), (1, 0), (1, 1)):
            p0, p1 = lo.copy(), lo.copy()
            others = [i for i in range(3) if i != a]
            for i, s in zip(others, b, strict=True):
                p0[i] = p1[i] = hi[i] if s else lo[i]
            p1[a] = hi[a]
            ax2.plot(*np.array([p0, p1]).T, color="tab:gray", lw=0.8)
    if capture.poses:
        tcp = np.array([p.pos for p in capture.poses])
        ax2.scatter(*tcp.T, s=6, color="tab:orange", label="TCP at views")
    ax2.scatter([0], [0], [0], color="k", label="base")
    ax2.set_xlabel("x (m)")
    ax2.set_ylabel("y (m)")
    ax2.set_zlabel("z (m)")
    ax2.set_title("camera frustum, workspace box")
    ax2.legend(loc="upper left", fontsize=7)
    fig.suptitle(title + "\n" + " | ".join(lines), fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
