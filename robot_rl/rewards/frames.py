"""Frame dicts as reward sources take them: camera name -> uint8 (H, W, 3) RGB, or a batch
(B, H, W, 3). Checks raise `RewardInputError` / `CameraMismatchError` with the fix in the text.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from robot_rl.rewards.errors import CameraMismatchError, RewardInputError

Frames = Mapping[str, np.ndarray]  # camera -> uint8 (H, W, 3) RGB, one observation


def check_cameras(
    trained: tuple[str, ...], requested: tuple[str, ...] | None, what: str = "model"
) -> None:
    """Raise CameraMismatchError unless ``requested`` (when given) equals ``trained``."""
    if requested is not None and tuple(requested) != tuple(trained):
        raise CameraMismatchError(
            f"this reward {what} was trained on cameras {list(trained)} but is configured "
            f"for {list(requested)}; retrain it on these cameras or use the same camera set"
        )


def check_frames(
    frames: Frames,
    cameras: tuple[str, ...],
    image_shape: tuple[int, int, int] | None,
    batched: bool = False,
) -> None:
    """Check that ``frames`` holds every camera in ``cameras`` as uint8 of ``image_shape``.

    ``batched``: arrays are (B, H, W, 3) with one B for all cameras, else (H, W, 3).
    ``image_shape`` None accepts any (H, W, 3).
    """
    missing = [c for c in cameras if c not in frames]
    if missing:
        raise CameraMismatchError(
            f"frames lack camera(s) {missing}: the reward model was trained on "
            f"{list(cameras)}, got {sorted(frames)}"
        )
    batch: int | None = None
    for c in cameras:
        img = frames[c]
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
            raise RewardInputError(
                f"camera {c!r}: expected a uint8 numpy RGB image in 0..255, got "
                f"{getattr(img, 'dtype', type(img).__name__)}"
            )
        want_dim = 4 if batched else 3
        if img.ndim != want_dim or img.shape[-1] != 3:
            layout = "(B, H, W, 3)" if batched else "(H, W, 3)"
            raise RewardInputError(f"camera {c!r}: expected {layout} RGB, got {img.shape}")
        if image_shape is not None and tuple(img.shape[-3:]) != tuple(image_shape):
            raise RewardInputError(
                f"camera {c!r}: image size {img.shape[-3:-1]} (H, W), but the reward model "
                f"was trained on {tuple(image_shape[:2])}; resize the camera stream or retrain"
            )
        if batched:
            if batch is not None and img.shape[0] != batch:
                raise RewardInputError(f"camera {c!r}: batch {img.shape[0]}, others {batch}")
            batch = img.shape[0]
