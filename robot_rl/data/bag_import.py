"""rosbag2 (MCAP or sqlite3) -> zarr episodes, synchronised at the policy rate.

A bag recorded from a live graph holds the cell's topics (`BagTopics`): images,
``current_pose``, ``joint_states``, ``external_wrench``, ``action``, ``reward``,
``teleop/command`` and ``episode_events``. The import follows the live actor's rules:
- Messages are taken in header-stamp order (re-ordered within 2 s of stamp time).
- An episode runs from an EpisodeEvent START to END (committed) or ABORT (dropped). A
  new START before END, or the bag's end, drops the open episode (reported).
- Each Action is one step; its header stamp is the time of the observation it was
  computed from. The observation after the last action is one policy period later.
- An observation at time t takes, per input topic, the newest message stamped at or
  before t. It is fresh when its age is at most ``max_age_s`` (0: stamped exactly t).
  The state is built by the actor's own `ObservationAssembler`, so the velocity is the
  same finite difference of the last two poses.
- A stale or missing input is never reused silently: the episode is dropped and the
  report counts stale observations per topic. Nothing is interpolated.
- Step t's reward and success come from the newest RewardEstimate fresh at the next
  observation (success: success_prob >= ``success_threshold``); END "success" marks the
  last step terminated, END "time limit" truncated.
- ``intervened`` is the Action's flag (the actor sets it from the teleop arbiter);
  teleop/command messages are counted in the report but carry no step data.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Reader, ReaderError

from robot_rl.bus.cdr import decode
from robot_rl.bus.msgs import Action, EpisodeEvent, Image
from robot_rl.data.episodes import EpisodeSpec, EpisodeStore
from robot_rl.data.rosbag import GRIPPER_JOINTS, TOPIC_TYPES, BagTopics
from robot_rl.envs.twin_env import PROPRIO_DIM
from robot_rl.nodes.convert import image_from_msg, pose_from_msg, wrench_from_msg
from robot_rl.nodes.observation import ObsConfig, ObservationAssembler


@dataclass(frozen=True)
class ImportConfig:
    """How a bag becomes episodes."""

    topics: BagTopics = field(default_factory=BagTopics)
    cameras: tuple[str, ...] | None = None  # None: every camera found in the bag
    image_height: int = 128  # stored resolution; other sizes are resized (INTER_AREA)
    image_width: int = 128
    max_age_s: float = 0.1  # freshness of every input at an observation (0: exact stamps)
    policy_period_s: float = 0.1  # the observation after the last action comes this later
    success_threshold: float = 0.5  # RewardEstimate.success_prob at or above: success


@dataclass
class ImportReport:
    """What an import did; ``dropped`` says why each dropped episode was dropped."""

    episodes: int = 0
    frames: int = 0
    dropped: list[str] = field(default_factory=list)
    stale: dict[str, int] = field(default_factory=dict)  # topic -> stale observations
    messages: dict[str, int] = field(default_factory=dict)  # topic -> messages read

    def summary(self) -> str:
        """One paragraph for the CLI."""
        lines = [f"imported {self.episodes} episodes ({self.frames} frames)"]
        lines += [f"dropped: {d}" for d in self.dropped]
        lines += [f"stale observations on {t}: {n}" for t, n in sorted(self.stale.items())]
        return "\n".join(lines)


class _Timeline:
    """Messages of one topic sorted by header stamp (ns)."""

    def __init__(self) -> None:
        self.stamps: list[int] = []
        self.msgs: list[Any] = []

    def add(self, stamp: int, msg: Any) -> None:
        """Insert in stamp order; a repeat of a stamp already held is ignored, as the live
        assembler ignores it (the lock-step twin re-sends its last state while it waits)."""
        i = bisect.bisect_left(self.stamps, stamp)
        if i < len(self.stamps) and self.stamps[i] == stamp:
            return
        self.stamps.insert(i, stamp)
        self.msgs.insert(i, msg)

    def at(self, t: int, back: int = 0) -> tuple[int, Any] | None:
        """The newest entry stamped <= t (``back`` entries earlier), or None."""
        i = bisect.bisect_right(self.stamps, t) - 1 - back
        return (self.stamps[i], self.msgs[i]) if i >= 0 else None

    def keep_recent(self, window_ns: int) -> None:
        """Forget entries older than ``window_ns`` before the newest (keeps the last 2)."""
        if not self.stamps:
            return
        cut = bisect.bisect_left(self.stamps, self.stamps[-1] - window_ns)
        cut = min(cut, max(0, len(self.stamps) - 2))
        del self.stamps[:cut], self.msgs[:cut]


_PREROLL_NS = 1_000_000_000  # inputs kept from before an episode's START
# Messages are handled in header-stamp order: a bag is in receive order, and over DDS a
# large image can arrive after the event that followed it. This much stamp time is held.
_REORDER_NS = 2_000_000_000


class _StaleInputError(Exception):
    def __init__(self, topic: str, detail: str) -> None:
        super().__init__(f"{topic} {detail}")
        self.topic = topic


class _Importer:
    def __init__(self, store: EpisodeStore, cfg: ImportConfig, cameras: tuple[str, ...]) -> None:
        self.store, self.cfg, self.cameras = store, cfg, cameras
        self.obs_cfg = ObsConfig(
            cameras=cameras,
            image_height=cfg.image_height,
            image_width=cfg.image_width,
            gripper_joints=GRIPPER_JOINTS,
            max_age_s=cfg.max_age_s,
        )
        topics = cfg.topics
        self.by_topic: dict[str, str] = {getattr(topics, k): k for k in TOPIC_TYPES}
        self.by_topic.update({topics.image(c): f"image:{c}" for c in cameras})
        self.lines: dict[str, _Timeline] = {k: _Timeline() for k in self.by_topic.values()}
        self.open_id: int | None = None
        self.report = ImportReport()
        self.max_age_ns = round(cfg.max_age_s * 1e9)
        self.pending: list[tuple[int, int, int, str, Any]] = []  # reorder heap
        self.seq = 0

    def on_message(self, topic: str, raw: bytes) -> None:
        key = self.by_topic.get(topic)
        if key is None:
            return
        self.report.messages[topic] = self.report.messages.get(topic, 0) + 1
        if key == "teleop":
            return
        cls = Image if key.startswith("image:") else TOPIC_TYPES[key]
        msg: Any = decode(cls, raw)
        stamp = msg.header.stamp.to_ns()
        rank = {"episode_events": 1, "action": 2}.get(key, 0)
        heapq.heappush(self.pending, (stamp, rank, self.seq, key, msg))
        self.seq += 1
        while self.pending and self.pending[0][0] < stamp - _REORDER_NS:
            self._dispatch(*heapq.heappop(self.pending))

    def _dispatch(self, stamp: int, rank: int, seq: int, key: str, msg: Any) -> None:
        """Handle messages in stamp order; at equal stamps inputs first, then events, then
        actions (START is stamped at the first observation, before its first action)."""
        if key == "episode_events":
            self._on_event(msg)
        else:
            self.lines[key].add(stamp, msg)

    def _on_event(self, ev: EpisodeEvent) -> None:
        if ev.kind == EpisodeEvent.START:
            if self.open_id is not None:
                self.report.dropped.append(f"episode {self.open_id}: START before its END")
            self.open_id = int(ev.episode_id)
            self._forget()
        elif ev.kind in (EpisodeEvent.END, EpisodeEvent.ABORT) and self.open_id is not None:
            if ev.kind == EpisodeEvent.ABORT:
                self.report.dropped.append(f"episode {self.open_id}: aborted ({ev.detail})")
            else:
                self._commit(ev.detail)
            self.open_id = None
            self._forget()

    def _forget(self) -> None:
        """Drop the steps seen so far; keep a short pre-roll of the inputs, since the first
        observation of an episode is stamped before its START event."""
        for key, line in self.lines.items():
            if key in ("action", "reward"):
                line.stamps.clear()
                line.msgs.clear()
            else:
                line.keep_recent(_PREROLL_NS)

    def finish(self) -> None:
        while self.pending:
            self._dispatch(*heapq.heappop(self.pending))
        if self.open_id is not None:
            self.report.dropped.append(f"episode {self.open_id}: the bag ends before its END")

    # ------------------------------------------------------------------ one episode
    def _fresh(self, key: str, topic: str, t: int, back: int = 0) -> tuple[int, Any]:
        entry = self.lines[key].at(t, back)
        if entry is None:
            raise _StaleInputError(topic, f"has no message at or before {t * 1e-9:.3f} s")
        if t - entry[0] > self.max_age_ns:
            raise _StaleInputError(
                topic, f"is {(t - entry[0]) * 1e-9:.3f} s old at {t * 1e-9:.3f} s"
            )
        return entry

    def _observation(self, t: int) -> dict[str, Any]:
        topics, a = self.cfg.topics, ObservationAssembler(self.obs_cfg)
        pose_line = self.lines["current_pose"]
        stamp, pose = self._fresh("current_pose", topics.current_pose, t)
        prev = pose_line.at(t, back=1)
        if prev is None:
            raise _StaleInputError(topics.current_pose, "has no earlier sample for the velocity")
        a.on_pose(pose_from_msg(prev[1]), prev[0])
        a.on_pose(pose_from_msg(pose), stamp)
        stamp, js = self._fresh("joint_states", topics.joint_states, t)
        a.on_joints(js.name, js.position, stamp)
        stamp, wr = self._fresh("external_wrench", topics.external_wrench, t)
        a.on_wrench(wrench_from_msg(wr), stamp)
        for cam in self.cameras:
            stamp, img = self._fresh(f"image:{cam}", topics.image(cam), t)
            a.on_image(cam, image_from_msg(img), stamp)
        return a.observation()

    def _commit(self, detail: str) -> None:
        cfg, topics = self.cfg, self.cfg.topics
        steps = self.lines["action"].msgs
        if not steps:
            self.report.dropped.append(f"episode {self.open_id}: no actions")
            return
        times = [m.header.stamp.to_ns() for m in steps]
        times.append(times[-1] + round(cfg.policy_period_s * 1e9))
        try:
            obs = [self._observation(t) for t in times]
            rewards = [self._fresh("reward", topics.reward, t)[1] for t in times[1:]]
        except _StaleInputError as exc:
            self.report.stale[exc.topic] = self.report.stale.get(exc.topic, 0) + 1
            self.report.dropped.append(f"episode {self.open_id}: stale input: {exc}")
            return
        store, last = self.store, len(steps) - 1
        store.begin_episode(obs[0], times[0])
        for k, (act, rew) in enumerate(zip(steps, rewards, strict=True)):
            store.add_step(
                np.asarray(act.action, np.float32),
                float(rew.reward),
                obs[k + 1],
                times[k + 1],
                terminated=k == last and detail == "success",
                truncated=k == last and detail == "time limit",
                intervened=bool(act.intervened),
                success=bool(rew.success_prob >= cfg.success_threshold),
            )
        store.end_episode({"source": "rosbag2", "bag_episode_id": self.open_id, "end": detail})
        self.report.episodes += 1
        self.report.frames += len(times)


def bag_cameras(bag: str | Path, topics: BagTopics) -> tuple[str, ...]:
    """Camera names of the bag's image topics that match ``topics``' pattern."""
    ns = re.escape(topics.camera_namespace.strip("/"))
    pattern = re.compile(rf"^/?{ns}/([^/]+)/{re.escape(topics.image_suffix)}$")
    with Reader(bag) as reader:
        names = {m.group(1) for c in reader.connections if (m := pattern.match(c.topic))}
    return tuple(sorted(names))


def import_bag(
    bag: str | Path,
    out: str | Path,
    cfg: ImportConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Append the episodes of ``bag`` to the zarr store at ``out`` (created if needed).
    ``progress(n)`` gets the number of messages read so far. Blocks on disk I/O."""
    cfg = cfg or ImportConfig()
    try:
        return _import(bag, out, cfg, progress)
    except ReaderError as exc:  # not a bag, or a damaged one
        raise ValueError(f"{bag}: {exc}") from exc


def _import(
    bag: str | Path, out: str | Path, cfg: ImportConfig, progress: Callable[[int], None] | None
) -> ImportReport:
    cameras = cfg.cameras if cfg.cameras is not None else bag_cameras(bag, cfg.topics)
    with Reader(bag) as reader:
        action_dim = _action_dim(reader, cfg.topics.action)
        spec = EpisodeSpec(PROPRIO_DIM, action_dim, cameras, (cfg.image_height, cfg.image_width, 3))
        importer = _Importer(EpisodeStore(out, spec), cfg, cameras)
        for n, (conn, _, raw) in enumerate(reader.messages(), start=1):
            importer.on_message(conn.topic, raw)
            if progress is not None and n % 1000 == 0:
                progress(n)
    importer.finish()
    return importer.report


def _action_dim(reader: Reader, topic: str) -> int:
    conns = [c for c in reader.connections if c.topic == topic]
    if not conns:
        raise ValueError(f"the bag has no {topic!r} topic, so it holds no steps")
    for _, _, raw in reader.messages(connections=conns):
        return len(decode(Action, raw).action)
    raise ValueError(f"the bag's {topic!r} topic is empty")
