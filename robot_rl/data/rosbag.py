"""rosbag2 (MCAP) files: the typestore, a writer of our messages, and zarr -> bag export.

Messages are encoded with our own CDR codec (robot_rl.bus.cdr, byte-identical to rosidl's)
and written with rosbags' writer; the MCAP schemas come from rosbags' ROS 2 Humble store
plus our ``robot_rl_interfaces`` types, whose definitions are generated from the message
dataclasses (constants are left out: they do not affect the wire format).

Export writes, per episode of T steps with observation stamps s_0 .. s_T, the topics a
live graph carries (`BagTopics`), stamped and logged at bus time:
- images (rgb8) on ``{camera_namespace}/<camera>/image_raw`` at every s_t;
- ``current_pose`` at s_t and 1 ms before it, so that the finite difference the live
  actor uses (robot_rl.nodes.observation) gives back the stored TCP velocity;
- ``joint_states`` (the two finger joints, half the opening each), ``external_wrench``;
- ``action`` (Action) at s_t for t < T, ``reward`` (RewardEstimate, success_prob 1 or 0)
  at s_{t+1}, and ``episode_events``: START at s_0, then END ("success" if terminated,
  "time limit" if truncated) or ABORT at s_T.
Episodes whose stamps would overlap the previous one are shifted later (reported).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Writer
from rosbags.rosbag2.enums import StoragePlugin
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from robot_rl.bus.api import Bus
from robot_rl.bus.cdr import encode, fields_of
from robot_rl.bus.cdr.schema import Array, Primitive, Sequence, StringType
from robot_rl.bus.msgs import (
    ALL_MESSAGES,
    Action,
    EpisodeEvent,
    Header,
    Image,
    JointState,
    Message,
    PoseStamped,
    RewardEstimate,
    TeleopCommand,
    Time,
    WrenchStamped,
)
from robot_rl.bus.qos import QoS, Reliability
from robot_rl.control.rotations import quat_conj, quat_from_rotvec, quat_mul
from robot_rl.control.safety_config import Pose
from robot_rl.data.episodes import Episode, EpisodeStore
from robot_rl.nodes.convert import image_to_msg, pose_to_msg, wrench_to_msg

VELOCITY_DT_NS = 1_000_000  # the pose pair that carries the TCP velocity is 1 ms apart
GRIPPER_JOINTS = ("finger_left", "finger_right")


@dataclass(frozen=True)
class BagTopics:
    """Topic names of a bag, as the live graph names them (robot_rl.nodes.graph)."""

    camera_namespace: str = "/cameras"
    image_suffix: str = "image_raw"  # "color/image_raw" for realsense2_camera
    current_pose: str = "/current_pose"
    joint_states: str = "/joint_states"
    external_wrench: str = "/external_wrench"
    action: str = "/action"
    reward: str = "/reward"
    episode_events: str = "/episode_events"
    teleop: str = "/teleop/command"
    frame_id: str = "base"

    def image(self, camera: str) -> str:
        """Image topic of ``camera``."""
        return f"{self.camera_namespace.rstrip('/')}/{camera}/{self.image_suffix}"

    def under(self, namespace: str) -> BagTopics:
        """The same topics inside ROS namespace ``namespace`` ("/robot1")."""
        ns = "/" + namespace.strip("/")
        moved = {
            f.name: ns + getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("image_suffix", "frame_id")
        }
        return dataclasses.replace(self, **moved)


# `BagTopics` field -> message class of the topic it names (images: sensor_msgs/Image)
TOPIC_TYPES: dict[str, type[Message]] = {
    "current_pose": PoseStamped,
    "joint_states": JointState,
    "external_wrench": WrenchStamped,
    "action": Action,
    "reward": RewardEstimate,
    "episode_events": EpisodeEvent,
    "teleop": TeleopCommand,
}


# ------------------------------------------------------------------------ type store
def _wire_name(kind: Any) -> str:
    if isinstance(kind, Primitive):
        return kind.name
    if isinstance(kind, StringType):
        return "string"
    if isinstance(kind, Sequence):
        return f"{_wire_name(kind.elem)}[]"
    if isinstance(kind, Array):
        return f"{_wire_name(kind.elem)}[{kind.length}]"
    pkg, _, name = kind.__ros_type__.split("/")
    return f"{pkg}/{name}"


def msg_definition(cls: type[Message]) -> str:
    """The ``.msg`` text of a message class, generated from its wire schema."""
    return "".join(f"{_wire_name(f.kind)} {f.name}\n" for f in fields_of(cls))


_TYPESTORE: Typestore | None = None


def typestore() -> Typestore:
    """rosbags' ROS 2 Humble typestore plus every robot_rl_interfaces message. Cached."""
    global _TYPESTORE
    if _TYPESTORE is None:
        ts = get_typestore(Stores.ROS2_HUMBLE)
        types: dict[str, Any] = {}
        for cls in ALL_MESSAGES:
            name = cls.__ros_type__
            if name.startswith("robot_rl_interfaces/msg/"):
                types.update(get_types_from_msg(msg_definition(cls), name))
        ts.register(types)
        _TYPESTORE = ts
    return _TYPESTORE


class BagWriter:
    """Writes our messages into a new rosbag2 MCAP bag at ``path`` (a folder that must not
    exist). Use as a context manager; blocks on disk I/O."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._connections: dict[str, Any] = {}
        self.messages = 0
        self.bytes = 0

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def write(self, topic: str, msg: Message, log_time_ns: int) -> None:
        """Append ``msg`` on ``topic``, logged at ``log_time_ns`` (bus time, ns)."""
        conn = self._connections.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msg.__ros_type__, typestore=typestore())
            self._connections[topic] = conn
        raw = encode(msg)
        self._writer.write(conn, int(log_time_ns), raw)
        self.messages += 1
        self.bytes += len(raw)


class BagRecorder:
    """Records topics of a live bus into a `BagWriter`, as ``ros2 bag record`` does: each
    message is logged at its receive time (bus time of the recording participant). The
    callbacks run inside the bus's spin, so spin the bus while recording; the queue
    ``depth`` bounds what one spin can lose."""

    def __init__(
        self, bus: Bus, writer: BagWriter, topics: Mapping[str, type[Message]], depth: int = 1000
    ) -> None:
        self.writer, self._bus = writer, bus
        self._subs = []
        for topic, cls in topics.items():
            best_effort = cls is Image  # images are published best effort (nodes/qos.py)
            qos = QoS(Reliability.BEST_EFFORT if best_effort else Reliability.RELIABLE, depth=depth)
            self._subs.append(bus.subscribe(topic, cls, self._callback(topic), qos))

    def _callback(self, topic: str) -> Callable[[Message], None]:
        def record(msg: Message) -> None:
            self.writer.write(topic, msg, self._bus.now().to_ns())

        return record


def live_topics(topics: BagTopics, cameras: Iterable[str]) -> dict[str, type[Message]]:
    """The cell topics a bag of the live graph holds, with their message classes."""
    out = {getattr(topics, field): cls for field, cls in TOPIC_TYPES.items()}
    out.update({topics.image(c): Image for c in cameras})
    return out


# ------------------------------------------------------------------------ export
def _previous_pose(state: np.ndarray) -> Pose:
    """The pose ``VELOCITY_DT_NS`` before the state's pose, moving at its TCP velocity."""
    pos, quat = state[0:3].astype(np.float64), state[3:7].astype(np.float64)
    dt = VELOCITY_DT_NS * 1e-9
    step = quat_from_rotvec(state[10:13].astype(np.float64) * dt)
    return Pose(pos - state[7:10] * dt, quat_mul(quat_conj(step), quat))


def _episode_messages(
    ep: Episode, topics: BagTopics, shift_ns: int, cameras: Iterable[str]
) -> Iterable[tuple[int, str, Message]]:
    """(log time, topic, message) of one episode, in time order."""
    stamps = ep.timestamp_ns + shift_ns
    fid = topics.frame_id
    t_end = len(stamps) - 1
    for t, s in enumerate(int(x) for x in stamps):
        stamp, state = Time.from_ns(s), ep.state[t]
        if t > 0:  # the outcome of step t - 1, stamped for the observation it scored
            prob = 1.0 if ep.success[t - 1] else 0.0
            reward = RewardEstimate(Header(stamp, fid), "store", float(ep.reward[t - 1]), prob)
            yield s, topics.reward, reward
        pre = Time.from_ns(s - VELOCITY_DT_NS)
        yield s - VELOCITY_DT_NS, topics.current_pose, pose_to_msg(_previous_pose(state), pre, fid)
        pose = Pose(state[0:3].astype(np.float64), state[3:7].astype(np.float64))
        yield s, topics.current_pose, pose_to_msg(pose, stamp, fid)
        half = np.full(2, float(state[13]) / 2)
        zeros = np.zeros(2)
        yield (
            s,
            topics.joint_states,
            JointState(Header(stamp, ""), list(GRIPPER_JOINTS), half, zeros, zeros),
        )
        yield s, topics.external_wrench, wrench_to_msg(state[14:20], stamp, fid)
        for cam in cameras:
            yield s, topics.image(cam), image_to_msg(ep.images[cam][t], stamp, cam)
        if t == 0:
            yield s, topics.episode_events, EpisodeEvent(Header(stamp, ""), 0, ep.index, "")
        if t < t_end:
            a = Action(Header(stamp, fid), t + 1, 0, ep.action[t], bool(ep.intervened[t]))
            yield s, topics.action, a
    last = Time.from_ns(int(stamps[-1]))
    if ep.terminated[-1]:
        kind, detail = EpisodeEvent.END, "success"
    elif ep.truncated[-1]:
        kind, detail = EpisodeEvent.END, "time limit"
    else:
        kind, detail = EpisodeEvent.ABORT, "ended without termination or truncation"
    yield (
        int(stamps[-1]),
        topics.episode_events,
        EpisodeEvent(Header(last, ""), kind, ep.index, detail),
    )


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    episodes: int
    frames: int  # observations (one image per camera each)
    messages: int
    bytes: int  # serialized message bytes (the bag file adds MCAP framing)
    shifted: int  # episodes moved later because their stamps overlapped the previous one


def export_bag(
    store: EpisodeStore,
    out: str | Path,
    episodes: Iterable[int] | None = None,
    topics: BagTopics | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write episodes of ``store`` (default: all) into a new MCAP bag folder ``out``.
    ``progress(frames)`` is called after each episode. Raises `EpisodeDamagedError` on a
    damaged episode (nothing damaged is exported)."""
    topics = topics or BagTopics()
    if store.spec.state_dim != 20:
        raise ValueError(
            f"bag export needs the 20-d cell state (docs/interfaces.md), store has "
            f"{store.spec.state_dim}"
        )
    count = frames = shifted = 0
    end_ns: int | None = None
    with BagWriter(out) as bag:
        for i in range(len(store)) if episodes is None else episodes:
            ep = store.episode(i)
            shift = 0
            first = int(ep.timestamp_ns[0]) - VELOCITY_DT_NS
            if end_ns is not None and first <= end_ns:
                shift, shifted = end_ns + 1_000_000_000 - first, shifted + 1
            elif first < 0:  # sim time starts at 0; a bag's log times cannot be negative
                shift, shifted = -first, shifted + 1
            for log_ns, topic, msg in _episode_messages(ep, topics, shift, store.spec.cameras):
                bag.write(topic, msg, log_ns)
            end_ns = int(ep.timestamp_ns[-1]) + shift
            count, frames = count + 1, frames + len(ep.timestamp_ns)
            if progress is not None:
                progress(len(ep.timestamp_ns))
    return ExportReport(count, frames, bag.messages, bag.bytes, shifted)
