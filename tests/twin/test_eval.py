"""`robot-rl eval` on checkpoints written by the training job and by the graph learner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.types import obs_spec_from_space
from robot_rl.eval import seeds
from robot_rl.eval.cli import run_eval
from robot_rl.train.config import default_config, save_json
from robot_rl.train.learner import Learner
from robot_rl.train.run import make_env

pytestmark = pytest.mark.twin


def _untrained_run(run_dir: Path) -> None:
    """A run folder as `robot-rl train` writes it, with untrained weights."""
    cfg = default_config("reach", "state")
    env = make_env(cfg)
    learner = Learner(cfg, obs_spec_from_space(env.observation_space), run_dir)
    env.close()
    run_dir.mkdir()
    save_json(cfg, run_dir / "config.json")
    learner.save({"episodes": 0, "history": []})


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


def test_eval_reads_a_graph_learner_checkpoint(tmp_path: Path) -> None:
    from robot_rl.agents.sac import SACAgent
    from robot_rl.nodes.checkpoint import save_checkpoint

    cfg = default_config("reach", "state")
    env = make_env(cfg)
    spec = obs_spec_from_space(env.observation_space)
    env.close()
    agent = SACAgent(cfg.sac, spec)
    meta = {"env_steps": 123, "highest": {}, "version": 0, "wal_segment": 0}
    save_checkpoint(tmp_path / "learner", agent.state_dict(), ReplayBuffer(10, spec, 7), meta)
    with pytest.raises(ValueError, match="pass --task and --obs"):
        run_eval(tmp_path / "learner", episodes=1, progress=False)
    summary, path = run_eval(
        tmp_path / "learner", episodes=2, progress=False, task="reach", obs="state"
    )
    assert summary["episodes"] == 2
    assert json.loads(path.read_text())["trained_env_steps"] == 123
