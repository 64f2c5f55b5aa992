"""numpy Batch / observation dict -> torch tensors, with the pixel dtype checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch

from robot_rl.agents.pixels import check_uint8_array
from robot_rl.agents.types import Batch, ObsSpec


class TensorBatch(NamedTuple):
    """Batch on the learner's device; images still uint8 (B, H, W, 3)."""

    state: torch.Tensor  # (B, S) float32
    images: dict[str, torch.Tensor]  # camera -> (B, H, W, 3) uint8
    action: torch.Tensor  # (B, A) float32
    reward: torch.Tensor  # (B,) float32
    next_state: torch.Tensor  # (B, S) float32
    next_images: dict[str, torch.Tensor]  # camera -> (B, H, W, 3) uint8
    terminated: torch.Tensor  # (B,) float32 0/1
    truncated: torch.Tensor  # (B,) float32 0/1 (informational: it never masks)
    intervened: torch.Tensor  # (B,) float32 0/1
    demo: torch.Tensor  # (B,) float32 0/1: row came from the demo buffer
    discount: torch.Tensor | None  # (B,) float32 bootstrap factor, None: the agent's


def _images(
    images: Mapping[str, Any], spec: ObsSpec, device: torch.device, batched: bool
) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for cam in spec.cameras:
        if cam not in images:
            raise KeyError(f"camera {cam!r} missing from images {sorted(images)}")
        arr = images[cam]
        check_uint8_array(arr, cam, spec.image_shape)
        t = torch.from_numpy(np.ascontiguousarray(arr)).to(device, non_blocking=True)
        out[cam] = t if batched else t.unsqueeze(0)
    return out


def batch_to_tensors(
    batch: Batch, spec: ObsSpec, action_dim: int, device: torch.device
) -> TensorBatch:
    """Convert and check a replay batch; raises PixelScaleError on non-uint8 images."""

    def f32(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)

    if batch.action.shape[-1] != action_dim:
        raise ValueError(f"batch actions have {batch.action.shape[-1]} dims, agent {action_dim}")
    return TensorBatch(
        state=f32(batch.state),
        images=_images(batch.images, spec, device, batched=True),
        action=f32(batch.action),
        reward=f32(batch.reward),
        next_state=f32(batch.next_state),
        next_images=_images(batch.next_images, spec, device, batched=True),
        terminated=f32(batch.terminated),
        truncated=f32(batch.truncated),
        intervened=f32(batch.intervened),
        demo=f32(batch.demo if batch.demo is not None else np.zeros(batch.size, bool)),
        discount=None if batch.discount is None else f32(batch.discount),
    )


def obs_to_tensors(
    obs: Mapping[str, Any], spec: ObsSpec, device: torch.device
) -> tuple[torch.Tensor, dict[str, torch.Tensor], bool]:
    """One observation dict (or a stacked batch of them) -> (state (B, S), images, single)."""
    state = np.asarray(obs["state"], dtype=np.float32)
    single = state.ndim == 1
    state_t = torch.as_tensor(state, device=device).reshape(-1, spec.state_dim)
    images = _images(obs.get("images", {}), spec, device, batched=not single)
    return state_t, images, single
