"""The training job's configuration: one dataclass, embedded per-task defaults, YAML I/O.

Loading goes through `robot_rl.configio` (the same typed loader as the node parameter
files), so a bad key, type or value is a one-line `ConfigError` naming the dotted key.
`check_resume` refuses to resume a run folder under a different config unless allowed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from robot_rl.agents.config import (
    ActorConfig,
    EncoderConfig,
    SACConfig,
    config_to_dict,
    sac_config,
)
from robot_rl.configio import (
    AT_LEAST_1,
    NON_NEGATIVE,
    UNIT,
    UNSET,
    ConfigError,
    check,
    config_diff,
    config_from_params,
    read_yaml_mapping,
)

HIL_MODES = ("off", "hil_serl", "rlif", "bc", "dagger")


@dataclass
class TrainConfig:
    """Everything ``robot-rl train`` needs; saved as config.json beside every checkpoint."""

    # Intervals checked when the config is built or loaded (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "seed": NON_NEGATIVE,
        "env_steps": AT_LEAST_1,
        "stop_at_success": UNIT,
        "demos": NON_NEGATIVE,
        "random_steps": NON_NEGATIVE,
        "eval_every_steps": AT_LEAST_1,
        "eval_episodes": AT_LEAST_1,
        "checkpoint_every_steps": AT_LEAST_1,
        "weights_every_updates": AT_LEAST_1,
        "reward_hold_frames": AT_LEAST_1,
        "reward_check_episodes": NON_NEGATIVE,
        "image_size": AT_LEAST_1,
        "operator_reaction_delay_s": NON_NEGATIVE,
        "operator_action_noise_std": NON_NEGATIVE,
        "operator_stuck_window_steps": AT_LEAST_1,
        "operator_max_interventions": NON_NEGATIVE,
        "torch_threads": AT_LEAST_1,
        "failure_reset_frac": UNIT,
        "num_envs": AT_LEAST_1,
    }

    # Registered twin task.
    task: str = "pick_cube"
    # A registered gymnasium env id to train on instead of the twin task ("" = the twin).
    # Its actions are rescaled from [-1, 1] to its bounds, its observations mapped to the
    # core's layout (robot_rl/loop/envs.py).
    env_id: str = ""
    # Keyword arguments of gymnasium.make(env_id), as a JSON object ("" = none); a string
    # so that ROS parameter files can carry it too.
    env_kwargs: str = ""
    # The info key of env_id that says an episode succeeded (absent: never).
    success_key: str = "success"
    # Named cell variant of the twin task (robot_rl/twin/variants.py), for training and
    # evaluation alike: "nominal", or "shifted_real", TwinRL's shifted "real" cell.
    cell_variant: str = "nominal"
    # A cell calibration YAML (calibration/default_cell.yaml's layout, `robot-rl calibrate`)
    # whose cameras and workspace the twin task uses (None: the packaged default cell). A
    # camera cropped to a region of interest is one with that region's intrinsics
    # (docs/twin.md); the reward classifier must see the same cameras (make-reward-labels
    # --calibration).
    calibration: str | None = None
    # Deployment: a pre-trained run folder whose checkpoint starts this run (its agent, and its
    # online replay preloaded into the demo buffer as prior data). Ignored when resuming.
    init_from: str | None = None
    # Failure-targeted resets: a failures JSON (`robot-rl twin failures`) whose reset seeds
    # replace this fraction of the training episodes' seeds (evaluation seeds never change).
    failure_resets: str | None = None
    failure_reset_frac: float = 0.5
    # With hil on: the simulated operator attends only the episodes reset to those failure
    # configurations (TwinRL's targeted human-in-the-loop rollouts), not every episode.
    operator_attends_failures: bool = False
    # Observation mode: "state" (proprio + object state) or "pixels" (proprio + 2 cameras).
    obs: Literal["state", "pixels"] = "state"
    # Add the task's dense shaping term to the sparse success reward.
    dense_reward: bool = False
    # Seed of the env resets, the agent and the demos.
    seed: int = 0
    # Budget of environment (policy) steps, 10 per robot-second, summed over the envs.
    env_steps: int = 15_000
    # Twin envs (one actor each) stepping in turn and feeding the one learner; every step
    # count (budget, intervals, random_steps, the replay ratio) is summed over them.
    num_envs: int = 1
    # Stop early once an evaluation reaches this success rate (None: use the whole budget).
    stop_at_success: float | None = 0.9
    # Scripted expert demos recorded into the run's zarr store before training (0: none).
    demos: int = 20
    # Where the scripted demos' configurations lie: "random" (i.i.d. reset seeds) or
    # "spread" (seeds picked to cover the workspace, robot_rl/train/demos.py spread_seeds).
    demo_layout: Literal["random", "spread"] = "random"
    # An existing zarr demo store to use instead of recording scripted demos.
    demo_path: str | None = None
    # Environment steps of uniform-random actions before the policy acts (summed over envs).
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
    hil: str = "off"  # one of HIL_MODES
    # The simulated operator's reaction delay (s) and action noise (std, action units).
    operator_reaction_delay_s: float = 0.3
    operator_action_noise_std: float = 0.0
    # Its patience: policy steps without progress of the task's shaping term before it takes
    # over as "stuck" (10 per second), and its takeovers per episode at most (null: no limit).
    operator_stuck_window_steps: int = 15
    operator_max_interventions: int | None = None
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
        """Types, finiteness and LIMITS of every field (sac included); ConfigError."""
        check(self)
        if self.hil not in HIL_MODES:  # a str, not a Literal: run.py passes it on as a str
            raise ConfigError(f"hil: expected one of {list(HIL_MODES)}, got {self.hil!r}")
        if self.reward_model is not None and self.obs != "pixels":
            raise ConfigError("reward_model: reads the cameras, so it needs obs: pixels")
        if self.num_envs > 1 and self.hil != "off":
            raise ConfigError("num_envs: the simulated operator attends one env: use hil: off")
        env_kwargs(self)
        from robot_rl.twin.variants import VARIANTS  # the registry (imports mujoco)

        if self.cell_variant not in VARIANTS:
            raise ConfigError(
                f"cell_variant: unknown {self.cell_variant!r}; known: {sorted(VARIANTS)}"
            )
        if self.operator_attends_failures and (self.hil == "off" or not self.failure_resets):
            raise ConfigError("operator_attends_failures: needs hil on and failure_resets set")
        if self.env_id and (self.cell_variant != "nominal" or self.failure_resets):
            raise ConfigError("cell_variant and failure_resets apply to twin tasks, not env_id")


def env_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """``cfg.env_kwargs`` parsed (a JSON object); ConfigError when it is not one."""
    if not cfg.env_kwargs:
        return {}
    try:
        value = json.loads(cfg.env_kwargs)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"env_kwargs: expected a JSON object, got {cfg.env_kwargs!r} ({exc.msg})"
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"env_kwargs: expected a JSON object, got {cfg.env_kwargs!r}")
    return value


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
    # From state, a cap of 5 on the standardised state (contact forces and a tilted cube's
    # quaternion reach 30-50 standard deviations of the demo and warm-up statistics).
    sac = twin_sac_config(state_clip=5.0)
    return TrainConfig(task=task, obs="state", dense_reward=True, sac=sac)


def gym_config(env_id: str) -> TrainConfig:
    """The default for a foreign gymnasium env: plain SAC, state observations, no demos,
    the whole budget (a foreign env has no success rate to stop at)."""
    return TrainConfig(env_id=env_id, obs="state", demos=0, stop_at_success=None, sac=sac_config())


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    out = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "sac"}
    out["sac"] = config_to_dict(cfg.sac)
    return out


def from_dict(data: dict[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """Overlay ``data`` (nested or dotted keys) on ``base`` (default: the embedded default
    of the task and obs that ``data`` names). Raises ConfigError for any bad key or value."""
    if base is None:
        if data.get("env_id"):
            base = gym_config(str(data["env_id"]))
        else:
            base = default_config(data.get("task", "pick_cube"), data.get("obs", "state"))
    return config_from_params(TrainConfig, data, base)


def _read_yaml(path: str | Path) -> dict[str, Any]:
    return read_yaml_mapping(path, "training config")


def load_yaml(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """A YAML file over ``base``; ConfigError messages start with the file's path."""
    return _in_file(path, _read_yaml(path), base)


def _in_file(path: str | Path, data: dict[str, Any], base: TrainConfig | None) -> TrainConfig:
    try:
        return from_dict(data, base)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def run_config(
    task: str | None,
    obs: str | None,
    path: str | Path | None,
    env_id: str | None = None,
    env_kwargs_json: str | None = None,
) -> TrainConfig:
    """``robot-rl train``'s config: the embedded default of the task and observation mode
    (from the command line, else the YAML, else pick_cube from state), the YAML on top;
    or, with ``env_id``, a foreign gymnasium env's default (`gym_config`).

    So a YAML that says ``obs: pixels`` starts from the pixel default (64x64 images, the
    small encoder), not from the state default with pixels switched on.
    """
    data = _read_yaml(path) if path is not None else {}
    if task is not None:
        data["task"] = task
    if obs is not None:
        data["obs"] = obs
    if env_id is not None:
        data["env_id"] = env_id
    if env_kwargs_json is not None:
        data["env_kwargs"] = env_kwargs_json
    return _in_file(path, data, None) if path is not None else from_dict(data)


def save_json(cfg: TrainConfig, path: Path) -> None:
    path.write_text(json.dumps(to_dict(cfg), indent=2, sort_keys=True))


# Keys that may change when a run folder is resumed without --allow-config-change: they
# set how long the run goes on, how often it is evaluated and checkpointed, and how fast
# it computes, but not what is learned from which data. Changes to them are still logged.
RESUME_EXEMPT = frozenset(
    {
        "env_steps",  # extend (or shorten) the budget: the usual reason to resume
        "stop_at_success",  # e.g. --no-early-stop to keep training past the target
        "eval_every_steps",
        "eval_episodes",
        "checkpoint_every_steps",
        "reward_check_episodes",  # the preflight runs on fresh runs only
        "torch_threads",  # speed only (e.g. resuming on another machine)
        "sac.compile",  # speed only
    }
)


def check_resume(run_dir: Path, cfg: TrainConfig, allow: bool) -> dict[str, tuple[Any, Any]]:
    """Compare ``cfg`` with the config a run folder was trained with (its config.json).

    Returns the differences ``{dotted key: (old, new)}`` ({} for a new folder). Raises
    ConfigError listing them (old -> new) when any key outside `RESUME_EXEMPT` differs and
    ``allow`` is false; otherwise appends the differences to ``config_changes.jsonl`` in
    the run folder (UTC time, the changes, and whether the override flag allowed them).
    """
    path = run_dir / "config.json"
    if not path.is_file():
        return {}
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    diff = config_diff(old, cfg)
    # A key added to TrainConfig after the run began, at its default, is no change.
    default = config_diff({}, TrainConfig())
    for key in [k for k, (was, now) in diff.items() if was is UNSET]:
        if key in default and default[key][1] == diff[key][1]:
            del diff[key]
    blocking = sorted(set(diff) - RESUME_EXEMPT)
    if blocking and not allow:
        shown = ", ".join(f"{k}: {diff[k][0]!r} -> {diff[k][1]!r}" for k in blocking)
        raise ConfigError(
            f"{run_dir} was trained with another config ({shown}); pass "
            "--allow-config-change to resume with the new one, or --fresh for a new folder"
        )
    if diff:
        record = {
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "allowed_by": "--allow-config-change" if blocking else "exempt keys only",
            "changes": {k: list(v) for k, v in diff.items()},
        }
        with (run_dir / "config_changes.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")
    return diff


def check_paths(cfg: TrainConfig, run_dir: Path | None = None) -> None:
    """ConfigError if ``demo_path`` or ``reward_model`` names no folder, ``init_from`` no
    run folder with a checkpoint, ``failure_resets`` no failures file or ``calibration`` no
    file (before any run folder is made). ``init_from`` is not checked when ``run_dir`` has
    a checkpoint: a resumed run ignores it."""
    from robot_rl.envs.failure_search import load_failure_seeds
    from robot_rl.loop import checkpoint

    for key in ("demo_path", "reward_model"):
        value = getattr(cfg, key)
        if value is not None and not Path(value).is_dir():
            raise ConfigError(f"{key}: no such folder {value!r}")
    resumed = run_dir is not None and checkpoint.latest(run_dir) is not None
    if cfg.init_from is not None and not resumed and checkpoint.latest(cfg.init_from) is None:
        raise ConfigError(f"init_from: {cfg.init_from!r} is no run folder with a checkpoint")
    if cfg.failure_resets is not None:
        load_failure_seeds(cfg.failure_resets)
    if cfg.calibration is not None and not Path(cfg.calibration).is_file():
        raise ConfigError(f"calibration: no such file {cfg.calibration!r}")
