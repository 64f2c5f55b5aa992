"""The end-of-run summary of `robot-rl train` says what the run lost."""

from __future__ import annotations

from pathlib import Path

from robot_rl.train.config import default_config
from robot_rl.train.report import EvalPoint
from robot_rl.train.run import RunResult, format_summary


def test_the_summary_counts_dropped_blowups_only_when_there_were_some(tmp_path: Path) -> None:
    cfg = default_config("reach", "state")
    result = RunResult(tmp_path, [EvalPoint(1000, 1.7, 10.0, 500, 50.0, 0.8, -3.0)])
    assert "blowups" not in format_summary(cfg, result)
    result.sim_blowups = 2
    assert "physics blowups     2 (their episodes were dropped)" in format_summary(cfg, result)
