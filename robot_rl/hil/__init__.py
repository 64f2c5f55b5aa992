"""robot_rl.hil: human in the loop. Teleop devices, arbitration, routing of interventions
into replay (HIL-SERL, RLIF, BC/DAgger), a simulated operator for the twin, demo
recording. See docs/hil.md; the training-loop hooks are in `session`."""

from __future__ import annotations

from robot_rl.hil.arbiter import Arbiter, ArbiterConfig, Decision, Source
from robot_rl.hil.frames import FrameConfig
from robot_rl.hil.mapping import MappingConfig, TeleopMapping
from robot_rl.hil.routing import Router, RouterConfig
from robot_rl.hil.session import HilConfig, HilSession
from robot_rl.hil.stats import InterventionStats

__all__ = [
    "Arbiter",
    "ArbiterConfig",
    "Decision",
    "FrameConfig",
    "HilConfig",
    "HilSession",
    "InterventionStats",
    "MappingConfig",
    "Router",
    "RouterConfig",
    "Source",
    "TeleopMapping",
]
