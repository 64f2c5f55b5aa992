"""Diagnosis of the graph's state gap (issue 17): the in-process link trained on the bus cell.

`robot-rl train` as usual (the in-process ActorCore/LearnerCore, the embedded default config,
scripted demos recorded in-process), except that the training env is a `BusEnv` on an
in-process bus with the lock-step twin node, the impedance bridge and the reset node, as the
graph's actor sees the cell. No DDS, no separate processes, no asynchronous learner: if this
run learns what the graph learns, the gap comes from the bus cell, not from the transport.
Evaluate the result with `robot-rl eval RUN_DIR` (in-process TwinEnv, fresh seeds).

    python benchmarks/diag_bus_link.py --seed 0 --env-steps 6000 --out runs/busenv-s0
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import robot_rl.train.run as run
from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.nodes.bus_env import BusEnv, BusEnvConfig
from robot_rl.nodes.impedance_bridge import BridgeConfig, ImpedanceBridge
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.reset import ResetConfig, ResetNode
from robot_rl.nodes.twin import TwinNode, TwinNodeConfig
from robot_rl.spec import PROPRIO_DIM
from robot_rl.train.config import TrainConfig, default_config


def bus_cell_env(cfg: TrainConfig) -> BusEnv:
    """The graph's view of the twin cell, on one in-process bus (state observations)."""
    ref = run.make_env(cfg, learned_reward=False)
    dim, steps = ref.observation_space["state"].shape[0], ref.task.cfg.episode_steps
    ref.close()
    clock = SimClock()
    bus = InprocBus(clock=clock)
    loop = NodeLoop(bus)
    twin_cfg = TwinNodeConfig(task=cfg.task, cameras=(), dense_reward=cfg.dense_reward)
    for node in (
        TwinNode(bus, twin_cfg, sim_clock=clock),
        ImpedanceBridge(bus, BridgeConfig(calibration="default", task=cfg.task)),
        ResetNode(bus, ResetConfig(task=cfg.task, twin_reset_service="twin/reset_objects")),
    ):
        loop.add(node)
    obs = ObsConfig(max_age_s=0.0, object_state_dim=dim - PROPRIO_DIM)
    return BusEnv(bus, obs, BusEnvConfig(episode_steps=steps), loop.spin_once)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="pick_cube")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--env-steps", type=int, default=6000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    cfg = dataclasses.replace(
        default_config(args.task, "state"),
        seed=args.seed,
        env_steps=args.env_steps,
        eval_every_steps=1000,
        eval_episodes=10,
        stop_at_success=None,
    )
    twin_env = run.make_env
    made: list[Any] = []

    def make_env(c: TrainConfig, learned_reward: bool = True) -> Any:
        if made or not learned_reward:  # evaluation and demo envs stay in-process
            return twin_env(c, learned_reward)
        made.append(bus_cell_env(c))  # the first env train() makes is the training env
        return made[-1]

    run.make_env = make_env  # type: ignore[assignment]
    result = run.train(cfg, args.out, progress=True)
    print(f"{args.out}: {result.env_steps} env steps; now run `robot-rl eval {args.out}`")


if __name__ == "__main__":
    main()
