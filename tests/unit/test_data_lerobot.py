"""zarr -> LeRobotDataset v3 -> zarr round trip; the files read by pyarrow and PyAV
directly; unmappable action spaces are refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from robot_rl.data.episodes import EpisodeSpec, EpisodeStore
from robot_rl.data.lerobot import ActionSpaceError, export_lerobot, import_lerobot
from robot_rl.data.video import psnr
from tests.unit.test_data_rosbag import cell_episode
from tests.unit.test_episodes import write

SPEC = EpisodeSpec(20, 7, ("front", "wrist"), (48, 64, 3), chunk_frames=4)


def smooth_images(rng: np.random.Generator, n: int) -> np.ndarray:
    """Camera-like frames (gradients and a moving block), which a video codec keeps well."""
    h, w = SPEC.image_shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, np.full((h, w), 90.0)], -1)
    frames = np.repeat(base[None], n, 0)
    for t in range(n):
        r, c = rng.integers(0, h - 8), rng.integers(0, w - 8)
        frames[t, r : r + 8, c : c + 8] = (200, 120, 60)
    return frames.astype(np.uint8)


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    rng = np.random.default_rng(3)
    eps = [cell_episode(rng, 9, "success"), cell_episode(rng, 6, "time limit")]
    store = EpisodeStore(tmp_path / "src", SPEC, durable=False)
    for k, ep in enumerate(eps):
        ep["images"] = {c: smooth_images(rng, len(ep["stamps"])) for c in SPEC.cameras}
        write(store, ep, {"task": "peg", "seed": k})
    report = export_lerobot(store, tmp_path / "lr")
    assert (report.episodes, report.frames) == (2, 17)
    return tmp_path / "lr", eps


def test_round_trip_zarr_lerobot_zarr(
    tmp_path: Path, exported: tuple[Path, list[dict[str, Any]]]
) -> None:
    root, eps = exported
    result = import_lerobot(root, tmp_path / "back")
    assert (result.episodes, result.adapter, result.cameras) == (2, "identity", SPEC.cameras)
    back = EpisodeStore(tmp_path / "back")
    for i, ep in enumerate(eps):
        got = back.episode(i)
        for key in ("action", "reward", "terminated", "truncated", "intervened", "success"):
            np.testing.assert_array_equal(getattr(got, key), ep[key], err_msg=key)
        np.testing.assert_array_equal(got.state, ep["state"])
        np.testing.assert_array_equal(got.timestamp_ns, ep["stamps"])
        for cam in SPEC.cameras:
            quality = psnr(got.images[cam], ep["images"][cam])
            print(f"episode {i} {cam}: PSNR {quality:.1f} dB")  # reported with pytest -s
            assert quality > 30.0
        assert back.metadata(i)["seed"] == i and back.metadata(i)["task"] == "peg"


def test_pyarrow_and_pyav_read_the_export(exported: tuple[Path, list[dict[str, Any]]]) -> None:
    root, eps = exported
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_frames"] == 17
    assert info["features"]["observation.images.front"]["dtype"] == "video"
    data = pq.read_table(root / "data/chunk-000/file-000.parquet")
    assert data.num_rows == 17
    actions = np.asarray(data.column("action").combine_chunks().flatten()).reshape(17, 7)
    np.testing.assert_array_equal(actions[:9], eps[0]["action"])
    assert data.column("next.done").to_pylist()[8:10] == [True, True]  # last step, last frame
    episodes = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["length"] for e in episodes] == [10, 7]
    assert episodes[1]["videos/observation.images.front/from_timestamp"] == pytest.approx(1.0)
    tasks = pq.read_table(root / "meta/tasks.parquet").to_pylist()
    assert tasks == [{"task_index": 0, "task": "peg"}]
    stats = json.loads((root / "meta/stats.json").read_text())
    assert stats["action"]["count"] == [17] and len(stats["observation.images.front"]["mean"]) == 3
    video = root / "videos/observation.images.wrist/chunk-000/file-000.mp4"
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.codec_context.name == "h264" and stream.average_rate == 10
    truth = np.concatenate([ep["images"]["wrist"] for ep in eps])
    assert len(frames) == 17 and psnr(np.stack(frames), truth) > 30.0


def test_unmappable_actions_are_refused_before_writing(
    tmp_path: Path, exported: tuple[Path, list[dict[str, Any]]]
) -> None:
    root, _ = exported
    info = json.loads((root / "meta/info.json").read_text())
    info["features"]["action"]["shape"] = [6]
    (root / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(ActionSpaceError, match=r"6-d .* no adapter"):
        import_lerobot(root, tmp_path / "out")
    with pytest.raises(ActionSpaceError, match="takes 4-d"):
        import_lerobot(root, tmp_path / "out", adapter="xyz_gripper")
    assert not (tmp_path / "out").exists()
