"""The training job's configuration: one dataclass, embedded per-task defaults, YAML I/O."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from robot_rl.agents.config import (
    ActorConfig,
    EncoderConfig,
    SACConfig,
    config_from_dict,
    config_to_dict,
    sac_config,
)


@dataclass
class TrainConfig:
    """Everything ``robot-rl train`` needs; saved as config.json beside every checkpoint."""

    # Registered twin task.
    task: str = "pick_cube"
    # A registered gymnasium env id to train on instead of the twin task ("" = the twin).
    # Its actions are rescaled from [-1, 1] to its bounds, its observations mapped to the
    # core's layout (robot_rl/loop/envs.py).
    env_id: str = ""
    # Keyword arguments of gymnasium.make(env_id).
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    # The info key of env_id that says an episode succeeded (absent: never).
    success_key: str = "success"
    # Observation mode: "state" (proprio + object state) or "pixels" (proprio + 2 cameras).
    obs: Literal["state", "pixels"] = "state"
    # Add the task's dense shaping term to the sparse success reward.
    dense_reward: bool = False
    # Seed of the env resets, the agent and the demos.
    seed: int = 0
    # Budget of environment (policy) steps, 10 per robot-second.
    env_steps: int = 15_000
    # Stop early once an evaluation reaches this success rate (None: use the whole budget).
    stop_at_success: float | None = 0.9
    # Scripted expert demos recorded into the run's zarr store before training (0: none).
    demos: int = 20
    # An existing zarr demo store to use instead of recording scripted demos.
    demo_path: str | None = None
    # Environment steps of uniform-random actions before the policy acts.
    random_steps: int = 1000
    # Evaluation (deterministic policy) every this many env steps, over this many episodes.
    eval_every_steps: int = 1000
    eval_episodes: int = 10
    # Atomic checkpoint (agent + replay + counters) every this many env steps.
    checkpoint_every_steps: int = 2500
    # The actor picks up new weights when this many updates have passed (versioned).
    weights_every_updates: int = 50
    # A `robot-rl train-reward` model directory: the learner's reward and termination come
    # from this classifier on the camera images (pixels only; dense_reward is then unused),
    # as on a real cell. Evaluation still uses the twin's privileged success predicate.
    reward_model: str | None = None
    # Consecutive frames the classifier must fire before an episode counts as a success.
    reward_hold_frames: int = 3
    # Before training with reward_model: random-action episodes through the classifier; any
    # success there that the twin's predicate denies is printed as a warning (0: skip).
    reward_check_episodes: int = 5
    # Rendered image size (pixels mode) in pixels, square.
    image_size: int = 128
    # Human in the loop, played by the twin's simulated operator: "off", or a routing mode
    # of robot_rl/hil/routing.py ("hil_serl", "rlif", "bc", "dagger").
    hil: str = "off"
    # The simulated operator's reaction delay (s) and action noise (std, action units).
    operator_reaction_delay_s: float = 0.3
    operator_action_noise_std: float = 0.0
    # RLIF only: also sample the operator's steps as demos (reward 0; no task reward).
    rlif_human_demos: bool = False
    # Where the simulated operator stands: heading (rad) of their "forward" in the base frame.
    operator_yaw_rad: float = 0.0
    # Benchmarks only: store interventions with a published frame bug ("inverse": R^T for R,
    # "device": the raw device twist) while executing the right action. "none" otherwise.
    operator_frame_bug: Literal["none", "inverse", "device"] = "none"
    # torch intra-op threads. The env shares the process; on a 2-core machine 2 threads ran
    # SAC updates 40x slower than 1 (oversubscription), so 1 unless the learner has a GPU.
    torch_threads: int = 1
    # Learner (SAC/RLPD) settings.
    sac: SACConfig = field(default_factory=sac_config)

    def __post_init__(self) -> None:
        if self.obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', got {self.obs!r}")
        for name in ("env_steps", "eval_every_steps", "eval_episodes", "checkpoint_every_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.hil not in ("off", "hil_serl", "rlif", "bc", "dagger"):
            raise ValueError(f"hil must be off, hil_serl, rlif, bc or dagger; got {self.hil!r}")
        if self.operator_frame_bug not in ("none", "inverse", "device"):
            bug = self.operator_frame_bug
            raise ValueError(f"operator_frame_bug must be none, inverse or device, got {bug!r}")
        if self.reward_model is not None and self.obs != "pixels":
            raise ValueError("reward_model reads the cameras: it needs obs='pixels'")
        if self.demos < 0 or self.random_steps < 0 or self.reward_check_episodes < 0:
            raise ValueError("demos, random_steps and reward_check_episodes must be >= 0")


def twin_sac_config(**overrides: Any) -> SACConfig:
    """The learner settings measured to work on the twin tasks (benchmarks/RESULTS.md).

    Against plain SAC defaults: a shorter horizon (gamma 0.95, tau 0.02, 3-step targets)
    so values ground within a few thousand updates on CPU, and a behaviour-cloning term on
    demo rows that keeps the policy near the demos while the critic is still flat.
    """
    base = sac_config(
        discount=0.95,
        tau=0.02,
        n_step=3,
        replay_ratio=2.0,
        actor=ActorConfig(bc_weight=1.0),
    )
    return dataclasses.replace(base, **overrides)


def default_config(task: str, obs: str) -> TrainConfig:
    """The embedded default for a task and observation mode (the main job's settings).

    The twin's dense shaping is on: with the sparse success reward alone the critic did
    not rank actions usefully within the CPU budget (benchmarks/RESULTS.md, learner).
    """
    if obs == "pixels":
        # Sized for a CPU: 64x64 images and a two-stage frozen encoder cost 0.09 s per update
        # against 7.5 s for 128x128 through the ResNet-10 (bench_pixel_update.py). On a GPU,
        # set image_size: 128 and the encoder's stage_widths: [64, 128, 256, 512].
        enc = EncoderConfig(stem_width=16, stage_widths=(32, 64))
        sac = twin_sac_config(replay_ratio=1.0, batch_size=64, encoder=enc)
        return TrainConfig(
            task=task,
            obs="pixels",
            env_steps=30_000,
            dense_reward=True,
            image_size=64,
            sac=sac,
        )
    return TrainConfig(task=task, obs="state", dense_reward=True, sac=twin_sac_config())


def gym_config(env_id: str) -> TrainConfig:
    """The default for a foreign gymnasium env: plain SAC, state observations, no demos,
    the whole budget (a foreign env has no success rate to stop at)."""
    return TrainConfig(
        env_id=env_id, obs="state", demos=0, stop_at_success=None, sac=sac_config()
    )


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    out = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "sac"}
    out["sac"] = config_to_dict(cfg.sac)
    return out


def from_dict(data: dict[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """Overlay ``data`` on ``base`` (default: the task's embedded default). Unknown keys raise."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise KeyError(f"unknown training config keys {unknown}; known: {sorted(names)}")
    if base is None:
        if data.get("env_id"):
            base = gym_config(str(data["env_id"]))
        else:
            base = default_config(data.get("task", "pick_cube"), data.get("obs", "state"))
    values = {k: v for k, v in data.items() if k != "sac"}
    cfg = dataclasses.replace(base, **values)
    if "sac" in data:
        merged = config_to_dict(cfg.sac)
        _deep_update(merged, data["sac"])
        cfg.sac = config_from_dict(merged)
    return cfg


def _deep_update(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if key not in target:
            raise KeyError(f"unknown SAC config key {key!r}")
        if isinstance(value, dict) and isinstance(target[key], dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def _read_yaml(path: str | Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a training config must be a mapping")
    return data


def load_yaml(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    return from_dict(_read_yaml(path), base)


def run_config(task: str | None, obs: str | None, path: str | Path | None) -> TrainConfig:
    """``robot-rl train``'s config: the embedded default of the task and observation mode
    (from the command line, else the YAML, else pick_cube from state), the YAML on top.

    So a YAML that says ``obs: pixels`` starts from the pixel default (64x64 images, the
    small encoder), not from the state default with pixels switched on.
    """
    data = _read_yaml(path) if path is not None else {}
    if task is not None:
        data["task"] = task
    if obs is not None:
        data["obs"] = obs
    return from_dict(data)


def save_json(cfg: TrainConfig, path: Path) -> None:
    path.write_text(json.dumps(to_dict(cfg), indent=2, sort_keys=True))
