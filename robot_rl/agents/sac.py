"""SAC/RLPD agent: acting, one gradient update, and weight export.

Loop it lives in (the learner and actor processes own the loop, not this class):

    actor:   a = agent.act(obs)            ... env.step(a) ... replay.add(...)
    learner: for _ in range(updates_due(env_steps, agent.num_updates, ratio)):
                 metrics = agent.update(sampler.sample(batch_size))
             broadcast(agent.trainable_state())      # actor: load_trainable_state()
             checkpoint(agent.state_dict())
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from robot_rl.agents import gripper as grip
from robot_rl.agents import losses
from robot_rl.agents.augment import random_shift
from robot_rl.agents.config import (
    SACConfig,
    config_to_dict,
    hl_gauss_sigma,
    target_entropy_from_action_dim,
)
from robot_rl.agents.encoders import ObsEncoder, PixelBackbones
from robot_rl.agents.networks import EnsembleCritic, EnsembleMLP, TanhGaussianActor, mlp
from robot_rl.agents.tensors import TensorBatch, batch_to_tensors, obs_to_tensors
from robot_rl.agents.types import Batch, ObsSpec

Tensor = torch.Tensor
Maps = dict[str, Tensor] | None
STATE_FORMAT = 2  # bump when the layout of trainable_state()/state_dict() changes


class Critic(nn.Module):
    """Observation encoder (trainable heads) + Q ensemble."""

    def __init__(self, encoder: ObsEncoder, q: EnsembleCritic) -> None:
        super().__init__()
        self.encoder = encoder
        self.q = q


class SACAgent:
    """Soft actor-critic with an ensemble critic; torch, CPU or CUDA.

    ``act`` and ``update`` never block on anything but the device. Images must be uint8.
    """

    _critic_step: Callable[[], Any]  # critic_opt.step, compiled when config.compile
    _actor_step: Callable[[], Any]  # actor_opt.step, compiled when config.compile

    def __init__(
        self, config: SACConfig, spec: ObsSpec, action_dim: int = 7, device: str = "cpu"
    ) -> None:
        self.config, self.spec, self.action_dim = config, spec, action_dim
        self.device = torch.device(device)
        self.use_gripper = config.gripper.enabled
        self.continuous_dim = action_dim - 1 if self.use_gripper else action_dim
        self._gen = torch.Generator(device=self.device).manual_seed(config.seed)
        self._act_gen = torch.Generator(device=self.device).manual_seed(config.seed + 1)
        self.num_updates = 0  # gradient updates done by this learner
        self.policy_version = 0  # version of the weights used by act()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self._build()
        if config.compile:
            self._critic_objective = torch.compile(self._critic_objective)  # type: ignore[method-assign]
            self._actor_objective = torch.compile(self._actor_objective)  # type: ignore[method-assign]
            self._target = torch.compile(self._target)  # type: ignore[method-assign]
            # Compiled Adam steps fuse the per-parameter elementwise updates.
            self._critic_step = torch.compile(self.critic_opt.step)
            self._actor_step = torch.compile(self.actor_opt.step)

    # --- construction ---------------------------------------------------------------

    def _build(self) -> None:
        cfg, dev = self.config, self.device
        enc = cfg.encoder
        self.backbones: PixelBackbones | None = None
        map_shape: tuple[int, int, int] | None = None
        if self.spec.cameras:
            self.backbones = PixelBackbones(self.spec.cameras, enc).to(dev)
            if enc.weights_path is not None:
                self.backbones.load_weights(enc.weights_path)
            if enc.frozen:
                self.backbones.requires_grad_(False).eval()
            h, w, _ = self.spec.image_shape
            probe = torch.zeros(1, h, w, 3, dtype=torch.uint8, device=dev)
            with torch.no_grad():
                fm = next(iter(self.backbones({c: probe for c in self.spec.cameras}).values()))
            map_shape = (int(fm.shape[1]), int(fm.shape[2]), int(fm.shape[3]))
        encoder = ObsEncoder(self.spec, map_shape, enc, cfg.state_clip)
        feat = encoder.output_dim
        c = cfg.critic
        bins = c.hl_gauss.num_bins if c.hl_gauss else None
        q = EnsembleCritic(
            feat, self.continuous_dim, c.ensemble_size, c.hidden_dims, c.layer_norm, bins
        )
        self.critic = Critic(encoder, q).to(dev)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        a = cfg.actor
        self.actor = TanhGaussianActor(
            feat, self.continuous_dim, a.hidden_dims, a.layer_norm, a.log_std_min, a.log_std_max
        ).to(dev)
        t = cfg.temperature
        self.log_alpha = torch.tensor(math.log(t.init_temperature), device=dev, requires_grad=True)
        self.target_entropy = (
            t.target_entropy
            if t.target_entropy is not None
            else target_entropy_from_action_dim(self.continuous_dim)
        )
        if c.hl_gauss is not None:
            hg = c.hl_gauss
            self._edges = losses.hl_gauss_edges(hg.v_min, hg.v_max, hg.num_bins).to(dev)
            self._sigma = hl_gauss_sigma(hg.v_min, hg.v_max, hg.num_bins, hg.sigma_ratio)
        critic_params = list(self.critic.parameters())
        self.predictor = self._build_predictor(feat)
        if self.predictor is not None:
            critic_params += list(self.predictor.parameters())
        if self.backbones is not None and not enc.frozen:
            critic_params += list(self.backbones.parameters())
        self.critic_opt = torch.optim.Adam(critic_params, lr=c.learning_rate)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=a.learning_rate)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=t.learning_rate)
        self._critic_step = self.critic_opt.step
        self._actor_step = self.actor_opt.step
        self.gripper_critic: EnsembleMLP | None = None
        if self.use_gripper:
            g = cfg.gripper
            self.gripper_critic = EnsembleMLP(
                g.ensemble_size, feat, g.hidden_dims, grip.NUM_CHOICES, True
            ).to(dev)
            self.gripper_target = copy.deepcopy(self.gripper_critic).requires_grad_(False)
            self.gripper_opt = torch.optim.Adam(
                self.gripper_critic.parameters(), lr=g.learning_rate
            )

    def _build_predictor(self, feat: int) -> nn.Module | None:
        """The self-predictive latent predictor (latent, action) -> next latent, or None."""
        sp = self.config.self_predictive
        if sp.weight <= 0.0:
            return None
        if not self.spec.cameras:
            raise ValueError("self_predictive needs a pixel encoder (a spec with cameras)")
        return mlp(feat + self.action_dim, sp.hidden_dims, feat, True).to(self.device)

    def set_state_stats(self, states: np.ndarray) -> None:
        """Fix the state standardisation (critic, target and so the actor) from rows of
        states (N, S); a no-op unless ``config.normalize_state``, or with fewer than 2 rows
        (the identity stays: one row says nothing about the spread)."""
        if not self.config.normalize_state or states.shape[0] < 2:
            return
        if states.ndim != 2 or not np.all(np.isfinite(states)):
            raise ValueError(f"need finite (N, S) state rows, got shape {states.shape}")
        mean = torch.as_tensor(states.mean(axis=0), dtype=torch.float32, device=self.device)
        std = torch.as_tensor(states.std(axis=0), dtype=torch.float32, device=self.device)
        for enc in (self.critic.encoder, self.critic_target.encoder):
            assert isinstance(enc, ObsEncoder)
            enc.set_state_stats(mean, std, self.config.state_min_std)

    @property
    def alpha(self) -> float:
        """Current entropy temperature."""
        return float(self.log_alpha.detach().exp())

    # --- acting -----------------------------------------------------------------------

    @torch.no_grad()
    def act(self, obs: Mapping[str, Any], deterministic: bool = False) -> np.ndarray:
        """Action (7,) float32 in [-1, 1] for one observation dict (or (N, 7) for N stacked)."""
        state, images, single = obs_to_tensors(obs, self.spec, self.device)
        maps = self.backbones(images) if self.backbones is not None else None
        feat = self.critic.encoder(maps, state)
        noise = torch.randn(
            state.shape[0], self.continuous_dim, generator=self._act_gen, device=self.device
        )
        action, _ = self.actor.sample(feat, noise, deterministic)
        if self.gripper_critic is not None:
            g = self.config.gripper
            choice = self.gripper_critic(feat).mean(dim=0).argmax(dim=-1)
            if not deterministic:
                u = torch.rand(choice.shape, generator=self._act_gen, device=self.device)
                rnd = torch.randint(
                    0, grip.NUM_CHOICES, choice.shape, generator=self._act_gen, device=self.device
                )
                choice = torch.where(u < g.epsilon, rnd, choice)
            cmd = grip.command_from_choice(choice, grip.stay_command(state, g))
            action = torch.cat([action, cmd.unsqueeze(-1)], dim=-1)
        out = action.clamp(-1.0, 1.0).cpu().numpy().astype(np.float32)
        return out[0] if single else out

    # --- learning ---------------------------------------------------------------------

    def _pixel_maps(self, tb: TensorBatch, augment: bool) -> tuple[Maps, Maps]:
        """Backbone feature maps of obs and next obs (DrQ-shifted when augment)."""
        if self.backbones is None:
            return None, None
        pad = self.config.encoder.augment_pad_px if augment else 0
        imgs = {c: random_shift(x, pad, self._gen) for c, x in tb.images.items()}
        nxt = {c: random_shift(x, pad, self._gen) for c, x in tb.next_images.items()}
        if self.config.encoder.frozen:
            # One pass for obs and next obs together, without autograd bookkeeping.
            b = tb.state.shape[0]
            with torch.no_grad():
                both = self.backbones({c: torch.cat([imgs[c], nxt[c]]) for c in imgs})
            return {c: m[:b] for c, m in both.items()}, {c: m[b:] for c, m in both.items()}
        maps = self.backbones(imgs)
        with torch.no_grad():
            next_maps = self.backbones(nxt)
        return maps, next_maps

    def _q(self, q_net: EnsembleCritic, feat: Tensor, action: Tensor) -> Tensor:
        out = q_net(feat, action)
        return losses.hl_gauss_expectation(out, self._edges) if q_net.num_bins else out

    def _target_inputs(
        self, tb: TensorBatch, next_maps: Maps
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Everything _target needs: next features (online, target), noise, members."""
        c = self.config.critic
        next_feat = self.critic.encoder(next_maps, tb.next_state)
        next_feat_t = self.critic_target.encoder(next_maps, tb.next_state)
        members = losses.random_subset(c.ensemble_size, c.subsample_size, self._gen)
        return next_feat, next_feat_t, self._noise(tb.state.shape[0]), members

    def _target(
        self,
        next_feat: Tensor,
        next_feat_t: Tensor,
        noise: Tensor,
        members: Tensor,
        tb: TensorBatch,
        alpha: Tensor,
    ) -> Tensor:
        """Soft TD target (B,), min over the given subset of target members."""
        next_a, next_logp = self.actor.sample(next_feat, noise)
        next_q = self._q(self.critic_target.q, next_feat_t, next_a)
        value = losses.subsample_min(next_q, members)
        if self.config.critic.backup_entropy:
            value = losses.soft_value(value, next_logp, alpha)
        return losses.td_target(tb.reward, tb.terminated, value, self._discount(tb))

    def _discount(self, tb: TensorBatch) -> Tensor | float:
        return self.config.discount if tb.discount is None else tb.discount

    def _critic_objective(
        self, maps: Maps, tb: TensorBatch, target: Tensor, next_feat_t: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(loss, mean Q, features detached for the actor, self-predictive loss).

        With ``self_predictive.weight`` > 0 the loss includes the weighted prediction of the
        target encoder's next latent ``next_feat_t`` from this latent and the action."""
        feat = self.critic.encoder(maps, tb.state)
        out = self.critic.q(feat, tb.action[:, : self.continuous_dim])
        if self.critic.q.num_bins:
            loss = losses.hl_gauss_loss(out, target, self._edges, self._sigma)
            q = losses.hl_gauss_expectation(out, self._edges)
        else:
            loss, q = losses.critic_loss(out, target), out
        aux = torch.zeros((), device=feat.device)
        if self.predictor is not None:
            pred = self.predictor(torch.cat([feat, tb.action], dim=-1))
            aux = losses.self_predictive_loss(pred, next_feat_t)
            loss = loss + self.config.self_predictive.weight * aux
        return loss, q.detach().mean(), feat.detach(), aux.detach()

    def _actor_objective(
        self, feat: Tensor, noise: Tensor, alpha: Tensor, tb: TensorBatch
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(actor loss, log pi of the sampled actions, behaviour-cloning term)."""
        mean, log_std = self.actor(feat)  # one policy pass for the SAC and the BC term
        action, log_prob = self.actor.squash(mean, log_std, noise)
        q = self._q(self.critic.q, feat, action)
        loss = losses.actor_loss(log_prob, q, alpha, self.config.actor.q_reduction)
        bc = torch.zeros((), device=feat.device)
        if self.config.actor.bc_weight > 0.0:
            demo_action = tb.action[:, : self.continuous_dim]
            bc = losses.bc_loss(torch.tanh(mean), demo_action, tb.demo)
            loss = loss + self.config.actor.bc_weight * bc
        return loss, log_prob, bc

    def _noise(self, n: int) -> Tensor:
        return torch.randn(n, self.continuous_dim, generator=self._gen, device=self.device)

    def update(self, batch: Batch) -> dict[str, float]:
        """One critic step, then (every actor.update_period) actor and temperature steps.

        Returns scalar metrics; reading them is the only host sync of the update.
        """
        tb = batch_to_tensors(batch, self.spec, self.action_dim, self.device)
        b = tb.state.shape[0]
        maps, next_maps = self._pixel_maps(tb, augment=True)
        alpha = self.log_alpha.detach().exp()
        with torch.no_grad():
            next_feat, next_feat_t, noise, members = self._target_inputs(tb, next_maps)
            target = self._target(next_feat, next_feat_t, noise, members, tb, alpha)
        loss_c, q_mean, feat, aux = self._critic_objective(maps, tb, target, next_feat_t)
        self.critic_opt.zero_grad(set_to_none=True)
        loss_c.backward()
        self._critic_step()
        m: dict[str, Tensor] = {
            "critic_loss": loss_c.detach(),
            "q": q_mean,
            "td_target": target.mean(),
        }
        if self.predictor is not None:
            m["self_predictive"] = aux

        if self.num_updates % self.config.actor.update_period == 0:
            self.critic.requires_grad_(False)  # actor gradients stop at the critic
            loss_a, log_prob, bc = self._actor_objective(feat, self._noise(b), alpha, tb)
            self.actor_opt.zero_grad(set_to_none=True)
            loss_a.backward()
            self._actor_step()
            self.critic.requires_grad_(True)
            loss_t = losses.temperature_loss(self.log_alpha, log_prob, self.target_entropy)
            self.alpha_opt.zero_grad(set_to_none=True)
            loss_t.backward()
            self.alpha_opt.step()
            m.update(actor_loss=loss_a.detach(), entropy=-log_prob.detach().mean(), bc=bc.detach())
            m.update(temperature_loss=loss_t.detach(), alpha=alpha)
        if self.gripper_critic is not None:
            m["gripper_loss"] = self._gripper_step(feat, next_feat, next_feat_t, tb)
        self._polyak()
        self.num_updates += 1
        self.policy_version = self.num_updates
        values = torch.stack([v.float() for v in m.values()]).tolist()
        return dict(zip(m.keys(), values, strict=True))

    def _gripper_step(
        self, feat: Tensor, next_feat: Tensor, next_feat_t: Tensor, tb: TensorBatch
    ) -> Tensor:
        assert self.gripper_critic is not None
        g = self.config.gripper
        choice = grip.choice_from_command(tb.action[:, -1], grip.stay_command(tb.state, g))
        penalty = g.toggle_penalty * (choice != grip.STAY).float()
        with torch.no_grad():
            target = losses.gripper_td_target(
                tb.reward,
                penalty,
                tb.terminated,
                self.gripper_critic(next_feat),
                self.gripper_target(next_feat_t),
                self._discount(tb),
            )
        loss = losses.gripper_critic_loss(self.gripper_critic(feat), choice, target)
        self.gripper_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.gripper_opt.step()
        return loss.detach()

    @torch.no_grad()
    def _polyak(self) -> None:
        pairs = [(self.critic_target, self.critic)]
        if self.gripper_critic is not None:
            pairs.append((self.gripper_target, self.gripper_critic))  # type: ignore[arg-type]
        for tgt, src in pairs:
            t_params: list[Tensor] = list(tgt.parameters())
            s_params: list[Tensor] = list(src.parameters())
            torch._foreach_lerp_(t_params, s_params, self.config.tau)

    @torch.no_grad()
    def td_targets(self, batch: Batch) -> np.ndarray:
        """TD targets (B,) the next update would regress to, without augmentation."""
        tb = batch_to_tensors(batch, self.spec, self.action_dim, self.device)
        _, next_maps = self._pixel_maps(tb, augment=False)
        next_feat, next_feat_t, noise, members = self._target_inputs(tb, next_maps)
        alpha = self.log_alpha.detach().exp()
        target = self._target(next_feat, next_feat_t, noise.zero_(), members, tb, alpha)
        return target.cpu().numpy()

    # --- weights ------------------------------------------------------------------------

    def trainable_state(self) -> dict[str, Any]:
        """Versioned weights the actor needs, trainable parameters only (CPU tensors).

        A frozen backbone is excluded: actors load it from the same local weights file.
        """

        def cpu(m: nn.Module) -> dict[str, Tensor]:
            return {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}

        out: dict[str, Any] = {
            "format": STATE_FORMAT,
            "policy_version": self.num_updates,
            "encoder": cpu(self.critic.encoder),
            "actor": cpu(self.actor),
        }
        if self.backbones is not None and not self.config.encoder.frozen:
            out["backbones"] = cpu(self.backbones)
        if self.gripper_critic is not None:
            out["gripper"] = cpu(self.gripper_critic)
        return out

    def load_trainable_state(self, state: Mapping[str, Any]) -> None:
        """Load weights from trainable_state(); raises on a format or key mismatch."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"weights format {state.get('format')}, expected {STATE_FORMAT}")
        self.critic.encoder.load_state_dict(state["encoder"])
        self.actor.load_state_dict(state["actor"])
        if self.backbones is not None and not self.config.encoder.frozen:
            self.backbones.load_state_dict(state["backbones"])
        if self.gripper_critic is not None:
            self.gripper_critic.load_state_dict(state["gripper"])
        self.policy_version = int(state["policy_version"])

    def _parts(self) -> dict[str, Any]:
        """Named modules and optimisers that make up the learner state."""
        parts: dict[str, Any] = {
            "critic": self.critic,
            "critic_target": self.critic_target,
            "actor": self.actor,
            "critic_opt": self.critic_opt,
            "actor_opt": self.actor_opt,
            "alpha_opt": self.alpha_opt,
        }
        if self.backbones is not None:
            parts["backbones"] = self.backbones
        if self.predictor is not None:
            parts["predictor"] = self.predictor
        if self.gripper_critic is not None:
            parts.update(gripper=self.gripper_critic, gripper_target=self.gripper_target)
            parts["gripper_opt"] = self.gripper_opt
        return parts

    def first_non_finite_weight(self) -> str | None:
        """``part.parameter`` of the first weight holding NaN or inf, or None."""
        for part, module in self._parts().items():
            if isinstance(module, nn.Module):
                for name, p in module.named_parameters():
                    if not bool(torch.isfinite(p).all()):
                        return f"{part}.{name}"
        return None

    def state_dict(self) -> dict[str, Any]:
        """Everything a learner needs to resume: nets, targets, optimisers, RNG, config."""
        out = {name: part.state_dict() for name, part in self._parts().items()}
        out.update(
            format=STATE_FORMAT,
            config=config_to_dict(self.config),
            num_updates=self.num_updates,
            log_alpha=self.log_alpha.detach().clone(),
            rng=self._gen.get_state(),
            act_rng=self._act_gen.get_state(),
        )
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Inverse of state_dict(); the agent must be built with the same config."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"checkpoint format {state.get('format')}, expected {STATE_FORMAT}")
        for name, part in self._parts().items():
            # Optimizer.load_state_dict keeps the given tensors: copy, so that a live
            # agent's state (or a second load of the same dict) is never shared.
            part.load_state_dict(copy.deepcopy(state[name]))
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self._gen.set_state(state["rng"])
        self._act_gen.set_state(state["act_rng"])
        self.num_updates = int(state["num_updates"])
        self.policy_version = self.num_updates
