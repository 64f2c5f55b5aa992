"""LeRobotDataset v3.0 export and import (pyarrow + PyAV; lerobot itself is not needed).

Layout written (the published v3.0 layout; one data file and one video file per camera,
so the size limits in info.json are not used to split files):

    meta/info.json                          codebase_version "v3.0", fps, features, paths
    meta/stats.json                         min/max/mean/std/count per numeric feature
    meta/tasks.parquet                      task_index, task
    meta/episodes/chunk-000/file-000.parquet  per episode: length, tasks, row range,
                                            data and video file indices, video time range
    data/chunk-000/file-000.parquet         one row per frame
    videos/observation.images.<cam>/chunk-000/file-000.mp4   H.264 yuv420p, all episodes

Features: ``observation.state`` (S,), ``observation.images.<cam>`` (video, H x W x 3),
``action`` (A,), ``next.reward``, ``next.done``, ``next.terminated``, ``next.truncated``,
``next.success``, ``intervention``, ``observation.timestamp_ns`` (the store's stamps),
plus LeRobot's ``timestamp``, ``frame_index``, ``episode_index``, ``index``,
``task_index``. An episode of T steps has T + 1 frames: frame t holds observation t and,
for t < T, action t and its outcome (``next.*``); the last frame holds the final
observation with a zero action and ``next.done`` true. Importing drops each episode's
last action (LeRobot keeps no observation after it), which is exact for our exports.

Actions of imported datasets go through an adapter (`ACTION_ADAPTERS`) onto robot_rl's
7-d action (dpos 3, drot 3, gripper 1, each in [-1, 1]); a dataset no adapter maps is
refused with `ActionSpaceError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robot_rl.data.episodes import Episode, EpisodeSpec, EpisodeStore
from robot_rl.data.video import VideoWriter, read_frames

CODEBASE_VERSION = "v3.0"
DATA_FILE = "data/chunk-000/file-000.parquet"
EPISODES_FILE = "meta/episodes/chunk-000/file-000.parquet"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
_FLAGS = {  # feature -> Episode attribute
    "next.terminated": "terminated",
    "next.truncated": "truncated",
    "next.success": "success",
    "intervention": "intervened",
}
STATE_NAMES = [
    *("tcp_x", "tcp_y", "tcp_z", "tcp_qw", "tcp_qx", "tcp_qy", "tcp_qz"),
    *("tcp_vx", "tcp_vy", "tcp_vz", "tcp_wx", "tcp_wy", "tcp_wz", "gripper_opening"),
    *("force_x", "force_y", "force_z", "torque_x", "torque_y", "torque_z"),
]
ACTION_NAMES = ["dx", "dy", "dz", "drx", "dry", "drz", "gripper"]


class ActionSpaceError(ValueError):
    """A dataset's actions cannot be mapped onto robot_rl's 7-d action."""


def _image_key(camera: str) -> str:
    return f"observation.images.{camera}"


# ------------------------------------------------------------------------ export
@dataclass(frozen=True)
class LeRobotExport:
    """What an export wrote."""

    episodes: int
    frames: int
    bytes: int  # all files of the dataset


def store_fps(store: EpisodeStore) -> int:
    """Frames per second from the median stamp difference of the first episode."""
    stamps = store.episode(0).timestamp_ns if len(store) else np.zeros(0)
    if len(stamps) < 2:
        return 10
    return max(1, round(1e9 / float(np.median(np.diff(stamps)))))


def _column(values: np.ndarray) -> pa.Array:
    """A (N,) or (N, k) array as a scalar or fixed-size-list arrow column."""
    if values.ndim == 1:
        return pa.array(values)
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def _episode_rows(ep: Episode, fps: int, task_index: int, offset: int) -> dict[str, np.ndarray]:
    n = ep.num_steps + 1
    pad = np.zeros(1, bool)
    rows: dict[str, np.ndarray] = {
        "observation.state": ep.state,
        "action": np.concatenate([ep.action, np.zeros((1, ep.action.shape[1]), np.float32)]),
        "next.reward": np.append(ep.reward, np.float32(0)).astype(np.float32),
        "next.done": np.arange(n) >= n - 2,
        "observation.timestamp_ns": ep.timestamp_ns,
        "timestamp": (np.arange(n) / fps).astype(np.float32),
        "frame_index": np.arange(n, dtype=np.int64),
        "episode_index": np.full(n, ep.index, np.int64),
        "index": offset + np.arange(n, dtype=np.int64),
        "task_index": np.full(n, task_index, np.int64),
    }
    for feature, attr in _FLAGS.items():
        rows[feature] = np.concatenate([getattr(ep, attr), pad])
    return rows


def _features(spec: EpisodeSpec, videos: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def f(dtype: str, shape: tuple[int, ...], names: Any = None) -> dict[str, Any]:
        return {"dtype": dtype, "shape": list(shape), "names": names}

    state_names = list(STATE_NAMES) if spec.state_dim == len(STATE_NAMES) else None
    action_names = list(ACTION_NAMES) if spec.action_dim == len(ACTION_NAMES) else None
    feats = {"observation.state": f("float32", (spec.state_dim,), state_names)}
    for cam in spec.cameras:
        feats[_image_key(cam)] = {
            **f("video", spec.image_shape, ["height", "width", "channels"]),
            "info": videos[cam],
        }
    feats["action"] = f("float32", (spec.action_dim,), action_names)
    feats["next.reward"] = f("float32", (1,))
    for name in ("next.done", *_FLAGS):
        feats[name] = f("bool", (1,))
    feats["observation.timestamp_ns"] = f("int64", (1,))
    for name, dtype in (
        ("timestamp", "float32"),
        ("frame_index", "int64"),
        ("episode_index", "int64"),
        ("index", "int64"),
        ("task_index", "int64"),
    ):
        feats[name] = f(dtype, (1,))
    return feats


def _stats(columns: dict[str, list[np.ndarray]], images: dict[str, list[np.ndarray]]) -> dict:
    out: dict[str, dict[str, list[Any]]] = {}
    for name, parts in columns.items():
        x = np.concatenate(parts).astype(np.float64)
        x = x.reshape(len(x), -1)
        out[name] = {
            "min": x.min(0).tolist(),
            "max": x.max(0).tolist(),
            "mean": x.mean(0).tolist(),
            "std": x.std(0).tolist(),
            "count": [len(x)],
        }
    for cam, frames in images.items():  # per channel, in [0, 1], shape (3, 1, 1)
        x = np.concatenate(frames).reshape(-1, 3).astype(np.float64) / 255.0
        out[_image_key(cam)] = {
            k: [[[float(v)]] for v in fn(x)]
            for k, fn in (
                ("min", lambda a: a.min(0)),
                ("max", lambda a: a.max(0)),
                ("mean", lambda a: a.mean(0)),
                ("std", lambda a: a.std(0)),
            )
        } | {"count": [len(x)]}
    return out


def export_lerobot(
    store: EpisodeStore,
    out: str | Path,
    episodes: Iterable[int] | None = None,
    fps: int | None = None,
    task: str | None = None,
    robot_type: str = "robot_rl",
    crf: int = 18,
    progress: Callable[[int], None] | None = None,
) -> LeRobotExport:
    """Write episodes of ``store`` (default all) as a LeRobotDataset v3.0 at ``out`` (a
    folder that must not exist). ``task`` defaults to each episode's metadata ``task``.
    Raises `EpisodeDamagedError` on a damaged episode. Blocks on encoding and disk I/O."""
    root = Path(out)
    if root.exists():
        raise FileExistsError(f"{root} exists; LeRobot export writes a new folder")
    spec, fps = store.spec, fps or store_fps(store)
    writers = {
        cam: VideoWriter(
            root / VIDEO_PATH.format(video_key=_image_key(cam), chunk_index=0, file_index=0),
            fps,
            spec.image_shape[1],
            spec.image_shape[0],
            crf=crf,
        )
        for cam in spec.cameras
    }
    tasks: dict[str, int] = {}
    rows: dict[str, list[np.ndarray]] = {}
    frames_seen: dict[str, list[np.ndarray]] = {c: [] for c in spec.cameras}
    ep_rows: list[dict[str, Any]] = []
    total = 0
    for i in range(len(store)) if episodes is None else episodes:
        ep = store.episode(i)
        name = task or str(ep.metadata.get("task", "robot_rl"))
        task_index = tasks.setdefault(name, len(tasks))
        n = ep.num_steps + 1
        for key, values in _episode_rows(ep, fps, task_index, total).items():
            rows.setdefault(key, []).append(values)
        entry: dict[str, Any] = {
            "episode_index": ep.index,
            "tasks": [name],
            "length": n,
            "data/chunk_index": 0,
            "data/file_index": 0,
            "dataset_from_index": total,
            "dataset_to_index": total + n,
            "meta/episodes/chunk_index": 0,
            "meta/episodes/file_index": 0,
            "robot_rl/metadata": json.dumps(dict(ep.metadata)),
        }
        for cam, writer in writers.items():
            entry[f"videos/{_image_key(cam)}/chunk_index"] = 0
            entry[f"videos/{_image_key(cam)}/file_index"] = 0
            entry[f"videos/{_image_key(cam)}/from_timestamp"] = writer.frames / fps
            for frame in ep.images[cam]:
                writer.add(frame)
            entry[f"videos/{_image_key(cam)}/to_timestamp"] = writer.frames / fps
            frames_seen[cam].append(ep.images[cam][:: max(1, n // 8)])  # a sample for stats
        ep_rows.append(entry)
        total += n
        if progress is not None:
            progress(n)
    if not ep_rows:
        raise ValueError("no episodes to export")
    videos = {cam: w.close() for cam, w in writers.items()}
    table = pa.table({k: _column(np.concatenate(v)) for k, v in rows.items()})
    (root / DATA_FILE).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / DATA_FILE)
    (root / EPISODES_FILE).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(ep_rows), root / EPISODES_FILE)
    pq.write_table(
        pa.table({"task_index": list(tasks.values()), "task": list(tasks)}),
        root / "meta/tasks.parquet",
    )
    numeric = {k: v for k, v in rows.items() if k not in ("timestamp", "index")}
    (root / "meta/stats.json").write_text(json.dumps(_stats(numeric, frames_seen), indent=1))
    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": len(ep_rows),
        "total_frames": total,
        "total_tasks": len(tasks),
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 500,
        "fps": fps,
        "splits": {"train": f"0:{len(ep_rows)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if spec.cameras else None,
        "features": _features(spec, videos),
    }
    (root / "meta/info.json").write_text(json.dumps(info, indent=2))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return LeRobotExport(len(ep_rows), total, size)


# ------------------------------------------------------------------------ import
def _identity(a: np.ndarray) -> np.ndarray:
    return a


def _xyz_gripper(a: np.ndarray) -> np.ndarray:
    out = np.zeros((len(a), 7), np.float32)
    out[:, 0:3], out[:, 6] = a[:, 0:3], a[:, 3]
    return out


# name -> (action width it takes, function onto (N, 7)); docs/data.md describes each.
ACTION_ADAPTERS: dict[str, tuple[int, Callable[[np.ndarray], np.ndarray]]] = {
    "identity": (7, _identity),  # already robot_rl's dpos(3), drot(3), gripper(1)
    "xyz_gripper": (4, _xyz_gripper),  # dx, dy, dz, gripper (gym-hil style); no rotation
}


def pick_adapter(
    name: str, feature: dict[str, Any] | None
) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """The adapter called ``name`` ("auto": the one for the action width) for an action
    feature, with its name; raises `ActionSpaceError` when none fits."""
    if feature is None:
        raise ActionSpaceError("the dataset has no 'action' feature")
    width = int(np.prod(feature["shape"]))
    if name == "auto":
        fits = [k for k, (w, _) in ACTION_ADAPTERS.items() if w == width]
        if not fits:
            known = ", ".join(f"{k} takes {w}-d" for k, (w, _) in ACTION_ADAPTERS.items())
            raise ActionSpaceError(
                f"dataset actions are {width}-d (names {feature.get('names')}); no adapter "
                f"maps them onto robot_rl's 7-d delta pose + gripper ({known})"
            )
        name = fits[0]
    if name not in ACTION_ADAPTERS:
        raise ActionSpaceError(f"unknown action adapter {name!r}; known: {sorted(ACTION_ADAPTERS)}")
    want, fn = ACTION_ADAPTERS[name]
    if want != width:
        raise ActionSpaceError(
            f"adapter {name!r} takes {want}-d actions, the dataset has {width}-d"
        )
    return name, fn


def _vectors(table: pa.Table, name: str, dtype: Any) -> np.ndarray:
    col = table.column(name).combine_chunks()
    if pa.types.is_fixed_size_list(col.type) or pa.types.is_list(col.type):
        flat = np.asarray(col.flatten(), dtype=dtype)
        return flat.reshape(len(col), -1)
    return np.asarray(col, dtype=dtype)


@dataclass(frozen=True)
class LeRobotImport:
    """What an import did."""

    episodes: int
    frames: int
    adapter: str
    cameras: tuple[str, ...]


def read_info(root: Path) -> dict[str, Any]:
    """meta/info.json of a v3 dataset; ValueError for anything else."""
    path = root / "meta/info.json"
    if not path.is_file():
        raise ValueError(f"{root} is not a LeRobotDataset (no meta/info.json)")
    info: dict[str, Any] = json.loads(path.read_text())
    version = str(info.get("codebase_version", ""))
    if not version.startswith("v3"):
        raise ValueError(f"{root} is a LeRobotDataset {version}; only v3.x is read")
    if "observation.state" not in info["features"]:
        raise ValueError(f"{root} has no 'observation.state' feature")
    return info


def import_lerobot(
    root: str | Path,
    out: str | Path,
    adapter: str = "auto",
    image_size: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> LeRobotImport:
    """Append every episode of the LeRobotDataset v3 at ``root`` to the zarr store ``out``
    as demos (created if needed). ``image_size`` (H, W) resizes frames (INTER_AREA).
    Raises `ActionSpaceError` when the actions cannot be mapped (checked before anything
    is written), ValueError for a dataset that is not v3."""
    root = Path(root)
    info = read_info(root)
    feats: dict[str, Any] = info["features"]
    chosen, to_action = pick_adapter(adapter, feats.get("action"))
    visual = {
        k.removeprefix("observation.images.").removeprefix("observation."): k
        for k, f in feats.items()
        if f["dtype"] in ("video", "image")
    }
    cams = tuple(sorted(visual))
    first_shape = feats[visual[cams[0]]]["shape"] if cams else (128, 128)
    h, w = image_size or (int(first_shape[0]), int(first_shape[1]))
    state_dim = int(np.prod(feats["observation.state"]["shape"]))
    episodes = pq.read_table(sorted((root / "meta/episodes").rglob("*.parquet"))).to_pylist()
    episodes.sort(key=lambda e: e["episode_index"])
    tables: dict[tuple[int, int], pa.Table] = {}
    loaded = []
    for ep in episodes:  # read and map everything first: a refusal writes nothing
        key = (int(ep["data/chunk_index"]), int(ep["data/file_index"]))
        if key not in tables:
            path = root / info["data_path"].format(chunk_index=key[0], file_index=key[1])
            tables = {key: pq.read_table(path)}
        rows = _rows_of(tables[key], int(ep["episode_index"]))
        if rows.num_rows >= 2:
            loaded.append((ep, rows, to_action(_vectors(rows, "action", np.float32)[:-1])))
            _check_range(int(ep["episode_index"]), loaded[-1][2])
    store = EpisodeStore(out, EpisodeSpec(state_dim, 7, cams, (h, w, 3)))
    frames = 0
    for ep, rows, action in loaded:
        images = {c: _episode_frames(root, info, ep, visual[c], rows, (h, w)) for c in cams}
        _append(store, ep, rows, action, images)
        frames += rows.num_rows
        if progress is not None:
            progress(rows.num_rows)
    return LeRobotImport(len(loaded), frames, chosen, cams)


def _check_range(episode: int, action: np.ndarray) -> None:
    peak = float(np.abs(action).max(initial=0.0))
    if peak > 1.0 + 1e-6:
        raise ActionSpaceError(
            f"episode {episode}: actions leave [-1, 1] (max |a| = {peak:.3g}); they look "
            "like absolute targets, not normalised deltas"
        )


def _append(
    store: EpisodeStore,
    ep: dict[str, Any],
    rows: pa.Table,
    action: np.ndarray,
    images: dict[str, np.ndarray],
) -> None:
    """One dataset episode (n frames) as a store episode of n - 1 steps."""
    n = rows.num_rows
    for c, fr in images.items():
        if len(fr) != n:
            raise ValueError(f"episode {ep['episode_index']}: {len(fr)} {c} frames for {n} rows")
    state = _vectors(rows, "observation.state", np.float32).reshape(n, -1)
    if "observation.timestamp_ns" in rows.column_names:
        stamps = _vectors(rows, "observation.timestamp_ns", np.int64).reshape(n)
    else:
        stamps = np.round(_vectors(rows, "timestamp", np.float64).reshape(n) * 1e9)
    reward = _flag(rows, "next.reward", n, np.float32)
    flags = {attr: _flag(rows, feature, n, bool) for feature, attr in _FLAGS.items()}
    if "next.terminated" not in rows.column_names:  # a foreign dataset: see _foreign_end
        flags["terminated"][-2], flags["truncated"][-2] = _foreign_end(rows, reward, n)
    obs = [{"state": state[t], "images": {c: fr[t] for c, fr in images.items()}} for t in range(n)]
    store.begin_episode(obs[0], int(stamps[0]))
    for t in range(n - 1):
        store.add_step(
            action[t],
            float(reward[t]),
            obs[t + 1],
            int(stamps[t + 1]),
            **{attr: bool(v[t]) for attr, v in flags.items()},
        )
    meta = json.loads(ep.get("robot_rl/metadata") or "{}")
    meta.update(source="lerobot", lerobot_episode=int(ep["episode_index"]))
    meta["task"] = (ep.get("tasks") or [meta.get("task", "")])[0]
    store.end_episode(meta)


def _rows_of(table: pa.Table, episode_index: int) -> pa.Table:
    """Rows of ``episode_index``, in frame order."""
    idx = np.asarray(table.column("episode_index"))
    rows = table.take(pa.array(np.flatnonzero(idx == episode_index)))
    order = np.argsort(np.asarray(rows.column("frame_index")), kind="stable")
    return rows.take(pa.array(order))


def _foreign_end(rows: pa.Table, reward: np.ndarray, n: int) -> tuple[bool, bool]:
    """(terminated, truncated) of the last kept step of a dataset without
    ``next.terminated``: terminated when ``next.done`` is set on one of the last two frames
    with a positive reward there (success, as LeRobot's HIL-SERL records it), otherwise
    truncated, so that the learner bootstraps through the cut."""
    done = _flag(rows, "next.done", n, bool)[-2:]
    success = bool(done.any() and (reward[-2:] > 0).any())
    return success, not success


def _flag(table: pa.Table, name: str, n: int, dtype: Any) -> np.ndarray:
    if name not in table.column_names:
        return np.zeros(n, dtype)
    return _vectors(table, name, dtype).reshape(n)


def _episode_frames(
    root: Path,
    info: dict[str, Any],
    ep: dict[str, Any],
    key: str,
    rows: pa.Table,
    size: tuple[int, int],
) -> np.ndarray:
    """One camera's frames of one episode, (n, H, W, 3) uint8 at ``size``."""
    fps = float(info["fps"])
    h, w = size
    if info["features"][key]["dtype"] == "video":
        path = root / info["video_path"].format(
            video_key=key,
            chunk_index=int(ep[f"videos/{key}/chunk_index"]),
            file_index=int(ep[f"videos/{key}/file_index"]),
        )
        frames = read_frames(
            path,
            float(ep[f"videos/{key}/from_timestamp"]),
            float(ep[f"videos/{key}/to_timestamp"]),
            fps,
        )
    else:  # dtype "image": PNG/JPEG bytes in a {bytes, path} struct per row
        structs = rows.column(key).to_pylist()
        frames = np.stack([_decode_image(s["bytes"]) for s in structs])
    if frames.shape[1:3] != (h, w) and len(frames):
        frames = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    return frames


def _decode_image(data: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("an image feature holds bytes that are not a PNG/JPEG image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
