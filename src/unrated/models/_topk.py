"""Masked top-k: the one place where seen and blocked items are left out and lists are ranked.

Two entries share one selection routine: :func:`top_k` over dense score rows, and
:func:`top_k_dot` over inner products ``queries @ items.T`` that it scores tile by tile, so
that the full score matrix is never held. A row's result never depends on the other rows of
its batch: ties go to the smaller item position, each row is selected on its own, and each
inner product (here and in :func:`dot`) is the same sequence of fused multiply-adds over
the factors in order, whatever the batch, the row's place in it, or the number of threads.

Not BLAS: its products pick kernels by shape, so a row's last bits can depend on the rows
beside it; scoring fixed-size padded tiles would fix the shape, but one user's request would
then pay for a whole tile and for packing every item vector again.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

#: Items scored and offered to the heaps at a time (fewer: more loop overhead; more: no faster
#: at 64 to 4,096 factors).
CHUNK = 512
#: Query rows that share one pass over a chunk's item vectors.
ROWS = 4
#: Query rows per parallel task, at most (each chunk of item vectors is read once per tile).
TILE = 256


def top_k(
    scores: np.ndarray,
    k: int,
    *,
    excluded: sp.csr_matrix | None = None,
    blocked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best columns of each row, best first.

    ``excluded[r, j]`` stored or ``blocked[j]`` True leaves column ``j`` out of row ``r``.
    Ties go to the smaller column index. Left-out columns, and scores at -inf or NaN, are
    never listed: a row with fewer than ``k`` others is padded with index -1 and score
    -inf. Returns ``(n_rows, min(k, n_cols))`` arrays.
    """
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    n_rows, n_cols = scores.shape
    indptr, indices, mask = _exclusions(excluded, blocked, n_rows, n_cols)
    item_idx, top_scores = _outputs(n_rows, min(k, n_cols))
    if item_idx.shape[1] > 0:
        _top_k_rows(scores, indptr, indices, mask, item_idx, top_scores)
    return item_idx, top_scores


def top_k_dot(
    queries: np.ndarray,
    items_t: np.ndarray,
    k: int,
    *,
    excluded: sp.csr_matrix | None = None,
    blocked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` of ``queries @ items_t`` (items_t: factors × items), scored per tile.

    The scores listed are bit-identical to :func:`dot`'s.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    items_t = np.ascontiguousarray(items_t, dtype=np.float32)
    n_rows, n_cols = len(queries), items_t.shape[1]
    indptr, indices, mask = _exclusions(excluded, blocked, n_rows, n_cols)
    item_idx, top_scores = _outputs(n_rows, min(k, n_cols))
    if item_idx.shape[1] > 0 and n_rows > 0:
        tile = _tile(n_rows)
        _top_k_dot_rows(queries, items_t, indptr, indices, mask, tile, item_idx, top_scores)
    return item_idx, top_scores


def dot(queries: np.ndarray, items_t: np.ndarray) -> np.ndarray:
    """``queries @ items_t`` (float32), each entry computed as in :func:`top_k_dot`."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    items_t = np.ascontiguousarray(items_t, dtype=np.float32)
    out = np.empty((len(queries), items_t.shape[1]), dtype=np.float32)
    if out.size:
        _dot_rows(queries, items_t, _tile(len(queries)), out)
    return out


def _tile(n_rows: int) -> int:
    """Rows per parallel task: at least four tasks per thread, up to TILE rows each."""
    rows = -(-n_rows // (4 * numba.get_num_threads()))
    return int(min(TILE, -(-rows // ROWS) * ROWS))


def _exclusions(
    excluded: sp.csr_matrix | None, blocked: np.ndarray | None, n_rows: int, n_cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, sorted indices) of ``excluded`` (empty rows if None) and the blocked mask."""
    if excluded is None:
        indptr, indices = np.zeros(n_rows + 1, dtype=np.int64), np.empty(0, dtype=np.int64)
    else:
        if excluded.shape != (n_rows, n_cols):
            raise ValueError(f"excluded has shape {excluded.shape}, not {(n_rows, n_cols)}")
        excluded = excluded if excluded.has_sorted_indices else excluded.sorted_indices()
        indptr = excluded.indptr.astype(np.int64)
        indices = excluded.indices.astype(np.int64)
    mask = np.zeros(n_cols, dtype=np.bool_) if blocked is None else np.asarray(blocked, bool)
    if mask.shape != (n_cols,):
        raise ValueError(f"blocked has shape {mask.shape}, not {(n_cols,)}")
    return indptr, indices, mask


def _outputs(n_rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n_rows, k), -1, dtype=np.int64), np.full((n_rows, k), -np.inf, np.float32)


# ----------------------------------------------------------------------------- kernels
@numba.njit(inline="always")
def _worse(score_a: float, idx_a: int, score_b: float, idx_b: int) -> bool:
    return score_a < score_b or (score_a == score_b and idx_a > idx_b)


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
def _offer(
    values: np.ndarray,
    first: int,
    heap_s: np.ndarray,
    heap_i: np.ndarray,
    indices: np.ndarray,
    cursor: int,
    stop: int,
    blocked: np.ndarray,
) -> int:
    """Offer items ``first, first+1, ...`` scored ``values`` to the heap (worst at the root).

    ``indices[cursor:stop]`` are the row's excluded items (sorted); returns the cursor moved
    past this chunk. A later item never displaces an equal score; NaN never enters.
    """
    width = len(values)
    threshold = heap_s[0]
    candidates = 0
    for j in range(width):  # vectorised: most chunks hold nothing for the heap
        candidates += values[j] > threshold
    if candidates > 0:
        k = len(heap_s)
        for j in range(width):
            score = values[j]
            if not score > heap_s[0]:
                continue
            item = first + j
            while cursor < stop and indices[cursor] < item:
                cursor += 1
            if (cursor < stop and indices[cursor] == item) or blocked[item]:
                continue
            heap_s[0] = score
            heap_i[0] = item
            _sift_down(heap_s, heap_i, k, 0)
    while cursor < stop and indices[cursor] < first + width:
        cursor += 1
    return cursor


@numba.njit(cache=True, nogil=True)
def _drain(heap_s: np.ndarray, heap_i: np.ndarray, out_s: np.ndarray, out_i: np.ndarray) -> None:
    """Pop the worst to the back: the output ends best first; -inf entries as index -1."""
    for size in range(len(heap_s), 0, -1):
        out_s[size - 1] = heap_s[0]
        out_i[size - 1] = -1 if heap_s[0] == -np.inf else heap_i[0]
        heap_s[0] = heap_s[size - 1]
        heap_i[0] = heap_i[size - 1]
        _sift_down(heap_s, heap_i, size - 1, 0)


@numba.njit(parallel=True, cache=True, nogil=True)
def _top_k_rows(
    scores: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    blocked: np.ndarray,
    out_idx: np.ndarray,
    out_scores: np.ndarray,
) -> None:
    n_rows, n_cols = scores.shape
    k = out_idx.shape[1]
    for row in numba.prange(n_rows):
        heap_s = np.full(k, -np.inf, dtype=np.float32)
        heap_i = np.full(k, -1, dtype=np.int64)
        cursor = indptr[row]
        for first in range(0, n_cols, CHUNK):
            chunk = scores[row, first : first + CHUNK]
            cursor = _offer(chunk, first, heap_s, heap_i, indices, cursor, indptr[row + 1], blocked)
        _drain(heap_s, heap_i, out_scores[row], out_idx[row])


@numba.njit(cache=True, fastmath={"contract"}, nogil=True)
def _score_chunk(
    queries: np.ndarray, row: int, n: int, items_t: np.ndarray, first: int, out: np.ndarray
) -> None:
    """out[q, :width] = queries[row + q] · items_t[:, first:first+width] for q < n (≤ ROWS).

    Every entry is 0 followed by one fused multiply-add per factor, in factor order, whatever
    q, n or row: four rows share each load of the item vectors, four factors each load and
    store of a score, but the sequence of operations of an entry is always the same.
    """
    d = queries.shape[1]
    width = min(CHUNK, items_t.shape[1] - first)
    if n < ROWS:
        for q in range(n):
            _score_row(queries[row + q], items_t, first, out[q, :width])
        return
    o0, o1, o2, o3 = out[0, :width], out[1, :width], out[2, :width], out[3, :width]
    u0, u1, u2, u3 = queries[row], queries[row + 1], queries[row + 2], queries[row + 3]
    o0[:] = 0.0
    o1[:] = 0.0
    o2[:] = 0.0
    o3[:] = 0.0
    f = 0
    while f + 4 <= d:
        v0, v1 = items_t[f, first : first + width], items_t[f + 1, first : first + width]
        v2, v3 = items_t[f + 2, first : first + width], items_t[f + 3, first : first + width]
        a0, b0, c0, e0 = u0[f], u0[f + 1], u0[f + 2], u0[f + 3]
        a1, b1, c1, e1 = u1[f], u1[f + 1], u1[f + 2], u1[f + 3]
        a2, b2, c2, e2 = u2[f], u2[f + 1], u2[f + 2], u2[f + 3]
        a3, b3, c3, e3 = u3[f], u3[f + 1], u3[f + 2], u3[f + 3]
        for j in range(width):
            x, y, z, w = v0[j], v1[j], v2[j], v3[j]
            o0[j] = (((o0[j] + a0 * x) + b0 * y) + c0 * z) + e0 * w
            o1[j] = (((o1[j] + a1 * x) + b1 * y) + c1 * z) + e1 * w
            o2[j] = (((o2[j] + a2 * x) + b2 * y) + c2 * z) + e2 * w
            o3[j] = (((o3[j] + a3 * x) + b3 * y) + c3 * z) + e3 * w
        f += 4
    for f in range(d - d % 4, d):
        v0 = items_t[f, first : first + width]
        a0, a1, a2, a3 = u0[f], u1[f], u2[f], u3[f]
        for j in range(width):
            x = v0[j]
            o0[j] += a0 * x
            o1[j] += a1 * x
            o2[j] += a2 * x
            o3[j] += a3 * x


@numba.njit(cache=True, fastmath={"contract"}, nogil=True)
def _score_row(query: np.ndarray, items_t: np.ndarray, first: int, out: np.ndarray) -> None:
    """One row of :func:`_score_chunk`, by the same sequence of operations per entry."""
    d, width = len(query), len(out)
    out[:] = 0.0
    f = 0
    while f + 4 <= d:
        v0, v1 = items_t[f, first : first + width], items_t[f + 1, first : first + width]
        v2, v3 = items_t[f + 2, first : first + width], items_t[f + 3, first : first + width]
        a, b, c, e = query[f], query[f + 1], query[f + 2], query[f + 3]
        for j in range(width):
            out[j] = (((out[j] + a * v0[j]) + b * v1[j]) + c * v2[j]) + e * v3[j]
        f += 4
    for f in range(d - d % 4, d):
        v0 = items_t[f, first : first + width]
        a = query[f]
        for j in range(width):
            out[j] += a * v0[j]


@numba.njit(parallel=True, cache=True, nogil=True)
def _top_k_dot_rows(
    queries: np.ndarray,
    items_t: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    blocked: np.ndarray,
    tile_rows: int,
    out_idx: np.ndarray,
    out_scores: np.ndarray,
) -> None:
    n_rows = queries.shape[0]
    n_cols = items_t.shape[1]
    k = out_idx.shape[1]
    for tile in numba.prange((n_rows + tile_rows - 1) // tile_rows):
        top = tile * tile_rows
        size = min(tile_rows, n_rows - top)
        heap_s = np.full((size, k), -np.inf, dtype=np.float32)
        heap_i = np.full((size, k), -1, dtype=np.int64)
        cursor = indptr[top : top + size].copy()
        scores = np.empty((ROWS, CHUNK), dtype=np.float32)
        for first in range(0, n_cols, CHUNK):
            width = min(CHUNK, n_cols - first)
            for q0 in range(0, size, ROWS):
                n = min(ROWS, size - q0)
                _score_chunk(queries, top + q0, n, items_t, first, scores)
                for q in range(n):
                    r = q0 + q
                    cursor[r] = _offer(
                        scores[q, :width],
                        first,
                        heap_s[r],
                        heap_i[r],
                        indices,
                        cursor[r],
                        indptr[top + r + 1],
                        blocked,
                    )
        for r in range(size):
            _drain(heap_s[r], heap_i[r], out_scores[top + r], out_idx[top + r])


@numba.njit(parallel=True, cache=True, nogil=True)
def _dot_rows(queries: np.ndarray, items_t: np.ndarray, tile_rows: int, out: np.ndarray) -> None:
    n_rows = queries.shape[0]
    n_cols = items_t.shape[1]
    for tile in numba.prange((n_rows + tile_rows - 1) // tile_rows):
        top = tile * tile_rows
        size = min(tile_rows, n_rows - top)
        scores = np.empty((ROWS, CHUNK), dtype=np.float32)
        for first in range(0, n_cols, CHUNK):
            width = min(CHUNK, n_cols - first)
            for q0 in range(0, size, ROWS):
                n = min(ROWS, size - q0)
                _score_chunk(queries, top + q0, n, items_t, first, scores)
                out[top + q0 : top + q0 + n, first : first + width] = scores[:n, :width]
