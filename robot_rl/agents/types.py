"""Records that cross the replay/learner boundary: observation spec and batches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np


class ObsSpec(NamedTuple):
    """Shapes of one observation (docs/interfaces.md)."""

    state_dim: int  # length of the float32 "state" vector
    cameras: tuple[str, ...] = ()  # camera names under "images"; empty for state-only
    image_shape: tuple[int, int, int] = (128, 128, 3)  # (H, W, 3) uint8 per camera

    @property
    def frame_bytes(self) -> int:
        """Raw uint8 bytes of all camera images of one observation."""
        h, w, c = self.image_shape
        return len(self.cameras) * h * w * c


def obs_spec_from_space(space: Any) -> ObsSpec:
    """ObsSpec from a gymnasium Dict observation space ("state" + optional "images")."""
    state_dim = int(space["state"].shape[0])
    if "images" not in space.spaces:
        return ObsSpec(state_dim)
    cams = tuple(space["images"].spaces.keys())
    shapes = {tuple(space["images"][c].shape) for c in cams}
    if len(shapes) != 1:
        raise ValueError(f"all cameras must share one image shape, got {shapes}")
    (shape,) = shapes
    return ObsSpec(state_dim, cams, (int(shape[0]), int(shape[1]), int(shape[2])))


class Batch(NamedTuple):
    """A minibatch of transitions as numpy arrays, leading axis = batch (B).

    Images stay uint8 (B, H, W, 3); they become float only inside the encoder.
    """

    state: np.ndarray  # (B, S) float32
    images: Mapping[str, np.ndarray]  # camera -> (B, H, W, 3) uint8
    action: np.ndarray  # (B, A) float32 in [-1, 1]
    reward: np.ndarray  # (B,) float32
    next_state: np.ndarray  # (B, S) float32
    next_images: Mapping[str, np.ndarray]  # camera -> (B, H, W, 3) uint8
    terminated: np.ndarray  # (B,) bool: true terminal, no bootstrap
    truncated: np.ndarray  # (B,) bool: time limit, still bootstraps
    intervened: np.ndarray  # (B,) bool: the action came from a human
    demo: np.ndarray | None = None  # (B,) bool: drawn from the demo buffer; None: none were
    discount: np.ndarray | None = None  # (B,) bootstrap factor (n-step); None: the agent's

    @property
    def size(self) -> int:
        """Number of transitions B."""
        return int(self.reward.shape[0])


def concat_batches(*batches: Batch) -> Batch:
    """Concatenate batches along the batch axis (used by the 50/50 demo/online mix)."""
    nonempty = [b for b in batches if b.reward.shape[0] > 0]
    if not nonempty:
        return batches[0]
    if len(nonempty) == 1:
        return nonempty[0]

    def cat(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrays, axis=0)

    cams = list(nonempty[0].images.keys())
    return Batch(
        state=cat([b.state for b in nonempty]),
        images={c: cat([b.images[c] for b in nonempty]) for c in cams},
        action=cat([b.action for b in nonempty]),
        reward=cat([b.reward for b in nonempty]),
        next_state=cat([b.next_state for b in nonempty]),
        next_images={c: cat([b.next_images[c] for b in nonempty]) for c in cams},
        terminated=cat([b.terminated for b in nonempty]),
        truncated=cat([b.truncated for b in nonempty]),
        intervened=cat([b.intervened for b in nonempty]),
        demo=cat([b.demo if b.demo is not None else np.zeros(b.size, bool) for b in nonempty]),
        discount=None
        if any(b.discount is None for b in nonempty)
        else cat([b.discount for b in nonempty if b.discount is not None]),
    )
