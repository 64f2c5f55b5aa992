"""Observations from stamped topics: layout, velocity, the max-age check and its message."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.control.safety import Pose
from robot_rl.nodes.observation import ObsConfig, ObservationAssembler, StaleObservationError

DOWN = np.array([0.0, 1.0, 0.0, 0.0])
MS = 1_000_000


def _feed(a: ObservationAssembler, t_ns: int, x: float) -> None:
    a.on_pose(Pose(np.array([x, 0.0, 0.2]), DOWN), t_ns)
    a.on_joints(["joint1", "finger_left", "finger_right"], np.array([0.3, 0.01, 0.015]), t_ns)
    a.on_wrench(np.arange(6.0), t_ns)


def test_state_layout_velocity_and_gripper() -> None:
    a = ObservationAssembler(ObsConfig(max_age_s=0.05))
    _feed(a, 0, 0.50)
    _feed(a, 10 * MS, 0.51)
    assert a.stale(10 * MS) == {}
    s = a.observation()["state"]
    assert s.dtype == np.float32 and s.shape == (20,)
    assert np.allclose(s[:3], [0.51, 0.0, 0.2]) and np.allclose(s[3:7], DOWN)
    assert s[7] == pytest.approx(1.0)  # 1 cm in 10 ms
    assert s[13] == pytest.approx(0.025)  # finger sum
    assert np.allclose(s[14:], np.arange(6.0))


def test_stale_and_missing_inputs_are_named_with_their_age() -> None:
    cfg = ObsConfig(cameras=("front",), image_height=4, image_width=4, max_age_s=0.05)
    a = ObservationAssembler(cfg)
    _feed(a, 0, 0.5)
    _feed(a, 10 * MS, 0.5)
    stale = a.stale(100 * MS)
    assert stale["current_pose"] == pytest.approx(0.09)
    assert stale["cameras/front/image_raw"] is None
    a.on_image("front", np.zeros((8, 8, 3), np.uint8), 100 * MS)
    _feed(a, 100 * MS, 0.5)
    assert a.stale(100 * MS) == {}
    assert a.observation()["images"]["front"].shape == (4, 4, 3)  # resized to the policy size


def test_zero_max_age_asks_for_the_exact_time() -> None:
    a = ObservationAssembler(ObsConfig(max_age_s=0.0))
    _feed(a, 0, 0.5)
    _feed(a, 90 * MS, 0.5)
    assert "current_pose" in a.stale(100 * MS)
    _feed(a, 100 * MS, 0.5)
    assert a.stale(100 * MS) == {}


def test_observation_before_inputs_raises() -> None:
    with pytest.raises(StaleObservationError):
        ObservationAssembler(ObsConfig()).observation()


def test_the_tcp_quaternion_keeps_the_tool_down_hemisphere() -> None:
    # q and -q are one rotation; a pose sent as -q (as mju_mat2Quat and tf give it beyond
    # about -90 deg of yaw) must not flip the observed vector.
    a = ObservationAssembler(ObsConfig(max_age_s=0.05))
    yaw = -1.6  # rad about the base z axis, past the conversions' switch
    q = np.array([0.0, np.cos(yaw / 2), np.sin(yaw / 2), 0.0])
    for t, sign in ((0, 1.0), (10 * MS, -1.0)):
        a.on_pose(Pose(np.array([0.5, 0.0, 0.2]), sign * q), t)
        a.on_joints(["finger_left", "finger_right"], np.array([0.01, 0.01]), t)
        a.on_wrench(np.zeros(6), t)
    s = a.observation()["state"]
    assert np.allclose(s[3:7], q, atol=1e-6)
    assert np.allclose(s[10:13], 0.0, atol=1e-6)  # no spurious turn between the two
