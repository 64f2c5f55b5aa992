"""`robot-rl eval` on a checkpoint (one layout for both links: robot_rl.loop.checkpoint)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robot_rl.agents.types import obs_spec_from_space
from robot_rl.eval import seeds
from robot_rl.loop.learner import LearnerCore
from robot_rl.train.config import default_config, save_json
from robot_rl.train.run import make_env

pytestmark = pytest.mark.twin


def _untrained_run(run_dir: Path) -> None:
    """A run folder as `robot-rl train` writes it, with untrained weights."""
    cfg = default_config("reach", "state")
    env = make_env(cfg)
    learner = LearnerCore(cfg, obs_spec_from_space(env.observation_space), 7, run_dir)
    env.close()
    save_json(cfg, run_dir / "config.json")
    learner.checkpoint({"episodes": 0, "history": []})


def test_eval_cli_writes_report_and_failure_strip(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _untrained_run(run)
    cmd = [sys.executable, "-m", "robot_rl.cli", "eval", str(run), "-n", "3", "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Wilson 95%" in out.stdout
    report = json.loads((run / "eval" / "eval.json").read_text())
    assert report["episodes"] == 3 and report["seeds"] == [
        seeds.FRESH_SEED_BASE,
        seeds.FRESH_SEED_BASE + 3,
    ]
    assert [e["seed"] for e in report["per_episode"]] == list(range(*report["seeds"]))
    lo, hi = report["success_wilson95"]
    assert lo <= report["success_rate"] <= hi
    failed = report["episodes"] - report["successes"]
    assert (run / "eval" / "failures.png").is_file() == (failed > 0)
