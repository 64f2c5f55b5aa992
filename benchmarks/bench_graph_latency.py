"""Camera-frame stamp -> target_pose publish latency through the node graph, on loopback.

    .venv/bin/python benchmarks/bench_graph_latency.py [--seconds 20] [--size 640x480]

The twin_cell graph (twin, bridge, reset) plus a policy process, over Cyclone DDS on
loopback (tests/graph/cyclonedds_loopback.xml):
- ``twin`` (real time) renders the ``front`` camera every 30 ms and stamps each frame
  with the wall clock before rendering it, as a camera stamps at exposure;
- a policy process (this script, ``--role policy``) takes each frame, converts it and
  resizes it to 128x128, runs a SAC actor (MLP on the 20-d state, or ``--policy pixels``:
  the frozen ResNet encoder on the image) and publishes an Action stamped with the frame's
  stamp;
- ``impedance_bridge`` accepts the action through the safety filter and publishes
  ``target_pose`` in the same callback; it reports ``now - stamp`` at acceptance
  (``command_age_p50_ms`` / ``_p99_ms`` on /diagnostics), which this script prints.
  Actions older than the watchdog timeout (150 ms) are rejected and not counted there;
  compare ``acted`` with ``accepted``.

The same run is repeated with cyclonedds' stock per-element serializer (the baseline the
bytes fast path replaces) and the ratios are printed. ``--rclpy`` adds a run of the same
graph as the robot_rl_ros executables under rclpy (Fast DDS on loopback,
tests/ros/fastdds_loopback.xml; needs the ROS 2 wheels, scripts/setup_ros.sh), the policy
process on rclpy too. Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = (ROOT / "tests" / "graph" / "cyclonedds_loopback.xml").as_uri()
FRAME_PERIOD_S = 0.03


FASTDDS_XML = ROOT / "tests" / "ros" / "fastdds_loopback.xml"


def _dds(domain: int, ns: str, stock: bool, ros: bool = False) -> Any:
    if ros:  # rclpy reads these at init; the graph's processes inherit them
        os.environ.update(ROS_DOMAIN_ID=str(domain), FASTDDS_DEFAULT_PROFILES_FILE=str(FASTDDS_XML))
        from robot_rl.bus.ros2 import Ros2Bus, Ros2Config

        return Ros2Bus(Ros2Config(node_name=f"bench_{os.getpid()}", namespace=ns))
    from robot_rl.bus.dds.bus import DdsBus
    from robot_rl.bus.dds.config import DdsConfig

    return DdsBus(DdsConfig(domain, namespace=ns, cyclone_config=LOOPBACK, fast_path=not stock))


def policy_role(args: argparse.Namespace) -> int:
    """The policy process: frame in, action out, as fast as frames come."""
    import cv2
    import torch

    from robot_rl.bus.msgs import Action, Header, Image
    from robot_rl.nodes.convert import image_from_msg
    from robot_rl.nodes.observation import ObsConfig
    from robot_rl.nodes.policy import PolicyConfig, build_agent
    from robot_rl.nodes.qos import COMMANDS, IMAGES

    torch.set_num_threads(1)
    pixels = args.policy == "pixels"
    obs_cfg = ObsConfig(cameras=("front",) if pixels else ())
    agent = build_agent(PolicyConfig(), obs_cfg)
    bus = _dds(args.domain, args.ns, args.stock, args.ros)
    pub = bus.publisher("action", Action, COMMANDS)
    latest: list[Image] = []
    bus.subscribe("cameras/front/image_raw", Image, lambda m: latest.append(m), IMAGES)
    ages_ms: list[float] = []
    frames = 0
    deadline = time.monotonic() + args.seconds
    seq = 0
    while time.monotonic() < deadline:
        bus.spin_once(0.01)
        if not latest:
            continue
        frames += len(latest)
        msg, latest[:] = latest[-1], []  # the newest frame only, like a real policy loop
        rgb = image_from_msg(msg)
        small = cv2.resize(np.ascontiguousarray(rgb), (128, 128), interpolation=cv2.INTER_AREA)
        obs: dict[str, Any] = {"state": np.zeros(20, np.float32)}
        if pixels:
            obs["images"] = {"front": small}
        action = 0.05 * agent.act(obs, deterministic=True)  # small, stays in the workspace
        seq += 1
        pub.publish(Action(Header(msg.header.stamp, "base"), seq, 0, action, False))
        ages_ms.append((time.time_ns() - msg.header.stamp.to_ns()) * 1e-6)
    bus.close()
    a = np.asarray(ages_ms[10:] or [np.nan])
    print(
        json.dumps(
            {
                "frames": frames,
                "acted": seq,
                "frame_to_action_p50_ms": float(np.percentile(a, 50)),
                "frame_to_action_p99_ms": float(np.percentile(a, 99)),
            }
        ),
        flush=True,
    )
    return 0


def run_variant(args: argparse.Namespace, stock: bool, ros: bool = False) -> dict[str, Any]:
    """One timed run of twin + policy + bridge; returns the figures."""
    from robot_rl.bus.msgs import DiagnosticArray
    from robot_rl.nodes.diagnostics import values_of
    from robot_rl.nodes.graph import GRAPHS
    from robot_rl.nodes.process import GraphProcesses, ProcessOptions

    w, h = (int(v) for v in args.size.split("x"))
    twin = {
        "task": "reach",
        "lockstep": False,
        "cameras": ["front"],
        "image_width": w,
        "image_height": h,
        "policy_period_s": FRAME_PERIOD_S,
    }
    domain = 150 + os.getpid() % 50 + (1 if stock else 0) + (2 if ros else 0)
    ns = "/b" + uuid.uuid4().hex[:8]
    env = {"MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), "OMP_NUM_THREADS": "1"}
    options = ProcessOptions(domain, ns, LOOPBACK, env=env, stock_serializer=stock)
    if ros:
        options = ProcessOptions(domain, ns, env=env, backend="ros2", ros_prefix=sys.prefix)
    run_dir = Path(tempfile.mkdtemp(prefix="bench_graph_"))
    procs = GraphProcesses(GRAPHS["twin_cell"], options, run_dir, {"twin": twin})
    statuses: list[dict[str, str]] = []
    observer = _dds(domain, ns, stock, ros)
    observer.subscribe(
        "/diagnostics",
        DiagnosticArray,
        lambda m: statuses.extend(values_of(s) for s in m.status if s.name == "impedance_bridge"),
    )
    procs.start()
    time.sleep(args.warmup_s)  # imports, discovery, first frames
    cmd = [sys.executable, __file__, "--role", "policy", "--domain", str(domain), "--ns", ns]
    cmd += ["--seconds", str(args.seconds), "--policy", args.policy]
    cmd += (["--stock"] if stock else []) + (["--ros"] if ros else [])
    policy = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=dict(os.environ, **env))
    deadline = time.monotonic() + args.seconds + 60.0
    while policy.poll() is None and time.monotonic() < deadline:
        observer.spin_once(0.1)
    observer.spin(timeout_s=1.5)  # the next periodic status
    out, _ = policy.communicate(timeout=60.0)
    procs.stop()
    observer.close()
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    last = next((s for s in reversed(statuses) if "command_age_p50_ms" in s), {})
    result["target_p50_ms"] = float(last.get("command_age_p50_ms", "nan"))
    result["target_p99_ms"] = float(last.get("command_age_p99_ms", "nan"))
    result["accepted"] = int(last.get("command_age_samples", "0"))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup-s", type=float, default=8.0, help="start-up before measuring")
    parser.add_argument("--size", default="640x480", help="camera frame size WxH")
    parser.add_argument("--policy", choices=("mlp", "pixels"), default="mlp")
    parser.add_argument("--no-baseline", action="store_true", help="skip the stock serializer run")
    parser.add_argument("--role", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--domain", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--ns", default="/", help=argparse.SUPPRESS)
    parser.add_argument("--stock", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ros", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rclpy", action="store_true", help="add a run under rclpy")
    args = parser.parse_args()
    if args.role == "policy":
        return policy_role(args)
    rows = {"fast path": run_variant(args, stock=False)}
    if not args.no_baseline:
        rows["stock serializer"] = run_variant(args, stock=True)
    if args.rclpy:
        rows["rclpy (Fast DDS)"] = run_variant(args, stock=False, ros=True)
    print(
        f"\ncamera {args.size} every {FRAME_PERIOD_S * 1e3:.0f} ms, policy {args.policy}, "
        f"{args.seconds:g} s per run, loopback"
    )
    print(
        f"{'path':18s} {'frames':>7s} {'acted':>6s} {'accepted':>8s} "
        f"{'frame->action p50/p99 ms':>26s} {'frame->target p50/p99 ms':>26s}"
    )
    for name, r in rows.items():
        print(
            f"{name:18s} {r['frames']:7d} {r['acted']:6d} {r['accepted']:8d} "
            f"{r['frame_to_action_p50_ms']:12.1f} / {r['frame_to_action_p99_ms']:<11.1f} "
            f"{r['target_p50_ms']:12.1f} / {r['target_p99_ms']:<11.1f}"
        )
    fast = rows["fast path"]
    for name in ("stock serializer", "rclpy (Fast DDS)"):
        if name in rows:
            p50 = rows[name]["target_p50_ms"] / fast["target_p50_ms"]
            p99 = rows[name]["target_p99_ms"] / fast["target_p99_ms"]
            print(f"{name} / fast path: frame->target p50 x{p50:.2f}, p99 x{p99:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
