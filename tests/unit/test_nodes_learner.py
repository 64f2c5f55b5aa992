"""Learner node logic over the inproc bus: acks only what is in its log, resumes from a
checkpoint plus the log after a crash, several actors, weight versions that keep rising."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import PolicyWeights, TransitionAck
from robot_rl.bus.msgs import Transition as TransitionMsg
from robot_rl.loop.types import Transition
from robot_rl.nodes.learner import LearnerConfig, LearnerNode, make_core
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig
from robot_rl.nodes.transitions import to_msg

# The shared TrainConfig, small: the same keys `robot-rl train --config` takes.
SMALL = (
    "{sac: {actor: {hidden_dims: [16]}, critic: {hidden_dims: [16]}, batch_size: 4,"
    " replay: {capacity_frames: 500}}, random_steps: 8, weights_every_updates: 4}"
)


def _cfg(tmp_path: Path, **kw: object) -> LearnerConfig:
    policy = PolicyConfig(task="reach", overrides=SMALL)
    base = {"obs": ObsConfig(), "policy": policy, "checkpoint_dir": str(tmp_path / "l")}
    base.update(ack_period_s=1e9)
    base.update(kw)
    return LearnerConfig(**base)  # type: ignore[arg-type]


def _t(seq: int, actor: str = "a") -> Transition:
    obs = {"state": np.full(20, seq, np.float32)}
    nxt = {"state": np.full(20, seq + 1, np.float32)}
    action = np.full(7, seq / 100, np.float32)
    return Transition(
        actor, seq, 1, seq, seq * 10**9, obs, action, float(seq), nxt, False, seq % 5 == 0, False, 0
    )


def _msg(seq: int, actor: str = "a") -> TransitionMsg:
    return to_msg(_t(seq, actor))


def test_acks_follow_contiguity_per_actor(tmp_path: Path) -> None:
    bus = InprocBus(clock=SimClock())
    node = LearnerNode(bus, _cfg(tmp_path))
    acks: list[tuple[str, int]] = []
    bus.subscribe(
        "transition_ack",
        TransitionAck,
        lambda m: acks.append((m.actor_id, m.highest_contiguous_seq)),
    )
    pub = bus.publisher("transitions", TransitionMsg)
    for seq in (1, 3, 2):
        pub.publish(_msg(seq))
    pub.publish(_msg(1, "b"))
    node.poll()
    assert set(acks) == {("a", 3), ("b", 1)}
    assert node.core.env_steps == 4 and node.core.intake.duplicates == 0
    node.close()


def test_a_killed_learner_resumes_from_its_log_without_losing_acked_transitions(
    tmp_path: Path,
) -> None:
    cfg = _cfg(tmp_path)
    first = make_core(cfg)
    for seq in range(1, 8):
        first.receive(_t(seq))
    first.flush()  # what an ack promises; then the process dies without closing
    second = make_core(cfg)
    assert second.intake.highest == {"a": 7}
    assert second.replayed == 7 and second.env_steps == 7
    assert second.receive(_t(7)) == 0  # the actor's resend is a duplicate
    assert second.receive(_t(8)) == 1
    second.close()


def test_checkpoint_then_log_then_restart(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    core = make_core(cfg)
    for seq in range(1, 11):
        core.receive(_t(seq))
    assert core.train(max_updates=1) == 1
    core.checkpoint()
    for seq in range(11, 14):
        core.receive(_t(seq))
    core.flush()
    state = json.loads((tmp_path / "l" / "checkpoint" / "state.json").read_text())
    assert state["highest"] == {"a": 10}
    again = make_core(cfg)  # checkpoint (10) + log (3)
    assert again.intake.highest == {"a": 13} and again.replayed == 3
    assert again.agent.num_updates == 1 and again.online.num_transitions == 13
    idx = again.online.valid_indices()
    assert np.allclose(again.online.reward[idx], np.arange(1, 14))  # in seq order
    again.close()


def test_weight_versions_keep_increasing_across_restarts(tmp_path: Path) -> None:
    bus = InprocBus(clock=SimClock())
    versions: list[int] = []
    bus.subscribe("policy_weights", PolicyWeights, lambda m: versions.append(m.version))
    node = LearnerNode(bus, _cfg(tmp_path))
    pub = bus.publisher("transitions", TransitionMsg)
    for seq in range(1, 30):
        pub.publish(_msg(seq))
        node.poll()
    assert versions[0] == 1 and len(versions) >= 3
    last = versions[-1]
    # no close(): a crash; the versions published after the last checkpoint were persisted
    node2 = LearnerNode(bus, _cfg(tmp_path))
    assert versions[-1] == last + 1
    assert versions == sorted(set(versions))
    node2.close()


def test_a_step_routed_to_both_buffers_counts_as_one_env_step(tmp_path: Path) -> None:
    core = make_core(_cfg(tmp_path))
    core.receive(_t(1))
    copy = dataclasses.replace(_t(2), step=1, buffer="demo", intervened=True)
    core.receive(copy)  # the demo copy of step 1 (same episode and step)
    core.receive(_t(3))
    assert core.online.num_transitions == 2 and core.demo.num_transitions == 1
    assert core.env_steps == 2
    core.close()


def test_malformed_transitions_are_counted_and_acked(tmp_path: Path) -> None:
    core = make_core(_cfg(tmp_path))
    bad = dataclasses.replace(_t(1), action=np.zeros(3, np.float32))
    core.receive(bad)
    assert core.rejected == 1 and core.intake.highest == {"a": 1} and core.env_steps == 0
    core.close()


def test_demo_routed_transitions_fill_the_demo_buffer_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    """An actor under HIL-SERL routing sends a human step twice: online and demo."""
    cfg = _cfg(tmp_path)
    core = make_core(cfg)
    for seq in range(1, 13):
        t = _t(seq)
        if seq % 3 == 0:  # every third transition is the demo copy of the one before
            t = dataclasses.replace(t, buffer="demo", intervened=True)
        core.receive(t)
    assert core.online.num_transitions == 8 and core.demo.num_transitions == 4
    demo_rewards = core.demo.reward[core.demo.valid_indices()]
    assert np.allclose(demo_rewards, [3, 6, 9, 12])
    assert core.demo.flags["intervened"][core.demo.valid_indices()].all()
    batch = core.sampler.sample(8)  # RLPD: half of each batch from the demo buffer
    assert np.isin(batch.reward, demo_rewards).sum() == 4
    assert core.train(max_updates=1) == 1
    core.checkpoint()
    core.receive(dataclasses.replace(_t(13), buffer="demo"))  # in the log only
    core.flush()
    again = make_core(cfg)
    assert again.demo.num_transitions == 5 and again.online.num_transitions == 8
    assert np.allclose(again.demo.reward[again.demo.valid_indices()], [3, 6, 9, 12, 13])
    again.close()


def test_an_unknown_buffer_is_rejected(tmp_path: Path) -> None:
    core = make_core(_cfg(tmp_path))
    core.receive(dataclasses.replace(_t(1), buffer="code 7"))
    assert core.rejected == 1 and core.online.num_transitions == 0
    core.close()


def test_a_log_written_before_transitions_named_their_buffer_still_replays(
    tmp_path: Path,
) -> None:
    from robot_rl.bus.cdr import encode
    from robot_rl.loop.wal import WriteAheadLog

    cfg = _cfg(tmp_path)
    wal = WriteAheadLog(tmp_path / "l" / "wal", False)
    for seq in (1, 2):
        old = encode(_msg(seq))[:-1]  # the same layout without the trailing uint8 buffer
        wal.append(old)
    wal.flush()
    wal.close()
    core = make_core(cfg)
    assert core.replayed == 2 and core.online.num_transitions == 2
    core.close()


def test_a_checkpoint_resumes_across_the_two_links(tmp_path: Path) -> None:
    """In-process (no log) -> bus learner node (with its log) -> in-process again."""
    from robot_rl.loop.learner import LearnerCore
    from robot_rl.nodes.policy import obs_spec, train_config

    cfg = _cfg(tmp_path)
    train, spec = train_config(cfg.policy), obs_spec(cfg.obs)
    inproc = LearnerCore(train, spec, 7, cfg.checkpoint_dir)
    for seq in range(1, 11):
        inproc.receive(_t(seq))
    assert inproc.train(max_updates=2) == 2
    inproc.close({"episodes": 1})
    node = make_core(cfg)  # the bus link resumes the in-process run folder
    assert node.restored is not None and node.restored["episodes"] == 1
    assert node.env_steps == 10 and node.agent.num_updates == 2 and node.acks == {"a": 10}
    for seq in range(11, 16):
        node.receive(_t(seq))
    node.close()
    again = LearnerCore(train, spec, 7, cfg.checkpoint_dir)  # and back
    assert again.env_steps == 15 and again.online.num_transitions == 15
    assert np.allclose(again.online.reward[again.online.valid_indices()], np.arange(1, 16))
    again.close()


def test_the_learner_node_takes_torch_threads_from_the_config(tmp_path: Path) -> None:
    """`torch_threads` (TrainConfig) holds for the node as for `robot-rl train`: without it
    two graphs on a 2-core machine ran their learners at 2 threads each (6 updates/s)."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        policy = PolicyConfig(task="reach", overrides=SMALL[:-1] + ", torch_threads: 1}")
        make_core(_cfg(tmp_path, policy=policy))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
