"""Configs are validated when they load: one-line errors naming the key, exit code 2, no
traceback, no run folder; resuming under another config is refused unless allowed; a
TrainConfig loads identically from YAML and from ROS parameters."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import Path

import pytest
import yaml

from robot_rl.agents.config import HLGaussConfig
from robot_rl.cli import build_parser, main
from robot_rl.configio import (
    ConfigError,
    config_diff,
    config_from_params,
    config_to_params,
    field_types,
    is_config_class,
    parse_yaml,
)
from robot_rl.nodes.impedance_bridge import BridgeConfig
from robot_rl.nodes.params import load_param_file
from robot_rl.train.config import (
    TrainConfig,
    check_resume,
    default_config,
    from_dict,
    load_yaml,
    run_config,
    save_json,
)


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``robot-rl train`` in tmp_path; assert the refusal contract; return the message."""
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["train", "--quiet", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("robot-rl train: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run folder made
    return lines[0]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the default run folder, runs/..., would land here

    def no_training(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a bad config reached training")

    # Fails fast (instead of training for minutes) if a check lets a bad config through.
    guard = types.ModuleType("robot_rl.train.run")
    guard.train = guard.format_summary = no_training  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "robot_rl.train.run", guard)
    return tmp_path


@pytest.mark.parametrize(
    ("yaml_text", "fragments"),
    [
        ("env_stepz: 5\n", ["env_stepz: unknown key", "did you mean env_steps?"]),
        ("sac:\n  batchsize: 64\n", ["sac.batchsize: unknown key", "did you mean sac.batch_size?"]),
        ("sac:\n  discount: fast\n", ["sac.discount: expected a number", "'fast'"]),
        ("dense_reward: no\n", ["dense_reward: expected a bool (true or false)", "'no'"]),
        ('dense_reward: "yes"\n', ["dense_reward: expected a bool", "'yes'"]),
        ("env_steps: 1000.5\n", ["env_steps: expected an int"]),
        ("sac:\n  discount: .nan\n", ["sac.discount: expected a finite number", "nan"]),
        ("sac:\n  tau: .inf\n", ["sac.tau: expected a finite number", "inf"]),
        ("operator_yaw_rad: -.inf\n", ["operator_yaw_rad: expected a finite number"]),
        ("demos: -1\n", ["demos: expected a value in [0, inf)", "-1"]),
        ("sac:\n  batch_size: 0\n", ["sac.batch_size: expected a value in [1, inf)"]),
        ("sac:\n  critic:\n    hidden_dims: [64, -8]\n", ["sac.critic.hidden_dims: expected"]),
        ("sac:\n  discount: 1.5\n", ["sac.discount: expected a value in (0, 1]"]),
        ("sac:\n  replay:\n    demo_fraction: 2\n", ["sac.replay.demo_fraction", "[0, 1]"]),
        ("obs: depth\n", ["obs: expected one of ['state', 'pixels']", "'depth'"]),
        ("hil: always\n", ["hil: expected one of", "'always'"]),
        ("sac: 5\n", ["sac: expected a mapping"]),
        ("sac:\n  discount: [0.9\n", [":3: bad YAML"]),
        ("- 1\n- 2\n", ["must be a mapping", "list"]),
    ],
)
def test_a_bad_config_file_is_one_line_exit_2_and_no_run_folder(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, fragments: list[str]
) -> None:
    (in_tmp / "bad.yaml").write_text(yaml_text)
    message = _refused(in_tmp, capsys, ["--config", "bad.yaml"])
    assert "bad.yaml" in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--config", "missing.yaml"], ["missing.yaml: no such training config file"]),
        (["--env-steps", "-5"], ["env_steps: expected a value in [1, inf)", "-5"]),
        (["--demos", "-1"], ["demos: expected a value in [0, inf)"]),
        (["--task", "reachh"], ["task: unknown task 'reachh' (did you mean reach?)"]),
    ],
)
def test_bad_flags_and_a_missing_file_are_refused_the_same_way(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    message = _refused(in_tmp, capsys, argv)
    for fragment in fragments:
        assert fragment in message


def test_missing_demo_store_is_refused_before_the_run_folder_exists(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_tmp / "c.yaml").write_text("demo_path: nowhere\n")
    assert "demo_path: no such folder 'nowhere'" in _refused(in_tmp, capsys, ["--config", "c.yaml"])
    (in_tmp / "d.yaml").write_text("calibration: nowhere.yaml\n")
    message = _refused(in_tmp, capsys, ["--config", "d.yaml"])
    assert "calibration: no such file 'nowhere.yaml'" in message


def test_yaml_booleans_are_only_true_and_false_and_exponents_are_floats() -> None:
    assert parse_yaml("a: no\nb: On\nc: true\nd: 3e-4\ne: 1_000\n") == {
        "a": "no",
        "b": "On",
        "c": True,
        "d": 3e-4,
        "e": 1000,
    }
    assert (
        from_dict(
            {"sac": {"critic": {"learning_rate": parse_yaml("1e-4")}}}
        ).sac.critic.learning_rate
        == 1e-4
    )


def _ints(cls: type, prefix: str = "") -> list[tuple[str, type]]:
    """(dotted name, owning class) of every int or int-tuple field, nested ones too."""
    out: list[tuple[str, type]] = []
    for name, tp in field_types(cls).items():
        nested = [a for a in (tp, *typing.get_args(tp)) if is_config_class(a)]
        if nested:
            out += _ints(nested[0], f"{prefix}{name}.")
        elif tp is int or typing.get_args(tp)[:1] == (int,):
            out.append((prefix + name, cls))
    return out


def test_every_count_has_a_declared_range() -> None:
    ints = _ints(TrainConfig)
    assert len(ints) > 30 and "sac.critic.hl_gauss.num_bins" in dict(ints)
    missing = [n for n, cls in ints if n.rsplit(".", 1)[-1] not in getattr(cls, "LIMITS", {})]
    assert not missing, f"int fields without a LIMITS interval: {missing}"


def test_train_config_round_trips_through_ros_parameters(tmp_path: Path) -> None:
    base = default_config("reach", "pixels")
    critic = dataclasses.replace(base.sac.critic, hl_gauss=HLGaussConfig(num_bins=51))
    cfg = dataclasses.replace(base, demo_path="d", sac=dataclasses.replace(base.sac, critic=critic))
    params = config_to_params(cfg)
    assert params["sac.critic.hl_gauss.num_bins"] == 51
    assert params["sac.encoder.stage_widths"] == [32, 64]  # tuples are ROS arrays (lists)
    assert config_from_params(TrainConfig, params) == cfg
    # ... and as a ROS 2 parameter file section, as a node would load it.
    path = tmp_path / "learner.yaml"
    path.write_text(yaml.safe_dump({"learner": {"ros__parameters": params}}))
    assert config_from_params(TrainConfig, load_param_file(path, "learner")) == cfg
    # The same keys nested, as `robot-rl train --config` reads them, load identically.
    nested = tmp_path / "train.yaml"
    nested.write_text(yaml.safe_dump(json.loads(json.dumps(dataclasses.asdict(cfg)))))
    assert load_yaml(nested) == cfg
    off = config_to_params(base)
    assert off["sac.critic.hl_gauss"] is None  # an unset optional section is null
    assert config_from_params(TrainConfig, off, cfg) == base


def test_an_empty_optional_section_switches_it_on_with_defaults() -> None:
    cfg = from_dict({"sac": {"critic": {"hl_gauss": {}}}})
    assert cfg.sac.critic.hl_gauss == HLGaussConfig()
    assert from_dict({"sac": {"critic": {"hl_gauss": None}}}, cfg).sac.critic.hl_gauss is None


def test_node_configs_share_the_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="rate_hz: expected a finite number"):
        config_from_params(BridgeConfig, {"rate_hz": float("nan")})
    (tmp_path / "p.yaml").write_text("impedance_bridge:\n  ros__parameters:\n    rate_hz: no\n")
    for argv in (["--params-file", str(tmp_path / "p.yaml")], ["--param", "rate_hz=.inf"]):
        assert main(["node", "impedance_bridge", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("robot-rl node: rate_hz: expected a") and err.count("\n") == 1


def _resumable(tmp_path: Path, text: str) -> Path:
    (tmp_path / "c.yaml").write_text(text)
    run = tmp_path / "run"
    run.mkdir()
    save_json(run_config(None, None, tmp_path / "c.yaml"), run / "config.json")
    return run


def test_resuming_under_another_config_is_refused_showing_old_and_new(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _resumable(in_tmp, "task: reach\nsac:\n  discount: 0.95\n")
    (in_tmp / "c.yaml").write_text("task: reach\ndemos: 5\nsac:\n  discount: 0.9\n")
    before = sorted(p.name for p in run.iterdir())
    message = _refused(in_tmp, capsys, ["--config", "c.yaml", "--out", "run"])
    assert "run was trained with another config" in message
    assert "demos: 20 -> 5" in message and "sac.discount: 0.95 -> 0.9" in message
    assert "--allow-config-change" in message
    assert sorted(p.name for p in run.iterdir()) == before  # nothing logged, nothing written


def test_the_flag_allows_the_change_and_logs_it(tmp_path: Path) -> None:
    run = _resumable(tmp_path, "task: reach\n")
    new = dataclasses.replace(default_config("reach", "state"), demos=5)
    with pytest.raises(ConfigError, match=r"demos: 20 -> 5"):
        check_resume(run, new, allow=False)
    assert not (run / "config_changes.jsonl").exists()
    assert check_resume(run, new, allow=True) == {"demos": (20, 5)}
    (entry,) = [
        json.loads(line) for line in (run / "config_changes.jsonl").read_text().splitlines()
    ]
    assert entry["changes"] == {"demos": [20, 5]}
    assert entry["allowed_by"] == "--allow-config-change" and entry["time_utc"].endswith("Z")
    args = build_parser().parse_args(["train", "--allow-config-change"])
    assert args.allow_config_change


def test_a_longer_budget_resumes_without_the_flag_and_is_logged(tmp_path: Path) -> None:
    run = _resumable(tmp_path, "task: reach\n")
    longer = dataclasses.replace(default_config("reach", "state"), env_steps=50_000)
    assert check_resume(run, longer, allow=False) == {"env_steps": (15_000, 50_000)}
    assert "exempt" in (run / "config_changes.jsonl").read_text()
    assert check_resume(run, default_config("reach", "state"), allow=False) == {}
    assert check_resume(tmp_path / "new", longer, allow=False) == {}  # nothing to resume


def test_config_diff_names_dotted_keys_and_unset_sides() -> None:
    a = default_config("reach", "state")
    b = dataclasses.replace(a, sac=dataclasses.replace(a.sac, discount=0.9))
    assert config_diff(a, b) == {"sac.discount": (0.95, 0.9)}
    assert config_diff({"x": 1}, {"y": {"z": 2}}) == {"x": (1, "<unset>"), "y.z": ("<unset>", 2)}


def test_a_key_added_since_the_run_began_at_its_default_is_no_change(tmp_path: Path) -> None:
    run = _resumable(tmp_path, "task: reach\n")
    saved = json.loads((run / "config.json").read_text())
    del saved["num_envs"], saved["operator_attends_failures"]  # written by an older version
    (run / "config.json").write_text(json.dumps(saved))
    assert check_resume(run, default_config("reach", "state"), allow=False) == {}
    two = dataclasses.replace(default_config("reach", "state"), num_envs=2)
    with pytest.raises(ConfigError, match=r"num_envs: '<unset>' -> 2"):
        check_resume(run, two, allow=False)


def test_operator_attention_needs_the_operator_and_a_failures_file() -> None:
    base = default_config("reach", "state")
    for hil, failures in (("off", "f.json"), ("hil_serl", None)):
        with pytest.raises(ConfigError, match="operator_attends_failures: needs hil on"):
            dataclasses.replace(
                base, hil=hil, failure_resets=failures, operator_attends_failures=True
            )
