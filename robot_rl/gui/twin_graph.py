"""A twin training graph on one inproc bus, run on its own thread: for the cockpit.

`TwinTrainingGraph` puts the lock-step twin node, the impedance bridge, the reset node,
the actor node (obeying ``episode_control``, listening to ``teleop/command``) and a small
learner node on one `InprocBus` with a `SimClock`, the same objects the process graph
runs. Everything is built and spun on one thread (the inproc bus is not thread-safe, and
the renderer's GL context belongs to the thread that made it); ``attach`` runs there
before the actor starts, so a cockpit (`BrowserDevice.attach_bus` plus a `TeleopNode`)
subscribes on the right thread. What the twin did is recorded under ``lock`` for the
tests (the twin is the judge): executed actions, the measured TCP, stored transitions.

While the actor is paused, the lock-step twin waits ``lockstep_patience_s`` for it, then
runs on without it (as it does for any silent peer); the bridge's watchdog then holds the
measured pose.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from robot_rl.bus import SimClock
from robot_rl.bus.api import Bus
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import Action, PoseStamped
from robot_rl.bus.msgs import Transition as TransitionMsg
from robot_rl.control.safety import Pose
from robot_rl.nodes.actor import ActorHilConfig, ActorNode, ActorNodeConfig
from robot_rl.nodes.bus_env import BusEnvConfig
from robot_rl.nodes.convert import pose_from_msg
from robot_rl.nodes.impedance_bridge import BridgeConfig, ImpedanceBridge
from robot_rl.nodes.learner import LearnerConfig, LearnerNode
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig
from robot_rl.nodes.reset import ResetConfig, ResetNode
from robot_rl.nodes.twin import TwinNode, TwinNodeConfig

T = TypeVar("T")


def wait_for(what: str, get: Callable[[], T], ok: Callable[[T], bool], limit_s: float = 30.0) -> T:
    """Poll ``get`` (every 10 ms) until ``ok`` of its value; raises AssertionError naming
    ``what`` after ``limit_s`` wall seconds (a bound on a broken run, not a timing claim)."""
    deadline = time.monotonic() + limit_s
    while not ok(value := get()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {limit_s} s")
        time.sleep(0.01)
    return value


# A small SAC that starts updating after 64 steps (the cockpit shows its counters).
SMALL_POLICY = (
    "{sac: {actor: {hidden_dims: [32, 32]}, critic: {hidden_dims: [32, 32]}, batch_size: 16,"
    " replay: {capacity_frames: 5000}}, random_steps: 64, weights_every_updates: 20}"
)


@dataclass
class TwinGraphConfig:
    """What the graph runs."""

    task: str = "reach"
    cameras: tuple[str, ...] = ()  # rendered and observed (pixels cost CPU)
    image_px: int = 64
    episode_steps: int = 50
    policy_overrides: str = SMALL_POLICY
    lockstep_patience_s: float = 0.3  # wall s the twin waits for a paused actor
    wait_for_start: bool = False
    run_dir: str = ""  # the learner's folder ("" = a temporary one)
    hil: ActorHilConfig = field(
        default_factory=lambda: ActorHilConfig(teleop_topic="teleop/command")
    )


@dataclass(frozen=True)
class StoredStep:
    """A transition as the actor sent it."""

    episode_id: int
    step: int
    reward: float
    terminated: bool
    truncated: bool


class TwinTrainingGraph:
    """See the module docstring. `start` returns once the graph is built; `stop` joins."""

    def __init__(
        self, cfg: TwinGraphConfig | None = None, attach: Callable[[Bus], object] | None = None
    ) -> None:
        self.cfg = cfg or TwinGraphConfig()
        self._attach = attach
        self.clock = SimClock()
        self.bus = InprocBus(clock=self.clock)
        self.lock = threading.Lock()
        self.actions: list[tuple[float, Action]] = []  # (sim s, executed action)
        self.tcp: list[tuple[float, Pose]] = []  # (sim s, measured TCP), every quantum
        self.stored: list[StoredStep] = []
        self.actor: ActorNode | None = None
        self.reset: ResetNode | None = None
        self.error: BaseException | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="twin_graph_")
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="twin-graph")

    def now_s(self) -> float:
        """Sim time (s)."""
        return self.clock.now_ns() * 1e-9

    def hold_since(
        self, t0_s: float, settle_s: float = 0.5, span_s: float = 2.0
    ) -> tuple[float, int]:
        """(TCP drift in mm, actions executed after ``t0_s``), judging the hold of an actor
        that stopped acting at ``t0_s``: the drift is over ``span_s`` of sim time from
        ``settle_s`` after its last action (the bridge's watchdog trips 150 ms after it and
        the arm comes to rest from the speed it had). Waits (wall, bounded) for the twin."""
        with self.lock:
            t_last = max((t for t, _ in self.actions if t <= t0_s), default=t0_s)
        start_s, end_s = t_last + settle_s, max(t0_s, t_last + settle_s) + span_s
        deadline = time.monotonic() + 60.0
        while self.now_s() < end_s and time.monotonic() < deadline:
            time.sleep(0.01)
        with self.lock:
            poses = [p.pos for t, p in self.tcp if start_s <= t <= end_s]
            acted = sum(t > t0_s for t, _ in self.actions)
        if len(poses) < 2:
            raise RuntimeError(f"the twin did not run on to sim time {end_s:.2f} s")
        return float(np.linalg.norm(poses[-1] - poses[0])) * 1e3, acted

    def start(self, timeout_s: float = 120.0) -> None:
        """Build and run the graph on its thread; returns once the actor is about to act."""
        self._thread.start()
        if not self._ready.wait(timeout_s) or self.error is not None:
            raise RuntimeError(f"the twin graph did not start: {self.error!r}")

    def stop(self) -> None:
        """Stop the actor and the thread (returns once it has ended)."""
        self._stop.set()
        self._thread.join(timeout=30.0)
        self._tmp.cleanup()

    def _record(self, bus: Bus) -> None:
        def on_action(msg: Action) -> None:
            with self.lock:
                self.actions.append((self.now_s(), msg))

        def on_tcp(msg: PoseStamped) -> None:
            with self.lock:
                self.tcp.append((self.now_s(), pose_from_msg(msg)))

        def on_transition(m: TransitionMsg) -> None:
            step = StoredStep(m.episode_id, m.step, float(m.reward), m.terminated, m.truncated)
            with self.lock:
                self.stored.append(step)

        bus.subscribe("action", Action, on_action)
        bus.subscribe("current_pose", PoseStamped, on_tcp)
        bus.subscribe("transitions", TransitionMsg, on_transition)

    def _run(self) -> None:
        cfg, bus = self.cfg, self.bus
        learner = twin = None
        try:
            obs = ObsConfig(
                cameras=cfg.cameras, image_height=cfg.image_px, image_width=cfg.image_px
            )
            policy = PolicyConfig(
                task=cfg.task, obs="pixels" if cfg.cameras else "state",
                overrides=cfg.policy_overrides,
            )  # fmt: skip
            loop = NodeLoop(bus)
            twin = TwinNode(
                bus,
                TwinNodeConfig(
                    task=cfg.task,
                    cameras=cfg.cameras,
                    image_height=cfg.image_px,
                    image_width=cfg.image_px,
                    lockstep_patience_s=cfg.lockstep_patience_s,
                ),
                sim_clock=self.clock,
            )
            bridge = ImpedanceBridge(bus, BridgeConfig(calibration="default", task=cfg.task))
            self.reset = ResetNode(
                bus, ResetConfig(task=cfg.task, twin_reset_service="twin/reset_objects")
            )
            run_dir = cfg.run_dir or self._tmp.name
            learner = LearnerNode(
                bus, LearnerConfig(obs=obs, policy=policy, checkpoint_dir=run_dir)
            )
            for node in (twin, bridge, self.reset, learner):
                loop.add(node)
            self._record(bus)
            if self._attach is not None:
                self._attach(bus)
            self.actor = ActorNode(
                bus,
                ActorNodeConfig(
                    obs=obs,
                    policy=policy,
                    env=BusEnvConfig(episode_steps=cfg.episode_steps),
                    hil=cfg.hil,
                    wait_for_start=cfg.wait_for_start,
                ),
                loop.spin_once,
            )
            self._ready.set()
            self.actor.run(self._stop.is_set)
        except BaseException as exc:  # reported to the caller of start / the test
            self.error = exc
            self._ready.set()
        finally:
            if learner is not None:
                learner.close()
            if twin is not None:
                twin.close()
