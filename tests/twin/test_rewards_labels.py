"""Twin reward labels: frames labelled by the privileged predicate, near-misses, lighting."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from robot_rl.calibration.cell_file import camera_views, load_calibration
from robot_rl.data.episodes import EpisodeStore
from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.rewards.cli import register_cli
from robot_rl.rewards.dataset import load_labelled_frames
from robot_rl.rewards.lighting import LightRandomizer
from robot_rl.rewards.perturb import (
    MODES,
    PerturbConfig,
    PerturbedExpert,
    draw_mode,
    mode_weights,
)
from robot_rl.rewards.twin_labels import LabelGenConfig, generate_twin_labels

pytestmark = pytest.mark.twin
SIZE = (48, 48)


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labels") / "pick_cube"
    # Seeds 8..12 draw every perturbation mode (explore, drop, stall, clean, noise).
    summary = generate_twin_labels(out, LabelGenConfig(episodes=5, seed=8, image_size=SIZE))
    assert summary.episodes == 5 and summary.positives > 0
    return out


def test_labels_are_the_privileged_predicate(labels: Path) -> None:
    store = EpisodeStore(labels)
    env = TwinEnv(EnvConfig(task="pick_cube", obs="state"))
    for i in range(len(store)):
        ep = store.episode(i)
        env.reset(seed=ep.metadata["seed"])
        replayed = []
        for a in ep.action:
            env.step(a)
            replayed.append(env.task.success(env.cell))
        assert np.array_equal(np.array(replayed), ep.success), f"episode {i}"
    env.close()


def test_near_misses_and_modes(labels: Path) -> None:
    store = EpisodeStore(labels)
    modes = {store.metadata(i)["mode"] for i in range(len(store))}
    assert modes == set(MODES) - {"miss"}  # off by default (weight 0)
    for i in range(len(store)):
        ep = store.episode(i)
        if ep.metadata["mode"] in ("stall", "drop"):
            assert not ep.success[-1], "a spoiled episode must end short of success"
        if ep.success.any():  # frames after the first success are kept, then it stops
            first = int(np.argmax(ep.success))
            assert ep.num_steps - first - 1 <= LabelGenConfig().post_success_steps
        assert ep.images["front"].shape[1:] == (*SIZE, 3)


def test_lighting_is_randomised_and_recorded(labels: Path) -> None:
    store = EpisodeStore(labels)
    diffuse = [
        tuple(map(tuple, store.metadata(i)["lighting"]["diffuse"])) for i in range(len(store))
    ]
    assert len(set(diffuse)) == len(store)
    means = [store.episode(i).images["front"][0].mean() for i in range(len(store))]
    assert np.ptp(means) > 5.0  # visibly different brightness


def test_light_randomizer_restores_nominal() -> None:
    env = TwinEnv(EnvConfig(task="pick_cube", obs="state"))
    m = env.cell.model
    nominal = m.light_diffuse.copy()
    lights = LightRandomizer(m)
    lights.apply(np.random.default_rng(0))
    assert not np.allclose(m.light_diffuse, nominal)
    lights.restore()
    assert np.allclose(m.light_diffuse, nominal)
    env.close()


def test_stall_holds_short_of_success() -> None:
    env = TwinEnv(EnvConfig(task="pick_cube", obs="state"))
    stalled = 0
    for seed in range(3):
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        cfg = PerturbConfig(trigger_shaping=(-0.2, -0.2))  # stall half-way up the lift
        policy = PerturbedExpert(env, "stall", rng, cfg)
        for _ in range(60):
            env.step(policy.act())
        if policy.triggered_at is not None:
            stalled += 1
            assert not env.task.success(env.cell)
    assert stalled >= 2
    env.close()


def test_explore_leaves_the_expert_path() -> None:
    """The explore mode's random walk reaches arm poses and gripper states the expert does
    not; these are the negatives that keep a classifier from firing on a learning policy."""
    env = TwinEnv(EnvConfig(task="pick_cube", obs="state"))
    cfg = PerturbConfig(explore_after_steps=(0, 1))
    spans, changes, part_open = [], 0, 0
    for seed in range(3):
        env.reset(seed=seed)
        policy = PerturbedExpert(env, "explore", np.random.default_rng(seed), cfg)
        tcp, grip = [], []
        for _ in range(50):
            a = policy.act()
            assert a.shape == (7,) and np.all(np.abs(a) <= 1.0)
            grip.append(a[6])
            env.step(a)
            tcp.append(env.cell.data.site_xpos[env.cell.tcp_site].copy())
        spans.append(float(np.ptp(np.array(tcp), axis=0).max()))
        changes += int(np.count_nonzero(np.diff(grip)))
        part_open += int(np.count_nonzero(np.abs(np.array(grip)) < 0.9))
    assert min(spans) > 0.05, spans  # metres: the walk moves the arm, not jitter in place
    assert changes >= 3 and part_open > 0  # part-open grippers, as a policy commands
    env.close()


def test_miss_presses_the_peg_beside_the_hole() -> None:
    """The miss mode's expert aims beside the hole: the peg ends on the fixture next to it,
    never inside; the same episodes without the offset insert (so the check can fail)."""
    env = TwinEnv(EnvConfig(task="peg_insert", obs="state"))
    task = env.task
    for seed in range(2):
        for mode in ("miss", "clean"):
            env.reset(seed=seed)
            cfg = PerturbConfig(clean_noise_std=0.0)
            policy = PerturbedExpert(env, mode, np.random.default_rng(seed), cfg)
            inserted = False
            for _ in range(60):
                env.step(policy.act())
                inserted |= task.success(env.cell)  # type: ignore[attr-defined]
            tip, hole = task.peg_tip(env.cell), task.hole(env.cell)  # type: ignore[attr-defined]
            beside = float(np.linalg.norm(tip[:2] - hole[:2]))
            if mode == "clean":
                assert inserted, f"seed {seed}: the exact expert should insert"
                continue
            offset = float(np.linalg.norm(policy.expert.aim_offset_m))
            assert not inserted and 0.006 <= offset < 0.025
            assert abs(beside - offset) < 0.003, (beside, offset)  # where it aimed
            assert abs(tip[2] - hole[2]) < 0.008  # down on the fixture, not hovering
    env.close()


def test_mode_weights() -> None:
    assert mode_weights({"miss": 1.0}) == (0.0,) * 5 + (1.0,)
    with pytest.raises(ValueError, match="unknown perturbation mode"):
        mode_weights({"mis": 1.0})
    for bad in ({"miss": float("nan")}, {"miss": -1.0, "clean": 2.0}, {"miss": 0.0}):
        with pytest.raises(ValueError, match="weights must be"):
            mode_weights(bad)


def test_perturb_config_is_checked() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="weights"):
        draw_mode(rng, PerturbConfig(weights=(1.0, 1.0)))
    with pytest.raises(ValueError, match="explore_after_steps"):
        draw_mode(rng, PerturbConfig(explore_after_steps=(5, 5)))


def test_labelled_frames_load(labels: Path) -> None:
    data = load_labelled_frames([labels])
    assert data.cameras == ("front", "wrist") and data.image_shape == (*SIZE, 3)
    assert 0 < data.positives < len(data)
    # The pinholes the frames were rendered through: the default cell's, at the image size.
    assert data.camera_views == camera_views(load_calibration(None), data.cameras, SIZE)
    assert data.camera_views["front"][0] < 2 * SIZE[1]  # fx in pixels of the 48x48 image


def test_cli_make_reward_labels(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register_cli(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "cli_labels"
    args = parser.parse_args(
        [
            "make-reward-labels",
            "--out",
            str(out),
            "--episodes",
            "1",
            "--image-size",
            "32",
            "32",
            "--cameras",
            "front",
        ]
    )
    assert args.func(args) == 0
    store = EpisodeStore(out)
    assert len(store) == 1 and store.spec.cameras == ("front",)
    base = ["make-reward-labels", "--out", str(tmp_path / "x"), "--episodes", "1"]
    for bad in (["--modes", "mis=1"], ["--modes", "miss"], ["--calibration", "nowhere.yaml"]):
        bad_args = parser.parse_args([*base, *bad])
        assert bad_args.func(bad_args) == 2  # one line on stderr, nothing written
    assert not (tmp_path / "x").exists()
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--modes", "miss=lots"])
