"""Uncertainty of a mean over users: bootstrap intervals and paired comparisons.

Two models evaluated on the same users are compared user by user (paired), which is far
more sensitive than comparing two intervals: most of the spread between users is shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% percentile-bootstrap interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class PairedTest:
    """A − B over the same users: mean difference with its 95% bootstrap interval.

    ``p_value`` is a two-sided paired t-test's (H0: equal means).
    """

    difference: Interval
    p_value: float

    @property
    def significant(self) -> bool:
        """True when the 95% interval of the difference excludes 0."""
        return self.difference.low > 0 or self.difference.high < 0


def bootstrap_indices(n_users: int, *, rounds: int = 1000, seed: int = 0) -> np.ndarray:
    """(rounds, n_users) user resamples; reuse them for every model so intervals are paired."""
    return np.random.default_rng(seed).integers(0, n_users, size=(rounds, n_users))


def bootstrap_interval(values: np.ndarray, resamples: np.ndarray) -> Interval:
    """Mean of ``values`` with the 2.5 and 97.5 percentiles of its bootstrap means.

    NaN values (users a metric does not apply to) are left out of every mean.
    """
    return percentile_interval(values, bootstrap_means(values, resamples))


def bootstrap_means(values: np.ndarray, resamples: np.ndarray) -> np.ndarray:
    """The mean of ``values`` in each resample (a row of ``resamples``), NaN values left out.

    A resample without a value that is not NaN has no mean and is left out.
    """
    applies = ~np.isnan(values)
    if applies.all():
        means: np.ndarray = values[resamples].mean(axis=1)
        return means
    sums = np.where(applies, values, 0.0)[resamples].sum(axis=1)
    counts = applies[resamples].sum(axis=1)
    kept: np.ndarray = sums[counts > 0] / counts[counts > 0]
    return kept


def percentile_interval(values: np.ndarray, means: np.ndarray) -> Interval:
    """Mean of ``values`` (NaN left out) with the 2.5 and 97.5 percentiles of ``means``."""
    applies = ~np.isnan(values)
    if not applies.any() or not len(means):
        return Interval(float("nan"), float("nan"), float("nan"))
    low, high = np.percentile(means, [2.5, 97.5])
    return Interval(float(values[applies].mean()), float(low), float(high))


def paired_test(a: np.ndarray, b: np.ndarray, resamples: np.ndarray) -> PairedTest:
    """Compare per-user values ``a`` and ``b`` of two models on the same users."""
    difference = a - b
    if np.allclose(difference, 0):
        return PairedTest(Interval(0.0, 0.0, 0.0), 1.0)
    p_value = float(stats.ttest_rel(a, b).pvalue)
    return PairedTest(bootstrap_interval(difference, resamples), p_value)
