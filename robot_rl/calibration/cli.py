"""``robot-rl calibrate intrinsics|hand-eye|workspace``: `register_cli` adds them.

Each runs on a capture folder (``--from-capture``), live against the twin (default), or live
against a cell over the bus (``--bus dds|ros2``). Bad input exits with code 2 and one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from robot_rl.calibration.capture import CalibrationError, Capture
from robot_rl.calibration.cell_file import CalibrationFileError, CellCalibration


def _progress(label: str) -> Any:
    from tqdm import tqdm

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, unit="view"))
        bar[0].n = done
        bar[0].refresh()
        if done == total:
            bar[0].close()

    return update


def _capture(args: argparse.Namespace, prior: CellCalibration) -> Capture:
    from robot_rl.calibration.board import BoardConfig
    from robot_rl.calibration.capture import load_capture
    from robot_rl.calibration.views import ViewPlanConfig

    if args.from_capture:
        return load_capture(args.from_capture)
    folder = args.capture or f"runs/calibration/{args.camera}-{time.strftime('%Y%m%d-%H%M%S')}"
    plan = ViewPlanConfig(n_views=args.views)
    progress = _progress(f"capture {args.camera}")
    if args.bus:
        from robot_rl.bus.factory import BusConfig, make_bus
        from robot_rl.calibration.bus_capture import BusCapture, capture_over_bus

        if args.camera not in prior.cameras:
            raise CalibrationError(f"camera {args.camera!r} not in {prior.source}")
        bus = make_bus(BusConfig(backend=args.bus))
        try:
            rig = BusCapture(bus, args.camera, bus.spin_once)
            return capture_over_bus(
                rig,
                prior.cameras[args.camera],
                BoardConfig(),
                plan,
                folder,
                args.serial,
                args.seed,
                progress,
            )
        finally:
            bus.close()
    from robot_rl.calibration.twin_capture import TwinRig

    twin = TwinRig(args.camera, prior, args.twin_cell)
    try:
        return twin.capture(folder, plan, args.seed, progress, args.noise)
    finally:
        twin.close()


def _report_path(args: argparse.Namespace, capture: Capture, kind: str) -> Path:
    return Path(args.report) if args.report else capture.folder / f"report-{kind}.png"


def _intrinsics(args: argparse.Namespace) -> int:
    from robot_rl.calibration.cell_file import load_calibration
    from robot_rl.calibration.intrinsics import IntrinsicsConfig
    from robot_rl.calibration.procedure import intrinsics_procedure

    prior = load_calibration(args.cell)
    capture = _capture(args, prior)
    cfg = IntrinsicsConfig(zero_distortion=args.zero_distortion)
    report = _report_path(args, capture, "intrinsics")
    r = intrinsics_procedure(capture, prior, args.out, report, cfg, args.initial_guess)
    k = r.intrinsics
    print(
        f"{capture.camera.name}: fx {k.fx:.3f} fy {k.fy:.3f} cx {k.cx:.3f} cy {k.cy:.3f} "
        f"dist {[round(c, 5) for c in k.coeffs]}; RMS {r.rms_px:.3f} px, coverage "
        f"{r.coverage:.0%}, {r.n_used}/{len(r.views)} views"
    )
    for v in r.views:
        if v.reason:
            print(f"  rejected {v.image}: {v.reason}")
    if r.factory_diff:
        print(
            "  minus initial (px): "
            + ", ".join(f"{k_} {v:+.3f}" for k_, v in r.factory_diff.items())
        )
    print(f"wrote {args.out}; report {report}; capture {capture.folder}")
    return 0


def _hand_eye(args: argparse.Namespace) -> int:
    from robot_rl.calibration.cell_file import load_calibration
    from robot_rl.calibration.handeye import HandEyeConfig
    from robot_rl.calibration.procedure import hand_eye_procedure

    prior = load_calibration(args.cell)
    capture = _capture(args, prior)
    report = _report_path(args, capture, "hand-eye")
    result, cam = hand_eye_procedure(
        capture, prior, args.out, report, HandEyeConfig(method=args.method)
    )
    print(
        f"{cam.name} ({result.mount}): pose in {cam.parent!r}: pos_m "
        f"{[round(float(v), 5) for v in cam.pos_m]} quat_wxyz "
        f"{[round(float(v), 6) for v in cam.quat_wxyz]}"
    )
    for m in result.methods:
        print(
            f"  {m.name:11s} residual {m.rms_px:.3f} px, spread {m.spread_mm:.2f} mm "
            f"{m.spread_deg:.3f} deg"
        )
    print(f"picked {result.best.name}: {result.reason}")
    print(f"wrote {args.out}; report {report}; capture {capture.folder}")
    return 0


def _workspace(args: argparse.Namespace) -> int:
    import numpy as np

    from robot_rl.calibration.cell_file import load_calibration
    from robot_rl.calibration.procedure import workspace_procedure
    from robot_rl.calibration.workspace import read_corners, task_regions, teach_workspace

    prior = load_calibration(args.cell)
    if args.corners:
        corners, source = read_corners(args.corners), args.corners
    else:
        corners, source = _teach_over_bus(args), f"bus {args.bus}"
    must: dict[str, Any] = task_regions(args.task) if args.task else {}
    for i, obj in enumerate(args.object or []):
        must[f"object {i} {obj}"] = np.array(obj)
    ws = teach_workspace(corners, args.margin_m, must)
    workspace_procedure(prior, args.out, ws, source)
    print(
        f"workspace low_m {list(ws.low_m)} high_m {list(ws.high_m)} from {ws.n_corners} "
        f"corners (margin {ws.margin_m} m); wrote {args.out}"
    )
    return 0


def _teach_over_bus(args: argparse.Namespace) -> list[Any]:
    """Record current_pose each time the operator presses Enter (teleop/GUI moves the arm)."""
    from robot_rl.bus.factory import BusConfig, make_bus
    from robot_rl.bus.msgs import PoseStamped
    from robot_rl.nodes.convert import pose_from_msg
    from robot_rl.nodes.qos import STATE_SUB

    if not args.bus:
        raise CalibrationError("workspace needs --corners CSV or --bus BACKEND")
    bus = make_bus(BusConfig(backend=args.bus))
    latest: dict[str, Any] = {}
    bus.subscribe(
        "current_pose", PoseStamped, lambda m: latest.update(pose=pose_from_msg(m)), STATE_SUB
    )
    corners: list[Any] = []
    try:
        while True:
            line = input(f"corner {len(corners) + 1}: move the arm, Enter to record, q to finish: ")
            if line.strip().lower() == "q":
                return corners
            bus.spin(timeout_s=0.3)
            if "pose" not in latest:
                print("no current_pose received yet", file=sys.stderr)
                continue
            corners.append(latest["pose"].pos.copy())
            print(f"  recorded {corners[-1].round(4).tolist()}")
    finally:
        bus.close()


def _run(func: Any) -> Any:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except (CalibrationError, CalibrationFileError, ValueError) as exc:
            print(f"calibrate: {exc}", file=sys.stderr)
            return 2

    return wrapped


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", required=True, help="camera name in the cell file (front, wrist)")
    p.add_argument("--cell", help="cell calibration YAML to start from (default: packaged cell)")
    p.add_argument("--out", required=True, help="cell YAML to write (prior + this result)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--from-capture", help="solve offline on this capture folder")
    src.add_argument("--bus", choices=["dds", "ros2"], help="live on a cell over this bus backend")
    p.add_argument("--twin-cell", help="twin only: the TRUE cell file the twin renders")
    p.add_argument("--capture", help="folder for a live capture (default runs/calibration/...)")
    p.add_argument("--views", type=int, default=20, help="views of a live capture")
    p.add_argument("--seed", type=int, default=0, help="seeds the generated poses")
    p.add_argument("--noise", type=float, default=0.0, help="twin only: image noise (grey std)")
    p.add_argument("--serial", default="", help="bus only: serial of the running camera")
    p.add_argument("--report", help="PNG report path (default <capture>/report-<kind>.png)")


def register_cli(subparsers: Any) -> None:
    """Add ``calibrate`` (intrinsics, hand-eye, workspace) to the main parser."""
    from robot_rl.calibration.handeye import HAND_EYE_METHODS, ROBOT_WORLD_METHODS

    cal = subparsers.add_parser("calibrate", help="camera intrinsics, hand-eye, workspace box")
    sub = cal.add_subparsers(dest="calibration", required=True)
    i = sub.add_parser("intrinsics", help="camera intrinsics from ChArUco views")
    _source_args(i)
    i.add_argument(
        "--initial-guess",
        action="store_true",
        help="start from the cell file's (factory) intrinsics; report the change",
    )
    i.add_argument("--zero-distortion", action="store_true", help="fit a pure pinhole")
    i.set_defaults(func=_run(_intrinsics))
    h = sub.add_parser("hand-eye", help="camera pose: eye-in-hand (wrist) or eye-to-hand")
    _source_args(h)
    h.add_argument(
        "--method", default="auto", choices=["auto", *HAND_EYE_METHODS, *ROBOT_WORLD_METHODS]
    )
    h.set_defaults(func=_run(_hand_eye))
    w = sub.add_parser("workspace", help="workspace box from taught TCP corners")
    w.add_argument("--cell", help="cell calibration YAML to start from (default: packaged cell)")
    w.add_argument("--out", required=True, help="cell YAML to write")
    w.add_argument("--corners", help="CSV x_m,y_m,z_m of taught corners (else --bus, live)")
    w.add_argument("--bus", choices=["dds", "ros2"], help="record corners from current_pose")
    w.add_argument("--margin-m", type=float, default=0.02, help="inset of every face (m)")
    w.add_argument("--task", help="twin task whose home region must fit")
    w.add_argument(
        "--object",
        type=float,
        nargs=3,
        action="append",
        metavar=("X", "Y", "Z"),
        help="an object position (m) that must fit (repeatable)",
    )
    w.set_defaults(func=_run(_workspace))
