"""Success classifier on a toy labelled store: training, save/load, reward source, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.rewards.augment import AugmentConfig, augment
from robot_rl.rewards.backbones import reward_encoder_config
from robot_rl.rewards.classifier import ClassifierConfig, SuccessClassifier
from robot_rl.rewards.classifier_reward import (
    ClassifierReward,
    ClassifierRewardConfig,
    load_classifier,
    save_classifier,
)
from robot_rl.rewards.dataset import (
    balanced_batch,
    limit_positives,
    load_labelled_frames,
    split_by_episode,
)
from robot_rl.rewards.errors import CameraMismatchError, ModelDirError, RewardInputError
from robot_rl.rewards.evaluate import predict_proba
from robot_rl.rewards.source import RewardSource
from robot_rl.rewards.synthetic import write_toy_store
from robot_rl.rewards.train_classifier import TrainRewardConfig, train_success_classifier

torch.set_num_threads(1)
SIZE = 32


def tiny_config(frozen: bool, cameras: tuple[str, ...] = ("front", "wrist")) -> ClassifierConfig:
    enc = reward_encoder_config(
        frozen=frozen, stage_widths=(8, 16), stem_width=8, bottleneck_dim=16
    )
    return ClassifierConfig(
        cameras=cameras, image_shape=(SIZE, SIZE, 3), encoder=enc, hidden_dim=32
    )


def fast_train_config(**kw: object) -> TrainRewardConfig:
    base = TrainRewardConfig(
        steps=150, batch_size=32, eval_every=50, learning_rate=3e-3, augment=AugmentConfig(views=2)
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    write_toy_store(root, episodes=16, steps=10, size_px=SIZE)
    return root


@pytest.fixture(scope="module")
def trained(toy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = load_labelled_frames([toy])
    model = SuccessClassifier(tiny_config(frozen=True))
    result = train_success_classifier(model, data, fast_train_config())
    assert result.cached_views == 2
    out = tmp_path_factory.mktemp("model") / "clf"
    save_classifier(out, result, fast_train_config())
    return out


def test_dataset_loading_split_and_caps(toy: Path) -> None:
    data = load_labelled_frames([toy])
    assert len(data) == 160 and data.cameras == ("front", "wrist")  # reset frames skipped
    assert 0 < data.positives < len(data)
    train, val = split_by_episode(data, 0.25, seed=0)
    assert set(np.unique(train.episode)).isdisjoint(np.unique(val.episode))
    assert train.positives > 0 and val.positives > 0
    capped = limit_positives(train, max_positives=7, max_per_episode=2)
    assert capped.positives == 7
    assert len(capped) - capped.positives == len(train) - train.positives
    for ep in np.unique(capped.episode):
        assert capped.labels[capped.episode == ep].sum() <= 2
    idx = balanced_batch(train.labels, 20, np.random.default_rng(0))
    assert train.labels[idx].sum() == 10


def test_augment_keeps_uint8_and_shape() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 255, (4, SIZE, SIZE, 3), dtype=torch.uint8)
    y = augment(x, AugmentConfig(), gen)
    assert y.dtype == torch.uint8 and y.shape == x.shape and not torch.equal(x, y)


def test_frozen_training_learns_and_leaves_backbone_untouched(toy: Path) -> None:
    data = load_labelled_frames([toy])
    model = SuccessClassifier(tiny_config(frozen=True))
    before = {k: v.clone() for k, v in model.features.state_dict().items()}
    result = train_success_classifier(model, data, fast_train_config())
    for k, v in model.features.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert result.validation.auc > 0.9
    assert result.validation.precision >= 0.9


def test_trained_encoder_gets_gradients(toy: Path) -> None:
    # LeRobot's classifier ran its encoder under no_grad, so only the head ever trained.
    data = load_labelled_frames([toy])
    model = SuccessClassifier(tiny_config(frozen=False))
    before = {k: v.clone() for k, v in model.features.state_dict().items()}
    result = train_success_classifier(model, data, fast_train_config(steps=60))
    changed = [k for k, v in model.features.state_dict().items() if not torch.equal(v, before[k])]
    assert any("conv" in k for k in changed)
    assert result.cached_views == 0


def test_model_dir_holds_config_threshold_and_plots(trained: Path) -> None:
    for name in ("reward_model.json", "weights.pt", "confusion.png", "roc.png"):
        assert (trained / name).is_file(), name
    model, meta = load_classifier(trained)
    assert model.cfg == tiny_config(frozen=True)
    assert 0.0 < meta["threshold"] <= 1.0
    assert {"precision", "recall", "roc_auc"} <= set(meta["report"]["validation"])


def test_reward_source_single_and_batched_agree(trained: Path, toy: Path) -> None:
    src = ClassifierReward.load(trained)
    assert isinstance(src, RewardSource)
    data = load_labelled_frames([toy])
    probs = predict_proba(src.model, data.images)
    for i in (0, 9, 15):
        out = src({c: data.images[c][i] for c in src.cameras})
        assert out.success_prob == pytest.approx(probs[i], abs=1e-5)
        assert out.success == (probs[i] >= src.threshold)
        assert out.reward == float(out.success)
        assert out.latency_ms > 0 and out.source == "classifier"
    scores = src.score_batch({c: data.images[c][:8] for c in src.cameras})
    assert np.allclose(scores.success_prob, probs[:8], atol=1e-5)


def test_prob_reward_and_threshold_override(trained: Path, toy: Path) -> None:
    src = ClassifierReward.load(ClassifierRewardConfig(str(trained), threshold=0.0, reward="prob"))
    frame = {c: load_labelled_frames([toy]).images[c][0] for c in src.cameras}
    out = src(frame)
    assert out.success and out.reward == pytest.approx(out.success_prob)


def test_wrong_image_size_is_a_clear_error(trained: Path) -> None:
    src = ClassifierReward.load(trained)
    frames = {c: np.zeros((SIZE + 8, SIZE, 3), np.uint8) for c in src.cameras}
    with pytest.raises(RewardInputError, match=r"image size \(40, 32\).*trained on \(32, 32\)"):
        src(frames)
    with pytest.raises(RewardInputError, match="uint8"):
        src({c: np.zeros((SIZE, SIZE, 3), np.float32) for c in src.cameras})


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match=r"does not exist.*train-reward"):
        ClassifierReward.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelDirError, match=r"reward_model\.json is missing"):
        ClassifierReward.load(tmp_path / "empty")


def test_other_cameras_are_a_clear_error(trained: Path) -> None:
    with pytest.raises(CameraMismatchError, match=r"trained on cameras \['front', 'wrist'\]"):
        ClassifierReward.load(ClassifierRewardConfig(str(trained), cameras=("front", "side")))
    src = ClassifierReward.load(trained)
    with pytest.raises(CameraMismatchError, match=r"lack camera\(s\) \['wrist'\]"):
        src({"front": np.zeros((SIZE, SIZE, 3), np.uint8)})


def test_single_camera_classifier(toy: Path) -> None:
    data = load_labelled_frames([toy], cameras=("front",))
    model = SuccessClassifier(tiny_config(frozen=True, cameras=("front",)))
    result = train_success_classifier(model, data, fast_train_config(steps=60))
    assert result.model.cfg.cameras == ("front",)


def test_store_without_camera_is_rejected(toy: Path) -> None:
    with pytest.raises(CameraMismatchError, match="lacks"):
        load_labelled_frames([toy], cameras=("front", "side"))


def test_the_training_reward_may_read_a_subset_of_the_env_cameras(trained: Path) -> None:
    from robot_rl.train.learned_reward import classifier_source

    hold = classifier_source(str(trained), ("front", "wrist", "side"), hold_frames=1)
    frames = {c: np.zeros((SIZE, SIZE, 3), np.uint8) for c in ("front", "wrist", "side")}
    assert hold(frames).success in (True, False)  # reads front and wrist, ignores side
    with pytest.raises(CameraMismatchError, match=r"the env has no \['wrist'\]"):
        classifier_source(str(trained), ("front",), hold_frames=1)


VIEW = {"front": [56.0, 56.0, 31.5, 31.5], "wrist": [40.0, 40.0, 31.5, 31.5]}


def test_frames_carry_their_camera_pinholes_and_a_mix_is_refused(tmp_path: Path) -> None:
    a = tmp_path / "a"
    write_toy_store(a, episodes=2, size_px=SIZE, metadata={"camera_views": VIEW})
    assert load_labelled_frames([a]).camera_views == VIEW
    assert load_labelled_frames([a], ("wrist",)).camera_views == {"wrist": VIEW["wrist"]}
    crop = {**VIEW, "front": [112.0, 112.0, 20.0, 35.0]}
    b = tmp_path / "b"
    write_toy_store(b, episodes=2, size_px=SIZE, metadata={"camera_views": crop})
    assert load_labelled_frames([b], ("wrist",)).camera_views == {"wrist": VIEW["wrist"]}
    with pytest.raises(RewardInputError, match="different camera pinholes"):
        load_labelled_frames([a, b])
    assert load_labelled_frames([a, b], ("wrist",)).camera_views == {"wrist": VIEW["wrist"]}
    c = tmp_path / "c"  # recorded without pinholes: unknown, nothing to check against
    write_toy_store(c, episodes=2, size_px=SIZE)
    assert load_labelled_frames([a, c]).camera_views is None


def test_the_training_reward_refuses_frames_of_another_calibration(
    toy: Path, tmp_path: Path
) -> None:
    from robot_rl.train.learned_reward import classifier_source

    data = dataclasses.replace(load_labelled_frames([toy]), camera_views=VIEW)
    model = SuccessClassifier(tiny_config(frozen=True, cameras=("wrist",)))
    result = train_success_classifier(model, data, fast_train_config(steps=10))
    assert result.camera_views == {"wrist": VIEW["wrist"]}
    out = save_classifier(tmp_path / "clf", result, fast_train_config())
    assert ClassifierReward.load(out).camera_views == {"wrist": VIEW["wrist"]}
    cams = ("front", "wrist")
    classifier_source(str(out), cams, 1, VIEW)  # the same pinholes
    classifier_source(str(out), cams, 1, {**VIEW, "front": [1.0, 1.0, 1.0, 1.0]})  # unread
    classifier_source(str(out), cams, 1, None)  # the env's are unknown
    with pytest.raises(CameraMismatchError, match="trained on wrist frames with pinhole"):
        classifier_source(str(out), cams, 1, {"wrist": [80.0, 80.0, 31.5, 31.5]})


def test_training_on_a_cropped_cell_refuses_a_classifier_of_the_full_view(
    toy: Path, tmp_path: Path
) -> None:
    from robot_rl.calibration.cell_file import camera_views, load_calibration
    from robot_rl.train.config import default_config
    from robot_rl.train.run import make_env

    crop = str(Path(__file__).parents[2] / "benchmarks" / "cells" / "front_roi_cell.yaml")
    full = camera_views(load_calibration(None), ("front", "wrist"), (SIZE, SIZE))
    data = dataclasses.replace(load_labelled_frames([toy]), camera_views=full)
    result = train_success_classifier(
        SuccessClassifier(tiny_config(frozen=True)), data, fast_train_config(steps=10)
    )
    out = save_classifier(tmp_path / "clf", result, fast_train_config())
    cfg = dataclasses.replace(default_config("pick_cube", "pixels"), reward_model=str(out))
    cfg = dataclasses.replace(cfg, image_size=SIZE)
    make_env(cfg).close()  # the cell the frames came from
    with pytest.raises(CameraMismatchError, match="trained on front frames"):
        make_env(dataclasses.replace(cfg, calibration=crop))
