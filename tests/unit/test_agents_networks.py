"""Ensemble independence, actor log-probabilities, pixel checks, augmentation, encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_rl.agents.augment import random_shift
from robot_rl.agents.config import EncoderConfig
from robot_rl.agents.encoders import ObsEncoder, PixelBackbones, ResNetBackbone
from robot_rl.agents.networks import EnsembleCritic, EnsembleLinear, TanhGaussianActor
from robot_rl.agents.pixels import PixelScaleError, check_uint8_array, pixels_to_float
from robot_rl.agents.types import ObsSpec

torch.set_num_threads(1)
TINY = EncoderConfig(stage_widths=(8, 16), stem_width=8, bottleneck_dim=16, proprio_dim=8)


def test_ensemble_linear_matches_member_by_member() -> None:
    torch.manual_seed(0)
    layer = EnsembleLinear(3, 5, 4)
    x = torch.randn(7, 5)
    out = layer(x)
    for e in range(3):
        assert torch.allclose(out[e], x @ layer.weight[e] + layer.bias[e], atol=1e-6)
    x3 = torch.randn(3, 7, 5)
    out3 = layer(x3)
    for e in range(3):
        assert torch.allclose(out3[e], x3[e] @ layer.weight[e] + layer.bias[e], atol=1e-6)


def test_critic_members_differ_after_init() -> None:
    torch.manual_seed(0)
    critic = EnsembleCritic(6, 2, ensemble_size=4, hidden_dims=(16, 16))
    q = critic(torch.randn(32, 6), torch.rand(32, 2))
    assert q.shape == (4, 32)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.allclose(q[i], q[j])


def test_gradient_of_one_member_touches_no_other() -> None:
    torch.manual_seed(0)
    critic = EnsembleCritic(6, 2, ensemble_size=3, hidden_dims=(16, 16), layer_norm=True)
    critic(torch.randn(8, 6), torch.rand(8, 2))[1].sum().backward()
    params = dict(critic.named_parameters())
    assert any("mlp.net.6" in n for n in params)  # the final layer is per member too
    for name, p in params.items():
        assert p.grad is not None and p.shape[0] == 3, name
        assert torch.count_nonzero(p.grad[0]) == 0 and torch.count_nonzero(p.grad[2]) == 0, name
        assert torch.count_nonzero(p.grad[1]) > 0, name


def test_actor_log_prob_matches_torch_distributions() -> None:
    torch.manual_seed(0)
    actor = TanhGaussianActor(5, 3, (16,))
    feat = torch.randn(64, 5)
    noise = torch.randn(64, 3)
    action, log_prob = actor.sample(feat, noise)
    mean, log_std = actor(feat)
    dist = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mean, log_std.exp()),
        [torch.distributions.transforms.TanhTransform(cache_size=1)],
    )
    pre = mean + log_std.exp() * noise
    ref = dist.log_prob(torch.tanh(pre).clamp(-1 + 1e-6, 1 - 1e-6)).sum(-1)
    ok = action.abs().max(dim=-1).values < 0.99  # atanh is ill-conditioned near +-1
    assert torch.allclose(log_prob[ok], ref[ok], atol=1e-3)
    assert action.abs().max() <= 1.0
    det, _ = actor.sample(feat, deterministic=True)
    assert torch.allclose(det, torch.tanh(mean))
    assert (log_std >= -5.0).all() and (log_std <= 2.0).all()


def test_pixel_checks_reject_float_or_wrong_shape() -> None:
    check_uint8_array(np.zeros((4, 8, 8, 3), np.uint8), "front", (8, 8, 3))
    with pytest.raises(PixelScaleError):
        check_uint8_array(np.zeros((4, 8, 8, 3), np.float32), "front", (8, 8, 3))
    with pytest.raises(PixelScaleError):
        check_uint8_array(np.zeros((4, 8, 8, 3), np.int64), "front", (8, 8, 3))
    with pytest.raises(PixelScaleError):
        check_uint8_array(np.zeros((4, 8, 9, 3), np.uint8), "front", (8, 8, 3))
    with pytest.raises(PixelScaleError):
        pixels_to_float(torch.rand(2, 8, 8, 3))
    x = torch.full((1, 2, 2, 3), 255, dtype=torch.uint8)
    y = pixels_to_float(x)
    assert y.shape == (1, 3, 2, 2) and y.dtype == torch.float32 and float(y.max()) == 1.0


def test_random_shift_is_a_replicate_padded_crop() -> None:
    gen = torch.Generator().manual_seed(0)
    h = w = 10
    img = torch.arange(h * w * 3, dtype=torch.int64).reshape(1, h, w, 3) % 251
    imgs = img.to(torch.uint8).repeat(16, 1, 1, 1)
    out = random_shift(imgs, 4, gen)
    assert out.dtype == torch.uint8 and out.shape == imgs.shape
    padded = torch.nn.functional.pad(
        img.permute(0, 3, 1, 2).float(), (4, 4, 4, 4), mode="replicate"
    ).permute(0, 2, 3, 1)
    crops = {
        (dy, dx): padded[0, dy : dy + h, dx : dx + w].to(torch.uint8)
        for dy in range(9)
        for dx in range(9)
    }
    shifts = set()
    for b in range(16):
        match = [k for k, c in crops.items() if torch.equal(c, out[b])]
        assert match, "every output must be one padded crop"
        shifts.add(match[0])
    assert len(shifts) > 1
    assert torch.equal(random_shift(imgs, 0, gen), imgs)


def test_backbone_weights_load_from_local_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(1)
    ref = ResNetBackbone(TINY.stem_width, TINY.stage_widths)
    path = tmp_path / "resnet.pt"
    torch.save(ref.state_dict(), path)
    backbones = PixelBackbones(("front", "wrist"), TINY)
    backbones.load_weights(path)
    for name, p in ref.state_dict().items():
        for cam in ("front", "wrist"):
            assert torch.equal(backbones.state_dict()[f"per_camera.{cam}.resnet.{name}"], p)
    bad = tmp_path / "bad.pt"
    torch.save({"nope": torch.zeros(1)}, bad)
    with pytest.raises(RuntimeError):
        backbones.load_weights(bad)


def test_obs_encoder_fuses_cameras_and_state() -> None:
    spec = ObsSpec(5, ("front", "wrist"), (32, 32, 3))
    backbones = PixelBackbones(spec.cameras, TINY)
    imgs = {c: torch.randint(0, 256, (3, 32, 32, 3), dtype=torch.uint8) for c in spec.cameras}
    maps = backbones(imgs)
    fm = maps["front"]
    enc = ObsEncoder(spec, (fm.shape[1], fm.shape[2], fm.shape[3]), TINY)
    out = enc(maps, torch.randn(3, 5))
    assert out.shape == (3, enc.output_dim) == (3, 2 * 16 + 8)
    state_only = ObsEncoder(ObsSpec(5), None, TINY)
    s = torch.randn(2, 5)
    assert torch.equal(state_only(None, s), s)
