"""Approximate top-k for factor models: an HNSW index over the item factors (hnswlib).

A factor model scores user u and item i by the inner product of ``user_factors_[u]`` and
``item_factors_[i]``. For catalogues of about a million items an exact scan per request
gets slow; an HNSW graph (Malkov & Yashunin 2018) finds nearly the same top-k in
microseconds. How nearly is measured when the index is built: recall@k of the approximate
lists against the model's exact ``recommend`` on a sample of users, reported at start-up
and in ``GET /health``. Models whose scores are more than that inner product (biases) show
it there as a lower recall.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from unrated.errors import InvalidParameterError
from unrated.models._topk import top_k
from unrated.models.base import Recommender


def factors_of(model: Recommender) -> tuple[np.ndarray, np.ndarray] | None:
    """``(user_factors_, item_factors_)`` if the model has them as float32 matrices."""
    users = getattr(model, "user_factors_", None)
    items = getattr(model, "item_factors_", None)
    if not isinstance(users, np.ndarray) or not isinstance(items, np.ndarray):
        return None
    if (
        users.ndim != 2
        or items.ndim != 2
        or users.shape != (len(model.users_), items.shape[1])
        or items.shape[0] != len(model.items_)
    ):
        return None
    return users.astype(np.float32, copy=False), items.astype(np.float32, copy=False)


@dataclass(frozen=True, eq=False)
class AnnIndex:
    """An HNSW inner-product index over a model's item factors, and its measured recall.

    Attributes:
        recall: mean recall@``k`` of the approximate lists against exact search.
        k: the list length the recall was measured at.
        sample_users: how many users it was measured on.
        build_seconds: time to build the index.
        ef: the search breadth (larger: slower, closer to exact).
    """

    index: Any
    user_factors: np.ndarray
    item_factors: np.ndarray
    recall: float
    k: int
    sample_users: int
    build_seconds: float
    ef: int

    def query(
        self,
        user_idx: int,
        k: int,
        *,
        excluded: sp.csr_matrix | None = None,
        blocked: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item positions and scores, each (1, min(k, n_items)), for one known user.

        The graph proposes ``k`` candidates more than could be left out; they are ranked by
        :func:`top_k` with the model's exclusion: ``excluded`` (1 × items, e.g. the user's
        seen row) and ``blocked`` (items mask), as in :meth:`Recommender.rank_positions`.
        """
        n_items = len(self.item_factors)
        left_out = (0 if excluded is None else excluded.nnz) + (
            0 if blocked is None else int(blocked.sum())
        )
        wanted = min(n_items, k + left_out)
        vector = self.user_factors[user_idx]
        try:
            labels, _ = self.index.knn_query(vector, k=wanted, num_threads=1)
            found = labels[0].astype(np.int64)
        except RuntimeError:  # the graph could not return that many: scan instead
            found = np.argsort(-(self.item_factors @ vector), kind="stable")[:wanted]
        found = np.sort(found)  # ties go to the smaller position, as in exact ranking
        item_idx, scores = top_k(
            (self.item_factors[found] @ vector)[None, :],
            k,
            excluded=None if excluded is None else excluded[:, found],
            blocked=None if blocked is None else blocked[found],
        )
        return np.where(item_idx >= 0, found[item_idx], -1), scores


def build_ann(
    model: Recommender,
    *,
    k: int = 10,
    sample_users: int = 500,
    ef: int = 200,
    connections: int = 16,
    seed: int = 0,
) -> AnnIndex:
    """Build the HNSW index of ``model``'s item factors and measure its recall@``k``.

    Raises:
        InvalidParameterError: hnswlib is not installed, or the model has no factors.
    """
    factors = factors_of(model)
    if factors is None:
        raise InvalidParameterError(
            f"approximate search (--ann) needs a factor model with user_factors_ and "
            f"item_factors_ (such as ials, bpr, mf); {model.key!r} has none. Leave out --ann: "
            "exact search is fast for catalogues up to about a million items"
        )
    try:
        import hnswlib
    except ImportError:
        raise InvalidParameterError(
            "approximate search (--ann) needs hnswlib: pip install 'unrated[ann]'"
        ) from None
    users, items = factors
    started = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=items.shape[1])
    index.init_index(
        max_elements=len(items), M=connections, ef_construction=max(ef, 100), random_seed=seed
    )
    index.add_items(items, np.arange(len(items)))
    index.set_ef(ef)
    built = AnnIndex(index, users, items, 0.0, k, 0, time.perf_counter() - started, ef)
    recall, measured = _recall(model, built, k, sample_users, seed)
    return AnnIndex(index, users, items, recall, k, measured, built.build_seconds, ef)


def _recall(
    model: Recommender, ann: AnnIndex, k: int, sample_users: int, seed: int
) -> tuple[float, int]:
    """Mean recall@k of ``ann`` against the model's exact lists, seen items excluded."""
    rng = np.random.default_rng(seed)
    n_users = len(model.users_)
    sample = np.sort(rng.choice(n_users, size=min(sample_users, n_users), replace=False))
    if len(sample) == 0:
        return 1.0, 0
    exact, _ = model.rank_positions(sample, k)
    recalls = []
    for row, user in enumerate(sample.tolist()):
        truth = exact[row][exact[row] >= 0]
        if len(truth) == 0:
            continue
        found, _ = ann.query(user, k, excluded=model.seen_[user])
        recalls.append(len(np.intersect1d(found[0], truth)) / len(truth))
    return (float(np.mean(recalls)) if recalls else 1.0), len(recalls)
