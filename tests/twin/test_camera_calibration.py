"""The twin's cameras match their calibration: a known 3D point, projected with the calibrated
pinhole model (pose + intrinsics rescaled to the render size), lands where MuJoCo renders it."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from robot_rl.control.rotations import quat_to_mat
from robot_rl.twin.assets import sim_dir
from robot_rl.twin.cell import HOME_Q, CellConfig, TwinCell

pytestmark = pytest.mark.twin


def project(cell: TwinCell, camera: str, point: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixel (u, v) of ``point`` using only the calibration file and the parent body's pose."""
    cal = cell.calibration.cameras[camera]
    if cal.parent == "world":
        r_parent, p_parent = np.eye(3), np.zeros(3)
    else:
        body = cell.model.body(cal.parent).id
        r_parent = cell.data.xmat[body].reshape(3, 3)
        p_parent = cell.data.xpos[body]
    r_cam = r_parent @ quat_to_mat(cal.quat_wxyz)
    p_cam = p_parent + r_parent @ cal.pos_m
    x = r_cam.T @ (point - p_cam)
    k = cal.intrinsics.scaled(size[1], size[0]).matrix()
    uvw = k @ x
    return uvw[:2] / uvw[2]


@pytest.mark.parametrize("camera", ["front", "wrist"])
@pytest.mark.parametrize("size", [(128, 128), (240, 320)])
def test_marker_lands_where_the_calibration_says(camera: str, size: tuple[int, int]) -> None:
    cell = TwinCell(sim_dir() / "tasks" / "reach.xml", CellConfig(image_size=size))
    cell.reset_arm(HOME_Q, 0.08)
    mocap = cell.model.body("target").mocapid[0]
    tcp = cell.data.site_xpos[cell.tcp_site].copy()
    # In front of each camera: the workspace centre, or 12 cm beyond the wrist camera's fingertips.
    point = np.array([0.55, 0.05, 0.08]) if camera == "front" else tcp + np.array([0.0, 0.0, -0.12])
    cell.data.mocap_pos[mocap] = point
    mujoco.mj_forward(cell.model, cell.data)
    img = cell.render(camera).astype(int)
    # Green-dominant pixels, shaded side included (a brightness threshold would bias the centroid).
    green = (img[..., 1] > img[..., 0] + 30) & (img[..., 1] > img[..., 2] + 30)
    assert green.sum() > 3, "marker not visible"
    v, u = np.nonzero(green)
    rendered = np.array([u.mean(), v.mean()])  # OpenCV: pixel centres at integer coordinates
    expected = project(cell, camera, point, size)
    err = np.linalg.norm(rendered - expected)
    print(
        f"\n{camera} {size}: expected {expected.round(2)} "
        f"rendered {rendered.round(2)} err {err:.2f}px"
    )
    # The sphere's silhouette centroid differs from its centre's projection by a fraction of a
    # pixel; a wrong frame convention or principal point is off by many pixels.
    assert err < 0.75
