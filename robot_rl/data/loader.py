"""Fill a replay buffer from an episode store (the demo buffer at learner start)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.data.episodes import Episode, EpisodeStore
from robot_rl.data.integrity import EpisodeDamagedError

log = logging.getLogger(__name__)


def intervention_runs(intervened: np.ndarray) -> list[tuple[int, int]]:
    """Maximal [start, stop) step ranges where ``intervened`` is True."""
    padded = np.concatenate([[False], intervened.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def add_episode_steps(
    buffer: ReplayBuffer, ep: Episode, start: int, stop: int, reward: float | None = None
) -> int:
    """Add steps [start, stop) of ``ep`` as one segment; returns transitions added.
    ``reward`` replaces every stored reward (None: keep them)."""
    frames = slice(start, stop + 1)  # the step at stop - 1 keeps its next observation
    steps = slice(start, stop)
    rewards = ep.reward[steps] if reward is None else np.full(stop - start, reward, np.float32)
    buffer.add_segment(
        states=ep.state[frames],
        images={c: ep.images[c][frames] for c in buffer.spec.cameras},
        actions=ep.action[steps],
        rewards=rewards,
        terminated=ep.terminated[steps],
        truncated=ep.truncated[steps],
        intervened=ep.intervened[steps],
    )
    return stop - start


def fill_replay(
    store: EpisodeStore,
    buffer: ReplayBuffer,
    episodes: Iterable[int] | None = None,
    only_intervened: bool = False,
    reward: float | None = None,
    skip_damaged: bool = False,
    skipped: list[int] | None = None,
) -> int:
    """Copy committed episodes into ``buffer``; returns the number of transitions added.

    ``only_intervened`` keeps just the human-controlled stretches (HIL-SERL demo routing);
    each stretch ends with its true next observation and still bootstraps. ``reward``
    replaces every stored reward: an RLIF run has no task reward, so its demos get 0.
    A damaged episode raises `EpisodeDamagedError` unless ``skip_damaged``: then it is
    left out with a logged warning and its index appended to ``skipped`` (if given).
    """
    spec = store.spec
    if spec.action_dim != buffer.action_dim or spec.state_dim != buffer.spec.state_dim:
        raise ValueError("store and buffer disagree on state/action sizes")
    missing = set(buffer.spec.cameras) - set(spec.cameras)
    if missing or (buffer.spec.cameras and spec.image_shape != buffer.spec.image_shape):
        raise ValueError(f"store lacks cameras {sorted(missing)} or has another image shape")
    added = 0
    for i in range(len(store)) if episodes is None else episodes:
        try:
            ep = store.episode(i)
        except EpisodeDamagedError as exc:
            if not skip_damaged:
                raise
            log.warning("skipping damaged episode: %s", exc)
            if skipped is not None:
                skipped.append(i)
            continue
        runs = intervention_runs(ep.intervened) if only_intervened else [(0, ep.num_steps)]
        for start, stop in runs:
            added += add_episode_steps(buffer, ep, start, stop, reward)
    return added
