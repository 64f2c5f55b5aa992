"""Our QoS profiles as Cyclone DDS QoS objects (matching what rmw_cyclonedds sets)."""

from __future__ import annotations

from cyclonedds.core import Policy, Qos
from cyclonedds.util import duration

from robot_rl.bus.qos import Durability, History, QoS, Reliability


def to_cyclone(qos: QoS) -> Qos:
    """Reliability, durability, history and XCDR1 data representation (as ROS 2 uses)."""
    if qos.reliability is Reliability.RELIABLE:
        reliability = Policy.Reliability.Reliable(duration(seconds=qos.max_blocking_s))
    else:
        reliability = Policy.Reliability.BestEffort
    durability = (
        Policy.Durability.TransientLocal
        if qos.durability is Durability.TRANSIENT_LOCAL
        else Policy.Durability.Volatile
    )
    history = (
        Policy.History.KeepLast(qos.depth)
        if qos.history is History.KEEP_LAST
        else Policy.History.KeepAll
    )
    return Qos(
        reliability,
        durability,
        history,
        Policy.DataRepresentation(use_cdrv0_representation=True),
    )
