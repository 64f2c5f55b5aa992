"""An append-only write-ahead log of transitions, so a learner acks without a checkpoint.

Segments ``wal-<n>.log`` hold records ``uint32 length, uint32 crc32, payload``. A record
cut short by a crash (or with a bad CRC) ends the segment. Data written with `flush`
survives a killed process (it is in the OS); ``fsync=True`` also survives power loss.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

_HEADER = struct.Struct("<II")
_NAME = re.compile(r"^wal-(\d{8})\.log$")


def segment_path(directory: Path, n: int) -> Path:
    """File of segment ``n``."""
    return directory / f"wal-{n:08d}.log"


def segments(directory: Path) -> list[int]:
    """Segment numbers present, ascending."""
    if not directory.exists():
        return []
    found = (_NAME.match(p.name) for p in directory.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def read_segment(path: Path) -> Iterator[bytes]:
    """Payloads of one segment, stopping at the first torn or corrupt record."""
    data = path.read_bytes()
    pos = 0
    while pos + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, pos)
        start, end = pos + _HEADER.size, pos + _HEADER.size + length
        if end > len(data):
            return
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            return
        yield payload
        pos = end


class WriteAheadLog:
    """Appends to the newest segment; `rotate` starts a new one (after a checkpoint)."""

    def __init__(self, directory: str | Path, fsync: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        existing = segments(self.directory)
        self.segment = (existing[-1] + 1) if existing else 1
        self._file = open(segment_path(self.directory, self.segment), "ab")  # noqa: SIM115
        self.records = 0

    def append(self, payload: bytes) -> None:
        """Buffer one record (call `flush` before acknowledging it)."""
        self._file.write(_HEADER.pack(len(payload), zlib.crc32(payload)))
        self._file.write(payload)
        self.records += 1

    def flush(self) -> None:
        """Hand buffered records to the OS (and the disk, with ``fsync``)."""
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def rotate(self) -> int:
        """Close the current segment and open the next; returns the new segment number."""
        self.flush()
        self._file.close()
        self.segment += 1
        self._file = open(segment_path(self.directory, self.segment), "ab")  # noqa: SIM115
        return self.segment

    def drop_before(self, segment: int) -> None:
        """Delete segments older than ``segment`` (they are in a checkpoint now)."""
        for n in segments(self.directory):
            if n < segment:
                segment_path(self.directory, n).unlink(missing_ok=True)

    def replay(self, from_segment: int) -> Iterator[bytes]:
        """Every payload of segments ``>= from_segment`` before the current one, in order."""
        for n in segments(self.directory):
            if from_segment <= n < self.segment:
                yield from read_segment(segment_path(self.directory, n))

    def close(self) -> None:
        """Flush and close."""
        self.flush()
        self._file.close()
