"""Labelled frames for reward classifiers, read from zarr episode stores.

The label of observation ``t + 1`` of an episode is its step flag ``success[t]``; the
reset frame (observation 0) has no label and is skipped. Splits are by episode, never by
frame: neighbouring frames of one episode are near-duplicates, and a frame split would
leak them into validation and overstate accuracy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_rl.data.episodes import EpisodeStore
from robot_rl.rewards.errors import CameraMismatchError, RewardInputError


@dataclass(frozen=True)
class LabelledFrames:
    """N labelled observations; all arrays share the leading axis."""

    images: Mapping[str, np.ndarray]  # camera -> (N, H, W, 3) uint8
    labels: np.ndarray  # (N,) bool, True = success
    episode: np.ndarray  # (N,) int64 episode id (unique across the stores loaded)
    # camera -> pinhole (fx, fy, cx, cy) at the image size, when every episode recorded it
    camera_views: Mapping[str, list[float]] | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        h, w, c = next(iter(self.images.values())).shape[1:]
        return int(h), int(w), int(c)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())

    def subset(self, index: np.ndarray) -> LabelledFrames:
        """The frames at ``index`` (a copy)."""
        return LabelledFrames(
            {c: v[index] for c, v in self.images.items()},
            self.labels[index],
            self.episode[index],
            self.camera_views,
        )


def load_labelled_frames(
    stores: Sequence[str | Path], cameras: tuple[str, ...] | None = None
) -> LabelledFrames:
    """Read every labelled frame of the committed episodes in ``stores``.

    ``cameras`` None takes the first store's cameras. Raises FileNotFoundError for a
    missing store, CameraMismatchError when a store lacks a camera and RewardInputError
    on mixed image sizes.
    """
    if not stores:
        raise RewardInputError("no episode store given")
    images: dict[str, list[np.ndarray]] = {}
    labels: list[np.ndarray] = []
    episodes: list[np.ndarray] = []
    shape: tuple[int, ...] | None = None
    next_id = 0
    views: set[str] = set()  # each episode's recorded pinholes (JSON; "" = not recorded)
    for root in stores:
        if not (Path(root) / "episodes.zarr").exists():
            raise FileNotFoundError(f"no episode store at {root}")
        store = EpisodeStore(root)
        cams = cameras if cameras is not None else store.spec.cameras
        missing = [c for c in cams if c not in store.spec.cameras]
        if missing:
            raise CameraMismatchError(
                f"store {root} has cameras {list(store.spec.cameras)}, lacks {missing}"
            )
        if shape is not None and store.spec.image_shape != shape:
            raise RewardInputError(
                f"store {root} has images {store.spec.image_shape}, others {shape}"
            )
        shape = store.spec.image_shape
        cameras = tuple(cams)
        for ep in store:
            for c in cameras:
                images.setdefault(c, []).append(ep.images[c][1:])
            labels.append(ep.success)
            recorded = ep.metadata.get("camera_views") or {}
            view = {c: recorded[c] for c in cameras if c in recorded}
            views.add(json.dumps(view, sort_keys=True) if len(view) == len(cameras) else "")
            episodes.append(np.full(ep.num_steps, next_id, np.int64))
            next_id += 1
    if not labels:
        raise RewardInputError(f"no committed episodes in {[str(s) for s in stores]}")
    if len(views - {""}) > 1:
        raise RewardInputError(
            f"the episodes were rendered through different camera pinholes "
            f"{sorted(views - {''})}: train on frames of one cell calibration"
        )
    return LabelledFrames(
        {c: np.concatenate(v) for c, v in images.items()},
        np.concatenate(labels).astype(bool),
        np.concatenate(episodes),
        None if "" in views else json.loads(views.pop()),
    )


def limit_positives(
    data: LabelledFrames,
    max_positives: int | None,
    max_per_episode: int | None = None,
    seed: int = 0,
) -> LabelledFrames:
    """Keep at most ``max_per_episode`` random success frames per episode and at most
    ``max_positives`` in all (failure frames are all kept).

    Spreading a budget of success frames over many episodes buys more pose and lighting
    variety than consecutive, near-identical frames of a few.
    """
    rng = np.random.default_rng(seed)
    keep = np.ones(len(data), bool)
    total = 0
    for ep in np.unique(data.episode):
        pos = np.flatnonzero((data.episode == ep) & data.labels)
        if max_per_episode is not None and pos.size > max_per_episode:
            chosen = np.sort(rng.choice(pos, max_per_episode, replace=False))
            keep[np.setdiff1d(pos, chosen)] = False
            pos = chosen
        if max_positives is not None:
            room = max(0, max_positives - total)
            keep[pos[room:]] = False
            pos = pos[:room]
        total += pos.size
    return data.subset(np.flatnonzero(keep))


def split_by_episode(
    data: LabelledFrames, val_fraction: float, seed: int = 0
) -> tuple[LabelledFrames, LabelledFrames]:
    """(train, val): about ``val_fraction`` of the episodes go to validation.

    Episodes with and without positives are split separately, so both sides get both
    classes whenever there are at least two episodes of each kind.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    ids = np.unique(data.episode)
    has_pos = np.array([data.labels[data.episode == i].any() for i in ids])
    val_ids: list[np.ndarray] = []
    for group in (ids[has_pos], ids[~has_pos]):
        if group.size < 2:
            continue
        n_val = min(group.size - 1, max(1, round(group.size * val_fraction)))
        val_ids.append(rng.choice(group, n_val, replace=False))
    is_val = np.isin(data.episode, np.concatenate(val_ids) if val_ids else np.array([], int))
    return data.subset(np.flatnonzero(~is_val)), data.subset(np.flatnonzero(is_val))


def balanced_batch(labels: np.ndarray, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a batch with half positives and half negatives (drawn with replacement).

    Success frames are rare (a few per episode); uniform sampling would teach "never done".
    """
    pos = np.flatnonzero(labels)
    neg = np.flatnonzero(~labels)
    if pos.size == 0 or neg.size == 0:
        raise RewardInputError(
            f"balanced sampling needs both classes; have {pos.size} success and "
            f"{neg.size} failure frames"
        )
    n_pos = batch_size // 2
    return np.concatenate([rng.choice(pos, n_pos), rng.choice(neg, batch_size - n_pos)])
