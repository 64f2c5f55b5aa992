"""Zarr episode store: round trip, resume, crash mid-write, torn index, replay loading."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.types import ObsSpec
from robot_rl.data.episodes import EpisodeSpec, EpisodeStore
from robot_rl.data.loader import fill_replay, intervention_runs

SPEC = EpisodeSpec(
    state_dim=3, action_dim=2, cameras=("front", "wrist"), image_shape=(6, 5, 3), chunk_frames=4
)


def make_episode(rng: np.random.Generator, steps: int) -> dict[str, Any]:
    n = steps + 1
    return {
        "state": rng.normal(size=(n, 3)).astype(np.float32),
        "images": {c: rng.integers(0, 256, (n, 6, 5, 3), dtype=np.uint8) for c in SPEC.cameras},
        "stamps": np.cumsum(rng.integers(90_000_000, 110_000_000, n)).astype(np.int64),
        "action": rng.uniform(-1, 1, (steps, 2)).astype(np.float32),
        "reward": rng.normal(size=steps).astype(np.float32),
        "terminated": np.eye(1, steps, steps - 1, dtype=bool)[0],
        "truncated": np.zeros(steps, bool),
        "intervened": rng.random(steps) < 0.5,
        "success": np.eye(1, steps, steps - 1, dtype=bool)[0],
    }


def obs_at(ep: dict[str, Any], t: int) -> dict[str, Any]:
    return {"state": ep["state"][t], "images": {c: ep["images"][c][t] for c in SPEC.cameras}}


def write(store: EpisodeStore, ep: dict[str, Any], meta: dict[str, Any] | None = None) -> int:
    store.begin_episode(obs_at(ep, 0), int(ep["stamps"][0]))
    for t in range(len(ep["reward"])):
        store.add_step(
            ep["action"][t],
            float(ep["reward"][t]),
            obs_at(ep, t + 1),
            int(ep["stamps"][t + 1]),
            terminated=bool(ep["terminated"][t]),
            truncated=bool(ep["truncated"][t]),
            intervened=bool(ep["intervened"][t]),
            success=bool(ep["success"][t]),
        )
    return store.end_episode(meta)


def assert_episode(store: EpisodeStore, i: int, ep: dict[str, Any]) -> None:
    got = store.episode(i)
    np.testing.assert_array_equal(got.state, ep["state"])
    np.testing.assert_array_equal(got.timestamp_ns, ep["stamps"])
    for c in SPEC.cameras:
        np.testing.assert_array_equal(got.images[c], ep["images"][c])
    for key in ("action", "reward", "terminated", "truncated", "intervened", "success"):
        np.testing.assert_array_equal(getattr(got, key), ep[key])
    assert got.images["front"].dtype == np.uint8 and got.timestamp_ns.dtype == np.int64


def test_round_trip_and_resume_after_reopen(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    eps = [make_episode(rng, n) for n in (1, 9, 4, 13)]  # shorter, equal, longer than a chunk
    store = EpisodeStore(tmp_path / "s", SPEC, durable=False)
    assert write(store, eps[0], {"task": "peg", "operator": "ann"}) == 0
    assert write(store, eps[1]) == 1
    reopened = EpisodeStore(tmp_path / "s")  # spec read back from the store
    assert len(reopened) == 2 and reopened.spec == SPEC
    assert write(reopened, eps[2]) == 2 and write(reopened, eps[3], {"success": True}) == 3
    final = EpisodeStore(tmp_path / "s", SPEC)
    for i, ep in enumerate(eps):
        assert_episode(final, i, ep)
    assert final.metadata(0) == {"task": "peg", "operator": "ann", "num_steps": 1}
    assert final.metadata(3)["success"] is True
    assert [e.index for e in final] == [0, 1, 2, 3]


def test_spec_mismatch_and_missing_store_raise(tmp_path: Path) -> None:
    EpisodeStore(tmp_path / "s", SPEC, durable=False)
    with pytest.raises(ValueError):
        EpisodeStore(tmp_path / "s", EpisodeSpec(3, 2, ("front",), (6, 5, 3), 4))
    with pytest.raises(FileNotFoundError):
        EpisodeStore(tmp_path / "nothing")
    store = EpisodeStore(tmp_path / "s")
    with pytest.raises(TypeError):
        store.begin_episode(
            {
                "state": np.zeros(3),
                "images": {
                    "front": np.zeros((6, 5, 3), np.float32),
                    "wrist": np.zeros((6, 5, 3), np.uint8),
                },
            },
            0,
        )


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_episodes import SPEC, make_episode, obs_at, write
    from robot_rl.data.episodes import EpisodeStore
    rng = np.random.default_rng(1)
    store = EpisodeStore({root!r}, SPEC)
    write(store, make_episode(rng, 6))
    write(store, make_episode(rng, 11))
    ep = make_episode(rng, 30)
    store.begin_episode(obs_at(ep, 0), 0)
    for t in range(10):  # two full chunks flushed to disk, then the process dies
        store.add_step(ep["action"][t], 0.0, obs_at(ep, t + 1), t + 1)
    os._exit(3)
""")


def test_crash_mid_episode_keeps_earlier_episodes(tmp_path: Path) -> None:
    root = tmp_path / "s"
    script = CRASH_SCRIPT.format(tests=str(Path(__file__).parent), root=str(root))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == 3, proc.stderr.decode()
    assert (root / "episodes.zarr" / "000002").exists()  # the orphan of the dead episode
    store = EpisodeStore(root, SPEC)
    assert len(store) == 2
    rng = np.random.default_rng(1)
    assert_episode(store, 0, make_episode(rng, 6))
    assert_episode(store, 1, make_episode(rng, 11))
    fresh = make_episode(np.random.default_rng(9), 3)
    assert write(store, fresh) == 2  # the orphan is replaced, not appended to
    assert_episode(EpisodeStore(root), 2, fresh)


def test_torn_index_line_is_ignored_and_truncated(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    store = EpisodeStore(tmp_path / "s", SPEC, durable=False)
    ep = make_episode(rng, 5)
    write(store, ep)
    with open(tmp_path / "s" / "index.jsonl", "ab") as f:
        f.write(b'{"episode": 1, "num_st')  # the process died inside the commit write
    reopened = EpisodeStore(tmp_path / "s")
    assert len(reopened) == 1
    assert write(reopened, make_episode(rng, 2)) == 1
    assert len(EpisodeStore(tmp_path / "s")) == 2
    assert_episode(EpisodeStore(tmp_path / "s"), 0, ep)


def test_intervention_runs() -> None:
    runs = intervention_runs(np.array([1, 1, 0, 0, 1, 0, 1], bool))
    assert runs == [(0, 2), (4, 5), (6, 7)]
    assert intervention_runs(np.zeros(3, bool)) == []


def test_fill_replay_matches_stepwise_adds(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    store = EpisodeStore(tmp_path / "s", SPEC, durable=False)
    eps = [make_episode(rng, n) for n in (3, 7)]
    for ep in eps:
        write(store, ep)
    spec = ObsSpec(3, SPEC.cameras, SPEC.image_shape)
    loaded, stepped = ReplayBuffer(64, spec, 2), ReplayBuffer(64, spec, 2)
    assert fill_replay(store, loaded) == 10
    for ep in eps:
        for t in range(len(ep["reward"])):
            stepped.add(
                obs_at(ep, t),
                ep["action"][t],
                float(ep["reward"][t]),
                obs_at(ep, t + 1),
                bool(ep["terminated"][t]),
                bool(ep["truncated"][t]),
                bool(ep["intervened"][t]),
            )
    for x, y in zip(loaded.arrays().values(), stepped.arrays().values(), strict=True):
        np.testing.assert_array_equal(x, y)

    relabelled = ReplayBuffer(64, spec, 2)
    assert fill_replay(store, relabelled, reward=0.0) == 10
    assert not relabelled.reward[:10].any() and loaded.reward[:10].any()
    for name in ("state", "action", "next_valid"):  # only the rewards change
        np.testing.assert_array_equal(getattr(relabelled, name), getattr(loaded, name))
    np.testing.assert_array_equal(relabelled.flags["terminated"], loaded.flags["terminated"])

    demo = ReplayBuffer(64, spec, 2)
    n = fill_replay(store, demo, only_intervened=True)
    assert n == sum(int(ep["intervened"].sum()) for ep in eps) == demo.num_transitions
    batch = demo.get(demo.valid_indices())
    assert batch.intervened.all()
    all_states = np.concatenate([ep["state"] for ep in eps])
    for k in range(n):  # every next_state is the frame right after its state
        i = int(np.flatnonzero((all_states == batch.state[k]).all(1))[0])
        np.testing.assert_array_equal(batch.next_state[k], all_states[i + 1])


def test_abort_discards_and_misuse_raises(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    store = EpisodeStore(tmp_path / "s", SPEC, durable=False)
    with pytest.raises(RuntimeError):
        store.add_step(np.zeros(2), 0.0, obs_at(make_episode(rng, 1), 0), 0)
    ep = make_episode(rng, 6)
    store.begin_episode(obs_at(ep, 0), 0)
    with pytest.raises(RuntimeError):
        store.begin_episode(obs_at(ep, 0), 0)
    store.add_step(ep["action"][0], 0.0, obs_at(ep, 1), 1)
    store.abort_episode()
    store.begin_episode(obs_at(ep, 0), 0)
    with pytest.raises(ValueError):
        store.end_episode()
    store.abort_episode()
    assert len(store) == 0 and write(store, ep) == 0
    assert_episode(store, 0, ep)
