"""Pixel dtype/scale checks and the single uint8 -> float conversion.

Replay, demos and the live actor all hand images over as uint8 (H, W, 3) in 0..255.
Dividing by 255 happens in ``pixels_to_float`` and nowhere else, so offline and online
pixel scales cannot drift apart (a known defect of the anchors).
"""

from __future__ import annotations

import numpy as np
import torch


class PixelScaleError(TypeError):
    """Images arrived with a dtype or layout other than uint8 (..., H, W, 3)."""


def check_uint8_array(images: np.ndarray, name: str, shape: tuple[int, ...] | None) -> None:
    """Raise PixelScaleError unless ``images`` is a uint8 numpy array of trailing ``shape``."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        dtype = getattr(images, "dtype", type(images).__name__)
        raise PixelScaleError(
            f"camera {name!r}: expected uint8 pixels in 0..255, got {dtype}; float or "
            "[0, 1]-scaled images mean the producer disagrees with the learner on pixel scale"
        )
    if shape is not None and tuple(images.shape[-len(shape) :]) != tuple(shape):
        raise PixelScaleError(f"camera {name!r}: expected (..., {shape}), got {images.shape}")


def check_uint8_tensor(images: torch.Tensor, name: str) -> None:
    """Raise PixelScaleError unless ``images`` is a uint8 tensor (B, H, W, 3)."""
    if images.dtype != torch.uint8:
        raise PixelScaleError(
            f"camera {name!r}: expected uint8 pixels in 0..255, got {images.dtype}; float or "
            "[0, 1]-scaled images mean the producer disagrees with the learner on pixel scale"
        )
    if images.dim() != 4 or images.shape[-1] != 3:
        raise PixelScaleError(f"camera {name!r}: expected (B, H, W, 3), got {tuple(images.shape)}")


def pixels_to_float(images: torch.Tensor, name: str = "?") -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float32 (B, 3, H, W) in [0, 1]; the only division by 255."""
    check_uint8_tensor(images, name)
    return images.permute(0, 3, 1, 2).float().div_(255.0)
