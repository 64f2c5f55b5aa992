"""The teleop node over the deterministic inproc bus on a sim clock: publishing, the
listener feeding the arbiter, and a device lost mid-intervention."""

from __future__ import annotations

import numpy as np

from robot_rl.bus.clock import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs.diagnostic_msgs import DiagnosticArray, DiagnosticStatus
from robot_rl.hil.arbiter import Arbiter, ArbiterConfig, Source
from robot_rl.hil.devices.keyboard import Keyboard, ScriptedKeys
from robot_rl.hil.mapping import TeleopMapping
from robot_rl.hil.teleop_node import TeleopListener, TeleopNode, TeleopNodeConfig

POLICY = np.array([0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 1.0])
Q = np.array([0.0, 1.0, 0.0, 0.0])


def test_node_publishes_and_a_lost_device_hands_back() -> None:
    clock = SimClock()
    bus = InprocBus(clock=clock)
    keys = Keyboard(source=ScriptedKeys([["w", "space"]] * 10, then="lost"))
    node = TeleopNode(bus, keys, TeleopNodeConfig(rate_hz=50.0))
    listener = TeleopListener(bus)
    diags: list[DiagnosticArray] = []
    bus.subscribe("/diagnostics", DiagnosticArray, diags.append)
    cfg = ArbiterConfig(handover_s=0.25)
    arb = Arbiter(cfg, TeleopMapping(cfg.mapping, 0.02, 0.1))

    sources = []
    for _ in range(12):  # 1.2 s of 10 Hz policy steps, 5 device samples each
        for _ in range(5):
            clock.advance(0.02)
            bus.spin_once()
        d = arb.step(POLICY, listener.latest, clock.now_ns() * 1e-9, Q)
        sources.append(d.source)
        if d.device_lost:
            lost_step = len(sources) - 1
    assert node.published == 10 and listener.received == 10
    assert sources[0] is Source.HUMAN and node.lost
    assert sources[lost_step] is Source.HANDOVER  # stale commands: handed back
    assert sources[-1] is Source.POLICY
    assert len(diags) == 1 and diags[0].status[0].level == DiagnosticStatus.ERROR
    assert "keyboard" in diags[0].status[0].message
    node.close()
    listener.close()
    bus.close()
