from __future__ import annotations

import numpy as np

from unrated.evaluation.stats import bootstrap_indices, bootstrap_interval, paired_test


def test_interval_brackets_the_mean_and_shrinks_with_more_users() -> None:
    rng = np.random.default_rng(0)
    small, large = rng.random(100), rng.random(10_000)
    a = bootstrap_interval(small, bootstrap_indices(100))
    b = bootstrap_interval(large, bootstrap_indices(10_000))
    assert a.low < a.mean < a.high
    assert (b.high - b.low) < (a.high - a.low) / 5


def test_paired_test_sees_a_small_consistent_gain_that_intervals_hide() -> None:
    rng = np.random.default_rng(1)
    base = rng.random(500)
    better = base + 0.01 + rng.normal(0, 0.005, 500)  # small gains, large spread between users
    resamples = bootstrap_indices(500)
    a, b = bootstrap_interval(better, resamples), bootstrap_interval(base, resamples)
    assert a.low < b.high  # the two intervals overlap...
    test = paired_test(better, base, resamples)
    assert test.significant and test.p_value < 1e-10  # ...yet the paired test is sure
    assert abs(test.difference.mean - 0.01) < 0.002


def test_identical_models_are_not_different() -> None:
    values = np.random.default_rng(2).random(50)
    test = paired_test(values, values.copy(), bootstrap_indices(50))
    assert not test.significant and test.p_value == 1.0
