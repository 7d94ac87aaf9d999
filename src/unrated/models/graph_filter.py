"""GraphFilter: a training-free low-pass filter over the normalised item–item graph."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from unrated._checks import check_choice, check_float, check_int, csr_arrays, take_array, take_csr
from unrated._memory import F32, F64, Cost, pairs_cost
from unrated._progress import progress_bar
from unrated.data.interactions import binary_matrix
from unrated.models._training import FitOptions
from unrated.models.base import BATCH_CELLS, Recommender

#: Where the plateau response is read for its interpolation (see chebyshev_coefficients).
RESPONSE_POINTS = ("nodes", "extrema")

#: Items per task of the low-rank kernel: a tile of Vᵀ (rank × 128 floats, stored
#: contiguously) stays in cache while every row of the batch is scored against it.
LOW_RANK_TILE = 128


class GraphFilter(Recommender):
    """Graph signal filtering for collaborative filtering: no training, one truncated SVD.

    With R the binary users × items matrix and D_u, D_i its user and item degrees, the
    normalised graph is R̃ = D_u^{-1/2} R D_i^{-1/2} and P = R̃ᵀR̃ the item–item operator
    (eigenvalues in [0, 1], 1 the smoothest signal). A user's history r (binary) scores

        s = (h(P) x + w · V Vᵀ x) ⊙ d^e,   x = r ⊙ d^{-e},

    where d is the item degree, e = ``degree_exponent``; V holds the ``rank`` top right
    singular vectors of R̃ (the "ideal" low-pass term, weight w = ``ideal_weight``); and
    h is the Chebyshev interpolant of order K = ``order`` of a plateau-shaped low-pass
    response: on x = 1 − 2λ (λ an eigenvalue of P), 1/2 + |x|^φ/2 for x < 0 and
    1/2 − x^φ/2 for x ≥ 0, with φ = ``flatness`` (larger: nearer 1/2 over the middle of
    the spectrum, steeper at its ends), interpolated at the K + 1 Chebyshev nodes and
    applied by the three-term recurrence: K products with P, each two sparse products
    (P itself is never formed).

    The score is linear in the history, so fold-in is exact (the filter keeps nothing of
    the users), ``explain`` splits a score into the contribution of each history item, and
    ``similar_items`` are the scores of a one-item history.

    Papers: GF-CF (Shen et al., "How Powerful is Graph Convolution for Recommendation?",
    CIKM 2021: the linear filter P plus the ideal term); BSPM (Choi et al., "Blurring-
    Sharpening Process Models for Collaborative Filtering", SIGIR 2023: the filter as a
    diffusion); ChebyCF (Kim et al., "Graph Spectral Filtering with Chebyshev Interpolation
    for Recommendation", SIGIR 2025: the plateau response, its Chebyshev interpolation and
    the degree normalisation used here). Of the three, ChebyCF's filter is built here: it
    has the best published Gowalla figures, GF-CF's linear filter is its order-1 case
    (``order=1``: NDCG@20 0.361 on MovieLens-100k against 0.375 at order 8), and a plateau
    keeps the smooth signals while cutting the noisy ones, where BSPM's blur and sharpen
    steps trade one for the other (BSPM itself was not measured).

    Defaults (order 8, flatness 1.5, rank 512, ideal weight 0.2, degree exponent 0.4) are
    ChebyCF's Gowalla settings: there Recall@20 0.1932, NDCG@20 0.1613; every change of
    them measured on Gowalla stayed within 0.001. ChebyCF's published 0.1941 / 0.1616 need
    two more things (benchmarks/specs/gowalla-graph-filter.txt): its code's interpolation
    (``response_points="extrema"``, a steeper filter; ML-100k 0.366 against 0.375 with the
    default) and singular vectors nearer the exact ones (``oversampling=256,
    power_iterations=16``: the randomized SVD's tail vectors decide the last 0.0005). The
    defaults hold on Last.fm-2k and CiteULike (20% holdout NDCG@20 0.269 and 0.271), but not
    on dense MovieLens data: ML-100k 0.375 (EASE 0.440; ``rank=64,ideal_weight=1,
    degree_exponent=0.3`` reaches 0.438), ml-latest-small 0.296 (EASE 0.350). The singular
    vectors come from a randomized SVD (``power_iterations`` subspace iterations from
    ``rank`` + ``oversampling`` directions, seeded by ``seed``): 7 s on Gowalla where ARPACK
    (scipy's ``svds``) took over ten minutes. Memory:
    R̃ (twice), V, and four dense items × batch blocks while scoring; ``fit`` refuses up
    front what would not fit.
    """

    key = "graph-filter"

    def __init__(
        self,
        *,
        order: int = 8,
        flatness: float = 1.5,
        rank: int = 512,
        ideal_weight: float = 0.2,
        degree_exponent: float = 0.4,
        response_points: str = "nodes",
        power_iterations: int = 8,
        oversampling: int = 64,
        seed: int = 0,
    ) -> None:
        self.order = order
        self.flatness = flatness
        self.response_points = response_points
        self.rank = rank
        self.ideal_weight = ideal_weight
        self.degree_exponent = degree_exponent
        self.power_iterations = power_iterations
        self.oversampling = oversampling
        self.seed = seed

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Order 1–16, flatness 0.5–4, rank 16–1024, ideal weight 0–1, exponent 0–0.8.

        Rank and flatness on a log scale: small catalogues want tens of singular vectors.
        """
        return {
            "order": trial.suggest_int("order", 1, 16),
            "flatness": trial.suggest_float("flatness", 0.5, 4.0, log=True),
            "rank": trial.suggest_int("rank", 16, 1024, log=True),
            "ideal_weight": trial.suggest_float("ideal_weight", 0.0, 1.0),
            "degree_exponent": trial.suggest_float("degree_exponent", 0.0, 0.8),
        }

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.order, "order", name, minimum=0)
        check_float(self.flatness, "flatness", name, minimum=0.0, inclusive=False)
        check_choice(self.response_points, "response_points", name, RESPONSE_POINTS)
        check_int(self.rank, "rank", name, minimum=0)
        check_float(self.ideal_weight, "ideal_weight", name)
        check_float(self.degree_exponent, "degree_exponent", name, maximum=1.0)
        check_int(self.power_iterations, "power_iterations", name, minimum=0)
        check_int(self.oversampling, "oversampling", name, minimum=0)
        check_int(self.seed, "seed", name, minimum=0)

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """R̃ and its transpose; the SVD's blocks; four items × batch blocks when scoring."""
        width = min(self.rank, n_items, n_users) + self.oversampling
        rows = min(max(1, BATCH_CELLS // max(n_items, 1)), n_users)
        return [
            Cost(
                F64 * width * (3 * n_items + 2 * n_users),
                f"a randomized SVD of rank {self.rank:,} ({n_users:,} users, {n_items:,} items)",
                "lower 'rank'",
            ),
            Cost(F32 * rows * (5 * n_items + n_users), "blocks of scores", "keep fewer items"),
            pairs_cost(nnz, 6 * F32),
        ]

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        binary = binary_matrix(matrix)
        user_degree = np.diff(binary.indptr).astype(np.float64)
        item_degree = np.bincount(binary.indices, minlength=binary.shape[1]).astype(np.float64)
        scale_users = sp.diags(_power(user_degree, -0.5))
        scale_items = sp.diags(_power(item_degree, -0.5))
        graph = sp.csr_matrix(scale_users @ binary @ scale_items, dtype=np.float32)
        graph.sort_indices()
        self._install(graph, item_degree.astype(np.float32))
        rank = min(self.rank, *graph.shape)
        ideal = np.zeros((graph.shape[1], 0))
        if rank > 0:
            ideal = _top_right_singular_vectors(self, rank, rng, options)
        self._install_ideal(ideal)

    def _install_ideal(self, ideal: np.ndarray) -> None:
        """Keep V (items × rank) and Vᵀ cut into tiles of items, which the low-rank kernel streams.

        Tile t is the rank × LOW_RANK_TILE block of Vᵀ for items t·128 to t·128 + 127 (zeros
        past the last item), stored contiguously: one request reads Vᵀ front to back (1.5
        ms on one thread on Gowalla, where a tile gathered from the rows of Vᵀ took 6–9 ms).
        """
        self.ideal_ = np.ascontiguousarray(ideal, dtype=np.float32)
        n_items, rank = self.ideal_.shape
        n_tiles = (n_items + LOW_RANK_TILE - 1) // LOW_RANK_TILE
        padded = np.zeros((n_tiles * LOW_RANK_TILE, rank), dtype=np.float32)
        padded[:n_items] = self.ideal_
        self._ideal_tiles = np.ascontiguousarray(
            padded.reshape(n_tiles, LOW_RANK_TILE, rank).transpose(0, 2, 1)
        )

    def _install(self, graph: sp.csr_matrix, item_degree: np.ndarray) -> None:
        """Keep R̃ (and its transpose, for the products), the degrees and the coefficients."""
        self.graph_ = graph
        self._graph_t = sp.csr_matrix(graph.T)
        self._graph_t.sort_indices()
        self.item_degree_ = item_degree
        self._pre = _power(item_degree.astype(np.float64), -self.degree_exponent)
        self._post = _power(item_degree.astype(np.float64), self.degree_exponent)
        self._coefficients = chebyshev_coefficients(self.order, self.flatness, self.response_points)

    def _apply(self, signal: sp.csr_matrix) -> np.ndarray:
        """h(P) + w·VVᵀ applied to each row of ``signal``, as an items × rows block.

        h(P) = Σ c_k T_k(I − 2P) by the three-term recurrence, each step two sparse
        products (into ``users``, then fused with the recurrence and the sum, row by row).
        """
        (n_rows, n_items), graph, graph_t = signal.shape, self.graph_, self._graph_t
        current = np.zeros((n_items, n_rows), dtype=np.float32)
        current[signal.indices, np.repeat(np.arange(n_rows), np.diff(signal.indptr))] = signal.data
        coefficients = self._coefficients.astype(np.float32)
        out: np.ndarray = current * coefficients[0]
        previous, following = np.zeros_like(current), np.empty_like(current)
        users = np.empty((graph.shape[0], n_rows), dtype=np.float32)
        for k in range(1, len(coefficients)):
            _sparse_dense(graph.indptr, graph.indices, graph.data, current, users)
            _chebyshev_step(
                graph_t.indptr, graph_t.indices, graph_t.data, users,
                current, previous, following, out, k > 1, coefficients[k],
            )  # fmt: skip
            previous, current, following = current, following, previous
        if self.ideal_.shape[1] > 0:
            queries = np.empty((n_rows, self.ideal_.shape[1]), dtype=np.float32)
            _sparse_dense(signal.indptr, signal.indices, signal.data, self.ideal_, queries)
            queries *= np.float32(self.ideal_weight)
            _add_low_rank(self._ideal_tiles, queries, out)
        return out

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        signal = sp.csr_matrix(binary_matrix(history) @ sp.diags(self._pre.astype(np.float32)))
        out = self._apply(signal)
        out *= self._post.astype(np.float32)[:, np.newaxis]
        return np.ascontiguousarray(out.T)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return self._score(_unit_rows(item_idx, len(self.items_)), None)

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        # The operator is symmetric: its column for the item holds each item's weight on it.
        weights = self._apply(_unit_rows(np.array([item_idx]), len(self.items_)))[:, 0]
        items = history.indices
        contributions = self._pre[items] * weights[items] * self._post[item_idx]
        return np.asarray(contributions, dtype=np.float32)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            **csr_arrays("graph", self.graph_),
            "item_degree": self.item_degree_,
            "ideal": self.ideal_,
        }

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        shape = (len(self.users_), len(self.items_))
        graph = take_csr(arrays, "graph", shape)
        item_degree = take_array(arrays, "item_degree", np.float32, (shape[1],))
        self._install(graph, item_degree)
        self._install_ideal(take_array(arrays, "ideal", np.float32, (shape[1], None)))


def chebyshev_coefficients(order: int, flatness: float, points: str = "nodes") -> np.ndarray:
    """Coefficients c_0..c_K of the order-K Chebyshev interpolant of the plateau response.

    The response on x ∈ [−1, 1] is 1/2 + |x|^φ/2 for x < 0 and 1/2 − x^φ/2 for x ≥ 0.
    ``points="nodes"``: it is interpolated at the K + 1 Chebyshev nodes
    cos((j + 1/2)π / (K + 1)). ``"extrema"``: its values at the K + 1 extrema cos(jπ/K)
    are given to the nodes in the same order, as ChebyCF's published code does — a steeper
    filter than the plateau itself.
    """
    nodes = np.cos((np.arange(order + 1) + 0.5) * np.pi / (order + 1))
    at = nodes if points == "nodes" or order == 0 else np.cos(np.arange(order + 1) * np.pi / order)
    target = 0.5 - 0.5 * np.sign(at) * np.abs(at) ** flatness
    basis = np.polynomial.chebyshev.chebvander(nodes, order)  # nodes × K+1
    coefficients = 2.0 / (order + 1) * (basis.T @ target)
    coefficients[0] /= 2.0
    return coefficients


def _top_right_singular_vectors(
    model: GraphFilter, rank: int, rng: np.random.Generator, options: FitOptions
) -> np.ndarray:
    """The ``rank`` top right singular vectors of R̃ (items × rank, float32), randomized.

    Subspace iteration on P = R̃ᵀR̃ from ``rank`` + ``oversampling`` random directions, each
    step re-orthonormalised (Halko, Martinsson & Tropp 2011, algorithm 4.4), then the
    eigenvectors of P restricted to that subspace (Rayleigh–Ritz). Orthonormalising by the
    small Gram matrix keeps LAPACK to width × width problems: a QR of the tall block is
    many times slower on two cores. With no fewer directions than the smaller side of R̃,
    the subspace is the whole row space and the result exact.
    """
    graph, graph_t = model.graph_.astype(np.float64), model._graph_t.astype(np.float64)
    n_users, n_items = graph.shape

    def gram(block: np.ndarray) -> np.ndarray:
        """P @ block, as two sparse products."""
        users = np.empty((n_users, block.shape[1]))
        _sparse_dense(graph.indptr, graph.indices, graph.data, block, users)
        out = np.empty_like(block)
        _sparse_dense(graph_t.indptr, graph_t.indices, graph_t.data, users, out)
        return out

    if rank + model.oversampling >= min(n_users, n_items):
        basis = np.asarray(graph_t.toarray() if n_users < n_items else np.eye(n_items))
        iterations = 0
    else:
        basis = rng.standard_normal((n_items, rank + model.oversampling))
        iterations = model.power_iterations
    basis = _orthonormal(basis)
    with progress_bar(iterations, "graph-filter SVD", show=options.progress) as step:
        for _ in range(iterations):
            basis = _orthonormal(gram(basis))
            step()
    basis = _orthonormal(basis)  # a second pass makes the columns orthonormal to rounding
    _, vectors = _eigh(basis.T @ gram(basis))
    top = vectors[:, ::-1][:, :rank]
    return np.ascontiguousarray((basis @ top).astype(np.float32))


def _orthonormal(block: np.ndarray) -> np.ndarray:
    """An orthonormal basis of ``block``'s columns, from its Gram matrix (rank-revealing)."""
    values, vectors = _eigh(block.T @ block)
    keep = values > max(values[-1], 0.0) * 1e-12
    return np.asarray(block @ (vectors[:, keep] / np.sqrt(values[keep])))


def _eigh(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a small symmetric matrix.

    On one BLAS thread: LAPACK's eigensolvers run several times slower on two busy cores.
    """
    with threadpool_limits(1, "blas"):
        values, vectors = np.linalg.eigh(matrix)
    return values, vectors


def _unit_rows(item_idx: np.ndarray, n_items: int) -> sp.csr_matrix:
    """One-item histories: row r holds item ``item_idx[r]`` with weight 1."""
    n = len(item_idx)
    return sp.csr_matrix(
        (np.ones(n, dtype=np.float32), item_idx, np.arange(n + 1)), shape=(n, n_items)
    )


def _power(degree: np.ndarray, exponent: float) -> np.ndarray:
    """degree^exponent, 0 where the degree is 0."""
    out = np.zeros_like(degree, dtype=np.float64)
    positive = degree > 0
    out[positive] = degree[positive] ** exponent
    return out


@numba.njit(parallel=True, cache=True, nogil=True, fastmath={"contract"})
def _sparse_dense(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, dense: np.ndarray, out: np.ndarray
) -> None:
    """Set ``out`` to sparse (CSR) @ dense, row by row; each sum runs in stored order."""
    if dense.shape[1] == 1:  # one request: scalars, no view per row or per entry
        for row in numba.prange(len(indptr) - 1):
            out[row, 0] = _row_sum(indptr, indices, data, dense, row)
        return
    for row in numba.prange(len(indptr) - 1):
        _row_product(indptr, indices, data, dense, row, out[row])


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _row_sum(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, dense: np.ndarray, row: int
) -> Any:
    """Row ``row`` of sparse (CSR) @ a one-column ``dense``: :func:`_row_product`'s sum.

    Positions are unsigned, so no index is checked for wrapping around from the end: one
    Gowalla pass takes 0.8 ms instead of 1.5 ms on one thread (as fast as scipy's C++).
    """
    total = dense.dtype.type(0.0)
    for p in range(np.uint64(indptr[row]), np.uint64(indptr[row + 1])):
        total += data[p] * dense[np.uint64(indices[p]), 0]
    return total


@numba.njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _row_product(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    dense: np.ndarray,
    row: int,
    target: np.ndarray,
) -> None:
    """Set ``target`` to row ``row`` of sparse (CSR) @ dense, summed in stored order."""
    target[:] = 0.0
    for p in range(np.uint64(indptr[row]), np.uint64(indptr[row + 1])):
        value = data[p]
        source = dense[np.uint64(indices[p])]
        for c in range(dense.shape[1]):
            target[c] += value * source[c]


@numba.njit(parallel=True, cache=True, nogil=True, fastmath={"contract"})
def _chebyshev_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    users: np.ndarray,
    current: np.ndarray,
    previous: np.ndarray,
    following: np.ndarray,
    out: np.ndarray,
    second_kind: bool,
    coefficient: np.float32,
) -> None:
    """Set ``following`` to T_k from T_{k-1} (``current``), T_{k-2} and R̃ T_{k-1} (``users``).

    R̃ᵀ (CSR) @ users gives P T_{k-1}; then T_1 = (I − 2P) T_0 and, past the first step,
    T_k = 2 (I − 2P) T_{k-1} − T_{k-2}; ``out`` gains ``coefficient`` · T_k.
    """
    width = users.shape[1]
    if width == 1:  # one request: the same steps on scalars
        for row in numba.prange(len(indptr) - 1):
            step = current[row, 0] - np.float32(2.0) * _row_sum(indptr, indices, data, users, row)
            if second_kind:
                step = np.float32(2.0) * step - previous[row, 0]
            following[row, 0] = step
            out[row, 0] += coefficient * step
        return
    for row in numba.prange(len(indptr) - 1):
        target = following[row]
        _row_product(indptr, indices, data, users, row, target)
        for c in range(width):
            step = current[row, c] - np.float32(2.0) * target[c]
            if second_kind:
                step = np.float32(2.0) * step - previous[row, c]
            target[c] = step
            out[row, c] += coefficient * step


@numba.njit(parallel=True, cache=True, nogil=True, fastmath={"contract"})
def _add_low_rank(tiles: np.ndarray, queries: np.ndarray, out: np.ndarray) -> None:
    """``out[i, r] += Σ_j V[i, j] · queries[r, j]``: the ideal term, added in place.

    ``tiles`` is Vᵀ in tiles of items (see ``_install_ideal``). Each sum runs over j in
    order, vectorised across a tile, so a row's scores are the same bits whatever the batch
    (one visitor or every user), and one row streams Vᵀ once: the case of a single request.
    """
    n_tiles, rank, tile_width = tiles.shape
    n_items = out.shape[0]
    for tile in numba.prange(n_tiles):
        first = tile * tile_width
        width = min(tile_width, n_items - first)
        total = np.empty(tile_width, dtype=np.float32)
        for row in range(queries.shape[0]):
            total[:] = 0.0
            for j in range(rank):
                weight = queries[row, j]
                source = tiles[tile, j]
                for i in range(tile_width):
                    total[i] += weight * source[i]
            for i in range(width):
                out[first + i, row] += total[i]
