"""Scripted expert demonstrations, recorded into a zarr episode store."""

from __future__ import annotations

from pathlib import Path

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
) -> EpisodeStore:
    """Append ``episodes`` expert episodes to the store at ``root`` (created if needed).

    Failed attempts are dropped when ``successful_only`` (demos should show success); the
    seeds continue so the count is met. Returns the store."""
    store = EpisodeStore(root, episode_spec(env))
    meta = {"source": "scripted", "task": env.cfg.task, "obs": env.cfg.obs}
    rec, expert = EpisodeRecorder(env, store, meta), ExpertPolicy(env)
    kept, attempt = 0, 0
    bar = tqdm(total=episodes, desc=f"demos {env.cfg.task}", disable=not progress, unit="ep")
    while kept < episodes:
        if attempt > 3 * episodes + 10:
            raise RuntimeError(f"the scripted expert failed too often on {env.cfg.task}")
        obs = rec.reset(seed + attempt)
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
