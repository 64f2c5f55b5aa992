"""DrQ random-shift augmentation on uint8 image batches."""

from __future__ import annotations

import torch


def random_shift(
    images: torch.Tensor, pad_px: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shift each image by an independent integer offset in [-pad_px, pad_px] per axis.

    Equivalent to replicate-padding by ``pad_px`` and cropping back to (H, W) at a random
    corner. Works on uint8 (B, H, W, 3) directly: clamped gather indices replace the
    padding, so no float copy and no padded buffer are made.
    """
    if pad_px <= 0:
        return images
    b, h, w, _ = images.shape
    dev = images.device
    shifts = torch.randint(
        0,
        2 * pad_px + 1,
        (2, b),
        generator=generator,
        device=generator.device if generator else dev,
    ).to(dev)
    rows = (torch.arange(h, device=dev).unsqueeze(0) + shifts[0].unsqueeze(1) - pad_px).clamp(
        0, h - 1
    )
    cols = (torch.arange(w, device=dev).unsqueeze(0) + shifts[1].unsqueeze(1) - pad_px).clamp(
        0, w - 1
    )
    batch = torch.arange(b, device=dev).view(b, 1, 1)
    return images[batch, rows.unsqueeze(2), cols.unsqueeze(1)]
