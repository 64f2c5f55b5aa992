"""``robot-rl teleop`` (wired in by `register_cli`) and ``robot-rl record-demos --teleop``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from robot_rl.hil.command import command_twist
from robot_rl.hil.devices import DEVICES, TeleopDevice, make_device
from robot_rl.hil.errors import DeviceUnavailableError


def register_cli(subparsers: Any) -> None:
    """Add the ``teleop`` subcommand to ``subparsers`` (the object returned by
    ``ArgumentParser.add_subparsers``)."""
    tp = subparsers.add_parser(
        "teleop", help="publish a teleop device's commands on the bus (or just print them)"
    )
    tp.add_argument("--device", choices=sorted(DEVICES), required=True)
    tp.add_argument("--bus", choices=["inproc", "dds", "ros2"], default="dds")
    tp.add_argument("--topic", default="teleop/command", help="command topic")
    tp.add_argument("--rate-hz", type=float, default=50.0, help="read/publish rate")
    tp.add_argument("--echo", action="store_true", help="print every command (axis check)")
    tp.add_argument("--duration-s", type=float, default=None, help="stop after (wall s)")
    tp.set_defaults(func=_teleop)


def add_teleop_record_args(rd: argparse.ArgumentParser) -> None:
    """The teleop options of ``robot-rl record-demos`` (the command itself is in robot_rl.cli,
    which also offers ``--scripted``)."""
    rd.add_argument("--teleop", choices=[*sorted(DEVICES), "expert"], help="teleop device")
    rd.add_argument("--keys", default=None, help="scripted key stream (keyboard, headless)")
    rd.add_argument("--frame", choices=["operator", "tcp"], default="operator")
    rd.add_argument(
        "--operator-yaw-deg", type=float, default=0.0, help="operator heading; 180 = across"
    )
    rd.add_argument("--keep-failures", action="store_true")


def _open(device: TeleopDevice) -> bool:
    try:
        device.open()
    except DeviceUnavailableError as e:
        print(str(e), file=sys.stderr)
        return False
    return True


def _teleop(args: argparse.Namespace) -> int:
    device = make_device(args.device)
    if not _open(device):
        return 2
    on_command = None
    if args.echo:

        def on_command(cmd: Any) -> None:
            t = command_twist(cmd)
            print(f"twist {t.round(2)} gripper {cmd.gripper:+.0f} buttons {cmd.buttons:#04x}")

    return run_teleop_node(device, args, on_command)


def run_teleop_node(device: TeleopDevice, args: argparse.Namespace, on_command: Any = None) -> int:
    """Publish an opened device's commands on ``args.bus`` / ``args.topic`` at
    ``args.rate_hz`` until ``args.duration_s``, Ctrl-C or the device is lost (exit 1)."""
    from robot_rl.bus.factory import BusConfig, make_bus
    from robot_rl.hil.teleop_node import TeleopNode, TeleopNodeConfig

    bus = make_bus(BusConfig(backend=args.bus))
    attach_bus = getattr(device, "attach_bus", None)
    if attach_bus is not None:
        attach_bus(bus)  # the browser page shows the bus's camera images
    node = TeleopNode(bus, device, TeleopNodeConfig(topic=args.topic, rate_hz=args.rate_hz))
    if on_command is not None:
        node.on_command = on_command
    try:
        bus.spin(timeout_s=args.duration_s, until=lambda: bool(node.lost))
    except KeyboardInterrupt:
        pass
    finally:
        node.close()
        bus.close()
    if node.lost:
        print(node.lost, file=sys.stderr)
        return 1
    return 0


def record_teleop_demos(args: argparse.Namespace) -> int:
    """``record-demos --teleop ...``: teleoperated twin episodes into a zarr store."""
    from robot_rl.data.episodes import EpisodeStore
    from robot_rl.data.recorder import episode_spec
    from robot_rl.envs.twin_env import TwinEnv
    from robot_rl.hil.arbiter import Arbiter, ArbiterConfig
    from robot_rl.hil.commanders import Commander, DeviceCommander
    from robot_rl.hil.devices.keyboard import Keyboard, ScriptedKeys, parse_key_script
    from robot_rl.hil.frames import FrameConfig
    from robot_rl.hil.mapping import MappingConfig
    from robot_rl.hil.record import RecordConfig, record_demos
    from robot_rl.hil.sim_operator import SimOperatorConfig, SimulatedOperator

    env = TwinEnv(task=args.task, obs=args.obs)
    frame = FrameConfig(kind=args.frame, operator_yaw_rad=math.radians(args.operator_yaw_deg))
    mapping = Arbiter.for_env(ArbiterConfig(mapping=MappingConfig(frame)), env).mapping
    realtime = args.teleop != "expert" and args.keys is None
    commander: Commander
    device: TeleopDevice | None = None
    if args.teleop == "expert":
        op = SimOperatorConfig(reaction_delay_s=0.0, always_in_control=True)
        commander = SimulatedOperator(env, op, mapping)
    else:
        if args.keys is not None:
            if args.teleop != "keyboard":
                print("--keys works with --teleop keyboard only", file=sys.stderr)
                return 2
            script = parse_key_script(Path(args.keys).read_text())
            device = Keyboard(source=ScriptedKeys(script, then="lost"))
        else:
            device = make_device(args.teleop)
        if not _open(device):
            return 2
        commander = DeviceCommander(device)
    viewer = None
    show = getattr(getattr(device, "source", None), "show", None)
    if show is not None and args.obs == "pixels":
        cam = env.cfg.cell.cameras[0]

        def viewer(obs: dict[str, Any]) -> None:
            show(obs["images"][cam])

    store = EpisodeStore(Path(args.out), episode_spec(env))
    cfg = RecordConfig(
        episodes=args.episodes, seed=args.seed, keep_failures=args.keep_failures, realtime=realtime
    )
    try:
        attempts = record_demos(env, commander, mapping, store, cfg, args.teleop, viewer)
    finally:
        if device is not None:
            device.close()
        env.close()
    kept = sum(a.index is not None for a in attempts)
    for a in attempts:
        print(f"seed {a.seed}: {a.reason} after {a.steps} steps, stored as {a.index}")
    print(f"kept {kept} of {len(attempts)} attempts in {args.out}")
    return 0 if kept else 1
