"""Masked top-k over dense score rows: the one place where exclusion and ranking happen."""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp


def mask_items(scores: np.ndarray, excluded: sp.csr_matrix | None) -> None:
    """Set ``scores[r, j]`` to -inf in place wherever ``excluded[r, j]`` is stored."""
    if excluded is None or excluded.nnz == 0:
        return
    rows = np.repeat(np.arange(excluded.shape[0]), np.diff(excluded.indptr))
    scores[rows, excluded.indices] = -np.inf


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best columns of each row, best first.

    Ties go to the smaller column index, so a row's result never depends on the other rows
    of its batch. Entries at -inf (excluded) come back as index -1 with score -inf, after
    every real item. NaN counts as -inf. Returns ``(n_rows, min(k, n_cols))`` arrays.
    """
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    k = min(k, scores.shape[1])
    item_idx = np.empty((scores.shape[0], k), dtype=np.int64)
    top_scores = np.empty((scores.shape[0], k), dtype=np.float32)
    if k > 0:
        _top_k_rows(scores, item_idx, top_scores)
    return item_idx, top_scores


@numba.njit(inline="always")
def _worse(score_a: float, idx_a: int, score_b: float, idx_b: int) -> bool:
    return score_a < score_b or (score_a == score_b and idx_a > idx_b)


@numba.njit(inline="always")
def _sift_down(heap_s: np.ndarray, heap_i: np.ndarray, size: int, pos: int) -> None:
    """Restore the heap (worst entry at the root) below ``pos``."""
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and _worse(
            heap_s[child + 1], heap_i[child + 1], heap_s[child], heap_i[child]
        ):
            child += 1
        if not _worse(heap_s[child], heap_i[child], heap_s[pos], heap_i[pos]):
            return
        heap_s[pos], heap_s[child] = heap_s[child], heap_s[pos]
        heap_i[pos], heap_i[child] = heap_i[child], heap_i[pos]
        pos = child


@numba.njit(parallel=True, cache=True, nogil=True)
def _top_k_rows(scores: np.ndarray, out_idx: np.ndarray, out_scores: np.ndarray) -> None:
    n_rows, n_cols = scores.shape
    k = out_idx.shape[1]
    for row in numba.prange(n_rows):
        heap_s = np.empty(k, dtype=np.float32)
        heap_i = np.empty(k, dtype=np.int64)
        # Fill with the first k columns, then heapify (worst at the root).
        for j in range(k):
            s = scores[row, j]
            heap_s[j] = -np.inf if s != s else s
            heap_i[j] = j
        for pos in range(k // 2 - 1, -1, -1):
            _sift_down(heap_s, heap_i, k, pos)
        for j in range(k, n_cols):
            s = scores[row, j]
            if s > heap_s[0]:  # a later column never wins a tie; NaN compares False
                heap_s[0] = s
                heap_i[0] = j
                _sift_down(heap_s, heap_i, k, 0)
        # Pop the worst to the back: the output ends up best first.
        for size in range(k, 0, -1):
            out_scores[row, size - 1] = heap_s[0]
            out_idx[row, size - 1] = -1 if heap_s[0] == -np.inf else heap_i[0]
            heap_s[0] = heap_s[size - 1]
            heap_i[0] = heap_i[size - 1]
            _sift_down(heap_s, heap_i, size - 1, 0)
