"""The training job on the twin: kill -9 and resume without losing checkpointed replay, with
one actor and with two (``num_envs: 2``); every env the job makes is closed."""

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
from typing import Any

import numpy as np
import pytest
import yaml

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


def _kill_after_checkpoint(run_dir: Path, cfg: Path, steps: int) -> Path:
    """Train, and kill -9 at a random moment (possibly mid-save) once a checkpoint holds
    ``steps`` env steps; returns what survived: the newest complete checkpoint (or the
    previous one)."""
    proc = _train(run_dir, cfg)
    deadline = time.monotonic() + 600
    while _checkpoint_steps(run_dir) < steps:
        assert proc.poll() is None, (
            f"training ended early:\n{proc.stdout.read() if proc.stdout else ''}"
        )
        assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
        time.sleep(0.05)
    time.sleep(random.Random().uniform(0.0, 1.5))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return next(
        p
        for p in (run_dir / "checkpoint", run_dir / "checkpoint.prev")
        if (p / "state.json").is_file()
    )


def _resume(run_dir: Path, cfg: Path, saved: dict[str, Any]) -> dict[str, Any]:
    """Train again to the end from ``saved`` (a checkpoint's state); the final state."""
    proc = _train(run_dir, cfg)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    assert f"resumed {run_dir} from env step {saved['env_steps']}" in out, out
    return dict(json.loads((run_dir / "checkpoint" / "state.json").read_text()))


def test_kill_9_then_resume_keeps_the_replay(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    run_dir = tmp_path / "run"
    survivor = _kill_after_checkpoint(run_dir, cfg, 200)
    saved = json.loads((survivor / "state.json").read_text())
    before = tmp_path / "replay_before"
    shutil.copytree(survivor / "replay", before)
    final = _resume(run_dir, cfg, saved)
    assert final["env_steps"] == 700 and final["online_transitions"] == 700
    old, new = load_replay(before), load_replay(run_dir / "checkpoint" / "replay")
    assert old.num_transitions == saved["online_transitions"] > 0
    filled = old.cursor_state()["filled"]
    # Every checkpointed slot is still there, unchanged, in the same place.
    for key, arr in old.arrays().items():
        np.testing.assert_array_equal(new.arrays()[key][:filled], arr[:filled], err_msg=key)
    assert (run_dir / "success_vs_robot_minutes.png").is_file()
    assert (run_dir / "metrics.csv").read_text().count("\n") >= 2


def test_kill_9_then_resume_continues_both_of_two_actors(tmp_path: Path) -> None:
    cfg = tmp_path / "two.yaml"
    two = {"num_envs": 2, "env_steps": 300, "eval_every_steps": 300, "checkpoint_every_steps": 50}
    cfg.write_text(yaml.safe_dump({**yaml.safe_load(TINY), **two}))
    run_dir = tmp_path / "run"
    survivor = _kill_after_checkpoint(run_dir, cfg, 100)
    saved = json.loads((survivor / "state.json").read_text())
    assert sum(a["env_steps"] for a in saved["actors"].values()) == saved["env_steps"]
    final = _resume(run_dir, cfg, saved)
    # Both actors went on from their checkpointed steps and seqs: nothing dropped as a
    # duplicate, nothing counted twice.
    assert final["env_steps"] == final["online_transitions"] == 300
    for aid in ("actor0", "actor1"):
        assert final["actors"][aid]["env_steps"] == 150
        assert final["actors"][aid]["episodes"] == final["episodes_by_actor"][aid]
        assert final["highest"][aid] >= 150


def test_train_closes_every_env_it_makes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo, training and evaluation envs are closed by the job: a renderer left to the
    garbage collector can be collected on another thread and print an EGL traceback."""
    from dataclasses import replace

    from robot_rl.train import run
    from robot_rl.train.config import default_config

    made: list[Any] = []
    closed: list[Any] = []
    real_make_env = run.make_env

    def spy(cfg: Any, learned_reward: bool = True) -> Any:
        env = real_make_env(cfg, learned_reward)
        close = env.close
        env.close = lambda: (closed.append(env), close())[1]
        made.append(env)
        return env

    monkeypatch.setattr(run, "make_env", spy)
    cfg = replace(
        default_config("reach", "state"),
        demos=1, random_steps=20, env_steps=40, eval_every_steps=40, eval_episodes=1,
        stop_at_success=None,
    )  # fmt: skip
    run.train(cfg, tmp_path / "run", progress=False)
    assert len(made) == 3  # demos, training, evaluation
    assert all(any(e is c for c in closed) for e in made)
