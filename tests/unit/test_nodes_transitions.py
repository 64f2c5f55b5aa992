"""Transition protocol pieces: the core's resend window and intake (robot_rl.loop.delivery),
the bus codec of a transition, the log, and weights over the wire. Time-outs are driven by
a fake monotonic clock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.msgs import PolicyWeights, Time
from robot_rl.bus.msgs import Transition as TransitionMsg
from robot_rl.loop import delivery as tr
from robot_rl.loop.types import Transition
from robot_rl.loop.wal import WriteAheadLog, read_segment, segment_path
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig, build_agent
from robot_rl.nodes.transitions import LOG_CODEC, from_msg, to_msg
from robot_rl.nodes.weights import msg_to_weights, weights_to_msg


def _obs(v: float) -> dict:
    return {
        "state": np.full(20, v, np.float32),
        "images": {"front": np.full((8, 8, 3), int(v) % 256, np.uint8)},
    }


def _t(seq: int, actor: str = "a", buffer: str = "online") -> Transition:
    return Transition(
        actor, seq, 1, seq - 1, seq * 10**9, _obs(seq), np.full(7, 0.1, np.float32), 1.0,
        _obs(seq + 1), False, True, False, 4, buffer,  # type: ignore[arg-type]
    )  # fmt: skip


def _build(seq: int) -> Transition:
    return _t(seq)


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


@pytest.mark.parametrize("buffer", ["online", "demo"])
def test_a_transition_round_trips_through_the_message_and_the_log(buffer: str) -> None:
    t = _t(3, buffer=buffer)
    back = from_msg(decode(TransitionMsg, encode(to_msg(t))))
    assert back.obs["state"][0] == 3 and back.next_obs["images"]["front"][0, 0, 0] == 4
    assert (back.actor_id, back.seq, back.episode_id, back.step) == ("a", 3, 1, 2)
    assert back.stamp_ns == 3 * 10**9 and back.buffer == buffer and back.truncated
    assert tr.transition_crc(back) == tr.transition_crc(t)
    assert LOG_CODEC.decode(LOG_CODEC.encode(t)).policy_version == 4


def test_an_unknown_buffer_code_reaches_the_learner_as_such() -> None:
    msg = dataclasses.replace(to_msg(_t(1)), buffer=9)
    assert from_msg(msg).buffer == "code 9"  # the learner core rejects it, named


def test_sender_numbers_keeps_and_forgets_on_ack(clock: FakeClock) -> None:
    sent: list[int] = []
    s = tr.TransitionSender(lambda t: sent.append(t.seq), max_unacked=10, resend_timeout_s=1.0)
    for _ in range(4):
        s.send(_build)
    assert sent == [1, 2, 3, 4] and list(s.unacked) == [1, 2, 3, 4]
    s.on_ack(2)
    assert list(s.unacked) == [3, 4] and s.acked == 2
    s.on_ack(1)  # a stale ack changes nothing
    assert s.acked == 2


def test_sender_resends_everything_unacked_when_acks_stall(clock: FakeClock) -> None:
    sent: list[int] = []
    s = tr.TransitionSender(lambda t: sent.append(t.seq), resend_timeout_s=1.0, resend_batch=2)
    for _ in range(3):
        s.send(_build)
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
    s = tr.TransitionSender(lambda t: None, max_unacked=2)
    assert [s.send(_build) for _ in range(3)] == [1, 2, None]
    assert s.dropped == 1 and s.next_seq == 3  # seqs stay contiguous
    s.on_ack(2)
    assert s.send(_build) == 3


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
    obs = ObsConfig()
    small = "{sac: {actor: {hidden_dims: [16]}, critic: {hidden_dims: [16]}}, seed: %d}"
    learner = build_agent(PolicyConfig(task="reach", overrides=small % 1), obs)
    actor = build_agent(PolicyConfig(task="reach", overrides=small % 2), obs)
    msg = decode(PolicyWeights, encode(weights_to_msg(learner.trainable_state(), 7, Time(1, 0))))
    actor.load_trainable_state(msg_to_weights(msg))
    assert actor.policy_version == 7
    for name, p in learner.actor.state_dict().items():
        assert torch.equal(p, actor.actor.state_dict()[name])
    o = {"state": np.zeros(20, np.float32)}
    assert np.allclose(learner.act(o, True), actor.act(o, True))
