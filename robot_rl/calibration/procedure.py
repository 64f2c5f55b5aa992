"""The calibration procedures on a capture: solve, write the cell file, draw the report.

These run the same on a live capture (twin or bus) and offline on a capture folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.calibration.capture import CalibrationError, Capture
from robot_rl.calibration.cell_file import (
    CameraCalibration,
    CellCalibration,
    check_camera_matches,
    intrinsics_entry,
    now_iso,
    update_cell_file,
)
from robot_rl.calibration.frames import from_matrix, inverse, to_matrix
from robot_rl.calibration.handeye import HandEyeConfig, HandEyeResult, solve_hand_eye
from robot_rl.calibration.intrinsics import (
    IntrinsicsConfig,
    IntrinsicsResult,
    detect_all,
    solve_intrinsics,
)
from robot_rl.calibration.report import write_report
from robot_rl.calibration.views import HAND_T_TCP
from robot_rl.calibration.workspace import Workspace


def prior_camera(prior: CellCalibration, capture: Capture) -> CameraCalibration:
    """The cell file's entry for the capture's camera, refused on a serial or size mismatch."""
    name = capture.camera.name
    if name not in prior.cameras:
        raise CalibrationError(
            f"camera {name!r} not in {prior.source} (has {sorted(prior.cameras)})"
        )
    cam = prior.cameras[name]
    check_camera_matches(cam, capture.camera.serial, capture.camera.width, capture.camera.height)
    return cam


def base_t_camera(cam: CameraCalibration, capture: Capture) -> np.ndarray:
    """Camera pose in the base frame for drawing (wrist: at the capture's first arm pose)."""
    t = to_matrix(cam.pos_m, cam.quat_wxyz)
    if cam.parent == "world" or not capture.poses:
        return t
    p = capture.poses[0]
    return to_matrix(p.pos, p.quat) @ inverse(HAND_T_TCP) @ t


def intrinsics_procedure(
    capture: Capture,
    prior: CellCalibration,
    out: str | Path,
    report: str | Path,
    cfg: IntrinsicsConfig | None = None,
    initial_guess: bool = False,
) -> IntrinsicsResult:
    """Solve intrinsics on ``capture``, write ``out`` (prior + result), draw ``report``.
    ``initial_guess`` starts from the prior's intrinsics (e.g. RealSense factory values)."""
    cam = prior_camera(prior, capture)
    dets = detect_all(capture)
    result = solve_intrinsics(capture, dets, cfg, cam.intrinsics if initial_guess else None)
    record: dict[str, Any] = {
        "date": now_iso(),
        "method": "cv2.calibrateCamera on ChArUco corners",
        "rms_px": round(result.rms_px, 4),
        "coverage": round(result.coverage, 3),
        "n_views": result.n_used,
        "n_rejected": len(result.views) - result.n_used,
        "capture": str(capture.folder),
    }
    if result.factory_diff is not None:
        record["minus_initial_px"] = {k: round(v, 3) for k, v in result.factory_diff.items()}
    entry = {
        "serial": capture.camera.serial,
        "intrinsics": intrinsics_entry(result.intrinsics),
        "calibration": {"intrinsics": record},
    }
    update_cell_file(prior.source, out, {"cameras": {cam.name: entry}})
    k = result.intrinsics
    write_report(
        report,
        f"intrinsics of {cam.name!r} ({capture.folder})",
        capture,
        dets,
        [v.error_px for v in result.views],
        [v.reason for v in result.views],
        base_t_camera(cam, capture),
        k,
        (prior.workspace_low_m, prior.workspace_high_m),
        [
            f"fx {k.fx:.2f} fy {k.fy:.2f} cx {k.cx:.2f} cy {k.cy:.2f}",
            f"RMS {result.rms_px:.3f} px",
            f"coverage {result.coverage:.0%}",
            f"{result.n_used}/{len(result.views)} views",
        ],
    )
    return result


def hand_eye_procedure(
    capture: Capture,
    prior: CellCalibration,
    out: str | Path,
    report: str | Path,
    cfg: HandEyeConfig | None = None,
) -> tuple[HandEyeResult, CameraCalibration]:
    """Solve the camera pose on ``capture`` with the prior's intrinsics, write ``out``
    (camera pose in its parent: base for a fixed camera, hand for a wrist camera)."""
    cam = prior_camera(prior, capture)
    if capture.poses is None:
        raise CalibrationError(f"{capture.folder}: hand-eye needs poses.csv (arm pose per image)")
    mount = "eye_to_hand" if cam.parent == "world" else "eye_in_hand"
    if capture.mount != mount:
        raise CalibrationError(
            f"{capture.folder}: captured as {capture.mount}, but camera {cam.name!r} has parent "
            f"{cam.parent!r} ({mount})"
        )
    dets = detect_all(capture)
    result = solve_hand_eye(mount, capture.poses, capture.board, dets, cam.intrinsics, cfg)
    best = result.best
    parent_t_cam = best.x if mount == "eye_to_hand" else HAND_T_TCP @ best.x
    pos, quat = from_matrix(parent_t_cam)
    record = {
        "date": now_iso(),
        "method": f"{best.name} ({result.reason})",
        "residual_px": round(best.rms_px, 4),
        "spread_mm": round(best.spread_mm, 3),
        "spread_deg": round(best.spread_deg, 4),
        "n_views": len(result.used),
        "capture": str(capture.folder),
        "methods_rms_px": {m.name: round(m.rms_px, 4) for m in result.methods},
    }
    entry = {
        "serial": capture.camera.serial,
        "pos_m": [round(float(v), 6) for v in pos],
        "quat_wxyz": [round(float(v), 7) for v in quat],
        "calibration": {"pose": record},
    }
    new = update_cell_file(prior.source, out, {"cameras": {cam.name: entry}})
    errors = [float("nan")] * len(dets)
    for i, e in zip(result.used, best.view_rms_px, strict=True):
        errors[i] = e
    write_report(
        report,
        f"hand-eye ({mount}) of {cam.name!r} ({capture.folder})",
        capture,
        dets,
        errors,
        ["" if i in result.used else "no board pose" for i in range(len(dets))],
        base_t_camera(new.cameras[cam.name], capture),
        cam.intrinsics,
        (prior.workspace_low_m, prior.workspace_high_m),
        [
            f"method {best.name}",
            f"residual {best.rms_px:.3f} px",
            f"spread {best.spread_mm:.2f} mm {best.spread_deg:.3f} deg",
            f"{len(result.used)}/{len(dets)} views",
        ],
    )
    return result, new.cameras[cam.name]


def workspace_procedure(
    prior: CellCalibration, out: str | Path, ws: Workspace, source: str
) -> CellCalibration:
    """Write the taught box into ``out`` (prior + workspace)."""
    record = {
        "date": now_iso(),
        "method": "taught corners",
        "margin_m": ws.margin_m,
        "n_corners": ws.n_corners,
        "source": source,
    }
    edit = {
        "workspace": {"low_m": list(ws.low_m), "high_m": list(ws.high_m), "calibration": record}
    }
    return update_cell_file(prior.source, out, edit)
