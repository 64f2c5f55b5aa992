"""Recording into an existing store: top up to N episodes with unused seeds, or refuse.

Recorders write each episode's reset seed into its metadata (``"seed"``). `plan_recording`
reads them (without writing) so that a re-run never records a seed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from robot_rl.data.episodes import EpisodeStore


class ExistingStore(str, Enum):
    """What a recorder does when its output store already holds episodes."""

    TOP_UP = "top-up"  # record only the missing episodes, on seeds after every stored one
    REFUSE = "refuse"  # stop with an error


class StoreNotEmptyError(ValueError):
    """The store holds episodes and the policy is `ExistingStore.REFUSE`."""


@dataclass(frozen=True)
class RecordingPlan:
    """How many episodes to record and from which seed, and a sentence saying why."""

    episodes: int
    first_seed: int
    message: str


def stored_seeds(store: EpisodeStore) -> list[int]:
    """The ``seed`` of every committed episode that has one, in store order."""
    seeds = []
    for i in range(len(store)):
        seed = store.metadata(i).get("seed")
        if isinstance(seed, int):
            seeds.append(seed)
    return seeds


def plan_recording(
    root: str | Path, episodes: int, seed: int, existing: ExistingStore
) -> RecordingPlan:
    """Plan a recording of ``episodes`` episodes into the store at ``root``, seeds counting
    up from ``seed``. A missing or empty store records all of them from ``seed``."""
    if episodes < 0:
        raise ValueError(f"episodes must be >= 0, got {episodes}")
    if not (Path(root) / "episodes.zarr" / "zarr.json").exists():
        return RecordingPlan(episodes, seed, f"new store: recording {episodes} episodes")
    store = EpisodeStore(root)
    have = len(store)
    if have == 0:
        return RecordingPlan(episodes, seed, f"empty store: recording {episodes} episodes")
    if existing is ExistingStore.REFUSE:
        raise StoreNotEmptyError(
            f"{root} already holds {have} episodes; refusing (use a new --out or top up)"
        )
    seeds = stored_seeds(store)
    first = max(seed, max(seeds, default=seed - 1) + 1)
    todo = max(0, episodes - have)
    if todo == 0:
        return RecordingPlan(0, first, f"{root} holds {have} >= {episodes} episodes: topped up")
    return RecordingPlan(
        todo,
        first,
        f"{root} holds {have} episodes: topping up to {episodes} with "
        f"{todo} more from seed {first}",
    )
