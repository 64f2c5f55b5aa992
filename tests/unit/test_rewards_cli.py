"""The reward CLI hooks, end to end on a toy store (train-reward, eval-reward)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from robot_rl.rewards.cli import register_cli
from robot_rl.rewards.synthetic import write_toy_store

torch.set_num_threads(1)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="robot-rl")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_commands_are_registered() -> None:
    parser = argparse.ArgumentParser(prog="robot-rl")
    sub = parser.add_subparsers(dest="command", required=True)
    register_cli(sub)
    assert {
        "make-reward-labels",
        "train-reward",
        "eval-reward",
        "label-preferences",
        "train-preference-reward",
    } <= set(sub.choices)


def test_train_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_toy_store(tmp_path / "toy", episodes=12, steps=8, size_px=32)
    model = tmp_path / "model"
    assert (
        run(
            [
                "train-reward",
                "--store",
                str(tmp_path / "toy"),
                "--out",
                str(model),
                "--encoder",
                "frozen",
                "--steps",
                "40",
                "--batch-size",
                "16",
                "--target-precision",
                "0.9",
            ]
        )
        == 0
    )
    assert "validation: balanced accuracy" in capsys.readouterr().out
    assert (model / "confusion.png").is_file() and (model / "roc.png").is_file()
    meta = json.loads((model / "reward_model.json").read_text())
    assert meta["training"]["target_precision"] == 0.9
    assert meta["config"]["encoder"]["frozen"] is True
    assert (
        run(
            [
                "eval-reward",
                "--model",
                str(model),
                "--store",
                str(tmp_path / "toy"),
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["frames"] == 96 and (tmp_path / "eval" / "confusion.png").is_file()
    assert report["episodes"] == 12 and report["hold_frames"] == 3
    assert 0 <= report["false_fire_episodes"] <= 12
    bad = ["eval-reward", "--model", str(model), "--store", str(tmp_path / "toy"), "--hold", "0"]
    assert run(bad) == 2


def test_clip_backbone_needs_a_model_dir(tmp_path: Path) -> None:
    write_toy_store(tmp_path / "toy", episodes=4, steps=4, size_px=32)
    with pytest.raises(SystemExit, match="--clip-model"):
        run(
            [
                "train-reward",
                "--store",
                str(tmp_path / "toy"),
                "--out",
                str(tmp_path / "m"),
                "--backbone",
                "clip",
            ]
        )
