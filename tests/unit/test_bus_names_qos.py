"""Name resolution, the DDS name mapping and QoS matching rules."""

from __future__ import annotations

import pytest

from robot_rl.bus.names import dds_type_name, resolve, service_to_dds, topic_to_dds
from robot_rl.bus.qos import DEFAULT, LATCHED, SENSOR_DATA, Durability, QoS, compatible


@pytest.mark.parametrize(
    ("name", "namespace", "node", "expected"),
    [
        ("image", "/", "", "/image"),
        ("cameras/front/image_raw", "/cell", "", "/cell/cameras/front/image_raw"),
        ("/clock", "/cell", "", "/clock"),
        ("~/state", "/", "actor", "/actor/state"),
        ("~", "/ns", "actor", "/ns/actor"),
    ],
)
def test_resolve(name: str, namespace: str, node: str, expected: str) -> None:
    assert resolve(name, namespace, node) == expected


@pytest.mark.parametrize("bad", ["a//b", "/a/", "1abc", "a b", "a/-x", "~/x"])
def test_invalid_names(bad: str) -> None:
    with pytest.raises(ValueError):
        resolve(bad)


def test_dds_mapping() -> None:
    assert topic_to_dds("/cameras/front/image_raw") == "rt/cameras/front/image_raw"
    assert service_to_dds("/reset") == ("rq/resetRequest", "rr/resetReply")
    assert dds_type_name("sensor_msgs/msg/Image") == "sensor_msgs::msg::dds_::Image_"
    assert (
        dds_type_name("robot_rl_interfaces/srv/Reset_Request")
        == "robot_rl_interfaces::srv::dds_::Reset_Request_"
    )
    with pytest.raises(ValueError):
        dds_type_name("Image")


def test_qos_compatibility_follows_request_offered() -> None:
    assert compatible(DEFAULT, SENSOR_DATA)  # reliable offer satisfies best-effort request
    assert not compatible(SENSOR_DATA, DEFAULT)
    assert compatible(LATCHED, DEFAULT)  # transient-local offer satisfies volatile
    assert not compatible(DEFAULT, LATCHED)
    assert LATCHED.durability is Durability.TRANSIENT_LOCAL


def test_keep_last_needs_positive_depth() -> None:
    with pytest.raises(ValueError):
        QoS(depth=0)
