"""The Cyclone configuration every dds domain gets (robot_rl.bus.dds.domain)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cyclonedds.domain import DomainParticipant

from robot_rl.bus.dds.domain import INTEROP_XML, ensure_domain, full_config

LOOPBACK = Path(__file__).resolve().parents[1] / "graph" / "cyclonedds_loopback.xml"


def test_interop_setting_comes_first_so_the_users_config_can_override_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CYCLONEDDS_URI", raising=False)
    assert full_config("") == INTEROP_XML
    assert "<IgnoreTypeInformation>1.15</IgnoreTypeInformation>" in INTEROP_XML
    assert full_config(str(LOOPBACK)) == f"{INTEROP_XML},{LOOPBACK.as_uri()}"
    monkeypatch.setenv("CYCLONEDDS_URI", "file:///etc/cyclone.xml")
    assert full_config("") == f"{INTEROP_XML},file:///etc/cyclone.xml"


def test_cyclone_accepts_the_merged_configuration() -> None:
    domain_id = 200 + os.getpid() % 30
    ensure_domain(domain_id, str(LOOPBACK))
    DomainParticipant(domain_id)  # raises if Cyclone rejected the configuration
