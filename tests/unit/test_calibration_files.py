"""The versioned cell file, the camera match check, workspace teaching and the CLI's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from robot_rl.calibration.board import BoardConfig
from robot_rl.calibration.capture import CalibrationError
from robot_rl.calibration.cell_file import (
    SCHEMA_VERSION,
    CalibrationFileError,
    check_camera_matches,
    default_calibration_path,
    load_calibration,
    update_cell_file,
)
from robot_rl.calibration.workspace import teach_workspace, write_corners
from robot_rl.cli import main

V1 = """version: 1
cameras:
  front:
    parent: world
    pos_m: [1.0, 0.4, 0.5]
    quat_wxyz: [1, 0, 0, 0]
    intrinsics: {width: 640, height: 480, fx: 600, fy: 600, cx: 320, cy: 240}
workspace: {low_m: [0.25, -0.35, 0.0], high_m: [0.8, 0.35, 0.5]}
"""


def test_packaged_cell_loads_and_the_twin_reexports_the_loader() -> None:
    from robot_rl.twin import assets

    cal = load_calibration()
    assert cal.version in (1, SCHEMA_VERSION) and {"front", "wrist"} <= set(cal.cameras)
    assert assets.load_calibration is load_calibration
    assert default_calibration_path().is_file()


def test_version_1_loads_and_is_written_back_as_version_2(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(V1)
    cal = load_calibration(old)
    assert cal.version == 1 and cal.cameras["front"].serial == ""
    new = update_cell_file(
        old, tmp_path / "new.yaml", {"cameras": {"front": {"serial": "123", "pos_m": [1, 2, 3]}}}
    )
    data = yaml.safe_load((tmp_path / "new.yaml").read_text())
    assert data["version"] == 2 and data["date"]
    assert new.cameras["front"].serial == "123"
    np.testing.assert_allclose(new.cameras["front"].pos_m, [1, 2, 3])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("version: 7\n", "schema version 7 is not readable"),
        ("cameras: {}\n", "schema version None"),
        ("version: [1\n", "unreadable YAML"),
        ("- a list\n", "expected a calibration mapping"),
        (V1.replace("fx: 600, ", ""), "intrinsics lack 'fx'"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "cell.yaml"
    path.write_text(text)
    with pytest.raises(CalibrationFileError, match=match) as info:
        load_calibration(path)
    assert "\n" not in str(info.value)


def test_a_file_that_would_not_load_is_never_written(tmp_path: Path) -> None:
    with pytest.raises(CalibrationFileError, match="quat_wxyz"):
        update_cell_file(
            None, tmp_path / "x.yaml", {"cameras": {"front": {"quat_wxyz": [2, 0, 0, 0]}}}
        )
    assert not list(tmp_path.iterdir())


def test_mismatched_serial_or_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(V1)
    update_cell_file(path, path, {"cameras": {"front": {"serial": "AAA"}}})
    cam = load_calibration(path).cameras["front"]
    check_camera_matches(cam, "AAA", 640, 480)
    check_camera_matches(cam, "", 640, 480)  # unknown running serial: size still checked
    with pytest.raises(CalibrationFileError, match="serial 'AAA', running camera is 'BBB'"):
        check_camera_matches(cam, "BBB", 640, 480)
    with pytest.raises(
        CalibrationFileError, match="640x480 images, running camera streams 1280x720"
    ):
        check_camera_matches(cam, "AAA", 1280, 720)


def test_workspace_teaching() -> None:
    corners = [np.array([0.3, -0.3, 0.02]), np.array([0.75, 0.3, 0.45])]
    ws = teach_workspace(corners, 0.02, {"home": np.array([[0.5, 0.0, 0.22]])})
    np.testing.assert_allclose(ws.low_m, [0.32, -0.28, 0.04])
    np.testing.assert_allclose(ws.high_m, [0.73, 0.28, 0.43])
    with pytest.raises(CalibrationError, match="does not contain object"):
        teach_workspace(corners, 0.02, {"object": np.array([[0.9, 0.0, 0.1]])})
    with pytest.raises(CalibrationError, match="thinner than 2 cm along z"):
        teach_workspace([np.array([0.3, -0.3, 0.1]), np.array([0.7, 0.3, 0.11])], 0.0, {})


def test_cli_workspace_and_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "corners.csv"
    write_corners(csv, [np.array([0.28, -0.3, 0.01]), np.array([0.78, 0.3, 0.48])])
    out = tmp_path / "cell.yaml"
    args = [
        "calibrate",
        "workspace",
        "--corners",
        str(csv),
        "--out",
        str(out),
        "--task",
        "pick_cube",
    ]
    assert main(args) == 0
    cal = load_calibration(out)
    np.testing.assert_allclose(cal.workspace_low_m, [0.3, -0.28, 0.03])
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [")
    assert main([*args, "--cell", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("calibrate:") and "unreadable YAML" in err and "\n" not in err
    assert (
        main(
            [
                "calibrate",
                "hand-eye",
                "--camera",
                "front",
                "--out",
                str(out),
                "--from-capture",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "no capture.yaml" in capsys.readouterr().err


def test_board_definition_is_checked() -> None:
    assert BoardConfig().n_corners == 48
    with pytest.raises(ValueError, match="unknown keys"):
        BoardConfig.from_dict({"squares": 3})
    with pytest.raises(ValueError, match="marker_m"):
        BoardConfig(marker_m=0.05)


def test_the_shipped_board_asset_is_the_default_board() -> None:
    import cv2

    from robot_rl.calibration.twin_board import TEXTURE_PX_PER_M

    asset = Path(__file__).parents[2] / "sim" / "charuco_board.png"  # printable, 5 px/mm
    shipped = cv2.imread(str(asset), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(shipped, BoardConfig().image(TEXTURE_PX_PER_M))
