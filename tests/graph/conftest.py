"""Graph tier: separate processes talking over real DDS, on loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LOOPBACK_XML = HERE / "cyclonedds_loopback.xml"
PEER = HERE / "dds_peer.py"


def _domain_id() -> int:
    """One domain per test run (pid based), so parallel runs on one host do not mix;
    ``ROBOT_RL_TEST_DOMAIN_ID`` overrides it. 100-139: the ros tier has 140-199, and a
    Cyclone domain a training graph used earlier in the pytest process kept a later rclpy
    node there from matching a Cyclone participant (tests/ros/test_interop_dds.py)."""
    return int(os.environ.get("ROBOT_RL_TEST_DOMAIN_ID", 100 + os.getpid() % 40))


@dataclass(frozen=True)
class GraphEnv:
    """Where this run's processes meet."""

    domain_id: int
    config: Path
    prefix: str  # unique topic namespace of one test

    def peer(self, *args: str) -> subprocess.Popen[str]:
        """Start ``dds_peer.py`` with this environment and ``args``."""
        env = dict(os.environ, CYCLONEDDS_URI=self.config.as_uri())
        cmd = [sys.executable, str(PEER), str(self.domain_id), self.prefix, *args]
        return subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.graph)


@pytest.fixture(scope="session")
def domain_id() -> int:
    """The DDS domain of this test run."""
    return _domain_id()


@pytest.fixture
def graph(domain_id: int) -> Iterator[GraphEnv]:
    """A fresh topic namespace on this run's domain."""
    yield GraphEnv(domain_id, LOOPBACK_XML, "/t" + uuid.uuid4().hex[:12])
