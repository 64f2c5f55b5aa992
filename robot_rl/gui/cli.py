"""``robot-rl gui``: serve the intervention page and publish what it commands.

A thin wrapper: the page is the ``browser`` teleop device (`BrowserDevice`), published
by the same `TeleopNode` as ``robot-rl teleop --device browser``; the camera views,
episode events and reward estimates come from the same bus.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from robot_rl.gui.config import GuiConfig


def register_cli(subparsers: Any) -> None:
    """Add the ``gui`` subcommand to ``subparsers`` (from ``add_subparsers``)."""
    d = GuiConfig()
    g = subparsers.add_parser(
        "gui", help="the operator's cockpit in a browser (the 'browser' teleop device)"
    )
    g.add_argument("--host", default=d.host, help="bind address (not loopback: needs a token)")
    g.add_argument("--port", type=int, default=d.port, help="TCP port (0: any free one)")
    g.add_argument("--token", default="", help="access token (generated off loopback)")
    g.add_argument(
        "--timeout-s",
        type=float,
        default=d.timeout_s,
        help="page silence that ends an intervention",
    )
    g.add_argument("--cameras", nargs="*", default=list(d.cameras), help="camera names shown")
    g.add_argument("--camera-namespace", default=d.camera_namespace)
    g.add_argument("--run-dir", default="", help="run folder whose metrics.csv gives the curves")
    g.add_argument("--run-name", default="", help="name of the run shown in the page")
    g.add_argument("--bus", choices=["inproc", "dds", "ros2"], default="dds")
    g.add_argument("--topic", default="teleop/command", help="command topic")
    g.add_argument("--rate-hz", type=float, default=50.0, help="command publish rate")
    g.add_argument("--duration-s", type=float, default=None, help="stop after (wall s)")
    g.set_defaults(func=_gui)


def _gui(args: argparse.Namespace) -> int:
    from robot_rl.gui.device import BrowserDevice
    from robot_rl.hil.cli import run_teleop_node
    from robot_rl.hil.errors import DeviceUnavailableError

    try:
        cfg = GuiConfig(
            host=args.host,
            port=args.port,
            token=args.token,
            timeout_s=args.timeout_s,
            cameras=tuple(args.cameras),
            camera_namespace=args.camera_namespace,
            run_dir=args.run_dir,
            run_name=args.run_name,
        )
    except ValueError as e:
        print(f"robot-rl gui: {e}", file=sys.stderr)
        return 2
    device = BrowserDevice(cfg)
    try:
        device.open()
    except DeviceUnavailableError as e:
        print(str(e), file=sys.stderr)
        return 2
    return run_teleop_node(device, args)
