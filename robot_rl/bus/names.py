"""ROS 2 name resolution and the DDS name mapping (``rt/``, ``rq/``, ``rr/``, ``dds_``)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check(fq: str, original: str) -> str:
    tokens = fq.split("/")[1:]
    if fq != "/" and not all(_TOKEN.fullmatch(t) for t in tokens):
        raise ValueError(
            f"invalid ROS name {original!r}: tokens must match [A-Za-z_][A-Za-z0-9_]*, "
            "separated by single '/'"
        )
    return fq


def resolve(name: str, namespace: str = "/", node_name: str = "") -> str:
    """Fully qualified name: ``"image"`` in namespace ``"/cell"`` -> ``"/cell/image"``;
    ``"~/state"`` of node ``"actor"`` -> ``"/cell/actor/state"``. Raises ValueError."""
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    if name.startswith("/"):
        fq = name
    elif name == "~" or name.startswith("~/"):
        if not node_name:
            raise ValueError(f"private name {name!r} needs a node name")
        fq = f"{ns}/{node_name}{name[1:]}"
    else:
        fq = f"{ns}/{name}"
    if fq.endswith("/") and fq != "/":
        raise ValueError(f"invalid ROS name {name!r}: trailing '/'")
    _check(ns or "/", namespace)
    return _check(fq, name)


def topic_to_dds(fq_topic: str) -> str:
    """``"/a/b"`` -> ``"rt/a/b"``: the DDS topic of a ROS 2 topic."""
    return "rt" + fq_topic


def service_to_dds(fq_service: str) -> tuple[str, str]:
    """``"/reset"`` -> ``("rq/resetRequest", "rr/resetReply")``: request and reply topics."""
    return "rq" + fq_service + "Request", "rr" + fq_service + "Reply"


def dds_type_name(ros_type: str) -> str:
    """``"sensor_msgs/msg/Image"`` -> ``"sensor_msgs::msg::dds_::Image_"``."""
    parts = ros_type.split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"ROS type name must look like 'pkg/msg/Name', got {ros_type!r}")
    pkg, kind, name = parts
    return f"{pkg}::{kind}::dds_::{name}_"
