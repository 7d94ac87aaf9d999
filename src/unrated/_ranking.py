"""Per-user ranking metrics as pure numpy functions of a hit matrix (internal).

The one definition of each metric, below the models so that both the models' early stopping
(:mod:`unrated.models._validation`) and evaluation use it; the public names live in
:mod:`unrated.evaluation.metrics`.

Every metric takes ``hits`` — an (n_users, K) boolean array, ``hits[u, r]`` true when the
item ranked r+1 for user u is in u's held-out set — and ``n_relevant`` (n_users,), the size
|T_u| of that set, and returns one value per user. Use :func:`hit_matrix` to build ``hits``
from ranked item indices. ``k`` truncates the lists to their first k columns.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hit_matrix(ranked: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """``hits[u, r]``: is ``ranked[u, r]`` (an item index, -1 for none) in row u of ``relevant``."""
    n_users, _ = ranked.shape
    n_items = relevant.shape[1]
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(relevant.indptr))
    relevant_keys = rows * n_items + relevant.indices
    ranked_keys = np.arange(n_users, dtype=np.int64)[:, None] * n_items + ranked
    hits = np.isin(ranked_keys, relevant_keys)
    return hits & (ranked >= 0)


def _truncate(hits: np.ndarray, k: int) -> np.ndarray:
    if k > hits.shape[1]:
        raise ValueError(f"k={k} exceeds the {hits.shape[1]} ranked items")
    return hits[:, :k]


def _float(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Recall@k = |hits in top k| / |T_u|."""
    return _float(_truncate(hits, k).sum(axis=1) / np.maximum(n_relevant, 1))


def truncated_recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Truncated recall@k = |hits in top k| / min(k, |T_u|) (Liang et al. 2018; Rendle et al. 2021).

    Reaches 1 when the list is as good as it can be, also when |T_u| > k.
    """
    return _float(_truncate(hits, k).sum(axis=1) / np.maximum(np.minimum(n_relevant, k), 1))


def precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Precision@k = |hits in top k| / k."""
    return _float(_truncate(hits, k).sum(axis=1) / k)


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k = DCG@k / IDCG@k, binary gains.

    DCG@k = Σ_{r=1..k} hit_r / log2(r + 1); IDCG@k = Σ_{r=1..min(k, |T_u|)} 1 / log2(r + 1).
    """
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = _truncate(hits, k) @ discounts
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_relevant, k)]
    return _float(dcg / np.where(ideal > 0, ideal, 1.0))


def map_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """MAP@k: AP@k = Σ_{r=1..k} Precision@r · hit_r / min(k, |T_u|)."""
    top = _truncate(hits, k)
    precision_at_r = np.cumsum(top, axis=1) / np.arange(1, k + 1)
    return _float((precision_at_r * top).sum(axis=1) / np.maximum(np.minimum(n_relevant, k), 1))


def mrr_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """MRR@k: 1 / rank of the first hit within the top k, 0 without a hit."""
    top = _truncate(hits, k)
    first = top.argmax(axis=1)
    return _float(np.where(top.any(axis=1), 1.0 / (first + 1), 0.0))


def hit_rate_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """HitRate@k: 1 if any held-out item is in the top k, else 0."""
    return _float(_truncate(hits, k).any(axis=1))
