"""A reward model trained from preference labels (Bradley-Terry), and its reward source.

The network is the success classifier's (`SuccessClassifier`); its logit is read as a
reward r(s). Rewards are standardised with the mean and spread over the training frames,
so the learner sees a reward of unit scale whatever the labels were.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from robot_rl.data.episodes import EpisodeStore
from robot_rl.rewards.classifier import (
    SuccessClassifier,
    classifier_config_from_dict,
    classifier_config_to_dict,
)
from robot_rl.rewards.clip import ClipConfig, ClipEmbedder
from robot_rl.rewards.errors import ModelDirError
from robot_rl.rewards.frames import Frames, check_cameras, check_frames
from robot_rl.rewards.model_io import load_model_dir, save_model_dir
from robot_rl.rewards.preference import PreferenceRecord, usable
from robot_rl.rewards.source import BatchedRewardSource, BatchScores

PREFERENCE_KIND = "preference_reward"
Tensor = torch.Tensor


@dataclass(frozen=True)
class PreferencePairs:
    """P labelled pairs: frames per camera for both sides and P(first preferred)."""

    first: Mapping[str, np.ndarray]  # camera -> (P, H, W, 3) uint8
    second: Mapping[str, np.ndarray]  # camera -> (P, H, W, 3) uint8
    target: np.ndarray  # (P,) float32: 1 first closer, 0 second closer, 0.5 tie

    def __len__(self) -> int:
        return int(self.target.shape[0])

    def subset(self, idx: np.ndarray) -> PreferencePairs:
        return PreferencePairs(
            {c: v[idx] for c, v in self.first.items()},
            {c: v[idx] for c, v in self.second.items()},
            self.target[idx],
        )


def pairs_from_records(
    store_root: str | Path, records: Sequence[PreferenceRecord], cameras: tuple[str, ...]
) -> PreferencePairs:
    """Frames and targets of the usable records (failed queries are skipped)."""
    store = EpisodeStore(store_root)
    recs = usable(list(records))
    if not recs:
        raise ValueError("no usable preference labels (every query failed or was refused)")
    episodes = {
        e: store.episode(e) for e in {r.episode_a for r in recs} | {r.episode_b for r in recs}
    }
    first = {c: np.stack([episodes[r.episode_a].images[c][r.t_a] for r in recs]) for c in cameras}
    second = {c: np.stack([episodes[r.episode_b].images[c][r.t_b] for r in recs]) for c in cameras}
    target = np.array([{0: 1.0, 1: 0.0, -1: 0.5}[int(r.label or 0)] for r in recs], np.float32)
    return PreferencePairs(first, second, target)


@dataclass(frozen=True)
class PreferenceTrainConfig:
    """Bradley-Terry fitting of a reward network."""

    steps: int = 500  # gradient steps
    batch_size: int = 32  # pairs per step
    learning_rate: float = 3e-4  # AdamW step size
    weight_decay: float = 1e-2  # AdamW decoupled weight decay
    val_fraction: float = 0.2  # share of pairs held out to measure agreement
    eval_every: int = 50  # steps between validation passes (best one is kept)
    seed: int = 0  # split, sampling and initialisation


@dataclass(frozen=True)
class PreferenceTrainResult:
    """The trained model, its standardisation and its held-out agreement."""

    model: SuccessClassifier
    reward_mean: float  # mean raw reward over training frames
    reward_std: float  # spread of raw rewards over training frames
    val_agreement: float  # share of held-out non-tie pairs ordered as labelled
    train_pairs: int
    val_pairs: int


def bradley_terry_loss(r_first: Tensor, r_second: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy of P(first preferred) = sigmoid(r_first - r_second) against target."""
    return F.binary_cross_entropy_with_logits(r_first - r_second, target)


def _raw_rewards(model: SuccessClassifier, frames: Mapping[str, np.ndarray]) -> np.ndarray:
    model.eval()
    n = int(next(iter(frames.values())).shape[0])
    out = []
    with torch.no_grad():
        for i in range(0, n, 128):
            batch = {
                c: torch.from_numpy(np.ascontiguousarray(v[i : i + 128])) for c, v in frames.items()
            }
            out.append(model(batch).float().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def agreement(r_first: np.ndarray, r_second: np.ndarray, target: np.ndarray) -> float:
    """Share of non-tie pairs whose reward order matches the label (NaN if none)."""
    strict = target != 0.5
    if not strict.any():
        return float("nan")
    return float(np.mean((r_first[strict] > r_second[strict]) == (target[strict] > 0.5)))


def train_preference_model(
    model: SuccessClassifier, pairs: PreferencePairs, cfg: PreferenceTrainConfig
) -> PreferenceTrainResult:
    """Fit ``model`` to ``pairs`` (CPU; blocks)."""
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    order = rng.permutation(len(pairs))
    n_val = round(len(pairs) * cfg.val_fraction) if len(pairs) >= 5 else 0
    val, train = pairs.subset(order[:n_val]), pairs.subset(order[n_val:])
    cams = model.cfg.cameras
    cached: dict[str, dict[str, Tensor]] = {}
    if model.frozen:
        for side, frames in (("first", train.first), ("second", train.second)):
            feats: dict[str, list[Tensor]] = {c: [] for c in cams}
            for i in range(0, len(train), 128):
                batch = {c: torch.from_numpy(frames[c][i : i + 128]) for c in cams}
                for c, f in model.features(batch).items():
                    feats[c].append(f)
            cached[side] = {c: torch.cat(v) for c, v in feats.items()}

    def rewards(side: str, idx: np.ndarray) -> Tensor:
        if cached:
            return model.head({c: f[idx] for c, f in cached[side].items()})
        frames = train.first if side == "first" else train.second
        return model({c: torch.from_numpy(frames[c][idx]) for c in cams})

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    target = torch.from_numpy(train.target)
    best = (-np.inf, copy.deepcopy(model.state_dict()))
    for step in range(1, cfg.steps + 1):
        model.train()
        idx = rng.integers(0, len(train), min(cfg.batch_size, len(train)))
        loss = bradley_terry_loss(rewards("first", idx), rewards("second", idx), target[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if n_val and (step % cfg.eval_every == 0 or step == cfg.steps):
            agree = agreement(
                _raw_rewards(model, val.first), _raw_rewards(model, val.second), val.target
            )
            if agree > best[0]:
                best = (agree, copy.deepcopy(model.state_dict()))
    if n_val:
        model.load_state_dict(best[1])
    model.eval()
    raw = np.concatenate([_raw_rewards(model, train.first), _raw_rewards(model, train.second)])
    val_agree = (
        agreement(_raw_rewards(model, val.first), _raw_rewards(model, val.second), val.target)
        if n_val
        else float("nan")
    )
    return PreferenceTrainResult(
        model, float(raw.mean()), float(raw.std() + 1e-6), val_agree, len(train), n_val
    )


def save_preference_model(
    path: str | Path, result: PreferenceTrainResult, cfg: PreferenceTrainConfig
) -> Path:
    """Write the model directory (config, weights, standardisation, agreement)."""
    return save_model_dir(
        path,
        PREFERENCE_KIND,
        classifier_config_to_dict(result.model.cfg),
        result.model.saved_state(),
        extra={
            "reward_mean": result.reward_mean,
            "reward_std": result.reward_std,
            "report": {
                "val_agreement": result.val_agreement,
                "train_pairs": result.train_pairs,
                "val_pairs": result.val_pairs,
            },
            "training": dataclasses.asdict(cfg),
        },
    )


class PreferenceReward(BatchedRewardSource):
    """RewardSource: the standardised output of a preference-trained reward model.
    success_prob is NaN and success is never declared (preferences rank, they do not
    decide); pair it with a success classifier or a hold on another source for that."""

    name = "preference"

    def __init__(
        self,
        model: SuccessClassifier,
        mean: float,
        std: float,
        cameras: tuple[str, ...] | None = None,
    ) -> None:
        check_cameras(model.cfg.cameras, cameras, "preference model")
        self.model = model.eval()
        self.mean, self.std = mean, std
        self.cameras = model.cfg.cameras
        self.image_shape = model.cfg.image_shape if model.cfg.backbone == "resnet" else None

    @classmethod
    def load(
        cls,
        path: str | Path,
        cameras: tuple[str, ...] | None = None,
        embedder: ClipEmbedder | None = None,
    ) -> PreferenceReward:
        """Load a directory written by save_preference_model (ModelDirError when missing)."""
        meta, state = load_model_dir(path, PREFERENCE_KIND)
        cfg = classifier_config_from_dict(meta["config"])
        cfg = dataclasses.replace(cfg, encoder=dataclasses.replace(cfg.encoder, weights_path=None))
        if cfg.backbone == "clip" and embedder is None:
            if not cfg.clip_model_dir:
                raise ModelDirError(f"{path}: a CLIP-backbone model needs clip_model_dir")
            embedder = ClipEmbedder(ClipConfig(cfg.clip_model_dir))
        model = SuccessClassifier(cfg, embedder)
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise ModelDirError(f"{path}: weights do not fit the saved config: {e}") from e
        return cls(model, float(meta["reward_mean"]), float(meta["reward_std"]), cameras)

    def score_batch(self, frames: Frames) -> BatchScores:
        check_frames(frames, self.cameras, self.image_shape, batched=True)
        raw = _raw_rewards(self.model, {c: frames[c] for c in self.cameras})
        r = ((raw - self.mean) / self.std).astype(np.float32)
        return BatchScores(r, np.full_like(r, np.nan))
