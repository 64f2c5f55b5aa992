"""Calibration against the twin's ground truth: a cell file perturbed by 1 cm per axis and 2 deg
is recalibrated live (arm driven through the safety filter, noisy 640x480 renders) and must
recover the twin's true cameras; the written capture folder solves offline to the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.calibration.capture import load_capture
from robot_rl.calibration.cell_file import load_calibration, update_cell_file
from robot_rl.calibration.frames import pose_error, to_matrix
from robot_rl.calibration.views import HAND_T_TCP
from robot_rl.cli import main
from robot_rl.control.rotations import mat_to_quat, quat_from_rotvec, quat_to_mat
from robot_rl.twin.assets import sim_dir
from robot_rl.twin.cell import HOME_Q, TwinCell

pytestmark = pytest.mark.twin

NOISE = "2.0"  # grey levels, Gaussian
VIEWS = "16"


def perturbed_cell(tmp: Path) -> Path:
    truth = load_calibration()
    edit = {}
    for i, (name, cam) in enumerate(truth.cameras.items()):
        sign = 1.0 if i % 2 == 0 else -1.0
        axis = np.array([1.0, -2.0, 0.5]) * sign
        turn = quat_to_mat(quat_from_rotvec(np.radians(2.0) * axis / np.linalg.norm(axis)))
        edit[name] = {
            "pos_m": (cam.pos_m + sign * np.array([0.01, -0.01, 0.01])).tolist(),
            "quat_wxyz": mat_to_quat(quat_to_mat(cam.quat_wxyz) @ turn).tolist(),
        }
    update_cell_file(None, tmp / "perturbed.yaml", {"cameras": edit})
    return tmp / "perturbed.yaml"


def pose_of(path: Path, camera: str) -> np.ndarray:
    cam = load_calibration(path).cameras[camera]
    return to_matrix(cam.pos_m, cam.quat_wxyz)


@pytest.mark.parametrize("camera", ["front", "wrist"])
def test_round_trip_offline_equality_and_intrinsics(tmp_path: Path, camera: str) -> None:
    prior = perturbed_cell(tmp_path)
    truth = pose_of(Path(load_calibration().source), camera)
    start_d, start_a = pose_error(pose_of(prior, camera), truth)
    assert start_d > 0.015 and start_a > 1.9  # the prior really is off
    capture = tmp_path / "capture"
    live, offline = tmp_path / "live.yaml", tmp_path / "offline.yaml"
    common = ["--camera", camera, "--cell", str(prior)]
    assert (
        main(
            [
                "calibrate",
                "hand-eye",
                *common,
                "--out",
                str(live),
                "--capture",
                str(capture),
                "--views",
                VIEWS,
                "--noise",
                NOISE,
            ]
        )
        == 0
    )
    d, a = pose_error(pose_of(live, camera), truth)
    print(
        f"\n{camera}: prior off by {start_d * 1e3:.1f} mm {start_a:.2f} deg; "
        f"calibrated off by {d * 1e3:.2f} mm {a:.3f} deg"
    )
    assert d <= 0.002 and a <= 0.2
    assert (capture / "report-hand-eye.png").stat().st_size > 10_000
    assert (
        main(
            [
                "calibrate",
                "hand-eye",
                *common,
                "--out",
                str(offline),
                "--from-capture",
                str(capture),
            ]
        )
        == 0
    )
    np.testing.assert_allclose(pose_of(offline, camera), pose_of(live, camera), atol=1e-9)
    intr = tmp_path / "intr.yaml"
    assert (
        main(
            ["calibrate", "intrinsics", *common, "--out", str(intr), "--from-capture", str(capture)]
        )
        == 0
    )
    got, want = load_calibration(intr).cameras[camera], load_calibration().cameras[camera]
    for key in ("fx", "fy", "cx", "cy"):
        rel = abs(getattr(got.intrinsics, key) - getattr(want.intrinsics, key)) / getattr(
            want.intrinsics, key
        )
        print(f"  {key}: {getattr(got.intrinsics, key):.3f} ({rel:.3%})")
        assert rel < 0.005, key
    assert got.serial == f"twin:{camera}" and got.record["intrinsics"]["n_views"] >= 8
    assert load_capture(capture).mount == ("eye_to_hand" if camera == "front" else "eye_in_hand")


def test_the_tcp_offset_matches_the_arm_model() -> None:
    cell = TwinCell(sim_dir() / "cell.xml")
    m = cell.model
    site = m.site("tcp")
    assert site.bodyid[0] == m.body("hand").id
    np.testing.assert_allclose(site.pos, HAND_T_TCP[:3, 3])
    np.testing.assert_allclose(site.quat, [1, 0, 0, 0])


def test_an_off_centre_principal_point_renders_where_opencv_projects(tmp_path: Path) -> None:
    """The twin honours cx, cy in OpenCV's convention (a board view reprojects to 0.2 px)."""
    from robot_rl.calibration.board import BoardConfig, detect
    from robot_rl.calibration.frames import inverse
    from robot_rl.calibration.twin_board import BoardCell
    from robot_rl.calibration.views import board_in_world
    from robot_rl.twin.cell import CellConfig

    cell_file = tmp_path / "offset.yaml"
    intr = {"width": 640, "height": 480, "fx": 610.0, "fy": 600.0, "cx": 300.0, "cy": 200.0}
    update_cell_file(None, cell_file, {"cameras": {"front": {"intrinsics": intr}}})
    cam = load_calibration(cell_file).cameras["front"]
    base_cam = to_matrix(cam.pos_m, cam.quat_wxyz)
    board = BoardConfig()
    centre = base_cam[:3, :3] @ np.array([0.02, 0.04, 0.45]) + base_cam[:3, 3]
    base_board = board_in_world(board, centre, cam.pos_m)
    cfg = CellConfig(calibration=str(cell_file), image_size=(480, 640), cameras=("front",))
    twin = BoardCell(sim_dir() / "cell.xml", cfg, board, "world", base_board)
    twin.reset_arm(HOME_Q, 0.08)  # also computes the camera poses (mj_forward)
    det = detect(board, twin.render("front"))
    twin.close()
    assert len(det.ids) == board.n_corners
    homog = np.c_[board.corners_m()[det.ids], np.ones(len(det.ids))].T
    pts = (inverse(base_cam) @ base_board @ homog)[:3]
    k = cam.intrinsics
    uv = np.stack([k.fx * pts[0] / pts[2] + k.cx, k.fy * pts[1] / pts[2] + k.cy], axis=1)
    err = np.linalg.norm(uv - det.corners_px, axis=1)
    print(f"\noff-centre principal point: mean {err.mean():.3f} px, max {err.max():.3f} px")
    assert err.mean() < 0.2
