"""Summary figures by hand, the failure strip, and one-line errors of `robot-rl eval`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.eval import harness

E = harness.EpisodeOutcome


def test_summary_by_hand() -> None:
    outcomes = [
        E(1, True, 30, 1.0, operator_steps=5, interventions=1),
        E(2, True, 50, 1.0),
        E(3, False, 100, 0.0, operator_steps=10, interventions=2),
        E(4, True, 40, 1.0),
    ]
    s = harness.summarize(outcomes, control_hz=10.0)
    assert s["successes"] == 3 and s["success_rate"] == 0.75
    assert s["success_wilson95"] == pytest.approx([0.3006, 0.9544], abs=1e-4)
    assert s["cycle_steps_median"] == 40 and s["cycle_s_median"] == 4.0
    assert s["cycle_steps_mean"] == pytest.approx(40.0)
    assert s["return_mean"] == 0.75
    assert s["intervention_rate"] == pytest.approx(15 / 220)
    assert s["interventions_per_episode"] == 0.75


def test_summary_without_successes_has_no_cycle_time() -> None:
    s = harness.summarize([E(1, False, 100, 0.0)], control_hz=10.0)
    assert s["cycle_steps_median"] is None and s["success_wilson95"][0] == 0.0


def test_failure_strip_is_written_as_a_grid(tmp_path: Path) -> None:
    frames = [(s, np.full((16, 32, 3), 10 * s, np.uint8)) for s in range(5)]
    out = tmp_path / "r"
    path = harness.write_report(out, {"episodes": 5}, [E(0, False, 3, 0.0)], frames, {"x": 1})
    img = cv2.imread(str(out / "failures.png"))
    assert img is not None and img.shape == (32, 128, 3)  # 5 tiles, 4 per row -> 2 rows
    report = json.loads(path.read_text())
    assert report["failures_png"].endswith("failures.png") and report["x"] == 1
    assert report["per_episode"][0]["steps"] == 3
    assert harness.save_failure_strip([], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_missing_run_dir_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(tmp_path / "nope"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no such run folder" in err and len(err.splitlines()) == 1


def test_incomplete_run_dir_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "checkpoint.tmp").mkdir()  # a checkpoint that never finished
    assert main(["eval", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no complete checkpoint" in err and len(err.splitlines()) == 1
    assert main(["eval", str(tmp_path), "--episodes", "0"]) == 2
