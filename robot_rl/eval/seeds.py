"""The env-reset seed sets of a run, written down so that fresh evaluation can prove it is fresh.

A training run of seed ``s`` resets its envs from these sets (each a ``range``):

| set | seeds | where |
|---|---|---|
| training episodes (both links) | ``s * 1_000_003 + k`` | robot_rl/loop/actor.py |
| scripted demos | ``s * 7919 + attempt`` | robot_rl/train/run.py, train/demos.py |
| periodic evaluation | ``10_000_000 + k`` (*) | robot_rl/train/run.py EVAL_SEED_BASE |
| benchmark confirmation | ``10_500_000 + k`` | benchmarks/bench_learning.py (before `eval`) |

With several actors (``--num-envs``), ``k`` counts the episodes of all of them. (*) The
p-th evaluation point of a run (from 0) takes ``k = p * eval_episodes + i``.

``robot-rl eval`` draws from ``3_000_000_000 + k``, above all of them for any training seed
below 2,999 and any run below a million episodes, and below 2**32 (legacy numpy seeds).
"""

from __future__ import annotations

TRAIN_SEED_STRIDE = 1_000_003
DEMO_SEED_STRIDE = 7919
EVAL_SEED_BASE = 10_000_000
CONFIRM_SEED_BASE = 10_500_000
FRESH_SEED_BASE = 3_000_000_000
SEED_LIMIT = 2**32


def training_seed_sets(train_seed: int, episodes: int) -> dict[str, range]:
    """Every reset seed a run of ``train_seed`` with at most ``episodes`` episodes (of
    training, demo attempts or evaluation each) can use, by set."""
    if train_seed < 0 or episodes < 0:
        raise ValueError(f"train_seed and episodes must be >= 0, got {train_seed}, {episodes}")
    return {
        "training episodes": range(
            train_seed * TRAIN_SEED_STRIDE, train_seed * TRAIN_SEED_STRIDE + episodes
        ),
        "scripted demos": range(
            train_seed * DEMO_SEED_STRIDE, train_seed * DEMO_SEED_STRIDE + episodes
        ),
        "periodic evaluation": range(EVAL_SEED_BASE, EVAL_SEED_BASE + episodes),
        "benchmark confirmation": range(CONFIRM_SEED_BASE, CONFIRM_SEED_BASE + episodes),
    }


def fresh_seeds(episodes: int, offset: int = 0) -> range:
    """Seeds of ``episodes`` fresh evaluation episodes, starting ``offset`` into the set."""
    if episodes <= 0 or offset < 0:
        raise ValueError(f"need episodes > 0 and offset >= 0, got {episodes}, {offset}")
    seeds = range(FRESH_SEED_BASE + offset, FRESH_SEED_BASE + offset + episodes)
    if seeds.stop > SEED_LIMIT:
        raise ValueError(f"fresh seeds must stay below 2**32; offset {offset} is too large")
    return seeds


def _overlap(a: range, b: range) -> bool:
    return max(a.start, b.start) < min(a.stop, b.stop)


def check_fresh(seeds: range, train_seed: int, episodes: int) -> None:
    """Raise ValueError naming the set if ``seeds`` meets any seed of the training run."""
    for name, used in training_seed_sets(train_seed, episodes).items():
        if _overlap(seeds, used):
            raise ValueError(
                f"evaluation seeds {seeds.start}..{seeds.stop - 1} overlap the {name} "
                f"({used.start}..{used.stop - 1}) of training seed {train_seed}"
            )
