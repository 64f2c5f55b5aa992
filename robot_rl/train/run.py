"""``robot-rl train``: SAC/RLPD on a twin task, in one process, with the actor/learner split.

Progress shows env steps, the last evaluation's success rate (return, for a foreign env) and
updates/s. The run folder gets TensorBoard logs (tb/), metrics.csv, the learning curve
(success_vs_robot_minutes.png; return_vs_env_steps.png for a foreign env), eval_frames.png,
demos/ (zarr) and checkpoint/ (atomic; an existing one is resumed, never overwritten).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm import tqdm

from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import obs_spec_from_space
from robot_rl.calibration.cell_file import camera_views, load_calibration
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.recorder import episode_spec
from robot_rl.envs.failure_search import load_failure_seeds
from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.hil.arbiter import ArbiterConfig
from robot_rl.hil.frames import FrameConfig
from robot_rl.hil.routing import RouterConfig
from robot_rl.hil.session import HilSession
from robot_rl.hil.sim_operator import SimOperatorConfig, SimulatedOperator
from robot_rl.hil.twin_loop import sim_operator_session
from robot_rl.loop import checkpoint
from robot_rl.loop.actor import ActorCore, ActorSettings
from robot_rl.loop.envs import make_gym_env
from robot_rl.loop.learner import LearnerCore
from robot_rl.train.config import TrainConfig, env_kwargs, save_json
from robot_rl.train.demos import record_scripted
from robot_rl.train.learned_reward import LearnedRewardEnv, classifier_source, reward_preflight
from robot_rl.train.report import (
    EvalPoint,
    curve_path,
    plot_curve,
    save_frame_strip,
    summary_table,
)
from robot_rl.twin.tasks import make_task

if TYPE_CHECKING:  # the cockpit (aiohttp) is imported only with --gui
    from robot_rl.train.cockpit import TrainCockpit

ACTOR_ID = "actor0"  # the first in-process actor; a bus actor resuming this run takes its id
EVAL_SEED_BASE = 10_000_000  # evaluation seeds never overlap training seeds
CONTROL_HZ = 10.0  # policy rate: env steps per robot-second (robot-minutes on the plots)


@dataclass
class RunResult:
    run_dir: Path
    history: list[EvalPoint] = field(default_factory=list)
    env_steps: int = 0
    num_updates: int = 0
    wall_s: float = 0.0
    resumed_from: int | None = None
    operator_steps: int = 0  # steps the simulated operator was in control (this process)
    sim_blowups: int = 0  # episodes dropped because the twin's physics blew up (this process)

    @property
    def final_success(self) -> float:
        return self.history[-1].success if self.history else 0.0


def env_config(cfg: TrainConfig) -> EnvConfig:
    """The twin env of a twin-task config: task, obs mode, dense reward, image size, cell
    variant and calibration (the cell trained on is the cell evaluated)."""
    task_cfg = replace(make_task(cfg.task).cfg, dense_reward=cfg.dense_reward)
    env_cfg = EnvConfig(task=cfg.task, obs=cfg.obs, task_cfg=task_cfg)
    size = (cfg.image_size, cfg.image_size)
    env_cfg.cell = replace(
        env_cfg.cell, image_size=size, variant=cfg.cell_variant, calibration=cfg.calibration
    )
    return env_cfg


def make_env(cfg: TrainConfig, learned_reward: bool = True) -> Any:
    """The training env: a foreign gymnasium env (``cfg.env_id``, adapted) or the twin
    task; with ``cfg.reward_model`` and ``learned_reward`` the twin's reward comes from that
    classifier. Evaluation envs pass ``learned_reward=False``."""
    if cfg.env_id:
        return make_gym_env(cfg.env_id, env_kwargs(cfg), cfg.success_key)
    env_cfg = env_config(cfg)
    if cfg.reward_model is None or not learned_reward:
        return TwinEnv(env_cfg)
    cell = env_cfg.cell
    views = camera_views(load_calibration(cell.calibration), cell.cameras, cell.image_size)
    source = classifier_source(cfg.reward_model, cell.cameras, cfg.reward_hold_frames, views)
    return LearnedRewardEnv(env_cfg, source)


def actor_settings(cfg: TrainConfig, index: int = 0) -> ActorSettings:
    """Settings of in-process actor ``index`` (of ``cfg.num_envs``): its id, its seed
    stream, its share of the warm-up (the shares sum to ``random_steps``: the loop steps the
    actor that is behind), failure-targeted resets."""
    seeds = load_failure_seeds(cfg.failure_resets) if cfg.failure_resets else ()
    frac = cfg.failure_reset_frac if seeds else 0.0
    n = cfg.num_envs
    warmup = cfg.random_steps // n + int(index < cfg.random_steps % n)
    return ActorSettings(
        f"actor{index}", cfg.seed, warmup, failure_seeds=seeds, failure_frac=frac,
        stream=index, streams=n,
    )  # fmt: skip


def attended(cfg: TrainConfig) -> tuple[int, ...]:
    """The reset seeds the simulated operator attends (empty: every episode)."""
    if not cfg.operator_attends_failures or cfg.failure_resets is None:
        return ()
    return tuple(load_failure_seeds(cfg.failure_resets))


def _hil(cfg: TrainConfig, env: Any) -> tuple[HilSession, SimulatedOperator] | None:
    """The simulated operator and its session, when ``cfg.hil`` is on (routing only: the
    learner stores what the actor routes)."""
    if cfg.hil == "off":
        return None
    if not isinstance(env, TwinEnv):
        raise ValueError("the simulated operator needs a twin task (hil with env_id)")
    op = SimOperatorConfig(
        reaction_delay_s=cfg.operator_reaction_delay_s,
        action_noise_std=cfg.operator_action_noise_std,
        stuck_window_steps=cfg.operator_stuck_window_steps,
        max_interventions=cfg.operator_max_interventions,
        seed=cfg.seed,
        attend_seeds=attended(cfg),
    )
    frame = FrameConfig(operator_yaw_rad=cfg.operator_yaw_rad)
    arbiter = ArbiterConfig(stored_frame_bug=cfg.operator_frame_bug)
    router = RouterConfig(cfg.hil, rlif_human_demos=cfg.rlif_human_demos)  # type: ignore[arg-type]
    return sim_operator_session(env, cfg.hil, None, None, op, frame, arbiter, router)  # type: ignore[arg-type]


def evaluate(
    env: Any,
    agent: SACAgent,
    episodes: int,
    frames: bool = False,
    seed_base: int = EVAL_SEED_BASE,
) -> tuple[float, float, list[np.ndarray]]:
    """Deterministic policy on the seeds from ``seed_base`` on: (success rate, mean return,
    frames of episode 0)."""
    wins, returns, strip = 0, [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed_base + ep)
        done, ret, info = False, 0.0, {"success": False}
        while not done:
            if frames and ep == 0 and isinstance(env, TwinEnv):
                strip.append(env.render())
            obs, reward, terminated, truncated, info = env.step(agent.act(obs, deterministic=True))
            ret += reward
            done = terminated or truncated
        if frames and ep == 0 and isinstance(env, TwinEnv):
            strip.append(env.render())
        wins += bool(info.get("success", False))
        returns.append(ret)
    return wins / episodes, float(np.mean(returns)), strip


def _fill_demos(
    cfg: TrainConfig, env: Any, learner: LearnerCore, run_dir: Path, progress: bool
) -> None:
    """Record the missing scripted demos (twin tasks) and load the store into the learner."""
    demo_dir = Path(cfg.demo_path) if cfg.demo_path else run_dir / "demos"
    if cfg.demo_path and not demo_dir.is_dir():
        raise FileNotFoundError(f"demo store not found: {demo_dir}")
    if cfg.demos <= 0 and not cfg.demo_path:
        return
    if cfg.env_id and not cfg.demo_path:
        raise ValueError("scripted demos exist only for twin tasks: set demos: 0 or demo_path")
    # Opening with the env's spec also rejects demos recorded for other cameras/shapes.
    store = EpisodeStore(demo_dir, episode_spec(env))
    missing = cfg.demos - len(store) if not cfg.demo_path else 0
    if missing > 0:
        seed = cfg.seed * 7919 + len(store)
        with make_env(cfg) as demo_env:  # closed here: a renderer left to the GC may be
            # collected on another thread (zarr's), where its GL context cannot be made current
            record_scripted(demo_env, demo_dir, missing, seed, progress, layout=cfg.demo_layout)
        store = EpisodeStore(demo_dir)
    learner.load_demos(store)


def train(
    cfg: TrainConfig, run_dir: Path, progress: bool = True, cockpit: TrainCockpit | None = None
) -> RunResult:
    """Train (or resume) in ``run_dir`` through the in-process link: ``cfg.num_envs``
    `ActorCore`s (one env each; each iteration steps the one with the fewest env steps)
    and one `LearnerCore` in this process, acks at once. Returns the evaluation history.
    ``cockpit`` (``--gui``, one env only) is told the job's state after every iteration,
    and its episode controls hold, label and reset the actor (robot_rl.train.cockpit)."""
    if cockpit is not None and cfg.num_envs > 1:
        raise ValueError("the cockpit drives one actor: num_envs must be 1")
    torch.set_num_threads(cfg.torch_threads)
    envs = [make_env(cfg) for _ in range(cfg.num_envs)]
    env, eval_env = envs[0], make_env(cfg, learned_reward=False)
    spec = obs_spec_from_space(env.observation_space)
    action_dim = int(np.prod(env.action_space.shape))
    if cfg.init_from is not None and checkpoint.latest(run_dir) is None:
        checkpoint.check_prior(cfg.init_from, spec, action_dim)  # before the folder exists
    run_dir.mkdir(parents=True, exist_ok=True)
    learner = LearnerCore(cfg, spec, action_dim, run_dir)
    result = RunResult(run_dir)
    hil = _hil(cfg, env)  # num_envs 1 only (TrainConfig)
    actors = [
        ActorCore(
            e,
            SACAgent(cfg.sac, spec, action_dim),
            actor_settings(cfg, i),
            learner.receive,
            hil[0] if hil else None,
            hil[1].command if hil else None,
            (lambda: float(env.cell.data.time)) if hil else time.monotonic,
            cockpit.control if cockpit is not None else None,
        )
        for i, e in enumerate(envs)
    ]
    history_rows: list[dict[str, Any]] = []
    restored = learner.restored
    if restored is None:
        _fill_demos(cfg, env, learner, run_dir, progress)
        if isinstance(env, LearnedRewardEnv) and cfg.reward_check_episodes > 0:
            # The training env itself: the actor resets it with its own seeds before acting.
            path = run_dir / "reward_check.json"
            warning = reward_preflight(env, cfg.reward_check_episodes, path)
            if warning:
                print(warning)
    else:
        _resume(actors, learner, restored)
        history_rows = list(restored.get("history", []))
        result.resumed_from = learner.env_steps
        print(f"resumed {run_dir} from env step {learner.env_steps}")
    save_json(cfg, run_dir / "config.json")
    result.history = [EvalPoint(**row) for row in history_rows]
    weights = learner.publish(force=True)
    assert weights is not None
    for actor in actors:
        actor.load_weights(weights[1])

    from torch.utils.tensorboard import SummaryWriter  # slow import, only when training

    writer = SummaryWriter(str(run_dir / "tb"))
    t_start = time.perf_counter() - (history_rows[-1]["wall_s"] if history_rows else 0.0)
    steps = _env_steps(actors)
    bar = tqdm(
        total=cfg.env_steps,
        initial=steps,
        disable=not progress,
        unit="step",
        desc=f"train {run_name(cfg)}",
    )
    next_eval = (steps // cfg.eval_every_steps + 1) * cfg.eval_every_steps
    next_ckpt = (steps // cfg.checkpoint_every_steps + 1) * cfg.checkpoint_every_steps
    stop = False
    while steps < cfg.env_steps and not stop:
        actor = min(actors, key=lambda a: a.env_steps)  # in turn; the first on ties
        sent = actor.step()
        if cockpit is not None:
            cockpit.update(actor, learner, sent, result.history, env)
            if not sent and not cockpit.control.may_step(actor.in_episode):
                time.sleep(0.02)  # held by the operator (paused, stopped, waiting for start)
        actor.sender.on_ack(learner.acks.get(actor.settings.actor_id, 0))
        steps = _env_steps(actors)
        learner.train()
        weights = learner.publish()
        if weights is not None:
            for a in actors:
                a.load_weights(weights[1])
        for ep in actor.finished:
            writer.add_scalar("train/return", ep.ret, steps)
            writer.add_scalar("train/success", float(ep.success), steps)
            if cfg.hil != "off":
                writer.add_scalar("hil/interventions", ep.interventions, steps)
                writer.add_scalar("hil/operator_steps", ep.intervention_steps, steps)
                result.operator_steps += ep.intervention_steps
        actor.finished.clear()
        bar.update(steps - bar.n)
        if steps >= next_eval or steps >= cfg.env_steps:
            next_eval += cfg.eval_every_steps
            agent, upd = learner.agent, learner.agent.num_updates
            point = evaluate_point(
                cfg, eval_env, agent, upd, learner.updates_per_s, t_start, steps, len(history_rows)
            )
            result.history.append(point)
            history_rows.append(point.__dict__)
            log_point(writer, point, learner.last_metrics)
            write_metrics(result.history, run_dir / "metrics.csv")
            bar.set_postfix(progress_fields(cfg, point))
            stop = cfg.stop_at_success is not None and point.success >= cfg.stop_at_success
        if steps >= next_ckpt or stop or steps >= cfg.env_steps:
            next_ckpt += cfg.checkpoint_every_steps
            learner.checkpoint(_bookkeeping(actors, history_rows))
    bar.close()
    writer.close()
    result.env_steps = steps
    result.num_updates = learner.agent.num_updates
    result.sim_blowups = sum(a.sim_blowups for a in actors)
    result.wall_s = time.perf_counter() - t_start
    write_outputs(cfg, run_dir, result, eval_env, learner.agent)
    for e in [*envs, eval_env]:
        e.close()
    return result


def _env_steps(actors: list[ActorCore]) -> int:
    """The run's env steps: the sum over its actors."""
    return sum(a.env_steps for a in actors)


def _bookkeeping(actors: list[ActorCore], history: list[dict[str, Any]]) -> dict[str, Any]:
    """The driver's part of state.json: each actor's env steps and episodes (by actor id)
    and the evaluation history."""
    counts = {a.settings.actor_id: {"env_steps": a.env_steps, "episodes": a.episodes}
              for a in actors}  # fmt: skip
    return {"actors": counts, "history": history}


def _resume(actors: list[ActorCore], learner: LearnerCore, state: dict[str, Any]) -> None:
    """Each actor's env steps, episodes and acked seq from the resumed checkpoint. One
    without per-actor counts (older, or the bus link's) had one actor: it gets the
    learner's env steps, and the ``episodes`` written beside them, else what a bus actor
    of its id stored."""
    counts = state.get("actors") or {
        ACTOR_ID: {
            "env_steps": learner.env_steps,
            "episodes": state.get("episodes", learner.episodes.get(ACTOR_ID, 0)),
        }
    }
    for a in actors:
        aid = a.settings.actor_id
        mine = counts.get(aid, {})
        steps, episodes = int(mine.get("env_steps", 0)), int(mine.get("episodes", 0))
        a.resume(steps, episodes, learner.acks.get(aid, 0))


def run_name(cfg: TrainConfig) -> str:
    """``task/obs`` or the gymnasium env id, for titles and progress bars."""
    return cfg.env_id or f"{cfg.task}/{cfg.obs}"


def progress_fields(cfg: TrainConfig, point: EvalPoint) -> dict[str, str]:
    """The progress bar's figures: success for our tasks; return for a foreign env, which
    may have no notion of success (its success shows once an evaluation reports one)."""
    fields = {}
    if not cfg.env_id or point.success > 0:
        fields["success"] = f"{point.success:.0%}"
    if cfg.env_id:
        fields["return"] = f"{point.mean_return:.1f}"
    fields["upd_s"] = f"{point.updates_per_s:.0f}"
    return fields


def evaluate_point(
    cfg: TrainConfig,
    env: Any,
    agent: SACAgent,
    updates: int,
    updates_per_s: float,
    t_start: float,
    env_steps: int,
    point: int,
) -> EvalPoint:
    """Evaluate ``agent`` (the learner's current policy) as the run's ``point``-th
    evaluation (from 0): on its own ``eval_episodes`` seeds, the same for every training
    seed. Ten fixed configurations at every point overstated success against fresh ones
    (benchmarks/RESULTS.md, issue 13 headline)."""
    base = EVAL_SEED_BASE + point * cfg.eval_episodes
    success, ret, _ = evaluate(env, agent, cfg.eval_episodes, seed_base=base)
    return EvalPoint(
        env_steps=env_steps,
        robot_minutes=env_steps / CONTROL_HZ / 60.0,
        wall_s=time.perf_counter() - t_start,
        updates=updates,
        updates_per_s=updates_per_s,
        success=success,
        mean_return=ret,
    )


def log_point(writer: Any, point: EvalPoint, metrics: dict[str, float]) -> None:
    """An evaluation point and the learner's last metrics to TensorBoard."""
    step = point.env_steps
    writer.add_scalar("eval/success", point.success, step)
    writer.add_scalar("eval/return", point.mean_return, step)
    writer.add_scalar("perf/updates_per_s", point.updates_per_s, step)
    for key, value in metrics.items():
        writer.add_scalar(f"learner/{key}", value, step)


def write_outputs(
    cfg: TrainConfig, run_dir: Path, result: RunResult, eval_env: Any, agent: SACAgent
) -> None:
    """metrics.csv, the learning curve and a strip of evaluation frames (twin only)."""
    write_metrics(result.history, run_dir / "metrics.csv")
    plot_curve(
        result.history,
        curve_path(run_dir, bool(cfg.env_id)),
        title=f"{run_name(cfg)}, seed {cfg.seed}",
        target=cfg.stop_at_success,
        foreign=bool(cfg.env_id),
    )
    _, _, frames = evaluate(eval_env, agent, 1, frames=True)
    if frames:
        save_frame_strip(frames, run_dir / "eval_frames.png")


def write_metrics(history: list[EvalPoint], path: Path) -> None:
    """The evaluation history as CSV (rewritten after every evaluation, for live monitoring)."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(EvalPoint.__dataclass_fields__))
        w.writeheader()
        for p in history:
            w.writerow(p.__dict__)


def format_summary(cfg: TrainConfig, result: RunResult) -> str:
    table = summary_table(
        cfg.env_id or cfg.task,
        "state" if cfg.env_id else cfg.obs,
        result.history,
        result.num_updates,
        result.wall_s,
        curve_path(result.run_dir, bool(cfg.env_id)),
    )
    if cfg.hil != "off":
        table += f"\nhuman in the loop   {cfg.hil}, simulated operator in control for "
        table += f"{result.operator_steps} steps"
    if result.sim_blowups:
        table += f"\nphysics blowups     {result.sim_blowups} (their episodes were dropped)"
    return table
