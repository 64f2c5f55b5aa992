"""Twin reward labels: rendered frames labelled by the task's privileged success predicate.

Each episode draws an object/arm reset (the task's own randomisation), a lighting and a
perturbation mode (`perturb.py`), runs the perturbed expert and records every frame with
``success = task.success(cell)`` at that frame (the env's ``info["success"]``). Episodes
are written to a zarr `EpisodeStore` by the one recorder (robot_rl.data.recorder), stamped
in sim time; the label of observation ``t + 1`` is ``success[t]``. The expert keeps going
after a success (the env's ``terminated``) for ``post_success_steps`` more frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from robot_rl.calibration.cell_file import camera_views
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.recorder import EpisodeRecorder, episode_spec
from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.rewards.lighting import LightingConfig, LightRandomizer
from robot_rl.rewards.perturb import PerturbConfig, PerturbedExpert, draw_mode
from robot_rl.twin.cell import CellConfig


@dataclass(frozen=True)
class LabelGenConfig:
    """What `generate_twin_labels` renders."""

    task: str = "pick_cube"  # registered twin task
    episodes: int = 40  # episodes to record
    seed: int = 0  # episode i uses seed + i (reset, lighting, perturbation)
    cameras: tuple[str, ...] = ("front", "wrist")  # cameras to render
    image_size: tuple[int, int] = (128, 128)  # (height, width) pixels
    calibration: str | None = None  # cell calibration YAML (None: the packaged default cell)
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
            cell=CellConfig(
                image_size=cfg.image_size, cameras=cfg.cameras, calibration=cfg.calibration
            ),
        )
    )
    store = EpisodeStore(out, episode_spec(env), durable=False)
    # The cameras' pinholes go with every episode: a classifier trained on these frames
    # records them and refuses an env whose cameras see the cell through other ones.
    views = camera_views(env.cell.calibration, cfg.cameras, cfg.image_size)
    meta = {"source": "twin_labels", "task": cfg.task, "camera_views": views}
    rec = EpisodeRecorder(env, store, meta)
    lights = LightRandomizer(env.cell.model, cfg.lighting)
    t0 = time.perf_counter()
    frames = positives = 0
    modes: dict[str, int] = {}
    try:
        for i in range(cfg.episodes):
            seed = cfg.seed + i
            n, pos, mode = _record_episode(rec, lights, cfg, seed)
            frames += n
            positives += pos
            modes[mode] = modes.get(mode, 0) + 1
            if progress is not None:
                progress(i + 1, cfg.episodes)
    finally:
        env.close()
    return LabelGenSummary(cfg.episodes, frames, positives, modes, time.perf_counter() - t0)


def _record_episode(
    rec: EpisodeRecorder, lights: LightRandomizer, cfg: LabelGenConfig, seed: int
) -> tuple[int, int, str]:
    rng = np.random.default_rng([seed, 0x5EED])  # independent of the env's reset stream
    lighting = lights.apply(rng) if cfg.randomize_lighting else {}
    mode = draw_mode(rng, cfg.perturb)
    rec.reset(seed)
    policy = PerturbedExpert(rec.env, mode, rng, cfg.perturb)
    first_success: int | None = None
    positives = 0
    while rec.steps < cfg.max_steps:
        # float32 as stored, so replaying the stored actions reproduces the episode exactly.
        success = bool(rec.step(policy.act().astype(np.float32))[4]["success"])
        positives += success
        steps = rec.steps
        if success and first_success is None:
            first_success = steps
        if (first_success is not None and steps - first_success >= cfg.post_success_steps) or (
            policy.triggered_at is not None
            and steps - policy.triggered_at >= cfg.after_trigger_steps
        ):
            break
    generator = asdict(replace(cfg, episodes=1, seed=seed))
    rec.commit(mode=mode, lighting=lighting, generator=generator)
    return rec.steps, positives, mode
