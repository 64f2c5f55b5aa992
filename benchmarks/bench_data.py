"""Episode exchange throughput: rosbag2 (MCAP) and LeRobot v3 export/import against the
zarr store, in frames/s and bytes per frame, with the mp4 round trip's PSNR.

Source: scripted twin demos with pixels (every camera at 128x128) recorded into a zarr
store first. A frame is one observation (all cameras, the state and its step). Baseline,
measured in the same run: copying the episodes into a fresh zarr store (read + write, the
same work an export or import does with zarr on both ends); reading the copy back is shown
for reference. Every ratio is against the zarr copy.
Bytes per frame are those of the format written (export) or read (import).

    .venv/bin/python benchmarks/bench_data.py [--episodes 10] [--task pick_cube]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robot_rl.data.bag_import import import_bag
from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.lerobot import export_lerobot, import_lerobot
from robot_rl.data.rosbag import export_bag
from robot_rl.data.video import psnr
from robot_rl.envs.twin_env import TwinEnv
from robot_rl.train.demos import record_scripted


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _copy(src: EpisodeStore, root: Path) -> None:
    dst = EpisodeStore(root, src.spec)
    for ep in src:
        obs = [
            {"state": ep.state[t], "images": {c: ep.images[c][t] for c in ep.images}}
            for t in range(ep.num_steps + 1)
        ]
        dst.begin_episode(obs[0], int(ep.timestamp_ns[0]))
        for t in range(ep.num_steps):
            dst.add_step(
                ep.action[t],
                float(ep.reward[t]),
                obs[t + 1],
                int(ep.timestamp_ns[t + 1]),
                bool(ep.terminated[t]),
                bool(ep.truncated[t]),
                bool(ep.intervened[t]),
                bool(ep.success[t]),
            )
        dst.end_episode(dict(ep.metadata))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--task", default="pick_cube")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_data_"))
    try:
        env = TwinEnv(task=args.task, obs="pixels")
        src = record_scripted(env, tmp / "src", args.episodes, seed=0, progress=False)
        frames = sum(src.metadata(i)["num_steps"] + 1 for i in range(len(src)))
        print(
            f"{len(src)} episodes, {frames} frames, cameras {list(src.spec.cameras)} "
            f"{src.spec.image_shape}"
        )
        rows: list[tuple[str, float, int, str]] = []
        write_s = _timed(lambda: _copy(src, tmp / "zarr"))
        rows.append(("zarr -> zarr copy (baseline)", write_s, _size(tmp / "zarr"), ""))
        read_s = _timed(lambda: [ep for ep in EpisodeStore(tmp / "zarr")])
        rows.append(("zarr read only", read_s, _size(tmp / "zarr"), f"{write_s / read_s:.2f}x"))
        t = _timed(lambda: export_bag(src, tmp / "bag"))
        rows.append(("rosbag2 export", t, _size(tmp / "bag"), f"{write_s / t:.2f}x"))
        t = _timed(lambda: import_bag(tmp / "bag", tmp / "from_bag"))
        rows.append(("rosbag2 import", t, _size(tmp / "bag"), f"{write_s / t:.2f}x"))
        t = _timed(lambda: export_lerobot(src, tmp / "lerobot"))
        rows.append(("LeRobot export", t, _size(tmp / "lerobot"), f"{write_s / t:.2f}x"))
        t = _timed(lambda: import_lerobot(tmp / "lerobot", tmp / "from_lr"))
        rows.append(("LeRobot import", t, _size(tmp / "lerobot"), f"{write_s / t:.2f}x"))

        lr_store = _size(tmp / "from_lr") / frames
        print(f"zarr store imported from LeRobot: {lr_store:,.0f} bytes/frame (codec noise)")
        print("\n| path | frames/s | bytes/frame of the format | speed vs zarr copy |")
        print("|---|---|---|---|")
        for name, secs, size, ratio in rows:
            print(f"| {name} | {frames / secs:,.0f} | {size / frames:,.0f} | {ratio} |")
        back_bag, back_lr = EpisodeStore(tmp / "from_bag"), EpisodeStore(tmp / "from_lr")
        for cam in src.spec.cameras:
            a = np.concatenate([ep.images[cam] for ep in src])
            b = np.concatenate([ep.images[cam] for ep in back_bag])
            c = np.concatenate([ep.images[cam] for ep in back_lr])
            print(
                f"\n{cam}: bag round trip exact: {bool(np.array_equal(a, b))}; "
                f"mp4 round trip PSNR {psnr(a, c):.1f} dB (H.264 crf 18, yuv420p)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
