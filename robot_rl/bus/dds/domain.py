"""Creating a Cyclone domain with an explicit XML configuration, once per process."""

from __future__ import annotations

import os

from cyclonedds.core import DDSException
from cyclonedds.domain import Domain

from robot_rl.bus.errors import BusError

_domains: dict[int, tuple[str, Domain]] = {}


def config_text(config: str) -> str:
    """Inline XML or a URI stay as they are; a plain path becomes a ``file://`` URI."""
    stripped = config.strip()
    if stripped.startswith("<") or "://" in stripped:
        return stripped
    return "file://" + os.path.abspath(stripped)


def ensure_domain(domain_id: int, config: str) -> None:
    """Create domain ``domain_id`` with ``config`` unless done already. Empty ``config``:
    do nothing, so the participant uses ``CYCLONEDDS_URI`` or Cyclone's defaults.

    Raises `BusError` if the domain already exists in this process with another config.
    """
    if not config:
        return
    text = config_text(config)
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
