"""ItemKNN: score an item by its similarity to the items in the user's history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from unrated._checks import check_choice, check_float, check_int, csr_arrays, take_csr
from unrated._memory import F32, Cost, pairs_cost
from unrated._progress import progress_bar
from unrated.data.interactions import binary_matrix
from unrated.models._topk import top_k
from unrated.models._training import FitOptions
from unrated.models.base import BATCH_CELLS, Recommender

SIMILARITIES = ("rp3", "cosine", "bm25")


class ItemKNN(Recommender):
    """Item-item nearest neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004).

    Each item keeps its ``neighbors`` most similar items; a user's score for item j is the
    sum of the similarities to j of the items in their history. With X the binary users ×
    items matrix, the similarity of item i to item j is:

    * ``rp3`` (default; RP3beta, Paudel et al. 2017): the probability of a random walk
      i → user → j, P(u|i)^a · P(j|u)^a summed over users (P(u|i) = 1/|users of i|,
      P(j|u) = 1/|items of u|, a = ``walk_exponent``), divided by popularity(j)^b
      (b = ``popularity_penalty``) so that blockbusters do not crowd out the rest.
    * ``cosine``: x_i·x_j / sqrt((|x_i|² + s|x_i|)(|x_j|² + s|x_j|)), s = ``shrinkage``.
    * ``bm25``: dot product of BM25-weighted item vectors (Robertson & Zaragoza 2009, as in
      the ``implicit`` package): an item is a document whose terms are its users, so heavy
      users weigh less and popular items are length-normalised (``bm25_k1``, ``bm25_b``).

    Defaults (rp3, 200 neighbours, a = 0.7, b = 0.3) were picked on MovieLens-100k and
    Gowalla, where rp3 beat cosine and BM25 on both (benchmarks/results/item_knn.md).
    """

    key = "item-knn"

    def __init__(
        self,
        *,
        neighbors: int = 200,
        similarity: str = "rp3",
        walk_exponent: float = 0.7,
        popularity_penalty: float = 0.3,
        shrinkage: float = 0.0,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
    ) -> None:
        self.neighbors = neighbors
        self.similarity = similarity
        self.walk_exponent = walk_exponent
        self.popularity_penalty = popularity_penalty
        self.shrinkage = shrinkage
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Neighbours 10–1000 (log); RP3beta exponents; cosine shrinkage; BM25 constants."""
        params: dict[str, Any] = {
            "neighbors": trial.suggest_int("neighbors", 10, 1000, log=True),
            "similarity": trial.suggest_categorical("similarity", list(SIMILARITIES)),
        }
        if params["similarity"] == "rp3":
            params["walk_exponent"] = trial.suggest_float("walk_exponent", 0.2, 1.5)
            params["popularity_penalty"] = trial.suggest_float("popularity_penalty", 0.0, 1.0)
        elif params["similarity"] == "cosine":
            params["shrinkage"] = trial.suggest_float("shrinkage", 0.0, 200.0)
        else:
            params["bm25_k1"] = trial.suggest_float("bm25_k1", 0.1, 100.0, log=True)
            params["bm25_b"] = trial.suggest_float("bm25_b", 0.0, 1.0)
        return params

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.neighbors, "neighbors", name)
        check_choice(self.similarity, "similarity", name, SIMILARITIES)
        check_float(self.walk_exponent, "walk_exponent", name, minimum=0.0, inclusive=False)
        check_float(self.popularity_penalty, "popularity_penalty", name)
        check_float(self.shrinkage, "shrinkage", name)
        check_float(self.bm25_k1, "bm25_k1", name)
        check_float(self.bm25_b, "bm25_b", name, maximum=1.0)

    def _factors(self, matrix: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """(items × users, users × items, per-column scale) whose product is the similarity."""
        binary = binary_matrix(matrix)
        items = binary.T.tocsr()
        n_items = items.shape[0]
        item_degree = np.diff(items.indptr).astype(np.float64)
        scale = np.ones(n_items, dtype=np.float32)
        if self.similarity == "rp3":
            user_degree = np.diff(binary.indptr).astype(np.float64)
            left = sp.csr_matrix(sp.diags(1.0 / np.maximum(item_degree, 1)) @ items)
            right = sp.csr_matrix(sp.diags(1.0 / np.maximum(user_degree, 1)) @ binary)
            left.data **= self.walk_exponent
            right.data **= self.walk_exponent
            scale = (1.0 / np.maximum(item_degree, 1) ** self.popularity_penalty).astype(np.float32)
            return left.astype(np.float32), right.astype(np.float32), scale
        if self.similarity == "bm25":
            idf = np.log(n_items / (1.0 + np.bincount(items.indices, minlength=items.shape[1])))
            norm = (1.0 - self.bm25_b) + self.bm25_b * item_degree / max(item_degree.mean(), 1e-12)
            rows = np.repeat(np.arange(n_items), np.diff(items.indptr))
            tf = items.data
            items.data = (
                (tf * (self.bm25_k1 + 1.0))
                / (self.bm25_k1 * norm[rows] + tf)
                * np.maximum(idf[items.indices], 0.0)
            ).astype(np.float32)
            return items, items.T.tocsr(), scale
        norms = np.sqrt(item_degree)
        inverse = 1.0 / np.sqrt(norms * norms + self.shrinkage * norms + 1e-12)
        vectors = sp.csr_matrix(sp.diags(inverse.astype(np.float32)) @ items)
        return vectors, vectors.T.tocsr(), scale

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """Kept neighbours (top-k parts, their concatenation, the CSR), similarity blocks."""
        keep = min(self.neighbors, max(n_items - 1, 1))
        rows = min(max(1, BATCH_CELLS // max(n_items, 1)), n_items)
        return [
            Cost(
                10 * F32 * n_items * keep,
                f"{keep:,} neighbours for each of {n_items:,} items",
                "lower 'neighbors'",
            ),
            Cost(4 * F32 * rows * n_items, "blocks of item similarities", "keep fewer items"),
            pairs_cost(nnz, 12 * F32),
        ]

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        left, right, scale = self._factors(matrix)
        n_items = left.shape[0]
        keep = min(self.neighbors, max(n_items - 1, 1))
        rows_per_block = max(1, BATCH_CELLS // max(n_items, 1))
        indices, data = [], []
        starts = range(0, n_items, rows_per_block)
        with progress_bar(
            len(starts) if len(starts) > 2 else 0, "item-knn", show=options.progress
        ) as advance:
            for start in starts:
                stop = min(start + rows_per_block, n_items)
                block = (left[start:stop] @ right).toarray()
                block *= scale[np.newaxis, :]
                block[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not itself
                block[block <= 0] = -np.inf
                idx, values = top_k(block, keep)
                indices.append(idx)
                data.append(values)
                advance()
        idx_all, values_all = np.concatenate(indices), np.concatenate(data)
        valid = idx_all >= 0
        indptr = np.zeros(n_items + 1, dtype=np.int64)
        np.cumsum(valid.sum(axis=1), out=indptr[1:])
        weights = sp.csr_matrix(
            (values_all[valid], idx_all[valid].astype(np.int32), indptr), shape=(n_items, n_items)
        )
        weights.sort_indices()
        self.weights_ = weights

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        scores = np.zeros((history.shape[0], self.weights_.shape[1]), dtype=np.float32)
        weights = self.weights_
        _sum_neighbour_rows(
            history.indptr, history.indices, weights.indptr, weights.indices, weights.data, scores
        )
        return scores

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.weights_[item_idx].toarray(), dtype=np.float32)

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        return np.asarray(self.weights_[history.indices, item_idx].toarray()).ravel()

    def _arrays(self) -> dict[str, np.ndarray]:
        return csr_arrays("weights", self.weights_)

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        n_items = len(self.items_)
        self.weights_ = take_csr(arrays, "weights", (n_items, n_items))


@numba.njit(parallel=True, cache=True, nogil=True)
def _sum_neighbour_rows(
    history_indptr: np.ndarray,
    history_indices: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    scores: np.ndarray,
) -> None:
    """scores[r] += weights[i] for every item i in history row r (binary history)."""
    for row in numba.prange(len(history_indptr) - 1):
        for p in range(history_indptr[row], history_indptr[row + 1]):
            item = history_indices[p]
            for q in range(indptr[item], indptr[item + 1]):
                scores[row, indices[q]] += data[q]
