"""Perturbed scripted experts: the near-misses of twin reward labels.

A clean expert alone gives a classifier only "far from done" negatives. The modes here
stop or spoil an expert rollout close to the goal, so the labelled set also holds frames
that look almost like success but are not (a cube lifted 6 cm instead of 10, a dropped cube).
The ``explore`` mode hands over to a smoothed random walk after a drawn number of expert
steps (possibly zero): arm poses and part-open grippers no expert visits, which is what a
learning policy shows the classifier. Without it, a classifier with 97% held-out balanced
accuracy fired within 9 steps of every random-action episode, and a policy trained on its
reward learned to provoke it instead of lifting the cube (benchmarks/RESULTS.md, issue 6).
The ``miss`` mode runs the expert aimed a little beside its goal: fingers closing beside
the cube, a peg pressed on the fixture next to the hole. It is off by default (weight 0):
measured on peg_insert, a classifier trained without it already rejects such frames and one
trained with it gave more false positives elsewhere (benchmarks/RESULTS.md, issue 13).
``make-reward-labels --modes miss=1`` builds a set of them to check a classifier on.
Labels never come from here: they come from the task's privileged predicate, frame by frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_rl.envs.twin_env import TwinEnv

MODES = ("clean", "noise", "stall", "drop", "explore", "miss")


@dataclass(frozen=True)
class PerturbConfig:
    """How episodes are spoiled; one mode is drawn per episode."""

    # clean, noise, stall, drop, explore, miss
    weights: tuple[float, ...] = (0.3, 0.15, 0.2, 0.1, 0.25, 0.0)
    clean_noise_std: float = 0.05  # action noise of "clean" episodes (keeps them varied)
    noise_std: tuple[float, float] = (0.15, 0.5)  # action noise range of "noise" episodes
    # "stall" and "drop" fire once task.shaping() (in [-1, 0]) rises above a value drawn
    # from this range: close to the goal but visibly short of it. For pick_cube, -0.08 is a
    # cube held 1.3 cm below the success height; stalls closer than that differ by under a
    # pixel at 128 px and are label noise, not near-misses. The frames of a lift passing
    # the threshold still give millimetre-close pairs on both sides.
    trigger_shaping: tuple[float, float] = (-0.42, -0.08)
    # "explore": expert steps before the random walk takes over, drawn from [lo, hi).
    explore_after_steps: tuple[int, int] = (0, 40)
    explore_smoothing: float = 0.8  # walk: a <- s * a + (1 - s) * N(0, explore_std)
    explore_std: float = 1.5  # per-dimension step std of the walk, action units
    # Chance per step that the gripper command jumps to a new uniform draw in [-1, 1]. Part
    # open grippers matter: with only open/closed in the negatives, a classifier took
    # fingers a cube-width apart (which a policy's continuous command gives) for success.
    explore_gripper_change: float = 0.1
    # "miss": horizontal distance (m) of the expert's aim from its true goal, drawn from
    # [lo, hi) in a uniform direction. 6 mm puts a 20 mm peg on the rim of its 21.5 mm hole.
    miss_offset_m: tuple[float, float] = (0.006, 0.025)


def _check(cfg: PerturbConfig) -> None:
    if len(cfg.weights) != len(MODES) or min(cfg.weights) < 0 or sum(cfg.weights) <= 0:
        raise ValueError(f"PerturbConfig.weights needs {len(MODES)} weights >= 0 for {MODES}")
    lo, hi = cfg.explore_after_steps
    if not 0 <= lo < hi:
        raise ValueError(f"explore_after_steps must satisfy 0 <= lo < hi, got {(lo, hi)}")
    lo_m, hi_m = cfg.miss_offset_m
    if not 0 <= lo_m < hi_m:
        raise ValueError(f"miss_offset_m must satisfy 0 <= lo < hi, got {(lo_m, hi_m)}")


def mode_weights(spec: dict[str, float]) -> tuple[float, ...]:
    """``PerturbConfig.weights`` from ``{mode: weight}``; modes not named get weight 0."""
    unknown = sorted(set(spec) - set(MODES))
    if unknown:
        raise ValueError(f"unknown perturbation mode(s) {unknown}; known: {list(MODES)}")
    weights = tuple(float(spec.get(m, 0.0)) for m in MODES)
    if not all(w >= 0 for w in weights) or sum(weights) <= 0:  # NaN fails the first test
        raise ValueError(f"mode weights must be >= 0 with a positive sum, got {spec}")
    return weights


def draw_mode(rng: np.random.Generator, cfg: PerturbConfig) -> str:
    """One of MODES, drawn with ``cfg.weights``."""
    _check(cfg)
    w = np.asarray(cfg.weights, float)
    return str(MODES[int(rng.choice(len(MODES), p=w / w.sum()))])


class PerturbedExpert:
    """The env's scripted expert with one perturbation mode applied (privileged; twin only)."""

    def __init__(
        self, env: TwinEnv, mode: str, rng: np.random.Generator, cfg: PerturbConfig
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown perturbation mode {mode!r}; known: {MODES}")
        self.env = env
        self.mode = mode
        self.rng = rng
        self.expert = env.expert()
        self.expert.reset()
        if mode == "miss":
            angle = rng.uniform(0.0, 2.0 * np.pi)
            dist = rng.uniform(*cfg.miss_offset_m)
            self.expert.aim_offset_m = dist * np.array([np.cos(angle), np.sin(angle), 0.0])
        self.noise_std = (
            float(rng.uniform(*cfg.noise_std)) if mode == "noise" else cfg.clean_noise_std
        )
        self.trigger = float(rng.uniform(*cfg.trigger_shaping))
        self.cfg = cfg
        self.explore_from = int(rng.integers(*cfg.explore_after_steps))
        self._walk = np.zeros(7)
        self.triggered_at: int | None = None  # step index at which stall/drop began
        self._hold_pos_m: np.ndarray | None = None  # TCP position where a stall began
        self.steps = 0
        self._gripper = 1.0

    def act(self) -> np.ndarray:
        """Next action in [-1, 1]^7."""
        cell = self.env.cell
        a = np.asarray(self.expert.act(cell), float).copy()
        if self.mode == "explore" and self.steps >= self.explore_from:
            return self._explore_step(a)
        if (
            self.mode in ("stall", "drop")
            and self.triggered_at is None
            and self.env.task.shaping(cell) >= self.trigger
        ):
            self.triggered_at = self.steps
            self._hold_pos_m = cell.data.site_xpos[cell.tcp_site].copy()
        if self.triggered_at is not None:
            if self.mode == "stall":
                # Servo back to where the stall began: a zero action would keep the filter's
                # target, which leads the lagging arm by up to a step, so the arm would drift
                # on towards (and past) the success threshold.
                assert self._hold_pos_m is not None
                tcp = cell.data.site_xpos[cell.tcp_site]
                a[:3] = (self._hold_pos_m - tcp) / self.env.task.cfg.action_scale_pos_m
                a[3:6] = 0.0
                a[6] = self._gripper  # keep holding whatever is held
            else:
                a[6] = 1.0  # open: the object falls
        self._gripper = float(a[6])
        a[:6] += self.rng.normal(0.0, self.noise_std, 6)
        self.steps += 1
        return np.clip(a, -1.0, 1.0)

    def _explore_step(self, expert_action: np.ndarray) -> np.ndarray:
        """One step of the smoothed random walk, starting from the expert's last action."""
        c = self.cfg
        if self.steps == self.explore_from:
            self._walk = expert_action.copy()
        self._walk[:6] = c.explore_smoothing * self._walk[:6] + (
            1.0 - c.explore_smoothing
        ) * self.rng.normal(0.0, c.explore_std, 6)
        if self.rng.random() < c.explore_gripper_change:
            self._gripper = float(self.rng.uniform(-1.0, 1.0))
        self._walk[6] = self._gripper
        self.steps += 1
        return np.clip(self._walk, -1.0, 1.0)
