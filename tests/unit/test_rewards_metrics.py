"""Classifier metrics against brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.rewards.metrics import (
    confusion,
    roc_auc,
    roc_curve,
    threshold_for_precision,
)


def _pairwise_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (pos.size * neg.size))


def test_auc_equals_pairwise_ranking_probability_with_ties() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.2
    scores = np.round(rng.random(300) + labels * 0.4, 1)  # rounding makes ties
    assert roc_auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels), abs=1e-12)


def test_roc_endpoints_and_monotone() -> None:
    rng = np.random.default_rng(1)
    labels = rng.random(100) < 0.5
    fpr, tpr, thr = roc_curve(rng.random(100), labels)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.all(np.diff(thr) < 0)


def test_confusion_counts_and_rates() -> None:
    scores = np.array([0.9, 0.8, 0.4, 0.3, 0.2, 0.7])
    labels = np.array([True, True, True, False, False, False])
    c = confusion(scores, labels, 0.5)
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 2, 1)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    assert c.balanced_accuracy == pytest.approx(2 / 3)
    assert c.matrix().tolist() == [[2, 1], [1, 2]]


def test_threshold_for_precision_is_lowest_that_meets_target() -> None:
    rng = np.random.default_rng(2)
    labels = rng.random(500) < 0.3
    scores = rng.random(500) * 0.7 + labels * 0.3
    for target in (0.8, 0.9, 0.95):
        t = threshold_for_precision(scores, labels, target)
        assert confusion(scores, labels, t).precision >= target
        lower = scores[scores < t]
        if lower.size:  # the next lower candidate would miss the target
            assert confusion(scores, labels, lower.max()).precision < target


def test_threshold_unreachable_target_takes_best_precision() -> None:
    scores = np.array([0.9, 0.8, 0.1])
    labels = np.array([False, True, True])
    t = threshold_for_precision(scores, labels, 0.99)
    assert confusion(scores, labels, t).precision == pytest.approx(2 / 3)


def test_roc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        roc_curve(np.array([0.1, 0.2]), np.array([True, True]))


def test_false_fire_episodes_by_hand() -> None:
    """Three episodes, threshold 0.5, hold 2: episode 0 fires on failure frames twice in a
    row (counted); episode 1 fires twice but not in a row (not counted); episode 2's run of
    high scores is on success frames (not a false fire)."""
    from robot_rl.rewards.evaluate import evaluate_scores, false_fire_episodes

    scores = np.array([0.1, 0.6, 0.7, 0.2, 0.6, 0.1, 0.6, 0.2, 0.9, 0.9])
    labels = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], bool)
    episode = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert false_fire_episodes(scores, labels, episode, 0.5, hold=2) == 1
    assert false_fire_episodes(scores, labels, episode, 0.5, hold=1) == 2
    assert false_fire_episodes(scores, labels, episode, 0.5, hold=3) == 0
    report = evaluate_scores(scores, labels, 0.5, episode, hold=2)
    assert (report.false_fire_episodes, report.episodes) == (1, 3)
    assert "false fires (hold 2) in 1 of 3 episodes" in report.line()
    assert evaluate_scores(scores, labels, 0.5).false_fire_episodes is None
    with pytest.raises(ValueError, match="hold"):
        false_fire_episodes(scores, labels, episode, 0.5, hold=0)
