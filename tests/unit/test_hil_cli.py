"""The ``teleop`` and ``record-demos`` subcommands parse, and a missing device is a clear
error with a non-zero exit code (not a traceback)."""

from __future__ import annotations

import argparse

import pytest

from robot_rl.cli import build_parser


def parser() -> argparse.ArgumentParser:
    return build_parser()


def test_subcommands_parse() -> None:
    a = parser().parse_args(["teleop", "--device", "spacemouse", "--echo"])
    assert a.device == "spacemouse" and a.echo and a.bus == "dds" and callable(a.func)
    a = parser().parse_args(
        ["record-demos", "--task", "reach", "--teleop", "gamepad", "--operator-yaw-deg", "180"]
    )
    assert a.teleop == "gamepad" and a.operator_yaw_deg == 180.0
    with pytest.raises(SystemExit):
        parser().parse_args(["teleop", "--device", "wiimote"])


def test_missing_device_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pygame", reason="pygame is in the teleop extra")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    args = parser().parse_args(["teleop", "--device", "keyboard", "--bus", "inproc"])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "'keyboard' is not available" in err and "Fix:" in err
