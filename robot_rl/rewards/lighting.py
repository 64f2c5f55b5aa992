"""Lighting randomisation of a twin scene, for reward-label generation.

Changes only ``mjModel`` light fields (and the headlight), so it needs no recompilation and
is undone by `LightRandomizer.restore`. Every draw is returned as plain floats so it can be
stored with the episode it lit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np


@dataclass(frozen=True)
class LightingConfig:
    """Ranges of the per-episode lighting draw (uniform)."""

    diffuse_scale: tuple[float, float] = (0.45, 1.35)  # multiplies each light's nominal diffuse
    tint: float = 0.12  # per-channel multiplicative colour jitter, +- fraction
    pos_jitter_m: float = 0.35  # per-axis jitter of each light's position, metres
    dir_jitter: float = 0.35  # per-axis jitter of each light's direction (then renormalised)
    ambient: tuple[float, float] = (0.0, 0.2)  # per-light ambient intensity
    headlight_diffuse: tuple[float, float] = (0.2, 0.6)  # camera headlight diffuse intensity


class LightRandomizer:
    """Draws and applies lighting to one model; remembers the nominal values."""

    def __init__(self, model: mujoco.MjModel, cfg: LightingConfig | None = None) -> None:
        self.model = model
        self.cfg = cfg if cfg is not None else LightingConfig()
        self._nominal = {
            "diffuse": model.light_diffuse.copy(),
            "ambient": model.light_ambient.copy(),
            "pos": model.light_pos.copy(),
            "dir": model.light_dir.copy(),
            "head_diffuse": model.vis.headlight.diffuse.copy(),
            "head_ambient": model.vis.headlight.ambient.copy(),
        }

    def apply(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw a lighting and write it into the model; returns the draw (for metadata)."""
        cfg, m, nom = self.cfg, self.model, self._nominal
        n = m.nlight
        scale = rng.uniform(*cfg.diffuse_scale, size=(n, 1))
        tint = 1.0 + rng.uniform(-cfg.tint, cfg.tint, size=(n, 3))
        m.light_diffuse[:] = np.clip(nom["diffuse"] * scale * tint, 0.0, 1.0)
        m.light_ambient[:] = rng.uniform(*cfg.ambient, size=(n, 1)) * np.ones((1, 3))
        m.light_pos[:] = nom["pos"] + rng.uniform(-cfg.pos_jitter_m, cfg.pos_jitter_m, (n, 3))
        d = nom["dir"] + rng.uniform(-cfg.dir_jitter, cfg.dir_jitter, (n, 3))
        m.light_dir[:] = d / np.linalg.norm(d, axis=1, keepdims=True)
        head = float(rng.uniform(*cfg.headlight_diffuse))
        m.vis.headlight.diffuse[:] = head
        return {
            "diffuse": m.light_diffuse.round(4).tolist(),
            "ambient": m.light_ambient[:, 0].round(4).tolist(),
            "pos_m": m.light_pos.round(4).tolist(),
            "headlight_diffuse": round(head, 4),
        }

    def restore(self) -> None:
        """Put the nominal lighting back."""
        m, nom = self.model, self._nominal
        m.light_diffuse[:] = nom["diffuse"]
        m.light_ambient[:] = nom["ambient"]
        m.light_pos[:] = nom["pos"]
        m.light_dir[:] = nom["dir"]
        m.vis.headlight.diffuse[:] = nom["head_diffuse"]
        m.vis.headlight.ambient[:] = nom["head_ambient"]
