"""The learner core: ordered intake, replay ratio, checkpoints, divergence, configs."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.agents.types import ObsSpec
from robot_rl.loop import checkpoint
from robot_rl.loop.learner import DivergenceError, LearnerCore
from robot_rl.loop.types import Transition
from robot_rl.train.config import (
    TrainConfig,
    default_config,
    from_dict,
    load_yaml,
    run_config,
)

SPEC = ObsSpec(state_dim=5)


def records(
    n: int, start_seq: int = 1, episode_len: int = 10, buffer: str = "online", actor: str = "a"
) -> list[Transition]:
    rng = np.random.default_rng(start_seq)
    out, state = [], rng.normal(size=5).astype(np.float32)
    for k in range(n):
        nxt = rng.normal(size=5).astype(np.float32)
        seq = start_seq + k
        out.append(
            Transition(
                actor, seq, (seq - 1) // episode_len, (seq - 1) % episode_len, 0,
                {"state": state}, rng.uniform(-1, 1, 7).astype(np.float32), 0.0,
                {"state": nxt}, False, seq % episode_len == 0, False, 0,
                buffer,  # type: ignore[arg-type]
            )
        )  # fmt: skip
        state = rng.normal(size=5).astype(np.float32) if seq % episode_len == 0 else nxt
    return out


def small_config(**kw: object) -> TrainConfig:
    cfg = default_config("reach", "state")
    cfg.sac = from_dict({"sac": {"batch_size": 16, "replay_ratio": 1.0}}, cfg).sac
    cfg.random_steps = 0
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def learner(path: Path, cfg: TrainConfig | None = None) -> LearnerCore:
    return LearnerCore(cfg or small_config(), SPEC, 7, path)


def feed(core: LearnerCore, batch: list[Transition]) -> int:
    for t in batch:
        core.receive(t)
    return core.acks.get("a", 0)


def test_intake_keeps_order_drops_duplicates_and_holds_early_ones(tmp_path: Path) -> None:
    core = learner(tmp_path)
    batch = records(30)
    assert feed(core, batch[:20]) == 20
    assert feed(core, batch[10:25]) == 25  # a resend after a reconnect: no duplicates
    assert core.online.num_transitions == 25 and core.env_steps == 25
    assert feed(core, batch[26:]) == 25  # a gap: held, not stored
    assert feed(core, batch[25:26]) == 30 and core.online.num_transitions == 30


def test_replay_ratio_is_honoured_exactly(tmp_path: Path) -> None:
    core = learner(tmp_path)
    core.cfg.sac = from_dict({"sac": {"replay_ratio": 0.5}}, core.cfg).sac
    for rec in records(40):
        core.receive(rec)
        core.train()
    assert core.agent.num_updates == 20


def test_no_update_during_the_random_warm_up(tmp_path: Path) -> None:
    core = learner(tmp_path, small_config(random_steps=30))
    feed(core, records(30))
    assert core.train() == 0
    feed(core, records(4, start_seq=31))
    assert core.train() == 4


def test_checkpoint_round_trip_keeps_replay_and_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    core = learner(tmp_path)
    feed(core, records(64))
    core.train()
    core.checkpoint({"episodes": 6, "history": []})
    again = learner(tmp_path)
    assert again.restored is not None and again.restored["episodes"] == 6
    assert again.env_steps == 64 and again.acks == {"a": 64}
    assert again.online.num_transitions == core.online.num_transitions
    assert again.agent.num_updates == core.agent.num_updates
    obs = {"state": np.ones(5, np.float32)}
    np.testing.assert_allclose(
        again.agent.act(obs, deterministic=True), core.agent.act(obs, deterministic=True)
    )
    # It carries on from where it stopped: the next sequence number is accepted.
    assert feed(again, records(1, start_seq=65)) == 65
    cfg, agent = checkpoint.load_policy(tmp_path)
    assert cfg == core.cfg
    np.testing.assert_allclose(
        agent.act(obs, deterministic=True), core.agent.act(obs, deterministic=True)
    )


def test_a_crash_between_the_renames_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    core = learner(tmp_path)
    feed(core, records(20))
    core.checkpoint({"episodes": 2})
    # Simulate a kill -9 after "checkpoint -> checkpoint.prev" and before "tmp -> checkpoint".
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.prev")
    (tmp_path / "checkpoint.tmp-1").mkdir()
    (tmp_path / "checkpoint.tmp-1" / "agent.pt").write_bytes(b"half written")
    assert checkpoint.latest(tmp_path) == tmp_path / "checkpoint.prev"
    assert learner(tmp_path).env_steps == 20
    feed(core, records(5, start_seq=21))
    core.checkpoint({"episodes": 3})  # the next save cleans up
    assert checkpoint.latest(tmp_path) == tmp_path / "checkpoint"
    assert not (tmp_path / "checkpoint.prev").exists()


def test_restore_refuses_a_replay_that_does_not_match(tmp_path: Path) -> None:
    core = learner(tmp_path)
    feed(core, records(20))
    core.checkpoint()
    shutil.rmtree(tmp_path / "checkpoint" / "replay")
    other = learner(tmp_path / "other")
    feed(other, records(3))
    from robot_rl.agents.replay_io import save_replay

    save_replay(other.online, tmp_path / "checkpoint" / "replay")
    with pytest.raises(RuntimeError, match="replay holds 3 transitions"):
        learner(tmp_path)


def test_a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    core = learner(tmp_path)
    feed(core, records(32))
    core.train()
    core.checkpoint({"episodes": 3})
    good = (tmp_path / "checkpoint" / "agent.pt").read_bytes()
    # `sac.discount: .nan` (the config loader refuses it; the guard is the last line).
    core = learner(tmp_path, small_config(sac=replace(small_config().sac, discount=math.nan)))
    feed(core, records(8, start_seq=33))
    with pytest.raises(DivergenceError, match=r"non-finite \w+.* at update \d+"):
        core.train()
    # The failed update already wrote NaN weights: the checkpoint refuses to save them.
    with pytest.raises(DivergenceError, match="non-finite weight critic"):
        core.checkpoint()
    assert (tmp_path / "checkpoint" / "agent.pt").read_bytes() == good


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
    core = learner(tmp_path)
    online = records(6)
    # A human's steps 2-5, routed to both buffers right after their online copy.
    sent: list[Transition] = []
    for i, r in enumerate(online):
        sent.append(replace(r, seq=len(sent) + 1))
        if i >= 2:
            sent.append(replace(r, seq=len(sent) + 1, buffer="demo", intervened=True))
    feed(core, sent)
    assert core.online.num_transitions == 6
    assert core.demo.num_transitions == 4
    # Env steps count (episode, step) pairs, not transitions.
    assert core.env_steps == 6 and core.acks == {"a": 10}
