"""The training job's actor routes human-in-the-loop steps (simulated operator) into the
learner's buffers: HIL-SERL copies operator steps to the demo buffer, RLIF adds the -1
onset penalty."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import obs_spec_from_space
from robot_rl.hil.sim_operator import SimulatedOperator
from robot_rl.loop.actor import ActorCore, ActorSettings
from robot_rl.loop.learner import LearnerCore
from robot_rl.train.config import TrainConfig, default_config
from robot_rl.train.run import _hil, make_env

pytestmark = pytest.mark.twin


def _untrained_actor(
    cfg: TrainConfig, tmp_path: Path, episodes: int
) -> tuple[ActorCore, LearnerCore, SimulatedOperator]:
    """An untrained policy (it gets stuck, so the operator takes over) run for
    ``episodes`` episodes with the simulated operator of ``cfg``, into a learner."""
    cfg.random_steps, cfg.operator_reaction_delay_s = 0, 0.1
    env = make_env(cfg)
    spec = obs_spec_from_space(env.observation_space)
    learner = LearnerCore(cfg, spec, 7, tmp_path)
    hil = _hil(cfg, env)
    assert hil is not None
    settings = ActorSettings(seed=cfg.seed, random_steps=cfg.random_steps)
    clock = lambda: float(env.cell.data.time)  # noqa: E731
    session, operator = hil
    agent = SACAgent(cfg.sac, spec, 7)
    actor = ActorCore(env, agent, settings, learner.receive, session, operator.command, clock)
    while len(actor.finished) < episodes:
        actor.step()
    return actor, learner, operator


@pytest.mark.parametrize("mode", ["hil_serl", "rlif"])
def test_operator_steps_reach_the_learner(mode: str, tmp_path: Path) -> None:
    cfg = default_config("reach", "state")
    cfg.hil = mode
    actor, learner, _ = _untrained_actor(cfg, tmp_path, 4)
    operator_steps = sum(ep.intervention_steps for ep in actor.finished)
    assert operator_steps > 0 and sum(ep.interventions for ep in actor.finished) > 0
    assert learner.env_steps == actor.env_steps
    n = learner.online.num_transitions
    intervened = learner.online.flags["intervened"][: learner.online.cursor_state()["filled"]]
    if mode == "hil_serl":
        # Every executed step is online; operator steps are also demos.
        assert n == actor.env_steps
        assert learner.demo.num_transitions == operator_steps
        assert intervened.sum() >= operator_steps
    else:
        # RLIF: task reward is gone; each onset adds a terminal -1 transition.
        rewards = learner.online.reward[: learner.online.cursor_state()["filled"]]
        onsets = sum(ep.interventions for ep in actor.finished)
        assert learner.demo.num_transitions == 0
        assert n == actor.env_steps + onsets
        assert np.isclose(rewards, -1.0).sum() == onsets


@pytest.mark.parametrize("cap", [None, 1])
def test_operator_patience_and_cap_reach_the_operator(cap: int | None, tmp_path: Path) -> None:
    cfg = default_config("pick_cube", "state")  # longer than one takeover of the expert
    cfg.hil, cfg.operator_stuck_window_steps, cfg.operator_max_interventions = "hil_serl", 5, cap
    actor, _, operator = _untrained_actor(cfg, tmp_path, 3)
    assert operator.cfg.stuck_window_steps == 5
    most = max(ep.interventions for ep in actor.finished)
    # An untrained policy keeps getting stuck: without a cap it is taken over again and
    # again in one episode; with one, once.
    assert most == 1 if cap == 1 else most > 1


def test_operator_frame_and_benchmark_bug_reach_the_arbiter() -> None:
    cfg = default_config("reach", "state")
    cfg.hil, cfg.operator_yaw_rad, cfg.operator_frame_bug = "hil_serl", 1.5, "inverse"
    env = make_env(cfg)
    hil = _hil(cfg, env)
    assert hil is not None
    session, _ = hil
    assert session.arbiter.cfg.stored_frame_bug == "inverse"
    assert session.arbiter.mapping.cfg.frame.operator_yaw_rad == 1.5
    env.close()
    with pytest.raises(ValueError, match="operator_frame_bug"):
        default_config("reach", "state").__class__(operator_frame_bug="sideways")  # type: ignore[arg-type]


def test_rlif_demos_carry_no_task_reward(tmp_path: Path) -> None:
    """Scripted demos are recorded with the twin's reward; an RLIF run has no task reward,
    so the learner stores them with reward 0 (other modes keep what was recorded)."""
    from robot_rl.data.episodes import EpisodeStore
    from robot_rl.train.demos import record_scripted

    cfg = default_config("reach", "state")  # dense shaping: every recorded reward is nonzero
    env = make_env(cfg)
    record_scripted(env, tmp_path / "demos", 1, seed=0, progress=False)
    store = EpisodeStore(tmp_path / "demos")
    spec = obs_spec_from_space(env.observation_space)
    rewards = {}
    for mode in ("hil_serl", "rlif"):
        cfg.hil = mode
        learner = LearnerCore(cfg, spec, 7, tmp_path / mode)
        n = learner.load_demos(store)
        rewards[mode] = learner.demo.reward[:n]
    assert np.abs(rewards["hil_serl"]).min() > 0 and not rewards["rlif"].any()
    env.close()
