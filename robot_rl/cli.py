"""``robot-rl`` command line. Each subcommand parses its flags and calls the core."""

from __future__ import annotations

import argparse
import sys
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


def build_parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
