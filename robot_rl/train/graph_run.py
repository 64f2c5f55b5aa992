"""``robot-rl train --graph dds``: the main job through the training graph's processes.

The twin (lock-step), impedance bridge, reset, actor and learner run as separate node
processes over DDS (robot_rl.nodes.process), with the run's TrainConfig as both nodes'
``policy.config_file``; the learner's checkpoint folder is the run folder, so the layout is
``robot-rl train``'s and either link resumes the other. This process only watches and
evaluates: it joins the graph as one more participant, counts the env steps the learner
acknowledged, evaluates the newest published weights on the evaluation seeds every
``eval_every_steps`` (an in-process twin; its state observation is the graph's, see
tests/twin/test_bus_state_obs.py) and writes the same progress bar, metrics.csv, curve and
summary as the in-process job. At the budget it stops the actor, lets the learner finish
the updates the replay ratio owes, stops it (it checkpoints) and evaluates that checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from robot_rl.agents.config import updates_due
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import obs_spec_from_space
from robot_rl.bus.msgs import DiagnosticArray, PolicyWeights, TransitionAck
from robot_rl.data.episodes import EpisodeStore
from robot_rl.loop.learner import LearnerCore, LearnerLink
from robot_rl.nodes.diagnostics import values_of
from robot_rl.nodes.graph import GRAPHS
from robot_rl.nodes.process import GraphProcesses, ProcessOptions, private_domain
from robot_rl.nodes.qos import ACKS, EVENTS, WEIGHTS
from robot_rl.nodes.transitions import LOG_CODEC
from robot_rl.nodes.weights import msg_to_weights
from robot_rl.spec import PROPRIO_DIM
from robot_rl.train.config import TrainConfig, save_json
from robot_rl.train.demos import record_scripted
from robot_rl.train.report import EvalPoint
from robot_rl.train.run import (
    ACTOR_ID,
    RunResult,
    evaluate_point,
    log_point,
    make_env,
    progress_fields,
    run_name,
    write_metrics,
    write_outputs,
)

NODES = ("twin", "impedance_bridge", "reset", "actor", "learner")  # the gui is not needed
CATCH_UP_S = 600.0  # wall s the learner may take for the updates it owes at the budget
STARTUP_S = 300.0  # wall s until the first acknowledged env step


class GraphRunError(RuntimeError):
    """A node process failed or the graph stalled (the message names the node logs)."""


def unsupported(cfg: TrainConfig) -> str:
    """Why ``cfg`` cannot train through the graph ("" when it can)."""
    if cfg.env_id:
        return "--graph trains twin tasks only (a foreign env has no nodes)"
    if cfg.hil != "off":
        return "--graph has no simulated operator: use --hil off (the gui node takes a human)"
    if cfg.reward_model:
        return "--graph takes the twin's reward: unset reward_model"
    if cfg.num_envs > 1:
        return "--graph runs one actor node: use --num-envs 1"
    if cfg.calibration:
        return "--graph's twin node is the packaged default cell: unset calibration"
    if cfg.init_from or cfg.failure_resets or cfg.cell_variant != "nominal":
        return (
            "--graph has no TwinRL pieces yet (its twin node is the nominal cell): "
            "unset init_from, failure_resets and cell_variant"
        )
    return ""


def graph_overrides(cfg: TrainConfig, run_dir: Path, env: Any) -> dict[str, dict[str, Any]]:
    """Node parameters for ``cfg``: task, cameras and image size, the state layout
    (proprioception + the task's object state from the twin), and the run's config file."""
    cameras = list(env.cfg.cell.cameras) if cfg.obs == "pixels" else []
    state_dim = int(env.observation_space["state"].shape[0])
    size = {"image_height": cfg.image_size, "image_width": cfg.image_size}
    obs = {
        "obs.cameras": cameras,
        "obs.object_state_dim": state_dim - PROPRIO_DIM,
        **{f"obs.{k}": v for k, v in size.items()},
    }
    policy = {"policy.task": cfg.task, "policy.obs": cfg.obs}
    policy["policy.config_file"] = str(run_dir / "config.json")
    demos = run_dir / "demos"
    return {
        "twin": {
            "task": cfg.task,
            "cameras": cameras,
            "dense_reward": cfg.dense_reward,
            "lockstep_patience_s": 3600.0,  # sim time waits for an actor held by its learner
            **size,
        },
        "impedance_bridge": {"task": cfg.task},
        "reset": {"task": cfg.task},
        "actor": {
            **obs,
            **policy,
            "hil.task": cfg.task,
            "hil.teleop_topic": "",  # no gui node: no operator, no episode controls
            "control_topic": "",
            "env.episode_steps": env.task.cfg.episode_steps,
            "seed": cfg.seed,
            # the in-process job's policy lag (weights every W updates at r updates/step)
            "max_policy_lag_steps": math.ceil(cfg.weights_every_updates / cfg.sac.replay_ratio) + 1,
            "summary_path": str(run_dir / "graph" / "actor.json"),
        },
        "learner": {
            **obs,
            **policy,
            "checkpoint_dir": str(run_dir),
            "demo_path": str(demos) if demos.is_dir() else "",
        },
    }


@dataclass
class _Watch:
    """What the driver hears from the graph."""

    acked: int = 0
    weights: PolicyWeights | None = None
    learner: dict[str, str] = field(default_factory=dict)

    def on_ack(self, msg: TransitionAck) -> None:
        if msg.actor_id == ACTOR_ID:
            self.acked = max(self.acked, int(msg.highest_contiguous_seq))

    def on_weights(self, msg: PolicyWeights) -> None:
        self.weights = msg

    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == "learner":
                self.learner = values_of(status)

    def updates(self) -> int:
        return int(self.learner.get("updates", 0))

    def owed(self, cfg: TrainConfig) -> int:
        """Updates the replay ratio still owes (LearnerCore.due_updates), from the last
        diagnostics; -1 before any."""
        if "stored" not in self.learner:
            return -1
        held = int(self.learner["replay_transitions"]) + int(self.learner["demo_transitions"])
        if held < cfg.sac.batch_size:  # the learner starts at one batch
            return 0
        learning = max(int(self.learner["stored"]) - cfg.random_steps, 0)
        return updates_due(learning, self.updates(), cfg.sac.replay_ratio)


def train_graph(cfg: TrainConfig, run_dir: Path, progress: bool = True) -> RunResult:
    """Train (or resume) in ``run_dir`` through the DDS training graph; see the module
    docstring. Node logs and parameters go to ``run_dir/graph``. The graph gets a DDS
    domain of its own (`private_domain`), so runs side by side never mix."""
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.torch_threads)
    eval_env = make_env(cfg, learned_reward=False)
    spec = obs_spec_from_space(eval_env.observation_space)
    state = run_dir / "state.json"
    restored = json.loads(state.read_text()) if state.exists() else None
    demos = run_dir / "demos"
    have = len(EpisodeStore(demos)) if demos.is_dir() else 0
    if restored is None and cfg.demos > have:  # the missing ones, as the in-process job
        seed = cfg.seed * 7919 + have
        with make_env(cfg) as demo_env:  # closed here, as in the in-process job
            record_scripted(
                demo_env, demos, cfg.demos - have, seed, progress, layout=cfg.demo_layout
            )
    save_json(cfg, run_dir / "config.json")
    history = [EvalPoint(**row) for row in (restored or {}).get("history", [])]
    result = RunResult(run_dir, history)
    if restored is not None:
        result.resumed_from = int(restored["env_steps"])
    if restored is not None and restored["env_steps"] >= cfg.env_steps:
        return _finish(cfg, run_dir, result, eval_env, spec, time.perf_counter())

    with private_domain() as domain:
        return _train_on(cfg, run_dir, domain, restored, result, eval_env, spec, progress)


def _train_on(
    cfg: TrainConfig,
    run_dir: Path,
    domain: int,
    restored: dict[str, Any] | None,
    result: RunResult,
    eval_env: Any,
    spec: Any,
    progress: bool,
) -> RunResult:
    from robot_rl.bus.dds.bus import DdsBus
    from robot_rl.bus.dds.config import DdsConfig

    history = result.history
    namespace = "/train_" + uuid.uuid4().hex[:8]
    options = ProcessOptions(domain, namespace, os.environ.get("CYCLONEDDS_URI", ""))
    overrides = graph_overrides(cfg, run_dir, eval_env)
    full = GRAPHS["training"]
    graph = replace(full, nodes=tuple(i for i in full.nodes if i.node_name in NODES))
    procs = GraphProcesses(graph, options, run_dir / "graph", overrides)
    bus = DdsBus(DdsConfig(domain, namespace=namespace, cyclone_config=options.cyclone_config))
    watch = _Watch(acked=(restored or {}).get("highest", {}).get(ACTOR_ID, 0))
    bus.subscribe("transition_ack", TransitionAck, watch.on_ack, ACKS)
    bus.subscribe("policy_weights", PolicyWeights, watch.on_weights, WEIGHTS)
    bus.subscribe("/diagnostics", DiagnosticArray, watch.on_diagnostics, EVENTS)
    agent = SACAgent(cfg.sac, spec, int(eval_env.action_space.shape[0]))
    print(
        f"graph: {', '.join(NODES)} as processes on DDS domain {domain} {namespace}; "
        f"logs in {procs.run_dir}"
    )
    t_start = time.perf_counter() - (history[-1].wall_s if history else 0.0)
    start_steps = watch.acked
    bar = tqdm(total=cfg.env_steps, initial=start_steps, disable=not progress, unit="step")
    bar.set_description(f"train {run_name(cfg)} (graph)")
    next_eval = (start_steps // cfg.eval_every_steps + 1) * cfg.eval_every_steps
    from torch.utils.tensorboard import SummaryWriter  # slow import, only when training

    writer = SummaryWriter(str(run_dir / "tb"))
    try:
        procs.start(list(NODES))
        procs.wait_until(lambda: watch.acked > start_steps, "the first step", STARTUP_S, bus.spin)
        while watch.acked < cfg.env_steps:
            ended = {n: c for n, c in procs.returncodes().items() if c is not None}
            if ended:
                raise GraphRunError(f"node(s) ended early, exit codes {ended}")
            bus.spin(timeout_s=0.2)
            bar.update(min(watch.acked, cfg.env_steps) - bar.n)
            if watch.acked >= next_eval and watch.weights is not None:
                next_eval += cfg.eval_every_steps
                agent.load_trainable_state(msg_to_weights(watch.weights))
                upd_s = float(watch.learner.get("updates_per_s", 0.0))
                point = evaluate_point(
                    cfg, eval_env, agent, watch.updates(), upd_s, t_start, watch.acked,
                    len(result.history),
                )  # fmt: skip
                result.history.append(point)
                log_point(writer, point, {})
                write_metrics(result.history, run_dir / "metrics.csv")
                bar.set_postfix(progress_fields(cfg, point))
                if cfg.stop_at_success is not None and point.success >= cfg.stop_at_success:
                    break
        bar.close()
        procs.kill("actor", 2)  # SIGINT: the actor drains its last acks and exits
        print(f"graph: the learner finishes the updates it owes ({watch.owed(cfg)} now)")
        caught_up = lambda: watch.owed(cfg) == 0  # noqa: E731
        procs.wait_until(caught_up, "the learner's updates", CATCH_UP_S, bus.spin)
        procs.kill("learner", 2)  # SIGINT: it checkpoints on the way out
    except RuntimeError as exc:  # a node died or the graph stalled: name it and the logs
        first = str(exc).splitlines()[0]
        raise GraphRunError(f"{first} (node logs in {procs.log_dir})") from None
    finally:
        bar.close()
        writer.close()
        codes = procs.stop()
        bus.close()
    bad = {n: c for n, c in codes.items() if c not in (0, None)}
    if bad:
        print(f"graph: node exit codes {bad} (logs in {procs.run_dir / 'logs'})")
    return _finish(cfg, run_dir, result, eval_env, spec, t_start)


def _finish(
    cfg: TrainConfig, run_dir: Path, result: RunResult, eval_env: Any, spec: Any, t_start: float
) -> RunResult:
    """Evaluate the learner's checkpoint (resumed in this process, as the in-process link
    would), store the history in it, and write the run's outputs."""
    action_dim = int(eval_env.action_space.shape[0])
    learner = LearnerCore(cfg, spec, action_dim, run_dir, LearnerLink(LOG_CODEC))
    steps = learner.env_steps
    if not result.history or result.history[-1].env_steps < steps:
        upd = learner.agent.num_updates
        upd_s = learner.updates_per_s
        n = len(result.history)
        point = evaluate_point(cfg, eval_env, learner.agent, upd, upd_s, t_start, steps, n)
        result.history.append(point)
    rows = [p.__dict__ for p in result.history]
    learner.checkpoint({"history": rows, "episodes": learner.episodes.get(ACTOR_ID, 0)})
    learner.close()
    result.env_steps, result.num_updates = steps, learner.agent.num_updates
    result.wall_s = time.perf_counter() - t_start
    write_outputs(cfg, run_dir, result, eval_env, learner.agent)
    eval_env.close()
    return result
