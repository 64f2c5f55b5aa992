"""Hand-eye calibration: eye-in-hand (camera on the arm) and eye-to-hand (fixed camera).

Both are the same equation ``H_i X T_i = W`` over views i, with T_i = cam <- board from PnP:

- eye-in-hand: H_i = base <- TCP, X = TCP <- cam, W = base <- board (board fixed in the cell);
- eye-to-hand: H_i = TCP <- base, X = base <- cam, W = TCP <- board (board held by the arm).

Every method of ``cv2.calibrateHandEye`` and ``cv2.calibrateRobotWorldHandEye`` is run; each
is scored by the RMS image distance between the detected corners and the corners predicted
from (X, W) and the arm pose, and the lowest wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robot_rl.calibration.board import BoardConfig, Detection
from robot_rl.calibration.capture import CalibrationError
from robot_rl.calibration.frames import (
    angle_deg,
    from_rt,
    inverse,
    mean_transform,
    pose_error,
    to_matrix,
)
from robot_rl.cameras.base import Intrinsics
from robot_rl.control.safety import Pose

HAND_EYE_METHODS = {
    "tsai": cv2.CALIB_HAND_EYE_TSAI,
    "park": cv2.CALIB_HAND_EYE_PARK,
    "horaud": cv2.CALIB_HAND_EYE_HORAUD,
    "andreff": cv2.CALIB_HAND_EYE_ANDREFF,
    "daniilidis": cv2.CALIB_HAND_EYE_DANIILIDIS,
}
ROBOT_WORLD_METHODS = {
    "shah": cv2.CALIB_ROBOT_WORLD_HAND_EYE_SHAH,
    "li": cv2.CALIB_ROBOT_WORLD_HAND_EYE_LI,
}


@dataclass(frozen=True)
class HandEyeConfig:
    """Thresholds of the hand-eye solve."""

    min_views: int = 8  # views with a board pose
    min_corners: int = 8  # corners a view needs for its board pose
    min_rotation_deg: float = 15.0  # largest rotation between two arm poses must exceed this
    min_second_axis_deg: float = 5.0  # rotation spread about a second axis (not one hinge)
    method: str = "auto"  # "auto" = lowest residual, or a name from the method tables


@dataclass(frozen=True)
class MethodResult:
    """One method's answer and its residuals."""

    name: str
    x: np.ndarray  # 4x4: TCP <- cam (eye-in-hand) or base <- cam (eye-to-hand)
    w: np.ndarray  # 4x4: base <- board (eye-in-hand) or TCP <- board (eye-to-hand)
    rms_px: float  # corners predicted from (X, W, arm pose) vs detected, RMS pixels
    spread_mm: float  # RMS spread of the per-view W_i = H_i X T_i translations (mm)
    spread_deg: float  # RMS spread of the per-view W_i rotations (deg)
    view_rms_px: list[float]  # per used view, same order as HandEyeResult.used


@dataclass(frozen=True)
class HandEyeResult:
    mount: str
    best: MethodResult
    methods: list[MethodResult]  # every method that ran, best first
    n_views: int
    used: list[int]  # view indices with a board pose
    reason: str  # why ``best`` was picked


def board_poses(
    board: BoardConfig, detections: list[Detection], intrinsics: Intrinsics, min_corners: int
) -> dict[int, np.ndarray]:
    """cam <- board (4x4) per view index with at least ``min_corners`` corners (PnP + LM)."""
    corners = board.corners_m()
    k = intrinsics.matrix()
    dist = np.asarray(intrinsics.coeffs, dtype=np.float64)
    out = {}
    for i, d in enumerate(detections):
        if len(d.ids) < min_corners:
            continue
        obj, img = corners[d.ids], d.corners_px
        ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=cv2.SOLVEPNP_IPPE)
        if not ok:
            continue
        rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, dist, rvec, tvec)
        out[i] = from_rt(rvec.reshape(3), tvec.reshape(3))
    return out


def check_motion(hand: list[np.ndarray], cfg: HandEyeConfig) -> None:
    """Raise CalibrationError when the arm's rotations cannot determine the hand-eye
    rotation: too little rotation overall, or rotations all about one axis."""
    rotvecs = []
    for h in hand[1:]:
        rel = hand[0][:3, :3].T @ h[:3, :3]
        rotvecs.append(cv2.Rodrigues(rel)[0].reshape(3))
    r = np.degrees(np.array(rotvecs))
    largest = max(
        angle_deg(a[:3, :3].T @ b[:3, :3]) for i, a in enumerate(hand) for b in hand[i + 1 :]
    )
    if largest < cfg.min_rotation_deg:
        raise CalibrationError(
            f"degenerate motion: the arm rotates at most {largest:.1f} deg between views "
            f"(need >= {cfg.min_rotation_deg}); pure translations cannot calibrate hand-eye"
        )
    sv = np.linalg.svd(r, compute_uv=False) / np.sqrt(len(r))
    if sv[1] < cfg.min_second_axis_deg:
        raise CalibrationError(
            f"degenerate motion: the arm rotates about one axis only (spread about a second "
            f"axis {sv[1]:.1f} deg < {cfg.min_second_axis_deg}); add tilts about another axis"
        )


def _residuals(
    x: np.ndarray,
    w: np.ndarray,
    hand: list[np.ndarray],
    targets: list[np.ndarray],
    dets: list[Detection],
    board: BoardConfig,
    intrinsics: Intrinsics,
) -> tuple[float, float, float, list[float]]:
    corners = board.corners_m()
    k, dist = intrinsics.matrix(), np.asarray(intrinsics.coeffs, dtype=np.float64)
    sq, per_view = [], []
    for h, t, d in zip(hand, targets, dets, strict=True):
        pred = inverse(x) @ inverse(h) @ w  # cam <- board predicted from the arm pose
        rvec = cv2.Rodrigues(pred[:3, :3])[0]
        proj, _ = cv2.projectPoints(corners[d.ids], rvec, pred[:3, 3], k, dist)
        sq.append(np.sum((proj.reshape(-1, 2) - d.corners_px) ** 2, axis=1))
        per_view.append(pose_error(h @ x @ t, w))
    err = np.array(per_view)
    return (
        float(np.sqrt(np.mean(np.concatenate(sq)))),
        float(np.sqrt(np.mean(err[:, 0] ** 2)) * 1000.0),
        float(np.sqrt(np.mean(err[:, 1] ** 2))),
        [float(np.sqrt(np.mean(v))) for v in sq],
    )


def solve_hand_eye(
    mount: str,
    tcp_poses: list[Pose],
    board: BoardConfig,
    detections: list[Detection],
    intrinsics: Intrinsics,
    cfg: HandEyeConfig | None = None,
) -> HandEyeResult:
    """Solve X (and W) for ``mount`` from base <- TCP poses and their views' detections."""
    cfg = cfg or HandEyeConfig()
    if mount not in ("eye_in_hand", "eye_to_hand"):
        raise CalibrationError(f"hand-eye needs mount eye_in_hand or eye_to_hand, got {mount!r}")
    if len(tcp_poses) != len(detections):
        raise CalibrationError(f"{len(tcp_poses)} arm poses for {len(detections)} views")
    if not any(len(d.ids) for d in detections):
        raise CalibrationError(f"no ChArUco board in view in any of the {len(detections)} images")
    cam_board = board_poses(board, detections, intrinsics, cfg.min_corners)
    used = sorted(cam_board)
    if len(used) < cfg.min_views:
        raise CalibrationError(
            f"too few views: {len(used)} of {len(detections)} show the board with >= "
            f"{cfg.min_corners} corners (need {cfg.min_views})"
        )
    base_tcp = [to_matrix(tcp_poses[i].pos, tcp_poses[i].quat) for i in used]
    hand = base_tcp if mount == "eye_in_hand" else [inverse(h) for h in base_tcp]
    check_motion(hand, cfg)
    targets = [cam_board[i] for i in used]
    dets = [detections[i] for i in used]
    rh, th = [h[:3, :3] for h in hand], [h[:3, 3] for h in hand]
    rt, tt = [t[:3, :3] for t in targets], [t[:3, 3] for t in targets]
    inv_hand = [inverse(h) for h in hand]
    candidates: list[tuple[str, np.ndarray, np.ndarray]] = []
    for name, flag in HAND_EYE_METHODS.items():
        r, t = cv2.calibrateHandEye(rh, th, rt, tt, method=flag)
        x = from_rt(r, t)
        w = mean_transform([h @ x @ tg for h, tg in zip(hand, targets, strict=True)])
        candidates.append((name, x, w))
    for name, flag in ROBOT_WORLD_METHODS.items():
        r_bw, t_bw, r_gc, t_gc = cv2.calibrateRobotWorldHandEye(
            rt, tt, [h[:3, :3] for h in inv_hand], [h[:3, 3] for h in inv_hand], method=flag
        )
        candidates.append((name, inverse(from_rt(r_gc, t_gc)), inverse(from_rt(r_bw, t_bw))))
    results = []
    for name, x, w in candidates:
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(w))):
            continue
        rms, mm, deg, views = _residuals(x, w, hand, targets, dets, board, intrinsics)
        results.append(MethodResult(name, x, w, rms, mm, deg, views))
    results.sort(key=lambda m: m.rms_px)
    if cfg.method == "auto":
        best, reason = results[0], "lowest corner reprojection RMS over all views"
    else:
        named = [m for m in results if m.name == cfg.method]
        if not named:
            known = sorted(HAND_EYE_METHODS) + sorted(ROBOT_WORLD_METHODS)
            raise CalibrationError(f"hand-eye method {cfg.method!r} unknown or failed; {known}")
        best, reason = named[0], "chosen by the user"
    return HandEyeResult(mount, best, results, len(detections), used, reason)
