"""Transition protocol pieces: the actor's resend window, the learner's intake, the log,
and weights over the wire. Time-outs are driven by a fake monotonic clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from robot_rl.nodes.wal import WriteAheadLog, read_segment, segment_path

from robot_rl.agents.types import ObsSpec
from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.msgs import PolicyWeights, Time, Transition
from robot_rl.nodes import transitions as tr
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig, build_agent
from robot_rl.nodes.weights import msg_to_weights, weights_to_msg

SPEC = ObsSpec(20, ("front",), (8, 8, 3))


def _obs(v: float) -> dict:
    return {
        "state": np.full(20, v, np.float32),
        "images": {"front": np.full((8, 8, 3), int(v) % 256, np.uint8)},
    }


def _msg(seq: int, actor: str = "a") -> Transition:
    step = tr.Step(_obs(seq), np.full(7, 0.1, np.float32), 1.0, _obs(seq + 1), False, False, False)
    return tr.make_transition(actor, seq, 1, seq - 1, Time(seq, 0), step, 0)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(tr.time, "monotonic", c)
    return c


def test_transition_round_trips_through_cdr_and_spec() -> None:
    msg = decode(Transition, encode(_msg(3)))
    step = tr.transition_step(msg, SPEC, 7)
    assert step.obs["state"][0] == 3 and step.next_obs["images"]["front"][0, 0, 0] == 4
    with pytest.raises(ValueError, match="observation arrays"):
        tr.transition_step(msg, ObsSpec(20), 7)


def test_sender_numbers_keeps_and_forgets_on_ack(clock: FakeClock) -> None:
    sent: list[int] = []
    s = tr.TransitionSender(lambda m: sent.append(m.seq), max_unacked=10, resend_timeout_s=1.0)
    for _ in range(4):
        s.send(_msg)
    assert sent == [1, 2, 3, 4] and list(s.unacked) == [1, 2, 3, 4]
    s.on_ack(2)
    assert list(s.unacked) == [3, 4] and s.acked == 2
    s.on_ack(1)  # a stale ack changes nothing
    assert s.acked == 2


def test_sender_resends_everything_unacked_when_acks_stall(clock: FakeClock) -> None:
    sent: list[int] = []
    s = tr.TransitionSender(lambda m: sent.append(m.seq), resend_timeout_s=1.0, resend_batch=2)
    for _ in range(3):
        s.send(_msg)
    sent.clear()
    assert s.poll() == 0  # not stalled yet
    clock.t += 1.5
    assert s.poll() == 2 and s.poll() == 1  # go-back-N in batches
    assert sent == [1, 2, 3]
    assert s.poll() == 0  # the next round waits for another timeout
    s.on_ack(3)
    clock.t += 5.0
    assert s.poll() == 0 and s.all_acked


def test_sender_drops_new_transitions_beyond_the_window(clock: FakeClock) -> None:
    s = tr.TransitionSender(lambda m: None, max_unacked=2)
    assert [s.send(_msg) for _ in range(3)] == [1, 2, None]
    assert s.dropped == 1 and s.next_seq == 3  # seqs stay contiguous
    s.on_ack(2)
    assert s.send(_msg) == 3


def test_intake_orders_dedups_and_buffers_per_actor() -> None:
    intake: tr.TransitionIntake[int] = tr.TransitionIntake(max_out_of_order=2)
    assert intake.receive("a", 2, 2) == []
    assert intake.receive("a", 1, 1) == [1, 2]
    assert intake.receive("a", 2, 2) == [] and intake.duplicates == 1
    assert intake.receive("b", 1, 10) == [10]
    assert intake.receive("a", 5, 5) == [] and intake.receive("a", 6, 6) == []
    assert intake.receive("a", 7, 7) == [] and intake.early_dropped == 1
    assert intake.receive("a", 3, 3) == [3] and intake.receive("a", 4, 4) == [4, 5, 6]
    assert intake.highest == {"a": 6, "b": 1}


def test_log_survives_a_torn_tail_and_rotates(tmp_path: Path) -> None:
    log = WriteAheadLog(tmp_path)
    for i in range(3):
        log.append(bytes([i]) * 10)
    log.flush()
    path = segment_path(tmp_path, log.segment)
    with open(path, "ab") as f:
        f.write(b"\x05\x00\x00\x00\x00")  # a record cut short by a crash
    assert list(read_segment(path)) == [bytes([i]) * 10 for i in range(3)]
    first = log.segment
    log.rotate()
    log.append(b"new")
    log.flush()
    again = WriteAheadLog(tmp_path)  # a restarted process appends to a fresh segment
    assert again.segment == log.segment + 1
    assert len(list(again.replay(first))) == 4
    again.drop_before(log.segment)
    assert not path.exists()


def test_weights_round_trip_into_another_agent() -> None:
    obs, pol = ObsConfig(), PolicyConfig(hidden_dims=(16,), seed=1)
    learner, actor = (
        build_agent(pol, obs),
        build_agent(PolicyConfig(hidden_dims=(16,), seed=2), obs),
    )
    msg = decode(PolicyWeights, encode(weights_to_msg(learner.trainable_state(), 7, Time(1, 0))))
    actor.load_trainable_state(msg_to_weights(msg))
    assert actor.policy_version == 7
    for name, p in learner.actor.state_dict().items():
        assert torch.equal(p, actor.actor.state_dict()[name])
    o = {"state": np.zeros(20, np.float32)}
    assert np.allclose(learner.act(o, True), actor.act(o, True))
