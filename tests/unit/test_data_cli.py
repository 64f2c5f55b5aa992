"""``robot-rl data``: ls, show, verify, export and import, and their exit codes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.data.episodes import EpisodeStore
from tests.unit.test_data_lerobot import SPEC, smooth_images
from tests.unit.test_data_rosbag import cell_episode
from tests.unit.test_episodes import write


@pytest.fixture
def store(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    s = EpisodeStore(tmp_path / "s", SPEC, durable=False)
    for k, end in enumerate(("success", "time limit")):
        ep = cell_episode(rng, 6, end)
        ep["images"] = {c: smooth_images(rng, 7) for c in SPEC.cameras}
        write(s, ep, {"seed": k, "task": "reach", "source": "scripted"})
    return tmp_path / "s"


def test_ls_verify_show(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "ls", str(store)]) == 0
    assert "2 episodes" in capsys.readouterr().out
    assert main(["data", "verify", str(store)]) == 0
    assert "2 of 2 episodes intact" in capsys.readouterr().out
    png = tmp_path / "strip.png"
    assert main(["data", "show", str(store), "1", "--out", str(png), "--frames", "4"]) == 0
    strip = cv2.imread(str(png))
    assert strip.shape == (2 * 48 + 18, 4 * 2 * 2 * 64, 3)  # 4 frames of 2 cameras, x2
    mp4 = tmp_path / "ep.mp4"
    assert main(["data", "show", str(store), "0", "--out", str(mp4)]) == 0 and mp4.stat().st_size
    (store / "episodes.zarr" / "000001" / "reward" / "c" / "0").unlink()
    assert main(["data", "verify", str(store)]) == 1
    out = capsys.readouterr().out
    assert "DAMAGED episode 1, array 'reward': file missing" in out and "1 of 2" in out


def test_export_and_import_both_formats(store: Path, tmp_path: Path) -> None:
    for fmt in ("rosbag2", "lerobot"):
        out, back = tmp_path / fmt, tmp_path / f"{fmt}-back"
        assert main(["data", "export", str(store), str(out), "--format", fmt]) == 0
        size = ["--image-size", "48", "64"]
        assert main(["data", "import", str(out), str(back), *size]) == 0  # format detected
        a, b = EpisodeStore(store), EpisodeStore(back)
        assert len(b) == 2
        np.testing.assert_array_equal(a.episode(1).action, b.episode(1).action)


def test_bad_input_exits_2(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "ls", str(tmp_path / "none")]) == 2
    assert main(["data", "import", str(tmp_path / "none"), str(tmp_path / "x")]) == 2
    assert main(["data", "export", str(store), str(store), "--format", "lerobot"]) == 2
    assert main(["data", "show", str(store), "5"]) == 2
    (store / "episodes.zarr" / "000000" / "action" / "c" / "0" / "0").write_bytes(b"x")
    assert main(["data", "export", str(store), str(tmp_path / "b"), "--format", "rosbag2"]) == 2
    err = capsys.readouterr().err
    assert "episode 0, array 'action'" in err and "Traceback" not in err
