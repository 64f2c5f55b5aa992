"""The learner's transition handling, checkpoints and the training config."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.agents.types import ObsSpec
from robot_rl.train import checkpoint
from robot_rl.train.actor import TransitionRecord
from robot_rl.train.config import (
    TrainConfig,
    default_config,
    from_dict,
    load_yaml,
    run_config,
)
from robot_rl.train.learner import Learner

SPEC = ObsSpec(state_dim=5)


def records(
    n: int, start_seq: int = 1, episode_len: int = 10, buffer: str = "online"
) -> list[TransitionRecord]:
    rng = np.random.default_rng(start_seq)
    out, state = [], rng.normal(size=5).astype(np.float32)
    for k in range(n):
        nxt = rng.normal(size=5).astype(np.float32)
        seq = start_seq + k
        out.append(
            TransitionRecord(
                seq,
                {"state": state},
                rng.uniform(-1, 1, 7).astype(np.float32),
                0.0,
                {"state": nxt},
                False,
                seq % episode_len == 0,
                False,
                0,
                env_steps=seq,
                buffer=buffer,  # type: ignore[arg-type]
            )
        )
        state = rng.normal(size=5).astype(np.float32) if seq % episode_len == 0 else nxt
    return out


def small_config(**kw: object) -> TrainConfig:
    cfg = default_config("reach", "state")
    cfg.sac = from_dict({"sac": {"batch_size": 16, "replay_ratio": 1.0}}, cfg).sac
    cfg.random_steps = 0
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def test_ingest_keeps_order_drops_duplicates_and_refuses_gaps(tmp_path: Path) -> None:
    learner = Learner(small_config(), SPEC, tmp_path)
    batch = records(30)
    assert learner.ingest(batch[:20]) == 20
    assert learner.ingest(batch[10:25]) == 25  # a resend after a reconnect: no duplicates
    assert learner.online.num_transitions == 25 and learner.env_steps == 25
    with pytest.raises(RuntimeError, match="gap"):
        learner.ingest(batch[26:])


def test_replay_ratio_is_honoured_exactly(tmp_path: Path) -> None:
    learner = Learner(small_config(), SPEC, tmp_path)
    learner.cfg.sac = from_dict({"sac": {"replay_ratio": 0.5}}, learner.cfg).sac
    for rec in records(40):
        learner.ingest([rec])
        learner.train()
    assert learner.agent.num_updates == 20


def test_checkpoint_round_trip_keeps_replay_and_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    learner = Learner(small_config(), SPEC, tmp_path)
    learner.ingest(records(64))
    learner.train()
    learner.save({"episodes": 6, "history": []})
    again = Learner(small_config(), SPEC, tmp_path)
    folder = checkpoint.latest(tmp_path)
    assert folder is not None
    state = again.restore(folder)
    assert state["episodes"] == 6
    assert again.env_steps == 64 and again.last_seq == 64
    assert again.online.num_transitions == learner.online.num_transitions
    assert again.agent.num_updates == learner.agent.num_updates
    obs = {"state": np.ones(5, np.float32)}
    np.testing.assert_allclose(
        again.agent.act(obs, deterministic=True), learner.agent.act(obs, deterministic=True)
    )
    # It carries on from where it stopped: the next sequence number is accepted.
    assert again.ingest(records(1, start_seq=65)) == 65


def test_a_crash_between_the_renames_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    learner = Learner(small_config(), SPEC, tmp_path)
    learner.ingest(records(20))
    learner.save({"episodes": 2, "history": []})
    # Simulate a kill -9 after "checkpoint -> checkpoint.prev" and before "tmp -> checkpoint".
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.prev")
    (tmp_path / "checkpoint.tmp").mkdir()
    (tmp_path / "checkpoint.tmp" / "agent.pt").write_bytes(b"half written")
    assert checkpoint.latest(tmp_path) == tmp_path / "checkpoint.prev"
    learner.ingest(records(5, start_seq=21))
    learner.save({"episodes": 3, "history": []})  # the next save cleans up
    assert checkpoint.latest(tmp_path) == tmp_path / "checkpoint"
    assert not (tmp_path / "checkpoint.prev").exists()
    assert not (tmp_path / "checkpoint.tmp").exists()


def test_restore_refuses_a_replay_that_does_not_match(tmp_path: Path) -> None:
    learner = Learner(small_config(), SPEC, tmp_path)
    learner.ingest(records(20))
    learner.save({"episodes": 2, "history": []})
    shutil.rmtree(tmp_path / "checkpoint" / "replay")
    other = Learner(small_config(), SPEC, tmp_path)
    other.ingest(records(3))
    from robot_rl.agents.replay_io import save_replay

    save_replay(other.online, tmp_path / "checkpoint" / "replay")
    with pytest.raises(RuntimeError, match="replay holds 3 transitions"):
        Learner(small_config(), SPEC, tmp_path).restore(tmp_path / "checkpoint")


def test_config_overrides_validate_keys(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "task: reach\nenv_steps: 500\nsac:\n  batch_size: 64\n  critic:\n    ensemble_size: 4\n"
    )
    cfg = load_yaml(path)
    assert cfg.task == "reach" and cfg.env_steps == 500
    assert cfg.sac.batch_size == 64 and cfg.sac.critic.ensemble_size == 4
    with pytest.raises(ValueError, match="env_stepz"):
        from_dict({"env_stepz": 5})
    with pytest.raises(ValueError, match="batchsize"):
        from_dict({"sac": {"batchsize": 5}})
    with pytest.raises(ValueError, match="obs"):
        TrainConfig(obs="depth")  # type: ignore[arg-type]


def test_run_config_starts_from_the_default_of_the_named_obs(tmp_path: Path) -> None:
    path = tmp_path / "pix.yaml"
    path.write_text("obs: pixels\nenv_steps: 700\n")
    cfg = run_config(None, None, path)
    pixel_default = default_config("pick_cube", "pixels")
    assert cfg.obs == "pixels" and cfg.env_steps == 700
    assert cfg.image_size == pixel_default.image_size and cfg.sac == pixel_default.sac
    state = run_config("reach", "state", path)  # the command line wins over the YAML
    assert (state.task, state.obs) == ("reach", "state")
    assert state.sac == default_config("reach", "state").sac and state.env_steps == 700
    assert run_config(None, None, None) == default_config("pick_cube", "state")


def test_routed_transitions_land_in_the_buffer_they_name(tmp_path: Path) -> None:
    learner = Learner(small_config(), SPEC, tmp_path)
    online = records(6)
    demo = [replace(r, seq=r.seq + 6, buffer="demo", intervened=True) for r in records(4)]
    learner.ingest(online + demo)
    assert learner.online.num_transitions == 6
    assert learner.demo.num_transitions == 4
    # Env steps come from the actor's counter, not from the number of transitions.
    assert learner.env_steps == 6 and learner.last_seq == 10
