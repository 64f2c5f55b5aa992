"""The actor node with a human in the loop and with a held reward, over the inproc bus.

A physics-free lock-step cell stands in for the twin: it answers the reset at once and,
each time the actor's action for the current policy boundary arrives, moves sim time on
by one period and publishes the state, a scripted reward estimate and a scripted teleop
command, all stamped at the new boundary. The learner is the real node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus, InprocConfig
from robot_rl.bus.msgs import (
    Action,
    Header,
    JointState,
    PoseStamped,
    Reset,
    ResetRequest,
    ResetResponse,
    RewardEstimate,
    TeleopCommand,
    Time,
    WrenchStamped,
)
from robot_rl.bus.qos import SENSOR_DATA
from robot_rl.control.safety import Pose
from robot_rl.hil.arbiter import ArbiterConfig
from robot_rl.hil.command import make_command
from robot_rl.hil.routing import RouteMode, RouterConfig
from robot_rl.nodes.actor import ActorHilConfig, ActorNode, ActorNodeConfig
from robot_rl.nodes.bus_env import BusEnvConfig
from robot_rl.nodes.convert import pose_to_msg
from robot_rl.nodes.learner import LearnerConfig, LearnerNode
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig
from robot_rl.rewards.hold import HoldConfig

PERIOD_NS = 100_000_000
OBS = ObsConfig(max_age_s=0.0)
# The shared TrainConfig, small; the random warm-up outlasts the test (no updates).
POLICY = PolicyConfig(
    task="reach",
    overrides="{sac: {actor: {hidden_dims: [16]}, critic: {hidden_dims: [16]}, batch_size: 8,"
    " replay: {capacity_frames: 500}}, random_steps: 10000}",
)
HUMAN_STEPS = (2, 3, 4)  # the operator holds the intervene button at these steps
PUSH_X = make_command(np.array([1.0, 0, 0, 0, 0, 0]), 1.0, TeleopCommand.BUTTON_INTERVENE, 0.0)


class FakeCell:
    """Lock-step inputs for one actor (see the module docstring)."""

    def __init__(
        self,
        bus: InprocBus,
        clock: SimClock,
        success_prob: Callable[[int], float],
        teleop: Callable[[int], TeleopCommand | None],
    ) -> None:
        self.bus, self.clock = bus, clock
        self.success_prob, self.teleop = success_prob, teleop
        self.actions: list[Action] = []
        self.step = 0  # env steps of the current episode done
        self._pose = bus.publisher("current_pose", PoseStamped)
        self._joints = bus.publisher("joint_states", JointState)
        self._wrench = bus.publisher("external_wrench", WrenchStamped)
        self._reward = bus.publisher("reward", RewardEstimate)
        self._teleop = bus.publisher("teleop/command", TeleopCommand, SENSOR_DATA)
        bus.subscribe("action", Action, self.actions.append)
        bus.serve("reset", Reset, self._on_reset)
        clock.advance(1.0)

    def _publish(self, t_ns: int, prob: float) -> None:
        stamp = Time.from_ns(t_ns)
        pose = Pose(np.array([0.5, 0.0, 0.2 + 1e-3 * self.step]), np.array([0.0, 1, 0, 0]))
        self._pose.publish(pose_to_msg(pose, stamp, "base"))
        names = list(OBS.gripper_joints)
        self._joints.publish(JointState(Header(stamp), names, np.full(2, 0.02)))
        self._wrench.publish(WrenchStamped(Header(stamp)))
        self._reward.publish(RewardEstimate(Header(stamp), "fake", 0.25, prob, 0.0))
        cmd = self.teleop(self.step)
        if cmd is not None:
            self._teleop.publish(replace(cmd, header=Header(stamp, cmd.header.frame_id)))

    def _on_reset(self, req: ResetRequest) -> ResetResponse:
        self.step = 0
        t = self.clock.now_ns()
        self._pose.publish(
            pose_to_msg(
                Pose(np.zeros(3), np.array([1.0, 0, 0, 0])),
                Time.from_ns(t - PERIOD_NS // 2),
                "base",
            )
        )
        self._publish(t, 0.0)
        return ResetResponse(True, "fake reset")

    def poll(self) -> int:
        now = self.clock.now_ns()
        if not self.actions or self.actions[-1].header.stamp.to_ns() != now:
            return 0
        self.clock.advance(PERIOD_NS * 1e-9)
        self.step += 1
        self._publish(self.clock.now_ns(), self.success_prob(self.step))
        return 1


def _run(
    tmp_path: Path,
    hil: ActorHilConfig | None = None,
    env: BusEnvConfig | None = None,
    success_prob: Callable[[int], float] = lambda k: 0.0,
    teleop: Callable[[int], TeleopCommand | None] = lambda k: None,
) -> tuple[ActorNode, LearnerNode, FakeCell]:
    clock = SimClock()
    bus = InprocBus(InprocConfig(wire_check=True), clock=clock)
    loop = NodeLoop(bus)
    cell = FakeCell(bus, clock, success_prob, teleop)
    learner_cfg = LearnerConfig(obs=OBS, policy=POLICY, checkpoint_dir=str(tmp_path / "l"))
    learner = LearnerNode(bus, learner_cfg)
    loop.add(cell)
    loop.add(learner)
    cfg = ActorNodeConfig(
        obs=OBS,
        policy=POLICY,
        env=env or BusEnvConfig(episode_steps=8),
        hil=hil or ActorHilConfig(),
        num_episodes=1,
    )
    actor = ActorNode(bus, cfg, loop.spin_once)
    actor.run(lambda: False)
    learner.close()
    return actor, learner, cell


def _hil(mode: RouteMode) -> ActorHilConfig:
    arbiter = ArbiterConfig(release_hold_s=0.0, handover_s=0.0)  # hand back at once
    return ActorHilConfig(
        arbiter=arbiter,
        router=RouterConfig(mode),
        teleop_topic="teleop/command",
    )


def _operator(step: int) -> TeleopCommand | None:
    """Pushes +x with the intervene button held at HUMAN_STEPS, idle otherwise."""
    if step in HUMAN_STEPS:
        return PUSH_X
    return make_command(np.zeros(6), 1.0, 0, 0.0)


def test_intervened_steps_are_executed_flagged_and_routed_to_both_buffers(
    tmp_path: Path,
) -> None:
    actor, learner, cell = _run(tmp_path, hil=_hil("hil_serl"), teleop=_operator)
    flags = [a.intervened for a in cell.actions]
    assert flags == [k in HUMAN_STEPS for k in range(8)]
    for k in HUMAN_STEPS:  # the human's twist, mapped into the policy's action frame
        assert np.allclose(cell.actions[k].action[:6], [1, 0, 0, 0, 0, 0])
    assert not any(np.allclose(cell.actions[k].action[:6], [1, 0, 0, 0, 0, 0]) for k in (0, 7))
    s = actor.summary()
    assert s["interventions"] == 1 and s["human_steps"] == 3
    assert [seq for seq, _ in s["sent"]] == list(range(1, 12))  # 8 online + 3 demo copies
    core = learner.core
    assert core.online.num_transitions == 8 and core.demo.num_transitions == 3
    demo = core.demo.valid_indices()
    assert core.demo.flags["intervened"][demo].all()
    assert np.allclose(core.demo.action[demo][:, :6], [1, 0, 0, 0, 0, 0])
    assert core.online.flags["intervened"][core.online.valid_indices()].sum() == 3


def test_rlif_penalises_the_refused_policy_action_once(tmp_path: Path) -> None:
    actor, learner, cell = _run(tmp_path, hil=_hil("rlif"), teleop=_operator)
    core = learner.core
    assert core.demo.num_transitions == 0
    idx = core.online.valid_indices()
    rewards = core.online.reward[idx]
    assert len(idx) == 9 and sorted(rewards.tolist()) == [-1.0] + [0.0] * 8
    penalty = idx[rewards == -1.0][0]
    assert core.online.flags["terminated"][penalty] and not core.online.flags["intervened"][penalty]
    assert [a.intervened for a in cell.actions].count(True) == 3
    assert actor.summary()["interventions"] == 1


@pytest.mark.parametrize("mode", ["bc", "dagger"])
def test_bc_and_dagger_keep_only_the_human_steps_as_demos(tmp_path: Path, mode: RouteMode) -> None:
    actor, learner, cell = _run(tmp_path, hil=_hil(mode), teleop=_operator)
    assert len(cell.actions) == 8 and actor.core.env_steps == 8  # the policy's steps still run
    core = learner.core
    assert core.online.num_transitions == 0 and core.demo.num_transitions == 3
    assert [seq for seq, _ in actor.summary()["sent"]] == [1, 2, 3]


def test_without_a_teleop_topic_nothing_is_arbitrated(tmp_path: Path) -> None:
    actor, learner, cell = _run(tmp_path, teleop=_operator)  # commands sent, not listened to
    assert actor.core.hil is None and not any(a.intervened for a in cell.actions)
    assert learner.core.demo.num_transitions == 0 and learner.core.online.num_transitions == 8


FLICKER = (0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)  # success_prob after step k


@pytest.mark.parametrize(
    ("hold", "steps", "rewards"),
    [
        (0, 1, [0.25]),  # no hold: the first per-step success ends it, reward as published
        (3, 5, [0.0, 0.0, 0.0, 0.0, 1.0]),  # three in a row; sparse reward
    ],
)
def test_the_success_hold_filters_a_flickering_reward(
    tmp_path: Path, hold: int, steps: int, rewards: list[float]
) -> None:
    env = BusEnvConfig(episode_steps=8, hold=HoldConfig(hold_frames=hold))
    actor, learner, _ = _run(tmp_path, env=env, success_prob=lambda k: FLICKER[k])
    assert actor.summary()["successes"] == 1 and actor.core.env_steps == steps
    core = learner.core
    idx = core.online.valid_indices()
    assert core.online.reward[idx].tolist() == rewards
    assert core.online.flags["terminated"][idx].tolist() == [False] * (steps - 1) + [True]
