"""Zero-shot VLM-RM reward and the CLIP-embedding success classifier, on tiny random CLIPs
built in the test (no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.rewards.classifier import ClassifierConfig, SuccessClassifier
from robot_rl.rewards.classifier_reward import (
    ClassifierReward,
    ClassifierRewardConfig,
    save_classifier,
)
from robot_rl.rewards.clip import ClipConfig, ClipEmbedder, Preprocess
from robot_rl.rewards.dataset import load_labelled_frames
from robot_rl.rewards.errors import ModelDirError
from robot_rl.rewards.synthetic import write_random_clip, write_toy_store
from robot_rl.rewards.train_classifier import TrainRewardConfig, train_success_classifier
from robot_rl.rewards.vlm_rm import VlmRmConfig, VlmRmReward, projection, vlm_rm_reward

torch.set_num_threads(1)
pytest.importorskip("transformers", reason="VLM rewards need transformers (robot_rl[vlm])")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_random_clip(tmp_path_factory.mktemp("clip") / "tiny")


@pytest.fixture(scope="module")
def embedder(clip_dir: Path) -> ClipEmbedder:
    return ClipEmbedder(ClipConfig(str(clip_dir)))


def frames(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {c: rng.integers(0, 255, (n, 48, 64, 3), dtype=np.uint8) for c in ("front", "wrist")}


def test_embeddings_are_unit_and_batching_is_exact(embedder: ClipEmbedder) -> None:
    f = frames(5)["front"]
    whole = embedder.embed_images(f)
    assert whole.shape == (5, embedder.dim)
    assert torch.allclose(whole.norm(dim=-1), torch.ones(5), atol=1e-5)
    one_by_one = torch.cat([embedder.embed_images(f[i : i + 1]) for i in range(5)])
    assert torch.allclose(whole, one_by_one, atol=1e-5)
    assert embedder.embed_texts(["a", "b c"]).shape == (2, embedder.dim)


def test_preprocess_resizes_short_side_and_centre_crops() -> None:
    pre = Preprocess(8, None, (8, 8), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    x = torch.full((2, 16, 32, 3), 255, dtype=torch.uint8)
    y = pre(x)
    assert y.shape == (2, 3, 8, 8)
    assert torch.allclose(y, torch.ones_like(y), atol=1e-4)  # (1 - 0.5) / 0.5


def test_projection_limits() -> None:
    g = torch.nn.functional.normalize(torch.tensor([1.0, 0.2, 0.0]), dim=0)
    b = torch.nn.functional.normalize(torch.tensor([0.2, 1.0, 0.0]), dim=0)
    x = torch.nn.functional.normalize(torch.randn(6, 3), dim=-1)
    # alpha = 0: the reward is the cosine similarity to the goal.
    r0 = vlm_rm_reward(x, g, projection(g, b, 0.0))
    assert torch.allclose(r0, x @ g, atol=1e-6)
    # alpha = 1: only the baseline -> goal direction counts; moving orthogonally is free.
    p1 = projection(g, b, 1.0)
    ortho = torch.nn.functional.normalize(
        torch.cross(g - b, torch.tensor([0.0, 0.0, 1.0]), dim=0), dim=0
    )
    assert torch.allclose(vlm_rm_reward(g[None] + 0.3 * ortho, g, p1), torch.ones(1), atol=1e-6)
    assert float(vlm_rm_reward(g[None], g, p1)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="alpha"):
        projection(g, b, 1.5)


def test_vlm_rm_source_batched_equals_single(embedder: ClipEmbedder, clip_dir: Path) -> None:
    cfg = VlmRmConfig(model_dir=str(clip_dir), cameras=("front", "wrist"), alpha=0.5)
    src = VlmRmReward(cfg, embedder)
    f = frames(4)
    batch = src.score_batch(f)
    assert batch.reward.shape == (4,) and np.isnan(batch.success_prob).all()
    for i in range(4):
        out = src({c: v[i] for c, v in f.items()})
        assert out.reward == pytest.approx(float(batch.reward[i]), abs=1e-5)
        assert not out.success and np.isnan(out.success_prob) and out.latency_ms > 0
    hi = VlmRmReward(VlmRmConfig(model_dir=str(clip_dir), success_threshold=-10.0), embedder)
    assert hi({"front": f["front"][0]}).success


def test_vlm_rm_loads_from_directory(clip_dir: Path) -> None:
    src = VlmRmReward(VlmRmConfig(model_dir=str(clip_dir)))
    assert np.isfinite(src({"front": frames(1)["front"][0]}).reward)


def test_missing_or_incomplete_model_dir(tmp_path: Path, clip_dir: Path) -> None:
    with pytest.raises(ModelDirError, match=r"does not exist.*docs/rewards\.md"):
        ClipEmbedder(ClipConfig(str(tmp_path / "clip-vit-base-patch32")))
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text((clip_dir / "config.json").read_text())
    with pytest.raises(ModelDirError, match="no weights"):
        ClipEmbedder(ClipConfig(str(partial)))
    other = tmp_path / "other"
    other.mkdir()
    for f in clip_dir.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(dict(cfg, model_type="llava")))
    with pytest.raises(ModelDirError, match="not a supported CLIP-family"):
        ClipEmbedder(ClipConfig(str(other)))


def test_clip_embedding_classifier_trains_saves_and_loads(
    tmp_path: Path, clip_dir: Path, embedder: ClipEmbedder
) -> None:
    write_toy_store(tmp_path / "toy", episodes=12, steps=8, size_px=32)
    data = load_labelled_frames([tmp_path / "toy"])
    cfg = ClassifierConfig(
        cameras=data.cameras,
        image_shape=data.image_shape,
        backbone="clip",
        clip_model_dir=str(clip_dir),
        hidden_dim=32,
    )
    model = SuccessClassifier(cfg, embedder)
    assert not any(k.startswith("features") for k in model.saved_state())  # CLIP not copied
    tcfg = TrainRewardConfig(steps=60, batch_size=16, eval_every=30)
    result = train_success_classifier(model, data, tcfg)
    assert result.cached_views >= 1
    save_classifier(tmp_path / "vlmclf", result, tcfg)
    src = ClassifierReward.load(tmp_path / "vlmclf")
    assert src.name == "vlm_classifier"
    # A CLIP head is not tied to the image size: CLIP preprocessing resizes.
    out = src({c: np.zeros((64, 80, 3), np.uint8) for c in data.cameras})
    assert 0.0 <= out.success_prob <= 1.0


def test_clip_classifier_with_another_clip_is_a_clear_error(
    tmp_path: Path, clip_dir: Path, embedder: ClipEmbedder
) -> None:
    write_toy_store(tmp_path / "toy", episodes=8, steps=6, size_px=32)
    data = load_labelled_frames([tmp_path / "toy"])
    cfg = ClassifierConfig(
        cameras=data.cameras,
        image_shape=data.image_shape,
        backbone="clip",
        clip_model_dir=str(clip_dir),
    )
    tcfg = TrainRewardConfig(steps=5, eval_every=5)
    result = train_success_classifier(SuccessClassifier(cfg, embedder), data, tcfg)
    save_classifier(tmp_path / "m", result, tcfg)
    import dataclasses

    from transformers import CLIPConfig, CLIPModel

    wide = tmp_path / "wide"
    write_random_clip(wide)
    conf = CLIPConfig.from_pretrained(wide)
    conf.projection_dim = 24
    CLIPModel(conf).save_pretrained(wide)
    with pytest.raises(ModelDirError, match="CLIP model the head was trained on"):
        ClassifierReward.load(ClassifierRewardConfig(str(tmp_path / "m"), clip_model_dir=str(wide)))
    assert dataclasses.is_dataclass(cfg)
