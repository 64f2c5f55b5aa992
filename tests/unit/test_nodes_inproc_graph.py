"""The training graph in one process over the inproc bus, against the lock-step twin:
twin, bridge, reset, actor and learner are the same objects the process graph runs."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import PoseStamped
from robot_rl.loop.delivery import step_crc
from robot_rl.nodes.actor import ActorNode, ActorNodeConfig
from robot_rl.nodes.bus_env import BusEnv, BusEnvConfig, ResetFailedError
from robot_rl.nodes.impedance_bridge import BridgeConfig, ImpedanceBridge
from robot_rl.nodes.learner import LearnerConfig, LearnerNode
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.observation import ObsConfig, StaleObservationError
from robot_rl.nodes.policy import PolicyConfig
from robot_rl.nodes.reset import ResetConfig, ResetNode
from robot_rl.nodes.twin import TwinNode, TwinNodeConfig

pytestmark = pytest.mark.twin

OBS = ObsConfig(max_age_s=0.0)
POLICY = PolicyConfig(
    task="reach",
    overrides="{sac: {actor: {hidden_dims: [16, 16]}, critic: {hidden_dims: [16, 16]},"
    " batch_size: 8, replay: {capacity_frames: 1000}}, random_steps: 8,"
    " weights_every_updates: 5}",
)


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("graph")
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    targets: dict[str, int] = {}
    learner = LearnerNode(
        bus,
        LearnerConfig(
            obs=OBS,
            policy=POLICY,
            checkpoint_dir=str(tmp / "learner"),
        ),
    )
    bridge = ImpedanceBridge(bus, BridgeConfig(calibration="default", task="reach"))
    reset = ResetNode(bus, ResetConfig(task="reach", twin_reset_service="twin/reset_objects"))
    twin = TwinNode(
        bus,
        TwinNodeConfig(task="reach", cameras=("front",), image_height=16, image_width=16),
        sim_clock=clock,
    )
    bus.subscribe("target_pose", PoseStamped, lambda m: targets.update(n=targets.get("n", 0) + 1))
    for node in (twin, bridge, reset, learner):
        loop.add(node)
    actor = ActorNode(
        bus,
        ActorNodeConfig(obs=OBS, policy=POLICY, env=BusEnvConfig(episode_steps=12), num_episodes=2),
        loop.spin_once,
    )
    actor.run(lambda: False)
    yield {
        "actor": actor,
        "learner": learner,
        "twin": twin,
        "bridge": bridge,
        "reset": reset,
        "clock": clock,
    }
    learner.close()
    twin.close()


def test_learner_stored_exactly_what_the_actor_sent(graph: dict) -> None:
    actor, learner = graph["actor"], graph["learner"]
    sent = actor.summary()["sent"]
    assert [seq for seq, _ in sent] == list(range(1, 25))
    assert learner.core.intake.highest == {"actor0": 24}
    assert actor.sender.all_acked and actor.sender.resent == 0
    replay = learner.core.online
    idx = replay.valid_indices()
    assert len(idx) == 24
    for (_, crc), i in zip(sent, idx, strict=True):
        flags = [bool(replay.flags[f][i]) for f in ("terminated", "truncated", "intervened")]
        assert step_crc(replay.action[i], float(replay.reward[i]), *flags) == crc


def test_the_actor_got_several_weight_versions_in_order(graph: dict) -> None:
    versions = graph["actor"].weight_versions
    assert len(versions) >= 2 and versions == sorted(set(versions))


def test_lock_step_never_waited_out_a_peer(graph: dict) -> None:
    assert graph["twin"].lockstep_timeouts == 0
    assert graph["reset"].completed == 2 and graph["reset"].failed == 0
    # 2 episodes x 12 steps at 10 Hz plus two resets: sim time moved only through the gate
    assert graph["clock"].now_ns() * 1e-9 > 2.4


def test_each_episode_ends_once_by_one_reason(graph: dict) -> None:
    core = graph["learner"].core
    idx = core.online.valid_indices()
    ended = core.online.flags["truncated"][idx] | core.online.flags["terminated"][idx]
    assert ended.sum() == 2  # each episode ends exactly once, by one reason
    assert not (core.online.flags["truncated"][idx] & core.online.flags["terminated"][idx]).any()


def test_reset_without_a_reset_node_is_a_clear_error() -> None:
    bus = InprocBus(clock=SimClock())
    env = BusEnv(bus, ObsConfig(), BusEnvConfig(reset_timeout_s=0.1), NodeLoop(bus).spin_once)
    with pytest.raises(ResetFailedError, match="reset"):
        env.reset(seed=0)


def test_a_step_without_inputs_raises_stale_with_the_topics() -> None:
    bus = InprocBus(clock=SimClock())
    env = BusEnv(bus, ObsConfig(), BusEnvConfig(obs_timeout_s=0.05), NodeLoop(bus).spin_once)
    with pytest.raises(StaleObservationError, match="bus time stuck"):
        env.step(np.zeros(7, np.float32))


def test_real_time_twin_steps_on_the_wall_clock() -> None:
    bus = InprocBus()  # wall clock
    twin = TwinNode(bus, TwinNodeConfig(task="reach", cameras=(), lockstep=False))
    poses: list[PoseStamped] = []
    bus.subscribe("current_pose", PoseStamped, poses.append)
    t0 = time.time()
    bus.spin(timeout_s=0.3)
    twin.close()
    assert twin.steps > 0 and poses
    assert poses[-1].header.stamp.to_s() >= t0  # wall-clock stamps
    assert twin.poll() == 0  # nothing is gated in real time


def test_the_twin_node_reports_a_physics_blowup() -> None:
    from robot_rl.bus.msgs import DiagnosticArray

    bus = InprocBus()
    twin = TwinNode(bus, TwinNodeConfig(task="reach", cameras=(), lockstep=False))
    got: list[DiagnosticArray] = []
    bus.subscribe("/diagnostics", DiagnosticArray, got.append)
    twin.publish_diagnostics()
    twin.sim.cell.data.qvel[0] = np.nan  # MuJoCo resets the cell at the next step
    twin.sim.advance(2)
    twin.publish_diagnostics()
    bus.spin(timeout_s=0.05)
    twin.close()
    first, last = (a.status[0] for a in (got[0], got[-1]))
    assert first.message == "running"
    assert last.message == "physics blew up 1 times" and last.level == 1  # WARN


def test_a_lockstep_boundary_waits_for_the_bridge_to_answer_the_command() -> None:
    from robot_rl.bus.msgs import Action, Header, Time
    from robot_rl.nodes.convert import pose_to_msg

    clock = SimClock()
    bus = InprocBus(clock=clock)
    twin = TwinNode(bus, TwinNodeConfig(task="reach", cameras=()), sim_clock=clock)
    target = bus.publisher("target_pose", PoseStamped)
    action = bus.publisher("action", Action)

    def send_target(stamp_ns: int) -> None:
        target.publish(pose_to_msg(twin.sim.tcp_pose(), Time.from_ns(stamp_ns), "base"))

    send_target(0)  # the bridge's timer at t = 0
    action.publish(Action(Header(Time.from_ns(0), "base"), 1, 0, np.zeros(7, np.float32), False))
    # That target may predate the command: under load the command would act a quantum late.
    assert twin.missing_peers() == ["target_pose answering the command"]
    time.sleep(0.1)  # a slow bridge: the twin still waits (up to lockstep_patience_s)
    assert twin.poll() == 0
    send_target(1)  # the bridge's answer, 1 ns after the command
    assert twin.missing_peers() == []
    assert twin.poll() == 1
    send_target(twin.sim.time_ns)  # mid-period quanta need no answer
    assert twin.missing_peers() == []
    twin.close()
