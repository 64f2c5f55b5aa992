"""Configuration of the learner: one frozen dataclass per component.

Every field carries one comment that says what it sets. Defaults that depend on
something else (the action size, the reward range) come from the named functions at
the top, never from a config instance built at import time.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from robot_rl.configio import AT_LEAST_1, NON_NEGATIVE, POSITIVE, UNIT, config_from_params

# --- derived defaults -----------------------------------------------------------------


def target_entropy_from_action_dim(action_dim: int) -> float:
    """SAC entropy target in nats: -|A| / 2 (the RLPD/SERL choice, softer than -|A|)."""
    return -0.5 * float(action_dim)


def value_range_from_rewards(
    reward_min: float, reward_max: float, discount: float
) -> tuple[float, float]:
    """Bounds of a discounted return with per-step rewards in [reward_min, reward_max].

    Zero is always inside: an episode may terminate before any reward accrues.
    """
    horizon = 1.0 / (1.0 - discount)
    return min(0.0, reward_min * horizon), max(0.0, reward_max * horizon)


def hl_gauss_sigma(v_min: float, v_max: float, num_bins: int, sigma_ratio: float) -> float:
    """HL-Gauss smoothing width: sigma_ratio bin widths (0.75 is the published default)."""
    return sigma_ratio * (v_max - v_min) / num_bins


def updates_due(env_steps: int, updates_done: int, replay_ratio: float) -> int:
    """Gradient updates owed so that updates / env steps tracks replay_ratio exactly."""
    return max(0, math.floor(env_steps * replay_ratio + 1e-9) - updates_done)


# --- components -------------------------------------------------------------------------


@dataclass(frozen=True)
class HLGaussConfig:
    """Classification critic: Q as a histogram over a fixed support (HL-Gauss loss)."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "num_bins": "[2, inf)",
        "sigma_ratio": POSITIVE,
    }

    num_bins: int = 101  # number of histogram bins on [v_min, v_max]
    v_min: float = 0.0  # lowest representable return (0 for 0/1 success rewards)
    v_max: float = 100.0  # highest representable return (1 / (1 - 0.99) for 0/1 rewards)
    sigma_ratio: float = 0.75  # Gaussian target width in bin widths, see hl_gauss_sigma()


@dataclass(frozen=True)
class CriticConfig:
    """Critic ensemble (RLPD: 10 members, min over a random pair for the target)."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "ensemble_size": AT_LEAST_1,
        "subsample_size": AT_LEAST_1,
        "hidden_dims": AT_LEAST_1,
        "learning_rate": POSITIVE,
    }

    ensemble_size: int = 2  # independent Q networks, each with its own final layer
    subsample_size: int = 2  # members drawn per target; the target is their minimum
    hidden_dims: tuple[int, ...] = (256, 256)  # hidden widths of each member's MLP
    layer_norm: bool = True  # LayerNorm after every hidden linear layer (RLPD)
    learning_rate: float = 3e-4  # Adam step size for critics and the pixel heads
    backup_entropy: bool = True  # subtract alpha * log pi(a'|s') in the TD target
    hl_gauss: HLGaussConfig | None = None  # None: MSE regression; set: HL-Gauss critic


@dataclass(frozen=True)
class ActorConfig:
    """Tanh-Gaussian policy head."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "hidden_dims": AT_LEAST_1,
        "learning_rate": POSITIVE,
        "update_period": AT_LEAST_1,
        "bc_weight": NON_NEGATIVE,
    }

    hidden_dims: tuple[int, ...] = (256, 256)  # hidden widths of the policy MLP
    layer_norm: bool = True  # LayerNorm after every hidden linear layer
    learning_rate: float = 3e-4  # Adam step size for the policy
    log_std_min: float = -5.0  # lower bound of the pre-tanh log standard deviation
    log_std_max: float = 2.0  # upper bound of the pre-tanh log standard deviation
    q_reduction: Literal["mean", "min"] = "mean"  # how ensemble Q values form the actor loss
    update_period: int = 1  # one actor/temperature step every N critic steps
    bc_weight: float = 0.0  # weight of a behaviour-cloning term on demo-buffer rows


@dataclass(frozen=True)
class TemperatureConfig:
    """Entropy temperature alpha, learned towards a target entropy."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "init_temperature": POSITIVE,
        "learning_rate": NON_NEGATIVE,
    }

    init_temperature: float = 0.01  # alpha at step 0
    target_entropy: float | None = None  # nats; None -> target_entropy_from_action_dim()
    learning_rate: float = 3e-4  # Adam step size for log(alpha)


@dataclass(frozen=True)
class EncoderConfig:
    """Per-camera pixel encoder: small ResNet backbone + spatial learned embedding."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "stage_widths": AT_LEAST_1,
        "stem_width": AT_LEAST_1,
        "num_spatial_features": AT_LEAST_1,
        "bottleneck_dim": AT_LEAST_1,
        "proprio_dim": AT_LEAST_1,
        "augment_pad_px": NON_NEGATIVE,
        "image_std": POSITIVE,
    }

    stage_widths: tuple[int, ...] = (64, 128, 256, 512)  # ResNet-10 channel widths
    stem_width: int = 64  # channels of the 7x7 stride-2 stem convolution
    weights_path: str | None = None  # local state_dict (.pt) for the backbone; None: random
    frozen: bool = True  # frozen backbone: no gradients, features computed once per batch
    num_spatial_features: int = 8  # learned spatial kernels per channel (SERL uses 8)
    bottleneck_dim: int = 256  # width of each camera's embedding after the head
    proprio_dim: int = 64  # width of the proprioception projection fused with images
    augment_pad_px: int = 4  # DrQ random-shift padding in pixels (replicate); 0 disables
    image_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # per-channel, on [0, 1]
    image_std: tuple[float, float, float] = (0.229, 0.224, 0.225)  # per-channel, on [0, 1]


@dataclass(frozen=True)
class GripperConfig:
    """Optional discrete gripper critic (close / stay / open), as in HIL-SERL."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "ensemble_size": AT_LEAST_1,
        "hidden_dims": AT_LEAST_1,
        "learning_rate": POSITIVE,
        "toggle_penalty": NON_NEGATIVE,
        "epsilon": UNIT,
        "state_index": NON_NEGATIVE,
        "max_opening_m": POSITIVE,
    }

    enabled: bool = False  # True: the last action dim is chosen by a discrete critic
    ensemble_size: int = 2  # independent Q heads; the target takes their minimum
    hidden_dims: tuple[int, ...] = (256, 256)  # hidden widths of each head
    learning_rate: float = 3e-4  # Adam step size
    toggle_penalty: float = 0.02  # reward subtracted when the command changes the gripper
    epsilon: float = 0.1  # probability of a uniformly random gripper choice when exploring
    state_index: int = 13  # index of gripper_opening_m in the state vector (interfaces.md)
    max_opening_m: float = 0.08  # opening mapped to command +1


@dataclass(frozen=True)
class SelfPredictiveConfig:
    """Auxiliary loss of the SPR/TACO family: from a frame's latent and the action, predict
    the next frame's latent under the target (Polyak) encoder; trains the encoder heads."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {"weight": NON_NEGATIVE, "hidden_dims": AT_LEAST_1}

    weight: float = 0.0  # weight of the loss added to the critic loss; 0 disables it
    hidden_dims: tuple[int, ...] = (256,)  # hidden widths of the latent predictor MLP


@dataclass(frozen=True)
class ReplayConfig:
    """Replay buffers and their mixing."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "capacity_frames": AT_LEAST_1,
        "demo_capacity_frames": AT_LEAST_1,
        "demo_fraction": UNIT,
    }

    capacity_frames: int = 200_000  # online ring size in stored frames (~1 per step)
    demo_capacity_frames: int = 50_000  # demo/intervention ring size in stored frames
    demo_fraction: float = 0.5  # share of each batch drawn from the demo buffer (RLPD 50/50)


@dataclass(frozen=True)
class SACConfig:
    """SAC with the RLPD recipe; the learner's single source of truth."""

    # Intervals checked when the config loads (robot_rl.configio.check).
    LIMITS: ClassVar[dict[str, str]] = {
        "discount": "(0, 1]",
        "tau": "(0, 1]",
        "n_step": AT_LEAST_1,
        "batch_size": AT_LEAST_1,
        "replay_ratio": POSITIVE,
        "seed": NON_NEGATIVE,
        "state_min_std": POSITIVE,
        "state_clip": NON_NEGATIVE,
    }

    discount: float = 0.99  # per-step discount gamma (10 Hz policy: ~10 s horizon)
    tau: float = 0.005  # Polyak rate of the target critic per update
    n_step: int = 1  # TD target over up to n stored steps (1: plain SAC/RLPD)
    batch_size: int = 256  # transitions per gradient update (both buffers together)
    replay_ratio: float = 1.0  # gradient updates per environment step, see updates_due()
    seed: int = 0  # seeds the agent's own generators (subsets, augmentation, noise)
    compile: bool = False  # torch.compile the loss computations (about 30 s warm-up)
    normalize_state: bool = True  # standardise the state with replay statistics, see below
    state_min_std: float = 0.02  # floor of the per-dimension std used to standardise
    # Cap on |standardised state| (0 = none). The statistics come from demos and warm-up,
    # where contact forces and a tilted object's quaternion are rare: without a cap those
    # reach 30-50 standard deviations later in training.
    state_clip: float = 0.0
    critic: CriticConfig = field(default_factory=CriticConfig)  # critic ensemble
    actor: ActorConfig = field(default_factory=ActorConfig)  # policy
    temperature: TemperatureConfig = field(default_factory=TemperatureConfig)  # alpha
    encoder: EncoderConfig = field(default_factory=EncoderConfig)  # pixels (ignored if none)
    gripper: GripperConfig = field(default_factory=GripperConfig)  # discrete gripper
    replay: ReplayConfig = field(default_factory=ReplayConfig)  # buffers and mixing
    self_predictive: SelfPredictiveConfig = field(default_factory=SelfPredictiveConfig)  # aux


def sac_config(**overrides: Any) -> SACConfig:
    """Plain SAC: 2 critics, min over both, one update per env step."""
    return dataclasses.replace(SACConfig(), **overrides)


def rlpd_config(**overrides: Any) -> SACConfig:
    """RLPD: 10 LayerNorm critics, min over a random pair, high replay ratio."""
    base = SACConfig(
        critic=CriticConfig(ensemble_size=10, subsample_size=2),
        replay_ratio=4.0,
    )
    return dataclasses.replace(base, **overrides)


CONFIG_PRESETS = {"sac": sac_config, "rlpd": rlpd_config}


def config_to_dict(config: SACConfig) -> dict[str, Any]:
    """Plain-JSON form, saved next to every checkpoint."""
    return dataclasses.asdict(config)


def config_from_dict(data: dict[str, Any]) -> SACConfig:
    """Inverse of config_to_dict (nested or dotted keys over the defaults), validated:
    raises configio.ConfigError naming the key of a wrong or out-of-range value."""
    return config_from_params(SACConfig, data)
