"""N twin envs as one gymnasium ``VectorEnv``: the batched twin on CPU.

    envs = TwinVectorEnv(8, EnvConfig(task="reach", obs="state"), threads=2)
    obs, info = envs.reset(seed=0)              # env i is seeded with seed + i
    obs, reward, terminated, truncated, info = envs.step(actions)   # actions (8, 7) in [-1, 1]

The envs are split into ``threads`` groups. Each group's thread runs its envs' safety filters
(per env, at the policy rate), then advances its cells together: the native impedance law's
per-chunk work is vectorised over the group and the physics runs in MuJoCo's C, which
releases the GIL, so one group's Python overlaps the other groups' physics
(``native_law.ChunkStepper``). An env whose watchdog may trip in this period is advanced tick
by tick on its own, exactly as ``TwinEnv`` does. State observations and autoresets are made on
the group's thread; with cameras they are made on the calling thread (a GL context belongs to
one thread), rendering per env once per step. Blocks until all envs have stepped.
``backend="mjx"`` runs the physics and the law of all envs on MJX (jax) instead, in one
device call per step (``robot_rl.twin.mjx_cell``; state observations only).

Semantics (gymnasium ``AutoresetMode.SAME_STEP``):
- ``reward``, ``terminated`` (success), ``truncated`` (time limit, never success) and
  ``info["success"]`` belong to the step just taken;
- an env that terminated or truncated is reset inside the same ``step``: its row of ``obs`` is
  the first observation of the next episode, and the last observation of the finished episode
  is ``info["final_obs"][i]`` (None for the other envs), its info ``info["final_info"]``;
- ``info`` follows gymnasium's vector convention: ``info[key]`` is an array over envs and
  ``info["_" + key]`` says which envs set it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.twin.native_law import ChunkStepper

if TYPE_CHECKING:
    from robot_rl.twin.mjx_cell import MjxStepper

# (obs, reward, terminated, truncated, info, final obs or None) of one env's step.
_EnvResult = tuple[dict[str, Any], float, bool, bool, dict[str, Any], dict[str, Any] | None]


class TwinVectorEnv(gym.vector.VectorEnv[dict[str, Any], np.ndarray, np.ndarray]):
    """``num_envs`` copies of a twin task stepped together (see the module docstring)."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012 - gymnasium API

    def __init__(
        self,
        num_envs: int,
        cfg: EnvConfig | None = None,
        threads: int = 1,
        backend: Literal["cpu", "mjx"] = "cpu",
        **overrides: Any,
    ) -> None:
        """``backend="mjx"`` steps the batch's physics and impedance law on MJX (jax;
        ``robot_rl.twin.mjx_cell``): state observations only, cells built with
        ``collision="mjx"``, ``threads`` unused. Raises ``MjxUnavailableError`` (one line)
        without jax and mujoco-mjx."""
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if backend not in ("cpu", "mjx"):
            raise ValueError(f"backend must be 'cpu' or 'mjx', got {backend!r}")
        cfg = replace(cfg or EnvConfig(), **overrides)
        if backend == "mjx":
            if cfg.obs != "state" or cfg.cell.law != "native":
                raise ValueError("backend='mjx' needs obs='state' and the native law")
            cfg = replace(cfg, cell=replace(cfg.cell, collision="mjx"))
            from robot_rl.twin.mjx_cell import import_mjx

            import_mjx()  # fail in one line before building N cells
        self.backend = backend
        self.envs = [TwinEnv(cfg) for _ in range(num_envs)]
        self.num_envs = num_envs
        first = self.envs[0]
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(first.observation_space, num_envs)
        self.action_space = batch_space(first.action_space, num_envs)
        cells = [e.cell for e in self.envs]
        self._stepper: ChunkStepper | MjxStepper | None = None
        if backend == "mjx":
            from robot_rl.twin.mjx_cell import MjxStepper

            self._stepper = MjxStepper(cells)
        elif cfg.cell.law == "native":
            self._stepper = ChunkStepper(cells, threads)
        self._cap_m = first.safety_cfg.max_target_error_pos_m

    # ------------------------------------------------------------------------- gym API
    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Reset all envs; ``seed`` is an int (env i gets seed + i), one seed per env, or None."""
        if seed is None or isinstance(seed, int):
            seeds: list[int | None] = [
                None if seed is None else seed + i for i in range(self.num_envs)
            ]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"need {self.num_envs} seeds, got {len(seeds)}")
        obs: list[dict[str, Any]] = []
        infos: dict[str, Any] = {}
        for i, (env, s) in enumerate(zip(self.envs, seeds, strict=True)):
            o, info = env.reset(seed=s, options=options)
            obs.append(o)
            infos = self._add_info(infos, info, i)
        return self._stack(obs), infos

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        acts = np.asarray(actions, dtype=np.float64)
        if acts.shape[0] != self.num_envs:
            raise ValueError(f"actions must have {self.num_envs} rows, got shape {acts.shape}")
        n = self.num_envs
        results: list[_EnvResult | None] = [None] * n
        if self._stepper is None:  # reference (python) law: one env after the other
            for i, env in enumerate(self.envs):
                env._advance(env.begin_step(acts[i]))
        else:
            # Each thread runs its group's filter, law and physics (and, without cameras, the
            # observation and autoreset): one group's Python overlaps the others' C physics.
            k = self._stepper.threads
            groups = [g for g in (list(range(n))[i::k] for i in range(k)) if g]
            jobs = [partial(self._step_group, g, acts, results) for g in groups]
            self._stepper.parallel(jobs)
        # Rendering stays on this thread: a GL context belongs to the thread that made it.
        for i in range(n):
            if results[i] is None:
                results[i] = self._finish(i)
        obs = []
        rewards = np.zeros(n)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        infos: dict[str, Any] = {}
        final_obs = np.empty(n, dtype=object)
        final_infos: dict[str, Any] = {}
        for i, res in enumerate(results):
            assert res is not None
            o, rewards[i], terminated[i], truncated[i], info, final_obs[i] = res
            if final_obs[i] is not None:
                final_infos = self._add_info(final_infos, info, i)
            obs.append(o)
            infos = self._add_info(infos, info, i)
        if final_infos:
            infos["final_obs"] = final_obs
            infos["_final_obs"] = np.array([f is not None for f in final_obs])
            infos["final_info"] = final_infos
            infos["_final_info"] = infos["_final_obs"]
        return self._stack(obs), rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        if self._stepper is not None:
            self._stepper.close()
        for env in self.envs:
            env.close()

    # ------------------------------------------------------------------------- helpers
    def _step_group(
        self, group: list[int], acts: np.ndarray, results: list[_EnvResult | None]
    ) -> None:
        """One policy period for the envs in ``group``, on the calling thread."""
        assert self._stepper is not None
        batched, pos, quat = [], [], []
        for i in group:
            env = self.envs[i]
            track = env.planned_track(env.begin_step(acts[i]))
            if track is None:  # the watchdog may trip in this period: tick by tick
                env.advance_per_tick()
            else:
                batched.append(env.cell)
                pos.append(track[0])
                quat.append(track[1])
        if batched:
            self._stepper.track_group(batched, np.stack(pos), np.stack(quat), self._cap_m)
        if self.envs[0].cfg.obs == "state":
            for i in group:
                results[i] = self._finish(i)

    def _finish(self, i: int) -> _EnvResult:
        """End env ``i``'s step; reset it if the episode ended (its final obs is returned)."""
        env = self.envs[i]
        o, reward, terminated, truncated, info = env.end_step()
        final = None
        if terminated or truncated:
            final = o
            o, _ = env.reset()
        return o, reward, terminated, truncated, info, final

    def _stack(self, obs: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"state": np.stack([o["state"] for o in obs])}
        if "images" in obs[0]:
            out["images"] = {
                name: np.stack([o["images"][name] for o in obs]) for name in obs[0]["images"]
            }
        return out
