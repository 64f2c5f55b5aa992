"""SAC/RLPD losses as free functions over tensors, so each can be tested by hand.

Shapes: E = ensemble members, B = batch, K = HL-Gauss bins, G = gripper choices.
Bootstrapping is masked by ``terminated`` only: a time-limit truncation still
bootstraps (the anchors' "time-limit cut-offs treated as terminal" defect).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as nnf

Tensor = torch.Tensor

# --- TD targets -----------------------------------------------------------------------


def random_subset(
    ensemble_size: int, subset_size: int, generator: torch.Generator | None = None
) -> Tensor:
    """Indices of subset_size distinct members drawn uniformly (RLPD subsample-min)."""
    if not 1 <= subset_size <= ensemble_size:
        raise ValueError(f"subset_size {subset_size} not in [1, {ensemble_size}]")
    device = generator.device if generator is not None else None
    return torch.randperm(ensemble_size, generator=generator, device=device)[:subset_size]


def subsample_min(q: Tensor, members: Tensor) -> Tensor:
    """Minimum over the chosen members: q (E, B), members (M,) -> (B,)."""
    return q.index_select(0, members).min(dim=0).values


def soft_value(q: Tensor, log_prob: Tensor, alpha: Tensor | float) -> Tensor:
    """Entropy-regularised value q - alpha * log pi, all (B,)."""
    return q - alpha * log_prob


def td_target(
    reward: Tensor, terminated: Tensor, next_value: Tensor, discount: Tensor | float
) -> Tensor:
    """r + gamma * (1 - terminated) * V(s'); truncation is not an argument on purpose.

    ``discount`` is a scalar or per row (B,) (n-step: gamma^steps)."""
    not_done = 1.0 - terminated.to(reward.dtype)
    return reward + discount * not_done * next_value


# --- continuous SAC -------------------------------------------------------------------


def critic_loss(q: Tensor, target: Tensor) -> Tensor:
    """Squared TD error averaged over members and batch: q (E, B), target (B,)."""
    return (q - target.detach().unsqueeze(0)).pow(2).mean()


def actor_loss(
    log_prob: Tensor, q: Tensor, alpha: Tensor | float, reduction: str = "mean"
) -> Tensor:
    """mean_b[alpha * log pi(a|s) - Q(s, a)] with Q reduced over members (E, B) -> (B,)."""
    if reduction == "mean":
        q_red = q.mean(dim=0)
    elif reduction == "min":
        q_red = q.min(dim=0).values
    else:
        raise ValueError(f"unknown reduction {reduction!r}")
    return (alpha * log_prob - q_red).mean()


def bc_loss(action: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Squared error of policy actions (B, A) to demo actions over rows where mask (B,) is 1,
    summed over action dims and averaged over masked rows (0 when no row is masked)."""
    err = (action - target).pow(2).sum(dim=-1)
    return (err * mask).sum() / mask.sum().clamp_min(1.0)


def temperature_loss(log_alpha: Tensor, log_prob: Tensor, target_entropy: float) -> Tensor:
    """alpha * mean(-log pi - H_target); alpha grows when entropy is below target."""
    return (log_alpha.exp() * (-log_prob.detach() - target_entropy)).mean()


# --- HL-Gauss classification critic ----------------------------------------------------


def hl_gauss_edges(v_min: float, v_max: float, num_bins: int) -> Tensor:
    """Bin edges (K + 1,) of a uniform support on [v_min, v_max]."""
    return torch.linspace(v_min, v_max, num_bins + 1)


def hl_gauss_target_probs(target: Tensor, edges: Tensor, sigma: float) -> Tensor:
    """Mass of N(target, sigma^2) in each bin, renormalised to the support: (B,) -> (B, K)."""
    z = (edges.unsqueeze(0) - target.unsqueeze(1)) / (sigma * math.sqrt(2.0))
    cdf = 0.5 * (1.0 + torch.erf(z))  # (B, K + 1)
    mass = cdf[:, 1:] - cdf[:, :-1]
    total = (cdf[:, -1] - cdf[:, :1].squeeze(1)).clamp_min(1e-8)
    return mass / total.unsqueeze(1)


def hl_gauss_loss(logits: Tensor, target: Tensor, edges: Tensor, sigma: float) -> Tensor:
    """Cross-entropy to the HL-Gauss target, mean over members and batch.

    logits (E, B, K), target (B,) returns clipped into the support first.
    """
    t = target.detach().clamp(float(edges[0]), float(edges[-1]))
    probs = hl_gauss_target_probs(t, edges, sigma)  # (B, K)
    log_p = nnf.log_softmax(logits, dim=-1)
    return -(probs.unsqueeze(0) * log_p).sum(dim=-1).mean()


def hl_gauss_expectation(logits: Tensor, edges: Tensor) -> Tensor:
    """Expected value under softmax(logits) at the bin centres: (..., K) -> (...)."""
    centres = 0.5 * (edges[1:] + edges[:-1])
    return (nnf.softmax(logits, dim=-1) * centres).sum(dim=-1)


# --- self-predictive auxiliary loss (SPR/TACO family) -------------------------------------


def self_predictive_loss(predicted: Tensor, target: Tensor) -> Tensor:
    """Squared distance of L2-normalised latents, 2 - 2 cos(pred, target), mean over the
    batch: predicted (B, D) with gradient, target (B, D) detached (SPR's loss)."""
    p = nnf.normalize(predicted, dim=-1)
    t = nnf.normalize(target.detach(), dim=-1)
    return (2.0 - 2.0 * (p * t).sum(dim=-1)).mean()


# --- discrete gripper critic ------------------------------------------------------------


def gripper_td_target(
    reward: Tensor,
    penalty: Tensor,
    terminated: Tensor,
    next_q_online: Tensor,
    next_q_target: Tensor,
    discount: Tensor | float,
) -> Tensor:
    """Double-DQN target for the gripper head.

    The online ensemble mean picks a' = argmax; the target ensemble minimum scores it.
    next_q_* are (E, B, G); reward, penalty, terminated are (B,).
    """
    best = next_q_online.mean(dim=0).argmax(dim=-1)  # (B,)
    idx = best.view(1, -1, 1).expand(next_q_target.shape[0], -1, 1)
    next_v = next_q_target.gather(-1, idx).squeeze(-1).min(dim=0).values  # (B,)
    return td_target(reward - penalty, terminated, next_v, discount)


def gripper_critic_loss(q: Tensor, choice: Tensor, target: Tensor) -> Tensor:
    """Squared error of Q(s, chosen gripper action): q (E, B, G), choice (B,) long."""
    idx = choice.view(1, -1, 1).expand(q.shape[0], -1, 1)
    q_taken = q.gather(-1, idx).squeeze(-1)  # (E, B)
    return critic_loss(q_taken, target)
