"""What the page shows from the bus: camera frames, and the cell's status and curves.

`FrameStore` is the `FrameProvider` (frames from the bus, or in ``record-demos`` straight
from the env); `BusCell` is the `StatusProvider` and `MetricsProvider` of a running
graph: episode events, reward estimates, executed actions (for the intervention curve),
``/diagnostics`` (the bridge's e-stop, the learner's counters, the actor's label counters,
every non-OK status) and the run folder's metrics.csv. Bus callbacks and the server's
thread meet here, so each holder takes a lock. Frames are JPEG-encoded lazily, once per new frame.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_rl.bus.api import Bus, Subscription
from robot_rl.bus.msgs.diagnostic_msgs import DiagnosticArray
from robot_rl.bus.msgs.robot_rl_interfaces import Action, EpisodeEvent, RewardEstimate
from robot_rl.bus.msgs.sensor_msgs import Image
from robot_rl.gui.config import GuiConfig
from robot_rl.gui.metrics import MetricsCsv
from robot_rl.gui.sources import CellStatus, Curves, DiagnosticView, RewardView
from robot_rl.nodes.convert import image_from_msg
from robot_rl.nodes.diagnostics import OK, values_of
from robot_rl.nodes.qos import COMMANDS, EVENTS, IMAGES, STATE_SUB

EVENT_NAMES = {
    EpisodeEvent.START: "start",
    EpisodeEvent.END: "end",
    EpisodeEvent.RESET: "reset",
    EpisodeEvent.SUCCESS: "success",
    EpisodeEvent.FAILURE: "failure",
    EpisodeEvent.PAUSE: "pause",
    EpisodeEvent.RESUME: "resume",
    EpisodeEvent.ABORT: "abort",
}


@dataclass
class _Frame:
    rgb: np.ndarray
    stamp_ns: int
    seq: int
    rx_s: float  # time.monotonic() at arrival
    rate_hz: float  # arrival rate, smoothed
    jpeg: bytes = b""


class FrameStore:
    """The latest frame of each camera, as RGB and (lazily) as JPEG."""

    def __init__(self, jpeg_quality: int = 80) -> None:
        self.jpeg_quality = jpeg_quality
        self._lock = threading.Lock()
        self._frames: dict[str, _Frame] = {}
        self.rejected = 0

    def put(self, camera: str, rgb: np.ndarray, stamp_ns: int) -> None:
        """Keep ``rgb`` (uint8 (H, W, 3)) as ``camera``'s latest frame; others are refused."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            self.count_rejected()
            return
        now = time.monotonic()
        with self._lock:
            old = self._frames.get(camera)
            seq, rate = 1, 0.0
            if old is not None:
                seq, dt = old.seq + 1, now - old.rx_s
                rate = old.rate_hz + 0.2 * (1.0 / max(dt, 1e-3) - old.rate_hz) if dt > 0 else 0.0
            self._frames[camera] = _Frame(np.array(rgb, copy=True), int(stamp_ns), seq, now, rate)

    def count_rejected(self) -> None:
        """Count a frame that could not be shown (wrong shape or encoding)."""
        with self._lock:
            self.rejected += 1

    def jpeg(self, camera: str) -> tuple[bytes, int, int] | None:
        """(JPEG bytes, stamp ns, frame seq) of the latest frame, or None before the first."""
        with self._lock:
            frame = self._frames.get(camera)
        if frame is None:
            return None
        if not frame.jpeg:
            import cv2

            ok, buf = cv2.imencode(
                ".jpg",
                np.ascontiguousarray(frame.rgb[:, :, ::-1]),
                [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality],
            )
            if not ok:
                return None
            # Two threads may both encode one frame; either result is correct.
            frame.jpeg = buf.tobytes()
        return frame.jpeg, frame.stamp_ns, frame.seq

    def summary(self) -> dict[str, dict[str, float]]:
        """{camera: {"seq", "stamp_ns", "width", "height", "age_ms", "rate_hz"}} of the
        cameras with a frame; age is the time since the frame reached this process."""
        now = time.monotonic()
        with self._lock:
            return {
                name: {
                    "seq": f.seq,
                    "stamp_ns": f.stamp_ns,
                    "width": int(f.rgb.shape[1]),
                    "height": int(f.rgb.shape[0]),
                    "age_ms": round((now - f.rx_s) * 1e3, 1),
                    "rate_hz": round(f.rate_hz, 1),
                }
                for name, f in sorted(self._frames.items())
            }


# Events that close an episode (its intervention point goes on the curve).
_ENDS = (EpisodeEvent.END, EpisodeEvent.SUCCESS, EpisodeEvent.FAILURE, EpisodeEvent.ABORT)
MAX_DIAGNOSTICS = 20  # non-OK diagnostics kept (newest first)


class BusCell:
    """`StatusProvider` + `MetricsProvider` of a graph: fed by bus callbacks (`attach`),
    read by the server's thread."""

    def __init__(self, cfg: GuiConfig) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        run = cfg.run_name or (Path(cfg.run_dir).name if cfg.run_dir else "")
        self._status = CellStatus(run=run or "bus (no run folder)")
        self._csv = MetricsCsv(cfg.run_dir) if cfg.run_dir else None
        self._curves = Curves(series={"interventions": [], "intervention_rate": []})
        self._episodes = 0
        self._intervened_steps = 0
        self._was_intervened = False
        self._updates_at: tuple[float, int] | None = None  # (wall s, updates) last seen

    def on_event(self, msg: EpisodeEvent) -> None:
        """An episode event from the actor or reset node."""
        kind = int(msg.kind)
        with self._lock:
            st = self._status
            if kind in _ENDS or kind == EpisodeEvent.START:
                self._close_episode()
            st.episode_event = EVENT_NAMES.get(kind, f"kind {kind}")
            st.episode_id = int(msg.episode_id)
            st.successes += kind == EpisodeEvent.SUCCESS
            st.failures += kind == EpisodeEvent.FAILURE
            if kind in (EpisodeEvent.PAUSE, EpisodeEvent.RESUME):
                st.paused = kind == EpisodeEvent.PAUSE

    def _close_episode(self) -> None:
        steps = self._status.episode_steps
        if steps == 0:
            return  # nothing happened since the last close (END after SUCCESS, ...)
        self._episodes += 1
        series = self._curves.series
        series["interventions"].append((self._episodes, self._status.episode_interventions))
        series["intervention_rate"].append((self._episodes, self._intervened_steps / steps))
        self._curves.version += 1
        self._status.episode_steps = self._status.episode_interventions = 0
        self._intervened_steps, self._was_intervened = 0, False

    def on_action(self, msg: Action) -> None:
        """An executed action: counts steps and intervention onsets."""
        with self._lock:
            st = self._status
            st.episode_steps += 1
            if msg.intervened:
                self._intervened_steps += 1
                st.episode_interventions += not self._was_intervened
            self._was_intervened = bool(msg.intervened)

    def on_reward(self, msg: RewardEstimate) -> None:
        """A reward estimate."""
        view = RewardView(
            str(msg.source),
            _finite_or_none(float(msg.reward)),
            _finite_or_none(float(msg.success_prob)),
            _finite_or_none(float(msg.latency_ms)),
        )
        with self._lock:
            self._status.reward = view

    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        """Keep every non-OK status; read the bridge's e-stop and the learner's counters."""
        with self._lock:
            st = self._status
            for s in msg.status:
                values = values_of(s)
                if "estop" in values:
                    st.estop = values["estop"] == "1"
                    st.estop_reason = values.get("estop_reason", "")
                if "updates" in values and "weights_version" in values:
                    self._learner(values)  # the learner's (the actor also has a version)
                if "label_disagreements" in values:  # the actor's human labels
                    st.labels = _int_or_none(values.get("labels")) or 0
                    st.label_disagreements = _int_or_none(values["label_disagreements"]) or 0
                if int(s.level) != OK:
                    view = DiagnosticView(s.name, int(s.level), s.message, msg.header.stamp.to_s())
                    st.diagnostics = [view, *st.diagnostics[: MAX_DIAGNOSTICS - 1]]

    def _learner(self, values: dict[str, str]) -> None:
        lv = self._status.learner
        lv.env_steps = _int_or_none(values.get("stored"))
        lv.weight_version = _int_or_none(values.get("weights_version"))
        lv.replay_size = _int_or_none(values.get("replay_transitions"))
        updates = _int_or_none(values.get("updates"))
        now = time.monotonic()
        if updates is not None and self._updates_at is not None:
            dt, du = now - self._updates_at[0], updates - self._updates_at[1]
            if dt > 0:
                lv.updates_per_s = round(du / dt, 2)
        lv.updates = updates
        if updates is not None:
            self._updates_at = (now, updates)

    def cell_status(self) -> CellStatus:
        """A copy of the status (with the run folder's latest evaluation counters)."""
        self._poll_csv()
        with self._lock:
            return self._status.copy()

    def curves(self) -> Curves:
        """The curves (evaluation curves from metrics.csv, intervention curves from the bus)."""
        self._poll_csv()
        with self._lock:
            series = {k: list(v) for k, v in self._curves.series.items()}
            return Curves(self._curves.version, series)

    def _poll_csv(self) -> None:
        if self._csv is None or not self._csv.poll():
            return
        with self._lock:
            self._curves.series.update(self._csv.series)
            self._curves.version += 1
            lv, latest = self._status.learner, self._csv.latest
            if lv.weight_version is None:  # no learner diagnostics: use the evaluations
                lv.env_steps = _int_or_none(latest.get("env_steps"))
                lv.updates = _int_or_none(latest.get("updates"))
                lv.updates_per_s = latest.get("updates_per_s")


def _finite_or_none(v: float) -> float | None:
    return round(v, 4) if math.isfinite(v) else None


def _int_or_none(v: object) -> int | None:
    try:
        return int(float(str(v)))
    except ValueError:
        return None


def attach_feeds(bus: Bus, cfg: GuiConfig, frames: FrameStore, cell: BusCell) -> list[Subscription]:
    """Subscribe the topics named in ``cfg``; callbacks run wherever the bus runs them
    (inside ``spin``, or inside ``publish`` on inproc)."""
    subs: list[Subscription] = []
    for cam in cfg.cameras:

        def on_image(msg: Image, cam: str = cam) -> None:
            try:
                rgb = image_from_msg(msg)
            except ValueError:
                frames.count_rejected()
                return
            frames.put(cam, rgb, msg.header.stamp.to_ns())

        topic = f"{cfg.camera_namespace}/{cam}/image_raw"
        subs.append(bus.subscribe(topic, Image, on_image, IMAGES))
    if cfg.episode_events_topic:
        subs.append(bus.subscribe(cfg.episode_events_topic, EpisodeEvent, cell.on_event, EVENTS))
    if cfg.reward_topic:
        subs.append(bus.subscribe(cfg.reward_topic, RewardEstimate, cell.on_reward, STATE_SUB))
    if cfg.action_topic:
        subs.append(bus.subscribe(cfg.action_topic, Action, cell.on_action, COMMANDS))
    if cfg.diagnostics_topic:
        subs.append(
            bus.subscribe(cfg.diagnostics_topic, DiagnosticArray, cell.on_diagnostics, EVENTS)
        )
    return subs
