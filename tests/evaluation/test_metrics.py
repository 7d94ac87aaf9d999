"""Each metric on hand-made rankings with answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from unrated.evaluation import metrics as m

# User 0: ranked [3, 1, 4, 0], relevant {1, 0, 9}   -> hits at ranks 2 and 4.
# User 1: ranked [2, 5, 6, -1], relevant {2}        -> hit at rank 1.
# User 2: ranked [7, 8, 0, 1], relevant {5}         -> no hit.
RANKED = np.array([[3, 1, 4, 0], [2, 5, 6, -1], [7, 8, 0, 1]])
RELEVANT = sp.csr_matrix((np.ones(5), ([0, 0, 0, 1, 2], [1, 0, 9, 2, 5])), shape=(3, 10))
HITS = m.hit_matrix(RANKED, RELEVANT)
N_REL = np.array([3, 1, 1])


def test_hit_matrix() -> None:
    assert HITS.astype(int).tolist() == [[0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]]


def test_recall_and_truncated_recall() -> None:
    np.testing.assert_allclose(m.recall_at_k(HITS, N_REL, 4), [2 / 3, 1, 0])
    np.testing.assert_allclose(m.recall_at_k(HITS, N_REL, 2), [1 / 3, 1, 0])
    np.testing.assert_allclose(m.truncated_recall_at_k(HITS, N_REL, 2), [1 / 2, 1, 0])


def test_precision() -> None:
    np.testing.assert_allclose(m.precision_at_k(HITS, N_REL, 4), [0.5, 0.25, 0])


def test_ndcg() -> None:
    dcg0 = 1 / math.log2(3) + 1 / math.log2(5)
    idcg0 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    np.testing.assert_allclose(m.ndcg_at_k(HITS, N_REL, 4), [dcg0 / idcg0, 1, 0])
    # at k=2 the ideal holds only min(2, 3) = 2 hits
    np.testing.assert_allclose(
        m.ndcg_at_k(HITS, N_REL, 2)[0], (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )


def test_map() -> None:
    # AP@4 of user 0 = (P@2 + P@4) / min(4, 3) = (1/2 + 2/4) / 3
    np.testing.assert_allclose(m.map_at_k(HITS, N_REL, 4), [(0.5 + 0.5) / 3, 1, 0])


def test_mrr_and_hit_rate() -> None:
    np.testing.assert_allclose(m.mrr_at_k(HITS, N_REL, 4), [0.5, 1, 0])
    np.testing.assert_allclose(m.mrr_at_k(HITS, N_REL, 1), [0, 1, 0])
    np.testing.assert_allclose(m.hit_rate_at_k(HITS, N_REL, 4), [1, 1, 0])


def test_coverage_and_popularity() -> None:
    assert m.coverage_at_k(RANKED, 10, 2) == pytest.approx(6 / 10)  # {3, 1, 2, 5, 7, 8}
    popularity = np.arange(10) / 10
    assert m.popularity_at_k(RANKED, popularity, 1) == pytest.approx((0.3 + 0.2 + 0.7) / 3)


def test_k_beyond_the_lists_is_an_error() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        m.ndcg_at_k(HITS, N_REL, 5)
