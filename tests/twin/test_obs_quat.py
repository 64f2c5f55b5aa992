"""The TCP quaternion of a twin observation is continuous when the tool turns past -90 deg
of yaw, where MuJoCo's matrix-to-quaternion conversion switches from q to -q."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.envs.twin_env import TwinEnv
from robot_rl.spec import OBS_QUAT_HEMISPHERE
from robot_rl.twin.tasks.pick_cube import tcp_yaw

pytestmark = pytest.mark.twin


def test_turning_past_minus_90_deg_of_yaw_does_not_flip_the_observed_quaternion() -> None:
    env = TwinEnv(task="pick_cube", obs="state")
    obs, _ = env.reset(seed=0)
    turn = np.array([0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 1.0], np.float32)  # yaw down, open
    quats, raw_flips, yaws = [obs["state"][3:7]], 0, []
    for _ in range(40):
        obs, *_ = env.step(turn)
        quats.append(obs["state"][3:7])
        raw_flips += int(env.cell.tcp_pose().quat @ OBS_QUAT_HEMISPHERE < 0)
        yaws.append(tcp_yaw(env.cell))
    env.close()
    assert min(yaws) < -np.pi / 2 - 0.05, "the tool never turned past -90 deg"
    assert raw_flips > 0  # MuJoCo's own quaternion did switch sign there
    jumps = np.abs(np.diff(np.array(quats), axis=0)).max()
    assert jumps < 0.2  # one policy step turns the tool by far less than a sign flip
