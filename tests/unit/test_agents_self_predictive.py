"""The self-predictive auxiliary loss (SPR/TACO family) and the ablation options' configs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from test_agents_sac import PIX, SMALL, make_pixel_agent, random_batch

from robot_rl.agents import losses
from robot_rl.agents.config import SelfPredictiveConfig, config_from_dict, config_to_dict
from robot_rl.agents.sac import SACAgent
from robot_rl.agents.types import ObsSpec
from robot_rl.train.config import from_dict

torch.set_num_threads(1)
ON = SelfPredictiveConfig(weight=1.0, hidden_dims=(16,))


def test_self_predictive_loss_by_hand() -> None:
    t = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    same = torch.tensor([[5.0, 0.0], [0.0, 0.1], [1.0, 0.0]])  # same directions, other scales
    assert float(losses.self_predictive_loss(same, t)) == pytest.approx(0.0, abs=1e-6)
    # cos = -1, 0, 1 -> 4, 2, 0 -> mean 2
    mixed = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert float(losses.self_predictive_loss(mixed, t)) == pytest.approx(2.0)


def test_self_predictive_loss_does_not_backprop_into_target() -> None:
    pred = torch.tensor([[1.0, 1.0]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0]], requires_grad=True)
    losses.self_predictive_loss(pred, target * 2).backward()
    assert target.grad is None and pred.grad is not None


def test_off_by_default_and_old_configs_still_load() -> None:
    assert SMALL.self_predictive.weight == 0.0
    agent = SACAgent(SMALL, PIX, 7)
    assert agent.predictor is None and "predictor" not in agent.state_dict()
    old = config_to_dict(SMALL)
    del old["self_predictive"]  # a config.json saved before the option existed
    assert config_from_dict(old) == SMALL


def test_predictor_trains_the_encoder_heads_and_checkpoints(tmp_path: Path) -> None:
    agent = make_pixel_agent(tmp_path, frozen=True, self_predictive=ON)
    assert agent.predictor is not None
    batch = random_batch(PIX, 16, 7)
    first = agent.update(batch)["self_predictive"]
    for _ in range(40):
        last = agent.update(batch)["self_predictive"]
    assert last < 0.8 * first  # the prediction of the (slowly moving) target latent improves
    state = agent.state_dict()
    assert "predictor" in state and "predictor" not in agent.trainable_state()
    twin = make_pixel_agent(tmp_path, frozen=True, self_predictive=ON)
    twin.load_state_dict(state)
    for a, b in zip(agent.predictor.parameters(), twin.predictor.parameters(), strict=True):  # type: ignore[union-attr]
        assert torch.equal(a, b)


def test_the_aux_loss_reaches_the_encoder_heads(tmp_path: Path) -> None:
    # Same seeds, same batch: only the aux weight differs, so any difference in the encoder
    # heads after one update is the aux loss's gradient.
    weak = make_pixel_agent(tmp_path, True, self_predictive=dataclasses.replace(ON, weight=1e-9))
    strong = make_pixel_agent(tmp_path, True, self_predictive=ON)
    key = "heads.front.pool.kernel"
    assert torch.equal(
        weak.critic.encoder.state_dict()[key], strong.critic.encoder.state_dict()[key]
    )
    batch = random_batch(PIX, 16, 7)
    weak.update(batch)
    strong.update(batch)
    diff = weak.critic.encoder.state_dict()[key] - strong.critic.encoder.state_dict()[key]
    assert float(diff.abs().max()) > 1e-6


def test_self_predictive_needs_a_pixel_encoder() -> None:
    with pytest.raises(ValueError, match="pixel encoder"):
        SACAgent(dataclasses.replace(SMALL, self_predictive=ON), ObsSpec(20), 7)


def test_ablation_candidates_are_plain_config_overrides() -> None:
    cfg = from_dict(
        {
            "obs": "pixels",
            "sac": {
                "self_predictive": {"weight": 0.5},
                "critic": {"ensemble_size": 10, "hl_gauss": {"num_bins": 51, "v_max": 20.0}},
            },
        }
    )
    c = cfg.sac
    assert c.self_predictive.weight == 0.5 and c.self_predictive.hidden_dims == (256,)
    assert c.critic.ensemble_size == 10 and c.critic.hl_gauss is not None
    assert c.critic.hl_gauss.num_bins == 51 and c.critic.hl_gauss.v_max == 20.0
