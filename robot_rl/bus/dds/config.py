"""Settings of the Cyclone DDS backend."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def default_domain_id() -> int:
    """``ROS_DOMAIN_ID`` from the environment, else 0 (as ROS 2 does)."""
    return int(os.environ.get("ROS_DOMAIN_ID", "0"))


@dataclass
class DdsConfig:
    """How the dds backend joins the ROS 2 graph."""

    domain_id: int = field(default_factory=default_domain_id)  # ROS_DOMAIN_ID, 0..232
    namespace: str = "/"  # resolves relative names
    node_name: str = ""  # resolves private (~) names
    # Cyclone XML: inline "<CycloneDDS>...", a file path or file:// URI. Empty: the
    # CYCLONEDDS_URI environment variable, else Cyclone's defaults (all interfaces).
    cyclone_config: str = ""
    fast_path: bool = True  # our encoder + raw bytes; False: stock per-element serializer
    use_sim_time: bool = False  # follow /clock instead of the wall clock
    reply_match_timeout_s: float = 2.0  # a server waits this long for the client's reply reader
