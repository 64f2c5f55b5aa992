"""``robot-rl data``: ls, show, verify, export and import of zarr episode stores.

Bad input (a missing store, a damaged episode on export, a dataset whose actions cannot
be mapped) prints one line and exits 2; ``verify`` exits 1 when it finds damage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm


def register_cli(sub: Any) -> None:
    """Add ``data`` and its subcommands to the top-level parser's subparsers."""
    data = sub.add_parser("data", help="episode stores: ls, show, verify, export, import")
    cmds = data.add_subparsers(dest="data_command", required=True)

    ls = cmds.add_parser("ls", help="list a store's episodes")
    ls.add_argument("store")
    ls.set_defaults(func=_run(_ls))

    show = cmds.add_parser("show", help="a PNG strip or an mp4 of one episode")
    show.add_argument("store")
    show.add_argument("episode", type=int)
    show.add_argument("--out", help="a .png (strip) or .mp4 (default runs/show/<ep>.png)")
    show.add_argument("--frames", type=int, default=8, help="frames in a PNG strip")
    show.add_argument("--fps", type=int, default=10, help="mp4 frame rate")
    show.set_defaults(func=_run(_show))

    verify = cmds.add_parser("verify", help="check every episode against its manifest")
    verify.add_argument("store")
    verify.set_defaults(func=_run(_verify))

    ex = cmds.add_parser("export", help="write episodes as a rosbag2 (MCAP) or LeRobot v3")
    ex.add_argument("store")
    ex.add_argument("out", help="a new folder")
    ex.add_argument("--format", choices=["rosbag2", "lerobot"], required=True)
    ex.add_argument("--episodes", type=int, nargs="*", help="episode indices (default all)")
    ex.add_argument("--task", help="lerobot: task text (default: each episode's metadata)")
    ex.add_argument("--fps", type=int, help="lerobot: frame rate (default: from the stamps)")
    ex.add_argument("--crf", type=int, default=18, help="lerobot: H.264 quality (0 best)")
    ex.set_defaults(func=_run(_export))

    im = cmds.add_parser("import", help="append a rosbag2 or LeRobot v3 dataset to a store")
    im.add_argument("source", help="a rosbag2 folder or a LeRobotDataset v3 folder")
    im.add_argument("store")
    im.add_argument("--format", choices=["auto", "rosbag2", "lerobot"], default="auto")
    im.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), help="resize frames")
    im.add_argument("--max-age-s", type=float, default=0.1, help="rosbag2: input freshness")
    im.add_argument("--policy-period-s", type=float, default=0.1, help="rosbag2: step period")
    im.add_argument("--cameras", nargs="*", help="rosbag2: camera names (default: all found)")
    im.add_argument("--camera-namespace", default="/cameras", help="rosbag2 ('/camera' for RS)")
    im.add_argument("--image-suffix", default="image_raw", help="rosbag2 ('color/image_raw')")
    im.add_argument("--action-adapter", default="auto", help="lerobot: identity, xyz_gripper")
    im.set_defaults(func=_run(_import))


def _run(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Bad input as one line on stderr and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (FileNotFoundError, FileExistsError, ValueError, IndexError, KeyError) as exc:
            print(f"robot-rl data {args.data_command}: {exc}", file=sys.stderr)
            return 2

    return run


def _open(path: str) -> Any:
    from robot_rl.data.episodes import EpisodeStore

    return EpisodeStore(Path(path))


def _ls(args: argparse.Namespace) -> int:
    store = _open(args.store)
    spec = store.spec
    print(
        f"{args.store}: {len(store)} episodes, state {spec.state_dim}, action "
        f"{spec.action_dim}, cameras {list(spec.cameras)} {spec.image_shape}"
    )
    print(f"{'ep':>5} {'steps':>6} {'seed':>6} {'success':>8} {'source':<12} task")
    for i in range(len(store)):
        m = store.metadata(i)
        print(
            f"{i:>5} {m['num_steps']:>6} {m.get('seed', '-')!s:>6} "
            f"{m.get('success', '-')!s:>8} {m.get('source', '-')!s:<12} {m.get('task', '')}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from robot_rl.data.show import write_mp4, write_strip

    ep = _open(args.store).episode(args.episode)
    out = Path(args.out or f"runs/show/{args.episode:06d}.png")
    if out.suffix == ".mp4":
        with tqdm(total=ep.num_steps + 1, unit="frame", desc="show") as bar:
            write_mp4(ep, out, fps=args.fps, progress=bar.update)
    elif out.suffix == ".png":
        write_strip(ep, out, frames=args.frames)
    else:
        raise ValueError(f"--out must end in .png or .mp4, not {out.suffix!r}")
    print(out)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from robot_rl.data.integrity import EpisodeDamagedError

    store = _open(args.store)
    bad, unchecked = [], 0
    for i in tqdm(range(len(store)), unit="ep", desc="verify"):
        unchecked += not store.has_manifest(i)
        try:
            store.verify(i)
        except EpisodeDamagedError as exc:
            bad.append(str(exc))
    for line in bad:
        print(f"DAMAGED {line}")
    note = f", {unchecked} without manifest (format 1, unchecked)" if unchecked else ""
    print(f"{len(store) - len(bad)} of {len(store)} episodes intact{note}")
    return 1 if bad else 0


def _export(args: argparse.Namespace) -> int:
    store = _open(args.store)
    frames = sum(store.metadata(i)["num_steps"] + 1 for i in args.episodes or range(len(store)))
    with tqdm(total=frames, unit="frame", desc=f"export {args.format}") as bar:
        if args.format == "rosbag2":
            from robot_rl.data.rosbag import export_bag

            if Path(args.out).exists():
                raise FileExistsError(f"{args.out} exists; the export writes a new folder")
            rep = export_bag(store, args.out, args.episodes, progress=bar.update)
            msg = f"{rep.episodes} episodes, {rep.frames} frames, {rep.messages} messages"
            if rep.shifted:
                msg += f"; {rep.shifted} episodes shifted later (their stamps overlapped)"
        else:
            from robot_rl.data.lerobot import export_lerobot

            rl = export_lerobot(
                store,
                args.out,
                args.episodes,
                args.fps,
                args.task,
                crf=args.crf,
                progress=bar.update,
            )
            msg = f"{rl.episodes} episodes, {rl.frames} frames, {rl.bytes} bytes"
    print(f"{args.out}: {msg}")
    return 0


def _import(args: argparse.Namespace) -> int:
    source = Path(args.source)
    fmt = args.format
    if fmt == "auto":
        fmt = "lerobot" if (source / "meta" / "info.json").is_file() else "rosbag2"
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist")
    size = tuple(args.image_size) if args.image_size else None
    with tqdm(unit="msg" if fmt == "rosbag2" else "frame", desc=f"import {fmt}") as bar:
        if fmt == "lerobot":
            from robot_rl.data.lerobot import import_lerobot

            r = import_lerobot(source, args.store, args.action_adapter, size, bar.update)
            summary = f"imported {r.episodes} episodes ({r.frames} frames), adapter {r.adapter}"
        else:
            from robot_rl.data.bag_import import ImportConfig, import_bag
            from robot_rl.data.rosbag import BagTopics

            topics = BagTopics(
                camera_namespace=args.camera_namespace, image_suffix=args.image_suffix
            )
            h, w = size or (128, 128)
            cfg = ImportConfig(
                topics,
                tuple(args.cameras) if args.cameras else None,
                h,
                w,
                args.max_age_s,
                args.policy_period_s,
            )
            done = [0]

            def tick(n: int) -> None:
                bar.update(n - done[0])
                done[0] = n

            summary = import_bag(source, args.store, cfg, tick).summary()
    print(summary)
    return 0
