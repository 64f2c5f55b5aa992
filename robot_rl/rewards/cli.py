"""``robot-rl`` subcommands of the reward layer; `register_cli` adds them to the main parser.

Each command parses its flags into the component's dataclass config (defaults are read
from the dataclasses, never repeated here) and calls the core.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any


def _default(cls: Any, name: str) -> Any:
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise KeyError(name)


def register_cli(subparsers: Any) -> None:
    """Add make-reward-labels, train-reward, eval-reward, label-preferences and
    train-preference-reward to an argparse ``add_subparsers()`` object."""
    from robot_rl.rewards.preference_client import PreferenceClientConfig
    from robot_rl.rewards.train_classifier import TrainRewardConfig
    from robot_rl.rewards.twin_labels import LabelGenConfig

    p = subparsers.add_parser(
        "make-reward-labels",
        help="render twin frames labelled by the privileged success predicate (zarr store)",
    )
    p.add_argument("--out", required=True, help="episode store folder (appended to)")
    p.add_argument("--task", default=_default(LabelGenConfig, "task"))
    p.add_argument("--episodes", type=int, default=_default(LabelGenConfig, "episodes"))
    p.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    p.add_argument("--cameras", nargs="+", default=list(_default(LabelGenConfig, "cameras")))
    p.add_argument("--image-size", type=int, nargs=2, default=[128, 128], metavar=("H", "W"))
    p.add_argument("--no-lighting", action="store_true", help="keep the nominal lights")
    p.add_argument(
        "--calibration", help="cell calibration YAML, as the training run's (default: the twin's)"
    )
    p.add_argument(
        "--modes",
        nargs="+",
        type=_mode_weight,
        metavar="MODE=W",
        help="perturbation modes to draw and their weights, e.g. clean=0.3 miss=0.15; modes "
        "not named are not drawn (default: PerturbConfig.weights, robot_rl/rewards/perturb.py)",
    )
    p.set_defaults(func=_make_labels)

    t = subparsers.add_parser(
        "train-reward",
        help="train a success classifier from labelled zarr episodes; writes model + plots",
    )
    t.add_argument("--store", action="append", required=True, help="episode store (repeatable)")
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument("--cameras", nargs="+", help="cameras to use (default: the store's)")
    t.add_argument("--backbone", choices=("resnet", "clip"), default="resnet")
    t.add_argument("--clip-model", help="local CLIP/SigLIP directory for --backbone clip")
    t.add_argument(
        "--encoder",
        choices=("auto", "frozen", "trained"),
        default="auto",
        help="resnet encoder: frozen or trained end to end; auto = frozen iff --encoder-weights",
    )
    t.add_argument("--encoder-weights", help="local ResNet state_dict file (the learner's)")
    d = TrainRewardConfig
    t.add_argument("--steps", type=int, default=_default(d, "steps"))
    t.add_argument("--batch-size", type=int, default=_default(d, "batch_size"))
    t.add_argument("--val-fraction", type=float, default=_default(d, "val_fraction"))
    t.add_argument("--target-precision", type=float, default=_default(d, "target_precision"))
    t.add_argument("--max-positives", type=int, help="cap on success frames trained on")
    t.add_argument("--max-positives-per-episode", type=int)
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_train_reward)

    e = subparsers.add_parser(
        "eval-reward", help="score labelled episodes with a trained classifier; report + plots"
    )
    e.add_argument("--model", required=True, help="model directory from train-reward")
    e.add_argument("--store", action="append", required=True, help="episode store (repeatable)")
    e.add_argument("--out", help="folder for confusion.png / roc.png / report.json")
    e.add_argument("--threshold", type=float, help="override the trained threshold")
    e.add_argument(
        "--hold",
        type=int,
        default=3,
        help="frames in a row that make a (false) success, as train's reward_hold_frames",
    )
    e.set_defaults(func=_eval_reward)

    q = subparsers.add_parser(
        "label-preferences",
        help="ask an OpenAI-compatible VLM which of two frames is closer to the goal (JSONL)",
    )
    q.add_argument("--store", required=True)
    q.add_argument("--goal", required=True, help="task description shown to the VLM")
    q.add_argument("--camera", default="front")
    q.add_argument("--pairs", type=int, default=200)
    q.add_argument("--out", required=True, help="JSONL file (appended to)")
    c = PreferenceClientConfig
    q.add_argument("--base-url", default=_default(c, "base_url"))
    q.add_argument("--model", default=_default(c, "model"))
    q.add_argument("--api-key-env", default=_default(c, "api_key_env"))
    q.add_argument("--timeout-s", type=float, default=_default(c, "timeout_s"))
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_label_preferences)

    r = subparsers.add_parser(
        "train-preference-reward", help="fit a reward model to VLM preference labels"
    )
    r.add_argument("--store", required=True, help="the store the labels refer to")
    r.add_argument("--labels", required=True, help="JSONL from label-preferences")
    r.add_argument("--out", required=True, help="model directory to write")
    r.add_argument("--camera", default="front")
    r.add_argument("--backbone", choices=("resnet", "clip"), default="resnet")
    r.add_argument("--clip-model", help="local CLIP/SigLIP directory for --backbone clip")
    r.add_argument("--steps", type=int, default=500)
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=_train_preference)


def _progress(label: str) -> Any:
    def show(done: int, total: int) -> None:
        end = "\n" if done == total else "\r"
        print(f"{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def _mode_weight(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        return name, float(value) if sep else float("nan")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MODE=WEIGHT") from None


def _make_labels(args: argparse.Namespace) -> int:
    from robot_rl.rewards.perturb import PerturbConfig, mode_weights
    from robot_rl.rewards.twin_labels import LabelGenConfig, generate_twin_labels

    if args.calibration and not Path(args.calibration).is_file():
        print(
            f"robot-rl make-reward-labels: --calibration: no such file {args.calibration!r}",
            file=sys.stderr,
        )
        return 2
    perturb = PerturbConfig()
    if args.modes:
        try:
            perturb = PerturbConfig(weights=mode_weights(dict(args.modes)))
        except ValueError as exc:
            print(f"robot-rl make-reward-labels: --modes: {exc}", file=sys.stderr)
            return 2
    cfg = LabelGenConfig(
        task=args.task,
        episodes=args.episodes,
        seed=args.seed,
        cameras=tuple(args.cameras),
        image_size=(args.image_size[0], args.image_size[1]),
        randomize_lighting=not args.no_lighting,
        perturb=perturb,
        calibration=args.calibration,
    )
    s = generate_twin_labels(args.out, cfg, _progress("episodes"))
    print(
        f"{s.episodes} episodes, {s.frames} frames, {s.positives} success frames, "
        f"modes {s.modes}, {s.seconds:.0f} s -> {args.out}"
    )
    return 0


def _classifier_config(
    args: argparse.Namespace, cameras: tuple[str, ...], shape: tuple[int, int, int]
) -> Any:
    from robot_rl.rewards.backbones import reward_encoder_config
    from robot_rl.rewards.classifier import ClassifierConfig

    frozen = args.encoder == "frozen" or (args.encoder == "auto" and bool(args.encoder_weights))
    encoder = reward_encoder_config(frozen=frozen, weights_path=args.encoder_weights)
    if args.backbone == "clip" and not args.clip_model:
        raise SystemExit("--backbone clip needs --clip-model DIR")
    return ClassifierConfig(
        cameras=cameras,
        image_shape=shape,
        backbone=args.backbone,
        encoder=encoder,
        clip_model_dir=args.clip_model,
    )


def _train_reward(args: argparse.Namespace) -> int:
    from robot_rl.rewards.classifier import SuccessClassifier
    from robot_rl.rewards.classifier_reward import save_classifier
    from robot_rl.rewards.dataset import load_labelled_frames
    from robot_rl.rewards.train_classifier import TrainRewardConfig, train_success_classifier

    data = load_labelled_frames(args.store, tuple(args.cameras) if args.cameras else None)
    model = SuccessClassifier(_classifier_config(args, data.cameras, data.image_shape))
    cfg = TrainRewardConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        val_fraction=args.val_fraction,
        target_precision=args.target_precision,
        max_train_positives=args.max_positives,
        max_positives_per_episode=args.max_positives_per_episode,
        seed=args.seed,
    )
    result = train_success_classifier(model, data, cfg, log=print)
    out = save_classifier(args.out, result, cfg)
    print(f"validation: {result.validation.line()}")
    print(f"model, confusion.png and roc.png -> {out}")
    return 0


def _eval_reward(args: argparse.Namespace) -> int:
    from robot_rl.rewards.classifier_reward import load_classifier
    from robot_rl.rewards.dataset import load_labelled_frames
    from robot_rl.rewards.evaluate import evaluate_scores, predict_proba

    model, meta = load_classifier(args.model)
    data = load_labelled_frames(args.store, model.cfg.cameras)
    threshold = args.threshold if args.threshold is not None else float(meta["threshold"])
    if args.hold < 1:
        print(f"robot-rl eval-reward: --hold must be >= 1, got {args.hold}", file=sys.stderr)
        return 2
    probs = predict_proba(model, data.images)
    report = evaluate_scores(probs, data.labels, threshold, data.episode, args.hold)
    print(report.line())
    if args.out:
        out = Path(args.out)
        report.write_plots(out, f"{', '.join(args.store)} at threshold {threshold:.3g}")
        (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2))
        print(f"confusion.png, roc.png, report.json -> {out}")
    return 0


def _label_preferences(args: argparse.Namespace) -> int:
    from robot_rl.rewards.preference import label_preferences
    from robot_rl.rewards.preference_client import PreferenceClient, PreferenceClientConfig

    client = PreferenceClient(
        PreferenceClientConfig(
            base_url=args.base_url,
            model=args.model,
            api_key_env=args.api_key_env,
            timeout_s=args.timeout_s,
        )
    )
    counts = label_preferences(
        args.store,
        client,
        args.goal,
        args.camera,
        args.pairs,
        args.out,
        args.seed,
        _progress("pairs"),
    )
    print(f"answers by status: {counts} -> {args.out}")
    return 0


def _train_preference(args: argparse.Namespace) -> int:
    from robot_rl.data.episodes import EpisodeStore
    from robot_rl.rewards.classifier import SuccessClassifier
    from robot_rl.rewards.preference import load_preferences
    from robot_rl.rewards.preference_reward import (
        PreferenceTrainConfig,
        pairs_from_records,
        save_preference_model,
        train_preference_model,
    )

    args.encoder, args.encoder_weights = "auto", None
    shape = EpisodeStore(args.store).spec.image_shape
    model = SuccessClassifier(_classifier_config(args, (args.camera,), shape))
    pairs = pairs_from_records(args.store, load_preferences(args.labels), (args.camera,))
    cfg = PreferenceTrainConfig(steps=args.steps, seed=args.seed)
    result = train_preference_model(model, pairs, cfg)
    out = save_preference_model(args.out, result, cfg)
    print(
        f"{result.train_pairs} training pairs, held-out agreement {result.val_agreement:.2%} "
        f"on {result.val_pairs} pairs -> {out}"
    )
    return 0
