"""Frame-once replay against a naive buffer that stores (obs, next_obs) pairs explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from robot_rl.agents.pixels import PixelScaleError
from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.replay_io import load_replay, save_replay
from robot_rl.agents.sampling import MixedSampler
from robot_rl.agents.types import ObsSpec

SPEC = ObsSpec(3, ("front", "wrist"), (4, 5, 3))
A = 2


def make_obs(frame_id: int, rng: np.random.Generator) -> dict[str, Any]:
    """A frame whose state[0] identifies it; images random."""
    state = np.array([frame_id, rng.normal(), rng.normal()], np.float32)
    images = {c: rng.integers(0, 256, SPEC.image_shape, dtype=np.uint8) for c in SPEC.cameras}
    return {"state": state, "images": images}


@dataclass
class NaiveReplay:
    """Reference: every transition keeps its own copies; frame accounting for the ring.

    A transition reuses the previous next-frame's slot when its obs equals that frame and
    the previous step did not end the episode; it survives while both of its frames are
    among the last ``capacity`` frames written.
    """

    capacity: int
    transitions: list[dict[str, Any]] = field(default_factory=list)
    frames_written: int = 0
    last: dict[str, Any] | None = None

    def add(self, obs, action, reward, next_obs, terminated, truncated, intervened):  # type: ignore[no-untyped-def]
        last = self.last
        same = (
            last is not None
            and not (last["terminated"] or last["truncated"])
            and np.array_equal(last["next_obs"]["state"], obs["state"])
            and all(
                np.array_equal(last["next_obs"]["images"][c], obs["images"][c])
                for c in SPEC.cameras
            )
        )
        if same:
            assert last is not None
            obs_seq = last["next_seq"]
        else:
            obs_seq = self.frames_written
            self.frames_written += 1
        tr = dict(
            obs=obs,
            next_obs=next_obs,
            action=np.asarray(action, np.float32),
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            intervened=intervened,
            obs_seq=obs_seq,
            next_seq=self.frames_written,
        )
        self.frames_written += 1
        self.transitions.append(tr)
        self.last = tr

    def alive(self) -> list[dict[str, Any]]:
        oldest = self.frames_written - self.capacity
        return [t for t in self.transitions if t["obs_seq"] >= oldest and t["next_seq"] >= oldest]


def stream(rng: np.random.Generator, n_episodes: int):  # type: ignore[no-untyped-def]
    """Episodes of 1..8 steps ending in termination or truncation, with intervention runs."""
    frame = 0
    for _ in range(n_episodes):
        length = int(rng.integers(1, 9))
        end_terminal = bool(rng.random() < 0.5)
        obs = make_obs(frame, rng)
        frame += 1
        intervening = False
        for t in range(length):
            if rng.random() < 0.3:
                intervening = not intervening
            nxt = make_obs(frame, rng)
            frame += 1
            last = t == length - 1
            yield (
                obs,
                rng.uniform(-1, 1, A).astype(np.float32),
                float(rng.normal()),
                nxt,
                last and end_terminal,
                last and not end_terminal,
                intervening,
            )
            obs = nxt


def assert_same(buffer: ReplayBuffer, expected: list[dict[str, Any]]) -> None:
    idx = buffer.valid_indices()
    assert len(idx) == len(expected) == buffer.num_transitions
    batch = buffer.get(idx)
    by_id = {float(t["obs"]["state"][0]): t for t in expected}
    assert len(by_id) == len(expected)
    for k in range(len(idx)):
        ref = by_id[float(batch.state[k, 0])]
        np.testing.assert_array_equal(batch.state[k], ref["obs"]["state"])
        np.testing.assert_array_equal(batch.next_state[k], ref["next_obs"]["state"])
        for c in SPEC.cameras:
            np.testing.assert_array_equal(batch.images[c][k], ref["obs"]["images"][c])
            np.testing.assert_array_equal(batch.next_images[c][k], ref["next_obs"]["images"][c])
        np.testing.assert_array_equal(batch.action[k], ref["action"])
        assert batch.reward[k] == np.float32(ref["reward"])
        assert bool(batch.terminated[k]) == ref["terminated"]
        assert bool(batch.truncated[k]) == ref["truncated"]
        assert bool(batch.intervened[k]) == ref["intervened"]


@pytest.mark.parametrize("capacity", [1000, 2, 3, 13, 40])
def test_matches_naive_reference_including_wraparound(capacity: int) -> None:
    rng = np.random.default_rng(capacity)
    buffer, naive = ReplayBuffer(capacity, SPEC, A), NaiveReplay(capacity)
    for step in stream(rng, 30):
        buffer.add(*step)
        naive.add(*step)
        assert_same(buffer, naive.alive())
    assert naive.frames_written > capacity or capacity == 1000


def naive_n_step(alive: list[dict[str, Any]], first: dict[str, Any], n: int, gamma: float):  # type: ignore[no-untyped-def]
    """Follow stored successors (same frame, episode not ended) for up to n steps."""
    by_obs = {t["obs_seq"]: t for t in alive}
    cur, ret, factor = first, first["reward"], gamma
    for _ in range(n - 1):
        if cur["terminated"] or cur["truncated"] or cur["next_seq"] not in by_obs:
            break
        cur = by_obs[cur["next_seq"]]
        ret += factor * cur["reward"]
        factor *= gamma
    return ret, cur["next_obs"]["state"], cur["terminated"], factor


@pytest.mark.parametrize("capacity", [1000, 13])
def test_n_step_matches_naive_reference(capacity: int) -> None:
    rng = np.random.default_rng(capacity + 1)
    buffer, naive = ReplayBuffer(capacity, SPEC, A), NaiveReplay(capacity)
    for step in stream(rng, 30):
        buffer.add(*step)
        naive.add(*step)
    alive = naive.alive()
    by_id = {float(t["obs"]["state"][0]): t for t in alive}
    idx = buffer.valid_indices()
    for n in (1, 3, 6):
        batch = buffer.get(idx, n_step=n, discount=0.9)
        assert batch.discount is not None
        for k in range(len(idx)):
            ret, next_state, terminated, factor = naive_n_step(
                alive, by_id[float(batch.state[k, 0])], n, 0.9
            )
            assert batch.reward[k] == pytest.approx(ret, rel=1e-5, abs=1e-5)
            np.testing.assert_array_equal(batch.next_state[k], next_state)
            assert bool(batch.terminated[k]) == terminated
            assert batch.discount[k] == pytest.approx(factor, rel=1e-6)
    one = buffer.get(idx)
    np.testing.assert_array_equal(one.next_state, buffer.get(idx, 1, 0.9).next_state)


def test_intervention_only_buffer_keeps_true_next_obs() -> None:
    """HIL-SERL routing: the demo buffer sees only intervened steps (gaps in between)."""
    rng = np.random.default_rng(7)
    demo, naive = ReplayBuffer(500, SPEC, A), NaiveReplay(500)
    n = 0
    for step in stream(rng, 40):
        if step[-1]:
            demo.add(*step)
            naive.add(*step)
            n += 1
    assert n > 10
    assert_same(demo, naive.alive())


def test_truncation_keeps_final_frame_and_never_chains_into_reset() -> None:
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(10, SPEC, A)
    o0, o1 = make_obs(0, rng), make_obs(1, rng)
    buffer.add(o0, np.zeros(A), 0.0, o1, terminated=False, truncated=True)
    # The reset observation equals the final one: still a new episode, not a chain.
    buffer.add(o1, np.ones(A), 1.0, make_obs(2, rng), terminated=False, truncated=False)
    batch = buffer.get(buffer.valid_indices())
    assert buffer.num_transitions == 2 and buffer.cursor_state()["cursor"] == 4
    assert batch.truncated.tolist() == [True, False]
    np.testing.assert_array_equal(batch.next_state[0], o1["state"])


def test_rejects_float_images_and_bad_shapes() -> None:
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(10, SPEC, A)
    o = make_obs(0, rng)
    bad = {"state": o["state"], "images": {c: v / 255.0 for c, v in o["images"].items()}}
    with pytest.raises(PixelScaleError):
        buffer.add(o, np.zeros(A), 0.0, bad, False, False)
    with pytest.raises(ValueError):
        buffer.add(o, np.zeros(A + 1), 0.0, o, False, False)


def test_memory_within_1_1x_raw_frames_for_two_128px_cameras() -> None:
    spec = ObsSpec(20, ("front", "wrist"), (128, 128, 3))
    episode_len, episodes = 100, 5
    buffer = ReplayBuffer(episodes * (episode_len + 1), spec, 7)
    img = {c: np.zeros(spec.image_shape, np.uint8) for c in spec.cameras}
    for _ in range(episodes):
        for t in range(episode_len):
            obs = {"state": np.full(20, t, np.float32), "images": img}
            nxt = {"state": np.full(20, t + 1, np.float32), "images": img}
            buffer.add(obs, np.zeros(7), 0.0, nxt, False, t == episode_len - 1)
    assert buffer.num_transitions == episodes * episode_len
    per_transition = buffer.nbytes / buffer.num_transitions
    assert per_transition <= 1.1 * spec.frame_bytes


def test_add_segment_equals_step_by_step() -> None:
    rng = np.random.default_rng(3)
    frames = [make_obs(i, rng) for i in range(6)]
    actions = rng.uniform(-1, 1, (5, A)).astype(np.float32)
    rewards = rng.normal(size=5).astype(np.float32)
    flags = [np.array([0, 0, 0, 0, 1], bool), np.zeros(5, bool), np.array([1, 1, 0, 0, 1], bool)]
    a, b = ReplayBuffer(9, SPEC, A), ReplayBuffer(9, SPEC, A)
    for _ in range(2):  # twice: the second pass wraps the ring
        for t in range(5):
            a.add(
                frames[t],
                actions[t],
                rewards[t],
                frames[t + 1],
                bool(flags[0][t]),
                bool(flags[1][t]),
                bool(flags[2][t]),
            )
        b.add_segment(
            np.stack([f["state"] for f in frames]),
            {c: np.stack([f["images"][c] for f in frames]) for c in SPEC.cameras},
            actions,
            rewards,
            *flags,
        )
        for x, y in zip(a.arrays().values(), b.arrays().values(), strict=True):
            np.testing.assert_array_equal(x, y)
        assert a.num_transitions == b.num_transitions


def test_segment_filling_the_whole_ring_keeps_count_exact() -> None:
    rng = np.random.default_rng(8)
    buffer = ReplayBuffer(6, SPEC, A)
    for s in stream(rng, 3):
        buffer.add(*s)
    frames = [make_obs(100 + i, rng) for i in range(6)]
    z = np.zeros(5, bool)
    buffer.add_segment(
        np.stack([f["state"] for f in frames]),
        {c: np.stack([f["images"][c] for f in frames]) for c in SPEC.cameras},
        np.zeros((5, A), np.float32),
        np.zeros(5, np.float32),
        z,
        z,
        z,
    )
    assert buffer.num_transitions == len(buffer.valid_indices()) == 5


def test_save_load_round_trip_resumes_mid_episode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    steps = list(stream(rng, 12))
    buffer, naive = ReplayBuffer(37, SPEC, A), NaiveReplay(37)
    half = len(steps) // 2
    for s in steps[:half]:
        buffer.add(*s)
        naive.add(*s)
    save_replay(buffer, tmp_path / "replay")
    save_replay(buffer, tmp_path / "replay")  # overwriting an existing save is fine
    loaded = load_replay(tmp_path / "replay")
    for s in steps[half:]:
        loaded.add(*s)
        naive.add(*s)
    assert_same(loaded, naive.alive())


def test_load_falls_back_to_previous_copy_after_torn_swap(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    buffer = ReplayBuffer(20, SPEC, A)
    for s in stream(rng, 2):
        buffer.add(*s)
    save_replay(buffer, tmp_path / "r")
    (tmp_path / "r").rename(tmp_path / "r.prev")  # crash between the two renames
    assert load_replay(tmp_path / "r").num_transitions == buffer.num_transitions
    save_replay(buffer, tmp_path / "r")
    assert not (tmp_path / "r.prev").exists()


def test_sample_returns_only_stored_transitions() -> None:
    rng = np.random.default_rng(4)
    buffer = ReplayBuffer(25, SPEC, A)
    for s in stream(rng, 10):
        buffer.add(*s)
    valid = set(buffer.valid_indices().tolist())
    idx = buffer.sample_indices(500, np.random.default_rng(0))
    assert set(idx.tolist()) <= valid and len(set(idx.tolist())) == len(valid)
    with pytest.raises(ValueError):
        ReplayBuffer(5, SPEC, A).sample(4, np.random.default_rng(0))


def test_mixed_sampler_is_symmetric_and_falls_back() -> None:
    rng = np.random.default_rng(5)
    online, demo = ReplayBuffer(50, SPEC, A), ReplayBuffer(50, SPEC, A)
    sampler = MixedSampler(online, demo, demo_fraction=0.5, seed=0)
    for s in stream(rng, 4):
        online.add(*s)
    assert sampler.sample(16).reward.shape == (16,)  # demo empty: all online
    for s in stream(rng, 4):
        demo.add(s[0], s[1], 1000.0, *s[3:])  # demo rows marked by reward
    batch = sampler.sample(64)
    assert (batch.reward[:32] == 1000.0).all() and (batch.reward[32:] != 1000.0).all()
    assert batch.demo is not None and (batch.demo == (batch.reward == 1000.0)).all()


def test_stored_states_lists_only_transition_starts() -> None:
    rng = np.random.default_rng(6)
    buf = ReplayBuffer(50, SPEC, A)
    for s in stream(rng, 3):
        buf.add(*s)
    starts = buf.stored_states()
    assert starts.shape == (buf.num_transitions, SPEC.state_dim)
    assert set(starts[:, 0]) == set(buf.state[buf.valid_indices(), 0])


@pytest.mark.parametrize("capacity", [1000, 13])
def test_extend_copies_every_transition_oldest_first(capacity: int) -> None:
    rng = np.random.default_rng(capacity)
    src, naive = ReplayBuffer(capacity, SPEC, A), NaiveReplay(capacity)
    for step in stream(rng, 30):
        src.add(*step)
        naive.add(*step)
    dst = ReplayBuffer(1000, SPEC, A)
    assert dst.extend(src) == src.num_transitions
    assert_same(dst, naive.alive())
    assert dst.cursor_state()["filled"] <= src.cursor_state()["filled"]  # frames stay shared


def test_extend_refuses_what_would_overwrite_or_does_not_match() -> None:
    rng = np.random.default_rng(0)
    src = ReplayBuffer(50, SPEC, A)
    for step in stream(rng, 30):
        src.add(*step)
    small = ReplayBuffer(40, SPEC, A)
    with pytest.raises(ValueError, match="do not fit"):
        small.extend(src)
    assert small.num_transitions == 0
    with pytest.raises(ValueError, match="spec"):
        ReplayBuffer(1000, ObsSpec(3), A).extend(src)
