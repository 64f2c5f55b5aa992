"""Teleop demo recording in the twin into zarr, headless: the keyboard runs from a
scripted key stream, and the expert records through the same device path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from robot_rl.cli import main
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.recorder import episode_spec
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.arbiter import Arbiter, ArbiterConfig
from robot_rl.hil.commanders import DeviceCommander
from robot_rl.hil.devices.keyboard import Keyboard, ScriptedKeys, parse_key_script
from robot_rl.hil.frames import FrameConfig
from robot_rl.hil.mapping import MappingConfig
from robot_rl.hil.record import RecordConfig, record_demos

pytestmark = pytest.mark.twin


def setup(tmp_path: Path, script: str, yaw: float = 0.0, then: str = "release"):
    env = TwinEnv(task="reach", obs="state")
    frame = FrameConfig(operator_yaw_rad=yaw)
    mapping = Arbiter.for_env(ArbiterConfig(mapping=MappingConfig(frame)), env).mapping
    kb = Keyboard(source=ScriptedKeys(parse_key_script(script), then=then))
    store = EpisodeStore(tmp_path / "demos", episode_spec(env), durable=False)
    return env, DeviceCommander(kb), mapping, store


def test_scripted_keys_record_an_episode_in_the_action_frame(tmp_path: Path) -> None:
    # Across the table: the operator's "left" (a) is the base's -y.
    env, cmdr, mapping, store = setup(tmp_path, "a *4\nr *3\nreturn", yaw=math.pi)
    attempts = record_demos(env, cmdr, mapping, store, RecordConfig(episodes=1), "keyboard")
    assert [a.reason for a in attempts] == ["operator_success"] and attempts[0].index == 0
    ep = EpisodeStore(tmp_path / "demos").episode(0)
    assert ep.num_steps == 8 and ep.intervened.all()
    np.testing.assert_allclose(ep.action[:4, :3], [[0, -1, 0]] * 4, atol=1e-6)
    np.testing.assert_allclose(ep.action[4:7, :3], [[0, 0, 1]] * 3, atol=1e-6)
    assert ep.state[7, 1] < ep.state[0, 1] - 0.04  # the TCP really went to base -y
    assert ep.state[7, 2] > ep.state[4, 2] + 0.03  # and up
    assert np.all(np.diff(ep.timestamp_ns) > 0)
    assert EpisodeStore(tmp_path / "demos").metadata(0)["source"] == "keyboard"


def test_failure_and_reset_discard_and_a_lost_device_stops(tmp_path: Path) -> None:
    env, cmdr, mapping, store = setup(tmp_path, "w *2\nbackspace\nn\nw", then="lost")
    attempts = record_demos(env, cmdr, mapping, store, RecordConfig(episodes=2), "keyboard")
    assert [a.reason for a in attempts] == ["failure", "reset", "device_lost"]
    assert all(a.index is None for a in attempts) and len(store) == 0
    assert "scripted key stream exhausted" in cmdr.lost


def run_cli(argv: list[str]) -> int:
    return main(argv)


def test_cli_record_demos_by_the_expert(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "expert"
    rc = run_cli(
        ["record-demos", "--teleop", "expert", "--task", "reach", "--obs", "state",
         "--episodes", "2", "--out", str(out), "--operator-yaw-deg", "180"]
    )  # fmt: skip
    assert rc == 0
    store = EpisodeStore(out)
    assert len(store) == 2 and all(store.metadata(i)["success"] for i in range(2))
    assert "kept 2" in capsys.readouterr().out


def test_cli_record_demos_from_a_key_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# lift, then declare success\nr *3\nreturn\n")
    out = tmp_path / "kb"
    argv = ["record-demos", "--teleop", "keyboard", "--keys", str(keys), "--task", "reach"]
    assert run_cli([*argv, "--obs", "state", "--episodes", "1", "--out", str(out)]) == 0
    assert EpisodeStore(out).episode(0).num_steps == 4
