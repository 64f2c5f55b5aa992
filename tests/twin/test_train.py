"""The training job on the twin: kill -9 and resume without losing checkpointed replay."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from robot_rl.agents.replay_io import load_replay

pytestmark = pytest.mark.twin

TINY = """
task: reach
obs: state
demos: 2
random_steps: 100
env_steps: 700
eval_every_steps: 350
eval_episodes: 2
checkpoint_every_steps: 100
stop_at_success: null
sac:
  batch_size: 64
  replay_ratio: 0.5
"""


def _train(run_dir: Path, cfg: Path) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "robot_rl.cli",
        "train",
        "--task",
        "reach",
        "--config",
        str(cfg),
        "--out",
        str(run_dir),
        "--quiet",
    ]
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def _checkpoint_steps(run_dir: Path) -> int:
    state = run_dir / "checkpoint" / "state.json"
    try:
        return int(json.loads(state.read_text())["env_steps"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def test_kill_9_then_resume_keeps_the_replay(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    run_dir = tmp_path / "run"
    proc = _train(run_dir, cfg)
    deadline = time.monotonic() + 600
    while _checkpoint_steps(run_dir) < 200:
        assert proc.poll() is None, (
            f"training ended early:\n{proc.stdout.read() if proc.stdout else ''}"
        )
        assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
        time.sleep(0.05)
    time.sleep(random.Random().uniform(0.0, 1.5))  # a random moment, possibly mid-save
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # What survived the kill: the newest complete checkpoint (or the previous one).
    survivor = next(
        p
        for p in (run_dir / "checkpoint", run_dir / "checkpoint.prev")
        if (p / "state.json").is_file()
    )
    saved = json.loads((survivor / "state.json").read_text())
    before = tmp_path / "replay_before"
    shutil.copytree(survivor / "replay", before)
    proc = _train(run_dir, cfg)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    assert f"resumed {run_dir} from env step {saved['env_steps']}" in out, out
    final = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert final["env_steps"] == 700 and final["online_transitions"] == 700
    old, new = load_replay(before), load_replay(run_dir / "checkpoint" / "replay")
    assert old.num_transitions == saved["online_transitions"] > 0
    filled = old.cursor_state()["filled"]
    # Every checkpointed slot is still there, unchanged, in the same place.
    for key, arr in old.arrays().items():
        np.testing.assert_array_equal(new.arrays()[key][:filled], arr[:filled], err_msg=key)
    assert (run_dir / "success_vs_robot_minutes.png").is_file()
    assert (run_dir / "metrics.csv").read_text().count("\n") >= 2
