"""Calibration solvers on capture folders made by another tool: views rendered with OpenCV
(a homography of the printed board) from known camera and arm poses. No MuJoCo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from robot_rl.calibration.board import BoardConfig
from robot_rl.calibration.capture import CalibrationError, CameraInfo, CaptureWriter, load_capture
from robot_rl.calibration.frames import from_rt, inverse, pose_error, to_matrix
from robot_rl.calibration.handeye import HandEyeConfig, solve_hand_eye
from robot_rl.calibration.intrinsics import detect_all, solve_intrinsics
from robot_rl.calibration.views import DOWN_WXYZ
from robot_rl.cameras.base import Intrinsics
from robot_rl.control.rotations import quat_from_rotvec, quat_mul
from robot_rl.control.safety import Pose

K = Intrinsics(640, 480, 600.0, 605.0, 322.0, 236.0)
BOARD = BoardConfig()
PX_PER_M = 2000.0
TCP_T_CAM = to_matrix(np.array([0.05, -0.02, 0.03]), quat_from_rotvec([0.05, -0.03, 1.5]))
# The board lies face up on the table; the camera looks down from the TCP.
BASE_T_BOARD = from_rt(np.diag([1.0, -1.0, -1.0]), [0.35, 0.14, 0.0])


def render(cam_t_board: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """The printed board seen through pinhole K at ``cam_t_board`` (grey background)."""
    img = BOARD.image(PX_PER_M)
    board_from_px = np.array(
        [[1 / PX_PER_M, 0, -BOARD.margin_m], [0, 1 / PX_PER_M, -BOARD.margin_m], [0, 0, 1]]
    )
    r, t = cam_t_board[:3, :3], cam_t_board[:3, 3]
    h = K.matrix() @ np.column_stack([r[:, 0], r[:, 1], t]) @ board_from_px
    out = cv2.warpPerspective(img, h, (K.width, K.height), flags=cv2.INTER_AREA, borderValue=128)
    out = out.astype(np.float64) + rng.normal(0.0, noise, out.shape)
    return np.repeat(np.clip(np.rint(out), 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def tcp_pose(rng: np.random.Generator, tilt_max: float = 0.4) -> Pose:
    pos = np.array([0.5, 0.0, 0.0]) + rng.uniform([-0.05, -0.05, 0.32], [0.05, 0.05, 0.42])
    swing = quat_from_rotvec(np.append(rng.uniform(-tilt_max, tilt_max, 2), 0.0))
    twist = quat_from_rotvec([0.0, 0.0, rng.uniform(-0.5, 0.5)])
    return Pose(pos, quat_mul(swing, quat_mul(DOWN_WXYZ, twist)))


def make_capture(folder: Path, n: int, noise: float = 1.5, pure_translation: bool = False):
    rng = np.random.default_rng(3)
    writer = CaptureWriter(
        folder, CameraInfo("wrist", "SN1", 640, 480), BOARD, "eye_in_hand", "cv2"
    )
    fixed = tcp_pose(rng)
    written = 0
    while written < n:
        p = tcp_pose(rng)
        if pure_translation:
            p = Pose(p.pos, fixed.quat)
        cam_t_board = inverse(to_matrix(p.pos, p.quat) @ TCP_T_CAM) @ BASE_T_BOARD
        image = render(cam_t_board, noise, rng)
        writer.add(image, p)
        written += 1
    return writer.close()


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory):
    return make_capture(tmp_path_factory.mktemp("cap") / "c", 14)


def test_intrinsics_from_opencv_rendered_views(capture) -> None:
    offline = load_capture(capture.folder)
    result = solve_intrinsics(offline, detect_all(offline))
    k = result.intrinsics
    for name in ("fx", "fy", "cx", "cy"):
        assert abs(getattr(k, name) - getattr(K, name)) / getattr(K, name) < 0.005, name
    assert result.rms_px < 0.5 and result.coverage > 0.2 and result.n_used >= 8


def test_hand_eye_eye_in_hand_recovers_the_mount(capture) -> None:
    result = solve_hand_eye("eye_in_hand", capture.poses, BOARD, detect_all(capture), K)
    dist, angle = pose_error(result.best.x, TCP_T_CAM)
    assert dist < 0.002 and angle < 0.2
    assert len(result.methods) == 7 and result.best.rms_px == min(m.rms_px for m in result.methods)


def test_live_and_offline_captures_solve_the_same(capture) -> None:
    offline = load_capture(capture.folder)
    assert offline.frames is None and capture.frames is not None
    a = solve_hand_eye("eye_in_hand", capture.poses, BOARD, detect_all(capture), K)
    b = solve_hand_eye("eye_in_hand", offline.poses, BOARD, detect_all(offline), K)
    np.testing.assert_array_equal(a.best.x, b.best.x)


def test_pure_translations_are_degenerate(tmp_path: Path) -> None:
    cap = make_capture(tmp_path / "t", 9, pure_translation=True)
    with pytest.raises(CalibrationError, match="degenerate motion"):
        solve_hand_eye("eye_in_hand", cap.poses, BOARD, detect_all(cap), K)


def test_rotations_about_one_axis_are_degenerate() -> None:
    from robot_rl.calibration.handeye import check_motion

    hand = [to_matrix(np.zeros(3), quat_from_rotvec([0.0, 0.0, a])) for a in np.linspace(0, 1, 8)]
    with pytest.raises(CalibrationError, match="one axis"):
        check_motion(hand, HandEyeConfig())


def test_no_board_and_too_few_views(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path / "blank", CameraInfo("x", "", 640, 480), BOARD, "none", "t")
    for _ in range(3):
        writer.add(np.full((480, 640, 3), 128, np.uint8), None)
    blank = writer.close()
    with pytest.raises(CalibrationError, match="no ChArUco board in view"):
        solve_intrinsics(blank, detect_all(blank))
    few = make_capture(tmp_path / "few", 4)
    with pytest.raises(CalibrationError, match="too few views"):
        solve_intrinsics(few, detect_all(few))
    with pytest.raises(CalibrationError, match="too few views"):
        solve_hand_eye("eye_in_hand", few.poses, BOARD, detect_all(few), K)


def test_capture_folder_errors(tmp_path: Path, capture) -> None:
    with pytest.raises(CalibrationError, match=r"no capture\.yaml"):
        load_capture(tmp_path)
    with pytest.raises(CalibrationError, match="not empty"):
        CaptureWriter(capture.folder, CameraInfo("x", "", 640, 480), BOARD, "none", "t")
    (tmp_path / "capture.yaml").write_text("format: [unclosed")
    with pytest.raises(CalibrationError, match="unreadable YAML"):
        load_capture(tmp_path)


def test_initial_guess_reports_the_change_from_factory_values(capture) -> None:
    factory = Intrinsics(640, 480, 590.0, 596.0, 320.0, 240.0)
    result = solve_intrinsics(capture, detect_all(capture), factory=factory)
    assert result.factory_diff is not None
    assert result.factory_diff["fx"] == pytest.approx(10.0, abs=3.0)
    assert result.factory_diff["cy"] == pytest.approx(-4.0, abs=1.5)
