"""Reward-layer benchmark: success-classifier accuracy on held-out twin seeds, and per-frame
CPU latency of every reward source.

Accuracy: pick_cube label episodes are rendered for training (seeds 0..N-1) and for a
held-out test (seeds from 100000), both with randomised object poses, arm starts, lighting
and near-miss perturbations. The classifier trains on at most ``--max-positives`` success
frames; its threshold is chosen on the validation split for ``--target-precision``; the
held-out figures are taken at that threshold. Each classifier, held for 3 frames, is also
the reward of ``--fire-episodes`` uniform-random-action episodes: every success it reports
there that the privileged predicate does not is a false positive a policy would exploit.
Named baselines in the same run: the same
model at the fixed 0.5 threshold (the anchors' hand-set choice), and a frozen-encoder
classifier (random init: no pretrained weights can be downloaded here).

Latency: median and p95 milliseconds per single-frame call on one CPU thread, two 128 px
cameras. The VLM sources run on a randomly initialised CLIP with ViT-B/32 shapes, so the
compute equals the real ViT-B/32 (its rewards mean nothing).

    python benchmarks/bench_rewards.py                  # full run (tens of minutes on CPU)
    python benchmarks/bench_rewards.py --latency-only   # latency table only (about a minute)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch

from robot_rl.envs.twin_env import EnvConfig
from robot_rl.rewards.backbones import reward_encoder_config
from robot_rl.rewards.classifier import ClassifierConfig, SuccessClassifier
from robot_rl.rewards.classifier_reward import (
    ClassifierReward,
    ClassifierRewardConfig,
    save_classifier,
)
from robot_rl.rewards.clip import ClipConfig, ClipEmbedder
from robot_rl.rewards.dataset import LabelledFrames, load_labelled_frames
from robot_rl.rewards.evaluate import EvalReport, evaluate_scores, predict_proba
from robot_rl.rewards.hold import HoldConfig, SuccessHold
from robot_rl.rewards.intervention import InterventionReward
from robot_rl.rewards.preference_reward import PreferenceReward
from robot_rl.rewards.source import RewardSource
from robot_rl.rewards.synthetic import write_random_clip
from robot_rl.rewards.train_classifier import TrainRewardConfig, train_success_classifier
from robot_rl.rewards.twin_labels import LabelGenConfig, generate_twin_labels
from robot_rl.rewards.vlm_rm import VlmRmConfig, VlmRmReward
from robot_rl.train.learned_reward import (
    FireStats,
    LearnedRewardEnv,
    classifier_source,
    random_action_fires,
)

TEST_SEED0 = 100_000


def labels(out: Path, episodes: int, seed: int, size: int) -> Path:
    """Render (or reuse) a label store of ``episodes`` episodes from ``seed``."""
    tag = out / f"labels_{seed}_{episodes}_{size}px"
    index = tag / "index.jsonl"
    if not index.exists() or len(index.read_text().splitlines()) < episodes:
        if tag.exists():
            shutil.rmtree(tag)
        cfg = LabelGenConfig(episodes=episodes, seed=seed, image_size=(size, size))
        s = generate_twin_labels(tag, cfg)
        print(
            f"  rendered {s.episodes} episodes, {s.frames} frames ({s.positives} success), "
            f"modes {s.modes}, {s.seconds:.0f} s -> {tag}"
        )
    return tag


def train(
    name: str, data: LabelledFrames, frozen: bool, args: argparse.Namespace, out: Path
) -> tuple[SuccessClassifier, float, dict[str, Any]]:
    cfg = ClassifierConfig(
        cameras=data.cameras, image_shape=data.image_shape, encoder=reward_encoder_config(frozen)
    )
    tcfg = TrainRewardConfig(
        steps=args.steps if not frozen else args.frozen_steps,
        batch_size=args.batch_size,
        max_train_positives=args.max_positives,
        max_positives_per_episode=args.positives_per_episode,
        target_precision=args.target_precision,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    result = train_success_classifier(
        SuccessClassifier(cfg), data, tcfg, log=lambda m: print(f"  [{name}] {m}", flush=True)
    )
    save_classifier(out / name, result, tcfg)
    info = {
        "train_positives": result.train_positives,
        "train_frames": result.train_frames,
        "val_positives": result.val_positives,
        "val_frames": result.val_frames,
        "best_step": result.best_step,
        "train_s": round(time.perf_counter() - t0, 1),
        "validation": result.validation.to_dict(),
    }
    return result.model, result.threshold, info


def held_out(
    model: SuccessClassifier, test: LabelledFrames, threshold: float
) -> tuple[EvalReport, np.ndarray]:
    probs = predict_proba(model, test.images)
    return evaluate_scores(probs, test.labels, threshold), probs


def random_fires(model_dir: Path, size: int, episodes: int) -> FireStats:
    """The trained classifier (held 3 frames) as the reward of random-action episodes."""
    cfg = EnvConfig(task="pick_cube", obs="pixels")
    cfg.cell = replace(cfg.cell, image_size=(size, size))
    env = LearnedRewardEnv(cfg, classifier_source(str(model_dir), cfg.cell.cameras, 3))
    try:
        return random_action_fires(env, episodes, seed=TEST_SEED0)
    finally:
        env.close()


def latency(
    source: RewardSource, frames: list[dict[str, np.ndarray]], n: int
) -> tuple[float, float]:
    """(median, p95) wall ms per call after warm-up."""
    for f in frames[:3]:
        source(f)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        source(frames[i % len(frames)])
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def latency_table(
    out: Path, frames: list[dict[str, np.ndarray]], n: int, classifier_dir: Path | None
) -> list[tuple[str, float, float]]:
    clip_dir = out / "clip_vit_b32_random"
    if not (clip_dir / "config.json").exists():
        write_random_clip(clip_dir, "vit-b-32")
    embedder = ClipEmbedder(ClipConfig(str(clip_dir)))
    cams = tuple(frames[0])
    image_shape = frames[0][cams[0]].shape

    def fresh(
        frozen: bool, backbone: str = "resnet", cameras: tuple[str, ...] = cams
    ) -> SuccessClassifier:
        cfg = ClassifierConfig(
            cameras=cameras,
            image_shape=image_shape,
            backbone=backbone,  # type: ignore[arg-type]
            encoder=reward_encoder_config(frozen),
            clip_model_dir=str(clip_dir),
        )
        return SuccessClassifier(cfg, embedder if backbone == "clip" else None).eval()

    def clf(model: SuccessClassifier) -> ClassifierReward:
        return ClassifierReward(model, 0.5, ClassifierRewardConfig(model_dir=""))

    trained = ClassifierReward.load(classifier_dir) if classifier_dir else clf(fresh(False))
    sources: list[tuple[str, Callable[[], RewardSource]]] = [
        ("classifier (trained ResNet, 2 cams)", lambda: trained),
        ("classifier (frozen ResNet, 2 cams)", lambda: clf(fresh(True))),
        ("classifier + hold(3)", lambda: SuccessHold(trained, HoldConfig(3))),
        (
            "vlm_rm (ViT-B/32 shapes, front)",
            lambda: VlmRmReward(VlmRmConfig(str(clip_dir)), embedder),
        ),
        (
            "vlm_rm (ViT-B/32 shapes, 2 cams)",
            lambda: VlmRmReward(VlmRmConfig(str(clip_dir), cameras=cams), embedder),
        ),
        ("vlm_classifier (ViT-B/32 shapes, 2 cams)", lambda: clf(fresh(True, "clip"))),
        (
            "preference (trained ResNet, front)",
            lambda: PreferenceReward(fresh(False, cameras=("front",)), 0.0, 1.0),
        ),
        ("intervention (RLIF)", lambda: InterventionReward(lambda: False)),
    ]
    rows = []
    for name, make in sources:
        med, p95 = latency(make(), frames, n)
        rows.append((name, med, p95))
        print(f"  {name:<44} {med:8.2f} {p95:8.2f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="runs/bench_rewards")
    parser.add_argument("--train-episodes", type=int, default=250)
    parser.add_argument("--test-episodes", type=int, default=60)
    parser.add_argument("--max-positives", type=int, default=200)
    parser.add_argument("--positives-per-episode", type=int, default=2)
    parser.add_argument("--steps", type=int, default=TrainRewardConfig.steps)
    parser.add_argument("--frozen-steps", type=int, default=TrainRewardConfig.steps)
    parser.add_argument("--batch-size", type=int, default=TrainRewardConfig.batch_size)
    parser.add_argument(
        "--target-precision", type=float, default=TrainRewardConfig.target_precision
    )
    parser.add_argument("--no-frozen", action="store_true", help="skip the frozen-encoder baseline")
    parser.add_argument("--latency-only", action="store_true")
    parser.add_argument("--latency-calls", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=128, help="square, both cameras")
    parser.add_argument(
        "--fire-episodes", type=int, default=20, help="random-action episodes per classifier"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"args": vars(args)}
    classifier_dir: Path | None = None
    print("labels (pick_cube, poses + lighting randomised, near-misses):")
    n_test = args.test_episodes if not args.latency_only else 4
    test_store = labels(out, n_test, TEST_SEED0, args.image_size)
    test = load_labelled_frames([test_store])
    if not args.latency_only:
        train_store = labels(out, args.train_episodes, 0, args.image_size)
        data = load_labelled_frames([train_store])
        rows = []
        variants = [("trained", False)] + ([] if args.no_frozen else [("frozen", True)])
        for name, frozen in variants:
            print(f"training the {name}-encoder classifier:")
            model, thr, info = train(name, data, frozen, args, out)
            report, probs = held_out(model, test, thr)
            report.write_plots(out / name / "held_out", f"held-out seeds, threshold {thr:.3g}")
            fixed = evaluate_scores(probs, test.labels, 0.5)
            info["held_out"] = report.to_dict()
            info["held_out_at_0.5"] = fixed.to_dict()
            stats = random_fires(out / name, args.image_size, args.fire_episodes)
            info["random_action_episodes"] = {**asdict(stats), "false_fires": stats.false_fires}
            results[name] = info
            rows.append((f"{name} encoder, chosen threshold {thr:.3g}", report, info))
            rows.append((f"{name} encoder, fixed threshold 0.5 (baseline)", fixed, info))
        classifier_dir = out / "trained"
        print(
            f"\nheld-out seeds {TEST_SEED0}..{TEST_SEED0 + args.test_episodes - 1}: "
            f"{len(test)} frames, {test.positives} success"
        )
        head = f"{'train pos':>9} {'bal acc':>8} {'precision':>9} {'recall':>7} {'AUC':>7}"
        print(f"{'classifier':<48} {head} {'random-action fires':>20}")
        for name, rep, info in rows:
            f = info["random_action_episodes"]
            fires = f"{f['false_fires']}/{f['episodes']} false"
            print(
                f"{name:<48} {info['train_positives']:>9} {rep.balanced_accuracy:>8.2%} "
                f"{rep.precision:>9.2%} {rep.recall:>7.2%} {rep.auc:>7.4f} {fires:>20}"
            )
    frames = [{c: test.images[c][i] for c in test.cameras} for i in range(min(len(test), 32))]
    print(
        f"\nper-frame latency on CPU, 1 thread (ms), {args.latency_calls} calls; "
        "10 Hz control leaves 100 ms:"
    )
    print(f"  {'source':<44} {'median':>8} {'p95':>8}")
    results["latency_ms"] = {
        name: {"median": round(m, 2), "p95": round(p, 2)}
        for name, m, p in latency_table(out, frames, args.latency_calls, classifier_dir)
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nresults.json, models and plots -> {out}")


if __name__ == "__main__":
    main()
