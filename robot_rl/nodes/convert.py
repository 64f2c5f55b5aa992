"""Conversions between bus messages and the core's numpy types (no maths beyond reordering).

Quaternions are w, x, y, z in the core and x, y, z, w in ROS messages.
"""

from __future__ import annotations

import numpy as np

from robot_rl.bus.msgs import (
    CameraInfo,
    Header,
    Image,
    JointState,
    Point,
    PoseStamped,
    Quaternion,
    Time,
    Vector3,
    Wrench,
    WrenchStamped,
)
from robot_rl.bus.msgs import Pose as PoseMsg
from robot_rl.control.safety import Pose


def stamp_s(header: Header) -> float:
    """Header stamp in seconds."""
    return header.stamp.to_s()


def pose_to_msg(pose: Pose, stamp: Time, frame_id: str) -> PoseStamped:
    """Core pose (pos m, quat wxyz) to a PoseStamped."""
    p, q = pose.pos, pose.quat
    return PoseStamped(
        Header(stamp, frame_id),
        PoseMsg(
            Point(float(p[0]), float(p[1]), float(p[2])),
            Quaternion(float(q[1]), float(q[2]), float(q[3]), float(q[0])),
        ),
    )


def pose_from_msg(msg: PoseStamped) -> Pose:
    """PoseStamped to a core pose (values are not validated here; the filter does that)."""
    p, q = msg.pose.position, msg.pose.orientation
    return Pose(np.array([p.x, p.y, p.z]), np.array([q.w, q.x, q.y, q.z]))


def wrench_to_msg(wrench: np.ndarray, stamp: Time, frame_id: str) -> WrenchStamped:
    """(6,) force N + torque Nm to a WrenchStamped."""
    w = [float(v) for v in wrench]
    return WrenchStamped(
        Header(stamp, frame_id), Wrench(Vector3(w[0], w[1], w[2]), Vector3(w[3], w[4], w[5]))
    )


def wrench_from_msg(msg: WrenchStamped) -> np.ndarray:
    """WrenchStamped to (6,) force N + torque Nm."""
    f, t = msg.wrench.force, msg.wrench.torque
    return np.array([f.x, f.y, f.z, t.x, t.y, t.z])


def joint_state_msg(
    names: list[str], position: np.ndarray, velocity: np.ndarray, effort: np.ndarray, stamp: Time
) -> JointState:
    """A JointState (rad or m, rad/s or m/s, Nm or N)."""
    return JointState(
        Header(stamp, ""),
        list(names),
        np.asarray(position, np.float64),
        np.asarray(velocity, np.float64),
        np.asarray(effort, np.float64),
    )


def image_to_msg(rgb: np.ndarray, stamp: Time, frame_id: str) -> Image:
    """uint8 (H, W, 3) RGB to an rgb8 Image (one copy only if not contiguous)."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    h, w, _ = rgb.shape
    data = np.ascontiguousarray(rgb).reshape(-1)
    return Image(Header(stamp, frame_id), h, w, "rgb8", 0, w * 3, data)


def image_from_msg(msg: Image) -> np.ndarray:
    """rgb8/bgr8 Image to uint8 (H, W, 3) RGB; raises ValueError for other encodings."""
    if msg.encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"image encoding {msg.encoding!r} is not rgb8 or bgr8")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if step < 3 * w or msg.data.size < h * step:
        raise ValueError(f"image {w}x{h} step {step} has {msg.data.size} bytes")
    rows = np.asarray(msg.data[: h * step]).reshape(h, step)
    rgb = rows[:, : 3 * w].reshape(h, w, 3)
    return rgb[:, :, ::-1] if msg.encoding == "bgr8" else rgb


def camera_info_msg(
    width: int,
    height: int,
    k: tuple[float, float, float, float],
    stamp: Time,
    frame_id: str,
    distortion: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0),
    model: str = "plumb_bob",
) -> CameraInfo:
    """CameraInfo for a pinhole camera ``k = (fx, fy, cx, cy)`` in pixels."""
    fx, fy, cx, cy = (float(v) for v in k)
    kmat = np.array([fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0])
    pmat = np.array([fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0])
    return CameraInfo(
        header=Header(stamp, frame_id),
        height=height,
        width=width,
        distortion_model=model,
        d=np.asarray(distortion, np.float64),
        k=kmat,
        r=np.eye(3).reshape(-1),
        p=pmat,
    )


def time_ns(stamp: Time) -> int:
    """A Time as integer nanoseconds."""
    return stamp.to_ns()
