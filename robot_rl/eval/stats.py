"""Statistics for learning results: Wilson intervals, IQM, stratified bootstrap, profiles.

Definitions follow the published ones (numpy only, no scipy):
- Wilson score interval for a binomial success rate (Wilson, 1927);
- interquartile mean (IQM): the mean of the middle half of all scores, trimming
  floor(n / 4) from each end, as ``scipy.stats.trim_mean(x, 0.25)`` and rliable do;
- stratified bootstrap: runs are resampled with replacement within each task (the
  stratum), the aggregate is recomputed, and the percentile interval is reported
  (Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice");
- performance profile (score distribution): the fraction of runs whose score exceeds
  tau, averaged over tasks, for each tau.

Score matrices are (runs, tasks); a vector is one task.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

Aggregate = Callable[[np.ndarray], np.ndarray]  # (reps, runs, tasks) -> (reps, ...)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (low, high) of a success rate ``successes / trials``."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    z, n, p = _z(confidence), trials, successes / trials
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n))
    # Clip rounding: at p = 0 or 1 one bound is exactly 0 or 1.
    return max(0.0, centre - half), min(1.0, centre + half)


def _as_matrix(scores: np.ndarray | list[float] | list[list[float]]) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"scores must be (runs,) or (runs, tasks) and non-empty, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("scores must be finite")
    return x


def iqm_batched(samples: np.ndarray) -> np.ndarray:
    """IQM of each leading row over all remaining axes: (reps, ...) -> (reps,)."""
    flat = np.sort(samples.reshape(samples.shape[0], -1), axis=1)
    n = flat.shape[1]
    cut = n // 4  # floor(0.25 n) trimmed from each end (scipy.stats.trim_mean)
    return flat[:, cut : n - cut].mean(axis=1)


def iqm(scores: np.ndarray | list[float] | list[list[float]]) -> float:
    """Interquartile mean of all scores (runs, tasks) or (runs,)."""
    return float(iqm_batched(_as_matrix(scores)[None])[0])


def mean_batched(samples: np.ndarray) -> np.ndarray:
    """Mean of each leading row over all remaining axes: (reps, ...) -> (reps,)."""
    return samples.reshape(samples.shape[0], -1).mean(axis=1)


def profile_batched(taus: np.ndarray) -> Aggregate:
    """Aggregate: fraction of runs with score > tau, averaged over tasks: -> (reps, taus)."""
    t = np.asarray(taus, dtype=np.float64)

    def agg(samples: np.ndarray) -> np.ndarray:
        above = samples[..., None] > t  # (reps, runs, tasks, T)
        return above.mean(axis=1).mean(axis=1)

    return agg


def stratified_bootstrap(
    scores: np.ndarray | list[float] | list[list[float]],
    aggregate: Aggregate,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, low, high) of ``aggregate`` with a percentile stratified-bootstrap interval.

    Each replicate resamples the runs of every task independently with replacement, so
    each task keeps its run count (stratified by task). ``aggregate`` maps
    (reps, runs, tasks) to (reps, ...); the point estimate is it on the data itself.
    """
    x = _as_matrix(scores)
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    _z(confidence)
    runs, tasks = x.shape
    idx = np.random.default_rng(seed).integers(0, runs, size=(reps, runs, tasks))
    samples = np.take_along_axis(np.broadcast_to(x, (reps, runs, tasks)), idx, axis=1)
    stats = aggregate(samples)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha], axis=0)
    point = aggregate(x[None])[0]
    return np.asarray(point), np.asarray(low), np.asarray(high)


def iqm_ci(
    scores: np.ndarray | list[float] | list[list[float]],
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(IQM, low, high): the IQM with its stratified-bootstrap percentile interval."""
    point, low, high = stratified_bootstrap(scores, iqm_batched, reps, confidence, seed)
    return float(point), float(low), float(high)


def performance_profile(
    scores: np.ndarray | list[float] | list[list[float]],
    taus: np.ndarray | list[float],
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(profile, low, high), each (len(taus),): P(score > tau) with bootstrap bands."""
    return stratified_bootstrap(scores, profile_batched(np.asarray(taus)), reps, confidence, seed)
