"""Quality-of-service profiles, with the ROS 2 presets the project uses."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Reliability(enum.Enum):
    """RELIABLE retransmits lost samples; BEST_EFFORT drops them (no head-of-line blocking)."""

    RELIABLE = "reliable"
    BEST_EFFORT = "best_effort"


class Durability(enum.Enum):
    """TRANSIENT_LOCAL replays a writer's last ``depth`` samples to late subscribers."""

    VOLATILE = "volatile"
    TRANSIENT_LOCAL = "transient_local"


class History(enum.Enum):
    """KEEP_LAST keeps ``depth`` samples per topic queue; KEEP_ALL keeps everything."""

    KEEP_LAST = "keep_last"
    KEEP_ALL = "keep_all"


@dataclass(frozen=True)
class QoS:
    """A QoS profile; the defaults are ROS 2's default profile."""

    reliability: Reliability = Reliability.RELIABLE
    durability: Durability = Durability.VOLATILE
    history: History = History.KEEP_LAST
    depth: int = 10  # queue length for KEEP_LAST
    max_blocking_s: float = 0.1  # a reliable write may block this long when queues are full

    def __post_init__(self) -> None:
        if self.history is History.KEEP_LAST and self.depth < 1:
            raise ValueError(f"KEEP_LAST needs depth >= 1, got {self.depth}")


def compatible(offered: QoS, requested: QoS) -> bool:
    """DDS request/offered rule: a publisher matches a subscriber that asks for no more
    than it offers (a RELIABLE subscriber does not match a BEST_EFFORT publisher, a
    TRANSIENT_LOCAL subscriber does not match a VOLATILE publisher)."""
    if requested.reliability is Reliability.RELIABLE and (
        offered.reliability is Reliability.BEST_EFFORT
    ):
        return False
    return not (
        requested.durability is Durability.TRANSIENT_LOCAL
        and offered.durability is Durability.VOLATILE
    )


DEFAULT = QoS()
"""ROS 2 default: reliable, volatile, keep last 10. Commands, events, transitions."""

SENSOR_DATA = QoS(reliability=Reliability.BEST_EFFORT, depth=5)
"""ROS 2 sensor-data preset: best effort, keep last 5. Camera images, joint states."""

LATCHED = QoS(durability=Durability.TRANSIENT_LOCAL, depth=1)
"""Reliable, transient-local, keep last 1: the latest value for late joiners
(policy weights, camera_info, static configuration)."""

SERVICES = QoS(depth=10)
"""ROS 2 services default: reliable, volatile, keep last 10."""

CLOCK = QoS(depth=1)
"""ROS 2 ``/clock``: reliable, volatile, keep last 1."""
