"""Creating a Cyclone domain with an explicit XML configuration, once per process.

Every domain gets `INTEROP_XML` in front of the user's configuration: Cyclone ignores the
XTypes type information of Fast DDS participants (vendor id 1.15) and matches their
endpoints by type name, as rmw_fastrtps itself does. Fast DDS 3 (ROS 2 Kilted) sends type
objects that Cyclone 11 rejects as invalid, and without this no topic with a nested type
(Header, Time, Pose...) would ever match (docs/bus.md, "Interop with rclpy nodes").
"""

from __future__ import annotations

import os

from cyclonedds.core import DDSException
from cyclonedds.domain import Domain

from robot_rl.bus.errors import BusError

FAST_DDS_VENDOR_ID = "1.15"  # eProsima, as RTPS announces it
INTEROP_XML = (
    '<CycloneDDS><Domain Id="any"><Compatibility>'
    f"<IgnoreTypeInformation>{FAST_DDS_VENDOR_ID}</IgnoreTypeInformation>"
    "</Compatibility></Domain></CycloneDDS>"
)

_domains: dict[int, tuple[str, Domain]] = {}


def config_text(config: str) -> str:
    """Inline XML or a URI stay as they are; a plain path becomes a ``file://`` URI."""
    stripped = config.strip()
    if stripped.startswith("<") or "://" in stripped:
        return stripped
    return "file://" + os.path.abspath(stripped)


def full_config(config: str) -> str:
    """`INTEROP_XML`, then ``config`` (empty: ``CYCLONEDDS_URI``), in Cyclone's
    comma-separated list form; later sources override earlier ones."""
    user = config_text(config) if config.strip() else os.environ.get("CYCLONEDDS_URI", "")
    return f"{INTEROP_XML},{user}" if user.strip() else INTEROP_XML


def ensure_domain(domain_id: int, config: str) -> None:
    """Create domain ``domain_id`` with `full_config` of ``config`` unless done already.

    Raises `BusError` if the domain already exists in this process with another config.
    """
    text = full_config(config)
    known = _domains.get(domain_id)
    if known is not None:
        if known[0] != text:
            raise BusError(
                f"DDS domain {domain_id} already runs with another config in this process"
            )
        return
    try:
        _domains[domain_id] = (text, Domain(domain_id, config=text))
    except DDSException as exc:
        raise BusError(
            f"cannot configure DDS domain {domain_id} (does a participant already use it "
            f"with the default config?): {exc}"
        ) from exc
