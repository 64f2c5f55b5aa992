"""The training graph (twin, bridge, reset, actor, learner, gui) as robot_rl_ros executables
under rclpy, started as its launch file describes; an operator takes over through the gui
node's page; then a kill -9 of the actor.

The test watches the graph only from outside, through its own rclpy node on the graph's
topics (episode events, acks, weights, actions, targets, /diagnostics), so it does not
depend on how the actor and learner are built inside. The operator is a WebSocket client
speaking the page's protocol (docs/gui.md) to the gui node's server, holding the intervene
key. No assertion is about wall time; the watchdog bound is in sim time (lock-step: the
arm moves only when sim time does).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import numpy as np
import pytest
from graphs import ros_processes, wait

from robot_rl.bus.msgs import (
    Action,
    DiagnosticArray,
    EpisodeEvent,
    PolicyWeights,
    PoseStamped,
    TransitionAck,
)
from robot_rl.bus.qos import DEFAULT, LATCHED, QoS
from robot_rl.bus.ros2 import Ros2Bus, Ros2Config
from robot_rl.nodes.convert import pose_from_msg
from robot_rl.nodes.diagnostics import values_of

EPISODES, STEPS = 3, 10
POLICY = {
    "policy.task": "reach",
    "policy.overrides": "{sac: {actor: {hidden_dims: [32, 32]}, critic: {hidden_dims: [32, 32]},"
    " batch_size: 16, replay: {capacity_frames: 2000}}, random_steps: 8, weights_every_updates: 5}",
}

SESSION = "0123456789abcdef"
_URL = re.compile(r"robot_rl cockpit: open http://127\.0\.0\.1:(\d+)/")


def hold_intervene(port: int, stop: threading.Event, acked: list[int]) -> None:
    """An operator's page on the gui node: take control, then hold the intervene key and
    push up (z) at 30 Hz until ``stop``; ``acked`` collects the seqs the server took."""

    async def main() -> None:
        url = f"ws://127.0.0.1:{port}/ws?client=test-operator&session={SESSION}"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            await ws.send_str(json.dumps({"type": "take"}))
            seq = 0
            while not stop.is_set():
                state = {"type": "state", "session": SESSION, "seq": seq, "t_ms": 33.0 * seq}
                state.update(twist=[0, 0, 0.5, 0, 0, 0], gripper=1, buttons=int(seq > 0))
                await ws.send_str(json.dumps(state))
                seq += 1
                try:  # drain what the server pushes (status, frames, acks)
                    while True:
                        m = await ws.receive(timeout=0.03)
                        if m.type == aiohttp.WSMsgType.TEXT and '"ack"' in m.data:
                            acked.append(json.loads(m.data)["seq"])
                except TimeoutError:
                    pass

    asyncio.run(main())


@pytest.fixture(scope="module")
def run(rclpy_context: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("training_rclpy")
    overrides: dict[str, dict[str, Any]] = {
        "twin": {"cameras": ["front"], "image_height": 32, "image_width": 32},
        "actor": {**POLICY, "env.episode_steps": STEPS},
        "learner": {
            **POLICY,
            "checkpoint_dir": str(tmp / "learner"),
        },
        "gui": {"port": 0, "cameras": ["front"]},  # any free port: tests run side by side
    }
    procs = ros_processes("training", tmp, overrides)
    bus = Ros2Bus(Ros2Config(node_name="test_training_observer"))
    seen: dict[str, list[Any]] = {k: [] for k in ("ends", "acks", "weights", "actions")}
    seen.update(statuses=[], targets=[], poses=[])
    end = EpisodeEvent.END
    bus.subscribe(
        "episode_events",
        EpisodeEvent,
        lambda m: seen["ends"].append(m) if m.kind == end else None,
        QoS(depth=50),
    )
    bus.subscribe("transition_ack", TransitionAck, seen["acks"].append, DEFAULT)
    bus.subscribe("policy_weights", PolicyWeights, seen["weights"].append, LATCHED)
    bus.subscribe("action", Action, seen["actions"].append, QoS(depth=100))
    bus.subscribe("target_pose", PoseStamped, seen["targets"].append, QoS(depth=1000))
    bus.subscribe("current_pose", PoseStamped, seen["poses"].append, QoS(depth=1000))
    bus.subscribe(
        "/diagnostics",
        DiagnosticArray,
        lambda m: seen["statuses"].extend(s for s in m.status if s.name == "impedance_bridge"),
        QoS(depth=100),
    )
    out: dict[str, Any] = {"seen": seen, "procs": procs}
    try:
        procs.start()
        wait(
            procs,
            lambda: (
                len(seen["ends"]) >= EPISODES
                and bool(seen["weights"])
                and max((a.highest_contiguous_seq for a in seen["acks"]), default=0)
                >= EPISODES * STEPS
            ),
            f"{EPISODES} episodes, their {EPISODES * STEPS} transitions acked and a weight version",
            bus.spin_once,
        )
        # an operator takes over through the gui node's page; the actor executes it
        wait(procs, lambda: bool(_URL.search(procs.log_text("gui"))), "the gui's address")
        port = int(_URL.findall(procs.log_text("gui"))[-1])
        stop, acked = threading.Event(), out.setdefault("page_acked", [])
        page = threading.Thread(target=hold_intervene, args=(port, stop, acked), daemon=True)
        page.start()
        try:
            wait(
                procs,
                lambda: any(a.intervened for a in seen["actions"]),
                "an action the operator took over",
                bus.spin_once,
            )
        finally:
            stop.set()
            page.join(timeout=10.0)
        # kill -9 the actor in the middle of an episode
        n_actions = len(seen["actions"])
        wait(procs, lambda: len(seen["actions"]) >= n_actions + 3, "actions", bus.spin_once)
        bus.spin(timeout_s=0.2)
        last_action_s = max(a.header.stamp.to_s() for a in seen["actions"])
        killed_at = time.monotonic()
        out["actor_kill_rc"] = procs.kill("actor")

        def trip() -> dict[str, str] | None:
            for s in seen["statuses"]:
                v = values_of(s)
                if float(v.get("trip_last_command_s", "-1")) >= last_action_s - 0.011:
                    return v
            return None

        wait(procs, lambda: trip() is not None, "the watchdog trip", bus.spin_once)
        out["kill_to_trip_wall_s"] = time.monotonic() - killed_at
        out["trip"] = trip_values = trip()
        assert trip_values is not None
        trip_s = float(trip_values["trip_time_s"])
        wait(
            procs,
            lambda: bool(seen["poses"]) and seen["poses"][-1].header.stamp.to_s() >= trip_s + 1.0,
            "1 s of sim time after the trip",
            bus.spin_once,
        )
        out.update(last_action_s=last_action_s, trip_s=trip_s)
        out["exit_codes"] = procs.stop()
    finally:
        procs.stop()
        bus.close()
    print(f"\ntraining under rclpy: kill -9 actor -> trip after {out['kill_to_trip_wall_s']:.2f} s")
    yield out


def test_episodes_acks_and_weights(run: dict[str, Any]) -> None:
    seen = run["seen"]
    assert len(seen["ends"]) >= EPISODES
    assert len({e.episode_id for e in seen["ends"]}) == len(seen["ends"])
    acked = [a.highest_contiguous_seq for a in seen["acks"] if a.actor_id == "actor0"]
    assert acked and max(acked) >= EPISODES * STEPS  # every step of 3 episodes stored
    versions = [w.version for w in seen["weights"]]
    assert versions and versions[0] >= 1 and versions == sorted(set(versions))


def test_the_operator_takes_over_through_the_gui_node(run: dict[str, Any]) -> None:
    assert run["page_acked"]  # the gui node's server took the page's states ...
    taken = [a for a in run["seen"]["actions"] if a.intervened]
    # ... its TeleopCommands reached the actor, which executed the human's "up" from the
    # page. The other human steps hold still: the arbiter's release hold after the page
    # stops or lapses (a loaded CI machine delays the page's thread past the lapse time).
    moving = [a for a in taken if np.any(np.asarray(a.action[:6]) != 0.0)]
    shown = [np.round(np.asarray(a.action), 3).tolist() for a in taken]
    assert moving and all(float(a.action[2]) > 0.0 for a in moving), shown


def test_actor_kill_trips_the_watchdog_and_the_arm_holds(run: dict[str, Any]) -> None:
    assert run["actor_kill_rc"] == -signal.SIGKILL
    trip = run["trip"]
    assert float(trip["trip_delay_s"]) <= 0.2  # sim seconds from the last command to the hold
    trip_s = run["trip_s"]
    held = [
        pose_from_msg(t).pos
        for t in run["seen"]["targets"]
        if trip_s <= t.header.stamp.to_s() <= trip_s + 1.0
    ]
    assert len(held) >= 20
    assert np.abs(np.array(held) - held[0]).max() < 1e-9  # the target stays latched
    after = [
        pose_from_msg(p).pos
        for p in run["seen"]["poses"]
        if trip_s + 0.5 <= p.header.stamp.to_s() <= trip_s + 1.0
    ]
    assert len(after) >= 10
    assert float(np.linalg.norm(np.array(after) - held[0], axis=1).max()) < 0.01


def test_other_nodes_survive_the_kill_and_stop_cleanly(run: dict[str, Any]) -> None:
    codes = run["exit_codes"]
    assert codes["actor"] == -signal.SIGKILL
    survivors = ("twin", "impedance_bridge", "reset", "learner", "gui")
    assert all(codes[n] == 0 for n in survivors), codes
