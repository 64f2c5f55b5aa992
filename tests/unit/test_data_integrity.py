"""Damage to a zarr episode store is caught (named error or clean skip), never read as data."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.types import ObsSpec
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.integrity import EpisodeDamagedError
from robot_rl.data.loader import fill_replay
from robot_rl.data.seeds import ExistingStore, StoreNotEmptyError, plan_recording
from tests.unit.test_episodes import SPEC, assert_episode, make_episode, write


def make_store(root: Path, n: int = 3, steps: int = 9) -> list[dict]:
    rng = np.random.default_rng(0)
    store = EpisodeStore(root, SPEC, durable=False)
    eps = [make_episode(rng, steps) for _ in range(n)]
    for k, ep in enumerate(eps):
        write(store, ep, {"seed": 10 + k})
    return eps


def chunk(root: Path, episode: int, array: str, index: str) -> Path:
    return root / "episodes.zarr" / f"{episode:06d}" / array / "c" / index


def damaged(root: Path, episode: int) -> EpisodeDamagedError:
    with pytest.raises(EpisodeDamagedError) as info:
        EpisodeStore(root).episode(episode)
    return info.value


def test_deleted_image_chunk_names_episode_array_and_file(tmp_path: Path) -> None:
    make_store(tmp_path)
    path = chunk(tmp_path, 1, "images/front", "1/0/0/0")
    path.unlink()
    err = damaged(tmp_path, 1)
    assert (err.episode, err.array, err.path) == (1, "images/front", path)
    assert "missing" in str(err) and str(path) in str(err) and "episode 1" in str(err)


def test_deleted_reward_chunk_is_not_read_as_zero_reward(tmp_path: Path) -> None:
    make_store(tmp_path)
    chunk(tmp_path, 2, "reward", "0").unlink()
    assert damaged(tmp_path, 2).array == "reward"


@pytest.mark.parametrize("how", ["truncate", "alter"])
def test_truncated_or_altered_chunk(tmp_path: Path, how: str) -> None:
    make_store(tmp_path)
    path = chunk(tmp_path, 0, "images/wrist", "0/0/0/0")
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        data[len(data) // 2] ^= 0x01  # one bit: same size, a decodable frame or not
        path.write_bytes(bytes(data))
    err = damaged(tmp_path, 0)
    assert err.array == "images/wrist" and err.path == path
    assert ("bytes" if how == "truncate" else "altered") in err.problem
    with pytest.raises(EpisodeDamagedError):
        EpisodeStore(tmp_path).verify(0)
    EpisodeStore(tmp_path).verify(1)  # the other episodes stay readable


def test_altered_array_metadata(tmp_path: Path) -> None:
    make_store(tmp_path)
    meta = tmp_path / "episodes.zarr" / "000001" / "action" / "zarr.json"
    meta.write_text(meta.read_text().replace('"shape": [\n    9,', '"shape": [\n    8,'))
    assert damaged(tmp_path, 1).array == "action"


def test_fill_replay_aborts_or_skips_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_store(tmp_path)
    chunk(tmp_path, 1, "state", "0/0").unlink()
    store = EpisodeStore(tmp_path)
    buffer = ReplayBuffer(64, ObsSpec(3, SPEC.cameras, SPEC.image_shape), 2)
    with pytest.raises(EpisodeDamagedError):
        fill_replay(store, buffer)
    buffer = ReplayBuffer(64, ObsSpec(3, SPEC.cameras, SPEC.image_shape), 2)
    skipped: list[int] = []
    with caplog.at_level(logging.WARNING):
        assert fill_replay(store, buffer, skip_damaged=True, skipped=skipped) == 18
    assert skipped == [1] and "episode 1" in caplog.text


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            out[str(p)] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def test_read_only_open_changes_no_byte_or_mtime_even_with_torn_index(tmp_path: Path) -> None:
    eps = make_store(tmp_path)
    with open(tmp_path / "index.jsonl", "ab") as f:
        f.write(b'{"episode": 3, "num_st')  # a writer died inside its commit
    before = snapshot(tmp_path)
    store = EpisodeStore(tmp_path)
    assert len(store) == 3
    for i, ep in enumerate(eps):
        store.verify(i)
        assert_episode(store, i, ep)
    assert plan_recording(tmp_path, 5, 0, ExistingStore.TOP_UP).episodes == 2
    assert snapshot(tmp_path) == before
    write(store, eps[0])  # the first write cuts the torn tail
    assert len(EpisodeStore(tmp_path)) == 4


def test_damaged_index_line_before_committed_ones_raises(tmp_path: Path) -> None:
    make_store(tmp_path)
    index = tmp_path / "index.jsonl"
    lines = index.read_bytes().split(b"\n")
    lines[1] = lines[1][:20]
    index.write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError, match="line 2 is damaged"):
        EpisodeStore(tmp_path)


def test_top_up_uses_unused_seeds_and_refuse_refuses(tmp_path: Path) -> None:
    assert plan_recording(tmp_path / "new", 4, 3, ExistingStore.REFUSE).episodes == 4
    make_store(tmp_path)  # seeds 10, 11, 12
    plan = plan_recording(tmp_path, 5, 0, ExistingStore.TOP_UP)
    assert (plan.episodes, plan.first_seed) == (2, 13) and "topping up" in plan.message
    assert plan_recording(tmp_path, 2, 0, ExistingStore.TOP_UP).episodes == 0
    assert plan_recording(tmp_path, 5, 40, ExistingStore.TOP_UP).first_seed == 40
    with pytest.raises(StoreNotEmptyError, match="3 episodes"):
        plan_recording(tmp_path, 5, 0, ExistingStore.REFUSE)
