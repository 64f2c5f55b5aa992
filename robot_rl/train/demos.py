"""Scripted expert demonstrations, recorded into a zarr episode store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from robot_rl.data.episodes import EpisodeStore
from robot_rl.data.recorder import EpisodeRecorder, episode_spec
from robot_rl.envs.rollout import ExpertPolicy
from robot_rl.envs.twin_env import TwinEnv


def record_scripted(
    env: TwinEnv,
    root: str | Path,
    episodes: int,
    seed: int,
    progress: bool = True,
    successful_only: bool = True,
    layout: str = "random",
) -> EpisodeStore:
    """Append ``episodes`` expert episodes to the store at ``root`` (created if needed).

    ``layout`` "random": reset seeds ``seed``, ``seed + 1``, ... (i.i.d. configurations);
    "spread": the seeds of `spread_seeds` (configurations spread over the workspace, as an
    operator told to cover it would place the object). Failed attempts are dropped when
    ``successful_only`` (demos should show success); the seeds continue so the count is met.
    Returns the store."""
    attempts = 3 * episodes + 10
    if layout == "spread":
        seeds = spread_seeds(env, seed, attempts + 1)
    elif layout == "random":
        seeds = list(range(seed, seed + attempts + 1))
    else:
        raise ValueError(f"demo layout must be 'random' or 'spread', not {layout!r}")
    store = EpisodeStore(root, episode_spec(env))
    meta = {"source": "scripted", "task": env.cfg.task, "obs": env.cfg.obs}
    rec, expert = EpisodeRecorder(env, store, meta), ExpertPolicy(env)
    kept, attempt = 0, 0
    bar = tqdm(total=episodes, desc=f"demos {env.cfg.task}", disable=not progress, unit="ep")
    while kept < episodes:
        if attempt > attempts:
            raise RuntimeError(f"the scripted expert failed too often on {env.cfg.task}")
        obs = rec.reset(seeds[attempt])
        expert.reset()
        attempt += 1
        done, success = False, False
        while not done:
            obs, _, terminated, truncated, info = rec.step(expert(obs))
            done, success = terminated or truncated, bool(info["success"])
        if successful_only and not success:
            rec.discard()
            continue
        rec.commit(success=success)
        kept += 1
        bar.update()
    bar.close()
    return store


def spread_seeds(env: TwinEnv, first_seed: int, count: int, pool: int = 10) -> list[int]:
    """``count`` reset seeds, drawn from the ``pool * count`` seeds from ``first_seed`` so
    that each lies farthest from those before it (greedy k-center) in the object's xy (every
    task's object state starts with the object's or goal's position). The first few cover
    the workspace's edges and centre alike, where i.i.d. draws leave holes."""
    candidates = list(range(first_seed, first_seed + pool * count))
    xy = np.array([env.reset(seed=s)[1]["privileged"]["object_state"][:2] for s in candidates])
    order, gap = [0], np.linalg.norm(xy - xy[0], axis=1)
    gap[0] = -1.0
    for _ in range(count - 1):
        pick = int(np.argmax(gap))
        order.append(pick)
        gap = np.minimum(gap, np.linalg.norm(xy - xy[pick], axis=1))
        gap[order] = -1.0
    return [candidates[i] for i in order]
