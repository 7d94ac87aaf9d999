from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from unrated.models._topk import dot, top_k, top_k_dot


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


def _random_exclusions(n_rows: int, n_cols: int, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    excluded = sp.random(n_rows, n_cols, density=0.05, format="csr", random_state=seed)
    return excluded, rng.random(n_cols) < 0.02


def _masked(scores: np.ndarray, excluded: sp.csr_matrix, blocked: np.ndarray) -> np.ndarray:
    masked = np.where(excluded.toarray() != 0, -np.inf, scores).astype(np.float32)
    masked[:, blocked] = -np.inf
    return masked


def test_excluded_and_blocked_are_left_out_as_minus_infinity_would_be() -> None:
    scores = np.random.default_rng(1).random((40, 1300)).astype(np.float32)
    excluded, blocked = _random_exclusions(40, 1300, seed=2)
    idx, values = top_k(scores, 30, excluded=excluded, blocked=blocked)
    masked = _masked(scores, excluded, blocked)
    np.testing.assert_array_equal(idx, np.argsort(-masked, axis=1, kind="stable")[:, :30])
    np.testing.assert_array_equal(values, np.take_along_axis(masked, idx, axis=1))


def test_a_row_with_everything_left_out_is_all_padding() -> None:
    everything = sp.csr_matrix(np.ones((1, 4), dtype=np.float32))
    idx, values = top_k(np.ones((2, 4), dtype=np.float32), 3, excluded=sp.vstack([everything] * 2))
    assert idx.tolist() == [[-1, -1, -1]] * 2
    assert np.isneginf(values).all()
    idx, _ = top_k(np.ones((1, 4), dtype=np.float32), 3, blocked=np.array([1, 1, 0, 1], bool))
    assert idx.tolist() == [[2, -1, -1]]


@pytest.mark.parametrize("factors", [1, 7, 64, 128])
def test_top_k_dot_is_top_k_of_dot_with_the_same_exclusion(factors: int) -> None:
    rng = np.random.default_rng(factors)
    queries = rng.standard_normal((600, factors)).astype(np.float32)
    items_t = rng.standard_normal((factors, 1100)).astype(np.float32)
    items_t[:, 700] = items_t[:, 300]  # exact ties: the smaller position wins
    excluded, blocked = _random_exclusions(600, 1100, seed=factors)
    scores = dot(queries, items_t)
    np.testing.assert_allclose(scores, queries @ items_t, rtol=1e-4, atol=1e-4)
    fused = top_k_dot(queries, items_t, 20, excluded=excluded, blocked=blocked)
    dense = top_k(_masked(scores, excluded, blocked), 20)
    np.testing.assert_array_equal(fused[0], dense[0])
    np.testing.assert_array_equal(fused[1], dense[1])


@pytest.mark.parametrize("threads", [1, 2])
def test_a_rows_scores_are_bit_identical_whatever_its_batch(threads: int) -> None:
    rng = np.random.default_rng(3)
    queries = rng.standard_normal((700, 64)).astype(np.float32)
    items_t = rng.standard_normal((64, 1500)).astype(np.float32)
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        everyone = dot(queries, items_t)
        ranked = top_k_dot(queries, items_t, 10)
        for row in (0, 1, 2, 3, 5, 255, 256, 259, 513, 699):  # every place in a group and tile
            for start in {row, max(row - 1, 0), max(row - 2, 0)}:
                alone = dot(queries[start : row + 1], items_t)[-1]
                np.testing.assert_array_equal(alone, everyone[row])
                idx, values = top_k_dot(queries[start : row + 1], items_t, 10)
                np.testing.assert_array_equal(idx[-1], ranked[0][row])
                np.testing.assert_array_equal(values[-1], ranked[1][row])
    finally:
        numba.set_num_threads(previous)


def test_ials_ranks_one_user_exactly_as_among_everyone(ml100k_split: ur.Split) -> None:
    model = ur.IALS(factors=26, epochs=2).fit(ml100k_split.train)
    everyone = model.recommend(model.users_.ids, k=20)
    scores = model.score(model.users_.ids)
    for row in (0, 3, 257, 602, len(model.users_) - 1):
        one = model.recommend(model.users_.ids[row], k=20)
        np.testing.assert_array_equal(one.item_idx[0], everyone.item_idx[row])
        np.testing.assert_array_equal(one.scores[0], everyone.scores[row])
        np.testing.assert_array_equal(scores[row, one.item_idx[0]], one.scores[0])
