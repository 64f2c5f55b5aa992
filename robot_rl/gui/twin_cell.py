"""A twin cell behind the bus, stepped on a sim clock: to try the cockpit without a robot.

`TwinCellRig` puts the twin node (free running), the impedance bridge and a scripted
policy (a constant action at 10 Hz, published on ``action`` like the actor's) on one
`InprocBus` with a `SimClock`. `step` advances sim time by one 10 ms quantum and runs
every callback and timer that is due, in the calling thread. The e-stop tests use it
with the twin as the judge (TCP drift, accepted targets); the GUI benchmark and the
screenshot use it as a live cell. `run_in_thread` paces it at about real time.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from robot_rl.bus import SimClock
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import Action, Header, PoseStamped
from robot_rl.control.safety import Pose
from robot_rl.nodes.convert import pose_from_msg
from robot_rl.nodes.impedance_bridge import BridgeConfig, ImpedanceBridge
from robot_rl.nodes.twin import TwinNode, TwinNodeConfig

QUANTUM_S = 0.01


class TwinCellRig:
    """Twin, bridge and a scripted policy on one inproc bus; not thread-safe except
    `run_in_thread`/`stop` and the lock-guarded readers."""

    def __init__(
        self, task: str = "reach", cameras: tuple[str, ...] = (), image_px: int = 96
    ) -> None:
        self.clock = SimClock()
        self.bus = InprocBus(clock=self.clock)
        self.twin = TwinNode(
            self.bus,
            TwinNodeConfig(
                task=task,
                cameras=cameras,
                image_height=image_px,
                image_width=image_px,
                lockstep=False,
                quantum_s=QUANTUM_S,
            ),
        )
        self.bridge = ImpedanceBridge(self.bus, BridgeConfig(calibration="default", task=task))
        # The scripted policy: this action every 100 ms (zeros until set).
        self.action = np.zeros(7, np.float32)
        self.actions_sent = 0
        self._action_pub = self.bus.publisher("action", Action)
        self.bus.timer(0.1, self._act)
        self.lock = threading.Lock()
        self.targets: list[tuple[float, Pose]] = []  # (sim s, target_pose) as published
        self.tcp: list[tuple[float, Pose]] = []  # (sim s, measured TCP) every quantum
        self.bus.subscribe("target_pose", PoseStamped, self._on_target)
        self.bus.subscribe("current_pose", PoseStamped, self._on_tcp)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now_s(self) -> float:
        """Sim time (s)."""
        return self.clock.now_ns() * 1e-9

    def _act(self) -> None:
        self.actions_sent += 1
        header = Header(self.bus.now(), "base")
        self._action_pub.publish(Action(header, self.actions_sent, 0, self.action.copy(), False))

    def _on_target(self, msg: PoseStamped) -> None:
        self.targets.append((self.now_s(), pose_from_msg(msg)))

    def _on_tcp(self, msg: PoseStamped) -> None:
        self.tcp.append((self.now_s(), pose_from_msg(msg)))

    def step(self, n: int = 1) -> None:
        """Advance ``n`` quanta of sim time, running what is due (under ``lock``)."""
        for _ in range(n):
            with self.lock:
                self.clock.advance(QUANTUM_S)
                self.bus.spin_once()

    def run_for(self, wall_s: float, realtime_factor: float = 1.0) -> None:
        """Step in this thread at about ``realtime_factor`` x wall time for ``wall_s``."""
        t0, s0 = time.monotonic(), self.now_s()
        while not self._stop.is_set() and time.monotonic() - t0 < wall_s:
            self.step()
            ahead = (self.now_s() - s0) / realtime_factor - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)

    def run_in_thread(self, realtime_factor: float = 1.0) -> None:
        """Step on a daemon thread at about ``realtime_factor`` x wall time until `halt`.
        Only without cameras: the renderer's GL context belongs to the creating thread."""
        if self.twin.cfg.cameras:
            raise RuntimeError("a rig with cameras renders in its own thread: use run_for")

        def run() -> None:
            self.run_for(float("inf"), realtime_factor)

        self._thread = threading.Thread(target=run, daemon=True, name="twin-cell")
        self._thread.start()

    def halt(self) -> None:
        """Stop the stepping thread (if any); returns once it has stopped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def stop(self) -> None:
        """`halt`, then release the renderer and the bus."""
        self.halt()
        self.twin.close()
        self.bus.close()
