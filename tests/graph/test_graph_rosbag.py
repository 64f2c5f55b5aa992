"""Record the twin training graph (separate processes over DDS) into a rosbag2 MCAP bag
with rosbags' writer, import the bag as zarr episodes, check them against the transitions
the actor sent, and train SAC updates from them.

The recorder is a DDS participant in the test process (as ``ros2 bag record`` would be);
the graph is `GRAPHS["training"]` run by `GraphProcesses` (what ``robot-rl graph up`` runs).
"""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import LOOPBACK_XML

pytest.importorskip("cyclonedds", reason="the dds backend needs cyclonedds")

from robot_rl.agents.config import ActorConfig, CriticConfig, sac_config
from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import ObsSpec
from robot_rl.bus.dds.bus import DdsBus
from robot_rl.bus.dds.config import DdsConfig
from robot_rl.bus.msgs import Transition
from robot_rl.data.bag_import import ImportConfig, import_bag
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.loader import fill_replay
from robot_rl.data.rosbag import BagRecorder, BagTopics, BagWriter, live_topics
from robot_rl.nodes.graph import GRAPHS
from robot_rl.nodes.process import GraphProcesses, ProcessOptions

pytestmark = pytest.mark.graph

WAIT_S = 240.0  # a bound only a broken graph reaches
EPISODES, STEPS, SIZE = 3, 8, 32
POLICY = {
    "policy.task": "reach",
    "policy.overrides": "{sac: {actor: {hidden_dims: [32, 32]}, critic: {hidden_dims: [32, 32]},"
    " batch_size: 16, replay: {capacity_frames: 2000}}, random_steps: 8, weights_every_updates: 5}",
}


def test_record_import_and_train(domain_id: int, tmp_path: Path) -> None:
    ns = "/b" + uuid.uuid4().hex[:12]
    overrides = {
        "twin": {"cameras": ["front"], "image_height": SIZE, "image_width": SIZE},
        "actor": {**POLICY, "env.episode_steps": STEPS, "num_episodes": EPISODES},
        "learner": {**POLICY, "checkpoint_dir": str(tmp_path / "learner")},
        "gui": {"port": 0, "cameras": ["front"]},  # any free port: tests run side by side
    }
    procs = GraphProcesses(
        GRAPHS["training"],
        ProcessOptions(domain_id, ns, LOOPBACK_XML.as_uri()),
        tmp_path,
        overrides,
    )
    topics = BagTopics().under(ns)
    recorded = {**live_topics(topics, ["front"]), f"{ns}/transitions": Transition}
    bus = DdsBus(DdsConfig(domain_id, namespace=ns, cyclone_config=LOOPBACK_XML.as_uri()))
    transitions: list[Transition] = []
    try:
        with BagWriter(tmp_path / "bag") as writer:
            BagRecorder(bus, writer, recorded)
            bus.subscribe("transitions", Transition, transitions.append)
            procs.start()
            deadline = time.monotonic() + WAIT_S
            while procs.returncodes()["actor"] is None:
                failed = {n: c for n, c in procs.returncodes().items() if c not in (None, 0)}
                if failed or time.monotonic() > deadline:
                    logs = "\n".join(f"--- {n}\n{procs.log_text(n)[-2000:]}" for n in procs.procs)
                    pytest.fail(f"graph did not finish: {procs.returncodes()}\n{logs}")
                bus.spin_once(0.05)
            bus.spin(timeout_s=1.0)  # what is still in flight
            procs.kill("learner", signal.SIGINT)
    finally:
        procs.stop()
        bus.close()
    assert procs.returncodes()["actor"] == 0

    report = import_bag(
        tmp_path / "bag",
        tmp_path / "store",
        ImportConfig(topics, image_height=SIZE, image_width=SIZE, max_age_s=0.0),
    )
    assert (report.episodes, report.dropped, report.stale) == (EPISODES, [], {}), report
    store = EpisodeStore(tmp_path / "store")
    assert store.spec.cameras == ("front",) and store.spec.image_shape == (SIZE, SIZE, 3)

    # The bag's observations, synchronised by the importer, are exactly what the actor saw.
    sent = {t.seq: t for t in transitions if t.actor_id == "actor0"}
    assert len(sent) == EPISODES * STEPS
    by_episode: dict[int, list[Transition]] = {}
    for t in sorted(sent.values(), key=lambda t: t.seq):
        by_episode.setdefault(int(t.episode_id), []).append(t)
    for i, steps in enumerate(by_episode.values()):
        ep = store.episode(i)
        assert ep.num_steps == len(steps) == STEPS
        for t in steps:
            obs = {a.name: a.to_array() for a in t.obs}
            np.testing.assert_array_equal(ep.state[t.step], obs["state"])
            np.testing.assert_array_equal(ep.action[t.step], t.action)
            assert ep.reward[t.step] == np.float32(t.reward)
            assert (ep.terminated[t.step], ep.truncated[t.step]) == (t.terminated, t.truncated)
        assert ep.images["front"].std() > 0  # rendered frames, not zeros

    # A few SAC updates from the imported episodes (state only, tiny networks).
    spec = ObsSpec(store.spec.state_dim)
    buffer = ReplayBuffer(256, spec, store.spec.action_dim)
    assert fill_replay(store, buffer) == EPISODES * STEPS
    cfg = sac_config(
        batch_size=16, critic=CriticConfig(hidden_dims=(32, 32)), actor=ActorConfig((32, 32))
    )
    agent = SACAgent(cfg, spec, store.spec.action_dim)
    agent.set_state_stats(buffer.stored_states())
    before = [p.detach().clone() for p in agent.critic.parameters()]
    rng = np.random.default_rng(0)
    for _ in range(5):
        metrics = agent.update(buffer.get(buffer.sample_indices(16, rng)))
    assert agent.num_updates == 5 and all(np.isfinite(v) for v in metrics.values())
    after = list(agent.critic.parameters())
    assert any(not bool((a == b).all()) for a, b in zip(after, before, strict=True))
