"""The one episode recorder: env episodes into an `EpisodeStore`, one stamp convention.

Scripted demos (robot_rl.train.demos), teleop demos (robot_rl.hil.record) and twin reward
labels (robot_rl.rewards.twin_labels) all record through `EpisodeRecorder`::

    rec = EpisodeRecorder(env, store, {"source": "scripted", "task": "reach"})
    obs = rec.reset(seed)                         # env.reset(seed=seed), episode begins
    obs, r, term, trunc, info = rec.step(action)  # env.step(action), the step is written
    rec.commit(success=True)  # or rec.discard()

**Timestamps.** ``timestamp_ns[t]`` is the ``stamp_ns`` of observation ``t``: the
``info["stamp_ns"]`` of the reset or step that returned it. That is sim time in the twin
(``TwinEnv``) and the sensor stamp on a robot (``BusEnv``), and it is what
`robot_rl.loop.types.Transition.stamp_ns` carries for the same observation. An env whose
info has no ``stamp_ns`` is refused: a wall-clock fallback would mix two clocks in a store.

**What is stored** is what the env returned (reward, terminated, truncated and
``info[success_key]``) plus the caller's ``intervened``. An episode the caller ends before
the env does (operator SUCCESS, a label generator's stop rule) gets ``truncated`` on its
last step: it was cut, and it still bootstraps. Every committed episode's metadata holds
the recording's fixed entries, its reset ``seed`` (robot_rl.data.seeds tops up by it) and
what ``commit`` adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robot_rl.agents.types import obs_spec_from_space
from robot_rl.data.episodes import EpisodeSpec, EpisodeStore

StepResult = tuple[dict[str, Any], float, bool, bool, dict[str, Any]]


def episode_spec(env: Any) -> EpisodeSpec:
    """The store spec matching an env's observation and action spaces."""
    spec = obs_spec_from_space(env.observation_space)
    action_dim = int(np.prod(env.action_space.shape or (0,)))
    return EpisodeSpec(spec.state_dim, action_dim, spec.cameras, spec.image_shape)


def stamp_ns(info: Mapping[str, Any]) -> int:
    """The observation's stamp (ns) from an env's reset or step info."""
    if "stamp_ns" not in info:
        raise KeyError("the env's info has no 'stamp_ns': the recorder stamps observations by it")
    return int(info["stamp_ns"])


class EpisodeRecorder:
    """Steps ``env`` and writes each step into ``store`` (see the module docstring).
    ``metadata`` goes into every committed episode. Blocks on the env and, at ``commit``,
    on disk I/O. One open episode at a time."""

    def __init__(
        self,
        env: Any,
        store: EpisodeStore,
        metadata: Mapping[str, Any],
        success_key: str = "success",
    ) -> None:
        self.env, self.store, self.success_key = env, store, success_key
        self.metadata = dict(metadata)
        self.seed = 0
        self.steps = 0  # steps written in the open episode
        self._last: dict[str, Any] | None = None  # the newest step, written one step late

    def reset(self, seed: int) -> dict[str, Any]:
        """Reset the env with ``seed`` and begin an episode at its first observation
        (the previous one must be committed or discarded)."""
        obs, info = self.env.reset(seed=seed)
        self.store.begin_episode(obs, stamp_ns(info))
        self.seed, self.steps, self._last = seed, 0, None
        return obs

    def step(self, action: np.ndarray, intervened: bool = False) -> StepResult:
        """Execute ``action`` and record the step; returns the env's step result."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._flush()
        self._last = {
            "action": action,
            "reward": reward,
            "next_obs": obs,
            "timestamp_ns": stamp_ns(info),
            "terminated": terminated,
            "truncated": truncated,
            "intervened": intervened,
            "success": bool(info.get(self.success_key, False)),
        }
        self.steps += 1
        return obs, reward, terminated, truncated, info

    def _flush(self, cut: bool = False) -> None:
        if self._last is not None:
            if cut and not self._last["terminated"]:
                self._last["truncated"] = True
            self.store.add_step(**self._last)
            self._last = None

    def commit(self, **metadata: Any) -> int:
        """Write the episode with ``metadata`` added; returns its store index."""
        self._flush(cut=True)
        return self.store.end_episode({**self.metadata, "seed": self.seed, **metadata})

    def discard(self) -> None:
        """Drop the open episode (nothing of it is committed)."""
        self._last = None
        self.store.abort_episode()
