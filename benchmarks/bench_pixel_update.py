"""Cost of one pixel SAC update (two cameras, frozen backbone) against a state update.

Answers "can the pixel benchmarks run on this machine?": seconds per update for the
default encoder (ResNet-10 widths, 128x128) and for a reduced one, each against the
state-only update measured in the same run, and the hours 30,000 updates would take.

    nice -n 10 .venv/bin/python benchmarks/bench_pixel_update.py [--updates 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from robot_rl.agents.config import EncoderConfig, SACConfig
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import Batch, ObsSpec

CAMERAS = ("front", "wrist")
STATE_DIM = 20
TARGET_UPDATES = 30_000


def batch(spec: ObsSpec, b: int, rng: np.random.Generator) -> Batch:
    def imgs() -> dict[str, np.ndarray]:
        return {c: rng.integers(0, 256, (b, *spec.image_shape), dtype=np.uint8) for c in CAMERAS}

    state = rng.normal(size=(b, spec.state_dim)).astype(np.float32)
    flags = np.zeros(b, bool)
    return Batch(
        state,
        imgs() if spec.cameras else {},
        rng.uniform(-1, 1, (b, 7)).astype(np.float32),
        np.zeros(b, np.float32),
        state,
        imgs() if spec.cameras else {},
        flags,
        flags,
        flags,
    )


def seconds_per_update(spec: ObsSpec, cfg: SACConfig, updates: int) -> float:
    agent = SACAgent(cfg, spec, 7)
    data = batch(spec, cfg.batch_size, np.random.default_rng(0))
    agent.update(data)  # warm-up (allocations)
    t0 = time.perf_counter()
    for _ in range(updates):
        agent.update(data)
    return (time.perf_counter() - t0) / updates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--updates", type=int, default=3, help="timed updates per variant")
    args = ap.parse_args()
    torch.set_num_threads(1)
    small_enc = EncoderConfig(stage_widths=(16, 32, 64, 128), stem_width=16)
    variants = [
        ("state only (baseline)", ObsSpec(STATE_DIM + 10), SACConfig(), 100),
        (
            "pixels 128x128, ResNet-10 widths, batch 256",
            ObsSpec(STATE_DIM, CAMERAS, (128, 128, 3)),
            SACConfig(),
            args.updates,
        ),
        (
            "pixels 64x64, widths 16-128, batch 64",
            ObsSpec(STATE_DIM, CAMERAS, (64, 64, 3)),
            dataclasses.replace(SACConfig(), batch_size=64, encoder=small_enc),
            args.updates * 5,
        ),
    ]
    base = None
    print(f"| variant | s / update | vs state | hours for {TARGET_UPDATES:,} updates |")
    print("|---|---|---|---|")
    for name, spec, cfg, n in variants:
        s = seconds_per_update(spec, cfg, n)
        base = s if base is None else base
        hours = s * TARGET_UPDATES / 3600
        print(f"| {name} | {s:.4f} | {s / base:.0f}x | {hours:.1f} |")


if __name__ == "__main__":
    main()
