"""Early stopping's NDCG@k: evaluation's metric over a full-catalogue ranking, train excluded."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from unrated.models._validation import ndcg_at_k


def _reference(scores: np.ndarray, train: sp.csr_matrix, valid: sp.csr_matrix, k: int) -> float:
    """NDCG@k written out user by user: rank unseen items by score (ties: smaller index)."""
    values = []
    for user in range(scores.shape[0]):
        relevant = set(valid[user].indices.tolist())
        if not relevant:
            continue
        seen = set(train[user].indices.tolist())
        order = sorted(
            (j for j in range(scores.shape[1]) if j not in seen), key=lambda j: -scores[user, j]
        )
        dcg = sum(1 / math.log2(r + 2) for r, j in enumerate(order[:k]) if j in relevant)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
        values.append(dcg / ideal)
    return float(np.mean(values)) if values else 0.0


@pytest.mark.parametrize(("n_items", "k"), [(40, 5), (40, 20), (12, 20), (300, 1)])
def test_ndcg_matches_a_user_by_user_reference(n_items: int, k: int) -> None:
    rng = np.random.default_rng(n_items * 100 + k)
    for _ in range(5):
        n_users = int(rng.integers(1, 60))
        cells = rng.random((n_users, n_items))
        train = sp.csr_matrix((cells < 0.2).astype(np.float32))
        valid = sp.csr_matrix(((cells >= 0.2) & (cells < 0.3)).astype(np.float32))
        scores = rng.standard_normal((n_users, n_items)).astype(np.float32)
        value = ndcg_at_k(lambda users, s=scores: s[users], train, valid, k)
        assert value == pytest.approx(_reference(scores, train, valid, k), rel=1e-12, abs=1e-15)


def test_ndcg_without_validation_users_is_zero() -> None:
    train = sp.csr_matrix(np.eye(3, dtype=np.float32))
    empty = sp.csr_matrix((3, 3), dtype=np.float32)
    assert ndcg_at_k(lambda users: np.zeros((len(users), 3)), train, empty, 2) == 0.0
