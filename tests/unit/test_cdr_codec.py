"""Codec behaviour beyond byte equality: strictness, encode errors, helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.errors import CdrEncodeError, CdrError
from robot_rl.bus.msgs import (
    Action,
    CameraInfo,
    Header,
    Image,
    JointState,
    NamedArray,
    PoseStamped,
    RegionOfInterest,
    ResetResponse,
    RewardEstimate,
    String,
    Time,
)


def test_known_bytes_of_a_string() -> None:
    assert encode(String("hi")) == b"\x00\x01\x00\x00\x03\x00\x00\x00hi\x00"


def test_up_to_seven_padding_bytes_of_any_value_are_accepted() -> None:
    # rclpy's serializer leaves padding uninitialised (issue 11: SetBool requests from
    # rclpy were rejected 2000 of 2000 times while only zero padding was accepted).
    data = encode(String("hi"))
    # It also pads to 8 after an empty float64[] at the end (JointState without efforts).
    for pad in (b"", b"\x00", b"\x01\xff", b"\xaa\xbb\xcc", b"\x07" * 7):
        assert decode(String, data + pad) == String("hi")
    with pytest.raises(CdrError, match="unexpected bytes"):
        decode(String, data + b"\x00" * 8)
    reply = bytearray(encode(ResetResponse(ok=True, message="done")))
    reply[5:8] = b"\xde\xad\xbe"  # the 3 alignment bytes between the bool and the string
    assert decode(ResetResponse, bytes(reply)) == ResetResponse(ok=True, message="done")


def test_rclpy_slack_after_empty_float64_sequences_is_accepted() -> None:
    # rclpy (Fast CDR) sends JointState without efforts 8 bytes longer than the message
    # (measured in tests/ros/test_bus_rclpy.py); 4 more per empty 8-byte sequence.
    msg = JointState(position=np.ones(2), velocity=np.ones(2), effort=np.zeros(0))
    assert decode(JointState, encode(msg) + b"\x55" * 11) == msg
    with pytest.raises(CdrError, match="unexpected bytes"):
        decode(JointState, encode(msg) + b"\x55" * 12)


def test_bool_bytes_other_than_0_and_1_are_rejected() -> None:
    data = bytearray(encode(RegionOfInterest(do_rectify=True)))
    data[-1] = 2
    with pytest.raises(CdrError, match="bool"):
        decode(RegionOfInterest, bytes(data))


def test_string_must_be_nul_terminated_utf8() -> None:
    data = encode(Header(frame_id="ab"))
    with pytest.raises(CdrError, match="NUL"):
        decode(Header, data.replace(b"ab\x00", b"abc"))
    with pytest.raises(CdrError, match="UTF-8"):
        decode(Header, data.replace(b"ab\x00", b"\xff\xfe\x00"))


def test_huge_claimed_length_is_rejected_before_allocating() -> None:
    data = bytearray(encode(Image()))
    # the data sequence count is the last 4 bytes of an empty image
    data[-4:] = b"\xff\xff\xff\x7f"
    with pytest.raises(CdrError, match="claims"):
        decode(Image, bytes(data))


def test_decoded_arrays_are_read_only_views() -> None:
    img = Image(height=1, width=2, encoding="mono8", step=2, data=np.array([1, 2], np.uint8))
    back = decode(Image, encode(img))
    assert not back.data.flags.writeable
    assert back.data.dtype == np.uint8


@pytest.mark.parametrize(
    ("msg", "field"),
    [
        (Time(sec=2**31), "sec"),
        (Time(sec=1.5), "sec"),  # type: ignore[arg-type]
        (Header(frame_id=3), "frame_id"),  # type: ignore[arg-type]
        (PoseStamped(header=Time()), "header"),  # type: ignore[arg-type]
        (CameraInfo(k=np.zeros(8)), "k"),
        (Image(data=np.zeros(3, np.float32)), "data"),  # float pixels into uint8[]
        (JointState(name=["a", 1]), "name"),  # type: ignore[list-item]
        (Image(data=[300]), "data"),  # type: ignore[arg-type]
        (JointState(velocity=None), "velocity"),  # type: ignore[arg-type]  # not [nan]
        (Action(action=0.5), "action"),  # type: ignore[arg-type]  # a scalar is no sequence
        (CameraInfo(k=np.float64(1.0)), "k"),  # nor for a fixed-size array
    ],
)
def test_encode_errors_name_the_field(msg: object, field: str) -> None:
    with pytest.raises(CdrEncodeError, match=field):
        encode(msg)


def test_nan_round_trips_and_compares_equal() -> None:
    msg = RewardEstimate(reward=math.nan, success_prob=math.nan)
    assert decode(RewardEstimate, encode(msg)) == msg


def test_lists_are_accepted_for_arrays() -> None:
    msg = Action(action=[0.5, -1.0])  # type: ignore[arg-type]
    back = decode(Action, encode(msg))
    assert back.action.dtype == np.float32
    assert back == msg


def test_time_conversions() -> None:
    assert Time.from_ns(1_500_000_000) == Time(1, 500_000_000)
    assert Time.from_ns(-1) == Time(-1, 999_999_999)
    assert Time.from_s(2.25).to_ns() == 2_250_000_000
    assert Time(3, 5).to_s() == pytest.approx(3.000000005)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array(7, dtype=np.int64),
        np.zeros((0, 3), dtype=np.uint8),
        np.array([True, False]),
        np.arange(6, dtype=">f8").reshape(2, 3),  # big-endian input is stored little-endian
    ],
)
def test_named_array_round_trip(array: np.ndarray) -> None:
    msg = NamedArray.from_array("x", array)
    back = decode(NamedArray, encode(msg)).to_array()
    assert back.shape == array.shape
    assert back.dtype.newbyteorder("=") == array.dtype.newbyteorder("=")
    assert np.array_equal(back, array)


def test_named_array_size_mismatch_is_a_value_error() -> None:
    msg = NamedArray(name="w", dtype="float32", shape=np.array([3], np.uint32))
    with pytest.raises(ValueError, match="needs 12"):
        msg.to_array()
