"""evaluate: rank the full catalogue for every test user, train items excluded, and score it.

With ``include_seen`` the users' training items are ranked too (re-buys allowed), and the
report adds the repeat/explore split of :mod:`unrated.evaluation.repeat`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated.data.interactions import Interactions, reindex
from unrated.data.io import read_interactions
from unrated.data.split import Split
from unrated.errors import DataError, InvalidParameterError
from unrated.evaluation.metrics import (
    PER_USER_METRICS,
    coverage_at_k,
    hit_matrix,
    ndcg_at_k,
    popularity_at_k,
)
from unrated.evaluation.repeat import repeat_explore
from unrated.evaluation.stats import Interval, bootstrap_means, percentile_interval
from unrated.models.base import Recommender
from unrated.models.registry import format_spec

#: User indices drawn at once for :meth:`Report.intervals` (8 bytes each).
RESAMPLE_CELLS = 1 << 23

#: How the report header describes the protocol.
PROTOCOL_NOTE = (
    "full-catalogue ranking, training items excluded; recall@K = hits/|test_u|, "
    "truncated_recall@K = hits/min(K,|test_u|), NDCG@K ideal over min(K,|test_u|)"
)
#: The same with re-buys allowed.
REBUY_NOTE = PROTOCOL_NOTE.replace(
    "training items excluded", "re-buys allowed (training items ranked too)"
)
#: The same for new visitors' histories (``unrated.evaluation.histories``).
HISTORY_NOTE = PROTOCOL_NOTE.replace(
    "training items excluded", "each history folded in, in order, its items excluded"
)


@dataclass(frozen=True, eq=False)
class Report:
    """Evaluation of one model on one test set.

    Attributes:
        model: the model's spec string.
        split: how the test set was made (protocol and settings), or its source.
        k: the list lengths evaluated.
        user_ids: (n_users,) the evaluated users: those with at least one test item.
        per_user: metric name "ndcg@20" -> (n_users,) float64 values, aligned with user_ids.
        aggregate: list-level values: "coverage@K", "popularity@K", and "catalogue_popularity".
        dropped_test_pairs: test pairs whose user or item the model does not know.
        seconds: time taken to rank and score.
        ndcg_curve: mean NDCG@K for K = 1, 2, ... (as many as asked with ``curve``).
        item_counts: (n_items,) how often each item appears in the top max(k) lists.
        history_lengths: (n_users,) training items of each evaluated user.
        include_seen: the users' training items were ranked too (re-buys allowed); then
            ``per_user`` also holds the repeat/explore metrics, NaN for a user a metric
            does not apply to (left out of means).
        histories: the users are new visitors whose histories were folded in (see
            ``unrated.evaluation.histories``); their "training items" are their histories'.
    """

    model: str
    split: str
    k: tuple[int, ...]
    user_ids: np.ndarray
    per_user: dict[str, np.ndarray]
    aggregate: dict[str, float]
    dropped_test_pairs: int = 0
    seconds: float = 0.0
    ndcg_curve: np.ndarray = field(default_factory=lambda: np.empty(0))
    item_counts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    history_lengths: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    include_seen: bool = False
    histories: bool = False

    @property
    def n_users(self) -> int:
        """Number of evaluated users."""
        return len(self.user_ids)

    def intervals(self, rounds: int = 1000, seed: int = 0) -> dict[str, Interval]:
        """Every per-user metric's mean with its 95% bootstrap interval over the users.

        The users are resampled as :func:`~unrated.evaluation.compare.compare` resamples
        them (:func:`~unrated.evaluation.stats.bootstrap_indices`), drawn in blocks of at
        most RESAMPLE_CELLS indices so memory stays bounded; when one block holds every
        round, the resamples are compare's exactly.
        """
        rng = np.random.default_rng(seed)
        n = max(self.n_users, 1)
        step = max(1, RESAMPLE_CELLS // n)
        means: dict[str, list[np.ndarray]] = {name: [] for name in self.per_user}
        for start in range(0, rounds, step):
            resamples = rng.integers(0, n, size=(min(step, rounds - start), n))
            for name, values in self.per_user.items():
                means[name].append(bootstrap_means(values, resamples))
        return {
            name: percentile_interval(values, np.concatenate(means[name] or [np.empty(0)]))
            for name, values in self.per_user.items()
        }

    def summary(self) -> dict[str, float]:
        """Mean of every per-user metric (over the users it applies to), then the aggregates."""
        means = {name: nan_mean(values) for name, values in self.per_user.items()}
        return means | self.aggregate

    @property
    def note(self) -> str:
        """How the lists were made and scored, for report headers."""
        if self.include_seen:
            return REBUY_NOTE.replace("training", "history") if self.histories else REBUY_NOTE
        return HISTORY_NOTE if self.histories else PROTOCOL_NOTE

    def to_frame(self) -> pl.DataFrame:
        """One row per evaluated user, one column per metric."""
        return pl.DataFrame(
            {"user_id": self.user_ids.tolist()}
            | {name: values for name, values in self.per_user.items()}
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "model": self.model,
            "split": self.split,
            "protocol": self.note,
            "include_seen": self.include_seen,
            "k": list(self.k),
            "n_users": self.n_users,
            "dropped_test_pairs": self.dropped_test_pairs,
            "seconds": round(self.seconds, 3),
            "metrics": {
                name: None if np.isnan(v) else round(v, 6) for name, v in self.summary().items()
            },
        }


def evaluate(
    model: Recommender,
    test: Split | Interactions | Any,
    *,
    k: int | Iterable[int] = (10, 20),
    split_name: str | None = None,
    curve: int = 0,
    include_seen: bool = False,
) -> Report:
    """Score ``model`` on held-out interactions by full-catalogue ranking.

    For each user with test items, every item the model knows is ranked, the user's
    training items are excluded, and the top max(k) are compared with the test items.

    Args:
        model: a fitted model.
        test: a Split (its test part is used), Interactions, or anything
            :func:`read_interactions` reads. Pairs with users or items the model was not
            trained on cannot be ranked: they are dropped and counted.
        k: one or more list lengths.
        split_name: how to describe the test set in the report.
        curve: if > 0, also rank ``curve`` items and keep mean NDCG@K for K = 1..curve.
        include_seen: rank the users' training items too (re-buys allowed), and add the
            repeat/explore metrics.
    """
    ks = check_ks(k)
    if isinstance(test, Split):
        split_name = split_name or test.protocol
        test = test.test
    test = read_interactions(test)
    model.check_fitted()
    started = time.perf_counter()
    aligned, dropped = reindex(test, model.users_, model.items_)
    relevant = aligned.matrix
    n_relevant_all = np.diff(relevant.indptr)
    user_idx = np.flatnonzero(n_relevant_all > 0)
    if len(user_idx) == 0:
        raise DataError("no test user is known to the model: nothing to evaluate")
    max_k = max(*ks, curve)
    ranked, _ = model.rank_positions(user_idx, max_k, exclude_seen=not include_seen)
    return scored(
        model,
        ranked,
        relevant[user_idx],
        model.seen_[user_idx],
        model.users_.ids[user_idx],
        Scoring(ks, curve, include_seen, split_name or "test set", dropped, started),
    )


@dataclass(frozen=True)
class Scoring:
    """How :func:`scored` scores the lists: list lengths and what the report says."""

    ks: tuple[int, ...]
    curve: int
    include_seen: bool
    split_name: str
    dropped: int
    started: float
    histories: bool = False


def scored(
    model: Recommender,
    ranked: np.ndarray,
    relevant: sp.csr_matrix,
    seen: sp.csr_matrix,
    user_ids: np.ndarray,
    how: Scoring,
) -> Report:
    """The report of ``ranked`` lists (rows × ≥ max k item positions) against ``relevant``.

    ``seen`` holds each row's own items (excluded from its list unless ``include_seen``).
    """
    ks, curve = how.ks, how.curve
    max_k = max(*ks, curve)
    if ranked.shape[1] < max_k:  # catalogue smaller than k: pad with "no item"
        ranked = np.pad(ranked, ((0, 0), (0, max_k - ranked.shape[1])), constant_values=-1)
    hits = hit_matrix(ranked, relevant)
    n_relevant = np.diff(relevant.indptr)
    per_user = {
        f"{name}@{cutoff}": metric(hits, n_relevant, cutoff)
        for name, metric in PER_USER_METRICS.items()
        for cutoff in ks
    }
    if how.include_seen:
        per_user |= repeat_explore(ranked, relevant, seen, ks)
    ndcg_curve = np.array([ndcg_at_k(hits, n_relevant, c).mean() for c in range(1, curve + 1)])
    n_items = len(model.items_)
    popularity = np.bincount(model.seen_.indices, minlength=n_items) / max(len(model.users_), 1)
    aggregate = {f"coverage@{c}": coverage_at_k(ranked, n_items, c) for c in ks}
    aggregate |= {f"popularity@{c}": popularity_at_k(ranked, popularity, c) for c in ks}
    aggregate["catalogue_popularity"] = float(popularity.mean())
    listed = ranked[:, : max(ks)]
    return Report(
        model=format_spec(model),
        split=how.split_name,
        k=ks,
        user_ids=user_ids,
        per_user=per_user,
        aggregate=aggregate,
        dropped_test_pairs=how.dropped,
        seconds=time.perf_counter() - how.started,
        ndcg_curve=ndcg_curve,
        item_counts=np.bincount(listed[listed >= 0], minlength=n_items),
        history_lengths=np.diff(seen.indptr),
        include_seen=how.include_seen,
        histories=how.histories,
    )


def check_ks(k: int | Iterable[int]) -> tuple[int, ...]:
    """The list lengths ``k`` names, sorted; an error unless each is an int ≥ 1."""
    ks = tuple(sorted({k} if isinstance(k, int) else set(k)))
    if not ks or any(not isinstance(x, int) or x < 1 for x in ks):
        raise InvalidParameterError(f"k must be one or more ints ≥ 1. Got {k!r} instead.")
    return ks


def nan_mean(values: np.ndarray) -> float:
    """The mean of the values that are not NaN; NaN when none is."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if len(kept) else float("nan")
