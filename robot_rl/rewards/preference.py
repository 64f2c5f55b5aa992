"""Preference labels from a VLM and the reward model they train (RL-VLM-F style).

Pairs of frames from an episode store are shown to a VLM (`PreferenceClient`); each answer
is one JSONL record. A reward network r(s) (the success-classifier architecture, with its
logit read as a reward) is fitted with the Bradley-Terry loss:
P(first preferred) = sigmoid(r(first) - r(second)); ties count as 1/2.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from robot_rl.data.episodes import EpisodeStore
from robot_rl.rewards.preference_client import PreferenceClient


@dataclass(frozen=True)
class PreferenceRecord:
    """One answered (or failed) comparison of two observations of one store."""

    episode_a: int  # episode index of the first frame
    t_a: int  # observation index of the first frame within its episode
    episode_b: int
    t_b: int
    label: int | None  # 0: first closer, 1: second closer, -1: tie, None: no usable answer
    status: str  # PreferenceAnswer.status


def sample_pairs(
    store: EpisodeStore, n_pairs: int, seed: int = 0
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``n_pairs`` random pairs of distinct labelled observations (episode, t >= 1)."""
    rng = np.random.default_rng(seed)
    lengths = np.array([store.metadata(i)["num_steps"] for i in range(len(store))])
    if lengths.sum() < 2:
        raise ValueError("the store needs at least two labelled observations")
    offsets = np.concatenate([[0], np.cumsum(lengths)])

    def locate(k: int) -> tuple[int, int]:
        ep = int(np.searchsorted(offsets, k, side="right") - 1)
        return ep, int(k - offsets[ep] + 1)

    pairs = []
    for _ in range(n_pairs):
        a, b = rng.choice(int(offsets[-1]), 2, replace=False)
        pairs.append((locate(int(a)), locate(int(b))))
    return pairs


def label_preferences(
    store_root: str | Path,
    client: PreferenceClient,
    goal: str,
    camera: str,
    n_pairs: int,
    out_jsonl: str | Path,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Ask the VLM about ``n_pairs`` random pairs; append one record per pair to
    ``out_jsonl`` (flushed per line, so an interrupted run keeps its answers).
    Returns counts per status. Blocks for the VLM's latency per pair."""
    store = EpisodeStore(store_root)
    if camera not in store.spec.cameras:
        raise ValueError(f"camera {camera!r} not in store cameras {list(store.spec.cameras)}")
    cache: dict[int, np.ndarray] = {}

    def frame(ep: int, t: int) -> np.ndarray:
        if ep not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[ep] = store.episode(ep).images[camera]
        return cache[ep][t]

    counts: dict[str, int] = {}
    out = Path(out_jsonl)
    out.parent.mkdir(parents=True, exist_ok=True)
    pairs = sample_pairs(store, n_pairs, seed)
    with open(out, "a") as f:
        for i, ((ea, ta), (eb, tb)) in enumerate(pairs):
            ans = client.compare(goal, frame(ea, ta), frame(eb, tb))
            rec = PreferenceRecord(ea, ta, eb, tb, ans.label, ans.status)
            f.write(json.dumps(asdict(rec)) + "\n")
            f.flush()
            counts[ans.status] = counts.get(ans.status, 0) + 1
            if progress is not None:
                progress(i + 1, len(pairs))
    return counts


def load_preferences(path: str | Path) -> list[PreferenceRecord]:
    """Records of a JSONL file; a torn last line (interrupted run) is ignored."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(PreferenceRecord(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            continue
    return records


def usable(records: list[PreferenceRecord]) -> list[PreferenceRecord]:
    """Records with a verdict (preferences and ties)."""
    return [r for r in records if r.label is not None]


def wait_s(t0: float) -> float:
    """Seconds since ``t0`` (perf_counter)."""
    return time.perf_counter() - t0
