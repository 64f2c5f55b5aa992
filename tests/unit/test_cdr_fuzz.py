"""Truncated and garbage CDR fed to a subscriber of every type: nothing crashes, and every
bad payload is counted as rejected."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.cdr.samples import random_message
from robot_rl.bus.errors import CdrError
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import ALL_MESSAGES, Message

MAX_CUTS = 120  # truncation lengths tried per sample


def _truncations(data: bytes, rng: np.random.Generator) -> list[bytes]:
    lengths = list(range(len(data)))
    if len(data) > MAX_CUTS:
        lengths = sorted({0, 1, 3, 4, 5, len(data) - 1, *rng.integers(0, len(data), MAX_CUTS)})
    return [data[:n] for n in lengths]


def _always_bad(data: bytes, rng: np.random.Generator) -> list[bytes]:
    """Payloads no valid encoder produces, whatever the type."""
    return [
        b"",
        b"\x00",
        b"\x00\x01\x00",
        b"\x01\x01\x00\x00" + data[4:],  # not an encapsulation kind
        b"\x00\x07\x00\x00" + data[4:],  # XCDR2, which ROS 2 does not use
        b"\x00\x02\x00\x00" + data[4:],  # parameter-list CDR
        data + b"\x00" * 64,  # more than any padding
        data + bytes(rng.integers(1, 256, 64, dtype=np.uint8)),  # trailing junk
        bytes(rng.integers(1, 256, 64, dtype=np.uint8)),  # random, bad header
    ]


def _random_bodies(rng: np.random.Generator, count: int) -> list[bytes]:
    """Valid header + random body: some may happen to be valid messages."""
    out = []
    for _ in range(count):
        size = int(rng.integers(0, 96))
        out.append(b"\x00\x01\x00\x00" + bytes(rng.integers(0, 256, size, dtype=np.uint8)))
    return out


def _patched_lengths(data: bytes) -> list[bytes]:
    """Each aligned uint32 replaced by 0xFFFFFFFF: hits every sequence/string length."""
    return [data[:i] + b"\xff\xff\xff\xff" + data[i + 4 :] for i in range(4, len(data) - 3, 4)]


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=lambda c: c.__ros_type__)
def test_subscriber_counts_every_bad_payload(cls: type[Message]) -> None:
    rng = np.random.default_rng(zlib.crc32(cls.__ros_type__.encode()))
    bus = InprocBus()
    received: list[Message] = []
    sub = bus.subscribe("/fuzz", cls, received.append)
    pub = bus.publisher("/fuzz", cls)

    bad: list[bytes] = []
    for _ in range(3):
        valid = encode(random_message(cls, rng))
        bad += _truncations(valid, rng) + _always_bad(valid, rng)
    for payload in bad:
        pub.publish_raw(payload)
    assert sub.stats.rejected == len(bad)
    assert sub.stats.received == 0
    assert received == []
    assert sub.stats.last_error


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=lambda c: c.__ros_type__)
def test_random_payloads_are_either_rejected_or_exactly_valid(cls: type[Message]) -> None:
    rng = np.random.default_rng(zlib.crc32(cls.__ros_type__.encode()) + 1)
    bus = InprocBus()
    received: list[tuple[bytes, Message]] = []
    payloads = _random_bodies(rng, 150) + _patched_lengths(encode(random_message(cls, rng)))
    current: list[bytes] = []
    sub = bus.subscribe("/fuzz", cls, lambda m: received.append((current[-1], m)))
    pub = bus.publisher("/fuzz", cls)
    for payload in payloads:
        current.append(payload)
        pub.publish_raw(payload)
    assert sub.stats.received + sub.stats.rejected == len(payloads)
    for payload, msg in received:
        # Accepted garbage must be a well-formed message that used up the payload, but
        # for the padding the decoder allows after that message.
        tail = len(payload) - len(encode(msg))
        assert tail >= 0 and decode(cls, encode(msg) + bytes(tail)) == msg


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=lambda c: c.__ros_type__)
def test_decode_raises_only_cdr_error(cls: type[Message]) -> None:
    rng = np.random.default_rng(5)
    valid = encode(random_message(cls, rng))
    for payload in _truncations(valid, rng) + _always_bad(valid, rng):
        with pytest.raises(CdrError):
            decode(cls, payload)
