"""Ranking metrics, per user, as pure functions of a hit matrix; catalogue coverage and popularity.

Every per-user metric takes ``hits`` — an (n_users, K) boolean array, ``hits[u, r]`` true when
the item ranked r+1 for user u is in u's held-out set — and ``n_relevant`` (n_users,), the size
|T_u| of that set, and returns one value per user. Use :func:`hit_matrix` to build ``hits``
from ranked item indices. ``k`` truncates the lists to their first k columns. They are defined
in :mod:`unrated._ranking`, below the models (whose early stopping scores NDCG with them too).
"""

from __future__ import annotations

import numpy as np

from unrated._ranking import (
    hit_matrix,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    truncated_recall_at_k,
)

__all__ = [
    "LABELS",
    "PER_USER_METRICS",
    "coverage_at_k",
    "hit_matrix",
    "hit_rate_at_k",
    "map_at_k",
    "metric_label",
    "mrr_at_k",
    "ndcg_at_k",
    "popularity_at_k",
    "precision_at_k",
    "recall_at_k",
    "truncated_recall_at_k",
]


def coverage_at_k(ranked: np.ndarray, n_items: int, k: int) -> float:
    """Catalogue coverage@k: share of all items that appear in at least one top-k list."""
    top = ranked[:, :k]
    return float(len(np.unique(top[top >= 0])) / max(n_items, 1))


def popularity_at_k(ranked: np.ndarray, item_popularity: np.ndarray, k: int) -> float:
    """Mean popularity@k: the share of training users who have a recommended item, averaged.

    Compare with the catalogue mean to see popularity bias.
    """
    top = ranked[:, :k]
    values = item_popularity[top[top >= 0]]
    return float(values.mean()) if len(values) else 0.0


#: The per-user metrics, by the name used in reports.
PER_USER_METRICS = {
    "recall": recall_at_k,
    "truncated_recall": truncated_recall_at_k,
    "ndcg": ndcg_at_k,
    "precision": precision_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
}

#: The names tables, plots and the report show (their legends use the same words).
LABELS = {
    "recall": "Recall",
    "truncated_recall": "tRecall",
    "ndcg": "NDCG",
    "precision": "Precision",
    "map": "MAP",
    "mrr": "MRR",
    "hit_rate": "HitRate",
}


def metric_label(metric: str) -> str:
    """``"truncated_recall@20"`` -> ``"tRecall@20"``; other names are left as they are."""
    name, at, cutoff = metric.partition("@")
    return f"{LABELS.get(name, name)}{at}{cutoff}"
