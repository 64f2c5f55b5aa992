"""Adapters that let any gymnasium env feed the actor/learner core.

The core works in one convention: actions in [-1, 1]^n, observations as a dict with a
float32 ``state`` vector and optional uint8 ``images`` (camera -> (H, W, 3)), and success
read from ``info["success"]``. `adapt_env` brings a foreign env to it:

- `ScaledActions`: the policy's [-1, 1] becomes the env's Box bounds (linear per dim),
  so a gripper on [0, 2] gets 0 at -1 and 2 at +1. Unbounded dims are refused.
- `DictObservations`: a Box observation becomes ``{"state": obs}``. A Dict observation
  keeps a ``state`` key; otherwise its uint8 (H, W, 3) entries become cameras under
  ``images`` and every other Box entry is flattened into ``state`` in key order.
- `SuccessInfo`: ``info["success"]`` from another info key or a callable of the info.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np


class EnvAdapterError(ValueError):
    """An env the core cannot drive (named space, why)."""


class ScaledActions(gym.ActionWrapper[Any, np.ndarray, np.ndarray]):
    """Expose a Box action space as [-1, 1]^n and rescale to the env's bounds."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, gym.spaces.Box):
            raise EnvAdapterError(f"action space must be a Box, got {space}")
        low, high = (np.asarray(b, np.float64).reshape(-1) for b in (space.low, space.high))
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise EnvAdapterError(f"action space {space} has unbounded dimensions")
        self._low, self._high, self._shape = low, high, space.shape
        self.action_space = gym.spaces.Box(-1.0, 1.0, (low.size,), np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        a = np.clip(np.asarray(action, np.float64).reshape(-1), -1.0, 1.0)
        out = self._low + (a + 1.0) * 0.5 * (self._high - self._low)
        dtype = self.env.action_space.dtype
        return out.reshape(self._shape).astype(dtype if dtype is not None else np.float32)


def _is_image(space: gym.Space[Any]) -> bool:
    return (
        isinstance(space, gym.spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and space.shape[2] == 3
    )


class DictObservations(gym.ObservationWrapper[dict[str, Any], Any, Any]):
    """Observations as ``{"state": float32 (S,), "images": {camera: uint8 (H, W, 3)}}``."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        space: Any = env.observation_space
        self._cameras: list[str] = []
        self._state_keys: list[str] = []
        if isinstance(space, gym.spaces.Box):
            dim = int(np.prod(space.shape))
        elif isinstance(space, gym.spaces.Dict):
            if "state" in space.spaces and not _is_image(space["state"]):
                self._state_keys = ["state"]
                extra = [k for k in space.spaces if k not in ("state", "images")]
                if extra:
                    raise EnvAdapterError(f"observation keys {extra} beside 'state' and 'images'")
                images = space.spaces.get("images")
                if isinstance(images, gym.spaces.Dict):
                    self._cameras = list(images.spaces)
            else:
                for key, sub in space.spaces.items():
                    if _is_image(sub):
                        self._cameras.append(key)
                    elif isinstance(sub, gym.spaces.Box):
                        self._state_keys.append(key)
                    else:
                        raise EnvAdapterError(f"observation {key!r} is {sub}: not a Box")
            dim = sum(int(np.prod(space[k].shape or ())) for k in self._state_keys)
        else:
            raise EnvAdapterError(f"observation space must be a Box or a Dict, got {space}")
        spaces: dict[str, gym.Space[Any]] = {
            "state": gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        }
        if self._cameras:
            cams = space["images"].spaces if "images" in space.spaces else space.spaces
            spaces["images"] = gym.spaces.Dict({c: cams[c] for c in self._cameras})
        self.observation_space = gym.spaces.Dict(spaces)

    def observation(self, observation: Any) -> dict[str, Any]:
        if not self._state_keys and not self._cameras:
            return {"state": np.asarray(observation, np.float32).reshape(-1)}
        parts = [np.asarray(observation[k], np.float32).reshape(-1) for k in self._state_keys]
        out: dict[str, Any] = {"state": np.concatenate(parts) if parts else np.zeros(0, np.float32)}
        if self._cameras:
            src = observation.get("images", observation)
            out["images"] = {c: np.asarray(src[c], np.uint8) for c in self._cameras}
        return out


class SuccessInfo(gym.Wrapper[Any, Any, Any, Any]):
    """Write ``info["success"]`` from ``success`` (an info key, or a callable of the info)."""

    def __init__(self, env: gym.Env[Any, Any], success: str | Callable[[dict[str, Any]], bool]):
        super().__init__(env)
        self._success = success

    def _judge(self, info: dict[str, Any]) -> bool:
        if callable(self._success):
            return bool(self._success(info))
        return bool(info.get(self._success, False))

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return obs, {**info, "success": False}

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {**info, "success": self._judge(info)}


def adapt_env(
    env: gym.Env[Any, Any], success: str | Callable[[dict[str, Any]], bool] = "success"
) -> gym.Env[dict[str, Any], np.ndarray]:
    """``env`` in the core's conventions (see the module docstring)."""
    return SuccessInfo(DictObservations(ScaledActions(env)), success)


def make_gym_env(
    env_id: str, kwargs: dict[str, Any] | None = None, success: str = "success"
) -> gym.Env[dict[str, Any], np.ndarray]:
    """A registered gymnasium env by id, adapted. Raises `EnvAdapterError` when unknown."""
    try:
        env = gym.make(env_id, **(kwargs or {}))
    except gym.error.Error as exc:
        raise EnvAdapterError(f"cannot make gymnasium env {env_id!r}: {exc}") from None
    return adapt_env(env, success)
