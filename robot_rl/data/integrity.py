"""Per-episode manifests: what a committed episode's arrays must look like on disk.

At commit, `build_manifest` records for every array of the episode group its length,
dtype and shape, and the size and CRC-32 of every file zarr wrote for it (its
``zarr.json`` and each chunk). The manifest goes into the episode's index line, which
is the commit record. `check_episode` compares the files against it before any chunk is
decoded, so a deleted, truncated or altered chunk is caught as one `EpisodeDamagedError`
naming the episode, the array and the file, never loaded as zeros (zarr reads a missing
chunk as its fill value) and never surfacing as a codec traceback.

zarr skips chunks that equal the fill value (all-zero frames, all-False flags), so the
manifest lists the files that exist, not every chunk index.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_READ_BYTES = 1 << 20


class EpisodeDamagedError(ValueError):
    """A committed episode does not match its manifest (or cannot be decoded)."""

    def __init__(self, episode: int, array: str, path: Path | str, problem: str) -> None:
        super().__init__(f"episode {episode}, array {array!r}: {problem} ({path})")
        self.episode, self.array, self.path, self.problem = episode, array, Path(path), problem


def file_crc32(path: Path) -> int:
    """CRC-32 of a file's bytes (reads it in 1 MiB blocks)."""
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(_READ_BYTES):
            crc = zlib.crc32(block, crc)
    return crc


def array_files(array_dir: Path) -> dict[str, dict[str, int]]:
    """Every file of one zarr array directory: relative path -> {size, crc32}."""
    out: dict[str, dict[str, int]] = {}
    for dirpath, _, names in os.walk(array_dir):
        for name in names:
            path = Path(dirpath) / name
            rel = path.relative_to(array_dir).as_posix()
            out[rel] = {"size": path.stat().st_size, "crc32": file_crc32(path)}
    return dict(sorted(out.items()))


def build_manifest(
    group_dir: Path, arrays: Mapping[str, tuple[tuple[int, ...], str]]
) -> dict[str, Any]:
    """Manifest of an episode group: array name -> length, dtype, shape and its files.

    ``arrays`` maps each array's path inside the group ("state", "images/front") to its
    (shape, dtype name) as written."""
    return {
        name: {
            "length": int(shape[0]),
            "dtype": dtype,
            "shape": list(shape),
            "files": array_files(group_dir / name),
        }
        for name, (shape, dtype) in arrays.items()
    }


def check_files(episode: int, group_dir: Path, name: str, entry: Mapping[str, Any]) -> None:
    """Raise `EpisodeDamagedError` unless array ``name``'s files match ``entry``."""
    array_dir = group_dir / name
    for rel, want in entry["files"].items():
        path = array_dir / rel
        if not path.is_file():
            raise EpisodeDamagedError(episode, name, path, "file missing")
        size = path.stat().st_size
        if size != want["size"]:
            raise EpisodeDamagedError(
                episode, name, path, f"file has {size} bytes, manifest says {want['size']}"
            )
        if file_crc32(path) != want["crc32"]:
            raise EpisodeDamagedError(episode, name, path, "file content altered (CRC-32)")


def check_shape(
    episode: int,
    group_dir: Path,
    name: str,
    entry: Mapping[str, Any],
    shape: Iterable[int],
    dtype: str,
) -> None:
    """Raise `EpisodeDamagedError` unless the opened array has the manifest's shape/dtype."""
    shape = [int(n) for n in shape]
    if shape != list(entry["shape"]) or dtype != entry["dtype"]:
        raise EpisodeDamagedError(
            episode,
            name,
            group_dir / name / "zarr.json",
            f"array is {dtype}{shape}, manifest says {entry['dtype']}{list(entry['shape'])}",
        )
