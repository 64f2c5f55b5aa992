"""``robot-rl`` command line. Each subcommand parses its flags and calls the core."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from robot_rl.envs.scripted_demo import ALL_TASKS, format_table, run_scripted

    tasks = args.tasks or ALL_TASKS
    unknown = sorted(set(tasks) - set(ALL_TASKS))
    if unknown:
        print(f"unknown task(s) {unknown}; known: {ALL_TASKS}", file=sys.stderr)
        return 2
    summaries, png = run_scripted(tasks, args.episodes, Path(args.out), seed=args.seed)
    print(format_table(summaries))
    print(f"camera frames: {png}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from robot_rl.configio import ConfigError, closest
    from robot_rl.train.config import check_paths, check_resume, run_config
    from robot_rl.twin.tasks import TASKS

    # Everything that can be wrong with the config is checked before the run folder exists.
    cfg = run_config(args.task, args.obs, args.config, args.env, args.env_kwargs)
    if cfg.env_id:
        import gymnasium as gym

        try:
            gym.spec(cfg.env_id)
        except gym.error.Error as exc:
            raise ConfigError(f"env_id: {exc}") from None
    elif cfg.task not in TASKS:
        hint = closest(cfg.task, TASKS)
        raise ConfigError(f"task: unknown task {cfg.task!r}{hint}; known: {sorted(TASKS)}")
    flags = ("seed", "env_steps", "num_envs", "demos", "eval_every_steps", "eval_episodes", "hil")
    for name in flags:
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
    if args.no_early_stop:
        cfg.stop_at_success = None
    cfg.__post_init__()
    if args.graph:
        from robot_rl.train.graph_run import unsupported

        why = unsupported(cfg) or ("--graph has no --gui yet" if args.gui else "")
        if why:
            raise ConfigError(why)
    if args.gui and cfg.num_envs > 1:
        raise ConfigError("--gui drives one actor: use --num-envs 1")
    name = cfg.env_id.replace("/", "_") if cfg.env_id else f"{cfg.task}-{cfg.obs}"
    run_dir = Path(args.out or f"runs/{name}-s{cfg.seed}")
    if args.fresh and run_dir.exists():
        run_dir = run_dir.with_name(f"{run_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    check_paths(cfg, run_dir)
    changes = check_resume(run_dir, cfg, args.allow_config_change)
    for key, (old, new) in changes.items():
        print(f"config change on resume: {key}: {old!r} -> {new!r}", file=sys.stderr)

    from robot_rl.train.run import format_summary, run_name, train

    if args.graph:
        from robot_rl.train.graph_run import GraphRunError, train_graph

        try:
            result = train_graph(cfg, run_dir, progress=not args.quiet)
        except GraphRunError as exc:
            print(f"robot-rl train: graph: {exc}", file=sys.stderr)
            return 1
    elif not args.gui:
        result = train(cfg, run_dir, progress=not args.quiet)
    else:
        from robot_rl.gui.config import GuiConfig
        from robot_rl.hil.errors import DeviceUnavailableError
        from robot_rl.loop.control import EpisodeControl
        from robot_rl.train.cockpit import CAMERA, TrainCockpit, open_cockpit

        run = f"train {run_name(cfg)} in {run_dir} (in-process)"
        source = "classifier" if cfg.reward_model else "env"
        cockpit = TrainCockpit(run, EpisodeControl(), source)
        try:
            device = open_cockpit(cockpit, GuiConfig(port=args.gui_port, cameras=(CAMERA,)))
        except DeviceUnavailableError as exc:
            print(f"robot-rl train: {exc}", file=sys.stderr)
            return 2
        try:
            result = train(cfg, run_dir, progress=not args.quiet, cockpit=cockpit)
        finally:
            device.close()
    print(format_summary(cfg, result))
    return 0


def _record_demos(args: argparse.Namespace) -> int:
    from robot_rl.data.seeds import ExistingStore, plan_recording

    args.out = args.out or f"demos/{args.task}-{args.obs}"
    if args.scripted == bool(args.teleop):
        print("record-demos needs exactly one of --scripted or --teleop DEVICE", file=sys.stderr)
        return 2
    try:  # an existing store: top up with unused seeds, or refuse
        plan = plan_recording(args.out, args.n, args.seed, ExistingStore(args.existing))
    except (ValueError, FileNotFoundError) as exc:
        print(f"record-demos: {exc}", file=sys.stderr)
        return 2
    print(plan.message)
    if plan.episodes == 0:
        return 0
    args.n = args.episodes = plan.episodes
    args.seed = plan.first_seed
    if args.teleop:
        from robot_rl.hil.cli import record_teleop_demos

        return record_teleop_demos(args)
    from robot_rl.envs.twin_env import TwinEnv
    from robot_rl.train.demos import record_scripted

    env = TwinEnv(task=args.task, obs=args.obs)
    store = record_scripted(env, Path(args.out), args.n, seed=args.seed)
    print(f"{len(store)} episodes in {args.out}")
    return 0


def _pretrain_encoder(args: argparse.Namespace) -> int:
    import json

    import cv2
    import numpy as np
    import torch
    from tqdm import tqdm

    from robot_rl.agents.pretrain import PretrainConfig, pretrain_backbone
    from robot_rl.rewards.dataset import load_labelled_frames
    from robot_rl.rewards.errors import RewardInputError
    from robot_rl.train.config import default_config

    try:
        data = load_labelled_frames(args.store)
    except (FileNotFoundError, RewardInputError) as exc:
        print(f"robot-rl pretrain-encoder: {exc}", file=sys.stderr)
        return 2
    frames = np.concatenate([data.images[c] for c in data.cameras])
    enc = default_config(args.task, "pixels").sac.encoder
    cfg = PretrainConfig(args.steps, args.batch_size, args.learning_rate, args.seed)
    print(f"{len(frames)} frames ({', '.join(data.cameras)}; {data.image_shape}) from {args.store}")
    bar = tqdm(total=cfg.steps, unit="step", disable=args.quiet)

    def on_step(step: int, loss: float) -> None:
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss:.4f}")

    try:
        result = pretrain_backbone(frames, enc, cfg, on_step)
    except ValueError as exc:
        print(f"robot-rl pretrain-encoder: {exc}", file=sys.stderr)
        return 2
    bar.close()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(result.backbone.resnet.state_dict(), out / "backbone.pt")
    cv2.imwrite(str(out / "reconstructions.png"), result.reconstructions[..., ::-1])
    first, last = float(np.mean(result.losses[:50])), float(np.mean(result.losses[-50:]))
    meta = {
        "stores": args.store,
        "frames": len(frames),
        "image_shape": list(data.image_shape),
        "encoder": {"stem_width": enc.stem_width, "stage_widths": list(enc.stage_widths)},
        "config": cfg.__dict__,
        "loss_first_50": first,
        "loss_last_50": last,
    }
    (out / "pretrain.json").write_text(json.dumps(meta, indent=2))
    print(f"reconstruction loss {first:.4f} -> {last:.4f} (mean of the first / last 50 steps)")
    print(f"backbone.pt, reconstructions.png, pretrain.json -> {out}")
    print(f'use it: --set "{{sac: {{encoder: {{weights_path: {out / "backbone.pt"}}}}}}}"')
    return 0


def build_parser() -> argparse.ArgumentParser:
    from robot_rl.calibration.cli import register_cli as register_calibration
    from robot_rl.data.cli import register_cli as register_data
    from robot_rl.envs.cli import register_cli as register_twin
    from robot_rl.eval.cli import register_cli as register_eval
    from robot_rl.gui.cli import register_cli as register_gui
    from robot_rl.hil.cli import add_teleop_record_args
    from robot_rl.hil.cli import register_cli as register_teleop
    from robot_rl.nodes.cli import register_cli as register_nodes
    from robot_rl.rewards.cli import register_cli as register_rewards

    parser = argparse.ArgumentParser(prog="robot-rl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="run the scripted expert on every twin task; success table + frame strip"
    )
    demo.add_argument("--tasks", nargs="*", help="tasks to run (default: all registered)")
    demo.add_argument("--episodes", type=int, default=20, help="episodes per task")
    demo.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    demo.add_argument("--out", default="runs/demo", help="output folder")
    demo.set_defaults(func=_demo)

    tr = sub.add_parser("train", help="train SAC/RLPD on a twin task (resumes an existing run)")
    tr.add_argument("--task", help="registered twin task (default: the YAML's, else pick_cube)")
    tr.add_argument("--obs", choices=["state", "pixels"], help="default: the YAML's, else state")
    tr.add_argument("--config", help="YAML overriding the embedded default (TrainConfig keys)")
    tr.add_argument(
        "--env", help="a registered gymnasium env id to train on instead of a twin task"
    )
    tr.add_argument("--env-kwargs", help="JSON keyword arguments of --env, e.g. '{\"g\": 9.81}'")
    tr.add_argument("--seed", type=int)
    tr.add_argument("--env-steps", type=int, help="budget of env steps (10 per robot-second)")
    tr.add_argument(
        "--num-envs", type=int, help="envs (actors) stepping in turn for the one learner"
    )
    tr.add_argument("--demos", type=int, help="scripted demos to record first (0: none)")
    tr.add_argument("--eval-every-steps", type=int)
    tr.add_argument("--eval-episodes", type=int)
    tr.add_argument("--no-early-stop", action="store_true", help="use the whole budget")
    tr.add_argument(
        "--hil",
        choices=["off", "hil_serl", "rlif", "bc", "dagger"],
        help="human in the loop, played by the twin's simulated operator",
    )
    tr.add_argument("--out", help="run folder (default runs/<task>-<obs>-s<seed>)")
    tr.add_argument("--fresh", action="store_true", help="new timestamped folder, no resume")
    tr.add_argument(
        "--allow-config-change",
        action="store_true",
        help="resume a run folder under a config that differs from its config.json "
        "(the changes are logged in config_changes.jsonl)",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument(
        "--gui", action="store_true", help="serve the operator's cockpit for this run (docs/gui.md)"
    )
    tr.add_argument("--gui-port", type=int, default=8765, help="the cockpit's port (0: any)")
    tr.add_argument(
        "--graph",
        choices=["dds"],
        help="train through the ROS 2 training graph's node processes over this backend "
        "(twin, bridge, reset, actor, learner; docs/loop.md)",
    )
    tr.set_defaults(func=_train)

    rd = sub.add_parser("record-demos", help="record twin demos (scripted or teleop) to zarr")
    rd.add_argument("--task", required=True)
    rd.add_argument("--scripted", action="store_true", help="use the privileged scripted expert")
    rd.add_argument("-n", "--episodes", dest="n", type=int, default=20, help="episodes to keep")
    rd.add_argument("--obs", choices=["state", "pixels"], default="pixels")
    rd.add_argument("--seed", type=int, default=0)
    rd.add_argument("--out", help="zarr store folder (default demos/<task>-<obs>)")
    rd.add_argument(
        "--existing",
        choices=["top-up", "refuse"],
        default="top-up",
        help="an existing store: top up to -n with unused seeds (default), or refuse",
    )
    add_teleop_record_args(rd)
    rd.set_defaults(func=_record_demos)

    pe = sub.add_parser(
        "pretrain-encoder",
        help="pretrain the pixel backbone on twin frames (denoising autoencoder; docs/learner.md)",
    )
    pe.add_argument("--store", action="append", required=True, help="episode store (repeatable)")
    pe.add_argument("--out", required=True, help="folder for backbone.pt and its report")
    pe.add_argument("--task", default="pick_cube", help="whose pixel recipe sets the shape")
    pe.add_argument("--steps", type=int, default=2000)
    pe.add_argument("--batch-size", type=int, default=64)
    pe.add_argument("--learning-rate", type=float, default=1e-3)
    pe.add_argument("--seed", type=int, default=0)
    pe.add_argument("--quiet", action="store_true", help="no progress bar")
    pe.set_defaults(func=_pretrain_encoder)
    register_teleop(sub)
    register_nodes(sub)
    register_rewards(sub)
    register_gui(sub)
    register_calibration(sub)
    register_data(sub)
    register_eval(sub)
    register_twin(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a bad config is one line on stderr and exit code 2."""
    from robot_rl.configio import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"robot-rl {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
