"""pyproject's explicit package list must name every subpackage, or the wheel misses code."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")


ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "robot_rl").rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert {"robot_rl.sim", "robot_rl.cells"} <= listed


def test_assets_are_package_data() -> None:
    from robot_rl.twin.assets import default_calibration_path, sim_dir

    assert (sim_dir() / "arm.xml").is_file()
    assert (sim_dir() / "tasks" / "peg_insert.xml").is_file()
    assert default_calibration_path().is_file()
