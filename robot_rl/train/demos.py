"""Scripted expert demonstrations written to a zarr episode store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from robot_rl.agents.types import obs_spec_from_space
from robot_rl.data.episodes import EpisodeSpec, EpisodeStore
from robot_rl.envs.rollout import ExpertPolicy
from robot_rl.envs.twin_env import TwinEnv


def episode_spec(env: TwinEnv) -> EpisodeSpec:
    spec = obs_spec_from_space(env.observation_space)
    action_dim = int(np.prod(env.action_space.shape or (0,)))
    return EpisodeSpec(spec.state_dim, action_dim, spec.cameras, spec.image_shape)


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
    expert = ExpertPolicy(env)
    kept, attempt = 0, 0
    bar = tqdm(total=episodes, desc=f"demos {env.cfg.task}", disable=not progress, unit="ep")
    while kept < episodes:
        if attempt > 3 * episodes + 10:
            raise RuntimeError(f"the scripted expert failed too often on {env.cfg.task}")
        obs, _ = env.reset(seed=seed + attempt)
        expert.reset()
        attempt += 1
        store.begin_episode(obs, time.time_ns())
        success, done = False, False
        while not done:
            action = expert(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            success = bool(info["success"])
            store.add_step(
                action,
                reward,
                obs,
                time.time_ns(),
                terminated,
                truncated,
                intervened=False,
                success=success,
            )
            done = terminated or truncated
        if successful_only and not success:
            store.abort_episode()
            continue
        store.end_episode(_metadata(env, seed + attempt - 1, success))
        kept += 1
        bar.update()
    bar.close()
    return store


def _metadata(env: TwinEnv, seed: int, success: bool) -> dict[str, Any]:
    return {
        "task": env.cfg.task,
        "seed": seed,
        "source": "scripted",
        "success": success,
        "obs": env.cfg.obs,
        "steps": env.steps,
        "t_sim_s": float(np.round(env.cell.data.time, 6)),
    }
