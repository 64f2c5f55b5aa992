"""The rclpy backend where rclpy is missing: a clear error saying how to get it (tests/ros runs
the backend under real rclpy, from the ROS 2 wheels on PyPI)."""

from __future__ import annotations

import sys

import pytest

from robot_rl.bus import BackendUnavailableError, BusConfig, make_bus


def test_missing_rclpy_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rclpy", None)  # makes `import rclpy` fail even on ROS
    with pytest.raises(BackendUnavailableError, match="rclpy") as info:
        make_bus(BusConfig(backend="ros2"))
    assert isinstance(info.value, ImportError)
    assert "source /opt/ros" in str(info.value) and "PyPI wheels" in str(info.value)
    assert "'dds' backend" in str(info.value)


def test_importing_the_backend_module_does_not_need_rclpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rclpy", None)
    import robot_rl.bus.ros2 as ros2

    assert ros2.Ros2Config().node_name


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown bus backend"):
        make_bus(BusConfig(backend="zmq"))  # type: ignore[arg-type]
