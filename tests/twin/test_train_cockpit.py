"""``robot-rl train --gui``: the cockpit attached to the in-process job, over real HTTP.

The job trains on its own thread (it owns the twin's renderer); the test plays the page
through `TrainCockpit.send`, the call the server's WebSocket handler makes, and reads what
every page sees from ``GET /status`` and ``GET /camera/twin.jpg``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from robot_rl.gui.config import GuiConfig
from robot_rl.gui.sources import OperatorCommand
from robot_rl.gui.twin_graph import wait_for
from robot_rl.loop.control import EpisodeControl
from robot_rl.train.cockpit import CAMERA, TrainCockpit, open_cockpit
from robot_rl.train.config import run_config
from robot_rl.train.run import RunResult, train

pytestmark = pytest.mark.twin
TINY = """
task: reach
obs: state
demos: 0
random_steps: 1000
env_steps: 400
eval_every_steps: 60
eval_episodes: 1
stop_at_success: null
sac: {batch_size: 16, actor: {hidden_dims: [16]}, critic: {hidden_dims: [16]}}
"""


class Recording(TrainCockpit):
    """Keeps every transition the actor sent."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sent: list[Any] = []

    def update(self, actor: Any, learner: Any, sent: list[Any], *rest: Any) -> None:
        self.sent.extend(sent)
        super().update(actor, learner, sent, *rest)


def test_the_cockpit_shows_the_in_process_run_and_its_controls_reach_the_actor(
    tmp_path: Path,
) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    cfg = run_config(None, None, tmp_path / "tiny.yaml")
    cockpit = Recording("train reach/state (in-process)", EpisodeControl(), "env")
    device = open_cockpit(cockpit, GuiConfig(port=0, cameras=(CAMERA,)))
    out: list[RunResult] = []
    job = threading.Thread(target=lambda: out.append(train(cfg, tmp_path / "run", False, cockpit)))
    job.start()

    def status() -> dict[str, Any]:
        with urllib.request.urlopen(device.url + "status", timeout=5) as r:
            return json.loads(r.read())["cell"]

    def click(kind: str) -> None:
        cockpit.send(OperatorCommand(kind, "test-page", time.time()))

    try:
        st = wait_for("acting", status, lambda s: (s["learner"]["env_steps"] or 0) >= 10)
        assert st["run"] == "train reach/state (in-process)" and st["reward"]["source"] == "env"
        with urllib.request.urlopen(device.url + f"camera/{CAMERA}.jpg", timeout=5) as r:
            assert r.read(2) == b"\xff\xd8"  # the twin's rendered view, as JPEG

        click("pause")
        wait_for("paused", status, lambda s: s["paused"])
        held = len(cockpit.sent)
        time.sleep(0.5)
        assert len(cockpit.sent) == held  # no step while paused
        click("resume")
        wait_for("resumed", status, lambda s: not s["paused"])

        n = len(wait_for("mid-episode", lambda: cockpit.sent, lambda s: s[-1].step >= 1))
        click("success")
        wait_for("labelled", status, lambda s: s["labels"] == 1 and s["successes"] >= 1)
        last = next(t for t in cockpit.sent[n:] if t.reward == 1.0)
        i = cockpit.sent.index(last)  # the next episode's first step may not be sent yet
        wait_for("next episode", lambda: cockpit.sent, lambda s: len(s) > i + 1)
        assert last.terminated and cockpit.sent[i + 1].step == 0

        click("estop")
        wait_for("stopped", status, lambda s: s["estop"] and s["paused"])
        with pytest.raises(RuntimeError, match="re-arm"):
            click("resume")
        click("rearm")
        wait_for("re-armed", status, lambda s: not s["estop"] and not s["paused"])
        wait_for(
            "curves after an evaluation", cockpit.curves, lambda c: c.series.get("success_rate")
        )
    finally:
        job.join(timeout=120)
        device.close()
    assert out and out[0].env_steps == 400


def test_train_gui_on_a_busy_port_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from robot_rl.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = [
            "train",
            "--task",
            "reach",
            "--gui",
            "--gui-port",
            str(port),
            "--out",
            str(tmp_path / "r"),
        ]
        assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("robot-rl train:") and "--port" in err and "\n" not in err
    assert not (tmp_path / "r").exists()  # nothing trained
