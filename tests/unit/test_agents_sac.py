"""SAC agent: bootstrapping rules, weights export, pixels, gripper, and a tiny learning run."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.agents import gripper as grip
from robot_rl.agents.config import (
    ActorConfig,
    CriticConfig,
    EncoderConfig,
    GripperConfig,
    HLGaussConfig,
    SACConfig,
    config_from_dict,
    config_to_dict,
    rlpd_config,
    target_entropy_from_action_dim,
    updates_due,
)
from robot_rl.agents.encoders import ResNetBackbone
from robot_rl.agents.pixels import PixelScaleError
from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import Batch, ObsSpec

torch.set_num_threads(1)
SMALL = SACConfig(
    batch_size=32,
    critic=CriticConfig(hidden_dims=(32, 32)),
    actor=ActorConfig(hidden_dims=(32, 32)),
)
TINY_ENC = EncoderConfig(stage_widths=(8, 16), stem_width=8, bottleneck_dim=16, proprio_dim=8)
PIX = ObsSpec(20, ("front", "wrist"), (24, 24, 3))


def random_batch(spec: ObsSpec, b: int, a: int, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)

    def imgs() -> dict[str, np.ndarray]:
        return {
            c: rng.integers(0, 256, (b, *spec.image_shape), dtype=np.uint8) for c in spec.cameras
        }

    def st() -> np.ndarray:
        return rng.uniform(0, 0.08, (b, spec.state_dim)).astype(np.float32)

    return Batch(
        st(),
        imgs(),
        rng.uniform(-1, 1, (b, a)).astype(np.float32),
        rng.normal(size=b).astype(np.float32),
        st(),
        imgs(),
        rng.random(b) < 0.2,
        rng.random(b) < 0.2,
        rng.random(b) < 0.2,
    )


def test_config_defaults_presets_and_round_trip() -> None:
    c = SACConfig()
    assert (c.discount, c.tau, c.batch_size, c.replay.demo_fraction) == (0.99, 0.005, 256, 0.5)
    assert c.critic.ensemble_size == 2 and c.critic.layer_norm and c.critic.learning_rate == 3e-4
    assert c.temperature.init_temperature == 0.01 and target_entropy_from_action_dim(7) == -3.5
    assert rlpd_config().critic.ensemble_size == 10 and rlpd_config().critic.subsample_size == 2
    hl = dataclasses.replace(c, critic=CriticConfig(hl_gauss=HLGaussConfig()))
    assert config_from_dict(config_to_dict(hl)) == hl
    assert [updates_due(n, 0, 0.5) for n in (0, 1, 2, 3)] == [0, 0, 1, 1]
    assert updates_due(10, 17, 2.0) == 3


def test_truncation_bootstraps_and_termination_does_not() -> None:
    agent = SACAgent(SMALL, ObsSpec(4), 2)
    base = random_batch(ObsSpec(4), 3, 2)
    same = np.repeat(base.state[:1], 3, 0), np.repeat(base.next_state[:1], 3, 0)
    batch = base._replace(
        state=same[0],
        next_state=same[1],
        action=np.zeros((3, 2), np.float32),
        reward=np.full(3, 0.5, np.float32),
        terminated=np.array([False, False, True]),
        truncated=np.array([False, True, False]),
    )
    plain, truncated, terminated = agent.td_targets(batch)
    assert truncated == pytest.approx(plain)  # a time limit still bootstraps
    assert terminated == pytest.approx(0.5)  # a true terminal is the reward alone
    assert plain != pytest.approx(0.5)


def test_learns_one_dimensional_task_from_state() -> None:
    """Reward -(a - s)^2 in one-step episodes: the greedy action must track the state."""
    spec = ObsSpec(1)
    cfg = dataclasses.replace(
        SMALL,
        batch_size=128,
        critic=CriticConfig(hidden_dims=(64, 64)),
        actor=ActorConfig(hidden_dims=(64, 64)),
    )
    agent = SACAgent(cfg, spec, 1)
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(4096, spec, 1)
    for _ in range(1000):
        s, a = rng.uniform(-1, 1, 1).astype(np.float32), rng.uniform(-1, 1, 1).astype(np.float32)
        nxt = {"state": rng.uniform(-1, 1, 1).astype(np.float32)}
        buffer.add({"state": s}, a, -float((a[0] - s[0]) ** 2), nxt, True, False)
    for _ in range(400):
        metrics = agent.update(buffer.sample(128, rng))
    assert np.isfinite(list(metrics.values())).all()
    s = np.linspace(-0.8, 0.8, 9, dtype=np.float32)[:, None]
    greedy = agent.act({"state": s}, deterministic=True)
    assert greedy.shape == (9, 1) and np.abs(greedy - s).max() < 0.2


def test_state_stats_standardise_critic_target_and_travel_with_weights() -> None:
    spec = ObsSpec(3)
    agent = SACAgent(SMALL, spec, 2)
    rows = np.random.default_rng(1).normal([1.0, -2.0, 5.0], [0.5, 2.0, 0.0], (500, 3))
    agent.set_state_stats(rows.astype(np.float32))
    probe = torch.tensor([[1.0, -2.0, 5.0], [1.5, 0.0, 5.1]])
    for enc in (agent.critic.encoder, agent.critic_target.encoder):
        z = enc(None, probe)
        assert z[0].abs().max() < 0.1  # the mean maps to ~0
        assert z[1, 0] == pytest.approx(1.0, abs=0.1) and z[1, 1] == pytest.approx(1.0, abs=0.1)
        assert z[1, 2] == pytest.approx(0.1 / SMALL.state_min_std, rel=0.05)  # std floored
    actor = SACAgent(SMALL, spec, 2)
    actor.load_trainable_state(agent.trainable_state())
    obs = {"state": probe.numpy()}
    assert np.allclose(actor.act(obs, True), agent.act(obs, True))
    with pytest.raises(ValueError, match="finite"):
        agent.set_state_stats(np.full((4, 3), np.nan, np.float32))
    off = SACAgent(dataclasses.replace(SMALL, normalize_state=False), spec, 2)
    off.set_state_stats(rows.astype(np.float32))
    assert torch.equal(off.critic.encoder(None, probe), probe)


def test_state_clip_caps_the_standardised_state_for_learner_and_actor() -> None:
    spec = ObsSpec(2)
    cfg = dataclasses.replace(SMALL, state_clip=3.0)
    agent = SACAgent(cfg, spec, 2)
    agent.set_state_stats(np.random.default_rng(2).normal(0.0, 1.0, (500, 2)).astype(np.float32))
    probe = torch.tensor([[0.5, 40.0], [-0.5, -40.0]])  # a contact force far out of the stats
    for enc in (agent.critic.encoder, agent.critic_target.encoder):
        z = enc(None, probe)
        assert z[:, 1].abs().max() == pytest.approx(3.0)
        assert z[:, 0].abs().max() < 1.0  # inside the cap: untouched
    actor = SACAgent(cfg, spec, 2)  # an actor node builds its agent from the same config
    actor.load_trainable_state(agent.trainable_state())
    obs = {"state": probe.numpy()}
    assert np.allclose(actor.act(obs, True), agent.act(obs, True))


def test_bc_term_pulls_the_policy_to_demo_actions_only() -> None:
    spec = ObsSpec(2)
    cfg = dataclasses.replace(SMALL, actor=ActorConfig(hidden_dims=(32, 32), bc_weight=10.0))
    agent = SACAgent(cfg, spec, 2)
    batch = random_batch(spec, 64, 2)
    target = np.tile([0.7, -0.4], (64, 1)).astype(np.float32)
    is_demo = np.arange(64) < 32
    action = np.where(is_demo[:, None], target, -target).astype(np.float32)
    batch = batch._replace(action=action, reward=np.zeros(64, np.float32), demo=is_demo)
    for _ in range(300):
        metrics = agent.update(batch)
    greedy = agent.act({"state": batch.state[:8]}, deterministic=True)
    assert np.abs(greedy - target[:8]).max() < 0.15 and metrics["bc"] < 0.05


def test_checkpoint_round_trip_continues_identically() -> None:
    spec = ObsSpec(5)
    a, b = SACAgent(SMALL, spec, 3), SACAgent(dataclasses.replace(SMALL, seed=7), spec, 3)
    a.update(random_batch(spec, 32, 3, 1))
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)  # what a checkpoint does; must load without pickle code
    b.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    batch = random_batch(spec, 32, 3, 2)
    assert a.update(batch) == b.update(batch)
    obs = {"state": np.ones(5, np.float32)}
    np.testing.assert_array_equal(a.act(obs, True), b.act(obs, True))
    assert b.num_updates == 2


def make_pixel_agent(tmp_path: Path, frozen: bool, **kw: object) -> SACAgent:
    torch.manual_seed(3)
    path = tmp_path / "resnet.pt"
    torch.save(ResNetBackbone(TINY_ENC.stem_width, TINY_ENC.stage_widths).state_dict(), path)
    enc = dataclasses.replace(TINY_ENC, weights_path=str(path), frozen=frozen)
    return SACAgent(dataclasses.replace(SMALL, encoder=enc, **kw), PIX, 7)  # type: ignore[arg-type]


def test_pixel_agent_frozen_backbone_is_untouched_and_not_exported(tmp_path: Path) -> None:
    agent = make_pixel_agent(tmp_path, frozen=True)
    assert agent.backbones is not None
    before = {k: v.clone() for k, v in agent.backbones.state_dict().items()}
    head_before = agent.critic.encoder.state_dict()["heads.front.pool.kernel"].clone()
    agent.update(random_batch(PIX, 8, 7))
    for k, v in agent.backbones.state_dict().items():
        assert torch.equal(v, before[k])
    assert not torch.equal(
        agent.critic.encoder.state_dict()["heads.front.pool.kernel"], head_before
    )
    weights = agent.trainable_state()
    assert "backbones" not in weights and weights["policy_version"] == 1
    actor = make_pixel_agent(tmp_path, frozen=True)
    actor.load_trainable_state(weights)
    obs = {
        "state": np.zeros(20, np.float32),
        "images": {c: np.full((24, 24, 3), 99, np.uint8) for c in PIX.cameras},
    }
    np.testing.assert_array_equal(actor.act(obs, True), agent.act(obs, True))
    assert actor.policy_version == 1


def test_pixel_agent_trainable_backbone_learns_and_is_exported(tmp_path: Path) -> None:
    agent = make_pixel_agent(tmp_path, frozen=False)
    assert agent.backbones is not None
    before = agent.backbones.state_dict()["per_camera.front.resnet.stem.0.weight"].clone()
    agent.update(random_batch(PIX, 8, 7))
    after = agent.backbones.state_dict()["per_camera.front.resnet.stem.0.weight"]
    assert not torch.equal(before, after)
    assert "backbones" in agent.trainable_state()


def test_float_images_fail_loudly(tmp_path: Path) -> None:
    agent = make_pixel_agent(tmp_path, frozen=True)
    batch = random_batch(PIX, 4, 7)
    floats = {c: v.astype(np.float32) / 255.0 for c, v in batch.images.items()}
    with pytest.raises(PixelScaleError):
        agent.update(batch._replace(images=floats))
    with pytest.raises(PixelScaleError):
        agent.act(
            {"state": np.zeros(20, np.float32), "images": {c: v[0] for c, v in floats.items()}}
        )


def test_gripper_choice_mapping() -> None:
    stay = torch.tensor([0.2, -1.0, 1.0, 0.2])
    cmd = torch.tensor([-1.0, -1.0, 1.0, 1.0])
    choice = grip.choice_from_command(cmd, stay)
    # close when open; "close" when closed is staying; "open" when open is staying
    assert choice.tolist() == [grip.CLOSE, grip.STAY, grip.STAY, grip.OPEN]
    back = grip.command_from_choice(choice, stay)
    assert torch.allclose(back, torch.tensor([-1.0, -1.0, 1.0, 1.0]))
    state = torch.zeros(1, 20)
    state[0, 13] = 0.04
    assert float(grip.stay_command(state, GripperConfig())) == pytest.approx(0.0)


def test_gripper_and_hl_gauss_agent_update_and_act(tmp_path: Path) -> None:
    agent = make_pixel_agent(
        tmp_path,
        frozen=True,
        gripper=GripperConfig(enabled=True, hidden_dims=(16,)),
        critic=CriticConfig(
            hidden_dims=(32,), ensemble_size=4, hl_gauss=HLGaussConfig(num_bins=11)
        ),
    )
    assert agent.continuous_dim == 6 and agent.target_entropy == -3.0
    metrics = agent.update(random_batch(PIX, 8, 7))
    assert {"gripper_loss", "critic_loss", "actor_loss", "alpha"} <= set(metrics)
    state = np.zeros(20, np.float32)
    state[13] = 0.02  # stay command = -0.5
    obs = {"state": state, "images": {c: np.zeros((24, 24, 3), np.uint8) for c in PIX.cameras}}
    grips = {float(agent.act(obs)[-1]) for _ in range(60)}
    assert grips <= {-1.0, -0.5, 1.0} and len(grips) >= 2  # epsilon explores every choice
    assert "gripper" in agent.trainable_state()
