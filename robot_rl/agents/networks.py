"""Critic ensemble and tanh-Gaussian actor.

The ensemble keeps each member's weights in a stacked tensor of shape (E, in, out), so
all members run in one batched matmul, and every member, final layer included, has its
own parameters (the anchors' "members sharing a final layer" defect).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as nnf

Tensor = torch.Tensor


class EnsembleLinear(nn.Module):
    """E independent affine maps applied at once: (B, in) or (E, B, in) -> (E, B, out)."""

    def __init__(self, ensemble_size: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.ensemble_size = ensemble_size
        self.weight = nn.Parameter(torch.empty(ensemble_size, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(ensemble_size, 1, out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same scale as nn.Linear's default, drawn independently for every member.
        bound = 1.0 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:  # shared input: broadcast over members without a copy
            return torch.matmul(x, self.weight) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over the last axis with a separate gain and bias per member."""

    def __init__(self, ensemble_size: int, features: int) -> None:
        super().__init__()
        self.features = features
        self.weight = nn.Parameter(torch.ones(ensemble_size, 1, features))
        self.bias = nn.Parameter(torch.zeros(ensemble_size, 1, features))

    def forward(self, x: Tensor) -> Tensor:
        return torch.addcmul(self.bias, nnf.layer_norm(x, (self.features,)), self.weight)


class EnsembleMLP(nn.Module):
    """E independent MLPs (Linear -> [LayerNorm] -> ReLU)* -> Linear, run batched."""

    def __init__(
        self,
        ensemble_size: int,
        in_features: int,
        hidden_dims: tuple[int, ...],
        out_features: int,
        layer_norm: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden_dims:
            layers.append(EnsembleLinear(ensemble_size, width, h))
            if layer_norm:
                layers.append(EnsembleLayerNorm(ensemble_size, h))
            layers.append(nn.ReLU())
            width = h
        layers.append(EnsembleLinear(ensemble_size, width, out_features))
        self.net = nn.Sequential(*layers)
        self.ensemble_size = ensemble_size

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class EnsembleCritic(nn.Module):
    """Q(s, a) for E members: returns (E, B) values, or (E, B, K) logits if num_bins."""

    def __init__(
        self,
        feature_dim: int,
        action_dim: int,
        ensemble_size: int,
        hidden_dims: tuple[int, ...],
        layer_norm: bool = True,
        num_bins: int | None = None,
    ) -> None:
        super().__init__()
        self.num_bins = num_bins
        out = 1 if num_bins is None else num_bins
        self.mlp = EnsembleMLP(
            ensemble_size, feature_dim + action_dim, hidden_dims, out, layer_norm
        )

    def forward(self, features: Tensor, action: Tensor) -> Tensor:
        out = self.mlp(torch.cat([features, action], dim=-1))
        return out.squeeze(-1) if self.num_bins is None else out


def mlp(
    in_features: int, hidden_dims: tuple[int, ...], out_features: int, layer_norm: bool
) -> nn.Sequential:
    """Plain MLP (Linear -> [LayerNorm] -> ReLU)* -> Linear."""
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden_dims:
        layers.append(nn.Linear(width, h))
        if layer_norm:
            layers.append(nn.LayerNorm(h))
        layers.append(nn.ReLU())
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


_LOG2 = math.log(2.0)


class TanhGaussianActor(nn.Module):
    """pi(a|s) = tanh(N(mu(s), sigma(s))), actions in (-1, 1)^A."""

    def __init__(
        self,
        feature_dim: int,
        action_dim: int,
        hidden_dims: tuple[int, ...],
        layer_norm: bool = True,
        log_std_min: float = -5.0,
        log_std_max: float = 2.0,
    ) -> None:
        super().__init__()
        self.action_dim = action_dim
        self.net = mlp(feature_dim, hidden_dims, 2 * action_dim, layer_norm)
        self.log_std_min = log_std_min
        self.log_std_max = log_std_max

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """Pre-tanh mean and log standard deviation, each (B, A)."""
        mean, raw = self.net(features).chunk(2, dim=-1)
        # Squash instead of clamp so that the bound never kills the gradient.
        span = self.log_std_max - self.log_std_min
        log_std = self.log_std_min + 0.5 * span * (torch.tanh(raw) + 1.0)
        return mean, log_std

    def sample(
        self, features: Tensor, noise: Tensor | None = None, deterministic: bool = False
    ) -> tuple[Tensor, Tensor]:
        """Action (B, A) and its log-probability (B,) under the squashed Gaussian.

        ``noise`` is standard normal (B, A); passing it keeps sampling reproducible and
        torch.compile-friendly. Deterministic mode returns tanh(mean).
        """
        mean, log_std = self(features)
        return self.squash(mean, log_std, noise, deterministic)

    def squash(
        self,
        mean: Tensor,
        log_std: Tensor,
        noise: Tensor | None = None,
        deterministic: bool = False,
    ) -> tuple[Tensor, Tensor]:
        """``sample`` from an already computed ``forward`` (mean, log_std)."""
        if deterministic:
            pre = mean
        else:
            eps = torch.randn_like(mean) if noise is None else noise
            pre = mean + log_std.exp() * eps
        gauss = -0.5 * ((pre - mean) / log_std.exp()).pow(2) - log_std - 0.5 * math.log(2 * math.pi)
        # log|d tanh(u)/du| = 2 (log 2 - u - softplus(-2u)), stable for large |u|.
        log_det = 2.0 * (_LOG2 - pre - nnf.softplus(-2.0 * pre))
        log_prob = (gauss - log_det).sum(dim=-1)
        return torch.tanh(pre), log_prob
