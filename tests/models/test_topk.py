from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from unrated.models._topk import mask_items, top_k


def test_top_k_orders_and_breaks_ties_by_index() -> None:
    scores = np.array([[1, 3, 3, 2, np.nan, -np.inf], [0, 0, 0, 0, 0, 0]], dtype=np.float32)
    idx, values = top_k(scores, 4)
    assert idx.tolist() == [[1, 2, 3, 0], [0, 1, 2, 3]]
    assert values.tolist() == [[3, 3, 2, 1], [0, 0, 0, 0]]


def test_excluded_entries_are_padding_at_the_end() -> None:
    scores = np.array([[5, -np.inf, 1]], dtype=np.float32)
    idx, values = top_k(scores, 3)
    assert idx.tolist() == [[0, 2, -1]]
    assert np.isneginf(values[0, 2])


def test_k_larger_than_catalogue_is_clipped() -> None:
    idx, _ = top_k(np.zeros((2, 3), dtype=np.float32), 10)
    assert idx.shape == (2, 3)


def test_matches_a_full_sort() -> None:
    scores = np.random.default_rng(0).random((50, 500)).astype(np.float32)
    idx, _ = top_k(scores, 25)
    np.testing.assert_array_equal(idx, np.argsort(-scores, axis=1, kind="stable")[:, :25])


def test_mask_items_sets_minus_infinity() -> None:
    scores = np.zeros((2, 3), dtype=np.float32)
    mask_items(scores, sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0]])))
    assert np.isneginf(scores).tolist() == [[True, False, True], [False, True, False]]
