"""The simulated operator in the twin: it takes over stuck or escaping policies after its
reaction delay, its commands travel the real device path (teleop frame, deadband,
arbiter), and what lands in replay is what it meant, in the policy's action frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.types import obs_spec_from_space
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.hil.arbiter import Arbiter, ArbiterConfig, Source
from robot_rl.hil.command import make_command
from robot_rl.hil.frames import FrameConfig
from robot_rl.hil.mapping import MappingConfig
from robot_rl.hil.session import HilConfig, HilSession
from robot_rl.hil.sim_operator import SimOperatorConfig, SimulatedOperator
from robot_rl.hil.twin_loop import run_hil_episode, sim_operator_session

pytestmark = pytest.mark.twin

ACROSS = FrameConfig(operator_yaw_rad=math.pi)  # facing the robot from across the table


def idle(gripper: float):
    return lambda _obs: np.array([0, 0, 0, 0, 0, 0, gripper], dtype=float)


def buffers(env: TwinEnv) -> tuple[ReplayBuffer, ReplayBuffer]:
    spec = obs_spec_from_space(env.observation_space)
    return ReplayBuffer(512, spec, 7), ReplayBuffer(512, spec, 7)


@pytest.mark.parametrize(
    ("task", "gripper", "frame"),
    [
        ("reach", 1.0, ACROSS),
        ("pick_cube", 1.0, ACROSS),
        ("pick_cube", 1.0, FrameConfig(kind="tcp")),
        ("peg_insert", -1.0, ACROSS),
    ],
)
def test_operator_rescues_a_stuck_policy(task: str, gripper: float, frame: FrameConfig) -> None:
    env = TwinEnv(task=task, obs="state")
    online, demo = buffers(env)
    op_cfg = SimOperatorConfig(takeover_steps=1000, stuck_window_steps=5)
    hil, op = sim_operator_session(env, "hil_serl", online, demo, op_cfg, frame)
    ep = run_hil_episode(env, idle(gripper), hil, op, seed=3)
    assert ep.success, (task, ep.stats)
    assert op.reasons == ["stuck"] and ep.stats["hil/interventions"] == 1.0
    assert demo.num_transitions == ep.stats["hil/human_steps"] > 0
    assert online.num_transitions == ep.steps


def test_stored_actions_are_what_the_operator_meant() -> None:
    """Expert action (action frame) -> operator's teleop frame -> device twist -> deadband
    -> arbiter -> stored action: the round trip returns the expert's action. With the
    injected inverse-frame bug the arm still moves right but replay gets the wrong action."""
    env = TwinEnv(task="pick_cube", obs="state")
    # A quarter turn permutes axes, so every expert action fits the device range exactly
    # (other headings scale diagonal full-speed moves down), and R^T != R.
    frame = FrameConfig(kind="operator", operator_yaw_rad=math.pi / 2)
    for bug, should_match in (("none", True), ("inverse", False)):
        hil, op = sim_operator_session(
            env, "bc", None, buffers(env)[1], SimOperatorConfig(stuck_window_steps=3), frame,
            ArbiterConfig(stored_frame_bug=bug),  # type: ignore[arg-type]
        )  # fmt: skip
        obs, _ = env.reset(seed=5)
        hil.reset()
        op.reset()
        matched = []
        for _ in range(30):
            proposal = idle(1.0)(obs)
            t = env.cell.data.time
            d = hil.act(obs, proposal, op.command(proposal, t), t)
            if d.source is Source.HUMAN and op.in_control:
                np.testing.assert_allclose(d.action, op.last_action, atol=1e-9)
                matched.append(np.allclose(d.stored_action, op.last_action, atol=1e-6))
            obs, *_ = env.step(d.action)
        assert matched and all(matched) == should_match


def test_operator_stops_a_policy_heading_out_of_the_workspace() -> None:
    env = TwinEnv(task="reach", obs="state")
    hil, op = sim_operator_session(
        env, "hil_serl", *buffers(env), SimOperatorConfig(reaction_delay_s=0.2), ACROSS
    )
    obs, _ = env.reset(seed=0)
    hil.reset()
    op.reset()
    high = np.asarray(env.safety_cfg.workspace_high_m)
    flee = np.array([1.0, 0, 0, 0, 0, 0, 1.0])
    decided_at = onset_at = None
    for k in range(40):
        t = env.cell.data.time
        cmd = op.command(flee, t)
        if op.reasons and decided_at is None:
            decided_at = k
        d = hil.act(obs, flee, cmd, t)
        onset_at = k if d.onset and onset_at is None else onset_at
        obs, *_ = env.step(d.action)
        assert env.cell.data.site_xpos[env.cell.tcp_site][0] < high[0]
    assert op.reasons[0] == "out_of_bounds"
    assert decided_at is not None and onset_at == decided_at + 2  # 0.2 s at 10 Hz


@pytest.mark.parametrize("delay_s", [0.0, 0.5])
def test_reaction_delay_in_steps(delay_s: float) -> None:
    env = TwinEnv(task="reach", obs="state")
    cfg = SimOperatorConfig(reaction_delay_s=delay_s, stuck_window_steps=4)
    hil, op = sim_operator_session(env, "bc", None, buffers(env)[1], cfg, ACROSS)
    obs, _ = env.reset(seed=1)
    hil.reset()
    op.reset()
    steps_to_decide = steps_to_onset = None
    for k in range(20):
        t = env.cell.data.time
        cmd = op.command(idle(1.0)(obs), t)
        if op.reasons and steps_to_decide is None:
            steps_to_decide = k
        d = hil.act(obs, idle(1.0)(obs), cmd, t)
        if d.onset:
            steps_to_onset = k
            break
        obs, *_ = env.step(d.action)
    assert steps_to_decide is not None and steps_to_onset is not None
    assert steps_to_onset - steps_to_decide == round(delay_s * 10)


def test_noise_is_seeded_and_changes_the_commands() -> None:
    env = TwinEnv(task="reach", obs="state")

    def commands(noise: float, seed: int) -> np.ndarray:
        cfg = SimOperatorConfig(action_noise_std=noise, seed=seed, reaction_delay_s=0.0)
        cfg.always_in_control = True
        op = SimulatedOperator(env, cfg, Arbiter.for_env(ArbiterConfig(), env).mapping)
        env.reset(seed=2)
        op.reset()
        out = [op.command(np.zeros(7), 0.0) for _ in range(3)]
        return np.array([[c.twist.linear.x, c.twist.linear.y] for c in out])

    np.testing.assert_array_equal(commands(0.2, 7), commands(0.2, 7))
    assert not np.allclose(commands(0.2, 7), commands(0.0, 7))


def test_dagger_labels_every_step() -> None:
    env = TwinEnv(task="reach", obs="state")
    online, demo = buffers(env)
    hil, op = sim_operator_session(env, "dagger", None, demo, SimOperatorConfig(), ACROSS)
    ep = run_hil_episode(env, idle(1.0), hil, op, seed=4, label=op.label)
    assert demo.num_transitions == ep.steps and online.num_transitions == 0


def test_a_device_command_moves_the_tcp_the_way_the_operator_sees_it() -> None:
    """Physical check in MuJoCo: across the table, 'forward' moves the TCP toward base -x;
    in the TCP frame, 'forward' moves it along the TCP's own (yawed) x axis."""
    for frame in (ACROSS, FrameConfig(kind="tcp")):
        env = TwinEnv(task="pick_cube", obs="state")
        cfg = ArbiterConfig(mapping=MappingConfig(frame))
        hil = HilSession.for_env(HilConfig(cfg), env, *buffers(env))
        obs, _ = env.reset(seed=11)
        hil.reset()
        x_axis = env.cell.data.site_xmat[env.cell.tcp_site].reshape(3, 3)[:, 0].copy()
        start = env.cell.data.site_xpos[env.cell.tcp_site].copy()
        for _ in range(5):
            t = env.cell.data.time
            c = make_command([0.5, 0, 0, 0, 0, 0], 1.0, 1, t)
            obs, *_ = env.step(hil.act(obs, np.zeros(7), c, t).action)
        moved = env.cell.data.site_xpos[env.cell.tcp_site] - start
        want = np.array([-1.0, 0, 0]) if frame is ACROSS else x_axis
        assert np.dot(moved, want) / np.linalg.norm(moved) > 0.95, (frame.kind, moved)


def _intervening(op: SimulatedOperator, env: TwinEnv, steps: int) -> list[bool]:
    """Whether each of ``steps`` commands asks to intervene (the env steps with zeros)."""
    out = []
    for _ in range(steps):
        out.append(bool(op.command(np.zeros(7), env.cell.data.time).buttons))
        env.step(np.zeros(7, np.float32))
    return out


def test_the_operator_starts_every_episode_afresh_and_attends_only_given_seeds() -> None:
    env = TwinEnv(task="reach", obs="state")
    cfg = SimOperatorConfig(reaction_delay_s=0.0, always_in_control=True, attend_seeds=(5,))
    env.reset(seed=5)
    op = SimulatedOperator(env, cfg, sim_operator_session(env, "hil_serl", None, None)[1].mapping)
    assert all(_intervening(op, env, 3))  # an attended configuration
    env.reset(seed=3)  # a new episode, not reported to the operator: it notices by itself
    assert not any(_intervening(op, env, 3)) and op.takeovers == 0
    env.reset(seed=5)
    assert all(_intervening(op, env, 2)) and op.takeovers == 1
    env.close()
