"""Twin reward labels: rendered frames labelled by the task's privileged success predicate.

Each episode draws an object/arm reset (the task's own randomisation), a lighting and a
perturbation mode (`perturb.py`), runs the perturbed expert and records every frame with
``success = task.success(cell)`` at that frame. Episodes are written to a zarr
`EpisodeStore`; the label of observation ``t + 1`` is ``success[t]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.data.episodes import EpisodeSpec, EpisodeStore
from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.rewards.lighting import LightingConfig, LightRandomizer
from robot_rl.rewards.perturb import PerturbConfig, PerturbedExpert, draw_mode
from robot_rl.spec import ACTION_DIM, PROPRIO_DIM
from robot_rl.twin.cell import CellConfig


@dataclass(frozen=True)
class LabelGenConfig:
    """What `generate_twin_labels` renders."""

    task: str = "pick_cube"  # registered twin task
    episodes: int = 40  # episodes to record
    seed: int = 0  # episode i uses seed + i (reset, lighting, perturbation)
    cameras: tuple[str, ...] = ("front", "wrist")  # cameras to render
    image_size: tuple[int, int] = (128, 128)  # (height, width) pixels
    max_steps: int = 70  # hard cap on steps per episode (10 Hz)
    post_success_steps: int = 6  # steps kept after the first success frame
    after_trigger_steps: int = 6  # steps kept after a stall/drop began
    perturb: PerturbConfig = field(default_factory=PerturbConfig)  # near-miss modes
    lighting: LightingConfig = field(default_factory=LightingConfig)  # lighting ranges
    randomize_lighting: bool = True  # False: the cell's nominal lights


@dataclass(frozen=True)
class LabelGenSummary:
    """Counts of what was written."""

    episodes: int
    frames: int
    positives: int
    modes: dict[str, int]
    seconds: float


def generate_twin_labels(
    out: str | Path,
    cfg: LabelGenConfig,
    progress: Callable[[int, int], None] | None = None,
) -> LabelGenSummary:
    """Render ``cfg.episodes`` labelled episodes into the store at ``out`` (appends).

    Blocks for roughly 20 ms per step and camera on one CPU core.
    """
    env = TwinEnv(
        EnvConfig(
            task=cfg.task,
            obs="pixels",
            cell=CellConfig(image_size=cfg.image_size, cameras=cfg.cameras),
        )
    )
    spec = EpisodeSpec(
        state_dim=PROPRIO_DIM,
        action_dim=ACTION_DIM,
        cameras=cfg.cameras,
        image_shape=(cfg.image_size[0], cfg.image_size[1], 3),
    )
    store = EpisodeStore(out, spec, durable=False)
    lights = LightRandomizer(env.cell.model, cfg.lighting)
    t0 = time.perf_counter()
    frames = positives = 0
    modes: dict[str, int] = {}
    try:
        for i in range(cfg.episodes):
            seed = cfg.seed + i
            n, pos, mode = _record_episode(env, store, lights, cfg, seed)
            frames += n
            positives += pos
            modes[mode] = modes.get(mode, 0) + 1
            if progress is not None:
                progress(i + 1, cfg.episodes)
    finally:
        env.close()
    return LabelGenSummary(cfg.episodes, frames, positives, modes, time.perf_counter() - t0)


def _record_episode(
    env: TwinEnv, store: EpisodeStore, lights: LightRandomizer, cfg: LabelGenConfig, seed: int
) -> tuple[int, int, str]:
    rng = np.random.default_rng([seed, 0x5EED])  # independent of the env's reset stream
    lighting = lights.apply(rng) if cfg.randomize_lighting else {}
    mode = draw_mode(rng, cfg.perturb)
    obs, info = env.reset(seed=seed)
    store.begin_episode(obs, _stamp_ns(info))
    policy = PerturbedExpert(env, mode, rng, cfg.perturb)
    first_success: int | None = None
    positives = 0
    steps = 0
    while steps < cfg.max_steps:
        # float32 as stored, so replaying the stored actions reproduces the episode exactly.
        action = policy.act().astype(np.float32)
        obs, _, _, _, info = env.step(action)
        success = bool(env.task.success(env.cell))
        positives += success
        steps += 1
        if success and first_success is None:
            first_success = steps
        done = (first_success is not None and steps - first_success >= cfg.post_success_steps) or (
            policy.triggered_at is not None
            and steps - policy.triggered_at >= cfg.after_trigger_steps
        )
        store.add_step(
            action,
            float(success),
            obs,
            _stamp_ns(info),
            truncated=done or steps == cfg.max_steps,
            success=success,
        )
        if done:
            break
    meta: dict[str, Any] = {
        "source": "twin_labels",
        "task": cfg.task,
        "seed": seed,
        "mode": mode,
        "lighting": lighting,
        "generator": asdict(replace(cfg, episodes=1, seed=seed)),
    }
    store.end_episode(meta)
    return steps, positives, mode


def _stamp_ns(info: dict[str, Any]) -> int:
    return round(float(info["t_sim_s"]) * 1e9)
