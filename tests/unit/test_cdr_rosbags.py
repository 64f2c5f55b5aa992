"""Our CDR bytes equal rosbags' (an independent ROS 2 CDR implementation) for every type.

The robot_rl_interfaces types are parsed by rosbags from our own .msg/.srv files, so these
tests also prove the Python dataclasses match the interface package.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.cdr.samples import random_message
from robot_rl.bus.cdr.schema import BYTE, Array, Primitive, Sequence, fields_of
from robot_rl.bus.msgs import ALL_MESSAGES, Image, Message

rosbags_typesys = pytest.importorskip("rosbags.typesys", reason="rosbags is the reference CDR")

INTERFACES = Path(__file__).resolve().parents[2] / "ros_ws" / "src" / "robot_rl_interfaces"
ROUNDS = 25  # random instances per type


def _load_typestore() -> Any:
    ts = rosbags_typesys.get_typestore(rosbags_typesys.Stores.ROS2_HUMBLE)
    types: dict[str, Any] = {}
    for path in sorted((INTERFACES / "msg").glob("*.msg")):
        name = f"robot_rl_interfaces/msg/{path.stem}"
        types.update(rosbags_typesys.get_types_from_msg(path.read_text(), name))
    for path in sorted((INTERFACES / "srv").glob("*.srv")):
        request, response = path.read_text().split("\n---\n")
        for part, text in (("Request", request), ("Response", response)):
            name = f"robot_rl_interfaces/srv/{path.stem}_{part}"
            types.update(rosbags_typesys.get_types_from_msg(text, name))
    ts.register(types)
    return ts


TYPESTORE = _load_typestore()


def rb_name(ros_type: str) -> str:
    """rosbags files service parts as ``pkg/srv/msg/Name_Request``."""
    return ros_type.replace("/srv/", "/srv/msg/")


def to_rosbags(msg: Message) -> Any:
    """The same message as a rosbags dataclass instance."""
    values: dict[str, Any] = {}
    for spec in fields_of(type(msg)):
        value = getattr(msg, spec.name)
        kind = spec.kind
        if isinstance(kind, (Sequence, Array)) and isinstance(kind.elem, type):
            value = [to_rosbags(item) for item in value]
        elif isinstance(kind, (Sequence, Array)) and isinstance(kind.elem, Primitive):
            value = np.asarray(value, dtype=kind.elem.dtype)
        elif isinstance(kind, type):
            value = to_rosbags(value)
        elif kind == BYTE:
            value = value - 256 if value > 127 else value  # rosbags reads `byte` as int8
        values[spec.name] = value
    return TYPESTORE.types[rb_name(msg.__ros_type__)](**values)


def from_rosbags(cls: type[Message], obj: Any) -> Message:
    """A rosbags dataclass instance as one of our messages."""
    values = []
    for spec in fields_of(cls):
        value = getattr(obj, spec.name)
        kind = spec.kind
        if isinstance(kind, (Sequence, Array)) and isinstance(kind.elem, type):
            value = [from_rosbags(kind.elem, item) for item in value]
        elif isinstance(kind, type):
            value = from_rosbags(kind, value)
        elif kind == BYTE:
            value &= 0xFF  # ROS 2 `byte` is an unsigned octet
        values.append(value)
    return cls(*values)


def _ids(cls: type[Message]) -> str:
    return cls.__ros_type__


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=_ids)
def test_bytes_equal_rosbags(cls: type[Message]) -> None:
    rng = np.random.default_rng(zlib.crc32(cls.__ros_type__.encode()))
    for _ in range(ROUNDS):
        msg = random_message(cls, rng)
        ours = encode(msg)
        theirs = bytes(TYPESTORE.serialize_cdr(to_rosbags(msg), rb_name(cls.__ros_type__)))
        assert ours == theirs
        assert decode(cls, ours) == msg
        assert from_rosbags(cls, TYPESTORE.deserialize_cdr(ours, rb_name(cls.__ros_type__))) == msg


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=_ids)
def test_decodes_big_endian_from_rosbags(cls: type[Message]) -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        msg = random_message(cls, rng)
        name = rb_name(cls.__ros_type__)
        big = TYPESTORE.serialize_cdr(to_rosbags(msg), name, little_endian=False)
        assert bytes(big[:2]) == b"\x00\x00"
        assert decode(cls, bytes(big)) == msg


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=_ids)
def test_default_instance_round_trips(cls: type[Message]) -> None:
    msg = cls()
    assert bytes(TYPESTORE.serialize_cdr(to_rosbags(msg), rb_name(cls.__ros_type__))) == encode(msg)
    assert decode(cls, encode(msg)) == msg


def test_image_sized_payload_matches_rosbags() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    img = Image(height=480, width=640, encoding="rgb8", step=1920, data=pixels.reshape(-1))
    ours = encode(img)
    assert ours == bytes(TYPESTORE.serialize_cdr(to_rosbags(img), "sensor_msgs/msg/Image"))
    back = decode(Image, ours)
    assert np.array_equal(back.data.reshape(480, 640, 3), pixels)


def test_std_float32_matches_its_msg_definition() -> None:
    """std_msgs/Float32 (crisp's gripper command) is in ALL_MESSAGES, so every test above
    and the fuzz tests cover it; here it is also checked against rosbags with the type
    parsed from its .msg definition, at the float32 edge values."""
    from robot_rl.bus.msgs import ALL_MESSAGES, Float32

    assert Float32 in ALL_MESSAGES
    ts = rosbags_typesys.get_typestore(rosbags_typesys.Stores.EMPTY)
    ts.register(rosbags_typesys.get_types_from_msg("float32 data\n", "std_msgs/msg/Float32"))
    f32 = np.finfo(np.float32)
    for value in (0.0, -0.0, 0.08, -1.0, float(f32.max), float(f32.tiny), np.inf, np.nan):
        msg = Float32(float(np.float32(value)))
        ours = encode(msg)
        rb = ts.types["std_msgs/msg/Float32"](data=np.float32(value))
        assert ours == bytes(ts.serialize_cdr(rb, "std_msgs/msg/Float32"))
        assert len(ours) == 8
        assert decode(Float32, ours) == msg
