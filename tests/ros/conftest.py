"""ros tier: our nodes and bus under real rclpy (the ROS 2 wheels from PyPI), on loopback.

Every test here is marked ``ros``. They need rclpy and robot_rl_interfaces in the venv
(``bash scripts/setup.sh`` installs both). Without them the tier is skipped with the reason,
except under CI (``CI=true``), where they run and fail: CI runs this tier, none skipped.
DDS traffic stays on loopback (Fast DDS profile below, Cyclone's loopback config), and
``scripts/test.sh`` runs the suite in its own network namespace where ``unshare -n`` works.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FASTDDS_XML = HERE / "fastdds_loopback.xml"
DOMAIN_ID = int(os.environ.get("ROBOT_RL_TEST_ROS_DOMAIN_ID", 140 + os.getpid() % 60))
MISSING = [m for m in ("rclpy", "robot_rl_interfaces") if importlib.util.find_spec(m) is None]

# Read by rclpy at init and inherited by every node process of this tier; set only while
# a test of this tier runs (the graph tier's Cyclone tests must not see them).
ROS_ENV = {
    "ROS_DOMAIN_ID": str(DOMAIN_ID),
    "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
    "FASTDDS_DEFAULT_PROFILES_FILE": str(FASTDDS_XML),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.ros)
            if MISSING and not os.environ.get("CI"):
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{', '.join(MISSING)} not installed: bash scripts/setup.sh "
                        "installs the ROS 2 wheels (ROBOT_RL_ROS=0 turned them off)"
                    )
                )


@pytest.fixture(autouse=True)
def ros_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """This tier's DDS environment (loopback Fast DDS profile, its own domain)."""
    for key, value in ROS_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def rclpy_context():  # type: ignore[no-untyped-def]
    """rclpy initialised once for this process (shut down at the end), in this tier's
    environment."""
    saved = {k: os.environ.get(k) for k in ROS_ENV}
    os.environ.update(ROS_ENV)
    import rclpy

    if not rclpy.ok():
        rclpy.init()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    yield rclpy
    if rclpy.ok():
        rclpy.shutdown()
