"""Pretraining the pixel backbone on frames (`robot-rl pretrain-encoder`), on a toy store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.agents.config import EncoderConfig
from robot_rl.agents.encoders import PixelBackbone, PixelBackbones
from robot_rl.agents.pretrain import PretrainConfig, backbone_stride, pretrain_backbone
from robot_rl.cli import main
from robot_rl.rewards.synthetic import write_toy_store

torch.set_num_threads(1)
SMALL = EncoderConfig(stem_width=8, stage_widths=(8, 16))


def squares(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Grey frames with one red square each, somewhere."""
    rng = np.random.default_rng(seed)
    frames = np.full((n, size, size, 3), 90, np.uint8)
    for f, (y, x) in zip(frames, rng.integers(0, size - 6, (n, 2)), strict=True):
        f[y : y + 6, x : x + 6] = (220, 30, 30)
    return frames


def test_the_reconstruction_loss_falls_and_the_strip_shows_frames_over_reconstructions() -> None:
    result = pretrain_backbone(squares(64), SMALL, PretrainConfig(steps=80, batch_size=16))
    assert np.mean(result.losses[-10:]) < 0.5 * np.mean(result.losses[:10])
    torch.manual_seed(0)  # the backbone it started from: trained, not only the decoder
    start = PixelBackbone(SMALL).resnet.state_dict()
    trained = result.backbone.resnet.state_dict()
    assert any(not torch.equal(start[k], trained[k]) for k in start)
    assert result.reconstructions.shape == (64, 8 * 32, 3)
    assert result.reconstructions.dtype == np.uint8


def test_frames_that_do_not_fit_the_stride_are_refused() -> None:
    assert backbone_stride(SMALL) == 8
    with pytest.raises(ValueError, match="multiples of 8"):
        pretrain_backbone(squares(4, size=36), SMALL, PretrainConfig(steps=1))
    with pytest.raises(ValueError, match="uint8"):
        pretrain_backbone(squares(4).astype(np.float32), SMALL, PretrainConfig(steps=1))


def test_the_command_writes_a_backbone_the_learner_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_toy_store(tmp_path / "toy", episodes=3, steps=6, size_px=32)
    out = tmp_path / "enc"
    argv = ["pretrain-encoder", "--store", str(tmp_path / "toy"), "--out", str(out)]
    assert main([*argv, "--steps", "3", "--batch-size", "4", "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == {
        "backbone.pt",
        "reconstructions.png",
        "pretrain.json",
    }
    # The shape is the pixel recipe's, so the learner's backbones load it strictly.
    from robot_rl.train.config import default_config

    enc = default_config("pick_cube", "pixels").sac.encoder
    PixelBackbones(("front", "wrist"), enc).load_weights(out / "backbone.pt")
    capsys.readouterr()
    assert main(["pretrain-encoder", "--store", str(tmp_path / "nope"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no episode store" in err[0]
