"""What the cockpit page shows and where its commands go: four small interfaces.

The server (`robot_rl.gui.server`) knows nothing about buses or training jobs. It pulls
from three providers and pushes to one sink, so the same page attaches to the ROS 2
graph (`robot_rl.gui.feeds.BusCell`, `robot_rl.gui.commands.BusCommandSink`) or to an
in-process training job (whatever implements these). Every method is called from the
server's thread and must return at once (no blocking I/O); implementations lock their
own state.

    status:   StatusProvider.cell_status() -> CellStatus       (pushed every 50 ms)
    frames:   FrameProvider.summary() / .jpeg(camera)           (pushed as they change)
    metrics:  MetricsProvider.curves() -> Curves                (pushed when version moves)
    commands: CommandSink.send(OperatorCommand)                 (episode controls, e-stop)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# What a page may ask for (docs/gui.md): the episode controls and the e-stop.
EPISODE_COMMANDS = ("start", "pause", "resume", "success", "failure", "reset")
ESTOP_COMMANDS = ("estop", "rearm")
COMMAND_KINDS = EPISODE_COMMANDS + ESTOP_COMMANDS


@dataclass(frozen=True)
class OperatorCommand:
    """One click of the operator: ``kind`` in `COMMAND_KINDS`; ``client`` the page that
    sent it; ``wall_s`` the server's time.time() at receipt."""

    kind: str
    client: str
    wall_s: float


@dataclass
class RewardView:
    """The latest reward estimate: its source (``twin``, ``classifier``, ``human``...),
    reward, success probability in [0, 1] and model latency (ms); None where unknown."""

    source: str = ""
    reward: float | None = None
    success_prob: float | None = None
    latency_ms: float | None = None


@dataclass
class LearnerView:
    """The learner's counters; None where the source does not say."""

    env_steps: int | None = None
    updates: int | None = None
    updates_per_s: float | None = None
    weight_version: int | None = None
    replay_size: int | None = None


@dataclass
class DiagnosticView:
    """One non-OK diagnostic as it arrived: level 1 WARN, 2 ERROR, 3 STALE."""

    name: str
    level: int
    message: str
    stamp_s: float


@dataclass
class CellStatus:
    """The run and the cell as the page shows them (JSON via dataclasses.asdict)."""

    run: str = ""  # which run/graph the page is attached to
    episode_id: int = 0
    episode_event: str = ""  # start, end, reset, success, failure, pause, resume, abort
    episode_steps: int = 0  # steps of the current episode so far
    episode_interventions: int = 0  # intervention onsets in the current episode
    successes: int = 0
    failures: int = 0
    labels: int = 0  # human success/failure labels the actor applied
    label_disagreements: int = 0  # labels that contradicted the env's/classifier's verdict
    paused: bool = False  # the actor announced a pause (and no resume since)
    estop: bool = False  # the bridge reports its e-stop latched
    estop_reason: str = ""
    reward: RewardView = field(default_factory=RewardView)
    learner: LearnerView = field(default_factory=LearnerView)
    diagnostics: list[DiagnosticView] = field(default_factory=list)  # newest first

    def copy(self) -> CellStatus:
        """A copy that shares nothing mutable with this one (for another thread)."""
        out = CellStatus(**{**self.__dict__, "diagnostics": list(self.diagnostics)})
        out.learner = LearnerView(**self.learner.__dict__)
        out.reward = RewardView(**self.reward.__dict__)
        return out


@dataclass
class Curves:
    """Learning curves as (x, y) points. ``version`` grows whenever a series changes.

    Series the page draws: ``success_rate`` and ``return`` (x = env steps, from the
    learner's evaluations), ``interventions`` and ``intervention_rate`` (x = episode
    number; the onsets per episode and the fraction of its steps a human drove)."""

    version: int = 0
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


class StatusProvider(Protocol):
    def cell_status(self) -> CellStatus:
        """The current status; called every push period."""
        ...


class FrameProvider(Protocol):
    def summary(self) -> dict[str, dict[str, float]]:
        """{camera: {"seq", "stamp_ns", "width", "height", "age_ms", "rate_hz"}} of cameras
        with a frame (age: since the frame arrived; rate: arrivals per second)."""
        ...

    def jpeg(self, camera: str) -> tuple[bytes, int, int] | None:
        """(JPEG bytes, stamp ns, frame seq) of the latest frame, None before the first."""
        ...


class MetricsProvider(Protocol):
    def curves(self) -> Curves:
        """The curves now (cheap when nothing changed)."""
        ...


class CommandSink(Protocol):
    def send(self, cmd: OperatorCommand) -> None:
        """Deliver one command (queue it if the consumer lives on another thread)."""
        ...


@dataclass
class CockpitSources:
    """The four things a `GuiServer` is attached to."""

    status: StatusProvider
    frames: FrameProvider
    metrics: MetricsProvider
    commands: CommandSink
