"""zarr -> rosbag2 (MCAP) -> zarr round trip; the bag read back by the independent `mcap`
package; stale inputs dropped and reported, never reused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot_rl.bus.cdr import decode
from robot_rl.bus.msgs import Action, Image
from robot_rl.data.bag_import import ImportConfig, import_bag
from robot_rl.data.episodes import EpisodeSpec, EpisodeStore
from robot_rl.data.rosbag import BagTopics, BagWriter, _episode_messages, export_bag
from tests.unit.test_episodes import write

SPEC = EpisodeSpec(20, 7, ("front", "wrist"), (12, 16, 3), chunk_frames=4)


def cell_episode(rng: np.random.Generator, steps: int, end: str) -> dict[str, Any]:
    """A random episode in the cell's 20-d state layout, stamped 100 ms apart."""
    n = steps + 1
    quat = rng.normal(size=(n, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    quat[quat[:, 1] < 0] *= -1  # on the tool-down hemisphere, as observations carry it
    state = np.concatenate(
        [
            rng.uniform(-0.5, 0.5, (n, 3)),
            quat,
            rng.uniform(-0.2, 0.2, (n, 6)),
            rng.uniform(0, 0.08, (n, 1)),
            rng.normal(size=(n, 6)),
        ],
        axis=1,
    ).astype(np.float32)
    last = np.eye(1, steps, steps - 1, dtype=bool)[0]
    return {
        "state": state,
        "images": {c: rng.integers(0, 256, (n, 12, 16, 3), dtype=np.uint8) for c in SPEC.cameras},
        "stamps": 5_000_000_000 + np.arange(n, dtype=np.int64) * 100_000_000,
        "action": rng.uniform(-1, 1, (steps, 7)).astype(np.float32),
        "reward": rng.normal(size=steps).astype(np.float32),
        "terminated": last if end == "success" else np.zeros(steps, bool),
        "truncated": last if end == "time limit" else np.zeros(steps, bool),
        "intervened": rng.random(steps) < 0.5,
        "success": rng.random(steps) < 0.3,
    }


@pytest.fixture
def source(tmp_path: Path) -> tuple[EpisodeStore, list[dict[str, Any]]]:
    rng = np.random.default_rng(0)
    eps = [cell_episode(rng, 9, "success"), cell_episode(rng, 5, "time limit")]
    store = EpisodeStore(tmp_path / "src", SPEC, durable=False)
    for ep in eps:
        write(store, ep)
    return store, eps


def test_round_trip_zarr_bag_zarr(
    tmp_path: Path, source: tuple[EpisodeStore, list[dict[str, Any]]]
) -> None:
    store, eps = source
    report = export_bag(store, tmp_path / "bag")
    assert (report.episodes, report.frames, report.shifted) == (2, 16, 1)  # same stamps
    imported = import_bag(
        tmp_path / "bag", tmp_path / "back", ImportConfig(image_height=12, image_width=16)
    )
    assert (imported.episodes, imported.frames, imported.dropped) == (2, 16, [])
    back = EpisodeStore(tmp_path / "back")
    assert back.spec.cameras == SPEC.cameras
    for i, ep in enumerate(eps):
        got = back.episode(i)
        for cam in SPEC.cameras:
            np.testing.assert_array_equal(got.images[cam], ep["images"][cam])  # exact
        for key in ("action", "reward", "terminated", "truncated", "intervened", "success"):
            np.testing.assert_array_equal(getattr(got, key), ep[key], err_msg=key)
        np.testing.assert_array_equal(got.state[:, :7], ep["state"][:, :7])  # pose
        np.testing.assert_array_equal(got.state[:, 13:], ep["state"][:, 13:])  # grip, wrench
        np.testing.assert_allclose(got.state[:, 7:13], ep["state"][:, 7:13], atol=2e-3)
        shift = int(got.timestamp_ns[0] - ep["stamps"][0])
        np.testing.assert_array_equal(got.timestamp_ns - shift, ep["stamps"])


def test_independent_mcap_reader_opens_the_export(
    tmp_path: Path, source: tuple[EpisodeStore, list[dict[str, Any]]]
) -> None:
    mcap_reader = pytest.importorskip("mcap.reader", reason="mcap is the independent reader")
    store, eps = source
    export_bag(store, tmp_path / "bag")
    (path,) = (tmp_path / "bag").glob("*.mcap")
    frames, actions = [], []
    with open(path, "rb") as f:
        reader = mcap_reader.make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        schemas = {s.name for s in summary.schemas.values()}
        assert {"sensor_msgs/msg/Image", "robot_rl_interfaces/msg/Action"} <= schemas
        for schema, channel, message in reader.iter_messages(
            topics=["/cameras/front/image_raw", "/action"]
        ):
            assert schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
            if channel.topic == "/action":
                actions.append(decode(Action, message.data).action)
            else:
                img = decode(Image, message.data)
                frames.append(np.asarray(img.data).reshape(img.height, img.width, 3))
    np.testing.assert_array_equal(
        np.stack(frames), np.concatenate([e["images"]["front"] for e in eps])
    )
    np.testing.assert_array_equal(np.stack(actions), np.concatenate([e["action"] for e in eps]))


def test_stale_input_drops_the_episode_and_is_reported(
    tmp_path: Path, source: tuple[EpisodeStore, list[dict[str, Any]]]
) -> None:
    store, _ = source
    topics = BagTopics()
    ep = store.episode(0)
    lost = int(ep.timestamp_ns[4])
    with BagWriter(tmp_path / "bag") as bag:
        for log_ns, topic, msg in _episode_messages(ep, topics, 0, SPEC.cameras):
            if not (topic == topics.image("wrist") and log_ns == lost):  # one frame lost
                bag.write(topic, msg, log_ns)
    cfg = ImportConfig(image_height=12, image_width=16, max_age_s=0.05)
    report = import_bag(tmp_path / "bag", tmp_path / "back", cfg)
    assert report.episodes == 0 and report.stale == {"/cameras/wrist/image_raw": 1}
    assert "stale input" in report.dropped[0] and "0.100 s old" in report.dropped[0]
    # Within a max age that covers the gap, the previous frame is the newest fresh one.
    lenient = ImportConfig(image_height=12, image_width=16, max_age_s=0.15)
    report = import_bag(tmp_path / "bag", tmp_path / "lenient", lenient)
    assert report.episodes == 1


def test_sim_time_stamps_from_zero_export(tmp_path: Path) -> None:
    """Twin episodes are stamped in sim time from 0; the pose pair 1 ms before the first
    observation must not get a negative bag time."""
    ep = cell_episode(np.random.default_rng(1), 3, "success")
    ep["stamps"] = ep["stamps"] - ep["stamps"][0]
    store = EpisodeStore(tmp_path / "src", SPEC, durable=False)
    write(store, ep)
    assert export_bag(store, tmp_path / "bag").shifted == 1
    back = import_bag(
        tmp_path / "bag", tmp_path / "back", ImportConfig(image_height=12, image_width=16)
    )
    assert back.episodes == 1
    got = EpisodeStore(tmp_path / "back").episode(0).timestamp_ns
    np.testing.assert_array_equal(got - got[0], ep["stamps"])
