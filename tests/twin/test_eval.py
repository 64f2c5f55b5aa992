"""`robot-rl eval` on a checkpoint (one layout for both links: robot_rl.loop.checkpoint)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robot_rl.agents.types import ObsSpec, obs_spec_from_space
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


def test_a_checkpoint_of_another_observation_layout_is_one_line(tmp_path: Path) -> None:
    # pick_cube's object state grew from 10 to 12 values: a run trained before cannot drive
    # the env of today, and eval says so instead of failing inside the network.
    run = tmp_path / "old"
    cfg = default_config("pick_cube", "state")
    LearnerCore(cfg, ObsSpec(30), 7, run).checkpoint({"episodes": 0, "history": []})
    save_json(cfg, run / "config.json")
    cmd = [sys.executable, "-m", "robot_rl.cli", "eval", str(run), "-n", "1", "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "trained on observations (30," in out.stderr and "now gives (32," in out.stderr
    assert "Traceback" not in out.stderr
