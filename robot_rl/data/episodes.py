"""Append-safe zarr (v3) episode store: demos, online rollouts, interventions, labels.

Layout under ``root``::

    episodes.zarr/            zarr group; attrs: format, spec
      000042/                 one group per episode of T steps
        state        (T+1, S)    float32   every observation, the final next-obs included
        timestamp_ns (T+1,)      int64     stamp of each observation
        images/<cam> (T+1,H,W,3) uint8     Zstd, ``chunk_frames`` frames per chunk
        action (T, A) float32, reward (T,) float32,
        terminated / truncated / intervened / success (T,) bool
    index.jsonl               one line per COMMITTED episode, appended and fsynced last;
                              it carries the episode's manifest (robot_rl.data.integrity)

Crash safety: an episode becomes visible only when its index line is complete. Episode
groups are written once and never touched again, so a crash mid-episode can only leave
an orphan group (or a torn last index line), which readers ignore and the next writer
overwrites. Opening a store never writes: the repair happens at the first begin_episode.
A damaged line followed by good ones is not a crash tail; opening then raises.

Integrity: every read of an episode first checks its files against the manifest, so a
missing, truncated or altered chunk raises `EpisodeDamagedError` (episode, array, file).
Images are buffered in memory and written one full chunk at a time (zarr appends of
single frames are ~100x slower, see PLATFORM.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import ZstdCodec

from robot_rl.data.integrity import EpisodeDamagedError, build_manifest, check_files, check_shape

STORE_FORMAT = 2  # 2: index lines carry a manifest (format-1 episodes read unchecked)
_STEP_FLAGS = ("terminated", "truncated", "intervened", "success")


@dataclass(frozen=True)
class EpisodeSpec:
    """Shapes and storage settings shared by every episode of a store."""

    state_dim: int  # length of the float32 state vector
    action_dim: int  # length of the action vector
    cameras: tuple[str, ...] = ()  # camera names; empty for state-only
    image_shape: tuple[int, int, int] = (128, 128, 3)  # (H, W, 3) uint8 per camera
    chunk_frames: int = 16  # image frames per zarr chunk (and per buffered write)
    zstd_level: int = 3  # Zstd level of the image chunks


@dataclass(frozen=True)
class Episode:
    """One stored episode of T steps; observations have T + 1 rows."""

    index: int
    state: np.ndarray  # (T+1, S) float32
    images: Mapping[str, np.ndarray]  # camera -> (T+1, H, W, 3) uint8
    timestamp_ns: np.ndarray  # (T+1,) int64
    action: np.ndarray  # (T, A) float32
    reward: np.ndarray  # (T,) float32
    terminated: np.ndarray  # (T,) bool
    truncated: np.ndarray  # (T,) bool
    intervened: np.ndarray  # (T,) bool
    success: np.ndarray  # (T,) bool, success label of the step's outcome
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_steps(self) -> int:
        return int(self.reward.shape[0])


class _OpenEpisode:
    """In-memory tail of the episode being written."""

    def __init__(self, group: zarr.Group, spec: EpisodeSpec) -> None:
        self.group = group
        self.states: list[np.ndarray] = []
        self.stamps: list[int] = []
        self.steps: dict[str, list[Any]] = {k: [] for k in ("action", "reward", *_STEP_FLAGS)}
        self.pending: dict[str, list[np.ndarray]] = {c: [] for c in spec.cameras}
        self.flushed = 0  # image frames already written
        compressor = ZstdCodec(level=spec.zstd_level)
        images = group.create_group("images")
        self.arrays = {
            c: images.create_array(
                c,
                shape=(0, *spec.image_shape),
                chunks=(spec.chunk_frames, *spec.image_shape),
                dtype="uint8",
                compressors=compressor,
            )
            for c in spec.cameras
        }

    def flush_images(self, final: bool, chunk: int) -> None:
        n = len(next(iter(self.pending.values()))) if self.pending else 0
        if n == 0 or (n < chunk and not final):
            return
        for c, frames in self.pending.items():
            arr = self.arrays[c]
            arr.resize((self.flushed + n, *arr.shape[1:]))
            arr[self.flushed : self.flushed + n] = np.stack(frames)
            frames.clear()
        self.flushed += n


class EpisodeStore:
    """Create or reopen a store at ``root``; one writer at a time.

    ``spec`` is required to create a store and checked against it on reopen.
    Writing: begin_episode(obs) -> add_step(...) * T -> end_episode() (or abort_episode()).
    """

    def __init__(
        self, root: str | Path, spec: EpisodeSpec | None = None, durable: bool = True
    ) -> None:
        self.root = Path(root)
        self.durable = durable  # fsync episode files before committing (power-loss safety)
        zpath = self.root / "episodes.zarr"
        self._writable = False
        if (zpath / "zarr.json").exists():
            self.group = zarr.open_group(str(zpath), mode="r")
            stored = _spec_from_json(dict(self.group.attrs)["spec"])  # type: ignore[arg-type]
            if spec is not None and spec != stored:
                raise ValueError(f"store at {self.root} has spec {stored}, not {spec}")
            self.spec = stored
        else:
            if spec is None:
                raise FileNotFoundError(f"no episode store at {self.root} and no spec to create")
            self.root.mkdir(parents=True, exist_ok=True)
            self.group = zarr.open_group(str(zpath), mode="w")
            self._writable = True
            self.group.attrs.update({"format": STORE_FORMAT, "spec": asdict(spec)})
            self.spec = spec
        self._index_path = self.root / "index.jsonl"
        self._entries, self._good_end = self._read_index()
        self._open: _OpenEpisode | None = None

    # --- index ------------------------------------------------------------------------

    def _read_index(self) -> tuple[list[dict[str, Any]], int]:
        """Committed entries and the byte length of the good part (reads only)."""
        if not self._index_path.exists():
            return [], 0
        raw = self._index_path.read_bytes()
        entries: list[dict[str, Any]] = []
        good_end = 0
        lines = raw.split(b"\n")
        for number, line in enumerate(lines[:-1], start=1):  # after the last newline: torn
            try:
                entry = json.loads(line)
                ok = isinstance(entry, dict) and entry.get("episode") == len(entries)
            except (json.JSONDecodeError, UnicodeDecodeError):
                ok = False
            if not ok:
                if any(rest.strip() for rest in lines[number:-1]):
                    raise ValueError(
                        f"{self._index_path}: line {number} is damaged and committed lines "
                        "follow it; the index needs repair by hand"
                    )
                break  # a crash tail: ignored here, cut by the next writer
            entries.append(entry)
            good_end += len(line) + 1
        return entries, good_end

    def _make_writable(self) -> None:
        """First write of this handle: reopen read-write and cut a torn index tail."""
        if self._writable:
            return
        self.group = zarr.open_group(str(self.root / "episodes.zarr"), mode="r+")
        if self._index_path.exists() and self._index_path.stat().st_size != self._good_end:
            with open(self._index_path, "r+b") as f:
                f.truncate(self._good_end)
        self._writable = True

    def __len__(self) -> int:
        return len(self._entries)

    def metadata(self, index: int) -> dict[str, Any]:
        """Per-episode metadata given at end_episode (plus num_steps)."""
        return dict(self._entries[index]["metadata"], num_steps=self._entries[index]["num_steps"])

    # --- writing ----------------------------------------------------------------------

    @property
    def writing(self) -> bool:
        """True between begin_episode and end/abort_episode."""
        return self._open is not None

    def begin_episode(self, obs: Mapping[str, Any], timestamp_ns: int) -> int:
        """Start episode ``len(self)`` at its first observation; returns its index."""
        if self._open is not None:
            raise RuntimeError("an episode is already open; end or abort it first")
        self._make_writable()
        name = f"{len(self._entries):06d}"
        group = self.group.create_group(name, overwrite=True)  # removes a crash orphan
        self._open = _OpenEpisode(group, self.spec)
        self._append_obs(obs, timestamp_ns)
        return len(self._entries)

    def _append_obs(self, obs: Mapping[str, Any], timestamp_ns: int) -> None:
        ep = self._open
        assert ep is not None
        state = np.asarray(obs["state"], np.float32)
        if state.shape != (self.spec.state_dim,):
            raise ValueError(f"state shape {state.shape}, expected ({self.spec.state_dim},)")
        for c in self.spec.cameras:
            img = obs["images"][c]
            if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
                raise TypeError(f"camera {c!r}: images must be uint8, got {type(img)}")
            if img.shape != self.spec.image_shape:
                raise ValueError(f"camera {c!r}: shape {img.shape}, not {self.spec.image_shape}")
            ep.pending[c].append(img.copy())
        ep.states.append(state)
        ep.stamps.append(int(timestamp_ns))
        ep.flush_images(final=False, chunk=self.spec.chunk_frames)

    def add_step(
        self,
        action: np.ndarray,
        reward: float,
        next_obs: Mapping[str, Any],
        timestamp_ns: int,
        terminated: bool = False,
        truncated: bool = False,
        intervened: bool = False,
        success: bool = False,
    ) -> None:
        """Record one step and its resulting observation (stamped ``timestamp_ns``)."""
        ep = self._open
        if ep is None:
            raise RuntimeError("begin_episode first")
        act = np.asarray(action, np.float32)
        if act.shape != (self.spec.action_dim,):
            raise ValueError(f"action shape {act.shape}, expected ({self.spec.action_dim},)")
        values = (act, reward, terminated, truncated, intervened, success)
        for key, value in zip(("action", "reward", *_STEP_FLAGS), values, strict=True):
            ep.steps[key].append(value)
        self._append_obs(next_obs, timestamp_ns)

    def end_episode(self, metadata: Mapping[str, Any] | None = None) -> int:
        """Write the rest and commit; returns the episode index. Blocks on disk I/O."""
        ep = self._open
        if ep is None:
            raise RuntimeError("no open episode")
        if not ep.steps["reward"]:
            raise ValueError("an episode needs at least one step")
        ep.flush_images(final=True, chunk=self.spec.chunk_frames)
        g = ep.group
        t = len(ep.steps["reward"])
        g.create_array("state", data=np.stack(ep.states), chunks=(t + 1, self.spec.state_dim))
        g.create_array("timestamp_ns", data=np.asarray(ep.stamps, np.int64), chunks=(t + 1,))
        g.create_array(
            "action", data=np.stack(ep.steps["action"]), chunks=(t, self.spec.action_dim)
        )
        g.create_array("reward", data=np.asarray(ep.steps["reward"], np.float32), chunks=(t,))
        for flag in _STEP_FLAGS:
            g.create_array(flag, data=np.asarray(ep.steps[flag], bool), chunks=(t,))
        meta = dict(metadata or {})
        g.attrs.update({"num_steps": t, "metadata": meta})
        group_dir = self.root / "episodes.zarr" / g.path
        if self.durable:
            _fsync_tree(group_dir)
        manifest = build_manifest(group_dir, _array_layouts(g, self.spec.cameras))
        index = len(self._entries)
        entry = {"episode": index, "num_steps": t, "metadata": meta, "manifest": manifest}
        line = (json.dumps(entry) + "\n").encode()
        with open(self._index_path, "ab") as f:
            f.write(line)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
        self._entries.append(entry)
        self._good_end += len(line)
        self._open = None
        return index

    def abort_episode(self) -> None:
        """Drop the open episode; its group is overwritten by the next begin_episode."""
        self._open = None

    # --- reading ----------------------------------------------------------------------

    def has_manifest(self, index: int) -> bool:
        """False for episodes committed by a format-1 store (read without checks)."""
        return "manifest" in self._entries[index]

    def verify(self, index: int) -> None:
        """Check episode ``index``'s files, shapes and lengths against its manifest without
        decoding chunks; raises `EpisodeDamagedError`. Reads every file once."""
        self._group(index, check=True)

    def _group(self, index: int, check: bool) -> zarr.Group:
        if not 0 <= index < len(self._entries):
            raise IndexError(f"episode {index} not committed (have {len(self._entries)})")
        entry = self._entries[index]
        group_dir = self.root / "episodes.zarr" / f"{index:06d}"
        manifest = entry.get("manifest")
        if check and manifest is not None:
            t = int(entry["num_steps"])
            for name in _array_names(self.spec.cameras):
                if name not in manifest:
                    raise EpisodeDamagedError(index, name, group_dir / name, "not in manifest")
                want = t if name in ("action", "reward", *_STEP_FLAGS) else t + 1
                if manifest[name]["length"] != want:
                    raise EpisodeDamagedError(
                        index,
                        name,
                        group_dir / name,
                        f"length {manifest[name]['length']}, the index says {want}",
                    )
                check_files(index, group_dir, name, manifest[name])
        try:
            g = self.group[f"{index:06d}"]
            assert isinstance(g, zarr.Group)
            if check and manifest is not None:
                for name in _array_names(self.spec.cameras):
                    arr = g[name]
                    assert isinstance(arr, zarr.Array)
                    check_shape(index, group_dir, name, manifest[name], arr.shape, arr.dtype.name)
        except (KeyError, AssertionError, ValueError, OSError) as exc:
            if isinstance(exc, EpisodeDamagedError):
                raise
            raise EpisodeDamagedError(index, "", group_dir, f"cannot open: {exc}") from exc
        return g

    def episode(self, index: int) -> Episode:
        """Read committed episode ``index`` fully into memory, checked against its manifest.
        Raises `EpisodeDamagedError` naming the episode, array and file on damage."""
        g = self._group(index, check=True)
        group_dir = self.root / "episodes.zarr" / f"{index:06d}"

        def read(name: str) -> np.ndarray:
            try:
                arr = g[name]
                assert isinstance(arr, zarr.Array)
                return np.asarray(arr[...])
            except Exception as exc:  # a codec error on a manifest-less (format-1) episode
                raise EpisodeDamagedError(
                    index, name, group_dir / name, f"cannot decode: {type(exc).__name__}: {exc}"
                ) from exc

        return Episode(
            index=index,
            state=read("state"),
            images={c: read(f"images/{c}") for c in self.spec.cameras},
            timestamp_ns=read("timestamp_ns"),
            action=read("action"),
            reward=read("reward"),
            terminated=read("terminated"),
            truncated=read("truncated"),
            intervened=read("intervened"),
            success=read("success"),
            metadata=self._entries[index]["metadata"],
        )

    def __iter__(self) -> Iterator[Episode]:
        for i in range(len(self._entries)):
            yield self.episode(i)


def _array_names(cameras: tuple[str, ...]) -> tuple[str, ...]:
    """Every array of an episode group, by its path inside the group."""
    images = [f"images/{c}" for c in cameras]
    return ("state", "timestamp_ns", "action", "reward", *_STEP_FLAGS, *images)


def _array_layouts(
    g: zarr.Group, cameras: tuple[str, ...]
) -> dict[str, tuple[tuple[int, ...], str]]:
    layouts: dict[str, tuple[tuple[int, ...], str]] = {}
    for name in _array_names(cameras):
        arr = g[name]
        assert isinstance(arr, zarr.Array)
        layouts[name] = (tuple(arr.shape), arr.dtype.name)
    return layouts


def _spec_from_json(data: Mapping[str, Any]) -> EpisodeSpec:
    return EpisodeSpec(
        state_dim=int(data["state_dim"]),
        action_dim=int(data["action_dim"]),
        cameras=tuple(data["cameras"]),
        image_shape=(
            int(data["image_shape"][0]),
            int(data["image_shape"][1]),
            int(data["image_shape"][2]),
        ),
        chunk_frames=int(data["chunk_frames"]),
        zstd_level=int(data["zstd_level"]),
    )


def _fsync_tree(path: Path) -> None:
    for dirpath, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
