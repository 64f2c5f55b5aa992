"""``robot-rl train --gui``: the operator's cockpit attached to the in-process job.

`TrainCockpit` is the page's `CockpitSources` for `robot_rl.train.run.train`: the training
loop calls `update` after every iteration (on its own thread), the server's thread reads
the copies kept here under a lock. What the page shows: the run, the episode and its
announced events, the last reward, the learner's counters, the evaluation curves and the
intervention curves, and the twin's cameras (rendered at most ``frame_hz`` times per wall
second). Its episode controls go to the actor's `EpisodeControl` (robot_rl.loop.control),
the same code the actor node obeys.

There is no bridge in the in-process job: STOP latches a pause that only re-arm lifts (the
twin does not move while the actor takes no step). The page's jog controls do not steer
the in-process actor (its operator is the simulated one, ``--hil``); to intervene from the
page, run the training graph (``graph up --graph training`` plus ``robot-rl gui``).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from robot_rl.gui.config import GuiConfig
from robot_rl.gui.device import BrowserDevice
from robot_rl.gui.feeds import FrameStore
from robot_rl.gui.sources import (
    CellStatus,
    CockpitSources,
    Curves,
    LearnerView,
    OperatorCommand,
    RewardView,
)
from robot_rl.loop.actor import ActorCore
from robot_rl.loop.control import EpisodeControl
from robot_rl.loop.learner import LearnerCore
from robot_rl.train.report import EvalPoint

CAMERA = "twin"  # the name the page shows the twin's rendered view under


class TrainCockpit:
    """Status, frames, curves and commands of one in-process run (see the module doc)."""

    def __init__(
        self, run: str, control: EpisodeControl, reward_source: str, frame_hz: float = 10.0
    ):
        self.control, self.reward_source = control, reward_source
        self.frames = FrameStore()
        self.frame_period_s = 1.0 / frame_hz
        self._last_frame_s = 0.0
        self._lock = threading.Lock()
        self._status = CellStatus(run=run)
        self._curves = Curves(series={})
        self._estop = ""  # the reason while latched
        self._episodes_done = 0
        self._seen_evals = 0

    # ------------------------------------------------------------------ commands
    def send(self, cmd: OperatorCommand) -> None:
        """A click of the page (server thread). While STOP is latched only re-arm (and
        other stops) are taken; the page is told why otherwise."""
        with self._lock:
            if cmd.kind == "estop":
                self._estop = self._estop or f"estop from the cockpit ({cmd.client[:8]})"
                self.control.request("pause", f"estop {cmd.client}")
                return
            if cmd.kind == "rearm":
                if self._estop:
                    self._estop = ""
                    self.control.request("resume", f"rearm {cmd.client}")
                return
            if self._estop and cmd.kind in ("resume", "start"):
                raise RuntimeError("the stop is latched: re-arm first")
        self.control.request(cmd.kind, f"gui {cmd.client}")

    # ------------------------------------------------------------------ training loop side
    def update(
        self, actor: ActorCore, learner: LearnerCore, sent: list[Any], history: list[EvalPoint],
        env: Any = None,
    ) -> None:  # fmt: skip
        """Take the job's state after one loop iteration (the training thread); renders
        ``env`` (a `TwinEnv`) when a frame is due."""
        events = self.control.take_events()
        with self._lock:
            st = self._status
            for kind, _ in events:
                if kind != "ignored":
                    st.episode_event = kind
            st.episode_id = max(actor.episodes - 1, 0)
            st.episode_steps = actor.episode_step
            st.paused, st.estop, st.estop_reason = (
                self.control.paused,
                bool(self._estop),
                self._estop,
            )
            st.labels, st.label_disagreements = self.control.labels, self.control.disagreements
            if sent:
                st.reward = _reward_view(self.reward_source, sent[-1].reward, actor.last_info)
            st.learner = LearnerView(
                learner.env_steps, learner.agent.num_updates, round(learner.updates_per_s, 2),
                actor.policy_version, learner.online.num_transitions,
            )  # fmt: skip
            if actor.episode_step == 1 and st.episode_event not in ("pause", "resume"):
                st.episode_event = "start"
            self._episodes(actor)
            self._evaluations(history)
        now = time.monotonic()
        if (
            env is not None
            and hasattr(env, "render")
            and now - self._last_frame_s >= self.frame_period_s
        ):
            self._last_frame_s = now
            self.frames.put(CAMERA, env.render(), time.time_ns())

    def _episodes(self, actor: ActorCore) -> None:
        """Count the episodes finished in this iteration (the loop clears them after)."""
        st, series = self._status, self._curves.series
        for ep in actor.finished:
            st.successes += ep.success
            st.failures += not ep.success
            self._episodes_done += 1
            n = self._episodes_done
            series.setdefault("interventions", []).append((n, ep.interventions))
            rate = ep.intervention_steps / ep.steps if ep.steps else 0.0
            series.setdefault("intervention_rate", []).append((n, rate))
            self._curves.version += 1
            if st.episode_event not in ("success", "failure"):
                st.episode_event = "end"

    def _evaluations(self, history: list[EvalPoint]) -> None:
        if len(history) == self._seen_evals:
            return
        self._seen_evals = len(history)
        self._curves.series["success_rate"] = [(p.env_steps, p.success) for p in history]
        self._curves.series["return"] = [(p.env_steps, p.mean_return) for p in history]
        self._curves.version += 1

    # ------------------------------------------------------------------ server side
    def cell_status(self) -> CellStatus:
        with self._lock:
            return self._status.copy()

    def curves(self) -> Curves:
        with self._lock:
            return Curves(
                self._curves.version, {k: list(v) for k, v in self._curves.series.items()}
            )

    def sources(self) -> CockpitSources:
        return CockpitSources(self, self.frames, self, self)


def open_cockpit(cockpit: TrainCockpit, cfg: GuiConfig) -> BrowserDevice:
    """Serve the page for ``cockpit`` (prints its address); close the returned device."""
    device = BrowserDevice(cfg, sources=cockpit.sources())
    device.open()
    return device


def _reward_view(source: str, reward: float, info: dict[str, Any]) -> RewardView:
    """The stored reward, with the classifier's probability and latency when the twin's
    reward came from one (`LearnedRewardEnv` puts its `RewardOutput` in the info)."""
    out = info.get("learned_reward")
    if out is None:
        return RewardView(source, round(float(reward), 4))
    prob = float(out.success_prob)
    return RewardView(
        str(out.source),
        round(float(reward), 4),
        None if math.isnan(prob) else round(prob, 4),
        round(float(out.latency_ms), 2),
    )
