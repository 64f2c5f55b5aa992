"""Wilson, IQM, stratified bootstrap and performance profile against values computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_rl.eval import stats


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Published Wilson 95% bounds (z = 1.95996).
        (8, 10, 0.4902, 0.9433),
        (95, 100, 0.8883, 0.9785),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = stats.wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_wilson_interval_by_formula_at_90_percent() -> None:
    # 1/2 at z = 1.6449: centre 0.5, half = z / (1 + z^2/2) * sqrt(1/8 + z^2/16).
    z = 1.6448536269514722
    half = z / (1 + z * z / 2) * np.sqrt(0.125 + z * z / 16)
    lo, hi = stats.wilson_interval(1, 2, confidence=0.90)
    assert lo == pytest.approx(0.5 - half) and hi == pytest.approx(0.5 + half)


def test_wilson_rejects_bad_counts() -> None:
    for k, n in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(ValueError):
            stats.wilson_interval(k, n)


def test_iqm_trims_a_quarter_from_each_end() -> None:
    assert stats.iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert stats.iqm([0, 1, 2, 3, 100]) == pytest.approx(2.0)  # floor(5/4) = 1 cut each end
    assert stats.iqm([0.2, 0.9, 0.4]) == pytest.approx(0.5)  # n < 4: plain mean
    # (runs, tasks): all scores pooled, 8 values -> middle four.
    assert stats.iqm([[1, 8], [2, 7], [3, 6], [4, 5]]) == pytest.approx(4.5)


def test_bootstrap_of_two_runs_gives_the_full_range() -> None:
    # Means of resamples of {0, 1}: 0 (p 1/4), 0.5 (1/2), 1 (1/4): the 95% band is [0, 1].
    point, lo, hi = stats.stratified_bootstrap([0.0, 1.0], stats.mean_batched, reps=4000)
    assert float(point) == 0.5 and float(lo) == 0.0 and float(hi) == 1.0


def test_bootstrap_is_stratified_by_task() -> None:
    # Task A always 0, task B always 1: every stratified resample keeps 3 of each, so the
    # mean is exactly 0.5; resampling the pooled 6 values would spread it.
    scores = np.array([[0.0, 1.0]] * 3)
    point, lo, hi = stats.stratified_bootstrap(scores, stats.mean_batched, reps=500)
    assert float(point) == float(lo) == float(hi) == 0.5


def test_iqm_ci_collapses_on_constant_scores_and_brackets_the_point() -> None:
    assert stats.iqm_ci([0.7] * 5) == pytest.approx((0.7, 0.7, 0.7))
    point, lo, hi = stats.iqm_ci([0.1, 0.5, 0.6, 0.8, 1.0], reps=2000, seed=3)
    assert point == pytest.approx(0.6333333) and lo <= point <= hi and hi - lo > 0.1


def test_performance_profile_by_hand() -> None:
    scores = [0.2, 0.5, 0.9, 1.0]
    prof, lo, hi = stats.performance_profile(scores, [0.0, 0.5, 0.95, 1.0], reps=200)
    assert np.allclose(prof, [1.0, 0.5, 0.25, 0.0])  # strictly above tau
    assert np.all(lo <= prof) and np.all(prof <= hi) and lo[0] == hi[0] == 1.0


def test_bad_scores_raise() -> None:
    with pytest.raises(ValueError):
        stats.iqm([])
    with pytest.raises(ValueError):
        stats.iqm([0.1, float("nan")])


def test_iqm_ci_agrees_with_rliable_when_installed() -> None:
    rly = pytest.importorskip(
        "rliable.library", reason="rliable (optional cross-check) is not installed"
    )
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.0, 1.0, size=(10, 3))
    ours = stats.iqm_ci(scores, reps=4000)
    from rliable import metrics

    point, ci = rly.get_interval_estimates(
        {"x": scores}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=4000
    )
    assert ours[0] == pytest.approx(float(point["x"][0]))
    assert ours[1] == pytest.approx(float(ci["x"][0, 0]), abs=0.03)
    assert ours[2] == pytest.approx(float(ci["x"][1, 0]), abs=0.03)


def test_iqm_curve_and_plots(tmp_path: Path) -> None:
    from robot_rl.eval.plots import iqm_curve, plot_iqm_curves, plot_profiles

    success = np.array([[0.0, 0.5], [0.0, 0.7], [0.0, 0.9]])
    curve = iqm_curve(success, reps=200)
    assert curve.shape == (2, 3) and np.allclose(curve[0], 0.0)
    assert curve[1, 0] == pytest.approx(0.7) and curve[1, 1] <= 0.7 <= curve[1, 2]
    plot_iqm_curves({"a": (np.array([1.0, 2.0]), curve)}, tmp_path / "c.png", "t", "x")
    plot_profiles({"a": success[:, 1:]}, tmp_path / "p.png", "t", reps=50)
    assert (tmp_path / "c.png").stat().st_size > 0 and (tmp_path / "p.png").stat().st_size > 0
