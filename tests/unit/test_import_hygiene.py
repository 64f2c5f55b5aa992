"""Robot-side node modules stay free of the simulator and the learning stack.

Each module is imported in a fresh interpreter (nothing cached from other tests), then
``sys.modules`` is inspected: the impedance bridge, reset and camera nodes run on the robot
PC and must not pull in mujoco, gymnasium or torch; the learner node must not pull in
mujoco. The cell contract (robot_rl.spec) they share is checked the same way.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ROBOT_SIDE = ("mujoco", "gymnasium", "torch")


def _loaded(module: str, watch: tuple[str, ...]) -> list[str]:
    code = (
        f"import json, sys, {module}\n"
        f"print(json.dumps([m for m in {list(watch)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "module",
    [
        "robot_rl.spec",
        "robot_rl.nodes.impedance_bridge",
        "robot_rl.nodes.reset",
        "robot_rl.nodes.camera",
    ],
)
def test_robot_side_nodes_import_no_simulator_and_no_learner(module: str) -> None:
    assert _loaded(module, ROBOT_SIDE) == []


def test_the_learner_node_imports_no_simulator() -> None:
    assert _loaded("robot_rl.nodes.learner", ("mujoco",)) == []
