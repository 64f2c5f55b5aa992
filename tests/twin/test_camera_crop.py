"""A camera cropped to a region of interest is a calibration with that region's intrinsics:
``TrainConfig.calibration`` reaches the twin's cameras, and the crop of
benchmarks/cells/front_roi_cell.yaml shows pick_cube's cube larger at the same image size."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_rl.train.config import TrainConfig
from robot_rl.train.run import make_env

pytestmark = pytest.mark.twin

ROI_CELL = Path(__file__).resolve().parents[2] / "benchmarks" / "cells" / "front_roi_cell.yaml"


def _cube_pixels(calibration: str | None) -> list[int]:
    cfg = TrainConfig(task="pick_cube", obs="pixels", image_size=64, calibration=calibration)
    env = make_env(cfg)
    counts = []
    for seed in range(4):
        front = env.reset(seed=seed)[0]["images"]["front"].astype(int)
        red = (front[..., 0] > 120) & (front[..., 1] < 80) & (front[..., 2] < 80)
        counts.append(int(red.sum()))
    env.close()
    return counts


def test_the_cropped_front_camera_shows_the_cube_about_four_times_the_area() -> None:
    full, crop = _cube_pixels(None), _cube_pixels(str(ROI_CELL))
    assert all(c > 0 for c in full)  # the cube is in view either way
    for f, c in zip(full, crop, strict=True):
        assert 2.5 * f < c < 6 * f  # a 2x zoom: 4x the area, give or take the pixel grid
