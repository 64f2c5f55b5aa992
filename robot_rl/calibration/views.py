"""Generating the arm poses of a capture: diverse, inside the safety limits, board in view.

Candidates are random TCP poses (tilted and twisted from "gripper down") in a region of the
workspace; a candidate is kept when the PRIOR calibration predicts the whole board inside the
image and seen from the front. Farthest-point sampling then picks diverse poses, and a
nearest-neighbour tour orders them to keep the arm's travel short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_rl.calibration.board import BoardConfig
from robot_rl.calibration.frames import inverse, look_at_optical, to_matrix
from robot_rl.cameras.base import Intrinsics
from robot_rl.control.rotations import quat_from_rotvec, quat_mul
from robot_rl.control.safety import Pose

DOWN_WXYZ = np.array([0.0, 1.0, 0.0, 0.0])  # TCP z pointing down: the safety filter's nominal
# Hand (flange body) -> TCP of the arm (sim/arm.xml site "tcp"; a Franka hand's 0.1034 m).
HAND_T_TCP = to_matrix(np.array([0.0, 0.0, 0.1034]), np.array([1.0, 0.0, 0.0, 0.0]))


@dataclass(frozen=True)
class ViewPlanConfig:
    """Where and how the arm may go during a capture."""

    n_views: int = 20
    region_low_m: tuple[float, float, float] = (0.35, -0.2, 0.28)  # TCP region (base frame)
    region_high_m: tuple[float, float, float] = (0.65, 0.2, 0.45)
    max_tilt_rad: float = 0.55  # from gripper-down (safety filter default limit: 0.6)
    max_twist_rad: float = 0.9  # about the TCP z (safety filter default limit: 1.7)
    image_margin_px: float = 20.0  # predicted corners stay this far inside the image
    max_view_angle_deg: float = 70.0  # board normal vs. line of sight
    candidates: int = 4000


def board_in_world(board: BoardConfig, center: np.ndarray, viewer: np.ndarray) -> np.ndarray:
    """4x4 board pose with its centre at ``center`` facing ``viewer``, rows upright."""
    r = look_at_optical(viewer, center, np.array([0.0, 0.0, 1.0]))
    t = np.eye(4)
    t[:3, :3] = r
    half = np.array([board.squares_x * board.square_m, board.squares_y * board.square_m, 0]) / 2
    t[:3, 3] = center - r @ half
    return t


def table_board(board: BoardConfig, center_xy: tuple[float, float]) -> np.ndarray:
    """base <- board for a board lying face up on the table (z = 0) centred at ``center_xy``."""
    r = np.diag([1.0, -1.0, -1.0])  # board x = base x, board y = -base y, face up
    half = np.array([board.squares_x * board.square_m, board.squares_y * board.square_m, 0]) / 2
    center = np.array([center_xy[0], center_xy[1], 0.002])  # printed face on top of the plate
    t = np.eye(4)
    t[:3, :3] = r
    t[:3, 3] = center - r @ half
    return t


def visible(
    cam_t_board: np.ndarray, board: BoardConfig, k: Intrinsics, cfg: ViewPlanConfig
) -> bool:
    """True when every inner corner projects inside the image margin, in front of the camera,
    and the board is seen at most ``max_view_angle_deg`` off its normal."""
    pts = cam_t_board[:3, :3] @ board.corners_m().T + cam_t_board[:3, 3:4]
    if np.any(pts[2] < 0.1):
        return False
    u = k.fx * pts[0] / pts[2] + k.cx
    v = k.fy * pts[1] / pts[2] + k.cy
    m = cfg.image_margin_px
    if u.min() < m or v.min() < m or u.max() > k.width - 1 - m or v.max() > k.height - 1 - m:
        return False
    normal = cam_t_board[:3, 2]  # board z (into the board) in the camera frame
    ray = cam_t_board[:3, 3] / np.linalg.norm(cam_t_board[:3, 3])
    return float(normal @ ray) > np.cos(np.radians(cfg.max_view_angle_deg))


def random_tcp(rng: np.random.Generator, cfg: ViewPlanConfig) -> Pose:
    pos = rng.uniform(cfg.region_low_m, cfg.region_high_m)
    axis_angle = rng.uniform(0.0, 2 * np.pi)
    tilt = cfg.max_tilt_rad * np.sqrt(rng.uniform())
    twist = rng.uniform(-cfg.max_twist_rad, cfg.max_twist_rad)
    swing = quat_from_rotvec(tilt * np.array([np.cos(axis_angle), np.sin(axis_angle), 0.0]))
    quat = quat_mul(swing, quat_mul(DOWN_WXYZ, quat_from_rotvec([0.0, 0.0, twist])))
    return Pose(pos, quat)


def plan_views(
    mount: str,
    board: BoardConfig,
    intrinsics: Intrinsics,
    prior_x: np.ndarray,
    board_t: np.ndarray,
    start: Pose,
    cfg: ViewPlanConfig,
    seed: int = 0,
) -> list[Pose]:
    """``cfg.n_views`` TCP goals. ``prior_x``: TCP <- cam (eye-in-hand) or base <- cam
    (eye-to-hand) from the prior calibration; ``board_t``: base <- board (eye-in-hand) or
    TCP <- board (eye-to-hand). Raises ValueError when too few candidates show the board."""
    rng = np.random.default_rng(seed)
    kept: list[Pose] = []
    for _ in range(cfg.candidates):
        p = random_tcp(rng, cfg)
        base_tcp = to_matrix(p.pos, p.quat)
        if mount == "eye_in_hand":
            cam_board = inverse(base_tcp @ prior_x) @ board_t
        else:
            cam_board = inverse(prior_x) @ base_tcp @ board_t
        if visible(cam_board, board, intrinsics, cfg):
            kept.append(p)
    if len(kept) < cfg.n_views:
        raise ValueError(
            f"only {len(kept)} of {cfg.candidates} candidate poses show the whole board "
            f"(need {cfg.n_views}); check the prior camera pose and the view region"
        )
    feats = np.array([np.concatenate([p.pos / 0.1, p.quat / 0.2]) for p in kept])
    chosen = [int(rng.integers(len(kept)))]
    dist = np.linalg.norm(feats - feats[chosen[0]], axis=1)
    while len(chosen) < cfg.n_views:
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(feats - feats[nxt], axis=1))
    tour, here = [], np.concatenate([start.pos / 0.1, start.quat / 0.2])
    left = set(chosen)
    while left:
        nxt = min(left, key=lambda i: float(np.linalg.norm(feats[i] - here)))
        tour.append(kept[nxt])
        here = feats[nxt]
        left.remove(nxt)
    return tour
