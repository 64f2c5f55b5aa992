"""Our CDR bytes equal cyclonedds-python's own (stock, per-element) serializer's.

This is a third implementation next to rosbags, and it checks that the IdlStruct types
the dds backend announces describe exactly the bytes our encoder writes.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from robot_rl.bus.cdr import encode
from robot_rl.bus.cdr.samples import random_message
from robot_rl.bus.msgs import ALL_MESSAGES, Message

pytest.importorskip("cyclonedds", reason="cyclonedds is the stock serializer")
from robot_rl.bus.dds.idl import from_stock, raw_type, stock_type, to_stock


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=lambda c: c.__ros_type__)
def test_bytes_equal_stock_cyclonedds(cls: type[Message]) -> None:
    rng = np.random.default_rng(zlib.crc32(cls.__ros_type__.encode()))
    for _ in range(5):
        msg = random_message(cls, rng, max_len=3)
        ours = encode(msg)
        stock = to_stock(msg).serialize(use_version_2=False)
        assert ours == stock
        assert from_stock(cls, stock_type(cls).deserialize(ours)) == msg


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=lambda c: c.__ros_type__)
def test_dds_type_names_follow_ros2(cls: type[Message]) -> None:
    pkg, kind, name = cls.__ros_type__.split("/")
    expected = f"{pkg}::{kind}::dds_::{name}_"
    assert stock_type(cls).__idl_typename__ == expected
    assert raw_type(cls).__idl_typename__ == expected


def test_raw_type_carries_bytes_through_serialize_and_deserialize() -> None:
    from robot_rl.bus.dds.idl import carrier
    from robot_rl.bus.msgs import String

    raw = raw_type(String)
    data = encode(String("hello"))
    assert carrier(raw, data).serialize() == data
    assert raw.deserialize(data).cdr == data
