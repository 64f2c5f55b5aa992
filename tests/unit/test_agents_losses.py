"""Losses against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from robot_rl.agents import losses

torch.set_num_threads(1)


def t(x: object) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def test_td_target_masks_termination_only() -> None:
    reward, next_v = t([1.0, 0.5, 0.0]), t([10.0, 10.0, -2.0])
    terminated = t([0.0, 1.0, 0.0])
    out = losses.td_target(reward, terminated, next_v, discount=0.9)
    assert torch.allclose(out, t([10.0, 0.5, -1.8]))


def test_subsample_min_uses_only_chosen_members() -> None:
    q = t([[1.0, 5.0], [2.0, 3.0], [0.0, 9.0]])
    assert torch.equal(losses.subsample_min(q, torch.tensor([0, 1])), t([1.0, 3.0]))
    assert torch.equal(losses.subsample_min(q, torch.tensor([1, 2])), t([0.0, 3.0]))


def test_random_subset_is_distinct_and_in_range() -> None:
    gen = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(50):
        idx = losses.random_subset(10, 2, gen)
        assert (
            idx.shape == (2,) and idx[0] != idx[1] and int(idx.min()) >= 0 and int(idx.max()) < 10
        )
        seen.update(idx.tolist())
    assert seen == set(range(10))
    with pytest.raises(ValueError):
        losses.random_subset(2, 3)


def test_soft_value() -> None:
    assert torch.allclose(losses.soft_value(t([2.0]), t([-1.0]), 0.1), t([2.1]))


def test_critic_loss_is_mean_over_members_and_batch() -> None:
    q = t([[1.0, 2.0], [4.0, 0.0]])
    # errors: (1-2)^2, (2-1)^2, (4-2)^2, (0-1)^2 -> (1 + 1 + 4 + 1) / 4
    assert math.isclose(float(losses.critic_loss(q, t([2.0, 1.0]))), 1.75)


def test_critic_loss_does_not_backprop_into_target() -> None:
    target = t([1.0]).requires_grad_()
    q = t([[0.0]]).requires_grad_()
    losses.critic_loss(q, target * 2).backward()
    assert target.grad is None and q.grad is not None


def test_actor_loss_mean_and_min() -> None:
    log_prob, q = t([-1.0, 0.5]), t([[1.0, 3.0], [2.0, 5.0]])
    # mean: (0.2*-1 - 1.5 + 0.2*0.5 - 4) / 2 ; min: (-0.2 - 1 + 0.1 - 3) / 2
    assert math.isclose(float(losses.actor_loss(log_prob, q, 0.2, "mean")), -2.8, rel_tol=1e-6)
    assert math.isclose(float(losses.actor_loss(log_prob, q, 0.2, "min")), -2.05, rel_tol=1e-6)


def test_bc_loss_averages_masked_rows_only() -> None:
    action = t([[0.0, 0.0], [1.0, 1.0], [0.5, -0.5]])
    target = t([[1.0, 0.0], [0.0, 0.0], [0.5, 0.5]])
    # masked rows 0 and 2: squared errors 1 and 1 -> mean 1; row 1 (error 2) is ignored
    assert math.isclose(float(losses.bc_loss(action, target, t([1.0, 0.0, 1.0]))), 1.0)
    assert float(losses.bc_loss(action, target, t([0.0, 0.0, 0.0]))) == 0.0


def test_temperature_loss_value_and_direction() -> None:
    log_alpha = torch.tensor(math.log(0.5), requires_grad=True)
    # -log pi - H_target = [3, 5]; alpha * mean = 0.5 * 4
    loss = losses.temperature_loss(log_alpha, t([-1.0, -3.0]), target_entropy=-2.0)
    assert math.isclose(float(loss.detach()), 2.0, rel_tol=1e-6)
    loss.backward()
    assert log_alpha.grad is not None and float(log_alpha.grad) > 0  # entropy high: alpha falls


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_hl_gauss_target_probs_by_hand() -> None:
    edges = t([0.0, 1.0, 2.0, 3.0])
    probs = losses.hl_gauss_target_probs(t([1.5]), edges, sigma=1.0)[0]
    cdf = [_phi(e - 1.5) for e in (0.0, 1.0, 2.0, 3.0)]
    mass = [cdf[i + 1] - cdf[i] for i in range(3)]
    expected = [m / (cdf[3] - cdf[0]) for m in mass]  # 0.27901, 0.44198, 0.27901
    assert torch.allclose(probs, t(expected), atol=1e-6)
    sharp = losses.hl_gauss_target_probs(t([1.0]), edges, sigma=1e-3)[0]
    assert torch.allclose(sharp, t([0.5, 0.5, 0.0]), atol=1e-6)


def test_hl_gauss_loss_and_expectation_uniform_logits() -> None:
    edges = losses.hl_gauss_edges(0.0, 3.0, 3)
    logits = torch.zeros(2, 4, 3)
    loss = losses.hl_gauss_loss(logits, t([0.2, 1.0, 2.9, 99.0]), edges, sigma=0.75)
    assert math.isclose(float(loss), math.log(3.0), rel_tol=1e-6)
    assert torch.allclose(losses.hl_gauss_expectation(logits, edges), torch.full((2, 4), 1.5))


def test_gripper_td_target_double_dqn_by_hand() -> None:
    online = t([[[0.0, 5.0, 1.0]], [[0.0, 3.0, 4.0]]])  # mean [0, 4, 2.5] -> argmax 1
    target = t([[[7.0, 2.0, 9.0]], [[7.0, 6.0, 9.0]]])  # at 1: [2, 6] -> min 2
    args = (t([1.0]), t([0.1]))
    alive = losses.gripper_td_target(*args, t([0.0]), online, target, discount=0.5)
    dead = losses.gripper_td_target(*args, t([1.0]), online, target, discount=0.5)
    assert torch.allclose(alive, t([1.9])) and torch.allclose(dead, t([0.9]))


def test_gripper_critic_loss_by_hand() -> None:
    q = t([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    loss = losses.gripper_critic_loss(q, torch.tensor([2, 0]), t([3.0, 5.0]))
    assert math.isclose(float(loss), 0.5)
